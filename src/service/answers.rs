//! The one path by which anything but a typed form saves answers: a remote
//! change's result, saved credentials, a fetched key. Each goes through the
//! page's own parser as if typed there, with the page's version check.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::fmt;
use crate::playbook::change::Fill;
use crate::playbook::{self, FormInput, Kind};
use crate::store::{PageWrite, SaveOutcome, Setup, Store, Stored};

/// Why answers were not saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The page's parser or checks said no (every message, joined).
    Rejected(String),
    /// Someone saved the page since it was read: their answers stay.
    Conflict(String),
}

impl Refused {
    pub fn message(&self) -> &str {
        match self {
            Refused::Rejected(m) | Refused::Conflict(m) => m,
        }
    }
}

/// Save `fill`'s values on its page, keeping the page's other answers (a
/// secret left out keeps its saved value). With `ticked_by`, every
/// confirmation of the page is ticked and marked as done that way.
/// `Ok(None)`: the setup is gone.
pub async fn fill(
    store: &Store,
    setup: &Setup,
    fill: &Fill,
    user: &str,
) -> anyhow::Result<Option<Result<Arc<Setup>, Refused>>> {
    let Some(page) = playbook::page(fill.page) else {
        return Ok(Some(Err(Refused::Rejected(format!(
            "there is no page {}",
            fill.page
        )))));
    };
    let rec = setup.pages.get(page.id);
    let mut form = FormInput::default();
    for f in page.fields {
        if let Kind::Confirm(items) = f.kind {
            for (id, _) in items.iter() {
                let saved = rec.is_some_and(|r| r.data.contains_key(&format!("{}.{id}", f.key)));
                if saved || fill.ticked_by.is_some() {
                    form.values.push((f.key.to_string(), id.to_string()));
                }
            }
        } else if matches!(f.kind, Kind::Text | Kind::Lines | Kind::Choice(_))
            && let Some(v) = rec.and_then(|r| r.data.get(f.key))
        {
            form.values.push((f.key.to_string(), v.clone()));
        }
    }
    for (k, v) in &fill.values {
        form.values.retain(|(x, _)| x != k);
        form.values.push((k.to_string(), v.clone()));
    }
    let now = fmt::now();
    let sub = super::with_ctx(store, setup, |ctx| {
        playbook::submit(page, &form, ctx, user, true)
    });
    let sub = match sub {
        Ok(s) => s,
        Err(e) => {
            let msg = e
                .errors
                .into_iter()
                .map(|(_, m)| m)
                .collect::<Vec<_>>()
                .join("; ");
            return Ok(Some(Err(Refused::Rejected(msg))));
        }
    };
    // A confirmation ticked now carries how it was done.
    let fresh = format!("{now}|{user}");
    let data: BTreeMap<String, Stored> = sub
        .data
        .into_iter()
        .map(|(k, v)| match (v, fill.ticked_by) {
            (Stored::Plain(p), Some(how)) if k.contains('.') && p == fresh => {
                (k, Stored::Plain(format!("{p}|{how}")))
            }
            (other, _) => (k, other),
        })
        .collect();
    let write = PageWrite {
        page: page.id,
        data,
        basis: &sub.basis,
        expected_version: rec.map_or(0, |r| r.version),
        user,
        now,
    };
    Ok(store.save_page(&setup.id, write).await?.map(|o| match o {
        SaveOutcome::Saved(s) => Ok(s),
        SaveOutcome::Conflict(_) => Err(Refused::Conflict(format!(
            "Someone saved step {} meanwhile. Enter it again.",
            page.step
        ))),
    }))
}

/// Save values on a page as they are, without its parser (what the wizard
/// generated itself, such as a password), binding each secret to the hosts
/// the answers give now. Refused when the page changed since `setup` was read.
pub async fn put(
    store: &Store,
    setup: &Setup,
    page: &'static str,
    values: &[(&'static str, Stored)],
    user: &str,
) -> anyhow::Result<Result<Arc<Setup>, Refused>> {
    let rec = setup.pages.get(page);
    let mut data: BTreeMap<String, Stored> = rec
        .map(|r| {
            r.data
                .iter()
                .map(|(k, v)| (k.clone(), Stored::Plain(v.clone())))
                .collect()
        })
        .unwrap_or_default();
    for (k, v) in values {
        data.insert(k.to_string(), v.clone());
        if let Stored::Secret(_) = v
            && let Some(b) = super::with_ctx(store, setup, |ctx| playbook::secret_hosts(k, ctx))
        {
            data.insert(format!("{}{k}", playbook::BOUND_PREFIX), Stored::Plain(b));
        }
    }
    let basis = rec.map(|r| r.basis.clone()).unwrap_or_default();
    let write = PageWrite {
        page,
        data,
        basis: &basis,
        expected_version: rec.map_or(0, |r| r.version),
        user,
        now: fmt::now(),
    };
    Ok(match store.save_page(&setup.id, write).await? {
        Some(SaveOutcome::Saved(s)) => Ok(s),
        _ => Err(Refused::Conflict(format!(
            "Someone saved step {} meanwhile; nothing was written. Show the plan again.",
            playbook::page(page).map_or(page, |p| p.step)
        ))),
    })
}
