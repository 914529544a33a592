//! [`write_atomic`]: replace a file's contents in one rename.

use std::fs::Permissions;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::{FsError, Operation};

/// What a new file gets when no mode is given: `0666`, narrowed by the umask like
/// `std::fs::write`.
const NEW_FILE_MODE: u32 = 0o666;

/// Replaces the contents of `path` with `bytes`, atomically and durably.
///
/// The bytes go to a temporary file in the same folder, which is synced, renamed over `path`,
/// and then the folder is synced, so after a crash `path` holds either the old bytes or the new
/// ones. A symbolic link is followed: the file it names is replaced and the link stays.
///
/// `mode` sets the permission bits of the result exactly (e.g. `Some(0o600)` for a token
/// file). Without it, an existing file keeps its bits and a new one gets `0666` less the umask.
/// The temporary file is created with the final bits from the start, never more open. The
/// result is owned by the calling user (a rename cannot keep another owner).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<(), FsError> {
    let target = follow_link(path)?;
    let folder = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let existing = match std::fs::metadata(&target) {
        Ok(meta) => Some(meta.permissions()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(FsError::io(Operation::Inspect, &target)(err)),
    };
    let wanted = mode.map(Permissions::from_mode).or(existing);
    let name = target
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(
            wanted
                .clone()
                .unwrap_or_else(|| Permissions::from_mode(NEW_FILE_MODE)),
        )
        .tempfile_in(&folder)
        .map_err(FsError::io(Operation::CreateTemporary, &target))?;
    tmp.write_all(bytes)
        .map_err(FsError::io(Operation::Write, &target))?;
    if let Some(wanted) = wanted {
        // The umask may have narrowed the bits at creation; the result gets them exactly.
        tmp.as_file()
            .set_permissions(wanted)
            .map_err(FsError::io(Operation::SetMode, &target))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(FsError::io(Operation::Sync, &target))?;
    tmp.persist(&target)
        .map_err(|e| FsError::io(Operation::Replace, &target)(e.error))?;
    std::fs::File::open(&folder)
        .and_then(|dir| dir.sync_all())
        .map_err(FsError::io(Operation::SyncFolder, &target))
}

/// `path`, or the file a symbolic link at `path` names (which must exist).
fn follow_link(path: &Path) -> Result<PathBuf, FsError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(FsError::io(Operation::ResolveLink, path))
        }
        _ => Ok(path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_contents_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"one", None).unwrap();
        write_atomic(&path, b"two", None).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(entries(dir.path()), ["a.json"]);
    }

    #[test]
    fn keeps_the_existing_mode_or_sets_the_given_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "x").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"y", None).unwrap();
        assert_eq!(mode_of(&path), 0o640);
        write_atomic(&path, b"z", Some(0o600)).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        // Bits the umask would strip at creation are still set exactly.
        write_atomic(&path, b"w", Some(0o666)).unwrap();
        assert_eq!(mode_of(&path), 0o666);

        let token = dir.path().join("token");
        write_atomic(&token, b"secret", Some(0o600)).unwrap();
        assert_eq!(mode_of(&token), 0o600);
        assert_eq!(std::fs::read(&token).unwrap(), b"secret");
    }

    #[test]
    fn a_new_file_without_a_mode_gets_what_fs_write_gives() {
        let dir = tempfile::tempdir().unwrap();
        let reference = dir.path().join("reference");
        std::fs::write(&reference, "x").unwrap();
        let path = dir.path().join("new");
        write_atomic(&path, b"x", None).unwrap();
        assert_eq!(mode_of(&path), mode_of(&reference));
    }

    #[test]
    fn a_symbolic_link_is_followed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yml");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.yml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new", None).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
    }

    #[test]
    fn failures_name_the_target_and_leave_it_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-folder/f");
        let err = write_atomic(&missing, b"x", None).unwrap_err();
        assert!(
            matches!(
                err,
                FsError::Io {
                    operation: Operation::CreateTemporary,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("no-such-folder/f"), "{err}");

        // A folder in the way: the rename fails and nothing is left behind.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("keep"), "k").unwrap();
        let err = write_atomic(&blocked, b"x", None).unwrap_err();
        assert!(
            matches!(
                err,
                FsError::Io {
                    operation: Operation::Replace,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(entries(dir.path()), ["blocked"]);
        assert_eq!(std::fs::read(blocked.join("keep")).unwrap(), b"k");
    }
}
