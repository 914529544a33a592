//! `.npmrc` files: registries, per-scope registries and per-registry credentials.
//!
//! npm keys credentials by "nerf dart": the registry URL without its scheme, e.g.
//! `//git.example/api/packages/o/npm/:_authToken=…`. A registry gets the credentials of the
//! longest nerf dart that is a prefix of its own. `${VAR}` is replaced from the environment
//! (`${VAR?}` becomes empty when unset, as in npm).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use byteproof_npm::{Auth, Secret};
use url::Url;

use crate::{ConfigError, Env};

/// The merged contents of one or more `.npmrc` files.
#[derive(Clone, Debug, Default)]
pub struct Npmrc {
    /// `registry=` (the default registry), as written.
    pub registry: Option<String>,
    /// `@scope:registry=` entries, by scope with its `@`.
    pub scoped: BTreeMap<String, String>,
    /// `//nerf/dart/:key=value` entries, by nerf dart then key; values unexpanded.
    creds: BTreeMap<String, BTreeMap<String, String>>,
    /// Where each value came from, for error messages.
    sources: Vec<PathBuf>,
}

impl Npmrc {
    /// Reads files in order; later files override earlier ones (pass user, then project).
    /// Missing files are skipped.
    pub fn load(paths: &[PathBuf]) -> Result<Self, ConfigError> {
        let mut merged = Self::default();
        for path in paths {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(ConfigError::Read {
                        path: path.clone(),
                        source,
                    });
                }
            };
            merged.merge_text(&text);
            merged.sources.push(path.clone());
        }
        Ok(merged)
    }

    /// Parses one file's text.
    pub fn parse(text: &str) -> Self {
        let mut rc = Self::default();
        rc.merge_text(text);
        rc
    }

    /// The files that were read.
    pub fn sources(&self) -> &[PathBuf] {
        &self.sources
    }

    fn merge_text(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let key = key.trim();
            let value = unquote(value.trim());
            if key == "registry" {
                self.registry = Some(value);
            } else if let Some(scope) = key.strip_suffix(":registry").filter(|k| k.starts_with('@'))
            {
                self.scoped.insert(scope.to_owned(), value);
            } else if let Some(rest) = key.strip_prefix("//") {
                if let Some((dart, field)) = rest.rsplit_once(':') {
                    self.creds
                        .entry(format!("//{dart}"))
                        .or_default()
                        .insert(field.to_owned(), value);
                }
            }
        }
    }

    /// The credentials for a registry URL, from the longest matching nerf dart.
    ///
    /// Supports `_authToken` (Bearer), `_auth` (base64 `user:password`, Basic) and
    /// `username` + `_password` (base64 password, Basic).
    pub fn auth_for(&self, registry: &Url) -> Result<Option<Auth>, ConfigError> {
        self.auth_for_env(registry, &|name| std::env::var(name).ok())
    }

    /// [`Npmrc::auth_for`] with an explicit environment.
    pub fn auth_for_env(&self, registry: &Url, env: &Env<'_>) -> Result<Option<Auth>, ConfigError> {
        let dart = nerf_dart(registry);
        let best = self
            .creds
            .iter()
            .filter(|(prefix, _)| {
                let prefix = if prefix.ends_with('/') {
                    (*prefix).clone()
                } else {
                    format!("{prefix}/")
                };
                dart.starts_with(&prefix)
            })
            .max_by_key(|(prefix, _)| prefix.len());
        let Some((prefix, fields)) = best else {
            return Ok(None);
        };
        let get = |field: &str| -> Result<Option<String>, ConfigError> {
            fields
                .get(field)
                .map(|v| {
                    expand_env(v, env).map_err(|var| ConfigError::NpmrcEnv {
                        key: format!("{prefix}:{field}"),
                        var,
                    })
                })
                .transpose()
        };
        if let Some(token) = get("_authToken")?.filter(|t| !t.is_empty()) {
            return Ok(Some(Auth::Bearer(Secret::trimmed(&token))));
        }
        if let Some(auth) = get("_auth")?.filter(|t| !t.is_empty()) {
            let decoded = decode_b64(&auth).ok_or_else(|| ConfigError::Invalid {
                what: format!("{prefix}:_auth in .npmrc"),
                why: "is not base64 of user:password".into(),
            })?;
            let (user, pass) = decoded
                .split_once(':')
                .ok_or_else(|| ConfigError::Invalid {
                    what: format!("{prefix}:_auth in .npmrc"),
                    why: "does not decode to user:password".into(),
                })?;
            return Ok(Some(Auth::Basic {
                username: user.to_owned(),
                password: Secret::new(pass),
            }));
        }
        if let (Some(user), Some(pass)) = (get("username")?, get("_password")?) {
            let pass = decode_b64(&pass).ok_or_else(|| ConfigError::Invalid {
                what: format!("{prefix}:_password in .npmrc"),
                why: "is not base64".into(),
            })?;
            return Ok(Some(Auth::Basic {
                username: user,
                password: Secret::new(pass),
            }));
        }
        Ok(None)
    }

    /// Expands `${VAR}` in a registry URL value.
    pub fn expand(&self, value: &str, key: &str, env: &Env<'_>) -> Result<String, ConfigError> {
        expand_env(value, env).map_err(|var| ConfigError::NpmrcEnv {
            key: key.to_owned(),
            var,
        })
    }
}

/// `//host[:port]/path/` for a URL (npm's "nerf dart"), always ending in `/`.
pub fn nerf_dart(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path();
    let path = if path.ends_with('/') {
        path.to_owned()
    } else {
        format!("{path}/")
    };
    format!("//{host}{port}{path}")
}

fn unquote(value: &str) -> String {
    for quote in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(quote) && value.ends_with(quote) {
            return value[1..value.len() - 1].to_owned();
        }
    }
    value.to_owned()
}

fn decode_b64(text: &str) -> Option<String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// Replaces `${VAR}` (error naming VAR when unset) and `${VAR?}` (empty when unset).
/// `\${` stays literal.
fn expand_env(value: &str, env: &Env<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        if rest[..start].ends_with('\\') {
            out.push_str(&rest[..start - 1]);
            out.push_str("${");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &rest[start + 2..start + end];
        let (name, optional) = match name.strip_suffix('?') {
            Some(n) => (n, true),
            None => (name, false),
        };
        match env(name) {
            Some(v) => out.push_str(&v),
            None if optional => {}
            None => return Err(name.to_owned()),
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The `.npmrc` files npm would read here: the user's (`NPM_CONFIG_USERCONFIG` or `~/.npmrc`)
/// then the project's (`./.npmrc`), later overriding earlier.
pub fn default_npmrc_paths(cwd: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(user) = std::env::var_os("NPM_CONFIG_USERCONFIG")
        .or_else(|| std::env::var_os("npm_config_userconfig"))
    {
        paths.push(PathBuf::from(user));
    } else if let Some(home) = std::env::var_os("HOME") {
        paths.push(PathBuf::from(home).join(".npmrc"));
    }
    paths.push(cwd.join(".npmrc"));
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    const RC: &str = r#"
; comment
# another
registry=https://registry.example/
@bytelyst:registry = "https://git.eu.example/api/packages/bytelyst/npm/"
//git.eu.example/api/packages/bytelyst/npm/:_authToken=${BYTEPROOF_TEST_NPMRC_TOKEN}
//git.eu.example/:_authToken=host-wide-token
//basic.example/:_auth=dXNlcjpwYXNz
//opt.example/:_authToken=${BYTEPROOF_TEST_UNSET_VAR?}
//missing.example/:_authToken=${BYTEPROOF_TEST_UNSET_VAR}
"#;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn registries_and_scopes() {
        let rc = Npmrc::parse(RC);
        assert_eq!(rc.registry.as_deref(), Some("https://registry.example/"));
        assert_eq!(
            rc.scoped.get("@bytelyst").map(String::as_str),
            Some("https://git.eu.example/api/packages/bytelyst/npm/")
        );
    }

    #[test]
    fn longest_nerf_dart_wins_and_env_expands() {
        let env =
            |name: &str| (name == "BYTEPROOF_TEST_NPMRC_TOKEN").then(|| "from-env".to_owned());
        let rc = Npmrc::parse(RC);
        let auth = rc
            .auth_for_env(
                &url("https://git.eu.example/api/packages/bytelyst/npm/"),
                &env,
            )
            .unwrap();
        assert_eq!(auth, Some(Auth::Bearer(Secret::new("from-env"))));
        let other = rc
            .auth_for(&url("https://git.eu.example/api/packages/other/npm/"))
            .unwrap();
        assert_eq!(other, Some(Auth::Bearer(Secret::new("host-wide-token"))));
        let basic = rc.auth_for(&url("https://basic.example/")).unwrap();
        assert_eq!(
            basic,
            Some(Auth::Basic {
                username: "user".into(),
                password: Secret::new("pass")
            })
        );
        assert_eq!(rc.auth_for(&url("https://nobody.example/")).unwrap(), None);
        // ${VAR?} is empty when unset: no credentials rather than an error.
        assert_eq!(rc.auth_for(&url("https://opt.example/")).unwrap(), None);
        // A path that merely shares a prefix string is not a match.
        assert_eq!(
            rc.auth_for(&url("https://git.eu.example.evil/")).unwrap(),
            None
        );
    }

    #[test]
    fn unset_env_is_an_error_naming_the_variable_only() {
        let rc = Npmrc::parse(RC);
        let err = rc
            .auth_for(&url("https://missing.example/"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("BYTEPROOF_TEST_UNSET_VAR"), "{err}");
    }

    #[test]
    fn nerf_darts() {
        assert_eq!(
            nerf_dart(&url("http://127.0.0.1:4873")),
            "//127.0.0.1:4873/"
        );
        assert_eq!(
            nerf_dart(&url("https://h/api/packages/o/npm")),
            "//h/api/packages/o/npm/"
        );
    }
}
