//! The resolver against scripted and hostile registries on 127.0.0.1: 429 with `Retry-After`,
//! caps on manifests, token responses and error bodies, credentials across redirects, and
//! loopback registries over plain HTTP.

use std::time::Duration;

use byteproof_http::{Backoff, Jitter};
use byteproof_oci::{
    CredentialStore, Credentials, DigestSource, MEDIA_OCI_INDEX, Reference, ResolveError, Resolver,
    ResolverConfig,
};
use byteproof_testkit::{EndlessServer, Reply, ScriptedServer, TimedServer, http_date_in};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A manifest answer with the digest header (HEAD gets the head only).
fn manifest() -> Reply {
    Reply::bytes(200, MEDIA_OCI_INDEX, "{}").with_header("Docker-Content-Digest", DIGEST)
}

/// A resolver sending `docker.io` to `url`, with fast deterministic backoff.
fn resolver(url: &str, credentials: CredentialStore) -> Resolver {
    let mut config = ResolverConfig {
        credentials,
        backoff: Backoff {
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1500),
            max_total_wait: Duration::from_secs(10),
            jitter: Jitter::None,
        },
        ..ResolverConfig::default()
    };
    config.map_registry("docker.io", url.parse().unwrap());
    Resolver::new(config).unwrap()
}

fn node() -> Reference {
    Reference::parse("node:20").unwrap()
}

#[tokio::test]
async fn a_429_with_retry_after_in_seconds_is_waited_out() {
    let server = TimedServer::first_then(
        Reply::status(429).with_header("Retry-After", "1"),
        manifest(),
    )
    .unwrap();
    let resolved = resolver(&server.url(), CredentialStore::new())
        .resolve(&node())
        .await
        .unwrap();
    assert_eq!(
        (resolved.digest.to_string(), resolved.source),
        (DIGEST.to_owned(), DigestSource::Header)
    );
    let gaps = server.gaps();
    assert!(gaps[0] >= Duration::from_millis(950), "{gaps:?}");
}

#[tokio::test]
async fn a_429_with_retry_after_as_an_http_date_is_waited_out() {
    let date = http_date_in(2);
    let server = TimedServer::first_then(
        Reply::status(429).with_header("Retry-After", &date),
        manifest(),
    )
    .unwrap();
    resolver(&server.url(), CredentialStore::new())
        .resolve(&node())
        .await
        .unwrap();
    let waited = server.gaps()[0];
    assert!(
        waited >= Duration::from_millis(950) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_429_that_outlasts_the_retries_is_rate_limited_not_stale() {
    let server =
        ScriptedServer::start(|_| Reply::status(429).with_header("Retry-After", "0")).unwrap();
    let err = resolver(&server.url(), CredentialStore::new())
        .resolve(&node())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ResolveError::RateLimited {
                attempts: 4,
                retry_after: Some(Duration::ZERO),
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(server.request_count(), 4, "one try and three retries");
}

#[tokio::test]
async fn an_endless_manifest_is_too_large() {
    // HEAD gets no digest header, so the resolver GETs the body, which never ends.
    let endless = EndlessServer::start(200, &[("Content-Type", MEDIA_OCI_INDEX)]).unwrap();
    let err = resolver(&endless.url(), CredentialStore::new())
        .resolve(&node())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ResolveError::TooLarge {
                what: "manifest",
                limit: 4_194_304,
                ..
            }
        ),
        "{err}"
    );
    let lines = endless.requests();
    assert_eq!(
        lines.len(),
        2,
        "HEAD, then one GET that is never retried: {lines:?}"
    );
}

#[tokio::test]
async fn an_endless_error_body_is_too_large() {
    let endless = EndlessServer::start(404, &[]).unwrap();
    // HEAD carries no body; with GET the 404's endless body is cut at 1 MiB.
    let mut config = ResolverConfig::default();
    config.map_registry("docker.io", endless.url().parse().unwrap());
    let err = Resolver::new(config)
        .unwrap()
        .index_children(&node())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ResolveError::TooLarge {
                what: "error body",
                limit: 1_048_576,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn an_endless_token_response_is_too_large() {
    let realm = EndlessServer::start(200, &[("Content-Type", "application/json")]).unwrap();
    let challenge = format!(r#"Bearer realm="{}token",service="test""#, realm.url());
    let registry = ScriptedServer::start(move |_| {
        Reply::status(401).with_header("WWW-Authenticate", &challenge)
    })
    .unwrap();
    let err = resolver(&registry.url(), CredentialStore::new())
        .resolve(&node())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ResolveError::TooLarge {
                what: "token response",
                limit: 1_048_576,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn credentials_never_follow_a_redirect_to_another_origin() {
    let elsewhere = ScriptedServer::start(|_| manifest()).unwrap();
    let elsewhere_url = elsewhere.url();
    let registry = ScriptedServer::start(move |req| {
        if req.header("authorization").is_none() {
            return Reply::status(401).with_header("WWW-Authenticate", r#"Basic realm="test""#);
        }
        let target = format!("{elsewhere_url}{}", req.path.trim_start_matches('/'));
        Reply::status(307).with_header("Location", &target)
    })
    .unwrap();
    let mut credentials = CredentialStore::new();
    credentials.insert("docker.io", Credentials::new("ci", "s3cret"));
    let resolved = resolver(&registry.url(), credentials)
        .resolve(&node())
        .await
        .unwrap();
    assert_eq!(resolved.digest.to_string(), DIGEST);
    let to_registry = registry.requests();
    assert_eq!(to_registry.len(), 2);
    assert_eq!(
        to_registry[1].header("authorization"),
        Some("Basic Y2k6czNjcmV0")
    );
    let to_elsewhere = elsewhere.requests();
    assert_eq!(to_elsewhere.len(), 1);
    assert_eq!(
        to_elsewhere[0].header("authorization"),
        None,
        "credentials followed a redirect"
    );
}

#[tokio::test]
async fn a_loopback_registry_is_reached_over_plain_http_and_reported() {
    let server = ScriptedServer::start(|_| manifest()).unwrap();
    let registry = format!("127.0.0.1:{}", server.port());
    let resolver = Resolver::new(ResolverConfig::default()).unwrap();
    assert!(resolver.loopback_over_http().is_empty());
    let reference = Reference::parse(&format!("{registry}/library/node:20")).unwrap();
    let resolved = resolver.resolve(&reference).await.unwrap();
    assert_eq!(resolved.digest.to_string(), DIGEST);
    assert_eq!(server.requests()[0].path, "/v2/library/node/manifests/20");
    assert_eq!(resolver.loopback_over_http(), [registry]);
}
