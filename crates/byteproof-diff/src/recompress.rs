//! Recompression oracle: which compressor and level reproduce a side's deflate stream.
//!
//! The crate itself only runs in-process engines (flate2, levels 1–9). Other engines, such as
//! Node's zlib in a `node` subprocess, plug in through the [`Compressor`] trait, implemented by
//! the caller, so this crate stays free of I/O.

use flate2::Compression;
use flate2::write::DeflateEncoder;
use std::io::Write as _;

/// A deflate engine that can recompress tar bytes at given levels.
pub trait Compressor {
    /// A name for reports, e.g. `flate2/miniz_oxide` or `node-zlib v20.20.2`.
    fn name(&self) -> String;

    /// Raw deflate (no gzip or zlib framing) of `data` at each of `levels`, in the same order.
    ///
    /// The default calls [`Compressor::deflate_raw`] once per level; engines that are costly to
    /// start (a subprocess) should override it to do all levels at once.
    fn deflate_raw_levels(&mut self, data: &[u8], levels: &[u32]) -> Result<Vec<Vec<u8>>, String> {
        levels
            .iter()
            .map(|&level| self.deflate_raw(data, level))
            .collect()
    }

    /// Raw deflate of `data` at `level` (1–9).
    fn deflate_raw(&mut self, data: &[u8], level: u32) -> Result<Vec<u8>, String>;
}

/// flate2 with the backend this workspace builds it with: miniz_oxide (flate2's default
/// `rust_backend`). If a crate ever enables another flate2 backend (`zlib-rs`, `zlib-ng`), the
/// streams change and [`Compressor::name`] here must change with them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flate2Compressor;

impl Compressor for Flate2Compressor {
    fn name(&self) -> String {
        "flate2/miniz_oxide".to_owned()
    }

    fn deflate_raw(&mut self, data: &[u8], level: u32) -> Result<Vec<u8>, String> {
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::new(level));
        encoder.write_all(data).map_err(|e| e.to_string())?;
        encoder.finish().map_err(|e| e.to_string())
    }
}

/// Tries every engine at levels 1–9 on `tar` and returns `(engine level, matches A, matches B)`
/// strings: for each side, the engines and levels whose output equals that side's stream.
pub(crate) fn find_levels(
    tar: &[u8],
    body_a: &[u8],
    body_b: &[u8],
    engines: &mut [&mut dyn Compressor],
) -> crate::report::Recompression {
    let levels: Vec<u32> = (1..=9).collect();
    let mut result = crate::report::Recompression {
        tried: Vec::new(),
        a: Vec::new(),
        b: Vec::new(),
        errors: Vec::new(),
    };
    for engine in engines.iter_mut() {
        let name = engine.name();
        result.tried.push(name.clone());
        match engine.deflate_raw_levels(tar, &levels) {
            Ok(outputs) => {
                for (level, out) in levels.iter().zip(outputs) {
                    if out == body_a {
                        result.a.push(format!("{name} level {level}"));
                    }
                    if out == body_b {
                        result.b.push(format!("{name} level {level}"));
                    }
                }
            }
            Err(err) => result.errors.push(format!("{name}: {err}")),
        }
    }
    result
}
