//! "Rotate the push key" (step 3.1): the page of the remote change
//! `playbook::rotate_push_key::RotatePushKey` (routes: `web::change`).

use askama::Template;
use askama_web::WebTemplate;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::change::{ChangeView, FlowPage};
use super::setups::with_ctx;
use super::{SetupHead, setup_page};
use crate::playbook::change::Plan;
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

setup_page!(RotatePushKeyPage);
