//! The HTTP side: packument and tarball reads with retries, timeouts and host-scoped auth.

use std::collections::BTreeMap;
use std::time::Duration;

use byteproof_hash::{Digests, MultiHasher};
use futures_util::StreamExt as _;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, RETRY_AFTER};
use serde::Deserialize;
use url::Url;

use crate::{Auth, FetchError, PackageName, PackageSpec, SafeUrl};

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
        url.scheme() == self.base.scheme()
            && url.host_str().map(str::to_ascii_lowercase)
                == self.base.host_str().map(str::to_ascii_lowercase)
            && url.port_or_known_default() == self.base.port_or_known_default()
    }
}

/// Limits and retry policy.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Longest silence while waiting for a response or the next body chunk.
    pub read_timeout: Duration,
    /// Retries after the first attempt, on 5xx, 429, connection errors and timeouts.
    pub retries: u32,
    /// First backoff delay; doubled after each retry.
    pub backoff: Duration,
    /// Longest single backoff delay (also caps `Retry-After`).
    pub max_backoff: Duration,
    /// Largest tarball read, in bytes.
    pub max_tarball_size: u64,
    /// Largest packument read, in bytes.
    pub max_document_size: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_tarball_size: 1 << 30,
            max_document_size: 128 << 20,
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

/// A tarball read once: its digests, and its bytes when they fit the keep limit.
#[derive(Clone, Debug)]
pub struct FetchedTarball {
    /// Digests of every byte served.
    pub digests: Digests,
    /// The bytes, when asked for and no larger than the keep limit.
    pub bytes: Option<Vec<u8>>,
    /// Attempts it took (1 = first try).
    pub attempts: u32,
}

/// Reads npm registries.
#[derive(Clone, Debug)]
pub struct NpmClient {
    pub(crate) http: reqwest::Client,
    options: ClientOptions,
}

/// npm's own Accept for packuments: the abbreviated document where the registry has one.
const PACKUMENT_ACCEPT: &str =
    "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

impl NpmClient {
    /// A client with these options.
    pub fn new(options: ClientOptions) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("byteproof/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
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
                Some(PACKUMENT_ACCEPT),
                self.options.max_document_size,
                Some(spec),
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

    /// Streams the tarball at `url` once through SHA-1, SHA-256 and SHA-512. Credentials are
    /// sent only when `url` is on `registry`'s origin. The bytes are kept when `keep_up_to`
    /// is at least their size.
    pub async fn tarball(
        &self,
        registry: &Registry,
        url: &Url,
        keep_up_to: u64,
    ) -> Result<FetchedTarball, FetchError> {
        let limit = self.options.max_tarball_size;
        self.with_retries(url, |_| async {
            let response = self
                .send(registry, url, Some("application/octet-stream, */*"))
                .await?;
            let response = check_status(response, url, registry, None).await?;
            if response.content_length().is_some_and(|len| len > limit) {
                return Err(Attempt::Fatal(FetchError::TooLarge {
                    url: SafeUrl::new(url),
                    limit,
                }));
            }
            let mut hasher = MultiHasher::new();
            let mut kept = (keep_up_to > 0).then(Vec::new);
            let mut stream = response.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| transport_error(url, e, registry))?;
                hasher.update(&chunk);
                if hasher.size() > limit {
                    return Err(Attempt::Fatal(FetchError::TooLarge {
                        url: SafeUrl::new(url),
                        limit,
                    }));
                }
                if let Some(buffer) = kept.as_mut() {
                    if hasher.size() <= keep_up_to {
                        buffer.extend_from_slice(&chunk);
                    } else {
                        kept = None;
                    }
                }
            }
            Ok((hasher.finish(), kept))
        })
        .await
        .map(|((digests, bytes), attempts)| FetchedTarball {
            digests,
            bytes,
            attempts,
        })
    }

    /// GETs a whole (bounded) body from the registry.
    pub(crate) async fn get_bytes(
        &self,
        registry: &Registry,
        url: &Url,
        accept: Option<&str>,
        limit: u64,
        spec: Option<&PackageSpec>,
    ) -> Result<(Vec<u8>, u32), FetchError> {
        self.with_retries(url, |_| async {
            let response = self.send(registry, url, accept).await?;
            let response = check_status(response, url, registry, spec).await?;
            let mut body = Vec::new();
            let mut stream = response.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| transport_error(url, e, registry))?;
                body.extend_from_slice(&chunk);
                if body.len() as u64 > limit {
                    return Err(Attempt::Fatal(FetchError::TooLarge {
                        url: SafeUrl::new(url),
                        limit,
                    }));
                }
            }
            Ok(body)
        })
        .await
    }

    async fn send(
        &self,
        registry: &Registry,
        url: &Url,
        accept: Option<&str>,
    ) -> Result<reqwest::Response, Attempt> {
        let mut request = self.http.get(url.clone());
        if let Some(accept) = accept {
            request = request.header(ACCEPT, accept);
        }
        if let Some(auth) = registry.auth.as_ref().filter(|_| registry.same_origin(url)) {
            let mut value = HeaderValue::from_str(&auth.header_value()).map_err(|_| {
                Attempt::Fatal(FetchError::BadResponse {
                    url: SafeUrl::new(url),
                    why: "the token contains characters that cannot go in an HTTP header".into(),
                })
            })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        request
            .send()
            .await
            .map_err(|e| transport_error(url, e, registry))
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries are spent.
    async fn with_retries<T, F, Fut>(&self, url: &Url, attempt: F) -> Result<(T, u32), FetchError>
    where
        F: Fn(u32) -> Fut,
        Fut: std::future::Future<Output = Result<T, Attempt>>,
    {
        let mut delay = self.options.backoff;
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt(tries).await {
                Ok(value) => return Ok((value, tries)),
                Err(Attempt::Fatal(err)) => return Err(err),
                Err(Attempt::Retry { error, retry_after }) => {
                    if tries > self.options.retries {
                        return Err(error.into_error(url, tries, self.options.read_timeout));
                    }
                    let wait = retry_after.unwrap_or(delay).min(self.options.max_backoff);
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(self.options.max_backoff);
                }
            }
        }
    }
}

/// The outcome of one failed attempt.
enum Attempt {
    /// Worth another try.
    Retry {
        error: Transient,
        retry_after: Option<Duration>,
    },
    /// Final.
    Fatal(FetchError),
}

/// A failure that may pass.
enum Transient {
    Status { status: u16, detail: String },
    Network(String),
    Timeout,
}

impl Transient {
    fn into_error(self, url: &Url, attempts: u32, timeout: Duration) -> FetchError {
        let url = SafeUrl::new(url);
        match self {
            Transient::Status { status, detail } => FetchError::HttpStatus {
                url,
                status,
                detail,
                attempts,
            },
            Transient::Network(message) => FetchError::Network {
                url,
                message,
                attempts,
            },
            Transient::Timeout => FetchError::Timeout {
                url,
                seconds: timeout.as_secs_f64(),
                attempts,
            },
        }
    }
}

fn transport_error(url: &Url, err: reqwest::Error, registry: &Registry) -> Attempt {
    if err.is_timeout() {
        return Attempt::Retry {
            error: Transient::Timeout,
            retry_after: None,
        };
    }
    // Walk the source chain: reqwest's top-level text alone ("error sending request") says
    // little. The URL is dropped from the message (it is shown separately, safely).
    let retryable = err.is_body() || err.is_decode() || err.is_connect() || err.is_request();
    let err = err.without_url();
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    let message = scrub(&message, registry);
    if retryable {
        return Attempt::Retry {
            error: Transient::Network(message),
            retry_after: None,
        };
    }
    Attempt::Fatal(FetchError::Network {
        url: SafeUrl::new(url),
        message,
        attempts: 1,
    })
}

/// Maps a response status to success, a retry, or a final error.
async fn check_status(
    response: reqwest::Response,
    url: &Url,
    registry: &Registry,
    packument_of: Option<&PackageSpec>,
) -> Result<reqwest::Response, Attempt> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = response.bytes().await.unwrap_or_default();
    let detail = scrub(&error_detail(&body), registry);
    let safe = SafeUrl::new(url);
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        let hint = if registry.auth.is_some() {
            " — check the token configured for this registry"
        } else {
            " — this registry needs a token; see `byteproof compare --help` for where tokens come from"
        };
        return Err(Attempt::Fatal(FetchError::AuthRefused {
            url: safe,
            status: status.as_u16(),
            hint,
        }));
    }
    if status == StatusCode::NOT_FOUND {
        if let Some(spec) = packument_of {
            return Err(Attempt::Fatal(FetchError::PackageMissing {
                package: spec.name.to_string(),
                url: safe,
            }));
        }
    }
    let transient = Transient::Status {
        status: status.as_u16(),
        detail: if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        },
    };
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return Err(Attempt::Retry {
            error: transient,
            retry_after,
        });
    }
    Err(Attempt::Fatal(transient.into_error(url, 1, Duration::ZERO)))
}

/// A short message from an error body: npm registries answer `{"error": "..."}`, Gitea's API
/// `{"message": "..."}`, others plain text.
pub(crate) fn error_detail(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            ["error", "message", "reason"]
                .iter()
                .find_map(|k| v.get(k).and_then(|m| m.as_str()).map(str::to_owned))
        })
        .unwrap_or_else(|| text.lines().next().unwrap_or("").to_owned());
    let message = message.trim();
    let mut short: String = message
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if message.chars().count() > 200 {
        short.push('…');
    }
    short
}

/// Removes the registry's secrets from text that may have echoed them.
pub(crate) fn scrub(text: &str, registry: &Registry) -> String {
    let mut text = text.to_owned();
    if let Some(auth) = &registry.auth {
        for secret in auth.secrets() {
            if !secret.is_empty() {
                text = text.replace(secret, "<redacted>");
            }
        }
    }
    text
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

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            error_detail(br#"{"error":"no such package available"}"#),
            "no such package available"
        );
        assert_eq!(error_detail(b"reqPackageAccess\n"), "reqPackageAccess");
        assert_eq!(
            error_detail(br#"{"message":"token is required","url":"x"}"#),
            "token is required"
        );
    }
}
