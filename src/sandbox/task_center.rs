//! The sandbox's Task Center REST API (sap-apis.md C.1-C.4): connector status
//! derived from the simulated landscape, the service status of the mandatory
//! destinations, and a user's tasks. JSON field names are [U] (C.3): this
//! shape is the sandbox's proposal, which the wizard parses tolerantly.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::Shared;

fn denied(status: StatusCode, description: &str) -> Response {
    let error = if status == StatusCode::UNAUTHORIZED {
        "unauthorized"
    } else {
        "insufficient_scope"
    };
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The caller's token claims, if Task Center accepts the token at all (C.4.1).
fn caller(sb: &Shared, headers: &HeaderMap) -> Result<Value, Box<Response>> {
    let Some(claims) = super::wire::bearer(headers).and_then(|t| sb.claims(t)) else {
        return Err(Box::new(denied(
            StatusCode::UNAUTHORIZED,
            "Full authentication is required to access this resource",
        )));
    };
    let d = &sb.demo;
    let cid = claims["cid"].as_str().unwrap_or("");
    let tc_client = cid == d.tc_clientid
        || cid == d.push_clientid
        || sb
            .extra_clients
            .lock()
            .is_ok_and(|c| c.iter().any(|(i, _)| i == cid));
    if !tc_client || claims["zid"].as_str() != Some(d.subaccount_id.as_str()) {
        return Err(Box::new(denied(
            StatusCode::FORBIDDEN,
            "The token was not issued to a Task Center client of this subaccount",
        )));
    }
    Ok(claims)
}

/// The role TaskCenterAdmin, as a scope of Task Center's application (L.4).
fn is_admin(claims: &Value) -> bool {
    claims["scope"].as_array().is_some_and(|r| {
        r.iter()
            .filter_map(Value::as_str)
            .any(|x| x.starts_with("one-inbox-service!b") && x.ends_with(".TaskCenterAdmin"))
    })
}

/// Connectors may be listed by a TaskCenterAdmin user (C.4.2); client
/// credentials only when the sandbox is switched to allow it (the [U] of C.1).
fn admin(sb: &Shared, headers: &HeaderMap) -> Result<Value, Box<Response>> {
    let claims = caller(sb, headers)?;
    let user = claims.get("user_uuid").is_some();
    let cc_allowed = sb.settings.lock().is_ok_and(|s| s.cc_connectors);
    if (user && is_admin(&claims)) || (!user && cc_allowed) {
        Ok(claims)
    } else {
        Err(Box::new(denied(
            StatusCode::FORBIDDEN,
            "A user token with the role TaskCenterAdmin is required",
        )))
    }
}

fn job(kind: &str, status: &str, message: &str) -> Value {
    let now = crate::fmt::iso(crate::fmt::now());
    json!({"type": kind, "status": status, "startedAt": now, "endedAt": now, "message": message})
}

/// The connector of one destination, its jobs run as `user` (C.4.3).
fn connector(sb: &Shared, d: &Map<String, Value>, user: &Value) -> Value {
    let get = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("");
    let name = get("Name");
    let limit = sb.settings.lock().map_or(64, |s| s.name_limit);
    let (status, jobs) = if get("tc.enabled") != "true" {
        ("PAUSED", vec![])
    } else if name.chars().count() > limit {
        (
            "ERROR",
            vec![job(
                "CONFIG",
                "ERROR",
                &format!("The destination name {name} is longer than {limit} characters"),
            )],
        )
    } else {
        let config = job("CONFIG", "OK", "Configuration read");
        match sb.token_for(d, Some(user)) {
            Err(e) => ("ERROR", vec![config, job("INITIAL", "ERROR", &e)]),
            Ok(_) => {
                let notif = get("tc.notifications.enabled");
                // With tc.clientId Task Center pauses DELTA and waits for
                // S/4HANA's pushes (C.2); no outbound user, no updates (11).
                let client = get("tc.clientId");
                let secret = if client.is_empty() {
                    None
                } else {
                    sb.s4.lock().ok().and_then(|t| t.comm.pushes_with(client))
                };
                // S/4HANA gets a token with its outbound user to push: a
                // deleted key's secret gets none (failure mode 27).
                let accepted = secret
                    .as_deref()
                    .is_some_and(|s| sb.accepts_client(client, s));
                let update = match (client.is_empty(), secret.is_some(), accepted) {
                    (true, _, _) => job("DELTA", "OK", "Received Tasks"),
                    (false, true, true) => job("PUSH", "OK", "Received pushed task updates"),
                    (false, true, false) => job(
                        "PUSH",
                        "ERROR",
                        &format!(
                            "S/4HANA's pushes for client {client} are refused: its outbound user's secret gets no token (was the key rotated or deleted?), so updates stop"
                        ),
                    ),
                    (false, false, _) => job(
                        "PUSH",
                        "WARNING",
                        &format!(
                            "No task updates pushed by S/4HANA for client {client}: the communication system has no outbound user with this client, so updates stop"
                        ),
                    ),
                };
                let push_status = update["status"].as_str().unwrap_or("OK").to_string();
                let mut jobs = vec![
                    config,
                    job("INITIAL", "OK", "Stored tasks in CACHE: 0"),
                    update,
                ];
                if push_status == "ERROR" {
                    ("ERROR", jobs)
                } else if push_status == "WARNING" {
                    ("WARNING", jobs)
                } else if !notif.is_empty() && notif != "true" && notif != "false" {
                    jobs.push(job(
                        "META",
                        "WARNING",
                        &format!(
                            "tc.notifications.enabled has the value {notif}; use true or false"
                        ),
                    ));
                    ("WARNING", jobs)
                } else {
                    ("OK", jobs)
                }
            }
        }
    };
    let id = super::uuid(&format!("connector/{name}"));
    sb.log_jobs(&id, &jobs);
    json!({
        "id": id, "destinationName": name,
        "providerType": get("tc.provider_type"), "status": status, "jobs": jobs,
    })
}

/// How many runs Task Center keeps per job type (C.2).
fn depth(job_type: &str) -> usize {
    match job_type {
        "INITIAL" => 1,
        "CONFIG" => 10,
        "META" => 5,
        _ => 30,
    }
}

impl super::Sandbox {
    /// Remember each job run, keeping Task Center's history depths.
    fn log_jobs(&self, connector: &str, jobs: &[Value]) {
        let Ok(mut h) = self.job_history.lock() else {
            return;
        };
        for j in jobs {
            let kind = j["type"].as_str().unwrap_or("").to_string();
            let runs = h.entry((connector.to_string(), kind.clone())).or_default();
            runs.push_back(j.clone());
            while runs.len() > depth(&kind) {
                runs.pop_front();
            }
        }
    }

    /// 429 once more than the configured requests a second arrive (C.4.5).
    fn rate_limited(&self) -> bool {
        let Some(limit) = self.settings.lock().ok().and_then(|s| s.tc_rate_limit) else {
            return false;
        };
        let now = crate::fmt::now();
        let Ok(mut w) = self.tc_window.lock() else {
            return false;
        };
        if w.0 != now {
            *w = (now, 0);
        }
        w.1 += 1;
        w.1 > limit
    }
}

/// C.1, verbatim.
const TOO_MANY: &str =
    "Too many requests. The caller has sent too many requests in a given amount of time.";

fn too_many() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({"error": "too_many_requests", "error_description": TOO_MANY})),
    )
        .into_response()
}

/// `/v1/connectors/{id}/jobTypes/{jobType}`: the log view, as many runs as
/// Task Center keeps for that job type.
pub async fn job_log(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Path((id, job_type)): Path<(String, String)>,
) -> Response {
    if sb.rate_limited() {
        return too_many();
    }
    let user = match admin(&sb, &headers) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    // The current runs first (listing connectors runs the jobs here).
    let _ = all_connectors(&sb, &user);
    let runs: Vec<Value> = sb
        .job_history
        .lock()
        .ok()
        .and_then(|h| h.get(&(id.clone(), job_type.clone())).cloned())
        .map(|r| r.into_iter().collect())
        .unwrap_or_default();
    if runs.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "not_found", "error_description": "No runs of this job type"})),
        )
            .into_response();
    }
    let status = runs
        .last()
        .map(|r| r["status"].clone())
        .unwrap_or(Value::Null);
    Json(json!({"connectorId": id, "jobType": job_type, "status": status, "logs": runs}))
        .into_response()
}

fn all_connectors(sb: &Shared, user: &Value) -> Vec<Value> {
    let dests: Vec<Map<String, Value>> = sb
        .destinations
        .lock()
        .map(|d| {
            d.values()
                .filter(|v| v.contains_key("tc.enabled"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut all: Vec<Value> = dests.iter().map(|d| connector(sb, d, user)).collect();
    // What SAP's formation may leave (N, [U]): a connector that no
    // destination of the subaccount backs.
    if sb.settings.lock().is_ok_and(|s| s.formation_connector) {
        all.push(json!({
            "id": super::uuid("connector/formation"), "destinationName": "SAP_S4HC_FORMATION",
            "providerType": "S/4HANACloud", "status": "OK",
            "jobs": [job("CONFIG", "OK", "Configuration read")],
        }));
    }
    all
}

pub async fn connectors(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = sb.fault("connectors").await {
        return r;
    }
    if sb.rate_limited() {
        return too_many();
    }
    match admin(&sb, &headers) {
        Ok(user) => Json(Value::Array(all_connectors(&sb, &user))).into_response(),
        Err(r) => *r,
    }
}

pub async fn connector_by_id(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = sb.fault("connectors").await {
        return r;
    }
    let user = match admin(&sb, &headers) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    match all_connectors(&sb, &user)
        .into_iter()
        .find(|c| c["id"] == json!(id))
    {
        Some(c) => Json(c).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "not_found", "error_description": "No connector with this ID"})),
        )
            .into_response(),
    }
}

/// The mandatory service destinations (C.2 `/v1/service-status`).
pub async fn service_status(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = sb.fault("connectors").await {
        return r;
    }
    if let Err(r) = admin(&sb, &headers) {
        return *r;
    }
    let now = crate::fmt::iso(crate::fmt::now());
    let entries: Vec<Value> = [
        ("Service_Configuration", "Task_Center_global_settings"),
        (
            "IDS_Configuration",
            "Identity_Authentication_Connectivity_IDS",
        ),
    ]
    .iter()
    .map(|(code, dest)| {
        let (status, message) = match sb.destination(dest) {
            Some(_) => ("OK", format!("Destination {dest} is configured")),
            None => (
                "ERROR",
                format!("Destination {dest} is missing in the subaccount"),
            ),
        };
        json!({"code": code, "status": status, "message": message, "modifiedAt": now})
    })
    .collect();
    Json(Value::Array(entries)).into_response()
}

/// `/v1/tasks`: the caller's tasks, which reach Task Center only through a
/// working connector, for a user whose Global User ID S/4HANA knows.
pub async fn tasks(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    let claims = match caller(&sb, &headers) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let Some(uuid) = claims["user_uuid"].as_str() else {
        return denied(
            StatusCode::FORBIDDEN,
            "Tasks belong to users: a user token is required",
        );
    };
    let working = all_connectors(&sb, &claims)
        .iter()
        .any(|c| matches!(c["status"].as_str(), Some("OK" | "WARNING")));
    let known = sb.s4.lock().is_ok_and(|t| {
        t.business_users
            .iter()
            .any(|u| u.global_user_id.as_deref() == Some(uuid))
    });
    let person = claims["email"].as_str().and_then(|e| sb.person(e));
    let tasks: Vec<Value> = match person {
        Some(p) if working && known && p.role_collections.is_empty() => (1..=2)
            .map(|i| {
                json!({"urn": format!("urn:sap.odm.bpm.task:s4:{}:{}:{i}", sb.demo.subaccount_id, p.s4_user),
                       "subject": format!("Approve purchase requisition 1000{i} ({})", p.given_name),
                       "status": "READY", "priority": "MEDIUM", "processor": uuid})
            })
            .collect(),
        _ => Vec::new(),
    };
    Json(json!({"value": tasks})).into_response()
}
