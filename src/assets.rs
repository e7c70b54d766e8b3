//! The one stylesheet and script, built into the binary; served by the
//! wizard and by the sandbox's demo page alike.

use axum::http::header;
use axum::response::IntoResponse;

const STATIC_CACHE: &str = "public, max-age=3600";

pub async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, STATIC_CACHE),
        ],
        include_str!("../static/app.css"),
    )
}

pub async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, STATIC_CACHE),
        ],
        include_str!("../static/app.js"),
    )
}
