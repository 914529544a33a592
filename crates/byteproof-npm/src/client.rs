//! The read side: packuments and tarballs over `byteproof-http` (retries, timeouts, caps,
//! credentials scoped to the registry's origin), and npm's `dist` semantics on top.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use byteproof_hash::{Digests, MultiHasher};
use byteproof_http::{
    Attempt, Backoff, ClientConfig, Credential, ErrorKind, HttpClient, HttpError, MAX_ERROR_BODY,
    Request, RetryPolicy,
};
use serde::Deserialize;
use url::Url;

use crate::keep::Sink;
use crate::{Auth, Capped, FetchError, Keep, Kept, PackageName, PackageSpec, SafeUrl};

/// One npm registry: a name for reports, a base URL, and optional credentials.
#[derive(Clone, Debug)]
pub struct Registry {
    /// The name users gave it (`gitea-eu`, `default`, `@bytelyst`).
    pub name: String,
    /// Base URL, always ending in `/` (`http://host/` or `https://host/api/packages/o/npm/`).
    base: Url,
    /// Credentials, sent only to `base`'s origin.
    pub auth: Option<Auth>,
}

impl Registry {
    /// A registry at `url`; a missing trailing slash is added so that joining keeps the path
    /// (Gitea's registries live under `/api/packages/{owner}/npm/`).
    pub fn new(name: impl Into<String>, url: &str) -> Result<Self, String> {
        let mut base = Url::parse(url.trim()).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!("{url:?} is not an http:// or https:// URL"));
        }
        if base.cannot_be_a_base() || base.host_str().is_none() {
            return Err(format!("{url:?} has no host"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(format!(
                "{} carries credentials in the URL; give them as a token instead",
                SafeUrl::new(&base)
            ));
        }
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Self {
            name: name.into(),
            base,
            auth: None,
        })
    }

    /// Adds credentials.
    pub fn with_auth(mut self, auth: Option<Auth>) -> Self {
        self.auth = auth;
        self
    }

    /// The base URL (with trailing slash).
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// Where the packument of `name` lives: the base joined with `@scope%2fname`.
    pub fn packument_url(&self, name: &PackageName) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}{}", self.base.path(), name.url_segment());
        url.set_path(&path);
        url
    }

    /// True when `url` has the registry's scheme, host and port: only then may it see the
    /// registry's credentials.
    pub fn same_origin(&self, url: &Url) -> bool {
        url.origin() == self.base.origin()
    }

    /// The credentials, bound to the registry's origin.
    pub(crate) fn credential(&self) -> Option<Credential> {
        self.auth.as_ref().map(|auth| auth.credential(&self.base))
    }
}

/// Limits and retry policy.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Longest silence while waiting for a response or the next body chunk.
    pub read_timeout: Duration,
    /// Retries after the first attempt, on 5xx, 429, connection errors, broken bodies and
    /// timeouts.
    pub retries: u32,
    /// The waits between attempts (exponential with full jitter, `Retry-After` honoured).
    pub backoff: Backoff,
    /// Largest tarball read, in bytes.
    pub max_tarball_size: u64,
    /// Largest packument read, in bytes.
    pub max_packument_size: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Backoff::default(),
            max_tarball_size: 1 << 30,
            max_packument_size: 256 << 20,
        }
    }
}

/// A version's `dist` claims, as the registry states them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dist {
    /// Where the tarball is (absolute).
    pub tarball: Url,
    /// True when the registry gave no `dist.tarball` and byteproof built the npm-standard URL.
    pub tarball_constructed: bool,
    /// `dist.shasum` (hex SHA-1), if present.
    pub shasum: Option<String>,
    /// `dist.integrity` (SRI), if present.
    pub integrity: Option<String>,
}

/// A tarball read once: its digests, and its bytes as [`Keep`] asked.
#[derive(Debug)]
pub struct FetchedTarball {
    /// Digests of every byte served.
    pub digests: Digests,
    /// The bytes, where they were kept.
    pub kept: Kept,
    /// Attempts it took (1 = first try).
    pub attempts: u32,
}

/// Reads npm registries.
#[derive(Clone, Debug)]
pub struct NpmClient {
    pub(crate) http: HttpClient,
    options: ClientOptions,
}

/// What a read is for: decides the size cap, what a 404 means, and the hint on a refused token.
#[derive(Clone, Copy)]
pub(crate) enum Purpose<'a> {
    /// A packument; with the spec being resolved, a 404 is [`FetchError::PackageMissing`].
    Packument(Option<&'a PackageSpec>),
    /// A tarball.
    Tarball,
    /// A publish or removal.
    Write,
}

/// npm's own Accept for packuments: the abbreviated document where the registry has one.
const PACKUMENT_ACCEPT: &str =
    "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

impl NpmClient {
    /// A client with these options (proxies from the environment, see `byteproof-http`).
    pub fn new(options: ClientOptions) -> Result<Self, String> {
        let http = HttpClient::new(ClientConfig {
            connect_timeout: options.connect_timeout,
            read_timeout: options.read_timeout,
            retry: RetryPolicy {
                retries: options.retries,
                backoff: options.backoff.clone(),
            },
            ..ClientConfig::default()
        })
        .map_err(|e| e.to_string())?;
        Ok(Self { http, options })
    }

    /// The options in force.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Reads `spec`'s `dist` from `registry`'s packument.
    pub async fn dist(&self, registry: &Registry, spec: &PackageSpec) -> Result<Dist, FetchError> {
        let url = registry.packument_url(&spec.name);
        let (body, _attempts) = self
            .get_bytes(
                registry,
                &url,
                PACKUMENT_ACCEPT,
                Purpose::Packument(Some(spec)),
            )
            .await?;
        let bad = |why: String| FetchError::BadResponse {
            url: SafeUrl::new(&url),
            why,
        };
        let packument: Packument = serde_json::from_slice(&body)
            .map_err(|e| bad(format!("the packument is not valid JSON ({e})")))?;
        let wanted = spec.version.to_string();
        let version = packument.versions.get(&wanted).or_else(|| {
            // Registries may key versions un-normalised ("v1.0.0", "1.0.0+build"): fall back
            // to SemVer equality.
            packument.versions.iter().find_map(|(key, doc)| {
                let parsed = semver::Version::parse(key.trim_start_matches('v')).ok()?;
                (parsed == spec.version).then_some(doc)
            })
        });
        let Some(version) = version else {
            let latest = packument
                .versions
                .keys()
                .filter_map(|k| semver::Version::parse(k).ok())
                .max()
                .map(|v| format!(", newest {v}"))
                .unwrap_or_default();
            return Err(FetchError::VersionMissing {
                package: spec.name.to_string(),
                version: wanted,
                available: packument.versions.len(),
                latest,
            });
        };
        let dist = version.dist.clone().unwrap_or_default();
        let (tarball, constructed) = match dist.tarball.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => {
                // Absolute as every registry writes it; a relative one is read against the base.
                let url = registry
                    .base()
                    .join(t)
                    .map_err(|e| bad(format!("dist.tarball {t:?} is not a URL ({e})")))?;
                (url, false)
            }
            _ => {
                let file = spec.name.tarball_file_name(&spec.version);
                let mut url = registry.packument_url(&spec.name);
                let path = format!("{}/-/{file}", url.path());
                url.set_path(&path);
                (url, true)
            }
        };
        if !matches!(tarball.scheme(), "http" | "https") {
            return Err(bad(format!(
                "dist.tarball {} is not an http(s) URL",
                SafeUrl::new(&tarball)
            )));
        }
        Ok(Dist {
            tarball,
            tarball_constructed: constructed,
            shasum: dist.shasum,
            integrity: dist.integrity,
        })
    }

    /// Streams the tarball at `url` once through SHA-1, SHA-256 and SHA-512, keeping the bytes
    /// as `keep` asks. Credentials are sent only when `url` is on `registry`'s origin. A retry
    /// starts the hashing and the kept copy over.
    pub async fn tarball(
        &self,
        registry: &Registry,
        url: &Url,
        keep: Keep,
    ) -> Result<FetchedTarball, FetchError> {
        let limit = self.options.max_tarball_size;
        let request = Request::get(url)
            .accept("application/octet-stream, */*")
            .credential(registry.credential().as_ref());
        let spool_failed = |source| {
            Attempt::Fatal(FetchError::Spool {
                url: SafeUrl::new(url),
                source,
            })
        };
        let outcome = self
            .http
            .retry(|_| async {
                let response = self.http.send(&request).await?.error_for_status().await?;
                let mut body = response.body(limit)?;
                let mut hasher = MultiHasher::new();
                let mut sink = Sink::new(keep).map_err(spool_failed)?;
                while let Some(chunk) = body.chunk().await? {
                    hasher.update(&chunk);
                    sink.write(&chunk).map_err(spool_failed)?;
                }
                Ok((hasher.finish(), sink.finish().map_err(spool_failed)?))
            })
            .await;
        match outcome {
            Ok(((digests, kept), attempts)) => Ok(FetchedTarball {
                digests,
                kept,
                attempts,
            }),
            Err(Attempt::Fatal(error)) => Err(error),
            Err(Attempt::Http(error)) => Err(self.fetch_error(error, registry, Purpose::Tarball)),
        }
    }

    /// GETs a whole body from the registry, under the cap `purpose` sets, with retries.
    pub(crate) async fn get_bytes(
        &self,
        registry: &Registry,
        url: &Url,
        accept: &str,
        purpose: Purpose<'_>,
    ) -> Result<(Vec<u8>, u32), FetchError> {
        let limit = match purpose {
            Purpose::Packument(_) => self.options.max_packument_size,
            Purpose::Tarball => self.options.max_tarball_size,
            Purpose::Write => MAX_ERROR_BODY,
        };
        let request = Request::get(url)
            .accept(accept)
            .credential(registry.credential().as_ref());
        self.http
            .retry(|_| async {
                let response = self.http.send(&request).await?.error_for_status().await?;
                Ok::<_, Attempt<Infallible>>(response.bytes(limit).await?)
            })
            .await
            .map_err(|e| self.fetch_error(e.into_http(), registry, purpose))
    }

    /// An HTTP failure as the registry failure a user reads.
    pub(crate) fn fetch_error(
        &self,
        error: HttpError,
        registry: &Registry,
        purpose: Purpose<'_>,
    ) -> FetchError {
        let url = error.url().clone();
        let attempts = error.attempts();
        if let (Purpose::Packument(Some(spec)), ErrorKind::Status { .. }, Some(404)) =
            (purpose, error.kind(), error.status())
        {
            return FetchError::PackageMissing {
                package: spec.name.to_string(),
                url,
            };
        }
        match (error.kind(), error.status()) {
            (ErrorKind::Status { .. }, Some(status @ (401 | 403))) => FetchError::AuthRefused {
                url,
                status,
                hint: match (purpose, registry.auth.is_some()) {
                    (Purpose::Write, true) => {
                        " — check that the token configured for this registry may publish and delete"
                    }
                    (Purpose::Write, false) => " — writing needs a token for this registry",
                    (_, true) => " — check the token configured for this registry",
                    (_, false) => {
                        " — this registry needs a token; see `byteproof compare --help` for where tokens come from"
                    }
                },
            },
            (ErrorKind::Status { detail, .. }, status) => FetchError::HttpStatus {
                url,
                status: status.unwrap_or_default(),
                detail: if detail.is_empty() {
                    String::new()
                } else {
                    format!(": {detail}")
                },
                attempts,
            },
            (ErrorKind::TooLarge { limit, .. }, status) => FetchError::TooLarge {
                url,
                what: match purpose {
                    _ if status.is_some_and(|s| !(200..300).contains(&s)) => Capped::Reply,
                    Purpose::Packument(_) => Capped::Packument,
                    Purpose::Tarball => Capped::Tarball,
                    Purpose::Write => Capped::Reply,
                },
                limit: *limit,
            },
            (ErrorKind::Timeout, _) => FetchError::Timeout {
                url,
                seconds: self.options.read_timeout.as_secs_f64(),
                attempts,
            },
            (ErrorKind::Network(message) | ErrorKind::Body(message), _) => FetchError::Network {
                url,
                message: message.clone(),
                attempts,
            },
            (ErrorKind::Redirect(why) | ErrorKind::InvalidRequest(why), _) => {
                FetchError::BadResponse {
                    url,
                    why: why.clone(),
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct Packument {
    #[serde(default)]
    versions: BTreeMap<String, VersionDoc>,
}

#[derive(Deserialize)]
struct VersionDoc {
    #[serde(default)]
    dist: Option<DistDoc>,
}

#[derive(Clone, Default, Deserialize)]
struct DistDoc {
    tarball: Option<String>,
    shasum: Option<String>,
    integrity: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packument_urls_join_under_a_path() {
        let name = PackageName::parse("@bytelyst/errors").unwrap();
        let root = Registry::new("v", "http://127.0.0.1:4873").unwrap();
        assert_eq!(
            root.packument_url(&name).as_str(),
            "http://127.0.0.1:4873/@bytelyst%2ferrors"
        );
        let gitea = Registry::new("g", "https://git.example/api/packages/bytelyst/npm").unwrap();
        assert_eq!(
            gitea.packument_url(&name).as_str(),
            "https://git.example/api/packages/bytelyst/npm/@bytelyst%2ferrors"
        );
        let plain = PackageName::parse("left-pad").unwrap();
        assert_eq!(
            gitea.packument_url(&plain).as_str(),
            "https://git.example/api/packages/bytelyst/npm/left-pad"
        );
    }

    #[test]
    fn auth_goes_only_to_the_same_origin() {
        let r = Registry::new("g", "https://git.example/api/packages/o/npm/").unwrap();
        let yes =
            Url::parse("https://GIT.example:443/api/packages/o/npm/%40s%2Fn/-/1.0.0/n-1.0.0.tgz")
                .unwrap();
        assert!(r.same_origin(&yes));
        for no in [
            "http://git.example/api/x.tgz",
            "https://git.example:8443/x.tgz",
            "https://cdn.example/x.tgz",
            "https://git.example.evil/x.tgz",
        ] {
            assert!(!r.same_origin(&Url::parse(no).unwrap()), "{no}");
        }
    }

    #[test]
    fn registry_urls_are_checked() {
        assert!(Registry::new("x", "ftp://h/").is_err());
        assert!(Registry::new("x", "not a url").is_err());
        let err = Registry::new("x", "https://user:tok3n@h/").unwrap_err();
        assert!(!err.contains("tok3n"), "{err}");
    }
}
