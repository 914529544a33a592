//! A reverse proxy on 127.0.0.1 (the testkit's harness [`Server`] and [`forward`]) in front of a
//! registry, that strips `Docker-Content-Digest` (and the `Etag` that repeats it) from every
//! answer, imitating registries that omit the header. It also logs each request line, so tests
//! can count round trips.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use byteproof_testkit::http::{Reply, Request, Server, forward};

/// Headers the stripping modes remove from responses.
const STRIPPED: [&str; 2] = ["docker-content-digest", "etag"];

/// What the proxy does to `Docker-Content-Digest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// Remove it (and `Etag`) from every response.
    Strip,
    /// Remove it from HEAD responses and send a wrong one on GET, like a broken registry.
    WrongOnGet,
    /// Answer the first `n` requests with 503, then forward unchanged.
    FailFirst(usize),
    /// Answer every HEAD with 405 Method Not Allowed (as some proxies and registries do), and
    /// strip the digest header from GET responses.
    RejectHead,
}

/// The digest a [`ProxyMode::WrongOnGet`] proxy claims: sha256 of the empty string.
pub const WRONG_DIGEST: &str =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The running proxy; stopped on drop.
#[derive(Debug)]
pub struct StripProxy {
    server: Server,
    log: Arc<Mutex<Vec<String>>>,
}

impl StripProxy {
    /// Starts a stripping proxy in front of `upstream` (`127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Self {
        Self::with_mode(upstream, ProxyMode::Strip)
    }

    /// Starts a proxy in front of `upstream` in `mode`.
    pub fn with_mode(upstream: &str, mode: ProxyMode) -> Self {
        let upstream = format!("http://{upstream}");
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler_log = Arc::clone(&log);
        let seen = AtomicUsize::new(0);
        let server = Server::start(move |request| {
            let line = format!("{} {}", request.method, request.path);
            let refused = match mode {
                ProxyMode::FailFirst(n) if seen.fetch_add(1, Ordering::SeqCst) < n => Some(503),
                ProxyMode::RejectHead if request.method == "HEAD" => Some(405),
                _ => None,
            };
            let mut log = handler_log.lock().expect("proxy log");
            if let Some(status) = refused {
                log.push(format!("{line} -> {status}"));
                return Reply::status(status);
            }
            log.push(line);
            drop(log);
            relay(&upstream, request, mode)
        })
        .expect("start the proxy");
        Self { server, log }
    }

    /// `127.0.0.1:PORT` of the proxy.
    pub fn addr(&self) -> String {
        self.server.addr().to_string()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Request lines seen so far (`HEAD /v2/…`).
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().expect("proxy log").clone()
    }
}

/// Forwards `request` and edits the answer's digest headers as `mode` says.
fn relay(upstream: &str, request: &Request, mode: ProxyMode) -> Reply {
    let mut response = match forward(upstream, request) {
        Ok(response) => response,
        Err(err) => return Reply::bad_gateway(&err),
    };
    if !matches!(mode, ProxyMode::FailFirst(_)) {
        response
            .headers
            .retain(|(name, _)| !STRIPPED.iter().any(|s| name.eq_ignore_ascii_case(s)));
    }
    if mode == ProxyMode::WrongOnGet && request.method == "GET" {
        response
            .headers
            .push(("Docker-Content-Digest".to_owned(), WRONG_DIGEST.to_owned()));
    }
    Reply::from(response)
}
