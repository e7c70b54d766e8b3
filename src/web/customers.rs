//! A customer's landscape (issue 23): its systems, the checks that only
//! show across them, and "connect the next system".

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::{AppError, Result};
use super::form::Submitted;
use super::layout::Nav;
use super::{CurrentUser, Need, can};
use crate::playbook::verify::{Check, Verdict, landscape};
use crate::service::landscape as use_case;
use crate::store::User;

pub struct SystemRow {
    pub id: String,
    pub name: String,
    pub host: String,
    pub role: String,
    pub status: String,
    /// The landscape checks that need someone, for this system.
    pub findings: Vec<Check>,
}

#[derive(Template, WebTemplate)]
#[template(path = "customer.html")]
pub struct CustomerPage {
    pub title: String,
    pub nav: Nav,
    pub id: String,
    pub name: String,
    pub systems: Vec<SystemRow>,
    /// The system a next one is connected from (the newest the user may change).
    pub from: Option<String>,
    pub roles: &'static [(&'static str, &'static str)],
    pub errors: Vec<(String, String)>,
    pub typed: (String, String, String),
}

impl CustomerPage {
    pub fn has_error(&self, field: &str) -> bool {
        self.errors.iter().any(|(k, _)| k == field)
    }
}

async fn page(
    state: &super::AppState,
    me: &User,
    id: &str,
    errors: Vec<(String, String)>,
    typed: (String, String, String),
) -> Result<CustomerPage> {
    let Some((name, _)) = state.store.customer(id).await? else {
        return Err(AppError::NotFound);
    };
    let all = use_case::systems(&state.store, id).await?;
    let seen: Vec<_> = all.iter().filter(|(s, _)| can(s, me, Need::View)).collect();
    if seen.is_empty() {
        return Err(AppError::NotFound);
    }
    let systems: Vec<landscape::System> = all.iter().map(|(_, s)| s.clone()).collect();
    let rows = seen
        .iter()
        .map(|(setup, sys)| {
            let summary = crate::playbook::summarize(setup);
            let role = super::setups::with_ctx(state, setup, |ctx| {
                ctx.get("system_role")
                    .and_then(|r| crate::playbook::ROLES.iter().find(|(v, _)| *v == r))
                    .map_or(String::new(), |(_, l)| l.to_string())
            });
            SystemRow {
                id: setup.id.clone(),
                name: setup.name.clone(),
                host: sys.host.clone().unwrap_or_default(),
                role,
                status: summary.status,
                findings: landscape::checks(&systems, &setup.id)
                    .into_iter()
                    .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Warning))
                    .collect(),
            }
        })
        .collect();
    let from = seen
        .iter()
        .rev()
        .find(|(s, _)| can(s, me, Need::Edit))
        .map(|(s, _)| s.id.clone());
    Ok(CustomerPage {
        title: format!(
            "{}{name}: the landscape",
            if errors.is_empty() { "" } else { "Error: " }
        ),
        nav: Nav::of(me),
        id: id.to_string(),
        name,
        systems: rows,
        from,
        roles: crate::playbook::ROLES,
        errors,
        typed,
    })
}

pub async fn show(
    State(state): State<super::State>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
) -> Result<CustomerPage> {
    page(&state, &me, &id, Vec::new(), Default::default()).await
}

/// "Connect the next system": a new setup of this customer for another
/// S/4HANA host, from its newest system the user may change.
pub async fn connect(
    State(state): State<super::State>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
    Submitted(input): Submitted,
) -> Result<Response> {
    let typed = (
        input.first("s4_host").unwrap_or("").trim().to_string(),
        input.first("s4_client").unwrap_or("").trim().to_string(),
        input.first("system_role").unwrap_or("").to_string(),
    );
    let from = match input.first("from") {
        Some(f) => state.store.setup(f).await?,
        None => None,
    };
    let Some(from) = from.filter(|s| s.customer_id == id && can(s, &me, Need::Edit)) else {
        return Err(AppError::NotFound);
    };
    match use_case::next_facts(&state.store, &from, &typed.0, &typed.1, &typed.2, &me.name) {
        Err(errors) => {
            let p = page(&state, &me, &id, errors, typed).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
        }
        Ok(facts) => {
            let (customer, _) = state.store.customer(&id).await?.ok_or(AppError::NotFound)?;
            let role = crate::playbook::ROLES
                .iter()
                .find(|(v, _)| *v == typed.2)
                .map_or("", |(_, l)| l);
            let name = format!("{customer} — {role}");
            let new = use_case::connect_next(
                &state.store,
                &from,
                &name,
                facts,
                me.id,
                &me.name,
                crate::fmt::now(),
            )
            .await?;
            Ok(Redirect::to(&format!("/setups/{}", new.id)).into_response())
        }
    }
}
