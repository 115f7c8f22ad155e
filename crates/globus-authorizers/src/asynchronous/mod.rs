//! Async authorizers (cargo feature `async`): the same kinds as the blocking ones, awaited
//! instead of blocking a thread.
//!
//! [`AsyncRenewingAuthorizer`] renews through the very state machine that
//! [`RenewingAuthorizer`](crate::RenewingAuthorizer) uses, so the single-flight rules are the
//! same, and it is cancellation-safe: a task dropped while waiting leaves the others waiting for
//! the same renewal, and a renewing task dropped mid-request hands the renewal to one waiter
//! (one more request at most), never leaving the others stuck.

mod authorizer;
mod renewing;

pub use authorizer::AsyncGlobusAuthorizer;
pub use renewing::{AsyncRenewingAuthorizer, AsyncRenewingAuthorizerBuilder, AsyncTokenSource};

/// A boxed, `Send` future: what the dyn-compatible async traits here return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

#[cfg(test)]
mod tests;
