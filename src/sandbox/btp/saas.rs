//! SaaS Provisioning (K): SAP Build Work Zone, standard edition, listed
//! once entitled, subscribed through `SAPLaunchpadSMS` (or its commercial
//! name), IN_PROCESS for a while, failed without the IAS trust.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Global, Timeline, btp_caller, cis_error, cis_fault, delay, now_ms};
use crate::sandbox::{Demo, Shared, uuid};

pub const APP: &str = "SAPLaunchpadSMS";
pub const COMMERCIAL: &str = "SAPLaunchpad";

pub struct Subscription {
    pub guid: String,
    pub subaccount: String,
    pub plan: String,
    pub line: Timeline,
    pub failed: Option<String>,
    pub settled: bool,
    pub created_ms: i64,
}

impl Subscription {
    pub fn demo(d: &Demo, _global: &str) -> Subscription {
        Subscription {
            guid: uuid("subscription/demo"),
            subaccount: d.subaccount_id.clone(),
            plan: "standard".into(),
            line: Timeline::done(),
            failed: None,
            settled: false,
            created_ms: 1_767_225_600_000,
        }
    }

    pub fn state(&self) -> &'static str {
        match (self.line.finished(), &self.failed) {
            (false, _) => "IN_PROCESS",
            (true, Some(_)) => "SUBSCRIBE_FAILED",
            (true, None) => "SUBSCRIBED",
        }
    }
}

/// The application as the subaccount sees it (K.3).
fn app(g: &Global, sb: &Shared, zone: &str, plan: &str) -> Value {
    let sub = g.subscriptions.iter().find(|s| s.subaccount == zone);
    let subdomain = g
        .subaccount(zone)
        .map_or(sb.demo.subdomain.clone(), |s| s.subdomain.clone());
    let mut v = json!({
        "appName": APP, "commercialAppName": COMMERCIAL, "appId": uuid("work-zone-app"),
        "displayName": "SAP Build Work Zone, standard edition", "category": "SaaS Applications",
        "authenticationProvider": "IAS", "incidentTrackingComponent": "EP-WZ-SRB",
        "planName": sub.map_or(plan.to_string(), |s| s.plan.clone()),
        "state": sub.map_or("NOT_SUBSCRIBED", Subscription::state),
        "globalAccountId": g.guid, "supportsPlanUpdates": true, "supportsParametersUpdates": false,
        "supportsGetParameters": false, "allowedTargetPlans": ["standard", "free"], "quota": 1,
        "paramsSchema": {}, "customerDeveloped": false,
    });
    if let Some(s) = sub {
        v["subscriptionGUID"] = json!(s.guid);
        v["subscribedSubaccountId"] = json!(s.subaccount);
        v["subscribedTenantId"] = json!(s.subaccount);
        v["createdDate"] = json!(s.created_ms);
        v["modifiedDate"] = json!(s.created_ms);
        // The URL appears half-way, while still in process (K.3).
        if s.line.fraction() >= 0.5 && s.failed.is_none() {
            v["subscriptionUrl"] = json!(format!(
                "https://{subdomain}.dt.launchpad.cfapps.{}.hana.ondemand.com",
                sb.demo.region
            ));
        }
        if let (Some(why), true) = (&s.failed, s.line.finished()) {
            v["subscriptionError"] = json!({"appError": why, "errorMessage": why});
        }
    }
    v
}

/// The Work Zone plan assigned to the subaccount, if any (I.4 5).
fn entitled(g: &Global, zone: &str) -> Option<String> {
    g.assignments
        .iter()
        .find(|a| a.subaccount == zone && a.service == COMMERCIAL && a.ready())
        .map(|a| a.plan.clone())
}

pub async fn applications(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    cis_fault!(sb, "cis-saas", "/saas-manager/v1/applications");
    let (_, zone) = btp_caller!(sb, headers, "subaccount.application.subscription.read");
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    g.settle();
    let apps: Vec<Value> = entitled(&g, &zone)
        .map(|plan| vec![app(&g, &sb, &zone, &plan)])
        .unwrap_or_default();
    Json(json!({ "applications": apps })).into_response()
}

fn known(name: &str, q: &HashMap<String, String>) -> bool {
    if q.get("useCommercialAppName").is_some_and(|v| v == "true") {
        name == COMMERCIAL
    } else {
        name == APP
    }
}

pub async fn application(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let target = format!("/saas-manager/v1/applications/{name}");
    cis_fault!(sb, "cis-saas", &target);
    let (_, zone) = btp_caller!(sb, headers, "subaccount.application.subscription.read");
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    g.settle();
    match entitled(&g, &zone).filter(|_| known(&name, &q)) {
        Some(plan) => Json(app(&g, &sb, &zone, &plan)).into_response(),
        None => cis_error(
            StatusCode::NOT_FOUND,
            90001,
            &format!("Application {name} not found or not entitled"),
            &target,
        ),
    }
}

/// `POST …/applications/{appName}/subscription` (K.2): 202 without a body.
pub async fn subscribe(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    let target = format!("/saas-manager/v1/applications/{name}/subscription");
    cis_fault!(sb, "cis-saas", &target);
    let (_, zone) = btp_caller!(sb, headers, "subaccount.application.subscription.update");
    cis_fault!(sb, "cis-saas-write", &target);
    let v: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Some(entitled_plan) = entitled(&g, &zone).filter(|_| known(&name, &q)) else {
        return cis_error(
            StatusCode::NOT_FOUND,
            90001,
            &format!("Application {name} not found or not entitled"),
            &target,
        );
    };
    let plan = v
        .get("planName")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .unwrap_or(&entitled_plan)
        .to_string();
    if plan != entitled_plan {
        return cis_error(
            StatusCode::BAD_REQUEST,
            90002,
            &format!("Plan {plan} is not entitled to the subaccount"),
            &target,
        );
    }
    if g.subscriptions
        .iter()
        .any(|s| s.subaccount == zone && s.state() != "SUBSCRIBE_FAILED")
    {
        return cis_error(
            StatusCode::CONFLICT,
            90009,
            "The subaccount is already subscribed to the application",
            &target,
        );
    }
    // Work Zone signs in through IAS: without the trust it fails (K.4, K.5 2).
    let failed = if !g.authz.trusts_ias(&zone) {
        Some("The subaccount has no trust with an Identity Authentication tenant (sap.custom): establish it before subscribing.".to_string())
    } else if g.failing("subscription") {
        Some("Sandbox: the application's provisioning failed.".into())
    } else {
        None
    };
    let takes = delay(g.fast, 70);
    g.subscriptions.retain(|s| s.subaccount != zone);
    let guid = g.next("subscription");
    g.subscriptions.push(Subscription {
        guid,
        subaccount: zone,
        plan,
        line: Timeline::new(takes),
        failed,
        settled: false,
        created_ms: now_ms(),
    });
    StatusCode::ACCEPTED.into_response()
}
