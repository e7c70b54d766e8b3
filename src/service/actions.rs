//! A step's own SAP call (check the key, fetch the certificate, look up the
//! Global User IDs): its inputs read from the answers, the call, its log,
//! what it fetched merged into the page, and its outcome kept on the page.

use super::{Deps, answers, with_ctx};
use crate::fmt;
use crate::playbook::Page;
use crate::playbook::actions::{self, Action, Outcome};
use crate::sap::Calls;
use crate::store::Setup;

/// Run `action` for `page` now. `Ok(None)`: the setup is gone.
pub async fn run(
    d: &impl Deps,
    setup: &Setup,
    page: &'static Page,
    action: Action,
    user: &str,
) -> anyhow::Result<Option<Outcome>> {
    let store = d.store();
    let now = fmt::now();
    let mut outcome = match with_ctx(store, setup, |ctx| actions::inputs(action, ctx)) {
        Err(missing) => Outcome::fail(None, missing),
        Ok(inputs) => {
            let calls = Calls::default();
            let outcome = actions::run(action, inputs, d.sap(), &calls, now).await;
            store
                .record_calls(&setup.id, page.id, user, &calls.take())
                .await?;
            outcome
        }
    };
    if let Some(extra) = &outcome.save {
        match answers::merge(store, setup, page, extra, user).await? {
            None => return Ok(None),
            Some(Ok(_)) => {}
            Some(Err((who, when))) => {
                outcome = Outcome::fail(
                    None,
                    format!(
                        "While SAP answered, {who} saved this page ({when}). Their answers are kept and what SAP returned was not saved. Check the page, then run \"{}\" again.",
                        action.label()
                    ),
                );
            }
        }
    }
    store
        .set_outcome(&setup.id, page.id, outcome.ok, &outcome.message, now)
        .await?;
    Ok(Some(outcome))
}
