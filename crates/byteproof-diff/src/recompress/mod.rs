//! Recompression oracle: which deflate engine and level reproduce each side's compressed
//! stream byte for byte.
//!
//! Every engine the Rust ecosystem offers in one build is tried in-process ([`engines`]):
//! zlib-rs (zlib-ng's port, standing in for it), the C zlib flate2 is built with, and
//! miniz_oxide;
//! each `node` binary the caller finds runs Node's own zlib (Chromium's fork) in a subprocess
//! ([`NodeZlib`]). Levels are those npm (9), pnpm (6 by default, any with
//! `--pack-gzip-level`) and yarn (6) use, with the default strategy, window and memory level
//! all three packers keep. The tar is decompressed again for each attempt and the output is
//! compared with each side's stream as it is produced, so memory stays bounded and a wrong
//! guess stops after its first differing byte.

mod engines;
mod node;

use std::io::{self, Read};

pub use engines::{MinizOxide, ZlibC, ZlibRs, builtin_engines};
pub use node::NodeZlib;

use crate::gzip::{GzipMember, Input};
use crate::report::Recompression;
use crate::source::Source;

/// Levels tried, most likely first: npm's 9, the default 6, then the rest pnpm can be told.
pub const LEVELS: [u32; 10] = [9, 6, 1, 2, 3, 4, 5, 7, 8, 0];

/// A deflate engine that can recompress a stream at a given level.
pub trait Compressor {
    /// A name for reports, e.g. `zlib-rs 0.6` or `node v20.20.2 (zlib 1.3.1-e00f703)`.
    fn name(&self) -> String;

    /// Raw deflate (no gzip or zlib framing) of everything `input` yields at `level` (0–9),
    /// with the default strategy, 15 window bits and memory level 8, handed to `sink` chunk
    /// by chunk. Stops early, successfully, when `sink` returns false.
    fn deflate(
        &mut self,
        level: u32,
        input: &mut dyn Read,
        sink: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), String>;
}

/// Raw deflate of `data` at `level` through `engine`, collected (for tests and fixtures).
pub fn deflate_to_vec(
    engine: &mut dyn Compressor,
    level: u32,
    mut data: &[u8],
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    engine.deflate(level, &mut data, &mut |chunk| {
        out.extend_from_slice(chunk);
        true
    })?;
    Ok(out)
}

/// The tar inside a member, decompressed again as a [`Read`].
struct Inflated<'a> {
    input: Input<'a>,
    inflater: zlib_rs::Inflate,
    end: u64,
    done: bool,
}

impl<'a> Inflated<'a> {
    fn open(source: &'a dyn Source, member: &GzipMember) -> io::Result<Self> {
        let mut input = Input::new(source.open()?, false);
        input.skip_to(member.body.start)?;
        Ok(Self {
            input,
            inflater: zlib_rs::Inflate::new(false, 15),
            end: member.body.end,
            done: false,
        })
    }
}

impl Read for Inflated<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while !self.done && !out.is_empty() {
            if !self.input.fill()? || self.input.pos() >= self.end {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the deflate stream ended early on the second read",
                ));
            }
            let room = (self.end - self.input.pos()) as usize;
            let avail = &self.input.available()[..room.min(self.input.available().len())];
            let before_in = self.inflater.total_in();
            let before_out = self.inflater.total_out();
            let status = self
                .inflater
                .decompress(avail, out, zlib_rs::InflateFlush::NoFlush)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.as_str()))?;
            self.input
                .consume((self.inflater.total_in() - before_in) as usize);
            let produced = (self.inflater.total_out() - before_out) as usize;
            if status == zlib_rs::Status::StreamEnd {
                self.done = true;
            }
            if produced > 0 {
                return Ok(produced);
            }
        }
        Ok(0)
    }
}

/// Compares output with one side's stored stream as it arrives.
struct Matcher<'a> {
    input: Input<'a>,
    left: u64,
    alive: bool,
    buf: Vec<u8>,
}

impl<'a> Matcher<'a> {
    fn open(source: &'a dyn Source, member: &GzipMember) -> io::Result<Self> {
        let mut input = Input::new(source.open()?, false);
        input.skip_to(member.body.start)?;
        Ok(Self {
            input,
            left: member.body.end - member.body.start,
            alive: true,
            buf: Vec::new(),
        })
    }

    fn feed(&mut self, chunk: &[u8]) {
        if !self.alive {
            return;
        }
        if chunk.len() as u64 > self.left {
            self.alive = false;
            return;
        }
        self.buf.resize(chunk.len(), 0);
        let mut filled = 0;
        while filled < chunk.len() {
            match self.input.read_into(&mut self.buf[filled..]) {
                Ok(0) | Err(_) => {
                    self.alive = false;
                    return;
                }
                Ok(n) => filled += n,
            }
        }
        self.left -= chunk.len() as u64;
        self.alive = self.buf[..] == *chunk;
    }

    fn matched(&self) -> bool {
        self.alive && self.left == 0
    }
}

/// Tries each engine at each level of [`LEVELS`] until both sides are attributed: for each
/// side, the first engine and level (in `engines` order, then the built-in engines) whose
/// output equals that side's stream.
pub(crate) fn find_engines(
    sources: [&dyn Source; 2],
    members: [&GzipMember; 2],
    engines: &mut [&mut dyn Compressor],
) -> Recompression {
    let mut builtin = builtin_engines();
    let mut all: Vec<&mut dyn Compressor> = engines.iter_mut().map(|e| &mut **e).collect();
    all.extend(builtin.iter_mut().map(|e| &mut **e as &mut dyn Compressor));
    let mut result = Recompression {
        tried: Vec::new(),
        a: Vec::new(),
        b: Vec::new(),
        errors: Vec::new(),
    };
    'engines: for engine in all {
        let name = engine.name();
        result.tried.push(name.clone());
        for level in LEVELS {
            let need = [result.a.is_empty(), result.b.is_empty()];
            if need == [false, false] {
                break 'engines;
            }
            let attempt = (|| -> Result<[bool; 2], String> {
                let mut tar = Inflated::open(sources[0], members[0]).map_err(|e| e.to_string())?;
                let mut matchers = [
                    Matcher::open(sources[0], members[0]).map_err(|e| e.to_string())?,
                    Matcher::open(sources[1], members[1]).map_err(|e| e.to_string())?,
                ];
                for (m, needed) in matchers.iter_mut().zip(need) {
                    m.alive = needed;
                }
                engine.deflate(level, &mut tar, &mut |chunk| {
                    for m in &mut matchers {
                        m.feed(chunk);
                    }
                    matchers.iter().any(|m| m.alive)
                })?;
                Ok([matchers[0].matched(), matchers[1].matched()])
            })();
            match attempt {
                Ok([ma, mb]) => {
                    if ma {
                        result.a.push(format!("{name} level {level}"));
                    }
                    if mb {
                        result.b.push(format!("{name} level {level}"));
                    }
                }
                Err(err) => {
                    result.errors.push(format!("{name}: {err}"));
                    continue 'engines;
                }
            }
        }
    }
    result
}
