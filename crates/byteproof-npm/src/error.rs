//! What can go wrong reading a registry, with the context a user needs to act.

use crate::SafeUrl;

/// The kind of failure, stable for reports (`error_kind` in byteproof's JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchErrorKind {
    /// The registry has no such package.
    PackageMissing,
    /// The package exists but not at this version.
    VersionMissing,
    /// 401 or 403: the credentials were refused or are missing.
    AuthRefused,
    /// Another HTTP error status (after retries for 5xx and 429).
    HttpStatus,
    /// Connection refused, reset, DNS failure, TLS failure.
    Network,
    /// No answer within the timeout.
    Timeout,
    /// The packument or version document is not what npm registries serve.
    BadResponse,
    /// The tarball is larger than the configured cap.
    TooLarge,
}

impl FetchErrorKind {
    /// Kebab-case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FetchErrorKind::PackageMissing => "package-missing",
            FetchErrorKind::VersionMissing => "version-missing",
            FetchErrorKind::AuthRefused => "auth-refused",
            FetchErrorKind::HttpStatus => "http-status",
            FetchErrorKind::Network => "network",
            FetchErrorKind::Timeout => "timeout",
            FetchErrorKind::BadResponse => "bad-response",
            FetchErrorKind::TooLarge => "too-large",
        }
    }
}

/// A failed read of one registry.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The package is not on the registry (404 on the packument).
    #[error("{package} is not on this registry (404 from {url})")]
    PackageMissing {
        /// `@scope/name`.
        package: String,
        /// The packument URL.
        url: SafeUrl,
    },
    /// The version is not in the packument.
    #[error(
        "{package}@{version} is not on this registry (it has {available} other version(s){latest})"
    )]
    VersionMissing {
        /// `@scope/name`.
        package: String,
        /// The version asked for.
        version: String,
        /// How many versions the registry does have.
        available: usize,
        /// `, newest <v>` when there are any.
        latest: String,
    },
    /// 401/403.
    #[error("{url} refused the credentials (HTTP {status}){hint}")]
    AuthRefused {
        /// The URL that answered.
        url: SafeUrl,
        /// 401 or 403.
        status: u16,
        /// A hint on what to check.
        hint: &'static str,
    },
    /// Any other unexpected status.
    #[error("{url} answered HTTP {status}{detail} after {attempts} attempt(s)")]
    HttpStatus {
        /// The URL that answered.
        url: SafeUrl,
        /// The status code.
        status: u16,
        /// `: <error message from the body>` when the body had one.
        detail: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Transport failure.
    #[error("could not reach {url} after {attempts} attempt(s): {message}")]
    Network {
        /// The URL.
        url: SafeUrl,
        /// The transport error, without credentials.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Timed out.
    #[error("{url} did not answer within {seconds:.0} s ({attempts} attempt(s))")]
    Timeout {
        /// The URL.
        url: SafeUrl,
        /// The timeout.
        seconds: f64,
        /// Attempts made.
        attempts: u32,
    },
    /// Malformed registry answer.
    #[error("{url} did not serve a usable npm document: {why}")]
    BadResponse {
        /// The URL.
        url: SafeUrl,
        /// What is wrong.
        why: String,
    },
    /// Over the size cap.
    #[error("{url} served more than {limit} bytes; raise --max-tarball-size to read it")]
    TooLarge {
        /// The URL.
        url: SafeUrl,
        /// The cap in bytes.
        limit: u64,
    },
}

impl FetchError {
    /// The kind, for reports and exit-code decisions.
    pub fn kind(&self) -> FetchErrorKind {
        match self {
            FetchError::PackageMissing { .. } => FetchErrorKind::PackageMissing,
            FetchError::VersionMissing { .. } => FetchErrorKind::VersionMissing,
            FetchError::AuthRefused { .. } => FetchErrorKind::AuthRefused,
            FetchError::HttpStatus { .. } => FetchErrorKind::HttpStatus,
            FetchError::Network { .. } => FetchErrorKind::Network,
            FetchError::Timeout { .. } => FetchErrorKind::Timeout,
            FetchError::BadResponse { .. } => FetchErrorKind::BadResponse,
            FetchError::TooLarge { .. } => FetchErrorKind::TooLarge,
        }
    }
}
