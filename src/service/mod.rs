//! The use cases between `web` and the core: what a request asks of the
//! wizard (save answers, run a remote change), with typed outcomes. Knows
//! the store, the playbook and the SAP client; never HTTP.

pub mod actions;
pub mod answers;
pub mod change;
mod jobs;
pub mod landscape;
pub mod verify;
pub mod watch;

pub use jobs::{Job, Jobs, WAIT};

use crate::playbook::Ctx;
use crate::sap::SapClient;
use crate::store::{Setup, Store};

/// What the use cases need of the running application (implemented by the
/// web layer's state, which owns it).
pub trait Deps: Send + Sync + 'static {
    fn store(&self) -> &Store;
    fn sap(&self) -> &SapClient;
    /// Remote changes running in the background, one per setup and flow.
    fn runs(&self) -> &change::Runs;
    /// Where the watch's e-mails go, when SMTP is set up.
    fn mailer(&self) -> Option<&watch::Mailer> {
        None
    }
    /// The bound on the watch's calls to SAP in flight, across its runs.
    fn watch_calls(&self) -> Option<&std::sync::Arc<crate::sap::Bound>> {
        None
    }
    /// The webhook told of every watched setup's news (`--watch-webhook`).
    fn watch_webhook(&self) -> Option<&str> {
        None
    }
}

/// The answers of `setup` as the playbook reads them (secrets revealed on use).
pub fn with_ctx<T>(store: &Store, setup: &Setup, f: impl FnOnce(&mut Ctx) -> T) -> T {
    let reveal = |c: &str| store.reveal(c);
    let mask = |c: &str| store.mask(c);
    let mut ctx = Ctx::new(setup, &reveal, crate::fmt::now()).with_masks(&mask);
    f(&mut ctx)
}
