//! The GitHub double's route table and the repository routes: variables
//! (`forge-routing-api.md` §2.1–§2.2), runners, registration tokens and JIT (§3.1–§3.4), and the
//! collaborator permission (§1.8). The App routes are in `apps.rs`.

use base64::Engine as _;
use serde_json::{Value, json};

use super::{Auth, Ctx, GhVariable, RunnerToken, Token, apps, error, user, validation_failed};
use crate::forge_double::{
    Route, Runner, RunnerScope, RunnerStatus, page_window, paginate, rfc3339,
};
use crate::http::Reply;

/// A route handler.
pub(crate) type Handler = fn(&mut Ctx<'_>, &[String]) -> Reply;

const fn route(endpoint: &'static str, handler: Handler) -> Route<Handler> {
    Route { endpoint, handler }
}

/// Every endpoint the double serves.
pub(crate) static ROUTES: &[Route<Handler>] = &[
    route(
        "GET /repos/{owner}/{repo}/actions/variables",
        list_variables,
    ),
    route(
        "POST /repos/{owner}/{repo}/actions/variables",
        create_variable,
    ),
    route(
        "GET /repos/{owner}/{repo}/actions/variables/{name}",
        get_variable,
    ),
    route(
        "PATCH /repos/{owner}/{repo}/actions/variables/{name}",
        update_variable,
    ),
    route(
        "DELETE /repos/{owner}/{repo}/actions/variables/{name}",
        delete_variable,
    ),
    route("GET /repos/{owner}/{repo}/actions/runners", list_runners),
    route(
        "GET /repos/{owner}/{repo}/actions/runners/{runner_id}",
        get_runner,
    ),
    route(
        "DELETE /repos/{owner}/{repo}/actions/runners/{runner_id}",
        delete_runner,
    ),
    route(
        "POST /repos/{owner}/{repo}/actions/runners/registration-token",
        registration_token,
    ),
    route(
        "POST /repos/{owner}/{repo}/actions/runners/remove-token",
        remove_token,
    ),
    route(
        "POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig",
        generate_jitconfig,
    ),
    route("GET /orgs/{org}/actions/runners", list_runners),
    route("GET /orgs/{org}/actions/runners/{runner_id}", get_runner),
    route(
        "DELETE /orgs/{org}/actions/runners/{runner_id}",
        delete_runner,
    ),
    route(
        "POST /orgs/{org}/actions/runners/registration-token",
        registration_token,
    ),
    route(
        "POST /orgs/{org}/actions/runners/remove-token",
        remove_token,
    ),
    route(
        "POST /orgs/{org}/actions/runners/generate-jitconfig",
        generate_jitconfig,
    ),
    route(
        "GET /repos/{owner}/{repo}/collaborators/{username}/permission",
        collaborator_permission,
    ),
    route("GET /app", apps::get_app),
    route(
        "GET /repos/{owner}/{repo}/installation",
        apps::repo_installation,
    ),
    route(
        "POST /app/installations/{installation_id}/access_tokens",
        apps::create_access_token,
    ),
    route("DELETE /installation/token", apps::revoke_token),
];

/// Unix seconds as GitHub's ISO 8601 UTC form.
pub(crate) fn timestamp(unix: i64) -> String {
    rfc3339(unix)
}

/// The checks every repository or organisation route makes, in GitHub's order: a credential
/// (401), the target being visible to it (404), the permission (403).
fn authorize(ctx: &Ctx<'_>, scope: &RunnerScope, permission: &str) -> Result<Token, Reply> {
    let token = match &ctx.auth {
        Auth::Anonymous => return Err(error(401, "Requires authentication")),
        Auth::BadToken | Auth::BadJwt(_) => return Err(error(401, "Bad credentials")),
        Auth::AppJwt => return Err(error(403, "Resource not accessible by integration")),
        Auth::Token(token) => token,
    };
    let visible = match scope {
        RunnerScope::Repo(full) => {
            ctx.state.repos.contains_key(&full.to_ascii_lowercase()) && token.sees(full)
        }
        RunnerScope::Org(org) => ctx.state.orgs.contains(&org.to_ascii_lowercase()),
        RunnerScope::Instance | RunnerScope::User(_) => false,
    };
    if !visible {
        return Err(error(404, "Not Found"));
    }
    if !token.grants(permission, ctx.req.method != "GET") {
        return Err(error(403, "Resource not accessible by integration"));
    }
    Ok(token.clone())
}

fn repo_scope(params: &[String]) -> RunnerScope {
    RunnerScope::Repo(format!("{}/{}", params[0], params[1]))
}

/// A runner route's scope and the permission it needs (§3.1, §3.3).
fn runner_scope(ctx: &Ctx<'_>, params: &[String]) -> (RunnerScope, &'static str) {
    if ctx.req.path_only().starts_with("/orgs/") {
        (
            RunnerScope::Org(params[0].clone()),
            "organization_self_hosted_runners",
        )
    } else {
        (repo_scope(params), "administration")
    }
}

fn repo_key(params: &[String]) -> String {
    format!("{}/{}", params[0], params[1]).to_ascii_lowercase()
}

/// §2.2: letters, digits and `_`; no `GITHUB_` prefix; no leading digit.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.to_ascii_uppercase().starts_with("GITHUB_")
}

/// A list answer `{total_count, <key>: [...]}` for the `page`/`per_page` the query asks for.
fn listing(ctx: &Ctx<'_>, key: &str, all: &[Value], per_page: usize, max: usize) -> Reply {
    let window = page_window(
        ctx.req.query_param("page"),
        ctx.req.query_param("per_page"),
        per_page,
        max,
    );
    Reply::json(
        200,
        &json!({"total_count": all.len(), key: paginate(all, window)}),
    )
}

/// The variables of an authorized repository.
fn variables_mut<'s>(
    ctx: &'s mut Ctx<'_>,
    params: &[String],
) -> &'s mut std::collections::BTreeMap<String, GhVariable> {
    &mut ctx
        .state
        .repos
        .get_mut(&repo_key(params))
        .expect("checked by authorize")
        .variables
}

fn variable_json(name: &str, v: &GhVariable) -> Value {
    json!({"name": name, "value": v.value, "created_at": v.created_at, "updated_at": v.updated_at})
}

fn body_json(ctx: &Ctx<'_>) -> Option<Value> {
    serde_json::from_slice::<Value>(&ctx.req.body)
        .ok()
        .filter(Value::is_object)
}

fn list_variables(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    if let Err(refused) = authorize(ctx, &repo_scope(params), "actions_variables") {
        return refused;
    }
    let all: Vec<Value> = ctx.state.repos[&repo_key(params)]
        .variables
        .iter()
        .map(|(name, v)| variable_json(name, v))
        .collect();
    listing(ctx, "variables", &all, 10, 30)
}

fn create_variable(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    if let Err(refused) = authorize(ctx, &repo_scope(params), "actions_variables") {
        return refused;
    }
    let Some(body) = body_json(ctx) else {
        return error(400, "Problems parsing JSON");
    };
    let (Some(name), Some(value)) = (
        body.get("name").and_then(Value::as_str),
        body.get("value").and_then(Value::as_str),
    ) else {
        let field = if body.get("name").is_none() {
            "name"
        } else {
            "value"
        };
        return validation_failed(field, "missing_field");
    };
    if !valid_name(name) {
        return validation_failed("name", "invalid");
    }
    let name = name.to_ascii_uppercase();
    let now = timestamp(ctx.now);
    let variables = variables_mut(ctx, params);
    if variables.contains_key(&name) {
        return error(409, "Variable already exists");
    }
    variables.insert(
        name,
        GhVariable {
            value: value.to_owned(),
            created_at: now.clone(),
            updated_at: now,
        },
    );
    Reply::json(201, &json!({}))
}

fn get_variable(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    if let Err(refused) = authorize(ctx, &repo_scope(params), "actions_variables") {
        return refused;
    }
    let name = params[2].to_ascii_uppercase();
    match ctx.state.repos[&repo_key(params)].variables.get(&name) {
        Some(v) => Reply::json(200, &variable_json(&name, v)),
        None => error(404, "Not Found"),
    }
}

fn update_variable(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    if let Err(refused) = authorize(ctx, &repo_scope(params), "actions_variables") {
        return refused;
    }
    let Some(body) = body_json(ctx) else {
        return error(400, "Problems parsing JSON");
    };
    let new_name = body.get("name").and_then(Value::as_str);
    if new_name.is_some_and(|n| !valid_name(n)) {
        return validation_failed("name", "invalid");
    }
    let old = params[2].to_ascii_uppercase();
    let now = timestamp(ctx.now);
    let variables = variables_mut(ctx, params);
    let Some(mut variable) = variables.remove(&old) else {
        return error(404, "Not Found");
    };
    if let Some(value) = body.get("value").and_then(Value::as_str) {
        value.clone_into(&mut variable.value);
    }
    variable.updated_at = now;
    variables.insert(new_name.map_or(old, str::to_ascii_uppercase), variable);
    Reply::status(204)
}

fn delete_variable(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    if let Err(refused) = authorize(ctx, &repo_scope(params), "actions_variables") {
        return refused;
    }
    let name = params[2].to_ascii_uppercase();
    let variables = variables_mut(ctx, params);
    match variables.remove(&name) {
        Some(_) => Reply::status(204),
        None => error(404, "Not Found"),
    }
}

/// The runner object (§3.4): GitHub's read-only labels first, then the custom ones.
fn runner_json(runner: &Runner) -> Value {
    let read_only = ["self-hosted", "Linux", "X64"].map(|name| (name, "read-only"));
    let custom = runner.labels.iter().map(|l| (l.as_str(), "custom"));
    let labels: Vec<Value> = read_only
        .into_iter()
        .chain(custom)
        .enumerate()
        .map(|(i, (name, kind))| json!({"id": i + 1, "name": name, "type": kind}))
        .collect();
    json!({
        "id": runner.id,
        "runner_group_id": 1,
        "name": runner.name,
        "os": "Linux",
        "status": runner.status_word(),
        "busy": runner.busy(),
        "ephemeral": runner.ephemeral,
        "labels": labels,
    })
}

fn same_scope(a: &RunnerScope, b: &RunnerScope) -> bool {
    match (a, b) {
        (RunnerScope::Repo(x), RunnerScope::Repo(y))
        | (RunnerScope::Org(x), RunnerScope::Org(y)) => x.eq_ignore_ascii_case(y),
        _ => false,
    }
}

fn list_runners(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    let (scope, permission) = runner_scope(ctx, params);
    if let Err(refused) = authorize(ctx, &scope, permission) {
        return refused;
    }
    let wanted = ctx.req.query_param("name");
    let all: Vec<Value> = ctx
        .state
        .runners
        .all()
        .iter()
        .filter(|r| same_scope(&r.scope, &scope))
        .filter(|r| wanted.as_ref().is_none_or(|n| *n == r.name))
        .map(runner_json)
        .collect();
    listing(ctx, "runners", &all, 30, 100)
}

fn find_runner(ctx: &Ctx<'_>, scope: &RunnerScope, id: &str) -> Option<usize> {
    let id: u64 = id.parse().ok()?;
    ctx.state
        .runners
        .position(|r| r.id == id && same_scope(&r.scope, scope))
}

fn get_runner(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    let (scope, permission) = runner_scope(ctx, params);
    if let Err(refused) = authorize(ctx, &scope, permission) {
        return refused;
    }
    match find_runner(ctx, &scope, params.last().map_or("", String::as_str)) {
        Some(index) => Reply::json(200, &runner_json(&ctx.state.runners.all()[index])),
        None => error(404, "Not Found"),
    }
}

fn delete_runner(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    let (scope, permission) = runner_scope(ctx, params);
    if let Err(refused) = authorize(ctx, &scope, permission) {
        return refused;
    }
    match find_runner(ctx, &scope, params.last().map_or("", String::as_str)) {
        Some(index) => {
            ctx.state.runners.remove(index);
            Reply::status(204)
        }
        None => error(404, "Not Found"),
    }
}

/// A registration or remove token: 201 `{token, expires_at}`, valid one hour (§3.3).
fn runner_token(ctx: &mut Ctx<'_>, params: &[String], kind: &'static str) -> Reply {
    let (scope, permission) = runner_scope(ctx, params);
    if let Err(refused) = authorize(ctx, &scope, permission) {
        return refused;
    }
    let token = crate::forge_double::token_hex(29).to_ascii_uppercase();
    let expires_at = timestamp(ctx.now + 3600);
    ctx.state.runner_tokens.push(RunnerToken {
        scope,
        kind,
        token: token.clone(),
    });
    Reply::json(201, &json!({"token": token, "expires_at": expires_at}))
}

fn registration_token(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    runner_token(ctx, params, "registration")
}

fn remove_token(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    runner_token(ctx, params, "remove")
}

/// §3.1: `name`, `runner_group_id` and 1–100 `labels` required (422); a name already
/// registered in the scope is 409; the new runner is offline, idle and ephemeral.
fn generate_jitconfig(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    let (scope, permission) = runner_scope(ctx, params);
    if let Err(refused) = authorize(ctx, &scope, permission) {
        return refused;
    }
    let body = body_json(ctx).unwrap_or_default();
    let Some(name) = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return validation_failed("name", "missing_field");
    };
    if body
        .get("runner_group_id")
        .and_then(Value::as_u64)
        .is_none()
    {
        return validation_failed("runner_group_id", "missing_field");
    }
    let labels: Vec<&str> = body
        .get("labels")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if labels.is_empty() || labels.len() > 100 {
        return validation_failed("labels", "invalid");
    }
    if ctx
        .state
        .runners
        .position(|r| r.name == name && same_scope(&r.scope, &scope))
        .is_some()
    {
        return error(
            409,
            "Already exists - A runner with the same name already exists",
        );
    }
    let mut runner = Runner::seed(scope, name, &labels, RunnerStatus::Offline);
    runner.ephemeral = true;
    let id = ctx.state.runners.add(runner);
    let runner = &ctx.state.runners.all()[ctx.state.runners.all().len() - 1];
    let config = json!({"runner_id": id, "name": name, "url": ctx.root});
    let encoded = base64::engine::general_purpose::STANDARD.encode(config.to_string());
    Reply::json(
        201,
        &json!({"runner": runner_json(runner), "encoded_jit_config": encoded}),
    )
}

/// `{permission, role_name, user}`: `maintain` is reported as `write` and `triage` as `read`;
/// the repository's owner is `admin`; anyone else `none`.
fn collaborator_permission(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    if let Err(refused) = authorize(ctx, &repo_scope(params), "metadata") {
        return refused;
    }
    let login = &params[2];
    let role = if login.eq_ignore_ascii_case(&params[0]) {
        "admin".to_owned()
    } else {
        ctx.state.repos[&repo_key(params)]
            .collaborators
            .get(login)
            .cloned()
            .unwrap_or_else(|| "none".to_owned())
    };
    let permission = match role.as_str() {
        "maintain" => "write",
        "triage" => "read",
        other => other,
    };
    Reply::json(
        200,
        &json!({"permission": permission, "role_name": role, "user": user(login)}),
    )
}
