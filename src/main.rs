//! Entry point: parse the command line and run the chosen command.

use clap::Parser;
use taskcenter_wizard::config::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => serve(args).await,
        None => serve(cli.serve).await,
    }
}

async fn serve(args: taskcenter_wizard::config::ServeArgs) -> anyhow::Result<()> {
    let running = taskcenter_wizard::start(&args).await?;
    tracing::info!(
        "taskcenter-wizard is ready at http://{} (database {})",
        running.addr,
        args.database.display()
    );
    tokio::signal::ctrl_c().await?;
    tracing::info!("stopping");
    running.stop().await
}
