//! GitHub App installation tokens (`forge-routing-api.md` §4).
//!
//! - [`GithubApp::jwt`] signs the App's JWT (§4.1): RS256 with the App's private key (PEM,
//!   PKCS#1 as GitHub hands them out, or PKCS#8), `iat` 60 s in the past to absorb clock drift,
//!   `exp` 9 minutes ahead (GitHub's limit is 10 minutes after `iat`), `iss` the App id (sent
//!   as a number) or its client id. A fresh JWT is made for every call; it is a [`Secret`].
//! - [`ForgeClient::installation_id`]: `GET /repos/{owner}/{repo}/installation` with the JWT →
//!   the installation's `id`; 404 when the App is not installed there (§4.2).
//! - [`ForgeClient::installation_token`]: `POST /app/installations/{id}/access_tokens` with the
//!   JWT → 201 `{"token", "expires_at", …}`: a token for every repository and permission of
//!   the installation, valid one hour. Its format is not assumed (`ghs_…`, longer stateless
//!   forms since 2026); it comes back as a [`Secret`].
//!
//! JWTs and installation tokens go as `Authorization: Bearer` (a JWT must), only to the API's
//! origin. Gitea has no App flow (§4.3).

use std::fmt;

use byteproof_http::{Credential, Method};
use byteproof_redact::Secret;
use jiff::{SignedDuration, Timestamp};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::json;

use crate::client::timestamp;
use crate::{Forge, ForgeClient, ForgeError, Operation, Repo};

/// How far in the past `iat` is set (§4.1).
const IAT_SKEW: SignedDuration = SignedDuration::from_secs(60);
/// How far ahead `exp` is set: 9 minutes, 10 after `iat`.
const EXP_AHEAD: SignedDuration = SignedDuration::from_secs(9 * 60);

const APPS_ON_GITHUB_ONLY: &str =
    "Gitea has no GitHub App flow; use a personal access token of the repository owner";

/// A GitHub App able to sign its JWTs. `Debug` shows the issuer, never the key.
#[derive(Clone)]
pub struct GithubApp {
    issuer: String,
    key: EncodingKey,
}

impl GithubApp {
    /// The App `app_id` (its numeric App id, or its client id `Iv…`) with the private key
    /// `pem`. The key is tried once here, so a public key, a non-RSA key or garbage is an
    /// error now rather than at the first call.
    pub fn from_pem(app_id: &str, pem: &[u8]) -> Result<Self, ForgeError> {
        let issuer = app_id.trim();
        if issuer.is_empty()
            || !issuer
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
        {
            return Err(ForgeError::invalid(
                format!("GitHub App id {app_id:?}"),
                "an App id is its number or its client id (letters and digits)",
            ));
        }
        let key = EncodingKey::from_rsa_pem(pem).map_err(|e| ForgeError::AppKey {
            reason: format!("not an RSA private key in PEM form ({e})"),
        })?;
        let app = Self {
            issuer: issuer.to_owned(),
            key,
        };
        app.jwt()?;
        Ok(app)
    }

    /// The JWT's `iss`: the App id or client id.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A JWT valid from 60 s ago for the next 9 minutes.
    pub fn jwt(&self) -> Result<Secret, ForgeError> {
        let now = Timestamp::now();
        let issuer = match self.issuer.parse::<u64>() {
            Ok(id) => json!(id),
            Err(_) => json!(self.issuer),
        };
        let claims = json!({
            "iat": (now - IAT_SKEW).as_second(),
            "exp": (now + EXP_AHEAD).as_second(),
            "iss": issuer,
        });
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map(Secret::new)
            .map_err(|e| ForgeError::AppKey {
                reason: format!("it cannot sign an RS256 JWT ({e})"),
            })
    }
}

impl fmt::Debug for GithubApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubApp")
            .field("issuer", &self.issuer)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Which installation of the App a token is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Installation {
    /// By its id.
    Id(u64),
    /// The installation covering this repository (looked up first).
    Repo(Repo),
}

/// An installation access token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstallationToken {
    /// The token.
    pub token: Secret,
    /// When it expires (one hour after it was made).
    pub expires_at: Timestamp,
    /// The installation it belongs to.
    pub installation_id: u64,
}

#[derive(Deserialize)]
struct InstallationBody {
    id: u64,
}

#[derive(Deserialize)]
struct AccessTokenBody {
    token: String,
    expires_at: String,
}

impl ForgeClient {
    /// The id of `app`'s installation on `repo` (GitHub); not installed there is
    /// [`ForgeError::NotFound`].
    pub async fn installation_id(&self, app: &GithubApp, repo: &Repo) -> Result<u64, ForgeError> {
        let operation = Operation::AppInstallation;
        self.only_on(Forge::Github, operation, APPS_ON_GITHUB_ONLY)?;
        let call = self
            .call(
                operation,
                repo.to_string(),
                Method::GET,
                &["repos", repo.owner(), repo.name(), "installation"],
            )
            .credential(self.app_credential(app)?);
        let body: InstallationBody = self.fetch(&call).await?;
        Ok(body.id)
    }

    /// A new installation token for `installation` of `app` (GitHub), covering everything
    /// the installation may do.
    pub async fn installation_token(
        &self,
        app: &GithubApp,
        installation: &Installation,
    ) -> Result<InstallationToken, ForgeError> {
        let operation = Operation::InstallationToken;
        self.only_on(Forge::Github, operation, APPS_ON_GITHUB_ONLY)?;
        let id = match installation {
            Installation::Id(id) => *id,
            Installation::Repo(repo) => self.installation_id(app, repo).await?,
        };
        let id_text = id.to_string();
        let call = self
            .call(
                operation,
                format!("installation {id}"),
                Method::POST,
                &["app", "installations", &id_text, "access_tokens"],
            )
            .json(json!({}))
            .credential(self.app_credential(app)?);
        let body: AccessTokenBody = self.fetch(&call).await?;
        Ok(InstallationToken {
            token: Secret::new(body.token),
            expires_at: timestamp(&call, "expires_at", &body.expires_at)?,
            installation_id: id,
        })
    }

    fn app_credential(&self, app: &GithubApp) -> Result<Credential, ForgeError> {
        Ok(Credential::bearer(self.api_url(), &app.jwt()?))
    }
}
