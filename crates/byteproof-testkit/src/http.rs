//! The harness's one HTTP stack: a [`Server`] on `127.0.0.1` (tiny_http) that answers from a
//! closure and records every request, a blocking client ([`send`], [`get`]; ureq), and
//! [`forward`] for proxies that pass requests on to another server.
//!
//! Blocking on purpose: no async runtime inside the harness, so it works the same from plain
//! `#[test]`s, from `#[tokio::test]`s and from `cargo xtask demo`.
//!
//! Every answer carries `Connection: close`, so no client keeps a pooled connection to a server
//! a test is about to drop (a request on such a connection would hang instead of failing). The
//! client sends only the headers it is given (no automatic `User-Agent` or `Accept`), never
//! follows redirects, never uses a proxy from the environment, speaks plain `http://` only, and
//! fails on a broken connection, never on a status.
//!
//! Malformed answers (a lying `Content-Length`, a body cut short) need a socket the handler can
//! close: that is [`crate::ScriptedServer`]'s job, the one raw-socket server in the harness.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

/// How long the client waits to connect, and for a response head or body.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

/// Largest response body the client reads (tarballs and image blobs in tests are far smaller).
const MAX_BODY: u64 = 512 * 1024 * 1024;

/// Request headers [`forward`] does not pass on: hop-by-hop ones and those the client sets.
const NOT_FORWARDED: [&str; 7] = [
    "host",
    "connection",
    "keep-alive",
    "content-length",
    "transfer-encoding",
    "expect",
    "upgrade",
];

/// The value recorded instead of a credential by [`Recording::CredentialsRedacted`].
pub const REDACTED: &str = "[redacted]";

/// One request as a server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method, e.g. `GET`.
    pub method: String,
    /// The request target exactly as sent: not percent-decoded, query included.
    pub path: String,
    /// Headers in arrival order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked when sent chunked).
    pub body: Vec<u8>,
}

impl Request {
    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split_once('?').map_or(&self.path, |(p, _)| p)
    }

    /// The query parameters, percent-decoded (`+` as space), in order.
    pub fn query(&self) -> Vec<(String, String)> {
        let query = self.path.split_once('?').map_or("", |(_, q)| q);
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The first query parameter called `name`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// A copy with every credential header's value replaced by [`REDACTED`].
    fn redacted(&self) -> Self {
        let mut copy = self.clone();
        for (name, value) in &mut copy.headers {
            if is_credential_header(name) {
                *value = REDACTED.to_owned();
            }
        }
        copy
    }
}

fn is_credential_header(name: &str) -> bool {
    ["authorization", "proxy-authorization", "cookie"]
        .iter()
        .any(|c| name.eq_ignore_ascii_case(c))
}

/// What a server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A well-formed response. `Content-Length` (the body's real length; for a `HEAD`, the
    /// reply's own `Content-Length` header if it has one) and `Connection: close` are added;
    /// a `HEAD` request gets the head only.
    Response {
        /// Status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body bytes.
        body: Vec<u8>,
    },
    /// Bytes written as they are, then the connection is closed: for lying `Content-Length`,
    /// truncated bodies, garbage status lines. Only [`crate::ScriptedServer`] can send it (it
    /// owns its sockets); a [`Server`] answers it with a 500 saying so.
    Raw(Vec<u8>),
    /// Waits, then gives the inner reply: for client timeouts.
    Delay(Duration, Box<Reply>),
}

impl Reply {
    /// An empty-bodied response with this status.
    pub fn status(status: u16) -> Self {
        Self::Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A response with a body and its `Content-Type`.
    pub fn bytes(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self::Response {
            status,
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body: body.into(),
        }
    }

    /// A JSON response (`application/json`).
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::bytes(status, "application/json", value.to_string())
    }

    /// A `200 application/octet-stream` response, like a registry's tarball answer.
    pub fn tarball(bytes: impl Into<Vec<u8>>) -> Self {
        Self::bytes(200, "application/octet-stream", bytes)
    }

    /// Adds a header to a [`Reply::Response`] (to the inner reply of a [`Reply::Delay`]);
    /// [`Reply::Raw`] is left unchanged.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        match &mut self {
            Self::Response { headers, .. } => headers.push((name.to_owned(), value.to_owned())),
            Self::Delay(_, inner) => **inner = inner.as_ref().clone().with_header(name, value),
            Self::Raw(_) => {}
        }
        self
    }

    /// A response head announcing `claimed_len` body bytes followed by only `body`, then close:
    /// the "truncated body" / "lying Content-Length" case (a [`crate::ScriptedServer`] reply).
    pub fn lying_length(status: u16, claimed_len: usize, body: &[u8]) -> Self {
        let mut raw = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/octet-stream\r\nContent-Length: {claimed_len}\r\nConnection: close\r\n\r\n",
            reason(status)
        )
        .into_bytes();
        raw.extend_from_slice(body);
        Self::Raw(raw)
    }

    /// A 502 naming what went wrong upstream, for proxies whose forward failed.
    pub fn bad_gateway(err: &anyhow::Error) -> Self {
        Self::bytes(
            502,
            "text/plain; charset=utf-8",
            format!("upstream: {err:#}\n"),
        )
    }
}

impl From<Response> for Reply {
    /// The upstream answer as it came (hop-by-hop headers dropped; `Content-Length` kept, so a
    /// forwarded `HEAD` announces the upstream length).
    fn from(resp: Response) -> Self {
        let headers = resp
            .headers
            .into_iter()
            .filter(|(name, _)| {
                !["connection", "keep-alive", "transfer-encoding"]
                    .iter()
                    .any(|h| name.eq_ignore_ascii_case(h))
            })
            .collect();
        Self::Response {
            status: resp.status,
            headers,
            body: resp.body,
        }
    }
}

/// Writes `reply` to a client connection as HTTP/1.1, ending with `Connection: close`.
pub(crate) fn write_reply(out: &mut dyn std::io::Write, method: &str, reply: Reply) {
    match reply {
        Reply::Delay(pause, inner) => {
            thread::sleep(pause);
            write_reply(out, method, *inner);
        }
        Reply::Raw(bytes) => {
            let _ = out.write_all(&bytes);
        }
        Reply::Response {
            status,
            headers,
            body,
        } => {
            let head_only = method == "HEAD" || status == 204 || status == 304;
            let length = match find_header(&headers, "content-length") {
                Some(claimed) if method == "HEAD" => claimed.to_owned(),
                _ => body.len().to_string(),
            };
            let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
            for (name, value) in &headers {
                if ["content-length", "connection"]
                    .iter()
                    .any(|h| name.eq_ignore_ascii_case(h))
                {
                    continue;
                }
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            if status != 204 && status != 304 {
                head.push_str(&format!("Content-Length: {length}\r\n"));
            }
            head.push_str("Connection: close\r\n\r\n");
            let _ = out.write_all(head.as_bytes());
            if !head_only {
                let _ = out.write_all(&body);
            }
        }
    }
    let _ = out.flush();
}

/// What a [`Server`] keeps of each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Recording {
    /// Everything as sent, credentials included: for tests that check which credential a
    /// client sent where.
    #[default]
    Full,
    /// `Authorization`, `Proxy-Authorization` and `Cookie` values replaced by [`REDACTED`]:
    /// for doubles that are handed real-looking tokens.
    CredentialsRedacted,
}

/// The requests a server received, in arrival order (shared by [`Server`] and
/// [`crate::ScriptedServer`]).
#[derive(Debug, Default)]
pub(crate) struct RequestLog(Mutex<Vec<Request>>);

impl RequestLog {
    pub(crate) fn record(&self, request: Request) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub(crate) fn all(&self) -> Vec<Request> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync + 'static;

struct Shared {
    handler: Box<Handler>,
    recording: Recording,
    log: RequestLog,
    stop: AtomicBool,
}

/// An HTTP/1.1 server on `127.0.0.1` (free port) whose every answer is a closure's [`Reply`].
///
/// Each request is answered on its own thread (so a [`Reply::Delay`] stalls only its own
/// client) and recorded before the handler runs. The server stops when dropped.
pub struct Server {
    addr: SocketAddr,
    inner: Arc<tiny_http::Server>,
    shared: Arc<Shared>,
    loop_thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("requests", &self.request_count())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts a server whose every answer is `handler(&request)`, recording requests in full.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Result<Self> {
        Self::start_with(Recording::Full, handler)
    }

    /// Starts a server that records requests as `recording` says.
    pub fn start_with(
        recording: Recording,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Result<Self> {
        let inner = tiny_http::Server::http("127.0.0.1:0")
            .map_err(|err| anyhow!("starting an HTTP server on 127.0.0.1: {err}"))?;
        let addr = inner
            .server_addr()
            .to_ip()
            .context("the harness server is not on an IP address")?;
        let inner = Arc::new(inner);
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            recording,
            log: RequestLog::default(),
            stop: AtomicBool::new(false),
        });
        let (loop_inner, loop_shared) = (Arc::clone(&inner), Arc::clone(&shared));
        let loop_thread = thread::Builder::new()
            .name(format!("harness-http-{}", addr.port()))
            .spawn(move || serve(&loop_inner, &loop_shared))
            .context("spawning the server thread")?;
        Ok(Self {
            addr,
            inner,
            shared,
            loop_thread: Some(loop_thread),
        })
    }

    /// Starts a server whose handler needs to know the server's own base URL (to build absolute
    /// URLs in its answers): `handler(base, &request)`, `base` being `http://127.0.0.1:PORT/`.
    pub fn start_with_base(
        recording: Recording,
        handler: impl Fn(&str, &Request) -> Reply + Send + Sync + 'static,
    ) -> Result<Self> {
        let base: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
        let handler_base = Arc::clone(&base);
        let server = Self::start_with(recording, move |req| {
            handler(handler_base.get().map_or("", String::as_str), req)
        })?;
        let _ = base.set(server.url());
        Ok(server)
    }

    /// `http://127.0.0.1:PORT/` (with the trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many requests have been received.
    pub fn request_count(&self) -> usize {
        self.shared.log.len()
    }

    /// Every request received so far, in arrival order (credentials redacted if the server was
    /// started with [`Recording::CredentialsRedacted`]).
    pub fn requests(&self) -> Vec<Request> {
        self.shared.log.all()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.inner.unblock();
        if let Some(thread) = self.loop_thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(inner: &tiny_http::Server, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok(incoming) = inner.recv() else {
            break; // unblocked by Drop
        };
        let shared = Arc::clone(shared);
        // Detached: a request thread ends with its one answer.
        let _ = thread::Builder::new()
            .name("harness-http-request".to_owned())
            .spawn(move || answer(incoming, &shared));
    }
}

fn answer(mut incoming: tiny_http::Request, shared: &Shared) {
    let mut body = Vec::new();
    let _ = incoming.as_reader().read_to_end(&mut body);
    let request = Request {
        method: incoming.method().as_str().to_owned(),
        path: incoming.url().to_owned(),
        headers: incoming
            .headers()
            .iter()
            .map(|h| {
                (
                    h.field.as_str().as_str().to_owned(),
                    h.value.as_str().to_owned(),
                )
            })
            .collect(),
        body,
    };
    let recorded = match shared.recording {
        Recording::Full => request.clone(),
        Recording::CredentialsRedacted => request.redacted(),
    };
    shared.log.record(recorded);
    let reply = match (shared.handler)(&request) {
        Reply::Raw(_) => Reply::bytes(
            500,
            "text/plain; charset=utf-8",
            "the harness Server cannot send Reply::Raw: use ScriptedServer\n",
        ),
        reply => reply,
    };
    let mut out = incoming.into_writer();
    write_reply(&mut *out, &request.method, reply);
}

/// A response read by the harness client.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers in arrival order (names in lower case).
    pub headers: Vec<(String, String)>,
    /// The decoded body (chunked transfer-encoding removed; no content-encoding is asked for).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as UTF-8, lossily (for error messages and JSON).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .timeout_connect(Some(CLIENT_TIMEOUT))
            .timeout_recv_response(Some(CLIENT_TIMEOUT))
            .timeout_recv_body(Some(CLIENT_TIMEOUT))
            .allow_non_standard_methods(true)
            .user_agent(ureq::config::AutoHeaderValue::None)
            .accept(ureq::config::AutoHeaderValue::None)
            .accept_encoding(ureq::config::AutoHeaderValue::None)
            .build()
            .new_agent()
    })
}

/// `GET url` with no extra headers.
pub fn get(url: &str) -> Result<Response> {
    send("GET", url, &[], &[])
}

/// Sends one request to an `http://host:port/path` URL and reads the whole response.
///
/// The path is sent exactly as written (no percent-decoding or normalisation). Fails on a
/// connection error or a response cut short, never on a status.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Response> {
    if !url.starts_with("http://") {
        bail!("the harness client speaks plain http:// only, not {url}");
    }
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let sends_body = !body.is_empty() || matches!(method, "PUT" | "POST" | "PATCH");
    let result = if sends_body {
        agent().run(builder.body(body.to_vec())?)
    } else {
        agent().run(builder.body(())?)
    };
    let mut resp = result.with_context(|| format!("{method} {url}"))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = if method == "HEAD" {
        Vec::new()
    } else {
        resp.body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .with_context(|| format!("reading the body of {method} {url} ({status})"))?
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Sends `req` on to `upstream` (`http://host:port`, no trailing slash) with the same method,
/// target, headers (hop-by-hop ones and `Host` excepted) and body: the core of a proxy.
pub fn forward(upstream: &str, req: &Request) -> Result<Response> {
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .filter(|(name, _)| !NOT_FORWARDED.iter().any(|h| name.eq_ignore_ascii_case(h)))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    send(
        &req.method,
        &format!("{}{}", upstream.trim_end_matches('/'), req.path),
        &headers,
        &req.body,
    )
}

/// The first header with this name, compared case-insensitively.
pub(crate) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The reason phrase for a status code.
pub(crate) fn reason(status: u16) -> &'static str {
    ureq::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Status")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_answers_records_and_stops_on_drop() {
        let server = Server::start(|req| {
            Reply::json(201, &serde_json::json!({"got": req.body.len()}))
                .with_header("X-Seen", req.path_only())
        })
        .unwrap();
        let url = format!("{}a/%40s%2Fn?write=true&q=a+b", server.url());
        let resp = send("PUT", &url, &[("Authorization", "Bearer t")], b"{}").unwrap();
        assert_eq!(resp.status, 201);
        assert_eq!(resp.text(), "{\"got\":2}");
        assert_eq!(resp.header("x-seen"), Some("/a/%40s%2Fn"));
        assert_eq!(resp.header("connection"), Some("close"));
        let req = &server.requests()[0];
        assert_eq!(
            (req.method.as_str(), req.path.as_str()),
            ("PUT", "/a/%40s%2Fn?write=true&q=a+b")
        );
        assert_eq!(req.query_param("q").as_deref(), Some("a b"));
        assert_eq!(req.header("authorization"), Some("Bearer t"));
        assert_eq!(req.body, b"{}");
        let head = send("HEAD", &url, &[], &[]).unwrap();
        assert_eq!((head.status, head.body.len()), (201, 0));
        assert_eq!(head.header("content-length"), Some("9"));
        assert_eq!(server.request_count(), 2);

        let gone = server.url();
        drop(server);
        assert!(get(&gone).is_err(), "still answering after drop");
    }

    #[test]
    fn redacting_servers_never_keep_credentials() {
        let server =
            Server::start_with(Recording::CredentialsRedacted, |_| Reply::status(204)).unwrap();
        let resp = send(
            "DELETE",
            &server.url(),
            &[("Authorization", "token sekrit"), ("Cookie", "a=b")],
            &[],
        )
        .unwrap();
        assert_eq!(resp.status, 204);
        let req = &server.requests()[0];
        assert_eq!(req.header("authorization"), Some(REDACTED));
        assert_eq!(req.header("cookie"), Some(REDACTED));
        assert!(!format!("{:?}", server.requests()).contains("sekrit"));
    }

    #[test]
    fn raw_replies_are_refused_by_the_tiny_http_server() {
        let server = Server::start(|_| Reply::Raw(b"garbage".to_vec())).unwrap();
        let resp = get(&server.url()).unwrap();
        assert_eq!(resp.status, 500);
        assert!(resp.text().contains("ScriptedServer"));
    }

    #[test]
    fn forward_passes_the_request_on_and_keeps_the_upstream_answer() {
        let upstream = Server::start(|req| {
            Reply::bytes(200, "text/plain", format!("{} {}", req.method, req.path))
                .with_header("Docker-Content-Digest", "sha256:x")
        })
        .unwrap();
        let up = upstream.url();
        let proxy = Server::start(move |req| match forward(&up, req) {
            Ok(resp) => Reply::from(resp),
            Err(err) => Reply::bad_gateway(&err),
        })
        .unwrap();
        let resp = send(
            "GET",
            &format!("{}v2/x?n=1", proxy.url()),
            &[("Accept", "a/b")],
            &[],
        )
        .unwrap();
        assert_eq!((resp.status, resp.text().as_str()), (200, "GET /v2/x?n=1"));
        assert_eq!(resp.header("docker-content-digest"), Some("sha256:x"));
        assert_eq!(upstream.requests()[0].header("accept"), Some("a/b"));
        let head = send("HEAD", &format!("{}v2/x", proxy.url()), &[], &[]).unwrap();
        assert_eq!(head.header("content-length"), Some("10"));
        drop(upstream);
        let resp = get(&proxy.url()).unwrap();
        assert_eq!(resp.status, 502);
    }

    #[test]
    fn each_request_is_answered_on_its_own_thread() {
        // The slow request waits for the fast one: served one after the other, it would give
        // up after ten seconds and answer 500.
        let fast_done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&fast_done);
        let server = Server::start(move |req| {
            if req.path == "/slow" {
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                while !flag.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                    thread::sleep(Duration::from_millis(10));
                }
                Reply::status(if flag.load(Ordering::SeqCst) {
                    200
                } else {
                    500
                })
            } else {
                flag.store(true, Ordering::SeqCst);
                Reply::status(200)
            }
        })
        .unwrap();
        let slow_url = format!("{}slow", server.url());
        let slow = thread::spawn(move || get(&slow_url).unwrap().status);
        while server.request_count() == 0 {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(get(&server.url()).unwrap().status, 200);
        assert!(fast_done.load(Ordering::SeqCst));
        assert_eq!(slow.join().unwrap(), 200);
    }

    #[test]
    fn the_client_speaks_plain_http_only_and_never_follows_redirects() {
        assert!(get("https://127.0.0.1:1/").is_err());
        let server =
            Server::start(|_| Reply::status(303).with_header("Location", "/elsewhere")).unwrap();
        let resp = get(&server.url()).unwrap();
        assert_eq!(resp.status, 303);
        assert_eq!(server.request_count(), 1);
    }
}
