//! Test harness: real Verdaccio registries on loopback, a Gitea-form path proxy, scripted hostile
//! HTTP servers.
//!
//! Used by the integration tests and by `cargo xtask demo`. Everything binds `127.0.0.1` on a
//! free port, owns its temp folders, and stops when dropped.
//!
//! - [`Verdaccio`]: a real, offline Verdaccio 6 child process; users, `npm publish`, raw
//!   publish, tampering with stored tarballs.
//! - [`Packer`]: a real package folder packed by the real `npm pack` or `pnpm pack`.
//! - [`GiteaProxy`]: a test double of Gitea's npm routes in front of a Verdaccio.
//! - [`GiteaDouble`]: a TEST DOUBLE of Gitea's npm registry and packages API with its own
//!   in-memory store (Gitea's packument shape, errors, delete routes), written from the notes.
//! - [`ScriptedServer`] and [`FakeRegistry`]: raw HTTP answers from a closure, for hostile
//!   servers, flaky servers and lying packuments.
//! - [`TimedServer`]: refuses once, then answers, recording arrival times (for `Retry-After`).
//! - [`EndlessServer`] (a body that never ends) and [`ForwardProxy`] (a counting forward proxy
//!   with `CONNECT`), on raw sockets.
//! - [`ensure_node_tools`]: installs the pinned `verdaccio` and `pnpm` (`npm ci` in `xtask/npm`).
//!
//! The harness is blocking (std sockets and threads, no async runtime), so it works from plain
//! and from `#[tokio::test]` tests. It prints nothing, except a server's log tail on stderr when
//! a [`Verdaccio`] is dropped during a panic. A missing tool is an error carrying
//! [`INSTALL_HINT`], never a skip.

mod gitea;
mod gitea_double;
pub mod http;
mod node;
mod packer;
mod raw_servers;
mod scripted;
mod timed;
mod verdaccio;

pub use gitea::{GiteaProxy, TarballForm};
pub use gitea_double::{GiteaDouble, GiteaDoubleOptions};
pub use node::{
    INSTALL_HINT, NodeTool, ensure_node_tools, node_tools_need_install, workspace_root,
};
pub use packer::{PackTool, Packed, Packer};
pub use raw_servers::{EndlessServer, ForwardProxy};
pub use scripted::{FakeRegistry, Reply, Request, RunningFakeRegistry, ScriptedServer};
pub use timed::{TimedServer, http_date_in};
pub use verdaccio::Verdaccio;

/// Re-exported because [`Reply::json`] and [`Verdaccio::packument`] speak [`serde_json::Value`],
/// and so that `cargo xtask` can read `cargo metadata` without a dependency of its own.
pub use serde_json;
