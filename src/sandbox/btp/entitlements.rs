//! The Entitlements service (I): the global account's catalog with quotas,
//! per-subaccount assignments that go STARTED -> PROCESSING -> OK, `enable`
//! or `amount` by plan category, and the 30004 lock a client must retry.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Timeline, btp_caller, cis_error, cis_error_with, cis_fault, delay, now_ms};
use crate::sandbox::Shared;

/// (service, its display name, plan, category, quota: `None` unlimited) (I.3).
const CATALOG: &[(&str, &str, &str, &str, Option<u32>)] = &[
    (
        "one-inbox-service",
        "SAP Task Center",
        "all-tasks",
        "ELASTIC_SERVICE",
        None,
    ),
    (
        "one-inbox-service",
        "SAP Task Center",
        "build-default",
        "ELASTIC_SERVICE",
        None,
    ),
    (
        "one-inbox-service",
        "SAP Task Center",
        "cloud-only-tasks",
        "ELASTIC_SERVICE",
        None,
    ),
    (
        "SAPLaunchpad",
        "SAP Build Work Zone, standard edition",
        "standard",
        "APPLICATION",
        None,
    ),
    (
        "SAPLaunchpad",
        "SAP Build Work Zone, standard edition",
        "free",
        "QUOTA_BASED_APPLICATION",
        Some(1),
    ),
    (
        "SAPLaunchpad",
        "SAP Build Work Zone, standard edition",
        "foundation",
        "APPLICATION",
        None,
    ),
    (
        "build-workzone-standard",
        "SAP Build Work Zone, standard edition",
        "standard",
        "ELASTIC_SERVICE",
        None,
    ),
    (
        "cis",
        "Cloud Management Service",
        "local",
        "ELASTIC_SERVICE",
        None,
    ),
    (
        "cis",
        "Cloud Management Service",
        "central",
        "ELASTIC_SERVICE",
        None,
    ),
];

/// What a new subaccount gets by itself (G.5), `autoAssigned: true`.
pub const AUTO_ASSIGNED: &[(&str, &str)] = &[
    ("service-manager", "subaccount-admin"),
    ("service-manager", "subaccount-audit"),
    ("service-manager", "container"),
    ("service-manager", "service-operator-access"),
    ("destination", "lite"),
    ("xsuaa", "apiaccess"),
    ("xsuaa", "application"),
    ("xsuaa", "broker"),
    ("xsuaa", "space"),
    ("html5-apps-repo", "app-host"),
    ("html5-apps-repo", "app-runtime"),
    ("identity", "application"),
];

pub struct Assignment {
    pub subaccount: String,
    pub service: String,
    pub plan: String,
    pub amount: Option<f64>,
    pub auto: bool,
    pub line: Timeline,
    pub failed: Option<String>,
    pub created_ms: i64,
}

impl Assignment {
    pub fn done(subaccount: &str, service: &str, plan: &str) -> Assignment {
        Assignment {
            subaccount: subaccount.into(),
            service: service.into(),
            plan: plan.into(),
            amount: None,
            auto: false,
            line: Timeline::done(),
            failed: None,
            created_ms: 1_767_225_600_000,
        }
    }

    /// (entityState, stateMessage).
    pub fn state(&self) -> (&'static str, String) {
        let f = self.line.fraction();
        match (&self.failed, f) {
            (_, f) if f < 0.3 => ("STARTED", "Assignment started.".into()),
            (_, f) if f < 1.0 => ("PROCESSING", "Processing the assignment.".into()),
            (Some(why), _) => ("PROCESSING_FAILED", why.clone()),
            (None, _) => (
                "OK",
                "Succeeded to update assignment of service plan.".into(),
            ),
        }
    }

    /// Whether the plan is assigned and ready (I.4 5).
    pub fn ready(&self) -> bool {
        self.state().0 == "OK" && self.amount != Some(0.0)
    }
}

fn catalog(
    service: &str,
    plan: &str,
) -> Option<&'static (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<u32>,
)> {
    CATALOG.iter().find(|c| c.0 == service && c.2 == plan)
}

fn category(service: &str, plan: &str) -> &'static str {
    catalog(service, plan).map_or("ELASTIC_SERVICE", |c| c.3)
}

fn unique(service: &str, plan: &str) -> String {
    format!("{service}-{plan}")
}

/// `GET /entitlements/v1/assignments` (I.2).
pub async fn assignments(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    cis_fault!(sb, "cis-entitlements", "/entitlements/v1/assignments");
    btp_caller!(sb, headers, "global-account.entitlement.read");
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    g.settle();
    let want = |k: &str, v: &str| q.get(k).is_none_or(|x| x == v);
    let auto = q
        .get("includeAutoManagedPlans")
        .is_some_and(|v| v == "true");
    let mut entitled: Vec<Value> = Vec::new();
    for (service, display, plan, cat, quota) in CATALOG {
        if !want("serviceName", service) || !want("planName", plan) {
            continue;
        }
        let used = g
            .assignments
            .iter()
            .filter(|a| a.service == *service && a.plan == *plan && a.failed.is_none())
            .map(|a| a.amount.unwrap_or(1.0))
            .sum::<f64>();
        let row = json!({
            "name": plan, "displayName": plan, "description": format!("{display}, plan {plan}"),
            "uniqueIdentifier": unique(service, plan), "category": cat, "beta": false,
            "amount": quota.map_or(1.0, f64::from), "remainingAmount": quota.map_or(1.0, |q| (f64::from(q) - used).max(0.0)),
            "unlimited": quota.is_none(), "provisioningMethod": if cat.ends_with("APPLICATION") { "NONE_REQUIRED" } else { "SERVICE_BROKER" },
        });
        match entitled.iter_mut().find(|e| e["name"] == json!(service)) {
            Some(e) => {
                if let Some(p) = e["servicePlans"].as_array_mut() {
                    p.push(row);
                }
            }
            None => entitled.push(
                json!({"name": service, "displayName": display, "description": display,
                                         "ownerType": "VENDOR", "servicePlans": [row]}),
            ),
        }
    }
    let mut assigned: Vec<Value> = Vec::new();
    let sub = q.get("subaccountGUID");
    for a in g.assignments.iter().filter(|a| {
        sub.is_none_or(|s| *s == a.subaccount)
            && want("serviceName", &a.service)
            && want("planName", &a.plan)
            && (auto || !a.auto)
    }) {
        let (state, message) = a.state();
        let info = json!({
            "entityId": a.subaccount, "entityType": "SUBACCOUNT", "amount": a.amount.unwrap_or(1.0),
            "unlimitedAmountAssigned": a.amount.is_none(), "autoAssigned": a.auto, "entityState": state,
            "stateMessage": message, "createdDate": a.created_ms, "modifiedDate": a.created_ms,
            "parentId": g.guid, "parentType": "GLOBAL_ACCOUNT",
        });
        let plan = json!({"name": a.plan, "displayName": a.plan, "uniqueIdentifier": unique(&a.service, &a.plan),
                          "category": category(&a.service, &a.plan), "beta": false,
                          "unlimited": catalog(&a.service, &a.plan).is_none_or(|c| c.4.is_none()), "assignmentInfo": [info]});
        match assigned.iter_mut().find(|e| e["name"] == json!(a.service)) {
            Some(e) => {
                if let Some(p) = e["servicePlans"].as_array_mut() {
                    p.push(plan);
                }
            }
            None => assigned.push(json!({"name": a.service, "displayName": a.service, "ownerType": "VENDOR", "servicePlans": [plan]})),
        }
    }
    Json(
        json!({"entitledServices": entitled, "assignedServices": assigned,
                "fetchErrorFromExternalProviderRegistry": false}),
    )
    .into_response()
}

fn invalid(detail: &str) -> Response {
    cis_error_with(
        StatusCode::BAD_REQUEST,
        11000,
        "Request payload is invalid",
        "/entitlements/v1/subaccountServicePlans",
        &[(11001, detail)],
    )
}

/// `PUT /entitlements/v1/subaccountServicePlans` (I.1): 202, then the states.
pub async fn assign(
    State(sb): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let target = "/entitlements/v1/subaccountServicePlans";
    cis_fault!(sb, "cis-entitlements", target);
    btp_caller!(sb, headers, "global-account.entitlement.subaccount.update");
    cis_fault!(sb, "cis-entitlements-write", target);
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return invalid("the body is not JSON");
    };
    let Some(plans) = v.get("subaccountServicePlans").and_then(Value::as_array) else {
        return invalid("subaccountServicePlans: must be set");
    };
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if g.fail.as_deref() == Some("lock") {
        // Once: another entitlement operation holds the lock (I.2).
        g.fail = None;
        return cis_error(
            StatusCode::BAD_REQUEST,
            30004,
            "locking scenario - API call must be retried",
            target,
        );
    }
    let mut changes = Vec::new();
    for p in plans {
        let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let (service, plan) = (s("serviceName"), s("servicePlanName"));
        let Some(entry) = catalog(&service, &plan) else {
            return cis_error(
                StatusCode::NOT_FOUND,
                30006,
                &format!(
                    "Service plan {plan} of service {service} is not entitled to the global account"
                ),
                target,
            );
        };
        for info in p
            .get("assignmentInfo")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let sub = info
                .get("subaccountGUID")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if g.subaccount(&sub).is_none_or(|s| s.state().0 != "OK") {
                return cis_error(
                    StatusCode::NOT_FOUND,
                    30007,
                    &format!("Subaccount {sub} not found or not ready"),
                    target,
                );
            }
            let enable = info.get("enable").and_then(Value::as_bool);
            let amount = info.get("amount").and_then(Value::as_f64);
            let quota_based = matches!(entry.3, "SERVICE" | "QUOTA_BASED_APPLICATION");
            match (enable, amount) {
                (Some(_), Some(_)) => return invalid("enable and amount: set only one"),
                (Some(_), None) if quota_based => {
                    return invalid(&format!(
                        "{service}/{plan} has a numeric quota: set amount, not enable"
                    ));
                }
                (None, Some(_)) if !quota_based => {
                    return invalid(&format!(
                        "{service}/{plan} is enabled, not counted: set enable, not amount"
                    ));
                }
                (None, None) => return invalid("assignmentInfo: set enable or amount"),
                _ => {}
            }
            let amount = match (enable, amount) {
                (Some(false), _) => Some(0.0),
                (_, Some(a)) => Some(a),
                _ => None,
            };
            changes.push((sub, service.clone(), plan.clone(), amount, entry.4));
        }
    }
    let takes = delay(g.fast, 3);
    let failing = g.failing("entitlement");
    for (sub, service, plan, amount, quota) in changes {
        let others: f64 = g
            .assignments
            .iter()
            .filter(|a| a.service == service && a.plan == plan && a.subaccount != sub)
            .map(|a| a.amount.unwrap_or(1.0))
            .sum();
        let over = quota.is_some_and(|q| others + amount.unwrap_or(1.0) > f64::from(q));
        g.assignments
            .retain(|a| !(a.subaccount == sub && a.service == service && a.plan == plan));
        g.assignments.push(Assignment {
            failed: if over {
                Some("Not enough quota: the global account's entitlement is used up.".into())
            } else if failing {
                Some("Sandbox: the assignment of the service plan failed.".into())
            } else {
                None
            },
            subaccount: sub,
            service,
            plan,
            amount,
            auto: false,
            line: Timeline::new(takes),
            created_ms: now_ms(),
        });
    }
    (StatusCode::ACCEPTED, Json(json!("Accepted"))).into_response()
}
