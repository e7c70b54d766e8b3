//! Entry point: parse the command line and run the chosen command.

use clap::Parser;
use taskcenter_wizard::config::{Cli, Command, ServeArgs, UserCommand};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        // Colour codes only for a person at a terminal, not in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::User {
            action:
                UserCommand::Add {
                    name,
                    admin,
                    public_url,
                    store,
                },
        }) => {
            let link = taskcenter_wizard::user_add(&store, &name, admin, &public_url).await?;
            println!(
                "Send this single-use link to {name}; it sets their password and is valid for 24 hours:\n{link}"
            );
            Ok(())
        }
        Some(Command::Sandbox { listen }) => {
            let sb = taskcenter_wizard::sandbox::start(listen).await?;
            tracing::info!(
                "sandbox ready at http://{} (demo values on its home page)",
                sb.addr
            );
            shutdown_signal().await;
            Ok(())
        }
        Some(Command::RotateKey { store }) => {
            let n = taskcenter_wizard::rotate_key(&store).await?;
            println!(
                "Re-encrypted {n} secrets; the new key is in {}",
                store.key_path().display()
            );
            Ok(())
        }
    }
}

async fn serve(mut args: ServeArgs) -> anyhow::Result<()> {
    // Listening for SIGTERM before the server is up: a signal that comes
    // right after start-up must not kill it mid-request.
    let stop = shutdown_signal();
    let scratch = std::env::temp_dir().join(format!("taskcenter-wizard-{}", std::process::id()));
    for note in taskcenter_wizard::cloud::apply(
        &mut args,
        &taskcenter_wizard::cloud::Env::from_process(),
        &scratch,
    )? {
        tracing::info!("Cloud Foundry: {note}");
    }
    let running = taskcenter_wizard::start(&args).await?;
    tracing::info!(
        "taskcenter-wizard is ready at http://{} (database {})",
        running.addr,
        taskcenter_wizard::store::describe(&args.store.database)
    );
    if let Some(sb) = &running.sandbox {
        tracing::info!(
            "sandbox mode: SAP calls go to the sandbox at http://{}; its home page lists the demo customer's values",
            sb.addr
        );
    }
    if let Some(link) = &running.bootstrap_link {
        tracing::info!(
            "No account exists yet. Create the first administrator with this single-use link (valid 24 hours): {link}"
        );
        // And the link alone on a line, easy to select and open.
        println!("\n    {link}\n");
    }
    let why = stop.await;
    tracing::info!("{why}: stopping; requests in flight finish first");
    running.stop().await?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C, or SIGTERM as systemd, Docker and Cloud Foundry send it. The
/// handlers are installed when this is called; the future waits for either.
fn shutdown_signal() -> impl std::future::Future<Output = &'static str> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        let term = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "interrupted",
            _ = term => "SIGTERM received",
        }
    }
}
