//! The simulated SAP services, answering as sap-apis.md describes.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use serde_json::{Map, Value, json};

use super::{Shared, jwt};
use crate::store::secrets::random_hex;

macro_rules! fault {
    ($sb:expr, $ep:expr) => {
        if let Some(r) = $sb.fault($ep).await {
            return r;
        }
    };
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.strip_prefix("Basic ")?)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn form_value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn unauthorized_client() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"UAA/client\", error=\"unauthorized\", error_description=\"Bad credentials\"")],
        Json(json!({"error": "invalid_client", "error_description": "Bad credentials"})),
    )
        .into_response()
}

pub async fn xsuaa_token(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    fault!(sb, "xsuaa-token");
    let creds = match (
        form_value(&form, "client_id"),
        form_value(&form, "client_secret"),
    ) {
        (Some(id), Some(secret)) => Some((id.to_string(), secret.to_string())),
        _ => basic(&headers),
    };
    let d = &sb.demo;
    let mut known = vec![
        (d.tc_clientid.clone(), d.tc_clientsecret.clone()),
        (d.dest_clientid.clone(), d.dest_clientsecret.clone()),
    ];
    known.extend(
        sb.extra_clients
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default(),
    );
    let Some((id, _)) =
        creds.filter(|(id, secret)| known.iter().any(|(i, s)| i == id && s == secret))
    else {
        return unauthorized_client();
    };
    if form_value(&form, "grant_type") != Some("client_credentials") {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "unsupported_grant_type", "error_description": "Only client_credentials is simulated"}))).into_response();
    }
    let now = crate::fmt::now();
    let jti = random_hex(16).unwrap_or_default();
    let xsappname = if id == d.tc_clientid {
        "clone!b1234|one-inbox-service!b456"
    } else {
        "clone!b5678|destination-xsappname!b62"
    };
    let claims = json!({
        "jti": jti, "iat": now, "exp": now + 43_199, "iss": format!("{}/oauth/token", d.uaa_url),
        "zid": d.subaccount_id, "cid": id, "client_id": id, "aud": [id, xsappname],
        "ext_attr": {"enhancer": "XSUAA", "zdn": d.subdomain}, "scope": ["uaa.resource"],
        "grant_type": "client_credentials", "sub": id,
    });
    let token = jwt::sign(&sb.keys, &claims);
    if let Ok(mut t) = sb.tokens.lock() {
        t.insert(token.clone(), id.clone());
    }
    Json(json!({"access_token": token, "token_type": "bearer", "expires_in": 43_199, "scope": "uaa.resource", "jti": jti})).into_response()
}

pub async fn token_keys(State(sb): State<Shared>) -> Response {
    fault!(sb, "token-keys");
    Json(json!({"keys": [sb.keys.jwk.clone()]})).into_response()
}

/// The client a bearer token was issued to.
fn token_client(sb: &Shared, headers: &HeaderMap) -> Option<String> {
    let t = bearer(headers)?;
    sb.tokens.lock().ok()?.get(t).cloned()
}

pub async fn connectors(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    fault!(sb, "connectors");
    match token_client(&sb, &headers) {
        None => (StatusCode::UNAUTHORIZED, Json(json!({"error": "unauthorized", "error_description": "Full authentication is required"}))).into_response(),
        // Client-credential tokens carry no user; listing connectors needs a TaskCenterAdmin.
        Some(_) => (StatusCode::FORBIDDEN, Json(json!({"error": "insufficient_scope", "error_description": "A user token with the role TaskCenterAdmin is required"}))).into_response(),
    }
}

fn dest_error(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({"ErrorMessage": msg}))).into_response()
}

fn dest_auth(sb: &Shared, headers: &HeaderMap) -> Result<(), Box<Response>> {
    match token_client(sb, headers) {
        Some(c) if c == sb.demo.dest_clientid => Ok(()),
        Some(_) => Err(Box::new(dest_error(
            StatusCode::FORBIDDEN,
            "The token does not grant access to the Destination service",
        ))),
        None => Err(Box::new(dest_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
        ))),
    }
}

macro_rules! dest_auth {
    ($sb:expr, $h:expr) => {
        if let Err(r) = dest_auth(&$sb, &$h) {
            return *r;
        }
    };
}

const NOT_FOUND: &str = "Configuration with the specified name was not found";

pub async fn list_subaccount(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    fault!(sb, "destinations");
    dest_auth!(sb, headers);
    let all: Vec<Value> = sb
        .destinations
        .lock()
        .map(|d| d.values().cloned().map(Value::Object).collect())
        .unwrap_or_default();
    Json(Value::Array(all)).into_response()
}

pub async fn list_instance(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    fault!(sb, "destinations");
    dest_auth!(sb, headers);
    Json(json!([])).into_response()
}

pub async fn read(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    fault!(sb, "destinations");
    dest_auth!(sb, headers);
    match sb.destination(&name) {
        Some(d) => Json(Value::Object(d)).into_response(),
        None => dest_error(StatusCode::NOT_FOUND, NOT_FOUND),
    }
}

/// POST creates (409 when the name exists); PUT replaces (404 when absent).
async fn write(sb: Shared, headers: HeaderMap, body: Value, create: bool) -> Response {
    fault!(sb, "destinations");
    dest_auth!(sb, headers);
    let name = body
        .get("Name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let (Some(name), Value::Object(props)) = (name, body) else {
        return dest_error(
            StatusCode::BAD_REQUEST,
            "Destination configuration must contain a Name",
        );
    };
    let Ok(mut d) = sb.destinations.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match (create, d.contains_key(&name)) {
        (true, true) => dest_error(
            StatusCode::CONFLICT,
            "Configuration with the same name already exists",
        ),
        (false, false) => dest_error(StatusCode::NOT_FOUND, NOT_FOUND),
        (true, false) => {
            d.insert(name, props);
            StatusCode::CREATED.into_response()
        }
        (false, true) => {
            d.insert(name, props);
            Json(json!({"Count": 1})).into_response()
        }
    }
}

pub async fn create(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    write(sb, headers, body, true).await
}

pub async fn update(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    write(sb, headers, body, false).await
}

pub async fn delete(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    fault!(sb, "destinations");
    dest_auth!(sb, headers);
    match sb
        .destinations
        .lock()
        .ok()
        .and_then(|mut d| d.remove(&name))
    {
        Some(_) => Json(json!({"Count": 1})).into_response(),
        None => dest_error(StatusCode::NOT_FOUND, NOT_FOUND),
    }
}

/// What S/4HANA would say to a SAML bearer token request from this destination.
fn saml_bearer_error(sb: &Shared, d: &Map<String, Value>) -> Option<String> {
    let demo = &sb.demo;
    let get = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("");
    let api = format!("https://{}", demo.api_host());
    if get("Authentication") != "OAuth2SAMLBearerAssertion" {
        return Some(format!(
            "Authentication type {} cannot retrieve a token",
            get("Authentication")
        ));
    }
    if get("tokenServiceURL") != format!("{api}/sap/bc/sec/oauth2/token") {
        return Some(format!(
            "Retrieval of OAuth token failed: could not reach token service {}",
            get("tokenServiceURL")
        ));
    }
    if get("audience") != format!("https://{}", demo.s4_host) {
        return Some("Retrieval of OAuth token failed due to: invalid_grant: There is no trust between entities".into());
    }
    if get("tokenServiceUser") != demo.comm_user
        || get("tokenServicePassword") != demo.comm_password
    {
        return Some("Retrieval of OAuth token failed due to: 401 Unauthorized (token service user or password)".into());
    }
    if get("clientKey") != demo.comm_user {
        return Some(
            "Retrieval of OAuth token failed due to: invalid_client: client_id unknown".into(),
        );
    }
    if get("userIdSource") != "user_uuid" {
        return Some(
            "Retrieval of OAuth token failed due to: invalid_grant: no user found with alias \"\""
                .into(),
        );
    }
    None
}

pub async fn find(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    fault!(sb, "find-destination");
    dest_auth!(sb, headers);
    let Some(d) = sb.destination(&name) else {
        return dest_error(StatusCode::NOT_FOUND, NOT_FOUND);
    };
    let mut out = json!({"owner": {"SubaccountId": sb.demo.subaccount_id, "InstanceId": null}, "destinationConfiguration": d});
    if q.get("$skipTokenRetrieval").map(String::as_str) != Some("true") {
        let token = match saml_bearer_error(&sb, &d) {
            Some(error) => json!({"type": "", "value": "", "error": error, "expires_in": "0"}),
            None => {
                let t = random_hex(24).unwrap_or_default();
                json!({"type": "Bearer", "value": t, "expires_in": "3600", "http_header": {"key": "Authorization", "value": format!("Bearer {t}")}})
            }
        };
        out["authTokens"] = json!([token]);
    }
    Json(out).into_response()
}

pub async fn certificate(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    fault!(sb, "certificate");
    dest_auth!(sb, headers);
    Json(json!({
        "Name": "keypair", "active": true, "expirationTimestamp": sb.cert_not_after_ms,
        "Owner": {"SubaccountId": sb.demo.subaccount_id, "InstanceId": null},
        "generatedOn": "2026-11-01T08:00:00Z", "x509PublicKeyBase64": sb.certificate,
    }))
    .into_response()
}

fn scim_error(status: StatusCode, detail: &str) -> Response {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": status.as_u16().to_string(), "detail": detail});
    (
        status,
        [(header::CONTENT_TYPE, "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

pub async fn ias_token(
    State(sb): State<Shared>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    fault!(sb, "ias-token");
    let d = &sb.demo;
    if form_value(&form, "client_id") != Some(d.ias_clientid.as_str())
        || form_value(&form, "client_secret") != Some(d.ias_clientsecret.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let t = random_hex(24).unwrap_or_default();
    if let Ok(mut tokens) = sb.tokens.lock() {
        tokens.insert(t.clone(), d.ias_clientid.clone());
    }
    Json(json!({"access_token": t, "token_type": "Bearer", "expires_in": 3600})).into_response()
}

pub async fn scim_users(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    fault!(sb, "scim");
    let d = &sb.demo;
    let authed = basic(&headers)
        .is_some_and(|(u, p)| u == d.ias_clientid && p == d.ias_clientsecret)
        || token_client(&sb, &headers).is_some_and(|c| c == d.ias_clientid);
    if !authed {
        return scim_error(StatusCode::UNAUTHORIZED, "Authentication failed");
    }
    let users: Vec<Value> = d
        .users
        .iter()
        .enumerate()
        .map(|(i, (email, uuid))| {
            let local = email.split('@').next().unwrap_or("");
            let (given, family) = local.split_once('.').unwrap_or((local, ""));
            json!({
                "id": uuid, "userName": local, "active": true,
                "name": {"givenName": given, "familyName": family},
                "emails": [{"value": email, "primary": true}],
                "urn:ietf:params:scim:schemas:extension:sap:2.0:User": {"userUuid": uuid, "userId": format!("P{:06}", i + 11), "status": "active"},
            })
        })
        .collect();
    let filtered: Vec<Value> = match q.get("filter") {
        None => users,
        Some(f) => {
            let Some((attr, value)) = f
                .split_once(" eq ")
                .map(|(a, v)| (a.trim(), v.trim().trim_matches('"').to_ascii_lowercase()))
            else {
                return scim_error(
                    StatusCode::BAD_REQUEST,
                    "invalidFilter: only 'attribute eq \"value\"' is supported",
                );
            };
            users
                .into_iter()
                .filter(|u| match attr {
                    "emails.value" => u["emails"][0]["value"]
                        .as_str()
                        .is_some_and(|e| e.eq_ignore_ascii_case(&value)),
                    "userName" => u["userName"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&value)),
                    _ => false,
                })
                .collect()
        }
    };
    let start = q
        .get("startIndex")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let count = q
        .get("count")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(100)
        .min(100);
    let page: Vec<Value> = filtered
        .iter()
        .skip(start - 1)
        .take(count)
        .cloned()
        .collect();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": filtered.len(), "itemsPerPage": page.len(), "startIndex": start, "Resources": page,
    });
    (
        [(header::CONTENT_TYPE, "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

pub async fn s4_token(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    fault!(sb, "s4-token");
    let d = &sb.demo;
    if !basic(&headers).is_some_and(|(u, p)| u == d.comm_user && p == d.comm_password) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client", "error_description": "Client authentication failed"}))).into_response();
    }
    let t = random_hex(24).unwrap_or_default();
    if let Ok(mut s) = sb.s4_tokens.lock() {
        s.insert(t.clone());
    }
    Json(json!({"access_token": t, "token_type": "Bearer", "expires_in": 3600})).into_response()
}

pub async fn s4_odata(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    fault!(sb, "s4-odata");
    let ok = bearer(&headers).is_some_and(|t| sb.s4_tokens.lock().is_ok_and(|s| s.contains(t)));
    if !ok {
        return (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "Bearer realm=\"SAP NetWeaver Application Server\"",
            )],
            "",
        )
            .into_response();
    }
    Json(json!({"@odata.context": "$metadata", "value": [{"name": "TaskCollection", "url": "TaskCollection"}]})).into_response()
}
