//! XSUAA tokens (sap-apis.md section 1, A.2): client credentials, and a
//! customer user's token through the authorization-code flow.

use reqwest::Method;

use super::{Auth, Calls, Req, SapClient, SapError, Service, origin};

pub struct Token {
    pub access_token: String,
    pub expires_in: i64,
}

/// How an XSUAA client proves who it is: its secret, or (credential type
/// x509, sap-apis-btp.md O.1) its client certificate at `certurl`.
pub enum ClientAuth {
    Secret(String),
    Certificate {
        certurl: String,
        /// The PEM chain, then the private key: one identity.
        identity: String,
    },
}

/// A client of a service key, as the token calls need it.
pub struct OAuthClient {
    pub uaa_url: String,
    pub client_id: String,
    pub auth: ClientAuth,
}

/// A token for `client`: with a secret as `client_credentials` does, with a
/// certificate by `POST {certurl}/oauth/token` over mutual TLS, body
/// `grant_type` and `client_id` only.
pub async fn token_for(
    c: &SapClient,
    calls: &Calls,
    client: &OAuthClient,
    grant: &[(&str, &str)],
) -> Result<Token, SapError> {
    match &client.auth {
        ClientAuth::Secret(secret) if grant.is_empty() => {
            client_credentials(c, calls, &client.uaa_url, &client.client_id, secret).await
        }
        ClientAuth::Secret(secret) => {
            let req = Req {
                service: Service::Xsuaa,
                method: Method::POST,
                url: format!("{}/oauth/token", origin(&client.uaa_url)?),
                auth: Auth::Basic(&client.client_id, secret),
                headers: Vec::new(),
                form: Some(grant.to_vec()),
                json: None,
                accept: "application/json",
            };
            token_of(c.send(calls, req).await?)
        }
        ClientAuth::Certificate { certurl, identity } => {
            let mut form = vec![("client_id", client.client_id.as_str())];
            if grant.is_empty() {
                form.push(("grant_type", "client_credentials"));
            } else {
                form.extend_from_slice(grant);
            }
            let req = Req {
                service: Service::Xsuaa,
                method: Method::POST,
                url: format!("{}/oauth/token", origin(certurl)?),
                auth: Auth::None,
                headers: Vec::new(),
                form: Some(form),
                json: None,
                accept: "application/json",
            };
            token_of(c.send_with_certificate(calls, req, identity).await?)
        }
    }
}

/// Request a token; client authentication in the body first, Basic as fallback.
pub async fn client_credentials(
    c: &SapClient,
    calls: &Calls,
    uaa_url: &str,
    client_id: &str,
    secret: &str,
) -> Result<Token, SapError> {
    let url = format!("{}/oauth/token", origin(uaa_url)?);
    let body = Req {
        service: Service::Xsuaa,
        method: Method::POST,
        url: url.clone(),
        auth: Auth::None,
        headers: Vec::new(),
        form: Some(vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ]),
        json: None,
        accept: "application/json",
    };
    let mut resp = c.send(calls, body).await?;
    if resp.status == 401 {
        let basic = Req {
            service: Service::Xsuaa,
            method: Method::POST,
            url,
            auth: Auth::Basic(client_id, secret),
            headers: Vec::new(),
            form: Some(vec![("grant_type", "client_credentials")]),
            json: None,
            accept: "application/json",
        };
        resp = c.send(calls, basic).await?;
    }
    token_of(resp)
}

fn token_of(resp: super::Resp) -> Result<Token, SapError> {
    if !resp.ok() {
        return Err(resp.into_error());
    }
    let v = resp.json()?;
    let token = v.get("access_token").and_then(|t| t.as_str()).unwrap_or("");
    let kind = v.get("token_type").and_then(|t| t.as_str()).unwrap_or("");
    if token.is_empty() || !kind.eq_ignore_ascii_case("bearer") {
        return Err(SapError::Garbage {
            what: "a token answer without a bearer access_token".into(),
        });
    }
    Ok(Token {
        access_token: token.to_string(),
        expires_in: v.get("expires_in").and_then(|e| e.as_i64()).unwrap_or(0),
    })
}

/// Where the browser signs in (A.2): `{uaa.url}/oauth/authorize` with the
/// client id and redirect URI URL-encoded. `base` replaces the origin in
/// sandbox mode, where the browser cannot reach SAP's host names.
pub fn authorize_url(
    uaa_url: &str,
    base: Option<&str>,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
) -> Result<String, SapError> {
    let origin = match base {
        Some(b) => b.trim_end_matches('/').to_string(),
        None => origin(uaa_url)?,
    };
    let mut u = reqwest::Url::parse(&format!("{origin}/oauth/authorize")).map_err(|_| {
        SapError::BadUrl {
            url: uaa_url.to_string(),
        }
    })?;
    u.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state);
    Ok(u.to_string())
}

/// Redeem a code (A.2): Basic with the client id as it is, `redirect_uri`
/// exactly as in the authorize call.
pub async fn authorization_code(
    c: &SapClient,
    calls: &Calls,
    client: &OAuthClient,
    code: &str,
    redirect_uri: &str,
) -> Result<Token, SapError> {
    token_for(
        c,
        calls,
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ],
    )
    .await
}

/// The claims of a token as it reads, without checking its signature: for
/// showing who it is for and what SAP will see (SAP decides what it may do).
pub fn unverified_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null)
}
