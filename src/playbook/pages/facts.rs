//! Customer systems: the facts known before anything is set up.

use super::*;

// ---- setup-wide facts ------------------------------------------------------

const FACTS: &[Field] = &[
    text(
        "s4_host",
        "S/4HANA Cloud host",
        "The address of the customer's S/4HANA Cloud system without -api, for example my404687.s4hana.ondemand.com. You can paste the whole launchpad URL.",
        |s, _| domain::S4Host::parse(s).map(|c| plain("s4_host", c, |h| h.host())),
    ),
    text(
        "s4_client",
        "S/4HANA client",
        "Three digits; in S/4HANA Cloud public edition it is usually 100.",
        |s, _| domain::S4Client::parse(s).map(|c| plain("s4_client", c, |v| v.0)),
    ),
    text(
        "region",
        "BTP region",
        "The region of the BTP subaccount, as shown in its overview, for example eu10 or us10.",
        |s, _| domain::region(s).map(|c| plain("region", c, |v| v)),
    ),
    Field {
        key: "system_role",
        label: "Which system of the landscape is it? (optional)",
        hint: "With two or three systems (test, quality, production) each has its own setup: the role names its destination and its label in Task Center apart from the others'.",
        kind: Kind::Choice(ROLES),
        optional: true,
        parse: Parser::None,
        prefill: None,
        also_stores: &[],
        known: None,
    },
];

/// The systems of a landscape (issue 23): (value, label).
pub const ROLES: &[(&str, &str)] = &[
    ("development", "Development or test"),
    ("quality", "Quality"),
    ("production", "Production"),
];

/// What tells a system apart in its destination's name and label, if its
/// role is known: (name suffix, label suffix).
pub fn role_names(role: Option<&str>) -> Option<(&'static str, &'static str)> {
    match role? {
        "development" => Some(("_DEV", " (test)")),
        "quality" => Some(("_QAS", " (quality)")),
        "production" => Some(("_PRD", " (production)")),
        _ => None,
    }
}

pub(super) const PAGE: Page = Page {
    id: ids::FACTS,
    title: "Customer systems",
    section: "Before you start",
    step: "",
    intro: "What you know before anything is set up: the customer's S/4HANA system and the BTP region. The subaccount's subdomain and ID are asked in step 1, once the subaccount exists; the Identity Authentication tenant at the trust step. Each is entered once and filled in wherever it is needed.",
    fields: FACTS,
    requires: &[],
    depends_on: &[],
    guide: None,
    summary: Some(|ctx| {
        ctx.s4()
            .map(|s| vec![("S/4HANA API host (derived)".to_string(), s.api_host())])
            .unwrap_or_default()
    }),
    check: None,
    action: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_names_its_destination_and_label_apart() {
        let named: Vec<_> = ROLES.iter().map(|(v, _)| role_names(Some(v))).collect();
        assert!(named.iter().all(Option::is_some));
        let mut suffixes: Vec<_> = named.iter().flatten().map(|(s, _)| *s).collect();
        suffixes.dedup();
        assert_eq!(suffixes.len(), ROLES.len(), "no two roles share a name");
        assert_eq!(role_names(None), None, "no role: the booster's sample name");
        assert!(
            crate::domain::DestinationName::parse(&format!("S4HANACloud{}", suffixes[0])).is_ok()
        );
    }
}
