//! Hostile and broken input: a typed error or a finding, never a panic.

mod support;

use byteproof_diff::{Caps, DiffError, DiffOptions, GzipError, Layer, Side, TarError, diff};
use support::{Ent, base, gz, tar};

fn opts(caps: Caps) -> DiffOptions {
    DiffOptions {
        caps,
        recompress: true,
    }
}

fn good() -> Vec<u8> {
    gz(&tar(&base()))
}

#[test]
fn not_gzip() {
    let err = diff(&good(), b"PK\x03\x04 a zip file", &DiffOptions::default()).unwrap_err();
    assert_eq!(
        err,
        DiffError::Gzip {
            side: Side::B,
            source: GzipError::NotGzip
        }
    );
    assert_eq!(
        err.to_string(),
        "side b: not gzip: the first bytes are not 1f 8b"
    );
}

#[test]
fn empty_input() {
    let err = diff(b"", &good(), &DiffOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DiffError::Gzip {
                side: Side::A,
                source: GzipError::NotGzip
            }
        ),
        "{err:?}"
    );
}

#[test]
fn truncated_gzip() {
    let g = good();
    for cut in [5, 12, g.len() / 2, g.len() - 4] {
        let err = diff(&g, &g[..cut], &DiffOptions::default()).unwrap_err();
        assert!(
            matches!(
                err,
                DiffError::Gzip {
                    side: Side::B,
                    source: GzipError::Truncated { .. }
                }
            ),
            "cut {cut}: {err:?}"
        );
    }
}

#[test]
fn corrupt_deflate() {
    let mut g = good();
    g[10] = 0xff; // an invalid block type
    g[11] = 0xff;
    let err = diff(&good(), &g, &DiffOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DiffError::Gzip {
                source: GzipError::Corrupt { .. } | GzipError::Truncated { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn unsupported_method_and_reserved_flags() {
    let mut g = good();
    g[2] = 7;
    assert!(matches!(
        diff(&g, &good(), &DiffOptions::default()),
        Err(DiffError::Gzip {
            source: GzipError::UnsupportedMethod(7),
            ..
        })
    ));
    let mut g = good();
    g[3] = 0x80;
    assert!(matches!(
        diff(&g, &good(), &DiffOptions::default()),
        Err(DiffError::Gzip {
            source: GzipError::ReservedFlags { .. },
            ..
        })
    ));
}

#[test]
fn not_tar() {
    let err = diff(
        &good(),
        &gz(&b"just some text, not a tar archive\n".repeat(40)),
        &DiffOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        DiffError::Tar {
            side: Side::B,
            source: TarError::NotTar
        }
    );
}

#[test]
fn bad_checksum_after_first_entry() {
    let mut entries = base();
    entries[2] = entries[2].clone().bad_checksum();
    let err = diff(&good(), &gz(&tar(&entries)), &DiffOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DiffError::Tar {
                source: TarError::BadChecksum { offset: 2048, .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn lying_size() {
    let mut entries = base();
    entries[4] = entries[4].clone().lie_size(1 << 29);
    let err = diff(&good(), &gz(&tar(&entries)), &DiffOptions::default()).unwrap_err();
    assert!(
        matches!(&err, DiffError::Tar { source: TarError::Truncated { path, size, .. }, .. } if path == "package/README.md" && *size == 1 << 29),
        "{err:?}"
    );
}

#[test]
fn lying_isize_is_a_warning() {
    let mut g = good();
    let n = g.len();
    g[n - 1] ^= 0x01;
    let r = diff(&good(), &g, &DiffOptions::default()).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.side == Side::B && w.code == "gzip-isize-mismatch")
    );
    assert_eq!(r.b.gzip_members[0].isize_ok, Some(false));
}

#[test]
fn crc_mismatch_is_a_warning() {
    let mut g = good();
    let n = g.len();
    g[n - 8] ^= 0x01;
    let r = diff(&good(), &g, &DiffOptions::default()).unwrap();
    assert!(r.warnings.iter().any(|w| w.code == "gzip-crc-mismatch"));
    assert_eq!(
        r.verdict,
        Layer::Compression,
        "trailer bytes are member framing"
    );
}

#[test]
fn gzip_bomb_stops_at_the_cap() {
    // 64 MiB of zeros compress to about 64 KiB.
    let mut entries = base();
    entries.push(Ent::file("bomb.bin", &vec![0u8; 64 << 20]));
    let bomb = gz(&tar(&entries));
    assert!(bomb.len() < 1 << 20);
    let caps = Caps {
        max_decompressed_bytes: 1 << 20,
        ..Caps::default()
    };
    let r = diff(&good(), &bomb, &opts(caps)).unwrap();
    assert!(r.truncated);
    assert!(
        r.caps_hit
            .iter()
            .any(|c| c.cap == "decompressed-size" && c.side == Some(Side::B) && c.limit == 1 << 20)
    );
    assert_eq!(r.b.tar_size, 1 << 20);
    assert_eq!(r.b.entries, 5, "entries before the bomb are still read");
    assert!(r.summary_line().contains("truncated"));
}

#[test]
fn entry_count_cap() {
    let entries: Vec<Ent> = (0..50)
        .map(|i| Ent::file(&format!("f{i}.js"), b"x\n"))
        .collect();
    let caps = Caps {
        max_entries: 10,
        ..Caps::default()
    };
    let t = gz(&tar(&entries));
    let r = diff(&t, &t, &opts(caps)).unwrap();
    assert_eq!(r.a.entries, 10);
    assert!(r.truncated && r.caps_hit.iter().any(|c| c.cap == "entries"));
}

#[test]
fn parent_and_absolute_paths_are_flagged() {
    let entries = vec![
        Ent::file("x", b"1").raw_path(b"package/../../etc/passwd"),
        Ent::file("x", b"2").raw_path(b"/etc/shadow"),
    ];
    let r = diff(&good(), &gz(&tar(&entries)), &DiffOptions::default()).unwrap();
    let unsafe_paths: Vec<_> = r
        .warnings
        .iter()
        .filter(|w| w.code == "unsafe-path")
        .filter_map(|w| w.entry.clone())
        .collect();
    assert_eq!(
        unsafe_paths,
        vec![
            "package/../../etc/passwd".to_owned(),
            "/etc/shadow".to_owned()
        ]
    );
    assert_eq!(r.verdict, Layer::Content);
}

#[test]
fn huge_pax_record_stops_at_the_cap() {
    let mut entries = base();
    entries.insert(
        1,
        Ent::file("big.js", b"1").pax("comment", &"A".repeat(200_000)),
    );
    let caps = Caps {
        max_extension_bytes: 64 * 1024,
        ..Caps::default()
    };
    let r = diff(&good(), &gz(&tar(&entries)), &opts(caps)).unwrap();
    assert!(r.truncated);
    assert!(
        r.caps_hit
            .iter()
            .any(|c| c.cap == "extension-size" && c.limit == 64 * 1024)
    );
    assert_eq!(r.b.entries, 1, "the entry before the record is kept");
}

#[test]
fn malformed_pax_record() {
    let mut t = tar(&[Ent::file("a.js", b"1").pax("path", "package/a.js")]);
    // Corrupt the record's length prefix ("25 path=..." becomes "9x path=...").
    let at = 512;
    t[at] = b'9';
    t[at + 1] = b'x';
    let err = diff(&good(), &gz(&t), &DiffOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            DiffError::Tar {
                source: TarError::BadPax { offset: 0 },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn non_utf8_names() {
    let entries = vec![Ent::file("x", b"1").raw_path(b"package/caf\xe9.js")];
    let r = diff(
        &gz(&tar(&entries)),
        &gz(&tar(&entries)),
        &DiffOptions::default(),
    )
    .unwrap();
    let w = r
        .warnings
        .iter()
        .find(|w| w.code == "non-utf8-path")
        .unwrap();
    assert_eq!(w.entry.as_deref(), Some("package/caf\u{fffd}.js"));
}

#[test]
fn duplicate_entries_are_flagged() {
    let mut entries = base();
    entries.push(Ent::file("index.js", b"second copy\n"));
    let r = diff(&good(), &gz(&tar(&entries)), &DiffOptions::default()).unwrap();
    assert!(r.warnings.iter().any(|w| w.code == "duplicate-entry"));
    assert!(
        r.has(byteproof_diff::Reason::Modified),
        "the last copy is compared"
    );
}

#[test]
fn per_file_diff_cap() {
    let big_a = "line\n".repeat(10_000);
    let big_b = "line\n".repeat(9_999) + "changed\n";
    let a = vec![Ent::file("big.txt", big_a.as_bytes())];
    let b = vec![Ent::file("big.txt", big_b.as_bytes())];
    let caps = Caps {
        max_file_diff_bytes: 1024,
        ..Caps::default()
    };
    let r = diff(&gz(&tar(&a)), &gz(&tar(&b)), &opts(caps)).unwrap();
    assert_eq!(
        r.file_diffs[0].body,
        byteproof_diff::DiffBody::Binary { over_cap: true }
    );
    assert_eq!(r.file_diffs[0].first_difference, Some(49_995));
    assert!(
        r.caps_hit
            .iter()
            .any(|c| c.cap == "file-diff-size" && c.entry.as_deref() == Some("package/big.txt"))
    );
}

#[test]
fn diff_output_cap() {
    let a: String = (0..2000).map(|i| format!("a{i}\n")).collect();
    let b: String = (0..2000).map(|i| format!("b{i}\n")).collect();
    let caps = Caps {
        max_diff_output_bytes: 500,
        ..Caps::default()
    };
    let r = diff(
        &gz(&tar(&[Ent::file("t.txt", a.as_bytes())])),
        &gz(&tar(&[Ent::file("t.txt", b.as_bytes())])),
        &opts(caps),
    )
    .unwrap();
    let byteproof_diff::DiffBody::Text { unified, truncated } = &r.file_diffs[0].body else {
        panic!()
    };
    assert!(*truncated && unified.len() <= 500);
}

#[test]
fn random_garbage_never_panics() {
    // A tiny xorshift so the inputs are the same on every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let g = good();
    for round in 0..300 {
        let mut bytes = g.clone();
        for _ in 0..(1 + round % 4) {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        let _ = diff(&g, &bytes, &DiffOptions::default());
        let t = tar(&base());
        let mut t2 = t.clone();
        let i = (next() as usize) % t2.len();
        t2[i] = next() as u8;
        let _ = diff(&gz(&t), &gz(&t2), &DiffOptions::default());
    }
}

#[test]
fn many_entries_one_moved() {
    let a: Vec<Ent> = (0..20_000)
        .map(|i| Ent::file(&format!("f{i:05}.js"), b"x\n"))
        .collect();
    let mut b = a.clone();
    let moved = b.remove(10);
    b.push(moved);
    let (ga, gb) = (gz(&tar(&a)), gz(&tar(&b)));
    let r = diff(&ga, &gb, &DiffOptions::default()).unwrap();
    assert_eq!(r.verdict, Layer::Metadata);
    let order = r.reason(byteproof_diff::Reason::EntryOrder).unwrap();
    assert_eq!(order.entries, vec!["package/f00010.js".to_owned()]);
}

/// A file too large to show is still classified exactly (streamed), and its first difference
/// is still exact.
#[test]
fn large_files_are_classified_on_a_stream() {
    let lf: String = (0..60_000).map(|i| format!("line {i}\n")).collect();
    let crlf = lf.replace('\n', "\r\n");
    let r = diff(
        &gz(&tar(&[Ent::file("big.txt", lf.as_bytes())])),
        &gz(&tar(&[Ent::file("big.txt", crlf.as_bytes())])),
        &DiffOptions::default(),
    )
    .unwrap();
    assert!(
        lf.len() > 512 * 1024,
        "the file is over the 1 MiB cap on both sides together"
    );
    assert_eq!(r.summary_line(), "divergent at formatting: crlf on big.txt");
    let edited = lf.replacen("line 50000\n", "line 5000O\n", 1);
    let caps = Caps {
        max_file_diff_bytes: 64 * 1024,
        ..Caps::default()
    };
    let r = diff(
        &gz(&tar(&[Ent::file("big.txt", lf.as_bytes())])),
        &gz(&tar(&[Ent::file("big.txt", edited.as_bytes())])),
        &opts(caps),
    )
    .unwrap();
    assert_eq!(r.verdict, Layer::Content);
    let expected = lf.find("line 50000\n").unwrap() as u64 + 9;
    assert_eq!(r.file_diffs[0].first_difference, Some(expected));
    assert_eq!(
        r.file_diffs[0].body,
        byteproof_diff::DiffBody::Binary { over_cap: true }
    );
}

/// Past the listing cap, entries are counted in the reasons but not listed one by one.
#[test]
fn listing_cap_keeps_the_report_bounded() {
    let a: Vec<Ent> = (0..300)
        .map(|i| Ent::file(&format!("f{i}.js"), b"x\n"))
        .collect();
    let caps = Caps {
        max_listed_entries: 100,
        ..Caps::default()
    };
    let r = diff(&good(), &gz(&tar(&a)), &opts(caps)).unwrap();
    assert_eq!(r.entries.len(), 100);
    assert_eq!(r.file_diffs.len(), 100);
    assert_eq!(
        r.reason(byteproof_diff::Reason::Added)
            .unwrap()
            .entries
            .len(),
        300
    );
    assert!(!r.truncated, "every entry was compared");
    assert!(r.caps_hit.iter().any(|c| c.cap == "listed-entries"));
}
