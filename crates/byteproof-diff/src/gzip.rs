//! The gzip layer, read by hand: every header field verbatim, every member, trailing bytes,
//! CRC-32 and ISIZE checks, and decompression into a buffer bounded by a cap.
//!
//! flate2 is used only as a raw deflate engine ([`flate2::Decompress`] without a zlib header)
//! and for its CRC-32 ([`flate2::Crc`]); the framing (RFC 1952) is parsed here so that XFL, OS
//! and the optional fields are seen exactly as written.

use std::ops::Range;

use flate2::{Crc, Decompress, FlushDecompress, Status};
use serde::Serialize;

use crate::error::GzipError;

const FTEXT: u8 = 0x01;
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const RESERVED: u8 = 0xe0;

/// One gzip member header, field by field (RFC 1952 §2.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GzipHeader {
    /// CM, the compression method (always 8, deflate, once parsed).
    pub cm: u8,
    /// FLG, the flag byte, verbatim.
    pub flg: u8,
    /// FTEXT: the compressor guessed the data is text.
    pub ftext: bool,
    /// MTIME, little-endian seconds since the epoch; 0 means "not set".
    pub mtime: u32,
    /// XFL, extra flags: 2 = slowest/best (level 9), 4 = fastest, 0 otherwise.
    pub xfl: u8,
    /// OS, the operating system code: 3 Unix, 10 Windows (NTFS), 19 macOS (zlib), 255 unknown.
    pub os: u8,
    /// FEXTRA payload, as lowercase hex.
    pub extra: Option<String>,
    /// FNAME, the original file name (lossily decoded; the raw bytes are compared).
    pub name: Option<String>,
    /// FCOMMENT, the comment (lossily decoded; the raw bytes are compared).
    pub comment: Option<String>,
    /// FHCRC: the stored header CRC-16, when present.
    pub header_crc: Option<u16>,
    /// Whether the stored header CRC-16 matches the header bytes (`None` without FHCRC).
    pub header_crc_ok: Option<bool>,
    /// Length of the header in bytes (10 plus the optional fields).
    pub len: usize,
    #[serde(skip)]
    pub(crate) raw_extra: Option<Vec<u8>>,
    #[serde(skip)]
    pub(crate) raw_name: Option<Vec<u8>>,
    #[serde(skip)]
    pub(crate) raw_comment: Option<Vec<u8>>,
}

impl GzipHeader {
    /// A short name for [`GzipHeader::os`], for reports.
    pub fn os_name(&self) -> &'static str {
        os_name(self.os)
    }
}

/// A short name for a gzip OS code.
pub fn os_name(os: u8) -> &'static str {
    match os {
        0 => "FAT",
        3 => "Unix",
        7 => "Macintosh (classic)",
        10 => "Windows NTFS",
        11 => "Windows NTFS (zlib < 1.2.11)",
        19 => "macOS (zlib)",
        255 => "unknown (node-tar portable)",
        _ => "other",
    }
}

/// Parses the gzip member header starting at `data[offset..]`.
pub fn parse_header(data: &[u8], offset: usize) -> Result<GzipHeader, GzipError> {
    let d = data.get(offset..).unwrap_or_default();
    match d {
        [0x1f, 0x8b, ..] => {}
        [0x1f] => {
            return Err(GzipError::Truncated {
                what: "gzip header",
                offset: offset + 1,
            });
        }
        _ => return Err(GzipError::NotGzip),
    }
    if d.len() < 10 {
        return Err(GzipError::Truncated {
            what: "gzip header",
            offset: offset + d.len(),
        });
    }
    let cm = d[2];
    if cm != 8 {
        return Err(GzipError::UnsupportedMethod(cm));
    }
    let flg = d[3];
    if flg & RESERVED != 0 {
        return Err(GzipError::ReservedFlags { offset, flg });
    }
    let mtime = u32::from_le_bytes([d[4], d[5], d[6], d[7]]);
    let (xfl, os) = (d[8], d[9]);
    let mut pos = 10;
    let truncated = |what, at: usize| GzipError::Truncated {
        what,
        offset: offset + at,
    };
    let mut raw_extra = None;
    if flg & FEXTRA != 0 {
        let len_bytes = d
            .get(pos..pos + 2)
            .ok_or_else(|| truncated("gzip FEXTRA length", pos))?;
        let xlen = usize::from(u16::from_le_bytes([len_bytes[0], len_bytes[1]]));
        pos += 2;
        let extra = d
            .get(pos..pos + xlen)
            .ok_or_else(|| truncated("gzip FEXTRA field", pos))?;
        raw_extra = Some(extra.to_vec());
        pos += xlen;
    }
    let zero_terminated = |pos: &mut usize, what| -> Result<Vec<u8>, GzipError> {
        let rest = d.get(*pos..).unwrap_or_default();
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| truncated(what, d.len()))?;
        let value = rest[..end].to_vec();
        *pos += end + 1;
        Ok(value)
    };
    let raw_name = if flg & FNAME != 0 {
        Some(zero_terminated(&mut pos, "gzip FNAME")?)
    } else {
        None
    };
    let raw_comment = if flg & FCOMMENT != 0 {
        Some(zero_terminated(&mut pos, "gzip FCOMMENT")?)
    } else {
        None
    };
    let (header_crc, header_crc_ok) = if flg & FHCRC != 0 {
        let b = d
            .get(pos..pos + 2)
            .ok_or_else(|| truncated("gzip FHCRC", pos))?;
        let stored = u16::from_le_bytes([b[0], b[1]]);
        let mut crc = Crc::new();
        crc.update(&d[..pos]);
        pos += 2;
        (Some(stored), Some((crc.sum() & 0xffff) as u16 == stored))
    } else {
        (None, None)
    };
    Ok(GzipHeader {
        cm,
        flg,
        ftext: flg & FTEXT != 0,
        mtime,
        xfl,
        os,
        extra: raw_extra.as_deref().map(hex),
        name: raw_name
            .as_deref()
            .map(|n| String::from_utf8_lossy(n).into_owned()),
        comment: raw_comment
            .as_deref()
            .map(|c| String::from_utf8_lossy(c).into_owned()),
        header_crc,
        header_crc_ok,
        len: pos,
        raw_extra,
        raw_name,
        raw_comment,
    })
}

/// One gzip member: header, where its deflate data lies, and its trailer checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GzipMember {
    /// Offset of the member's first byte in the .tgz.
    pub offset: usize,
    /// The parsed header.
    pub header: GzipHeader,
    /// Byte range of the raw deflate stream in the .tgz.
    #[serde(skip)]
    pub body: Range<usize>,
    /// Length of the raw deflate stream.
    pub compressed_len: usize,
    /// Bytes this member decompressed to (up to the cap).
    pub decompressed_len: u64,
    /// CRC-32 from the trailer (`None` when decompression stopped at the cap).
    pub crc32: Option<u32>,
    /// Whether the trailer CRC-32 matches the decompressed bytes.
    pub crc_ok: Option<bool>,
    /// ISIZE from the trailer.
    pub isize: Option<u32>,
    /// Whether ISIZE equals the decompressed length modulo 2^32.
    pub isize_ok: Option<bool>,
}

/// The whole gzip layer of one side, and the tar bytes inside it.
#[derive(Clone, Debug)]
pub struct Gunzipped {
    /// Every member, in order.
    pub members: Vec<GzipMember>,
    /// Bytes after the last member that do not start another member.
    pub trailing: Range<usize>,
    /// The concatenated decompressed bytes (the tar), at most the cap.
    pub tar: Vec<u8>,
    /// Decompression stopped because the output reached the cap.
    pub capped: bool,
}

const CHUNK: usize = 64 * 1024;

/// Decompresses every gzip member of `data`, keeping at most `cap` output bytes.
///
/// A stream that would exceed `cap` stops there with [`Gunzipped::capped`] set (a gzip bomb
/// costs at most `cap` bytes of memory). Bytes after the last member are reported in
/// [`Gunzipped::trailing`], not treated as an error; truncation and corrupt deflate data are.
pub fn gunzip(data: &[u8], cap: u64) -> Result<Gunzipped, GzipError> {
    let mut members = Vec::new();
    let mut tar = Vec::new();
    let mut offset = 0usize;
    let mut capped = false;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let header = parse_header(data, offset)?;
        let body_start = offset + header.len;
        let mut inflater = Decompress::new(false);
        let mut crc = Crc::new();
        let mut in_pos = body_start;
        let mut out_len: u64 = 0;
        let status = loop {
            let before_in = inflater.total_in();
            let before_out = inflater.total_out();
            let result = inflater.decompress(&data[in_pos..], &mut buf, FlushDecompress::None);
            let consumed = (inflater.total_in() - before_in) as usize;
            let produced = (inflater.total_out() - before_out) as usize;
            in_pos += consumed;
            let room = cap.saturating_sub(tar.len() as u64);
            let keep = produced.min(usize::try_from(room).unwrap_or(usize::MAX));
            tar.extend_from_slice(&buf[..keep]);
            crc.update(&buf[..keep]);
            out_len += keep as u64;
            if keep < produced {
                capped = true;
                break Status::Ok;
            }
            match result {
                Ok(Status::StreamEnd) => break Status::StreamEnd,
                Ok(_) if consumed == 0 && produced == 0 => {
                    return Err(GzipError::Truncated {
                        what: "deflate stream",
                        offset: in_pos,
                    });
                }
                Ok(_) => {}
                Err(err) => {
                    return Err(GzipError::Corrupt {
                        offset,
                        message: err.to_string(),
                    });
                }
            }
        };
        let body = body_start..in_pos;
        if capped || status != Status::StreamEnd {
            members.push(GzipMember {
                offset,
                compressed_len: body.len(),
                header,
                body,
                decompressed_len: out_len,
                crc32: None,
                crc_ok: None,
                isize: None,
                isize_ok: None,
            });
            return Ok(Gunzipped {
                members,
                trailing: data.len()..data.len(),
                tar,
                capped: true,
            });
        }
        let trailer = data.get(in_pos..in_pos + 8).ok_or(GzipError::Truncated {
            what: "gzip trailer",
            offset: in_pos,
        })?;
        let stored_crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let stored_isize = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        members.push(GzipMember {
            offset,
            compressed_len: body.len(),
            header,
            body,
            decompressed_len: out_len,
            crc32: Some(stored_crc),
            crc_ok: Some(crc.sum() == stored_crc),
            isize: Some(stored_isize),
            isize_ok: Some(out_len as u32 == stored_isize),
        });
        offset = in_pos + 8;
        if offset == data.len() {
            return Ok(Gunzipped {
                members,
                trailing: offset..offset,
                tar,
                capped,
            });
        }
        // Another member only if the rest parses as a gzip header; anything else is trailing data.
        if parse_header(data, offset).is_err() {
            return Ok(Gunzipped {
                members,
                trailing: offset..data.len(),
                tar,
                capped,
            });
        }
    }
}

/// Lowercase hex of a byte slice.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}
