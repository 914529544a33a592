//! GitHub App authentication (`forge-routing-api.md` §4): the App's JWT, checked exactly as
//! GitHub documents it, and the installation-token endpoints.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::{Auth, Ctx, IssuedToken, Token, error, forge_testdata, routes::timestamp, user};
use crate::forge_double::token_hex;
use crate::http::Reply;

/// The longest a JWT may live: `exp` at most 10 minutes after `iat` (§4.1).
const MAX_JWT_LIFETIME: i64 = 600;

/// How long an installation token lives (§4.2).
const TOKEN_LIFETIME: i64 = 3600;

/// A GitHub App as the double knows it: its ids and the public half of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubApp {
    /// The numeric App id (`iss` may be this, as a number or a string).
    pub id: u64,
    /// The client id (`iss` may be this; GitHub recommends it).
    pub client_id: String,
    /// The App's slug.
    pub slug: String,
    /// The public key, PEM (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`).
    pub public_key_pem: String,
}

impl GithubApp {
    /// The committed test App: id 424242, client id `Iv23liByteproofTest`, the public key
    /// `testdata/forge/app-public-key.pem`. Its private key is [`GithubApp::test_private_key`].
    pub fn test_app() -> Result<Self> {
        let path = forge_testdata().join("app-public-key.pem");
        let public_key_pem = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the test App's key {}", path.display()))?;
        Ok(Self {
            id: 424_242,
            client_id: "Iv23liByteproofTest".to_owned(),
            slug: "byteproof-test".to_owned(),
            public_key_pem,
        })
    }

    /// `testdata/forge/app-private-key.pem`: the test App's private key (PKCS#1 PEM, as GitHub
    /// hands them out). A test key, committed on purpose; it protects nothing.
    pub fn test_private_key() -> PathBuf {
        forge_testdata().join("app-private-key.pem")
    }

    /// `testdata/forge/other-private-key.pem`: a key that is not the App's, for JWTs GitHub
    /// must refuse.
    pub fn foreign_private_key() -> PathBuf {
        forge_testdata().join("other-private-key.pem")
    }
}

/// Checks a JWT as GitHub does (§4.1): RS256 signed by the App's key; `iss` the App id or
/// client id; `iat` not in the future; `exp` in the future and at most 10 minutes after
/// `iat`. `Err` carries GitHub's message.
pub(crate) fn verify_jwt(app: &GithubApp, jwt: &str, now: i64) -> Result<(), String> {
    let undecodable = || "A JSON web token could not be decoded".to_owned();
    let key =
        DecodingKey::from_rsa_pem(app.public_key_pem.as_bytes()).map_err(|_| undecodable())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .map_err(|_| undecodable())?
        .claims;
    let issuer_ok = match &claims["iss"] {
        Value::Number(n) => n.as_u64() == Some(app.id),
        Value::String(s) => *s == app.id.to_string() || *s == app.client_id,
        _ => false,
    };
    if !issuer_ok {
        return Err("Integration not found".to_owned());
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return Err(undecodable());
    };
    if iat > now {
        return Err(
            "'Issued at' claim ('iat') must be an Integer representing a time in the past"
                .to_owned(),
        );
    }
    if exp <= now {
        return Err("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires".to_owned());
    }
    if exp - iat > MAX_JWT_LIFETIME {
        return Err("'Expiration time' claim ('exp') is too far in the future".to_owned());
    }
    Ok(())
}

/// The 401 for anything but a good JWT on an App route.
fn require_jwt(ctx: &Ctx<'_>) -> Option<Reply> {
    match &ctx.auth {
        Auth::AppJwt => None,
        Auth::BadJwt(reason) => Some(error(401, reason)),
        Auth::Anonymous | Auth::Token(_) | Auth::BadToken => {
            Some(error(401, "A JSON web token could not be decoded"))
        }
    }
}

pub(crate) fn get_app(ctx: &mut Ctx<'_>, _: &[String]) -> Reply {
    if let Some(refused) = require_jwt(ctx) {
        return refused;
    }
    let app = ctx.app;
    Reply::json(
        200,
        &json!({
            "id": app.id,
            "slug": app.slug,
            "client_id": app.client_id,
            "name": app.slug,
            "owner": user("byteproof"),
        }),
    )
}

fn installation_json(ctx: &Ctx<'_>, id: u64) -> Value {
    let installation = &ctx.state.installations[&id];
    json!({
        "id": id,
        "app_id": ctx.app.id,
        "app_slug": ctx.app.slug,
        "account": user(&installation.account),
        "permissions": installation.permissions,
        "events": [],
        "repository_selection": if installation.repositories.is_some() { "selected" } else { "all" },
        "access_tokens_url": format!("{}app/installations/{id}/access_tokens", ctx.root),
        "target_type": "Organization",
        "suspended_at": null,
    })
}

/// `GET /repos/{owner}/{repo}/installation`: the installation covering the repository, or 404.
pub(crate) fn repo_installation(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    if let Some(refused) = require_jwt(ctx) {
        return refused;
    }
    let repo = format!("{}/{}", params[0], params[1]);
    let found = ctx
        .state
        .installations
        .iter()
        .find(|(_, i)| i.covers(&repo))
        .map(|(id, _)| *id);
    match found {
        Some(id) => Reply::json(200, &installation_json(ctx, id)),
        None => error(404, "Not Found"),
    }
}

/// `POST /app/installations/{id}/access_tokens`: 201 with a one-hour `ghs_` token covering the
/// installation, or the subset of repositories and permissions the body asks for (422 beyond).
pub(crate) fn create_access_token(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    if let Some(refused) = require_jwt(ctx) {
        return refused;
    }
    let Some(id) = params[0]
        .parse::<u64>()
        .ok()
        .filter(|id| ctx.state.installations.contains_key(id))
    else {
        return error(404, "Not Found");
    };
    let installation = ctx.state.installations[&id].clone();
    let body: Value = serde_json::from_slice(&ctx.req.body).unwrap_or(json!({}));
    let mut permissions = installation.permissions.clone();
    if let Some(asked) = body.get("permissions").and_then(Value::as_object) {
        permissions.clear();
        for (name, level) in asked {
            let level = level.as_str().unwrap_or_default();
            let held = installation.permissions.get(name).map(String::as_str);
            let allowed = matches!(
                (held, level),
                (Some("write"), "read" | "write") | (Some("read"), "read")
            );
            if !allowed {
                return super::validation_failed("permissions", "invalid");
            }
            permissions.insert(name.clone(), level.to_owned());
        }
    }
    let mut repositories = installation.repositories.clone();
    let mut listed = Vec::new();
    if let Some(names) = body.get("repositories").and_then(Value::as_array) {
        if names.len() > 500 {
            return super::validation_failed("repositories", "invalid");
        }
        let mut chosen = BTreeSet::new();
        for name in names.iter().filter_map(Value::as_str) {
            let full = format!("{}/{name}", installation.account).to_ascii_lowercase();
            if !installation.covers(&full) {
                return super::validation_failed("repositories", "invalid");
            }
            listed.push(
                json!({"name": name, "full_name": format!("{}/{name}", installation.account)}),
            );
            chosen.insert(full);
        }
        repositories = Some(chosen);
    }
    let token = format!("ghs_{}", token_hex(36));
    let expires_at = ctx.now + TOKEN_LIFETIME;
    let selection = if repositories.is_some() {
        "selected"
    } else {
        "all"
    };
    ctx.state.tokens.insert(
        token.clone(),
        Token {
            name: format!("installation-{id}"),
            permissions: permissions.clone(),
            repositories,
            expires_at: Some(expires_at),
            revoked: false,
            installation: Some(id),
        },
    );
    ctx.state.issued.push(IssuedToken {
        installation_id: id,
        token: token.clone(),
        expires_at: timestamp(expires_at),
        permissions: permissions.clone(),
    });
    let mut answer = json!({
        "token": token,
        "expires_at": timestamp(expires_at),
        "permissions": permissions,
        "repository_selection": selection,
    });
    if !listed.is_empty() {
        answer["repositories"] = Value::Array(listed);
    }
    Reply::json(201, &answer)
}

/// `DELETE /installation/token`: revokes the installation token that authenticates it.
pub(crate) fn revoke_token(ctx: &mut Ctx<'_>, _: &[String]) -> Reply {
    let Auth::Token(token) = &ctx.auth else {
        return error(401, "Bad credentials");
    };
    if token.installation.is_none() {
        return error(403, "Resource not accessible by personal access token");
    }
    let secret = ctx
        .req
        .header("authorization")
        .and_then(|h| h.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_owned();
    if let Some(stored) = ctx.state.tokens.get_mut(&secret) {
        stored.revoked = true;
    }
    Reply::status(204)
}
