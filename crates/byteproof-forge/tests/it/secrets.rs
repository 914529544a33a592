//! Credentials stay where they belong: never in an error's `Display`, `Debug` or chain (even
//! when a server echoes them back), never in the `Debug` of what the client returns, and never
//! sent to another origin after a redirect.

use byteproof_forge::{
    Forge, ForgeConfig, ForgeError, GithubApp, Installation, JitRequest, Repo, Scope,
};
use byteproof_http::error_chain;
use byteproof_redact::Secret;
use byteproof_testkit::{Fault, GithubApp as AppDouble, Reply, ScriptedServer, permissions};
use serde_json::json;

use crate::support::{Gitea, Github, client};

fn app() -> Repo {
    "bytelyst/app".parse().unwrap()
}

/// Asserts that no text of `error` holds any of `secrets`.
fn assert_clean(error: &ForgeError, secrets: &[&str]) {
    for shown in [format!("{error}"), format!("{error:?}"), error_chain(error)] {
        for secret in secrets {
            assert!(!shown.contains(secret), "{secret:?} in {shown}");
        }
    }
}

#[tokio::test]
async fn no_error_shows_a_token() {
    let gitea = Gitea::start("1.24.2");
    let token = gitea.owner.clone();
    let owner = gitea.client(Some(&token));
    let scope: Scope = "repo/bytelyst/app".parse().unwrap();
    let bad = "0123456789abcdef0123456789abcdef01234567";
    owner.create_variable(&app(), "X", "1").await.unwrap();
    let mut errors = vec![
        gitea.client(Some(bad)).runners(&scope).await.unwrap_err(),
        owner.runners(&Scope::Instance).await.unwrap_err(),
        owner.delete_runner(&scope, 42).await.unwrap_err(),
        owner.create_variable(&app(), "X", "1").await.unwrap_err(),
    ];
    gitea.double.fail_next(
        "GET /api/v1/repos/{owner}/{repo}/actions/runners",
        10,
        Fault::Status(500),
    );
    errors.push(owner.runners(&scope).await.unwrap_err());
    gitea.double.fail_next(
        "GET /api/v1/repos/{owner}/{repo}/actions/variables/{variablename}",
        10,
        Fault::RateLimit {
            status: 429,
            retry_after: Some(0),
        },
    );
    errors.push(owner.variable(&app(), "X").await.unwrap_err());
    errors.push(
        client(Forge::Gitea, "http://127.0.0.1:1/api/v1", Some(&token))
            .server_version()
            .await
            .unwrap_err(),
    );

    // A server that echoes the credential in its error body.
    let echo = ScriptedServer::start(|req| {
        let sent = req.header("authorization").unwrap_or_default().to_owned();
        Reply::json(401, &json!({"message": format!("bad token: {sent}")}))
    })
    .unwrap();
    let echoed = client(Forge::Gitea, &format!("{}api/v1", echo.url()), Some(&token))
        .server_version()
        .await
        .unwrap_err();
    assert!(
        echoed
            .to_string()
            .ends_with("(HTTP 401: bad token: <redacted>)"),
        "{echoed}"
    );
    errors.push(echoed);

    // GitHub: a refused JWT, a refused installation token, an echoing server.
    let github = Github::start();
    let installation = github
        .double
        .add_installation("bytelyst", &[], permissions(&[]));
    let foreign = GithubApp::from_pem(
        "424242",
        &std::fs::read(AppDouble::foreign_private_key()).unwrap(),
    )
    .unwrap();
    errors.push(
        github
            .client(None)
            .installation_token(&foreign, &Installation::Id(installation))
            .await
            .unwrap_err(),
    );
    let app_key = GithubApp::from_pem(
        "424242",
        &std::fs::read(AppDouble::test_private_key()).unwrap(),
    )
    .unwrap();
    let issued = github
        .client(None)
        .installation_token(&app_key, &Installation::Id(installation))
        .await
        .unwrap();
    let installed = github.client(Some(issued.token.expose()));
    errors.push(
        installed
            .set_variable(&app(), "ROUTING", "on")
            .await
            .unwrap_err(),
    );
    github.double.expire_issued_tokens();
    errors.push(installed.variables(&app()).await.unwrap_err());
    let org: Scope = "org/bytelyst".parse().unwrap();
    let jit = JitRequest::new("jit-1", &["linux"]);
    github.ci().jit_config(&org, &jit).await.unwrap();
    errors.push(github.ci().jit_config(&org, &jit).await.unwrap_err());
    let echo_github = client(Forge::Github, &echo.url(), Some(&github.token))
        .variable(&app(), "X")
        .await
        .unwrap_err();
    assert!(
        echo_github
            .to_string()
            .ends_with("(HTTP 401: bad token: Bearer <redacted>)"),
        "{echo_github}"
    );
    errors.push(echo_github);

    let jwt = app_key.jwt().unwrap();
    let secrets = [
        token.as_str(),
        bad,
        github.token.as_str(),
        issued.token.expose(),
        jwt.expose(),
    ];
    let kinds: Vec<String> = errors
        .iter()
        .map(|e| {
            format!("{e:?}")
                .split([' ', '{', '('])
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "Unauthorized",
            "Forbidden",
            "NotFound",
            "Conflict",
            "Server",
            "RateLimited",
            "Http",
            "Unauthorized",
            "Unauthorized",
            "Forbidden",
            "Unauthorized",
            "Conflict",
            "Unauthorized",
        ]
    );
    for error in &errors {
        assert_clean(error, &secrets);
    }

    // What the client returns and holds shows no secret either.
    let registration = owner.registration_token(&scope).await.unwrap();
    let config = ForgeConfig::new(Forge::Gitea, &gitea.double.api_url())
        .unwrap()
        .token(Secret::new(token.clone()));
    let shown =
        format!("{registration:?} {issued:?} {app_key:?} {config:?} {owner:?} {installed:?}");
    for secret in [
        registration.token.expose(),
        token.as_str(),
        issued.token.expose(),
        "PRIVATE KEY",
    ] {
        assert!(!shown.contains(secret), "{secret:?} in {shown}");
    }
}

#[tokio::test]
async fn credentials_are_never_sent_to_another_origin() {
    let server = ScriptedServer::start(|req| {
        let port = req
            .header("host")
            .and_then(|h| h.rsplit(':').next())
            .unwrap_or_default()
            .to_owned();
        match req.path_only() {
            "/api/v1/version" => Reply::status(307).with_header(
                "Location",
                &format!("http://localhost:{port}/moved/api/v1/version"),
            ),
            "/moved/api/v1/version" => Reply::json(200, &json!({"version": "1.25.4"})),
            "/repos/bytelyst/app/installation" => {
                Reply::status(302).with_header("Location", "/same-origin/installation")
            }
            "/same-origin/installation" => Reply::json(200, &json!({"id": 7})),
            "/app/installations/7/access_tokens" => Reply::status(307)
                .with_header("Location", &format!("http://localhost:{port}/steal")),
            _ => Reply::json(404, &json!({"message": "Not Found"})),
        }
    })
    .unwrap();
    let gitea = client(
        Forge::Gitea,
        &format!("{}api/v1", server.url()),
        Some("gitea-secret"),
    );
    assert_eq!(gitea.server_version().await.unwrap().to_string(), "1.25.4");

    let github = client(Forge::Github, &server.url(), Some("github-secret"));
    let github_app = GithubApp::from_pem(
        "424242",
        &std::fs::read(AppDouble::test_private_key()).unwrap(),
    )
    .unwrap();
    let err = github
        .installation_token(&github_app, &Installation::Repo(app()))
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::NotFound { .. }), "{err:?}");

    let seen: Vec<(String, String, Option<String>)> = server
        .requests()
        .iter()
        .map(|r| {
            let host = r.header("host").unwrap_or_default();
            let host = host.split(':').next().unwrap_or_default().to_owned();
            let auth = r
                .header("authorization")
                .map(|a| a.split(' ').next().unwrap_or_default().to_owned());
            (host, r.path_only().to_owned(), auth)
        })
        .collect();
    let entry = |host: &str, path: &str, auth: Option<&str>| {
        (host.to_owned(), path.to_owned(), auth.map(str::to_owned))
    };
    assert_eq!(
        seen,
        [
            entry("127.0.0.1", "/api/v1/version", Some("token")),
            entry("localhost", "/moved/api/v1/version", None),
            entry(
                "127.0.0.1",
                "/repos/bytelyst/app/installation",
                Some("Bearer")
            ),
            entry("127.0.0.1", "/same-origin/installation", Some("Bearer")),
            entry(
                "127.0.0.1",
                "/app/installations/7/access_tokens",
                Some("Bearer")
            ),
            entry("localhost", "/steal", None),
        ]
    );
}
