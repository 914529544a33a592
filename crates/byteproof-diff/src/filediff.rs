//! File-level comparison: is a change only formatting (line endings, final newline, trailing
//! whitespace, JSON serialisation), and if not, what changed — a unified text diff, a semantic
//! JSON diff, or a binary summary (sizes, hashes, first differing offset).
//!
//! Text versus binary is decided by content (valid UTF-8 without NUL bytes), never by extension.
//! Whether a change is formatting only is decided on [`TextProfile`]s, so files too large to
//! hold get the same classification as small ones; only their text is not shown.

use serde::Serialize;
use serde_json::Value;

use crate::normalize::{TextProfile, formatting_reasons};
use crate::terms::Reason;

/// How a changed file is shown.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum DiffBody {
    /// A unified diff of text files.
    Text {
        /// The unified diff (`---`/`+++` headers and hunks), possibly cut at the output cap.
        unified: String,
        /// The diff was cut at the output cap.
        truncated: bool,
    },
    /// A summary for binary files, or for files too large to diff.
    Binary {
        /// The files were too large for a text diff (per-file cap), not binary.
        over_cap: bool,
    },
}

/// One key path that changed in a JSON file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JsonChange {
    /// A JSON pointer such as `/scripts/test`.
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// Value on side A, as compact JSON (cut at 200 characters).
    pub a: Option<String>,
    /// Value on side B.
    pub b: Option<String>,
}

/// What changed in one regular file present on both sides, or only on one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileDiff {
    /// Entry path.
    pub path: String,
    /// The reason codes this file contributed (`modified`, `crlf`, `added` …).
    pub reasons: Vec<Reason>,
    /// Size on side A.
    pub a_size: Option<u64>,
    /// Size on side B.
    pub b_size: Option<u64>,
    /// SHA-256 on side A.
    pub a_sha256: Option<String>,
    /// SHA-256 on side B.
    pub b_sha256: Option<String>,
    /// First byte offset where the two differ.
    pub first_difference: Option<u64>,
    /// Semantic changes when both sides parse as JSON.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub json_changes: Vec<JsonChange>,
    /// The textual or binary body.
    pub body: DiffBody,
}

impl FileDiff {
    /// A summary (sizes, hashes, no text) of a file too large, or beyond the budget, to show.
    pub(crate) fn summary(path: &str, a: &crate::tar::TarEntry, b: &crate::tar::TarEntry) -> Self {
        Self {
            path: path.to_owned(),
            reasons: vec![Reason::Modified],
            a_size: Some(a.size),
            b_size: Some(b.size),
            a_sha256: Some(byteproof_hash::hex(&a.sha256)),
            b_sha256: Some(byteproof_hash::hex(&b.sha256)),
            first_difference: None,
            json_changes: Vec::new(),
            body: DiffBody::Binary { over_cap: true },
        }
    }
}

/// Caps for file diffs.
#[derive(Clone, Copy, Debug)]
pub struct FileDiffLimits {
    /// Files larger than this (either side) get a binary-style summary instead of a text diff.
    pub max_file_bytes: u64,
    /// Unified diff output is cut after this many bytes.
    pub max_output_bytes: usize,
    /// At most this many JSON key changes are listed.
    pub max_json_changes: usize,
}

/// Whether bytes look like text: valid UTF-8 and no NUL byte.
pub fn is_text(bytes: &[u8]) -> bool {
    !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

fn is_json_path(path: &str) -> bool {
    path.to_ascii_lowercase().ends_with(".json")
}

/// Classifies two different byte strings of one file: the formatting reasons that fully
/// explain the difference, or `[Modified]`.
pub fn classify(path: &str, a: &[u8], b: &[u8]) -> Vec<Reason> {
    let json_equal = || json_values_equal(path, a, b);
    classify_profiles(&TextProfile::of(a), &TextProfile::of(b), json_equal)
}

/// [`classify`] from the two sides' profiles; `json_equal` is asked only when normalising
/// whitespace does not explain the difference.
pub(crate) fn classify_profiles(
    a: &TextProfile,
    b: &TextProfile,
    json_equal: impl FnOnce() -> bool,
) -> Vec<Reason> {
    if let Some(reasons) = formatting_reasons(a, b) {
        return reasons;
    }
    if a.text && b.text && json_equal() {
        return vec![Reason::JsonFormat];
    }
    vec![Reason::Modified]
}

/// Whether a `.json` path's two byte strings parse to the same JSON value.
pub(crate) fn json_values_equal(path: &str, a: &[u8], b: &[u8]) -> bool {
    is_json_path(path)
        && matches!(
            (serde_json::from_slice::<Value>(a), serde_json::from_slice::<Value>(b)),
            (Ok(va), Ok(vb)) if va == vb
        )
}

/// First offset where two byte strings differ (or the shorter length).
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<u64> {
    if a == b {
        return None;
    }
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    Some(common as u64)
}

/// Builds the diff of one file present on both sides with different bytes.
pub fn diff_file(
    path: &str,
    reasons: Vec<Reason>,
    a: &[u8],
    b: &[u8],
    limits: FileDiffLimits,
) -> (FileDiff, Vec<&'static str>) {
    let mut caps = Vec::new();
    let over_cap = a.len() as u64 > limits.max_file_bytes || b.len() as u64 > limits.max_file_bytes;
    if over_cap {
        caps.push("file-diff-size");
    }
    let mut json_changes = Vec::new();
    let mut normalised = None;
    if !over_cap && is_json_path(path) && reasons.contains(&Reason::Modified) {
        if let (Ok(va), Ok(vb)) = (
            serde_json::from_slice::<Value>(a),
            serde_json::from_slice::<Value>(b),
        ) {
            normalised = Some((canonical_json(&va), canonical_json(&vb)));
            let mut truncated = false;
            json_diff(
                &va,
                &vb,
                &mut String::new(),
                &mut json_changes,
                limits.max_json_changes,
                &mut truncated,
            );
            if truncated {
                caps.push("json-changes");
            }
        }
    }
    let body = if !over_cap && is_text(a) && is_text(b) {
        let (mut unified, mut truncated) = unified_diff(path, a, b, limits.max_output_bytes);
        // A re-indented JSON file diffs as a whole-file rewrite; when the same files
        // normalised (sorted keys, two-space indent) give a far shorter diff, show that one,
        // labelled, so the real change is visible.
        if let Some((na, nb)) = &normalised {
            let label = format!("{path} (normalised JSON)");
            let (short, short_truncated) = unified_diff(
                &label,
                na.as_bytes(),
                nb.as_bytes(),
                limits.max_output_bytes,
            );
            if short.len() * 2 < unified.len() {
                (unified, truncated) = (short, short_truncated);
            }
        }
        if truncated {
            caps.push("diff-output");
        }
        DiffBody::Text { unified, truncated }
    } else {
        DiffBody::Binary { over_cap }
    };
    let diff = FileDiff {
        path: path.to_owned(),
        reasons,
        a_size: Some(a.len() as u64),
        b_size: Some(b.len() as u64),
        a_sha256: Some(byteproof_hash::hash_bytes(a).sha256_hex()),
        b_sha256: Some(byteproof_hash::hash_bytes(b).sha256_hex()),
        first_difference: first_difference(a, b),
        json_changes,
        body,
    };
    (diff, caps)
}

/// A summary of a file present on one side only, from its size and SHA-256.
pub fn one_sided(path: &str, reason: Reason, size: u64, sha256: &[u8; 32], on_a: bool) -> FileDiff {
    let size = Some(size);
    let sha = Some(byteproof_hash::hex(sha256));
    FileDiff {
        path: path.to_owned(),
        reasons: vec![reason],
        a_size: if on_a { size } else { None },
        b_size: if on_a { None } else { size },
        a_sha256: if on_a { sha.clone() } else { None },
        b_sha256: if on_a { None } else { sha },
        first_difference: None,
        json_changes: Vec::new(),
        body: DiffBody::Binary { over_cap: false },
    }
}

fn unified_diff(path: &str, a: &[u8], b: &[u8], max: usize) -> (String, bool) {
    let a = String::from_utf8_lossy(a);
    let b = String::from_utf8_lossy(b);
    let diff = similar::TextDiff::configure()
        .timeout(std::time::Duration::from_secs(2))
        .diff_lines(a.as_ref(), b.as_ref());
    let mut text = diff
        .unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        return (text, true);
    }
    (text, false)
}

/// Pretty JSON with sorted keys (serde_json's map is ordered), ending in a newline.
fn canonical_json(v: &Value) -> String {
    let mut text = serde_json::to_string_pretty(v).unwrap_or_default();
    text.push('\n');
    text
}

fn compact(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 200 {
        let mut cut = 200;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

fn json_diff(
    a: &Value,
    b: &Value,
    path: &mut String,
    out: &mut Vec<JsonChange>,
    max: usize,
    truncated: &mut bool,
) {
    if a == b {
        return;
    }
    let push = |out: &mut Vec<JsonChange>,
                truncated: &mut bool,
                path: &str,
                change,
                a: Option<&Value>,
                b: Option<&Value>| {
        if out.len() >= max {
            *truncated = true;
            return;
        }
        out.push(JsonChange {
            path: if path.is_empty() {
                "/".to_owned()
            } else {
                path.to_owned()
            },
            change,
            a: a.map(compact),
            b: b.map(compact),
        });
    };
    match (a, b) {
        (Value::Object(ma), Value::Object(mb)) => {
            for (k, va) in ma {
                let len = path.len();
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                match mb.get(k) {
                    Some(vb) => json_diff(va, vb, path, out, max, truncated),
                    None => push(out, truncated, path, "removed", Some(va), None),
                }
                path.truncate(len);
            }
            for (k, vb) in mb {
                if !ma.contains_key(k) {
                    let p = format!("{path}/{}", k.replace('~', "~0").replace('/', "~1"));
                    push(out, truncated, &p, "added", None, Some(vb));
                }
            }
        }
        (Value::Array(xa), Value::Array(xb)) => {
            for i in 0..xa.len().max(xb.len()) {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                match (xa.get(i), xb.get(i)) {
                    (Some(va), Some(vb)) => json_diff(va, vb, path, out, max, truncated),
                    (Some(va), None) => push(out, truncated, path, "removed", Some(va), None),
                    (None, Some(vb)) => push(out, truncated, path, "added", None, Some(vb)),
                    (None, None) => {}
                }
                path.truncate(len);
            }
        }
        _ => push(out, truncated, path, "changed", Some(a), Some(b)),
    }
}
