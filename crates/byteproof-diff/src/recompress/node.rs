//! Node's zlib (Chromium's fork, or the system zlib in a distribution build) in a `node`
//! subprocess: the engine npm, pnpm and yarn actually compress with.

use std::collections::BTreeSet;
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use super::Compressor;

/// Pipes stdin through `zlib.createDeflateRaw` at the level in argv (Node's defaults
/// otherwise: windowBits 15, memLevel 8, the default strategy, as the packers use).
const SCRIPT: &str = "const z=require('zlib');\
process.stdin.pipe(z.createDeflateRaw({level:+process.argv[1]})).pipe(process.stdout);";

/// One `node` binary as a deflate engine.
#[derive(Clone, Debug)]
pub struct NodeZlib {
    path: PathBuf,
    /// `v20.20.2 (zlib 1.3.1-e00f703)`, or `None` when the binary does not run.
    version: Option<String>,
}

impl NodeZlib {
    /// The binary at `path`, asked for its Node and zlib versions.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let version = Command::new(&path)
            .args(["-p", "process.version+' (zlib '+process.versions.zlib+')'"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .filter(|v| v.starts_with('v'));
        Self { path, version }
    }

    /// Whether the binary ran and said which Node it is.
    pub fn works(&self) -> bool {
        self.version.is_some()
    }

    /// The `node` binaries to try: each of `given`, then every `node`, `nodejs`, `node20`,
    /// `node-18` … on `PATH` (`path_var`), each real file once, and only those that run.
    pub fn discover(given: &[PathBuf], path_var: Option<&std::ffi::OsStr>) -> Vec<NodeZlib> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let on_path = path_var
            .map(|p| std::env::split_paths(p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .flat_map(|dir| node_binaries_in(&dir));
        for path in given.iter().cloned().chain(on_path) {
            let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if !seen.insert(real) {
                continue;
            }
            let engine = NodeZlib::new(path);
            if engine.works() || given.contains(&engine.path) {
                out.push(engine);
            }
        }
        out
    }
}

/// Files in `dir` named like a Node binary: `node` or `nodejs`, optionally followed by a
/// version (`node20`, `node-18.19`), never other tools (`node-gyp`).
fn node_binaries_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let rest = name
                .strip_prefix("nodejs")
                .or_else(|| name.strip_prefix("node"));
            rest.is_some_and(|r| {
                r.chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
                    && !r.starts_with('.')
            })
        })
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found
}

impl Compressor for NodeZlib {
    fn name(&self) -> String {
        match &self.version {
            Some(v) => format!("node {v}"),
            None => format!("node at {}", self.path.display()),
        }
    }

    fn deflate(
        &mut self,
        level: u32,
        input: &mut dyn Read,
        sink: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<(), String> {
        if self.version.is_none() {
            return Err(format!("{} does not run", self.path.display()));
        }
        let mut child = Command::new(&self.path)
            .arg("-e")
            .arg(SCRIPT)
            .arg(level.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.path.display()))?;
        let (Some(mut stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err("node has no pipes".to_owned());
        };
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let mut wanted = true;
        let mut chunk = vec![0u8; 64 * 1024];
        let mut write_error = None;
        while wanted {
            while let Ok(out) = rx.try_recv() {
                wanted &= sink(&out);
            }
            if !wanted {
                break;
            }
            let n = match input.read(&mut chunk) {
                Ok(n) => n,
                Err(e) => {
                    write_error = Some(e.to_string());
                    break;
                }
            };
            if n == 0 {
                break;
            }
            if stdin.write_all(&chunk[..n]).is_err() {
                break;
            }
        }
        drop(stdin);
        while wanted {
            match rx.recv() {
                Ok(out) => wanted &= sink(&out),
                Err(_) => break,
            }
        }
        if !wanted {
            let _ = child.kill();
        }
        drop(rx);
        let status = child.wait().map_err(|e| e.to_string())?;
        let _ = reader.join();
        if let Some(err) = write_error {
            return Err(err);
        }
        if wanted && !status.success() {
            return Err(format!("node exited with {status}"));
        }
        Ok(())
    }
}
