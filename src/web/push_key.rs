//! "Create the push key through SAP Service Manager" (step 3.1): the page of
//! the remote change `playbook::push_key::PushKey` (routes: `web::change`);
//! the new key is saved on step 3.1 as if pasted there.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::change::{ChangeView, FlowPage};
use super::setups::with_ctx;
use super::{SetupHead, setup_page};
use crate::playbook::change::Plan;
use crate::playbook::push_key::PushKey;
use crate::store::{Setup, User};

#[derive(Template, WebTemplate)]
#[template(path = "push_key.html")]
pub struct PushKeyPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    /// The Service Manager key's client, once saved on step 3.1.
    pub sm_client: Option<String>,
    /// The push key step 3.1 holds now.
    pub push_client: Option<String>,
    pub c: ChangeView,
}

impl FlowPage for PushKey {
    const SLUG: &'static str = "push-key";
    fn confirm(plan: &Plan) -> Option<String> {
        Some(match plan.writes() {
            0 => "Confirm: save the existing key on step 3.1".into(),
            n => format!("Confirm: create {n} in SAP and save the key"),
        })
    }
    fn render(state: &AppState, setup: &Setup, me: &User, c: ChangeView) -> Response {
        let (sm_client, push_client) = with_ctx(state, setup, |ctx| {
            (
                ctx.get("sm_clientid").map(str::to_string),
                ctx.get("push_clientid").map(str::to_string),
            )
        });
        let p = PushKeyPage {
            title: format!("Push key through SAP Service Manager — {}", setup.name),
            head: SetupHead::of(setup, me),
            sm_client,
            push_client,
            c,
        };
        (p.c.status, p).into_response()
    }
}

setup_page!(PushKeyPage);
