//! Every operation against the Gitea double at every release that matters (1.21–1.25): the
//! version learned once, registration tokens by GET or POST, the runner API from 1.24,
//! variables from 1.22 (and the CI-prefix rule up to 1.24), collaborator permission, and the
//! refusals Gitea gives (401, the scope and owner 403s, 404, 409).

use byteproof_forge::{
    ErrorClass, ForgeError, GiteaFeature, Operation, Permission, Repo, RunnerStatus, Scope,
    VariableChange,
};
use byteproof_testkit::{Runner, RunnerScope, RunnerStatus as SeedStatus};

use crate::support::{GITEA_VERSIONS, Gitea};

fn scope(text: &str) -> Scope {
    text.parse().unwrap()
}

fn repo(text: &str) -> Repo {
    text.parse().unwrap()
}

fn minor(version: &str) -> u32 {
    version.split('.').nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_version_is_read_once_and_kept() {
    for version in GITEA_VERSIONS {
        let gitea = Gitea::start(version);
        let client = gitea.client(Some(&gitea.admin));
        let probe = client.probe().await.unwrap();
        assert_eq!(probe.version.to_string(), version);
        let skew = jiff::Timestamp::now().duration_since(probe.server_date.expect("a Date header"));
        assert!(skew.abs().as_secs() < 5, "{skew:?}");
        assert_eq!(client.server_version().await.unwrap(), probe.version);
        // Operations that depend on the release use the version already learned.
        let _ = client.registration_token(&scope("repo/bytelyst/app")).await;
        let _ = client.variable(&repo("bytelyst/app"), "ROUTING").await;
        let _ = client.clone().runners(&Scope::Instance).await;
        assert_eq!(gitea.calls_to("GET /api/v1/version"), 1, "{version}");
        // A fresh client asks once on its own.
        let other = gitea.client(None);
        assert_eq!(other.server_version().await.unwrap().to_string(), version);
        assert_eq!(gitea.calls_to("GET /api/v1/version"), 2, "{version}");
    }
}

#[tokio::test]
async fn registration_tokens_use_get_before_1_24_and_post_from_1_24() {
    for version in GITEA_VERSIONS {
        let gitea = Gitea::start(version);
        let client = gitea.client(Some(&gitea.admin));
        let root = gitea.double.root_url();
        for (text, seeded, get, post, ui, flag) in [
            (
                "instance",
                RunnerScope::Instance,
                "GET /api/v1/admin/runners/registration-token",
                "POST /api/v1/admin/actions/runners/registration-token",
                "admin/actions/runners",
                "",
            ),
            (
                "org/bytelyst",
                RunnerScope::Org("bytelyst".into()),
                "GET /api/v1/orgs/{org}/actions/runners/registration-token",
                "POST /api/v1/orgs/{org}/actions/runners/registration-token",
                "bytelyst/settings/actions/runners",
                " --scope bytelyst",
            ),
            (
                "repo/bytelyst/app",
                RunnerScope::Repo("bytelyst/app".into()),
                "GET /api/v1/repos/{owner}/{repo}/actions/runners/registration-token",
                "POST /api/v1/repos/{owner}/{repo}/actions/runners/registration-token",
                "bytelyst/app/settings/actions/runners",
                " --scope bytelyst/app",
            ),
        ] {
            let result = client.registration_token(&scope(text)).await;
            if minor(version) < 22 {
                let err = result.unwrap_err();
                assert!(
                    matches!(
                        err,
                        ForgeError::Unsupported {
                            operation: Operation::RegistrationToken,
                            feature: GiteaFeature::RegistrationToken,
                            ..
                        }
                    ),
                    "{err:?}"
                );
                assert_eq!(
                    err.to_string(),
                    format!(
                        "runner registration token needs Gitea ≥ 1.22; this server is {version} \
                         (get a token in the web UI at {root}{ui}, or on the server with \
                         `gitea --config app.ini actions generate-runner-token{flag}`)"
                    )
                );
                assert_eq!(err.class(), ErrorClass::CouldNotCheck);
                continue;
            }
            let token = result.unwrap();
            assert_eq!(
                Some(token.token.expose().to_owned()),
                gitea.double.registration_token(&seeded),
                "{version} {text}"
            );
            assert_eq!(token.expires_at, None, "Gitea's tokens do not expire");
            let (used, unused) = if minor(version) >= 24 {
                (post, get)
            } else {
                (get, post)
            };
            assert_eq!(
                (gitea.calls_to(used), gitea.calls_to(unused)),
                (1, 0),
                "{version} {text}"
            );
            // The same long-lived token on every call.
            let again = client.registration_token(&scope(text)).await.unwrap();
            assert_eq!(again.token, token.token);
        }
    }
}

#[tokio::test]
async fn runners_are_listed_read_and_deleted_from_1_24() {
    for version in GITEA_VERSIONS {
        let gitea = Gitea::start(version);
        let app = RunnerScope::Repo("bytelyst/app".into());
        let online = gitea.double.add_runner(Runner::seed(
            app.clone(),
            "vm-1",
            &["ubuntu-latest", "linux"],
            SeedStatus::Online,
        ));
        gitea.double.add_runner(Runner::seed(
            app.clone(),
            "vm-2",
            &["linux"],
            SeedStatus::Busy,
        ));
        let offline =
            gitea
                .double
                .add_runner(Runner::seed(app, "vm-3", &["linux"], SeedStatus::Offline));
        gitea.double.add_runner(Runner::seed(
            RunnerScope::Org("bytelyst".into()),
            "org-runner",
            &["big"],
            SeedStatus::Online,
        ));
        let client = gitea.client(Some(&gitea.admin));
        let app_scope = scope("repo/bytelyst/app");
        let listed = client.runners(&app_scope).await;
        if minor(version) < 24 {
            let err = listed.unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("runner list needs Gitea ≥ 1.24; this server is {version}")
            );
            assert_eq!(err.class(), ErrorClass::CouldNotCheck);
            let err = client.runner(&app_scope, online).await.unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("runner look-up needs Gitea ≥ 1.24; this server is {version}")
            );
            let err = client.delete_runner(&app_scope, online).await.unwrap_err();
            assert!(matches!(err, ForgeError::Unsupported { .. }), "{err}");
            assert_eq!(gitea.double.runners().len(), 4);
            continue;
        }
        let listed = listed.unwrap();
        let seen: Vec<(&str, RunnerStatus, bool)> = listed
            .iter()
            .map(|r| (r.name.as_str(), r.status.clone(), r.busy))
            .collect();
        assert_eq!(
            seen,
            [
                ("vm-1", RunnerStatus::Online, false),
                ("vm-2", RunnerStatus::Online, true),
                ("vm-3", RunnerStatus::Offline, false),
            ]
        );
        let labels: Vec<(&str, bool)> = listed[0]
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.read_only))
            .collect();
        assert_eq!(labels, [("ubuntu-latest", false), ("linux", false)]);
        // The instance list holds every runner; an organisation its own.
        assert_eq!(client.runners(&Scope::Instance).await.unwrap().len(), 4);
        let org = client.runners(&scope("org/bytelyst")).await.unwrap();
        assert_eq!(org.len(), 1);
        assert_eq!(org[0].name, "org-runner");

        let one = client.runner(&app_scope, online).await.unwrap().unwrap();
        assert_eq!((one.id, one.name.as_str()), (online, "vm-1"));
        assert_eq!(client.runner(&app_scope, 999).await.unwrap(), None);
        client.delete_runner(&app_scope, offline).await.unwrap();
        assert_eq!(gitea.double.runners().len(), 3);
        assert_eq!(client.runner(&app_scope, offline).await.unwrap(), None);
        let err = client.delete_runner(&app_scope, offline).await.unwrap_err();
        assert!(matches!(err, ForgeError::NotFound { .. }), "{err:?}");
        assert!(
            err.to_string().starts_with(&format!(
                "runner removal for runner {offline} at repo/bytelyst/app (DELETE {}api/v1/repos/bytelyst/app/actions/runners/{offline}): not found (HTTP 404: Runner not found)",
                gitea.double.root_url()
            )),
            "{err}"
        );
    }
}

#[tokio::test]
async fn long_runner_lists_are_read_page_by_page() {
    let gitea = Gitea::start("1.25.4");
    for n in 0..120 {
        gitea.double.add_runner(Runner::seed(
            RunnerScope::Repo("bytelyst/app".into()),
            &format!("vm-{n}"),
            &["linux"],
            SeedStatus::Offline,
        ));
    }
    let client = gitea.client(Some(&gitea.owner));
    let runners = client.runners(&scope("repo/bytelyst/app")).await.unwrap();
    let names: Vec<String> = runners.into_iter().map(|r| r.name).collect();
    let expected: Vec<String> = (0..120).map(|n| format!("vm-{n}")).collect();
    assert_eq!(names, expected);
    assert_eq!(
        gitea.calls_to("GET /api/v1/repos/{owner}/{repo}/actions/runners"),
        3
    );
}

#[tokio::test]
async fn variables_from_1_22_with_gitea_status_codes() {
    for version in GITEA_VERSIONS {
        let gitea = Gitea::start(version);
        let client = gitea.client(Some(&gitea.owner));
        let app = repo("bytelyst/app");
        if minor(version) < 22 {
            let err = client.variable(&app, "ROUTING").await.unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("variable read needs Gitea ≥ 1.22; this server is {version}")
            );
            let err = client
                .set_variable(&app, "ROUTING", "on")
                .await
                .unwrap_err();
            assert!(matches!(err, ForgeError::Unsupported { .. }), "{err}");
            continue;
        }
        assert_eq!(client.variable(&app, "ROUTING").await.unwrap(), None);
        assert_eq!(
            client.set_variable(&app, "routing", "on").await.unwrap(),
            VariableChange::Created
        );
        assert_eq!(
            gitea.double.variable("bytelyst/app", "ROUTING").as_deref(),
            Some("on")
        );
        let writes = |gitea: &Gitea| {
            gitea.calls_to("POST /api/v1/repos/{owner}/{repo}/actions/variables/{variablename}")
                + gitea
                    .calls_to("PUT /api/v1/repos/{owner}/{repo}/actions/variables/{variablename}")
        };
        assert_eq!(writes(&gitea), 1);
        assert_eq!(
            client.set_variable(&app, "ROUTING", "on").await.unwrap(),
            VariableChange::Unchanged
        );
        assert_eq!(writes(&gitea), 1, "an unchanged value is not written");
        assert_eq!(
            client.set_variable(&app, "ROUTING", "off").await.unwrap(),
            VariableChange::Updated {
                previous: Some("on".to_owned())
            }
        );
        // `\r\n` is stored as `\n`: setting it again changes nothing.
        client.set_variable(&app, "NOTE", "a\r\nb").await.unwrap();
        assert_eq!(
            client.set_variable(&app, "NOTE", "a\r\nb").await.unwrap(),
            VariableChange::Unchanged
        );
        let read = client.variable(&app, "routing").await.unwrap().unwrap();
        assert_eq!(
            (read.name.as_str(), read.value.as_str()),
            ("ROUTING", "off")
        );

        let err = client
            .create_variable(&app, "ROUTING", "x")
            .await
            .unwrap_err();
        assert!(matches!(err, ForgeError::Conflict { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("conflict (HTTP 409: variable name ROUTING already exists)"),
            "{err}"
        );
        let err = client
            .update_variable(&app, "MISSING", "x")
            .await
            .unwrap_err();
        assert!(matches!(err, ForgeError::NotFound { .. }), "{err:?}");

        // Up to 1.24 Gitea refuses names starting with CI; the client says so before asking.
        let routing = client
            .set_variable(&app, "CI_SELF_HOSTED_TRUSTED_ROUTING", "true")
            .await;
        if minor(version) < 25 {
            let err = routing.unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "variable update needs Gitea ≥ 1.25; this server is {version} (Gitea \
                     1.22–1.24 refuse variable names starting with CI, such as \
                     CI_SELF_HOSTED_TRUSTED_ROUTING)"
                )
            );
        } else {
            assert_eq!(routing.unwrap(), VariableChange::Created);
        }

        // Usage errors never reach the server.
        let before = gitea.double.calls().len();
        for (name, value) in [("ROUTING", ""), ("GITEA_X", "1"), ("1X", "1"), ("CI", "1")] {
            let err = client.set_variable(&app, name, value).await.unwrap_err();
            assert_eq!(err.class(), ErrorClass::Usage, "{name}: {err}");
        }
        assert_eq!(gitea.double.calls().len(), before);
    }
}

#[tokio::test]
async fn variable_lists_follow_x_total_count() {
    let gitea = Gitea::start("1.24.2");
    for n in 0..61 {
        gitea
            .double
            .set_variable("bytelyst/app", &format!("V{n:02}"), &n.to_string());
    }
    let client = gitea.client(Some(&gitea.owner));
    let all = client.variables(&repo("bytelyst/app")).await.unwrap();
    assert_eq!(all.len(), 61);
    assert_eq!((all[7].name.as_str(), all[7].value.as_str()), ("V07", "7"));
    assert_eq!(
        gitea.calls_to("GET /api/v1/repos/{owner}/{repo}/actions/variables"),
        2
    );
}

#[tokio::test]
async fn collaborator_permissions_include_owner() {
    for version in GITEA_VERSIONS {
        let gitea = Gitea::start(version);
        gitea
            .double
            .set_collaborator("bytelyst/app", "carol", "write");
        gitea
            .double
            .set_collaborator("bytelyst/app", "dave", "read");
        let client = gitea.client(Some(&gitea.owner));
        let app = repo("bytelyst/app");
        for (login, level) in [
            ("alice", Permission::Owner),
            ("bob", Permission::Admin),
            ("carol", Permission::Write),
            ("dave", Permission::Read),
        ] {
            assert_eq!(
                client.collaborator_permission(&app, login).await.unwrap(),
                level,
                "{version} {login}"
            );
        }
        let err = client
            .collaborator_permission(&repo("bytelyst/gone"), "alice")
            .await
            .unwrap_err();
        assert!(matches!(err, ForgeError::NotFound { .. }), "{err}");
    }
}

#[tokio::test]
async fn refusals_say_which_credential_scope_or_owner_is_missing() {
    let gitea = Gitea::start("1.24.2");
    let app_scope = scope("repo/bytelyst/app");
    let app = repo("bytelyst/app");

    let err = gitea.client(None).runners(&app_scope).await.unwrap_err();
    assert!(matches!(err, ForgeError::Unauthorized { .. }), "{err:?}");
    assert!(
        err.to_string()
            .ends_with("the forge refused the credential (HTTP 401: token is required)"),
        "{err}"
    );
    let err = gitea
        .client(Some("not-a-token"))
        .variable(&app, "X")
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::Unauthorized { .. }), "{err:?}");

    let reader = gitea
        .double
        .add_named_token("reader", "alice", &["read:repository"]);
    let err = gitea
        .client(Some(&reader))
        .set_variable(&app, "ROUTING", "off")
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::Forbidden { .. }), "{err:?}");
    assert!(
        err.to_string().ends_with(
            "permission denied (HTTP 403: token does not have at least one of required \
             scope(s), required=[write:repository], token scope=read:repository)"
        ),
        "{err}"
    );

    let bob = gitea
        .double
        .add_named_token("bob", "bob", &["write:repository"]);
    let err = gitea
        .client(Some(&bob))
        .variable(&app, "ROUTING")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("permission denied (HTTP 403: user should be the owner of the repo)"),
        "{err}"
    );
    let alice_all = gitea.double.add_named_token("alice-all", "alice", &["all"]);
    let err = gitea
        .client(Some(&alice_all))
        .runners(&Scope::Instance)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("permission denied (HTTP 403: user should be the site admin)"),
        "{err}"
    );
    let err = gitea
        .client(Some(&gitea.owner))
        .registration_token(&scope("repo/bytelyst/gone"))
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::NotFound { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::CouldNotCheck);
}

#[tokio::test]
async fn github_only_operations_are_usage_errors_on_gitea() {
    let gitea = Gitea::start("1.25.4");
    let client = gitea.client(Some(&gitea.admin));
    let app = scope("repo/bytelyst/app");
    let jit = client
        .jit_config(&app, &byteproof_forge::JitRequest::new("jit-1", &["linux"]))
        .await
        .unwrap_err();
    assert_eq!(jit.class(), ErrorClass::Usage);
    assert!(
        jit.to_string().starts_with(
            "JIT runner configuration is not available on Gitea: Gitea has no JIT endpoint"
        ),
        "{jit}"
    );
    let remove = client.remove_token(&app).await.unwrap_err();
    assert_eq!(remove.class(), ErrorClass::Usage);
    assert!(gitea.double.calls().is_empty(), "nothing was asked");
}
