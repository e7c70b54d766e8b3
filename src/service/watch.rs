//! The watch after handover (issue 22): each watched setup's checks that
//! need no user token (every offline check and Verify's online ones), run on
//! its schedule in the background, at most `AT_ONCE` setups at a time; the
//! state, what changed since the last run (drift, with when it was first
//! seen), and a notification when the state changes.

use std::sync::Weak;
use std::time::Duration;

use serde_json::json;

use super::Deps;
use crate::fmt;
use crate::playbook::verify::{Check, Verdict};
use crate::sap::{Auth, Calls, Req, Service};
use crate::store::watch::{Watch, WatchRun};

/// The watch's SMTP connection and sender (lettre: TLS as the URL says).
pub struct Mailer {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    pub fn new(url: &str, from: &str) -> anyhow::Result<Mailer> {
        Ok(Mailer {
            transport: lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
                .map_err(|e| anyhow::anyhow!("--smtp-url: {e}"))?
                .build(),
            from: from
                .parse()
                .map_err(|e| anyhow::anyhow!("--smtp-from: {e}"))?,
        })
    }
}

/// A watch's interval at the least, and by default (issue 22).
pub const MIN_INTERVAL: i64 = 15 * 60;
pub const DEFAULT_INTERVAL: i64 = 24 * 3600;
/// Setups checked at once, and the watch's calls to SAP in flight at most
/// across them (each run's checks go out together, as Verify's do).
pub const AT_ONCE: i64 = 8;
pub const CALLS_AT_ONCE: usize = 8;

/// The state a run comes to: a failing check fails it, a warning or a
/// confirmation not given warns; checks not run (a user's) do not count.
pub fn state_of(checks: &[Check]) -> &'static str {
    if checks.iter().any(|c| c.verdict == Verdict::Fail) {
        "failing"
    } else if checks.iter().any(needs_someone) {
        "warning"
    } else {
        "healthy"
    }
}

/// Whether a check keeps a run from being healthy (what its page lists).
pub fn needs_someone(c: &Check) -> bool {
    matches!(
        c.verdict,
        Verdict::Fail | Verdict::Warning | Verdict::NotConfirmed
    )
}

/// What changed since the previous run, a sentence per check, naming when
/// it was first seen (between the two runs).
pub fn drift(before: Option<(i64, &[Check])>, now: i64, checks: &[Check]) -> Vec<String> {
    let Some((then, old)) = before else {
        return Vec::new();
    };
    checks
        .iter()
        .filter_map(|c| {
            let was = old.iter().find(|o| o.id == c.id)?;
            (was.verdict != c.verdict).then(|| {
                format!(
                    "{}: {} → {}, first seen between {} and {}. {}",
                    c.title,
                    was.verdict.label(),
                    c.verdict.label(),
                    fmt::date_time(then),
                    fmt::date_time(now),
                    c.reason
                )
            })
        })
        .collect()
}

/// The next due time: the interval on, shifted by up to a tenth of it per
/// setup, so that watches made together do not all run together.
fn next_due(w: &Watch, now: i64) -> i64 {
    use sha2::Digest;
    let h = sha2::Sha256::digest(w.setup_id.as_bytes());
    let spread = (w.interval_secs / 10).max(1);
    now + w.interval_secs + i64::from(h[0]) * spread / 255
}

/// Run one claimed watch and record it.
pub async fn run_one(d: &impl Deps, w: &Watch, now: i64) -> anyhow::Result<()> {
    let store = d.store();
    let Some(setup) = store.setup_passing(&w.setup_id).await? else {
        return store.unwatch(&w.setup_id).await;
    };
    // No user token: the watch never has one (tokens are never stored).
    let calls = match d.watch_calls() {
        Some(b) => Calls::bounded(b.clone()),
        None => Calls::default(),
    };
    let checks = super::verify::run(d, &setup, None, "watch", "watch", calls).await?;
    let state = state_of(&checks);
    let last = store.watch_runs(&setup.id, 1).await?;
    let before: Option<(i64, Vec<Check>)> = last
        .first()
        .and_then(|r| serde_json::from_str(&r.checks).ok().map(|c| (r.at, c)));
    let drift = drift(
        before.as_ref().map(|(at, c)| (*at, c.as_slice())),
        now,
        &checks,
    );
    let changed = state != w.state;
    let dates = super::with_ctx(store, &setup, |ctx| {
        crate::handover::dates_ahead(&setup.id, &setup.name, |k| {
            ctx.get(k).and_then(|v| v.parse::<i64>().ok())
        })
    });
    let tell = match what_to_tell(w, state, now) {
        Tell::Nothing => crate::handover::reminder_due(&dates, w.last_run, now)
            .map_or(Tell::Nothing, Tell::Reminder),
        t => t,
    };
    let run = WatchRun {
        at: now,
        state: state.to_string(),
        checks: serde_json::to_string(&checks)?,
        drift: serde_json::to_string(&drift)?,
    };
    store
        .finish_watch_run(
            &setup.id,
            &run,
            changed,
            tell != Tell::Nothing,
            next_due(w, now),
        )
        .await?;
    let news = match tell {
        Tell::Nothing => return Ok(()),
        Tell::Change => News {
            subject: format!("Task Center integration {}: {state}", setup.name),
            text: format!(
                "The Task Center integration {} went from {} to {state}.\n\n{}",
                setup.name,
                w.state,
                if drift.is_empty() {
                    "No check changed its verdict; see the page.".to_string()
                } else {
                    drift.join("\n")
                }
            ),
            lines: drift,
        },
        Tell::Reminder(line) => News {
            subject: format!(
                "Task Center integration {}: {state}, a date ahead",
                setup.name
            ),
            text: format!(
                "{line}\n\nThe Task Center integration {} is {state}; its dates ahead are in its calendar file.",
                setup.name
            ),
            lines: vec![line],
        },
        Tell::Digest => {
            let still: Vec<String> = checks
                .iter()
                .filter(|c| needs_someone(c))
                .map(|c| format!("{}: {}", c.title, c.verdict.label()))
                .collect();
            News {
                subject: format!(
                    "Task Center integration {}: still {state} (daily digest)",
                    setup.name
                ),
                text: format!(
                    "The Task Center integration {} is still {state}, since {}. Still needs someone:\n\n{}",
                    setup.name,
                    w.changed_at.map_or("its first run".into(), fmt::date_time),
                    still.join("\n")
                ),
                lines: still,
            }
        }
    };
    let own = w.webhook.as_deref().and_then(|c| store.reveal(c));
    let global = d.watch_webhook().map(str::to_string);
    for url in own
        .iter()
        .chain(global.iter().filter(|g| own.as_ref() != Some(*g)))
    {
        notify(d, &setup.id, &setup.name, url, &w.state, state, &news).await;
    }
    if let (Some(m), Some(to)) = (d.mailer(), w.emails.as_deref()) {
        mail(m, &setup.id, to, &news).await;
    }
    Ok(())
}

/// How long a state that stays bad waits before it is told again.
pub const DIGEST_SECS: i64 = 24 * 3600;

#[derive(Debug, PartialEq, Eq)]
pub enum Tell {
    Nothing,
    /// The state changed: told at once (a first healthy run is not news).
    Change,
    /// Still failing a day after anyone was last told.
    Digest,
    /// An expiry's 60-, 30- or 7-day mark passed since the last run.
    Reminder(String),
}

/// What a run that came to `state` tells the webhook and the e-mails.
pub fn what_to_tell(w: &Watch, state: &str, now: i64) -> Tell {
    if state != w.state {
        if w.state == "unchecked" && state == "healthy" {
            Tell::Nothing
        } else {
            Tell::Change
        }
    } else if state == "failing" && now - w.told_at.or(w.changed_at).unwrap_or(0) >= DIGEST_SECS {
        Tell::Digest
    } else {
        Tell::Nothing
    }
}

/// What a notification says: the setup, its state and what changed or still
/// needs someone, never a secret.
struct News {
    subject: String,
    text: String,
    lines: Vec<String>,
}

/// The e-mail: one message to each address.
async fn mail(m: &Mailer, id: &str, to: &str, news: &News) {
    use lettre::AsyncTransport;
    let body = format!("{}\n\nIts watch page: /setups/{id}/watch\n", news.text);
    for addr in to.lines().map(str::trim).filter(|a| !a.is_empty()) {
        let Ok(rcpt) = addr.parse::<lettre::message::Mailbox>() else {
            tracing::warn!(setup = %id, "a watch's e-mail address is not one");
            continue;
        };
        let msg = lettre::Message::builder()
            .from(m.from.clone())
            .to(rcpt)
            .subject(news.subject.clone())
            .body(body.clone());
        match msg {
            Ok(msg) => {
                if let Err(e) = m.transport.send(msg).await {
                    tracing::warn!(setup = %id, error = %e, "the watch's e-mail could not be sent");
                }
            }
            Err(e) => {
                tracing::warn!(setup = %id, error = %e, "the watch's e-mail could not be built")
            }
        }
    }
}

/// A webhook's message (Teams' and Slack's incoming webhooks read `text`).
async fn notify(d: &impl Deps, id: &str, name: &str, url: &str, was: &str, now: &str, news: &News) {
    let body = json!({
        "text": format!("{}. {}", news.subject, news.lines.join(" ")),
        "setup": id, "name": name, "previous": was, "state": now, "drift": news.lines,
        "digest": was == now,
    });
    let req = Req {
        service: Service::Webhook,
        method: reqwest::Method::POST,
        url: url.to_string(),
        auth: Auth::None,
        headers: Vec::new(),
        form: None,
        json: Some(&body),
        accept: "application/json",
    };
    let calls = Calls::default();
    match d.sap().send(&calls, req).await {
        Ok(r) if r.ok() => {}
        Ok(r) => {
            tracing::warn!(setup = %id, status = r.status, "the watch's webhook refused the notification")
        }
        Err(e) => {
            tracing::warn!(setup = %id, error = %e.explain(), "the watch's webhook could not be reached")
        }
    }
    let _ = d
        .store()
        .record_calls(id, "watch", "watch", &calls.take())
        .await;
}

/// The scheduler: up to `AT_ONCE` runs in flight; as one ends, the next due
/// watch is claimed, so a long round goes on without a pause; with nothing
/// due, it looks again every `tick`. Ends with the application.
pub async fn schedule<D: Deps>(deps: Weak<D>, tick: Duration) {
    let mut running = tokio::task::JoinSet::new();
    loop {
        let Some(d) = deps.upgrade() else {
            running.abort_all();
            return;
        };
        let room = AT_ONCE - running.len() as i64;
        if room > 0 {
            match d.store().claim_due(fmt::now(), room).await {
                Ok(due) => {
                    for w in due {
                        let d = d.clone();
                        running.spawn(async move {
                            if let Err(e) = run_one(&*d, &w, fmt::now()).await {
                                tracing::warn!(setup = %w.setup_id, error = %e, "a watch run failed");
                            }
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the watch could not read what is due"),
            }
        }
        drop(d);
        tokio::select! {
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = tokio::time::sleep(tick) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, verdict: Verdict) -> Check {
        Check {
            id: id.into(),
            title: id.to_uppercase(),
            verdict,
            reason: format!("{id} says why"),
            page: "step-4".into(),
            detail: None,
        }
    }

    #[test]
    fn a_change_is_told_at_once_and_a_state_that_stays_bad_once_a_day() {
        let w = |state: &str, told_at: Option<i64>| Watch {
            setup_id: "s".into(),
            interval_secs: MIN_INTERVAL,
            next_due: 0,
            webhook: None,
            state: state.into(),
            changed_at: Some(1_000),
            last_run: Some(1_000),
            emails: None,
            told_at,
        };
        let day = DIGEST_SECS;
        assert_eq!(
            what_to_tell(&w("unchecked", None), "healthy", 1),
            Tell::Nothing
        );
        assert_eq!(
            what_to_tell(&w("unchecked", None), "failing", 1),
            Tell::Change
        );
        assert_eq!(
            what_to_tell(&w("healthy", None), "warning", 1),
            Tell::Change
        );
        assert_eq!(
            what_to_tell(&w("failing", None), "healthy", 1),
            Tell::Change
        );
        let told = Some(5_000);
        assert_eq!(
            what_to_tell(&w("failing", told), "failing", 5_000 + day - 1),
            Tell::Nothing,
            "a repeat waits a day"
        );
        assert_eq!(
            what_to_tell(&w("failing", told), "failing", 5_000 + day),
            Tell::Digest
        );
        assert_eq!(
            what_to_tell(&w("failing", None), "failing", 1_000 + day),
            Tell::Digest,
            "told when it changed, before told_at was kept"
        );
        assert_eq!(
            what_to_tell(&w("healthy", told), "healthy", 5_000 + 9 * day),
            Tell::Nothing,
            "healthy is never repeated"
        );
        assert_eq!(
            what_to_tell(&w("warning", told), "warning", 5_000 + 9 * day),
            Tell::Nothing,
            "a warning is told again at its dates' marks, not daily"
        );
    }

    #[test]
    fn the_state_follows_the_worst_check_and_drift_names_what_changed_and_when() {
        let ok = [check("a", Verdict::Pass), check("b", Verdict::Skipped)];
        assert_eq!(state_of(&ok), "healthy", "a check not run does not count");
        let warn = [check("a", Verdict::Warning), check("b", Verdict::Pass)];
        assert_eq!(state_of(&warn), "warning");
        let bad = [check("a", Verdict::Fail), check("b", Verdict::Warning)];
        assert_eq!(state_of(&bad), "failing");
        assert!(
            drift(None, 1, &bad).is_empty(),
            "a first run has nothing to compare"
        );
        let d = drift(Some((0, &ok)), 86_400, &bad);
        assert_eq!(d.len(), 2);
        assert!(
            d[0].starts_with("A: Pass → Fail, first seen between 1970-01-01")
                && d[0].contains("1970-01-02")
                && d[0].ends_with("a says why"),
            "{}",
            d[0]
        );
    }
}
