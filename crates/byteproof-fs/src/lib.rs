//! File-system writes that never leave a half-written file, and locks that serialise
//! read-modify-write cycles across processes: one implementation for the whole workspace.
//!
//! - [`write_atomic`] replaces a file's contents in one step: a temporary file in the same
//!   folder, synced, renamed over the target, then the folder synced. Readers see the old bytes
//!   or the new ones, never a mix; a crash leaves the old file (and at worst a stray
//!   `.<name>.*.tmp` next to it). The file's mode is kept, or set when one is given, and the
//!   temporary file is never more open than the result (a `0600` token file never exists
//!   world-readable, not even for a moment).
//! - [`FileLock`] is an exclusive advisory lock (`flock`) on a lock file, held until dropped.
//!   The kernel releases it when the process dies, `kill -9` included, so a lock also tells
//!   whether the process that took it is still alive ([`FileLock::try_exclusive`]).
//!
//! The library never prints; errors say what was being done to which path.

mod atomic;
mod lock;

use std::path::PathBuf;
use std::time::Duration;

pub use atomic::write_atomic;
pub use lock::FileLock;

/// What was being done when a file-system call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Following a symbolic link to the file it names.
    ResolveLink,
    /// Reading the target's metadata (its mode).
    Inspect,
    /// Creating the temporary file next to the target.
    CreateTemporary,
    /// Writing the bytes.
    Write,
    /// Setting the permission bits.
    SetMode,
    /// Flushing the file to disk.
    Sync,
    /// Renaming the temporary file over the target.
    Replace,
    /// Flushing the folder entry (the rename) to disk.
    SyncFolder,
    /// Opening or creating a lock file.
    OpenLock,
    /// Taking or testing a lock.
    Lock,
    /// Removing a lock file.
    RemoveLock,
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Operation::ResolveLink => "resolve the symbolic link",
            Operation::Inspect => "read the metadata of",
            Operation::CreateTemporary => "create a temporary file next to",
            Operation::Write => "write",
            Operation::SetMode => "set the mode of",
            Operation::Sync => "sync",
            Operation::Replace => "replace",
            Operation::SyncFolder => "sync the folder of",
            Operation::OpenLock => "open the lock file",
            Operation::Lock => "lock",
            Operation::RemoveLock => "remove the lock file",
        })
    }
}

/// A file-system operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// A system call failed.
    #[error("cannot {operation} {}: {source}", path.display())]
    Io {
        /// What was being done.
        operation: Operation,
        /// The file it was done to (the target, not the temporary file).
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// Another process held the lock for longer than the caller was willing to wait.
    #[error(
        "{} is locked by another process; gave up after {} s",
        path.display(),
        waited.as_secs_f64()
    )]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        waited: Duration,
    },
}

impl FsError {
    fn io(operation: Operation, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| FsError::Io {
            operation,
            path,
            source,
        }
    }
}
