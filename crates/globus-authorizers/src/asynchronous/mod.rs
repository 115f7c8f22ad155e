//! Async authorizers (cargo feature `async`): the same kinds as the blocking ones, awaited
//! instead of blocking a thread.
//!
//! [`AsyncRenewingAuthorizer`] renews through the very state machine that
//! [`RenewingAuthorizer`](crate::RenewingAuthorizer) uses, so the single-flight rules are the
//! same, and it is cancellation-safe: a task dropped while waiting leaves the others waiting for
//! the same renewal, and a renewing task dropped mid-request does not cancel the request, which
//! moves to a task of its own: the waiters get its result (a renewal abandoned by a panic is
//! taken over by one waiter), never left stuck.

mod authorizer;
mod renewing;
mod sources;

pub use authorizer::AsyncGlobusAuthorizer;
pub use renewing::{AsyncRenewingAuthorizer, AsyncRenewingAuthorizerBuilder, AsyncTokenSource};
pub use sources::{
    AsyncClientCredentialsAuthorizer, AsyncRefreshTokenAuthorizer, AsyncStorageAuthorizer,
};

/// A boxed, `Send` future: what the dyn-compatible async traits here return (the same type as
/// `globus_tokens_core::BoxFuture`, which the async storage trait returns).
pub use globus_tokens_core::BoxFuture;

#[cfg(test)]
mod tests;
