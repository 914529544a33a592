//! The one HTTP client of byteproof: every crate that talks to a server (npm registries, OCI
//! registries, forges) builds its requests here, so these rules hold everywhere at once.
//!
//! - [`HttpClient::new`] builds the reqwest client from a [`ClientConfig`]: timeouts, the
//!   user agent, rustls, and the [`ProxyConfig`] read from `HTTP_PROXY` / `HTTPS_PROXY` /
//!   `ALL_PROXY` / `NO_PROXY` (see [`proxy`](ProxyConfig) for the exact rules).
//! - A [`Credential`] is bound to one origin (scheme, host, port). [`HttpClient::send`] follows
//!   redirects itself and attaches the credential only on hops to that origin.
//!   [`basic_authorization`] is the one `Basic` encoder.
//! - [`HttpClient::retry`] is the one retry loop: transient failures (network, broken body,
//!   timeout, 429, 5xx but 501/505) are retried with exponential backoff and full jitter, honouring
//!   `Retry-After` in seconds and as an HTTP-date, with a cap per delay and on the total wait
//!   ([`RetryPolicy`]). A caller that recognises a rate limit answered with another status
//!   (GitHub's 403 with `Retry-After`) marks it with [`HttpError::into_throttled`] to have it
//!   retried the same way. [`parse_http_date`] is the one HTTP-date parser.
//! - [`Request::json`] sets a JSON body.
//! - [`Response::bytes`] and [`Response::body`] read under a cap, checked against
//!   `Content-Length` first and counted while streaming; error bodies are read for their message
//!   up to [`MAX_ERROR_BODY`].
//! - [`HttpError`] keeps the context (method, URL without secrets, status, attempts, kind);
//!   [`error_chain`] renders any error with its causes, once.
//!
//! With a `tracing` subscriber, each response is a `debug` event (method, URL without secrets,
//! status, elapsed time, inside an `attempt` span) and each retry decision an `info` event;
//! header values are never recorded. This crate never prints.

mod client;
mod credential;
mod error;
mod proxy;
mod response;
mod retry;

pub use bytes::Bytes;
pub use client::{Attempt, ClientConfig, HttpClient, Request};
pub use credential::{Credential, basic_authorization};
pub use error::{BuildError, ErrorKind, HttpError, error_chain};
pub use proxy::ProxyConfig;
pub use reqwest::header;
pub use reqwest::{Method, StatusCode};
pub use response::{Body, MAX_ERROR_BODY, Response, error_summary};
pub use retry::{Backoff, Jitter, RetryPolicy, parse_http_date, parse_retry_after};
