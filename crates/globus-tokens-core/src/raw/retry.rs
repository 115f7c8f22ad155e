//! Retrying: one exponential backoff with jitter, and the compare-and-swap update loop for
//! backends without locks.
//!
//! [`Backoff`] follows object_store's `Backoff` (decorrelated jitter): the first wait is
//! `init_backoff`, each later one is drawn uniformly from `init_backoff .. previous * base`,
//! capped at `max_backoff`. Its randomness can be injected ([`Backoff::with_random`]) so tests
//! get exact waits. The Globus Auth client and the DynamoDB backend both use it.
//!
//! [`update_with_compare_and_swap`] is the read-modify-write loop that
//! [`TokenStorage::update_token_data`] runs by default;
//! a backend that overrides `update_token_data` (say, to serialise threads first) calls it too.
//! When every attempt is used up the error says so ([`Error::RetriesExhausted`]) and is not
//! temporary: the caller's own retry loop must not start another round.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::storage::{SwapOutcome, TokenStorage, UpdateFn};
use crate::token::TokenData;

/// The shape of a [`Backoff`]: first wait, longest wait, growth factor.
///
/// ```
/// use std::time::Duration;
/// use globus_tokens_core::raw::retry::BackoffConfig;
/// let config = BackoffConfig { init_backoff: Duration::from_millis(250), ..BackoffConfig::default() };
/// assert_eq!(config.max_backoff, Duration::from_secs(15));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffConfig {
    /// The first wait; also the lower bound of every later one.
    pub init_backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
    /// How fast the upper bound grows: the next wait is at most `previous * base`.
    pub base: f64,
}

impl Default for BackoffConfig {
    /// object_store's defaults: 100 ms, at most 15 s, base 2.
    fn default() -> Self {
        BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(15),
            base: 2.0,
        }
    }
}

/// A source of uniform random numbers in `[0, 1)` for [`Backoff`].
pub type RandomSource = Box<dyn FnMut() -> f64 + Send + Sync>;

/// Exponential backoff with decorrelated jitter (object_store's algorithm).
///
/// ```
/// use std::time::Duration;
/// use globus_tokens_core::raw::retry::{Backoff, BackoffConfig};
/// let config = BackoffConfig { init_backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(10), base: 2.0 };
/// // Always the top of the range, for a predictable example.
/// let mut backoff = Backoff::with_random(&config, Box::new(|| 0.999_999_999));
/// let waits: Vec<u64> = (0..6).map(|_| backoff.next().as_secs_f64().round() as u64).collect();
/// assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
/// ```
pub struct Backoff {
    init_backoff: f64,
    next_backoff_secs: f64,
    max_backoff_secs: f64,
    base: f64,
    random: RandomSource,
}

impl std::fmt::Debug for Backoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backoff")
            .field("init_backoff", &self.init_backoff)
            .field("next_backoff_secs", &self.next_backoff_secs)
            .field("max_backoff_secs", &self.max_backoff_secs)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Backoff {
    /// A backoff drawing its jitter from the operating system's random hasher keys.
    pub fn new(config: &BackoffConfig) -> Self {
        Self::with_random(config, Box::new(system_random))
    }

    /// A backoff drawing its jitter from `random`, which must return values in `[0, 1)`
    /// (values outside are clamped).
    pub fn with_random(config: &BackoffConfig, random: RandomSource) -> Self {
        let init_backoff = config.init_backoff.as_secs_f64();
        let max_backoff_secs = config.max_backoff.as_secs_f64().max(init_backoff);
        Backoff {
            init_backoff,
            next_backoff_secs: init_backoff,
            max_backoff_secs,
            base: if config.base.is_finite() && config.base >= 1.0 {
                config.base
            } else {
                1.0
            },
            random,
        }
    }

    /// The wait before the next retry.
    #[allow(clippy::should_implement_trait)] // an endless sequence, not an `Iterator` that ends
    pub fn next(&mut self) -> Duration {
        let low = self.init_backoff;
        let high = (self.next_backoff_secs * self.base).max(low);
        let drawn_fraction = (self.random)();
        let fraction = if drawn_fraction.is_nan() {
            0.0
        } else {
            drawn_fraction.clamp(0.0, 1.0)
        };
        let drawn = low + (high - low) * fraction;
        let next = drawn.min(self.max_backoff_secs);
        let current = std::mem::replace(&mut self.next_backoff_secs, next);
        Duration::try_from_secs_f64(current).unwrap_or(Duration::ZERO)
    }
}

/// A uniform `[0, 1)` value from std's randomly keyed hasher: enough for jitter, no dependency.
fn system_random() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    // 53 random bits make an exactly representable fraction.
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// How [`update_with_compare_and_swap`] retries after conflicts.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct CasRetry {
    /// Calls of `update` (and conditional writes) at most, the first included.
    pub max_attempts: u32,
    /// Conflicts retried at once before waiting between attempts: most conflicts are one
    /// other writer, and re-reading settles them.
    pub immediate_retries: u32,
    /// The waits after that.
    pub backoff: BackoffConfig,
}

impl Default for CasRetry {
    /// 32 attempts, the first 3 conflicts retried at once, then waits from 25 ms up to 1.6 s.
    fn default() -> Self {
        CasRetry {
            max_attempts: 32,
            immediate_retries: 3,
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(25),
                max_backoff: Duration::from_millis(1_600),
                base: 2.0,
            },
        }
    }
}

impl CasRetry {
    /// Set the number of attempts (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Set how many conflicts are retried without waiting.
    pub fn immediate_retries(mut self, retries: u32) -> Self {
        self.immediate_retries = retries;
        self
    }

    /// Set the waits between later attempts.
    pub fn backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }
}

/// Read-modify-write of one entry with [`TokenStorage::compare_and_swap`], retrying conflicts.
///
/// Reads the entry, gives it to `update`, and writes the result only if the entry has not
/// changed since; on a conflict `update` is called again with what is stored now. `update`
/// returning `None` ends the loop without writing. Returns the entry stored afterwards.
/// When `retry.max_attempts` conflicts in a row have happened, fails with
/// [`Error::RetriesExhausted`] (not temporary).
///
/// ```
/// use globus_tokens_core::raw::retry::{CasRetry, update_with_compare_and_swap};
/// use globus_tokens_core::{MemoryTokenStorage, TokenData};
/// let store = MemoryTokenStorage::new();
/// let stored = update_with_compare_and_swap(&store, "rs", &mut |current| {
///     assert!(current.is_none());
///     Some(TokenData::new("rs", "scope", "AT", 100))
/// }, &CasRetry::default())?;
/// assert_eq!(stored.map(|d| d.expires_at_seconds), Some(100));
/// # Ok::<(), globus_tokens_core::Error>(())
/// ```
pub fn update_with_compare_and_swap<S: TokenStorage + ?Sized>(
    store: &S,
    resource_server: &str,
    update: &mut UpdateFn<'_>,
    retry: &CasRetry,
) -> Result<Option<TokenData>> {
    let mut attempts = CasAttempts::new(retry);
    let mut current = store.get_token_data(resource_server)?;
    loop {
        let Some(mut new) = update(current.as_ref()) else {
            return Ok(current);
        };
        new.resource_server = resource_server.to_owned();
        match store.compare_and_swap(current.as_ref(), &new)? {
            SwapOutcome::Swapped => return Ok(Some(new)),
            SwapOutcome::Conflict(now_stored) => current = now_stored,
        }
        match attempts.after_conflict() {
            AfterConflict::Retry => {}
            AfterConflict::Wait(wait) => std::thread::sleep(wait),
            AfterConflict::GiveUp => {
                return Err(attempts.exhausted(resource_server, store.namespace()));
            }
        }
    }
}

/// [`update_with_compare_and_swap`] for async stores (feature `async`): the same attempts and
/// waits (slept with `tokio::time::sleep`), an async `update`.
#[cfg(feature = "async")]
#[cfg_attr(docsrs, doc(cfg(feature = "async")))]
pub async fn update_with_compare_and_swap_async<S: crate::AsyncTokenStorage + ?Sized>(
    store: &S,
    resource_server: &str,
    update: &mut crate::AsyncUpdateFn<'_>,
    retry: &CasRetry,
) -> Result<Option<TokenData>> {
    let mut attempts = CasAttempts::new(retry);
    let mut current = store.get_token_data(resource_server).await?;
    loop {
        let Some(mut new) = update(current.clone()).await else {
            return Ok(current);
        };
        new.resource_server = resource_server.to_owned();
        match store.compare_and_swap(current.as_ref(), &new).await? {
            SwapOutcome::Swapped => return Ok(Some(new)),
            SwapOutcome::Conflict(now_stored) => current = now_stored,
        }
        match attempts.after_conflict() {
            AfterConflict::Retry => {}
            AfterConflict::Wait(wait) => tokio::time::sleep(wait).await,
            AfterConflict::GiveUp => {
                return Err(attempts.exhausted(resource_server, store.namespace()));
            }
        }
    }
}

/// What the compare-and-swap loop does after a conflict.
enum AfterConflict {
    Retry,
    Wait(Duration),
    GiveUp,
}

/// The compare-and-swap loop's count of attempts and its backoff, shared by the blocking and
/// async loops.
struct CasAttempts {
    attempt: u32,
    attempts: u32,
    immediate_retries: u32,
    backoff: Backoff,
}

impl CasAttempts {
    fn new(retry: &CasRetry) -> Self {
        CasAttempts {
            attempt: 1,
            attempts: retry.max_attempts.max(1),
            immediate_retries: retry.immediate_retries,
            backoff: Backoff::new(&retry.backoff),
        }
    }

    fn after_conflict(&mut self) -> AfterConflict {
        let attempt = self.attempt;
        if attempt >= self.attempts {
            return AfterConflict::GiveUp;
        }
        self.attempt += 1;
        if attempt > self.immediate_retries {
            AfterConflict::Wait(self.backoff.next())
        } else {
            AfterConflict::Retry
        }
    }

    fn exhausted(&self, resource_server: &str, namespace: &str) -> Error {
        Error::RetriesExhausted {
            location: format!("{resource_server} in namespace {namespace}"),
            attempts: self.attempts,
            reason: "the entry kept changing under concurrent updates".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(init_ms: u64, max_ms: u64) -> BackoffConfig {
        BackoffConfig {
            init_backoff: Duration::from_millis(init_ms),
            max_backoff: Duration::from_millis(max_ms),
            base: 2.0,
        }
    }

    #[test]
    fn lowest_draws_stay_at_the_initial_wait() {
        let mut backoff = Backoff::with_random(&config(100, 10_000), Box::new(|| 0.0));
        for _ in 0..10 {
            assert_eq!(backoff.next(), Duration::from_millis(100));
        }
    }

    #[test]
    fn highest_draws_double_up_to_the_cap() {
        let mut backoff = Backoff::with_random(&config(100, 1_000), Box::new(|| 1.0));
        let waits: Vec<u128> = (0..7).map(|_| backoff.next().as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1_000, 1_000, 1_000]);
    }

    #[test]
    fn middle_draws_are_in_range() {
        let mut backoff = Backoff::with_random(&config(100, 10_000), Box::new(|| 0.5));
        assert_eq!(backoff.next(), Duration::from_millis(100));
        // uniform in 100..200 at 0.5: 150
        assert_eq!(backoff.next(), Duration::from_millis(150));
        // uniform in 100..300 at 0.5: 200
        assert_eq!(backoff.next(), Duration::from_millis(200));
    }

    #[test]
    fn system_randomness_stays_in_bounds() {
        let mut backoff = Backoff::new(&config(10, 1_000));
        let mut previous = backoff.next();
        assert_eq!(previous, Duration::from_millis(10));
        for _ in 0..200 {
            let wait = backoff.next();
            assert!(wait >= Duration::from_millis(10) && wait <= Duration::from_millis(1_000));
            assert!(wait <= previous * 2 + Duration::from_millis(1));
            previous = wait;
        }
        let draws: Vec<f64> = (0..100).map(|_| system_random()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]), "not constant");
    }

    /// A store where another writer changes the entry before each of our first `conflicts`
    /// conditional writes. Uses the trait's default `update_token_data`.
    struct Contended {
        inner: crate::MemoryTokenStorage,
        conflicts: std::sync::atomic::AtomicU32,
        swaps: std::sync::atomic::AtomicU32,
    }

    impl Contended {
        fn new(conflicts: u32) -> Self {
            let inner = crate::MemoryTokenStorage::new();
            let seed = TokenData::new("rs", "s", "AT-0", 0);
            inner
                .store_token_data(&[("rs".to_owned(), seed)].into())
                .unwrap();
            Contended {
                inner,
                conflicts: conflicts.into(),
                swaps: 0.into(),
            }
        }
    }

    impl TokenStorage for Contended {
        fn namespace(&self) -> &str {
            self.inner.namespace()
        }
        fn store_token_data(
            &self,
            token_data: &std::collections::BTreeMap<String, TokenData>,
        ) -> Result<()> {
            self.inner.store_token_data(token_data)
        }
        fn get_token_data(&self, resource_server: &str) -> Result<Option<TokenData>> {
            self.inner.get_token_data(resource_server)
        }
        fn remove_token_data(&self, resource_server: &str) -> Result<bool> {
            self.inner.remove_token_data(resource_server)
        }
        fn compare_and_swap(
            &self,
            expected: Option<&TokenData>,
            new: &TokenData,
        ) -> Result<SwapOutcome> {
            use std::sync::atomic::Ordering::SeqCst;
            let swap = self.swaps.fetch_add(1, SeqCst);
            if self.conflicts.load(SeqCst) > swap {
                let other = TokenData::new("rs", "s", format!("AT-other-{swap}"), 0);
                self.inner
                    .store_token_data(&[("rs".to_owned(), other)].into())
                    .unwrap();
            }
            self.inner.compare_and_swap(expected, new)
        }
    }

    #[test]
    fn default_update_retries_conflicts_and_sees_the_winners_entry() {
        let store = Contended::new(2);
        let mut seen = Vec::new();
        let stored = store
            .update_token_data("rs", &mut |current| {
                let current = current.unwrap();
                seen.push(current.access_token.expose().to_owned());
                Some(TokenData::new("rs", "s", "AT-mine", 1))
            })
            .unwrap();
        assert_eq!(seen, ["AT-0", "AT-other-0", "AT-other-1"]);
        assert_eq!(stored.unwrap().access_token.expose(), "AT-mine");
        assert_eq!(
            store
                .get_token_data("rs")
                .unwrap()
                .unwrap()
                .access_token
                .expose(),
            "AT-mine"
        );
    }

    #[test]
    fn exhausted_retries_say_so_and_are_not_temporary() {
        let store = Contended::new(u32::MAX);
        let retry = CasRetry::default()
            .max_attempts(5)
            .immediate_retries(0)
            .backoff(BackoffConfig {
                init_backoff: Duration::ZERO,
                max_backoff: Duration::ZERO,
                base: 2.0,
            });
        let mut calls = 0;
        let err = update_with_compare_and_swap(
            &store,
            "rs",
            &mut |_| {
                calls += 1;
                Some(TokenData::new("rs", "s", "AT-sekrit", 1))
            },
            &retry,
        )
        .unwrap_err();
        assert_eq!(calls, 5);
        assert!(matches!(err, Error::RetriesExhausted { attempts: 5, .. }));
        assert!(!err.is_temporary());
        let text = err.to_string();
        assert!(text.contains("gave up after 5 attempts"), "{text}");
        assert!(text.contains("rs in namespace DEFAULT"), "{text}");
        assert!(!text.contains("AT-sekrit"));
    }

    #[test]
    fn update_returning_none_writes_nothing() {
        let store = Contended::new(0);
        let stored =
            update_with_compare_and_swap(&store, "rs", &mut |_| None, &CasRetry::default())
                .unwrap();
        assert_eq!(stored.unwrap().access_token.expose(), "AT-0");
        assert_eq!(store.swaps.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[test]
    fn silly_configs_do_not_panic() {
        let silly = BackoffConfig {
            init_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(1),
            base: f64::NAN,
        };
        let mut backoff = Backoff::with_random(&silly, Box::new(|| f64::INFINITY));
        assert_eq!(backoff.next(), Duration::from_secs(5));
        assert_eq!(backoff.next(), Duration::from_secs(5));
    }
}
