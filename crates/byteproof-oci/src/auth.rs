//! Registry credentials: a redacting [`Secret`], [`Credentials`], and the `auths` section of
//! Docker's `config.json` (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use byteproof_http::Credential;
use url::Url;

use crate::reference::{DOCKER_HUB, canonical_registry};

pub use byteproof_redact::Secret;

/// A username and password for HTTP Basic (directly, or at a token realm).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name (not secret, but still kept out of `Debug`'s password field).
    pub username: String,
    /// The password or access token.
    pub password: Secret,
}

impl Credentials {
    /// Builds credentials.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: Secret::new(password),
        }
    }

    /// These credentials as `Authorization: Basic …`, bound to `origin_of`'s origin.
    pub(crate) fn credential(&self, origin_of: &Url) -> Credential {
        Credential::basic(origin_of, &self.username, &self.password)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

/// Why Docker's `config.json` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// The file exists but could not be read.
    #[error("cannot read Docker config {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON of the expected shape.
    #[error("cannot parse Docker config {path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// An `auths` entry has an `auth` value that is not base64 of `user:password`.
    #[error("Docker config {path}: the `auth` value for {key:?} is not base64 of user:password")]
    BadAuth {
        /// The file.
        path: PathBuf,
        /// The `auths` key.
        key: String,
    },
}

#[derive(serde::Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(serde::Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// Credentials per canonical registry name, usually loaded from Docker's `config.json`.
///
/// Only the static `auths` entries are read; `credsStore` and `credHelpers` are not supported.
#[derive(Clone, Debug, Default)]
pub struct CredentialStore {
    by_registry: BTreeMap<String, Credentials>,
}

impl CredentialStore {
    /// An empty store (anonymous access only).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds credentials for a registry (`docker.io`, `ghcr.io`, `host:port`, or an `auths` key
    /// such as `https://index.docker.io/v1/`).
    pub fn insert(&mut self, registry: &str, credentials: Credentials) {
        self.by_registry
            .insert(auths_key_to_registry(registry), credentials);
    }

    /// The credentials for a canonical registry name, if any.
    pub fn get(&self, registry: &str) -> Option<&Credentials> {
        self.by_registry.get(&canonical_registry(registry))
    }

    /// Loads `config.json` from `$DOCKER_CONFIG` or `~/.docker`; a missing file gives an empty
    /// store.
    pub fn from_docker_config_env() -> Result<Self, AuthConfigError> {
        match docker_config_path() {
            Some(path) => Self::from_docker_config(&path),
            None => Ok(Self::new()),
        }
    }

    /// Loads the `auths` section of one `config.json`; a missing file gives an empty store.
    pub fn from_docker_config(path: &Path) -> Result<Self, AuthConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::new()),
            Err(source) => {
                return Err(AuthConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        Self::from_docker_config_text(&text, path)
    }

    /// Parses the text of a `config.json` (`path` is only used in errors).
    pub fn from_docker_config_text(text: &str, path: &Path) -> Result<Self, AuthConfigError> {
        let file: ConfigFile =
            serde_json::from_str(text).map_err(|source| AuthConfigError::Parse {
                path: path.to_owned(),
                source,
            })?;
        let mut store = Self::new();
        for (key, entry) in file.auths {
            let bad = || AuthConfigError::BadAuth {
                path: path.to_owned(),
                key: key.clone(),
            };
            let creds = match (
                entry.auth.as_deref().filter(|a| !a.is_empty()),
                entry.username,
                entry.password,
            ) {
                (Some(auth), _, _) => {
                    let decoded = BASE64.decode(auth.trim()).map_err(|_| bad())?;
                    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
                    let (user, pass) = decoded.split_once(':').ok_or_else(bad)?;
                    Credentials::new(user, pass)
                }
                (None, Some(user), Some(pass)) => Credentials::new(user, pass),
                _ => continue,
            };
            store.insert(&key, creds);
        }
        Ok(store)
    }
}

/// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

/// `https://index.docker.io/v1/` → `docker.io`; `https://host:5000/x` → `host:5000`.
fn auths_key_to_registry(key: &str) -> String {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme.split('/').next().unwrap_or(without_scheme);
    let canonical = canonical_registry(host);
    if canonical == DOCKER_HUB {
        DOCKER_HUB.to_owned()
    } else {
        canonical
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let c = Credentials::new("ci", "s3cret");
        let debug = format!("{c:?} {} {:?}", c.password, c.password);
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("ci"));
        let credential = c.credential(&Url::parse("https://r.example/").unwrap());
        assert!(!format!("{credential:?}").contains("Y2k6"));
        assert_eq!(credential.redact("Basic Y2k6czNjcmV0"), "Basic <redacted>");
    }

    #[test]
    fn reads_auths() {
        let text = r#"{
            "auths": {
                "https://index.docker.io/v1/": {"auth": "aHViOmh1YnBhc3M="},
                "127.0.0.1:5000": {"auth": "Y2k6czNjcmV0"},
                "https://ghcr.io": {"username": "u", "password": "p:with:colons"},
                "empty.example": {}
            },
            "credsStore": "desktop"
        }"#;
        let store =
            CredentialStore::from_docker_config_text(text, Path::new("config.json")).unwrap();
        assert_eq!(store.get("docker.io").unwrap().username, "hub");
        assert_eq!(store.get("docker.io").unwrap().password.expose(), "hubpass");
        assert_eq!(
            store.get("127.0.0.1:5000").unwrap().password.expose(),
            "s3cret"
        );
        assert_eq!(
            store.get("ghcr.io").unwrap().password.expose(),
            "p:with:colons"
        );
        assert!(store.get("empty.example").is_none());
        assert!(store.get("quay.io").is_none());
    }

    #[test]
    fn bad_auth_names_the_key() {
        let text = r#"{"auths": {"r.example": {"auth": "!!"}}}"#;
        let err = CredentialStore::from_docker_config_text(text, Path::new("c.json")).unwrap_err();
        assert!(err.to_string().contains("r.example"), "{err}");
    }
}
