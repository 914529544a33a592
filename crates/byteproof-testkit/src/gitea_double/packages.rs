//! Packages API v1 under `/api/v1/packages/{owner}` (`gitea-api.md` §3).

use percent_encoding::utf8_percent_encode;
use serde_json::{Value, json};

use super::npm::{PATH_ESCAPE, file_name};
use super::{
    Auth, Ctx, State, StoredVersion, json_reply, link_header, scope_message, text, user, v1_error,
};
use crate::forge_double::{page_window, paginate, rfc3339};
use crate::http::{Reply, Request};
use crate::npm_path::percent_decode;

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
        "created_at": rfc3339(1_767_225_600 + stored.created as i64),
    })
}

/// Routes `/api/v1/packages/{rest}`.
pub(super) fn route(ctx: &mut Ctx<'_>, rest: &str) -> Reply {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let (state, options, root, req) = (&mut *ctx.state, ctx.options, ctx.root, ctx.req);
    let write = req.method != "GET";
    match &ctx.auth {
        Auth::Anonymous => return v1_error(root, 401, "token is required"),
        Auth::Invalid => return v1_error(root, 401, "invalid username, password or token"),
        Auth::Token(token) if !token.grants("package", write) => {
            let required = if write {
                "write:package"
            } else {
                "read:package"
            };
            return v1_error(root, 403, &scope_message(ctx.version, required, token));
        }
        Auth::Token(_) => {}
    }
    let segments = segments.as_slice();
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
        ("GET", []) => list(state, root, owner, req),
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

fn list(state: &State, root: &str, owner: &str, req: &Request) -> Reply {
    if req
        .query_param("type")
        .is_some_and(|t| !t.is_empty() && t != "npm")
    {
        return json_reply(200, &json!([])).with_header("X-Total-Count", "0");
    }
    let q = req.query_param("q").unwrap_or_default();
    let (page, limit) = page_window(req.query_param("page"), req.query_param("limit"), 30, 50);
    let mut all: Vec<(&String, &String, &StoredVersion)> = state
        .packages
        .iter()
        .filter(|(name, _)| name.contains(&q))
        .flat_map(|(name, p)| p.versions.iter().map(move |(v, s)| (name, v, s)))
        .collect();
    all.sort_by(|a, b| b.2.created.cmp(&a.2.created).then(b.2.id.cmp(&a.2.id)));
    let total = all.len();
    let items: Vec<Value> = paginate(&all, (page, limit))
        .into_iter()
        .map(|(name, v, s)| package_json(root, owner, name, v, s))
        .collect();
    let url = |p: usize| format!("{root}api/v1/packages/{owner}?limit={limit}&page={p}&type=npm");
    let mut reply = json_reply(200, &Value::Array(items))
        .with_header("X-Total-Count", &total.to_string())
        .with_header("Access-Control-Expose-Headers", "X-Total-Count, Link");
    if let Some(link) = link_header(page, total.div_ceil(limit).max(1), url) {
        reply = reply.with_header("Link", &link);
    }
    reply
}
