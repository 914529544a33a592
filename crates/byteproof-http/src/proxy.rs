//! The one proxy policy, read from the environment the way curl reads it, and applied
//! identically to every client byteproof builds.
//!
//! - `HTTP_PROXY` for `http://` URLs, `HTTPS_PROXY` for `https://` URLs, `ALL_PROXY` for both
//!   when the specific one is unset. Each name is read upper case first, then lower case.
//! - `NO_PROXY`: comma-separated hosts (a domain also matches its subdomains, a leading dot is
//!   optional), IP addresses, CIDR networks, or `*` for everything. Loopback is not exempt unless
//!   listed.
//! - A value without a scheme means `http://`. Only `http://` and `https://` proxies are
//!   supported; anything else is a [`BuildError`], never silently ignored.
//! - When `REQUEST_METHOD` is set (a CGI environment), upper-case `HTTP_PROXY` is ignored: there
//!   it can come from a request's `Proxy:` header ("httpoxy").
//!
//! Operating-system proxy settings (macOS, Windows) are not read, so the policy is the same on
//! every platform.

use std::fmt;

use byteproof_redact::SafeUrl;
use url::Url;

use crate::BuildError;

/// Which proxy to use for which URLs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    http: Option<Setting>,
    https: Option<Setting>,
    no_proxy: String,
}

/// One proxy variable: its name and its (possibly credential-carrying) value.
#[derive(Clone, PartialEq, Eq)]
struct Setting {
    variable: &'static str,
    value: String,
}

impl ProxyConfig {
    /// No proxy for anything.
    pub fn none() -> Self {
        Self::default()
    }

    /// The policy from the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The policy from `lookup(variable name)`, for tests and for callers with their own
    /// environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let cgi = lookup("REQUEST_METHOD").is_some();
        let first = |names: &[&'static str]| {
            names.iter().find_map(|&variable| {
                if cgi && variable == "HTTP_PROXY" {
                    return None;
                }
                let value = lookup(variable)?.trim().to_owned();
                (!value.is_empty()).then_some(Setting { variable, value })
            })
        };
        let no_proxy = first(&["NO_PROXY", "no_proxy"])
            .map(|setting| setting.value)
            .unwrap_or_default();
        // `*` exempts every host; reqwest's matcher would not apply it to IP addresses.
        if no_proxy.split(',').any(|entry| entry.trim() == "*") {
            return Self::none();
        }
        let all = first(&["ALL_PROXY", "all_proxy"]);
        Self {
            http: first(&["HTTP_PROXY", "http_proxy"]).or_else(|| all.clone()),
            https: first(&["HTTPS_PROXY", "https_proxy"]).or(all),
            no_proxy,
        }
    }

    /// True when no proxy is configured.
    pub fn is_none(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }

    /// Configures `builder` with exactly this policy (and nothing from elsewhere).
    pub(crate) fn apply(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, BuildError> {
        let mut builder = builder.no_proxy();
        if let Some(setting) = &self.http {
            builder = builder.proxy(self.scoped(setting, reqwest::Proxy::http(setting.url()?))?);
        }
        if let Some(setting) = &self.https {
            builder = builder.proxy(self.scoped(setting, reqwest::Proxy::https(setting.url()?))?);
        }
        Ok(builder)
    }

    /// `proxy` with this policy's `NO_PROXY` exceptions.
    fn scoped(
        &self,
        setting: &Setting,
        proxy: reqwest::Result<reqwest::Proxy>,
    ) -> Result<reqwest::Proxy, BuildError> {
        Ok(proxy
            .map_err(|e| setting.error(&e.to_string()))?
            .no_proxy(reqwest::NoProxy::from_string(&self.no_proxy)))
    }
}

impl Setting {
    fn url(&self) -> Result<Url, BuildError> {
        let text = if self.value.contains("://") {
            self.value.clone()
        } else {
            format!("http://{}", self.value)
        };
        let url = Url::parse(&text).map_err(|e| self.error(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(self.error(&format!(
                "only http:// and https:// proxies with a host are supported, not {}://",
                url.scheme()
            )));
        }
        Ok(url)
    }

    fn error(&self, reason: &str) -> BuildError {
        BuildError::Proxy {
            variable: self.variable,
            reason: reason.to_owned(),
        }
    }
}

impl fmt::Display for ProxyConfig {
    /// `http via http://proxy:3128 (HTTP_PROXY), https direct, NO_PROXY=…`; proxy credentials
    /// are never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (scheme, setting) in [("http", &self.http), ("https", &self.https)] {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            match setting {
                Some(setting) => match setting.url() {
                    Ok(url) => write!(
                        f,
                        "{scheme} via {} ({})",
                        SafeUrl::new(&url),
                        setting.variable
                    )?,
                    Err(_) => write!(f, "{scheme} via an unusable {}", setting.variable)?,
                },
                None => write!(f, "{scheme} direct")?,
            }
        }
        if !self.no_proxy.is_empty() {
            write!(f, ", NO_PROXY={}", self.no_proxy)?;
        }
        Ok(())
    }
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyConfig({self})")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn policy(vars: &[(&str, &str)]) -> ProxyConfig {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProxyConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn upper_case_wins_and_lower_case_is_read_too() {
        let p = policy(&[
            ("HTTPS_PROXY", "http://upper:3128"),
            ("https_proxy", "http://lower:3128"),
            ("http_proxy", "http://plain:3128"),
        ]);
        assert_eq!(
            p.to_string(),
            "http via http://plain:3128/ (http_proxy), https via http://upper:3128/ (HTTPS_PROXY)"
        );
    }

    #[test]
    fn all_proxy_fills_in_and_no_proxy_is_kept() {
        let p = policy(&[
            ("all_proxy", "proxy.corp:8080"),
            ("HTTP_PROXY", "  "),
            ("NO_PROXY", "localhost,.internal,10.0.0.0/8"),
        ]);
        assert_eq!(
            p.to_string(),
            "http via http://proxy.corp:8080/ (all_proxy), https via http://proxy.corp:8080/ (all_proxy), NO_PROXY=localhost,.internal,10.0.0.0/8"
        );
        assert!(policy(&[("HTTPS_PROXY", "http://p:1"), ("no_proxy", "a, * ")]).is_none());
    }

    #[test]
    fn cgi_environments_ignore_upper_case_http_proxy() {
        let p = policy(&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil:1")]);
        assert!(p.is_none(), "{p}");
    }

    #[test]
    fn credentials_in_a_proxy_url_never_show_and_bad_values_are_errors() {
        let p = policy(&[("HTTPS_PROXY", "http://user:pa55@proxy:3128")]);
        assert!(!format!("{p} {p:?}").contains("pa55"));
        assert!(p.apply(reqwest::Client::builder()).is_ok());
        for bad in ["socks5://proxy:1080", "http://"] {
            let p = policy(&[("HTTPS_PROXY", bad)]);
            let err = p.apply(reqwest::Client::builder()).unwrap_err().to_string();
            assert!(
                err.starts_with("HTTPS_PROXY is not a usable proxy URL"),
                "{err}"
            );
        }
    }
}
