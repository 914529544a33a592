//! Reading a side: the first pass builds its index (digests, gzip layer, one small record per
//! entry); later passes read it again and show a [`Visitor`] the data of chosen entries,
//! stopping as soon as the visitor has what it wants.
//!
//! Memory is independent of the archive's size: decompressed bytes flow through fixed
//! buffers into hashes and the tar parser, and only records and the visitor's picks stay.

use sha2::{Digest as _, Sha256};

use crate::Caps;
use crate::error::{DiffError, TarError};
use crate::gzip::{self, GzipLayer, GzipLimits, Input, ReadError};
use crate::source::Source;
use crate::tar::{HashKeys, TarEntry, TarIndex, TarLimits, TarParser, Visitor};
use crate::terms::Side;

/// Output below which the compression-ratio cap is not checked.
const RATIO_FLOOR: u64 = 64 << 20;

/// What the first pass learns about one side.
pub(crate) struct SideScan {
    /// Digests of the whole `.tgz` (always read to its end, whatever cap was reached).
    pub(crate) digests: byteproof_hash::Digests,
    /// Every gzip member and the trailing bytes.
    pub(crate) gzip: GzipLayer,
    /// One record per entry, and archive-wide facts.
    pub(crate) tar: TarIndex,
    /// SHA-256 of the decompressed bytes read (up to the caps).
    pub(crate) tar_sha256: [u8; 32],
    /// The first and last bytes of `package/package.json`, for the producer fingerprint.
    pub(crate) package_json: Option<PackageJsonShape>,
}

/// How `package/package.json` starts and ends.
#[derive(Clone, Debug, Default)]
pub(crate) struct PackageJsonShape {
    pub(crate) head: Vec<u8>,
    pub(crate) last: Option<u8>,
}

fn limits(caps: &Caps) -> (GzipLimits, TarLimits) {
    (
        GzipLimits {
            max_decompressed: caps.max_decompressed_bytes,
            max_ratio: caps.max_compression_ratio,
            ratio_floor: RATIO_FLOOR,
            max_members: caps.max_gzip_members,
            max_field: caps.max_extension_bytes as usize,
        },
        TarLimits {
            max_entries: caps.max_entries,
            max_extension_bytes: caps.max_extension_bytes,
            max_index_bytes: caps.max_index_bytes,
        },
    )
}

fn side_error(side: Side, err: ReadError<TarError>) -> DiffError {
    match err {
        ReadError::Gzip(source) => DiffError::Gzip { side, source },
        ReadError::Sink(source) => DiffError::Tar { side, source },
        ReadError::Io(err) => io_error(side, &err),
    }
}

pub(crate) fn io_error(side: Side, err: &std::io::Error) -> DiffError {
    DiffError::Read {
        side,
        kind: err.kind(),
        message: err.to_string(),
    }
}

/// Captures the shape of the first `package/package.json`.
#[derive(Default)]
struct PackageJsonProbe {
    index: Option<usize>,
    shape: Option<PackageJsonShape>,
}

impl Visitor for PackageJsonProbe {
    fn entry(&mut self, index: usize, entry: &TarEntry) -> bool {
        if self.index.is_none() && &*entry.path == "package/package.json" {
            self.index = Some(index);
            self.shape = Some(PackageJsonShape::default());
            return true;
        }
        false
    }

    fn data(&mut self, _index: usize, chunk: &[u8]) {
        if let Some(shape) = self.shape.as_mut() {
            let room = 8usize.saturating_sub(shape.head.len());
            shape
                .head
                .extend_from_slice(&chunk[..room.min(chunk.len())]);
            shape.last = chunk.last().copied().or(shape.last);
        }
    }
}

/// The first pass over one side.
pub(crate) fn index(
    side: Side,
    source: &dyn Source,
    caps: &Caps,
    keys: &HashKeys,
) -> Result<SideScan, DiffError> {
    let (gzip_limits, tar_limits) = limits(caps);
    let reader = source.open().map_err(|e| io_error(side, &e))?;
    let mut input = Input::new(reader, true);
    let mut parser = TarParser::new(tar_limits, keys.clone(), true);
    let mut probe = PackageJsonProbe::default();
    let mut tar_hasher = Sha256::new();
    let gzip = gzip::gunzip(&mut input, &gzip_limits, &mut |chunk: &[u8]| {
        tar_hasher.update(chunk);
        parser.feed(chunk, &mut probe)?;
        Ok(true)
    })
    .map_err(|e| side_error(side, e))?;
    parser
        .finish(gzip.capped.is_some())
        .map_err(|source| DiffError::Tar { side, source })?;
    let digests = input
        .finish()
        .map_err(|e| io_error(side, &e))?
        .unwrap_or_else(|| byteproof_hash::hash_bytes(&[]));
    Ok(SideScan {
        digests,
        gzip,
        tar: parser.index,
        tar_sha256: tar_hasher.finalize().into(),
        package_json: probe.shape,
    })
}

/// A later pass: reads `source` again and shows `visitor` the data it asks for, stopping once
/// it is done.
pub(crate) fn revisit(
    side: Side,
    source: &dyn Source,
    caps: &Caps,
    keys: &HashKeys,
    visitor: &mut dyn Visitor,
) -> Result<(), DiffError> {
    if visitor.done() {
        return Ok(());
    }
    let (gzip_limits, tar_limits) = limits(caps);
    let reader = source.open().map_err(|e| io_error(side, &e))?;
    let mut input = Input::new(reader, false);
    let mut parser = TarParser::new(tar_limits, keys.clone(), false);
    gzip::gunzip(&mut input, &gzip_limits, &mut |chunk: &[u8]| {
        parser.feed(chunk, &mut *visitor)?;
        Ok(!visitor.done() && !parser.stopped())
    })
    .map_err(|e| side_error(side, e))?;
    Ok(())
}

/// Runs `a` and `b` at once, one thread each, and returns both results.
pub(crate) fn both<T: Send>(a: impl FnOnce() -> T + Send, b: impl FnOnce() -> T + Send) -> (T, T) {
    std::thread::scope(|scope| {
        let handle = scope.spawn(b);
        let ra = a();
        let rb = match handle.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        (ra, rb)
    })
}
