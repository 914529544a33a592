//! `byteproof pin` against a real `docker-registry` on 127.0.0.1 (from `byteproof-ocitest`).

use byteproof_ocitest::{Format, Registry, TestImage};

use crate::support::Sandbox;

const WORKFLOW: &str = "# ci\njobs:\n  build:\n    container: node:20 # build image\n\n    steps:\n    - uses: docker://alpine:3.20\n    - uses: 'docker://alpine:3.20' # byteproof: ignore\n";

fn sandbox(registry: &Registry) -> (Sandbox, String) {
    let mut sandbox = Sandbox::new();
    let docker = sandbox.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    sandbox.env("DOCKER_CONFIG", &docker.display().to_string());
    std::fs::create_dir_all(sandbox.path().join(".gitea/workflows")).unwrap();
    sandbox.write(".gitea/workflows/ci.yml", WORKFLOW);
    (sandbox, format!("docker.io={}", registry.url()))
}

#[test]
fn pin_check_dry_run_and_write() {
    let registry = Registry::open();
    let node = registry.push_index("library/node", "20", &TestImage::build("n", Format::Oci));
    let alpine = registry.push_index(
        "library/alpine",
        "3.20",
        &TestImage::build("a", Format::Oci),
    );
    let (sandbox, map) = sandbox(&registry);
    let path = sandbox.path().join(".gitea/workflows/ci.yml");

    let check = sandbox.run(&["pin", "--check", "--json", "--registry-url", &map]);
    check.expect_code(1);
    let json = check.json();
    assert_eq!(json["schema"], "byteproof.pin/v1");
    let statuses: Vec<&str> = json["files"][0]["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["unpinned", "unpinned", "ignored"]);

    let dry = sandbox.run(&["pin", "--dry-run", "--registry-url", &map]);
    dry.expect_code(0);
    assert!(
        dry.stdout
            .contains(&format!("+    container: node:20@{node} # build image")),
        "{}",
        dry.stdout
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        WORKFLOW,
        "dry run must not write"
    );

    sandbox.run(&["pin", "--registry-url", &map]).expect_code(0);
    let expected = WORKFLOW
        .replace("node:20 #", &format!("node:20@{node} #"))
        .replace(
            "- uses: docker://alpine:3.20\n",
            &format!("- uses: docker://alpine:3.20@{alpine}\n"),
        );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    sandbox
        .run(&["pin", "--check", "--registry-url", &map])
        .expect_code(0);

    // The tag moves on: stale fails the check unless allowed.
    registry.push_index("library/node", "20", &TestImage::build("n2", Format::Oci));
    let stale = sandbox.run(&["pin", "--check", "--registry-url", &map]);
    stale.expect_code(1);
    assert!(stale.stdout.contains("stale"), "{}", stale.stdout);
    sandbox
        .run(&["pin", "--check", "--allow-stale", "--registry-url", &map])
        .expect_code(0);

    // The pinned manifest is deleted: dangling.
    registry.delete_manifest("library/node", &node);
    let dangling = sandbox.run(&[
        "pin",
        "--check",
        "--format",
        "markdown",
        "--registry-url",
        &map,
    ]);
    dangling.expect_code(1);
    assert!(
        dangling.stdout.contains("| dangling |"),
        "{}",
        dangling.stdout
    );
}

#[test]
fn pin_basic_auth_wrong_password_and_usage_errors() {
    let registry = Registry::basic("ci", "s3cret");
    registry.push_index("library/node", "20", &TestImage::build("n", Format::Oci));
    registry.push_index(
        "library/alpine",
        "3.20",
        &TestImage::build("a", Format::Oci),
    );
    let (sandbox, map) = sandbox(&registry);
    let config = sandbox.path().join("docker/config.json");
    // base64("ci:wrong-pass")
    std::fs::write(
        &config,
        r#"{"auths":{"https://index.docker.io/v1/":{"auth":"Y2k6d3JvbmctcGFzcw=="}}}"#,
    )
    .unwrap();
    let run = sandbox.run(&["pin", "--registry-url", &map]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("credentials for docker.io were rejected"),
        "{}",
        run.stderr
    );
    run.assert_absent("wrong-pass");
    run.assert_absent("Y2k6d3JvbmctcGFzcw");

    // base64("ci:s3cret")
    std::fs::write(
        &config,
        r#"{"auths":{"https://index.docker.io/v1/":{"auth":"Y2k6czNjcmV0"}}}"#,
    )
    .unwrap();
    sandbox.run(&["pin", "--registry-url", &map]).expect_code(0);

    sandbox.run(&["pin", "missing.yml"]).expect_code(2);
    sandbox
        .run(&["pin", "--registry-url", "no-equals-sign"])
        .expect_code(2);
    sandbox.run(&["pin", "--allow-stale"]).expect_code(2);
}

/// The issue's workflow: flow mappings, an anchor and its alias, and a folded block scalar.
/// Before the YAML locator, `pin --check` found nothing here and exited 0.
const ISSUE_WORKFLOW: &str = "jobs:
  build:
    container: {image: \"node:20-bookworm\", options: --user 1001}
    services:
      db: {image: postgres:15}
      cache:
        image: &redis redis:7
  test:
    services:
      cache2:
        image: *redis
    container:
      image: >-
        node:20
";

#[test]
fn pin_sees_every_yaml_style_and_reports_what_it_cannot_rewrite() {
    let registry = Registry::open();
    let node = registry.push_index(
        "library/node",
        "20-bookworm",
        &TestImage::build("n", Format::Oci),
    );
    let postgres = registry.push_index(
        "library/postgres",
        "15",
        &TestImage::build("pg", Format::Oci),
    );
    let redis = registry.push_index("library/redis", "7", &TestImage::build("r", Format::Docker));
    let (sandbox, map) = sandbox(&registry);
    let path = sandbox.write(".gitea/workflows/ci.yml", ISSUE_WORKFLOW);

    let check = sandbox.run(&["pin", "--check", "--json", "--registry-url", &map]);
    check.expect_code(1);
    let json = check.json();
    let references = json["files"][0]["references"].as_array().unwrap();
    let rows: Vec<(u64, &str, &str)> = references
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["status"].as_str().unwrap(),
                r["image"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (3, "unpinned", "node:20-bookworm"),
            (5, "unpinned", "postgres:15"),
            (7, "unpinned", "redis:7"),
            (11, "unpinned", "redis:7"),
            (13, "unscannable", "node:20"),
        ]
    );
    assert_eq!(references[3]["alias"]["anchor"], "redis");
    assert_eq!(references[3]["alias"]["line"], 7);
    assert!(
        references[4]["error"]
            .as_str()
            .is_some_and(|e| e.contains("folded block scalar")),
        "{json}"
    );

    // Pinning rewrites each written reference once (the anchor, not the alias) and keeps every
    // other byte; the folded scalar stays, so the run still fails.
    sandbox.run(&["pin", "--registry-url", &map]).expect_code(1);
    let expected = ISSUE_WORKFLOW
        .replace(
            "\"node:20-bookworm\"",
            &format!("\"node:20-bookworm@{node}\""),
        )
        .replace("postgres:15}", &format!("postgres:15@{postgres}}}"))
        .replace("&redis redis:7", &format!("&redis redis:7@{redis}"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    sandbox
        .run(&["pin", "--check", "--registry-url", &map])
        .expect_code(1);

    // The opt-out on the folded scalar's line makes the check pass.
    let ignored = expected.replace("image: >-", "image: >- # byteproof: ignore");
    std::fs::write(&path, &ignored).unwrap();
    let pass = sandbox.run(&["pin", "--check", "--registry-url", &map]);
    pass.expect_code(0);
    assert!(pass.stdout.contains("4 pinned"), "{}", pass.stdout);
}

#[test]
fn pin_rewrites_act_runner_labels_in_a_flow_sequence() {
    let registry = Registry::open();
    let node = registry.push_index("library/node", "20", &TestImage::build("n", Format::Oci));
    let (sandbox, map) = sandbox(&registry);
    let config = "runner:\n  labels: [\"ubuntu-latest:docker://node:20\", linux:host]\n";
    let path = sandbox.write("config.yaml", config);
    sandbox
        .run(&["pin", "--check", "config.yaml", "--registry-url", &map])
        .expect_code(1);
    sandbox
        .run(&["pin", "config.yaml", "--registry-url", &map])
        .expect_code(0);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        config.replace("docker://node:20", &format!("docker://node:20@{node}"))
    );
}

/// A file that is not YAML is an error for that file (exit 2), never "no references"; an
/// unscannable value fails the check unless its line opts out. No registry is asked.
#[test]
fn pin_text_errors_need_no_registry() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "broken.yml",
        "jobs:\n  a:\n    container: {image: node:20\n",
    );
    sandbox.write(
        "folded.yml",
        "jobs:\n  a:\n    container:\n      image: >-\n        node:20\n",
    );
    sandbox.write(
        "folded-ignored.yml",
        "jobs:\n  a:\n    container:\n      image: >- # byteproof: ignore\n        node:20\n",
    );

    let broken = sandbox.run(&["pin", "--check", "broken.yml"]);
    broken.expect_code(2);
    assert!(
        broken.stderr.contains("broken.yml: not valid YAML: line 4"),
        "{}",
        broken.stderr
    );
    assert!(!broken.stdout.contains("no image references found"));
    let json = sandbox.run(&["pin", "--check", "--json", "broken.yml", "folded.yml"]);
    json.expect_code(2);
    let json = json.json();
    assert!(
        json["files"][0]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("not valid YAML")),
        "{json}"
    );
    assert_eq!(json["files"][1]["references"][0]["status"], "unscannable");
    sandbox.run(&["pin", "broken.yml"]).expect_code(2);

    let folded = sandbox.run(&["pin", "--check", "folded.yml"]);
    folded.expect_code(1);
    assert!(folded.stdout.contains("unscannable"), "{}", folded.stdout);
    assert!(folded.stdout.contains("folded.yml:4"), "{}", folded.stdout);
    sandbox.run(&["pin", "folded.yml"]).expect_code(1);
    sandbox
        .run(&["pin", "--check", "folded-ignored.yml"])
        .expect_code(0);
}

/// A file that cannot be written is an error: it stays as it was, the reference is reported as
/// still unpinned (never "pinned now") with the reason, and the exit is 2. The run is made
/// without write permission on the folder (as an unprivileged user when the tests run as root).
#[test]
fn pin_a_failed_write_is_an_error_and_leaves_the_file() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    let registry = Registry::open();
    registry.push_index("library/node", "20", &TestImage::build("n", Format::Oci));
    registry.push_index(
        "library/alpine",
        "3.20",
        &TestImage::build("a", Format::Oci),
    );
    let (sandbox, map) = sandbox(&registry);
    let path = sandbox.path().join(".gitea/workflows/ci.yml");
    let folder = path.parent().unwrap();
    let mode = |p: &std::path::Path, m| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    };
    mode(sandbox.path(), 0o755);
    mode(&sandbox.path().join("docker"), 0o755);
    mode(&sandbox.path().join("home"), 0o755);
    mode(folder, 0o555);
    let root = std::fs::metadata(sandbox.path()).unwrap().uid() == 0;
    let mut command = if root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_byteproof"));
        c
    } else {
        std::process::Command::new(env!("CARGO_BIN_EXE_byteproof"))
    };
    let output = command
        .current_dir(sandbox.path())
        .env("HOME", sandbox.path().join("home"))
        .env("DOCKER_CONFIG", sandbox.path().join("docker"))
        .args(["pin", "--json", "--registry-url", &map])
        .output()
        .expect("run byteproof (setpriv comes with util-linux)");
    mode(folder, 0o755);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), WORKFLOW);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let file = &json["files"][0];
    assert_eq!(file["changed"], false, "{json}");
    assert!(
        file["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("not written: ")),
        "{json}"
    );
    let first = &file["references"][0];
    assert_eq!(first["status"], "unpinned", "{json}");
    assert_eq!(first["replacement"], serde_json::Value::Null);
    assert!(
        first["error"]
            .as_str()
            .is_some_and(|e| e.contains("not written")),
        "{json}"
    );
    assert!(stderr.contains("not written"), "{stderr}");
}
