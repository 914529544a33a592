//! OCI image references and tag → digest resolution for `byteproof pin`.
//!
//! - [`Reference`] parses `[host[:port]/]path[:tag][@digest]` with Docker's normalisation
//!   (`node` → `docker.io/library/node`, API host `registry-1.docker.io`).
//! - [`Resolver`] asks a registry which digest a tag points at: `HEAD` with the four manifest
//!   media types, `Docker-Content-Digest`, and a `GET`-and-hash fallback over the exact body bytes.
//!   It follows Bearer token challenges ([`parse_challenges`]) and sends Basic credentials from
//!   Docker's `config.json` ([`CredentialStore`]) only to the registry and its token realm.
//!   Loopback registries speak plain HTTP by default, as Docker and crane treat them.
//!
//! Modules: `resolve` (the algorithm and the auth dance), `manifest` (media types, platforms),
//! `token` (the token service and its cache), `transport` (HTTP through `byteproof-http`:
//! proxies, retries with `Retry-After`, caps of 4 MiB on manifests and 1 MiB on token responses
//! and error bodies), `error`.
//!
//! Secrets live in [`Secret`], which never shows in `Debug` or `Display`. This crate never prints.

mod auth;
mod challenge;
mod error;
mod manifest;
mod reference;
mod resolve;
mod token;
mod transport;

pub use auth::{AuthConfigError, CredentialStore, Credentials, Secret, docker_config_path};
pub use challenge::{Challenge, ChallengeError, parse_challenges};
pub use error::ResolveError;
pub use manifest::{
    IndexChild, MANIFEST_MEDIA_TYPES, MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_INDEX,
    MEDIA_OCI_MANIFEST, Platform,
};
pub use reference::{
    DOCKER_HUB, DOCKER_HUB_API_HOST, Digest, DigestAlgorithm, DigestError, Reference,
    ReferenceError, canonical_registry,
};
pub use resolve::{DigestSource, DigestStatus, Resolved, Resolver, ResolverConfig};
