//! [`ForgeClient`]: one forge API (its kind, base URL and credential) over `byteproof-http`,
//! and the exchange every operation goes through: the forge's headers, the credential bound to
//! the API's origin, the one retry loop (with GitHub's rate limits told apart, `forge-routing-api.md`
//! §6.1), bodies read under a cap, statuses turned into [`ForgeError`]s, and lists read page by
//! page to the end.
//!
//! Headers: GitHub gets `Accept: application/vnd.github+json`, `X-GitHub-Api-Version:
//! 2022-11-28` and the credential as `Bearer` (§4.4); Gitea gets `Accept: application/json`
//! and `Authorization: token …` (§2.3). The `User-Agent` GitHub requires comes from the
//! [`ClientConfig`].

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use byteproof_http::{
    Attempt, ClientConfig, Credential, ErrorKind, HttpClient, HttpError, Method, Request, Response,
    header, parse_http_date,
};
use byteproof_redact::{SafeUrl, Secret};
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use url::Url;

use crate::{Endpoint, ForgeError, GiteaFeature, Operation, ServerVersion};

/// The API base of github.com.
pub const GITHUB_API_URL: &str = "https://api.github.com";

/// The largest success body read (a page of 100 runners is about 60 KB).
const MAX_BODY: u64 = 4 << 20;

/// Pages read before a list is refused as too long.
const MAX_PAGES: usize = 100;

/// Which forge an API belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Forge {
    /// Gitea (`https://host/api/v1`).
    Gitea,
    /// GitHub (`https://api.github.com`, or GitHub Enterprise Server's `https://host/api/v3`).
    Github,
}

impl fmt::Display for Forge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Forge::Gitea => "Gitea",
            Forge::Github => "GitHub",
        })
    }
}

impl FromStr for Forge {
    type Err = ForgeError;

    /// `gitea` or `github`, in any case.
    fn from_str(text: &str) -> Result<Self, ForgeError> {
        if text.eq_ignore_ascii_case("gitea") {
            Ok(Forge::Gitea)
        } else if text.eq_ignore_ascii_case("github") {
            Ok(Forge::Github)
        } else {
            Err(ForgeError::invalid(
                format!("forge {text:?}"),
                "the forges are gitea and github",
            ))
        }
    }
}

/// How to reach a forge: its kind, the API base URL, the token, the HTTP settings.
#[derive(Clone, Debug)]
pub struct ForgeConfig {
    forge: Forge,
    api_url: Url,
    token: Option<Secret>,
    http: ClientConfig,
}

impl ForgeConfig {
    /// The API at `api_url`: Gitea's `https://host/api/v1`, [`GITHUB_API_URL`], or GitHub
    /// Enterprise Server's `https://host/api/v3`. No token; HTTP settings (proxy from the
    /// environment, timeouts, retries) from [`ClientConfig::default`].
    pub fn new(forge: Forge, api_url: &str) -> Result<Self, ForgeError> {
        let what = || format!("{forge} API URL");
        let url =
            Url::parse(api_url.trim()).map_err(|e| ForgeError::invalid(what(), e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ForgeError::invalid(
                what(),
                "only http:// and https:// are supported",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ForgeError::invalid(
                what(),
                "credentials in the URL are not used; give a token instead",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ForgeError::invalid(
                what(),
                "an API base has no query or fragment",
            ));
        }
        Ok(Self {
            forge,
            api_url: url,
            token: None,
            http: ClientConfig::default(),
        })
    }

    /// Gitea's API of the instance at `instance_url` (its ROOT_URL, sub-path included):
    /// `https://host/gitea/` becomes `https://host/gitea/api/v1`. A URL that already ends in
    /// `/api/v1` is taken as it is.
    pub fn gitea_instance(instance_url: &str) -> Result<Self, ForgeError> {
        let trimmed = instance_url.trim().trim_end_matches('/');
        if trimmed.ends_with("/api/v1") {
            Self::new(Forge::Gitea, trimmed)
        } else {
            Self::new(Forge::Gitea, &format!("{trimmed}/api/v1"))
        }
    }

    /// Sends `token` with every call (Gitea: `token …`, GitHub: `Bearer …`), only to the API's
    /// own origin.
    #[must_use]
    pub fn token(mut self, token: Secret) -> Self {
        self.token = Some(token);
        self
    }

    /// Uses these HTTP settings instead of the defaults.
    #[must_use]
    pub fn http(mut self, config: ClientConfig) -> Self {
        self.http = config;
        self
    }
}

/// A client of one forge's REST API. Cheap to clone; clones share the connection pool and the
/// Gitea version learned by the first call that needs it.
#[derive(Clone, Debug)]
pub struct ForgeClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    forge: Forge,
    api_url: Url,
    credential: Option<Credential>,
    http: HttpClient,
    version: OnceLock<ServerVersion>,
}

/// One call being prepared: what it is for, and the request.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    operation: Operation,
    target: String,
    method: Method,
    url: Url,
    body: Option<serde_json::Value>,
    credential: Option<Credential>,
}

impl Call {
    /// Adds a query parameter.
    pub(crate) fn query(mut self, name: &str, value: &str) -> Self {
        self.url.query_pairs_mut().append_pair(name, value);
        self
    }

    /// Sets a JSON body.
    pub(crate) fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Sends `credential` instead of the client's own (a GitHub App JWT).
    pub(crate) fn credential(mut self, credential: Credential) -> Self {
        self.credential = Some(credential);
        self
    }

    /// The call, for errors: the URL without its query.
    pub(crate) fn endpoint(&self) -> Endpoint {
        let mut shown = self.url.clone();
        shown.set_query(None);
        Endpoint::new(
            self.operation,
            self.target.clone(),
            self.method.clone(),
            SafeUrl::new(&shown),
        )
    }
}

/// A success: its body, and the headers operations use.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) body: Vec<u8>,
    /// Gitea's `X-Total-Count`.
    pub(crate) total_count: Option<u64>,
    /// The server's `Date`.
    pub(crate) date: Option<Timestamp>,
}

/// Where a list page keeps its items.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Items {
    /// The body is the array (Gitea's variables; the total is `X-Total-Count`).
    Array,
    /// The body is `{"total_count": n, "<key>": [...]}`.
    Field(&'static str),
}

/// GitHub's primary rate limit, seen inside the retry loop: reported, never retried.
#[derive(Debug)]
struct PrimaryLimit {
    error: HttpError,
    reset: Option<Timestamp>,
    attempts: u32,
}

impl ForgeClient {
    /// A client for `config`. Fails only when the HTTP client cannot be built (an unusable
    /// proxy variable).
    pub fn new(config: ForgeConfig) -> Result<Self, ForgeError> {
        let ForgeConfig {
            forge,
            api_url,
            token,
            http,
        } = config;
        let credential = token.map(|token| match forge {
            Forge::Gitea => Credential::authorization(
                &api_url,
                Secret::new(format!("token {}", token.expose())),
            ),
            Forge::Github => Credential::bearer(&api_url, &token),
        });
        Ok(Self {
            inner: Arc::new(Inner {
                forge,
                api_url,
                credential,
                http: HttpClient::new(http)?,
                version: OnceLock::new(),
            }),
        })
    }

    /// The forge kind.
    pub fn forge(&self) -> Forge {
        self.inner.forge
    }

    /// The API base URL.
    pub fn api_url(&self) -> &Url {
        &self.inner.api_url
    }

    /// A call of `operation` on `target`: `method` on the API base plus `segments`, each
    /// percent-encoded as one path segment.
    pub(crate) fn call(
        &self,
        operation: Operation,
        target: impl Into<String>,
        method: Method,
        segments: &[&str],
    ) -> Call {
        let mut url = self.inner.api_url.clone();
        url.path_segments_mut()
            .expect("an http(s) URL has path segments")
            .pop_if_empty()
            .extend(segments);
        Call {
            operation,
            target: target.into(),
            method,
            url,
            body: None,
            credential: self.inner.credential.clone(),
        }
    }

    /// Sends `call` through the retry loop and reads a success under the cap; any other
    /// answer is a [`ForgeError`].
    pub(crate) async fn send(&self, call: &Call) -> Result<Answer, ForgeError> {
        let request = self.request(call);
        let forge = self.inner.forge;
        let http = &self.inner.http;
        let outcome = http
            .retry(|attempt| {
                let request = &request;
                async move {
                    let response = http.send(request).await?;
                    if response.status().is_success() {
                        return Ok(read_success(response).await?);
                    }
                    Err(judge_refusal(forge, response, attempt).await)
                }
            })
            .await;
        match outcome {
            Ok((answer, _attempts)) => Ok(answer),
            Err(Attempt::Fatal(limit)) => Err(ForgeError::RateLimited {
                endpoint: call.endpoint(),
                status: limit.error.status().unwrap_or_default(),
                message: status_detail(&limit.error),
                reset: limit.reset,
                retry_after: None,
                attempts: limit.attempts,
            }),
            Err(Attempt::Http(error)) => Err(classify(call.endpoint(), error)),
        }
    }

    /// Sends `call` and parses the success body as `T`.
    pub(crate) async fn fetch<T: DeserializeOwned>(&self, call: &Call) -> Result<T, ForgeError> {
        let answer = self.send(call).await?;
        parse(call, &answer.body)
    }

    /// Reads every page of a list: `page` 1, 2, … with `page_size` items asked for (Gitea's
    /// `limit`, GitHub's `per_page`), until the total the forge reports is reached or a page
    /// comes back empty. More than [`MAX_PAGES`] pages is an error, never a partial list.
    pub(crate) async fn all_pages<T: DeserializeOwned>(
        &self,
        call: &Call,
        items: Items,
        page_size: usize,
    ) -> Result<Vec<T>, ForgeError> {
        let size_name = match self.inner.forge {
            Forge::Gitea => "limit",
            Forge::Github => "per_page",
        };
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let paged = call
                .clone()
                .query(size_name, &page_size.to_string())
                .query("page", &page.to_string());
            let answer = self.send(&paged).await?;
            let (batch, total): (Vec<T>, Option<u64>) = match items {
                Items::Array => (parse(call, &answer.body)?, answer.total_count),
                Items::Field(key) => {
                    let mut object: serde_json::Map<String, serde_json::Value> =
                        parse(call, &answer.body)?;
                    let total = object
                        .get("total_count")
                        .and_then(serde_json::Value::as_u64);
                    let batch = object.remove(key).ok_or_else(|| ForgeError::Malformed {
                        endpoint: call.endpoint(),
                        detail: format!("no {key:?} array"),
                    })?;
                    let batch = serde_json::from_value(batch).map_err(|e| malformed(call, &e))?;
                    (batch, total)
                }
            };
            let empty = batch.is_empty();
            all.extend(batch);
            if empty || total.is_some_and(|total| all.len() as u64 >= total) {
                return Ok(all);
            }
        }
        Err(ForgeError::TooManyItems {
            endpoint: call.endpoint(),
            limit: all.len(),
        })
    }

    /// Gitea's version, asked once (`GET /api/v1/version`) and kept for the client's life.
    pub(crate) async fn cached_version(&self) -> Result<ServerVersion, ForgeError> {
        match self.inner.version.get() {
            Some(version) => Ok(version.clone()),
            None => Ok(self.probe().await?.version),
        }
    }

    /// Remembers a version read by [`ForgeClient::probe`].
    pub(crate) fn learn_version(&self, version: &ServerVersion) {
        if self.inner.version.set(version.clone()).is_ok() {
            tracing::debug!(forge = %self.inner.forge, %version, "server version learned");
        }
    }

    /// `Ok` on GitHub, and on a Gitea release with `feature`; else [`ForgeError::Unsupported`]
    /// with `hint` (how to do without the API).
    pub(crate) async fn require(
        &self,
        operation: Operation,
        feature: GiteaFeature,
        hint: impl FnOnce() -> Option<String>,
    ) -> Result<(), ForgeError> {
        if self.inner.forge == Forge::Github {
            return Ok(());
        }
        let server = self.cached_version().await?;
        if server.has(feature) {
            Ok(())
        } else {
            Err(ForgeError::Unsupported {
                operation,
                feature,
                server,
                hint: hint(),
            })
        }
    }

    /// `Ok` on `forge`; on the other one [`ForgeError::NotOnForge`] with `reason`.
    pub(crate) fn only_on(
        &self,
        forge: Forge,
        operation: Operation,
        reason: &str,
    ) -> Result<(), ForgeError> {
        if self.inner.forge == forge {
            Ok(())
        } else {
            Err(ForgeError::NotOnForge {
                operation,
                forge: self.inner.forge,
                reason: reason.to_owned(),
            })
        }
    }

    fn request(&self, call: &Call) -> Request {
        let request =
            Request::new(call.method.clone(), &call.url).credential(call.credential.as_ref());
        let request = match self.inner.forge {
            Forge::Gitea => request.accept("application/json"),
            Forge::Github => request.accept("application/vnd.github+json").header(
                header::HeaderName::from_static("x-github-api-version"),
                "2022-11-28",
            ),
        };
        match &call.body {
            Some(body) => request.json(body),
            None => request,
        }
    }
}

async fn read_success(response: Response) -> Result<Answer, HttpError> {
    let total_count = response
        .header("x-total-count")
        .and_then(|v| v.trim().parse().ok());
    let date = response
        .header(header::DATE.as_str())
        .and_then(parse_http_date);
    let body = response.bytes(MAX_BODY).await?;
    Ok(Answer {
        body,
        total_count,
        date,
    })
}

/// Reads a refusal. GitHub's primary rate limit (403 or 429 with `x-ratelimit-remaining: 0`)
/// is reported at once; its secondary limit's 403 with `Retry-After` is retried like a 429.
async fn judge_refusal(forge: Forge, response: Response, attempt: u32) -> Attempt<PrimaryLimit> {
    let status = response.status().as_u16();
    let limited = forge == Forge::Github && matches!(status, 403 | 429);
    let exhausted = limited && response.header("x-ratelimit-remaining").map(str::trim) == Some("0");
    let reset = response
        .header("x-ratelimit-reset")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .and_then(|secs| Timestamp::from_second(secs).ok());
    let error = response.into_status_error().await;
    if exhausted {
        Attempt::Fatal(PrimaryLimit {
            error,
            reset,
            attempts: attempt,
        })
    } else if limited && error.retry_after().is_some() {
        Attempt::Http(error.into_throttled())
    } else {
        Attempt::Http(error)
    }
}

/// The forge's message in a status error (empty for other kinds).
fn status_detail(error: &HttpError) -> String {
    match error.kind() {
        ErrorKind::Status { detail, .. } => detail.clone(),
        _ => String::new(),
    }
}

/// An [`HttpError`] as the [`ForgeError`] a user can act on.
fn classify(endpoint: Endpoint, error: HttpError) -> ForgeError {
    let (status, message) = match (error.kind(), error.status()) {
        (ErrorKind::Status { detail, .. }, Some(status)) => (status, detail.clone()),
        _ => {
            return ForgeError::Http {
                endpoint,
                source: error,
            };
        }
    };
    let rate_limited = status == 429
        || (status == 403 && (error.retry_after().is_some() || mentions_rate_limit(&message)));
    if rate_limited {
        return ForgeError::RateLimited {
            endpoint,
            status,
            message,
            reset: None,
            retry_after: error.retry_after(),
            attempts: error.attempts(),
        };
    }
    match status {
        401 => ForgeError::Unauthorized { endpoint, message },
        403 => ForgeError::Forbidden { endpoint, message },
        404 => ForgeError::NotFound { endpoint, message },
        409 => ForgeError::Conflict { endpoint, message },
        400 | 422 => ForgeError::Rejected {
            endpoint,
            status,
            message,
        },
        500..=599 => ForgeError::Server {
            endpoint,
            status,
            message,
            attempts: error.attempts(),
        },
        _ => ForgeError::UnexpectedStatus {
            endpoint,
            status,
            message,
        },
    }
}

fn mentions_rate_limit(message: &str) -> bool {
    message.to_ascii_lowercase().contains("rate limit")
}

/// `body` as `T`, or [`ForgeError::Malformed`].
pub(crate) fn parse<T: DeserializeOwned>(call: &Call, body: &[u8]) -> Result<T, ForgeError> {
    serde_json::from_slice(body).map_err(|e| malformed(call, &e))
}

fn malformed(call: &Call, error: &serde_json::Error) -> ForgeError {
    ForgeError::Malformed {
        endpoint: call.endpoint(),
        detail: error.to_string(),
    }
}

/// An RFC 3339 time from a forge (`expires_at`), or [`ForgeError::Malformed`].
pub(crate) fn timestamp(call: &Call, field: &str, text: &str) -> Result<Timestamp, ForgeError> {
    text.parse().map_err(|_| ForgeError::Malformed {
        endpoint: call.endpoint(),
        detail: format!("{field} is not an RFC 3339 time"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> Call {
        let config = ForgeConfig::new(Forge::Github, GITHUB_API_URL)
            .unwrap()
            .http(ClientConfig {
                proxy: byteproof_http::ProxyConfig::none(),
                ..ClientConfig::default()
            });
        ForgeClient::new(config).unwrap().call(
            Operation::RegistrationToken,
            "repo/o/r",
            Method::POST,
            &[
                "repos",
                "o",
                "r",
                "actions",
                "runners",
                "registration-token",
            ],
        )
    }

    #[test]
    fn forge_times_parse_in_the_forms_the_docs_show() {
        // GitHub's registration-token example has an offset; installation tokens end in Z.
        for (text, utc) in [
            ("2020-01-22T12:13:35.123-08:00", "2020-01-22T20:13:35.123Z"),
            ("2016-07-11T22:14:10Z", "2016-07-11T22:14:10Z"),
        ] {
            assert_eq!(
                timestamp(&call(), "expires_at", text).unwrap().to_string(),
                utc
            );
        }
        let err = timestamp(&call(), "expires_at", "tomorrow").unwrap_err();
        assert!(
            err.to_string().ends_with(
                "(POST https://api.github.com/repos/o/r/actions/runners/registration-token): \
                 the answer is not what the forge documents: expires_at is not an RFC 3339 time"
            ),
            "{err}"
        );
    }

    #[test]
    fn path_segments_are_encoded_one_by_one() {
        let config = ForgeConfig::new(Forge::Gitea, "https://git.example/sub/api/v1/")
            .unwrap()
            .http(ClientConfig {
                proxy: byteproof_http::ProxyConfig::none(),
                ..ClientConfig::default()
            });
        let client = ForgeClient::new(config).unwrap();
        let call = client
            .call(
                Operation::CollaboratorPermission,
                "",
                Method::GET,
                &["repos", "o", "r", "collaborators", "a/b c?#", "permission"],
            )
            .query("page", "2");
        assert_eq!(
            call.url.as_str(),
            "https://git.example/sub/api/v1/repos/o/r/collaborators/a%2Fb%20c%3F%23/permission?page=2"
        );
        assert_eq!(
            call.endpoint().to_string(),
            "collaborator permission look-up (GET https://git.example/sub/api/v1/repos/o/r/collaborators/a%2Fb%20c%3F%23/permission)"
        );
    }
}
