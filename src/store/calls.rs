//! The call log of SAP calls and the last Verify result of each setup.

use super::*;

impl Store {
    pub async fn record_calls(
        &self,
        setup_id: &str,
        page: &str,
        user: &str,
        calls: &[crate::sap::CallRecord],
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        for c in calls {
            sqlx::query("INSERT INTO calls (setup_id, page, user_name, at, method, url, status, duration_ms, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(setup_id)
                .bind(page)
                .bind(user)
                .bind(c.at)
                .bind(&c.method)
                .bind(&c.url)
                .bind(c.status.map(i64::from))
                .bind(c.duration_ms)
                .bind(&c.outcome)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The call log of a setup, newest first: (page, user, record).
    pub async fn calls(
        &self,
        setup_id: &str,
    ) -> anyhow::Result<Vec<(String, String, crate::sap::CallRecord)>> {
        let rows: Vec<CallRow> = sqlx::query_as(
            "SELECT page, user_name, at, method, url, status, duration_ms, outcome FROM calls WHERE setup_id = $1 ORDER BY at DESC, id DESC LIMIT 1000",
        )
        .bind(setup_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(page, user, at, method, url, status, duration_ms, outcome)| {
                    let status = status.and_then(|s| u16::try_from(s).ok());
                    (
                        page,
                        user,
                        crate::sap::CallRecord {
                            at,
                            method,
                            url,
                            status,
                            duration_ms,
                            outcome,
                        },
                    )
                },
            )
            .collect())
    }

    pub async fn save_verification(
        &self,
        setup_id: &str,
        user: &str,
        at: i64,
        results: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO verifications (setup_id, at, user_name, results) VALUES ($1, $2, $3, $4)
             ON CONFLICT (setup_id) DO UPDATE SET at = excluded.at, user_name = excluded.user_name, results = excluded.results",
        )
        .bind(setup_id)
        .bind(at)
        .bind(user)
        .bind(results)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest Verify run: (at, user, results JSON).
    pub async fn verification(
        &self,
        setup_id: &str,
    ) -> anyhow::Result<Option<(i64, String, String)>> {
        Ok(
            sqlx::query_as("SELECT at, user_name, results FROM verifications WHERE setup_id = $1")
                .bind(setup_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
