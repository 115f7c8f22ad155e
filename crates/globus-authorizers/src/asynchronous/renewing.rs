//! `AsyncRenewingAuthorizer`: the async driver of the single-flight renewal.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use globus_tokens_core::{Clock, Secret, TokenData, TokenResponse};

use super::{AsyncGlobusAuthorizer, BoxFuture};
use crate::error::AuthError;
use crate::error::Result;
use crate::renewing::RenewingAuthorizerBuilder;
use crate::renewing::flight::{FlightGuard, Flights, Step};

/// Where an [`AsyncRenewingAuthorizer`] gets new tokens: the async form of
/// [`TokenSource`](crate::TokenSource).
///
/// `fetch` may be dropped before it completes (its caller was cancelled); the authorizer then
/// asks again through another caller, so a source must not rely on every fetch finishing.
pub trait AsyncTokenSource: Send + Sync {
    /// Ask Globus Auth for a new token.
    fn fetch(&self) -> BoxFuture<'_, Result<TokenResponse>>;

    /// What is being renewed, for errors and events: the scopes or the resource server.
    fn context(&self) -> String;

    /// Told about each new token, e.g. to keep a rotated refresh token.
    fn accept(&self, _token: &TokenData) {}

    /// Told that a request with `rejected` got HTTP 401, so that token must not be reused.
    fn invalidate(&self, _rejected: Option<&Secret>) {}
}

/// Builds an [`AsyncRenewingAuthorizer`]: the same settings and checks as for the blocking
/// [`RenewingAuthorizer`](crate::RenewingAuthorizer).
pub type AsyncRenewingAuthorizerBuilder<S> =
    RenewingAuthorizerBuilder<S, AsyncRenewingAuthorizer<S>>;

/// A bearer token renewed from an [`AsyncTokenSource`], single-flight, without blocking.
///
/// The async twin of [`RenewingAuthorizer`](crate::RenewingAuthorizer), on the same renewal
/// state machine: the token is renewed when it is within [`EXPIRES_ADJUST_SECONDS`](crate::EXPIRES_ADJUST_SECONDS) of expiry;
/// when many tasks find it stale at once, one of them fetches and the others await its result
/// (a failure too) without holding a thread. Cancellation is safe: a task dropped while waiting
/// changes nothing for the others, and the renewing task may be dropped mid-request: on a tokio
/// runtime the rest of the renewal then moves to a task of its own and every waiter gets its
/// result (if the source panics, one waiter renews in its place and the rest share that result).
///
/// ```
/// use std::sync::Arc;
/// use globus_authorizers::{AsyncGlobusAuthorizer, AsyncRenewingAuthorizer, AsyncTokenSource, BoxFuture};
/// use globus_tokens_core::{ManualClock, TokenResponse};
///
/// /// Answers every renewal at once (a real source would call Globus Auth).
/// struct Canned;
///
/// impl AsyncTokenSource for Canned {
///     fn fetch(&self) -> BoxFuture<'_, globus_authorizers::Result<TokenResponse>> {
///         Box::pin(async {
///             let body = br#"{"access_token": "AT-new", "scope": "s", "expires_in": 3600,
///                             "resource_server": "transfer.api.globus.org"}"#;
///             Ok(TokenResponse::from_json_at(body, 1_000)?)
///         })
///     }
///     fn context(&self) -> String {
///         "transfer.api.globus.org".to_owned()
///     }
/// }
///
/// let clock = Arc::new(ManualClock::new(1_000));
/// let authorizer = AsyncRenewingAuthorizer::with_source(Canned, clock)
///     .access_token("AT-old")
///     .expires_at(1_030) // within a minute of expiry: stale
///     .build()?;
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// let header = runtime.block_on(authorizer.get_authorization_header())?;
/// assert_eq!(header.as_deref(), Some("Bearer AT-new"));
/// assert_eq!(authorizer.expires_at(), Some(4_600));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AsyncRenewingAuthorizer<S> {
    // Shared with the task a renewal runs in, which may outlive the caller that started it.
    source: Arc<S>,
    pub(super) flights: Arc<Flights>,
}

impl<S: AsyncTokenSource> std::fmt::Debug for AsyncRenewingAuthorizer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (access_token, expires_at) = self.flights.current();
        f.debug_struct("AsyncRenewingAuthorizer")
            .field("context", &self.source.context())
            .field("access_token", &access_token)
            .field("expires_at", &expires_at)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncTokenSource> AsyncRenewingAuthorizerBuilder<S> {
    /// Build; fails if only one of access token and expiry was given.
    pub fn build(self) -> Result<AsyncRenewingAuthorizer<S>> {
        let (source, flights) = self.into_parts()?;
        Ok(AsyncRenewingAuthorizer {
            source: Arc::new(source),
            flights,
        })
    }
}

impl<S: AsyncTokenSource + 'static> AsyncRenewingAuthorizer<S> {
    /// Start building an authorizer over any async token source.
    pub fn with_source(source: S, clock: Arc<dyn Clock>) -> AsyncRenewingAuthorizerBuilder<S> {
        RenewingAuthorizerBuilder::new(source, clock)
    }

    crate::renewing::renewing_accessors!();

    /// A valid access token: the current one, unless it is missing or within
    /// [`EXPIRES_ADJUST_SECONDS`](crate::EXPIRES_ADJUST_SECONDS) of expiry, in which case it is renewed first (single-flight).
    pub async fn ensure_valid_token(&self) -> Result<Secret> {
        self.current_or_renewed(true).await
    }

    /// Renew now, whatever the state of the current token (still single-flight: tasks calling
    /// this while a renewal is in flight share its result).
    pub async fn renew_now(&self) -> Result<Secret> {
        self.current_or_renewed(false).await
    }

    /// The async driver of [`Flights`]: await while another task renews. Dropping this future
    /// at any await is safe (see the type's docs).
    async fn current_or_renewed(&self, accept_current: bool) -> Result<Secret> {
        let mut waited_for = None;
        loop {
            match self
                .flights
                .step(accept_current, &mut waited_for, || self.source.context())
            {
                Step::Ready(result) => return result,
                Step::Wait(listener) => listener.await,
                Step::Renew(flight) => return renew(Arc::clone(&self.source), flight).await,
            }
        }
    }
}

/// Fetch and land one renewal, in the caller: the request starts at once (a spawned task would
/// wait behind every task already queued, 10,000 in a storm). If the caller is dropped before
/// the renewal ends (aborted, timed out), the rest of it moves to a task of its own on the
/// current tokio runtime, so the request is not cancelled: the waiters get its result, and a
/// refresh token rotated by that request is kept rather than lost. Without a runtime (another
/// executor), dropping the caller abandons the flight and one waiter renews instead.
async fn renew<S: AsyncTokenSource + 'static>(
    source: Arc<S>,
    flight: FlightGuard,
) -> Result<Secret> {
    let renewal = async move {
        let fetched = source.fetch().await;
        // The result only matters to the caller; a detached renewal lands for the waiters.
        flight.finish(fetched, |token| source.accept(token))
    };
    Detachable(Some(Box::pin(renewal))).await
}

type Renewal = BoxFuture<'static, Result<Secret>>;

/// A renewal polled by its caller, handed to the runtime if the caller drops it unfinished.
struct Detachable(Option<Renewal>);

impl Future for Detachable {
    type Output = Result<Secret>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(renewal) = self.0.as_mut() else {
            return Poll::Ready(Err(AuthError::InvalidConfig(
                "a finished renewal was polled again".to_owned(),
            )));
        };
        let result = ready!(renewal.as_mut().poll(cx));
        self.0 = None;
        Poll::Ready(result)
    }
}

impl Drop for Detachable {
    fn drop(&mut self) {
        if let Some(renewal) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            tracing::debug!("the renewing caller went away; the renewal goes on in a task");
            // Its outcome lands in the flight; nobody awaits the task itself.
            drop(runtime.spawn(renewal));
        }
        // Without a runtime the renewal is dropped here, and its flight guard abandons it.
    }
}

impl<S: AsyncTokenSource + 'static> AsyncGlobusAuthorizer for AsyncRenewingAuthorizer<S> {
    fn get_authorization_header(&self) -> BoxFuture<'_, Result<Option<String>>> {
        Box::pin(async move {
            let token = self.current_or_renewed(true).await?;
            Ok(Some(format!("Bearer {}", token.expose())))
        })
    }

    fn handle_missing_authorization(&self) -> bool {
        let rejected = self.flights.drop_token();
        self.source.invalidate(rejected.as_ref());
        true
    }
}
