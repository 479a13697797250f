//! CloudMine's ACLs: the `user/access` endpoints (`handlers.rs`), the ACL
//! body (`model.rs`), and how objects are shared with the members of the
//! ACLs an owner lists in an object's `__access__` (`sharing.rs`, used by
//! the objects endpoints). Storage is behind [`crate::store::Store`].

mod handlers;
mod model;
pub(crate) mod sharing;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, put};

use crate::miss::miss;
use crate::state::AppState;

/// The `access` routes, merged into the user-level (`/user`) router.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/access",
            put(handlers::upsert)
                .post(handlers::upsert)
                .get(handlers::list)
                .head(miss),
        )
        .route("/access/search", get(handlers::search).head(miss))
        .route(
            "/access/{id}",
            get(handlers::get_one)
                .head(miss)
                .delete(handlers::delete_one),
        )
}
