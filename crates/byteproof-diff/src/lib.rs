//! Explain why two npm release tarballs differ, layer by layer.
//!
//! [`diff_sources`] takes two [`Source`]s (anything that can be read from its start more than
//! once: in-memory bytes, or a file the caller opens) and returns a [`DiffReport`]: a verdict
//! on the ladder `identical` → `gzip-header` → `compression` → `tar-encoding` → `metadata` →
//! `formatting` → `content` (the deepest layer with a difference), every [`Reason`] code found
//! with the entries it concerns, per-side hashes and producer fingerprints, file diffs, the
//! engine and level that reproduce each side's compressed stream, and fix hints.
//!
//! The diff streams: each side is read once in full (both at once, one thread each), keeping a
//! small record per entry, and again only for the few files whose text must be shown, so memory
//! does not grow with the archive's size. The crate opens no paths or URLs, extracts nothing to
//! disk and prints nothing; the only process it starts is a `node` the caller chose
//! ([`NodeZlib`]). [`Caps`] bound time and the records kept on hostile input: whatever lies
//! beyond a cap is not compared, and the report says so ([`DiffReport::truncated`]).

mod contents;
mod error;
mod explain;
pub mod filediff;
pub mod gzip;
mod hints;
mod normalize;
pub mod producer;
pub mod recompress;
mod report;
mod scan;
mod source;
pub mod tar;
mod terms;

pub use error::{DiffError, GzipError, TarError};
pub use filediff::{DiffBody, FileDiff, JsonChange};
pub use producer::{Fingerprint, Producer};
pub use recompress::{Compressor, NodeZlib};
pub use report::{
    CapHit, DiffReport, EntryFinding, EntryMeta, Hint, ReasonFinding, Recompression, SideReport,
    Warning, short_path,
};
pub use source::Source;
pub use terms::{Layer, Reason, Side};

/// Limits that keep time and memory bounded on large or hostile input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    /// Most decompressed (tar) bytes read per side. Default 16 GiB: memory does not grow with
    /// it, so it only bounds time.
    pub max_decompressed_bytes: u64,
    /// Most decompressed bytes per compressed byte read, checked past the first 64 MiB: a gzip
    /// bomb stops here. Default 200 (real tarballs are below 20; deflate's limit is 1032).
    pub max_compression_ratio: u64,
    /// Most gzip members read per side. Default 10 000.
    pub max_gzip_members: usize,
    /// Most tar entries read per side. Default 100 000.
    pub max_entries: usize,
    /// Most bytes of entry records kept per side (paths, names, PAX values). Default 32 MiB.
    pub max_index_bytes: u64,
    /// Files larger than this get a summary instead of a text diff. Default 1 MiB.
    pub max_file_diff_bytes: u64,
    /// Most file bytes fetched for text diffs, both sides together; changed files beyond it
    /// are classified but summarised. Default 16 MiB.
    pub max_diff_total_bytes: u64,
    /// Most entry findings, and most file diffs, listed in the report; the reason codes and
    /// the verdict still cover every entry. Default 10 000.
    pub max_listed_entries: usize,
    /// Each unified diff is cut after this many bytes. Default 256 KiB.
    pub max_diff_output_bytes: usize,
    /// Largest PAX or GNU long-name record (and gzip FNAME/FCOMMENT) accepted. Default 1 MiB.
    pub max_extension_bytes: u64,
    /// Largest tar that is recompressed for the recompression check. Default 64 MiB.
    pub max_recompress_bytes: u64,
    /// Most JSON key changes listed per file. Default 200.
    pub max_json_changes: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: 16 << 30,
            max_compression_ratio: 200,
            max_gzip_members: 10_000,
            max_entries: 100_000,
            max_index_bytes: 32 << 20,
            max_file_diff_bytes: 1 << 20,
            max_diff_total_bytes: 16 << 20,
            max_listed_entries: 10_000,
            max_diff_output_bytes: 256 << 10,
            max_extension_bytes: 1 << 20,
            max_recompress_bytes: 64 << 20,
            max_json_changes: 200,
        }
    }
}

/// Options for [`diff`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiffOptions {
    /// Resource limits.
    pub caps: Caps,
    /// Run the recompression check when only compression differs. Default true.
    pub recompress: bool,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            caps: Caps::default(),
            recompress: true,
        }
    }
}

/// Compares two `.tgz` tarballs held in memory and explains every difference.
///
/// Errors only when a side is not readable gzip or tar at all; every difference between two
/// readable tarballs, and every cap reached, is a finding in the report.
pub fn diff(a: &[u8], b: &[u8], options: &DiffOptions) -> Result<DiffReport, DiffError> {
    diff_sources(&a, &b, options, &mut [])
}

/// Like [`diff`], with extra deflate engines for the recompression check (for example each
/// [`NodeZlib`] the caller found), tried before the built-in ones.
pub fn diff_with(
    a: &[u8],
    b: &[u8],
    options: &DiffOptions,
    engines: &mut [&mut dyn Compressor],
) -> Result<DiffReport, DiffError> {
    diff_sources(&a, &b, options, engines)
}

/// Compares two tarballs read from [`Source`]s, in memory independent of their size.
pub fn diff_sources(
    a: &dyn Source,
    b: &dyn Source,
    options: &DiffOptions,
    engines: &mut [&mut dyn Compressor],
) -> Result<DiffReport, DiffError> {
    explain::run(a, b, options, engines)
}
