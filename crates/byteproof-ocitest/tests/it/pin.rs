use byteproof_ocitest::{Format, Registry, TestImage};
use byteproof_pin::{FileProblem, Mode, Outcome, SourceFile, Status, outcome, plan};

use crate::{open_resolver, rt};

/// A workflow with the quirks a rewrite must keep: comments, both quote styles, blank lines,
/// aligned and indented sequences, CRLF-free but trailing spaces, a block scalar that looks
/// like YAML, an expression, an opt-out and a placeholder.
const WORKFLOW: &str = r#"# CI for the thing
name: ci
on:
  push:
    branches: [main]

jobs:
  build:
    runs-on: ubuntu-latest
    container: node:20-bookworm   # the build image

    services:
      db:
        image: "postgres:16"
        env:
          POSTGRES_PASSWORD: x
      cache:
        image: 'redis:7'  
    steps:
    - uses: actions/checkout@v4
    - name: lint
      uses: docker://alpine:3.20
    - run: |
        container: not-an-image:1
        echo image: nor-this:2

  matrix:
    runs-on: ubuntu-latest
    container:
      image: ${{ matrix.image }}
    steps:
      - uses: docker://alpine:3.20 # byteproof: ignore
      - uses: "docker://node:20-bookworm@sha256:PIN_THIS_DIGEST_FOR_DETERMINISM"
"#;

const RUNNER: &str = r#"log:
  level: info

runner:
  file: .runner
  capacity: 1
  # Images for the job containers.
  labels:
    - "ubuntu-latest:docker://node:20-bookworm"
    - ubuntu-22.04:docker://node:20-bookworm-amd64
    - "linux_amd64:host"

container:
  network: ""
  force_pull: true
"#;

#[test]
fn pins_a_workflow_and_a_runner_config_byte_for_byte() {
    let registry = Registry::open();
    let image = TestImage::build("pin", Format::Oci);
    let node = registry.push_index("library/node", "20-bookworm", &image);
    let node_amd64 = registry.push_single("library/node", "20-bookworm-amd64", &image, 0);
    let postgres = registry.push_index(
        "library/postgres",
        "16",
        &TestImage::build("pg", Format::Oci),
    );
    let redis = registry.push_index(
        "library/redis",
        "7",
        &TestImage::build("redis", Format::Docker),
    );
    let alpine = registry.push_index(
        "library/alpine",
        "3.20",
        &TestImage::build("alpine", Format::Oci),
    );
    let resolver = open_resolver(&registry);

    let files = [
        SourceFile::new("ci.yml", WORKFLOW),
        SourceFile::new("config.yaml", RUNNER),
    ];
    let plans = rt().block_on(plan(&resolver, &files));

    let expected_workflow = WORKFLOW
        .replace(
            "container: node:20-bookworm ",
            &format!("container: node:20-bookworm@{node} "),
        )
        .replace("\"postgres:16\"", &format!("\"postgres:16@{postgres}\""))
        .replace("'redis:7'", &format!("'redis:7@{redis}'"))
        .replace(
            "uses: docker://alpine:3.20\n",
            &format!("uses: docker://alpine:3.20@{alpine}\n"),
        )
        .replace(
            "node:20-bookworm@sha256:PIN_THIS_DIGEST_FOR_DETERMINISM",
            &format!("node:20-bookworm@{node}"),
        );
    assert_eq!(plans[0].updated, expected_workflow);
    let statuses: Vec<(&str, String)> = plans[0]
        .findings
        .iter()
        .map(|f| (f.status.name(), f.found.image.clone()))
        .collect();
    assert_eq!(
        statuses.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [
            "unpinned",
            "unpinned",
            "unpinned",
            "unpinned",
            "expression",
            "ignored",
            "unpinned"
        ],
        "{statuses:?}"
    );

    let expected_runner = RUNNER
        .replace(
            "docker://node:20-bookworm\"",
            &format!("docker://node:20-bookworm@{node}\""),
        )
        .replace(
            "docker://node:20-bookworm-amd64\n",
            &format!("docker://node:20-bookworm-amd64@{node_amd64}\n"),
        );
    assert_eq!(plans[1].updated, expected_runner);

    // Write atomically, then a second pass finds everything pinned and changes nothing.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ci.yml");
    byteproof_fs::write_atomic(&path, plans[0].updated.as_bytes(), None).expect("write");
    let text = std::fs::read_to_string(&path).expect("read back");
    let again = rt().block_on(plan(&resolver, &[SourceFile::new(&path, text)]));
    assert!(!again[0].changed());
    assert!(
        again[0].findings.iter().all(|f| matches!(
            f.status,
            Status::Pinned | Status::Ignored | Status::Expression
        )),
        "{:?}",
        again[0]
            .findings
            .iter()
            .map(|f| f.status.clone())
            .collect::<Vec<_>>()
    );
}

#[test]
fn repush_makes_a_pin_stale_and_delete_makes_it_dangling() {
    let registry = Registry::open();
    let v1 = registry.push_index("library/node", "20", &TestImage::build("v1", Format::Oci));
    let resolver = open_resolver(&registry);
    let rt = rt();
    let text = format!("jobs:\n  a:\n    container: node:20@{v1}\n");
    let files = [SourceFile::new("w.yml", text.clone())];
    let status = |plans: &[byteproof_pin::FilePlan]| plans[0].findings[0].status.clone();

    assert_eq!(
        status(&rt.block_on(plan(&resolver, &files))),
        Status::Pinned
    );

    // Upstream rebuild: the tag moves, the old digest is still served.
    let v2 = registry.push_index("library/node", "20", &TestImage::build("v2", Format::Oci));
    assert_ne!(v1, v2);
    let plans = rt.block_on(plan(&resolver, &files));
    assert_eq!(status(&plans), Status::Stale);
    assert_eq!(
        plans[0].findings[0]
            .current
            .as_ref()
            .map(ToString::to_string),
        Some(v2.clone())
    );
    assert_eq!(plans[0].updated, text.replace(&v1, &v2));

    // The old manifest is deleted: the pin dangles.
    registry.delete_manifest("library/node", &v1);
    let plans = rt.block_on(plan(&resolver, &files));
    assert_eq!(status(&plans), Status::Dangling);
    assert_eq!(plans[0].updated, text.replace(&v1, &v2));
}

#[test]
fn unresolvable_references_are_reported_not_rewritten() {
    let registry = Registry::open();
    let resolver = open_resolver(&registry);
    let text =
        "jobs:\n  a:\n    container: node:404\n    services:\n      x:\n        image: Not_Valid\n";
    let plans = rt().block_on(plan(&resolver, &[SourceFile::new("w.yml", text)]));
    assert!(!plans[0].changed());
    let first = &plans[0].findings[0];
    assert_eq!(first.status, Status::Unpinned);
    assert!(
        first
            .error
            .as_deref()
            .is_some_and(|e| e.contains("not found")),
        "{first:?}"
    );
    assert!(matches!(plans[0].findings[1].status, Status::Invalid(_)));
}

#[test]
fn platform_specific_pins_are_recognised_and_never_silently_widened() {
    let registry = Registry::open();
    let v1 = TestImage::build("v1", Format::Oci);
    registry.push_index("library/node", "20", &v1);
    let amd64 = v1.platforms[0].digest();
    let resolver = open_resolver(&registry);
    let rt = rt();
    let text = format!("jobs:\n  a:\n    container: node:20@{amd64}\n");
    let files = [SourceFile::new("w.yml", text.clone())];

    let plans = rt.block_on(plan(&resolver, &files));
    let finding = &plans[0].findings[0];
    assert_eq!(finding.status, Status::Pinned);
    assert!(
        finding
            .note
            .as_deref()
            .is_some_and(|n| n.contains("linux/amd64")),
        "{finding:?}"
    );

    registry.push_index("library/node", "20", &TestImage::build("v2", Format::Oci));
    let plans = rt.block_on(plan(&resolver, &files));
    let finding = &plans[0].findings[0];
    assert_eq!(finding.status, Status::Stale);
    assert_eq!(finding.replacement, None);
    assert!(
        finding
            .note
            .as_deref()
            .is_some_and(|n| n.contains("--platform")),
        "{finding:?}"
    );
    assert!(!plans[0].changed());
}

/// Flow collections, an anchor with two alias uses and a literal block scalar: the anchored
/// scalar is pinned once, each alias use carries the anchor's status (unpinned, then pinned,
/// then stale), and the block scalar keeps every run failing as unscannable.
#[test]
fn aliases_share_their_anchor_status_and_unscannable_values_fail() {
    let registry = Registry::open();
    let v1 = registry.push_index("library/node", "20", &TestImage::build("v1", Format::Oci));
    let postgres = registry.push_index(
        "library/postgres",
        "16",
        &TestImage::build("pg", Format::Oci),
    );
    let resolver = open_resolver(&registry);
    let rt = rt();
    let text = "x-node: &node node:20  # the build image\njobs:\n  a: {container: *node, services: {db: {image: 'postgres:16'}}}\n  b:\n    container: *node\n    steps: [{uses: \"docker://node:20\"}]\n  c:\n    container:\n      image: |\n        node:20\n";
    let statuses = |plans: &[byteproof_pin::FilePlan]| -> Vec<&'static str> {
        plans[0].findings.iter().map(|f| f.status.name()).collect()
    };

    let plans = rt.block_on(plan(&resolver, &[SourceFile::new("w.yml", text)]));
    assert_eq!(
        statuses(&plans),
        [
            "unpinned",
            "unpinned",
            "unpinned",
            "unpinned",
            "unscannable"
        ]
    );
    let pinned = text
        .replacen("&node node:20", &format!("&node node:20@{v1}"), 1)
        .replace("'postgres:16'", &format!("'postgres:16@{postgres}'"))
        .replace("docker://node:20\"", &format!("docker://node:20@{v1}\""));
    assert_eq!(plans[0].updated, pinned);
    assert_eq!(outcome(&plans, Mode::Write, false), Outcome::Fail);
    assert_eq!(outcome(&plans, Mode::Check, false), Outcome::Fail);

    let plans = rt.block_on(plan(&resolver, &[SourceFile::new("w.yml", pinned.clone())]));
    assert_eq!(
        statuses(&plans),
        ["pinned", "pinned", "pinned", "pinned", "unscannable"]
    );
    assert!(!plans[0].changed());

    registry.push_index("library/node", "20", &TestImage::build("v2", Format::Oci));
    let plans = rt.block_on(plan(&resolver, &[SourceFile::new("w.yml", pinned)]));
    assert_eq!(
        statuses(&plans),
        ["stale", "pinned", "stale", "stale", "unscannable"]
    );
}

/// A file that is not YAML is a problem of that file, not an empty list; the others are still
/// planned, and the run's outcome is invalid input.
#[test]
fn a_file_that_is_not_yaml_is_reported_and_the_others_still_planned() {
    let registry = Registry::open();
    registry.push_index("library/node", "20", &TestImage::build("n", Format::Oci));
    let resolver = open_resolver(&registry);
    let files = [
        SourceFile::new("broken.yml", "jobs:\n  a: {container: node:20\n"),
        SourceFile::new("good.yml", "jobs:\n  a: {container: node:20}\n"),
    ];
    let plans = rt().block_on(plan(&resolver, &files));
    assert!(
        matches!(&plans[0].problem, Some(FileProblem::Unparsable(e)) if e.line == 3),
        "{:?}",
        plans[0].problem
    );
    assert!(plans[0].findings.is_empty());
    assert!(!plans[0].changed());
    assert_eq!(plans[1].findings[0].status, Status::Unpinned);
    assert!(plans[1].changed());
    assert_eq!(outcome(&plans, Mode::Check, false), Outcome::Invalid);
    assert_eq!(outcome(&plans[1..], Mode::Write, false), Outcome::Pass);
}
