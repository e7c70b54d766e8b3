//! Step 4: the BTP destination to S/4HANA (its properties and choices).

use super::*;

// ---- step 4 ----------------------------------------------------------------

const AUTHN: &[(&str, &str)] = &[
    (
        "urn:oasis:names:tc:SAML:2.0:ac:classes:X509",
        "X509 (recommended)",
    ),
    (
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PreviousSession",
        "PreviousSession",
    ),
];
const NOTIFY: &[(&str, &str)] = &[
    ("true", "Yes: send notifications (true)"),
    ("false", "No (false)"),
];
const PUSH: &[(&str, &str)] = &[
    ("yes", "Yes: S/4HANA pushes task changes, add tc.clientId"),
    ("no", "No: Task Center only pulls (push not configured yet)"),
];

/// Push is configured when step 3.5 names the outbound user of the push
/// key of step 3.1; the wizard fills it in when it writes that user.
fn push_known(ctx: &Ctx) -> Option<crate::playbook::Known> {
    let outbound = ctx.get("push_outbound_client")?;
    let by_api = ctx
        .get("step35_confirm.scenario")
        .is_some_and(|stamp| stamp.ends_with("through the S/4HANA API"));
    let why = if by_api && ctx.get("push_clientid") == Some(outbound) {
        format!(
            "The wizard wrote S/4HANA's outbound user {outbound} for the push key of step 3.1 through the S/4HANA API, so tc.clientId is added."
        )
    } else {
        format!(
            "Step 3.5 names the push channel's outbound user {outbound}, so tc.clientId is added. Change it there if push is not set up."
        )
    };
    Some(crate::playbook::Known { value: "yes", why })
}

const STEP4: &[Field] = &[
    prefilled(
        text(
            "destination_name",
            "Destination name",
            "Up to 64 letters, digits, _ or - (tenants from before 2025-06-19 took only 16: if the connector goes to Error with a longer name, shorten it). Reuse the booster's sample name S4HANACloud to replace the sample. One destination per S/4HANA system.",
            |s, _| domain::DestinationName::parse(s).map(|c| plain("destination_name", c, |v| v.0)),
        ),
        |ctx| {
            Some(match super::facts::role_names(ctx.get("system_role")) {
                Some((suffix, _)) => format!("S4HANACloud{suffix}"),
                None => "S4HANACloud".into(),
            })
        },
    ),
    Field {
        key: "authn_context",
        label: "Authentication context (authnContextClassRef)",
        hint: "",
        kind: Kind::Choice(AUTHN),
        optional: false,
        parse: Parser::None,
        prefill: Some(|_| Some(AUTHN[0].0.into())),
        also_stores: &[],
        known: None,
    },
    Field {
        key: "push",
        label: "Is the push channel from S/4HANA configured?",
        hint: "Add tc.clientId only once S/4HANA pushes task changes; with it and no push, updates stop.",
        kind: Kind::Choice(PUSH),
        optional: false,
        parse: Parser::None,
        prefill: None,
        also_stores: &[],
        known: Some(push_known),
    },
    Field {
        key: "notifications",
        label: "Send notifications (tc.notifications.enabled) (optional)",
        hint: "Leave unselected to omit the property.",
        kind: Kind::Choice(NOTIFY),
        optional: true,
        parse: Parser::None,
        prefill: None,
        also_stores: &[],
        known: None,
    },
    optional(text(
        "pull_days",
        "Days of tasks to load (tc.inbox.pull.days) (optional)",
        "0 to 180; without it, 90 days are loaded. Needs the all-tasks plan.",
        |s, ctx| {
            let mut p = domain::pull_days(s).map(|c| plain("pull_days", c, |v| v))?;
            if ctx.get("plan") == Some("standard") {
                p.warnings.push(
                    "tc.inbox.pull.days is for the all-tasks plan; step 2.2 says standard.".into(),
                );
            }
            Ok(p)
        },
    )),
    prefilled(
        optional(text(
            "ui_label",
            "Label in Task Center (tc.ui.label) (optional)",
            "How this system's tasks are labelled for users.",
            |s, _| domain::destination_label(s).map(|c| plain("ui_label", c, |v| v)),
        )),
        |ctx| {
            Some(match super::facts::role_names(ctx.get("system_role")) {
                Some((_, label)) => format!("SAP S/4HANA Cloud Task{label}"),
                None => "SAP S/4HANA Cloud Task".into(),
            })
        },
    ),
];

/// The destination the wizard would create, as (property, value) in SAP's
/// key names. The password is masked unless `with_secret` (for the API call).
pub fn destination(ctx: &Ctx, with_secret: bool) -> Vec<(&'static str, String)> {
    let s4 = ctx.s4();
    let g = |k: &str| ctx.get(k).unwrap_or("").to_string();
    let mut p = vec![
        ("Name", g("destination_name")),
        ("Type", "HTTP".into()),
        (
            "URL",
            s4.as_ref()
                .map(|s| format!("https://{}", s.api_host()))
                .unwrap_or_default(),
        ),
        ("ProxyType", "Internet".into()),
        ("Authentication", "OAuth2SAMLBearerAssertion".into()),
        ("audience", g("saml2_audience")),
        ("authnContextClassRef", g("authn_context")),
        ("clientKey", g("client_id")),
        ("tokenServiceURLType", "Dedicated".into()),
        ("tokenServiceURL", g("token_service_url")),
        ("tokenServiceUser", g("comm_user")),
        (
            "tokenServicePassword",
            if with_secret {
                ctx.secret("comm_password")
            } else {
                ctx.masked("comm_password")
            }
            .unwrap_or_default(),
        ),
        ("userIdSource", "user_uuid".into()),
        ("tc.enabled", "true".into()),
        ("tc.provider_type", "S/4HANACloud".into()),
        ("URL.queries.sap-client", g("s4_client")),
    ];
    if ctx.get("push") == Some("yes") {
        p.push(("tc.clientId", push_client_id(ctx).unwrap_or("").to_string()));
    }
    for (prop, key) in OPTIONAL_PROPERTIES {
        if let Some(v) = ctx.get(key) {
            p.push((prop, v.to_string()));
        }
    }
    p
}

/// Destination properties step 4 asks for itself: (property, answer key).
const OPTIONAL_PROPERTIES: [(&str, &str); 3] = [
    ("tc.notifications.enabled", "notifications"),
    ("tc.inbox.pull.days", "pull_days"),
    ("tc.ui.label", "ui_label"),
];

/// Step 4's summary: the destination's derived properties. Those its own
/// fields give are shown once, as those fields.
fn summary_destination(ctx: &Ctx) -> Vec<(String, String)> {
    let asked = |k: &str| {
        matches!(k, "Name" | "authnContextClassRef")
            || OPTIONAL_PROPERTIES.iter().any(|(p, _)| *p == k)
    };
    destination(ctx, false)
        .into_iter()
        .filter(|(k, _)| !asked(k))
        .map(|(k, v)| {
            (
                k.to_string(),
                if v.is_empty() { "(missing)".into() } else { v },
            )
        })
        .collect()
}

fn guide_step4(ctx: &Ctx) -> Vec<Instruction> {
    vec![instr(
        "Create the destination, or edit the booster's sample S4HANACloud so that it has exactly the properties listed under the form. Its URL is the -api host; nothing may still point to sample_url.com. Do not rely on the cockpit's Check Connection for this destination: it takes any answer below 500 as success and never runs the SAML bearer flow as a user (failure mode 29); Verify as a customer user does. Copy no other properties from other guides (nameIdFormat, assertionIssuer, KeyStoreLocation, SystemUser ...: failure mode 26).",
        Some("Subaccount > Connectivity > Destinations > S4HANACloud > Edit"),
        vec![(
            "URL",
            ctx.s4()
                .map(|s| format!("https://{}", s.api_host()))
                .unwrap_or_else(|| "(enter the S/4HANA host first)".into()),
        )],
    )]
}

pub(super) const PAGE: Page = Page {
    id: ids::DESTINATION,
    title: "BTP destination to S/4HANA",
    section: "Connect Task Center",
    step: "4",
    intro: "Task Center finds S/4HANA through a subaccount destination with tc.* properties. Everything but the choices below is derived from earlier answers.",
    fields: STEP4,
    requires: &[ids::TASK_CENTER_KEY, ids::COMM_ARRANGEMENT],
    depends_on: &[
        "s4_host",
        "s4_client",
        "client_id",
        "token_service_url",
        "saml2_audience",
        "sk_clientid",
        "push_clientid",
        "comm_user",
        "plan",
    ],
    guide: Some(guide_step4),
    summary: Some(summary_destination),
    check: None,
    action: Some(Action::ApplyDestination),
};
