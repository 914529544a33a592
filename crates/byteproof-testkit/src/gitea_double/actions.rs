//! The double's route table under `/api/v1` outside the packages API: the version endpoint
//! (`gitea-api.md` §4), runners and registration tokens (`gitea-api.md` §5,
//! `forge-routing-api.md` §3.5), repository variables (`forge-routing-api.md` §2.3–§2.4) and the
//! collaborator permission look-up (`forge-routing-api.md` §1.8).

use serde_json::{Value, json};

use super::{
    Auth, Ctx, GiteaVersion, Token, Variable, json_reply, link_header, not_found, scope_message,
    user, v1_error,
};
use crate::forge_double::{Route, Runner, RunnerScope, page_window, paginate, token_hex};
use crate::http::Reply;

/// One route: the first release that has it, and what answers it.
pub(crate) struct Handler {
    pub(crate) since: GiteaVersion,
    pub(crate) run: fn(&mut Ctx<'_>, &[String]) -> Reply,
}

const fn route(
    endpoint: &'static str,
    minor: u32,
    run: fn(&mut Ctx<'_>, &[String]) -> Reply,
) -> Route<Handler> {
    Route {
        endpoint,
        handler: Handler {
            since: GiteaVersion(1, minor),
            run,
        },
    }
}

/// Every endpoint, with the release that added it (§5 and forge-routing §2.3, §3.5). Order
/// matters: a registration-token path is tried before the `{runner_id}` path it also matches.
pub(crate) static ROUTES: &[Route<Handler>] = &[
    route("GET /api/v1/version", 0, version),
    route(
        "GET /api/v1/admin/runners/registration-token",
        22,
        registration_token,
    ),
    route(
        "POST /api/v1/admin/actions/runners/registration-token",
        24,
        registration_token,
    ),
    route("GET /api/v1/admin/actions/runners", 24, list_runners),
    route(
        "GET /api/v1/admin/actions/runners/{runner_id}",
        24,
        get_runner,
    ),
    route(
        "DELETE /api/v1/admin/actions/runners/{runner_id}",
        24,
        delete_runner,
    ),
    route(
        "GET /api/v1/orgs/{org}/actions/runners/registration-token",
        22,
        registration_token,
    ),
    route(
        "POST /api/v1/orgs/{org}/actions/runners/registration-token",
        24,
        registration_token,
    ),
    route("GET /api/v1/orgs/{org}/actions/runners", 24, list_runners),
    route(
        "GET /api/v1/orgs/{org}/actions/runners/{runner_id}",
        24,
        get_runner,
    ),
    route(
        "DELETE /api/v1/orgs/{org}/actions/runners/{runner_id}",
        24,
        delete_runner,
    ),
    route(
        "GET /api/v1/repos/{owner}/{repo}/actions/runners/registration-token",
        22,
        registration_token,
    ),
    route(
        "POST /api/v1/repos/{owner}/{repo}/actions/runners/registration-token",
        24,
        registration_token,
    ),
    route(
        "GET /api/v1/repos/{owner}/{repo}/actions/runners",
        24,
        list_runners,
    ),
    route(
        "GET /api/v1/repos/{owner}/{repo}/actions/runners/{runner_id}",
        24,
        get_runner,
    ),
    route(
        "DELETE /api/v1/repos/{owner}/{repo}/actions/runners/{runner_id}",
        24,
        delete_runner,
    ),
    route(
        "GET /api/v1/user/actions/runners/registration-token",
        22,
        registration_token,
    ),
    route(
        "POST /api/v1/user/actions/runners/registration-token",
        24,
        registration_token,
    ),
    route("GET /api/v1/user/actions/runners", 24, list_runners),
    route(
        "GET /api/v1/user/actions/runners/{runner_id}",
        24,
        get_runner,
    ),
    route(
        "DELETE /api/v1/user/actions/runners/{runner_id}",
        24,
        delete_runner,
    ),
    route(
        "GET /api/v1/repos/{owner}/{repo}/actions/variables",
        22,
        list_variables,
    ),
    route(
        "GET /api/v1/repos/{owner}/{repo}/actions/variables/{variablename}",
        22,
        get_variable,
    ),
    route(
        "POST /api/v1/repos/{owner}/{repo}/actions/variables/{variablename}",
        22,
        create_variable,
    ),
    route(
        "PUT /api/v1/repos/{owner}/{repo}/actions/variables/{variablename}",
        22,
        update_variable,
    ),
    route(
        "DELETE /api/v1/repos/{owner}/{repo}/actions/variables/{variablename}",
        22,
        delete_variable,
    ),
    route(
        "GET /api/v1/repos/{owner}/{repo}/collaborators/{collaborator}/permission",
        0,
        collaborator_permission,
    ),
];

fn version(ctx: &mut Ctx<'_>, _: &[String]) -> Reply {
    json_reply(200, &json!({ "version": ctx.options.version }))
}

/// The runner scope a runner route's path names: `/admin/…`, `/orgs/{org}/…`,
/// `/repos/{owner}/{repo}/…` or `/user/…` (for the calling token's user).
fn scope_of(ctx: &Ctx<'_>, params: &[String]) -> RunnerScope {
    let path = ctx.req.path_only();
    if path.starts_with("/api/v1/admin/") {
        RunnerScope::Instance
    } else if path.starts_with("/api/v1/orgs/") {
        RunnerScope::Org(params[0].clone())
    } else if path.starts_with("/api/v1/repos/") {
        RunnerScope::Repo(format!("{}/{}", params[0], params[1]))
    } else {
        let login = match &ctx.auth {
            Auth::Token(t) => t.user.clone(),
            Auth::Anonymous | Auth::Invalid => String::new(),
        };
        RunnerScope::User(login)
    }
}

/// Gitea's checks in order: a token (401), its scope (403), the target (404), ownership (403).
fn authorize(ctx: &Ctx<'_>, scope: &RunnerScope) -> Result<Token, Reply> {
    let root = ctx.root;
    let token = match &ctx.auth {
        Auth::Anonymous => return Err(v1_error(root, 401, "token is required")),
        Auth::Invalid => {
            return Err(v1_error(root, 401, "invalid username, password or token"));
        }
        Auth::Token(token) => token,
    };
    let write = ctx.req.method != "GET";
    let category = match scope {
        RunnerScope::Instance => "admin",
        RunnerScope::Org(_) => "organization",
        RunnerScope::Repo(_) => "repository",
        RunnerScope::User(_) => "user",
    };
    if !token.grants(category, write) {
        let level = if write { "write" } else { "read" };
        let required = format!("{level}:{category}");
        return Err(v1_error(
            root,
            403,
            &scope_message(ctx.version, &required, token),
        ));
    }
    let state = &*ctx.state;
    let admin = state.site_admins.contains(&token.user);
    match scope {
        RunnerScope::Instance if !admin => {
            Err(v1_error(root, 403, "user should be the site admin"))
        }
        RunnerScope::Org(org) => match state.orgs.get(org) {
            None => Err(not_found(root)),
            Some(owners) if !owners.contains(&token.user) && !admin => {
                Err(v1_error(root, 403, "Must be an organization owner"))
            }
            Some(_) => Ok(token.clone()),
        },
        RunnerScope::Repo(full) => {
            let owner = full.split('/').next().unwrap_or_default();
            if !state.repos.contains_key(full) {
                Err(not_found(root))
            } else if !state.owns(&token.user, owner) {
                Err(v1_error(root, 403, "user should be the owner of the repo"))
            } else {
                Ok(token.clone())
            }
        }
        RunnerScope::Instance | RunnerScope::User(_) => Ok(token.clone()),
    }
}

/// GET (1.22+) and POST (1.24+): the scope's active token, created on the first call.
fn registration_token(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    let scope = scope_of(ctx, params);
    if let Err(reply) = authorize(ctx, &scope) {
        return reply;
    }
    let token = ctx
        .state
        .registration_tokens
        .entry(scope)
        .or_insert_with(|| token_hex(40))
        .clone();
    json_reply(200, &json!({ "token": token }))
}

fn runner_json(runner: &Runner) -> Value {
    let labels: Vec<Value> = runner
        .labels
        .iter()
        .enumerate()
        .map(|(i, name)| json!({"id": i, "name": name, "type": "custom"}))
        .collect();
    json!({
        "id": runner.id,
        "name": runner.name,
        "status": runner.status_word(),
        "busy": runner.busy(),
        "ephemeral": runner.ephemeral,
        "labels": labels,
    })
}

/// The admin list shows every runner; the other levels show their own scope's.
fn visible(scope: &RunnerScope, runner: &Runner) -> bool {
    *scope == RunnerScope::Instance || runner.scope == *scope
}

fn list_runners(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    let scope = scope_of(ctx, params);
    if let Err(reply) = authorize(ctx, &scope) {
        return reply;
    }
    let all: Vec<Value> = ctx
        .state
        .runners
        .all()
        .iter()
        .filter(|r| visible(&scope, r))
        .map(runner_json)
        .collect();
    let window = page_window(
        ctx.req.query_param("page"),
        ctx.req.query_param("limit"),
        30,
        50,
    );
    json_reply(
        200,
        &json!({"runners": paginate(&all, window), "total_count": all.len()}),
    )
}

fn runner_not_found(root: &str, message: &str) -> Reply {
    json_reply(
        404,
        &json!({"message": message, "url": format!("{root}api/swagger"), "errors": null}),
    )
}

/// The index of the runner a get/delete path names, or the 404 Gitea gives.
fn find_runner(ctx: &Ctx<'_>, scope: &RunnerScope, id: &str) -> Result<usize, Reply> {
    let index = id
        .parse::<u64>()
        .ok()
        .and_then(|id| ctx.state.runners.position(|r| r.id == id))
        .ok_or_else(|| runner_not_found(ctx.root, "Runner not found"))?;
    if visible(scope, &ctx.state.runners.all()[index]) {
        Ok(index)
    } else {
        Err(runner_not_found(
            ctx.root,
            "No permission to access this runner",
        ))
    }
}

fn get_runner(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    let scope = scope_of(ctx, params);
    if let Err(reply) = authorize(ctx, &scope) {
        return reply;
    }
    match find_runner(ctx, &scope, params.last().map_or("", String::as_str)) {
        Ok(index) => json_reply(200, &runner_json(&ctx.state.runners.all()[index])),
        Err(reply) => reply,
    }
}

fn delete_runner(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    let scope = scope_of(ctx, params);
    if let Err(reply) = authorize(ctx, &scope) {
        return reply;
    }
    match find_runner(ctx, &scope, params.last().map_or("", String::as_str)) {
        Ok(index) => {
            ctx.state.runners.remove(index);
            Reply::status(204)
        }
        Err(reply) => reply,
    }
}

/// `owner/repo` from the first two path parameters, after the owner-only checks of §2.3.
fn variables_repo(ctx: &Ctx<'_>, params: &[String]) -> Result<String, Reply> {
    let scope = RunnerScope::Repo(format!("{}/{}", params[0], params[1]));
    authorize(ctx, &scope)?;
    match scope {
        RunnerScope::Repo(full) => Ok(full),
        _ => unreachable!("built as a repository scope above"),
    }
}

/// §2.4: `^[A-Za-z_][A-Za-z0-9_]*$`, no `GITEA_`/`GITHUB_` prefix; names starting with `CI`
/// refused up to 1.24, only the name `CI` from 1.25. `None` when valid, else the message.
fn invalid_name(version: GiteaVersion, name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    let mut chars = name.chars();
    let shaped = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !shaped || upper.starts_with("GITEA_") || upper.starts_with("GITHUB_") {
        return Some("invalid secret name".to_owned());
    }
    let reserved = if version.at_least(25) {
        upper == "CI"
    } else {
        upper.starts_with("CI")
    };
    reserved.then(|| format!("invalid variable name {name}: the CI prefix is reserved"))
}

fn variable_json(ctx: &Ctx<'_>, repo: &str, name: &str, variable: &Variable) -> Value {
    let mut object = json!({
        "owner_id": 0,
        "repo_id": ctx.state.repos.get(repo).map_or(0, |r| r.id),
        "name": name,
        "data": variable.data,
    });
    if ctx.version.at_least(24) {
        object["description"] = json!(variable.description);
    }
    object
}

/// The checks of a create or update, in Gitea's order: owner-only access, then the body
/// (`value` required). Gives the repository, the body and the value.
fn variable_write(ctx: &Ctx<'_>, params: &[String]) -> Result<(String, Value, String), Reply> {
    let repo = variables_repo(ctx, params)?;
    let (body, value) = required_value(ctx)?;
    Ok((repo, body, value))
}

/// The variables of an authorized repository.
fn variables_mut<'s>(
    state: &'s mut super::State,
    repo: &str,
) -> &'s mut std::collections::BTreeMap<String, Variable> {
    &mut state
        .repos
        .get_mut(repo)
        .expect("checked by variables_repo")
        .variables
}

/// The JSON body's `value` (required, non-empty: `binding:"Required"`), `\r\n` made `\n`.
fn required_value(ctx: &Ctx<'_>) -> Result<(Value, String), Reply> {
    let body: Value = serde_json::from_slice(&ctx.req.body).unwrap_or_default();
    match body.get("value").and_then(Value::as_str) {
        Some(value) if !value.is_empty() => {
            let value = value.replace("\r\n", "\n");
            Ok((body, value))
        }
        _ => Err(v1_error(ctx.root, 422, "[Value]: Required")),
    }
}

fn description(ctx: &Ctx<'_>, body: &Value) -> Option<String> {
    ctx.version
        .at_least(24)
        .then(|| body.get("description").and_then(Value::as_str))
        .flatten()
        .map(str::to_owned)
}

fn list_variables(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    let repo = match variables_repo(ctx, params) {
        Ok(repo) => repo,
        Err(reply) => return reply,
    };
    let all: Vec<Value> = ctx.state.repos[&repo]
        .variables
        .iter()
        .map(|(name, v)| variable_json(ctx, &repo, name, v))
        .collect();
    let (page, limit) = page_window(
        ctx.req.query_param("page"),
        ctx.req.query_param("limit"),
        30,
        50,
    );
    let url = |p: usize| {
        format!(
            "{}api/v1/repos/{repo}/actions/variables?limit={limit}&page={p}",
            ctx.root
        )
    };
    let mut reply = json_reply(200, &Value::Array(paginate(&all, (page, limit))))
        .with_header("X-Total-Count", &all.len().to_string());
    if let Some(link) = link_header(page, all.len().div_ceil(limit).max(1), url) {
        reply = reply.with_header("Link", &link);
    }
    reply
}

fn variable_not_found(root: &str) -> Reply {
    v1_error(root, 404, "variable not found")
}

fn get_variable(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    let repo = match variables_repo(ctx, params) {
        Ok(repo) => repo,
        Err(reply) => return reply,
    };
    let name = params[2].to_ascii_uppercase();
    match ctx.state.repos[&repo].variables.get(&name) {
        Some(v) => json_reply(200, &variable_json(ctx, &repo, &name, v)),
        None => variable_not_found(ctx.root),
    }
}

fn create_variable(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    let (repo, body, value) = match variable_write(ctx, params) {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    if let Some(message) = invalid_name(ctx.version, &params[2]) {
        return v1_error(ctx.root, 400, &message);
    }
    let name = params[2].to_ascii_uppercase();
    let description = description(ctx, &body).unwrap_or_default();
    let (root, version) = (ctx.root, ctx.version);
    let variables = variables_mut(ctx.state, &repo);
    if variables.contains_key(&name) {
        return v1_error(root, 409, &format!("variable name {name} already exists"));
    }
    variables.insert(
        name,
        Variable {
            data: value,
            description,
        },
    );
    // Version matrix: 201 from 1.25 (#34517, BREAKING), 204 before.
    Reply::status(if version.at_least(25) { 201 } else { 204 })
}

fn update_variable(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    let (repo, body, value) = match variable_write(ctx, params) {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let old = params[2].to_ascii_uppercase();
    let new_name = body.get("name").and_then(Value::as_str).unwrap_or(&old);
    if let Some(message) = invalid_name(ctx.version, new_name) {
        return v1_error(ctx.root, 400, &message);
    }
    let new = new_name.to_ascii_uppercase();
    let description = description(ctx, &body);
    let root = ctx.root;
    let variables = variables_mut(ctx.state, &repo);
    let Some(mut variable) = variables.remove(&old) else {
        return variable_not_found(root);
    };
    if new != old && variables.contains_key(&new) {
        variables.insert(old, variable);
        return v1_error(root, 409, &format!("variable name {new} already exists"));
    }
    variable.data = value;
    if let Some(description) = description {
        variable.description = description;
    }
    variables.insert(new, variable);
    Reply::status(204)
}

fn delete_variable(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    let repo = match variables_repo(ctx, params) {
        Ok(repo) => repo,
        Err(reply) => return reply,
    };
    let name = params[2].to_ascii_uppercase();
    let root = ctx.root;
    match variables_mut(ctx.state, &repo).remove(&name) {
        Some(_) => Reply::status(204),
        None => variable_not_found(root),
    }
}

/// `{permission, role_name, user}`: `owner` for the repository's owners, a collaborator's own
/// level, `read` for anyone else on these public repositories.
fn collaborator_permission(ctx: &mut Ctx<'_>, params: &[String]) -> Reply {
    let root = ctx.root;
    let token = match &ctx.auth {
        Auth::Anonymous => return v1_error(root, 401, "token is required"),
        Auth::Invalid => return v1_error(root, 401, "invalid username, password or token"),
        Auth::Token(token) => token,
    };
    if !token.grants("repository", false) {
        return v1_error(
            root,
            403,
            &scope_message(ctx.version, "read:repository", token),
        );
    }
    let full = format!("{}/{}", params[0], params[1]);
    let Some(repo) = ctx.state.repos.get(&full) else {
        return not_found(root);
    };
    let login = &params[2];
    let permission = if ctx.state.owns(login, &params[0]) {
        "owner".to_owned()
    } else {
        repo.collaborators
            .get(login)
            .cloned()
            .unwrap_or_else(|| "read".to_owned())
    };
    json_reply(
        200,
        &json!({"permission": permission, "role_name": permission, "user": user(login)}),
    )
}
