//! Renewal through a validating app store: the one renewal path (`StoreRenewal`, under the
//! store's lock) works on a stale token the validators would refuse to return, and keeps the
//! identity, so `UnchangingIdentityIdValidator` accepts the renewed entry.

use std::sync::Arc;

use globus_app::paths::AppLocation;
use globus_app::validating::{
    HasRefreshTokensValidator, NotExpiredValidator, TokenValidationError,
    UnchangingIdentityIdValidator, ValidatingTokenStorage,
};
use globus_app::{AppStorageKind, open_app_storage};
use globus_authorizers::{AuthClient, StoreRenewal};
use globus_tokens_core::{Clock, SystemClock, TokenData, TokenStorage};
use globus_tokens_testkit::fake_auth::FakeAuthServer;

const CLIENT: &str = "app-renewal-client";
const TRANSFER: &str = "transfer.api.globus.org";
const SCOPE: &str = "urn:globus:auth:scope:transfer.api.globus.org:all";

fn renew_in(kind: AppStorageKind) {
    let auth = FakeAuthServer::start();
    auth.register_native_client(CLIENT);
    let root = tempfile::tempdir().unwrap();
    let location = AppLocation::in_root(root.path(), CLIENT, "renewal", "production").unwrap();
    let raw = open_app_storage(&location, kind).unwrap();
    let stale = TokenData::new(
        TRANSFER,
        SCOPE,
        auth.issue_access_token(TRANSFER, SCOPE),
        1_000,
    )
    .with_refresh_token(auth.issue_refresh_token(CLIENT, TRANSFER, SCOPE))
    .with_identity_id("alice");
    raw.store_token_data(&[(TRANSFER.to_owned(), stale.clone())].into())
        .unwrap();

    let store = ValidatingTokenStorage::new(raw)
        .unwrap()
        .with_validator(NotExpiredValidator::default())
        .with_validator(HasRefreshTokensValidator)
        .with_validator(UnchangingIdentityIdValidator);
    assert!(matches!(
        store.get_validated_token_data(TRANSFER),
        Err(TokenValidationError::Expired { .. })
    ));

    let client = Arc::new(
        AuthClient::builder(CLIENT)
            .base_url(auth.base_url())
            .build()
            .unwrap(),
    );
    let renewed = StoreRenewal::new(client)
        .renew(&store, TRANSFER, None)
        .unwrap();
    assert_ne!(renewed.access_token, stale.access_token);
    assert!(renewed.expires_at_seconds > SystemClock.now_seconds());
    assert_eq!(renewed.identity_id.as_deref(), Some("alice"));

    let read = store.get_validated_token_data(TRANSFER).unwrap();
    assert_eq!(read.access_token, renewed.access_token);
    assert_eq!(read.identity_id.as_deref(), Some("alice"));
    assert_eq!(auth.token_requests(), 1);
}

#[test]
fn renewal_through_a_validating_json_app_store() {
    renew_in(AppStorageKind::Json);
}

#[test]
fn renewal_through_a_validating_sqlite_app_store() {
    renew_in(AppStorageKind::Sqlite);
}
