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
