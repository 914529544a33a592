//! `cargo xtask bench [NAME...] [--check]`: benchmarks against reference tools, with goals.
//!
//! Every bench first checks that each command it measures succeeded with the expected answer
//! (digests equal openssl's, the expected diff verdict, every image reference resolved and
//! pinned): a bench that measures a failure fails, loudly. Then it prints its numbers next to
//! the goals of [`GOALS`]; `--check` exits 1 when a goal is missed. Timings are best-of-three
//! wall-clock runs of release builds; peak memory is the child's `ru_maxrss`. Nothing here is a
//! test: speed targets live here, never in timed tests.
//!
//! - `hash`: `byteproof hash` of a 1 GiB file (`BYTEPROOF_BENCH_MIB` to change the size) under
//!   `taskset` with 2 cores, and with 3 when the machine has them, against `openssl dgst`.
//! - `diff`: generated npm-style pairs (the 50 MB pair and its half, for linearity; a 50 MB
//!   pair with many edited text files; a 1 GiB-unpacked pair) and hostile inputs (gzip bomb,
//!   100k entries, lying sizes, huge PAX records), with peak memory; against `diffoscope`
//!   (Debian's `diffoscope-minimal`, installed when missing and running as root).
//! - `pin`: `byteproof pin --check` over 50 references on a local `docker-registry`, against a
//!   loop of `skopeo inspect --raw` (Debian's `skopeo`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use byteproof_testkit::serde_json::{self, Value};

const BENCHES: &[&str] = &["hash", "diff", "pin"];

/// Whether a goal is a ceiling or a floor.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bound {
    AtMost,
    AtLeast,
}

/// One goal: the metric a bench reports and the limit it must stay within.
struct Goal {
    bench: &'static str,
    metric: &'static str,
    bound: Bound,
    limit: f64,
    what: &'static str,
}

/// Every goal, in one table (issue 14).
const GOALS: &[Goal] = &[
    Goal {
        bench: "hash",
        metric: "hash-2-cores",
        bound: Bound::AtMost,
        limit: 1.05,
        what: "byteproof hash / max(openssl sha512, openssl sha1 + sha256), taskset 2 cores",
    },
    Goal {
        bench: "hash",
        metric: "hash-3-cores",
        bound: Bound::AtMost,
        limit: 1.10,
        what: "byteproof hash / openssl sha512, taskset 3 cores",
    },
    Goal {
        bench: "diff",
        metric: "diff-50mb-peak-mib",
        bound: Bound::AtMost,
        limit: 64.0,
        what: "peak RSS (MiB), own 5,000-entry / 50 MB pair",
    },
    Goal {
        bench: "diff",
        metric: "diff-50mb-vs-diffoscope",
        bound: Bound::AtLeast,
        limit: 100.0,
        what: "diffoscope time / byteproof time, own 50 MB pair",
    },
    Goal {
        bench: "diff",
        metric: "diff-linearity",
        bound: Bound::AtMost,
        limit: 2.5,
        what: "time(5,000 entries, 50 MB) / time(2,500 entries, 25 MB)",
    },
    Goal {
        bench: "diff",
        metric: "diff-edits-peak-mib",
        bound: Bound::AtMost,
        limit: 64.0,
        what: "peak RSS (MiB), 50 MB pair with many edited text files",
    },
    Goal {
        bench: "diff",
        metric: "diff-edits-vs-diffoscope",
        bound: Bound::AtLeast,
        limit: 100.0,
        what: "diffoscope time / byteproof time, 50 MB pair with many edits",
    },
    Goal {
        bench: "diff",
        metric: "diff-1gib-peak-mib",
        bound: Bound::AtMost,
        limit: 64.0,
        what: "peak RSS (MiB), 1 GiB-unpacked pair (64 x 16 MiB), verdict content, no cap",
    },
    Goal {
        bench: "diff",
        metric: "diff-hostile-peak-mib",
        bound: Bound::AtMost,
        limit: 64.0,
        what: "worst peak RSS (MiB) over the hostile inputs",
    },
    Goal {
        bench: "diff",
        metric: "diff-hostile-seconds",
        bound: Bound::AtMost,
        limit: 5.0,
        what: "worst time (s) over the hostile inputs",
    },
    Goal {
        bench: "pin",
        metric: "pin-vs-skopeo",
        bound: Bound::AtMost,
        limit: 1.0,
        what: "byteproof pin --check / a loop of skopeo inspect --raw, 50 references",
    },
];

/// A measured value, or why it could not be measured on this machine.
struct Outcome {
    metric: &'static str,
    value: Result<f64, String>,
    note: String,
}

impl Outcome {
    fn measured(metric: &'static str, value: f64, note: impl Into<String>) -> Self {
        Self {
            metric,
            value: Ok(value),
            note: note.into(),
        }
    }

    fn unmeasured(metric: &'static str, why: impl Into<String>) -> Self {
        Self {
            metric,
            value: Err(why.into()),
            note: String::new(),
        }
    }
}

pub(crate) fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let check = args.iter().any(|a| a == "--check");
    let names: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--check")
        .collect();
    let names = if names.is_empty() {
        BENCHES.to_vec()
    } else {
        names
    };
    for name in &names {
        if !BENCHES.contains(name) {
            bail!(
                "unknown benchmark {name:?}; available: {} (and --check)",
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
    let mut outcomes = Vec::new();
    for name in &names {
        outcomes.extend(match *name {
            "hash" => hash(root, &bin)?,
            "diff" => diff(root, &bin)?,
            _ => pin(&bin)?,
        });
    }
    let missed = report(&names, &outcomes);
    if check && missed > 0 {
        bail!("{missed} goal(s) missed");
    }
    Ok(())
}

/// Prints the goals table for the benches run; returns how many goals were missed.
fn report(names: &[&str], outcomes: &[Outcome]) -> usize {
    println!("\n| goal | measured | limit | result |\n|---|---|---|---|");
    let mut missed = 0;
    for goal in GOALS.iter().filter(|g| names.contains(&g.bench)) {
        let outcome = outcomes.iter().find(|o| o.metric == goal.metric);
        let sign = if goal.bound == Bound::AtMost {
            "≤"
        } else {
            "≥"
        };
        let (value, result) = match outcome.map(|o| &o.value) {
            Some(Ok(v)) => {
                let ok = match goal.bound {
                    Bound::AtMost => *v <= goal.limit,
                    Bound::AtLeast => *v >= goal.limit,
                };
                if !ok {
                    missed += 1;
                }
                (
                    format!("{v:.2}"),
                    if ok { "ok" } else { "MISSED" }.to_owned(),
                )
            }
            Some(Err(why)) => ("-".to_owned(), format!("not measured: {why}")),
            None => ("-".to_owned(), "not measured".to_owned()),
        };
        let note = outcome
            .map(|o| o.note.as_str())
            .filter(|n| !n.is_empty())
            .map_or(String::new(), |n| format!(" ({n})"));
        println!(
            "| {}: {}{note} | {value} | {sign} {} | {result} |",
            goal.metric, goal.what, goal.limit
        );
    }
    missed
}

/// The cargo target directory (honours CARGO_TARGET_DIR and config).
pub(crate) fn target_dir(root: &Path) -> anyhow::Result<PathBuf> {
    let output = crate::cargo()
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    let meta: Value = serde_json::from_slice(&output.stdout).context("cargo metadata output")?;
    meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no target_directory")
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Wall time, peak RSS (KiB), exit code and stdout of one run, measured by Python's
/// `resource` so no extra tool is needed.
struct Run {
    time: Duration,
    peak_kib: u64,
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

fn measure(args: &[&str]) -> anyhow::Result<Run> {
    const SCRIPT: &str = "import resource,subprocess,sys,time\n\
t=time.perf_counter()\n\
r=subprocess.run(sys.argv[2:],stdout=open(sys.argv[1],'wb'),stderr=subprocess.PIPE)\n\
e=time.perf_counter()-t\n\
sys.stderr.buffer.write(r.stderr)\n\
print(e, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)";
    let out_file = std::env::temp_dir().join(format!("byteproof-bench-out-{}", std::process::id()));
    let output = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(&out_file)
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
    let stdout = std::fs::read(&out_file).unwrap_or_default();
    let _ = std::fs::remove_file(&out_file);
    Ok(Run {
        time: Duration::from_secs_f64(secs.parse()?),
        peak_kib: rss.parse()?,
        code: code.parse()?,
        stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Runs `args` three times, checking each run with `verify`; the fastest run.
fn best_of_3(args: &[&str], verify: &dyn Fn(&Run) -> anyhow::Result<()>) -> anyhow::Result<Run> {
    let mut best: Option<Run> = None;
    for _ in 0..3 {
        let run = measure(args)?;
        verify(&run).with_context(|| format!("benchmark command failed its check: {args:?}"))?;
        if best.as_ref().is_none_or(|b| run.time < b.time) {
            best = Some(run);
        }
    }
    best.context("no run")
}

// ---------------------------------------------------------------------------------------
// hash

fn hash(root: &Path, bin: &Path) -> anyhow::Result<Vec<Outcome>> {
    let mib: u64 = std::env::var("BYTEPROOF_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let file = target_dir(root)?.join(format!("bench/random-{mib}MiB.bin"));
    make_random_file(&file, mib)?;
    // Read it once so every contender starts from the page cache.
    std::io::copy(&mut std::fs::File::open(&file)?, &mut std::io::sink())?;
    ensure!(
        crate::install::have("openssl"),
        "the hash bench needs openssl (apt-get install openssl)"
    );
    let path = file.to_string_lossy().into_owned();
    println!(
        "hash benchmark: {mib} MiB of pseudo-random bytes, best of 3, {} cores",
        cores()
    );
    let mut openssl = std::collections::BTreeMap::new();
    for algo in ["sha1", "sha256", "sha512"] {
        let flag = format!("-{algo}");
        let run = best_of_3(
            &["taskset", "-c", "0", "openssl", "dgst", &flag, &path],
            &|r| {
                ensure!(r.code == 0, "openssl exited {}", r.code);
                Ok(())
            },
        )?;
        let text = String::from_utf8_lossy(&run.stdout);
        let digest = text
            .rsplit("= ")
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        println!(
            "  {:<52} {:>8.3} s",
            format!("openssl dgst -{algo} (1 core)"),
            run.time.as_secs_f64()
        );
        openssl.insert(algo, (run.time, digest));
    }
    let expect = openssl.clone();
    let verify = move |r: &Run| -> anyhow::Result<()> {
        ensure!(
            r.code == 0,
            "byteproof hash exited {}: {}",
            r.code,
            r.stderr
        );
        let rows: Value = serde_json::from_slice(&r.stdout).context("byteproof hash --json")?;
        for algo in ["sha1", "sha256", "sha512"] {
            ensure!(
                rows[0][algo].as_str() == Some(expect[algo].1.as_str()),
                "byteproof's {algo} {} differs from openssl's {}",
                rows[0][algo],
                expect[algo].1
            );
        }
        Ok(())
    };
    let t = |algo: &str| openssl[algo].0.as_secs_f64();
    let floor_2 = t("sha512").max(t("sha1") + t("sha256"));
    let mut out = Vec::new();
    let two = best_of_3(
        &[
            "taskset",
            "-c",
            "0,1",
            &bin.to_string_lossy(),
            "hash",
            "--json",
            &path,
        ],
        &verify,
    )?;
    println!(
        "  {:<52} {:>8.3} s  {:>7.0} MiB/s",
        "byteproof hash, taskset 2 cores",
        two.time.as_secs_f64(),
        mib as f64 / two.time.as_secs_f64()
    );
    if cores() >= 2 {
        out.push(Outcome::measured(
            "hash-2-cores",
            two.time.as_secs_f64() / floor_2,
            format!("{:.3} s vs {floor_2:.3} s", two.time.as_secs_f64()),
        ));
    } else {
        out.push(Outcome::unmeasured(
            "hash-2-cores",
            "this machine has 1 core",
        ));
    }
    if cores() >= 3 {
        let three = best_of_3(
            &[
                "taskset",
                "-c",
                "0,1,2",
                &bin.to_string_lossy(),
                "hash",
                "--json",
                &path,
            ],
            &verify,
        )?;
        out.push(Outcome::measured(
            "hash-3-cores",
            three.time.as_secs_f64() / t("sha512"),
            format!("{:.3} s vs {:.3} s", three.time.as_secs_f64(), t("sha512")),
        ));
    } else {
        out.push(Outcome::unmeasured(
            "hash-3-cores",
            format!("this machine has {} cores; taskset cannot add one", cores()),
        ));
    }
    Ok(out)
}

/// Writes `mib` MiB of xorshift noise (incompressible, cheap to make), unless already there.
fn make_random_file(path: &Path, mib: u64) -> anyhow::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == mib << 20) {
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    let mut chunk = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for word in chunk.chunks_exact_mut(8) {
            word.copy_from_slice(&rng.next().to_le_bytes());
        }
        out.write_all(&chunk)?;
    }
    out.flush()?;
    Ok(())
}

/// A tiny xorshift, so generated inputs are the same on every run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Source-like text of about `len` bytes.
    fn text(&mut self, len: usize) -> String {
        const WORDS: [&str; 15] = [
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
        let mut text = String::with_capacity(len + 16);
        while text.len() < len {
            text.push_str(WORDS[self.next() as usize % WORDS.len()]);
            text.push(if self.next() % 9 == 0 { '\n' } else { ' ' });
        }
        text
    }
}

// ---------------------------------------------------------------------------------------
// diff

/// One tar entry of a generated tarball.
struct Entry {
    path: String,
    mode: u32,
    data: Vec<u8>,
}

/// Writes a gzip'd npm-style tar (gzip OS byte `os`) of `entries` at `level`.
fn write_tgz(
    path: &Path,
    os: u8,
    level: u32,
    entries: impl Iterator<Item = Entry>,
) -> anyhow::Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut gz = flate2::GzBuilder::new()
        .operating_system(os)
        .write(file, flate2::Compression::new(level));
    {
        let mut tar = tar::Builder::new(&mut gz);
        for e in entries {
            let mut header = tar::Header::new_ustar();
            header.set_size(e.data.len() as u64);
            header.set_mode(e.mode);
            header.set_mtime(499_162_500);
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut header, &e.path, e.data.as_slice())?;
        }
        tar.finish()?;
    }
    gz.finish()?.flush()?;
    Ok(())
}

/// The bench's own pair: `entries` files, about `bytes` in total. B differs as real
/// divergences do: an edited line every 50 files, an exec bit every 97, one file added and
/// one removed, and a gzip OS byte.
fn own_pair(dir: &Path, entries: usize, bytes: usize) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (a, b) = (
        dir.join(format!("own-a-{entries}.tgz")),
        dir.join(format!("own-b-{entries}.tgz")),
    );
    if a.is_file() && b.is_file() {
        return Ok((a, b));
    }
    let mut rng = Rng::new(0x2545_F491_4F6C_DD1D);
    let files: Vec<(String, String)> = (0..entries)
        .map(|i| {
            let len = bytes / entries / 2 + (rng.next() as usize % (bytes / entries));
            (
                format!("package/src/m{:02}/file-{i}.js", i % 64),
                rng.text(len),
            )
        })
        .collect();
    write_tgz(
        &a,
        255,
        9,
        files.iter().map(|(p, t)| Entry {
            path: p.clone(),
            mode: 0o644,
            data: t.as_bytes().to_vec(),
        }),
    )?;
    let b_entries = files
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 7)
        .map(|(i, (p, t))| {
            let mut data = t.clone().into_bytes();
            if i % 50 == 0 {
                data.extend_from_slice(b"\n// edited on side B\n");
            }
            Entry {
                path: p.clone(),
                mode: if i % 97 == 0 { 0o755 } else { 0o644 },
                data,
            }
        })
        .chain(std::iter::once(Entry {
            path: "package/added-on-b.js".into(),
            mode: 0o644,
            data: b"x;\n".to_vec(),
        }));
    write_tgz(&b, 3, 9, b_entries)?;
    Ok((a, b))
}

/// A differently generated 50 MB pair, as a new user's would be: 1,000 files of about 50 KB
/// in a deeper tree; on B every third file has several edited lines, every seventh has CRLF
/// line endings, every eleventh trailing whitespace, and package.json is re-serialised.
fn edits_pair(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (a, b) = (dir.join("edits-a.tgz"), dir.join("edits-b.tgz"));
    if a.is_file() && b.is_file() {
        return Ok((a, b));
    }
    let mut rng = Rng::new(0x1234_5678_9ABC_DEF1);
    let pkg =
        "{\n  \"name\": \"edits\",\n  \"version\": \"1.0.0\",\n  \"main\": \"lib/index.js\"\n}\n";
    let files: Vec<(String, String)> = (0..1000)
        .map(|i| {
            let len = 40_000 + rng.next() as usize % 20_000;
            (
                format!("package/lib/{}/{}/mod-{i}.js", i % 10, i % 7),
                rng.text(len),
            )
        })
        .collect();
    let entries_a = std::iter::once(Entry {
        path: "package/package.json".into(),
        mode: 0o644,
        data: pkg.as_bytes().to_vec(),
    })
    .chain(files.iter().map(|(p, t)| Entry {
        path: p.clone(),
        mode: 0o644,
        data: t.as_bytes().to_vec(),
    }));
    write_tgz(&a, 255, 9, entries_a)?;
    let reserialised = r#"{"name":"edits","version":"1.0.0","main":"lib/index.js"}"#;
    let entries_b = std::iter::once(Entry {
        path: "package/package.json".into(),
        mode: 0o644,
        data: reserialised.as_bytes().to_vec(),
    })
    .chain(files.iter().enumerate().map(|(i, (p, t))| {
        let data = if i % 3 == 0 {
            t.lines()
                .enumerate()
                .map(|(n, l)| {
                    if n % 40 == 5 {
                        format!("{l} // changed\n")
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect::<String>()
        } else if i % 7 == 0 {
            t.replace('\n', "\r\n")
        } else if i % 11 == 0 {
            t.replace('\n', "  \n")
        } else {
            t.clone()
        };
        Entry {
            path: p.clone(),
            mode: 0o644,
            data: data.into_bytes(),
        }
    }));
    write_tgz(&b, 3, 6, entries_b)?;
    Ok((a, b))
}

/// 64 files of 16 MiB (1 GiB unpacked): on B file 17 has one edited line and file 40 is
/// executable.
fn big_pair(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (a, b) = (dir.join("big-a.tgz"), dir.join("big-b.tgz"));
    if a.is_file() && b.is_file() {
        return Ok((a, b));
    }
    let block = Rng::new(0xDEAD_BEEF_CAFE_F00D).text(1 << 20);
    let file = |i: usize, edited: bool| {
        let mut data = Vec::with_capacity(16 << 20);
        for copy in 0..16 {
            let rot = (i * 997 + copy * 131) % block.len();
            data.extend_from_slice(&block.as_bytes()[rot..]);
            data.extend_from_slice(&block.as_bytes()[..rot]);
        }
        data.truncate(16 << 20);
        if edited {
            let at = 8 << 20;
            data[at..at + 20].copy_from_slice(b"/* edited on B */ ;\n");
        }
        data
    };
    for (path, side_b) in [(&a, false), (&b, true)] {
        let entries = (0..64).map(|i| Entry {
            path: format!("package/data/blob-{i:02}.txt"),
            mode: if side_b && i == 40 { 0o755 } else { 0o644 },
            data: file(i, side_b && i == 17),
        });
        write_tgz(path, 255, 1, entries)?;
    }
    Ok((a, b))
}

/// Writes a raw tar header block for `path` claiming `size` bytes, with a valid checksum.
fn raw_header(path: &str, size: u64, typeflag: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..path.len()].copy_from_slice(path.as_bytes());
    h[100..108].copy_from_slice(b"000644 \0");
    h[108..116].copy_from_slice(b"000000 \0");
    h[116..124].copy_from_slice(b"000000 \0");
    let size_field = format!("{size:011o} ");
    if size_field.len() == 12 {
        h[124..136].copy_from_slice(size_field.as_bytes());
    } else {
        // base-256 for sizes past 8 GiB
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    }
    h[136..148].copy_from_slice(b"03560116604 ");
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// Gzips what `write` writes, at level 9.
fn gzip_to(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::new(9));
    write(&mut gz)?;
    gz.finish()?.flush()?;
    Ok(())
}

/// The hostile inputs, each with the answer `byteproof diff` must give against a normal
/// tarball: the exit code and a cap it must report (or text its error must contain).
fn hostile_inputs(dir: &Path) -> anyhow::Result<Vec<(&'static str, PathBuf, i32, &'static str)>> {
    let mut out = Vec::new();
    let bomb = dir.join("hostile-bomb.tgz");
    if !bomb.is_file() {
        // One entry claiming 4 GiB of zeros: about 4 MB compressed.
        gzip_to(&bomb, |w| {
            w.write_all(&raw_header("package/bomb.bin", 4 << 30, b'0'))?;
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..4096 {
                w.write_all(&zeros)?;
            }
            Ok(())
        })?;
    }
    out.push((
        "gzip bomb (4 GiB of zeros)",
        bomb,
        1,
        "\"cap\": \"compression-ratio\"",
    ));
    let many = dir.join("hostile-150k-entries.tgz");
    if !many.is_file() {
        gzip_to(&many, |w| {
            for i in 0..150_000 {
                w.write_all(&raw_header(&format!("package/f/{i}.js"), 3, b'0'))?;
                let mut data = [0u8; 512];
                data[..3].copy_from_slice(b"x;\n");
                w.write_all(&data)?;
            }
            w.write_all(&[0u8; 1024])?;
            Ok(())
        })?;
    }
    out.push(("150,000 entries", many, 1, "\"cap\": \"entries\""));
    let lying = dir.join("hostile-lying-size.tgz");
    if !lying.is_file() {
        gzip_to(&lying, |w| {
            w.write_all(&raw_header("package/index.js", 64 << 30, b'0'))?;
            w.write_all(&[b'x'; 4096])?;
            Ok(())
        })?;
    }
    out.push((
        "lying size (claims 64 GiB)",
        lying,
        2,
        "claims 68719476736 bytes",
    ));
    let pax = dir.join("hostile-huge-pax.tgz");
    if !pax.is_file() {
        gzip_to(&pax, |w| {
            // 2,000 entries, each after a 900 KiB PAX record: 1.8 GB of records.
            let value = "A".repeat(900 * 1024);
            for i in 0..2000 {
                let record = pax_record("comment", &value);
                w.write_all(&raw_header("PaxHeader", record.len() as u64, b'x'))?;
                w.write_all(&record)?;
                w.write_all(&vec![0u8; (512 - record.len() % 512) % 512])?;
                w.write_all(&raw_header(&format!("package/p{i}.js"), 0, b'0'))?;
            }
            w.write_all(&[0u8; 1024])?;
            Ok(())
        })?;
    }
    out.push((
        "huge PAX records (2,000 x 900 KiB)",
        pax,
        1,
        "\"cap\": \"index-size\"",
    ));
    let giant = dir.join("hostile-giant-pax.tgz");
    if !giant.is_file() {
        gzip_to(&giant, |w| {
            let value = "B".repeat(64 << 20);
            let record = pax_record("comment", &value);
            w.write_all(&raw_header("PaxHeader", record.len() as u64, b'x'))?;
            w.write_all(&record)?;
            Ok(())
        })?;
    }
    out.push((
        "one 64 MiB PAX record",
        giant,
        1,
        "\"cap\": \"extension-size\"",
    ));
    Ok(out)
}

/// One PAX record, `"<len> <key>=<value>\n"`.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while len != body.len() + len.to_string().len() {
        len = body.len() + len.to_string().len();
    }
    format!("{len}{body}").into_bytes()
}

/// A check on `byteproof diff --json` output: exit 1, the verdict, reasons that must be
/// present, and whether a comparison-stopping cap is allowed.
fn expect_diff(
    verdict: &'static str,
    reasons: &'static [&'static str],
) -> impl Fn(&Run) -> anyhow::Result<()> {
    move |r: &Run| {
        ensure!(
            r.code == 1,
            "byteproof diff exited {} (expected 1): {}",
            r.code,
            r.stderr
        );
        let report: Value = serde_json::from_slice(&r.stdout).context("byteproof diff --json")?;
        ensure!(
            report["verdict"] == verdict,
            "verdict {} (expected {verdict})",
            report["verdict"]
        );
        ensure!(
            report["truncated"] == false,
            "a cap stopped the comparison: {}",
            report["caps_hit"]
        );
        for reason in reasons {
            ensure!(
                report["reasons"]
                    .as_array()
                    .is_some_and(|rs| rs.iter().any(|x| x["code"] == *reason)),
                "reason {reason} missing"
            );
        }
        Ok(())
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn diff(root: &Path, bin: &Path) -> anyhow::Result<Vec<Outcome>> {
    let dir = target_dir(root)?.join("bench/diff");
    std::fs::create_dir_all(&dir)?;
    let bin = bin.to_string_lossy().into_owned();
    let mut out = Vec::new();
    println!(
        "diff benchmark: generated npm-style pairs, best of 3, {} cores (shared: timings vary with other load)",
        cores()
    );
    let line = |what: &str, run: &Run| {
        println!(
            "  {what:<58} {:>8.3} s  peak {:>6.1} MiB",
            run.time.as_secs_f64(),
            mib(run.peak_kib)
        );
    };
    let own_reasons: &[&str] = &["modified", "exec-bit", "added", "removed", "gzip-os"];
    let (ha, hb) = own_pair(&dir, 2_500, 25_000_000)?;
    let (a, b) = own_pair(&dir, 5_000, 50_000_000)?;
    let diff_args = |a: &Path, b: &Path| -> Vec<String> {
        vec![
            bin.clone(),
            "diff".into(),
            "--json".into(),
            "--no-recompress".into(),
            a.to_string_lossy().into_owned(),
            b.to_string_lossy().into_owned(),
        ]
    };
    fn argv(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let half = best_of_3(
        &argv(&diff_args(&ha, &hb)),
        &expect_diff("content", own_reasons),
    )?;
    line("byteproof diff, own pair, 2,500 entries / 25 MB", &half);
    let full = best_of_3(
        &argv(&diff_args(&a, &b)),
        &expect_diff("content", own_reasons),
    )?;
    line("byteproof diff, own pair, 5,000 entries / 50 MB", &full);
    out.push(Outcome::measured(
        "diff-50mb-peak-mib",
        mib(full.peak_kib),
        "",
    ));
    out.push(Outcome::measured(
        "diff-linearity",
        full.time.as_secs_f64() / half.time.as_secs_f64(),
        format!(
            "{:.3} s / {:.3} s",
            full.time.as_secs_f64(),
            half.time.as_secs_f64()
        ),
    ));

    let (ea, eb) = edits_pair(&dir)?;
    let edits = best_of_3(
        &argv(&diff_args(&ea, &eb)),
        &expect_diff(
            "content",
            &["modified", "crlf", "trailing-whitespace", "json-format"],
        ),
    )?;
    line("byteproof diff, 1,000 files / 50 MB, many edits", &edits);
    out.push(Outcome::measured(
        "diff-edits-peak-mib",
        mib(edits.peak_kib),
        "",
    ));

    let (ba, bb) = big_pair(&dir)?;
    let big = best_of_3(
        &argv(&diff_args(&ba, &bb)),
        &expect_diff("content", &["modified", "exec-bit"]),
    )?;
    line("byteproof diff, 64 x 16 MiB (1 GiB unpacked)", &big);
    out.push(Outcome::measured(
        "diff-1gib-peak-mib",
        mib(big.peak_kib),
        format!("{:.1} s", big.time.as_secs_f64()),
    ));

    let normal = root.join("testdata/diff/npm.tgz");
    let (mut worst_peak, mut worst_time) = (0u64, Duration::ZERO);
    for (name, path, code, answer) in hostile_inputs(&dir)? {
        let check = |r: &Run| -> anyhow::Result<()> {
            ensure!(
                r.code == code,
                "exited {} (expected {code}): {}",
                r.code,
                r.stderr
            );
            let text = format!("{}{}", String::from_utf8_lossy(&r.stdout), r.stderr);
            ensure!(
                text.contains(answer),
                "the answer does not mention {answer:?}"
            );
            Ok(())
        };
        let run = best_of_3(&argv(&diff_args(&normal, &path)), &check)?;
        line(&format!("byteproof diff, hostile: {name}"), &run);
        worst_peak = worst_peak.max(run.peak_kib);
        worst_time = worst_time.max(run.time);
    }
    out.push(Outcome::measured(
        "diff-hostile-peak-mib",
        mib(worst_peak),
        "",
    ));
    out.push(Outcome::measured(
        "diff-hostile-seconds",
        worst_time.as_secs_f64(),
        "",
    ));

    if let Err(err) = crate::install::debian_packages(&[("diffoscope", "diffoscope-minimal")]) {
        let why = format!("diffoscope is not installed ({err:#})");
        out.push(Outcome::unmeasured("diff-50mb-vs-diffoscope", why.clone()));
        out.push(Outcome::unmeasured("diff-edits-vs-diffoscope", why));
        return Ok(out);
    }
    for (metric, a, b, ours, what) in [
        ("diff-50mb-vs-diffoscope", &a, &b, &full, "own 50 MB pair"),
        (
            "diff-edits-vs-diffoscope",
            &ea,
            &eb,
            &edits,
            "50 MB pair, many edits",
        ),
    ] {
        let (a, b) = (a.to_string_lossy(), b.to_string_lossy());
        let theirs = measure(&[
            "timeout",
            "1800",
            "diffoscope",
            "--no-progress",
            "--text",
            "/dev/null",
            &a,
            &b,
        ])?;
        ensure!(
            theirs.code == 1,
            "diffoscope exited {} on the {what} (expected 1: they differ)",
            theirs.code
        );
        line(&format!("diffoscope --text, {what}"), &theirs);
        out.push(Outcome::measured(
            metric,
            theirs.time.as_secs_f64() / ours.time.as_secs_f64(),
            format!(
                "{:.1} s vs {:.3} s",
                theirs.time.as_secs_f64(),
                ours.time.as_secs_f64()
            ),
        ));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// pin

/// `byteproof pin --check` over 50 distinct references, all on a local registry.
fn pin(bin: &Path) -> anyhow::Result<Vec<Outcome>> {
    const REFS: usize = 50;
    crate::install::debian_packages(&[("docker-registry", "docker-registry")])?;
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
    let dir = std::env::temp_dir().join(format!("byteproof-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("bench.yml");
    std::fs::write(&file, &workflow)?;
    let file = file.to_string_lossy().into_owned();
    let bin = bin.to_string_lossy().into_owned();
    // The registry speaks plain HTTP on 127.0.0.1; say so until loopback is plain HTTP by
    // default.
    let check_args = [
        "pin",
        "--check",
        "--json",
        "--insecure-registry",
        &host,
        &file,
    ];
    let argv: Vec<&str> = std::iter::once(bin.as_str()).chain(check_args).collect();
    let ours = best_of_3(&argv, &|r| {
        ensure!(
            r.code == 1,
            "pin --check exited {} (expected 1: all unpinned): {}",
            r.code,
            r.stderr
        );
        let report: Value = serde_json::from_slice(&r.stdout).context("pin --check --json")?;
        let refs = report["files"][0]["references"]
            .as_array()
            .context("no references")?;
        ensure!(
            refs.len() == REFS,
            "{} references found, expected {REFS}",
            refs.len()
        );
        for r in refs {
            ensure!(
                r["status"] == "unpinned"
                    && r["current"]
                        .as_str()
                        .is_some_and(|d| d.starts_with("sha256:")),
                "not resolved: {r}"
            );
        }
        Ok(())
    })?;
    // Pinning for real must pin all of them: the same file then passes --check.
    let status = Command::new(&bin)
        .args(["pin", "--quiet", "--insecure-registry", &host, &file])
        .stdout(Stdio::null())
        .status()?;
    ensure!(status.success(), "byteproof pin exited {status}");
    let status = Command::new(&bin)
        .args([
            "pin",
            "--check",
            "--quiet",
            "--insecure-registry",
            &host,
            &file,
        ])
        .stdout(Stdio::null())
        .status()?;
    ensure!(
        status.success(),
        "after pinning, pin --check exited {status} (expected 0)"
    );
    println!("pin benchmark: --check over {REFS} references on a local docker-registry, best of 3");
    println!(
        "  {:<52} {:>8.3} s",
        "byteproof pin --check",
        ours.time.as_secs_f64()
    );
    let mut out = Vec::new();
    if let Err(err) = crate::install::debian_packages(&[("skopeo", "skopeo")]) {
        out.push(Outcome::unmeasured(
            "pin-vs-skopeo",
            format!("skopeo is not installed ({err:#})"),
        ));
        return Ok(out);
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
            ensure!(
                status.success(),
                "skopeo inspect --raw {reference} failed ({status})"
            );
        }
        theirs = theirs.min(start.elapsed());
    }
    println!(
        "  {:<52} {:>8.3} s",
        format!("skopeo inspect --raw, {REFS} times"),
        theirs.as_secs_f64()
    );
    out.push(Outcome::measured(
        "pin-vs-skopeo",
        ours.time.as_secs_f64() / theirs.as_secs_f64(),
        format!(
            "{:.3} s vs {:.3} s",
            ours.time.as_secs_f64(),
            theirs.as_secs_f64()
        ),
    ));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}
