//! taskcenter-wizard: builds the application from its configuration; used by
//! `main` and by the integration tests.

pub mod assets;
pub mod cloud;
pub mod config;
pub mod domain;
pub mod fmt;
pub mod handover;
pub mod playbook;
pub mod sandbox;
pub mod sap;
pub mod service;
pub mod store;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use tokio::net::TcpListener;

use config::{ServeArgs, StoreArgs};
use store::{Cipher, SessionLimits, Store};

/// How long a link that sets a password stays valid.
pub const INVITE_VALID_SECS: i64 = 24 * 3600;

pub use web::{AppState, State};

/// A running server: its address and a handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    /// When no account exists yet: the single-use link that creates the first administrator.
    pub bootstrap_link: Option<String>,
    /// The sandbox started with `--sandbox`.
    pub sandbox: Option<sandbox::RunningSandbox>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The server's state, for the runs still going when it stops.
    state: Arc<web::AppState>,
    /// Held while serving: no second server on the same database file.
    lock: Option<std::fs::File>,
}

impl Running {
    /// Stop accepting, finish requests in flight, and wait until done.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.context("server task")??;
        self.state.runs.abort_all();
        drop(self.lock);
        Ok(())
    }
}

/// How often expired sessions are removed from memory and the database.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

fn cipher(args: &StoreArgs) -> anyhow::Result<Cipher> {
    match (&args.secret_key, &args.key_file) {
        (Some(hex), _) => Cipher::from_hex(hex).context("WIZARD_SECRET_KEY / --secret-key"),
        // No file beside a database that is not a file: every instance must
        // be given the same key.
        (None, None) if store::is_postgres(&args.database) => bail!(
            "with PostgreSQL, give every instance the same master key: WIZARD_SECRET_KEY (64 hex characters) or --key-file"
        ),
        (None, _) => Cipher::from_file_or_create(&args.key_path()),
    }
}

pub async fn open_store(args: &StoreArgs) -> anyhow::Result<Store> {
    let next = args.next_key_path();
    if args.secret_key.is_none() && next.exists() {
        bail!(
            "{} exists: a key rotation was interrupted. If `rotate-key` reported success, move it over {}; otherwise delete it. Then start again",
            next.display(),
            args.key_path().display()
        );
    }
    let limits = store::CacheLimits {
        setups: args.cache_setups,
        idle_secs: args.cache_idle_minutes.saturating_mul(60),
    };
    Store::open(&args.database, cipher(args)?, playbook::STORE, limits).await
}

/// Open the database, bind the address and serve in the background.
pub async fn start(args: &ServeArgs) -> anyhow::Result<Running> {
    // SQLite: one server per file. PostgreSQL: as many instances as wanted.
    let lock = if store::is_postgres(&args.store.database) {
        None
    } else {
        Some(store::lock_database(&args.store.database)?)
    };
    let store = open_store(&args.store).await?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_string();
    let now = fmt::now();
    let bootstrap_link = if store.user_count().await? == 0
        && store.claim_bootstrap(now + INVITE_VALID_SECS, now).await?
    {
        let token = store
            .create_invite(None, true, "bootstrap", INVITE_VALID_SECS, fmt::now())
            .await?;
        Some(format!("{public_url}/invite/{token}"))
    } else {
        None
    };
    let sandbox = if args.sandbox {
        Some(
            sandbox::start(args.sandbox_listen)
                .await
                .context("starting the sandbox")?,
        )
    } else {
        None
    };
    if let Some(at) = args.sandbox_at
        && !at.ip().is_loopback()
    {
        anyhow::bail!("--sandbox-at must be a loopback address, not {at}");
    }
    let sandbox_addr = sandbox.as_ref().map(|s| s.addr).or(args.sandbox_at);
    let mut sap_config = sap::SapConfig::new(
        std::time::Duration::from_secs(args.connect_timeout.max(1)),
        std::time::Duration::from_secs(args.timeout.max(1)),
        &args.allow_hosts,
        sandbox_addr,
    );
    sap_config.sandbox_tls = sandbox.as_ref().map(|s| (s.tls_addr, s.ca_pem.clone()));
    let sap = sap::SapClient::new(sap_config)?;
    let state = Arc::new(AppState {
        sandbox_url: sandbox_addr.map(|a| format!("http://{a}/")),
        sap,
        store,
        secure_cookies: args.secure_cookies,
        session_limits: SessionLimits {
            idle: args.session_idle,
            max: args.session_max,
        },
        public_url,
        throttle: web::Throttle::default(),
        kept_forms: web::KeptForms::default(),
        customer_tokens: web::CustomerTokens::default(),
        runs: service::change::Runs::default(),
        pages: web::PageCache::new(args.page_cache),
        metrics_token: args.metrics_token.clone().filter(|t| !t.is_empty()),
        watch_webhook: match args.watch_webhook.as_deref().filter(|w| !w.is_empty()) {
            Some(w) if !w.starts_with("https://") => {
                anyhow::bail!(
                    "--watch-webhook must be an https address (a Teams or Slack incoming webhook)"
                )
            }
            w => w.map(str::to_string),
        },
        mailer: match &args.smtp_url {
            Some(url) => Some(service::watch::Mailer::new(url, &args.smtp_from)?),
            None => None,
        },
        watch_calls: Arc::new(sap::Bound::new(service::watch::CALLS_AT_ONCE)),
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(prune_sessions(Arc::downgrade(&state), stopped.clone()));
    tokio::spawn(service::watch::schedule(
        Arc::downgrade(&state),
        std::time::Duration::from_secs(args.watch_tick.max(1)),
    ));
    let app = web::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let mut stopped = stopped;
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(Running {
        addr,
        bootstrap_link,
        sandbox,
        stop,
        task,
        state,
        lock,
    })
}

/// Ends expired sessions now and then, so memory holds live ones only.
async fn prune_sessions(
    state: std::sync::Weak<AppState>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        let Some(state) = state.upgrade() else { return };
        if let Err(e) = state
            .store
            .prune_sessions(state.session_limits, fmt::now())
            .await
        {
            tracing::warn!(error = %format!("{e:#}"), "pruning sessions failed");
        }
        state.store.evict_idle();
    }
}

/// `user add`: a single-use link that sets NAME's password.
pub async fn user_add(
    args: &StoreArgs,
    name: &str,
    admin: bool,
    public_url: &str,
) -> anyhow::Result<String> {
    let name = domain::user_name(name)
        .map_err(|e| anyhow::anyhow!(e))?
        .value;
    let store = open_store(args).await?;
    let token = store
        .create_invite(
            Some(&name),
            admin,
            "command line",
            INVITE_VALID_SECS,
            fmt::now(),
        )
        .await?;
    Ok(format!(
        "{}/invite/{token}",
        public_url.trim_end_matches('/')
    ))
}

/// `rotate-key`: re-encrypt every secret and replace the key file.
pub async fn rotate_key(args: &StoreArgs) -> anyhow::Result<usize> {
    if args.secret_key.is_some() {
        bail!("rotate-key replaces the key file; run it without WIZARD_SECRET_KEY / --secret-key");
    }
    let _lock = if store::is_postgres(&args.database) {
        None
    } else {
        Some(store::lock_database(&args.database)?)
    };
    let store = open_store(args).await?;
    let path = args.key_path();
    let next_path = args.next_key_path();
    let (next, hex) = Cipher::generate()?;
    // Order matters: the new key is on disk before any secret depends on it.
    store::secrets::write_private(&next_path, &hex)
        .with_context(|| format!("writing {}", next_path.display()))?;
    let count = match store.rotate_key(&next).await {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&next_path);
            return Err(e);
        }
    };
    std::fs::rename(&next_path, &path)
        .with_context(|| format!("moving {} over {}", next_path.display(), path.display()))?;
    tracing::warn!(target: "security", secrets = count, key_file = %path.display(), "master key rotated");
    Ok(count)
}
