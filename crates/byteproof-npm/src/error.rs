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
    /// A packument, tarball or error body is larger than its cap.
    TooLarge,
    /// The tarball could not be written to its temporary spool file.
    Spool,
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
            FetchErrorKind::Spool => "spool",
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
    /// Over a size cap; the read stopped at the cap.
    #[error("{url} served a {what} larger than the {limit}-byte cap{}", what.hint())]
    TooLarge {
        /// The URL.
        url: SafeUrl,
        /// What was being read.
        what: Capped,
        /// The cap in bytes.
        limit: u64,
    },
    /// The tarball could not be spooled to a temporary file.
    #[error("cannot spool the tarball from {url} to a temporary file: {source}")]
    Spool {
        /// The tarball's URL.
        url: SafeUrl,
        /// The file error.
        #[source]
        source: std::io::Error,
    },
}

/// Which read hit its cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capped {
    /// A packument ([`crate::ClientOptions::max_packument_size`]).
    Packument,
    /// A tarball ([`crate::ClientOptions::max_tarball_size`]).
    Tarball,
    /// An error answer's body (1 MiB), or a write's reply.
    Reply,
}

impl Capped {
    /// How to read it anyway, for the message.
    fn hint(self) -> &'static str {
        match self {
            Capped::Packument => "; raise --max-packument-size to read it",
            Capped::Tarball => "; raise --max-tarball-size to read it",
            Capped::Reply => "",
        }
    }
}

impl std::fmt::Display for Capped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Capped::Packument => "packument",
            Capped::Tarball => "tarball",
            Capped::Reply => "reply",
        })
    }
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
            FetchError::Spool { .. } => FetchErrorKind::Spool,
        }
    }
}
