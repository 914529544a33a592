//! A private `docker-registry serve` process on 127.0.0.1 with its own config and storage,
//! stopped (killed and reaped) on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use byteproof_testkit::http::{self, Response};

use crate::image::TestImage;
use crate::token::{SigningKey, TOKEN_ISSUER, TOKEN_SERVICE, TokenServer};

/// How the registry authenticates clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// No auth.
    Open,
    /// htpasswd (bcrypt) with one user; the registry answers `Basic realm="test-realm"`.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// Token auth: the registry answers Docker Hub's Bearer challenge pointing at a token
    /// service run by the harness. With `users`, the token service wants Basic credentials.
    Token {
        /// Credentials the token service requires, if any.
        users: Option<(String, String)>,
    },
}

/// A running registry.
#[derive(Debug)]
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    addr: String,
    mode: AuthMode,
    token: Option<TokenServer>,
    key: Option<SigningKey>,
}

impl Registry {
    /// Starts an open registry.
    pub fn open() -> Self {
        Self::start(AuthMode::Open)
    }

    /// Starts a registry with htpasswd auth for one user.
    pub fn basic(username: &str, password: &str) -> Self {
        Self::start(AuthMode::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        })
    }

    /// Starts a registry with token auth and an anonymous token service.
    pub fn token() -> Self {
        Self::start(AuthMode::Token { users: None })
    }

    /// Starts a registry in `mode` on a free port with fresh storage.
    pub fn start(mode: AuthMode) -> Self {
        let binary = crate::require_tool("docker-registry");
        let dir = tempfile::Builder::new()
            .prefix("byteproof-ocitest-")
            .tempdir()
            .expect("scratch dir");
        let mut token = None;
        let mut key = None;
        let auth = match &mode {
            AuthMode::Open => String::new(),
            AuthMode::Basic { username, password } => {
                let path = dir.path().join("htpasswd");
                write_htpasswd(&path, username, password);
                format!(
                    "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                    path.display()
                )
            }
            AuthMode::Token { users } => {
                let signing = SigningKey::generate(dir.path());
                let server = TokenServer::start(signing.clone(), users.clone());
                let block = format!(
                    "auth:\n  token:\n    realm: \"{}\"\n    service: {TOKEN_SERVICE}\n    issuer: {TOKEN_ISSUER}\n    rootcertbundle: {}\n",
                    server.realm(),
                    signing.cert.display()
                );
                token = Some(server);
                key = Some(signing);
                block
            }
        };
        let mut last_log = String::new();
        // The port is picked by binding :0 and releasing it; retry if another process wins it.
        for _attempt in 0..3 {
            let port = free_port();
            let addr = format!("127.0.0.1:{port}");
            let storage = dir.path().join("storage");
            let config = format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n  secret: byteproof-ocitest\n{auth}",
                storage.display()
            );
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config).expect("write registry config");
            let log_path = dir.path().join("registry.log");
            let log = std::fs::File::create(&log_path).expect("registry log");
            let mut child = Command::new(&binary)
                .arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log handle"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    eprintln!(
                        "docker-registry exited with {status} on {addr}; retrying. Log:\n{last_log}"
                    );
                    break;
                }
                if http::get(&format!("http://{addr}/v2/")).is_ok() {
                    return Self {
                        child,
                        dir,
                        addr,
                        mode,
                        token,
                        key,
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    panic!(
                        "docker-registry did not answer on {addr} within 15 s. Log:\n{last_log}"
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("docker-registry failed to start three times. Last log:\n{last_log}");
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The auth mode.
    pub fn mode(&self) -> &AuthMode {
        &self.mode
    }

    /// The token service, in token mode.
    pub fn token_server(&self) -> Option<&TokenServer> {
        self.token.as_ref()
    }

    /// The scratch folder holding config, storage and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Pushes the multi-platform `image` as `repo:tag` (children by digest, then the index by
    /// tag). Returns the index digest.
    pub fn push_index(&self, repo: &str, tag: &str, image: &TestImage) -> String {
        for child in &image.platforms {
            for blob in &child.blobs {
                self.push_blob(repo, blob);
            }
            self.put_manifest(repo, &child.digest(), child.media_type, &child.manifest);
        }
        self.put_manifest(repo, tag, image.index_media_type, &image.index);
        image.index_digest()
    }

    /// Pushes one platform of `image` (by index into `image.platforms`) as a single-platform
    /// `repo:tag`. Returns its manifest digest.
    pub fn push_single(&self, repo: &str, tag: &str, image: &TestImage, platform: usize) -> String {
        let child = &image.platforms[platform];
        for blob in &child.blobs {
            self.push_blob(repo, blob);
        }
        self.put_manifest(repo, tag, child.media_type, &child.manifest);
        child.digest()
    }

    /// Deletes a manifest by digest (`DELETE /v2/<repo>/manifests/<digest>`).
    pub fn delete_manifest(&self, repo: &str, digest: &str) {
        let url = format!("{}/v2/{repo}/manifests/{digest}", self.url());
        let resp = self.send(repo, "DELETE", &url, &[], &[]);
        assert_eq!(resp.status, 202, "DELETE {url}: {}", resp.text());
    }

    fn push_blob(&self, repo: &str, blob: &[u8]) {
        let digest = crate::image::sha256_digest(blob);
        let base = format!("{}/v2/{repo}/blobs", self.url());
        let head = self.send(repo, "HEAD", &format!("{base}/{digest}"), &[], &[]);
        if (200..300).contains(&head.status) {
            return;
        }
        let resp = self.send(repo, "POST", &format!("{base}/uploads/"), &[], &[]);
        assert_eq!(resp.status, 202, "start upload: {}", resp.text());
        let location = resp.header("location").expect("upload Location");
        let location = if location.starts_with("http") {
            location.to_owned()
        } else {
            format!("{}{location}", self.url())
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{sep}digest={digest}");
        let content_type = [("Content-Type", "application/octet-stream")];
        let resp = self.send(repo, "PUT", &url, &content_type, blob);
        assert_eq!(resp.status, 201, "finish upload: {}", resp.text());
    }

    fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, bytes: &[u8]) {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.url());
        let resp = self.send(repo, "PUT", &url, &[("Content-Type", media_type)], bytes);
        assert_eq!(resp.status, 201, "PUT {url}: {}", resp.text());
    }

    /// Sends one request with admin credentials for `repo` (Basic, or a push token minted
    /// directly); panics when the request cannot be sent.
    fn send(
        &self,
        repo: &str,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let auth = self.admin_authorization(repo);
        let mut all = headers.to_vec();
        if let Some(auth) = &auth {
            all.push(("Authorization", auth));
        }
        http::send(method, url, &all, body).unwrap_or_else(|e| panic!("{method} {url}: {e:#}"))
    }

    /// The `Authorization` value that may push to and delete from `repo`.
    fn admin_authorization(&self, repo: &str) -> Option<String> {
        match (&self.mode, &self.key) {
            (AuthMode::Basic { username, password }, _) => {
                let pair = format!("{username}:{password}");
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
            (AuthMode::Token { .. }, Some(key)) => {
                let token = key.mint(
                    TOKEN_SERVICE,
                    &[(
                        repo.to_owned(),
                        vec![
                            "pull".to_owned(),
                            "push".to_owned(),
                            "delete".to_owned(),
                            "*".to_owned(),
                        ],
                    )],
                );
                Some(format!("Bearer {token}"))
            }
            _ => None,
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Writes a bcrypt htpasswd line with `htpasswd -Bbn` (apache2-utils).
fn write_htpasswd(path: &PathBuf, username: &str, password: &str) {
    let out = Command::new(crate::require_tool("htpasswd"))
        .args(["-Bbn", username, password])
        .output()
        .expect("run htpasswd");
    assert!(
        out.status.success(),
        "htpasswd failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(path, out.stdout).expect("write htpasswd");
}
