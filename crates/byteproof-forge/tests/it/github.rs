//! Every operation against the GitHub double: variables with GitHub's status codes, runners
//! and their tokens, JIT configurations, App JWTs exchanged for installation tokens, and
//! collaborator permissions.

use byteproof_forge::{
    ErrorClass, Forge, ForgeError, GithubApp, Installation, JitRequest, Permission, Repo,
    RunnerStatus, Scope, VariableChange,
};
use byteproof_testkit::{
    GithubApp as AppDouble, Runner, RunnerScope, RunnerStatus as SeedStatus, permissions,
};
use serde_json::Value;

use crate::support::{Github, client};

fn scope(text: &str) -> Scope {
    text.parse().unwrap()
}

fn repo(text: &str) -> Repo {
    text.parse().unwrap()
}

fn test_app() -> GithubApp {
    let pem = std::fs::read(AppDouble::test_private_key()).unwrap();
    GithubApp::from_pem("424242", &pem).unwrap()
}

#[tokio::test]
async fn variables_are_created_updated_and_left_alone() {
    let github = Github::start();
    let client = github.ci();
    let app = repo("bytelyst/app");
    assert_eq!(client.variable(&app, "ROUTING").await.unwrap(), None);
    assert_eq!(
        client.set_variable(&app, "ROUTING", "true").await.unwrap(),
        VariableChange::Created
    );
    assert_eq!(
        github.double.variable("bytelyst/app", "ROUTING").as_deref(),
        Some("true")
    );
    let created = github
        .double
        .calls()
        .into_iter()
        .find(|c| c.method == "POST")
        .unwrap();
    assert_eq!(
        (created.endpoint, created.status, created.json()),
        (
            Some("POST /repos/{owner}/{repo}/actions/variables"),
            201,
            serde_json::json!({"name": "ROUTING", "value": "true"})
        )
    );
    assert_eq!(
        client.set_variable(&app, "ROUTING", "true").await.unwrap(),
        VariableChange::Unchanged
    );
    assert_eq!(
        client.set_variable(&app, "ROUTING", "false").await.unwrap(),
        VariableChange::Updated {
            previous: Some("true".to_owned())
        }
    );
    assert_eq!(
        github.calls_to("PATCH /repos/{owner}/{repo}/actions/variables/{name}"),
        1
    );
    let read = client.variable(&app, "routing").await.unwrap().unwrap();
    assert_eq!(
        (read.name.as_str(), read.value.as_str()),
        ("ROUTING", "false")
    );

    let err = client
        .create_variable(&app, "ROUTING", "x")
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::Conflict { .. }), "{err:?}");
    let err = client
        .update_variable(&app, "MISSING", "x")
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::NotFound { .. }), "{err:?}");
    // GitHub stores empty values; the name rules are checked before any call.
    client.set_variable(&app, "EMPTY", "").await.unwrap();
    let err = client
        .set_variable(&app, "GITHUB_X", "1")
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Usage);
}

#[tokio::test]
async fn variable_lists_are_read_to_the_end() {
    let github = Github::start();
    for n in 0..35 {
        github
            .double
            .set_variable("bytelyst/app", &format!("V{n:02}"), &n.to_string());
    }
    let all = github.ci().variables(&repo("bytelyst/app")).await.unwrap();
    assert_eq!(all.len(), 35);
    assert_eq!(
        (all[34].name.as_str(), all[34].value.as_str()),
        ("V34", "34")
    );
    assert_eq!(
        github.calls_to("GET /repos/{owner}/{repo}/actions/variables"),
        2
    );
}

#[tokio::test]
async fn a_race_between_read_and_write_is_settled() {
    let github = Github::start();
    let client = github.ci();
    let app = repo("bytelyst/app");
    // Someone creates it after this client's read: the create's 409 turns into an update.
    github.double.fail_next(
        "GET /repos/{owner}/{repo}/actions/variables/{name}",
        1,
        byteproof_testkit::Fault::Status(404),
    );
    github
        .double
        .set_variable("bytelyst/app", "ROUTING", "true");
    assert_eq!(
        client.set_variable(&app, "ROUTING", "false").await.unwrap(),
        VariableChange::Updated { previous: None }
    );
    assert_eq!(
        github.double.variable("bytelyst/app", "ROUTING").as_deref(),
        Some("false")
    );
}

#[tokio::test]
async fn runners_tokens_and_jit_configs() {
    let github = Github::start();
    let app_runners = RunnerScope::Repo("bytelyst/app".into());
    let idle = github.double.add_runner(Runner::seed(
        app_runners.clone(),
        "vm-1",
        &["trusted"],
        SeedStatus::Online,
    ));
    github.double.add_runner(Runner::seed(
        RunnerScope::Org("bytelyst".into()),
        "org-1",
        &["big"],
        SeedStatus::Busy,
    ));
    let client = github.ci();
    let app = scope("repo/bytelyst/app");
    let org = scope("org/bytelyst");

    let listed = client.runners(&app).await.unwrap();
    assert_eq!(listed.len(), 1);
    let labels: Vec<(&str, bool)> = listed[0]
        .labels
        .iter()
        .map(|l| (l.name.as_str(), l.read_only))
        .collect();
    assert_eq!(
        labels,
        [
            ("self-hosted", true),
            ("Linux", true),
            ("X64", true),
            ("trusted", false)
        ]
    );
    assert_eq!(listed[0].os.as_deref(), Some("Linux"));
    let org_runners = client.runners(&org).await.unwrap();
    assert_eq!(
        (org_runners[0].name.as_str(), org_runners[0].busy),
        ("org-1", true)
    );
    assert_eq!(
        client.runner(&app, idle).await.unwrap().unwrap().name,
        "vm-1"
    );
    assert_eq!(
        client.runner(&org, idle).await.unwrap(),
        None,
        "another scope's"
    );

    let before = jiff::Timestamp::now();
    for token in [
        client.registration_token(&app).await.unwrap(),
        client.remove_token(&org).await.unwrap(),
    ] {
        let left = token.expires_at.unwrap().duration_since(before);
        assert!((3590..=3610).contains(&left.as_secs()), "{left:?}");
    }
    let issued: Vec<(String, &str)> = github
        .double
        .runner_tokens()
        .into_iter()
        .map(|t| (format!("{:?}", t.scope), t.kind))
        .collect();
    assert_eq!(
        issued,
        [
            ("Repo(\"bytelyst/app\")".to_owned(), "registration"),
            ("Org(\"bytelyst\")".to_owned(), "remove")
        ]
    );

    let mut request = JitRequest::new("jit-1", &["trusted", "linux"]);
    request.work_folder = Some("_work".to_owned());
    let jit = client.jit_config(&app, &request).await.unwrap();
    assert_eq!(
        (
            jit.runner.name.as_str(),
            jit.runner.status.clone(),
            jit.runner.ephemeral
        ),
        ("jit-1", RunnerStatus::Offline, true)
    );
    assert!(!jit.encoded_jit_config.is_empty());
    assert_eq!(format!("{jit:?}").matches("<redacted>").count(), 1);
    let sent = github
        .double
        .calls()
        .into_iter()
        .find(|c| {
            c.endpoint == Some("POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig")
        })
        .unwrap()
        .json();
    assert_eq!(
        sent,
        serde_json::json!({"name": "jit-1", "runner_group_id": 1, "labels": ["trusted", "linux"], "work_folder": "_work"})
    );
    let err = client.jit_config(&app, &request).await.unwrap_err();
    assert!(matches!(err, ForgeError::Conflict { .. }), "{err:?}");

    client.delete_runner(&app, jit.runner.id).await.unwrap();
    assert_eq!(client.runner(&app, jit.runner.id).await.unwrap(), None);

    // Checked before any call: GitHub has no instance runners, and takes 1–100 labels.
    let calls = github.double.calls().len();
    let err = client.runners(&Scope::Instance).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Usage);
    assert!(
        err.to_string()
            .starts_with("runner list is not available on GitHub: GitHub runners belong to"),
        "{err}"
    );
    for labels in [Vec::new(), vec!["x"; 101], vec![""]] {
        let err = client
            .jit_config(&app, &JitRequest::new("jit-2", &labels))
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Usage, "{err}");
    }
    assert_eq!(github.double.calls().len(), calls);
}

/// The claims of a JWT, verified with the test App's public key.
fn claims(jwt: &str) -> Value {
    let app = AppDouble::test_app().unwrap();
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(app.public_key_pem.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn app_jwts_become_installation_tokens() {
    let github = Github::start();
    let installation = github.double.add_installation(
        "bytelyst",
        &["bytelyst/app"],
        permissions(&[("actions_variables", "write")]),
    );
    let app = test_app();
    assert_eq!(app.issuer(), "424242");
    assert!(!format!("{app:?}").contains("PRIVATE"), "{app:?}");

    let jwt = app.jwt().unwrap();
    let signed = claims(jwt.expose());
    let now = jiff::Timestamp::now().as_second();
    let (iat, exp) = (
        signed["iat"].as_i64().unwrap(),
        signed["exp"].as_i64().unwrap(),
    );
    assert!((now - 62..=now - 58).contains(&iat), "iat {iat}, now {now}");
    assert_eq!(exp - iat, 600, "exp is 10 minutes after iat");
    assert_eq!(signed["iss"], 424_242);

    let client = github.client(None);
    let by_id = client
        .installation_token(&app, &Installation::Id(installation))
        .await
        .unwrap();
    let by_repo = client
        .installation_token(&app, &Installation::Repo(repo("bytelyst/app")))
        .await
        .unwrap();
    assert_eq!(
        (by_id.installation_id, by_repo.installation_id),
        (installation, installation)
    );
    let issued = github.double.issued_tokens();
    assert_eq!(issued.len(), 2);
    assert_eq!(by_repo.token.expose(), issued[1].token);
    assert_eq!(by_repo.expires_at.to_string(), issued[1].expires_at);
    assert_eq!(format!("{by_repo:?}").matches("<redacted>").count(), 1);
    let app_calls: Vec<String> = github
        .double
        .calls()
        .iter()
        .map(|c| format!("{} {:?}", c.endpoint.unwrap(), c.auth))
        .collect();
    assert_eq!(
        app_calls,
        [
            "POST /app/installations/{installation_id}/access_tokens Known(\"app-jwt\")",
            "GET /repos/{owner}/{repo}/installation Known(\"app-jwt\")",
            "POST /app/installations/{installation_id}/access_tokens Known(\"app-jwt\")",
        ]
    );

    // The installation token works as a client's token.
    let installed = github.client(Some(by_repo.token.expose()));
    installed
        .set_variable(&repo("bytelyst/app"), "ROUTING", "true")
        .await
        .unwrap();

    let err = client
        .installation_id(&app, &repo("elsewhere/app"))
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::NotFound { .. }), "{err:?}");

    // A client id as issuer is sent as a string.
    let pem = std::fs::read(AppDouble::test_private_key()).unwrap();
    let by_client_id = GithubApp::from_pem("Iv23liByteproofTest", &pem).unwrap();
    assert_eq!(
        claims(by_client_id.jwt().unwrap().expose())["iss"],
        "Iv23liByteproofTest"
    );
    client
        .installation_token(&by_client_id, &Installation::Id(installation))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_jwt_signed_with_another_key_is_refused() {
    let github = Github::start();
    let installation = github
        .double
        .add_installation("bytelyst", &[], permissions(&[]));
    let pem = std::fs::read(AppDouble::foreign_private_key()).unwrap();
    let foreign = GithubApp::from_pem("424242", &pem).unwrap();
    let err = github
        .client(None)
        .installation_token(&foreign, &Installation::Id(installation))
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::Unauthorized { .. }), "{err:?}");
    assert!(
        err.to_string().ends_with(
            "the forge refused the credential (HTTP 401: A JSON web token could not be decoded)"
        ),
        "{err}"
    );
    assert_eq!(err.class(), ErrorClass::CouldNotCheck);
    assert!(github.double.issued_tokens().is_empty());
}

#[test]
fn unusable_app_keys_are_usage_errors() {
    let public = AppDouble::test_app().unwrap().public_key_pem;
    for (pem, what) in [
        (public.as_bytes(), "a public key"),
        (
            &b"-----BEGIN RSA PRIVATE KEY-----\nnot base64\n-----END RSA PRIVATE KEY-----\n"[..],
            "garbage",
        ),
        (&b""[..], "nothing"),
    ] {
        let err = GithubApp::from_pem("424242", pem).unwrap_err();
        assert!(matches!(err, ForgeError::AppKey { .. }), "{what}: {err:?}");
        assert_eq!(err.class(), ErrorClass::Usage);
    }
    let pem = std::fs::read(AppDouble::test_private_key()).unwrap();
    for id in ["", "42 42", "../x"] {
        let err = GithubApp::from_pem(id, &pem).unwrap_err();
        assert_eq!(err.class(), ErrorClass::Usage, "{id:?}");
    }
}

#[tokio::test]
async fn collaborator_roles_map_to_permissions() {
    let github = Github::start();
    for (user, role) in [
        ("m", "maintain"),
        ("t", "triage"),
        ("w", "write"),
        ("a", "admin"),
    ] {
        github.double.set_collaborator("bytelyst/app", user, role);
    }
    let client = github.ci();
    let app = repo("bytelyst/app");
    for (login, level) in [
        ("bytelyst", Permission::Admin),
        ("a", Permission::Admin),
        ("m", Permission::Write),
        ("w", Permission::Write),
        ("t", Permission::Read),
        ("stranger", Permission::None),
    ] {
        assert_eq!(
            client.collaborator_permission(&app, login).await.unwrap(),
            level,
            "{login}"
        );
    }
}

#[tokio::test]
async fn refusals_name_the_permission_problem() {
    let github = Github::start();
    let app = repo("bytelyst/app");
    let err = github.client(None).variable(&app, "X").await.unwrap_err();
    assert!(
        err.to_string()
            .ends_with("the forge refused the credential (HTTP 401: Requires authentication)"),
        "{err}"
    );
    let weak = github
        .double
        .add_token("weak", permissions(&[("actions_variables", "read")]));
    let err = github
        .client(Some(&weak))
        .set_variable(&app, "ROUTING", "false")
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::Forbidden { .. }), "{err:?}");
    assert!(
        err.to_string()
            .ends_with("permission denied (HTTP 403: Resource not accessible by integration)"),
        "{err}"
    );
    let err = github
        .ci()
        .variable(&repo("bytelyst/hidden"), "X")
        .await
        .unwrap();
    assert_eq!(err, None, "GitHub answers 404 for what a token cannot see");
    let err = github
        .ci()
        .runners(&scope("repo/bytelyst/hidden"))
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::NotFound { .. }), "{err:?}");
    // GitHub Enterprise Server's API base keeps its path.
    let ghes = client(
        Forge::Github,
        &format!("{}/api/v3", github.double.api_url()),
        Some(&github.token),
    );
    let err = ghes.runners(&scope("repo/bytelyst/app")).await.unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "runner list for repo/bytelyst/app (GET {}/api/v3/repos/bytelyst/app/actions/runners): not found",
            github.double.api_url()
        )),
        "{err}"
    );
}
