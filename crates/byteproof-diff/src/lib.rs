//! Explain why two npm release tarballs differ, layer by layer.
//!
//! [`diff`] takes the bytes of two `.tgz` files and returns a [`DiffReport`]: a verdict on the
//! ladder `identical` → `gzip-header` → `compression` → `tar-encoding` → `metadata` →
//! `formatting` → `content` (the deepest layer with a difference), every [`Reason`] code found
//! with the entries it concerns, per-side hashes and producer fingerprints, file diffs, and fix
//! hints.
//!
//! The crate is sans-I/O: it reads byte slices, never paths or URLs, extracts nothing to disk
//! and prints nothing. Engines that need a process (Node's zlib, for the recompression check)
//! are passed in by the caller through [`Compressor`]. Memory is bounded by [`Caps`]: whatever
//! lies beyond a cap is not compared, and the report says so ([`DiffReport::truncated`]).

mod compare;
mod error;
pub mod filediff;
pub mod gzip;
mod hints;
pub mod producer;
mod recompress;
mod report;
pub mod tar;

pub use error::{DiffError, GzipError, TarError};
pub use filediff::{DiffBody, FileDiff, JsonChange};
pub use producer::{Fingerprint, Producer};
pub use recompress::{Compressor, Flate2Compressor};
pub use report::{
    CapHit, DiffReport, EntryFinding, EntryMeta, Hint, Layer, Reason, ReasonFinding, Recompression,
    Side, SideReport, Warning, short_path,
};

/// Limits that keep memory and time bounded on large or hostile input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    /// Most decompressed (tar) bytes kept per side. Default 256 MiB.
    pub max_decompressed_bytes: u64,
    /// Most tar entries read per side. Default 100 000.
    pub max_entries: usize,
    /// Files larger than this get a summary instead of a text diff. Default 1 MiB.
    pub max_file_diff_bytes: u64,
    /// Each unified diff is cut after this many bytes. Default 256 KiB.
    pub max_diff_output_bytes: usize,
    /// Largest PAX or GNU long-name record accepted. Default 1 MiB.
    pub max_extension_bytes: u64,
    /// Largest tar that is recompressed for the recompression check. Default 64 MiB.
    pub max_recompress_bytes: u64,
    /// Most JSON key changes listed per file. Default 200.
    pub max_json_changes: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: 256 << 20,
            max_entries: 100_000,
            max_file_diff_bytes: 1 << 20,
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

/// Compares two `.tgz` tarballs and explains every difference.
///
/// Errors only when a side is not readable gzip or tar at all; every difference between two
/// readable tarballs, and every cap reached, is a finding in the report.
pub fn diff(a: &[u8], b: &[u8], options: &DiffOptions) -> Result<DiffReport, DiffError> {
    diff_with(a, b, options, &mut [])
}

/// Like [`diff`], with extra deflate engines for the recompression check (for example Node's
/// zlib run by the caller). flate2 at levels 1–9 is always tried.
pub fn diff_with(
    a: &[u8],
    b: &[u8],
    options: &DiffOptions,
    engines: &mut [&mut dyn Compressor],
) -> Result<DiffReport, DiffError> {
    compare::run(a, b, options, engines)
}
