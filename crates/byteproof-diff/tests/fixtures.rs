//! Real packer output from `testdata/diff/` (made by `cargo xtask fixtures`): each producer is
//! recognised, and each crafted case differs from `npm.tgz` at exactly its layer.

use byteproof_diff::{DiffOptions, DiffReport, Layer, Producer, Reason, diff};

fn read(name: &str) -> Vec<u8> {
    let path = format!("{}/../../testdata/diff/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e} (run `cargo xtask fixtures`)"))
}

fn against_npm(name: &str) -> DiffReport {
    diff(&read("npm.tgz"), &read(name), &DiffOptions::default()).expect("readable fixtures")
}

fn producer(name: &str) -> Producer {
    let bytes = read(name);
    diff(&bytes, &bytes, &DiffOptions::default())
        .unwrap()
        .a
        .producer
        .producer
}

#[test]
fn npm_fingerprint() {
    assert_eq!(producer("npm.tgz"), Producer::Npm);
}

#[test]
fn pnpm_fingerprint() {
    assert_eq!(producer("pnpm.tgz"), Producer::Pnpm);
}

#[test]
fn yarn_classic_fingerprint() {
    assert_eq!(producer("yarn-classic.tgz"), Producer::YarnClassic);
}

#[test]
fn yarn_berry_fingerprint() {
    assert_eq!(producer("yarn-berry.tgz"), Producer::YarnBerry);
}

#[test]
fn npm_vs_pnpm() {
    let r = against_npm("pnpm.tgz");
    assert_eq!(r.verdict, Layer::Formatting, "{}", r.summary_line());
    assert_eq!(
        r.reason(Reason::JsonFormat).unwrap().entries,
        vec!["package/package.json".to_owned()]
    );
    assert_eq!(
        r.reason(Reason::ExecBit).unwrap().entries,
        vec!["package/bin/cli.js".to_owned()]
    );
    assert!(r.has(Reason::HeaderEncoding) && r.has(Reason::GzipOs) && r.has(Reason::GzipXfl));
    assert!(!r.has(Reason::EntryOrder) && !r.has(Reason::Mtime));
    let exec_hint = r
        .hints
        .iter()
        .find(|h| h.reason == Reason::ExecBit)
        .unwrap();
    assert!(exec_hint.text.contains("publishConfig.executableFiles"));
}

#[test]
fn npm_vs_yarn_classic() {
    let r = against_npm("yarn-classic.tgz");
    assert_eq!(r.verdict, Layer::Metadata, "{}", r.summary_line());
    assert_eq!(r.reason(Reason::DirEntries).unwrap().entries.len(), 3);
    assert!(r.has(Reason::Mtime) && r.has(Reason::EntryOrder));
    assert!(
        !r.has(Reason::JsonFormat),
        "yarn 1 keeps package.json as on disk"
    );
}

#[test]
fn npm_vs_yarn_berry() {
    let r = against_npm("yarn-berry.tgz");
    assert_eq!(r.verdict, Layer::Formatting, "{}", r.summary_line());
    assert!(r.has(Reason::EntryOrder) && r.has(Reason::Mtime) && r.has(Reason::ExecBit));
}

#[test]
fn crafted_gzip_os() {
    let r = against_npm("crafted/gzip-os.tgz");
    assert_eq!(r.summary_line(), "divergent at gzip-header: gzip-os");
}

#[test]
fn crafted_compression() {
    let r = against_npm("crafted/compression.tgz");
    assert_eq!(r.summary_line(), "divergent at compression: deflate-stream");
    assert_eq!(r.a.tar_sha256, r.b.tar_sha256);
    // Node's (Chromium) zlib is not flate2's engine: no flate2 level reproduces npm's stream.
    let rc = r.recompression.unwrap();
    assert!(rc.a.is_empty(), "{rc:?}");
}

#[test]
fn crafted_exec_bit() {
    let r = against_npm("crafted/exec-bit.tgz");
    assert_eq!(
        r.summary_line(),
        "divergent at metadata: exec-bit on index.js"
    );
}

#[test]
fn crafted_crlf() {
    let r = against_npm("crafted/crlf.tgz");
    assert_eq!(
        r.summary_line(),
        "divergent at formatting: crlf on README.md"
    );
}

#[test]
fn crafted_content() {
    let r = against_npm("crafted/content.tgz");
    assert_eq!(
        r.summary_line(),
        "divergent at content: modified on lib/util.js"
    );
    let byteproof_diff::DiffBody::Text { unified, .. } = &r.file_diffs[0].body else {
        panic!()
    };
    assert!(
        unified.contains("+exports.greet = (name) => `goodbye, ${name}`;"),
        "{unified}"
    );
}
