//! taskcenter-wizard: builds the application from its configuration; used by
//! `main` and by the integration tests.

pub mod config;
pub mod domain;
pub mod error;
pub mod fmt;
pub mod playbook;
pub mod store;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use config::ServeArgs;
use store::{Cipher, Store};

/// Shared by every handler.
pub struct AppState {
    pub store: Store,
}

pub type State = Arc<AppState>;

/// A running server: its address and a handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stop accepting, finish requests in flight, and wait until done.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("server task")??;
        Ok(())
    }
}

fn cipher(args: &ServeArgs) -> anyhow::Result<Cipher> {
    match &args.secret_key {
        Some(hex) => Cipher::from_hex(hex).context("WIZARD_SECRET_KEY / --secret-key"),
        None => Cipher::from_file_or_create(&args.key_path()),
    }
}

/// Open the database, bind the address and serve in the background.
pub async fn start(args: &ServeArgs) -> anyhow::Result<Running> {
    let store = Store::open(&args.database, cipher(args)?).await?;
    let state = Arc::new(AppState { store });
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let app = web::router(state);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(Running { addr, stop, task })
}
