//! Cloud Foundry's v3 API as the Task Center setup needs it (sap-apis-btp.md
//! J.3): a platform user's token from the UAA the API names, spaces, space
//! roles, Task Center's service instance and key, through v3 jobs.

use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Auth, Calls, Req, SapClient, SapError, Service, TokenSession};

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// A session as one platform user (the org manager).
pub struct Cf<'a>(TokenSession<'a>);

/// Sign in at the API's UAA with the password grant of client `cf` (J.3:
/// the only way SAP documents; no technical user).
pub async fn connect<'a>(
    c: &'a SapClient,
    calls: &Calls,
    api: &str,
    user: &str,
    password: &str,
) -> Result<Cf<'a>, SapError> {
    let root = c
        .send(
            calls,
            Req::get(
                Service::CloudFoundry,
                format!("{}/", api.trim_end_matches('/')),
                Auth::None,
            ),
        )
        .await?;
    if !root.ok() {
        return Err(root.into_error());
    }
    let uaa = root
        .json()?
        .pointer("/links/uaa/href")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| SapError::Garbage {
            what: "a Cloud Foundry API root without its UAA".into(),
        })?;
    let req = Req {
        service: Service::CloudFoundry,
        method: Method::POST,
        url: format!("{}/oauth/token", uaa.trim_end_matches('/')),
        auth: Auth::Basic("cf", ""),
        headers: Vec::new(),
        form: Some(vec![
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
        ]),
        json: None,
        accept: "application/json",
    };
    let resp = c.send(calls, req).await?;
    if !resp.ok() {
        return Err(resp.into_error());
    }
    let token = resp
        .json()?
        .get("access_token")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| SapError::Garbage {
            what: "a token answer without access_token".into(),
        })?;
    Ok(Cf(TokenSession::with_token(
        c,
        Service::CloudFoundry,
        api,
        token,
    )))
}

fn guid(v: &Value) -> String {
    v.get("guid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

impl Cf<'_> {
    async fn get(&self, calls: &Calls, path: &str) -> Result<Value, SapError> {
        let resp = self
            .0
            .c
            .send(calls, self.0.req(Method::GET, path, None))
            .await?;
        if !resp.ok() {
            return Err(resp.into_error());
        }
        resp.json()
    }

    async fn resources(&self, calls: &Calls, path: &str) -> Result<Vec<Value>, SapError> {
        Ok(self
            .get(calls, path)
            .await?
            .get("resources")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// POST; 201 gives the object, 202 the job's address (`Location`).
    async fn post(&self, calls: &Calls, path: &str, body: &Value) -> Result<Posted, SapError> {
        let resp = self
            .0
            .c
            .send(calls, self.0.req(Method::POST, path, Some(body)))
            .await?;
        match resp.status {
            201 => resp.json().map(Posted::Made),
            202 => resp
                .location
                .clone()
                .map(Posted::Job)
                .ok_or_else(|| SapError::Garbage {
                    what: "202 Accepted without a job".into(),
                }),
            _ => Err(resp.into_error()),
        }
    }

    pub async fn space(
        &self,
        calls: &Calls,
        org: &str,
        name: &str,
    ) -> Result<Option<String>, SapError> {
        let found = self
            .resources(
                calls,
                &format!(
                    "/v3/spaces?organization_guids={}&names={}",
                    enc(org),
                    enc(name)
                ),
            )
            .await?;
        Ok(found.first().map(guid))
    }

    pub async fn create_space(
        &self,
        calls: &Calls,
        org: &str,
        name: &str,
    ) -> Result<String, SapError> {
        let body =
            json!({"name": name, "relationships": {"organization": {"data": {"guid": org}}}});
        match self.post(calls, "/v3/spaces", &body).await? {
            Posted::Made(v) => Ok(guid(&v)),
            Posted::Job(_) => Err(SapError::Garbage {
                what: "a space created through a job".into(),
            }),
        }
    }

    /// The user names holding `kind` in the space (v3 `include=user`).
    pub async fn space_role_holders(
        &self,
        calls: &Calls,
        space: &str,
        kind: &str,
    ) -> Result<Vec<String>, SapError> {
        let v = self
            .get(
                calls,
                &format!(
                    "/v3/roles?space_guids={}&types={}&include=user",
                    enc(space),
                    enc(kind)
                ),
            )
            .await?;
        let users = v
            .pointer("/included/users")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let name_of = |g: &str| {
            users
                .iter()
                .find(|u| u.get("guid").and_then(Value::as_str) == Some(g))
                .and_then(|u| u.get("username").and_then(Value::as_str))
                .map(str::to_string)
        };
        Ok(v.get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| {
                r.pointer("/relationships/user/data/guid")
                    .and_then(Value::as_str)
            })
            .filter_map(name_of)
            .collect())
    }

    pub async fn add_space_role(
        &self,
        calls: &Calls,
        space: &str,
        kind: &str,
        user: &str,
        origin: &str,
    ) -> Result<(), SapError> {
        let body = json!({"type": kind, "relationships": {"space": {"data": {"guid": space}},
                          "user": {"data": {"username": user, "origin": origin}}}});
        self.post(calls, "/v3/roles", &body).await.map(|_| ())
    }

    pub async fn plan(
        &self,
        calls: &Calls,
        space: &str,
        offering: &str,
        plan: &str,
    ) -> Result<Option<String>, SapError> {
        let found = self
            .resources(
                calls,
                &format!(
                    "/v3/service_plans?service_offering_names={}&names={}&space_guids={}",
                    enc(offering),
                    enc(plan),
                    enc(space)
                ),
            )
            .await?;
        Ok(found.first().map(guid))
    }

    /// The org's instances of any of `plans` (Task Center's data is per org, J.3).
    pub async fn instances(
        &self,
        calls: &Calls,
        org: &str,
        plans: &[String],
    ) -> Result<Vec<(String, String, String)>, SapError> {
        if plans.is_empty() {
            return Ok(Vec::new());
        }
        let found = self
            .resources(
                calls,
                &format!(
                    "/v3/service_instances?organization_guids={}&service_plan_guids={}",
                    enc(org),
                    enc(&plans.join(","))
                ),
            )
            .await?;
        Ok(found
            .iter()
            .map(|i| {
                (
                    guid(i),
                    i.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    i.pointer("/last_operation/state")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect())
    }

    pub async fn create_instance(
        &self,
        calls: &Calls,
        space: &str,
        plan: &str,
        name: &str,
    ) -> Result<String, SapError> {
        let body = json!({"type": "managed", "name": name, "relationships": {
            "space": {"data": {"guid": space}}, "service_plan": {"data": {"guid": plan}}}});
        match self.post(calls, "/v3/service_instances", &body).await? {
            Posted::Job(j) => Ok(j),
            Posted::Made(v) => Ok(guid(&v)),
        }
    }

    /// Follow a job to its end: `Ok(true)` complete, `Ok(false)` still
    /// running after `wait`, an error with SAP's words when it failed.
    pub async fn wait(&self, calls: &Calls, job: &str, wait: Duration) -> Result<bool, SapError> {
        let path = job.find("/v3/").map_or(job, |i| &job[i..]);
        let this = self;
        super::poll_until(wait, Duration::from_secs(5), move || async move {
            let v = this.get(calls, path).await?;
            match v.get("state").and_then(Value::as_str).unwrap_or("") {
                "COMPLETE" => Ok(true),
                "FAILED" => {
                    let why = v
                        .pointer("/errors/0/detail")
                        .and_then(Value::as_str)
                        .unwrap_or("the job failed");
                    Err(SapError::Status {
                        status: 502,
                        message: Some(why.to_string()),
                    })
                }
                _ => Ok(false),
            }
        })
        .await
    }

    /// A key of the instance: (guid, ready).
    pub async fn key(
        &self,
        calls: &Calls,
        instance: &str,
        name: &str,
    ) -> Result<Option<(String, bool)>, SapError> {
        let found = self
            .resources(
                calls,
                &format!(
                    "/v3/service_credential_bindings?service_instance_guids={}&names={}",
                    enc(instance),
                    enc(name)
                ),
            )
            .await?;
        Ok(found.first().map(|b| {
            (
                guid(b),
                b.pointer("/last_operation/state").and_then(Value::as_str) == Some("succeeded"),
            )
        }))
    }

    /// A key of the instance, with the broker's `parameters` (an x509 key's, O.1).
    pub async fn create_key(
        &self,
        calls: &Calls,
        instance: &str,
        name: &str,
        parameters: &Value,
    ) -> Result<String, SapError> {
        let mut body = json!({"type": "key", "name": name, "relationships": {"service_instance": {"data": {"guid": instance}}}});
        if parameters.as_object().is_some_and(|p| !p.is_empty()) {
            body["parameters"] = parameters.clone();
        }
        match self
            .post(calls, "/v3/service_credential_bindings", &body)
            .await?
        {
            Posted::Job(j) => Ok(j),
            Posted::Made(v) => Ok(guid(&v)),
        }
    }

    /// The key's credentials: the Task Center service key.
    pub async fn key_credentials(&self, calls: &Calls, key: &str) -> Result<Value, SapError> {
        let v = self
            .get(
                calls,
                &format!("/v3/service_credential_bindings/{}/details", enc(key)),
            )
            .await?;
        v.get("credentials")
            .cloned()
            .ok_or_else(|| SapError::Garbage {
                what: "key details without credentials".into(),
            })
    }
}

enum Posted {
    Made(Value),
    Job(String),
}
