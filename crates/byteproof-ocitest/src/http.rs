//! Just enough HTTP/1.1 for the harness's in-process servers: one request per connection,
//! `Connection: close` on every answer.

use std::io::{self, BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;

/// A request read from a socket.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// `GET`, `HEAD`, …
    pub(crate) method: String,
    /// The request target (path and query).
    pub(crate) target: String,
    /// Header lines as sent (name, value).
    pub(crate) headers: Vec<(String, String)>,
    /// The body (Content-Length framed only).
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// The first header called `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one request (head and Content-Length body).
pub(crate) fn read_request(stream: &TcpStream) -> io::Result<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            break;
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(Request {
        method,
        target,
        headers,
        body,
    })
}

/// Writes a complete response and closes the connection's write side.
pub(crate) fn write_response(
    mut stream: &TcpStream,
    status: u16,
    reason: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(out.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    Ok(())
}

/// Splits a request target's query string into decoded pairs (`+` and `%XX`).
pub(crate) fn query_pairs(target: &str) -> Vec<(String, String)> {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn query() {
        let pairs = super::query_pairs(
            "/token?scope=repository%3Alibrary%2Fnode%3Apull&service=test-registry&x",
        );
        assert_eq!(
            pairs[0],
            (
                "scope".to_owned(),
                "repository:library/node:pull".to_owned()
            )
        );
        assert_eq!(pairs[1], ("service".to_owned(), "test-registry".to_owned()));
        assert_eq!(pairs[2], ("x".to_owned(), String::new()));
    }
}
