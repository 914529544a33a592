//! One test per layer and per reason code, on archives crafted byte by byte.

mod support;

use byteproof_diff::{DiffBody, DiffOptions, DiffReport, Layer, Reason, diff};
use support::{Ent, Gz, Style, base, data, gz, gz_with, tar, with};

fn run(a: &[u8], b: &[u8]) -> DiffReport {
    diff(a, b, &DiffOptions::default()).expect("both sides readable")
}

fn codes(r: &DiffReport) -> Vec<Reason> {
    r.reasons.iter().map(|f| f.code).collect()
}

fn entries_of(r: &DiffReport, code: Reason) -> Vec<String> {
    r.reason(code)
        .map(|f| f.entries.clone())
        .unwrap_or_default()
}

/// Compares `base()` with `changed`, both npm-gzipped.
fn tar_pair(changed: Vec<Ent>) -> DiffReport {
    run(&gz(&tar(&base())), &gz(&tar(&changed)))
}

#[test]
fn identical_bytes() {
    let t = gz(&tar(&base()));
    let r = run(&t, &t);
    assert_eq!(r.verdict, Layer::Identical);
    assert!(r.layers.is_empty() && r.reasons.is_empty());
    assert!(r.is_identical());
    assert_eq!(r.summary_line(), "identical");
    assert_eq!(r.a.sha1, r.b.sha1);
    assert!(r.a.integrity.starts_with("sha512-"));
}

fn gzip_field(b: Gz, code: Reason) {
    let t = tar(&base());
    let r = run(&gz(&t), &gz_with(&t, &b));
    assert_eq!(r.verdict, Layer::GzipHeader, "{}", r.summary_line());
    assert_eq!(codes(&r), vec![code]);
    assert_eq!(r.layers, vec![Layer::GzipHeader]);
    assert_eq!(
        r.summary_line(),
        format!("divergent at gzip-header: {code}")
    );
    assert!(r.hints.iter().any(|h| h.reason == code));
}

#[test]
fn gzip_mtime() {
    gzip_field(
        Gz {
            mtime: 1_700_000_000,
            ..Gz::default()
        },
        Reason::GzipMtime,
    );
}

#[test]
fn gzip_os() {
    gzip_field(
        Gz {
            os: 3,
            ..Gz::default()
        },
        Reason::GzipOs,
    );
}

#[test]
fn gzip_xfl() {
    gzip_field(
        Gz {
            xfl: 0,
            ..Gz::default()
        },
        Reason::GzipXfl,
    );
}

#[test]
fn gzip_name() {
    gzip_field(
        Gz {
            name: Some(b"x-1.0.0.tgz".to_vec()),
            ..Gz::default()
        },
        Reason::GzipName,
    );
}

#[test]
fn gzip_extra() {
    gzip_field(
        Gz {
            extra: Some(b"AP\x02\x00hi".to_vec()),
            ..Gz::default()
        },
        Reason::GzipExtra,
    );
}

#[test]
fn gzip_comment() {
    gzip_field(
        Gz {
            comment: Some(b"made by hand".to_vec()),
            ..Gz::default()
        },
        Reason::GzipComment,
    );
}

#[test]
fn gzip_header_fields_are_parsed_verbatim() {
    let t = tar(&base());
    let g = Gz {
        mtime: 0x0102_0304,
        xfl: 4,
        os: 19,
        name: Some(b"n.tar".to_vec()),
        extra: Some(vec![1, 2, 3]),
        comment: Some(b"c".to_vec()),
        hcrc: true,
        level: 1,
    };
    let r = run(&gz(&t), &gz_with(&t, &g));
    let h = &r.b.gzip_members[0].header;
    assert_eq!(
        (h.cm, h.flg, h.mtime, h.xfl, h.os),
        (8, 0x1e, 0x0102_0304, 4, 19)
    );
    assert_eq!(h.extra.as_deref(), Some("010203"));
    assert_eq!(h.name.as_deref(), Some("n.tar"));
    assert_eq!(h.comment.as_deref(), Some("c"));
    assert_eq!(h.header_crc_ok, Some(true));
    assert_eq!(r.b.gzip_members[0].crc_ok, Some(true));
    assert_eq!(r.b.gzip_members[0].isize_ok, Some(true));
    for code in [
        Reason::GzipMtime,
        Reason::GzipOs,
        Reason::GzipXfl,
        Reason::GzipName,
        Reason::GzipExtra,
        Reason::GzipComment,
        Reason::DeflateStream,
    ] {
        assert!(r.has(code), "missing {code}");
    }
}

#[test]
fn deflate_stream_with_recompression_oracle() {
    let t = tar(&base());
    let r = run(
        &gz(&t),
        &gz_with(
            &t,
            &Gz {
                level: 1,
                ..Gz::default()
            },
        ),
    );
    assert_eq!(r.verdict, Layer::Compression);
    assert_eq!(codes(&r), vec![Reason::DeflateStream]);
    let rc = r.recompression.as_ref().expect("recompression ran");
    // The test builder compresses with flate2, whose backend here is the C zlib; on so small
    // an input zlib-rs writes the same level-9 stream, and the first engine tried is named.
    assert_eq!(rc.a, vec!["zlib-rs level 9".to_owned()], "{rc:?}");
    assert_eq!(rc.b, vec!["zlib (C, system) level 1".to_owned()], "{rc:?}");
    assert!(
        r.hints
            .iter()
            .any(|h| h.text.contains("Pin the Node image by digest"))
    );
}

/// An extra engine passed in by the caller is tried first.
#[test]
fn recompression_uses_caller_engines() {
    struct Fake;
    impl byteproof_diff::Compressor for Fake {
        fn name(&self) -> String {
            "fake".into()
        }
        fn deflate(
            &mut self,
            level: u32,
            input: &mut dyn std::io::Read,
            sink: &mut dyn FnMut(&[u8]) -> bool,
        ) -> Result<(), String> {
            let mut data = Vec::new();
            input.read_to_end(&mut data).map_err(|e| e.to_string())?;
            if level == 4 {
                sink(&support::deflate(&data, 1));
            }
            Ok(())
        }
    }
    let t = tar(&base());
    let (a, b) = (
        gz(&t),
        gz_with(
            &t,
            &Gz {
                level: 1,
                ..Gz::default()
            },
        ),
    );
    let mut fake = Fake;
    let r = byteproof_diff::diff_with(&a, &b, &DiffOptions::default(), &mut [&mut fake]).unwrap();
    let rc = r.recompression.unwrap();
    assert_eq!(rc.b, vec!["fake level 4".to_owned()], "{rc:?}");
    assert_eq!(rc.tried[0], "fake");
}

#[test]
fn gzip_members() {
    let t = tar(&base());
    let (first, second) = t.split_at(1024);
    let mut two = gz(first);
    two.extend(gz(second));
    let r = run(&gz(&t), &two);
    assert_eq!(r.verdict, Layer::Compression);
    assert!(r.has(Reason::GzipMembers));
    assert_eq!(r.b.gzip_members.len(), 2);
    assert_eq!(r.a.tar_sha256, r.b.tar_sha256);
}

#[test]
fn trailing_data() {
    let t = gz(&tar(&base()));
    let mut padded = t.clone();
    padded.extend_from_slice(&[0; 16]);
    let r = run(&t, &padded);
    assert_eq!(r.verdict, Layer::Compression);
    assert_eq!(codes(&r), vec![Reason::TrailingData]);
    assert_eq!(r.b.trailing_bytes, 16);
}

#[test]
fn header_encoding() {
    let b: Vec<Ent> = base()
        .into_iter()
        .map(|e| e.style(Style::TarStream))
        .collect();
    let r = tar_pair(b);
    assert_eq!(r.verdict, Layer::TarEncoding, "{}", r.summary_line());
    assert_eq!(codes(&r), vec![Reason::HeaderEncoding]);
    assert_eq!(entries_of(&r, Reason::HeaderEncoding).len(), 5);
    let f = &r.entries[0];
    for field in ["uid", "gid", "size", "mtime"] {
        assert!(
            f.encoding_fields.contains(&field.to_owned()),
            "{:?}",
            f.encoding_fields
        );
    }
    assert!(!f.encoding_fields.contains(&"mode".to_owned()));
}

#[test]
fn header_encoding_gnu_long_name_vs_pax_path() {
    let long = format!("{}/file.js", "d".repeat(120));
    let a = vec![Ent::file(&long, b"x\n").gnu_long()];
    let mut b_entry = Ent::file(&long, b"x\n");
    b_entry.pax.push(("path".into(), format!("package/{long}")));
    let r = run(&gz(&tar(&a)), &gz(&tar(&[b_entry])));
    assert_eq!(r.verdict, Layer::TarEncoding, "{}", r.summary_line());
    assert_eq!(
        entries_of(&r, Reason::HeaderEncoding),
        vec![format!("package/{long}")]
    );
    assert!(
        r.entries[0]
            .encoding_fields
            .contains(&"extension-records".to_owned())
    );
}

#[test]
fn entry_order() {
    let mut b = base();
    b.swap(0, 4);
    let r = tar_pair(b);
    assert_eq!(r.verdict, Layer::Metadata);
    assert_eq!(codes(&r), vec![Reason::EntryOrder]);
    assert!(!entries_of(&r, Reason::EntryOrder).is_empty());
}

#[test]
fn entry_order_ignores_insertions() {
    let mut b = base();
    b.insert(2, Ent::file("extra.js", b"1\n"));
    let r = tar_pair(b);
    assert!(!r.has(Reason::EntryOrder));
    assert_eq!(
        entries_of(&r, Reason::Added),
        vec!["package/extra.js".to_owned()]
    );
}

#[test]
fn mode() {
    let r = tar_pair(with("README.md", |e| e.mode(0o600)));
    assert_eq!(r.verdict, Layer::Metadata);
    assert_eq!(codes(&r), vec![Reason::Mode]);
    assert_eq!(r.entries[0].a.as_ref().unwrap().mode, "0644");
    assert_eq!(r.entries[0].b.as_ref().unwrap().mode, "0600");
}

#[test]
fn exec_bit() {
    let r = tar_pair(with("bin/cli.js", |e| e.mode(0o755)));
    assert_eq!(r.verdict, Layer::Metadata);
    assert_eq!(codes(&r), vec![Reason::ExecBit]);
    assert_eq!(
        entries_of(&r, Reason::ExecBit),
        vec!["package/bin/cli.js".to_owned()]
    );
    assert_eq!(
        r.summary_line(),
        "divergent at metadata: exec-bit on bin/cli.js"
    );
}

#[test]
fn exec_bit_and_mode_together() {
    let r = tar_pair(with("bin/cli.js", |e| e.mode(0o700)));
    assert_eq!(codes(&r), vec![Reason::Mode, Reason::ExecBit]);
}

#[test]
fn summary_line_lists_reasons() {
    let mut b = with("bin/cli.js", |e| e.mode(0o755));
    b.swap(0, 4);
    let r = tar_pair(b);
    assert_eq!(
        r.summary_line(),
        "divergent at metadata: exec-bit on bin/cli.js; entry-order"
    );
}

#[test]
fn uid() {
    let r = tar_pair(with("index.js", |e| e.uid(1000)));
    assert_eq!(codes(&r), vec![Reason::Uid]);
    assert_eq!(r.verdict, Layer::Metadata);
}

#[test]
fn gid() {
    let r = tar_pair(with("index.js", |e| e.gid(1000)));
    assert_eq!(codes(&r), vec![Reason::Gid]);
}

#[test]
fn uname() {
    let r = tar_pair(with("index.js", |e| e.uname("runner")));
    assert_eq!(codes(&r), vec![Reason::Uname]);
}

#[test]
fn gname() {
    let r = tar_pair(with("index.js", |e| e.gname("docker")));
    assert_eq!(codes(&r), vec![Reason::Gname]);
}

#[test]
fn mtime() {
    let r = tar_pair(with("index.js", |e| e.mtime(1_767_323_045)));
    assert_eq!(codes(&r), vec![Reason::Mtime]);
    assert!(
        r.hints
            .iter()
            .any(|h| h.reason == Reason::Mtime && h.text.contains("pnpm"))
    );
}

#[test]
fn entry_type() {
    let mut b = base();
    b[2] = Ent::symlink("index.js", "lib/index.js");
    let r = tar_pair(b);
    assert!(r.has(Reason::EntryType), "{}", r.summary_line());
    assert_eq!(
        entries_of(&r, Reason::EntryType),
        vec!["package/index.js".to_owned()]
    );
}

#[test]
fn dir_entries() {
    let mut b = base();
    b.insert(1, Ent::dir("bin"));
    let r = tar_pair(b);
    assert_eq!(r.verdict, Layer::Metadata);
    assert_eq!(codes(&r), vec![Reason::DirEntries]);
    assert_eq!(
        entries_of(&r, Reason::DirEntries),
        vec!["package/bin/".to_owned()]
    );
}

#[test]
fn pax_records() {
    let r = tar_pair(with("index.js", |e| e.pax("atime", "1700000000.5")));
    assert_eq!(r.verdict, Layer::Metadata);
    assert_eq!(codes(&r), vec![Reason::Pax]);
}

#[test]
fn pax_mtime_overrides_header() {
    let r = tar_pair(with("index.js", |e| e.pax("mtime", "499162500.25")));
    assert_eq!(codes(&r), vec![Reason::Mtime]);
}

fn formatting(path: &str, b_bytes: &[u8], code: Reason) {
    let r = tar_pair(with(path, |e| data(e, b_bytes)));
    assert_eq!(r.verdict, Layer::Formatting, "{}", r.summary_line());
    assert_eq!(codes(&r), vec![code]);
    assert_eq!(r.file_diffs.len(), 1);
    assert_eq!(r.file_diffs[0].reasons, vec![code]);
}

#[test]
fn crlf() {
    formatting("README.md", b"# x\r\n\r\nHello.\r\n", Reason::Crlf);
}

#[test]
fn eof_newline() {
    formatting("README.md", b"# x\n\nHello.", Reason::EofNewline);
}

#[test]
fn trailing_whitespace() {
    formatting(
        "README.md",
        b"# x  \n\nHello.\t\n",
        Reason::TrailingWhitespace,
    );
}

#[test]
fn json_format() {
    formatting(
        "package.json",
        br#"{"version":"1.0.0","name":"x","bin":{"x":"bin/cli.js"}}"#,
        Reason::JsonFormat,
    );
}

#[test]
fn json_format_hint_names_pnpm_for_package_json() {
    let r = tar_pair(with("package.json", |e| {
        data(
            e,
            br#"{"name":"x","version":"1.0.0","bin":{"x":"bin/cli.js"}}"#,
        )
    }));
    let hint = r
        .hints
        .iter()
        .find(|h| h.reason == Reason::JsonFormat)
        .unwrap();
    assert!(hint.text.contains("pnpm"));
}

#[test]
fn modified_text_has_unified_diff() {
    let r = tar_pair(with("index.js", |e| {
        data(e, b"'use strict';\nmodule.exports = 43;\n")
    }));
    assert_eq!(r.verdict, Layer::Content);
    assert_eq!(codes(&r), vec![Reason::Modified]);
    let d = &r.file_diffs[0];
    assert_eq!(d.first_difference, Some(32));
    let DiffBody::Text { unified, truncated } = &d.body else {
        panic!("text expected")
    };
    assert!(!truncated);
    assert!(
        unified.contains("-module.exports = 42;\n+module.exports = 43;"),
        "{unified}"
    );
    assert!(unified.contains("--- a/package/index.js"));
}

#[test]
fn modified_json_has_semantic_diff() {
    let r = tar_pair(with("package.json", |e| {
        data(e, b"{\n  \"name\": \"x\",\n  \"version\": \"1.0.1\",\n  \"bin\": { \"x\": \"bin/cli.js\" },\n  \"main\": \"index.js\"\n}\n")
    }));
    assert_eq!(codes(&r), vec![Reason::Modified]);
    let changes = &r.file_diffs[0].json_changes;
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0].path, "/version");
    assert_eq!(changes[0].change, "changed");
    assert_eq!(changes[0].a.as_deref(), Some("\"1.0.0\""));
    assert_eq!(changes[1].path, "/main");
    assert_eq!(changes[1].change, "added");
}

#[test]
fn modified_binary_is_summarised() {
    let mut a = base();
    a.push(Ent::file("logo.bin", &[0, 1, 2, 3, 4, 5]));
    let mut b = base();
    b.push(Ent::file("logo.bin", &[0, 1, 2, 9, 4, 5, 6]));
    let r = run(&gz(&tar(&a)), &gz(&tar(&b)));
    let d = &r.file_diffs[0];
    assert_eq!(d.body, DiffBody::Binary { over_cap: false });
    assert_eq!(
        (d.a_size, d.b_size, d.first_difference),
        (Some(6), Some(7), Some(3))
    );
    assert_ne!(d.a_sha256, d.b_sha256);
}

#[test]
fn added_and_removed() {
    let mut b = base();
    b.remove(4);
    b.push(Ent::file("CHANGELOG.md", b"# 1.0.0\n"));
    let r = tar_pair(b);
    assert_eq!(r.verdict, Layer::Content);
    assert_eq!(
        entries_of(&r, Reason::Added),
        vec!["package/CHANGELOG.md".to_owned()]
    );
    assert_eq!(
        entries_of(&r, Reason::Removed),
        vec!["package/README.md".to_owned()]
    );
    assert!(
        r.summary_line().starts_with("divergent at content: "),
        "{}",
        r.summary_line()
    );
}

#[test]
fn every_layer_is_listed() {
    let mut b = with("bin/cli.js", |e| e.mode(0o755));
    b[2] = Ent::file("index.js", b"changed\n");
    let r = run(
        &gz(&tar(&base())),
        &gz_with(
            &tar(&b),
            &Gz {
                os: 3,
                ..Gz::default()
            },
        ),
    );
    assert_eq!(r.verdict, Layer::Content);
    assert_eq!(
        r.layers,
        vec![Layer::GzipHeader, Layer::Metadata, Layer::Content]
    );
}

#[test]
fn report_serialises_with_kebab_case_names() {
    let r = tar_pair(with("bin/cli.js", |e| e.mode(0o755)));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["verdict"], "metadata");
    assert_eq!(json["reasons"][0]["code"], "exec-bit");
    assert_eq!(json["a"]["producer"]["producer"], "npm");
    assert_eq!(json["a"]["gzip"]["os"], 255);
    assert_eq!(json["b"]["gzip"]["xfl"], 2);
    assert_eq!(json["a"]["gzip_members"][0]["header"]["os"], 255);
    assert!(json["a"]["sha256"].as_str().unwrap().len() == 64);
}

#[test]
fn gnu_long_link_vs_pax_linkpath() {
    let target = format!("{}/target.js", "t".repeat(120));
    let a = vec![Ent::symlink("link.js", &target).gnu_long()];
    let b = vec![Ent::symlink("link.js", &target).pax("linkpath", &target)];
    let r = run(&gz(&tar(&a)), &gz(&tar(&b)));
    assert_eq!(r.verdict, Layer::TarEncoding, "{}", r.summary_line());
    assert_eq!(codes(&r), vec![Reason::HeaderEncoding]);
}

#[test]
fn symlink_target_change_is_content() {
    let a = vec![Ent::symlink("link.js", "a.js")];
    let b = vec![Ent::symlink("link.js", "b.js")];
    let r = run(&gz(&tar(&a)), &gz(&tar(&b)));
    assert_eq!(codes(&r), vec![Reason::Modified]);
}

#[test]
fn global_pax_header() {
    let t = tar(&base());
    let mut with_global = support::global_pax(&[("comment", "built by CI")]);
    with_global.extend_from_slice(&t);
    let r = run(&gz(&t), &gz(&with_global));
    assert_eq!(r.verdict, Layer::Metadata, "{}", r.summary_line());
    assert_eq!(
        entries_of(&r, Reason::Pax),
        vec!["(global PAX header)".to_owned()]
    );
    assert_eq!(r.b.entries, 5);
}

#[test]
fn end_of_archive_padding_is_encoding() {
    let t = tar(&base());
    let mut padded = t.clone();
    padded.resize(10240, 0); // GNU tar pads to a 10 KiB record
    let r = run(&gz(&t), &gz(&padded));
    assert_eq!(r.verdict, Layer::TarEncoding, "{}", r.summary_line());
    assert_eq!(
        entries_of(&r, Reason::HeaderEncoding),
        vec!["(end of archive)".to_owned()]
    );
}
