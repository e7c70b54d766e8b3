//! The watch after handover: a setup's watch (on or off, interval, webhook,
//! its runs with what changed) and the overview of every watched setup.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::Result;
use super::form::Submitted;
use super::layout::Nav;
use super::{CurrentUser, Manager, Need, SetupHead, Viewer, can, setup_page};
use crate::fmt;
use crate::playbook::verify::{CHECKS, Check, Source, Verdict};
use crate::service::watch::{DEFAULT_INTERVAL, MIN_INTERVAL};
use crate::store::{Setup, User};

pub struct RunView {
    pub at: String,
    pub state: String,
    pub drift: Vec<String>,
    /// (what needs someone, the page that fixes it).
    pub failing: Vec<(String, String)>,
    /// Checks that passed (or were confirmed) of those run.
    pub passed: usize,
    pub counted: usize,
    /// Every check of the run: (title, verdict, reason).
    pub checks: Vec<(String, &'static str, String)>,
}

/// One run's bar in the chart of checks passed over time.
pub struct Bar {
    pub x: usize,
    pub y: usize,
    pub height: usize,
    pub state: String,
}

/// The chart's size: a bar per run, oldest on the left.
pub const CHART_RUNS: usize = 30;
const BAR: usize = 12;
pub const CHART_HEIGHT: usize = 60;

/// The bars of the latest runs (newest first in `runs`), oldest left; a bar
/// is as high as the share of its checks that passed.
fn chart(runs: &[RunView]) -> Vec<Bar> {
    runs.iter()
        .take(CHART_RUNS)
        .rev()
        .enumerate()
        .map(|(i, r)| {
            let height = (r.passed * CHART_HEIGHT)
                .checked_div(r.counted)
                .unwrap_or(0)
                .max(2);
            Bar {
                x: i * BAR,
                y: CHART_HEIGHT - height,
                height,
                state: r.state.clone(),
            }
        })
        .collect()
}

/// The chart in words, for screen readers and text browsers.
fn chart_text(runs: &[RunView]) -> String {
    let shown: Vec<&RunView> = runs.iter().take(CHART_RUNS).collect();
    match (shown.last(), shown.first()) {
        (Some(first), Some(last)) => format!(
            "Checks passed in the last {} runs: {} of {} on {} ({}), {} of {} on {} ({}).",
            shown.len(),
            first.passed,
            first.counted,
            first.at,
            first.state,
            last.passed,
            last.counted,
            last.at,
            last.state
        ),
        _ => "No run yet.".into(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "watch.html")]
pub struct WatchPage {
    pub title: String,
    pub head: SetupHead,
    pub watched: bool,
    pub state: String,
    pub minutes: i64,
    pub next_due: String,
    pub webhook: Option<String>,
    /// Whether `--watch-webhook` is told too (never shown: a secret).
    pub global_webhook: bool,
    pub emails: String,
    pub runs: Vec<RunView>,
    pub bars: Vec<Bar>,
    pub chart_text: String,
    pub chart_width: usize,
    pub chart_height: usize,
    /// What only a signed-in customer user can check (never repeated here).
    pub user_only: Vec<&'static str>,
    pub can_manage: bool,
    pub error: Option<String>,
}
setup_page!(WatchPage);

async fn page(
    state: &super::AppState,
    setup: &Setup,
    me: &User,
    error: Option<String>,
) -> Result<WatchPage> {
    // The runs first, then the watch's state: a run is recorded with its
    // state in one transaction, so the state shown is never older than the
    // newest run listed (read the other way round, a run recorded between
    // the two reads showed "healthy" under a stale "failing").
    let runs = state
        .store
        .watch_runs(&setup.id, 20)
        .await?
        .into_iter()
        .map(|r| {
            let checks: Vec<Check> = serde_json::from_str(&r.checks).unwrap_or_default();
            let run: Vec<&Check> = checks
                .iter()
                .filter(|c| c.verdict != Verdict::Skipped)
                .collect();
            RunView {
                passed: run
                    .iter()
                    .filter(|c| matches!(c.verdict, Verdict::Pass | Verdict::Confirmed))
                    .count(),
                counted: run.len(),
                checks: checks
                    .iter()
                    .map(|c| (c.title.clone(), c.verdict.label(), c.reason.clone()))
                    .collect(),
                at: fmt::date_time(r.at),
                state: r.state,
                drift: serde_json::from_str(&r.drift).unwrap_or_default(),
                failing: checks
                    .iter()
                    .filter(|c| crate::service::watch::needs_someone(c))
                    .map(|c| {
                        (
                            format!("{}: {}", c.title, c.reason),
                            format!("/setups/{}/pages/{}", setup.id, c.page),
                        )
                    })
                    .collect(),
            }
        })
        .collect::<Vec<RunView>>();
    let w = state.store.watch(&setup.id).await?;
    let bars = chart(&runs);
    Ok(WatchPage {
        chart_text: chart_text(&runs),
        chart_width: bars.len() * BAR,
        chart_height: CHART_HEIGHT,
        bars,
        user_only: CHECKS
            .iter()
            .filter(|c| c.source == Source::AsUser)
            .map(|c| c.title)
            .collect(),
        title: format!(
            "{}Watch — {}",
            if error.is_some() { "Error: " } else { "" },
            setup.name
        ),
        head: SetupHead::of(setup, me),
        watched: w.is_some(),
        state: w.as_ref().map_or("not watched".into(), |w| w.state.clone()),
        minutes: w.as_ref().map_or(DEFAULT_INTERVAL, |w| w.interval_secs) / 60,
        next_due: w
            .as_ref()
            .map_or(String::new(), |w| fmt::date_time(w.next_due)),
        webhook: w
            .as_ref()
            .and_then(|w| w.webhook.as_deref())
            .and_then(|c| state.store.mask(c)),
        global_webhook: state.watch_webhook.is_some(),
        emails: w
            .as_ref()
            .and_then(|w| w.emails.clone())
            .unwrap_or_default(),
        runs,
        can_manage: can(setup, me, Need::Manage),
        error,
    })
}

pub async fn show(
    State(state): State<super::State>,
    Viewer { setup, me, .. }: Viewer,
) -> Result<WatchPage> {
    page(&state, &setup, &me, None).await
}

/// Turn the watch on (or change it), off, or run it now: the owner's call.
pub async fn change(
    State(state): State<super::State>,
    Manager { setup, me, .. }: Manager,
    Submitted(input): Submitted,
) -> Result<Response> {
    let now = fmt::now();
    let here = format!("/setups/{}/watch", setup.id);
    match input.first("action") {
        Some("stop") => state.store.unwatch(&setup.id).await?,
        Some("run") => state.store.watch_now(&setup.id, now).await?,
        _ => {
            let minutes = input.first("minutes").unwrap_or("").trim();
            let Some(secs) = minutes
                .parse::<i64>()
                .ok()
                .map(|m| m * 60)
                .filter(|s| *s >= MIN_INTERVAL)
            else {
                let p = page(
                    &state,
                    &setup,
                    &me,
                    Some(format!(
                        "Enter the interval in minutes, at least {}",
                        MIN_INTERVAL / 60
                    )),
                )
                .await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
            };
            let webhook = input
                .first("webhook")
                .map(str::trim)
                .filter(|w| !w.is_empty());
            if let Some(w) = webhook
                && !w.starts_with("https://")
            {
                let p = page(
                    &state,
                    &setup,
                    &me,
                    Some(
                        "The webhook must be an https address (a Teams or Slack incoming webhook)"
                            .into(),
                    ),
                )
                .await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
            }
            let emails = match input
                .first("emails")
                .map(str::trim)
                .filter(|e| !e.is_empty())
            {
                None => None,
                Some(raw) => match crate::domain::parse_approvers(raw) {
                    Ok(c) => Some(
                        c.value
                            .into_iter()
                            .map(|a| a.email)
                            .collect::<Vec<_>>()
                            .join("\n"),
                    ),
                    Err(e) => {
                        let p = page(
                            &state,
                            &setup,
                            &me,
                            Some(format!("The e-mail addresses: {e}")),
                        )
                        .await?;
                        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
                    }
                },
            };
            state
                .store
                .set_watch(&setup.id, secs, webhook, emails.as_deref(), now)
                .await?;
        }
    }
    Ok(Redirect::to(&here).into_response())
}

pub struct OverviewRow {
    pub id: String,
    pub name: String,
    pub host: String,
    pub owner: String,
    pub state: String,
    pub last_run: String,
    pub since: String,
    rank: u8,
}

/// The overview's filters (`/watch?q=&owner=&state=`).
#[derive(serde::Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub state: String,
}

pub const STATES: &[&str] = &["failing", "warning", "unchecked", "healthy"];

#[derive(Template, WebTemplate)]
#[template(path = "watch_overview.html")]
pub struct Overview {
    pub title: String,
    pub nav: Nav,
    pub rows: Vec<OverviewRow>,
    /// How many watched setups the person can see, before the filters.
    pub watched: usize,
    pub owners: Vec<String>,
    pub states: &'static [&'static str],
    pub filters: Filters,
}

/// Every watched setup the signed-in user may see, what needs someone
/// first; filtered by customer (the setup's name or S/4HANA host), owner
/// and state.
pub async fn overview(
    State(state): State<super::State>,
    CurrentUser(me): CurrentUser,
    axum::extract::Query(filters): axum::extract::Query<Filters>,
) -> Result<Overview> {
    let names: std::collections::HashMap<i64, String> = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| (u.user.id, u.user.name))
        .collect();
    let q = filters.q.trim().to_lowercase();
    let (mut rows, mut owners, mut watched) = (Vec::new(), Vec::new(), 0);
    for w in state.store.watches().await? {
        let Some(setup) = state.store.setup_passing(&w.setup_id).await? else {
            continue;
        };
        if !can(&setup, &me, Need::View) {
            continue;
        }
        watched += 1;
        let owner = setup
            .owner_id
            .and_then(|o| names.get(&o).cloned())
            .unwrap_or_else(|| "nobody".into());
        if !owners.contains(&owner) {
            owners.push(owner.clone());
        }
        let host = crate::playbook::summarize(&setup).s4_host;
        if (!q.is_empty()
            && !setup.name.to_lowercase().contains(&q)
            && !host.to_lowercase().contains(&q))
            || (!filters.owner.is_empty() && filters.owner != owner)
            || (!filters.state.is_empty() && filters.state != w.state)
        {
            continue;
        }
        let rank = STATES
            .iter()
            .position(|s| *s == w.state)
            .unwrap_or(STATES.len()) as u8;
        rows.push(OverviewRow {
            id: setup.id.clone(),
            name: setup.name.clone(),
            host,
            owner,
            last_run: w.last_run.map_or("not checked yet".into(), fmt::date_time),
            since: w.changed_at.map_or(String::new(), fmt::date_time),
            state: w.state,
            rank,
        });
    }
    owners.sort();
    rows.sort_by(|a, b| (a.rank, &a.name).cmp(&(b.rank, &b.name)));
    Ok(Overview {
        title: "Watched integrations".into(),
        nav: Nav::of(&me),
        rows,
        watched,
        owners,
        states: STATES,
        filters,
    })
}

/// `GET /metrics` in Prometheus' text format, for a bearer of the
/// `--metrics-token` only (404 without the option, 401 without the token):
/// watched setups by state, watch runs, SAP calls, errors and time per service.
pub async fn metrics(
    State(state): State<super::State>,
    headers: axum::http::HeaderMap,
) -> Result<Response> {
    use sha2::Digest;
    let Some(token) = &state.metrics_token else {
        return Err(super::error::AppError::NotFound);
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Compared as digests: no early exit on the first wrong byte.
    if sha2::Sha256::digest(given.as_bytes()) != sha2::Sha256::digest(token.as_bytes()) {
        return Ok((
            StatusCode::UNAUTHORIZED,
            [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is required\n",
        )
            .into_response());
    }
    let mut by_state = std::collections::BTreeMap::from([
        ("failing", 0u64),
        ("healthy", 0),
        ("unchecked", 0),
        ("warning", 0),
    ]);
    for w in state.store.watches().await? {
        if let Some(n) = by_state.get_mut(w.state.as_str()) {
            *n += 1;
        }
    }
    let mut out = String::new();
    out.push_str("# HELP taskcenter_wizard_watched_setups Watched setups by the state of their last run.\n# TYPE taskcenter_wizard_watched_setups gauge\n");
    for (s, n) in &by_state {
        out.push_str(&format!(
            "taskcenter_wizard_watched_setups{{state=\"{s}\"}} {n}\n"
        ));
    }
    out.push_str(&format!(
        "# HELP taskcenter_wizard_watch_runs_total Watch runs recorded.\n# TYPE taskcenter_wizard_watch_runs_total counter\ntaskcenter_wizard_watch_runs_total {}\n",
        state.store.watch_run_count().await?
    ));
    out.push_str(&format!(
        "# HELP taskcenter_wizard_watch_sap_calls_in_flight_peak The most calls to SAP the watch had in flight at once (bounded at {}).\n# TYPE taskcenter_wizard_watch_sap_calls_in_flight_peak gauge\ntaskcenter_wizard_watch_sap_calls_in_flight_peak {}\n",
        crate::service::watch::CALLS_AT_ONCE,
        state.watch_calls.peak()
    ));
    let stats = state.sap.stats();
    for (name, help, kind, pick) in [
        (
            "taskcenter_wizard_sap_calls_total",
            "Calls to SAP since start, per service.",
            "counter",
            0usize,
        ),
        (
            "taskcenter_wizard_sap_call_errors_total",
            "Calls to SAP that failed or got an error status, per service.",
            "counter",
            1,
        ),
        (
            "taskcenter_wizard_sap_call_seconds_total",
            "Time spent in calls to SAP, per service.",
            "counter",
            2,
        ),
    ] {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (service, calls, errors, ms) in &stats {
            let v = match pick {
                0 => calls.to_string(),
                1 => errors.to_string(),
                _ => format!("{:.3}", *ms as f64 / 1000.0),
            };
            out.push_str(&format!("{name}{{service=\"{service}\"}} {v}\n"));
        }
    }
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}
