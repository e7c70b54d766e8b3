//! Verify's checks for a setup as one use case: the offline ones and those
//! that read SAP with its keys (and, with a customer user's token, theirs),
//! the calls logged — for the Verify page and the watch alike.

use super::{Deps, with_ctx};
use crate::playbook::verify::{self, Check, CustomerUser};
use crate::sap::Calls;
use crate::store::{Setup, Store};

/// Every check, the online ones concurrently; the calls are logged under
/// "verify" or "watch" (`who` ran them), made through `calls` (bounded
/// with other runs', for the watch).
pub async fn run(
    d: &impl Deps,
    setup: &Setup,
    user: Option<CustomerUser>,
    page: &str,
    who: &str,
    calls: Calls,
) -> anyhow::Result<Vec<Check>> {
    let offline = from_answers(d.store(), setup).await?;
    let mut inputs = with_ctx(d.store(), setup, |ctx| verify::online_inputs(ctx));
    inputs.user = user;
    let online = verify::online(inputs, d.sap(), &calls).await;
    d.store()
        .record_calls(&setup.id, page, who, &calls.take())
        .await?;
    Ok(offline.into_iter().chain(online).collect())
}

/// The checks from the answers: the setup's own, and those across its
/// customer's systems (their answers too; no SAP call).
pub async fn from_answers(store: &Store, setup: &Setup) -> anyhow::Result<Vec<Check>> {
    let mut checks = with_ctx(store, setup, |ctx| verify::offline(ctx));
    let systems = super::landscape::systems_only(store, &setup.customer_id).await?;
    checks.extend(verify::landscape::checks(&systems, &setup.id));
    Ok(checks)
}
