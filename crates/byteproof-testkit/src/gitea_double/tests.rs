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
    let date = version.header("date").expect("a Date header");
    assert!(is_near_now(date), "{date}");
    assert!(npm::valid_name("@a-b/c.d_e") && !npm::valid_name("@a/_x") && !npm::valid_name("Up"));
}

/// Whether an HTTP-date is within a minute of now.
fn is_near_now(date: &str) -> bool {
    jiff::fmt::rfc2822::parse(date)
        .map(|when| (jiff::Timestamp::now().as_second() - when.timestamp().as_second()).abs() < 60)
        .unwrap_or(false)
}

fn double(version: &str) -> GiteaDouble {
    let g = GiteaDouble::start_with(GiteaDoubleOptions {
        owner: "acme".into(),
        version: version.into(),
        ..GiteaDoubleOptions::default()
    })
    .unwrap();
    g.add_org("acme", &["alice"]);
    g.add_repo("acme/app");
    g.add_repo("bob/own");
    g.set_collaborator("acme/app", "carol", "admin");
    g
}

fn call(
    g: &GiteaDouble,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: &str,
) -> crate::http::Response {
    let auth = token.map(|t| format!("token {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    send(
        method,
        &format!("{}{}", g.api_url(), path),
        &headers,
        body.as_bytes(),
    )
    .unwrap()
}

fn json_of(resp: &crate::http::Response) -> Value {
    serde_json::from_slice(&resp.body).unwrap_or_else(|_| panic!("not JSON: {}", resp.text()))
}

const REG: &str = "/repos/acme/app/actions/runners/registration-token";

#[test]
fn the_version_decides_which_runner_routes_exist() {
    // 1.21: no runner REST API at all.
    let g = double("1.21.11");
    let alice = g.add_named_token("ci", "alice", &["write:repository"]);
    assert_eq!(call(&g, Some(&alice), "GET", REG, "").status, 404);
    assert_eq!(
        call(&g, None, "GET", "/version", "").text(),
        "{\"version\":\"1.21.11\"}\n"
    );

    // 1.22: the GET token only; the same token on every call; no list.
    let g = double("1.22.6");
    let alice = g.add_named_token("ci", "alice", &["write:repository"]);
    let first = call(&g, Some(&alice), "GET", REG, "");
    assert_eq!(first.status, 200);
    let token = json_of(&first)["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 40);
    assert_eq!(
        json_of(&call(&g, Some(&alice), "GET", REG, ""))["token"],
        token
    );
    assert_eq!(
        g.registration_token(&RunnerScope::Repo("acme/app".into())),
        Some(token)
    );
    assert_eq!(call(&g, Some(&alice), "POST", REG, "").status, 405);
    let list = "/repos/acme/app/actions/runners";
    assert_eq!(call(&g, Some(&alice), "GET", list, "").status, 404);

    // 1.24: POST too, and the runner list with its status words.
    let g = double("1.24.0");
    let alice = g.add_named_token("ci", "alice", &["write:repository"]);
    let posted = call(&g, Some(&alice), "POST", REG, "");
    assert_eq!(posted.status, 200);
    assert_eq!(
        json_of(&posted)["token"],
        json_of(&call(&g, Some(&alice), "GET", REG, ""))["token"]
    );
    let repo = RunnerScope::Repo("acme/app".into());
    for (name, status) in [
        ("idle", RunnerStatus::Online),
        ("gone", RunnerStatus::Offline),
        ("working", RunnerStatus::Busy),
    ] {
        g.add_runner(Runner::seed(repo.clone(), name, &["ubuntu-latest"], status));
    }
    g.add_runner(Runner::seed(
        RunnerScope::Org("acme".into()),
        "org-runner",
        &[],
        RunnerStatus::Online,
    ));
    let listed = json_of(&call(&g, Some(&alice), "GET", list, ""));
    assert_eq!(listed["total_count"], 3);
    let shown: Vec<(String, String, bool)> = listed["runners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
                r["busy"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("idle".to_owned(), "online".to_owned(), false),
            ("gone".to_owned(), "offline".to_owned(), false),
            ("working".to_owned(), "online".to_owned(), true),
        ]
    );
    assert_eq!(
        listed["runners"][0]["labels"],
        json!([{"id": 0, "name": "ubuntu-latest", "type": "custom"}])
    );
    assert_eq!(listed["runners"][0]["ephemeral"], false);
}

#[test]
fn runners_are_read_and_deleted_per_scope() {
    let g = double("1.25.4");
    let alice = g.add_named_token("ci", "alice", &["write:repository", "write:organization"]);
    let repo_runner = g.add_runner(Runner::seed(
        RunnerScope::Repo("acme/app".into()),
        "r1",
        &[],
        RunnerStatus::Online,
    ));
    let org_runner = g.add_runner(Runner::seed(
        RunnerScope::Org("acme".into()),
        "o1",
        &[],
        RunnerStatus::Offline,
    ));
    let one = format!("/repos/acme/app/actions/runners/{repo_runner}");
    let got = call(&g, Some(&alice), "GET", &one, "");
    assert_eq!(
        (got.status, json_of(&got)["name"].as_str()),
        (200, Some("r1"))
    );
    // Another scope's runner, and an unknown one.
    let foreign = call(
        &g,
        Some(&alice),
        "GET",
        &format!("/repos/acme/app/actions/runners/{org_runner}"),
        "",
    );
    assert_eq!(foreign.status, 404);
    assert_eq!(
        json_of(&foreign)["message"],
        "No permission to access this runner"
    );
    let unknown = call(
        &g,
        Some(&alice),
        "GET",
        "/repos/acme/app/actions/runners/999",
        "",
    );
    assert_eq!(
        (unknown.status, json_of(&unknown)["message"].clone()),
        (404, json!("Runner not found"))
    );
    assert_eq!(call(&g, Some(&alice), "DELETE", &one, "").status, 204);
    assert_eq!(call(&g, Some(&alice), "DELETE", &one, "").status, 404);
    assert_eq!(g.runners().len(), 1);
    let org = format!("/orgs/acme/actions/runners/{org_runner}");
    assert_eq!(call(&g, Some(&alice), "GET", &org, "").status, 200);

    // The admin level needs a site admin and the admin scope; it lists every runner.
    let admin_list = "/admin/actions/runners";
    assert_eq!(
        json_of(&call(&g, Some(&alice), "GET", admin_list, ""))["message"],
        "token does not have at least one of required scope(s), required=[read:admin], token scope=write:repository,write:organization"
    );
    let alice_admin = g.add_named_token("admin-scope", "alice", &["read:admin"]);
    let refused = call(&g, Some(&alice_admin), "GET", admin_list, "");
    assert_eq!(
        (refused.status, json_of(&refused)["message"].clone()),
        (403, json!("user should be the site admin"))
    );
    g.add_site_admin("root");
    let root = g.add_named_token("root", "root", &["all"]);
    let all = json_of(&call(&g, Some(&root), "GET", admin_list, ""));
    assert_eq!(all["total_count"], 1);
    // The instance token: GET on the old path, POST on the new one.
    let old = call(
        &g,
        Some(&root),
        "GET",
        "/admin/runners/registration-token",
        "",
    );
    let new = call(
        &g,
        Some(&root),
        "POST",
        "/admin/actions/runners/registration-token",
        "",
    );
    assert_eq!((old.status, new.status), (200, 200));
    assert_eq!(json_of(&old)["token"], json_of(&new)["token"]);
}

#[test]
fn only_owners_and_scoped_tokens_reach_the_actions_routes() {
    let g = double("1.22.6");
    let vars = "/repos/acme/app/actions/variables";
    let anonymous = call(&g, None, "GET", vars, "");
    assert_eq!(
        (anonymous.status, json_of(&anonymous)["message"].clone()),
        (401, json!("token is required"))
    );
    assert!(
        json_of(&anonymous)["url"]
            .as_str()
            .unwrap()
            .ends_with("api/swagger")
    );
    assert_eq!(call(&g, Some("nope"), "GET", vars, "").status, 401);
    // 1.22 words the scope error the old way.
    let reader = g.add_named_token("reader", "alice", &["read:repository"]);
    assert_eq!(call(&g, Some(&reader), "GET", vars, "").status, 200);
    let refused = call(
        &g,
        Some(&reader),
        "POST",
        &format!("{vars}/X"),
        "{\"value\":\"1\"}",
    );
    assert_eq!(
        (refused.status, json_of(&refused)["message"].clone()),
        (
            403,
            json!("token does not have at least one of required scope(s): [write:repository]")
        )
    );
    // A collaborator with Admin is not an owner: refused, reads included.
    let carol = g.add_named_token("carol", "carol", &["write:repository"]);
    for method in ["GET", "POST"] {
        let resp = call(
            &g,
            Some(&carol),
            method,
            &format!("{vars}/X"),
            "{\"value\":\"1\"}",
        );
        assert_eq!(
            (resp.status, json_of(&resp)["message"].clone()),
            (403, json!("user should be the owner of the repo")),
            "{method}"
        );
    }
    // The user owning a repository is its owner; an unknown repository is 404.
    let bob = g.add_named_token("bob", "bob", &["write:repository"]);
    assert_eq!(
        call(
            &g,
            Some(&bob),
            "GET",
            "/repos/bob/own/actions/variables",
            ""
        )
        .status,
        200
    );
    let missing = call(
        &g,
        Some(&bob),
        "GET",
        "/repos/bob/nope/actions/variables",
        "",
    );
    assert_eq!(missing.status, 404);
    assert!(json_of(&missing).get("errors").is_some());
    // Gitea core sends no rate-limit headers.
    assert!(anonymous.header("x-ratelimit-limit").is_none());
}

#[test]
fn variables_follow_each_versions_rules() {
    let vars = "/repos/acme/app/actions/variables";
    for (version, created) in [("1.22.6", 204), ("1.24.3", 204), ("1.25.4", 201)] {
        let g = double(version);
        let alice = g.add_named_token("guard", "alice", &["write:repository"]);
        let t = Some(alice.as_str());
        let body = r#"{"value":"on\r\nline","description":"routing"}"#;
        let made = call(&g, t, "POST", &format!("{vars}/ci_self_hosted"), body);
        // `CI…` names are refused up to 1.24; 1.25 refuses only `CI`.
        if version == "1.25.4" {
            assert_eq!(made.status, created, "{version}: {}", made.text());
            assert!(made.body.is_empty());
        } else {
            assert_eq!(made.status, 400, "{version}");
            let routing = call(&g, t, "POST", &format!("{vars}/routing"), body);
            assert_eq!(routing.status, created, "{version}");
        }
        let name = if version == "1.25.4" {
            "CI_SELF_HOSTED"
        } else {
            "ROUTING"
        };
        // Stored upper-case, looked up in any case, `\r\n` made `\n`, `description` from 1.24.
        let got = call(&g, t, "GET", &format!("{vars}/{}", name.to_lowercase()), "");
        let got = json_of(&got);
        assert_eq!(got["name"], name);
        assert_eq!(got["data"], "on\nline");
        assert_eq!(got["owner_id"], 0);
        assert_eq!(
            got.get("description").is_some(),
            version != "1.22.6",
            "{version}: {got}"
        );
        assert_eq!(g.variable("acme/app", name).as_deref(), Some("on\nline"));
        // Duplicate, missing value, empty value, bad names.
        let dup = call(&g, t, "POST", &format!("{vars}/{name}"), body);
        assert_eq!(
            (dup.status, json_of(&dup)["message"].clone()),
            (409, json!(format!("variable name {name} already exists")))
        );
        for bad_body in ["{}", r#"{"value":""}"#] {
            let resp = call(&g, t, "POST", &format!("{vars}/OTHER"), bad_body);
            assert_eq!(
                (resp.status, json_of(&resp)["message"].clone()),
                (422, json!("[Value]: Required"))
            );
        }
        for bad in ["GITHUB_X", "gitea_x", "1ABC", "A-B", "CI"] {
            let resp = call(&g, t, "POST", &format!("{vars}/{bad}"), r#"{"value":"1"}"#);
            assert_eq!(resp.status, 400, "{version} {bad}");
        }
        // PUT updates (204), is no upsert (404), renames; DELETE 204 then 404.
        let put = call(
            &g,
            t,
            "PUT",
            &format!("{vars}/{name}"),
            r#"{"value":"off"}"#,
        );
        assert_eq!(put.status, 204);
        assert_eq!(g.variable("acme/app", name).as_deref(), Some("off"));
        let upsert = call(&g, t, "PUT", &format!("{vars}/NEW"), r#"{"value":"x"}"#);
        assert_eq!(upsert.status, 404);
        assert_eq!(g.variable("acme/app", "NEW"), None);
        let renamed = call(
            &g,
            t,
            "PUT",
            &format!("{vars}/{name}"),
            r#"{"value":"off","name":"renamed"}"#,
        );
        assert_eq!(renamed.status, 204);
        assert_eq!(g.variable("acme/app", "RENAMED").as_deref(), Some("off"));
        let list = call(&g, t, "GET", vars, "");
        assert_eq!(list.header("x-total-count"), Some("1"));
        assert!(json_of(&list).is_array());
        assert_eq!(
            call(&g, t, "DELETE", &format!("{vars}/renamed"), "").status,
            204
        );
        assert_eq!(
            call(&g, t, "DELETE", &format!("{vars}/renamed"), "").status,
            404
        );
        assert_eq!(
            call(&g, t, "GET", &format!("{vars}/renamed"), "").status,
            404
        );
    }
    // 1.21 has no variables API.
    let g = double("1.21.0");
    let alice = g.add_named_token("guard", "alice", &["write:repository"]);
    assert_eq!(call(&g, Some(&alice), "GET", vars, "").status, 404);
}

#[test]
fn collaborator_permissions_are_looked_up() {
    let g = double("1.23.8");
    let token = g.add_named_token("route", "bob", &["read:repository"]);
    let ask = |user: &str| {
        let path = format!("/repos/acme/app/collaborators/{user}/permission");
        json_of(&call(&g, Some(&token), "GET", &path, ""))
    };
    let carol = ask("carol");
    assert_eq!(
        (carol["permission"].clone(), carol["role_name"].clone()),
        (json!("admin"), json!("admin"))
    );
    assert_eq!(carol["user"]["login"], "carol");
    assert_eq!(ask("alice")["permission"], "owner");
    assert_eq!(ask("stranger")["permission"], "read");
    let path = "/repos/acme/app/collaborators/carol/permission";
    assert_eq!(call(&g, None, "GET", path, "").status, 401);
}

#[test]
fn faults_fire_per_endpoint_and_the_journal_keeps_no_token() {
    let g = double("1.25.4");
    let alice = g.add_named_token("guard", "alice", &["write:repository"]);
    let t = Some(alice.as_str());
    let put = "PUT /api/v1/repos/{owner}/{repo}/actions/variables/{variablename}";
    assert!(GiteaDouble::endpoints().contains(&put));
    g.set_variable("acme/app", "ROUTING", "on");
    g.fail_next(put, 2, Fault::Status(503));
    let path = "/repos/acme/app/actions/variables/ROUTING";
    for _ in 0..2 {
        let resp = call(&g, t, "PUT", path, r#"{"value":"off"}"#);
        assert_eq!(resp.status, 503);
        assert!(json_of(&resp).get("url").is_some());
    }
    // Other endpoints were not affected, and the faulted calls changed nothing.
    assert_eq!(call(&g, t, "GET", path, "").status, 200);
    assert_eq!(g.variable("acme/app", "ROUTING").as_deref(), Some("on"));
    assert_eq!(call(&g, t, "PUT", path, r#"{"value":"off"}"#).status, 204);
    // A stall holds the call and answers 504 without touching the state.
    g.fail_next(
        crate::ANY_ENDPOINT,
        1,
        Fault::Stall(std::time::Duration::from_millis(20)),
    );
    assert_eq!(call(&g, t, "PUT", path, r#"{"value":"on"}"#).status, 504);
    assert_eq!(g.variable("acme/app", "ROUTING").as_deref(), Some("off"));
    g.fail_next(
        put,
        1,
        Fault::RateLimit {
            status: 429,
            retry_after: Some(7),
        },
    );
    let limited = call(&g, t, "PUT", path, r#"{"value":"on"}"#);
    assert_eq!(
        (limited.status, limited.header("retry-after")),
        (429, Some("7"))
    );

    let calls = g.calls();
    let puts: Vec<(u16, Option<Fault>)> = calls
        .iter()
        .filter(|c| c.endpoint == Some(put))
        .map(|c| (c.status, c.fault))
        .collect();
    assert_eq!(puts.len(), 5);
    assert_eq!(puts[0], (503, Some(Fault::Status(503))));
    assert_eq!(puts[2], (204, None));
    assert!(
        calls
            .iter()
            .all(|c| c.auth == CallAuth::Known("guard".into()))
    );
    assert_eq!(calls[3].json()["value"], "off");
    assert!(!format!("{calls:?}").contains(&alice));
    assert!(!format!("{:?}", g.server().requests()).contains(&alice));
    let anonymous = call(&g, None, "GET", path, "");
    assert_eq!(anonymous.status, 401);
    assert_eq!(g.calls().last().unwrap().auth, CallAuth::Absent);
    call(&g, Some("wrong"), "GET", path, "");
    assert_eq!(g.calls().last().unwrap().auth, CallAuth::Unknown);
}

#[test]
#[should_panic(expected = "no endpoint")]
fn a_fault_for_an_unknown_endpoint_is_refused() {
    double("1.25.4").fail_next("PATCH /api/v1/nope", 1, Fault::Status(500));
}

#[test]
fn npm_answers_change_with_the_version() {
    let old = double("1.21.11");
    let writer = old.add_token(true);
    assert_eq!(put(&old, &writer, "@acme/pkg", "1.0.0", b"x"), 201);
    assert_eq!(put(&old, &writer, "@acme/pkg", "1.0.0", b"x"), 400);
    let bad = send(
        "GET",
        &format!("{}@acme%2fpkg", old.url()),
        &[("Authorization", "token nope")],
        &[],
    )
    .unwrap();
    assert_eq!(
        (bad.status, bad.text().as_str()),
        (401, "authGroup.Verify\n")
    );
    let new = double("1.25.4");
    let bad = send(
        "GET",
        &format!("{}@acme%2fpkg", new.url()),
        &[("Authorization", "token nope")],
        &[],
    )
    .unwrap();
    assert_eq!(bad.text(), "Failed to authenticate user\n");
    // A token without any package scope cannot read the registry.
    let repo_only = new.add_named_token("repo", "alice", &["write:repository"]);
    let refused = send(
        "GET",
        &format!("{}@acme%2fpkg", new.url()),
        &[("Authorization", &format!("token {repo_only}"))],
        &[],
    )
    .unwrap();
    assert_eq!(
        (refused.status, refused.text().as_str()),
        (401, "reqPackageAccess\n")
    );
    assert!(
        GiteaDouble::start_with(GiteaDoubleOptions {
            version: "two".into(),
            ..GiteaDoubleOptions::default()
        })
        .is_err()
    );
}
