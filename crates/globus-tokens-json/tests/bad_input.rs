//! Bad files are typed errors that name the file, writes onto them leave them untouched, no
//! error shows a token, and no input makes either type panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globus_tokens_core::{EnumerableTokenStorage, Error, TokenData, TokenStorage};
use globus_tokens_json::{JsonTokenStorage, SimpleJsonFileAdapter};
use proptest::prelude::*;

const V1: &str = include_str!("data/sdk-v1-simple.json");
const V2: &str = include_str!("data/sdk-v2.json");
const SECRETS: [&str; 7] = [
    "AT-a-0", "AT-a-1", "AT-a-2", "RT-a-0", "RT-a-1", "AT-bob", "RT-bob",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Syntax,
    Shape,
    Version,
}

fn kind(err: &Error) -> Kind {
    match err {
        Error::JsonSyntax { .. } => Kind::Syntax,
        Error::InvalidData { .. } => Kind::Shape,
        Error::UnsupportedFormatVersion { .. } => Kind::Version,
        other => panic!("unexpected error kind: {other:?}"),
    }
}

/// Both types on the same path, as trait objects.
fn handles(path: &Path) -> [(&'static str, Box<dyn TokenStorage>); 3] {
    [
        (
            "SimpleJsonFileAdapter",
            Box::new(SimpleJsonFileAdapter::new(path)),
        ),
        ("JsonTokenStorage", Box::new(JsonTokenStorage::new(path))),
        (
            "JsonTokenStorage(ns)",
            Box::new(JsonTokenStorage::new(path).with_namespace("userprofile/bob")),
        ),
    ]
}

fn new_entry() -> BTreeMap<String, TokenData> {
    let data = TokenData::new("new.example.org", "s", "AT-new", 1);
    [(data.resource_server.clone(), data)].into()
}

fn assert_no_secret(err: &Error) {
    let shown = format!("{err} {err:?}");
    for secret in SECRETS {
        assert!(!shown.contains(secret), "{secret} leaked into {shown}");
    }
}

/// Every operation on `path` fails with `expected` naming the file, and none changes it.
fn assert_rejected(path: &Path, store: &dyn TokenStorage, expected: Kind, why: &str) {
    let before = std::fs::read(path).unwrap();
    let name = path.display().to_string();
    let data = TokenData::new("auth.globus.org", "s", "AT-new", 1);
    let mut results: Vec<(&str, Result<(), Error>)> = vec![
        ("get", store.get_token_data("auth.globus.org").map(drop)),
        ("store", store.store_token_data(&new_entry())),
        ("store(empty)", store.store_token_data(&BTreeMap::new())),
        (
            "remove",
            store.remove_token_data("auth.globus.org").map(drop),
        ),
        ("cas", store.compare_and_swap(None, &data).map(drop)),
        (
            "update",
            store
                .update_token_data("auth.globus.org", &mut |_| Some(data.clone()))
                .map(drop),
        ),
    ];
    let listing = store.as_enumerable().expect("both types can list");
    results.push(("list", listing.get_by_resource_server().map(drop)));
    results.push(("namespaces", listing.namespaces().map(drop)));
    for (operation, result) in results {
        let err = result.expect_err(&format!("{why}: {operation} should fail"));
        assert_eq!(kind(&err), expected, "{why}: {operation}: {err}");
        assert!(err.to_string().contains(&name), "{why}: {operation}: {err}");
        assert!(!err.is_temporary());
        assert_no_secret(&err);
    }
    assert_eq!(std::fs::read(path).unwrap(), before, "{why}: file changed");
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "{why}: temporary files left: {leftovers:?}"
    );
}

fn write_case(dir: &Path, contents: &[u8]) -> PathBuf {
    let path = dir.join("tokens.json");
    std::fs::write(&path, contents).unwrap();
    path
}

/// Cases every reader rejects the same way, whatever format it writes.
fn common_cases() -> Vec<(&'static str, Vec<u8>, Kind)> {
    let mut cases: Vec<(&'static str, Vec<u8>, Kind)> = vec![
        ("empty file", Vec::new(), Kind::Syntax),
        ("whitespace only", b" \n".to_vec(), Kind::Syntax),
        ("not JSON", b"{not json".to_vec(), Kind::Syntax),
        (
            "trailing garbage",
            format!("{V1}x").into_bytes(),
            Kind::Syntax,
        ),
        (
            "invalid UTF-8",
            b"{\"by_rs\": \"\xff\"}".to_vec(),
            Kind::Syntax,
        ),
        (
            "byte order mark",
            [b"\xef\xbb\xbf".as_slice(), V1.as_bytes()].concat(),
            Kind::Syntax,
        ),
        (
            "deep nesting",
            "[".repeat(100_000).into_bytes(),
            Kind::Syntax,
        ),
        ("array root", b"[]".to_vec(), Kind::Shape),
        ("string root", b"\"AT-a-0\"".to_vec(), Kind::Shape),
        ("null root", b"null".to_vec(), Kind::Shape),
        (
            "missing format_version",
            br#"{"by_rs": {}}"#.to_vec(),
            Kind::Version,
        ),
        (
            "unknown format_version",
            V1.replace(r#""format_version": "1.0""#, r#""format_version": "3.0""#)
                .into_bytes(),
            Kind::Version,
        ),
        (
            "numeric format_version",
            V1.replace(r#""format_version": "1.0""#, r#""format_version": 1.0"#)
                .into_bytes(),
            Kind::Version,
        ),
        (
            "by_rs not an object",
            br#"{"by_rs": [], "format_version": "1.0", "globus-sdk.version": "3.65.0"}"#.to_vec(),
            Kind::Shape,
        ),
        (
            "by_rs missing",
            br#"{"format_version": "1.0", "globus-sdk.version": "3.65.0"}"#.to_vec(),
            Kind::Shape,
        ),
        (
            "version not a string",
            V1.replace(r#""3.65.0""#, "3").into_bytes(),
            Kind::Shape,
        ),
        (
            "entry not an object",
            V1.replacen(
                r#"{"scope": "openid profile email""#,
                r#""AT-a-0", "x": {"scope": "s""#,
                1,
            )
            .into_bytes(),
            Kind::Shape,
        ),
        (
            "expiry is a string",
            V1.replacen("2000000000", "\"2000000000\"", 1).into_bytes(),
            Kind::Shape,
        ),
        (
            "access token is a number",
            V1.replacen(r#""AT-a-1""#, "1", 1).into_bytes(),
            Kind::Shape,
        ),
        (
            "refresh token is an object",
            V1.replacen(r#""RT-a-1""#, r#"{"token": "RT-a-1"}"#, 1)
                .into_bytes(),
            Kind::Shape,
        ),
        (
            "access token missing",
            V1.replacen(r#""access_token": "AT-a-2", "#, "", 1)
                .into_bytes(),
            Kind::Shape,
        ),
    ];
    for cut in [1, V1.len() / 2, V1.len() - 1] {
        cases.push(("truncated", V1.as_bytes()[..cut].to_vec(), Kind::Syntax));
    }
    cases
}

#[test]
fn bad_files_are_typed_errors_and_stay_untouched() {
    for (why, contents, expected) in common_cases() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_case(dir.path(), &contents);
        for (type_name, store) in handles(&path) {
            assert_rejected(&path, &*store, expected, &format!("{why} ({type_name})"));
        }
    }
}

#[test]
fn bad_v2_files_are_typed_errors_and_stay_untouched() {
    let cases: Vec<(&str, String, Kind)> = vec![
        (
            "data not an object",
            r#"{"data": "AT-a-0", "format_version": "2.0", "globus-sdk.version": "3.65.0"}"#.into(),
            Kind::Shape,
        ),
        (
            "data missing",
            r#"{"format_version": "2.0", "globus-sdk.version": "3.65.0"}"#.into(),
            Kind::Shape,
        ),
        (
            "namespace not an object",
            V2.replacen(
                r#""userprofile/bob": {"#,
                r#""userprofile/bob": ["AT-bob"], "x": {"#,
                1,
            ),
            Kind::Shape,
        ),
        (
            "entry not an object",
            V2.replacen(
                r#""transfer.api.globus.org": {"resource_server""#,
                r#""transfer.api.globus.org": null, "x": {"resource_server""#,
                1,
            ),
            Kind::Shape,
        ),
        (
            "identity_id is a number",
            V2.replacen(r#""ae341a98-d274-11e5-b888-dbae3a8ba545""#, "7", 1),
            Kind::Shape,
        ),
        ("truncated", V2[..V2.len() - 2].to_owned(), Kind::Syntax),
    ];
    for (why, contents, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = write_case(dir.path(), contents.as_bytes());
        for (type_name, store) in handles(&path).into_iter().skip(1) {
            assert_rejected(&path, &*store, expected, &format!("{why} ({type_name})"));
        }
    }
}

#[test]
fn errors_name_the_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_case(dir.path(), V1.replacen(r#""AT-a-1""#, "1", 1).as_bytes());
    let err = SimpleJsonFileAdapter::new(&path)
        .get_token_data("auth.globus.org")
        .unwrap_err();
    match &err {
        Error::InvalidData { location, reason } => {
            assert_eq!(
                location,
                &format!("{}: by_rs.transfer.api.globus.org", path.display())
            );
            assert!(reason.contains("access_token"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }

    let path = write_case(dir.path(), V2.replacen("2000000000", "[]", 1).as_bytes());
    let err = JsonTokenStorage::new(&path).namespaces().unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "{}: data.DEFAULT.auth.globus.org: field `expires_at_seconds`",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn a_v2_file_is_refused_by_the_v1_adapter_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_case(dir.path(), V2.as_bytes());
    assert_rejected(
        &path,
        &SimpleJsonFileAdapter::new(&path),
        Kind::Version,
        "2.0 file",
    );
}

#[test]
fn a_directory_in_place_of_the_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    std::fs::create_dir(&path).unwrap();
    for (type_name, store) in handles(&path) {
        let err = store.get_token_data("auth.globus.org").unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{type_name}: {err:?}");
        assert!(store.store_token_data(&new_entry()).is_err());
        assert!(path.is_dir());
    }
}

/// Arbitrary bytes, and small corruptions of real files, never panic; a write either succeeds
/// or leaves the file as it was.
fn check_arbitrary(contents: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_case(dir.path(), contents);
    for (_, store) in handles(&path) {
        if let Err(err) = store.get_token_data("auth.globus.org") {
            assert_no_secret(&err);
        }
        if let Some(listing) = store.as_enumerable() {
            let _ = listing.get_by_resource_server();
            let _ = listing.namespaces();
        }
        let before = std::fs::read(&path).unwrap();
        match store.remove_token_data("nothing.example.org") {
            Ok(removed) => assert!(!removed),
            Err(err) => {
                assert_no_secret(&err);
                assert_eq!(std::fs::read(&path).unwrap(), before);
            }
        }
        match store.store_token_data(&new_entry()) {
            Ok(()) => assert!(store.get_token_data("new.example.org").unwrap().is_some()),
            Err(err) => {
                assert_no_secret(&err);
                assert_eq!(std::fs::read(&path).unwrap(), before);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(contents in proptest::collection::vec(any::<u8>(), 0..256)) {
        check_arbitrary(&contents);
    }

    #[test]
    fn corrupted_reference_files_never_panic(
        v2 in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut contents = if v2 { V2 } else { V1 }.as_bytes().to_vec();
        for (at, byte) in edits {
            let at = at.index(contents.len());
            contents[at] = byte;
        }
        contents.truncate(cut.index(contents.len() + 1).max(contents.len() / 2));
        check_arbitrary(&contents);
    }
}
