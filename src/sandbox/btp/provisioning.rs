//! The Provisioning service (J.1-J.2, J.4): Cloud Foundry environments of
//! the subaccount the `local` key belongs to, created in SAP's states with
//! `labels` and `parameters` as JSON strings, one org per subaccount.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Timeline, btp_caller, cis_error, cis_fault, delay, now_ms};
use crate::sandbox::{Demo, Shared, uuid};

pub struct Environment {
    pub id: String,
    pub subaccount: String,
    pub global: String,
    pub name: String,
    pub org: String,
    pub org_guid: String,
    pub landscape: String,
    pub line: Timeline,
    pub failed: bool,
    pub created_ms: i64,
}

/// The CF API endpoint of a landscape label (`cf-eu10` -> `api.cf.eu10…`).
pub fn api_endpoint(landscape: &str) -> String {
    format!(
        "https://api.cf.{}.hana.ondemand.com",
        landscape.trim_start_matches("cf-")
    )
}

impl Environment {
    pub fn demo(d: &Demo, global: &str) -> Environment {
        Environment {
            id: uuid("environment/demo").to_ascii_uppercase(),
            subaccount: d.subaccount_id.clone(),
            global: global.to_string(),
            name: "acme-demo_taskcenter".into(),
            org: "acme-demo_taskcenter".into(),
            org_guid: uuid("cf-org/demo"),
            landscape: format!("cf-{}", d.region),
            line: Timeline::done(),
            failed: false,
            created_ms: 1_767_225_600_000,
        }
    }

    pub fn state(&self) -> (&'static str, String) {
        let f = self.line.fraction();
        match f {
            f if f >= 1.0 && self.failed => (
                "CREATION_FAILED",
                "Sandbox: the Cloud Foundry org could not be created.".into(),
            ),
            f if f >= 1.0 => ("OK", "Environment instance created.".into()),
            f if f >= 0.5 => (
                "CREATING",
                format!(
                    "Org [{}] was created. Instance ID: [{}].",
                    self.org, self.id
                ),
            ),
            _ => ("CREATING", "Creating environment instance.".into()),
        }
    }

    pub fn json(&self) -> Value {
        let (state, message) = self.state();
        let labels = if self.line.fraction() >= 0.5 && !self.failed {
            json!({"API Endpoint": api_endpoint(&self.landscape), "Org Name": self.org,
                   "Org ID": self.org_guid, "Org Memory Limit": "204,800MB"})
            .to_string()
        } else {
            "{}".into()
        };
        json!({
            "id": self.id, "name": self.name, "brokerId": uuid("cf-broker"), "globalAccountGUID": self.global,
            "subaccountGUID": self.subaccount, "tenantId": self.subaccount, "serviceId": uuid("cf-service"),
            "planId": uuid("cf-plan-standard"), "operation": "provision", "type": "Provision",
            "parameters": json!({"instance_name": self.org, "status": "ACTIVE"}).to_string(),
            "labels": labels, "customLabels": {}, "environmentType": "cloudfoundry",
            "landscapeLabel": self.landscape, "platformId": self.org_guid, "state": state,
            "stateMessage": message, "serviceName": "cloudfoundry", "planName": "standard",
            "createdDate": self.created_ms, "modifiedDate": self.created_ms,
        })
    }
}

pub async fn available(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    cis_fault!(
        sb,
        "cis-provisioning",
        "/provisioning/v1/availableEnvironments"
    );
    btp_caller!(sb, headers, "subaccount.environment.read");
    let landscape = format!("cf-{}", sb.demo.region);
    Json(json!({"availableEnvironments": [{
        "environmentType": "cloudfoundry", "serviceName": "cloudfoundry", "planName": "standard",
        "landscapeLabel": landscape, "allowAdditionalEnvironmentInstance": false, "planUpdatable": false,
        "availabilityLevel": "GA", "description": "Cloud Foundry environment",
        "serviceDisplayName": "Cloud Foundry Runtime", "technicalKey": "cloudfoundry",
        "createSchema": json!({"type": "object", "properties": {"instance_name": {"type": "string"}}}).to_string(),
    }]}))
    .into_response()
}

pub async fn list(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    cis_fault!(sb, "cis-provisioning", "/provisioning/v1/environments");
    let (_, zone) = btp_caller!(sb, headers, "subaccount.environment.read");
    let Ok(g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let all: Vec<Value> = g
        .environments
        .iter()
        .filter(|e| e.subaccount == zone)
        .map(Environment::json)
        .collect();
    Json(json!({ "environmentInstances": all })).into_response()
}

pub async fn read(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let target = format!("/provisioning/v1/environments/{id}");
    cis_fault!(sb, "cis-provisioning", &target);
    let (_, zone) = btp_caller!(sb, headers, "subaccount.environment.read");
    let Ok(g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match g
        .environments
        .iter()
        .find(|e| e.id == id && e.subaccount == zone)
    {
        Some(e) => Json(e.json()).into_response(),
        None => cis_error(
            StatusCode::NOT_FOUND,
            41000,
            "No environment instance found for the specified environmentInstanceId",
            &target,
        ),
    }
}

/// `POST /provisioning/v1/environments` (J.1): 202 `{id}`, then the states.
pub async fn create(
    State(sb): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let target = "/provisioning/v1/environments";
    cis_fault!(sb, "cis-provisioning", target);
    let (_, zone) = btp_caller!(sb, headers, "subaccount.environment.create");
    cis_fault!(sb, "cis-provisioning-write", target);
    let bad = |m: &str| cis_error(StatusCode::BAD_REQUEST, 42000, m, target);
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad("The request body is not JSON");
    };
    let s = |k: &str| crate::sandbox::wire::text_at(&v, &format!("/{k}"));
    if s("environmentType") != "cloudfoundry"
        || s("serviceName") != "cloudfoundry"
        || s("planName") != "standard"
    {
        return bad(
            "Broker was not found, or, plan and service are not part of the broker catalog, or, service and plan are not allowed for the subaccount license type",
        );
    }
    let user = s("user");
    if user.is_empty() {
        // J.1: required with a client-credentials token; it becomes Org Manager.
        return bad(
            "The user is required when the OAuth 2.0 client credentials grant flow is used",
        );
    }
    let org = v
        .pointer("/parameters/instance_name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if org.is_empty() {
        return bad("parameters.instance_name: the Cloud Foundry org name is required");
    }
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if g.environments.iter().any(|e| e.subaccount == zone) {
        return bad(
            "A Cloud Foundry environment instance already exists in this subaccount; only one is allowed",
        );
    }
    let id = g.next("environment").to_ascii_uppercase();
    let org_guid = g.next("cf-org");
    let landscape = {
        let l = s("landscapeLabel");
        if l.is_empty() {
            format!("cf-{}", sb.demo.region)
        } else {
            l
        }
    };
    let env = Environment {
        id: id.clone(),
        subaccount: zone,
        global: g.guid.clone(),
        name: if s("name").is_empty() {
            org.clone()
        } else {
            s("name")
        },
        org: org.clone(),
        org_guid: org_guid.clone(),
        landscape,
        line: Timeline::new(delay(g.fast, 8)),
        failed: g.failing("environment"),
        created_ms: now_ms(),
    };
    if !env.failed {
        g.cf.add_org(&org_guid, &user);
    }
    g.environments.push(env);
    (StatusCode::ACCEPTED, Json(json!({ "id": id }))).into_response()
}
