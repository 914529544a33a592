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
