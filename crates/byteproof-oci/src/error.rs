//! [`ResolveError`]: why a reference could not be resolved, with the reference, registry and
//! URL a user needs; HTTP failures arrive as [`HttpError`]s from `byteproof-http`.

use std::time::Duration;

use byteproof_http::{BuildError, ErrorKind, HttpError};

use crate::reference::Reference;

/// Why a reference could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Transport failure (connect, TLS, proxy, timeout, body read), after the retries.
    #[error(transparent)]
    Http(#[from] HttpError),
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
    /// HTTP 429 after the retries: try later (never a reason to call a pin stale).
    #[error("{reference}: rate limited by {registry} (HTTP 429 after {attempts} attempt(s)){}", retry_after.map(|r| format!(", retry after {} s", r.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The reference.
        reference: String,
        /// The registry host.
        registry: String,
        /// Attempts made.
        attempts: u32,
        /// The last `Retry-After`, if sent.
        retry_after: Option<Duration>,
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
    /// A manifest (4 MiB), token response or error body (1 MiB) is larger than its cap; the
    /// read stopped at the cap.
    #[error("{url}: {what} larger than the {limit}-byte cap")]
    TooLarge {
        /// The URL.
        url: String,
        /// What was being read: `manifest`, `token response` or `error body`.
        what: &'static str,
        /// The cap in bytes.
        limit: u64,
    },
    /// The HTTP client could not be built (an unusable proxy variable, TLS set-up).
    #[error(transparent)]
    Client(#[from] BuildError),
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

    /// An HTTP failure while reading `what` for `reference`: a status that survived the
    /// retries (429 is [`ResolveError::RateLimited`]), a body over its cap, or the transport.
    pub(crate) fn from_http(error: HttpError, reference: &Reference, what: &'static str) -> Self {
        match (error.kind(), error.status()) {
            (ErrorKind::Status { .. }, Some(429)) => ResolveError::RateLimited {
                reference: reference.to_string(),
                registry: reference.registry().to_owned(),
                attempts: error.attempts(),
                retry_after: error.retry_after(),
            },
            (ErrorKind::Status { detail, .. }, Some(status)) => ResolveError::Status {
                reference: reference.to_string(),
                url: error.url().to_string(),
                status,
                detail: detail.clone(),
            },
            (ErrorKind::TooLarge { limit, .. }, status) => ResolveError::TooLarge {
                url: error.url().to_string(),
                what: if status.is_some_and(|s| !(200..300).contains(&s)) {
                    "error body"
                } else {
                    what
                },
                limit: *limit,
            },
            _ => ResolveError::Http(error),
        }
    }
}
