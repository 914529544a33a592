//! [`TimedServer`]: a harness [`Server`] that refuses once, then answers, and records when each
//! request arrived, so a test can check the wait a client honoured (`Retry-After`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::Reply;
use crate::http::Server;

/// Answers the first request with one reply and every later one with another.
#[derive(Debug)]
pub struct TimedServer {
    server: Server,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl TimedServer {
    /// `first` for the first request, `then` for the rest.
    pub fn first_then(first: Reply, then: Reply) -> Result<Self> {
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&arrivals);
        let server = Server::start(move |_| {
            let mut arrivals = seen.lock().unwrap_or_else(PoisonError::into_inner);
            arrivals.push(Instant::now());
            if arrivals.len() == 1 {
                first.clone()
            } else {
                then.clone()
            }
        })?;
        Ok(Self { server, arrivals })
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The time between consecutive requests.
    pub fn gaps(&self) -> Vec<Duration> {
        let arrivals = self.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        arrivals.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

/// An HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`) `seconds` from now, for `Retry-After`.
pub fn http_date_in(seconds: i64) -> String {
    let when = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds);
    jiff::fmt::rfc2822::DateTimePrinter::new()
        .timestamp_to_rfc9110_string(&when)
        .expect("a timestamp near now is printable as an HTTP-date")
}
