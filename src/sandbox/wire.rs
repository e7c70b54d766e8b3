//! What the simulated services share on the wire: Basic and bearer
//! credentials, and the SCIM list and error bodies of IAS and S/4HANA.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::Shared;

/// An OAuth error as XSUAA and Cloud Foundry's UAA answer it.
pub(super) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The text at a JSON pointer of a request body ("" when absent).
pub(super) fn text_at(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

pub(super) fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.strip_prefix("Basic ")?)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// A SCIM ListResponse page (1-based `startIndex`, `count` at most 100),
/// for IAS and S/4HANA alike.
pub(super) fn scim_list(all: Vec<Value>, q: &HashMap<String, String>) -> Value {
    let num = |k: &str| q.get(k).and_then(|s| s.parse::<usize>().ok());
    let start = num("startIndex").unwrap_or(1).max(1);
    let count = num("count").unwrap_or(100).min(100);
    let page: Vec<Value> = all.iter().skip(start - 1).take(count).cloned().collect();
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": all.len(), "itemsPerPage": page.len(), "startIndex": start, "Resources": page,
    })
}

/// A SCIM error (RFC 7644), for IAS and S/4HANA alike.
pub(super) fn scim_error(status: StatusCode, scim_type: &str, detail: &str) -> Response {
    let mut body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": status.as_u16().to_string(), "detail": detail});
    if !scim_type.is_empty() {
        body["scimType"] = json!(scim_type);
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

pub(super) fn form_value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The client a live bearer token was issued to.
pub(super) fn token_client(sb: &Shared, headers: &HeaderMap) -> Option<String> {
    let claims = sb.claims(bearer(headers)?)?;
    claims["cid"].as_str().map(str::to_string)
}
