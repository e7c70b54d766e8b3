//! The checks of the answers alone: no credentials, no calls.

use super::*;

/// Every check that needs nothing but the answers.
pub fn offline(ctx: &Ctx) -> Vec<Check> {
    use Verdict::*;
    let mut out = Vec::new();
    let s4 = ctx.s4();
    let client = ctx.get("s4_client").unwrap_or("");
    // Hosts: -api where it belongs and only there, same tenant everywhere.
    match &s4 {
        None => out.push(HOSTS.says(Skipped, "Enter the S/4HANA host first.")),
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
                HOSTS.at(ids::COMM_ARRANGEMENT).says(Pass, format!("The destination URL is https://{} without a path, the audience has no -api, the token URL ends in /sap/bc/sec/oauth2/token, and every value names tenant {}.", s4.api_host(), s4.tenant_number()))
            } else {
                HOSTS.at(ids::COMM_ARRANGEMENT).says(Fail, problems.join(" "))
            });
        }
    }
    // Service key belongs to the subaccount.
    match ctx.get("sk_clientid") {
        None => out.push(SERVICE_KEY.says(Skipped, "No Task Center service key yet.")),
        Some(_) => {
            let checked = domain::check_key_subaccount(
                ctx.get("sk_subdomain"),
                ctx.get("sk_region"),
                ctx.get("subdomain"),
                ctx.get("region"),
            );
            out.push(match checked {
                Ok(()) => SERVICE_KEY.says(
                    Pass,
                    "The key's token URL names the setup's subdomain and region.",
                ),
                Err(e) => SERVICE_KEY.says(Fail, e),
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
                Ok(()) => CERT_CN.says(
                    Pass,
                    format!("The CN {cn} has SAP's format and names the subaccount."),
                ),
                Err(e) => CERT_CN.says(Fail, e),
            });
            let days = (not_after - ctx.now) / 86_400;
            out.push(if not_after < ctx.now {
                CERT_VALIDITY.says(Fail, format!("It expired on {}: token requests fail until a renewed certificate is uploaded to S/4HANA.", crate::fmt::date(not_after)))
            } else if days < 60 {
                CERT_VALIDITY.says(Warning, format!("It expires in {days} days ({}); renew it and upload it to S/4HANA again before then.", crate::fmt::date(not_after)))
            } else {
                CERT_VALIDITY.says(Pass, format!("Valid until {}.", crate::fmt::date(not_after)))
            });
            out.push(confirmation(
                ctx,
                &["step34_confirm.saml_issuer", "step34_confirm.signing_cert"],
                &SAML_ISSUER,
                format!("the certificate is uploaded and the issuer is {cn}."),
                format!("The OAuth 2.0 SAML Issuer must be exactly {cn}; anything else gives \"There is no trust between entities\"."),
            ));
        }
        _ => out.push(CERT_CN.says(Skipped, "No trust certificate yet.")),
    }
    // Mapping mode and inbound OAuth user.
    let mapping = confirmed(ctx, "step34_confirm.mapping_mode");
    let inbound =
        confirmed(ctx, "step34_confirm.inbound_user") && confirmed(ctx, "step35_confirm.oauth");
    out.push(match (mapping, inbound) {
        (true, true) => {
            let by = confirmed_by(ctx, &["step34_confirm.mapping_mode", "step34_confirm.inbound_user", "step35_confirm.oauth"]).unwrap_or_default();
            MAPPING.says(Confirmed, format!("{by}: mapping mode User UUID, inbound user with OAuth 2.0."))
        }
        (false, _) => MAPPING.says(NotConfirmed, "User ID Mapping Mode User UUID is not confirmed; with User Name every token request fails with \"no user found with alias\"."),
        (true, false) => MAPPING.at(ids::COMM_ARRANGEMENT).says(NotConfirmed, "The OAuth 2.0 inbound user is not confirmed; the user/password entry makes the replication calls fail with 401."),
    });
    // The destination the wizard writes.
    match ctx.get("destination_name") {
        None => out.push(DESTINATION_PROPERTIES.says(Skipped, "Step 4 is not saved yet.")),
        Some(name) => {
            out.push(match domain::DestinationName::parse(name) {
                Ok(_) => DEST_NAME.says(
                    Pass,
                    format!(
                        "{name} has {} characters (Task Center takes up to 64 since 2025-06-19).",
                        name.len()
                    ),
                ),
                Err(e) => DEST_NAME.says(Fail, e),
            });
            let d = crate::playbook::destination(ctx, false);
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
                TC_PROPERTIES.says(Pass, format!("tc.enabled=true, tc.provider_type=S/4HANACloud, userIdSource=user_uuid, sap-client={}.", get("URL.queries.sap-client")))
            } else {
                TC_PROPERTIES.says(Fail, missing.join("; "))
            });
            let notif = get("tc.notifications.enabled");
            out.push(if notif.is_empty() || notif == "true" || notif == "false" {
                NOTIFICATIONS.says(
                    Pass,
                    if notif.is_empty() {
                        "Not set (allowed).".to_string()
                    } else {
                        format!("Set to {notif}.")
                    },
                )
            } else {
                NOTIFICATIONS.says(
                    Warning,
                    "Only true or false are valid; anything else puts the connector in Warning.",
                )
            });
            out.push(match ctx.get("plan") {
                Some("standard") => PLAN.says(Warning,
                    "Failure mode 23: the standard plan was retired on 2025-11-15. An existing instance keeps working, but a new one needs build-default or all-tasks; plan the move before the instance has to be recreated.",
                ),
                Some(p) => PLAN.says(Pass, format!("{p}.")),
                None => PLAN.says(Skipped, "Not answered yet (step 2.2)."),
            });
            let days = get("tc.inbox.pull.days");
            out.push(match (days.parse::<u16>(), ctx.get("plan")) {
                _ if days.is_empty() => {
                    PULL_DAYS.says(Pass, "Not set: the last 90 days are loaded.")
                }
                (Ok(n), Some("all-tasks")) if n <= 180 => {
                    PULL_DAYS.says(Pass, format!("{n} days."))
                }
                (Ok(n), _) if n <= 180 => PULL_DAYS.says(
                    Warning,
                    "Works only with the all-tasks plan; step 2.2 does not say all-tasks.",
                ),
                _ => PULL_DAYS.says(Fail, "Must be a number from 0 to 180."),
            });
            out.push(if ctx.get("push") == Some("yes") {
                PUSH.says(
                    Pass,
                    "tc.clientId is set because S/4HANA pushes task changes.",
                )
            } else {
                PUSH.says(
                    Pass,
                    "tc.clientId is left out until push is configured in S/4HANA.",
                )
            });
        }
    }
    // Failure mode 27: the outbound user S/4HANA pushes with is not the push
    // key's client (a rotated key whose secret never reached S/4HANA).
    match (ctx.get("push_clientid"), ctx.get("push_outbound_client")) {
        (Some(key), Some(outbound)) if key != outbound => out.push(PUSH_OUTBOUND.says(Fail,
            format!(
                "Failure mode 27: S/4HANA's outbound user uses the client {outbound}, but the push key of step 3.1 is {key}. Update the outbound user (Communication Arrangements > Edit Outbound User) with the new key's client and secret, check that PUSH runs, and only then delete the old key."
            ),
        )),
        (Some(key), Some(_)) => out.push(PUSH_OUTBOUND.says(Pass,
            format!("The outbound user uses the push key's client {key}."),
        )),
        (None, Some(outbound)) => out.push(PUSH_OUTBOUND.says(Warning,
            format!("Step 3.5 names the outbound user {outbound}, but step 3.1 has no push key: paste the dedicated key there, or the wizard cannot check the client (failure mode 27)."),
        )),
        _ => {}
    }
    // Identities.
    out.push(confirmation(
        ctx,
        &["step2_confirm.same_tenant"],
        &IAS_TENANT,
        "BTP and S/4HANA use the same tenant.",
        "With different tenants no user matches and tasks reach nobody.",
    ));
    out.push(confirmation(
        ctx,
        &["step2_confirm.subject_uuid"],
        &SUBJECT_NAME,
        "the subaccount's IAS application sends the User UUID.",
        "Failure mode 19: with the e-mail as subject name identifier, tasks are not attributed to their users. Verify with a customer user reads it from their token.",
    ));
    match ctx.get("approvers").map(domain::parse_approvers) {
        None => out.push(GLOBAL_IDS.says(Skipped, "No approvers entered yet.")),
        Some(Err(e)) => out.push(GLOBAL_IDS.says(Fail, e)),
        Some(Ok(a)) => {
            let missing: Vec<&str> = a
                .value
                .iter()
                .filter(|x| x.global_user_id.is_none())
                .map(|x| x.email.as_str())
                .collect();
            out.push(if !missing.is_empty() {
                GLOBAL_IDS.says(
                    Warning,
                    format!(
                        "No Global User ID yet for {}: their tasks will not reach them.",
                        missing.join(", ")
                    ),
                )
            } else if !a.warnings.is_empty() {
                GLOBAL_IDS.says(Warning, a.warnings.join(" "))
            } else {
                GLOBAL_IDS.says(
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
