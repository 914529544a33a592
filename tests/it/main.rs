//! Integration tests: the real `byteproof` binary against real registries on 127.0.0.1.
//!
//! Servers come from `byteproof-testkit` (real Verdaccio, a Gitea-route double, scripted
//! hostile servers). A missing server binary fails the test with the install hint; nothing
//! here is skipped.

mod cli;
mod compare;
mod diff;
mod e2e;
mod hash;
mod network;
mod pin;
mod pipes;
mod route;
mod stall;
mod support;
