//! fair-research-login's two file stores through symbolic links and with shared modes: the
//! link's target is locked and replaced (the link stays), an existing file keeps its mode, new
//! files are 0600, and temporary files of a killed writer are cleared by the next write.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use globus_native_login::{JsonLoginTokenStorage, LoginTokenStorage, MultiClientTokenStorage};
use globus_tokens_core::TokenData;
use globus_tokens_core::raw::fs::FileLock;

const CLIENT: &str = "7414f0b4-7d05-4bb6-bb00-076fa3f17cf5";

type Opener = fn(&Path) -> Arc<dyn LoginTokenStorage>;

const OPENERS: [(&str, Opener); 2] = [
    ("frl ini", |path| {
        Arc::new(MultiClientTokenStorage::new(path, CLIENT))
    }),
    ("frl json", |path| {
        Arc::new(JsonLoginTokenStorage::new(path))
    }),
];

fn tokens(access_token: &str, refresh_token: &str) -> BTreeMap<String, TokenData> {
    let data = TokenData::new("transfer.api.globus.org", "s", access_token, 2_000_000_000)
        .with_refresh_token(refresh_token);
    [(data.resource_server.clone(), data)].into()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .unwrap()
        .file_type()
        .is_symlink()
}

#[test]
fn new_files_are_0600_and_rewrites_keep_the_mode() {
    for (name, open) in OPENERS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new").join("tokens");
        let store = open(&path);
        store.write_tokens(&tokens("AT-1", "RT-1")).unwrap();
        assert_eq!(mode(&path), 0o600, "{name}");
        assert_eq!(mode(&dir.path().join("new")), 0o700, "{name}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        store.write_tokens(&tokens("AT-2", "RT-2")).unwrap();
        assert_eq!(mode(&path), 0o640, "{name}");
        store
            .update_tokens(&mut |saved| {
                saved.clear();
            })
            .unwrap();
        assert_eq!(mode(&path), 0o640, "{name}");
    }
}

#[test]
fn writes_through_a_symlink_update_the_target_under_its_lock() {
    for (name, open) in OPENERS {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        let real = dir.path().join("real").join("t");
        let link = dir.path().join("link");
        open(&real).write_tokens(&tokens("AT-1", "RT-1")).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("real/t", &link).unwrap();
        // A killed writer's leftover beside the target.
        let leftover = dir.path().join("real").join(".t.dead42.tmp");
        std::fs::write(&leftover, b"half").unwrap();

        // A refresh saved through the link: the rotated refresh token reaches the target.
        let through_link = open(&link);
        through_link
            .update_tokens(&mut |saved| saved.extend(tokens("AT-2", "RT-rotated")))
            .unwrap();
        assert!(is_link(&link), "{name}: the link stays a link");
        let stored = open(&real).read_tokens().unwrap();
        let stored = &stored["transfer.api.globus.org"];
        assert_eq!(stored.access_token.expose(), "AT-2", "{name}");
        assert_eq!(
            stored.refresh_token.as_ref().unwrap().expose(),
            "RT-rotated",
            "{name}"
        );
        assert_eq!(mode(&real), 0o640, "{name}");
        assert!(FileLock::lock_path_for(&real).exists(), "{name}");
        assert!(!FileLock::lock_path_for(&link).exists(), "{name}");
        assert!(
            !leftover.exists(),
            "{name}: the killed writer's temp file is gone"
        );

        // Clearing through the link clears the target; the link stays.
        through_link.clear_tokens().unwrap();
        assert!(is_link(&link), "{name}");
        assert!(open(&real).read_tokens().unwrap().is_empty(), "{name}");
        assert!(through_link.read_tokens().unwrap().is_empty(), "{name}");
    }
}
