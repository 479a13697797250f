//! Server code snippets: what a snippet receives, the callable behind a
//! name, and JavaScript snippets run by node. Imports nothing from the
//! crate's handlers.

mod input;
mod node;
mod registry;
mod settings;

pub(crate) use input::Snippet;
pub use input::SnippetInput;
pub(crate) use node::NodeRunner;
pub(crate) use registry::{SnippetCall, Snippets};
pub(crate) use settings::NodeSettings;
pub use settings::{
    DEFAULT_MAX_SNIPPET_PROCESSES, DEFAULT_SNIPPET_MEMORY_MIB, DEFAULT_SNIPPET_OUTPUT_BYTES,
    DEFAULT_SNIPPET_QUEUE, DEFAULT_SNIPPET_TIMEOUT,
};
