//! The forge client against the Gitea and GitHub test doubles of `byteproof-testkit` (every
//! Gitea release the version matrix distinguishes, 1.21–1.25) and against scripted hostile
//! servers: every operation's happy path, the version-gated refusals, each error status, rate
//! limits and retries, bounded reads, the origin rule for credentials, the proxy from the
//! environment, and no secret in any error.

mod errors;
mod gitea;
mod github;
mod network;
mod secrets;
mod support;
