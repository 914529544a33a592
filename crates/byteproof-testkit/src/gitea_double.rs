//! [`GiteaDouble`]: a TEST DOUBLE of Gitea's npm registry and packages API, NOT Gitea.
//!
//! Written from the project's reference notes on Gitea (`gitea-api.md` §2–§4 and the §9
//! checklist), with its own in-memory store behind a [`ScriptedServer`]. Unlike
//! [`crate::GiteaProxy`] (Gitea's URL shapes in front of a Verdaccio), this double stores
//! packages itself, so it reproduces what Gitea does differently from Verdaccio:
//!
//! - npm routes under `/api/packages/{owner}/npm/`, scoped names in all three spellings
//!   (`@s/n`, `@s%2fn`, `%40s%2Fn`); any other owner answers 404 `text/plain` `Not found.\n`;
//! - the packument in Gitea's shape: no `_rev`, no `time`, `repository` always
//!   `{"type":"","url":""}`, `dist.shasum`/`dist.integrity` recomputed from the stored bytes,
//!   `dist.tarball` in the ≤1.26 legacy form `…/npm/%40s%2Fn/-/<ver>/<file>` built from the
//!   double's root URL (never the request's `Host`); both tarball routes are served;
//! - publish (`PUT /{pkg}`): one version and one attachment used, name validated with Gitea's
//!   lowercase pattern (a leading `_` is refused), `dist.integrity` (sha1 or sha512 only)
//!   checked, every body dist-tag pointed at the new version; 201 with an empty body; 409
//!   `package version already exists` on a duplicate (400 with
//!   [`GiteaDoubleOptions::legacy_duplicate_400`], as Gitea ≤1.21);
//! - `DELETE /{pkg}/-/{version}/{file}/-rev/{x}` (one version, 200), `DELETE /{pkg}/-rev/{x}`
//!   (all versions, 200), `PUT /{pkg}/-rev/{x}` (does nothing, 200);
//! - 401 `text/plain` `reqPackageAccess\n` with `WWW-Authenticate` when the access level is too
//!   low (anonymous or read-only token writing); 401 `Failed to authenticate user\n` for an
//!   unknown token;
//! - packages API v1: `GET /api/v1/packages/{owner}?type=npm` (one entry per version,
//!   newest first, `X-Total-Count` and `Link`), `GET /api/v1/packages/{owner}/npm/{name}`,
//!   `GET|DELETE /api/v1/packages/{owner}/npm/{name}/{version}` (DELETE 204), `…/files` with
//!   md5/sha1/sha256/sha512; 401 `token is required` when anonymous; 403 for a read-only token
//!   deleting;
//! - `GET /api/v1/version`.
//!
//! Tokens (from [`GiteaDouble::add_token`]) are accepted as `Authorization: token X`,
//! `Bearer X` (scheme word in any case) or Basic with the token as user or password.
//!
//! Not reproduced: users, organisations and teams, token scopes beyond read/write, quotas,
//! repository linking, search, dist-tag routes, SERVE_DIRECT redirects, the post-1.27 routes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use anyhow::Result;
use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use crate::gitea::{QUERY_ESCAPE, split_package};
use crate::scripted::{Reply, Request, ScriptedServer, percent_decode, unscoped};

/// Go's `url.PathEscape` for one segment (a superset of what Gitea leaves unescaped is fine
/// for versions and file names).
const PATH_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'+');

/// How the double behaves.
#[derive(Debug, Clone)]
pub struct GiteaDoubleOptions {
    /// The owner (user or organisation) whose registry this is.
    pub owner: String,
    /// Answer a duplicate publish with 400 (Gitea ≤1.21) instead of 409 (≥1.22).
    pub legacy_duplicate_400: bool,
    /// What `GET /api/v1/version` reports.
    pub version: String,
    /// A private owner: anonymous reads get 401 as well.
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

/// One stored version.
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

#[derive(Debug, Default)]
struct State {
    packages: BTreeMap<String, Package>,
    /// token → may write.
    tokens: BTreeMap<String, bool>,
    next_id: u64,
}

/// A running Gitea test double (see the module docs). Stops when dropped.
#[derive(Debug)]
pub struct GiteaDouble {
    server: ScriptedServer,
    state: Arc<Mutex<State>>,
    root: String,
    owner: String,
}

/// The authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Reader,
    Writer,
    Invalid,
}

impl GiteaDouble {
    /// Starts a double for `owner` with the default options.
    pub fn start(owner: &str) -> Result<Self> {
        Self::start_with(GiteaDoubleOptions {
            owner: owner.to_owned(),
            ..GiteaDoubleOptions::default()
        })
    }

    /// Starts a double with `options` on a free loopback port.
    pub fn start_with(options: GiteaDoubleOptions) -> Result<Self> {
        let state = Arc::new(Mutex::new(State::default()));
        let root: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
        let handler_state = Arc::clone(&state);
        let handler_root = Arc::clone(&root);
        let handler_options = options.clone();
        let server = ScriptedServer::start(move |req| {
            let root = handler_root.get().map_or("", String::as_str);
            let mut state = handler_state.lock().unwrap_or_else(PoisonError::into_inner);
            route(&mut state, &handler_options, root, req)
        })?;
        let url = format!("http://127.0.0.1:{}/", server.port());
        let _ = root.set(url.clone());
        Ok(Self {
            server,
            state,
            root: url,
            owner: options.owner,
        })
    }

    /// The ROOT_URL, `http://127.0.0.1:PORT/`.
    pub fn root_url(&self) -> String {
        self.root.clone()
    }

    /// The npm registry URL, `http://127.0.0.1:PORT/api/packages/{owner}/npm/`.
    pub fn url(&self) -> String {
        format!("{}api/packages/{}/npm/", self.root, self.owner)
    }

    /// Creates an access token; `write` gives it `write:package`, else only `read:package`.
    pub fn add_token(&self, write: bool) -> String {
        let mut state = self.lock();
        state.next_id += 1;
        let token = format!(
            "{:040x}",
            u128::from(state.next_id) * 0x9e37_79b9_7f4a_7c15 + u128::from(self.server.port())
        );
        state.tokens.insert(token.clone(), write);
        token
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

    /// The underlying server: recorded requests and their count.
    pub fn server(&self) -> &ScriptedServer {
        &self.server
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn json_reply(status: u16, value: &Value) -> Reply {
    Reply::bytes(
        status,
        "application/json;charset=utf-8",
        format!("{value}\n"),
    )
}

fn npm_error(status: u16, message: &str) -> Reply {
    json_reply(status, &json!({ "error": message }))
}

fn text(status: u16, body: &str) -> Reply {
    Reply::bytes(status, "text/plain; charset=utf-8", body.to_owned())
}

fn req_package_access() -> Reply {
    text(401, "reqPackageAccess\n")
        .with_header("WWW-Authenticate", "Basic realm=\"Gitea Package API\"")
}

fn caller(state: &State, req: &Request) -> Caller {
    let Some(header) = req.header("authorization") else {
        return Caller::Anonymous;
    };
    let (scheme, value) = header.trim().split_once(' ').unwrap_or((header, ""));
    let token = if scheme.eq_ignore_ascii_case("basic") {
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
        return Caller::Invalid;
    };
    match state.tokens.get(&token) {
        Some(true) => Caller::Writer,
        Some(false) => Caller::Reader,
        None => Caller::Invalid,
    }
}

fn route(state: &mut State, options: &GiteaDoubleOptions, root: &str, req: &Request) -> Reply {
    let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
    if path == "/api/v1/version" && req.method == "GET" {
        return json_reply(200, &json!({ "version": options.version }));
    }
    if let Some(rest) = path.strip_prefix("/api/packages/") {
        let (owner, rest) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(rest) = rest.strip_prefix("npm/") else {
            return text(404, "Not found.\n");
        };
        if owner != options.owner {
            return text(404, "Not found.\n");
        }
        return npm_route(state, options, root, req, rest);
    }
    if let Some(rest) = path.strip_prefix("/api/v1/packages/") {
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        return v1_route(state, options, root, req, &segments, query);
    }
    text(404, "Not found.\n")
}

/// Gitea's name pattern (v1.20+): lowercase only, no leading `_` or `.`.
fn valid_name(name: &str) -> bool {
    fn part(p: &str) -> bool {
        let mut bytes = p.bytes();
        bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && bytes.all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'_')
            })
    }
    if name.is_empty() || name.len() > 214 || name.trim() != name {
        return false;
    }
    match name.strip_prefix('@') {
        Some(rest) => rest
            .split_once('/')
            .is_some_and(|(scope, bare)| part(scope) && part(bare)),
        None => part(name),
    }
}

fn file_name(name: &str, version: &str) -> String {
    format!("{}-{version}.tgz", unscoped(name)).to_ascii_lowercase()
}

fn tarball_url(root: &str, owner: &str, name: &str, version: &str) -> String {
    format!(
        "{root}api/packages/{owner}/npm/{}/-/{}/{}",
        utf8_percent_encode(name, QUERY_ESCAPE),
        utf8_percent_encode(version, PATH_ESCAPE),
        utf8_percent_encode(&file_name(name, version), PATH_ESCAPE)
    )
}

fn npm_route(
    state: &mut State,
    options: &GiteaDoubleOptions,
    root: &str,
    req: &Request,
    rest: &str,
) -> Reply {
    let who = caller(state, req);
    if who == Caller::Invalid {
        return text(401, "Failed to authenticate user\n");
    }
    let write = matches!(req.method.as_str(), "PUT" | "DELETE");
    let allowed = match who {
        Caller::Writer => true,
        Caller::Reader => !write,
        _ => !write && !options.private,
    };
    if !allowed {
        return req_package_access();
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let (name, tail) = split_package(&segments);
    if name.is_empty() {
        return text(404, "Not found.\n");
    }
    let owner = options.owner.as_str();
    match (req.method.as_str(), tail) {
        ("GET", [] | [""]) => packument(state, root, owner, &name),
        ("PUT", [] | [""]) => publish(state, options, req),
        ("GET", ["-", version, file]) => download(
            state,
            &name,
            Some(&percent_decode(version)),
            &percent_decode(file),
        ),
        ("GET", ["-", file]) => download(state, &name, None, &percent_decode(file)),
        ("DELETE", ["-", version, _file, "-rev", _]) => {
            let version = percent_decode(version);
            let Some(pkg) = state.packages.get_mut(&name) else {
                return npm_error(404, "package does not exist");
            };
            if pkg.versions.remove(&version).is_none() {
                return npm_error(404, "package does not exist");
            }
            pkg.tags.retain(|_, v| *v != version);
            if pkg.versions.is_empty() {
                state.packages.remove(&name);
            }
            Reply::status(200)
        }
        ("DELETE", ["-rev", _]) => match state.packages.remove(&name) {
            Some(_) => Reply::status(200),
            None => npm_error(404, ""),
        },
        ("PUT", ["-rev", _]) => Reply::status(200),
        _ => npm_error(404, ""),
    }
}

fn semver_key(v: &str) -> Option<semver::Version> {
    semver::Version::parse(v).ok()
}

fn packument(state: &State, root: &str, owner: &str, name: &str) -> Reply {
    let Some(pkg) = state.packages.get(name).filter(|p| !p.versions.is_empty()) else {
        return npm_error(404, "");
    };
    let mut versions = serde_json::Map::new();
    for (version, stored) in &pkg.versions {
        let digests = byteproof_hash::hash_bytes(&stored.bytes);
        let meta = &stored.meta;
        let mut doc = serde_json::Map::new();
        doc.insert("_id".into(), json!(format!("{name}@{version}")));
        doc.insert("name".into(), json!(name));
        doc.insert("version".into(), json!(version));
        doc.insert(
            "description".into(),
            meta.get("description").cloned().unwrap_or(json!("")),
        );
        doc.insert("author".into(), json!({ "name": author_name(meta) }));
        for key in ["homepage", "license"] {
            if let Some(v) = meta.get(key).filter(|v| v.as_str() != Some("")) {
                doc.insert(key.into(), v.clone());
            }
        }
        doc.insert("repository".into(), json!({"type": "", "url": ""}));
        for key in [
            "dependencies",
            "bundleDependencies",
            "devDependencies",
            "peerDependencies",
            "peerDependenciesMeta",
            "bin",
            "optionalDependencies",
            "readme",
        ] {
            if let Some(v) = meta.get(key) {
                doc.insert(key.into(), v.clone());
            }
        }
        doc.insert(
            "dist".into(),
            json!({
                "integrity": digests.integrity(),
                "shasum": digests.sha1_hex(),
                "tarball": tarball_url(root, owner, name, version),
            }),
        );
        versions.insert(version.clone(), Value::Object(doc));
    }
    let highest = pkg
        .versions
        .iter()
        .max_by(|a, b| semver_key(a.0).cmp(&semver_key(b.0)))
        .map(|(_, s)| &s.meta);
    let top = |key: &str| highest.and_then(|m| m.get(key)).cloned();
    let mut doc = serde_json::Map::new();
    doc.insert("_id".into(), json!(name));
    doc.insert("name".into(), json!(name));
    doc.insert(
        "description".into(),
        top("description").unwrap_or(json!("")),
    );
    if !pkg.tags.is_empty() {
        doc.insert("dist-tags".into(), json!(pkg.tags));
    }
    doc.insert("versions".into(), Value::Object(versions));
    if let Some(readme) = top("readme").filter(|r| r.as_str() != Some("")) {
        doc.insert("readme".into(), readme);
    }
    doc.insert("repository".into(), json!({"type": "", "url": ""}));
    doc.insert(
        "author".into(),
        json!({ "name": highest.map(author_name).unwrap_or_default() }),
    );
    if let Some(license) = top("license") {
        doc.insert("license".into(), license);
    }
    json_reply(200, &Value::Object(doc))
}

fn author_name(meta: &Value) -> String {
    match meta.get("author") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

fn publish(state: &mut State, options: &GiteaDoubleOptions, req: &Request) -> Reply {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return npm_error(500, "internal server error");
    };
    let Some((_, meta)) = body
        .get("versions")
        .and_then(Value::as_object)
        .and_then(|v| v.iter().next())
    else {
        return npm_error(400, "package is invalid");
    };
    // The stored name comes from the version document, never from the URL.
    let name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !valid_name(&name) {
        return npm_error(400, "package name is invalid");
    }
    let Some(version) = meta
        .get("version")
        .and_then(Value::as_str)
        .and_then(semver_key)
    else {
        return npm_error(400, "package version is invalid");
    };
    let version = version.to_string();
    let Some(bytes) = body
        .get("_attachments")
        .and_then(Value::as_object)
        .and_then(|a| a.values().next())
        .and_then(|a| a.get("data"))
        .and_then(Value::as_str)
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
    else {
        return npm_error(400, "package attachment is invalid");
    };
    let integrity = meta
        .pointer("/dist/integrity")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let digests = byteproof_hash::hash_bytes(&bytes);
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let ok = match integrity.split_once('-') {
        Some(("sha1", v)) => v == b64(&digests.sha1),
        Some(("sha512", v)) => v == b64(&digests.sha512),
        _ => false,
    };
    if !ok {
        return npm_error(400, "failed to validate integrity");
    }
    let tags: Vec<String> = body
        .get("dist-tags")
        .and_then(Value::as_object)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    if tags
        .iter()
        .any(|t| semver_key(t.trim_start_matches('v')).is_some() || looks_like_version(t))
    {
        return npm_error(400, "The tag name is invalid");
    }
    if state
        .packages
        .get(&name)
        .is_some_and(|p| p.versions.contains_key(&version))
    {
        let status = if options.legacy_duplicate_400 {
            400
        } else {
            409
        };
        return npm_error(status, "package version already exists");
    }
    state.next_id += 1;
    let id = state.next_id;
    let mut meta = meta.clone();
    if let Some(obj) = meta.as_object_mut() {
        obj.remove("dist");
    }
    let pkg = state.packages.entry(name).or_default();
    pkg.versions.insert(
        version.clone(),
        StoredVersion {
            id,
            bytes,
            meta,
            created: id,
        },
    );
    for tag in tags {
        pkg.tags.insert(tag, version.clone());
    }
    Reply::status(201)
}

/// `1.0` or `v1.0`: hashicorp/go-version accepts these, so Gitea refuses them as tags.
fn looks_like_version(tag: &str) -> bool {
    let t = tag.strip_prefix('v').unwrap_or(tag);
    !t.is_empty()
        && t.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn download(state: &State, name: &str, version: Option<&str>, file: &str) -> Reply {
    let Some(pkg) = state.packages.get(name) else {
        return npm_error(404, "package does not exist");
    };
    let stored = match version {
        Some(version) => {
            let Some(stored) = pkg.versions.get(version) else {
                return npm_error(404, "package does not exist");
            };
            if file_name(name, version) != file.to_ascii_lowercase() {
                return npm_error(404, "package file does not exist");
            }
            stored
        }
        None => {
            let found = pkg
                .versions
                .iter()
                .find(|(v, _)| file_name(name, v) == file.to_ascii_lowercase());
            let Some((_, stored)) = found else {
                return npm_error(404, "");
            };
            stored
        }
    };
    let file = file.to_ascii_lowercase();
    Reply::tarball(stored.bytes.clone())
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header(
            "Content-Disposition",
            &format!("attachment; filename=\"{file}\"; filename*=UTF-8''{file}"),
        )
}

fn v1_error(root: &str, status: u16, message: &str) -> Reply {
    json_reply(
        status,
        &json!({ "message": message, "url": format!("{root}api/swagger") }),
    )
}

fn user(owner: &str) -> Value {
    json!({
        "id": 1, "login": owner, "login_name": "", "source_id": 0, "full_name": "",
        "email": format!("{owner}@noreply.localhost"), "avatar_url": "", "html_url": "",
        "language": "", "is_admin": false, "restricted": false, "active": true,
        "prohibit_login": false, "location": "", "website": "", "description": "",
        "visibility": "public", "followers_count": 0, "following_count": 0,
        "starred_repos_count": 0, "username": owner,
    })
}

fn package_json(
    root: &str,
    owner: &str,
    name: &str,
    version: &str,
    stored: &StoredVersion,
) -> Value {
    json!({
        "id": stored.id,
        "owner": user(owner),
        "repository": null,
        "creator": user(owner),
        "type": "npm",
        "name": name,
        "version": version,
        "html_url": format!(
            "{root}{owner}/-/packages/npm/{}/{}",
            utf8_percent_encode(name, PATH_ESCAPE),
            utf8_percent_encode(version, PATH_ESCAPE)
        ),
        "created_at": rfc3339(1_767_225_600 + stored.created),
    })
}

fn v1_route(
    state: &mut State,
    options: &GiteaDoubleOptions,
    root: &str,
    req: &Request,
    segments: &[&str],
    query: &str,
) -> Reply {
    match caller(state, req) {
        Caller::Anonymous => return v1_error(root, 401, "token is required"),
        Caller::Invalid => return v1_error(root, 401, "invalid username, password or token"),
        Caller::Reader if req.method != "GET" => {
            return v1_error(
                root,
                403,
                "token does not have at least one of required scope(s), required=[write:package], token scope=read:package",
            );
        }
        _ => {}
    }
    let owner = options.owner.as_str();
    let Some((&first, rest)) = segments.split_first() else {
        return text(404, "Not found.\n");
    };
    if first != owner {
        return v1_error(root, 404, "user redirect does not exist [name: unknown]");
    }
    let not_found = || {
        json_reply(
            404,
            &json!({
                "message": "GetVersionByNameAndVersion: package does not exist",
                "url": format!("{root}api/swagger"),
                "errors": ["package does not exist"],
            }),
        )
    };
    match (req.method.as_str(), rest) {
        ("GET", []) => list(state, root, owner, query),
        ("GET", ["npm", name]) => {
            let name = percent_decode(name);
            let Some(pkg) = state.packages.get(&name) else {
                return not_found();
            };
            let mut all: Vec<_> = pkg.versions.iter().collect();
            all.sort_by_key(|b| std::cmp::Reverse(b.1.created));
            let items: Vec<Value> = all
                .into_iter()
                .map(|(v, s)| package_json(root, owner, &name, v, s))
                .collect();
            json_reply(200, &Value::Array(items))
        }
        (method @ ("GET" | "DELETE"), ["npm", name, version]) => {
            let (name, version) = (percent_decode(name), percent_decode(version));
            let Some(pkg) = state.packages.get_mut(&name) else {
                return not_found();
            };
            if method == "GET" {
                return match pkg.versions.get(&version) {
                    Some(s) => json_reply(200, &package_json(root, owner, &name, &version, s)),
                    None => not_found(),
                };
            }
            if pkg.versions.remove(&version).is_none() {
                return not_found();
            }
            pkg.tags.retain(|_, v| *v != version);
            if pkg.versions.is_empty() {
                state.packages.remove(&name);
            }
            Reply::status(204)
        }
        ("GET", ["npm", name, version, "files"]) => {
            let (name, version) = (percent_decode(name), percent_decode(version));
            let Some(stored) = state
                .packages
                .get(&name)
                .and_then(|p| p.versions.get(&version))
            else {
                return not_found();
            };
            let d = byteproof_hash::hash_bytes(&stored.bytes);
            let md5 = {
                use md5::Digest as _;
                byteproof_hash::hex(&md5::Md5::digest(&stored.bytes))
            };
            json_reply(
                200,
                &json!([{
                    "id": stored.id,
                    "size": stored.bytes.len(),
                    "name": file_name(&name, &version),
                    "md5": md5,
                    "sha1": d.sha1_hex(),
                    "sha256": d.sha256_hex(),
                    "sha512": d.sha512_hex(),
                }]),
            )
        }
        _ => text(404, "Not found.\n"),
    }
}

fn list(state: &State, root: &str, owner: &str, query: &str) -> Reply {
    let param = |key: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| percent_decode(v))
    };
    if param("type").is_some_and(|t| !t.is_empty() && t != "npm") {
        return json_reply(200, &json!([])).with_header("X-Total-Count", "0");
    }
    let q = param("q").unwrap_or_default();
    let page = param("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let limit = param("limit")
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|&l| l > 0)
        .unwrap_or(30)
        .min(50);
    let mut all: Vec<(&String, &String, &StoredVersion)> = state
        .packages
        .iter()
        .filter(|(name, _)| name.contains(&q))
        .flat_map(|(name, p)| p.versions.iter().map(move |(v, s)| (name, v, s)))
        .collect();
    all.sort_by(|a, b| b.2.created.cmp(&a.2.created).then(b.2.id.cmp(&a.2.id)));
    let total = all.len();
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|(name, v, s)| package_json(root, owner, name, v, s))
        .collect();
    let last = total.div_ceil(limit).max(1);
    let link = |p: usize, rel: &str| {
        format!("<{root}api/v1/packages/{owner}?limit={limit}&page={p}&type=npm>; rel=\"{rel}\"")
    };
    let mut links = Vec::new();
    if page < last {
        links.push(link(page + 1, "next"));
        links.push(link(last, "last"));
    }
    if page > 1 {
        links.push(link(1, "first"));
        links.push(link(page - 1, "prev"));
    }
    let mut reply = json_reply(200, &Value::Array(items))
        .with_header("X-Total-Count", &total.to_string())
        .with_header("Access-Control-Expose-Headers", "X-Total-Count, Link");
    if !links.is_empty() {
        reply = reply.with_header("Link", &links.join(","));
    }
    reply
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::send;

    fn body(name: &str, version: &str, bytes: &[u8], integrity: Option<&str>) -> Vec<u8> {
        let d = byteproof_hash::hash_bytes(bytes);
        let integrity = integrity.map_or_else(|| d.integrity(), str::to_owned);
        json!({
            "_id": name, "name": name, "dist-tags": {"e2e": version},
            "versions": {version: {"name": name, "version": version, "description": "d",
                "dist": {"integrity": integrity, "shasum": d.sha1_hex(), "tarball": "x"}}},
            "_attachments": {format!("{name}-{version}.tgz"): {
                "data": base64::engine::general_purpose::STANDARD.encode(bytes)}},
        })
        .to_string()
        .into_bytes()
    }

    fn put(g: &GiteaDouble, token: &str, name: &str, version: &str, bytes: &[u8]) -> u16 {
        let auth = format!("token {token}");
        let url = format!("{}{}", g.url(), name.replacen('/', "%2f", 1));
        send(
            "PUT",
            &url,
            &[("Authorization", &auth)],
            &body(name, version, bytes, None),
        )
        .unwrap()
        .status
    }

    #[test]
    fn publish_read_and_delete_like_gitea() {
        let g = GiteaDouble::start("acme").unwrap();
        let token = g.add_token(true);
        assert_eq!(
            put(&g, &token, "@acme/pkg", "1.0.0-e2e.1", b"tgz-bytes"),
            201
        );
        // Duplicate: 409 with Gitea's message.
        let url = format!("{}@acme%2fpkg", g.url());
        let dup = send(
            "PUT",
            &url,
            &[("Authorization", &format!("Bearer {token}"))],
            &body("@acme/pkg", "1.0.0-e2e.1", b"tgz-bytes", None),
        )
        .unwrap();
        assert_eq!(dup.status, 409);
        assert!(dup.text().contains("package version already exists"));

        // Packument in Gitea's shape, under all three name spellings.
        for spelling in ["@acme%2fpkg", "%40acme%2Fpkg", "@acme/pkg"] {
            let resp = send("GET", &format!("{}{spelling}", g.url()), &[], &[]).unwrap();
            assert_eq!(resp.status, 200, "{spelling}");
            let doc: Value = serde_json::from_slice(&resp.body).unwrap();
            assert!(doc.get("_rev").is_none());
            assert_eq!(doc["dist-tags"], json!({"e2e": "1.0.0-e2e.1"}));
            let dist = &doc["versions"]["1.0.0-e2e.1"]["dist"];
            let d = byteproof_hash::hash_bytes(b"tgz-bytes");
            assert_eq!(dist["integrity"], d.integrity());
            assert_eq!(dist["shasum"], d.sha1_hex());
            assert_eq!(
                dist["tarball"],
                format!("{}%40acme%2Fpkg/-/1.0.0-e2e.1/pkg-1.0.0-e2e.1.tgz", g.url())
            );
        }
        // Both tarball forms.
        for path in [
            "%40acme%2Fpkg/-/1.0.0-e2e.1/pkg-1.0.0-e2e.1.tgz",
            "@acme/pkg/-/pkg-1.0.0-e2e.1.tgz",
        ] {
            let resp = send("GET", &format!("{}{path}", g.url()), &[], &[]).unwrap();
            assert_eq!(
                (resp.status, resp.body.as_slice()),
                (200, &b"tgz-bytes"[..])
            );
        }
        // The -rev PUT is a no-op; the version DELETE removes it; a second DELETE is 404.
        let auth = format!("token {token}");
        let h = [("Authorization", auth.as_str())];
        let noop = send("PUT", &format!("{url}/-rev/undefined"), &h, b"{}").unwrap();
        assert_eq!(noop.status, 200);
        assert_eq!(g.versions("@acme/pkg"), vec!["1.0.0-e2e.1"]);
        let del = format!(
            "{}%40acme%2Fpkg/-/1.0.0-e2e.1/pkg-1.0.0-e2e.1.tgz/-rev/x",
            g.url()
        );
        assert_eq!(send("DELETE", &del, &h, &[]).unwrap().status, 200);
        assert_eq!(send("DELETE", &del, &h, &[]).unwrap().status, 404);
        assert_eq!(send("GET", &url, &[], &[]).unwrap().status, 404);
        assert!(g.versions("@acme/pkg").is_empty());
        // Republish after delete works (no tombstone); package DELETE removes all.
        assert_eq!(put(&g, &token, "@acme/pkg", "1.0.0-e2e.1", b"other"), 201);
        let pkg_del = format!("{url}/-rev/undefined");
        assert_eq!(send("DELETE", &pkg_del, &h, &[]).unwrap().status, 200);
        assert_eq!(send("DELETE", &pkg_del, &h, &[]).unwrap().status, 404);
    }

    #[test]
    fn errors_have_gitea_shapes() {
        let g = GiteaDouble::start_with(GiteaDoubleOptions {
            owner: "acme".into(),
            legacy_duplicate_400: true,
            ..GiteaDoubleOptions::default()
        })
        .unwrap();
        let writer = g.add_token(true);
        let reader = g.add_token(false);
        // Anonymous and read-only writes: 401 reqPackageAccess, text/plain.
        for token in ["", reader.as_str()] {
            let auth = format!("Bearer {token}");
            let headers: Vec<(&str, &str)> = if token.is_empty() {
                vec![]
            } else {
                vec![("Authorization", auth.as_str())]
            };
            let resp = send(
                "PUT",
                &format!("{}@acme%2fpkg", g.url()),
                &headers,
                &body("@acme/pkg", "1.0.0", b"x", None),
            )
            .unwrap();
            assert_eq!(resp.status, 401);
            assert_eq!(resp.text(), "reqPackageAccess\n");
            assert!(
                resp.header("content-type")
                    .unwrap()
                    .starts_with("text/plain")
            );
            assert!(resp.header("www-authenticate").is_some());
        }
        let bad = send(
            "GET",
            &format!("{}@acme%2fpkg", g.url()),
            &[("Authorization", "token nope")],
            &[],
        )
        .unwrap();
        assert_eq!(bad.status, 401);
        let auth = format!("token {writer}");
        let h = [("Authorization", auth.as_str())];
        let url = format!("{}@acme%2fpkg", g.url());
        let wrong = send(
            "PUT",
            &url,
            &h,
            &body("@acme/pkg", "1.0.0", b"x", Some("sha512-AAAA")),
        )
        .unwrap();
        assert_eq!(wrong.status, 400);
        assert!(wrong.text().contains("failed to validate integrity"));
        let underscore = send("PUT", &url, &h, &body("@acme/_pkg", "1.0.0", b"x", None)).unwrap();
        assert_eq!(underscore.status, 400);
        assert!(underscore.text().contains("package name is invalid"));
        assert_eq!(put(&g, &writer, "@acme/pkg", "1.0.0", b"x"), 201);
        assert_eq!(put(&g, &writer, "@acme/pkg", "1.0.0", b"x"), 400);
        // Another owner: 404 text.
        let other = g.url().replace("/acme/", "/someone/");
        let resp = send("GET", &format!("{other}@acme%2fpkg"), &[], &[]).unwrap();
        assert_eq!((resp.status, resp.text().as_str()), (404, "Not found.\n"));
    }

    #[test]
    fn packages_api_v1() {
        let g = GiteaDouble::start("acme").unwrap();
        let writer = g.add_token(true);
        let reader = g.add_token(false);
        for i in 1..=3 {
            assert_eq!(
                put(&g, &writer, "@acme/pkg", &format!("1.0.{i}"), b"abc"),
                201
            );
        }
        let api = format!("{}api/v1/packages/acme", g.root_url());
        let anon = send("GET", &api, &[], &[]).unwrap();
        assert_eq!(anon.status, 401);
        assert!(anon.text().contains("token is required"));
        let auth = format!("token {reader}");
        let h = [("Authorization", auth.as_str())];
        let page = send("GET", &format!("{api}?type=npm&limit=2&page=1"), &h, &[]).unwrap();
        assert_eq!(page.status, 200);
        assert_eq!(page.header("x-total-count"), Some("3"));
        let link = page.header("link").unwrap();
        assert!(link.contains("page=2&type=npm>; rel=\"next\",<"), "{link}");
        let items: Value = serde_json::from_slice(&page.body).unwrap();
        assert_eq!(items[0]["version"], "1.0.3");
        assert_eq!(items[0]["name"], "@acme/pkg");
        let files = send(
            "GET",
            &format!("{api}/npm/%40acme%2Fpkg/1.0.1/files"),
            &h,
            &[],
        )
        .unwrap();
        let files: Value = serde_json::from_slice(&files.body).unwrap();
        assert_eq!(files[0]["md5"], "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(files[0]["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(files[0]["name"], "pkg-1.0.1.tgz");
        let version_url = format!("{api}/npm/%40acme%2Fpkg/1.0.1");
        assert_eq!(send("DELETE", &version_url, &h, &[]).unwrap().status, 403);
        let wauth = format!("token {writer}");
        let wh = [("Authorization", wauth.as_str())];
        assert_eq!(send("DELETE", &version_url, &wh, &[]).unwrap().status, 204);
        assert_eq!(send("GET", &version_url, &wh, &[]).unwrap().status, 404);
        assert_eq!(g.versions("@acme/pkg"), vec!["1.0.2", "1.0.3"]);
        let version = send("GET", &format!("{}api/v1/version", g.root_url()), &[], &[]).unwrap();
        assert_eq!(version.text(), "{\"version\":\"1.25.4\"}\n");
        assert_eq!(rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
        assert!(valid_name("@a-b/c.d_e") && !valid_name("@a/_x") && !valid_name("Up"));
    }
}
