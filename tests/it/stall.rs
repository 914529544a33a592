//! [`Stall`]: a forwarding proxy in front of a registry that holds the reply to one chosen
//! request until the test lets it go. This is how the e2e tests stop a run at a step boundary
//! (the registry already stored the publish, the journal says "publishing") and act there:
//! change the registry, send a signal, kill the process. The binary has no test hook.
//!
//! Each request is forwarded first, so the registry has done its work when the reply is held.

use std::process::Child;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use byteproof_testkit::{Reply, Request, ScriptedServer, http};

/// Headers the proxy does not pass on: hop-by-hop, or recomputed by the harness client.
const NOT_FORWARDED: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "content-length",
    "transfer-encoding",
    "accept-encoding",
    "expect",
];

type Rule = Box<dyn Fn(&Request) -> bool + Send>;

#[derive(Default)]
struct State {
    /// The armed rule and the ticket the request it matches will hold.
    armed: Option<(u64, Rule)>,
    next: u64,
    held: Vec<u64>,
    released: Vec<u64>,
    release_all: bool,
}

#[derive(Default)]
struct Gate {
    state: Mutex<State>,
    changed: Condvar,
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds the calling connection when `request` matches the armed rule.
    fn pass(&self, request: &Request) {
        let mut state = self.lock();
        let matches = state.armed.as_ref().is_some_and(|(_, rule)| rule(request));
        if !matches {
            return;
        }
        let Some((ticket, _)) = state.armed.take() else {
            return;
        };
        state.held.push(ticket);
        self.changed.notify_all();
        while !state.release_all && !state.released.contains(&ticket) {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A held reply, released with [`Stall::release`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

/// A running proxy (see the module docs). Releases every held reply when dropped.
pub(crate) struct Stall {
    server: ScriptedServer,
    gate: Arc<Gate>,
    upstream_root: String,
}

impl Stall {
    /// Starts a proxy forwarding every request to `upstream_root` (`http://127.0.0.1:PORT/`).
    pub(crate) fn start(upstream_root: &str) -> Self {
        let gate = Arc::new(Gate::default());
        let handler_gate = Arc::clone(&gate);
        let root = upstream_root.trim_end_matches('/').to_owned();
        let server = ScriptedServer::start(move |request| {
            let reply = forward(&root, request);
            handler_gate.pass(request);
            reply
        })
        .unwrap_or_else(|e| panic!("{e:#}"));
        Self {
            server,
            gate,
            upstream_root: upstream_root.trim_end_matches('/').to_owned(),
        }
    }

    /// The proxy's URL for an upstream URL: the same path on the proxy's port.
    pub(crate) fn url_for(&self, upstream_url: &str) -> String {
        let path = upstream_url
            .strip_prefix(&self.upstream_root)
            .unwrap_or_else(|| panic!("{upstream_url} is not under {}", self.upstream_root));
        format!("{}{}", self.server.url().trim_end_matches('/'), path)
    }

    /// Holds the reply to the next request matching `rule` (after forwarding it).
    pub(crate) fn hold(&self, rule: impl Fn(&Request) -> bool + Send + 'static) -> Ticket {
        let mut state = self.gate.lock();
        let ticket = state.next;
        state.next += 1;
        state.armed = Some((ticket, Box::new(rule)));
        Ticket(ticket)
    }

    /// Waits until the reply for `ticket` is held; fails if `child` ends first.
    #[track_caller]
    pub(crate) fn wait_held(&self, ticket: Ticket, child: &mut Child) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut state = self.gate.lock();
        while !state.held.contains(&ticket.0) {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("byteproof ended ({status}) before the held request was sent");
            }
            assert!(Instant::now() < deadline, "no held request after 120 s");
            state = self
                .gate
                .changed
                .wait_timeout(state, Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Lets the held reply for `ticket` go.
    pub(crate) fn release(&self, ticket: Ticket) {
        self.gate.lock().released.push(ticket.0);
        self.gate.changed.notify_all();
    }
}

impl Drop for Stall {
    fn drop(&mut self) {
        self.gate.lock().release_all = true;
        self.gate.changed.notify_all();
    }
}

/// True for a publish (`PUT` of a packument).
pub(crate) fn is_put(request: &Request) -> bool {
    request.method == "PUT"
}

/// True for a request sent by the real npm (its `User-Agent` starts with `npm/`).
pub(crate) fn from_npm(request: &Request) -> bool {
    request
        .header("user-agent")
        .is_some_and(|ua| ua.starts_with("npm/"))
}

fn forward(root: &str, request: &Request) -> Reply {
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .filter(|(name, _)| !NOT_FORWARDED.contains(&name.to_ascii_lowercase().as_str()))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let url = format!("{root}{}", request.path);
    match http::send(&request.method, &url, &headers, &request.body) {
        Ok(response) => Reply::Response {
            status: response.status,
            headers: response
                .headers
                .into_iter()
                .filter(|(name, _)| !NOT_FORWARDED.contains(&name.to_ascii_lowercase().as_str()))
                .collect(),
            body: response.body,
        },
        Err(err) => Reply::bytes(502, "text/plain", format!("stall proxy: {err:#}\n")),
    }
}
