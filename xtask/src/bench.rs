//! `cargo xtask bench [NAME...]`: benchmarks against reference tools, printed as ratios.
//! Timings are best-of-three wall-clock runs of release builds; nothing here is a test.
//!
//! - `hash`: `byteproof hash` of a 1 GiB file (`BYTEPROOF_BENCH_MIB` to change the size)
//!   against `openssl dgst` of each algorithm, one pass each.
//! - `diff`: `byteproof diff --json` of a generated pair of 5,000 entries / 50 MB, and of half
//!   that (cost must grow linearly), with peak memory; against `diffoscope` where installed
//!   (Debian's `diffoscope-minimal`).
//! - `pin`: `byteproof pin --check` over 50 references against a local `docker-registry`,
//!   against a loop of `skopeo inspect --raw` where installed (Debian's `skopeo`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

const BENCHES: &[&str] = &["hash", "diff", "pin"];

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
        match name {
            "hash" => hash(root, &bin)?,
            "diff" => diff(root, &bin)?,
            "pin" => pin(&bin)?,
            _ => {}
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

/// Wall time and peak resident memory (KiB) of one run, measured by Python's `resource` so no
/// extra tool is needed.
fn measure(args: &[&str]) -> anyhow::Result<(Duration, u64, i32)> {
    const SCRIPT: &str = "import resource,subprocess,sys,time\n\
t=time.perf_counter()\n\
r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)\n\
e=time.perf_counter()-t\n\
print(e, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)";
    let output = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .args(args)
        .output()
        .context("cannot run python3 to measure")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [secs, rss, code] = fields.as_slice() else {
        bail!(
            "unexpected measurement output {text:?} ({})",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    Ok((
        Duration::from_secs_f64(secs.parse()?),
        rss.parse()?,
        code.parse()?,
    ))
}

fn diff(root: &Path, bin: &Path) -> anyhow::Result<()> {
    let dir = target_dir(root)?.join("bench/diff");
    std::fs::create_dir_all(&dir)?;
    println!("diff benchmark: generated npm-style tarball pairs, best of 3");
    let mut times = Vec::new();
    let mut full_pair = None;
    for (entries, bytes) in [(2_500usize, 25_000_000usize), (5_000, 50_000_000)] {
        let (a, b) = make_pair(&dir, entries, bytes)?;
        let (a_s, b_s) = (
            a.to_string_lossy().into_owned(),
            b.to_string_lossy().into_owned(),
        );
        let mut best = (Duration::MAX, 0);
        for _ in 0..3 {
            let (t, rss, code) = measure(&[
                &bin.to_string_lossy(),
                "diff",
                "--json",
                "--no-recompress",
                &a_s,
                &b_s,
            ])?;
            if code != 1 {
                bail!(
                    "byteproof diff exited {code} on the benchmark pair (expected 1: they differ)"
                );
            }
            if t < best.0 {
                best = (t, rss);
            }
        }
        println!(
            "  {:<40} {:>8.3} s  peak {:>6.1} MiB",
            format!(
                "byteproof diff, {entries} entries / {} MB",
                bytes / 1_000_000
            ),
            best.0.as_secs_f64(),
            best.1 as f64 / 1024.0
        );
        times.push(best.0);
        full_pair = Some((a_s, b_s));
    }
    println!(
        "  linearity: time(5000 entries, 50 MB) / time(2500 entries, 25 MB) = {:.2} (2.00 is linear)",
        times[1].as_secs_f64() / times[0].as_secs_f64()
    );
    let Some((a, b)) = full_pair else {
        return Ok(());
    };
    if !crate::install::have("diffoscope") {
        println!(
            "  diffoscope is not installed: no reference timing (apt-get install diffoscope-minimal)"
        );
        return Ok(());
    }
    let (t, rss, _) = measure(&[
        "timeout",
        "1800",
        "diffoscope",
        "--no-progress",
        "--text",
        "/dev/null",
        &a,
        &b,
    ])?;
    println!(
        "  {:<40} {:>8.3} s  peak {:>6.1} MiB",
        "diffoscope --text, 5000 entries / 50 MB",
        t.as_secs_f64(),
        rss as f64 / 1024.0
    );
    println!(
        "  ratio byteproof / diffoscope: {:.3}",
        times[1].as_secs_f64() / t.as_secs_f64()
    );
    Ok(())
}

/// Writes (once) two gzip'd tars shaped like npm tarballs: `entries` files under `package/`,
/// about `bytes` in total, source-like text. B differs from A the way real divergences do:
/// an edited line every 50 files, an exec bit every 97, one file added and one removed,
/// and a gzip OS byte.
fn make_pair(dir: &Path, entries: usize, bytes: usize) -> anyhow::Result<(PathBuf, PathBuf)> {
    let a = dir.join(format!("a-{entries}.tgz"));
    let b = dir.join(format!("b-{entries}.tgz"));
    if a.is_file() && b.is_file() {
        return Ok((a, b));
    }
    let words = [
        "const",
        "value",
        "return",
        "function",
        "module",
        "exports",
        "require",
        "await",
        "=>",
        "{",
        "}",
        ";",
        "if",
        "else",
        "byteproof",
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut files = Vec::with_capacity(entries);
    for i in 0..entries {
        let target = bytes / entries / 2 + (next() as usize % (bytes / entries));
        let mut text = String::with_capacity(target + 64);
        while text.len() < target {
            text.push_str(words[next() as usize % words.len()]);
            text.push(if next() % 9 == 0 { '\n' } else { ' ' });
        }
        files.push((format!("package/src/m{:02}/file-{i}.js", i % 64), text));
    }
    for (path, side) in [(&a, 'a'), (&b, 'b')] {
        let level = flate2::Compression::new(9);
        let mut gz = flate2::GzBuilder::new()
            .operating_system(if side == 'a' { 255 } else { 3 })
            .write(std::fs::File::create(path)?, level);
        {
            let mut tar = tar::Builder::new(&mut gz);
            for (i, (name, text)) in files.iter().enumerate() {
                if side == 'b' && i == 7 {
                    continue; // removed on B
                }
                let mut content = text.clone();
                if side == 'b' && i % 50 == 0 {
                    content.push_str("\n// edited on side B\n");
                }
                let mut header = tar::Header::new_ustar();
                header.set_size(content.len() as u64);
                header.set_mode(if side == 'b' && i % 97 == 0 {
                    0o755
                } else {
                    0o644
                });
                header.set_mtime(499_162_500);
                header.set_entry_type(tar::EntryType::Regular);
                tar.append_data(&mut header, name, content.as_bytes())?;
            }
            if side == 'b' {
                let mut header = tar::Header::new_ustar();
                header.set_size(3);
                header.set_mode(0o644);
                header.set_mtime(499_162_500);
                tar.append_data(&mut header, "package/added-on-b.js", &b"x;\n"[..])?;
            }
            tar.finish()?;
        }
        gz.finish()?;
    }
    Ok((a, b))
}

/// `byteproof pin --check` over 50 distinct references, all on a local registry.
fn pin(bin: &Path) -> anyhow::Result<()> {
    const REFS: usize = 50;
    if !crate::install::have("docker-registry") {
        println!(
            "pin benchmark: docker-registry is not installed (apt-get install docker-registry)"
        );
        return Ok(());
    }
    let registry = byteproof_ocitest::Registry::open();
    let image = byteproof_ocitest::TestImage::build("bench", byteproof_ocitest::Format::Oci);
    let host = registry.addr().to_owned();
    let mut workflow = String::from("jobs:\n  bench:\n    runs-on: ubuntu-latest\n    services:\n");
    let mut references = Vec::with_capacity(REFS);
    for i in 0..REFS {
        let repo = format!("bench/app-{i}");
        registry.push_index(&repo, "1.0", &image);
        let reference = format!("{host}/{repo}:1.0");
        workflow.push_str(&format!("      s{i}:\n        image: {reference}\n"));
        references.push(reference);
    }
    let dir = tempfile_dir()?;
    let file = dir.join("bench.yml");
    std::fs::write(&file, workflow)?;
    let file = file.to_string_lossy().into_owned();

    let mut ours = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let status = Command::new(bin)
            .args(["pin", "--check", "--quiet", &file])
            .stdout(Stdio::null())
            .status()?;
        ours = ours.min(start.elapsed());
        // Exit 1: every reference is unpinned, and each was resolved to say so.
        if status.code() != Some(1) {
            bail!("byteproof pin --check exited {status} (expected 1: unpinned)");
        }
    }
    println!("pin benchmark: --check over {REFS} references on a local docker-registry, best of 3");
    println!(
        "  {:<48} {:>8.3} s",
        "byteproof pin --check",
        ours.as_secs_f64()
    );
    if !crate::install::have("skopeo") {
        println!("  skopeo is not installed: no reference timing (apt-get install skopeo)");
        return Ok(());
    }
    let mut theirs = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        for reference in &references {
            let status = Command::new("skopeo")
                .args([
                    "inspect",
                    "--raw",
                    "--tls-verify=false",
                    &format!("docker://{reference}"),
                ])
                .stdout(Stdio::null())
                .status()
                .context("cannot run skopeo")?;
            if !status.success() {
                bail!("skopeo inspect --raw {reference} failed ({status})");
            }
        }
        theirs = theirs.min(start.elapsed());
    }
    println!(
        "  {:<48} {:>8.3} s",
        format!("skopeo inspect --raw, {REFS} times"),
        theirs.as_secs_f64()
    );
    println!(
        "  ratio byteproof / skopeo loop: {:.3}",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A fresh scratch folder under the system temp dir.
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("byteproof-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
