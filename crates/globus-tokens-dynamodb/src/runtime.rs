//! The tokio runtime every request runs on: a current-thread runtime driven by a dedicated
//! thread, so the blocking API works from plain `fn main` and from inside any async runtime.

use std::future::Future;
use std::sync::mpsc;

use globus_tokens_core::{Error, Result};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::error::{ErrorKind, backend_error};

/// A runtime on its own thread. Dropping the last clone stops the thread; the runtime is
/// dropped on that thread, never in the caller's async context.
#[derive(Debug)]
pub(crate) struct RuntimeThread {
    handle: Handle,
    _shutdown: oneshot::Sender<()>,
}

impl RuntimeThread {
    pub(crate) fn start() -> Result<Self> {
        let (handle_tx, handle_rx) = mpsc::channel();
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("globus-tokens-dynamodb".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = handle_tx.send(Err(err));
                        return;
                    }
                };
                let _ = handle_tx.send(Ok(runtime.handle().clone()));
                // Runs spawned requests until every storage handle is gone.
                let _ = runtime.block_on(shutdown_rx);
            })
            .map_err(|err| runtime_error(format!("cannot start the runtime thread: {err}")))?;
        let handle = handle_rx
            .recv()
            .map_err(|_| runtime_error("the runtime thread exited at start".into()))?
            .map_err(|err| runtime_error(format!("cannot build a tokio runtime: {err}")))?;
        Ok(RuntimeThread {
            handle,
            _shutdown: shutdown_tx,
        })
    }

    /// Run `future` on the runtime thread and block this thread until it finishes.
    ///
    /// Safe to call from inside another tokio runtime: this thread only waits on a channel.
    /// (It does block that runtime's worker meanwhile; async code should use the `*_async`
    /// methods.)
    pub(crate) fn block_on<T, F>(&self, future: F) -> Result<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv()
            .map_err(|_| runtime_error("the request was dropped by the runtime thread".into()))?
    }

    /// Run `future` on the runtime thread in the background.
    pub(crate) fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(self.handle.spawn(future));
    }

    /// Run `future` on the runtime thread and await its result from any executor.
    pub(crate) async fn run<T, F>(&self, future: F) -> Result<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        self.handle
            .spawn(future)
            .await
            .map_err(|err| runtime_error(format!("the request task failed: {err}")))?
    }
}

fn runtime_error(message: String) -> Error {
    backend_error(ErrorKind::Other, None, "runtime thread", message)
}
