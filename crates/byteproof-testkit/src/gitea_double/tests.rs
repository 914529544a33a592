//! Tests of the Gitea double against the reference notes.

use base64::Engine as _;
use serde_json::{Value, json};

use super::*;
use crate::http::send;

fn body(name: &str, version: &str, bytes: &[u8], integrity: Option<&str>) -> Vec<u8> {
    let d = byteproof_hash::hash_bytes(bytes);
    let integrity = integrity.map_or_else(|| d.integrity(), str::to_owned);
    json!({
        "_id": name, "name": name, "dist-tags": {"e2e": version},
        "versions": {version: {"name": name, "version": version, "description": "d",
            "dist": {"integrity": integrity, "shasum": d.sha1_hex(), "tarball": "x"}}},
        "_attachments": {format!("{name}-{version}.tgz"): {
            "data": base64::engine::general_purpose::STANDARD.encode(bytes)}},
    })
    .to_string()
    .into_bytes()
}

fn put(g: &GiteaDouble, token: &str, name: &str, version: &str, bytes: &[u8]) -> u16 {
    let auth = format!("token {token}");
    let url = format!("{}{}", g.url(), name.replacen('/', "%2f", 1));
    send(
        "PUT",
        &url,
        &[("Authorization", &auth)],
        &body(name, version, bytes, None),
    )
    .unwrap()
    .status
}

#[test]
fn publish_read_and_delete_like_gitea() {
    let g = GiteaDouble::start("acme").unwrap();
    let token = g.add_token(true);
    assert_eq!(
        put(&g, &token, "@acme/pkg", "1.0.0-e2e.1", b"tgz-bytes"),
        201
    );
    // Duplicate: 409 with Gitea's message.
    let url = format!("{}@acme%2fpkg", g.url());
    let dup = send(
        "PUT",
        &url,
        &[("Authorization", &format!("Bearer {token}"))],
        &body("@acme/pkg", "1.0.0-e2e.1", b"tgz-bytes", None),
    )
    .unwrap();
    assert_eq!(dup.status, 409);
    assert!(dup.text().contains("package version already exists"));

    // Packument in Gitea's shape, under all three name spellings.
    for spelling in ["@acme%2fpkg", "%40acme%2Fpkg", "@acme/pkg"] {
        let resp = send("GET", &format!("{}{spelling}", g.url()), &[], &[]).unwrap();
        assert_eq!(resp.status, 200, "{spelling}");
        let doc: Value = serde_json::from_slice(&resp.body).unwrap();
        assert!(doc.get("_rev").is_none());
        assert_eq!(doc["dist-tags"], json!({"e2e": "1.0.0-e2e.1"}));
        let dist = &doc["versions"]["1.0.0-e2e.1"]["dist"];
        let d = byteproof_hash::hash_bytes(b"tgz-bytes");
        assert_eq!(dist["integrity"], d.integrity());
        assert_eq!(dist["shasum"], d.sha1_hex());
        assert_eq!(
            dist["tarball"],
            format!("{}%40acme%2Fpkg/-/1.0.0-e2e.1/pkg-1.0.0-e2e.1.tgz", g.url())
        );
    }
    // Both tarball forms.
    for path in [
        "%40acme%2Fpkg/-/1.0.0-e2e.1/pkg-1.0.0-e2e.1.tgz",
        "@acme/pkg/-/pkg-1.0.0-e2e.1.tgz",
    ] {
        let resp = send("GET", &format!("{}{path}", g.url()), &[], &[]).unwrap();
        assert_eq!(
            (resp.status, resp.body.as_slice()),
            (200, &b"tgz-bytes"[..])
        );
    }
    // The -rev PUT is a no-op; the version DELETE removes it; a second DELETE is 404.
    let auth = format!("token {token}");
    let h = [("Authorization", auth.as_str())];
    let noop = send("PUT", &format!("{url}/-rev/undefined"), &h, b"{}").unwrap();
    assert_eq!(noop.status, 200);
    assert_eq!(g.versions("@acme/pkg"), vec!["1.0.0-e2e.1"]);
    let del = format!(
        "{}%40acme%2Fpkg/-/1.0.0-e2e.1/pkg-1.0.0-e2e.1.tgz/-rev/x",
        g.url()
    );
    assert_eq!(send("DELETE", &del, &h, &[]).unwrap().status, 200);
    assert_eq!(send("DELETE", &del, &h, &[]).unwrap().status, 404);
    assert_eq!(send("GET", &url, &[], &[]).unwrap().status, 404);
    assert!(g.versions("@acme/pkg").is_empty());
    // Republish after delete works (no tombstone); package DELETE removes all.
    assert_eq!(put(&g, &token, "@acme/pkg", "1.0.0-e2e.1", b"other"), 201);
    let pkg_del = format!("{url}/-rev/undefined");
    assert_eq!(send("DELETE", &pkg_del, &h, &[]).unwrap().status, 200);
    assert_eq!(send("DELETE", &pkg_del, &h, &[]).unwrap().status, 404);
}

#[test]
fn errors_have_gitea_shapes() {
    let g = GiteaDouble::start_with(GiteaDoubleOptions {
        owner: "acme".into(),
        legacy_duplicate_400: true,
        ..GiteaDoubleOptions::default()
    })
    .unwrap();
    let writer = g.add_token(true);
    let reader = g.add_token(false);
    // Anonymous and read-only writes: 401 reqPackageAccess, text/plain.
    for token in ["", reader.as_str()] {
        let auth = format!("Bearer {token}");
        let headers: Vec<(&str, &str)> = if token.is_empty() {
            vec![]
        } else {
            vec![("Authorization", auth.as_str())]
        };
        let resp = send(
            "PUT",
            &format!("{}@acme%2fpkg", g.url()),
            &headers,
            &body("@acme/pkg", "1.0.0", b"x", None),
        )
        .unwrap();
        assert_eq!(resp.status, 401);
        assert_eq!(resp.text(), "reqPackageAccess\n");
        assert!(
            resp.header("content-type")
                .unwrap()
                .starts_with("text/plain")
        );
        assert!(resp.header("www-authenticate").is_some());
    }
    let bad = send(
        "GET",
        &format!("{}@acme%2fpkg", g.url()),
        &[("Authorization", "token nope")],
        &[],
    )
    .unwrap();
    assert_eq!(bad.status, 401);
    let auth = format!("token {writer}");
    let h = [("Authorization", auth.as_str())];
    let url = format!("{}@acme%2fpkg", g.url());
    let wrong = send(
        "PUT",
        &url,
        &h,
        &body("@acme/pkg", "1.0.0", b"x", Some("sha512-AAAA")),
    )
    .unwrap();
    assert_eq!(wrong.status, 400);
    assert!(wrong.text().contains("failed to validate integrity"));
    let underscore = send("PUT", &url, &h, &body("@acme/_pkg", "1.0.0", b"x", None)).unwrap();
    assert_eq!(underscore.status, 400);
    assert!(underscore.text().contains("package name is invalid"));
    assert_eq!(put(&g, &writer, "@acme/pkg", "1.0.0", b"x"), 201);
    assert_eq!(put(&g, &writer, "@acme/pkg", "1.0.0", b"x"), 400);
    // Another owner: 404 text.
    let other = g.url().replace("/acme/", "/someone/");
    let resp = send("GET", &format!("{other}@acme%2fpkg"), &[], &[]).unwrap();
    assert_eq!((resp.status, resp.text().as_str()), (404, "Not found.\n"));
}

#[test]
fn packages_api_v1() {
    let g = GiteaDouble::start("acme").unwrap();
    let writer = g.add_token(true);
    let reader = g.add_token(false);
    for i in 1..=3 {
        assert_eq!(
            put(&g, &writer, "@acme/pkg", &format!("1.0.{i}"), b"abc"),
            201
        );
    }
    let api = format!("{}api/v1/packages/acme", g.root_url());
    let anon = send("GET", &api, &[], &[]).unwrap();
    assert_eq!(anon.status, 401);
    assert!(anon.text().contains("token is required"));
    let auth = format!("token {reader}");
    let h = [("Authorization", auth.as_str())];
    let page = send("GET", &format!("{api}?type=npm&limit=2&page=1"), &h, &[]).unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(page.header("x-total-count"), Some("3"));
    let link = page.header("link").unwrap();
    assert!(link.contains("page=2&type=npm>; rel=\"next\",<"), "{link}");
    let items: Value = serde_json::from_slice(&page.body).unwrap();
    assert_eq!(items[0]["version"], "1.0.3");
    assert_eq!(items[0]["name"], "@acme/pkg");
    let files = send(
        "GET",
        &format!("{api}/npm/%40acme%2Fpkg/1.0.1/files"),
        &h,
        &[],
    )
    .unwrap();
    let files: Value = serde_json::from_slice(&files.body).unwrap();
    assert_eq!(files[0]["md5"], "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(files[0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(files[0]["name"], "pkg-1.0.1.tgz");
    let version_url = format!("{api}/npm/%40acme%2Fpkg/1.0.1");
    assert_eq!(send("DELETE", &version_url, &h, &[]).unwrap().status, 403);
    let wauth = format!("token {writer}");
    let wh = [("Authorization", wauth.as_str())];
    assert_eq!(send("DELETE", &version_url, &wh, &[]).unwrap().status, 204);
    assert_eq!(send("GET", &version_url, &wh, &[]).unwrap().status, 404);
    assert_eq!(g.versions("@acme/pkg"), vec!["1.0.2", "1.0.3"]);
    let version = send("GET", &format!("{}api/v1/version", g.root_url()), &[], &[]).unwrap();
    assert_eq!(version.text(), "{\"version\":\"1.25.4\"}\n");
    assert!(npm::valid_name("@a-b/c.d_e") && !npm::valid_name("@a/_x") && !npm::valid_name("Up"));
}
