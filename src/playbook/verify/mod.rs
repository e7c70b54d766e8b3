//! Verify: every known failure mode (procedure.md) that the wizard can see,
//! as pass / warning / fail with one sentence and the page that fixes it.
//! Each check is declared once (`checks!`); `offline` judges the answers,
//! `online` reads SAP with the setup's keys, `as_user` with a customer
//! user's token.

use super::ids;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Ctx, Kind, PAGES};
use crate::domain::{self, DestinationKey, ReplicationUrl, S4Host, Saml2Audience, TokenServiceUrl};
use crate::sap::{Calls, SapClient, SapError, destinations, ias, task_center, xsuaa};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Pass,
    /// Ticked by a person: not a check the wizard could make itself.
    Confirmed,
    Warning,
    Fail,
    /// A confirmation nobody ticked yet.
    NotConfirmed,
    /// Not checked: what it needs is not entered yet.
    Skipped,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "Pass",
            Verdict::Confirmed => "Confirmed",
            Verdict::Warning => "Warning",
            Verdict::Fail => "Fail",
            Verdict::NotConfirmed => "Not confirmed",
            Verdict::Skipped => "Not checked",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub id: String,
    pub title: String,
    pub verdict: Verdict,
    pub reason: String,
    /// The page to change (page id).
    pub page: String,
    /// SAP's answer as it came, where its fields are unconfirmed ([U]),
    /// shown as an "advanced" detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What the online checks need, read up front (secrets only for the calls).
pub struct OnlineInputs {
    key: Option<xsuaa::OAuthClient>,
    /// The push channel's key (step 3.1), S/4HANA's outbound user's.
    push: Option<xsuaa::OAuthClient>,
    dest_key: Option<DestinationKey>,
    intended: Option<serde_json::Map<String, Value>>,
    s4_host: Option<String>,
    ias: Option<(String, String, String, Vec<domain::Approver>)>,
    /// S/4HANA's SCIM access (API host, user, password), for the Global User
    /// IDs S/4HANA holds.
    scim: Option<(String, String, String)>,
    inbox_rest_url: Option<String>,
    /// Where `Identity_Authentication_Connectivity_IDS` must point.
    ias_host: Option<String>,
    /// The IAS tenant and administrator (host, client ID, secret), and the
    /// subaccount whose application's subject name identifier is read.
    ias_admin: Option<(String, String, String)>,
    subaccount_id: Option<String>,
    /// The SHA-256 of the trust certificate step 3.2 holds (the one given to S/4HANA).
    cert_sha256: Option<String>,
    /// A customer user's token (never stored): the checks that only a user
    /// can prove run with it (failure mode 22).
    pub user: Option<CustomerUser>,
}

/// A customer user signed in for Verify: their token and who they are.
#[derive(Clone)]
pub struct CustomerUser {
    pub token: String,
    pub who: String,
    pub admin: bool,
}

pub fn online_inputs(ctx: &Ctx) -> OnlineInputs {
    let key = crate::playbook::task_center_client(ctx).ok().flatten();
    let dest_key = crate::playbook::destination_key(ctx).ok().flatten();
    let intended = ctx.get("destination_name").map(|_| {
        crate::playbook::destination(ctx, true)
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect()
    });
    let ias_admin = match (
        ctx.get("ias_host"),
        ctx.get("ias_client_id"),
        ctx.secret_to_send("ias_client_secret").ok().flatten(),
    ) {
        (Some(h), Some(i), Some(s)) => Some((h.to_string(), i.to_string(), s)),
        _ => None,
    };
    let ias = match (
        &ias_admin,
        ctx.get("approvers").map(domain::parse_approvers),
    ) {
        (Some((h, i, s)), Some(Ok(a))) => Some((h.clone(), i.clone(), s.clone(), a.value)),
        _ => None,
    };
    let scim = match (
        ctx.s4(),
        ctx.get("scim_api_user"),
        ctx.secret_to_send("scim_api_password").ok().flatten(),
    ) {
        (Some(s4), Some(u), Some(p)) => {
            Some((format!("https://{}", s4.api_host()), u.to_string(), p))
        }
        _ => None,
    };
    OnlineInputs {
        scim,
        key,
        push: crate::playbook::push_client(ctx).ok().flatten(),
        dest_key,
        intended,
        s4_host: ctx.s4().map(|s: S4Host| s.host()),
        ias,
        inbox_rest_url: ctx.get("sk_inbox_rest_url").map(str::to_string),
        ias_host: ctx.get("ias_host").map(str::to_string),
        ias_admin,
        subaccount_id: ctx.get("subaccount_id").map(str::to_string),
        cert_sha256: ctx.get("cert_sha256").map(str::to_string),
        user: None,
    }
}

/// Where a check's evidence comes from: the answers alone, SAP read with the
/// setup's keys (what a watch can repeat), a customer user's token (only a
/// signed-in user can repeat it), or a person's confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Answers,
    Sap,
    AsUser,
    Confirmation,
}

/// A check, once: its id (results are stored by it: never renamed), its
/// title, the page where its fix usually is, and where it looks.
#[derive(Debug, Clone, Copy)]
pub struct CheckDef {
    pub id: &'static str,
    pub title: &'static str,
    pub page: &'static str,
    pub source: Source,
}

impl CheckDef {
    fn says(&self, verdict: Verdict, reason: impl Into<String>) -> Check {
        Check {
            id: self.id.into(),
            title: self.title.into(),
            verdict,
            reason: reason.into(),
            page: self.page.into(),
            detail: None,
        }
    }
    /// The same check with its fix on another page (the case decides).
    const fn at(self, page: &'static str) -> CheckDef {
        CheckDef { page, ..self }
    }
}

macro_rules! checks {
    ($($name:ident = $id:literal, $title:literal, $page:expr, $source:ident;)*) => {
        $(const $name: CheckDef = CheckDef { id: $id, title: $title, page: $page, source: Source::$source };)*
        /// Every check, in the order Verify shows them.
        pub const CHECKS: &[CheckDef] = &[$($name),*];
    };
}

checks! {
    HOSTS = "hosts", "S/4HANA hosts", ids::FACTS, Answers;
    SERVICE_KEY = "service-key", "Service key matches the subaccount", ids::TASK_CENTER_KEY, Answers;
    CERT_CN = "cert-cn", "Trust certificate belongs to the subaccount", ids::TRUST_CERTIFICATE, Answers;
    CERT_VALIDITY = "cert-validity", "Trust certificate is valid", ids::TRUST_CERTIFICATE, Answers;
    MAPPING = "mapping", "User mapping and OAuth 2.0 inbound user", ids::COMM_SYSTEM, Answers;
    DESTINATION_PROPERTIES = "destination", "Destination properties", ids::DESTINATION, Answers;
    DEST_NAME = "dest-name", "Destination name length", ids::DESTINATION, Answers;
    TC_PROPERTIES = "tc-properties", "Task Center properties", ids::DESTINATION, Answers;
    NOTIFICATIONS = "notifications", "tc.notifications.enabled", ids::DESTINATION, Answers;
    PLAN = "plan", "Task Center service plan", ids::BOOSTER, Answers;
    PULL_DAYS = "pull-days", "tc.inbox.pull.days", ids::DESTINATION, Answers;
    PUSH = "push", "tc.clientId and push", ids::DESTINATION, Answers;
    PUSH_OUTBOUND = "push-outbound", "S/4HANA pushes with the push key", ids::COMM_ARRANGEMENT, Answers;
    GLOBAL_IDS = "global-ids", "Global User IDs", ids::APPROVERS, Answers;
    LANDSCAPE_HOST = "landscape-host", "One setup per S/4HANA system of the customer", ids::FACTS, Answers;
    LANDSCAPE_IAS = "landscape-ias", "One IAS tenant per Task Center subaccount", ids::IAS_TRUST, Answers;
    LANDSCAPE_TRUST = "landscape-trust", "Every system of the subaccount holds its current trust certificate", ids::TRUST_CERTIFICATE, Answers;
    LANDSCAPE_NAMES = "landscape-names", "Destination names and labels tell the systems apart", ids::DESTINATION, Answers;
    LANDSCAPE_GLOBAL_IDS = "landscape-global-ids", "Global User IDs come from the IAS tenant the subaccount trusts", ids::APPROVERS, Answers;
    LANDSCAPE_SHARED = "landscape-shared", "The subaccount's pages agree across its systems", ids::IAS_TRUST, Answers;
    TOKEN = "online-token", "Task Center key gets a token", ids::TASK_CENTER_KEY, Sap;
    PUSH_TOKEN = "online-push-token", "The push key S/4HANA pushes with gets a token", ids::TASK_CENTER_KEY, Sap;
    BTP_DESTINATION = "online-destination", "Destination in BTP", ids::DESTINATION, Sap;
    IAS_USERS = "online-users", "Approvers exist in Identity Authentication", ids::APPROVERS, Sap;
    S4_GLOBAL_IDS = "online-s4-global-ids", "S/4HANA holds the Global User IDs", ids::APPROVERS, Sap;
    STRAY_PROPERTIES = "online-stray-properties", "No properties copied from other guides", ids::DESTINATION, Sap;
    DUPLICATES = "online-duplicates", "One destination per S/4HANA system", ids::DESTINATION, Sap;
    SERVICE_DESTINATIONS_IN_BTP = "online-service-destinations", "Mandatory service destinations in BTP", ids::BOOSTER, Sap;
    TRUST_CURRENT = "online-trust-current", "The trust certificate given to S/4HANA is the subaccount's current one", ids::TRUST_CERTIFICATE, Sap;
    SAML_ISSUER = "saml-issuer", "SAML issuer equals the certificate CN", ids::COMM_SYSTEM, Confirmation;
    IAS_TENANT = "ias-tenant", "One Identity Authentication tenant", ids::IAS_TRUST, Confirmation;
    SUBJECT_NAME = "subject-name", "Subject name identifier is the User UUID", ids::IAS_TRUST, Confirmation;
    USER_EXCHANGE = "online-user-exchange", "S/4HANA gives a token for a real user", ids::DESTINATION, AsUser;
    CONNECTOR = "online-connector", "Task Center's connector for the destination", ids::DESTINATION, AsUser;
    SERVICE_STATUS = "online-service-status", "Mandatory service destinations", ids::BOOSTER, AsUser;
    TASKS = "online-tasks", "Tasks arrive for the signed-in approver", ids::APPROVERS, AsUser;
    APPLICATION = "online-ias-application", "The subaccount's IAS application sends the User UUID", ids::IAS_TRUST, Sap;
    SUBJECT = "online-subject", "IAS sends the user UUID as subject name identifier", ids::IAS_TRUST, Sap;
}

/// The check with this id (results stored by an older version included).
pub fn def(id: &str) -> Option<&'static CheckDef> {
    CHECKS.iter().find(|c| c.id == id)
}

/// Whether a stored result came from SAP (kept with the last online run),
/// not from the answers, which are checked afresh each time.
pub fn is_online(id: &str) -> bool {
    def(id).is_some_and(|d| matches!(d.source, Source::Sap | Source::AsUser))
}

/// A check that is a person's confirmation: who ticked `keys` and when, or
/// "Not confirmed" with what goes wrong without it.
fn confirmation(
    ctx: &Ctx,
    keys: &[&str],
    def: &CheckDef,
    what: impl Into<String>,
    without: impl Into<String>,
) -> Check {
    match confirmed_by(ctx, keys) {
        Some(by) => def.says(Verdict::Confirmed, format!("{by}: {}", what.into())),
        None => def.says(
            Verdict::NotConfirmed,
            format!("Not confirmed. {}", without.into()),
        ),
    }
}

fn confirmed(ctx: &Ctx, key: &str) -> bool {
    ctx.get(key).is_some()
}

/// Who ticked these (the latest of them) and when: "Confirmed by NAME on
/// DATE", with where it came from when not ticked on the page.
fn confirmed_by(ctx: &Ctx, keys: &[&str]) -> Option<String> {
    let mut latest: Option<(i64, String, Option<String>)> = None;
    for key in keys {
        let stamp = ctx.get(key)?;
        let mut parts = stamp.splitn(3, '|');
        let at: i64 = parts.next().and_then(|a| a.parse().ok()).unwrap_or(0);
        let who = parts.next().unwrap_or("someone").to_string();
        let note = parts.next().map(str::to_string);
        if latest.as_ref().is_none_or(|(t, _, _)| at >= *t) {
            latest = Some((at, who, note));
        }
    }
    latest.map(|(at, who, note)| {
        let when = crate::fmt::date_time(at);
        match note {
            Some(n) => format!("Confirmed by {who} on {when} ({n})"),
            None => format!("Confirmed by {who} on {when}"),
        }
    })
}

mod as_user;
pub mod landscape;
mod offline;
mod online;

pub use offline::offline;
pub use online::online;

/// A page id's title for links.
pub fn page_title(id: &str) -> &'static str {
    PAGES.iter().find(|p| p.id == id).map_or("", |p| p.title)
}

/// Confirmations with who and when, for the report: (page, label, "user at time").
pub fn confirmations(ctx: &Ctx) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    for p in PAGES {
        for f in p.fields {
            if let Kind::Confirm(items) = f.kind {
                for (id, label) in items {
                    let stamp = ctx.get(&format!("{}.{id}", f.key)).map(|s| {
                        let mut parts = s.splitn(3, '|');
                        let at = parts.next().unwrap_or("");
                        let who = parts.next().unwrap_or("");
                        let when = at.parse().map(crate::fmt::date_time).unwrap_or_default();
                        match parts.next() {
                            // Ticked elsewhere: never shown as if ticked here.
                            Some(note) => format!("{who}, {when} ({note})"),
                            None => format!("{who}, {when}"),
                        }
                    });
                    out.push((p.title.to_string(), label.to_string(), stamp));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::online::application_subject;
    use super::*;

    const SUB: &str = "3b9d7c1e-0b5c-4f7a-9a51-0c1d2e3f4a5b";

    fn app(name: &str, subject: &str, tenant: &str) -> Value {
        serde_json::json!({"id": name, "name": name,
            "urn:sap:identity:application:schemas:extension:sci:1.0:Authentication": {
                "subjectNameIdentifier": subject,
                "sapManagedAttributes": {"type": "xsuaa", "appTenantId": tenant}}})
    }

    #[test]
    fn each_check_is_declared_once_and_every_result_names_one() {
        let mut ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "an id declared twice");
        assert!(
            CHECKS
                .iter()
                .all(|c| crate::playbook::page(c.page).is_some()),
            "every fix page exists"
        );
        // What the answers alone give, for an empty setup: each one declared.
        let reveal = |c: &str| Some(c.to_string());
        let ctx = Ctx::empty(&reveal, 0);
        for c in offline(&ctx) {
            assert!(def(&c.id).is_some(), "{} is not in CHECKS", c.id);
            assert!(!is_online(&c.id), "{} is an answers check", c.id);
        }
        assert!(is_online(TOKEN.id) && is_online(USER_EXCHANGE.id) && !is_online(SAML_ISSUER.id));
    }

    #[test]
    fn the_subaccounts_application_is_found_and_its_identifier_judged() {
        let other = app("Other app", "mail", "0a0b0c0d-0000-4000-8000-00000000abcd");
        let good = app("SAP BTP subaccount ACME", "userUuid", SUB);
        let c = application_subject(&[other.clone(), good], Some(SUB));
        assert_eq!(c.verdict, Verdict::Pass, "{}", c.reason);
        let bad = app("SAP BTP subaccount ACME", "mail", SUB);
        let c = application_subject(&[other.clone(), bad], Some(SUB));
        assert_eq!(c.verdict, Verdict::Fail);
        assert!(c.reason.contains("Failure mode 19") && c.reason.contains("\"mail\""));
        // No attribute names the subaccount: the one by name, said so.
        let by_name = app("SAP BTP subaccount ACME", "userUuid", "");
        let c = application_subject(&[other.clone(), by_name.clone()], Some(SUB));
        assert_eq!(c.verdict, Verdict::Pass);
        assert!(c.reason.contains("found by its name"));
        // Two candidates by name and none by ID: not guessed.
        let c = application_subject(&[by_name.clone(), by_name], Some(SUB));
        assert_eq!(c.verdict, Verdict::Warning);
        assert_eq!(
            application_subject(&[other], Some(SUB)).verdict,
            Verdict::Warning
        );
    }
}
