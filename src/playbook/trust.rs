//! The trust certificate's lifecycle through the Destination service (step
//! 3.2; SAP-docs/btp-connectivity "Managing Destination Trust"): create a
//! passive certificate, rotate (the passive one signs, the active one becomes
//! passive), or renew the active one — each a remote change on the engine.
//! The new active certificate lands on step 3.2, for S/4HANA next.

use super::Ctx;
use super::change::{Conn, FieldRow, Fill, Flow, Io, Item, Plan, Report, Todo};
use super::ids;
use crate::domain::{DestinationKey, TrustCertificate};
use crate::sap::destinations::{self, Session, Trust};
use crate::sap::{Calls, SapClient};

/// What a confirmation changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Change {
    #[default]
    Passive,
    Rotate,
    Renew,
}

impl Change {
    pub fn parse(s: &str) -> Option<Change> {
        match s {
            "passive" => Some(Change::Passive),
            "rotate" => Some(Change::Rotate),
            "renew" => Some(Change::Renew),
            _ => None,
        }
    }
}

/// Both certificates as the Destination service has them (PEM).
pub struct Certificates {
    pub active: String,
    pub passive: Option<String>,
}

/// One certificate as a plan shows it: subject, validity, fingerprint.
pub struct Seen {
    pub cn: String,
    pub not_after: i64,
    pub sha256: String,
}

pub fn seen(pem: &str) -> Option<Seen> {
    // The validity check of a fresh upload does not apply to what SAP holds.
    let c = TrustCertificate::parse(pem.as_bytes(), 0).ok()?.value;
    Some(Seen {
        cn: c.cn,
        not_after: c.not_after,
        sha256: c.sha256,
    })
}

/// What a certificate will be after the change.
enum After<'a> {
    Unchanged,
    Becomes(&'a str),
    /// One SAP makes on confirmation.
    New,
}

fn fields(now: Option<&str>, after: After) -> Vec<FieldRow> {
    let sha = |s: &Option<Seen>| s.as_ref().map(|c| c.sha256.clone()).unwrap_or_default();
    let until = |s: &Option<Seen>| {
        s.as_ref()
            .map(|c| crate::fmt::date(c.not_after))
            .unwrap_or_default()
    };
    let now = now.and_then(seen);
    let (want_sha, want_until) = match after {
        After::Unchanged => (sha(&now), until(&now)),
        After::Becomes(pem) => {
            let then = seen(pem);
            (sha(&then), until(&then))
        }
        After::New => (
            "a new certificate".to_string(),
            "two years from the change".to_string(),
        ),
    };
    vec![
        FieldRow::new("SHA-256", sha(&now), want_sha),
        FieldRow::new("Valid until", until(&now), want_until),
    ]
}

/// The rule: what each change does to the two certificates.
pub fn plan_of(change: Change, c: &Certificates) -> Plan {
    let cn = seen(&c.active).map(|s| s.cn).unwrap_or_default();
    let active = c.active.as_str();
    let passive = c.passive.as_deref();
    let items = match change {
        Change::Passive => vec![
            Item::new("Active certificate", &cn, Todo::Right).with(fields(Some(active), After::Unchanged)),
            Item::new(
                "Passive certificate",
                &cn,
                if passive.is_some() {
                    Todo::Change
                } else {
                    Todo::Create
                },
            )
            .with(fields(passive, After::New))
            .noted("Nothing changes for S/4HANA yet: the active certificate still signs."),
        ],
        Change::Rotate => match passive {
            None => vec![Item::new(
                "Passive certificate",
                &cn,
                Todo::Cannot("there is none to rotate to; create a passive certificate first".into()),
            )],
            Some(p) => vec![
                Item::new("Active certificate", &cn, Todo::Change)
                    .with(fields(Some(active), After::Becomes(p)))
                    .noted("The passive certificate signs from now on: S/4HANA refuses tokens until it has it."),
                Item::new("Passive certificate", &cn, Todo::Change)
                    .with(fields(Some(p), After::Becomes(active))),
            ],
        },
        Change::Renew => vec![
            Item::new("Active certificate", &cn, Todo::Change)
                .with(fields(Some(active), After::New))
                .noted("The new certificate signs at once: S/4HANA refuses tokens until it has it."),
            Item::new("Passive certificate", &cn, Todo::Right).with(fields(passive, After::Unchanged)),
        ],
    };
    Plan::of(items)
}

/// One change of the Destination service's trust.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rotation(pub Change);

impl Flow for Rotation {
    type Wanted = DestinationKey;
    type Session<'a> = Session<'a>;
    type Current = Certificates;
    /// The certificate SAP made (PEM).
    type Output = String;

    const PAGE: &'static str = ids::TRUST_CERTIFICATE;
    const SYSTEM: &'static str = "The Destination service";
    const SOURCE: &'static str = "Destination service API";

    fn wanted(&self, ctx: &Ctx) -> Result<DestinationKey, String> {
        super::destination_key(ctx)?
            .ok_or_else(|| "First save a Destination service key on step 3.2.".to_string())
    }
    async fn connect<'a>(
        &self,
        sap: &'a SapClient,
        calls: &Calls,
        key: &DestinationKey,
    ) -> Conn<'a, Self> {
        destinations::connect(sap, calls, key)
            .await
            .map_err(|e| e.explain())
    }
    async fn read(&self, io: Io<'_, '_, Self>) -> Result<Certificates, String> {
        let (s, calls) = (io.session, io.calls);
        let (a, p) = tokio::join!(s.certificate(calls), s.passive_certificate(calls));
        Ok(Certificates {
            active: a.map_err(|e| e.explain())?,
            passive: p.map_err(|e| e.explain())?,
        })
    }
    fn plan(&self, _key: &DestinationKey, c: &Certificates) -> Plan {
        plan_of(self.0, c)
    }
    async fn apply(&self, io: Io<'_, '_, Self>, _c: Certificates) -> Report<String> {
        let (s, calls) = (io.session, io.calls);
        let (result, done) = match self.0 {
            Change::Passive => (
                s.renew_certificate(calls, Trust::Passive).await,
                "Created a passive trust certificate in the Destination service.",
            ),
            Change::Renew => (
                s.renew_certificate(calls, Trust::Active).await,
                "Renewed the active trust certificate in the Destination service.",
            ),
            Change::Rotate => (
                s.rotate_certificate(calls).await,
                "Rotated the trust certificates: the former passive one signs now.",
            ),
        };
        let mut r = Report::new();
        match result {
            Ok(pem) => {
                r.done.push(done.to_string());
                r.output = Some(pem);
            }
            Err(e) => r.failed.push(e.explain()),
        }
        r
    }
    fn failure(&self, _done: &[String], failed: &[String]) -> String {
        format!("{} Nothing was changed; try again.", failed.join(" "))
    }
    /// The new active certificate becomes step 3.2's, as if uploaded there.
    fn fills(&self, _key: &DestinationKey, pem: &String) -> Vec<Fill> {
        match self.0 {
            Change::Passive => Vec::new(),
            Change::Rotate | Change::Renew => vec![Fill {
                page: ids::TRUST_CERTIFICATE,
                values: vec![("certificate_text", pem.clone())],
                ticked_by: None,
                only: &[],
            }],
        }
    }
    fn finished(
        &self,
        _key: &DestinationKey,
        _pem: Option<&String>,
        _done: &[String],
        unfilled: &[String],
    ) -> Result<String, String> {
        if !unfilled.is_empty() {
            return Err(format!(
                "The Destination service changed its certificate, but step 3.2 did not accept it: {}",
                unfilled.join(" ")
            ));
        }
        Ok(match self.0 {
            Change::Passive => "A passive certificate was created. The active one still signs; nothing changed for S/4HANA yet.".into(),
            Change::Rotate => "Rotated: the former passive certificate signs now. Step 3.2 holds it.".into(),
            Change::Renew => "Renewed: the new certificate signs now. Step 3.2 holds it.".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(cn: &str) -> String {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    fn todo(plan: &Plan) -> Vec<(&str, &Todo)> {
        plan.items
            .iter()
            .map(|i| (i.object.as_str(), &i.todo))
            .collect()
    }

    #[test]
    fn each_change_says_what_it_does_to_both_certificates() {
        let (a, p) = (pem("sub/a"), pem("sub/a"));
        let one = Certificates {
            active: a.clone(),
            passive: None,
        };
        let both = Certificates {
            active: a.clone(),
            passive: Some(p.clone()),
        };
        assert_eq!(
            todo(&plan_of(Change::Passive, &one)),
            [
                ("Active certificate", &Todo::Right),
                ("Passive certificate", &Todo::Create)
            ]
        );
        let rotate = plan_of(Change::Rotate, &both);
        assert_eq!(rotate.writes(), 2);
        // The active one becomes the passive one's fingerprint, and back.
        let sha = |pem: &str| seen(pem).unwrap().sha256;
        assert_eq!(rotate.items[0].fields[0].wanted, sha(&p));
        assert_eq!(rotate.items[1].fields[0].wanted, sha(&a));
        let renew = plan_of(Change::Renew, &both);
        assert_eq!(renew.items[0].fields[0].wanted, "a new certificate");
        assert_eq!(renew.items[1].todo, Todo::Right);
    }

    #[test]
    fn rotating_without_a_passive_certificate_cannot_be_confirmed() {
        let one = Certificates {
            active: pem("sub/a"),
            passive: None,
        };
        assert!(plan_of(Change::Rotate, &one).blocked());
    }

    #[test]
    fn a_confirmation_is_for_the_certificates_read() {
        let a = Certificates {
            active: pem("sub/a"),
            passive: None,
        };
        let b = Certificates {
            active: pem("sub/a"),
            passive: None,
        };
        assert_ne!(
            plan_of(Change::Renew, &a).fingerprint(),
            plan_of(Change::Renew, &b).fingerprint()
        );
        assert_ne!(
            plan_of(Change::Renew, &a).fingerprint(),
            plan_of(Change::Passive, &a).fingerprint(),
            "each change has its own plan"
        );
    }
}
