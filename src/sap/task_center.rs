//! Task Center service reachability (sap-apis.md section 2).

use super::{Auth, Calls, Req, SapClient, SapError, Service};

pub enum Reach {
    /// The connectors list answered; how many connectors it holds.
    Listed(usize),
    /// 401/403: the service is there and the key is fine, but listing
    /// connectors needs a user token of a TaskCenterAdmin.
    NeedsUserToken(u16),
}

pub async fn connectors(
    c: &SapClient,
    calls: &Calls,
    inbox_rest_url: &str,
    token: &str,
) -> Result<Reach, SapError> {
    let url = format!("{}/v1/connectors", inbox_rest_url.trim_end_matches('/'));
    let resp = c
        .send(
            calls,
            Req::get(Service::TaskCenter, url, Auth::Bearer(token)),
        )
        .await?;
    match resp.status {
        200 => {
            let v = resp.json()?;
            let n = v
                .as_array()
                .map(Vec::len)
                .or_else(|| v.get("value").and_then(|x| x.as_array()).map(Vec::len))
                .unwrap_or(0);
            Ok(Reach::Listed(n))
        }
        401 | 403 => Ok(Reach::NeedsUserToken(resp.status)),
        _ => Err(resp.into_error()),
    }
}
