use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use globus_tokens_core::{ManualClock, MemoryTokenStorage};

use super::*;
use crate::validating::identity::tests::response;
use crate::validating::{
    HasRefreshTokensValidator, NotExpiredValidator, UnchangingIdentityIdValidator,
};

const AUTH: &str = "auth.globus.org";
const TRANSFER: &str = "transfer.api.globus.org";

fn entry(rs: &str, token: &str, identity: Option<&str>) -> (String, TokenData) {
    let mut data = TokenData::new(rs, "s", token, 2_000_000_000).with_refresh_token("RT");
    data.identity_id = identity.map(str::to_owned);
    (rs.to_owned(), data)
}

fn user_store(inner: MemoryTokenStorage) -> ValidatingTokenStorage<MemoryTokenStorage> {
    ValidatingTokenStorage::new(inner)
        .unwrap()
        .with_validator(UnchangingIdentityIdValidator)
}

#[test]
fn a_login_response_records_its_identity_in_every_entry() {
    let store = user_store(MemoryTokenStorage::new());
    store
        .store_token_response(&response(Some("alice"), 1_000))
        .unwrap();
    assert_eq!(store.identity_id().as_deref(), Some("alice"));
    for rs in [AUTH, TRANSFER] {
        let data = store.inner().get_token_data(rs).unwrap().unwrap();
        assert_eq!(data.identity_id.as_deref(), Some("alice"), "{rs}");
        assert_eq!(data.expires_at_seconds, 4_600);
    }
}

#[test]
fn the_stored_identity_is_read_when_made_and_another_is_refused_leaving_the_store_alone() {
    let inner = MemoryTokenStorage::new();
    inner
        .store_token_data(&[entry(TRANSFER, "AT-alice", Some("alice"))].into())
        .unwrap();
    let store = user_store(inner);
    assert_eq!(store.identity_id().as_deref(), Some("alice"));

    let err = store
        .store_token_response(&response(Some("bob"), 0))
        .unwrap_err();
    assert!(matches!(
        &err,
        TokenValidationError::IdentityMismatch { stored_id, new_id } if stored_id == "alice" && new_id == "bob"
    ));
    assert!(!err.is_resolvable_by_login());
    let kept = store.inner().get_token_data(TRANSFER).unwrap().unwrap();
    assert_eq!(kept.access_token.expose(), "AT-alice");
    assert!(store.inner().get_token_data(AUTH).unwrap().is_none());

    // Through the TokenStorage trait: the same refusal, as a storage error that carries it.
    let err = TokenStorage::store(&store, &response(Some("bob"), 0)).unwrap_err();
    assert!(matches!(
        TokenValidationError::find_in(&err),
        Some(TokenValidationError::IdentityMismatch { .. })
    ));
    assert!(!err.to_string().contains("AT-"), "{err}");
    store
        .store_token_response(&response(Some("alice"), 0))
        .unwrap();
}

#[test]
fn stored_tokens_of_two_identities_cannot_be_validated() {
    let inner = MemoryTokenStorage::new();
    inner
        .store_token_data(
            &[
                entry(AUTH, "a", Some("alice")),
                entry(TRANSFER, "b", Some("bob")),
            ]
            .into(),
        )
        .unwrap();
    assert!(matches!(
        ValidatingTokenStorage::new(inner),
        Err(TokenValidationError::MixedIdentities { identity_ids }) if identity_ids == ["alice", "bob"]
    ));
}

#[test]
fn a_response_without_id_token_is_refused_by_user_apps_and_kept_without_identity_otherwise() {
    let store = user_store(MemoryTokenStorage::new());
    assert!(matches!(
        store.store_token_response(&response(None, 0)),
        Err(TokenValidationError::MissingIdentity)
    ));
    assert!(store.inner().get_token_data(AUTH).unwrap().is_none());

    // ClientApp: no identity validator, so client-credential tokens are stored as they are.
    let client = ValidatingTokenStorage::new(MemoryTokenStorage::new()).unwrap();
    client.store_token_response(&response(None, 0)).unwrap();
    assert_eq!(client.identity_id(), None);
    assert_eq!(
        client
            .inner()
            .get_token_data(AUTH)
            .unwrap()
            .unwrap()
            .identity_id,
        None
    );
}

#[test]
fn a_refresh_response_gets_the_remembered_identity() {
    let store = user_store(MemoryTokenStorage::new());
    store
        .store_token_response(&response(Some("alice"), 0))
        .unwrap();
    // Renewal responses have no id_token; as globus-sdk, the stored identity is used.
    store.on_refresh(&response(None, 500)).unwrap();
    let data = store.inner().get_token_data(TRANSFER).unwrap().unwrap();
    assert_eq!(data.identity_id.as_deref(), Some("alice"));
    assert_eq!(data.expires_at_seconds, 4_100);
    // Even one whose id_token names someone else: a refresh keeps the identity.
    store
        .store_refresh_response(&response(Some("bob"), 0))
        .unwrap();
    let data = store.inner().get_token_data(TRANSFER).unwrap().unwrap();
    assert_eq!(data.identity_id.as_deref(), Some("alice"));
    // With nothing remembered, a refresh response has no identity.
    let fresh = user_store(MemoryTokenStorage::new());
    assert!(matches!(
        fresh.store_refresh_response(&response(None, 0)),
        Err(TokenValidationError::MissingIdentity)
    ));
}

#[test]
fn missing_tokens_are_an_error_inherently_and_none_through_the_trait() {
    let store = user_store(MemoryTokenStorage::new());
    assert!(matches!(
        store.get_validated_token_data(TRANSFER),
        Err(TokenValidationError::MissingToken { resource_server }) if resource_server == TRANSFER
    ));
    assert_eq!(
        TokenStorage::get_token_data(&store, TRANSFER).unwrap(),
        None
    );
}

#[test]
fn reads_run_after_retrieve_hooks() {
    let clock = Arc::new(ManualClock::new(1_000));
    let inner = MemoryTokenStorage::new();
    let mut data = TokenData::new(TRANSFER, "s", "AT", 2_000);
    data.identity_id = Some("alice".into());
    inner
        .store_token_data(&[(TRANSFER.to_owned(), data)].into())
        .unwrap();
    let store = ValidatingTokenStorage::new(inner)
        .unwrap()
        .with_validator(NotExpiredValidator::new(clock.clone()));
    assert!(store.get_validated_token_data(TRANSFER).is_ok());
    assert!(
        TokenStorage::get_token_data(&store, TRANSFER)
            .unwrap()
            .is_some()
    );
    clock.set(2_001);
    assert!(matches!(
        store.get_validated_token_data(TRANSFER),
        Err(TokenValidationError::Expired {
            expires_at_seconds: 2_000,
            ..
        })
    ));
    let err = TokenStorage::get_token_data(&store, TRANSFER).unwrap_err();
    assert!(matches!(
        TokenValidationError::find_in(&err),
        Some(TokenValidationError::Expired { .. })
    ));
    let listing = store.as_enumerable().unwrap();
    assert!(listing.get_by_resource_server().is_err());
    assert!(store.get_validated_token_data_by_resource_server().is_err());
    // Removal is never validated.
    assert!(store.remove_token_data(TRANSFER).unwrap());
}

#[test]
fn renewal_of_an_expired_token_is_allowed_and_its_write_is_checked() {
    let clock = Arc::new(ManualClock::new(3_000_000_000));
    let inner = MemoryTokenStorage::new();
    inner
        .store_token_data(&[entry(TRANSFER, "AT-old", Some("alice"))].into())
        .unwrap();
    let store = user_store(inner).with_validator(NotExpiredValidator::new(clock));

    // The entry read for renewal is not checked (it is expired), only what is written.
    let stored = store
        .update_token_data(TRANSFER, &mut |current| {
            let mut renewed = current?.clone();
            renewed.access_token = "AT-new".into();
            renewed.expires_at_seconds = 4_000_000_000;
            Some(renewed)
        })
        .unwrap()
        .unwrap();
    assert_eq!(stored.access_token.expose(), "AT-new");

    // A write of another identity is refused and nothing is written.
    let err = store
        .update_token_data(TRANSFER, &mut |current| {
            let mut theirs = current?.clone();
            theirs.access_token = "AT-bob".into();
            theirs.identity_id = Some("bob".into());
            Some(theirs)
        })
        .unwrap_err();
    assert!(matches!(
        TokenValidationError::find_in(&err),
        Some(TokenValidationError::IdentityMismatch { .. })
    ));
    let kept = store.inner().get_token_data(TRANSFER).unwrap().unwrap();
    assert_eq!(kept.access_token.expose(), "AT-new");

    // Writing nothing is not validated.
    let unchanged = store.update_token_data(TRANSFER, &mut |_| None).unwrap();
    assert_eq!(unchanged.unwrap().access_token.expose(), "AT-new");
}

#[test]
fn compare_and_swap_checks_the_new_entry() {
    let store = user_store(MemoryTokenStorage::new());
    let (_, first) = entry(TRANSFER, "AT-1", Some("alice"));
    assert_eq!(
        store.compare_and_swap(None, &first).unwrap(),
        SwapOutcome::Swapped
    );
    assert_eq!(store.identity_id().as_deref(), Some("alice"));
    let (_, theirs) = entry(TRANSFER, "AT-2", Some("bob"));
    let err = store.compare_and_swap(Some(&first), &theirs).unwrap_err();
    assert!(TokenValidationError::find_in(&err).is_some());
    let (_, mine) = entry(TRANSFER, "AT-3", Some("alice"));
    assert_eq!(
        store.compare_and_swap(Some(&first), &mine).unwrap(),
        SwapOutcome::Swapped
    );
    assert!(matches!(
        store.compare_and_swap(Some(&first), &mine).unwrap(),
        SwapOutcome::Conflict(Some(_))
    ));
}

#[test]
fn a_refused_first_write_remembers_no_identity() {
    let store = user_store(MemoryTokenStorage::new()).with_validator(
        crate::validating::ScopeRequirementsValidator::roots_only(BTreeMap::from([(
            TRANSFER.to_owned(),
            vec![crate::validating::RootScope::new("not-granted")],
        )])),
    );
    assert!(matches!(
        store.store_token_response(&response(Some("bob"), 0)),
        Err(TokenValidationError::UnmetScopeRequirements { .. })
    ));
    assert_eq!(store.identity_id(), None);
}

#[test]
fn validators_run_in_order_and_the_first_refusal_wins() {
    #[derive(Debug)]
    struct Counting(Arc<AtomicUsize>);
    impl TokenDataValidator for Counting {
        fn after_retrieve(
            &self,
            _: &TokenDataByResourceServer,
            _: &TokenValidationContext,
        ) -> std::result::Result<(), TokenValidationError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let inner = MemoryTokenStorage::new();
    let mut no_refresh = TokenData::new(TRANSFER, "s", "AT", 2_000_000_000);
    no_refresh.identity_id = Some("alice".into());
    inner
        .store_token_data(&[(TRANSFER.to_owned(), no_refresh)].into())
        .unwrap();
    let mut store = ValidatingTokenStorage::new(inner)
        .unwrap()
        .with_validator(Counting(calls.clone()));
    assert!(store.get_validated_token_data(TRANSFER).is_ok());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    store.insert_validator(0, HasRefreshTokensValidator);
    store.insert_validator(99, Counting(calls.clone()));
    assert_eq!(store.validators().len(), 3);
    assert!(matches!(
        store.get_validated_token_data(TRANSFER),
        Err(TokenValidationError::MissingRefreshToken { .. })
    ));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "later validators did not run"
    );
}

#[test]
fn the_identity_decoder_is_replaceable() {
    /// A decoder that trusts nothing: the seam a verifying decoder plugs into.
    #[derive(Debug)]
    struct Rejecting;
    impl IdentityDecoder for Rejecting {
        fn identity_id(
            &self,
            _: &TokenResponse,
        ) -> std::result::Result<Option<String>, TokenValidationError> {
            Err(TokenValidationError::InvalidIdToken {
                reason: "signature does not verify".into(),
                source: None,
            })
        }
    }
    /// A decoder that maps every token to one identity.
    #[derive(Debug)]
    struct Fixed;
    impl IdentityDecoder for Fixed {
        fn identity_id(
            &self,
            response: &TokenResponse,
        ) -> std::result::Result<Option<String>, TokenValidationError> {
            Ok(response.id_token().map(|_| "verified-id".to_owned()))
        }
    }
    let store = user_store(MemoryTokenStorage::new()).with_identity_decoder(Rejecting);
    assert!(matches!(
        store.store_token_response(&response(Some("alice"), 0)),
        Err(TokenValidationError::InvalidIdToken { .. })
    ));
    assert!(store.inner().get_token_data(AUTH).unwrap().is_none());

    let store = user_store(MemoryTokenStorage::new()).with_identity_decoder(Arc::new(Fixed));
    store
        .store_token_response(&response(Some("alice"), 0))
        .unwrap();
    assert_eq!(store.identity_id().as_deref(), Some("verified-id"));
    let data = store.inner().get_token_data(TRANSFER).unwrap().unwrap();
    assert_eq!(data.identity_id.as_deref(), Some("verified-id"));
}

/// A store that cannot list, as DynamoDB's seed layout.
struct Unlisted(MemoryTokenStorage);

impl TokenStorage for Unlisted {
    fn namespace(&self) -> &str {
        self.0.namespace()
    }
    fn store_token_data(&self, data: &BTreeMap<String, TokenData>) -> Result<()> {
        self.0.store_token_data(data)
    }
    fn get_token_data(&self, rs: &str) -> Result<Option<TokenData>> {
        self.0.get_token_data(rs)
    }
    fn remove_token_data(&self, rs: &str) -> Result<bool> {
        self.0.remove_token_data(rs)
    }
    fn compare_and_swap(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> Result<SwapOutcome> {
        self.0.compare_and_swap(expected, new)
    }
}

#[test]
fn listing_follows_the_inner_store_and_identity_is_learned_from_reads() {
    let inner = MemoryTokenStorage::new();
    inner
        .store_token_data(&[entry(TRANSFER, "AT", Some("alice"))].into())
        .unwrap();
    let store = user_store(inner.clone());
    assert!(store.as_enumerable().is_some());
    assert_eq!(store.namespaces().unwrap(), ["DEFAULT"]);

    let unlisted = ValidatingTokenStorage::new(Unlisted(inner))
        .unwrap()
        .with_validator(UnchangingIdentityIdValidator);
    assert!(unlisted.as_enumerable().is_none());
    assert!(
        unlisted
            .get_validated_token_data_by_resource_server()
            .is_err()
    );
    // Nothing could be listed at first; the identity is learned from the first read.
    assert_eq!(unlisted.identity_id(), None);
    unlisted.get_validated_token_data(TRANSFER).unwrap();
    assert_eq!(unlisted.identity_id().as_deref(), Some("alice"));
    assert!(
        unlisted
            .store_token_response(&response(Some("bob"), 0))
            .is_err()
    );
}

#[test]
fn threads_racing_to_log_in_first_leave_one_identity() {
    let store = Arc::new(user_store(MemoryTokenStorage::new()));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                store
                    .store_token_response(&response(Some(&format!("user-{i}")), 0))
                    .is_ok()
            })
        })
        .collect();
    let stored: usize = threads
        .into_iter()
        .map(|t| usize::from(t.join().unwrap()))
        .sum();
    assert_eq!(stored, 1, "exactly one identity's login is kept");
    let winner = store.identity_id().unwrap();
    for rs in [AUTH, TRANSFER] {
        let data = store.inner().get_token_data(rs).unwrap().unwrap();
        assert_eq!(data.identity_id.as_deref(), Some(winner.as_str()));
    }
}

#[test]
fn debug_shows_no_secrets() {
    let store = user_store(MemoryTokenStorage::new());
    store
        .store_token_response(&response(Some("alice"), 0))
        .unwrap();
    let text = format!("{store:?}");
    assert!(
        text.contains("alice") && text.contains("UnchangingIdentityIdValidator"),
        "{text}"
    );
    assert!(!text.contains("AT-") && !text.contains("RT-"), "{text}");
}
