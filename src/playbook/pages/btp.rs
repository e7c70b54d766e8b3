//! Steps 1, 2.1 and 2.2: the BTP subaccount, trust with Identity
//! Authentication, the Task Center booster.

use super::*;

// ---- step 1 ----------------------------------------------------------------

const PLANS: &[(&str, &str)] = &[
    (
        "build-default",
        "build-default (with SAP Build Work Zone; the booster's default)",
    ),
    (
        "all-tasks",
        "all-tasks (tasks from all connected systems, pull window up to 180 days)",
    ),
    (
        "standard",
        "standard (retired on 2025-11-15: only for a subaccount that still has it)",
    ),
];

const PUSH_INSTANCE: &[(&str, &str)] = &[
    ("secret", "Create it, with a key of client ID and secret"),
    (
        "x509",
        "Create it, with an X.509 key (S/4HANA's mTLS user is then set up by hand)",
    ),
    ("none", "Do not create it"),
];

const WORK_ZONE_PLANS: &[(&str, &str)] = &[
    ("standard", "standard (the booster's default)"),
    ("free", "free (one per global account, for trials)"),
];

/// The Cloud Management key's values (G.2), the secret encrypted.
const CIS_KEYS: &[&str] = &[
    "cis_uaa_url",
    "cis_clientid",
    "cis_clientsecret",
    "cis_accounts_url",
    "cis_entitlements_url",
    "cis_provisioning_url",
    "cis_saas_url",
];

fn parse_cis_key(s: &str, _: &Ctx) -> Result<Parsed, String> {
    let c = domain::CisKey::parse(s)?;
    let k = c.value;
    Ok(Parsed {
        values: vec![
            ("cis_uaa_url", Stored::Plain(k.url)),
            ("cis_clientid", Stored::Plain(k.clientid)),
            ("cis_clientsecret", Stored::Secret(k.clientsecret)),
            ("cis_accounts_url", Stored::Plain(k.accounts_url)),
            ("cis_entitlements_url", Stored::Plain(k.entitlements_url)),
            ("cis_provisioning_url", Stored::Plain(k.provisioning_url)),
            ("cis_saas_url", Stored::Plain(k.saas_url)),
        ],
        warnings: c.warnings,
    })
}

/// At most this many administrators: each is assigned four role collections.
const MAX_ADMINS: usize = 20;

fn parse_admins(s: &str, _: &Ctx) -> Result<Parsed, String> {
    let c = domain::parse_approvers(s)?;
    if c.value.len() > MAX_ADMINS {
        return Err(format!(
            "{} addresses: name at most {MAX_ADMINS} administrators; the others get their roles in the cockpit",
            c.value.len()
        ));
    }
    let emails: Vec<String> = c.value.into_iter().map(|a| a.email).collect();
    Ok(Parsed {
        values: vec![("btp_admins", Stored::Plain(emails.join("\n")))],
        warnings: Vec::new(),
    })
}

const STEP1: &[Field] = &[
    text(
        "subdomain",
        "BTP subaccount subdomain",
        "Shown as Subdomain in the subaccount overview, for example acme-taskcenter.",
        |s, _| domain::subdomain(s).map(|c| plain("subdomain", c, |v| v)),
    ),
    text(
        "subaccount_id",
        "BTP subaccount ID",
        "The subaccount's ID, a UUID shown in the subaccount overview.",
        |s, _| domain::Guid::parse(s, "subaccount ID").map(|c| plain("subaccount_id", c, |v| v.0)),
    ),
    optional(text(
        "cf_org",
        "Cloud Foundry org (optional)",
        "Shown in the subaccount overview once Cloud Foundry is enabled.",
        |s, _| domain::bounded_text(s, "Cloud Foundry org", 100).map(|c| plain("cf_org", c, |v| v)),
    )),
    optional(text(
        "cf_space",
        "Cloud Foundry space (optional)",
        "The space the booster used, for example dev.",
        |s, _| {
            domain::bounded_text(s, "Cloud Foundry space", 100).map(|c| plain("cf_space", c, |v| v))
        },
    )),
    Field {
        key: "cis_key",
        label: "Cloud Management key of the global account (JSON) (optional)",
        hint: "Only for the BTP half through SAP's APIs: the key of a Cloud Management instance of plan central, created with {\"grantType\": \"clientCredentials\"}. The secret is stored encrypted and sent only to that key's token service. Leave blank to keep the saved key.",
        kind: Kind::Json,
        optional: true,
        parse: Parser::Text(parse_cis_key),
        prefill: None,
        also_stores: CIS_KEYS,
        known: None,
    },
    optional(text(
        "subaccount_name",
        "Subaccount display name (optional)",
        "How the cockpit lists the subaccount the wizard creates, for example Task Center PRD. No slash.",
        |s, _| {
            if s.contains('/') {
                return Err("The display name may not contain a slash (SAP refuses it)".into());
            }
            domain::bounded_text(s, "display name", 255).map(|c| plain("subaccount_name", c, |v| v))
        },
    )),
    Field {
        key: "btp_admins",
        label: "Administrators (optional)",
        hint: "Only for the BTP half through SAP's APIs: one e-mail address per line. The first becomes the Cloud Foundry Org Manager; all become Space Developers and get the Task Center, Work Zone and Destination administrator role collections as users of the customer's Identity Authentication.",
        kind: Kind::Lines,
        optional: true,
        parse: Parser::Text(parse_admins),
        prefill: None,
        also_stores: &[],
        known: None,
    },
    Field {
        key: "push_instance",
        label: "The push channel's dedicated instance (optional)",
        hint: "Only for the BTP half through SAP's APIs: SAP wants a second Task Center instance for S/4HANA's pushes; the wizard makes it (tc-push) in the space beside default_taskcenter.",
        kind: Kind::Choice(PUSH_INSTANCE),
        optional: true,
        parse: Parser::None,
        prefill: None,
        also_stores: &[],
        known: None,
    },
    Field {
        key: "workzone_plan",
        label: "SAP Build Work Zone plan (optional)",
        hint: "Only for the BTP half through SAP's APIs: the plan of the Work Zone subscription.",
        kind: Kind::Choice(WORK_ZONE_PLANS),
        optional: true,
        parse: Parser::None,
        prefill: None,
        also_stores: &[],
        known: None,
    },
    confirm(
        "step1_confirm",
        "Done in the BTP cockpit",
        &[
            (
                "subaccount",
                "The subaccount exists in the region entered under Customer systems",
            ),
            ("admins", "The people who administer it are added as users"),
            (
                "cloud_foundry",
                "Cloud Foundry is enabled and a space exists",
            ),
        ],
    ),
];

fn guide_step1(ctx: &Ctx) -> Vec<Instruction> {
    vec![
        instr(
            "Open the global account and create the subaccount for Task Center, or pick the existing one, in the region entered under Customer systems. Then copy its subdomain and ID from the subaccount's overview into the fields below.",
            Some("BTP cockpit > Account Explorer > Create > Subaccount"),
            vec![("Region", or_todo(ctx.get("region"), "region"))],
        ),
        instr(
            "Add the users who will administer the subaccount.",
            Some("Subaccount > Security > Users"),
            vec![],
        ),
        instr(
            "Enable Cloud Foundry and create a space.",
            Some("Subaccount > Overview > Enable Cloud Foundry"),
            vec![],
        ),
        instr(
            "Do not run the Task Center booster yet: SAP makes trust with Identity Authentication its prerequisite. That is step 2.1; the booster follows in step 2.2.",
            None,
            vec![],
        ),
    ]
}

// ---- step 2.1 --------------------------------------------------------------

const STEP2: &[Field] = &[
    text(
        "ias_host",
        "Identity Authentication tenant",
        "The IAS tenant that both the subaccount and S/4HANA Cloud trust, for example acme.accounts.ondemand.com.",
        |s, _| domain::IasHost::parse(s).map(|c| plain("ias_host", c, |v| v.0)),
    ),
    confirm(
        "step2_confirm",
        "Done for trust and users",
        &[
            (
                "trust",
                "The subaccount trusts the Identity Authentication tenant above",
            ),
            (
                "same_tenant",
                "S/4HANA Cloud uses the same Identity Authentication tenant",
            ),
            (
                "user_attributes",
                "Every Task Center user has a Display Name (not \"None\"), an e-mail and a Global User ID in Identity Authentication",
            ),
            (
                "subject_uuid",
                "The subaccount's application in Identity Authentication sends the User UUID as subject name identifier",
            ),
        ],
    ),
    optional(text(
        "ias_client_id",
        "IAS administrator client ID (optional)",
        "The client ID of an IAS administrator system with \"Read Users\". With it the wizard can look up users' UUIDs in step 6.",
        |s, _| domain::bounded_text(s, "client ID", 200).map(|c| plain("ias_client_id", c, |v| v)),
    )),
    Field {
        key: "ias_client_secret",
        label: "IAS administrator client secret (optional)",
        hint: "Stored encrypted and never shown again. Leave blank to keep the saved one.",
        kind: Kind::Secret,
        optional: true,
        parse: Parser::Text(|s, _| {
            if s.trim().is_empty() {
                return Err("Enter the client secret".into());
            }
            Ok(Parsed {
                values: vec![("ias_client_secret", Stored::Secret(s.trim().to_string()))],
                warnings: vec![],
            })
        }),
        prefill: None,
        also_stores: &[],
        known: None,
    },
];

fn guide_step2(ctx: &Ctx) -> Vec<Instruction> {
    let ias = or_todo(ctx.get("ias_host"), "Identity Authentication tenant");
    vec![
        instr(
            "Establish trust with the Identity Authentication tenant. It has to be the tenant S/4HANA Cloud uses, or users will not match. SAP makes this trust a prerequisite of the Task Center booster (step 2.2).",
            Some("Subaccount > Security > Trust Configuration > Establish Trust"),
            vec![("Tenant", ias)],
        ),
        instr(
            "In Identity Authentication, check every future Task Center user: Display Name filled in (not \"None\"), an e-mail, and a Global User ID.",
            Some("IAS admin console > Users & Authorizations > User Management"),
            vec![],
        ),
        instr(
            "Open the application the trust created and set its subject name identifier to the User UUID. With the e-mail there, Task Center cannot attribute tasks to their users (failure mode 19). Verify reads it from the Application Directory with the administrator below (which then needs to read applications, not only users) and from a real user's token.",
            Some(
                "IAS admin console > Applications & Resources > Applications > (the subaccount's application, \"SAP BTP subaccount ...\") > Subject Name Identifier",
            ),
            vec![("Subject name identifier", "User UUID".into())],
        ),
        instr(
            "Create (or reuse) an administrator system with \"Read Users\" and a secret. Its client ID and secret go into the booster's people-search destination in step 2.2, and below, so that the wizard can look up users' UUIDs in step 6.",
            Some("IAS admin console > Users & Authorizations > Administrators > Add > System"),
            vec![],
        ),
    ]
}

// ---- step 2.2 --------------------------------------------------------------

const BOOSTER: &[Field] = &[
    Field {
        key: "plan",
        label: "Task Center service plan",
        hint: "The plan chosen when the booster created the Task Center instance.",
        kind: Kind::Choice(PLANS),
        optional: false,
        parse: Parser::None,
        prefill: None,
        also_stores: &[],
        known: None,
    },
    confirm(
        "booster_confirm",
        "Done in the BTP cockpit",
        &[
            (ids::BOOSTER, "The Task Center booster ran without errors"),
            (
                "roles",
                "Launchpad_Admin, Destination Administrator and the Task Center administrator role collection are assigned",
            ),
            (
                "ids_destination",
                "The Identity_Authentication_Connectivity_IDS destination points to the tenant's /scim and its credentials work",
            ),
        ],
    ),
];

fn guide_booster(ctx: &Ctx) -> Vec<Instruction> {
    vec![
        instr(
            "With trust in place (step 2.1), run the booster that sets up Task Center with SAP Build Work Zone, standard edition, in the subaccount of step 1. Choose the all-tasks plan, or build-default with an SAP Build bundle; standard was retired on 2025-11-15.",
            Some("Global account > Boosters > \"Set up an account for SAP Task Center with SAP Build Work Zone, standard edition\""),
            vec![("Subaccount", or_todo(ctx.get("subdomain"), "subdomain (step 1)"))],
        ),
        instr(
            "The booster creates the destinations Task_Center (leave it as it is), Identity_Authentication_Connectivity_IDS and Task_Center_global_settings, plus a sample S4HANACloud that points to sample_url.com. Step 4 replaces the sample.",
            Some("Subaccount > Connectivity > Destinations"),
            vec![],
        ),
        instr(
            "Open the destination the booster created for people search and set its URL and the credentials of the IAS administrator system from step 2.1.",
            Some(
                "Subaccount > Connectivity > Destinations > Identity_Authentication_Connectivity_IDS",
            ),
            vec![
                (
                    "URL",
                    format!(
                        "https://{}/scim",
                        ctx.get("ias_host")
                            .unwrap_or("<tenant>.accounts.ondemand.com")
                    ),
                ),
                ("Authentication", "BasicAuthentication".into()),
            ],
        ),
        instr(
            "Assign the role collections to the administrators.",
            Some("Subaccount > Security > Role Collections"),
            vec![("Role collections", "Launchpad_Admin, Destination Administrator, Task Center administrator (role TaskCenterAdmin)".into())],
        ),
    ]
}

pub(super) const SUBACCOUNT_PAGE: Page = Page {
    id: ids::SUBACCOUNT,
    title: "BTP subaccount",
    section: "Prepare SAP BTP",
    step: "1",
    intro: "Create or pick the subaccount for Task Center in the BTP cockpit. Its subdomain and ID, asked here, are checked against every key and certificate later.",
    fields: STEP1,
    requires: &[ids::FACTS],
    depends_on: &["region"],
    guide: Some(guide_step1),
    summary: None,
    check: None,
    action: None,
};

pub(super) const IAS_TRUST_PAGE: Page = Page {
    id: ids::IAS_TRUST,
    title: "Trust with Identity Authentication",
    section: "Prepare SAP BTP",
    step: "2.1",
    intro: "Task Center and S/4HANA Cloud must know users from the same Identity Authentication tenant. SAP makes this trust a prerequisite of the Task Center booster.",
    fields: STEP2,
    requires: &[ids::SUBACCOUNT],
    depends_on: &[],
    guide: Some(guide_step2),
    summary: None,
    check: None,
    action: None,
};

pub(super) const BOOSTER_PAGE: Page = Page {
    id: ids::BOOSTER,
    title: "Task Center booster",
    section: "Prepare SAP BTP",
    step: "2.2",
    intro: "With trust in place, the booster creates the Task Center instance and the destinations the later steps change.",
    fields: BOOSTER,
    requires: &[ids::IAS_TRUST],
    depends_on: &["ias_host"],
    guide: Some(guide_booster),
    summary: None,
    check: None,
    action: None,
};
