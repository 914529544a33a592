//! Bearer tokens from a registry's token service (the `WWW-Authenticate: Bearer realm=…`
//! flow): asked for with the challenge's `service` and `scope`, with Basic credentials when the
//! Docker config has them, and cached per (registry, realm, service, scope) until they lapse.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use byteproof_http::Request;
use url::Url;

use crate::auth::{Credentials, Secret};
use crate::error::ResolveError;
use crate::reference::Reference;
use crate::transport::Transport;

/// Token responses larger than this are refused.
const MAX_TOKEN_BYTES: u64 = 1 << 20;

/// What a token is for.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey {
    pub(crate) registry: String,
    pub(crate) realm: String,
    pub(crate) service: String,
    pub(crate) scope: String,
}

impl TokenKey {
    /// The realm with `service` and one `scope` parameter per scope.
    pub(crate) fn url(&self) -> Result<Url, String> {
        let mut url = Url::parse(&self.realm).map_err(|e| format!("invalid realm URL: {e}"))?;
        {
            let mut query = url.query_pairs_mut();
            if !self.service.is_empty() {
                query.append_pair("service", &self.service);
            }
            for scope in self.scope.split(' ').filter(|s| !s.is_empty()) {
                query.append_pair("scope", scope);
            }
        }
        Ok(url)
    }
}

struct CachedToken {
    token: Secret,
    expires: Instant,
}

/// The token cache.
#[derive(Default)]
pub(crate) struct Tokens {
    cache: tokio::sync::Mutex<HashMap<TokenKey, CachedToken>>,
}

impl Tokens {
    /// A live token for `registry` and `scope`, to skip the 401 round trip.
    pub(crate) async fn cached(&self, registry: &str, scope: &str) -> Option<Secret> {
        let cache = self.cache.lock().await;
        cache
            .iter()
            .find(|(k, v)| k.registry == registry && k.scope == scope && v.expires > Instant::now())
            .map(|(_, v)| v.token.clone())
    }

    /// The token for `key`: cached, else asked from `url` (the realm, see [`TokenKey::url`]).
    pub(crate) async fn get(
        &self,
        transport: &Transport,
        reference: &Reference,
        key: &TokenKey,
        url: &Url,
        creds: Option<&Credentials>,
    ) -> Result<Secret, ResolveError> {
        if let Some(cached) = self
            .cache
            .lock()
            .await
            .get(key)
            .filter(|t| t.expires > Instant::now())
        {
            return Ok(cached.token.clone());
        }
        let token_err = |detail: String| ResolveError::Token {
            reference: reference.to_string(),
            realm: key.realm.clone(),
            detail,
        };
        let credential = creds.map(|creds| creds.credential(url));
        let request = Request::get(url)
            .accept("application/json")
            .credential(credential.as_ref());
        let fetched = transport
            .fetch(&request, MAX_TOKEN_BYTES)
            .await
            .map_err(|e| ResolveError::from_http(e, reference, "token response"))?;
        let status = fetched.status.as_u16();
        if status == 401 || status == 403 {
            let refused = if creds.is_some() {
                "rejected the configured credentials"
            } else {
                "requires credentials"
            };
            return Err(ResolveError::Unauthorized {
                reference: reference.to_string(),
                registry: reference.registry().to_owned(),
                detail: format!(
                    "the token service at {} {refused} (HTTP {status})",
                    key.realm
                ),
            });
        }
        if !fetched.status.is_success() {
            let detail = match fetched.detail.as_str() {
                "" => format!("HTTP {status}"),
                detail => format!("HTTP {status}: {detail}"),
            };
            return Err(token_err(detail));
        }
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let parsed: TokenResponse = serde_json::from_slice(&fetched.body)
            .map_err(|e| token_err(format!("response is not token JSON: {e}")))?;
        let token = parsed
            .token
            .filter(|t| !t.is_empty())
            .or(parsed.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| token_err("response has neither token nor access_token".to_owned()))?;
        let token = Secret::new(token);
        // Expire a little early so a token is never sent just as it lapses.
        let lifetime =
            Duration::from_secs(parsed.expires_in.unwrap_or(60).max(60).saturating_sub(10));
        self.cache.lock().await.insert(
            key.clone(),
            CachedToken {
                token: token.clone(),
                expires: Instant::now() + lifetime,
            },
        );
        Ok(token)
    }
}
