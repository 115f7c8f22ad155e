//! The single-flight renewal state machine, written once for the blocking and the async
//! authorizers.
//!
//! A caller asks [`Flights::step`] what to do and gets one of three answers: a token
//! ([`Step::Ready`]), a listener to wait on while another caller renews ([`Step::Wait`]), or the
//! job of renewing ([`Step::Renew`]). The driver (a thread for [`RenewingAuthorizer`], a future
//! for `AsyncRenewingAuthorizer`) waits or fetches as told and asks again. Waiting is an
//! [`EventListener`], which both blocks a thread and is awaited, so both drivers share every
//! rule here.
//!
//! [`RenewingAuthorizer`]: super::RenewingAuthorizer

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use event_listener::{Event, EventListener};
use globus_tokens_core::{Clock, Secret, TokenData, TokenResponse};

use super::{EXPIRES_ADJUST_SECONDS, OnRefresh, single_token};
use crate::error::{AuthError, Result};

/// How the most recent flight ended.
enum Landing {
    /// The new token is in `State::access_token`.
    Renewed,
    /// Shared with every caller that waited for this flight.
    Failed(AuthError),
    /// The renewing caller went away (panic, or its future dropped) before finishing: nothing
    /// to share, so one waiter renews instead.
    Abandoned,
}

struct State {
    access_token: Option<Secret>,
    expires_at: Option<i64>,
    renewing: bool,
    /// Flights ended (renewed, failed or abandoned); waiters compare it to know theirs ended.
    flights: u64,
    last: Option<Landing>,
}

/// One authorizer's token and the renewal in flight, if any.
pub(crate) struct Flights {
    state: Mutex<State>,
    /// Notified (all listeners) whenever a flight ends.
    landed: Event,
    clock: Arc<dyn Clock>,
    on_refresh: Option<OnRefresh>,
}

/// What a caller of [`Flights::step`] does next.
pub(crate) enum Step {
    /// Done: a fresh token, or the shared result of the flight this caller waited for.
    Ready(Result<Secret>),
    /// Another caller is renewing: wait on this, then step again. The listener was made under
    /// the state lock, so the end of that flight cannot be missed.
    Wait(EventListener),
    /// This caller renews: fetch, then [`FlightGuard::finish`]. Dropping the guard unfinished
    /// hands the renewal to a waiter.
    Renew(FlightGuard),
}

impl Flights {
    /// Fails if only one of `access_token` and `expires_at` is given.
    pub(crate) fn new(
        access_token: Option<Secret>,
        expires_at: Option<i64>,
        clock: Arc<dyn Clock>,
        on_refresh: Option<OnRefresh>,
    ) -> Result<Self> {
        if access_token.is_some() != expires_at.is_some() {
            return Err(AuthError::InvalidConfig(
                "give both an access token and its expiry, or neither".to_owned(),
            ));
        }
        Ok(Flights {
            state: Mutex::new(State {
                access_token,
                expires_at,
                renewing: false,
                flights: 0,
                last: None,
            }),
            landed: Event::new(),
            clock,
            on_refresh,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // State changes are single assignments, so a panic elsewhere cannot leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current access token (it may be stale) and its expiry.
    pub(crate) fn current(&self) -> (Option<Secret>, Option<i64>) {
        let state = self.lock();
        (state.access_token.clone(), state.expires_at)
    }

    /// Forget the current token (it got HTTP 401), returning it.
    pub(crate) fn drop_token(&self) -> Option<Secret> {
        let mut state = self.lock();
        state.expires_at = None;
        state.access_token.take()
    }

    /// Callers waiting for a flight now (tests use it to know their waiters are in place).
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.landed.total_listeners()
    }

    /// Decide the caller's next move. `waited_for` starts as `None` and is kept by the caller
    /// between steps; `context` names the token for events (called without the lock held).
    pub(crate) fn step(
        self: &Arc<Self>,
        accept_current: bool,
        waited_for: &mut Option<u64>,
        context: impl FnOnce() -> String,
    ) -> Step {
        let mut state = self.lock();
        if let Some(waited) = *waited_for
            && state.flights > waited
        {
            // The flight we waited for ended: share its result, even a token already near
            // expiry, rather than starting another request. An abandoned flight, or a token
            // dropped by a 401 since, leaves nothing to share.
            let shared = match &state.last {
                Some(Landing::Failed(err)) => Some(Err(err.clone())),
                Some(Landing::Renewed) => state.access_token.clone().map(Ok),
                Some(Landing::Abandoned) | None => None,
            };
            if let Some(result) = shared {
                drop(state);
                tracing::debug!(
                    token = %context(),
                    ok = result.is_ok(),
                    "shared the result of another caller's renewal"
                );
                return Step::Ready(result);
            }
        }
        if accept_current && let Some(token) = self.fresh_token(&state) {
            return Step::Ready(Ok(token));
        }
        if state.renewing {
            *waited_for = Some(state.flights);
            return Step::Wait(self.landed.listen());
        }
        state.renewing = true;
        drop(state);
        // The guard exists before `context` runs, so even a panic there releases the waiters.
        let mut flight = FlightGuard {
            flights: Arc::clone(self),
            context: String::new(),
            finished: false,
        };
        flight.context = context();
        tracing::info!(token = %flight.context, forced = !accept_current, "renewing access token");
        Step::Renew(flight)
    }

    fn fresh_token(&self, state: &State) -> Option<Secret> {
        let expires_at = state.expires_at?;
        let now = self.clock.now_seconds();
        (now.saturating_add(EXPIRES_ADJUST_SECONDS) < expires_at)
            .then(|| state.access_token.clone())
            .flatten()
    }

    fn land(&self, landing: Landing, token: Option<&TokenData>) {
        let mut state = self.lock();
        state.renewing = false;
        state.flights += 1;
        if let Some(token) = token {
            state.access_token = Some(token.access_token.clone());
            state.expires_at = Some(token.expires_at_seconds);
        }
        state.last = Some(landing);
        drop(state);
        self.landed.notify(usize::MAX);
    }
}

/// The renewal one caller owns. [`Self::finish`] lands it; dropping it unfinished (a panic in
/// the blocking path, or the async future dropped mid-request) marks it abandoned and wakes the
/// waiters, one of which renews in its place.
pub(crate) struct FlightGuard {
    // Owned, so an async renewal can finish in a task of its own after its caller is gone.
    flights: Arc<Flights>,
    context: String,
    finished: bool,
}

impl FlightGuard {
    /// Land the flight with what the source fetched: keep its one token (`accept` sees it
    /// first), wake the waiters, then run the `on_refresh` callback.
    pub(crate) fn finish(
        mut self,
        fetched: Result<TokenResponse>,
        accept: impl FnOnce(&TokenData),
    ) -> Result<Secret> {
        let renewed = fetched.and_then(|response| {
            let token = single_token(&response, || self.context.clone())?;
            accept(&token);
            Ok((token, response))
        });
        // Only now: a panic in `accept` above still abandons the flight.
        self.finished = true;
        let flights = Arc::clone(&self.flights);
        let (token, response) = match renewed {
            Ok((token, response)) => {
                tracing::info!(
                    token = %self.context,
                    expires_at = token.expires_at_seconds,
                    "renewed access token"
                );
                flights.land(Landing::Renewed, Some(&token));
                (token, response)
            }
            Err(err) => {
                tracing::info!(token = %self.context, error = %err, "token renewal failed");
                flights.land(Landing::Failed(err.clone()), None);
                return Err(err);
            }
        };
        if let Some(callback) = &flights.on_refresh {
            callback(&response).map_err(|err| AuthError::OnRefresh {
                resource_server: response
                    .resource_servers()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                message: err.to_string(),
            })?;
        }
        Ok(token.access_token)
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        if !self.finished {
            tracing::warn!(
                token = %self.context,
                "token renewal abandoned: the renewing caller went away before finishing; \
                 a waiting caller renews instead"
            );
            self.flights.land(Landing::Abandoned, None);
        }
    }
}
