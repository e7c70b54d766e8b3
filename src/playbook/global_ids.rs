//! Step 6 through S/4HANA's SCIM interface (SAP_COM_0465, sap-apis.md E):
//! each approver's business user read by e-mail and compared with the IAS
//! user UUID the look-up found; after confirmation the differing ones are
//! written (PATCH, else PUT) and read back. Bounded concurrency throughout.

use super::ids;
use futures_util::StreamExt;
use serde_json::Value;

use super::Ctx;
use super::change::{FieldRow, Flow, Item, Layout, Plan, Progress, Report, Todo};
use crate::domain::{self, Approver};
use crate::sap::s4::{self, Session};
use crate::sap::{Calls, SapClient, SapError};

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
    fn item(&self) -> Item {
        let todo = match &self.status {
            Status::Right => Todo::Right,
            Status::ToSet | Status::ToChange(_) => Todo::Change,
            Status::NotInS4 => Todo::Cannot("not found in S/4HANA".into()),
            Status::NotInIas => Todo::Cannot(
                "not found in Identity Authentication (look it up in step 6 first)".into(),
            ),
        };
        let now = match &self.status {
            Status::ToChange(old) => old.clone(),
            Status::Right => self.ias_uuid.clone().unwrap_or_default(),
            _ => String::new(),
        };
        let user = self.s4_user.clone().unwrap_or_default();
        Item::new("Approver", &self.email, todo).with(vec![
            FieldRow::new("Business user", user.clone(), user),
            FieldRow::new(
                "Global User ID",
                now,
                self.ias_uuid.clone().unwrap_or_default(),
            ),
        ])
    }
    fn writes(&self) -> bool {
        matches!(self.status, Status::ToSet | Status::ToChange(_))
    }
}

/// Read every approver's business user and compare.
async fn read(
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

/// Write the rows that differ; read each back. `(e-mail, outcome)` per write.
/// `progress` counts them as they finish, for a progress page.
async fn write(
    api: &Session<'_>,
    calls: &Calls,
    rows: &[Row],
    progress: &Progress,
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
            progress.step();
            (r.email.clone(), outcome)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

/// The answers step 6's writes need: SCIM access and the approvers with the
/// user UUIDs of the IAS look-up.
pub struct Wanted {
    api: String,
    user: String,
    password: String,
    approvers: Vec<Approver>,
}

/// Step 6 through SCIM, as one remote change.
#[derive(Clone, Copy, Default)]
pub struct GlobalIds;

impl Flow for GlobalIds {
    type Wanted = Wanted;
    type Session<'a> = Session<'a>;
    type Current = Vec<Row>;
    type Output = ();

    const PAGE: &'static str = ids::APPROVERS;
    const SYSTEM: &'static str = "S/4HANA";
    const SOURCE: &'static str = "S/4HANA API";
    fn wanted(&self, ctx: &Ctx) -> Result<Wanted, String> {
        let api = ctx
            .s4()
            .map(|s| format!("https://{}", s.api_host()))
            .ok_or("First enter the S/4HANA host (Customer systems).")?;
        let (Some(user), Some(password)) = (
            ctx.get("scim_api_user"),
            ctx.secret_to_send("scim_api_password")?,
        ) else {
            return Err("First save the SCIM API user and its password.".into());
        };
        let approvers = domain::parse_approvers(ctx.get("approvers").unwrap_or(""))
            .map(|c| c.value)
            .map_err(|_| "First enter the approvers in step 6 and look up their user UUIDs in Identity Authentication.".to_string())?;
        Ok(Wanted {
            api,
            user: user.to_string(),
            password,
            approvers,
        })
    }
    async fn connect<'a>(
        &self,
        sap: &'a SapClient,
        calls: &Calls,
        w: &Wanted,
    ) -> Result<Session<'a>, String> {
        Session::connect_scim(sap, calls, &w.api, &w.user, &w.password)
            .await
            .map_err(|e| s4::explain(&e))
    }
    async fn read<'s>(
        &self,
        s: &Self::Session<'s>,
        calls: &Calls,
        w: &Wanted,
    ) -> Result<Vec<Row>, String> {
        read(s, calls, &w.approvers)
            .await
            .map_err(|e| s4::explain(&e))
    }
    fn plan(&self, _w: &Wanted, rows: &Vec<Row>) -> Plan {
        Plan {
            items: rows.iter().map(Row::item).collect(),
            layout: Layout::Rows,
            warnings: Vec::new(),
        }
    }
    async fn apply<'s>(
        &self,
        s: &Self::Session<'s>,
        calls: &Calls,
        _w: &Wanted,
        rows: Vec<Row>,
        progress: &Progress,
    ) -> Report<()> {
        let mut r = Report::new();
        let mut results = write(s, calls, &rows, progress).await;
        results.sort();
        for (email, outcome) in results {
            match outcome {
                Ok(what) => r.done.push(format!("Global User ID of {email} {what}")),
                Err(e) => r.failed.push(format!("{email}: {e}")),
            }
        }
        r.output = Some(());
        r
    }
    fn failure(&self, done: &[String], failed: &[String]) -> String {
        format!(
            "{} of {} Global User IDs could not be written; the others are done. Run it again for the rest.",
            failed.len(),
            failed.len() + done.len()
        )
    }
    fn finished(
        &self,
        _w: &Wanted,
        _out: Option<&()>,
        done: &[String],
        _unfilled: &[String],
    ) -> Result<String, String> {
        Ok(format!(
            "{} Global User IDs written and read back. If Identity Provisioning runs for this S/4HANA system, its next job may overwrite them: map the IAS user UUID there too.",
            done.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: Status) -> Row {
        Row {
            email: "a@acme.example".into(),
            ias_uuid: Some("u-1".into()),
            s4_user: Some("CB1".into()),
            status,
            resource: None,
        }
    }

    #[test]
    fn each_status_reads_as_the_list_says_it() {
        let says = |s: Status| row(s).item().short_verdict();
        assert_eq!(says(Status::Right), "already right");
        assert_eq!(says(Status::ToSet), "to set");
        assert_eq!(says(Status::ToChange("old".into())), "to change (now old)");
        assert_eq!(says(Status::NotInS4), "not found in S/4HANA");
        assert!(says(Status::NotInIas).starts_with("not found in Identity Authentication"));
    }

    #[test]
    fn only_rows_to_set_or_change_are_written_and_others_do_not_block() {
        let rows = [row(Status::Right), row(Status::ToSet), row(Status::NotInS4)];
        let plan = Plan {
            items: rows.iter().map(Row::item).collect(),
            layout: Layout::Rows,
            warnings: Vec::new(),
        };
        assert_eq!(plan.writes(), 1);
        assert!(!plan.blocked());
        assert_eq!(rows.iter().filter(|r| r.writes()).count(), 1);
    }
}
