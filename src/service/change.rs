//! Runs a remote change (`playbook::change::Flow`) for a setup: the read and
//! plan with their calls logged, then, for a confirmed plan only, the writes
//! in the background with progress, each write in the history, and the
//! answers the result fills in saved through the one save path.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{Deps, Jobs, answers, with_ctx};
use crate::fmt;
use crate::playbook::change::{self, Flow, Io, Plan, Progress};
use crate::sap::Calls;
use crate::store::Setup;

/// How a read or a run ended, for the flow's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ended {
    /// A plan was read; nothing was written.
    #[default]
    Planned,
    /// The confirmed plan was applied (perhaps with nothing to write).
    Applied,
    /// The remote system or the answers changed since the plan was shown.
    Stale,
    /// The remote system is still working; confirming again continues.
    StillRunning,
    /// Reading or writing failed; what was done before is listed.
    Failed,
    /// The result could not be saved on the setup's pages.
    NotSaved,
}

/// What a flow's page shows of a read or a run.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub ended: Ended,
    pub error: Option<String>,
    pub notice: Option<String>,
    /// The plan read (after a stale confirmation: the new one).
    pub plan: Option<Plan>,
    pub done: Vec<String>,
    pub failed: Vec<String>,
}

impl Outcome {
    fn planned(plan: Plan) -> Outcome {
        Outcome {
            plan: Some(plan),
            ..Outcome::default()
        }
    }
    pub fn failed(error: String) -> Outcome {
        Outcome {
            ended: Ended::Failed,
            error: Some(error),
            ..Outcome::default()
        }
    }
}

/// Background runs, one per setup and flow at a time.
pub type Runs = Jobs<Outcome>;

fn run_key<F: Flow>(setup: &str) -> String {
    format!("{setup}/{}", F::PAGE)
}

/// What a read gives: the wanted and the current state and the plan of the
/// two, or why not, in words.
pub type Reading<F> = Result<(<F as Flow>::Wanted, <F as Flow>::Current, Plan), String>;

/// Read the remote system (the calls logged on the flow's page). Writes
/// nothing. `Ok(Err)`: the answers lack something or the read failed, in words.
///
/// Boxed so that its `Send` is proven here, from the flow's declared bounds:
/// proving it at the handler trips rustc's higher-ranked lifetime limitation
/// (rust-lang/rust#100013) on the flow's session type.
pub fn read<'a, F: Flow>(
    d: &'a impl Deps,
    flow: &'a F,
    setup: &'a Setup,
    user: &'a str,
) -> Pin<Box<dyn Future<Output = anyhow::Result<Reading<F>>> + Send + 'a>> {
    Box::pin(async move {
        let calls = Calls::default();
        let result = match with_ctx(d.store(), setup, |ctx| flow.wanted(ctx)) {
            Ok(w) => change::read(flow, d.sap(), &calls, w)
                .await
                .map(|r| (r.wanted, r.current, r.plan)),
            Err(e) => Err(e),
        };
        d.store()
            .record_calls(&setup.id, F::PAGE, user, &calls.take())
            .await?;
        Ok(result)
    })
}

/// Read the remote system and build the plan. Writes nothing.
pub async fn plan<F: Flow>(
    d: &impl Deps,
    flow: &F,
    setup: &Setup,
    user: &str,
) -> anyhow::Result<Outcome> {
    let o = match read(d, flow, setup, user).await? {
        Ok((_, _, plan)) => Outcome::planned(plan),
        Err(e) => Outcome::failed(e),
    };
    if o.ended == Ended::Failed {
        record_outcome::<F>(d, setup, &o).await?;
    }
    Ok(o)
}

/// A flow whose result is its page's last SAP check records it there.
async fn record_outcome<F: Flow>(d: &impl Deps, setup: &Setup, o: &Outcome) -> anyhow::Result<()> {
    if !F::OUTCOME_ON_PAGE {
        return Ok(());
    }
    let (ok, message) = match (&o.error, &o.notice) {
        (Some(e), _) => (false, e.as_str()),
        (None, Some(n)) => (true, n.as_str()),
        (None, None) => return Ok(()),
    };
    d.store()
        .set_outcome(&setup.id, F::PAGE, ok, message, fmt::now())
        .await
}

const RUN_STARTED: &str = "Run started: applying the confirmed plan.";
const RUN_ENDED: &str = "Run ended:";

/// When a long run of this flow was started and never ended in this
/// process: the wizard stopped mid-run (a restart). `None` otherwise.
pub async fn interrupted<F: Flow>(d: &impl Deps, setup: &str) -> anyhow::Result<Option<i64>> {
    if !F::LONG || running::<F>(d, setup).is_some() {
        return Ok(None);
    }
    let last = d.store().audit(setup).await?.into_iter().find(|a| {
        a.page == F::SOURCE && (a.field == RUN_STARTED || a.field.starts_with(RUN_ENDED))
    });
    Ok(last.filter(|a| a.field == RUN_STARTED).map(|a| a.at))
}

/// The run of this flow for the setup: still going (its progress) or ended.
pub fn running<F: Flow>(d: &impl Deps, setup: &str) -> Option<Arc<super::Job<Outcome>>> {
    d.runs().get(&run_key::<F>(setup))
}

/// What a confirmation started.
pub enum Started {
    /// The run ended while the request waited.
    Ended(Arc<Outcome>),
    /// It goes on in the background (or one was already going): show progress.
    Running,
}

/// Apply the plan the consultant saw (`fingerprint`), never another one: the
/// remote system is read again and the writes run only if the plan is the
/// same. Runs in the background; waits up to `wait` for the result.
pub async fn apply<D: Deps, F: Flow + 'static>(
    d: Arc<D>,
    flow: F,
    setup: Arc<Setup>,
    user: String,
    fingerprint: String,
    wait: std::time::Duration,
) -> Started {
    let job = match d.runs().start(&run_key::<F>(&setup.id)) {
        Ok(job) => job,
        // One run at a time: the running one is shown.
        Err(_) => return Started::Running,
    };
    let run = {
        let job = job.clone();
        async move {
            if F::LONG
                && let Err(e) = d
                    .store()
                    .record_event(&setup.id, &user, F::SOURCE, RUN_STARTED, fmt::now())
                    .await
            {
                job.finish(Outcome::failed(format!(
                    "The wizard's database failed: {e:#}"
                )));
                return;
            }
            let calls = Calls::default();
            let outcome = confirmed(
                &*d,
                &flow,
                &setup,
                &user,
                &fingerprint,
                &calls,
                &job.progress,
            )
            .await;
            // Every exit keeps its call log, the failed ones too.
            let logged = d
                .store()
                .record_calls(&setup.id, F::PAGE, &user, &calls.take())
                .await;
            let outcome = match (outcome, logged) {
                (Ok(o), Ok(())) => o,
                (Err(e), _) => Outcome::failed(format!("The wizard's database failed: {e:#}")),
                (_, Err(e)) => Outcome::failed(format!("The calls could not be recorded: {e:#}")),
            };
            if F::LONG {
                let ended = format!("{RUN_ENDED} {:?}.", outcome.ended);
                // The run's result is shown either way; a lost line only
                // makes a later restart look like an interruption.
                let _ = d
                    .store()
                    .record_event(&setup.id, &user, F::SOURCE, &ended, fmt::now())
                    .await;
            }
            job.finish(outcome);
        }
    };
    job.ran_by(tokio::spawn(run).abort_handle());
    match job.wait(wait).await {
        Some(o) => Started::Ended(o),
        None => Started::Running,
    }
}

async fn confirmed<F: Flow>(
    d: &impl Deps,
    flow: &F,
    setup: &Setup,
    user: &str,
    fingerprint: &str,
    calls: &Calls,
    progress: &Progress,
) -> anyhow::Result<Outcome> {
    let store = d.store();
    let wanted = match with_ctx(store, setup, |ctx| flow.wanted(ctx)) {
        Ok(w) => w,
        Err(e) => return Ok(Outcome::failed(e)),
    };
    let read = match change::read(flow, d.sap(), calls, wanted).await {
        Ok(r) => r,
        Err(e) => return Ok(Outcome::failed(e)),
    };
    if !change::confirmed(&read.plan, Some(fingerprint)) {
        return Ok(Outcome {
            ended: Ended::Stale,
            error: Some(format!(
                "{} or the answers changed since the plan was shown. Check the new plan, then confirm it.",
                F::SYSTEM
            )),
            ..Outcome::planned(read.plan)
        });
    }
    if read.plan.blocked() {
        return Ok(Outcome {
            ended: Ended::Failed,
            error: Some("Something in the plan cannot be done; clear it as the plan says, then read the plan again.".into()),
            ..Outcome::planned(read.plan)
        });
    }
    let change::Read {
        session,
        mut wanted,
        current,
        plan,
    } = read;
    // What must be saved before the remote system sees it.
    let before = match flow.prepare(&wanted, &plan) {
        Ok(f) => f,
        Err(e) => return Ok(Outcome::failed(e)),
    };
    if !before.is_empty() {
        for f in &before {
            let now = store.setup(&setup.id).await?.ok_or_else(gone)?;
            if let Err(r) = answers::fill(store, &now, f, user)
                .await?
                .ok_or_else(gone)?
            {
                return Ok(Outcome {
                    ended: Ended::NotSaved,
                    error: Some(format!("{} Nothing was written.", r.message())),
                    ..Outcome::planned(plan)
                });
            }
        }
        let now = store.setup(&setup.id).await?.ok_or_else(gone)?;
        wanted = match with_ctx(store, &now, |ctx| flow.wanted(ctx)) {
            Ok(w) => w,
            Err(e) => return Ok(Outcome::failed(e)),
        };
    }
    progress.set_total(plan.writes());
    let io = Io {
        session: &session,
        calls,
        wanted: &wanted,
        progress,
    };
    let report = flow.apply(io, current).await;
    for line in &report.done {
        store
            .record_event(&setup.id, user, F::SOURCE, line, fmt::now())
            .await?;
    }
    let mut out = Outcome {
        done: report.done.clone(),
        failed: report.failed.clone(),
        plan: Some(plan),
        ..Outcome::default()
    };
    if let Some(msg) = report.still_running {
        out.ended = Ended::StillRunning;
        out.notice = Some(msg);
        return Ok(out);
    }
    // Read back: the plan against what the remote system holds now is empty.
    if report.failed.is_empty() && F::READ_BACK {
        match flow.read(io).await {
            Ok(now) => out.failed = change::differences(&flow.plan(&wanted, &now)),
            Err(e) => out.failed = vec![format!("Reading back failed: {e}")],
        }
    }
    if !out.failed.is_empty() {
        out.ended = Ended::Failed;
        out.error = Some(flow.failure(&report.done, &out.failed));
        return Ok(out);
    }
    let mut unfilled = Vec::new();
    if let Some(output) = &report.output {
        for f in flow.fills(&wanted, output) {
            let now = store.setup(&setup.id).await?.ok_or_else(gone)?;
            if let Err(r) = answers::fill(store, &now, &f, user)
                .await?
                .ok_or_else(gone)?
            {
                let step = crate::playbook::page(f.page).map_or(f.page, |p| p.step);
                unfilled.push(format!(
                    "Step {step} could not be filled in: {}",
                    r.message()
                ));
            }
        }
    }
    match flow.finished(&wanted, report.output.as_ref(), &report.done, &unfilled) {
        Ok(notice) => {
            out.ended = Ended::Applied;
            out.notice = Some(notice);
        }
        Err(error) => {
            out.ended = Ended::NotSaved;
            out.error = Some(error);
        }
    }
    Ok(out)
}

fn gone() -> anyhow::Error {
    anyhow::anyhow!("the setup was removed while the change ran")
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::playbook::change::{FieldRow, Item, Report, Todo};
    use crate::playbook::{Ctx, STORE};
    use crate::sap::{SapClient, SapConfig};
    use crate::store::{CacheLimits, Cipher, Store};

    /// A remote system of named values, and a flow that wants three of them.
    #[derive(Default)]
    struct Remote {
        values: Mutex<Vec<(String, String)>>,
        /// Writes fail from this name on (once), as a fault half-way would.
        fail_at: Mutex<Option<String>>,
        /// A write to this name answers success but does not stick (once).
        lost: Mutex<Option<String>>,
        writes: Mutex<usize>,
    }

    #[derive(Clone)]
    struct Fake(Arc<Remote>);

    const WANTED: [(&str, &str); 3] = [("a", "1"), ("b", "2"), ("c", "3")];

    impl Flow for Fake {
        type Wanted = ();
        type Session<'a> = ();
        type Current = Vec<(String, String)>;
        type Output = ();
        const PAGE: &'static str = crate::playbook::ids::COMM_USER;
        const SYSTEM: &'static str = "The fake";
        const SOURCE: &'static str = "Fake API";
        const READ_BACK: bool = true;
        fn wanted(&self, _ctx: &Ctx) -> Result<(), String> {
            Ok(())
        }
        async fn connect(&self, _: &SapClient, _: &Calls, _: &()) -> Result<(), String> {
            Ok(())
        }
        async fn read(&self, _: Io<'_, '_, Self>) -> Result<Self::Current, String> {
            Ok(self.0.values.lock().unwrap().clone())
        }
        fn plan(&self, _: &(), c: &Self::Current) -> Plan {
            Plan::of(
                WANTED
                    .iter()
                    .map(|(k, v)| match c.iter().find(|(n, _)| n == k) {
                        Some((_, now)) => {
                            Item::compared("Value", *k, vec![FieldRow::new("v", now, *v)])
                        }
                        None => Item::new("Value", *k, Todo::Create),
                    })
                    .collect(),
            )
        }
        async fn apply(&self, io: Io<'_, '_, Self>, c: Self::Current) -> Report<()> {
            let p = io.progress;
            let mut r = Report::new();
            for (k, v) in WANTED {
                if c.iter().any(|(n, now)| n == k && now == v) {
                    continue;
                }
                if self.0.fail_at.lock().unwrap().take_if(|f| f == k).is_some() {
                    r.failed.push(format!("Writing {k} failed."));
                    return r;
                }
                *self.0.writes.lock().unwrap() += 1;
                r.done.push(format!("Wrote {k}."));
                p.step();
                if self.0.lost.lock().unwrap().take_if(|l| l == k).is_some() {
                    continue;
                }
                let mut values = self.0.values.lock().unwrap();
                values.retain(|(n, _)| n != k);
                values.push((k.into(), v.into()));
            }
            r.output = Some(());
            r
        }
    }

    struct TestDeps {
        store: Store,
        sap: SapClient,
        runs: Runs,
    }

    impl Deps for TestDeps {
        fn store(&self) -> &Store {
            &self.store
        }
        fn sap(&self) -> &SapClient {
            &self.sap
        }
        fn runs(&self) -> &Runs {
            &self.runs
        }
    }

    async fn deps(name: &str) -> (Arc<TestDeps>, Arc<Setup>) {
        let dir = std::env::temp_dir().join(format!("tcw-change-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let limits = CacheLimits {
            setups: 10,
            idle_secs: 60,
        };
        let store = Store::open(
            &dir.join("db"),
            Cipher::generate().unwrap().0,
            STORE,
            limits,
        )
        .await
        .unwrap();
        let now = fmt::now();
        let ada = store.test_user("ada", now).await;
        let setup = store.create_setup("Engine", ada.id, now).await.unwrap();
        let cfg = SapConfig::new(Duration::from_secs(1), Duration::from_secs(1), &[], None);
        let d = TestDeps {
            store,
            sap: SapClient::new(cfg).unwrap(),
            runs: Runs::default(),
        };
        (Arc::new(d), setup)
    }

    async fn confirm(
        d: &Arc<TestDeps>,
        flow: &Fake,
        setup: &Arc<Setup>,
        fp: String,
    ) -> Arc<Outcome> {
        let started = apply(
            d.clone(),
            flow.clone(),
            setup.clone(),
            "ada".into(),
            fp,
            Duration::from_secs(10),
        )
        .await;
        match started {
            Started::Ended(o) => o,
            Started::Running => panic!("a fake run ends at once"),
        }
    }

    #[tokio::test]
    async fn only_the_plan_shown_is_applied_and_a_failure_half_way_continues() {
        let (d, setup) = deps("engine").await;
        let remote = Arc::new(Remote::default());
        remote
            .values
            .lock()
            .unwrap()
            .push(("a".into(), "old".into()));
        let flow = Fake(remote.clone());

        let shown = plan(&*d, &flow, &setup, "ada").await.unwrap();
        let first = shown.plan.clone().unwrap();
        assert_eq!(first.writes(), 3, "a to change, b and c to create");
        assert_eq!(*remote.writes.lock().unwrap(), 0, "a plan writes nothing");

        // Changed behind the wizard's back: the confirmation is stale.
        remote.values.lock().unwrap()[0].1 = "other".into();
        let stale = confirm(&d, &flow, &setup, first.fingerprint()).await;
        assert_eq!(stale.ended, Ended::Stale);
        assert_eq!(*remote.writes.lock().unwrap(), 0, "nothing written");
        let fresh = stale.plan.clone().unwrap();
        assert_ne!(fresh.fingerprint(), first.fingerprint());

        // A fault at b: a is written and recorded, b and c are not.
        *remote.fail_at.lock().unwrap() = Some("b".into());
        let failed = confirm(&d, &flow, &setup, fresh.fingerprint()).await;
        assert_eq!(failed.ended, Ended::Failed);
        assert_eq!(failed.done, ["Wrote a."]);
        assert!(
            failed
                .error
                .as_deref()
                .unwrap_or("")
                .starts_with("Writing b failed.")
        );
        let history = d.store.audit(&setup.id).await.unwrap();
        assert_eq!(
            history.len(),
            1,
            "the write that happened is in the history"
        );

        // Again, from what is there now: only b and c.
        let again = plan(&*d, &flow, &setup, "ada").await.unwrap().plan.unwrap();
        assert_eq!(again.writes(), 2);
        let done = confirm(&d, &flow, &setup, again.fingerprint()).await;
        assert_eq!(done.ended, Ended::Applied);
        assert_eq!(done.done, ["Wrote b.", "Wrote c."]);
        assert_eq!(*remote.writes.lock().unwrap(), 3, "each value written once");
        let last = plan(&*d, &flow, &setup, "ada").await.unwrap().plan.unwrap();
        assert!(last.nothing_to_do());
        let nothing = confirm(&d, &flow, &setup, last.fingerprint()).await;
        assert_eq!(
            nothing.notice.as_deref(),
            Some("The fake already had everything: nothing was written.")
        );
        assert_eq!(*remote.writes.lock().unwrap(), 3);

        // A write SAP accepted but does not hold is caught by the read back.
        remote.values.lock().unwrap().retain(|(n, _)| n != "c");
        *remote.lost.lock().unwrap() = Some("c".into());
        let lost = plan(&*d, &flow, &setup, "ada").await.unwrap().plan.unwrap();
        let o = confirm(&d, &flow, &setup, lost.fingerprint()).await;
        assert_eq!(o.ended, Ended::Failed);
        assert_eq!(o.failed, ["Read back, Value c is not there."]);
        let _ = std::fs::remove_dir_all(
            std::env::temp_dir().join(format!("tcw-change-engine-{}", std::process::id())),
        );
    }
}
