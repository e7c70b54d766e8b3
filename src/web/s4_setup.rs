//! "Set up S/4HANA through its API" (steps 3.3-3.5, SAP_COM_0A48): the
//! bootstrap credentials, then the remote change `playbook::s4_setup::S4Setup`
//! run by the one engine: plan, confirmation, writes, the answers they give.

use crate::playbook::ids;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::change::{ChangeView, FlowPage, save_credentials};
use super::error::Result;
use super::form::Submitted;
use super::setups::with_ctx;
use super::{Editor, SetupHead, setup_page};
use crate::playbook::change::Plan;
use crate::playbook::s4_setup::{self, S4Setup};
use crate::sap::Calls;
use crate::sap::s4::Session;
use crate::store::{Setup, User};

#[derive(Template, WebTemplate)]
#[template(path = "s4_setup.html")]
pub struct S4SetupPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub api_user: Option<String>,
    pub missing: Option<String>,
    pub c: ChangeView,
    pub unconfirmed: &'static [&'static str],
    /// An X.509 push key: its outbound.p12 is offered for S/4HANA.
    pub push_mtls: bool,
}

fn page(state: &super::AppState, setup: &Setup, me: &User, c: ChangeView) -> S4SetupPage {
    let (api_user, missing, push_mtls) = with_ctx(state, setup, |ctx| {
        (
            ctx.get("s4_api_user").map(str::to_string),
            s4_setup::earlier_steps(ctx).err(),
            ctx.get("push_certurl").is_some(),
        )
    });
    S4SetupPage {
        title: format!("Set up S/4HANA through its API — {}", setup.name),
        head: SetupHead::of(setup, me),
        api_user,
        missing,
        c,
        unconfirmed: s4_setup::UNCONFIRMED,
        push_mtls,
    }
}

impl FlowPage for S4Setup {
    const SLUG: &'static str = "s4-setup";
    fn confirm(plan: &Plan) -> Option<String> {
        Some(if plan.nothing_to_do() {
            "Fill in steps 3.3 to 3.5 from S/4HANA".into()
        } else {
            "Confirm: write this to S/4HANA".into()
        })
    }
    fn render(state: &AppState, setup: &Setup, me: &User, c: ChangeView) -> Response {
        let p = page(state, setup, me, c);
        (p.c.status, p).into_response()
    }
}

/// Save the bootstrap credentials on step 3.3 (as if typed there, keeping
/// its other answers), then check the connection.
pub async fn credentials(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    Submitted(input): Submitted,
) -> Result<Response> {
    let typed = input.first("s4_api_user").unwrap_or("").trim();
    let refuse = |status, error: String| {
        let mut p = page(&state, &setup, &me, ChangeView::failed(error));
        p.c.status = status;
        p.api_user = Some(typed.to_string()).filter(|t| !t.is_empty());
        Ok((p.c.status, p).into_response())
    };
    let saved = match save_credentials(
        &state,
        &setup,
        &me,
        &input,
        (ids::COMM_USER, "s4_api_user", "s4_api_password"),
        "Enter the API user: the communication user of the SAP_COM_0A48 arrangement",
    )
    .await?
    {
        Ok((saved, _)) => saved,
        Err((status, e)) => return refuse(status, e),
    };
    let (api, password) = with_ctx(&state, &saved, |ctx| {
        (
            ctx.s4().map(|s| format!("https://{}", s.api_host())),
            ctx.secret_to_send("s4_api_password"),
        )
    });
    let Ok(Some(password)) = password else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter the API user's password".into(),
        );
    };
    let Some(api) = api else {
        return Ok(S4Setup::render(&state, &saved, &me, ChangeView::default()));
    };
    let calls = Calls::default();
    let checked = match Session::connect(&state.sap, &calls, &api, typed, &password).await {
        Ok(s) => s.check(&calls).await,
        Err(e) => Err(e),
    };
    state
        .store
        .record_calls(&setup.id, ids::COMM_USER, &me.name, &calls.take())
        .await?;
    let c = match checked {
        Ok((u, s, a)) => ChangeView {
            notice: Some(format!(
                "Connected as {typed}: S/4HANA lists communication users: {u}, systems: {s}, arrangements: {a}."
            )),
            ..ChangeView::default()
        },
        Err(e) => ChangeView::failed(crate::sap::s4::explain(&e)),
    };
    Ok(S4Setup::render(&state, &saved, &me, c))
}

setup_page!(S4SetupPage);
