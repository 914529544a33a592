//! The proxy from the environment: the client built with default HTTP settings reads
//! `HTTP_PROXY` / `NO_PROXY` like every byteproof client. The process environment cannot be
//! changed safely inside a threaded test, so the test runs itself again as a child process
//! with the variables set, and the child makes the call.

use std::process::Command;

use byteproof_forge::{Forge, ForgeClient, ForgeConfig};
use byteproof_redact::Secret;
use byteproof_testkit::{ForwardProxy, PROXY_VARIABLES};

use crate::support::Gitea;

/// Set in the child: the Gitea API URL to call.
const CHILD_API: &str = "BYTEPROOF_FORGE_PROXY_TEST_API";
/// Set in the child: the token to send.
const CHILD_TOKEN: &str = "BYTEPROOF_FORGE_PROXY_TEST_TOKEN";

#[tokio::test]
async fn the_proxy_from_the_environment_is_used() {
    if let Ok(api) = std::env::var(CHILD_API) {
        let token = std::env::var(CHILD_TOKEN).unwrap();
        let config = ForgeConfig::new(Forge::Gitea, &api)
            .unwrap()
            .token(Secret::new(token));
        let client = ForgeClient::new(config).unwrap();
        client
            .registration_token(&"repo/bytelyst/app".parse().unwrap())
            .await
            .unwrap();
        return;
    }
    let gitea = Gitea::start("1.24.2");
    let api = gitea.double.api_url();
    let authority = api
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    for no_proxy in [None, Some("127.0.0.1"), Some("localhost,127.0.0.0/8")] {
        let proxy = ForwardProxy::start().unwrap();
        let before = gitea.double.calls().len();
        let mut child = Command::new(std::env::current_exe().unwrap());
        child
            .args(["--exact", "network::the_proxy_from_the_environment_is_used"])
            .env(CHILD_API, &api)
            .env(CHILD_TOKEN, &gitea.owner);
        for variable in PROXY_VARIABLES {
            child.env_remove(variable);
        }
        child.env("HTTP_PROXY", proxy.url());
        if let Some(hosts) = no_proxy {
            child.env("NO_PROXY", hosts);
        }
        let output = child.output().unwrap();
        assert!(
            output.status.success(),
            "the child failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            gitea.double.calls().len(),
            before + 2,
            "version, then the token"
        );
        let through = proxy.requests();
        match no_proxy {
            None => assert_eq!(
                through,
                [
                    format!("GET http://{authority}/api/v1/version"),
                    format!(
                        "POST http://{authority}/api/v1/repos/bytelyst/app/actions/runners/registration-token"
                    ),
                ]
            ),
            Some(hosts) => assert_eq!(through, Vec::<String>::new(), "NO_PROXY={hosts}"),
        }
    }
}
