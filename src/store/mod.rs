//! SQLite storage with an in-process cache of the setups in use: pages read
//! from memory, a setup not in memory is loaded on demand, idle ones are
//! evicted, and every change is written through to SQLite first. Memory
//! follows active work, not the number of setups stored.

pub mod accounts;
mod answers;
mod calls;
pub mod hashing;
pub mod secrets;
mod setups;
pub mod watch;

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
    /// The customer whose landscape it is part of (one system of it).
    pub customer_id: String,
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
    /// Per customer asked about (or written to) since start: with more than
    /// one active system, the generation of its systems' latest change; what
    /// one system's task list shows of the others stays valid until then
    /// (issue 23). `None`: one system. Read on first ask, not at start (a
    /// GROUP BY over every setup took 120 ms with 50,000 of them); at most
    /// `LANDSCAPES` customers. Alone on the database only; shared, it is
    /// read from there.
    landscapes: Mutex<HashMap<String, Option<u64>>>,
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
type Row = (
    String,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
    i64,
    Option<String>,
);
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
            landscapes: Mutex::new(HashMap::new()),
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

    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A page's values as they are written: secrets encrypted.
    fn seal(&self, data: BTreeMap<String, Stored>) -> anyhow::Result<BTreeMap<String, String>> {
        data.into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Stored::Plain(s) => s,
                    Stored::Secret(s) => self.cipher.encrypt(&s)?,
                };
                Ok((k, v))
            })
            .collect()
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
