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

/// How many look-ups run at once: thousands of approvers must not open
/// thousands of connections to IAS.
pub const CONCURRENCY: usize = 8;

/// `user_by_email` for each address, in order, `CONCURRENCY` at a time.
pub async fn users_by_email(
    c: &SapClient,
    calls: &Calls,
    (ias_host, client_id, secret): (&str, &str, &str),
    emails: Vec<String>,
) -> Vec<Result<Option<IasUser>, SapError>> {
    use futures_util::StreamExt;
    futures_util::stream::iter(emails)
        .map(|e| async move { user_by_email(c, calls, ias_host, client_id, secret, &e).await })
        .buffered(CONCURRENCY)
        .collect()
        .await
}

/// The tenant's applications (Application Directory, `GET /Applications/v1/`,
/// following `nextCursor`), as SAP's own client for it reads them
/// (SAP/terraform-provider-sap-cloud-identity-services, `internal/cli/applications.go`):
/// Basic authentication with an administrator's client ID and secret.
/// At most `MAX_PAGES` pages: a tenant with more is named, not walked forever.
pub async fn applications(
    c: &SapClient,
    calls: &Calls,
    ias_host: &str,
    client_id: &str,
    secret: &str,
) -> Result<Vec<Value>, SapError> {
    const MAX_PAGES: usize = 20;
    let mut out = Vec::new();
    let mut cursor = String::new();
    for _ in 0..MAX_PAGES {
        let mut url = reqwest::Url::parse(&format!("https://{ias_host}/Applications/v1/"))
            .map_err(|_| SapError::BadUrl {
                url: ias_host.to_string(),
            })?;
        if !cursor.is_empty() {
            url.query_pairs_mut().append_pair("cursor", &cursor);
        }
        let resp = c
            .send(
                calls,
                Req::get(
                    Service::Ias,
                    url.to_string(),
                    Auth::Basic(client_id, secret),
                ),
            )
            .await?;
        if !resp.ok() {
            return Err(resp.into_error());
        }
        let v = resp.json()?;
        let Some(apps) = v.get("applications").and_then(Value::as_array) else {
            return Err(SapError::Garbage {
                what: "an application list without applications".into(),
            });
        };
        out.extend(apps.iter().cloned());
        match v.get("nextCursor").and_then(Value::as_str) {
            Some(next) if !next.is_empty() && next != cursor => cursor = next.to_string(),
            _ => return Ok(out),
        }
    }
    Err(SapError::Garbage {
        what: format!("more than {MAX_PAGES} pages of applications"),
    })
}
