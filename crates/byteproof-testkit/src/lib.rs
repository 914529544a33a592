//! Test harness: one small HTTP stack, real Verdaccio registries on loopback, real packers, and
//! clearly named test doubles of the Gitea and GitHub APIs.
//!
//! Used by the integration tests and by `cargo xtask demo`. Everything binds `127.0.0.1` on a
//! free port, owns its temp folders, and stops when dropped.
//!
//! - [`http`]: the one HTTP stack: [`http::Server`] (tiny_http; a handler closure, request
//!   recording, stop on drop), the blocking client [`http::send`] / [`http::get`] (ureq) and
//!   [`http::forward`] for proxies. Everything below that serves HTTP runs on it, except:
//! - [`ScriptedServer`]: the one raw-socket server, for hostile answers (a lying
//!   `Content-Length`, a truncated body, garbage) that need the socket closed after them.
//! - [`Verdaccio`]: a real, offline Verdaccio 6 child process; users, `npm publish`, raw
//!   publish, tampering with stored tarballs.
//! - [`Packer`]: a real package folder packed by the real `npm pack` or `pnpm pack`.
//! - [`FakeRegistry`]: one package whose packument claims what the test says.
//! - [`GiteaProxy`]: Gitea's npm URL shapes in front of a Verdaccio.
//! - [`GiteaDouble`] and [`GithubDouble`]: TEST DOUBLES of the forges' REST APIs written from
//!   the project's reference notes (npm registry, packages API, runners, registration tokens,
//!   variables, JIT, App tokens, collaborator permission), with per-endpoint [`Fault`]
//!   injection and a [`Call`] journal that never holds a credential.
//! - [`TimedServer`]: refuses once, then answers, recording arrival times (for `Retry-After`).
//! - [`EndlessServer`] (a body that never ends) and [`ForwardProxy`] (a counting forward proxy
//!   with `CONNECT`), on raw sockets; [`PROXY_VARIABLES`] names what a proxy test clears.
//! - [`ensure_node_tools`]: installs the pinned `verdaccio` and `pnpm` (`npm ci` in `xtask/npm`).
//!
//! It prints nothing, except a server's log tail on stderr when a [`Verdaccio`] is dropped
//! during a panic. A missing tool is an error carrying [`INSTALL_HINT`], never a skip.

mod fake_registry;
mod forge_double;
mod gitea;
mod gitea_double;
mod github_double;
pub mod http;
mod node;
mod npm_path;
mod packer;
mod raw_servers;
mod scripted;
mod timed;
mod verdaccio;

pub use fake_registry::{FakeRegistry, RunningFakeRegistry};
pub use forge_double::{ANY_ENDPOINT, Call, CallAuth, Fault, Runner, RunnerScope, RunnerStatus};
pub use gitea::{GiteaProxy, TarballForm};
pub use gitea_double::{GiteaDouble, GiteaDoubleOptions};
pub use github_double::{
    GithubApp, GithubDouble, IssuedToken, Permissions, RunnerToken, permissions,
};
pub use http::{Reply, Request};
pub use node::{
    INSTALL_HINT, NodeTool, ensure_node_tools, node_tools_need_install, workspace_root,
};
pub use packer::{PackTool, Packed, Packer};
pub use raw_servers::{EndlessServer, ForwardProxy, PROXY_VARIABLES};
pub use scripted::ScriptedServer;
pub use timed::{TimedServer, http_date_in};
pub use verdaccio::Verdaccio;

/// Re-exported because [`Reply::json`] and [`Verdaccio::packument`] speak [`serde_json::Value`],
/// and so that `cargo xtask` can read `cargo metadata` without a dependency of its own.
pub use serde_json;
