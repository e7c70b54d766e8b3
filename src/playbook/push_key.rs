//! The push channel's dedicated Task Center instance and key through SAP
//! Service Manager (sap-apis.md F): a plan read from SAP, then — only after
//! the consultant confirmed it — the creation. Existing ones are reused,
//! nothing is ever deleted (F.3: deleting the last instance erases all data).

use super::ids;
use serde::Serialize;
use serde_json::{Value, json};

use super::Ctx;
use super::change::{Conn, Fill, Flow, Io, Item, Plan, Report, Todo};
use crate::domain::ServiceManagerKey;
use crate::sap::service_manager::{self, Session, eq};
use crate::sap::{Calls, SapClient, SapError};

/// The names the wizard gives what it creates (CLI-friendly, F.2).
pub const INSTANCE: &str = "tc-push";
pub const BINDING: &str = "tc-push-key";
/// The key with credential type x509 (O.1): a name of its own, so that a
/// secret key made before is never taken for it.
pub const BINDING_X509: &str = "tc-push-key-x509";
/// SAP's binding parameters for an x509 key, valid one year at most (O.1).
pub fn x509_parameters() -> Value {
    json!({"xsuaa": {"credential-type": "x509", "x509": {"key-length": 2048, "validity": 1, "validity-type": "YEARS"}}})
}
const OFFERING: &str = "one-inbox-service";

/// What the plan needs from the answers: the Service Manager key (step 3.1)
/// and the plan of step 2.2 (a retired `standard` is not created again).
pub struct Wanted {
    pub key: ServiceManagerKey,
    pub plan: &'static str,
    /// A key with credential type x509 instead of a secret (step 3.1's choice).
    pub x509: bool,
}

#[derive(Serialize, Clone, PartialEq, Eq)]
pub struct Existing {
    pub id: String,
    pub ready: bool,
    /// Its creation failed: only the cockpit can remove it (the wizard never deletes).
    pub failed: bool,
}

/// What Service Manager has now.
pub struct Found {
    pub plan: &'static str,
    /// The key's name: `BINDING` or `BINDING_X509`.
    pub binding_name: &'static str,
    pub plan_id: String,
    pub instance: Option<Existing>,
    pub binding: Option<Existing>,
}

/// The plan, object by object: each says what confirming does.
fn plan_of(f: &Found) -> Plan {
    let instance = match &f.instance {
        None => Item::new("Service instance", INSTANCE, Todo::Create).noted(format!(
            "Create the service instance {INSTANCE} of SAP Task Center ({OFFERING}), plan {}. Plan ID: {}.",
            f.plan, f.plan_id
        )),
        Some(i) if i.failed => Item::new(
            "Service instance",
            INSTANCE,
            Todo::Cannot("SAP could not create it".into()),
        )
        .noted(format!(
            "The instance {INSTANCE} (ID {}) exists, but SAP could not create it. Delete it in the cockpit (Instances and Subscriptions; the wizard never deletes), then read the plan again.",
            i.id
        )),
        Some(i) if i.ready => Item::new("Service instance", INSTANCE, Todo::Right)
            .noted(format!("Use the existing instance {INSTANCE} (ID {}).", i.id)),
        Some(i) => Item::new("Service instance", INSTANCE, Todo::Right).noted(format!(
            "Wait for the instance {INSTANCE} (ID {}): SAP is still creating it.",
            i.id
        )),
    };
    let binding = match &f.binding {
        Some(b) if b.failed => Item::new(
            "Service key",
            f.binding_name,
            Todo::Cannot("SAP could not create it".into()),
        )
        .noted(format!(
            "The key {} (ID {}) exists, but SAP could not create it. Delete it in the cockpit, then read the plan again.",
            f.binding_name, b.id
        )),
        None => Item::new("Service key", f.binding_name, Todo::Create)
            .noted(if f.binding_name == BINDING_X509 {
            format!("Create the service key {} of that instance with credential type x509 (a client certificate valid one year).", f.binding_name)
        } else {
            format!("Create the service key {} of that instance.", f.binding_name)
        }),
        Some(b) => Item::new("Service key", f.binding_name, Todo::Right)
            .noted(format!("Read the existing key {} (ID {}).", f.binding_name, b.id)),
    };
    Plan::of(vec![instance, binding])
}

fn id_of(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_string)
}

fn existing(v: &Value) -> Option<Existing> {
    Some(Existing {
        id: id_of(v)?,
        ready: v.get("ready").and_then(Value::as_bool).unwrap_or(false),
        failed: v.pointer("/last_operation/state").and_then(Value::as_str) == Some("failed"),
    })
}

fn missing(what: String) -> SapError {
    SapError::Status {
        status: 404,
        message: Some(what),
    }
}

fn binding_name(w: &Wanted) -> &'static str {
    if w.x509 { BINDING_X509 } else { BINDING }
}

/// Read Service Manager: the offering, the plan, and what already exists.
async fn read(sm: &Session<'_>, calls: &Calls, w: &Wanted) -> Result<Found, SapError> {
    let offerings = sm
        .list(calls, "service_offerings", &[eq("catalog_name", OFFERING)])
        .await?;
    let offering = offerings.first().and_then(id_of).ok_or_else(|| {
        missing(format!(
            "this subaccount has no {OFFERING} offering: is SAP Task Center entitled to it?"
        ))
    })?;
    let plans = sm
        .list(
            calls,
            "service_plans",
            &[
                eq("catalog_name", w.plan),
                format!(
                    "service_offering_id in ('{}')",
                    offering.replace('\'', "''")
                ),
            ],
        )
        .await?;
    let plan_id = plans.first().and_then(id_of).ok_or_else(|| {
        missing(format!(
            "the plan {} of SAP Task Center is not available: check the subaccount's entitlements",
            w.plan
        ))
    })?;
    let instance = sm
        .list(calls, "service_instances", &[eq("name", INSTANCE)])
        .await?
        .first()
        .and_then(existing);
    let binding = match &instance {
        Some(i) => sm
            .list(
                calls,
                "service_bindings",
                &[
                    eq("name", binding_name(w)),
                    eq("service_instance_id", &i.id),
                ],
            )
            .await?
            .first()
            .and_then(existing),
        None => None,
    };
    Ok(Found {
        plan: w.plan,
        binding_name: binding_name(w),
        plan_id,
        instance,
        binding,
    })
}

enum Applied {
    /// The key's credentials: a Task Center service key (sap-apis.md §2).
    Key(Value),
    /// SAP is still working; running it again continues.
    StillRunning(String),
}

/// Create what the plan says is missing, then read the key's credentials.
/// `done` gets a sentence per object created (for the history).
async fn create(
    sm: &Session<'_>,
    calls: &Calls,
    plan: &Found,
    done: &mut Vec<String>,
) -> Result<Applied, SapError> {
    let still = |what: &str| {
        Ok(Applied::StillRunning(format!(
            "SAP is still creating {what}. Wait a minute and confirm again: the wizard finds it by its name and goes on."
        )))
    };
    let instance = match &plan.instance {
        Some(i) if i.ready => i.id.clone(),
        Some(i) => {
            let now = sm.read(calls, "service_instances", &i.id).await?;
            if now.get("ready").and_then(Value::as_bool) != Some(true) {
                return still(&format!("the instance {INSTANCE}"));
            }
            i.id.clone()
        }
        None => {
            let body = json!({"name": INSTANCE, "service_plan_id": plan.plan_id, "parameters": {}, "labels": {}});
            let created = sm.create(calls, "service_instances", &body).await?;
            done.push(format!(
                "Created the service instance {INSTANCE} of {OFFERING}, plan {}.",
                plan.plan
            ));
            match created {
                Some(created) => id_of(&created).ok_or_else(|| SapError::Garbage {
                    what: "an instance without an id".into(),
                })?,
                None => return still(&format!("the instance {INSTANCE}")),
            }
        }
    };
    let binding = match &plan.binding {
        Some(b) => sm.read(calls, "service_bindings", &b.id).await?,
        None => {
            let name = plan.binding_name;
            let parameters = if name == BINDING_X509 {
                x509_parameters()
            } else {
                json!({})
            };
            let body =
                json!({"name": name, "service_instance_id": instance, "parameters": parameters});
            let created = sm.create(calls, "service_bindings", &body).await?;
            done.push(format!("Created the service key {name} of {INSTANCE}."));
            match created {
                Some(b) => b,
                None => return still(&format!("the key {}", plan.binding_name)),
            }
        }
    };
    match binding.get("credentials").filter(|c| c.is_object()) {
        Some(c) => Ok(Applied::Key(c.clone())),
        None if binding.get("ready").and_then(Value::as_bool) == Some(false) => {
            still(&format!("the key {}", plan.binding_name))
        }
        None => Err(SapError::Garbage {
            what: "a service key without credentials".into(),
        }),
    }
}

/// Step 3.1's Service Manager key, for every flow that uses it.
pub fn service_manager_key(ctx: &Ctx) -> Result<ServiceManagerKey, String> {
    const FIRST: &str = "First paste a Service Manager key on step 3.1.";
    let (Some(sm_url), Some(url), Some(clientid)) = (
        ctx.get("sm_url"),
        ctx.get("sm_uaa_url"),
        ctx.get("sm_clientid"),
    ) else {
        return Err(FIRST.into());
    };
    Ok(ServiceManagerKey {
        sm_url: sm_url.into(),
        url: url.into(),
        clientid: clientid.into(),
        clientsecret: ctx.secret_to_send("sm_clientsecret")?.ok_or(FIRST)?,
    })
}

/// The client ID of a Task Center key as SAP gives it (`uaa.clientid`).
pub fn client_of(key: &str) -> String {
    serde_json::from_str::<Value>(key)
        .ok()
        .and_then(|k| {
            k.pointer("/uaa/clientid")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// Why Service Manager could not be used, in words (403: an audit key).
fn explain(e: &SapError) -> String {
    match e {
        SapError::Status { status: 403, .. } => format!(
            "{} Creating instances needs a Service Manager key of plan subaccount-admin (or container); a subaccount-audit key can only read.",
            e.explain()
        ),
        // sap-apis-btp.md J.3 [U]: Task Center may allow its instances only
        // in Cloud Foundry spaces.
        SapError::Status {
            message: Some(m), ..
        } if m.contains("not supported on platform") => format!(
            "{} This subaccount's Task Center takes instances only in a Cloud Foundry space: create the dedicated instance and its key there (cockpit > the space > Instances, or cf create-service one-inbox-service <plan> tc-push), then paste the key on step 3.1.",
            e.explain()
        ),
        _ => e.explain(),
    }
}

/// A new key's credentials, as JSON the way a pasted key is (both flows that
/// create one give it to step 3.1).
pub type KeyJson = String;

/// The push channel's instance and key through Service Manager, as one
/// remote change.
#[derive(Clone, Copy, Default)]
pub struct PushKey;

impl Flow for PushKey {
    type Wanted = Wanted;
    type Session<'a> = Session<'a>;
    type Current = Found;
    type Output = KeyJson;

    const PAGE: &'static str = ids::TASK_CENTER_KEY;
    const SYSTEM: &'static str = "Service Manager";
    const SOURCE: &'static str = "Service Manager API";
    const READ_BACK: bool = true;
    fn wanted(&self, ctx: &Ctx) -> Result<Wanted, String> {
        let plan = match ctx.get("plan") {
            Some("build-default") => "build-default",
            _ => "all-tasks",
        };
        Ok(Wanted {
            x509: ctx.get("push_credential") == Some("x509"),
            key: service_manager_key(ctx)?,
            plan,
        })
    }
    async fn connect<'a>(&self, sap: &'a SapClient, calls: &Calls, w: &Wanted) -> Conn<'a, Self> {
        service_manager::connect(sap, calls, &w.key)
            .await
            .map_err(|e| explain(&e))
    }
    async fn read(&self, io: Io<'_, '_, Self>) -> Result<Found, String> {
        let (s, calls, w) = (io.session, io.calls, io.wanted);
        read(s, calls, w).await.map_err(|e| explain(&e))
    }
    fn plan(&self, _w: &Wanted, c: &Found) -> Plan {
        plan_of(c)
    }
    async fn apply(&self, io: Io<'_, '_, Self>, c: Found) -> Report<String> {
        let (s, calls) = (io.session, io.calls);
        let mut r = Report::new();
        match create(s, calls, &c, &mut r.done).await {
            Ok(Applied::Key(credentials)) => {
                r.output = Some(serde_json::to_string_pretty(&credentials).unwrap_or_default());
            }
            Ok(Applied::StillRunning(msg)) => r.still_running = Some(msg),
            Err(e) => r.failed.push(explain(&e)),
        }
        r
    }
    fn failure(&self, _done: &[String], failed: &[String]) -> String {
        format!(
            "{} Nothing else was changed; try again to continue.",
            failed.join(" ")
        )
    }
    fn fills(&self, _w: &Wanted, key: &String) -> Vec<Fill> {
        vec![Fill {
            page: ids::TASK_CENTER_KEY,
            values: vec![("push_key", key.clone())],
            ticked_by: Some("through SAP Service Manager"),
            only: &[],
        }]
    }
    fn finished(
        &self,
        _w: &Wanted,
        key: Option<&String>,
        _done: &[String],
        unfilled: &[String],
    ) -> Result<String, String> {
        if !unfilled.is_empty() {
            return Err(format!(
                "The key was created in SAP ({} of {INSTANCE}), but step 3.1 did not accept it: {}",
                binding_name(_w),
                unfilled.join(" ")
            ));
        }
        let client = key.map(|k| client_of(k)).unwrap_or_default();
        Ok(format!(
            "The key {} of the instance {INSTANCE} is saved on step 3.1 as the push channel's key (client {client}). Next: the outbound user in S/4HANA (steps 3.3 to 3.5){}.",
            binding_name(_w),
            if _w.x509 {
                ", which for an X.509 key you set up by hand as the S/4HANA plan says"
            } else {
                ""
            }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(instance: Option<Existing>, binding: Option<Existing>) -> Found {
        Found {
            plan: "all-tasks",
            binding_name: BINDING,
            plan_id: "p1".into(),
            instance,
            binding,
        }
    }

    fn existing(ready: bool, failed: bool) -> Option<Existing> {
        Some(Existing {
            id: "i1".into(),
            ready,
            failed,
        })
    }

    #[test]
    fn nothing_there_is_two_creations_and_both_there_is_none() {
        assert_eq!(plan_of(&found(None, None)).writes(), 2);
        let plan = plan_of(&found(existing(true, false), existing(true, false)));
        assert!(plan.nothing_to_do() && !plan.blocked());
    }

    #[test]
    fn a_failed_creation_blocks_the_plan_and_the_wizard_never_deletes_it() {
        let plan = plan_of(&found(existing(false, true), None));
        assert!(plan.blocked());
        let note = plan.items[0].note.clone().unwrap_or_default();
        assert!(note.contains("Delete it in the cockpit"), "{note}");
    }

    #[test]
    fn the_plan_id_is_part_of_what_is_confirmed() {
        let a = plan_of(&found(None, None));
        let mut other = found(None, None);
        other.plan_id = "p2".into();
        assert_ne!(a.fingerprint(), plan_of(&other).fingerprint());
    }
}
