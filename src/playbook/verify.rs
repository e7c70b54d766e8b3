//! Verify: every known failure mode (procedure.md) that the answers can show,
//! as pass / warning / fail with one sentence and the page that fixes it.
//! Offline checks need no credentials; online checks call SAP concurrently.

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
    pub fn css(self) -> &'static str {
        match self {
            Verdict::Pass => "tag tag--done",
            Verdict::Confirmed => "tag tag--blue",
            Verdict::Warning => "tag tag--orange",
            Verdict::Fail | Verdict::NotConfirmed => "tag tag--red",
            Verdict::Skipped => "tag tag--grey",
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

fn check(id: &str, title: &str, page: &str, verdict: Verdict, reason: impl Into<String>) -> Check {
    Check {
        id: id.into(),
        title: title.into(),
        verdict,
        reason: reason.into(),
        page: page.into(),
        detail: None,
    }
}

/// A check that is a person's confirmation: who ticked `keys` and when, or
/// "Not confirmed" with what goes wrong without it.
fn confirmation(
    ctx: &Ctx,
    keys: &[&str],
    (id, title, page): (&str, &str, &str),
    what: impl Into<String>,
    without: impl Into<String>,
) -> Check {
    match confirmed_by(ctx, keys) {
        Some(by) => check(
            id,
            title,
            page,
            Verdict::Confirmed,
            format!("{by}: {}", what.into()),
        ),
        None => check(
            id,
            title,
            page,
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

/// Every check that needs nothing but the answers.
pub fn offline(ctx: &Ctx) -> Vec<Check> {
    use Verdict::*;
    let mut out = Vec::new();
    let s4 = ctx.s4();
    let client = ctx.get("s4_client").unwrap_or("");
    // Hosts: -api where it belongs and only there, same tenant everywhere.
    match &s4 {
        None => out.push(check(
            "hosts",
            "S/4HANA hosts",
            ids::FACTS,
            Skipped,
            "Enter the S/4HANA host first.",
        )),
        Some(s4) => {
            let mut problems = Vec::new();
            if let Some(t) = ctx.get("token_service_url")
                && let Err(e) = TokenServiceUrl::parse(t, s4)
            {
                problems.push(e);
            }
            if let Some(a) = ctx.get("saml2_audience")
                && let Err(e) = Saml2Audience::parse(a, s4)
            {
                problems.push(e);
            }
            if let Some(r) = ctx.get("replication_url")
                && let Err(e) = ReplicationUrl::parse(r, s4, client)
            {
                problems.push(e);
            }
            out.push(if problems.is_empty() {
                check("hosts", "S/4HANA hosts", ids::COMM_ARRANGEMENT, Pass, format!("The destination URL is https://{} without a path, the audience has no -api, the token URL ends in /sap/bc/sec/oauth2/token, and every value names tenant {}.", s4.api_host(), s4.tenant_number()))
            } else {
                check("hosts", "S/4HANA hosts", ids::COMM_ARRANGEMENT, Fail, problems.join(" "))
            });
        }
    }
    // Service key belongs to the subaccount.
    match ctx.get("sk_clientid") {
        None => out.push(check(
            "service-key",
            "Service key matches the subaccount",
            ids::TASK_CENTER_KEY,
            Skipped,
            "No Task Center service key yet.",
        )),
        Some(_) => {
            let checked = domain::check_key_subaccount(
                ctx.get("sk_subdomain"),
                ctx.get("sk_region"),
                ctx.get("subdomain"),
                ctx.get("region"),
            );
            out.push(match checked {
                Ok(()) => check(
                    "service-key",
                    "Service key matches the subaccount",
                    ids::TASK_CENTER_KEY,
                    Pass,
                    "The key's token URL names the setup's subdomain and region.",
                ),
                Err(e) => check(
                    "service-key",
                    "Service key matches the subaccount",
                    ids::TASK_CENTER_KEY,
                    Fail,
                    e,
                ),
            });
        }
    }
    // Certificate: CN format, subaccount, validity; SAML issuer confirmed.
    match (
        ctx.get("cert_cn"),
        ctx.get("cert_not_after")
            .and_then(|v| v.parse::<i64>().ok()),
    ) {
        (Some(cn), Some(not_after)) => {
            out.push(match domain::check_cn(cn, ctx.get("subaccount_id")) {
                Ok(()) => check(
                    "cert-cn",
                    "Trust certificate belongs to the subaccount",
                    ids::TRUST_CERTIFICATE,
                    Pass,
                    format!("The CN {cn} has SAP's format and names the subaccount."),
                ),
                Err(e) => check(
                    "cert-cn",
                    "Trust certificate belongs to the subaccount",
                    ids::TRUST_CERTIFICATE,
                    Fail,
                    e,
                ),
            });
            let days = (not_after - ctx.now) / 86_400;
            out.push(if not_after < ctx.now {
                check("cert-validity", "Trust certificate is valid", ids::TRUST_CERTIFICATE, Fail, format!("It expired on {}: token requests fail until a renewed certificate is uploaded to S/4HANA.", crate::fmt::date(not_after)))
            } else if days < 60 {
                check("cert-validity", "Trust certificate is valid", ids::TRUST_CERTIFICATE, Warning, format!("It expires in {days} days ({}); renew it and upload it to S/4HANA again before then.", crate::fmt::date(not_after)))
            } else {
                check("cert-validity", "Trust certificate is valid", ids::TRUST_CERTIFICATE, Pass, format!("Valid until {}.", crate::fmt::date(not_after)))
            });
            out.push(confirmation(
                ctx,
                &["step34_confirm.saml_issuer", "step34_confirm.signing_cert"],
                ("saml-issuer", "SAML issuer equals the certificate CN", ids::COMM_SYSTEM),
                format!("the certificate is uploaded and the issuer is {cn}."),
                format!("The OAuth 2.0 SAML Issuer must be exactly {cn}; anything else gives \"There is no trust between entities\"."),
            ));
        }
        _ => out.push(check(
            "cert-cn",
            "Trust certificate",
            ids::TRUST_CERTIFICATE,
            Skipped,
            "No trust certificate yet.",
        )),
    }
    // Mapping mode and inbound OAuth user.
    let mapping = confirmed(ctx, "step34_confirm.mapping_mode");
    let inbound =
        confirmed(ctx, "step34_confirm.inbound_user") && confirmed(ctx, "step35_confirm.oauth");
    out.push(match (mapping, inbound) {
        (true, true) => {
            let by = confirmed_by(ctx, &["step34_confirm.mapping_mode", "step34_confirm.inbound_user", "step35_confirm.oauth"]).unwrap_or_default();
            check("mapping", "User mapping and OAuth 2.0 inbound user", ids::COMM_SYSTEM, Confirmed, format!("{by}: mapping mode User UUID, inbound user with OAuth 2.0."))
        }
        (false, _) => check("mapping", "User mapping and OAuth 2.0 inbound user", ids::COMM_SYSTEM, NotConfirmed, "User ID Mapping Mode User UUID is not confirmed; with User Name every token request fails with \"no user found with alias\"."),
        (true, false) => check("mapping", "User mapping and OAuth 2.0 inbound user", ids::COMM_ARRANGEMENT, NotConfirmed, "The OAuth 2.0 inbound user is not confirmed; the user/password entry makes the replication calls fail with 401."),
    });
    // The destination the wizard writes.
    match ctx.get("destination_name") {
        None => out.push(check(
            "destination",
            "Destination properties",
            ids::DESTINATION,
            Skipped,
            "Step 4 is not saved yet.",
        )),
        Some(name) => {
            out.push(match domain::DestinationName::parse(name) {
                Ok(_) => check(
                    "dest-name",
                    "Destination name length",
                    ids::DESTINATION,
                    Pass,
                    format!(
                        "{name} has {} characters (Task Center takes up to 64 since 2025-06-19).",
                        name.len()
                    ),
                ),
                Err(e) => check(
                    "dest-name",
                    "Destination name length",
                    ids::DESTINATION,
                    Fail,
                    e,
                ),
            });
            let d = super::destination(ctx, false);
            let get = |k: &str| {
                d.iter()
                    .find(|(p, _)| *p == k)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("")
            };
            let mut missing = Vec::new();
            for (k, want) in [
                ("tc.enabled", "true"),
                ("tc.provider_type", "S/4HANACloud"),
                ("userIdSource", "user_uuid"),
            ] {
                if get(k) != want {
                    missing.push(format!("{k} must be {want}"));
                }
            }
            if get("URL.queries.sap-client").len() != 3 {
                missing.push("URL.queries.sap-client must be the 3-digit client".into());
            }
            if get("URL").contains("sample_url") {
                missing.push("URL still points to sample_url.com".into());
            }
            out.push(if missing.is_empty() {
                check("tc-properties", "Task Center properties", ids::DESTINATION, Pass, format!("tc.enabled=true, tc.provider_type=S/4HANACloud, userIdSource=user_uuid, sap-client={}.", get("URL.queries.sap-client")))
            } else {
                check("tc-properties", "Task Center properties", ids::DESTINATION, Fail, missing.join("; "))
            });
            let notif = get("tc.notifications.enabled");
            out.push(if notif.is_empty() || notif == "true" || notif == "false" {
                check(
                    "notifications",
                    "tc.notifications.enabled",
                    ids::DESTINATION,
                    Pass,
                    if notif.is_empty() {
                        "Not set (allowed).".to_string()
                    } else {
                        format!("Set to {notif}.")
                    },
                )
            } else {
                check(
                    "notifications",
                    "tc.notifications.enabled",
                    ids::DESTINATION,
                    Warning,
                    "Only true or false are valid; anything else puts the connector in Warning.",
                )
            });
            out.push(match ctx.get("plan") {
                Some("standard") => check(
                    "plan",
                    "Task Center service plan",
                    ids::BOOSTER,
                    Warning,
                    "Failure mode 23: the standard plan was retired on 2025-11-15. An existing instance keeps working, but a new one needs build-default or all-tasks; plan the move before the instance has to be recreated.",
                ),
                Some(p) => check("plan", "Task Center service plan", ids::BOOSTER, Pass, format!("{p}.")),
                None => check("plan", "Task Center service plan", ids::BOOSTER, Skipped, "Not answered yet (step 2.2)."),
            });
            let days = get("tc.inbox.pull.days");
            out.push(match (days.parse::<u16>(), ctx.get("plan")) {
                _ if days.is_empty() => check(
                    "pull-days",
                    "tc.inbox.pull.days",
                    ids::DESTINATION,
                    Pass,
                    "Not set: the last 90 days are loaded.",
                ),
                (Ok(n), Some("all-tasks")) if n <= 180 => check(
                    "pull-days",
                    "tc.inbox.pull.days",
                    ids::DESTINATION,
                    Pass,
                    format!("{n} days."),
                ),
                (Ok(n), _) if n <= 180 => check(
                    "pull-days",
                    "tc.inbox.pull.days",
                    ids::DESTINATION,
                    Warning,
                    "Works only with the all-tasks plan; step 2.2 does not say all-tasks.",
                ),
                _ => check(
                    "pull-days",
                    "tc.inbox.pull.days",
                    ids::DESTINATION,
                    Fail,
                    "Must be a number from 0 to 180.",
                ),
            });
            out.push(if ctx.get("push") == Some("yes") {
                check(
                    "push",
                    "tc.clientId and push",
                    ids::DESTINATION,
                    Pass,
                    "tc.clientId is set because S/4HANA pushes task changes.",
                )
            } else {
                check(
                    "push",
                    "tc.clientId and push",
                    ids::DESTINATION,
                    Pass,
                    "tc.clientId is left out until push is configured in S/4HANA.",
                )
            });
        }
    }
    // Failure mode 27: the outbound user S/4HANA pushes with is not the push
    // key's client (a rotated key whose secret never reached S/4HANA).
    match (ctx.get("push_clientid"), ctx.get("push_outbound_client")) {
        (Some(key), Some(outbound)) if key != outbound => out.push(check(
            "push-outbound",
            "S/4HANA pushes with the push key",
            ids::COMM_ARRANGEMENT,
            Fail,
            format!(
                "Failure mode 27: S/4HANA's outbound user uses the client {outbound}, but the push key of step 3.1 is {key}. Update the outbound user (Communication Arrangements > Edit Outbound User) with the new key's client and secret, check that PUSH runs, and only then delete the old key."
            ),
        )),
        (Some(key), Some(_)) => out.push(check(
            "push-outbound",
            "S/4HANA pushes with the push key",
            ids::COMM_ARRANGEMENT,
            Pass,
            format!("The outbound user uses the push key's client {key}."),
        )),
        (None, Some(outbound)) => out.push(check(
            "push-outbound",
            "S/4HANA pushes with the push key",
            ids::COMM_ARRANGEMENT,
            Warning,
            format!("Step 3.5 names the outbound user {outbound}, but step 3.1 has no push key: paste the dedicated key there, or the wizard cannot check the client (failure mode 27)."),
        )),
        _ => {}
    }
    // Identities.
    out.push(confirmation(
        ctx,
        &["step2_confirm.same_tenant"],
        (
            "ias-tenant",
            "One Identity Authentication tenant",
            ids::IAS_TRUST,
        ),
        "BTP and S/4HANA use the same tenant.",
        "With different tenants no user matches and tasks reach nobody.",
    ));
    out.push(confirmation(
        ctx,
        &["step2_confirm.subject_uuid"],
        ("subject-name", "Subject name identifier is the User UUID", ids::IAS_TRUST),
        "the subaccount's IAS application sends the User UUID.",
        "Failure mode 19: with the e-mail as subject name identifier, tasks are not attributed to their users. Verify with a customer user reads it from their token.",
    ));
    match ctx.get("approvers").map(domain::parse_approvers) {
        None => out.push(check(
            "global-ids",
            "Global User IDs",
            ids::APPROVERS,
            Skipped,
            "No approvers entered yet.",
        )),
        Some(Err(e)) => out.push(check(
            "global-ids",
            "Global User IDs",
            ids::APPROVERS,
            Fail,
            e,
        )),
        Some(Ok(a)) => {
            let missing: Vec<&str> = a
                .value
                .iter()
                .filter(|x| x.global_user_id.is_none())
                .map(|x| x.email.as_str())
                .collect();
            out.push(if !missing.is_empty() {
                check(
                    "global-ids",
                    "Global User IDs",
                    ids::APPROVERS,
                    Warning,
                    format!(
                        "No Global User ID yet for {}: their tasks will not reach them.",
                        missing.join(", ")
                    ),
                )
            } else if !a.warnings.is_empty() {
                check(
                    "global-ids",
                    "Global User IDs",
                    ids::APPROVERS,
                    Warning,
                    a.warnings.join(" "),
                )
            } else {
                check(
                    "global-ids",
                    "Global User IDs",
                    ids::APPROVERS,
                    Pass,
                    format!(
                        "All {} approvers have a well-formed Global User ID.",
                        a.value.len()
                    ),
                )
            });
        }
    }
    out
}

/// What the online checks need, read up front (secrets only for the calls).
pub struct OnlineInputs {
    key: Option<xsuaa::OAuthClient>,
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
    let key = super::task_center_client(ctx).ok().flatten();
    let dest_key = super::destination_key(ctx).ok().flatten();
    let intended = ctx.get("destination_name").map(|_| {
        super::destination(ctx, true)
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
        dest_key,
        intended,
        s4_host: ctx.s4().map(|s: S4Host| s.host()),
        ias,
        inbox_rest_url: ctx.get("sk_inbox_rest_url").map(str::to_string),
        ias_host: ctx.get("ias_host").map(str::to_string),
        ias_admin,
        subaccount_id: ctx.get("subaccount_id").map(str::to_string),
        user: None,
    }
}

/// The online checks, all at once: a run lasts about as long as its slowest call.
pub async fn online(i: OnlineInputs, sap: &SapClient, calls: &Calls) -> Vec<Check> {
    use Verdict::*;
    let token = async {
        match &i.key {
            None => check(
                "online-token",
                "Task Center key gets a token",
                ids::TASK_CENTER_KEY,
                Skipped,
                "No service key saved.",
            ),
            Some(client) => match xsuaa::token_for(sap, calls, client, &[]).await {
                Ok(_) => check(
                    "online-token",
                    "Task Center key gets a token",
                    ids::TASK_CENTER_KEY,
                    Pass,
                    match client.auth {
                        xsuaa::ClientAuth::Secret(_) => "SAP issued a token for the service key.",
                        xsuaa::ClientAuth::Certificate { .. } => {
                            "SAP issued a token for the service key's client certificate (mutual TLS at uaa.certurl)."
                        }
                    },
                ),
                Err(e) => check(
                    "online-token",
                    "Task Center key gets a token",
                    ids::TASK_CENTER_KEY,
                    Fail,
                    e.explain(),
                ),
            },
        }
    };
    let dest = async {
        let (Some(key), Some(intended)) = (&i.dest_key, &i.intended) else {
            return vec![check(
                "online-destination",
                "Destination in BTP",
                ids::DESTINATION,
                Skipped,
                "Needs the Destination service key (step 3.2) and step 4.",
            )];
        };
        destination_checks(
            sap,
            calls,
            key,
            intended,
            i.s4_host.as_deref().unwrap_or(""),
            i.ias_host.as_deref(),
        )
        .await
    };
    let users = async {
        let Some((host, id, secret, approvers)) = &i.ias else {
            return check(
                "online-users",
                "Approvers exist in Identity Authentication",
                ids::APPROVERS,
                Skipped,
                "Needs the IAS administrator credentials (step 2.1) and approvers (step 6).",
            );
        };
        let emails: Vec<String> = approvers.iter().map(|a| a.email.clone()).collect();
        let found = ias::users_by_email(sap, calls, (host, id, secret), emails).await;
        let (mut missing, mut differ, mut inactive) = (Vec::new(), Vec::new(), Vec::new());
        for (a, r) in approvers.iter().zip(found) {
            match r {
                Ok(Some(u)) => {
                    if let Some(g) = &a.global_user_id
                        && !g.eq_ignore_ascii_case(&u.uuid)
                    {
                        differ.push(format!("{} (step 6: {g}, IAS: {})", a.email, u.uuid));
                    }
                    if !u.active {
                        inactive.push(a.email.clone());
                    }
                }
                Ok(None) => missing.push(a.email.clone()),
                Err(err) => {
                    return check(
                        "online-users",
                        "Approvers exist in Identity Authentication",
                        ids::APPROVERS,
                        Fail,
                        err.explain(),
                    );
                }
            }
        }
        let mut problems = Vec::new();
        if !missing.is_empty() {
            problems.push(format!("Not found: {}.", missing.join(", ")));
            if missing.len() == approvers.len() {
                problems.push("No approver is in Identity Authentication's user store: if the customer signs in through a corporate identity provider (for example Entra ID) behind IAS, turn on \"Use Identity Authentication user store\" for it, or no Global User ID exists (failure mode 24).".into());
            }
        }
        if !differ.is_empty() {
            problems.push(format!(
                "Failure mode 6: the Global User ID of step 6 is not the IAS user UUID for {}; Task Center compares them exactly.",
                differ.join(", ")
            ));
        }
        if problems.is_empty() && inactive.is_empty() {
            check(
                "online-users",
                "Approvers exist in Identity Authentication",
                ids::APPROVERS,
                Pass,
                format!(
                    "All {} approvers were found, with the user UUIDs step 6 holds.",
                    approvers.len()
                ),
            )
        } else if problems.is_empty() {
            check(
                "online-users",
                "Approvers exist in Identity Authentication",
                ids::APPROVERS,
                Warning,
                format!(
                    "Inactive in Identity Authentication: {}. Identity Provisioning locks their business users in S/4HANA (failure mode 30).",
                    inactive.join(", ")
                ),
            )
        } else {
            check(
                "online-users",
                "Approvers exist in Identity Authentication",
                ids::APPROVERS,
                Fail,
                problems.join(" "),
            )
        }
    };
    let s4_ids = async {
        let (Some((api, user, password)), Some((_, _, _, approvers))) = (&i.scim, &i.ias) else {
            return check(
                "online-s4-global-ids",
                "S/4HANA holds the Global User IDs",
                ids::APPROVERS,
                Skipped,
                "Needs the SCIM API user (step 6), the IAS administrator (step 2.1) and the approvers.",
            );
        };
        s4_global_ids(sap, calls, api, user, password, approvers).await
    };
    let application = async {
        let (id, title, page) = APPLICATION;
        let Some((host, client, secret)) = &i.ias_admin else {
            return check(
                id,
                title,
                page,
                Skipped,
                "Needs the IAS administrator client ID and secret (step 2.1).",
            );
        };
        match ias::applications(sap, calls, host, client, secret).await {
            Ok(apps) => application_subject(&apps, i.subaccount_id.as_deref()),
            // An administrator may read users without reading applications.
            Err(crate::sap::SapError::Status { status: 403, .. }) => check(
                id,
                title,
                page,
                Warning,
                "Identity Authentication does not let this administrator read applications (403). Give the administrator system the authorization to manage applications, or check the subject name identifier in the admin console.",
            ),
            Err(e) => check(id, title, page, Fail, e.explain()),
        }
    };
    let (t, mut d, u, s4, a, mut as_user) = tokio::join!(
        token,
        dest,
        users,
        s4_ids,
        application,
        user_checks(&i, sap, calls)
    );
    let mut out = vec![t];
    out.append(&mut d);
    out.push(u);
    out.push(s4);
    out.push(a);
    out.append(&mut as_user);
    out
}

/// What S/4HANA's refusal of the SAML bearer assertion means, where the text
/// clearly says it (sap-apis.md B.2: mapped heuristically, shown as given).
fn token_failure(error: &str, user: &str) -> (&'static str, String) {
    let e = error.to_ascii_lowercase();
    if e.contains("cannot determine user") {
        (ids::DESTINATION, "The Destination service did not see a user (failure mode 22): sign in as a customer user again.".into())
    } else if e.contains("no trust") || e.contains("issuer") || e.contains("signature") {
        (ids::COMM_SYSTEM, "Failure mode 4: S/4HANA does not trust BTP's assertion. In Communication Systems, set OAuth 2.0 SAML Issuer to the trust certificate's CN and upload the current trust certificate.".into())
    } else if e.contains("no user found")
        || e.contains("alias")
        || e.contains("user id could not be determined")
    {
        (
            ids::APPROVERS,
            format!(
                "Failure mode 5: S/4HANA found no business user for {user}. Check that the business user's Global User ID is the IAS user UUID (step 6), that the communication system's User ID Mapping Mode is User UUID (step 3.4), and that the destination's userIdSource is user_uuid."
            ),
        )
    } else if e.contains("invalid_client") || e.contains("401") {
        (ids::COMM_USER, "S/4HANA refused the communication user: check its name (the OAuth client ID), its password, and that the arrangement's inbound user uses OAuth 2.0 (failure mode 10).".into())
    } else {
        (
            ids::COMM_SYSTEM,
            "S/4HANA refused the token request; SAP's text is above.".into(),
        )
    }
}

/// The checks only a customer user's token can run (failure modes 1-6, 8,
/// 14, 21, 22); "Not checked" without one, never Pass.
async fn user_checks(i: &OnlineInputs, sap: &SapClient, calls: &Calls) -> Vec<Check> {
    use Verdict::*;
    const SIGN_IN: &str =
        "Not checked: sign in as a customer user (Verify > Sign in as a customer user).";
    let titles = [
        (
            "online-user-exchange",
            "S/4HANA gives a token for a real user",
            ids::DESTINATION,
        ),
        (
            "online-connector",
            "Task Center's connector for the destination",
            ids::DESTINATION,
        ),
        (
            "online-service-status",
            "Mandatory service destinations",
            ids::BOOSTER,
        ),
        (
            "online-tasks",
            "Tasks arrive for the signed-in approver",
            ids::APPROVERS,
        ),
    ];
    let Some(user) = &i.user else {
        return std::iter::once(&SUBJECT)
            .chain(titles.iter())
            .map(|(id, t, p)| check(id, t, p, Skipped, SIGN_IN))
            .collect();
    };
    let name = i
        .intended
        .as_ref()
        .and_then(|m| m.get("Name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let exchange = async {
        let (id, title, page) = titles[0];
        let Some(key) = &i.dest_key else {
            return check(
                id,
                title,
                page,
                Skipped,
                "Needs the Destination service key (step 3.2).",
            );
        };
        let session = match destinations::connect(sap, calls, key).await {
            Ok(s) => s,
            Err(e) => return check(id, title, page, Fail, e.explain()),
        };
        match session.token_error(calls, &name, &user.token).await {
            Ok(None) => check(
                id,
                title,
                page,
                Pass,
                format!(
                    "Signed in as {}: the Destination service obtained an S/4HANA token for this user through the SAML bearer assertion.",
                    user.who
                ),
            ),
            Ok(Some(err)) => {
                let (fix_page, fix) = token_failure(&err, &user.who);
                check(
                    id,
                    title,
                    fix_page,
                    Fail,
                    format!("SAP answered: \"{err}\" {fix}"),
                )
            }
            Err(SapError::Status { status: 404, .. }) => check(
                id,
                title,
                page,
                Fail,
                format!("There is no destination {name} in the subaccount: create it in step 4."),
            ),
            Err(e) => check(id, title, page, Fail, e.explain()),
        }
    };
    let inbox = i.inbox_rest_url.clone().unwrap_or_default();
    let needs_key = |id: &str, title: &str| {
        check(
            id,
            title,
            ids::TASK_CENTER_KEY,
            Skipped,
            "Needs the Task Center service key (step 3.1).",
        )
    };
    let connector = async {
        let (id, title, page) = titles[1];
        if inbox.is_empty() {
            return needs_key(id, title);
        }
        match task_center::connectors_as_user(sap, calls, &inbox, &user.token).await {
            Err(e) => check(id, title, page, Fail, e.explain()),
            Ok(task_center::AsUser::Forbidden) => check(
                id,
                title,
                page,
                Skipped,
                format!(
                    "Not checked: Task Center refused {} (not a TaskCenterAdmin). If this user administers Task Center, the role collections TaskCenterAdmin, TaskCenterTenantOperator and Launchpad_Admin are likely assigned to the SAP ID service user that ran the booster instead of this user of the customer's IAS (failure mode 25): assign them under the IAS trust's origin (Security > Users), then sign in again.",
                    user.who
                ),
            ),
            Ok(task_center::AsUser::Read(all)) => {
                match all.iter().find(|c| c.destination == name) {
                    None => check(
                        id,
                        title,
                        page,
                        Fail,
                        format!(
                            "Failure mode 1: Task Center has no connector for {name}. Check that the destination exists and has tc.enabled = true."
                        ),
                    ),
                    Some(c) => {
                        let jobs: Vec<String> = c
                            .jobs
                            .iter()
                            .map(|j| {
                                format!(
                                    "{} {}{}",
                                    j.kind,
                                    j.status,
                                    if j.message.is_empty() {
                                        String::new()
                                    } else {
                                        format!(": {}", j.message)
                                    }
                                )
                            })
                            .collect();
                        let detail = if jobs.is_empty() {
                            String::new()
                        } else {
                            format!(" Jobs: {}.", jobs.join("; "))
                        };
                        let error_job = c
                            .jobs
                            .iter()
                            .find(|j| j.status.eq_ignore_ascii_case("ERROR"));
                        let raw = serde_json::to_string_pretty(&c.raw).ok();
                        let mut result = match c.status.as_str() {
                            "OK" => check(
                                id,
                                title,
                                page,
                                Pass,
                                format!("The connector is OK.{detail}"),
                            ),
                            "PAUSED" => check(
                                id,
                                title,
                                page,
                                Fail,
                                format!(
                                    "Failure mode 2: the connector is PAUSED: tc.enabled is not true (Task Center sets it to false after an hour without a token). Fix the token problem, then set tc.enabled = true again.{detail}"
                                ),
                            ),
                            "WARNING" => {
                                let push = c.jobs.iter().any(|j| {
                                    j.kind == "PUSH" && !j.status.eq_ignore_ascii_case("OK")
                                });
                                let why = if push {
                                    "Failure mode 11: tc.clientId is set but S/4HANA does not push: give the communication system the outbound user of the push key (step 3.1, then the S/4HANA API page or Fiori), or remove tc.clientId."
                                } else {
                                    "Failure mode 14: the connector has a warning; check tc.notifications.enabled is true or false."
                                };
                                check(id, title, page, Warning, format!("{why}{detail}"))
                            }
                            _ => {
                                let fix = match error_job {
                                Some(j) if j.message.contains("longer than") => "Failure mode 8: the destination name is too long for Task Center.".to_string(),
                                Some(j) if j.message.contains("OAuth") || j.message.contains("token") => format!("Failure mode 3: {}", token_failure(&j.message, &user.who).1),
                                _ => "Failure mode 3: the connector is in ERROR.".to_string(),
                            };
                                check(id, title, page, Fail, format!("{fix}{detail}"))
                            }
                        };
                        result.detail = raw;
                        result
                    }
                }
            }
        }
    };
    let services = async {
        let (id, title, page) = titles[2];
        if inbox.is_empty() {
            return needs_key(id, title);
        }
        match task_center::service_status(sap, calls, &inbox, &user.token).await {
            Err(e) => check(id, title, page, Fail, e.explain()),
            Ok(task_center::AsUser::Forbidden) => check(
                id,
                title,
                page,
                Skipped,
                format!("Not checked: {} is not a TaskCenterAdmin.", user.who),
            ),
            Ok(task_center::AsUser::Read(entries)) => {
                let bad: Vec<String> = entries
                    .iter()
                    .filter(|(_, s, _)| s != "OK")
                    .map(|(c, s, m)| format!("{c} {s}: {m}"))
                    .collect();
                if bad.is_empty() && !entries.is_empty() {
                    check(
                        id,
                        title,
                        page,
                        Pass,
                        "Task Center reports its service destinations as OK.",
                    )
                } else if entries.is_empty() {
                    check(
                        id,
                        title,
                        page,
                        Warning,
                        "Task Center reported no service status entries.",
                    )
                } else {
                    check(
                        id,
                        title,
                        page,
                        Fail,
                        format!(
                            "Failure mode 21: {}. Check the destinations Identity_Authentication_Connectivity_IDS, Task_Center_global_settings and Task_Center.",
                            bad.join("; ")
                        ),
                    )
                }
            }
        }
    };
    let tasks = async {
        let (id, title, page) = titles[3];
        if user.admin {
            return check(
                id,
                title,
                page,
                Skipped,
                "Not checked: sign in as an approver (not an administrator) to see whether their tasks arrive.",
            );
        }
        if inbox.is_empty() {
            return needs_key(id, title);
        }
        match task_center::task_count(sap, calls, &inbox, &user.token).await {
            Ok(0) => check(
                id,
                title,
                page,
                Fail,
                format!(
                    "Failure mode 6: Task Center lists no tasks for {}. Check that their S/4HANA business user's Global User ID is their IAS user UUID.",
                    user.who
                ),
            ),
            Ok(n) => check(
                id,
                title,
                page,
                Pass,
                format!("Task Center lists {n} tasks for {}.", user.who),
            ),
            Err(e) => check(id, title, page, Fail, e.explain()),
        }
    };
    let (a, b, c, d) = tokio::join!(exchange, connector, services, tasks);
    vec![subject_check(&user.token), a, b, c, d]
}

const APPLICATION: (&str, &str, &str) = (
    "online-ias-application",
    "The subaccount's IAS application sends the User UUID",
    ids::IAS_TRUST,
);

/// Failure mode 19, read from the Application Directory: the subaccount's
/// application and its subject name identifier (`userUuid` in SAP's client).
/// Which attribute names the subaccount is not documented [U]: any SAP
/// managed attribute equal to the subaccount ID counts; failing that, the one
/// application named "SAP BTP subaccount ...", said so in the result.
fn application_subject(apps: &[Value], subaccount: Option<&str>) -> Check {
    use Verdict::*;
    let (id, title, page) = APPLICATION;
    let auth = |a: &Value| {
        a["urn:sap:identity:application:schemas:extension:sci:1.0:Authentication"].clone()
    };
    let name = |a: &Value| a["name"].as_str().unwrap_or("(no name)").to_string();
    let by_id: Vec<&Value> = apps
        .iter()
        .filter(|a| {
            subaccount.is_some_and(|sub| {
                auth(a)["sapManagedAttributes"]
                    .as_object()
                    .is_some_and(|m| {
                        m.values()
                            .any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(sub)))
                    })
            })
        })
        .collect();
    let by_name: Vec<&Value> = apps
        .iter()
        .filter(|a| name(a).starts_with("SAP BTP subaccount"))
        .collect();
    let (app, how) = match (by_id.as_slice(), by_name.as_slice()) {
        ([a], _) => (*a, ""),
        ([], [a]) => (
            *a,
            " (found by its name: no application names the subaccount ID, so check that it is this subaccount's)",
        ),
        _ => {
            return check(
                id,
                title,
                page,
                Warning,
                format!(
                    "Among {} applications the wizard cannot tell which one the trust with the subaccount created. In the IAS admin console open Applications, find \"SAP BTP subaccount ...\" for this subaccount and check that its subject name identifier is User UUID.",
                    apps.len()
                ),
            );
        }
    };
    let subject = auth(app)["subjectNameIdentifier"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let app_name = name(app);
    match subject.as_str() {
        "userUuid" => check(
            id,
            title,
            page,
            Pass,
            format!("{app_name} sends the User UUID{how}."),
        ),
        "" => check(
            id,
            title,
            page,
            Warning,
            format!(
                "{app_name} does not say which subject name identifier it sends{how}. Check it in the IAS admin console."
            ),
        ),
        other => check(
            id,
            title,
            page,
            Fail,
            format!(
                "Failure mode 19: {app_name} sends \"{other}\" as subject name identifier{how}, so Task Center cannot attribute tasks to their users. In the IAS admin console set it to User UUID (Applications > {app_name} > Subject Name Identifier)."
            ),
        ),
    }
}

const SUBJECT: (&str, &str, &str) = (
    "online-subject",
    "IAS sends the user UUID as subject name identifier",
    ids::IAS_TRUST,
);

/// Failure mode 19, read off the user's own token: its `user_name` claim
/// carries the subject name identifier of the subaccount's IAS application
/// (sap-apis.md, token claims), which Task Center needs to be the user UUID.
fn subject_check(token: &str) -> Check {
    let claims = crate::sap::xsuaa::unverified_claims(token);
    let (id, title, page) = SUBJECT;
    let name = claims["user_name"].as_str().unwrap_or("");
    let uuid = claims["user_uuid"].as_str().unwrap_or("");
    if !uuid.is_empty() && name.eq_ignore_ascii_case(uuid) {
        check(
            id,
            title,
            page,
            Verdict::Pass,
            format!("The user's token names them by their user UUID {uuid}."),
        )
    } else if uuid.is_empty() {
        check(
            id,
            title,
            page,
            Verdict::Warning,
            "The user's token has no user_uuid claim: check that the subaccount trusts Identity Authentication through OpenID Connect.",
        )
    } else {
        check(
            id,
            title,
            page,
            Verdict::Fail,
            format!(
                "Failure mode 19: the token names the user \"{name}\", not their user UUID {uuid}. In Identity Authentication set the subject name identifier of the subaccount's application to User UUID (Applications > the subaccount's application > Subject Name Identifier)."
            ),
        )
    }
}

/// Failure mode 30 (and 6): what S/4HANA holds as each approver's Global
/// User ID, read through SCIM, against the UUID step 6 holds. Identity
/// Provisioning overwrites or clears them behind the wizard's back.
async fn s4_global_ids(
    sap: &SapClient,
    calls: &Calls,
    api: &str,
    user: &str,
    password: &str,
    approvers: &[domain::Approver],
) -> Check {
    use Verdict::*;
    let (id, title, page) = (
        "online-s4-global-ids",
        "S/4HANA holds the Global User IDs",
        ids::APPROVERS,
    );
    let session = match crate::sap::s4::Session::connect_scim(sap, calls, api, user, password).await
    {
        Ok(s) => s,
        Err(e) => return check(id, title, page, Fail, crate::sap::s4::explain(&e)),
    };
    let with_ids: Vec<domain::Approver> = approvers
        .iter()
        .filter(|a| a.global_user_id.is_some())
        .cloned()
        .collect();
    let session = &session;
    let read: Vec<(domain::Approver, Result<Option<Value>, SapError>)> =
        futures_util::stream::iter(with_ids)
            .map(|a| async move {
                let r = session.scim_user_by_email(calls, &a.email).await;
                (a, r)
            })
            .buffered(super::global_ids::CONCURRENCY)
            .collect()
            .await;
    let mut wrong = Vec::new();
    for (a, r) in &read {
        let want = a.global_user_id.as_deref().unwrap_or("");
        match r {
            Err(e) => return check(id, title, page, Fail, crate::sap::s4::explain(e)),
            Ok(None) => wrong.push(format!("{}: no business user with this e-mail", a.email)),
            Ok(Some(u)) => match crate::sap::s4::global_id(u) {
                Some(g) if g.eq_ignore_ascii_case(want) => {}
                Some(g) => wrong.push(format!("{}: {g} instead of {want}", a.email)),
                None => wrong.push(format!("{}: none instead of {want}", a.email)),
            },
        }
    }
    if wrong.is_empty() {
        check(
            id,
            title,
            page,
            Pass,
            format!(
                "All {} business users hold the Global User ID of step 6.",
                read.len()
            ),
        )
    } else {
        check(
            id,
            title,
            page,
            Fail,
            format!(
                "{}. If they were right before, Identity Provisioning overwrote them (failure mode 30): map the IAS user UUID to the Global User ID in its transformation, then set them again (step 6 through S/4HANA's API).",
                wrong.join("; ")
            ),
        )
    }
}

/// Properties other guides add that break the SAML bearer flow or are
/// deprecated (failure mode 26; `SystemUser` is removed by end of 2026-09).
const STRAY_PROPERTIES: &[&str] = &[
    "nameIdFormat",
    "assertionIssuer",
    "KeyStoreLocation",
    "skipUserUuidInSAMLAttributes",
    "SAMLAssertionProvider",
    "assertionRecipient",
    "SystemUser",
];

fn stray_properties(name: &str, actual: &serde_json::Map<String, Value>) -> Check {
    let found: Vec<&str> = STRAY_PROPERTIES
        .iter()
        .copied()
        .filter(|k| actual.contains_key(*k))
        .collect();
    if found.is_empty() {
        check(
            "online-stray-properties",
            "No properties copied from other guides",
            ids::DESTINATION,
            Verdict::Pass,
            format!("{name} has none of {}.", STRAY_PROPERTIES.join(", ")),
        )
    } else {
        check(
            "online-stray-properties",
            "No properties copied from other guides",
            ids::DESTINATION,
            Verdict::Fail,
            format!(
                "Failure mode 26: {name} has {}, copied from other guides; they give invalid_grant or a wrong user. Remove them (applying step 4 through the Destination service writes the destination without them).",
                found.join(", ")
            ),
        )
    }
}

async fn destination_checks(
    sap: &SapClient,
    calls: &Calls,
    key: &DestinationKey,
    intended: &serde_json::Map<String, Value>,
    s4_host: &str,
    ias_host: Option<&str>,
) -> Vec<Check> {
    use Verdict::*;
    let fail = |e: SapError| {
        vec![check(
            "online-destination",
            "Destination in BTP",
            ids::DESTINATION,
            Fail,
            e.explain(),
        )]
    };
    let session = match destinations::connect(sap, calls, key).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let name = intended.get("Name").and_then(Value::as_str).unwrap_or("");
    let (current, all) = tokio::join!(session.get(calls, name), session.list(calls));
    let mut out = Vec::new();
    match current {
        Err(e) => return fail(e),
        Ok(None) => out.push(check(
            "online-destination",
            "Destination in BTP",
            ids::DESTINATION,
            Fail,
            format!("There is no destination {name} in the subaccount yet: create it in step 4."),
        )),
        Ok(Some(actual)) => {
            out.push(stray_properties(name, &actual));
            let diffs: Vec<String> = intended
                .iter()
                .filter(|(k, v)| actual.get(*k) != Some(*v))
                .map(|(k, _)| {
                    if k == "tokenServicePassword" {
                        "tokenServicePassword differs".to_string()
                    } else {
                        format!(
                            "{k} is {} (intended {})",
                            actual.get(k).map_or("missing".into(), |v| v.to_string()),
                            intended.get(k).map_or(String::new(), |v| v.to_string())
                        )
                    }
                })
                .collect();
            out.push(if diffs.is_empty() {
                check(
                    "online-destination",
                    "Destination in BTP",
                    ids::DESTINATION,
                    Pass,
                    format!("{name} exists and equals what the wizard would write."),
                )
            } else {
                check(
                    "online-destination",
                    "Destination in BTP",
                    ids::DESTINATION,
                    Fail,
                    format!("{name} differs: {}.", diffs.join("; ")),
                )
            });
        }
    }
    match all {
        Err(e) => out.push(check(
            "online-duplicates",
            "One destination per S/4HANA system",
            ids::DESTINATION,
            Fail,
            e.explain(),
        )),
        Ok(all) => {
            out.push(service_destinations(&all, ias_host));
            let dups: Vec<String> = all
                .iter()
                .filter(|d| d.get("Name").and_then(Value::as_str) != Some(name))
                .filter(|d| {
                    d.get("URL")
                        .and_then(Value::as_str)
                        .and_then(|u| S4Host::parse(u).ok())
                        .is_some_and(|h| h.value.host() == s4_host)
                })
                .filter_map(|d| d.get("Name").and_then(Value::as_str).map(str::to_string))
                .collect();
            out.push(if dups.is_empty() {
                check(
                    "online-duplicates",
                    "One destination per S/4HANA system",
                    ids::DESTINATION,
                    Pass,
                    "No other destination points to this system.",
                )
            } else {
                check(
                    "online-duplicates",
                    "One destination per S/4HANA system",
                    ids::DESTINATION,
                    Fail,
                    format!(
                        "{} also point(s) to {s4_host}: every task would appear twice.",
                        dups.join(", ")
                    ),
                )
            });
        }
    }
    out
}

/// The booster's service destinations that Task Center itself reads
/// (failure mode 21), from the subaccount's list.
fn service_destinations(all: &[serde_json::Map<String, Value>], ias_host: Option<&str>) -> Check {
    let (id, title, page) = (
        "online-service-destinations",
        "Mandatory service destinations in BTP",
        ids::BOOSTER,
    );
    let find = |name: &str| {
        all.iter()
            .find(|d| d.get("Name").and_then(Value::as_str) == Some(name))
    };
    let missing: Vec<&str> = SERVICE_DESTINATIONS
        .iter()
        .copied()
        .filter(|n| find(n).is_none())
        .collect();
    if !missing.is_empty() {
        return check(
            id,
            title,
            page,
            Verdict::Fail,
            format!(
                "Failure mode 21: the subaccount has no {}. The booster creates them (step 2.2); without them people search, user details and Task Center's administration fail.",
                missing.join(", ")
            ),
        );
    }
    let ids_url = find(SERVICE_DESTINATIONS[1])
        .and_then(|d| d.get("URL"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some(host) = ias_host {
        let want = format!("https://{host}/scim");
        if ids_url.trim_end_matches('/') != want {
            return check(
                id,
                title,
                page,
                Verdict::Fail,
                format!(
                    "Failure modes 15 and 21: {} points to {} instead of {want} (the IAS tenant of step 2.1).",
                    SERVICE_DESTINATIONS[1],
                    if ids_url.is_empty() {
                        "nothing"
                    } else {
                        ids_url
                    }
                ),
            );
        }
    }
    check(
        id,
        title,
        page,
        Verdict::Pass,
        format!(
            "{} exist{}.",
            SERVICE_DESTINATIONS.join(", "),
            if ias_host.is_some() {
                "; the IDS destination points to the IAS tenant's /scim"
            } else {
                ""
            }
        ),
    )
}

/// Task Center's own destinations, as the booster names them.
const SERVICE_DESTINATIONS: [&str; 3] = [
    "Task_Center",
    "Identity_Authentication_Connectivity_IDS",
    "Task_Center_global_settings",
];

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
    use super::*;

    const SUB: &str = "3b9d7c1e-0b5c-4f7a-9a51-0c1d2e3f4a5b";

    fn app(name: &str, subject: &str, tenant: &str) -> Value {
        serde_json::json!({"id": name, "name": name,
            "urn:sap:identity:application:schemas:extension:sci:1.0:Authentication": {
                "subjectNameIdentifier": subject,
                "sapManagedAttributes": {"type": "xsuaa", "appTenantId": tenant}}})
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
