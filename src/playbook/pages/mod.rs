//! The ordered pages of the procedure (../shared/procedure.md), in our words:
//! each area in a file of its own (its fields, parsers, guide and `Page`
//! side by side), the list and the secret registries here.

use super::actions::Action;
use super::ids;
use super::{Ctx, Field, Instruction, Kind, Page, Parsed, Parser, Stored};
use crate::domain::{self, Checked, DestinationKey, S4Host, ServiceKey, TrustCertificate};

mod approvers;
mod btp;
mod destination;
mod facts;
mod s4;
mod work_zone;

pub use destination::destination;
pub use facts::{ROLES, role_names};
pub use s4::push_client_id;

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

fn instr(
    text: impl Into<std::borrow::Cow<'static, str>>,
    path: Option<&'static str>,
    values: Vec<(&'static str, String)>,
) -> Instruction {
    Instruction {
        text: text.into(),
        path,
        values,
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
    facts::PAGE,
    btp::SUBACCOUNT_PAGE,
    btp::IAS_TRUST_PAGE,
    btp::BOOSTER_PAGE,
    s4::TASK_CENTER_KEY_PAGE,
    s4::TRUST_CERTIFICATE_PAGE,
    s4::COMM_USER_PAGE,
    s4::COMM_SYSTEM_PAGE,
    s4::COMM_ARRANGEMENT_PAGE,
    destination::PAGE,
    work_zone::PAGE,
    approvers::PAGE,
    Page {
        id: crate::playbook::CHECK_PAGE,
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
    "cis_clientsecret",
    "push_certificate",
    "push_private_key",
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
    (
        "push_private_key",
        &[(
            "push_certurl",
            "the certificate token service of the push key",
        )],
    ),
    (
        "push_certificate",
        &[(
            "push_certurl",
            "the certificate token service of the push key",
        )],
    ),
    (
        "cis_clientsecret",
        &[
            (
                "cis_uaa_url",
                "the token service of the Cloud Management key",
            ),
            ("cis_accounts_url", "the Accounts service"),
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
    ("sk_cert_not_after", "Client certificate valid until"),
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
    ("push_certificate", "Push channel client certificate"),
    (
        "push_private_key",
        "Private key of the push channel's certificate",
    ),
    ("push_certurl", "Push channel certificate token URL"),
    (
        "push_cert_not_after",
        "Push channel certificate valid until",
    ),
    ("cis_uaa_url", "Cloud Management token URL base"),
    ("cis_clientid", "Cloud Management client ID"),
    ("cis_clientsecret", "Cloud Management client secret"),
    ("cis_accounts_url", "Accounts service URL"),
    ("cis_entitlements_url", "Entitlements service URL"),
    ("cis_provisioning_url", "Provisioning service URL"),
    ("cis_saas_url", "SaaS Provisioning service URL"),
];
