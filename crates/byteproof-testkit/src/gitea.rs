//! [`GiteaProxy`]: a test DOUBLE of Gitea's npm routes, not Gitea. It serves a [`Verdaccio`]
//! under Gitea's registry base URL `/api/packages/{owner}/npm/`, so a client can be tested
//! against a registry URL that has a path and against Gitea's tarball URL forms.
//!
//! What it reproduces (from Gitea's `routers/api/packages/api.go` and `npm.go`):
//! - the base path; any other path answers 404 `text/plain` `Not found.\n`;
//! - the three spellings of a scoped name in the packument route: `@scope%2fname` (any case of
//!   `%2f`), `%40scope%2Fname`, and `@scope/name`;
//! - `dist.tarball` rewritten to an absolute URL under the proxy, in the legacy form
//!   `…/npm/%40scope%2Fname/-/<version>/<file>` or the standard form `…/npm/@scope/name/-/<file>`
//!   ([`TarballForm`]); both tarball routes are served whichever form the packument advertises;
//! - publish (`PUT`) forwarded with its `Authorization`, and 201 with an empty body on success.
//!
//! What it does not: Gitea's packument layout, recomputed `shasum`/`integrity`, its error bodies,
//! tokens, owners or permissions. Bytes and claims are Verdaccio's, passed through unchanged.

use anyhow::Result;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::http::{Recording, Reply, Request, Server, send};
use crate::npm_path::{percent_decode, unscoped};
use crate::verdaccio::Verdaccio;

/// Go's `url.QueryEscape` for package names: everything but `A-Za-z0-9-_.~` is escaped.
pub(crate) const QUERY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Which tarball URL the proxy's packuments advertise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TarballForm {
    /// Gitea ≤ 1.26: `…/npm/%40scope%2Fname/-/<version>/<file>`.
    Legacy,
    /// Newer Gitea, npmjs-style: `…/npm/@scope/name/-/<file>`.
    Standard,
}

/// A running Gitea npm-route test double in front of one Verdaccio (see the module docs).
#[derive(Debug)]
pub struct GiteaProxy {
    server: Server,
    base: String,
    form: TarballForm,
}

impl GiteaProxy {
    /// Starts the proxy on a free loopback port, forwarding to `upstream`.
    pub fn start(upstream: &Verdaccio, owner: &str, form: TarballForm) -> Result<Self> {
        let upstream = upstream.url();
        let prefix = format!("/api/packages/{owner}/npm/");
        let server = Server::start_with_base(Recording::Full, move |root, req| {
            let base = format!("{root}{}", &prefix[1..]);
            route(&upstream, &prefix, &base, form, req)
        })?;
        let url = format!("{}api/packages/{owner}/npm/", server.url());
        Ok(Self {
            server,
            base: url,
            form,
        })
    }

    /// The registry URL, `http://127.0.0.1:PORT/api/packages/{owner}/npm/`.
    pub fn url(&self) -> String {
        self.base.clone()
    }

    /// The tarball URL the packument advertises for `name@version` (in this proxy's form).
    pub fn tarball_url(&self, name: &str, version: &str) -> String {
        let file = format!("{}-{version}.tgz", unscoped(name));
        tarball_url(&self.base, self.form, name, version, &file)
    }

    /// The tarball URL of `name@version` in a given form (both are served).
    pub fn tarball_url_in(&self, form: TarballForm, name: &str, version: &str) -> String {
        let file = format!("{}-{version}.tgz", unscoped(name));
        tarball_url(&self.base, form, name, version, &file)
    }

    /// The underlying server: recorded requests (raw paths, headers) and their count.
    pub fn server(&self) -> &Server {
        &self.server
    }
}

fn tarball_url(base: &str, form: TarballForm, name: &str, version: &str, file: &str) -> String {
    match form {
        TarballForm::Legacy => format!(
            "{base}{}/-/{version}/{file}",
            utf8_percent_encode(name, QUERY_ESCAPE)
        ),
        TarballForm::Standard => format!("{base}{name}/-/{file}"),
    }
}

fn not_found_json() -> Reply {
    Reply::bytes(404, "application/json;charset=utf-8", "{\"error\":\"\"}\n")
}

/// Reads the package name at the start of a Gitea npm route's path segments, as Gitea does:
/// `@scope%2fname` (any letter case, `@` possibly as `%40`) is one segment, `@scope/name` with a
/// literal slash is two, an unscoped name is one. Returns the decoded name and the segments
/// after it.
pub(crate) fn split_package<'a, 's>(segments: &'a [&'s str]) -> (String, &'a [&'s str]) {
    let first = percent_decode(segments.first().copied().unwrap_or_default());
    if first.starts_with('@') && !first.contains('/') && segments.len() > 1 {
        (
            format!("{first}/{}", percent_decode(segments[1])),
            &segments[2..],
        )
    } else {
        (first, segments.get(1..).unwrap_or_default())
    }
}

fn route(upstream: &str, prefix: &str, base: &str, form: TarballForm, req: &Request) -> Reply {
    let path = req.path.split('?').next().unwrap_or_default();
    let Some(rest) = path.strip_prefix(prefix) else {
        return Reply::bytes(404, "text/plain; charset=utf-8", "Not found.\n");
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let (name, tail) = split_package(&segments);
    if name.is_empty() {
        return not_found_json();
    }
    let file = match (req.method.as_str(), tail) {
        ("GET" | "PUT", [] | [""]) => None,
        ("GET", ["-", _, file] | ["-", file]) => Some(percent_decode(file)),
        _ => return not_found_json(),
    };
    match file {
        Some(file) => forward_tarball(upstream, &name, &file),
        None if req.method == "PUT" => forward_publish(upstream, &name, req),
        None => forward_packument(upstream, base, form, &name),
    }
}

fn forward_tarball(upstream: &str, name: &str, file: &str) -> Reply {
    match send("GET", &format!("{upstream}{name}/-/{file}"), &[], &[]) {
        Ok(resp) if resp.status == 200 => Reply::tarball(resp.body),
        Ok(resp) if resp.status == 404 => Reply::bytes(
            404,
            "application/json;charset=utf-8",
            "{\"error\":\"package file does not exist\"}\n",
        ),
        Ok(resp) => Reply::bytes(resp.status, "application/json", resp.body),
        Err(err) => Reply::bad_gateway(&err),
    }
}

fn forward_publish(upstream: &str, name: &str, req: &Request) -> Reply {
    let mut headers = vec![(
        "Content-Type",
        req.header("content-type").unwrap_or("application/json"),
    )];
    if let Some(auth) = req.header("authorization") {
        headers.push(("Authorization", auth));
    }
    let url = format!("{upstream}{}", name.replacen('/', "%2f", 1));
    match send("PUT", &url, &headers, &req.body) {
        Ok(resp) if resp.status == 201 => Reply::status(201),
        Ok(resp) => Reply::bytes(resp.status, "application/json", resp.body),
        Err(err) => Reply::bad_gateway(&err),
    }
}

fn forward_packument(upstream: &str, base: &str, form: TarballForm, name: &str) -> Reply {
    let url = format!("{upstream}{}", name.replacen('/', "%2f", 1));
    let resp = match send("GET", &url, &[("Accept", "application/json")], &[]) {
        Ok(resp) => resp,
        Err(err) => return Reply::bad_gateway(&err),
    };
    if resp.status == 404 {
        return not_found_json();
    }
    if resp.status != 200 {
        return Reply::bytes(resp.status, "application/json", resp.body);
    }
    let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(&resp.body) else {
        return Reply::bytes(502, "text/plain", "upstream packument is not JSON\n");
    };
    if let Some(versions) = doc
        .get_mut("versions")
        .and_then(serde_json::Value::as_object_mut)
    {
        for (version, doc) in versions.iter_mut() {
            let Some(dist) = doc
                .get_mut("dist")
                .and_then(serde_json::Value::as_object_mut)
            else {
                continue;
            };
            let file = dist
                .get("tarball")
                .and_then(serde_json::Value::as_str)
                .and_then(|t| t.rsplit('/').next())
                .map_or_else(
                    || format!("{}-{version}.tgz", unscoped(name)),
                    str::to_owned,
                );
            dist.insert(
                "tarball".to_owned(),
                tarball_url(base, form, name, version, &file).into(),
            );
        }
    }
    Reply::bytes(200, "application/json;charset=utf-8", format!("{doc}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::get;
    use crate::packer::{PackTool, Packer};

    const NAME: &str = "@bytelyst/errors";

    #[test]
    fn serves_verdaccio_under_gitea_paths_in_both_tarball_forms() {
        let registry = Verdaccio::start().unwrap();
        let token = registry.create_user("gitea", "gitea-pass").unwrap();
        let legacy = GiteaProxy::start(&registry, "acme", TarballForm::Legacy).unwrap();
        let standard = GiteaProxy::start(&registry, "acme", TarballForm::Standard).unwrap();
        assert!(
            legacy.url().ends_with("/api/packages/acme/npm/"),
            "{}",
            legacy.url()
        );

        // Publish through the proxy with the real npm CLI: the registry URL has a path.
        let packed = Packer::new(NAME, "1.0.0")
            .unwrap()
            .pack(PackTool::Npm)
            .unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let npmrc = scratch.path().join("npmrc");
        let authority = legacy.url().trim_start_matches("http:").to_owned();
        std::fs::write(
            &npmrc,
            format!("{authority}:_authToken={token}\nupdate-notifier=false\n"),
        )
        .unwrap();
        let out = std::process::Command::new("npm")
            .arg("publish")
            .arg(&packed.path)
            .arg("--registry")
            .arg(legacy.url())
            .arg("--userconfig")
            .arg(&npmrc)
            .output()
            .unwrap();
        crate::node::check_output(&out, "npm publish through the proxy").unwrap();
        let put = legacy
            .server()
            .requests()
            .into_iter()
            .find(|r| r.method == "PUT")
            .unwrap();
        assert_eq!(
            put.header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );

        for (proxy, form) in [
            (&legacy, TarballForm::Legacy),
            (&standard, TarballForm::Standard),
        ] {
            for spelling in [
                "@bytelyst%2ferrors",
                "%40bytelyst%2Ferrors",
                "@bytelyst/errors",
            ] {
                let resp = get(&format!("{}{spelling}", proxy.url())).unwrap();
                assert_eq!(resp.status, 200, "{form:?} {spelling}");
                let doc: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
                let tarball = doc["versions"]["1.0.0"]["dist"]["tarball"]
                    .as_str()
                    .unwrap();
                assert_eq!(tarball, proxy.tarball_url(NAME, "1.0.0"));
                assert_eq!(get(tarball).unwrap().body, packed.bytes, "{tarball}");
            }
            // Both tarball routes are served whatever the advertised form.
            for any in [TarballForm::Legacy, TarballForm::Standard] {
                let url = proxy.tarball_url_in(any, NAME, "1.0.0");
                assert_eq!(get(&url).unwrap().body, packed.bytes, "{url}");
            }
        }
        assert_eq!(
            legacy.tarball_url(NAME, "1.0.0"),
            format!(
                "{}%40bytelyst%2Ferrors/-/1.0.0/errors-1.0.0.tgz",
                legacy.url()
            )
        );
        assert_eq!(
            standard.tarball_url(NAME, "1.0.0"),
            format!("{}@bytelyst/errors/-/errors-1.0.0.tgz", standard.url())
        );

        // Outside the base path, and unknown packages or files.
        let root = legacy.url().replace("/api/packages/acme/npm/", "/");
        assert_eq!(
            get(&format!("{root}@bytelyst%2ferrors")).unwrap().status,
            404
        );
        assert_eq!(
            get(&format!("{}@bytelyst%2fnope", legacy.url()))
                .unwrap()
                .status,
            404
        );
        let missing = legacy.tarball_url(NAME, "9.9.9");
        assert_eq!(get(&missing).unwrap().status, 404);
    }

    #[test]
    fn legacy_urls_query_escape_the_name() {
        let base = "http://h/api/packages/u/npm/";
        assert_eq!(
            tarball_url(
                base,
                TarballForm::Legacy,
                "@scope/test-package",
                "1.0.1-pre",
                "test-package-1.0.1-pre.tgz"
            ),
            "http://h/api/packages/u/npm/%40scope%2Ftest-package/-/1.0.1-pre/test-package-1.0.1-pre.tgz"
        );
        assert_eq!(
            tarball_url(base, TarballForm::Legacy, "foo", "1.2.3", "foo-1.2.3.tgz"),
            "http://h/api/packages/u/npm/foo/-/1.2.3/foo-1.2.3.tgz"
        );
        assert_eq!(
            tarball_url(base, TarballForm::Standard, "@s/n", "1.0.0", "n-1.0.0.tgz"),
            "http://h/api/packages/u/npm/@s/n/-/n-1.0.0.tgz"
        );
    }
}
