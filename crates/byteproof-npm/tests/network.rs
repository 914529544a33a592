//! The npm client against hostile and flaky servers on 127.0.0.1: `Retry-After`, caps on every
//! read, credentials across redirects, and spooled tarballs.

use std::io::Read as _;
use std::time::Duration;

use byteproof_http::{Backoff, Jitter};
use byteproof_npm::{
    Auth, Capped, ClientOptions, FetchError, FetchErrorKind, Keep, Kept, NpmClient, PackageSpec,
    Registry, Secret,
};
use byteproof_testkit::{
    EndlessServer, FakeRegistry, Reply, ScriptedServer, TimedServer, http_date_in,
};
use url::Url;

/// Fast, deterministic backoff (1 ms, 2 ms, …) under a 1.5 s cap per delay.
fn client(options: ClientOptions) -> NpmClient {
    NpmClient::new(ClientOptions {
        retries: 2,
        backoff: Backoff {
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1500),
            max_total_wait: Duration::from_secs(10),
            jitter: Jitter::None,
        },
        ..options
    })
    .unwrap()
}

fn spec() -> PackageSpec {
    PackageSpec::parse("@acme/pkg@1.0.0").unwrap()
}

#[tokio::test]
async fn a_429_with_retry_after_in_seconds_is_waited_out() {
    let server = TimedServer::first_then(
        Reply::status(429).with_header("Retry-After", "1"),
        Reply::tarball(b"tgz".to_vec()),
    )
    .unwrap();
    let registry = Registry::new("r", &server.url()).unwrap();
    let url = Url::parse(&format!("{}pkg/-/pkg-1.0.0.tgz", server.url())).unwrap();
    let fetched = client(ClientOptions::default())
        .tarball(&registry, &url, Keep::Memory { up_to: 10 })
        .await
        .unwrap();
    assert_eq!(
        (fetched.kept.into_bytes().unwrap(), fetched.attempts),
        (b"tgz".to_vec(), 2)
    );
    let gaps = server.gaps();
    assert!(gaps[0] >= Duration::from_millis(950), "{gaps:?}");
}

#[tokio::test]
async fn a_429_with_retry_after_as_an_http_date_is_waited_out() {
    let date = http_date_in(2);
    let registry = FakeRegistry::new("@acme/pkg").version("1.0.0", b"tgz".to_vec());
    let honest = registry.start().unwrap();
    let packument = byteproof_testkit::http::get(&format!("{}@acme%2fpkg", honest.url())).unwrap();
    let server = TimedServer::first_then(
        Reply::status(429).with_header("Retry-After", &date),
        Reply::bytes(200, "application/json", packument.body),
    )
    .unwrap();
    let dist = client(ClientOptions::default())
        .dist(&Registry::new("r", &server.url()).unwrap(), &spec())
        .await
        .unwrap();
    assert!(
        dist.tarball
            .as_str()
            .ends_with("/@acme/pkg/-/pkg-1.0.0.tgz"),
        "{}",
        dist.tarball
    );
    let waited = server.gaps()[0];
    assert!(
        waited >= Duration::from_millis(950) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[tokio::test]
async fn an_endless_packument_is_too_large() {
    let endless = EndlessServer::start(200, &[("Content-Type", "application/json")]).unwrap();
    let registry = Registry::new("r", &endless.url()).unwrap();
    let err = client(ClientOptions {
        max_packument_size: 1 << 20,
        ..ClientOptions::default()
    })
    .dist(&registry, &spec())
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            FetchError::TooLarge {
                what: Capped::Packument,
                limit: 1_048_576,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.kind(), FetchErrorKind::TooLarge);
    assert!(
        err.to_string().contains("raise --max-packument-size"),
        "{err}"
    );
    assert_eq!(endless.requests().len(), 1, "never retried");
}

#[tokio::test]
async fn an_endless_tarball_and_an_endless_error_body_are_too_large() {
    let registry = Registry::new("r", "http://127.0.0.1:9/").unwrap();
    let options = ClientOptions {
        max_tarball_size: 2 << 20,
        ..ClientOptions::default()
    };
    for (status, what, limit) in [
        (200, Capped::Tarball, 2 << 20),
        (503, Capped::Reply, 1 << 20),
    ] {
        let endless = EndlessServer::start(status, &[]).unwrap();
        let url = Url::parse(&format!("{}x.tgz", endless.url())).unwrap();
        let err = client(options.clone())
            .tarball(&registry, &url, Keep::Spool)
            .await
            .unwrap_err();
        match &err {
            FetchError::TooLarge {
                what: w, limit: l, ..
            } => assert_eq!((*w, *l), (what, limit), "{err}"),
            other => panic!("expected too-large, got {other}"),
        }
        assert_eq!(endless.requests().len(), 1);
    }
}

#[tokio::test]
async fn the_token_stays_on_the_registry_origin_across_redirects() {
    let cdn = ScriptedServer::start(|_| Reply::tarball(b"from-cdn".to_vec())).unwrap();
    let cdn_url = cdn.url();
    let server = ScriptedServer::start(move |req| {
        let port = req
            .header("host")
            .unwrap_or_default()
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        match req.path.as_str() {
            "/same.tgz" => Reply::status(302).with_header("Location", "/final.tgz"),
            "/host.tgz" => Reply::status(302)
                .with_header("Location", &format!("http://localhost:{port}/final.tgz")),
            "/cdn.tgz" => Reply::status(307).with_header("Location", &format!("{cdn_url}file.tgz")),
            _ => Reply::tarball(b"final".to_vec()),
        }
    })
    .unwrap();
    let registry = Registry::new("r", &server.url())
        .unwrap()
        .with_auth(Some(Auth::Bearer(Secret::new("registry-token"))));
    let client = client(ClientOptions::default());
    for path in ["same.tgz", "host.tgz", "cdn.tgz"] {
        let url = Url::parse(&server.url()).unwrap().join(path).unwrap();
        client
            .tarball(&registry, &url, Keep::Nothing)
            .await
            .unwrap();
    }
    let seen: Vec<(String, bool)> = server
        .requests()
        .iter()
        .map(|r| {
            let host = r
                .header("host")
                .unwrap_or_default()
                .split(':')
                .next()
                .unwrap_or_default();
            (
                format!("{host}{}", r.path),
                r.header("authorization").is_some(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("127.0.0.1/same.tgz".to_owned(), true),
            ("127.0.0.1/final.tgz".to_owned(), true),
            ("127.0.0.1/host.tgz".to_owned(), true),
            ("localhost/final.tgz".to_owned(), false),
            ("127.0.0.1/cdn.tgz".to_owned(), true),
        ]
    );
    assert_eq!(
        cdn.requests()[0].header("authorization"),
        None,
        "the token followed a redirect"
    );
}

#[tokio::test]
async fn a_spooled_tarball_is_whole_after_a_retry_and_readable_twice() {
    let tgz: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let server = TimedServer::first_then(
        Reply::lying_length(200, tgz.len(), &tgz[..1000]),
        Reply::tarball(tgz.clone()),
    )
    .unwrap();
    let registry = Registry::new("r", &server.url()).unwrap();
    let url = Url::parse(&format!("{}t.tgz", server.url())).unwrap();
    let fetched = client(ClientOptions::default())
        .tarball(&registry, &url, Keep::Spool)
        .await
        .unwrap();
    assert_eq!(fetched.attempts, 2);
    assert_eq!(fetched.digests, byteproof_hash::hash_bytes(&tgz));
    let Kept::Spooled(mut file) = fetched.kept else {
        panic!("not spooled");
    };
    let mut first = Vec::new();
    file.read_to_end(&mut first).unwrap();
    assert_eq!(first, tgz, "the broken first attempt left nothing behind");
    use std::io::Seek as _;
    file.rewind().unwrap();
    let mut second = Vec::new();
    file.read_to_end(&mut second).unwrap();
    assert_eq!(second, tgz);
}
