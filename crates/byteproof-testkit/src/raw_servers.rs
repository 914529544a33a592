//! Raw-socket servers for what no well-formed server does, so they stay on std sockets:
//!
//! - [`EndlessServer`] answers with a head and then a body that never ends, for testing that
//!   every read is bounded (the client must hang up at its cap).
//! - [`ForwardProxy`] is an HTTP forward proxy that logs and forwards absolute-form requests
//!   (`GET http://host/path`) and tunnels `CONNECT host:port`, for testing that clients use the
//!   proxy from the environment. It only connects to loopback targets.
//!
//! Both bind `127.0.0.1` on a free port, run on background threads, are bounded in time and
//! bytes, and stop when dropped. Self-contained: they share nothing with the other servers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Largest request head read.
const MAX_HEAD: usize = 64 * 1024;
/// An endless body stops by itself after this much, or after [`ENDLESS_FOR`].
const ENDLESS_BYTES: u64 = 4 << 30;
/// An endless body stops by itself after this long.
const ENDLESS_FOR: Duration = Duration::from_secs(60);
/// Read/write timeout of every connection.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A listener on `127.0.0.1` whose connections each get `serve` on their own thread, with the
/// request lines they logged.
struct Listening {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listening {
    fn start(
        name: &str,
        serve: impl Fn(TcpStream, &Mutex<Vec<String>>, &AtomicBool) + Send + Sync + 'static,
    ) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_log, thread_stop) = (Arc::clone(&log), Arc::clone(&stop));
        let serve = Arc::new(serve);
        let thread = thread::Builder::new()
            .name(format!("{name}-{}", addr.port()))
            .spawn(move || {
                for stream in listener.incoming() {
                    if thread_stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
                    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
                    let (serve, log, stop) = (
                        Arc::clone(&serve),
                        Arc::clone(&thread_log),
                        Arc::clone(&thread_stop),
                    );
                    let _ = thread::Builder::new().spawn(move || serve(stream, &log, &stop));
                }
            })
            .context("spawning the accept thread")?;
        Ok(Self {
            addr,
            log,
            stop,
            thread: Some(thread),
        })
    }

    fn log(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        drop(TcpStream::connect_timeout(
            &self.addr,
            Duration::from_secs(1),
        ));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A request head: the request line and the header lines, as sent.
struct Head {
    line: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn read(reader: &mut BufReader<TcpStream>) -> Option<Self> {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            return None;
        }
        let mut headers = Vec::new();
        let mut size = line.len();
        loop {
            let mut header = String::new();
            size += reader.read_line(&mut header).ok()?;
            if size > MAX_HEAD {
                return None;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':')?;
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        Some(Self { line, headers })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A server whose every answer is a fixed head followed by a body that never ends (a `HEAD`
/// request gets the head only). Each answer stops by itself after 4 GiB or 60 s.
pub struct EndlessServer {
    listening: Listening,
}

impl std::fmt::Debug for EndlessServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndlessServer")
            .field("addr", &self.listening.addr)
            .finish_non_exhaustive()
    }
}

impl EndlessServer {
    /// Answers every request with `status`, `headers` (add `Content-Length` to announce a
    /// size; none means "until the connection closes") and an endless body of `x`.
    pub fn start(status: u16, headers: &[(&str, &str)]) -> Result<Self> {
        let mut head = format!("HTTP/1.1 {status} Endless\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let listening = Listening::start("endless", move |stream, log, stop| {
            let Ok(read_half) = stream.try_clone() else {
                return;
            };
            let Some(request) = Head::read(&mut BufReader::new(read_half)) else {
                return;
            };
            log.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(request.line.clone());
            let mut stream = stream;
            if stream.write_all(head.as_bytes()).is_err() || request.line.starts_with("HEAD ") {
                return;
            }
            let chunk = [b'x'; 64 * 1024];
            let (started, mut sent) = (Instant::now(), 0u64);
            while sent < ENDLESS_BYTES
                && started.elapsed() < ENDLESS_FOR
                && !stop.load(Ordering::SeqCst)
                && stream.write_all(&chunk).is_ok()
            {
                sent += chunk.len() as u64;
            }
            let _ = stream.shutdown(Shutdown::Both);
        })?;
        Ok(Self { listening })
    }

    /// `http://127.0.0.1:PORT/` (with the trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}/", self.listening.addr)
    }

    /// The request lines received (`GET /path HTTP/1.1`), in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.listening.log()
    }
}

/// Every environment variable that chooses a proxy, in both cases: a test clears them all
/// before setting the ones it means (a [`ForwardProxy`]'s URL, `NO_PROXY` hosts).
pub const PROXY_VARIABLES: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// An HTTP forward proxy on `127.0.0.1` that logs each request (`GET http://127.0.0.1:5/x`,
/// `CONNECT 127.0.0.1:5`) and forwards it, to loopback targets only (anything else gets 403).
pub struct ForwardProxy {
    listening: Listening,
}

impl std::fmt::Debug for ForwardProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardProxy")
            .field("addr", &self.listening.addr)
            .finish_non_exhaustive()
    }
}

impl ForwardProxy {
    /// Starts the proxy.
    pub fn start() -> Result<Self> {
        let listening = Listening::start("forward-proxy", |stream, log, _| {
            let Ok(read_half) = stream.try_clone() else {
                return;
            };
            let mut reader = BufReader::new(read_half);
            let Some(request) = Head::read(&mut reader) else {
                return;
            };
            let mut parts = request.line.split_whitespace();
            let (method, target) = (
                parts.next().unwrap_or_default().to_owned(),
                parts.next().unwrap_or_default().to_owned(),
            );
            log.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(format!("{method} {target}"));
            let _ = if method == "CONNECT" {
                tunnel(stream, reader, &target)
            } else {
                forward(stream, reader, &request, &method, &target)
            };
        })?;
        Ok(Self { listening })
    }

    /// `http://127.0.0.1:PORT`, the value for `HTTP_PROXY` / `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.listening.addr)
    }

    /// Every request received, as `METHOD target`, in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.listening.log()
    }
}

/// Connects to `authority` (`host:port`) when it is a loopback address.
fn connect_loopback(authority: &str) -> Option<TcpStream> {
    let addr = authority.to_socket_addrs().ok()?.next()?;
    let loopback = match addr.ip() {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => ip.is_loopback(),
    };
    if !loopback {
        return None;
    }
    let upstream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).ok()?;
    let _ = upstream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = upstream.set_write_timeout(Some(IO_TIMEOUT));
    Some(upstream)
}

fn refuse(mut client: TcpStream, status: &str) -> std::io::Result<()> {
    client.write_all(
        format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// `CONNECT host:port`: 200, then bytes both ways until either side closes.
fn tunnel(
    mut client: TcpStream,
    reader: BufReader<TcpStream>,
    authority: &str,
) -> std::io::Result<()> {
    let Some(mut upstream) = connect_loopback(authority) else {
        return refuse(client, "403 Forbidden");
    };
    client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")?;
    upstream.write_all(reader.buffer())?;
    let (mut client_read, mut upstream_write) = (client.try_clone()?, upstream.try_clone()?);
    let outbound = thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = outbound.join();
    Ok(())
}

/// An absolute-form request: sent on in origin form with `Connection: close`, and the answer
/// copied back with its own `Connection` header replaced by `close`.
fn forward(
    client: TcpStream,
    mut reader: BufReader<TcpStream>,
    request: &Head,
    method: &str,
    target: &str,
) -> std::io::Result<()> {
    let Some(rest) = target.strip_prefix("http://") else {
        return refuse(client, "400 Bad Request");
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let Some(upstream) = connect_loopback(authority) else {
        return refuse(client, "403 Forbidden");
    };
    let length: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in &request.headers {
        let lower = name.to_ascii_lowercase();
        if lower != "connection" && !lower.starts_with("proxy-") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut upstream_write = upstream.try_clone()?;
    upstream_write.write_all(head.as_bytes())?;
    upstream_write.write_all(&body)?;
    let mut answer = BufReader::new(upstream);
    let mut client = client;
    let mut status_line = String::new();
    answer.read_line(&mut status_line)?;
    client.write_all(status_line.as_bytes())?;
    loop {
        let mut line = String::new();
        if answer.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
        if !line.to_ascii_lowercase().starts_with("connection:") {
            client.write_all(line.as_bytes())?;
        }
    }
    client.write_all(b"Connection: close\r\n\r\n")?;
    std::io::copy(&mut answer, &mut client)?;
    client.shutdown(Shutdown::Both)
}
