//! The handover: the report (HTML, Markdown), its summary, and what next.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::Response;

use super::downloads::{attachment, file_stem};
use super::error::Result;
use super::pages::{answer_rows, section_title};
use super::setups::with_ctx;
use super::verify::{CheckView, last_online, views};
use super::{SetupHead, Viewer, setup_page};
use crate::fmt;
use crate::playbook::verify::{self, Check, Verdict};
use crate::playbook::{self, PAGES};
use crate::store::{Setup, User};

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
            progress: format!("({done} of {total} steps)"),
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
    /// The customer's landscape, when it has more than this system.
    pub landscape: Option<super::customers::Picture>,
    pub customer_id: String,
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
    let systems = crate::service::landscape::systems_only(&state.store, &setup.customer_id).await?;
    Ok(ReportPage {
        landscape: (systems.len() > 1).then(|| super::customers::picture(&systems)),
        customer_id: setup.customer_id.clone(),
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
    if let Some(p) = &r.landscape {
        md.push_str(&format!(
            "\n## The customer's landscape\n\nDrawn on the customer's page in the wizard (/customers/{}).\n\n",
            r.customer_id
        ));
        for t in &p.text {
            md.push_str(&format!("- {}\n", md_cell(t)));
        }
    }
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

setup_page!(ReportPage, NextPage);

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
