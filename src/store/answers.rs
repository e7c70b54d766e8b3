//! Answers: the one write of a page (versioned, conflicts refused), the
//! outcome of a page's SAP call, and re-encrypting secrets with a new key.

use super::*;

impl Store {
    /// Re-encrypt every secret under `next` in one transaction. Fails without
    /// changing anything if any secret cannot be read with the current key.
    pub async fn rotate_key(&self, next: &Cipher) -> anyhow::Result<usize> {
        let _w = self.write.lock().await;
        let mut tx = self.begin_write().await?;
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT setup_id, page, data FROM answers")
                .fetch_all(&mut *tx)
                .await?;
        let mut count = 0;
        for (setup_id, page, data) in rows {
            let mut map: BTreeMap<String, String> = serde_json::from_str(&data)?;
            let mut changed = false;
            for (key, value) in map.iter_mut() {
                if secrets::is_ciphertext(value) {
                    let plain = self
                        .cipher
                        .decrypt(value)
                        .with_context(|| format!("secret {key} of {setup_id}/{page} does not decrypt with the current key"))?;
                    *value = next.encrypt(&plain)?;
                    changed = true;
                    count += 1;
                }
            }
            if changed {
                sqlx::query("UPDATE answers SET data = $1 WHERE setup_id = $2 AND page = $3")
                    .bind(serde_json::to_string(&map)?)
                    .bind(&setup_id)
                    .bind(&page)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(count)
    }

    /// Store the outcome of a page's SAP check (no version change: answers are untouched).
    pub async fn set_outcome(
        &self,
        setup_id: &str,
        page: &str,
        ok: bool,
        message: &str,
        at: i64,
    ) -> anyhow::Result<()> {
        let _w = self.write.lock().await;
        let Some(current) = self.current_locked(setup_id).await? else {
            return Ok(());
        };
        let (problem, note) = if ok {
            (None, Some(message))
        } else {
            (Some(message), None)
        };
        sqlx::query("UPDATE answers SET problem = $1, checked_note = $2, checked_at = $3 WHERE setup_id = $4 AND page = $5")
            .bind(problem)
            .bind(note)
            .bind(at)
            .bind(setup_id)
            .bind(page)
            .execute(&self.pool)
            .await?;
        let mut next = (*current).clone();
        if let Some(p) = next.pages.get_mut(page) {
            p.problem = problem.map(str::to_string);
            p.checked_note = note.map(str::to_string);
            p.checked_at = Some(at);
        }
        let mut conn = self.pool.acquire().await?;
        next.rev = self.write_derived(&mut conn, &next).await?;
        self.put(next)?;
        Ok(())
    }

    /// Save one page's answers if nobody saved it since `w.expected_version`.
    pub async fn save_page(
        &self,
        setup_id: &str,
        w: PageWrite<'_>,
    ) -> anyhow::Result<Option<SaveOutcome>> {
        let PageWrite {
            page,
            data,
            basis,
            expected_version,
            user,
            now,
        } = w;
        let w = self.write.lock().await;
        let Some(current) = self.current_locked(setup_id).await? else {
            return Ok(None);
        };
        let saved_version = current.pages.get(page).map_or(0, |p| p.version);
        if saved_version != expected_version {
            return Ok(Some(SaveOutcome::Conflict(current)));
        }
        let plain = self.seal(data)?;
        let json = serde_json::to_string(&plain)?;
        let version = saved_version + 1;
        let mut tx = self.begin_write().await?;
        let written = sqlx::query(
            "INSERT INTO answers (setup_id, page, data, version, basis, problem, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)
             ON CONFLICT (setup_id, page) DO UPDATE SET
               data = excluded.data, version = excluded.version, basis = excluded.basis,
               problem = NULL, checked_note = NULL, checked_at = NULL,
               updated_at = excluded.updated_at, updated_by = excluded.updated_by
             WHERE answers.version = $8",
        )
        .bind(setup_id)
        .bind(page)
        .bind(&json)
        .bind(version)
        .bind(basis)
        .bind(now)
        .bind(user)
        .bind(saved_version)
        .execute(&mut *tx)
        .await?;
        if written.rows_affected() != 1 {
            // Another process wrote the file behind our back: reload and report.
            tx.rollback().await?;
            if let Ok(mut c) = self.cache.write() {
                c.remove(setup_id);
            }
            let fresh = self.current_locked(setup_id).await?;
            drop(w);
            return Ok(fresh.map(SaveOutcome::Conflict));
        }
        sqlx::query("UPDATE setups SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(setup_id)
            .execute(&mut *tx)
            .await?;
        let before = current.pages.get(page).map(|p| &p.data);
        for field in changed_keys(before, &plain) {
            sqlx::query(
                "INSERT INTO audit (setup_id, user_name, page, field, at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(setup_id)
            .bind(user)
            .bind(page)
            .bind(field)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let mut next = (*current).clone();
        next.updated_at = now;
        next.pages.insert(
            page.to_string(),
            PageRecord {
                data: plain,
                version,
                basis: basis.to_string(),
                problem: None,
                checked_note: None,
                checked_at: None,
                updated_at: now,
                updated_by: user.to_string(),
            },
        );
        next.rev = self.write_derived(&mut tx, &next).await?;
        tx.commit().await?;
        let saved = self.put(next)?;
        drop(w);
        Ok(Some(SaveOutcome::Saved(saved)))
    }
}
