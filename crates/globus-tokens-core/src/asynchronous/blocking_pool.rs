//! [`BlockingPool`]: a blocking store used from async code through tokio's blocking pool.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{AsyncTokenStorage, AsyncUpdateFn, BoxFuture};
use crate::error::{Error, Result};
use crate::storage::{SwapOutcome, TokenStorage};
use crate::token::{TokenData, TokenResponse};

/// Any blocking [`TokenStorage`] as an [`AsyncTokenStorage`]: each call runs on tokio's
/// blocking pool (`spawn_blocking`), so file and SQLite I/O, and waits for their locks, never
/// block a runtime worker.
///
/// [`AsyncTokenStorage::update_token_data`] runs the store's own locked
/// [`TokenStorage::update_token_data`] on a blocking thread and hands each stored entry to the
/// async `update` over a channel, waiting for its answer with the lock held: an async token
/// request made inside the update is covered by the file lock or SQLite transaction, so the
/// cross-process single-flight renewal of the blocking API holds. If the update's future is
/// dropped, the blocking side sees the channel close, writes nothing and releases the lock.
///
/// Needs a tokio runtime (any flavour) with its blocking pool; a panic in the store comes back
/// as [`Error::Backend`] naming the operation, not as a panic.
pub struct BlockingPool<S: ?Sized> {
    inner: Arc<S>,
}

impl<S: ?Sized> Clone for BlockingPool<S> {
    fn clone(&self) -> Self {
        BlockingPool {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: TokenStorage + ?Sized> std::fmt::Debug for BlockingPool<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingPool")
            .field("namespace", &self.inner.namespace())
            .finish_non_exhaustive()
    }
}

impl<S: TokenStorage> BlockingPool<S> {
    /// Use `store` from async code.
    pub fn new(store: S) -> Self {
        BlockingPool {
            inner: Arc::new(store),
        }
    }
}

impl<S: TokenStorage + ?Sized> BlockingPool<S> {
    /// Use a shared store from async code (the same store may be used blocking elsewhere).
    pub fn from_arc(store: Arc<S>) -> Self {
        BlockingPool { inner: store }
    }

    /// The blocking store.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }
}

impl<S: TokenStorage + ?Sized + 'static> BlockingPool<S> {
    /// Run `call` on the blocking pool.
    fn run<T: Send + 'static>(
        &self,
        operation: &'static str,
        call: impl FnOnce(&S) -> Result<T> + Send + 'static,
    ) -> BoxFuture<'static, Result<T>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            spawn(operation, move || call(&inner))?
                .await
                .map_err(|err| join_error(operation, &err))?
        })
    }
}

/// `spawn_blocking` on the current runtime; outside a tokio runtime, an error instead of
/// tokio's panic.
fn spawn<T: Send + 'static>(
    operation: &'static str,
    call: impl FnOnce() -> T + Send + 'static,
) -> Result<tokio::task::JoinHandle<T>> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::Backend {
        backend: "blocking pool",
        location: operation.to_owned(),
        message: "not called from a tokio runtime".to_owned(),
        temporary: false,
        source: None,
    })?;
    Ok(runtime.spawn_blocking(call))
}

/// A blocking task that panicked or was cancelled (the runtime shutting down).
fn join_error(operation: &'static str, err: &tokio::task::JoinError) -> Error {
    Error::Backend {
        backend: "blocking pool",
        location: operation.to_owned(),
        message: if err.is_panic() {
            "the store panicked".to_owned()
        } else {
            "the blocking task was cancelled (is the runtime shutting down?)".to_owned()
        },
        temporary: false,
        source: None,
    }
}

impl<S: TokenStorage + ?Sized + 'static> AsyncTokenStorage for BlockingPool<S> {
    fn namespace(&self) -> &str {
        self.inner.namespace()
    }

    fn store_token_data<'a>(
        &'a self,
        token_data: &'a BTreeMap<String, TokenData>,
    ) -> BoxFuture<'a, Result<()>> {
        let token_data = token_data.clone();
        self.run("store_token_data", move |store| {
            store.store_token_data(&token_data)
        })
    }

    fn store<'a>(&'a self, response: &'a TokenResponse) -> BoxFuture<'a, Result<()>> {
        let response = response.clone();
        self.run("store", move |store| store.store(&response))
    }

    fn get_token_data<'a>(
        &'a self,
        resource_server: &'a str,
    ) -> BoxFuture<'a, Result<Option<TokenData>>> {
        let resource_server = resource_server.to_owned();
        self.run("get_token_data", move |store| {
            store.get_token_data(&resource_server)
        })
    }

    fn remove_token_data<'a>(&'a self, resource_server: &'a str) -> BoxFuture<'a, Result<bool>> {
        let resource_server = resource_server.to_owned();
        self.run("remove_token_data", move |store| {
            store.remove_token_data(&resource_server)
        })
    }

    fn on_refresh<'a>(&'a self, response: &'a TokenResponse) -> BoxFuture<'a, Result<()>> {
        let response = response.clone();
        self.run("on_refresh", move |store| store.on_refresh(&response))
    }

    fn compare_and_swap<'a>(
        &'a self,
        expected: Option<&'a TokenData>,
        new: &'a TokenData,
    ) -> BoxFuture<'a, Result<SwapOutcome>> {
        let (expected, new) = (expected.cloned(), new.clone());
        self.run("compare_and_swap", move |store| {
            store.compare_and_swap(expected.as_ref(), &new)
        })
    }

    fn update_token_data<'a, 'f: 'a>(
        &'a self,
        resource_server: &'a str,
        update: &'a mut AsyncUpdateFn<'f>,
    ) -> BoxFuture<'a, Result<Option<TokenData>>> {
        // The blocking side asks (the stored entry), the async side answers (what to write).
        let (ask, mut asked) = mpsc::channel::<Option<TokenData>>(1);
        let (answer, mut answered) = mpsc::channel::<Option<TokenData>>(1);
        let resource_server = resource_server.to_owned();
        let store = Arc::clone(&self.inner);
        Box::pin(async move {
            const OPERATION: &str = "update_token_data";
            let locked = spawn(OPERATION, move || {
                store.update_token_data(&resource_server, &mut |current| {
                    if ask.blocking_send(current.cloned()).is_err() {
                        return None; // the async side is gone: write nothing
                    }
                    answered.blocking_recv().flatten()
                })
            })?;
            // `asked` ends when the blocking update returns and drops its closure.
            while let Some(current) = asked.recv().await {
                let new = update(current).await;
                if answer.send(new).await.is_err() {
                    break;
                }
            }
            locked.await.map_err(|err| join_error(OPERATION, &err))?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryTokenStorage;

    fn entry(access_token: &str, expires_at: i64) -> TokenData {
        TokenData::new("rs", "scope", access_token, expires_at)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn a_dropped_update_writes_nothing_and_releases_the_lock() {
        runtime().block_on(async {
            let store = BlockingPool::new(MemoryTokenStorage::new());
            store
                .store_token_data(&[("rs".to_owned(), entry("AT-1", 1))].into())
                .await
                .unwrap();
            let (entered, mut inside) = mpsc::channel::<()>(1);
            {
                let mut update = |current: Option<TokenData>| -> BoxFuture<'_, Option<TokenData>> {
                    let entered = entered.clone();
                    Box::pin(async move {
                        entered.send(()).await.unwrap();
                        std::future::pending::<()>().await;
                        current
                    })
                };
                let pending = store.update_token_data("rs", &mut update);
                tokio::select! {
                    _ = pending => panic!("the update never finishes"),
                    _ = inside.recv() => {} // it is inside the update: drop it there
                }
            }
            let stored = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                store.update_token_data("rs", &mut |current| {
                    Box::pin(async move {
                        let mut next = current?;
                        next.access_token = "AT-2".into();
                        Some(next)
                    })
                }),
            )
            .await
            .expect("the lock was released")
            .unwrap()
            .unwrap();
            assert_eq!(stored.access_token.expose(), "AT-2");
        });
    }

    #[test]
    fn a_panicking_store_is_an_error() {
        struct Panics(MemoryTokenStorage);
        impl TokenStorage for Panics {
            fn namespace(&self) -> &str {
                self.0.namespace()
            }
            fn store_token_data(&self, _: &BTreeMap<String, TokenData>) -> Result<()> {
                panic!("boom")
            }
            fn get_token_data(&self, rs: &str) -> Result<Option<TokenData>> {
                self.0.get_token_data(rs)
            }
            fn remove_token_data(&self, rs: &str) -> Result<bool> {
                self.0.remove_token_data(rs)
            }
            fn compare_and_swap(
                &self,
                expected: Option<&TokenData>,
                new: &TokenData,
            ) -> Result<SwapOutcome> {
                self.0.compare_and_swap(expected, new)
            }
        }
        runtime().block_on(async {
            let store = BlockingPool::new(Panics(MemoryTokenStorage::new()));
            let err = store
                .store_token_data(&[("rs".to_owned(), entry("AT", 1))].into())
                .await
                .unwrap_err();
            assert!(err.to_string().contains("panicked"), "{err}");
            assert!(err.to_string().contains("store_token_data"), "{err}");
        });
    }
}
