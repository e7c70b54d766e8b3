//! Verify, the handover report, destination files, and export / import.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::{CurrentUser, Editor, Nav, Need, SetupHead, Viewer, can, setup_page};
use super::error::{AppError, Result};
use super::form::Submitted;
use super::pages::{answer_rows, section_title};
use super::setups::with_ctx;
use crate::handover::{self, Export, ExportPage};
use crate::playbook::verify::{self, Check, Verdict};
use crate::playbook::{self, PAGES};
use crate::sap::Calls;
use crate::store::{Setup, Stored, User};
use crate::{domain, fmt};

pub struct CheckView {
    pub title: String,
    /// SAP's raw answer, for the "advanced" detail.
    pub detail: Option<String>,
    pub verdict: &'static str,
    pub css: &'static str,
    pub reason: String,
    pub href: String,
    pub page: &'static str,
}

fn views(setup: &Setup, checks: &[Check]) -> Vec<CheckView> {
    checks
        .iter()
        .map(|c| CheckView {
            title: c.title.clone(),
            detail: c.detail.clone(),
            verdict: c.verdict.label(),
            css: c.verdict.css(),
            reason: c.reason.clone(),
            href: format!("/setups/{}/pages/{}", setup.id, c.page),
            page: verify::page_title(&c.page),
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "verify.html")]
pub struct VerifyPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub offline: Vec<CheckView>,
    pub online: Vec<CheckView>,
    pub online_at: Option<String>,
    pub counts: String,
    pub can_edit: bool,
    /// The customer user signed in for this session, if any.
    pub customer_user: Option<String>,
}

async fn last_online(
    state: &super::AppState,
    id: &str,
) -> Result<Option<(i64, String, Vec<Check>)>> {
    Ok(state
        .store
        .verification(id)
        .await?
        .and_then(|(at, user, json)| {
            serde_json::from_str::<Vec<Check>>(&json).ok().map(|c| {
                (
                    at,
                    user,
                    c.into_iter()
                        .filter(|c| c.id.starts_with("online-"))
                        .collect(),
                )
            })
        }))
}

async fn verify_page(
    state: &super::AppState,
    setup: &Setup,
    me: &User,
    headers: &axum::http::HeaderMap,
) -> Result<VerifyPage> {
    let offline = with_ctx(state, setup, |ctx| verify::offline(ctx));
    let online = last_online(state, &setup.id).await?;
    let all: Vec<&Check> = offline
        .iter()
        .chain(online.iter().flat_map(|o| o.2.iter()))
        .collect();
    let n = |v: Verdict| all.iter().filter(|c| c.verdict == v).count();
    Ok(VerifyPage {
        title: format!("Verify — {}", setup.name),
        head: SetupHead::of(setup, me),
        counts: format!(
            "{} passed, {} confirmed by hand, {} warnings, {} failed, {} not confirmed, {} not checked",
            n(Verdict::Pass),
            n(Verdict::Confirmed),
            n(Verdict::Warning),
            n(Verdict::Fail),
            n(Verdict::NotConfirmed),
            n(Verdict::Skipped)
        ),
        offline: views(setup, &offline),
        online: online
            .as_ref()
            .map(|o| views(setup, &o.2))
            .unwrap_or_default(),
        online_at: online.map(|o| format!("{} by {}", fmt::date_time(o.0), o.1)),
        can_edit: can(setup, me, Need::Edit),
        customer_user: super::customer_user::for_verify(state, headers, &setup.id).map(|u| u.who),
    })
}

pub async fn verify_form(
    State(state): State<super::State>,
    Viewer { setup, me, .. }: Viewer,
    headers: axum::http::HeaderMap,
) -> Result<VerifyPage> {
    verify_page(&state, &setup, &me, &headers).await
}

/// Run every check, the online ones concurrently, and keep the result.
pub async fn verify_run(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    headers: axum::http::HeaderMap,
) -> Result<VerifyPage> {
    let id = setup.id.as_str();
    let (offline, mut inputs) = with_ctx(&state, &setup, |ctx| {
        (verify::offline(ctx), verify::online_inputs(ctx))
    });
    inputs.user = super::customer_user::for_verify(&state, &headers, id);
    let calls = Calls::default();
    let online = verify::online(inputs, &state.sap, &calls).await;
    state
        .store
        .record_calls(id, "verify", &me.name, &calls.take())
        .await?;
    let all: Vec<Check> = offline.into_iter().chain(online).collect();
    state
        .store
        .save_verification(
            id,
            &me.name,
            fmt::now(),
            &serde_json::to_string(&all).map_err(anyhow::Error::from)?,
        )
        .await?;
    verify_page(&state, &setup, &me, &headers).await
}

fn attachment(body: Vec<u8>, content_type: &'static str, file: &str) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// Step 6's Global User IDs as S/4HANA's business user upload takes them.
pub async fn global_user_ids(
    State(state): State<super::State>,
    Viewer { setup, .. }: Viewer,
) -> Result<Response> {
    let rows: Vec<(String, String)> = with_ctx(&state, &setup, |ctx| {
        ctx.get("approvers")
            .and_then(|a| domain::parse_approvers(a).ok())
            .map(|a| {
                a.value
                    .into_iter()
                    .filter_map(|x| x.global_user_id.map(|id| (x.email, id)))
                    .collect()
            })
            .unwrap_or_default()
    });
    if rows.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(attachment(
        handover::global_user_ids_csv(&rows),
        "text/csv; charset=utf-8",
        "global-user-ids.csv",
    ))
}

/// The trust certificate the setup holds (fetched or uploaded), as S/4HANA's
/// "Upload Signing Certificate" takes it: PEM, or DER as `.cer`.
pub async fn trust_certificate(
    State(state): State<super::State>,
    Viewer { setup, .. }: Viewer,
    Path((_, file)): Path<(String, String)>,
) -> Result<Response> {
    let pem = with_ctx(&state, &setup, |ctx| {
        ctx.get("certificate").map(str::to_string)
    })
    .filter(|p| p.contains("BEGIN CERTIFICATE"))
    .ok_or(AppError::NotFound)?;
    let stem = format!("{}-trust", file_stem(&setup));
    match file.as_str() {
        "trust.pem" => Ok(attachment(
            pem.into_bytes(),
            "application/x-pem-file",
            &format!("{stem}.pem"),
        )),
        "trust.cer" => {
            use base64::Engine;
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(body.trim())
                .map_err(|_| AppError::NotFound)?;
            Ok(attachment(
                der,
                "application/pkix-cert",
                &format!("{stem}.cer"),
            ))
        }
        _ => Err(AppError::NotFound),
    }
}

fn file_stem(setup: &Setup) -> String {
    let s: String = setup
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() { "setup".into() } else { s }
}

fn destination_of(state: &super::AppState, setup: &Setup) -> Result<Vec<(&'static str, String)>> {
    if !setup.pages.contains_key("step-4") {
        return Err(AppError::NotFound);
    }
    Ok(with_ctx(state, setup, |ctx| {
        playbook::destination(ctx, false)
    }))
}

pub async fn properties(
    State(state): State<super::State>,
    Viewer { setup, .. }: Viewer,
) -> Result<Response> {
    let props = destination_of(&state, &setup)?;
    let heading = format!(
        "Destination for SAP Task Center: {}\nImport in the BTP cockpit: Connectivity > Destinations > Create > From File.\nGenerated by taskcenter-wizard on {}",
        setup.name,
        fmt::date_time(fmt::now())
    );
    let name = props.first().map(|(_, v)| v.clone()).unwrap_or_default();
    Ok(attachment(
        handover::properties(&props, &heading),
        "text/plain; charset=ISO-8859-1",
        &name,
    ))
}

pub async fn destination_json(
    State(state): State<super::State>,
    Viewer { setup, .. }: Viewer,
) -> Result<Response> {
    let props = destination_of(&state, &setup)?;
    let name = props.first().map(|(_, v)| v.clone()).unwrap_or_default();
    Ok(attachment(
        handover::destination_json(&props).into_bytes(),
        "application/json",
        &format!("{name}.json"),
    ))
}

/// The one screen a handover opens with: where the setup stands, what is
/// open, what needs a look, and the dates that will need action.
pub struct Summary {
    pub status: &'static str,
    pub status_css: &'static str,
    pub progress: String,
    pub open: Vec<String>,
    pub attention: Vec<String>,
    pub dates: Vec<String>,
    pub calls: String,
}

fn summary(
    state: &super::AppState,
    setup: &Setup,
    checks: &[Check],
    calls: &[(String, String, crate::sap::CallRecord)],
) -> Summary {
    with_ctx(state, setup, |ctx| {
        let statuses = playbook::statuses(setup, ctx);
        let (done, total, overall) = playbook::progress_of(setup, &statuses);
        let open = PAGES
            .iter()
            .zip(&statuses)
            .filter(|(p, s)| !p.is_check() && !s.is_done())
            .map(|(p, s)| format!("{}: {}", section_title(p), s.label()))
            .collect();
        let attention = checks
            .iter()
            .filter(|c| {
                matches!(
                    c.verdict,
                    Verdict::Fail | Verdict::Warning | Verdict::NotConfirmed
                )
            })
            .map(|c| format!("{} ({}): {}", c.title, c.verdict.label(), c.reason))
            .collect();
        let mut dates = Vec::new();
        if let Some(at) = ctx
            .get("cert_not_after")
            .and_then(|v| v.parse::<i64>().ok())
        {
            let days = (at - ctx.now) / 86_400;
            dates.push(if days < 0 {
                format!(
                    "The trust certificate expired on {}: renew it and upload it to S/4HANA again now.",
                    fmt::date(at)
                )
            } else {
                format!(
                    "The trust certificate expires on {} (in {days} days): renew it before then and upload the new one to the S/4HANA communication system (the SAML issuer stays the same).",
                    fmt::date(at)
                )
            });
        }
        if ctx.get("comm_user").is_some() {
            dates.push("The communication user's password has no expiry in S/4HANA; when the customer's policy rotates it, change it in the destination (tokenServicePassword) at the same time.".into());
        }
        if ctx.get("sk_clientid").is_some() {
            dates.push("Service keys do not expire; a rotated Task Center or Destination key must be pasted again (steps 3.1 and 3.2).".into());
        }
        Summary {
            status: overall.label(),
            status_css: overall.css(),
            progress: format!("{done} of {total} steps completed"),
            open,
            attention,
            dates,
            calls: calls_in_words(calls),
        }
    })
}

/// The call log in a sentence: how many, and what the failures meant.
fn calls_in_words(calls: &[(String, String, crate::sap::CallRecord)]) -> String {
    let failed: Vec<&crate::sap::CallRecord> = calls
        .iter()
        .map(|c| &c.2)
        .filter(|c| c.outcome != "ok")
        .collect();
    if failed.is_empty() {
        return format!("{} calls to SAP, all answered as expected.", calls.len());
    }
    let count =
        |f: &dyn Fn(&crate::sap::CallRecord) -> bool| failed.iter().filter(|c| f(c)).count();
    let kinds = [
        (
            count(&|c| c.status == Some(401)),
            "refused the credentials (401): check the key or password",
        ),
        (
            count(&|c| c.status == Some(403)),
            "were forbidden (403): the call needs a customer user's token or a role (Verify > Sign in as a customer user)",
        ),
        (count(&|c| c.status == Some(404)), "found nothing (404)"),
        (
            count(&|c| c.status.is_some_and(|s| s >= 500)),
            "met a problem at SAP (5xx): try again later",
        ),
        (
            count(&|c| c.status.is_none()),
            "got no answer (timeout or network)",
        ),
    ];
    let other = failed.len() - kinds.iter().map(|(n, _)| n).sum::<usize>();
    let mut why: Vec<String> = kinds
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, words)| format!("{n} {words}"))
        .collect();
    if other > 0 {
        why.push(format!("{other} other"));
    }
    format!(
        "{} calls to SAP, {} not OK: {}.",
        calls.len(),
        failed.len(),
        why.join("; ")
    )
}

pub struct ReportSection {
    pub title: String,
    pub rows: Vec<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "report.html")]
pub struct ReportPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub generated: String,
    pub sections: Vec<ReportSection>,
    pub confirmations: Vec<(String, String, String)>,
    pub checks: Vec<CheckView>,
    pub checks_at: Option<String>,
    pub calls: Vec<(String, String, String, String)>,
    pub calls_summary: String,
    pub summary: Summary,
}

async fn report(state: &super::AppState, setup: &Setup, me: &User) -> Result<ReportPage> {
    let (sections, confirmations, offline) = with_ctx(state, setup, |ctx| {
        let sections = PAGES
            .iter()
            .filter(|p| !p.is_check())
            .map(|p| {
                // Confirmations are listed with who and when in their own table.
                let rows = answer_rows(p, setup, ctx)
                    .into_iter()
                    .filter(|(f, _, _)| {
                        !f.is_some_and(|f| matches!(f.kind, playbook::Kind::Confirm(_)))
                    })
                    .map(|(_, label, value)| (label, value))
                    .collect();
                ReportSection {
                    title: section_title(p),
                    rows,
                }
            })
            .collect::<Vec<_>>();
        let confirmations = verify::confirmations(ctx)
            .into_iter()
            .map(|(page, label, stamp)| {
                (page, label, stamp.unwrap_or_else(|| "Not confirmed".into()))
            })
            .collect::<Vec<_>>();
        (sections, confirmations, verify::offline(ctx))
    });
    let online = last_online(state, &setup.id).await?;
    let checks_at = online
        .as_ref()
        .map(|o| format!("online checks {} by {}", fmt::date_time(o.0), o.1));
    let all: Vec<Check> = offline
        .into_iter()
        .chain(online.map(|o| o.2).unwrap_or_default())
        .collect();
    let calls = state.store.calls(&setup.id).await?;
    let summary = summary(state, setup, &all, &calls);
    Ok(ReportPage {
        title: format!("Handover report — {}", setup.name),
        head: SetupHead::of(setup, me),
        generated: fmt::date_time(fmt::now()),
        sections,
        confirmations,
        checks: views(setup, &all),
        checks_at,
        calls_summary: summary.calls.clone(),
        summary,
        calls: calls
            .into_iter()
            .take(50)
            .map(|(_, who, c)| {
                (
                    fmt::date_time(c.at),
                    format!("{} {}", c.method, c.url),
                    c.status.map_or("—".into(), |s| s.to_string()),
                    format!("{} ({who})", c.outcome),
                )
            })
            .collect(),
    })
}

pub async fn report_page(
    State(state): State<super::State>,
    Viewer { setup, me, .. }: Viewer,
) -> Result<ReportPage> {
    report(&state, &setup, &me).await
}

#[derive(Template, WebTemplate)]
#[template(path = "next.html")]
pub struct NextPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub summary: Summary,
    pub verified: bool,
}

/// What next, after check-your-answers: where the setup stands, and the
/// handover steps in order.
pub async fn next_page(
    State(state): State<super::State>,
    Viewer { setup, me, .. }: Viewer,
) -> Result<NextPage> {
    let offline = with_ctx(&state, &setup, |ctx| verify::offline(ctx));
    let online = last_online(&state, &setup.id).await?;
    let verified = online.is_some();
    let all: Vec<Check> = offline
        .into_iter()
        .chain(online.map(|o| o.2).unwrap_or_default())
        .collect();
    let calls = state.store.calls(&setup.id).await?;
    Ok(NextPage {
        title: format!("What next — {}", setup.name),
        head: SetupHead::of(&setup, &me),
        summary: summary(&state, &setup, &all, &calls),
        verified,
    })
}

/// A Markdown table cell: nothing in it can be read as HTML or break the table.
fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '`' => out.push_str("\\`"),
            '\r' => {}
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

pub async fn report_markdown(
    State(state): State<super::State>,
    Viewer { setup, me, .. }: Viewer,
) -> Result<Response> {
    let r = report(&state, &setup, &me).await?;
    let mut md = format!(
        "# Handover: SAP Task Center and S/4HANA Cloud — {}\n\nGenerated {} by taskcenter-wizard. Secrets are masked.\n",
        md_cell(&r.setup_name),
        r.generated
    );
    let sum = &r.summary;
    md.push_str(&format!(
        "\n## Summary\n\n**{}**: {}.\n",
        sum.status, sum.progress
    ));
    for (title, items) in [
        ("Open", &sum.open),
        ("Needs a look", &sum.attention),
        ("Dates and rotation", &sum.dates),
    ] {
        if !items.is_empty() {
            md.push_str(&format!("\n{title}:\n\n"));
            for i in items.iter() {
                md.push_str(&format!("- {}\n", md_cell(i)));
            }
        }
    }
    md.push_str(&format!("\n{}\n", sum.calls));
    for s in &r.sections {
        md.push_str(&format!(
            "\n## {}\n\n| Item | Value |\n|---|---|\n",
            s.title
        ));
        for (k, v) in &s.rows {
            md.push_str(&format!("| {} | {} |\n", md_cell(k), md_cell(v)));
        }
    }
    md.push_str("\n## Confirmations\n\n| Step | Confirmation | Who, when |\n|---|---|---|\n");
    for (p, l, w) in &r.confirmations {
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            md_cell(p),
            md_cell(l),
            md_cell(w)
        ));
    }
    md.push_str(&format!(
        "\n## Verification{}\n\n| Check | Result | Reason |\n|---|---|---|\n",
        r.checks_at
            .as_ref()
            .map(|a| format!(" ({a})"))
            .unwrap_or_default()
    ));
    for c in &r.checks {
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            md_cell(&c.title),
            c.verdict,
            md_cell(&c.reason)
        ));
    }
    md.push_str(&format!("\n## Calls to SAP\n\n{}\n", r.calls_summary));
    for (when, req, status, outcome) in &r.calls {
        md.push_str(&format!(
            "- {when} {} {status} {}\n",
            md_cell(req),
            md_cell(outcome)
        ));
    }
    Ok(attachment(
        md.into_bytes(),
        "text/markdown; charset=utf-8",
        &format!("{}-handover.md", file_stem(&setup)),
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "export.html")]
pub struct ExportForm {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub errors: Vec<(&'static str, String)>,
    pub include: bool,
    /// Only the owner and administrators may take the secrets out.
    pub can_secrets: bool,
}

impl ExportForm {
    fn new(setup: &Setup, me: &User, errors: Vec<(&'static str, String)>, include: bool) -> Self {
        ExportForm {
            title: format!(
                "{}Export — {}",
                if errors.is_empty() { "" } else { "Error: " },
                setup.name
            ),
            head: SetupHead::of(setup, me),
            errors,
            include,
            can_secrets: can(setup, me, Need::Manage),
        }
    }
}

pub async fn export_form(Viewer { setup, me, .. }: Viewer) -> ExportForm {
    ExportForm::new(&setup, &me, Vec::new(), false)
}

pub async fn export(
    State(state): State<super::State>,
    Viewer { setup, me, .. }: Viewer,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Submitted(input): Submitted,
) -> Result<Response> {
    let include = input.first("include_secrets") == Some("yes");
    let passphrase = input.first("passphrase").unwrap_or("").to_string();
    if include {
        if !can(&setup, &me, Need::Manage) {
            tracing::warn!(target: "security", setup = %setup.id, user = %me.name, "export with secrets refused: not owner or administrator");
            return Err(AppError::Forbidden(
                "Only the setup's owner or an administrator can export its secrets. Export it without secrets, or ask the owner.".into(),
            ));
        }
        let mut errors = Vec::new();
        if passphrase.chars().count() < 12 {
            errors.push((
                "passphrase",
                "Enter a passphrase of at least 12 characters to encrypt the secrets".to_string(),
            ));
        } else if input.first("confirm") != Some(passphrase.as_str()) {
            errors.push((
                "passphrase",
                "The two passphrases do not match. Type the same passphrase twice".to_string(),
            ));
        }
        let password = input.first("password").unwrap_or("");
        if password.is_empty() {
            errors.push((
                "password",
                "Enter your own password to export the secrets".to_string(),
            ));
        } else if errors.is_empty()
            && super::auth::check_password(&state, &me.name, password, &peer)
                .await?
                .is_none_or(|u| u.id != me.id)
        {
            errors.push((
                "password",
                "Your password is not right. Enter the password you sign in with".to_string(),
            ));
        }
        if !errors.is_empty() {
            let page = ExportForm::new(&setup, &me, errors, include);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    }
    let mut pages = BTreeMap::new();
    let mut secrets: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (page, rec) in &setup.pages {
        let mut data = BTreeMap::new();
        for (k, v) in &rec.data {
            if playbook::is_secret_key(k) {
                if include && let Some(plain) = state.store.reveal(v) {
                    secrets
                        .entry(page.clone())
                        .or_default()
                        .insert(k.clone(), plain);
                }
            } else {
                data.insert(k.clone(), v.clone());
            }
        }
        pages.insert(
            page.clone(),
            ExportPage {
                data,
                basis: rec.basis.clone(),
            },
        );
    }
    let sealed = if include {
        Some(crate::store::hash_pool(move || handover::seal(&secrets, &passphrase)).await??)
    } else {
        None
    };
    let what = if include {
        "with secrets (encrypted with a passphrase)"
    } else {
        "without secrets"
    };
    state
        .store
        .record_event(&setup.id, &me.name, "Export", what, fmt::now())
        .await?;
    if include {
        tracing::warn!(target: "security", setup = %setup.id, user = %me.name, "setup exported with secrets");
    }
    let export = Export {
        format: handover::EXPORT_FORMAT.into(),
        name: setup.name.clone(),
        exported_at: fmt::now(),
        pages,
        secrets: sealed,
    };
    let body = serde_json::to_vec_pretty(&export).map_err(anyhow::Error::from)?;
    Ok(attachment(
        body,
        "application/json",
        &format!("{}-setup.json", file_stem(&setup)),
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "import.html")]
pub struct ImportForm {
    pub title: String,
    pub nav: Nav,
    pub errors: Vec<(&'static str, String)>,
}

pub async fn import_form(CurrentUser(me): CurrentUser) -> ImportForm {
    ImportForm {
        title: "Import a setup".into(),
        nav: Nav::of(&me),
        errors: Vec::new(),
    }
}

pub async fn import(
    State(state): State<super::State>,
    CurrentUser(me): CurrentUser,
    Submitted(input): Submitted,
) -> Result<Response> {
    let fail = |field: &'static str, e: String| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ImportForm {
                title: "Error: Import a setup".into(),
                nav: Nav::of(&me),
                errors: vec![(field, e)],
            },
        )
            .into_response()
    };
    let Some(bytes) = input.file("file") else {
        return Ok(fail(
            "file",
            "Choose the exported setup file (.json)".into(),
        ));
    };
    let export = match handover::parse_export(bytes) {
        Ok(e) => e,
        Err(e) => return Ok(fail("file", format!("The file cannot be imported: {e:#}"))),
    };
    let passphrase = input.first("passphrase").unwrap_or("").to_string();
    let mut secrets = match (export.secrets, passphrase.is_empty()) {
        (Some(sealed), false) => {
            match crate::store::hash_pool(move || handover::open(&sealed, &passphrase)).await? {
                Ok(s) => s,
                Err(e) => return Ok(fail("passphrase", e)),
            }
        }
        _ => BTreeMap::new(),
    };
    if let Some(unknown) = export.pages.keys().find(|p| playbook::page(p).is_none()) {
        return Ok(fail(
            "file",
            format!("The file has a page \"{unknown}\" this wizard does not know."),
        ));
    }
    let source = input
        .file_name("file")
        .map(|f| f.chars().filter(|c| !c.is_control()).take(100).collect())
        .unwrap_or_else(|| "an export".to_string());
    // Every value goes through the same parsers as typed answers, page by
    // page in the procedure's order, so derived checks see earlier pages.
    // Files from before the pages' current layout: answers to their pages.
    let mut exported: BTreeMap<String, BTreeMap<String, String>> = export
        .pages
        .into_iter()
        .map(|(page, p)| (page, p.data))
        .collect();
    playbook::layout::relayout(&mut exported);
    playbook::layout::relayout(&mut secrets);
    let mut pages = BTreeMap::new();
    let checked: std::result::Result<(), String> = (|| {
        let reveal = |_: &str| None;
        let mut ctx = playbook::Ctx::empty(&reveal, fmt::now());
        for page in PAGES {
            let Some(p) = exported.remove(page.id) else {
                continue;
            };
            let plain: BTreeMap<String, String> = p
                .into_iter()
                .filter(|(k, _)| !playbook::is_secret_key(k))
                .collect();
            let mut data = playbook::import_page(page, plain, &mut ctx, &source)?;
            for (k, v) in secrets.get(page.id).cloned().unwrap_or_default() {
                if playbook::is_secret_key(&k) {
                    ctx.set(&k, &v);
                    data.insert(k, Stored::Secret(v));
                }
            }
            pages.insert(page.id.to_string(), (data, playbook::basis(page, &ctx)));
        }
        Ok(())
    })();
    if let Err(e) = checked {
        return Ok(fail("file", format!("The file cannot be imported: {e}")));
    }
    let name = domain::bounded_text(&export.name, "setup name", 100)
        .map(|c| c.value)
        .unwrap_or_else(|_| "Imported setup".into());
    let setup = state
        .store
        .import_setup(
            &format!("{name} (imported)"),
            me.id,
            &me.name,
            pages,
            fmt::now(),
        )
        .await?;
    Ok(Redirect::to(&format!("/setups/{}", setup.id)).into_response())
}

setup_page!(VerifyPage, ReportPage, ExportForm, NextPage);

#[cfg(test)]
mod tests {
    use super::calls_in_words;
    use crate::sap::CallRecord;

    fn call(status: Option<u16>, outcome: &str) -> (String, String, CallRecord) {
        let c = CallRecord {
            at: 0,
            method: "GET".into(),
            url: "https://x".into(),
            status,
            duration_ms: 1,
            outcome: outcome.into(),
        };
        ("page".into(), "who".into(), c)
    }

    #[test]
    fn the_call_log_is_told_in_words() {
        assert_eq!(
            calls_in_words(&[call(Some(200), "ok")]),
            "1 calls to SAP, all answered as expected."
        );
        let words = calls_in_words(&[
            call(Some(200), "ok"),
            call(Some(403), "forbidden"),
            call(Some(403), "forbidden"),
            call(None, "timeout"),
            call(Some(409), "conflict"),
        ]);
        assert!(words.starts_with("5 calls to SAP, 4 not OK: "), "{words}");
        assert!(
            words.contains("2 were forbidden (403): the call needs a customer user's token"),
            "{words}"
        );
        assert!(
            words.contains("1 got no answer") && words.contains("1 other"),
            "{words}"
        );
    }
}
