//! THE wizard definition: the ordered pages of the procedure, their fields,
//! the domain type parsing each field, derived values, and page status.
//!
//! Adding a page is a change to `pages.rs` (plus a template only when the page
//! is special). Nothing here knows about HTTP or SQL.

pub mod actions;
pub mod btp_account;
pub mod btp_destination;
pub mod change;
mod engine;
pub mod global_ids;
pub mod layout;
mod pages;
pub mod push_key;
pub mod rotate_comm_password;
pub mod rotate_ids;
pub mod rotate_push_key;
pub mod s4_setup;
pub mod trust;
pub mod verify;

pub use engine::{
    Ctx, FIELD_LIMIT, FormInput, KEPT_LIMIT, PageStatus, Submission, SubmitError, basis,
    import_page, next_to_do, page_status, progress_of, setup_progress, statuses, submit, summarize,
};
pub use pages::{PAGES, ROLES, destination, role_names};

/// What the store needs of the playbook: the setups list's summary and the
/// arrangement stored answers are moved to at start.
pub const STORE: crate::store::Playbook = crate::store::Playbook {
    summarize,
    layout: layout::LAYOUT,
    upgrade: layout::upgrade,
};

/// How a field is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Never echoed back; blank on resubmit keeps the saved value.
    Secret,
    /// One of the options (value, label), as radios.
    Choice(&'static [(&'static str, &'static str)]),
    /// A checklist of confirmations (id, label); may be ticked over several visits.
    Confirm(&'static [(&'static str, &'static str)]),
    /// A pasted JSON document that holds a secret (a service key): never echoed.
    Json,
    /// A file upload, with a text area to paste the same content instead.
    File,
    /// Several lines of text.
    Lines,
}

pub use crate::store::Stored;

/// The output of a field parser: one or more stored values, plus warnings.
#[derive(Debug, Default)]
pub struct Parsed {
    pub values: Vec<(&'static str, Stored)>,
    pub warnings: Vec<String>,
}

/// (label, value) rows shown under a form.
pub type SummaryFn = fn(&Ctx) -> Vec<(String, String)>;
/// Cross-field checks: (field key, message).
pub type CheckFn = fn(&Ctx) -> Vec<(&'static str, String)>;
pub type TextParser = fn(&str, &Ctx) -> Result<Parsed, String>;
pub type BytesParser = fn(&[u8], &Ctx) -> Result<Parsed, String>;

#[derive(Clone, Copy)]
pub enum Parser {
    Text(TextParser),
    Bytes(BytesParser),
    /// Confirmations and choices are checked by the engine itself.
    None,
}

pub struct Field {
    /// Form field name and answer key.
    pub key: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub kind: Kind,
    pub optional: bool,
    pub parse: Parser,
    /// A value derived from earlier answers, offered when nothing is saved yet.
    pub prefill: Option<fn(&Ctx) -> Option<String>>,
    /// Keys the parser stores besides `key` (for display and secrets lists).
    pub also_stores: &'static [&'static str],
    /// The answer when the wizard already knows it (from what it did or
    /// what another page says): then the field is shown, with why, not asked.
    pub known: Option<fn(&Ctx) -> Option<Known>>,
}

/// A page the wizard can do through SAP's API, on a page of its own
/// (`/setups/{id}/<slug>`) or with the page's own action (`slug` empty).
pub struct ByApi {
    pub slug: &'static str,
    /// What it needs and does, in a sentence.
    pub says: &'static str,
    pub link: &'static str,
}

/// The automated path of a page, if it has one (the one place that says so).
pub fn by_api(page: &str) -> Option<ByApi> {
    Some(match page {
        ids::SUBACCOUNT | ids::IAS_TRUST | ids::BOOSTER => ByApi {
            slug: "btp",
            says: "With the global account's Cloud Management key, the wizard creates the subaccount, trust, Cloud Foundry, Work Zone, Task Center and the booster's destinations and roles for you (steps 1 to 2.2, and the keys of 3.1 and 3.2), after you saw the plan.",
            link: "Do the BTP half through SAP's APIs",
        },
        ids::TASK_CENTER_KEY => ByApi {
            slug: "push-key",
            says: "With a Service Manager key (below), the wizard can create the push channel's dedicated instance and key for you.",
            link: "Create it through SAP Service Manager",
        },
        ids::TRUST_CERTIFICATE => ByApi {
            slug: "",
            says: "With a Destination service key (below), the wizard fetches the certificate from BTP for you.",
            link: "",
        },
        ids::COMM_USER | ids::COMM_SYSTEM | ids::COMM_ARRANGEMENT => ByApi {
            slug: "s4-setup",
            says: "With access to S/4HANA's communication management API (SAP_COM_0A48), the wizard does steps 3.3 to 3.5 for you.",
            link: "Do it through S/4HANA's API",
        },
        ids::DESTINATION => ByApi {
            slug: "apply-destination",
            says: "With the Destination service key of step 3.2, the wizard creates or updates the destination in BTP after you saw the plan.",
            link: "Create it through the Destination service",
        },
        ids::APPROVERS => ByApi {
            slug: "s4-users",
            says: "With access to S/4HANA's SCIM interface (SAP_COM_0465), the wizard looks up the user UUIDs and sets the Global User IDs for you.",
            link: "Do it through S/4HANA's API",
        },
        _ => return None,
    })
}

/// Whether the wizard did this page through SAP's API: a confirmation it
/// ticked itself ("through the ... API"), or the page's own SAP action
/// that fetched or wrote (not a mere check) ended well.
pub fn done_by_api(page: &Page, rec: Option<&crate::store::PageRecord>) -> bool {
    let Some(rec) = rec else { return false };
    let ticked = rec.data.contains_key(DONE_BY_KEY)
        || rec
            .data
            .iter()
            .any(|(k, v)| k.contains('.') && v.contains("|through the "));
    let wrote = matches!(
        page.action,
        Some(actions::Action::FetchCertificate | actions::Action::ApplyDestination)
    ) && rec.checked_at.is_some()
        && rec.problem.is_none();
    ticked || wrote
}

/// An answer the wizard knows, and the sentence that says how.
pub struct Known {
    pub value: &'static str,
    pub why: String,
}

/// One numbered instruction on a guided page.
pub struct Instruction {
    /// Most are the page table's own words: borrowed, not copied per view.
    pub text: std::borrow::Cow<'static, str>,
    /// Where to click, e.g. "BTP cockpit > Connectivity > Destination Trust".
    pub path: Option<&'static str>,
    /// Values to type there, pre-filled from earlier answers.
    pub values: Vec<(&'static str, String)>,
}

pub struct Page {
    pub id: &'static str,
    /// Short title used in headings, titles and the task list.
    pub title: &'static str,
    /// The section of the procedure ("Configure S/4HANA Cloud").
    pub section: &'static str,
    /// The procedure's own numbering ("3.1"), when there is one.
    pub step: &'static str,
    pub intro: &'static str,
    pub fields: &'static [Field],
    /// Pages that must be completed before this one can start.
    pub requires: &'static [&'static str],
    /// Answer keys (of other pages) this page's checks and derived values use;
    /// a change to any of them marks this page "needs review".
    pub depends_on: &'static [&'static str],
    pub guide: Option<fn(&Ctx) -> Vec<Instruction>>,
    /// Values derived or extracted, shown under the form (label, value).
    pub summary: Option<SummaryFn>,
    /// Cross-field checks once every field parsed: (field key, message).
    pub check: Option<CheckFn>,
    /// The SAP call this step offers (see `actions`).
    pub action: Option<actions::Action>,
}

impl Page {
    pub fn index(&self) -> usize {
        PAGES.iter().position(|p| p.id == self.id).unwrap_or(0)
    }
    pub fn is_check(&self) -> bool {
        self.id == CHECK_PAGE
    }
    pub fn next(&self) -> Option<&'static Page> {
        PAGES.get(self.index() + 1)
    }
    pub fn previous(&self) -> Option<&'static Page> {
        self.index().checked_sub(1).and_then(|i| PAGES.get(i))
    }
    pub fn field(&self, key: &str) -> Option<&'static Field>
    where
        Self: 'static,
    {
        self.fields.iter().find(|f| f.key == key)
    }

    /// What the page's own parser warns about `value` of text field `key`
    /// (none for other fields or values it rejects).
    pub fn warnings_for(&'static self, key: &str, value: &str, ctx: &Ctx) -> Vec<String> {
        match self.field(key).map(|f| (f.kind, f.parse)) {
            Some((Kind::Text | Kind::Lines, Parser::Text(parse))) => {
                parse(value, ctx).map(|p| p.warnings).unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }
}

pub const CHECK_PAGE: &str = "check";

/// Every page's id, named once: each use elsewhere is checked by the compiler
/// (the ids themselves are stored with answers and exports: never renamed).
pub mod ids {
    pub const FACTS: &str = "facts";
    pub const SUBACCOUNT: &str = "step-1";
    pub const IAS_TRUST: &str = "step-2";
    pub const BOOSTER: &str = "booster";
    pub const TASK_CENTER_KEY: &str = "step-3-1";
    pub const TRUST_CERTIFICATE: &str = "step-3-2";
    pub const COMM_USER: &str = "step-3-3";
    pub const COMM_SYSTEM: &str = "step-3-4";
    pub const COMM_ARRANGEMENT: &str = "step-3-5";
    pub const DESTINATION: &str = "step-4";
    pub const WORK_ZONE: &str = "step-5";
    pub const APPROVERS: &str = "step-6";
}

pub fn page(id: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| p.id == id)
}

/// Answer key under which a page keeps the warnings of its last save.
pub const WARNINGS_KEY: &str = "_warnings";
/// How a run filled the page in ("through the S/4HANA API"), kept until the
/// page is saved by hand.
pub const DONE_BY_KEY: &str = "_done_by";

/// The warnings given when the page was last saved.
pub fn warnings_of(rec: Option<&crate::store::PageRecord>) -> Vec<String> {
    rec.and_then(|r| r.data.get(WARNINGS_KEY))
        .map(|w| w.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Answer key prefix of a secret's binding: the hosts it was entered for.
pub const BOUND_PREFIX: &str = "_bound.";

/// The hosts a secret will be sent to, as the answers say now: "host host".
pub fn secret_hosts(secret: &str, ctx: &Ctx) -> Option<String> {
    let (_, targets) = pages::SECRET_HOSTS.iter().find(|(k, _)| *k == secret)?;
    Some(
        targets
            .iter()
            .map(|(k, _)| ctx.get(k).map(host_of).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The host of a URL answer, or a host answer itself, lower case.
fn host_of(v: &str) -> String {
    match url::Url::parse(v.trim()) {
        Ok(u) if u.host_str().is_some() => u.host_str().unwrap_or("").to_ascii_lowercase(),
        _ => v.trim().to_ascii_lowercase(),
    }
}

/// Why a secret may not be sent: a host it goes to changed since it was
/// entered (or it was never bound). Names the page to enter it again on.
pub fn binding_problem(secret: &str, ctx: &Ctx) -> Option<String> {
    let now = secret_hosts(secret, ctx)?;
    let bound = ctx.raw_value(&format!("{BOUND_PREFIX}{secret}"));
    if bound == Some(now.as_str()) {
        return None;
    }
    let (_, targets) = pages::SECRET_HOSTS.iter().find(|(k, _)| *k == secret)?;
    let what: Vec<&str> = targets.iter().map(|(_, w)| *w).collect();
    let (page, step) = home(secret).map_or(("", ""), |p| (p.title, p.step));
    let at = match step {
        "" => format!("on the page \"{page}\""),
        s => format!("in step {s}"),
    };
    Some(format!(
        "\"{}\" ({page}) was entered for {} at other addresses than the answers now give ({}). To protect it, the wizard sends it nowhere until it is entered again {at}.",
        key_label(secret),
        what.join(" and "),
        now.split(' ')
            .filter(|h| !h.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Step 3.2's Destination service key, when saved; an error when its secret
/// may not be sent (a host changed since it was entered).
pub fn destination_key(ctx: &Ctx) -> Result<Option<crate::domain::DestinationKey>, String> {
    let secret = ctx.secret_to_send("ds_clientsecret")?;
    Ok(
        match (
            ctx.get("ds_uri"),
            ctx.get("ds_url"),
            ctx.get("ds_clientid"),
            secret,
        ) {
            (Some(uri), Some(url), Some(id), Some(secret)) => Some(crate::domain::DestinationKey {
                uri: uri.into(),
                url: url.into(),
                clientid: id.into(),
                clientsecret: secret,
            }),
            _ => None,
        },
    )
}

/// Step 3.1's Task Center key as a client that gets tokens: with its secret,
/// or with its client certificate at `certurl` (credential type x509). An
/// error when the secret or certificate may not be sent (a host changed).
pub fn task_center_client(ctx: &Ctx) -> Result<Option<crate::sap::xsuaa::OAuthClient>, String> {
    client_of(ctx, "sk", "sk_key")
}

/// The push channel's dedicated key of step 3.1 as an OAuth client.
pub fn push_client(ctx: &Ctx) -> Result<Option<crate::sap::xsuaa::OAuthClient>, String> {
    client_of(ctx, "push", "push_private_key")
}

/// A Task Center key stored under `prefix` (`sk` or `push`), with a secret
/// or a client certificate and its private key (`key`).
fn client_of(
    ctx: &Ctx,
    prefix: &str,
    key: &str,
) -> Result<Option<crate::sap::xsuaa::OAuthClient>, String> {
    use crate::sap::xsuaa::{ClientAuth, OAuthClient};
    let at = |k: &str| format!("{prefix}_{k}");
    let (Some(uaa_url), Some(client_id)) = (ctx.get(&at("uaa_url")), ctx.get(&at("clientid")))
    else {
        return Ok(None);
    };
    let auth = match (
        ctx.get(&at("certurl")),
        ctx.secret_to_send(&at("clientsecret"))?,
    ) {
        (None, Some(secret)) => ClientAuth::Secret(secret),
        (Some(certurl), _) => match (
            ctx.secret_to_send(&at("certificate"))?,
            ctx.secret_to_send(key)?,
        ) {
            (Some(chain), Some(key)) => ClientAuth::Certificate {
                certurl: certurl.to_string(),
                identity: format!("{}\n{}", chain.trim_end(), key),
            },
            _ => return Ok(None),
        },
        (None, None) => return Ok(None),
    };
    Ok(Some(OAuthClient {
        uaa_url: uaa_url.to_string(),
        client_id: client_id.to_string(),
        auth,
    }))
}

/// The page that asks for an answer key: its field, a value its parser
/// stores, a confirmation item, or the binding of a secret.
pub(crate) fn home(key: &str) -> Option<&'static Page> {
    let key = key.strip_prefix(BOUND_PREFIX).unwrap_or(key);
    PAGES.iter().find(|p| {
        p.fields.iter().any(|f| {
            f.key == key
                || f.also_stores.contains(&key)
                || matches!(f.kind, Kind::Confirm(items)
                    if key.split_once('.').is_some_and(|(fk, item)| fk == f.key && items.iter().any(|(id, _)| *id == item)))
        })
    })
}

/// Every answer key that holds a secret (encrypted at rest, masked on pages).
pub fn is_secret_key(key: &str) -> bool {
    pages::SECRET_KEYS.contains(&key)
}

/// The words of one item of a confirmation field (`field.item` keys).
pub fn item_label(field: &str, item: &str) -> Option<&'static str> {
    PAGES
        .iter()
        .flat_map(|p| p.fields.iter())
        .find(|f| f.key == field)
        .and_then(|f| match f.kind {
            Kind::Confirm(items) => items.iter().find(|(id, _)| *id == item).map(|(_, l)| *l),
            _ => None,
        })
}

/// The label a stored key is shown under (fields and the extra keys they store).
pub fn key_label(key: &str) -> &'static str {
    pages::KEY_LABELS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| *l)
        .or_else(|| {
            PAGES
                .iter()
                .flat_map(|p| p.fields.iter())
                .find(|f| f.key == key)
                .map(|f| f.label)
        })
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key an answer can be stored under: fields, what parsers store
    /// besides, and confirmation items.
    fn stored_keys() -> Vec<String> {
        let mut keys = Vec::new();
        for f in PAGES.iter().flat_map(|p| p.fields.iter()) {
            keys.push(f.key.to_string());
            keys.extend(f.also_stores.iter().map(|k| k.to_string()));
            if let Kind::Confirm(items) = f.kind {
                keys.extend(items.iter().map(|(id, _)| format!("{}.{id}", f.key)));
            }
        }
        keys
    }

    /// The table names pages and answer keys as strings: each must resolve,
    /// or a typo would show only as a page that never completes.
    #[test]
    fn every_name_the_page_table_uses_resolves() {
        let keys = stored_keys();
        let known = |k: &str| keys.iter().any(|x| x == k);
        let mut ids: Vec<&str> = PAGES.iter().map(|p| p.id).collect();
        for p in PAGES {
            for r in p.requires {
                assert!(page(r).is_some(), "{}: requires unknown page {r}", p.id);
            }
            for k in p.depends_on {
                assert!(known(k), "{}: depends on unknown answer {k}", p.id);
            }
            assert!(p.index() < PAGES.len() && PAGES[p.index()].id == p.id);
        }
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before, "page ids are unique");
        for k in pages::SECRET_KEYS {
            assert!(known(k), "secret {k} is no answer");
            assert!(home(k).is_some(), "secret {k} has no page");
        }
        for (secret, hosts) in pages::SECRET_HOSTS {
            assert!(is_secret_key(secret), "{secret} is bound but not secret");
            for (k, _) in hosts.iter() {
                assert!(known(k), "{secret} is bound to unknown answer {k}");
            }
        }
        for (k, label) in pages::KEY_LABELS {
            assert!(
                known(k) && !label.is_empty(),
                "label for unknown answer {k}"
            );
        }
    }

    /// The pages the flows and checks name by string exist.
    #[test]
    fn the_pages_flows_name_exist() {
        use change::Flow;
        for p in [
            s4_setup::S4Setup::PAGE,
            push_key::PushKey::PAGE,
            global_ids::GlobalIds::PAGE,
            trust::Rotation::PAGE,
            btp_destination::Destination::PAGE,
        ] {
            assert!(page(p).is_some(), "{p}");
        }
        assert!(page(CHECK_PAGE).is_some());
        // Each answer is asked on one page: a page's section on check your
        // answers reads its own answers only (web::page_cache::SectionKey).
        let mut asked = std::collections::HashMap::new();
        for p in PAGES {
            for f in p.fields {
                if let Some(other) = asked.insert(f.key, p.id) {
                    panic!("{} is asked on {other} and {}", f.key, p.id);
                }
            }
        }
        // The check page requires every other page, each named once.
        let named: std::collections::BTreeSet<&str> = page(CHECK_PAGE)
            .unwrap()
            .requires
            .iter()
            .copied()
            .chain([CHECK_PAGE])
            .collect();
        assert_eq!(named.len(), PAGES.len());
        for id in named {
            assert!(page(id).is_some(), "{id}");
        }
    }
}
