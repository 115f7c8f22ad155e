//! Test support for globus-tokens: the conformance suite every storage backend must pass, and
//! a harness for multi-process concurrency tests.
//!
//! A backend's `tests/conformance.rs` supplies a [`StoreFactory`] and gets one `#[test]` per
//! conformance case, in the manner of object_store's `integration` module:
//!
//! ```
//! use globus_tokens_core::MemoryTokenStorage;
//! use globus_tokens_testkit::StoreFactory;
//!
//! struct Memory(MemoryTokenStorage);
//! impl StoreFactory for Memory {
//!     type Store = MemoryTokenStorage;
//!     fn open(&self, namespace: &str) -> MemoryTokenStorage {
//!         self.0.with_namespace(namespace)
//!     }
//! }
//!
//! // In a test file: `globus_tokens_testkit::conformance_suite!(Memory(MemoryTokenStorage::new()));`
//! globus_tokens_testkit::conformance::round_trip(&Memory(MemoryTokenStorage::new()));
//! ```
#![warn(missing_docs)]
// Test support panics on purpose: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod conformance;
pub mod crash;
pub mod data;
pub mod dynamodb_server;
pub mod fake_auth;
pub mod multiprocess;

use globus_tokens_core::TokenStorage;

/// Opens handles on one fresh, empty underlying store, for the conformance suite.
///
/// Each factory value is used by exactly one test case. Every call to [`StoreFactory::open`]
/// must return a *new handle* on the *same* underlying store (for files: a new adapter on the
/// same path; for databases: a new connection where the backend allows it), so the suite can
/// check that separate handles see each other's writes.
pub trait StoreFactory {
    /// The backend under test.
    type Store: TokenStorage + std::fmt::Debug + 'static;

    /// A new handle on the shared store, bound to `namespace`. Factories whose format has no
    /// namespaces ignore the argument and return `false` from
    /// [`StoreFactory::supports_namespaces`].
    fn open(&self, namespace: &str) -> Self::Store;

    /// Whether the format keeps namespaces apart (globus-sdk's JSON 1.0 format does not).
    fn supports_namespaces(&self) -> bool {
        true
    }
}

/// Expand to one `#[test]` per conformance case, each with a fresh store from `$factory`.
///
/// `$factory` is an expression evaluated anew for every test.
#[macro_export]
macro_rules! conformance_suite {
    ($factory:expr) => {
        $crate::conformance_suite!(@cases $factory;
            round_trip, missing_data, merge_per_resource_server, overwrite, remove_true_false,
            namespace_isolation, two_handles_share_writes, refresh_semantics,
            unknown_fields_preserved, redaction, compare_and_swap, update_token_data,
            enumeration, empty_batch_is_noop, unusual_values, threads_on_shared_handle,
            threads_on_separate_handles, update_is_single_flight_across_threads
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::conformance::$case(&$factory);
            }
        )*
    };
}
