//! Identity Authentication user look-ups through SCIM (sap-apis.md section 4).

use serde_json::Value;

use super::{Auth, Calls, Req, SapClient, SapError, Service};

const SAP_USER: &str = "urn:ietf:params:scim:schemas:extension:sap:2.0:User";

#[derive(Debug, Clone)]
pub struct IasUser {
    pub uuid: String,
    pub user_name: String,
    pub active: bool,
}

/// The user with this e-mail, if exactly one exists.
pub async fn user_by_email(
    c: &SapClient,
    calls: &Calls,
    ias_host: &str,
    client_id: &str,
    secret: &str,
    email: &str,
) -> Result<Option<IasUser>, SapError> {
    let filter = format!("emails.value eq \"{}\"", email.replace('"', ""));
    let mut url = reqwest::Url::parse(&format!("https://{ias_host}/scim/Users")).map_err(|_| {
        SapError::BadUrl {
            url: ias_host.to_string(),
        }
    })?;
    url.query_pairs_mut()
        .append_pair("filter", &filter)
        .append_pair("count", "2");
    let mut req = Req::get(
        Service::Ias,
        url.to_string(),
        Auth::Basic(client_id, secret),
    );
    req.accept = "application/scim+json";
    let resp = c.send(calls, req).await?;
    if !resp.ok() {
        return Err(resp.into_error());
    }
    let v = resp.json()?;
    let Some(resources) = v.get("Resources").and_then(Value::as_array) else {
        return if v.get("totalResults").and_then(Value::as_i64) == Some(0) {
            Ok(None)
        } else {
            Err(SapError::Garbage {
                what: "a SCIM answer without Resources".into(),
            })
        };
    };
    let Some(user) = resources.first() else {
        return Ok(None);
    };
    let uuid = user
        .get(SAP_USER)
        .and_then(|x| x.get("userUuid"))
        .or_else(|| user.get("id"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if uuid.is_empty() {
        return Err(SapError::Garbage {
            what: "a SCIM user without userUuid".into(),
        });
    }
    Ok(Some(IasUser {
        uuid,
        user_name: user
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        active: user.get("active").and_then(Value::as_bool).unwrap_or(true),
    }))
}
