//! What a forge can do wrong and what the client makes of it: rate limits (GitHub's primary
//! limit reported with its reset time, secondary limits and proxies' 429s retried after
//! `Retry-After` in seconds or as an HTTP-date), 5xx retried then reported, 422, bodies over
//! the cap, answers that are not the documented JSON, and input refused before any call.

use std::time::{Duration, Instant};

use byteproof_forge::{ErrorClass, Forge, ForgeClient, ForgeConfig, ForgeError, Repo, Scope};
use byteproof_http::{ClientConfig, ErrorKind, ProxyConfig};
use byteproof_testkit::{EndlessServer, Fault, Reply, ScriptedServer, TimedServer, http_date_in};
use serde_json::json;

use crate::support::{Gitea, Github, client};

const GET_VARIABLE: &str = "GET /repos/{owner}/{repo}/actions/variables/{name}";

fn app() -> Repo {
    "bytelyst/app".parse().unwrap()
}

#[tokio::test]
async fn githubs_primary_rate_limit_is_reported_with_its_reset_time() {
    for status in [403, 429] {
        let github = Github::start();
        github.double.fail_next(
            GET_VARIABLE,
            1,
            Fault::RateLimit {
                status,
                retry_after: None,
            },
        );
        let err = github.ci().variable(&app(), "ROUTING").await.unwrap_err();
        let ForgeError::RateLimited {
            reset, attempts, ..
        } = &err
        else {
            panic!("{err:?}");
        };
        let ahead = reset.unwrap().duration_since(jiff::Timestamp::now());
        assert!((3590..=3610).contains(&ahead.as_secs()), "{ahead:?}");
        assert_eq!(*attempts, 1);
        assert_eq!(github.calls_to(GET_VARIABLE), 1, "never retried");
        let shown = err.to_string();
        assert!(
            shown.contains(&format!(
                "rate limited (HTTP {status}: API rate limit exceeded for installation.); the budget resets at {}",
                reset.unwrap()
            )),
            "{shown}"
        );
        assert_eq!(err.class(), ErrorClass::CouldNotCheck);
    }
}

#[tokio::test]
async fn secondary_rate_limits_are_retried_after_retry_after() {
    for status in [403, 429] {
        let github = Github::start();
        github
            .double
            .set_variable("bytelyst/app", "ROUTING", "true");
        github.double.fail_next(
            GET_VARIABLE,
            1,
            Fault::RateLimit {
                status,
                retry_after: Some(1),
            },
        );
        let started = Instant::now();
        let read = github.ci().variable(&app(), "ROUTING").await.unwrap();
        assert_eq!(read.unwrap().value, "true");
        assert!(started.elapsed() >= Duration::from_millis(950), "{status}");
        assert_eq!(github.calls_to(GET_VARIABLE), 2);

        // One that outlasts the retries is reported with its Retry-After.
        github.double.fail_next(
            GET_VARIABLE,
            10,
            Fault::RateLimit {
                status,
                retry_after: Some(0),
            },
        );
        let err = github.ci().variable(&app(), "ROUTING").await.unwrap_err();
        assert!(
            matches!(
                err,
                ForgeError::RateLimited {
                    attempts: 4,
                    retry_after: Some(Duration::ZERO),
                    reset: None,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains(&format!(
                "rate limited (HTTP {status} after 4 attempts: You have exceeded a secondary rate limit"
            )),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_proxys_429_before_gitea_is_retried() {
    let gitea = Gitea::start("1.24.2");
    let endpoint = "GET /api/v1/repos/{owner}/{repo}/actions/runners";
    gitea.double.fail_next(
        endpoint,
        1,
        Fault::RateLimit {
            status: 429,
            retry_after: Some(1),
        },
    );
    let started = Instant::now();
    let runners = gitea
        .client(Some(&gitea.owner))
        .runners(&"repo/bytelyst/app".parse().unwrap())
        .await
        .unwrap();
    assert!(runners.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(950));
    assert_eq!(gitea.calls_to(endpoint), 2);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let server = TimedServer::first_then(
        Reply::status(429).with_header("Retry-After", &http_date_in(2)),
        Reply::json(200, &json!({"version": "1.24.2"})),
    )
    .unwrap();
    let gitea = client(Forge::Gitea, &format!("{}api/v1", server.url()), None);
    let version = gitea.server_version().await.unwrap();
    assert_eq!(version.to_string(), "1.24.2");
    // The date has whole seconds: the wait is between 1 s and the 3 s cap.
    let waited = server.gaps()[0];
    assert!(
        waited >= Duration::from_millis(950) && waited <= Duration::from_secs(3),
        "{waited:?}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let gitea = Gitea::start("1.25.4");
    let endpoint = "GET /api/v1/version";
    gitea.double.fail_next(endpoint, 2, Fault::Status(503));
    let client = gitea.client(None);
    assert_eq!(client.server_version().await.unwrap().to_string(), "1.25.4");
    assert_eq!(gitea.calls_to(endpoint), 3);

    gitea.double.fail_next(endpoint, 10, Fault::Status(500));
    let err = gitea.client(None).probe().await.unwrap_err();
    assert!(
        matches!(
            err,
            ForgeError::Server {
                status: 500,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "server version (GET {}api/v1/version): server error (HTTP 500 after 4 attempts)",
            gitea.double.root_url()
        )
    );
    assert_eq!(err.class(), ErrorClass::CouldNotCheck);
}

#[tokio::test]
async fn validation_failures_are_rejections() {
    let github = Github::start();
    github.double.fail_next(
        "POST /repos/{owner}/{repo}/actions/variables",
        1,
        Fault::Status(422),
    );
    let err = github
        .ci()
        .create_variable(&app(), "ROUTING", "true")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::Rejected { status: 422, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .ends_with("the forge rejected the request (HTTP 422: Validation Failed)"),
        "{err}"
    );
    assert_eq!(github.double.variable("bytelyst/app", "ROUTING"), None);

    let gitea = Gitea::start("1.23.8");
    for status in [400, 422] {
        gitea.double.fail_next(
            "POST /api/v1/repos/{owner}/{repo}/actions/variables/{variablename}",
            1,
            Fault::Status(status),
        );
        let err = gitea
            .client(Some(&gitea.owner))
            .create_variable(&app(), "ROUTING", "on")
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(status));
        assert!(matches!(err, ForgeError::Rejected { .. }), "{err:?}");
        assert_eq!(err.class(), ErrorClass::CouldNotCheck);
    }
}

#[test]
fn bad_input_is_a_usage_error() {
    let usage = |err: ForgeError| {
        assert_eq!(err.class(), ErrorClass::Usage, "{err}");
        err.to_string()
    };
    assert_eq!(
        usage("gitlab".parse::<Forge>().unwrap_err()),
        "forge \"gitlab\": the forges are gitea and github"
    );
    assert_eq!("GitHub".parse::<Forge>().unwrap(), Forge::Github);
    let scope = "repo/only-owner".parse::<Scope>().unwrap_err();
    assert!(usage(scope.into()).starts_with("\"repo/only-owner\" is not instance"));
    for url in [
        "git.example/api/v1",
        "ftp://git.example/",
        "https://u:p@git.example/api/v1",
        "https://git.example/api/v1?x=1",
    ] {
        let err = ForgeConfig::new(Forge::Gitea, url).unwrap_err();
        assert!(usage(err).starts_with("Gitea API URL: "), "{url}");
    }
    let proxy = ProxyConfig::from_lookup(|name| {
        (name == "HTTPS_PROXY").then(|| "socks5://127.0.0.1:1".to_owned())
    });
    let config = ForgeConfig::new(Forge::Github, byteproof_forge::GITHUB_API_URL)
        .unwrap()
        .http(ClientConfig {
            proxy,
            ..ClientConfig::default()
        });
    assert!(
        usage(ForgeClient::new(config).unwrap_err())
            .starts_with("HTTPS_PROXY is not a usable proxy URL")
    );
}

#[test]
fn a_gitea_instance_url_becomes_its_api_base() {
    for (instance, api) in [
        ("https://git.example", "https://git.example/api/v1"),
        ("https://git.example/", "https://git.example/api/v1"),
        (
            "https://host.example/gitea/",
            "https://host.example/gitea/api/v1",
        ),
        ("https://git.example/api/v1/", "https://git.example/api/v1"),
    ] {
        let client = ForgeClient::new(ForgeConfig::gitea_instance(instance).unwrap()).unwrap();
        assert_eq!(client.api_url().as_str(), api, "{instance}");
        assert_eq!(client.forge(), Forge::Gitea);
    }
}

#[tokio::test]
async fn an_endless_answer_is_too_large_and_not_retried() {
    let endless = EndlessServer::start(200, &[("Content-Type", "application/json")]).unwrap();
    let gitea = client(Forge::Gitea, &format!("{}api/v1", endless.url()), None);
    let err = gitea.server_version().await.unwrap_err();
    let ForgeError::Http { source, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(matches!(source.kind(), ErrorKind::TooLarge { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("server version: GET http://127.0.0.1:"),
        "{err}"
    );
    assert!(
        err.to_string().contains("larger than the 4194304-byte cap"),
        "{err}"
    );
    assert_eq!(endless.requests().len(), 1);
    assert_eq!(err.class(), ErrorClass::CouldNotCheck);
}

#[tokio::test]
async fn answers_that_are_not_the_documented_json_are_malformed() {
    let server = ScriptedServer::start(|req| match req.path_only() {
        "/number/api/v1/version" => Reply::json(200, &json!({"version": 5})),
        "/text/api/v1/version" => Reply::bytes(200, "text/html", "<html>login</html>"),
        "/banana/api/v1/version" => Reply::json(200, &json!({"version": "banana"})),
        "/runners/api/v1/version" => Reply::json(200, &json!({"version": "1.25.4"})),
        "/runners/api/v1/admin/actions/runners" => {
            Reply::json(200, &json!({"total_count": 1, "runners": "r1"}))
        }
        "/permission/api/v1/repos/bytelyst/app/collaborators/alice/permission" => {
            Reply::json(200, &json!({"permission": "superuser"}))
        }
        _ => Reply::status(404),
    })
    .unwrap();
    let at = |prefix: &str| {
        client(
            Forge::Gitea,
            &format!("{}{prefix}/api/v1", server.url()),
            None,
        )
    };
    for (prefix, detail) in [
        ("number", "invalid type: integer `5`, expected a string"),
        ("text", "expected value at line 1 column 1"),
        ("banana", "\"banana\" is not a version"),
    ] {
        let err = at(prefix).server_version().await.unwrap_err();
        assert!(matches!(err, ForgeError::Malformed { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&format!(
                "the answer is not what the forge documents: {detail}"
            )),
            "{err}"
        );
        assert_eq!(err.class(), ErrorClass::CouldNotCheck);
    }
    let err = at("runners").runners(&Scope::Instance).await.unwrap_err();
    assert!(matches!(err, ForgeError::Malformed { .. }), "{err:?}");
    let err = at("permission")
        .collaborator_permission(&app(), "alice")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("unknown permission \"superuser\""),
        "{err}"
    );
}
