//! Step 6: the approvers, their Global User IDs and authorisations.

use super::*;

// ---- step 6 ----------------------------------------------------------------

const STEP6: &[Field] = &[
    Field {
        key: "approvers",
        label: "Approvers",
        hint: "One person per line: e-mail, then a comma and the Global User ID once known (the user's UUID in Identity Authentication).",
        kind: Kind::Lines,
        optional: false,
        parse: Parser::Text(|s, _| {
            let c = domain::parse_approvers(s)?;
            let lines = c
                .value
                .iter()
                .map(|a| match &a.global_user_id {
                    Some(id) => format!("{}, {id}", a.email),
                    None => a.email.clone(),
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Parsed {
                values: vec![("approvers", Stored::Plain(lines))],
                warnings: c.warnings,
            })
        }),
        prefill: None,
        also_stores: &[],
        known: None,
    },
    confirm(
        "step6_confirm",
        "Done in S/4HANA",
        &[
            (
                "global_ids",
                "Each approver's business user has the IAS user UUID as Global User ID",
            ),
            (
                "catalog",
                "Approvers have a business role with catalog SAP_CORE_BC_BPM_OINB",
            ),
        ],
    ),
    optional(text(
        "scim_api_user",
        "SCIM API user (optional)",
        "Only to let the wizard set the Global User IDs through S/4HANA's SCIM interface: the communication user of the customer's SAP_COM_0465 arrangement.",
        |s, _| domain::comm_user_name(s).map(|c| plain("scim_api_user", c, |v| v)),
    )),
    Field {
        key: "scim_api_password",
        label: "Password of the SCIM API user (optional)",
        hint: "Stored encrypted and sent only to this S/4HANA system. Leave blank to keep the saved one.",
        kind: Kind::Secret,
        optional: true,
        parse: Parser::Text(|s, _| {
            domain::bounded_text(s, "password", 200).map(|c| Parsed {
                values: vec![("scim_api_password", Stored::Secret(c.value))],
                warnings: c.warnings,
            })
        }),
        prefill: None,
        also_stores: &[],
        known: None,
    },
];

fn guide_step6(_: &Ctx) -> Vec<Instruction> {
    vec![
        instr(
            "For each approver, enter the Identity Authentication user UUID as Global User ID of the S/4HANA business user, by hand, by the app's CSV upload (column \"Global User ID\"), or through Identity Provisioning.",
            Some("S/4HANA > Maintain Business Users > (user) > User Data > Global User ID"),
            vec![],
        ),
        instr(
            "Give approvers a business role that contains catalog SAP_CORE_BC_BPM_OINB, or their actions on tasks fail.",
            Some("S/4HANA > Maintain Business Roles"),
            vec![("Catalog", "SAP_CORE_BC_BPM_OINB".into())],
        ),
        instr(
            "If Identity Provisioning connects IAS to this S/4HANA system, map the IAS user UUID (userUuid) to the Global User ID in its transformation: otherwise its next job overwrites or clears the IDs, skips users without e-mail and locks users inactive in IAS (failure mode 30). If the customer signs in through a corporate identity provider behind IAS, it must use the Identity Authentication user store, or users have no UUID (failure mode 24).",
            Some("Identity Provisioning > Target Systems > (S/4HANA) > Transformations"),
            vec![],
        ),
        instr(
            "When an approver sees no task although the connector is OK and the job log says \"Stored tasks in CACHE: 0\", S/4HANA never created the work item (workflow inactive, condition not met, another agent): check the approver's My Inbox in S/4HANA first (failure mode 28).",
            Some("S/4HANA > My Inbox"),
            vec![],
        ),
    ]
}

pub(super) const PAGE: Page = Page {
    id: ids::APPROVERS,
    title: "Global User IDs and authorisations",
    section: "Connect Task Center",
    step: "6",
    intro: "A task reaches a person only when their S/4HANA Global User ID equals their Identity Authentication user UUID.",
    fields: STEP6,
    requires: &[ids::FACTS],
    depends_on: &[],
    guide: Some(guide_step6),
    summary: None,
    check: None,
    action: Some(Action::LookupUsers),
};
