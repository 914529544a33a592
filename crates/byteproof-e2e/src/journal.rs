//! The journal: every publish is recorded before it is attempted and again after, and every
//! run's scratch folder (which holds the consumer's `.npmrc` with a token) is recorded when it
//! is made, so that a run which is killed leaves enough behind for `byteproof e2e cleanup` to
//! remove what it published and the token it wrote.
//!
//! One JSON file, `<state dir>/e2e-journal.json`, shared by every run that uses the state
//! folder. Each change is a read-modify-write under an exclusive lock on
//! `<state dir>/e2e-journal.lock` ([`Journal::update`]), and the file is replaced atomically
//! ([`byteproof_fs::write_atomic`]), so concurrent runs lose no entry and a reader never sees
//! half a file. It holds no secrets: registries are named, and cleanup resolves their
//! credentials again from the configuration.
//!
//! Each run also holds a lock on `<state dir>/e2e-runs/<run>.lock` for as long as it lives
//! ([`Journal::claim_run`]); the kernel drops it when the process dies, `kill -9` included. A
//! lock that can be taken therefore marks a run that is over, whose leftovers cleanup may
//! remove; a run that still holds its lock is left alone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use byteproof_fs::{FileLock, FsError};
use serde::{Deserialize, Serialize};

/// The journal's file name inside the state folder.
pub const JOURNAL_FILE: &str = "e2e-journal.json";

/// The lock file serialising changes to the journal.
pub const LOCK_FILE: &str = "e2e-journal.lock";

/// The folder of per-run liveness locks inside the state folder.
pub const RUNS_DIR: &str = "e2e-runs";

/// The schema tag written into the file.
pub const JOURNAL_SCHEMA: &str = "byteproof.e2e-journal/v1";

/// How long a change waits for another process's change to finish (each takes milliseconds).
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Where a publish got to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryState {
    /// The version is chosen and claimed against concurrent runs; no publish was attempted,
    /// so the registry cannot have it.
    Reserved,
    /// About to publish: the registry may or may not have the version.
    Publishing,
    /// The registry accepted the publish.
    Published,
    /// The registry refused (it may still have stored something).
    PublishFailed,
}

/// One publish of one version to one registry, not yet verified removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The run that published it.
    pub run: String,
    /// `@scope/name`.
    pub package: String,
    /// The version.
    pub version: String,
    /// The registry's configured name.
    pub registry: String,
    /// The registry's URL (no credentials), to notice a renamed registry.
    pub url: String,
    /// Where the publish got to.
    pub state: EntryState,
    /// Unix seconds of the last change.
    pub at: u64,
}

impl Entry {
    /// True when `self` and `other` are the same version on the same registry.
    fn same_publish(&self, other: &Entry) -> bool {
        self.package == other.package
            && self.version == other.version
            && self.registry == other.registry
    }
}

/// A run's scratch folder, recorded before anything secret is written into it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScratchFolder {
    /// The run that made it.
    pub run: String,
    /// Its absolute path.
    pub path: PathBuf,
    /// Unix seconds when it was made.
    pub at: u64,
}

/// What the journal holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contents {
    /// Publishes not yet verified removed.
    pub entries: Vec<Entry>,
    /// Scratch folders not yet removed.
    pub folders: Vec<ScratchFolder>,
}

impl Contents {
    /// Records (or updates) the publish `entry` describes, stamped with the current time.
    pub fn record(&mut self, mut entry: Entry) {
        entry.at = now();
        match self.entries.iter_mut().find(|e| e.same_publish(&entry)) {
            Some(existing) => *existing = entry,
            None => self.entries.push(entry),
        }
    }

    /// Forgets `package@version` on `registry`.
    pub fn forget(&mut self, package: &str, version: &str, registry: &str) {
        self.entries
            .retain(|e| !(e.package == package && e.version == version && e.registry == registry));
    }

    /// The run ids that have an entry or a folder, each once, in order of appearance.
    pub fn runs(&self) -> Vec<String> {
        let mut runs: Vec<String> = Vec::new();
        let all = self
            .entries
            .iter()
            .map(|e| &e.run)
            .chain(self.folders.iter().map(|f| &f.run));
        for run in all {
            if !runs.contains(run) {
                runs.push(run.clone());
            }
        }
        runs
    }
}

/// A problem reading or writing the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a journal.
    #[error("{} is not a byteproof e2e journal: {why}", path.display())]
    Invalid {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The state folder (or its runs folder) could not be created.
    #[error("cannot create the state folder {}: {source}", path.display())]
    StateFolder {
        /// The folder.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The journal could not be serialised (nothing was written).
    #[error("cannot serialise the journal {}: {source}", path.display())]
    Serialize {
        /// The path.
        path: PathBuf,
        /// The serialiser's error.
        source: serde_json::Error,
    },
    /// Locking, creating the state folder or replacing the file failed.
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// The on-disk form.
#[derive(Serialize, Deserialize)]
struct File {
    schema: String,
    entries: Vec<Entry>,
    /// Absent in journals written before scratch folders were recorded.
    #[serde(default)]
    folders: Vec<ScratchFolder>,
}

/// The journal of one state folder. Every read goes to the file; nothing is cached, so what a
/// concurrent run wrote is always seen.
#[derive(Debug)]
pub struct Journal {
    state_dir: PathBuf,
    path: PathBuf,
}

impl Journal {
    /// Opens the journal in `state_dir` and checks that an existing file is a journal.
    pub fn open(state_dir: &Path) -> Result<Self, JournalError> {
        let journal = Self {
            state_dir: state_dir.to_owned(),
            path: state_dir.join(JOURNAL_FILE),
        };
        journal.read()?;
        Ok(journal)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the file holds now (empty when it does not exist yet). No lock is needed: the
    /// file is only ever replaced whole.
    pub fn read(&self) -> Result<Contents, JournalError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Contents::default()),
            Err(source) => {
                return Err(JournalError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let file: File = serde_json::from_slice(&bytes).map_err(|e| JournalError::Invalid {
            path: self.path.clone(),
            why: e.to_string(),
        })?;
        if file.schema != JOURNAL_SCHEMA {
            return Err(JournalError::Invalid {
                path: self.path.clone(),
                why: format!("schema {:?}, expected {JOURNAL_SCHEMA:?}", file.schema),
            });
        }
        Ok(Contents {
            entries: file.entries,
            folders: file.folders,
        })
    }

    /// The publishes not yet verified removed.
    pub fn entries(&self) -> Result<Vec<Entry>, JournalError> {
        Ok(self.read()?.entries)
    }

    /// Applies `change` to the current contents and saves the result, all under the journal's
    /// lock, so a concurrent change is never lost. Nothing is written when `change` leaves the
    /// contents as they were.
    pub fn update<T>(&self, change: impl FnOnce(&mut Contents) -> T) -> Result<T, JournalError> {
        std::fs::create_dir_all(&self.state_dir).map_err(|source| JournalError::StateFolder {
            path: self.state_dir.clone(),
            source,
        })?;
        let _lock = FileLock::exclusive(&self.state_dir.join(LOCK_FILE), LOCK_WAIT)?;
        let before = self.read()?;
        let mut contents = before.clone();
        let out = change(&mut contents);
        if contents != before {
            self.save(contents)?;
        }
        Ok(out)
    }

    /// Records (or updates) one publish; see [`Contents::record`].
    pub fn record(&self, entry: Entry) -> Result<(), JournalError> {
        self.update(|c| c.record(entry))
    }

    /// Forgets `package@version` on `registry` (verified absent).
    pub fn forget(&self, package: &str, version: &str, registry: &str) -> Result<(), JournalError> {
        self.update(|c| c.forget(package, version, registry))
    }

    /// Records run `run`'s scratch folder, before anything secret is written into it.
    pub fn record_folder(&self, run: &str, path: &Path) -> Result<(), JournalError> {
        let folder = ScratchFolder {
            run: run.to_owned(),
            path: path.to_owned(),
            at: now(),
        };
        self.update(|c| c.folders.push(folder))
    }

    /// Forgets a scratch folder (removed).
    pub fn forget_folder(&self, path: &Path) -> Result<(), JournalError> {
        self.update(|c| c.folders.retain(|f| f.path != path))
    }

    /// Takes run `run`'s liveness lock, to hold for the run's whole life.
    pub fn claim_run(&self, run: &str) -> Result<FileLock, JournalError> {
        self.try_claim_run(run)?.ok_or_else(|| {
            JournalError::Fs(FsError::Busy {
                path: self.run_lock_path(run),
                waited: Duration::ZERO,
            })
        })
    }

    /// Takes run `run`'s liveness lock if that run is over; `None` while it still runs.
    pub fn try_claim_run(&self, run: &str) -> Result<Option<FileLock>, JournalError> {
        let dir = self.state_dir.join(RUNS_DIR);
        std::fs::create_dir_all(&dir)
            .map_err(|source| JournalError::StateFolder { path: dir, source })?;
        Ok(FileLock::try_exclusive(&self.run_lock_path(run))?)
    }

    /// Run ids whose liveness lock file exists (a run in progress, or one killed before its
    /// lock file could be removed).
    pub fn run_lock_files(&self) -> Result<Vec<String>, JournalError> {
        let dir = self.state_dir.join(RUNS_DIR);
        let read = match std::fs::read_dir(&dir) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(JournalError::Read { path: dir, source }),
        };
        let mut runs = Vec::new();
        for item in read {
            let item = item.map_err(|source| JournalError::Read {
                path: dir.clone(),
                source,
            })?;
            let name = item.file_name();
            if let Some(run) = name.to_str().and_then(|n| n.strip_suffix(".lock")) {
                runs.push(run.to_owned());
            }
        }
        Ok(runs)
    }

    fn run_lock_path(&self, run: &str) -> PathBuf {
        self.state_dir.join(RUNS_DIR).join(format!("{run}.lock"))
    }

    fn save(&self, contents: Contents) -> Result<(), JournalError> {
        let file = File {
            schema: JOURNAL_SCHEMA.to_owned(),
            entries: contents.entries,
            folders: contents.folders,
        };
        let mut text =
            serde_json::to_vec_pretty(&file).map_err(|source| JournalError::Serialize {
                path: self.path.clone(),
                source,
            })?;
        text.push(b'\n');
        byteproof_fs::write_atomic(&self.path, &text, None)?;
        Ok(())
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: &str, state: EntryState) -> Entry {
        Entry {
            run: "r".into(),
            package: "@s/p".into(),
            version: version.into(),
            registry: "a".into(),
            url: "http://127.0.0.1:1/".into(),
            state,
            at: 0,
        }
    }

    #[test]
    fn records_survive_reopening_and_updates_replace() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let j = Journal::open(&state).unwrap();
        assert!(j.entries().unwrap().is_empty());
        assert!(!state.exists(), "opening creates nothing");
        j.record(entry("1.0.0", EntryState::Publishing)).unwrap();
        j.record(entry("1.0.0", EntryState::Published)).unwrap();
        j.record(entry("1.0.1", EntryState::Publishing)).unwrap();
        let again = Journal::open(&state).unwrap();
        let entries = again.entries().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].state, EntryState::Published);
        j.forget("@s/p", "1.0.0", "a").unwrap();
        assert_eq!(again.entries().unwrap().len(), 1, "a second handle sees it");
        // The journal and its lock file; no temporary files left behind.
        let mut names: Vec<_> = std::fs::read_dir(&state)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [JOURNAL_FILE, LOCK_FILE]);
        std::fs::write(state.join(JOURNAL_FILE), "{}").unwrap();
        assert!(matches!(
            Journal::open(&state),
            Err(JournalError::Invalid { .. })
        ));
    }

    #[test]
    fn concurrent_writers_lose_no_entry() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().to_owned();
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let state = state.clone();
                std::thread::spawn(move || {
                    // Separate handles, as separate processes would have.
                    let j = Journal::open(&state).unwrap();
                    for i in 0..25 {
                        j.record(entry(&format!("{w}.0.{i}"), EntryState::Publishing))
                            .unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(Journal::open(&state).unwrap().entries().unwrap().len(), 100);
    }

    #[test]
    fn folders_are_recorded_and_forgotten_and_old_journals_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let scratch = dir.path().join("byteproof-e2e-x");
        j.record_folder("run1", &scratch).unwrap();
        j.record(entry("1.0.0", EntryState::Reserved)).unwrap();
        let contents = j.read().unwrap();
        assert_eq!(contents.folders[0].path, scratch);
        assert_eq!(
            contents.runs(),
            ["r", "run1"],
            "entries first, then folders"
        );
        j.forget_folder(&scratch).unwrap();
        assert!(j.read().unwrap().folders.is_empty());

        // A journal written before folders were recorded.
        std::fs::write(
            dir.path().join(JOURNAL_FILE),
            format!("{{\"schema\":\"{JOURNAL_SCHEMA}\",\"entries\":[]}}"),
        )
        .unwrap();
        assert_eq!(j.read().unwrap(), Contents::default());
    }

    #[test]
    fn a_run_lock_tells_a_live_run_from_a_finished_one() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let held = j.claim_run("live").unwrap();
        assert!(j.try_claim_run("live").unwrap().is_none());
        assert!(j.claim_run("live").is_err());
        assert_eq!(j.run_lock_files().unwrap(), ["live"]);
        drop(held);
        let over = j.try_claim_run("live").unwrap().expect("the run is over");
        over.remove().unwrap();
        assert!(j.run_lock_files().unwrap().is_empty());
    }
}
