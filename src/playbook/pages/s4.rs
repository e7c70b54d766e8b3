//! Steps 3.1 to 3.5: the Task Center key, the trust certificate, and
//! S/4HANA's communication user, system and arrangement.

use super::*;

// ---- step 3.1 --------------------------------------------------------------

const SK_KEYS: &[&str] = &[
    "sk_inbox_rest_url",
    "sk_uaa_url",
    "sk_clientid",
    "sk_clientsecret",
    "sk_certificate",
    "sk_key",
    "sk_certurl",
    "sk_cert_not_after",
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
            not_after,
            ..
        } => values.extend([
            ("sk_certificate", Stored::Secret(certificate)),
            ("sk_key", Stored::Secret(key)),
            ("sk_certurl", Stored::Plain(certurl)),
            ("sk_cert_not_after", Stored::Plain(not_after.to_string())),
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
    "push_certificate",
    "push_private_key",
    "push_certurl",
    "push_cert_not_after",
];

/// The dedicated key for S/4HANA's push channel: its client becomes
/// `tc.clientId` and the outbound user of the communication system.
fn parse_push_key(s: &str, ctx: &Ctx) -> Result<Parsed, String> {
    let c = ServiceKey::parse(s)?;
    let k = c.value;
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
    let mut values = vec![
        (
            "push_key",
            Stored::Plain(format!("saved for client {}", k.clientid)),
        ),
        ("push_inbox_rest_url", Stored::Plain(k.inbox_rest_url)),
        ("push_uaa_url", Stored::Plain(k.uaa_url)),
        ("push_clientid", Stored::Plain(k.clientid)),
    ];
    match k.credential {
        domain::Credential::Secret(secret) => {
            values.push(("push_clientsecret", Stored::Secret(secret)))
        }
        // SAP's mTLS push (tc 0aff1b4): S/4HANA's outbound user takes the
        // certificate and key (SAP's outbound.p12); the wizard keeps them
        // encrypted and leaves that upload to the consultant (its field
        // mapping is unconfirmed, sap-apis-btp.md O.2).
        domain::Credential::Certificate {
            certificate,
            key,
            certurl,
            not_after,
            ..
        } => {
            warnings.push("An X.509 push key: S/4HANA's outbound user with mTLS is set up by hand (SAP's \"Connect ... Using mTLS\"): the S/4HANA plan says how; SAP has confirmed no API mapping for it.".into());
            values.extend([
                ("push_certificate", Stored::Secret(certificate)),
                ("push_private_key", Stored::Secret(key)),
                ("push_certurl", Stored::Plain(certurl)),
                ("push_cert_not_after", Stored::Plain(not_after.to_string())),
            ]);
        }
    }
    Ok(Parsed { values, warnings })
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

pub(super) const TASK_CENTER_KEY_PAGE: Page = Page {
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
            key: "push_credential",
            label: "Credential type of the push key the wizard creates (optional)",
            hint: "For the push key made through Service Manager: a client secret, or an X.509 certificate (SAP's recommendation; valid one year, and S/4HANA's outbound user with mTLS is then set up by hand).",
            kind: Kind::Choice(&[
                ("secret", "Client ID and secret"),
                ("x509", "X.509 certificate"),
            ]),
            optional: true,
            parse: Parser::None,
            prefill: None,
            also_stores: &[],
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
};

pub(super) const TRUST_CERTIFICATE_PAGE: Page = Page {
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
};

pub(super) const COMM_USER_PAGE: Page = Page {
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
};

pub(super) const COMM_SYSTEM_PAGE: Page = Page {
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
};

pub(super) const COMM_ARRANGEMENT_PAGE: Page = Page {
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
};
