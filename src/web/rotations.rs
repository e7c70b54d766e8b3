//! The guided rotations' pages: the push key (step 3.1), the communication
//! user's password (step 3.3) and the IDS destination's credentials (step
//! 2.1), each a remote change on the one engine (routes: `web::change`).

use askama::Template;
use askama_web::WebTemplate;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::change::{ChangeView, FlowPage};
use super::setups::with_ctx;
use super::{SetupHead, setup_page};
use crate::playbook::change::Plan;
use crate::playbook::rotate_comm_password::RotateCommPassword;
use crate::playbook::rotate_ids::RotateIds;
use crate::playbook::rotate_push_key::{RotatePushKey, UNCONFIRMED};
use crate::store::{Setup, User};

#[derive(Template, WebTemplate)]
#[template(path = "rotate_push_key.html")]
pub struct RotatePushKeyPage {
    pub title: String,
    pub head: SetupHead,
    /// The push key step 3.1 holds now.
    pub push_client: Option<String>,
    pub unconfirmed: &'static [&'static str],
    pub c: ChangeView,
}
setup_page!(RotatePushKeyPage);

impl FlowPage for RotatePushKey {
    const SLUG: &'static str = "rotate-push-key";
    fn confirm(plan: &Plan) -> Option<String> {
        (plan.writes() > 0).then(|| "Confirm: rotate the push key".to_string())
    }
    fn render(state: &AppState, setup: &Setup, me: &User, c: ChangeView) -> Response {
        let push_client = with_ctx(state, setup, |ctx| {
            ctx.get("push_clientid").map(str::to_string)
        });
        let p = RotatePushKeyPage {
            title: format!("Rotate the push key — {}", setup.name),
            head: SetupHead::of(setup, me),
            push_client,
            unconfirmed: UNCONFIRMED,
            c,
        };
        (p.c.status, p).into_response()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "rotate_comm_password.html")]
pub struct RotateCommPasswordPage {
    pub title: String,
    pub head: SetupHead,
    pub user: Option<String>,
    pub c: ChangeView,
}
setup_page!(RotateCommPasswordPage);

impl FlowPage for RotateCommPassword {
    const SLUG: &'static str = "rotate-comm-password";
    fn confirm(plan: &Plan) -> Option<String> {
        (plan.writes() > 0).then(|| "Confirm: set a new password on both sides".to_string())
    }
    fn render(state: &AppState, setup: &Setup, me: &User, c: ChangeView) -> Response {
        let user = with_ctx(state, setup, |ctx| ctx.get("comm_user").map(str::to_string));
        let p = RotateCommPasswordPage {
            title: format!("Rotate the communication user's password — {}", setup.name),
            head: SetupHead::of(setup, me),
            user,
            c,
        };
        (p.c.status, p).into_response()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "rotate_ids.html")]
pub struct RotateIdsPage {
    pub title: String,
    pub head: SetupHead,
    pub ias_client: Option<String>,
    pub c: ChangeView,
}
setup_page!(RotateIdsPage);

impl FlowPage for RotateIds {
    const SLUG: &'static str = "rotate-ids";
    fn confirm(plan: &Plan) -> Option<String> {
        (plan.writes() > 0)
            .then(|| "Confirm: check the new secret, then update the destination".to_string())
    }
    fn render(state: &AppState, setup: &Setup, me: &User, c: ChangeView) -> Response {
        let ias_client = with_ctx(state, setup, |ctx| {
            ctx.get("ias_client_id").map(str::to_string)
        });
        let p = RotateIdsPage {
            title: format!("Rotate the IDS destination's credentials — {}", setup.name),
            head: SetupHead::of(setup, me),
            ias_client,
            c,
        };
        (p.c.status, p).into_response()
    }
}
