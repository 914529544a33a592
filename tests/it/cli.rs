//! Usage errors and help: the exit-code contract.

use crate::support::Sandbox;

#[test]
fn help_documents_the_exit_codes_and_precedence() {
    let run = Sandbox::new().run(&["compare", "--help"]);
    run.expect_code(0);
    for needle in [
        "Exit status",
        "0  identical",
        "3  could not verify",
        "BYTEPROOF_TOKEN_<NAME>",
        "--registry NAME=URL",
        ".npmrc",
    ] {
        assert!(
            run.stdout.contains(needle),
            "help lacks {needle:?}:\n{}",
            run.stdout
        );
    }
    let top = Sandbox::new().run(&["--help"]);
    assert!(top.expect_code(0).stdout.contains("Exit status"));
}

#[test]
fn usage_errors_exit_2_with_a_reason() {
    let sandbox = Sandbox::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "compare",
                "left-pad",
                "--registry",
                "a=http://127.0.0.1:9/",
                "--registry",
                "b=http://127.0.0.1:9/x/",
            ],
            "no version",
        ),
        (
            &[
                "compare",
                "left-pad@latest",
                "--registry",
                "a=http://127.0.0.1:9/",
                "--registry",
                "b=http://127.0.0.1:9/x/",
            ],
            "dist-tag",
        ),
        (
            &[
                "compare",
                "left-pad@1.0.0",
                "--registry",
                "a=http://127.0.0.1:9/",
            ],
            "at least two registries",
        ),
        (
            &[
                "compare",
                "left-pad@1.0.0",
                "--registry",
                "a=ftp://h/",
                "--registry",
                "b=http://h/",
            ],
            "http",
        ),
        (
            &["compare", "left-pad@1.0.0", "--registry", "nourl"],
            "NAME=VALUE",
        ),
        (&["compare", "left-pad@1.0.0"], "no registries given"),
        (
            &[
                "compare",
                "left-pad@1.0.0",
                "--registry",
                "a=http://h/",
                "--registry",
                "a=http://i/",
            ],
            "used twice",
        ),
        (&["compare", "x@1.0.0", "--bogus"], "--bogus"),
    ];
    for (args, needle) in cases {
        let run = sandbox.run(args);
        run.expect_code(2);
        assert!(
            run.stderr.contains(needle),
            "{args:?}: stderr lacks {needle:?}:\n{}",
            run.stderr
        );
        assert!(
            run.stdout.is_empty(),
            "{args:?}: nothing on stdout on a usage error"
        );
    }
}

#[test]
fn a_token_file_for_no_configured_registry_is_a_usage_error() {
    let sandbox = Sandbox::new();
    let token = sandbox.write("token", "t0ken-not-shown");
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let token_file = format!("nope={}", token.display());
    let tgz = format!("{}/../../testdata/diff/npm.tgz", env!("CARGO_MANIFEST_DIR"));
    let registry = ["--registry", "a=http://127.0.0.1:9/"];
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "compare",
            "left-pad@1.0.0",
            "--registry",
            "b=http://127.0.0.1:9/x/",
        ],
        vec!["diff", "a:left-pad@1.0.0", &tgz],
        vec!["diff", &tgz, &tgz],
        vec!["e2e", "run", "--scope", "acme", "--name", "x"],
        vec!["e2e", "cleanup", "--scope", "acme", "--name", "x"],
    ];
    for case in cases {
        let mut args = case.clone();
        args.extend_from_slice(&registry);
        args.extend_from_slice(&["--token-file", &token_file]);
        let run = sandbox.run(&args);
        run.expect_code(2);
        assert!(
            run.stderr.contains("--token-file names registry \"nope\""),
            "{args:?}: {}",
            run.stderr
        );
        run.assert_absent("t0ken-not-shown");
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    // Two files and no registry anywhere: the name is still checked.
    let run = sandbox.run(&["diff", &tgz, &tgz, "--token-file", &token_file]);
    run.expect_code(2);
    assert!(run.stderr.contains("(configured: none)"), "{}", run.stderr);
}
