//! [`Verdaccio`]: a real Verdaccio 6 registry as a child process on a free loopback port, with its
//! own temporary storage, fully offline (no uplinks), stopped with SIGTERM when dropped.
//!
//! Users are created by HTTP (`PUT /-/user/org.couchdb.user:NAME`), packages are published with
//! the real `npm publish` or with a raw PUT shaped like npm's, and a stored tarball can be
//! overwritten on disk to simulate a registry that serves other bytes than were published.

use std::fs::{self, File};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tempfile::TempDir;

use crate::http::{self, send};
use crate::node::{NodeTool, check_output, tail};
use crate::npm_path::{tarball_path, unscoped};

/// How long a start may take before it counts as failed (2 shared cores can be slow).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long SIGTERM gets before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A running Verdaccio registry on `127.0.0.1`. Dropping it stops the process and deletes its
/// storage.
#[derive(Debug)]
pub struct Verdaccio {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
}

impl Verdaccio {
    /// Starts one instance and waits until `GET /-/ping` answers 200.
    ///
    /// Fails with the install hint when the pinned `verdaccio` is missing, and with the end of
    /// the server log when it exits or does not become ready in time. A start that loses its
    /// port to another process is retried on a new port.
    pub fn start() -> Result<Self> {
        Self::start_with_access("$all")
    }

    /// Like [`Verdaccio::start`], but reads need a valid token too (`access: $authenticated`):
    /// the registry answers 401 to anonymous reads and to reads with a wrong token.
    pub fn start_private() -> Result<Self> {
        Self::start_with_access("$authenticated")
    }

    fn start_with_access(access: &str) -> Result<Self> {
        let bin = NodeTool::Verdaccio.path()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::start_once(&bin, access) {
                Err(err) if attempt < 3 && format!("{err:#}").contains("EADDRINUSE") => {}
                result => return result,
            }
        }
    }

    /// Starts `n` instances concurrently, each with its own storage.
    pub fn start_many(n: usize) -> Result<Vec<Self>> {
        let starts: Vec<_> = (0..n).map(|_| thread::spawn(Self::start)).collect();
        let mut all = Vec::with_capacity(n);
        let mut first_err = None;
        for start in starts {
            match start.join() {
                Ok(Ok(v)) => all.push(v),
                Ok(Err(err)) => {
                    first_err.get_or_insert(err);
                }
                Err(_) => {
                    first_err.get_or_insert(anyhow::anyhow!("a Verdaccio start thread panicked"));
                }
            }
        }
        // On failure the started ones are dropped, so stopped, here.
        match first_err {
            Some(err) => Err(err),
            None => Ok(all),
        }
    }

    fn start_once(bin: &Path, access: &str) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("byteproof-verdaccio-")
            .tempdir()
            .context("creating Verdaccio's temp dir")?;
        let port = free_port()?;
        let config = dir.path().join("config.yaml");
        fs::create_dir_all(dir.path().join("storage"))?;
        fs::write(&config, config_yaml(dir.path(), port, access))
            .with_context(|| format!("writing {}", config.display()))?;
        let log = File::create(dir.path().join("verdaccio.log"))?;
        let child = Command::new(bin)
            .arg("--config")
            .arg(&config)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .current_dir(dir.path())
            .env_remove("VERDACCIO_PUBLIC_URL")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let mut registry = Self {
            child: Some(child),
            port,
            dir,
        };
        registry.wait_ready()?; // on error, Drop stops the process
        Ok(registry)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        let ping = format!("{}-/ping", self.url());
        loop {
            let exited = match self.child.as_mut() {
                Some(child) => child.try_wait()?,
                None => None,
            };
            if let Some(status) = exited {
                bail!(
                    "Verdaccio on port {} exited during start ({status}); log tail:\n{}",
                    self.port,
                    self.log_tail(30)
                );
            }
            if http::get(&ping).is_ok_and(|r| r.status == 200) {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "Verdaccio on port {} did not answer {ping} within {START_TIMEOUT:?}; log tail:\n{}",
                    self.port,
                    self.log_tail(30)
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT/` (with the trailing slash).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The storage folder (`<storage>/@scope/name/package.json` and the tarballs).
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// The whole server log so far (JSON lines).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("verdaccio.log")).unwrap_or_default()
    }

    fn log_tail(&self, lines: usize) -> String {
        tail(&self.log(), lines)
    }

    /// Creates a user (password: 3 characters at least) and returns its token, valid on this
    /// instance only.
    pub fn create_user(&self, name: &str, password: &str) -> Result<String> {
        let body = serde_json::json!({
            "_id": format!("org.couchdb.user:{name}"),
            "name": name,
            "password": password,
            "type": "user",
            "roles": [],
            "date": "2026-01-01T00:00:00.000Z",
        });
        let url = format!("{}-/user/org.couchdb.user:{name}", self.url());
        let resp = send(
            "PUT",
            &url,
            &[
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
            ],
            body.to_string().as_bytes(),
        )?;
        if resp.status != 201 {
            bail!(
                "creating user {name}: PUT {url} gave {}: {}",
                resp.status,
                resp.text()
            );
        }
        let doc: serde_json::Value =
            serde_json::from_slice(&resp.body).context("user creation answer is not JSON")?;
        doc["token"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("user creation answer has no token: {doc}"))
    }

    /// Writes this instance's npm userconfig (`registry`, the auth token, and no update check,
    /// funding or audit noise) and returns its path. Each call overwrites the previous one.
    pub fn write_npmrc(&self, token: &str) -> Result<PathBuf> {
        let path = self.dir.path().join("npmrc");
        let text = format!(
            "registry={url}\n//127.0.0.1:{port}/:_authToken={token}\n\
             update-notifier=false\nfund=false\naudit=false\n",
            url = self.url(),
            port = self.port
        );
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Publishes with the real `npm publish`: `pkg` is a package folder or a `.tgz`. `tag` is
    /// passed as `--tag` (npm requires one for prerelease versions).
    pub fn npm_publish(&self, pkg: &Path, token: &str, tag: Option<&str>) -> Result<()> {
        let npmrc = self.write_npmrc(token)?;
        let pkg = std::path::absolute(pkg)
            .with_context(|| format!("making {} absolute", pkg.display()))?;
        // An absolute path is never read as GitHub shorthand (a bare `dir/x.tgz` would be).
        let workdir = if pkg.is_dir() {
            pkg.clone()
        } else {
            pkg.parent()
                .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
        };
        let mut cmd = Command::new("npm");
        cmd.arg("publish")
            .arg(&pkg)
            .arg("--registry")
            .arg(self.url())
            .arg("--userconfig")
            .arg(&npmrc)
            .current_dir(workdir)
            .env_remove("npm_config_registry")
            .env("npm_config_update_notifier", "false");
        if let Some(tag) = tag {
            cmd.arg("--tag").arg(tag);
        }
        let out = cmd
            .output()
            .context("running npm publish (is npm on PATH?)")?;
        check_output(
            &out,
            &format!("npm publish {} to {}", pkg.display(), self.url()),
        )
    }

    /// Publishes `tgz` as `name@version` with one raw PUT shaped like npm's: absolute
    /// `dist.tarball`, `dist.shasum`, `dist.integrity`, one `_attachments` entry, tag `latest`.
    pub fn publish_raw(&self, name: &str, version: &str, tgz: &[u8], token: &str) -> Result<()> {
        let digests = byteproof_hash::hash_bytes(tgz);
        let attachment = format!("{name}-{version}.tgz");
        let body = serde_json::json!({
            "_id": name,
            "name": name,
            "dist-tags": {"latest": version},
            "versions": {
                version: {
                    "_id": format!("{name}@{version}"),
                    "name": name,
                    "version": version,
                    "dist": {
                        "shasum": digests.sha1_hex(),
                        "integrity": digests.integrity(),
                        "tarball": format!("{}{name}/-/{attachment}", self.url()),
                    },
                },
            },
            "access": null,
            "_attachments": {
                attachment: {
                    "content_type": "application/octet-stream",
                    "data": BASE64.encode(tgz),
                    "length": tgz.len(),
                },
            },
        });
        let url = format!("{}{}", self.url(), name.replacen('/', "%2f", 1));
        let bearer = format!("Bearer {token}");
        let resp = send(
            "PUT",
            &url,
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &bearer),
                ("npm-command", "publish"),
            ],
            body.to_string().as_bytes(),
        )?;
        if resp.status != 201 {
            bail!(
                "raw publish of {name}@{version}: PUT {url} gave {}: {}",
                resp.status,
                resp.text()
            );
        }
        Ok(())
    }

    /// Where Verdaccio stores `name@version`'s tarball: `<storage>/@scope/name/name-<ver>.tgz`.
    pub fn tarball_path_in_storage(&self, name: &str, version: &str) -> PathBuf {
        self.storage_dir()
            .join(name)
            .join(format!("{}-{version}.tgz", unscoped(name)))
    }

    /// Overwrites the stored tarball of a published `name@version`: the registry then serves
    /// `bytes` while its packument still claims the published digests.
    pub fn tamper_tarball(&self, name: &str, version: &str, bytes: &[u8]) -> Result<()> {
        let path = self.tarball_path_in_storage(name, version);
        if !path.is_file() {
            bail!("{name}@{version} is not stored at {}", path.display());
        }
        fs::write(&path, bytes).with_context(|| format!("overwriting {}", path.display()))
    }

    /// The URL this instance serves `name@version`'s tarball at.
    pub fn tarball_url(&self, name: &str, version: &str) -> String {
        format!(
            "{}{}",
            self.url().trim_end_matches('/'),
            tarball_path(name, version)
        )
    }

    /// Downloads `name@version`'s tarball (200 expected).
    pub fn fetch_tarball(&self, name: &str, version: &str) -> Result<Vec<u8>> {
        let url = self.tarball_url(name, version);
        let resp = http::get(&url)?;
        if resp.status != 200 {
            bail!("GET {url} gave {}: {}", resp.status, resp.text());
        }
        Ok(resp.body)
    }

    /// Downloads the packument of `name` (200 expected).
    pub fn packument(&self, name: &str) -> Result<serde_json::Value> {
        let url = format!("{}{}", self.url(), name.replacen('/', "%2f", 1));
        let resp = send("GET", &url, &[("Accept", "application/json")], &[])?;
        if resp.status != 200 {
            bail!("GET {url} gave {}: {}", resp.status, resp.text());
        }
        serde_json::from_slice(&resp.body).with_context(|| format!("packument at {url}"))
    }

    /// Stops the process: SIGTERM (via `kill`), then SIGKILL after a grace period.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        let termed = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if termed {
            let deadline = Instant::now() + STOP_GRACE;
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                thread::sleep(Duration::from_millis(25));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Verdaccio {
    fn drop(&mut self) {
        if thread::panicking() {
            #[allow(
                clippy::print_stderr,
                reason = "the server log is what explains a failed test"
            )]
            {
                eprintln!(
                    "--- Verdaccio on port {} (log tail) ---\n{}",
                    self.port,
                    self.log_tail(40)
                );
            }
        }
        self.stop();
    }
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// The offline configuration: no uplinks, htpasswd with cheap bcrypt, no web UI, no audit.
fn config_yaml(dir: &Path, port: u16, access: &str) -> String {
    let dir = dir.display();
    format!(
        r#"storage: '{dir}/storage'
auth:
  htpasswd:
    file: '{dir}/htpasswd'
    max_users: 100
    algorithm: bcrypt
    rounds: 4
uplinks: {{}}
packages:
  '@*/*':
    access: {access}
    publish: $authenticated
    unpublish: $authenticated
  '**':
    access: {access}
    publish: $authenticated
    unpublish: $authenticated
server:
  keepAliveTimeout: 60
middlewares:
  audit:
    enabled: false
web:
  enable: false
max_body_size: 10mb
listen: 127.0.0.1:{port}
log:
  type: stdout
  format: json
  level: http
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packer::{PackTool, Packer};

    const NAME: &str = "@bytelyst/errors";

    #[test]
    fn two_instances_serve_identical_bytes_for_npm_and_raw_publishes() {
        let [a, b]: [Verdaccio; 2] = Verdaccio::start_many(2).unwrap().try_into().unwrap();
        assert_ne!(a.port(), b.port());
        assert_ne!(a.storage_dir(), b.storage_dir());
        let token_a = a.create_user("alice", "alice-pass").unwrap();
        let token_b = b.create_user("bob", "bob-pass").unwrap();
        assert!(a.create_user("alice", "wrong-pass").is_err());

        // 1.0.0: the same npm-packed .tgz through the real `npm publish` (a prerelease-free
        // version, default tag) to both.
        let v1 = Packer::new(NAME, "1.0.0")
            .unwrap()
            .pack(PackTool::Npm)
            .unwrap();
        a.npm_publish(&v1.path, &token_a, None).unwrap();
        b.npm_publish(&v1.path, &token_b, None).unwrap();
        assert_eq!(a.fetch_tarball(NAME, "1.0.0").unwrap(), v1.bytes);
        assert_eq!(b.fetch_tarball(NAME, "1.0.0").unwrap(), v1.bytes);

        // 1.0.1-rc.1: raw PUT to both; a prerelease from a folder needs --tag through npm.
        let packer = Packer::new(NAME, "1.0.1-rc.1").unwrap();
        let v2 = packer.pack(PackTool::Pnpm).unwrap();
        a.publish_raw(NAME, "1.0.1-rc.1", &v2.bytes, &token_a)
            .unwrap();
        b.publish_raw(NAME, "1.0.1-rc.1", &v2.bytes, &token_b)
            .unwrap();
        assert_eq!(a.fetch_tarball(NAME, "1.0.1-rc.1").unwrap(), v2.bytes);
        assert_eq!(b.fetch_tarball(NAME, "1.0.1-rc.1").unwrap(), v2.bytes);
        let dir = Packer::new(NAME, "1.0.2-rc.1").unwrap();
        a.npm_publish(&dir.package_dir().unwrap(), &token_a, Some("next"))
            .unwrap();

        // The packuments claim the real digests and point at each instance.
        let doc = b.packument(NAME).unwrap();
        let dist = &doc["versions"]["1.0.1-rc.1"]["dist"];
        let digests = byteproof_hash::hash_bytes(&v2.bytes);
        assert_eq!(dist["shasum"], digests.sha1_hex());
        assert_eq!(dist["integrity"], digests.integrity());
        assert_eq!(dist["tarball"], b.tarball_url(NAME, "1.0.1-rc.1"));
        assert_eq!(
            a.packument(NAME).unwrap()["dist-tags"]["next"],
            "1.0.2-rc.1"
        );

        // Tokens are per instance; a re-publish is refused.
        assert!(a.publish_raw(NAME, "9.0.0", &v1.bytes, &token_b).is_err());
        assert!(a.publish_raw(NAME, "1.0.0", &v1.bytes, &token_a).is_err());

        // Tampering changes the served bytes but not the claims.
        assert!(b.tarball_path_in_storage(NAME, "1.0.0").is_file());
        b.tamper_tarball(NAME, "1.0.0", b"not the published bytes")
            .unwrap();
        assert_eq!(
            b.fetch_tarball(NAME, "1.0.0").unwrap(),
            b"not the published bytes"
        );
        assert_eq!(
            b.packument(NAME).unwrap()["versions"]["1.0.0"]["dist"]["shasum"],
            byteproof_hash::hash_bytes(&v1.bytes).sha1_hex()
        );
        assert!(b.tamper_tarball(NAME, "7.7.7", b"x").is_err());
    }

    #[test]
    fn drop_stops_the_process() {
        let v = Verdaccio::start().unwrap();
        let ping = format!("{}-/ping", v.url());
        assert_eq!(http::get(&ping).unwrap().status, 200);
        let storage = v.storage_dir();
        drop(v);
        assert!(http::get(&ping).is_err(), "still answering after drop");
        assert!(!storage.exists());
    }
}
