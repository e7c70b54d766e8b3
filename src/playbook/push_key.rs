//! The push channel's dedicated Task Center instance and key through SAP
//! Service Manager (sap-apis.md F): a plan read from SAP, then — only after
//! the consultant confirmed it — the creation. Existing ones are reused,
//! nothing is ever deleted (F.3: deleting the last instance erases all data).

use serde::Serialize;
use serde_json::{Value, json};

use super::Ctx;
use crate::domain::ServiceManagerKey;
use crate::sap::service_manager::{Session, eq};
use crate::sap::{Calls, SapError};

/// The names the wizard gives what it creates (CLI-friendly, F.2).
pub const INSTANCE: &str = "tc-push";
pub const BINDING: &str = "tc-push-key";
const OFFERING: &str = "one-inbox-service";

/// What the plan needs from the answers: the Service Manager key (step 3.1)
/// and the plan of step 2.2 (a retired `standard` is not created again).
pub struct Wanted {
    pub key: ServiceManagerKey,
    pub plan: &'static str,
}

pub fn wanted(ctx: &Ctx) -> Result<Wanted, String> {
    let (Some(sm_url), Some(url), Some(clientid)) = (
        ctx.get("sm_url"),
        ctx.get("sm_uaa_url"),
        ctx.get("sm_clientid"),
    ) else {
        return Err("First paste a Service Manager key on step 3.1.".into());
    };
    let clientsecret = ctx
        .secret_to_send("sm_clientsecret")?
        .ok_or("First paste a Service Manager key on step 3.1.")?;
    let plan = match ctx.get("plan") {
        Some("build-default") => "build-default",
        _ => "all-tasks",
    };
    Ok(Wanted {
        key: ServiceManagerKey {
            sm_url: sm_url.into(),
            url: url.into(),
            clientid: clientid.into(),
            clientsecret,
        },
        plan,
    })
}

#[derive(Serialize, Clone, PartialEq, Eq)]
pub struct Existing {
    pub id: String,
    pub ready: bool,
    /// Its creation failed: only the cockpit can remove it (the wizard never deletes).
    pub failed: bool,
}

/// What SAP has now and what confirming would do.
#[derive(Serialize)]
pub struct Plan {
    pub plan: &'static str,
    pub plan_id: String,
    pub instance: Option<Existing>,
    pub binding: Option<Existing>,
}

impl Plan {
    /// A fingerprint of what the consultant saw, so apply does only that.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(
            serde_json::to_string(self).unwrap_or_default().as_bytes(),
        ))
    }

    /// The plan in words, one line per step.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![match &self.instance {
            None => format!(
                "Create the service instance {INSTANCE} of SAP Task Center ({OFFERING}), plan {}.",
                self.plan
            ),
            Some(i) if i.failed => format!(
                "The instance {INSTANCE} (ID {}) exists, but SAP could not create it. Delete it in the cockpit (Instances and Subscriptions; the wizard never deletes), then read the plan again.",
                i.id
            ),
            Some(i) if i.ready => format!("Use the existing instance {INSTANCE} (ID {}).", i.id),
            Some(i) => format!(
                "Wait for the instance {INSTANCE} (ID {}): SAP is still creating it.",
                i.id
            ),
        }];
        out.push(match &self.binding {
            Some(b) if b.failed => format!(
                "The key {BINDING} (ID {}) exists, but SAP could not create it. Delete it in the cockpit, then read the plan again.",
                b.id
            ),
            None => format!("Create the service key {BINDING} of that instance."),
            Some(b) => format!("Read the existing key {BINDING} (ID {}).", b.id),
        });
        out.push("Save that key as step 3.1's dedicated push key: its client ID becomes tc.clientId and the outbound user of the communication system.".into());
        out
    }

    /// Something failed earlier that only the cockpit can clear.
    pub fn blocked(&self) -> bool {
        [&self.instance, &self.binding]
            .iter()
            .any(|e| e.as_ref().is_some_and(|e| e.failed))
    }

    pub fn creates(&self) -> usize {
        usize::from(self.instance.is_none()) + usize::from(self.binding.is_none())
    }
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

/// Read Service Manager: the offering, the plan, and what already exists.
pub async fn plan(sm: &Session<'_>, calls: &Calls, w: &Wanted) -> Result<Plan, SapError> {
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
                &[eq("name", BINDING), eq("service_instance_id", &i.id)],
            )
            .await?
            .first()
            .and_then(existing),
        None => None,
    };
    Ok(Plan {
        plan: w.plan,
        plan_id,
        instance,
        binding,
    })
}

pub enum Applied {
    /// The key's credentials: a Task Center service key (sap-apis.md §2).
    Key(Value),
    /// SAP is still working; running it again continues.
    StillRunning(String),
}

/// Create what the plan says is missing, then read the key's credentials.
pub async fn apply(sm: &Session<'_>, calls: &Calls, plan: &Plan) -> Result<Applied, SapError> {
    if plan.blocked() {
        return Err(SapError::Status {
            status: 409,
            message: Some(format!(
                "{INSTANCE} or {BINDING} exists from a failed creation; delete it in the cockpit first"
            )),
        });
    }
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
            match sm.create(calls, "service_instances", &body).await? {
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
            let body = json!({"name": BINDING, "service_instance_id": instance, "parameters": {}});
            match sm.create(calls, "service_bindings", &body).await? {
                Some(b) => b,
                None => return still(&format!("the key {BINDING}")),
            }
        }
    };
    match binding.get("credentials").filter(|c| c.is_object()) {
        Some(c) => Ok(Applied::Key(c.clone())),
        None if binding.get("ready").and_then(Value::as_bool) == Some(false) => {
            still(&format!("the key {BINDING}"))
        }
        None => Err(SapError::Garbage {
            what: "a service key without credentials".into(),
        }),
    }
}
