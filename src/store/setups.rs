//! The setup aggregate: reading (through the cache), listing, creating,
//! renaming and importing setups, and the layout upgrade at start.

use super::*;

/// Customers whose landscape is kept in memory (a few dozen bytes each).
const LANDSCAPES: usize = 16_384;

impl Store {
    /// Setups stored by a build that arranged answers on other pages, moved
    /// to this build's pages once, a batch of 200 a transaction. Another
    /// instance upgrading at the same time finds a claimed setup done and
    /// leaves it.
    pub(super) async fn upgrade_layouts(&self) -> anyhow::Result<()> {
        let layout = self.playbook.layout;
        loop {
            let ids: Vec<(String,)> =
                sqlx::query_as("SELECT id FROM setups WHERE layout < $1 LIMIT 200")
                    .bind(layout)
                    .fetch_all(&self.pool)
                    .await?;
            if ids.is_empty() {
                return Ok(());
            }
            // One transaction a batch: a commit per setup is most of the cost.
            let mut tx = self.begin_write().await?;
            for (id,) in ids {
                let claimed =
                    sqlx::query("UPDATE setups SET layout = $1 WHERE id = $2 AND layout < $1")
                        .bind(layout)
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                if claimed.rows_affected() != 1 {
                    continue;
                }
                let Some(mut setup) = self.read_setup(&id).await? else {
                    continue;
                };
                if let Some(pages) = (self.playbook.upgrade)(&setup) {
                    sqlx::query("DELETE FROM answers WHERE setup_id = $1")
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    for (page, r) in &pages {
                        sqlx::query(
                            "INSERT INTO answers (setup_id, page, data, version, basis, problem, checked_note, checked_at, updated_at, updated_by)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                        )
                        .bind(&id)
                        .bind(page)
                        .bind(serde_json::to_string(&r.data)?)
                        .bind(r.version)
                        .bind(&r.basis)
                        .bind(&r.problem)
                        .bind(&r.checked_note)
                        .bind(r.checked_at)
                        .bind(r.updated_at)
                        .bind(&r.updated_by)
                        .execute(&mut *tx)
                        .await?;
                    }
                    setup.pages = pages;
                }
                // The summary too: the number of pages may have changed.
                self.write_derived(&mut tx, &setup).await?;
            }
            tx.commit().await?;
        }
    }

    /// Summaries for setups stored before the list kept them (once, after
    /// an upgrade), a batch at a time so memory stays flat.
    pub(super) async fn summarise_missing(&self) -> anyhow::Result<()> {
        loop {
            let ids: Vec<(String,)> =
                sqlx::query_as("SELECT id FROM setups WHERE status = '' LIMIT 200")
                    .fetch_all(&self.pool)
                    .await?;
            if ids.is_empty() {
                return Ok(());
            }
            for (id,) in ids {
                let setup = self
                    .read_setup(&id)
                    .await?
                    .with_context(|| format!("setup {id} vanished while summarising"))?;
                let mut conn = self.pool.acquire().await?;
                self.write_derived(&mut conn, &setup).await?;
            }
        }
    }

    /// The list's summary of a setup and its next revision, written beside
    /// it (every change goes through here). Returns the new revision.
    pub(super) async fn write_derived(
        &self,
        conn: &mut AnyConnection,
        setup: &Setup,
    ) -> anyhow::Result<i64> {
        let mut sum = (self.playbook.summarize)(setup);
        if sum.status.is_empty() {
            sum.status = "Not started".into();
        }
        let (rev,): (i64,) = sqlx::query_as(
            "UPDATE setups SET s4_host = $1, status = $2, done_pages = $3, total_pages = $4, rev = rev + 1 WHERE id = $5 RETURNING rev",
        )
        .bind(&sum.s4_host)
        .bind(&sum.status)
        .bind(sum.done)
        .bind(sum.total)
        .bind(&setup.id)
        .fetch_one(&mut *conn)
        .await?;
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if !self.shared {
            let (systems,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM setups WHERE customer_id = $1 AND archived = 0",
            )
            .bind(&setup.customer_id)
            .fetch_one(&mut *conn)
            .await?;
            self.keep_landscape(
                &setup.customer_id,
                (systems > 1).then_some(generation),
                true,
            );
        }
        Ok(rev)
    }

    /// Note what a customer's landscape is (`written`: by a write, which
    /// wins over a read made before it).
    fn keep_landscape(&self, customer_id: &str, stamp: Option<u64>, written: bool) {
        if let Ok(mut l) = self.landscapes.lock() {
            if l.len() >= LANDSCAPES && !l.contains_key(customer_id) {
                // Read again on demand: only costs a query per customer.
                l.clear();
            }
            if written {
                l.insert(customer_id.to_string(), stamp);
            } else {
                l.entry(customer_id.to_string()).or_insert(stamp);
            }
        }
    }

    /// `None` while the customer has one active system; else a stamp that
    /// changes with every change of any of its systems (archiving one, or
    /// connecting the next, included).
    pub async fn landscape_stamp(&self, customer_id: &str) -> anyhow::Result<Option<u64>> {
        if !self.shared {
            if let Some(kept) = self
                .landscapes
                .lock()
                .ok()
                .and_then(|l| l.get(customer_id).copied())
            {
                return Ok(kept);
            }
            // Read before the generation: a write in between gives the
            // customer a later one, which this read never replaces.
            let generation = self.generation.load(Ordering::SeqCst);
            let (systems,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM setups WHERE customer_id = $1 AND archived = 0",
            )
            .bind(customer_id)
            .fetch_one(&self.pool)
            .await?;
            let stamp = (systems > 1).then_some(generation);
            self.keep_landscape(customer_id, stamp, false);
            return Ok(stamp);
        }
        let (systems, revs): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(rev), 0) AS BIGINT) FROM setups WHERE customer_id = $1 AND archived = 0",
        )
        .bind(customer_id)
        .fetch_one(&self.pool)
        .await?;
        // Revisions only grow; the count tells an archived system apart.
        Ok((systems > 1).then_some(((revs as u64) << 8) | (systems as u64 & 0xff)))
    }

    /// One setup as SQLite has it, with members and pages.
    pub(super) async fn read_setup(&self, id: &str) -> anyhow::Result<Option<Setup>> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, name, archived, created_at, updated_at, owner_id, rev, customer_id FROM setups WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, name, archived, created_at, updated_at, owner_id, rev, customer_id)) = row
        else {
            return Ok(None);
        };
        let members: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT u.id, u.name, m.role FROM setup_members m JOIN users u ON u.id = m.user_id WHERE m.setup_id = $1 ORDER BY u.name",
        )
        .bind(&id)
        .fetch_all(&self.pool)
        .await?;
        let answers: Vec<AnswerRow> = sqlx::query_as(
            "SELECT setup_id, page, data, version, basis, problem, checked_note, checked_at, updated_at, updated_by FROM answers WHERE setup_id = $1",
        )
        .bind(&id)
        .fetch_all(&self.pool)
        .await?;
        let pages = answers
            .into_iter()
            .map(AnswerRow::into_record)
            .collect::<anyhow::Result<BTreeMap<_, _>>>()?;
        Ok(Some(Setup {
            customer_id: customer_id.unwrap_or_else(|| format!("c{id}")),
            id,
            name,
            archived: archived != 0,
            created_at,
            updated_at,
            owner_id,
            members: members
                .into_iter()
                .filter_map(|(user_id, name, role)| {
                    Role::parse(&role).map(|role| Member {
                        user_id,
                        name,
                        role,
                    })
                })
                .collect(),
            pages,
            rev,
            index: AnswerIndex::default(),
        }))
    }

    /// The cached copy if it is current, else the database's; the caller
    /// holds the write lock.
    pub(super) async fn current_locked(&self, id: &str) -> anyhow::Result<Option<Arc<Setup>>> {
        if let Some(s) = self.cached(id)
            && self.is_current(&s).await?
        {
            return Ok(Some(s));
        }
        match self.read_setup(id).await? {
            Some(s) => self.put(s).map(Some),
            None => Ok(None),
        }
    }

    /// Alone on its database a cached copy is always current; shared, its
    /// revision is compared with the stored one (one indexed read).
    pub(super) async fn is_current(&self, s: &Setup) -> anyhow::Result<bool> {
        if !self.shared {
            return Ok(true);
        }
        let stored: Option<(i64,)> = sqlx::query_as("SELECT rev FROM setups WHERE id = $1")
            .bind(&s.id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(stored.is_some_and(|(rev,)| rev == s.rev))
    }

    /// Create a setup with all its pages in one transaction (an import).
    pub async fn import_setup(
        &self,
        name: &str,
        owner_id: i64,
        user: &str,
        pages: BTreeMap<String, (BTreeMap<String, Stored>, String)>,
        customer: Option<&str>,
        now: i64,
    ) -> anyhow::Result<Arc<Setup>> {
        let _w = self.write.lock().await;
        let id = secrets::random_hex(8)?;
        let mut tx = self.begin_write().await?;
        let customer_id = match customer {
            Some(c) => c.to_string(),
            None => Self::new_customer(&mut tx, &id, name, now).await?,
        };
        sqlx::query("INSERT INTO setups (id, name, archived, created_at, updated_at, owner_id, layout, customer_id) VALUES ($1, $2, 0, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(name)
            .bind(now)
            .bind(now)
            .bind(owner_id)
            .bind(self.playbook.layout)
            .bind(&customer_id)
            .execute(&mut *tx)
            .await?;
        let mut records = BTreeMap::new();
        for (page, (data, basis)) in pages {
            let plain = self.seal(data)?;
            sqlx::query("INSERT INTO answers (setup_id, page, data, version, basis, updated_at, updated_by) VALUES ($1, $2, $3, 1, $4, $5, $6)")
                .bind(&id)
                .bind(&page)
                .bind(serde_json::to_string(&plain)?)
                .bind(&basis)
                .bind(now)
                .bind(user)
                .execute(&mut *tx)
                .await?;
            records.insert(
                page,
                PageRecord {
                    data: plain,
                    version: 1,
                    basis,
                    problem: None,
                    checked_note: None,
                    checked_at: None,
                    updated_at: now,
                    updated_by: user.to_string(),
                },
            );
        }
        let setup = Setup {
            id,
            name: name.to_string(),
            archived: false,
            created_at: now,
            updated_at: now,
            owner_id: Some(owner_id),
            customer_id,
            members: Vec::new(),
            pages: records,
            rev: 0,
            index: AnswerIndex::default(),
        };
        let mut setup = setup;
        setup.rev = self.write_derived(&mut tx, &setup).await?;
        tx.commit().await?;
        self.put(setup)
    }

    /// A setup, from memory or loaded on demand.
    pub async fn setup(&self, id: &str) -> anyhow::Result<Option<Arc<Setup>>> {
        if let Some(s) = self.cached(id)
            && self.is_current(&s).await?
        {
            return Ok(Some(s));
        }
        let _w = self.write.lock().await;
        self.current_locked(id).await
    }

    /// A setup for a look in passing (the watch, the overview, a calendar
    /// of many): the cached copy if it is in use, else read without caching
    /// it, so that a round over every watched setup leaves memory as it was.
    pub async fn setup_passing(&self, id: &str) -> anyhow::Result<Option<Arc<Setup>>> {
        if let Some(s) = self.cached(id)
            && self.is_current(&s).await?
        {
            return Ok(Some(s));
        }
        Ok(self.read_setup(id).await?.map(Arc::new))
    }

    /// One page of the setups `q.user_id` may see, most recently changed
    /// first, searched in SQLite (nothing is loaded into the cache). Only
    /// the conditions asked for are in the query, so the plain list walks
    /// the (archived, updated_at) index and stops after one page.
    pub async fn list(&self, q: &ListQuery<'_>) -> anyhow::Result<ListPage> {
        let like = format!(
            "%{}%",
            q.text
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        // Conditions from fixed text with numbered parameters ($n works on
        // both databases); only the values are bound.
        let mut sql = String::from(" WHERE s.archived = $1");
        let mut binds: Vec<Bind> = Vec::new();
        let mut param = |b: Bind| {
            binds.push(b);
            format!("${}", binds.len() + 1)
        };
        if !q.is_admin {
            let me = param(Bind::Int(q.user_id));
            sql.push_str(&format!(
                " AND (s.owner_id = {me} OR s.id IN (SELECT setup_id FROM setup_members WHERE user_id = {me}))"
            ));
        }
        if !q.text.is_empty() {
            let t = param(Bind::Text(like));
            sql.push_str(&format!(
                " AND (s.name LIKE {t} ESCAPE '\\' OR s.s4_host LIKE {t} ESCAPE '\\' OR s.owner_id IN (SELECT id FROM users WHERE name LIKE {t} ESCAPE '\\'))"
            ));
        }
        if !q.status.is_empty() {
            let st = param(Bind::Text(q.status.to_string()));
            sql.push_str(&format!(" AND s.status = {st}"));
        }
        let n = binds.len();
        let rows_sql = format!(
            "SELECT s.id, s.name, s.updated_at, s.s4_host, s.status, s.done_pages, s.total_pages FROM setups s{sql} ORDER BY s.updated_at DESC, s.id DESC LIMIT ${} OFFSET ${}",
            n + 2,
            n + 3
        );
        let mut rows_q = sqlx::query_as(sqlx::AssertSqlSafe(rows_sql)).bind(q.archived as i64);
        for b in &binds {
            rows_q = b.bind_to(rows_q);
        }
        let rows: Vec<(String, String, i64, String, String, i64, i64)> = rows_q
            .bind(q.limit)
            .bind(q.offset)
            .fetch_all(&self.pool)
            .await?;
        // Two counts, each walking the (archived, ...) index, not a GROUP BY;
        // kept until a setup changes (searches are always counted afresh).
        let generation = self.generation.load(Ordering::SeqCst);
        let key: CountKey = (q.user_id, q.is_admin, q.archived, q.status.to_string());
        let known = self
            .counts
            .lock()
            .ok()
            .and_then(|c| c.get(&key).copied())
            .filter(|(g, at, _)| {
                *g == generation && (!self.shared || at.elapsed() < SHARED_COUNT_TTL)
            })
            .filter(|_| q.text.is_empty());
        let mut counts = [0i64; 2];
        if let Some((_, _, c)) = known {
            counts = c;
        }
        for (i, archived) in [q.archived, !q.archived]
            .into_iter()
            .enumerate()
            .filter(|_| known.is_none())
        {
            let mut count_q = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM setups s{sql}"
            )))
            .bind(archived as i64);
            for b in &binds {
                count_q = b.bind_to(count_q);
            }
            let (n,): (i64,) = count_q.fetch_one(&self.pool).await?;
            counts[i] = n;
        }
        if known.is_none()
            && q.text.is_empty()
            && let Ok(mut c) = self.counts.lock()
        {
            // Bounded by the people using the list; old generations go.
            c.retain(|_, (g, _, _)| *g == generation);
            if c.len() < 10_000 {
                c.insert(key, (generation, std::time::Instant::now(), counts));
            }
        }
        Ok(ListPage {
            rows: rows
                .into_iter()
                .map(
                    |(id, name, updated_at, s4_host, status, done, total)| Listed {
                        id,
                        name,
                        updated_at,
                        summary: Summary {
                            s4_host,
                            status,
                            done,
                            total,
                        },
                    },
                )
                .collect(),
            total: counts[0],
            other: counts[1],
        })
    }

    /// What the setups list shows can only have changed when this changed
    /// (every setup change here bumps it); `None` on a shared database,
    /// where other instances change setups too.
    pub fn list_generation(&self) -> Option<u64> {
        (!self.shared).then(|| self.generation.load(Ordering::SeqCst))
    }

    pub async fn create_setup(
        &self,
        name: &str,
        owner_id: i64,
        now: i64,
    ) -> anyhow::Result<Arc<Setup>> {
        self.import_setup(name, owner_id, "", BTreeMap::new(), None, now)
            .await
    }

    /// A customer of its own for a new setup (named as it, with an id the
    /// migration would have given it).
    async fn new_customer(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        setup_id: &str,
        name: &str,
        now: i64,
    ) -> anyhow::Result<String> {
        let id = format!("c{setup_id}");
        sqlx::query("INSERT INTO customers (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(name)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        Ok(id)
    }

    pub async fn rename_customer(&self, id: &str, name: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE customers SET name = $2 WHERE id = $1")
            .bind(id)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A customer's name and the ids of its setups, oldest first.
    pub async fn customer(&self, id: &str) -> anyhow::Result<Option<(String, Vec<String>)>> {
        let name: Option<(String,)> = sqlx::query_as("SELECT name FROM customers WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some((name,)) = name else {
            return Ok(None);
        };
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM setups WHERE customer_id = $1 AND archived = 0 ORDER BY created_at, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some((name, ids.into_iter().map(|(i,)| i).collect())))
    }

    /// Change name and/or archived flag.
    pub async fn update_setup(
        &self,
        id: &str,
        name: Option<&str>,
        archived: Option<bool>,
        now: i64,
    ) -> anyhow::Result<Option<Arc<Setup>>> {
        let _w = self.write.lock().await;
        let Some(current) = self.current_locked(id).await? else {
            return Ok(None);
        };
        let mut next = (*current).clone();
        if let Some(n) = name {
            next.name = n.to_string();
        }
        if let Some(a) = archived {
            next.archived = a;
        }
        next.updated_at = now;
        sqlx::query("UPDATE setups SET name = $1, archived = $2, updated_at = $3 WHERE id = $4")
            .bind(&next.name)
            .bind(next.archived as i64)
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        let mut conn = self.pool.acquire().await?;
        next.rev = self.write_derived(&mut conn, &next).await?;
        self.put(next).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CacheLimits, secrets::Cipher};

    async fn open(path: &std::path::Path, hex: &str) -> Store {
        let limits = CacheLimits {
            setups: 10,
            idle_secs: 60,
        };
        Store::open(
            path,
            Cipher::from_hex(hex).unwrap(),
            crate::playbook::STORE,
            limits,
        )
        .await
        .unwrap()
    }

    /// Read on demand (also after a restart), changed by every write of any
    /// of the customer's systems, gone when one system is left.
    #[tokio::test]
    async fn a_customers_landscape_stamp_follows_its_systems_from_the_first_ask() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        let (_, hex) = Cipher::generate().unwrap();
        let store = open(&db, &hex).await;
        let now = crate::fmt::now();
        let ada = store.test_user("ada", now).await;
        let dev = store.create_setup("ACME DEV", ada.id, now).await.unwrap();
        let c = dev.customer_id.clone();
        assert_eq!(store.landscape_stamp(&c).await.unwrap(), None);
        let prd = store
            .import_setup("ACME PRD", ada.id, "ada", BTreeMap::new(), Some(&c), now)
            .await
            .unwrap();
        let two = store.landscape_stamp(&c).await.unwrap();
        assert!(two.is_some());
        drop(store);

        let store = open(&db, &hex).await;
        let after_restart = store.landscape_stamp(&c).await.unwrap();
        assert!(
            after_restart.is_some(),
            "two systems, read on the first ask"
        );
        assert_eq!(store.landscape_stamp(&c).await.unwrap(), after_restart);
        store
            .update_setup(&prd.id, Some("ACME Production"), None, now)
            .await
            .unwrap();
        let renamed = store.landscape_stamp(&c).await.unwrap();
        assert!(renamed.is_some() && renamed != after_restart);
        store
            .update_setup(&prd.id, None, Some(true), now)
            .await
            .unwrap();
        assert_eq!(store.landscape_stamp(&c).await.unwrap(), None, "archived");
    }
}
