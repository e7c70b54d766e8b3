//! Command line and environment configuration (every flag also a WIZARD_* variable).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "taskcenter-wizard",
    version,
    about = "A guided, resumable wizard that connects SAP Task Center to SAP S/4HANA Cloud",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `serve`, which runs when no command is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

// Parsed once at start: the size of the serve arguments costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the wizard (the default).
    Serve(ServeArgs),
    /// Manage consultant accounts from the shell.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Serve only the sandbox: a simulated SAP landscape on a loopback address.
    Sandbox {
        /// Loopback address for the sandbox.
        #[arg(long, env = "WIZARD_SANDBOX_LISTEN", default_value = "127.0.0.1:8081")]
        listen: SocketAddr,
    },
    /// Re-encrypt every stored secret under a new master key (stop the server first).
    RotateKey {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Print a single-use link that sets the password of NAME (creating the
    /// account, or resetting its password when it exists).
    Add {
        /// The user name, 2 to 40 of a-z 0-9 . _ -
        name: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// The address people open the wizard at, used to print the link.
        #[arg(
            long,
            env = "WIZARD_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Where the data lives: the database and the master key.
/// The defaults of --listen and --database (Cloud Foundry's environment
/// replaces only these, never an explicit choice).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "taskcenter-wizard.db";

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// SQLite database file; created and migrated on start.
    #[arg(long, env = "WIZARD_DATABASE", default_value = DEFAULT_DATABASE)]
    pub database: PathBuf,
    /// File holding the master key that encrypts secrets at rest (64 hex
    /// characters); created with mode 0600 on first start. Default: the
    /// database path with ".key" appended.
    #[arg(long, env = "WIZARD_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// The master key itself (64 hex characters), instead of a key file.
    #[arg(long, env = "WIZARD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Setups held in memory at most (the least recently used leave first);
    /// the rest stay in the database and load when opened.
    #[arg(long, env = "WIZARD_CACHE_SETUPS", default_value_t = 500)]
    pub cache_setups: usize,
    /// Minutes a setup stays in memory unused.
    #[arg(long, env = "WIZARD_CACHE_IDLE_MINUTES", default_value_t = 30)]
    pub cache_idle_minutes: i64,
}

impl StoreArgs {
    pub fn key_path(&self) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| with_suffix(&self.database, ".key"))
    }

    /// Where `rotate-key` writes the new key before it replaces the old one.
    pub fn next_key_path(&self) -> PathBuf {
        with_suffix(&self.key_path(), ".new")
    }
}

/// `path` with `suffix` appended to its file name (`a.db` -> `a.db.key`).
fn with_suffix(path: &std::path::Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "WIZARD_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Mark the session cookie Secure; set it when the wizard is served over https.
    #[arg(long, env = "WIZARD_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Also start the sandbox and send every SAP call to it instead of SAP.
    #[arg(long, env = "WIZARD_SANDBOX")]
    pub sandbox: bool,
    /// Loopback address of the sandbox started by --sandbox.
    #[arg(long, env = "WIZARD_SANDBOX_LISTEN", default_value = "127.0.0.1:8081")]
    pub sandbox_listen: SocketAddr,
    /// Send every SAP call to a sandbox already serving at this loopback
    /// address (`taskcenter-wizard sandbox`), so that what "SAP" holds
    /// outlives a restart of the wizard. Certificate (mTLS) calls need --sandbox.
    #[arg(long, env = "WIZARD_SANDBOX_AT", conflicts_with = "sandbox")]
    pub sandbox_at: Option<SocketAddr>,
    /// Seconds between the watch's looks for due runs (the runs keep their
    /// own intervals, at least 15 minutes).
    #[arg(long, env = "WIZARD_WATCH_TICK", default_value_t = 60)]
    pub watch_tick: u64,
    /// Where the watch sends its e-mails: `smtps://user:password@host` (TLS),
    /// `smtp://host?tls=required` (STARTTLS) or `smtp://host:port` (none).
    #[arg(long, env = "WIZARD_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of the watch's e-mails.
    #[arg(
        long,
        env = "WIZARD_SMTP_FROM",
        default_value = "Task Center wizard <taskcenter-wizard@localhost>"
    )]
    pub smtp_from: String,
    /// Serve `GET /metrics` (Prometheus) to a bearer of this token; off
    /// without it, so the numbers are not public by default.
    #[arg(long, env = "WIZARD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// A webhook (https) told of every watched setup's changes of state,
    /// besides each setup's own: the consultancy's channel. A secret: it
    /// lets anyone post there.
    #[arg(long, env = "WIZARD_WATCH_WEBHOOK", hide_env_values = true)]
    pub watch_webhook: Option<String>,
    /// Rendered pages held in memory (each until its setup changes; 0: off).
    #[arg(long, env = "WIZARD_PAGE_CACHE", default_value_t = 256)]
    pub page_cache: usize,
    /// Seconds to wait for a connection to SAP.
    #[arg(long, env = "WIZARD_CONNECT_TIMEOUT", default_value_t = 5)]
    pub connect_timeout: u64,
    /// Seconds a whole SAP call may take.
    #[arg(long, env = "WIZARD_TIMEOUT", default_value_t = 20)]
    pub timeout: u64,
    /// A host the wizard may call besides SAP's cloud domains (exact, or
    /// *.domain); repeat the flag for more.
    #[arg(long = "allow-host", env = "WIZARD_ALLOW_HOSTS", value_delimiter = ',')]
    pub allow_hosts: Vec<String>,
    /// Time without a request after which a session ends, like 8h, 45m or 90s.
    #[arg(long, env = "WIZARD_SESSION_IDLE", default_value = "8h", value_parser = parse_duration)]
    pub session_idle: i64,
    /// Longest a session lives however active it is, like 7d or 12h.
    #[arg(long, env = "WIZARD_SESSION_MAX", default_value = "7d", value_parser = parse_duration)]
    pub session_max: i64,
    /// The address people open the wizard at (https://wizard.example.com);
    /// links for new users and password resets are built from it. Default:
    /// http:// and the listen address.
    #[arg(long, env = "WIZARD_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
}

/// An http(s) URL without path, query or credentials.
fn parse_public_url(s: &str) -> Result<String, String> {
    let u = url::Url::parse(s.trim()).map_err(|e| format!("\"{s}\" is not a URL: {e}"))?;
    let ok = matches!(u.scheme(), "http" | "https")
        && u.host_str().is_some()
        && u.username().is_empty()
        && u.password().is_none()
        && u.path() == "/"
        && u.query().is_none()
        && u.fragment().is_none();
    if !ok {
        return Err(format!(
            "\"{s}\" must be an http or https address such as https://wizard.example.com"
        ));
    }
    Ok(u.as_str().trim_end_matches('/').to_string())
}

impl ServeArgs {
    /// Defaults for tests and embedding: a database file, port 0.
    pub fn for_database(database: PathBuf) -> Self {
        ServeArgs {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            store: StoreArgs {
                database,
                key_file: None,
                secret_key: None,
                cache_setups: 500,
                cache_idle_minutes: 30,
            },
            secure_cookies: false,
            session_idle: 8 * 3600,
            session_max: 7 * 86_400,
            public_url: None,
            sandbox: false,
            sandbox_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            sandbox_at: None,
            watch_tick: 60,
            metrics_token: None,
            watch_webhook: None,
            smtp_url: None,
            smtp_from: "Task Center wizard <taskcenter-wizard@localhost>".into(),
            page_cache: 256,
            connect_timeout: 5,
            timeout: 20,
            allow_hosts: Vec::new(),
        }
    }
}

/// Seconds from `90s`, `45m`, `8h` or `2d` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("\"{s}\" is not a duration; use for example 8h, 45m or 90s"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("\"{s}\": the unit must be s, m, h or d")),
    };
    match n.checked_mul(factor) {
        Some(v) if v > 0 => Ok(v),
        _ => Err(format!(
            "\"{s}\" must be more than zero and less than forever"
        )),
    }
}
