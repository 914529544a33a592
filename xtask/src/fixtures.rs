//! `cargo xtask fixtures`: regenerates `testdata/diff/` for `byteproof diff`.
//!
//! Real packers (npm, pnpm, yarn classic, yarn berry) pack the committed source folder
//! `testdata/diff/src/pkg/` from a scratch copy whose file modes and mtimes are set here, so the
//! output does not depend on the checkout. Then single-layer cases are crafted from the npm
//! tarball: each differs from `npm.tgz` at exactly one layer. Node's zlib (through `node`) does
//! the gzip work, so this needs only Node and npm on the PATH; pnpm and yarn come from the npm
//! registry through `npx` (or the pinned pnpm in `xtask/npm/node_modules` when installed).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result, bail, ensure};

/// Every source file gets this mtime (2026-01-02T03:04:05Z), so yarn classic, which keeps real
/// mtimes, gives the same bytes on every run.
const SOURCE_MTIME: u64 = 1_767_323_045;

/// Regenerates `testdata/diff/` under the workspace `root`.
pub(crate) fn run(root: &Path) -> Result<()> {
    let out = root.join("testdata/diff");
    let src = out.join("src/pkg");
    ensure!(
        src.join("package.json").is_file(),
        "missing source folder {}",
        src.display()
    );
    let scratch = std::env::temp_dir().join(format!("byteproof-fixtures-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch)?;
    let result = generate(root, &src, &out, &scratch);
    let _ = fs::remove_dir_all(&scratch);
    result
}

fn generate(root: &Path, src: &Path, out: &Path, scratch: &Path) -> Result<()> {
    let pnpm_local = root.join("xtask/npm/node_modules/.bin/pnpm");
    let packers: Vec<(&str, Vec<String>)> = vec![
        ("npm", args(&["npm", "pack", "--pack-destination", "OUT"])),
        (
            "pnpm",
            if pnpm_local.is_file() {
                vec![
                    pnpm_local.display().to_string(),
                    "pack".into(),
                    "--pack-destination".into(),
                    "OUT".into(),
                ]
            } else {
                args(&[
                    "npx",
                    "--yes",
                    "pnpm@10.34.9",
                    "pack",
                    "--pack-destination",
                    "OUT",
                ])
            },
        ),
        (
            "yarn-classic",
            args(&[
                "npx",
                "--yes",
                "yarn@1.22.22",
                "pack",
                "--filename",
                "OUT/out.tgz",
            ]),
        ),
        (
            "yarn-berry",
            args(&[
                "npx",
                "--yes",
                "-p",
                "@yarnpkg/cli-dist@4.12.0",
                "yarn",
                "pack",
                "--out",
                "OUT/out.tgz",
            ]),
        ),
    ];
    for (name, command) in &packers {
        let work = scratch.join(name);
        copy_source(src, &work)?;
        let dest = scratch.join(format!("{name}-out"));
        fs::create_dir_all(&dest)?;
        let command: Vec<String> = command
            .iter()
            .map(|a| a.replace("OUT", &dest.display().to_string()))
            .collect();
        match pack(&work, &command, &dest) {
            Ok(tgz) => {
                fs::write(out.join(format!("{name}.tgz")), tgz)?;
                eprintln!("fixtures: {name}.tgz");
            }
            // npm is required; the others are best effort (they come from the registry).
            Err(err) if *name != "npm" => eprintln!("fixtures: skipped {name}: {err:#}"),
            Err(err) => return Err(err),
        }
    }
    craft(out)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Copies the source folder, setting modes (0644, 0755 for `lib/` dirs) and mtimes.
fn copy_source(src: &Path, dest: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::create_dir_all(dest)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let to = dest.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_source(&entry.path(), &to)?;
            fs::set_permissions(&to, fs::Permissions::from_mode(0o755))?;
        } else {
            fs::copy(entry.path(), &to)?;
            // Every file 0644 on disk, the declared bin included: packers that add +x to bins
            // (pnpm, yarn berry) show it; those that keep disk modes (npm, yarn 1) do not.
            fs::set_permissions(&to, fs::Permissions::from_mode(0o644))?;
            let file = fs::File::options().write(true).open(&to)?;
            file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(SOURCE_MTIME))?;
        }
    }
    let dir = fs::File::open(dest)?;
    dir.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(SOURCE_MTIME))?;
    Ok(())
}

/// Runs one packer in `work` and returns the single `.tgz` it wrote to `dest`.
fn pack(work: &Path, command: &[String], dest: &Path) -> Result<Vec<u8>> {
    let output = Command::new(&command[0])
        .args(&command[1..])
        .current_dir(work)
        .env("npm_config_update_notifier", "false")
        .env("YARN_ENABLE_TELEMETRY", "0")
        .env("COREPACK_ENABLE_STRICT", "0")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", command.join(" ")))?;
    if !output.status.success() {
        bail!(
            "{} failed: {}{}",
            command.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let tgz: Vec<PathBuf> = fs::read_dir(dest)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tgz"))
        .collect();
    ensure!(
        tgz.len() == 1,
        "expected one .tgz in {}, found {}",
        dest.display(),
        tgz.len()
    );
    Ok(fs::read(&tgz[0])?)
}

/// Node's zlib: `gunzip`, or `gzip` at a level. Returns the output bytes.
fn node_zlib(op: &str, level: u32, input: &[u8]) -> Result<Vec<u8>> {
    let script = match op {
        "gunzip" => {
            "process.stdout.write(require('zlib').gunzipSync(require('fs').readFileSync(0)))"
                .to_owned()
        }
        _ => format!(
            "process.stdout.write(require('zlib').gzipSync(require('fs').readFileSync(0), {{ level: {level} }}))"
        ),
    };
    let mut child = Command::new("node")
        .args(["-e", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("running node")?;
    let mut stdin = child.stdin.take().context("node stdin")?;
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("writer thread panicked"))??;
    ensure!(output.status.success(), "node zlib {op} failed");
    Ok(output.stdout)
}

/// Gzips like npm: Node zlib level 9, then OS byte 0xff (minizlib portable mode).
fn gzip_like_npm(tar: &[u8]) -> Result<Vec<u8>> {
    let mut gz = node_zlib("gzip", 9, tar)?;
    gz[9] = 0xff;
    Ok(gz)
}

/// A tar entry as read from npm's tarball: its header and data.
struct Entry {
    header: [u8; 512],
    data: Vec<u8>,
}

/// Splits a plain ustar archive (no PAX or GNU records, as npm writes for short paths).
fn read_tar(tar: &[u8]) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut offset = 0;
    while offset + 512 <= tar.len() && tar[offset..offset + 512].iter().any(|&b| b != 0) {
        let header: [u8; 512] = tar[offset..offset + 512].try_into()?;
        let size_text = String::from_utf8_lossy(&header[124..136]);
        let size =
            usize::from_str_radix(size_text.trim_matches(|c: char| c == '\0' || c == ' '), 8)
                .context("tar size field")?;
        let data = tar
            .get(offset + 512..offset + 512 + size)
            .context("truncated tar")?
            .to_vec();
        entries.push(Entry { header, data });
        offset += 512 + size.div_ceil(512) * 512;
    }
    Ok(entries)
}

/// Writes entries back, fixing each header's size and checksum, then the end-of-archive blocks.
fn write_tar(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = e.header;
        // Keep the original encoding style: node-tar writes `0000000227 \0`, others `00000000227\0`.
        let size = if h[134..136] == *b" \0" {
            format!("{:010o} \0", e.data.len())
        } else {
            format!("{:011o}\0", e.data.len())
        };
        if size.len() == 12 {
            h[124..136].copy_from_slice(size.as_bytes());
        }
        set_checksum(&mut h);
        out.extend_from_slice(&h);
        out.extend_from_slice(&e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// Recomputes the checksum in the header's own style (`%06o \0` as node-tar, or `%06o\0 `).
fn set_checksum(h: &mut [u8; 512]) {
    let node_style = h[154..156] == *b" \0";
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let text = if node_style {
        format!("{sum:06o} \0")
    } else {
        format!("{sum:06o}\0 ")
    };
    h[148..156].copy_from_slice(text.as_bytes());
}

fn path_of(e: &Entry) -> String {
    let end = e.header[..100].iter().position(|&b| b == 0).unwrap_or(100);
    String::from_utf8_lossy(&e.header[..end]).into_owned()
}

/// Crafts single-layer variants of `npm.tgz` in `testdata/diff/crafted/`.
fn craft(out: &Path) -> Result<()> {
    let npm = fs::read(out.join("npm.tgz"))?;
    let tar = node_zlib("gunzip", 0, &npm)?;
    let dir = out.join("crafted");
    fs::create_dir_all(&dir)?;

    // gzip-header: only the OS byte differs (Unix instead of npm's 255).
    let mut os = npm.clone();
    os[9] = 3;
    fs::write(dir.join("gzip-os.tgz"), os)?;

    // compression: the same tar at level 6, with npm's exact 10-byte header.
    let mut level6 = node_zlib("gzip", 6, &tar)?;
    level6[..10].copy_from_slice(&npm[..10]);
    ensure!(level6 != npm, "level 6 reproduced npm's level 9 stream");
    fs::write(dir.join("compression.tgz"), level6)?;

    // Identity check: our tar writer reproduces npm's tar, so the variants below differ only
    // where they were changed.
    let entries = read_tar(&tar)?;
    ensure!(
        write_tar(&entries) == tar,
        "tar rewrite does not reproduce npm's tar"
    );
    ensure!(
        gzip_like_npm(&tar)? == npm,
        "Node level 9 + OS 255 does not reproduce npm.tgz"
    );

    let variant = |name: &str, edit: &dyn Fn(&mut Entry)| -> Result<()> {
        let mut entries = read_tar(&tar)?;
        let mut hit = false;
        for e in &mut entries {
            if path_of(e) == name.split(':').nth(1).unwrap_or_default() {
                edit(e);
                hit = true;
            }
        }
        ensure!(hit, "no entry for {name}");
        fs::write(
            dir.join(format!("{}.tgz", name.split(':').next().unwrap_or(name))),
            gzip_like_npm(&write_tar(&entries))?,
        )?;
        Ok(())
    };
    // metadata: index.js made executable (mode 0755).
    variant("exec-bit:package/index.js", &|e| {
        let mode = String::from_utf8_lossy(&e.header[100..108]).replace("644", "755");
        e.header[100..108].copy_from_slice(mode.as_bytes());
    })?;
    // formatting: README.md with CRLF line endings.
    variant("crlf:package/README.md", &|e| {
        e.data = String::from_utf8_lossy(&e.data)
            .replace('\n', "\r\n")
            .into_bytes();
    })?;
    // content: one line of lib/util.js changed.
    variant("content:package/lib/util.js", &|e| {
        e.data = String::from_utf8_lossy(&e.data)
            .replace("hello", "goodbye")
            .into_bytes();
    })?;
    eprintln!("fixtures: crafted cases in {}", dir.display());
    Ok(())
}
