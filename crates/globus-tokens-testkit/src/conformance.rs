//! The conformance cases. Each takes a [`StoreFactory`] for a fresh, empty store and panics
//! on the first deviation from the behaviour every backend must have.
//!
//! Cases consult [`StoreFactory::capabilities`]: where a store declares it cannot do something,
//! the case checks what it must do instead and prints (to the test's stderr, shown by
//! `cargo test -- --nocapture` or when the test fails) what it skipped.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use globus_tokens_core::{DEFAULT_NAMESPACE, SwapOutcome, TokenData, TokenStorage};
use serde_json::json;

use crate::data::{
    self, RESOURCE_SERVERS, TRANSFER_SCOPE, authorization_code_response, batch, numbered,
};
use crate::{Capabilities, StoreFactory};

fn get<S: TokenStorage>(store: &S, resource_server: &str) -> Option<TokenData> {
    store
        .get_token_data(resource_server)
        .unwrap_or_else(|err| panic!("get_token_data({resource_server}) failed: {err}"))
}

/// Says, on the test's stderr, which part of `case` did not run and which undeclared
/// capability it needs.
fn skipped(case: &str, what: &str, capability: &str) {
    eprintln!(
        "conformance {case}: skipped {what}: the store does not declare `{capability}` in its Capabilities"
    );
}

/// `data` as a store with `capabilities` keeps it: without `identity_id` or unknown-field
/// support, those are dropped.
fn as_kept(mut data: TokenData, capabilities: Capabilities) -> TokenData {
    if !capabilities.identity_id {
        data.identity_id = None;
    }
    if !capabilities.unknown_fields {
        data.extra.clear();
    }
    data
}

/// Storing a response and reading each resource server back gives exactly its tokens.
pub fn round_trip<F: StoreFactory>(factory: &F) {
    let store = factory.open(DEFAULT_NAMESPACE);
    store.store(&authorization_code_response()).unwrap();
    let expected = authorization_code_response().by_resource_server();
    for rs in RESOURCE_SERVERS {
        let got = get(&store, rs).unwrap_or_else(|| panic!("{rs} missing after store"));
        assert_eq!(got, expected[rs], "{rs} differs after round trip");
    }
    let transfer = get(&store, "transfer.api.globus.org").unwrap();
    assert_eq!(transfer.access_token.expose(), "AT-a-1");
    assert_eq!(
        transfer.refresh_token.as_ref().map(|t| t.expose()),
        Some("RT-a-1")
    );
    assert_eq!(transfer.expires_at_seconds, 2_000_000_000);
    assert_eq!(transfer.scope, TRANSFER_SCOPE);
    assert_eq!(transfer.token_type.as_deref(), Some("Bearer"));
    assert_eq!(
        get(&store, "groups.api.globus.org").unwrap().refresh_token,
        None
    );
}

/// Reading what was never stored is `None`, before and after other writes.
pub fn missing_data<F: StoreFactory>(factory: &F) {
    let store = factory.open(DEFAULT_NAMESPACE);
    assert_eq!(get(&store, "transfer.api.globus.org"), None);
    store.store(&authorization_code_response()).unwrap();
    assert_eq!(get(&store, "search.api.globus.org"), None);
    assert_eq!(get(&store, ""), None);
}

/// A store replaces only the resource servers it names.
pub fn merge_per_resource_server<F: StoreFactory>(factory: &F) {
    let store = factory.open(DEFAULT_NAMESPACE);
    store.store(&authorization_code_response()).unwrap();
    store
        .store(&data::refresh_response(
            "AT-new",
            "RT-new",
            data::RECEIVED_AT + 10,
        ))
        .unwrap();
    assert_eq!(
        get(&store, "transfer.api.globus.org")
            .unwrap()
            .access_token
            .expose(),
        "AT-new"
    );
    assert_eq!(
        get(&store, "auth.globus.org")
            .unwrap()
            .access_token
            .expose(),
        "AT-a-0"
    );
    assert_eq!(
        get(&store, "groups.api.globus.org")
            .unwrap()
            .access_token
            .expose(),
        "AT-a-2"
    );
}

/// Storing a resource server again replaces every field, including clearing a refresh token.
pub fn overwrite<F: StoreFactory>(factory: &F) {
    let store = factory.open(DEFAULT_NAMESPACE);
    let first = numbered(0, 0).with_identity_id("id-1");
    store.store_token_data(&batch(first.clone())).unwrap();
    let mut second = TokenData::new(first.resource_server.clone(), "other scope", "AT-second", 5);
    second.token_type = None;
    store.store_token_data(&batch(second.clone())).unwrap();
    assert_eq!(get(&store, &first.resource_server), Some(second));
}

/// `remove_token_data` says whether anything was removed and removes only that entry.
pub fn remove_true_false<F: StoreFactory>(factory: &F) {
    let store = factory.open(DEFAULT_NAMESPACE);
    assert!(
        !store.remove_token_data("auth.globus.org").unwrap(),
        "remove on empty store"
    );
    store.store(&authorization_code_response()).unwrap();
    assert!(store.remove_token_data("auth.globus.org").unwrap());
    assert_eq!(get(&store, "auth.globus.org"), None);
    assert!(
        !store.remove_token_data("auth.globus.org").unwrap(),
        "second remove"
    );
    assert!(!store.remove_token_data("unknown.example.org").unwrap());
    assert!(get(&store, "transfer.api.globus.org").is_some());
    assert!(get(&store, "groups.api.globus.org").is_some());
}

/// Handles in different namespaces never see each other's tokens. A store without namespaces
/// binds every handle to `DEFAULT`.
pub fn namespace_isolation<F: StoreFactory>(factory: &F) {
    let capabilities = factory.capabilities();
    if !capabilities.namespaces {
        // The format has one implicit namespace: every handle must report DEFAULT.
        assert_eq!(factory.open("ignored").namespace(), DEFAULT_NAMESPACE);
        skipped(
            "namespace_isolation",
            "isolation between namespaces",
            "namespaces",
        );
        return;
    }
    let alice = factory.open("userprofile/alice");
    let bob = factory.open("userprofile/bob");
    assert_eq!(alice.namespace(), "userprofile/alice");
    alice.store(&authorization_code_response()).unwrap();
    assert_eq!(get(&bob, "auth.globus.org"), None);
    assert!(!bob.remove_token_data("auth.globus.org").unwrap());
    bob.store_token_data(&batch(TokenData::new(
        "auth.globus.org",
        "openid",
        "AT-bob",
        7,
    )))
    .unwrap();
    assert_eq!(
        get(&alice, "auth.globus.org")
            .unwrap()
            .access_token
            .expose(),
        "AT-a-0"
    );
    assert_eq!(
        get(&bob, "auth.globus.org").unwrap().access_token.expose(),
        "AT-bob"
    );
    assert!(bob.remove_token_data("auth.globus.org").unwrap());
    assert!(get(&alice, "auth.globus.org").is_some());
    if capabilities.enumeration {
        let listing = alice
            .as_enumerable()
            .expect("the store declares enumeration but as_enumerable() is None");
        let namespaces = listing.namespaces().unwrap();
        assert!(
            namespaces.contains(&"userprofile/alice".to_owned()),
            "{namespaces:?}"
        );
        assert_eq!(listing.get_by_resource_server().unwrap().len(), 3);
    }
}

/// Two handles on one store see each other's writes and removals.
pub fn two_handles_share_writes<F: StoreFactory>(factory: &F) {
    let first = factory.open(DEFAULT_NAMESPACE);
    let second = factory.open(DEFAULT_NAMESPACE);
    first.store(&authorization_code_response()).unwrap();
    assert_eq!(
        get(&second, "auth.globus.org")
            .unwrap()
            .access_token
            .expose(),
        "AT-a-0"
    );
    second
        .store(&data::refresh_response("AT-2", "RT-2", 1))
        .unwrap();
    assert_eq!(
        get(&first, "transfer.api.globus.org")
            .unwrap()
            .access_token
            .expose(),
        "AT-2"
    );
    assert!(second.remove_token_data("auth.globus.org").unwrap());
    assert_eq!(get(&first, "auth.globus.org"), None);
}

/// `on_refresh` stores the renewed token (rotated refresh token, new expiry) and keeps the rest.
pub fn refresh_semantics<F: StoreFactory>(factory: &F) {
    let store = factory.open(DEFAULT_NAMESPACE);
    store.store(&authorization_code_response()).unwrap();
    let renewed_at = data::RECEIVED_AT + 100_000;
    store
        .on_refresh(&data::refresh_response(
            "AT-refreshed",
            "RT-rotated",
            renewed_at,
        ))
        .unwrap();
    let transfer = get(&store, "transfer.api.globus.org").unwrap();
    assert_eq!(transfer.access_token.expose(), "AT-refreshed");
    assert_eq!(
        transfer.refresh_token.as_ref().map(|t| t.expose()),
        Some("RT-rotated")
    );
    assert_eq!(transfer.expires_at_seconds, renewed_at + 172_800);
    assert_eq!(
        get(&store, "auth.globus.org")
            .unwrap()
            .refresh_token
            .unwrap()
            .expose(),
        "RT-a-0"
    );
}

/// Fields the library does not know, and `identity_id`, survive a store and a later unrelated
/// write. A store that declares it cannot keep them must drop them, keep the rest, and still
/// accept the write.
pub fn unknown_fields_preserved<F: StoreFactory>(factory: &F) {
    let capabilities = factory.capabilities();
    if !capabilities.identity_id {
        skipped(
            "unknown_fields_preserved",
            "keeping identity_id (checking it is dropped instead)",
            "identity_id",
        );
    }
    if !capabilities.unknown_fields {
        skipped(
            "unknown_fields_preserved",
            "keeping unknown fields (checking they are dropped instead)",
            "unknown_fields",
        );
    }
    let store = factory.open(DEFAULT_NAMESPACE);
    let mut data = numbered(1, 1).with_identity_id("ae341a98-d274-11e5-b888-dbae3a8ba545");
    data.extra.insert(
        "custom_field".into(),
        json!({"nested": [1, "two", null, true]}),
    );
    data.extra.insert("another".into(), json!(3.5));
    data.extra.insert("nothing".into(), json!(null));
    store.store_token_data(&batch(data.clone())).unwrap();
    store.store(&authorization_code_response()).unwrap();
    let other = factory.open(DEFAULT_NAMESPACE);
    assert_eq!(
        get(&other, &data.resource_server),
        Some(as_kept(data, capabilities))
    );
    assert_eq!(
        get(&other, "transfer.api.globus.org"),
        Some(as_kept(
            authorization_code_response().by_resource_server()["transfer.api.globus.org"].clone(),
            capabilities
        ))
    );
}

/// No token value appears in `Debug` output of the data or the store.
pub fn redaction<F: StoreFactory>(factory: &F) {
    let store = factory.open(DEFAULT_NAMESPACE);
    store.store(&authorization_code_response()).unwrap();
    let shown = format!(
        "{:?} {:?} {:?} {:?}",
        store,
        get(&store, "auth.globus.org"),
        authorization_code_response(),
        store.get_token_data("transfer.api.globus.org")
    );
    for secret in ["AT-a-0", "AT-a-1", "AT-a-2", "RT-a-0", "RT-a-1"] {
        assert!(!shown.contains(secret), "{secret} leaked into Debug output");
    }
}

/// The conditional update replaces only what the caller read.
pub fn compare_and_swap<F: StoreFactory>(factory: &F) {
    let store = factory.open(DEFAULT_NAMESPACE);
    let v1 = numbered(2, 0);
    assert_eq!(
        store.compare_and_swap(None, &v1).unwrap(),
        SwapOutcome::Swapped
    );
    let v2 = TokenData::new(v1.resource_server.clone(), "scope", "AT-v2", 10)
        .with_refresh_token("RT-v2");
    // Expecting "absent" fails now that something is stored, and reports what is.
    assert_eq!(
        store.compare_and_swap(None, &v2).unwrap(),
        SwapOutcome::Conflict(Some(v1.clone()))
    );
    assert_eq!(
        store.compare_and_swap(Some(&v1), &v2).unwrap(),
        SwapOutcome::Swapped
    );
    // A slow writer still holding v1 must not move the token backwards.
    let stale = TokenData::new(v1.resource_server.clone(), "scope", "AT-stale", 5);
    assert_eq!(
        store.compare_and_swap(Some(&v1), &stale).unwrap(),
        SwapOutcome::Conflict(Some(v2.clone()))
    );
    assert_eq!(get(&store, &v1.resource_server), Some(v2.clone()));
    // Only the tokens are compared, not (say) the expiry the caller had.
    let mut read_earlier = v2.clone();
    read_earlier.expires_at_seconds = 0;
    let v3 = TokenData::new(v1.resource_server.clone(), "scope", "AT-v3", 20);
    assert_eq!(
        store.compare_and_swap(Some(&read_earlier), &v3).unwrap(),
        SwapOutcome::Swapped
    );
    // After removal, expecting the old value conflicts with "absent".
    assert!(store.remove_token_data(&v1.resource_server).unwrap());
    assert_eq!(
        store.compare_and_swap(Some(&v3), &v1).unwrap(),
        SwapOutcome::Conflict(None)
    );
}

/// `update_token_data` passes the stored entry and writes what the closure returns.
pub fn update_token_data<F: StoreFactory>(factory: &F) {
    let store = factory.open(DEFAULT_NAMESPACE);
    let rs = "transfer.api.globus.org";
    let mut seen = Vec::new();
    let written = store
        .update_token_data(rs, &mut |current| {
            seen.push(current.cloned());
            Some(TokenData::new(rs, TRANSFER_SCOPE, "AT-u1", 100))
        })
        .unwrap();
    assert_eq!(seen, vec![None]);
    assert_eq!(
        written.as_ref().map(|d| d.access_token.expose()),
        Some("AT-u1")
    );
    let unchanged = store.update_token_data(rs, &mut |current| {
        assert_eq!(current.map(|d| d.access_token.expose()), Some("AT-u1"));
        None
    });
    assert_eq!(unchanged.unwrap(), written);
    assert_eq!(get(&factory.open(DEFAULT_NAMESPACE), rs), written);
}

/// A store that can list lists exactly what it holds, in the handle's namespace; one that
/// cannot says so (`as_enumerable()` is `None`, not an empty listing).
pub fn enumeration<F: StoreFactory>(factory: &F) {
    let store = factory.open(DEFAULT_NAMESPACE);
    if !factory.capabilities().enumeration {
        assert!(
            store.as_enumerable().is_none(),
            "the store does not declare enumeration but as_enumerable() gives a listing"
        );
        skipped("enumeration", "listing", "enumeration");
        return;
    }
    let listing = store
        .as_enumerable()
        .expect("the store declares enumeration but as_enumerable() is None");
    assert!(listing.get_by_resource_server().unwrap().is_empty());
    assert!(
        listing.namespaces().unwrap().is_empty(),
        "a fresh store has no namespaces"
    );
    store.store(&authorization_code_response()).unwrap();
    let all = listing.get_by_resource_server().unwrap();
    assert_eq!(all, authorization_code_response().by_resource_server());
    // The handle's own namespace: DEFAULT, unless the factory maps it to a name the format
    // allows (fair-research-login's INI file cannot use configparser's DEFAULT section).
    assert_eq!(listing.namespaces().unwrap(), [store.namespace()]);
    store.remove_token_data("groups.api.globus.org").unwrap();
    let names: BTreeSet<_> = listing
        .get_by_resource_server()
        .unwrap()
        .into_keys()
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "auth.globus.org".to_owned(),
            "transfer.api.globus.org".to_owned()
        ])
    );
}

/// Storing an empty batch changes nothing and succeeds.
pub fn empty_batch_is_noop<F: StoreFactory>(factory: &F) {
    let store = factory.open(DEFAULT_NAMESPACE);
    store.store_token_data(&Default::default()).unwrap();
    store.store(&authorization_code_response()).unwrap();
    store.store_token_data(&Default::default()).unwrap();
    assert!(get(&store, "auth.globus.org").is_some());
}

/// Non-ASCII text, empty scopes, quotes, extreme numbers and an empty refresh token round-trip
/// exactly. A store that declares it cannot tell an empty refresh token from none reads it back
/// as none.
pub fn unusual_values<F: StoreFactory>(factory: &F) {
    let empty_refresh_token = factory.capabilities().empty_refresh_token;
    let store = factory.open(DEFAULT_NAMESPACE);
    let cases = [
        TokenData::new(
            "ünïcödé.example.org",
            "scöpe \u{1F600} \"quoted\" back\\slash\nnewline",
            "AT-ü",
            i64::MAX,
        ),
        TokenData::new("empty-scope.example.org", "", "AT-e", i64::MIN),
        TokenData::new("zero.example.org", "s", "AT-z", 0).with_refresh_token(""),
    ];
    for data in &cases {
        store.store_token_data(&batch(data.clone())).unwrap();
    }
    for data in &cases {
        let mut expected = data.clone();
        if !empty_refresh_token && expected.refresh_token.as_ref().map(|t| t.expose()) == Some("") {
            expected.refresh_token = None;
        }
        assert_eq!(get(&store, &data.resource_server), Some(expected));
    }
    if !empty_refresh_token {
        skipped(
            "unusual_values",
            "an empty refresh token distinct from none (checking it reads as none)",
            "empty_refresh_token",
        );
    }
}

const THREADS: usize = 16;
const PER_THREAD: usize = 10;

fn check_all_written<S: TokenStorage>(store: &S) {
    for writer in 0..THREADS {
        for index in 0..PER_THREAD {
            let expected = numbered(writer, index);
            assert_eq!(
                get(store, &expected.resource_server),
                Some(expected),
                "lost update"
            );
        }
    }
}

/// 16 threads storing distinct resource servers through one shared handle lose nothing.
pub fn threads_on_shared_handle<F: StoreFactory>(factory: &F) {
    let store = Arc::new(factory.open(DEFAULT_NAMESPACE));
    std::thread::scope(|scope| {
        for writer in 0..THREADS {
            let store = Arc::clone(&store);
            scope.spawn(move || {
                for index in 0..PER_THREAD {
                    store
                        .store_token_data(&batch(numbered(writer, index)))
                        .unwrap();
                }
            });
        }
    });
    check_all_written(&*store);
}

/// 16 threads, each with its own handle on one store, lose nothing.
pub fn threads_on_separate_handles<F: StoreFactory>(factory: &F) {
    let handles: Vec<_> = (0..THREADS)
        .map(|_| factory.open(DEFAULT_NAMESPACE))
        .collect();
    std::thread::scope(|scope| {
        for (writer, store) in handles.iter().enumerate() {
            scope.spawn(move || {
                for index in 0..PER_THREAD {
                    store
                        .store_token_data(&batch(numbered(writer, index)))
                        .unwrap();
                }
            });
        }
    });
    check_all_written(&factory.open(DEFAULT_NAMESPACE));
}

/// When 16 threads find the same stale token at once, exactly one renews it: the property
/// token renewal is built on.
pub fn update_is_single_flight_across_threads<F: StoreFactory>(factory: &F) {
    let rs = "transfer.api.globus.org";
    let seed = factory.open(DEFAULT_NAMESPACE);
    seed.store_token_data(&batch(
        TokenData::new(rs, TRANSFER_SCOPE, "AT-stale", 0).with_refresh_token("RT-0"),
    ))
    .unwrap();
    let renewals = AtomicUsize::new(0);
    let barrier = Barrier::new(THREADS);
    let handles: Vec<_> = (0..THREADS)
        .map(|_| factory.open(DEFAULT_NAMESPACE))
        .collect();
    std::thread::scope(|scope| {
        for store in &handles {
            let (renewals, barrier) = (&renewals, &barrier);
            scope.spawn(move || {
                barrier.wait();
                let result = store
                    .update_token_data(rs, &mut |current| {
                        let current = current?;
                        if !current.is_expired_at(1_000, 60) {
                            return None;
                        }
                        renewals.fetch_add(1, Ordering::SeqCst);
                        Some(
                            TokenData::new(rs, TRANSFER_SCOPE, "AT-fresh", 1_000_000)
                                .with_refresh_token("RT-1"),
                        )
                    })
                    .unwrap();
                assert_eq!(
                    result
                        .map(|d| d.access_token.expose().to_owned())
                        .as_deref(),
                    Some("AT-fresh")
                );
            });
        }
    });
    assert_eq!(
        renewals.load(Ordering::SeqCst),
        1,
        "the stale token was renewed more than once"
    );
}
