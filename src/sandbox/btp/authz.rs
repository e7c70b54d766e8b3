//! XSUAA's APIs of a subaccount (L.2-L.5): trust with an IAS tenant (origin
//! `sap.custom`), role templates that appear with their applications, role
//! collections and their assignment to users, as SAP's contract test has it.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{btp_caller, now_ms};
use crate::sandbox::{Demo, Shared, uuid};

/// The Task Center application's role templates (L.4) and its app id.
pub const TASK_CENTER_APP: &str = "one-inbox-service!b456";
const TASK_CENTER_ROLES: &[&str] = &[
    "TaskCenterAdmin",
    "TaskCenterBusinessAdministrator",
    "TaskCenterTenantOperator",
];
/// Custom role collections a subaccount may hold (L.3: 422 above it).
const COLLECTION_LIMIT: usize = 100;
/// The IAS tenants of the customer a subaccount may trust (L.5 2).
pub const TENANTS: &[&str] = &[
    "acme-demo.accounts.ondemand.com",
    "acme-test.accounts.ondemand.com",
];

pub struct Idp {
    pub subaccount: String,
    pub id: String,
    pub origin: String,
    pub host: String,
    pub app_id: String,
    pub created_ms: i64,
}

#[derive(Clone)]
pub struct Collection {
    pub subaccount: String,
    pub name: String,
    pub description: String,
    /// (app id, role template name, role name).
    pub roles: Vec<(String, String, String)>,
    /// (origin, user name).
    pub users: Vec<(String, String)>,
    pub read_only: bool,
}

#[derive(Default)]
pub struct Authz {
    pub idps: Vec<Idp>,
    pub collections: Vec<Collection>,
    /// (subaccount, app id): applications whose role templates exist.
    pub apps: Vec<(String, String)>,
}

fn role(app: &str, template: &str) -> (String, String, String) {
    (app.into(), template.into(), template.into())
}

impl Authz {
    fn add(
        &mut self,
        sub: &str,
        name: &str,
        roles: Vec<(String, String, String)>,
        read_only: bool,
    ) {
        if self.collection(sub, name).is_none() {
            self.collections.push(Collection {
                subaccount: sub.into(),
                name: name.into(),
                description: name.into(),
                roles,
                users: Vec::new(),
                read_only,
            });
        }
    }

    pub fn collection(&self, sub: &str, name: &str) -> Option<&Collection> {
        self.collections
            .iter()
            .find(|c| c.subaccount == sub && c.name == name)
    }

    fn app(&mut self, sub: &str, app: &str) {
        if !self.apps.iter().any(|(s, a)| s == sub && a == app) {
            self.apps.push((sub.into(), app.into()));
        }
    }

    /// A new subaccount's defaults (H.4 4, L.4).
    pub fn defaults(&mut self, sub: &str) {
        for app in ["xsuaa!t1", "destination-xsappname!b62", "cis-local!b4"] {
            self.app(sub, app);
        }
        self.add(
            sub,
            "Subaccount Administrator",
            vec![
                role("destination-xsappname!b62", "Destination_Administrator"),
                role("cis-local!b4", "Subaccount_Admin"),
                role("xsuaa!t1", "xsuaa_admin"),
            ],
            true,
        );
        self.add(
            sub,
            "Destination Administrator",
            vec![role(
                "destination-xsappname!b62",
                "Destination_Administrator",
            )],
            true,
        );
    }

    /// Work Zone's collections and templates after its subscription (K.4).
    pub fn work_zone(&mut self, sub: &str) {
        self.app(sub, "portal-cf-service!b19742");
        self.app(sub, "sap-theming!b7");
        self.add(
            sub,
            "Launchpad_Admin",
            vec![
                role("portal-cf-service!b19742", "Super_Admin"),
                role("portal-cf-service!b19742", "Theme_Admin"),
                role("sap-theming!b7", "Editor"),
                role("sap-theming!b7", "Viewer"),
            ],
            true,
        );
        self.add(sub, "Launchpad_External_User", vec![], true);
    }

    /// Task Center's role templates once an instance exists (L.5 4).
    pub fn task_center(&mut self, sub: &str) {
        self.app(sub, TASK_CENTER_APP);
    }

    pub fn seed_trust(&mut self, d: &Demo) {
        self.idps.push(Idp {
            subaccount: d.subaccount_id.clone(),
            id: uuid("idp/demo"),
            origin: "sap.custom".into(),
            host: d.ias_host.clone(),
            app_id: uuid("ias-app/demo"),
            created_ms: 1_767_225_600_000,
        });
    }

    /// What the booster leaves (L.4): Task Center's collections, assigned
    /// with Work Zone's and the Destination service's to the administrator.
    pub fn seed_booster_collections(&mut self, sub: &str) {
        self.task_center(sub);
        self.add(
            sub,
            "Task_Center_Administrator",
            vec![role(TASK_CENTER_APP, "TaskCenterAdmin")],
            false,
        );
        self.add(
            sub,
            "Task_Center_Tenant_Operator",
            vec![role(TASK_CENTER_APP, "TaskCenterTenantOperator")],
            false,
        );
        let ada = uuid("user/ada.admin@acme.example");
        for name in [
            "Task_Center_Administrator",
            "Task_Center_Tenant_Operator",
            "Launchpad_Admin",
            "Destination Administrator",
        ] {
            if let Some(c) = self
                .collections
                .iter_mut()
                .find(|c| c.subaccount == sub && c.name == name)
            {
                c.users.push(("sap.custom".into(), ada.clone()));
            }
        }
    }

    pub fn trusts_ias(&self, sub: &str) -> bool {
        self.idps
            .iter()
            .any(|i| i.subaccount == sub && i.origin == "sap.custom")
    }

    /// The collections assigned to a user and the Task Center roles they
    /// carry, for the user's tokens (L.5 4).
    pub fn roles_of(&self, sub: &str, origin: &str, name: &str) -> (Vec<String>, Vec<String>) {
        let mine: Vec<&Collection> = self
            .collections
            .iter()
            .filter(|c| {
                c.subaccount == sub && c.users.iter().any(|(o, n)| o == origin && n == name)
            })
            .collect();
        let roles = mine
            .iter()
            .flat_map(|c| c.roles.iter())
            .filter(|(app, _, _)| app == TASK_CENTER_APP)
            .map(|(_, t, _)| t.clone())
            .collect();
        (mine.iter().map(|c| c.name.clone()).collect(), roles)
    }
}

/// Every XSUAA API handler's start: its faults, the caller's zone with
/// `scope`, and the global account, locked and settled (returns on refusal).
macro_rules! xs_enter {
    ($sb:expr, $h:expr, $scope:expr, $write:expr) => {{
        if let Some(r) = $sb.fault("xsuaa-api").await {
            return r;
        }
        let (_, zone) = btp_caller!($sb, $h, $scope);
        if $write && let Some(r) = $sb.fault("xsuaa-api-write").await {
            return r;
        }
        let Ok(mut g) = $sb.btp.lock() else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        g.settle();
        (zone, g)
    }};
}

fn xs_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": status.canonical_reason().unwrap_or("error"), "error_description": message}))).into_response()
}

fn idp_json(i: &Idp, sub_name: &str) -> Value {
    let issuer = format!("https://{}", i.host);
    json!({
        "id": i.id, "originKey": i.origin, "name": "Custom IAS tenant", "type": "oidc1.0", "active": true,
        "version": 0, "identityZoneId": i.subaccount, "created": i.created_ms, "last_modified": i.created_ms,
        "config": {
            "issuer": issuer, "discoveryUrl": format!("{issuer}/.well-known/openid-configuration"),
            "relyingPartyId": uuid(&format!("rp/{}", i.id)), "scopes": ["openid", "email", "profile"],
            "responseType": "code",
            "attributeMappings": {"user.attribute.groups": "groups", "user.attribute.remoteEntityId": "iss", "user_uuid": "user_uuid"},
            "addShadowUserOnLogin": true, "storeCustomAttributes": true, "linkText": i.host, "showLinkText": true,
            "pkce": true, "passwordGrantEnabled": true, "jwtClientAuthentication": true, "applicationIdp": true,
            "platformIdp": false, "providerDescription": format!("IAS tenant {} (OpenID Connect) for {sub_name}", i.host),
            "iasTenant": {"host": i.host, "adminUrl": format!("{issuer}/admin/#/applications/{}", i.app_id)},
            "idpType": "SAP IAS",
        }
    })
}

pub async fn identity_providers(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    let (zone, g) = xs_enter!(sb, headers, "xs_idp.read", false);
    let name = g
        .subaccount(&zone)
        .map_or(String::new(), |s| s.display_name.clone());
    let mut all = vec![
        json!({"id": uuid(&format!("idp/default/{zone}")), "originKey": "sap.default",
        "name": "SAP ID Service", "type": "sap.default", "active": true, "identityZoneId": zone}),
    ];
    all.extend(
        g.authz
            .idps
            .iter()
            .filter(|i| i.subaccount == zone)
            .map(|i| idp_json(i, &name)),
    );
    Json(Value::Array(all)).into_response()
}

/// `GET …/identity-providers/ias`: the customer's tenants without a trust.
pub async fn ias_tenants(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    let (zone, g) = xs_enter!(sb, headers, "xs_idp.read", false);
    let all: Vec<Value> = TENANTS
        .iter()
        .filter(|h| {
            !g.authz
                .idps
                .iter()
                .any(|i| i.subaccount == zone && i.host == **h)
        })
        .map(|h| json!({"host": h, "customerId": "1234567", "type": "PRODUCTIVE"}))
        .collect();
    Json(Value::Array(all)).into_response()
}

/// `POST …/identity-providers` (L.2): 201, origin `sap.custom`; the IAS
/// application it makes sends the e-mail as subject name identifier.
pub async fn create_identity_provider(
    State(sb): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (zone, mut g) = xs_enter!(sb, headers, "xs_idp.write", true);
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let host = v
        .pointer("/config/iasTenant/host")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    if v.get("type").and_then(Value::as_str) != Some("oidc1.0") {
        return xs_error(StatusCode::BAD_REQUEST, "type must be oidc1.0");
    }
    if g.fail.as_deref() == Some("new-tenant") {
        // L.2: a tenant created in the last two hours is not known yet.
        return xs_error(
            StatusCode::NOT_FOUND,
            &format!(
                "The Identity Authentication tenant {host} could not be found: a new tenant can take up to 2 hours to be known; wait and retry after 2 hours"
            ),
        );
    }
    if !TENANTS.contains(&host.as_str()) {
        return xs_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "The Identity Authentication tenant {host} is not offered to this subaccount (another customer ID)"
            ),
        );
    }
    if g.authz.trusts_ias(&zone) {
        return xs_error(
            StatusCode::BAD_REQUEST,
            "A trust configuration with an Identity Authentication tenant already exists (origin sap.custom)",
        );
    }
    let id = g.next("idp");
    let app_id = g.next("ias-app");
    let idp = Idp {
        subaccount: zone.clone(),
        id,
        origin: "sap.custom".into(),
        host,
        app_id,
        created_ms: now_ms(),
    };
    let name = g
        .subaccount(&zone)
        .map_or(String::new(), |s| s.display_name.clone());
    let shown = idp_json(&idp, &name);
    g.authz.idps.push(idp);
    drop(g);
    if zone == sb.demo.subaccount_id
        && let Ok(mut s) = sb.settings.lock()
    {
        s.subject = "email".into();
    }
    (StatusCode::CREATED, Json(shown)).into_response()
}

pub async fn apps(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    let (zone, g) = xs_enter!(sb, headers, "xs_authorization.read", false);
    let all: Vec<Value> = g
        .authz
        .apps
        .iter()
        .filter(|(s, _)| *s == zone)
        .map(|(_, a)| {
            let templates: Vec<Value> = if a == TASK_CENTER_APP {
                TASK_CENTER_ROLES
                    .iter()
                    .map(|t| json!({"name": t, "appId": a, "description": t}))
                    .collect()
            } else {
                Vec::new()
            };
            json!({"appid": a, "name": a.split('!').next().unwrap_or(a), "roleTemplates": templates, "serviceinstanceid": uuid(&format!("app/{a}"))})
        })
        .collect();
    Json(Value::Array(all)).into_response()
}

fn collection_json(c: &Collection, q: &HashMap<String, String>) -> Value {
    let mut v = json!({
        "name": c.name, "description": c.description, "isReadOnly": c.read_only,
        "roleReferences": c.roles.iter().map(|(a, t, n)| json!({"roleTemplateAppId": a, "roleTemplateName": t, "name": n, "description": n})).collect::<Vec<_>>(),
    });
    if q.get("withUsers").is_some_and(|v| v == "true") {
        v["userReferences"] = c
            .users
            .iter()
            .map(|(o, n)| json!({"origin": o, "username": n}))
            .collect();
    }
    v
}

pub async fn collection(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (zone, g) = xs_enter!(sb, headers, "xs_authorization.read", false);
    match g.authz.collection(&zone, &name) {
        Some(c) => Json(collection_json(c, &q)).into_response(),
        None => xs_error(
            StatusCode::NOT_FOUND,
            &format!("No entity found with values = [[{zone}, {name}, {zone}]]"),
        ),
    }
}

/// `POST …/rolecollections`: 200 as SAP's contract test has it (L.3).
pub async fn create_collection(
    State(sb): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (zone, mut g) = xs_enter!(sb, headers, "xs_authorization.write", true);
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if name.is_empty() {
        return xs_error(StatusCode::BAD_REQUEST, "name must be set");
    }
    let custom = g
        .authz
        .collections
        .iter()
        .filter(|c| c.subaccount == zone && !c.read_only)
        .count();
    if custom >= COLLECTION_LIMIT {
        return xs_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The maximal number of custom role collections per subaccount was exceeded",
        );
    }
    if g.authz.collection(&zone, &name).is_some() {
        return xs_error(
            StatusCode::CONFLICT,
            &format!("Role collection {name} already exists"),
        );
    }
    let mut roles = Vec::new();
    for r in v
        .get("roleReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let (app, template) = (s("roleTemplateAppId"), s("roleTemplateName"));
        if !g
            .authz
            .apps
            .iter()
            .any(|(sub, a)| *sub == zone && *a == app)
        {
            return xs_error(
                StatusCode::NOT_FOUND,
                &format!("Role template {template} of application {app} not found"),
            );
        }
        let n = s("name");
        roles.push((
            app,
            template.clone(),
            if n.is_empty() { template } else { n },
        ));
    }
    let c = Collection {
        subaccount: zone,
        description: v
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or(&name)
            .to_string(),
        name,
        roles,
        users: Vec::new(),
        read_only: false,
    };
    let shown = collection_json(&c, &HashMap::new());
    g.authz.collections.push(c);
    Json(shown).into_response()
}

fn xs_user(origin: &str, name: &str, zone: &str, collections: Vec<String>) -> Value {
    json!({"id": uuid(&format!("xsuser/{zone}/{origin}/{name}")), "username": name, "origin": origin,
           "zoneId": zone, "roleCollections": collections, "verified": false, "active": true,
           "email": if name.contains('@') { name.to_string() } else { String::new() }})
}

/// `PUT /sap/rest/user/origin/{origin}/name/{user}/rolecollections/{name}`:
/// 200, and 200 again on a repeat (L.3).
pub async fn assign(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Path((origin, user, name)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (zone, mut g) = xs_enter!(sb, headers, "xs_user.write", true);
    let known_origin = origin == "sap.default"
        || g.authz
            .idps
            .iter()
            .any(|i| i.subaccount == zone && i.origin == origin);
    if !known_origin {
        return xs_error(StatusCode::BAD_REQUEST, &format!("Unknown origin {origin}"));
    }
    let exists =
        g.authz.collections.iter().any(|c| {
            c.subaccount == zone && c.users.iter().any(|(o, n)| *o == origin && *n == user)
        });
    if !exists && q.get("createUserIfMissing").is_none_or(|v| v != "true") {
        return xs_error(StatusCode::NOT_FOUND, &format!("User {user} not found"));
    }
    let Some(c) = g
        .authz
        .collections
        .iter_mut()
        .find(|c| c.subaccount == zone && c.name == name)
    else {
        return xs_error(
            StatusCode::NOT_FOUND,
            &format!("Role collection {name} not found"),
        );
    };
    if !c.users.iter().any(|(o, n)| *o == origin && *n == user) {
        c.users.push((origin.clone(), user.clone()));
    }
    let (names, _) = g.authz.roles_of(&zone, &origin, &user);
    Json(xs_user(&origin, &user, &zone, names)).into_response()
}

pub async fn user(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Path((origin, user)): Path<(String, String)>,
) -> Response {
    let (zone, g) = xs_enter!(sb, headers, "xs_user.read", false);
    let (names, _) = g.authz.roles_of(&zone, &origin, &user);
    if names.is_empty() {
        return xs_error(StatusCode::NOT_FOUND, &format!("User {user} not found"));
    }
    Json(xs_user(&origin, &user, &zone, names)).into_response()
}
