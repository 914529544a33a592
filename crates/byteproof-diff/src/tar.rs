//! The tar layer, parsed as a stream: ustar, GNU (`L`/`K` long names) and PAX (`x` local,
//! `g` global) headers, fed chunk by chunk as the gzip layer decompresses.
//!
//! Nothing is extracted and no entry's data is kept: each entry becomes a small [`TarEntry`]
//! record with its effective metadata, a keyed hash of every raw header field (so two entries
//! whose values are equal can still be told apart by how the fields were encoded), a hash of
//! the extension records before it and of its block padding, and the SHA-256 of its data. A
//! [`Visitor`] sees the data of the entries it asks for, which is how the second pass fetches
//! the few files whose text must be shown.

use std::collections::BTreeMap;
use std::hash::{BuildHasher as _, Hasher as _};
use std::ops::Range;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

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

/// Index of the `uid` field in [`FIELDS`].
pub(crate) const UID_FIELD: usize = 2;

/// Metadata that most npm entries do not have; kept out of line so a record stays small.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RareFields {
    /// Owner name.
    pub uname: String,
    /// Group name.
    pub gname: String,
    /// Fractional part of a PAX mtime (digits after the point, trailing zeros removed).
    pub mtime_frac: String,
    /// Link target for links.
    pub link: String,
    /// Device major and minor numbers.
    pub dev: (u64, u64),
    /// Local PAX records that are not already reflected in the other fields (atime, ctime,
    /// xattrs …). Global records are in [`TarIndex::global_pax`].
    pub pax_extra: BTreeMap<String, String>,
}

static NO_RARE: RareFields = RareFields {
    uname: String::new(),
    gname: String::new(),
    mtime_frac: String::new(),
    link: String::new(),
    dev: (0, 0),
    pax_extra: BTreeMap::new(),
};

/// One archive entry: its effective metadata (PAX and GNU records applied) and the hashes
/// that stand in for its raw bytes.
#[derive(Clone, Debug)]
pub struct TarEntry {
    /// Effective path, lossily decoded as UTF-8.
    pub path: Box<str>,
    /// The path was not valid UTF-8.
    pub path_not_utf8: bool,
    /// The kind of entry.
    pub kind: EntryKind,
    /// The raw typeflag byte.
    pub typeflag: u8,
    /// Header layout.
    pub format: HeaderFormat,
    /// Permission bits (and any set-id bits), `mode & 0o7777`.
    pub mode: u32,
    /// Owner id.
    pub uid: u64,
    /// Group id.
    pub gid: u64,
    /// Modification time, whole seconds.
    pub mtime: i64,
    /// Data size.
    pub size: u64,
    /// Offset of this entry's own header block in the tar.
    pub offset: u64,
    rare: Option<Box<RareFields>>,
    /// A keyed hash of each raw header field of [`FIELDS`], in that order.
    pub field_hashes: [u32; 17],
    /// A keyed hash of the extension headers and records (PAX `x`, GNU `L`/`K`) before it.
    pub ext_hash: u64,
    /// A keyed hash of the block padding after its data.
    pub pad_hash: u64,
    /// SHA-256 of its data (all zeros until the data has been read, or when not hashed).
    pub sha256: [u8; 32],
}

impl TarEntry {
    /// Owner name, group name, link target, PAX extras: the fields most entries leave empty.
    pub fn rare(&self) -> &RareFields {
        self.rare.as_deref().unwrap_or(&NO_RARE)
    }

    /// Owner name.
    pub fn uname(&self) -> &str {
        &self.rare().uname
    }

    /// Group name.
    pub fn gname(&self) -> &str {
        &self.rare().gname
    }

    /// Link target.
    pub fn link(&self) -> &str {
        &self.rare().link
    }

    /// Bytes this record holds, counted against [`TarLimits::max_index_bytes`].
    fn retained_bytes(&self) -> u64 {
        let rare = self.rare.as_deref().map_or(0, |r| {
            std::mem::size_of::<RareFields>()
                + r.uname.len()
                + r.gname.len()
                + r.mtime_frac.len()
                + r.link.len()
                + r.pax_extra
                    .iter()
                    .map(|(k, v)| k.len() + v.len() + 64)
                    .sum::<usize>()
        });
        (std::mem::size_of::<Self>() + self.path.len() + rare) as u64
    }
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
        offset: u64,
        /// Its claimed size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// The records kept for the entries reached the index cap.
    IndexSize {
        /// The cap.
        limit: u64,
    },
}

/// What one side's tar layer holds, in small records.
#[derive(Clone, Debug, Default)]
pub struct TarIndex {
    /// Entries in archive order.
    pub entries: Vec<TarEntry>,
    /// Global PAX records (`g`), in order.
    pub global_pax: BTreeMap<String, String>,
    /// A keyed hash of the raw bytes of every global PAX header and its records.
    pub global_raw_hash: u64,
    /// Offset of the end-of-archive marker, if one was found.
    pub end_marker: Option<u64>,
    /// Bytes from the end-of-archive marker to the end (zero blocks and record padding).
    pub end_len: u64,
    /// Non-zero bytes after the end-of-archive marker.
    pub end_nonzero: bool,
    /// Parsing stopped early at a cap.
    pub stopped: Option<TarStop>,
    /// The raw header of the first entry (for the producer fingerprint).
    pub first_header: Option<Box<[u8; BLOCK]>>,
}

/// Limits for [`TarParser`].
#[derive(Clone, Copy, Debug)]
pub struct TarLimits {
    /// Stop after this many entries.
    pub max_entries: usize,
    /// Largest PAX or GNU long-name record accepted.
    pub max_extension_bytes: u64,
    /// Stop when the entry records would hold more than this many bytes.
    pub max_index_bytes: u64,
}

/// Sees the entries as they are parsed, and the data of those it asks for.
pub(crate) trait Visitor {
    /// A new entry; returns whether [`Visitor::data`] should see its data.
    fn entry(&mut self, index: usize, entry: &TarEntry) -> bool;
    /// The next chunk of a wanted entry's data.
    fn data(&mut self, index: usize, chunk: &[u8]);
    /// A wanted entry's data is complete.
    fn entry_end(&mut self, _index: usize) {}
    /// Whether nothing more is wanted, so the reading can stop.
    fn done(&self) -> bool {
        false
    }
}

/// Keys for the field, extension and padding hashes; both sides of one diff share them, and
/// they are random per run so nobody can craft a collision ahead of time.
#[derive(Clone, Debug, Default)]
pub(crate) struct HashKeys(std::hash::RandomState);

impl HashKeys {
    fn field(&self, bytes: &[u8]) -> u32 {
        self.0.hash_one(bytes) as u32
    }

    pub(crate) fn hasher(&self) -> std::hash::DefaultHasher {
        self.0.build_hasher()
    }
}

/// Who owns the block padding being read.
#[derive(Clone, Copy)]
enum Owner {
    Entry,
    Extension,
    Global,
}

enum State {
    /// Collecting a 512-byte header.
    Header,
    /// Collecting an extension record's data (`x`, `g`, `L`, `K`).
    Extension {
        typeflag: u8,
        header_offset: u64,
        size: u64,
        data: Vec<u8>,
    },
    /// Inside an entry's data.
    Data {
        index: usize,
        remaining: u64,
        pad: u64,
        wanted: bool,
    },
    /// Inside the block padding after data or an extension record.
    Padding { remaining: u64, owner: Owner },
    /// After the end-of-archive marker.
    End,
    /// A cap stopped the parse.
    Stopped,
}

/// A push parser: [`TarParser::feed`] takes decompressed bytes as they come.
pub(crate) struct TarParser {
    limits: TarLimits,
    keys: HashKeys,
    keep_records: bool,
    state: State,
    offset: u64,
    block: Vec<u8>,
    pending_pax: BTreeMap<String, Vec<u8>>,
    pending_long_name: Option<Vec<u8>>,
    pending_long_link: Option<Vec<u8>>,
    ext_hasher: Option<std::hash::DefaultHasher>,
    global: BTreeMap<String, Vec<u8>>,
    global_hasher: std::hash::DefaultHasher,
    seen_global: bool,
    count: usize,
    retained: u64,
    content: Sha256,
    pad_hasher: std::hash::DefaultHasher,
    /// The entry or record whose data is being read: path, header offset and size, for a
    /// `Truncated` error.
    current: Option<(Box<str>, u64, u64)>,
    record: Option<TarEntry>,
    /// The parsed index.
    pub(crate) index: TarIndex,
}

impl TarParser {
    /// A parser that keeps every record (`keep_records`, the first pass) or only numbers them
    /// for a [`Visitor`] (later passes).
    pub(crate) fn new(limits: TarLimits, keys: HashKeys, keep_records: bool) -> Self {
        let global_hasher = keys.hasher();
        let pad_hasher = keys.hasher();
        Self {
            limits,
            keys,
            keep_records,
            state: State::Header,
            offset: 0,
            block: Vec::with_capacity(BLOCK),
            pending_pax: BTreeMap::new(),
            pending_long_name: None,
            pending_long_link: None,
            ext_hasher: None,
            global: BTreeMap::new(),
            global_hasher,
            seen_global: false,
            count: 0,
            retained: 0,
            content: Sha256::new(),
            pad_hasher,
            current: None,
            record: None,
            index: TarIndex::default(),
        }
    }

    /// Whether a cap stopped the parse: nothing more will be read.
    pub(crate) fn stopped(&self) -> bool {
        matches!(self.state, State::Stopped)
    }

    fn stop(&mut self, why: TarStop) {
        self.index.stopped = Some(why);
        self.state = State::Stopped;
    }

    /// Parses the next chunk of tar bytes.
    pub(crate) fn feed(
        &mut self,
        mut chunk: &[u8],
        visitor: &mut dyn Visitor,
    ) -> Result<(), TarError> {
        while !chunk.is_empty() {
            let taken = match &mut self.state {
                State::Stopped => return Ok(()),
                State::End => {
                    self.index.end_len += chunk.len() as u64;
                    if chunk.iter().any(|&b| b != 0) {
                        self.index.end_nonzero = true;
                    }
                    chunk.len()
                }
                State::Header => {
                    let take = (BLOCK - self.block.len()).min(chunk.len());
                    self.block.extend_from_slice(&chunk[..take]);
                    take
                }
                State::Extension { size, data, .. } => {
                    let want = (*size - data.len() as u64).min(chunk.len() as u64) as usize;
                    data.extend_from_slice(&chunk[..want]);
                    want
                }
                State::Data {
                    index,
                    remaining,
                    wanted,
                    ..
                } => {
                    let take = (*remaining).min(chunk.len() as u64) as usize;
                    let part = &chunk[..take];
                    if self.keep_records {
                        self.content.update(part);
                    }
                    if *wanted {
                        visitor.data(*index, part);
                    }
                    *remaining -= take as u64;
                    take
                }
                State::Padding { remaining, owner } => {
                    let take = (*remaining).min(chunk.len() as u64) as usize;
                    let part = &chunk[..take];
                    match owner {
                        Owner::Entry => self.pad_hasher.write(part),
                        Owner::Global => self.global_hasher.write(part),
                        Owner::Extension => {
                            if let Some(h) = self.ext_hasher.as_mut() {
                                h.write(part);
                            }
                        }
                    }
                    *remaining -= take as u64;
                    take
                }
            };
            self.offset += taken as u64;
            chunk = &chunk[taken..];
            self.step(visitor)?;
        }
        Ok(())
    }

    /// Moves to the next state when the current one is complete.
    fn step(&mut self, visitor: &mut dyn Visitor) -> Result<(), TarError> {
        match &self.state {
            State::Header if self.block.len() == BLOCK => {
                let mut header = [0u8; BLOCK];
                header.copy_from_slice(&self.block);
                self.block.clear();
                self.header(&header, visitor)
            }
            State::Extension { size, data, .. } if data.len() as u64 == *size => {
                self.extension_done()
            }
            State::Data {
                remaining: 0,
                pad,
                index,
                wanted,
            } => {
                let pad = *pad;
                if *wanted {
                    visitor.entry_end(*index);
                }
                if let Some(record) = self.record.as_mut() {
                    record.sha256 = std::mem::replace(&mut self.content, Sha256::new())
                        .finalize()
                        .into();
                }
                self.current = None;
                self.pad_or_header(pad, Owner::Entry);
                Ok(())
            }
            State::Padding {
                remaining: 0,
                owner,
            } => {
                let owner = *owner;
                self.padding_done(owner);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn pad_or_header(&mut self, pad: u64, owner: Owner) {
        self.state = State::Padding {
            remaining: pad,
            owner,
        };
        if pad == 0 {
            self.padding_done(owner);
        }
    }

    fn padding_done(&mut self, owner: Owner) {
        self.state = State::Header;
        match owner {
            Owner::Entry => self.entry_done(),
            Owner::Global => self.index.global_raw_hash = self.global_hasher.clone().finish(),
            Owner::Extension => {}
        }
    }

    fn entry_done(&mut self) {
        if let Some(mut record) = self.record.take() {
            record.pad_hash = std::mem::replace(&mut self.pad_hasher, self.keys.hasher()).finish();
            if self.keep_records {
                self.index.entries.push(record);
            }
        }
    }

    /// Called when the input ends; `capped` when it ended at the decompression cap.
    pub(crate) fn finish(&mut self, capped: bool) -> Result<(), TarError> {
        let clean_end = match &self.state {
            State::End | State::Stopped => return Ok(()),
            State::Header => self.block.is_empty() && self.offset > 0,
            State::Padding { .. } => true,
            State::Extension { .. } | State::Data { .. } => false,
        };
        if capped {
            self.stop(TarStop::DecompressedCap);
            return Ok(());
        }
        if clean_end {
            return Ok(());
        }
        if let Some((path, offset, size)) = self.current.take() {
            return Err(TarError::Truncated {
                path: path.into(),
                offset: offset as usize,
                size,
            });
        }
        if self.count == 0 && self.ext_hasher.is_none() && !self.seen_global {
            return Err(TarError::NotTar);
        }
        Err(TarError::Truncated {
            path: String::new(),
            offset: (self.offset - self.block.len() as u64) as usize,
            size: 0,
        })
    }

    fn header(&mut self, header: &[u8; BLOCK], visitor: &mut dyn Visitor) -> Result<(), TarError> {
        let offset = self.offset - BLOCK as u64;
        let at = offset as usize;
        if header.iter().all(|&b| b == 0) {
            self.index.end_marker = Some(offset);
            self.index.end_len = BLOCK as u64;
            self.state = State::End;
            return Ok(());
        }
        let first = self.count == 0 && self.ext_hasher.is_none() && !self.seen_global;
        check_checksum(header, at).map_err(|err| if first { TarError::NotTar } else { err })?;
        let num = |field: &'static str, range: Range<usize>| {
            parse_number(&header[range]).ok_or(TarError::BadNumber { offset: at, field })
        };
        let size = num("size", 124..136)?;
        let typeflag = header[156];
        let raw_name = header_path(header);
        if matches!(typeflag, b'x' | b'g' | b'L' | b'K') {
            if size > self.limits.max_extension_bytes {
                self.stop(TarStop::ExtensionSize {
                    offset,
                    size,
                    limit: self.limits.max_extension_bytes,
                });
                return Ok(());
            }
            if typeflag == b'g' {
                self.seen_global = true;
                self.global_hasher.write(header);
            } else {
                let keys = &self.keys;
                self.ext_hasher
                    .get_or_insert_with(|| keys.hasher())
                    .write(header);
            }
            self.current = Some((String::from_utf8_lossy(&raw_name).into(), offset, size));
            self.state = State::Extension {
                typeflag,
                header_offset: offset,
                size,
                data: Vec::new(),
            };
            return self.step(visitor);
        }
        if self.count >= self.limits.max_entries {
            self.stop(TarStop::Entries {
                limit: self.limits.max_entries,
            });
            return Ok(());
        }
        let local = std::mem::take(&mut self.pending_pax);
        let local_keys: Vec<String> = local.keys().cloned().collect();
        let mut pax = self.global.clone();
        pax.extend(local);
        let path_bytes = pax
            .remove("path")
            .or_else(|| self.pending_long_name.take())
            .unwrap_or(raw_name);
        self.pending_long_name = None;
        let link_bytes = pax
            .remove("linkpath")
            .or_else(|| self.pending_long_link.take())
            .unwrap_or_else(|| until_nul(&header[157..257]).to_vec());
        self.pending_long_link = None;
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
        let (mtime, mtime_frac) = match pax.remove("mtime").and_then(|v| parse_pax_time(&v)) {
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
        let rare = RareFields {
            uname: text(uname),
            gname: text(gname),
            mtime_frac,
            link: text(link_bytes),
            dev,
            // Global records are compared once, archive-wide; only local ones here.
            pax_extra: pax
                .into_iter()
                .filter(|(k, _)| local_keys.contains(k))
                .map(|(k, v)| (k, text(v)))
                .collect(),
        };
        let mut field_hashes = [0u32; 17];
        for (slot, (_, range)) in field_hashes.iter_mut().zip(FIELDS) {
            *slot = self.keys.field(&header[range.clone()]);
        }
        let ext_hash = self.ext_hasher.take().map_or(0, |h| h.finish());
        let entry = TarEntry {
            path: text(path_bytes).into(),
            path_not_utf8,
            kind: kind_of(typeflag),
            typeflag,
            format,
            mode: (mode & 0o7777) as u32,
            uid,
            gid,
            mtime,
            size: size_eff,
            offset,
            rare: (rare != RareFields::default()).then(|| Box::new(rare)),
            field_hashes,
            ext_hash,
            pad_hash: 0,
            sha256: [0; 32],
        };
        self.retained += entry.retained_bytes();
        if self.retained > self.limits.max_index_bytes {
            self.stop(TarStop::IndexSize {
                limit: self.limits.max_index_bytes,
            });
            return Ok(());
        }
        if self.index.first_header.is_none() {
            self.index.first_header = Some(Box::new(*header));
        }
        let index = self.count;
        self.count += 1;
        let wanted = visitor.entry(index, &entry);
        self.current = Some((entry.path.clone(), offset, size));
        self.record = Some(entry);
        self.content = Sha256::new();
        // The header's size field says how much data follows, whatever a PAX `size` claims.
        self.state = State::Data {
            index,
            remaining: size,
            pad: padding(size),
            wanted,
        };
        self.step(visitor)
    }

    fn extension_done(&mut self) -> Result<(), TarError> {
        let State::Extension {
            typeflag,
            header_offset,
            size,
            data,
        } = std::mem::replace(&mut self.state, State::Header)
        else {
            return Ok(());
        };
        let at = header_offset as usize;
        match typeflag {
            b'x' => {
                if let Some(h) = self.ext_hasher.as_mut() {
                    h.write(&data);
                }
                for (k, v) in parse_pax(&data).ok_or(TarError::BadPax { offset: at })? {
                    self.pending_pax.insert(k, v);
                }
            }
            b'g' => {
                self.global_hasher.write(&data);
                for (k, v) in parse_pax(&data).ok_or(TarError::BadPax { offset: at })? {
                    self.retained += (k.len() + v.len()) as u64;
                    self.global.insert(k.clone(), v.clone());
                    self.index
                        .global_pax
                        .insert(k, String::from_utf8_lossy(&v).into_owned());
                }
            }
            b'L' => {
                if let Some(h) = self.ext_hasher.as_mut() {
                    h.write(&data);
                }
                self.pending_long_name = Some(until_nul(&data).to_vec());
            }
            _ => {
                if let Some(h) = self.ext_hasher.as_mut() {
                    h.write(&data);
                }
                self.pending_long_link = Some(until_nul(&data).to_vec());
            }
        }
        self.current = None;
        let owner = if typeflag == b'g' {
            Owner::Global
        } else {
            Owner::Extension
        };
        self.pad_or_header(padding(size), owner);
        Ok(())
    }
}

/// Zero bytes that follow `size` bytes of data to fill the last block.
fn padding(size: u64) -> u64 {
    size.div_ceil(BLOCK as u64) * BLOCK as u64 - size
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
