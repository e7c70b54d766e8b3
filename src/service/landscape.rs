//! A customer's landscape (issue 23): its systems as their setups' answers
//! have them, and "connect the next system": a new setup for another
//! S/4HANA host that keeps the customer's BTP and IAS facts and keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::with_ctx;
use crate::playbook::ids;
use crate::playbook::verify::landscape::{SHARED_PAGES, System};
use crate::store::{Setup, Store, Stored};

/// The customer's systems (its active setups), oldest first.
pub async fn systems(
    store: &Store,
    customer_id: &str,
) -> anyhow::Result<Vec<(Arc<Setup>, System)>> {
    let Some((_, ids)) = store.customer(customer_id).await? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for id in ids {
        if let Some(s) = store.setup_passing(&id).await? {
            let system = with_ctx(store, &s, |ctx| System::of(&s, ctx));
            out.push((s, system));
        }
    }
    Ok(out)
}

/// The customer's systems as their answers have them, oldest first (what
/// the checks, the picture and the task list compare).
pub async fn systems_only(store: &Store, customer_id: &str) -> anyhow::Result<Vec<System>> {
    Ok(systems(store, customer_id)
        .await?
        .into_iter()
        .map(|(_, s)| s)
        .collect())
}

/// A new setup in `from`'s customer for the S/4HANA system `facts` names
/// (host, client, role, already checked by the facts page's parser): the
/// shared pages copied as they are (secrets stay encrypted, bound to the
/// hosts they were entered for), everything of the S/4HANA system asked
/// anew.
pub async fn connect_next(
    store: &Store,
    from: &Setup,
    name: &str,
    facts: BTreeMap<String, Stored>,
    owner_id: i64,
    user: &str,
    now: i64,
) -> anyhow::Result<Arc<Setup>> {
    let mut pages = BTreeMap::new();
    pages.insert(ids::FACTS.to_string(), (facts, String::new()));
    for id in SHARED_PAGES {
        if let Some(rec) = from.pages.get(*id) {
            let data = rec
                .data
                .iter()
                .map(|(k, v)| (k.clone(), Stored::Plain(v.clone())))
                .collect();
            pages.insert(id.to_string(), (data, rec.basis.clone()));
        }
    }
    let new = store
        .import_setup(name, owner_id, user, pages, Some(&from.customer_id), now)
        .await?;
    // Whoever shares the customer's system shares the next one too.
    for m in from.members.iter().filter(|m| m.user_id != owner_id) {
        let who = crate::store::User {
            id: m.user_id,
            name: m.name.clone(),
            is_admin: false,
        };
        store.set_member(&new.id, &who, Some(m.role)).await?;
    }
    if let Some(o) = from.owner_id.filter(|o| *o != owner_id)
        && let Some(owner) = store.user_by_id(o).await?
    {
        store
            .set_member(&new.id, &owner, Some(crate::store::Role::Editor))
            .await?;
    }
    Ok(store.setup(&new.id).await?.unwrap_or(new))
}

/// The next system's first page from what the consultant typed: its
/// S/4HANA host and role, and the client and region of `from` unless given
/// (the facts page's own parsers check them). `Err`: (field, message).
pub fn next_facts(
    store: &Store,
    from: &Setup,
    host: &str,
    client: &str,
    role: &str,
    user: &str,
) -> Result<BTreeMap<String, Stored>, Vec<(String, String)>> {
    let Some(page) = crate::playbook::page(ids::FACTS) else {
        return Err(vec![("s4_host".into(), "the first page is missing".into())]);
    };
    if !crate::playbook::ROLES.iter().any(|(v, _)| *v == role) {
        return Err(vec![(
            "system_role".into(),
            "Choose which system of the landscape it is: its destination and label are named after it".into(),
        )]);
    }
    let mut form = crate::playbook::FormInput::default();
    with_ctx(store, from, |ctx| {
        let client = if client.trim().is_empty() {
            ctx.get("s4_client").unwrap_or("100").to_string()
        } else {
            client.to_string()
        };
        for (k, v) in [
            ("s4_host", host.to_string()),
            ("s4_client", client),
            ("region", ctx.get("region").unwrap_or("").to_string()),
            ("system_role", role.to_string()),
        ] {
            form.values.push((k.to_string(), v));
        }
        crate::playbook::submit(page, &form, ctx, user, true)
            .map(|s| s.data)
            .map_err(|e| {
                e.errors
                    .into_iter()
                    .map(|(k, m)| (k.to_string(), m))
                    .collect()
            })
    })
}
