//! How to authenticate to a registry; the secrets inside are [`Secret`]s, which never format.

pub use byteproof_redact::Secret;

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
    /// The header value.
    pub(crate) fn header_value(&self) -> String {
        use base64::Engine as _;
        match self {
            Auth::Bearer(token) => format!("Bearer {}", token.expose()),
            Auth::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )
            }
        }
    }

    /// Every secret string inside, so error texts can be scrubbed of them.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        match self {
            Auth::Bearer(token) => vec![token.expose()],
            Auth::Basic { password, .. } => vec![password.expose()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_format() {
        let auth = Auth::Bearer(Secret::trimmed("s3cr3t-token\n"));
        assert!(!format!("{auth:?}").contains("s3cr3t"));
        assert_eq!(auth.header_value(), "Bearer s3cr3t-token");
        let basic = Auth::Basic {
            username: "u".into(),
            password: Secret::new("p"),
        };
        assert_eq!(basic.header_value(), "Basic dTpw");
        assert!(!format!("{basic:?}").contains("\"p\""));
    }
}
