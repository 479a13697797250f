//! The SQLite backend: one connection behind a mutex, used from blocking
//! threads; every multi-row write in a transaction. The schema is kept by
//! numbered migrations (`migrate.rs`).
//!
//! The [`Store`](super::Store) implementation (`store_impl.rs`) is the one
//! place that hops from async handlers to blocking threads.

mod acl;
mod baasbox;
mod db;
mod file_identity;
mod files;
mod flight;
mod migrate;
mod objects;
mod provider_tokens;
mod social;
mod store_impl;
mod users;

#[cfg(test)]
use migrate::SCHEMA_VERSION;
pub use store_impl::SqliteStore;
