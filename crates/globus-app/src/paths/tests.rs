use std::collections::HashMap;

use serde_json::Value;

use super::*;

const CORPUS: &str = include_str!("../../tests/data/app_paths.json");

/// The path globus-sdk computes, rendered with the convention's separator (Windows paths are
/// checked on every platform this way).
fn render(
    convention: Convention,
    variables: &HashMap<String, String>,
    entry: &Value,
) -> [String; 2] {
    let var = |name: &str| variables.get(name).filter(|v| !v.is_empty()).cloned();
    let root = root_of(convention, &var, &|| None).unwrap();
    let text = |field: &str| entry[field].as_str().unwrap().to_owned();
    let slug = slugify_app_name(&text("app_name")).unwrap();
    let stem = file_stem(&text("environment"));
    let separator = match convention {
        Convention::Posix => "/",
        Convention::Windows => "\\",
    };
    let base = root
        .base
        .to_str()
        .unwrap()
        .trim_end_matches(separator)
        .to_owned();
    let mut parts = vec![base];
    parts.extend(root.below.iter().map(|s| (*s).to_owned()));
    parts.extend([text("client_id"), slug]);
    let dir = parts.join(separator);
    [
        format!("{dir}{separator}{stem}.json"),
        format!("{dir}{separator}{stem}.db"),
    ]
}

#[test]
fn paths_match_globus_sdk_on_both_platforms() {
    let corpus: Value = serde_json::from_str(CORPUS).unwrap();
    let entries = corpus["paths"].as_array().unwrap();
    assert!(
        entries.len() >= 100,
        "the corpus has {} paths",
        entries.len()
    );
    let mut windows = 0;
    for entry in entries {
        let variables: HashMap<String, String> =
            serde_json::from_value(entry["variables"].clone()).unwrap();
        let convention = match entry["platform"].as_str().unwrap() {
            "windows" => {
                windows += 1;
                Convention::Windows
            }
            _ => Convention::Posix,
        };
        let [json, db] = render(convention, &variables, entry);
        assert_eq!(json, entry["json"].as_str().unwrap(), "{entry}");
        assert_eq!(db, entry["sqlite"].as_str().unwrap(), "{entry}");

        // The native convention goes through the public API too.
        if (convention == Convention::Windows) == cfg!(windows) {
            let env = SdkEnv::from_pairs(variables.clone());
            let text = |field: &str| entry[field].as_str().unwrap();
            let location = AppLocation::new(
                text("client_id"),
                text("app_name"),
                text("environment"),
                &env,
            )
            .unwrap();
            assert_eq!(
                location.token_file(AppStorageKind::Json).unwrap(),
                Path::new(text("json"))
            );
            assert_eq!(
                location.token_file(AppStorageKind::Sqlite).unwrap(),
                Path::new(text("sqlite"))
            );
        }
    }
    assert!(windows > 0 && windows < entries.len());
}

#[test]
fn windows_falls_back_from_local_appdata_to_appdata_to_the_profile() {
    let root = |pairs: &[(&str, &str)]| {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        root_of(
            Convention::Windows,
            &|name| map.get(name).map(|v| (*v).to_owned()),
            &|| None,
        )
    };
    let local = root(&[
        ("LOCALAPPDATA", "L"),
        ("APPDATA", "R"),
        ("USERPROFILE", "U"),
    ])
    .unwrap();
    assert_eq!(
        (local.base.to_str(), local.below),
        (Some("L"), &["globus", "app"][..])
    );
    let roaming = root(&[("APPDATA", "R"), ("USERPROFILE", "U")]).unwrap();
    assert_eq!(roaming.base.to_str(), Some("R"));
    let profile = root(&[("USERPROFILE", "U")]).unwrap();
    assert_eq!(
        (profile.base.to_str(), profile.below),
        (Some("U"), &["AppData", "Local", "globus", "app"][..])
    );
    let drive = root(&[("HOMEDRIVE", "D:"), ("HOMEPATH", "\\Users\\me")]).unwrap();
    assert_eq!(drive.base.to_str(), Some("D:\\Users\\me"));
    assert!(matches!(
        root(&[]),
        Err(AppPathError::NoHomeDirectory { variables }) if variables.contains("LOCALAPPDATA")
    ));
}

#[test]
fn posix_home_falls_back_to_the_operating_system() {
    let root = root_of(Convention::Posix, &|_| None, &|| {
        Some("/from/passwd".into())
    })
    .unwrap();
    assert_eq!(root.to_path_buf(), Path::new("/from/passwd/.globus/app"));
    assert!(matches!(
        root_of(Convention::Posix, &|_| None, &|| None),
        Err(AppPathError::NoHomeDirectory { variables: "HOME" })
    ));
}

#[test]
fn production_has_no_prefix_and_other_environments_do() {
    let location = |environment: &str| {
        AppLocation::in_root(Path::new("/r"), "cid", "app", environment)
            .unwrap()
            .file_stem()
    };
    assert_eq!(location("production"), "tokens");
    assert_eq!(location("sandbox"), "sandbox-tokens");
    assert_eq!(location("Production"), "Production-tokens");
    let env = SdkEnv::from_pairs([("GLOBUS_SDK_ENVIRONMENT", "test"), ("HOME", "/h")]);
    assert_eq!(environment_name(&env), "test");
    assert_eq!(
        environment_name(&SdkEnv::from_pairs([("HOME", "/h")])),
        "production"
    );
}

#[test]
fn client_ids_and_environments_must_be_one_component() {
    for bad in ["", ".", "..", "a/b", "a\\b", "a\0b"] {
        assert!(
            matches!(
                AppLocation::in_root(Path::new("/r"), bad, "app", "production"),
                Err(AppPathError::InvalidClientId { .. })
            ),
            "{bad:?}"
        );
        assert!(
            matches!(
                AppLocation::in_root(Path::new("/r"), "cid", "app", bad),
                Err(AppPathError::InvalidEnvironment { .. })
            ),
            "{bad:?}"
        );
    }
    let err = AppLocation::in_root(Path::new("/r"), "../x", "app", "production").unwrap_err();
    assert!(err.to_string().contains("\"../x\""), "{err}");
}

#[test]
fn bad_app_names_are_typed_errors() {
    assert!(matches!(
        AppLocation::in_root(Path::new("/r"), "cid", "nul", "production"),
        Err(AppPathError::ReservedAppName { .. })
    ));
    assert!(matches!(
        AppLocation::in_root(Path::new("/r"), "cid", "", "production"),
        Err(AppPathError::EmptyAppName { .. })
    ));
}
