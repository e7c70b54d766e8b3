//! Running a step's SAP call (on save, "Test again"), the page of step 4's
//! remote change (`playbook::btp_destination`), and the call log.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;
use super::auth::{Editor, SetupHead, Viewer, setup_page};
use super::change::{ChangeView, FlowPage};
use super::error::{AppError, Result};
use super::setups::with_ctx;
use crate::playbook::actions::{self, Action, Outcome};
use crate::playbook::btp_destination::Destination;
use crate::playbook::change::{Flow, Plan, Todo};
use crate::playbook::{self, PageStatus};
use crate::sap::Calls;
use crate::store::{PageWrite, SaveOutcome, Setup, Stored, User};
use crate::{fmt, playbook::Page};

/// Run `action` for `page` now: read its inputs, call SAP, record the calls,
/// merge what it fetched into the page, and store the outcome.
pub async fn execute(
    state: &super::AppState,
    setup: &Setup,
    page: &'static Page,
    action: Action,
    me: &User,
) -> Result<Outcome> {
    let now = fmt::now();
    let inputs = with_ctx(state, setup, |ctx| actions::inputs(action, ctx));
    let outcome = match inputs {
        Err(missing) => Outcome {
            ok: false,
            message: missing,
            field: None,
            details: Vec::new(),
            save: None,
        },
        Ok(inputs) => {
            let calls = Calls::default();
            let outcome = actions::run(action, inputs, &state.sap, &calls, now).await;
            state
                .store
                .record_calls(&setup.id, page.id, &me.name, &calls.take())
                .await?;
            outcome
        }
    };
    let mut outcome = outcome;
    if let Some(extra) = &outcome.save {
        // Merged onto the answers the call was made with, saved only if the
        // page is still at that version: a colleague's newer save wins and
        // the result is reported as not saved, never merged over it.
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
        let warnings = with_ctx(state, setup, |ctx| {
            let mut kept: Vec<String> = playbook::warnings_of(rec);
            for (key, new) in extra.iter() {
                let (Stored::Plain(new), Some(old)) = (new, rec.and_then(|r| r.data.get(key)))
                else {
                    continue;
                };
                let stale = page.warnings_for(key, old, ctx);
                kept.retain(|w| !stale.contains(w));
                kept.extend(page.warnings_for(key, new, ctx));
            }
            kept
        });
        data.extend(extra.clone());
        data.insert(
            playbook::WARNINGS_KEY.into(),
            Stored::Plain(warnings.join("\n")),
        );
        let basis = with_ctx(state, setup, |ctx| playbook::basis(page, ctx));
        let write = PageWrite {
            page: page.id,
            data,
            basis: &basis,
            expected_version: rec.map_or(0, |r| r.version),
            user: &me.name,
            now,
        };
        match state.store.save_page(&setup.id, write).await? {
            Some(SaveOutcome::Saved(_)) => {}
            Some(SaveOutcome::Conflict(current)) => {
                let (who, when) = current
                    .pages
                    .get(page.id)
                    .map(|r| (r.updated_by.clone(), fmt::date_time(r.updated_at)))
                    .unwrap_or_default();
                outcome = Outcome {
                    ok: false,
                    message: format!(
                        "While SAP answered, {who} saved this page ({when}). Their answers are kept and what SAP returned was not saved. Check the page, then run \"{}\" again.",
                        action.label()
                    ),
                    field: None,
                    details: Vec::new(),
                    save: None,
                };
            }
            None => return Err(AppError::NotFound),
        }
    }
    state
        .store
        .set_outcome(&setup.id, page.id, outcome.ok, &outcome.message, now)
        .await?;
    Ok(outcome)
}

fn page_with_action(id: &str) -> Result<(&'static Page, Action)> {
    let page = playbook::page(id).ok_or(AppError::NotFound)?;
    let action = page.action.ok_or(AppError::NotFound)?;
    Ok((page, action))
}

/// "Test again" (and the first run of actions that do not run on save).
pub async fn run(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    Path((id, page_id)): Path<(String, String)>,
) -> Result<Response> {
    let (page, action) = page_with_action(&page_id)?;
    if with_ctx(&state, &setup, |ctx| {
        playbook::page_status(page, &setup, ctx)
    }) == PageStatus::CannotStartYet
        || !setup.pages.contains_key(page.id)
    {
        return Ok(Redirect::to(&format!("/setups/{id}/pages/{page_id}")).into_response());
    }
    // The destination is written from its plan, after a confirmation.
    if action == Action::ApplyDestination {
        return Ok(Redirect::to(&format!("/setups/{id}/apply-destination")).into_response());
    }
    execute(&state, &setup, page, action, &me).await?;
    Ok(Redirect::to(&format!("/setups/{id}/pages/{page_id}#outcome")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "apply.html")]
pub struct ApplyPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub name: String,
    pub service: String,
    pub rows: Vec<(String, String)>,
    /// Why the wizard cannot write it (no key yet, a missing answer).
    pub ready: Option<String>,
    /// Step 4's warnings, shown again before anything is sent.
    pub warnings: Vec<String>,
    pub c: ChangeView,
}

impl FlowPage for Destination {
    const SLUG: &'static str = "apply-destination";
    fn confirm(plan: &Plan) -> Option<String> {
        Some(match plan.items.first().map(|i| &i.todo) {
            Some(Todo::Create) => "Confirm: create the destination in BTP".into(),
            Some(Todo::Change) => "Confirm: update the destination in BTP".into(),
            _ => "Confirm: nothing to write, BTP has it".into(),
        })
        .filter(|_| !plan.nothing_to_do())
    }
    fn render(state: &AppState, setup: &Setup, me: &User, c: ChangeView) -> Response {
        let p = with_ctx(state, setup, |ctx| ApplyPage {
            title: format!(
                "{}Create the destination in BTP — {}",
                if c.error.is_some() { "Error: " } else { "" },
                setup.name
            ),
            head: SetupHead::of(setup, me),
            name: ctx.get("destination_name").unwrap_or("").to_string(),
            service: ctx
                .get("ds_uri")
                .unwrap_or("(no Destination service key)")
                .to_string(),
            rows: playbook::destination(ctx, false)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            ready: Destination.wanted(ctx).err(),
            warnings: playbook::warnings_of(setup.pages.get(Destination::PAGE)),
            c,
        });
        (p.c.status, p).into_response()
    }
}

/// Before the wizard changes BTP: what BTP has now and what would change.
/// Without the answers it needs, the properties to create by hand.
pub async fn apply_form(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<Response> {
    if !setup.pages.contains_key(Destination::PAGE) {
        return Err(AppError::NotFound);
    }
    if let Some(run) = crate::service::change::running::<Destination>(&*state, &setup.id)
        .filter(|r| r.result().is_none())
    {
        let c = ChangeView::of_run(Some(&run), Destination::confirm);
        return Ok(Destination::render(&state, &setup, &me, c));
    }
    let ready = with_ctx(&state, &setup, |ctx| Destination.wanted(ctx).is_ok());
    let c = if ready {
        let o = crate::service::change::plan(&*state, &Destination, &setup, &me.name).await?;
        ChangeView::of(&o, Destination::confirm)
    } else {
        ChangeView::default()
    };
    Ok(Destination::render(&state, &setup, &me, c))
}

pub struct CallRow {
    pub when: String,
    pub step: String,
    pub who: String,
    pub method: String,
    pub url: String,
    pub status: String,
    pub ms: i64,
    pub outcome: String,
    pub ok: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "calls.html")]
pub struct CallsPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub rows: Vec<CallRow>,
}

pub async fn calls(
    State(state): State<super::State>,
    Viewer { setup, me, .. }: Viewer,
) -> Result<CallsPage> {
    let rows = state
        .store
        .calls(&setup.id)
        .await?
        .into_iter()
        .map(|(page, who, c)| CallRow {
            when: fmt::date_time(c.at),
            step: playbook::page(&page).map_or(page.clone(), |p| {
                format!("{} {}", p.step, p.title).trim().to_string()
            }),
            who,
            method: c.method,
            url: c.url,
            status: c.status.map_or("—".into(), |s| s.to_string()),
            ms: c.duration_ms,
            ok: c.outcome == "ok",
            outcome: c.outcome,
        })
        .collect();
    Ok(CallsPage {
        title: format!("Calls to SAP — {}", setup.name),
        head: SetupHead::of(&setup, &me),
        rows,
    })
}

setup_page!(ApplyPage, CallsPage);
