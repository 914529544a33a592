//! [`HttpClient`]: one configured reqwest client, requests that carry their credential, manual
//! redirects that re-check the credential's origin at every hop, and the retry loop.

use std::convert::Infallible;
use std::future::Future;
use std::time::{Duration, Instant};

use byteproof_redact::SafeUrl;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue, LOCATION};
use tracing::Instrument as _;
use url::Url;

use crate::{
    BuildError, Credential, ErrorKind, HttpError, Method, ProxyConfig, Response, RetryPolicy,
    StatusCode, error_chain,
};

/// Redirects followed before a request fails.
const MAX_REDIRECTS: usize = 10;

/// Timeouts, identity, proxy and retry policy of an [`HttpClient`].
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Longest silence while waiting for the head or the next body chunk.
    pub read_timeout: Duration,
    /// Longest time for a whole exchange, body included (`None`: no such limit, for large
    /// downloads that keep making progress).
    pub request_timeout: Option<Duration>,
    /// Retries and backoff for [`HttpClient::retry`].
    pub retry: RetryPolicy,
    /// Which proxy to use; [`ClientConfig::default`] reads the environment.
    pub proxy: ProxyConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            user_agent: concat!("byteproof/", env!("CARGO_PKG_VERSION")).to_owned(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            request_timeout: None,
            retry: RetryPolicy::default(),
            proxy: ProxyConfig::from_env(),
        }
    }
}

/// The HTTP client every byteproof crate uses. Cheap to clone (the connection pool is shared).
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: reqwest::Client,
    config: ClientConfig,
}

/// One request: method, URL, headers, an optional body and an optional [`Credential`] that is
/// attached only where it belongs.
#[derive(Clone, Debug)]
pub struct Request {
    method: Method,
    url: Url,
    headers: Vec<(HeaderName, String)>,
    body: Option<Vec<u8>>,
    credential: Option<Credential>,
}

/// One failed attempt of an operation run by [`HttpClient::retry`].
#[derive(Debug)]
pub enum Attempt<E> {
    /// An HTTP failure: retried when [`HttpError::is_transient`].
    Http(HttpError),
    /// A failure of the caller's own (a full disk, a malformed document): never retried.
    Fatal(E),
}

impl<E> From<HttpError> for Attempt<E> {
    fn from(error: HttpError) -> Self {
        Attempt::Http(error)
    }
}

impl Attempt<Infallible> {
    /// The HTTP error, for operations that have no failure of their own.
    pub fn into_http(self) -> HttpError {
        match self {
            Attempt::Http(error) => error,
            Attempt::Fatal(never) => match never {},
        }
    }
}

impl Request {
    /// A request for `url` with `method`.
    pub fn new(method: Method, url: &Url) -> Self {
        Self {
            method,
            url: url.clone(),
            headers: Vec::new(),
            body: None,
            credential: None,
        }
    }

    /// A `GET` of `url`.
    pub fn get(url: &Url) -> Self {
        Self::new(Method::GET, url)
    }

    /// Adds a header. A value a header cannot carry fails the request when it is sent.
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    /// Sets `Accept`.
    #[must_use]
    pub fn accept(self, value: &str) -> Self {
        self.header(reqwest::header::ACCEPT, value)
    }

    /// Sets a body and its `Content-Type`.
    #[must_use]
    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self.header(reqwest::header::CONTENT_TYPE, content_type)
    }

    /// Sets a JSON body (`Content-Type: application/json`).
    #[must_use]
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.body("application/json", value.to_string().into_bytes())
    }

    /// Sets the credential, sent only to URLs on its own origin (at every redirect hop).
    #[must_use]
    pub fn credential(mut self, credential: Option<&Credential>) -> Self {
        self.credential = credential.cloned();
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.url
    }
}

impl HttpClient {
    /// A client with `config`. Redirects are followed by [`HttpClient::send`] itself, so the
    /// credential's origin is checked at every hop.
    pub fn new(config: ClientConfig) -> Result<Self, BuildError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(total) = config.request_timeout {
            builder = builder.timeout(total);
        }
        let builder = config.proxy.apply(builder)?;
        let inner = builder
            .build()
            .map_err(|e| BuildError::Client(error_chain(&e)))?;
        tracing::debug!(proxy = %config.proxy, "HTTP client ready");
        Ok(Self { inner, config })
    }

    /// The configuration in force.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Sends `request` once, following up to ten redirects. Any status comes back as a
    /// [`Response`]; only a failure to get one is an error.
    ///
    /// Redirects: 301, 302 and 303 turn anything but `GET`/`HEAD` into a body-less `GET`; 307
    /// and 308 repeat the request. The credential goes only to hops on its own origin.
    pub async fn send(&self, request: &Request) -> Result<Response, HttpError> {
        let started = Instant::now();
        let mut method = request.method.clone();
        let mut url = request.url.clone();
        let mut body = request.body.clone();
        let fail =
            |status: Option<u16>, kind| HttpError::new(&request.method, &request.url, status, kind);
        for _ in 0..=MAX_REDIRECTS {
            let mut builder = self.inner.request(method.clone(), url.clone());
            for (name, value) in &request.headers {
                let value = HeaderValue::from_str(value).map_err(|_| {
                    fail(
                        None,
                        ErrorKind::InvalidRequest(format!(
                            "the {name} header holds characters HTTP does not allow"
                        )),
                    )
                })?;
                builder = builder.header(name, value);
            }
            if let Some(credential) = request.credential.as_ref().filter(|c| c.applies_to(&url)) {
                let value = credential.header_value().ok_or_else(|| {
                    fail(
                        None,
                        ErrorKind::InvalidRequest(format!(
                            "the credential for {} holds characters an HTTP header cannot carry",
                            credential.origin()
                        )),
                    )
                })?;
                builder = builder.header(AUTHORIZATION, value);
            }
            if let Some(body) = &body {
                builder = builder.body(body.clone());
            }
            let response = builder
                .send()
                .await
                .map_err(|e| fail(None, transport_error(e, request.credential.as_ref())))?;
            let status = response.status();
            tracing::debug!(
                method = %method,
                url = %SafeUrl::new(&url),
                status = status.as_u16(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "response"
            );
            let redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let (true, Some(location)) = (redirect, location) else {
                return Ok(Response::new(
                    response,
                    request.method.clone(),
                    request.url.clone(),
                    request.credential.clone(),
                ));
            };
            let next = url
                .join(&location)
                .ok()
                .filter(|next| matches!(next.scheme(), "http" | "https"));
            let Some(next) = next else {
                return Err(fail(
                    Some(status.as_u16()),
                    ErrorKind::Redirect(format!(
                        "HTTP {} points at an unusable Location",
                        status.as_u16()
                    )),
                ));
            };
            if status != StatusCode::TEMPORARY_REDIRECT
                && status != StatusCode::PERMANENT_REDIRECT
                && method != Method::GET
                && method != Method::HEAD
            {
                method = Method::GET;
                body = None;
            }
            url = next;
        }
        Err(fail(
            None,
            ErrorKind::Redirect(format!("more than {MAX_REDIRECTS} redirects")),
        ))
    }

    /// Runs `attempt` (given the attempt number, from 1) until it succeeds, fails for good, or
    /// the retry policy is spent; returns the value and the attempts it took. Transient HTTP
    /// failures are retried after the policy's delay (or the server's `Retry-After`); a failed
    /// [`HttpError`] carries the number of attempts made.
    pub async fn retry<T, E, F, Fut>(&self, mut attempt: F) -> Result<(T, u32), Attempt<E>>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, Attempt<E>>>,
    {
        let policy = &self.config.retry;
        let mut waited = Duration::ZERO;
        let mut tries: u32 = 0;
        loop {
            tries += 1;
            let outcome = attempt(tries)
                .instrument(tracing::debug_span!("attempt", n = tries))
                .await;
            let mut error = match outcome {
                Ok(value) => return Ok((value, tries)),
                Err(Attempt::Fatal(error)) => return Err(Attempt::Fatal(error)),
                Err(Attempt::Http(error)) => error,
            };
            error.set_attempts(tries);
            if !error.is_transient() || tries > policy.retries {
                return Err(Attempt::Http(error));
            }
            let delay = policy.backoff.delay(tries, error.retry_after());
            if waited + delay > policy.backoff.max_total_wait {
                tracing::info!(%error, delay_ms = delay.as_millis() as u64, "not retrying: the wait would pass the total cap");
                return Err(Attempt::Http(error));
            }
            tracing::info!(%error, delay_ms = delay.as_millis() as u64, "retrying");
            tokio::time::sleep(delay).await;
            waited += delay;
        }
    }
}

/// Classifies a reqwest failure; the message has no URL (shown apart, safely) and no secret.
pub(crate) fn transport_error(error: reqwest::Error, credential: Option<&Credential>) -> ErrorKind {
    if error.is_timeout() {
        return ErrorKind::Timeout;
    }
    let is_body = error.is_body() || error.is_decode();
    let is_builder = error.is_builder();
    let message = error_chain(&error.without_url());
    let message = match credential {
        Some(credential) => credential.redact(&message),
        None => message,
    };
    if is_builder {
        ErrorKind::InvalidRequest(message)
    } else if is_body {
        ErrorKind::Body(message)
    } else {
        ErrorKind::Network(message)
    }
}
