//! The BTP half's services (sap-apis-btp.md G-L): a global account's
//! Accounts and Entitlements services with the central Cloud Management key,
//! a subaccount's Provisioning and SaaS services with its local key, and its
//! XSUAA API (trust, role collections). Reads first, writes only when told;
//! a 429 or the entitlement lock (30004) is retried as SAP's client does.

use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Calls, Resp, SapClient, SapError, Service, TokenSession, xsuaa};
use crate::domain::CisKey;

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// Send, and retry what SAP says to retry (G.6: 429, 503 and the 400 with
/// code 30004), a few times with a growing pause. Any other answer returns.
async fn send(
    s: &TokenSession<'_>,
    calls: &Calls,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Resp, SapError> {
    let mut pause = Duration::from_millis(300);
    for attempt in 0..5 {
        let resp = s.c.send(calls, s.req(method.clone(), path, body)).await?;
        let locked = resp.status == 400 && resp.body.contains("30004");
        if attempt < 4 && (resp.status == 429 || resp.status == 503 || locked) {
            tokio::time::sleep(pause).await;
            pause *= 2;
            continue;
        }
        return Ok(resp);
    }
    Err(SapError::Status {
        status: 429,
        message: Some("SAP kept answering \"try again later\"".into()),
    })
}

fn json_of(resp: Resp) -> Result<Value, SapError> {
    if resp.ok() {
        resp.json()
    } else {
        Err(resp.into_error())
    }
}

/// The array at `key` of `v` (none when absent).
fn items<'v>(v: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// Every (service, plan) of an Entitlements answer's `key` list (I.2).
fn plans_of<'v>(v: &'v Value, key: &str) -> impl Iterator<Item = (&'v Value, &'v Value)> {
    items(v, key).flat_map(|svc| items(svc, "servicePlans").map(move |p| (svc, p)))
}

/// The global account, through the central key (G.4).
pub struct Central<'a> {
    accounts: TokenSession<'a>,
    entitlements: TokenSession<'a>,
}

pub async fn central<'a>(
    c: &'a SapClient,
    calls: &Calls,
    key: &CisKey,
) -> Result<Central<'a>, SapError> {
    let creds = (
        key.url.as_str(),
        key.clientid.as_str(),
        key.clientsecret.as_str(),
    );
    let accounts =
        TokenSession::connect(c, calls, Service::Cis, key.accounts_url.clone(), creds).await?;
    let entitlements = accounts.on(Service::Cis, &key.entitlements_url);
    Ok(Central {
        accounts,
        entitlements,
    })
}

/// One plan's assignment to a subaccount, as the Entitlements service says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    pub service: String,
    pub plan: String,
    pub state: String,
    pub message: String,
    /// `amount` 0 or `enable: false`: assigned away.
    pub off: bool,
}

/// A plan of the global account's catalog: its category decides `enable`
/// or `amount` (I.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitled {
    pub service: String,
    pub plan: String,
    pub category: String,
}

impl Central<'_> {
    pub async fn subaccounts(&self, calls: &Calls) -> Result<Vec<Value>, SapError> {
        let v = json_of(
            send(
                &self.accounts,
                calls,
                Method::GET,
                "/accounts/v1/subaccounts",
                None,
            )
            .await?,
        )?;
        Ok(v.get("value")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    pub async fn subaccount(&self, calls: &Calls, guid: &str) -> Result<Option<Value>, SapError> {
        let resp = send(
            &self.accounts,
            calls,
            Method::GET,
            &format!("/accounts/v1/subaccounts/{}", enc(guid)),
            None,
        )
        .await?;
        if resp.status == 404 {
            return Ok(None);
        }
        json_of(resp).map(Some)
    }

    /// `POST /accounts/v1/subaccounts` (H.1): the object in `STARTED`.
    pub async fn create_subaccount(&self, calls: &Calls, body: &Value) -> Result<Value, SapError> {
        json_of(
            send(
                &self.accounts,
                calls,
                Method::POST,
                "/accounts/v1/subaccounts",
                Some(body),
            )
            .await?,
        )
    }

    pub async fn assignments(
        &self,
        calls: &Calls,
        guid: &str,
    ) -> Result<(Vec<Assigned>, Vec<Entitled>), SapError> {
        // Without a subaccount yet: the global account's catalog only.
        let path = match guid {
            "" => "/entitlements/v1/assignments".to_string(),
            g => format!("/entitlements/v1/assignments?subaccountGUID={}", enc(g)),
        };
        let resp = send(&self.entitlements, calls, Method::GET, &path, None).await?;
        if resp.status == 204 {
            return Ok((Vec::new(), Vec::new()));
        }
        let v = json_of(resp)?;
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let mut assigned = Vec::new();
        for (svc, plan) in plans_of(&v, "assignedServices") {
            for info in items(plan, "assignmentInfo") {
                if info.get("entityId").and_then(Value::as_str) != Some(guid) {
                    continue;
                }
                assigned.push(Assigned {
                    service: s(svc, "name"),
                    plan: s(plan, "name"),
                    state: s(info, "entityState"),
                    message: s(info, "stateMessage"),
                    off: info.get("amount").and_then(Value::as_f64) == Some(0.0),
                });
            }
        }
        let entitled = plans_of(&v, "entitledServices")
            .map(|(svc, plan)| Entitled {
                service: s(svc, "name"),
                plan: s(plan, "name"),
                category: s(plan, "category"),
            })
            .collect();
        Ok((assigned, entitled))
    }

    /// Assign plans to a subaccount (I.1): `enable` or `amount` by category.
    pub async fn assign(
        &self,
        calls: &Calls,
        guid: &str,
        plans: &[Entitled],
    ) -> Result<(), SapError> {
        let body = json!({"subaccountServicePlans": plans.iter().map(|p| {
            let info = if matches!(p.category.as_str(), "SERVICE" | "QUOTA_BASED_APPLICATION") {
                json!({"subaccountGUID": guid, "amount": 1})
            } else {
                json!({"subaccountGUID": guid, "enable": true})
            };
            json!({"serviceName": p.service, "servicePlanName": p.plan, "assignmentInfo": [info]})
        }).collect::<Vec<_>>()});
        let resp = send(
            &self.entitlements,
            calls,
            Method::PUT,
            "/entitlements/v1/subaccountServicePlans",
            Some(&body),
        )
        .await?;
        if resp.ok() {
            Ok(())
        } else {
            Err(resp.into_error())
        }
    }

    /// The subaccount's Service Manager binding (G.5, v1), if it has one.
    pub async fn sm_binding(&self, calls: &Calls, guid: &str) -> Result<Option<Value>, SapError> {
        let path = format!(
            "/accounts/v1/subaccounts/{}/serviceManagementBinding",
            enc(guid)
        );
        let resp = send(&self.accounts, calls, Method::GET, &path, None).await?;
        if resp.status == 404 {
            return Ok(None);
        }
        json_of(resp).map(Some)
    }

    /// Create it; a 409 (made meanwhile) reads the existing one (G.5).
    pub async fn create_sm_binding(&self, calls: &Calls, guid: &str) -> Result<Value, SapError> {
        let path = format!(
            "/accounts/v1/subaccounts/{}/serviceManagementBinding",
            enc(guid)
        );
        let resp = send(&self.accounts, calls, Method::POST, &path, None).await?;
        if resp.status == 409 {
            return self.sm_binding(calls, guid).await?.ok_or(SapError::Status {
                status: 409,
                message: Some("SAP says a binding exists but does not show it".into()),
            });
        }
        json_of(resp)
    }
}

/// A subaccount's Provisioning and SaaS services, through its local key.
pub struct Local<'a> {
    provisioning: TokenSession<'a>,
    saas: TokenSession<'a>,
}

/// Connect with a `cis`/`local` key's credentials (G.2 shape).
pub async fn local<'a>(
    c: &'a SapClient,
    calls: &Calls,
    key: &Value,
) -> Result<Local<'a>, SapError> {
    let t = |p: &str| {
        key.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (url, id, secret) = (t("/uaa/url"), t("/uaa/clientid"), t("/uaa/clientsecret"));
    let provisioning = TokenSession::connect(
        c,
        calls,
        Service::Cis,
        t("/endpoints/provisioning_service_url"),
        (&url, &id, &secret),
    )
    .await?;
    let saas = provisioning.on(Service::Cis, &t("/endpoints/saas_registry_service_url"));
    Ok(Local { provisioning, saas })
}

impl Local<'_> {
    pub async fn environments(&self, calls: &Calls) -> Result<Vec<Value>, SapError> {
        let v = json_of(
            send(
                &self.provisioning,
                calls,
                Method::GET,
                "/provisioning/v1/environments",
                None,
            )
            .await?,
        )?;
        Ok(v.get("environmentInstances")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    pub async fn environment(&self, calls: &Calls, id: &str) -> Result<Value, SapError> {
        json_of(
            send(
                &self.provisioning,
                calls,
                Method::GET,
                &format!("/provisioning/v1/environments/{}", enc(id)),
                None,
            )
            .await?,
        )
    }

    /// `POST /provisioning/v1/environments` (J.1): the new instance's id.
    pub async fn create_environment(
        &self,
        calls: &Calls,
        body: &Value,
    ) -> Result<String, SapError> {
        let v = json_of(
            send(
                &self.provisioning,
                calls,
                Method::POST,
                "/provisioning/v1/environments",
                Some(body),
            )
            .await?,
        )?;
        v.get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| SapError::Garbage {
                what: "an environment answer without an id".into(),
            })
    }

    /// The application as the subaccount sees it; `None` when SAP does not
    /// list it (404, or the 429 SAP's client reads as absent, K.4).
    pub async fn application(&self, calls: &Calls, app: &str) -> Result<Option<Value>, SapError> {
        let resp = send(
            &self.saas,
            calls,
            Method::GET,
            &format!("/saas-manager/v1/applications/{}", enc(app)),
            None,
        )
        .await?;
        if matches!(resp.status, 404 | 204) {
            return Ok(None);
        }
        json_of(resp).map(Some)
    }

    /// `POST …/subscription` (K.2): 202; a 409 means it is there already.
    pub async fn subscribe(&self, calls: &Calls, app: &str, plan: &str) -> Result<(), SapError> {
        let body = json!({ "planName": plan });
        let resp = send(
            &self.saas,
            calls,
            Method::POST,
            &format!("/saas-manager/v1/applications/{}/subscription", enc(app)),
            Some(&body),
        )
        .await?;
        if resp.ok() || resp.status == 409 {
            Ok(())
        } else {
            Err(resp.into_error())
        }
    }
}

/// A subaccount's XSUAA API through an `apiaccess` key (L.1).
pub struct XsApi<'a>(TokenSession<'a>);

pub async fn xsuaa_api<'a>(
    c: &'a SapClient,
    calls: &Calls,
    key: &Value,
) -> Result<XsApi<'a>, SapError> {
    let t = |k: &str| key.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let token =
        xsuaa::client_credentials(c, calls, &t("url"), &t("clientid"), &t("clientsecret")).await?;
    Ok(XsApi(TokenSession::with_token(
        c,
        Service::XsuaaApi,
        &t("apiurl"),
        token.access_token,
    )))
}

/// A role a collection refers to (L.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRef {
    pub app: String,
    pub template: String,
}

impl XsApi<'_> {
    pub async fn identity_providers(&self, calls: &Calls) -> Result<Vec<Value>, SapError> {
        let v = json_of(
            send(
                &self.0,
                calls,
                Method::GET,
                "/sap/rest/identity-providers",
                None,
            )
            .await?,
        )?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// The IAS tenants this subaccount may trust (same customer ID, no trust yet).
    pub async fn ias_tenants(&self, calls: &Calls) -> Result<Vec<String>, SapError> {
        let v = json_of(
            send(
                &self.0,
                calls,
                Method::GET,
                "/sap/rest/identity-providers/ias",
                None,
            )
            .await?,
        )?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                t.get("host")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_lowercase)
            })
            .collect())
    }

    pub async fn create_trust(&self, calls: &Calls, ias_host: &str) -> Result<Value, SapError> {
        // SAP's sample sends type and tenant only; its file requires the
        // name and origin too (`XSIdentityProvider`): the defaults, spelt out.
        let body = json!({"name": "Custom IAS tenant", "originKey": "sap.custom", "type": "oidc1.0",
                          "config": {"iasTenant": {"host": ias_host}}});
        json_of(
            send(
                &self.0,
                calls,
                Method::POST,
                "/sap/rest/identity-providers",
                Some(&body),
            )
            .await?,
        )
    }

    /// The application ids whose role templates exist in the subaccount.
    pub async fn apps(&self, calls: &Calls) -> Result<Vec<String>, SapError> {
        let v = json_of(
            send(
                &self.0,
                calls,
                Method::GET,
                "/sap/rest/authorization/v2/apps",
                None,
            )
            .await?,
        )?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("appid").and_then(Value::as_str).map(str::to_string))
            .collect())
    }

    /// A role collection with its users, if it exists.
    pub async fn collection(&self, calls: &Calls, name: &str) -> Result<Option<Value>, SapError> {
        let resp = send(
            &self.0,
            calls,
            Method::GET,
            &format!(
                "/sap/rest/authorization/v2/rolecollections/{}?withUsers=true",
                enc(name)
            ),
            None,
        )
        .await?;
        if resp.status == 404 {
            return Ok(None);
        }
        json_of(resp).map(Some)
    }

    pub async fn create_collection(
        &self,
        calls: &Calls,
        name: &str,
        roles: &[RoleRef],
    ) -> Result<(), SapError> {
        let body = json!({"name": name, "description": name, "roleReferences": roles.iter().map(|r| json!({
            "roleTemplateAppId": r.app, "roleTemplateName": r.template, "name": r.template})).collect::<Vec<_>>()});
        let resp = send(
            &self.0,
            calls,
            Method::POST,
            "/sap/rest/authorization/v2/rolecollections",
            Some(&body),
        )
        .await?;
        if resp.ok() {
            Ok(())
        } else {
            Err(resp.into_error())
        }
    }

    /// Assign a collection to a user of `origin` (idempotent: 200 again, L.3).
    pub async fn assign(
        &self,
        calls: &Calls,
        origin: &str,
        user: &str,
        collection: &str,
    ) -> Result<(), SapError> {
        let path = format!(
            "/sap/rest/user/origin/{}/name/{}/rolecollections/{}?createUserIfMissing=true",
            enc(origin),
            enc(user),
            enc(collection)
        );
        let resp = send(&self.0, calls, Method::PUT, &path, None).await?;
        if resp.ok() {
            Ok(())
        } else {
            Err(resp.into_error())
        }
    }
}
