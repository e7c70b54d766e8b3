//! "The BTP half through SAP's APIs": the Cloud Management key and the
//! choices only a person makes, then the remote change
//! `playbook::btp_account::BtpAccount` run by the one engine.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::change::{ChangeView, FlowPage, apply_with, plan_with};
use super::error::Result;
use super::form::Submitted;
use super::setups::with_ctx;
use super::{AppState, Editor, SetupHead, setup_page};
use crate::playbook::btp_account::{self, BtpAccount};
use crate::playbook::change::{Fill, Plan};
use crate::playbook::ids;
use crate::service::answers;
use crate::store::{Setup, User};

/// The choices as saved, for the form.
#[derive(Default)]
pub struct Choices {
    pub key_saved: bool,
    pub subdomain: String,
    pub subaccount_name: String,
    pub region: String,
    pub ias_host: String,
    pub ias_client_id: String,
    pub plan: String,
    pub workzone_plan: String,
    pub push_instance: String,
    pub cf_org: String,
    pub cf_space: String,
    pub admins: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "btp.html")]
pub struct BtpPage {
    pub title: String,
    pub head: SetupHead,
    pub choices: Choices,
    pub missing: Option<String>,
    /// When a run was cut off by a restart of the wizard (shown as a time).
    pub interrupted: Option<String>,
    pub c: ChangeView,
}

fn page(state: &AppState, setup: &Setup, me: &User, c: ChangeView) -> BtpPage {
    let (choices, missing) = with_ctx(state, setup, |ctx| {
        let g = |k: &str| ctx.get(k).unwrap_or("").to_string();
        (
            Choices {
                key_saved: ctx.get("cis_clientid").is_some(),
                subdomain: g("subdomain"),
                subaccount_name: g("subaccount_name"),
                region: g("region"),
                ias_host: g("ias_host"),
                ias_client_id: g("ias_client_id"),
                plan: g("plan"),
                workzone_plan: g("workzone_plan"),
                push_instance: g("push_instance"),
                cf_org: g("cf_org"),
                cf_space: g("cf_space"),
                admins: g("btp_admins"),
            },
            btp_account::missing(ctx).err(),
        )
    });
    BtpPage {
        title: format!("The BTP half through SAP's APIs — {}", setup.name),
        head: SetupHead::of(setup, me),
        choices,
        missing,
        interrupted: None,
        c,
    }
}

impl FlowPage for BtpAccount {
    const SLUG: &'static str = "btp";
    fn confirm(plan: &Plan) -> Option<String> {
        Some(if plan.nothing_to_do() {
            "Fill in steps 1 to 2.2 from SAP".into()
        } else {
            "Confirm: set this up in the global account".into()
        })
    }
    fn render(state: &AppState, setup: &Setup, me: &User, c: ChangeView) -> Response {
        let p = page(state, setup, me, c);
        (p.c.status, p).into_response()
    }
}

/// The page: a run's progress or result, and a run a restart cut off.
pub async fn show(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<Response> {
    let run = crate::service::change::running::<BtpAccount>(&*state, &setup.id);
    let c = ChangeView::of_run(run.as_deref(), BtpAccount::confirm).leading_on(&state, &setup);
    let mut p = page(&state, &setup, &me, c);
    p.interrupted = crate::service::change::interrupted::<BtpAccount>(&*state, &setup.id)
        .await?
        .map(crate::fmt::date_time);
    Ok((p.c.status, p).into_response())
}

/// The org manager's password from the form: for this run only.
fn flow(input: &crate::playbook::FormInput) -> BtpAccount {
    BtpAccount {
        cf_password: input
            .first("cf_password")
            .filter(|p| !p.is_empty())
            .map(str::to_string),
    }
}

pub async fn plan(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    Submitted(input): Submitted,
) -> Result<Response> {
    plan_with(&state, &setup, &me, flow(&input)).await
}

pub async fn apply(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    Submitted(input): Submitted,
) -> Result<Response> {
    let fingerprint = input.first("fingerprint").unwrap_or("").to_string();
    apply_with(&state, setup, &me, flow(&input), fingerprint).await
}

/// Save the key and the choices where the procedure asks them (steps 1,
/// 2.1, 2.2), each through the one save path, as if typed there.
pub async fn choices(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    Submitted(input): Submitted,
) -> Result<Response> {
    let v = |k: &str| input.first(k).unwrap_or("").to_string();
    let mut fills = [
        Fill {
            page: ids::SUBACCOUNT,
            values: vec![
                ("cis_key", v("cis_key")),
                ("subdomain", v("subdomain")),
                ("subaccount_name", v("subaccount_name")),
                ("btp_admins", v("btp_admins")),
                ("workzone_plan", v("workzone_plan")),
                ("push_instance", v("push_instance")),
                ("cf_org", v("cf_org")),
                ("cf_space", v("cf_space")),
            ],
            ticked_by: None,
            only: &[],
        },
        Fill {
            page: ids::IAS_TRUST,
            values: vec![
                ("ias_host", v("ias_host")),
                ("ias_client_id", v("ias_client_id")),
                ("ias_client_secret", v("ias_client_secret")),
            ],
            ticked_by: None,
            only: &[],
        },
        Fill {
            page: ids::BOOSTER,
            values: vec![("plan", v("plan"))],
            ticked_by: None,
            only: &[],
        },
    ];
    let mut now = setup.clone();
    // Blank keeps what is saved (the key, a secret, a choice made elsewhere).
    for f in fills.iter_mut() {
        f.values.retain(|(_, v)| !v.trim().is_empty());
    }
    for f in fills.iter().filter(|f| !f.values.is_empty()) {
        match answers::fill(&state.store, &now, f, &me.name).await? {
            Some(Ok(s)) => now = s,
            Some(Err(r)) => {
                let mut p = page(
                    &state,
                    &now,
                    &me,
                    ChangeView::failed(r.message().to_string()),
                );
                p.c.status = super::change::refused_status(&r);
                return Ok((p.c.status, p).into_response());
            }
            None => return Err(super::error::AppError::NotFound),
        }
    }
    let c = ChangeView {
        notice: Some("Saved. Read the global account to see the plan.".into()),
        ..ChangeView::default()
    };
    let mut p = page(&state, &now, &me, c);
    p.c.status = StatusCode::OK;
    Ok((p.c.status, p).into_response())
}

setup_page!(BtpPage);
