//! Image references (`[host[:port]/]path[:tag][@digest]`) with Docker's normalisation rules.

use std::fmt;
use std::str::FromStr;

/// The canonical name of Docker Hub in references.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that serves Docker Hub's registry API.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The input was empty (or only whitespace).
    #[error("empty image reference")]
    Empty,
    /// The repository path breaks the distribution grammar (lowercase components separated by `/`).
    #[error(
        "invalid repository name {name:?} in image reference {input:?}: components must match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*"
    )]
    InvalidRepository {
        /// The whole input.
        input: String,
        /// The repository part that failed.
        name: String,
    },
    /// The tag breaks `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
    #[error("invalid tag {tag:?} in image reference {input:?}")]
    InvalidTag {
        /// The whole input.
        input: String,
        /// The tag that failed.
        tag: String,
    },
    /// The registry host part is malformed.
    #[error("invalid registry host {host:?} in image reference {input:?}")]
    InvalidHost {
        /// The whole input.
        input: String,
        /// The host that failed.
        host: String,
    },
    /// The digest is not `sha256:<64 hex>` or `sha512:<128 hex>`.
    #[error(transparent)]
    Digest(#[from] DigestError),
}

/// Why a string is not a content digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid digest {input:?}: expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>"
)]
pub struct DigestError {
    /// The input that failed.
    pub input: String,
}

/// A digest algorithm that registries use for manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DigestAlgorithm {
    /// `sha256:` (the default everywhere).
    Sha256,
    /// `sha512:` (allowed by the OCI spec).
    Sha512,
}

/// A content digest such as `sha256:1790c96…`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    algorithm: DigestAlgorithm,
    hex: String,
}

impl Digest {
    /// Parses `sha256:<64 lowercase hex>` or `sha512:<128 lowercase hex>`.
    pub fn parse(input: &str) -> Result<Self, DigestError> {
        let err = || DigestError {
            input: input.to_owned(),
        };
        let (algo, hex) = input.split_once(':').ok_or_else(err)?;
        let (algorithm, len) = match algo {
            "sha256" => (DigestAlgorithm::Sha256, 64),
            "sha512" => (DigestAlgorithm::Sha512, 128),
            _ => return Err(err()),
        };
        if hex.len() != len
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(err());
        }
        Ok(Self {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The digest of `bytes` with `algorithm`.
    pub fn of_bytes(algorithm: DigestAlgorithm, bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        let raw: Vec<u8> = match algorithm {
            DigestAlgorithm::Sha256 => sha2::Sha256::digest(bytes).to_vec(),
            DigestAlgorithm::Sha512 => sha2::Sha512::digest(bytes).to_vec(),
        };
        Self {
            algorithm,
            hex: byteproof_hash::hex(&raw),
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The lowercase hex part, without the algorithm prefix.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algo = match self.algorithm {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha512 => "sha512",
        };
        write!(f, "{algo}:{}", self.hex)
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A normalised image reference.
///
/// `node` becomes registry `docker.io`, repository `library/node`, no tag (callers default to
/// `latest`). `name:tag@digest` keeps both the tag and the digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises a reference the way Docker does.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let (rest, digest) = match trimmed.rsplit_once('@') {
            Some((rest, digest)) => (rest, Some(Digest::parse(digest)?)),
            None => (trimmed, None),
        };
        // The tag is after the last ':' that follows the last '/', so `host:5000/x` has no tag.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            if !valid_tag(tag) {
                return Err(ReferenceError::InvalidTag {
                    input: input.to_owned(),
                    tag: tag.to_owned(),
                });
            }
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.to_lowercase() != first =>
            {
                (first, path)
            }
            _ => (DOCKER_HUB, name),
        };
        if !valid_host(registry) {
            return Err(ReferenceError::InvalidHost {
                input: input.to_owned(),
                host: registry.to_owned(),
            });
        }
        let registry = canonical_registry(registry);
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_owned()
        };
        if !valid_repository(&repository) {
            return Err(ReferenceError::InvalidRepository {
                input: input.to_owned(),
                name: repository,
            });
        }
        Ok(Self {
            registry,
            repository,
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// The canonical registry name (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host (and port) that serves the registry API: `registry-1.docker.io` for Docker Hub.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API_HOST
        } else {
            &self.registry
        }
    }

    /// The repository path (`library/node`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if the reference names one.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The tag, or `latest` when none is given and there is no digest either.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    /// The digest, if the reference is pinned.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The same reference without its digest (what a tag lookup resolves).
    pub fn without_digest(&self) -> Self {
        Self {
            digest: None,
            ..self.clone()
        }
    }

    /// The same reference with `digest`, keeping the tag.
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The `repository:<repo>:pull` scope used for token requests.
    pub fn pull_scope(&self) -> String {
        format!("repository:{}:pull", self.repository)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Maps Docker Hub's aliases (`index.docker.io`, `registry-1.docker.io`) to `docker.io`; other
/// hosts are returned lowercased.
pub fn canonical_registry(host: &str) -> String {
    let lower = host.to_ascii_lowercase();
    match lower.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_owned()
        }
        _ => lower,
    }
}

fn valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn valid_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        // Bracketed IPv6 literals keep their colons inside the brackets.
        Some((name, port)) if !port.contains(']') => (name, Some(port)),
        _ => (host, None),
    };
    if let Some(port) = port {
        if port.is_empty()
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.parse::<u16>().is_err()
        {
            return false;
        }
    }
    if name.starts_with('[') && name.ends_with(']') {
        return name[1..name.len() - 1]
            .parse::<std::net::Ipv6Addr>()
            .is_ok();
    }
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn valid_repository(repo: &str) -> bool {
    repo.len() <= 255 && repo.split('/').all(valid_component)
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        // A separator run: ".", "_", "__" or one or more "-".
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &component[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:1790c9622dbbd948305dc98f7009d2c77ac1ee13fdb67f9a7fb8a2688c587bc7";

    #[test]
    fn normalises_like_docker() {
        // input, registry, api host, repository, tag, has a digest
        type Case<'a> = (&'a str, &'a str, &'a str, &'a str, Option<&'a str>, bool);
        let cases: &[Case<'_>] = &[
            // input, registry, api host, repository, tag, digest?
            (
                "node",
                "docker.io",
                "registry-1.docker.io",
                "library/node",
                None,
                false,
            ),
            (
                "node:20-bookworm",
                "docker.io",
                "registry-1.docker.io",
                "library/node",
                Some("20-bookworm"),
                false,
            ),
            (
                "user/img:1",
                "docker.io",
                "registry-1.docker.io",
                "user/img",
                Some("1"),
                false,
            ),
            (
                "index.docker.io/node",
                "docker.io",
                "registry-1.docker.io",
                "library/node",
                None,
                false,
            ),
            (
                "docker.io/library/node:20",
                "docker.io",
                "registry-1.docker.io",
                "library/node",
                Some("20"),
                false,
            ),
            (
                "ghcr.io/o/r/nested/img:v1.2",
                "ghcr.io",
                "ghcr.io",
                "o/r/nested/img",
                Some("v1.2"),
                false,
            ),
            (
                "localhost/img",
                "localhost",
                "localhost",
                "img",
                None,
                false,
            ),
            (
                "localhost:5000/img:t",
                "localhost:5000",
                "localhost:5000",
                "img",
                Some("t"),
                false,
            ),
            (
                "127.0.0.1:5000/library/node",
                "127.0.0.1:5000",
                "127.0.0.1:5000",
                "library/node",
                None,
                false,
            ),
            (
                "127.0.0.1:5000/node",
                "127.0.0.1:5000",
                "127.0.0.1:5000",
                "node",
                None,
                false,
            ),
            (
                "docker.gitea.com/runner-images:ubuntu-latest",
                "docker.gitea.com",
                "docker.gitea.com",
                "runner-images",
                Some("ubuntu-latest"),
                false,
            ),
            (
                &format!("node:20@{D}"),
                "docker.io",
                "registry-1.docker.io",
                "library/node",
                Some("20"),
                true,
            ),
            (
                &format!("node@{D}"),
                "docker.io",
                "registry-1.docker.io",
                "library/node",
                None,
                true,
            ),
            (
                &format!("h.io:443/a/b:c@{D}"),
                "h.io:443",
                "h.io:443",
                "a/b",
                Some("c"),
                true,
            ),
            (
                "a__b/c-d---e/f.g_h",
                "docker.io",
                "registry-1.docker.io",
                "a__b/c-d---e/f.g_h",
                None,
                false,
            ),
        ];
        for (input, registry, api, repo, tag, has_digest) in cases {
            let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.registry(), *registry, "{input}");
            assert_eq!(r.api_host(), *api, "{input}");
            assert_eq!(r.repository(), *repo, "{input}");
            assert_eq!(r.tag(), *tag, "{input}");
            assert_eq!(r.digest().is_some(), *has_digest, "{input}");
        }
    }

    #[test]
    fn rejects_bad_references() {
        for input in [
            "",
            "Node",
            "node:",
            "node:-x",
            "node@sha256:abc",
            "node@md5:0123",
            "a//b",
            "a/b/",
            "a..b",
            "a___b",
            "host:99999/x",
            "-x",
            &format!("node@{}", D.to_uppercase()),
        ] {
            assert!(
                Reference::parse(input).is_err(),
                "{input:?} should not parse"
            );
        }
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!(
            Reference::parse("node").unwrap().to_string(),
            "docker.io/library/node"
        );
        let r = Reference::parse(&format!("node:20@{D}")).unwrap();
        assert_eq!(r.to_string(), format!("docker.io/library/node:20@{D}"));
        assert_eq!(r.without_digest().to_string(), "docker.io/library/node:20");
        assert_eq!(r.pull_scope(), "repository:library/node:pull");
    }

    #[test]
    fn digests() {
        let d = Digest::parse(D).unwrap();
        assert_eq!(d.to_string(), D);
        assert_eq!(d.algorithm(), DigestAlgorithm::Sha256);
        assert_eq!(
            Digest::of_bytes(DigestAlgorithm::Sha256, b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(Digest::parse(&format!("sha512:{}", "a".repeat(128))).is_ok());
        assert!(Digest::parse(&format!("sha512:{}", "a".repeat(64))).is_err());
    }
}
