//! The journal: every publish is recorded before it is attempted and again after, so a run
//! that is killed leaves enough behind for `byteproof e2e cleanup` to remove what it published.
//!
//! One JSON file, `<state dir>/e2e-journal.json`, rewritten atomically (temporary file in the
//! same folder, then rename) after every change. It holds no secrets: registries are named,
//! and cleanup resolves their credentials again from the configuration.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The journal's file name inside the state folder.
pub const JOURNAL_FILE: &str = "e2e-journal.json";

/// The schema tag written into the file.
pub const JOURNAL_SCHEMA: &str = "byteproof.e2e-journal/v1";

/// Where a publish got to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryState {
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

/// A problem reading or writing the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
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
}

#[derive(Serialize, Deserialize)]
struct File {
    schema: String,
    entries: Vec<Entry>,
}

/// The journal file and its entries.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    entries: Vec<Entry>,
}

impl Journal {
    /// Opens the journal in `state_dir` (empty when the file does not exist yet).
    pub fn open(state_dir: &Path) -> Result<Self, JournalError> {
        let path = state_dir.join(JOURNAL_FILE);
        let entries = match std::fs::read(&path) {
            Ok(bytes) => {
                let file: File =
                    serde_json::from_slice(&bytes).map_err(|e| JournalError::Invalid {
                        path: path.clone(),
                        why: e.to_string(),
                    })?;
                if file.schema != JOURNAL_SCHEMA {
                    return Err(JournalError::Invalid {
                        path,
                        why: format!("schema {:?}, expected {JOURNAL_SCHEMA:?}", file.schema),
                    });
                }
                file.entries
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(JournalError::Io {
                    what: "cannot read",
                    path,
                    source,
                });
            }
        };
        Ok(Self { path, entries })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries not yet verified removed.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Records (or updates) the publish of `package@version` to `registry`, then saves.
    pub fn record(&mut self, mut entry: Entry) -> Result<(), JournalError> {
        entry.at = now();
        match self.entries.iter_mut().find(|e| {
            e.package == entry.package && e.version == entry.version && e.registry == entry.registry
        }) {
            Some(existing) => *existing = entry,
            None => self.entries.push(entry),
        }
        self.save()
    }

    /// Forgets `package@version` on `registry` (verified absent), then saves.
    pub fn forget(
        &mut self,
        package: &str,
        version: &str,
        registry: &str,
    ) -> Result<(), JournalError> {
        self.entries
            .retain(|e| !(e.package == package && e.version == version && e.registry == registry));
        self.save()
    }

    /// Writes the file atomically: a temporary file in the same folder, synced, then renamed.
    pub fn save(&self) -> Result<(), JournalError> {
        let dir = self
            .path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let io = |what: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| JournalError::Io { what, path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
        let file = File {
            schema: JOURNAL_SCHEMA.to_owned(),
            entries: self.entries.clone(),
        };
        let text = serde_json::to_vec_pretty(&file).unwrap_or_default();
        let mut tmp =
            tempfile::NamedTempFile::new_in(&dir).map_err(io("cannot create a file in", &dir))?;
        tmp.write_all(&text)
            .and_then(|()| tmp.write_all(b"\n"))
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(io("cannot write", tmp.path()))?;
        tmp.persist(&self.path).map_err(|e| JournalError::Io {
            what: "cannot replace",
            path: self.path.clone(),
            source: e.error,
        })?;
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
        let mut j = Journal::open(&state).unwrap();
        assert!(j.entries().is_empty());
        j.record(entry("1.0.0", EntryState::Publishing)).unwrap();
        j.record(entry("1.0.0", EntryState::Published)).unwrap();
        j.record(entry("1.0.1", EntryState::Publishing)).unwrap();
        let again = Journal::open(&state).unwrap();
        assert_eq!(again.entries().len(), 2);
        assert_eq!(again.entries()[0].state, EntryState::Published);
        j.forget("@s/p", "1.0.0", "a").unwrap();
        assert_eq!(Journal::open(&state).unwrap().entries().len(), 1);
        // Only the journal is in the folder: no temporary files left behind.
        let names: Vec<_> = std::fs::read_dir(&state).unwrap().collect();
        assert_eq!(names.len(), 1);
        std::fs::write(state.join(JOURNAL_FILE), "{}").unwrap();
        assert!(matches!(
            Journal::open(&state),
            Err(JournalError::Invalid { .. })
        ));
    }
}
