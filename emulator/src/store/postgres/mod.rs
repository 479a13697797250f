//! The PostgreSQL backend: a pool of connections (`deadpool-postgres` over
//! `tokio-postgres`), fully async, every multi-row write in a transaction.
//! The schema is kept by numbered migrations (`migrate.rs`), applied at
//! start under an advisory lock so several instances can start at once.
//!
//! Everything an instance keeps lives in the database, so any number of
//! emulator processes can serve one database behind a load balancer; file
//! contents too (`files.rs`: chunked `bytea` rows, streamed).

mod acl;
mod baasbox;
mod db;
mod download;
mod files;
mod flight;
mod locks;
mod login_list;
mod migrate;
mod objects;
mod provider_tokens;
mod search;
mod sessions;
mod social;
mod spool;
mod store_impl;
#[cfg(test)]
mod test_db;
mod url;
mod users;

pub use db::Pg;
pub use url::{is_postgres_url, redacted};
