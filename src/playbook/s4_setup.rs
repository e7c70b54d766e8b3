//! Steps 3.3-3.5 through S/4HANA's communication management API (sap-apis.md
//! D.3): what the answers want, read against what the tenant has, as a plan
//! of objects and fields; applied in the documented order (user, system,
//! inbound user, arrangement), creating what is missing and updating what
//! differs — never deleting, never duplicating.

use super::ids;
use serde_json::{Value, json};

use super::Ctx;
use super::change::{Conn, FieldRow, Fill, Flow, Io, Item, Plan, Report, Todo};
use crate::sap::s4::{CA, CS, CU, Entity, Session, explain};
use crate::sap::{Calls, SapClient, SapError};

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
    /// The client of an X.509 push key: its mTLS outbound user is left to
    /// the consultant (sap-apis-btp.md O.2, field mapping [U]).
    pub push_mtls: Option<String>,
    /// The bootstrap API user of SAP_COM_0A48 and its password (step 3.3).
    pub api_user: String,
    pub api_password: String,
    /// The communication user's password, once saved (generated before the
    /// user is created, so a failure half-way never loses it).
    pub password: Option<String>,
    /// Step 3.5's values derived from the S/4HANA host and client.
    pub token_service_url: String,
    pub audience: String,
    pub replication_url: String,
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

/// What earlier steps must give before S/4HANA can be planned: the host and
/// the trust certificate; the message names the step.
pub fn earlier_steps<'c>(ctx: &'c Ctx) -> Result<(crate::domain::S4Host, &'c str), String> {
    let s4 = ctx
        .s4()
        .ok_or("First enter the S/4HANA host (Customer systems).")?;
    let pem = ctx
        .get("certificate")
        .filter(|p| p.contains("BEGIN CERTIFICATE"))
        .ok_or("First give the trust certificate (step 3.2): the communication system needs it.")?;
    Ok((s4, pem))
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
pub struct Current {
    user: Option<Entity>,
    /// Step 3.4's system, or the Task Center system that exists under
    /// another ID (see `adopted`).
    system: Option<Entity>,
    inbound: Option<Entity>,
    outbound: Option<Entity>,
    arrangement: Option<Entity>,
    /// Why an existing system under another ID is repaired instead of a
    /// second one created (a formation, or an earlier setup by hand).
    adopted: Option<String>,
    /// The arrangement that already holds step 3.5's name, when it is not
    /// the Task Center one: S/4HANA would refuse the create (CM_APS_CA/004).
    name_taken: Option<Entity>,
}

impl Current {
    /// The system ID the plan works on: the one that exists, else step 3.4's.
    fn system_id(&self, w: &Wanted) -> String {
        self.system
            .as_ref()
            .map(|sy| s(sy, "ID"))
            .unwrap_or_else(|| w.system_id.clone())
    }
    fn arrangement_name(&self, w: &Wanted) -> String {
        self.arrangement
            .as_ref()
            .map(|a| s(a, "Name"))
            .unwrap_or_else(|| w.arrangement.clone())
    }
}

/// What makes a communication system Task Center's, when its ID is not
/// step 3.4's: an SAP_COM_0501 arrangement on it, else the subaccount's
/// SAML issuer or trust certificate. The note names who likely made it
/// (section N: `provider_managed` suggests SAP's formation [U]).
fn task_center_system<'e>(
    w: &Wanted,
    systems: &'e [Entity],
    tc_arrangements: &[&Entity],
) -> Option<(&'e Entity, String)> {
    let of_arrangement = tc_arrangements.iter().find_map(|a| {
        systems
            .iter()
            .find(|sy| s(sy, "ID") == s(a, "CommunicationSystemID"))
    });
    let same_trust = || {
        systems.iter().find(|sy| {
            (!w.issuer.is_empty() && s(sy, "OAuth2IdentityProviderName") == w.issuer)
                || (!w.certificate_b64.is_empty()
                    && s(sy, "OAuth2IdentityProviderCertificatePublicKeyBase64")
                        == w.certificate_b64)
        })
    };
    let sy = of_arrangement.or_else(same_trust)?;
    let id = s(sy, "ID");
    let by = if s(sy, "Type") == "provider_managed" {
        format!(
            "{id} has type provider_managed: SAP's formation \"Integration with Customer-Managed SAP Task Center\" most likely made it (check under System Landscape > Formations in the BTP cockpit; which objects a formation makes is not confirmed by SAP)"
        )
    } else {
        format!("{id} was set up before, by hand or by another tool")
    };
    Some((
        sy,
        format!(
            "S/4HANA already has Task Center's communication system under another ID than step 3.4's {}: {by}. The plan repairs it and its arrangement instead of creating a second system with the same SAML issuer; steps 3.4 and 3.5 then take the names S/4HANA has.",
            w.system_id
        ),
    ))
}

async fn read(api: &Session<'_>, calls: &Calls, w: &Wanted) -> Result<Current, SapError> {
    let user_filter = format!("Name eq '{}'", w.user.replace('\'', "''"));
    let uq = [("$filter", user_filter.as_str())];
    // All systems and arrangements: a tenant has tens, and what makes one
    // Task Center's is not its name.
    let aq = [("$expand", "InboundUser,OutboundUser")];
    let (users, systems, arrangements) = tokio::join!(
        api.list(calls, CU, "CommunicationUsers", Some(&uq)),
        api.list(calls, CS, "CommunicationSystems", None),
        api.list(calls, CA, "CommunicationArrangements", Some(&aq)),
    );
    let user = users?.into_iter().next();
    let (systems, arrangements) = (systems?, arrangements?);
    let tc_arrangements: Vec<&Entity> = arrangements
        .iter()
        .filter(|a| s(a, "CommunicationScenarioID") == SCENARIO)
        .collect();
    let (system, adopted) = match systems.iter().find(|sy| s(sy, "ID") == w.system_id) {
        Some(sy) => (Some(sy.clone()), None),
        None => match task_center_system(w, &systems, &tc_arrangements) {
            Some((sy, why)) => (Some(sy.clone()), Some(why)),
            None => (None, None),
        },
    };
    let system_id = system
        .as_ref()
        .map(|sy| s(sy, "ID"))
        .unwrap_or_else(|| w.system_id.clone());
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
    let arrangement = tc_arrangements
        .iter()
        .find(|a| s(a, "CommunicationSystemID") == system_id)
        .map(|a| (*a).clone());
    let name_taken = match &arrangement {
        Some(_) => None,
        None => arrangements
            .iter()
            .find(|a| s(a, "Name") == w.arrangement)
            .cloned(),
    };
    Ok(Current {
        user,
        system,
        inbound,
        outbound,
        arrangement,
        adopted,
        name_taken,
    })
}

/// The inbound user an arrangement names, if any.
fn arrangement_inbound(a: &Entity) -> Option<String> {
    a.get("InboundUser")?
        .get("CommunicationSystemInboundUserUUID")?
        .as_str()
        .map(str::to_string)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        other => other.to_string(),
    }
}

/// A field of a system as the plan shows it: a certificate in words.
fn shown(field: &str, value: String) -> String {
    if field == "OAuth2IdentityProviderCertificatePublicKeyBase64" {
        crate::domain::certificate_in_words(&value)
    } else {
        value
    }
}

fn plan_of(w: &Wanted, c: &Current) -> Plan {
    const USER: &str = "Communication user";
    let mut items = vec![match &c.user {
        Some(u) => Item::new(USER, &w.user, Todo::Right).with(vec![
            FieldRow::new("Name", s(u, "Name"), &w.user),
            FieldRow::new("ID", s(u, "ID"), s(u, "ID")),
        ]),
        None => Item::new(USER, &w.user, Todo::Create).with(vec![
            FieldRow::new("Name", "", &w.user),
            FieldRow::new("Description", "", &w.description),
            FieldRow::new(
                "Password",
                "",
                "generated: 32 characters, saved encrypted for the destination",
            ),
        ]),
    }];
    let wanted_fields = system_fields(w);
    let system_id = c.system_id(w);
    items.push(match &c.system {
        Some(sy) => Item::compared(
            "Communication system",
            &system_id,
            wanted_fields
                .iter()
                .map(|(k, v)| FieldRow::new(*k, shown(k, s(sy, k)), shown(k, text(v))))
                .collect(),
        ),
        None => Item::new("Communication system", &w.system_id, Todo::Create).with(
            std::iter::once(FieldRow::new("ID", "", &w.system_id))
                .chain(
                    wanted_fields
                        .iter()
                        .map(|(k, v)| FieldRow::new(*k, "", shown(k, text(v)))),
                )
                .collect(),
        ),
    });
    items.push(match &c.inbound {
        Some(i) => Item::compared(
            "Inbound user",
            &w.user,
            vec![
                FieldRow::new(
                    "AuthenticationMethod",
                    s(i, "AuthenticationMethod"),
                    "oauth2",
                ),
                FieldRow::new(
                    "OAuth2ClientID",
                    s(i, "OAuth2ClientID"),
                    s(i, "OAuth2ClientID"),
                ),
            ],
        ),
        None => Item::new("Inbound user", &w.user, Todo::Create).with(vec![FieldRow::new(
            "AuthenticationMethod",
            "",
            "oauth2",
        )]),
    });
    if let Some(client) = &w.push_mtls {
        items.push(
            Item::new(
                "Outbound user (push, mTLS)",
                client,
                Todo::Left("SAP has confirmed no API mapping for S/4HANA's mTLS outbound user".into()),
            )
            .noted("In the communication system, add an outbound user with SSL client certificate authentication from the push key's certificate followed by its private key (SAP calls that file outbound.p12), and the OAuth 2.0 client credentials of that key against its certurl, as SAP's \"Connect ... Using mTLS\" describes. The key is in the BTP cockpit (Instances and Subscriptions > the instance > its key)."),
        );
    }
    if let Some(p) = &w.push {
        let now = |k: &str| c.outbound.as_ref().map(|o| s(o, k)).unwrap_or_default();
        let todo = if c.outbound.is_some() {
            Todo::Right
        } else {
            Todo::Create
        };
        items.push(
            Item::new("Outbound user (push)", &p.client_id, todo).with(vec![
                FieldRow::new(
                    "AuthenticationMethod",
                    now("AuthenticationMethod"),
                    "oauth2",
                ),
                FieldRow::new("OAuth2ClientID", now("OAuth2ClientID"), &p.client_id),
                FieldRow::new("Password", "", "the push key's client secret"),
            ]),
        );
    }
    items.push(match &c.arrangement {
        Some(a) => {
            let has = arrangement_inbound(a);
            let ours = c.inbound.as_ref().map(|i| s(i, "UUID"));
            let inbound_right = has.is_some() && has == ours;
            let mut fields = vec![
                FieldRow::new(
                    "CommunicationScenarioID",
                    s(a, "CommunicationScenarioID"),
                    SCENARIO,
                ),
                FieldRow::new(
                    "CommunicationSystemID",
                    s(a, "CommunicationSystemID"),
                    &system_id,
                ),
                FieldRow::new(
                    "InboundUser",
                    if inbound_right {
                        w.user.clone()
                    } else {
                        has.map_or_else(|| "none".to_string(), |_| "another communication user".to_string())
                    },
                    &w.user,
                ),
            ];
            let mut todo = if inbound_right { Todo::Right } else { Todo::Change };
            if w.push.is_some() {
                let has = arrangement_outbound(a);
                let want = c.outbound.as_ref().map(|o| s(o, "UUID"));
                if has.is_none() || has != want {
                    todo = Todo::Change;
                }
                fields.push(FieldRow::new(
                    "OutboundUser",
                    has.unwrap_or_default(),
                    want.unwrap_or_else(|| "the new outbound user".into()),
                ));
            }
            Item::new("Communication arrangement", s(a, "Name"), todo).with(fields)
        }
        None => {
            let todo = match &c.name_taken {
                Some(other) => Todo::Cannot(format!(
                    "the name {} is already used by the arrangement of scenario {} on system {}, and S/4HANA refuses a second arrangement of that name (CM_APS_CA/004). Choose another arrangement name in step 3.5",
                    w.arrangement,
                    s(other, "CommunicationScenarioID"),
                    s(other, "CommunicationSystemID")
                )),
                None => Todo::Create,
            };
            Item::new("Communication arrangement", &w.arrangement, todo).with(vec![
                FieldRow::new("CommunicationScenarioID", "", SCENARIO),
                FieldRow::new("CommunicationSystemID", "", &system_id),
                FieldRow::new("Name", "", &w.arrangement),
            ])
        }
    });
    let mut plan = Plan::of(items);
    plan.warnings.extend(c.adopted.clone());
    plan
}

/// The outbound user an arrangement points at, if any.
fn arrangement_outbound(a: &Entity) -> Option<String> {
    a.get("OutboundUser")?
        .get("CommunicationSystemOutboundUserUUID")?
        .as_str()
        .map(str::to_string)
}

/// What apply did, step by step, and what the destination needs.
#[derive(Debug, Default)]
struct Applied {
    done: Vec<String>,
    failed: Option<String>,
    /// The OAuth 2.0 client ID S/4HANA gives the inbound user.
    client_id: Option<String>,
    /// The names S/4HANA has for the system and arrangement (step 3.4's and
    /// 3.5's, or those of objects that existed under other names).
    system_id: String,
    system_name: String,
    arrangement: String,
}

/// Apply the plan in D.3's order to what was read. `password` is the one
/// already saved for the destination (used only when the user is created).
/// Stops at the first failure with a record of what was done; running again
/// continues.
async fn write(
    api: &Session<'_>,
    calls: &Calls,
    w: &Wanted,
    current: Current,
    password: &str,
) -> Applied {
    let mut out = Applied {
        system_id: current.system_id(w),
        system_name: current
            .system
            .as_ref()
            .map(|sy| s(sy, "Name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| w.system_name.clone()),
        arrangement: current.arrangement_name(w),
        ..Applied::default()
    };
    let system_id = out.system_id.clone();
    macro_rules! step {
        ($what:expr, $call:expr) => {
            match $call.await {
                Ok(v) => v,
                Err(e) => {
                    out.failed = Some(format!("{} failed: {}", $what, explain(&e)));
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
                    format!("Updating the communication system {system_id}"),
                    api.patch(
                        calls,
                        CS,
                        "CommunicationSystems",
                        &s(&sy, "UUID"),
                        &Value::Object(patch)
                    )
                );
                out.done.push(format!(
                    "Updated the communication system {system_id}: {}.",
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
                "Added {} as OAuth 2.0 inbound user of {system_id}.",
                w.user
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
    if let Some(a) = &current.arrangement
        && arrangement_inbound(a).as_deref() != Some(s(&inbound, "UUID").as_str())
    {
        let key = format!("CommunicationArrangements({})/InboundUser", s(a, "UUID"));
        step!(
            format!(
                "Pointing the arrangement {} at the inbound user {}",
                s(a, "Name"),
                w.user
            ),
            api.patch_path(
                calls,
                CA,
                &key,
                &json!({"CommunicationSystemInboundUserUUID": s(&inbound, "UUID")})
            )
        );
        out.done.push(format!(
            "The arrangement {} now takes the inbound user {} (OAuth 2.0).",
            s(a, "Name"),
            w.user
        ));
    }
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
        let mut body = json!({"CommunicationScenarioID": SCENARIO, "CommunicationSystemID": system_id, "Name": w.arrangement,
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

/// Steps 3.3-3.5 through SAP_COM_0A48, as one remote change.
#[derive(Clone, Copy, Default)]
pub struct S4Setup;

/// What the writes give the answers: the inbound user's OAuth 2.0 client
/// and the names S/4HANA has for the system and arrangement.
pub struct Written {
    pub client_id: Option<String>,
    pub system_id: String,
    pub system_name: String,
    pub arrangement: String,
}

impl Flow for S4Setup {
    type Wanted = Wanted;
    type Session<'a> = Session<'a>;
    type Current = Current;
    type Output = Written;

    const PAGE: &'static str = ids::COMM_USER;
    const SYSTEM: &'static str = "S/4HANA";
    const SOURCE: &'static str = "S/4HANA API";
    const READ_BACK: bool = true;
    /// Read the wanted state from the answers; the message names what is missing.
    fn wanted(&self, ctx: &Ctx) -> Result<Wanted, String> {
        let (s4, pem) = earlier_steps(ctx)?;
        let get = |k: &str, default: &str| ctx.get(k).unwrap_or(default).to_string();
        let push_mtls = ctx
            .get("push_certurl")
            .and(ctx.get("push_clientid"))
            .map(str::to_string);
        let push = match (ctx.get("push_clientid"), ctx.get("push_uaa_url")) {
            _ if push_mtls.is_some() => None,
            (Some(client), Some(uaa)) => Some(Push {
                client_id: client.to_string(),
                secret: ctx
                    .secret_to_send("push_clientsecret")?
                    .ok_or("Paste the push key again in step 3.1: its client secret is missing.")?,
                token_url: format!("{}/oauth/token", uaa.trim_end_matches('/')),
            }),
            _ => None,
        };
        let (api, api_user, api_password) = api_access(ctx)?;
        Ok(Wanted {
            api_user,
            api_password,
            password: ctx.secret("comm_password"),
            token_service_url: s4.token_service_url(),
            audience: s4.audience(),
            replication_url: s4.replication_url(ctx.get("s4_client").unwrap_or("100")),
            api,
            host: s4.host(),
            user: get("comm_user", "TASKCENTERCOM"),
            description: get("comm_user_description", "SAP Task Center inbound"),
            system_id: get("comm_system_id", "TASKCENTER_BTP"),
            system_name: get("comm_system_name", "SAP Task Center on BTP"),
            issuer: ctx.get("cert_cn").unwrap_or("").to_string(),
            certificate_b64: pem_body(pem),
            arrangement: get("arrangement_name", "SAP_COM_0501_TASKCENTER"),
            push,
            push_mtls,
        })
    }
    async fn connect<'a>(&self, sap: &'a SapClient, calls: &Calls, w: &Wanted) -> Conn<'a, Self> {
        Session::connect(sap, calls, &w.api, &w.api_user, &w.api_password)
            .await
            .map_err(|e| explain(&e))
    }
    async fn read(&self, io: Io<'_, '_, Self>) -> Result<Current, String> {
        let (s, calls, w) = (io.session, io.calls, io.wanted);
        read(s, calls, w).await.map_err(|e| explain(&e))
    }
    fn plan(&self, w: &Wanted, c: &Current) -> Plan {
        plan_of(w, c)
    }
    /// The password the user gets is saved (encrypted) before S/4HANA sees it.
    fn prepare(&self, w: &Wanted, plan: &Plan) -> Result<Vec<Fill>, String> {
        let creates_user = plan.items.first().is_some_and(|i| i.todo == Todo::Create);
        if !creates_user || w.password.is_some() {
            return Ok(Vec::new());
        }
        Ok(vec![Fill {
            page: ids::COMM_USER,
            values: vec![
                ("comm_user", w.user.clone()),
                ("comm_password", strong_password()?),
            ],
            ticked_by: None,
            only: &[],
        }])
    }
    async fn apply(&self, io: Io<'_, '_, Self>, c: Current) -> Report<Written> {
        let (s, calls, w) = (io.session, io.calls, io.wanted);
        let a = write(s, calls, w, c, w.password.as_deref().unwrap_or("")).await;
        Report {
            done: a.done,
            failed: a.failed.into_iter().collect(),
            still_running: None,
            output: Some(Written {
                client_id: a.client_id,
                system_id: a.system_id,
                system_name: a.system_name,
                arrangement: a.arrangement,
            }),
        }
    }
    /// Steps 3.3 to 3.5 as S/4HANA now has them.
    fn fills(&self, w: &Wanted, out: &Written) -> Vec<Fill> {
        let by = Some("through the S/4HANA API");
        let mut step35 = vec![
            ("arrangement_name", out.arrangement.clone()),
            ("token_service_url", w.token_service_url.clone()),
            ("saml2_audience", w.audience.clone()),
            ("replication_url", w.replication_url.clone()),
        ];
        if let Some(c) = &out.client_id {
            step35.push(("client_id", c.clone()));
        }
        // Step 4 then knows that push is configured and does not ask.
        if let Some(p) = &w.push {
            step35.push(("push_outbound_client", p.client_id.clone()));
        }
        vec![
            Fill {
                page: ids::COMM_USER,
                values: vec![("comm_user", w.user.clone())],
                ticked_by: by,
                only: &[],
            },
            Fill {
                page: ids::COMM_SYSTEM,
                values: vec![
                    ("comm_system_id", out.system_id.clone()),
                    ("comm_system_name", out.system_name.clone()),
                ],
                ticked_by: by,
                only: &[],
            },
            Fill {
                page: ids::COMM_ARRANGEMENT,
                values: step35,
                ticked_by: by,
                only: &[],
            },
        ]
    }
    fn finished(
        &self,
        _w: &Wanted,
        _out: Option<&Written>,
        done: &[String],
        unfilled: &[String],
    ) -> Result<String, String> {
        let filled = if unfilled.is_empty() {
            "Steps 3.3 to 3.5 are filled in with what S/4HANA now has.".to_string()
        } else {
            format!("{} Complete it on its page.", unfilled.join(" "))
        };
        Ok(if !done.is_empty() {
            format!("Done. {filled}")
        } else {
            format!("S/4HANA already had everything: nothing was written. {filled}")
        })
    }
}

/// 32 characters of letters and digits (S/4HANA asks for 20 or more).
/// S/4HANA's communication API as the S/4HANA API page saved it
/// (SAP_COM_0A48): the API base, the user and its password.
pub fn api_access(ctx: &Ctx) -> Result<(String, String, String), String> {
    let (Some(s4), Some(user), Some(password)) = (
        ctx.s4(),
        ctx.get("s4_api_user"),
        ctx.secret_to_send("s4_api_password")?,
    ) else {
        return Err(
            "First enter S/4HANA's API user (SAP_COM_0A48) on the S/4HANA API page.".into(),
        );
    };
    Ok((format!("https://{}", s4.api_host()), user.into(), password))
}

pub(super) fn strong_password() -> Result<String, String> {
    let hex = crate::store::secrets::random_hex(24)
        .map_err(|e| format!("No password could be generated: {e}"))?;
    Ok(hex
        .char_indices()
        .map(|(i, c)| {
            if i % 3 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .take(32)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(push: bool) -> Wanted {
        Wanted {
            api: "https://my-api.s4hana.ondemand.com".into(),
            host: "my.s4hana.ondemand.com".into(),
            user: "TASKCENTERCOM".into(),
            description: "SAP Task Center inbound".into(),
            system_id: "TASKCENTER_BTP".into(),
            system_name: "SAP Task Center on BTP".into(),
            issuer: "cfapps.eu10.hana.ondemand.com/sub".into(),
            certificate_b64: "MIIB".into(),
            arrangement: "SAP_COM_0501_TASKCENTER".into(),
            push: push.then(|| Push {
                client_id: "sb-push".into(),
                secret: "s".into(),
                token_url: "https://x.authentication.eu10.hana.ondemand.com/oauth/token".into(),
            }),
            push_mtls: None,
            api_user: "TC_COMM_API".into(),
            api_password: "p".into(),
            password: None,
            token_service_url: String::new(),
            audience: String::new(),
            replication_url: String::new(),
        }
    }

    fn entity(v: Value) -> Entity {
        v.as_object().cloned().unwrap_or_default()
    }

    fn empty() -> Current {
        Current {
            user: None,
            system: None,
            inbound: None,
            outbound: None,
            arrangement: None,
            adopted: None,
            name_taken: None,
        }
    }

    fn done(w: &Wanted) -> Current {
        let mut system = entity(json!({"UUID": "S1", "ID": w.system_id}));
        for (k, v) in system_fields(w) {
            system.insert(k.into(), v);
        }
        Current {
            user: Some(entity(json!({"Name": w.user, "ID": "CC1"}))),
            system: Some(system),
            inbound: Some(entity(
                json!({"UUID": "I1", "AuthenticationMethod": "oauth2", "OAuth2ClientID": "TASKCENTERCOM"}),
            )),
            outbound: None,
            arrangement: Some(entity(
                json!({"Name": w.arrangement, "CommunicationScenarioID": SCENARIO, "CommunicationSystemID": w.system_id,
                    "InboundUser": {"CommunicationSystemInboundUserUUID": "I1"}}),
            )),
            adopted: None,
            name_taken: None,
        }
    }

    #[test]
    fn an_empty_tenant_gets_every_object_created_in_order() {
        let plan = plan_of(&wanted(false), &empty());
        let objects: Vec<(&str, &Todo)> = plan
            .items
            .iter()
            .map(|i| (i.object.as_str(), &i.todo))
            .collect();
        assert_eq!(
            objects,
            [
                ("Communication user", &Todo::Create),
                ("Communication system", &Todo::Create),
                ("Inbound user", &Todo::Create),
                ("Communication arrangement", &Todo::Create),
            ]
        );
    }

    #[test]
    fn a_tenant_set_up_as_wanted_is_all_right_and_one_changed_field_is_one_change() {
        let w = wanted(false);
        assert!(plan_of(&w, &done(&w)).nothing_to_do());
        let mut c = done(&w);
        if let Some(s) = c.system.as_mut() {
            s.insert(
                "OAuth2IdentityProviderUserLogonType".into(),
                json!("user_name"),
            );
        }
        let plan = plan_of(&w, &c);
        assert_eq!(plan.writes(), 1);
        let system = &plan.items[1];
        assert_eq!(system.todo, Todo::Change);
        let changed: Vec<&FieldRow> = system.fields.iter().filter(|f| f.differs()).collect();
        assert_eq!(changed.len(), 1);
        assert_eq!(
            (changed[0].now.as_str(), changed[0].wanted.as_str()),
            ("user_name", "user_uuid")
        );
    }

    #[test]
    fn a_task_center_system_under_another_id_is_adopted_and_a_taken_name_is_a_cannot() {
        let w = wanted(false);
        let formation = entity(
            json!({"UUID": "F1", "ID": "SAP_TASKCENTER_1", "Type": "provider_managed",
            "OAuth2IdentityProviderName": w.issuer}),
        );
        let arrangement = entity(
            json!({"Name": "SAP_COM_0501_TASKCENTER", "CommunicationScenarioID": SCENARIO,
            "CommunicationSystemID": "SAP_TASKCENTER_1"}),
        );
        let (sy, why) =
            task_center_system(&w, std::slice::from_ref(&formation), &[&arrangement]).unwrap();
        assert_eq!(s(sy, "ID"), "SAP_TASKCENTER_1");
        assert!(why.contains("formation"), "{why}");
        // By the issuer alone, without an arrangement.
        let by_hand = entity(json!({"ID": "TC_OLD", "OAuth2IdentityProviderName": w.issuer}));
        let (sy, why) = task_center_system(&w, std::slice::from_ref(&by_hand), &[]).unwrap();
        assert_eq!(s(sy, "ID"), "TC_OLD");
        assert!(why.contains("by hand"), "{why}");
        let other = entity(json!({"ID": "OTHER", "OAuth2IdentityProviderName": "someone"}));
        assert!(task_center_system(&w, &[other], &[]).is_none());

        let taken = Current {
            name_taken: Some(entity(
                json!({"Name": w.arrangement, "CommunicationScenarioID": "SAP_COM_0008", "CommunicationSystemID": "X"}),
            )),
            ..empty()
        };
        let plan = plan_of(&w, &taken);
        assert!(plan.blocked(), "a create S/4HANA refuses is never offered");
        let adopted = Current {
            system: Some(formation),
            arrangement: Some(arrangement),
            adopted: Some("why".into()),
            ..empty()
        };
        let plan = plan_of(&w, &adopted);
        assert_eq!(plan.items[1].name, "SAP_TASKCENTER_1");
        assert_eq!(
            plan.items[3].todo,
            Todo::Change,
            "the arrangement takes this setup's inbound user"
        );
        assert_eq!(plan.warnings, ["why"]);
    }

    #[test]
    fn push_adds_the_outbound_user_and_points_the_arrangement_at_it() {
        // A tenant set up without push, then a push key on 3.1.
        let plan = plan_of(&wanted(true), &done(&wanted(false)));
        let todo: Vec<(&str, &Todo)> = plan
            .items
            .iter()
            .filter(|i| i.writes())
            .map(|i| (i.object.as_str(), &i.todo))
            .collect();
        // The system gains the push token endpoint; the rest is new.
        assert_eq!(
            todo,
            [
                ("Communication system", &Todo::Change),
                ("Outbound user (push)", &Todo::Create),
                ("Communication arrangement", &Todo::Change),
            ]
        );
    }

    #[test]
    fn the_password_is_saved_before_a_user_is_created_and_only_then() {
        let w = wanted(false);
        let create = plan_of(&w, &empty());
        let fills = S4Setup.prepare(&w, &create).unwrap();
        assert_eq!(fills.len(), 1);
        let password = fills[0]
            .values
            .iter()
            .find(|(k, _)| *k == "comm_password")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(password.len(), 32);
        assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
        let keep = Wanted {
            password: Some("saved".into()),
            ..wanted(false)
        };
        assert!(S4Setup.prepare(&keep, &create).unwrap().is_empty());
        assert!(
            S4Setup
                .prepare(&w, &plan_of(&w, &done(&w)))
                .unwrap()
                .is_empty()
        );
    }
}
