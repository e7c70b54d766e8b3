//! The setups list, creating, renaming, archiving, and a setup's task list.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::error::{AppError, Result};
use super::form::Submitted;
use super::page_cache;
use super::{CurrentUser, Manager, Nav, Need, SetupHead, Viewer, can, setup_page};
use crate::domain;
use crate::fmt;
use crate::playbook::{self, Ctx, PAGES, PageStatus};
use crate::store::{ListQuery, Setup, User};

pub struct SetupRow {
    pub href: String,
    pub name: String,
    pub s4_host: String,
    pub progress: String,
    pub status: String,
    pub status_css: &'static str,
    pub changed: String,
}

/// Rows on one page of the setups list.
const PER_PAGE: i64 = 50;

#[derive(Template, WebTemplate)]
#[template(path = "setups.html")]
pub struct SetupsPage {
    pub title: String,
    pub nav: Nav,
    pub rows: Vec<SetupRow>,
    pub archived_view: bool,
    pub other_count: i64,
    pub name_value: String,
    pub error: Option<String>,
    pub sandbox_url: Option<String>,
    /// The search as asked, the status filter and its choices.
    pub q: String,
    pub status: String,
    pub statuses: Vec<&'static str>,
    /// "Showing 51 to 100 of 230", and the links to the pages around.
    pub showing: String,
    pub previous: Option<String>,
    pub next: Option<String>,
}

pub(super) fn with_ctx<T>(
    state: &super::AppState,
    setup: &Setup,
    f: impl FnOnce(&mut Ctx) -> T,
) -> T {
    crate::service::with_ctx(&state.store, setup, f)
}

/// What the list was asked for: `?view=archived&q=..&status=..&page=N`.
#[derive(Default, serde::Deserialize)]
pub struct ListParams {
    #[serde(default)]
    view: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: Option<String>,
}

impl ListParams {
    fn link(&self, page: i64) -> String {
        let mut u = url::form_urlencoded::Serializer::new(String::new());
        if self.view == "archived" {
            u.append_pair("view", "archived");
        }
        if !self.q.trim().is_empty() {
            u.append_pair("q", self.q.trim());
        }
        if !self.status.is_empty() {
            u.append_pair("status", &self.status);
        }
        if page > 1 {
            u.append_pair("page", &page.to_string());
        }
        let q = u.finish();
        if q.is_empty() {
            "/".into()
        } else {
            format!("/?{q}")
        }
    }
}

async fn list_page(
    state: &super::AppState,
    me: &User,
    params: &ListParams,
    name_value: String,
    error: Option<String>,
) -> Result<SetupsPage> {
    let archived_view = params.view == "archived";
    let statuses: Vec<&'static str> = PageStatus::OVERALL.iter().map(PageStatus::label).collect();
    // An unknown status or page number is ignored, not an error page.
    let status = if statuses.contains(&params.status.as_str()) {
        params.status.clone()
    } else {
        String::new()
    };
    let text: String = params.q.trim().chars().take(100).collect();
    let page = params
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    let found = state
        .store
        .list(&ListQuery {
            user_id: me.id,
            is_admin: me.is_admin,
            archived: archived_view,
            text: &text,
            status: &status,
            offset: (page - 1) * PER_PAGE,
            limit: PER_PAGE,
        })
        .await?;
    let rows: Vec<SetupRow> = found
        .rows
        .into_iter()
        .map(|s| SetupRow {
            href: format!("/setups/{}", s.id),
            name: s.name,
            s4_host: if s.summary.s4_host.is_empty() {
                "—".into()
            } else {
                s.summary.s4_host
            },
            progress: format!("{} of {} done", s.summary.done, s.summary.total),
            status_css: PageStatus::css_of(&s.summary.status),
            status: s.summary.status,
            changed: fmt::date_time(s.updated_at),
        })
        .collect();
    let first = (page - 1) * PER_PAGE + 1;
    let showing = match found.total {
        0 => String::new(),
        1 if page == 1 => "1 setup".to_string(),
        n if n <= PER_PAGE && page == 1 => format!("{n} setups"),
        n => format!(
            "Showing {} to {} of {n}",
            first.min(n),
            (first + rows.len() as i64 - 1).max(first.min(n))
        ),
    };
    let title = match (&error, archived_view) {
        (Some(_), _) => "Error: Your setups".to_string(),
        (None, true) => "Archived setups".to_string(),
        (None, false) => "Your setups".to_string(),
    };
    Ok(SetupsPage {
        title,
        nav: Nav::of(me),
        rows,
        archived_view,
        other_count: found.other,
        name_value,
        error,
        sandbox_url: state.sandbox_url.clone(),
        previous: (page > 1).then(|| params.link(page - 1)),
        next: (page * PER_PAGE < found.total).then(|| params.link(page + 1)),
        q: text,
        status,
        statuses,
        showing,
    })
}

pub async fn list(
    State(state): State<super::State>,
    CurrentUser(me): CurrentUser,
    Query(params): Query<ListParams>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let key = state
        .store
        .list_generation()
        .map(|g| page_cache::Key::list(&me, g, query.as_deref().unwrap_or(""), fmt::now()));
    state
        .pages
        .get_or_render(key, list_page(&state, &me, &params, String::new(), None))
        .await
}

fn parse_name(input: &playbook::FormInput) -> std::result::Result<String, (String, String)> {
    let raw = input.first("name").unwrap_or("");
    domain::bounded_text(raw, "customer or setup name", 100)
        .map(|c| c.value)
        .map_err(|e| (raw.to_string(), e))
}

pub async fn create(
    State(state): State<super::State>,
    CurrentUser(me): CurrentUser,
    Submitted(input): Submitted,
) -> Result<Response> {
    match parse_name(&input) {
        Ok(name) => {
            let setup = state.store.create_setup(&name, me.id, fmt::now()).await?;
            Ok(Redirect::to(&format!("/setups/{}", setup.id)).into_response())
        }
        Err((typed, e)) => Ok(
            list_page(&state, &me, &ListParams::default(), typed, Some(e))
                .await?
                .into_response(),
        ),
    }
}

pub struct TaskItem {
    pub status_id: String,
    pub title: String,
    pub step: &'static str,
    pub href: Option<String>,
    pub status: &'static str,
    pub status_css: &'static str,
    pub reason: Option<String>,
    /// Whether the wizard can do (or did) it through SAP's API, or it is
    /// done by hand.
    pub how: Option<&'static str>,
}

pub struct Section {
    pub title: &'static str,
    pub items: Vec<TaskItem>,
}

#[derive(Template, WebTemplate)]
#[template(path = "task_list.html")]
pub struct TaskListPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub archived: bool,
    pub can_manage: bool,
    pub can_edit: bool,
    pub progress: String,
    pub sections: Vec<Section>,
    /// The customer whose landscape this system is part of.
    pub customer_id: String,
}

pub async fn task_list(
    State(state): State<super::State>,
    Viewer { setup, me, .. }: Viewer,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let now = fmt::now();
    let landscape = state.store.landscape_stamp(&setup.customer_id).await?;
    let key = query
        .is_none()
        .then(|| page_cache::Key::new(&setup, &me, "tasks", "", now).with_landscape(landscape));
    if let Some(hit) = key.as_ref().and_then(|k| state.pages.get(k)) {
        return Ok(hit);
    }
    let elsewhere = match landscape {
        None => Vec::new(),
        Some(_) => changed_elsewhere(&state, &setup).await?,
    };
    let (sections, progress) = with_ctx(&state, &setup, |ctx| {
        let mut sections: Vec<Section> = Vec::new();
        let mut statuses = playbook::statuses(&setup, ctx);
        for (page, status) in PAGES.iter().zip(statuses.iter_mut()) {
            if status.is_done() && elsewhere.iter().any(|(p, _)| p == page.id) {
                *status = PageStatus::NeedsReview;
            }
        }
        for (page, status) in PAGES.iter().zip(statuses.iter().cloned()) {
            let reason = match &status {
                PageStatus::NeedsReview
                    if let Some((_, why)) = elsewhere.iter().find(|(p, _)| p == page.id) =>
                {
                    Some(why.clone())
                }
                PageStatus::NeedsReview if !page.is_check() => {
                    Some("An earlier answer this page depends on has changed. Check this page and save it again.".to_string())
                }
                PageStatus::NeedsReview => Some("Some pages are not completed yet.".to_string()),
                PageStatus::Problem(p) => Some(p.clone()),
                PageStatus::CannotStartYet => Some(format!(
                    "First complete: {}",
                    page.requires
                        .iter()
                        .filter(|r| !setup.pages.contains_key(**r))
                        .filter_map(|r| playbook::page(r))
                        .map(|p| p.title)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                _ => None,
            };
            let item = TaskItem {
                status_id: format!("status-{}", page.id),
                title: page.title.to_string(),
                step: page.step,
                href: (status != PageStatus::CannotStartYet)
                    .then(|| format!("/setups/{}/pages/{}", setup.id, page.id)),
                status: status.label(),
                status_css: status.css(),
                reason,
                how: if playbook::by_api(page.id).is_some() {
                    Some(if playbook::done_by_api(page, setup.pages.get(page.id)) {
                        "Done by the wizard through SAP's API"
                    } else {
                        "The wizard can do this through SAP's API"
                    })
                } else if page.is_check() || page.id == crate::playbook::ids::FACTS {
                    None
                } else {
                    Some("Done by hand (the page guides you)")
                },
            };
            match sections.last_mut() {
                Some(s) if s.title == page.section => s.items.push(item),
                _ => sections.push(Section {
                    title: page.section,
                    items: vec![item],
                }),
            }
        }
        let (done, total, _) = playbook::progress_of(&setup, &statuses);
        (
            sections,
            format!("You have completed {done} of {total} sections."),
        )
    });
    let page = TaskListPage {
        customer_id: setup.customer_id.clone(),
        title: format!("{} — Task Center setup", setup.name),
        head: SetupHead::of(&setup, &me),
        archived: setup.archived,
        can_manage: can(&setup, &me, Need::Manage),
        can_edit: can(&setup, &me, Need::Edit),
        progress,
        sections,
    };
    state.pages.render(key, &page)
}

/// The shared pages another system of the customer saved later and
/// differently: (page, why it needs review here).
async fn changed_elsewhere(
    state: &super::AppState,
    setup: &crate::store::Setup,
) -> Result<Vec<(String, String)>> {
    use crate::playbook::verify::landscape;
    let systems = crate::service::landscape::systems_only(&state.store, &setup.customer_id).await?;
    Ok(landscape::newer_copies(&systems, &setup.id)
        .into_iter()
        .map(|(p, o)| {
            (
                p.page.clone(),
                format!(
                    "Its answers were {} and differ from this system's. Take them over on the customer's page, or change them back there.",
                    landscape::changed(p, o)
                ),
            )
        })
        .collect())
}

#[derive(Template, WebTemplate)]
#[template(path = "rename.html")]
pub struct RenamePage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub value: String,
    pub error: Option<String>,
}

pub async fn rename_form(Manager { setup, me, .. }: Manager) -> Result<RenamePage> {
    Ok(RenamePage {
        title: format!("Rename — {}", setup.name),
        head: SetupHead::of(&setup, &me),
        value: setup.name.clone(),
        error: None,
    })
}

pub async fn rename(
    State(state): State<super::State>,
    Manager { setup, me, .. }: Manager,
    Submitted(input): Submitted,
) -> Result<Response> {
    let id = &setup.id;
    match parse_name(&input) {
        Ok(name) => {
            state
                .store
                .update_setup(id, Some(&name), None, fmt::now())
                .await?
                .ok_or(AppError::NotFound)?;
            Ok(Redirect::to(&format!("/setups/{id}")).into_response())
        }
        Err((typed, e)) => Ok(RenamePage {
            title: format!("Error: Rename — {}", setup.name),
            head: SetupHead::of(&setup, &me),
            value: typed,
            error: Some(e),
        }
        .into_response()),
    }
}

pub async fn archive(
    State(state): State<super::State>,
    Manager { setup, .. }: Manager,
) -> Result<Redirect> {
    state
        .store
        .update_setup(&setup.id, None, Some(true), fmt::now())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Redirect::to("/"))
}

pub async fn restore(
    State(state): State<super::State>,
    Manager { setup, .. }: Manager,
) -> Result<Redirect> {
    state
        .store
        .update_setup(&setup.id, None, Some(false), fmt::now())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Redirect::to(&format!("/setups/{}", setup.id)))
}

setup_page!(TaskListPage, RenamePage);
