//! `byteproof hash`: local files, the same digests as `compare`.

use crate::support::Sandbox;

#[test]
fn hashes_files_and_reports_unreadable_ones() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("a.tgz", "abc");
    let missing = sandbox.path().join("missing.tgz");
    let run = sandbox.run(&[
        "hash",
        file.to_str().unwrap(),
        missing.to_str().unwrap(),
        "--json",
    ]);
    run.expect_code(2);
    let rows = run.json();
    assert_eq!(
        rows.as_array().unwrap().len(),
        1,
        "the readable file is still reported"
    );
    assert_eq!(rows[0]["sha1"], "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_eq!(
        rows[0]["sha256"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(rows[0]["size"], 3);
    assert!(rows[0]["integrity"].as_str().unwrap().starts_with("sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="));
    assert!(run.stderr.contains("missing.tgz"), "{}", run.stderr);

    let text = sandbox.run(&["hash", file.to_str().unwrap()]);
    text.expect_code(0);
    assert!(
        text.stdout.contains("sha256     ba7816bf"),
        "{}",
        text.stdout
    );
}
