//! Durable, owner-only file writes and cross-process locking, shared by the file backends.
//!
//! The rules: a write goes to a temporary file in the same directory (created 0600), is
//! flushed to disk, renamed over the target and the directory is flushed, so a reader or a
//! crash sees the old file or the new one, never part of either. Read-modify-write cycles are
//! serialized across processes by an advisory lock on a sidecar `NAME.lock` file, never on the
//! data file itself (which the rename replaces).

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

/// Replace `path` with `bytes` atomically and durably; the new file is owner-only.
///
/// If anything fails, `path` is left exactly as it was and the temporary file is removed.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("tokens.json");
/// globus_tokens_core::fs::atomic_write(&path, b"{}").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"{}");
/// ```
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    create_private_dir_all(&dir)?;
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // tempfile creates the file with O_EXCL and mode 0600.
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|err| Error::io("creating temporary file in", &dir, err))?;
    temp.write_all(bytes)
        .map_err(|err| Error::io("writing temporary file for", path, err))?;
    temp.as_file()
        .sync_all()
        .map_err(|err| Error::io("flushing temporary file for", path, err))?;
    temp.persist(path)
        .map_err(|err| Error::io("renaming temporary file onto", path, err.error))?;
    sync_dir(&dir)
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

/// An exclusive advisory lock on the sidecar `NAME.lock` of a data file.
///
/// Held until dropped. The lock belongs to the open file, so it excludes other processes and
/// other threads of this process alike, and the operating system releases it if the holder
/// dies: a killed writer never leaves it stuck.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let data = dir.path().join("tokens.json");
/// let guard = globus_tokens_core::fs::FileLock::exclusive_for(&data).unwrap();
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

    /// Block until this process holds the exclusive lock for `data_path`.
    pub fn exclusive_for(data_path: &Path) -> Result<Self> {
        let path = Self::lock_path_for(data_path);
        create_private_dir_all(&parent_dir(&path))?;
        let file = open_private(&path).map_err(|err| Error::io("opening lock file", &path, err))?;
        loop {
            match file.lock() {
                Ok(()) => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(Error::io("locking", &path, err)),
            }
        }
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

/// What a file's metadata says about its content: device, inode, size, modification and change
/// times. Two equal stamps of a file on a local file system mean unchanged content, provided the
/// older stamp was [settled](FileStamp::is_settled) when taken.
#[cfg(unix)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

#[cfg(unix)]
impl FileStamp {
    /// The stamp of `metadata` (from `fs::metadata` or `File::metadata`).
    pub fn of(metadata: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            dev: metadata.dev(),
            ino: metadata.ino(),
            size: metadata.size(),
            mtime: (metadata.mtime(), metadata.mtime_nsec()),
            ctime: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }

    /// The device, for [`is_local_filesystem`].
    pub fn dev(&self) -> u64 {
        self.dev
    }

    /// Whether the file last changed at least `min_age_seconds` before `now_seconds`.
    ///
    /// File timestamps can be as coarse as a scheduler tick, so two writes close together may
    /// leave equal times; and an inode number freed by a rename can be reused. A stamp taken
    /// after the file had been left alone for longer than that granularity cannot be repeated by
    /// any later write (which gets a later change time), so only settled stamps are safe to
    /// cache on.
    pub fn is_settled(&self, now_seconds: i64, min_age_seconds: i64) -> bool {
        self.ctime.0.saturating_add(min_age_seconds) < now_seconds
    }
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
    #[test]
    fn stamps_change_with_every_write_and_settle_with_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        atomic_write(&path, b"one").unwrap();
        let first = FileStamp::of(&std::fs::metadata(&path).unwrap());
        atomic_write(&path, b"two").unwrap();
        let second = FileStamp::of(&std::fs::metadata(&path).unwrap());
        assert_ne!(first, second, "a rename gives a new inode");
        assert!(!second.is_settled(second.ctime.0, 2));
        assert!(second.is_settled(second.ctime.0 + 3, 2));
    }
}
