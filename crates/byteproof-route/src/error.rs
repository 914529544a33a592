//! Why an event payload cannot be routed, and why an association look-up failed.
//!
//! Messages do not repeat their source error; walk `source()` (anyhow's `{:#}`) for the whole
//! story, e.g. "malformed at pull_request.head: missing field `label` at line 30 column 5".

/// An event payload the rules cannot be applied to. Never a silent fallback: the caller
/// reports it and fails.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// No bytes, or only whitespace.
    #[error("the event payload is empty")]
    Empty,
    /// Not JSON at all (truncated, binary, trailing garbage).
    #[error("the event payload is not valid JSON")]
    NotJson(#[source] serde_json::Error),
    /// Valid JSON, but an array, string, number or null rather than an object.
    #[error("the event payload is not a JSON object")]
    NotAnObject,
    /// A field the rules read is missing or has the wrong type.
    #[error("the event payload is malformed at {path}")]
    Malformed {
        /// Where, e.g. `pull_request.head`.
        path: String,
        /// What serde found there.
        #[source]
        source: serde_json::Error,
    },
    /// A `pull_request` or `pull_request_target` event whose payload has no pull request (the
    /// wrong file for the event name, most likely).
    #[error("the {event} event payload has no pull_request object")]
    NoPullRequest {
        /// The event name given with the payload.
        event: String,
    },
    /// A pull request payload without `sender`.
    #[error("the event payload has a pull_request but no sender")]
    NoSender,
}

/// A failed permission look-up through the forge API.
#[derive(Debug, thiserror::Error)]
#[error("cannot look up the permission of {login} on {repository}")]
pub struct ResolveError {
    /// `owner/name` of the base repository.
    pub repository: String,
    /// The pull request author.
    pub login: String,
    /// The resolver's own error.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}
