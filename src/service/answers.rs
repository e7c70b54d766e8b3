//! The one save path for answers: a typed form (`submit`), what the wizard
//! fills in itself (`fill`: a remote change's result, saved credentials, a
//! created key: through the page's own parser, as if typed there), and what
//! a step's SAP call fetched (`merge`). Each with the page's version check:
//! a colleague's newer save is never overwritten.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Deps;
use crate::fmt;
use crate::playbook::change::Fill;
use crate::playbook::{self, FormInput, Kind, Page, PageStatus};
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
                let ticked =
                    fill.ticked_by.is_some() && (fill.only.is_empty() || fill.only.contains(id));
                if saved || ticked {
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
    let mut data: BTreeMap<String, Stored> = sub
        .data
        .into_iter()
        .map(|(k, v)| match (v, fill.ticked_by) {
            (Stored::Plain(p), Some(how)) if k.contains('.') && p == fresh => {
                (k, Stored::Plain(format!("{p}|{how}")))
            }
            (other, _) => (k, other),
        })
        .collect();
    // The page was done this way (the task list says so), until saved by hand.
    if let Some(how) = fill.ticked_by {
        data.insert(playbook::DONE_BY_KEY.into(), Stored::Plain(how.into()));
    }
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

/// What saving a typed page came to.
pub enum Answered {
    /// Saved. `warnings`: the page warned (shown before going on); `failed`:
    /// the SAP call that runs on save said no (field, message; the answers
    /// stay saved).
    Saved {
        setup: Arc<Setup>,
        warnings: bool,
        failed: Option<(&'static str, String)>,
    },
    /// The page's parsers or checks said no: nothing was saved.
    Rejected(Vec<(&'static str, String)>),
    /// Someone saved the page since the form was loaded at `version`: their
    /// answers stay, nothing was saved.
    Conflict(Arc<Setup>),
    /// An earlier step is missing: the page cannot be answered yet.
    CannotStartYet,
}

/// Save a typed page loaded at `version`. `later` is "save and come back
/// later": missing answers are allowed, wrong ones are not. The page's SAP
/// call runs right after when it runs on save. `Ok(None)`: the setup is gone.
pub async fn submit(
    d: &impl Deps,
    setup: &Setup,
    page: &'static Page,
    input: &FormInput,
    version: i64,
    user: &str,
    later: bool,
) -> anyhow::Result<Option<Answered>> {
    let store = d.store();
    let now = fmt::now();
    let parsed = super::with_ctx(store, setup, |ctx| {
        if playbook::page_status(page, setup, ctx) == PageStatus::CannotStartYet {
            return None;
        }
        Some(playbook::submit(page, input, ctx, user, later))
    });
    let sub = match parsed {
        None => return Ok(Some(Answered::CannotStartYet)),
        Some(Err(e)) => return Ok(Some(Answered::Rejected(e.errors))),
        Some(Ok(sub)) => sub,
    };
    let warnings = !sub.warnings.is_empty();
    let mut data = sub.data;
    if warnings {
        data.insert(
            playbook::WARNINGS_KEY.into(),
            Stored::Plain(sub.warnings.join("\n")),
        );
    }
    let write = PageWrite {
        page: page.id,
        data,
        basis: &sub.basis,
        expected_version: version,
        user,
        now,
    };
    let saved = match store.save_page(&setup.id, write).await? {
        None => return Ok(None),
        Some(SaveOutcome::Conflict(current)) => return Ok(Some(Answered::Conflict(current))),
        Some(SaveOutcome::Saved(s)) => s,
    };
    let auto = page.action.filter(|a| {
        !later
            && super::with_ctx(store, &saved, |ctx| {
                playbook::actions::runs_on_save(*a, ctx)
            })
    });
    let mut failed = None;
    if let Some(action) = auto
        && let Some(outcome) = super::actions::run(d, &saved, page, action, user).await?
        && !outcome.ok
    {
        let field = outcome
            .field
            .or(page.fields.first().map(|f| f.key))
            .unwrap_or("");
        failed = Some((field, outcome.message));
    }
    Ok(store.setup(&setup.id).await?.map(|setup| Answered::Saved {
        setup,
        warnings,
        failed,
    }))
}

/// What a step's SAP call fetched (a certificate, found IDs), merged onto
/// the answers the call was made with and saved only if the page is still
/// at that version. `Ok(Some(Err((who, when))))`: a colleague saved the page
/// meanwhile; their answers stay and this was not saved.
pub async fn merge(
    store: &Store,
    setup: &Setup,
    page: &'static Page,
    extra: &BTreeMap<String, Stored>,
    user: &str,
) -> anyhow::Result<Option<Result<Arc<Setup>, (String, String)>>> {
    let rec = setup.pages.get(page.id);
    let mut data: BTreeMap<String, Stored> = rec
        .map(|r| {
            r.data
                .iter()
                .map(|(k, v)| (k.clone(), Stored::Plain(v.clone())))
                .collect()
        })
        .unwrap_or_default();
    // The warnings saved with the old values give way to the new ones'
    // (a look-up that filled every Global User ID leaves no "missing" warning).
    let (warnings, basis) = super::with_ctx(store, setup, |ctx| {
        let mut kept: Vec<String> = playbook::warnings_of(rec);
        for (key, new) in extra.iter() {
            let (Stored::Plain(new), Some(old)) = (new, rec.and_then(|r| r.data.get(key))) else {
                continue;
            };
            let stale = page.warnings_for(key, old, ctx);
            kept.retain(|w| !stale.contains(w));
            kept.extend(page.warnings_for(key, new, ctx));
        }
        (kept, playbook::basis(page, ctx))
    });
    data.extend(extra.clone());
    data.insert(
        playbook::WARNINGS_KEY.into(),
        Stored::Plain(warnings.join("\n")),
    );
    let write = PageWrite {
        page: page.id,
        data,
        basis: &basis,
        expected_version: rec.map_or(0, |r| r.version),
        user,
        now: fmt::now(),
    };
    Ok(store.save_page(&setup.id, write).await?.map(|o| match o {
        SaveOutcome::Saved(s) => Ok(s),
        SaveOutcome::Conflict(current) => Err(current
            .pages
            .get(page.id)
            .map(|r| (r.updated_by.clone(), fmt::date_time(r.updated_at)))
            .unwrap_or_default()),
    }))
}
