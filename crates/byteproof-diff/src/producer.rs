//! Producer fingerprint: which packer (npm, pnpm, yarn classic, yarn berry) most likely made a
//! tarball, from evidence in its bytes.
//!
//! Each clue adds or removes points for the packers it fits or contradicts; the best score wins
//! when it is unique and strong enough, otherwise the producer is `unknown`. Every clue is kept
//! as evidence so a person can check the reasoning.

use serde::Serialize;

use crate::scan::SideScan;
use crate::tar::{EntryKind, UID_FIELD};

/// A packer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Producer {
    /// `npm pack` (pacote + node-tar, portable mode, level 9).
    Npm,
    /// `pnpm pack` (tar-stream, Node createGzip).
    Pnpm,
    /// `yarn pack` from yarn 1.x.
    YarnClassic,
    /// `yarn pack` from yarn 2+.
    YarnBerry,
    /// No packer matched well enough.
    Unknown,
}

impl Producer {
    /// The kebab-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Producer::Npm => "npm",
            Producer::Pnpm => "pnpm",
            Producer::YarnClassic => "yarn-classic",
            Producer::YarnBerry => "yarn-berry",
            Producer::Unknown => "unknown",
        }
    }
}

/// The fingerprint of one side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fingerprint {
    /// The best match.
    pub producer: Producer,
    /// Score per packer, in the order npm, pnpm, yarn-classic, yarn-berry.
    pub scores: [i32; 4],
    /// The clues, in words.
    pub evidence: Vec<String>,
}

/// npm ≥ 6, pnpm and bun: 1985-10-26T08:15:00Z.
pub const NPM_MTIME: i64 = 499_162_500;
/// Current yarn berry: 1984-06-22T21:50:00Z.
pub const YARN_BERRY_MTIME: i64 = 456_789_000;
/// Older yarn berry: 1980-01-01T00:00:00Z.
pub const YARN_BERRY_MTIME_1980: i64 = 315_532_800;
/// Older yarn berry's milliseconds bug: 1970-01-04T15:38:52Z.
pub const YARN_BERRY_MTIME_MS_BUG: i64 = 315_532;

const NPM: usize = 0;
const PNPM: usize = 1;
const YARN1: usize = 2;
const BERRY: usize = 3;
const ALL: [usize; 4] = [NPM, PNPM, YARN1, BERRY];

struct Scorer {
    scores: [i32; 4],
    evidence: Vec<String>,
}

impl Scorer {
    fn clue(&mut self, text: String, points: &[(usize, i32)]) {
        for &(who, p) in points {
            self.scores[who] += p;
        }
        self.evidence.push(text);
    }
}

/// Fingerprints one side from its gzip layer and entry records.
pub(crate) fn fingerprint(side: &SideScan) -> Fingerprint {
    let gz = &side.gzip;
    let mut s = Scorer {
        scores: [0; 4],
        evidence: Vec::new(),
    };
    if let Some(first) = gz.members.first() {
        let h = &first.header;
        match (h.xfl, h.os) {
            (2, 255) => s.clue(
                "gzip XFL 2 (level 9) with OS 255: minizlib in portable mode, as npm writes".into(),
                &[(NPM, 3), (PNPM, -2), (YARN1, -2), (BERRY, -2)],
            ),
            (0, 3 | 10 | 19) => s.clue(
                format!(
                    "gzip XFL 0 with OS {} ({}): Node createGzip at the default level",
                    h.os,
                    h.os_name()
                ),
                &[(NPM, -2), (PNPM, 1), (YARN1, 1), (BERRY, 1)],
            ),
            (xfl, os) => s.clue(
                format!("gzip XFL {xfl} with OS {os}: no packer's default"),
                &[(NPM, -1), (PNPM, -1), (YARN1, -1), (BERRY, -1)],
            ),
        }
        if h.mtime != 0 || h.name.is_some() || h.comment.is_some() || h.extra.is_some() {
            s.clue(
                "gzip MTIME, FNAME, FCOMMENT or FEXTRA set: compressed by a gzip tool, not a packer".into(),
                &ALL.map(|w| (w, -4)),
            );
        }
    }
    if gz.members.len() > 1 || gz.trailing_len > 0 {
        s.clue(
            "several gzip members or trailing bytes: not a packer's own output".into(),
            &ALL.map(|w| (w, -4)),
        );
    }
    let entries = &side.tar.entries;
    let Some(first_header) = side.tar.first_header.as_deref() else {
        return finish(s);
    };
    if entries.is_empty() {
        return finish(s);
    }
    if entries
        .iter()
        .all(|e| e.path.starts_with("package/") || &*e.path == "package")
    {
        s.clue("every path under `package/`".into(), &ALL.map(|w| (w, 1)));
    } else {
        s.clue(
            "paths not all under `package/`: not packed by an npm-family packer".into(),
            &ALL.map(|w| (w, -3)),
        );
    }
    let files: Vec<_> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .collect();
    let dirs = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Directory)
        .count();
    if dirs > 0 {
        s.clue(
            format!("{dirs} directory entries: yarn classic writes them, npm, pnpm and yarn berry do not"),
            &[(NPM, -3), (PNPM, -3), (YARN1, 3), (BERRY, -3)],
        );
    } else if files.len() > 1 {
        s.clue("no directory entries".into(), &[(YARN1, -1)]);
    }
    // mtimes
    let mtimes: Vec<i64> = files.iter().map(|e| e.mtime).collect();
    let all = |t: i64| !mtimes.is_empty() && mtimes.iter().all(|&m| m == t);
    if all(NPM_MTIME) {
        s.clue(
            "every file mtime is 1985-10-26T08:15:00Z (npm >= 6, pnpm, bun)".into(),
            &[(NPM, 2), (PNPM, 2), (YARN1, -3), (BERRY, -3)],
        );
    } else if all(YARN_BERRY_MTIME) {
        s.clue(
            "every file mtime is 1984-06-22T21:50:00Z (yarn berry)".into(),
            &[(NPM, -3), (PNPM, -3), (YARN1, -3), (BERRY, 4)],
        );
    } else if all(YARN_BERRY_MTIME_1980) || all(YARN_BERRY_MTIME_MS_BUG) {
        s.clue(
            "every file mtime is 1980-01-01 or 1970-01-04T15:38:52Z (older yarn berry)".into(),
            &[(NPM, -3), (PNPM, -3), (YARN1, -3), (BERRY, 4)],
        );
    } else if !mtimes.is_empty() {
        s.clue(
            "file mtimes are not a packer constant: real times from the file system (yarn classic, npm <= 5.6, plain tar)".into(),
            &[(NPM, -3), (PNPM, -3), (YARN1, 2), (BERRY, -3)],
        );
    }
    // header field encodings
    let first_uid = first_header[108..116].to_vec();
    let uid_hash = entries[0].field_hashes[UID_FIELD];
    if entries
        .iter()
        .all(|e| e.field_hashes[UID_FIELD] == uid_hash)
    {
        if first_uid.iter().all(|&b| b == 0) {
            s.clue(
                "uid/gid fields are all NUL bytes: node-tar portable mode (npm)".into(),
                &[(NPM, 2), (PNPM, -2), (YARN1, -2), (BERRY, -2)],
            );
        } else if first_uid == b"000000 \0" {
            s.clue(
                "uid/gid fields are `000000 \\0` (tar-stream style: pnpm, yarn)".into(),
                &[(NPM, -2), (PNPM, 1), (YARN1, 1), (BERRY, 1)],
            );
        } else {
            s.clue(
                format!(
                    "uid field encoded as {:?}",
                    String::from_utf8_lossy(&first_uid)
                ),
                &[],
            );
        }
    }
    let mtime_field = &first_header[136..148];
    if mtime_field[11] == 0 && mtime_field[10] == b' ' {
        s.clue(
            "mtime field ends in ` \\0` (node-tar style)".into(),
            &[(NPM, 1)],
        );
    } else if mtime_field[11] == b' ' && mtime_field[..11].iter().all(u8::is_ascii_digit) {
        s.clue(
            "mtime field is 11 octal digits and a space (tar-stream style)".into(),
            &[(PNPM, 1), (BERRY, 1), (YARN1, 1)],
        );
    }
    // entry order (files only)
    let paths: Vec<&str> = files.iter().map(|e| &*e.path).collect();
    let npm_sorted = paths
        .windows(2)
        .all(|w| npm_sort_key(w[0]) <= npm_sort_key(w[1]));
    let byte_sorted = paths.windows(2).all(|w| w[0] <= w[1]);
    match (npm_sorted, byte_sorted) {
        (true, false) => s.clue(
            "files sorted by extension then name (npm-packlist order: npm, pnpm)".into(),
            &[(NPM, 1), (PNPM, 1), (BERRY, -2)],
        ),
        (false, true) => s.clue(
            "files in plain byte order (yarn berry)".into(),
            &[(NPM, -2), (PNPM, -2), (BERRY, 2)],
        ),
        (true, true) => s.clue("file order fits both npm's sort and byte order".into(), &[]),
        (false, false) => s.clue(
            "files neither in npm's order nor in byte order (readdir order: yarn classic, or another tool)".into(),
            &[(NPM, -1), (PNPM, -1), (BERRY, -1)],
        ),
    }
    // package.json style
    if let Some(pj) = &side.package_json {
        if pj.last == Some(b'\n') {
            s.clue(
                "package.json ends with a newline (kept as on disk: npm, yarn classic)".into(),
                &[(NPM, 1), (YARN1, 1), (PNPM, -1), (BERRY, -1)],
            );
        } else if pj.head.starts_with(b"{\n  \"") {
            s.clue(
                "package.json is 2-space JSON without a final newline (re-serialised: pnpm, yarn berry)".into(),
                &[(PNPM, 2), (BERRY, 2), (NPM, -1), (YARN1, -1)],
            );
        }
    }
    finish(s)
}

fn finish(s: Scorer) -> Fingerprint {
    let best = *s.scores.iter().max().unwrap_or(&0);
    let winners: Vec<usize> = (0..4).filter(|&i| s.scores[i] == best).collect();
    let producer = if best >= 4 && winners.len() == 1 {
        [
            Producer::Npm,
            Producer::Pnpm,
            Producer::YarnClassic,
            Producer::YarnBerry,
        ][winners[0]]
    } else {
        Producer::Unknown
    };
    Fingerprint {
        producer,
        scores: s.scores,
        evidence: s.evidence,
    }
}

/// An approximation of npm-packlist's sort key: lower-cased extension, lower-cased basename,
/// then the lower-cased full path.
pub fn npm_sort_key(path: &str) -> (String, String, String) {
    let base = path.rsplit('/').next().unwrap_or(path);
    let ext = match base.rfind('.') {
        Some(i) if i > 0 => &base[i + 1..],
        _ => "",
    };
    (ext.to_lowercase(), base.to_lowercase(), path.to_lowercase())
}
