//! Which registries to read and with what credentials.
//!
//! Registries come from exactly one place, first found wins:
//! 1. `--registry NAME=URL` flags (repeatable);
//! 2. a `byteproof.toml` (`--config PATH`, else `$BYTEPROOF_CONFIG`, else `./byteproof.toml`);
//! 3. `.npmrc` files (`registry=` as `default`, each `@scope:registry=` as `@scope`).
//!
//! Each registry's credentials, first found wins:
//! 1. `--token-file NAME=PATH`;
//! 2. its `byteproof.toml` entry: `token-file`, then `token-env`;
//! 3. the environment variable `BYTEPROOF_TOKEN_<NAME>` (upper case, other characters as `_`);
//! 4. `.npmrc` credentials for its URL (`//host/path/:_authToken=`, `_auth`, `username` +
//!    `_password`), `${ENV}` expanded.
//!
//! A token file readable by group or others is refused unless explicitly allowed. This crate
//! reads files and the environment; it never prints and never touches the network.

mod npmrc;

use std::path::{Path, PathBuf};

use byteproof_npm::{Auth, Registry, Secret};
use serde::Deserialize;

pub use npmrc::{Npmrc, default_npmrc_paths, nerf_dart};

/// Looks up an environment variable (injectable for tests).
pub type Env<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// A configuration problem; the CLI exits 2 on any of these.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `byteproof.toml` does not parse.
    #[error("{} is not a valid byteproof.toml: {message}", path.display())]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value is invalid.
    #[error("{what} {why}")]
    Invalid {
        /// What was being read.
        what: String,
        /// What is wrong.
        why: String,
    },
    /// An `.npmrc` value names an unset variable.
    #[error(".npmrc key {key} uses ${{{var}}}, which is not set in the environment")]
    NpmrcEnv {
        /// The key.
        key: String,
        /// The variable.
        var: String,
    },
    /// `token-env` names an unset variable.
    #[error("registry {registry}: token-env {var} is not set in the environment")]
    TokenEnvUnset {
        /// The registry.
        registry: String,
        /// The variable.
        var: String,
    },
    /// A token file others can read.
    #[error(
        "token file {} is readable by group or others (mode {mode:03o}); run `chmod 600 {}` or pass --allow-insecure-token-file",
        path.display(), path.display()
    )]
    TokenFilePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Nothing says which registries to read.
    #[error(
        "no registries given: pass --registry NAME=URL (twice or more), write a byteproof.toml, or set registries in .npmrc"
    )]
    NoRegistries,
    /// Two registries share a name.
    #[error("registry name {0:?} is used twice")]
    DuplicateName(String),
    /// `--token-file NAME=PATH` names a registry that is not configured.
    #[error(
        "--token-file names registry {name:?}, which is not configured (configured: {}); a token file for it would never be read",
        if configured.is_empty() { "none".to_owned() } else { configured.join(", ") }
    )]
    UnknownTokenFileRegistry {
        /// The name given.
        name: String,
        /// The registries that are configured.
        configured: Vec<String>,
    },
    /// `--token-file` names one registry twice.
    #[error("--token-file names registry {0:?} twice")]
    DuplicateTokenFile(String),
}

/// The kind of registry, which decides e.g. how e2e deletes a version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegistryKind {
    /// Any npm-protocol registry.
    #[default]
    Npm,
    /// Verdaccio.
    Verdaccio,
    /// Gitea's npm registry (`/api/packages/{owner}/npm/`).
    Gitea,
}

/// `[settings]` in byteproof.toml; every field optional, flags override.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// Retries after the first attempt.
    pub retries: Option<u32>,
    /// Seconds of silence before a request times out.
    pub timeout: Option<u64>,
    /// Seconds to connect.
    pub connect_timeout: Option<u64>,
    /// Largest tarball read, in bytes.
    pub max_tarball_size: Option<u64>,
}

/// One `[[registry]]` in byteproof.toml.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistryEntry {
    /// Name used in reports and on the command line.
    pub name: String,
    /// Base URL.
    pub url: String,
    /// Kind of registry.
    #[serde(default)]
    pub kind: RegistryKind,
    /// Environment variable holding the token.
    pub token_env: Option<String>,
    /// File holding the token (must be mode 600 or stricter).
    pub token_file: Option<PathBuf>,
    /// Accept a token file readable by group or others.
    #[serde(default)]
    pub allow_insecure_token_file: bool,
}

/// The whole byteproof.toml.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `[settings]`.
    #[serde(default)]
    pub settings: Settings,
    /// `[[registry]]` entries, in order.
    #[serde(default)]
    pub registry: Vec<RegistryEntry>,
}

impl FileConfig {
    /// Reads and parses a byteproof.toml.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses byteproof.toml text (`path` is for messages).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Toml {
            path: path.to_owned(),
            message: e.message().to_owned(),
        })
    }
}

/// Where a registry's definition came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `--registry`.
    Flag,
    /// A byteproof.toml.
    ConfigFile(PathBuf),
    /// `.npmrc`.
    Npmrc,
}

/// Where a registry's credentials came from (never the credentials themselves).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// A token file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// `.npmrc`.
    Npmrc,
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::File(p) => write!(f, "file {}", p.display()),
            TokenSource::Env(v) => write!(f, "${v}"),
            TokenSource::Npmrc => f.write_str(".npmrc"),
        }
    }
}

/// A registry ready to read.
#[derive(Clone, Debug)]
pub struct ResolvedRegistry {
    /// Name, URL and credentials.
    pub registry: Registry,
    /// Kind.
    pub kind: RegistryKind,
    /// Where it was defined.
    pub origin: Origin,
    /// Where its credentials came from, if any.
    pub token_source: Option<TokenSource>,
}

/// What the command line says about configuration.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `--registry NAME=URL`, in order.
    pub registries: Vec<(String, String)>,
    /// `--token-file NAME=PATH`.
    pub token_files: Vec<(String, PathBuf)>,
    /// `--config PATH`.
    pub config: Option<PathBuf>,
    /// `--npmrc PATH` (replaces the default user + project files).
    pub npmrc: Option<PathBuf>,
    /// `--allow-insecure-token-file`.
    pub allow_insecure_token_files: bool,
}

/// The outcome of resolution.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The registries, in the order given.
    pub registries: Vec<ResolvedRegistry>,
    /// Settings from the config file (flags are applied by the caller).
    pub settings: Settings,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
}

/// Resolves registries and credentials from the request, the files and the environment.
pub fn resolve(request: &Request, cwd: &Path, env: &Env<'_>) -> Result<Resolved, ConfigError> {
    let config_path = request
        .config
        .clone()
        .or_else(|| env("BYTEPROOF_CONFIG").map(PathBuf::from))
        .or_else(|| Some(cwd.join("byteproof.toml")).filter(|p| p.is_file()));
    let file = match &config_path {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let npmrc_paths = match &request.npmrc {
        Some(path) => {
            if !path.is_file() {
                return Err(ConfigError::Read {
                    path: path.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                });
            }
            vec![path.clone()]
        }
        None => default_npmrc_paths(cwd),
    };
    let npmrc = Npmrc::load(&npmrc_paths)?;

    // Which registries: flags, else the config file, else .npmrc.
    let mut defs: Vec<(String, String, RegistryKind, Origin)> = Vec::new();
    if !request.registries.is_empty() {
        for (name, url) in &request.registries {
            let kind = file
                .registry
                .iter()
                .find(|e| &e.name == name)
                .map(|e| e.kind)
                .unwrap_or_default();
            defs.push((name.clone(), url.clone(), kind, Origin::Flag));
        }
    } else if !file.registry.is_empty() {
        let origin = Origin::ConfigFile(config_path.clone().unwrap_or_default());
        for entry in &file.registry {
            defs.push((
                entry.name.clone(),
                entry.url.clone(),
                entry.kind,
                origin.clone(),
            ));
        }
    } else {
        if let Some(url) = &npmrc.registry {
            defs.push((
                "default".into(),
                npmrc.expand(url, "registry", env)?,
                RegistryKind::Npm,
                Origin::Npmrc,
            ));
        }
        for (scope, url) in &npmrc.scoped {
            let key = format!("{scope}:registry");
            defs.push((
                scope.clone(),
                npmrc.expand(url, &key, env)?,
                RegistryKind::Npm,
                Origin::Npmrc,
            ));
        }
    }
    check_token_file_names(&request.token_files, &defs)?;
    if defs.is_empty() {
        return Err(ConfigError::NoRegistries);
    }

    let mut registries = Vec::with_capacity(defs.len());
    for (name, url, kind, origin) in defs {
        validate_name(&name)?;
        if registries
            .iter()
            .any(|r: &ResolvedRegistry| r.registry.name == name)
        {
            return Err(ConfigError::DuplicateName(name));
        }
        let registry = Registry::new(name.clone(), &url).map_err(|why| ConfigError::Invalid {
            what: format!("registry {name}:"),
            why,
        })?;
        let entry = file.registry.iter().find(|e| e.name == name);
        let (auth, token_source) = credentials(&name, &registry, entry, request, &npmrc, env)?;
        registries.push(ResolvedRegistry {
            registry: registry.with_auth(auth),
            kind,
            origin,
            token_source,
        });
    }
    Ok(Resolved {
        registries,
        settings: file.settings,
        config_file: config_path,
    })
}

/// Every `--token-file` must name a configured registry, once: a token file that would never
/// be read is a mistake to report, not to ignore (the run would go anonymous).
fn check_token_file_names(
    token_files: &[(String, PathBuf)],
    defs: &[(String, String, RegistryKind, Origin)],
) -> Result<(), ConfigError> {
    for (i, (name, _)) in token_files.iter().enumerate() {
        if token_files[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(ConfigError::DuplicateTokenFile(name.clone()));
        }
        if !defs.iter().any(|(configured, ..)| configured == name) {
            return Err(ConfigError::UnknownTokenFileRegistry {
                name: name.clone(),
                configured: defs.iter().map(|(n, ..)| n.clone()).collect(),
            });
        }
    }
    Ok(())
}

fn validate_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            what: format!("registry name {name:?}"),
            why: "must be 1–64 letters, digits, '@', '.', '_' or '-'".into(),
        })
    }
}

/// `BYTEPROOF_TOKEN_<NAME>` for a registry name.
pub fn token_env_var(name: &str) -> String {
    let mut var = String::from("BYTEPROOF_TOKEN_");
    for c in name.trim_start_matches('@').chars() {
        var.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        });
    }
    var
}

fn credentials(
    name: &str,
    registry: &Registry,
    entry: Option<&RegistryEntry>,
    request: &Request,
    npmrc: &Npmrc,
    env: &Env<'_>,
) -> Result<(Option<Auth>, Option<TokenSource>), ConfigError> {
    let bearer = |token: String| Some(Auth::Bearer(Secret::trimmed(&token)));
    if let Some((_, path)) = request.token_files.iter().find(|(n, _)| n == name) {
        let token = read_token_file(path, request.allow_insecure_token_files)?;
        return Ok((bearer(token), Some(TokenSource::File(path.clone()))));
    }
    if let Some(entry) = entry {
        if let Some(path) = &entry.token_file {
            let allow = request.allow_insecure_token_files || entry.allow_insecure_token_file;
            let token = read_token_file(path, allow)?;
            return Ok((bearer(token), Some(TokenSource::File(path.clone()))));
        }
        if let Some(var) = &entry.token_env {
            let token = env(var).filter(|t| !t.trim().is_empty()).ok_or_else(|| {
                ConfigError::TokenEnvUnset {
                    registry: name.to_owned(),
                    var: var.clone(),
                }
            })?;
            return Ok((bearer(token), Some(TokenSource::Env(var.clone()))));
        }
    }
    let var = token_env_var(name);
    if let Some(token) = env(&var).filter(|t| !t.trim().is_empty()) {
        return Ok((bearer(token), Some(TokenSource::Env(var))));
    }
    match npmrc.auth_for_env(registry.base(), env)? {
        Some(auth) => Ok((Some(auth), Some(TokenSource::Npmrc))),
        None => Ok((None, None)),
    }
}

/// Reads a token file, refusing one that group or others can read unless `allow_insecure`.
pub fn read_token_file(path: &Path, allow_insecure: bool) -> Result<String, ConfigError> {
    let read_err = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 && !allow_insecure {
            return Err(ConfigError::TokenFilePermissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (meta, allow_insecure);
    let token = std::fs::read_to_string(path).map_err(read_err)?;
    let token = token.trim().to_owned();
    if token.is_empty() {
        return Err(ConfigError::Invalid {
            what: format!("token file {}", path.display()),
            why: "is empty".into(),
        });
    }
    Ok(token)
}

#[cfg(test)]
mod tests;
