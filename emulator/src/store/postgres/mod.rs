//! The PostgreSQL backend: a pool of connections (`deadpool-postgres` over
//! `tokio-postgres`), fully async, every multi-row write in a transaction.
//! The schema is kept by numbered migrations (`migrate.rs`), applied at
//! start under an advisory lock so several instances can start at once.
//!
//! Everything an instance keeps lives in the database, so any number of
//! emulator processes can serve one database behind a load balancer.

mod acl;
mod baasbox;
mod db;
mod locks;
mod migrate;
mod provider_tokens;
mod social;
#[cfg(test)]
mod test_db;

pub use db::Pg;
