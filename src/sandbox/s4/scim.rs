//! The sandbox's S/4HANA SCIM interface for business users (sap-apis.md E,
//! E.1; scenario SAP_COM_0465): filters, paging, PUT and PATCH of the Global
//! User ID (`userUuid`) with its history, CSRF for writes. The SAML bearer
//! judge resolves `user_uuid` through the same business users.

use std::sync::atomic::Ordering;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::BusinessUser;
use crate::sandbox::Shared;
use crate::sandbox::wire::scim_error;

pub const BASE: &str = "/sap/bc/http/sap/aps_iam_api_scim";
const SAP_USER: &str = "urn:ietf:params:scim:schemas:extension:sap:2.0:User";

fn resource(u: &BusinessUser, api: &str) -> Value {
    let history: Vec<Value> = u
        .history
        .iter()
        .map(|(v, active)| json!({"value": v, "active": active}))
        .collect();
    let mut sap = json!({"userUuidHistory": history});
    if let Some(g) = &u.global_user_id {
        sap["userUuid"] = json!(g);
    }
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", SAP_USER],
        "id": u.id, "userName": u.user_name, "userType": "Employee", "active": true,
        "emails": [{"value": u.email, "type": "work", "primary": true}],
        SAP_USER: sap,
        "meta": {"resourceType": "User", "location": format!("https://{api}{BASE}/Users/{}", u.id)},
    })
}

fn scim(body: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

/// Counts requests in flight, remembering the most at once (`/_sandbox/seen`
/// shows it as `scim-s4-max-in-flight`), so tests can see the bound.
struct InFlight<'a>(&'a crate::sandbox::Sandbox);
impl<'a> InFlight<'a> {
    fn enter(sb: &'a crate::sandbox::Sandbox) -> Self {
        let now = sb.scim_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        sb.scim_max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(sb)
    }
}
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.scim_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

pub async fn users(
    State(sb): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let _in = InFlight::enter(&sb);
    if let Some(r) = sb.fault("s4-scim").await {
        return r;
    }
    let csrf = match super::comm::guard(&sb, &headers, &method, "SAP_COM_0465") {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let Ok(t) = sb.s4.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let api = sb.demo.api_host();
    let all: Vec<&BusinessUser> = t.business_users.iter().collect();
    let filtered: Vec<&BusinessUser> = match q.get("filter") {
        None => all,
        Some(f) => {
            let Some((attr, value)) = f
                .split_once(" eq ")
                .map(|(a, v)| (a.trim(), v.trim().trim_matches('"')))
            else {
                return scim_error(
                    StatusCode::BAD_REQUEST,
                    "invalidFilter",
                    "Only 'attribute eq \"value\"' filters are supported",
                );
            };
            match attr {
                "userName" => all
                    .into_iter()
                    .filter(|u| u.user_name.eq_ignore_ascii_case(value))
                    .collect(),
                "emails.value" => all
                    .into_iter()
                    .filter(|u| u.email.eq_ignore_ascii_case(value))
                    .collect(),
                "externalId" => all
                    .into_iter()
                    .filter(|u| u.user_name.eq_ignore_ascii_case(value))
                    .collect(),
                _ => {
                    return scim_error(
                        StatusCode::BAD_REQUEST,
                        "invalidFilter",
                        &format!("Filtering on {attr} is not supported"),
                    );
                }
            }
        }
    };
    let all: Vec<Value> = filtered.iter().map(|u| resource(u, &api)).collect();
    let r = scim(crate::sandbox::wire::scim_list(all, &q));
    super::comm::with_csrf(r, csrf)
}

/// `GET|PUT|PATCH /Users/{id}`: PUT replaces the user (here: its userUuid),
/// PATCH `replace` on `…:sap:2.0:User:userUuid`; both keep the history.
pub async fn user(
    State(sb): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let _in = InFlight::enter(&sb);
    if let Some(r) = sb.fault("s4-scim").await {
        return r;
    }
    if method != Method::GET
        && let Some(r) = sb.fault("s4-scim-write").await
    {
        return r;
    }
    if let Err(r) = super::comm::guard(&sb, &headers, &method, "SAP_COM_0465") {
        return *r;
    }
    let patch_supported = sb.settings.lock().is_ok_and(|s| s.scim_patch);
    let Ok(mut t) = sb.s4.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let api = sb.demo.api_host();
    let Some(u) = t.business_users.iter_mut().find(|u| u.id == id) else {
        return scim_error(StatusCode::NOT_FOUND, "", &format!("User {id} not found"));
    };
    let new_uuid = match method {
        Method::GET => return scim(resource(u, &api)),
        Method::PUT => serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v[SAP_USER]["userUuid"].as_str().map(str::to_string)),
        Method::PATCH if !patch_supported => {
            return scim_error(
                StatusCode::NOT_IMPLEMENTED,
                "",
                "PATCH is not supported for this resource",
            );
        }
        Method::PATCH => serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
            v["Operations"].as_array()?.iter().find_map(|op| {
                let path = op["path"].as_str()?;
                (op["op"].as_str()?.eq_ignore_ascii_case("replace")
                    && path == format!("{SAP_USER}:userUuid"))
                .then(|| op["value"].as_str().map(str::to_string))
                .flatten()
            })
        }),
        _ => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
    };
    let Some(new_uuid) = new_uuid.filter(|v| crate::domain::global_user_id(v).is_ok()) else {
        return scim_error(
            StatusCode::BAD_REQUEST,
            "invalidValue",
            "userUuid is missing or not a UUID",
        );
    };
    for h in u.history.iter_mut() {
        h.1 = false;
    }
    u.history.push((new_uuid.clone(), true));
    u.global_user_id = Some(new_uuid);
    scim(resource(u, &api))
}
