//! Step 6 through S/4HANA's SCIM interface (SAP_COM_0465, sap-apis.md E):
//! each approver's business user read by e-mail and compared with the IAS
//! user UUID the look-up found; after confirmation the differing ones are
//! written (PATCH, else PUT) and read back. Bounded concurrency throughout.

use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::StreamExt;
use serde_json::Value;

use crate::domain::Approver;
use crate::sap::s4::{self, Session};
use crate::sap::{Calls, SapError};

/// How many SCIM calls run at once (never 500 at a time).
pub const CONCURRENCY: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Status {
    Right,
    ToSet,
    /// To change, from this old value.
    ToChange(String),
    NotInS4,
    /// The IAS look-up gave no user UUID for this e-mail.
    NotInIas,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub email: String,
    pub ias_uuid: Option<String>,
    pub s4_user: Option<String>,
    pub status: Status,
    #[serde(skip)]
    resource: Option<Value>,
}

impl Row {
    pub fn label(&self) -> String {
        match &self.status {
            Status::Right => "already right".into(),
            Status::ToSet => "to set".into(),
            Status::ToChange(old) => format!("to change (now {old})"),
            Status::NotInS4 => "not found in S/4HANA".into(),
            Status::NotInIas => {
                "not found in Identity Authentication (look it up in step 6 first)".into()
            }
        }
    }
    pub fn writes(&self) -> bool {
        matches!(self.status, Status::ToSet | Status::ToChange(_))
    }
}

/// Read every approver's business user and compare.
pub async fn plan(
    api: &Session<'_>,
    calls: &Calls,
    approvers: &[Approver],
) -> Result<Vec<Row>, SapError> {
    let rows: Vec<Result<Row, SapError>> = futures_util::stream::iter(approvers.iter().cloned())
        .map(|a| async move {
            let found = api.scim_user_by_email(calls, &a.email).await?;
            let current = found
                .as_ref()
                .and_then(|u| s4::global_id(u))
                .map(str::to_string);
            let status = match (&a.global_user_id, &found, &current) {
                (None, _, _) => Status::NotInIas,
                (_, None, _) => Status::NotInS4,
                (Some(want), Some(_), Some(now)) if now.eq_ignore_ascii_case(want) => Status::Right,
                (Some(_), Some(_), Some(now)) => Status::ToChange(now.clone()),
                (Some(_), Some(_), None) => Status::ToSet,
            };
            Ok(Row {
                email: a.email.clone(),
                ias_uuid: a.global_user_id.clone(),
                s4_user: found
                    .as_ref()
                    .and_then(|u| u.get("userName"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                status,
                resource: found,
            })
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    rows.into_iter().collect()
}

/// A fingerprint of the plan the consultant saw.
pub fn fingerprint(rows: &[Row]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(
        serde_json::to_string(rows).unwrap_or_default().as_bytes(),
    ))
}

/// Write the rows that differ; read each back. `(e-mail, outcome)` per write.
/// `finished` counts them as they finish, for a progress page.
pub async fn apply(
    api: &Session<'_>,
    calls: &Calls,
    rows: &[Row],
    finished: &AtomicUsize,
) -> Vec<(String, Result<String, String>)> {
    let todo: Vec<Row> = rows.iter().filter(|r| r.writes()).cloned().collect();
    futures_util::stream::iter(todo)
        .map(|r| async move {
            let (Some(user), Some(uuid)) = (&r.resource, &r.ias_uuid) else {
                return (r.email.clone(), Err("nothing to write".to_string()));
            };
            let written = api.scim_set_global_id(calls, user, uuid).await;
            let outcome = match written {
                Err(e) => Err(s4::explain(&e)),
                Ok(_) => match api.scim_user_by_email(calls, &r.email).await {
                    Ok(Some(back))
                        if s4::global_id(&back).is_some_and(|g| g.eq_ignore_ascii_case(uuid)) =>
                    {
                        Ok(match &r.status {
                            Status::ToChange(old) => format!("changed from {old} to {uuid}"),
                            _ => format!("set to {uuid}"),
                        })
                    }
                    Ok(_) => Err("written, but reading it back shows another value".to_string()),
                    Err(e) => Err(s4::explain(&e)),
                },
            };
            finished.fetch_add(1, Ordering::Relaxed);
            (r.email.clone(), outcome)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}
