//! The ordered pages of the procedure (../shared/procedure.md), in our words.

use super::actions::Action;
use super::ids;
use super::{Ctx, Field, Instruction, Kind, Page, Parsed, Parser, Stored};
use crate::domain::{self, Checked, DestinationKey, S4Host, ServiceKey, TrustCertificate};

// ---- small adapters from domain parsers to field parsers -------------------

fn plain<T>(key: &'static str, c: Checked<T>, show: impl FnOnce(T) -> String) -> Parsed {
    Parsed {
        values: vec![(key, Stored::Plain(show(c.value)))],
        warnings: c.warnings,
    }
}

fn need_s4(ctx: &Ctx) -> Result<S4Host, String> {
    ctx.s4().ok_or_else(|| {
        "Enter the S/4HANA Cloud host on the first page before this value".to_string()
    })
}

fn instr(text: impl Into<String>, path: Option<&str>, values: Vec<(&str, String)>) -> Instruction {
    Instruction {
        text: text.into(),
        path: path.map(Into::into),
        values: values
            .into_iter()
            .map(|(l, v)| (l.to_string(), v))
            .collect(),
    }
}

fn or_todo(v: Option<&str>, what: &str) -> String {
    v.map_or_else(|| format!("(not entered yet: {what})"), str::to_string)
}

const fn text(
    key: &'static str,
    label: &'static str,
    hint: &'static str,
    parse: super::TextParser,
) -> Field {
    Field {
        key,
        label,
        hint,
        kind: Kind::Text,
        optional: false,
        parse: Parser::Text(parse),
        prefill: None,
        also_stores: &[],
        known: None,
    }
}

const fn confirm(
    key: &'static str,
    label: &'static str,
    items: &'static [(&'static str, &'static str)],
) -> Field {
    Field {
        key,
        label,
        hint: "Tick each item once it is done. You can save and come back later.",
        kind: Kind::Confirm(items),
        optional: false,
        parse: Parser::None,
        prefill: None,
        also_stores: &[],
        known: None,
    }
}

const fn optional(mut f: Field) -> Field {
    f.optional = true;
    f
}

const fn prefilled(mut f: Field, p: fn(&Ctx) -> Option<String>) -> Field {
    f.prefill = Some(p);
    f
}

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
];

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

// ---- step 3.1 --------------------------------------------------------------

const SK_KEYS: &[&str] = &[
    "sk_inbox_rest_url",
    "sk_uaa_url",
    "sk_clientid",
    "sk_clientsecret",
    "sk_certificate",
    "sk_key",
    "sk_certurl",
    "sk_subdomain",
    "sk_region",
    "sk_tenantid",
];

fn parse_service_key(s: &str, _: &Ctx) -> Result<Parsed, String> {
    let c = ServiceKey::parse(s)?;
    let k = c.value;
    let mut values = vec![
        (
            "service_key",
            Stored::Plain(format!("saved for client {}", k.clientid)),
        ),
        ("sk_inbox_rest_url", Stored::Plain(k.inbox_rest_url)),
        ("sk_uaa_url", Stored::Plain(k.uaa_url)),
        ("sk_clientid", Stored::Plain(k.clientid)),
    ];
    match k.credential {
        domain::Credential::Secret(secret) => {
            values.push(("sk_clientsecret", Stored::Secret(secret)))
        }
        // Encrypted at rest like a secret: the certificate too, so that the
        // pair is only ever used together, towards `certurl`.
        domain::Credential::Certificate {
            certificate,
            key,
            certurl,
            ..
        } => values.extend([
            ("sk_certificate", Stored::Secret(certificate)),
            ("sk_key", Stored::Secret(key)),
            ("sk_certurl", Stored::Plain(certurl)),
        ]),
    }
    for (key, v) in [
        ("sk_subdomain", k.subdomain),
        ("sk_region", k.region),
        ("sk_tenantid", k.tenantid),
    ] {
        if let Some(v) = v {
            values.push((key, Stored::Plain(v)));
        }
    }
    Ok(Parsed {
        values,
        warnings: c.warnings,
    })
}

const PUSH_KEYS: &[&str] = &[
    "push_inbox_rest_url",
    "push_uaa_url",
    "push_clientid",
    "push_clientsecret",
];

/// The dedicated key for S/4HANA's push channel: its client becomes
/// `tc.clientId` and the outbound user of the communication system.
fn parse_push_key(s: &str, ctx: &Ctx) -> Result<Parsed, String> {
    let c = ServiceKey::parse(s)?;
    let k = c.value;
    let Some(secret) = k.credential.secret().map(str::to_string) else {
        return Err("The push channel with an X.509 key needs S/4HANA's outbound user with mTLS (outbound.p12), which the wizard does not set up yet: its field mapping is not confirmed by SAP. Paste a push key with a client secret, or set the push channel up by hand as SAP's \"Connect ... Using mTLS\" describes; the main key above may be X.509".into());
    };
    let mut warnings = c.warnings;
    if ctx.get("sk_clientid") == Some(k.clientid.as_str()) {
        warnings.push("This is the same key as above. SAP recommends a dedicated Task Center instance and key for the push channel, so that rotating one does not stop the other.".into());
    }
    if let Err(e) = domain::check_key_subaccount(
        k.subdomain.as_deref(),
        k.region.as_deref(),
        ctx.get("subdomain"),
        ctx.get("region"),
    ) {
        return Err(format!("The push key: {e}"));
    }
    Ok(Parsed {
        values: vec![
            (
                "push_key",
                Stored::Plain(format!("saved for client {}", k.clientid)),
            ),
            ("push_inbox_rest_url", Stored::Plain(k.inbox_rest_url)),
            ("push_uaa_url", Stored::Plain(k.uaa_url)),
            ("push_clientid", Stored::Plain(k.clientid)),
            ("push_clientsecret", Stored::Secret(secret)),
        ],
        warnings,
    })
}

const SM_KEYS: &[&str] = &["sm_url", "sm_uaa_url", "sm_clientid", "sm_clientsecret"];

/// A Service Manager key, kept to create the push channel's instance and key.
fn parse_sm_key(s: &str, _: &Ctx) -> Result<Parsed, String> {
    let c = domain::ServiceManagerKey::parse(s)?;
    let k = c.value;
    Ok(Parsed {
        values: vec![
            (
                "sm_key",
                Stored::Plain(format!("saved for client {}", k.clientid)),
            ),
            ("sm_url", Stored::Plain(k.sm_url)),
            ("sm_uaa_url", Stored::Plain(k.url)),
            ("sm_clientid", Stored::Plain(k.clientid)),
            ("sm_clientsecret", Stored::Secret(k.clientsecret)),
        ],
        warnings: c.warnings,
    })
}

/// The push channel's client: the dedicated key's, else the main key's.
pub fn push_client_id<'a>(ctx: &'a Ctx) -> Option<&'a str> {
    ctx.get("push_clientid").or_else(|| ctx.get("sk_clientid"))
}

fn check_service_key(ctx: &Ctx) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    if let Err(e) = domain::check_key_subaccount(
        ctx.get("sk_subdomain"),
        ctx.get("sk_region"),
        ctx.get("subdomain"),
        ctx.get("region"),
    ) {
        errors.push(("service_key", e));
    }
    if let (Some(t), Some(id)) = (ctx.get("sk_tenantid"), ctx.get("subaccount_id"))
        && t != id
    {
        errors.push((
            "service_key",
            format!("This key belongs to subaccount {t}, but the setup's subaccount ID is {id}. Paste the key from the right subaccount"),
        ));
    }
    errors
}

fn summary_service_key(ctx: &Ctx) -> Vec<(String, String)> {
    [
        (
            "Task Center REST URL (endpoints.inbox_rest_url)",
            ctx.get("sk_inbox_rest_url"),
        ),
        ("Token URL base (uaa.url)", ctx.get("sk_uaa_url")),
        ("Client ID (uaa.clientid)", ctx.get("sk_clientid")),
    ]
    .into_iter()
    .filter_map(|(l, v)| v.map(|v| (l.to_string(), v.to_string())))
    .chain(
        ctx.masked("sk_clientsecret")
            .map(|m| ("Client secret (uaa.clientsecret)".to_string(), m)),
    )
    .chain(ctx.get("sk_certurl").map(|u| {
        (
            "Signs in with a client certificate (X.509) at".to_string(),
            u.to_string(),
        )
    }))
    .chain(ctx.get("push_clientid").map(|c| {
        (
            "Push channel client ID (tc.clientId)".to_string(),
            c.to_string(),
        )
    }))
    .collect()
}

fn guide_step31(_: &Ctx) -> Vec<Instruction> {
    vec![
        instr(
            "Open the Task Center instance the booster created and create a service key (SAP recommends a dedicated key for the push channel from S/4HANA). Keep the default credential type.",
            Some(
                "Subaccount > Services > Instances and Subscriptions > default_taskcenter > Create service key",
            ),
            vec![],
        ),
        instr(
            "Open the key, copy the whole JSON text and paste it below.",
            Some("... > default_taskcenter > Service Keys > (your key) > View"),
            vec![],
        ),
    ]
}

// ---- step 3.2 --------------------------------------------------------------

fn parse_certificate(b: &[u8], ctx: &Ctx) -> Result<Parsed, String> {
    let c = TrustCertificate::parse(b, ctx.now)?;
    let t = c.value;
    Ok(Parsed {
        values: vec![
            ("certificate", Stored::Plain(t.pem)),
            ("cert_cn", Stored::Plain(t.cn)),
            ("cert_subject", Stored::Plain(t.subject)),
            ("cert_issuer", Stored::Plain(t.issuer)),
            ("cert_not_before", Stored::Plain(t.not_before.to_string())),
            ("cert_not_after", Stored::Plain(t.not_after.to_string())),
            ("cert_sha256", Stored::Plain(t.sha256)),
        ],
        warnings: c.warnings,
    })
}

const STEP32: &[Field] = &[
    Field {
        key: "certificate",
        label: "Trust certificate",
        hint: "A .pem, .crt or .cer file (PEM or DER). Not needed if you give the Destination service key below: the wizard then fetches it.",
        kind: Kind::File,
        optional: true,
        parse: Parser::Bytes(parse_certificate),
        prefill: None,
        also_stores: &[
            "cert_cn",
            "cert_subject",
            "cert_issuer",
            "cert_not_before",
            "cert_not_after",
            "cert_sha256",
        ],
        known: None,
    },
    Field {
        key: "dest_key",
        label: "Destination service key (JSON) (optional)",
        hint: "The key of a Destination service instance in the subaccount. With it the wizard fetches the certificate and, in step 4, creates the destination for you. Leave blank to keep the saved key.",
        kind: Kind::Json,
        optional: true,
        parse: Parser::Text(parse_destination_key),
        prefill: None,
        also_stores: &["ds_uri", "ds_url", "ds_clientid", "ds_clientsecret"],
        known: None,
    },
];

fn parse_destination_key(s: &str, _: &Ctx) -> Result<Parsed, String> {
    let c = DestinationKey::parse(s)?;
    let k = c.value;
    Ok(Parsed {
        values: vec![
            (
                "dest_key",
                Stored::Plain(format!("saved for client {}", k.clientid)),
            ),
            ("ds_uri", Stored::Plain(k.uri)),
            ("ds_url", Stored::Plain(k.url)),
            ("ds_clientid", Stored::Plain(k.clientid)),
            ("ds_clientsecret", Stored::Secret(k.clientsecret)),
        ],
        warnings: c.warnings,
    })
}

fn check_certificate(ctx: &Ctx) -> Vec<(&'static str, String)> {
    let Some(cn) = ctx.get("cert_cn") else {
        if ctx.get("ds_clientid").is_none() {
            return vec![(
                "certificate",
                "Upload the trust certificate, or paste a Destination service key so that the wizard can fetch it".into(),
            )];
        }
        return vec![];
    };
    match domain::check_cn(cn, ctx.get("subaccount_id")) {
        Ok(()) => vec![],
        Err(e) => vec![("certificate", e)],
    }
}

fn summary_certificate(ctx: &Ctx) -> Vec<(String, String)> {
    let date = |k| {
        ctx.get(k)
            .and_then(|v| v.parse().ok())
            .map(crate::fmt::date)
    };
    [
        ("Subject", ctx.get("cert_subject").map(Into::into)),
        ("Issuer", ctx.get("cert_issuer").map(Into::into)),
        (
            "Common name (the SAML issuer for step 3.4)",
            ctx.get("cert_cn").map(Into::into),
        ),
        ("Valid from", date("cert_not_before")),
        ("Valid until", date("cert_not_after")),
        (
            "SHA-256 fingerprint",
            ctx.get("cert_sha256").map(Into::into),
        ),
    ]
    .into_iter()
    .filter_map(|(l, v)| v.map(|v| (l.to_string(), v)))
    .collect()
}

fn guide_step32(_: &Ctx) -> Vec<Instruction> {
    vec![
        instr(
            "Export the subaccount's active trust certificate. It is a self-signed certificate whose name ends with the subaccount ID. Do not use \"Download IDP Metadata\": that is XML, and S/4HANA rejects it later with a cryptic error.",
            Some(
                "Subaccount > Connectivity > Destination Trust > Active Trust Certificate > Export (older cockpits: Destinations > Download Trust)",
            ),
            vec![],
        ),
        instr(
            "Upload the file below, or open it in a text editor and paste its text.",
            None,
            vec![],
        ),
    ]
}

// ---- step 3.3 --------------------------------------------------------------

const STEP33: &[Field] = &[
    text(
        "comm_user",
        "Communication user name",
        "For example TASKCENTERCOM. Type it exactly as S/4HANA shows it.",
        |s, _| domain::comm_user_name(s).map(|c| plain("comm_user", c, |v| v)),
    ),
    optional(text(
        "comm_user_description",
        "Description (optional)",
        "For example \"Task Center inbound\".",
        |s, _| {
            domain::bounded_text(s, "description", 80)
                .map(|c| plain("comm_user_description", c, |v| v))
        },
    )),
    Field {
        key: "comm_password",
        label: "Password",
        hint: "The password you give the communication user in S/4HANA. Stored encrypted; it goes into the BTP destination in step 4. Leave blank to keep the saved one.",
        kind: Kind::Secret,
        optional: false,
        parse: Parser::Text(|s, _| {
            domain::password(s).map(|c| Parsed {
                values: vec![("comm_password", Stored::Secret(c.value))],
                warnings: c.warnings,
            })
        }),
        prefill: None,
        also_stores: &[],
        known: None,
    },
    optional(text(
        "s4_api_user",
        "API user for communication management (optional)",
        "Only to let the wizard create the user, system and arrangement through S/4HANA's API: the communication user of the customer's SAP_COM_0A48 arrangement (see \"Set up S/4HANA through its API\").",
        |s, _| domain::comm_user_name(s).map(|c| plain("s4_api_user", c, |v| v)),
    )),
    Field {
        key: "s4_api_password",
        label: "Password of the API user (optional)",
        hint: "Stored encrypted and sent only to this S/4HANA system. Leave blank to keep the saved one.",
        kind: Kind::Secret,
        optional: true,
        parse: Parser::Text(|s, _| {
            domain::bounded_text(s, "password", 200).map(|c| Parsed {
                values: vec![("s4_api_password", Stored::Secret(c.value))],
                warnings: c.warnings,
            })
        }),
        prefill: None,
        also_stores: &[],
        known: None,
    },
];

fn guide_step33(_: &Ctx) -> Vec<Instruction> {
    vec![
        instr(
            "Create a communication user. Let S/4HANA propose a password, or use one of at least 20 letters and digits.",
            Some("S/4HANA Fiori launchpad > Maintain Communication Users > New"),
            vec![],
        ),
        instr(
            "Enter the same user name and password below: the BTP destination needs them in step 4.",
            None,
            vec![],
        ),
    ]
}

// ---- step 3.4 --------------------------------------------------------------

const STEP34: &[Field] = &[
    text(
        "comm_system_id",
        "Communication system ID",
        "For example BTP_TASK_CENTER.",
        |s, _| domain::technical_id(s, "system ID").map(|c| plain("comm_system_id", c, |v| v)),
    ),
    text(
        "comm_system_name",
        "Communication system name",
        "For example \"BTP Task Center\".",
        |s, _| {
            domain::bounded_text(s, "system name", 80).map(|c| plain("comm_system_name", c, |v| v))
        },
    ),
    confirm(
        "step34_confirm",
        "Done in the communication system",
        &[
            ("host", "Host Name is the S/4HANA Cloud host shown above"),
            ("oauth_idp", "OAuth 2.0 Identity Provider is switched on"),
            (
                "signing_cert",
                "The trust certificate from step 3.2 is uploaded as signing certificate",
            ),
            (
                "saml_issuer",
                "OAuth 2.0 SAML Issuer is the certificate's common name shown above",
            ),
            (
                "mapping_mode",
                "User ID Mapping Mode is User UUID (Global User ID), not User Name",
            ),
            (
                "inbound_user",
                "The communication user is added for inbound communication with OAuth 2.0 (not the user/password entry)",
            ),
        ],
    ),
];

fn guide_step34(ctx: &Ctx) -> Vec<Instruction> {
    let host = ctx.s4().map(|s| s.host());
    vec![
        instr(
            "Create the communication system. The ID below is a suggestion; enter your own in the field below if you choose another.",
            Some("S/4HANA > Communication Systems > New"),
            vec![(
                "System ID",
                ctx.get("comm_system_id")
                    .unwrap_or("BTP_TASK_CENTER")
                    .to_string(),
            )],
        ),
        instr(
            "Enter the S/4HANA host as Host Name.",
            Some("Communication system > Technical Data > General"),
            vec![("Host Name", or_todo(host.as_deref(), "S/4HANA host"))],
        ),
        instr(
            "Switch OAuth 2.0 Identity Provider on, upload the certificate from step 3.2 as signing certificate, and enter its common name as SAML issuer. The issuer is never an https://...authentication... address.",
            Some("Communication system > OAuth 2.0 Identity Provider"),
            vec![(
                "OAuth 2.0 SAML Issuer",
                or_todo(ctx.get("cert_cn"), "upload the certificate in step 3.2"),
            )],
        ),
        instr(
            "Set User ID Mapping Mode to User UUID (called Global User ID in newer releases). The default, User Name, makes every token request fail.",
            Some("Communication system > OAuth 2.0 Identity Provider > User ID Mapping Mode"),
            vec![("User ID Mapping Mode", "User UUID".into())],
        ),
        instr(
            "Under Users for Inbound Communication, add the communication user and pick its OAuth 2.0 entry.",
            Some("Communication system > Users for Inbound Communication > +"),
            vec![
                (
                    "User",
                    or_todo(ctx.get("comm_user"), "communication user from step 3.3"),
                ),
                ("Authentication Method", "OAuth 2.0".into()),
            ],
        ),
    ]
}

// ---- step 3.5 --------------------------------------------------------------

const STEP35: &[Field] = &[
    text(
        "arrangement_name",
        "Communication arrangement name",
        "For example SAP_COM_0501 or TASK_CENTER_INTEGRATION.",
        |s, _| {
            domain::technical_id(s, "arrangement name").map(|c| plain("arrangement_name", c, |v| v))
        },
    ),
    prefilled(
        text(
            "client_id",
            "Client ID",
            "From OAuth 2.0 Details in the arrangement. It is normally the communication user's name; we filled that in.",
            |s, ctx| {
                let c = domain::bounded_text(s, "Client ID", 100)?;
                let mut p = plain("client_id", c, |v| v);
                if let Some(u) = ctx.get("comm_user")
                    && let Some(Stored::Plain(v)) = p.values.first().map(|(_, v)| v)
                    && v != u
                {
                    p.warnings.push(format!("The Client ID differs from the communication user {u}; usually they are equal. Check OAuth 2.0 Details again."));
                }
                Ok(p)
            },
        ),
        |ctx| ctx.get("comm_user").map(Into::into),
    ),
    prefilled(
        text(
            "token_service_url",
            "Token Service URL",
            "From OAuth 2.0 Details. It is on the -api host and ends in /sap/bc/sec/oauth2/token; we derived it from the S/4HANA host.",
            |s, ctx| {
                domain::TokenServiceUrl::parse(s, &need_s4(ctx)?)
                    .map(|c| plain("token_service_url", c, |v| v))
            },
        ),
        |ctx| ctx.s4().map(|s| s.token_service_url()),
    ),
    prefilled(
        text(
            "saml2_audience",
            "SAML2 Audience",
            "From OAuth 2.0 Details. It is the host WITHOUT -api; we derived it from the S/4HANA host.",
            |s, ctx| {
                domain::Saml2Audience::parse(s, &need_s4(ctx)?)
                    .map(|c| plain("saml2_audience", c, |v| v))
            },
        ),
        |ctx| ctx.s4().map(|s| s.audience()),
    ),
    prefilled(
        optional(text(
            "replication_url",
            "Task Replication service URL (optional)",
            "Shown under Inbound Services. We derived it from the S/4HANA host and client.",
            |s, ctx| {
                let client = ctx.get("s4_client").unwrap_or("100").to_string();
                domain::ReplicationUrl::parse(s, &need_s4(ctx)?, &client)
                    .map(|c| plain("replication_url", c, |v| v))
            },
        )),
        |ctx| {
            ctx.s4()
                .map(|s| s.replication_url(ctx.get("s4_client").unwrap_or("100")))
        },
    ),
    optional(text(
        "push_outbound_client",
        "Outbound user of the push channel (optional)",
        "Only when S/4HANA pushes task changes: the OAuth 2.0 client ID of the arrangement's outbound user (the push key's uaa.clientid). The wizard fills it in when it writes the outbound user.",
        |s, ctx| {
            let c = domain::bounded_text(s, "client ID", 200)?;
            let mut p = plain("push_outbound_client", c, |v| v);
            if let Some(key) = ctx.get("push_clientid")
                && let Some(Stored::Plain(v)) = p.values.first().map(|(_, v)| v)
                && v != key
            {
                p.warnings.push(format!("The outbound user's client ID differs from the push key of step 3.1 ({key}): S/4HANA would push with another key's credentials (failure mode 27)."));
            }
            Ok(p)
        },
    )),
    confirm(
        "step35_confirm",
        "Done in the communication arrangement",
        &[
            (
                "scenario",
                "The arrangement uses scenario SAP_COM_0501 (Workflow - Task Center Integration)",
            ),
            ("system", "It uses the communication system from step 3.4"),
            ("oauth", "Inbound authentication is OAuth 2.0"),
        ],
    ),
];

fn guide_step35(ctx: &Ctx) -> Vec<Instruction> {
    vec![
        instr(
            "Create an arrangement for scenario SAP_COM_0501 and pick the communication system from step 3.4. The inbound user fills itself in; check that its method is OAuth 2.0, then save.",
            Some("S/4HANA > Communication Arrangements > New"),
            vec![
                ("Scenario", "SAP_COM_0501".into()),
                (
                    "Communication System",
                    or_todo(ctx.get("comm_system_id"), "system ID from step 3.4"),
                ),
            ],
        ),
        instr(
            "Open OAuth 2.0 Details and compare Client ID, Token Service URL and SAML2 Audience with the values below; correct them here if S/4HANA shows something else.",
            Some("Communication arrangement > Inbound Communication > OAuth 2.0 Details"),
            vec![],
        ),
    ]
}

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
fn push_known(ctx: &Ctx) -> Option<super::Known> {
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
    Some(super::Known { value: "yes", why })
}

const STEP4: &[Field] = &[
    prefilled(
        text(
            "destination_name",
            "Destination name",
            "Up to 64 letters, digits, _ or - (tenants from before 2025-06-19 took only 16: if the connector goes to Error with a longer name, shorten it). Reuse the booster's sample name S4HANACloud to replace the sample. One destination per S/4HANA system.",
            |s, _| domain::DestinationName::parse(s).map(|c| plain("destination_name", c, |v| v.0)),
        ),
        |_| Some("S4HANACloud".into()),
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
        |_| Some("SAP S/4HANA Cloud Task".into()),
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

// ---- step 5 ----------------------------------------------------------------

const STEP5: &[Field] = &[
    confirm(
        "step5_confirm",
        "Done in SAP Build Work Zone",
        &[
            (
                "channel",
                "HTML5 apps content is updated in the Channel Manager",
            ),
            (
                "content",
                "Task Center (and Task Center Administration) are added to My Content",
            ),
            ("group", "A group holds the apps"),
            (
                "role",
                "The apps are assigned to a role (Everyone or your own)",
            ),
            ("site", "A site exists and its languages are active"),
        ],
    ),
    optional(text(
        "site_url",
        "Work Zone site URL (optional)",
        "The address of the site, for the handover report: in Work Zone, Site Directory > your site > Go to Site, then copy the browser's address.",
        |s, ctx| {
            domain::https_url(s, "site URL")
                .map_err(|e| {
                    let example = match (ctx.get("subdomain"), ctx.get("region")) {
                        (Some(sd), Some(r)) => {
                            format!("https://{sd}.launchpad.cfapps.{r}.hana.ondemand.com/site/…")
                        }
                        _ => "https://<subdomain>.launchpad.cfapps.<region>.hana.ondemand.com/site/…".into(),
                    };
                    format!(
                        "{e}. Copy it in SAP Build Work Zone: Site Directory > your site > Go to Site, then the browser's address (usually {example})."
                    )
                })
                .map(|c| plain("site_url", c, |v| v))
        },
    )),
];

fn guide_step5(_: &Ctx) -> Vec<Instruction> {
    vec![
        instr(
            "Open SAP Build Work Zone.",
            Some(
                "Subaccount > Instances and Subscriptions > SAP Build Work Zone, standard edition > Go to Application",
            ),
            vec![],
        ),
        instr(
            "Refresh the HTML5 apps content provider.",
            Some("Work Zone > Channel Manager > HTML5 Apps > Update content"),
            vec![],
        ),
        instr(
            "Add Task Center and Task Center Administration to your content.",
            Some("Work Zone > Content Manager > Content Explorer > HTML5 Apps"),
            vec![],
        ),
        instr(
            "Create a group with the apps and assign them to a role (Everyone, or a role of your own).",
            Some("Work Zone > Content Manager > My Content > Create"),
            vec![],
        ),
        instr(
            "Create the site and activate its languages.",
            Some("Work Zone > Site Directory > Create Site"),
            vec![],
        ),
    ]
}

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

// ---- the page list ---------------------------------------------------------

const ALL_BUT_CHECK: &[&str] = &[
    ids::FACTS,
    ids::SUBACCOUNT,
    ids::IAS_TRUST,
    ids::BOOSTER,
    ids::TASK_CENTER_KEY,
    ids::TRUST_CERTIFICATE,
    ids::COMM_USER,
    ids::COMM_SYSTEM,
    ids::COMM_ARRANGEMENT,
    ids::DESTINATION,
    ids::WORK_ZONE,
    ids::APPROVERS,
];

pub static PAGES: &[Page] = &[
    Page {
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
    },
    Page {
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
    },
    Page {
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
    },
    Page {
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
    },
    Page {
        id: ids::TASK_CENTER_KEY,
        title: "Task Center service key",
        section: "Configure S/4HANA Cloud",
        step: "3.1",
        intro: "The service key lets S/4HANA push task changes to Task Center. The wizard keeps the four values it needs; the client secret is stored encrypted.",
        fields: &[
            Field {
                key: "service_key",
                label: "Service key (JSON)",
                hint: "Paste the whole key, from { to }. After saving, only the values below are kept. Leave blank to keep the saved key.",
                kind: Kind::Json,
                optional: false,
                parse: Parser::Text(parse_service_key),
                prefill: None,
                also_stores: SK_KEYS,
                known: None,
            },
            Field {
                key: "push_key",
                label: "Dedicated key for the push channel (JSON) (optional)",
                hint: "The key of a second Task Center instance for S/4HANA's push channel. Its client ID becomes tc.clientId and the outbound user of the communication system. Without it Task Center only polls (updates every 30 s or so). Leave blank to keep the saved key.",
                kind: Kind::Json,
                optional: true,
                parse: Parser::Text(parse_push_key),
                prefill: None,
                also_stores: PUSH_KEYS,
                known: None,
            },
            Field {
                key: "sm_key",
                label: "Service Manager key (JSON) (optional)",
                hint: "Instead of creating the push key yourself: the key of a Service Manager instance (plan subaccount-admin) lets the wizard create the dedicated instance and its key, after you confirm. The client secret is stored encrypted and sent only to that key's token service. Leave blank to keep the saved key.",
                kind: Kind::Json,
                optional: true,
                parse: Parser::Text(parse_sm_key),
                prefill: None,
                also_stores: SM_KEYS,
                known: None,
            },
        ],
        requires: &[ids::FACTS],
        depends_on: &["subdomain", "region", "subaccount_id"],
        guide: Some(guide_step31),
        summary: Some(summary_service_key),
        check: Some(check_service_key),
        action: Some(Action::VerifyServiceKey),
    },
    Page {
        id: ids::TRUST_CERTIFICATE,
        title: "Trust certificate",
        section: "Configure S/4HANA Cloud",
        step: "3.2",
        intro: "S/4HANA trusts tokens signed by the subaccount once it has the subaccount's trust certificate.",
        fields: STEP32,
        requires: &[ids::FACTS],
        depends_on: &["subaccount_id"],
        guide: Some(guide_step32),
        summary: Some(summary_certificate),
        check: Some(check_certificate),
        action: Some(Action::FetchCertificate),
    },
    Page {
        id: ids::COMM_USER,
        title: "Communication user",
        section: "Configure S/4HANA Cloud",
        step: "3.3",
        intro: "The user S/4HANA maps Task Center's token requests to.",
        fields: STEP33,
        requires: &[ids::FACTS],
        depends_on: &[],
        guide: Some(guide_step33),
        summary: None,
        check: None,
        action: None,
    },
    Page {
        id: ids::COMM_SYSTEM,
        title: "Communication system",
        section: "Configure S/4HANA Cloud",
        step: "3.4",
        intro: "The communication system tells S/4HANA to trust SAML assertions signed with the subaccount's certificate.",
        fields: STEP34,
        requires: &[ids::TRUST_CERTIFICATE, ids::COMM_USER],
        depends_on: &["s4_host", "cert_cn", "comm_user"],
        guide: Some(guide_step34),
        summary: None,
        check: None,
        action: None,
    },
    Page {
        id: ids::COMM_ARRANGEMENT,
        title: "Communication arrangement",
        section: "Configure S/4HANA Cloud",
        step: "3.5",
        intro: "The arrangement opens the task replication service to Task Center. Its OAuth 2.0 details go into the BTP destination.",
        fields: STEP35,
        requires: &[ids::COMM_SYSTEM],
        depends_on: &["s4_host", "s4_client", "comm_user", "comm_system_id"],
        guide: Some(guide_step35),
        summary: None,
        check: None,
        action: None,
    },
    Page {
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
    },
    Page {
        id: ids::WORK_ZONE,
        title: "SAP Build Work Zone site",
        section: "Connect Task Center",
        step: "5",
        intro: "Users open Task Center from a Work Zone site.",
        fields: STEP5,
        requires: &[ids::FACTS],
        depends_on: &[],
        guide: Some(guide_step5),
        summary: None,
        check: None,
        action: None,
    },
    Page {
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
    },
    Page {
        id: super::CHECK_PAGE,
        title: "Check your answers",
        section: "Hand over",
        step: "",
        intro: "",
        fields: &[],
        requires: ALL_BUT_CHECK,
        depends_on: &[],
        guide: None,
        summary: None,
        check: None,
        action: None,
    },
];

pub const SECRET_KEYS: &[&str] = &[
    "ias_client_secret",
    "sk_clientsecret",
    "sk_certificate",
    "sk_key",
    "comm_password",
    "ds_clientsecret",
    "s4_api_password",
    "scim_api_password",
    "push_clientsecret",
    "sm_clientsecret",
];

/// Where each secret is sent: (answer key holding a URL or host, what it is).
/// A secret is bound to these hosts as they were when it was entered; if one
/// changes, the secret must be entered again before it is sent anywhere.
pub const SECRET_HOSTS: &[(&str, &[(&str, &str)])] = &[
    (
        "sk_clientsecret",
        &[("sk_uaa_url", "the token service of the Task Center key")],
    ),
    (
        "sk_key",
        &[(
            "sk_certurl",
            "the certificate token service of the Task Center key",
        )],
    ),
    (
        "sk_certificate",
        &[(
            "sk_certurl",
            "the certificate token service of the Task Center key",
        )],
    ),
    (
        "ds_clientsecret",
        &[
            ("ds_url", "the token service of the Destination service key"),
            ("ds_uri", "the Destination service"),
        ],
    ),
    (
        "comm_password",
        &[
            ("ds_uri", "the Destination service"),
            ("s4_host", "the S/4HANA system"),
        ],
    ),
    (
        "ias_client_secret",
        &[("ias_host", "the Identity Authentication tenant")],
    ),
    (
        "push_clientsecret",
        &[
            ("push_uaa_url", "the token service of the push key"),
            ("s4_host", "the S/4HANA system (its outbound user)"),
        ],
    ),
    (
        "sm_clientsecret",
        &[
            ("sm_uaa_url", "the token service of the Service Manager key"),
            ("sm_url", "the Service Manager"),
        ],
    ),
];

pub const KEY_LABELS: &[(&str, &str)] = &[
    ("sk_inbox_rest_url", "Task Center REST URL"),
    ("sk_uaa_url", "Token URL base (uaa.url)"),
    ("sk_clientid", "Client ID (uaa.clientid)"),
    ("sk_clientsecret", "Client secret (uaa.clientsecret)"),
    ("sk_certificate", "Client certificate (uaa.certificate)"),
    ("sk_key", "Private key of the client certificate (uaa.key)"),
    ("sk_certurl", "Certificate token URL (uaa.certurl)"),
    ("cert_cn", "Certificate common name"),
    ("cert_subject", "Certificate subject"),
    ("cert_issuer", "Certificate issuer"),
    ("cert_not_before", "Certificate valid from"),
    ("cert_not_after", "Certificate valid until"),
    ("cert_sha256", "Certificate SHA-256 fingerprint"),
    ("sk_subdomain", "Subdomain of the Task Center key"),
    ("sk_region", "Region of the Task Center key"),
    ("sk_tenantid", "Subaccount of the Task Center key"),
    ("ds_uri", "Destination service URL"),
    ("ds_url", "Destination service token URL base"),
    (
        "push_inbox_rest_url",
        "Task Center REST URL of the push key",
    ),
    ("ds_clientid", "Destination service client ID"),
    ("ds_clientsecret", "Destination service client secret"),
    ("push_clientid", "Push channel client ID"),
    ("push_clientsecret", "Push channel client secret"),
    ("push_uaa_url", "Push channel token URL base"),
    ("sm_url", "Service Manager URL"),
    ("sm_uaa_url", "Service Manager token URL base"),
    ("sm_clientid", "Service Manager client ID"),
    ("sm_clientsecret", "Service Manager client secret"),
];
