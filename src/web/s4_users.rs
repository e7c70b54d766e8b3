//! Step 6 through S/4HANA's SCIM interface (SAP_COM_0465): the API user, a
//! plan of every approver's Global User ID, and — once the consultant
//! confirmed that plan — the writes, read back and recorded.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::auth::{Editor, Nav};
use super::form::Submitted;
use super::s4_setup::save_answers;
use super::setups::with_ctx;
use crate::domain::{self, Approver};
use crate::error::Result;
use crate::fmt;
use crate::playbook::FormInput;
use crate::playbook::global_ids::{self, Row};
use crate::sap::Calls;
use crate::sap::s4::{Session, explain};
use crate::store::{Setup, User};

#[derive(Template, WebTemplate)]
#[template(path = "s4_users.html")]
pub struct S4UsersPage {
    pub title: String,
    pub nav: Nav,
    pub setup_id: String,
    pub setup_name: String,
    pub api_user: Option<String>,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub rows: Vec<Row>,
    pub planned: bool,
    pub writes: usize,
    pub fingerprint: String,
    pub results: Vec<(String, String, bool)>,
}

fn page(state: &crate::AppState, setup: &Setup, me: &User) -> S4UsersPage {
    S4UsersPage {
        title: format!("Global User IDs through S/4HANA's API — {}", setup.name),
        nav: Nav::of(me),
        setup_id: setup.id.clone(),
        setup_name: setup.name.clone(),
        api_user: with_ctx(state, setup, |ctx| {
            ctx.get("scim_api_user").map(str::to_string)
        }),
        error: None,
        notice: None,
        rows: Vec::new(),
        planned: false,
        writes: 0,
        fingerprint: String::new(),
        results: Vec::new(),
    }
}

pub async fn show(
    State(state): State<crate::State>,
    Editor { setup, me, .. }: Editor,
) -> S4UsersPage {
    page(&state, &setup, &me)
}

/// The approvers (with the IAS user UUIDs of the look-up) and a SCIM session.
async fn connect<'a>(
    state: &'a crate::AppState,
    setup: &Setup,
    calls: &Calls,
) -> std::result::Result<(Session<'a>, Vec<Approver>), String> {
    let (api, user, password, approvers) = with_ctx(state, setup, |ctx| {
        (
            ctx.s4().map(|s| format!("https://{}", s.api_host())),
            ctx.get("scim_api_user").map(str::to_string),
            ctx.secret_to_send("scim_api_password"),
            ctx.get("approvers").map(str::to_string),
        )
    });
    let api = api.ok_or("First enter the S/4HANA host (Customer systems).")?;
    let (Some(user), Some(password)) = (user, password?) else {
        return Err("First save the SCIM API user and its password.".into());
    };
    let approvers = domain::parse_approvers(approvers.as_deref().unwrap_or(""))
        .map(|c| c.value)
        .map_err(|_| "First enter the approvers in step 6 and look up their user UUIDs in Identity Authentication.".to_string())?;
    let session = Session::connect_scim(&state.sap, calls, &api, &user, &password)
        .await
        .map_err(|e| explain(&e))?;
    Ok((session, approvers))
}

pub async fn credentials(
    State(state): State<crate::State>,
    Editor { setup, me, .. }: Editor,
    Submitted(input): Submitted,
) -> Result<Response> {
    let mut p = page(&state, &setup, &me);
    let typed = input
        .first("scim_api_user")
        .unwrap_or("")
        .trim()
        .to_string();
    if typed.is_empty() {
        p.error = Some(
            "Enter the SCIM API user: the communication user of the SAP_COM_0465 arrangement"
                .into(),
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    }
    let creds = [
        ("scim_api_user", typed.clone()),
        (
            "scim_api_password",
            input.first("scim_api_password").unwrap_or("").to_string(),
        ),
    ];
    let saved = match save_answers(&state, &setup, "step-6", &creds, &me, None).await? {
        Ok(s) => s,
        Err((status, e)) => {
            p.error = Some(e);
            return Ok((status, p).into_response());
        }
    };
    p.api_user = Some(typed.clone());
    let calls = Calls::default();
    let checked = connect(&state, &saved, &calls).await;
    state
        .store
        .record_calls(&setup.id, "step-6", &me.name, &calls.take())
        .await?;
    match checked {
        Ok(_) => p.notice = Some(format!("Connected as {typed} to S/4HANA's SCIM interface.")),
        Err(e) => {
            p.error = Some(e);
            return Ok((StatusCode::BAD_GATEWAY, p).into_response());
        }
    }
    Ok(p.into_response())
}

pub async fn plan(
    State(state): State<crate::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<Response> {
    let calls = Calls::default();
    let mut p = page(&state, &setup, &me);
    let result = match connect(&state, &setup, &calls).await {
        Ok((api, approvers)) => global_ids::plan(&api, &calls, &approvers)
            .await
            .map_err(|e| explain(&e)),
        Err(e) => Err(e),
    };
    state
        .store
        .record_calls(&setup.id, "step-6", &me.name, &calls.take())
        .await?;
    match result {
        Ok(rows) => {
            p.fingerprint = global_ids::fingerprint(&rows);
            p.writes = rows.iter().filter(|r| r.writes()).count();
            p.rows = rows;
            p.planned = true;
            Ok(p.into_response())
        }
        Err(e) => {
            p.error = Some(e);
            Ok((StatusCode::BAD_GATEWAY, p).into_response())
        }
    }
}

pub async fn apply(
    State(state): State<crate::State>,
    Editor { setup, me, .. }: Editor,
    Submitted(input): Submitted,
) -> Result<Response> {
    let calls = Calls::default();
    let outcome = apply_confirmed(&state, &setup, &me, &input, &calls).await;
    // Every exit keeps its call log, the failed ones too.
    state
        .store
        .record_calls(&setup.id, "step-6", &me.name, &calls.take())
        .await?;
    let (status, page) = outcome?;
    Ok((status, page).into_response())
}

async fn apply_confirmed(
    state: &crate::AppState,
    setup: &Setup,
    me: &User,
    input: &FormInput,
    calls: &Calls,
) -> Result<(StatusCode, S4UsersPage)> {
    let mut p = page(state, setup, me);
    let (api, approvers) = match connect(state, setup, calls).await {
        Ok(x) => x,
        Err(e) => {
            p.error = Some(e);
            return Ok((StatusCode::BAD_GATEWAY, p));
        }
    };
    let rows = match global_ids::plan(&api, calls, &approvers).await {
        Ok(r) => r,
        Err(e) => {
            p.error = Some(explain(&e));
            return Ok((StatusCode::BAD_GATEWAY, p));
        }
    };
    if input.first("fingerprint") != Some(global_ids::fingerprint(&rows).as_str()) {
        p.error = Some("S/4HANA or the approvers changed since the plan was shown. Check the new plan, then confirm it.".into());
        p.fingerprint = global_ids::fingerprint(&rows);
        p.writes = rows.iter().filter(|r| r.writes()).count();
        p.rows = rows;
        p.planned = true;
        return Ok((StatusCode::CONFLICT, p));
    }
    let results = global_ids::apply(&api, calls, &rows).await;
    let mut failed = 0;
    for (email, outcome) in &results {
        match outcome {
            Ok(what) => {
                state
                    .store
                    .record_event(
                        &setup.id,
                        &me.name,
                        "S/4HANA API",
                        &format!("Global User ID of {email} {what}"),
                        fmt::now(),
                    )
                    .await?;
                p.results.push((email.clone(), what.clone(), true));
            }
            Err(e) => {
                failed += 1;
                p.results.push((email.clone(), e.clone(), false));
            }
        }
    }
    p.results.sort();
    let ok = results.len() - failed;
    if failed > 0 {
        p.error = Some(format!(
            "{failed} of {} Global User IDs could not be written; the others are done. Run it again for the rest.",
            results.len()
        ));
        return Ok((StatusCode::BAD_GATEWAY, p));
    }
    p.notice = Some(format!(
        "{ok} Global User IDs written and read back. If Identity Provisioning runs for this S/4HANA system, its next job may overwrite them: map the IAS user UUID there too."
    ));
    Ok((StatusCode::OK, p))
}
