//! How to authenticate to a registry; the secrets inside are [`Secret`]s, which never format.

use byteproof_http::Credential;
pub use byteproof_redact::Secret;
use url::Url;

/// How to authenticate to one registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>` (npm's `_authToken`, a Gitea access token).
    Bearer(Secret),
    /// `Authorization: Basic <base64>` (npm's `_auth`, or username + password).
    Basic {
        /// The user name (not secret).
        username: String,
        /// The password or token.
        password: Secret,
    },
}

impl Auth {
    /// The credential, bound to `base`'s origin: it is sent nowhere else.
    pub(crate) fn credential(&self, base: &Url) -> Credential {
        match self {
            Auth::Bearer(token) => Credential::bearer(base, token),
            Auth::Basic { username, password } => Credential::basic(base, username, password),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_format() {
        let base = Url::parse("https://r.example/npm/").unwrap();
        let auth = Auth::Bearer(Secret::trimmed("s3cr3t-token\n"));
        let credential = auth.credential(&base);
        assert!(!format!("{auth:?} {credential:?}").contains("s3cr3t"));
        assert_eq!(credential.redact("s3cr3t-token"), "<redacted>");
        let basic = Auth::Basic {
            username: "u".into(),
            password: Secret::new("p"),
        };
        assert!(!format!("{basic:?}").contains("\"p\""));
        assert_eq!(
            basic.credential(&base).redact("Basic dTpw"),
            "Basic <redacted>"
        );
    }
}
