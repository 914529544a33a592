//! `cargo xtask`: what a person would otherwise type.
//!
//! - `cargo xtask test`: installs what the tests need (Node tools from `xtask/npm`'s lockfile,
//!   Debian packages), then runs `cargo fmt --check`, clippy with `-D warnings`, and every test.
//! - `cargo xtask demo`: the README's main job, on two local Verdaccio registries.
//! - `cargo xtask bench [hash|diff|pin] [--check]`: benchmarks against reference tools, with
//!   their goals; `--check` exits 1 when one is missed.
//! - `cargo xtask fixtures`: regenerates `testdata/` from real packers.
//! - `cargo xtask cleanup-e2e`: removes e2e throwaway versions from the project's registries.
#![allow(clippy::print_stdout, clippy::print_stderr)] // xtask talks to a person

mod bench;
mod bench_route;
mod cleanup_e2e;
mod demo;
mod fixtures;
mod install;
#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test       install test prerequisites, then fmt --check, clippy -D warnings, all tests
  demo       start two local registries and show identical and divergent compares
  bench      benchmarks [hash|diff|pin] [--check]: byteproof against reference tools, with
             goals (--check: exit 1 when a goal is missed)
  fixtures   regenerate testdata/ from real packers (npm, pnpm, yarn)
  cleanup-e2e  remove every e2e throwaway version from the registries in ./byteproof.toml";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("test") => test(&root, &args[1..]),
        Some("demo") => demo::run(&root),
        Some("bench") => bench::run(&root, &args[1..]),
        Some("bench-route") => bench_route::run(&root, args[1..].iter().any(|a| a == "--check")),
        Some("fixtures") => fixtures::run(&root),
        Some("cleanup-e2e") => cleanup_e2e::run(&root, &args[1..]),
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

/// The workspace root (xtask lives one level below it).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// `cargo`, as the one that runs us.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs a command, failing with its description when it fails.
fn run(mut command: Command, what: &str) -> anyhow::Result<()> {
    eprintln!("==> {what}");
    let status = command
        .status()
        .with_context(|| format!("cannot start: {what}"))?;
    if !status.success() {
        bail!("failed ({status}): {what}");
    }
    Ok(())
}

fn test(root: &Path, extra: &[String]) -> anyhow::Result<()> {
    install::prerequisites(root)?;
    let mut fmt = cargo();
    fmt.current_dir(root).args(["fmt", "--all", "--check"]);
    run(fmt, "cargo fmt --all --check")?;
    let mut clippy = cargo();
    clippy.current_dir(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run(
        clippy,
        "cargo clippy --workspace --all-targets -- -D warnings",
    )?;
    let mut tests = cargo();
    tests
        .current_dir(root)
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(extra);
    run(tests, "cargo test --workspace --no-fail-fast")?;
    eprintln!("==> all checks passed");
    Ok(())
}
