//! What `cargo xtask test` installs on a fresh machine before running anything.
//!
//! - Node tools (Verdaccio, pnpm) from `xtask/npm/package-lock.json`, with `npm ci`;
//! - Debian packages the tests drive for real (`docker-registry` for `pin`, `apache2-utils` for
//!   htpasswd files, `openssl` to sign registry tokens), with `apt-get` when running as root.
//!
//! Anything that cannot be installed stops the run with the command that would install it:
//! tests never skip because a server is missing.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};

/// (binary the tests run, Debian package that provides it).
const DEBIAN: &[(&str, &str)] = &[
    ("docker-registry", "docker-registry"),
    ("htpasswd", "apache2-utils"),
];

pub(crate) fn prerequisites(root: &Path) -> anyhow::Result<()> {
    if byteproof_testkit::node_tools_need_install(root) {
        eprintln!("==> npm ci in xtask/npm (Verdaccio, pnpm from the committed lockfile)");
    }
    byteproof_testkit::ensure_node_tools(root)
        .context("installing the Node tools the tests use")?;
    debian_packages(DEBIAN)
}

/// True when `binary` is on PATH (or in the sbin folders apt installs to).
pub(crate) fn have(binary: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(Into::into))
        .any(|dir| dir.join(binary).is_file())
}

pub(crate) fn debian_packages(wanted: &[(&str, &str)]) -> anyhow::Result<()> {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(bin, _)| !have(bin))
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !is_root || !have("apt-get") {
        bail!(
            "the tests need Debian packages that are not installed: {list}\n  install them with: sudo apt-get install -y {list}"
        );
    }
    eprintln!("==> installing Debian packages: {list}");
    let apt = |args: &[&str]| -> anyhow::Result<()> {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("cannot run apt-get")?;
        if !status.success() {
            bail!(
                "apt-get {} failed ({status}); install by hand: apt-get install -y {list}",
                args.join(" ")
            );
        }
        Ok(())
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(missing.iter().copied());
    apt(&args)?;
    // The package's service is not wanted: the tests start their own registries on free ports.
    let _ = Command::new("sh")
        .args(["-c", "command -v systemctl >/dev/null && systemctl disable --now docker-registry 2>/dev/null; pkill -x docker-registry 2>/dev/null; true"])
        .status();
    Ok(())
}
