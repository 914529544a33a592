//! [`GiteaDouble`]: a TEST DOUBLE of Gitea, NOT Gitea: its npm registry, packages API v1,
//! version endpoint and the Actions REST API (runners, registration tokens, variables,
//! collaborator permission), with its own in-memory store on the harness [`Server`].
//!
//! Written from the project's reference notes, `gitea-api.md` (§2–§5, §8 version matrix, §9
//! checklist) and `forge-routing-api.md` (§2.3–§2.4, §3.5, §6.2, §8.2); section numbers below
//! are theirs. Nothing here was checked against a running Gitea (neither were the notes).
//!
//! **Version.** [`GiteaDoubleOptions::version`] (default `1.25.4`) switches the rows of the
//! version matrix (`gitea-api.md` §8): duplicate publish 400 (≤1.21) or 409; npm bad-token
//! body `authGroup.Verify` (≤1.24) or `Failed to authenticate user`; npm 500 body; v1 scope
//! error wording (≤1.22 `…scope(s): [x]`, later `…scope(s), required=[x], token scope=y`); no
//! runner REST API at all before 1.22; registration token GET from 1.22 and POST from 1.24;
//! runner list/get/delete from 1.24; variables from 1.22, their `description` from 1.24 and
//! POST answering 201 from 1.25 (204 before); names starting with `CI` refused up to 1.24, only
//! the name `CI` from 1.25 (that 1.25 rule is UNVERIFIED in the notes).
//!
//! **npm registry** (`/api/packages/{owner}/npm/`, `npm.rs`): scoped names in all three
//! spellings; Gitea's packument shape (no `_rev`, no `time`, recomputed `shasum`/`integrity`,
//! legacy tarball URLs built from the root URL, never the `Host`); publish with Gitea's checks;
//! the delete routes; 401 `reqPackageAccess` for a too-low access level; other owners 404
//! `Not found.`.
//!
//! **Packages API v1** (`/api/v1/packages/{owner}`, `packages.rs`): list with `X-Total-Count`
//! and `Link`, one package's versions, one version, `…/files` with four digests, DELETE 204.
//!
//! **Actions and repositories** (`actions.rs`, route table in [`GiteaDouble::endpoints`]):
//! - `GET /api/v1/version` → `{"version": …}` (§4);
//! - runners at instance (`/admin/…`), organisation, repository and user scope: list
//!   (`{"runners":[…],"total_count":n}`, `status` online/offline, `busy`, `ephemeral`, labels
//!   `{id: index, name, type: "custom"}`), get, delete (204), unknown id 404 `Runner not
//!   found`, another scope's runner 404 `No permission to access this runner` (§5);
//! - registration tokens per scope: 200 `{"token": 40 chars}`, the same token on every call;
//! - repository variables: list (bare array, `X-Total-Count`, `Link`), get, create (`value`
//!   required → 422 `[Value]: Required`; 409 `variable name X already exists`; 400 invalid
//!   name), update (204, 404 when missing, rename with `name`), delete (204/404); names stored
//!   upper-case and looked up case-insensitively; `\r\n` stored as `\n` (forge-routing §2.3–2.4);
//! - `GET /api/v1/repos/{owner}/{repo}/collaborators/{user}/permission` →
//!   `{permission, role_name, user}` (forge-routing §1.8).
//!
//! **Auth.** Tokens carry a user and Gitea scopes (`read:repository`, `write:package`, `all`,
//! …; write implies read), sent as `token X`, `Bearer X` (any case) or Basic. Actions routes:
//! no token 401 `token is required`; unknown token 401; missing scope 403 with the version's
//! wording; not the repository owner (a user owning it, an owner of the owning organisation, or a
//! site admin — collaborators with Admin are refused) 403 `user should be the owner of the repo`,
//! reads included; admin routes 403 `user should be the site admin`. Error bodies are
//! `{"message", "url"}` (generic 404 adds `errors`); no rate-limit headers. Every answer
//! carries a `Date` header, as Go's HTTP server sends one.
//!
//! **For tests.** Seed and inspect state ([`GiteaDouble::add_repo`],
//! [`GiteaDouble::add_runner`], [`GiteaDouble::set_variable`], …), inject faults per endpoint
//! ([`GiteaDouble::fail_next`]) and read the call journal ([`GiteaDouble::calls`]), which
//! records which token name authenticated a call, never the token.
//!
//! Not reproduced, or not in the notes: teams other than organisation owners, quotas, package
//! repository linking, npm search and dist-tag routes, SERVE_DIRECT redirects, post-1.27 routes,
//! the runner RPC (act_runner's protobuf API), ephemeral runners disappearing after a task, the
//! 1.24 overload middleware. Texts the notes do not give, written as Gitea's source is believed
//! to have them and not relied on by the notes: the generic 404 message, the 404 for an unknown
//! variable, 405 (empty) for a method a path does not serve (UNCONFIRMED in §2.6), the
//! organisation-owner 403 message, and who may ask for someone else's permission (not
//! checked). Which runners an organisation or repository list includes beyond its own scope is
//! not in the notes: the double lists exactly that scope's runners (the admin list shows all).

mod actions;
mod npm;
mod packages;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::forge_double::{
    Call, CallAuth, Fault, Faults, Matched, Runner, RunnerScope, RunnerStatus, Runners,
    fault_reply, find_route, status_of,
};
use crate::http::{Recording, Reply, Request, Server};

/// How the double behaves.
#[derive(Debug, Clone)]
pub struct GiteaDoubleOptions {
    /// The owner (user or organisation) whose npm registry this is.
    pub owner: String,
    /// Answer a duplicate publish with 400 as Gitea ≤1.21 does, whatever `version` says (kept
    /// for existing callers; a `1.21.x` version does the same).
    pub legacy_duplicate_400: bool,
    /// The Gitea version to behave as (and what `GET /api/v1/version` reports), e.g. `1.22.6`.
    pub version: String,
    /// A private owner: anonymous npm reads get 401 as well.
    pub private: bool,
}

impl Default for GiteaDoubleOptions {
    fn default() -> Self {
        Self {
            owner: "bytelyst".into(),
            legacy_duplicate_400: false,
            version: "1.25.4".into(),
            private: false,
        }
    }
}

/// A Gitea release as `(major, minor)`, for the version matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct GiteaVersion(pub(crate) u32, pub(crate) u32);

impl GiteaVersion {
    /// Reads `1.25.4`, `1.26.0+dev-298-ge95c30eb80` or `v1.22`.
    fn parse(text: &str) -> Result<Self> {
        let mut parts = text.trim_start_matches('v').split(['.', '+', '-']);
        let mut number = || -> Result<u32> {
            parts
                .next()
                .and_then(|p| p.parse().ok())
                .with_context(|| format!("Gitea version {text:?} is not MAJOR.MINOR[.PATCH]"))
        };
        let version = Self(number()?, number()?);
        if version.0 != 1 {
            bail!("the Gitea double knows 1.x releases, not {text}");
        }
        Ok(version)
    }

    /// This release or a later one.
    pub(crate) fn at_least(self, minor: u32) -> bool {
        self >= Self(1, minor)
    }
}

/// One stored npm version.
#[derive(Debug, Clone)]
struct StoredVersion {
    id: u64,
    bytes: Vec<u8>,
    /// The version document from the publish body (without `dist`).
    meta: Value,
    created: u64,
}

#[derive(Debug, Default)]
struct Package {
    versions: BTreeMap<String, StoredVersion>,
    tags: BTreeMap<String, String>,
}

/// An access token: whose it is and what it may do.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    name: String,
    user: String,
    scopes: Vec<String>,
}

impl Token {
    /// Whether the token grants `category` (`repository`, `package`, …) at read or write level.
    pub(crate) fn grants(&self, category: &str, write: bool) -> bool {
        self.scopes.iter().any(|s| {
            s == "all"
                || *s == format!("write:{category}")
                || (!write && *s == format!("read:{category}"))
        })
    }
}

/// A repository's Actions variable.
#[derive(Debug, Clone)]
struct Variable {
    data: String,
    description: String,
}

#[derive(Debug, Default)]
struct Repo {
    id: u64,
    /// Upper-case name → variable.
    variables: BTreeMap<String, Variable>,
    /// Login → `read`, `write` or `admin`.
    collaborators: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct State {
    packages: BTreeMap<String, Package>,
    /// Secret → token.
    tokens: BTreeMap<String, Token>,
    site_admins: BTreeSet<String>,
    /// Organisation → its owners.
    orgs: BTreeMap<String, BTreeSet<String>>,
    /// `owner/name` → repository.
    repos: BTreeMap<String, Repo>,
    runners: Runners,
    registration_tokens: BTreeMap<RunnerScope, String>,
    faults: Faults,
    calls: Vec<Call>,
    next_id: u64,
}

impl State {
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Whether `login` owns the repositories of `owner`: it is `owner`, an owner of the
    /// organisation `owner`, or a site admin.
    fn owns(&self, login: &str, owner: &str) -> bool {
        login == owner
            || self.orgs.get(owner).is_some_and(|o| o.contains(login))
            || self.site_admins.contains(login)
    }
}

/// A running Gitea test double (see the module docs). Stops when dropped.
#[derive(Debug)]
pub struct GiteaDouble {
    server: Server,
    state: Arc<Mutex<State>>,
    root: String,
    owner: String,
}

/// Who is calling, as the npm and packages routes see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    /// A token without any package scope.
    NoPackageScope,
    Reader,
    Writer,
    Invalid,
}

/// The authentication of one request.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    Anonymous,
    Invalid,
    Token(Token),
}

impl Auth {
    fn caller(&self) -> Caller {
        match self {
            Self::Anonymous => Caller::Anonymous,
            Self::Invalid => Caller::Invalid,
            Self::Token(t) if t.grants("package", true) => Caller::Writer,
            Self::Token(t) if t.grants("package", false) => Caller::Reader,
            Self::Token(_) => Caller::NoPackageScope,
        }
    }

    fn journal(&self) -> CallAuth {
        match self {
            Self::Anonymous => CallAuth::Absent,
            Self::Invalid => CallAuth::Unknown,
            Self::Token(t) => CallAuth::Known(t.name.clone()),
        }
    }
}

/// Everything a route handler sees.
pub(crate) struct Ctx<'a> {
    state: &'a mut State,
    options: &'a GiteaDoubleOptions,
    version: GiteaVersion,
    root: &'a str,
    req: &'a Request,
    auth: Auth,
}

impl GiteaDouble {
    /// Starts a double for `owner` with the default options.
    pub fn start(owner: &str) -> Result<Self> {
        Self::start_with(GiteaDoubleOptions {
            owner: owner.to_owned(),
            ..GiteaDoubleOptions::default()
        })
    }

    /// Starts a double with `options` on a free loopback port. Fails on a version that is not
    /// `1.MINOR[.PATCH]`.
    pub fn start_with(options: GiteaDoubleOptions) -> Result<Self> {
        let version = GiteaVersion::parse(&options.version)?;
        let state = Arc::new(Mutex::new(State::default()));
        let handler_state = Arc::clone(&state);
        let handler_options = options.clone();
        let server = Server::start_with_base(Recording::CredentialsRedacted, move |root, req| {
            let mut state = handler_state.lock().unwrap_or_else(PoisonError::into_inner);
            route(&mut state, &handler_options, version, root, req)
        })?;
        Ok(Self {
            root: server.url(),
            server,
            state,
            owner: options.owner,
        })
    }

    /// The ROOT_URL, `http://127.0.0.1:PORT/`.
    pub fn root_url(&self) -> String {
        self.root.clone()
    }

    /// The API base a job sees as `GITHUB_API_URL`: `http://127.0.0.1:PORT/api/v1`.
    pub fn api_url(&self) -> String {
        format!("{}api/v1", self.root)
    }

    /// The npm registry URL, `http://127.0.0.1:PORT/api/packages/{owner}/npm/`.
    pub fn url(&self) -> String {
        format!("{}api/packages/{}/npm/", self.root, self.owner)
    }

    /// Creates an access token of the owner; `write` gives it `write:package`, else only
    /// `read:package`.
    pub fn add_token(&self, write: bool) -> String {
        let scope = if write {
            "write:package"
        } else {
            "read:package"
        };
        let name = format!("token-{}", self.lock().next_id + 1);
        let owner = self.owner.clone();
        self.add_named_token(&name, &owner, &[scope])
    }

    /// Creates an access token called `name` for `user` with these Gitea scopes
    /// (`write:repository`, `read:admin`, `all`, …) and returns its secret (40 hex characters).
    pub fn add_named_token(&self, name: &str, user: &str, scopes: &[&str]) -> String {
        let secret = crate::forge_double::token_hex(40);
        let token = Token {
            name: name.to_owned(),
            user: user.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        };
        let mut state = self.lock();
        state.next_id();
        state.tokens.insert(secret.clone(), token);
        secret
    }

    /// Makes `login` a site administrator.
    pub fn add_site_admin(&self, login: &str) {
        self.lock().site_admins.insert(login.to_owned());
    }

    /// Creates the organisation `org` with these owners (its Owners team).
    pub fn add_org(&self, org: &str, owners: &[&str]) {
        self.lock().orgs.insert(
            org.to_owned(),
            owners.iter().map(|o| (*o).to_owned()).collect(),
        );
    }

    /// Creates the repository `owner/name` (the owner is a user unless added with
    /// [`GiteaDouble::add_org`]).
    pub fn add_repo(&self, full_name: &str) {
        let mut state = self.lock();
        let id = state.next_id();
        state
            .repos
            .entry(full_name.to_owned())
            .or_insert_with(|| Repo {
                id,
                ..Repo::default()
            });
    }

    /// Makes `user` a collaborator of `repo` with `permission` (`read`, `write` or `admin`).
    /// Panics if the repository was not added.
    pub fn set_collaborator(&self, repo: &str, user: &str, permission: &str) {
        self.lock()
            .repos
            .get_mut(repo)
            .unwrap_or_else(|| panic!("GiteaDouble: add_repo({repo:?}) first"))
            .collaborators
            .insert(user.to_owned(), permission.to_owned());
    }

    /// Stores the variable `name` (upper-cased, as Gitea does) of `repo`. Panics if the
    /// repository was not added.
    pub fn set_variable(&self, repo: &str, name: &str, value: &str) {
        self.lock()
            .repos
            .get_mut(repo)
            .unwrap_or_else(|| panic!("GiteaDouble: add_repo({repo:?}) first"))
            .variables
            .insert(
                name.to_ascii_uppercase(),
                Variable {
                    data: value.to_owned(),
                    description: String::new(),
                },
            );
    }

    /// The value of `repo`'s variable `name` (case-insensitive), if set.
    pub fn variable(&self, repo: &str, name: &str) -> Option<String> {
        self.lock()
            .repos
            .get(repo)?
            .variables
            .get(&name.to_ascii_uppercase())
            .map(|v| v.data.clone())
    }

    /// Adds a runner (see [`Runner::seed`]) and returns its id.
    pub fn add_runner(&self, runner: Runner) -> u64 {
        self.lock().runners.add(runner)
    }

    /// Changes a runner's status (it went offline, picked up a job, …). Panics on an unknown id.
    pub fn set_runner_status(&self, id: u64, status: RunnerStatus) {
        self.lock().runners.set_status(id, status);
    }

    /// Every runner, in the order added.
    pub fn runners(&self) -> Vec<Runner> {
        self.lock().runners.all().to_vec()
    }

    /// The registration token issued for `scope`, if one was asked for.
    pub fn registration_token(&self, scope: &RunnerScope) -> Option<String> {
        self.lock().registration_tokens.get(scope).cloned()
    }

    /// The versions stored for `name`, in SemVer-sorted key order.
    pub fn versions(&self, name: &str) -> Vec<String> {
        self.lock()
            .packages
            .get(name)
            .map(|p| p.versions.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Replaces the stored bytes of `name@version` (claims are recomputed, as Gitea does from
    /// its blob): a registry that serves other bytes than were published.
    pub fn replace_bytes(&self, name: &str, version: &str, bytes: &[u8]) -> Result<()> {
        let mut state = self.lock();
        let stored = state
            .packages
            .get_mut(name)
            .and_then(|p| p.versions.get_mut(version))
            .ok_or_else(|| anyhow::anyhow!("{name}@{version} is not stored"))?;
        stored.bytes = bytes.to_vec();
        Ok(())
    }

    /// The endpoints of the route table, as [`GiteaDouble::fail_next`] names them (all of them,
    /// whatever the version; one a version lacks answers as that version would).
    pub fn endpoints() -> Vec<&'static str> {
        actions::ROUTES.iter().map(|r| r.endpoint).collect()
    }

    /// Answers the next `times` calls of `endpoint` (see [`GiteaDouble::endpoints`], or
    /// [`crate::ANY_ENDPOINT`]) with `fault` instead of doing the work. Panics on an unknown
    /// endpoint.
    pub fn fail_next(&self, endpoint: &str, times: usize, fault: Fault) {
        self.lock()
            .faults
            .add(endpoint, times, fault, &Self::endpoints());
    }

    /// Every call answered so far (npm and packages routes have no `endpoint`).
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The underlying server: recorded requests (credentials redacted) and their count.
    pub fn server(&self) -> &Server {
        &self.server
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(super) fn json_reply(status: u16, value: &Value) -> Reply {
    Reply::bytes(
        status,
        "application/json;charset=utf-8",
        format!("{value}\n"),
    )
}

pub(super) fn npm_error(status: u16, message: &str) -> Reply {
    json_reply(status, &json!({ "error": message }))
}

pub(super) fn text(status: u16, body: &str) -> Reply {
    Reply::bytes(status, "text/plain; charset=utf-8", body.to_owned())
}

pub(super) fn req_package_access() -> Reply {
    text(401, "reqPackageAccess\n")
        .with_header("WWW-Authenticate", "Basic realm=\"Gitea Package API\"")
}

pub(super) fn v1_error(root: &str, status: u16, message: &str) -> Reply {
    json_reply(
        status,
        &json!({ "message": message, "url": format!("{root}api/swagger") }),
    )
}

pub(super) fn user(owner: &str) -> Value {
    json!({
        "id": 1, "login": owner, "login_name": "", "source_id": 0, "full_name": "",
        "email": format!("{owner}@noreply.localhost"), "avatar_url": "", "html_url": "",
        "language": "", "is_admin": false, "restricted": false, "active": true,
        "prohibit_login": false, "location": "", "website": "", "description": "",
        "visibility": "public", "followers_count": 0, "following_count": 0,
        "starred_repos_count": 0, "username": owner,
    })
}

/// Gitea's `Link` header for page `page` of `last`: `<url>; rel="next"` entries comma-joined
/// without spaces, in the order next, last, first, prev (`gitea-api.md` §3).
pub(super) fn link_header(
    page: usize,
    last: usize,
    url_for: impl Fn(usize) -> String,
) -> Option<String> {
    let mut links = Vec::new();
    if page < last {
        links.push(format!("<{}>; rel=\"next\"", url_for(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", url_for(last)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"first\"", url_for(1)));
        links.push(format!("<{}>; rel=\"prev\"", url_for(page - 1)));
    }
    (!links.is_empty()).then(|| links.join(","))
}

/// The 403 for a token without the scope a route needs, worded as this version words it
/// (version matrix: changed after 1.22).
pub(super) fn scope_message(version: GiteaVersion, required: &str, token: &Token) -> String {
    if version.at_least(23) {
        format!(
            "token does not have at least one of required scope(s), required=[{required}], token scope={}",
            token.scopes.join(",")
        )
    } else {
        format!("token does not have at least one of required scope(s): [{required}]")
    }
}

/// Gitea's generic 404 (an unknown path or repository).
pub(super) fn not_found(root: &str) -> Reply {
    json_reply(
        404,
        &json!({
            "message": "The target couldn't be found.",
            "url": format!("{root}api/swagger"),
            "errors": [],
        }),
    )
}

/// Reads the token from `Authorization: token X`, `Bearer X` (scheme in any case) or Basic with
/// the token as user or password.
fn authenticate(state: &State, req: &Request) -> Auth {
    let Some(header) = req.header("authorization") else {
        return Auth::Anonymous;
    };
    let (scheme, value) = header.trim().split_once(' ').unwrap_or((header, ""));
    let secret = if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        let (user, pass) = decoded.split_once(':').unwrap_or((&decoded, ""));
        if state.tokens.contains_key(pass) {
            pass.to_owned()
        } else {
            user.to_owned()
        }
    } else if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
        value.trim().to_owned()
    } else {
        return Auth::Invalid;
    };
    state
        .tokens
        .get(&secret)
        .map_or(Auth::Invalid, |t| Auth::Token(t.clone()))
}

fn route(
    state: &mut State,
    options: &GiteaDoubleOptions,
    version: GiteaVersion,
    root: &str,
    req: &Request,
) -> Reply {
    let auth = authenticate(state, req);
    let journal_auth = auth.journal();
    let path = req.path_only().to_owned();
    let mut ctx = Ctx {
        state,
        options,
        version,
        root,
        req,
        auth,
    };
    let (endpoint, fault, reply) = if let Some(rest) = path.strip_prefix("/api/packages/") {
        (None, None, npm::route(&mut ctx, rest))
    } else if let Some(rest) = path.strip_prefix("/api/v1/packages/") {
        (None, None, packages::route(&mut ctx, rest))
    } else {
        let available = actions::ROUTES
            .iter()
            .filter(|r| version >= r.handler.since);
        match find_route(available, &req.method, &path) {
            Matched::Found(route, params) => match ctx.state.faults.take(route.endpoint) {
                Some(fault) => (
                    Some(route.endpoint),
                    Some(fault),
                    fault_reply(fault, |status| fault_error(root, status)),
                ),
                None => (
                    Some(route.endpoint),
                    None,
                    (route.handler.run)(&mut ctx, &params),
                ),
            },
            Matched::WrongMethod => (None, None, Reply::status(405)),
            Matched::Missing => (None, None, not_found(root)),
        }
    };
    ctx.state.calls.push(Call {
        method: req.method.clone(),
        path: req.path.clone(),
        endpoint,
        body: req.body.clone(),
        auth: journal_auth,
        status: status_of(&reply),
        fault,
    });
    // Gitea's Go server dates every answer (a client's clock-skew check reads it).
    reply.with_header("Date", &crate::http_date_in(0))
}

/// The answer to an injected [`Fault::Status`]: Gitea's v1 error shape.
fn fault_error(root: &str, status: u16) -> Reply {
    let message = match status {
        401 => "token is required",
        403 => "user should be the owner of the repo",
        404 => "The target couldn't be found.",
        _ => "",
    };
    v1_error(root, status, message)
}
