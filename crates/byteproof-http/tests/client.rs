//! The client against real sockets on 127.0.0.1: credentials across redirects, the retry loop
//! with `Retry-After`, and bounded reads against servers that never stop talking.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use byteproof_http::{
    Attempt, Backoff, ClientConfig, Credential, ErrorKind, HttpClient, HttpError, Jitter, Method,
    ProxyConfig, Request, RetryPolicy,
};
use byteproof_redact::Secret;
use byteproof_testkit::{EndlessServer, Reply, ScriptedServer, TimedServer, http_date_in};
use url::Url;

/// A client with fast, deterministic backoff (1 ms, then 2 ms, …) and no proxy.
fn client(retries: u32, max_delay: Duration) -> HttpClient {
    HttpClient::new(ClientConfig {
        retry: RetryPolicy {
            retries,
            backoff: Backoff {
                first_delay: Duration::from_millis(1),
                max_delay,
                max_total_wait: Duration::from_secs(10),
                jitter: Jitter::None,
            },
        },
        proxy: ProxyConfig::none(),
        ..ClientConfig::default()
    })
    .unwrap()
}

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

/// GETs `url` through the retry loop and reads the body under `limit`.
async fn get(client: &HttpClient, url: &Url, limit: u64) -> Result<(Vec<u8>, u32), HttpError> {
    client
        .retry(|_| async {
            let response = client.send(&Request::get(url)).await?;
            Ok::<_, Attempt<std::convert::Infallible>>(
                response.error_for_status().await?.bytes(limit).await?,
            )
        })
        .await
        .map_err(Attempt::into_http)
}

#[tokio::test]
async fn credentials_follow_redirects_only_on_their_own_origin() {
    let other = ScriptedServer::start(|_| Reply::bytes(200, "text/plain", "other")).unwrap();
    let other_url = other.url();
    let server = ScriptedServer::start(move |req| {
        let port = req
            .header("host")
            .unwrap_or_default()
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        match req.path.as_str() {
            "/same" => Reply::status(302).with_header("Location", "/final"),
            "/other-host" => Reply::status(307)
                .with_header("Location", &format!("http://localhost:{port}/final")),
            "/other-port" => {
                Reply::status(301).with_header("Location", &format!("{other_url}final"))
            }
            _ => Reply::bytes(200, "text/plain", "final"),
        }
    })
    .unwrap();
    let base = url(&server.url());
    let credential = Credential::bearer(&base, &Secret::new("origin-only-token"));
    let client = client(0, Duration::from_millis(10));
    for path in ["same", "other-host", "other-port"] {
        let request = Request::get(&base.join(path).unwrap()).credential(Some(&credential));
        let response = client.send(&request).await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
    let auth = |r: &byteproof_testkit::Request| r.header("authorization").map(str::to_owned);
    let seen: Vec<(String, Option<String>, Option<String>)> = server
        .requests()
        .iter()
        .map(|r| {
            (
                r.path.clone(),
                r.header("host")
                    .map(|h| h.split(':').next().unwrap_or_default().to_owned()),
                auth(r),
            )
        })
        .collect();
    let bearer = Some("Bearer origin-only-token".to_owned());
    assert_eq!(
        seen,
        [
            (
                "/same".to_owned(),
                Some("127.0.0.1".to_owned()),
                bearer.clone()
            ),
            (
                "/final".to_owned(),
                Some("127.0.0.1".to_owned()),
                bearer.clone()
            ),
            (
                "/other-host".to_owned(),
                Some("127.0.0.1".to_owned()),
                bearer.clone()
            ),
            ("/final".to_owned(), Some("localhost".to_owned()), None),
            (
                "/other-port".to_owned(),
                Some("127.0.0.1".to_owned()),
                bearer
            ),
        ]
    );
    let to_other = other.requests();
    assert_eq!(to_other.len(), 1);
    assert_eq!(
        to_other[0].header("authorization"),
        None,
        "the token followed a redirect to another port"
    );
}

#[tokio::test]
async fn a_303_turns_a_put_into_a_get_and_a_loop_is_an_error() {
    let server = ScriptedServer::start(|req| match req.path.as_str() {
        "/put" => Reply::status(303).with_header("Location", "/done"),
        "/loop" => Reply::status(302).with_header("Location", "/loop"),
        _ => Reply::status(200),
    })
    .unwrap();
    let client = client(0, Duration::from_millis(10));
    let base = url(&server.url());
    let put = Request::new(Method::PUT, &base.join("put").unwrap())
        .body("application/json", b"{}".to_vec());
    client.send(&put).await.unwrap();
    let requests = server.requests();
    assert_eq!(
        (requests[0].method.as_str(), requests[0].body.as_slice()),
        ("PUT", &b"{}"[..])
    );
    assert_eq!(
        (requests[1].method.as_str(), requests[1].body.as_slice()),
        ("GET", &b""[..])
    );

    let err = client
        .send(&Request::get(&base.join("loop").unwrap()))
        .await
        .unwrap_err();
    assert!(matches!(*err.kind(), ErrorKind::Redirect(_)), "{err}");
    assert!(err.to_string().contains("more than 10 redirects"), "{err}");
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured() {
    let server = TimedServer::first_then(
        Reply::status(429).with_header("Retry-After", "1"),
        Reply::bytes(200, "text/plain", "ok"),
    )
    .unwrap();
    let client = client(2, Duration::from_secs(5));
    let (body, attempts) = get(&client, &url(&server.url()), 1024).await.unwrap();
    assert_eq!((body.as_slice(), attempts), (&b"ok"[..], 2));
    // Without Retry-After the backoff would be 1 ms.
    let gaps = server.gaps();
    assert!(gaps[0] >= Duration::from_millis(950), "{gaps:?}");
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let server = TimedServer::first_then(
        Reply::status(503).with_header("Retry-After", &http_date_in(2)),
        Reply::bytes(200, "text/plain", "ok"),
    )
    .unwrap();
    let client = client(2, Duration::from_millis(1500));
    let (_, attempts) = get(&client, &url(&server.url()), 1024).await.unwrap();
    assert_eq!(attempts, 2);
    // The date has whole seconds: the wait is between 1 s and the 1.5 s cap.
    let waited = server.gaps()[0];
    assert!(
        waited >= Duration::from_millis(950) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[tokio::test]
async fn a_wait_past_the_total_cap_gives_up_at_once() {
    let server =
        ScriptedServer::start(|_| Reply::status(429).with_header("Retry-After", "3600")).unwrap();
    let client = HttpClient::new(ClientConfig {
        retry: RetryPolicy {
            retries: 5,
            backoff: Backoff {
                max_total_wait: Duration::from_secs(2),
                ..Backoff::default()
            },
        },
        proxy: ProxyConfig::none(),
        ..ClientConfig::default()
    })
    .unwrap();
    let started = Instant::now();
    let err = get(&client, &url(&server.url()), 1024).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!((err.status(), err.attempts()), (Some(429), 1));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn transient_failures_are_retried_and_others_are_not() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let server = ScriptedServer::start(move |req| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        match req.path.as_str() {
            "/truncated" if n == 0 => Reply::lying_length(200, 100, b"short"),
            "/truncated" => Reply::bytes(200, "text/plain", "whole"),
            "/missing" => Reply::bytes(404, "application/json", r#"{"error":"not found"}"#),
            _ => Reply::status(502),
        }
    })
    .unwrap();
    let base = url(&server.url());
    let client = client(2, Duration::from_millis(10));
    let (body, attempts) = get(&client, &base.join("truncated").unwrap(), 1024)
        .await
        .unwrap();
    assert_eq!((body.as_slice(), attempts), (&b"whole"[..], 2));

    let err = get(&client, &base.join("missing").unwrap(), 1024)
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.attempts()), (Some(404), 1));
    assert_eq!(
        err.to_string(),
        format!("GET {base}missing: HTTP 404: not found")
    );

    let err = get(&client, &base.join("broken").unwrap(), 1024)
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.attempts()), (Some(502), 3));
    assert_eq!(hits.load(Ordering::SeqCst), 2 + 1 + 3);
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_cap() {
    let endless = EndlessServer::start(200, &[("Content-Type", "application/json")]).unwrap();
    let client = client(3, Duration::from_millis(10));
    let err = get(&client, &url(&endless.url()), 1 << 20)
        .await
        .unwrap_err();
    assert_eq!(
        *err.kind(),
        ErrorKind::TooLarge {
            limit: 1 << 20,
            announced: None
        }
    );
    assert_eq!(err.kind().name(), "too-large");
    assert_eq!(endless.requests().len(), 1, "too large is never retried");

    // Streamed chunk by chunk, the count stops at the cap too.
    let response = client
        .send(&Request::get(&url(&endless.url())))
        .await
        .unwrap();
    let mut body = response.body(300_000).unwrap();
    let err = loop {
        match body.chunk().await {
            Ok(Some(_)) => assert!(body.read() <= 300_000),
            Ok(None) => panic!("an endless body ended"),
            Err(err) => break err,
        }
    };
    assert!(
        matches!(*err.kind(), ErrorKind::TooLarge { limit: 300_000, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn an_announced_content_length_over_the_cap_fails_before_reading() {
    let endless = EndlessServer::start(200, &[("Content-Length", "5368709120")]).unwrap();
    let client = client(0, Duration::from_millis(10));
    let err = get(&client, &url(&endless.url()), 1 << 20)
        .await
        .unwrap_err();
    assert_eq!(
        *err.kind(),
        ErrorKind::TooLarge {
            limit: 1 << 20,
            announced: Some(5 << 30)
        }
    );
    assert!(
        err.to_string().contains("announced as 5368709120 bytes"),
        "{err}"
    );
}

#[tokio::test]
async fn an_endless_error_body_is_too_large_not_a_status() {
    let endless = EndlessServer::start(500, &[]).unwrap();
    let client = client(3, Duration::from_millis(10));
    let err = get(&client, &url(&endless.url()), 1 << 20)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(
        *err.kind(),
        ErrorKind::TooLarge {
            limit: byteproof_http::MAX_ERROR_BODY,
            announced: None
        }
    );
    assert!(
        err.to_string()
            .contains("HTTP 500 with an error body larger than the 1048576-byte cap"),
        "{err}"
    );
    assert_eq!(endless.requests().len(), 1);
}
