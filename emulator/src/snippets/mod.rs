//! Server code snippets: what a snippet receives, the callable behind a
//! name, and JavaScript snippets run by node. Imports nothing from the
//! crate's handlers.

mod node;
mod registry;
mod settings;

use std::sync::Arc;

use serde_json::Value;

pub(crate) use node::NodeRunner;
pub(crate) use registry::{SnippetCall, Snippets};
pub(crate) use settings::NodeSettings;
pub use settings::{
    DEFAULT_MAX_SNIPPET_PROCESSES, DEFAULT_SNIPPET_MEMORY_MIB, DEFAULT_SNIPPET_OUTPUT_BYTES,
    DEFAULT_SNIPPET_QUEUE, DEFAULT_SNIPPET_TIMEOUT,
};

/// What a snippet receives.
#[derive(Debug, Clone)]
pub struct SnippetInput {
    /// For `run/{name}`: the query parameters (GET) or the JSON body (POST).
    /// For `f=` post-processing: the `params` query value parsed as JSON.
    /// `Null` when there are none.
    pub params: Value,
    /// For `f=` post-processing: the answer the request would have had.
    pub response: Option<Value>,
    /// The logged-in user, for user-level calls.
    pub user_id: Option<String>,
}

/// A server-side snippet registered on the builder.
pub(crate) type Snippet = Arc<dyn Fn(SnippetInput) -> Result<Value, String> + Send + Sync>;
