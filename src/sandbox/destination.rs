//! The simulated Destination service (sap-apis.md section 3, B.1-B.5):
//! destinations, find destination with token retrieval, trust certificates.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};

use super::Shared;
use crate::store::secrets::random_hex;

use super::wire::{bearer, token_client};

fn dest_error(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({"ErrorMessage": msg}))).into_response()
}

fn dest_auth(sb: &Shared, headers: &HeaderMap) -> Result<(), Box<Response>> {
    match token_client(sb, headers) {
        Some(c)
            if c == sb.demo.dest_clientid
                || sb
                    .btp
                    .lock()
                    .is_ok_and(|g| g.has_client(&c, super::btp::Kind::Destination)) =>
        {
            Ok(())
        }
        Some(_) => Err(Box::new(dest_error(
            StatusCode::FORBIDDEN,
            "The token does not grant access to the Destination service",
        ))),
        // Unknown, malformed or expired.
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

/// What POST and PUT refuse (B.4): a Name outside `[A-Za-z0-9_-]{1,200}`,
/// missing required properties of the type, an unknown authentication type.
fn invalid(props: &Map<String, Value>) -> Option<String> {
    let get = |k: &str| props.get(k).and_then(Value::as_str).unwrap_or("");
    let name = get("Name");
    let name_ok = (1..=200).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !name_ok {
        return Some(format!(
            "Destination name \"{name}\" contains characters that are not allowed or is longer than 200 characters"
        ));
    }
    let mut required = vec!["Type", "URL", "ProxyType", "Authentication"];
    match get("Authentication") {
        "NoAuthentication" => {}
        "BasicAuthentication" => required.extend(["User", "Password"]),
        "OAuth2ClientCredentials" => required.extend(["clientId", "tokenServiceURL"]),
        "OAuth2SAMLBearerAssertion" => required.extend([
            "audience",
            "clientKey",
            "tokenServiceURL",
            "authnContextClassRef",
        ]),
        "" => {}
        other => return Some(format!("Authentication type {other} is not supported")),
    }
    required
        .iter()
        .find(|k| get(k).is_empty())
        .map(|k| format!("Property {k} is required for this destination"))
}

/// POST creates (409 when the name exists); PUT replaces (404 when absent).
/// Both take one object or an array of them (B.4).
pub async fn write(
    State(sb): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let create = method == Method::POST;
    fault!(sb, "destinations");
    dest_auth!(sb, headers);
    let items: Vec<Value> = match body {
        Value::Array(a) => a,
        other => vec![other],
    };
    let mut all = Vec::new();
    for item in items {
        let Value::Object(props) = item else {
            return dest_error(
                StatusCode::BAD_REQUEST,
                "A destination configuration must be a JSON object",
            );
        };
        if let Some(e) = invalid(&props) {
            return dest_error(StatusCode::BAD_REQUEST, &e);
        }
        all.push(props);
    }
    let Ok(mut d) = sb.destinations.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    for props in &all {
        let name = props.get("Name").and_then(Value::as_str).unwrap_or("");
        match (create, d.contains_key(name)) {
            (true, true) => {
                return dest_error(
                    StatusCode::CONFLICT,
                    "Configuration with the same name already exists",
                );
            }
            (false, false) => return dest_error(StatusCode::NOT_FOUND, NOT_FOUND),
            _ => {}
        }
    }
    let count = all.len();
    for props in all {
        let name = props
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        d.insert(name, props);
    }
    if create {
        StatusCode::CREATED.into_response()
    } else {
        Json(json!({"Count": count})).into_response()
    }
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

/// B.5 item 2, verbatim from SAP (issue4731).
pub const NO_USER: &str = "Retrieval of OAuthToken failed due to: Cannot determine user to propagate for OAuth2SAMLBearerAssertion destination. Either provide user_token JWT token (https://docs.cloudfoundry.org/api/uaa/version/4.7.1/index.html#user-token-grant) when retrieving the destination or configure it with SystemUser.";
/// B.2: the prefix when the token service refused ([O]); S/4's body follows.
pub const TOKEN_SERVICE_REFUSED: &str = "Retrieval of OAuthToken failed due to: Unable to fetch access token from the specified token service URL. Response was: ";

impl super::Sandbox {
    /// What the Destination service's token retrieval gives for destination
    /// `d` and this user (claims of a user token): an S/4HANA token, or the
    /// `authTokens[].error` text.
    pub fn token_for(
        &self,
        d: &Map<String, Value>,
        user: Option<&Value>,
    ) -> Result<String, String> {
        let get = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("");
        let user = user.filter(|u| u.get("user_name").is_some() || u.get("user_uuid").is_some());
        let Some(user) = user else {
            return Err(NO_USER.to_string());
        };
        let name_id = match get("userIdSource") {
            "" => match get("nameIdFormat") {
                f if f.ends_with(":emailAddress") => user["email"].as_str(),
                _ => user["user_name"].as_str(),
            },
            claim => user[claim].as_str(),
        };
        let Some(name_id) = name_id else {
            return Err("Retrieval of OAuthToken failed due to: user ID could not be determined from the user token".into());
        };
        let demo = &self.demo;
        let token_url = format!("https://{}/sap/bc/sec/oauth2/token", demo.api_host());
        if get("tokenServiceURL").split('?').next() != Some(token_url.as_str()) {
            return Err(format!(
                "{TOKEN_SERVICE_REFUSED}404 Not Found from {}",
                get("tokenServiceURL")
            ));
        }
        let signing = self.active_trust().map(|t| t.sha256).unwrap_or_default();
        let assertion = super::s4::Assertion {
            issuer: self.cert_cn.clone(),
            name_id: name_id.to_string(),
            audience: get("audience").to_string(),
        }
        .sign(&signing);
        let basic = Some((
            get("tokenServiceUser").to_string(),
            get("tokenServicePassword").to_string(),
        ));
        super::s4::judge(
            self,
            basic,
            Some(get("clientKey")),
            Some(super::s4::SAML2_BEARER),
            &assertion,
        )
        .map_err(|(_, body)| format!("{TOKEN_SERVICE_REFUSED}{body}"))
    }
}

/// The user of a find-destination call (B.5.1): `X-user-token` if given,
/// else the bearer token itself when it carries a user.
fn request_user(sb: &Shared, headers: &HeaderMap) -> Option<Value> {
    let x = headers
        .get("x-user-token")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    match x {
        Some(t) => sb.claims(t),
        None => bearer(headers).and_then(|t| sb.claims(t)),
    }
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
    if q.get("$skipTokenRetrieval").map(String::as_str) == Some("true") {
        return Json(out).into_response();
    }
    let get = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let bearer_entry = |t: String| json!({"type": "Bearer", "value": t, "expires_in": "3600", "http_header": {"key": "Authorization", "value": format!("Bearer {t}")}});
    let entry = match get("Authentication").as_str() {
        "BasicAuthentication" => {
            let b = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                get("User"),
                get("Password")
            ));
            Some(
                json!({"type": "Basic", "value": b, "http_header": {"key": "Authorization", "value": format!("Basic {b}")}}),
            )
        }
        "OAuth2SAMLBearerAssertion" => {
            let user = request_user(&sb, &headers);
            Some(match sb.token_for(&d, user.as_ref()) {
                Ok(t) => bearer_entry(t),
                Err(error) => json!({"type": "", "value": "", "error": error}),
            })
        }
        "OAuth2ClientCredentials" => Some(bearer_entry(random_hex(24).unwrap_or_default())),
        _ => None,
    };
    if let Some(e) = entry {
        out["authTokens"] = json!([e]);
    }
    Json(out).into_response()
}

fn trust_json(sb: &Shared, t: &super::TrustCert, active: bool) -> Response {
    Json(json!({
        "Name": "keypair", "active": active, "expirationTimestamp": t.not_after_ms,
        "Owner": {"SubaccountId": sb.demo.subaccount_id, "InstanceId": null},
        "generatedOn": t.generated_on, "x509PublicKeyBase64": t.pem,
    }))
    .into_response()
}

/// `GET /saml2Metadata/certificate`: the active trust certificate.
pub async fn certificate(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    fault!(sb, "certificate");
    dest_auth!(sb, headers);
    match sb.active_trust() {
        Some(t) => trust_json(&sb, &t, true),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `GET .../certificate/passive`: 404 until one was generated.
pub async fn passive_certificate(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    fault!(sb, "certificate");
    dest_auth!(sb, headers);
    match sb.trust.lock().ok().and_then(|t| t.passive.clone()) {
        Some(t) => trust_json(&sb, &t, false),
        None => dest_error(StatusCode::NOT_FOUND, "No passive certificate found"),
    }
}

/// `POST /saml2Metadata/certificate` (renew the active one: it signs at once)
/// and `.../passive` (generate or renew the passive one).
async fn renew(sb: Shared, headers: HeaderMap, active: bool) -> Response {
    fault!(sb, "certificate");
    fault!(sb, "certificate-write");
    dest_auth!(sb, headers);
    let Ok(next) = sb.next_trust() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(mut t) = sb.trust.lock() {
        if active {
            t.active = next.clone();
        } else {
            t.passive = Some(next.clone());
        }
    }
    trust_json(&sb, &next, active)
}

pub async fn renew_certificate(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    renew(sb, headers, true).await
}

pub async fn renew_passive(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    renew(sb, headers, false).await
}

/// `POST /saml2Metadata/rotateCertificate`: the passive one becomes active.
pub async fn rotate_certificate(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    fault!(sb, "certificate");
    fault!(sb, "certificate-write");
    dest_auth!(sb, headers);
    let Ok(mut t) = sb.trust.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Some(passive) = t.passive.take() else {
        return dest_error(
            StatusCode::BAD_REQUEST,
            "There is no passive certificate to rotate with",
        );
    };
    let was = std::mem::replace(&mut t.active, passive);
    t.passive = Some(was);
    let active = t.active.clone();
    drop(t);
    trust_json(&sb, &active, true)
}
