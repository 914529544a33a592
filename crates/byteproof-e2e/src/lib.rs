//! `byteproof e2e`: publish a throwaway package to every registry, verify it, install it as a
//! consumer would, compare the registries, and always delete it again.
//!
//! - [`graph`]: the step graph and its status rules (worst status wins; a dependency that
//!   passed in any earlier phase counts; cleanup always runs, after failures, `--fast-fail`,
//!   timeouts and Ctrl-C).
//! - [`journal`]: every publish recorded before and after it happens, written atomically, so
//!   [`cleanup`] can remove what a killed run left behind.
//! - [`E2e`]: the steps (generate, pack with the real npm or pnpm, publish with npm's PUT body,
//!   verify claims, clean `npm install` + `require()`, compare with `byteproof-compare`,
//!   cleanup per registry kind).
//!
//! The library never prints and never picks an exit code; `byteproof e2e` does.

pub mod graph;
pub mod journal;
mod runner;
mod tools;

use byteproof_npm::{NpmClient, PackageName, PackageSpec};

pub use graph::{
    Graph, GraphError, RunReport, Selection, Status, StepDef, StepOutcome, StepReport, StepRunner,
    run_graph,
};
pub use journal::{Entry, EntryState, JOURNAL_FILE, Journal, JournalError};
pub use runner::{
    E2e, E2eError, E2eOptions, Removal, RemovalAction, STEPS, Target, e2e_graph, e2e_number,
    e2e_version, next_version, outcome_of, remove_everywhere,
};
pub use tools::{PackerKind, Tools};

/// The default throwaway package name (without scope).
pub const DEFAULT_NAME: &str = "_runner-e2e-test";

/// What `cleanup` did.
#[derive(Clone, Debug, Default)]
pub struct CleanupReport {
    /// One row per version and registry handled.
    pub removals: Vec<Removal>,
    /// Journal entries that name a registry not in the configuration (left in the journal).
    pub unknown_registries: Vec<Entry>,
    /// Registries whose versions could not be listed (`--all`).
    pub list_errors: Vec<String>,
}

impl CleanupReport {
    /// True when everything handled is verified absent and nothing was left out.
    pub fn complete(&self) -> bool {
        self.removals.iter().all(|r| r.verified_absent)
            && self.unknown_registries.is_empty()
            && self.list_errors.is_empty()
    }
}

/// Removes every version the journal records, and with `all` every version of that package
/// on every target; each is verified absent and forgotten. Idempotent.
pub async fn cleanup(
    client: &NpmClient,
    targets: &[Target],
    journal: &mut Journal,
    all: Option<&PackageName>,
) -> CleanupReport {
    let mut report = CleanupReport::default();
    let entries: Vec<Entry> = journal.entries().to_vec();
    for entry in entries {
        let Some(target) = targets.iter().find(|t| t.registry.name == entry.registry) else {
            report.unknown_registries.push(entry);
            continue;
        };
        let spec = match PackageSpec::parse(&format!("{}@{}", entry.package, entry.version)) {
            Ok(spec) => spec,
            Err(err) => {
                report
                    .list_errors
                    .push(format!("journal entry {}: {err}", entry.package));
                continue;
            }
        };
        let done = report
            .removals
            .iter()
            .any(|r| r.registry == entry.registry && r.spec == spec.to_string());
        if !done {
            let rows =
                remove_everywhere(client, std::slice::from_ref(target), &spec, journal).await;
            report.removals.extend(rows);
        }
    }
    if let Some(package) = all {
        for target in targets {
            let versions = match client.versions(&target.registry, package).await {
                Ok(v) => v,
                Err(err) => {
                    report
                        .list_errors
                        .push(format!("{}: {err}", target.registry.name));
                    continue;
                }
            };
            for version in versions {
                let Ok(version) = semver::Version::parse(&version) else {
                    report.list_errors.push(format!(
                        "{}: {package}@{version} is not SemVer; not removed",
                        target.registry.name
                    ));
                    continue;
                };
                let spec = PackageSpec {
                    name: package.clone(),
                    version,
                };
                let rows =
                    remove_everywhere(client, std::slice::from_ref(target), &spec, journal).await;
                report.removals.extend(rows);
            }
        }
    }
    report
}

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
