//! [`GithubDouble`]: a TEST DOUBLE of GitHub's REST API (version `2022-11-28`), NOT GitHub: the
//! parts routing, the routing guard, JIT runners and App tokens need, with an in-memory store on
//! the harness [`Server`].
//!
//! Written from the project's reference notes, `forge-routing-api.md` (§2.1–§2.2 variables,
//! §3.1–§3.4 runners and JIT, §4 App installation tokens, §4.4 headers, §6.1 errors and rate
//! limits, §8.1 checklist); nothing here was checked against GitHub (neither were the notes,
//! which come from GitHub's docs and OpenAPI description).
//!
//! **Requests** (§4.4): a missing `User-Agent` is refused with 403; an `X-GitHub-Api-Version`
//! other than `2022-11-28` or `2026-03-10` with 400; none means `2022-11-28`. Every answer
//! carries `x-ratelimit-limit`, `-remaining`, `-used`, `-reset` and `-resource` (§6.1), and a
//! `Date`.
//!
//! **Routes** ([`GithubDouble::endpoints`]):
//! - repository variables (§2.1–§2.2): list `{total_count, variables}` (`per_page` 10, at most
//!   30), create 201 `{}` (both `name` and `value` required, 409 on a duplicate), get 200/404,
//!   update 204/404 (partial body, rename with `name`), delete 204/404; names checked (letters,
//!   digits, `_`; no `GITHUB_` prefix, no leading digit: 422), case-insensitive, stored
//!   upper-case (whether GitHub upper-cases is UNVERIFIED, §7);
//! - runners of a repository or an organisation (§3.3–§3.4): list `{total_count, runners}`
//!   with `name=` filtering (`per_page` 30, at most 100), get, delete 204, registration and
//!   remove tokens (201 `{token, expires_at}`, one hour);
//! - JIT (§3.1): `generate-jitconfig` → 201 `{runner, encoded_jit_config}`; 422 without `name`
//!   or `runner_group_id` or with 0 or more than 100 labels; 409 on a name already registered;
//!   the runner then lists as `offline`, `busy: false`, `ephemeral: true`;
//! - collaborator permission (§1.8): `{permission, role_name, user}`, `maintain` reported as
//!   `write` and `triage` as `read` in `permission`;
//! - Apps (§4.1–§4.2): `GET /app`, `GET /repos/{owner}/{repo}/installation` (404 when the App is
//!   not installed there), `POST /app/installations/{id}/access_tokens` → 201 `{token: "ghs_…",
//!   expires_at: +1 h, permissions, repository_selection, repositories?}` (422 for more than the
//!   installation has), `DELETE /installation/token` → 204. The App routes need a JWT sent as
//!   `Bearer`, whose RS256 signature is verified against the App's public key (the committed
//!   `testdata/forge/app-public-key.pem` for [`GithubApp::test_app`]) and whose claims are
//!   checked as GitHub documents them: `iss` the App id (number or string) or client id, `iat`
//!   not in the future, `exp` in the future and at most 10 minutes after `iat`; anything else
//!   is 401.
//!
//! **Auth** for the other routes: `Authorization: Bearer X` or `token X` with a personal access
//! token ([`GithubDouble::add_token`]) or an installation token the double issued. Missing: 401
//! `Requires authentication`; unknown, expired or revoked: 401 `Bad credentials`; a repository
//! the token cannot see: 404 `Not Found` (GitHub hides existence); a permission it lacks
//! (`actions_variables`, `administration`, `organization_self_hosted_runners`, at `read` or
//! `write`): 403 `Resource not accessible by integration`. Error bodies are `{message,
//! documentation_url, status}`, 422 adds `errors` (§6.1).
//!
//! **For tests.** Seed and inspect state (repositories, collaborators, variables, runners,
//! installations, issued tokens), inject faults per endpoint ([`GithubDouble::fail_next`],
//! including both rate-limit forms) and read the call journal ([`GithubDouble::calls`]), which
//! names the credential (`app-jwt`, `installation-<id>`, a token's name), never its value.
//!
//! Not reproduced or not in the notes: classic PAT scopes (a personal token here carries
//! fine-grained permissions), organisation variables, environments, runner groups (any
//! `runner_group_id` is accepted), the secondary-limit point system, `/rate_limit`, moved
//! repositories (301). Texts the notes do not give, written as GitHub is believed to answer:
//! the duplicate-variable and User-Agent messages, the JWT rejection messages, the read-only
//! labels a runner lists (`self-hosted`, `Linux`, `X64`), `os: "Linux"` for a JIT runner
//! before it connects, `none` for a user who is no collaborator, and a JWT on a non-App route
//! answering 403.

mod apps;
mod routes;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use anyhow::{Context as _, Result};
use serde_json::{Value, json};

use crate::forge_double::{
    Call, CallAuth, Fault, Faults, Matched, Runner, RunnerScope, RunnerStatus, Runners,
    fault_reply, find_route, status_of, token_hex,
};
use crate::http::{Recording, Reply, Request, Server};

pub use apps::GithubApp;

/// The API versions GitHub accepts in `X-GitHub-Api-Version` (§4.4).
const API_VERSIONS: [&str; 2] = ["2022-11-28", "2026-03-10"];

/// The hourly request budget the rate-limit headers report (an installation's minimum, §6.1).
const RATE_LIMIT: u64 = 5000;

/// Permissions a credential holds: GitHub's App permission names (`actions_variables`,
/// `administration`, `organization_self_hosted_runners`, …) → `read` or `write`.
pub type Permissions = BTreeMap<String, String>;

/// Builds [`Permissions`] from pairs, e.g. `permissions(&[("actions_variables", "write")])`.
pub fn permissions(pairs: &[(&str, &str)]) -> Permissions {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A credential other than a JWT: a personal access token or an installation token.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    name: String,
    permissions: Permissions,
    /// Repositories (`owner/name`, lower case) it may see; `None` for all.
    repositories: Option<BTreeSet<String>>,
    /// Unix seconds after which it is refused.
    expires_at: Option<i64>,
    revoked: bool,
    installation: Option<u64>,
}

impl Token {
    /// Whether it holds `permission` at `write` (or at least `read`); every credential can read
    /// `metadata`.
    fn grants(&self, permission: &str, write: bool) -> bool {
        (permission == "metadata" && !write)
            || self
                .permissions
                .get(permission)
                .is_some_and(|level| level == "write" || (!write && level == "read"))
    }

    fn sees(&self, repo: &str) -> bool {
        self.repositories
            .as_ref()
            .is_none_or(|r| r.contains(&repo.to_ascii_lowercase()))
    }
}

/// An installation token the double issued, for tests to inspect (and to use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The installation it belongs to.
    pub installation_id: u64,
    /// The token (`ghs_…`).
    pub token: String,
    /// When it expires, RFC 3339.
    pub expires_at: String,
    /// What it may do.
    pub permissions: Permissions,
}

/// A registration or remove token the double issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerToken {
    /// Where it registers or removes runners.
    pub scope: RunnerScope,
    /// `registration` or `remove`.
    pub kind: &'static str,
    /// The token.
    pub token: String,
}

/// An App installation (seed one with [`GithubDouble::add_installation`]).
#[derive(Debug, Clone)]
pub(crate) struct Installation {
    account: String,
    /// Repositories (lower case `owner/name`) it covers; `None` for all of the account's.
    repositories: Option<BTreeSet<String>>,
    permissions: Permissions,
}

impl Installation {
    fn covers(&self, repo: &str) -> bool {
        let repo = repo.to_ascii_lowercase();
        match &self.repositories {
            Some(selected) => selected.contains(&repo),
            None => repo
                .split('/')
                .next()
                .is_some_and(|owner| owner.eq_ignore_ascii_case(&self.account)),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct GhVariable {
    value: String,
    created_at: String,
    updated_at: String,
}

#[derive(Debug, Default)]
pub(crate) struct GhRepo {
    /// Upper-case name → variable.
    variables: BTreeMap<String, GhVariable>,
    /// Login → role (`admin`, `maintain`, `write`, `triage`, `read`).
    collaborators: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    /// Lower-case `owner/name` → repository.
    repos: BTreeMap<String, GhRepo>,
    orgs: BTreeSet<String>,
    /// Secret → token.
    tokens: BTreeMap<String, Token>,
    installations: BTreeMap<u64, Installation>,
    issued: Vec<IssuedToken>,
    runner_tokens: Vec<RunnerToken>,
    runners: Runners,
    faults: Faults,
    calls: Vec<Call>,
    used: u64,
    next_id: u64,
}

impl State {
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// The credential a request carried.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    Anonymous,
    /// A JWT whose signature and claims checked out.
    AppJwt,
    /// A JWT that did not, with the reason GitHub gives.
    BadJwt(String),
    Token(Token),
    /// Unknown, expired or revoked.
    BadToken,
}

impl Auth {
    fn journal(&self) -> CallAuth {
        match self {
            Self::Anonymous => CallAuth::Absent,
            Self::AppJwt => CallAuth::Known("app-jwt".to_owned()),
            Self::Token(t) => CallAuth::Known(t.name.clone()),
            Self::BadJwt(_) | Self::BadToken => CallAuth::Unknown,
        }
    }
}

/// Everything a route handler sees.
pub(crate) struct Ctx<'a> {
    state: &'a mut State,
    app: &'a GithubApp,
    root: &'a str,
    req: &'a Request,
    auth: Auth,
    now: i64,
}

/// A running GitHub test double (see the module docs). Stops when dropped.
#[derive(Debug)]
pub struct GithubDouble {
    server: Server,
    state: Arc<Mutex<State>>,
    app: GithubApp,
}

impl GithubDouble {
    /// Starts a double that knows the committed test App ([`GithubApp::test_app`]).
    pub fn start() -> Result<Self> {
        Self::start_with_app(GithubApp::test_app()?)
    }

    /// Starts a double that knows `app`.
    pub fn start_with_app(app: GithubApp) -> Result<Self> {
        jsonwebtoken::DecodingKey::from_rsa_pem(app.public_key_pem.as_bytes())
            .context("the App's public key is not an RSA PEM")?;
        let state = Arc::new(Mutex::new(State::default()));
        let handler_state = Arc::clone(&state);
        let handler_app = app.clone();
        let server = Server::start_with_base(Recording::CredentialsRedacted, move |root, req| {
            let mut state = handler_state.lock().unwrap_or_else(PoisonError::into_inner);
            dispatch(&mut state, &handler_app, root, req)
        })?;
        Ok(Self { server, state, app })
    }

    /// The API base URL, `http://127.0.0.1:PORT` (what `https://api.github.com` is for GitHub;
    /// no trailing slash, like `GITHUB_API_URL`).
    pub fn api_url(&self) -> String {
        self.server.url().trim_end_matches('/').to_owned()
    }

    /// The App this double knows.
    pub fn app(&self) -> &GithubApp {
        &self.app
    }

    /// Creates the repository `owner/name`.
    pub fn add_repo(&self, full_name: &str) {
        self.lock()
            .repos
            .entry(full_name.to_ascii_lowercase())
            .or_default();
    }

    /// Creates the organisation `org` (for organisation runners).
    pub fn add_org(&self, org: &str) {
        self.lock().orgs.insert(org.to_ascii_lowercase());
    }

    /// Makes `user` a collaborator of `repo` with `role` (`admin`, `maintain`, `write`,
    /// `triage`, `read`). Panics if the repository was not added.
    pub fn set_collaborator(&self, repo: &str, user: &str, role: &str) {
        self.repo_mut(repo, |r| {
            r.collaborators.insert(user.to_owned(), role.to_owned());
        });
    }

    /// Stores `repo`'s variable `name` (upper-cased). Panics if the repository was not added.
    pub fn set_variable(&self, repo: &str, name: &str, value: &str) {
        let now = routes::timestamp(now());
        self.repo_mut(repo, |r| {
            r.variables.insert(
                name.to_ascii_uppercase(),
                GhVariable {
                    value: value.to_owned(),
                    created_at: now.clone(),
                    updated_at: now.clone(),
                },
            );
        });
    }

    /// The value of `repo`'s variable `name` (case-insensitive), if set.
    pub fn variable(&self, repo: &str, name: &str) -> Option<String> {
        self.lock()
            .repos
            .get(&repo.to_ascii_lowercase())?
            .variables
            .get(&name.to_ascii_uppercase())
            .map(|v| v.value.clone())
    }

    /// Creates a personal access token called `name` with these permissions, seeing every
    /// repository, and returns it (`github_pat_…`).
    pub fn add_token(&self, name: &str, permissions: Permissions) -> String {
        let secret = format!("github_pat_{}", token_hex(40));
        self.lock().tokens.insert(
            secret.clone(),
            Token {
                name: name.to_owned(),
                permissions,
                repositories: None,
                expires_at: None,
                revoked: false,
                installation: None,
            },
        );
        secret
    }

    /// Installs the App on `account` with `permissions`, for `repositories` (`owner/name`) or,
    /// when empty, all of the account's; returns the installation id.
    pub fn add_installation(
        &self,
        account: &str,
        repositories: &[&str],
        permissions: Permissions,
    ) -> u64 {
        let mut state = self.lock();
        let id = 10_000 + state.next_id();
        let repositories = (!repositories.is_empty()).then(|| {
            repositories
                .iter()
                .map(|r| r.to_ascii_lowercase())
                .collect()
        });
        state.installations.insert(
            id,
            Installation {
                account: account.to_owned(),
                repositories,
                permissions,
            },
        );
        id
    }

    /// The installation tokens issued so far.
    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        self.lock().issued.clone()
    }

    /// Makes every installation token issued so far expired (GitHub then answers 401).
    pub fn expire_issued_tokens(&self) {
        let mut state = self.lock();
        for token in state.tokens.values_mut() {
            if token.installation.is_some() {
                token.expires_at = Some(0);
            }
        }
    }

    /// The registration and remove tokens issued so far.
    pub fn runner_tokens(&self) -> Vec<RunnerToken> {
        self.lock().runner_tokens.clone()
    }

    /// Adds a runner (see [`Runner::seed`]; GitHub runners belong to a [`RunnerScope::Repo`] or
    /// a [`RunnerScope::Org`]) and returns its id. Panics for another scope.
    pub fn add_runner(&self, runner: Runner) -> u64 {
        assert!(
            matches!(runner.scope, RunnerScope::Repo(_) | RunnerScope::Org(_)),
            "GithubDouble: runners belong to a repository or an organisation"
        );
        self.lock().runners.add(runner)
    }

    /// Changes a runner's status. Panics on an unknown id.
    pub fn set_runner_status(&self, id: u64, status: RunnerStatus) {
        self.lock().runners.set_status(id, status);
    }

    /// Every runner, in the order added.
    pub fn runners(&self) -> Vec<Runner> {
        self.lock().runners.all().to_vec()
    }

    /// The endpoints, as [`GithubDouble::fail_next`] names them.
    pub fn endpoints() -> Vec<&'static str> {
        routes::ROUTES.iter().map(|r| r.endpoint).collect()
    }

    /// Answers the next `times` calls of `endpoint` (see [`GithubDouble::endpoints`], or
    /// [`crate::ANY_ENDPOINT`]) with `fault` instead of doing the work. Panics on an unknown
    /// endpoint.
    pub fn fail_next(&self, endpoint: &str, times: usize, fault: Fault) {
        self.lock()
            .faults
            .add(endpoint, times, fault, &Self::endpoints());
    }

    /// Every call answered so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The underlying server: recorded requests (credentials redacted) and their count.
    pub fn server(&self) -> &Server {
        &self.server
    }

    fn repo_mut(&self, repo: &str, change: impl FnOnce(&mut GhRepo)) {
        let mut state = self.lock();
        let repo = state
            .repos
            .get_mut(&repo.to_ascii_lowercase())
            .unwrap_or_else(|| panic!("GithubDouble: add_repo({repo:?}) first"));
        change(repo);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The committed test key pair's folder, `testdata/forge/`.
pub(crate) fn forge_testdata() -> PathBuf {
    crate::workspace_root().join("testdata/forge")
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// GitHub's error body (§6.1): `{message, documentation_url, status}`.
pub(crate) fn error(status: u16, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.to_string(),
        }),
    )
}

/// A 422 with the Validation Error shape.
pub(crate) fn validation_failed(field: &str, code: &str) -> Reply {
    Reply::json(
        422,
        &json!({
            "message": "Validation Failed",
            "errors": [{"resource": "Request", "field": field, "code": code}],
            "documentation_url": "https://docs.github.com/rest",
            "status": "422",
        }),
    )
}

/// The answer to an injected [`Fault::Status`].
fn fault_error(status: u16) -> Reply {
    let message = match status {
        401 => "Bad credentials",
        403 => "Resource not accessible by integration",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Validation Failed",
        504 => "Gateway Timeout",
        _ => "Server Error",
    };
    error(status, message)
}

fn authenticate(state: &State, app: &GithubApp, req: &Request, now: i64) -> Auth {
    let Some(header) = req.header("authorization") else {
        return Auth::Anonymous;
    };
    let (scheme, value) = header.trim().split_once(' ').unwrap_or((header, ""));
    let value = value.trim();
    let bearer = scheme.eq_ignore_ascii_case("bearer");
    if value.split('.').count() == 3 {
        // A JWT must be sent as `Bearer` (§4.1).
        return match (bearer, apps::verify_jwt(app, value, now)) {
            (false, _) => Auth::BadJwt("A JSON web token could not be decoded".to_owned()),
            (true, Ok(())) => Auth::AppJwt,
            (true, Err(reason)) => Auth::BadJwt(reason),
        };
    }
    if !bearer && !scheme.eq_ignore_ascii_case("token") {
        return Auth::BadToken;
    }
    match state.tokens.get(value) {
        Some(t) if !t.revoked && t.expires_at.is_none_or(|e| now < e) => Auth::Token(t.clone()),
        _ => Auth::BadToken,
    }
}

/// Header checks of §4.4: `User-Agent` required, a known `X-GitHub-Api-Version` if any.
fn check_headers(req: &Request) -> Option<Reply> {
    if req.header("user-agent").is_none_or(str::is_empty) {
        return Some(error(
            403,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
        ));
    }
    match req.header("x-github-api-version") {
        Some(v) if !API_VERSIONS.contains(&v) => Some(error(
            400,
            &format!("Unsupported 'X-GitHub-Api-Version' header: {v}"),
        )),
        _ => None,
    }
}

fn dispatch(state: &mut State, app: &GithubApp, root: &str, req: &Request) -> Reply {
    let now = now();
    let auth = authenticate(state, app, req, now);
    let journal = auth.journal();
    let path = req.path_only().to_owned();
    state.used += 1;
    let mut remaining = RATE_LIMIT.saturating_sub(state.used);
    let (endpoint, fault, reply) = match find_route(routes::ROUTES, &req.method, &path) {
        Matched::Found(route, params) => {
            let fault = state.faults.take(route.endpoint);
            let reply = match (fault, check_headers(req)) {
                (
                    Some(Fault::RateLimit {
                        status,
                        retry_after,
                    }),
                    _,
                ) => {
                    if retry_after.is_none() {
                        remaining = 0;
                    }
                    rate_limited(status, retry_after)
                }
                (Some(fault), _) => fault_reply(fault, fault_error),
                (None, Some(refused)) => refused,
                (None, None) => {
                    let mut ctx = Ctx {
                        state: &mut *state,
                        app,
                        root,
                        req,
                        auth,
                        now,
                    };
                    (route.handler)(&mut ctx, &params)
                }
            };
            (Some(route.endpoint), fault, reply)
        }
        Matched::WrongMethod | Matched::Missing => (None, None, error(404, "Not Found")),
    };
    state.calls.push(Call {
        method: req.method.clone(),
        path: req.path.clone(),
        endpoint,
        body: req.body.clone(),
        auth: journal,
        status: status_of(&reply),
        fault,
    });
    reply
        .with_header("x-ratelimit-limit", &RATE_LIMIT.to_string())
        .with_header("x-ratelimit-remaining", &remaining.to_string())
        .with_header("x-ratelimit-used", &(RATE_LIMIT - remaining).to_string())
        .with_header("x-ratelimit-reset", &(now + 3600).to_string())
        .with_header("x-ratelimit-resource", "core")
        .with_header("Date", &crate::http_date_in(0))
}

/// A rate-limit answer (§6.1): the primary form names the exhausted budget; the secondary form
/// says so and gives `retry-after`.
fn rate_limited(status: u16, retry_after: Option<u64>) -> Reply {
    match retry_after {
        None => error(status, "API rate limit exceeded for installation."),
        Some(secs) => error(
            status,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        )
        .with_header("retry-after", &secs.to_string()),
    }
}

/// The GitHub user object for `login`.
pub(crate) fn user(login: &str) -> Value {
    let bot = login.ends_with("[bot]");
    json!({
        "login": login,
        "id": login.bytes().map(u64::from).sum::<u64>(),
        "type": if bot { "Bot" } else { "User" },
    })
}
