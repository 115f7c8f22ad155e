//! Durable, owner-only file writes and cross-process locking, shared by the file backends.
//!
//! The rules: a write goes to a temporary file in the same directory (created 0600), is
//! flushed to disk, renamed over the target and the directory is flushed, so a reader or a
//! crash sees the old file or the new one, never part of either. Read-modify-write cycles are
//! serialized across processes by an advisory lock on a sidecar `NAME.lock` file, never on the
//! data file itself (which the rename replaces).
//!
//! [`update_file`] is the one locked read-modify-write cycle every file store uses. A path that
//! is a symbolic link is followed to its final target: the target is locked (its own
//! `NAME.lock`), read and replaced, and the link stays a link. A file that exists keeps its
//! permission bits (and, where allowed, its group); a new file is 0600 in 0700 directories.
//! The rename gives the file a new inode, so other hard links to it keep the old content.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Create `dir` and its missing parents, owner-only (0700 on Unix).
///
/// Existing directories are left as they are.
pub fn create_private_dir_all(dir: &Path) -> Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|err| Error::io("creating directory", dir, err))
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Replace `path` with `bytes` atomically and durably.
///
/// A symbolic link is followed to its final target, which is replaced (the link stays). An
/// existing file keeps its permission bits and, where the operating system allows, its group;
/// a new file is owner-only (0600) and missing directories are created 0700. If anything
/// fails, the file is left exactly as it was and the temporary file is removed.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("tokens.json");
/// globus_tokens_core::raw::fs::atomic_write(&path, b"{}").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"{}");
/// ```
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = resolve_symlinks(path)?;
    write_replacing(&target, bytes)
}

/// Follow `path` through symbolic links to the file they finally name (which may not exist
/// yet). A path that is not a link is returned as it is.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("plain.json");
/// assert_eq!(globus_tokens_core::raw::fs::resolve_symlinks(&path).unwrap(), path);
/// ```
pub fn resolve_symlinks(path: &Path) -> Result<PathBuf> {
    // The same bound as Linux's MAXSYMLINKS: beyond it, assume a loop.
    const MAX_LINKS: usize = 40;
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let next = fs::read_link(&current)
                    .map_err(|err| Error::io("reading symbolic link", &current, err))?;
                current = if next.is_absolute() {
                    next
                } else {
                    parent_dir(&current).join(next)
                };
            }
            Ok(_) => return Ok(current),
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(err) => return Err(Error::io("reading metadata of", &current, err)),
        }
    }
    Err(Error::io(
        "following symbolic links from",
        path,
        io::Error::other(format!("more than {MAX_LINKS} levels of symbolic links")),
    ))
}

/// What [`update_file`]'s closure wants done with the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// Leave the file as it is.
    Keep,
    /// Replace the file's content with these bytes (atomically, keeping its mode).
    Write(Vec<u8>),
    /// Remove the file (the link's target, when the path is a symbolic link).
    Remove,
}

/// The one locked read-modify-write cycle of a file store.
///
/// Follows `path` through symbolic links to its target, takes the exclusive lock on the
/// target's `NAME.lock`, reads the target (`None` if it does not exist), calls `change` with
/// the bytes and the target's path, and applies what it returns: replace (temporary file in
/// the same directory, fsync, rename, directory fsync: see [`atomic_write`]), remove, or
/// nothing. Before writing, temporary files left by writers killed mid-write are removed
/// (safe under the lock: live writers only create them while holding it). The lock is released
/// on return. An error from `change` or from the write leaves the file byte-for-byte as it was.
///
/// ```
/// use globus_tokens_core::raw::fs::{update_file, FileChange};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("counter");
/// for _ in 0..3 {
///     update_file(&path, |bytes, _target| {
///         let n: u32 = bytes.map_or(0, |b| String::from_utf8_lossy(b).parse().unwrap_or(0));
///         Ok(((), FileChange::Write((n + 1).to_string().into_bytes())))
///     }).unwrap();
/// }
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "3");
/// ```
pub fn update_file<T>(
    path: &Path,
    change: impl FnOnce(Option<&[u8]>, &Path) -> Result<(T, FileChange)>,
) -> Result<T> {
    let target = resolve_symlinks(path)?;
    let _lock = FileLock::exclusive_for(&target)?;
    let bytes = read_if_exists(&target)?;
    let (result, action) = change(bytes.as_deref(), &target)?;
    match action {
        FileChange::Keep => {}
        FileChange::Write(new_bytes) => {
            remove_abandoned_temp_files(&target);
            write_replacing(&target, &new_bytes)?;
        }
        FileChange::Remove => {
            remove_abandoned_temp_files(&target);
            match fs::remove_file(&target) {
                Ok(()) => sync_dir(&parent_dir(&target))?,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(Error::io("removing", &target, err)),
            }
        }
    }
    Ok(result)
}

/// Write `bytes` to a temporary file beside `target` and rename it over `target` (which is not
/// a symbolic link), keeping an existing file's permission bits and group.
fn write_replacing(target: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(target);
    create_private_dir_all(&dir)?;
    let existing = match fs::metadata(target) {
        Ok(metadata) => Some(metadata),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => return Err(Error::io("reading metadata of", target, err)),
    };
    let file_name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // tempfile creates the file with O_EXCL and mode 0600.
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|err| Error::io("creating temporary file in", &dir, err))?;
    if let Some(existing) = &existing {
        keep_ownership_and_mode(temp.as_file(), existing, target)?;
    }
    temp.write_all(bytes)
        .map_err(|err| Error::io("writing temporary file for", target, err))?;
    temp.as_file()
        .sync_all()
        .map_err(|err| Error::io("flushing temporary file for", target, err))?;
    temp.persist(target)
        .map_err(|err| Error::io("renaming temporary file onto", target, err.error))?;
    sync_dir(&dir)
}

/// Give the temporary file the replaced file's group (when we may: a member of that group can)
/// and permission bits, so a file shared with a group stays shared.
#[cfg(unix)]
fn keep_ownership_and_mode(temp: &File, existing: &fs::Metadata, target: &Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let current = temp
        .metadata()
        .map_err(|err| Error::io("reading metadata of temporary file for", target, err))?;
    if current.gid() != existing.gid() {
        // Not allowed unless we belong to the group; the mode is kept either way.
        if let Err(err) = std::os::unix::fs::fchown(temp, None, Some(existing.gid())) {
            tracing::debug!(path = %target.display(), error = %err, "cannot keep the file's group");
        }
    }
    let mode = existing.mode() & 0o7777;
    temp.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|err| Error::io("setting the mode of temporary file for", target, err))
}

#[cfg(not(unix))]
fn keep_ownership_and_mode(temp: &File, existing: &fs::Metadata, target: &Path) -> Result<()> {
    temp.set_permissions(existing.permissions())
        .map_err(|err| Error::io("setting the permissions of temporary file for", target, err))
}

/// Remove temporary files that [`atomic_write`] left for `path` when its writer died (SIGKILL,
/// power loss) between creating the temporary file and renaming it.
///
/// Call only while holding [`FileLock::exclusive_for`] on `path`: writers that take the lock
/// write their temporary files under it, so any such file found then belongs to a dead writer.
/// Returns how many were removed; failures to remove are ignored (the next writer retries).
pub fn remove_abandoned_temp_files(path: &Path) -> usize {
    let Some(file_name) = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
    else {
        return 0;
    };
    let prefix = format!(".{file_name}.");
    let Ok(entries) = fs::read_dir(parent_dir(path)) else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".tmp")
        })
        .filter(|entry| fs::remove_file(entry.path()).is_ok())
        .count()
}

/// Flush a directory's entries (a rename in it) to disk. A no-op where unsupported.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let handle = File::open(dir).map_err(|err| Error::io("opening directory", dir, err))?;
        handle
            .sync_all()
            .map_err(|err| Error::io("flushing directory", dir, err))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Read a whole file, or `None` if it does not exist.
pub fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::io("reading", path, err)),
    }
}

/// Open (creating if needed, owner-only) a file for appending or locking, without truncating.
pub fn open_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Lock waits at least this long are reported (INFO `tracing` events): a store whose writers
/// queue behind each other, or behind a slow renewal, shows in `-v` output.
pub const LOCK_WAIT_REPORTED: std::time::Duration = std::time::Duration::from_millis(100);

/// Report a wait for `lock` on `location` that began at `started`, if it took at least
/// [`LOCK_WAIT_REPORTED`]; for backends' own locks (a SQLite transaction) too.
pub fn report_lock_wait(lock: &str, location: &dyn std::fmt::Display, started: std::time::Instant) {
    let waited = started.elapsed();
    if waited >= LOCK_WAIT_REPORTED {
        tracing::info!(
            lock,
            location = %location,
            waited_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
            "waited for a lock"
        );
    }
}

/// An exclusive advisory lock on the sidecar `NAME.lock` of a data file.
///
/// Held until dropped. The lock belongs to the open file, so it excludes other processes and
/// other threads of this process alike, and the operating system releases it if the holder
/// dies: a killed writer never leaves it stuck.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let data = dir.path().join("tokens.json");
/// let guard = globus_tokens_core::raw::fs::FileLock::exclusive_for(&data).unwrap();
/// assert!(dir.path().join("tokens.json.lock").exists());
/// drop(guard);
/// ```
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

impl FileLock {
    /// The sidecar lock path for `data_path`: the same name with `.lock` appended.
    pub fn lock_path_for(data_path: &Path) -> PathBuf {
        let mut name = data_path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Block until this process holds the exclusive lock for `data_path`. A wait of
    /// [`LOCK_WAIT_REPORTED`] or more is reported as a `tracing` event.
    pub fn exclusive_for(data_path: &Path) -> Result<Self> {
        let path = Self::lock_path_for(data_path);
        create_private_dir_all(&parent_dir(&path))?;
        let file = open_private(&path).map_err(|err| Error::io("opening lock file", &path, err))?;
        let started = std::time::Instant::now();
        loop {
            match file.lock() {
                Ok(()) => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(Error::io("locking", &path, err)),
            }
        }
        report_lock_wait("file lock", &path.display(), started);
        Ok(FileLock { file, path })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Closing the file releases the lock as well; unlocking first just makes it prompt.
        let _ = self.file.unlock();
    }
}

/// File systems whose page cache all readers and writers of a file share (so a lockless read
/// of the header sees every commit made by any process that could also take SQLite's locks).
#[cfg(target_os = "linux")]
const LOCAL_FILESYSTEMS: &[&str] = &[
    "ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "ramfs", "f2fs", "zfs", "bcachefs", "jfs",
    "reiserfs", "nilfs2", "overlay", "vfat", "exfat",
];

/// Whether the device `dev` (from `MetadataExt::dev`) holds a local file system, by
/// `/proc/self/mountinfo`.
///
/// Caches that trust file metadata or a lockless read use this: on a network file system
/// (NFS, Lustre, GPFS, CIFS, ...) a client may answer `stat` or `pread` from its own cache and
/// miss a change made on another host.
#[cfg(target_os = "linux")]
pub fn is_local_filesystem(dev: u64) -> bool {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let device = format!("{major}:{minor}");
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    mountinfo_fstype(&mounts, &device).is_some_and(|fstype| LOCAL_FILESYSTEMS.contains(&fstype))
}

/// Other systems: no cheap, dependable way to tell a network file system; no cache.
#[cfg(all(unix, not(target_os = "linux")))]
pub fn is_local_filesystem(_dev: u64) -> bool {
    false
}

/// The file system type of device `device` (`"major:minor"`) in mountinfo text.
#[cfg(any(target_os = "linux", test))]
fn mountinfo_fstype<'a>(mounts: &'a str, device: &str) -> Option<&'a str> {
    mounts.lines().find_map(|line| {
        if line.split(' ').nth(2) != Some(device) {
            return None;
        }
        let (_, after) = line.split_once(" - ")?;
        after.split(' ').next()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_types() {
        let mounts = "25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw\n\
                      27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n\
                      90 27 0:52 / /home rw,relatime shared:5 - nfs4 server:/home rw,vers=4.2\n";
        assert_eq!(mountinfo_fstype(mounts, "254:0"), Some("ext4"));
        assert_eq!(mountinfo_fstype(mounts, "0:52"), Some("nfs4"));
        assert_eq!(mountinfo_fstype(mounts, "0:23"), Some("tmpfs"));
        assert_eq!(mountinfo_fstype(mounts, "9:9"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn temporary_directory_is_local() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let dev = std::fs::metadata(dir.path()).unwrap().dev();
        // The test machines keep temporary files on a local file system.
        assert!(is_local_filesystem(dev));
    }

    #[test]
    fn abandoned_temp_files_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        atomic_write(&path, b"{}").unwrap();
        std::fs::write(dir.path().join(".tokens.json.abc123.tmp"), b"half").unwrap();
        std::fs::write(dir.path().join(".other.json.abc123.tmp"), b"not ours").unwrap();
        assert_eq!(remove_abandoned_temp_files(&path), 1);
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, [".other.json.abc123.tmp", "tokens.json"]);
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn write(
        bytes: &'static [u8],
    ) -> impl FnOnce(Option<&[u8]>, &Path) -> Result<((), FileChange)> {
        move |_, _| Ok(((), FileChange::Write(bytes.to_vec())))
    }

    #[cfg(unix)]
    #[test]
    fn update_follows_symlinks_and_locks_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real").join("t.json");
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real/t.json", &link).unwrap();
        // A chain of links ends at the same file.
        let link2 = dir.path().join("link2.json");
        std::os::unix::fs::symlink(&link, &link2).unwrap();
        assert_eq!(
            resolve_symlinks(&link2).unwrap(),
            dir.path().join("real/t.json")
        );

        let seen = update_file(&link2, |bytes, target| {
            assert_eq!(bytes, Some(&b"old"[..]));
            assert!(FileLock::lock_path_for(target).exists());
            Ok((target.to_path_buf(), FileChange::Write(b"new".to_vec())))
        })
        .unwrap();
        assert_eq!(seen, dir.path().join("real/t.json"));
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert!(!FileLock::lock_path_for(&link).exists());
        assert!(!FileLock::lock_path_for(&link2).exists());
        assert!(dir.path().join("real/t.json.lock").exists());

        // Removal removes the target; the (now dangling) link stays and a write recreates it.
        update_file(&link, |_, _| Ok(((), FileChange::Remove))).unwrap();
        assert!(!real.exists());
        assert!(std::fs::symlink_metadata(&link).is_ok());
        update_file(&link, write(b"again")).unwrap();
        assert_eq!(std::fs::read(&real).unwrap(), b"again");
        assert_eq!(mode(&real), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        let err = update_file(&a, write(b"x")).unwrap_err();
        assert!(
            err.to_string().contains("levels of symbolic links"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn update_keeps_the_mode_of_existing_files_and_creates_private_ones() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared.json");
        std::fs::write(&shared, b"old").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).unwrap();
        update_file(&shared, write(b"new")).unwrap();
        assert_eq!(mode(&shared), 0o640);
        atomic_write(&shared, b"newer").unwrap();
        assert_eq!(mode(&shared), 0o640);

        let fresh = dir.path().join("a").join("b").join("new.json");
        update_file(&fresh, write(b"{}")).unwrap();
        assert_eq!(mode(&fresh), 0o600);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&dir.path().join("a/b")), 0o700);
    }

    #[test]
    fn update_errors_and_keep_leave_the_file_alone_and_writes_clear_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        std::fs::write(&path, b"old").unwrap();
        let stale = dir.path().join(".t.json.dead01.tmp");
        std::fs::write(&stale, b"half").unwrap();
        let err = update_file(&path, |_, target| -> Result<((), FileChange)> {
            Err(Error::invalid_data(target.display().to_string(), "bad"))
        });
        assert!(err.is_err());
        update_file(&path, |_, _| Ok(((), FileChange::Keep))).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert!(stale.exists(), "only a write clears leftovers");
        update_file(&path, write(b"new")).unwrap();
        assert!(!stale.exists());
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }
}

#[cfg(test)]
mod lock_wait_tests {
    use std::io::Write;
    use std::sync::{Arc, Barrier, Mutex};

    use super::*;

    /// Collects formatted events.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_long_wait_for_the_file_lock_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("tokens.json");
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer({
                let captured = captured.clone();
                move || captured.clone()
            })
            .with_ansi(false)
            .finish();
        // Uncontended: nothing to report.
        tracing::subscriber::with_default(subscriber, || {
            drop(FileLock::exclusive_for(&data).unwrap());
            assert!(captured.0.lock().unwrap().is_empty());
            let held = Barrier::new(2);
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    let _guard = FileLock::exclusive_for(&data).unwrap();
                    held.wait();
                    // Well past the threshold, so a slow start of the waiting thread cannot hide the wait.
                    std::thread::sleep(LOCK_WAIT_REPORTED * 4);
                });
                held.wait();
                drop(FileLock::exclusive_for(&data).unwrap());
            });
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("waited for a lock"), "{text}");
        assert!(
            text.contains("tokens.json.lock") && text.contains("waited_ms"),
            "{text}"
        );
    }
}
