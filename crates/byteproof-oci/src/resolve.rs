//! Tag → digest resolution against a registry's `/v2/` API, with anonymous, Bearer-token and
//! Basic auth.
//!
//! The algorithm: `HEAD /v2/<repo>/manifests/<tag>` with the four manifest media types in
//! `Accept`, digest from `Docker-Content-Digest`; when the header is missing, `GET` and hash the
//! exact body bytes; when both are available they must agree. With a platform, the index is
//! fetched and the matching child's digest is returned instead.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::auth::{CredentialStore, Credentials, Secret};
use crate::challenge::parse_challenges;
use crate::reference::{Digest, DigestAlgorithm, Reference, canonical_registry};

/// OCI image index.
pub const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker manifest list.
pub const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image manifest, schema 2.
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// OCI image manifest.
pub const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The four manifest media types this resolver accepts, list types first.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    MEDIA_OCI_INDEX,
    MEDIA_DOCKER_LIST,
    MEDIA_DOCKER_MANIFEST,
    MEDIA_OCI_MANIFEST,
];

const DIGEST_HEADER: &str = "docker-content-digest";
/// Manifests larger than this are refused (distribution's own limit is 4 MiB).
const MAX_MANIFEST_BYTES: usize = 4 << 20;
/// At most this much of an error body is read.
const MAX_ERROR_BYTES: usize = 64 << 10;

/// A platform selector, `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`.
    pub architecture: String,
    /// `v8`, when given.
    pub variant: Option<String>,
}

impl std::str::FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Self {
                os: (*os).to_owned(),
                architecture: (*arch).to_owned(),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Self {
                    os: (*os).to_owned(),
                    architecture: (*arch).to_owned(),
                    variant: Some((*variant).to_owned()),
                })
            }
            _ => Err(format!(
                "invalid platform {s:?}: expected os/arch or os/arch/variant"
            )),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Why a reference could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Transport failure (connect, TLS, timeout, body read).
    #[error("request to {url} failed")]
    Http {
        /// The URL (never carries credentials).
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The registry answered 404 for the tag or digest.
    #[error("{reference}: manifest not found at {url}")]
    NotFound {
        /// The reference as written by the user, normalised.
        reference: String,
        /// The manifest URL.
        url: String,
    },
    /// The registry refused access.
    #[error("{reference}: access denied by {registry}: {detail}")]
    Unauthorized {
        /// The reference.
        reference: String,
        /// The registry host.
        registry: String,
        /// What happened (no credentials).
        detail: String,
    },
    /// The token endpoint failed.
    #[error("{reference}: token request to {realm} failed: {detail}")]
    Token {
        /// The reference.
        reference: String,
        /// The realm URL.
        realm: String,
        /// What went wrong.
        detail: String,
    },
    /// HTTP 429: retry later (never a reason to call a pin stale).
    #[error("{reference}: rate limited by {registry} (HTTP 429){}", retry_after.as_deref().map(|r| format!(", retry after {r}")).unwrap_or_default())]
    RateLimited {
        /// The reference.
        reference: String,
        /// The registry host.
        registry: String,
        /// The `Retry-After` header, if sent.
        retry_after: Option<String>,
    },
    /// Any other non-success status.
    #[error("{reference}: {url} answered HTTP {status}{}", if detail.is_empty() { String::new() } else { format!(": {detail}") })]
    Status {
        /// The reference.
        reference: String,
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// Error codes and messages from the registry's error body.
        detail: String,
    },
    /// `Docker-Content-Digest` disagrees with the hash of the body.
    #[error(
        "{reference}: Docker-Content-Digest {header} does not match the manifest body, which hashes to {computed}"
    )]
    DigestMismatch {
        /// The reference.
        reference: String,
        /// The header's digest.
        header: String,
        /// The body's digest.
        computed: String,
    },
    /// The `Docker-Content-Digest` header is not a digest.
    #[error("{reference}: unparsable Docker-Content-Digest header {value:?}")]
    BadDigestHeader {
        /// The reference.
        reference: String,
        /// The raw header.
        value: String,
    },
    /// A manifest type this resolver does not pin (schema 1, artifacts, unknown types).
    #[error("{reference}: unsupported manifest media type {media_type:?}")]
    UnsupportedMediaType {
        /// The reference.
        reference: String,
        /// The type.
        media_type: String,
    },
    /// `Content-Type` and the body's `mediaType` disagree.
    #[error(
        "{reference}: Content-Type {content_type:?} disagrees with the manifest's mediaType {media_type:?}"
    )]
    MediaTypeMismatch {
        /// The reference.
        reference: String,
        /// The header.
        content_type: String,
        /// The body field.
        media_type: String,
    },
    /// The manifest body is not the JSON it claims to be.
    #[error("{reference}: invalid manifest JSON: {detail}")]
    BadManifest {
        /// The reference.
        reference: String,
        /// What was wrong.
        detail: String,
    },
    /// `--platform` was given and the index has no such platform.
    #[error("{reference}: no manifest for platform {platform} in the index")]
    PlatformNotFound {
        /// The reference.
        reference: String,
        /// The requested platform.
        platform: String,
    },
    /// Plain HTTP was needed for a host that is neither loopback nor marked insecure.
    #[error(
        "refusing plain HTTP to {host}: allowed only for loopback hosts or registries marked insecure"
    )]
    InsecureNotAllowed {
        /// The host.
        host: String,
    },
    /// The manifest body exceeds the size limit.
    #[error("{url}: manifest larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// A registry URL override is unusable.
    #[error("invalid registry URL {url:?}: {detail}")]
    BadRegistryUrl {
        /// The URL.
        url: String,
        /// Why.
        detail: String,
    },
}

impl ResolveError {
    /// True for "the thing does not exist" (as opposed to "could not find out").
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

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
    /// Registries (canonical names or override hosts) allowed over plain HTTP.
    pub insecure_registries: BTreeSet<String>,
    /// Credentials by registry.
    pub credentials: CredentialStore,
    /// Resolve to this platform's child manifest instead of the index.
    pub platform: Option<Platform>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after a 5xx, connect error or timeout (never after 4xx or 429).
    pub retries: u32,
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
            retries: 2,
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

#[derive(Clone, PartialEq, Eq, Hash)]
struct TokenKey {
    registry: String,
    realm: String,
    service: String,
    scope: String,
}

struct CachedToken {
    token: Secret,
    expires: Instant,
}

/// Resolves references to digests. Cheap to share behind an `Arc`; caches tokens.
pub struct Resolver {
    client: reqwest::Client,
    config: ResolverConfig,
    tokens: tokio::sync::Mutex<HashMap<TokenKey, CachedToken>>,
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

struct Fetched {
    status: StatusCode,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    url: String,
}

impl Resolver {
    /// Builds a resolver. Redirects are followed only within the same host, so an
    /// `Authorization` header can never leak to another host.
    pub fn new(config: ResolverConfig) -> Result<Self, ResolveError> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            let same_host = attempt.previous().last().is_some_and(|prev| {
                prev.host_str() == attempt.url().host_str() && prev.port() == attempt.url().port()
            });
            if attempt.previous().len() > 5 {
                attempt.error("too many redirects")
            } else if same_host {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.timeout)
            .redirect(policy)
            .no_proxy()
            .build()
            .map_err(|source| ResolveError::Http {
                url: String::from("<client>"),
                source,
            })?;
        Ok(Self {
            client,
            config,
            tokens: tokio::sync::Mutex::new(HashMap::new()),
        })
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
                let scheme = if self.config.insecure_registries.contains(registry) {
                    "http"
                } else {
                    "https"
                };
                let text = format!("{scheme}://{}/", reference.api_host());
                Url::parse(&text).map_err(|e| ResolveError::BadRegistryUrl {
                    url: text,
                    detail: e.to_string(),
                })?
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
                if is_loopback(host)
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
        let body = get.body.unwrap_or_default();
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
        let body = get.body.unwrap_or_default();
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

        // Reuse a cached token for this registry's scope, if any, to skip the 401 round trip.
        let mut auth: Option<Secret> = self.cached_token_for_scope(registry, &scope).await;
        let mut retried = false;
        loop {
            let fetched = self.request(method.clone(), &url, auth.as_ref()).await?;
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
                        let token = self.token(reference, &key, creds).await?;
                        auth = Some(Secret::new(format!("Bearer {}", token.expose())));
                    } else if challenges.iter().any(|c| c.is("basic")) {
                        let creds = creds.ok_or_else(|| ResolveError::Unauthorized {
                            reference: reference_text.clone(),
                            registry: registry.to_owned(),
                            detail: format!(
                                "the registry requires credentials (Basic) and none are configured for {registry} in the Docker config"
                            ),
                        })?;
                        auth = Some(Secret::new(creds.basic_header()));
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
                    let detail = match error_detail(fetched.body.as_deref()) {
                        d if d.is_empty() => why,
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
                StatusCode::TOO_MANY_REQUESTS => {
                    let retry_after = fetched
                        .headers
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    return Err(ResolveError::RateLimited {
                        reference: reference_text,
                        registry: registry.to_owned(),
                        retry_after,
                    });
                }
                _ => {
                    return Err(ResolveError::Status {
                        reference: reference_text,
                        url: fetched.url,
                        status: status.as_u16(),
                        detail: error_detail(fetched.body.as_deref()),
                    });
                }
            }
        }
    }

    /// One request, retried on 500/502/503/504, connect errors and timeouts.
    async fn request(
        &self,
        method: Method,
        url: &Url,
        auth: Option<&Secret>,
    ) -> Result<Fetched, ResolveError> {
        let mut attempt: u32 = 0;
        loop {
            let result = self.request_once(method.clone(), url, auth).await;
            let transient = match &result {
                Ok(fetched) => matches!(fetched.status.as_u16(), 500 | 502 | 503 | 504),
                Err(ResolveError::Http { source, .. }) => {
                    source.is_connect() || source.is_timeout()
                }
                Err(_) => false,
            };
            if !transient || attempt >= self.config.retries {
                return result;
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(200 * 3u64.pow(attempt - 1))).await;
        }
    }

    async fn request_once(
        &self,
        method: Method,
        url: &Url,
        auth: Option<&Secret>,
    ) -> Result<Fetched, ResolveError> {
        let is_get = method == Method::GET;
        let mut request = self
            .client
            .request(method, url.clone())
            .header(ACCEPT, MANIFEST_MEDIA_TYPES.join(", "));
        if let Some(auth) = auth {
            let mut value =
                reqwest::header::HeaderValue::from_str(auth.expose()).map_err(|_| {
                    ResolveError::Unauthorized {
                        reference: url.to_string(),
                        registry: url.host_str().unwrap_or_default().to_owned(),
                        detail: "credentials contain characters not allowed in an HTTP header"
                            .to_owned(),
                    }
                })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        let http = |source| ResolveError::Http {
            url: url.to_string(),
            source,
        };
        let response = request.send().await.map_err(http)?;
        let status = response.status();
        let headers = response.headers().clone();
        let final_url = response.url().to_string();
        // Error bodies are read for their messages; success bodies only for GET.
        let body = if is_get || !status.is_success() {
            let cap = if status.is_success() {
                MAX_MANIFEST_BYTES
            } else {
                MAX_ERROR_BYTES
            };
            let mut response = response;
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(http)? {
                if body.len() + chunk.len() > cap {
                    if !status.is_success() {
                        // An error body is only read for its message; keep what fits.
                        body.extend_from_slice(&chunk[..cap - body.len()]);
                        break;
                    }
                    return Err(ResolveError::TooLarge {
                        url: url.to_string(),
                        limit: cap,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Some(body)
        } else {
            None
        };
        Ok(Fetched {
            status,
            headers,
            body,
            url: final_url,
        })
    }

    async fn cached_token_for_scope(&self, registry: &str, scope: &str) -> Option<Secret> {
        let tokens = self.tokens.lock().await;
        tokens
            .iter()
            .find(|(k, v)| k.registry == registry && k.scope == scope && v.expires > Instant::now())
            .map(|(_, v)| Secret::new(format!("Bearer {}", v.token.expose())))
    }

    async fn token(
        &self,
        reference: &Reference,
        key: &TokenKey,
        creds: Option<&Credentials>,
    ) -> Result<Secret, ResolveError> {
        if let Some(cached) = self
            .tokens
            .lock()
            .await
            .get(key)
            .filter(|t| t.expires > Instant::now())
        {
            return Ok(cached.token.clone());
        }
        let token_err = |detail: String| ResolveError::Token {
            reference: reference.to_string(),
            realm: key.realm.clone(),
            detail,
        };
        let mut url =
            Url::parse(&key.realm).map_err(|e| token_err(format!("invalid realm URL: {e}")))?;
        self.check_scheme(&url, None)?;
        {
            let mut query = url.query_pairs_mut();
            if !key.service.is_empty() {
                query.append_pair("service", &key.service);
            }
            for scope in key.scope.split(' ').filter(|s| !s.is_empty()) {
                query.append_pair("scope", scope);
            }
        }
        let mut request = self.client.get(url.clone());
        if let Some(creds) = creds {
            let mut value =
                reqwest::header::HeaderValue::from_str(&creds.basic_header()).map_err(|_| {
                    token_err(
                        "credentials contain characters not allowed in an HTTP header".to_owned(),
                    )
                })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        let response = request.send().await.map_err(|source| ResolveError::Http {
            url: url.to_string(),
            source,
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|source| ResolveError::Http {
                url: url.to_string(),
                source,
            })?;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(ResolveError::Unauthorized {
                reference: reference.to_string(),
                registry: reference.registry().to_owned(),
                detail: if creds.is_some() {
                    format!(
                        "the token service at {} rejected the configured credentials (HTTP {})",
                        key.realm,
                        status.as_u16()
                    )
                } else {
                    format!(
                        "the token service at {} requires credentials (HTTP {})",
                        key.realm,
                        status.as_u16()
                    )
                },
            });
        }
        if !status.is_success() {
            return Err(token_err(format!("HTTP {}", status.as_u16())));
        }
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| token_err(format!("response is not token JSON: {e}")))?;
        let token = parsed
            .token
            .filter(|t| !t.is_empty())
            .or(parsed.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| token_err("response has neither token nor access_token".to_owned()))?;
        let token = Secret::new(token);
        // Expire a little early so a token is never sent just as it lapses.
        let lifetime =
            Duration::from_secs(parsed.expires_in.unwrap_or(60).max(60).saturating_sub(10));
        self.tokens.lock().await.insert(
            key.clone(),
            CachedToken {
                token: token.clone(),
                expires: Instant::now() + lifetime,
            },
        );
        Ok(token)
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// Checks `Content-Type` against the body's `mediaType`; returns the manifest's media type.
fn check_media_type(
    reference: &Reference,
    content_type: &str,
    body: &[u8],
) -> Result<String, ResolveError> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        #[serde(rename = "schemaVersion")]
        schema_version: Option<u32>,
    }
    let head: Head = serde_json::from_slice(body).map_err(|e| ResolveError::BadManifest {
        reference: reference.to_string(),
        detail: e.to_string(),
    })?;
    let unsupported = |media_type: String| ResolveError::UnsupportedMediaType {
        reference: reference.to_string(),
        media_type,
    };
    if head.schema_version == Some(1) {
        return Err(unsupported(if content_type.is_empty() {
            "schemaVersion 1".to_owned()
        } else {
            content_type.to_owned()
        }));
    }
    let content_known = MANIFEST_MEDIA_TYPES.contains(&content_type);
    match head.media_type {
        Some(media_type) => {
            if !MANIFEST_MEDIA_TYPES.contains(&media_type.as_str()) {
                return Err(unsupported(media_type));
            }
            if content_known && media_type != content_type {
                return Err(ResolveError::MediaTypeMismatch {
                    reference: reference.to_string(),
                    content_type: content_type.to_owned(),
                    media_type,
                });
            }
            Ok(media_type)
        }
        // OCI manifests may omit mediaType; trust a known Content-Type then.
        None if content_known => Ok(content_type.to_owned()),
        None => Err(unsupported(content_type.to_owned())),
    }
}

fn select_platform(
    reference: &Reference,
    body: &[u8],
    platform: &Platform,
) -> Result<(Digest, String), ResolveError> {
    let wanted = |p: &Platform| {
        p.os == platform.os
            && p.architecture == platform.architecture
            && platform
                .variant
                .as_ref()
                .is_none_or(|v| p.variant.as_ref() == Some(v))
    };
    index_children(reference, body)?
        .into_iter()
        .find(|child| child.platform.as_ref().is_some_and(wanted))
        .map(|child| (child.digest, child.media_type))
        .ok_or_else(|| ResolveError::PlatformNotFound {
            reference: reference.to_string(),
            platform: platform.to_string(),
        })
}

/// The entries of an index body, attestation manifests skipped.
fn index_children(reference: &Reference, body: &[u8]) -> Result<Vec<IndexChild>, ResolveError> {
    let bad = |detail: String| ResolveError::BadManifest {
        reference: reference.to_string(),
        detail,
    };
    let index: serde_json::Value = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    let manifests = index
        .get("manifests")
        .and_then(|m| m.as_array())
        .ok_or_else(|| bad("index without manifests".to_owned()))?;
    let mut children = Vec::new();
    for entry in manifests {
        let is_attestation = entry
            .pointer("/annotations/vnd.docker.reference.type")
            .and_then(|v| v.as_str())
            .is_some_and(|t| t == "attestation-manifest");
        if is_attestation {
            continue;
        }
        let field = |name: &str| {
            entry
                .get("platform")
                .and_then(|p| p.get(name))
                .and_then(|v| v.as_str())
        };
        let platform = match (field("os"), field("architecture")) {
            (Some(os), Some(architecture)) => Some(Platform {
                os: os.to_owned(),
                architecture: architecture.to_owned(),
                variant: field("variant").map(str::to_owned),
            }),
            _ => None,
        };
        let digest = entry
            .get("digest")
            .and_then(|d| d.as_str())
            .and_then(|d| Digest::parse(d).ok())
            .ok_or_else(|| bad("index entry without a valid digest".to_owned()))?;
        let media_type = entry
            .get("mediaType")
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_owned();
        children.push(IndexChild {
            platform,
            digest,
            media_type,
        });
    }
    Ok(children)
}

/// One platform entry of an image index or manifest list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexChild {
    /// The entry's platform, when it names one.
    pub platform: Option<Platform>,
    /// The child manifest's digest.
    pub digest: Digest,
    /// The child manifest's media type.
    pub media_type: String,
}

/// Registry error bodies: `{"errors":[{"code":"…","message":"…"}]}` → `CODE: message; …`.
fn error_detail(body: Option<&[u8]>) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        code: Option<String>,
        message: Option<String>,
    }
    let Some(body) = body.filter(|b| !b.is_empty()) else {
        return String::new();
    };
    match serde_json::from_slice::<Errors>(body) {
        Ok(errors) => errors
            .errors
            .into_iter()
            .map(|e| match (e.code, e.message) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c,
                (None, Some(m)) => m,
                (None, None) => String::new(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)])
            .trim()
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_parse() {
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(p.variant.as_deref(), Some("v8"));
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//".parse::<Platform>().is_err());
    }

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

        let mut config = ResolverConfig::default();
        config.insecure_registries.insert("quay.io".to_owned());
        let resolver = Resolver::new(config).unwrap();
        assert_eq!(
            resolver.base_url(&quay).unwrap().as_str(),
            "http://quay.io/"
        );
    }

    #[test]
    fn media_type_checks() {
        let r = Reference::parse("node").unwrap();
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        assert_eq!(
            check_media_type(&r, MEDIA_OCI_INDEX, body).unwrap(),
            MEDIA_OCI_INDEX
        );
        assert!(matches!(
            check_media_type(&r, MEDIA_DOCKER_LIST, body),
            Err(ResolveError::MediaTypeMismatch { .. })
        ));
        assert!(check_media_type(&r, "", br#"{"schemaVersion":1}"#).is_err());
        let no_type = br#"{"schemaVersion":2,"config":{}}"#;
        assert_eq!(
            check_media_type(&r, MEDIA_OCI_MANIFEST, no_type).unwrap(),
            MEDIA_OCI_MANIFEST
        );
    }

    #[test]
    fn error_bodies() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"99"}}]}"#;
        assert_eq!(
            error_detail(Some(body)),
            "MANIFEST_UNKNOWN: manifest unknown"
        );
        assert_eq!(error_detail(None), "");
    }
}
