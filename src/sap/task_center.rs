//! SAP Task Center REST API (sap-apis.md section 2, C.1-C.3): reachability
//! with the key's token, and, with a customer user's token, the connector
//! status, the service status and the user's tasks. The JSON field names are
//! [U] (C.3): every reader here accepts the alternatives listed there.

use serde_json::Value;

use super::{Auth, Calls, Req, SapClient, SapError, Service};

pub enum Reach {
    /// The connectors list answered; how many connectors it holds.
    Listed(usize),
    /// 401/403: the service is there and the key is fine, but listing
    /// connectors needs a user token of a TaskCenterAdmin.
    NeedsUserToken(u16),
}

fn url(inbox_rest_url: &str, path: &str) -> String {
    format!("{}{path}", inbox_rest_url.trim_end_matches('/'))
}

/// The array in an answer: top level, or under `value`, `items`, `connectors`.
fn items(v: &Value) -> Option<&Vec<Value>> {
    v.as_array().or_else(|| {
        ["value", "items", "connectors"]
            .iter()
            .find_map(|k| v.get(k).and_then(Value::as_array))
    })
}

/// The first of these string fields that is present.
fn field(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| v.get(k).and_then(Value::as_str))
        .map(str::to_string)
}

pub async fn connectors(
    c: &SapClient,
    calls: &Calls,
    inbox_rest_url: &str,
    token: &str,
) -> Result<Reach, SapError> {
    let resp = c
        .send(
            calls,
            Req::get(
                Service::TaskCenter,
                url(inbox_rest_url, "/v1/connectors"),
                Auth::Bearer(token),
            ),
        )
        .await?;
    match resp.status {
        200 => Ok(Reach::Listed(items(&resp.json()?).map_or(0, Vec::len))),
        401 | 403 => Ok(Reach::NeedsUserToken(resp.status)),
        _ => Err(resp.into_error()),
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub kind: String,
    pub status: String,
    pub message: String,
}

/// One connector as Task Center's Administration app shows it.
#[derive(Debug, Clone)]
pub struct Connector {
    pub id: String,
    pub destination: String,
    pub status: String,
    pub jobs: Vec<Job>,
    /// The entry as SAP sent it, for the "advanced" detail.
    pub raw: Value,
}

fn connector(v: &Value) -> Connector {
    let jobs = ["jobs", "jobTypes"]
        .iter()
        .find_map(|k| v.get(k).and_then(Value::as_array))
        .map(|jobs| {
            jobs.iter()
                .map(|j| Job {
                    kind: field(j, &["type", "jobType"]).unwrap_or_default(),
                    status: field(j, &["status"]).unwrap_or_default(),
                    message: field(j, &["message"])
                        .or_else(|| {
                            j.get("messages").and_then(Value::as_array).map(|m| {
                                m.iter()
                                    .filter_map(|x| {
                                        x.as_str()
                                            .map(str::to_string)
                                            .or_else(|| field(x, &["message", "text"]))
                                    })
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            })
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    Connector {
        id: field(v, &["id", "connectorId"]).unwrap_or_default(),
        destination: field(v, &["destinationName", "destination", "name"]).unwrap_or_default(),
        status: field(v, &["status"])
            .unwrap_or_default()
            .to_ascii_uppercase(),
        jobs,
        raw: v.clone(),
    }
}

/// What a user token may read: the answer, or `Forbidden` when this user
/// lacks the role (403), which is not a failure of the setup.
pub enum AsUser<T> {
    Read(T),
    Forbidden,
}

async fn get_as_user(
    c: &SapClient,
    calls: &Calls,
    inbox_rest_url: &str,
    path: &str,
    user_token: &str,
) -> Result<AsUser<Value>, SapError> {
    let resp = c
        .send(
            calls,
            Req::get(
                Service::TaskCenter,
                url(inbox_rest_url, path),
                Auth::Bearer(user_token),
            ),
        )
        .await?;
    match resp.status {
        200 => Ok(AsUser::Read(resp.json()?)),
        403 => Ok(AsUser::Forbidden),
        _ => Err(resp.into_error()),
    }
}

/// Every connector, read as a TaskCenterAdmin user.
pub async fn connectors_as_user(
    c: &SapClient,
    calls: &Calls,
    inbox_rest_url: &str,
    user_token: &str,
) -> Result<AsUser<Vec<Connector>>, SapError> {
    Ok(
        match get_as_user(c, calls, inbox_rest_url, "/v1/connectors", user_token).await? {
            AsUser::Read(v) => AsUser::Read(
                items(&v)
                    .map(|a| a.iter().map(connector).collect())
                    .unwrap_or_default(),
            ),
            AsUser::Forbidden => AsUser::Forbidden,
        },
    )
}

/// The service status entries (code, status, message) (C.2).
pub async fn service_status(
    c: &SapClient,
    calls: &Calls,
    inbox_rest_url: &str,
    user_token: &str,
) -> Result<AsUser<Vec<(String, String, String)>>, SapError> {
    Ok(
        match get_as_user(c, calls, inbox_rest_url, "/v1/service-status", user_token).await? {
            AsUser::Read(v) => AsUser::Read(
                items(&v)
                    .map(|a| {
                        a.iter()
                            .map(|e| {
                                (
                                    field(e, &["code"]).unwrap_or_default(),
                                    field(e, &["status"])
                                        .unwrap_or_default()
                                        .to_ascii_uppercase(),
                                    field(e, &["message"]).unwrap_or_default(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            AsUser::Forbidden => AsUser::Forbidden,
        },
    )
}

/// How many tasks Task Center lists for the signed-in user.
pub async fn task_count(
    c: &SapClient,
    calls: &Calls,
    inbox_rest_url: &str,
    user_token: &str,
) -> Result<usize, SapError> {
    match get_as_user(c, calls, inbox_rest_url, "/v1/tasks", user_token).await? {
        AsUser::Read(v) => Ok(items(&v).map_or(0, Vec::len)),
        AsUser::Forbidden => Err(SapError::Status {
            status: 403,
            message: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn connectors_are_read_whatever_the_field_names() {
        for v in [
            json!([{"id": "a", "destinationName": "S4", "status": "error", "jobs": [{"type": "INITIAL", "status": "ERROR", "message": "boom"}]}]),
            json!({"value": [{"connectorId": "a", "destination": "S4", "status": "ERROR", "jobTypes": [{"jobType": "INITIAL", "status": "ERROR", "messages": [{"text": "boom"}]}]}]}),
        ] {
            let c: Vec<Connector> = items(&v)
                .map(|a| a.iter().map(connector).collect())
                .unwrap_or_default();
            assert_eq!(c.len(), 1);
            assert_eq!(
                (
                    c[0].id.as_str(),
                    c[0].destination.as_str(),
                    c[0].status.as_str()
                ),
                ("a", "S4", "ERROR")
            );
            assert_eq!(
                (c[0].jobs[0].kind.as_str(), c[0].jobs[0].message.as_str()),
                ("INITIAL", "boom")
            );
        }
    }
}
