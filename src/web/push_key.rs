//! "Create the push key through SAP Service Manager" (step 3.1): the remote
//! change `playbook::push_key::PushKey` run by the one engine; the new key is
//! saved on step 3.1 as if pasted there.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::{Editor, SetupHead, setup_page};
use super::change::{ChangeView, WAIT_ORDERED};
use super::error::Result;
use super::form::Submitted;
use super::setups::with_ctx;
use crate::playbook::change::Plan;
use crate::playbook::push_key::PushKey;
use crate::service::{self, change::Started};
use crate::store::{Setup, User};

#[derive(Template, WebTemplate)]
#[template(path = "push_key.html")]
pub struct PushKeyPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    /// The Service Manager key's client, once saved on step 3.1.
    pub sm_client: Option<String>,
    /// The push key step 3.1 holds now.
    pub push_client: Option<String>,
    pub c: ChangeView,
}

fn confirm(plan: &Plan) -> Option<String> {
    Some(match plan.writes() {
        0 => "Confirm: save the existing key on step 3.1".into(),
        n => format!("Confirm: create {n} in SAP and save the key"),
    })
}

fn respond(state: &super::AppState, setup: &Setup, me: &User, c: ChangeView) -> Response {
    let (sm_client, push_client) = with_ctx(state, setup, |ctx| {
        (
            ctx.get("sm_clientid").map(str::to_string),
            ctx.get("push_clientid").map(str::to_string),
        )
    });
    let p = PushKeyPage {
        title: format!("Push key through SAP Service Manager — {}", setup.name),
        head: SetupHead::of(setup, me),
        sm_client,
        push_client,
        c,
    };
    (p.c.status, p).into_response()
}

pub async fn show(State(state): State<super::State>, Editor { setup, me, .. }: Editor) -> Response {
    let run = service::change::running(&*state, &PushKey, &setup.id);
    respond(
        &state,
        &setup,
        &me,
        ChangeView::of_run(run.as_deref(), confirm),
    )
}

/// Read Service Manager with the saved key and show the plan. Writes nothing.
pub async fn plan(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<Response> {
    let o = service::change::plan(&*state, &PushKey, &setup, &me.name).await?;
    Ok(respond(&state, &setup, &me, ChangeView::of(&o, confirm)))
}

/// Do the plan the consultant saw (its fingerprint), never another one.
pub async fn apply(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    Submitted(input): Submitted,
) -> Result<Response> {
    let fingerprint = input.first("fingerprint").unwrap_or("").to_string();
    let started = service::change::apply(
        state.clone(),
        PushKey,
        setup.clone(),
        me.name.clone(),
        fingerprint,
        WAIT_ORDERED,
    )
    .await;
    Ok(match started {
        Started::Ended(o) => {
            let now = state.store.setup(&setup.id).await?.unwrap_or(setup);
            respond(&state, &now, &me, ChangeView::of(&o, confirm))
        }
        Started::Running => Redirect::to(&format!("/setups/{}/push-key", setup.id)).into_response(),
    })
}

setup_page!(PushKeyPage);
