//! HTTP layer: one flat route table, handlers per area, security headers.

mod access;
mod actions;
mod admin;
mod btp;
mod change;
mod customer_user;
mod customers;
mod downloads;
pub mod error;
mod export;
mod form;
mod kept_forms;
mod layout;
mod login;
mod page_cache;
mod pages;
mod push_key;
mod report;
mod rotations;
mod s4_setup;
mod s4_users;
mod session;
mod setups;
mod state;
mod throttle;
mod trust;
mod urls;
mod verify;
mod watch;

pub use kept_forms::KeptForms;
pub use urls::{encode, safe_next};
// What every handler module shares: access, the page chrome, the session.
use access::{Editor, Manager, Need, Viewer, can};
pub use customer_user::CustomerTokens;
use layout::{Nav, SetupHead, setup_page};
pub use page_cache::PageCache;
use session::{COOKIE, CurrentUser, cookie_value};
pub use state::{AppState, State};
pub use throttle::Throttle;

/// Global User ID runs of step 6, one per setup.
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower_http::csrf::CsrfLayer;

use crate::playbook::btp_destination::Destination;
use crate::playbook::global_ids::GlobalIds;
use crate::playbook::push_key::PushKey;
use crate::playbook::rotate_comm_password::RotateCommPassword;
use crate::playbook::rotate_ids::RotateIds;
use crate::playbook::rotate_push_key::RotatePushKey;
use crate::playbook::s4_setup::S4Setup;
use error::AppError;

/// What the server reads of a request at most (then the 413 page); what a
/// form keeps of it is bounded field by field (`web::form`).
pub const BODY_LIMIT: usize = form::READ_LIMIT;

pub fn router(state: State) -> Router {
    let keep = axum::middleware::from_fn_with_state(state.clone(), kept_forms::keep_form_on_expiry);
    Router::new()
        .route("/", get(setups::list))
        .route("/setups", post(setups::create))
        .route("/setups/{id}", get(setups::task_list))
        .route("/setups/{id}/rename", get(setups::rename_form).post(setups::rename))
        .route("/setups/{id}/archive", post(setups::archive))
        .route("/setups/{id}/restore", post(setups::restore))
        .route("/setups/{id}/pages/{page}", get(pages::show).post(pages::save).layer(keep))
        .route("/login", get(login::login_form).post(login::login))
        .route("/logout", post(login::logout))
        .route("/invite/{token}", get(login::invite_form).post(login::invite))
        .route("/admin/users", get(admin::users).post(admin::add_user))
        .route("/admin/users/{name}/reset", post(admin::reset_user))
        .route("/setups/{id}/members", get(admin::members).post(admin::add_member))
        .route("/setups/{id}/members/{name}/remove", post(admin::remove_member))
        .route("/setups/{id}/history", get(admin::history))
        .route("/setups/{id}/pages/{page}/run", post(actions::run))
        .route("/setups/{id}/apply-destination", get(actions::apply_form))
        .route(
            "/setups/{id}/apply-destination/apply",
            post(change::apply::<Destination>),
        )
        .route("/setups/{id}/calls", get(actions::calls))
        .route("/setups/{id}/verify", get(verify::verify_form).post(verify::verify_run))
        .route("/setups/{id}/customer-user", get(customer_user::show).post(customer_user::paste))
        .route("/setups/{id}/customer-user/forget", post(customer_user::forget))
        .route("/customer-user/callback", get(customer_user::callback))
        // Remote changes: each flow's page, plan and confirmation (web::change).
        .route("/setups/{id}/s4-setup", get(change::show::<S4Setup>))
        .route("/setups/{id}/s4-setup/credentials", post(s4_setup::credentials))
        .route("/setups/{id}/s4-setup/plan", post(change::plan::<S4Setup>))
        .route("/setups/{id}/s4-setup/apply", post(change::apply::<S4Setup>))
        .route("/setups/{id}/watch", get(watch::show).post(watch::change))
        .route("/watch", get(watch::overview))
        .route("/metrics", get(watch::metrics))
        .route("/setups/{id}/btp", get(btp::show))
        .route("/setups/{id}/btp/choices", post(btp::choices))
        .route("/setups/{id}/btp/plan", post(btp::plan))
        .route("/setups/{id}/btp/apply", post(btp::apply))
        .route("/setups/{id}/push-key", get(change::show::<PushKey>))
        .route("/setups/{id}/push-key/plan", post(change::plan::<PushKey>))
        .route("/setups/{id}/push-key/apply", post(change::apply::<PushKey>))
        .route("/setups/{id}/rotate-push-key", get(change::show::<RotatePushKey>))
        .route(
            "/setups/{id}/rotate-push-key/plan",
            post(change::plan::<RotatePushKey>),
        )
        .route(
            "/setups/{id}/rotate-push-key/apply",
            post(change::apply::<RotatePushKey>),
        )
        .route(
            "/setups/{id}/rotate-comm-password",
            get(change::show::<RotateCommPassword>),
        )
        .route(
            "/setups/{id}/rotate-comm-password/plan",
            post(change::plan::<RotateCommPassword>),
        )
        .route(
            "/setups/{id}/rotate-comm-password/apply",
            post(change::apply::<RotateCommPassword>),
        )
        .route("/setups/{id}/rotate-ids", get(change::show::<RotateIds>))
        .route("/setups/{id}/rotate-ids/plan", post(change::plan::<RotateIds>))
        .route("/setups/{id}/rotate-ids/apply", post(change::apply::<RotateIds>))
        .route("/setups/{id}/s4-users", get(change::show::<GlobalIds>))
        .route("/setups/{id}/s4-users/credentials", post(s4_users::credentials))
        .route("/setups/{id}/s4-users/plan", post(change::plan::<GlobalIds>))
        .route("/setups/{id}/s4-users/apply", post(change::apply::<GlobalIds>))
        .route("/setups/{id}/certificate/{file}", get(downloads::trust_certificate))
        .route("/setups/{id}/trust", get(trust::show))
        .route("/setups/{id}/trust/read", post(trust::read))
        .route("/setups/{id}/trust/passive.pem", get(trust::passive_pem))
        .route("/setups/{id}/trust/{change}", post(trust::confirm))
        .route("/setups/{id}/report", get(report::report_page))
        .route("/setups/{id}/next", get(report::next_page))
        .route("/setups/{id}/report.md", get(report::report_markdown))
        .route("/setups/{id}/destination.properties", get(downloads::properties))
        .route("/setups/{id}/destination.json", get(downloads::destination_json))
        .route("/setups/{id}/global-user-ids.csv", get(downloads::global_user_ids))
        .route("/setups/{id}/calendar.ics", get(downloads::calendar))
        .route("/calendar.ics", get(downloads::calendar_all))
        .route("/customers/{id}", get(customers::show))
        .route("/customers/{id}/next-system", post(customers::connect))
        .route("/customers/{id}/share", post(customers::share))
        .route("/customers/{id}/export", post(customers::export))
        .route("/customers/{id}/take-over", post(customers::take_over))
        .route("/setups/{id}/outbound.p12", get(downloads::outbound_form).post(downloads::outbound_p12))
        .route("/setups/{id}/export", get(export::export_form).post(export::export))
        .route("/import", get(export::import_form).post(export::import))
        .route("/healthz", get(health))
        .route("/static/app.css", get(crate::assets::css))
        .route("/static/app.js", get(crate::assets::js))
        .fallback(|| async { AppError::NotFound })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Cross-site requests that change state are refused (Sec-Fetch-Site / Origin).
        .layer(CsrfLayer::new().with_rejection_response(|_| {
            AppError::Forbidden(
                "The request came from another site, so it was refused. Open the wizard directly and try again.".into(),
            )
            .into_response()
        }))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

const SECURITY_HEADERS: [(HeaderName, HeaderValue); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    // Pages hold customer data: never cached, so Back shows saved answers.
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
];

/// One pass over the response for every security header (unless a handler
/// set its own, as the static files do for caching). A wrong method gets a
/// page rather than axum's empty 405.
async fn security_headers(mut resp: axum::response::Response) -> axum::response::Response {
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        let allow = resp.headers().get(header::ALLOW).cloned();
        resp = AppError::MethodNotAllowed.into_response();
        if let Some(a) = allow {
            resp.headers_mut().insert(header::ALLOW, a);
        }
    }
    let headers = resp.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, value);
        }
    }
    resp
}

async fn health(axum::extract::State(state): axum::extract::State<State>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
