//! Renewal that runs once across machines: a lease (lock) item per namespace and resource
//! server, held while one process runs a read-modify-write of the entry.
//!
//! The protocol is the AWS DynamoDB Lock Client's. A lease item holds its owner, a random
//! record version number (RVN) and the lease duration. It is taken with a conditional put
//! (the item must not exist), renewed by the holder's heartbeat (a conditional update that
//! replaces the RVN), and released with a conditional delete (the RVN must still be the
//! holder's). A waiter never trusts another machine's clock: it notes when it first saw an
//! RVN, and when the same RVN is still there a lease duration later by its own clock, the
//! holder is taken for dead and the lease taken over with a put conditional on that RVN, so
//! only one waiter can win.
//!
//! The lease guards the renewal, not the token: the token write stays a conditional put on the
//! tokens read (the compare-and-swap of every update), which is the fence. A holder whose
//! lease was taken over while it was stalled can still write only if nobody wrote since it
//! read, so a token never moves backwards.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::ProvideErrorMetadata as _;
use aws_sdk_dynamodb::types::AttributeValue;
use globus_tokens_core::raw::retry::{Backoff, BackoffConfig};
use globus_tokens_core::{Error, Result};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{ErrorKind, backend_error, from_sdk};
use crate::item::{Item, ItemLayout, NAMESPACE, RESOURCE_SERVER, TOKEN_DATA_ID};
use crate::storage::Shared;

/// The resource-server part of a lease item's key: the entry's resource server behind this
/// prefix, so lease items sit beside the entries they guard and are skipped by listings.
pub(crate) const LEASE_PREFIX: &str = "#lease:";
/// Who holds the lease (host, process, random): for messages only.
const LEASE_OWNER: &str = "lease_owner";
/// The record version number: changes with every heartbeat.
const LEASE_RVN: &str = "lease_rvn";
/// How long, in milliseconds, a waiter gives an unchanged RVN before taking the lease over.
const LEASE_DURATION_MS: &str = "lease_duration_ms";

/// How the renewal lease of a [`DynamoDbStorage`](crate::DynamoDbStorage) behaves.
///
/// With a lease (the default), [`TokenStorage::update_token_data`] takes a lease item for the
/// entry before reading it, so when processes on several machines find the same stale token,
/// one renews it and the others wait and then read its result: one token request per expiry,
/// and no `invalid_grant` race over a rotating refresh token.
///
/// [`TokenStorage::update_token_data`]: globus_tokens_core::TokenStorage::update_token_data
///
/// ```
/// use std::time::Duration;
/// use globus_tokens_dynamodb::LeaseConfig;
/// let lease = LeaseConfig::default().duration(Duration::from_secs(30));
/// assert_eq!(lease.heartbeat_period(), Duration::from_secs(10));
/// // A heartbeat is never slower than a third of the lease.
/// assert_eq!(lease.heartbeat(Duration::from_secs(60)).heartbeat_period(), Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseConfig {
    duration: Duration,
    heartbeat: Option<Duration>,
    max_wait: Duration,
}

impl Default for LeaseConfig {
    /// A 10 s lease, a heartbeat every third of it, waits of at most 2 minutes.
    fn default() -> Self {
        LeaseConfig {
            duration: Duration::from_secs(10),
            heartbeat: None,
            max_wait: Duration::from_secs(120),
        }
    }
}

impl LeaseConfig {
    /// How long a lease whose heartbeat has stopped blocks the others (default 10 s): after a
    /// holder dies, the next renewal starts this long after a waiter first saw the lease.
    /// At least 100 ms.
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = duration.max(Duration::from_millis(100));
        self
    }

    /// How often the holder renews its lease while its renewal runs (default and at most a
    /// third of the duration, as the AWS lock client advises).
    pub fn heartbeat(mut self, period: Duration) -> Self {
        self.heartbeat = Some(period.max(Duration::from_millis(10)));
        self
    }

    /// How long a process waits for a lease held by another before giving up with a
    /// temporary [`ErrorKind::LeaseTimeout`] error (default 2 minutes).
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The lease duration.
    pub fn lease_duration(&self) -> Duration {
        self.duration
    }

    /// The heartbeat period in use.
    pub fn heartbeat_period(&self) -> Duration {
        let third = self.duration / 3;
        self.heartbeat.map_or(third, |period| period.min(third))
    }

    /// The longest wait for another holder's lease.
    pub fn max_wait_duration(&self) -> Duration {
        self.max_wait
    }
}

/// This process's owner name: host, process id and a random part.
fn owner_name() -> &'static str {
    static OWNER: OnceLock<String> = OnceLock::new();
    OWNER.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .or_else(|| std::env::var("COMPUTERNAME").ok())
            .map(|host| host.trim().to_owned())
            .filter(|host| !host.is_empty())
            .unwrap_or_else(|| "unknown-host".to_owned());
        format!("{host}:{}:{:08x}", std::process::id(), random_u64() as u32)
    })
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_ok() {
        return u64::from_le_bytes(bytes);
    }
    // No OS randomness: a per-process random hasher key still makes RVNs unique enough, as
    // they only need to differ from the previous holder's.
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

fn new_rvn() -> String {
    format!("{:016x}{:016x}", random_u64(), random_u64())
}

/// Where the lease of one entry lives.
#[derive(Clone)]
pub(crate) struct LeaseKey {
    key: Item,
    namespace: String,
    lease_resource_server: String,
    /// "table T[ at E] item K", for errors.
    location: String,
    /// The entry's resource server, for events.
    resource_server: String,
}

impl LeaseKey {
    pub(crate) fn new(shared: &Shared, namespace: &str, resource_server: &str) -> Self {
        let lease_resource_server = format!("{LEASE_PREFIX}{resource_server}");
        LeaseKey {
            key: shared.layout.key(namespace, &lease_resource_server),
            namespace: namespace.to_owned(),
            location: format!(
                "{} item {}",
                shared.location,
                shared
                    .layout
                    .describe_key(namespace, &lease_resource_server)
            ),
            lease_resource_server,
            resource_server: resource_server.to_owned(),
        }
    }
}

/// Whether an item's resource server names a lease item rather than an entry.
pub(crate) fn is_lease_resource_server(resource_server: &str) -> bool {
    resource_server.starts_with(LEASE_PREFIX)
}

/// A lease as another process holds it.
struct Observed {
    rvn: String,
    owner: String,
    duration: Duration,
    /// When this process first saw this RVN, by its own clock.
    since: Instant,
}

/// A lease this process holds; release it with [`HeldLease::release`]. Dropped unreleased (a
/// panicking or cancelled update), it is released by a task on the runtime thread.
pub(crate) struct HeldLease {
    shared: Arc<Shared>,
    key: LeaseKey,
    stop: Option<oneshot::Sender<()>>,
    heartbeat: Option<JoinHandle<Option<String>>>,
}

impl HeldLease {
    /// Stop the heartbeat and delete the lease item, if it is still ours.
    pub(crate) async fn release(mut self) -> Result<()> {
        let (stop, heartbeat) = (self.stop.take(), self.heartbeat.take());
        release(Arc::clone(&self.shared), self.key.clone(), stop, heartbeat).await
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            let future = release(
                Arc::clone(&self.shared),
                self.key.clone(),
                self.stop.take(),
                Some(heartbeat),
            );
            self.shared.runtime.spawn(async move {
                if let Err(err) = future.await {
                    tracing::warn!(error = %err, "could not release a renewal lease");
                }
            });
        }
    }
}

async fn release(
    shared: Arc<Shared>,
    key: LeaseKey,
    stop: Option<oneshot::Sender<()>>,
    heartbeat: Option<JoinHandle<Option<String>>>,
) -> Result<()> {
    if let Some(stop) = stop {
        let _ = stop.send(());
    }
    // The heartbeat finishes its request in flight before it stops, so its last RVN is known.
    let rvn = match heartbeat {
        Some(heartbeat) => heartbeat.await.ok().flatten(),
        None => None,
    };
    let Some(rvn) = rvn else {
        // Lost to a takeover: the item is someone else's now.
        return Ok(());
    };
    let deleted = shared
        .client
        .delete_item()
        .table_name(&shared.table)
        .set_key(Some(key.key.clone()))
        .condition_expression("#rvn = :rvn")
        .expression_attribute_names("#rvn", LEASE_RVN)
        .expression_attribute_values(":rvn", AttributeValue::S(rvn))
        .send()
        .await;
    match deleted {
        Ok(_) => Ok(()),
        Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
            tracing::warn!(
                resource_server = %key.resource_server,
                namespace = %key.namespace,
                "renewal lease was taken over by another process before it was released"
            );
            Ok(())
        }
        Err(err) => Err(from_sdk(
            err,
            "DeleteItem (release lease)",
            &shared.location,
        )),
    }
}

/// Take the lease of `key`, waiting (with backoff, at most `config.max_wait`) while another
/// live process holds it, and taking it over once its holder has stopped heart-beating for a
/// lease duration. Runs on the runtime thread.
pub(crate) async fn acquire(
    shared: Arc<Shared>,
    key: LeaseKey,
    config: LeaseConfig,
) -> Result<HeldLease> {
    let started = Instant::now();
    let mut observed: Option<Observed> = None;
    let mut backoff = Backoff::new(&BackoffConfig {
        init_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        base: 2.0,
    });
    let mut waited = false;
    loop {
        let takeover = observed
            .as_ref()
            .filter(|seen| seen.since.elapsed() >= seen.duration);
        let rvn = new_rvn();
        if put_lease(
            &shared,
            &key,
            &rvn,
            config,
            takeover.map(|seen| &seen.rvn[..]),
        )
        .await?
        {
            if let Some(seen) = takeover {
                tracing::warn!(
                    resource_server = %key.resource_server,
                    namespace = %key.namespace,
                    previous_owner = %seen.owner,
                    waited_ms = started.elapsed().as_millis() as u64,
                    "took over a renewal lease whose holder stopped renewing it"
                );
            } else if waited {
                tracing::debug!(
                    resource_server = %key.resource_server,
                    namespace = %key.namespace,
                    waited_ms = started.elapsed().as_millis() as u64,
                    "renewal lease acquired after waiting for another process"
                );
            }
            return Ok(start_heartbeat(shared, key, rvn, config));
        }
        waited = true;
        match get_lease(&shared, &key).await? {
            // Released between our put and our read: try again at once.
            None => {
                observed = None;
                continue;
            }
            Some(current) => match &observed {
                Some(seen) if seen.rvn == current.rvn => {}
                _ => observed = Some(current),
            },
        }
        let Some(seen) = &observed else { continue };
        if started.elapsed() >= config.max_wait {
            return Err(backend_error(
                ErrorKind::LeaseTimeout,
                None,
                key.location.clone(),
                format!(
                    "gave up after {:.1} s waiting for the renewal lease held by {}",
                    started.elapsed().as_secs_f64(),
                    seen.owner
                ),
            ));
        }
        let until_expiry = seen.duration.saturating_sub(seen.since.elapsed());
        let wait = backoff
            .next()
            .min(until_expiry)
            .max(Duration::from_millis(1));
        tokio::time::sleep(wait).await;
    }
}

/// Put a lease item: new (`takeover` = `None`, no item may exist) or over the lease with RVN
/// `takeover`. `Ok(false)` when the condition failed.
async fn put_lease(
    shared: &Shared,
    key: &LeaseKey,
    rvn: &str,
    config: LeaseConfig,
    takeover: Option<&str>,
) -> Result<bool> {
    let mut item = key.key.clone();
    let s = |v: &str| AttributeValue::S(v.to_owned());
    item.insert(RESOURCE_SERVER.to_owned(), s(&key.lease_resource_server));
    item.insert(LEASE_OWNER.to_owned(), s(owner_name()));
    item.insert(LEASE_RVN.to_owned(), s(rvn));
    item.insert(
        LEASE_DURATION_MS.to_owned(),
        AttributeValue::N(config.duration.as_millis().to_string()),
    );
    let put = shared
        .client
        .put_item()
        .table_name(&shared.table)
        .set_item(Some(item));
    let put = match takeover {
        None => put
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names(
                "#key",
                match shared.layout {
                    ItemLayout::Seed => TOKEN_DATA_ID,
                    ItemLayout::Composite => NAMESPACE,
                },
            ),
        Some(previous) => put
            .condition_expression("#rvn = :previous")
            .expression_attribute_names("#rvn", LEASE_RVN)
            .expression_attribute_values(":previous", s(previous)),
    };
    match put.send().await {
        Ok(_) => Ok(true),
        Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(false),
        Err(err) => Err(from_sdk(err, "PutItem (lease)", &shared.location)),
    }
}

/// Read the lease item, if there is one. A malformed one is [`Error::InvalidData`] naming the
/// item and attribute: it is not ours to overwrite.
async fn get_lease(shared: &Shared, key: &LeaseKey) -> Result<Option<Observed>> {
    let output = shared
        .client
        .get_item()
        .table_name(&shared.table)
        .set_key(Some(key.key.clone()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|err| from_sdk(err, "GetItem (lease)", &shared.location))?;
    match output.item() {
        None => Ok(None),
        Some(item) if item.is_empty() => Ok(None),
        Some(item) => parse_lease(item, &key.location).map(Some),
    }
}

fn parse_lease(item: &Item, location: &str) -> Result<Observed> {
    let malformed = |detail: String| {
        Error::invalid_data(
            location,
            format!(
                "not a renewal lease: {detail}; renewals of this entry wait until the item is \
                 removed"
            ),
        )
    };
    let rvn = match item.get(LEASE_RVN) {
        Some(AttributeValue::S(rvn)) if !rvn.is_empty() => rvn.clone(),
        Some(_) => return Err(malformed(format!("attribute {LEASE_RVN} is not a string"))),
        None => return Err(malformed(format!("attribute {LEASE_RVN} is missing"))),
    };
    let duration = match item.get(LEASE_DURATION_MS) {
        Some(AttributeValue::N(ms)) => {
            ms.parse::<u64>().map(Duration::from_millis).map_err(|_| {
                malformed(format!(
                    "attribute {LEASE_DURATION_MS} is not a whole number of milliseconds"
                ))
            })?
        }
        Some(_) => {
            return Err(malformed(format!(
                "attribute {LEASE_DURATION_MS} is not a number"
            )));
        }
        None => {
            return Err(malformed(format!(
                "attribute {LEASE_DURATION_MS} is missing"
            )));
        }
    };
    let owner = match item.get(LEASE_OWNER) {
        Some(AttributeValue::S(owner)) => owner.clone(),
        _ => "an unnamed owner".to_owned(),
    };
    Ok(Observed {
        rvn,
        owner,
        duration,
        since: Instant::now(),
    })
}

fn start_heartbeat(
    shared: Arc<Shared>,
    key: LeaseKey,
    rvn: String,
    config: LeaseConfig,
) -> HeldLease {
    let (stop_tx, stop_rx) = oneshot::channel();
    let heartbeat = tokio::spawn(heartbeat(
        Arc::clone(&shared),
        key.clone(),
        rvn,
        config.heartbeat_period(),
        stop_rx,
    ));
    HeldLease {
        shared,
        key,
        stop: Some(stop_tx),
        heartbeat: Some(heartbeat),
    }
}

/// Replace the lease's RVN every `period` until stopped; returns the RVN in the table, or
/// `None` when the lease was taken over (a request in flight is finished before stopping).
async fn heartbeat(
    shared: Arc<Shared>,
    key: LeaseKey,
    mut rvn: String,
    period: Duration,
    mut stop: oneshot::Receiver<()>,
) -> Option<String> {
    loop {
        tokio::select! {
            _ = &mut stop => return Some(rvn),
            () = tokio::time::sleep(period) => {}
        }
        let next = new_rvn();
        let updated = shared
            .client
            .update_item()
            .table_name(&shared.table)
            .set_key(Some(key.key.clone()))
            .update_expression("SET #rvn = :next")
            .condition_expression("#rvn = :current")
            .expression_attribute_names("#rvn", LEASE_RVN)
            .expression_attribute_values(":next", AttributeValue::S(next.clone()))
            .expression_attribute_values(":current", AttributeValue::S(rvn.clone()))
            .send()
            .await;
        match updated {
            Ok(_) => rvn = next,
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                tracing::warn!(
                    resource_server = %key.resource_server,
                    namespace = %key.namespace,
                    "renewal lease lost to another process (this one stalled for longer than \
                     the lease); its token write still only lands if nobody wrote since"
                );
                return None;
            }
            Err(err) => {
                // The lease stays ours until a waiter has seen the same RVN for a whole
                // duration; the next beat may get through.
                let err = from_sdk(err, "UpdateItem (lease heartbeat)", &shared.location);
                tracing::warn!(error = %err, "renewal lease heartbeat failed; retrying");
            }
        }
    }
}
