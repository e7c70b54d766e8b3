//! XSUAA client_credentials tokens (sap-apis.md section 1).

use reqwest::Method;

use super::{Auth, Calls, Req, SapClient, SapError, Service, origin};

pub struct Token {
    pub access_token: String,
    pub expires_in: i64,
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
            form: Some(vec![("grant_type", "client_credentials")]),
            json: None,
            accept: "application/json",
        };
        resp = c.send(calls, basic).await?;
    }
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
