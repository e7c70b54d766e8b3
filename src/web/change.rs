//! What every remote change's page shares: the plan as read, the
//! confirmation that carries its fingerprint, progress and the result.

use axum::http::StatusCode;

use crate::playbook::change::Plan;
use crate::service::Job;
use crate::service::change::{Ended, Outcome};

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
    /// A run still going: (done, total).
    pub progress: Option<(usize, usize)>,
    /// The confirmation button's words; `None`: nothing to confirm.
    pub confirm: Option<String>,
    pub status: StatusCode,
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
            progress: None,
            status,
        }
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
                    ..ChangeView::default()
                },
            },
        }
    }
}

/// How long a confirmation waits for a flow that writes a few objects in
/// order before it shows progress instead.
pub const WAIT_ORDERED: std::time::Duration = std::time::Duration::from_secs(15);

/// The status of answers that were not saved.
pub fn refused_status(r: &crate::service::answers::Refused) -> StatusCode {
    match r {
        crate::service::answers::Refused::Rejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
        crate::service::answers::Refused::Conflict(_) => StatusCode::CONFLICT,
    }
}
