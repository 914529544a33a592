//! [`Response`]: status and headers, and bodies read under a cap — checked against
//! `Content-Length` before reading and counted while streaming, so an endless body is cut at the
//! cap and never allocated.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, HeaderMap, RETRY_AFTER};
use url::Url;

use crate::client::transport_error;
use crate::retry::parse_retry_after;
use crate::{Credential, ErrorKind, HttpError, Method, StatusCode};

/// The most read of an error body (it is only read for its message).
pub const MAX_ERROR_BODY: u64 = 1 << 20;

/// A response head; the body is read with [`Response::bytes`] or [`Response::body`].
#[derive(Debug)]
pub struct Response {
    inner: reqwest::Response,
    method: Method,
    requested: Url,
    credential: Option<Credential>,
}

/// A body being streamed under a cap.
#[derive(Debug)]
pub struct Body {
    response: Response,
    limit: u64,
    read: u64,
}

impl Response {
    pub(crate) fn new(
        inner: reqwest::Response,
        method: Method,
        requested: Url,
        credential: Option<Credential>,
    ) -> Self {
        Self {
            inner,
            method,
            requested,
            credential,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.inner.status()
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers()
    }

    /// A header's value, when present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// The URL that answered (after redirects).
    pub fn url(&self) -> &Url {
        self.inner.url()
    }

    /// `Retry-After` as a delay from now (seconds or an HTTP-date).
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.header(RETRY_AFTER.as_str())?;
        parse_retry_after(value, jiff::Timestamp::now())
    }

    /// `Ok(self)` on 2xx; otherwise the status as an [`HttpError`] (see
    /// [`Response::into_status_error`]).
    pub async fn error_for_status(self) -> Result<Self, HttpError> {
        if self.status().is_success() {
            Ok(self)
        } else {
            Err(self.into_status_error().await)
        }
    }

    /// The status as an [`HttpError`] with a one-line summary of the error body (read up to
    /// [`MAX_ERROR_BODY`]; more is a `too-large` error) and the server's `Retry-After`.
    pub async fn into_status_error(self) -> HttpError {
        let status = self.status().as_u16();
        let retry_after = self.retry_after();
        let (method, requested, credential) = (
            self.method.clone(),
            self.requested.clone(),
            self.credential.clone(),
        );
        match self.bytes(MAX_ERROR_BODY).await {
            Ok(body) => {
                let detail = error_summary(&body);
                let detail = match &credential {
                    Some(credential) => credential.redact(&detail),
                    None => detail,
                };
                HttpError::new(
                    &method,
                    &requested,
                    Some(status),
                    ErrorKind::Status {
                        detail,
                        retry_after,
                    },
                )
            }
            Err(error) if matches!(error.kind(), ErrorKind::TooLarge { .. }) => error,
            // The body broke off: the status is still the answer.
            Err(_) => HttpError::new(
                &method,
                &requested,
                Some(status),
                ErrorKind::Status {
                    detail: String::new(),
                    retry_after,
                },
            ),
        }
    }

    /// The whole body, at most `limit` bytes.
    pub async fn bytes(self, limit: u64) -> Result<Vec<u8>, HttpError> {
        let mut body = self.body(limit)?;
        let mut out = Vec::new();
        while let Some(chunk) = body.chunk().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// The body as a stream of at most `limit` bytes; a `Content-Length` above the cap fails
    /// here, before anything is read.
    pub fn body(self, limit: u64) -> Result<Body, HttpError> {
        let announced = self
            .header(CONTENT_LENGTH.as_str())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(size) = announced.filter(|size| *size > limit) {
            return Err(self.error(ErrorKind::TooLarge {
                limit,
                announced: Some(size),
            }));
        }
        Ok(Body {
            response: self,
            limit,
            read: 0,
        })
    }

    fn error(&self, kind: ErrorKind) -> HttpError {
        HttpError::new(
            &self.method,
            &self.requested,
            Some(self.status().as_u16()),
            kind,
        )
    }
}

impl Body {
    /// The next chunk, `None` at the end. Passing the cap is a `too-large` error and the
    /// connection is dropped there.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, HttpError> {
        let chunk = match self.response.inner.chunk().await {
            Ok(chunk) => chunk,
            Err(e) => {
                let kind = transport_error(e, self.response.credential.as_ref());
                return Err(self.response.error(kind));
            }
        };
        let Some(chunk) = chunk else {
            return Ok(None);
        };
        self.read += chunk.len() as u64;
        if self.read > self.limit {
            return Err(self.response.error(ErrorKind::TooLarge {
                limit: self.limit,
                announced: None,
            }));
        }
        Ok(Some(chunk))
    }

    /// Bytes read so far.
    pub fn read(&self) -> u64 {
        self.read
    }
}

/// A one-line summary of an error body: npm's `{"error": …}`, Gitea's and GitHub's
/// `{"message": …}`, CouchDB's `{"reason": …}`, the OCI distribution spec's
/// `{"errors": [{"code", "message"}]}`, else the first line of text; at most 200 characters,
/// control characters removed.
pub fn error_summary(body: &[u8]) -> String {
    let json = serde_json::from_slice::<serde_json::Value>(body).ok();
    let from_json = json.as_ref().and_then(|value| {
        let field = ["error", "message", "reason"]
            .iter()
            .find_map(|key| value.get(key).and_then(|m| m.as_str()).map(str::to_owned));
        field.or_else(|| {
            let entries = value.get("errors")?.as_array()?;
            let parts: Vec<String> = entries
                .iter()
                .map(|entry| {
                    let text = |key| entry.get(key).and_then(|v| v.as_str());
                    match (text("code"), text("message")) {
                        (Some(code), Some(message)) => format!("{code}: {message}"),
                        (Some(one), None) | (None, Some(one)) => one.to_owned(),
                        (None, None) => String::new(),
                    }
                })
                .filter(|part| !part.is_empty())
                .collect();
            Some(parts.join("; "))
        })
    });
    let message = from_json.unwrap_or_else(|| {
        String::from_utf8_lossy(body)
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or("")
            .to_owned()
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            error_summary(br#"{"error":"no such package available"}"#),
            "no such package available"
        );
        assert_eq!(error_summary(b"reqPackageAccess\n"), "reqPackageAccess");
        assert_eq!(
            error_summary(br#"{"message":"token is required","url":"x"}"#),
            "token is required"
        );
        assert_eq!(
            error_summary(
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"99"}},{"code":"DENIED"}]}"#
            ),
            "MANIFEST_UNKNOWN: manifest unknown; DENIED"
        );
        assert_eq!(error_summary(b""), "");
        assert_eq!(error_summary(b"\n\n  <html>\n"), "<html>");
        let long = "x".repeat(300);
        assert_eq!(error_summary(long.as_bytes()).chars().count(), 201);
    }
}
