//! The Accounts service (H, G.5): subaccounts with SAP's creation states,
//! subdomains unique per region across global accounts, and the Service
//! Manager binding a subaccount's administration starts from.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Kind, Timeline, btp_caller, cis_error, cis_error_with, cis_fault, delay, now_ms};
use crate::sandbox::{Demo, Shared, uuid};

/// Subdomains other customers hold (H.4 3): a POST with one is a 409.
const TAKEN: &[(&str, &str)] = &[("acme", "eu10"), ("taskcenter", "eu10")];

pub struct Subaccount {
    pub guid: String,
    pub display_name: String,
    pub description: Option<String>,
    pub subdomain: String,
    pub region: String,
    pub global: String,
    pub labels: Value,
    pub used_for_production: String,
    pub beta: bool,
    pub created_by: String,
    pub created_ms: i64,
    pub line: Timeline,
    pub failed: bool,
    /// SAP did what follows a creation (`Global::settle`).
    pub settled: bool,
}

impl Subaccount {
    pub fn demo(d: &Demo, global: &str) -> Subaccount {
        Subaccount {
            guid: d.subaccount_id.clone(),
            display_name: "Task Center".into(),
            description: Some("SAP Task Center for ACME".into()),
            subdomain: d.subdomain.clone(),
            region: d.region.clone(),
            global: global.to_string(),
            labels: json!({}),
            used_for_production: "USED_FOR_PRODUCTION".into(),
            beta: false,
            created_by: "ada.admin@acme.example".into(),
            created_ms: 1_767_225_600_000,
            line: Timeline::done(),
            failed: false,
            settled: false,
        }
    }

    pub fn other(global: &str) -> Subaccount {
        Subaccount {
            guid: uuid("subaccount/acme-dev"),
            display_name: "ACME development".into(),
            // Real subaccounts may have none (G.8).
            description: None,
            subdomain: "acme-dev".into(),
            region: "eu10".into(),
            global: global.to_string(),
            labels: json!({"purpose": ["development"]}),
            used_for_production: "UNSET".into(),
            beta: false,
            created_by: "ada.admin@acme.example".into(),
            created_ms: 1_767_225_600_000,
            line: Timeline::done(),
            failed: false,
            settled: false,
        }
    }

    /// (state, stateMessage, technicalName) as the recording shows them (H.2).
    pub fn state(&self) -> (&'static str, &'static str, String) {
        let f = self.line.fraction();
        if self.failed && f >= 0.5 {
            return (
                "CREATION_FAILED",
                "Sandbox: the subaccount tenant could not be created.",
                "N/A".into(),
            );
        }
        match f {
            f if f >= 1.0 => ("OK", "Subaccount created.", self.guid.clone()),
            f if f >= 0.5 => (
                "CREATING",
                "Assigning entitlements for subaccount.",
                self.guid.clone(),
            ),
            _ => ("CREATING", "Creating subaccount tenant.", "N/A".into()),
        }
    }

    pub fn json(&self) -> Value {
        let (state, message, technical) = self.state();
        json!({
            "guid": self.guid, "technicalName": technical, "displayName": self.display_name,
            "description": self.description, "globalAccountGUID": self.global, "parentGUID": self.global,
            "parentFeatures": ["DEFAULT"], "region": self.region, "subdomain": self.subdomain,
            "betaEnabled": self.beta, "usedForProduction": self.used_for_production, "labels": self.labels,
            "state": state, "stateMessage": message, "createdDate": self.created_ms,
            "createdBy": self.created_by, "modifiedDate": self.created_ms,
        })
    }
}

pub async fn global_account(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    let target = "/accounts/v1/globalAccount";
    cis_fault!(sb, "cis-accounts", target);
    btp_caller!(sb, headers, "global-account.read");
    let caller = crate::sandbox::wire::token_client(&sb, &headers).unwrap_or_default();
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if !g.admit(&caller, target) {
        let mut r = cis_error(
            StatusCode::TOO_MANY_REQUESTS,
            11006,
            "Request rate limit exceeded.",
            target,
        );
        r.headers_mut().insert(
            "x-ratelimit-reset",
            axum::http::HeaderValue::from_static("3"),
        );
        return r;
    }
    g.settle();
    let subs: Vec<Value> = g.subaccounts.iter().map(Subaccount::json).collect();
    Json(json!({
        "guid": g.guid, "displayName": "ACME Demo GmbH", "subdomain": "acme-global",
        "entityState": "OK", "stateMessage": "Global account created.", "licenseType": "ENTERPRISE",
        "commercialModel": "Subscription", "consumptionBased": false, "costCenter": "", "contractStatus": "ACTIVE",
        "geoAccess": "STANDARD", "origin": "OPERATOR", "renewalDate": 1_798_761_600_000_i64, "useFor": "Production",
        "createdDate": 1_735_689_600_000_i64, "modifiedDate": 1_735_689_600_000_i64, "subaccounts": subs,
        "description": "", "legalLinks": {}, "children": [],
    }))
    .into_response()
}

pub async fn list(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    cis_fault!(sb, "cis-accounts", "/accounts/v1/subaccounts");
    btp_caller!(sb, headers, "global-account.subaccount.read");
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    g.settle();
    let dir = q.get("directoryGUID");
    let selector = match q.get("labelSelector").map(|l| label_selector(l)) {
        Some(Err(())) => {
            return cis_error(
                StatusCode::BAD_REQUEST,
                12003,
                "Invalid labelSelector format. Each label condition must consist of a URL-encoded key-value pair with either an equals or not equals operator: <label-key><=/!=><label-value>",
                "/accounts/v1/subaccounts",
            );
        }
        Some(Ok(c)) => c,
        None => Vec::new(),
    };
    let value: Vec<Value> = g
        .subaccounts
        .iter()
        .filter(|s| dir.is_none_or(|d| *d == s.global))
        .filter(|s| {
            selector.iter().all(|(k, eq, v)| {
                let has = s.labels[k.as_str()]
                    .as_array()
                    .is_some_and(|vs| vs.iter().any(|x| x == v.as_str()));
                has == *eq
            })
        })
        .map(Subaccount::json)
        .collect();
    Json(json!({ "value": value })).into_response()
}

/// `k=v AND k!=v` (H.1): (key, equals, value) per condition.
fn label_selector(s: &str) -> Result<Vec<(String, bool, String)>, ()> {
    s.split(" AND ")
        .map(|c| {
            let (k, eq, v) = match c.split_once("!=") {
                Some((k, v)) => (k, false, v),
                None => {
                    let (k, v) = c.split_once('=').ok_or(())?;
                    (k, true, v)
                }
            };
            if k.trim().is_empty() || v.trim().is_empty() {
                return Err(());
            }
            Ok((k.trim().to_string(), eq, v.trim().to_string()))
        })
        .collect()
}

pub async fn read(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Path(guid): Path<String>,
) -> Response {
    let target = format!("/accounts/v1/subaccounts/{guid}");
    cis_fault!(sb, "cis-accounts", &target);
    btp_caller!(sb, headers, "global-account.subaccount.read");
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    g.settle();
    match g.subaccount(&guid) {
        Some(s) => Json(s.json()).into_response(),
        None => not_found(&guid, &target),
    }
}

fn not_found(guid: &str, target: &str) -> Response {
    cis_error(
        StatusCode::NOT_FOUND,
        20004,
        &format!("Subaccount {guid} not found"),
        target,
    )
}

fn invalid(detail: &str) -> Response {
    cis_error_with(
        StatusCode::BAD_REQUEST,
        11000,
        "Request payload is invalid",
        "/accounts/v1/subaccounts",
        &[(11001, detail)],
    )
}

fn valid_subdomain(s: &str) -> bool {
    let b = s.as_bytes();
    !s.is_empty()
        && s.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `POST /accounts/v1/subaccounts` (H.1): 201 in `STARTED`, then the states.
pub async fn create(
    State(sb): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let target = "/accounts/v1/subaccounts";
    cis_fault!(sb, "cis-accounts", target);
    btp_caller!(sb, headers, "global-account.subaccount.create");
    cis_fault!(sb, "cis-accounts-write", target);
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return invalid("the body is not JSON");
    };
    let s = |k: &str| crate::sandbox::wire::text_at(&v, &format!("/{k}"));
    let (name, region, subdomain) = (s("displayName"), s("region"), s("subdomain"));
    if name.is_empty() || name.contains('/') {
        return invalid("displayName: must be set and contain no slash");
    }
    if region.is_empty() {
        return invalid("region: must be set");
    }
    if !valid_subdomain(&subdomain) {
        return invalid("subdomain: letters a-z, digits and hyphens, at most 63");
    }
    let description = v.get("description").and_then(Value::as_str);
    if description.is_some_and(|d| d.chars().count() > 255) {
        return invalid("description: length must be between 0 and 255");
    }
    let labels = v.get("labels").cloned().unwrap_or(json!({}));
    if labels.as_object().is_some_and(|l| {
        l.len() > 10
            || l.iter().any(|(k, vs)| {
                k.len() > 63
                    || vs.as_array().is_none_or(|a| {
                        a.len() > 10 || a.iter().any(|x| x.as_str().is_none_or(|x| x.len() > 63))
                    })
            })
    }) {
        return invalid("labels: at most 10 keys of 10 values, 63 characters each");
    }
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let taken = g
        .subaccounts
        .iter()
        .any(|x| x.subdomain == subdomain && x.region == region)
        || TAKEN.iter().any(|(s, r)| *s == subdomain && *r == region);
    if taken {
        return cis_error(
            StatusCode::CONFLICT,
            20007,
            &format!("Subdomain {subdomain} already exists in the current region"),
            target,
        );
    }
    // The data plane is the demo subaccount's: the demo subdomain gets its ID.
    let guid = if subdomain == sb.demo.subdomain && region == sb.demo.region {
        sb.demo.subaccount_id.clone()
    } else {
        g.next("subaccount")
    };
    let takes = delay(g.fast, 35);
    let sub = Subaccount {
        guid,
        display_name: name,
        description: description.map(str::to_string),
        subdomain,
        region,
        global: g.guid.clone(),
        labels,
        used_for_production: v
            .get("usedForProduction")
            .and_then(Value::as_str)
            .unwrap_or("UNSET")
            .to_string(),
        beta: v
            .get("betaEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        created_by: "cis-central".into(),
        created_ms: now_ms(),
        line: Timeline::new(takes),
        failed: g.failing("subaccount"),
        settled: false,
    };
    let mut shown = sub.json();
    shown["state"] = json!("STARTED");
    shown["stateMessage"] = json!("Subaccount creation started.");
    shown["technicalName"] = json!("N/A");
    g.subaccounts.push(sub);
    (StatusCode::CREATED, Json(shown)).into_response()
}

/// `GET`/`POST …/serviceManagementBinding` (G.5, v1).
pub async fn sm_binding(
    State(sb): State<Shared>,
    headers: HeaderMap,
    method: axum::http::Method,
    Path(guid): Path<String>,
) -> Response {
    let target = format!("/accounts/v1/subaccounts/{guid}/serviceManagementBinding");
    cis_fault!(sb, "cis-accounts", &target);
    let post = method == axum::http::Method::POST;
    btp_caller!(
        sb,
        headers,
        if post {
            "global-account.subaccount.update"
        } else {
            "global-account.subaccount.read"
        }
    );
    if post {
        cis_fault!(sb, "cis-accounts-write", &target);
    }
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    g.settle();
    let Some(sub) = g.subaccount(&guid) else {
        return not_found(&guid, &target);
    };
    if sub.state().0 != "OK" {
        return cis_error(
            StatusCode::CONFLICT,
            20011,
            "The subaccount is not in state OK",
            &target,
        );
    }
    let existing = g
        .sm_bindings
        .iter()
        .find(|(s, _)| *s == guid)
        .map(|(_, v)| v.clone());
    match (existing, post) {
        (Some(_), true) => cis_error(
            StatusCode::CONFLICT,
            20010,
            "Service Manager binding already exists for this subaccount",
            &target,
        ),
        (Some(b), false) => Json(b).into_response(),
        (None, false) => cis_error(
            StatusCode::NOT_FOUND,
            20009,
            "Service Manager binding not found for this subaccount",
            &target,
        ),
        (None, true) => {
            let (id, secret) = g.add_client(Kind::ServiceManager, &guid, true);
            let b = json!({"clientid": id, "clientsecret": secret, "sm_url": sb.demo.sm_url,
                           "url": sb.demo.uaa_url, "xsappname": Kind::ServiceManager.xsappname()});
            g.sm_bindings.push((guid, b.clone()));
            (StatusCode::CREATED, Json(b)).into_response()
        }
    }
}
