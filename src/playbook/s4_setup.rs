//! Steps 3.3-3.5 through S/4HANA's communication management API (sap-apis.md
//! D.3): what the answers want, read against what the tenant has, as a plan
//! of objects and fields; applied in the documented order (user, system,
//! inbound user, arrangement), creating what is missing and updating what
//! differs — never deleting, never duplicating.

use serde_json::{Value, json};

use super::Ctx;
use crate::sap::s4::{CA, CS, CU, Entity, Session};
use crate::sap::{Calls, SapError};

/// The [U] points of D.2/D.3 this plan depends on, kept in one place and
/// shown on the plan page for the consultant to check on a real tenant.
pub const UNCONFIRMED: &[&str] = &[
    "The certificate field (OAuth2IdentityProviderCertificatePublicKeyBase64) gets the PEM body (base64 of the DER); check in Communication Systems that the uploaded certificate shows the subaccount's subject.",
    "The inbound user is created with authentication method OAuth 2.0 and no grant type; check in the arrangement that its inbound user uses OAuth 2.0 (SAML bearer).",
    "The OAuth 2.0 client ID is taken from the inbound user as S/4HANA derives it (expected: the communication user's name); check it under OAuth 2.0 Details of the arrangement.",
    "With push, the communication system keeps the S/4HANA host as host name and gets the push key's token URL (uaa.url + /oauth/token) as OAuth 2.0 token endpoint; check in the arrangement's outbound services that the push service is active and uses the outbound user (a community guide uses the Task Center host instead).",
];

pub const SCENARIO: &str = "SAP_COM_0501";

/// What the answers ask S/4HANA to have.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub api: String,
    pub host: String,
    pub user: String,
    pub description: String,
    pub system_id: String,
    pub system_name: String,
    pub issuer: String,
    pub certificate_b64: String,
    pub arrangement: String,
    /// The push channel's outbound user, when a dedicated key was given.
    pub push: Option<Push>,
}

/// OAuth 2.0 client credentials of the dedicated Task Center key (3.1).
#[derive(Debug, Clone)]
pub struct Push {
    pub client_id: String,
    pub secret: String,
    pub token_url: String,
}

/// The PEM body: base64 of the DER, one line ([U], see `UNCONFIRMED`).
fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.trim().chars())
        .collect()
}

/// Read the wanted state from the answers; the message names what is missing.
pub fn wanted(ctx: &Ctx) -> Result<Wanted, String> {
    let s4 = ctx
        .s4()
        .ok_or("First enter the S/4HANA host (Customer systems).")?;
    let pem = ctx
        .get("certificate")
        .filter(|p| p.contains("BEGIN CERTIFICATE"))
        .ok_or("First give the trust certificate (step 3.2): the communication system needs it.")?;
    let get = |k: &str, default: &str| ctx.get(k).unwrap_or(default).to_string();
    let push = match (ctx.get("push_clientid"), ctx.get("push_uaa_url")) {
        (Some(client), Some(uaa)) => Some(Push {
            client_id: client.to_string(),
            secret: ctx
                .secret_to_send("push_clientsecret")?
                .ok_or("Paste the push key again in step 3.1: its client secret is missing.")?,
            token_url: format!("{}/oauth/token", uaa.trim_end_matches('/')),
        }),
        _ => None,
    };
    Ok(Wanted {
        api: format!("https://{}", s4.api_host()),
        host: s4.host(),
        user: get("comm_user", "TASKCENTERCOM"),
        description: get("comm_user_description", "SAP Task Center inbound"),
        system_id: get("comm_system_id", "TASKCENTER_BTP"),
        system_name: get("comm_system_name", "SAP Task Center on BTP"),
        issuer: ctx.get("cert_cn").unwrap_or("").to_string(),
        certificate_b64: pem_body(pem),
        arrangement: get("arrangement_name", "SAP_COM_0501_TASKCENTER"),
        push,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Todo {
    Create,
    Update,
    Nothing,
}

/// One object of the plan, field by field: (field, in S/4HANA now, wanted).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Item {
    pub object: &'static str,
    pub name: String,
    pub todo: Todo,
    pub fields: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    pub items: Vec<Item>,
}

impl Plan {
    /// A fingerprint of what the consultant saw, so apply writes only that.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(
            serde_json::to_string(self).unwrap_or_default().as_bytes(),
        ))
    }
    pub fn nothing_to_do(&self) -> bool {
        self.items.iter().all(|i| i.todo == Todo::Nothing)
    }
}

fn s(e: &Entity, k: &str) -> String {
    match e.get(k) {
        Some(Value::String(v)) => v.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn system_fields(w: &Wanted) -> Vec<(&'static str, Value)> {
    let mut fields = vec![
        ("HostName", json!(w.host)),
        ("IsOAuth2IdentityProviderActive", json!(true)),
        ("OAuth2IdentityProviderName", json!(w.issuer)),
        ("OAuth2IdentityProviderUserLogonType", json!("user_uuid")),
        (
            "OAuth2IdentityProviderCertificatePublicKeyBase64",
            json!(w.certificate_b64),
        ),
    ];
    if let Some(p) = &w.push {
        fields.push(("IsInboundOnly", json!(false)));
        fields.push(("OAuth2TokenEndpoint", json!(p.token_url)));
    }
    fields
}

fn outbound_body(system_uuid: &str, p: &Push) -> Value {
    json!({"CommunicationSystemUUID": system_uuid, "Name": p.client_id, "AuthenticationMethod": "oauth2",
        "OAuth2ClientID": p.client_id, "Password": p.secret, "OAuth2ClientAuthenticationMethod": "basic"})
}

/// What S/4HANA has now, for the plan and for apply.
struct Current {
    user: Option<Entity>,
    system: Option<Entity>,
    inbound: Option<Entity>,
    outbound: Option<Entity>,
    arrangement: Option<Entity>,
}

async fn read(api: &Session<'_>, calls: &Calls, w: &Wanted) -> Result<Current, SapError> {
    let user_filter = format!("Name eq '{}'", w.user.replace('\'', "''"));
    let system_filter = format!("ID eq '{}'", w.system_id.replace('\'', "''"));
    let arr_filter = format!("CommunicationScenarioID eq '{SCENARIO}'");
    let (uq, sq) = (
        [("$filter", user_filter.as_str())],
        [("$filter", system_filter.as_str())],
    );
    let aq = [
        ("$filter", arr_filter.as_str()),
        ("$expand", "InboundUser,OutboundUser"),
    ];
    let (users, systems, arrangements) = tokio::join!(
        api.list(calls, CU, "CommunicationUsers", Some(&uq)),
        api.list(calls, CS, "CommunicationSystems", Some(&sq)),
        api.list(calls, CA, "CommunicationArrangements", Some(&aq)),
    );
    let user = users?.into_iter().next();
    let system = systems?.into_iter().next();
    let of_system = system
        .as_ref()
        .map(|sy| format!("CommunicationSystemUUID eq '{}'", s(sy, "UUID")));
    let inbound = async {
        match (&user, &of_system) {
            (Some(u), Some(f)) => Ok(api
                .list(calls, CS, "InboundUsers", Some(&[("$filter", f.as_str())]))
                .await?
                .into_iter()
                .find(|i| s(i, "CommunicationUserID") == s(u, "ID"))),
            _ => Ok::<_, SapError>(None),
        }
    };
    let outbound = async {
        match (&w.push, &of_system) {
            (Some(p), Some(f)) => Ok(api
                .list(calls, CS, "OutboundUsers", Some(&[("$filter", f.as_str())]))
                .await?
                .into_iter()
                .find(|o| s(o, "OAuth2ClientID") == p.client_id)),
            _ => Ok::<_, SapError>(None),
        }
    };
    let (inbound, outbound) = tokio::join!(inbound, outbound);
    let (inbound, outbound) = (inbound?, outbound?);
    let arrangement = arrangements?
        .into_iter()
        .find(|a| s(a, "CommunicationSystemID") == w.system_id);
    Ok(Current {
        user,
        system,
        inbound,
        outbound,
        arrangement,
    })
}

fn plan_of(w: &Wanted, c: &Current) -> Plan {
    let mut items = Vec::new();
    items.push(match &c.user {
        Some(u) => Item {
            object: "Communication user",
            name: w.user.clone(),
            todo: Todo::Nothing,
            fields: vec![
                ("Name".into(), s(u, "Name"), w.user.clone()),
                ("ID".into(), s(u, "ID"), s(u, "ID")),
            ],
        },
        None => Item {
            object: "Communication user",
            name: w.user.clone(),
            todo: Todo::Create,
            fields: vec![
                ("Name".into(), String::new(), w.user.clone()),
                ("Description".into(), String::new(), w.description.clone()),
                (
                    "Password".into(),
                    String::new(),
                    "generated: 32 characters, saved encrypted for the destination".into(),
                ),
            ],
        },
    });
    let wanted_fields = system_fields(w);
    items.push(match &c.system {
        Some(sy) => {
            let fields: Vec<(String, String, String)> = wanted_fields
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        s(sy, k),
                        match v {
                            Value::String(x) => x.clone(),
                            other => other.to_string(),
                        },
                    )
                })
                .collect();
            let differs = fields.iter().any(|(_, now, want)| now != want);
            Item {
                object: "Communication system",
                name: w.system_id.clone(),
                todo: if differs { Todo::Update } else { Todo::Nothing },
                fields,
            }
        }
        None => Item {
            object: "Communication system",
            name: w.system_id.clone(),
            todo: Todo::Create,
            fields: std::iter::once(("ID".to_string(), String::new(), w.system_id.clone()))
                .chain(wanted_fields.iter().map(|(k, v)| {
                    (
                        k.to_string(),
                        String::new(),
                        match v {
                            Value::String(x) => x.clone(),
                            other => other.to_string(),
                        },
                    )
                }))
                .collect(),
        },
    });
    items.push(match &c.inbound {
        Some(i) => {
            let todo = if s(i, "AuthenticationMethod") == "oauth2" {
                Todo::Nothing
            } else {
                Todo::Update
            };
            Item {
                object: "Inbound user",
                name: w.user.clone(),
                todo,
                fields: vec![
                    (
                        "AuthenticationMethod".into(),
                        s(i, "AuthenticationMethod"),
                        "oauth2".into(),
                    ),
                    (
                        "OAuth2ClientID".into(),
                        s(i, "OAuth2ClientID"),
                        s(i, "OAuth2ClientID"),
                    ),
                ],
            }
        }
        None => Item {
            object: "Inbound user",
            name: w.user.clone(),
            todo: Todo::Create,
            fields: vec![(
                "AuthenticationMethod".into(),
                String::new(),
                "oauth2".into(),
            )],
        },
    });
    if let Some(p) = &w.push {
        items.push(Item {
            object: "Outbound user (push)",
            name: p.client_id.clone(),
            todo: if c.outbound.is_some() {
                Todo::Nothing
            } else {
                Todo::Create
            },
            fields: vec![
                (
                    "AuthenticationMethod".into(),
                    c.outbound
                        .as_ref()
                        .map(|o| s(o, "AuthenticationMethod"))
                        .unwrap_or_default(),
                    "oauth2".into(),
                ),
                (
                    "OAuth2ClientID".into(),
                    c.outbound
                        .as_ref()
                        .map(|o| s(o, "OAuth2ClientID"))
                        .unwrap_or_default(),
                    p.client_id.clone(),
                ),
                (
                    "Password".into(),
                    String::new(),
                    "the push key's client secret".into(),
                ),
            ],
        });
    }
    items.push(match &c.arrangement {
        Some(a) => {
            let has = arrangement_outbound(a);
            let want = c.outbound.as_ref().map(|o| s(o, "UUID"));
            let mut fields = vec![
                (
                    "CommunicationScenarioID".into(),
                    s(a, "CommunicationScenarioID"),
                    SCENARIO.into(),
                ),
                (
                    "CommunicationSystemID".into(),
                    s(a, "CommunicationSystemID"),
                    w.system_id.clone(),
                ),
            ];
            let mut todo = Todo::Nothing;
            if w.push.is_some() {
                let wanted = want
                    .clone()
                    .unwrap_or_else(|| "the new outbound user".into());
                if has.as_deref() != want.as_deref() || want.is_none() {
                    todo = Todo::Update;
                }
                fields.push(("OutboundUser".into(), has.unwrap_or_default(), wanted));
            }
            Item {
                object: "Communication arrangement",
                name: s(a, "Name"),
                todo,
                fields,
            }
        }
        None => Item {
            object: "Communication arrangement",
            name: w.arrangement.clone(),
            todo: Todo::Create,
            fields: vec![
                (
                    "CommunicationScenarioID".into(),
                    String::new(),
                    SCENARIO.into(),
                ),
                (
                    "CommunicationSystemID".into(),
                    String::new(),
                    w.system_id.clone(),
                ),
                ("Name".into(), String::new(), w.arrangement.clone()),
            ],
        },
    });
    Plan { items }
}

/// The outbound user an arrangement points at, if any.
fn arrangement_outbound(a: &Entity) -> Option<String> {
    a.get("OutboundUser")?
        .get("CommunicationSystemOutboundUserUUID")?
        .as_str()
        .map(str::to_string)
}

/// Read S/4HANA and compare it with the answers. Nothing is written.
pub async fn plan(api: &Session<'_>, calls: &Calls, w: &Wanted) -> Result<Plan, SapError> {
    Ok(plan_of(w, &read(api, calls, w).await?))
}

/// What apply did, step by step, and what the destination needs.
#[derive(Debug, Default)]
pub struct Applied {
    pub done: Vec<String>,
    pub failed: Option<String>,
    /// The OAuth 2.0 client ID S/4HANA gives the inbound user.
    pub client_id: Option<String>,
    /// The communication user's ID (`CC…`).
    pub user_id: Option<String>,
}

/// Apply the plan in D.3's order. `password` is the one already saved for
/// the destination (used only when the user is created). Stops at the first
/// failure with a record of what was done; running again continues.
pub async fn apply(api: &Session<'_>, calls: &Calls, w: &Wanted, password: &str) -> Applied {
    let mut out = Applied::default();
    let current = match read(api, calls, w).await {
        Ok(c) => c,
        Err(e) => {
            out.failed = Some(format!(
                "Reading S/4HANA failed: {}",
                crate::sap::s4::explain(&e)
            ));
            return out;
        }
    };
    macro_rules! step {
        ($what:expr, $call:expr) => {
            match $call.await {
                Ok(v) => v,
                Err(e) => {
                    out.failed = Some(format!("{} failed: {}", $what, crate::sap::s4::explain(&e)));
                    return out;
                }
            }
        };
    }
    let user = match current.user {
        Some(u) => u,
        None => {
            let body = json!({"Name": w.user, "Type": "customer_communication", "Description": w.description, "Password": password});
            let u = step!(
                format!("Creating the communication user {}", w.user),
                api.create(calls, CU, "CommunicationUsers", &body)
            );
            out.done.push(format!(
                "Created the communication user {} ({}).",
                w.user,
                s(&u, "ID")
            ));
            u
        }
    };
    out.user_id = Some(s(&user, "ID"));
    let system = match current.system {
        Some(sy) => {
            let patch: serde_json::Map<String, Value> = system_fields(w)
                .into_iter()
                .filter(|(k, v)| sy.get(*k) != Some(v))
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            if !patch.is_empty() {
                let fields: Vec<String> = patch.keys().cloned().collect();
                step!(
                    format!("Updating the communication system {}", w.system_id),
                    api.patch(
                        calls,
                        CS,
                        "CommunicationSystems",
                        &s(&sy, "UUID"),
                        &Value::Object(patch)
                    )
                );
                out.done.push(format!(
                    "Updated the communication system {}: {}.",
                    w.system_id,
                    fields.join(", ")
                ));
            }
            sy
        }
        None => {
            let mut body = serde_json::Map::new();
            body.insert("ID".into(), json!(w.system_id));
            body.insert("Name".into(), json!(w.system_name));
            body.insert("Type".into(), json!("customer_managed"));
            body.insert("TCPPort".into(), json!(443));
            body.insert("IsInboundOnly".into(), json!(true));
            for (k, v) in system_fields(w) {
                body.insert(k.into(), v);
            }
            let sy = step!(
                format!("Creating the communication system {}", w.system_id),
                api.create(calls, CS, "CommunicationSystems", &Value::Object(body))
            );
            out.done
                .push(format!("Created the communication system {}.", w.system_id));
            sy
        }
    };
    let inbound = match current
        .inbound
        .filter(|i| s(&system, "UUID") == s(i, "CommunicationSystemUUID"))
    {
        Some(i) if s(&i, "AuthenticationMethod") == "oauth2" => i,
        Some(i) => {
            let body = json!({"AuthenticationMethod": "oauth2"});
            step!(
                "Switching the inbound user to OAuth 2.0",
                api.patch(calls, CS, "InboundUsers", &s(&i, "UUID"), &body)
            );
            out.done
                .push("Switched the inbound user to OAuth 2.0.".into());
            i
        }
        None => {
            let body = json!({"CommunicationSystemUUID": s(&system, "UUID"), "CommunicationUserID": s(&user, "ID"), "AuthenticationMethod": "oauth2"});
            let i = step!(
                "Adding the inbound user to the communication system",
                api.create(calls, CS, "InboundUsers", &body)
            );
            out.done.push(format!(
                "Added {} as OAuth 2.0 inbound user of {}.",
                w.user, w.system_id
            ));
            i
        }
    };
    out.client_id = Some(s(&inbound, "OAuth2ClientID")).filter(|c| !c.is_empty());
    let outbound = match (&w.push, current.outbound) {
        (Some(_), Some(o)) => Some(s(&o, "UUID")),
        (Some(p), None) => {
            let o = step!(
                "Adding the push channel's outbound user to the communication system",
                api.create(
                    calls,
                    CS,
                    "OutboundUsers",
                    &outbound_body(&s(&system, "UUID"), p)
                )
            );
            out.done.push(format!(
                "Added the outbound user {} (OAuth 2.0 client credentials) for the push channel.",
                p.client_id
            ));
            Some(s(&o, "UUID"))
        }
        (None, _) => None,
    };
    if let (Some(a), Some(o)) = (&current.arrangement, &outbound)
        && arrangement_outbound(a).as_deref() != Some(o.as_str())
    {
        let key = format!("CommunicationArrangements({})/OutboundUser", s(a, "UUID"));
        step!(
            format!(
                "Pointing the arrangement {} at the outbound user",
                s(a, "Name")
            ),
            api.patch_path(
                calls,
                CA,
                &key,
                &json!({"CommunicationSystemOutboundUserUUID": o})
            )
        );
        out.done.push(format!(
            "The arrangement {} now pushes task changes through the outbound user.",
            s(a, "Name")
        ));
    }
    if current.arrangement.is_none() {
        let mut body = json!({"CommunicationScenarioID": SCENARIO, "CommunicationSystemID": w.system_id, "Name": w.arrangement,
            "InboundUser": {"CommunicationSystemInboundUserUUID": s(&inbound, "UUID")}});
        if let Some(o) = &outbound {
            body["OutboundUser"] = json!({"CommunicationSystemOutboundUserUUID": o});
        }
        step!(
            format!("Creating the communication arrangement {}", w.arrangement),
            api.create(calls, CA, "CommunicationArrangements", &body)
        );
        out.done.push(format!(
            "Created the communication arrangement {} ({SCENARIO}).",
            w.arrangement
        ));
    }
    out
}
