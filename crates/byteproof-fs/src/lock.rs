//! [`FileLock`]: an exclusive advisory lock on a lock file, released on drop or process death.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{FsError, Operation};

/// The longest pause between two attempts while waiting for a lock.
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// An exclusive lock on a lock file, held until this value is dropped.
///
/// Advisory (`flock`): it only excludes other holders of a `FileLock` on the same path, in this
/// process or any other. Separate lock files are used, never the data file itself, because an
/// atomic rewrite replaces the data file's inode and with it any lock on it.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// Takes the lock on `path` (created when missing; its folder must exist), waiting up to
    /// `wait` for another holder to release it. A wait, not a block: a stuck holder gives
    /// [`FsError::Busy`] instead of hanging the caller.
    pub fn exclusive(path: &Path, wait: Duration) -> Result<Self, FsError> {
        let file = open(path)?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            if try_lock(&file, path)? {
                return Ok(Self {
                    file,
                    path: path.to_owned(),
                });
            }
            let waited = started.elapsed();
            if waited >= wait {
                return Err(FsError::Busy {
                    path: path.to_owned(),
                    waited,
                });
            }
            std::thread::sleep(pause.min(wait - waited));
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    /// Takes the lock on `path` if nobody holds it; `None` when somebody does (for a lock a
    /// process holds for its lifetime: that process is still running).
    pub fn try_exclusive(path: &Path) -> Result<Option<Self>, FsError> {
        let file = open(path)?;
        Ok(try_lock(&file, path)?.then(|| Self {
            file,
            path: path.to_owned(),
        }))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the lock file (already gone is fine), then releases the lock. For lock files
    /// that mark something that is now finished; a process that opened the file before the removal can still lock
    /// the removed file, so only use this where that is harmless.
    pub fn remove(self) -> Result<(), FsError> {
        match std::fs::remove_file(&self.path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(FsError::io(Operation::RemoveLock, &self.path)(err))
            }
            _ => Ok(()),
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Closing the file releases the lock as well; unlocking first makes it immediate even
        // if the descriptor was duplicated into a child process.
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

fn open(path: &Path) -> Result<File, FsError> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(FsError::io(Operation::OpenLock, path))
}

/// True when the lock was taken, false when another holder has it.
fn try_lock(file: &File, path: &Path) -> Result<bool, FsError> {
    match fs4::FileExt::try_lock(file) {
        Ok(()) => Ok(true),
        Err(fs4::TryLockError::WouldBlock) => Ok(false),
        Err(fs4::TryLockError::Error(source)) => Err(FsError::Io {
            operation: Operation::Lock,
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_excludes_others_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.lock");
        let held = FileLock::exclusive(&path, Duration::from_secs(1)).unwrap();
        assert!(FileLock::try_exclusive(&path).unwrap().is_none());
        let err = FileLock::exclusive(&path, Duration::from_millis(50)).unwrap_err();
        assert!(matches!(err, FsError::Busy { .. }), "{err:?}");
        assert!(err.to_string().contains("j.lock"), "{err}");
        drop(held);
        assert!(FileLock::try_exclusive(&path).unwrap().is_some());
    }

    #[test]
    fn a_waiter_gets_the_lock_when_the_holder_releases_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.lock");
        let held = FileLock::exclusive(&path, Duration::from_secs(1)).unwrap();
        let waiter_path = path.clone();
        let waiter = std::thread::spawn(move || {
            FileLock::exclusive(&waiter_path, Duration::from_secs(30)).map(|_| ())
        });
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        waiter.join().unwrap().unwrap();
    }

    #[test]
    fn remove_deletes_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let lock = FileLock::try_exclusive(&path).unwrap().unwrap();
        assert_eq!(lock.path(), path);
        lock.remove().unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope/j.lock");
        let err = FileLock::try_exclusive(&path).unwrap_err();
        assert!(err.to_string().contains("nope/j.lock"), "{err}");
    }
}
