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
