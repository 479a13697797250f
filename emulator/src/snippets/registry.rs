//! Snippet names to what runs them: a Rust closure registered on the
//! builder (first), else `DIR/NAME.js` run by node.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::input::{Snippet, SnippetInput};
use super::node::NodeRunner;
use crate::fail::Fail;

/// Every snippet an emulator can run.
pub(crate) struct Snippets {
    closures: HashMap<String, Snippet>,
    node: Option<Arc<NodeRunner>>,
}

/// One call of a snippet.
pub(crate) struct SnippetCall {
    pub name: String,
    /// `run`: the query parameters or the body; `f=`: the `params` option.
    pub params: Value,
    /// `f=`: the answer the request would have had.
    pub response: Option<Value>,
    pub user_id: Option<String>,
    /// The caller's session token (user-level calls); only ever on node's stdin.
    pub session_token: Option<String>,
    /// `async=true`: answer at once, run in the background (node only).
    pub background: bool,
}

impl Snippets {
    pub(crate) fn new(closures: HashMap<String, Snippet>, node: Option<NodeRunner>) -> Self {
        Snippets {
            closures,
            node: node.map(Arc::new),
        }
    }

    /// The names of the snippets registered as closures, sorted.
    pub(crate) fn closure_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.closures.keys().cloned().collect();
        names.sort();
        names
    }

    /// The directory of the JavaScript snippets, when there is one.
    pub(crate) fn node_dir(&self) -> Option<&std::path::Path> {
        self.node.as_deref().map(NodeRunner::dir)
    }

    /// Runs a snippet: its value, or `None` when it runs in the background.
    pub(crate) async fn call(&self, call: SnippetCall) -> Result<Option<Value>, Fail> {
        if let Some(snippet) = self.closures.get(&call.name) {
            let output = snippet(SnippetInput {
                params: call.params,
                response: call.response,
                user_id: call.user_id,
            })
            .map_err(|message| Fail::new(StatusCode::BAD_REQUEST, message))?;
            // A closure is quick and in-process: it runs before the answer
            // and its value is kept, even with `async=true`.
            return Ok(Some(output));
        }
        let Some(node) = &self.node else {
            return Err(Fail::new(
                StatusCode::NOT_FOUND,
                format!("unknown snippet: {}", call.name),
            ));
        };
        let path = node.resolve(&call.name)?;
        let ticket = node.enter()?;
        let data = js_data(&call);
        if !call.background {
            return node.run(ticket, &call.name, path, data).await.map(Some);
        }
        let node = Arc::clone(node);
        tokio::spawn(async move {
            if let Err(Fail(status, _)) = node.run(ticket, &call.name, path, data).await {
                tracing::info!(snippet = %call.name, %status, "a background snippet failed");
            }
        });
        Ok(None)
    }
}

/// The snippet's `data`: `params`, `input` (the action's answer, whose
/// `success`/`errors`/`count` are also at the top, as the CloudMine JS SDK
/// suite's `reverse` snippet needs), `user_id` and `session_token`.
fn js_data(call: &SnippetCall) -> Value {
    let mut data = match &call.response {
        Some(Value::Object(answer)) => answer.clone(),
        _ => Map::new(),
    };
    data.insert("params".into(), call.params.clone());
    data.insert("input".into(), call.response.clone().unwrap_or(Value::Null));
    if let Some(user) = &call.user_id {
        data.insert("user_id".into(), Value::from(user.as_str()));
    }
    if let Some(token) = &call.session_token {
        data.insert("session_token".into(), Value::from(token.as_str()));
    }
    Value::Object(data)
}
