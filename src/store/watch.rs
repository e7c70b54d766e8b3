//! The watch after handover: which setups are watched, when each is due
//! (in the database, so a restart keeps the schedule), the claim of a due
//! run, and the runs with their checks and drift.

use super::Store;

/// The columns of `Watch`, in one place for every query that reads it.
macro_rules! watch_columns {
    () => {
        "setup_id, interval_secs, next_due, webhook, state, changed_at, last_run, emails, told_at"
    };
}

/// A watched setup as the scheduler and the pages see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Watch {
    pub setup_id: String,
    pub interval_secs: i64,
    pub next_due: i64,
    /// The webhook URL, encrypted (a secret: it lets anyone post).
    pub webhook: Option<String>,
    /// `unchecked`, `healthy`, `warning` or `failing`.
    pub state: String,
    pub changed_at: Option<i64>,
    pub last_run: Option<i64>,
    /// Who gets an e-mail when the state changes: addresses, one per line.
    pub emails: Option<String>,
    /// When anyone was last told (a change of state, or the daily digest).
    pub told_at: Option<i64>,
}

/// One run: when, the state it came to, its checks and drift (JSON).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WatchRun {
    pub at: i64,
    pub state: String,
    pub checks: String,
    pub drift: String,
}

/// Runs kept per setup (the page shows the newest 20, the chart 30), and
/// how long the watch's SAP calls stay in the call log.
pub const RUNS_KEPT: i64 = 200;
pub const CALLS_KEPT_SECS: i64 = 30 * 24 * 3600;

/// How long a claimed run may take before another instance takes it over
/// (its instance crashed): the claim moves the due time this far ahead.
pub const TAKE_OVER_SECS: i64 = 600;

impl Store {
    /// Watch a setup (or change its interval and webhook); due at once.
    pub async fn set_watch(
        &self,
        setup_id: &str,
        interval_secs: i64,
        webhook: Option<&str>,
        emails: Option<&str>,
        now: i64,
    ) -> anyhow::Result<()> {
        let webhook = match webhook {
            Some(w) => Some(self.cipher.encrypt(w)?),
            None => None,
        };
        sqlx::query(
            "INSERT INTO watches (setup_id, interval_secs, next_due, webhook, state, emails) VALUES ($1, $2, $3, $4, 'unchecked', $5)
             ON CONFLICT (setup_id) DO UPDATE SET interval_secs = excluded.interval_secs, next_due = excluded.next_due,
             webhook = COALESCE(excluded.webhook, watches.webhook), emails = excluded.emails",
        )
        .bind(setup_id)
        .bind(interval_secs)
        .bind(now)
        .bind(webhook)
        .bind(emails)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn unwatch(&self, setup_id: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM watches WHERE setup_id = $1")
            .bind(setup_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn watch(&self, setup_id: &str) -> anyhow::Result<Option<Watch>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            watch_columns!(),
            " FROM watches WHERE setup_id = $1"
        ))
        .bind(setup_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn watches(&self) -> anyhow::Result<Vec<Watch>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            watch_columns!(),
            " FROM watches ORDER BY setup_id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Due now: run it at the next tick.
    pub async fn watch_now(&self, setup_id: &str, now: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE watches SET next_due = $2 WHERE setup_id = $1")
            .bind(setup_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Claim up to `n` due runs. Each is claimed by one instance only: on
    /// PostgreSQL the rows are locked with `FOR UPDATE SKIP LOCKED`, so a
    /// second instance passes them over, and the claim moves their due time
    /// `TAKE_OVER_SECS` ahead, so that a crashed instance's run is taken
    /// over then; SQLite has one server per file (the lock file).
    pub async fn claim_due(&self, now: i64, n: i64) -> anyhow::Result<Vec<Watch>> {
        let mut tx = self.pool.begin().await?;
        const DUE: &str = concat!(
            "SELECT ",
            watch_columns!(),
            " FROM watches
             WHERE next_due <= $1 ORDER BY next_due LIMIT $2"
        );
        const DUE_LOCKED: &str = concat!(
            "SELECT ",
            watch_columns!(),
            " FROM watches
             WHERE next_due <= $1 ORDER BY next_due LIMIT $2 FOR UPDATE SKIP LOCKED"
        );
        let due: Vec<Watch> = sqlx::query_as(if self.shared { DUE_LOCKED } else { DUE })
            .bind(now)
            .bind(n)
            .fetch_all(&mut *tx)
            .await?;
        for w in &due {
            sqlx::query("UPDATE watches SET next_due = $2 WHERE setup_id = $1")
                .bind(&w.setup_id)
                .bind(now + TAKE_OVER_SECS)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(due)
    }

    /// Record a run and schedule the next one.
    pub async fn finish_watch_run(
        &self,
        setup_id: &str,
        run: &WatchRun,
        changed: bool,
        told: bool,
        next_due: i64,
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO watch_runs (setup_id, at, state, checks, drift) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(setup_id)
        .bind(run.at)
        .bind(&run.state)
        .bind(&run.checks)
        .bind(&run.drift)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE watches SET state = $2, last_run = $3, next_due = $4,
             changed_at = CASE WHEN $5 = 1 THEN $3 ELSE changed_at END,
             told_at = CASE WHEN $6 = 1 THEN $3 ELSE told_at END WHERE setup_id = $1",
        )
        .bind(setup_id)
        .bind(&run.state)
        .bind(run.at)
        .bind(next_due)
        .bind(i64::from(changed))
        .bind(i64::from(told))
        .execute(&mut *tx)
        .await?;
        // The wizard's own records are bounded: the newest runs, and the
        // watch's calls of the last weeks.
        sqlx::query(
            "DELETE FROM watch_runs WHERE setup_id = $1 AND id NOT IN
             (SELECT id FROM watch_runs WHERE setup_id = $1 ORDER BY at DESC, id DESC LIMIT $2)",
        )
        .bind(setup_id)
        .bind(RUNS_KEPT)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM calls WHERE setup_id = $1 AND page = 'watch' AND at < $2")
            .bind(setup_id)
            .bind(run.at - CALLS_KEPT_SECS)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// How many watch runs were recorded, for `/metrics`.
    pub async fn watch_run_count(&self) -> anyhow::Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM watch_runs")
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    /// The latest runs of a setup, newest first.
    pub async fn watch_runs(&self, setup_id: &str, n: i64) -> anyhow::Result<Vec<WatchRun>> {
        Ok(sqlx::query_as(
            "SELECT at, state, checks, drift FROM watch_runs WHERE setup_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(setup_id)
        .bind(n)
        .fetch_all(&self.pool)
        .await?)
    }
}
