//! The sandbox's S/4HANA tenant: a communication system with its OAuth 2.0
//! identity provider, its inbound user, business users with Global User IDs,
//! and the token endpoint that judges a SAML bearer assertion as S/4HANA
//! would (sap-apis.md D.3, D.4 item 4). Failure modes 4, 5 and 6 happen here.

pub(super) mod comm;
pub(super) mod scim;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use serde_json::{Value, json};

use crate::sandbox::Shared;
use crate::store::secrets::random_hex;

pub const SAML2_BEARER: &str = "urn:ietf:params:oauth:grant-type:saml2-bearer";

/// How S/4HANA finds the business user for the assertion's NameID
/// (`OAuth2IdentityProviderUserLogonType`, D.2).
#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogonType {
    UserUuid,
    UserName,
}

#[derive(Clone, serde::Serialize)]
pub struct BusinessUser {
    /// SCIM id (`CB…`).
    pub id: String,
    pub user_name: String,
    pub email: String,
    pub global_user_id: Option<String>,
    /// `userUuidHistory`: (value, active).
    pub history: Vec<(String, bool)>,
}

impl BusinessUser {
    pub fn new(n: usize, user_name: &str, email: &str, global_user_id: Option<String>) -> Self {
        BusinessUser {
            id: format!("CB{:010}", n),
            user_name: user_name.to_string(),
            email: email.to_string(),
            history: global_user_id.iter().map(|g| (g.clone(), true)).collect(),
            global_user_id,
        }
    }
}

/// The part of the tenant the SAML bearer exchange depends on: its
/// communication objects (D.2) and business users.
#[derive(Clone, serde::Serialize)]
pub struct Tenant {
    pub comm: comm::Objects,
    pub business_users: Vec<BusinessUser>,
}

/// SHA-256 of a certificate's DER, from PEM or from base64 DER (the upload
/// field's format is [U], D.3: both are accepted).
pub fn fingerprint(text: &str) -> Option<String> {
    use sha2::Digest;
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    Some(hex::encode(sha2::Sha256::digest(der)))
}

impl Tenant {
    /// The demo customer's tenant with the Task Center objects set up by
    /// hand (as after steps 3.3-3.5 and 6); `/_sandbox/s4` can empty it.
    pub fn demo(d: &crate::sandbox::Demo, cert_cn: &str, cert_pem: &str) -> Tenant {
        let mut comm = comm::Objects::default();
        comm.add_bootstrap(&d.s4_api_users);
        comm.add_task_center(
            &d.comm_user,
            &d.comm_password,
            &d.s4_host,
            cert_cn,
            cert_pem,
        );
        Tenant {
            comm,
            business_users: d
                .people
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    BusinessUser::new(
                        i + 1,
                        &p.s4_user,
                        &p.email,
                        p.s4_global_id.then(|| p.user_uuid.clone()),
                    )
                })
                .collect(),
        }
    }
}

/// What the sandbox's Destination service sends: the stand-in for a signed
/// SAML 2.0 assertion. The "signature" binds it to the signing certificate,
/// so it verifies exactly when S/4HANA holds that certificate.
pub struct Assertion {
    pub issuer: String,
    pub name_id: String,
    pub audience: String,
}

fn seal(payload: &str, cert_sha256: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(
        format!("{payload}.{cert_sha256}").as_bytes(),
    ))
}

impl Assertion {
    pub fn sign(&self, cert_sha256: &str) -> String {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            json!({"Issuer": self.issuer, "NameID": self.name_id, "Audience": self.audience})
                .to_string(),
        );
        format!("{payload}.{}", seal(&payload, cert_sha256))
    }

    /// The assertion's fields if its signature verifies with `cert_sha256`.
    fn open(raw: &str, cert_sha256: &str) -> Result<Assertion, &'static str> {
        let (payload, sig) = raw.split_once('.').ok_or("malformed assertion")?;
        if seal(payload, cert_sha256) != sig {
            return Err("signature of the assertion does not verify with the uploaded certificate");
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| "malformed assertion")?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| "malformed assertion")?;
        let f = |k: &str| v[k].as_str().unwrap_or("").to_string();
        Ok(Assertion {
            issuer: f("Issuer"),
            name_id: f("NameID"),
            audience: f("Audience"),
        })
    }
}

// S/4HANA's refusal texts are [U] (sap-apis.md B.2, D.4): they are written
// only in `judge`; the wizard depends on no more than `invalid_grant` /
// `invalid_client`.

/// S/4HANA's answer to a token request: `Err((status, body))` when refused.
pub fn judge(
    sb: &crate::sandbox::Sandbox,
    basic: Option<(String, String)>,
    client_id: Option<&str>,
    grant: Option<&str>,
    assertion: &str,
) -> Result<String, (StatusCode, Value)> {
    let refuse = |status, error: &str, detail: &str| {
        Err((status, json!({"error": error, "error_description": detail})))
    };
    let Ok(t) = sb.s4.lock().map(|t| t.clone()) else {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "tenant unavailable",
        );
    };
    let (user, password) = basic.unwrap_or_default();
    let system = t.comm.oauth_system(&user, &password);
    let Some(system) = system.filter(|_| client_id.is_none_or(|c| c == user)) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    };
    let get = |k: &str| {
        system
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if grant == Some(SAML2_BEARER) {
        if system.get("IsOAuth2IdentityProviderActive") != Some(&json!(true)) {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "There is no trust between entities: the communication system has no active OAuth 2.0 identity provider",
            );
        }
        let cert = fingerprint(&get("OAuth2IdentityProviderCertificatePublicKeyBase64"))
            .unwrap_or_default();
        let a = match Assertion::open(assertion, &cert) {
            Ok(a) => a,
            Err(e) => return refuse(StatusCode::BAD_REQUEST, "invalid_grant", e),
        };
        let logon = match get("OAuth2IdentityProviderUserLogonType").as_str() {
            "user_name" => LogonType::UserName,
            _ => LogonType::UserUuid,
        };
        if a.issuer != get("OAuth2IdentityProviderName") {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "There is no trust between entities: no OAuth 2.0 identity provider with this SAML issuer",
            );
        }
        if a.audience != format!("https://{}", sb.demo.s4_host) {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "The assertion's audience is not this system",
            );
        }
        let found = t.business_users.iter().any(|u| match logon {
            LogonType::UserUuid => u.global_user_id.as_deref() == Some(a.name_id.as_str()),
            LogonType::UserName => u.user_name.eq_ignore_ascii_case(&a.name_id),
        });
        if !found {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                &format!("No user found with alias \"{}\"", a.name_id),
            );
        }
    }
    // Otherwise the communication user's own credentials, as the wizard's
    // reachability check of step 3.3 uses them.
    let token = random_hex(24).unwrap_or_default();
    if let Ok(mut s) = sb.s4_tokens.lock() {
        s.insert(token.clone());
    }
    Ok(token)
}

pub async fn token(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = sb.fault("s4-token").await {
        return r;
    }
    let v = |k: &str| form.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
    let basic = crate::sandbox::wire::basic(&headers);
    match judge(
        &sb,
        basic,
        v("client_id"),
        v("grant_type"),
        v("assertion").unwrap_or(""),
    ) {
        Ok(token) => {
            Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600}))
                .into_response()
        }
        Err((status, body)) => (status, Json(body)).into_response(),
    }
}

pub async fn odata(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = sb.fault("s4-odata").await {
        return r;
    }
    let ok = crate::sandbox::wire::bearer(&headers)
        .is_some_and(|t| sb.s4_tokens.lock().is_ok_and(|s| s.contains(t)));
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

#[derive(serde::Deserialize)]
pub struct Change {
    /// Remove the Task Center objects (users, systems, arrangements), keeping
    /// the bootstrap users and business users: an S/4HANA to set up.
    empty: Option<bool>,
    /// Add what SAP's formation for Task Center leaves (section N): a
    /// provider-managed system and the SAP_COM_0501 arrangement, under names
    /// of its own.
    formation: Option<bool>,
    /// Add an arrangement of another scenario (SAP_COM_0008) under this name
    /// on the bootstrap system: a name the Task Center one cannot take.
    arrangement_named: Option<String>,
    saml_issuer: Option<String>,
    logon_type: Option<String>,
    /// Remove this person's Global User ID from their business user.
    clear_global_id: Option<String>,
    /// Set it back (to their IAS userUuid).
    set_global_id: Option<String>,
    /// Add this many business users `user{n}@acme.example` without a Global
    /// User ID (many approvers at once).
    generate_users: Option<usize>,
    /// Give this person's business user a Global User ID that is not theirs.
    wrong_global_id: Option<String>,
}

/// `POST /_sandbox/s4`: change the tenant behind the wizard's back, as a
/// customer's administrator might. `GET` shows it.
pub async fn change(State(sb): State<Shared>, Form(c): Form<Change>) -> Response {
    let Ok(mut t) = sb.s4.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if c.empty == Some(true) {
        let comm = &mut t.comm;
        let keep = |objects: &[serde_json::Map<String, Value>], comm: &comm::Objects| {
            objects
                .iter()
                .filter(|o| comm.is_bootstrap(o))
                .cloned()
                .collect::<Vec<_>>()
        };
        comm.users = keep(&comm.users, comm);
        comm.systems = keep(&comm.systems, comm);
        comm.inbound = keep(&comm.inbound, comm);
        comm.outbound.clear();
        comm.arrangements = keep(&comm.arrangements, comm);
    }
    if let Some(name) = c.arrangement_named {
        let mut arr = serde_json::Map::new();
        for (k, v) in [
            (
                "UUID",
                crate::sandbox::uuid(&format!("arrangement/other/{name}")),
            ),
            ("CommunicationScenarioID", "SAP_COM_0008".into()),
            ("CommunicationSystemID", comm::BOOTSTRAP_SYSTEM.into()),
            ("Name", name),
        ] {
            arr.insert(k.into(), json!(v));
        }
        t.comm.arrangements.push(arr);
    }
    if c.formation == Some(true) {
        let issuer = sb.cert_cn.clone();
        let pem = sb.active_trust().map(|c| c.pem).unwrap_or_default();
        let cert: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::trim)
            .collect();
        t.comm.add_formation(&sb.demo.s4_host, &issuer, &cert);
    }
    if !matches!(
        c.logon_type.as_deref(),
        None | Some("user_uuid" | "user_name")
    ) {
        return (
            StatusCode::BAD_REQUEST,
            "logon_type: user_uuid or user_name",
        )
            .into_response();
    }
    if c.saml_issuer.is_some() || c.logon_type.is_some() {
        let Some(sys) = t.comm.task_center_system() else {
            return (StatusCode::NOT_FOUND, "no Task Center communication system").into_response();
        };
        if let Some(i) = c.saml_issuer {
            sys.insert("OAuth2IdentityProviderName".into(), json!(i));
        }
        if let Some(l) = c.logon_type {
            sys.insert("OAuth2IdentityProviderUserLogonType".into(), json!(l));
        }
    }
    if let Some(n) = c.generate_users {
        let start = t.business_users.len();
        for i in 0..n.min(1000) {
            let k = start + i + 1;
            t.business_users.push(BusinessUser::new(
                k,
                &format!("USER{k}"),
                &format!("user{k}@acme.example"),
                None,
            ));
        }
    }
    if let Some(email) = c.wrong_global_id {
        match t
            .business_users
            .iter_mut()
            .find(|u| u.email.eq_ignore_ascii_case(&email))
        {
            Some(u) => u.global_user_id = Some(crate::sandbox::uuid(&format!("wrong/{email}"))),
            None => {
                return (StatusCode::NOT_FOUND, "no business user with that e-mail")
                    .into_response();
            }
        }
    }
    for (email, set) in [(c.clear_global_id, false), (c.set_global_id, true)] {
        let Some(email) = email else { continue };
        let uuid = sb.person(&email).map(|p| p.user_uuid);
        match t
            .business_users
            .iter_mut()
            .find(|u| u.email.eq_ignore_ascii_case(&email))
        {
            Some(u) => u.global_user_id = if set { uuid } else { None },
            None => {
                return (StatusCode::NOT_FOUND, "no business user with that e-mail")
                    .into_response();
            }
        }
    }
    Json(json!(*t)).into_response()
}

pub async fn show(State(sb): State<Shared>) -> Response {
    match sb.s4.lock() {
        Ok(t) => Json(json!(*t)).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
