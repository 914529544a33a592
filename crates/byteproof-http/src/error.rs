//! What can go wrong in one HTTP exchange, with the context a user needs to act, and the one
//! function that renders any error with its causes.

use std::fmt;
use std::time::Duration;

use byteproof_redact::SafeUrl;

use crate::Method;

/// A failed HTTP exchange: which request, how far it got, and what went wrong.
#[derive(Debug)]
pub struct HttpError {
    inner: Box<Context>,
}

#[derive(Debug)]
struct Context {
    method: Method,
    url: SafeUrl,
    status: Option<u16>,
    attempts: u32,
    kind: ErrorKind,
    /// Marked by [`HttpError::into_throttled`].
    throttled: bool,
}

/// The kinds of failure; [`ErrorKind::name`] is stable for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// No connection: refused, reset, DNS, TLS, proxy.
    Network(String),
    /// The body broke off after the head arrived (a truncated body, a reset mid-stream).
    Body(String),
    /// No answer in time (connect, silence, or the whole request).
    Timeout,
    /// A status that is not success. `detail` is a one-line summary of the error body with
    /// credentials removed; `retry_after` is the server's `Retry-After`, when it sent one.
    Status {
        /// Summary of the error body (may be empty).
        detail: String,
        /// The server's `Retry-After`, as a delay from when it was read.
        retry_after: Option<Duration>,
    },
    /// The body is larger than the cap; the read stopped at the cap (or before reading, when
    /// `Content-Length` announced more).
    TooLarge {
        /// The cap in bytes.
        limit: u64,
        /// The size `Content-Length` announced, when that is how it was caught.
        announced: Option<u64>,
    },
    /// Too many redirects, or a `Location` that cannot be followed.
    Redirect(String),
    /// The request itself cannot be sent (a header value with forbidden characters).
    InvalidRequest(String),
}

impl ErrorKind {
    /// Kebab-case name for reports and logs.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::Network(_) => "network",
            ErrorKind::Body(_) => "body",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Status { .. } => "status",
            ErrorKind::TooLarge { .. } => "too-large",
            ErrorKind::Redirect(_) => "redirect",
            ErrorKind::InvalidRequest(_) => "invalid-request",
        }
    }
}

impl HttpError {
    pub(crate) fn new(
        method: &Method,
        url: &url::Url,
        status: Option<u16>,
        kind: ErrorKind,
    ) -> Self {
        Self {
            inner: Box::new(Context {
                method: method.clone(),
                url: SafeUrl::new(url),
                status,
                attempts: 1,
                kind,
                throttled: false,
            }),
        }
    }

    /// The request's method.
    pub fn method(&self) -> &Method {
        &self.inner.method
    }

    /// The URL asked for (before any redirect), without secrets.
    pub fn url(&self) -> &SafeUrl {
        &self.inner.url
    }

    /// The status the server answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// Attempts made (1 = the first try failed for good).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    pub(crate) fn set_attempts(&mut self, attempts: u32) {
        self.inner.attempts = attempts;
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The same error, marked as a temporary refusal: for a rate limit a server answers with
    /// another status than 429 (GitHub's secondary limit is a 403 with `Retry-After`), which
    /// only the caller can recognise. [`crate::HttpClient::retry`] then waits (the server's
    /// `Retry-After`, under the policy's caps) and tries again, as for a 429.
    #[must_use]
    pub fn into_throttled(mut self) -> Self {
        self.inner.throttled = true;
        self
    }

    /// True when another attempt may succeed: network and body failures, timeouts, 429, 5xx
    /// (except 501 Not Implemented and 505 HTTP Version Not Supported, which do not pass), and
    /// refusals marked with [`HttpError::into_throttled`].
    pub fn is_transient(&self) -> bool {
        if self.inner.throttled {
            return true;
        }
        match self.kind() {
            ErrorKind::Network(_) | ErrorKind::Body(_) | ErrorKind::Timeout => true,
            ErrorKind::Status { .. } => self.status().is_some_and(|status| {
                status == 429 || (status >= 500 && status != 501 && status != 505)
            }),
            ErrorKind::TooLarge { .. } | ErrorKind::Redirect(_) | ErrorKind::InvalidRequest(_) => {
                false
            }
        }
    }

    /// The server's `Retry-After`, when the failure is a status that carried one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind() {
            ErrorKind::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.method(), self.url())?;
        match (self.kind(), self.status()) {
            (ErrorKind::Network(message), _) => write!(f, "could not connect: {message}")?,
            (ErrorKind::Body(message), _) => write!(f, "the body broke off: {message}")?,
            (ErrorKind::Timeout, _) => f.write_str("no answer in time")?,
            (ErrorKind::Status { detail, .. }, status) => {
                write!(f, "HTTP {}", status.unwrap_or_default())?;
                if !detail.is_empty() {
                    write!(f, ": {detail}")?;
                }
            }
            (ErrorKind::TooLarge { limit, announced }, status) => {
                if let Some(status) = status.filter(|s| !(200..300).contains(s)) {
                    write!(f, "HTTP {status} with an error body ")?;
                } else {
                    f.write_str("the body is ")?;
                }
                match announced {
                    Some(size) => {
                        write!(f, "announced as {size} bytes, over the {limit}-byte cap")?;
                    }
                    None => write!(f, "larger than the {limit}-byte cap")?,
                }
            }
            (ErrorKind::Redirect(message), _) => write!(f, "redirect not followed: {message}")?,
            (ErrorKind::InvalidRequest(message), _) => write!(f, "{message}")?,
        }
        if self.attempts() > 1 {
            write!(f, " (after {} attempts)", self.attempts())?;
        }
        Ok(())
    }
}

impl std::error::Error for HttpError {}

/// Why an [`crate::HttpClient`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A proxy variable holds something that is not an `http://` or `https://` URL. The value
    /// is not repeated: it may carry proxy credentials.
    #[error("{variable} is not a usable proxy URL: {reason}")]
    Proxy {
        /// The environment variable, e.g. `HTTPS_PROXY`.
        variable: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS backend or another part of the client could not be set up.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// `error: cause: cause`, like anyhow's `{:#}`, skipping a cause whose text the message already
/// holds (wrappers that repeat their source's message would otherwise print it twice).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !part.is_empty() && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{message}")]
    struct Layer {
        message: String,
        #[source]
        source: Option<Box<Layer>>,
    }

    fn layers(messages: &[&str]) -> Layer {
        messages
            .iter()
            .rev()
            .fold(None, |source, message| {
                Some(Layer {
                    message: (*message).to_owned(),
                    source: source.map(Box::new),
                })
            })
            .expect("at least one layer")
    }

    #[test]
    fn the_chain_is_rendered_once_without_repeats() {
        assert_eq!(
            error_chain(&layers(&[
                "error sending request",
                "client error (Connect)",
                "tcp connect error",
                "Connection refused (os error 111)"
            ])),
            "error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)"
        );
        // A wrapper that already prints its source's text does not get it twice.
        assert_eq!(
            error_chain(&layers(&[
                "reading config: file not found",
                "file not found",
                ""
            ])),
            "reading config: file not found"
        );
    }

    #[test]
    fn transient_means_worth_another_try() {
        let url = url::Url::parse("https://r.example/x").unwrap();
        let status = |code: u16| {
            HttpError::new(
                &Method::GET,
                &url,
                Some(code),
                ErrorKind::Status {
                    detail: String::new(),
                    retry_after: None,
                },
            )
        };
        assert!(status(503).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(501).is_transient());
        assert!(!status(404).is_transient());
        assert!(!status(401).is_transient());
        assert!(!status(403).is_transient());
        assert!(status(403).into_throttled().is_transient());
        let too_large = HttpError::new(
            &Method::GET,
            &url,
            Some(200),
            ErrorKind::TooLarge {
                limit: 10,
                announced: None,
            },
        );
        assert!(!too_large.is_transient());
        assert_eq!(
            too_large.to_string(),
            "GET https://r.example/x: the body is larger than the 10-byte cap"
        );
        let mut timeout = HttpError::new(&Method::HEAD, &url, None, ErrorKind::Timeout);
        timeout.set_attempts(3);
        assert!(timeout.is_transient());
        assert_eq!(
            timeout.to_string(),
            "HEAD https://r.example/x: no answer in time (after 3 attempts)"
        );
    }
}
