//! `byteproof route`: the payload table through the real binary, exit codes, the JSON report,
//! `$GITHUB_OUTPUT`, the runner's environment variables and the workflow command.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::{Run, Sandbox};

const TRUSTED: [&str; 4] = ["self-hosted", "linux", "x64", "chem-trusted-pr"];

fn testdata(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/route")
        .join(name)
        .display()
        .to_string()
}

/// A sandbox where none of the runner's variables leak in from the outside.
fn sandbox() -> Sandbox {
    let mut sandbox = Sandbox::new();
    for key in [
        "GITHUB_EVENT_PATH",
        "GITHUB_EVENT_NAME",
        "CI_SELF_HOSTED_TRUSTED_ROUTING",
        "GITHUB_OUTPUT",
        "GITHUB_ACTIONS",
    ] {
        sandbox.env(key, "");
    }
    sandbox
}

fn route(sandbox: &Sandbox, payload: &str, event: &str, extra: &[&str]) -> Run {
    let payload = testdata(payload);
    let mut args = vec!["route", "--event", &payload, "--event-name", event];
    args.extend_from_slice(extra);
    sandbox.run(&args)
}

fn failing(json: &Value) -> Vec<&str> {
    json["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ok"] == false)
        .map(|r| r["rule"].as_str().unwrap())
        .collect()
}

#[test]
fn payload_table_through_the_binary() {
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(testdata("cases.json")).unwrap()).unwrap();
    let sandbox = sandbox();
    for case in cases.as_array().unwrap() {
        let name = case["payload"].as_str().unwrap();
        let mut extra = vec!["--format", "json"];
        if let Some(variable) = case["variable"].as_str() {
            extra.extend(["--routing-variable", variable]);
        }
        let run = route(&sandbox, name, case["event"].as_str().unwrap(), &extra);
        let context = format!(
            "{name} {case}\nstdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
        if case["route"] == "error" {
            assert_eq!(run.code, 2, "{context}");
            assert!(run.stdout.is_empty(), "{context}");
            let part = case["error"].as_str().unwrap();
            assert!(run.stderr.contains(part), "{context}");
            assert!(
                run.stderr.contains(name),
                "the error names the file: {context}"
            );
            continue;
        }
        assert_eq!(run.code, 0, "{context}");
        let json = run.json();
        let trusted = case["route"] == "trusted";
        assert_eq!(json["trusted"], trusted, "{context}");
        let runs_on: Vec<&str> = if trusted {
            TRUSTED.to_vec()
        } else {
            vec!["ubuntu-latest"]
        };
        assert_eq!(json["runs_on"], serde_json::json!(runs_on), "{context}");
        let expected: Vec<&str> = case["failing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert_eq!(failing(&json), expected, "{context}");
    }
}

#[test]
fn json_report_has_exactly_the_documented_keys() {
    let run = route(
        &sandbox(),
        "github/pr-member.json",
        "pull_request",
        &["--routing-variable", "true", "--json"],
    );
    run.expect_code(0);
    let json = run.json();
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["reasons", "runs_on", "schema", "trusted"]);
    assert_eq!(json["schema"], "byteproof.route/v1");
    let rules: Vec<&str> = json["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["detail", "ok", "rule"]);
            r["rule"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        rules,
        [
            "event",
            "not-fork",
            "not-bot",
            "author-association",
            "routing-variable"
        ]
    );
}

#[test]
fn defaults_come_from_the_runner_environment() {
    let mut sandbox = sandbox();
    sandbox
        .env("GITHUB_EVENT_PATH", &testdata("github/pr-member.json"))
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("CI_SELF_HOSTED_TRUSTED_ROUTING", "TRUE");
    let run = sandbox.run(&["route", "--json"]);
    run.expect_code(0);
    assert_eq!(run.json()["trusted"], true);

    let off = sandbox.run(&["route", "--json", "--routing-variable", "false"]);
    assert_eq!(failing(&off.expect_code(0).json()), ["routing-variable"]);
    let push = sandbox.run(&["route", "--json", "--event-name", "push"]);
    assert_eq!(failing(&push.expect_code(0).json()), ["event"]);
    let fork = sandbox.run(&[
        "route",
        "--json",
        "--event",
        &testdata("github/pr-fork-member.json"),
    ]);
    assert_eq!(failing(&fork.expect_code(0).json()), ["not-fork"]);

    // An empty variable is an unset one (GitHub gives '' for an unset `vars.NAME`).
    sandbox.env("CI_SELF_HOSTED_TRUSTED_ROUTING", "");
    let unset = sandbox.run(&["route", "--json"]);
    assert_eq!(failing(&unset.expect_code(0).json()), ["routing-variable"]);
}

#[test]
fn github_output_gets_both_outputs_appended() {
    let mut sandbox = sandbox();
    let output = sandbox.write("github_output", "earlier=1\n");
    sandbox.env("GITHUB_OUTPUT", &output.display().to_string());
    route(
        &sandbox,
        "github/pr-member.json",
        "pull_request",
        &["--routing-variable", "true", "--github-output"],
    )
    .expect_code(0);
    route(
        &sandbox,
        "github/pr-outside-contributor.json",
        "pull_request",
        &[
            "--github-output",
            "--fallback",
            "ubuntu-24.04,x64",
            "--trusted-labels",
            "self-hosted",
        ],
    )
    .expect_code(0);
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "earlier=1\n\
         runs-on=[\"self-hosted\",\"linux\",\"x64\",\"chem-trusted-pr\"]\ntrusted=true\n\
         runs-on=[\"ubuntu-24.04\",\"x64\"]\ntrusted=false\n"
    );
}

#[test]
fn a_failed_github_output_append_is_an_error() {
    let mut sandbox = sandbox();
    let args = ["--routing-variable", "true", "--github-output", "--json"];
    let unset = route(&sandbox, "github/pr-member.json", "pull_request", &args);
    unset.expect_code(2);
    assert!(
        unset.stderr.contains("needs $GITHUB_OUTPUT"),
        "{}",
        unset.stderr
    );
    assert!(
        unset.stdout.is_empty(),
        "no report when the outputs were not written"
    );

    let folder = sandbox.path().join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    sandbox.env("GITHUB_OUTPUT", &folder.display().to_string());
    let unwritable = route(&sandbox, "github/pr-member.json", "pull_request", &args);
    unwritable.expect_code(2);
    assert!(
        unwritable
            .stderr
            .contains("cannot append to $GITHUB_OUTPUT"),
        "{}",
        unwritable.stderr
    );
}

#[test]
fn usage_errors_exit_2() {
    let sandbox = sandbox();
    let member = testdata("github/pr-member.json");
    let cases: [(&[&str], &str); 8] = [
        (
            &["route", "--event-name", "pull_request"],
            "no event payload",
        ),
        (&["route", "--event", &member], "no event name"),
        (
            &["route", "--event", "missing.json", "--event-name", "push"],
            "cannot read the event payload missing.json",
        ),
        (&["route", "--no-such-flag"], "--no-such-flag"),
        (
            &["route", "--trusted-associations", "OWNER,MEMBR"],
            "unknown author association \"MEMBR\"",
        ),
        (
            &["route", "--trusted-labels", "self-hosted,,x64"],
            "empty runner label",
        ),
        (&["route", "--fallback", ""], "at least one runner label"),
        (
            &[
                "route",
                "--event",
                &member,
                "--event-name",
                "pull_request",
                "--resolve-association",
            ],
            "--resolve-association is not available yet",
        ),
    ];
    for (args, message) in cases {
        let run = sandbox.run(args);
        run.expect_code(2);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn actions_gets_one_workflow_command() {
    let mut sandbox = sandbox();
    let quiet = route(
        &sandbox,
        "github/pr-member.json",
        "pull_request",
        &["--routing-variable", "true"],
    );
    assert!(!quiet.stderr.contains("::"), "{}", quiet.stderr);

    sandbox.env("GITHUB_ACTIONS", "true");
    let trusted = route(
        &sandbox,
        "github/pr-member.json",
        "pull_request",
        &["--routing-variable", "true", "--json"],
    );
    trusted.expect_code(0).json();
    assert_eq!(
        trusted.stderr,
        "::notice title=byteproof route::trusted route: runs-on self-hosted, linux, x64, chem-trusted-pr; all five rules hold\n"
    );
    let switched_off = route(&sandbox, "github/pr-member.json", "pull_request", &[]);
    assert!(
        switched_off.stderr.starts_with(
            "::warning title=byteproof route::fallback route: runs-on ubuntu-latest; routing-variable: CI_SELF_HOSTED_TRUSTED_ROUTING is unset or empty"
        ),
        "{}",
        switched_off.stderr
    );
    let fork = route(
        &sandbox,
        "github/pr-outside-contributor.json",
        "pull_request",
        &["--routing-variable", "true"],
    );
    assert!(
        fork.stderr.starts_with(
            "::notice title=byteproof route::fallback route: runs-on ubuntu-latest; not-fork: head repository kwame-o/reactor"
        ),
        "{}",
        fork.stderr
    );
    assert_eq!(fork.stderr.lines().count(), 1, "{}", fork.stderr);
}

#[test]
fn table_and_markdown_reports() {
    let sandbox = sandbox();
    let table = route(
        &sandbox,
        "gitea/pr-agit.json",
        "pull_request",
        &["--routing-variable", "true"],
    );
    table.expect_code(0);
    assert!(
        table
            .stdout
            .starts_with("fallback route: runs-on ubuntu-latest\n  ok    event "),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains(
            "  fail  not-fork            head.label is empty: a Gitea AGit-flow pull request"
        ),
        "{}",
        table.stdout
    );
    let markdown = route(
        &sandbox,
        "github/pr-member.json",
        "pull_request",
        &["--routing-variable", "true", "--format", "markdown"],
    );
    markdown.expect_code(0);
    assert!(
        markdown.stdout.starts_with(
            "**trusted route**: runs-on `self-hosted`, `linux`, `x64`, `chem-trusted-pr`\n\n| rule | holds | detail |\n"
        ),
        "{}",
        markdown.stdout
    );
    assert!(
        markdown.stdout.contains(
            "| not-fork | yes | head and base are the same repository, chemlab/reactor |"
        ),
        "{}",
        markdown.stdout
    );
}
