//! Step 6 through S/4HANA's SCIM interface (SAP_COM_0465): the API user, and
//! the page of the remote change `playbook::global_ids::GlobalIds` (routes:
//! `web::change`; many approvers: in the background, with progress).

use crate::playbook::ids;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::change::{ChangeView, FlowPage, save_credentials};
use super::error::Result;
use super::form::Submitted;
use super::setups::with_ctx;
use super::{Editor, SetupHead, setup_page};
use crate::playbook::change::{Flow, Plan};
use crate::playbook::global_ids::GlobalIds;
use crate::sap::Calls;
use crate::service;
use crate::store::{Setup, User};

#[derive(Template, WebTemplate)]
#[template(path = "s4_users.html")]
pub struct S4UsersPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub api_user: Option<String>,
    pub c: ChangeView,
}

impl FlowPage for GlobalIds {
    const SLUG: &'static str = "s4-users";
    /// Many approvers take long: the page shows progress after a second.
    const WAIT: std::time::Duration = service::WAIT;
    fn confirm(plan: &Plan) -> Option<String> {
        // With nothing to write the run still fills in step 6 (the UUIDs IAS
        // gave) and confirms it when every approver holds theirs.
        match plan.writes() {
            0 => Some("Fill in step 6 from S/4HANA (nothing to write)".into()),
            n => Some(format!("Confirm: write {n} Global User IDs to S/4HANA")),
        }
    }
    fn render(state: &AppState, setup: &Setup, me: &User, c: ChangeView) -> Response {
        let p = S4UsersPage {
            title: format!("Global User IDs through S/4HANA's API — {}", setup.name),
            head: SetupHead::of(setup, me),
            api_user: with_ctx(state, setup, |ctx| {
                ctx.get("scim_api_user").map(str::to_string)
            }),
            c,
        };
        (p.c.status, p).into_response()
    }
}

pub async fn credentials(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    Submitted(input): Submitted,
) -> Result<Response> {
    let (saved, typed) = match save_credentials(
        &state,
        &setup,
        &me,
        &input,
        (ids::APPROVERS, "scim_api_user", "scim_api_password"),
        "Enter the SCIM API user: the communication user of the SAP_COM_0465 arrangement",
    )
    .await?
    {
        Ok(x) => x,
        Err((status, e)) => {
            let mut c = ChangeView::failed(e);
            c.status = status;
            return Ok(GlobalIds::render(&state, &setup, &me, c));
        }
    };
    // Signing in is the connection check.
    let calls = Calls::default();
    let checked = match with_ctx(&state, &saved, |ctx| GlobalIds.wanted(ctx)) {
        Ok(w) => GlobalIds.connect(&state.sap, &calls, &w).await.map(|_| ()),
        Err(e) => Err(e),
    };
    state
        .store
        .record_calls(&setup.id, GlobalIds::PAGE, &me.name, &calls.take())
        .await?;
    let c = match checked {
        Ok(()) => ChangeView {
            notice: Some(format!("Connected as {typed} to S/4HANA's SCIM interface.")),
            ..ChangeView::default()
        },
        Err(e) => ChangeView::failed(e),
    };
    Ok(GlobalIds::render(&state, &saved, &me, c))
}

setup_page!(S4UsersPage);
