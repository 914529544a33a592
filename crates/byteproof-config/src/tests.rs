//! Resolution precedence, file parsing and token-file permissions.

use std::collections::HashMap;
use std::path::Path;

use super::*;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

const TOML: &str = r#"
[settings]
retries = 5
timeout = 12

[[registry]]
name = "eu"
url = "https://git.eu.example/api/packages/bytelyst/npm/"
kind = "gitea"
token-env = "EU_TOKEN"

[[registry]]
name = "us"
url = "https://git.us.example/api/packages/bytelyst/npm"
"#;

#[test]
fn config_file_defines_registries_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "byteproof.toml", TOML);
    let request = Request {
        config: Some(config),
        npmrc: Some(write(dir.path(), "rc", "")),
        ..Default::default()
    };
    let env = env_of(&[
        ("EU_TOKEN", "eu-secret"),
        ("BYTEPROOF_TOKEN_US", "us-secret"),
    ]);
    let resolved = resolve(&request, dir.path(), &env).unwrap();
    assert_eq!(resolved.settings.retries, Some(5));
    let names: Vec<_> = resolved
        .registries
        .iter()
        .map(|r| r.registry.name.as_str())
        .collect();
    assert_eq!(names, ["eu", "us"]);
    assert_eq!(resolved.registries[0].kind, RegistryKind::Gitea);
    assert_eq!(
        resolved.registries[0].token_source,
        Some(TokenSource::Env("EU_TOKEN".into()))
    );
    assert_eq!(
        resolved.registries[1].token_source,
        Some(TokenSource::Env("BYTEPROOF_TOKEN_US".into()))
    );
    assert_eq!(
        resolved.registries[1].registry.base().as_str(),
        "https://git.us.example/api/packages/bytelyst/npm/"
    );
    // Nothing secret in Debug.
    let debug = format!("{resolved:?}");
    assert!(
        !debug.contains("eu-secret") && !debug.contains("us-secret"),
        "{debug}"
    );
}

#[test]
fn flags_override_the_file_and_npmrc_is_the_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "byteproof.toml", TOML);
    let rc = write(
        dir.path(),
        "npmrc",
        "registry=http://127.0.0.1:1/\n@bytelyst:registry=http://127.0.0.1:2/api/packages/o/npm/\n//127.0.0.1:2/api/packages/o/npm/:_authToken=${RC_TOKEN}\n",
    );
    let env = env_of(&[("EU_TOKEN", "x"), ("RC_TOKEN", "rc-secret")]);

    // Flags win; a flag registry named like a file entry still gets that entry's kind/token.
    let request = Request {
        registries: vec![
            ("eu".into(), "http://127.0.0.1:9/".into()),
            ("b".into(), "http://127.0.0.1:2/api/packages/o/npm".into()),
        ],
        config: Some(config.clone()),
        npmrc: Some(rc.clone()),
        ..Default::default()
    };
    let resolved = resolve(&request, dir.path(), &env).unwrap();
    assert_eq!(resolved.registries.len(), 2);
    assert_eq!(resolved.registries[0].origin, Origin::Flag);
    assert_eq!(resolved.registries[0].kind, RegistryKind::Gitea);
    assert_eq!(
        resolved.registries[0].token_source,
        Some(TokenSource::Env("EU_TOKEN".into()))
    );
    // The .npmrc token for the URL applies to a flag registry too.
    assert_eq!(
        resolved.registries[1].token_source,
        Some(TokenSource::Npmrc)
    );

    // No flags, no file: .npmrc's registries.
    let empty = tempfile::tempdir().unwrap();
    let request = Request {
        npmrc: Some(rc),
        ..Default::default()
    };
    let resolved = resolve(&request, empty.path(), &env).unwrap();
    let names: Vec<_> = resolved
        .registries
        .iter()
        .map(|r| r.registry.name.as_str())
        .collect();
    assert_eq!(names, ["default", "@bytelyst"]);
    assert_eq!(
        resolved.registries[1].token_source,
        Some(TokenSource::Npmrc)
    );
    assert_eq!(resolved.registries[0].token_source, None);
}

#[test]
fn nothing_configured_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let request = Request {
        npmrc: Some(write(dir.path(), "rc", "fund=false\n")),
        ..Default::default()
    };
    let err = resolve(&request, dir.path(), &env_of(&[])).unwrap_err();
    assert!(matches!(err, ConfigError::NoRegistries));
}

#[test]
fn bad_config_is_reported_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "byteproof.toml",
        "[[registry]]\nname = \"a\"\nurl = \"http://h/\"\ncolour = 1\n",
    );
    let request = Request {
        config: Some(config),
        ..Default::default()
    };
    let err = resolve(&request, dir.path(), &env_of(&[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("byteproof.toml") && err.contains("colour"),
        "{err}"
    );

    // (A fresh folder: `dir` holds a broken byteproof.toml that would be picked up.)
    let clean = tempfile::tempdir().unwrap();
    let request = Request {
        registries: vec![
            ("a".into(), "http://h/".into()),
            ("a".into(), "http://i/".into()),
        ],
        npmrc: Some(write(clean.path(), "rc", "")),
        ..Default::default()
    };
    assert!(matches!(
        resolve(&request, clean.path(), &env_of(&[])),
        Err(ConfigError::DuplicateName(_))
    ));

    let config = write(
        dir.path(),
        "unset.toml",
        "[[registry]]\nname = \"a\"\nurl = \"http://h/\"\ntoken-env = \"NOPE\"\n",
    );
    let request = Request {
        config: Some(config),
        npmrc: Some(write(dir.path(), "rc", "")),
        ..Default::default()
    };
    let err = resolve(&request, dir.path(), &env_of(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("NOPE"), "{err}");
}

#[cfg(unix)]
#[test]
fn token_files_must_be_private() {
    let dir = tempfile::tempdir().unwrap();
    let token = write(dir.path(), "token", "file-secret\n");
    chmod(&token, 0o644);
    let err = read_token_file(&token, false).unwrap_err().to_string();
    assert!(err.contains("chmod 600") && err.contains("644"), "{err}");
    assert!(!err.contains("file-secret"));
    assert_eq!(read_token_file(&token, true).unwrap(), "file-secret");
    chmod(&token, 0o600);
    assert_eq!(read_token_file(&token, false).unwrap(), "file-secret");

    let request = Request {
        registries: vec![("a".into(), "http://127.0.0.1:1/".into())],
        token_files: vec![("a".into(), token.clone())],
        npmrc: Some(write(dir.path(), "rc", "")),
        ..Default::default()
    };
    let resolved = resolve(&request, dir.path(), &env_of(&[])).unwrap();
    assert_eq!(
        resolved.registries[0].token_source,
        Some(TokenSource::File(token))
    );
}

#[cfg(unix)]
#[test]
fn a_token_file_for_no_configured_registry_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let token = write(dir.path(), "token", "file-secret\n");
    chmod(&token, 0o600);
    let config = write(dir.path(), "byteproof.toml", TOML);
    let request = |token_files: Vec<(String, PathBuf)>| Request {
        token_files,
        config: Some(config.clone()),
        npmrc: Some(write(dir.path(), "rc", "")),
        ..Default::default()
    };
    let env = env_of(&[("EU_TOKEN", "t")]);

    // A typo in the name: said, with the names that are configured, never ignored.
    let err = resolve(
        &request(vec![("ue".into(), token.clone())]),
        dir.path(),
        &env,
    )
    .unwrap_err();
    assert!(
        matches!(&err, ConfigError::UnknownTokenFileRegistry { name, .. } if name == "ue"),
        "{err:?}"
    );
    assert!(err.to_string().contains("(configured: eu, us)"), "{err}");
    assert!(!err.to_string().contains("file-secret"));

    // With no registry configured at all, the token file is still the problem named.
    let nothing = Request {
        token_files: vec![("eu".into(), token.clone())],
        npmrc: Some(write(dir.path(), "rc", "")),
        ..Default::default()
    };
    let elsewhere = tempfile::tempdir().unwrap();
    let err = resolve(&nothing, elsewhere.path(), &env).unwrap_err();
    assert!(err.to_string().contains("(configured: none)"), "{err}");

    let twice = vec![("us".into(), token.clone()), ("us".into(), token.clone())];
    let err = resolve(&request(twice), dir.path(), &env).unwrap_err();
    assert!(
        matches!(err, ConfigError::DuplicateTokenFile(ref n) if n == "us"),
        "{err:?}"
    );

    let resolved = resolve(
        &request(vec![("us".into(), token.clone())]),
        dir.path(),
        &env,
    )
    .unwrap();
    assert_eq!(
        resolved.registries[1].token_source,
        Some(TokenSource::File(token))
    );
}

#[test]
fn env_var_names_for_tokens() {
    assert_eq!(token_env_var("gitea-eu"), "BYTEPROOF_TOKEN_GITEA_EU");
    assert_eq!(token_env_var("@bytelyst"), "BYTEPROOF_TOKEN_BYTELYST");
}
