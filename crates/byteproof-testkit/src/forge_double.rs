//! What the forge test doubles ([`crate::GiteaDouble`], [`crate::GithubDouble`]) share: a
//! route table matched on path templates, per-endpoint fault injection, and a journal of calls
//! that never holds a credential.
//!
//! An *endpoint* is named the way the references write it: the method, a space, and the path
//! template, e.g. `"PUT /api/v1/repos/{owner}/{repo}/actions/variables/{variablename}"`. Each
//! double lists its endpoints ([`crate::GiteaDouble::endpoints`],
//! [`crate::GithubDouble::endpoints`]); a fault for a name it does not know is refused with a
//! panic that lists them, so a typo never turns into a fault that silently never fires.

use std::time::Duration;

use crate::http::Reply;
use crate::npm_path::percent_decode;

/// Matches every endpoint in [`crate::GiteaDouble::fail_next`] and
/// [`crate::GithubDouble::fail_next`]: "the forge is down".
pub const ANY_ENDPOINT: &str = "*";

/// A failure a double answers instead of doing its work. The state is never touched by a
/// faulted call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// This status with the forge's error body (`401`, `404`, `409`, `500`, `503`, …).
    Status(u16),
    /// Holds the request this long, then answers 504 without doing anything: a hung backend
    /// behind a reverse proxy that gave up. Longer than the client's timeout, it is a timeout.
    Stall(Duration),
    /// A rate limit (`forge-routing-api.md` §6). GitHub (§6.1): `status` 403 or 429 with `x-ratelimit-remaining: 0` and
    /// `x-ratelimit-reset` (primary), or, with `retry_after`, the secondary limit's answer
    /// with `retry-after`. Gitea has no rate limiting of its own (§6.2): its double answers as
    /// a reverse proxy in front would, `status` with `Retry-After` when given.
    RateLimit {
        /// 403 or 429.
        status: u16,
        /// Seconds, for the secondary-limit form.
        retry_after: Option<u64>,
    },
}

/// How a recorded call authenticated. The credential itself is never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallAuth {
    /// No `Authorization` header.
    Absent,
    /// A credential the double knows, by its name (the name given when the token was added; for
    /// a GitHub App JWT, `app-jwt`; for an installation token, `installation-<id>`).
    Known(String),
    /// An `Authorization` header that matched nothing (unknown, revoked, expired or malformed).
    Unknown,
}

/// One call a forge double answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Method, e.g. `PATCH`.
    pub method: String,
    /// The request target as sent (query included).
    pub path: String,
    /// The endpoint it matched (`"PATCH /repos/{owner}/{repo}/actions/variables/{name}"`), or
    /// `None` for a path the double does not serve.
    pub endpoint: Option<&'static str>,
    /// The request body.
    pub body: Vec<u8>,
    /// How it authenticated.
    pub auth: CallAuth,
    /// The status answered.
    pub status: u16,
    /// The injected fault it got, if any.
    pub fault: Option<Fault>,
}

impl Call {
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

/// Where a self-hosted runner is registered.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RunnerScope {
    /// The whole instance (Gitea's admin level; GitHub has no such level in these doubles).
    Instance,
    /// A user's own runners (Gitea only).
    User(String),
    /// An organisation.
    Org(String),
    /// A repository, `owner/name`.
    Repo(String),
}

/// What a forge reports about a runner's connection (Gitea §5, GitHub §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunnerStatus {
    /// Seen within the last minute, idle (`status: "online"`, `busy: false`).
    Online,
    /// Not seen recently (`status: "offline"`, `busy: false`).
    Offline,
    /// Online and running a job (`status: "online"`, `busy: true`).
    Busy,
}

/// A runner as a double stores it (seed one with `add_runner`, read them with `runners`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runner {
    /// Its id, given by the double.
    pub id: u64,
    /// Where it is registered.
    pub scope: RunnerScope,
    /// Its name.
    pub name: String,
    /// Label names (custom labels; GitHub's read-only ones are added in its answers).
    pub labels: Vec<String>,
    /// Its connection status.
    pub status: RunnerStatus,
    /// Takes one job and is then removed.
    pub ephemeral: bool,
}

impl Runner {
    /// A non-ephemeral runner to seed; the id is given by the double.
    pub fn seed(scope: RunnerScope, name: &str, labels: &[&str], status: RunnerStatus) -> Self {
        Self {
            id: 0,
            scope,
            name: name.to_owned(),
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            status,
            ephemeral: false,
        }
    }

    /// `"online"` or `"offline"`.
    pub(crate) fn status_word(&self) -> &'static str {
        match self.status {
            RunnerStatus::Offline => "offline",
            RunnerStatus::Online | RunnerStatus::Busy => "online",
        }
    }

    /// Whether it is running a job.
    pub(crate) fn busy(&self) -> bool {
        self.status == RunnerStatus::Busy
    }
}

/// A double's runners, with ids given in order.
#[derive(Debug, Default)]
pub(crate) struct Runners {
    all: Vec<Runner>,
    last_id: u64,
}

impl Runners {
    /// Stores `runner` under a new id and returns it.
    pub(crate) fn add(&mut self, mut runner: Runner) -> u64 {
        self.last_id += 1;
        runner.id = self.last_id;
        self.all.push(runner);
        self.last_id
    }

    /// Changes a runner's status. Panics on an unknown id (a test's mistake).
    pub(crate) fn set_status(&mut self, id: u64, status: RunnerStatus) {
        self.all
            .iter_mut()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no runner {id} in this double"))
            .status = status;
    }

    /// Every runner, in the order added.
    pub(crate) fn all(&self) -> &[Runner] {
        &self.all
    }

    /// The position of the first runner matching `keep`.
    pub(crate) fn position(&self, keep: impl Fn(&Runner) -> bool) -> Option<usize> {
        self.all.iter().position(keep)
    }

    /// Removes the runner at `index`.
    pub(crate) fn remove(&mut self, index: usize) {
        self.all.remove(index);
    }
}

/// Faults waiting for their endpoint, in the order they were injected.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pending: Vec<(String, Fault, usize)>,
}

impl Faults {
    /// Queues `fault` for the next `times` calls of `endpoint` (or of any, for [`ANY_ENDPOINT`]).
    /// Panics, listing `known`, for an endpoint the double does not serve.
    pub(crate) fn add(&mut self, endpoint: &str, times: usize, fault: Fault, known: &[&str]) {
        assert!(
            endpoint == ANY_ENDPOINT || known.contains(&endpoint),
            "no endpoint {endpoint:?} in this double; it serves:\n  {}",
            known.join("\n  ")
        );
        if times > 0 {
            self.pending.push((endpoint.to_owned(), fault, times));
        }
    }

    /// The fault for this call of `endpoint`, counting it down.
    pub(crate) fn take(&mut self, endpoint: &str) -> Option<Fault> {
        let index = self
            .pending
            .iter()
            .position(|(e, _, _)| e == endpoint || e == ANY_ENDPOINT)?;
        let (_, fault, left) = &mut self.pending[index];
        let fault = *fault;
        *left -= 1;
        if *left == 0 {
            self.pending.remove(index);
        }
        Some(fault)
    }
}

/// Turns a fault into its answer: `error(status)` builds the forge's error reply for a status.
pub(crate) fn fault_reply(fault: Fault, error: impl Fn(u16) -> Reply) -> Reply {
    match fault {
        Fault::Status(status) => error(status),
        Fault::Stall(pause) => Reply::Delay(pause, Box::new(error(504))),
        Fault::RateLimit {
            status,
            retry_after,
        } => {
            let reply = error(status);
            match retry_after {
                Some(secs) => reply.with_header("Retry-After", &secs.to_string()),
                None => reply,
            }
        }
    }
}

/// The status a reply will carry (what the journal records).
pub(crate) fn status_of(reply: &Reply) -> u16 {
    match reply {
        Reply::Response { status, .. } => *status,
        Reply::Delay(_, inner) => status_of(inner),
        Reply::Raw(_) => 0,
    }
}

/// Matches `path` (no query) against a template like `/repos/{owner}/{repo}`: the same number of
/// segments, literal segments equal, each `{…}` capturing one non-empty segment, percent-decoded.
pub(crate) fn match_template(template: &str, path: &str) -> Option<Vec<String>> {
    let mut params = Vec::new();
    let mut wanted = template.split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {
                params.push(percent_decode(g));
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

/// One endpoint of a double's route table: its name (`"METHOD /template"`) and its handler.
pub(crate) struct Route<H> {
    pub(crate) endpoint: &'static str,
    pub(crate) handler: H,
}

/// What a path means to a route table.
pub(crate) enum Matched<'r, H> {
    /// This endpoint, with its path parameters.
    Found(&'r Route<H>, Vec<String>),
    /// The path is served, but not for this method.
    WrongMethod,
    /// No such path.
    Missing,
}

/// Finds the route for `method` and `path` (no query) among `routes`, first match wins.
pub(crate) fn find_route<'r, H: 'r>(
    routes: impl IntoIterator<Item = &'r Route<H>>,
    method: &str,
    path: &str,
) -> Matched<'r, H> {
    let mut wrong_method = false;
    for route in routes {
        let (m, template) = route.endpoint.split_once(' ').unwrap_or_default();
        if let Some(params) = match_template(template, path) {
            if m == method {
                return Matched::Found(route, params);
            }
            wrong_method = true;
        }
    }
    if wrong_method {
        Matched::WrongMethod
    } else {
        Matched::Missing
    }
}

/// `page` (1-based) and `per_page`/`limit` from a query, clamped as the forge does.
pub(crate) fn page_window(
    page: Option<String>,
    size: Option<String>,
    default: usize,
    max: usize,
) -> (usize, usize) {
    let page = page.and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let size = size
        .and_then(|s| s.parse().ok())
        .filter(|&s| s > 0)
        .unwrap_or(default)
        .min(max);
    (page, size)
}

/// The `(page, size)` slice of `items`.
pub(crate) fn paginate<T: Clone>(items: &[T], (page, size): (usize, usize)) -> Vec<T> {
    items
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .cloned()
        .collect()
}

/// A Unix time as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub(crate) fn rfc3339(unix_secs: i64) -> String {
    jiff::Timestamp::from_second(unix_secs)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// A random-looking lowercase hex string of `len` characters (tokens; not cryptographic).
pub(crate) fn token_hex(len: usize) -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut out = String::new();
    while out.len() < len {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(out.len());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_whole_segments_and_decode_them() {
        assert_eq!(
            match_template("/repos/{owner}/{repo}/x", "/repos/a%20b/c/x"),
            Some(vec!["a b".to_owned(), "c".to_owned()])
        );
        assert_eq!(match_template("/repos/{owner}", "/repos/"), None);
        assert_eq!(match_template("/repos/{owner}", "/repos/a/b"), None);
        assert_eq!(match_template("/a/b", "/a/c"), None);
    }

    #[test]
    fn faults_count_down_per_endpoint_and_refuse_unknown_names() {
        let mut faults = Faults::default();
        let known = ["GET /a", "PUT /a"];
        faults.add("GET /a", 2, Fault::Status(500), &known);
        faults.add(ANY_ENDPOINT, 1, Fault::Status(503), &known);
        assert_eq!(faults.take("PUT /a"), Some(Fault::Status(503)));
        assert_eq!(faults.take("GET /a"), Some(Fault::Status(500)));
        assert_eq!(faults.take("GET /a"), Some(Fault::Status(500)));
        assert_eq!(faults.take("GET /a"), None);
        let refused = std::panic::catch_unwind(move || {
            Faults::default().add("GET /typo", 1, Fault::Status(500), &known);
        });
        assert!(refused.is_err());
    }

    #[test]
    fn dates_are_rfc3339_utc() {
        assert_eq!(rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(token_hex(40).len(), 40);
        assert_ne!(token_hex(40), token_hex(40));
    }
}
