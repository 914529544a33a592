//! The gzip layer, read as a stream: every header field verbatim, every member, trailing
//! bytes, CRC-32 and ISIZE checks, and decompression handed chunk by chunk to a sink, bounded
//! by caps on output size, compression ratio and member count.
//!
//! zlib-rs is the raw deflate engine (the fastest one measured; no zlib or gzip framing of its
//! own), and its CRC-32 checks the trailers; the framing (RFC 1952) is parsed here so that XFL,
//! OS and the optional fields are seen exactly as written.

use std::io::{self, Read};
use std::ops::Range;

use byteproof_hash::{Digests, MultiHasher};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use zlib_rs::{Inflate, InflateFlush, Status};

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
        let crc = zlib_rs::crc32::crc32(0, &d[..pos]);
        pos += 2;
        (Some(stored), Some((crc & 0xffff) as u16 == stored))
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
        extra: raw_extra.as_deref().map(byteproof_hash::hex),
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
    pub offset: u64,
    /// The parsed header.
    pub header: GzipHeader,
    /// Byte range of the raw deflate stream in the .tgz.
    #[serde(skip)]
    pub body: Range<u64>,
    /// SHA-256 of the raw deflate stream.
    #[serde(skip)]
    pub body_sha256: [u8; 32],
    /// Length of the raw deflate stream.
    pub compressed_len: u64,
    /// Bytes this member decompressed to (up to the cap).
    pub decompressed_len: u64,
    /// CRC-32 from the trailer (`None` when decompression stopped at a cap).
    pub crc32: Option<u32>,
    /// Whether the trailer CRC-32 matches the decompressed bytes.
    pub crc_ok: Option<bool>,
    /// ISIZE from the trailer.
    pub isize: Option<u32>,
    /// Whether ISIZE equals the decompressed length modulo 2^32.
    pub isize_ok: Option<bool>,
}

/// Which gzip-layer cap stopped decompression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GzipCap {
    /// The decompressed output reached its cap.
    DecompressedSize,
    /// The output grew past the allowed multiple of the input read (a gzip bomb).
    Ratio,
    /// There were more gzip members than allowed.
    Members,
}

/// The whole gzip layer of one side, without the tar bytes inside it.
#[derive(Clone, Debug, Default)]
pub struct GzipLayer {
    /// Every member read, in order.
    pub members: Vec<GzipMember>,
    /// Bytes after the last member that do not start another member.
    pub trailing_len: u64,
    /// SHA-256 of those bytes.
    pub trailing_sha256: [u8; 32],
    /// Bytes decompressed (up to the caps).
    pub decompressed: u64,
    /// The cap that stopped decompression, if any.
    pub capped: Option<GzipCap>,
}

/// Limits for [`gunzip`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct GzipLimits {
    /// Most bytes decompressed.
    pub(crate) max_decompressed: u64,
    /// Most output bytes per input byte, checked once `ratio_floor` bytes are out (0: off).
    pub(crate) max_ratio: u64,
    /// Output below which the ratio is not checked.
    pub(crate) ratio_floor: u64,
    /// Most gzip members.
    pub(crate) max_members: usize,
    /// Longest FNAME or FCOMMENT.
    pub(crate) max_field: usize,
}

/// What stopped a read: the gzip layer, the reader, or the sink.
#[derive(Debug)]
pub(crate) enum ReadError<E> {
    Gzip(GzipError),
    Io(io::Error),
    Sink(E),
}

impl<E> From<io::Error> for ReadError<E> {
    fn from(err: io::Error) -> Self {
        ReadError::Io(err)
    }
}

const CHUNK: usize = 64 * 1024;

/// A buffered reader that knows its offset and can hash every byte it reads.
pub(crate) struct Input<'a> {
    reader: Box<dyn Read + Send + 'a>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    pos: u64,
    eof: bool,
    hasher: Option<MultiHasher>,
}

impl<'a> Input<'a> {
    /// Reads `reader`; `hash` hashes every byte (SHA-1, SHA-256, SHA-512).
    pub(crate) fn new(reader: Box<dyn Read + Send + 'a>, hash: bool) -> Self {
        Self {
            reader,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            pos: 0,
            eof: false,
            hasher: hash.then(MultiHasher::new),
        }
    }

    /// Offset of the next unconsumed byte.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    pub(crate) fn available(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n;
        self.pos += n as u64;
    }

    /// Makes at least one byte available; false at the end of input.
    pub(crate) fn fill(&mut self) -> io::Result<bool> {
        if self.start < self.end {
            return Ok(true);
        }
        self.start = 0;
        self.end = 0;
        while !self.eof {
            match self.reader.read(&mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    if let Some(h) = self.hasher.as_mut() {
                        h.update(&self.buf[..n]);
                    }
                    self.end = n;
                    return Ok(true);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(false)
    }

    /// Moves up to `n` bytes into `out`; fewer only at the end of input.
    fn take(&mut self, n: usize, out: &mut Vec<u8>) -> io::Result<()> {
        let mut left = n;
        while left > 0 && self.fill()? {
            let k = left.min(self.available().len());
            out.extend_from_slice(&self.available()[..k]);
            self.consume(k);
            left -= k;
        }
        Ok(())
    }

    /// Hands every remaining byte to `f`.
    fn drain_with(&mut self, mut f: impl FnMut(&[u8])) -> io::Result<()> {
        while self.fill()? {
            let n = self.available().len();
            f(self.available());
            self.consume(n);
        }
        Ok(())
    }

    /// Skips forward to `offset` (no-op when already there or past it).
    pub(crate) fn skip_to(&mut self, offset: u64) -> io::Result<()> {
        while self.pos < offset && self.fill()? {
            let k = ((offset - self.pos) as usize).min(self.available().len());
            self.consume(k);
        }
        Ok(())
    }

    /// Reads up to `out.len()` bytes; 0 only at the end.
    pub(crate) fn read_into(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.fill()? {
            return Ok(0);
        }
        let k = out.len().min(self.available().len());
        out[..k].copy_from_slice(&self.available()[..k]);
        self.consume(k);
        Ok(k)
    }

    /// Reads the rest of the input (so that its digests cover every byte) and returns them.
    pub(crate) fn finish(mut self) -> io::Result<Option<Digests>> {
        self.drain_with(|_| {})?;
        Ok(self.hasher.map(MultiHasher::finish))
    }
}

/// Reads one member header; on failure, the error and the bytes read while trying.
fn read_header(
    input: &mut Input<'_>,
    max_field: usize,
) -> Result<Result<GzipHeader, (GzipError, Vec<u8>)>, io::Error> {
    let base = input.pos() as usize;
    let mut raw = Vec::with_capacity(16);
    input.take(10, &mut raw)?;
    let fail = |raw: &[u8]| parse_header(raw, 0).err().unwrap_or(GzipError::NotGzip);
    if raw.len() < 10 || raw[..3] != [0x1f, 0x8b, 8] || raw[3] & RESERVED != 0 {
        let err = shift(fail(&raw), base);
        return Ok(Err((err, raw)));
    }
    let flg = raw[3];
    if flg & FEXTRA != 0 {
        input.take(2, &mut raw)?;
        if raw.len() == 12 {
            let xlen = usize::from(u16::from_le_bytes([raw[10], raw[11]]));
            input.take(xlen, &mut raw)?;
        }
    }
    for (flag, what) in [(FNAME, "gzip FNAME"), (FCOMMENT, "gzip FCOMMENT")] {
        if flg & flag == 0 {
            continue;
        }
        let start = raw.len();
        loop {
            let before = raw.len();
            input.take(1, &mut raw)?;
            if raw.len() == before || raw[before] == 0 {
                break;
            }
            if raw.len() - start > max_field {
                let err = GzipError::FieldTooLong {
                    what,
                    offset: base + start,
                    limit: max_field,
                };
                return Ok(Err((err, raw)));
            }
        }
    }
    if flg & FHCRC != 0 {
        input.take(2, &mut raw)?;
    }
    Ok(parse_header(&raw, 0).map_err(|err| (shift(err, base), raw)))
}

/// The same error, with its offsets counted from `base`.
fn shift(err: GzipError, base: usize) -> GzipError {
    match err {
        GzipError::Truncated { what, offset } => GzipError::Truncated {
            what,
            offset: offset + base,
        },
        GzipError::ReservedFlags { offset, flg } => GzipError::ReservedFlags {
            offset: offset + base,
            flg,
        },
        other => other,
    }
}

/// Decompresses every gzip member of `input`, handing the output to `sink` chunk by chunk.
///
/// `sink` returns false to stop reading (its caller has all it wants). A stream past a cap
/// stops there with [`GzipLayer::capped`] set. Bytes after the last member are counted and
/// hashed as trailing data, not treated as an error; truncation and corrupt deflate data are.
pub(crate) fn gunzip<E>(
    input: &mut Input<'_>,
    limits: &GzipLimits,
    sink: &mut dyn FnMut(&[u8]) -> Result<bool, E>,
) -> Result<GzipLayer, ReadError<E>> {
    let mut layer = GzipLayer::default();
    let mut out = vec![0u8; CHUNK];
    let mut inflater = Inflate::new(false, 15);
    let mut first = true;
    loop {
        let offset = input.pos();
        let header = match read_header(input, limits.max_field)? {
            Ok(header) => header,
            Err((err, _)) if first => return Err(ReadError::Gzip(err)),
            Err((_, raw)) => {
                // Not another member: everything from here on is trailing data.
                let mut hasher = Sha256::new();
                hasher.update(&raw);
                let mut len = raw.len() as u64;
                input.drain_with(|bytes| {
                    hasher.update(bytes);
                    len += bytes.len() as u64;
                })?;
                layer.trailing_len = len;
                layer.trailing_sha256 = hasher.finalize().into();
                return Ok(layer);
            }
        };
        first = false;
        if layer.members.len() >= limits.max_members {
            layer.capped = Some(GzipCap::Members);
            return Ok(layer);
        }
        inflater.reset(false);
        let body_start = input.pos();
        let mut body_hasher = Sha256::new();
        let mut crc = 0u32;
        let mut member_out = 0u64;
        let mut stop = None;
        loop {
            if !input.fill()? {
                return Err(ReadError::Gzip(GzipError::Truncated {
                    what: "deflate stream",
                    offset: input.pos() as usize,
                }));
            }
            let before_in = inflater.total_in();
            let before_out = inflater.total_out();
            let result = inflater.decompress(input.available(), &mut out, InflateFlush::NoFlush);
            let consumed = (inflater.total_in() - before_in) as usize;
            let produced = (inflater.total_out() - before_out) as usize;
            body_hasher.update(&input.available()[..consumed]);
            input.consume(consumed);
            let room = limits.max_decompressed.saturating_sub(layer.decompressed);
            let keep = produced.min(usize::try_from(room).unwrap_or(usize::MAX));
            crc = zlib_rs::crc32::crc32(crc, &out[..keep]);
            member_out += keep as u64;
            layer.decompressed += keep as u64;
            let wanted = keep == 0 || sink(&out[..keep]).map_err(ReadError::Sink)?;
            if keep < produced {
                stop = Some(Some(GzipCap::DecompressedSize));
            } else if limits.max_ratio > 0
                && layer.decompressed > limits.ratio_floor
                && layer.decompressed / limits.max_ratio > input.pos()
            {
                stop = Some(Some(GzipCap::Ratio));
            } else if !wanted {
                stop = Some(None);
            }
            match result {
                Ok(Status::StreamEnd) if stop.is_none() => break,
                Ok(_) if stop.is_some() => break,
                Ok(_) => {}
                Err(err) => {
                    return Err(ReadError::Gzip(GzipError::Corrupt {
                        offset: offset as usize,
                        message: inflater.error_message().unwrap_or(err.as_str()).to_owned(),
                    }));
                }
            }
        }
        let body = body_start..input.pos();
        let mut member = GzipMember {
            offset,
            compressed_len: body.end - body.start,
            header,
            body,
            body_sha256: body_hasher.finalize().into(),
            decompressed_len: member_out,
            crc32: None,
            crc_ok: None,
            isize: None,
            isize_ok: None,
        };
        if let Some(cap) = stop {
            layer.capped = cap;
            layer.members.push(member);
            return Ok(layer);
        }
        let mut trailer = Vec::with_capacity(8);
        input.take(8, &mut trailer)?;
        let [c0, c1, c2, c3, i0, i1, i2, i3] = trailer[..] else {
            return Err(ReadError::Gzip(GzipError::Truncated {
                what: "gzip trailer",
                offset: member.body.end as usize,
            }));
        };
        let stored_crc = u32::from_le_bytes([c0, c1, c2, c3]);
        let stored_isize = u32::from_le_bytes([i0, i1, i2, i3]);
        member.crc32 = Some(stored_crc);
        member.crc_ok = Some(crc == stored_crc);
        member.isize = Some(stored_isize);
        member.isize_ok = Some(member_out as u32 == stored_isize);
        layer.members.push(member);
        if !input.fill()? {
            return Ok(layer);
        }
    }
}
