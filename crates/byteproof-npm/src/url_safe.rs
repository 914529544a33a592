//! URLs safe to show: no user info, no query values.

use std::fmt;

use url::Url;

/// A URL for messages and reports. User info is dropped and query values are replaced by
/// `<redacted>` (presigned download URLs carry credentials there).
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
        // Query values can be credentials (presigned URLs, `?token=`): keep only the keys.
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
    fn credentials_are_not_shown() {
        let url =
            Url::parse("https://user:pw@host/a/b.tgz?X-Amz-Signature=abc&token=t#frag").unwrap();
        assert_eq!(
            SafeUrl::new(&url).to_string(),
            "https://host/a/b.tgz?X-Amz-Signature=<redacted>&token=<redacted>"
        );
    }
}
