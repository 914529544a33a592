//! The Gitea and GitHub REST API client of byteproof: the only crate that speaks the forges'
//! REST APIs. Everything goes through `byteproof-http` (proxy from the environment, the
//! credential sent only to the API's origin, the one retry loop, bounded reads).
//!
//! ```no_run
//! # async fn demo() -> Result<(), byteproof_forge::ForgeError> {
//! use byteproof_forge::{ForgeClient, ForgeConfig, Scope};
//! use byteproof_redact::Secret;
//!
//! let config = ForgeConfig::gitea_instance("https://git.example/")?
//!     .token(Secret::trimmed("token from a file\n"));
//! let gitea = ForgeClient::new(config)?;
//! let scope: Scope = "repo/bytelyst/app".parse()?;
//! let token = gitea.registration_token(&scope).await?; // GET or POST, by the server's version
//! let runners = gitea.runners(&scope).await?; // Gitea ≥ 1.24, else ForgeError::Unsupported
//! # let _ = (token, runners);
//! # Ok(())
//! # }
//! ```
//!
//! Operations, each documented with the reference sections it follows
//! (`shared/reference/gitea-api.md`, `forge-routing-api.md`):
//! - server: [`ForgeClient::server_version`] (learned once, cached), [`ForgeClient::probe`]
//!   (version, the server's clock, round trip); [`GiteaFeature`] says what a release has;
//! - runners at a [`Scope`] (`instance`, `org/NAME`, `repo/OWNER/REPO`):
//!   [`ForgeClient::runners`], [`ForgeClient::runner`], [`ForgeClient::delete_runner`],
//!   [`ForgeClient::registration_token`], [`ForgeClient::remove_token`] (GitHub),
//!   [`ForgeClient::jit_config`] (GitHub);
//! - Actions variables of a [`Repo`]: [`ForgeClient::variables`], [`ForgeClient::variable`],
//!   [`ForgeClient::create_variable`], [`ForgeClient::update_variable`], and
//!   [`ForgeClient::set_variable`] (create-or-update, idempotent);
//! - [`ForgeClient::collaborator_permission`] → [`Permission`];
//! - GitHub Apps: [`GithubApp`] signs JWTs; [`ForgeClient::installation_id`] and
//!   [`ForgeClient::installation_token`].
//!
//! Every token, JIT configuration and JWT is a `byteproof_redact::Secret`; HTTP settings are a
//! `byteproof_http::ClientConfig` ([`ForgeConfig::http`]). Errors are [`ForgeError`]s that name
//! the operation, its target and the request (without secrets), carry the forge's message, and
//! say through [`ForgeError::class`] whether the command was wrong ([`ErrorClass::Usage`]) or
//! the forge could not be asked ([`ErrorClass::CouldNotCheck`]). This crate never prints; with a
//! `tracing` subscriber it logs the version it learned and what `set_variable` decided.

mod app;
mod client;
mod collaborators;
mod error;
mod runners;
mod scope;
mod server;
mod variables;
mod version;

pub use app::{GithubApp, Installation, InstallationToken};
pub use client::{Forge, ForgeClient, ForgeConfig, GITHUB_API_URL};
pub use collaborators::Permission;
pub use error::{Endpoint, ErrorClass, ForgeError, Operation};
pub use runners::{JitConfig, JitRequest, Runner, RunnerLabel, RunnerStatus, RunnerToken};
pub use scope::{Repo, Scope, ScopeError};
pub use server::Probe;
pub use variables::{Variable, VariableChange};
pub use version::{GiteaFeature, ServerVersion, VersionError};
