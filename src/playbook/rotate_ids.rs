//! Rotating the IDS destination's credentials: after a new secret for the
//! IAS administrator is made in the admin console and saved on step 2.1,
//! the wizard checks it at IAS first, then gives it to the destination
//! `Identity_Authentication_Connectivity_IDS`; the old secret is left for
//! the consultant to delete in IAS. One confirmed plan.

use serde_json::Value;

use super::change::{Conn, FieldRow, Flow, Io, Item, Plan, Report, Todo};
use super::{Ctx, ids};
use crate::domain::DestinationKey;
use crate::sap::destinations::{self, Props};
use crate::sap::{Calls, SapClient, ias};

pub const NAME: &str = "Identity_Authentication_Connectivity_IDS";

pub struct Wanted {
    key: DestinationKey,
    ias_host: String,
    client_id: String,
    secret: String,
}

fn plan_of(w: &Wanted, now: Option<&Props>) -> Plan {
    let Some(now) = now else {
        return Plan::of(vec![
            Item::new(
                "Destination",
                NAME,
                Todo::Cannot("BTP has no such destination".into()),
            )
            .noted("The booster (or the BTP half) creates it: nothing to rotate yet."),
        ]);
    };
    let got = |k: &str| now.get(k).and_then(Value::as_str).unwrap_or("");
    let same_secret = got("Password") == w.secret;
    let url = format!("https://{}/scim", w.ias_host);
    Plan::of(vec![Item::compared(
        "Destination",
        NAME,
        vec![
            FieldRow::new("URL", got("URL"), &url),
            FieldRow::new("User", got("User"), &w.client_id),
            FieldRow::new(
                "Password",
                if same_secret {
                    "(set)"
                } else {
                    "(another value)"
                },
                "(set)",
            ),
        ],
    )])
}

/// The rotation as one remote change (routes: `web::change`, slug
/// `rotate-ids`).
#[derive(Clone, Copy, Default)]
pub struct RotateIds;

impl Flow for RotateIds {
    type Wanted = Wanted;
    type Session<'a> = (destinations::Session<'a>, &'a SapClient);
    type Current = Option<Props>;
    type Output = ();

    const PAGE: &'static str = ids::IAS_TRUST;
    const SYSTEM: &'static str = "BTP";
    const SOURCE: &'static str = "Destination service API";
    const READ_BACK: bool = true;

    fn wanted(&self, ctx: &Ctx) -> Result<Wanted, String> {
        let key = super::destination_key(ctx)?
            .ok_or("First enter the Destination service key (step 3.2).")?;
        let (Some(host), Some(id), Some(secret)) = (
            ctx.get("ias_host"),
            ctx.get("ias_client_id"),
            ctx.secret_to_send("ias_client_secret")?,
        ) else {
            return Err(
                "First save the IAS administrator's client ID and its new secret on step 2.1."
                    .into(),
            );
        };
        Ok(Wanted {
            key,
            ias_host: host.into(),
            client_id: id.into(),
            secret,
        })
    }
    async fn connect<'a>(&self, sap: &'a SapClient, calls: &Calls, w: &Wanted) -> Conn<'a, Self> {
        let d = destinations::connect(sap, calls, &w.key)
            .await
            .map_err(|e| e.explain())?;
        Ok((d, sap))
    }
    async fn read(&self, io: Io<'_, '_, Self>) -> Result<Option<Props>, String> {
        let (s, calls) = (io.session, io.calls);
        s.0.get(calls, NAME).await.map_err(|e| e.explain())
    }
    fn plan(&self, w: &Wanted, c: &Option<Props>) -> Plan {
        plan_of(w, c.as_ref())
    }
    async fn apply(&self, io: Io<'_, '_, Self>, c: Option<Props>) -> Report<()> {
        let (s, calls, w, progress) = (io.session, io.calls, io.wanted, io.progress);
        let mut r = Report::new();
        let Some(mut props) = c else {
            r.failed.push(format!("BTP has no destination {NAME}."));
            return r;
        };
        // The new secret first, where it is used: IAS's SCIM API.
        progress.say("Checking the new secret at Identity Authentication".into());
        if let Err(e) = ias::user_by_email(
            s.1,
            calls,
            &w.ias_host,
            &w.client_id,
            &w.secret,
            "credential-check@taskcenter-wizard.invalid",
        )
        .await
        {
            r.failed.push(format!(
                "Identity Authentication refuses step 2.1's client ID and secret ({}): the destination was left as it is. Check the secret in the admin console (Applications > the administrator's system > Client Authentication) and save it on step 2.1 again.",
                e.explain()
            ));
            return r;
        }
        r.done
            .push("Identity Authentication accepts step 2.1's client ID and secret.".into());
        progress.say(format!("Giving {NAME} the new secret"));
        for (k, v) in [
            ("URL", format!("https://{}/scim", w.ias_host)),
            ("User", w.client_id.clone()),
            ("Password", w.secret.clone()),
        ] {
            props.insert(k.into(), Value::String(v));
        }
        match s.0.write(calls, &props, true).await {
            Ok(_) => r.done.push(format!("Updated the destination {NAME}.")),
            Err(e) => r.failed.push(format!(
                "Updating the destination {NAME} failed: {}. The old secret still works in IAS until you delete it: confirm again.",
                e.explain()
            )),
        }
        r.output = Some(());
        r
    }
    fn finished(
        &self,
        _w: &Wanted,
        _output: Option<&()>,
        done: &[String],
        _unfilled: &[String],
    ) -> Result<String, String> {
        Ok(if done.iter().any(|d| d.starts_with("Updated")) {
            format!(
                "The destination {NAME} uses step 2.1's secret, which IAS accepts. Delete the old secret in the IAS admin console now."
            )
        } else {
            format!("The destination {NAME} already uses step 2.1's secret: nothing was written.")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_secret_changes_the_destination_and_the_same_one_is_left() {
        let w = Wanted {
            key: DestinationKey {
                uri: String::new(),
                url: String::new(),
                clientid: String::new(),
                clientsecret: String::new(),
            },
            ias_host: "acme.accounts.ondemand.com".into(),
            client_id: "admin".into(),
            secret: "new".into(),
        };
        let mut now = Props::new();
        for (k, v) in [
            ("URL", "https://acme.accounts.ondemand.com/scim"),
            ("User", "admin"),
            ("Password", "old"),
        ] {
            now.insert(k.into(), Value::String(v.into()));
        }
        let plan = plan_of(&w, Some(&now));
        assert_eq!(plan.writes(), 1);
        assert!(
            !serde_json::to_string(&plan)
                .unwrap_or_default()
                .contains("\"old\"")
        );
        now.insert("Password".into(), Value::String("new".into()));
        assert!(plan_of(&w, Some(&now)).nothing_to_do());
        assert!(plan_of(&w, None).blocked());
    }
}
