//! The SAP call each step runs: 3.1 checks the service key, 3.2 fetches the
//! trust certificate, 4 creates or updates the destination, 6 looks up users.
//! Inputs are read from the answers first; the calls then run without them.

use std::collections::{BTreeMap, HashMap};

use super::Ctx;
use crate::domain::{self, DestinationKey, TrustCertificate};
use crate::sap::{Calls, SapClient, SapError, destinations, ias, task_center, xsuaa};
use crate::store::Stored;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    VerifyServiceKey,
    FetchCertificate,
    ApplyDestination,
    LookupUsers,
}

impl Action {
    /// The button that (re)runs it.
    pub fn label(self) -> &'static str {
        match self {
            Action::VerifyServiceKey => "Test the key with SAP again",
            Action::FetchCertificate => "Fetch the certificate from BTP",
            Action::ApplyDestination => "Create or update the destination in BTP",
            Action::LookupUsers => "Look up Global User IDs in Identity Authentication",
        }
    }
}

/// The values an action needs, owned (secrets in clear only for the call).
pub struct Inputs(HashMap<&'static str, String>);

impl Inputs {
    fn get(&self, k: &str) -> &str {
        self.0.get(k).map_or("", String::as_str)
    }
}

pub struct Outcome {
    pub ok: bool,
    pub message: String,
    /// The field the message belongs to, when it is about one.
    pub field: Option<&'static str>,
    pub details: Vec<String>,
    /// Answers to merge into the page and save (fetched certificate, found IDs).
    pub save: Option<BTreeMap<String, Stored>>,
}

impl Outcome {
    pub fn fail(field: Option<&'static str>, message: String) -> Self {
        Outcome {
            ok: false,
            message,
            field,
            details: Vec::new(),
            save: None,
        }
    }
    fn from_error(field: Option<&'static str>, e: &SapError) -> Self {
        Self::fail(field, e.explain())
    }
}

/// Whether saving the page should run its action at once.
pub fn runs_on_save(action: Action, ctx: &Ctx) -> bool {
    match action {
        Action::VerifyServiceKey => true,
        Action::FetchCertificate => {
            ctx.get("ds_clientid").is_some() && ctx.get("cert_cn").is_none()
        }
        Action::ApplyDestination | Action::LookupUsers => false,
    }
}

fn need(
    ctx: &Ctx,
    map: &mut HashMap<&'static str, String>,
    keys: &[(&'static str, &str)],
) -> Result<(), String> {
    for (k, what) in keys {
        let v = if super::is_secret_key(k) {
            ctx.secret_to_send(k)?
        } else {
            ctx.get(k).map(str::to_string)
        };
        match v {
            Some(v) if !v.is_empty() => {
                map.insert(*k, v);
            }
            _ => return Err(format!("First enter {what}.")),
        }
    }
    Ok(())
}

/// Read what `action` needs from the answers; a message names what is missing.
pub fn inputs(action: Action, ctx: &Ctx) -> Result<Inputs, String> {
    let mut m = HashMap::new();
    let ds = [
        ("ds_uri", "the Destination service key (step 3.2)"),
        ("ds_url", "the Destination service key (step 3.2)"),
        ("ds_clientid", "the Destination service key (step 3.2)"),
        ("ds_clientsecret", "the Destination service key (step 3.2)"),
    ];
    match action {
        Action::VerifyServiceKey => {
            let key = "the Task Center service key";
            need(
                ctx,
                &mut m,
                &[
                    ("sk_uaa_url", key),
                    ("sk_clientid", key),
                    ("sk_inbox_rest_url", key),
                ],
            )?;
            // A secret, or (credential type x509) a certificate at certurl.
            if ctx.get("sk_certurl").is_some() {
                need(
                    ctx,
                    &mut m,
                    &[
                        ("sk_certurl", key),
                        ("sk_certificate", key),
                        ("sk_key", key),
                    ],
                )?;
            } else {
                need(ctx, &mut m, &[("sk_clientsecret", key)])?;
            }
        }
        Action::FetchCertificate => {
            need(ctx, &mut m, &ds)?;
            if let Some(id) = ctx.get("subaccount_id") {
                m.insert("subaccount_id", id.to_string());
            }
        }
        // Written by its own remote change (`btp_destination`); ready when
        // that change has what it needs.
        Action::ApplyDestination => {
            use super::change::Flow;
            super::btp_destination::Destination.wanted(ctx)?;
        }
        Action::LookupUsers => need(
            ctx,
            &mut m,
            &[
                ("ias_host", "the Identity Authentication tenant"),
                (
                    "ias_client_id",
                    "the IAS administrator client ID (step 2.1)",
                ),
                (
                    "ias_client_secret",
                    "the IAS administrator client secret (step 2.1)",
                ),
                ("approvers", "the approvers' e-mail addresses"),
            ],
        )?,
    }
    Ok(Inputs(m))
}

fn dest_key(i: &Inputs) -> DestinationKey {
    DestinationKey {
        uri: i.get("ds_uri").to_string(),
        url: i.get("ds_url").to_string(),
        clientid: i.get("ds_clientid").to_string(),
        clientsecret: i.get("ds_clientsecret").to_string(),
    }
}

pub async fn run(action: Action, i: Inputs, sap: &SapClient, calls: &Calls, now: i64) -> Outcome {
    match action {
        Action::VerifyServiceKey => verify_service_key(&i, sap, calls).await,
        Action::FetchCertificate => fetch_certificate(&i, sap, calls, now).await,
        Action::ApplyDestination => Outcome::fail(
            None,
            "The destination is written from its plan: open Create the destination in BTP.".into(),
        ),
        Action::LookupUsers => lookup_users(&i, sap, calls).await,
    }
}

async fn verify_service_key(i: &Inputs, sap: &SapClient, calls: &Calls) -> Outcome {
    let certificate = !i.get("sk_certurl").is_empty();
    let client = xsuaa::OAuthClient {
        uaa_url: i.get("sk_uaa_url").to_string(),
        client_id: i.get("sk_clientid").to_string(),
        auth: if certificate {
            xsuaa::ClientAuth::Certificate {
                certurl: i.get("sk_certurl").to_string(),
                identity: format!(
                    "{}\n{}",
                    i.get("sk_certificate").trim_end(),
                    i.get("sk_key")
                ),
            }
        } else {
            xsuaa::ClientAuth::Secret(i.get("sk_clientsecret").to_string())
        },
    };
    let token = match xsuaa::token_for(sap, calls, &client, &[]).await {
        Ok(t) => t,
        Err(SapError::Status { status: 401, .. }) if certificate => {
            return Outcome::fail(Some("service_key"), "SAP refused this key's client certificate (401 invalid_client). The key may have been deleted or its certificate replaced, or not copied whole: copy it again from the BTP cockpit and paste it.".into());
        }
        Err(SapError::Status { status: 401, .. }) => {
            return Outcome::fail(Some("service_key"), "SAP refused this key's client ID and secret (401 Bad credentials). The key may have been deleted or regenerated, or not copied whole: copy it again from the BTP cockpit and paste it.".into());
        }
        Err(e) => return Outcome::from_error(Some("service_key"), &e),
    };
    let reach = match task_center::connectors(
        sap,
        calls,
        i.get("sk_inbox_rest_url"),
        &token.access_token,
    )
    .await
    {
        Ok(task_center::Reach::Listed(n)) => {
            format!("Task Center answered and lists {n} connector(s).")
        }
        Ok(task_center::Reach::NeedsUserToken(s)) => format!(
            "Task Center is reachable; it answered {s} because listing connectors needs a Task Center administrator's own sign-in, which is expected."
        ),
        Err(e) => {
            return Outcome::fail(
                Some("service_key"),
                format!(
                    "The key is valid, but Task Center could not be reached: {}",
                    e.explain()
                ),
            );
        }
    };
    Outcome {
        ok: true,
        message: format!(
            "The key works: SAP issued a token (valid {} minutes). {reach}",
            token.expires_in / 60
        ),
        field: None,
        details: Vec::new(),
        save: None,
    }
}

async fn fetch_certificate(i: &Inputs, sap: &SapClient, calls: &Calls, now: i64) -> Outcome {
    let session = match destinations::connect(sap, calls, &dest_key(i)).await {
        Ok(s) => s,
        Err(SapError::Status { status: 401, .. }) => {
            return Outcome::fail(Some("dest_key"), "SAP refused the Destination service key's client ID and secret (401). Copy the key again from the BTP cockpit.".into());
        }
        Err(e) => return Outcome::from_error(Some("dest_key"), &e),
    };
    let pem = match session.certificate(calls).await {
        Ok(p) => p,
        Err(e) => return Outcome::from_error(Some("certificate"), &e),
    };
    let cert = match TrustCertificate::parse(pem.as_bytes(), now) {
        Ok(c) => c,
        Err(e) => {
            return Outcome::fail(
                Some("certificate"),
                format!("BTP returned a certificate the wizard cannot use: {e}"),
            );
        }
    };
    let subaccount = i.0.get("subaccount_id").map(String::as_str);
    if let Err(e) = cert.value.check_subaccount(subaccount) {
        return Outcome::fail(Some("certificate"), e);
    }
    let t = cert.value;
    let mut save = BTreeMap::new();
    for (k, v) in [
        ("cert_cn", t.cn.clone()),
        ("cert_subject", t.subject),
        ("cert_issuer", t.issuer),
        ("cert_not_before", t.not_before.to_string()),
        ("cert_not_after", t.not_after.to_string()),
        ("cert_sha256", t.sha256),
        ("certificate", t.pem),
    ] {
        save.insert(k.to_string(), Stored::Plain(v));
    }
    if !cert.warnings.is_empty() {
        save.insert(
            "_warnings".to_string(),
            Stored::Plain(cert.warnings.join("\n")),
        );
    }
    Outcome {
        ok: true,
        message: format!(
            "Fetched the subaccount's active trust certificate (CN {}).",
            t.cn
        ),
        field: None,
        details: Vec::new(),
        save: Some(save),
    }
}

/// The host a destination URL points to, for the duplicate check.
async fn lookup_users(i: &Inputs, sap: &SapClient, calls: &Calls) -> Outcome {
    let approvers = match domain::parse_approvers(i.get("approvers")) {
        Ok(a) => a.value,
        Err(e) => return Outcome::fail(Some("approvers"), e),
    };
    let (host, id, secret) = (
        i.get("ias_host"),
        i.get("ias_client_id"),
        i.get("ias_client_secret"),
    );
    let emails: Vec<String> = approvers.iter().map(|a| a.email.clone()).collect();
    let results = ias::users_by_email(sap, calls, (host, id, secret), emails).await;
    let mut lines = Vec::new();
    let mut missing = Vec::new();
    let mut details = Vec::new();
    for (a, r) in approvers.iter().zip(results) {
        match r {
            Ok(Some(u)) => {
                if let Some(old) = &a.global_user_id
                    && *old != u.uuid
                {
                    details.push(format!(
                        "{}: replaced {old} with the IAS user UUID {}",
                        a.email, u.uuid
                    ));
                } else {
                    details.push(format!("{}: {}", a.email, u.uuid));
                }
                if !u.active {
                    details.push(format!(
                        "{} is inactive in Identity Authentication.",
                        a.email
                    ));
                }
                lines.push(format!("{}, {}", a.email, u.uuid));
            }
            Ok(None) => {
                missing.push(a.email.clone());
                lines.push(match &a.global_user_id {
                    Some(g) => format!("{}, {g}", a.email),
                    None => a.email.clone(),
                });
            }
            Err(SapError::Status { status: 401, .. }) => {
                return Outcome::fail(Some("approvers"), "Identity Authentication refused the administrator client ID and secret from step 2.1 (401). Check them there.".into());
            }
            Err(e) => return Outcome::from_error(Some("approvers"), &e),
        }
    }
    let mut save = BTreeMap::new();
    save.insert("approvers".to_string(), Stored::Plain(lines.join("\n")));
    let found = approvers.len() - missing.len();
    Outcome {
        ok: missing.is_empty(),
        message: if missing.is_empty() {
            format!(
                "Found all {found} approvers in Identity Authentication; their UUIDs are filled in."
            )
        } else {
            format!(
                "Found {found} of {} approvers. Not in Identity Authentication: {}. Check the addresses, or create the users there.",
                approvers.len(),
                missing.join(", ")
            )
        },
        field: if missing.is_empty() {
            None
        } else {
            Some("approvers")
        },
        details,
        save: Some(save),
    }
}
