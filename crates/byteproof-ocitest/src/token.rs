//! A token service in Docker Hub's shape: `GET /token?service=…&scope=…` answers
//! `{"token": …, "access_token": …, "expires_in": 300}` with an RS256 JWT that a real
//! `docker-registry` in token mode verifies (x5c header, self-signed certificate as the root
//! bundle). Signing uses the `openssl` command.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use byteproof_testkit::http::{Reply, Request, Server};

/// The `service` the harness's token registries announce.
pub const TOKEN_SERVICE: &str = "test-registry";
/// The `iss` claim the harness's token registries trust.
pub const TOKEN_ISSUER: &str = "test-issuer";

/// One request the token service answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The `service` parameter.
    pub service: Option<String>,
    /// Every `scope` parameter.
    pub scopes: Vec<String>,
    /// The Basic user name sent, if any.
    pub basic_user: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
}

/// Key material for signing tokens: an RSA key and a self-signed certificate.
#[derive(Debug, Clone)]
pub struct SigningKey {
    /// PEM private key.
    pub key: PathBuf,
    /// PEM certificate (also the registry's `rootcertbundle`).
    pub cert: PathBuf,
    cert_der_b64: String,
}

impl SigningKey {
    /// Generates a key and certificate in `dir` with `openssl req`.
    pub fn generate(dir: &Path) -> Self {
        let key = dir.join("tok.key");
        let cert = dir.join("tok.crt");
        let status = Command::new(crate::require_tool("openssl"))
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "3650",
                "-subj",
                "/CN=test-token-issuer",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run openssl req");
        assert!(status.success(), "openssl req failed");
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .expect("run openssl x509");
        assert!(der.status.success(), "openssl x509 failed");
        Self {
            key,
            cert,
            cert_der_b64: STANDARD.encode(der.stdout),
        }
    }

    /// A signed JWT granting `access` (`(repository, actions)` pairs).
    pub fn mint(&self, service: &str, access: &[(String, Vec<String>)]) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [self.cert_der_b64]});
        let access: Vec<serde_json::Value> = access
            .iter()
            .map(|(name, actions)| serde_json::json!({"type": "repository", "name": name, "actions": actions}))
            .collect();
        let claims = serde_json::json!({
            "iss": TOKEN_ISSUER, "sub": "ci", "aud": service,
            "exp": now + 3600, "nbf": now.saturating_sub(60), "iat": now,
            "jti": format!("jti-{now}-{}", rand_suffix()), "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha256", "-binary", "-sign"])
            .arg(&self.key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run openssl dgst");
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().expect("openssl stdin");
            stdin
                .write_all(signing_input.as_bytes())
                .expect("write to openssl");
        }
        let out = child.wait_with_output().expect("openssl dgst output");
        assert!(out.status.success(), "openssl dgst -sign failed");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(out.stdout))
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}

/// An in-process token endpoint on 127.0.0.1 (the harness [`Server`]), stopped on drop.
#[derive(Debug)]
pub struct TokenServer {
    server: Server,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
}

impl TokenServer {
    /// Starts the service. With `users`, a request must carry one of them as Basic credentials
    /// (like Docker Hub for private repositories); otherwise anonymous requests get tokens.
    pub fn start(key: SigningKey, users: Option<(String, String)>) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        let server = Server::start(move |request| {
            let (answer, logged) = token_answer(&key, users.as_ref(), request);
            log.lock().expect("token log").push(logged);
            answer
        })
        .expect("start the token server");
        Self { server, requests }
    }

    /// The realm URL, `http://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> String {
        format!("{}token", self.server.url())
    }

    /// Every request answered so far.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.requests.lock().expect("token log").clone()
    }
}

/// Docker Hub's token answer to one request, and what to log about it.
fn token_answer(
    key: &SigningKey,
    users: Option<&(String, String)>,
    request: &Request,
) -> (Reply, TokenRequest) {
    let pairs = request.query();
    let service = pairs
        .iter()
        .find(|(k, _)| k == "service")
        .map(|(_, v)| v.clone());
    let scopes: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    let basic = request.header("authorization").and_then(decode_basic);
    let authorised = users.is_none_or(|user| basic.as_ref() == Some(user));
    let logged = TokenRequest {
        service: service.clone(),
        scopes: scopes.clone(),
        basic_user: basic.map(|(u, _)| u),
        status: if authorised { 200 } else { 401 },
    };
    if !authorised {
        let body = serde_json::json!({"details": "incorrect username or password"});
        return (Reply::json(401, &body), logged);
    }
    let access: Vec<(String, Vec<String>)> = scopes
        .iter()
        .filter_map(|s| {
            let mut parts = s.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            (kind == "repository").then(|| {
                (
                    name.to_owned(),
                    actions.split(',').map(str::to_owned).collect(),
                )
            })
        })
        .collect();
    let token = key.mint(service.as_deref().unwrap_or(TOKEN_SERVICE), &access);
    let body = serde_json::json!({"token": token, "access_token": token, "expires_in": 300});
    (Reply::json(200, &body), logged)
}

fn decode_basic(value: &str) -> Option<(String, String)> {
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (u, p) = decoded.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}
