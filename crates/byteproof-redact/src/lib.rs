//! Values that must never reach output: [`Secret`] (a token or password) and [`SafeUrl`] (a URL
//! shown without user info or query values). Every crate that holds credentials uses these, so
//! "a token never appears in output, logs, errors or Debug" has one implementation.

use std::fmt;

use url::Url;

/// A secret string (token, password, or a whole `Authorization` value). `Debug` and `Display`
/// print `<redacted>`; the only way to the value is [`Secret::expose`], for building a header.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret exactly as given.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Wraps a secret read from a file or an environment variable, without the surrounding
    /// whitespace (a trailing newline) that is never part of a token.
    pub fn trimmed(value: &str) -> Self {
        Self(value.trim().to_owned())
    }

    /// The value, for building an `Authorization` header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A URL for messages and reports: user info is dropped, query values are replaced by
/// `<redacted>` (presigned download URLs carry credentials there), the fragment is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SafeUrl(Url);

impl SafeUrl {
    /// Wraps a URL.
    pub fn new(url: &Url) -> Self {
        Self(url.clone())
    }
}

impl fmt::Display for SafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        shown.set_fragment(None);
        let keys: Vec<String> = shown
            .query_pairs()
            .map(|(k, _)| format!("{k}=<redacted>"))
            .collect();
        shown.set_query(None);
        f.write_str(shown.as_str())?;
        if !keys.is_empty() {
            write!(f, "?{}", keys.join("&"))?;
        }
        Ok(())
    }
}

impl fmt::Debug for SafeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafeUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_format() {
        let secret = Secret::trimmed("s3cr3t-token\n");
        assert_eq!(secret.expose(), "s3cr3t-token");
        assert_eq!(format!("{secret} {secret:?}"), "<redacted> <redacted>");
        assert_eq!(Secret::new(" keep ").expose(), " keep ");
    }

    #[test]
    fn urls_lose_credentials() {
        let url =
            Url::parse("https://user:pw@host/a/b.tgz?X-Amz-Signature=abc&token=t#frag").unwrap();
        assert_eq!(
            SafeUrl::new(&url).to_string(),
            "https://host/a/b.tgz?X-Amz-Signature=<redacted>&token=<redacted>"
        );
        let plain = Url::parse("http://127.0.0.1:4873/@s%2fn").unwrap();
        assert_eq!(
            SafeUrl::new(&plain).to_string(),
            "http://127.0.0.1:4873/@s%2fn"
        );
    }
}
