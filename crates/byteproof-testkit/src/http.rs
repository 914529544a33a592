//! Just enough HTTP/1.1 for the harness, on std sockets: reading a request (server side) and a
//! tiny blocking client ([`send`], [`get`]) that the harness uses to talk to Verdaccio.
//!
//! Blocking on purpose: no async runtime inside the harness, so it can be called from plain
//! `#[test]`s and from `#[tokio::test]`s alike. Every connection is `Connection: close`.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// How long the client waits to connect, and for each read or write.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Largest request or response head the harness accepts.
const MAX_HEAD: usize = 64 * 1024;

/// A response read by the harness client.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers in arrival order, names as sent.
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

/// `GET url` with no extra headers.
pub fn get(url: &str) -> Result<Response> {
    send("GET", url, &[], &[])
}

/// Sends one request to an `http://host:port/path` URL and reads the whole response.
///
/// `Host`, `Connection: close` and (when there is a body) `Content-Length` are added; `headers`
/// must not repeat them. Fails on a connection error or a response cut short, never on a status.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<Response> {
    let (authority, target) = split_http_url(url)?;
    let addr = authority
        .to_socket_addrs()
        .with_context(|| format!("resolving {authority}"))?
        .next()
        .with_context(|| format!("{authority} resolves to no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
        .with_context(|| format!("connecting to {authority} for {method} {url}"))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;

    let mut head =
        format!("{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || matches!(method, "PUT" | "POST") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .with_context(|| format!("sending {method} {url}"))?;

    let mut reader = BufReader::new(stream);
    let (status_line, headers) = read_head(&mut reader)
        .with_context(|| format!("reading the response to {method} {url}"))?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .with_context(|| format!("bad status line {status_line:?} from {method} {url}"))?;
    let body = if method == "HEAD" || status == 204 || status == 304 {
        Vec::new()
    } else {
        read_body(&mut reader, &headers, true)
            .with_context(|| format!("reading the body of {method} {url} ({status})"))?
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Splits `http://host:port/path?q` into (`host:port`, `/path?q`). Only plain `http` is spoken.
fn split_http_url(url: &str) -> Result<(String, String)> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!("the test client speaks plain http:// only, not {url}");
    };
    let (authority, target) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((authority, target.to_owned()))
}

/// The first header with this name, compared case-insensitively.
pub(crate) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Reads a start line and headers up to the blank line.
pub(crate) fn read_head(reader: &mut impl BufRead) -> Result<(String, Vec<(String, String)>)> {
    let mut start = String::new();
    let mut seen = 0;
    loop {
        start.clear();
        let n = reader.read_line(&mut start)?;
        if n == 0 {
            bail!("connection closed before a start line");
        }
        seen += n;
        // Tolerate stray blank lines before the start line (RFC 9112 §2.2).
        if !start.trim().is_empty() {
            break;
        }
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            bail!("connection closed inside the header block");
        }
        seen += n;
        if seen > MAX_HEAD {
            bail!("header block larger than {MAX_HEAD} bytes");
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
    Ok((start.trim_end().to_owned(), headers))
}

/// Reads a body framed by `Transfer-Encoding: chunked` or `Content-Length`; without either, a
/// response body runs to end of stream (`to_eof`) and a request body is empty.
pub(crate) fn read_body(
    reader: &mut impl BufRead,
    headers: &[(String, String)],
    to_eof: bool,
) -> Result<Vec<u8>> {
    let chunked = find_header(headers, "transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return read_chunked(reader);
    }
    if let Some(len) = find_header(headers, "content-length") {
        let len: usize = len
            .parse()
            .with_context(|| format!("bad Content-Length {len:?}"))?;
        let mut body = vec![0; len];
        reader
            .read_exact(&mut body)
            .with_context(|| format!("body shorter than its Content-Length {len}"))?;
        return Ok(body);
    }
    let mut body = Vec::new();
    if to_eof {
        reader.read_to_end(&mut body)?;
    }
    Ok(body)
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
        reader
            .read_exact(&mut body[start..])
            .context("chunk shorter than its size")?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf).context("chunk without CRLF")?;
    }
}

/// The reason phrase for the status codes the harness writes.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_and_length_bodies_decode() {
        let raw = b"4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nX-Trailer: 1\r\n\r\n";
        let headers = vec![("Transfer-Encoding".to_owned(), "chunked".to_owned())];
        assert_eq!(
            read_body(&mut &raw[..], &headers, true).unwrap(),
            b"abcdefg"
        );

        let headers = vec![("content-length".to_owned(), "3".to_owned())];
        assert_eq!(
            read_body(&mut &b"abcdef"[..], &headers, true).unwrap(),
            b"abc"
        );
        assert!(read_body(&mut &b"ab"[..], &headers, true).is_err());
    }

    #[test]
    fn urls_split_into_authority_and_target() {
        assert_eq!(
            split_http_url("http://127.0.0.1:9/a/%40b?c").unwrap(),
            ("127.0.0.1:9".to_owned(), "/a/%40b?c".to_owned())
        );
        assert_eq!(
            split_http_url("http://localhost").unwrap(),
            ("localhost:80".to_owned(), "/".to_owned())
        );
        assert!(split_http_url("https://x/").is_err());
    }
}
