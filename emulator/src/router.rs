//! The routes: axum routers nested under `/v1/app/{app}` (its `/user`
//! variant too), `/idp`, the BaasBox prefix and the test hooks, with one
//! fallback ([`crate::miss`]) for paths and methods no route serves.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::routing::{MethodRouter, any, delete, get, post};

use crate::extract::{AppLevel, Level, UserLevel};
use crate::middleware::ENCODED_IN_SEGMENT;
use crate::miss::miss;
use crate::state::AppState;
use crate::{
    access, accounts, accounts_admin, baasbox, broker, elasticsearch, files, idp_api, objects,
    provider, push, social_query, social_ticket,
};

type Routes = Router<Arc<AppState>>;

/// GET only. axum would answer HEAD with the GET handler; the emulator
/// never served HEAD, so it goes to the fallback.
fn get_only<H, T>(handler: H) -> MethodRouter<Arc<AppState>>
where
    H: Handler<T, Arc<AppState>>,
    T: 'static,
{
    get(handler).head(miss)
}

/// A route ending in a `{parameter}`, also registered with that segment
/// empty (`/run/`): axum matches no empty parameter, and the emulator
/// always served one (an empty key, snippet name...).
fn with_empty_tail(
    router: Routes,
    path: &str,
    method_router: MethodRouter<Arc<AppState>>,
) -> Routes {
    let empty = path.rfind('{').map_or(path, |i| &path[..i]);
    router
        .route(path, method_router.clone())
        .route(empty, method_router)
}

/// Every route, with its state. Request bodies arrive already read and
/// limited by the middleware (uploads streaming), so axum's own body limit
/// is off.
pub(crate) fn app(state: Arc<AppState>) -> Router {
    let mut router = Router::new()
        .nest("/v1/app/{app}", cloudmine())
        .nest("/v2/app/{app}", elasticsearch());
    // The test identity provider authenticates nobody: only when asked.
    if state.social.test_idp {
        router = router.nest("/idp", identity_provider());
    }
    // The outbox holds password-reset tokens: anyone with the (public)
    // API key could take over any account, so it is a test-only opt-in.
    if state.test_hooks {
        router = router.route("/_emulator/{app}/outbox", any(accounts::outbox));
    }
    if state.baasbox.app_code.is_some() {
        router = router.nest(&mount_path(&state.baasbox.prefix), baasbox());
    }
    router
        .method_not_allowed_fallback(miss)
        .fallback(miss)
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// The BaasBox prefix as a route path: its non-empty segments, in the
/// canonical encoding the middleware gives request paths.
fn mount_path(prefix: &str) -> String {
    prefix
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            format!(
                "/{}",
                percent_encoding::utf8_percent_encode(s, ENCODED_IN_SEGMENT)
            )
        })
        .collect()
}

/// `/v1/app/{app}/...`.
fn cloudmine() -> Routes {
    data::<AppLevel>().merge(account()).nest(
        "/user",
        data::<UserLevel>()
            .merge(access::routes())
            .merge(social_query::routes()),
    )
}

/// `/v2/app/{app}/...`: only the JS SDK's `searchES`, refused with 501.
fn elasticsearch() -> Routes {
    const PATH: &str = "/class/{class}/elasticsearch";
    Router::new()
        .route(PATH, post(elasticsearch::search::<AppLevel>))
        .route(
            &format!("/user{PATH}"),
            post(elasticsearch::search::<UserLevel>),
        )
}

/// Objects and files, at app or user level.
fn data<L: Level>() -> Routes {
    let router = Router::new()
        .route(
            "/text",
            get_only(objects::get_text::<L>)
                .put(objects::put_text::<L>)
                .post(objects::merge_text::<L>),
        )
        .route("/data", delete(objects::delete_data::<L>))
        .route("/push", post(push::send::<L>))
        .route(
            "/search",
            get_only(objects::search::<L>).post(objects::search_post::<L>),
        )
        .route(
            "/binary",
            post(files::upload_new::<L>).put(files::upload_new::<L>),
        );
    let router = with_empty_tail(
        router,
        "/run/{name}",
        get_only(objects::run::<L>)
            .post(objects::run_post::<L>)
            .put(objects::run_post::<L>),
    );
    with_empty_tail(
        router,
        "/binary/{key}",
        get_only(files::download::<L>)
            .post(files::upload::<L>)
            .put(files::upload::<L>),
    )
}

/// The users API and the social-login broker.
fn account() -> Routes {
    let router = Router::new()
        .route(
            "/account",
            get_only(accounts::list_all)
                .post(accounts::update)
                .delete(accounts::delete),
        )
        .route(
            "/account/{id}",
            get_only(accounts::by_id)
                .post(accounts_admin::update)
                .put(accounts_admin::replace)
                .delete(accounts_admin::delete),
        )
        .route(
            "/account/{id}/password/change",
            post(accounts_admin::change_password),
        )
        .route("/account/create", post(accounts::create))
        .route("/account/login", post(accounts::login))
        .route("/account/logout", post(accounts::logout))
        .route("/account/me", get_only(accounts::me))
        .route("/account/search", get_only(accounts::search))
        .route("/account/credentials", post(accounts::change_credentials))
        .route("/account/password/change", post(accounts::change_password))
        .route("/account/password/reset", post(accounts::reset))
        .route("/account/social/login", get_only(broker::start))
        .route("/account/social/ticket", post(social_ticket::issue))
        .route("/account/social/callback", get_only(broker::callback))
        .route("/account/social/login/complete", get_only(broker::complete));
    let router = with_empty_tail(
        router,
        "/account/password/reset/{token}",
        post(accounts::confirm_reset),
    );
    with_empty_tail(
        router,
        "/account/social/login/status/{challenge}",
        get_only(broker::status),
    )
}

/// `/idp/...`: the built-in identity provider.
fn identity_provider() -> Routes {
    Router::new()
        .route("/{network}/authorize", get_only(provider::authorize))
        .route("/{network}/consent", post(provider::consent))
        .route("/token", post(provider::token))
        .route("/userinfo", get_only(provider::userinfo))
        .route("/api/me", get_only(idp_api::me))
        .route("/api/friends", get_only(idp_api::friends))
        .route("/api/echo", any(idp_api::echo))
}

/// The BaasBox front end, below its prefix.
fn baasbox() -> Routes {
    let router = Router::new()
        .route("/login", post(baasbox::login))
        .route("/logout", post(baasbox::logout))
        .route("/me", get_only(baasbox::me))
        .route("/user", post(baasbox::signup))
        .route("/social", get_only(baasbox::links));
    with_empty_tail(
        router,
        "/social/{network}",
        post(baasbox::social_login)
            .put(baasbox::link)
            .delete(baasbox::unlink),
    )
}
