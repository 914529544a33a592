//! Integration tests against a real `docker-registry` on 127.0.0.1: resolution in all three auth
//! modes, with and without `Docker-Content-Digest`, stale and dangling pins, and byte-exact
//! rewrites of a workflow and an act_runner config.

mod pin;
mod resolve;

use byteproof_oci::{CredentialStore, Resolver, ResolverConfig};
use byteproof_ocitest::Registry;

/// A runtime for the async resolver; harness calls stay outside `block_on`.
fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A resolver that sends `docker.io` references to `url`.
fn resolver_for(url: &str, credentials: CredentialStore) -> Resolver {
    let mut config = ResolverConfig {
        credentials,
        ..ResolverConfig::default()
    };
    config.map_registry("docker.io", url.parse().expect("registry URL"));
    Resolver::new(config).expect("resolver")
}

/// A resolver for an open registry.
fn open_resolver(registry: &Registry) -> Resolver {
    resolver_for(&registry.url(), CredentialStore::new())
}

/// Credentials the way Docker writes them for Docker Hub.
fn hub_credentials(user: &str, password: &str) -> CredentialStore {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let text = format!(r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}}}}}}"#);
    CredentialStore::from_docker_config_text(&text, std::path::Path::new("config.json"))
        .expect("docker config")
}
