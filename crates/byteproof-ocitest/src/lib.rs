//! Test harness for `byteproof pin`: a real Debian `docker-registry` (distribution 2.8) on
//! 127.0.0.1, started per test on a free port with its own storage, stopped on drop.
//!
//! - [`Registry`] runs `docker-registry serve` in one of three [`AuthMode`]s: open, htpasswd
//!   (Basic) and token auth with an in-process [`TokenServer`] that mints RS256 JWTs the registry
//!   verifies (Docker Hub's challenge shape).
//! - [`TestImage`] builds deterministic multi-platform images in memory; [`Registry::push_index`]
//!   and [`Registry::push_single`] push them over plain HTTP (blob upload, manifests by digest,
//!   then the tag) with the testkit's blocking client.
//! - [`StripProxy`] forwards to a registry and removes `Docker-Content-Digest`, imitating
//!   registries that do not send it.
//!
//! The token service and the proxy run on the testkit's one HTTP stack
//! (`byteproof_testkit::http`); this crate carries no HTTP code of its own.
//!
//! Missing tools are a loud failure with the install command, never a skip: tests must run
//! everywhere `cargo xtask test` runs. Needs the Debian packages `docker-registry`,
//! `apache2-utils` (htpasswd) and `openssl`.
#![allow(clippy::print_stderr)] // the harness reports registry restarts on stderr
#![allow(clippy::missing_panics_doc)] // a harness fails by panicking, with context

mod image;
mod proxy;
mod registry;
mod token;

use std::path::PathBuf;

pub use image::{Format, PlatformImage, TestImage, sha256_digest};
pub use proxy::{ProxyMode, StripProxy, WRONG_DIGEST};
pub use registry::{AuthMode, Registry};
pub use token::{SigningKey, TOKEN_ISSUER, TOKEN_SERVICE, TokenRequest, TokenServer};

/// The Debian packages the harness needs.
pub const APT_PACKAGES: &[&str] = &["docker-registry", "apache2-utils", "openssl"];

/// Finds `tool` on `PATH`, or panics with the command that installs it.
pub fn require_tool(tool: &str) -> PathBuf {
    let package = match tool {
        "docker-registry" => "docker-registry",
        "htpasswd" => "apache2-utils",
        other => other,
    };
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "`{tool}` not found on PATH: the OCI tests need a real {tool}. Install it with \
             `sudo apt-get install {package}` (Debian/Ubuntu), or run `cargo xtask test`, which installs \
             {}. These tests never skip.",
            APT_PACKAGES.join(" ")
        )
    })
}
