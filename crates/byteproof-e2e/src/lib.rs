//! `byteproof e2e`: publish a throwaway package to every registry, verify it, install it as a
//! consumer would, compare the registries, and always delete it again.
//!
//! - [`graph`]: the step graph and its status rules (worst status wins; a dependency that
//!   passed in any earlier phase counts; cleanup always runs, after failures, `--fast-fail`,
//!   timeouts and Ctrl-C).
//! - [`journal`]: every publish recorded before and after it happens, and every scratch folder
//!   (it holds the consumer's token) when it is made; changed under a lock and written
//!   atomically, so concurrent runs lose nothing and [`cleanup`] can remove what a killed run
//!   left behind. Each run holds a liveness lock while it runs; cleanup leaves such runs alone.
//! - [`E2e`]: the steps (generate and reserve the version in the journal, pack with the real
//!   npm or pnpm, publish with npm's PUT body, verify claims, clean `npm install` +
//!   `require()`, compare with `byteproof-compare`, cleanup per registry kind and of the
//!   scratch folder).
//!
//! The library never prints and never picks an exit code; `byteproof e2e` does.

mod cleanup;
pub mod graph;
pub mod journal;
mod runner;
mod tools;

use byteproof_npm::PackageName;

pub use cleanup::{CleanupReport, FolderRemoval, cleanup};
pub use graph::{
    Graph, GraphError, RunReport, Selection, Status, StepDef, StepOutcome, StepReport, StepRunner,
    run_graph,
};
pub use journal::{
    Contents, Entry, EntryState, JOURNAL_FILE, Journal, JournalError, ScratchFolder,
};
pub use runner::{
    E2e, E2eError, E2eOptions, Removal, RemovalAction, SCRATCH_PREFIX, STEPS, Target, e2e_graph,
    e2e_number, e2e_version, next_version, outcome_of, remove_everywhere,
};
pub use tools::{PackerKind, Tools};

/// The default throwaway package name (without scope).
pub const DEFAULT_NAME: &str = "_runner-e2e-test";

/// Resolves on the first Ctrl-C (SIGINT); never, when the handler cannot be installed.
pub async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Why Gitea would refuse `name` (its pattern is `^(@[a-z0-9-][a-z0-9-._]*/)?[a-z0-9-][a-z0-9-._]*$`:
/// lowercase, and no part may start with `_` or `.`), or `None` when it accepts it.
pub fn gitea_name_problem(name: &PackageName) -> Option<String> {
    fn part_ok(p: &str) -> bool {
        let mut bytes = p.bytes();
        bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && bytes.all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'_')
            })
    }
    let ok = name.scope().is_none_or(part_ok) && part_ok(name.bare());
    (!ok).then(|| {
        format!(
            "Gitea refuses the package name {name} (names must be lowercase and each part must start with a letter, digit or '-'); choose another with --name, e.g. --name {}",
            name.bare().trim_start_matches(['_', '.']).to_ascii_lowercase()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitea_names() {
        let bad = PackageName::parse("@acme/_runner-e2e-test").unwrap();
        let why = gitea_name_problem(&bad).unwrap();
        assert!(why.contains("--name runner-e2e-test"), "{why}");
        let good = PackageName::parse("@acme/runner-e2e-test").unwrap();
        assert_eq!(gitea_name_problem(&good), None);
        assert!(gitea_name_problem(&PackageName::parse("Upper").unwrap()).is_some());
    }
}
