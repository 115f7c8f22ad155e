//! The conformance suite for [globus-tokens](https://docs.rs/globus-tokens) token stores, and
//! the test harnesses the workspace's own backends use.
//!
//! # Testing a backend of your own
//!
//! A store that implements [`TokenStorage`] should behave
//! like every store in the workspace: merge per resource server, keep handles on one store in
//! step, renew a stale token once when many threads find it at the same time, never show a
//! token in `Debug` output, and so on. Add this crate as a dev-dependency, implement
//! [`StoreFactory`] for a fresh, empty store, declare what the store cannot do in
//! [`StoreFactory::capabilities`], and [`conformance_suite!`] writes one `#[test]` per case (in
//! the manner of object_store's `integration` module):
//!
//! ```
//! use globus_tokens_core::MemoryTokenStorage;
//! use globus_tokens_testkit::{Capabilities, StoreFactory};
//!
//! struct Memory(MemoryTokenStorage);
//! impl StoreFactory for Memory {
//!     type Store = MemoryTokenStorage;
//!     fn open(&self, namespace: &str) -> MemoryTokenStorage {
//!         self.0.with_namespace(namespace)
//!     }
//!     // The default: every capability. A format without namespaces would say
//!     // `Capabilities::all().namespaces(false)`.
//!     fn capabilities(&self) -> Capabilities {
//!         Capabilities::all()
//!     }
//! }
//!
//! // In a test file: `globus_tokens_testkit::conformance_suite!(Memory(MemoryTokenStorage::new()));`
//! globus_tokens_testkit::conformance::round_trip(&Memory(MemoryTokenStorage::new()));
//! ```
//!
//! Every case runs against every store. A case (or the part of one) that needs a capability
//! the store does not declare checks what the store must do instead (for example, that a
//! format without namespaces binds every handle to `DEFAULT`, or that a store without
//! enumeration says so) and prints a line saying what it skipped. A store that declares a
//! capability it lacks fails.
//!
//! # What else is here
//!
//! These are test support too, used by the workspace's own tests; they are public so other
//! backends can use them, but they make no promise beyond that:
//!
//! - [`data`]: token responses and token data shaped like Globus Auth's;
//! - [`multiprocess`] and [`crash`]: several processes writing one store at once, and writers
//!   killed with SIGKILL at random moments (the test binary re-executes itself);
//! - [`fake_auth`] (and the `fake-globus-auth` binary): an in-process Globus Auth over real
//!   HTTP on loopback, for tests of OAuth2 clients;
//! - [`dynamodb_server`]: finds or starts the DynamoDB-compatible server (moto) the workspace's
//!   DynamoDB tests use; it starts one only from within the globus-tokens repository.
//!
//! Test support panics on purpose: a failed expectation is a failed test.
#![warn(missing_docs)]
// Test support panics on purpose: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod block_on;
pub mod conformance;
pub mod crash;
pub mod data;
pub mod dynamodb_server;
pub mod fake_auth;
pub mod multiprocess;

use globus_tokens_core::TokenStorage;

/// What a store can do beyond what every store must, as declared by its [`StoreFactory`].
///
/// The conformance cases consult it: a case that needs a capability the store lacks checks the
/// weaker behaviour the store must have instead and says what it skipped. Start from
/// [`Capabilities::all`] and turn off what the store cannot do:
///
/// ```
/// use globus_tokens_testkit::Capabilities;
/// let frl_ini = Capabilities::all()
///     .identity_id(false)
///     .unknown_fields(false)
///     .empty_refresh_token(false);
/// assert!(frl_ini.namespaces && !frl_ini.identity_id);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Handles opened in different namespaces keep their tokens apart (globus-sdk's JSON 1.0
    /// format has one implicit namespace: every handle is bound to `DEFAULT`).
    pub namespaces: bool,
    /// `TokenData::identity_id` is kept (fair-research-login's formats drop it).
    pub identity_id: bool,
    /// Fields the library does not know (`TokenData::extra`) are kept.
    pub unknown_fields: bool,
    /// [`TokenStorage::as_enumerable`] gives a listing. Without it, the store must return
    /// `None` rather than an empty listing.
    pub enumeration: bool,
    /// An empty refresh token reads back as `Some("")`, not as none (an INI file cannot tell
    /// an empty value from a missing one).
    pub empty_refresh_token: bool,
}

impl Capabilities {
    /// Every capability: what the workspace's JSON 2.0, SQLite and memory stores declare.
    pub const fn all() -> Self {
        Capabilities {
            namespaces: true,
            identity_id: true,
            unknown_fields: true,
            enumeration: true,
            empty_refresh_token: true,
        }
    }

    /// Set [`Capabilities::namespaces`].
    pub const fn namespaces(mut self, yes: bool) -> Self {
        self.namespaces = yes;
        self
    }

    /// Set [`Capabilities::identity_id`].
    pub const fn identity_id(mut self, yes: bool) -> Self {
        self.identity_id = yes;
        self
    }

    /// Set [`Capabilities::unknown_fields`].
    pub const fn unknown_fields(mut self, yes: bool) -> Self {
        self.unknown_fields = yes;
        self
    }

    /// Set [`Capabilities::enumeration`].
    pub const fn enumeration(mut self, yes: bool) -> Self {
        self.enumeration = yes;
        self
    }

    /// Set [`Capabilities::empty_refresh_token`].
    pub const fn empty_refresh_token(mut self, yes: bool) -> Self {
        self.empty_refresh_token = yes;
        self
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities::all()
    }
}

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
    /// namespaces ignore the argument and declare `namespaces(false)` in
    /// [`StoreFactory::capabilities`].
    fn open(&self, namespace: &str) -> Self::Store;

    /// What the store can do; [`Capabilities::all`] unless the factory says otherwise.
    fn capabilities(&self) -> Capabilities {
        Capabilities::all()
    }
}

/// Expand to one `#[test]` per conformance case, each with a fresh store from `$factory`.
///
/// `$factory` is an expression evaluated anew for every test. Every case is generated for
/// every store; what a store cannot do is declared by [`StoreFactory::capabilities`].
#[macro_export]
macro_rules! conformance_suite {
    ($factory:expr) => {
        $crate::__conformance_cases!($factory;
            round_trip, missing_data, merge_per_resource_server, overwrite, remove_true_false,
            namespace_isolation, two_handles_share_writes, refresh_semantics,
            unknown_fields_preserved, redaction, compare_and_swap, update_token_data,
            enumeration, empty_batch_is_noop, unusual_values, threads_on_shared_handle,
            threads_on_separate_handles, update_is_single_flight_across_threads
        );
    };
}

/// One `#[test]` per named case; the implementation of [`conformance_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::conformance::$case(&$factory);
            }
        )*
    };
}
