//! A blocking client, for programs without an async runtime (feature
//! `blocking`).
//!
//! [`WebService`] is the async client, waited on by a Tokio runtime on a
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
//!
//! This module is a layer on top: the async client knows nothing of it.
//! `.wait()` runs the very future `.await` would, on a runtime this module
//! starts once per process (one worker thread, started by the first
//! blocking client), so it cannot fail because of how a client was built.

use std::future::IntoFuture;
use std::ops::Deref;
use std::sync::OnceLock;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Pages;
use crate::error::{Error, Result};

/// The runtime every blocking call runs on.
struct Runtime {
    handle: tokio::runtime::Handle,
}

static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

impl Runtime {
    /// The process's blocking runtime, started on first use.
    fn get() -> Result<&'static Runtime> {
        RUNTIME
            .get_or_init(Runtime::start)
            .as_ref()
            .map_err(|reason| Error::invalid_option("blocking", reason.clone()))
    }

    fn start() -> std::result::Result<Runtime, String> {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("cloudmine-blocking-runtime".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build();
                match runtime {
                    Ok(rt) => {
                        let _ = handle_tx.send(Ok(rt.handle().clone()));
                        // Serves for the rest of the process.
                        rt.block_on(std::future::pending::<()>());
                    }
                    Err(e) => {
                        let _ = handle_tx.send(Err(format!("cannot build a runtime: {e}")));
                    }
                }
            })
            .map_err(|e| format!("cannot start the runtime thread: {e}"))?;
        let handle = handle_rx
            .recv()
            .map_err(|_| "the runtime thread died".to_owned())??;
        Ok(Runtime { handle })
    }
}

/// Runs a call to completion on the calling thread.
fn wait<F: IntoFuture>(future: F) -> Result<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::BlockingInRuntime);
    }
    Ok(Runtime::get()?.handle.block_on(future.into_future()))
}

/// A blocking client: the async [`WebService`](crate::WebService) (reachable
/// through `Deref`, with every method); its calls finish with `.wait()`.
#[derive(Debug, Clone)]
pub struct WebService {
    inner: crate::WebService,
}

impl WebService {
    /// Builds a blocking client from the usual builder (and starts the
    /// blocking runtime, so a failure to start it shows here).
    pub fn new(builder: crate::WebServiceBuilder) -> Result<Self> {
        Runtime::get()?;
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

/// A blocking BaasBox client: the async [`BaasBox`](crate::baasbox::BaasBox)
/// (through `Deref`); its calls finish with `.wait()`.
#[cfg(feature = "baasbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "baasbox")))]
#[derive(Debug, Clone)]
pub struct BaasBox {
    inner: crate::baasbox::BaasBox,
}

#[cfg(feature = "baasbox")]
impl BaasBox {
    /// Builds a blocking client from the usual builder.
    pub fn new(builder: crate::baasbox::BaasBoxBuilder) -> Result<Self> {
        Runtime::get()?;
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

/// `.wait()` for a call type: the same future `.await` runs.
macro_rules! waitable {
    ($(#[$cfg:meta])* impl [$($g:ident)?] $ty:ty => $out:ty) => {
        $(#[$cfg])*
        impl$(<$g: Send + 'static>)? $ty {
            /// Runs the call to completion, blocking this thread. Inside an
            /// async runtime: [`Error::BlockingInRuntime`].
            pub fn wait(self) -> Result<$out> {
                wait(self)?
            }
        }
    };
}

waitable!(impl [T] crate::ApiCall<T> => T);
waitable!(impl [] crate::SocialLoginCall => crate::Login);
waitable!(impl [] crate::SocialQuery => crate::SocialAnswer);
waitable!(impl [] crate::UploadCall => crate::Uploaded);
waitable!(impl [] crate::DownloadToCall => crate::Downloaded);
waitable!(#[cfg(feature = "baasbox")] impl [T] crate::baasbox::BbCall<T> => T);
waitable!(#[cfg(feature = "baasbox")] impl [] crate::baasbox::BaasBoxLoginCall => crate::baasbox::BbUser);

/// The items of a [`Pages`] stream as an [`Iterator`], each page fetched on
/// the blocking runtime when the previous one is used up. The same
/// semantics as the stream: lazy, one request at a time, an `Err` is the last
/// item. Used inside an async runtime it yields
/// [`Error::BlockingInRuntime`] and ends.
#[must_use = "an iterator does nothing until it is used"]
pub struct PageIter<T> {
    stream: Option<BoxStream<'static, Result<(String, T)>>>,
}

impl<T> std::fmt::Debug for PageIter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageIter")
            .field("ended", &self.stream.is_none())
            .finish_non_exhaustive()
    }
}

impl<T> Iterator for PageIter<T> {
    type Item = Result<(String, T)>;

    fn next(&mut self) -> Option<Self::Item> {
        let stream = self.stream.as_mut()?;
        let item = match wait(stream.next()) {
            Ok(item) => item,
            Err(e) => Some(Err(e)),
        };
        if !matches!(item, Some(Ok(_))) {
            self.stream = None;
        }
        item
    }
}

impl Pages {
    /// The `(key, value)` pairs as a blocking iterator (feature `blocking`).
    ///
    /// ```no_run
    /// # fn demo(ws: cloudmine::blocking::WebService) -> cloudmine::Result<()> {
    /// for item in ws.objects().get_all_pages().page_size(100).iter() {
    ///     let (key, value) = item?;
    ///     println!("{key}: {value}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn iter(self) -> PageIter<Value> {
        self.iter_as()
    }

    /// Like [`iter`](Self::iter), each value decoded into `T`.
    ///
    /// ```no_run
    /// # fn demo(ws: cloudmine::blocking::WebService) -> cloudmine::Result<()> {
    /// for item in ws.files().list_pages().iter_as::<cloudmine::FileInfo>() {
    ///     let (key, info) = item?;
    ///     println!("{key}: {:?} bytes", info.size);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn iter_as<T: DeserializeOwned + Send + 'static>(self) -> PageIter<T> {
        PageIter {
            stream: Some(self.into_stream_as::<T>()),
        }
    }
}
