//! The real Node tools the probe drives (`npm`, `pnpm`, `node`), run hermetically: no
//! inherited `npm_config_*`, a userconfig and cache of the probe's own, killed when the step
//! that runs them is dropped (timeout, Ctrl-C).

use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Which packer makes the tarball.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackerKind {
    /// `npm pack`.
    Npm,
    /// `pnpm pack`.
    Pnpm,
}

impl PackerKind {
    /// `npm` or `pnpm`.
    pub fn as_str(self) -> &'static str {
        match self {
            PackerKind::Npm => "npm",
            PackerKind::Pnpm => "pnpm",
        }
    }
}

/// Where the tools are.
#[derive(Clone, Debug)]
pub struct Tools {
    /// `npm`.
    pub npm: PathBuf,
    /// `pnpm`.
    pub pnpm: PathBuf,
    /// `node`.
    pub node: PathBuf,
}

impl Default for Tools {
    fn default() -> Self {
        Self {
            npm: "npm".into(),
            pnpm: "pnpm".into(),
            node: "node".into(),
        }
    }
}

/// A tool's run: success, stdout, and a short tail of both streams for messages.
pub(crate) struct ToolRun {
    pub(crate) ok: bool,
    pub(crate) stdout: String,
    pub(crate) tail: String,
}

/// Runs `program args` in `cwd` with npm settings from the environment removed and `env`
/// added. Secrets in `scrub` are removed from the output kept.
pub(crate) async fn run_tool(
    program: &Path,
    args: &[&str],
    cwd: &Path,
    env: &[(&str, &str)],
    scrub: &[&str],
) -> Result<ToolRun, String> {
    let mut command = tokio::process::Command::new(program);
    for (key, _) in std::env::vars_os() {
        if let Some(key) = key.to_str() {
            if key.to_ascii_lowercase().starts_with("npm_config_") {
                command.env_remove(key);
            }
        }
    }
    command
        .args(args)
        .current_dir(cwd)
        .env("npm_config_update_notifier", "false")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = command
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let clean = |bytes: &[u8]| {
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        for secret in scrub.iter().filter(|s| !s.is_empty()) {
            text = text.replace(secret, "<redacted>");
        }
        text
    };
    let stdout = clean(&output.stdout);
    let stderr = clean(&output.stderr);
    let lines: Vec<&str> = stderr.lines().chain(stdout.lines()).collect();
    let tail = lines[lines.len().saturating_sub(6)..].join(" | ");
    Ok(ToolRun {
        ok: output.status.success(),
        stdout,
        tail: format!("{} ({})", tail.trim(), output.status),
    })
}
