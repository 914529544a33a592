//! Running the binary hermetically and reading its output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use byteproof_testkit::{PackTool, Packed, Packer, Verdaccio};
use serde_json::Value;

/// A scratch home and working folder, so no real `~/.npmrc` or `./byteproof.toml` leaks in.
pub(crate) struct Sandbox {
    pub(crate) dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// stdout parsed as JSON (panics with both streams when it is not).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub(crate) fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts `needle` appears in neither stream.
    #[track_caller]
    pub(crate) fn assert_absent(&self, needle: &str) {
        assert!(
            !self.stdout.contains(needle),
            "found {needle:?} in stdout:\n{}",
            self.stdout
        );
        assert!(
            !self.stderr.contains(needle),
            "found {needle:?} in stderr:\n{}",
            self.stderr
        );
    }
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let userconfig = home.join(".npmrc");
        std::fs::write(&userconfig, "").unwrap();
        let env = vec![
            ("HOME".to_owned(), home.display().to_string()),
            (
                "NPM_CONFIG_USERCONFIG".to_owned(),
                userconfig.display().to_string(),
            ),
        ];
        Self { dir, env }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Sets an environment variable for later runs.
    pub(crate) fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Writes a file in the working folder and returns its path.
    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs `byteproof ARGS` in the sandbox, with no inherited BYTEPROOF_* or npm variables.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("run byteproof"))
    }

    /// The command [`Sandbox::run`] runs, for tests that spawn it with their own streams.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_byteproof"));
        for (key, _) in std::env::vars() {
            if key.starts_with("BYTEPROOF_")
                || key.to_ascii_lowercase().starts_with("npm_config_")
                || key == "NO_COLOR"
            {
                command.env_remove(key);
            }
        }
        command
            .current_dir(self.dir.path())
            .args(args)
            .envs(self.env.iter().cloned());
        command
    }
}

/// `--registry NAME=URL` arguments for these registries, named a, b, c, …
pub(crate) fn registry_args(urls: &[String]) -> Vec<String> {
    urls.iter()
        .enumerate()
        .flat_map(|(i, url)| {
            [
                "--registry".to_owned(),
                format!("{}={url}", char::from(b'a' + i as u8)),
            ]
        })
        .collect()
}

/// Packs `name@version` from the testkit's template with `tool`.
pub(crate) fn pack(name: &str, version: &str, tool: PackTool) -> Packed {
    Packer::new(name, version)
        .and_then(|p| p.pack(tool))
        .unwrap_or_else(|e| panic!("packing {name}@{version} with {tool:?}: {e:#}"))
}

/// Starts `n` registries, each with a user whose token is returned alongside.
pub(crate) fn registries(n: usize) -> Vec<(Verdaccio, String)> {
    Verdaccio::start_many(n)
        .unwrap_or_else(|e| panic!("{e:#}"))
        .into_iter()
        .map(|v| {
            let token = v
                .create_user("ci", "ci-pass-123")
                .unwrap_or_else(|e| panic!("{e:#}"));
            (v, token)
        })
        .collect()
}

/// Publishes `packed` to a registry with the real `npm publish`.
pub(crate) fn publish(registry: &(Verdaccio, String), packed: &Packed) {
    registry
        .0
        .npm_publish(&packed.path, &registry.1, None)
        .unwrap_or_else(|e| panic!("npm publish: {e:#}"));
}
