//! Cloud Foundry's v3 API as far as J.3 needs it: the UAA password grant of
//! client `cf`, spaces, space roles, Task Center's plans, managed service
//! instances and keys created through jobs, with v3 paging and errors.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Global, Timeline, delay};
use crate::sandbox::wire::text_at;
use crate::sandbox::{Demo, Shared, uuid};

/// A list call's query: CC's filters (`names`, `space_guids`, ...).
type Params = Query<HashMap<String, String>>;

pub const OFFERING: &str = "one-inbox-service";
const PLANS: &[&str] = &["all-tasks", "build-default", "cloud-only-tasks"];

pub struct Org {
    pub guid: String,
    /// The Org Manager: the environment's `user` (J.1).
    pub manager: String,
}

pub struct Space {
    pub guid: String,
    pub name: String,
    pub org: String,
}

pub struct Role {
    pub kind: String,
    pub space: String,
    pub username: String,
}

pub struct Instance {
    pub guid: String,
    pub name: String,
    pub space: String,
    pub plan: String,
    pub job: String,
    pub settled: bool,
}

pub struct Binding {
    pub guid: String,
    pub name: String,
    pub instance: String,
    pub credentials: Value,
    pub job: String,
}

pub struct Job {
    pub guid: String,
    pub line: Timeline,
    pub failed: Option<String>,
    pub operation: &'static str,
}

#[derive(Default)]
pub struct Cf {
    pub orgs: Vec<Org>,
    pub spaces: Vec<Space>,
    pub roles: Vec<Role>,
    pub instances: Vec<Instance>,
    pub bindings: Vec<Binding>,
    pub jobs: Vec<Job>,
}

fn plan_guid(plan: &str) -> String {
    uuid(&format!("cf-plan/{OFFERING}/{plan}"))
}

impl Cf {
    pub fn add_org(&mut self, guid: &str, manager: &str) {
        self.orgs.push(Org {
            guid: guid.into(),
            manager: manager.into(),
        });
    }

    /// The booster's org, space `dev`, `default_taskcenter` and its key (M.1).
    pub fn seed(&mut self, d: &Demo) {
        let org = uuid("cf-org/demo");
        self.add_org(&org, "ada.admin@acme.example");
        let space = uuid("cf-space/demo");
        self.spaces.push(Space {
            guid: space.clone(),
            name: "dev".into(),
            org,
        });
        self.roles.push(Role {
            kind: "space_developer".into(),
            space: space.clone(),
            username: "ada.admin@acme.example".into(),
        });
        let instance = uuid("cf-instance/demo");
        self.instances.push(Instance {
            guid: instance.clone(),
            name: "default_taskcenter".into(),
            space,
            plan: plan_guid("all-tasks"),
            job: String::new(),
            settled: true,
        });
        let credentials = serde_json::from_str(&d.task_center_key()).unwrap_or(Value::Null);
        self.bindings.push(Binding {
            guid: uuid("cf-binding/demo"),
            name: "default_taskcenter-key".into(),
            instance,
            credentials,
            job: String::new(),
        });
        // The push channel's dedicated instance and key the demo page lists.
        let push = uuid("cf-instance/demo-push");
        self.instances.push(Instance {
            guid: push.clone(),
            name: "tc-push".into(),
            space: uuid("cf-space/demo"),
            plan: plan_guid("all-tasks"),
            job: String::new(),
            settled: true,
        });
        self.bindings.push(Binding {
            guid: uuid("cf-binding/demo-push"),
            name: "tc-push-key".into(),
            instance: push,
            credentials: serde_json::from_str(&d.task_center_push_key()).unwrap_or(Value::Null),
            job: String::new(),
        });
    }

    fn job(&self, guid: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.guid == guid)
    }

    fn done(&self, job: &str) -> bool {
        job.is_empty()
            || self
                .job(job)
                .is_some_and(|j| j.line.finished() && j.failed.is_none())
    }
}

impl Global {
    /// The subaccount whose Cloud Foundry org holds `space`.
    fn subaccount_of_space(&self, space: &str) -> Option<String> {
        let org = &self.cf.spaces.iter().find(|s| s.guid == space)?.org;
        self.environments
            .iter()
            .find(|e| e.org_guid == *org)
            .map(|e| e.subaccount.clone())
    }

    /// Instances whose creation finished bring Task Center's role templates.
    pub fn settle_cf(&mut self) {
        let ready: Vec<String> = self
            .cf
            .instances
            .iter()
            .filter(|i| !i.settled && self.cf.done(&i.job))
            .map(|i| i.space.clone())
            .collect();
        for i in self.cf.instances.iter_mut() {
            if !i.settled && ready.contains(&i.space) {
                i.settled = true;
            }
        }
        for space in ready {
            if let Some(sub) = self.subaccount_of_space(&space) {
                self.authz.task_center(&sub);
            }
        }
    }
}

/// A Cloud Foundry V3 error: its HTTP status, code and title, as the Cloud
/// Controller names them (cloud_controller_ng's errors.yml; V3 answers
/// taken names and operations in progress with `UnprocessableEntity`, not
/// V2's `ServiceInstanceNameTaken` / `AsyncServiceInstanceOperationInProgress`,
/// as its request specs show); the detail is each answer's own.
#[derive(Clone, Copy)]
struct CfError(StatusCode, u32, &'static str);

const INVALID_TOKEN: CfError = CfError(StatusCode::UNAUTHORIZED, 1000, "CF-InvalidAuthToken");
const NOT_AUTHORIZED: CfError = CfError(StatusCode::FORBIDDEN, 10003, "CF-NotAuthorized");
const NOT_FOUND: CfError = CfError(StatusCode::NOT_FOUND, 10010, "CF-ResourceNotFound");
const UNPROCESSABLE: CfError = CfError(
    StatusCode::UNPROCESSABLE_ENTITY,
    10008,
    "CF-UnprocessableEntity",
);

fn cf_error(CfError(status, code, title): CfError, detail: &str) -> Response {
    (
        status,
        Json(json!({"errors": [{"code": code, "title": title, "detail": detail}]})),
    )
        .into_response()
}

fn page(resources: Vec<Value>, path: &str) -> Value {
    let href =
        json!({"href": format!("https://api.cf.eu10.hana.ondemand.com{path}?page=1&per_page=50")});
    json!({"pagination": {"total_results": resources.len(), "total_pages": 1, "first": href, "last": href,
                          "next": null, "previous": null}, "resources": resources})
}

/// `GET /` of the CF API (links, O cfc `root.go`).
pub fn root(host: &str) -> Response {
    let landscape = host
        .strip_prefix("api.cf.")
        .unwrap_or("eu10.hana.ondemand.com");
    let link = |h: &str| json!({"href": format!("https://{h}.cf.{landscape}")});
    Json(json!({"links": {"self": link("api"), "cloud_controller_v3": {"href": format!("https://api.cf.{landscape}/v3")},
                          "login": link("login"), "uaa": link("uaa")}}))
    .into_response()
}

/// The UAA's password grant for client `cf` with an empty secret (J.3).
pub fn token(sb: &Shared, form: &[(String, String)]) -> Response {
    let v = |k: &str| crate::sandbox::wire::form_value(form, k);
    if v("grant_type") != Some("password") {
        return crate::sandbox::wire::oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Client cf may only use the password grant",
        );
    }
    let Some(p) = v("username").and_then(|u| sb.person(u)) else {
        return crate::sandbox::wire::oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Bad credentials",
        );
    };
    if v("password") != Some(p.password.as_str()) {
        return crate::sandbox::wire::oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Bad credentials",
        );
    }
    let now = crate::fmt::now();
    let jti = crate::store::secrets::random_hex(16).unwrap_or_default();
    let claims = json!({"jti": jti, "iat": now, "exp": now + 1199, "cid": "cf", "client_id": "cf",
        "user_name": p.email, "email": p.email, "origin": "sap.ids", "zid": "uaa", "grant_type": "password",
        "scope": ["cloud_controller.read", "cloud_controller.write", "openid"]});
    let token = sb.sign_and_keep(&claims, "https://uaa.cf.eu10.hana.ondemand.com");
    Json(
        json!({"access_token": token, "token_type": "bearer", "expires_in": 1199,
                "scope": "cloud_controller.read cloud_controller.write openid", "jti": jti}),
    )
    .into_response()
}

/// The platform user a CF token belongs to.
fn user(sb: &Shared, headers: &HeaderMap) -> Result<String, Box<Response>> {
    let claims = crate::sandbox::wire::bearer(headers).and_then(|t| sb.claims(t));
    match claims {
        Some(c) if c["cid"] == json!("cf") => Ok(c["user_name"].as_str().unwrap_or("").to_string()),
        _ => Err(Box::new(cf_error(INVALID_TOKEN, "Invalid Auth Token"))),
    }
}

/// A call's platform user, after the API's faults: an extractor, so that no
/// handler can skip the token check.
pub struct CfUser(String);

impl FromRequestParts<Shared> for CfUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, sb: &Shared) -> Result<Self, Response> {
        if let Some(r) = sb.fault("cf").await {
            return Err(r);
        }
        user(sb, &parts.headers).map(CfUser).map_err(|r| *r)
    }
}

/// A write's start: its faults, the platform user, the body as JSON (what
/// is not JSON reads as null, and the handler names the missing field).
pub struct CfWrite(String, Value);

impl FromRequest<Shared> for CfWrite {
    type Rejection = Response;
    async fn from_request(req: Request, sb: &Shared) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let CfUser(who) = CfUser::from_request_parts(&mut parts, sb).await?;
        if let Some(r) = sb.fault("cf-write").await {
            return Err(r);
        }
        let bytes = Bytes::from_request(Request::from_parts(parts, body), sb)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(CfWrite(
            who,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }
}

fn not_authorized() -> Response {
    cf_error(
        NOT_AUTHORIZED,
        "You are not authorized to perform the requested action",
    )
}

fn list_param(q: &HashMap<String, String>, k: &str) -> Option<Vec<String>> {
    q.get(k).map(|v| v.split(',').map(str::to_string).collect())
}

fn space_json(s: &Space) -> Value {
    json!({"guid": s.guid, "name": s.name, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
           "relationships": {"organization": {"data": {"guid": s.org}}, "quota": {"data": null}},
           "metadata": {"labels": {}, "annotations": {}},
           "links": {"self": {"href": format!("https://api.cf.eu10.hana.ondemand.com/v3/spaces/{}", s.guid)}}})
}

pub async fn spaces(State(sb): State<Shared>, CfUser(who): CfUser, Query(q): Params) -> Response {
    let Ok(g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let orgs = list_param(&q, "organization_guids");
    let names = list_param(&q, "names");
    let visible = |s: &Space| {
        g.cf.orgs
            .iter()
            .any(|o| o.guid == s.org && o.manager == who)
            || g.cf
                .roles
                .iter()
                .any(|r| r.space == s.guid && r.username == who)
    };
    let all =
        g.cf.spaces
            .iter()
            .filter(|s| orgs.as_ref().is_none_or(|o| o.contains(&s.org)))
            .filter(|s| names.as_ref().is_none_or(|n| n.contains(&s.name)))
            .filter(|s| visible(s))
            .map(space_json)
            .collect();
    Json(page(all, "/v3/spaces")).into_response()
}

pub async fn create_space(State(sb): State<Shared>, CfWrite(who, v): CfWrite) -> Response {
    let (name, org) = (
        text_at(&v, "/name"),
        text_at(&v, "/relationships/organization/data/guid"),
    );
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if !g.cf.orgs.iter().any(|o| o.guid == org && o.manager == who) {
        return not_authorized();
    }
    if name.is_empty() {
        return cf_error(UNPROCESSABLE, "Name can't be blank");
    }
    if g.cf.spaces.iter().any(|s| s.org == org && s.name == name) {
        return cf_error(
            UNPROCESSABLE,
            &format!("Name must be unique per organization: {name}"),
        );
    }
    let s = Space {
        guid: g.next("cf-space"),
        name,
        org,
    };
    let shown = space_json(&s);
    g.cf.spaces.push(s);
    (StatusCode::CREATED, Json(shown)).into_response()
}

pub async fn create_role(State(sb): State<Shared>, CfWrite(who, v): CfWrite) -> Response {
    let s = |p: &str| text_at(&v, p);
    let (kind, space, username) = (
        s("/type"),
        s("/relationships/space/data/guid"),
        s("/relationships/user/data/username"),
    );
    if ![
        "space_developer",
        "space_manager",
        "space_auditor",
        "space_supporter",
    ]
    .contains(&kind.as_str())
    {
        return cf_error(UNPROCESSABLE, "Type is not a space role");
    }
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Some(sp) = g.cf.spaces.iter().find(|x| x.guid == space) else {
        return cf_error(UNPROCESSABLE, "Invalid space");
    };
    if !g
        .cf
        .orgs
        .iter()
        .any(|o| o.guid == sp.org && o.manager == who)
    {
        return not_authorized();
    }
    if g.cf
        .roles
        .iter()
        .any(|r| r.kind == kind && r.space == space && r.username == username)
    {
        return cf_error(
            UNPROCESSABLE,
            &format!("User '{username}' already has '{kind}' role in space"),
        );
    }
    let guid = g.next("cf-role");
    g.cf.roles.push(Role {
        kind: kind.clone(),
        space: space.clone(),
        username: username.clone(),
    });
    (
        StatusCode::CREATED,
        Json(json!({"guid": guid, "type": kind, "relationships": {"space": {"data": {"guid": space}},
                    "user": {"data": {"guid": uuid(&format!("cf-user/{username}"))}}, "organization": {"data": null}}})),
    )
        .into_response()
}

/// The roles of a space, for a client that checks before it adds.
pub async fn roles(State(sb): State<Shared>, _: CfUser, Query(q): Params) -> Response {
    let Ok(g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let spaces = list_param(&q, "space_guids");
    let types = list_param(&q, "types");
    let mine: Vec<&Role> =
        g.cf.roles
            .iter()
            .filter(|r| spaces.as_ref().is_none_or(|s| s.contains(&r.space)))
            .filter(|r| types.as_ref().is_none_or(|t| t.contains(&r.kind)))
            .collect();
    let user_guid = |u: &str| uuid(&format!("cf-user/{u}"));
    let all = mine
        .iter()
        .map(|r| {
            json!({"type": r.kind, "relationships": {"space": {"data": {"guid": r.space}},
                        "user": {"data": {"guid": user_guid(&r.username)}}}})
        })
        .collect();
    let mut body = page(all, "/v3/roles");
    if q.get("include").is_some_and(|i| i == "user") {
        body["included"] = json!({"users": mine.iter().map(|r| json!({"guid": user_guid(&r.username),
            "username": r.username, "origin": "sap.ids"})).collect::<Vec<_>>()});
    }
    Json(body).into_response()
}

/// Task Center's plans, in spaces of a subaccount entitled to them (I.4 5).
pub async fn service_plans(State(sb): State<Shared>, _: CfUser, Query(q): Params) -> Response {
    let Ok(g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let offering = list_param(&q, "service_offering_names");
    let names = list_param(&q, "names");
    let space = list_param(&q, "space_guids").and_then(|s| s.first().cloned());
    let sub = space.as_deref().and_then(|s| g.subaccount_of_space(s));
    let entitled = |plan: &str| {
        g.assignments.iter().any(|a| {
            sub.as_deref().is_none_or(|s| a.subaccount == s)
                && a.service == OFFERING
                && a.plan == plan
                && a.ready()
        })
    };
    let all = PLANS
        .iter()
        .filter(|_| offering.as_ref().is_none_or(|o| o.iter().any(|x| x == OFFERING)))
        .filter(|p| names.as_ref().is_none_or(|n| n.iter().any(|x| x == *p)))
        .filter(|p| entitled(p))
        .map(|p| json!({"guid": plan_guid(p), "name": p, "free": false, "available": true,
                        "relationships": {"service_offering": {"data": {"guid": uuid("cf-offering/one-inbox-service")}}}}))
        .collect();
    Json(page(all, "/v3/service_plans")).into_response()
}

fn instance_json(i: &Instance, cf: &Cf) -> Value {
    let (state, kind) = match cf.job(&i.job) {
        Some(j) if !j.line.finished() => ("in progress", "create"),
        Some(j) if j.failed.is_some() => ("failed", "create"),
        _ => ("succeeded", "create"),
    };
    json!({"guid": i.guid, "name": i.name, "type": "managed",
           "last_operation": {"type": kind, "state": state, "description": ""},
           "relationships": {"space": {"data": {"guid": i.space}}, "service_plan": {"data": {"guid": i.plan}}}})
}

pub async fn instances(State(sb): State<Shared>, _: CfUser, Query(q): Params) -> Response {
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    g.settle_cf();
    let spaces = list_param(&q, "space_guids");
    let orgs = list_param(&q, "organization_guids");
    let names = list_param(&q, "names");
    let plans = list_param(&q, "service_plan_guids");
    let in_org = |i: &Instance| {
        orgs.as_ref().is_none_or(|o| {
            g.cf.spaces
                .iter()
                .any(|s| s.guid == i.space && o.contains(&s.org))
        })
    };
    let all =
        g.cf.instances
            .iter()
            .filter(|i| spaces.as_ref().is_none_or(|s| s.contains(&i.space)))
            .filter(|i| names.as_ref().is_none_or(|n| n.contains(&i.name)))
            .filter(|i| plans.as_ref().is_none_or(|p| p.contains(&i.plan)))
            .filter(|i| in_org(i))
            .map(|i| instance_json(i, &g.cf))
            .collect();
    Json(page(all, "/v3/service_instances")).into_response()
}

fn accepted(job: &str) -> Response {
    (
        StatusCode::ACCEPTED,
        [(
            header::LOCATION,
            format!("https://api.cf.eu10.hana.ondemand.com/v3/jobs/{job}"),
        )],
    )
        .into_response()
}

fn may_develop(g: &Global, who: &str, space: &str) -> bool {
    let org = g.cf.spaces.iter().find(|s| s.guid == space).map(|s| &s.org);
    g.cf.orgs
        .iter()
        .any(|o| Some(&o.guid) == org && o.manager == who)
        || g.cf
            .roles
            .iter()
            .any(|r| r.space == space && r.username == who && r.kind == "space_developer")
}

pub async fn create_instance(State(sb): State<Shared>, CfWrite(who, v): CfWrite) -> Response {
    let s = |p: &str| text_at(&v, p);
    let (name, space, plan) = (
        s("/name"),
        s("/relationships/space/data/guid"),
        s("/relationships/service_plan/data/guid"),
    );
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if !may_develop(&g, &who, &space) {
        return not_authorized();
    }
    if !PLANS.iter().any(|p| plan_guid(p) == plan) {
        return cf_error(UNPROCESSABLE, "Invalid service plan");
    }
    if g.cf
        .instances
        .iter()
        .any(|i| i.space == space && i.name == name)
    {
        return cf_error(
            UNPROCESSABLE,
            &format!("The service instance name is taken: {name}"),
        );
    }
    let job = g.next("cf-job");
    let takes = delay(g.fast, 5);
    let failed = g
        .failing("cf-instance")
        .then(|| "Sandbox: the service broker could not provision the instance".to_string());
    g.cf.jobs.push(Job {
        guid: job.clone(),
        line: Timeline::new(takes),
        failed,
        operation: "service_instance.create",
    });
    let guid = g.next("cf-instance");
    g.cf.instances.push(Instance {
        guid,
        name,
        space,
        plan,
        job: job.clone(),
        settled: false,
    });
    accepted(&job)
}

pub async fn job(State(sb): State<Shared>, _: CfUser, Path(guid): Path<String>) -> Response {
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    g.settle_cf();
    let Some(j) = g.cf.job(&guid) else {
        return cf_error(NOT_FOUND, "Job not found");
    };
    let (state, errors) = match (j.line.finished(), &j.failed) {
        (false, _) => ("PROCESSING", json!([])),
        (true, Some(why)) => (
            "FAILED",
            json!([{"code": 10001, "title": "CF-ServiceBrokerRequestRejected", "detail": why}]),
        ),
        (true, None) => ("COMPLETE", json!([])),
    };
    Json(json!({"guid": j.guid, "operation": j.operation, "state": state, "errors": errors, "warnings": []}))
        .into_response()
}

fn binding_json(b: &Binding, cf: &Cf) -> Value {
    let state = match cf.job(&b.job) {
        Some(j) if !j.line.finished() => "in progress",
        Some(j) if j.failed.is_some() => "failed",
        _ => "succeeded",
    };
    json!({"guid": b.guid, "name": b.name, "type": "key",
           "last_operation": {"type": "create", "state": state},
           "relationships": {"service_instance": {"data": {"guid": b.instance}}}})
}

pub async fn bindings(State(sb): State<Shared>, _: CfUser, Query(q): Params) -> Response {
    let Ok(g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let instances = list_param(&q, "service_instance_guids");
    let names = list_param(&q, "names");
    let all =
        g.cf.bindings
            .iter()
            .filter(|b| instances.as_ref().is_none_or(|i| i.contains(&b.instance)))
            .filter(|b| names.as_ref().is_none_or(|n| n.contains(&b.name)))
            .map(|b| binding_json(b, &g.cf))
            .collect();
    Json(page(all, "/v3/service_credential_bindings")).into_response()
}

pub async fn create_binding(State(sb): State<Shared>, CfWrite(who, v): CfWrite) -> Response {
    let s = |p: &str| text_at(&v, p);
    let (name, instance) = (s("/name"), s("/relationships/service_instance/data/guid"));
    if s("/type") != "key" {
        return cf_error(
            UNPROCESSABLE,
            "Only bindings of type key are supported here",
        );
    }
    let Ok(mut g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Some(space) =
        g.cf.instances
            .iter()
            .find(|i| i.guid == instance)
            .map(|i| (i.space.clone(), i.job.clone()))
    else {
        return cf_error(UNPROCESSABLE, "The service instance could not be found");
    };
    if !may_develop(&g, &who, &space.0) {
        return not_authorized();
    }
    if !g.cf.done(&space.1) {
        return cf_error(
            UNPROCESSABLE,
            "There is an operation in progress for the service instance.",
        );
    }
    if g.cf
        .bindings
        .iter()
        .any(|b| b.instance == instance && b.name == name)
    {
        return cf_error(
            UNPROCESSABLE,
            &format!(
                "The binding name is invalid. Key binding names must be unique. The service instance already has a key binding with name '{name}'."
            ),
        );
    }
    let n = g.next("tc-key");
    let clientid = format!("sb-{}!b1234|one-inbox-service!b456", &n[..13]);
    // An x509 key (O.1): a certificate of its own that certurl accepts.
    let x509 = text_at(&v, "/parameters/xsuaa/credential-type") == "x509";
    let credentials = if x509 {
        let serial = g.cf.bindings.len() as u64 + 500;
        let cn = format!("{} Task Center key {name} (x509)", sb.demo.subdomain);
        let Ok(key) = sb.issue_x509_key(&clientid, &cn, serial, 365) else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        key
    } else {
        let secret = format!("{}$sandbox-{}", &n[14..22], &n[24..]);
        sb.issue_secret_key(&clientid, &secret)
    };
    let job = g.next("cf-job");
    let takes = delay(g.fast, 2);
    g.cf.jobs.push(Job {
        guid: job.clone(),
        line: Timeline::new(takes),
        failed: None,
        operation: "service_bindings.create",
    });
    let guid = g.next("cf-binding");
    g.cf.bindings.push(Binding {
        guid,
        name,
        instance,
        credentials,
        job: job.clone(),
    });
    accepted(&job)
}

pub async fn binding_details(
    State(sb): State<Shared>,
    _: CfUser,
    Path(guid): Path<String>,
) -> Response {
    let Ok(g) = sb.btp.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match g
        .cf
        .bindings
        .iter()
        .find(|b| b.guid == guid && g.cf.done(&b.job))
    {
        Some(b) => Json(json!({"credentials": b.credentials})).into_response(),
        None => cf_error(NOT_FOUND, "Service credential binding not found"),
    }
}
