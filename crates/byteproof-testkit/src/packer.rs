//! [`Packer`]: writes a real package folder from a small template and packs it with the real
//! `npm pack` or the pinned `pnpm pack`.
//!
//! The two packers produce different bytes for the same source (gzip header, entry order, file
//! modes), which is how tests and the demo get a genuine divergence between registries. Each
//! packer is deterministic on its own: packing the same folder twice gives the same bytes.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, bail};
use tempfile::TempDir;

use crate::node::{NodeTool, check_output};
use crate::npm_path::unscoped;

/// Which real tool packs the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackTool {
    /// `npm pack` from `PATH`.
    Npm,
    /// `pnpm pack` from `xtask/npm` (see [`NodeTool::Pnpm`]).
    Pnpm,
}

impl PackTool {
    fn label(self) -> &'static str {
        match self {
            Self::Npm => "npm",
            Self::Pnpm => "pnpm",
        }
    }
}

/// A packed tarball. `path` lives in the [`Packer`]'s temp dir, which stays on disk while this
/// value (or the packer) does.
#[derive(Debug, Clone)]
pub struct Packed {
    /// The `.tgz` file.
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
    _dir: Arc<TempDir>,
}

impl Packed {
    /// Lowercase hex SHA-256 of the bytes.
    pub fn sha256_hex(&self) -> String {
        byteproof_hash::hash_bytes(&self.bytes).sha256_hex()
    }
}

/// A package folder built from a template, packed on demand.
///
/// The template holds `package.json` (name, version, `main`, a `bin` entry, license),
/// `index.js`, `README.md` and an executable `bin/cli.js`; [`Packer::file`] and
/// [`Packer::executable`] add or replace files (including `package.json`).
#[derive(Debug)]
pub struct Packer {
    name: String,
    version: String,
    /// Relative path → (contents, executable).
    files: BTreeMap<PathBuf, (Vec<u8>, bool)>,
    dir: Arc<TempDir>,
    packs: AtomicU32,
}

impl Packer {
    /// The template for `name@version`, in a fresh temp dir.
    pub fn new(name: &str, version: &str) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("byteproof-pack-")
            .tempdir()
            .context("creating the packer's temp dir")?;
        let package_json = serde_json::json!({
            "name": name,
            "version": version,
            "description": "byteproof test fixture",
            "main": "index.js",
            "bin": { unscoped(name): "bin/cli.js" },
            "license": "MIT",
        });
        let packer = Self {
            name: name.to_owned(),
            version: version.to_owned(),
            files: BTreeMap::new(),
            dir: Arc::new(dir),
            packs: AtomicU32::new(0),
        };
        Ok(packer
            .file(
                "package.json",
                format!("{}\n", serde_json::to_string_pretty(&package_json)?),
            )
            .file(
                "index.js",
                format!(
                    "'use strict';\nmodule.exports = {{ name: {name:?}, version: {version:?} }};\n"
                ),
            )
            .file(
                "README.md",
                format!("# {name}\n\nA byteproof test fixture.\n"),
            )
            .executable(
                "bin/cli.js",
                "#!/usr/bin/env node\n'use strict';\nconsole.log(require('../index.js').version);\n",
            ))
    }

    /// Adds or replaces a regular file (mode 0644).
    #[must_use]
    pub fn file(mut self, rel: impl AsRef<Path>, contents: impl Into<Vec<u8>>) -> Self {
        self.files
            .insert(rel.as_ref().to_path_buf(), (contents.into(), false));
        self
    }

    /// Adds or replaces an executable file (mode 0755).
    #[must_use]
    pub fn executable(mut self, rel: impl AsRef<Path>, contents: impl Into<Vec<u8>>) -> Self {
        self.files
            .insert(rel.as_ref().to_path_buf(), (contents.into(), true));
        self
    }

    /// The package name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The package version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Writes the package folder (again, from scratch) and returns its path: usable with
    /// [`crate::Verdaccio::npm_publish`]. The folder is deleted when the packer is dropped.
    pub fn package_dir(&self) -> Result<PathBuf> {
        let src = self.dir.path().join("package");
        if src.exists() {
            fs::remove_dir_all(&src)?;
        }
        for (rel, (contents, exec)) in &self.files {
            let path = src.join(rel);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
            let mode = if *exec { 0o755 } else { 0o644 };
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
        }
        Ok(src)
    }

    /// Packs the folder with `tool` and returns the tarball.
    pub fn pack(&self, tool: PackTool) -> Result<Packed> {
        let src = self.package_dir()?;
        let n = self.packs.fetch_add(1, Ordering::SeqCst);
        let out = self.dir.path().join(format!("out-{}-{n}", tool.label()));
        fs::create_dir_all(&out)?;
        let mut cmd = match tool {
            PackTool::Npm => {
                // A userconfig of our own: no update check, and no stray settings from ~/.npmrc.
                let npmrc = self.dir.path().join("npmrc");
                fs::write(&npmrc, "update-notifier=false\nfund=false\naudit=false\n")?;
                let mut cmd = Command::new("npm");
                cmd.arg("pack").arg("--userconfig").arg(npmrc);
                cmd
            }
            PackTool::Pnpm => {
                let mut cmd = Command::new(NodeTool::Pnpm.path()?);
                cmd.arg("pack");
                cmd
            }
        };
        let out_put = cmd
            .arg("--pack-destination")
            .arg(&out)
            .current_dir(&src)
            .env("npm_config_update_notifier", "false")
            .output()
            .with_context(|| format!("running {} pack", tool.label()))?;
        let what = format!("{} pack of {}@{}", tool.label(), self.name, self.version);
        check_output(&out_put, &what)?;
        let tgzs: Vec<PathBuf> = fs::read_dir(&out)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "tgz"))
            .collect();
        let [path] = tgzs.as_slice() else {
            bail!("{what} left {} .tgz files in {}", tgzs.len(), out.display());
        };
        let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Packed {
            path: path.clone(),
            bytes,
            _dir: Arc::clone(&self.dir),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_and_pnpm_differ_and_each_is_deterministic() {
        let packer = Packer::new("@bytelyst/errors", "1.0.1").unwrap();
        let npm1 = packer.pack(PackTool::Npm).unwrap();
        let npm2 = packer.pack(PackTool::Npm).unwrap();
        let pnpm1 = packer.pack(PackTool::Pnpm).unwrap();
        let pnpm2 = packer.pack(PackTool::Pnpm).unwrap();
        assert_eq!(npm1.bytes, npm2.bytes);
        assert_eq!(pnpm1.bytes, pnpm2.bytes);
        assert_ne!(npm1.bytes, pnpm1.bytes);
        // Both are gzip, and the file on disk is what was returned.
        for packed in [&npm1, &pnpm1] {
            assert_eq!(&packed.bytes[..2], &[0x1f, 0x8b]);
            assert_eq!(fs::read(&packed.path).unwrap(), packed.bytes);
        }
    }

    #[test]
    fn the_template_has_an_executable_cli() {
        let packer = Packer::new("plain", "0.1.0")
            .unwrap()
            .file("extra.txt", "x");
        let dir = packer.package_dir().unwrap();
        let mode = fs::metadata(dir.join("bin/cli.js"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        let pj: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join("package.json")).unwrap()).unwrap();
        assert_eq!(
            (pj["name"].as_str(), pj["version"].as_str()),
            (Some("plain"), Some("0.1.0"))
        );
        assert!(dir.join("extra.txt").is_file());
    }
}
