//! S/4HANA Cloud communication management through SAP_COM_0A48 (sap-apis.md
//! D.1-D.3): a session of the bootstrap communication user with its CSRF
//! token and cookie, reads and writes of the three OData V4 services.

use reqwest::Method;
use serde_json::{Map, Value};

use super::{Auth, Calls, Req, SapClient, SapError, Service};

pub const CU: &str =
    "/sap/opu/odata4/sap/aps_com_cu_a4c_odata/srvd_a2x/sap/aps_com_cu_a4c_odata/0001";
pub const CS: &str =
    "/sap/opu/odata4/sap/aps_com_cs_a4c_odata/srvd_a2x/sap/aps_com_cs_a4c_odata/0001";
pub const CA: &str =
    "/sap/opu/odata4/sap/aps_com_ca_a4c_odata/srvd_a2x/sap/aps_com_ca_a4c_odata/0001";

pub const SCIM: &str = "/sap/bc/http/sap/aps_iam_api_scim";
const SAP_USER: &str = "urn:ietf:params:scim:schemas:extension:sap:2.0:User";

pub type Entity = Map<String, Value>;

/// A signed-in session with the tenant's communication management.
pub struct Session<'a> {
    c: &'a SapClient,
    /// `https://<host>-api.<domain>`
    api: String,
    user: String,
    password: String,
    csrf: String,
    cookie: String,
}

/// The error of an answer; a refused CSRF token is told apart (D.1).
fn failure(resp: super::Resp) -> SapError {
    if resp.status == 403
        && resp
            .csrf
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("required"))
    {
        return SapError::Status {
            status: 403,
            message: Some("CSRF token validation failed".into()),
        };
    }
    resp.into_error()
}

/// What went wrong, in the consultant's words (S/4HANA's text and code kept).
pub fn explain(e: &SapError) -> String {
    match e {
        SapError::Status { status: 401, .. } => "S/4HANA refused the API user (401): check its name and password, and that it is the inbound user of a SAP_COM_0A48 communication arrangement.".into(),
        SapError::Status { status: 403, message } if message.as_deref() == Some("CSRF token validation failed") => {
            "S/4HANA refused the write: its CSRF token was not accepted (403). Run it again; the wizard fetches a new token.".into()
        }
        SapError::Status { status: 500, .. } => format!(
            "{} If S/4HANA answers 500 every time, it may not offer this API: only S/4HANA Cloud Public Edition does, not on-premise or Private Edition.",
            e.explain()
        ),
        other => other.explain(),
    }
}

impl<'a> Session<'a> {
    /// Sign in with the bootstrap user and fetch a CSRF token (`X-CSRF-Token: Fetch`).
    pub async fn connect(
        c: &'a SapClient,
        calls: &Calls,
        api: &str,
        user: &str,
        password: &str,
    ) -> Result<Session<'a>, SapError> {
        Self::connect_at(c, calls, api, &format!("{CU}/"), user, password).await
    }

    /// The same against SCIM (SAP_COM_0465, sap-apis.md E).
    pub async fn connect_scim(
        c: &'a SapClient,
        calls: &Calls,
        api: &str,
        user: &str,
        password: &str,
    ) -> Result<Session<'a>, SapError> {
        Self::connect_at(
            c,
            calls,
            api,
            &format!("{SCIM}/Users?count=1"),
            user,
            password,
        )
        .await
    }

    async fn connect_at(
        c: &'a SapClient,
        calls: &Calls,
        api: &str,
        path: &str,
        user: &str,
        password: &str,
    ) -> Result<Session<'a>, SapError> {
        let mut req = Req::get(
            Service::S4,
            format!("{api}{path}"),
            Auth::Basic(user, password),
        );
        req.headers.push(("X-CSRF-Token", "Fetch"));
        let resp = c.send(calls, req).await?;
        if !resp.ok() {
            return Err(resp.into_error());
        }
        let csrf = resp.csrf.clone().ok_or(SapError::Garbage {
            what: "an answer without an x-csrf-token".into(),
        })?;
        Ok(Session {
            c,
            api: api.to_string(),
            user: user.to_string(),
            password: password.to_string(),
            csrf,
            cookie: resp.cookies.join("; "),
        })
    }

    /// Read the three services, as the connection check does.
    pub async fn check(&self, calls: &Calls) -> Result<(usize, usize, usize), SapError> {
        let (u, s, a) = tokio::join!(
            self.list(calls, CU, "CommunicationUsers", None),
            self.list(calls, CS, "CommunicationSystems", None),
            self.list(calls, CA, "CommunicationArrangements", None),
        );
        Ok((u?.len(), s?.len(), a?.len()))
    }

    fn req<'r>(&'r self, method: Method, url: String, json: Option<&'r Value>) -> Req<'r> {
        let mut r = Req::get(Service::S4, url, Auth::Basic(&self.user, &self.password));
        r.method = method;
        r.json = json;
        r.headers.push(("Accept", "application/json"));
        if r.method != Method::GET {
            r.headers.push(("x-csrf-token", &self.csrf));
            r.headers.push(("Cookie", &self.cookie));
        }
        r
    }

    /// `GET {base}/{set}[?$filter=...&$expand=...]`: the `value` array.
    pub async fn list(
        &self,
        calls: &Calls,
        base: &str,
        set: &str,
        query: Option<&[(&str, &str)]>,
    ) -> Result<Vec<Entity>, SapError> {
        Ok(self
            .get_json(calls, &format!("{base}/{set}"), query.unwrap_or(&[]))
            .await?
            .get("value")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_object().cloned()).collect())
            .unwrap_or_default())
    }

    /// `GET {path}?{query}` on the API host: the JSON answer of a 2xx.
    async fn get_json(
        &self,
        calls: &Calls,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, SapError> {
        let mut url =
            reqwest::Url::parse(&format!("{}{path}", self.api)).map_err(|_| SapError::BadUrl {
                url: self.api.clone(),
            })?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let resp = self
            .c
            .send(calls, self.req(Method::GET, url.to_string(), None))
            .await?;
        if !resp.ok() {
            return Err(resp.into_error());
        }
        resp.json()
    }

    /// `POST {base}/{set}`: the created entity (201).
    pub async fn create(
        &self,
        calls: &Calls,
        base: &str,
        set: &str,
        body: &Value,
    ) -> Result<Entity, SapError> {
        let url = format!("{}{base}/{set}", self.api);
        let resp = self
            .c
            .send(calls, self.req(Method::POST, url, Some(body)))
            .await?;
        if !resp.ok() {
            return Err(failure(resp));
        }
        match resp.json()? {
            Value::Object(m) => Ok(m),
            _ => Err(SapError::Garbage {
                what: "a created entity that is not an object".into(),
            }),
        }
    }

    /// `PATCH {base}/{set}({key})`.
    pub async fn patch(
        &self,
        calls: &Calls,
        base: &str,
        set: &str,
        key: &str,
        body: &Value,
    ) -> Result<(), SapError> {
        self.patch_path(calls, base, &format!("{set}({key})"), body)
            .await
    }

    /// `PATCH {base}/{path}`: an entity or one of its navigations.
    pub async fn patch_path(
        &self,
        calls: &Calls,
        base: &str,
        path: &str,
        body: &Value,
    ) -> Result<(), SapError> {
        let url = format!("{}{base}/{path}", self.api);
        let resp = self
            .c
            .send(calls, self.req(Method::PATCH, url, Some(body)))
            .await?;
        if resp.ok() {
            Ok(())
        } else {
            Err(failure(resp))
        }
    }

    /// The business user with this e-mail (SCIM `emails.value eq`), if one.
    pub async fn scim_user_by_email(
        &self,
        calls: &Calls,
        email: &str,
    ) -> Result<Option<Value>, SapError> {
        let filter = format!("emails.value eq \"{}\"", email.replace('"', ""));
        let query = [("filter", filter.as_str()), ("count", "2")];
        Ok(self
            .get_json(calls, &format!("{SCIM}/Users"), &query)
            .await?
            .get("Resources")
            .and_then(Value::as_array)
            .and_then(|r| r.first().cloned()))
    }

    /// Set a business user's Global User ID: PATCH `replace` on
    /// `…:sap:2.0:User:userUuid`, falling back to PUT of the whole resource
    /// on 400/501 (sap-apis.md E: which S/4HANA accepts is [U]).
    pub async fn scim_set_global_id(
        &self,
        calls: &Calls,
        user: &Value,
        uuid: &str,
    ) -> Result<Value, SapError> {
        let id = user.get("id").and_then(Value::as_str).unwrap_or("");
        let url = format!("{}{SCIM}/Users/{id}", self.api);
        let patch = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": format!("{SAP_USER}:userUuid"), "value": uuid}],
        });
        let resp = self
            .c
            .send(calls, self.req(Method::PATCH, url.clone(), Some(&patch)))
            .await?;
        let resp = if matches!(resp.status, 400 | 501) {
            let mut full = user.clone();
            full[SAP_USER]["userUuid"] = Value::String(uuid.to_string());
            self.c
                .send(calls, self.req(Method::PUT, url, Some(&full)))
                .await?
        } else {
            resp
        };
        if !resp.ok() {
            return Err(failure(resp));
        }
        resp.json()
    }
}

/// A SCIM user's Global User ID.
pub fn global_id(user: &Value) -> Option<&str> {
    user.get(SAP_USER)?.get("userUuid")?.as_str()
}
