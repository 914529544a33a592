use byteproof_oci::{DigestSource, Platform, Reference, ResolveError, Resolver, ResolverConfig};
use byteproof_ocitest::{
    AuthMode, Format, ProxyMode, Registry, StripProxy, TestImage, WRONG_DIGEST,
};

use crate::{hub_credentials, open_resolver, resolver_for, rt};

fn r(s: &str) -> Reference {
    Reference::parse(s).expect("reference")
}

#[test]
fn open_registry_index_single_and_docker_list() {
    let registry = Registry::open();
    let oci = TestImage::build("v1", Format::Oci);
    let docker = TestImage::build("v1", Format::Docker);
    let index = registry.push_index("library/node", "20-bookworm", &oci);
    let single = registry.push_single("library/node", "20-bookworm-amd64", &oci, 0);
    let list = registry.push_index("library/node", "20-docker", &docker);
    let user = registry.push_index("someone/tool", "1", &oci);

    let resolver = open_resolver(&registry);
    let rt = rt();
    let got = rt
        .block_on(resolver.resolve(&r("node:20-bookworm")))
        .expect("resolve index");
    assert_eq!(got.digest.to_string(), index);
    assert_eq!(got.media_type, byteproof_oci::MEDIA_OCI_INDEX);
    assert_eq!(got.source, DigestSource::Header);

    let got = rt
        .block_on(resolver.resolve(&r("docker.io/library/node:20-bookworm-amd64")))
        .expect("resolve single");
    assert_eq!(got.digest.to_string(), single);

    // A Docker manifest list must come back as the list, never the amd64 child.
    let got = rt
        .block_on(resolver.resolve(&r("index.docker.io/node:20-docker")))
        .expect("resolve list");
    assert_eq!(got.digest.to_string(), list);
    assert_ne!(got.digest.to_string(), docker.platforms[0].digest());

    let got = rt
        .block_on(resolver.resolve(&r("someone/tool:1")))
        .expect("resolve user repo");
    assert_eq!(got.digest.to_string(), user);

    let missing = rt
        .block_on(resolver.resolve(&r("node:99")))
        .expect_err("unknown tag");
    assert!(missing.is_not_found(), "{missing}");
    // `library/` is Docker Hub only: the same repository name without it is another repository.
    let mut config = ResolverConfig::default();
    config.map_registry(registry.addr(), registry.url().parse().expect("url"));
    let direct = Resolver::new(config).expect("resolver");
    let other = rt
        .block_on(direct.resolve(&r(&format!("{}/node:20-bookworm", registry.addr()))))
        .expect_err("no library/");
    assert!(other.is_not_found(), "{other}");
    let ok = rt
        .block_on(direct.resolve(&r(&format!("{}/library/node:20-bookworm", registry.addr()))))
        .expect("direct");
    assert_eq!(ok.digest.to_string(), index);
}

#[test]
fn platform_selection_is_opt_in() {
    let registry = Registry::open();
    let oci = TestImage::build("plat", Format::Oci);
    let index = registry.push_index("library/node", "20", &oci);
    let mut config = ResolverConfig {
        platform: Some("linux/arm64/v8".parse::<Platform>().expect("platform")),
        ..ResolverConfig::default()
    };
    config.map_registry("docker.io", registry.url().parse().expect("url"));
    let resolver = Resolver::new(config).expect("resolver");
    let got = rt()
        .block_on(resolver.resolve(&r("node:20")))
        .expect("resolve");
    assert_eq!(got.digest.to_string(), oci.platforms[1].digest());
    assert_eq!(got.tag_digest.to_string(), index);

    let mut config = ResolverConfig {
        platform: Some("linux/s390x".parse().expect("platform")),
        ..ResolverConfig::default()
    };
    config.map_registry("docker.io", registry.url().parse().expect("url"));
    let resolver = Resolver::new(config).expect("resolver");
    let err = rt()
        .block_on(resolver.resolve(&r("node:20")))
        .expect_err("no such platform");
    assert!(
        matches!(err, ResolveError::PlatformNotFound { .. }),
        "{err}"
    );
}

#[test]
fn missing_digest_header_falls_back_to_hashing_the_body() {
    let registry = Registry::open();
    let oci = TestImage::build("hdr", Format::Oci);
    let index = registry.push_index("library/node", "20", &oci);
    let proxy = StripProxy::start(registry.addr());
    let resolver = resolver_for(&proxy.url(), Default::default());
    let rt = rt();
    let got = rt
        .block_on(resolver.resolve(&r("node:20")))
        .expect("resolve via proxy");
    assert_eq!(got.digest.to_string(), index);
    assert_eq!(got.source, DigestSource::Body);
    let log = proxy.requests();
    assert_eq!(
        log,
        vec![
            "HEAD /v2/library/node/manifests/20".to_owned(),
            "GET /v2/library/node/manifests/20".to_owned()
        ]
    );

    // With the header, HEAD alone is enough.
    let direct = open_resolver(&registry);
    let got = rt
        .block_on(direct.resolve(&r("node:20")))
        .expect("resolve direct");
    assert_eq!(got.digest.to_string(), index);
    assert_eq!(got.source, DigestSource::Header);
}

#[test]
fn a_digest_header_that_disagrees_with_the_body_is_an_error() {
    let registry = Registry::open();
    let oci = TestImage::build("liar", Format::Oci);
    let index = registry.push_index("library/node", "20", &oci);
    let proxy = StripProxy::with_mode(registry.addr(), ProxyMode::WrongOnGet);
    let resolver = resolver_for(&proxy.url(), Default::default());
    let err = rt()
        .block_on(resolver.resolve(&r("node:20")))
        .expect_err("mismatch");
    match &err {
        ResolveError::DigestMismatch {
            header, computed, ..
        } => {
            assert_eq!(header, WRONG_DIGEST);
            assert_eq!(computed, &index);
        }
        other => panic!("expected DigestMismatch, got {other}"),
    }
}

#[test]
fn transient_server_errors_are_retried() {
    let registry = Registry::open();
    let oci = TestImage::build("flaky", Format::Oci);
    let index = registry.push_index("library/node", "20", &oci);
    let proxy = StripProxy::with_mode(registry.addr(), ProxyMode::FailFirst(2));
    let resolver = resolver_for(&proxy.url(), Default::default());
    let got = rt()
        .block_on(resolver.resolve(&r("node:20")))
        .expect("resolve after retries");
    assert_eq!(got.digest.to_string(), index);
    assert_eq!(got.source, DigestSource::Header);
    assert_eq!(proxy.requests().len(), 3, "{:?}", proxy.requests());

    let proxy = StripProxy::with_mode(registry.addr(), ProxyMode::FailFirst(10));
    let mut config = ResolverConfig {
        retries: 0,
        ..ResolverConfig::default()
    };
    config.map_registry("docker.io", proxy.url().parse().expect("url"));
    let resolver = Resolver::new(config).expect("resolver");
    let err = rt()
        .block_on(resolver.resolve(&r("node:20")))
        .expect_err("no retries");
    assert!(
        matches!(err, ResolveError::Status { status: 503, .. }),
        "{err}"
    );
}

#[test]
fn each_distinct_reference_is_resolved_once() {
    let registry = Registry::open();
    let oci = TestImage::build("once", Format::Oci);
    registry.push_index("library/node", "20", &oci);
    registry.push_index("library/node", "22", &oci);
    let proxy = StripProxy::start(registry.addr());
    let resolver = resolver_for(&proxy.url(), Default::default());
    let refs = [
        r("node:20"),
        r("docker.io/library/node:20"),
        r(&format!("node:20@{}", oci.index_digest())),
        r("index.docker.io/library/node:22"),
        r("node:22"),
    ];
    let results = rt().block_on(resolver.resolve_many(refs.iter()));
    assert_eq!(results.len(), 2);
    assert!(results.values().all(Result::is_ok));
    let heads = proxy
        .requests()
        .iter()
        .filter(|l| l.starts_with("HEAD "))
        .count();
    assert_eq!(heads, 2, "{:?}", proxy.requests());
}

#[test]
fn basic_auth_from_docker_config() {
    let registry = Registry::basic("ci", "s3cret");
    let oci = TestImage::build("basic", Format::Oci);
    let index = registry.push_index("library/node", "20", &oci);
    let rt = rt();

    let good = resolver_for(&registry.url(), hub_credentials("ci", "s3cret"));
    assert_eq!(
        rt.block_on(good.resolve(&r("node:20")))
            .expect("with credentials")
            .digest
            .to_string(),
        index
    );

    let wrong = resolver_for(&registry.url(), hub_credentials("ci", "wrong-password"));
    let err = rt
        .block_on(wrong.resolve(&r("node:20")))
        .expect_err("wrong password");
    let text = format!("{err} {err:?} {wrong:?}");
    assert!(matches!(err, ResolveError::Unauthorized { .. }), "{text}");
    assert!(
        err.to_string()
            .contains("credentials for docker.io were rejected"),
        "{err}"
    );
    assert!(!text.contains("wrong-password"), "secret leaked: {text}");

    let none = resolver_for(&registry.url(), Default::default());
    let err = rt
        .block_on(none.resolve(&r("node:20")))
        .expect_err("no credentials");
    assert!(err.to_string().contains("requires credentials"), "{err}");
}

#[test]
fn token_auth_follows_the_bearer_challenge() {
    let registry = Registry::token();
    let oci = TestImage::build("token", Format::Oci);
    let index = registry.push_index("library/node", "20", &oci);
    let resolver = resolver_for(&registry.url(), Default::default());
    let rt = rt();
    let got = rt
        .block_on(resolver.resolve(&r("node:20")))
        .expect("resolve with token");
    assert_eq!(got.digest.to_string(), index);
    // Again: the cached token is reused.
    rt.block_on(resolver.resolve(&r("node:20")))
        .expect("resolve again");
    let requests = registry.token_server().expect("token server").requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].service.as_deref(), Some("test-registry"));
    assert_eq!(
        requests[0].scopes,
        vec!["repository:library/node:pull".to_owned()]
    );
    assert_eq!(requests[0].basic_user, None);
}

#[test]
fn token_auth_with_credentials_at_the_realm() {
    let registry = Registry::start(AuthMode::Token {
        users: Some(("ci".to_owned(), "s3cret".to_owned())),
    });
    let oci = TestImage::build("token-creds", Format::Oci);
    let index = registry.push_index("library/node", "20", &oci);
    let rt = rt();
    let good = resolver_for(&registry.url(), hub_credentials("ci", "s3cret"));
    assert_eq!(
        rt.block_on(good.resolve(&r("node:20")))
            .expect("resolve")
            .digest
            .to_string(),
        index
    );
    let requests = registry.token_server().expect("token server").requests();
    assert_eq!(requests[0].basic_user.as_deref(), Some("ci"));

    let bad = resolver_for(&registry.url(), hub_credentials("ci", "nope-nope"));
    let err = rt
        .block_on(bad.resolve(&r("node:20")))
        .expect_err("wrong password");
    assert!(
        err.to_string()
            .contains("rejected the configured credentials"),
        "{err}"
    );
    assert!(!format!("{err:?}").contains("nope-nope"));
}

#[test]
fn dangling_digest_is_missing() {
    let registry = Registry::open();
    let oci = TestImage::build("dangle", Format::Oci);
    let index = registry.push_index("library/node", "20", &oci);
    let resolver = open_resolver(&registry);
    let rt = rt();
    let reference = r("node:20");
    let digest = byteproof_oci::Digest::parse(&index).expect("digest");
    assert!(matches!(
        rt.block_on(resolver.check_digest(&reference, &digest)),
        Ok(byteproof_oci::DigestStatus::Exists { .. })
    ));
    registry.delete_manifest("library/node", &index);
    assert_eq!(
        rt.block_on(resolver.check_digest(&reference, &digest))
            .expect("check"),
        byteproof_oci::DigestStatus::Missing
    );
}

#[test]
fn a_registry_that_refuses_head_is_resolved_with_get() {
    let registry = Registry::open();
    let oci = TestImage::build("nohead", Format::Oci);
    let index = registry.push_index("library/node", "20", &oci);
    let proxy = StripProxy::with_mode(registry.addr(), ProxyMode::RejectHead);
    let resolver = resolver_for(&proxy.url(), Default::default());
    let got = rt()
        .block_on(resolver.resolve(&r("node:20")))
        .expect("resolve through GET");
    assert_eq!(got.digest.to_string(), index);
    assert_eq!(got.source, DigestSource::Body);
    let log = proxy.requests();
    assert!(
        log[0].starts_with("HEAD ") && log[0].ends_with("-> 405"),
        "{log:?}"
    );
    assert!(log[1].starts_with("GET "), "{log:?}");
}
