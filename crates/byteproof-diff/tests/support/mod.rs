//! Test builder: writes tar headers and gzip members byte by byte, so each test controls
//! exactly which field differs.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::io::Write as _;

use flate2::Compression;
use flate2::write::DeflateEncoder;

/// How numeric header fields are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// node-tar (npm): `000644 \0`, NUL-filled uid/gid, size/mtime `%010o \0`.
    Node,
    /// tar-stream (pnpm, yarn): `000644 \0`, uid `000000 \0`, size/mtime `%011o `.
    TarStream,
}

#[derive(Clone, Debug)]
pub struct Ent {
    pub path: Vec<u8>,
    pub data: Vec<u8>,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub uname: String,
    pub gname: String,
    pub mtime: u64,
    pub typeflag: u8,
    pub link: String,
    pub style: Style,
    pub pax: Vec<(String, String)>,
    pub gnu_long: bool,
    pub size_override: Option<u64>,
    pub bad_checksum: bool,
}

pub const NPM_MTIME: u64 = 499_162_500;

impl Ent {
    pub fn file(path: &str, data: &[u8]) -> Self {
        Self {
            path: format!("package/{path}").into_bytes(),
            data: data.to_vec(),
            mode: 0o644,
            uid: 0,
            gid: 0,
            uname: String::new(),
            gname: String::new(),
            mtime: NPM_MTIME,
            typeflag: b'0',
            link: String::new(),
            style: Style::Node,
            pax: Vec::new(),
            gnu_long: false,
            size_override: None,
            bad_checksum: false,
        }
    }
    pub fn dir(path: &str) -> Self {
        Self {
            typeflag: b'5',
            mode: 0o755,
            ..Self::file(&format!("{path}/"), b"")
        }
    }
    pub fn symlink(path: &str, target: &str) -> Self {
        Self {
            typeflag: b'2',
            link: target.into(),
            ..Self::file(path, b"")
        }
    }
    pub fn raw_path(mut self, path: &[u8]) -> Self {
        self.path = path.to_vec();
        self
    }
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    pub fn uid(mut self, v: u64) -> Self {
        self.uid = v;
        self
    }
    pub fn gid(mut self, v: u64) -> Self {
        self.gid = v;
        self
    }
    pub fn uname(mut self, v: &str) -> Self {
        self.uname = v.into();
        self
    }
    pub fn gname(mut self, v: &str) -> Self {
        self.gname = v.into();
        self
    }
    pub fn mtime(mut self, v: u64) -> Self {
        self.mtime = v;
        self
    }
    pub fn style(mut self, s: Style) -> Self {
        self.style = s;
        self
    }
    pub fn pax(mut self, k: &str, v: &str) -> Self {
        self.pax.push((k.into(), v.into()));
        self
    }
    pub fn gnu_long(mut self) -> Self {
        self.gnu_long = true;
        self
    }
    pub fn lie_size(mut self, size: u64) -> Self {
        self.size_override = Some(size);
        self
    }
    pub fn bad_checksum(mut self) -> Self {
        self.bad_checksum = true;
        self
    }
}

fn put(h: &mut [u8], at: usize, bytes: &[u8]) {
    h[at..at + bytes.len()].copy_from_slice(bytes);
}

fn num(style: Style, value: u64, width: usize, nul_if_zero: bool) -> Vec<u8> {
    match style {
        Style::Node if nul_if_zero => vec![0; width],
        Style::Node => format!("{:0w$o} \0", value, w = width - 2).into_bytes(),
        Style::TarStream => format!("{:0w$o} ", value, w = width - 1).into_bytes(),
    }
}

fn small(style: Style, value: u64, nul_if_zero: bool) -> Vec<u8> {
    // mode, uid, gid: both styles write `%06o \0`, node-tar leaves uid/gid NUL in portable mode.
    if style == Style::Node && nul_if_zero {
        return vec![0; 8];
    }
    format!("{value:06o} \0").into_bytes()
}

fn header(name: &[u8], typeflag: u8, size: u64, e: &Ent) -> [u8; 512] {
    let mut h = [0u8; 512];
    put(&mut h, 0, &name[..name.len().min(100)]);
    put(&mut h, 100, &small(e.style, u64::from(e.mode), false));
    put(&mut h, 108, &small(e.style, e.uid, e.uid == 0));
    put(&mut h, 116, &small(e.style, e.gid, e.gid == 0));
    put(&mut h, 124, &num(e.style, size, 12, false));
    put(&mut h, 136, &num(e.style, e.mtime, 12, false));
    h[156] = typeflag;
    put(&mut h, 157, &e.link.as_bytes()[..e.link.len().min(100)]);
    put(&mut h, 257, b"ustar\x0000");
    put(&mut h, 265, e.uname.as_bytes());
    put(&mut h, 297, e.gname.as_bytes());
    h[148..156].fill(b' ');
    let sum: u32 =
        h.iter().map(|&b| u32::from(b)).sum::<u32>() + if e.bad_checksum { 1 } else { 0 };
    put(&mut h, 148, format!("{sum:06o} \0").as_bytes());
    h
}

fn pad(out: &mut Vec<u8>) {
    out.resize(out.len().div_ceil(512) * 512, 0);
}

pub fn pax_records(records: &[(String, String)]) -> Vec<u8> {
    let mut data = Vec::new();
    for (k, v) in records {
        let body = format!(" {k}={v}\n");
        let mut len = body.len() + 1;
        while format!("{len}{body}").len() != len {
            len += 1;
        }
        data.extend_from_slice(format!("{len}{body}").as_bytes());
    }
    data
}

/// Writes a tar archive with two zero blocks at the end.
pub fn tar(entries: &[Ent]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        if !e.pax.is_empty() {
            let data = pax_records(&e.pax);
            let ext = Ent {
                mode: 0o644,
                ..e.clone()
            };
            out.extend_from_slice(&header(b"PaxHeader", b'x', data.len() as u64, &ext));
            out.extend_from_slice(&data);
            pad(&mut out);
        }
        if e.gnu_long && e.link.len() > 100 {
            let mut data = e.link.clone().into_bytes();
            data.push(0);
            out.extend_from_slice(&header(b"././@LongLink", b'K', data.len() as u64, e));
            out.extend_from_slice(&data);
            pad(&mut out);
        }
        if e.gnu_long {
            let mut data = e.path.clone();
            data.push(0);
            out.extend_from_slice(&header(b"././@LongLink", b'L', data.len() as u64, e));
            out.extend_from_slice(&data);
            pad(&mut out);
        }
        let size = e.size_override.unwrap_or(e.data.len() as u64);
        out.extend_from_slice(&header(&e.path, e.typeflag, size, e));
        out.extend_from_slice(&e.data);
        pad(&mut out);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// gzip header fields for [`gz`].
#[derive(Clone, Debug)]
pub struct Gz {
    pub mtime: u32,
    pub xfl: u8,
    pub os: u8,
    pub name: Option<Vec<u8>>,
    pub extra: Option<Vec<u8>>,
    pub comment: Option<Vec<u8>>,
    pub hcrc: bool,
    pub level: u32,
}

impl Default for Gz {
    /// npm's header: `1f8b 08 00 00000000 02 ff`, level 9.
    fn default() -> Self {
        Self {
            mtime: 0,
            xfl: 2,
            os: 255,
            name: None,
            extra: None,
            comment: None,
            hcrc: false,
            level: 9,
        }
    }
}

pub fn deflate(data: &[u8], level: u32) -> Vec<u8> {
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::new(level));
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// One gzip member with exactly these header fields.
pub fn gz_with(data: &[u8], g: &Gz) -> Vec<u8> {
    let mut flg = 0u8;
    if g.hcrc {
        flg |= 0x02;
    }
    if g.extra.is_some() {
        flg |= 0x04;
    }
    if g.name.is_some() {
        flg |= 0x08;
    }
    if g.comment.is_some() {
        flg |= 0x10;
    }
    let mut out = vec![0x1f, 0x8b, 8, flg];
    out.extend_from_slice(&g.mtime.to_le_bytes());
    out.push(g.xfl);
    out.push(g.os);
    if let Some(extra) = &g.extra {
        out.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        out.extend_from_slice(extra);
    }
    for field in [&g.name, &g.comment].into_iter().flatten() {
        out.extend_from_slice(field);
        out.push(0);
    }
    if g.hcrc {
        let mut crc = flate2::Crc::new();
        crc.update(&out);
        out.extend_from_slice(&((crc.sum() & 0xffff) as u16).to_le_bytes());
    }
    out.extend_from_slice(&deflate(data, g.level));
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// npm-style gzip of `data`.
pub fn gz(data: &[u8]) -> Vec<u8> {
    gz_with(data, &Gz::default())
}

/// A small npm-like package: LICENSE, bin/cli.js, index.js, package.json, README.md.
pub fn base() -> Vec<Ent> {
    vec![
        Ent::file("LICENSE", b"MIT License\n"),
        Ent::file("bin/cli.js", b"#!/usr/bin/env node\nrequire('../index.js');\n"),
        Ent::file("index.js", b"'use strict';\nmodule.exports = 42;\n"),
        Ent::file("package.json", b"{\n  \"name\": \"x\",\n  \"version\": \"1.0.0\",\n  \"bin\": { \"x\": \"bin/cli.js\" }\n}\n"),
        Ent::file("README.md", b"# x\n\nHello.\n"),
    ]
}

/// `base()` with one entry (by path under `package/`) changed.
pub fn with(path: &str, edit: impl Fn(Ent) -> Ent) -> Vec<Ent> {
    let full = format!("package/{path}").into_bytes();
    base()
        .into_iter()
        .map(|e| if e.path == full { edit(e) } else { e })
        .collect()
}

pub fn data(e: Ent, bytes: &[u8]) -> Ent {
    Ent {
        data: bytes.to_vec(),
        ..e
    }
}

/// A global PAX header (`g`) block with its records, to put before the entries.
pub fn global_pax(records: &[(&str, &str)]) -> Vec<u8> {
    let records: Vec<(String, String)> = records
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let data = pax_records(&records);
    let e = Ent::file("x", b"");
    let mut out = header(b"pax_global_header", b'g', data.len() as u64, &e).to_vec();
    out.extend_from_slice(&data);
    pad(&mut out);
    out
}

/// One gzip member (npm's header) around an already compressed deflate `body` of `data`.
pub fn gz_body(data: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff];
    out.extend_from_slice(body);
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}
