//! What every remote change's page shares: the plan as read, the
//! confirmation that carries its fingerprint, progress and the result.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;
use super::Editor;
use super::error::Result;
use super::form::Submitted;
use crate::playbook::FormInput;
use crate::playbook::change::{Fill, Flow, Plan};
use crate::service::answers;
use crate::service::change::{Ended, Outcome, Started};
use crate::service::{self, Job};
use crate::store::{Setup, User};

/// The part of a flow's page that shows a read or a run (templates:
/// `macros.html`'s `change_result` and `change_plan`).
#[derive(Default)]
pub struct ChangeView {
    pub error: Option<String>,
    pub notice: Option<String>,
    pub plan: Option<Plan>,
    pub fingerprint: String,
    pub done: Vec<String>,
    pub failed: Vec<String>,
    /// The plan's warnings, shown before and after the confirmation.
    pub warnings: Vec<String>,
    /// A run still going: (done, total).
    pub progress: Option<(usize, usize)>,
    /// What a run still going does or waits for now.
    pub progress_now: Option<String>,
    /// The confirmation button's words; `None`: nothing to confirm.
    pub confirm: Option<String>,
    pub status: StatusCode,
    /// After a run that ended well: (address, words) of the next step.
    pub next: Option<(String, String)>,
}

impl ChangeView {
    /// `confirm` gives the button's words for a plan (`None`: no button).
    pub fn of(o: &Outcome, confirm: impl Fn(&Plan) -> Option<String>) -> ChangeView {
        let status = match o.ended {
            Ended::Planned | Ended::Applied => StatusCode::OK,
            Ended::Stale | Ended::NotSaved => StatusCode::CONFLICT,
            Ended::StillRunning => StatusCode::ACCEPTED,
            Ended::Failed => StatusCode::BAD_GATEWAY,
        };
        let warnings = o
            .plan
            .as_ref()
            .map(|p| p.warnings.clone())
            .unwrap_or_default();
        // After a successful run the plan is history: the page leads on.
        let plan = o.plan.clone().filter(|_| o.ended != Ended::Applied);
        ChangeView {
            error: o.error.clone(),
            notice: o.notice.clone(),
            fingerprint: plan.as_ref().map(Plan::fingerprint).unwrap_or_default(),
            confirm: plan.as_ref().filter(|p| !p.blocked()).and_then(confirm),
            plan,
            done: o.done.clone(),
            failed: o.failed.clone(),
            warnings,
            progress: None,
            progress_now: None,
            status,
            next: None,
        }
    }

    /// Lead on to the next step once a run ended well.
    pub fn leading_on(mut self, state: &AppState, setup: &Setup) -> ChangeView {
        if self.notice.is_some() && self.error.is_none() && self.failed.is_empty() {
            self.next = super::setups::with_ctx(state, setup, |ctx| {
                crate::playbook::next_to_do(setup, ctx).map(|p| {
                    (
                        format!("/setups/{}/pages/{}", setup.id, p.id),
                        match p.step {
                            "" => format!("Continue to {}", p.title),
                            step => format!("Continue to step {step}: {}", p.title),
                        },
                    )
                })
            });
        }
        self
    }

    pub fn failed(error: String) -> ChangeView {
        ChangeView {
            error: Some(error),
            status: StatusCode::BAD_GATEWAY,
            ..ChangeView::default()
        }
    }

    /// A run of this flow: its progress while it goes on, then its result.
    pub fn of_run(
        job: Option<&Job<Outcome>>,
        confirm: impl Fn(&Plan) -> Option<String>,
    ) -> ChangeView {
        match job {
            None => ChangeView::default(),
            Some(job) => match job.result() {
                Some(o) => ChangeView::of(&o, confirm),
                None => ChangeView {
                    progress: Some(job.progress()),
                    progress_now: job.progress.saying(),
                    ..ChangeView::default()
                },
            },
        }
    }
}

/// How long a confirmation waits for a flow that writes a few objects in
/// order before it shows progress instead.
pub const WAIT_ORDERED: Duration = Duration::from_secs(15);

/// The status of answers that were not saved.
pub fn refused_status(r: &crate::service::answers::Refused) -> StatusCode {
    match r {
        crate::service::answers::Refused::Rejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
        crate::service::answers::Refused::Conflict(_) => StatusCode::CONFLICT,
    }
}

/// API credentials typed on a flow's page, saved on `page` as `user_key`
/// and `password_key` as if typed there (its other answers kept): the saved
/// setup and the user's name, or why not (status, message) for the flow's
/// page to show.
pub async fn save_credentials(
    state: &AppState,
    setup: &Setup,
    me: &User,
    input: &FormInput,
    (page, user_key, password_key): (&'static str, &'static str, &'static str),
    missing_user: &str,
) -> Result<std::result::Result<(Arc<Setup>, String), (StatusCode, String)>> {
    let typed = input.first(user_key).unwrap_or("").trim().to_string();
    if typed.is_empty() {
        return Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, missing_user.into())));
    }
    let creds = Fill {
        page,
        values: vec![
            (user_key, typed.clone()),
            (
                password_key,
                input.first(password_key).unwrap_or("").to_string(),
            ),
        ],
        ticked_by: None,
        only: &[],
    };
    match answers::fill(&state.store, setup, &creds, &me.name).await? {
        Some(Ok(saved)) => Ok(Ok((saved, typed))),
        Some(Err(r)) => Ok(Err((refused_status(&r), r.message().into()))),
        None => Err(super::error::AppError::NotFound),
    }
}

/// A remote change's page: how it looks around the shared plan view. Its
/// three routes are the generic `show`, `plan` and `apply` below.
pub trait FlowPage: Flow + Default + 'static {
    /// The page's own address (`/setups/{id}/<slug>`), for progress and reloads.
    const SLUG: &'static str;
    /// How long a confirmation waits for the run before showing progress.
    const WAIT: Duration = WAIT_ORDERED;
    /// The confirmation button's words for a plan (`None`: nothing to confirm).
    fn confirm(plan: &Plan) -> Option<String>;
    /// The whole page around `c`, for the setup as it is now.
    fn render(state: &AppState, setup: &Setup, me: &User, c: ChangeView) -> Response;
}

/// The page; while a run goes on, how far it is (the page reloads itself),
/// and once it ended, its result.
pub async fn show<F: FlowPage>(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
) -> Response {
    let run = service::change::running::<F>(&*state, &setup.id);
    F::render(
        &state,
        &setup,
        &me,
        ChangeView::of_run(run.as_deref(), F::confirm).leading_on(&state, &setup),
    )
}

/// Read the remote system and show the plan. Writes nothing.
pub async fn plan<F: FlowPage>(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<Response> {
    plan_with(&state, &setup, &me, F::default()).await
}

/// `plan` for a flow that carries what the form gave (a password for the run).
pub async fn plan_with<F: FlowPage>(
    state: &super::State,
    setup: &Setup,
    me: &User,
    flow: F,
) -> Result<Response> {
    let o = service::change::plan(&**state, &flow, setup, &me.name).await?;
    Ok(F::render(state, setup, me, ChangeView::of(&o, F::confirm)))
}

/// Apply the plan the consultant saw (its fingerprint), never another one.
pub async fn apply<F: FlowPage>(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    Submitted(input): Submitted,
) -> Result<Response> {
    let fingerprint = input.first("fingerprint").unwrap_or("").to_string();
    apply_with(&state, setup, &me, F::default(), fingerprint).await
}

/// `apply` for a flow that carries what the form gave.
pub async fn apply_with<F: FlowPage>(
    state: &super::State,
    setup: std::sync::Arc<Setup>,
    me: &User,
    flow: F,
    fingerprint: String,
) -> Result<Response> {
    let started = service::change::apply(
        state.clone(),
        flow,
        setup.clone(),
        me.name.clone(),
        fingerprint,
        F::WAIT,
    )
    .await;
    Ok(match started {
        Started::Ended(o) => {
            // The page shows the answers the run filled in.
            let now = state.store.setup(&setup.id).await?.unwrap_or(setup);
            let view = ChangeView::of(&o, F::confirm).leading_on(state, &now);
            F::render(state, &now, me, view)
        }
        Started::Running => {
            Redirect::to(&format!("/setups/{}/{}", setup.id, F::SLUG)).into_response()
        }
    })
}
