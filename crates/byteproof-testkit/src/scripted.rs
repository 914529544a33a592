//! [`ScriptedServer`]: the harness's one raw-socket HTTP/1.1 server, for the answers a
//! well-behaved server library cannot give: a lying `Content-Length`, a body cut short, garbage
//! instead of a status line ([`Reply::Raw`], [`Reply::lying_length`]). It owns each socket, so it
//! can close the connection right after such an answer and the client sees the truncation at
//! once instead of waiting for bytes that never come.
//!
//! Everything well-formed belongs on [`crate::http::Server`]; this server exists for tests of
//! hostile and flaky registries, where the same closure often answers some requests honestly
//! and others with a lie. It records every request, like the harness server does.

use std::io::{BufRead, BufReader};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::http::{Reply, Request, RequestLog, find_header, write_reply};

/// Largest request head the server reads.
const MAX_HEAD: usize = 64 * 1024;

type Handler = dyn Fn(&Request) -> Reply + Send + Sync + 'static;

struct Shared {
    handler: Box<Handler>,
    log: RequestLog,
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
            log: RequestLog::default(),
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
        self.shared.log.len()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.log.all()
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
    let Ok(request) = read_request(&mut BufReader::new(read_half)) else {
        return; // e.g. the wake-up connection from Drop
    };
    shared.log.record(request.clone());
    let reply = (shared.handler)(&request);
    let mut stream = stream;
    write_reply(&mut stream, &request.method, reply);
    let _ = stream.shutdown(Shutdown::Both);
}

/// Reads one request: start line, headers, and a body framed by `Content-Length` or chunked
/// transfer-encoding (none without either).
fn read_request(reader: &mut impl BufRead) -> Result<Request> {
    let mut start = String::new();
    while start.trim().is_empty() {
        // Tolerate stray blank lines before the start line (RFC 9112 §2.2).
        start.clear();
        if reader.read_line(&mut start)? == 0 {
            bail!("connection closed before a start line");
        }
    }
    let mut parts = start.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    let mut seen = start.len();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line)?;
        seen += n;
        if n == 0 || seen > MAX_HEAD {
            bail!("header block cut short or larger than {MAX_HEAD} bytes");
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .with_context(|| format!("malformed header line {line:?}"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let chunked = find_header(&headers, "transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let len = find_header(&headers, "content-length").map_or(Ok(0), str::parse)?;
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        body
    };
    Ok(Request {
        method,
        path,
        headers,
        body,
    })
}

fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        if reader.read_line(&mut size_line)? == 0 {
            bail!("connection closed inside a chunked body");
        }
        let size_hex = size_line.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size_hex, 16)
            .with_context(|| format!("bad chunk size line {size_line:?}"))?;
        if size == 0 {
            // Trailer section, then the final blank line.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf)?;
    }
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
    fn a_lying_content_length_is_cut_short_at_once() {
        let server =
            ScriptedServer::start(|_| Reply::lying_length(200, 100, b"only ten b")).unwrap();
        let err = get(&server.url()).unwrap_err();
        assert!(format!("{err:#}").contains("reading the body"), "{err:#}");
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
    fn chunked_and_length_request_bodies_decode() {
        let raw = b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nX-Trailer: 1\r\n\r\n";
        let req = read_request(&mut &raw[..]).unwrap();
        assert_eq!(
            (req.path.as_str(), req.body.as_slice()),
            ("/x", &b"abcdefg"[..])
        );
        let raw = b"\r\nPOST / HTTP/1.1\r\ncontent-length: 3\r\n\r\nabcdef";
        assert_eq!(read_request(&mut &raw[..]).unwrap().body, b"abc");
        let short = b"POST / HTTP/1.1\r\ncontent-length: 3\r\n\r\nab";
        assert!(read_request(&mut &short[..]).is_err());
    }
}
