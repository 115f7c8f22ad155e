//! Building blocks for backend authors: what a token store is made of, not what a program that
//! stores tokens calls.
//!
//! Like opendal's `raw` module, this is public so that backends outside this workspace can be
//! written the same way as the ones inside it, but it is not the API a program uses to store
//! and load tokens (that is the crate root):
//!
//! - [`fs`]: durable owner-only file writes, the locked read-modify-write cycle
//!   ([`fs::update_file`]) and the sidecar-file lock every file store uses;
//! - [`pyjson`]: JSON text byte-for-byte as Python's `json.dumps` writes it;
//! - [`token_json`]: one token entry read from JSON text in one pass, without a
//!   `serde_json::Value` tree (the read path of every store that keeps entries as JSON);
//! - [`retry`]: the jittered [`retry::Backoff`] and the compare-and-swap update loop for
//!   backends without locks;
//! - [`swap_matches`], for implementing [`TokenStorage::compare_and_swap`], and
//!   [`json_type_name`], for error messages about malformed stored documents.
//!
//! [`TokenStorage::compare_and_swap`]: crate::TokenStorage::compare_and_swap

pub mod fs;
pub mod pyjson;
pub mod retry;
pub mod token_json;

pub use crate::token::json_type_name;

use crate::token::TokenData;

/// Whether a stored entry is still the one a conditional update expected: both absent, or both
/// present with the same tokens ([`TokenData::same_tokens`]).
pub fn swap_matches(stored: Option<&TokenData>, expected: Option<&TokenData>) -> bool {
    match (stored, expected) {
        (None, None) => true,
        (Some(stored), Some(expected)) => stored.same_tokens(expected),
        _ => false,
    }
}
