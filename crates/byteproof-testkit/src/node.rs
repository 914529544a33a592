//! The Node tools the harness drives: `node` and `npm` from `PATH`, and the pinned `verdaccio`
//! and `pnpm` installed by `npm ci` in `xtask/npm` (see its `package.json`).
//!
//! A missing tool is an error naming the command that installs it, never a skipped test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};

/// What to run when the pinned Node tools are missing.
pub const INSTALL_HINT: &str = "run `cargo xtask test` (it runs npm ci in xtask/npm)";

/// The workspace root this crate was built in (`CARGO_MANIFEST_DIR/../..`).
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// A pinned tool from `xtask/npm/node_modules/.bin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeTool {
    /// `verdaccio` (override with `BYTEPROOF_VERDACCIO`).
    Verdaccio,
    /// `pnpm` (override with `BYTEPROOF_PNPM`).
    Pnpm,
}

impl NodeTool {
    /// The executable's name in `node_modules/.bin`.
    pub fn bin_name(self) -> &'static str {
        match self {
            Self::Verdaccio => "verdaccio",
            Self::Pnpm => "pnpm",
        }
    }

    /// The environment variable that overrides the path.
    pub fn env_var(self) -> &'static str {
        match self {
            Self::Verdaccio => "BYTEPROOF_VERDACCIO",
            Self::Pnpm => "BYTEPROOF_PNPM",
        }
    }

    /// The tool's path: the environment override when set, else
    /// `<workspace>/xtask/npm/node_modules/.bin/<name>`. Fails with [`INSTALL_HINT`] when the
    /// file does not exist.
    pub fn path(self) -> Result<PathBuf> {
        if let Some(path) = std::env::var_os(self.env_var()).filter(|p| !p.is_empty()) {
            let path = PathBuf::from(path);
            if !path.is_file() {
                bail!(
                    "{}={} does not exist; unset it or {INSTALL_HINT}",
                    self.env_var(),
                    path.display()
                );
            }
            return Ok(path);
        }
        let path = workspace_root()
            .join("xtask/npm/node_modules/.bin")
            .join(self.bin_name());
        if !path.is_file() {
            bail!(
                "{} not found at {}: {INSTALL_HINT}",
                self.bin_name(),
                path.display()
            );
        }
        Ok(path)
    }
}

/// True when `npm ci` must run in `<workspace_root>/xtask/npm`: `node_modules/.package-lock.json`
/// is missing or older than `package-lock.json`.
pub fn node_tools_need_install(workspace_root: &Path) -> bool {
    let dir = workspace_root.join("xtask/npm");
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        modified(dir.join("node_modules/.package-lock.json")),
        modified(dir.join("package-lock.json")),
    ) {
        (Some(installed), Some(lock)) => installed < lock,
        _ => true,
    }
}

/// Checks that `node` and `npm` run, then runs `npm ci --no-audit --no-fund` in
/// `<workspace_root>/xtask/npm` if [`node_tools_need_install`]. Prints nothing; npm's output is
/// in the error when it fails.
pub fn ensure_node_tools(workspace_root: &Path) -> Result<()> {
    for tool in ["node", "npm"] {
        let out = Command::new(tool).arg("--version").output();
        match out {
            Ok(out) if out.status.success() => {}
            Ok(out) => bail!(
                "`{tool} --version` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(err) => bail!(
                "`{tool}` not found on PATH ({err}): install Node.js 20 or later with npm \
                 (https://nodejs.org/), then retry"
            ),
        }
    }
    if !node_tools_need_install(workspace_root) {
        return Ok(());
    }
    let dir = workspace_root.join("xtask/npm");
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .env("npm_config_update_notifier", "false")
        .output()
        .with_context(|| format!("running npm ci in {}", dir.display()))?;
    check_output(
        &out,
        &format!("npm ci --no-audit --no-fund (in {})", dir.display()),
    )
}

/// Turns a failed command's output into an error that shows both streams.
pub(crate) fn check_output(out: &Output, what: &str) -> Result<()> {
    if out.status.success() {
        return Ok(());
    }
    bail!(
        "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        tail(&String::from_utf8_lossy(&out.stdout), 40),
        tail(&String::from_utf8_lossy(&out.stderr), 40)
    )
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_is_needed_without_an_install_marker() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("xtask/npm")).unwrap();
        assert!(node_tools_need_install(dir.path()));
        std::fs::write(dir.path().join("xtask/npm/package-lock.json"), "{}").unwrap();
        assert!(node_tools_need_install(dir.path()));
        std::fs::create_dir_all(dir.path().join("xtask/npm/node_modules")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(
            dir.path().join("xtask/npm/node_modules/.package-lock.json"),
            "{}",
        )
        .unwrap();
        assert!(!node_tools_need_install(dir.path()));
    }

    #[test]
    fn pinned_tools_are_installed() {
        // Fails (with the install hint) rather than skipping when `npm ci` has not run.
        for tool in [NodeTool::Verdaccio, NodeTool::Pnpm] {
            let path = tool.path().unwrap();
            assert!(path.is_file(), "{}", path.display());
        }
    }
}
