//! The recompression oracle names each engine for the bytes it produced, on a tarball large
//! enough that the engines write different streams.

mod support;

use byteproof_diff::recompress::{self, Compressor, MinizOxide, NodeZlib, ZlibC, ZlibRs};
use byteproof_diff::{DiffOptions, Layer, diff_with};
use support::{Ent, gz_body, tar};

/// About 250 KB of source-like text in 10 files.
fn big_tar() -> Vec<u8> {
    let words = [
        "const", "value", "return", "=>", "{", "}", ";", "module", "exports",
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let entries: Vec<Ent> = (0..10)
        .map(|i| {
            let mut text = String::new();
            while text.len() < 25_000 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(words[state as usize % words.len()]);
                text.push(if state % 7 == 0 { '\n' } else { ' ' });
            }
            Ent::file(&format!("lib/f{i}.js"), text.as_bytes())
        })
        .collect();
    tar(&entries)
}

fn node() -> NodeZlib {
    let node = NodeZlib::new("node");
    assert!(
        node.works(),
        "the test suite needs node (cargo xtask test installs it)"
    );
    node
}

/// Each engine's level-9 and level-6 streams are attributed to that engine, with the
/// reference side made by another engine so both sides differ in deflate only.
#[test]
fn each_engine_is_named_for_its_own_bytes() {
    let t = big_tar();
    let mut engines: Vec<Box<dyn Compressor>> = vec![
        Box::new(node()),
        Box::new(ZlibRs),
        Box::new(ZlibC),
        Box::new(MinizOxide),
    ];
    let names: Vec<String> = engines.iter().map(|e| e.name()).collect();
    for level in [9, 6] {
        let streams: Vec<Vec<u8>> = engines
            .iter_mut()
            .map(|e| recompress::deflate_to_vec(&mut **e, level, &t).unwrap())
            .collect();
        for (i, s) in streams.iter().enumerate() {
            for (j, other) in streams.iter().enumerate().skip(i + 1) {
                assert_ne!(
                    s, other,
                    "{} and {} agree at level {level}",
                    names[i], names[j]
                );
            }
        }
        for (i, stream) in streams.iter().enumerate() {
            let reference = &streams[(i + 1) % streams.len()];
            let (a, b) = (gz_body(&t, stream), gz_body(&t, reference));
            let mut node = node();
            let report = diff_with(&a, &b, &DiffOptions::default(), &mut [&mut node]).unwrap();
            assert_eq!(report.verdict, Layer::Compression);
            let rc = report.recompression.expect("recompression ran");
            assert_eq!(rc.a, vec![format!("{} level {level}", names[i])], "{rc:?}");
        }
    }
}

/// Bytes no engine makes get "no match", with every engine listed as tried.
#[test]
fn unknown_bytes_match_nothing() {
    let t = big_tar();
    // A stored (level 0) stream cut into small blocks, as no packer writes.
    let mut stored = Vec::new();
    let chunks: Vec<&[u8]> = t.chunks(1000).collect();
    for (n, chunk) in chunks.iter().enumerate() {
        stored.push(u8::from(n + 1 == chunks.len()));
        stored.extend_from_slice(&(chunk.len() as u16).to_le_bytes());
        stored.extend_from_slice(&(!(chunk.len() as u16)).to_le_bytes());
        stored.extend_from_slice(chunk);
    }
    let theirs = recompress::deflate_to_vec(&mut ZlibRs, 9, &t).unwrap();
    let report = diff_with(
        &gz_body(&t, &stored),
        &gz_body(&t, &theirs),
        &DiffOptions::default(),
        &mut [],
    )
    .unwrap();
    let rc = report.recompression.expect("recompression ran");
    assert!(rc.a.is_empty(), "{rc:?}");
    assert_eq!(rc.tried.len(), 3, "{rc:?}");
}
