//! [`ForgeError`]: what went wrong talking to a forge, with the operation, its target, the
//! request (no query, no secrets) and the forge's own message, plus the one classification the
//! command line needs: [`ErrorClass::Usage`] (change the command: exit 2) or
//! [`ErrorClass::CouldNotCheck`] (the forge could not be asked or refused: exit 3).
//!
//! Statuses are mapped as `forge-routing-api.md` §6 describes both forges: 401 the credential
//! was refused (missing, invalid, expired; a JWT with bad claims); 403 a permission or token
//! scope is missing (Gitea: `user should be the owner of the repo`, `token does not have at
//! least one of required scope(s)…`; GitHub: `Resource not accessible by integration`), unless
//! it is GitHub's rate limit; 404 the resource is absent or hidden (GitHub answers 404 for what
//! the credential cannot see); 409 a conflict; 400/422 a request the forge refused as invalid;
//! 429 and GitHub's 403 rate limits; 5xx after the retries.

use std::fmt;
use std::time::Duration;

use byteproof_http::{BuildError, HttpError, Method};
use byteproof_redact::SafeUrl;
use jiff::Timestamp;

use crate::{Forge, GiteaFeature, ScopeError, ServerVersion};

/// What a failing call was for, in the words errors use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `GET /api/v1/version`.
    ServerVersion,
    /// Listing runners.
    RunnerList,
    /// Reading one runner.
    RunnerGet,
    /// Deleting a runner.
    RunnerDelete,
    /// Asking for a runner registration token.
    RegistrationToken,
    /// Asking for a runner remove token (GitHub).
    RemoveToken,
    /// Asking for a just-in-time runner configuration (GitHub).
    JitConfig,
    /// Listing Actions variables.
    VariableList,
    /// Reading an Actions variable.
    VariableGet,
    /// Creating an Actions variable.
    VariableCreate,
    /// Updating an Actions variable.
    VariableUpdate,
    /// Reading a user's permission on a repository.
    CollaboratorPermission,
    /// Finding the GitHub App's installation on a repository.
    AppInstallation,
    /// Exchanging the GitHub App's JWT for an installation token.
    InstallationToken,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::ServerVersion => "server version",
            Operation::RunnerList => "runner list",
            Operation::RunnerGet => "runner look-up",
            Operation::RunnerDelete => "runner removal",
            Operation::RegistrationToken => "runner registration token",
            Operation::RemoveToken => "runner remove token",
            Operation::JitConfig => "JIT runner configuration",
            Operation::VariableList => "variable list",
            Operation::VariableGet => "variable read",
            Operation::VariableCreate => "variable creation",
            Operation::VariableUpdate => "variable update",
            Operation::CollaboratorPermission => "collaborator permission look-up",
            Operation::AppInstallation => "App installation look-up",
            Operation::InstallationToken => "installation token",
        })
    }
}

/// One call to a forge: the operation, what it was about, and the request without its query
/// or any secret. Shown as `runner list for repo/o/r (GET https://…/actions/runners)`.
#[derive(Clone, Debug)]
pub struct Endpoint {
    inner: Box<Parts>,
}

#[derive(Clone, Debug)]
struct Parts {
    operation: Operation,
    target: String,
    method: Method,
    url: SafeUrl,
}

impl Endpoint {
    pub(crate) fn new(operation: Operation, target: String, method: Method, url: SafeUrl) -> Self {
        Self {
            inner: Box::new(Parts {
                operation,
                target,
                method,
                url,
            }),
        }
    }

    /// The operation.
    pub fn operation(&self) -> Operation {
        self.inner.operation
    }

    /// What it was about (`repo/o/r`, `variable NAME of o/r`, `runner 7 at org/o`), or empty.
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// The request's method.
    pub fn method(&self) -> &Method {
        &self.inner.method
    }

    /// The request's URL without its query.
    pub fn url(&self) -> &SafeUrl {
        &self.inner.url
    }

    /// `operation for target`, without the request.
    pub fn what(&self) -> String {
        if self.inner.target.is_empty() {
            self.inner.operation.to_string()
        } else {
            format!("{} for {}", self.inner.operation, self.inner.target)
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} {})",
            self.what(),
            self.inner.method,
            self.inner.url
        )
    }
}

/// Whether the user must change the command or the forge could not be asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Bad input or configuration (a scope, a name, a URL, a key, an operation the forge kind
    /// does not have): exit 2.
    Usage,
    /// The forge was not reachable, refused, or answered something unusable: exit 3.
    CouldNotCheck,
}

/// What went wrong talking to a forge. No variant holds a token: messages come from the
/// forge's error body with the request's credential removed, URLs are shown without query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForgeError {
    /// 401: the credential is missing, invalid or expired (or a JWT's claims are refused).
    #[error(
        "{endpoint}: the forge refused the credential (HTTP 401{})",
        detail(message)
    )]
    Unauthorized {
        /// The call.
        endpoint: Endpoint,
        /// The forge's message.
        message: String,
    },
    /// 403 (not a rate limit): the credential lacks a permission or a token scope.
    #[error("{endpoint}: permission denied (HTTP 403{})", detail(message))]
    Forbidden {
        /// The call.
        endpoint: Endpoint,
        /// The forge's message (which permission or scope, when it says).
        message: String,
    },
    /// 404: the resource does not exist, or the credential cannot see it (GitHub hides
    /// existence).
    #[error("{endpoint}: not found (HTTP 404{})", detail(message))]
    NotFound {
        /// The call.
        endpoint: Endpoint,
        /// The forge's message.
        message: String,
    },
    /// 409: the resource exists already or is in another state.
    #[error("{endpoint}: conflict (HTTP 409{})", detail(message))]
    Conflict {
        /// The call.
        endpoint: Endpoint,
        /// The forge's message.
        message: String,
    },
    /// 400 or 422: the forge refused the request as invalid.
    #[error(
        "{endpoint}: the forge rejected the request (HTTP {status}{})",
        detail(message)
    )]
    Rejected {
        /// The call.
        endpoint: Endpoint,
        /// 400 or 422.
        status: u16,
        /// The forge's message.
        message: String,
    },
    /// A rate limit: 429, or GitHub's 403. Secondary limits with `Retry-After` are retried
    /// first; GitHub's primary limit (`x-ratelimit-remaining: 0`) is reported at once with
    /// the time its budget resets.
    #[error("{endpoint}: rate limited (HTTP {status}{}{}){}", attempts_note(*attempts), detail(message), wait_note(*reset, *retry_after))]
    RateLimited {
        /// The call.
        endpoint: Endpoint,
        /// 403 or 429.
        status: u16,
        /// The forge's message.
        message: String,
        /// When GitHub's primary budget resets (`x-ratelimit-reset`).
        reset: Option<Timestamp>,
        /// The last `Retry-After`.
        retry_after: Option<Duration>,
        /// Attempts made.
        attempts: u32,
    },
    /// 5xx after the retries.
    #[error("{endpoint}: server error (HTTP {status}{}{})", attempts_note(*attempts), detail(message))]
    Server {
        /// The call.
        endpoint: Endpoint,
        /// The status.
        status: u16,
        /// The forge's message (often empty: Gitea blanks it for non-admins).
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Any other status.
    #[error("{endpoint}: unexpected HTTP {status}{}", detail(message))]
    UnexpectedStatus {
        /// The call.
        endpoint: Endpoint,
        /// The status.
        status: u16,
        /// The forge's message.
        message: String,
    },
    /// No usable answer: connection, TLS, proxy, timeout, a body over its cap, a redirect not
    /// followed (after the retries where they apply).
    #[error("{}: {source}", endpoint.what())]
    Http {
        /// The call.
        endpoint: Endpoint,
        /// What happened.
        #[source]
        source: HttpError,
    },
    /// A success whose body is not what the forge documents.
    #[error("{endpoint}: the answer is not what the forge documents: {detail}")]
    Malformed {
        /// The call.
        endpoint: Endpoint,
        /// What is wrong with it.
        detail: String,
    },
    /// A list longer than this client reads; nothing is returned rather than a part.
    #[error("{endpoint}: more than {limit} items; the list was not read in full")]
    TooManyItems {
        /// The call.
        endpoint: Endpoint,
        /// Items read before stopping.
        limit: usize,
    },
    /// The Gitea release lacks the API (`gitea-api.md` §8).
    #[error("{operation} needs Gitea ≥ {}.{}; this server is {server}{}", feature.since().0, feature.since().1, hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Unsupported {
        /// What was asked.
        operation: Operation,
        /// The API it needs.
        feature: GiteaFeature,
        /// What the server reported.
        server: ServerVersion,
        /// How to do it without the API, when there is a way.
        hint: Option<String>,
    },
    /// The forge kind has no such operation or scope (JIT on Gitea, instance runners on
    /// GitHub).
    #[error("{operation} is not available on {forge}: {reason}")]
    NotOnForge {
        /// What was asked.
        operation: Operation,
        /// The forge kind.
        forge: Forge,
        /// Why, and what to do instead.
        reason: String,
    },
    /// A scope or repository that cannot be read.
    #[error(transparent)]
    InvalidScope(#[from] ScopeError),
    /// Other input that cannot be sent: an API URL, a variable name or value, JIT labels.
    #[error("{what}: {reason}")]
    InvalidInput {
        /// Which input.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The GitHub App's private key cannot sign a JWT.
    #[error("the GitHub App private key is unusable: {reason}")]
    AppKey {
        /// Why (never the key).
        reason: String,
    },
    /// The HTTP client could not be built (an unusable proxy variable).
    #[error(transparent)]
    Client(#[from] BuildError),
}

impl ForgeError {
    /// Usage (exit 2) or could not check (exit 3).
    pub fn class(&self) -> ErrorClass {
        match self {
            ForgeError::NotOnForge { .. }
            | ForgeError::InvalidScope(_)
            | ForgeError::InvalidInput { .. }
            | ForgeError::AppKey { .. }
            | ForgeError::Client(_) => ErrorClass::Usage,
            ForgeError::Unauthorized { .. }
            | ForgeError::Forbidden { .. }
            | ForgeError::NotFound { .. }
            | ForgeError::Conflict { .. }
            | ForgeError::Rejected { .. }
            | ForgeError::RateLimited { .. }
            | ForgeError::Server { .. }
            | ForgeError::UnexpectedStatus { .. }
            | ForgeError::Http { .. }
            | ForgeError::Malformed { .. }
            | ForgeError::TooManyItems { .. }
            | ForgeError::Unsupported { .. } => ErrorClass::CouldNotCheck,
        }
    }

    /// The call that failed, for errors that come from one.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        match self {
            ForgeError::Unauthorized { endpoint, .. }
            | ForgeError::Forbidden { endpoint, .. }
            | ForgeError::NotFound { endpoint, .. }
            | ForgeError::Conflict { endpoint, .. }
            | ForgeError::Rejected { endpoint, .. }
            | ForgeError::RateLimited { endpoint, .. }
            | ForgeError::Server { endpoint, .. }
            | ForgeError::UnexpectedStatus { endpoint, .. }
            | ForgeError::Http { endpoint, .. }
            | ForgeError::Malformed { endpoint, .. }
            | ForgeError::TooManyItems { endpoint, .. } => Some(endpoint),
            ForgeError::Unsupported { .. }
            | ForgeError::NotOnForge { .. }
            | ForgeError::InvalidScope(_)
            | ForgeError::InvalidInput { .. }
            | ForgeError::AppKey { .. }
            | ForgeError::Client(_) => None,
        }
    }

    /// The HTTP status the forge answered, when it answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            ForgeError::Unauthorized { .. } => Some(401),
            ForgeError::Forbidden { .. } => Some(403),
            ForgeError::NotFound { .. } => Some(404),
            ForgeError::Conflict { .. } => Some(409),
            ForgeError::Rejected { status, .. }
            | ForgeError::RateLimited { status, .. }
            | ForgeError::Server { status, .. }
            | ForgeError::UnexpectedStatus { status, .. } => Some(*status),
            ForgeError::Http { source, .. } => source.status(),
            _ => None,
        }
    }

    pub(crate) fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        ForgeError::InvalidInput {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// `: message`, or nothing for an empty message.
fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

fn wait_note(reset: Option<Timestamp>, retry_after: Option<Duration>) -> String {
    match (reset, retry_after) {
        (Some(reset), _) => format!("; the budget resets at {reset}"),
        (None, Some(after)) => format!("; retry after {} s", after.as_secs()),
        (None, None) => String::new(),
    }
}
