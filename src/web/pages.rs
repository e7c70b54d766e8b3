//! Question pages of the playbook and check-your-answers.

use crate::playbook::ids;
use std::collections::{BTreeMap, HashMap};

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::{AppError, Result};
use super::form::Submitted;
use super::page_cache;
use super::setups::with_ctx;
use super::{Editor, Need, SetupHead, Viewer, can, setup_page};
use crate::domain;
use crate::fmt;
use crate::playbook::actions::{self, Action};
use crate::playbook::{
    self, CHECK_PAGE, Ctx, Field, FormInput, Kind, PAGES, Page, PageStatus, warnings_of,
};
use crate::service::answers::{self, Answered};
use crate::store::{PageRecord, PageWrite, Setup, User};

// Views borrow what the page table declares rather than copy it (labels,
// hints, options: the same for every setup).
pub struct OptionView {
    pub id: String,
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

pub struct FieldView {
    pub key: &'static str,
    pub id: String,
    pub label: &'static str,
    pub hint: std::borrow::Cow<'static, str>,
    pub kind: &'static str,
    pub value: String,
    pub error: Option<String>,
    pub options: Vec<OptionView>,
    /// For secrets and pasted keys: what is saved, masked.
    pub saved: Option<String>,
    pub prefilled: bool,
}

pub struct ErrorLink {
    pub href: String,
    pub text: String,
}

/// The last SAP check of the page and the button that runs it again.
pub struct OutcomeView {
    pub ok: bool,
    pub message: String,
    pub when: String,
}

/// A page's own SAP call, run at once (POST) with the answers as saved.
pub struct ActionView {
    pub label: &'static str,
    pub href: String,
}

pub struct ConflictView {
    pub who: String,
    pub when: String,
    pub rows: Vec<(String, String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "question.html")]
pub struct QuestionPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub can_edit: bool,
    pub heading: String,
    pub caption: String,
    pub intro: String,
    pub back_href: String,
    pub action: String,
    pub version: i64,
    pub multipart: bool,
    pub errors: Vec<ErrorLink>,
    pub guide: Vec<playbook::Instruction>,
    pub fields: Vec<FieldView>,
    pub summary: Vec<(String, String)>,
    pub warnings: Vec<String>,
    pub saved_banner: bool,
    pub next_href: String,
    pub conflict: Option<ConflictView>,
    pub outcome: Option<OutcomeView>,
    pub sap_action: Option<ActionView>,
    /// Showing what was typed before the session ended: not saved yet.
    pub kept_notice: bool,
    /// Steps 3.2 and 3.4: where to download the trust certificate, once held.
    pub cert_href: Option<String>,
    /// Step 6: the upload file of the Global User IDs known so far, and how
    /// many approvers it leaves out (no ID yet).
    pub ids_file: Option<(String, usize, usize)>,
    /// Steps 3.3-3.5 and 6: the page that does them through S/4HANA's API.
    pub api_setup: Option<(String, &'static str, &'static str)>,
}

pub struct CheckRow {
    pub label: String,
    pub value: String,
    pub change: Option<String>,
}

#[derive(Template)]
#[template(path = "check_section.html")]
pub struct CheckSection {
    pub title: String,
    pub status: &'static str,
    pub status_css: &'static str,
    pub rows: Vec<CheckRow>,
    pub warnings: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "check.html")]
pub struct CheckPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub can_edit: bool,
    /// Each page's section as rendered (`PageCache::section`).
    pub sections: Vec<std::sync::Arc<str>>,
    pub error: Option<String>,
    pub completed: bool,
}

fn page_title(page: &Page, setup: &Setup, error: bool) -> String {
    format!(
        "{}Step {} of {} — {} — {}",
        if error { "Error: " } else { "" },
        page.index() + 1,
        PAGES.len(),
        page.title,
        setup.name
    )
}

fn page_href(setup: &Setup, page: &Page) -> String {
    format!("/setups/{}/pages/{}", setup.id, page.id)
}

fn next_href(setup: &Setup, page: &Page, ctx: &Ctx, return_check: bool) -> String {
    let check = || format!("/setups/{}/pages/{CHECK_PAGE}", setup.id);
    if return_check {
        return check();
    }
    match page.next() {
        Some(n) if playbook::page_status(n, setup, ctx) != PageStatus::CannotStartYet => {
            page_href(setup, n)
        }
        _ => format!("/setups/{}", setup.id),
    }
}

fn choice_label(options: &[(&str, &str)], v: &str) -> String {
    options
        .iter()
        .find(|(o, _)| *o == v)
        .map_or_else(|| v.to_string(), |(_, l)| l.to_string())
}

/// Build the field views from what was typed (a failed submit), else what is
/// saved, else the derived value.
fn field_views(
    page: &Page,
    ctx: &Ctx,
    rec: Option<&PageRecord>,
    typed: Option<&FormInput>,
    errors: &[(&'static str, String)],
) -> Vec<FieldView> {
    page.fields
        .iter()
        .map(|f| {
            if let Some(k) = f.known.and_then(|known| known(ctx)) {
                let shown = match f.kind {
                    Kind::Choice(opts) => opts
                        .iter()
                        .find(|(v, _)| *v == k.value)
                        .map_or(k.value, |(_, l)| *l),
                    _ => k.value,
                };
                return FieldView {
                    key: f.key,
                    id: format!("f-{}", f.key),
                    label: f.label,
                    hint: k.why.into(),
                    kind: "known",
                    value: shown.to_string(),
                    error: None,
                    options: Vec::new(),
                    saved: None,
                    prefilled: false,
                };
            }
            let saved = rec.and_then(|r| r.data.get(f.key));
            let error = errors.iter().find(|(k, _)| *k == f.key).map(|(_, m)| m.clone());
            let mut prefilled = false;
            let value = match f.kind {
                Kind::Secret | Kind::Json => String::new(),
                Kind::File => typed
                    .and_then(|t| t.first(&format!("{}_text", f.key)))
                    .filter(|v| !domain::looks_secret(v))
                    .unwrap_or("")
                    .to_string(),
                _ => match typed {
                    Some(t) => t
                        .first(f.key)
                        .filter(|v| !domain::looks_secret(v))
                        .unwrap_or("")
                        .to_string(),
                    None => saved.cloned().unwrap_or_else(|| {
                        let p = f.prefill.and_then(|p| p(ctx));
                        prefilled = p.is_some();
                        p.unwrap_or_default()
                    }),
                },
            };
            let options = match f.kind {
                Kind::Choice(opts) => opts
                    .iter()
                    .enumerate()
                    .map(|(i, (v, l))| OptionView {
                        id: option_id(f.key, i),
                        value: v,
                        label: l,
                        checked: value == *v,
                    })
                    .collect(),
                Kind::Confirm(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, (id, l))| OptionView {
                        id: option_id(f.key, i),
                        value: id,
                        label: l,
                        checked: match typed {
                            Some(t) => t.all(f.key).contains(id),
                            None => rec.is_some_and(|r| r.data.contains_key(&format!("{}.{id}", f.key))),
                        },
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let saved_display = match f.kind {
                Kind::Secret => ctx.masked(f.key),
                Kind::Json => saved.cloned(),
                Kind::File => ctx.get("cert_cn").map(|cn| format!("A certificate is saved (CN {cn}). Upload or paste another one to replace it.")),
                _ => None,
            };
            FieldView {
                key: f.key,
                id: format!("f-{}", f.key),
                label: f.label,
                hint: f.hint.into(),
                kind: kind_name(f.kind),
                value,
                error,
                options,
                saved: saved_display,
                prefilled,
            }
        })
        .collect()
}

fn option_id(key: &str, i: usize) -> String {
    if i == 0 {
        format!("f-{key}")
    } else {
        format!("f-{key}-{i}")
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Text => "text",
        Kind::Secret => "secret",
        Kind::Choice(_) => "choice",
        Kind::Confirm(_) => "confirm",
        Kind::Json => "json",
        Kind::File => "file",
        Kind::Lines => "lines",
    }
}

struct Render<'a> {
    me: &'a User,
    typed: Option<&'a FormInput>,
    errors: &'a [(&'static str, String)],
    saved_banner: bool,
    return_check: bool,
    conflict: Option<ConflictView>,
    version: Option<i64>,
}

fn question(setup: &Setup, page: &'static Page, ctx: &Ctx, r: Render) -> QuestionPage {
    let rec = setup.pages.get(page.id);
    let back_href = if r.return_check {
        format!("/setups/{}/pages/{CHECK_PAGE}", setup.id)
    } else {
        page.previous()
            .map_or_else(|| format!("/setups/{}", setup.id), |p| page_href(setup, p))
    };
    let caption = match page.step {
        "" => page.section.to_string(),
        s => format!("Step {s} · {}", page.section),
    };
    QuestionPage {
        title: page_title(page, setup, !r.errors.is_empty()),
        head: SetupHead::of(setup, r.me),
        can_edit: can(setup, r.me, Need::Edit),
        heading: page.title.to_string(),
        caption,
        intro: page.intro.to_string(),
        back_href,
        action: format!(
            "{}{}",
            page_href(setup, page),
            if r.return_check { "?return=check" } else { "" }
        ),
        version: r.version.unwrap_or_else(|| rec.map_or(0, |p| p.version)),
        multipart: page.fields.iter().any(|f| f.kind == Kind::File),
        errors: r
            .errors
            .iter()
            .map(|(k, m)| ErrorLink {
                href: format!("#f-{k}"),
                text: m.clone(),
            })
            .collect(),
        guide: page.guide.map(|g| g(ctx)).unwrap_or_default(),
        fields: field_views(page, ctx, rec, r.typed, r.errors),
        summary: page.summary.map(|s| s(ctx)).unwrap_or_default(),
        warnings: warnings_of(rec),
        saved_banner: r.saved_banner,
        next_href: next_href(setup, page, ctx, r.return_check),
        conflict: r.conflict,
        outcome: rec.and_then(|p| {
            let when = fmt::date_time(p.checked_at?);
            match (&p.problem, &p.checked_note) {
                (Some(m), _) => Some(OutcomeView {
                    ok: false,
                    message: m.clone(),
                    when,
                }),
                (None, Some(m)) => Some(OutcomeView {
                    ok: true,
                    message: m.clone(),
                    when,
                }),
                _ => None,
            }
        }),
        // The destination's plan is the panel at the top (`by_api`).
        sap_action: page
            .action
            .filter(|a| *a != Action::ApplyDestination)
            .filter(|a| rec.is_some() && actions::inputs(*a, ctx).is_ok())
            .map(|a| ActionView {
                label: a.label(),
                href: format!("{}/run", page_href(setup, page)),
            }),
        kept_notice: false,
        cert_href: (matches!(page.id, ids::TRUST_CERTIFICATE | ids::COMM_SYSTEM)
            && ctx
                .get("certificate")
                .is_some_and(|c| c.contains("BEGIN CERTIFICATE")))
        .then(|| format!("/setups/{}/certificate", setup.id)),
        ids_file: (page.id == ids::APPROVERS)
            .then(|| {
                ctx.get("approvers")
                    .and_then(|a| domain::parse_approvers(a).ok())
            })
            .flatten()
            .map(|a| {
                let with = a
                    .value
                    .iter()
                    .filter(|x| x.global_user_id.is_some())
                    .count();
                (
                    format!("/setups/{}/global-user-ids.csv", setup.id),
                    with,
                    a.value.len() - with,
                )
            })
            .filter(|(_, with, _)| *with > 0),
        api_setup: playbook::by_api(page.id)
            .filter(|a| !a.slug.is_empty())
            .map(|a| (format!("/setups/{}/{}", setup.id, a.slug), a.says, a.link)),
    }
}

pub async fn show(
    State(state): State<super::State>,
    Viewer { setup, me, .. }: Viewer,
    Path((id, page_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response> {
    let page = playbook::page(&page_id).ok_or(AppError::NotFound)?;
    // A plain view (no banner, no kept form, no return link) is the same
    // page until the setup changes.
    let key = q.is_empty().then(|| {
        let view = if page.is_check() { "check" } else { "page" };
        page_cache::Key::new(&setup, &me, view, page.id, fmt::now())
    });
    if let Some(hit) = key.as_ref().and_then(|k| state.pages.get(k)) {
        return Ok(hit);
    }
    if page.is_check() {
        return state
            .pages
            .render(key, &check_page(&state, &setup, &me, None)?);
    }
    let return_check = q.get("return").is_some_and(|v| v == "check");
    let saved_banner = q.contains_key("saved");
    // What was typed before the session ended, if this user may save it.
    let kept = q
        .get("kept")
        .filter(|_| can(&setup, &me, Need::Edit))
        .and_then(|t| {
            state
                .kept_forms
                .take(t, &format!("/setups/{id}/pages/{page_id}"), fmt::now())
        })
        .map(|values| FormInput {
            values,
            ..FormInput::default()
        });
    with_ctx(&state, &setup, |ctx| {
        if playbook::page_status(page, &setup, ctx) == PageStatus::CannotStartYet {
            return Ok(Redirect::to(&format!("/setups/{}", setup.id)).into_response());
        }
        let r = Render {
            me: &me,
            typed: kept.as_ref(),
            errors: &[],
            saved_banner,
            return_check,
            conflict: None,
            version: kept
                .as_ref()
                .and_then(|k| k.first("_version"))
                .and_then(|v| v.parse().ok()),
        };
        let mut page = question(&setup, page, ctx, r);
        page.kept_notice = kept.is_some();
        state.pages.render(key, &page)
    })
}

/// A page's answers as (field, label, value): every field as `display` shows
/// it, then, once the page is saved, its derived values (no field).
pub(super) fn answer_rows(
    page: &Page,
    setup: &Setup,
    ctx: &Ctx,
) -> Vec<(Option<&'static Field>, String, String)> {
    let empty = BTreeMap::new();
    let data = setup.pages.get(page.id).map_or(&empty, |r| &r.data);
    let mut rows: Vec<(Option<&'static Field>, String, String)> = page
        .fields
        .iter()
        .map(|f| (Some(f), f.label.to_string(), display(f, data, ctx)))
        .collect();
    if setup.pages.contains_key(page.id) {
        rows.extend(
            page.summary
                .map(|s| s(ctx))
                .unwrap_or_default()
                .into_iter()
                .map(|(l, v)| (None, l, v)),
        );
    }
    rows
}

/// "3.1 Task Center service key", or the title alone for unnumbered pages.
pub(super) fn section_title(page: &Page) -> String {
    match page.step {
        "" => page.title.to_string(),
        s => format!("{s} {}", page.title),
    }
}

/// What a field shows on check-your-answers and in conflict tables.
pub(super) fn display(f: &Field, data: &BTreeMap<String, String>, ctx: &Ctx) -> String {
    let v = data.get(f.key).map(String::as_str).unwrap_or("");
    match f.kind {
        Kind::Secret => ctx.masked(f.key).unwrap_or_else(|| "Not entered".into()),
        Kind::Choice(opts) if !v.is_empty() => choice_label(opts, v),
        Kind::Confirm(items) => {
            let n = items
                .iter()
                .filter(|(id, _)| data.contains_key(&format!("{}.{id}", f.key)))
                .count();
            format!("{n} of {} confirmed", items.len())
        }
        Kind::File => data.get("cert_cn").map_or_else(
            || "Not entered".into(),
            |cn| format!("Certificate with CN {cn}"),
        ),
        _ if v.is_empty() => "Not entered".into(),
        _ => v.to_string(),
    }
}

fn typed_display(f: &Field, typed: &FormInput) -> String {
    match f.kind {
        Kind::Secret | Kind::Json | Kind::File => "(not shown)".into(),
        Kind::Confirm(items) => format!("{} of {} confirmed", typed.all(f.key).len(), items.len()),
        Kind::Choice(opts) => typed
            .first(f.key)
            .map(|v| choice_label(opts, v))
            .unwrap_or_else(|| "Not entered".into()),
        _ => typed
            .first(f.key)
            .filter(|v| !v.trim().is_empty())
            .unwrap_or("Not entered")
            .to_string(),
    }
}

pub async fn save(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    Path((_, page_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    Submitted(input): Submitted,
) -> Result<Response> {
    let page = playbook::page(&page_id).ok_or(AppError::NotFound)?;
    if page.is_check() {
        return confirm_check(&state, &setup, &me).await;
    }
    let return_check = q.get("return").is_some_and(|v| v == "check");
    let later = input.first("_action") == Some("later");
    let version: i64 = input
        .first("_version")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            AppError::BadRequest("the form is missing its version; reload the page".into())
        })?;
    let render =
        |setup: &Setup, typed: Option<&FormInput>, errors: &[(&'static str, String)], version| {
            with_ctx(&state, setup, |ctx| {
                question(
                    setup,
                    page,
                    ctx,
                    Render {
                        me: &me,
                        typed,
                        errors,
                        saved_banner: false,
                        return_check,
                        conflict: None,
                        version,
                    },
                )
            })
        };
    let submitted = answers::submit(&*state, &setup, page, &input, version, &me.name, later)
        .await?
        .ok_or(AppError::NotFound)?;
    match submitted {
        Answered::CannotStartYet => {
            Ok(Redirect::to(&format!("/setups/{}", setup.id)).into_response())
        }
        Answered::Rejected(errors) => {
            let body = render(&setup, Some(&input), &errors, Some(version));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, body).into_response())
        }
        Answered::Saved {
            setup: current,
            failed: Some((field, message)),
            ..
        } => {
            let body = render(&current, None, &[(field, message)], None);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, body).into_response())
        }
        Answered::Saved {
            setup: updated,
            warnings,
            failed: None,
        } => {
            let apply_next = page.action == Some(Action::ApplyDestination)
                && !later
                && with_ctx(&state, &updated, |ctx| ctx.get("ds_clientid").is_some());
            // Warnings first: nothing goes to SAP before they were seen.
            let target = if warnings {
                format!(
                    "{}?saved=1{}",
                    page_href(&updated, page),
                    if return_check { "&return=check" } else { "" }
                )
            } else if apply_next {
                format!("/setups/{}/apply-destination", updated.id)
            } else if later {
                format!("/setups/{}", updated.id)
            } else {
                with_ctx(&state, &updated, |ctx| {
                    next_href(&updated, page, ctx, return_check)
                })
            };
            Ok(Redirect::to(&target).into_response())
        }
        Answered::Conflict(current) => {
            let rec = current.pages.get(page.id);
            let body = with_ctx(&state, &current, |ctx| {
                let rows = page
                    .fields
                    .iter()
                    .filter_map(|f| {
                        let theirs = rec
                            .map(|r| display(f, &r.data, ctx))
                            .unwrap_or_else(|| "Not entered".into());
                        let mine = typed_display(f, &input);
                        (theirs != mine).then(|| (f.label.to_string(), theirs, mine))
                    })
                    .collect();
                let conflict = ConflictView {
                    who: rec.map(|r| r.updated_by.clone()).unwrap_or_default(),
                    when: rec
                        .map(|r| fmt::date_time(r.updated_at))
                        .unwrap_or_default(),
                    rows,
                };
                question(
                    &current,
                    page,
                    ctx,
                    Render {
                        me: &me,
                        typed: Some(&input),
                        errors: &[],
                        saved_banner: false,
                        return_check,
                        conflict: Some(conflict),
                        version: rec.map(|r| r.version),
                    },
                )
            });
            Ok((StatusCode::CONFLICT, body).into_response())
        }
    }
}

fn check_page(
    state: &super::AppState,
    setup: &Setup,
    me: &User,
    error: Option<String>,
) -> Result<CheckPage> {
    with_ctx(state, setup, |ctx| {
        let all = playbook::statuses(setup, ctx);
        let sections = PAGES
            .iter()
            .filter(|p| !p.is_check())
            .map(|page| {
                let status = all[page.index()].clone();
                let key = page_cache::SectionKey::new(setup, page, status.label(), ctx.now);
                state.pages.section(key, || {
                    // Relative to /setups/{id}/pages/check: the same folder.
                    let change = |f: &Field| {
                        (status != PageStatus::CannotStartYet)
                            .then(|| format!("{}?return=check#f-{}", page.id, f.key))
                    };
                    let rows = answer_rows(page, setup, ctx)
                        .into_iter()
                        .map(|(field, label, value)| CheckRow {
                            change: field.and_then(change),
                            label,
                            value,
                        })
                        .collect();
                    CheckSection {
                        title: section_title(page),
                        status: status.label(),
                        status_css: status.css(),
                        rows,
                        warnings: warnings_of(setup.pages.get(page.id)),
                    }
                })
            })
            .collect::<Result<_>>()?;
        let check = PAGES.iter().find(|p| p.is_check());
        let completed = check.is_some() && all.last() == Some(&PageStatus::Completed);
        Ok(CheckPage {
            head: SetupHead::of(setup, me),
            can_edit: can(setup, me, Need::Edit),
            title: format!(
                "{}Step {} of {} — Check your answers — {}",
                if error.is_some() { "Error: " } else { "" },
                PAGES.len(),
                PAGES.len(),
                setup.name
            ),
            sections,
            error,
            completed,
        })
    })
}

async fn confirm_check(state: &super::AppState, setup: &Setup, me: &User) -> Result<Response> {
    let open: Vec<&str> = with_ctx(state, setup, |ctx| {
        PAGES
            .iter()
            .filter(|p| !p.is_check() && !playbook::page_status(p, setup, ctx).is_done())
            .map(|p| p.title)
            .collect()
    });
    if !open.is_empty() {
        let msg = format!("Complete these sections first: {}", open.join(", "));
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            check_page(state, setup, me, Some(msg))?,
        )
            .into_response());
    }
    let version = setup.pages.get(CHECK_PAGE).map_or(0, |p| p.version);
    state
        .store
        .save_page(
            &setup.id,
            PageWrite {
                page: CHECK_PAGE,
                data: BTreeMap::new(),
                basis: "",
                expected_version: version,
                user: &me.name,
                now: fmt::now(),
            },
        )
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Redirect::to(&format!("/setups/{}/next", setup.id)).into_response())
}

setup_page!(QuestionPage, CheckPage);
