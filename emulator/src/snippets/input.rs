//! What a Rust snippet closure receives, and the closure's type.

use std::sync::Arc;

use serde_json::Value;

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
