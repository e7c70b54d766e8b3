//! The BTP half through SAP's APIs (sap-apis-btp.md P): from the global
//! account's Cloud Management key, the subaccount, its entitlements, the
//! wizard's access, trust with IAS, Cloud Foundry and a space, Work Zone,
//! Task Center's instance and key, the booster's destinations and the role
//! collections: read, planned object by object, written in SAP's order
//! after the consultant confirmed, each write followed by its poll.
//! Everything that exists is adopted (SAP's services are not idempotent),
//! nothing is deleted.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::change::{Conn, FieldRow, Fill, Flow, Io, Item, Plan, Progress, Report, Todo};
use super::{Ctx, ids};
use crate::domain::{CisKey, DestinationKey, ServiceManagerKey};
use crate::sap::btp::{self, Assigned, Central, Entitled, RoleRef, XsApi};
use crate::sap::cf::{self, Cf};
use crate::sap::{Calls, SapClient, SapError, destinations, ias, service_manager};

/// The access instances the wizard makes through Service Manager (G.5,
/// L.1, M.2): (offering, plan, instance name).
pub const ACCESS: [(&str, &str, &str); 3] = [
    ("cis", "local", "taskcenter-wizard-cis"),
    ("xsuaa", "apiaccess", "taskcenter-wizard-xsuaa"),
    ("destination", "lite", "taskcenter-wizard-destination"),
];
/// The booster's Task Center instance and the wizard's name for its key (M.1).
pub const INSTANCE: &str = "default_taskcenter";
pub const KEY: &str = "default_taskcenter-key";
/// The push channel's dedicated instance (SAP wants one, tc 0aff1b4) and
/// its key's names, as the Service Manager path names them.
pub const PUSH_INSTANCE: &str = super::push_key::INSTANCE;
const WORK_ZONE: &str = "SAPLaunchpadSMS";
/// The role collections of L.4: made for Task Center, then assigned with
/// Work Zone's and the Destination service's to every administrator.
const TC_COLLECTIONS: [(&str, &str); 2] = [
    ("Task_Center_Administrator", "TaskCenterAdmin"),
    ("Task_Center_Tenant_Operator", "TaskCenterTenantOperator"),
];
const ASSIGNED: [&str; 4] = [
    "Task_Center_Administrator",
    "Task_Center_Tenant_Operator",
    "Launchpad_Admin",
    "Destination Administrator",
];
/// The booster's service destinations (M.2); Task_Center is created only
/// if absent, never overwritten.
const DESTINATIONS: [&str; 3] = [
    "Task_Center",
    "Identity_Authentication_Connectivity_IDS",
    "Task_Center_global_settings",
];
/// How long a run waits for SAP's long steps (H.2: SAP's provider waits 10 min).
const LONG: Duration = Duration::from_secs(10 * 60);

/// What the answers ask for.
pub struct Wanted {
    /// The global account's key; without it, the subaccount-level keys of
    /// step 3.1 do what they allow (the subaccount of step 1 must exist).
    pub key: Option<CisKey>,
    /// Step 3.1's Service Manager key, used without the global account's.
    pub sm: Option<ServiceManagerKey>,
    /// Step 1's subaccount ID, used without the global account's key.
    pub subaccount_id: Option<String>,
    pub subdomain: String,
    pub display_name: String,
    pub region: String,
    pub ias_host: String,
    pub plan: &'static str,
    pub workzone_plan: &'static str,
    pub org: String,
    pub space: String,
    /// E-mail addresses; the first is the Cloud Foundry org manager.
    pub admins: Vec<String>,
    /// The IAS administrator of step 2.1 (client ID, secret): the IDS
    /// destination's credentials and the administrators' user UUIDs.
    pub ias_admin: (String, String),
    /// The org manager's password, for Cloud Foundry (never stored).
    pub cf_password: Option<String>,
    /// The push channel's dedicated instance and the name of its key (and
    /// whether it is x509); `None`: not made by this run.
    pub push: Option<(&'static str, bool)>,
}

/// A user a role collection is assigned to: (origin, user name).
pub type Holder = (String, String);

/// One access instance through Service Manager.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub name: &'static str,
    pub ready: bool,
    pub failed: bool,
    pub credentials: Option<Value>,
}

/// What SAP has now. Fields further down are read only when what they
/// live in exists (a space in an org, a key of an instance).
#[derive(Default)]
pub struct Found {
    /// (guid, state, stateMessage) of the subaccount with our subdomain and region.
    pub subaccount: Option<(String, String, String)>,
    /// The global account's other subaccounts, "subdomain (region): name",
    /// so that an existing one can be chosen instead.
    pub others: Vec<String>,
    pub assigned: Vec<Assigned>,
    pub entitled: Vec<Entitled>,
    pub sm: Option<Value>,
    pub access: Vec<Access>,
    /// The `sap.custom` trust's (origin, IAS host).
    pub trust: Option<(String, String)>,
    /// IAS tenants offered for trust (L.2), when readable.
    pub offered: Option<Vec<String>>,
    /// (id, state, org name, org guid, API endpoint).
    pub environment: Option<(String, String, String, String, String)>,
    /// Whether Cloud Foundry could be read (the password was given).
    pub cf_read: bool,
    pub space: Option<String>,
    pub developers: Vec<String>,
    /// Task Center instances of the org: (guid, name, state).
    pub instances: Vec<(String, String, String)>,
    pub key: Option<(String, bool)>,
    pub tc_key: Option<Value>,
    /// The push channel's instance (guid, state) and its key (guid, ready).
    pub push_instance: Option<(String, String)>,
    pub push_key: Option<(String, bool)>,
    /// (state, plan) of the Work Zone application.
    pub work_zone: Option<(String, String)>,
    pub destinations: Vec<(&'static str, Option<Map<String, Value>>)>,
    pub apps: Vec<String>,
    /// (collection, its users as (origin, name)); `None`: absent.
    pub collections: Vec<(&'static str, Option<Vec<Holder>>)>,
    /// (e-mail, the user UUID IAS has for it).
    pub admins: Vec<(String, Option<String>)>,
}

fn why(e: &SapError) -> String {
    e.explain()
}

fn env_fields(v: &Value) -> (String, String, String, String, String) {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let labels: Value = serde_json::from_str(&s("labels")).unwrap_or(Value::Null);
    let label = |k: &str| {
        labels
            .get(k)
            .or_else(|| labels.get(format!("{k}:")))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let params: Value = serde_json::from_str(&s("parameters")).unwrap_or(Value::Null);
    let org = match label("Org Name") {
        n if n.is_empty() => params
            .get("instance_name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        n => n,
    };
    let org_guid = match label("Org ID") {
        g if g.is_empty() => s("platformId"),
        g => g,
    };
    (s("id"), s("state"), org, org_guid, label("API Endpoint"))
}

fn sm_key(v: &Value) -> Option<ServiceManagerKey> {
    ServiceManagerKey::parse(&v.to_string())
        .ok()
        .map(|c| c.value)
}

async fn sm_session<'a>(
    sap: &'a SapClient,
    calls: &Calls,
    sm: &Value,
) -> Result<service_manager::Session<'a>, String> {
    let key = sm_key(sm).ok_or("SAP's Service Manager binding has no usable credentials")?;
    service_manager::connect(sap, calls, &key)
        .await
        .map_err(|e| why(&e))
}

/// The access instances, read through Service Manager.
async fn read_access(
    s: &service_manager::Session<'_>,
    calls: &Calls,
) -> Result<Vec<Access>, SapError> {
    let mut out = Vec::new();
    for (_, _, name) in ACCESS {
        let found = s
            .list(
                calls,
                "service_instances",
                &[service_manager::eq("name", name)],
            )
            .await?;
        let Some(i) = found.first() else { continue };
        let id = i
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let ready = i.get("ready").and_then(Value::as_bool) == Some(true);
        let failed = i.pointer("/last_operation/state").and_then(Value::as_str) == Some("failed");
        let binding = s
            .list(
                calls,
                "service_bindings",
                &[
                    service_manager::eq("name", &format!("{name}-key")),
                    service_manager::eq("service_instance_id", &id),
                ],
            )
            .await?;
        out.push(Access {
            name,
            ready,
            failed,
            credentials: binding
                .first()
                .and_then(|b| b.get("credentials"))
                .filter(|c| c.is_object())
                .cloned(),
        });
    }
    Ok(out)
}

fn access<'f>(f: &'f Found, name: &str) -> Option<&'f Value> {
    f.access
        .iter()
        .find(|a| a.name == name)
        .and_then(|a| a.credentials.as_ref())
}

/// Everything SAP has, in the order of the plan.
async fn read_all(
    sap: &SapClient,
    central: Option<&Central<'_>>,
    calls: &Calls,
    w: &Wanted,
) -> Result<Found, String> {
    let mut f = Found::default();
    let Some(central) = central else {
        // Subaccount-level keys: the subaccount is step 1's, the access
        // step 3.1's Service Manager key.
        f.subaccount = w
            .subaccount_id
            .clone()
            .map(|g| (g, "OK".to_string(), String::new()));
        f.sm = w.sm.as_ref().map(|k| {
            json!({"clientid": k.clientid, "clientsecret": k.clientsecret, "sm_url": k.sm_url, "url": k.url})
        });
        return read_subaccount(sap, calls, w, f).await;
    };
    let subs = central.subaccounts(calls).await.map_err(|e| why(&e))?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    f.subaccount = subs
        .iter()
        .find(|v| s(v, "subdomain") == w.subdomain && s(v, "region") == w.region)
        .map(|v| (s(v, "guid"), s(v, "state"), s(v, "stateMessage")));
    f.others = subs
        .iter()
        .filter(|v| s(v, "subdomain") != w.subdomain || s(v, "region") != w.region)
        .map(|v| {
            format!(
                "{} ({}): {}",
                s(v, "subdomain"),
                s(v, "region"),
                s(v, "displayName")
            )
        })
        .collect();
    let Some((guid, state, _)) = f.subaccount.clone() else {
        let (_, entitled) = central.assignments(calls, "").await.map_err(|e| why(&e))?;
        f.entitled = entitled;
        return Ok(f);
    };
    let (assigned, entitled) = central
        .assignments(calls, &guid)
        .await
        .map_err(|e| why(&e))?;
    f.assigned = assigned;
    f.entitled = entitled;
    if state != "OK" {
        return Ok(f);
    }
    f.sm = central
        .sm_binding(calls, &guid)
        .await
        .map_err(|e| why(&e))?;
    read_subaccount(sap, calls, w, f).await
}

/// What lives in the subaccount, read through its Service Manager access.
async fn read_subaccount(
    sap: &SapClient,
    calls: &Calls,
    w: &Wanted,
    mut f: Found,
) -> Result<Found, String> {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let Some(sm) = &f.sm else { return Ok(f) };
    let sm = sm_session(sap, calls, sm).await?;
    f.access = read_access(&sm, calls).await.map_err(|e| why(&e))?;
    if let Some(key) = access(&f, ACCESS[1].2).cloned() {
        let xs = btp::xsuaa_api(sap, calls, &key)
            .await
            .map_err(|e| why(&e))?;
        let idps = xs.identity_providers(calls).await.map_err(|e| why(&e))?;
        f.trust = idps
            .iter()
            .find(|i| i.get("originKey").and_then(Value::as_str) == Some("sap.custom"))
            .map(|i| {
                (
                    "sap.custom".to_string(),
                    i.pointer("/config/iasTenant/host")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_ascii_lowercase(),
                )
            });
        if f.trust.is_none() {
            f.offered = Some(xs.ias_tenants(calls).await.map_err(|e| why(&e))?);
        }
        f.apps = xs.apps(calls).await.map_err(|e| why(&e))?;
        for name in ASSIGNED {
            let c = xs.collection(calls, name).await.map_err(|e| why(&e))?;
            let users = c.map(|c| {
                c.get("userReferences")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|u| {
                        (
                            u.get("origin")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                            u.get("username")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string(),
                        )
                    })
                    .collect()
            });
            f.collections.push((name, users));
        }
    }
    if let Some(key) = access(&f, ACCESS[0].2).cloned() {
        let local = btp::local(sap, calls, &key).await.map_err(|e| why(&e))?;
        let envs = local.environments(calls).await.map_err(|e| why(&e))?;
        f.environment = envs
            .iter()
            .find(|e| e.get("environmentType").and_then(Value::as_str) == Some("cloudfoundry"))
            .map(env_fields);
        f.work_zone = local
            .application(calls, WORK_ZONE)
            .await
            .map_err(|e| why(&e))?
            .map(|a| (s(&a, "state"), s(&a, "planName")));
    }
    if let Some(key) =
        access(&f, ACCESS[2].2).and_then(|k| DestinationKey::parse(&k.to_string()).ok())
    {
        let d = destinations::connect(sap, calls, &key.value)
            .await
            .map_err(|e| why(&e))?;
        for name in DESTINATIONS {
            f.destinations
                .push((name, d.get(calls, name).await.map_err(|e| why(&e))?));
        }
    }
    if let Some((_, state, _, org, api)) = f.environment.clone()
        && state == "OK"
        && let Some(password) = &w.cf_password
    {
        let manager = w.admins.first().map_or("", String::as_str);
        let cf = cf::connect(sap, calls, &api, manager, password)
            .await
            .map_err(|e| explain_cf(&e, manager))?;
        f.cf_read = true;
        read_cf(&cf, calls, &mut f, w, &org)
            .await
            .map_err(|e| why(&e))?;
    }
    if !w.ias_admin.0.is_empty() {
        f.admins = admin_uuids(sap, calls, w).await?;
    }
    Ok(f)
}

/// The administrators' user UUIDs in IAS (the user names XSUAA knows them
/// by with User UUID as subject name identifier), in their order.
async fn admin_uuids(
    sap: &SapClient,
    calls: &Calls,
    w: &Wanted,
) -> Result<Vec<(String, Option<String>)>, String> {
    let found = ias::users_by_email(
        sap,
        calls,
        (&w.ias_host, &w.ias_admin.0, &w.ias_admin.1),
        w.admins.clone(),
    )
    .await;
    w.admins
        .iter()
        .zip(found)
        .map(|(email, r)| Ok((email.clone(), r.map_err(|e| why(&e))?.map(|u| u.uuid))))
        .collect()
}

fn explain_cf(e: &SapError, user: &str) -> String {
    match e {
        SapError::Status { status: 401, .. } => format!(
            "Cloud Foundry did not accept the password of {user}. Cloud Foundry only signs in platform users by password (SAP ID service); a user with SAP Universal ID or two-factor sign-in cannot be used here: {}",
            e.explain()
        ),
        _ => e.explain(),
    }
}

async fn read_cf(
    cf: &Cf<'_>,
    calls: &Calls,
    f: &mut Found,
    w: &Wanted,
    org: &str,
) -> Result<(), SapError> {
    f.space = cf.space(calls, org, &w.space).await?;
    if let Some(space) = &f.space {
        f.developers = cf
            .space_role_holders(calls, space, "space_developer")
            .await?;
        let mut plans = Vec::new();
        for p in ["all-tasks", "build-default", "cloud-only-tasks", "standard"] {
            if let Some(g) = cf.plan(calls, space, "one-inbox-service", p).await? {
                plans.push(g);
            }
        }
        f.instances = cf.instances(calls, org, &plans).await?;
        f.push_instance = f
            .instances
            .iter()
            .find(|(_, n, _)| n == PUSH_INSTANCE)
            .map(|(g, _, s)| (g.clone(), s.clone()));
        f.instances.retain(|(_, n, _)| n != PUSH_INSTANCE);
        if let Some((guid, _, _)) = f.instances.first() {
            f.key = cf.key(calls, guid, KEY).await?;
            if let Some((k, true)) = &f.key {
                f.tc_key = Some(cf.key_credentials(calls, k).await?);
            }
        }
        if let (Some((guid, _)), Some((name, _))) = (&f.push_instance, w.push) {
            f.push_key = cf.key(calls, guid, name).await?;
        }
    }
    Ok(())
}

fn assigned<'f>(f: &'f Found, service: &str, plan: &str) -> Option<&'f Assigned> {
    f.assigned
        .iter()
        .find(|a| a.service == service && a.plan == plan)
}

/// The entitlements the plan needs: (service, plan).
fn wanted_plans(w: &Wanted) -> [(&'static str, &'static str); 3] {
    [
        ("one-inbox-service", w.plan),
        ("SAPLaunchpad", w.workzone_plan),
        ("cis", "local"),
    ]
}

/// The IDS destination as step 2.1's administrator makes it (M.2).
fn ids_destination(w: &Wanted) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        (
            "Name",
            "Identity_Authentication_Connectivity_IDS".to_string(),
        ),
        ("Type", "HTTP".into()),
        ("URL", format!("https://{}/scim", w.ias_host)),
        ("ProxyType", "Internet".into()),
        ("Authentication", "BasicAuthentication".into()),
        ("User", w.ias_admin.0.clone()),
        ("Password", w.ias_admin.1.clone()),
    ] {
        m.insert(k.into(), Value::String(v));
    }
    m
}

/// The other two, created only where absent (M.2; Task_Center's own
/// properties are [U]: the documented set of the cross-subaccount variant).
fn service_destination(name: &str, tc_key: Option<&Value>) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.into(), Value::String(v));
    };
    put("Name", name.into());
    put("Type", "HTTP".into());
    put("ProxyType", "Internet".into());
    put("Authentication", "NoAuthentication".into());
    if name == "Task_Center" {
        let k = |p: &str| {
            tc_key
                .and_then(|k| k.pointer(p))
                .cloned()
                .unwrap_or(Value::Null)
        };
        put("URL", k("/uaa/url").as_str().unwrap_or("").into());
        put("sap.cloud.service", "com.sap.bpm.inbox-service".into());
        put("endpoints", k("/endpoints").to_string());
        put("html5-apps-repo", k("/html5-apps-repo").to_string());
    } else {
        put("URL", "http://sap.com/".into());
        put("Description", "SAP Task Center Global Settings".into());
        put("tc.languages", "en-US".into());
    }
    m
}

/// The plan, object by object, in the order of P.
fn plan_of(w: &Wanted, f: &Found) -> Plan {
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    let global = w.key.is_some();
    // 2. The subaccount.
    items.push(match &f.subaccount {
        Some((guid, _, _)) if !global => Item::new(
            "Subaccount",
            &w.subdomain,
            Todo::Left("creating or changing it needs the global account's Cloud Management key".into()),
        )
        .noted(format!("The subaccount {guid} of step 1 is used.")),
        None => Item::new("Subaccount", &w.subdomain, Todo::Create).with(vec![
            FieldRow::new("Display name", "", &w.display_name),
            FieldRow::new("Region", "", &w.region),
            FieldRow::new("Subdomain", "", &w.subdomain),
            FieldRow::new("Administrators", "", w.admins.join(", ")),
        ]).noted(if f.others.is_empty() {
            "SAP takes about half a minute to create a subaccount; the run waits for it.".to_string()
        } else {
            format!(
                "SAP takes about half a minute to create a subaccount; the run waits for it. To use one the global account has instead, enter its subdomain: {}.",
                f.others.join("; ")
            )
        }),
        Some((guid, state, message)) if state.ends_with("FAILED") || state == "CANCELED" => Item::new(
            "Subaccount",
            &w.subdomain,
            Todo::Cannot(format!("SAP could not create it ({state}: {message})")),
        )
        .noted(format!("The subaccount {guid} is in state {state}. Delete it in the cockpit (Account Explorer; the wizard never deletes), then read the plan again.")),
        Some((guid, state, _)) if state == "OK" => Item::new("Subaccount", &w.subdomain, Todo::Right)
            .noted(format!("Use the existing subaccount {guid} in {}.", w.region)),
        Some((guid, _, _)) => Item::new("Subaccount", &w.subdomain, Todo::Right)
            .noted(format!("SAP is still creating the subaccount {guid}; the run waits for it.")),
    });
    // 3. Entitlements.
    for (service, plan) in wanted_plans(w) {
        let name = format!("{service} / {plan}");
        if !global {
            items.push(Item::new(
                "Entitlement",
                &name,
                Todo::Left("assigning entitlements needs the global account's Cloud Management key".into()),
            ).noted("Check it in the cockpit (subaccount > Entitlements): a plan SAP does not offer shows further down."));
            continue;
        }
        let in_catalog = f
            .entitled
            .iter()
            .any(|e| e.service == service && e.plan == plan);
        items.push(match assigned(f, service, plan) {
            _ if !in_catalog => Item::new(
                "Entitlement",
                &name,
                Todo::Cannot("the global account has no such entitlement".into()),
            )
            .noted(format!("The global account is not entitled to {service} plan {plan}. Add it to the global account's entitlements (or choose another plan), then read the plan again.")),
            Some(a) if a.state == "OK" && !a.off => Item::new("Entitlement", &name, Todo::Right),
            Some(a) if a.state == "PROCESSING_FAILED" => Item::compared(
                "Entitlement",
                &name,
                vec![FieldRow::new("State", format!("PROCESSING_FAILED: {}", a.message), "OK")],
            ),
            Some(a) if !a.off => Item::new("Entitlement", &name, Todo::Right)
                .noted(format!("SAP is assigning it ({}); the run waits for it.", a.state)),
            _ => Item::new("Entitlement", &name, Todo::Create),
        });
    }
    // 4. Service Manager access.
    items.push(match &f.sm {
        Some(_) if !global => Item::new("Service Manager access", "step 3.1's key", Todo::Right),
        None if !global => Item::new(
            "Service Manager access",
            "step 3.1's key",
            Todo::Cannot(
                "paste a Service Manager key on step 3.1, or the global account's key here".into(),
            ),
        ),
        Some(_) => Item::new(
            "Service Manager access",
            "serviceManagementBinding",
            Todo::Right,
        ),
        _ => Item::new(
            "Service Manager access",
            "serviceManagementBinding",
            Todo::Create,
        )
        .noted("The wizard's access to the subaccount's Service Manager (G.5)."),
    });
    // 5, 6, 11. The wizard's access instances.
    for (offering, plan, name) in ACCESS {
        let a = f.access.iter().find(|a| a.name == name);
        items.push(match a {
            Some(a) if a.failed => Item::new(
                "Service instance",
                name,
                Todo::Cannot("SAP could not create it".into()),
            )
            .noted(format!("Delete the instance {name} in the cockpit (the wizard never deletes), then read the plan again.")),
            Some(a) if a.credentials.is_some() => Item::new("Service instance", name, Todo::Right),
            Some(_) => Item::new("Service instance", name, Todo::Change)
                .noted(format!("Create the key {name}-key of the existing instance.")),
            None => Item::new("Service instance", name, Todo::Create).noted(format!(
                "{offering} plan {plan} and its key {name}-key, through Service Manager."
            )),
        });
    }
    // 6. Trust.
    items.push(match (&f.trust, &f.offered) {
        (Some((_, host)), _) if *host == w.ias_host => Item::new("Trust", &w.ias_host, Todo::Right),
        (Some((_, host)), _) => Item::new(
            "Trust",
            &w.ias_host,
            Todo::Cannot(format!("the subaccount already trusts {host}")),
        )
        .noted("A subaccount trusts one Identity Authentication tenant (L.2). If it should be this one, change the trust in the cockpit (Security > Trust Configuration) while no Work Zone subscription exists, or enter that tenant on step 2.1."),
        (None, Some(offered)) if !offered.contains(&w.ias_host) => Item::new(
            "Trust",
            &w.ias_host,
            Todo::Cannot("SAP does not offer this tenant to the subaccount".into()),
        )
        .noted(format!(
            "The global account may trust {} only. A tenant of another customer ID is never offered; a tenant created in the last two hours may not be known yet.",
            if offered.is_empty() { "no tenant".to_string() } else { offered.join(", ") }
        )),
        (None, offered) => Item::new("Trust", &w.ias_host, Todo::Create)
            .with(vec![FieldRow::new("Origin", "", "sap.custom"), FieldRow::new("Protocol", "", "OpenID Connect")])
            .noted(match offered {
                Some(o) => format!("SAP offers this subaccount the tenants {}.", o.join(", ")),
                None => "Which tenants SAP offers is read once the subaccount exists; a tenant of another customer ID is never offered.".into(),
            }),
    });
    warnings.push(format!(
        "SAP has no confirmed API for the subject name identifier of the application the trust creates in {} (\"SAP BTP subaccount {}\"): set it to User UUID there yourself (step 2.1; failure mode 19). Verify checks it.",
        w.ias_host, w.display_name
    ));
    // 7. Cloud Foundry.
    items.push(match &f.environment {
        Some((_, state, org, _, _)) if state == "OK" => Item::new("Cloud Foundry org", org, Todo::Right)
            .noted(if *org == w.org { String::new() } else { format!("The subaccount's org is {org} (one per subaccount); it is used instead of {}.", w.org) }),
        Some((_, state, org, _, _)) if state.ends_with("FAILED") => Item::new(
            "Cloud Foundry org",
            org,
            Todo::Cannot(format!("SAP could not create it ({state})")),
        )
        .noted("Disable Cloud Foundry in the cockpit (the wizard never deletes), then read the plan again."),
        Some((_, _, org, _, _)) => Item::new("Cloud Foundry org", org, Todo::Right)
            .noted("SAP is still creating the org; the run waits for it."),
        None => Item::new("Cloud Foundry org", &w.org, Todo::Create).with(vec![FieldRow::new(
            "Org Manager",
            "",
            w.admins.first().cloned().unwrap_or_default(),
        )]),
    });
    let org_exists = f.environment.is_some();
    // 8-10. Space, Work Zone, Task Center instance and key.
    if org_exists && !f.cf_read {
        items.push(Item::new("Cloud Foundry space", &w.space, Todo::Right).noted(
            "Not read: enter the Cloud Foundry password of the org manager to read the space and Task Center's instance.",
        ));
        warnings.push("The space and Task Center's instance are read with the org manager's password, which is asked with each read and confirmation and never stored.".into());
    } else {
        let devs: Vec<&String> = w
            .admins
            .iter()
            .filter(|a| !f.developers.contains(a))
            .collect();
        items.push(match &f.space {
            Some(_) if devs.is_empty() => Item::new("Cloud Foundry space", &w.space, Todo::Right),
            Some(_) => Item::compared(
                "Cloud Foundry space",
                &w.space,
                vec![FieldRow::new(
                    "Space Developers",
                    f.developers.join(", "),
                    w.admins.join(", "),
                )],
            ),
            None => {
                Item::new("Cloud Foundry space", &w.space, Todo::Create).with(vec![FieldRow::new(
                    "Space Developers",
                    "",
                    w.admins.join(", "),
                )])
            }
        });
    }
    items.push(match &f.work_zone {
        Some((state, plan)) if state == "SUBSCRIBED" => Item::new(
            "Subscription",
            "SAP Build Work Zone, standard edition",
            Todo::Right,
        )
        .noted(if plan == w.workzone_plan {
            String::new()
        } else {
            format!("Subscribed with plan {plan}.")
        }),
        Some((state, _)) if state == "IN_PROCESS" => Item::new(
            "Subscription",
            "SAP Build Work Zone, standard edition",
            Todo::Right,
        )
        .noted("SAP is subscribing; the run waits for it."),
        Some((state, _)) if state.ends_with("FAILED") => Item::compared(
            "Subscription",
            "SAP Build Work Zone, standard edition",
            vec![FieldRow::new("State", state.clone(), "SUBSCRIBED")],
        )
        .noted("Subscribe again: SAP allows a new subscription after a failed one."),
        _ => Item::new(
            "Subscription",
            "SAP Build Work Zone, standard edition",
            Todo::Create,
        )
        .with(vec![FieldRow::new("Plan", "", w.workzone_plan)])
        .noted("SAP takes about a minute to subscribe; the run waits for it."),
    });
    if !org_exists || f.cf_read {
        items.push(match f.instances.first() {
            Some((_, name, state)) if state == "failed" => Item::new(
                "Task Center instance",
                name,
                Todo::Cannot("SAP could not create it".into()),
            )
            .noted("Delete it in the cockpit (the wizard never deletes), then read the plan again."),
            Some((_, name, _)) => Item::new("Task Center instance", name, Todo::Right)
                .noted(if name == INSTANCE { String::new() } else { format!("The org already has Task Center's instance {name}: Task Center's data is shared per org, so no second one is made.") }),
            None => Item::new("Task Center instance", INSTANCE, Todo::Create)
                .with(vec![FieldRow::new("Plan", "", w.plan), FieldRow::new("Space", "", &w.space)]),
        });
        items.push(match &f.key {
            Some(_) => Item::new("Service key", KEY, Todo::Right),
            None => Item::new("Service key", KEY, Todo::Create),
        });
        if let Some((name, x509)) = w.push {
            items.push(match &f.push_instance {
                Some((_, state)) if state == "failed" => Item::new(
                    "Task Center instance",
                    PUSH_INSTANCE,
                    Todo::Cannot("SAP could not create it".into()),
                )
                .noted("Delete it in the cockpit (the wizard never deletes), then read the plan again."),
                Some(_) => Item::new("Task Center instance", PUSH_INSTANCE, Todo::Right),
                None => Item::new("Task Center instance", PUSH_INSTANCE, Todo::Create).noted(
                    "The push channel's dedicated instance (SAP wants one for S/4HANA's pushes, so that rotating one key does not stop the other).",
                ),
            });
            items.push(match &f.push_key {
                Some(_) => Item::new("Service key", name, Todo::Right),
                None => Item::new("Service key", name, Todo::Create).noted(if x509 {
                    "With credential type x509: a client certificate valid one year."
                } else {
                    ""
                }),
            });
        }
    }
    // 11. Destinations.
    for name in DESTINATIONS {
        let now = f
            .destinations
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, p)| p.as_ref());
        items.push(match (name, now) {
            ("Identity_Authentication_Connectivity_IDS", Some(now)) => {
                let want = ids_destination(w);
                let rows = ["URL", "Authentication", "User", "Password"]
                    .iter()
                    .map(|k| {
                        let got = now.get(*k).and_then(Value::as_str).unwrap_or("");
                        let wanted = want.get(*k).and_then(Value::as_str).unwrap_or("");
                        if *k == "Password" {
                            // A secret is compared, never shown.
                            let shown = |v: &str, same: bool| match (v.is_empty(), same) {
                                (true, _) => String::new(),
                                (false, true) => "(set)".to_string(),
                                (false, false) => "(another value)".to_string(),
                            };
                            FieldRow::new(*k, shown(got, got == wanted), shown(wanted, true))
                        } else {
                            FieldRow::new(*k, got, wanted)
                        }
                    })
                    .collect();
                Item::compared("Destination", name, rows)
            }
            (_, Some(_)) => {
                Item::new("Destination", name, Todo::Right).noted(if name == "Task_Center" {
                    "Left as it is (do not change it, M.2)."
                } else {
                    ""
                })
            }
            (_, None) => Item::new("Destination", name, Todo::Create),
        });
    }
    // 12. Role collections and their assignment.
    for (name, role) in TC_COLLECTIONS {
        let exists = f.collections.iter().any(|(n, c)| *n == name && c.is_some());
        items.push(if exists {
            Item::new("Role collection", name, Todo::Right)
        } else {
            Item::new("Role collection", name, Todo::Create)
                .with(vec![FieldRow::new("Role", "", role)])
        });
    }
    for (email, uuid) in admins_of(w, f) {
        let Some(uuid) = uuid else {
            items.push(Item::new(
                "Role assignment",
                &email,
                Todo::Cannot(format!("{} has no user with this e-mail", w.ias_host)),
            ).noted("Role collections are assigned to the user of the customer's IAS (failure mode 25); create the user there, or correct the address."));
            continue;
        };
        let rows = ASSIGNED
            .iter()
            .map(|c| {
                let has = f.collections.iter().any(|(n, users)| {
                    n == c
                        && users
                            .as_ref()
                            .is_some_and(|u| u.iter().any(|(o, x)| o == "sap.custom" && *x == uuid))
                });
                FieldRow::new(*c, if has { "assigned" } else { "" }, "assigned")
            })
            .collect();
        items.push(Item::compared("Role assignment", &email, rows).noted(format!(
            "To {email}'s user of {} (origin sap.custom, user name {uuid}: with User UUID as subject name identifier, XSUAA knows the user by it).",
            w.ias_host
        )));
    }
    Plan {
        warnings,
        ..Plan::of(items)
    }
}

fn admins_of(w: &Wanted, f: &Found) -> Vec<(String, Option<String>)> {
    if f.admins.is_empty() {
        // Not looked up yet (nothing read): by address only.
        return w
            .admins
            .iter()
            .map(|a| (a.clone(), Some(String::from("(looked up in IAS)"))))
            .collect();
    }
    f.admins.clone()
}

/// What a run found out that the answers need.
#[derive(Default)]
pub struct Learned {
    pub subaccount_id: String,
    pub org: String,
    pub tc_key: Option<Value>,
    /// The push channel's key (credentials), when the run made or read it.
    pub push_key: Option<Value>,
    pub sm: Option<Value>,
    pub destination_key: Option<Value>,
}

/// Poll until `done` says so, or the wait is over (`Ok(false)`).
async fn poll<F, Fut>(
    progress: &Progress,
    what: &str,
    wait: Duration,
    mut check: F,
) -> Result<bool, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, String>>,
{
    crate::sap::poll_until(wait, Duration::from_secs(5), || {
        let state = check();
        async move {
            match state.await? {
                None => Ok(true),
                Some(state) => {
                    progress.say(format!("{what}: {state}"));
                    Ok(false)
                }
            }
        }
    })
    .await
}

/// The run, step by step: each step reads what the previous ones made.
async fn run(
    sap: &SapClient,
    central: Option<&Central<'_>>,
    calls: &Calls,
    w: &Wanted,
    mut f: Found,
    progress: &Progress,
    r: &mut Report<Learned>,
) -> Result<(), String> {
    let mut learned = Learned::default();
    let sm = match central {
        Some(central) => match global_steps(central, calls, w, &f, progress, r).await? {
            Some((guid, sm)) => {
                learned.subaccount_id = guid;
                sm
            }
            None => return Ok(()),
        },
        None => {
            learned.subaccount_id = w.subaccount_id.clone().unwrap_or_default();
            f.sm.clone()
                .ok_or("Paste a Service Manager key on step 3.1 first.")?
        }
    };
    learned.sm = Some(sm.clone());
    let sms = sm_session(sap, calls, &sm).await?;
    // 5, 6, 11. Access instances and their keys.
    if f.access.iter().filter(|a| a.credentials.is_some()).count() < ACCESS.len() {
        f.access = read_access(&sms, calls).await.map_err(|e| why(&e))?;
    }
    for (offering, plan, name) in ACCESS {
        if access(&f, name).is_some() {
            continue;
        }
        progress.say(format!("Creating {name}"));
        let creds = create_access(&sms, calls, offering, plan, name, r).await?;
        let Some(creds) = creds else {
            r.still_running = Some(format!(
                "SAP is still creating {name}. Read the plan again in a minute: the run goes on from there."
            ));
            return Ok(());
        };
        progress.step();
        f.access.retain(|a| a.name != name);
        f.access.push(Access {
            name,
            ready: true,
            failed: false,
            credentials: Some(creds),
        });
    }
    let cis = access(&f, ACCESS[0].2).cloned().unwrap_or(Value::Null);
    let xs_key = access(&f, ACCESS[1].2).cloned().unwrap_or(Value::Null);
    let dest = access(&f, ACCESS[2].2).cloned().unwrap_or(Value::Null);
    learned.destination_key = Some(dest.clone());
    let xs = btp::xsuaa_api(sap, calls, &xs_key)
        .await
        .map_err(|e| why(&e))?;
    // 6. Trust.
    let idps = xs.identity_providers(calls).await.map_err(|e| why(&e))?;
    let trusted = idps
        .iter()
        .any(|i| i.get("originKey").and_then(Value::as_str) == Some("sap.custom"));
    if !trusted {
        progress.say(format!("Establishing trust with {}", w.ias_host));
        xs.create_trust(calls, &w.ias_host)
            .await
            .map_err(|e| format!("Establishing trust with {} failed: {}", w.ias_host, why(&e)))?;
        r.done.push(format!(
            "Established trust with {} (origin sap.custom).",
            w.ias_host
        ));
        progress.step();
    }
    // 7. Cloud Foundry.
    let local = btp::local(sap, calls, &cis).await.map_err(|e| why(&e))?;
    let manager = w.admins.first().cloned().unwrap_or_default();
    let env_id = match &f.environment {
        Some((id, _, _, _, _)) => id.clone(),
        None => {
            progress.say("Enabling Cloud Foundry".into());
            let body = json!({"environmentType": "cloudfoundry", "serviceName": "cloudfoundry", "planName": "standard",
                "name": w.org, "user": manager, "parameters": {"instance_name": w.org}});
            let id = local
                .create_environment(calls, &body)
                .await
                .map_err(|e| format!("Enabling Cloud Foundry failed: {}", why(&e)))?;
            r.done.push(format!(
                "Enabled Cloud Foundry with the org {} (Org Manager {manager}).",
                w.org
            ));
            progress.step();
            id
        }
    };
    let (l, id) = (&local, env_id.as_str());
    let ready = poll(progress, "Cloud Foundry", LONG, move || async move {
        let v = l.environment(calls, id).await.map_err(|e| why(&e))?;
        let state = v
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let message = v
            .get("stateMessage")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match state.as_str() {
            "OK" => Ok(None),
            s if s.ends_with("FAILED") => Err(format!(
                "SAP could not enable Cloud Foundry: {s}, {message}"
            )),
            s => Ok(Some(format!("{s}, {message}"))),
        }
    })
    .await?;
    if !ready {
        r.still_running = Some("SAP is still enabling Cloud Foundry. Read the plan again in a minute: the run goes on from there.".into());
        return Ok(());
    }
    let (_, _, org_name, org, api) = env_fields(
        &local
            .environment(calls, &env_id)
            .await
            .map_err(|e| why(&e))?,
    );
    learned.org = org_name;
    // 9. Work Zone (before the instance, as the booster does).
    let subscribed = matches!(&f.work_zone, Some((s, _)) if s == "SUBSCRIBED" || s == "IN_PROCESS");
    if !subscribed {
        progress.say("Subscribing to SAP Build Work Zone".into());
        local
            .subscribe(calls, WORK_ZONE, w.workzone_plan)
            .await
            .map_err(|e| format!("Subscribing to SAP Build Work Zone failed: {}", why(&e)))?;
        r.done.push(format!(
            "Subscribed to SAP Build Work Zone, standard edition (plan {}).",
            w.workzone_plan
        ));
        progress.step();
    }
    let ready = poll(progress, "SAP Build Work Zone", LONG, move || async move {
        match l.application(calls, WORK_ZONE).await.map_err(|e| why(&e))? {
            Some(a) => match a.get("state").and_then(Value::as_str).unwrap_or("") {
                "SUBSCRIBED" => Ok(None),
                s if s.ends_with("FAILED") => Err(format!(
                    "SAP could not subscribe to SAP Build Work Zone: {}",
                    a.pointer("/subscriptionError/appError")
                        .and_then(Value::as_str)
                        .unwrap_or(s)
                )),
                s => Ok(Some(s.to_string())),
            },
            None => Ok(Some("not listed".into())),
        }
    })
    .await?;
    if !ready {
        r.still_running = Some("SAP is still subscribing to SAP Build Work Zone. Read the plan again in a minute: the run goes on from there.".into());
        return Ok(());
    }
    // 8, 10. Space, Task Center's instance and key, as the org manager.
    let password = w.cf_password.clone().ok_or("Enter the Cloud Foundry password of the org manager: the space and Task Center's instance are made as that user.")?;
    let cf = cf::connect(sap, calls, &api, &manager, &password)
        .await
        .map_err(|e| explain_cf(&e, &manager))?;
    let space = match cf.space(calls, &org, &w.space).await.map_err(|e| why(&e))? {
        Some(s) => s,
        None => {
            let s = cf
                .create_space(calls, &org, &w.space)
                .await
                .map_err(|e| format!("Creating the space {} failed: {}", w.space, why(&e)))?;
            r.done.push(format!(
                "Created the space {} in the org {}.",
                w.space, learned.org
            ));
            progress.step();
            s
        }
    };
    let devs = cf
        .space_role_holders(calls, &space, "space_developer")
        .await
        .map_err(|e| why(&e))?;
    for a in w.admins.iter().filter(|a| !devs.contains(a)) {
        cf.add_space_role(calls, &space, "space_developer", a, "sap.ids")
            .await
            .map_err(|e| format!("Making {a} a Space Developer failed: {}", why(&e)))?;
        r.done
            .push(format!("Made {a} a Space Developer of {}.", w.space));
    }
    let plan_guid = cf
        .plan(calls, &space, "one-inbox-service", w.plan)
        .await
        .map_err(|e| why(&e))?
        .ok_or_else(|| format!("Cloud Foundry offers no plan {} of Task Center in the space {}: is the entitlement assigned?", w.plan, w.space))?;
    let mut plans = vec![plan_guid.clone()];
    for p in ["all-tasks", "build-default", "cloud-only-tasks", "standard"] {
        if p != w.plan
            && let Some(g) = cf
                .plan(calls, &space, "one-inbox-service", p)
                .await
                .map_err(|e| why(&e))?
        {
            plans.push(g);
        }
    }
    let at = Where {
        space: &space,
        org: &org,
        plans: &plans,
        plan_guid: &plan_guid,
    };
    let Some(instance) = ensure_instance(&cf, calls, &at, INSTANCE, w, r, progress).await? else {
        return Ok(());
    };
    let Some(tc_key) = ensure_key(
        &cf,
        calls,
        &instance,
        INSTANCE,
        KEY,
        &json!({}),
        r,
        progress,
    )
    .await?
    else {
        return Ok(());
    };
    learned.tc_key = Some(tc_key.clone());
    if let Some((name, x509)) = w.push {
        let Some(push) = ensure_instance(&cf, calls, &at, PUSH_INSTANCE, w, r, progress).await?
        else {
            return Ok(());
        };
        let params = if x509 {
            super::push_key::x509_parameters()
        } else {
            json!({})
        };
        let Some(key) =
            ensure_key(&cf, calls, &push, PUSH_INSTANCE, name, &params, r, progress).await?
        else {
            return Ok(());
        };
        learned.push_key = Some(key);
    }

    // 11. Destinations.
    let dkey = DestinationKey::parse(&dest.to_string())
        .map_err(|e| format!("The Destination service key SAP made is not usable: {e}"))?
        .value;
    let d = destinations::connect(sap, calls, &dkey)
        .await
        .map_err(|e| why(&e))?;
    for name in DESTINATIONS {
        let now = d.get(calls, name).await.map_err(|e| why(&e))?;
        let want = if name == "Identity_Authentication_Connectivity_IDS" {
            ids_destination(w)
        } else {
            service_destination(name, Some(&tc_key))
        };
        let write = match (&now, name) {
            (None, _) => true,
            (Some(p), "Identity_Authentication_Connectivity_IDS") => {
                ["URL", "Authentication", "User", "Password"]
                    .iter()
                    .any(|k| p.get(*k) != want.get(*k))
            }
            _ => false,
        };
        if write {
            let mut props = now.clone().unwrap_or_default();
            props.extend(want);
            d.write(calls, &props, now.is_some())
                .await
                .map_err(|e| format!("Writing the destination {name} failed: {}", why(&e)))?;
            r.done.push(format!(
                "{} the destination {name}.",
                if now.is_some() { "Updated" } else { "Created" }
            ));
            progress.step();
        }
    }
    // 12. Role collections, then their assignment under the trust's origin.
    roles(sap, &xs, calls, w, r, progress).await?;
    r.output = Some(learned);
    Ok(())
}

/// Steps 2-4, with the global account's key: the subaccount, its
/// entitlements and the wizard's Service Manager access. `None`: SAP is
/// still working (the report says so).
async fn global_steps(
    central: &Central<'_>,
    calls: &Calls,
    w: &Wanted,
    f: &Found,
    progress: &Progress,
    r: &mut Report<Learned>,
) -> Result<Option<(String, Value)>, String> {
    // 2. The subaccount.
    let guid = match f.subaccount.clone() {
        Some((g, _, _)) => g,
        None => {
            progress.say("Creating the subaccount".into());
            let mut body = json!({"displayName": w.display_name, "region": w.region, "subdomain": w.subdomain,
                "description": "SAP Task Center, set up by taskcenter-wizard", "usedForProduction": "USED_FOR_PRODUCTION",
                "labels": {"purpose": ["taskcenter"]}, "betaEnabled": false});
            if !w.admins.is_empty() {
                body["subaccountAdmins"] = json!(w.admins);
            }
            let created = match central.create_subaccount(calls, &body).await {
                Ok(c) => c,
                Err(SapError::Status {
                    status: 409,
                    message,
                }) => {
                    // H.3: ours if this global account now lists it, else taken.
                    let again = central.subaccounts(calls).await.map_err(|e| why(&e))?;
                    match again.iter().find(|v| {
                        v.get("subdomain").and_then(Value::as_str) == Some(&w.subdomain)
                            && v.get("region").and_then(Value::as_str) == Some(&w.region)
                    }) {
                        Some(v) => v.clone(),
                        None => {
                            return Err(format!(
                                "The subdomain {} is taken in {} by another global account ({}). Choose another subdomain on this page.",
                                w.subdomain,
                                w.region,
                                message.unwrap_or_default()
                            ));
                        }
                    }
                }
                Err(e) => return Err(format!("Creating the subaccount failed: {}", why(&e))),
            };
            r.done.push(format!(
                "Created the subaccount {} ({}) in {}.",
                w.subdomain, w.display_name, w.region
            ));
            progress.step();
            created
                .get("guid")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        }
    };
    let g = guid.as_str();
    let ready = poll(progress, "Subaccount", LONG, move || async move {
        match central.subaccount(calls, g).await.map_err(|e| why(&e))? {
            Some(v) => {
                let state = v.get("state").and_then(Value::as_str).unwrap_or("");
                let message = v.get("stateMessage").and_then(Value::as_str).unwrap_or("");
                if state == "OK" {
                    Ok(None)
                } else if state.ends_with("FAILED") || state == "CANCELED" {
                    Err(format!(
                        "SAP could not create the subaccount: {state}, {message}"
                    ))
                } else {
                    Ok(Some(format!("{state}, {message}")))
                }
            }
            None => Ok(Some("not listed yet".into())),
        }
    })
    .await?;
    if !ready {
        r.still_running = Some("SAP is still creating the subaccount. Read the plan again in a few minutes: the wizard finds it by its subdomain and goes on.".into());
        return Ok(None);
    }
    // 3. Entitlements: only what differs, then wait for each.
    let missing: Vec<Entitled> = wanted_plans(w)
        .iter()
        .filter(|(s, p)| assigned(f, s, p).is_none_or(|a| a.off || a.state == "PROCESSING_FAILED"))
        .filter_map(|(s, p)| {
            f.entitled
                .iter()
                .find(|e| e.service == *s && e.plan == *p)
                .cloned()
        })
        .collect();
    if !missing.is_empty() {
        progress.say("Assigning the entitlements".into());
        central
            .assign(calls, &guid, &missing)
            .await
            .map_err(|e| format!("Assigning the entitlements failed: {}", why(&e)))?;
        for m in &missing {
            r.done.push(format!(
                "Assigned {} plan {} to the subaccount.",
                m.service, m.plan
            ));
            progress.step();
        }
    }
    let ready = poll(progress, "Entitlements", LONG, move || async move {
        let (now, _) = central.assignments(calls, g).await.map_err(|e| why(&e))?;
        let mut waiting = Vec::new();
        for (s, p) in wanted_plans(w) {
            match now.iter().find(|a| a.service == s && a.plan == p) {
                Some(a) if a.state == "OK" => {}
                Some(a) if a.state == "PROCESSING_FAILED" => {
                    return Err(format!("SAP could not assign {s} plan {p}: {}", a.message));
                }
                Some(a) => waiting.push(format!("{s}/{p} {}", a.state)),
                None => waiting.push(format!("{s}/{p} not listed yet")),
            }
        }
        Ok((!waiting.is_empty()).then(|| waiting.join(", ")))
    })
    .await?;
    if !ready {
        r.still_running = Some("SAP is still assigning the entitlements. Read the plan again in a minute: the run goes on from there.".into());
        return Ok(None);
    }
    // 4. Service Manager access.
    let sm = match f.sm.clone() {
        Some(b) => b,
        None => {
            let b = central
                .create_sm_binding(calls, &guid)
                .await
                .map_err(|e| format!("Creating the Service Manager access failed: {}", why(&e)))?;
            r.done
                .push("Created the Service Manager access of the subaccount.".into());
            progress.step();
            b
        }
    };
    Ok(Some((guid, sm)))
}

/// Where a run makes Task Center's instances: the space, its org, the
/// plans that count as Task Center's, the one to create with.
struct Where<'a> {
    space: &'a str,
    org: &'a str,
    plans: &'a [String],
    plan_guid: &'a str,
}

/// The instance `name` in the org, made in the space if absent (the main
/// one: any instance but the push channel's counts, data being per org).
/// `None`: SAP is still working (the report says so).
async fn ensure_instance(
    cf: &Cf<'_>,
    calls: &Calls,
    at: &Where<'_>,
    name: &str,
    w: &Wanted,
    r: &mut Report<Learned>,
    progress: &Progress,
) -> Result<Option<String>, String> {
    let find = || async {
        let all = cf
            .instances(calls, at.org, at.plans)
            .await
            .map_err(|e| why(&e))?;
        Ok::<_, String>(all.into_iter().find(|(_, n, _)| {
            if name == PUSH_INSTANCE {
                n == PUSH_INSTANCE
            } else {
                n != PUSH_INSTANCE
            }
        }))
    };
    let still = |r: &mut Report<Learned>, what: &str| {
        r.still_running = Some(format!(
            "SAP is still creating {what}. Read the plan again in a minute: the run goes on from there."
        ));
        Ok(None)
    };
    match find().await? {
        Some((g, _, state)) if state == "succeeded" => Ok(Some(g)),
        Some((_, n, _)) => still(r, &n),
        None => {
            progress.say(format!("Creating {name}"));
            let job = cf
                .create_instance(calls, at.space, at.plan_guid, name)
                .await
                .map_err(|e| format!("Creating {name} failed: {}", why(&e)))?;
            r.done.push(format!(
                "Created the Task Center instance {name} (plan {}) in {}.",
                w.plan, w.space
            ));
            progress.step();
            if !cf
                .wait(calls, &job, LONG)
                .await
                .map_err(|e| format!("Creating {name} failed: {}", why(&e)))?
            {
                return still(r, name);
            }
            Ok(find().await?.map(|(g, _, _)| g))
        }
    }
}

/// The key `name` of an instance, made if absent; its credentials.
#[allow(clippy::too_many_arguments)]
async fn ensure_key(
    cf: &Cf<'_>,
    calls: &Calls,
    instance: &str,
    of: &str,
    name: &str,
    parameters: &Value,
    r: &mut Report<Learned>,
    progress: &Progress,
) -> Result<Option<Value>, String> {
    let still = |r: &mut Report<Learned>| {
        r.still_running = Some(format!(
            "SAP is still creating the key {name}. Read the plan again in a minute."
        ));
        Ok(None)
    };
    let key = match cf.key(calls, instance, name).await.map_err(|e| why(&e))? {
        Some((k, true)) => k,
        Some(_) => return still(r),
        None => {
            let job = cf
                .create_key(calls, instance, name, parameters)
                .await
                .map_err(|e| format!("Creating the key {name} failed: {}", why(&e)))?;
            r.done
                .push(format!("Created the service key {name} of {of}."));
            progress.step();
            if !cf.wait(calls, &job, LONG).await.map_err(|e| why(&e))? {
                return still(r);
            }
            match cf.key(calls, instance, name).await.map_err(|e| why(&e))? {
                Some((k, _)) => k,
                None => return Err("Cloud Foundry does not list the key it created".into()),
            }
        }
    };
    cf.key_credentials(calls, &key)
        .await
        .map(Some)
        .map_err(|e| why(&e))
}

async fn create_access(
    sms: &service_manager::Session<'_>,
    calls: &Calls,
    offering: &str,
    plan: &str,
    name: &str,
    r: &mut Report<Learned>,
) -> Result<Option<Value>, String> {
    let fail = |e: SapError| {
        format!(
            "Creating {name} through Service Manager failed: {}",
            why(&e)
        )
    };
    let offerings = sms
        .list(
            calls,
            "service_offerings",
            &[service_manager::eq("catalog_name", offering)],
        )
        .await
        .map_err(fail)?;
    let offering_id = offerings
        .first()
        .and_then(|o| o.get("id"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let plans = sms
        .list(
            calls,
            "service_plans",
            &[
                service_manager::eq("catalog_name", plan),
                format!(
                    "service_offering_id in ('{}')",
                    offering_id.replace('\'', "''")
                ),
            ],
        )
        .await
        .map_err(fail)?;
    let plan_id = plans
        .first()
        .and_then(|p| p.get("id"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            format!("Service Manager offers no {offering} plan {plan}: is it entitled?")
        })?
        .to_string();
    let existing = sms
        .list(
            calls,
            "service_instances",
            &[service_manager::eq("name", name)],
        )
        .await
        .map_err(fail)?;
    let instance = match existing
        .first()
        .and_then(|i| i.get("id"))
        .and_then(Value::as_str)
    {
        Some(id) => id.to_string(),
        None => {
            // A cis key needs client credentials (G.1).
            let params = if offering == "cis" {
                json!({"grantType": "clientCredentials"})
            } else {
                json!({})
            };
            let body = json!({"name": name, "service_plan_id": plan_id, "parameters": params, "labels": {}});
            let made = sms
                .create(calls, "service_instances", &body)
                .await
                .map_err(fail)?;
            r.done.push(format!(
                "Created the service instance {name} ({offering} plan {plan})."
            ));
            match made.and_then(|m| m.get("id").and_then(Value::as_str).map(str::to_string)) {
                Some(id) => id,
                None => return Ok(None),
            }
        }
    };
    let body =
        json!({"name": format!("{name}-key"), "service_instance_id": instance, "parameters": {}});
    let b = sms
        .create(calls, "service_bindings", &body)
        .await
        .map_err(fail)?;
    r.done.push(format!("Created the key {name}-key."));
    Ok(b.and_then(|b| b.get("credentials").cloned())
        .filter(Value::is_object))
}

async fn roles(
    sap: &SapClient,
    xs: &XsApi<'_>,
    calls: &Calls,
    w: &Wanted,
    r: &mut Report<Learned>,
    progress: &Progress,
) -> Result<(), String> {
    let apps = xs.apps(calls).await.map_err(|e| why(&e))?;
    let tc_app = apps
        .iter()
        .find(|a| a.starts_with("one-inbox-service!b"))
        .cloned()
        .ok_or("Task Center's role templates are not in the subaccount yet (they come with its instance). Read the plan again in a minute.")?;
    for (name, template) in TC_COLLECTIONS {
        if xs
            .collection(calls, name)
            .await
            .map_err(|e| why(&e))?
            .is_none()
        {
            xs.create_collection(
                calls,
                name,
                &[RoleRef {
                    app: tc_app.clone(),
                    template: template.into(),
                }],
            )
            .await
            .map_err(|e| format!("Creating the role collection {name} failed: {}", why(&e)))?;
            r.done.push(format!(
                "Created the role collection {name} (role {template})."
            ));
            progress.step();
        }
    }
    if w.ias_admin.0.is_empty() {
        return Ok(());
    }
    for (email, uuid) in admin_uuids(sap, calls, w).await? {
        let Some(uuid) = uuid else {
            return Err(format!(
                "{} has no user {email}: create the user there, then run it again.",
                w.ias_host
            ));
        };
        let mut assigned = Vec::new();
        for c in ASSIGNED {
            let has = xs
                .collection(calls, c)
                .await
                .map_err(|e| why(&e))?
                .and_then(|v| v.get("userReferences").cloned())
                .and_then(|u| u.as_array().cloned())
                .is_some_and(|users| {
                    users
                        .iter()
                        .any(|x| x.get("username").and_then(Value::as_str) == Some(uuid.as_str()))
                });
            if !has {
                xs.assign(calls, "sap.custom", &uuid, c)
                    .await
                    .map_err(|e| format!("Assigning {c} to {email} failed: {}", why(&e)))?;
                assigned.push(c);
            }
        }
        if !assigned.is_empty() {
            r.done.push(format!(
                "Assigned {} to {email} (origin sap.custom).",
                assigned.join(", ")
            ));
            progress.step();
        }
    }
    Ok(())
}

/// The BTP half as one remote change. The org manager's Cloud Foundry
/// password rides with the run only (J.3: CF signs in platform users only).
#[derive(Clone, Default)]
pub struct BtpAccount {
    pub cf_password: Option<String>,
}

impl std::fmt::Debug for BtpAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BtpAccount { cf_password: <hidden> }")
    }
}

/// Why the BTP page cannot read yet, in words; `Ok` when it can.
pub fn missing(ctx: &Ctx) -> Result<(), String> {
    let subaccount_level = ctx.get("sm_clientid").is_some() && ctx.get("subaccount_id").is_some();
    if ctx.get("cis_clientid").is_none() && !subaccount_level {
        return Err("Paste the global account's Cloud Management key (plan central) first, or, for what a subaccount's own keys allow, a Service Manager key on step 3.1 and the subaccount ID on step 1.".into());
    }
    for (k, what) in [
        ("subdomain", "the subaccount's subdomain"),
        ("region", "the region (first page)"),
        ("ias_host", "the Identity Authentication tenant"),
        ("btp_admins", "the administrators' e-mail addresses"),
    ] {
        if ctx.get(k).is_none() {
            return Err(format!("Enter {what} first."));
        }
    }
    Ok(())
}

impl Flow for BtpAccount {
    type Wanted = Wanted;
    type Session<'a> = (&'a SapClient, Option<Central<'a>>);
    type Current = Found;
    type Output = Learned;

    const PAGE: &'static str = ids::SUBACCOUNT;
    const SYSTEM: &'static str = "The global account";
    const SOURCE: &'static str = "BTP API";
    const READ_BACK: bool = true;
    const LONG: bool = true;

    fn wanted(&self, ctx: &Ctx) -> Result<Wanted, String> {
        missing(ctx)?;
        let get = |k: &str| ctx.get(k).unwrap_or("").to_string();
        let key = match ctx.get("cis_clientid") {
            None => None,
            Some(clientid) => Some(CisKey {
                accounts_url: get("cis_accounts_url"),
                entitlements_url: get("cis_entitlements_url"),
                provisioning_url: get("cis_provisioning_url"),
                saas_url: get("cis_saas_url"),
                url: get("cis_uaa_url"),
                clientid: clientid.to_string(),
                clientsecret: ctx
                    .secret_to_send("cis_clientsecret")?
                    .ok_or("Paste the Cloud Management key again: its secret is missing.")?,
            }),
        };
        let sm = match (&key, ctx.get("sm_clientid")) {
            (None, Some(clientid)) => Some(ServiceManagerKey {
                sm_url: get("sm_url"),
                url: get("sm_uaa_url"),
                clientid: clientid.to_string(),
                clientsecret: ctx.secret_to_send("sm_clientsecret")?.ok_or(
                    "Paste the Service Manager key on step 3.1 again: its secret is missing.",
                )?,
            }),
            _ => None,
        };
        let admins: Vec<String> = get("btp_admins")
            .lines()
            .map(|l| l.trim().to_ascii_lowercase())
            .filter(|l| !l.is_empty())
            .collect();
        let ias_secret = ctx.secret_to_send("ias_client_secret")?.unwrap_or_default();
        let subdomain = get("subdomain");
        Ok(Wanted {
            key,
            sm,
            subaccount_id: ctx.get("subaccount_id").map(str::to_string),
            display_name: ctx.get("subaccount_name").map_or_else(|| format!("Task Center {subdomain}"), str::to_string),
            org: ctx.get("cf_org").map_or_else(|| format!("{subdomain}_taskcenter"), str::to_string),
            space: ctx.get("cf_space").unwrap_or("dev").to_string(),
            subdomain,
            region: get("region"),
            ias_host: get("ias_host"),
            plan: match ctx.get("plan") {
                Some("build-default") => "build-default",
                _ => "all-tasks",
            },
            workzone_plan: match ctx.get("workzone_plan") {
                Some("free") => "free",
                _ => "standard",
            },
            ias_admin: match ctx.get("ias_client_id") {
                Some(id) if !ias_secret.is_empty() => (id.to_string(), ias_secret),
                _ => return Err("Enter the IAS administrator's client ID and secret (step 2.1): the people-search destination needs them, and the wizard finds the administrators' users with them.".into()),
            },
            admins,
            cf_password: self.cf_password.clone(),
            push: match ctx.get("push_instance") {
                Some("none") => None,
                Some("x509") => Some((super::push_key::BINDING_X509, true)),
                _ => Some((super::push_key::BINDING, false)),
            },
        })
    }
    async fn connect<'a>(&self, sap: &'a SapClient, calls: &Calls, w: &Wanted) -> Conn<'a, Self> {
        let Some(key) = &w.key else {
            return Ok((sap, None));
        };
        let c = btp::central(sap, calls, key).await.map_err(|e| match e {
            SapError::Status { status: 401, .. } => format!("The Cloud Management key was refused: {}. Create a new key of the central instance and paste it.", e.explain()),
            e => e.explain(),
        })?;
        Ok((sap, Some(c)))
    }
    async fn read(&self, io: Io<'_, '_, Self>) -> Result<Found, String> {
        let (s, calls, w) = (io.session, io.calls, io.wanted);
        read_all(s.0, s.1.as_ref(), calls, w).await
    }
    fn plan(&self, w: &Wanted, c: &Found) -> Plan {
        plan_of(w, c)
    }
    async fn apply(&self, io: Io<'_, '_, Self>, c: Found) -> Report<Learned> {
        let (s, calls, w, progress) = (io.session, io.calls, io.wanted, io.progress);
        let mut r = Report::new();
        if let Err(e) = run(s.0, s.1.as_ref(), calls, w, c, progress, &mut r).await {
            r.failed.push(e);
        }
        r
    }
    fn failure(&self, done: &[String], failed: &[String]) -> String {
        format!(
            "{} {}Run it again to continue: everything SAP made is found and adopted, nothing is made twice.",
            failed.join(" "),
            if done.is_empty() {
                String::new()
            } else {
                "What was done before is listed below. ".into()
            }
        )
    }
    fn fills(&self, w: &Wanted, l: &Learned) -> Vec<Fill> {
        let mut fills = vec![
            Fill {
                page: ids::SUBACCOUNT,
                values: vec![
                    ("subdomain", w.subdomain.clone()),
                    ("subaccount_id", l.subaccount_id.clone()),
                    ("cf_org", l.org.clone()),
                    ("cf_space", w.space.clone()),
                ],
                ticked_by: Some("through the BTP API"),
                only: &[],
            },
            Fill {
                page: ids::IAS_TRUST,
                values: vec![("ias_host", w.ias_host.clone())],
                ticked_by: Some("through the BTP API"),
                only: &["trust"],
            },
            Fill {
                page: ids::BOOSTER,
                values: vec![("plan", w.plan.to_string())],
                ticked_by: Some("through the BTP API"),
                only: &[],
            },
        ];
        let mut keys = Vec::new();
        if let Some(k) = &l.tc_key {
            keys.push(("service_key", k.to_string()));
        }
        if let Some(k) = &l.push_key {
            keys.push(("push_key", k.to_string()));
        }
        if let Some(k) = &l.sm {
            keys.push(("sm_key", k.to_string()));
        }
        if !keys.is_empty() {
            fills.push(Fill {
                page: ids::TASK_CENTER_KEY,
                values: keys,
                ticked_by: None,
                only: &[],
            });
        }
        if let Some(k) = &l.destination_key {
            fills.push(Fill {
                page: ids::TRUST_CERTIFICATE,
                values: vec![("dest_key", k.to_string())],
                ticked_by: None,
                only: &[],
            });
        }
        fills
    }
    fn finished(
        &self,
        w: &Wanted,
        l: Option<&Learned>,
        done: &[String],
        unfilled: &[String],
    ) -> Result<String, String> {
        if !unfilled.is_empty() {
            return Err(format!(
                "SAP has everything, but not every step took what SAP returned: {}",
                unfilled.join(" ")
            ));
        }
        let head = if done.is_empty() && w.key.is_none() {
            "The subaccount already had everything: nothing was written."
        } else if done.is_empty() {
            "The global account already had everything: nothing was written."
        } else {
            "Done."
        };
        let left = if w.key.is_some() {
            "the subject name identifier in Identity Authentication (step 2.1)"
        } else {
            "the subaccount's entitlements, which only the global account's key can assign (check them in the cockpit), and the subject name identifier in Identity Authentication (step 2.1)"
        };
        Ok(format!(
            "{head} Steps 1, 2.1 and 2.2 are filled in from SAP (subaccount {}), and steps 3.1 and 3.2 have the Task Center, Service Manager and Destination service keys. Left for you: {left}.",
            l.map_or("", |l| l.subaccount_id.as_str())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted() -> Wanted {
        Wanted {
            key: Some(CisKey {
                accounts_url: String::new(),
                entitlements_url: String::new(),
                provisioning_url: String::new(),
                saas_url: String::new(),
                url: String::new(),
                clientid: String::new(),
                clientsecret: String::new(),
            }),
            sm: None,
            subaccount_id: None,
            subdomain: "acme-tc".into(),
            display_name: "Task Center".into(),
            region: "eu10".into(),
            ias_host: "acme.accounts.ondemand.com".into(),
            plan: "all-tasks",
            workzone_plan: "standard",
            org: "acme".into(),
            space: "dev".into(),
            admins: vec!["ada@acme.example".into()],
            ias_admin: ("id".into(), "secret".into()),
            cf_password: Some("pw".into()),
            push: Some((crate::playbook::push_key::BINDING, false)),
        }
    }

    fn catalog() -> Vec<Entitled> {
        wanted_plans(&wanted())
            .iter()
            .map(|(s, p)| Entitled {
                service: s.to_string(),
                plan: p.to_string(),
                category: "ELASTIC_SERVICE".into(),
            })
            .collect()
    }

    #[test]
    fn an_empty_global_account_is_all_creations() {
        let f = Found {
            entitled: catalog(),
            ..Found::default()
        };
        let plan = plan_of(&wanted(), &f);
        assert!(!plan.blocked(), "{:?}", plan.items);
        let kinds: Vec<&str> = plan
            .items
            .iter()
            .filter(|i| i.writes())
            .map(|i| i.object.as_str())
            .collect();
        for k in [
            "Subaccount",
            "Entitlement",
            "Service Manager access",
            "Trust",
            "Cloud Foundry org",
            "Subscription",
            "Task Center instance",
            "Destination",
            "Role collection",
            "Role assignment",
        ] {
            assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
        }
    }

    #[test]
    fn a_trust_to_another_tenant_or_a_missing_entitlement_is_named_not_changed() {
        let mut f = Found {
            entitled: catalog(),
            ..Found::default()
        };
        f.subaccount = Some(("g".into(), "OK".into(), String::new()));
        f.trust = Some(("sap.custom".into(), "other.accounts.ondemand.com".into()));
        let plan = plan_of(&wanted(), &f);
        assert!(plan.blocked());
        let trust = plan.items.iter().find(|i| i.object == "Trust").unwrap();
        assert_eq!(
            trust.todo,
            Todo::Cannot("the subaccount already trusts other.accounts.ondemand.com".into())
        );
        let f = Found::default();
        let plan = plan_of(&wanted(), &f);
        assert!(
            plan.items
                .iter()
                .any(|i| i.object == "Entitlement" && matches!(i.todo, Todo::Cannot(_)))
        );
    }

    #[test]
    fn the_ids_password_is_compared_never_shown() {
        let mut f = Found {
            entitled: catalog(),
            ..Found::default()
        };
        let mut ids = ids_destination(&wanted());
        ids.insert("Password".into(), json!("old-secret"));
        f.destinations
            .push(("Identity_Authentication_Connectivity_IDS", Some(ids)));
        let plan = plan_of(&wanted(), &f);
        let item = plan
            .items
            .iter()
            .find(|i| i.name == "Identity_Authentication_Connectivity_IDS")
            .unwrap();
        assert_eq!(item.todo, Todo::Change);
        let shown = format!("{:?}", item.fields);
        assert!(
            !shown.contains("old-secret") && !shown.contains("\"secret\""),
            "{shown}"
        );
        assert!(shown.contains("(another value)"));
    }
}
