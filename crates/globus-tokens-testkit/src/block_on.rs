//! Running the conformance suite against async stores: [`BlockOn`] makes an
//! [`AsyncTokenStorage`] a blocking [`TokenStorage`] by driving each call on a tokio runtime,
//! and [`ThroughBlockingPool`] / [`ThroughAsync`] wrap a [`StoreFactory`] so that the one
//! suite checks the async path of every backend too.

use std::collections::BTreeMap;
use std::sync::Arc;

use globus_tokens_core::{
    AsyncTokenStorage, BlockingPool, BoxFuture, Result, SwapOutcome, TokenData, TokenResponse,
    TokenStorage, UpdateFn,
};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

use crate::{Capabilities, StoreFactory};

/// An [`AsyncTokenStorage`] used as a blocking [`TokenStorage`]: each call is driven to
/// completion on a multi-threaded runtime (shared by the handles of one factory), from any
/// number of threads at once.
pub struct BlockOn<A> {
    inner: A,
    runtime: Arc<Runtime>,
}

impl<A: AsyncTokenStorage> std::fmt::Debug for BlockOn<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockOn")
            .field("namespace", &self.inner.namespace())
            .finish_non_exhaustive()
    }
}

impl<A: AsyncTokenStorage> BlockOn<A> {
    /// Drive `inner`'s futures on `runtime`.
    pub fn new(inner: A, runtime: Arc<Runtime>) -> Self {
        BlockOn { inner, runtime }
    }

    /// The async store.
    pub fn inner(&self) -> &A {
        &self.inner
    }
}

/// A multi-threaded runtime for [`BlockOn`] handles.
pub fn test_runtime() -> Arc<Runtime> {
    Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|err| panic!("cannot build a tokio runtime: {err}")),
    )
}

impl<A: AsyncTokenStorage> TokenStorage for BlockOn<A> {
    fn namespace(&self) -> &str {
        self.inner.namespace()
    }

    fn store_token_data(&self, token_data: &BTreeMap<String, TokenData>) -> Result<()> {
        self.runtime
            .block_on(self.inner.store_token_data(token_data))
    }

    fn store(&self, response: &TokenResponse) -> Result<()> {
        self.runtime.block_on(self.inner.store(response))
    }

    fn get_token_data(&self, resource_server: &str) -> Result<Option<TokenData>> {
        self.runtime
            .block_on(self.inner.get_token_data(resource_server))
    }

    fn remove_token_data(&self, resource_server: &str) -> Result<bool> {
        self.runtime
            .block_on(self.inner.remove_token_data(resource_server))
    }

    fn on_refresh(&self, response: &TokenResponse) -> Result<()> {
        self.runtime.block_on(self.inner.on_refresh(response))
    }

    fn compare_and_swap(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> Result<SwapOutcome> {
        self.runtime
            .block_on(self.inner.compare_and_swap(expected, new))
    }

    /// The blocking `update` cannot move into the async store's (`Send`) update, so the async
    /// update sends each entry back to this thread, which calls `update` and answers.
    fn update_token_data(
        &self,
        resource_server: &str,
        update: &mut UpdateFn<'_>,
    ) -> Result<Option<TokenData>> {
        type Ask = (Option<TokenData>, oneshot::Sender<Option<TokenData>>);
        let (ask, mut asked) = mpsc::channel::<Ask>(1);
        self.runtime.block_on(async {
            let mut async_update =
                move |current: Option<TokenData>| -> BoxFuture<'static, Option<TokenData>> {
                    let ask = ask.clone();
                    Box::pin(async move {
                        let (answer, answered) = oneshot::channel();
                        ask.send((current, answer)).await.ok()?;
                        answered.await.ok().flatten()
                    })
                };
            let updating = self
                .inner
                .update_token_data(resource_server, &mut async_update);
            tokio::pin!(updating);
            loop {
                tokio::select! {
                    result = &mut updating => return result,
                    Some((current, answer)) = asked.recv() => {
                        let _ = answer.send(update(current.as_ref()));
                    }
                }
            }
        })
    }
}

/// A factory whose blocking stores are checked through [`BlockingPool`] and [`BlockOn`]: the
/// suite then exercises [`BlockingPool`]'s async path, including its locked update, on that
/// backend. Listing is not part of the async trait, so enumeration is not declared.
pub struct ThroughBlockingPool<F> {
    factory: F,
    runtime: Arc<Runtime>,
}

impl<F> ThroughBlockingPool<F> {
    /// Wrap `factory`.
    pub fn new(factory: F) -> Self {
        ThroughBlockingPool {
            factory,
            runtime: test_runtime(),
        }
    }
}

impl<F: StoreFactory> StoreFactory for ThroughBlockingPool<F>
where
    F::Store: Send + Sync,
{
    type Store = BlockOn<BlockingPool<F::Store>>;

    fn open(&self, namespace: &str) -> Self::Store {
        BlockOn::new(
            BlockingPool::new(self.factory.open(namespace)),
            Arc::clone(&self.runtime),
        )
    }

    fn capabilities(&self) -> Capabilities {
        self.factory.capabilities().enumeration(false)
    }
}

/// A factory whose stores implement [`AsyncTokenStorage`] natively, checked through it with
/// [`BlockOn`]. Listing is not part of the async trait, so enumeration is not declared.
pub struct ThroughAsync<F> {
    factory: F,
    runtime: Arc<Runtime>,
}

impl<F> ThroughAsync<F> {
    /// Wrap `factory`.
    pub fn new(factory: F) -> Self {
        ThroughAsync {
            factory,
            runtime: test_runtime(),
        }
    }
}

impl<F: StoreFactory> StoreFactory for ThroughAsync<F>
where
    F::Store: AsyncTokenStorage,
{
    type Store = BlockOn<F::Store>;

    fn open(&self, namespace: &str) -> Self::Store {
        BlockOn::new(self.factory.open(namespace), Arc::clone(&self.runtime))
    }

    fn capabilities(&self) -> Capabilities {
        self.factory.capabilities().enumeration(false)
    }
}
