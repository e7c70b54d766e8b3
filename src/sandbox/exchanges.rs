//! The exchanges the sandbox answered, the last few thousand, for the judges
//! in the test suite: SAP's OpenAPI files and an independent SCIM 2.0
//! implementation read what the wizard sent and what the sandbox answered.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::body::{Body, to_bytes};
use axum::extract::{Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Shared;

/// How many are kept (a run of the test suite's flows is a few hundred).
const KEEP: usize = 4000;
/// What of a body is kept (SAP's answers here are a few kilobytes).
const BODY: usize = 256 * 1024;

#[derive(Clone, serde::Serialize)]
pub struct Exchange {
    pub host: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub request_type: String,
    pub request_body: String,
    pub status: u16,
    pub response_type: String,
    pub response_body: String,
}

#[derive(Default)]
pub struct Exchanges(Mutex<VecDeque<Exchange>>);

fn content_type(h: &axum::http::HeaderMap) -> String {
    h.get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Middleware: answer, and keep the exchange (headers are not kept: they
/// carry the credentials).
pub async fn record(State(sb): State<Shared>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    // Through the proxy the URI is absolute; directly, the Host header says.
    let host = parts
        .uri
        .host()
        .map(str::to_string)
        .or_else(|| {
            parts
                .headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(|h| h.split(':').next().unwrap_or("").to_string())
        })
        .unwrap_or_default();
    let (path, query) = (
        parts.uri.path().to_string(),
        parts.uri.query().unwrap_or("").to_string(),
    );
    if path.starts_with("/_sandbox") {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let slow = sb.settings.lock().map_or(0, |s| s.latency_ms);
    if slow > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(slow)).await;
    }
    let Ok(request_body) = to_bytes(body, BODY).await else {
        return axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let mut exchange = Exchange {
        host,
        method: parts.method.to_string(),
        path,
        query,
        request_type: content_type(&parts.headers),
        request_body: String::from_utf8_lossy(&request_body).into_owned(),
        status: 0,
        response_type: String::new(),
        response_body: String::new(),
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(request_body)))
        .await;
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, BODY).await else {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    exchange.status = parts.status.as_u16();
    exchange.response_type = content_type(&parts.headers);
    exchange.response_body = String::from_utf8_lossy(&bytes).into_owned();
    if let Ok(mut all) = sb.exchanges.0.lock() {
        if all.len() == KEEP {
            all.pop_front();
        }
        all.push_back(exchange);
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[derive(serde::Deserialize)]
pub struct Filter {
    /// Only exchanges with this host.
    host: Option<String>,
}

/// `GET /_sandbox/exchanges[?host=...]`.
pub async fn list(State(sb): State<Shared>, Query(f): Query<Filter>) -> Response {
    let all: Vec<Exchange> = sb
        .exchanges
        .0
        .lock()
        .map(|a| {
            a.iter()
                .filter(|e| f.host.as_deref().is_none_or(|h| e.host == h))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    axum::Json(all).into_response()
}
