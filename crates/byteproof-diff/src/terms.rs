//! The vocabulary every module shares: which side, which layer of the verdict ladder, which
//! reason code. A leaf module: it depends on nothing else in the crate.

use std::fmt;

use serde::Serialize;

/// One of the two tarballs being compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The first (left, "old") tarball.
    A,
    /// The second (right, "new") tarball.
    B,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::A => "a",
            Side::B => "b",
        })
    }
}

/// The verdict ladder, shallowest first. The verdict is the deepest layer with a difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// The .tgz bytes are equal.
    Identical,
    /// gzip member header fields differ.
    GzipHeader,
    /// The compressed data or member structure differs; the tar bytes are equal.
    Compression,
    /// Same parsed entries, differently encoded tar headers or extension records.
    TarEncoding,
    /// Same file contents; order or per-entry metadata differs.
    Metadata,
    /// File bytes differ only in line endings, whitespace or JSON serialisation.
    Formatting,
    /// File contents differ in meaning, or files exist on one side only.
    Content,
}

impl Layer {
    /// The kebab-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Identical => "identical",
            Layer::GzipHeader => "gzip-header",
            Layer::Compression => "compression",
            Layer::TarEncoding => "tar-encoding",
            Layer::Metadata => "metadata",
            Layer::Formatting => "formatting",
            Layer::Content => "content",
        }
    }

    /// A few words for people.
    pub fn describe(self) -> &'static str {
        match self {
            Layer::Identical => "byte-identical",
            Layer::GzipHeader => "only the gzip header differs",
            Layer::Compression => "same tar, different compression",
            Layer::TarEncoding => "same entries, different tar header encoding",
            Layer::Metadata => "same file contents, different order or entry metadata",
            Layer::Formatting => "files differ only in formatting",
            Layer::Content => "file contents differ",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reason code: one specific kind of difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// gzip MTIME differs.
    GzipMtime,
    /// gzip OS byte differs.
    GzipOs,
    /// gzip XFL byte differs.
    GzipXfl,
    /// gzip FNAME differs.
    GzipName,
    /// gzip FEXTRA (or another FLG bit: FTEXT, FHCRC) differs.
    GzipExtra,
    /// gzip FCOMMENT differs.
    GzipComment,
    /// Same tar, different deflate stream.
    DeflateStream,
    /// The number or layout of gzip members differs.
    GzipMembers,
    /// Bytes after the last gzip member differ.
    TrailingData,
    /// Raw tar header bytes or extension records differ for equal entries.
    HeaderEncoding,
    /// Common entries appear in a different relative order.
    EntryOrder,
    /// Permission bits other than "is executable" differ.
    Mode,
    /// The executable bit differs.
    ExecBit,
    /// Owner id differs.
    Uid,
    /// Group id differs.
    Gid,
    /// Owner name differs.
    Uname,
    /// Group name differs.
    Gname,
    /// Entry mtime differs.
    Mtime,
    /// Entry type (file, directory, link …) differs.
    EntryType,
    /// Directory entries present on one side only.
    DirEntries,
    /// PAX records (atime, ctime, xattrs, global headers) differ.
    Pax,
    /// Line endings differ (CRLF vs LF).
    Crlf,
    /// Only the newline at the end of the file differs.
    EofNewline,
    /// Only whitespace at the ends of lines differs.
    TrailingWhitespace,
    /// JSON serialisation differs; the parsed values are equal.
    JsonFormat,
    /// The file's content differs.
    Modified,
    /// The entry is only in B.
    Added,
    /// The entry is only in A.
    Removed,
}

impl Reason {
    /// The layer this reason belongs to.
    pub fn layer(self) -> Layer {
        use Reason::*;
        match self {
            GzipMtime | GzipOs | GzipXfl | GzipName | GzipExtra | GzipComment => Layer::GzipHeader,
            DeflateStream | GzipMembers | TrailingData => Layer::Compression,
            HeaderEncoding => Layer::TarEncoding,
            EntryOrder | Mode | ExecBit | Uid | Gid | Uname | Gname | Mtime | EntryType
            | DirEntries | Pax => Layer::Metadata,
            Crlf | EofNewline | TrailingWhitespace | JsonFormat => Layer::Formatting,
            Modified | Added | Removed => Layer::Content,
        }
    }

    /// The kebab-case code used in JSON.
    pub fn as_str(self) -> &'static str {
        use Reason::*;
        match self {
            GzipMtime => "gzip-mtime",
            GzipOs => "gzip-os",
            GzipXfl => "gzip-xfl",
            GzipName => "gzip-name",
            GzipExtra => "gzip-extra",
            GzipComment => "gzip-comment",
            DeflateStream => "deflate-stream",
            GzipMembers => "gzip-members",
            TrailingData => "trailing-data",
            HeaderEncoding => "header-encoding",
            EntryOrder => "entry-order",
            Mode => "mode",
            ExecBit => "exec-bit",
            Uid => "uid",
            Gid => "gid",
            Uname => "uname",
            Gname => "gname",
            Mtime => "mtime",
            EntryType => "entry-type",
            DirEntries => "dir-entries",
            Pax => "pax",
            Crlf => "crlf",
            EofNewline => "eof-newline",
            TrailingWhitespace => "trailing-whitespace",
            JsonFormat => "json-format",
            Modified => "modified",
            Added => "added",
            Removed => "removed",
        }
    }

    /// Reasons listed with their entries in the summary line (the others are archive-wide).
    pub(crate) fn names_entries(self) -> bool {
        self.layer() >= Layer::TarEncoding && self != Reason::EntryOrder
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
