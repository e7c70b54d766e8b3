//! SAP Service Manager as sap-apis.md F.4 describes it: client-credentials
//! tokens of a service-manager key, field-queried lists, asynchronous creates
//! (202 + a relative Location) that succeed after a delay, 409 on a duplicate
//! name, 429 beyond 50 creates a minute; keys can be deleted (as in the
//! cockpit), instances not.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Shared, uuid, wire::bearer};

/// The offerings and their plans (F.3; G.1 `cis`, L.1 `xsuaa`, M.2
/// `destination`), with stable ids.
const OFFERINGS: &[(&str, &str, &[&str])] = &[
    (
        "one-inbox-service",
        "SAP Task Center",
        &["all-tasks", "build-default", "cloud-only-tasks", "standard"],
    ),
    ("cis", "Cloud Management Service", &["local", "central"]),
    (
        "xsuaa",
        "Authorization and Trust Management Service",
        &["apiaccess"],
    ),
    ("destination", "Destination Service", &["lite"]),
];

#[derive(Default)]
pub struct Registry {
    instances: Vec<Resource>,
    bindings: Vec<Resource>,
    /// Operation id -> (resource kind, resource id).
    operations: HashMap<String, (&'static str, String)>,
    created: Vec<Instant>,
    next: u64,
}

struct Resource {
    id: String,
    name: String,
    /// service_plan_id for instances, service_instance_id for bindings.
    parent: String,
    ready_at: Instant,
    failed: Option<String>,
    op: String,
    credentials: Option<Value>,
    /// An instance's parameters (a `cis` key's grant type, G.1).
    parameters: Value,
}

/// The names the wizard gives the access instances it creates in a
/// subaccount (the booster seed holds them, made by an earlier run).
pub const ACCESS: &[(&str, &str, &str)] = &[
    ("cis", "local", "taskcenter-wizard-cis"),
    ("xsuaa", "apiaccess", "taskcenter-wizard-xsuaa"),
    ("destination", "lite", "taskcenter-wizard-destination"),
];

impl Registry {
    /// The instances and keys of a subaccount whose administrator already
    /// gave the wizard its access: the destination key is the demo's.
    pub fn booster(d: &super::Demo, g: &mut super::btp::Global) -> Registry {
        let mut r = Registry::default();
        for (offering, plan, name) in ACCESS {
            r.next += 1;
            let id = uuid(&format!("sm-seed-instance-{name}"));
            let done = Instant::now() - Duration::from_secs(3600);
            let credentials = match *offering {
                "cis" => {
                    let (i, s) = g.add_client(super::btp::Kind::Local, &d.subaccount_id, true);
                    d.cis_local_key(&i, &s, true)
                }
                "xsuaa" => {
                    let (i, s) = g.add_client(super::btp::Kind::ApiAccess, &d.subaccount_id, true);
                    d.apiaccess_key(&i, &s)
                }
                _ => serde_json::from_str(&d.destination_key()).unwrap_or(Value::Null),
            };
            r.instances.push(Resource {
                id: id.clone(),
                name: (*name).into(),
                parent: plan_id(offering, plan),
                ready_at: done,
                failed: None,
                op: uuid(&format!("sm-seed-op-{name}")),
                credentials: None,
                parameters: json!({"grantType": "clientCredentials"}),
            });
            r.bindings.push(Resource {
                id: uuid(&format!("sm-seed-binding-{name}")),
                name: format!("{name}-key"),
                parent: id,
                ready_at: done,
                failed: None,
                op: uuid(&format!("sm-seed-op-b-{name}")),
                credentials: Some(credentials),
                parameters: json!({}),
            });
        }
        r
    }
}

impl Resource {
    fn state(&self) -> &'static str {
        match (&self.failed, Instant::now() >= self.ready_at) {
            (Some(_), _) => "failed",
            (None, true) => "succeeded",
            (None, false) => "in progress",
        }
    }

    fn json(&self, kind: &str, sb: &Shared) -> Value {
        let ready = self.state() == "succeeded";
        let mut v = json!({
            "id": self.id, "name": self.name, "ready": ready, "usable": ready,
            "labels": {"subaccount_id": [sb.demo.subaccount_id]},
            "last_operation": {"id": self.op, "type": "create", "state": self.state()},
        });
        if kind == "service_instances" {
            v["service_plan_id"] = json!(self.parent);
            v["platform_id"] = json!("service-manager");
        } else {
            v["service_instance_id"] = json!(self.parent);
            if ready {
                v["credentials"] = self.credentials.clone().unwrap_or(Value::Null);
            }
        }
        v
    }
}

fn error(status: StatusCode, kind: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": kind, "description": description})),
    )
        .into_response()
}

/// An HTTP-date, as Service Manager gives `Retry-After` (F.2).
fn http_date(unix: i64) -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_default()
}

/// Which service-manager client the bearer token belongs to: the admin key
/// may write, the audit key only read (F.4 1); so may the access a global
/// account's administrator created for the subaccount (G.5).
fn auth(sb: &Shared, headers: &HeaderMap, write: bool) -> Result<(), Box<Response>> {
    let cid = bearer(headers)
        .and_then(|t| sb.claims(t))
        .and_then(|c| c["cid"].as_str().map(str::to_string));
    let granted = |c: &str| {
        sb.btp
            .lock()
            .is_ok_and(|g| g.has_client(c, super::btp::Kind::ServiceManager))
    };
    match cid {
        Some(c) if c == sb.demo.sm_clientid || granted(&c) => Ok(()),
        Some(c) if c == sb.demo.sm_audit_clientid && !write => Ok(()),
        Some(c) if c == sb.demo.sm_audit_clientid => Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "insufficient scope: subaccount.service_instance.manage is required",
        ))),
        _ => Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "invalid or missing token",
        ))),
    }
}

/// A call's client after the API's faults, allowed to write when `WRITE`:
/// an extractor, so that no handler can skip the token check.
pub struct Client<const WRITE: bool>;

impl<const WRITE: bool> FromRequestParts<Shared> for Client<WRITE> {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, sb: &Shared) -> Result<Self, Response> {
        if let Some(r) = sb.fault("service-manager").await {
            return Err(r);
        }
        auth(sb, &parts.headers, WRITE)
            .map(|()| Client)
            .map_err(|r| *r)
    }
}

/// `field eq 'v'`, `field in ('a','b')`, joined by ` and ` (F.4 2).
fn field_query(q: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let mut out = Vec::new();
    let mut rest = q.trim();
    while !rest.is_empty() {
        let (field, after) = rest
            .split_once(' ')
            .ok_or_else(|| format!("invalid field query: {q}"))?;
        let after = after.trim_start();
        let (op, after) = after
            .split_once(' ')
            .ok_or_else(|| format!("invalid field query: {q}"))?;
        let mut after = after.trim_start();
        let mut values = Vec::new();
        let list = match op {
            "eq" => false,
            "in" => {
                after = after
                    .strip_prefix('(')
                    .ok_or_else(|| format!("invalid field query: {q}"))?;
                true
            }
            other => return Err(format!("unsupported operator {other}")),
        };
        loop {
            let s = after
                .strip_prefix('\'')
                .ok_or_else(|| format!("invalid field query: {q}"))?;
            let mut value = String::new();
            let mut chars = s.char_indices().peekable();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                if c == '\'' {
                    if chars.peek().map(|(_, n)| *n) == Some('\'') {
                        value.push('\'');
                        chars.next();
                    } else {
                        end = Some(i + 1);
                        break;
                    }
                } else {
                    value.push(c);
                }
            }
            let end = end.ok_or_else(|| format!("unterminated string in {q}"))?;
            values.push(value);
            after = s[end..].trim_start();
            if list {
                if let Some(r) = after.strip_prefix(',') {
                    after = r.trim_start();
                    continue;
                }
                after = after
                    .strip_prefix(')')
                    .ok_or_else(|| format!("invalid field query: {q}"))?
                    .trim_start();
            }
            break;
        }
        out.push((field.to_string(), values));
        rest = match after.strip_prefix("and ") {
            Some(r) => r.trim_start(),
            None if after.is_empty() => "",
            None => return Err(format!("invalid field query: {q}")),
        };
    }
    Ok(out)
}

fn list_of(items: Vec<Value>, q: &HashMap<String, String>, fields: &[&str]) -> Response {
    let conditions = match field_query(q.get("fieldQuery").map_or("", String::as_str)) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, "BadRequest", &e),
    };
    if let Some((f, _)) = conditions
        .iter()
        .find(|(f, _)| !fields.contains(&f.as_str()))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("unsupported field query key: {f}"),
        );
    }
    let items: Vec<Value> = items
        .into_iter()
        .filter(|i| {
            conditions.iter().all(|(f, vs)| {
                i.get(f)
                    .and_then(Value::as_str)
                    .is_some_and(|v| vs.iter().any(|x| x == v))
            })
        })
        .collect();
    Json(json!({"num_items": items.len(), "items": items, "token": ""})).into_response()
}

fn offering_id(offering: &str) -> String {
    match offering {
        "one-inbox-service" => uuid("sm-offering"),
        other => uuid(&format!("sm-offering-{other}")),
    }
}

fn plan_id(offering: &str, plan: &str) -> String {
    match offering {
        "one-inbox-service" => uuid(&format!("sm-plan-{plan}")),
        other => uuid(&format!("sm-plan-{other}-{plan}")),
    }
}

/// The (offering, plan) of a plan id.
fn plan_of(id: &str) -> Option<(&'static str, &'static str)> {
    OFFERINGS
        .iter()
        .find_map(|(o, _, plans)| plans.iter().find(|p| plan_id(o, p) == id).map(|p| (*o, *p)))
}

pub async fn offerings(_: Client<false>, Query(q): Query<HashMap<String, String>>) -> Response {
    let all = OFFERINGS
        .iter()
        .map(|(o, d, _)| {
            let catalog = match *o {
                "one-inbox-service" => uuid("sm-catalog"),
                other => uuid(&format!("sm-catalog-{other}")),
            };
            json!({
                "id": offering_id(o), "name": o, "catalog_name": o, "catalog_id": catalog,
                "broker_id": uuid("sm-broker"), "description": d, "bindable": true, "data_center": "cf-eu10",
            })
        })
        .collect();
    list_of(all, &q, &["catalog_name", "name", "id", "data_center"])
}

pub async fn plans(_: Client<false>, Query(q): Query<HashMap<String, String>>) -> Response {
    let all = OFFERINGS
        .iter()
        .flat_map(|(o, _, plans)| plans.iter().map(move |p| (*o, *p)))
        .map(|(o, p)| {
            json!({"id": plan_id(o, p), "name": p, "catalog_name": p, "catalog_id": uuid(&format!("sm-catalog-{p}")),
                   "service_offering_id": offering_id(o), "free": false, "bindable": true})
        })
        .collect();
    list_of(
        all,
        &q,
        &["catalog_name", "name", "id", "service_offering_id"],
    )
}

fn kind_of(resource: &str) -> Option<&'static str> {
    match resource {
        "service_instances" => Some("service_instances"),
        "service_bindings" => Some("service_bindings"),
        _ => None,
    }
}

pub async fn list(
    State(sb): State<Shared>,
    Path(resource): Path<String>,
    _: Client<false>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(kind) = kind_of(&resource) else {
        return error(StatusCode::NOT_FOUND, "NotFound", "unknown resource");
    };
    let items: Vec<Value> = match sb.sm.lock() {
        Ok(s) => {
            let all = if kind == "service_instances" {
                &s.instances
            } else {
                &s.bindings
            };
            all.iter().map(|r| r.json(kind, &sb)).collect()
        }
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let fields: &[&str] = if kind == "service_instances" {
        &["name", "id", "service_plan_id"]
    } else {
        &["name", "id", "service_instance_id"]
    };
    list_of(items, &q, fields)
}

/// `DELETE /v1/service_bindings/{id}` (the spec's 200): what an
/// administrator does in the cockpit after a rotation, never the wizard.
/// The key's client stops working at once. Instances are not deleted here
/// (F.4 7: deleting the last Task Center instance erases its data).
pub async fn delete(
    State(sb): State<Shared>,
    Path((resource, id)): Path<(String, String)>,
    _: Client<true>,
) -> Response {
    if resource != "service_bindings" {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "the sandbox deletes service bindings only",
        );
    }
    let gone = sb.sm.lock().ok().and_then(|mut s| {
        let at = s.bindings.iter().position(|b| b.id == id)?;
        Some(s.bindings.remove(at))
    });
    let Some(gone) = gone else {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("could not find {id}"),
        );
    };
    if let Some(client) = gone
        .credentials
        .as_ref()
        .and_then(|c| c.pointer("/uaa/clientid"))
        .and_then(Value::as_str)
    {
        let secret = gone
            .credentials
            .as_ref()
            .and_then(|c| c.pointer("/uaa/clientsecret"))
            .and_then(Value::as_str)
            .unwrap_or("");
        sb.revoke_key(client, secret);
    }
    Json(json!({})).into_response()
}

pub async fn read(
    State(sb): State<Shared>,
    Path((resource, id)): Path<(String, String)>,
    _: Client<false>,
) -> Response {
    let Some(kind) = kind_of(&resource) else {
        return error(StatusCode::NOT_FOUND, "NotFound", "unknown resource");
    };
    let found = sb.sm.lock().ok().and_then(|s| {
        let all = if kind == "service_instances" {
            &s.instances
        } else {
            &s.bindings
        };
        all.iter().find(|r| r.id == id).map(|r| r.json(kind, &sb))
    });
    match found {
        Some(v) => Json(v).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("could not find {id}"),
        ),
    }
}

pub async fn operation(
    State(sb): State<Shared>,
    Path((resource, id, op)): Path<(String, String, String)>,
    _: Client<false>,
) -> Response {
    let found = sb.sm.lock().ok().and_then(|s| {
        let (kind, rid) = s.operations.get(&op)?;
        if *kind != resource || *rid != id {
            return None;
        }
        let all = if *kind == "service_instances" {
            &s.instances
        } else {
            &s.bindings
        };
        let r = all.iter().find(|r| r.id == id)?;
        let mut v = json!({
            "id": op, "type": "create", "state": r.state(), "resource_id": r.id,
            "resource_type": format!("/v1/{kind}"),
        });
        if let Some(why) = &r.failed {
            v["errors"] = json!({"error": "InternalServerError", "description": why});
        }
        Some(v)
    });
    match found {
        Some(v) => Json(v).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "could not find the operation",
        ),
    }
}

pub async fn create(
    State(sb): State<Shared>,
    Path(resource): Path<String>,
    _: Client<true>,
    Query(q): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    fault!(sb, "service-manager-write");
    let Some(kind) = kind_of(&resource) else {
        return error(StatusCode::NOT_FOUND, "NotFound", "unknown resource");
    };
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "the body is not a JSON object",
        );
    };
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if name.is_empty() {
        return error(StatusCode::BAD_REQUEST, "BadRequest", "missing field: name");
    }
    let parent_field = if kind == "service_instances" {
        "service_plan_id"
    } else {
        "service_instance_id"
    };
    let parent = v
        .get(parent_field)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let delay = Duration::from_millis(sb.settings.lock().map_or(200, |s| s.sm_delay_ms));
    // Failed operations are switched on like any other fault.
    let failing = sb
        .faults
        .lock()
        .ok()
        .and_then(|f| f.get("service-manager-operation").cloned())
        .is_some();
    let Ok(mut s) = sb.sm.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let now = Instant::now();
    s.created
        .retain(|t| now.duration_since(*t) < Duration::from_secs(60));
    if s.created.len() >= 50 {
        let retry = http_date(crate::fmt::now() + 60);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry)],
            Json(json!({"description": "The allowed request limit of 50 responses has been reached. Please try again later.Check the 'Retry-After' header value to see how long you need to wait."})),
        )
            .into_response();
    }
    let parameters = v.get("parameters").cloned().unwrap_or(json!({}));
    let credentials = if kind == "service_instances" {
        if plan_of(&parent).is_none() {
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("could not find service plan {parent}"),
            );
        }
        // J.4 5 [U]: whether Task Center allows instances outside Cloud Foundry.
        let refuse_other = sb
            .settings
            .lock()
            .is_ok_and(|st| st.sm_tc_other_env_refused);
        if refuse_other && plan_of(&parent).is_some_and(|(o, _)| o == "one-inbox-service") {
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Service broker error: one-inbox-service instances are not supported on platform service-manager (environment Other): create the instance in a Cloud Foundry space",
            );
        }
        if s.instances.iter().any(|i| i.name == name) {
            return error(
                StatusCode::CONFLICT,
                "Conflict",
                &format!("found service instance with same name {name}"),
            );
        }
        None
    } else {
        let Some(i) = s.instances.iter().find(|i| i.id == parent) else {
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("could not find service instance {parent}"),
            );
        };
        if i.state() != "succeeded" {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "UnprocessableEntity",
                "the service instance is not ready",
            );
        }
        if s.bindings
            .iter()
            .any(|b| b.name == name && b.parent == parent)
        {
            return error(
                StatusCode::CONFLICT,
                "Conflict",
                &format!("found service binding with same name {name}"),
            );
        }
        let offering = plan_of(&i.parent).map_or("one-inbox-service", |(o, _)| o);
        let cc = i.parameters.get("grantType").and_then(Value::as_str) == Some("clientCredentials");
        let x509_ok = i
            .parameters
            .pointer("/xs-security/oauth2-configuration/credential-types")
            .and_then(Value::as_array)
            .is_some_and(|t| t.iter().any(|x| x == "x509"));
        s.next += 1;
        let n = s.next;
        let wants_x509 = v
            .pointer("/parameters/xsuaa/credential-type")
            .and_then(Value::as_str)
            == Some("x509");
        if wants_x509 && offering != "one-inbox-service" {
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Service broker error: x509 binding parameters are only supported for this offering's xsuaa credentials",
            );
        }
        let old = sb.settings.lock().is_ok_and(|st| st.sm_old_instances);
        // Its tokens work at once (F.4 5): a client of the demo XSUAA.
        let key = match offering {
            "one-inbox-service" if wants_x509 => {
                if old && !x509_ok {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        "Service broker error: the credential type x509 is not enabled for this instance. Instances created before May 2022 need the parameter xs-security.oauth2-configuration.credential-types with x509 first (update the instance)",
                    );
                }
                let n_ = v
                    .pointer("/parameters/xsuaa/x509/validity")
                    .and_then(Value::as_i64)
                    .unwrap_or(7);
                let days = match v
                    .pointer("/parameters/xsuaa/x509/validity-type")
                    .and_then(Value::as_str)
                    .unwrap_or("DAYS")
                {
                    "YEARS" => n_ * 365,
                    "MONTHS" => n_ * 30,
                    _ => n_,
                };
                if !(1..=365).contains(&days) {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        "Service broker error: x509 credentials are valid for one year at most",
                    );
                }
                let clientid = format!(
                    "sb-{}!b1234|one-inbox-service!b456",
                    uuid(&format!("sm-x509-client-{n}"))
                );
                let cn = format!("{} Task Center binding {n} (x509)", sb.demo.subdomain);
                let Ok(key) = sb.issue_x509_key(&clientid, &cn, n, days) else {
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                };
                key
            }
            "one-inbox-service" => {
                let clientid = format!(
                    "sb-{}!b1234|one-inbox-service!b456",
                    uuid(&format!("sm-client-{n}"))
                );
                let secret = format!(
                    "{}$sandbox-{}",
                    &uuid(&format!("sm-secret-{n}"))[..8],
                    &uuid(&format!("sm-secret-b-{n}"))[..13]
                );
                sb.issue_secret_key(&clientid, &secret)
            }
            other => {
                let Ok(mut g) = sb.btp.lock() else {
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                };
                let d = &sb.demo;
                let kind = match other {
                    "cis" => super::btp::Kind::Local,
                    "xsuaa" => super::btp::Kind::ApiAccess,
                    _ => super::btp::Kind::Destination,
                };
                let (id, secret) = g.add_client(kind, &d.subaccount_id, cc || other != "cis");
                match other {
                    "cis" => d.cis_local_key(&id, &secret, cc),
                    "xsuaa" => d.apiaccess_key(&id, &secret),
                    _ => {
                        let mut k: Value =
                            serde_json::from_str(&d.destination_key()).unwrap_or(json!({}));
                        k["clientid"] = json!(id);
                        k["clientsecret"] = json!(secret);
                        k
                    }
                }
            }
        };
        Some(key)
    };
    s.next += 1;
    let n = s.next;
    let id = uuid(&format!("sm-{kind}-{n}"));
    let op = uuid(&format!("sm-op-{n}"));
    let sync = q.get("async").is_some_and(|a| a == "false");
    let r = Resource {
        id: id.clone(),
        name,
        parent,
        ready_at: if sync { now } else { now + delay },
        failed: failing.then(|| "Sandbox: the broker failed to provision".to_string()),
        op: op.clone(),
        credentials,
        parameters,
    };
    s.created.push(now);
    s.operations.insert(op.clone(), (kind, id.clone()));
    let shown = r.json(kind, &sb);
    if kind == "service_instances" {
        s.instances.push(r);
    } else {
        s.bindings.push(r);
    }
    if sync {
        return (StatusCode::CREATED, Json(shown)).into_response();
    }
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/{kind}/{id}/operations/{op}"))],
        Json(json!({})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::field_query;

    #[test]
    fn field_queries_as_sap_writes_them() {
        let q = field_query("catalog_name eq 'all-tasks' and service_offering_id in ('a', 'b''c')")
            .unwrap();
        assert_eq!(q[0], ("catalog_name".into(), vec!["all-tasks".into()]));
        assert_eq!(
            q[1],
            ("service_offering_id".into(), vec!["a".into(), "b'c".into()])
        );
        assert!(field_query("name eq 'open").is_err());
        assert!(field_query("name like 'x'").is_err());
        assert!(field_query("").unwrap().is_empty());
    }
}
