//! The resolver's HTTP, over `byteproof-http`: one client built from [`ResolverConfig`]
//! (proxies from the environment, timeouts, retries), and [`Transport::fetch`], which retries
//! transient failures and hands back every other answer with its body read under a cap.

use std::convert::Infallible;

use byteproof_http::header::HeaderMap;
use byteproof_http::{
    Attempt, ClientConfig, ErrorKind, HttpClient, HttpError, Method, Request, Response,
    RetryPolicy, StatusCode,
};
use byteproof_redact::SafeUrl;

use crate::error::ResolveError;
use crate::resolve::ResolverConfig;

/// One answer: status, headers, the body of a successful `GET`, the summary of an error body.
pub(crate) struct Fetched {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The body of a 2xx answer to `GET` (empty otherwise).
    pub(crate) body: Vec<u8>,
    /// One line from an error body (empty on success).
    pub(crate) detail: String,
    /// The URL that answered (after redirects), without secrets.
    pub(crate) url: String,
}

/// The resolver's HTTP client.
#[derive(Debug)]
pub(crate) struct Transport {
    http: HttpClient,
}

impl Transport {
    pub(crate) fn new(config: &ResolverConfig) -> Result<Self, ResolveError> {
        let http = HttpClient::new(ClientConfig {
            user_agent: config.user_agent.clone(),
            request_timeout: Some(config.timeout),
            retry: RetryPolicy {
                retries: config.retries,
                backoff: config.backoff.clone(),
            },
            ..ClientConfig::default()
        })?;
        Ok(Self { http })
    }

    /// Sends `request`, retrying transient failures (network, timeouts, 5xx, 429), and reads
    /// the answer: a `GET` body up to `limit` on success, an error body (1 MiB at most) for its
    /// message otherwise. Transient statuses that outlast the retries, and bodies over their
    /// cap, are errors; every other status is returned for the caller to judge.
    pub(crate) async fn fetch(&self, request: &Request, limit: u64) -> Result<Fetched, HttpError> {
        let read_body = request.method() == Method::GET;
        self.http
            .retry(|_| async {
                let response = self.http.send(request).await?;
                Ok::<_, Attempt<Infallible>>(read(response, read_body, limit).await?)
            })
            .await
            .map(|(fetched, _attempts)| fetched)
            .map_err(Attempt::into_http)
    }
}

async fn read(response: Response, read_body: bool, limit: u64) -> Result<Fetched, HttpError> {
    let status = response.status();
    let headers = response.headers().clone();
    let url = SafeUrl::new(response.url()).to_string();
    if status.is_success() {
        let body = if read_body {
            response.bytes(limit).await?
        } else {
            Vec::new()
        };
        return Ok(Fetched {
            status,
            headers,
            body,
            detail: String::new(),
            url,
        });
    }
    let error = response.into_status_error().await;
    let detail = match error.kind() {
        ErrorKind::Status { detail, .. } if !error.is_transient() => detail.clone(),
        _ => return Err(error),
    };
    Ok(Fetched {
        status,
        headers,
        body: Vec::new(),
        detail,
        url,
    })
}
