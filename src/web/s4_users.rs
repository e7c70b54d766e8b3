//! Step 6 through S/4HANA's SCIM interface (SAP_COM_0465): the API user, a
//! plan of every approver's Global User ID, and — once the consultant
//! confirmed that plan — the writes, read back and recorded.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::auth::{Editor, SetupHead, setup_page};
use super::form::Submitted;
use super::s4_setup::save_answers;
use super::setups::with_ctx;
use crate::domain::{self, Approver};
use crate::error::Result;
use crate::fmt;
use crate::playbook::global_ids::{self, Row};
use crate::sap::Calls;
use crate::sap::s4::{Session, explain};
use crate::store::{Setup, User};

/// What a plan or a run found: the part of the page that is not the viewer's.
#[derive(Default)]
pub struct Outcome {
    pub status: StatusCode,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub rows: Vec<Row>,
    pub planned: bool,
    pub writes: usize,
    pub fingerprint: String,
    pub results: Vec<(String, String, bool)>,
}

impl Outcome {
    fn failed(status: StatusCode, error: String) -> Outcome {
        Outcome {
            status,
            error: Some(error),
            ..Outcome::default()
        }
    }

    fn planned(mut self, rows: Vec<Row>) -> Outcome {
        self.fingerprint = global_ids::fingerprint(&rows);
        self.writes = rows.iter().filter(|r| r.writes()).count();
        self.rows = rows;
        self.planned = true;
        self
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "s4_users.html")]
pub struct S4UsersPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub api_user: Option<String>,
    pub o: std::sync::Arc<Outcome>,
    /// A run still going: (written, of).
    pub progress: Option<(usize, usize)>,
}

impl S4UsersPage {
    fn respond(self) -> Response {
        (self.o.status, self).into_response()
    }
}

fn page(state: &crate::AppState, setup: &Setup, me: &User, o: Outcome) -> S4UsersPage {
    S4UsersPage {
        title: format!("Global User IDs through S/4HANA's API — {}", setup.name),
        head: SetupHead::of(setup, me),
        api_user: with_ctx(state, setup, |ctx| {
            ctx.get("scim_api_user").map(str::to_string)
        }),
        o: std::sync::Arc::new(o),
        progress: None,
    }
}

/// The page; while a run for this setup goes on, how far it is (the page
/// reloads itself), and once it ended, its result.
pub async fn show(State(state): State<crate::State>, Editor { setup, me, .. }: Editor) -> Response {
    let mut p = page(&state, &setup, &me, Outcome::default());
    if let Some(job) = state.global_id_runs.get(&setup.id) {
        match job.result() {
            Some(o) => p.o = o,
            None => p.progress = Some(job.progress()),
        }
    }
    p.respond()
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
    let typed = input
        .first("scim_api_user")
        .unwrap_or("")
        .trim()
        .to_string();
    if typed.is_empty() {
        let o = Outcome::failed(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter the SCIM API user: the communication user of the SAP_COM_0465 arrangement"
                .into(),
        );
        return Ok(page(&state, &setup, &me, o).respond());
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
            return Ok(page(&state, &setup, &me, Outcome::failed(status, e)).respond());
        }
    };
    let calls = Calls::default();
    let checked = connect(&state, &saved, &calls).await;
    state
        .store
        .record_calls(&setup.id, "step-6", &me.name, &calls.take())
        .await?;
    let o = match checked {
        Ok(_) => Outcome {
            notice: Some(format!("Connected as {typed} to S/4HANA's SCIM interface.")),
            ..Outcome::default()
        },
        Err(e) => Outcome::failed(StatusCode::BAD_GATEWAY, e),
    };
    let mut p = page(&state, &saved, &me, o);
    p.api_user = Some(typed);
    Ok(p.respond())
}

pub async fn plan(
    State(state): State<crate::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<Response> {
    let calls = Calls::default();
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
    let o = match result {
        Ok(rows) => Outcome::default().planned(rows),
        Err(e) => Outcome::failed(StatusCode::BAD_GATEWAY, e),
    };
    Ok(page(&state, &setup, &me, o).respond())
}

/// Confirmed: the writes run in the background. A short run answers with
/// its result; a long one sends the page that shows its progress.
pub async fn apply(
    State(state): State<crate::State>,
    Editor { setup, me, .. }: Editor,
    Submitted(input): Submitted,
) -> Result<Response> {
    let progress_page = format!("/setups/{}/s4-users", setup.id);
    let job = match state.global_id_runs.start(&setup.id) {
        Ok(job) => job,
        // One run at a time: the running one is shown.
        Err(_) => return Ok(axum::response::Redirect::to(&progress_page).into_response()),
    };
    let run = {
        let (state, setup, me, job) = (state.clone(), setup.clone(), me.clone(), job.clone());
        let fingerprint = input.first("fingerprint").unwrap_or("").to_string();
        async move {
            let calls = Calls::default();
            let outcome = apply_confirmed(&state, &setup, &me, &fingerprint, &calls, &job).await;
            // Every exit keeps its call log, the failed ones too.
            let logged = state
                .store
                .record_calls(&setup.id, "step-6", &me.name, &calls.take())
                .await;
            job.finish(match (outcome, logged) {
                (Ok(o), Ok(())) => o,
                (Err(e), _) => Outcome::failed(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                (_, Err(e)) => Outcome::failed(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("The calls could not be recorded: {e}"),
                ),
            });
        }
    };
    tokio::spawn(run);
    match job.wait(super::jobs::WAIT).await {
        Some(o) => {
            let mut p = page(&state, &setup, &me, Outcome::default());
            p.o = o;
            Ok(p.respond())
        }
        None => Ok(axum::response::Redirect::to(&progress_page).into_response()),
    }
}

async fn apply_confirmed(
    state: &crate::AppState,
    setup: &Setup,
    me: &User,
    fingerprint: &str,
    calls: &Calls,
    job: &super::jobs::Job<Outcome>,
) -> Result<Outcome> {
    let (api, approvers) = match connect(state, setup, calls).await {
        Ok(x) => x,
        Err(e) => return Ok(Outcome::failed(StatusCode::BAD_GATEWAY, e)),
    };
    let rows = match global_ids::plan(&api, calls, &approvers).await {
        Ok(r) => r,
        Err(e) => return Ok(Outcome::failed(StatusCode::BAD_GATEWAY, explain(&e))),
    };
    if fingerprint != global_ids::fingerprint(&rows) {
        let o = Outcome::failed(
            StatusCode::CONFLICT,
            "S/4HANA or the approvers changed since the plan was shown. Check the new plan, then confirm it.".into(),
        )
        .planned(rows);
        return Ok(o);
    }
    job.total.store(
        rows.iter().filter(|r| r.writes()).count(),
        std::sync::atomic::Ordering::Relaxed,
    );
    let results = global_ids::apply(&api, calls, &rows, &job.done).await;
    let mut o = Outcome::default();
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
                o.results.push((email.clone(), what.clone(), true));
            }
            Err(e) => {
                failed += 1;
                o.results.push((email.clone(), e.clone(), false));
            }
        }
    }
    o.results.sort();
    let ok = results.len() - failed;
    if failed > 0 {
        o.status = StatusCode::BAD_GATEWAY;
        o.error = Some(format!(
            "{failed} of {} Global User IDs could not be written; the others are done. Run it again for the rest.",
            results.len()
        ));
        return Ok(o);
    }
    o.notice = Some(format!(
        "{ok} Global User IDs written and read back. If Identity Provisioning runs for this S/4HANA system, its next job may overwrite them: map the IAS user UUID there too."
    ));
    Ok(o)
}

setup_page!(S4UsersPage);
