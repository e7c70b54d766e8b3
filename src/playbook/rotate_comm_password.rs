//! Rotating the communication user's password: S/4HANA's communication
//! user and the destination that signs in with it (tokenServicePassword)
//! in one confirmed plan, the new password saved on step 3.3 before either
//! sees it, so that a failure half-way never loses it.

use serde_json::json;

use super::btp_destination::{self, Destination};
use super::change::{Conn, FieldRow, Fill, Flow, Io, Item, Plan, Report, Todo};
use super::{Ctx, ids};
use crate::sap::destinations::{self, Props};
use crate::sap::s4::{self, CU, Entity};
use crate::sap::{Calls, SapClient};

pub struct Wanted {
    s4_api: String,
    s4_user: String,
    s4_password: String,
    /// The communication user's name (step 3.3).
    user: String,
    /// Step 4's destination, its tokenServicePassword the saved password.
    destination: btp_destination::Wanted,
}

pub struct Sessions<'a> {
    s4: s4::Session<'a>,
    dest: destinations::Session<'a>,
}

pub struct Found {
    user: Option<Entity>,
    destination: Option<Props>,
}

fn plan_of(w: &Wanted, f: &Found) -> Plan {
    let user = match &f.user {
        Some(u) => Item::new("Communication user", &w.user, Todo::Change).with(vec![
            FieldRow::new("ID", str_of(u, "ID"), str_of(u, "ID")),
            FieldRow::new(
                "Password",
                "the current one",
                "a new one: 32 characters, saved encrypted on step 3.3 first",
            ),
        ]),
        None => Item::new(
            "Communication user",
            &w.user,
            Todo::Cannot("S/4HANA has no communication user with this name".into()),
        )
        .noted("Set up steps 3.3 to 3.5 first (through S/4HANA's API or by hand): there is no password to rotate."),
    };
    let destination = match &f.destination {
        Some(_) => Item::new("Destination", &w.destination.name, Todo::Change).with(vec![
            FieldRow::new("tokenServiceUser", &w.user, &w.user),
            FieldRow::new("tokenServicePassword", "(hidden)", "(hidden, the new one)"),
        ]),
        None => Item::new(
            "Destination",
            &w.destination.name,
            Todo::Cannot("BTP has no destination with this name".into()),
        )
        .noted("Create the destination on step 4 first: it is what signs in with the password."),
    };
    Plan::of(vec![user, destination])
}

fn str_of(e: &Entity, k: &str) -> String {
    e.get(k)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The rotation as one remote change (routes: `web::change`, slug
/// `rotate-comm-password`).
#[derive(Clone, Copy, Default)]
pub struct RotateCommPassword;

impl Flow for RotateCommPassword {
    type Wanted = Wanted;
    type Session<'a> = Sessions<'a>;
    type Current = Found;
    type Output = ();

    const PAGE: &'static str = ids::COMM_USER;
    const SYSTEM: &'static str = "SAP";
    const SOURCE: &'static str = "S/4HANA and Destination service APIs";

    fn wanted(&self, ctx: &Ctx) -> Result<Wanted, String> {
        let (s4_api, s4_user, s4_password) = super::s4_setup::api_access(ctx)?;
        let comm_user = ctx
            .get("comm_user")
            .ok_or("First enter the communication user (step 3.3).")?;
        Ok(Wanted {
            s4_api,
            s4_user,
            s4_password,
            user: comm_user.into(),
            destination: Destination.wanted(ctx)?,
        })
    }
    async fn connect<'a>(&self, sap: &'a SapClient, calls: &Calls, w: &Wanted) -> Conn<'a, Self> {
        let (s4, dest) = tokio::join!(
            s4::Session::connect(sap, calls, &w.s4_api, &w.s4_user, &w.s4_password),
            destinations::connect(sap, calls, &w.destination.key),
        );
        Ok(Sessions {
            s4: s4.map_err(|e| format!("S/4HANA: {}", s4::explain(&e)))?,
            dest: dest.map_err(|e| format!("Destination service: {}", e.explain()))?,
        })
    }
    async fn read(&self, io: Io<'_, '_, Self>) -> Result<Found, String> {
        let (s, calls, w) = (io.session, io.calls, io.wanted);
        let filter = format!("Name eq '{}'", w.user.replace('\'', "''"));
        let q = [("$filter", filter.as_str())];
        let (users, destination) = tokio::join!(
            s.s4.list(calls, CU, "CommunicationUsers", Some(&q)),
            s.dest.get(calls, &w.destination.name),
        );
        Ok(Found {
            user: users.map_err(|e| s4::explain(&e))?.into_iter().next(),
            destination: destination.map_err(|e| e.explain())?,
        })
    }
    fn plan(&self, w: &Wanted, c: &Found) -> Plan {
        plan_of(w, c)
    }
    /// A new password on step 3.3 before S/4HANA or BTP sees it.
    fn prepare(&self, _w: &Wanted, _plan: &Plan) -> Result<Vec<Fill>, String> {
        Ok(vec![Fill {
            page: ids::COMM_USER,
            values: vec![("comm_password", super::s4_setup::strong_password()?)],
            ticked_by: None,
            only: &[],
        }])
    }
    async fn apply(&self, io: Io<'_, '_, Self>, c: Found) -> Report<()> {
        let (s, calls, w, progress) = (io.session, io.calls, io.wanted, io.progress);
        let mut r = Report::new();
        let Some(user) = &c.user else {
            r.failed
                .push("The plan cannot be carried out: read it again.".into());
            return r;
        };
        let Some(password) = w
            .destination
            .props
            .get("tokenServicePassword")
            .and_then(serde_json::Value::as_str)
        else {
            r.failed
                .push("Step 3.3 holds no password: nothing was changed.".into());
            return r;
        };
        progress.say(format!("Setting {}'s new password in S/4HANA", w.user));
        let id = format!("'{}'", str_of(user, "ID").replace('\'', "''"));
        if let Err(e) =
            s.s4.patch(
                calls,
                CU,
                "CommunicationUsers",
                &id,
                &json!({"Password": password}),
            )
            .await
        {
            r.failed.push(format!(
                "S/4HANA did not take the new password: {}. Nothing else was changed; the destination still signs in with the old one, and step 3.3 holds the new one: confirm again to finish.",
                s4::explain(&e)
            ));
            return r;
        }
        r.done.push(format!(
            "S/4HANA's communication user {} has the new password.",
            w.user
        ));
        progress.say(format!(
            "Giving the destination {} the new password",
            w.destination.name
        ));
        match s.dest.write(calls, &w.destination.props, true).await {
            Ok(_) => r.done.push(format!(
                "The destination {} signs in with the new password.",
                w.destination.name
            )),
            Err(e) => r.failed.push(format!(
                "S/4HANA has the new password, but the destination {} could not be updated: {}. Until it is, Task Center cannot sign in: confirm again now (step 3.3 holds the password).",
                w.destination.name,
                e.explain()
            )),
        }
        r.output = Some(());
        r
    }
    fn failure(&self, _done: &[String], failed: &[String]) -> String {
        failed.join(" ")
    }
    fn finished(
        &self,
        w: &Wanted,
        _output: Option<&()>,
        _done: &[String],
        _unfilled: &[String],
    ) -> Result<String, String> {
        Ok(format!(
            "The communication user {} and the destination {} use the new password (saved encrypted on step 3.3). Run Verify with a customer user to see the SAML bearer exchange work with it.",
            w.user, w.destination.name
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DestinationKey;

    fn wanted() -> Wanted {
        Wanted {
            s4_api: "https://s4".into(),
            s4_user: "api".into(),
            s4_password: "p".into(),
            user: "TASKCENTERCOM".into(),
            destination: btp_destination::Wanted {
                key: DestinationKey {
                    uri: String::new(),
                    url: String::new(),
                    clientid: String::new(),
                    clientsecret: String::new(),
                },
                props: [("tokenServicePassword", "new-secret-password")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.into())))
                    .collect(),
                name: "S4HANACloud".into(),
                s4: "my1.s4hana.ondemand.com".into(),
            },
        }
    }

    #[test]
    fn both_sides_change_together_and_the_password_is_never_shown() {
        let user = json!({"ID": "CC0000001", "Name": "TASKCENTERCOM"})
            .as_object()
            .cloned();
        let f = Found {
            user,
            destination: Some(Props::new()),
        };
        let plan = plan_of(&wanted(), &f);
        assert_eq!(plan.writes(), 2);
        assert!(
            !serde_json::to_string(&plan)
                .unwrap_or_default()
                .contains("new-secret-password")
        );
        let none = Found {
            user: None,
            destination: Some(Props::new()),
        };
        assert!(plan_of(&wanted(), &none).blocked());
        let no_destination = Found {
            user: f.user.clone(),
            destination: None,
        };
        assert!(plan_of(&wanted(), &no_destination).blocked());
    }
}
