//! The web layer's shared state: what every handler reaches (the store, the
//! one SAP client, the bounded in-memory maps), and what the use cases need of it.

use std::sync::Arc;

use crate::sap::SapClient;
use crate::service;
use crate::store::{SessionLimits, Store};

/// Shared by every handler.
pub struct AppState {
    pub store: Store,
    pub sap: SapClient,
    /// In sandbox mode: where its demo page is.
    pub sandbox_url: Option<String>,
    pub secure_cookies: bool,
    pub session_limits: SessionLimits,
    /// Where people open the wizard: the base of every link it hands out.
    pub public_url: String,
    pub throttle: super::Throttle,
    /// Forms submitted after their session ended, kept for sign-in.
    pub kept_forms: super::KeptForms,
    /// Customer users' tokens for Verify: memory only.
    pub customer_tokens: super::CustomerTokens,
    /// Remote changes running in the background, one per setup and flow.
    pub runs: service::change::Runs,
    /// Setup pages as last rendered, per setup revision and viewer.
    pub pages: super::PageCache,
    /// `GET /metrics` answers only a bearer of this token (off without it).
    pub metrics_token: Option<String>,
    /// `--watch-webhook`: told of every watched setup's changes of state.
    pub watch_webhook: Option<String>,
    /// The watch's e-mail, when `--smtp-url` is given.
    pub mailer: Option<service::watch::Mailer>,
    /// The watch's calls to SAP in flight, across its runs.
    pub watch_calls: Arc<crate::sap::Bound>,
}

pub type State = Arc<AppState>;

impl service::Deps for AppState {
    fn store(&self) -> &Store {
        &self.store
    }
    fn sap(&self) -> &SapClient {
        &self.sap
    }
    fn runs(&self) -> &service::change::Runs {
        &self.runs
    }
    fn mailer(&self) -> Option<&service::watch::Mailer> {
        self.mailer.as_ref()
    }
    fn watch_calls(&self) -> Option<&Arc<crate::sap::Bound>> {
        Some(&self.watch_calls)
    }
    fn watch_webhook(&self) -> Option<&str> {
        self.watch_webhook.as_deref()
    }
}
