//! `byteproof e2e cleanup`: remove what runs that are over left behind (versions on
//! registries, scratch folders holding a token), and with `--all` every e2e version.
//!
//! A run still in progress holds its liveness lock ([`Journal::try_claim_run`]); its entries
//! and folder are left to it and listed as running. Every other run is claimed for the length
//! of the cleanup, so two cleanups never work on the same run at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use byteproof_fs::FileLock;
use byteproof_npm::{NpmClient, PackageName, PackageSpec};

use crate::journal::{Entry, EntryState, Journal};
use crate::runner::{Removal, SCRATCH_PREFIX, Target, remove_everywhere};

/// What `cleanup` did.
#[derive(Debug, Default)]
pub struct CleanupReport {
    /// One row per version and registry handled.
    pub removals: Vec<Removal>,
    /// Journal entries that name a registry not in the configuration (left in the journal).
    pub unknown_registries: Vec<Entry>,
    /// Journal entries of runs still in progress (left to those runs).
    pub running: Vec<Entry>,
    /// Versions chosen by runs that ended before publishing them: dropped from the journal,
    /// no registry asked.
    pub reservations_dropped: usize,
    /// Scratch folders of runs that are over.
    pub folders: Vec<FolderRemoval>,
    /// What could not be read or listed (the journal, a registry's versions with `--all`).
    pub errors: Vec<String>,
}

impl CleanupReport {
    /// True when everything handled is verified absent or removed and nothing was left out
    /// (runs in progress are not left out: they clean up after themselves).
    pub fn complete(&self) -> bool {
        self.removals.iter().all(|r| r.verified_absent)
            && self.folders.iter().all(|f| f.problem.is_none())
            && self.unknown_registries.is_empty()
            && self.errors.is_empty()
    }
}

/// One scratch folder handled by cleanup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderRemoval {
    /// The run that made it.
    pub run: String,
    /// The folder.
    pub path: PathBuf,
    /// Why it is still there, when it is.
    pub problem: Option<String>,
}

/// Removes what the journal records for runs that are over (each version verified absent and
/// forgotten, each scratch folder removed and forgotten), and with `all` every version of that
/// package on every target that no running run has in the journal. Idempotent.
pub async fn cleanup(
    client: &NpmClient,
    targets: &[Target],
    journal: &Journal,
    all: Option<&PackageName>,
) -> CleanupReport {
    let mut report = CleanupReport::default();
    let mut runs = Runs::default();
    let contents = match journal.read() {
        Ok(contents) => contents,
        Err(err) => {
            report.errors.push(err.to_string());
            return report;
        }
    };
    for entry in contents.entries {
        if runs.is_running(journal, &entry.run, &mut report.errors) {
            report.running.push(entry);
            continue;
        }
        if entry.state == EntryState::Reserved {
            match journal.update(|c| c.entries.retain(|e| e != &entry)) {
                Ok(()) => report.reservations_dropped += 1,
                Err(err) => report.errors.push(err.to_string()),
            }
            continue;
        }
        let Some(target) = targets.iter().find(|t| t.registry.name == entry.registry) else {
            report.unknown_registries.push(entry);
            continue;
        };
        let spec = match PackageSpec::parse(&format!("{}@{}", entry.package, entry.version)) {
            Ok(spec) => spec,
            Err(err) => {
                report
                    .errors
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
    for folder in contents.folders {
        if runs.is_running(journal, &folder.run, &mut report.errors) {
            continue;
        }
        let problem = remove_folder(&folder.path)
            .and_then(|()| {
                journal
                    .forget_folder(&folder.path)
                    .map_err(|e| e.to_string())
            })
            .err();
        report.folders.push(FolderRemoval {
            run: folder.run,
            path: folder.path,
            problem,
        });
    }
    if let Some(package) = all {
        sweep(client, targets, journal, package, &mut runs, &mut report).await;
    }
    runs.release(journal, &mut report.errors);
    report
}

/// `--all`: every version of `package` on every target, except those a running run has.
async fn sweep(
    client: &NpmClient,
    targets: &[Target],
    journal: &Journal,
    package: &PackageName,
    runs: &mut Runs,
    report: &mut CleanupReport,
) {
    for target in targets {
        let versions = match client.versions(&target.registry, package).await {
            Ok(v) => v,
            Err(err) => {
                report
                    .errors
                    .push(format!("{}: {err}", target.registry.name));
                continue;
            }
        };
        for version in versions {
            let Ok(version) = semver::Version::parse(&version) else {
                report.errors.push(format!(
                    "{}: {package}@{version} is not SemVer; not removed",
                    target.registry.name
                ));
                continue;
            };
            // Read again now: a run that started after this cleanup did journals its version
            // before publishing it.
            let owner = match journal.entries() {
                Ok(entries) => entries.into_iter().find(|e| {
                    e.package == package.to_string()
                        && e.version == version.to_string()
                        && e.registry == target.registry.name
                }),
                Err(err) => {
                    report.errors.push(err.to_string());
                    return;
                }
            };
            if let Some(entry) = owner {
                if runs.is_running(journal, &entry.run, &mut report.errors) {
                    report.running.push(entry);
                    continue;
                }
            }
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

/// Removes a scratch folder recorded in the journal. Only folders that look like one are
/// removed, so a journal edited by hand cannot point cleanup at anything else.
fn remove_folder(path: &Path) -> Result<(), String> {
    let looks_right = path.is_absolute()
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(SCRATCH_PREFIX));
    if !looks_right {
        return Err(format!(
            "not removed: {} is not a byteproof e2e scratch folder",
            path.display()
        ));
    }
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(format!("cannot remove {}: {err}", path.display())),
    }
}

/// Which runs are still in progress, and the liveness locks of those that are over, held
/// until the cleanup ends.
#[derive(Default)]
struct Runs {
    running: Vec<String>,
    claimed: BTreeMap<String, FileLock>,
}

impl Runs {
    /// True when `run` still holds its lock. A lock that cannot be tested counts as running
    /// (nothing of it is touched) and is reported.
    fn is_running(&mut self, journal: &Journal, run: &str, errors: &mut Vec<String>) -> bool {
        if self.claimed.contains_key(run) {
            return false;
        }
        if self.running.iter().any(|r| r == run) {
            return true;
        }
        match journal.try_claim_run(run) {
            Ok(Some(lock)) => {
                self.claimed.insert(run.to_owned(), lock);
                false
            }
            Ok(None) => {
                self.running.push(run.to_owned());
                true
            }
            Err(err) => {
                errors.push(format!("run {run}: {err}"));
                self.running.push(run.to_owned());
                true
            }
        }
    }

    /// Removes the lock files of runs that are over and have nothing left in the journal,
    /// including runs whose lock file outlived them with no entry at all.
    fn release(mut self, journal: &Journal, errors: &mut Vec<String>) {
        match journal.run_lock_files() {
            Ok(files) => {
                for run in files {
                    self.is_running(journal, &run, errors);
                }
            }
            Err(err) => errors.push(err.to_string()),
        }
        let left = match journal.read() {
            Ok(contents) => contents.runs(),
            Err(err) => {
                errors.push(err.to_string());
                return;
            }
        };
        for (run, lock) in self.claimed {
            if !left.contains(&run) {
                if let Err(err) = lock.remove() {
                    errors.push(err.to_string());
                }
            }
        }
    }
}
