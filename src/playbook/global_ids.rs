//! Step 6 through S/4HANA's SCIM interface (SAP_COM_0465, sap-apis.md E):
//! each approver's IAS user UUID looked up by e-mail (with step 2.1's IAS
//! administrator; else the UUID step 6 holds), their business user read by
//! e-mail and compared; after confirmation the differing ones are written
//! (PATCH, else PUT) and read back, and step 6 is filled in and confirmed
//! when every approver holds it. Bounded concurrency throughout.

use super::ids;
use futures_util::StreamExt;
use serde_json::Value;

use super::Ctx;
use super::change::{Conn, FieldRow, Fill, Flow, Io, Item, Layout, Plan, Progress, Report, Todo};
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
    /// No IAS user UUID for this e-mail (why, in words).
    NotInIas(String),
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
            Status::NotInIas(why) => Todo::Cannot(why.clone()),
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

/// The IAS user UUID of each approver: the one step 6 holds, else looked
/// up by e-mail when step 2.1's administrator is at hand. `Err` is why none.
async fn ias_uuids(
    sap: &SapClient,
    calls: &Calls,
    ias: Option<&IasAccess>,
    approvers: &[Approver],
) -> Result<Vec<Result<String, String>>, SapError> {
    let Some(ias) = ias.filter(|_| approvers.iter().any(|a| a.global_user_id.is_none())) else {
        return Ok(approvers
            .iter()
            .map(|a| {
                a.global_user_id.clone().ok_or_else(|| {
                    "no IAS user UUID yet: give step 2.1's Identity Authentication administrator, or look it up on step 6".to_string()
                })
            })
            .collect());
    };
    // Only those without a UUID are looked up (a list of thousands with
    // UUIDs costs no IAS calls). Owned, so that the future stays Send for
    // every lifetime (rust#100013).
    let emails: Vec<String> = approvers
        .iter()
        .filter(|a| a.global_user_id.is_none())
        .map(|a| a.email.clone())
        .collect();
    let found = crate::sap::ias::users_by_email(
        sap,
        calls,
        (&ias.host, &ias.client_id, &ias.secret),
        emails,
    )
    .await;
    let mut found = found.into_iter();
    approvers
        .iter()
        .map(|a| match &a.global_user_id {
            Some(id) => Ok(Ok(id.clone())),
            None => match found.next() {
                Some(Ok(Some(u))) => Ok(Ok(u.uuid)),
                Some(Ok(None)) | None => Ok(Err(
                    "not found in Identity Authentication by this e-mail".to_string(),
                )),
                Some(Err(e)) => Err(e),
            },
        })
        .collect()
}

/// Read every approver's business user and compare.
async fn read(
    api: &Session<'_>,
    calls: &Calls,
    approvers: &[Approver],
    uuids: Vec<Result<String, String>>,
) -> Result<Vec<Row>, SapError> {
    let rows: Vec<Result<Row, SapError>> =
        futures_util::stream::iter(approvers.iter().cloned().zip(uuids))
            .map(|(a, want)| async move {
                let found = api.scim_user_by_email(calls, &a.email).await?;
                let current = found
                    .as_ref()
                    .and_then(|u| s4::global_id(u))
                    .map(str::to_string);
                let status = match (&want, &found, &current) {
                    (Err(why), _, _) => Status::NotInIas(why.clone()),
                    (_, None, _) => Status::NotInS4,
                    (Ok(want), Some(_), Some(now)) if now.eq_ignore_ascii_case(want) => {
                        Status::Right
                    }
                    (Ok(_), Some(_), Some(now)) => Status::ToChange(now.clone()),
                    (Ok(_), Some(_), None) => Status::ToSet,
                };
                Ok(Row {
                    email: a.email.clone(),
                    ias_uuid: want.ok(),
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

/// The answers step 6's writes need: SCIM access, the approvers, and step
/// 2.1's IAS administrator when it is given (for the look-up).
pub struct Wanted {
    api: String,
    user: String,
    password: String,
    approvers: Vec<Approver>,
    ias: Option<IasAccess>,
}

struct IasAccess {
    host: String,
    client_id: String,
    secret: String,
}

/// S/4HANA's SCIM session, and the client for the IAS look-up.
pub struct Access<'a> {
    scim: Session<'a>,
    sap: &'a SapClient,
}

/// What the run leaves for step 6: the approvers with the UUIDs IAS gave,
/// and whether every one of them now holds it in S/4HANA.
pub struct Written {
    approvers: String,
    all_right: bool,
}

/// Step 6 through SCIM, as one remote change.
#[derive(Clone, Copy, Default)]
pub struct GlobalIds;

impl Flow for GlobalIds {
    type Wanted = Wanted;
    type Session<'a> = Access<'a>;
    type Current = Vec<Row>;
    type Output = Written;

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
            .map_err(|_| "First enter the approvers' e-mail addresses in step 6.".to_string())?;
        let ias = match (ctx.get("ias_host"), ctx.get("ias_client_id")) {
            (Some(host), Some(client_id)) => {
                ctx.secret_to_send("ias_client_secret")?
                    .map(|secret| IasAccess {
                        host: host.to_string(),
                        client_id: client_id.to_string(),
                        secret,
                    })
            }
            _ => None,
        };
        Ok(Wanted {
            api,
            user: user.to_string(),
            password,
            approvers,
            ias,
        })
    }
    async fn connect<'a>(&self, sap: &'a SapClient, calls: &Calls, w: &Wanted) -> Conn<'a, Self> {
        let scim = Session::connect_scim(sap, calls, &w.api, &w.user, &w.password)
            .await
            .map_err(|e| s4::explain(&e))?;
        Ok(Access { scim, sap })
    }
    async fn read(&self, io: Io<'_, '_, Self>) -> Result<Vec<Row>, String> {
        let (s, calls, w) = (io.session, io.calls, io.wanted);
        let uuids = ias_uuids(s.sap, calls, w.ias.as_ref(), &w.approvers)
            .await
            .map_err(|e| match e {
                SapError::Status { status: 401, .. } => "Identity Authentication refused the administrator client ID and secret from step 2.1 (401). Check them there.".to_string(),
                e => e.explain(),
            })?;
        read(&s.scim, calls, &w.approvers, uuids)
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
    async fn apply(&self, io: Io<'_, '_, Self>, rows: Vec<Row>) -> Report<Written> {
        let (s, calls, w, progress) = (io.session, io.calls, io.wanted, io.progress);
        let mut r = Report::new();
        let mut results = write(&s.scim, calls, &rows, progress).await;
        results.sort();
        for (email, outcome) in results {
            match outcome {
                Ok(what) => r.done.push(format!("Global User ID of {email} {what}")),
                Err(e) => r.failed.push(format!("{email}: {e}")),
            }
        }
        let approvers = w
            .approvers
            .iter()
            .zip(&rows)
            .map(
                |(a, row)| match row.ias_uuid.as_ref().or(a.global_user_id.as_ref()) {
                    Some(id) => format!("{}, {id}", a.email),
                    None => a.email.clone(),
                },
            )
            .collect::<Vec<_>>()
            .join("\n");
        let all_right = r.failed.is_empty()
            && rows
                .iter()
                .all(|row| !matches!(row.status, Status::NotInS4 | Status::NotInIas(_)));
        r.output = Some(Written {
            approvers,
            all_right,
        });
        r
    }
    /// Step 6 holds the UUIDs IAS gave; confirmed when every approver's
    /// business user holds its UUID (written and read back, or already).
    fn fills(&self, _w: &Wanted, out: &Written) -> Vec<Fill> {
        vec![Fill {
            page: ids::APPROVERS,
            values: vec![("approvers", out.approvers.clone())],
            ticked_by: out.all_right.then_some("through the S/4HANA API"),
            only: &["global_ids"],
        }]
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
        _out: Option<&Written>,
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
        assert!(
            says(Status::NotInIas(
                "not found in Identity Authentication by this e-mail".into()
            ))
            .starts_with("not found in Identity Authentication")
        );
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
