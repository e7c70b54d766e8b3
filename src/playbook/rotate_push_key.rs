//! Rotating the push channel's key in SAP's order (Task Center "Credentials
//! Rotation", failure mode 27): a new key of the dedicated instance through
//! Service Manager, S/4HANA's outbound user given its client and secret, a
//! token got with them — and only then the old key left to delete in the
//! cockpit. One confirmed plan; the wizard never deletes.

use serde_json::{Value, json};

use super::change::{Conn, FieldRow, Fill, Flow, Io, Item, Plan, Report, Todo};
use super::push_key::{BINDING, INSTANCE, client_of, service_manager_key};
use super::{Ctx, ids};
use crate::domain::ServiceManagerKey;
use crate::sap::s4::{self, CS, Entity};
use crate::sap::service_manager::{self, eq};
use crate::sap::{Calls, SapClient, SapError, xsuaa};

/// What a rotation needs to know and cannot confirm [U]: kept here, shown on
/// its page for the consultant to check on a real tenant.
pub const UNCONFIRMED: &[&str] = &[
    "Whether a new key of the same instance keeps the client ID (XSUAA's binding-secret keys usually do) or gets one of its own: the plan handles both; with a new client ID the destination's tc.clientId changes too (step 4 applies it).",
    "That S/4HANA's outbound user takes a new OAuth2ClientID and Password by PATCH of OutboundUsers (Edit Outbound User in the app): check in Communication Systems that the outbound user shows the new client.",
];

pub struct Wanted {
    pub sm: ServiceManagerKey,
    pub s4_api: String,
    pub s4_user: String,
    pub s4_password: String,
    /// The client S/4HANA's outbound user holds now (step 3.1's push key).
    pub old_client: String,
    /// The new key's name: the day of the rotation, so that a second try
    /// the same day finds the key the first one made.
    pub name: String,
}

pub struct Sessions<'a> {
    sm: service_manager::Session<'a>,
    s4: s4::Session<'a>,
    sap: &'a SapClient,
}

pub struct Found {
    instance: Option<String>,
    /// Every key of the instance: (id, name).
    keys: Vec<(String, String)>,
    outbound: Option<Entity>,
}

impl Found {
    fn new_key(&self, w: &Wanted) -> Option<&str> {
        self.keys
            .iter()
            .find(|(_, n)| *n == w.name)
            .map(|(id, _)| id.as_str())
    }
}

fn plan_of(w: &Wanted, f: &Found) -> Plan {
    let mut items = Vec::new();
    let Some(instance) = &f.instance else {
        return Plan::of(vec![Item::new(
            "Service instance",
            INSTANCE,
            Todo::Cannot("the push channel's instance is not in this subaccount".into()),
        )
        .noted("Create the push key on step 3.1 first (\"Create the push key through SAP Service Manager\"): a rotation makes a new key of that instance.")]);
    };
    items.push(match f.new_key(w) {
        Some(id) => Item::new("Service key", &w.name, Todo::Right).noted(format!(
            "Read the key {} (ID {id}) an earlier try made.",
            w.name
        )),
        None => Item::new("Service key", &w.name, Todo::Create).noted(format!(
            "Create the key {} of the instance {INSTANCE} (ID {instance}).",
            w.name
        )),
    });
    items.push(match &f.outbound {
        None => Item::new(
            "Outbound user (push)",
            &w.old_client,
            Todo::Cannot("S/4HANA has no outbound user with this client".into()),
        )
        .noted("S/4HANA does not push with this key yet: set up push through the S/4HANA half (steps 3.3 to 3.5) instead of rotating."),
        Some(o) => Item::new("Outbound user (push)", &w.old_client, Todo::Change).with(vec![
            FieldRow::new(
                "OAuth2ClientID",
                str_of(o, "OAuth2ClientID"),
                "the new key's client ID",
            ),
            FieldRow::new(
                "Password",
                "the old key's secret (S/4HANA does not show it)",
                "the new key's client secret",
            ),
        ]),
    });
    for (id, name) in f.keys.iter().filter(|(_, n)| *n != w.name) {
        items.push(
            Item::new(
                "Old service key",
                name,
                Todo::Left("delete it in the cockpit once the new key works: the wizard never deletes".into()),
            )
            .noted(format!(
                "After the run (a token with the new key, and Verify with a customer user showing PUSH OK), delete the key {name} (ID {id}) in the cockpit: Instances and Subscriptions > {INSTANCE} > Service Keys. Deleting it first stops S/4HANA's pushes."
            )),
        );
    }
    Plan::of(items)
}

fn str_of(e: &Entity, k: &str) -> String {
    e.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

fn id_of(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_string)
}

async fn read(s: &Sessions<'_>, calls: &Calls, w: &Wanted) -> Result<Found, SapError> {
    let filter = format!("OAuth2ClientID eq '{}'", w.old_client.replace('\'', "''"));
    let q = [("$filter", filter.as_str())];
    let named = [eq("name", INSTANCE)];
    let (instances, outbound) = tokio::join!(
        s.sm.list(calls, "service_instances", &named),
        s.s4.list(calls, CS, "OutboundUsers", Some(&q)),
    );
    let instance = instances?.first().and_then(id_of);
    let keys = match &instance {
        Some(i) => {
            s.sm.list(calls, "service_bindings", &[eq("service_instance_id", i)])
                .await?
                .iter()
                .filter_map(|b| {
                    let name = b.get("name").and_then(Value::as_str)?;
                    Some((id_of(b)?, name.to_string()))
                })
                .filter(|(_, n)| n.starts_with(BINDING))
                .collect()
        }
        None => Vec::new(),
    };
    Ok(Found {
        instance,
        keys,
        outbound: outbound?.into_iter().next(),
    })
}

/// The rotation as one remote change (routes: `web::change`, slug
/// `rotate-push-key`).
#[derive(Clone, Copy, Default)]
pub struct RotatePushKey;

impl Flow for RotatePushKey {
    type Wanted = Wanted;
    type Session<'a> = Sessions<'a>;
    type Current = Found;
    type Output = super::push_key::KeyJson;

    const PAGE: &'static str = ids::TASK_CENTER_KEY;
    const SYSTEM: &'static str = "SAP";
    const SOURCE: &'static str = "Service Manager and S/4HANA APIs";

    fn wanted(&self, ctx: &Ctx) -> Result<Wanted, String> {
        let sm = service_manager_key(ctx)?;
        let Some(old_client) = ctx.get("push_clientid") else {
            return Err("Step 3.1 has no dedicated push key to rotate.".into());
        };
        if ctx.get("push_certurl").is_some() {
            return Err("Step 3.1's push key has a client certificate (X.509): S/4HANA's mTLS outbound user is set by hand, so rotate it by hand too: create a key with credential type x509 (\"Create the push key through SAP Service Manager\" makes one), give S/4HANA its outbound.p12, check PUSH, then delete the old key.".into());
        }
        let (s4_api, s4_user, s4_password) = super::s4_setup::api_access(ctx)?;
        Ok(Wanted {
            sm,
            s4_api,
            s4_user,
            s4_password,
            old_client: old_client.into(),
            name: format!("{BINDING}-{}", crate::fmt::date(ctx.now)),
        })
    }
    async fn connect<'a>(&self, sap: &'a SapClient, calls: &Calls, w: &Wanted) -> Conn<'a, Self> {
        let (sm, s4) = tokio::join!(
            service_manager::connect(sap, calls, &w.sm),
            s4::Session::connect(sap, calls, &w.s4_api, &w.s4_user, &w.s4_password),
        );
        Ok(Sessions {
            sm: sm.map_err(|e| format!("Service Manager: {}", e.explain()))?,
            s4: s4.map_err(|e| format!("S/4HANA: {}", s4::explain(&e)))?,
            sap,
        })
    }
    async fn read(&self, io: Io<'_, '_, Self>) -> Result<Found, String> {
        let (s, calls, w) = (io.session, io.calls, io.wanted);
        read(s, calls, w).await.map_err(|e| e.explain())
    }
    fn plan(&self, w: &Wanted, c: &Found) -> Plan {
        plan_of(w, c)
    }
    async fn apply(&self, io: Io<'_, '_, Self>, c: Found) -> Report<String> {
        let (s, calls, w, progress) = (io.session, io.calls, io.wanted, io.progress);
        let mut r = Report::new();
        let (Some(instance), Some(outbound)) = (&c.instance, &c.outbound) else {
            r.failed
                .push("The plan cannot be carried out: read it again.".into());
            return r;
        };
        // 1. The new key (or the one an earlier try made).
        progress.say(format!("Creating the key {}", w.name));
        let binding = match c.new_key(w) {
            Some(id) => s.sm.read(calls, "service_bindings", id).await.map(Some),
            None => {
                let body =
                    json!({"name": w.name, "service_instance_id": instance, "parameters": {}});
                let made = s.sm.create(calls, "service_bindings", &body).await;
                if matches!(made, Ok(Some(_))) {
                    r.done.push(format!(
                        "Created the key {} of the instance {INSTANCE}.",
                        w.name
                    ));
                }
                made
            }
        };
        let key = match binding {
            Ok(Some(b)) => match b.get("credentials").filter(|c| c.is_object()) {
                Some(k) => k.clone(),
                None => {
                    r.still_running = Some(format!(
                        "SAP is still creating the key {}. Wait a minute and confirm again: the wizard finds it by its name and goes on.",
                        w.name
                    ));
                    return r;
                }
            },
            Ok(None) => {
                r.still_running = Some(format!(
                    "SAP is still creating the key {}. Wait a minute and confirm again: the wizard finds it by its name and goes on.",
                    w.name
                ));
                return r;
            }
            Err(e) => {
                r.failed.push(format!(
                    "Creating the key {} failed: {}",
                    w.name,
                    e.explain()
                ));
                return r;
            }
        };
        let text = |p: &str| key.pointer(p).and_then(Value::as_str).unwrap_or("");
        let (client, secret, uaa) = (
            text("/uaa/clientid"),
            text("/uaa/clientsecret"),
            text("/uaa/url"),
        );
        if client.is_empty() || secret.is_empty() || uaa.is_empty() {
            r.failed.push(format!(
                "SAP's key {} has no client ID, secret or token URL: check it in the cockpit.",
                w.name
            ));
            return r;
        }
        // The new key is kept on step 3.1 whatever follows: never lost.
        r.output = Some(serde_json::to_string_pretty(&key).unwrap_or_default());
        // 2. S/4HANA's outbound user gets its client and secret.
        progress.say("Giving S/4HANA's outbound user the new key".into());
        let uuid = str_of(outbound, "UUID");
        let mut body = json!({"OAuth2ClientID": client, "Password": secret});
        if str_of(outbound, "Name") == w.old_client {
            body["Name"] = json!(client);
        }
        if let Err(e) = s.s4.patch(calls, CS, "OutboundUsers", &uuid, &body).await {
            r.failed.push(format!(
                "Giving S/4HANA's outbound user the new key failed: {}. The new key is saved on step 3.1; confirm again to retry.",
                s4::explain(&e)
            ));
            return r;
        }
        r.done.push(format!(
            "S/4HANA's outbound user now holds the key {} (client {client}).",
            w.name
        ));
        // 3. What S/4HANA does to push: a token with those credentials.
        progress.say("Getting a token with the new key, as S/4HANA does".into());
        let oauth = xsuaa::OAuthClient {
            uaa_url: uaa.to_string(),
            client_id: client.to_string(),
            auth: xsuaa::ClientAuth::Secret(secret.to_string()),
        };
        match xsuaa::token_for(s.sap, calls, &oauth, &[]).await {
            Ok(_) => r
                .done
                .push("SAP issues a token for the new key: S/4HANA's pushes go through.".into()),
            Err(e) => r.failed.push(format!(
                "SAP issues no token for the new key yet ({}): keep the old key until it does, then confirm again.",
                e.explain()
            )),
        }
        r
    }
    fn fills(&self, _w: &Wanted, key: &String) -> Vec<Fill> {
        let client = client_of(key);
        vec![
            Fill {
                page: ids::TASK_CENTER_KEY,
                values: vec![("push_key", key.clone())],
                ticked_by: Some("through SAP Service Manager"),
                only: &[],
            },
            Fill {
                page: ids::COMM_ARRANGEMENT,
                values: vec![("push_outbound_client", client)],
                ticked_by: None,
                only: &[],
            },
        ]
    }
    fn failure(&self, _done: &[String], failed: &[String]) -> String {
        format!(
            "{} Nothing was deleted: the old key still works until someone deletes it in the cockpit.",
            failed.join(" ")
        )
    }
    fn finished(
        &self,
        w: &Wanted,
        key: Option<&String>,
        _done: &[String],
        unfilled: &[String],
    ) -> Result<String, String> {
        if !unfilled.is_empty() {
            return Err(format!(
                "The rotation ran in SAP, but the wizard could not save the new key: {}",
                unfilled.join(" ")
            ));
        }
        let new_client = key.map(|k| client_of(k)).unwrap_or_default();
        let destination = if new_client != w.old_client {
            " Its client ID is a new one: apply the destination on step 4 again, so that tc.clientId names it."
        } else {
            ""
        };
        Ok(format!(
            "The push channel now uses the key {} (step 3.1 holds it).{destination} Run Verify with a customer user to see Task Center's PUSH job OK, then delete the old key in the cockpit.",
            w.name
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted() -> Wanted {
        Wanted {
            sm: ServiceManagerKey {
                sm_url: "https://sm".into(),
                url: "https://uaa".into(),
                clientid: "sm".into(),
                clientsecret: "s".into(),
            },
            s4_api: "https://s4".into(),
            s4_user: "u".into(),
            s4_password: "p".into(),
            old_client: "old-client".into(),
            name: "tc-push-key-2027-03-02".into(),
        }
    }

    fn outbound() -> Option<Entity> {
        json!({"UUID": "o1", "OAuth2ClientID": "old-client", "Name": "old-client"})
            .as_object()
            .cloned()
    }

    #[test]
    fn a_rotation_creates_a_key_changes_the_outbound_user_and_leaves_the_old_key() {
        let f = Found {
            instance: Some("i1".into()),
            keys: vec![("b1".into(), BINDING.into())],
            outbound: outbound(),
        };
        let plan = plan_of(&wanted(), &f);
        let todos: Vec<&Todo> = plan.items.iter().map(|i| &i.todo).collect();
        assert!(
            matches!(todos[..], [Todo::Create, Todo::Change, Todo::Left(_)]),
            "{todos:?}"
        );
        assert!(!plan.blocked());
        assert!(
            plan.items[2]
                .note
                .as_deref()
                .unwrap_or("")
                .contains("Deleting it first stops"),
            "SAP's order: the old key goes last"
        );
    }

    #[test]
    fn a_second_try_reads_the_key_the_first_made_and_nothing_to_rotate_blocks() {
        let w = wanted();
        let f = Found {
            instance: Some("i1".into()),
            keys: vec![("b1".into(), BINDING.into()), ("b2".into(), w.name.clone())],
            outbound: outbound(),
        };
        let plan = plan_of(&w, &f);
        assert_eq!(plan.items[0].todo, Todo::Right);
        assert_eq!(
            plan.items.len(),
            3,
            "one old key left: {:?}",
            plan.items.len()
        );
        let none = Found {
            instance: Some("i1".into()),
            keys: Vec::new(),
            outbound: None,
        };
        assert!(
            plan_of(&w, &none).blocked(),
            "no outbound user: push is not set up"
        );
        let gone = Found {
            instance: None,
            keys: Vec::new(),
            outbound: outbound(),
        };
        assert!(plan_of(&w, &gone).blocked());
    }
}
