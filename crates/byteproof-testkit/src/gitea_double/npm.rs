//! The npm registry routes under `/api/packages/{owner}/npm/` (`gitea-api.md` §2).

use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use super::{
    Caller, Ctx, GiteaDoubleOptions, GiteaVersion, State, StoredVersion, json_reply, npm_error,
    req_package_access, text,
};
use crate::gitea::{QUERY_ESCAPE, split_package};
use crate::http::{Reply, Request};
use crate::npm_path::{percent_decode, unscoped};

/// Go's `url.PathEscape` for one segment (a superset of what Gitea leaves unescaped is fine
/// for versions and file names).
pub(super) const PATH_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'+');

/// Routes `/api/packages/{rest}`: the owner must be the double's, and the package type npm.
pub(super) fn route(ctx: &mut Ctx<'_>, rest: &str) -> Reply {
    let (owner, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(rest) = rest.strip_prefix("npm/") else {
        return text(404, "Not found.\n");
    };
    if owner != ctx.options.owner {
        return text(404, "Not found.\n");
    }
    let who = ctx.auth.caller();
    npm_route(
        ctx.state,
        ctx.options,
        ctx.version,
        ctx.root,
        ctx.req,
        who,
        rest,
    )
}

/// Gitea's name pattern (v1.20+): lowercase only, no leading `_` or `.`.
pub(super) fn valid_name(name: &str) -> bool {
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

pub(super) fn file_name(name: &str, version: &str) -> String {
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
    version: GiteaVersion,
    root: &str,
    req: &Request,
    who: Caller,
    rest: &str,
) -> Reply {
    if who == Caller::Invalid {
        // Version matrix: the bad-token body changed in 1.25.
        return text(
            401,
            if version.at_least(25) {
                "Failed to authenticate user\n"
            } else {
                "authGroup.Verify\n"
            },
        );
    }
    let write = matches!(req.method.as_str(), "PUT" | "DELETE");
    let allowed = match who {
        Caller::Writer => true,
        Caller::Reader => !write,
        Caller::Anonymous => !write && !options.private,
        Caller::NoPackageScope | Caller::Invalid => false,
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
        ("PUT", [] | [""]) => publish(state, options, version, req),
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

fn publish(
    state: &mut State,
    options: &GiteaDoubleOptions,
    gitea: GiteaVersion,
    req: &Request,
) -> Reply {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        // Version matrix: the blanked 500 message changed in 1.25.
        let message = if gitea.at_least(25) {
            "internal server error"
        } else {
            ""
        };
        return npm_error(500, message);
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
        // Version matrix: 409 from 1.22 (PR #27480), 400 before.
        let status = if options.legacy_duplicate_400 || !gitea.at_least(22) {
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
