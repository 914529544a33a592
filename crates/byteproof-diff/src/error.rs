//! Typed errors: what made a side unreadable, and where.
//!
//! Differences between two readable tarballs are never errors; they are findings in the
//! [`crate::DiffReport`]. An error means one side could not be read, or not as gzip or tar.

use crate::terms::Side;

/// Why one side's gzip layer could not be read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum GzipError {
    /// The bytes do not start with the gzip magic `1f 8b`.
    #[error("not gzip: the first bytes are not 1f 8b")]
    NotGzip,
    /// The compression method byte (CM) is not 8 (deflate).
    #[error("unsupported gzip compression method {0} (only 8, deflate, exists)")]
    UnsupportedMethod(u8),
    /// Reserved FLG bits 5–7 are set, which RFC 1952 says a reader must reject.
    #[error("gzip member at offset {offset}: reserved flag bits set in FLG {flg:#04x}")]
    ReservedFlags {
        /// Offset of the member's first byte.
        offset: usize,
        /// The FLG byte.
        flg: u8,
    },
    /// The data ends inside a gzip header, deflate stream or trailer.
    #[error("truncated gzip data: {what} at offset {offset}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Offset where the data ran out.
        offset: usize,
    },
    /// FNAME or FCOMMENT is longer than the cap on extension records.
    #[error("{what} at offset {offset} is longer than {limit} bytes")]
    FieldTooLong {
        /// Which field.
        what: &'static str,
        /// Offset where the field starts.
        offset: usize,
        /// The cap.
        limit: usize,
    },
    /// The deflate stream is invalid.
    #[error("corrupt deflate stream in the gzip member at offset {offset}: {message}")]
    Corrupt {
        /// Offset of the member's first byte.
        offset: usize,
        /// The decompressor's message.
        message: String,
    },
}

/// Why one side's tar layer could not be read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TarError {
    /// The first 512-byte block is not a tar header (bad checksum, or too short).
    #[error("not a tar archive: the first header block is invalid")]
    NotTar,
    /// A header's checksum does not match its bytes.
    #[error(
        "tar header at offset {offset}: checksum mismatch (stored {stored}, computed {computed})"
    )]
    BadChecksum {
        /// Offset of the header block.
        offset: usize,
        /// The checksum field's value.
        stored: u64,
        /// The sum of the header bytes.
        computed: u64,
    },
    /// A numeric header field is neither octal text nor base-256.
    #[error("tar header at offset {offset}: field `{field}` is not a number")]
    BadNumber {
        /// Offset of the header block.
        offset: usize,
        /// Field name (`mode`, `uid`, `size` …).
        field: &'static str,
    },
    /// An entry's size claims more data than the archive holds.
    #[error("tar entry `{path}` at offset {offset} claims {size} bytes but the archive ends first")]
    Truncated {
        /// The entry's path, lossily decoded.
        path: String,
        /// Offset of the header block.
        offset: usize,
        /// The claimed size.
        size: u64,
    },
    /// A PAX extended header is malformed.
    #[error("malformed PAX record in the extended header at offset {offset}")]
    BadPax {
        /// Offset of the `x`/`g` header block.
        offset: usize,
    },
}

/// Why [`crate::diff`] could not compare two tarballs.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DiffError {
    /// One side's gzip layer is unreadable.
    #[error("side {side}: {source}")]
    Gzip {
        /// Which side.
        side: Side,
        /// What went wrong.
        #[source]
        source: GzipError,
    },
    /// One side could not be read (an I/O error from its source).
    #[error("side {side}: cannot read: {message}")]
    Read {
        /// Which side.
        side: Side,
        /// The kind of I/O error.
        kind: std::io::ErrorKind,
        /// The reader's message.
        message: String,
    },
    /// A side's bytes changed between the two reads of a streaming diff.
    #[error("side {side}: the input changed while it was being compared (entry `{entry}`)")]
    Changed {
        /// Which side.
        side: Side,
        /// The entry whose data differed between the reads.
        entry: String,
    },
    /// One side's tar layer is unreadable.
    #[error("side {side}: {source}")]
    Tar {
        /// Which side.
        side: Side,
        /// What went wrong.
        #[source]
        source: TarError,
    },
}
