//! SQLite storage with an in-process cache of the setups in use: pages read
//! from memory, a setup not in memory is loaded on demand, idle ones are
//! evicted, and every change is written through to SQLite first. Memory
//! follows active work, not the number of setups stored.

pub mod accounts;
pub mod hashing;
pub mod secrets;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Executor};

pub use accounts::{AuditRow, Invite, SessionLimits, User, UserRow};
pub use hashing::{Busy, hash_pool};
pub use secrets::Cipher;

/// A value a page stores: plain text, or a secret to encrypt before writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Plain(String),
    Secret(String),
}

#[derive(Debug, Clone)]
pub struct PageRecord {
    pub data: BTreeMap<String, String>,
    pub version: i64,
    pub basis: String,
    /// The last SAP check of this page failed with this explanation.
    pub problem: Option<String>,
    /// The last SAP check of this page passed with this note.
    pub checked_note: Option<String>,
    pub checked_at: Option<i64>,
    pub updated_at: i64,
    pub updated_by: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Editor,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "editor" => Some(Role::Editor),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone)]
pub struct Setup {
    pub id: String,
    pub name: String,
    pub archived: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// The consultant who created it; `None` for setups from before accounts.
    pub owner_id: Option<i64>,
    pub members: Vec<Member>,
    pub pages: BTreeMap<String, PageRecord>,
    /// Bumped by every change, so a shared database's other instances can
    /// tell their cached copy is stale.
    pub rev: i64,
    /// Every answer by key, made once when the store shares this revision.
    pub index: AnswerIndex,
}

/// A setup's answers by key (the first page, in page-id order, that has the
/// key), so that a page view's hundreds of look-ups do not search every
/// page. Made by the store for the revisions it shares (never changed after);
/// a clone, which may be changed, starts without one.
#[derive(Default)]
pub struct AnswerIndex {
    by_key: std::sync::OnceLock<HashMap<String, usize>>,
    /// What the playbook derives from this revision alone (page statuses),
    /// made on first use; only on revisions the store shares.
    derived: std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for AnswerIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AnswerIndex")
    }
}

impl Clone for AnswerIndex {
    fn clone(&self) -> Self {
        AnswerIndex::default()
    }
}

impl Setup {
    /// The saved answer of `key`, through the index when there is one.
    pub fn answer(&self, key: &str) -> Option<&str> {
        match self.index.by_key.get() {
            Some(ix) => {
                let page = self.pages.values().nth(*ix.get(key)?)?;
                page.data.get(key).map(String::as_str)
            }
            None => self
                .pages
                .values()
                .find_map(|p| p.data.get(key))
                .map(String::as_str),
        }
    }

    fn build_index(&self) {
        let mut ix = HashMap::with_capacity(self.pages.values().map(|p| p.data.len()).sum());
        for (i, p) in self.pages.values().enumerate() {
            for k in p.data.keys() {
                ix.entry(k.clone()).or_insert(i);
            }
        }
        let _ = self.index.by_key.set(ix);
    }

    /// What `make` derives from this revision alone, made once: only for a
    /// revision the store shares (which never changes); `None` otherwise.
    pub fn derived<T: std::any::Any + Send + Sync>(&self, make: impl FnOnce() -> T) -> Option<&T> {
        self.index.by_key.get()?;
        self.index
            .derived
            .get_or_init(|| Box::new(make()))
            .downcast_ref::<T>()
    }
}

pub enum SaveOutcome {
    Saved(Arc<Setup>),
    /// Someone saved the page since the form was loaded; nothing was written.
    Conflict(Arc<Setup>),
}

/// One page save: what to write and the version the form was loaded at.
pub struct PageWrite<'a> {
    pub page: &'a str,
    pub data: BTreeMap<String, Stored>,
    pub basis: &'a str,
    pub expected_version: i64,
    pub user: &'a str,
    pub now: i64,
}

/// What the setups list shows of a setup, kept in its row (computed by the
/// playbook, which the store does not know: it is handed in at open).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub s4_host: String,
    pub status: String,
    pub done: i64,
    pub total: i64,
}

pub type Summarize = fn(&Setup) -> Summary;

/// What the store needs of the playbook, which it does not know (handed in
/// at open): the list's summary of a setup, and the arrangement of answers
/// on pages that setups stored by an older build are moved to.
#[derive(Clone, Copy)]
pub struct Playbook {
    pub summarize: Summarize,
    /// The layout this build writes; stored setups below it are upgraded.
    pub layout: i64,
    /// A setup's pages in the current layout, `None` when nothing moves.
    pub upgrade: fn(&Setup) -> Option<BTreeMap<String, PageRecord>>,
}

/// One row of the setups list.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: String,
    pub name: String,
    pub updated_at: i64,
    pub summary: Summary,
}

/// A page of the setups list: who asks, what they look for, which page.
pub struct ListQuery<'a> {
    pub user_id: i64,
    pub is_admin: bool,
    pub archived: bool,
    /// Part of the name, the S/4HANA host or the owner's name.
    pub text: &'a str,
    /// A status label, or empty for all.
    pub status: &'a str,
    pub offset: i64,
    pub limit: i64,
}

pub struct ListPage {
    pub rows: Vec<Listed>,
    /// How many match in this view, and in the other (archived or active).
    pub total: i64,
    pub other: i64,
}

/// How the cache is bounded.
#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    /// Setups held at most; the least recently used one goes first.
    pub setups: usize,
    /// A setup unused this long is dropped by the prune task.
    pub idle_secs: i64,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            setups: 500,
            idle_secs: 30 * 60,
        }
    }
}

struct Cached {
    setup: Arc<Setup>,
    /// When it was last read (seconds), for eviction.
    used: AtomicI64,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub struct Store {
    pool: AnyPool,
    /// PostgreSQL, possibly with other instances: cached setups and sessions
    /// are checked against the database on every use.
    shared: bool,
    cipher: Cipher,
    playbook: Playbook,
    limits: CacheLimits,
    cache: RwLock<HashMap<String, Cached>>,
    sessions: RwLock<HashMap<String, Arc<accounts::Session>>>,
    /// Hashes of sessions that timed out recently, with when (bounded).
    ended: Mutex<HashMap<String, i64>>,
    /// One writer (or loader) at a time keeps the cache and SQLite in the
    /// same order: a load never puts back a copy older than a write.
    write: tokio::sync::Mutex<()>,
    /// Bumped by every change of any setup (here): list counts stay valid
    /// until then.
    generation: std::sync::atomic::AtomicU64,
    /// The setups list's two counts per (user, admin, archived, status):
    /// counting 50,000 rows for every page view is what a busy list costs.
    counts: Mutex<HashMap<CountKey, Counted>>,
    /// Masks of stored secrets by ciphertext (see `mask`).
    masks: Mutex<HashMap<String, Option<String>>>,
}

/// Masks kept at most; the map starts again when full.
const MASKS: usize = 4096;

type CountKey = (i64, bool, bool, String);
/// (generation, when, [this view, the other view]).
type Counted = (u64, std::time::Instant, [i64; 2]);

/// On a shared database other instances change setups too: their changes
/// show in the counts after at most this long.
const SHARED_COUNT_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// page, user, at, method, url, status, duration_ms, outcome
type CallRow = (
    String,
    String,
    i64,
    String,
    String,
    Option<i64>,
    i64,
    String,
);
type Row = (String, String, i64, i64, i64, Option<i64>, i64);
/// One stored page of answers, as its row reads.
#[derive(sqlx::FromRow)]
struct AnswerRow {
    setup_id: String,
    page: String,
    data: String,
    version: i64,
    basis: String,
    problem: Option<String>,
    checked_note: Option<String>,
    checked_at: Option<i64>,
    updated_at: i64,
    updated_by: String,
}

impl AnswerRow {
    /// The page id and its record (the answers are a JSON object).
    fn into_record(self) -> anyhow::Result<(String, PageRecord)> {
        let data: BTreeMap<String, String> =
            serde_json::from_str(&self.data).with_context(|| {
                format!(
                    "answers of {}/{} are not a JSON object",
                    self.setup_id, self.page
                )
            })?;
        Ok((
            self.page,
            PageRecord {
                data,
                version: self.version,
                basis: self.basis,
                problem: self.problem,
                checked_note: self.checked_note,
                checked_at: self.checked_at,
                updated_at: self.updated_at,
                updated_by: self.updated_by,
            },
        ))
    }
}

/// The lock beside a database: a second server on the same file would serve
/// stale copies of setups and sessions, so it is refused at start.
pub fn lock_database(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = std::path::PathBuf::from(name);
    let file = secrets::open_private(&lock_path)
        .with_context(|| format!("creating the lock file {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another taskcenter-wizard is already using {} (the lock {} is held). Stop it first, or give this one its own --database",
            path.display(),
            lock_path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", lock_path.display()))
        }
    }
}

/// The database and its WAL and shared-memory files: readable by the owner only.
/// SQLite gives the -wal and -shm files the database file's mode.
fn restrict_files(path: &Path) -> anyhow::Result<()> {
    drop(
        secrets::open_private(path)
            .with_context(|| format!("creating the database {}", path.display()))?,
    );
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        if let Err(e) = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(e).with_context(|| format!("restricting {}", p.to_string_lossy()));
        }
    }
    Ok(())
}

/// A value for a query whose conditions are chosen at run time.
enum Bind {
    Int(i64),
    Text(String),
}

type AnyQueryAs<'q, T> = sqlx::query::QueryAs<'q, sqlx::Any, T, sqlx::any::AnyArguments>;

impl Bind {
    fn bind_to<'q, T>(&self, q: AnyQueryAs<'q, T>) -> AnyQueryAs<'q, T> {
        match self {
            Bind::Int(i) => q.bind(*i),
            Bind::Text(t) => q.bind(t.clone()),
        }
    }
}

/// Whether `--database` names a PostgreSQL server rather than a SQLite file.
pub fn is_postgres(database: &Path) -> bool {
    let d = database.to_string_lossy();
    d.starts_with("postgres://") || d.starts_with("postgresql://")
}

/// The database for a log line: a file's path, or a server without its
/// user and password.
pub fn describe(database: &Path) -> String {
    if !is_postgres(database) {
        return database.display().to_string();
    }
    match url::Url::parse(&database.to_string_lossy()) {
        Ok(u) => format!(
            "PostgreSQL at {}:{}{}",
            u.host_str().unwrap_or("?"),
            u.port().unwrap_or(5432),
            u.path()
        ),
        Err(_) => "PostgreSQL".into(),
    }
}

impl Store {
    /// Open a SQLite file (created, 0600) or a `postgres://` URL, and migrate.
    pub async fn open(
        database: &Path,
        cipher: Cipher,
        playbook: Playbook,
        limits: CacheLimits,
    ) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let shared = is_postgres(database);
        let pool = if shared {
            let url = database.to_string_lossy();
            // Never the URL itself in an error: it may hold a password.
            let opts = url::Url::parse(&url)
                .ok()
                .and_then(|u| AnyConnectOptions::from_url(&u).ok())
                .context("the PostgreSQL URL in --database (WIZARD_DATABASE) is not valid")?;
            AnyPoolOptions::new()
                .max_connections(8)
                .connect_with(opts)
                .await
                .context(
                    "connecting to PostgreSQL (the URL is not shown: it may hold a password)",
                )?
        } else {
            restrict_files(database)?;
            let path = std::fs::canonicalize(database)
                .with_context(|| format!("finding the database {}", database.display()))?;
            let url = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .to_url_lossy();
            AnyPoolOptions::new()
                .max_connections(4)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // What SqliteConnectOptions would set, for the Any pool.
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
                            .await
                            .map(|_| ())
                    })
                })
                .connect_with(AnyConnectOptions::from_url(&url)?)
                .await
                .with_context(|| format!("opening the database {}", database.display()))?
        };
        if shared {
            sqlx::migrate!("./migrations/postgres").run(&pool).await
        } else {
            sqlx::migrate!("./migrations/sqlite").run(&pool).await
        }
        .context("migrating the database")?;
        let store = Store {
            pool,
            shared,
            cipher,
            playbook,
            limits,
            cache: RwLock::new(HashMap::new()),
            sessions: RwLock::new(HashMap::new()),
            ended: Mutex::new(HashMap::new()),
            generation: std::sync::atomic::AtomicU64::new(0),
            counts: Mutex::new(HashMap::new()),
            masks: Mutex::new(HashMap::new()),
            write: tokio::sync::Mutex::new(()),
        };
        store.upgrade_layouts().await?;
        store.summarise_missing().await?;
        Ok(store)
    }

    /// A write transaction: SQLite takes its write lock at the start.
    async fn begin_write(&self) -> anyhow::Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(if self.shared {
            self.pool.begin().await?
        } else {
            self.pool.begin_with("BEGIN IMMEDIATE").await?
        })
    }

    /// Setups stored by a build that arranged answers on other pages, moved
    /// to this build's pages once, a batch of 200 a transaction. Another
    /// instance upgrading at the same time finds a claimed setup done and
    /// leaves it.
    async fn upgrade_layouts(&self) -> anyhow::Result<()> {
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
    async fn summarise_missing(&self) -> anyhow::Result<()> {
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
    async fn write_derived(&self, conn: &mut AnyConnection, setup: &Setup) -> anyhow::Result<i64> {
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
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(rev)
    }

    /// One setup as SQLite has it, with members and pages.
    async fn read_setup(&self, id: &str) -> anyhow::Result<Option<Setup>> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, name, archived, created_at, updated_at, owner_id, rev FROM setups WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, name, archived, created_at, updated_at, owner_id, rev)) = row else {
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
    async fn current_locked(&self, id: &str) -> anyhow::Result<Option<Arc<Setup>>> {
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
    async fn is_current(&self, s: &Setup) -> anyhow::Result<bool> {
        if !self.shared {
            return Ok(true);
        }
        let stored: Option<(i64,)> = sqlx::query_as("SELECT rev FROM setups WHERE id = $1")
            .bind(&s.id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(stored.is_some_and(|(rev,)| rev == s.rev))
    }

    fn cached(&self, id: &str) -> Option<Arc<Setup>> {
        let cache = self.cache.read().ok()?;
        let c = cache.get(id)?;
        c.used.store(now_secs(), Ordering::Relaxed);
        Some(c.setup.clone())
    }

    /// Drop setups unused for the idle time; returns how many.
    pub fn evict_idle(&self) -> usize {
        let before = now_secs() - self.limits.idle_secs;
        let Ok(mut cache) = self.cache.write() else {
            return 0;
        };
        let n = cache.len();
        cache.retain(|_, c| c.used.load(Ordering::Relaxed) >= before);
        n - cache.len()
    }

    pub fn cached_setups(&self) -> usize {
        self.cache.read().map_or(0, |c| c.len())
    }

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

    /// Create a setup with all its pages in one transaction (an import).
    pub async fn import_setup(
        &self,
        name: &str,
        owner_id: i64,
        user: &str,
        pages: BTreeMap<String, (BTreeMap<String, Stored>, String)>,
        now: i64,
    ) -> anyhow::Result<Arc<Setup>> {
        let _w = self.write.lock().await;
        let id = secrets::random_hex(8)?;
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO setups (id, name, archived, created_at, updated_at, owner_id, layout) VALUES ($1, $2, 0, $3, $4, $5, $6)")
            .bind(&id)
            .bind(name)
            .bind(now)
            .bind(now)
            .bind(owner_id)
            .bind(self.playbook.layout)
            .execute(&mut *tx)
            .await?;
        let mut records = BTreeMap::new();
        for (page, (data, basis)) in pages {
            let mut plain = BTreeMap::new();
            for (k, v) in data {
                let v = match v {
                    Stored::Plain(s) => s,
                    Stored::Secret(s) => self.cipher.encrypt(&s)?,
                };
                plain.insert(k, v);
            }
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

    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
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

    /// Clear text of a stored secret; `None` when it cannot be decrypted.
    pub fn reveal(&self, stored: &str) -> Option<String> {
        self.cipher.decrypt(stored)
    }

    /// A stored secret as pages show it (`fmt::mask`), decrypted once per
    /// ciphertext: pages are rendered far more often than secrets change.
    /// Only masks are kept (never the secret), at most `MASKS` of them.
    pub fn mask(&self, stored: &str) -> Option<String> {
        if let Ok(m) = self.masks.lock()
            && let Some(hit) = m.get(stored)
        {
            return hit.clone();
        }
        let mask = self.reveal(stored).map(|s| crate::fmt::mask(&s));
        if let Ok(mut m) = self.masks.lock() {
            if m.len() >= MASKS {
                m.clear();
            }
            m.insert(stored.to_string(), mask.clone());
        }
        mask
    }

    /// The newest copy into the cache; the least recently used one leaves
    /// when the cache is full. Callers hold the write lock.
    fn put(&self, setup: Setup) -> anyhow::Result<Arc<Setup>> {
        setup.build_index();
        let arc = Arc::new(setup);
        let mut cache = self
            .cache
            .write()
            .map_err(|_| anyhow::anyhow!("cache poisoned"))?;
        cache.insert(
            arc.id.clone(),
            Cached {
                setup: arc.clone(),
                used: AtomicI64::new(now_secs()),
            },
        );
        if cache.len() > self.limits.setups.max(1) {
            let oldest = cache
                .iter()
                .filter(|(k, _)| **k != arc.id)
                .min_by_key(|(_, c)| c.used.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                cache.remove(&k);
            }
        }
        Ok(arc)
    }

    pub async fn create_setup(
        &self,
        name: &str,
        owner_id: i64,
        now: i64,
    ) -> anyhow::Result<Arc<Setup>> {
        let _w = self.write.lock().await;
        let id = secrets::random_hex(8)?;
        sqlx::query("INSERT INTO setups (id, name, archived, created_at, updated_at, owner_id, layout) VALUES ($1, $2, 0, $3, $4, $5, $6)")
            .bind(&id)
            .bind(name)
            .bind(now)
            .bind(now)
            .bind(owner_id)
            .bind(self.playbook.layout)
            .execute(&self.pool)
            .await?;
        let setup = Setup {
            id,
            name: name.to_string(),
            archived: false,
            created_at: now,
            updated_at: now,
            owner_id: Some(owner_id),
            members: Vec::new(),
            pages: BTreeMap::new(),
            rev: 0,
            index: AnswerIndex::default(),
        };
        let mut conn = self.pool.acquire().await?;
        let mut setup = setup;
        setup.rev = self.write_derived(&mut conn, &setup).await?;
        self.put(setup)
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
        let mut plain = BTreeMap::new();
        for (k, v) in data {
            let v = match v {
                Stored::Plain(s) => s,
                Stored::Secret(s) => self.cipher.encrypt(&s)?,
            };
            plain.insert(k, v);
        }
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

/// Answer keys whose value was added, changed or removed (notes excluded).
/// Secrets are re-encrypted with a fresh nonce only when the form carried a
/// new one, so an untouched secret does not count as changed.
fn changed_keys(
    before: Option<&BTreeMap<String, String>>,
    after: &BTreeMap<String, String>,
) -> Vec<String> {
    let empty = BTreeMap::new();
    let before = before.unwrap_or(&empty);
    let mut keys: Vec<String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .chain(before.keys().filter(|k| !after.contains_key(*k)).cloned())
        .filter(|k| !k.starts_with('_'))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}
