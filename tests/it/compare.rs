//! `byteproof compare` against real Verdaccio registries, the Gitea-route double, and scripted
//! hostile servers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use byteproof_testkit::{
    FakeRegistry, GiteaProxy, PackTool, Reply, RunningFakeRegistry, ScriptedServer, TarballForm,
    Verdaccio,
};
use serde_json::{Value, json};

use crate::support::{Sandbox, pack, publish, registries, registry_args};

const PKG: &str = "@bytelyst/errors";

fn compare(sandbox: &Sandbox, spec: &str, urls: &[String], extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["compare".to_owned(), spec.to_owned()];
    args.extend(registry_args(urls));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sandbox.run(&args)
}

fn registry<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["registries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no registry {name} in {report:#}"))
}

#[test]
fn identical_across_two_and_three_registries() {
    let regs = registries(3);
    let packed = pack(PKG, "1.0.0", PackTool::Npm);
    publish(&regs[0], &packed);
    publish(&regs[1], &packed);
    // The third gets the same bytes through a raw publish PUT, as a CI script might send it.
    regs[2]
        .0
        .publish_raw(PKG, "1.0.0", &packed.bytes, &regs[2].1)
        .unwrap();
    let urls: Vec<String> = regs.iter().map(|r| r.0.url()).collect();
    let sandbox = Sandbox::new();

    let report = compare(&sandbox, "@bytelyst/errors@1.0.0", &urls[..2], &["--json"])
        .expect_code(0)
        .json();
    assert_eq!(report["verdict"], "identical");
    assert_eq!(report["complete"], true);

    let run = compare(&sandbox, "@bytelyst/errors@1.0.0", &urls, &["--json"]);
    let report = run.expect_code(0).json();
    assert_eq!(report["schema"], "byteproof.compare/v1");
    assert_eq!(report["package"], PKG);
    assert_eq!(report["version"], "1.0.0");
    assert_eq!(report["groups"].as_array().unwrap().len(), 1);
    let expected = byteproof_hash::hash_bytes(&packed.bytes);
    for name in ["a", "b", "c"] {
        let r = registry(&report, name);
        assert_eq!(r["sha256"], expected.sha256_hex());
        assert_eq!(r["sha1"], expected.sha1_hex());
        assert_eq!(r["integrity"], expected.integrity());
        assert_eq!(r["size"], packed.bytes.len());
        assert_eq!(r["claimed_shasum"], expected.sha1_hex());
        assert_eq!(r["claimed_integrity"], expected.integrity());
        assert_eq!(r["claims_ok"], true);
        assert_eq!(r["error"], Value::Null);
        assert!(
            r["tarball_url"]
                .as_str()
                .unwrap()
                .ends_with("/@bytelyst/errors/-/errors-1.0.0.tgz")
        );
    }
}

#[test]
fn divergent_names_the_odd_one_out() {
    let regs = registries(3);
    let npm = pack(PKG, "1.0.1", PackTool::Npm);
    let pnpm = pack(PKG, "1.0.1", PackTool::Pnpm);
    assert_ne!(
        npm.bytes, pnpm.bytes,
        "npm and pnpm are expected to pack different bytes"
    );
    publish(&regs[0], &npm);
    publish(&regs[1], &pnpm);
    publish(&regs[2], &npm);
    let urls: Vec<String> = regs.iter().map(|r| r.0.url()).collect();
    let sandbox = Sandbox::new();

    let report = compare(&sandbox, "@bytelyst/errors@1.0.1", &urls, &["--json"])
        .expect_code(1)
        .json();
    assert_eq!(report["verdict"], "divergent");
    assert_eq!(report["odd_ones_out"], json!(["b"]));
    assert_eq!(report["groups"][0]["registries"], json!(["a", "c"]));
    assert_eq!(report["groups"][1]["registries"], json!(["b"]));
    // Each registry's own claims are right: the divergence is in the bytes.
    for name in ["a", "b", "c"] {
        assert_eq!(registry(&report, name)["claims_ok"], true);
    }

    // The table says the same to a person, and with two registries there is no majority.
    let table = compare(&sandbox, "@bytelyst/errors@1.0.1", &urls[..2], &[])
        .expect_code(1)
        .stdout
        .clone();
    assert!(
        table.contains("DIVERGENT") && table.contains("no majority"),
        "{table}"
    );
}

#[test]
fn a_version_missing_on_one_registry_is_incomplete() {
    let regs = registries(2);
    publish(&regs[0], &pack(PKG, "2.0.0", PackTool::Npm));
    publish(&regs[1], &pack(PKG, "1.9.0", PackTool::Npm));
    let urls: Vec<String> = regs.iter().map(|r| r.0.url()).collect();
    let run = compare(
        &Sandbox::new(),
        "@bytelyst/errors@2.0.0",
        &urls,
        &["--json"],
    );
    let report = run.expect_code(3).json();
    assert_eq!(report["verdict"], "incomplete");
    assert_eq!(report["complete"], false);
    let b = registry(&report, "b");
    assert_eq!(b["error_kind"], "version-missing");
    assert!(b["error"].as_str().unwrap().contains("2.0.0"), "{b}");
    assert_eq!(b["sha256"], Value::Null);
    // A package missing entirely is the same verdict.
    let run = compare(
        &Sandbox::new(),
        "@bytelyst/nothing@1.0.0",
        &urls,
        &["--json"],
    );
    assert_eq!(
        run.expect_code(3).json()["registries"][0]["error_kind"],
        "package-missing"
    );
}

/// A registry whose reads need a token (and that token) and an open one, both serving the
/// same npm-packed `@bytelyst/errors@1.0.0`.
fn private_and_open_registries() -> (Verdaccio, String, Vec<(Verdaccio, String)>) {
    let private = Verdaccio::start_private().unwrap_or_else(|e| panic!("{e:#}"));
    let token = private.create_user("ci", "ci-pass-123").unwrap();
    let open = registries(1);
    let packed = pack(PKG, "1.0.0", PackTool::Npm);
    private.npm_publish(&packed.path, &token, None).unwrap();
    publish(&open[0], &packed);
    (private, token, open)
}

#[test]
fn a_wrong_token_is_refused_clearly_and_never_shown() {
    let (private, token, open) = private_and_open_registries();
    let urls = vec![open[0].0.url(), private.url()];

    let wrong = "not-the-token-0123456789abcdef";
    let mut sandbox = Sandbox::new();
    sandbox.env("BYTEPROOF_TOKEN_B", wrong);
    let run = compare(&sandbox, "@bytelyst/errors@1.0.0", &urls, &[]);
    run.expect_code(3);
    assert!(
        run.stdout.contains("refused the credentials (HTTP 401)"),
        "{}",
        run.stdout
    );
    run.assert_absent(wrong);
    let json = compare(&sandbox, "@bytelyst/errors@1.0.0", &urls, &["--json"]);
    json.assert_absent(wrong);
    assert_eq!(registry(&json.json(), "b")["error_kind"], "auth-refused");

    // Anonymous against the private registry: refused, with a hint to configure a token.
    let run = compare(&Sandbox::new(), "@bytelyst/errors@1.0.0", &urls, &[]);
    run.expect_code(3);
    assert!(run.stdout.contains("needs a token"), "{}", run.stdout);

    // The right token works, and is not shown either.
    let mut sandbox = Sandbox::new();
    sandbox.env("BYTEPROOF_TOKEN_B", &token);
    let run = compare(&sandbox, "@bytelyst/errors@1.0.0", &urls, &[]);
    run.expect_code(0);
    run.assert_absent(&token);
    assert!(
        run.stderr.contains("token from $BYTEPROOF_TOKEN_B"),
        "{}",
        run.stderr
    );
}

#[test]
fn tampered_storage_is_a_claim_mismatch() {
    let regs = registries(2);
    let packed = pack(PKG, "1.2.0", PackTool::Npm);
    for r in &regs {
        publish(r, &packed);
    }
    let other = pack(PKG, "1.2.0", PackTool::Pnpm);
    regs[1]
        .0
        .tamper_tarball(PKG, "1.2.0", &other.bytes)
        .unwrap();
    let urls: Vec<String> = regs.iter().map(|r| r.0.url()).collect();
    let report = compare(
        &Sandbox::new(),
        "@bytelyst/errors@1.2.0",
        &urls,
        &["--json"],
    )
    .expect_code(1)
    .json();
    assert_eq!(report["verdict"], "claim-mismatch");
    let b = registry(&report, "b");
    assert_eq!(b["claims_ok"], false);
    assert_eq!(
        b["claimed_shasum"],
        byteproof_hash::hash_bytes(&packed.bytes).sha1_hex()
    );
    assert_eq!(
        b["sha1"],
        byteproof_hash::hash_bytes(&other.bytes).sha1_hex()
    );
    let problems = b["claim_problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(registry(&report, "a")["claims_ok"], true);
}

#[test]
fn a_lying_integrity_claim_alone_is_caught() {
    let tgz = pack(PKG, "1.0.0", PackTool::Npm).bytes;
    let lie = byteproof_hash::hash_bytes(b"something else").integrity();
    let honest = FakeRegistry::new(PKG)
        .version("1.0.0", tgz.clone())
        .start()
        .unwrap();
    let liar = FakeRegistry::new(PKG)
        .version("1.0.0", tgz)
        .claim_integrity("1.0.0", &lie)
        .start()
        .unwrap();
    let report = compare(
        &Sandbox::new(),
        "@bytelyst/errors@1.0.0",
        &[honest.url(), liar.url()],
        &["--json"],
    )
    .expect_code(1)
    .json();
    assert_eq!(report["verdict"], "claim-mismatch");
    let b = registry(&report, "b");
    assert_eq!(b["claimed_integrity"], lie);
    assert!(
        b["claim_problems"][0]
            .as_str()
            .unwrap()
            .starts_with("dist.integrity claims"),
        "{b}"
    );
}

#[test]
fn unscoped_names_work_too() {
    let regs = registries(2);
    let packed = pack("left-pad-byteproof", "1.3.0", PackTool::Npm);
    for r in &regs {
        publish(r, &packed);
    }
    let urls: Vec<String> = regs.iter().map(|r| r.0.url()).collect();
    let report = compare(
        &Sandbox::new(),
        "left-pad-byteproof@1.3.0",
        &urls,
        &["--json"],
    )
    .expect_code(0)
    .json();
    assert!(
        report["registries"][0]["tarball_url"]
            .as_str()
            .unwrap()
            .ends_with("/left-pad-byteproof/-/left-pad-byteproof-1.3.0.tgz")
    );
}

#[test]
fn gitea_form_registries_under_a_path_in_both_tarball_forms() {
    let regs = registries(2);
    let packed = pack(PKG, "3.1.4", PackTool::Npm);
    for r in &regs {
        publish(r, &packed);
    }
    let legacy = GiteaProxy::start(&regs[0].0, "bytelyst", TarballForm::Legacy).unwrap();
    let standard = GiteaProxy::start(&regs[1].0, "bytelyst", TarballForm::Standard).unwrap();
    // Given without the trailing slash, as people paste it.
    let urls = vec![
        legacy.url().trim_end_matches('/').to_owned(),
        standard.url(),
        regs[0].0.url(),
    ];
    let report = compare(
        &Sandbox::new(),
        "@bytelyst/errors@3.1.4",
        &urls,
        &["--json"],
    )
    .expect_code(0)
    .json();
    assert_eq!(
        registry(&report, "a")["tarball_url"],
        legacy.tarball_url(PKG, "3.1.4"),
        "the legacy %40scope%2Fname/-/<version>/<file> form"
    );
    assert!(
        legacy
            .tarball_url(PKG, "3.1.4")
            .contains("/npm/%40bytelyst%2Ferrors/-/3.1.4/errors-3.1.4.tgz")
    );
    assert_eq!(
        registry(&report, "b")["tarball_url"],
        standard.tarball_url(PKG, "3.1.4")
    );
    // The packument was requested under the path, with npm's encoding of the scope.
    let paths: Vec<String> = legacy
        .server()
        .requests()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p == "/api/packages/bytelyst/npm/@bytelyst%2ferrors"),
        "{paths:?}"
    );
}

#[test]
fn registries_and_tokens_from_npmrc() {
    let (private, token, open) = private_and_open_registries();

    let mut sandbox = Sandbox::new();
    sandbox.env("PRIVATE_NPM_TOKEN", &token);
    let nerf = private.url().trim_start_matches("http:").to_owned();
    sandbox.write(
        ".npmrc",
        &format!(
            "registry={}\n@bytelyst:registry={}\n{nerf}:_authToken=${{PRIVATE_NPM_TOKEN}}\n",
            open[0].0.url(),
            private.url()
        ),
    );
    let run = sandbox.run(&["compare", "@bytelyst/errors@1.0.0", "--json"]);
    let report = run.expect_code(0).json();
    let names: Vec<&str> = report["registries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "@bytelyst"]);
    assert!(
        run.stderr.contains("registry @bytelyst") && run.stderr.contains("token from .npmrc"),
        "{}",
        run.stderr
    );
    run.assert_absent(&token);

    // An unset ${VAR} is a configuration error (exit 2) that names the variable.
    let plain = Sandbox::new();
    plain.write(
        ".npmrc",
        &format!(
            "registry={}\n@bytelyst:registry={}\n{nerf}:_authToken=${{PRIVATE_NPM_TOKEN}}\n",
            open[0].0.url(),
            private.url()
        ),
    );
    let run = plain.run(&["compare", "@bytelyst/errors@1.0.0"]);
    run.expect_code(2);
    assert!(run.stderr.contains("PRIVATE_NPM_TOKEN"), "{}", run.stderr);
}

#[test]
fn registries_and_settings_from_byteproof_toml() {
    let regs = registries(2);
    let packed = pack(PKG, "1.0.0", PackTool::Npm);
    for r in &regs {
        publish(r, &packed);
    }
    let mut sandbox = Sandbox::new();
    sandbox.env("EU_TOKEN", &regs[0].1);
    sandbox.write(
        "byteproof.toml",
        &format!(
            "[settings]\nretries = 0\ntimeout = 20\n\n[[registry]]\nname = \"eu\"\nurl = \"{}\"\nkind = \"verdaccio\"\ntoken-env = \"EU_TOKEN\"\n\n[[registry]]\nname = \"us\"\nurl = \"{}\"\n",
            regs[0].0.url(),
            regs[1].0.url()
        ),
    );
    let run = sandbox.run(&["compare", "@bytelyst/errors@1.0.0", "--format", "markdown"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("**identical**")
            && run.stdout.contains("| eu |")
            && run.stdout.contains("| us |"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("token from $EU_TOKEN"),
        "{}",
        run.stderr
    );

    // --config points elsewhere; a broken file is a clear exit 2.
    let broken = sandbox.write("broken.toml", "[[registry]]\nname = \"x\"\n");
    let run = sandbox.run(&[
        "compare",
        "@bytelyst/errors@1.0.0",
        "--config",
        broken.to_str().unwrap(),
    ]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("broken.toml") && run.stderr.contains("url"),
        "{}",
        run.stderr
    );
}

#[cfg(unix)]
#[test]
fn token_files_readable_by_others_are_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let sandbox = Sandbox::new();
    let file = sandbox.write("token", "file-token-secret\n");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let spec = format!("a={}", file.display());
    let args = [
        "compare",
        "x@1.0.0",
        "--registry",
        "a=http://127.0.0.1:9/",
        "--registry",
        "b=http://127.0.0.1:9/b/",
        "--token-file",
        &spec,
    ];
    let run = sandbox.run(&args);
    run.expect_code(2);
    assert!(run.stderr.contains("chmod 600"), "{}", run.stderr);
    run.assert_absent("file-token-secret");
}

/// A registry for one version whose first `failures` tarball requests answer `status`.
fn flaky_registry(
    version: &str,
    tgz: Vec<u8>,
    failures: usize,
    status: u16,
) -> (ScriptedServer, Arc<AtomicUsize>) {
    let base: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
    let tarball_hits = Arc::new(AtomicUsize::new(0));
    let (handler_base, hits, version) = (
        Arc::clone(&base),
        Arc::clone(&tarball_hits),
        version.to_owned(),
    );
    let server = ScriptedServer::start(move |req| {
        if req.path.contains("/-/") {
            if hits.fetch_add(1, Ordering::SeqCst) < failures {
                return Reply::json(status, &json!({"error": "try again"}));
            }
            return Reply::tarball(tgz.clone());
        }
        let d = byteproof_hash::hash_bytes(&tgz);
        let base = handler_base.get().cloned().unwrap_or_default();
        Reply::json(
            200,
            &json!({"name": PKG, "versions": {version.clone(): {"name": PKG, "version": version, "dist": {
                "shasum": d.sha1_hex(), "integrity": d.integrity(),
                "tarball": format!("{base}@bytelyst/errors/-/errors-{version}.tgz")}}}}),
        )
    })
    .unwrap();
    let _ = base.set(server.url());
    (server, tarball_hits)
}

#[test]
fn retries_a_server_that_fails_twice_then_succeeds() {
    let tgz = pack(PKG, "1.0.0", PackTool::Npm).bytes;
    let honest = FakeRegistry::new(PKG)
        .version("1.0.0", tgz.clone())
        .start()
        .unwrap();
    for status in [503, 429] {
        let (flaky, hits) = flaky_registry("1.0.0", tgz.clone(), 2, status);
        let report = compare(
            &Sandbox::new(),
            "@bytelyst/errors@1.0.0",
            &[honest.url(), flaky.url()],
            &["--json", "--retries", "2"],
        )
        .expect_code(0)
        .json();
        assert_eq!(report["verdict"], "identical");
        assert_eq!(registry(&report, "b")["attempts"], 3);
        assert_eq!(hits.load(Ordering::SeqCst), 3);
    }
}

#[test]
fn a_server_that_always_fails_is_never_identical() {
    let tgz = pack(PKG, "1.0.0", PackTool::Npm).bytes;
    let honest = FakeRegistry::new(PKG)
        .version("1.0.0", tgz.clone())
        .start()
        .unwrap();
    let (broken, hits) = flaky_registry("1.0.0", tgz, usize::MAX, 502);
    let run = compare(
        &Sandbox::new(),
        "@bytelyst/errors@1.0.0",
        &[honest.url(), broken.url()],
        &["--json", "--retries", "2"],
    );
    let report = run.expect_code(3).json();
    assert_eq!(report["verdict"], "incomplete");
    let b = registry(&report, "b");
    assert_eq!(b["error_kind"], "http-status");
    assert!(
        b["error"].as_str().unwrap().contains("502")
            && b["error"].as_str().unwrap().contains("3 attempt"),
        "{b}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3, "one try and two retries");

    // With nothing listening at all: a connection error, still exit 3.
    let dead = ScriptedServer::always(200).unwrap();
    let dead_url = dead.url();
    drop(dead);
    let report = compare(
        &Sandbox::new(),
        "@bytelyst/errors@1.0.0",
        &[honest.url(), dead_url],
        &["--json", "--retries", "1"],
    )
    .expect_code(3)
    .json();
    assert_eq!(registry(&report, "b")["error_kind"], "network");
}

#[test]
fn credentials_never_go_to_another_host() {
    let tgz = pack(PKG, "1.0.0", PackTool::Npm).bytes;
    let cdn = ScriptedServer::start({
        let tgz = tgz.clone();
        move |_| Reply::tarball(tgz.clone())
    })
    .unwrap();
    let cdn_url = format!("{}files/errors-1.0.0.tgz", cdn.url());
    let token = "registry-only-token-42";
    let registry_a = FakeRegistry::new(PKG)
        .version("1.0.0", tgz.clone())
        .require_token(token)
        .tarball_url("1.0.0", &cdn_url)
        .start()
        .unwrap();
    let registry_b = FakeRegistry::new(PKG)
        .version("1.0.0", tgz)
        .start()
        .unwrap();

    let mut sandbox = Sandbox::new();
    sandbox.env("BYTEPROOF_TOKEN_A", token);
    let report = compare(
        &sandbox,
        "@bytelyst/errors@1.0.0",
        &[registry_a.url(), registry_b.url()],
        &["--json"],
    )
    .expect_code(0)
    .json();
    assert_eq!(registry(&report, "a")["tarball_url"], cdn_url);

    let to_registry = registry_a.server().requests();
    assert!(!to_registry.is_empty());
    assert!(
        to_registry
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {token}")))
    );
    let to_cdn = cdn.requests();
    assert_eq!(to_cdn.len(), 1);
    assert_eq!(
        to_cdn[0].header("authorization"),
        None,
        "the token leaked to another host"
    );
    assert!(
        registry_b
            .server()
            .requests()
            .iter()
            .all(|r| r.header("authorization").is_none())
    );
}

/// Two scripted registries serving the same npm-packed `@bytelyst/errors@1.0.0`.
fn two_honest_registries() -> (RunningFakeRegistry, RunningFakeRegistry) {
    let tgz = pack(PKG, "1.0.0", PackTool::Npm).bytes;
    let a = FakeRegistry::new(PKG)
        .version("1.0.0", tgz.clone())
        .start()
        .unwrap();
    let b = FakeRegistry::new(PKG)
        .version("1.0.0", tgz)
        .start()
        .unwrap();
    (a, b)
}

#[test]
fn output_has_no_colour_off_a_terminal_unless_forced() {
    let (a, b) = two_honest_registries();
    let urls = [a.url(), b.url()];
    let plain = compare(&Sandbox::new(), "@bytelyst/errors@1.0.0", &urls, &[]);
    assert!(
        !plain.expect_code(0).stdout.contains('\x1b'),
        "{:?}",
        plain.stdout
    );
    assert!(plain.stdout.contains("IDENTICAL"));
    let forced = compare(
        &Sandbox::new(),
        "@bytelyst/errors@1.0.0",
        &urls,
        &["--color", "always"],
    );
    assert!(
        forced.stdout.contains("\x1b[32mIDENTICAL"),
        "{:?}",
        forced.stdout
    );
    let mut sandbox = Sandbox::new();
    sandbox.env("NO_COLOR", "1");
    let quiet = compare(&sandbox, "@bytelyst/errors@1.0.0", &urls, &["-q"]);
    assert!(
        quiet.stderr.is_empty(),
        "-q keeps stderr quiet: {}",
        quiet.stderr
    );
}

#[test]
fn a_silent_server_times_out_and_a_truncated_body_is_not_a_match() {
    let tgz = pack(PKG, "1.0.0", PackTool::Npm).bytes;
    let honest = FakeRegistry::new(PKG)
        .version("1.0.0", tgz.clone())
        .start()
        .unwrap();

    let silent = ScriptedServer::start(|_| {
        Reply::Delay(
            std::time::Duration::from_secs(5),
            Box::new(Reply::status(200)),
        )
    })
    .unwrap();
    let report = compare(
        &Sandbox::new(),
        "@bytelyst/errors@1.0.0",
        &[honest.url(), silent.url()],
        &["--json", "--timeout", "1", "--retries", "0"],
    )
    .expect_code(3)
    .json();
    assert_eq!(registry(&report, "b")["error_kind"], "timeout");

    // A tarball whose Content-Length promises more than is sent: never hashed as if whole.
    let (flaky, _) = flaky_registry("1.0.0", tgz.clone(), 0, 200);
    let truncating = ScriptedServer::start({
        let packument_from = flaky.url();
        let tgz = tgz.clone();
        move |req| {
            if req.path.contains("/-/") {
                return Reply::lying_length(200, tgz.len() + 100, &tgz);
            }
            // Serve the flaky registry's packument, with tarball URLs on this server.
            let body = byteproof_testkit::http::get(&format!("{packument_from}@bytelyst%2ferrors"))
                .unwrap()
                .text();
            let own = format!("http://{}/", req.header("host").unwrap_or_default());
            Reply::bytes(200, "application/json", body.replace(&packument_from, &own))
        }
    })
    .unwrap();
    let report = compare(
        &Sandbox::new(),
        "@bytelyst/errors@1.0.0",
        &[honest.url(), truncating.url()],
        &["--json", "--retries", "1"],
    )
    .expect_code(3)
    .json();
    let b = registry(&report, "b");
    assert_eq!(b["error_kind"], "network", "{b}");
    assert_eq!(b["sha256"], Value::Null);
    assert_eq!(
        truncating
            .requests()
            .iter()
            .filter(|r| r.path.contains("/-/"))
            .count(),
        2,
        "retried once"
    );
}

/// The `byteproof.compare/v1` contract: these keys, no fewer, no more. A change here is a
/// schema change and needs a new schema version (or only additions, documented).
#[test]
fn the_json_schema_has_exactly_the_documented_keys() {
    let (a, b) = two_honest_registries();
    let report = compare(
        &Sandbox::new(),
        "@bytelyst/errors@1.0.0",
        &[a.url(), b.url()],
        &["--json"],
    )
    .expect_code(0)
    .json();
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&report),
        [
            "complete",
            "diffs",
            "groups",
            "odd_ones_out",
            "package",
            "registries",
            "schema",
            "verdict",
            "version"
        ]
    );
    assert_eq!(
        keys(&report["registries"][0]),
        [
            "attempts",
            "claim_problems",
            "claimed_integrity",
            "claimed_shasum",
            "claims_ok",
            "error",
            "error_kind",
            "integrity",
            "name",
            "sha1",
            "sha256",
            "sha512",
            "size",
            "tarball_url",
            "tarball_url_constructed",
            "url",
        ]
    );
    assert_eq!(keys(&report["groups"][0]), ["registries", "sha256"]);
}
