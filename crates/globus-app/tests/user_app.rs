//! UserApp against the fake Globus Auth over real HTTP: logins through the command-line flow
//! (the test plays the user), validation, authorizers, consents, identity, logout.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{User, config};
use globus_app::AppStorageKind;
use globus_app::app::{AppError, GlobusApp, GlobusAppConfig, UserApp};
use globus_app::validating::TokenValidationError;
use globus_scopes::{Scope, TransferScopes};
use globus_tokens_core::{TokenData, TokenStorage};
use globus_tokens_json::JsonTokenStorage;
use globus_tokens_testkit::fake_auth::{FakeAuthServer, IDENTITY_ID};

const CLIENT: &str = "0b0b5a6e-4a4b-4f2b-8b8b-000000000001";
const APP: &str = "My Test App";
const TRANSFER: &str = "transfer.api.globus.org";
const COLLECTION_SCOPE: &str =
    "https://auth.globus.org/scopes/542a86fc-1766-450d-841f-065488a2ec01/data_access";

fn setup() -> (FakeAuthServer, tempfile::TempDir, User) {
    let server = FakeAuthServer::start();
    server.register_native_client(CLIENT);
    (server, tempfile::tempdir().unwrap(), User::new())
}

fn transfer(scope: &str) -> BTreeMap<String, Vec<Scope>> {
    BTreeMap::from([(TRANSFER.to_owned(), Scope::parse(scope).unwrap())])
}

fn token_file(home: &std::path::Path) -> std::path::PathBuf {
    home.join(".globus/app")
        .join(CLIENT)
        .join("my-test-app/tokens.json")
}

#[test]
fn first_authorizer_logs_in_by_pasted_code_and_stores_at_the_app_path() {
    let (server, home, user) = setup();
    let app = UserApp::new(APP, CLIENT, config(&server, home.path(), &user)).unwrap();
    assert!(app.login_required().unwrap());
    assert_eq!(
        app.scope_requirements()["auth.globus.org"][0].to_string(),
        "openid"
    );

    let authorizer = app.authorizer("auth.globus.org").unwrap();
    assert_eq!(user.logins(), 1);
    assert!(
        user.last_url().contains("scope=openid"),
        "{}",
        user.last_url()
    );
    let header = authorizer.get_authorization_header().unwrap().unwrap();
    assert!(server.is_valid_access_token(header.strip_prefix("Bearer ").unwrap()));
    assert!(!app.login_required().unwrap());

    // Stored where globus-sdk stores it, with the verified identity.
    assert_eq!(
        app.location()
            .unwrap()
            .token_file(AppStorageKind::Json)
            .unwrap(),
        token_file(home.path())
    );
    let stored = JsonTokenStorage::new(token_file(home.path()))
        .get_token_data("auth.globus.org")
        .unwrap()
        .unwrap();
    assert_eq!(stored.identity_id.as_deref(), Some(IDENTITY_ID));
    assert_eq!(
        app.token_storage().identity_id().as_deref(),
        Some(IDENTITY_ID)
    );
    // The id_token was verified: discovery and keys were fetched from the fake.
    assert_eq!(server.requests_to("/jwk.json"), 1);
}

#[test]
fn valid_stored_tokens_give_an_authorizer_without_any_request() {
    let (server, home, user) = setup();
    let app = UserApp::new(APP, CLIENT, config(&server, home.path(), &user)).unwrap();
    app.login(false).unwrap();
    assert_eq!(server.token_requests(), 1);
    drop(app);

    // A new process, in effect: a new app on the same file; the user would refuse to log in.
    let user = User::new();
    user.set_willing(false);
    let app = UserApp::new(APP, CLIENT, config(&server, home.path(), &user)).unwrap();
    assert!(!app.login_required().unwrap());
    let header = app
        .authorizer("auth.globus.org")
        .unwrap()
        .get_authorization_header()
        .unwrap()
        .unwrap();
    assert!(server.is_valid_access_token(header.strip_prefix("Bearer ").unwrap()));
    assert_eq!(server.token_requests(), 1);
    assert_eq!(user.logins(), 0);
    // login() without force does nothing when nothing is required.
    app.login(false).unwrap();
    assert_eq!(user.logins(), 0);
}

#[test]
fn an_added_requirement_needs_a_login_which_meets_it() {
    let (server, home, user) = setup();
    let app = UserApp::new(APP, CLIENT, config(&server, home.path(), &user)).unwrap();
    app.login(false).unwrap();
    app.add_scope_requirements(transfer(TransferScopes::ALL));
    assert!(app.login_required().unwrap());
    app.login(false).unwrap();
    assert_eq!(user.logins(), 2);
    assert!(user.last_url().contains("transfer.api.globus.org"));
    assert!(!app.login_required().unwrap());
    let header = app
        .authorizer(TRANSFER)
        .unwrap()
        .get_authorization_header()
        .unwrap()
        .unwrap();
    let token = header.strip_prefix("Bearer ").unwrap();
    assert_eq!(
        server.access_token_info(token).unwrap().0,
        TRANSFER.to_owned()
    );
    assert_eq!(user.logins(), 2);
}

#[test]
fn a_dependent_scope_missing_from_the_consents_needs_a_login() {
    let (server, home, user) = setup();
    let app = UserApp::new(APP, CLIENT, config(&server, home.path(), &user)).unwrap();
    app.add_scope_requirements(transfer(TransferScopes::ALL));
    app.login(false).unwrap();
    assert!(!app.login_required().unwrap());

    // Same root scope, now with a dependent scope the user never consented to.
    let app = UserApp::new(APP, CLIENT, config(&server, home.path(), &user)).unwrap();
    app.add_scope_requirements(transfer(&format!(
        "{}[{COLLECTION_SCOPE}]",
        TransferScopes::ALL
    )));
    let consent_lookups = server.requests_to(&format!("/v2/api/identities/{IDENTITY_ID}/consents"));
    assert!(app.login_required().unwrap());
    assert_eq!(
        server.requests_to(&format!("/v2/api/identities/{IDENTITY_ID}/consents")),
        consent_lookups + 1
    );
    let err = app
        .token_storage()
        .get_validated_token_data(TRANSFER)
        .unwrap_err();
    assert!(
        matches!(
            err,
            TokenValidationError::UnmetScopeRequirements {
                dependent: true,
                ..
            }
        ),
        "{err}"
    );

    // The authorizer logs in (asking for the dependent scope); consents then meet it.
    app.authorizer(TRANSFER).unwrap();
    assert_eq!(user.logins(), 2);
    assert!(
        user.last_url().contains("data_access"),
        "{}",
        user.last_url()
    );
    assert!(!app.login_required().unwrap());
}

#[test]
fn another_identity_is_refused_with_a_typed_error_and_the_file_unchanged() {
    let (server, home, user) = setup();
    // Someone else's tokens are stored for this app.
    let path = token_file(home.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let theirs = TokenData::new("auth.globus.org", "openid", "AT-theirs", 4_000_000_000)
        .with_identity_id("someone-else");
    JsonTokenStorage::new(&path)
        .with_namespace("DEFAULT")
        .store_token_data(&BTreeMap::from([(theirs.resource_server.clone(), theirs)]))
        .unwrap();
    let before = std::fs::read(&path).unwrap();

    let app = UserApp::new(APP, CLIENT, config(&server, home.path(), &user)).unwrap();
    app.add_scope_requirements(transfer(TransferScopes::ALL));
    // Transfer tokens are missing: the handler logs in, and the new tokens are the fake
    // user's, not the stored identity's.
    let Err(err) = app.authorizer(TRANSFER) else {
        panic!("no error")
    };
    match err.validation_error() {
        Some(TokenValidationError::IdentityMismatch { stored_id, new_id }) => {
            assert_eq!(stored_id, "someone-else");
            assert_eq!(new_id, IDENTITY_ID);
        }
        other => panic!("{other:?} from {err}"),
    }
    assert_eq!(
        user.logins(),
        1,
        "a mismatch is not retried by another login"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn logout_revokes_and_removes_everything_then_another_login_works() {
    let (server, home, user) = setup();
    let config = config(&server, home.path(), &user).with_request_refresh_tokens(true);
    let app = UserApp::new(APP, CLIENT, config).unwrap();
    app.add_scope_requirements(transfer(TransferScopes::ALL));
    app.login(false).unwrap();
    let stored: Vec<TokenData> = ["auth.globus.org", TRANSFER]
        .iter()
        .map(|rs| app.token_storage().get_validated_token_data(rs).unwrap())
        .collect();
    assert!(stored.iter().all(|d| d.refresh_token.is_some()));

    app.logout().unwrap();
    let revoked = server.revoked_tokens();
    for data in &stored {
        assert!(revoked.contains(&data.access_token.expose().to_owned()));
        assert!(revoked.contains(&data.refresh_token.as_ref().unwrap().expose().to_owned()));
    }
    let file = JsonTokenStorage::new(token_file(home.path()));
    assert!(file.get_token_data("auth.globus.org").unwrap().is_none());
    assert!(file.get_token_data(TRANSFER).unwrap().is_none());
    assert!(app.login_required().unwrap());
    app.login(false).unwrap();
    assert_eq!(user.logins(), 2);
}

#[test]
fn refresh_tokens_renew_through_the_store() {
    let (server, home, user) = setup();
    let config = config(&server, home.path(), &user).with_request_refresh_tokens(true);
    let app = UserApp::new(APP, CLIENT, config).unwrap();
    app.add_scope_requirements(transfer(TransferScopes::ALL));
    // Tokens that are stale as soon as they are issued.
    server.set_expires_in(10);
    app.login(false).unwrap();
    let requests = server.token_requests();
    let old = app
        .token_storage()
        .get_validated_token_data(TRANSFER)
        .unwrap();
    let authorizer = app.authorizer(TRANSFER).unwrap();
    server.set_expires_in(3600);
    let header = authorizer.get_authorization_header().unwrap().unwrap();
    assert_eq!(server.token_requests(), requests + 1, "one refresh");
    let new = app
        .token_storage()
        .get_validated_token_data(TRANSFER)
        .unwrap();
    assert_ne!(new.access_token.expose(), old.access_token.expose());
    assert_eq!(header, format!("Bearer {}", new.access_token.expose()));
    assert_eq!(new.identity_id.as_deref(), Some(IDENTITY_ID));
    assert_eq!(user.logins(), 1);
}

#[test]
fn without_a_handler_validation_errors_are_returned() {
    let (server, home, user) = setup();
    let config = config(&server, home.path(), &user).with_token_validation_error_handler(None);
    let app = UserApp::new(APP, CLIENT, config).unwrap();
    let Err(err) = app.authorizer("auth.globus.org") else {
        panic!("no error")
    };
    assert!(
        matches!(
            err,
            AppError::Validation(TokenValidationError::MissingToken { .. })
        ),
        "{err}"
    );
    assert_eq!(user.logins(), 0);
}

#[test]
fn a_cancelled_login_is_an_error() {
    let (server, home, user) = setup();
    user.set_willing(false);
    let app = UserApp::new(APP, CLIENT, config(&server, home.path(), &user)).unwrap();
    let err = app.login(true).unwrap_err();
    assert!(matches!(err, AppError::LoginCancelled { .. }), "{err}");
}

#[test]
fn sqlite_and_memory_storage() {
    let (server, home, user) = setup();
    let app = UserApp::new(
        APP,
        CLIENT,
        config(&server, home.path(), &user).with_token_storage(AppStorageKind::Sqlite),
    )
    .unwrap();
    app.login(false).unwrap();
    assert!(token_file(home.path()).with_extension("db").exists());
    let app = UserApp::new(
        APP,
        CLIENT,
        config(&server, home.path(), &user).with_token_storage(AppStorageKind::Sqlite),
    )
    .unwrap();
    assert!(!app.login_required().unwrap());
    app.close();

    let memory = UserApp::new(
        APP,
        CLIENT,
        config(&server, home.path(), &user).with_token_storage(AppStorageKind::Memory),
    )
    .unwrap();
    assert!(memory.login_required().unwrap());
}

#[test]
fn apps_are_shared_across_threads_and_log_in_once() {
    let (server, home, user) = setup();
    let app = Arc::new(UserApp::new(APP, CLIENT, config(&server, home.path(), &user)).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let app = Arc::clone(&app);
            std::thread::spawn(move || {
                app.authorizer("auth.globus.org")
                    .unwrap()
                    .get_authorization_header()
                    .unwrap()
            })
        })
        .collect();
    for thread in threads {
        assert!(thread.join().unwrap().is_some());
    }
    assert_eq!(user.logins(), 1);
}

#[test]
fn secrets_never_show() {
    let (server, home, user) = setup();
    let app = UserApp::confidential(
        APP,
        CLIENT,
        "the-client-secret",
        config(&server, home.path(), &user),
    )
    .unwrap();
    let shown = format!("{app:?} {:?}", GlobusAppConfig::default());
    assert!(!shown.contains("the-client-secret"), "{shown}");
    // A confidential client the fake does not know: the exchange fails; no secret or code shows.
    let err = app.login(true).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("the-client-secret"), "{text}");
    let codes = user.0.lock().unwrap().codes.clone();
    assert_eq!(codes.len(), 1);
    assert!(!text.contains(&codes[0]), "{text}");
}

#[test]
fn the_environment_picks_globus_auth_and_the_file_name() {
    let home = tempfile::tempdir().unwrap();
    let env = globus_authorizers::SdkEnv::from_pairs([("HOME", home.path().display().to_string())]);
    let app = UserApp::new(
        APP,
        CLIENT,
        GlobusAppConfig::default()
            .with_env(env.clone())
            .with_environment("sandbox"),
    )
    .unwrap();
    assert_eq!(
        app.auth_client().base_url(),
        "https://auth.sandbox.globuscs.info/"
    );
    let file = app
        .location()
        .unwrap()
        .token_file(AppStorageKind::Json)
        .unwrap();
    assert!(
        file.ends_with("my-test-app/sandbox-tokens.json"),
        "{}",
        file.display()
    );

    // GLOBUS_SDK_ENVIRONMENT when the config names none; production by default.
    let preview = globus_authorizers::SdkEnv::from_pairs([
        ("HOME", home.path().display().to_string()),
        ("GLOBUS_SDK_ENVIRONMENT", "preview".to_owned()),
    ]);
    let app = UserApp::new(APP, CLIENT, GlobusAppConfig::default().with_env(preview)).unwrap();
    assert_eq!(
        app.auth_client().base_url(),
        "https://auth.preview.globus.org/"
    );
    let app = UserApp::new(APP, CLIENT, GlobusAppConfig::default().with_env(env)).unwrap();
    assert_eq!(app.auth_client().base_url(), "https://auth.globus.org/");
    assert!(
        app.location()
            .unwrap()
            .token_file(AppStorageKind::Json)
            .unwrap()
            .ends_with("my-test-app/tokens.json")
    );
}

#[test]
fn any_token_storage_and_a_custom_handler() {
    let (server, home, user) = setup();
    let store = Arc::new(globus_tokens_core::MemoryTokenStorage::new());
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handler: globus_app::app::ValidationErrorHandler = {
        let calls = Arc::clone(&calls);
        Arc::new(move |app: &dyn GlobusApp, err: TokenValidationError| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            assert!(matches!(err, TokenValidationError::MissingToken { .. }));
            // Log in only for the app's own resource server: Transfer stays missing.
            app.login(false)
        })
    };
    let config = config(&server, home.path(), &user)
        .with_token_storage(globus_app::app::AppTokenStorage::Custom(store.clone()))
        .with_token_validation_error_handler(Some(handler));
    let app = UserApp::new(APP, CLIENT, config).unwrap();
    assert!(app.location().is_none());
    app.authorizer("auth.globus.org").unwrap();
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(store.get_token_data("auth.globus.org").unwrap().is_some());
    assert!(!token_file(home.path()).exists());

    // The handler returns Ok without fixing anything: the retry's error comes back.
    let Err(err) = app.authorizer(TRANSFER) else {
        panic!("no transfer tokens, yet an authorizer")
    };
    assert!(
        matches!(
            err.validation_error(),
            Some(TokenValidationError::MissingToken { resource_server }) if resource_server == TRANSFER
        ),
        "{err}"
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(user.logins(), 1);
}

#[test]
fn a_forged_or_misaddressed_id_token_stores_nothing() {
    use globus_tokens_testkit::fake_auth::IdTokenFault;
    for fault in [
        IdTokenFault::Forged,
        IdTokenFault::WrongAudience("another-client".to_owned()),
        IdTokenFault::Algorithm("none".to_owned()),
    ] {
        let (server, home, user) = setup();
        server.set_id_token_fault(Some(fault.clone()));
        let app = UserApp::new(APP, CLIENT, config(&server, home.path(), &user)).unwrap();
        let err = app.login(false).unwrap_err();
        assert!(
            matches!(
                err.validation_error(),
                Some(TokenValidationError::InvalidIdToken { .. })
            ),
            "{fault:?}: {err}"
        );
        assert!(!token_file(home.path()).exists(), "{fault:?}");
        assert_eq!(app.token_storage().identity_id(), None);
    }
}
