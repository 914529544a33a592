//! The write side of the npm protocol: publish a tarball with the PUT body npm sends, list a
//! package's versions, and remove one version the way each kind of registry needs.
//!
//! - [`NpmClient::publish`] sends npm's publish document: one version, `dist.shasum`,
//!   `dist.integrity` (SHA-512, which Gitea validates), an absolute `dist.tarball`, the tarball
//!   as a base64 attachment, and one dist-tag.
//! - [`NpmClient::unpublish`] removes one version. [`UnpublishStyle::Npm`] is npm's own
//!   sequence (GET `?write=true`, PUT the reduced packument to `/-rev/<rev>`, then DELETE the
//!   tarball's full URL plus `/-rev/<rev>`; the last version goes with a package DELETE).
//!   [`UnpublishStyle::Gitea`] uses Gitea's version route
//!   `/{pkg}/-/{version}/{file}/-rev/x`, because npm's sequence sends Gitea a doubled path.
//! - [`NpmClient::versions`] and [`NpmClient::version_absent`] read the packument.
//!
//! Writes are sent once (never retried): a retried PUT that did reach the registry would be
//! reported as a conflict. Credentials go only to the registry's own origin.

use byteproof_http::{MAX_ERROR_BODY, Method, Request};
use serde_json::{Map, Value, json};
use url::Url;

use crate::client::Purpose;
use crate::{FetchError, NpmClient, PackageName, PackageSpec, Registry, SafeUrl};

/// How a registry removes a single version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnpublishStyle {
    /// npm's sequence, for Verdaccio and other npm-compatible registries.
    Npm,
    /// Gitea's version DELETE route (npm's own sequence 404s on Gitea).
    Gitea,
}

/// What a publish did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The URL the document was PUT to, safe to show.
    pub url: String,
    /// The registry's status code (2xx).
    pub status: u16,
}

/// What an unpublish did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unpublished {
    /// The version was there and the registry accepted its removal; the requests sent, as
    /// `METHOD url status` lines without secrets.
    Removed(Vec<String>),
    /// The registry did not have the version (nothing was sent but reads).
    AlreadyAbsent,
}

/// The `Accept` npm sends for `?write=true` reads: the full document, with `_rev`.
const FULL_ACCEPT: &str = "application/json";

/// Go's `url.QueryEscape` for Gitea's legacy tarball path: all but `A-Za-z0-9-_.~` escaped.
const QUERY_ESCAPE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The publish document npm 11 sends for `tarball` as `name@version` under `tag`.
///
/// `manifest` is the package's `package.json` (its fields go into the version document, as npm
/// does); `name`, `version`, `_id` and `dist` are set here. The attachment key and
/// `dist.tarball` follow npm (`<registry>/<name>/-/<name>-<version>.tgz`, scope kept in the file
/// name), which is what Verdaccio matches by basename.
pub fn publish_document(
    registry: &Registry,
    name: &PackageName,
    version: &semver::Version,
    tarball: &[u8],
    tag: &str,
    manifest: &Value,
) -> Value {
    use base64::Engine as _;
    let digests = byteproof_hash::hash_bytes(tarball);
    let file = format!("{name}-{version}.tgz");
    let tarball_url = registry
        .base()
        .join(&format!("{name}/-/{file}"))
        .map_or_else(|_| String::new(), |u| u.to_string());
    let mut doc: Map<String, Value> = match manifest {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    doc.insert("name".into(), json!(name.to_string()));
    doc.insert("version".into(), json!(version.to_string()));
    doc.insert("_id".into(), json!(format!("{name}@{version}")));
    doc.insert(
        "dist".into(),
        json!({
            "integrity": digests.integrity(),
            "shasum": digests.sha1_hex(),
            "tarball": tarball_url,
        }),
    );
    let description = manifest.get("description").cloned().unwrap_or(json!(""));
    json!({
        "_id": name.to_string(),
        "name": name.to_string(),
        "description": description,
        "dist-tags": { tag: version.to_string() },
        "versions": { version.to_string(): Value::Object(doc) },
        "access": null,
        "_attachments": {
            file: {
                "content_type": "application/octet-stream",
                "data": base64::engine::general_purpose::STANDARD.encode(tarball),
                "length": tarball.len(),
            }
        }
    })
}

impl NpmClient {
    /// Publishes `tarball` as `name@version` under dist-tag `tag` with npm's PUT body (see
    /// [`publish_document`]). Any non-2xx answer is an error carrying the registry's message
    /// (409 for a version that exists, 400 for a failed integrity check, 401 …).
    pub async fn publish(
        &self,
        registry: &Registry,
        name: &PackageName,
        version: &semver::Version,
        tarball: &[u8],
        tag: &str,
        manifest: &Value,
    ) -> Result<Published, FetchError> {
        let url = registry.packument_url(name);
        let body = publish_document(registry, name, version, tarball, tag, manifest);
        let body = serde_json::to_vec(&body).map_err(|e| FetchError::BadResponse {
            url: SafeUrl::new(&url),
            why: format!("cannot encode the publish body: {e}"),
        })?;
        let (status, _) = self
            .write(registry, Method::PUT, &url, Some(body), true)
            .await?;
        Ok(Published {
            url: SafeUrl::new(&url).to_string(),
            status,
        })
    }

    /// Every version key in `name`'s packument; empty when the registry does not have the
    /// package (404).
    pub async fn versions(
        &self,
        registry: &Registry,
        name: &PackageName,
    ) -> Result<Vec<String>, FetchError> {
        Ok(match self.full_packument(registry, name).await? {
            Some(doc) => doc
                .get("versions")
                .and_then(Value::as_object)
                .map(|v| v.keys().cloned().collect())
                .unwrap_or_default(),
            None => Vec::new(),
        })
    }

    /// True when the registry no longer lists `spec` (404 on the packument, or the version not
    /// in it).
    pub async fn version_absent(
        &self,
        registry: &Registry,
        spec: &PackageSpec,
    ) -> Result<bool, FetchError> {
        let versions = self.versions(registry, &spec.name).await?;
        Ok(!versions.iter().any(|v| v == &spec.version.to_string()))
    }

    /// Removes `spec` from `registry` with `style` (see the module docs). Idempotent: a version
    /// the registry does not list gives [`Unpublished::AlreadyAbsent`].
    pub async fn unpublish(
        &self,
        registry: &Registry,
        style: UnpublishStyle,
        spec: &PackageSpec,
    ) -> Result<Unpublished, FetchError> {
        let Some(doc) = self.full_packument(registry, &spec.name).await? else {
            return Ok(Unpublished::AlreadyAbsent);
        };
        let version = spec.version.to_string();
        let versions = doc
            .get("versions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let Some(entry) = versions.get(&version) else {
            return Ok(Unpublished::AlreadyAbsent);
        };
        let mut log = Vec::new();
        let packument = registry.packument_url(&spec.name);
        match style {
            UnpublishStyle::Gitea => {
                let file = spec
                    .name
                    .tarball_file_name(&spec.version)
                    .to_ascii_lowercase();
                let path = format!(
                    "{}{}/-/{}/{}/-rev/undefined",
                    registry.base().path(),
                    percent_encoding::utf8_percent_encode(&spec.name.to_string(), QUERY_ESCAPE),
                    percent_encoding::utf8_percent_encode(&version, QUERY_ESCAPE),
                    percent_encoding::utf8_percent_encode(&file, QUERY_ESCAPE),
                );
                let mut url = registry.base().clone();
                url.set_path(&path);
                let status = self.delete(registry, &url, &mut log).await?;
                if status == 404 {
                    return Ok(Unpublished::AlreadyAbsent);
                }
            }
            UnpublishStyle::Npm => {
                let rev = rev_of(&doc);
                if versions.len() == 1 {
                    let url = with_suffix(&packument, &format!("/-rev/{rev}"));
                    let status = self.delete(registry, &url, &mut log).await?;
                    if status == 404 {
                        return Ok(Unpublished::AlreadyAbsent);
                    }
                } else {
                    let tarball = entry
                        .pointer("/dist/tarball")
                        .and_then(Value::as_str)
                        .and_then(|t| registry.base().join(t).ok());
                    let reduced = reduce(&doc, &version);
                    let url = with_suffix(&packument, &format!("/-rev/{rev}"));
                    let body = serde_json::to_vec(&reduced).unwrap_or_default();
                    let (status, _) = self
                        .write(registry, Method::PUT, &url, Some(body), true)
                        .await?;
                    log.push(format!("PUT {} {status}", SafeUrl::new(&url)));
                    if let Some(tarball) = tarball {
                        if !registry.same_origin(&tarball) {
                            return Err(FetchError::BadResponse {
                                url: SafeUrl::new(&tarball),
                                why: "dist.tarball is on another origin; its file cannot be deleted with this registry's credentials".into(),
                            });
                        }
                        let rev = match self.full_packument(registry, &spec.name).await? {
                            Some(doc) => rev_of(&doc),
                            None => rev,
                        };
                        let url = with_suffix(&tarball, &format!("/-rev/{rev}"));
                        self.delete(registry, &url, &mut log).await?;
                    }
                }
            }
        }
        Ok(Unpublished::Removed(log))
    }

    /// GET `?write=true` with npm's full-document `Accept`; `None` on 404.
    async fn full_packument(
        &self,
        registry: &Registry,
        name: &PackageName,
    ) -> Result<Option<Value>, FetchError> {
        let mut url = registry.packument_url(name);
        url.set_query(Some("write=true"));
        let body = match self
            .get_bytes(registry, &url, FULL_ACCEPT, Purpose::Packument(None))
            .await
        {
            Ok((body, _)) => body,
            Err(FetchError::HttpStatus { status: 404, .. }) => return Ok(None),
            Err(err) => return Err(err),
        };
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| FetchError::BadResponse {
                url: SafeUrl::new(&url),
                why: format!("the packument is not valid JSON ({e})"),
            })
    }

    /// DELETE; 404 is returned as a status (already gone), other failures are errors.
    async fn delete(
        &self,
        registry: &Registry,
        url: &Url,
        log: &mut Vec<String>,
    ) -> Result<u16, FetchError> {
        let (status, _) = self
            .write(registry, Method::DELETE, url, None, false)
            .await?;
        log.push(format!("DELETE {} {status}", SafeUrl::new(url)));
        Ok(status)
    }

    /// Sends one write request (no retries). 2xx gives the status and body; 404 too when
    /// `not_found_is_error` is false; anything else is an error.
    async fn write(
        &self,
        registry: &Registry,
        method: Method,
        url: &Url,
        body: Option<Vec<u8>>,
        not_found_is_error: bool,
    ) -> Result<(u16, Vec<u8>), FetchError> {
        let mut request = Request::new(method, url)
            .accept("application/json")
            .credential(registry.credential().as_ref());
        if let Some(body) = body {
            request = request.body("application/json", body);
        }
        let failed = |error| self.fetch_error(error, registry, Purpose::Write);
        let response = self.http.send(&request).await.map_err(failed)?;
        let status = response.status().as_u16();
        if response.status().is_success() || (status == 404 && !not_found_is_error) {
            let body = response.bytes(MAX_ERROR_BODY).await.map_err(failed)?;
            return Ok((status, body));
        }
        Err(failed(response.into_status_error().await))
    }
}

/// `_rev` as npm reads it (`undefined` when the registry has none, as on Gitea).
fn rev_of(doc: &Value) -> String {
    doc.get("_rev")
        .and_then(Value::as_str)
        .unwrap_or("undefined")
        .to_owned()
}

/// `url` with `suffix` appended to its path (query dropped).
fn with_suffix(url: &Url, suffix: &str) -> Url {
    let mut out = url.clone();
    out.set_query(None);
    let path = format!("{}{suffix}", url.path());
    out.set_path(&path);
    out
}

/// The packument without `version`, as npm's unpublish PUTs it: the version, its `time` entry
/// and the dist-tags pointing at it removed; `latest` re-pointed to the highest remaining
/// version; no attachments.
pub(crate) fn reduce(doc: &Value, version: &str) -> Value {
    let mut out = doc.clone();
    let Some(obj) = out.as_object_mut() else {
        return out;
    };
    obj.remove("_attachments");
    let mut remaining: Vec<String> = Vec::new();
    if let Some(versions) = obj.get_mut("versions").and_then(Value::as_object_mut) {
        versions.remove(version);
        remaining = versions.keys().cloned().collect();
    }
    if let Some(time) = obj.get_mut("time").and_then(Value::as_object_mut) {
        time.remove(version);
    }
    if let Some(tags) = obj.get_mut("dist-tags").and_then(Value::as_object_mut) {
        let had_latest = tags.get("latest").and_then(Value::as_str) == Some(version);
        tags.retain(|_, v| v.as_str() != Some(version));
        if had_latest {
            let highest = remaining
                .iter()
                .filter_map(|v| semver::Version::parse(v).ok())
                .max();
            if let Some(highest) = highest {
                tags.insert("latest".into(), json!(highest.to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_publish_document_is_npms() {
        let registry = Registry::new("v", "http://127.0.0.1:4873").unwrap();
        let name = PackageName::parse("@acme/_e2e-test").unwrap();
        let version = semver::Version::parse("0.0.1-e2e.1").unwrap();
        let doc = publish_document(
            &registry,
            &name,
            &version,
            b"tgz",
            "e2e",
            &json!({"description": "d", "main": "index.js"}),
        );
        assert_eq!(doc["dist-tags"], json!({"e2e": "0.0.1-e2e.1"}));
        let v = &doc["versions"]["0.0.1-e2e.1"];
        assert_eq!(v["main"], "index.js");
        assert_eq!(
            v["dist"]["tarball"],
            "http://127.0.0.1:4873/@acme/_e2e-test/-/@acme/_e2e-test-0.0.1-e2e.1.tgz"
        );
        assert!(
            v["dist"]["integrity"]
                .as_str()
                .unwrap()
                .starts_with("sha512-")
        );
        assert_eq!(v["dist"]["shasum"].as_str().unwrap().len(), 40);
        assert_eq!(
            doc["_attachments"]["@acme/_e2e-test-0.0.1-e2e.1.tgz"]["data"],
            "dGd6"
        );
    }

    #[test]
    fn reducing_removes_the_version_and_repoints_latest() {
        let doc = json!({
            "_rev": "3-x",
            "versions": {"1.0.0": {}, "1.1.0": {}, "2.0.0-e2e.1": {}},
            "time": {"1.0.0": "t", "2.0.0-e2e.1": "t"},
            "dist-tags": {"latest": "2.0.0-e2e.1", "e2e": "2.0.0-e2e.1", "old": "1.0.0"},
        });
        let out = reduce(&doc, "2.0.0-e2e.1");
        assert_eq!(out["dist-tags"], json!({"latest": "1.1.0", "old": "1.0.0"}));
        assert!(out["versions"].get("2.0.0-e2e.1").is_none());
        assert!(out["time"].get("2.0.0-e2e.1").is_none());
        assert_eq!(rev_of(&out), "3-x");
        assert_eq!(rev_of(&json!({})), "undefined");
    }
}

#[cfg(test)]
mod server_tests {
    use byteproof_testkit::{GiteaDouble, Reply, ScriptedServer};

    use super::*;
    use crate::{Auth, ClientOptions, Secret};

    fn spec(text: &str) -> PackageSpec {
        PackageSpec::parse(text).unwrap()
    }

    #[tokio::test]
    async fn gitea_style_publishes_lists_and_deletes_through_the_version_route() {
        let gitea = GiteaDouble::start("acme").unwrap();
        let token = gitea.add_token(true);
        let registry = Registry::new("g", &gitea.url())
            .unwrap()
            .with_auth(Some(Auth::Bearer(Secret::new(token.clone()))));
        let client = NpmClient::new(ClientOptions::default()).unwrap();
        let s = spec("@acme/pkg@0.0.1-e2e.1");
        let published = client
            .publish(&registry, &s.name, &s.version, b"bytes", "e2e", &json!({}))
            .await
            .unwrap();
        assert_eq!(published.status, 201);
        // A duplicate is refused with Gitea's message; the error carries no token.
        let dup = client
            .publish(&registry, &s.name, &s.version, b"bytes", "e2e", &json!({}))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            dup.contains("409") && dup.contains("package version already exists"),
            "{dup}"
        );
        assert!(!dup.contains(&token));
        assert_eq!(
            client.versions(&registry, &s.name).await.unwrap(),
            vec!["0.0.1-e2e.1"]
        );
        let removed = client
            .unpublish(&registry, UnpublishStyle::Gitea, &s)
            .await
            .unwrap();
        assert!(matches!(removed, Unpublished::Removed(_)));
        assert!(client.version_absent(&registry, &s).await.unwrap());
        assert_eq!(
            client
                .unpublish(&registry, UnpublishStyle::Gitea, &s)
                .await
                .unwrap(),
            Unpublished::AlreadyAbsent
        );
        let deletes: Vec<String> = gitea
            .server()
            .requests()
            .into_iter()
            .filter(|r| r.method == "DELETE")
            .map(|r| r.path)
            .collect();
        assert_eq!(
            deletes,
            vec![
                "/api/packages/acme/npm/%40acme%2Fpkg/-/0.0.1-e2e.1/pkg-0.0.1-e2e.1.tgz/-rev/undefined"
            ]
        );
        // npm's sequence would only PUT (a no-op on Gitea) and DELETE the tarball URL.
    }

    #[tokio::test]
    async fn npm_style_sends_npms_sequence_with_the_tarball_url_in_full() {
        // A registry under a path, with two versions: PUT the reduced packument to
        // /-rev/<rev>, then DELETE <full dist.tarball>/-rev/<new rev>.
        let server = ScriptedServer::start(|req| {
            let base = format!("http://{}/npm/", req.header("host").unwrap_or_default());
            match (req.method.as_str(), req.path.as_str()) {
                ("GET", p) if p.starts_with("/npm/@s%2fp?write=true") => Reply::json(
                    200,
                    &json!({
                        "_rev": "7-abc",
                        "name": "@s/p",
                        "dist-tags": {"latest": "1.0.0", "e2e": "0.0.1-e2e.2"},
                        "versions": {
                            "1.0.0": {"dist": {"tarball": format!("{base}@s/p/-/p-1.0.0.tgz")}},
                            "0.0.1-e2e.2": {"dist": {"tarball": format!("{base}@s/p/-/p-0.0.1-e2e.2.tgz")}},
                        },
                    }),
                ),
                ("PUT", "/npm/@s%2fp/-rev/7-abc") => Reply::json(201, &json!({"ok": "package changed"})),
                ("DELETE", "/npm/@s/p/-/p-0.0.1-e2e.2.tgz/-rev/7-abc") => {
                    Reply::json(201, &json!({"ok": "tarball removed"}))
                }
                _ => Reply::json(404, &json!({"error": "no"})),
            }
        })
        .unwrap();
        let registry = Registry::new("v", &format!("{}npm/", server.url()))
            .unwrap()
            .with_auth(Some(Auth::Bearer(Secret::new("t0ken"))));
        let client = NpmClient::new(ClientOptions::default()).unwrap();
        let removed = client
            .unpublish(&registry, UnpublishStyle::Npm, &spec("@s/p@0.0.1-e2e.2"))
            .await
            .unwrap();
        let Unpublished::Removed(log) = removed else {
            panic!("{removed:?}");
        };
        assert_eq!(log.len(), 2, "{log:?}");
        let requests = server.requests();
        let seen: Vec<(&str, &str)> = requests
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str()))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("GET", "/npm/@s%2fp?write=true"),
                ("PUT", "/npm/@s%2fp/-rev/7-abc"),
                ("GET", "/npm/@s%2fp?write=true"),
                ("DELETE", "/npm/@s/p/-/p-0.0.1-e2e.2.tgz/-rev/7-abc"),
            ]
        );
        let put: Value = serde_json::from_slice(&requests[1].body).unwrap();
        assert!(put["versions"].get("0.0.1-e2e.2").is_none());
        assert_eq!(put["dist-tags"], json!({"latest": "1.0.0"}));
        assert!(
            requests
                .iter()
                .all(|r| r.header("authorization") == Some("Bearer t0ken"))
        );
    }

    #[tokio::test]
    async fn npm_style_deletes_the_whole_package_for_its_last_version() {
        let server = ScriptedServer::start(|req| match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/@s%2fp?write=true") => Reply::json(
                200,
                &json!({"_rev": "3-x", "versions": {"0.0.1-e2e.1": {}}}),
            ),
            ("DELETE", "/@s%2fp/-rev/3-x") => Reply::json(201, &json!({"ok": "package removed"})),
            _ => Reply::json(404, &json!({"error": "no"})),
        })
        .unwrap();
        let registry = Registry::new("v", &server.url()).unwrap();
        let client = NpmClient::new(ClientOptions::default()).unwrap();
        let removed = client
            .unpublish(&registry, UnpublishStyle::Npm, &spec("@s/p@0.0.1-e2e.1"))
            .await
            .unwrap();
        assert_eq!(
            removed,
            Unpublished::Removed(vec![format!("DELETE {}@s%2fp/-rev/3-x 201", server.url())])
        );
    }
}
