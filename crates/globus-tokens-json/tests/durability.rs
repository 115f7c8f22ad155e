//! File modes, the sidecar lock, failed writes and many threads on one handle.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use globus_tokens_core::raw::fs::FileLock;
use globus_tokens_core::{EnumerableTokenStorage, Error, TokenData, TokenStorage};
use globus_tokens_json::{JsonTokenStorage, SimpleJsonFileAdapter};

fn entry(resource_server: &str, access_token: &str) -> BTreeMap<String, TokenData> {
    let data = TokenData::new(resource_server, "scope", access_token, 2_000_000_000)
        .with_refresh_token(format!("RT-{access_token}"));
    [(resource_server.to_owned(), data)].into()
}

/// Both types on `path`, shareable between threads.
fn both(path: &Path) -> [Arc<dyn EnumerableTokenStorage>; 2] {
    [
        Arc::new(SimpleJsonFileAdapter::new(path)),
        Arc::new(JsonTokenStorage::new(path)),
    ]
}

fn temp_files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

type Opener = fn(&Path) -> Arc<dyn EnumerableTokenStorage>;

/// Constructors for both types, for tests that need a fresh path per type.
const OPENERS: [Opener; 2] = [
    |path| Arc::new(SimpleJsonFileAdapter::new(path)),
    |path| Arc::new(JsonTokenStorage::new(path)),
];

#[cfg(unix)]
#[test]
fn new_files_are_0600_and_new_directories_0700() {
    for open in OPENERS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("b").join("tokens.json");
        open(&path)
            .store_token_data(&entry("rs.example.org", "AT-1"))
            .unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&dir.path().join("a").join("b")), 0o700);
        assert_eq!(mode(&FileLock::lock_path_for(&path)), 0o600);
    }
}

#[cfg(unix)]
#[test]
fn a_rewrite_keeps_an_existing_files_mode() {
    use std::os::unix::fs::PermissionsExt;
    for open in OPENERS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let store = open(&path);
        store
            .store_token_data(&entry("rs.example.org", "AT-1"))
            .unwrap();
        // Shared with a group by an administrator (globus-cli issue #408).
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        store
            .store_token_data(&entry("rs.example.org", "AT-2"))
            .unwrap();
        assert_eq!(mode(&path), 0o640);
        assert!(store.remove_token_data("rs.example.org").unwrap());
        assert_eq!(mode(&path), 0o640);
    }
}

/// `link.json` -> `real/t.json`: writes go to the target, under the target's lock, and the
/// link stays a link. The renewal case of the issue: a rotated refresh token written through
/// the link is what the target holds afterwards.
#[cfg(unix)]
#[test]
fn writes_through_a_symlink_update_the_target_and_keep_the_link() {
    use std::os::unix::fs::PermissionsExt;
    for open in OPENERS {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        let real = dir.path().join("real").join("t.json");
        let link = dir.path().join("link.json");
        open(&real)
            .store_token_data(&entry("rs.example.org", "AT-1"))
            .unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("real/t.json", &link).unwrap();

        let through_link = open(&link);
        // What a renewal does: read-modify-write of the entry, rotating the refresh token.
        let renewed = through_link
            .update_token_data("rs.example.org", &mut |current| {
                let mut data = current.unwrap().clone();
                data.access_token = "AT-2".into();
                data.refresh_token = Some("RT-rotated".into());
                Some(data)
            })
            .unwrap();
        assert!(renewed.is_some());

        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "the link stays a link"
        );
        let target = open(&real)
            .get_token_data("rs.example.org")
            .unwrap()
            .unwrap();
        assert_eq!(target.access_token.expose(), "AT-2");
        assert_eq!(
            target.refresh_token.as_ref().map(|rt| rt.expose()),
            Some("RT-rotated"),
            "the target holds the rotated refresh token"
        );
        assert_eq!(mode(&real), 0o640);
        assert!(FileLock::lock_path_for(&real).exists());
        assert!(
            !FileLock::lock_path_for(&link).exists(),
            "the lock is the target's"
        );
        assert!(temp_files_in(dir.path()).is_empty());
        assert!(temp_files_in(&dir.path().join("real")).is_empty());
    }
}

/// A process writing through the link and one writing the target directly take one lock.
#[cfg(unix)]
#[test]
fn the_link_and_its_target_share_one_lock() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("t.json");
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink("t.json", &link).unwrap();
    let guard = FileLock::exclusive_for(&real).unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    let writer = std::thread::spawn(move || {
        JsonTokenStorage::new(&link)
            .store_token_data(&entry("rs.example.org", "AT-1"))
            .unwrap();
        done_tx.send(()).unwrap();
    });
    // The writer cannot finish while the target's lock is held...
    assert!(done_rx.recv_timeout(Duration::from_millis(200)).is_err());
    drop(guard);
    // ...and finishes once it is released.
    done_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    writer.join().unwrap();
    assert!(real.exists());
}

#[test]
fn reads_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("tokens.json");
    for store in both(&path) {
        assert_eq!(store.get_token_data("rs.example.org").unwrap(), None);
        assert!(store.get_by_resource_server().unwrap().is_empty());
        assert!(store.namespaces().unwrap().is_empty());
        assert!(!store.remove_token_data("rs.example.org").unwrap());
    }
    assert!(!path.exists());
    assert!(!FileLock::lock_path_for(&path).exists());
}

#[test]
fn writers_wait_for_the_sidecar_lock_and_readers_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    for store in both(&path) {
        store
            .store_token_data(&entry("first.example.org", "AT-1"))
            .unwrap();
        assert!(dir.path().join("tokens.json.lock").is_file());
        let before = std::fs::read(&path).unwrap();

        let lock = FileLock::exclusive_for(&path).unwrap();
        assert_eq!(lock.path(), dir.path().join("tokens.json.lock"));
        let (done_tx, done_rx) = mpsc::channel();
        let writer = {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let result = store.store_token_data(&entry("second.example.org", "AT-2"));
                done_tx.send(()).unwrap();
                result
            })
        };
        // The writer must be blocked on the lock, not finished.
        assert!(done_rx.recv_timeout(Duration::from_millis(300)).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // Reads go ahead while a writer holds the lock.
        assert!(store.get_token_data("first.example.org").unwrap().is_some());
        drop(lock);
        writer.join().unwrap().unwrap();
        assert!(
            store
                .get_token_data("second.example.org")
                .unwrap()
                .is_some()
        );
        std::fs::remove_file(&path).unwrap();
    }
}

/// Root ignores permissions, so the portable way to make a write fail is to make the lock
/// file impossible to open: a directory in its place.
#[test]
fn a_failed_write_leaves_the_old_file_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    for store in both(&path) {
        store
            .store_token_data(&entry("first.example.org", "AT-1"))
            .unwrap();
        let before = std::fs::read(&path).unwrap();
        let lock_path = FileLock::lock_path_for(&path);
        std::fs::remove_file(&lock_path).unwrap();
        std::fs::create_dir(&lock_path).unwrap();

        let err = store
            .store_token_data(&entry("second.example.org", "AT-2"))
            .unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("tokens.json.lock"), "{err}");
        assert!(store.remove_token_data("first.example.org").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert!(store.get_token_data("first.example.org").unwrap().is_some());

        std::fs::remove_dir(&lock_path).unwrap();
        std::fs::remove_file(&path).unwrap();
    }
    assert!(temp_files_in(dir.path()).is_empty());
}

/// Where permissions apply (not as root), a directory we cannot write to fails the atomic
/// write itself, after the lock is taken, and the old file survives.
#[cfg(unix)]
#[test]
fn a_write_into_a_read_only_directory_leaves_the_old_file_intact() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    std::fs::create_dir(&store_dir).unwrap();
    let path = store_dir.join("tokens.json");
    for store in both(&path) {
        store
            .store_token_data(&entry("first.example.org", "AT-1"))
            .unwrap();
        let before = std::fs::read(&path).unwrap();
        std::fs::set_permissions(&store_dir, std::fs::Permissions::from_mode(0o500)).unwrap();
        let probe = store_dir.join("probe");
        let enforced = std::fs::write(&probe, b"").is_err();
        let result = store.store_token_data(&entry("second.example.org", "AT-2"));
        std::fs::set_permissions(&store_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        if enforced {
            let err = result.unwrap_err();
            assert!(matches!(err, Error::Io { .. }), "{err:?}");
            assert_eq!(std::fs::read(&path).unwrap(), before);
        } else {
            // Running as root: the write succeeds, which says nothing either way.
            let _ = std::fs::remove_file(&probe);
            result.unwrap();
        }
        assert!(temp_files_in(&store_dir).is_empty());
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn sixteen_threads_on_one_shared_handle_lose_nothing() {
    const THREADS: usize = 16;
    const EACH: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    for store in both(&path) {
        std::thread::scope(|scope| {
            for thread in 0..THREADS {
                let store = Arc::clone(&store);
                scope.spawn(move || {
                    for index in 0..EACH {
                        let rs = format!("rs-{thread}-{index}.example.org");
                        store
                            .store_token_data(&entry(&rs, &format!("AT-{thread}-{index}")))
                            .unwrap();
                    }
                });
            }
        });
        let all = store.get_by_resource_server().unwrap();
        assert_eq!(all.len(), THREADS * EACH);
        for thread in 0..THREADS {
            for index in 0..EACH {
                let rs = format!("rs-{thread}-{index}.example.org");
                assert_eq!(
                    all[&rs].access_token.expose(),
                    format!("AT-{thread}-{index}")
                );
            }
        }
        assert!(temp_files_in(dir.path()).is_empty());
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn threads_in_separate_namespaces_of_one_file_lose_nothing() {
    const THREADS: usize = 16;
    let dir = tempfile::tempdir().unwrap();
    let root = JsonTokenStorage::new(dir.path().join("tokens.json"));
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let store = root.with_namespace(format!("ns-{thread:02}"));
            scope.spawn(move || {
                for index in 0..4 {
                    let rs = format!("rs-{index}.example.org");
                    store
                        .store_token_data(&entry(&rs, &format!("AT-{thread}-{index}")))
                        .unwrap();
                }
                assert!(store.remove_token_data("rs-0.example.org").unwrap());
            });
        }
    });
    let expected: Vec<String> = (0..THREADS)
        .map(|thread| format!("ns-{thread:02}"))
        .collect();
    assert_eq!(root.namespaces().unwrap(), expected);
    for thread in 0..THREADS {
        let store = root.with_namespace(format!("ns-{thread:02}"));
        let all = store.get_by_resource_server().unwrap();
        let names: Vec<&str> = all.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["rs-1.example.org", "rs-2.example.org", "rs-3.example.org"]
        );
    }
}
