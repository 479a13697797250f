//! The PostgreSQL backend: a pool of connections (`deadpool-postgres` over
//! `tokio-postgres`), fully async, every multi-row write in a transaction.
//! The schema is kept by numbered migrations (`migrate.rs`), applied at
//! start under an advisory lock so several instances can start at once.
//!
//! Everything an instance keeps lives in the database, so any number of
//! emulator processes can serve one database behind a load balancer.

mod db;
mod flight;
mod migrate;

pub use db::Pg;
