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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the wizard (the default).
    Serve(ServeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "WIZARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// SQLite database file; created and migrated on start.
    #[arg(long, env = "WIZARD_DATABASE", default_value = "taskcenter-wizard.db")]
    pub database: PathBuf,
    /// File holding the master key that encrypts secrets at rest (64 hex
    /// characters); created with mode 0600 on first start. Default: the
    /// database path with ".key" appended.
    #[arg(long, env = "WIZARD_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// The master key itself (64 hex characters), instead of a key file.
    #[arg(long, env = "WIZARD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
}

impl ServeArgs {
    /// Defaults for tests and embedding: a database file, port 0.
    pub fn for_database(database: PathBuf) -> Self {
        ServeArgs {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database,
            key_file: None,
            secret_key: None,
        }
    }

    pub fn key_path(&self) -> PathBuf {
        self.key_file.clone().unwrap_or_else(|| {
            let mut p = self.database.clone().into_os_string();
            p.push(".key");
            PathBuf::from(p)
        })
    }
}
