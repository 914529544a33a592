//! [`FakeRegistry`]: an npm registry for one package whose packument claims (`dist.shasum`,
//! `dist.integrity`, `dist.tarball`) are whatever the test says, on the harness [`Server`]:
//! for registries that lie in their JSON, not in their HTTP.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::http::{Recording, Reply, Request, Server};
use crate::npm_path::{percent_decode, tarball_path};

/// One version served by a [`FakeRegistry`].
#[derive(Debug, Clone)]
struct FakeVersion {
    tarball: Vec<u8>,
    tarball_url: Option<String>,
    shasum: Option<String>,
    integrity: Option<String>,
}

/// An npm-registry-shaped [`Server`]: one package's packument and its tarballs.
///
/// The packument is served at `/@scope%2fname`, `/%40scope%2Fname` and `/@scope/name` (any
/// case of `%2f`); each version's tarball at `/@scope/name/-/name-<version>.tgz`. By default
/// `dist.tarball` points at this server and `dist.shasum` / `dist.integrity` are the true
/// digests; [`FakeRegistry::tarball_url`], [`FakeRegistry::claim_shasum`] and
/// [`FakeRegistry::claim_integrity`] change that. Anything else answers 404
/// `{"error":"not found"}`, or 401 without the token set by [`FakeRegistry::require_token`].
#[derive(Debug, Clone)]
pub struct FakeRegistry {
    name: String,
    versions: BTreeMap<String, FakeVersion>,
    token: Option<String>,
}

/// A running [`FakeRegistry`].
#[derive(Debug)]
pub struct RunningFakeRegistry {
    server: Server,
    name: String,
}

impl FakeRegistry {
    /// A registry for the package `name` (scoped or not), with no versions yet.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            versions: BTreeMap::new(),
            token: None,
        }
    }

    /// Adds a version served with these tarball bytes.
    #[must_use]
    pub fn version(mut self, version: &str, tarball: impl Into<Vec<u8>>) -> Self {
        self.versions.insert(
            version.to_owned(),
            FakeVersion {
                tarball: tarball.into(),
                tarball_url: None,
                shasum: None,
                integrity: None,
            },
        );
        self
    }

    /// Makes `dist.tarball` of `version` this absolute URL (e.g. another server, to check that
    /// credentials are not sent cross-host). Panics if `version` was not added.
    #[must_use]
    pub fn tarball_url(mut self, version: &str, url: &str) -> Self {
        self.entry(version).tarball_url = Some(url.to_owned());
        self
    }

    /// Makes `dist.shasum` of `version` claim this value (a lie, when it is not the real SHA-1).
    #[must_use]
    pub fn claim_shasum(mut self, version: &str, shasum: &str) -> Self {
        self.entry(version).shasum = Some(shasum.to_owned());
        self
    }

    /// Makes `dist.integrity` of `version` claim this SRI string.
    #[must_use]
    pub fn claim_integrity(mut self, version: &str, integrity: &str) -> Self {
        self.entry(version).integrity = Some(integrity.to_owned());
        self
    }

    /// Answers 401 to any request without `Authorization: Bearer <token>`.
    #[must_use]
    pub fn require_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    fn entry(&mut self, version: &str) -> &mut FakeVersion {
        self.versions
            .get_mut(version)
            .unwrap_or_else(|| panic!("FakeRegistry: add version {version} before configuring it"))
    }

    /// Starts serving.
    pub fn start(self) -> Result<RunningFakeRegistry> {
        let name = self.name.clone();
        let server =
            Server::start_with_base(Recording::Full, move |base, req| self.answer(base, req))?;
        Ok(RunningFakeRegistry { server, name })
    }

    fn answer(&self, base: &str, req: &Request) -> Reply {
        if let Some(token) = &self.token {
            let expected = format!("Bearer {token}");
            if req.header("authorization") != Some(expected.as_str()) {
                return Reply::json(401, &serde_json::json!({"error": "unauthorized"}))
                    .with_header("WWW-Authenticate", "Bearer");
            }
        }
        let path = req.path.split('?').next().unwrap_or_default();
        let decoded = percent_decode(path);
        if req.method == "GET" && decoded == format!("/{}", self.name) {
            return Reply::json(200, &self.packument(base));
        }
        for (version, v) in &self.versions {
            if (req.method == "GET" || req.method == "HEAD")
                && path == tarball_path(&self.name, version)
            {
                return Reply::tarball(v.tarball.clone());
            }
        }
        Reply::json(404, &serde_json::json!({"error": "not found"}))
    }

    fn packument(&self, base: &str) -> serde_json::Value {
        let mut versions = serde_json::Map::new();
        for (version, v) in &self.versions {
            let digests = byteproof_hash::hash_bytes(&v.tarball);
            let tarball = v.tarball_url.clone().unwrap_or_else(|| {
                format!(
                    "{}{}",
                    base.trim_end_matches('/'),
                    tarball_path(&self.name, version)
                )
            });
            versions.insert(
                version.clone(),
                serde_json::json!({
                    "_id": format!("{}@{version}", self.name),
                    "name": self.name,
                    "version": version,
                    "dist": {
                        "shasum": v.shasum.clone().unwrap_or_else(|| digests.sha1_hex()),
                        "integrity": v.integrity.clone().unwrap_or_else(|| digests.integrity()),
                        "tarball": tarball,
                    },
                }),
            );
        }
        let latest = self.versions.keys().last().cloned().unwrap_or_default();
        serde_json::json!({
            "_id": self.name,
            "name": self.name,
            "dist-tags": {"latest": latest},
            "versions": versions,
        })
    }
}

impl RunningFakeRegistry {
    /// The registry URL, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The URL this registry serves `version`'s tarball at (whatever the packument claims).
    pub fn own_tarball_url(&self, version: &str) -> String {
        format!(
            "{}{}",
            self.url().trim_end_matches('/'),
            tarball_path(&self.name, version)
        )
    }

    /// The underlying server: its recorded requests and request count.
    pub fn server(&self) -> &Server {
        &self.server
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{get, send};

    #[test]
    fn fake_registry_serves_claims_and_tarballs() {
        let elsewhere = Server::start(|_| Reply::status(200)).unwrap();
        let elsewhere_url = format!("{}t.tgz", elsewhere.url());
        let reg = FakeRegistry::new("@s/n")
            .version("1.0.0", &b"one"[..])
            .version("2.0.0", &b"two"[..])
            .claim_shasum("2.0.0", "0000000000000000000000000000000000000000")
            .tarball_url("2.0.0", &elsewhere_url)
            .start()
            .unwrap();
        for form in ["@s%2fn", "%40s%2Fn", "@s/n"] {
            let doc = get(&format!("{}{form}", reg.url())).unwrap();
            assert_eq!(doc.status, 200, "{form}");
        }
        let doc: serde_json::Value =
            serde_json::from_slice(&get(&format!("{}@s%2fn", reg.url())).unwrap().body).unwrap();
        let v1 = &doc["versions"]["1.0.0"]["dist"];
        assert_eq!(v1["tarball"], reg.own_tarball_url("1.0.0"));
        assert_eq!(v1["shasum"], byteproof_hash::hash_bytes(b"one").sha1_hex());
        let v2 = &doc["versions"]["2.0.0"]["dist"];
        assert_eq!(v2["tarball"], elsewhere_url.as_str());
        assert_eq!(v2["shasum"], "0000000000000000000000000000000000000000");
        assert_eq!(get(&reg.own_tarball_url("1.0.0")).unwrap().body, b"one");
        assert_eq!(get(&format!("{}nope", reg.url())).unwrap().status, 404);
    }

    #[test]
    fn fake_registry_can_require_a_token() {
        let reg = FakeRegistry::new("p")
            .version("1.0.0", &b"x"[..])
            .require_token("sekrit")
            .start()
            .unwrap();
        assert_eq!(get(&format!("{}p", reg.url())).unwrap().status, 401);
        let ok = send(
            "GET",
            &format!("{}p", reg.url()),
            &[("Authorization", "Bearer sekrit")],
            &[],
        )
        .unwrap();
        assert_eq!(ok.status, 200);
    }
}
