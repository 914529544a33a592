//! `cargo xtask bench [NAME...]`: benchmarks against reference tools, printed as ratios.
//! Timings are best-of-three wall-clock runs of release builds; nothing here is a test.
//!
//! - `hash`: `byteproof hash` of a 1 GiB file (`BYTEPROOF_BENCH_MIB` to change the size)
//!   against `openssl dgst` of each algorithm, one pass each.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

const BENCHES: &[&str] = &["hash"];

pub(crate) fn run(root: &Path, names: &[String]) -> anyhow::Result<()> {
    let names: Vec<&str> = if names.is_empty() {
        BENCHES.to_vec()
    } else {
        names.iter().map(String::as_str).collect()
    };
    for name in &names {
        if !BENCHES.contains(name) {
            bail!(
                "unknown benchmark {name:?}; available: {}",
                BENCHES.join(", ")
            );
        }
    }
    let mut build = crate::cargo();
    build
        .current_dir(root)
        .args(["build", "--release", "--quiet", "-p", "byteproof"]);
    crate::run(build, "cargo build --release -p byteproof")?;
    let bin = target_dir(root)?.join("release/byteproof");
    for name in names {
        if name == "hash" {
            hash(root, &bin)?;
        }
    }
    Ok(())
}

/// The cargo target directory (honours CARGO_TARGET_DIR and config).
pub(crate) fn target_dir(root: &Path) -> anyhow::Result<PathBuf> {
    let output = crate::cargo()
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    let meta: byteproof_testkit::serde_json::Value =
        byteproof_testkit::serde_json::from_slice(&output.stdout)
            .context("cargo metadata output")?;
    meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no target_directory")
}

fn hash(root: &Path, bin: &Path) -> anyhow::Result<()> {
    let mib: u64 = std::env::var("BYTEPROOF_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let file = target_dir(root)?.join(format!("bench/random-{mib}MiB.bin"));
    make_file(&file, mib)?;
    // Read it once so every contender starts from the page cache.
    std::io::copy(&mut std::fs::File::open(&file)?, &mut std::io::sink())?;

    let path = file.to_string_lossy().into_owned();
    let ours = best_of_3(Command::new(bin).args(["hash", "--quiet", &path]))?;
    println!("hash benchmark: {mib} MiB of pseudo-random bytes, best of 3");
    println!(
        "  {:<48} {:>8.3} s  {:>7.0} MiB/s",
        "byteproof hash (SHA-1 + SHA-256 + SHA-512)",
        ours.as_secs_f64(),
        mib as f64 / ours.as_secs_f64()
    );
    if !crate::install::have("openssl") {
        println!("  openssl is not installed: no reference timings (apt-get install openssl)");
        return Ok(());
    }
    let mut sum = Duration::ZERO;
    let mut slowest = Duration::ZERO;
    for algo in ["sha1", "sha256", "sha512"] {
        let t = best_of_3(Command::new("openssl").args(["dgst", &format!("-{algo}"), &path]))?;
        println!(
            "  {:<48} {:>8.3} s  {:>7.0} MiB/s",
            format!("openssl dgst -{algo}"),
            t.as_secs_f64(),
            mib as f64 / t.as_secs_f64()
        );
        sum += t;
        slowest = slowest.max(t);
    }
    println!(
        "  ratio byteproof / (openssl sha1 + sha256 + sha512): {:.2}",
        ours.as_secs_f64() / sum.as_secs_f64()
    );
    println!(
        "  ratio byteproof / slowest single openssl digest:     {:.2}",
        ours.as_secs_f64() / slowest.as_secs_f64()
    );
    Ok(())
}

fn best_of_3(command: &mut Command) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let status = command
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("cannot run {command:?}"))?;
        let elapsed = start.elapsed();
        if !status.success() {
            bail!("{command:?} failed ({status})");
        }
        best = best.min(elapsed);
    }
    Ok(best)
}

/// Writes `mib` MiB of xorshift noise (incompressible, cheap to make), unless already there.
fn make_file(path: &Path, mib: u64) -> anyhow::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == mib << 20) {
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        out.write_all(&chunk)?;
    }
    out.flush()?;
    Ok(())
}
