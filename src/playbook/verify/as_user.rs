//! The checks only a signed-in customer user's token can run (failure mode
//! 22): the SAML bearer exchange, the connector, service status, tasks.

use super::*;

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
/// The S/4HANA connectors Task Center lists that no subaccount destination
/// backs (sap-apis-btp.md N rule 3); none when the destinations cannot be read.
async fn stray_connectors(
    i: &OnlineInputs,
    sap: &SapClient,
    calls: &Calls,
    all: &[task_center::Connector],
    ours: &str,
) -> Vec<String> {
    let Some(key) = &i.dest_key else {
        return Vec::new();
    };
    let Ok(session) = destinations::connect(sap, calls, key).await else {
        return Vec::new();
    };
    let Ok(dests) = session.list(calls).await else {
        return Vec::new();
    };
    let names: Vec<&str> = dests
        .iter()
        .filter_map(|d| d.get("Name").and_then(Value::as_str))
        .collect();
    all.iter()
        .filter(|c| c.destination != ours && !names.contains(&c.destination.as_str()))
        .filter(|c| {
            c.raw
                .get("providerType")
                .and_then(Value::as_str)
                .is_some_and(|p| p.to_ascii_lowercase().starts_with("s/4hana"))
        })
        .map(|c| c.destination.clone())
        .collect()
}

pub(super) async fn user_checks(i: &OnlineInputs, sap: &SapClient, calls: &Calls) -> Vec<Check> {
    use Verdict::*;
    const SIGN_IN: &str =
        "Not checked: sign in as a customer user (Verify > Sign in as a customer user).";
    let titles = [USER_EXCHANGE, CONNECTOR, SERVICE_STATUS, TASKS];
    let Some(user) = &i.user else {
        return std::iter::once(&SUBJECT)
            .chain(titles.iter())
            .map(|def| def.says(Skipped, SIGN_IN))
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
        let def = titles[0];
        let Some(key) = &i.dest_key else {
            return def.says(Skipped, "Needs the Destination service key (step 3.2).");
        };
        let session = match destinations::connect(sap, calls, key).await {
            Ok(s) => s,
            Err(e) => return def.says(Fail, e.explain()),
        };
        match session.token_error(calls, &name, &user.token).await {
            Ok(None) => def.says(Pass,
                format!(
                    "Signed in as {}: the Destination service obtained an S/4HANA token for this user through the SAML bearer assertion.",
                    user.who
                ),
            ),
            Ok(Some(err)) => {
                let (fix_page, fix) = token_failure(&err, &user.who);
                def.at(fix_page).says(Fail, format!("SAP answered: \"{err}\" {fix}"))
            }
            Err(SapError::Status { status: 404, .. }) => def.says(Fail,
                format!("There is no destination {name} in the subaccount: create it in step 4."),
            ),
            Err(e) => def.says(Fail, e.explain()),
        }
    };
    let inbox = i.inbox_rest_url.clone().unwrap_or_default();
    let needs_key = |def: CheckDef| {
        def.at(ids::TASK_CENTER_KEY)
            .says(Skipped, "Needs the Task Center service key (step 3.1).")
    };
    let connector = async {
        let def = titles[1];
        if inbox.is_empty() {
            return needs_key(def);
        }
        match task_center::connectors_as_user(sap, calls, &inbox, &user.token).await {
            Err(e) => def.says(Fail, e.explain()),
            Ok(task_center::AsUser::Forbidden) => def.says(Skipped,
                format!(
                    "Not checked: Task Center refused {} (not a TaskCenterAdmin). If this user administers Task Center, the role collections TaskCenterAdmin, TaskCenterTenantOperator and Launchpad_Admin are likely assigned to the SAP ID service user that ran the booster instead of this user of the customer's IAS (failure mode 25): assign them under the IAS trust's origin (Security > Users), then sign in again.",
                    user.who
                ),
            ),
            Ok(task_center::AsUser::Read(all)) => {
                let stray = stray_connectors(i, sap, calls, &all, &name).await;
                let mut checked = match all.iter().find(|c| c.destination == name) {
                    None => def.says(Fail,
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
                            "OK" => def.says(Pass,
                                format!("The connector is OK.{detail}"),
                            ),
                            "PAUSED" => def.says(Fail,
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
                                def.says(Warning, format!("{why}{detail}"))
                            }
                            _ => {
                                let fix = match error_job {
                                Some(j) if j.message.contains("longer than") => "Failure mode 8: the destination name is too long for Task Center.".to_string(),
                                Some(j) if j.message.contains("OAuth") || j.message.contains("token") => format!("Failure mode 3: {}", token_failure(&j.message, &user.who).1),
                                _ => "Failure mode 3: the connector is in ERROR.".to_string(),
                            };
                                def.says(Fail, format!("{fix}{detail}"))
                            }
                        };
                        result.detail = raw;
                        result
                    }
                };
                // Section N rule 3: a connector no destination backs.
                if !stray.is_empty() {
                    if checked.verdict == Pass {
                        checked.verdict = Warning;
                    }
                    checked.reason.push_str(&format!(
                        " Task Center also has the S/4HANA connector(s) {}, which no destination of the subaccount backs: SAP's formation \"Integration with Customer-Managed SAP Task Center\" probably made them (check System Landscape > Formations in the global account). If one is for this system, every task arrives twice (failure mode 9): keep one, and do not create a second connection.",
                        stray.join(", ")
                    ));
                }
                checked
            }
        }
    };
    let services = async {
        let def = titles[2];
        if inbox.is_empty() {
            return needs_key(def);
        }
        match task_center::service_status(sap, calls, &inbox, &user.token).await {
            Err(e) => def.says(Fail, e.explain()),
            Ok(task_center::AsUser::Forbidden) => def.says(
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
                    def.says(Pass, "Task Center reports its service destinations as OK.")
                } else if entries.is_empty() {
                    def.says(Warning, "Task Center reported no service status entries.")
                } else {
                    def.says(Fail,
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
        let def = titles[3];
        if user.admin {
            return def.says(Skipped,
                "Not checked: sign in as an approver (not an administrator) to see whether their tasks arrive.",
            );
        }
        if inbox.is_empty() {
            return needs_key(def);
        }
        match task_center::task_count(sap, calls, &inbox, &user.token).await {
            Ok(0) => def.says(Fail,
                format!(
                    "Failure mode 6: Task Center lists no tasks for {}. Check that their S/4HANA business user's Global User ID is their IAS user UUID.",
                    user.who
                ),
            ),
            Ok(n) => def.says(Pass,
                format!("Task Center lists {n} tasks for {}.", user.who),
            ),
            Err(e) => def.says(Fail, e.explain()),
        }
    };
    let (a, b, c, d) = tokio::join!(exchange, connector, services, tasks);
    vec![subject_check(&user.token), a, b, c, d]
}

/// Failure mode 19, read off the user's own token: its `user_name` claim
/// carries the subject name identifier of the subaccount's IAS application
/// (sap-apis.md, token claims), which Task Center needs to be the user UUID.
fn subject_check(token: &str) -> Check {
    let claims = crate::sap::xsuaa::unverified_claims(token);
    let def = SUBJECT;
    let name = claims["user_name"].as_str().unwrap_or("");
    let uuid = claims["user_uuid"].as_str().unwrap_or("");
    if !uuid.is_empty() && name.eq_ignore_ascii_case(uuid) {
        def.says(
            Verdict::Pass,
            format!("The user's token names them by their user UUID {uuid}."),
        )
    } else if uuid.is_empty() {
        def.says(Verdict::Warning,
            "The user's token has no user_uuid claim: check that the subaccount trusts Identity Authentication through OpenID Connect.",
        )
    } else {
        def.says(Verdict::Fail,
            format!(
                "Failure mode 19: the token names the user \"{name}\", not their user UUID {uuid}. In Identity Authentication set the subject name identifier of the subaccount's application to User UUID (Applications > the subaccount's application > Subject Name Identifier)."
            ),
        )
    }
}
