//! [`Pages`]: a listing or a search read page by page, as a
//! [`Stream`](futures_util::Stream) of `(key, value)` pairs.
//!
//! Each page is one ordinary call with the `limit`, `skip` and `count`
//! options set; the next page is asked for only once every item of the
//! previous one was taken, so one request at most is in flight and nothing
//! is sent before the stream is first polled.

use std::collections::{HashSet, VecDeque};

use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::call::{ApiCall, Request};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::options::{AppLevel, CallOptions, Patch, Setting};

/// The page size [`Pages`] uses unless told otherwise: CloudMine's default `limit`.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// The largest page size [`Pages::page_size`] accepts. CloudMine documents no
/// maximum for `limit`; the SDK caps a page so that one answer stays small.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// How many pages a stream reads at most unless [`Pages::max_pages`] says
/// otherwise.
pub const DEFAULT_MAX_PAGES: u32 = 10_000;

/// A paged listing or search, from e.g.
/// [`Objects::search_pages`](crate::Objects::search_pages). Turn it into a
/// stream with [`into_stream`](Self::into_stream) (or
/// [`into_stream_as`](Self::into_stream_as) for typed values).
///
/// Semantics:
/// - **Order.** Paging with `limit`/`skip` needs a stable order. Set one with
///   [`CallOptions::sort`] through [`options`](Self::options) (or the
///   client's `sort` option). Without a sort the server's natural order is
///   used: the emulator's is by key (object key, user id), which is stable;
///   CloudMine documented none.
/// - **Changes while paging.** A key is never yielded twice (keys already
///   seen are skipped, so an object added before the cursor does not repeat
///   one). An object removed before the cursor shifts the rest back, so one
///   not yet read can be missed; objects added after the cursor may or may
///   not appear. A consistent snapshot needs `limit = -1` in one call.
/// - **Level.** The data level (application or user) and the session are
///   fixed when the stream is first polled: every page reads the same
///   user's data, and a session that ends while paging fails the next page
///   (HTTP 401) instead of switching to application data.
/// - **Ending.** The stream ends after a page shorter than the page size,
///   when `skip` reaches the server's `count`, or after an error: an `Err`
///   is always the last item. After [`max_pages`](Self::max_pages) pages
///   with more left it yields an [`Error::InvalidArgument`] for
///   `max_pages` and ends.
/// - **Options.** `limit`, `skip` and `count` are set by the stream on each
///   page; other options (sort, `shared`, a snippet…) apply to every page.
///   Pages fire no events.
///
/// ```no_run
/// # async fn demo(ws: cloudmine::WebService) -> cloudmine::Result<()> {
/// use cloudmine::CallOptions;
/// use futures_util::TryStreamExt;
/// let mut cars = ws
///     .objects()
///     .search_pages(r#"[__class__ = "car"]"#)
///     .page_size(100)
///     .options(CallOptions::new().sort(["price"]))
///     .into_stream();
/// while let Some((key, car)) = cars.try_next().await? {
///     println!("{key}: {car}");
/// }
/// # Ok(()) }
/// ```
#[must_use = "pages do nothing until their stream is polled"]
pub struct Pages {
    client: Client,
    request: Result<Request>,
    options: CallOptions,
    page_size: u32,
    max_pages: u32,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Pages");
        if let Ok(r) = &self.request {
            d.field("path", &r.segments.join("/"));
        }
        d.field("page_size", &self.page_size)
            .field("max_pages", &self.max_pages)
            .finish_non_exhaustive()
    }
}

impl Pages {
    /// The pages of a plain listing or search call (not yet sent).
    pub(crate) fn from_call(call: ApiCall) -> Self {
        let (client, request, patch) = call.into_parts();
        Pages {
            client,
            request,
            options: CallOptions { patch },
            page_size: DEFAULT_PAGE_SIZE,
            max_pages: DEFAULT_MAX_PAGES,
        }
    }

    /// Items per page (`limit`): 1 to [`MAX_PAGE_SIZE`]; default
    /// [`DEFAULT_PAGE_SIZE`]. Another value makes the stream yield one
    /// [`Error::InvalidArgument`] and end, without sending anything.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size;
        self
    }

    /// The most pages the stream reads (default [`DEFAULT_MAX_PAGES`], at
    /// least 1): a bound, so that a server that never stops cannot keep it
    /// going forever.
    pub fn max_pages(mut self, pages: u32) -> Self {
        self.max_pages = pages;
        self
    }

    /// Options for every page (merged over earlier ones); `limit`, `skip`
    /// and `count` are the stream's own.
    pub fn options(mut self, options: CallOptions) -> Self {
        self.options.patch.merge(options.patch);
        self
    }

    /// The `(key, value)` pairs of every page, in order. Lazy: nothing is
    /// sent before the first poll. Boxed, so it is `Unpin` and can be stored
    /// by name.
    pub fn into_stream(self) -> BoxStream<'static, Result<(String, Value)>> {
        self.into_stream_as::<Value>()
    }

    /// Like [`into_stream`](Self::into_stream), each value decoded into `T`
    /// (e.g. [`FileInfo`](crate::FileInfo) for files). A value that does not
    /// decode yields [`Error::Decode`] and ends the stream.
    pub fn into_stream_as<T>(self) -> BoxStream<'static, Result<(String, T)>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        stream::unfold(State::Start(Box::new(self)), |state| async move {
            let mut cursor = match state {
                State::Start(pages) => match Cursor::start(*pages) {
                    Ok(cursor) => Box::new(cursor),
                    Err(e) => return Some((Err(e), State::Done)),
                },
                State::Running(cursor) => cursor,
                State::Done => return None,
            };
            match cursor.next::<T>().await {
                Some(Ok(item)) => Some((Ok(item), State::Running(cursor))),
                Some(Err(e)) => Some((Err(e), State::Done)),
                None => None,
            }
        })
        .boxed()
    }
}

enum State {
    Start(Box<Pages>),
    Running(Box<Cursor>),
    Done,
}

/// Where a running stream is.
struct Cursor {
    client: Client,
    request: Request,
    options: CallOptions,
    page_size: u32,
    pages_left: u32,
    skip: u64,
    buffer: VecDeque<(String, Value)>,
    seen: HashSet<String>,
    last_page_read: bool,
}

impl Cursor {
    /// Checks the settings and pins the level and session (first poll).
    fn start(pages: Pages) -> Result<Cursor> {
        let Pages {
            client,
            request,
            mut options,
            page_size,
            max_pages,
        } = pages;
        let request = request?;
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(Error::invalid_argument(
                "page_size",
                format!("{page_size} is not a page size; use 1 to {MAX_PAGE_SIZE}"),
            ));
        }
        if max_pages == 0 {
            return Err(Error::invalid_argument("max_pages", "must be at least 1"));
        }
        pin_level(&client, &mut options.patch);
        Ok(Cursor {
            client,
            request,
            options,
            page_size,
            pages_left: max_pages,
            skip: 0,
            buffer: VecDeque::new(),
            seen: HashSet::new(),
            last_page_read: false,
        })
    }

    /// The next item, fetching pages as needed; `None` at the end.
    async fn next<T: DeserializeOwned>(&mut self) -> Option<Result<(String, T)>> {
        loop {
            if let Some((key, value)) = self.buffer.pop_front() {
                return Some(
                    T::deserialize(value)
                        .map(|v| (key.clone(), v))
                        .map_err(|e| Error::decode(format!("key {key:?}"), e)),
                );
            }
            if self.last_page_read {
                return None;
            }
            if self.pages_left == 0 {
                return Some(Err(Error::invalid_argument(
                    "max_pages",
                    format!(
                        "more results remain after {} items; raise max_pages or narrow the query",
                        self.skip
                    ),
                )));
            }
            if let Err(e) = self.fetch().await {
                return Some(Err(e));
            }
        }
    }

    /// Reads one page into the buffer.
    async fn fetch(&mut self) -> Result<()> {
        self.pages_left -= 1;
        let page = CallOptions::new()
            .limit(i64::from(self.page_size))
            .skip(self.skip)
            .count(true);
        let response = ApiCall::new(&self.client, Ok(self.request.clone()))
            .options(self.options.clone())
            .options(page)
            .await?;
        let count = response.count();
        let Value::Object(items) = response.into_success() else {
            return Err(Error::decode("a page", "expected an object of keys"));
        };
        let read = items.len() as u64;
        self.skip = self.skip.saturating_add(read);
        self.last_page_read =
            read < u64::from(self.page_size) || count.is_some_and(|total| self.skip >= total);
        for (key, value) in items {
            if self.seen.insert(key.clone()) {
                self.buffer.push_back((key, value));
            }
        }
        Ok(())
    }
}

/// Fixes the level and session the first page resolves to for every page.
fn pin_level(client: &Client, patch: &mut Patch) {
    let mut options = client.snapshot().options.clone();
    options.apply(patch);
    if options.is_application_data() {
        patch.applevel = Some(AppLevel::App);
    } else {
        patch.applevel = Some(AppLevel::User);
        if let Some(token) = options.session_token {
            patch.session_token = Setting::Set(token);
        }
    }
}
