//! Verify: the checks offline, online and as a customer user, their last run kept.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use super::error::Result;
use super::{Editor, Need, SetupHead, Viewer, can, setup_page};
use crate::fmt;
use crate::playbook::verify::{self, Check, Verdict};
use crate::store::{Setup, User};

pub struct CheckView {
    pub title: String,
    /// SAP's raw answer, for the "advanced" detail.
    pub detail: Option<String>,
    pub verdict: &'static str,
    pub css: &'static str,
    pub reason: String,
    pub href: String,
    pub page: &'static str,
}

/// How a verdict looks (the page's tag colours).
fn css(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "tag tag--done",
        Verdict::Confirmed => "tag tag--blue",
        Verdict::Warning => "tag tag--orange",
        Verdict::Fail | Verdict::NotConfirmed => "tag tag--red",
        Verdict::Skipped => "tag tag--grey",
    }
}

pub(super) fn views(setup: &Setup, checks: &[Check]) -> Vec<CheckView> {
    checks
        .iter()
        .map(|c| CheckView {
            title: c.title.clone(),
            detail: c.detail.clone(),
            verdict: c.verdict.label(),
            css: css(c.verdict),
            reason: c.reason.clone(),
            href: format!("/setups/{}/pages/{}", setup.id, c.page),
            page: verify::page_title(&c.page),
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "verify.html")]
pub struct VerifyPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub offline: Vec<CheckView>,
    pub online: Vec<CheckView>,
    pub online_at: Option<String>,
    pub counts: String,
    pub can_edit: bool,
    /// The customer user signed in for this session, if any.
    pub customer_user: Option<String>,
}

pub(super) async fn last_online(
    state: &super::AppState,
    id: &str,
) -> Result<Option<(i64, String, Vec<Check>)>> {
    Ok(state
        .store
        .verification(id)
        .await?
        .and_then(|(at, user, json)| {
            serde_json::from_str::<Vec<Check>>(&json).ok().map(|c| {
                (
                    at,
                    user,
                    c.into_iter().filter(|c| verify::is_online(&c.id)).collect(),
                )
            })
        }))
}

async fn verify_page(
    state: &super::AppState,
    setup: &Setup,
    me: &User,
    headers: &axum::http::HeaderMap,
) -> Result<VerifyPage> {
    let offline = crate::service::verify::from_answers(&state.store, setup).await?;
    let online = last_online(state, &setup.id).await?;
    let all: Vec<&Check> = offline
        .iter()
        .chain(online.iter().flat_map(|o| o.2.iter()))
        .collect();
    let n = |v: Verdict| all.iter().filter(|c| c.verdict == v).count();
    Ok(VerifyPage {
        title: format!("Verify — {}", setup.name),
        head: SetupHead::of(setup, me),
        counts: format!(
            "{} passed, {} confirmed by hand, {} warnings, {} failed, {} not confirmed, {} not checked",
            n(Verdict::Pass),
            n(Verdict::Confirmed),
            n(Verdict::Warning),
            n(Verdict::Fail),
            n(Verdict::NotConfirmed),
            n(Verdict::Skipped)
        ),
        offline: views(setup, &offline),
        online: online
            .as_ref()
            .map(|o| views(setup, &o.2))
            .unwrap_or_default(),
        online_at: online.map(|o| format!("{} by {}", fmt::date_time(o.0), o.1)),
        can_edit: can(setup, me, Need::Edit),
        customer_user: super::customer_user::for_verify(state, headers, &setup.id).map(|u| u.who),
    })
}

pub async fn verify_form(
    State(state): State<super::State>,
    Viewer { setup, me, .. }: Viewer,
    headers: axum::http::HeaderMap,
) -> Result<VerifyPage> {
    verify_page(&state, &setup, &me, &headers).await
}

/// Run every check, the online ones concurrently, and keep the result.
pub async fn verify_run(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    headers: axum::http::HeaderMap,
) -> Result<VerifyPage> {
    let id = setup.id.as_str();
    let user = super::customer_user::for_verify(&state, &headers, id);
    let all = crate::service::verify::run(
        &*state,
        &setup,
        user,
        "verify",
        &me.name,
        Default::default(),
    )
    .await?;
    state
        .store
        .save_verification(
            id,
            &me.name,
            fmt::now(),
            &serde_json::to_string(&all).map_err(anyhow::Error::from)?,
        )
        .await?;
    verify_page(&state, &setup, &me, &headers).await
}

setup_page!(VerifyPage);
