//! The report: verdict ladder, reason codes, per-side facts and per-entry findings, all
//! serialisable for `--json`, plus [`DiffReport::summary_line`].

use serde::Serialize;

use crate::gzip::GzipMember;
use crate::producer::Fingerprint;
use crate::terms::{Layer, Reason, Side};

/// One reason code found, with the entries it concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReasonFinding {
    /// The reason code.
    pub code: Reason,
    /// Its layer.
    pub layer: Layer,
    /// Entry paths concerned (empty for archive-wide reasons such as gzip fields).
    pub entries: Vec<String>,
    /// A short human-readable detail (for archive-wide reasons: the two values).
    pub detail: Option<String>,
}

/// Per-entry metadata as shown in findings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntryMeta {
    /// Entry kind.
    pub kind: crate::tar::EntryKind,
    /// Mode in octal, e.g. `"0644"`.
    pub mode: String,
    /// Owner id.
    pub uid: u64,
    /// Group id.
    pub gid: u64,
    /// Owner name.
    pub uname: String,
    /// Group name.
    pub gname: String,
    /// mtime, seconds since the epoch.
    pub mtime: i64,
    /// Data size.
    pub size: u64,
    /// Position in the archive (0-based).
    pub index: usize,
}

/// Everything found about one entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntryFinding {
    /// The entry path.
    pub path: String,
    /// Reason codes for this entry.
    pub reasons: Vec<Reason>,
    /// Metadata on side A (absent when the entry is only in B).
    pub a: Option<EntryMeta>,
    /// Metadata on side B.
    pub b: Option<EntryMeta>,
    /// For `header-encoding`: the header fields whose raw bytes differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub encoding_fields: Vec<String>,
}

/// Producer fingerprint and facts about one side.
#[derive(Clone, Debug, Serialize)]
pub struct SideReport {
    /// .tgz size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-1 (npm's `dist.shasum`).
    pub sha1: String,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// SRI SHA-512 (npm's `dist.integrity`).
    pub integrity: String,
    /// Lowercase hex SHA-256 of the decompressed tar bytes (of what was read, under the caps).
    pub tar_sha256: String,
    /// Decompressed tar size (up to the cap).
    pub tar_size: u64,
    /// Number of tar entries read.
    pub entries: usize,
    /// The first gzip member's header, field by field.
    pub gzip: crate::gzip::GzipHeader,
    /// gzip members in order, with trailer checks.
    pub gzip_members: Vec<GzipMember>,
    /// Bytes after the last gzip member.
    pub trailing_bytes: u64,
    /// Who probably packed this side.
    pub producer: Fingerprint,
}

/// Which engine and level reproduce each side's deflate stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recompression {
    /// Engines tried, in order, e.g. `node v20.20.2 (zlib 1.3.1-e00f703)`, `zlib-rs`.
    pub tried: Vec<String>,
    /// The first engine and level that reproduce side A byte for byte, e.g.
    /// `node v20.20.2 (zlib 1.3.1-e00f703) level 9`; empty when none does.
    pub a: Vec<String>,
    /// The same for side B.
    pub b: Vec<String>,
    /// Engines that failed to run, with their message.
    pub errors: Vec<String>,
}

/// A cap that was reached; what lies beyond it was not compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CapHit {
    /// Side, when the cap concerns one side.
    pub side: Option<Side>,
    /// Which cap: `decompressed-size`, `compression-ratio`, `gzip-members`, `entries`,
    /// `extension-size`, `index-size` (these stop the comparison: the report is truncated),
    /// `file-diff-size`, `diff-total`, `diff-output`, `json-changes`, `listed-entries`,
    /// `recompress-size`
    /// (these only shorten what is shown).
    pub cap: &'static str,
    /// The limit.
    pub limit: u64,
    /// Entry concerned, when any.
    pub entry: Option<String>,
}

/// Something noteworthy that is not a difference: unsafe paths, checksum failures, duplicates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The side it was seen on.
    pub side: Side,
    /// `unsafe-path`, `non-utf8-path`, `duplicate-entry`, `gzip-crc-mismatch`,
    /// `gzip-isize-mismatch`, `gzip-header-crc-mismatch`, `tar-end-garbage`, `no-end-marker`.
    pub code: &'static str,
    /// Entry concerned, when any.
    pub entry: Option<String>,
    /// Detail.
    pub detail: String,
}

/// A suggested fix for one reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hint {
    /// The reason it addresses.
    pub reason: Reason,
    /// What to do.
    pub text: String,
}

/// The full explanation of how two tarballs differ.
#[derive(Clone, Debug, Serialize)]
pub struct DiffReport {
    /// The deepest layer with a difference (`identical` when the bytes are equal).
    pub verdict: Layer,
    /// Every layer with any difference, shallowest first.
    pub layers: Vec<Layer>,
    /// Every reason code found, in ladder order, with its entries.
    pub reasons: Vec<ReasonFinding>,
    /// Side A.
    pub a: SideReport,
    /// Side B.
    pub b: SideReport,
    /// Per-entry findings, in A's order then B-only entries.
    pub entries: Vec<EntryFinding>,
    /// File diffs for changed regular files.
    pub file_diffs: Vec<crate::filediff::FileDiff>,
    /// Recompression check, when only compression differs.
    pub recompression: Option<Recompression>,
    /// Suggested fixes.
    pub hints: Vec<Hint>,
    /// Caps reached. When non-empty, the comparison is incomplete.
    pub caps_hit: Vec<CapHit>,
    /// True when a cap stopped the comparison before everything was compared.
    pub truncated: bool,
    /// Warnings about either side.
    pub warnings: Vec<Warning>,
}

impl DiffReport {
    /// Whether the two tarballs are byte-identical.
    pub fn is_identical(&self) -> bool {
        self.verdict == Layer::Identical
    }

    /// The reason finding for `code`, when present.
    pub fn reason(&self, code: Reason) -> Option<&ReasonFinding> {
        self.reasons.iter().find(|r| r.code == code)
    }

    /// Whether `code` was found.
    pub fn has(&self, code: Reason) -> bool {
        self.reason(code).is_some()
    }

    /// One line, e.g. `divergent at metadata: exec-bit on bin/cli.js; entry-order`.
    ///
    /// Reasons are listed deepest layer first (within a layer, per-entry reasons first); entry
    /// paths lose a `package/` prefix and at most three are named per reason.
    pub fn summary_line(&self) -> String {
        if self.verdict == Layer::Identical {
            return "identical".to_owned();
        }
        let mut reasons: Vec<&ReasonFinding> = self.reasons.iter().collect();
        // Deepest layer first; within a layer, reasons naming entries before archive-wide ones.
        reasons.sort_by_key(|r| (std::cmp::Reverse(r.layer), !r.code.names_entries(), r.code));
        let parts: Vec<String> = reasons
            .iter()
            .map(|r| {
                if !r.code.names_entries() || r.entries.is_empty() {
                    return r.code.to_string();
                }
                let mut names: Vec<&str> =
                    r.entries.iter().take(3).map(|e| short_path(e)).collect();
                let more = r.entries.len().saturating_sub(3);
                let mut text = format!("{} on {}", r.code, names.join(", "));
                if more > 0 {
                    text.push_str(&format!(" (+{more} more)"));
                }
                names.clear();
                text
            })
            .collect();
        let mut line = format!("divergent at {}: {}", self.verdict, parts.join("; "));
        if self.truncated {
            line.push_str(" (truncated: a cap was reached)");
        }
        line
    }
}

/// `package/bin/cli.js` → `bin/cli.js`, for display.
pub fn short_path(path: &str) -> &str {
    path.strip_prefix("package/").unwrap_or(path)
}
