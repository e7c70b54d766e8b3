//! SAP Service Manager (sap-apis.md F): find or create a service instance and
//! a binding, following its asynchronous operations. It never deletes.

use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde_json::Value;

use super::{Api, Calls, SapClient, SapError, Service, TokenSession};
use crate::domain::ServiceManagerKey;

/// An authenticated session with one subaccount's Service Manager.
pub type Session<'a> = Api<'a, ServiceManager>;

/// Marks Service Manager's calls.
pub enum ServiceManager {}

pub async fn connect<'a>(
    c: &'a SapClient,
    calls: &Calls,
    key: &ServiceManagerKey,
) -> Result<Session<'a>, SapError> {
    let creds = (
        key.url.as_str(),
        key.clientid.as_str(),
        key.clientsecret.as_str(),
    );
    TokenSession::connect(c, calls, Service::ServiceManager, key.sm_url.clone(), creds)
        .await
        .map(Api::new)
}

/// `name eq 'value'` with the value quoted as Service Manager's field
/// queries want it (F.2: single quotes, `''` inside).
pub fn eq(field: &str, value: &str) -> String {
    format!("{field} eq '{}'", value.replace('\'', "''"))
}

/// How long one request waits for an operation before saying it still runs.
const OPERATION_WAIT: Duration = Duration::from_secs(40);

impl Session<'_> {
    /// Every item of a list (`/v1/service_offerings` etc.) matching the field
    /// queries, following the paging token.
    pub async fn list(
        &self,
        calls: &Calls,
        resource: &str,
        queries: &[String],
    ) -> Result<Vec<Value>, SapError> {
        let query = utf8_percent_encode(&queries.join(" and "), NON_ALPHANUMERIC).to_string();
        let mut out = Vec::new();
        let mut token = String::new();
        // A bound on pages: a subaccount with more is not what this is for.
        for _ in 0..20 {
            let mut path = format!("/v1/{resource}?fieldQuery={query}");
            if !token.is_empty() {
                path.push_str("&token=");
                path.push_str(&utf8_percent_encode(&token, NON_ALPHANUMERIC).to_string());
            }
            let resp = self
                .c
                .send(calls, self.req(Method::GET, &path, None))
                .await?;
            if !resp.ok() {
                return Err(resp.into_error());
            }
            let v = resp.json()?;
            let Some(items) = v.get("items").and_then(Value::as_array) else {
                return Err(SapError::Garbage {
                    what: format!("a {resource} list without items"),
                });
            };
            out.extend(items.iter().cloned());
            token = v
                .get("token")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if token.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    pub async fn read(&self, calls: &Calls, resource: &str, id: &str) -> Result<Value, SapError> {
        let resp = self
            .c
            .send(
                calls,
                self.req(Method::GET, &format!("/v1/{resource}/{id}"), None),
            )
            .await?;
        if !resp.ok() {
            return Err(resp.into_error());
        }
        resp.json()
    }

    /// Create an instance or binding and wait for it: 201 answers with the
    /// object; 202 names an operation to follow until it succeeds or fails.
    /// `Ok(None)`: SAP is still working on it after the wait.
    pub async fn create(
        &self,
        calls: &Calls,
        resource: &str,
        body: &Value,
    ) -> Result<Option<Value>, SapError> {
        let resp = self
            .c
            .send(
                calls,
                self.req(Method::POST, &format!("/v1/{resource}"), Some(body)),
            )
            .await?;
        match resp.status {
            201 => resp.json().map(Some),
            202 => {
                let Some(op) = resp
                    .location
                    .as_deref()
                    .map(|l| l.strip_prefix(self.base()).unwrap_or(l).to_string())
                else {
                    return Err(SapError::Garbage {
                        what: "202 Accepted without a Location".into(),
                    });
                };
                // The Location is relative: /v1/<resource>/<id>/operations/<op>.
                let id = op
                    .strip_prefix(&format!("/v1/{resource}/"))
                    .and_then(|r| r.split('/').next())
                    .filter(|id| !id.is_empty())
                    .map(str::to_string)
                    .ok_or_else(|| SapError::Garbage {
                        what: format!("an operation address {op}"),
                    })?;
                if self.follow(calls, &op).await? {
                    self.read(calls, resource, &id).await.map(Some)
                } else {
                    Ok(None)
                }
            }
            _ => Err(resp.into_error()),
        }
    }

    /// Poll an operation: `true` once it succeeded, an error when it failed,
    /// `false` when it is still running after the wait.
    pub async fn follow(&self, calls: &Calls, op: &str) -> Result<bool, SapError> {
        // Relative as SAP sends it; tolerated absolute on this Service Manager.
        let op = op.strip_prefix(self.base()).unwrap_or(op);
        let this = self;
        super::poll_until(OPERATION_WAIT, Duration::from_secs(3), move || async move {
            let resp = this.c.send(calls, this.req(Method::GET, op, None)).await?;
            if !resp.ok() {
                return Err(resp.into_error());
            }
            let v = resp.json()?;
            match v.get("state").and_then(Value::as_str).unwrap_or("") {
                "succeeded" => Ok(true),
                "failed" => {
                    let why = v
                        .get("errors")
                        .map(|e| {
                            e.get("description")
                                .and_then(Value::as_str)
                                .map_or_else(|| e.to_string(), str::to_string)
                        })
                        .unwrap_or_default();
                    Err(SapError::Status {
                        status: 500,
                        message: Some(format!("the operation failed: {why}")),
                    })
                }
                _ => Ok(false),
            }
        })
        .await
    }
}
