//! A blocking client, for programs without an async runtime (feature
//! `blocking`).
//!
//! [`WebService`] is the async client with a private Tokio runtime on a
//! thread of its own, the way reqwest's blocking client is built. Every call
//! is the same builder as in the async API, finished with `.wait()` instead
//! of `.await`:
//!
//! ```no_run
//! # fn demo() -> cloudmine::Result<()> {
//! use cloudmine::{Credentials, SocialNetwork};
//! let ws = cloudmine::blocking::WebService::new(
//!     cloudmine::WebService::builder().app_id("my-app").api_key("my-api-key"),
//! )?;
//! ws.users().login(Credentials::email("ada@example.com", "analytical engine")).wait()?;
//! let car = ws.objects().get(["car"]).wait()?;
//! let login = ws.login_social(SocialNetwork::Github).wait()?;
//! # Ok(()) }
//! ```
//!
//! `.wait()` inside an async runtime is an error
//! ([`crate::Error::BlockingInRuntime`]), not a hang
//! or a panic: use `.await` there.

use std::future::IntoFuture;
use std::ops::Deref;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::{Error, Result, WebServiceBuilder};

/// The runtime thread behind a blocking client.
pub(crate) struct Runtime {
    handle: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("blocking::Runtime")
    }
}

impl Runtime {
    fn start() -> Result<Self> {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("cloudmine-blocking-runtime".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build();
                match runtime {
                    Ok(rt) => {
                        let _ = handle_tx.send(Ok(rt.handle().clone()));
                        // Serve until the client goes away; the runtime is
                        // dropped here, outside any async context.
                        rt.block_on(async {
                            let _ = stopped.await;
                        });
                    }
                    Err(e) => {
                        let _ = handle_tx.send(Err(e.to_string()));
                    }
                }
            })
            .map_err(|e| {
                Error::invalid_option("blocking", format!("cannot start the runtime thread: {e}"))
            })?;
        let handle = handle_rx
            .recv()
            .map_err(|_| Error::invalid_option("blocking", "the runtime thread died"))?
            .map_err(|e| {
                Error::invalid_option("blocking", format!("cannot build a runtime: {e}"))
            })?;
        Ok(Runtime {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Runs a future to completion on the calling thread.
    pub(crate) fn wait<F: IntoFuture>(&self, future: F) -> Result<F::Output> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::BlockingInRuntime);
        }
        Ok(self.handle.block_on(future.into_future()))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Joining from inside a runtime would block it: let the thread end
        // on its own there.
        if tokio::runtime::Handle::try_current().is_err()
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
    }
}

/// A blocking client: the async [`WebService`](crate::WebService) (reachable
/// through `Deref`, with every method) plus a runtime to wait on.
#[derive(Debug, Clone)]
pub struct WebService {
    inner: crate::WebService,
}

impl WebService {
    /// Builds a blocking client from the usual builder.
    pub fn new(builder: WebServiceBuilder) -> Result<Self> {
        let runtime = Arc::new(Runtime::start()?);
        let mut builder = builder;
        builder.blocking = Some(runtime);
        Ok(WebService {
            inner: builder.build()?,
        })
    }

    /// The async client behind this one (they share options and session).
    pub fn as_async(&self) -> &crate::WebService {
        &self.inner
    }
}

impl Deref for WebService {
    type Target = crate::WebService;

    fn deref(&self) -> &crate::WebService {
        &self.inner
    }
}

impl crate::ApiCall {
    /// Runs the call to completion, blocking this thread (a client built
    /// with [`blocking::WebService`](WebService) only).
    pub fn wait(self) -> Result<crate::Response> {
        let runtime = self.runtime()?;
        runtime.wait(self)?
    }
}

impl crate::SocialLoginCall {
    /// Runs the login to completion, blocking this thread (a client built
    /// with [`blocking::WebService`](WebService) only).
    pub fn wait(self) -> Result<crate::SocialLogin> {
        let runtime = self.runtime()?;
        runtime.wait(self)?
    }
}

/// A blocking BaasBox client: the async [`BaasBox`](crate::baasbox::BaasBox)
/// (through `Deref`) plus a runtime to wait on.
#[cfg(feature = "baasbox")]
#[derive(Debug, Clone)]
pub struct BaasBox {
    inner: crate::baasbox::BaasBox,
}

#[cfg(feature = "baasbox")]
impl BaasBox {
    /// Builds a blocking client from the usual builder.
    pub fn new(builder: crate::baasbox::BaasBoxBuilder) -> Result<Self> {
        let runtime = Arc::new(Runtime::start()?);
        let mut builder = builder;
        builder.blocking = Some(runtime);
        Ok(BaasBox {
            inner: builder.build()?,
        })
    }
}

#[cfg(feature = "baasbox")]
impl Deref for BaasBox {
    type Target = crate::baasbox::BaasBox;

    fn deref(&self) -> &crate::baasbox::BaasBox {
        &self.inner
    }
}

#[cfg(feature = "baasbox")]
impl<T: Send + 'static> crate::baasbox::BbCall<T> {
    /// Runs the call to completion, blocking this thread (a client built
    /// with [`blocking::BaasBox`](BaasBox) only).
    pub fn wait(self) -> Result<T> {
        let runtime = self.runtime()?;
        runtime.wait(self)?
    }
}

#[cfg(feature = "baasbox")]
impl crate::baasbox::BaasBoxLoginCall {
    /// Runs the login to completion, blocking this thread (a client built
    /// with [`blocking::BaasBox`](BaasBox) only).
    pub fn wait(self) -> Result<crate::baasbox::BbUser> {
        let runtime = self.runtime()?;
        runtime.wait(self)?
    }
}

impl crate::UploadCall {
    /// Runs the upload to completion, blocking this thread (a client built
    /// with [`blocking::WebService`](WebService) only).
    pub fn wait(self) -> Result<crate::Uploaded> {
        let runtime = self.runtime()?;
        runtime.wait(self)?
    }
}

impl crate::DownloadToCall {
    /// Runs the download to completion, blocking this thread (a client
    /// built with [`blocking::WebService`](WebService) only).
    pub fn wait(self) -> Result<crate::Downloaded> {
        let runtime = self.runtime()?;
        runtime.wait(self)?
    }
}

pub(crate) fn not_blocking() -> Error {
    Error::invalid_option(
        "blocking",
        "this client was not built for blocking use: build it with cloudmine::blocking::WebService::new(..), or use .await",
    )
}
