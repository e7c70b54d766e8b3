//! Running a step's SAP call (on save, "Test again"), the page of step 4's
//! remote change (`playbook::btp_destination`), and the call log.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;
use super::change::{ChangeView, FlowPage};
use super::error::{AppError, Result};
use super::setups::with_ctx;
use super::{Editor, SetupHead, Viewer, setup_page};
use crate::fmt;
use crate::playbook::Page;
use crate::playbook::actions::Action;
use crate::playbook::btp_destination::Destination;
use crate::playbook::change::{Flow, Plan, Todo};
use crate::playbook::{self, PageStatus};
use crate::store::{Setup, User};

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
    crate::service::actions::run(&*state, &setup, page, action, &me.name)
        .await?
        .ok_or(AppError::NotFound)?;
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
