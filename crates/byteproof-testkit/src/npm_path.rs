//! npm package names and paths as the registry doubles spell them.

/// `/@scope/name/-/name-<version>.tgz` (Verdaccio's and npmjs's tarball path).
pub(crate) fn tarball_path(name: &str, version: &str) -> String {
    format!("/{name}/-/{}-{version}.tgz", unscoped(name))
}

/// `name` without its `@scope/` prefix.
pub(crate) fn unscoped(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Percent-decodes a path (any case of hex digits); invalid escapes are kept as they are.
pub(crate) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}
