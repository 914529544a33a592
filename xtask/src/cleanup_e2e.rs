//! `cargo xtask cleanup-e2e [FLAGS]`: removes every e2e throwaway version (and whatever the
//! journal records) from the project's own registries.
//!
//! It runs the real `byteproof e2e cleanup --all` from this workspace, with the registries of
//! `byteproof.toml` in the workspace root (unless `--registry` or `--config` flags are given)
//! and the journal in `<root>/.byteproof-state` (unless `--state-dir` is given). Other flags
//! (`--scope`, `--name`, `--token-file`, `--json` …) are passed through. Idempotent: a second
//! run removes nothing and succeeds. Exit status is byteproof's.

use std::path::Path;

use anyhow::bail;

use crate::cargo;

pub(crate) fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let has = |flag: &str| {
        args.iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    let mut command = cargo();
    command.current_dir(root).args([
        "run",
        "--quiet",
        "--package",
        "byteproof",
        "--bin",
        "byteproof",
        "--",
        "e2e",
        "cleanup",
        "--all",
    ]);
    if !has("--registry") && !has("--config") {
        let config = root.join("byteproof.toml");
        if !config.is_file() {
            bail!(
                "no {} and no --registry flags: say which registries to clean, e.g.\n  cargo xtask cleanup-e2e --registry verdaccio=http://127.0.0.1:4873/ --scope acme",
                config.display()
            );
        }
        command.arg("--config").arg(config);
    }
    if !has("--state-dir") {
        command
            .arg("--state-dir")
            .arg(root.join(".byteproof-state"));
    }
    command.args(args);
    eprintln!("==> byteproof e2e cleanup --all");
    let status = command.status()?;
    if !status.success() {
        bail!("byteproof e2e cleanup failed ({status}): some versions may remain; see above");
    }
    Ok(())
}
