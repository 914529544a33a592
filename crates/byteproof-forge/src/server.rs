//! The server itself: Gitea's version (`GET /api/v1/version` → `{"version": "1.25.4"}`,
//! `gitea-api.md` §4; no auth unless `REQUIRE_SIGNIN_VIEW`, so the client's token is sent when
//! it has one), learned once per client and used to pick the routes a release has (§5, §8).
//! GitHub has no such endpoint.

use std::time::{Duration, Instant};

use byteproof_http::Method;
use jiff::Timestamp;
use serde::Deserialize;

use crate::client::parse;
use crate::{Forge, ForgeClient, ForgeError, Operation, ServerVersion};

const NO_VERSION_ON_GITHUB: &str =
    "GitHub has no version endpoint; its REST API is versioned by date (2022-11-28)";

/// What one version call tells about a server.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Probe {
    /// The version it reports.
    pub version: ServerVersion,
    /// Its `Date` header (for a clock-skew check), when it sent one.
    pub server_date: Option<Timestamp>,
    /// How long the call took, retries included.
    pub round_trip: Duration,
}

#[derive(Deserialize)]
struct VersionBody {
    version: String,
}

impl ForgeClient {
    /// Gitea's version: asked on the first call (this one, [`ForgeClient::probe`], or any
    /// operation that depends on the release) and kept for the client's life. On GitHub,
    /// [`ForgeError::NotOnForge`].
    pub async fn server_version(&self) -> Result<ServerVersion, ForgeError> {
        self.only_on(Forge::Gitea, Operation::ServerVersion, NO_VERSION_ON_GITHUB)?;
        self.cached_version().await
    }

    /// Asks Gitea's version now, with the server's clock and the round trip, and keeps the
    /// version for later calls. On GitHub, [`ForgeError::NotOnForge`].
    pub async fn probe(&self) -> Result<Probe, ForgeError> {
        self.only_on(Forge::Gitea, Operation::ServerVersion, NO_VERSION_ON_GITHUB)?;
        let call = self.call(Operation::ServerVersion, "", Method::GET, &["version"]);
        let started = Instant::now();
        let answer = self.send(&call).await?;
        let round_trip = started.elapsed();
        let body: VersionBody = parse(&call, &answer.body)?;
        let version = ServerVersion::parse(&body.version).map_err(|e| ForgeError::Malformed {
            endpoint: call.endpoint(),
            detail: e.to_string(),
        })?;
        self.learn_version(&version);
        Ok(Probe {
            version,
            server_date: answer.date,
            round_trip,
        })
    }
}
