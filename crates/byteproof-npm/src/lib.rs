//! The npm registry client: everything byteproof says over HTTP to an npm registry.
//!
//! - [`PackageSpec`] parses `@scope/name@version` and encodes names the way npm does.
//! - [`Registry`] is a named base URL (at a server root, or under a path such as Gitea's
//!   `/api/packages/{owner}/npm/`) with an optional [`Secret`].
//! - [`NpmClient`] reads a version's `dist` from the packument and streams its tarball once
//!   through [`byteproof_hash::MultiHasher`], keeping the bytes as [`Keep`] asks (nothing,
//!   memory, or an anonymous spool file). HTTP (proxies, retries, timeouts, caps on packuments,
//!   tarballs and error bodies) is `byteproof-http`'s.
//! - [`NpmClient::publish`], [`NpmClient::unpublish`] and [`NpmClient::versions`] are the write
//!   side (npm's publish body; npm's and Gitea's removal sequences).
//!
//! Invariants: the `Authorization` header goes only to the registry's own origin (a
//! `dist.tarball` elsewhere is fetched anonymously), and a token never reaches `Display`,
//! `Debug` or an error message.

mod client;
mod error;
mod keep;
mod publish;
mod secret;
mod spec;

pub use byteproof_redact::SafeUrl;
pub use client::{ClientOptions, Dist, FetchedTarball, NpmClient, Registry};
pub use error::{Capped, FetchError, FetchErrorKind};
pub use keep::{Keep, Kept};
pub use publish::{Published, UnpublishStyle, Unpublished, publish_document};
pub use secret::{Auth, Secret};
pub use spec::{PackageName, PackageSpec, SpecError};
