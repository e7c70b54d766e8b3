//! The sandbox's XSUAA (sap-apis.md A.1-A.9): every grant the wizard and
//! SAP's clients use, user tokens with SAP's claim set, a sign-in page that
//! stands in for the customer's IAS, `token_keys` and OpenID discovery.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde_json::{Value, json};

use super::wire::oauth_error;
use super::{Person, Shared, jwt};
use crate::store::secrets::random_hex;

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The password grant's refusal for a SAML origin (A.3, verbatim).
const NOT_OIDC: &str = "The origin provided in login_hint does not match an active Identity Provider (IdP) that supports resource-owner password grant flow.";
/// The only IdP origin of the demo subaccount: the customer's IAS over OIDC.
pub const ORIGIN: &str = "sap.custom";

/// What an authorization code stands for until it is redeemed (once).
pub struct Code {
    client: String,
    redirect_uri: String,
    email: String,
    expires: i64,
}

fn bad_credentials() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"UAA/client\", error=\"unauthorized\", error_description=\"Bad credentials\"")],
        Json(json!({"error": "invalid_client", "error_description": "Bad credentials"})),
    )
        .into_response()
}

/// Client id and secret from the body, else from Basic (the id may be
/// URL-encoded there, A.9.3).
fn client_credentials(form: &[(String, String)], headers: &HeaderMap) -> Option<(String, String)> {
    let v = |k: &str| form.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
    if let (Some(id), Some(secret)) = (v("client_id"), v("client_secret")) {
        return Some((id, secret));
    }
    let (id, secret) = super::wire::basic(headers)?;
    let id = percent_encoding::percent_decode_str(&id)
        .decode_utf8()
        .map(|c| c.into_owned())
        .unwrap_or(id);
    Some((id, secret))
}

impl super::Sandbox {
    /// Every client the demo subaccount knows: (id, secret, xsappname).
    fn clients(&self) -> Vec<(String, String, String)> {
        let d = &self.demo;
        let mut all = vec![
            (
                d.tc_clientid.clone(),
                d.tc_clientsecret.clone(),
                "clone!b1234|one-inbox-service!b456".to_string(),
            ),
            (
                d.push_clientid.clone(),
                d.push_clientsecret.clone(),
                "clone!b1234|one-inbox-service!b456".to_string(),
            ),
            (
                d.tc_x509_clientid.clone(),
                String::new(),
                "clone!b1234|one-inbox-service!b456".to_string(),
            ),
            (
                d.dest_clientid.clone(),
                d.dest_clientsecret.clone(),
                "clone!b5678|destination-xsappname!b62".to_string(),
            ),
            (
                d.sm_clientid.clone(),
                d.sm_clientsecret.clone(),
                "b9012|service-manager!b1476".to_string(),
            ),
            (
                d.sm_audit_clientid.clone(),
                d.sm_audit_clientsecret.clone(),
                "b9013|service-manager!b1476".to_string(),
            ),
        ];
        if let Ok(extra) = self.extra_clients.lock() {
            all.extend(extra.iter().map(|(i, s)| {
                (
                    i.clone(),
                    s.clone(),
                    "clone!b1234|one-inbox-service!b456".to_string(),
                )
            }));
        }
        all
    }

    /// Whether this client and secret get a token (a key not deleted).
    pub(crate) fn accepts_client(&self, id: &str, secret: &str) -> bool {
        self.client(id, secret).is_some()
    }

    fn client(&self, id: &str, secret: &str) -> Option<(String, String)> {
        // The x509 binding has no secret: only its certificate signs it in.
        self.clients()
            .into_iter()
            .find(|(i, s, _)| i == id && !s.is_empty() && s == secret)
            .map(|(i, _, x)| (i, x))
    }

    fn xsappname(&self, id: &str) -> Option<String> {
        self.clients()
            .into_iter()
            .find(|(i, _, _)| i == id)
            .map(|(_, _, x)| x)
    }

    pub fn person(&self, email: &str) -> Option<Person> {
        self.demo
            .people
            .iter()
            .find(|p| p.email.eq_ignore_ascii_case(email))
            .cloned()
    }

    /// `user_name` as the IAS application's subject name identifier makes it.
    fn user_name(&self, p: &Person) -> String {
        match self
            .settings
            .lock()
            .map(|s| s.subject.clone())
            .unwrap_or_default()
            .as_str()
        {
            "email" => p.email.clone(),
            _ => p.user_uuid.clone(),
        }
    }

    /// Sign and remember a token: client credentials, or a user's.
    pub fn issue(&self, client: &str, grant: &str, user: Option<&Person>) -> (String, Value) {
        let d = &self.demo;
        let now = crate::fmt::now();
        let validity = self.settings.lock().map_or(43_199, |s| s.token_validity);
        let xsappname = self.xsappname(client).unwrap_or_default();
        let jti = random_hex(16).unwrap_or_default();
        let mut claims = json!({
            "jti": jti, "iat": now, "exp": now + validity,
            "iss": format!("{}/oauth/token", d.uaa_url),
            "zid": d.subaccount_id, "cid": client, "client_id": client, "azp": client,
            "grant_type": grant, "rev_sig": &jti[..8],
            "ext_attr": {"enhancer": "XSUAA", "zdn": d.subdomain, "subaccountid": d.subaccount_id,
                         "serviceinstanceid": super::uuid(&format!("instance/{xsappname}"))},
        });
        match user {
            None => {
                claims["sub"] = json!(client);
                claims["aud"] = json!(["uaa", client, xsappname]);
                claims["scope"] = json!(["uaa.resource"]);
                claims["authorities"] = json!(["uaa.resource"]);
            }
            Some(p) => {
                let mut scope = vec![json!("openid"), json!("uaa.user")];
                let prefix = "one-inbox-service!b456";
                // In a global account the wizard set up, what was assigned
                // there; else the demo people's defaults (L.5 4).
                let (collections, roles) = self
                    .btp
                    .lock()
                    .ok()
                    .filter(|g| g.managed_roles)
                    .map_or_else(
                        || (p.role_collections.clone(), p.role_collections.clone()),
                        |g| {
                            g.authz
                                .roles_of(&d.subaccount_id, ORIGIN, &self.user_name(p))
                        },
                    );
                for r in &roles {
                    scope.push(json!(format!("{prefix}.{r}")));
                }
                let user_id = super::uuid(&format!("shadow/{}", p.email));
                claims["sub"] = json!(user_id);
                claims["user_id"] = json!(user_id);
                claims["user_name"] = json!(self.user_name(p));
                claims["user_uuid"] = json!(p.user_uuid);
                claims["origin"] = json!(ORIGIN);
                claims["email"] = json!(p.email);
                claims["given_name"] = json!(p.given_name);
                claims["family_name"] = json!(p.family_name);
                claims["auth_time"] = json!(now);
                claims["aud"] = json!(["openid", "uaa", client, prefix]);
                claims["scope"] = Value::Array(scope);
                claims["xs.user.attributes"] = json!({});
                claims["xs.system.attributes"] = json!({"xs.rolecollections": collections});
            }
        }
        let token = self.sign_and_keep(&claims, &d.uaa_url);
        (token, claims)
    }

    /// Sign a token and remember its claims (expired ones are dropped):
    /// every token the sandbox's services accept comes from here.
    pub(super) fn sign_and_keep(&self, claims: &Value, issuer: &str) -> String {
        let token = jwt::sign(&self.keys, claims, issuer);
        let now = crate::fmt::now();
        if let Ok(mut t) = self.tokens.lock() {
            t.retain(|_, c| c["exp"].as_i64().unwrap_or(0) > now);
            t.insert(token.clone(), claims.clone());
        }
        token
    }

    /// The claims of a live token this XSUAA issued; `None` if unknown or expired.
    pub fn claims(&self, token: &str) -> Option<Value> {
        let c = self.tokens.lock().ok()?.get(token).cloned()?;
        (c["exp"].as_i64().unwrap_or(0) > crate::fmt::now()).then_some(c)
    }

    fn token_response(&self, client: &str, grant: &str, user: Option<&Person>) -> Response {
        let (token, claims) = self.issue(client, grant, user);
        let scope = claims["scope"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let mut body = json!({
            "access_token": token, "token_type": "bearer",
            "expires_in": claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0),
            "scope": scope, "jti": claims["jti"],
        });
        if let Some(p) = user {
            let refresh = format!("{}-r", random_hex(16).unwrap_or_default());
            if let Ok(mut r) = self.refresh.lock() {
                r.insert(refresh.clone(), (client.to_string(), p.email.clone()));
            }
            body["refresh_token"] = json!(refresh);
            let id = json!({"iss": claims["iss"], "sub": claims["sub"], "aud": [client], "iat": claims["iat"],
                "exp": claims["exp"], "email": p.email, "user_uuid": p.user_uuid, "zid": claims["zid"]});
            body["id_token"] = json!(jwt::sign(&self.keys, &id, &self.demo.uaa_url));
        }
        Json(body).into_response()
    }
}

/// Redirect URIs (A.2, A.9.1): `http://localhost[:port][/path]` always; the
/// sandbox registers nothing else for its clients.
fn redirect_allowed(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| u.scheme() == "http" && u.host_str() == Some("localhost"))
}

/// `login_hint` = URL-encoded `{"origin":"<key>"}`, possibly encoded twice.
fn origin_of(hint: &str) -> Option<String> {
    let mut s = hint.to_string();
    for _ in 0..3 {
        if let Ok(v) = serde_json::from_str::<Value>(&s) {
            return v["origin"].as_str().map(str::to_string);
        }
        s = percent_encoding::percent_decode_str(&s)
            .decode_utf8()
            .ok()?
            .into_owned();
    }
    None
}

pub async fn token(
    State(sb): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = sb.fault("xsuaa-token").await {
        return r;
    }
    let Some((id, secret)) = client_credentials(&form, &headers) else {
        return bad_credentials();
    };
    // Cloud Foundry's UAA: client `cf` with an empty secret (J.3).
    if id == "cf" && secret.is_empty() {
        return super::btp::cf::token(&sb, &form);
    }
    let grant_type = super::wire::form_value(&form, "grant_type");
    if let Some(r) = sb.btp_token(&id, &secret, grant_type, &form) {
        return r;
    }
    let Some((client, _)) = sb.client(&id, &secret) else {
        return bad_credentials();
    };
    grant(&sb, &client, &headers, &query, &form).await
}

/// The grants of an authenticated client (by secret, or by the client
/// certificate at `certurl`): the same tokens either way.
pub(super) async fn grant(
    sb: &super::Sandbox,
    client: &str,
    _headers: &HeaderMap,
    query: &HashMap<String, String>,
    form: &[(String, String)],
) -> Response {
    let client = client.to_string();
    let v = |k: &str| {
        form.iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.clone())
            .or_else(|| query.get(k).cloned())
    };
    match v("grant_type").as_deref() {
        Some("client_credentials") => sb.token_response(&client, "client_credentials", None),
        Some("authorization_code") => {
            let code = v("code").unwrap_or_default();
            let redirect = v("redirect_uri").unwrap_or_default();
            let found = sb.codes.lock().ok().and_then(|mut c| c.remove(&code));
            let invalid = || {
                oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    &format!("Invalid authorization code: {code}"),
                )
            };
            let Some(c) = found else { return invalid() };
            if c.client != client || c.expires < crate::fmt::now() {
                return invalid();
            }
            if c.redirect_uri != redirect {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Redirect URI mismatch.",
                );
            }
            let Some(p) = sb.person(&c.email) else {
                return invalid();
            };
            sb.token_response(&client, "authorization_code", Some(&p))
        }
        Some("password") => {
            let origin = v("login_hint").map_or(Some(ORIGIN.to_string()), |h| origin_of(&h));
            if origin.as_deref() != Some(ORIGIN) {
                return oauth_error(StatusCode::UNAUTHORIZED, "unauthorized", NOT_OIDC);
            }
            let user = v("username").and_then(|u| sb.person(&u));
            match user {
                Some(p) if v("password").as_deref() == Some(p.password.as_str()) => {
                    sb.token_response(&client, "password", Some(&p))
                }
                _ => oauth_error(StatusCode::UNAUTHORIZED, "unauthorized", "Bad credentials"),
            }
        }
        Some("refresh_token") => {
            let rt = v("refresh_token").unwrap_or_default();
            let found = sb.refresh.lock().ok().and_then(|r| r.get(&rt).cloned());
            match found
                .filter(|(c, _)| *c == client)
                .and_then(|(_, e)| sb.person(&e))
            {
                Some(p) => sb.token_response(&client, "refresh_token", Some(&p)),
                None => oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "Invalid refresh token",
                ),
            }
        }
        Some(JWT_BEARER) => {
            let claims = v("assertion").and_then(|a| sb.claims(&a));
            match claims {
                Some(c)
                    if c["zid"] == json!(sb.demo.subaccount_id) && c.get("user_uuid").is_some() =>
                {
                    let p = c["email"].as_str().and_then(|e| sb.person(e));
                    match p {
                        Some(p) => sb.token_response(&client, JWT_BEARER, Some(&p)),
                        None => oauth_error(
                            StatusCode::UNAUTHORIZED,
                            "invalid_token",
                            "The user of the assertion is unknown",
                        ),
                    }
                }
                _ => oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "The assertion is not a valid user token of this zone",
                ),
            }
        }
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing grant type",
        ),
        Some(other) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Unsupported grant type: {other}"),
        ),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "sandbox_signin.html")]
pub struct SignInPage {
    title: String,
    query: Vec<(String, String)>,
    error: Option<String>,
    email: String,
}

fn invalid_redirect(uri: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::response::Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><head><title>Where to?</title></head><body><h1>Where to?</h1><p>Invalid redirect: {} does not match one of the registered values</p></body></html>",
            askama::filters::escape(uri, askama::filters::Html).map(|e| e.to_string()).unwrap_or_default()
        )),
    )
        .into_response()
}

/// `GET /oauth/authorize`: the customer's IAS sign-in, standing in.
pub async fn authorize_form(
    State(sb): State<Shared>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| q.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
    let client = get("client_id").unwrap_or("");
    if sb.xsappname(client).is_none() {
        return (
            StatusCode::UNAUTHORIZED,
            "Client with requested ID does not exist",
        )
            .into_response();
    }
    if get("response_type") != Some("code") {
        return (StatusCode::BAD_REQUEST, "response_type must be code").into_response();
    }
    let redirect = get("redirect_uri").unwrap_or("");
    if !redirect_allowed(redirect) {
        return invalid_redirect(redirect);
    }
    if let Some(h) = get("login_hint")
        && origin_of(h).as_deref() != Some(ORIGIN)
    {
        return (
            StatusCode::BAD_REQUEST,
            "The origin in login_hint is not an identity provider of this subaccount",
        )
            .into_response();
    }
    SignInPage {
        title: "Sign in — ACME Demo (sandbox IAS)".into(),
        query: q,
        error: None,
        email: String::new(),
    }
    .into_response()
}

/// `POST /oauth/authorize`: a demo user signs in; 302 with a single-use code.
pub async fn authorize(State(sb): State<Shared>, Form(f): Form<Vec<(String, String)>>) -> Response {
    let get = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (client, redirect) = (get("client_id"), get("redirect_uri"));
    if sb.xsappname(&client).is_none() || !redirect_allowed(&redirect) {
        return invalid_redirect(&redirect);
    }
    let person = sb
        .person(&get("email"))
        .filter(|p| p.password == get("password"));
    let Some(p) = person else {
        let query = f
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "email" | "password"))
            .cloned()
            .collect();
        return (
            StatusCode::UNAUTHORIZED,
            SignInPage {
                title: "Error: Sign in — ACME Demo (sandbox IAS)".into(),
                query,
                error: Some("The e-mail or password is not right. The demo users are listed on the sandbox's home page.".into()),
                email: get("email"),
            },
        )
            .into_response();
    };
    let code = random_hex(10).unwrap_or_default();
    if let Ok(mut c) = sb.codes.lock() {
        let now = crate::fmt::now();
        c.retain(|_, v| v.expires > now);
        c.insert(
            code.clone(),
            Code {
                client,
                redirect_uri: redirect.clone(),
                email: p.email,
                expires: now + 300,
            },
        );
    }
    let Ok(mut to) = url::Url::parse(&redirect) else {
        return invalid_redirect(&redirect);
    };
    to.query_pairs_mut().append_pair("code", &code);
    let state = get("state");
    if !state.is_empty() {
        to.query_pairs_mut().append_pair("state", &state);
    }
    // 302 Found, as XSUAA answers (A.2).
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

pub async fn token_keys(State(sb): State<Shared>) -> Response {
    if let Some(r) = sb.fault("token-keys").await {
        return r;
    }
    Json(json!({"keys": [sb.keys.jwk.clone()]})).into_response()
}

pub async fn openid_configuration(State(sb): State<Shared>) -> Json<Value> {
    let u = &sb.demo.uaa_url;
    Json(json!({
        "issuer": format!("{u}/oauth/token"),
        "authorization_endpoint": format!("{u}/oauth/authorize"),
        "token_endpoint": format!("{u}/oauth/token"),
        "jwks_uri": format!("{u}/token_keys"),
        "grant_types_supported": ["authorization_code", "password", "refresh_token", "client_credentials", JWT_BEARER],
        "response_types_supported": ["code"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_hint_and_redirects() {
        assert_eq!(
            origin_of("{\"origin\":\"sap.custom\"}").as_deref(),
            Some("sap.custom")
        );
        assert_eq!(
            origin_of("%7B%22origin%22%3A%22uaa%22%7D").as_deref(),
            Some("uaa")
        );
        assert_eq!(
            origin_of("%257B%2522origin%2522%253A%2522uaa%2522%257D").as_deref(),
            Some("uaa")
        );
        assert!(redirect_allowed("http://localhost"));
        assert!(redirect_allowed(
            "http://localhost:8080/setups/x/customer-user/callback"
        ));
        assert!(!redirect_allowed("https://evil.example/"));
        assert!(
            !redirect_allowed("http://127.0.0.1:8080/"),
            "only localhost by name"
        );
    }
}
