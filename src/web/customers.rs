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

/// The landscape drawn (no JavaScript): IAS tenants, Task Center
/// subaccounts and S/4HANA systems in three columns, each link coloured by
/// its latest landscape check, with the same in words for screen readers.
pub struct Picture {
    pub width: usize,
    pub height: usize,
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    /// The picture in sentences (its `desc`, and a list beside it).
    pub text: Vec<String>,
}

pub struct Node {
    pub x: usize,
    pub y: usize,
    pub label: String,
    pub kind: &'static str,
}

pub struct Link {
    pub x1: usize,
    pub y1: usize,
    pub x2: usize,
    pub y2: usize,
    /// `pass`, `warning`, `fail` or `unknown`.
    pub state: &'static str,
}

const COLUMN: [usize; 3] = [10, 260, 510];
pub const NODE_W: usize = 200;
pub const NODE_H: usize = 44;
const ROW: usize = 64;

fn worst(checks: &[&Check]) -> &'static str {
    if checks.iter().any(|c| c.verdict == Verdict::Fail) {
        "fail"
    } else if checks.iter().any(|c| c.verdict == Verdict::Warning) {
        "warning"
    } else if checks.iter().any(|c| c.verdict == Verdict::Pass) {
        "pass"
    } else {
        "unknown"
    }
}

/// What fits a node (200 px at 13 px a character of about 7 px).
fn short(s: &str) -> String {
    if s.chars().count() > 25 {
        format!("{}…", s.chars().take(24).collect::<String>())
    } else {
        s.to_string()
    }
}

/// The picture of `systems` (all of the customer's, for the checks).
pub fn picture(systems: &[landscape::System]) -> Picture {
    let column = |items: &mut Vec<String>, v: &str| -> usize {
        match items.iter().position(|i| i == v) {
            Some(p) => p,
            None => {
                items.push(v.to_string());
                items.len() - 1
            }
        }
    };
    let (mut ias, mut subs) = (Vec::new(), Vec::new());
    let mut links = Vec::new();
    let mut text = Vec::new();
    // Below the columns' headings.
    let y = |row: usize| 34 + row * ROW;
    let mut nodes = Vec::new();
    for (row, s) in systems.iter().enumerate() {
        let checks = landscape::checks(systems, &s.id);
        let by = |id: &str| checks.iter().filter(|c| c.id == id).collect::<Vec<_>>();
        let sub = s
            .subaccount
            .clone()
            .unwrap_or_else(|| "subaccount not entered".into());
        let si = column(&mut subs, &sub);
        nodes.push(Node {
            x: COLUMN[2],
            y: y(row),
            label: short(&match (&s.host, &s.role) {
                (Some(h), Some(r)) => format!("{} · {r}", h.split('.').next().unwrap_or(h)),
                (Some(h), None) => h.clone(),
                (None, _) => format!("{}: host not entered", s.name),
            }),
            kind: "system",
        });
        let to_system = worst(
            &checks
                .iter()
                .filter(|c| c.id != "landscape-ias")
                .collect::<Vec<_>>(),
        );
        links.push(Link {
            x1: COLUMN[1] + NODE_W,
            y1: y(si) + NODE_H / 2,
            x2: COLUMN[2],
            y2: y(row) + NODE_H / 2,
            state: to_system,
        });
        text.push(format!(
            "Subaccount {sub} to S/4HANA system {} ({}): destination and trust certificate, {to_system}.",
            s.host.as_deref().unwrap_or("not entered"),
            s.name
        ));
        if let Some(i) = &s.ias_host {
            let ii = column(&mut ias, i);
            let state = worst(&by("landscape-ias"));
            if !links.iter().any(|l: &Link| {
                l.x1 == COLUMN[0] + NODE_W
                    && l.y1 == y(ii) + NODE_H / 2
                    && l.y2 == y(si) + NODE_H / 2
            }) {
                links.push(Link {
                    x1: COLUMN[0] + NODE_W,
                    y1: y(ii) + NODE_H / 2,
                    x2: COLUMN[1],
                    y2: y(si) + NODE_H / 2,
                    state,
                });
                text.push(format!(
                    "IAS tenant {i} trusted by subaccount {sub}: {state}."
                ));
            }
        }
    }
    for (row, i) in ias.iter().enumerate() {
        nodes.push(Node {
            x: COLUMN[0],
            y: y(row),
            label: short(i),
            kind: "ias",
        });
    }
    for (row, s) in subs.iter().enumerate() {
        let shown = systems
            .iter()
            .find(|x| x.subaccount.as_deref() == Some(s.as_str()))
            .and_then(|x| x.subdomain.clone())
            .unwrap_or_else(|| s.clone());
        nodes.push(Node {
            x: COLUMN[1],
            y: y(row),
            label: short(&shown),
            kind: "subaccount",
        });
    }
    let rows = systems.len().max(ias.len()).max(subs.len()).max(1);
    Picture {
        width: COLUMN[2] + NODE_W + 10,
        height: y(rows) - ROW + NODE_H + 10,
        nodes,
        links,
        text,
    }
}

pub struct SystemRow {
    pub id: String,
    pub name: String,
    pub host: String,
    pub role: String,
    pub status: String,
    /// The landscape checks that need someone, for this system.
    pub findings: Vec<Check>,
    /// Shared pages another system saved later: (page, its title, from
    /// which system, its name), when the user may change this one.
    pub take_over: Vec<(String, &'static str, String, String)>,
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
    pub picture: Picture,
    /// Whether the user may share some of its systems; who shares them.
    pub can_share: bool,
    pub members: Vec<String>,
    pub share_error: Option<String>,
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
                take_over: if can(setup, me, Need::Edit) {
                    landscape::newer_copies(&systems, &setup.id)
                        .into_iter()
                        .map(|(p, o)| {
                            (
                                p.page.clone(),
                                crate::playbook::verify::page_title(&p.page),
                                o.id.clone(),
                                o.name.clone(),
                            )
                        })
                        .collect()
                } else {
                    Vec::new()
                },
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
    let mut members: Vec<String> = seen
        .iter()
        .flat_map(|(s, _)| {
            s.members
                .iter()
                .map(|m| format!("{} ({})", m.name, m.role.as_str()))
        })
        .collect();
    members.sort();
    members.dedup();
    Ok(CustomerPage {
        can_share: seen.iter().any(|(s, _)| can(s, me, Need::Manage)),
        members,
        share_error: None,
        picture: picture(&systems),
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

/// Share the customer: each of its systems the user may share, with the
/// same person and role (the one access rule decides per setup).
pub async fn share(
    State(state): State<super::State>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
    Submitted(input): Submitted,
) -> Result<Response> {
    let (_, named) = super::admin::sharee(
        &state,
        &input,
        "Select whether they can change the systems or only view them.",
    )
    .await?;
    let error = match named {
        Ok((who, role)) => {
            let mut shared = 0;
            for (s, _) in use_case::systems(&state.store, &id).await? {
                if can(&s, &me, Need::Manage) && s.owner_id != Some(who.id) {
                    state.store.set_member(&s.id, &who, Some(role)).await?;
                    shared += 1;
                }
            }
            if shared == 0 {
                return Err(AppError::NotFound);
            }
            tracing::info!(target: "security", customer = %id, by = %me.name, user = %who.name, role = role.as_str(), systems = shared, "customer shared");
            return Ok(Redirect::to(&format!("/customers/{id}")).into_response());
        }
        Err(e) => Some(e),
    };
    let mut p = page(&state, &me, &id, Vec::new(), Default::default()).await?;
    if !p.can_share {
        return Err(AppError::NotFound);
    }
    p.share_error = error;
    p.title = format!("Error: {}", p.title);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
}

/// The whole customer as one file: each system the user may see, as its
/// export, without secrets (each system's own Export page can add them).
pub async fn export(
    State(state): State<super::State>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let Some((name, _)) = state.store.customer(&id).await? else {
        return Err(AppError::NotFound);
    };
    let mut setups = Vec::new();
    for (s, _) in use_case::systems(&state.store, &id).await? {
        if can(&s, &me, Need::View) {
            setups.push(super::export::export_of(&state, &s, None).await?);
            state
                .store
                .record_event(
                    &s.id,
                    &me.name,
                    "Export",
                    "with its customer, without secrets",
                    crate::fmt::now(),
                )
                .await?;
        }
    }
    if setups.is_empty() {
        return Err(AppError::NotFound);
    }
    let file = crate::handover::CustomerExport {
        format: crate::handover::CUSTOMER_FORMAT.into(),
        name: name.clone(),
        exported_at: crate::fmt::now(),
        setups,
    };
    let body = serde_json::to_vec_pretty(&file).map_err(anyhow::Error::from)?;
    Ok(super::downloads::attachment(
        body,
        "application/json",
        &format!("{}-customer.json", super::downloads::file_stem_of(&name)),
    ))
}

/// Take a shared page over from the system that saved it later: its
/// answers as they are there (secrets stay encrypted), through the one
/// page write, which refuses if this system's page changed meanwhile.
pub async fn take_over(
    State(state): State<super::State>,
    CurrentUser(me): CurrentUser,
    Path(id): Path<String>,
    Submitted(input): Submitted,
) -> Result<Response> {
    let page = input.first("page").unwrap_or("");
    let Some(page) = landscape::SHARED_PAGES.iter().find(|p| **p == page) else {
        return Err(AppError::NotFound);
    };
    let (to, from) = match (input.first("to"), input.first("from")) {
        (Some(t), Some(f)) => (state.store.setup(t).await?, state.store.setup(f).await?),
        _ => (None, None),
    };
    let (Some(to), Some(from)) = (to, from) else {
        return Err(AppError::NotFound);
    };
    if to.customer_id != id
        || from.customer_id != id
        || !can(&to, &me, Need::Edit)
        || !can(&from, &me, Need::View)
    {
        return Err(AppError::NotFound);
    }
    let Some(rec) = from.pages.get(*page) else {
        return Err(AppError::NotFound);
    };
    let write = crate::store::PageWrite {
        page,
        data: rec
            .data
            .iter()
            .map(|(k, v)| (k.clone(), crate::store::Stored::Plain(v.clone())))
            .collect(),
        basis: &rec.basis,
        expected_version: to.pages.get(*page).map_or(0, |r| r.version),
        user: &me.name,
        now: crate::fmt::now(),
    };
    match state.store.save_page(&to.id, write).await? {
        Some(crate::store::SaveOutcome::Saved(_)) => {
            state
                .store
                .record_event(
                    &to.id,
                    &me.name,
                    "Landscape",
                    &format!(
                        "{} taken over from {}",
                        crate::playbook::verify::page_title(page),
                        from.name
                    ),
                    crate::fmt::now(),
                )
                .await?;
            Ok(Redirect::to(&format!("/customers/{id}")).into_response())
        }
        Some(crate::store::SaveOutcome::Conflict(_)) => Err(AppError::Forbidden(format!(
            "Someone saved {} of {} meanwhile: open the customer's page again and decide once more.",
            crate::playbook::verify::page_title(page),
            to.name
        ))),
        None => Err(AppError::NotFound),
    }
}
