//! `byteproof diff` through the binary, and the diff that `compare` runs on divergence.

use byteproof_testkit::{PackTool, Packer};

use crate::support::{Sandbox, pack, publish, registries};

const PKG: &str = "@bytelyst/errors";

fn testdata(name: &str) -> String {
    format!("{}/../../testdata/diff/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn local_files_by_layer_with_exit_codes() {
    let sandbox = Sandbox::new();
    let same = sandbox.run(&["diff", &testdata("npm.tgz"), &testdata("npm.tgz")]);
    same.expect_code(0);
    assert!(same.stdout.starts_with("identical"), "{}", same.stdout);

    let run = sandbox.run(&[
        "diff",
        &testdata("npm.tgz"),
        &testdata("pnpm.tgz"),
        "--json",
    ]);
    let report = run.expect_code(1).json();
    assert_eq!(report["a"]["producer"]["producer"], "npm");
    assert_eq!(report["b"]["producer"]["producer"], "pnpm");
    assert!(
        report["layers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "gzip-header")
    );

    let text = sandbox.run(&[
        "diff",
        &testdata("npm.tgz"),
        &testdata("crafted/exec-bit.tgz"),
    ]);
    text.expect_code(1);
    assert!(
        text.stdout
            .starts_with("divergent at metadata: exec-bit on"),
        "{}",
        text.stdout
    );
}

#[test]
fn unreadable_or_hostile_sides_exit_2() {
    let sandbox = Sandbox::new();
    let not_gzip = sandbox.write("not.tgz", "this is not gzip");
    let run = sandbox.run(&["diff", &testdata("npm.tgz"), not_gzip.to_str().unwrap()]);
    run.expect_code(2);
    assert!(run.stderr.contains("gzip"), "{}", run.stderr);
    let run = sandbox.run(&["diff", &testdata("npm.tgz"), "/nonexistent/x.tgz"]);
    run.expect_code(2);
    assert!(run.stderr.contains("/nonexistent/x.tgz"), "{}", run.stderr);
    let run = sandbox.run(&[
        "diff",
        &testdata("npm.tgz"),
        "nowhere:@bytelyst/errors@1.0.0",
        "--registry",
        "a=http://127.0.0.1:9/",
    ]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("no registry named \"nowhere\""),
        "{}",
        run.stderr
    );
}

#[test]
fn registry_and_url_sides_fetch_the_real_tarballs() {
    let regs = registries(2);
    let source = Packer::new(PKG, "1.0.1")
        .unwrap()
        .executable("bin/tool.js", "#!/usr/bin/env node\n");
    let npm = source.pack(PackTool::Npm).unwrap();
    let pnpm = source.pack(PackTool::Pnpm).unwrap();
    publish(&regs[0], &npm);
    publish(&regs[1], &pnpm);
    let sandbox = Sandbox::new();
    let a = format!("a={}", regs[0].0.url());
    let b = format!("b={}", regs[1].0.url());
    let run = sandbox.run(&[
        "diff",
        "a:@bytelyst/errors@1.0.1",
        "b:@bytelyst/errors@1.0.1",
        "--registry",
        &a,
        "--registry",
        &b,
        "--json",
    ]);
    let report = run.expect_code(1).json();
    assert_eq!(
        report["a"]["sha256"],
        byteproof_hash::hash_bytes(&npm.bytes).sha256_hex()
    );
    assert_eq!(
        report["b"]["sha256"],
        byteproof_hash::hash_bytes(&pnpm.bytes).sha256_hex()
    );
    assert_eq!(report["b"]["producer"]["producer"], "pnpm");

    let url = regs[0].0.tarball_url(PKG, "1.0.1");
    let run = sandbox.run(&["diff", &url, npm.path.to_str().unwrap()]);
    run.expect_code(0);
}

#[test]
fn compare_explains_a_divergence_and_no_diff_turns_it_off() {
    let regs = registries(3);
    let npm = pack(PKG, "1.0.1", PackTool::Npm);
    let pnpm = pack(PKG, "1.0.1", PackTool::Pnpm);
    publish(&regs[0], &npm);
    publish(&regs[1], &pnpm);
    publish(&regs[2], &npm);
    let mut args = vec!["compare".to_owned(), "@bytelyst/errors@1.0.1".to_owned()];
    for (i, r) in regs.iter().enumerate() {
        args.push("--registry".into());
        args.push(format!("{}={}", char::from(b'a' + i as u8), r.0.url()));
    }
    let sandbox = Sandbox::new();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();

    let report = sandbox
        .run(&[argv.as_slice(), &["--json"]].concat())
        .expect_code(1)
        .json();
    let diffs = report["diffs"].as_array().unwrap();
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0]["a_group"], serde_json::json!(["a", "c"]));
    assert_eq!(diffs[0]["b_group"], serde_json::json!(["b"]));
    assert!(
        diffs[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("divergent at "),
        "{}",
        diffs[0]
    );
    assert_eq!(diffs[0]["report"]["b"]["producer"]["producer"], "pnpm");

    let table = sandbox.run(&argv);
    assert!(
        table
            .expect_code(1)
            .stdout
            .contains("why a, c vs b: divergent at"),
        "{}",
        table.stdout
    );
    let markdown = sandbox.run(&[argv.as_slice(), &["--format", "markdown"]].concat());
    assert!(
        markdown
            .expect_code(1)
            .stdout
            .contains("#### Why a, c vs b differ"),
        "{}",
        markdown.stdout
    );

    let off = sandbox
        .run(&[argv.as_slice(), &["--json", "--no-diff"]].concat())
        .expect_code(1)
        .json();
    assert_eq!(off["diffs"], serde_json::json!([]));
}

/// The recompression check names the first engine and level for each side; `--node` adds a
/// Node binary (the same one found on PATH is tried once).
#[test]
fn recompression_names_node_and_engines() {
    let sandbox = Sandbox::new();
    let node = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v node"])
            .output()
            .expect("sh")
            .stdout,
    )
    .unwrap();
    let node = node.trim();
    assert!(
        !node.is_empty(),
        "the test suite needs node (cargo xtask test installs it)"
    );
    let run = sandbox.run(&[
        "diff",
        &testdata("npm.tgz"),
        &testdata("crafted/compression.tgz"),
        "--node",
        node,
        "--node",
        node,
    ]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("a: node v") && run.stdout.contains("level 9"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("b: node v"), "{}", run.stdout);
    let json = sandbox
        .run(&[
            "diff",
            &testdata("npm.tgz"),
            &testdata("crafted/compression.tgz"),
            "--json",
        ])
        .expect_code(1)
        .json();
    let rc = &json["recompression"];
    let tried: Vec<&str> = rc["tried"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        tried.iter().filter(|t| t.starts_with("node ")).count(),
        tried
            .iter()
            .filter(|t| t.starts_with("node "))
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        "each node binary is tried once: {tried:?}"
    );
    assert!(rc["a"][0].as_str().unwrap().ends_with("level 9"), "{rc}");
    assert!(rc["b"][0].as_str().unwrap().ends_with("level 6"), "{rc}");
}
