//! [`ScriptedServer`]: a raw HTTP/1.1 server on a loopback port whose every answer comes from a
//! closure, including hostile ones (a lying `Content-Length`, a body cut short, a stall).
//!
//! It records every request, so a test can assert what the client sent (for example which
//! requests carried an `Authorization` header). [`FakeRegistry`] builds an npm-registry-shaped
//! server on top of it: a packument and tarballs, with claims and tarball URLs of your choosing.

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::http::{find_header, read_body, read_head, reason};

/// One request as the server received it.
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
}

/// What a [`ScriptedServer`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A well-formed response. `Content-Length` (the body's real length) and
    /// `Connection: close` are added; a `HEAD` request gets the head only.
    Response {
        /// Status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body bytes.
        body: Vec<u8>,
    },
    /// Bytes written as they are, then the connection is closed: for lying `Content-Length`,
    /// truncated bodies, garbage status lines.
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
    /// the "truncated body" / "lying Content-Length" case.
    pub fn lying_length(status: u16, claimed_len: usize, body: &[u8]) -> Self {
        let mut raw = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/octet-stream\r\nContent-Length: {claimed_len}\r\nConnection: close\r\n\r\n",
            reason(status)
        )
        .into_bytes();
        raw.extend_from_slice(body);
        Self::Raw(raw)
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync + 'static;

struct Shared {
    handler: Box<Handler>,
    requests: Mutex<Vec<Request>>,
    count: AtomicUsize,
    stop: AtomicBool,
}

/// A raw HTTP/1.1 server on `127.0.0.1` (free port, background thread) answering with a closure.
///
/// Each connection gets its own thread and exactly one request/response (`Connection: close`).
/// Requests are recorded before the handler runs. The server stops when dropped.
pub struct ScriptedServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ScriptedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedServer")
            .field("addr", &self.addr)
            .field("requests", &self.request_count())
            .finish_non_exhaustive()
    }
}

impl ScriptedServer {
    /// Starts a server whose every answer is `handler(&request)`.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            requests: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("scripted-{}", addr.port()))
            .spawn(move || accept_loop(&listener, &accept_shared))
            .context("spawning the accept thread")?;
        Ok(Self {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        })
    }

    /// Answers every request with an empty-bodied `status`.
    pub fn always(status: u16) -> Result<Self> {
        Self::start(move |_| Reply::status(status))
    }

    /// Answers the first `fail_times` requests with an empty-bodied `status`, then `then` forever.
    pub fn flaky(fail_times: usize, status: u16, then: Reply) -> Result<Self> {
        let seen = AtomicUsize::new(0);
        Self::start(move |_| {
            if seen.fetch_add(1, Ordering::SeqCst) < fail_times {
                Reply::status(status)
            } else {
                then.clone()
            }
        })
    }

    /// `http://127.0.0.1:PORT/` (with the trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// How many requests have been received.
    pub fn request_count(&self) -> usize {
        self.shared.count.load(Ordering::SeqCst)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the thread sees the flag.
        drop(TcpStream::connect_timeout(
            &self.addr,
            Duration::from_secs(1),
        ));
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(shared);
        // Detached: a connection thread ends with its one exchange (or its read timeout).
        let _ = thread::Builder::new()
            .name("scripted-conn".to_owned())
            .spawn(move || serve_one(stream, &shared));
    }
}

fn serve_one(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let Ok((start_line, headers)) = read_head(&mut reader) else {
        return; // e.g. the wake-up connection from Drop
    };
    let mut parts = start_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let body = read_body(&mut reader, &headers, false).unwrap_or_default();
    let request = Request {
        method,
        path,
        headers,
        body,
    };
    shared
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(request.clone());
    shared.count.fetch_add(1, Ordering::SeqCst);
    let reply = (shared.handler)(&request);
    let mut stream = stream;
    write_reply(&mut stream, &request, reply);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

fn write_reply(stream: &mut TcpStream, request: &Request, reply: Reply) {
    match reply {
        Reply::Delay(pause, inner) => {
            thread::sleep(pause);
            write_reply(stream, request, *inner);
        }
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes);
        }
        Reply::Response {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
            for (name, value) in &headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ));
            let _ = stream.write_all(head.as_bytes());
            if request.method != "HEAD" {
                let _ = stream.write_all(&body);
            }
        }
    }
}

/// One version served by a [`FakeRegistry`].
#[derive(Debug, Clone)]
struct FakeVersion {
    tarball: Vec<u8>,
    tarball_url: Option<String>,
    shasum: Option<String>,
    integrity: Option<String>,
}

/// An npm-registry-shaped [`ScriptedServer`]: one package's packument and its tarballs.
///
/// The packument is served at `/@scope%2fname`, `/%40scope%2Fname` and `/@scope/name` (any
/// case of `%2f`); each version's tarball at `/@scope/name/-/name-<version>.tgz`. By default
/// `dist.tarball` points at this server and `dist.shasum` / `dist.integrity` are the true
/// digests; [`FakeRegistry::tarball_url`], [`FakeRegistry::claim_shasum`] and
/// [`FakeRegistry::claim_integrity`] change that. Anything else answers 404
/// `{"error":"not found"}`, or 401 without the token set by [`FakeRegistry::require_token`].
#[derive(Debug, Clone)]
pub struct FakeRegistry {
    name: String,
    versions: BTreeMap<String, FakeVersion>,
    token: Option<String>,
}

/// A running [`FakeRegistry`].
#[derive(Debug)]
pub struct RunningFakeRegistry {
    server: ScriptedServer,
    name: String,
}

impl FakeRegistry {
    /// A registry for the package `name` (scoped or not), with no versions yet.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            versions: BTreeMap::new(),
            token: None,
        }
    }

    /// Adds a version served with these tarball bytes.
    #[must_use]
    pub fn version(mut self, version: &str, tarball: impl Into<Vec<u8>>) -> Self {
        self.versions.insert(
            version.to_owned(),
            FakeVersion {
                tarball: tarball.into(),
                tarball_url: None,
                shasum: None,
                integrity: None,
            },
        );
        self
    }

    /// Makes `dist.tarball` of `version` this absolute URL (e.g. another server, to check that
    /// credentials are not sent cross-host). Panics if `version` was not added.
    #[must_use]
    pub fn tarball_url(mut self, version: &str, url: &str) -> Self {
        self.entry(version).tarball_url = Some(url.to_owned());
        self
    }

    /// Makes `dist.shasum` of `version` claim this value (a lie, when it is not the real SHA-1).
    #[must_use]
    pub fn claim_shasum(mut self, version: &str, shasum: &str) -> Self {
        self.entry(version).shasum = Some(shasum.to_owned());
        self
    }

    /// Makes `dist.integrity` of `version` claim this SRI string.
    #[must_use]
    pub fn claim_integrity(mut self, version: &str, integrity: &str) -> Self {
        self.entry(version).integrity = Some(integrity.to_owned());
        self
    }

    /// Answers 401 to any request without `Authorization: Bearer <token>`.
    #[must_use]
    pub fn require_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    fn entry(&mut self, version: &str) -> &mut FakeVersion {
        self.versions
            .get_mut(version)
            .unwrap_or_else(|| panic!("FakeRegistry: add version {version} before configuring it"))
    }

    /// Starts serving.
    pub fn start(self) -> Result<RunningFakeRegistry> {
        let base: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
        let handler_base = Arc::clone(&base);
        let name = self.name.clone();
        let server = ScriptedServer::start(move |req| {
            let base = handler_base.get().map_or("", String::as_str);
            self.answer(base, req)
        })?;
        let _ = base.set(server.url());
        Ok(RunningFakeRegistry { server, name })
    }

    fn answer(&self, base: &str, req: &Request) -> Reply {
        if let Some(token) = &self.token {
            let expected = format!("Bearer {token}");
            if req.header("authorization") != Some(expected.as_str()) {
                return Reply::json(401, &serde_json::json!({"error": "unauthorized"}))
                    .with_header("WWW-Authenticate", "Bearer");
            }
        }
        let path = req.path.split('?').next().unwrap_or_default();
        let decoded = percent_decode(path);
        if req.method == "GET" && decoded == format!("/{}", self.name) {
            return Reply::json(200, &self.packument(base));
        }
        for (version, v) in &self.versions {
            if (req.method == "GET" || req.method == "HEAD")
                && path == tarball_path(&self.name, version)
            {
                return Reply::tarball(v.tarball.clone());
            }
        }
        Reply::json(404, &serde_json::json!({"error": "not found"}))
    }

    fn packument(&self, base: &str) -> serde_json::Value {
        let mut versions = serde_json::Map::new();
        for (version, v) in &self.versions {
            let digests = byteproof_hash::hash_bytes(&v.tarball);
            let tarball = v.tarball_url.clone().unwrap_or_else(|| {
                format!(
                    "{}{}",
                    base.trim_end_matches('/'),
                    tarball_path(&self.name, version)
                )
            });
            versions.insert(
                version.clone(),
                serde_json::json!({
                    "_id": format!("{}@{version}", self.name),
                    "name": self.name,
                    "version": version,
                    "dist": {
                        "shasum": v.shasum.clone().unwrap_or_else(|| digests.sha1_hex()),
                        "integrity": v.integrity.clone().unwrap_or_else(|| digests.integrity()),
                        "tarball": tarball,
                    },
                }),
            );
        }
        let latest = self.versions.keys().last().cloned().unwrap_or_default();
        serde_json::json!({
            "_id": self.name,
            "name": self.name,
            "dist-tags": {"latest": latest},
            "versions": versions,
        })
    }
}

impl RunningFakeRegistry {
    /// The registry URL, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The URL this registry serves `version`'s tarball at (whatever the packument claims).
    pub fn own_tarball_url(&self, version: &str) -> String {
        format!(
            "{}{}",
            self.url().trim_end_matches('/'),
            tarball_path(&self.name, version)
        )
    }

    /// The underlying server: its recorded requests and request count.
    pub fn server(&self) -> &ScriptedServer {
        &self.server
    }
}

/// `/@scope/name/-/name-<version>.tgz` (Verdaccio's and npmjs's tarball path).
pub(crate) fn tarball_path(name: &str, version: &str) -> String {
    format!("/{name}/-/{}-{version}.tgz", unscoped(name))
}

/// `name` without its `@scope/` prefix.
pub(crate) fn unscoped(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Percent-decodes a path (any case of hex digits); invalid escapes are kept as they are.
pub(crate) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{get, send};

    #[test]
    fn flaky_server_fails_then_succeeds_and_records_requests() {
        let server = ScriptedServer::flaky(2, 503, Reply::tarball(&b"ok"[..])).unwrap();
        let url = format!("{}pkg/-/pkg-1.0.0.tgz", server.url());
        assert_eq!(get(&url).unwrap().status, 503);
        assert_eq!(get(&url).unwrap().status, 503);
        let third = send("GET", &url, &[("Authorization", "Bearer t")], &[]).unwrap();
        assert_eq!((third.status, third.body.as_slice()), (200, &b"ok"[..]));
        assert_eq!(server.request_count(), 3);
        let requests = server.requests();
        assert_eq!(requests[0].path, "/pkg/-/pkg-1.0.0.tgz");
        assert_eq!(requests[0].header("authorization"), None);
        assert_eq!(requests[2].header("Authorization"), Some("Bearer t"));
    }

    #[test]
    fn always_answers_the_same_status() {
        let server = ScriptedServer::always(404).unwrap();
        assert_eq!(get(&server.url()).unwrap().status, 404);
        assert_eq!(get(&format!("{}x", server.url())).unwrap().status, 404);
        assert_eq!(server.request_count(), 2);
    }

    #[test]
    fn lying_content_length_is_a_client_error() {
        let server =
            ScriptedServer::start(|_| Reply::lying_length(200, 100, b"only ten b")).unwrap();
        let err = get(&server.url()).unwrap_err();
        assert!(format!("{err:#}").contains("Content-Length"), "{err:#}");
    }

    #[test]
    fn request_bodies_and_raw_paths_are_recorded() {
        let server =
            ScriptedServer::start(|req| Reply::bytes(201, "text/plain", req.body.clone())).unwrap();
        let url = format!("{}%40s%2Fn?write=true", server.url());
        let resp = send("PUT", &url, &[("Content-Type", "application/json")], b"{}").unwrap();
        assert_eq!((resp.status, resp.body.as_slice()), (201, &b"{}"[..]));
        let req = &server.requests()[0];
        assert_eq!(
            (req.method.as_str(), req.path.as_str()),
            ("PUT", "/%40s%2Fn?write=true")
        );
        assert_eq!(req.body, b"{}");
    }

    #[test]
    fn fake_registry_serves_claims_and_tarballs() {
        let elsewhere = ScriptedServer::always(200).unwrap();
        let elsewhere_url = format!("{}t.tgz", elsewhere.url());
        let reg = FakeRegistry::new("@s/n")
            .version("1.0.0", &b"one"[..])
            .version("2.0.0", &b"two"[..])
            .claim_shasum("2.0.0", "0000000000000000000000000000000000000000")
            .tarball_url("2.0.0", &elsewhere_url)
            .start()
            .unwrap();
        for form in ["@s%2fn", "%40s%2Fn", "@s/n"] {
            let doc = get(&format!("{}{form}", reg.url())).unwrap();
            assert_eq!(doc.status, 200, "{form}");
        }
        let doc: serde_json::Value =
            serde_json::from_slice(&get(&format!("{}@s%2fn", reg.url())).unwrap().body).unwrap();
        let v1 = &doc["versions"]["1.0.0"]["dist"];
        assert_eq!(v1["tarball"], reg.own_tarball_url("1.0.0"));
        assert_eq!(v1["shasum"], byteproof_hash::hash_bytes(b"one").sha1_hex());
        let v2 = &doc["versions"]["2.0.0"]["dist"];
        assert_eq!(v2["tarball"], elsewhere_url.as_str());
        assert_eq!(v2["shasum"], "0000000000000000000000000000000000000000");
        assert_eq!(get(&reg.own_tarball_url("1.0.0")).unwrap().body, b"one");
        assert_eq!(get(&format!("{}nope", reg.url())).unwrap().status, 404);
    }

    #[test]
    fn fake_registry_can_require_a_token() {
        let reg = FakeRegistry::new("p")
            .version("1.0.0", &b"x"[..])
            .require_token("sekrit")
            .start()
            .unwrap();
        assert_eq!(get(&format!("{}p", reg.url())).unwrap().status, 401);
        let ok = send(
            "GET",
            &format!("{}p", reg.url()),
            &[("Authorization", "Bearer sekrit")],
            &[],
        )
        .unwrap();
        assert_eq!(ok.status, 200);
    }
}
