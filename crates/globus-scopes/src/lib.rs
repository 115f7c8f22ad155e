//! Globus Auth scopes: globus-sdk's `globus_sdk.scopes` (3.65) in Rust.
//!
//! - [`Scope`]: a scope string, its optional flag (`*`) and its dependent scopes, parsed from
//!   and serialised to globus-sdk's syntax (`transfer[*data_access other[deeper]]`), with
//!   [`ScopeParseError`] for every error globus-sdk raises (byte positions added).
//! - The scope strings of the Globus services ([`AuthScopes`], [`TransferScopes`],
//!   [`GroupsScopes`], [`NexusScopes`], [`SearchScopes`], [`TimersScopes`], [`FlowsScopes`],
//!   [`ComputeScopes`]), and builders for scopes that depend on an id
//!   ([`GcsCollectionScopeBuilder`], [`GcsEndpointScopeBuilder`], [`SpecificFlowScopeBuilder`],
//!   [`ScopeBuilder`]).
//! - [`scopes_to_str`] and [`scopes_to_scope_list`].
//! - [`consents`]: the user's consents as a forest, and whether they already meet scope
//!   requirements (data model only; no HTTP).
//!
//! ```
//! use globus_scopes::{GcsCollectionScopeBuilder, Scope, TransferScopes, scopes_to_str};
//!
//! // Transfer, with consent to one collection's data_access scope as an optional dependency
//! let collection = GcsCollectionScopeBuilder::new("542a86fc-1766-450d-841f-065488a2ec01");
//! let transfer = Scope::new(TransferScopes::ALL)?
//!     .with_dependency(Scope::new(collection.data_access())?.with_optional(true));
//! let request = scopes_to_str([Scope::new("openid")?, transfer]);
//! assert_eq!(
//!     request,
//!     "openid urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/542a86fc-1766-450d-841f-065488a2ec01/data_access]"
//! );
//!
//! // Parsing merges what globus-sdk merges: one scope string is one node everywhere
//! let scopes = Scope::parse("a[b[x]] c[b[y] *d] a")?;
//! assert_eq!(scopes_to_str(&scopes), "a[b[x y]] c[b[x y] *d]");
//! assert_eq!(Scope::parse(&request)?.len(), 2);
//! assert!(Scope::parse("a[b] b[a]").unwrap_err().is_cycle());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The syntax, as globus-sdk reads it
//!
//! Only four characters are special: `[` and `]` enclose dependencies, `*` marks the scope
//! after it optional, and a space (U+0020 only) separates scopes. `]` must be followed by a
//! space, another `]` or the end; `[` must directly follow a scope string; `*` must directly
//! precede one (it may appear anywhere, including at the top level and in the middle of a
//! word: `a*b` is `a` and the optional `b`). Other whitespace, such as a tab, belongs to the
//! scope string, except that whitespace (Python's definition) at the very end of the input is
//! trimmed. Parsing builds globus-sdk's graph: a scope string is one node wherever it
//! appears, so its dependencies are merged from every place it is given them, repeated scopes
//! collapse, a required dependency absorbs an optional one of the same name (at the top level
//! `a *a` stays two scopes, as in globus-sdk), and a scope that reaches itself is a
//! [`ScopeParseError::Cycle`].
//!
//! # Where this crate deliberately differs from globus-sdk
//!
//! - **Order.** globus-sdk keeps top-level scopes and each scope's dependencies in Python
//!   sets, so `Scope.parse("a b")` returns `[a, b]` or `[b, a]` depending on the process's
//!   hash seed. [`Scope::parse`] returns them in order of first appearance. The contents are
//!   the same; the interop tests compare with globus-sdk after sorting siblings. For the same
//!   reason consent trees list children by ascending id.
//! - **Limits.** globus-sdk parses anything; [`Scope::parse`] refuses dependencies nested
//!   deeper than [`MAX_DEPTH`] (128) levels and results larger than [`MAX_SCOPES`] (100 000)
//!   scopes, because merging can make a short string expand exponentially. globus-sdk's cycle
//!   check explores every path (exponential on some inputs); ours is linear.
//! - **Errors** are one enum, [`ScopeParseError`], whose messages begin with globus-sdk's and
//!   add the byte offset. Zero or several scopes where one is wanted ([`Scope`]'s `FromStr`,
//!   globus-sdk's `Scope.deserialize`) is [`ScopeParseError::NotExactlyOneScope`] rather than
//!   a `ValueError`.
//! - [`Scope::new`] rejects the empty string (globus-sdk accepts `Scope("")`, which serialises
//!   to nothing and does not parse back).
//! - **Both API generations.** globus-sdk 3.x names are here (`Scope::parse` returning a list,
//!   [`Scope::add_dependency`], [`Scope::serialize`], the `*ScopeBuilder` types returning
//!   strings), plus 4.x's [`Scope::with_dependency`], [`Scope::with_dependencies`] and
//!   [`Scope::with_optional`]; 4.x's `Scope.parse` (exactly one scope) is `str::parse::<Scope>()`.
//!   The legacy `MutableScope` and `ScopeBuilder`'s runtime-registered attributes are not
//!   provided; the service scopes are associated constants.
//! - **Consents.** [`consents::Consent`] keeps `created`, `updated` and `last_used` as the
//!   strings Globus Auth sent (globus-sdk parses them with `datetime.fromisoformat`, which no
//!   check here depends on), and checks every field's JSON type (globus-sdk checks none),
//!   naming the field and the consent's index. Repeated consent ids, which can link a tree
//!   into a cycle, make globus-sdk's `max_depth` and `str()` recurse without end; ours stop.
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
pub mod consents;
mod error;
mod normalize;
mod parser;
mod scope;
mod services;

pub use builder::{
    GcsCollectionScopeBuilder, GcsEndpointScopeBuilder, ScopeBuilder, SpecificFlowScopeBuilder,
};
pub use error::{ScopeParseError, ScopeStringError};
pub use normalize::{scopes_to_scope_list, scopes_to_str};
pub use parser::{MAX_DEPTH, MAX_SCOPES};
pub use scope::Scope;
pub use services::{
    AuthScopes, ComputeScopes, FlowsScopes, GroupsScopes, NexusScopes, SearchScopes, TimersScopes,
    TransferScopes,
};
