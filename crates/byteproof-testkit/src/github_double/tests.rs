//! Tests of the GitHub double against the reference notes (`forge-routing-api.md`).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::*;
use crate::http::{Response, send};
use crate::{ANY_ENDPOINT, RunnerStatus};

fn call(g: &GithubDouble, auth: Option<&str>, method: &str, path: &str, body: &str) -> Response {
    let auth = auth.map(|a| format!("Bearer {a}"));
    let mut headers = vec![
        ("User-Agent", "byteproof-test"),
        ("Accept", "application/vnd.github+json"),
        ("X-GitHub-Api-Version", "2022-11-28"),
    ];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    send(
        method,
        &format!("{}{path}", g.api_url()),
        &headers,
        body.as_bytes(),
    )
    .unwrap()
}

fn json_of(resp: &Response) -> Value {
    serde_json::from_slice(&resp.body).unwrap_or_else(|_| panic!("not JSON: {}", resp.text()))
}

/// A JWT signed with the key at `key`, with these claims.
fn jwt(key: &std::path::Path, claims: &Value) -> String {
    let pem = std::fs::read(key).unwrap();
    jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        claims,
        &EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap()
}

/// A JWT as GitHub asks for it: `iat` 60 s in the past, `exp` 9 minutes ahead.
fn good_jwt(iss: Value) -> String {
    let now = now();
    jwt(
        &GithubApp::test_private_key(),
        &json!({"iss": iss, "iat": now - 60, "exp": now + 540}),
    )
}

fn double() -> GithubDouble {
    let g = GithubDouble::start().unwrap();
    g.add_repo("acme/app");
    g.add_repo("acme/other");
    g.add_org("acme");
    g
}

const VARS: &str = "/repos/acme/app/actions/variables";

#[test]
fn requests_need_a_user_agent_and_a_known_api_version() {
    let g = double();
    let token = g.add_token("pat", permissions(&[("actions_variables", "read")]));
    let url = format!("{}{VARS}", g.api_url());
    let auth = format!("Bearer {token}");
    let no_agent = send("GET", &url, &[("Authorization", auth.as_str())], &[]).unwrap();
    assert_eq!(no_agent.status, 403);
    assert!(json_of(&no_agent)["documentation_url"].is_string());
    let headers = [("Authorization", auth.as_str()), ("User-Agent", "t")];
    assert_eq!(send("GET", &url, &headers, &[]).unwrap().status, 200);
    let odd = [
        ("Authorization", auth.as_str()),
        ("User-Agent", "t"),
        ("X-GitHub-Api-Version", "2020-01-01"),
    ];
    assert_eq!(send("GET", &url, &odd, &[]).unwrap().status, 400);
    let newer = [
        ("Authorization", auth.as_str()),
        ("User-Agent", "t"),
        ("X-GitHub-Api-Version", "2026-03-10"),
    ];
    let resp = send("GET", &url, &newer, &[]).unwrap();
    assert_eq!(resp.status, 200);
    for header in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-used",
        "x-ratelimit-reset",
        "x-ratelimit-resource",
        "date",
    ] {
        assert!(resp.header(header).is_some(), "{header}");
    }
    assert_eq!(resp.header("x-ratelimit-used"), Some("4"));
}

#[test]
fn variables_answer_with_githubs_status_codes() {
    let g = double();
    let writer = g.add_token("guard", permissions(&[("actions_variables", "write")]));
    let reader = g.add_token("reader", permissions(&[("actions_variables", "read")]));
    let w = Some(writer.as_str());
    assert_eq!(
        json_of(&call(&g, None, "GET", VARS, ""))["message"],
        "Requires authentication"
    );
    let bad = call(&g, Some("nope"), "GET", VARS, "");
    assert_eq!(
        (bad.status, json_of(&bad)["message"].clone()),
        (401, json!("Bad credentials"))
    );
    let hidden = call(&g, w, "GET", "/repos/acme/secret/actions/variables", "");
    assert_eq!(
        (hidden.status, json_of(&hidden)["status"].clone()),
        (404, json!("404"))
    );
    let body = r#"{"name":"ci_self_hosted_trusted_routing","value":"true"}"#;
    let refused = call(&g, Some(&reader), "POST", VARS, body);
    assert_eq!(
        (refused.status, json_of(&refused)["message"].clone()),
        (403, json!("Resource not accessible by integration"))
    );
    let created = call(&g, w, "POST", VARS, body);
    assert_eq!((created.status, json_of(&created)), (201, json!({})));
    assert_eq!(call(&g, w, "POST", VARS, body).status, 409);
    for bad in [
        r#"{"name":"X"}"#,
        r#"{"value":"1"}"#,
        r#"{"name":"GITHUB_X","value":"1"}"#,
        r#"{"name":"1X","value":"1"}"#,
        r#"{"name":"A B","value":"1"}"#,
    ] {
        let resp = call(&g, w, "POST", VARS, bad);
        assert_eq!(resp.status, 422, "{bad}");
        assert!(json_of(&resp)["errors"].is_array());
    }
    // Case-insensitive names; the reader may read.
    let one = format!("{VARS}/Ci_Self_Hosted_Trusted_Routing");
    let got = call(&g, Some(&reader), "GET", &one, "");
    let got = json_of(&got);
    assert_eq!(got["name"], "CI_SELF_HOSTED_TRUSTED_ROUTING");
    assert_eq!(got["value"], "true");
    assert!(got["created_at"].as_str().unwrap().ends_with('Z'));
    // PATCH: partial, 204; 404 when missing; rename.
    assert_eq!(
        call(&g, w, "PATCH", &one, r#"{"value":"false"}"#).status,
        204
    );
    assert_eq!(
        g.variable("acme/app", "CI_SELF_HOSTED_TRUSTED_ROUTING")
            .as_deref(),
        Some("false")
    );
    let missing = format!("{VARS}/NOPE");
    assert_eq!(
        call(&g, w, "PATCH", &missing, r#"{"value":"x"}"#).status,
        404
    );
    assert_eq!(call(&g, w, "GET", &missing, "").status, 404);
    assert_eq!(
        call(&g, w, "PATCH", &one, r#"{"name":"GITHUB_NO"}"#).status,
        422
    );
    assert_eq!(
        call(&g, w, "PATCH", &one, r#"{"name":"routing"}"#).status,
        204
    );
    assert_eq!(g.variable("acme/app", "ROUTING").as_deref(), Some("false"));
    // List: per_page 10 by default, at most 30.
    for i in 0..34 {
        g.set_variable("acme/app", &format!("V{i:02}"), "x");
    }
    let page = json_of(&call(&g, w, "GET", VARS, ""));
    assert_eq!(page["total_count"], 35);
    assert_eq!(page["variables"].as_array().unwrap().len(), 10);
    let wide = json_of(&call(
        &g,
        w,
        "GET",
        &format!("{VARS}?per_page=100&page=1"),
        "",
    ));
    assert_eq!(wide["variables"].as_array().unwrap().len(), 30);
    let last = json_of(&call(
        &g,
        w,
        "GET",
        &format!("{VARS}?per_page=30&page=2"),
        "",
    ));
    assert_eq!(last["variables"].as_array().unwrap().len(), 5);
    let routing = format!("{VARS}/ROUTING");
    assert_eq!(call(&g, w, "DELETE", &routing, "").status, 204);
    assert_eq!(call(&g, w, "DELETE", &routing, "").status, 404);
}

#[test]
fn runners_tokens_and_jit_configs() {
    let g = double();
    let admin = g.add_token(
        "admin",
        permissions(&[
            ("administration", "write"),
            ("organization_self_hosted_runners", "write"),
        ]),
    );
    let a = Some(admin.as_str());
    let repo = RunnerScope::Repo("acme/app".into());
    let idle = g.add_runner(Runner::seed(
        repo.clone(),
        "vm-1",
        &["chem"],
        RunnerStatus::Online,
    ));
    g.add_runner(Runner::seed(repo.clone(), "vm-2", &[], RunnerStatus::Busy));
    g.add_runner(Runner::seed(
        RunnerScope::Org("acme".into()),
        "org-1",
        &[],
        RunnerStatus::Offline,
    ));
    let runners = "/repos/acme/app/actions/runners";
    let listed = json_of(&call(&g, a, "GET", runners, ""));
    assert_eq!(listed["total_count"], 2);
    let first = &listed["runners"][0];
    for key in ["id", "name", "os", "status", "busy", "labels"] {
        assert!(first.get(key).is_some(), "{key}");
    }
    assert_eq!(
        first["labels"][0],
        json!({"id": 1, "name": "self-hosted", "type": "read-only"})
    );
    assert_eq!(first["labels"][3]["name"], "chem");
    assert_eq!(first["labels"][3]["type"], "custom");
    assert_eq!(listed["runners"][1]["busy"], true);
    let named = json_of(&call(&g, a, "GET", &format!("{runners}?name=vm-2"), ""));
    assert_eq!(named["total_count"], 1);
    let one = format!("{runners}/{idle}");
    assert_eq!(json_of(&call(&g, a, "GET", &one, ""))["status"], "online");
    assert_eq!(call(&g, a, "DELETE", &one, "").status, 204);
    assert_eq!(call(&g, a, "DELETE", &one, "").status, 404);
    assert_eq!(
        json_of(&call(&g, a, "GET", "/orgs/acme/actions/runners", ""))["total_count"],
        1
    );

    for kind in ["registration-token", "remove-token"] {
        let resp = call(&g, a, "POST", &format!("{runners}/{kind}"), "");
        assert_eq!(resp.status, 201, "{kind}");
        let body = json_of(&resp);
        let expires = body["expires_at"].as_str().unwrap();
        let expires: jiff::Timestamp = expires.parse().unwrap();
        let ahead = expires.as_second() - now();
        assert!((3590..=3600).contains(&ahead), "{ahead}");
        assert!(!body["token"].as_str().unwrap().is_empty());
    }
    assert_eq!(g.runner_tokens().len(), 2);
    assert_eq!(g.runner_tokens()[1].kind, "remove");

    // JIT: 201 with the runner, which then lists offline, idle and ephemeral.
    let jit = format!("{runners}/generate-jitconfig");
    let body = r#"{"name":"jit-1","runner_group_id":1,"labels":["self-hosted","chem-trusted-pr"]}"#;
    let made = call(&g, a, "POST", &jit, body);
    assert_eq!(made.status, 201, "{}", made.text());
    let made = json_of(&made);
    assert!(!made["encoded_jit_config"].as_str().unwrap().is_empty());
    let id = made["runner"]["id"].as_u64().unwrap();
    let listed = json_of(&call(&g, a, "GET", &format!("{runners}?name=jit-1"), ""));
    let runner = &listed["runners"][0];
    assert_eq!(runner["id"], id);
    assert_eq!(
        (
            runner["status"].clone(),
            runner["busy"].clone(),
            runner["ephemeral"].clone()
        ),
        (json!("offline"), json!(false), json!(true))
    );
    assert_eq!(call(&g, a, "POST", &jit, body).status, 409);
    let too_many: Vec<String> = (0..101).map(|i| format!("l{i}")).collect();
    for bad in [
        json!({"name": "x", "labels": ["a"]}),
        json!({"name": "x", "runner_group_id": 1, "labels": []}),
        json!({"name": "x", "runner_group_id": 1, "labels": too_many}),
        json!({"runner_group_id": 1, "labels": ["a"]}),
    ] {
        assert_eq!(
            call(&g, a, "POST", &jit, &bad.to_string()).status,
            422,
            "{bad}"
        );
    }
    // An organisation's JIT needs the organisation permission.
    let repo_only = g.add_token("repo-admin", permissions(&[("administration", "write")]));
    let org_jit = "/orgs/acme/actions/runners/generate-jitconfig";
    assert_eq!(
        call(&g, Some(&repo_only), "POST", org_jit, body).status,
        403
    );
    assert_eq!(call(&g, a, "POST", org_jit, body).status, 201);
}

#[test]
fn app_jwts_are_verified_and_exchanged_for_installation_tokens() {
    let g = double();
    let installation = g.add_installation(
        "acme",
        &["acme/app"],
        permissions(&[("actions_variables", "write"), ("administration", "read")]),
    );
    let app = g.app().clone();
    for iss in [
        json!(app.id),
        json!(app.id.to_string()),
        json!(app.client_id),
    ] {
        let resp = call(&g, Some(&good_jwt(iss.clone())), "GET", "/app", "");
        assert_eq!(resp.status, 200, "iss {iss}: {}", resp.text());
        assert_eq!(json_of(&resp)["id"], app.id);
    }
    let jwt = good_jwt(json!(app.client_id));
    let found = call(&g, Some(&jwt), "GET", "/repos/acme/app/installation", "");
    assert_eq!(json_of(&found)["id"], installation);
    assert_eq!(json_of(&found)["repository_selection"], "selected");
    assert_eq!(
        call(&g, Some(&jwt), "GET", "/repos/acme/other/installation", "").status,
        404
    );

    // Refused JWTs: every one is a 401, and the journal names none of them.
    let now = now();
    let key = GithubApp::test_private_key();
    let refused = [
        jwt_with(
            &GithubApp::foreign_private_key(),
            app.id,
            now - 60,
            now + 540,
        ),
        jwt_with(&key, app.id, now + 120, now + 540),
        jwt_with(&key, app.id, now - 700, now - 100),
        jwt_with(&key, app.id, now - 60, now + 600),
        jwt_with(&key, 1, now - 60, now + 540),
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({"iss": app.id, "iat": now - 60, "exp": now + 540}),
            &EncodingKey::from_secret(app.public_key_pem.as_bytes()),
        )
        .unwrap(),
    ];
    for bad in &refused {
        let resp = call(&g, Some(bad), "GET", "/app", "");
        assert_eq!(resp.status, 401, "{}", resp.text());
        assert!(json_of(&resp)["message"].is_string());
    }
    // A JWT must be sent as Bearer.
    let token_scheme = send(
        "GET",
        &format!("{}/app", g.api_url()),
        &[
            ("User-Agent", "t"),
            ("Authorization", &format!("token {jwt}")),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(token_scheme.status, 401);

    // Exchange: 201, ghs_ prefix, one hour, the installation's permissions.
    let path = format!("/app/installations/{installation}/access_tokens");
    let resp = call(&g, Some(&jwt), "POST", &path, "");
    assert_eq!(resp.status, 201, "{}", resp.text());
    let issued = json_of(&resp);
    let token = issued["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("ghs_"));
    let expires: jiff::Timestamp = issued["expires_at"].as_str().unwrap().parse().unwrap();
    assert!((3590..=3600).contains(&(expires.as_second() - now)));
    assert_eq!(issued["permissions"]["actions_variables"], "write");
    assert_eq!(g.issued_tokens()[0].token, token);
    // The token works where the installation does, and nowhere else.
    let create = r#"{"name":"ROUTING","value":"true"}"#;
    assert_eq!(call(&g, Some(&token), "POST", VARS, create).status, 201);
    let other = "/repos/acme/other/actions/variables";
    assert_eq!(call(&g, Some(&token), "GET", other, "").status, 404);
    assert_eq!(
        call(
            &g,
            Some(&token),
            "POST",
            "/repos/acme/app/actions/runners/registration-token",
            ""
        )
        .status,
        403
    );
    // A token is no JWT, and a JWT is no token.
    assert_eq!(call(&g, Some(&token), "POST", &path, "").status, 401);
    assert_eq!(call(&g, Some(&jwt), "GET", VARS, "").status, 403);
    // Asking for more than the installation has is 422; a subset is fine.
    let more = r#"{"permissions":{"administration":"write"}}"#;
    assert_eq!(call(&g, Some(&jwt), "POST", &path, more).status, 422);
    let less = r#"{"permissions":{"actions_variables":"read"},"repositories":["app"]}"#;
    let narrowed = json_of(&call(&g, Some(&jwt), "POST", &path, less));
    assert_eq!(
        narrowed["permissions"],
        json!({"actions_variables": "read"})
    );
    assert_eq!(narrowed["repositories"][0]["full_name"], "acme/app");
    let narrow = narrowed["token"].as_str().unwrap();
    assert_eq!(call(&g, Some(narrow), "POST", VARS, create).status, 403);
    assert_eq!(
        call(
            &g,
            Some(&jwt),
            "POST",
            "/app/installations/999/access_tokens",
            ""
        )
        .status,
        404
    );
    // Expired and revoked tokens are 401.
    assert_eq!(
        call(&g, Some(narrow), "DELETE", "/installation/token", "").status,
        204
    );
    assert_eq!(call(&g, Some(narrow), "GET", VARS, "").status, 401);
    g.expire_issued_tokens();
    assert_eq!(call(&g, Some(&token), "GET", VARS, "").status, 401);

    let calls = g.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.auth == CallAuth::Known("app-jwt".into()))
    );
    assert!(
        calls
            .iter()
            .any(|c| c.auth == CallAuth::Known(format!("installation-{installation}")))
    );
    let journal = format!("{calls:?}{:?}", g.server().requests());
    assert!(!journal.contains(&token) && !journal.contains(&jwt));
}

fn jwt_with(key: &std::path::Path, iss: u64, iat: i64, exp: i64) -> String {
    jwt(key, &json!({"iss": iss, "iat": iat, "exp": exp}))
}

#[test]
fn collaborator_permissions_map_fine_grained_roles() {
    let g = double();
    g.set_collaborator("acme/app", "maint", "maintain");
    g.set_collaborator("acme/app", "tri", "triage");
    g.set_collaborator("acme/app", "dev", "write");
    let token = g.add_token("route", Permissions::new());
    let ask = |user: &str| {
        let path = format!("/repos/acme/app/collaborators/{user}/permission");
        json_of(&call(&g, Some(&token), "GET", &path, ""))
    };
    assert_eq!(
        (
            ask("maint")["permission"].clone(),
            ask("maint")["role_name"].clone()
        ),
        (json!("write"), json!("maintain"))
    );
    assert_eq!(ask("tri")["permission"], "read");
    assert_eq!(ask("dev")["permission"], "write");
    assert_eq!(ask("acme")["permission"], "admin");
    assert_eq!(ask("stranger")["permission"], "none");
    assert_eq!(ask("dependabot[bot]")["user"]["type"], "Bot");
}

#[test]
fn faults_and_rate_limits_fire_per_endpoint() {
    let g = double();
    let writer = g.add_token("guard", permissions(&[("actions_variables", "write")]));
    let w = Some(writer.as_str());
    g.set_variable("acme/app", "ROUTING", "true");
    let patch = "PATCH /repos/{owner}/{repo}/actions/variables/{name}";
    assert!(GithubDouble::endpoints().contains(&patch));
    let one = format!("{VARS}/ROUTING");

    g.fail_next(
        patch,
        1,
        Fault::RateLimit {
            status: 403,
            retry_after: None,
        },
    );
    let primary = call(&g, w, "PATCH", &one, r#"{"value":"false"}"#);
    assert_eq!(primary.status, 403);
    assert_eq!(primary.header("x-ratelimit-remaining"), Some("0"));
    let reset: i64 = primary
        .header("x-ratelimit-reset")
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > now());
    assert!(primary.header("retry-after").is_none());

    g.fail_next(
        patch,
        1,
        Fault::RateLimit {
            status: 429,
            retry_after: Some(30),
        },
    );
    let secondary = call(&g, w, "PATCH", &one, r#"{"value":"false"}"#);
    assert_eq!(
        (secondary.status, secondary.header("retry-after")),
        (429, Some("30"))
    );
    assert!(
        json_of(&secondary)["message"]
            .as_str()
            .unwrap()
            .contains("secondary rate limit")
    );

    g.fail_next(ANY_ENDPOINT, 2, Fault::Status(502));
    assert_eq!(call(&g, w, "GET", &one, "").status, 502);
    assert_eq!(
        call(&g, w, "PATCH", &one, r#"{"value":"false"}"#).status,
        502
    );
    g.fail_next(patch, 1, Fault::Stall(std::time::Duration::from_millis(20)));
    assert_eq!(
        call(&g, w, "PATCH", &one, r#"{"value":"false"}"#).status,
        504
    );
    // No faulted call changed anything; the next one does.
    assert_eq!(g.variable("acme/app", "ROUTING").as_deref(), Some("true"));
    assert_eq!(
        call(&g, w, "PATCH", &one, r#"{"value":"false"}"#).status,
        204
    );
    assert_eq!(g.variable("acme/app", "ROUTING").as_deref(), Some("false"));

    let patches: Vec<u16> = g
        .calls()
        .iter()
        .filter(|c| c.endpoint == Some(patch))
        .map(|c| c.status)
        .collect();
    assert_eq!(patches, [403, 429, 502, 504, 204]);
    assert!(
        g.calls()
            .iter()
            .all(|c| c.auth == CallAuth::Known("guard".into()))
    );
    assert_eq!(call(&g, w, "GET", "/nowhere", "").status, 404);
    assert_eq!(g.calls().last().unwrap().endpoint, None);
}
