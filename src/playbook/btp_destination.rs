//! Step 4's destination through the Destination service, as a remote change:
//! the destination read by name (and every other one, for a second
//! destination to the same S/4HANA system: failure mode 9), a plan property by
//! property, and after confirmation the write and a read back to compare.

use super::ids;
use serde_json::{Map, Value};

use super::Ctx;
use super::change::{Conn, FieldRow, Flow, Io, Item, Plan, Report, Todo};
use crate::domain::{self, DestinationKey};
use crate::sap::destinations::{self, Props, Session, Upsert};
use crate::sap::{Calls, SapClient};

/// Properties never shown: their values are secrets.
const SECRET_PROPERTIES: [&str; 2] = ["tokenServicePassword", "Password"];

pub struct Wanted {
    pub(super) key: DestinationKey,
    pub(super) props: Props,
    pub(super) name: String,
    /// The S/4HANA host the destination points to.
    pub(super) s4: String,
}

pub struct Current {
    existing: Option<Props>,
    /// Other destinations of the subaccount that point to the same system:
    /// (name, whether it is a Task Center destination: `tc.*` properties).
    same_system: Vec<(String, bool)>,
}

fn shown(k: &str, v: Option<&Value>) -> String {
    match v {
        None => String::new(),
        Some(_) if SECRET_PROPERTIES.contains(&k) => "(hidden)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn host_of(v: Option<&Value>) -> Option<String> {
    Some(domain::S4Host::parse(v?.as_str()?).ok()?.value.host())
}

fn plan_of(w: &Wanted, c: &Current) -> Plan {
    let task_center: Vec<&str> = c
        .same_system
        .iter()
        .filter(|(_, tc)| *tc)
        .map(|(n, _)| n.as_str())
        .collect();
    // Never a second Task Center destination for one system (section N rule
    // 2: adopt what exists; failure mode 9): only when this one already
    // points there does the write add no second one.
    let points_here = c
        .existing
        .as_ref()
        .and_then(|e| host_of(e.get("URL")))
        .is_some_and(|h| h == w.s4);
    let item = match &c.existing {
        _ if !points_here && !task_center.is_empty() => Item::new(
            "Destination",
            &w.name,
            Todo::Cannot(format!(
                "a Task Center destination for this S/4HANA system exists already: {} (SAP's formation, the booster's sample or an earlier setup may have made it). A second one would make every task appear twice (failure mode 9): enter its name on step 4 so that the wizard updates it, or delete it in the cockpit first",
                task_center.join(", ")
            )),
        ),
        None => Item::new("Destination", &w.name, Todo::Create).with(
            w.props
                .iter()
                .map(|(k, v)| FieldRow::new(k, "", shown(k, Some(v))))
                .collect(),
        ),
        Some(e) => {
            let mut fields: Vec<FieldRow> = w
                .props
                .iter()
                .map(|(k, v)| {
                    let now = shown(k, e.get(k));
                    let want = match e.get(k) {
                        Some(old) if SECRET_PROPERTIES.contains(&k.as_str()) && old != v => {
                            "(hidden, another value)".into()
                        }
                        _ => shown(k, Some(v)),
                    };
                    FieldRow::new(k, now, want)
                })
                .collect();
            // The destination is replaced whole: what the wizard does not set goes.
            fields.extend(
                e.iter()
                    .filter(|(k, _)| !w.props.contains_key(*k))
                    .map(|(k, v)| FieldRow::new(k, shown(k, Some(v)), "(removed)")),
            );
            Item::compared("Destination", &w.name, fields)
        }
    };
    let mut plan = Plan::of(vec![item]);
    plan.warnings = c
        .same_system
        .iter()
        .map(|(other, _)| format!(
            "Warning: the destination {other} also points to {}. Two destinations to one system make every task appear twice: delete it, or point it elsewhere.",
            w.s4
        ))
        .collect();
    plan
}

/// Step 4's destination, as one remote change.
#[derive(Clone, Copy, Default)]
pub struct Destination;

impl Flow for Destination {
    type Wanted = Wanted;
    type Session<'a> = Session<'a>;
    type Current = Current;
    /// Created or updated.
    type Output = &'static str;

    const PAGE: &'static str = ids::DESTINATION;
    const SYSTEM: &'static str = "BTP";
    const SOURCE: &'static str = "Destination service API";
    const OUTCOME_ON_PAGE: bool = true;
    /// What BTP holds is what Task Center will use.
    const READ_BACK: bool = true;

    /// What the destination's properties need from the answers; the message
    /// names what is missing (a secret bound to other hosts is never sent).
    fn wanted(&self, ctx: &Ctx) -> Result<Wanted, String> {
        let key = super::destination_key(ctx)?
            .ok_or("First enter the Destination service key (step 3.2).")?;
        let s4 = ctx.s4().ok_or("First enter the S/4HANA host.")?;
        ctx.secret_to_send("comm_password")?
            .ok_or("First enter the communication user's password (step 3.3).")?;
        let props: Map<String, Value> = super::destination(ctx, true)
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect();
        if let Some((k, _)) = props.iter().find(|(_, v)| v.as_str() == Some("")) {
            return Err(format!(
                "The destination property {k} has no value yet; complete the earlier steps first."
            ));
        }
        Ok(Wanted {
            key,
            name: ctx.get("destination_name").unwrap_or("").to_string(),
            props,
            s4: s4.host(),
        })
    }
    async fn connect<'a>(&self, sap: &'a SapClient, calls: &Calls, w: &Wanted) -> Conn<'a, Self> {
        destinations::connect(sap, calls, &w.key)
            .await
            .map_err(|e| e.explain())
    }
    async fn read(&self, io: Io<'_, '_, Self>) -> Result<Current, String> {
        let (s, calls, w) = (io.session, io.calls, io.wanted);
        let (existing, all) = tokio::join!(s.get(calls, &w.name), s.list(calls));
        let same_system = all
            .map_err(|e| e.explain())?
            .iter()
            .filter(|d| d.get("Name").and_then(Value::as_str) != Some(w.name.as_str()))
            .filter(|d| host_of(d.get("URL")).is_some_and(|h| h == w.s4))
            .filter_map(|d| {
                let tc = d.keys().any(|k| k.starts_with("tc."));
                d.get("Name")
                    .and_then(Value::as_str)
                    .map(|n| (n.to_string(), tc))
            })
            .collect();
        Ok(Current {
            existing: existing.map_err(|e| e.explain())?,
            same_system,
        })
    }
    fn plan(&self, w: &Wanted, c: &Current) -> Plan {
        plan_of(w, c)
    }
    async fn apply(&self, io: Io<'_, '_, Self>, c: Current) -> Report<&'static str> {
        let (s, calls, w) = (io.session, io.calls, io.wanted);
        let mut r = Report::new();
        if plan_of(w, &c).nothing_to_do() {
            r.output = Some("Left");
            return r;
        }
        let verb = match s.write(calls, &w.props, c.existing.is_some()).await {
            Ok(Upsert::Created) => "Created",
            Ok(Upsert::Updated) => "Updated",
            Err(e) => {
                r.failed.push(e.explain());
                return r;
            }
        };
        r.done
            .push(format!("{verb} the destination {} in BTP.", w.name));
        r.output = Some(verb);
        r
    }
    fn failure(&self, done: &[String], failed: &[String]) -> String {
        match done.first() {
            Some(written) => format!(
                "{written} But BTP holds different values for some properties (listed below)."
            ),
            None => format!(
                "{} Your answers are saved. Fix the cause, then try again.",
                failed.join(" ")
            ),
        }
    }
    fn finished(
        &self,
        w: &Wanted,
        verb: Option<&&'static str>,
        _done: &[String],
        _unfilled: &[String],
    ) -> Result<String, String> {
        Ok(match verb {
            Some(&"Left") | None => format!(
                "BTP already has the destination {} with exactly these properties: nothing was written.",
                w.name
            ),
            Some(verb) => format!(
                "{verb} the destination {} in BTP and read it back: every property is as intended.",
                w.name
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted() -> Wanted {
        let props: Props = [
            ("Name", "TC_S4"),
            ("URL", "https://my1-api.s4hana.ondemand.com"),
            ("tokenServicePassword", "secret"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.into())))
        .collect();
        Wanted {
            key: DestinationKey {
                uri: String::new(),
                url: String::new(),
                clientid: String::new(),
                clientsecret: String::new(),
            },
            name: "TC_S4".into(),
            props,
            s4: "my1.s4hana.ondemand.com".into(),
        }
    }

    #[test]
    fn a_missing_destination_is_created_and_its_secret_never_shown() {
        let plan = plan_of(
            &wanted(),
            &Current {
                existing: None,
                same_system: vec![],
            },
        );
        assert_eq!(plan.items[0].todo, Todo::Create);
        let shown = serde_json::to_string(&plan).unwrap();
        assert!(!shown.contains("secret") && shown.contains("(hidden)"));
    }

    #[test]
    fn an_existing_one_shows_old_values_changed_secrets_and_removed_properties() {
        let w = wanted();
        let mut e = w.props.clone();
        assert!(
            plan_of(
                &w,
                &Current {
                    existing: Some(e.clone()),
                    same_system: vec![]
                }
            )
            .nothing_to_do()
        );
        e.insert("tokenServicePassword".into(), Value::String("old".into()));
        e.insert("tc.extra".into(), Value::String("x".into()));
        let plan = plan_of(
            &w,
            &Current {
                existing: Some(e),
                same_system: vec![("OLD".into(), false)],
            },
        );
        let item = &plan.items[0];
        assert_eq!(item.todo, Todo::Change);
        let row = |n: &str| item.fields.iter().find(|f| f.name == n).unwrap();
        assert_eq!(
            row("tokenServicePassword").wanted,
            "(hidden, another value)"
        );
        assert_eq!(row("tc.extra").wanted, "(removed)");
        assert!(!serde_json::to_string(&plan).unwrap().contains("old\""));
        assert!(plan.warnings[0].contains("OLD also points to my1.s4hana.ondemand.com"));
        // A Task Center destination to the same system: never a second one.
        let plan = plan_of(
            &w,
            &Current {
                existing: None,
                same_system: vec![("S4_FORMATION".into(), true)],
            },
        );
        assert!(
            plan.blocked(),
            "no create beside another Task Center destination"
        );
        assert!(matches!(&plan.items[0].todo, Todo::Cannot(why) if why.contains("S4_FORMATION")));
    }
}
