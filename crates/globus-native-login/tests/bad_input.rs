//! Bad files are typed errors naming the file, section and option (never a value); a write on
//! top of a bad file fails and leaves it byte-for-byte as it was; no input panics.

use globus_native_login::{JsonLoginTokenStorage, LoginTokenStorage, MultiClientTokenStorage};
use globus_tokens_core::{TokenData, TokenStorage};
use proptest::prelude::*;

const GOOD_GROUP: &str = "a_b__scope = s\na_b__access_token = AT-secret\na_b__refresh_token = \na_b__token_type = Bearer\na_b__expires_at_seconds = 5\na_b__resource_server = a.b\n";

fn ini_error(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apps.cfg");
    std::fs::write(&path, text).unwrap();
    let storage = MultiClientTokenStorage::new(&path, "c");
    let err = storage.read_tokens().unwrap_err().to_string();
    let write = storage.write_tokens(&[("x".to_owned(), TokenData::new("x", "s", "AT", 1))].into());
    assert!(write.is_err(), "write on a bad file must fail");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "bad file changed"
    );
    assert!(err.contains("apps.cfg"), "{err}");
    assert!(!err.contains("secret"), "{err}");
    err
}

#[test]
fn ini_errors_name_file_section_and_option() {
    let section = |body: &str| format!("[c]\n{body}");
    let cases: Vec<(String, &str)> = vec![
        ("a_b__scope = s\n".to_owned(), "before any [section]"),
        (section("not an option line\n"), "line 2"),
        ("[c]\n[c]\n".to_owned(), "appears twice"),
        (section("x__scope = 1\nX__SCOPE = 2\n"), "appears twice"),
        (section("no_separator = secret\n"), "[c] no_separator"),
        (section("a__b__scope = secret\n"), "exactly one"),
        (section("a_b__colour = secret\n"), "unknown token field"),
        (
            section(&GOOD_GROUP.replace("a_b__resource_server = a.b\n", "")),
            "a_b__resource_server",
        ),
        (
            section(&GOOD_GROUP.replace("= 5", "= soon-secret")),
            "a_b__expires_at_seconds",
        ),
        (
            section(&GOOD_GROUP.replace("= AT-secret", "= AT-%(x)s-secret")),
            "interpolation",
        ),
        (
            section(&format!(
                "{GOOD_GROUP}z__resource_server = a.b\nz__scope = s\nz__access_token = AT\nz__expires_at_seconds = 1\n"
            )),
            "second token group",
        ),
    ];
    for (text, expected) in &cases {
        let err = ini_error(text);
        assert!(err.contains(expected), "{text:?}: {err}");
    }
    let err = ini_error("[c]\n\u{0}\u{ff}");
    assert!(err.contains("line 2"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apps.cfg");
    std::fs::write(&path, b"[c]\n\xff\xfe = 1\n").unwrap();
    let err = MultiClientTokenStorage::new(&path, "c")
        .read_tokens()
        .unwrap_err();
    assert!(err.to_string().contains("UTF-8"), "{err}");
}

#[test]
fn ini_reads_what_configparser_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apps.cfg");
    // Comments, ':' delimiter, upper-case keys, CRLF, a DEFAULT section, %% for %.
    let text = "# written by hand\r\n[DEFAULT]\r\na_b__token_type = Bearer\r\n[c]\r\n; comment\r\nA_B__SCOPE: s1\r\n  s2\r\na_b__access_token = AT%%1\r\na_b__refresh_token =\r\na_b__expires_at_seconds = +7\r\na_b__resource_server = a.b\r\n";
    std::fs::write(&path, text).unwrap();
    let tokens = MultiClientTokenStorage::new(&path, "c")
        .read_tokens()
        .unwrap();
    let data = &tokens["a.b"];
    assert_eq!(data.scope, "s1\ns2");
    assert_eq!(data.access_token.expose(), "AT%1");
    assert_eq!(data.refresh_token, None);
    assert_eq!(data.token_type.as_deref(), Some("Bearer"));
    assert_eq!(data.expires_at_seconds, 7);
}

#[test]
fn json_errors_are_typed() {
    for (text, expected) in [
        ("{", "not valid JSON"),
        ("[]", "root must be a JSON object"),
        (r#"{"a": 1}"#, "must be a JSON object"),
        (
            r#"{"a": {"scope": "s", "access_token": 5, "expires_at_seconds": 1}}"#,
            "access_token",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mytokens.json");
        std::fs::write(&path, text).unwrap();
        let storage = JsonLoginTokenStorage::new(&path);
        let err = storage.read_tokens().unwrap_err().to_string();
        assert!(
            err.contains(expected) && err.contains("mytokens.json"),
            "{text}: {err}"
        );
        assert!(
            storage
                .store_token_data(&[("x".to_owned(), TokenData::new("x", "s", "AT", 1))].into())
                .is_err()
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any bytes: an error or tokens, never a panic.
    #[test]
    fn ini_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("apps.cfg");
        std::fs::write(&path, &bytes).unwrap();
        let _ = MultiClientTokenStorage::new(&path, "c").read_tokens();
    }

    /// Text that looks like an INI file: an error or tokens, never a panic.
    #[test]
    fn ini_like_text_never_panics(text in "(\\[c\\]\n|[ \t]*[a-z_.]{0,6}__(scope|access_token|expires_at_seconds|resource_server|refresh_token)[ ]?[=:][ ]?[a-z0-9%()._ -]{0,8}\n|[#;]x\n|\n|  cont\n){0,12}") {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("apps.cfg");
        std::fs::write(&path, &text).unwrap();
        let _ = MultiClientTokenStorage::new(&path, "c").read_tokens();
    }

    /// Whatever we write in a section reads back the same.
    #[test]
    fn ini_round_trips(scope in "[a-zA-Z0-9:/. %é\n-]{0,30}", token in "[A-Za-z0-9%=:._-]{1,30}", expires in any::<i64>()) {
        let scope: String = scope.split('\n').map(str::trim).collect::<Vec<_>>().join("\n").trim().to_owned();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("apps.cfg");
        let storage = MultiClientTokenStorage::new(&path, "c");
        let data = TokenData::new("x.example.org", scope, token.clone(), expires).with_refresh_token(token);
        storage.store_token_data(&[(data.resource_server.clone(), data.clone())].into()).unwrap();
        prop_assert_eq!(storage.get_token_data("x.example.org").unwrap(), Some(data));
    }
}
