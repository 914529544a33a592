//! The tar layer, read by hand over the decompressed bytes: ustar, GNU (`L`/`K` long names)
//! and PAX (`x` local, `g` global) headers.
//!
//! Every entry keeps its raw 512-byte header and the raw bytes of the extension headers that
//! preceded it, so two entries whose parsed metadata is equal can still be told apart by how
//! the fields were encoded. Nothing is extracted; data is referred to by byte range.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Serialize;

use crate::error::TarError;

/// Size of a tar block.
pub const BLOCK: usize = 512;

/// What kind of entry a header describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// A regular file (typeflag `0`, NUL or `7`).
    File,
    /// A directory (`5`).
    Directory,
    /// A symbolic link (`2`).
    Symlink,
    /// A hard link (`1`).
    HardLink,
    /// Anything else (devices, FIFOs, unknown typeflags).
    Other,
}

/// The layout of a header block, from its magic and version fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeaderFormat {
    /// `ustar\0` + `00` (POSIX).
    Ustar,
    /// `ustar ` + ` \0` (GNU).
    Gnu,
    /// Anything else (old V7 headers).
    V7,
}

/// Byte ranges of the fields of a ustar header, for naming which encodings differ.
pub const FIELDS: &[(&str, Range<usize>)] = &[
    ("name", 0..100),
    ("mode", 100..108),
    ("uid", 108..116),
    ("gid", 116..124),
    ("size", 124..136),
    ("mtime", 136..148),
    ("chksum", 148..156),
    ("typeflag", 156..157),
    ("linkname", 157..257),
    ("magic", 257..263),
    ("version", 263..265),
    ("uname", 265..297),
    ("gname", 297..329),
    ("devmajor", 329..337),
    ("devminor", 337..345),
    ("prefix", 345..500),
    ("padding", 500..512),
];

/// One archive entry with its effective metadata (PAX and GNU records applied).
#[derive(Clone, Debug)]
pub struct TarEntry {
    /// Effective path, lossily decoded as UTF-8.
    pub path: String,
    /// The path was not valid UTF-8.
    pub path_not_utf8: bool,
    /// The kind of entry.
    pub kind: EntryKind,
    /// The raw typeflag byte.
    pub typeflag: u8,
    /// Permission bits (and any set-id bits), `mode & 0o7777`.
    pub mode: u32,
    /// Owner id.
    pub uid: u64,
    /// Group id.
    pub gid: u64,
    /// Owner name.
    pub uname: String,
    /// Group name.
    pub gname: String,
    /// Modification time, whole seconds.
    pub mtime: i64,
    /// Fractional part of a PAX mtime (digits after the point, trailing zeros removed).
    pub mtime_frac: String,
    /// Data size.
    pub size: u64,
    /// Link target for links.
    pub link: String,
    /// Device major and minor numbers.
    pub dev: (u64, u64),
    /// Local PAX records that are not already reflected in the fields above (atime, ctime,
    /// xattrs …). Global records are in [`TarArchive::global_pax`].
    pub pax_extra: BTreeMap<String, String>,
    /// Header layout.
    pub format: HeaderFormat,
    /// Offset of this entry's own header block.
    pub offset: usize,
    /// The raw 512-byte header.
    pub raw_header: [u8; BLOCK],
    /// Raw bytes of the extension headers and data (PAX `x`, GNU `L`/`K`) before the header.
    pub ext: Range<usize>,
    /// Where the data lies in the tar bytes.
    pub data: Range<usize>,
}

/// Why parsing stopped early without an error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "cap")]
pub enum TarStop {
    /// The decompressed bytes ended (they were capped) inside an entry.
    DecompressedCap,
    /// The entry-count cap was reached.
    Entries {
        /// The cap.
        limit: usize,
    },
    /// A PAX or GNU extension record was larger than the cap.
    ExtensionSize {
        /// Offset of the extension header.
        offset: usize,
        /// Its claimed size.
        size: u64,
        /// The cap.
        limit: u64,
    },
}

/// A parsed archive.
#[derive(Clone, Debug, Default)]
pub struct TarArchive {
    /// Entries in archive order.
    pub entries: Vec<TarEntry>,
    /// Global PAX records (`g`), in order.
    pub global_pax: BTreeMap<String, String>,
    /// Raw bytes of every global PAX header and its data, concatenated ranges.
    pub global_raw: Vec<Range<usize>>,
    /// Offset of the end-of-archive marker, if one was found.
    pub end_marker: Option<usize>,
    /// Bytes from the end-of-archive marker to the end (zero blocks and record padding).
    pub end_len: usize,
    /// Non-zero bytes after the end-of-archive marker.
    pub end_nonzero: bool,
    /// Parsing stopped early at a cap.
    pub stopped: Option<TarStop>,
}

/// Limits for [`parse`].
#[derive(Clone, Copy, Debug)]
pub struct TarLimits {
    /// Stop after this many entries.
    pub max_entries: usize,
    /// Largest PAX or GNU long-name record accepted.
    pub max_extension_bytes: u64,
    /// The bytes were cut at the decompression cap, so running out is not an error.
    pub input_capped: bool,
}

/// Parses tar bytes. Hostile sizes, checksums and records give a [`TarError`]; caps stop the
/// parse with [`TarArchive::stopped`] set and keep what was read.
pub fn parse(tar: &[u8], limits: TarLimits) -> Result<TarArchive, TarError> {
    let mut archive = TarArchive::default();
    let mut offset = 0usize;
    let mut pending_pax: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut pending_long_name: Option<Vec<u8>> = None;
    let mut pending_long_link: Option<Vec<u8>> = None;
    let mut ext_start: Option<usize> = None;
    let mut global: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    loop {
        let Some(block) = tar.get(offset..offset + BLOCK) else {
            if offset < tar.len() || (offset == 0 && tar.is_empty() && !limits.input_capped) {
                if limits.input_capped {
                    archive.stopped = Some(TarStop::DecompressedCap);
                    return Ok(archive);
                }
                if archive.entries.is_empty() {
                    return Err(TarError::NotTar);
                }
                return Err(TarError::Truncated {
                    path: String::new(),
                    offset,
                    size: 0,
                });
            }
            if limits.input_capped {
                archive.stopped = Some(TarStop::DecompressedCap);
            }
            return Ok(archive);
        };
        if block.iter().all(|&b| b == 0) {
            archive.end_marker = Some(offset);
            archive.end_len = tar.len() - offset;
            archive.end_nonzero = tar[offset..].iter().any(|&b| b != 0);
            return Ok(archive);
        }
        let header: [u8; BLOCK] = block.try_into().unwrap_or([0; BLOCK]);
        let first =
            archive.entries.is_empty() && ext_start.is_none() && archive.global_raw.is_empty();
        check_checksum(&header, offset)
            .map_err(|err| if first { TarError::NotTar } else { err })?;
        let num = |field: &'static str, range: Range<usize>| {
            parse_number(&header[range]).ok_or(TarError::BadNumber { offset, field })
        };
        let size = num("size", 124..136)?;
        let typeflag = header[156];
        let data_start = offset + BLOCK;
        let raw_name = header_path(&header);
        let data_end = usize::try_from(size)
            .ok()
            .and_then(|s| data_start.checked_add(s))
            .filter(|&end| end <= tar.len());
        let Some(data_end) = data_end else {
            if limits.input_capped {
                archive.stopped = Some(TarStop::DecompressedCap);
                return Ok(archive);
            }
            return Err(TarError::Truncated {
                path: String::from_utf8_lossy(&raw_name).into_owned(),
                offset,
                size,
            });
        };
        let next = data_start + (data_end - data_start).div_ceil(BLOCK) * BLOCK;
        let is_ext = matches!(typeflag, b'x' | b'g' | b'L' | b'K');
        if is_ext && size > limits.max_extension_bytes {
            archive.stopped = Some(TarStop::ExtensionSize {
                offset,
                size,
                limit: limits.max_extension_bytes,
            });
            return Ok(archive);
        }
        let data = &tar[data_start..data_end];
        match typeflag {
            b'x' => {
                ext_start.get_or_insert(offset);
                for (k, v) in parse_pax(data).ok_or(TarError::BadPax { offset })? {
                    pending_pax.insert(k, v);
                }
            }
            b'g' => {
                for (k, v) in parse_pax(data).ok_or(TarError::BadPax { offset })? {
                    global.insert(k.clone(), v.clone());
                    archive
                        .global_pax
                        .insert(k, String::from_utf8_lossy(&v).into_owned());
                }
                archive.global_raw.push(offset..next.min(tar.len()));
            }
            b'L' => {
                ext_start.get_or_insert(offset);
                pending_long_name = Some(until_nul(data).to_vec());
            }
            b'K' => {
                ext_start.get_or_insert(offset);
                pending_long_link = Some(until_nul(data).to_vec());
            }
            _ => {
                if archive.entries.len() >= limits.max_entries {
                    archive.stopped = Some(TarStop::Entries {
                        limit: limits.max_entries,
                    });
                    return Ok(archive);
                }
                let local = std::mem::take(&mut pending_pax);
                let local_keys: Vec<String> = local.keys().cloned().collect();
                let mut pax = global.clone();
                pax.extend(local);
                let path_bytes = pax
                    .remove("path")
                    .or_else(|| pending_long_name.take())
                    .unwrap_or(raw_name);
                pending_long_name = None;
                let link_bytes = pax
                    .remove("linkpath")
                    .or_else(|| pending_long_link.take())
                    .unwrap_or_else(|| until_nul(&header[157..257]).to_vec());
                pending_long_link = None;
                let text = |v: Vec<u8>| String::from_utf8_lossy(&v).into_owned();
                let pax_num = |pax: &mut BTreeMap<String, Vec<u8>>, key: &str| {
                    pax.remove(key)
                        .and_then(|v| std::str::from_utf8(&v).ok()?.trim().parse::<u64>().ok())
                };
                let uid = match pax_num(&mut pax, "uid") {
                    Some(v) => v,
                    None => num("uid", 108..116)?,
                };
                let gid = match pax_num(&mut pax, "gid") {
                    Some(v) => v,
                    None => num("gid", 116..124)?,
                };
                let size_eff = pax_num(&mut pax, "size").unwrap_or(size);
                let (mtime, mtime_frac) = match pax.remove("mtime").and_then(|v| parse_pax_time(&v))
                {
                    Some(t) => t,
                    None => (
                        i64::try_from(num("mtime", 136..148)?).unwrap_or(i64::MAX),
                        String::new(),
                    ),
                };
                let uname = pax
                    .remove("uname")
                    .unwrap_or_else(|| until_nul(&header[265..297]).to_vec());
                let gname = pax
                    .remove("gname")
                    .unwrap_or_else(|| until_nul(&header[297..329]).to_vec());
                let mode = num("mode", 100..108)?;
                let format = match (&header[257..263], &header[263..265]) {
                    (b"ustar\0", b"00") => HeaderFormat::Ustar,
                    (b"ustar ", b" \0") => HeaderFormat::Gnu,
                    _ => HeaderFormat::V7,
                };
                let dev = if format == HeaderFormat::V7 {
                    (0, 0)
                } else {
                    (
                        parse_number(&header[329..337]).unwrap_or(0),
                        parse_number(&header[337..345]).unwrap_or(0),
                    )
                };
                let path_not_utf8 = std::str::from_utf8(&path_bytes).is_err();
                archive.entries.push(TarEntry {
                    path: text(path_bytes),
                    path_not_utf8,
                    kind: kind_of(typeflag),
                    typeflag,
                    mode: (mode & 0o7777) as u32,
                    uid,
                    gid,
                    uname: text(uname),
                    gname: text(gname),
                    mtime,
                    mtime_frac,
                    size: size_eff,
                    link: text(link_bytes),
                    dev,
                    // Global records are compared once, archive-wide; only local ones here.
                    pax_extra: pax
                        .into_iter()
                        .filter(|(k, _)| local_keys.contains(k))
                        .map(|(k, v)| (k, text(v)))
                        .collect(),
                    format,
                    offset,
                    raw_header: header,
                    ext: ext_start.take().map_or(offset..offset, |s| s..offset),
                    data: data_start..data_end,
                });
            }
        }
        offset = next;
    }
}

fn kind_of(typeflag: u8) -> EntryKind {
    match typeflag {
        b'0' | 0 | b'7' => EntryKind::File,
        b'5' => EntryKind::Directory,
        b'2' => EntryKind::Symlink,
        b'1' => EntryKind::HardLink,
        _ => EntryKind::Other,
    }
}

/// The path in the header itself: ustar `prefix/name`, or just `name`.
fn header_path(header: &[u8; BLOCK]) -> Vec<u8> {
    let name = until_nul(&header[0..100]);
    let prefix = until_nul(&header[345..500]);
    if &header[257..263] == b"ustar\0" && !prefix.is_empty() {
        let mut path = prefix.to_vec();
        path.push(b'/');
        path.extend_from_slice(name);
        path
    } else {
        name.to_vec()
    }
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

fn check_checksum(header: &[u8; BLOCK], offset: usize) -> Result<(), TarError> {
    let stored = parse_number(&header[148..156]).ok_or(TarError::BadNumber {
        offset,
        field: "chksum",
    })?;
    let unsigned: u64 = header
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    let signed: i64 = header
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                i64::from(b as i8)
            }
        })
        .sum();
    if stored == unsigned || i64::try_from(stored).ok() == Some(signed) {
        Ok(())
    } else {
        Err(TarError::BadChecksum {
            offset,
            stored,
            computed: unsigned,
        })
    }
}

/// Parses a numeric header field: octal text (leading spaces, ending at NUL or space) or
/// base-256 (high bit of the first byte set). An all-NUL or all-space field is 0.
pub fn parse_number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|&b| b & 0x80 != 0) {
        if field[0] == 0xff {
            return None; // negative base-256
        }
        let mut value: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            value = value.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(value);
    }
    let mut value: u64 = 0;
    let mut digits = field.iter().skip_while(|&&b| b == b' ').peekable();
    while let Some(&b) = digits.next() {
        match b {
            b'0'..=b'7' => value = value.checked_mul(8)?.checked_add(u64::from(b - b'0'))?,
            0 | b' ' => return digits.all(|&b| b == 0 || b == b' ').then_some(value),
            _ => return None,
        }
    }
    Some(value)
}

/// Parses PAX records `"<len> <key>=<value>\n"`; `None` when a record is malformed.
fn parse_pax(mut data: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut records = Vec::new();
    while !data.is_empty() {
        if data.iter().all(|&b| b == 0) {
            break;
        }
        let space = data.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&data[..space]).ok()?.parse().ok()?;
        if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
            return None;
        }
        let record = &data[space + 1..len - 1];
        let eq = record.iter().position(|&b| b == b'=')?;
        let key = String::from_utf8_lossy(&record[..eq]).into_owned();
        records.push((key, record[eq + 1..].to_vec()));
        data = &data[len..];
    }
    Some(records)
}

fn parse_pax_time(value: &[u8]) -> Option<(i64, String)> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs = whole.parse::<i64>().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((secs, frac.trim_end_matches('0').to_owned()))
}

/// Whether a path could escape an extraction folder (absolute, `..`, or a drive letter).
pub fn is_unsafe_path(path: &str) -> bool {
    path.starts_with('/')
        || path.starts_with('\\')
        || path.as_bytes().get(1) == Some(&b':')
        || path.split(['/', '\\']).any(|c| c == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_every_encoding() {
        assert_eq!(parse_number(b"000644 \0"), Some(0o644));
        assert_eq!(parse_number(b"0000644\0"), Some(0o644));
        assert_eq!(parse_number(b"\0\0\0\0\0\0\0\0"), Some(0));
        assert_eq!(parse_number(b"   644  "), Some(0o644));
        assert_eq!(parse_number(b"3560116604 \0"), Some(499_162_500));
        assert_eq!(parse_number(b"03560116604 "), Some(499_162_500));
        assert_eq!(
            parse_number(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
            Some(256)
        );
        assert_eq!(parse_number(&[0xff; 12]), None);
        assert_eq!(parse_number(b"12x4"), None);
        assert_eq!(parse_number(b"12 4"), None);
    }

    #[test]
    fn pax_records_parse_and_reject() {
        let ok = parse_pax(b"15 path=a/b.js\n21 mtime=1.500000000\n").unwrap();
        assert_eq!(ok[0], ("path".to_owned(), b"a/b.js".to_vec()));
        assert_eq!(parse_pax_time(&ok[1].1), Some((1, "5".to_owned())));
        assert!(parse_pax(b"99 path=x\n").is_none());
        assert!(parse_pax(b"x path=x\n").is_none());
        assert!(parse_pax(b"9 pathx\n").is_none());
    }

    #[test]
    fn unsafe_paths() {
        for p in [
            "/etc/passwd",
            "package/../../x",
            "..",
            "C:\\x",
            "\\server\\x",
            "a\\..\\b",
        ] {
            assert!(is_unsafe_path(p), "{p}");
        }
        for p in ["package/a..b", "package/.hidden", "package/x/y.js"] {
            assert!(!is_unsafe_path(p), "{p}");
        }
    }
}
