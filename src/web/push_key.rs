//! "Create the push key through SAP Service Manager" (step 3.1): the plan read
//! from SAP, then — only after the consultant confirmed it — the creation, and
//! the new key saved on step 3.1 as if pasted there.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::auth::{Editor, SetupHead, setup_page};
use super::form::Submitted;
use super::s4_setup::save_answers;
use super::setups::with_ctx;
use crate::error::Result;
use crate::playbook::push_key::{self, Applied, Plan, Wanted};
use crate::sap::{Calls, SapError, service_manager};
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
    pub error: Option<String>,
    pub notice: Option<String>,
    pub plan: Vec<String>,
    pub creates: usize,
    /// A failed creation is in the way: nothing to confirm.
    pub blocked: bool,
    pub fingerprint: String,
}

fn page(state: &crate::AppState, setup: &Setup, me: &User) -> PushKeyPage {
    let (sm_client, push_client) = with_ctx(state, setup, |ctx| {
        (
            ctx.get("sm_clientid").map(str::to_string),
            ctx.get("push_clientid").map(str::to_string),
        )
    });
    PushKeyPage {
        title: format!("Push key through SAP Service Manager — {}", setup.name),
        head: SetupHead::of(setup, me),
        sm_client,
        push_client,
        error: None,
        notice: None,
        plan: Vec::new(),
        creates: 0,
        blocked: false,
        fingerprint: String::new(),
    }
}

fn show_plan(p: &mut PushKeyPage, plan: &Plan) {
    p.plan = plan.lines();
    p.creates = plan.creates();
    p.blocked = plan.blocked();
    p.fingerprint = plan.fingerprint();
}

pub async fn show(
    State(state): State<crate::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<PushKeyPage> {
    Ok(page(&state, &setup, &me))
}

/// Why Service Manager could not be used, in words (403: an audit key).
fn explain(e: &SapError) -> String {
    match e {
        SapError::Status { status: 403, .. } => format!(
            "{} Creating instances needs a Service Manager key of plan subaccount-admin (or container); a subaccount-audit key can only read.",
            e.explain()
        ),
        _ => e.explain(),
    }
}

/// Read Service Manager with the saved key and build the plan. Writes nothing.
/// The session stays for applying the plan (one token per request).
async fn read_plan<'a>(
    state: &'a crate::AppState,
    setup: &Setup,
    calls: &Calls,
) -> std::result::Result<(service_manager::Session<'a>, Plan), String> {
    let w: Wanted = with_ctx(state, setup, |ctx| push_key::wanted(ctx))?;
    let sm = service_manager::connect(&state.sap, calls, &w.key)
        .await
        .map_err(|e| explain(&e))?;
    let plan = push_key::plan(&sm, calls, &w)
        .await
        .map_err(|e| explain(&e))?;
    Ok((sm, plan))
}

pub async fn plan(
    State(state): State<crate::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<Response> {
    let calls = Calls::default();
    let result = read_plan(&state, &setup, &calls).await;
    state
        .store
        .record_calls(&setup.id, "step-3-1", &me.name, &calls.take())
        .await?;
    let mut p = page(&state, &setup, &me);
    match result {
        Ok((_, plan)) => {
            show_plan(&mut p, &plan);
            Ok(p.into_response())
        }
        Err(e) => {
            p.error = Some(e);
            Ok((StatusCode::BAD_GATEWAY, p).into_response())
        }
    }
}

/// Do the plan the consultant saw (its fingerprint), never another one.
pub async fn apply(
    State(state): State<crate::State>,
    Editor { setup, me, .. }: Editor,
    Submitted(input): Submitted,
) -> Result<Response> {
    let calls = Calls::default();
    let outcome = async {
        let (sm, plan) = read_plan(&state, &setup, &calls).await?;
        if input.first("fingerprint") != Some(plan.fingerprint().as_str()) {
            return Ok(Err(plan));
        }
        push_key::apply(&sm, &calls, &plan)
            .await
            .map(Ok)
            .map_err(|e| explain(&e))
    }
    .await;
    state
        .store
        .record_calls(&setup.id, "step-3-1", &me.name, &calls.take())
        .await?;
    let mut p = page(&state, &setup, &me);
    match outcome {
        Err(e) => {
            p.error = Some(format!(
                "{e} Nothing else was changed; try again to continue."
            ));
            Ok((StatusCode::BAD_GATEWAY, p).into_response())
        }
        Ok(Err(changed)) => {
            p.error = Some("Service Manager changed since you read the plan. Check the new plan and confirm again.".into());
            show_plan(&mut p, &changed);
            Ok((StatusCode::CONFLICT, p).into_response())
        }
        Ok(Ok(Applied::StillRunning(msg))) => {
            p.notice = Some(msg);
            Ok((StatusCode::ACCEPTED, p).into_response())
        }
        Ok(Ok(Applied::Key(credentials))) => {
            let key = serde_json::to_string_pretty(&credentials).unwrap_or_default();
            match save_answers(&state, &setup, "step-3-1", &[("push_key", key)], &me, None).await? {
                Ok(saved) => {
                    let mut p = page(&state, &saved, &me);
                    p.notice = Some(format!(
                        "The key {} of the instance {} is saved on step 3.1 as the push channel's key (client {}). Next: the outbound user in S/4HANA (steps 3.3 to 3.5).",
                        push_key::BINDING,
                        push_key::INSTANCE,
                        p.push_client.as_deref().unwrap_or("")
                    ));
                    Ok(p.into_response())
                }
                Err((status, why)) => {
                    p.error = Some(format!(
                        "The key was created in SAP ({} of {}), but step 3.1 did not accept it: {why}",
                        push_key::BINDING,
                        push_key::INSTANCE
                    ));
                    Ok((status, p).into_response())
                }
            }
        }
    }
}

setup_page!(PushKeyPage);
