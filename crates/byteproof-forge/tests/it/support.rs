//! Shared set-up: fast deterministic retries without a proxy, and the two forges seeded with
//! the same cast (an organisation `bytelyst` owning `bytelyst/app`).

use std::time::Duration;

use byteproof_forge::{Forge, ForgeClient, ForgeConfig};
use byteproof_http::{Backoff, ClientConfig, Jitter, ProxyConfig, RetryPolicy};
use byteproof_redact::Secret;
use byteproof_testkit::{Call, GiteaDouble, GiteaDoubleOptions, GithubDouble, permissions};

/// Every Gitea release the version matrix tells apart for the Actions API.
pub(crate) const GITEA_VERSIONS: [&str; 5] = ["1.21.11", "1.22.6", "1.23.8", "1.24.2", "1.25.4"];

/// Three retries, 1 ms then 2 ms …, `Retry-After` honoured up to 3 s, no proxy.
pub(crate) fn http_config() -> ClientConfig {
    ClientConfig {
        retry: RetryPolicy {
            retries: 3,
            backoff: Backoff {
                first_delay: Duration::from_millis(1),
                max_delay: Duration::from_secs(3),
                max_total_wait: Duration::from_secs(10),
                jitter: Jitter::None,
            },
        },
        proxy: ProxyConfig::none(),
        ..ClientConfig::default()
    }
}

/// A client of `forge` at `api_url` with `token`.
pub(crate) fn client(forge: Forge, api_url: &str, token: Option<&str>) -> ForgeClient {
    let mut config = ForgeConfig::new(forge, api_url)
        .unwrap()
        .http(http_config());
    if let Some(token) = token {
        config = config.token(Secret::new(token));
    }
    ForgeClient::new(config).unwrap()
}

/// A Gitea double at `version`: site admin `root`, organisation `bytelyst` owned by `alice`,
/// repositories `bytelyst/app` and `bytelyst/web`, `bob` an admin collaborator of
/// `bytelyst/app` (not an owner).
pub(crate) struct Gitea {
    pub(crate) double: GiteaDouble,
    /// `root`'s token: every scope.
    pub(crate) admin: String,
    /// `alice`'s token: `write:repository`, `write:organization`.
    pub(crate) owner: String,
}

impl Gitea {
    pub(crate) fn start(version: &str) -> Self {
        let double = GiteaDouble::start_with(GiteaDoubleOptions {
            owner: "bytelyst".to_owned(),
            version: version.to_owned(),
            ..GiteaDoubleOptions::default()
        })
        .unwrap();
        double.add_site_admin("root");
        double.add_org("bytelyst", &["alice"]);
        double.add_repo("bytelyst/app");
        double.add_repo("bytelyst/web");
        double.set_collaborator("bytelyst/app", "bob", "admin");
        let admin = double.add_named_token("root-token", "root", &["all"]);
        let owner = double.add_named_token(
            "alice-token",
            "alice",
            &["write:repository", "write:organization"],
        );
        Self {
            double,
            admin,
            owner,
        }
    }

    /// A client with `token`.
    pub(crate) fn client(&self, token: Option<&str>) -> ForgeClient {
        client(Forge::Gitea, &self.double.api_url(), token)
    }

    /// How many calls the double answered for `endpoint`.
    pub(crate) fn calls_to(&self, endpoint: &str) -> usize {
        count(&self.double.calls(), endpoint)
    }
}

/// A GitHub double: organisation `bytelyst`, repository `bytelyst/app`, and a token `ci` with
/// the permissions of variables, repository administration and organisation runners.
pub(crate) struct Github {
    pub(crate) double: GithubDouble,
    pub(crate) token: String,
}

impl Github {
    pub(crate) fn start() -> Self {
        let double = GithubDouble::start().unwrap();
        double.add_org("bytelyst");
        double.add_repo("bytelyst/app");
        let token = double.add_token(
            "ci",
            permissions(&[
                ("actions_variables", "write"),
                ("administration", "write"),
                ("organization_self_hosted_runners", "write"),
            ]),
        );
        Self { double, token }
    }

    /// A client with `token`.
    pub(crate) fn client(&self, token: Option<&str>) -> ForgeClient {
        client(Forge::Github, &self.double.api_url(), token)
    }

    /// The `ci` client.
    pub(crate) fn ci(&self) -> ForgeClient {
        self.client(Some(&self.token))
    }

    /// How many calls the double answered for `endpoint`.
    pub(crate) fn calls_to(&self, endpoint: &str) -> usize {
        count(&self.double.calls(), endpoint)
    }
}

/// How many of `calls` matched `endpoint`.
fn count(calls: &[Call], endpoint: &str) -> usize {
    calls
        .iter()
        .filter(|c| c.endpoint == Some(endpoint))
        .count()
}
