//! A cache of parsed token entries, validated on every read against the database file's header.
//!
//! In rollback-journal mode every SQLite read takes and releases a shared file lock and checks
//! for a hot journal: about seven system calls, several microseconds. SQLite decides whether its
//! own page cache is still valid by comparing the file-change counter in the database header,
//! which every commit by any process increments (page 1, which holds it, is the first page a
//! commit writes). This cache uses the same test without the lock: one `pread` of the
//! 100-byte header. If the header is byte-for-byte what it was when an entry was read, no
//! commit has happened since, so the entry is still what SQLite would return; otherwise the
//! cache is emptied and the read goes to SQLite.
//!
//! A header that changes while a read is under way is never trusted: an entry is kept only if
//! the header read just before and just after the SQLite read are equal. Files in WAL mode
//! (header bytes 18-19 = 2), where commits do not touch the database file, are never cached.
//!
//! The cache is used only for files on local file systems (on Linux, as reported by
//! `/proc/self/mountinfo`): on a network file system (NFS, Lustre, GPFS, CIFS, ...) a read of
//! the header without a lock may be answered from the client's cache, and miss a commit made on
//! another host. There, and on other operating systems, every read goes to SQLite.
//!
//! The header is read through a separate read-only descriptor on the database file. Closing any
//! descriptor of a file drops every POSIX lock the process holds on it, SQLite's included, so
//! these descriptors are never closed: one per distinct database file per process stays open for
//! the life of the process. [`crate::SqliteAdapterBuilder::read_cache`] turns this off.

use std::collections::HashMap;
use std::sync::Arc;

use globus_tokens_core::TokenData;

/// Size of the SQLite database header.
pub(crate) const HEADER_LEN: usize = 100;

/// A database header as read from the file.
pub(crate) type Header = [u8; HEADER_LEN];

/// How a connection's cache is kept valid.
#[derive(Debug)]
pub(crate) enum Validator {
    /// No cache.
    Disabled,
    /// A private in-memory database: only this connection writes it, and every write through
    /// the adapter empties the cache.
    Memory,
    /// A database file whose header is read through this (never closed) descriptor.
    #[cfg(unix)]
    File(Arc<std::fs::File>),
}

impl Validator {
    /// The current header, if this validator reads one and the file has a cacheable header.
    #[cfg(unix)]
    pub(crate) fn header(&self) -> Option<Header> {
        use std::os::unix::fs::FileExt;
        let Validator::File(file) = self else {
            return None;
        };
        let mut header = [0u8; HEADER_LEN];
        file.read_exact_at(&mut header, 0).ok()?;
        // Bytes 18 and 19 are 1 for the rollback journal, 2 for WAL.
        (header[18] == 1 && header[19] == 1).then_some(header)
    }

    #[cfg(not(unix))]
    pub(crate) fn header(&self) -> Option<Header> {
        None
    }

    pub(crate) fn is_enabled(&self) -> bool {
        !matches!(self, Validator::Disabled)
    }

    pub(crate) fn is_memory(&self) -> bool {
        matches!(self, Validator::Memory)
    }
}

/// Parsed entries (`None` = known absent) by namespace and resource server, valid for `header`.
#[derive(Debug, Default)]
pub(crate) struct ReadCache {
    header: Option<Header>,
    entries: HashMap<String, HashMap<String, Option<TokenData>>>,
}

impl ReadCache {
    /// Forget everything.
    pub(crate) fn clear(&mut self) {
        self.header = None;
        self.entries.clear();
    }

    /// The cached entry, if the cache is valid for `header` (`None` for in-memory databases).
    /// Empties the cache when the header has changed.
    pub(crate) fn lookup(
        &mut self,
        memory: bool,
        header: Option<&Header>,
        namespace: &str,
        resource_server: &str,
    ) -> Option<Option<TokenData>> {
        if !memory {
            match (header, &self.header) {
                (Some(now), Some(cached)) if now == cached => {}
                _ => {
                    self.clear();
                    return None;
                }
            }
        }
        self.entries.get(namespace)?.get(resource_server).cloned()
    }

    /// Remember an entry read from SQLite between two reads of the header, `before` and
    /// `after`; kept only if they are equal (no commit happened meanwhile).
    pub(crate) fn insert(
        &mut self,
        memory: bool,
        before: Option<Header>,
        after: Option<Header>,
        namespace: &str,
        resource_server: &str,
        entry: &Option<TokenData>,
    ) {
        if !memory {
            match (before, after) {
                (Some(before), Some(after)) if before == after => {
                    if self.header != Some(before) {
                        self.entries.clear();
                        self.header = Some(before);
                    }
                }
                _ => return,
            }
        }
        self.entries
            .entry(namespace.to_owned())
            .or_default()
            .insert(resource_server.to_owned(), entry.clone());
    }
}

/// A read-only descriptor on the database file at `path`, shared by every connection of this
/// process to that file and never closed (see the module documentation).
#[cfg(unix)]
pub(crate) fn header_file(path: &std::path::Path) -> Option<Arc<std::fs::File>> {
    use std::os::unix::fs::MetadataExt;
    use std::sync::{Mutex, OnceLock, PoisonError};

    type Files = HashMap<(u64, u64), Arc<std::fs::File>>;
    static FILES: OnceLock<Mutex<Files>> = OnceLock::new();

    let meta = std::fs::metadata(path).ok()?;
    if !globus_tokens_core::fs::is_local_filesystem(meta.dev()) {
        return None;
    }
    let key = (meta.dev(), meta.ino());
    let mut files = FILES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(file) = files.get(&key) {
        return Some(Arc::clone(file));
    }
    let file = Arc::new(std::fs::File::open(path).ok()?);
    // Kept whatever happens next: dropping it would close it.
    let actual = match file.metadata() {
        Ok(opened) => (opened.dev(), opened.ino()),
        Err(_) => {
            std::mem::forget(file);
            return None;
        }
    };
    files.insert(actual, Arc::clone(&file));
    // If the path was replaced between the two looks, the descriptor is of another file.
    (actual == key).then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(counter: u8) -> Header {
        let mut header = [0u8; HEADER_LEN];
        header[18] = 1;
        header[19] = 1;
        header[27] = counter;
        header
    }

    #[test]
    fn entries_live_only_while_the_header_is_unchanged() {
        let mut cache = ReadCache::default();
        let entry = Some(TokenData::new("rs", "s", "AT", 1));
        cache.insert(false, Some(header(1)), Some(header(1)), "ns", "rs", &entry);
        assert_eq!(
            cache.lookup(false, Some(&header(1)), "ns", "rs"),
            Some(entry.clone())
        );
        assert_eq!(cache.lookup(false, Some(&header(1)), "ns", "other"), None);
        assert_eq!(cache.lookup(false, Some(&header(2)), "ns", "rs"), None);
        // The change emptied the cache.
        assert_eq!(cache.lookup(false, Some(&header(1)), "ns", "rs"), None);
        // A read during which the header changed is not kept.
        cache.insert(false, Some(header(2)), Some(header(3)), "ns", "rs", &entry);
        assert_eq!(cache.lookup(false, Some(&header(3)), "ns", "rs"), None);
        assert_eq!(cache.lookup(false, None, "ns", "rs"), None);
    }

    #[test]
    fn memory_entries_live_until_cleared() {
        let mut cache = ReadCache::default();
        cache.insert(true, None, None, "ns", "rs", &None);
        assert_eq!(cache.lookup(true, None, "ns", "rs"), Some(None));
        cache.clear();
        assert_eq!(cache.lookup(true, None, "ns", "rs"), None);
    }
}
