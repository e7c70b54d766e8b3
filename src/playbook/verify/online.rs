//! The checks that read SAP with the setup's keys, all at once (what a
//! watch can repeat without a person).

use super::as_user::user_checks;
use super::*;

/// The online checks, all at once: a run lasts about as long as its slowest call.
pub async fn online(i: OnlineInputs, sap: &SapClient, calls: &Calls) -> Vec<Check> {
    use Verdict::*;
    let token = async {
        match &i.key {
            None => TOKEN.says(Skipped,
                "No service key saved.",
            ),
            Some(client) => match xsuaa::token_for(sap, calls, client, &[]).await {
                Ok(_) => TOKEN.says(Pass,
                    match client.auth {
                        xsuaa::ClientAuth::Secret(_) => "SAP issued a token for the service key.",
                        xsuaa::ClientAuth::Certificate { .. } => {
                            "SAP issued a token for the service key's client certificate (mutual TLS at uaa.certurl)."
                        }
                    },
                ),
                Err(e) => TOKEN.says(Fail,
                    e.explain(),
                ),
            },
        }
    };
    // Failure mode 27: the key S/4HANA's outbound user holds was deleted
    // or rotated in BTP, so S/4HANA's pushes get no token.
    let push = async {
        let Some(client) = &i.push else {
            return PUSH_TOKEN.says(Skipped, "No dedicated push key on step 3.1.");
        };
        match xsuaa::token_for(sap, calls, client, &[]).await {
            Ok(_) => PUSH_TOKEN.says(Pass, format!(
                "SAP issued a token for the push key (client {}), as it must for S/4HANA's outbound user.",
                client.client_id
            )),
            Err(SapError::Status { status: 401, .. }) => PUSH_TOKEN.says(Fail, format!(
                "Failure mode 27: the push key of step 3.1 (client {}) no longer gets a token: it was deleted or rotated in BTP, and S/4HANA's outbound user still holds it, so task updates are not pushed. Rotate it (\"Rotate the push key\" on step 3.1's Service Manager page): a new key, S/4HANA's outbound user updated, checked, and only then the old key deleted.",
                client.client_id
            )),
            Err(e) => PUSH_TOKEN.says(Fail, e.explain()),
        }
    };
    let dest = async {
        let (Some(key), Some(intended)) = (&i.dest_key, &i.intended) else {
            return vec![BTP_DESTINATION.says(
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
            return IAS_USERS.says(
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
                    return IAS_USERS.says(Fail, err.explain());
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
            IAS_USERS.says(
                Pass,
                format!(
                    "All {} approvers were found, with the user UUIDs step 6 holds.",
                    approvers.len()
                ),
            )
        } else if problems.is_empty() {
            IAS_USERS.says(Warning,
                format!(
                    "Inactive in Identity Authentication: {}. Identity Provisioning locks their business users in S/4HANA (failure mode 30).",
                    inactive.join(", ")
                ),
            )
        } else {
            IAS_USERS.says(Fail, problems.join(" "))
        }
    };
    let s4_ids = async {
        let (Some((api, user, password)), Some((_, _, _, approvers))) = (&i.scim, &i.ias) else {
            return S4_GLOBAL_IDS.says(Skipped,
                "Needs the SCIM API user (step 6), the IAS administrator (step 2.1) and the approvers.",
            );
        };
        s4_global_ids(sap, calls, api, user, password, approvers).await
    };
    let application = async {
        let def = APPLICATION;
        let Some((host, client, secret)) = &i.ias_admin else {
            return def.says(
                Skipped,
                "Needs the IAS administrator client ID and secret (step 2.1).",
            );
        };
        match ias::applications(sap, calls, host, client, secret).await {
            Ok(apps) => application_subject(&apps, i.subaccount_id.as_deref()),
            // An administrator may read users without reading applications.
            Err(crate::sap::SapError::Status { status: 403, .. }) => def.says(Warning,
                "Identity Authentication does not let this administrator read applications (403). Give the administrator system the authorization to manage applications, or check the subject name identifier in the admin console.",
            ),
            Err(e) => def.says(Fail, e.explain()),
        }
    };
    // Failure mode 13: renewed or rotated in BTP, not yet uploaded to S/4HANA.
    let trust = async {
        let (Some(key), Some(held)) = (&i.dest_key, &i.cert_sha256) else {
            return TRUST_CURRENT.says(
                Skipped,
                "Needs the Destination service key and the certificate (step 3.2).",
            );
        };
        let active = match destinations::connect(sap, calls, key).await {
            Ok(s) => s.certificate(calls).await,
            Err(e) => Err(e),
        };
        match active.map(|pem| domain::TrustCertificate::parse(pem.as_bytes(), crate::fmt::now())) {
            Err(e) => TRUST_CURRENT.says(Fail, e.explain()),
            Ok(Err(e)) => TRUST_CURRENT.says(Fail, format!("The Destination service's certificate could not be read: {e}")),
            Ok(Ok(now)) if now.value.sha256 == *held => TRUST_CURRENT.says(Pass,
                "The subaccount signs with the certificate step 3.2 holds (the one given to S/4HANA).",
            ),
            Ok(Ok(now)) => TRUST_CURRENT.says(Fail, format!(
                "Failure mode 13: the subaccount's trust certificate was renewed or rotated (it now signs with SHA-256 {}, valid until {}), but step 3.2 holds {held}, the one given to S/4HANA, which refuses what the new one signs. Fetch it on step 3.2 and upload it to the communication system (step 3.4, or the trust page).",
                now.value.sha256,
                crate::fmt::date(now.value.not_after)
            )),
        }
    };
    let (t, p, mut d, u, s4, a, c, mut as_user) = tokio::join!(
        token,
        push,
        dest,
        users,
        s4_ids,
        application,
        trust,
        user_checks(&i, sap, calls)
    );
    let mut out = vec![t, p];
    out.push(c);
    out.append(&mut d);
    out.push(u);
    out.push(s4);
    out.push(a);
    out.append(&mut as_user);
    out
}

/// Failure mode 19, read from the Application Directory: the subaccount's
/// application and its subject name identifier (`userUuid` in SAP's client).
/// Which attribute names the subaccount is not documented [U]: any SAP
/// managed attribute equal to the subaccount ID counts; failing that, the one
/// application named "SAP BTP subaccount ...", said so in the result.
pub(super) fn application_subject(apps: &[Value], subaccount: Option<&str>) -> Check {
    use Verdict::*;
    let def = APPLICATION;
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
            return def.says(Warning,
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
        "userUuid" => def.says(Pass,
            format!("{app_name} sends the User UUID{how}."),
        ),
        "" => def.says(Warning,
            format!(
                "{app_name} does not say which subject name identifier it sends{how}. Check it in the IAS admin console."
            ),
        ),
        other => def.says(Fail,
            format!(
                "Failure mode 19: {app_name} sends \"{other}\" as subject name identifier{how}, so Task Center cannot attribute tasks to their users. In the IAS admin console set it to User UUID (Applications > {app_name} > Subject Name Identifier)."
            ),
        ),
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
    let def = S4_GLOBAL_IDS;
    let session = match crate::sap::s4::Session::connect_scim(sap, calls, api, user, password).await
    {
        Ok(s) => s,
        Err(e) => return def.says(Fail, crate::sap::s4::explain(&e)),
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
            .buffered(crate::playbook::global_ids::CONCURRENCY)
            .collect()
            .await;
    let mut wrong = Vec::new();
    for (a, r) in &read {
        let want = a.global_user_id.as_deref().unwrap_or("");
        match r {
            Err(e) => return def.says(Fail, crate::sap::s4::explain(e)),
            Ok(None) => wrong.push(format!("{}: no business user with this e-mail", a.email)),
            Ok(Some(u)) => match crate::sap::s4::global_id(u) {
                Some(g) if g.eq_ignore_ascii_case(want) => {}
                Some(g) => wrong.push(format!("{}: {g} instead of {want}", a.email)),
                None => wrong.push(format!("{}: none instead of {want}", a.email)),
            },
        }
    }
    if wrong.is_empty() {
        def.says(
            Pass,
            format!(
                "All {} business users hold the Global User ID of step 6.",
                read.len()
            ),
        )
    } else {
        def.says(Fail,
            format!(
                "{}. If they were right before, Identity Provisioning overwrote them (failure mode 30): map the IAS user UUID to the Global User ID in its transformation, then set them again (step 6 through S/4HANA's API).",
                wrong.join("; ")
            ),
        )
    }
}

/// Properties other guides add that break the SAML bearer flow or are
/// deprecated (failure mode 26; `SystemUser` is removed by end of 2026-09).
const COPIED_PROPERTIES: &[&str] = &[
    "nameIdFormat",
    "assertionIssuer",
    "KeyStoreLocation",
    "skipUserUuidInSAMLAttributes",
    "SAMLAssertionProvider",
    "assertionRecipient",
    "SystemUser",
];

fn stray_properties(name: &str, actual: &serde_json::Map<String, Value>) -> Check {
    let found: Vec<&str> = COPIED_PROPERTIES
        .iter()
        .copied()
        .filter(|k| actual.contains_key(*k))
        .collect();
    if found.is_empty() {
        STRAY_PROPERTIES.says(
            Verdict::Pass,
            format!("{name} has none of {}.", COPIED_PROPERTIES.join(", ")),
        )
    } else {
        STRAY_PROPERTIES.says(Verdict::Fail,
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
    let fail = |e: SapError| vec![BTP_DESTINATION.says(Fail, e.explain())];
    let session = match destinations::connect(sap, calls, key).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let name = intended.get("Name").and_then(Value::as_str).unwrap_or("");
    let (current, all) = tokio::join!(session.get(calls, name), session.list(calls));
    let mut out = Vec::new();
    match current {
        Err(e) => return fail(e),
        Ok(None) => out.push(BTP_DESTINATION.says(
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
                BTP_DESTINATION.says(
                    Pass,
                    format!("{name} exists and equals what the wizard would write."),
                )
            } else {
                BTP_DESTINATION.says(Fail, format!("{name} differs: {}.", diffs.join("; ")))
            });
        }
    }
    match all {
        Err(e) => out.push(DUPLICATES.says(Fail, e.explain())),
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
                DUPLICATES.says(Pass, "No other destination points to this system.")
            } else {
                DUPLICATES.says(
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
    let def = SERVICE_DESTINATIONS_IN_BTP;
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
        return def.says(Verdict::Fail,
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
            return def.says(Verdict::Fail,
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
    def.says(
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
