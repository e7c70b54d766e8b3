//! The sandbox's S/4HANA communication management (sap-apis.md D.1-D.4,
//! scenario SAP_COM_0A48): communication users, systems with their inbound
//! users, and arrangements, over the three OData V4 services, with CSRF,
//! Basic auth for the bootstrap user only, and the documented rules. The
//! objects created here are what the SAML bearer exchange then runs against.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::sandbox::Shared;
use crate::store::secrets::random_hex;

pub const CU: &str =
    "/sap/opu/odata4/sap/aps_com_cu_a4c_odata/srvd_a2x/sap/aps_com_cu_a4c_odata/0001";
pub const CS: &str =
    "/sap/opu/odata4/sap/aps_com_cs_a4c_odata/srvd_a2x/sap/aps_com_cs_a4c_odata/0001";
pub const CA: &str =
    "/sap/opu/odata4/sap/aps_com_ca_a4c_odata/srvd_a2x/sap/aps_com_ca_a4c_odata/0001";

/// The communication objects of the tenant (entities as JSON, D.2 names).
/// The bootstrap's communication system (created by hand in Fiori).
pub const BOOTSTRAP_SYSTEM: &str = "TASKCENTER_WIZARD_API";
/// What the sandbox's formation names its objects ([U] on a real tenant).
pub const FORMATION_SYSTEM: &str = "SAP_TASKCENTER_1";
pub const FORMATION_USER: &str = "SAP_TC_FORMATION";

#[derive(Clone, Default, serde::Serialize)]
pub struct Objects {
    pub users: Vec<Map<String, Value>>,
    pub systems: Vec<Map<String, Value>>,
    pub inbound: Vec<Map<String, Value>>,
    pub outbound: Vec<Map<String, Value>>,
    pub arrangements: Vec<Map<String, Value>>,
    next: u32,
}

/// An entity of string fields.
fn object(fields: &[(&str, &str)]) -> Map<String, Value> {
    fields
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

fn s(m: &Map<String, Value>, k: &str) -> String {
    m.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

impl Objects {
    fn next_id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{:010}", self.next)
    }

    pub fn add_user(&mut self, name: &str, password: &str, description: &str) -> String {
        let id = self.next_id("CC");
        let mut u = Map::new();
        for (k, v) in [
            ("ID", id.as_str()),
            ("Name", name),
            ("Description", description),
            ("Type", "customer_communication"),
            ("LockStatus", "not_locked"),
            ("PasswordStatus", "productive"),
            ("Password", password),
        ] {
            u.insert(k.into(), json!(v));
        }
        self.users.push(u);
        id
    }

    fn add_system(&mut self, uuid: &str, fields: &[(&str, &str)]) {
        let mut sys = object(&[("UUID", uuid)]);
        sys.extend(object(fields));
        sys.insert("IsInboundOnly".into(), json!(true));
        let oauth = sys.contains_key("OAuth2IdentityProviderName");
        if oauth {
            sys.insert("IsOAuth2IdentityProviderActive".into(), json!(true));
        }
        self.systems.push(sys);
    }

    fn add_inbound(&mut self, fields: &[(&str, &str)]) {
        self.inbound.push(object(fields));
    }

    fn add_arrangement(
        &mut self,
        uuid: &str,
        scenario: &str,
        system: &str,
        name: &str,
        inbound: &str,
    ) {
        let mut arr = object(&[
            ("UUID", uuid),
            ("CommunicationScenarioID", scenario),
            ("CommunicationSystemID", system),
            ("Name", name),
        ]);
        arr.insert(
            "InboundUser".into(),
            json!({"CommunicationSystemInboundUserUUID": inbound}),
        );
        self.arrangements.push(arr);
    }

    /// A Task Center system with its OAuth 2.0 inbound user and the
    /// SAP_COM_0501 arrangement (`label` keeps each set's UUIDs apart).
    fn add_task_center_objects(
        &mut self,
        label: &str,
        (id, name, kind): (&str, &str, &str),
        (user, user_id): (&str, &str),
        (host, issuer, cert_b64): (&str, &str, &str),
        extra_inbound: &[(&str, &str)],
    ) {
        let system = crate::sandbox::uuid(&format!("system/{label}"));
        self.add_system(
            &system,
            &[
                ("ID", id),
                ("Name", name),
                ("Type", kind),
                ("HostName", host),
                ("OAuth2IdentityProviderName", issuer),
                ("OAuth2IdentityProviderUserLogonType", "user_uuid"),
                ("OAuth2IdentityProviderCertificatePublicKeyBase64", cert_b64),
            ],
        );
        let inbound = crate::sandbox::uuid(&format!("inbound/{label}"));
        let mut fields = vec![
            ("UUID", inbound.as_str()),
            ("CommunicationSystemUUID", system.as_str()),
            ("CommunicationUserID", user_id),
            ("OAuth2ClientID", user),
            ("AuthenticationMethod", "oauth2"),
        ];
        fields.extend_from_slice(extra_inbound);
        self.add_inbound(&fields);
        let arrangement = crate::sandbox::uuid(&format!("arrangement/{label}"));
        self.add_arrangement(
            &arrangement,
            "SAP_COM_0501",
            id,
            "SAP_COM_0501_TASKCENTER",
            &inbound,
        );
    }

    /// The Task Center objects as a consultant sets them up by hand (D.3).
    pub fn add_task_center(
        &mut self,
        user: &str,
        password: &str,
        host: &str,
        issuer: &str,
        cert_b64: &str,
    ) {
        let user_id = self.add_user(user, password, "Task Center inbound");
        self.add_task_center_objects(
            user,
            (
                "TASKCENTER_BTP",
                "SAP Task Center on BTP",
                "customer_managed",
            ),
            (user, &user_id),
            (host, issuer, cert_b64),
            &[("OAuth2GrantType", "saml2-bearer")],
        );
    }

    /// What a consultant creates by hand before any API can be used (D,
    /// "Bootstrap"): a communication system for the wizard, each bootstrap
    /// user as its Basic inbound user, and one arrangement per scenario.
    pub fn add_bootstrap(&mut self, users: &[(String, String, String)]) {
        let system = crate::sandbox::uuid("system/bootstrap");
        self.add_system(
            &system,
            &[
                ("ID", BOOTSTRAP_SYSTEM),
                ("Name", "Task Center wizard (API access)"),
                ("Type", "customer_managed"),
                ("HostName", ""),
            ],
        );
        for (user, password, scenario) in users {
            let user_id = self.add_user(user, password, &format!("Bootstrap user of {scenario}"));
            let inbound = crate::sandbox::uuid(&format!("inbound/{user}"));
            self.add_inbound(&[
                ("UUID", inbound.as_str()),
                ("CommunicationSystemUUID", system.as_str()),
                ("CommunicationUserID", user_id.as_str()),
                ("AuthenticationMethod", "basic"),
            ]);
            let arrangement = crate::sandbox::uuid(&format!("arrangement/{scenario}"));
            self.add_arrangement(
                &arrangement,
                scenario,
                BOOTSTRAP_SYSTEM,
                &format!("{scenario}_WIZARD"),
                &inbound,
            );
        }
    }

    /// Whether an object belongs to the bootstrap (kept when the tenant is
    /// emptied).
    pub fn is_bootstrap(&self, m: &Map<String, Value>) -> bool {
        let system = crate::sandbox::uuid("system/bootstrap");
        s(m, "ID") == BOOTSTRAP_SYSTEM
            || s(m, "CommunicationSystemID") == BOOTSTRAP_SYSTEM
            || s(m, "CommunicationSystemUUID") == system
            || s(m, "Description").starts_with("Bootstrap user of")
    }

    /// What SAP's formation "Integration with Customer-Managed SAP Task
    /// Center" leaves (section N, [U] in its names): a `provider_managed`
    /// system with the subaccount's issuer and certificate, an OAuth 2.0
    /// inbound user of its own, and the SAP_COM_0501 arrangement.
    pub fn add_formation(&mut self, host: &str, issuer: &str, cert_b64: &str) {
        let user_id = self.add_user(
            FORMATION_USER,
            &crate::sandbox::seeded("formation-password", 16),
            "SAP Task Center (formation)",
        );
        self.add_task_center_objects(
            "formation",
            (FORMATION_SYSTEM, "SAP Task Center", "provider_managed"),
            (FORMATION_USER, &user_id),
            (host, issuer, cert_b64),
            &[],
        );
    }

    /// The communication system behind a SAP_COM_0501 arrangement whose
    /// OAuth 2.0 inbound user is this client (D.4 item 4).
    pub fn oauth_system(&self, client: &str, password: &str) -> Option<Map<String, Value>> {
        let user = self
            .users
            .iter()
            .find(|u| s(u, "Name") == client && s(u, "Password") == password)?;
        let inbound: Vec<&Map<String, Value>> = self
            .inbound
            .iter()
            .filter(|i| {
                s(i, "CommunicationUserID") == s(user, "ID")
                    && s(i, "AuthenticationMethod") == "oauth2"
                    && s(i, "OAuth2ClientID") == client
            })
            .collect();
        self.arrangements.iter().find_map(|a| {
            if s(a, "CommunicationScenarioID") != "SAP_COM_0501" {
                return None;
            }
            let iu = a
                .get("InboundUser")?
                .get("CommunicationSystemInboundUserUUID")?
                .as_str()?;
            let i = inbound.iter().find(|i| s(i, "UUID") == iu)?;
            self.systems
                .iter()
                .find(|sy| {
                    s(sy, "UUID") == s(i, "CommunicationSystemUUID")
                        && s(sy, "ID") == s(a, "CommunicationSystemID")
                })
                .cloned()
        })
    }

    /// The secret S/4HANA pushes task changes with for this Task Center
    /// client: a SAP_COM_0501 arrangement whose outbound user is an OAuth 2.0
    /// client credentials user of that client (procedure 3.1, failure mode 11).
    pub fn pushes_with(&self, client: &str) -> Option<String> {
        self.arrangements.iter().find_map(|a| {
            let out = a
                .get("OutboundUser")
                .and_then(|o| o.get("CommunicationSystemOutboundUserUUID"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if s(a, "CommunicationScenarioID") != "SAP_COM_0501" {
                return None;
            }
            self.outbound
                .iter()
                .find(|o| {
                    s(o, "UUID") == out
                        && s(o, "AuthenticationMethod") == "oauth2"
                        && s(o, "OAuth2ClientID") == client
                })
                .map(|o| s(o, "Password"))
        })
    }

    /// The system an arrangement names (its string `ID`), or OData's error.
    fn system_by_id(&self, id: &str) -> Result<Map<String, Value>, Box<Response>> {
        self.systems
            .iter()
            .find(|sy| s(sy, "ID") == id)
            .cloned()
            .ok_or_else(|| {
                Box::new(odata_error(
                    StatusCode::BAD_REQUEST,
                    "CM_APS_CA/002",
                    &format!("Communication system {id} does not exist"),
                    "CommunicationSystemID",
                ))
            })
    }

    /// The system of the Task Center arrangement, for `/_sandbox/s4` changes.
    pub fn task_center_system(&mut self) -> Option<&mut Map<String, Value>> {
        let id = self
            .arrangements
            .iter()
            .find(|a| s(a, "CommunicationScenarioID") == "SAP_COM_0501")
            .map(|a| s(a, "CommunicationSystemID"))?;
        self.systems.iter_mut().find(|sy| s(sy, "ID") == id)
    }
}

/// OData V4 error body with an ABAP message code (D.1).
fn odata_error(status: StatusCode, code: &str, message: &str, target: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message, "target": target, "details": [], "innererror": {}}}))).into_response()
}

/// OData's answer to a body that is not a JSON object.
fn not_json() -> Response {
    odata_error(
        StatusCode::BAD_REQUEST,
        "/IWBEP/CM_V4_RUNTIME/021",
        "The request body is not a JSON object",
        "",
    )
}

fn logon_failed() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/html"), (header::WWW_AUTHENTICATE, "Basic realm=\"SAP NetWeaver Application Server\"")],
        "<html><head><title>Logon failed</title></head><body><h1>Logon failed</h1><p>Anmeldung fehlgeschlagen</p></body></html>",
    )
        .into_response()
}

fn csrf_required() -> Response {
    (
        StatusCode::FORBIDDEN,
        [("x-csrf-token", "Required")],
        "CSRF token validation failed",
    )
        .into_response()
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix("SAP_SESSIONID=").map(str::to_string))
}

/// Basic auth of a bootstrap user of `scenario`; CSRF for writes. A GET with
/// `X-CSRF-Token: Fetch` gets a token and a session cookie (D.1).
pub fn guard(
    sb: &Shared,
    headers: &HeaderMap,
    method: &Method,
    scenario: &str,
) -> Result<Option<(String, String)>, Box<Response>> {
    let Some((user, password)) = crate::sandbox::wire::basic(headers) else {
        return Err(Box::new(logon_failed()));
    };
    let ok = sb
        .demo
        .s4_api_users
        .iter()
        .any(|(u, p, sc)| *u == user && *p == password && sc == scenario);
    if !ok {
        return Err(Box::new(logon_failed()));
    }
    let fetch = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("fetch"));
    if *method == Method::GET {
        if fetch {
            let (token, cookie) = (
                random_hex(16).unwrap_or_default(),
                random_hex(16).unwrap_or_default(),
            );
            if let Ok(mut c) = sb.csrf.lock() {
                if c.len() > 10_000 {
                    c.clear();
                }
                c.insert((token.clone(), cookie.clone()));
            }
            return Ok(Some((token, cookie)));
        }
        return Ok(None);
    }
    if sb.settings.lock().is_ok_and(|s| s.s4_csrf_broken) {
        return Err(Box::new(csrf_required()));
    }
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let cookie = session_cookie(headers).unwrap_or_default();
    if sb
        .csrf
        .lock()
        .is_ok_and(|c| c.contains(&(token.to_string(), cookie)))
    {
        Ok(None)
    } else {
        Err(Box::new(csrf_required()))
    }
}

pub(super) fn with_csrf(r: Response, csrf: Option<(String, String)>) -> Response {
    let mut r = r;
    if let Some((token, cookie)) = csrf {
        if let Ok(v) = header::HeaderValue::from_str(&token) {
            r.headers_mut().insert("x-csrf-token", v);
        }
        if let Ok(v) =
            header::HeaderValue::from_str(&format!("SAP_SESSIONID={cookie}; Path=/; HttpOnly"))
        {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    r
}

fn list(items: Vec<Map<String, Value>>, hide: &[&str]) -> Response {
    let value: Vec<Value> = items
        .into_iter()
        .map(|mut m| {
            for h in hide {
                m.remove(*h);
            }
            Value::Object(m)
        })
        .collect();
    Json(json!({"@odata.context": "$metadata", "value": value})).into_response()
}

/// `$filter=Prop eq 'value'` (the one form the wizard and the tools use).
fn filtered(
    items: Vec<Map<String, Value>>,
    filter: Option<&str>,
) -> Result<Vec<Map<String, Value>>, Box<Response>> {
    let Some(f) = filter else { return Ok(items) };
    let Some((prop, value)) = f.split_once(" eq ") else {
        return Err(Box::new(odata_error(
            StatusCode::BAD_REQUEST,
            "/IWBEP/CM_V4_COS/014",
            "Only 'Property eq value' filters are supported by the sandbox",
            "",
        )));
    };
    let value = value.trim().trim_matches('\'');
    Ok(items
        .into_iter()
        .filter(|m| match m.get(prop.trim()) {
            Some(Value::String(v)) => v == value,
            Some(Value::Bool(b)) => b.to_string() == value,
            _ => false,
        })
        .collect())
}

/// A fresh CSRF token and session cookie to hand out, if one was fetched.
type Csrf = Option<(String, String)>;

/// What every request to the three services goes through: the switched
/// faults (all, then writes of one set), sign-in and CSRF; then the tenant.
async fn enter<'a>(
    sb: &'a Shared,
    headers: &HeaderMap,
    method: &Method,
    write_fault: &str,
) -> Result<(Csrf, std::sync::MutexGuard<'a, super::Tenant>), Box<Response>> {
    if let Some(r) = sb.fault("s4-comm").await {
        return Err(Box::new(r));
    }
    let csrf = guard(sb, headers, method, "SAP_COM_0A48")?;
    if *method != Method::GET
        && let Some(r) = sb.fault(write_fault).await
    {
        return Err(Box::new(r));
    }
    let tenant = sb
        .s4
        .lock()
        .map_err(|_| Box::new(StatusCode::INTERNAL_SERVER_ERROR.into_response()))?;
    Ok((csrf, tenant))
}

fn query(uri: &axum::http::Uri) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// `GET|POST {CU}/CommunicationUsers[...]`, and the service root.
pub async fn users(
    State(sb): State<Shared>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> Response {
    let (csrf, mut t) = match enter(&sb, &headers, &method, "s4-comm-user-write").await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let q = query(&uri);
    let r = if method == Method::GET {
        match filtered(t.comm.users.clone(), q.get("$filter").map(String::as_str)) {
            Ok(items) => list(items, &["Password"]),
            Err(r) => *r,
        }
    } else {
        let Ok(Value::Object(mut new)) = serde_json::from_slice::<Value>(&body) else {
            return not_json();
        };
        let name = s(&new, "Name");
        if name.is_empty() {
            return odata_error(
                StatusCode::BAD_REQUEST,
                "CM_APS_CU/001",
                "Enter a user name",
                "Name",
            );
        }
        if t.comm
            .users
            .iter()
            .any(|u| s(u, "Name").eq_ignore_ascii_case(&name))
        {
            return odata_error(
                StatusCode::BAD_REQUEST,
                "CM_APS_CU/012",
                &format!("User name {name} is already used"),
                "Name",
            );
        }
        let id = t.comm.next_id("CC");
        if s(&new, "Description").is_empty() {
            return odata_error(
                StatusCode::BAD_REQUEST,
                "CM_APS_CU/005",
                &format!("User {id} must have a description"),
                "Description",
            );
        }
        if s(&new, "Password").chars().count() < 20 {
            return odata_error(
                StatusCode::BAD_REQUEST,
                "CM_APS_CU/007",
                "The password must have at least 20 characters",
                "Password",
            );
        }
        new.insert("ID".into(), json!(id));
        new.entry("Type").or_insert(json!("customer_communication"));
        new.insert("LockStatus".into(), json!("not_locked"));
        new.insert("PasswordStatus".into(), json!("productive"));
        t.comm.users.push(new.clone());
        new.remove("Password");
        (StatusCode::CREATED, Json(Value::Object(new))).into_response()
    };
    with_csrf(r, csrf)
}

/// `PATCH {CU}/CommunicationUsers('<ID>')`: a new password (at least 20
/// characters, write-only) or description; the old password stops working.
pub async fn user_patch(
    State(sb): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Path(set): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let (csrf, mut t) = match enter(&sb, &headers, &method, "s4-comm-user-write").await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Some(id) = set
        .strip_prefix("CommunicationUsers(")
        .and_then(|k| k.strip_suffix(')'))
        .map(|k| k.trim_matches('\'').to_string())
    else {
        return odata_error(
            StatusCode::NOT_FOUND,
            "/IWBEP/CM_V4_RUNTIME/002",
            &format!("Resource not found for segment {set}"),
            "",
        );
    };
    let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(&body) else {
        return not_json();
    };
    if patch
        .get("Password")
        .is_some_and(|p| p.as_str().is_none_or(|p| p.chars().count() < 20))
    {
        return odata_error(
            StatusCode::BAD_REQUEST,
            "CM_APS_CU/007",
            "The password must have at least 20 characters",
            "Password",
        );
    }
    let r = match t.comm.users.iter_mut().find(|u| s(u, "ID") == id) {
        Some(u) => {
            for (k, v) in patch {
                if matches!(k.as_str(), "Password" | "Description") {
                    u.insert(k, v);
                }
            }
            StatusCode::NO_CONTENT.into_response()
        }
        None => odata_error(
            StatusCode::NOT_FOUND,
            "/IWBEP/CM_V4_RUNTIME/002",
            "Resource not found",
            "",
        ),
    };
    with_csrf(r, csrf)
}

/// Systems, inbound users: `GET|POST {CS}/{set}`, `PATCH {CS}/{set}({uuid})`.
pub async fn systems(
    State(sb): State<Shared>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Path(set): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let (csrf, mut t) = match enter(&sb, &headers, &method, write_fault_for(&set)).await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let (name, key) = match set.split_once('(') {
        Some((n, k)) => (
            n.to_string(),
            Some(k.trim_end_matches(')').trim_matches('\'').to_string()),
        ),
        None => (set.clone(), None),
    };
    let body: Option<Map<String, Value>> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    };
    let q = query(&uri);
    let r = match (name.as_str(), &method, key) {
        ("" | "$metadata", &Method::GET, None) => Json(json!({"@odata.context": "$metadata", "value": [{"name": "CommunicationSystems"}, {"name": "InboundUsers"}, {"name": "OutboundUsers"}]})).into_response(),
        ("CommunicationSystems", &Method::GET, None) => {
            let mut items = t.comm.systems.clone();
            if q.get("$expand").is_some_and(|e| e.contains("InboundUsers")) {
                for sy in items.iter_mut() {
                    let mine: Vec<Value> = t.comm.inbound.iter().filter(|i| s(i, "CommunicationSystemUUID") == s(sy, "UUID")).cloned().map(Value::Object).collect();
                    sy.insert("InboundUsers".into(), Value::Array(mine));
                }
            }
            match filtered(items, q.get("$filter").map(String::as_str)) {
                Ok(items) => list(items, &[]),
                Err(r) => *r,
            }
        }
        ("InboundUsers", &Method::GET, None) => match filtered(t.comm.inbound.clone(), q.get("$filter").map(String::as_str)) {
            Ok(items) => list(items, &[]),
            Err(r) => *r,
        },
        ("OutboundUsers", &Method::GET, None) => match filtered(t.comm.outbound.clone(), q.get("$filter").map(String::as_str)) {
            Ok(items) => list(items, &["Password"]),
            Err(r) => *r,
        },
        ("OutboundUsers", &Method::POST, None) => {
            let Some(mut new) = body else {
                return not_json();
            };
            let system = s(&new, "CommunicationSystemUUID");
            if !t.comm.systems.iter().any(|sy| s(sy, "UUID") == system) {
                return odata_error(StatusCode::BAD_REQUEST, "CM_APS_CS/040", "The communication system does not exist", "CommunicationSystemUUID");
            }
            match s(&new, "AuthenticationMethod").as_str() {
                "oauth2" if s(&new, "OAuth2ClientID").is_empty() || s(&new, "Password").is_empty() => {
                    return odata_error(StatusCode::BAD_REQUEST, "CM_APS_CS/071", "Enter the OAuth 2.0 client ID and client secret of the outbound user", "OAuth2ClientID");
                }
                "oauth2" | "basic" | "x509" => {}
                other => {
                    return odata_error(StatusCode::BAD_REQUEST, "CM_APS_CS/070", &format!("Authentication method {other} is not allowed for outbound users"), "AuthenticationMethod");
                }
            }
            new.insert("UUID".into(), json!(crate::sandbox::uuid(&format!("outbound/{system}/{}", random_hex(4).unwrap_or_default()))));
            t.comm.outbound.push(new.clone());
            new.remove("Password");
            (StatusCode::CREATED, Json(Value::Object(new))).into_response()
        }
        ("CommunicationSystems", &Method::POST, None) => {
            let Some(mut new) = body else {
                return not_json();
            };
            if new.contains_key("InboundUsers") {
                return odata_error(StatusCode::BAD_REQUEST, "CM_APS_CS/026", "Inbound users cannot be created together with the communication system", "InboundUsers");
            }
            let id = s(&new, "ID");
            if id.is_empty() || t.comm.systems.iter().any(|sy| s(sy, "ID") == id) {
                return odata_error(StatusCode::BAD_REQUEST, "CM_APS_CS/003", &format!("Communication system ID {id} is empty or already used"), "ID");
            }
            if new.get("IsInboundOnly") != Some(&json!(true)) && s(&new, "HostName").is_empty() {
                return odata_error(StatusCode::BAD_REQUEST, "CM_APS_CS/025", "Enter a host name or make the system inbound only", "HostName");
            }
            if s(&new, "LogicalSystemID").chars().count() > 10 {
                return odata_error(StatusCode::BAD_REQUEST, "CM_APS_CS/030", "Logical system ID is longer than 10 characters", "LogicalSystemID");
            }
            if let Some(e) = logon_type_error(&new) {
                return e;
            }
            new.insert("UUID".into(), json!(crate::sandbox::uuid(&format!("system/{id}/{}", random_hex(4).unwrap_or_default()))));
            t.comm.systems.push(new.clone());
            (StatusCode::CREATED, Json(Value::Object(new))).into_response()
        }
        ("InboundUsers", &Method::POST, None) => {
            let Some(mut new) = body else {
                return not_json();
            };
            let system = s(&new, "CommunicationSystemUUID");
            if !t.comm.systems.iter().any(|sy| s(sy, "UUID") == system) {
                return odata_error(StatusCode::BAD_REQUEST, "CM_APS_CS/040", "The communication system does not exist", "CommunicationSystemUUID");
            }
            let Some(user) = t.comm.users.iter().find(|u| s(u, "ID") == s(&new, "CommunicationUserID")).cloned() else {
                return odata_error(StatusCode::BAD_REQUEST, "CM_APS_CS/041", "The communication user does not exist", "CommunicationUserID");
            };
            // [U] D.3: the client id is expected to be the user's name.
            let client = match s(&new, "OAuth2ClientID") {
                c if c.is_empty() => s(&user, "Name"),
                c => c,
            };
            if t.comm.inbound.iter().any(|i| s(i, "OAuth2ClientID") == client) {
                return odata_error(StatusCode::BAD_REQUEST, "CM_APS_CS/051", &format!("OAuth2 Client ID {client} is already assigned to another communication system"), "OAuth2ClientID");
            }
            new.insert("OAuth2ClientID".into(), json!(client));
            new.insert("UUID".into(), json!(crate::sandbox::uuid(&format!("inbound/{client}/{}", random_hex(4).unwrap_or_default()))));
            t.comm.inbound.push(new.clone());
            (StatusCode::CREATED, Json(Value::Object(new))).into_response()
        }
        ("InboundUsers", &Method::PATCH, Some(uuid)) => {
            let Some(patch) = body else {
                return not_json();
            };
            patch_one(&mut t.comm.inbound, &uuid, patch, |k| matches!(k, "AuthenticationMethod" | "OAuth2GrantType"))
        }
        // "Edit Outbound User": a rotated key's client and secret (the
        // password is write-only, as on create).
        ("OutboundUsers", &Method::PATCH, Some(uuid)) => {
            let Some(patch) = body else {
                return not_json();
            };
            if patch.get("Password").is_some_and(|p| p.as_str().is_none_or(str::is_empty)) {
                return odata_error(StatusCode::BAD_REQUEST, "CM_APS_CS/071", "Enter the OAuth 2.0 client ID and client secret of the outbound user", "Password");
            }
            patch_one(&mut t.comm.outbound, &uuid, patch, |k| {
                matches!(k, "Password" | "OAuth2ClientID" | "Name" | "OAuth2ClientAuthenticationMethod")
            })
        }
        ("CommunicationSystems", &Method::PATCH, Some(uuid)) => {
            let Some(patch) = body else {
                return not_json();
            };
            if let Some(e) = logon_type_error(&patch) {
                return e;
            }
            patch_one(&mut t.comm.systems, &uuid, patch, |k| k != "UUID" && k != "ID")
        }
        _ => odata_error(StatusCode::NOT_FOUND, "/IWBEP/CM_V4_RUNTIME/002", &format!("Resource not found for segment {set}"), ""),
    };
    with_csrf(r, csrf)
}

/// PATCH of the object with `uuid`: the fields S/4HANA lets this entity
/// change (`may`) are taken, others ignored; 204, or 404 as OData answers.
fn patch_one(
    items: &mut [Map<String, Value>],
    uuid: &str,
    patch: Map<String, Value>,
    may: impl Fn(&str) -> bool,
) -> Response {
    let Some(item) = items.iter_mut().find(|i| s(i, "UUID") == uuid) else {
        return odata_error(
            StatusCode::NOT_FOUND,
            "/IWBEP/CM_V4_RUNTIME/002",
            "Resource not found",
            "",
        );
    };
    for (k, v) in patch {
        if may(&k) {
            item.insert(k, v);
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

fn logon_type_error(m: &Map<String, Value>) -> Option<Response> {
    match m
        .get("OAuth2IdentityProviderUserLogonType")
        .and_then(Value::as_str)
    {
        None | Some("user_uuid" | "user_name") => None,
        Some(other) => Some(odata_error(
            StatusCode::BAD_REQUEST,
            "CM_APS_CS/060",
            &format!("Value {other} is not allowed for the user logon type"),
            "OAuth2IdentityProviderUserLogonType",
        )),
    }
}

/// `GET|POST {CA}/CommunicationArrangements`.
pub async fn arrangements(
    State(sb): State<Shared>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> Response {
    let (csrf, mut t) = match enter(&sb, &headers, &method, "s4-comm-arrangement-write").await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let q = query(&uri);
    let r = if method == Method::GET {
        let mut items = t.comm.arrangements.clone();
        let expand = q.get("$expand").cloned().unwrap_or_default();
        for a in items.iter_mut() {
            for nav in ["InboundUser", "OutboundUser"] {
                if !expand.contains(nav) {
                    a.remove(nav);
                }
            }
        }
        match filtered(items, q.get("$filter").map(String::as_str)) {
            Ok(items) => list(items, &[]),
            Err(r) => *r,
        }
    } else {
        let Ok(Value::Object(mut new)) = serde_json::from_slice::<Value>(&body) else {
            return not_json();
        };
        let sys = match t.comm.system_by_id(&s(&new, "CommunicationSystemID")) {
            Ok(sys) => sys,
            Err(e) => return *e,
        };
        let name = s(&new, "Name");
        if name.is_empty() || t.comm.arrangements.iter().any(|a| s(a, "Name") == name) {
            return odata_error(
                StatusCode::BAD_REQUEST,
                "CM_APS_CA/004",
                &format!("Arrangement name {name} is empty or already used"),
                "Name",
            );
        }
        let inbound = new
            .get("InboundUser")
            .and_then(|i| i.get("CommunicationSystemInboundUserUUID"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let iu = t.comm.inbound.iter().find(|i| {
            s(i, "UUID") == inbound && s(i, "CommunicationSystemUUID") == s(&sys, "UUID")
        });
        if s(&new, "CommunicationScenarioID") == "SAP_COM_0501" {
            match iu {
                None => {
                    return odata_error(
                        StatusCode::BAD_REQUEST,
                        "CM_APS_CA/010",
                        "No suitable inbound user of the communication system",
                        "InboundUser",
                    );
                }
                Some(i) if s(i, "AuthenticationMethod") != "oauth2" => {
                    return odata_error(
                        StatusCode::BAD_REQUEST,
                        "CM_APS_CA/037",
                        "The inbound user must use OAuth 2.0 in SAP_COM_0501",
                        "InboundUser",
                    );
                }
                _ => {}
            }
            if let Some(e) = outbound_error(&t.comm, &sys, new.get("OutboundUser")) {
                return e;
            }
        }
        new.insert(
            "UUID".into(),
            json!(crate::sandbox::uuid(&format!(
                "arrangement/{name}/{}",
                random_hex(4).unwrap_or_default()
            ))),
        );
        t.comm.arrangements.push(new.clone());
        (StatusCode::CREATED, Json(Value::Object(new))).into_response()
    };
    with_csrf(r, csrf)
}

/// An arrangement's inbound user is one of its system's; OAuth 2.0 for
/// SAP_COM_0501 (`CM_APS_CA/010`, `/037` as on create).
fn inbound_error(
    objects: &Objects,
    sys: &Map<String, Value>,
    arrangement: &Map<String, Value>,
    nav: &Value,
) -> Option<Response> {
    let uuid = nav
        .get("CommunicationSystemInboundUserUUID")
        .and_then(Value::as_str)
        .unwrap_or("");
    let user = objects
        .inbound
        .iter()
        .find(|i| s(i, "UUID") == uuid && s(i, "CommunicationSystemUUID") == s(sys, "UUID"));
    match user {
        None => Some(odata_error(
            StatusCode::BAD_REQUEST,
            "CM_APS_CA/010",
            "No suitable inbound user of the communication system",
            "InboundUser",
        )),
        Some(i)
            if s(arrangement, "CommunicationScenarioID") == "SAP_COM_0501"
                && s(i, "AuthenticationMethod") != "oauth2" =>
        {
            Some(odata_error(
                StatusCode::BAD_REQUEST,
                "CM_APS_CA/037",
                "The inbound user must use OAuth 2.0 in SAP_COM_0501",
                "InboundUser",
            ))
        }
        Some(_) => None,
    }
}

/// A push system (not inbound only) needs an outbound user of its own for
/// SAP_COM_0501 (D.2 `CM_APS_CA/027`; `/100` for basic without password).
fn outbound_error(
    objects: &Objects,
    sys: &Map<String, Value>,
    nav: Option<&Value>,
) -> Option<Response> {
    let uuid = nav
        .and_then(|o| o.get("CommunicationSystemOutboundUserUUID"))
        .and_then(Value::as_str);
    let user = uuid.and_then(|u| {
        objects
            .outbound
            .iter()
            .find(|o| s(o, "UUID") == u && s(o, "CommunicationSystemUUID") == s(sys, "UUID"))
    });
    match (uuid, user) {
        (None, _) if sys.get("IsInboundOnly") == Some(&json!(true)) => None,
        (Some(_), Some(o))
            if s(o, "AuthenticationMethod") == "basic" && s(o, "Password").is_empty() =>
        {
            Some(odata_error(
                StatusCode::BAD_REQUEST,
                "CM_APS_CA/100",
                "Password missing for the outbound user",
                "OutboundUser",
            ))
        }
        (Some(_), Some(_)) => None,
        _ => Some(odata_error(
            StatusCode::BAD_REQUEST,
            "CM_APS_CA/027",
            "No suitable outbound user of the communication system",
            "OutboundUser",
        )),
    }
}

/// `PATCH {CA}/CommunicationArrangements(<uuid>)/InboundUser` (D.3
/// "Repoint": an inbound user of the arrangement's system, OAuth 2.0 for
/// SAP_COM_0501) or `.../OutboundUser` (D.2: an outbound user of it).
pub async fn repoint(
    State(sb): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Path((set, nav)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let which = match nav.as_str() {
        "InboundUser" => "InboundUser",
        "OutboundUser" => "OutboundUser",
        _ => {
            return odata_error(
                StatusCode::NOT_FOUND,
                "/IWBEP/CM_V4_RUNTIME/002",
                &format!("Resource not found for segment {nav}"),
                "",
            );
        }
    };
    repoint_to(sb, method, headers, set, body, which).await
}

async fn repoint_to(
    sb: Shared,
    method: Method,
    headers: HeaderMap,
    set: String,
    body: axum::body::Bytes,
    which: &'static str,
) -> Response {
    let (csrf, mut t) = match enter(&sb, &headers, &method, "s4-comm-arrangement-write").await {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let uuid = set
        .strip_prefix("CommunicationArrangements(")
        .map(|k| k.trim_end_matches(')').trim_matches('\'').to_string())
        .unwrap_or_default();
    let Ok(nav) = serde_json::from_slice::<Value>(&body) else {
        return not_json();
    };
    let Some(a) = t
        .comm
        .arrangements
        .iter()
        .find(|a| s(a, "UUID") == uuid)
        .cloned()
    else {
        return odata_error(
            StatusCode::NOT_FOUND,
            "/IWBEP/CM_V4_RUNTIME/002",
            "Resource not found",
            "",
        );
    };
    let sys = match t.comm.system_by_id(&s(&a, "CommunicationSystemID")) {
        Ok(sys) => sys,
        Err(e) => return *e,
    };
    let refused = if which == "InboundUser" {
        inbound_error(&t.comm, &sys, &a, &nav)
    } else {
        outbound_error(&t.comm, &sys, Some(&nav))
    };
    if let Some(e) = refused {
        return e;
    }
    if let Some(a) = t
        .comm
        .arrangements
        .iter_mut()
        .find(|a| s(a, "UUID") == uuid)
    {
        a.insert(which.into(), nav);
    }
    with_csrf(StatusCode::NO_CONTENT.into_response(), csrf)
}

/// `GET {CS}/`: the service root (the wizard's connection check and CSRF fetch).
pub async fn systems_root(
    State(sb): State<Shared>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> Response {
    systems(State(sb), method, headers, uri, Path(String::new()), body).await
}

/// The fault switch of writes to a set of the systems service.
fn write_fault_for(set: &str) -> &'static str {
    if set.starts_with("InboundUsers") {
        "s4-comm-inbound-write"
    } else if set.starts_with("OutboundUsers") {
        "s4-comm-outbound-write"
    } else {
        "s4-comm-system-write"
    }
}
