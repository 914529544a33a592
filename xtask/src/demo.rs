//! `cargo xtask demo`: byteproof's main job, end to end, on two throwaway registries.
//!
//! Two real Verdaccio registries on loopback get `@bytelyst/errors@1.0.0` from the same
//! npm-packed `.tgz` (identical bytes), and `1.0.1` packed by npm for registry A but by pnpm for
//! registry B (same source, different bytes). The real `byteproof compare` then runs against
//! both versions: exit 0 (identical), then exit 1 (divergent). Narration goes to stderr;
//! byteproof's own output is shown as it is.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use byteproof_testkit::{PackTool, Packer, Verdaccio, serde_json};

const NAME: &str = "@bytelyst/errors";

/// One line of narration on stderr.
#[allow(clippy::print_stderr, reason = "narrating the demo is its purpose")]
fn say(line: &str) {
    eprintln!("[demo] {line}");
}

/// Runs the demo from the workspace at `workspace_root`.
pub(crate) fn run(workspace_root: &Path) -> Result<()> {
    if byteproof_testkit::node_tools_need_install(workspace_root) {
        say("installing the pinned Node tools (npm ci in xtask/npm; about 20 s the first time)");
    }
    byteproof_testkit::ensure_node_tools(workspace_root)?;

    say("building byteproof (cargo build -p byteproof)");
    let byteproof = build_byteproof(workspace_root)?;
    let started = Instant::now();

    say("starting two Verdaccio registries on 127.0.0.1");
    let [a, b]: [Verdaccio; 2] = Verdaccio::start_many(2)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("expected two registries"))?;
    say(&format!("  registry a = {}", a.url()));
    say(&format!("  registry b = {}", b.url()));
    let token_a = a.create_user("demo", "demo-pass")?;
    let token_b = b.create_user("demo", "demo-pass")?;

    let v100 = Packer::new(NAME, "1.0.0")?.pack(PackTool::Npm)?;
    say(&format!(
        "publishing {NAME}@1.0.0 to a and b: the same npm-packed tarball (sha256 {})",
        v100.sha256_hex()
    ));
    a.npm_publish(&v100.path, &token_a, None)?;
    b.npm_publish(&v100.path, &token_b, None)?;

    let packer = Packer::new(NAME, "1.0.1")?;
    let by_npm = packer.pack(PackTool::Npm)?;
    let by_pnpm = packer.pack(PackTool::Pnpm)?;
    say(&format!("publishing {NAME}@1.0.1 from one source folder:"));
    say(&format!(
        "  to a, packed by npm  (sha256 {})",
        by_npm.sha256_hex()
    ));
    say(&format!(
        "  to b, packed by pnpm (sha256 {})",
        by_pnpm.sha256_hex()
    ));
    a.npm_publish(&by_npm.path, &token_a, None)?;
    b.npm_publish(&by_pnpm.path, &token_b, None)?;

    let mut outcomes = Vec::new();
    for (version, expected) in [("1.0.0", 0), ("1.0.1", 1)] {
        let spec = format!("{NAME}@{version}");
        let args = [
            "compare".to_owned(),
            spec.clone(),
            "--registry".to_owned(),
            format!("a={}", a.url()),
            "--registry".to_owned(),
            format!("b={}", b.url()),
        ];
        say(&format!("$ byteproof {}", args.join(" ")));
        let status = Command::new(&byteproof)
            .args(&args)
            .current_dir(workspace_root)
            .status()
            .with_context(|| format!("running {}", byteproof.display()))?;
        let code = status.code();
        let verdict = if code == Some(expected) {
            "as expected".to_owned()
        } else {
            format!("UNEXPECTED: wanted {}", describe(Some(expected)))
        };
        say(&format!("{spec}: {}, {verdict}", describe(code)));
        outcomes.push((spec, code, expected));
    }

    say("stopping the registries");
    drop((a, b));

    let unexpected: Vec<String> = outcomes
        .iter()
        .filter(|(_, code, expected)| *code != Some(*expected))
        .map(|(spec, code, expected)| {
            format!("{spec} gave {} instead of exit {expected}", describe(*code))
        })
        .collect();
    if !unexpected.is_empty() {
        bail!("the demo did not go as expected: {}", unexpected.join("; "));
    }
    say(&format!(
        "done in {:.1} s after the build: identical bytes verified, divergent bytes caught",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// What an exit status means for `byteproof compare`.
fn describe(code: Option<i32>) -> String {
    match code {
        Some(0) => "exit 0 = identical".to_owned(),
        Some(1) => "exit 1 = divergent or claim mismatch".to_owned(),
        Some(2) => "exit 2 = usage error".to_owned(),
        Some(3) => "exit 3 = could not verify".to_owned(),
        Some(n) => format!("exit {n}"),
        None => "killed by a signal".to_owned(),
    }
}

/// `$CARGO build -p byteproof`, then `<target_directory>/debug/byteproof`.
fn build_byteproof(workspace_root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "-p", "byteproof"])
        .current_dir(workspace_root)
        .status()
        .context("running cargo build -p byteproof")?;
    if !status.success() {
        bail!("cargo build -p byteproof failed ({status})");
    }
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace_root)
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata output is not JSON")?;
    let target = metadata["target_directory"]
        .as_str()
        .context("cargo metadata has no target_directory")?;
    let bin = Path::new(target).join("debug").join("byteproof");
    if !bin.is_file() {
        bail!("built byteproof but {} does not exist", bin.display());
    }
    Ok(bin)
}
