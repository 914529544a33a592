//! The in-process engines: zlib-rs, the C zlib flate2 links, and miniz_oxide.
//!
//! flate2 picks one backend per build, so only one C zlib can sit behind it (the system's
//! libz here; `zlib-ng` would take the same slot, and libz-ng-sys itself is only unsafe FFI);
//! zlib-rs and miniz_oxide are used through their own safe crates, so all three coexist in one
//! binary. zlib-ng is not a separate engine: zlib-rs is its port, and the two wrote identical
//! streams at levels 6 and 9 where they were compared (shared/reference/npm-tarballs.md §5).

use std::io::Read;

use super::Compressor;

const IN_CHUNK: usize = 64 * 1024;
const OUT_CHUNK: usize = 64 * 1024;

/// Reads `input` in chunks and hands each to `step` with a flag for the last one.
fn pump(
    input: &mut dyn Read,
    mut step: impl FnMut(&[u8], bool) -> Result<bool, String>,
) -> Result<(), String> {
    let mut buf = vec![0u8; IN_CHUNK];
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match input.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        let last = filled < buf.len();
        if !step(&buf[..filled], last)? || last {
            return Ok(());
        }
    }
}

/// zlib-rs, a Rust port of zlib-ng (the same streams as zlib-ng where they were compared).
#[derive(Clone, Copy, Debug, Default)]
pub struct ZlibRs;

impl Compressor for ZlibRs {
    fn name(&self) -> String {
        "zlib-rs".to_owned()
    }

    fn deflate(
        &mut self,
        level: u32,
        input: &mut dyn Read,
        sink: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), String> {
        let mut deflater = zlib_rs::Deflate::new(level as i32, false, 15);
        let mut out = vec![0u8; OUT_CHUNK];
        pump(input, |mut data, last| {
            let flush = if last {
                zlib_rs::DeflateFlush::Finish
            } else {
                zlib_rs::DeflateFlush::NoFlush
            };
            loop {
                let (before_in, before_out) = (deflater.total_in(), deflater.total_out());
                let status = deflater
                    .compress(data, &mut out, flush)
                    .map_err(|e| e.as_str().to_owned())?;
                data = &data[(deflater.total_in() - before_in) as usize..];
                let produced = (deflater.total_out() - before_out) as usize;
                if produced > 0 && !sink(&out[..produced]) {
                    return Ok(false);
                }
                if status == zlib_rs::Status::StreamEnd
                    || (data.is_empty() && produced < out.len() && !last)
                {
                    return Ok(true);
                }
            }
        })
    }
}

/// The C zlib behind flate2 (its `zlib` feature: the system's libz, as a distribution Node
/// built with `--shared-zlib` uses).
#[derive(Clone, Copy, Debug, Default)]
pub struct ZlibC;

impl Compressor for ZlibC {
    fn name(&self) -> String {
        "zlib (C, system)".to_owned()
    }

    fn deflate(
        &mut self,
        level: u32,
        input: &mut dyn Read,
        sink: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), String> {
        let mut deflater = flate2::Compress::new(flate2::Compression::new(level), false);
        let mut out = vec![0u8; OUT_CHUNK];
        pump(input, |mut data, last| {
            let flush = if last {
                flate2::FlushCompress::Finish
            } else {
                flate2::FlushCompress::None
            };
            loop {
                let (before_in, before_out) = (deflater.total_in(), deflater.total_out());
                let status = deflater
                    .compress(data, &mut out, flush)
                    .map_err(|e| e.to_string())?;
                data = &data[(deflater.total_in() - before_in) as usize..];
                let produced = (deflater.total_out() - before_out) as usize;
                if produced > 0 && !sink(&out[..produced]) {
                    return Ok(false);
                }
                if status == flate2::Status::StreamEnd
                    || (data.is_empty() && produced < out.len() && !last)
                {
                    return Ok(true);
                }
            }
        })
    }
}

/// miniz_oxide, flate2's pure-Rust default engine.
#[derive(Clone, Copy, Debug, Default)]
pub struct MinizOxide;

impl Compressor for MinizOxide {
    fn name(&self) -> String {
        "miniz_oxide".to_owned()
    }

    fn deflate(
        &mut self,
        level: u32,
        input: &mut dyn Read,
        sink: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), String> {
        use miniz_oxide::deflate::core::{CompressionStrategy, CompressorOxide};
        let mut deflater = CompressorOxide::with_params(
            miniz_oxide::DataFormat::Raw,
            level.min(10) as u8,
            CompressionStrategy::Default,
            15,
        );
        let mut out = vec![0u8; OUT_CHUNK];
        pump(input, |mut data, last| {
            let flush = if last {
                miniz_oxide::MZFlush::Finish
            } else {
                miniz_oxide::MZFlush::None
            };
            loop {
                let r = miniz_oxide::deflate::stream::deflate(&mut deflater, data, &mut out, flush);
                let status = r.status.map_err(|e| format!("{e:?}"))?;
                data = &data[r.bytes_consumed..];
                if r.bytes_written > 0 && !sink(&out[..r.bytes_written]) {
                    return Ok(false);
                }
                if status == miniz_oxide::MZStatus::StreamEnd
                    || (data.is_empty() && r.bytes_written < out.len() && !last)
                {
                    return Ok(true);
                }
            }
        })
    }
}

/// The in-process engines, in the order they are tried.
pub fn builtin_engines() -> Vec<Box<dyn Compressor>> {
    vec![Box::new(ZlibRs), Box::new(ZlibC), Box::new(MinizOxide)]
}
