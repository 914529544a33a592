//! [`Resolver`]: tag → digest resolution against a registry's `/v2/` API, with anonymous,
//! Bearer-token and Basic auth.
//!
//! The algorithm: `HEAD /v2/<repo>/manifests/<tag>` with the four manifest media types in
//! `Accept`, digest from `Docker-Content-Digest`; when the header is missing, `GET` and hash the
//! exact body bytes; when both are available they must agree. With a platform, the index is
//! fetched and the matching child's digest is returned instead.
//!
//! Registries without a URL override are reached over `https://`, except loopback hosts
//! (`localhost`, `127.0.0.0/8`, `[::1]`), which speak plain HTTP as Docker and crane treat them
//! ([`Resolver::loopback_over_http`] lists those used), and registries marked insecure.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use byteproof_http::header::{HeaderMap, WWW_AUTHENTICATE};
use byteproof_http::{Backoff, Credential, Method, Request, StatusCode};
use url::{Host, Url};

use crate::auth::{CredentialStore, Secret};
use crate::challenge::parse_challenges;
use crate::error::ResolveError;
use crate::manifest::{
    IndexChild, MANIFEST_MEDIA_TYPES, MAX_MANIFEST_BYTES, MEDIA_DOCKER_LIST, MEDIA_OCI_INDEX,
    Platform, check_media_type, content_type, index_children, select_platform,
};
use crate::reference::{Digest, DigestAlgorithm, Reference, canonical_registry};
use crate::token::{TokenKey, Tokens};
use crate::transport::{Fetched, Transport};

const DIGEST_HEADER: &str = "docker-content-digest";

/// Where a digest came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestSource {
    /// `Docker-Content-Digest` on a HEAD response.
    Header,
    /// SHA-256 over the exact GET body (no header was sent).
    Body,
    /// The header and the body hash, which agreed.
    HeaderAndBody,
}

/// The outcome of resolving one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The digest to pin (the index digest, or the platform child's with a platform).
    pub digest: Digest,
    /// The media type of the manifest the digest names.
    pub media_type: String,
    /// The digest of the manifest the tag points at (differs from `digest` only with a platform).
    pub tag_digest: Digest,
    /// Where the tag's digest came from.
    pub source: DigestSource,
}

/// Settings for a [`Resolver`].
#[derive(Debug, Clone)]
pub struct ResolverConfig {
    /// Canonical registry name (`docker.io`, `ghcr.io`) → base URL to use instead of
    /// `https://<api host>`. Plain `http://` is allowed only for loopback or insecure hosts.
    pub registry_urls: BTreeMap<String, Url>,
    /// Registries (canonical names or override hosts) allowed over plain HTTP (loopback hosts
    /// always are).
    pub insecure_registries: BTreeSet<String>,
    /// Credentials by registry.
    pub credentials: CredentialStore,
    /// Resolve to this platform's child manifest instead of the index.
    pub platform: Option<Platform>,
    /// Longest time for one request, body included.
    pub timeout: Duration,
    /// Retries after a network failure, a timeout, a 5xx or a 429.
    pub retries: u32,
    /// The waits between attempts (exponential with full jitter, `Retry-After` honoured).
    pub backoff: Backoff,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        Self {
            registry_urls: BTreeMap::new(),
            insecure_registries: BTreeSet::new(),
            credentials: CredentialStore::new(),
            platform: None,
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Backoff::default(),
            user_agent: concat!("byteproof/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl ResolverConfig {
    /// Maps a registry (as written in references) to a base URL, e.g. `docker.io` →
    /// `http://127.0.0.1:5000`.
    pub fn map_registry(&mut self, registry: &str, url: Url) {
        self.registry_urls.insert(canonical_registry(registry), url);
    }
}

/// Resolves references to digests. Cheap to share behind an `Arc`; caches tokens.
pub struct Resolver {
    transport: Transport,
    config: ResolverConfig,
    tokens: Tokens,
    /// Loopback registries reached over plain HTTP because they are loopback.
    loopback_http: Mutex<BTreeSet<String>>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The state of a pinned digest, from [`Resolver::check_digest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestStatus {
    /// The registry serves the digest; the media type it answered with.
    Exists {
        /// `Content-Type` of the response.
        media_type: String,
    },
    /// 404: the digest no longer resolves.
    Missing,
}

impl Resolver {
    /// Builds a resolver. Proxies come from the environment (`byteproof-http`'s policy);
    /// redirects are followed, with credentials sent only to the registry's (or the token
    /// realm's) own origin.
    pub fn new(config: ResolverConfig) -> Result<Self, ResolveError> {
        Ok(Self {
            transport: Transport::new(&config)?,
            config,
            tokens: Tokens::default(),
            loopback_http: Mutex::new(BTreeSet::new()),
        })
    }

    /// The loopback registries (`localhost`, `127.0.0.0/8`, `[::1]`) this resolver has reached
    /// over plain HTTP because they are loopback, so a caller can say so once.
    pub fn loopback_over_http(&self) -> Vec<String> {
        self.loopback_http
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// The settings.
    pub fn config(&self) -> &ResolverConfig {
        &self.config
    }

    /// The base URL (`scheme://host[:port]`) used for a reference's registry.
    pub fn base_url(&self, reference: &Reference) -> Result<Url, ResolveError> {
        let registry = reference.registry();
        let url = match self.config.registry_urls.get(registry) {
            Some(url) => url.clone(),
            None => {
                let text = format!("https://{}/", reference.api_host());
                let mut url = Url::parse(&text).map_err(|e| ResolveError::BadRegistryUrl {
                    url: text,
                    detail: e.to_string(),
                })?;
                let insecure = self.config.insecure_registries.contains(registry);
                if insecure || is_loopback(&url) {
                    let _ = url.set_scheme("http");
                }
                if is_loopback(&url) && !insecure {
                    self.loopback_http
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(registry.to_owned());
                }
                url
            }
        };
        self.check_scheme(&url, Some(registry))?;
        Ok(url)
    }

    fn check_scheme(&self, url: &Url, registry: Option<&str>) -> Result<(), ResolveError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" => {
                let host = url.host_str().unwrap_or_default();
                let host_port = match url.port() {
                    Some(p) => format!("{host}:{p}"),
                    None => host.to_owned(),
                };
                let insecure = &self.config.insecure_registries;
                if is_loopback(url)
                    || insecure.contains(host)
                    || insecure.contains(&host_port)
                    || registry.is_some_and(|r| insecure.contains(r))
                {
                    Ok(())
                } else {
                    Err(ResolveError::InsecureNotAllowed { host: host_port })
                }
            }
            other => Err(ResolveError::BadRegistryUrl {
                url: url.to_string(),
                detail: format!("unsupported scheme {other}"),
            }),
        }
    }

    fn manifest_url(&self, reference: &Reference, target: &str) -> Result<Url, ResolveError> {
        let base = self.base_url(reference)?;
        let mut path = base.path().trim_end_matches('/').to_owned();
        path.push_str(&format!(
            "/v2/{}/manifests/{target}",
            reference.repository()
        ));
        let mut url = base;
        url.set_path(&path);
        url.set_query(None);
        Ok(url)
    }

    /// Resolves the reference's tag (or `latest`) to a digest; any digest in the reference is
    /// ignored.
    pub async fn resolve(&self, reference: &Reference) -> Result<Resolved, ResolveError> {
        let target = reference.tag_or_latest().to_owned();
        // Some registries and proxies refuse HEAD on manifests (405, 501): then GET and hash
        // the body, as when the digest header is missing.
        let head = match self.send(Method::HEAD, reference, &target).await {
            Err(ResolveError::Status {
                status: 405 | 501, ..
            }) => None,
            other => Some(other?),
        };
        let header_digest = match &head {
            Some(head) => self.header_digest(reference, &head.headers)?,
            None => None,
        };
        let head_type = head
            .as_ref()
            .map(|h| content_type(&h.headers))
            .unwrap_or_default();
        if head_type == "application/vnd.docker.distribution.manifest.v1+prettyjws"
            || head_type == "application/vnd.docker.distribution.manifest.v1+json"
        {
            return Err(ResolveError::UnsupportedMediaType {
                reference: reference.to_string(),
                media_type: head_type,
            });
        }
        let need_body = header_digest.is_none()
            || self.config.platform.is_some()
            || !MANIFEST_MEDIA_TYPES.contains(&head_type.as_str());
        if let (false, Some(digest)) = (need_body, &header_digest) {
            return Ok(Resolved {
                digest: digest.clone(),
                media_type: head_type,
                tag_digest: digest.clone(),
                source: DigestSource::Header,
            });
        }
        let get = self.send(Method::GET, reference, &target).await?;
        let body = get.body;
        let get_header = self.header_digest(reference, &get.headers)?;
        let media_type = check_media_type(reference, &content_type(&get.headers), &body)?;
        let claimed = get_header.or(header_digest);
        let (tag_digest, source) = match claimed {
            Some(claimed) => {
                let computed = Digest::of_bytes(claimed.algorithm(), &body);
                if computed != claimed {
                    return Err(ResolveError::DigestMismatch {
                        reference: reference.to_string(),
                        header: claimed.to_string(),
                        computed: computed.to_string(),
                    });
                }
                (claimed, DigestSource::HeaderAndBody)
            }
            None => (
                Digest::of_bytes(DigestAlgorithm::Sha256, &body),
                DigestSource::Body,
            ),
        };
        match &self.config.platform {
            Some(platform) if media_type == MEDIA_OCI_INDEX || media_type == MEDIA_DOCKER_LIST => {
                let (digest, child_type) = select_platform(reference, &body, platform)?;
                Ok(Resolved {
                    digest,
                    media_type: child_type,
                    tag_digest,
                    source,
                })
            }
            _ => Ok(Resolved {
                digest: tag_digest.clone(),
                media_type,
                tag_digest,
                source,
            }),
        }
    }

    /// The platform manifests the reference's tag points at (`GET`; attestations skipped). Empty
    /// when the tag names a single-platform manifest.
    pub async fn index_children(
        &self,
        reference: &Reference,
    ) -> Result<Vec<IndexChild>, ResolveError> {
        let target = reference.tag_or_latest().to_owned();
        let get = self.send(Method::GET, reference, &target).await?;
        let body = get.body;
        let media_type = check_media_type(reference, &content_type(&get.headers), &body)?;
        if media_type == MEDIA_OCI_INDEX || media_type == MEDIA_DOCKER_LIST {
            index_children(reference, &body)
        } else {
            Ok(Vec::new())
        }
    }

    /// Whether the registry still serves `digest` for the reference's repository (`HEAD` by
    /// digest).
    pub async fn check_digest(
        &self,
        reference: &Reference,
        digest: &Digest,
    ) -> Result<DigestStatus, ResolveError> {
        let target = digest.to_string();
        let answer = match self.send(Method::HEAD, reference, &target).await {
            // HEAD refused by the registry or a proxy: ask with GET instead.
            Err(ResolveError::Status {
                status: 405 | 501, ..
            }) => self.send(Method::GET, reference, &target).await,
            other => other,
        };
        match answer {
            Ok(fetched) => Ok(DigestStatus::Exists {
                media_type: content_type(&fetched.headers),
            }),
            Err(ResolveError::NotFound { .. }) => Ok(DigestStatus::Missing),
            Err(e) => Err(e),
        }
    }

    /// Resolves every distinct reference (compared without digests) once, concurrently.
    pub async fn resolve_many<'a, I>(
        &self,
        references: I,
    ) -> BTreeMap<Reference, Result<Resolved, ResolveError>>
    where
        I: IntoIterator<Item = &'a Reference>,
    {
        let distinct: BTreeSet<Reference> = references
            .into_iter()
            .map(Reference::without_digest)
            .collect();
        let futures = distinct.into_iter().map(|r| async move {
            let result = self.resolve(&r).await;
            (r, result)
        });
        futures_util::future::join_all(futures)
            .await
            .into_iter()
            .collect()
    }

    fn header_digest(
        &self,
        reference: &Reference,
        headers: &HeaderMap,
    ) -> Result<Option<Digest>, ResolveError> {
        match headers.get(DIGEST_HEADER) {
            None => Ok(None),
            Some(value) => {
                let text = value.to_str().unwrap_or_default().trim();
                if text.is_empty() {
                    return Ok(None);
                }
                Digest::parse(text)
                    .map(Some)
                    .map_err(|_| ResolveError::BadDigestHeader {
                        reference: reference.to_string(),
                        value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    })
            }
        }
    }

    /// One manifest request with the auth dance; errors for every non-2xx status.
    async fn send(
        &self,
        method: Method,
        reference: &Reference,
        target: &str,
    ) -> Result<Fetched, ResolveError> {
        let url = self.manifest_url(reference, target)?;
        let registry = reference.registry();
        let creds = self.config.credentials.get(registry);
        let scope = reference.pull_scope();

        let bearer_for = |token: &Secret| Credential::bearer(&url, token);
        // Reuse a cached token for this registry's scope, if any, to skip the 401 round trip.
        let mut auth: Option<Credential> = self
            .tokens
            .cached(registry, &scope)
            .await
            .map(|t| bearer_for(&t));
        let mut retried = false;
        loop {
            let request = Request::new(method.clone(), &url)
                .accept(&MANIFEST_MEDIA_TYPES.join(", "))
                .credential(auth.as_ref());
            let fetched = self
                .transport
                .fetch(&request, MAX_MANIFEST_BYTES)
                .await
                .map_err(|e| ResolveError::from_http(e, reference, "manifest"))?;
            let status = fetched.status;
            if status.is_success() {
                return Ok(fetched);
            }
            let reference_text = reference.to_string();
            match status {
                StatusCode::UNAUTHORIZED if !retried => {
                    retried = true;
                    let header = fetched
                        .headers
                        .get(WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    let challenges =
                        parse_challenges(header).map_err(|e| ResolveError::Unauthorized {
                            reference: reference_text.clone(),
                            registry: registry.to_owned(),
                            detail: format!("HTTP 401 with an unusable challenge: {e}"),
                        })?;
                    if let Some(bearer) = challenges.iter().find(|c| c.is("bearer")) {
                        let realm =
                            bearer
                                .param("realm")
                                .ok_or_else(|| ResolveError::Unauthorized {
                                    reference: reference_text.clone(),
                                    registry: registry.to_owned(),
                                    detail: "Bearer challenge without a realm".to_owned(),
                                })?;
                        let key = TokenKey {
                            registry: registry.to_owned(),
                            realm: realm.to_owned(),
                            service: bearer.param("service").unwrap_or_default().to_owned(),
                            scope: bearer
                                .param("scope")
                                .map_or_else(|| scope.clone(), str::to_owned),
                        };
                        let realm = key.url().map_err(|detail| ResolveError::Token {
                            reference: reference_text.clone(),
                            realm: key.realm.clone(),
                            detail,
                        })?;
                        self.check_scheme(&realm, None)?;
                        let token = self
                            .tokens
                            .get(&self.transport, reference, &key, &realm, creds)
                            .await?;
                        auth = Some(bearer_for(&token));
                    } else if challenges.iter().any(|c| c.is("basic")) {
                        let creds = creds.ok_or_else(|| ResolveError::Unauthorized {
                            reference: reference_text.clone(),
                            registry: registry.to_owned(),
                            detail: format!(
                                "the registry requires credentials (Basic) and none are configured for {registry} in the Docker config"
                            ),
                        })?;
                        auth = Some(creds.credential(&url));
                    } else {
                        return Err(ResolveError::Unauthorized {
                            reference: reference_text,
                            registry: registry.to_owned(),
                            detail: format!("unsupported auth challenge {header:?}"),
                        });
                    }
                }
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    let challenge = fetched
                        .headers
                        .get(WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    let why = if challenge.contains("insufficient_scope") {
                        "the token does not grant pull access (on Docker Hub this also means the repository does not exist or is private)".to_owned()
                    } else if creds.is_some() {
                        format!(
                            "credentials for {registry} were rejected (HTTP {})",
                            status.as_u16()
                        )
                    } else {
                        format!(
                            "HTTP {} and no credentials are configured for {registry}",
                            status.as_u16()
                        )
                    };
                    let detail = match fetched.detail.as_str() {
                        "" => why,
                        d => format!("{why}: {d}"),
                    };
                    return Err(ResolveError::Unauthorized {
                        reference: reference_text,
                        registry: registry.to_owned(),
                        detail,
                    });
                }
                StatusCode::NOT_FOUND => {
                    return Err(ResolveError::NotFound {
                        reference: reference_text,
                        url: fetched.url,
                    });
                }
                _ => {
                    return Err(ResolveError::Status {
                        reference: reference_text,
                        url: fetched.url,
                        status: status.as_u16(),
                        detail: fetched.detail,
                    });
                }
            }
        }
    }
}

/// `localhost`, `127.0.0.0/8` or `[::1]`: registries Docker and crane reach over plain HTTP.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_or_insecure() {
        let mut config = ResolverConfig::default();
        config.map_registry("docker.io", Url::parse("http://127.0.0.1:5000").unwrap());
        config.map_registry(
            "ghcr.io",
            Url::parse("http://registry.example:5000").unwrap(),
        );
        let resolver = Resolver::new(config).unwrap();
        let hub = Reference::parse("node:20").unwrap();
        assert_eq!(
            resolver.base_url(&hub).unwrap().as_str(),
            "http://127.0.0.1:5000/"
        );
        let gh = Reference::parse("ghcr.io/a/b").unwrap();
        assert!(matches!(
            resolver.base_url(&gh),
            Err(ResolveError::InsecureNotAllowed { .. })
        ));
        let quay = Reference::parse("quay.io/a/b").unwrap();
        assert_eq!(
            resolver.base_url(&quay).unwrap().as_str(),
            "https://quay.io/"
        );
        assert!(
            resolver.loopback_over_http().is_empty(),
            "an explicit http:// override is the user's choice, not a default to announce"
        );

        let mut config = ResolverConfig::default();
        config.insecure_registries.insert("quay.io".to_owned());
        let resolver = Resolver::new(config).unwrap();
        assert_eq!(
            resolver.base_url(&quay).unwrap().as_str(),
            "http://quay.io/"
        );
    }

    #[test]
    fn loopback_registries_speak_plain_http_by_default() {
        let resolver = Resolver::new(ResolverConfig::default()).unwrap();
        for (reference, base) in [
            ("localhost:5000/a/b:1", "http://localhost:5000/"),
            ("LOCALHOST/a", "http://localhost/"),
            ("127.0.0.1:5000/a", "http://127.0.0.1:5000/"),
            ("127.1.2.3:5000/a", "http://127.1.2.3:5000/"),
            ("[::1]:5000/a", "http://[::1]:5000/"),
            ("localhost.example.com/a", "https://localhost.example.com/"),
            ("128.0.0.1:5000/a", "https://128.0.0.1:5000/"),
        ] {
            let reference = Reference::parse(reference).unwrap();
            assert_eq!(
                resolver.base_url(&reference).unwrap().as_str(),
                base,
                "{reference}"
            );
        }
        assert_eq!(
            resolver.loopback_over_http(),
            [
                "127.0.0.1:5000",
                "127.1.2.3:5000",
                "[::1]:5000",
                "localhost",
                "localhost:5000"
            ]
        );
    }
}
