//! A reverse proxy on 127.0.0.1 that forwards to a registry and strips `Docker-Content-Digest`
//! (and the `Etag` that repeats it) from every answer, imitating registries that omit the header.
//! It also logs each request line, so tests can count round trips.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::http::read_request;

/// Headers the proxy removes from responses.
const STRIPPED: [&str; 3] = ["docker-content-digest", "etag", "connection"];

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
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StripProxy {
    /// Starts a stripping proxy in front of `upstream` (`127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Self {
        Self::with_mode(upstream, ProxyMode::Strip)
    }

    /// Starts a proxy in front of `upstream` in `mode`.
    pub fn with_mode(upstream: &str, mode: ProxyMode) -> Self {
        let upstream: SocketAddr = upstream.parse().expect("upstream must be ip:port");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log2, stop2) = (Arc::clone(&log), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut seen = 0;
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if let ProxyMode::FailFirst(n) = mode {
                    if seen < n {
                        seen += 1;
                        if let Ok(request) = read_request(&stream) {
                            log2.lock()
                                .expect("proxy log")
                                .push(format!("{} {} -> 503", request.method, request.target));
                        }
                        let _ = crate::http::write_response(
                            &stream,
                            503,
                            "Service Unavailable",
                            &[],
                            b"",
                        );
                        continue;
                    }
                }
                let log = Arc::clone(&log2);
                std::thread::spawn(move || {
                    let _ = handle(&stream, upstream, &log, mode);
                });
            }
        });
        Self {
            addr,
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT` of the proxy.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Request lines seen so far (`HEAD /v2/…`).
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().expect("proxy log").clone()
    }
}

impl Drop for StripProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn handle(
    client: &TcpStream,
    upstream: SocketAddr,
    log: &Mutex<Vec<String>>,
    mode: ProxyMode,
) -> std::io::Result<()> {
    let request = read_request(client)?;
    if mode == ProxyMode::RejectHead && request.method == "HEAD" {
        log.lock()
            .expect("proxy log")
            .push(format!("{} {} -> 405", request.method, request.target));
        return crate::http::write_response(client, 405, "Method Not Allowed", &[], b"");
    }
    log.lock()
        .expect("proxy log")
        .push(format!("{} {}", request.method, request.target));
    let mut up = TcpStream::connect(upstream)?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (k, v) in &request.headers {
        if k.eq_ignore_ascii_case("connection") || k.eq_ignore_ascii_case("host") {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Host: {upstream}\r\nConnection: close\r\n\r\n"));
    up.write_all(head.as_bytes())?;
    up.write_all(&request.body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |i| i + 4);
    let (resp_head, body) = response.split_at(split);
    let resp_head = String::from_utf8_lossy(resp_head);
    let mut out = String::new();
    for line in resp_head.split("\r\n").filter(|l| !l.is_empty()) {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let strip = if matches!(mode, ProxyMode::FailFirst(_)) {
            name == "connection"
        } else {
            STRIPPED.contains(&name.as_str())
        };
        if strip {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    if mode == ProxyMode::WrongOnGet && request.method == "GET" {
        out.push_str(&format!("Docker-Content-Digest: {WRONG_DIGEST}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut client = client;
    client.write_all(out.as_bytes())?;
    client.write_all(body)?;
    client.flush()?;
    let _ = client.shutdown(std::net::Shutdown::Write);
    Ok(())
}
