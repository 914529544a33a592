//! Credentials bound to one origin (scheme, host and port): a [`Credential`] is attached to a
//! request only when the request's URL, at every redirect hop, has that origin.

use std::fmt;

use base64::Engine as _;
use byteproof_redact::Secret;
use reqwest::header::HeaderValue;
use url::{Origin, Url};

/// An `Authorization` value and the one origin allowed to receive it.
#[derive(Clone)]
pub struct Credential {
    origin: Origin,
    authorization: Secret,
    /// Every secret string inside the value, removed from error texts that may echo them.
    fragments: Vec<Secret>,
}

impl Credential {
    /// `Authorization: Bearer <token>` for `origin_of`'s origin.
    pub fn bearer(origin_of: &Url, token: &Secret) -> Self {
        Self {
            origin: origin_of.origin(),
            authorization: Secret::new(format!("Bearer {}", token.expose())),
            fragments: vec![token.clone()],
        }
    }

    /// `Authorization: Basic <base64(username:password)>` for `origin_of`'s origin.
    pub fn basic(origin_of: &Url, username: &str, password: &Secret) -> Self {
        let authorization = basic_authorization(username, password);
        let encoded = authorization
            .expose()
            .trim_start_matches("Basic ")
            .to_owned();
        Self {
            origin: origin_of.origin(),
            authorization,
            fragments: vec![password.clone(), Secret::new(encoded)],
        }
    }

    /// A whole `Authorization` value (`<scheme> <secret>`), for `origin_of`'s origin.
    pub fn authorization(origin_of: &Url, value: Secret) -> Self {
        let mut fragments = vec![value.clone()];
        if let Some((_, secret)) = value.expose().split_once(' ') {
            fragments.push(Secret::new(secret.trim()));
        }
        Self {
            origin: origin_of.origin(),
            authorization: value,
            fragments,
        }
    }

    /// True when `url` has this credential's scheme, host and port (default ports included).
    pub fn applies_to(&self, url: &Url) -> bool {
        url.origin() == self.origin
    }

    /// The origin, as `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        self.origin.ascii_serialization()
    }

    /// `text` with every secret of this credential replaced by `<redacted>` (longest first, so
    /// a short password inside the base64 form does not leave the rest standing).
    pub fn redact(&self, text: &str) -> String {
        let mut fragments: Vec<&Secret> = self.fragments.iter().collect();
        fragments.sort_by_key(|fragment| std::cmp::Reverse(fragment.expose().len()));
        let mut text = text.to_owned();
        for fragment in fragments {
            if !fragment.is_empty() {
                text = text.replace(fragment.expose(), "<redacted>");
            }
        }
        text
    }

    /// The header value, marked sensitive (never logged by the HTTP stack); `None` when the
    /// secret holds characters a header cannot carry.
    pub(crate) fn header_value(&self) -> Option<HeaderValue> {
        let mut value = HeaderValue::from_str(self.authorization.expose()).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("origin", &self.origin())
            .field("authorization", &self.authorization)
            .finish()
    }
}

/// The value of `Authorization: Basic …` for `username` and `password` (RFC 7617: base64 of
/// `username:password`).
pub fn basic_authorization(username: &str, password: &Secret) -> Secret {
    let raw = format!("{username}:{}", password.expose());
    Secret::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn basic_is_base64_of_user_colon_password() {
        assert_eq!(
            basic_authorization("u", &Secret::new("p")).expose(),
            "Basic dTpw"
        );
        assert_eq!(
            basic_authorization("ci", &Secret::new("s3cret")).expose(),
            "Basic Y2k6czNjcmV0"
        );
    }

    #[test]
    fn a_credential_applies_only_to_its_own_origin() {
        let credential = Credential::bearer(
            &url("https://git.example/api/packages/o/npm/"),
            &Secret::new("t"),
        );
        assert_eq!(credential.origin(), "https://git.example");
        for yes in [
            "https://git.example/other/path",
            "https://GIT.example:443/x.tgz",
        ] {
            assert!(credential.applies_to(&url(yes)), "{yes}");
        }
        for no in [
            "http://git.example/x.tgz",
            "https://git.example:8443/x.tgz",
            "https://cdn.example/x.tgz",
            "https://git.example.evil/x.tgz",
            "https://sub.git.example/x.tgz",
        ] {
            assert!(!credential.applies_to(&url(no)), "{no}");
        }
        let loopback = Credential::bearer(&url("http://127.0.0.1:4873/"), &Secret::new("t"));
        assert!(!loopback.applies_to(&url("http://localhost:4873/")));
        assert!(!loopback.applies_to(&url("http://127.0.0.1:4874/")));
    }

    #[test]
    fn secrets_never_format_and_are_redacted_from_text() {
        let base = url("https://r.example/");
        let basic = Credential::basic(&base, "ci", &Secret::new("s3cret"));
        let shown = format!("{basic:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("Y2k6"),
            "{shown}"
        );
        assert_eq!(
            basic.redact("echo: Basic Y2k6czNjcmV0 / s3cret"),
            "echo: Basic <redacted> / <redacted>"
        );
        let raw = Credential::authorization(&base, Secret::new("Bearer tok-123"));
        assert_eq!(raw.redact("bad token tok-123"), "bad token <redacted>");
        assert!(raw.header_value().unwrap().is_sensitive());
        let broken = Credential::bearer(&base, &Secret::new("line\nbreak"));
        assert!(broken.header_value().is_none());
    }
}
