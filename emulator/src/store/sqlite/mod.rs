//! The SQLite backend: one writer connection behind a mutex plus a pool of
//! read connections (WAL), used from blocking threads; searches narrowed in
//! SQL (`search.rs`); every multi-row write in a transaction. The schema is kept by
//! numbered migrations (`migrate.rs`).
//!
//! The [`Store`](super::Store) implementation (`store_impl.rs`) is the one
//! place that hops from async handlers to blocking threads.

mod acl;
mod baasbox;
mod checkpoint;
mod db;
mod file_identity;
mod files;
mod flight;
mod login_list;
mod migrate;
mod objects;
mod pool;
mod provider_tokens;
mod search;
mod social;
mod store_impl;
mod users;

#[cfg(test)]
use migrate::SCHEMA_VERSION;
pub use store_impl::SqliteStore;
