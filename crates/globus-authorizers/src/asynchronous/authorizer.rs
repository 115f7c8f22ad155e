//! The `AsyncGlobusAuthorizer` trait, and its impls for the authorizers that never renew.

use super::BoxFuture;
use crate::authorizer::{AccessTokenAuthorizer, BasicAuthorizer, GlobusAuthorizer, NullAuthorizer};
use crate::error::Result;

/// Produces the `Authorization` header for requests to a Globus service, without blocking.
///
/// The async form of [`GlobusAuthorizer`]. It returns a [`BoxFuture`] rather than being an
/// `async fn` so that it stays dyn-compatible: `Arc<dyn AsyncGlobusAuthorizer>` works.
///
/// ```
/// use std::sync::Arc;
/// use globus_authorizers::{AccessTokenAuthorizer, AsyncGlobusAuthorizer};
/// let authorizer: Arc<dyn AsyncGlobusAuthorizer> = Arc::new(AccessTokenAuthorizer::new("AT"));
/// let header = authorizer.get_authorization_header(); // a future; await it in async code
/// # drop(header);
/// assert!(!authorizer.handle_missing_authorization());
/// ```
pub trait AsyncGlobusAuthorizer: Send + Sync {
    /// The header value to send (`Bearer ...`, `Basic ...`), or `None` to send no header.
    ///
    /// Renewing authorizers renew here when their token is stale.
    fn get_authorization_header(&self) -> BoxFuture<'_, Result<Option<String>>>;

    /// Called when a request using this authorizer got HTTP 401. Returns `true` if the
    /// authorizer did something that makes a retry worthwhile (renewing kinds drop their token
    /// so the next header is a fresh one); `false` for authorizers that cannot do better.
    fn handle_missing_authorization(&self) -> bool;
}

/// Forwards to the authorizer behind a pointer.
macro_rules! forward {
    ($($pointer:ty),*) => {$(
        impl<A: AsyncGlobusAuthorizer + ?Sized> AsyncGlobusAuthorizer for $pointer {
            fn get_authorization_header(&self) -> BoxFuture<'_, Result<Option<String>>> {
                (**self).get_authorization_header()
            }
            fn handle_missing_authorization(&self) -> bool {
                (**self).handle_missing_authorization()
            }
        }
    )*};
}

forward!(std::sync::Arc<A>, Box<A>, &A);

/// Authorizers whose header is known at once: their blocking answer, as a ready future.
macro_rules! never_blocks {
    ($($authorizer:ty),*) => {$(
        impl AsyncGlobusAuthorizer for $authorizer {
            fn get_authorization_header(&self) -> BoxFuture<'_, Result<Option<String>>> {
                Box::pin(std::future::ready(GlobusAuthorizer::get_authorization_header(self)))
            }
            fn handle_missing_authorization(&self) -> bool {
                GlobusAuthorizer::handle_missing_authorization(self)
            }
        }
    )*};
}

never_blocks!(NullAuthorizer, BasicAuthorizer, AccessTokenAuthorizer);
