//! The S/4HANA half through SAP_COM_0A48: plan, confirm, create; again
//! nothing; a change one update; faults half-way; errors in words; and the
//! result judged by the SAML bearer exchange as a real user.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

async fn s4(app: &TestApp) -> Value {
    get_json(app.sandbox_url("/_sandbox/s4")).await
}

async fn sandbox_post(app: &TestApp, path: &str, form: &[(&str, &str)]) {
    let r = client()
        .post(app.sandbox_url(path))
        .form(form)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::OK, "{path}");
}

/// A setup up to the trust certificate, against an S/4HANA without the
/// Task Center objects, with the API user saved.
async fn ready(app: &TestApp, demo: &Value) -> String {
    sandbox_post(app, "/_sandbox/s4", &[("empty", "true")]).await;
    let id = app.create_setup("ACME API").await;
    for page in [
        "facts", "step-1", "step-2", "booster", "step-3-1", "step-3-2",
    ] {
        let r = complete_demo_page(app, demo, &id, page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
    }
    let api = &demo["s4_api_users"][0];
    let wrong = app
        .post(
            &format!("/setups/{id}/s4-setup/credentials"),
            &[
                ("s4_api_user", api[0].as_str().unwrap_or("")),
                ("s4_api_password", "not-the-password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_GATEWAY, "{}", wrong.body);
    assert!(
        wrong.body.contains("S/4HANA refused the API user (401)"),
        "{}",
        wrong.body
    );
    let ok = save_s4_api_user(app, demo, &id).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // An "empty" tenant still has what its administrator made by hand for
    // the APIs: the bootstrap system with its two users and arrangements.
    assert!(
        ok.body.contains("Connected as TC_COMM_API: S/4HANA lists communication users: 2, systems: 1, arrangements: 2."),
        "{}",
        ok.body
    );
    id
}

async fn plan(app: &TestApp, id: &str) -> Page {
    let r = app.post(&format!("/setups/{id}/s4-setup/plan"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r
}

async fn apply(app: &TestApp, id: &str, plan: &Page) -> Page {
    app.post(
        &format!("/setups/{id}/s4-setup/apply"),
        &[("fingerprint", &fingerprint(&plan.body))],
    )
    .await
}

/// The bootstrap's communication system: SAP_COM_0A48 and SAP_COM_0465
/// access, made by hand before the wizard can use any API.
const BOOTSTRAP: &str = "TASKCENTER_WIZARD_API";

/// The tenant's objects in `set` without the bootstrap.
fn objects(tenant: &Value, set: &str) -> Vec<Value> {
    let comm = &tenant["comm"];
    let boot = comm["systems"]
        .as_array()
        .and_then(|s| s.iter().find(|sy| sy["ID"] == BOOTSTRAP))
        .map(|sy| sy["UUID"].clone())
        .unwrap_or(Value::Null);
    comm[set]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|o| {
                    o["ID"] != BOOTSTRAP
                        && o["CommunicationSystemID"] != BOOTSTRAP
                        && (boot.is_null() || o["CommunicationSystemUUID"] != boot)
                        && !o["Description"]
                            .as_str()
                            .unwrap_or("")
                            .starts_with("Bootstrap user of")
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

fn count(tenant: &Value, set: &str) -> usize {
    objects(tenant, set).len()
}

#[tokio::test]
async fn the_s4_half_is_planned_confirmed_created_and_then_left_alone() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = ready(&app, &demo).await;
    let p = plan(&app, &id).await;
    assert_eq!(p.body.matches("will be created").count(), 4, "{}", p.body);
    // The certificate in words (subject, validity, SHA-256), not its base64.
    let pem = client()
        .get(app.sandbox_url("/_sandbox/trust.pem"))
        .send()
        .await
        .expect("pem")
        .text()
        .await
        .expect("text");
    let base64_line = pem.lines().nth(1).unwrap_or("-");
    assert!(!p.body.contains(base64_line), "no base64 in the plan");
    assert!(
        p.body.contains("CN=cfapps.eu10.hana.ondemand.com/") && p.body.contains("SHA-256 "),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains("Check these in Fiori after the first run on a real tenant")
    );
    assert_eq!(
        count(&s4(&app).await, "systems"),
        0,
        "the plan writes nothing"
    );

    let done = apply(&app, &id, &p).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    for what in [
        "Created the communication user TASKCENTERCOM",
        "Created the communication system TASKCENTER_BTP",
        "as OAuth 2.0 inbound user",
        "Created the communication arrangement",
    ] {
        assert!(done.body.contains(what), "{what}: {}", done.body);
    }
    let tenant = s4(&app).await;
    let system = &objects(&tenant, "systems")[0].clone();
    let cn = format!(
        "cfapps.eu10.hana.ondemand.com/{}",
        demo["subaccount_id"].as_str().unwrap_or("")
    );
    assert_eq!(
        system["OAuth2IdentityProviderName"],
        cn.as_str(),
        "SAML issuer = the certificate's CN"
    );
    assert_eq!(system["OAuth2IdentityProviderUserLogonType"], "user_uuid");
    assert_eq!(
        objects(&tenant, "inbound")[0]["AuthenticationMethod"],
        "oauth2"
    );
    assert_eq!(
        objects(&tenant, "arrangements")[0]["CommunicationScenarioID"],
        "SAP_COM_0501"
    );
    let tasks = app.get(&format!("/setups/{id}")).await.body;
    for page in ["step-3-3", "step-3-4", "step-3-5"] {
        assert!(
            tasks.contains(&format!("id=\"status-{page}\">Completed<")),
            "{page} filled in:\n{tasks}"
        );
    }
    let history = app.get(&format!("/setups/{id}/history")).await.body;
    assert!(history.contains("Created the communication system TASKCENTER_BTP"));
    // The run leads on, and the task list says who did it.
    assert!(
        done.body.contains(&format!(
            "href=\"/setups/{id}/pages/step-4\">Continue to step 4"
        )),
        "{}",
        done.body
    );
    assert!(
        tasks.contains("Done by the wizard through SAP&#39;s API"),
        "{tasks}"
    );

    // Again: nothing to do, nothing written.
    let again = plan(&app, &id).await;
    assert_eq!(
        again.body.matches("already right").count(),
        4,
        "{}",
        again.body
    );
    let r = apply(&app, &id, &again).await;
    assert!(r.body.contains("nothing was written"), "{}", r.body);
    assert_eq!(count(&s4(&app).await, "systems"), 1);
    assert_eq!(count(&s4(&app).await, "arrangements"), 1);

    // Changed behind the wizard's back: one update, of that field only.
    sandbox_post(&app, "/_sandbox/s4", &[("logon_type", "user_name")]).await;
    let changed = plan(&app, &id).await;
    assert_eq!(
        changed.body.matches("will be changed").count(),
        1,
        "{}",
        changed.body
    );
    // A plan the consultant did not see is not applied.
    sandbox_post(&app, "/_sandbox/s4", &[("saml_issuer", "someone-else")]).await;
    let stale = apply(&app, &id, &changed).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body.contains("changed since the plan was shown"));
    let fresh = plan(&app, &id).await;
    let r = apply(&app, &id, &fresh).await;
    assert!(r.body.contains("Updated the communication system TASKCENTER_BTP: OAuth2IdentityProviderName, OAuth2IdentityProviderUserLogonType"), "{}", r.body);

    // What the API set up carries the SAML bearer exchange of a real user.
    for page in ["step-4"] {
        let r = complete_demo_page(&app, &demo, &id, page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
    }
    let r = app.apply_destination(&id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    sign_in_customer(&app, &id, &demo, "ada.admin@acme.example").await;
    let v = app.post(&format!("/setups/{id}/verify"), &[]).await.body;
    assert!(v.contains("obtained an S/4HANA token for this user"), "{v}");

    // A renewed certificate on 3.2 is uploaded again to the same system.
    let (renewed, _) = trust_certificate(&cn, 730);
    let shown = app.get(&format!("/setups/{id}/pages/step-3-2")).await;
    let form = reqwest::multipart::Form::new()
        .text("_version", version_of(&shown.body))
        .text("_action", "continue")
        .part(
            "certificate",
            reqwest::multipart::Part::bytes(renewed.clone().into_bytes()).file_name("renewed.pem"),
        );
    let r = app
        .post_multipart(&format!("/setups/{id}/pages/step-3-2"), form)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = plan(&app, &id).await;
    assert_eq!(p.body.matches("will be changed").count(), 1, "{}", p.body);
    let r = apply(&app, &id, &p).await;
    assert!(
        r.body.contains("Updated the communication system TASKCENTER_BTP: OAuth2IdentityProviderCertificatePublicKeyBase64."),
        "{}",
        r.body
    );
    let body: String = renewed
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let tenant = s4(&app).await;
    assert_eq!(
        objects(&tenant, "systems")[0]["OAuth2IdentityProviderCertificatePublicKeyBase64"],
        body.as_str()
    );
    assert_eq!(count(&tenant, "systems"), 1, "the same system");
}

#[tokio::test]
async fn push_gets_an_outbound_user_and_task_center_then_sees_pushes() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = ready(&app, &demo).await;
    let p = plan(&app, &id).await;
    assert_eq!(apply(&app, &id, &p).await.status, StatusCode::OK);
    assert!(
        !p.body.contains("Outbound user (push)"),
        "no push key, no outbound user"
    );

    // The dedicated key; tc.clientId becomes its client.
    let r = app
        .save(&id, "step-3-1", &[("push_key", &demo_push_key(&demo))])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let push_client = demo["push_clientid"].as_str().unwrap_or("");
    let mut step4 = demo_answers(&demo, "step-4");
    step4.retain(|(k, _)| *k != "push");
    step4.push(("push", "yes".into()));
    let r = save_ticking_all(&app, &id, "step-4", &step4).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let summary = app.get(&format!("/setups/{id}/pages/step-4")).await.body;
    assert!(summary.contains(push_client), "tc.clientId = push client");
    let r = app.apply_destination(&id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // tc.clientId without an outbound user: Verify says failure mode 11.
    sign_in_customer(&app, &id, &demo, "ada.admin@acme.example").await;
    let v = app.post(&format!("/setups/{id}/verify"), &[]).await.body;
    assert!(v.contains("Failure mode 11"), "{v}");

    // The plan adds the outbound user and points system and arrangement at it.
    let p = plan(&app, &id).await;
    assert!(p.body.contains("Outbound user (push)"), "{}", p.body);
    assert_eq!(p.body.matches("will be created").count(), 1, "{}", p.body);
    assert_eq!(p.body.matches("will be changed").count(), 2, "{}", p.body);
    assert!(
        !p.body
            .contains(demo["push_clientsecret"].as_str().unwrap_or("-")),
        "the secret is not shown"
    );
    app.fault("s4-comm-outbound-write", "500").await;
    let r = apply(&app, &id, &p).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.body);
    assert!(
        r.body
            .contains("outbound user to the communication system failed"),
        "{}",
        r.body
    );
    app.fault("s4-comm-outbound-write", "none").await;
    let p = plan(&app, &id).await;
    let r = apply(&app, &id, &p).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("now pushes task changes"), "{}", r.body);
    let tenant = s4(&app).await;
    let outbound = &tenant["comm"]["outbound"];
    assert_eq!(
        outbound.as_array().map_or(0, Vec::len),
        1,
        "never duplicated"
    );
    assert_eq!(outbound[0]["OAuth2ClientID"], push_client);
    assert_eq!(outbound[0]["Password"], demo["push_clientsecret"]);
    assert_eq!(outbound[0]["AuthenticationMethod"], "oauth2");
    let system = &objects(&tenant, "systems")[0].clone();
    assert_eq!(system["IsInboundOnly"], false);
    assert_eq!(
        system["OAuth2TokenEndpoint"],
        format!("{}/oauth/token", demo["uaa_url"].as_str().unwrap_or(""))
    );
    assert_eq!(
        objects(&tenant, "arrangements")[0]["OutboundUser"]["CommunicationSystemOutboundUserUUID"],
        outbound[0]["UUID"]
    );
    let again = plan(&app, &id).await;
    assert_eq!(
        again.body.matches("already right").count(),
        5,
        "{}",
        again.body
    );
    // Step 4 no longer asks what the wizard did itself: it says it knows.
    let step35 = app.get(&format!("/setups/{id}/pages/step-3-5")).await.body;
    assert_eq!(
        input_value(&step35, "f-push_outbound_client").as_deref(),
        Some(push_client)
    );
    let step4 = app.get(&format!("/setups/{id}/pages/step-4")).await.body;
    assert!(
        !step4.contains("name=\"push\"")
            && step4.contains(&format!(
                "outbound user {push_client} for the push key of step 3.1 through the S/4HANA API"
            )),
        "{step4}"
    );

    // Task Center now receives pushes.
    let v = app.post(&format!("/setups/{id}/verify"), &[]).await.body;
    assert!(
        !v.contains("Failure mode 11") && v.contains("PUSH OK"),
        "{v}"
    );
}

#[tokio::test]
async fn a_failure_half_way_is_recorded_and_running_again_continues() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = ready(&app, &demo).await;
    for fault in [
        "s4-comm-system-write",
        "s4-comm-inbound-write",
        "s4-comm-arrangement-write",
    ] {
        app.fault(fault, "500").await;
        let p = plan(&app, &id).await;
        let r = apply(&app, &id, &p).await;
        assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{fault}: {}", r.body);
        assert!(
            r.body.contains("failed: SAP had an internal problem (500)")
                && r.body.contains("run it again to continue"),
            "{fault}: {}",
            r.body
        );
        app.fault(fault, "none").await;
    }
    let p = plan(&app, &id).await;
    let r = apply(&app, &id, &p).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let tenant = s4(&app).await;
    let users = tenant["comm"]["users"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        users
            .iter()
            .filter(|u| u["Name"] == "TASKCENTERCOM")
            .count(),
        1,
        "never duplicated"
    );
    assert_eq!(
        (
            count(&tenant, "systems"),
            count(&tenant, "inbound"),
            count(&tenant, "arrangements")
        ),
        (1, 1, 1)
    );
    // The generated password was saved before S/4HANA saw it, and the
    // destination gets the same one.
    let user = &users
        .iter()
        .find(|u| u["Name"] == "TASKCENTERCOM")
        .cloned()
        .expect("user");
    let page = app.get(&format!("/setups/{id}/pages/step-3-3")).await.body;
    let pw = user["Password"].as_str().unwrap_or("");
    assert!(
        pw.chars().count() >= 20 && !page.contains(pw),
        "masked on the page"
    );
}

#[tokio::test]
async fn csrf_and_odata_errors_are_told_in_words() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = ready(&app, &demo).await;
    sandbox_post(&app, "/_sandbox/settings", &[("s4_csrf_broken", "true")]).await;
    let p = plan(&app, &id).await;
    let r = apply(&app, &id, &p).await;
    assert!(
        r.body.contains("its CSRF token was not accepted (403)"),
        "{}",
        r.body
    );
    sandbox_post(&app, "/_sandbox/settings", &[("s4_csrf_broken", "false")]).await;
    // A password S/4HANA refuses: its message and code are shown.
    let r = app
        .save(
            &id,
            "step-3-3",
            &[
                ("comm_user", "TASKCENTERCOM"),
                ("comm_password", "Short-pass-12"),
                ("s4_api_user", "TC_COMM_API"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = plan(&app, &id).await;
    let r = apply(&app, &id, &p).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert!(
        r.body.contains("at least 20 characters (CM_APS_CU/007)"),
        "{}",
        r.body
    );
}

/// A setup with the IAS look-up done for `approvers`, and the SCIM user saved.
async fn with_approvers(app: &TestApp, demo: &Value, approvers: &str) -> String {
    let id = app.create_setup("ACME IDs").await;
    for page in ["facts", "step-1", "step-2"] {
        let r = complete_demo_page(app, demo, &id, page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
    }
    let r = app.save(&id, "step-6", &[("approvers", approvers)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let scim = &demo["s4_api_users"][1];
    let wrong = app
        .post(
            &format!("/setups/{id}/s4-users/credentials"),
            &[
                ("scim_api_user", scim[0].as_str().unwrap_or("")),
                ("scim_api_password", "nope"),
            ],
        )
        .await;
    assert!(
        wrong.body.contains("S/4HANA refused the API user (401)"),
        "{}",
        wrong.body
    );
    let ok = app
        .post(
            &format!("/setups/{id}/s4-users/credentials"),
            &[
                ("scim_api_user", scim[0].as_str().unwrap_or("")),
                ("scim_api_password", scim[1].as_str().unwrap_or("")),
            ],
        )
        .await;
    assert!(ok.body.contains("Connected as TC_SCIM_API"), "{}", ok.body);
    id
}

fn row<'a>(body: &'a str, email: &str) -> &'a str {
    body.split(&format!("<tr><td>{email}</td>"))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row {email}"))
}

#[tokio::test]
async fn global_user_ids_are_set_checked_and_changed_through_scim() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    // bob has a wrong Global User ID, chris none, dana none; anna is right.
    sandbox_post(
        &app,
        "/_sandbox/s4",
        &[
            ("wrong_global_id", "bob.stone@acme.example"),
            ("clear_global_id", "chris.lee@acme.example"),
        ],
    )
    .await;
    let ias: Vec<String> = ["anna.berg", "bob.stone", "chris.lee", "dana.gray"]
        .iter()
        .map(|n| format!("{n}@acme.example"))
        .collect();
    let list = format!(
        "{}\nnobody@acme.example\nzed.unknown@acme.example, 0b4f1e2a-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
        ias.join("\n")
    );
    let id = with_approvers(&app, &demo, &list).await;
    let r = app
        .post(&format!("/setups/{id}/pages/step-6/run"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let p = app.post(&format!("/setups/{id}/s4-users/plan"), &[]).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(row(&p.body, "anna.berg@acme.example").contains("already right"));
    assert!(row(&p.body, "bob.stone@acme.example").contains("to change (now"));
    assert!(row(&p.body, "chris.lee@acme.example").contains("to set"));
    assert!(row(&p.body, "dana.gray@acme.example").contains("to set"));
    assert!(row(&p.body, "nobody@acme.example").contains("not found in Identity Authentication"));
    assert!(row(&p.body, "zed.unknown@acme.example").contains("not found in S/4HANA"));
    assert!(p.body.contains("The plan: 3 to write"));
    let before = s4(&app).await;
    let done = app
        .post(
            &format!("/setups/{id}/s4-users/apply"),
            &[("fingerprint", &fingerprint(&p.body))],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body
            .contains("3 Global User IDs written and read back"),
        "{}",
        done.body
    );
    let after = s4(&app).await;
    assert_ne!(before, after);
    for email in &ias {
        let person = person(&demo, email);
        let user = after["business_users"]
            .as_array()
            .and_then(|u| u.iter().find(|x| x["email"] == email.as_str()))
            .cloned()
            .expect("user");
        assert_eq!(user["global_user_id"], person["user_uuid"], "{email}");
    }
    let bob = after["business_users"]
        .as_array()
        .and_then(|u| u.iter().find(|x| x["email"] == "bob.stone@acme.example"))
        .cloned()
        .expect("bob");
    assert_eq!(
        bob["history"].as_array().map_or(0, Vec::len),
        2,
        "the old value is kept in the history"
    );
    let history = app.get(&format!("/setups/{id}/history")).await.body;
    assert!(
        history.contains("Global User ID of bob.stone@acme.example changed from"),
        "{history}"
    );
    let again = app.post(&format!("/setups/{id}/s4-users/plan"), &[]).await;
    assert!(again.body.contains("The plan: 0 to write"));
}

#[tokio::test]
async fn two_hundred_approvers_are_handled_with_bounded_concurrency_and_put_fallback() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    sandbox_post(&app, "/_sandbox/s4", &[("generate_users", "200")]).await;
    sandbox_post(&app, "/_sandbox/settings", &[("scim_patch", "false")]).await;
    let start = demo["people"].as_array().map_or(0, Vec::len) + 1;
    let list: Vec<String> = (start..start + 200)
        .map(|k| format!("user{k}@acme.example, {:08x}-0000-4000-8000-{:012x}", k, k))
        .collect();
    let id = with_approvers(&app, &demo, &list.join("\n")).await;
    app.fault("s4-scim", "latency:20").await;
    let p = app.post(&format!("/setups/{id}/s4-users/plan"), &[]).await;
    assert!(
        p.body.contains("The plan: 200 to write"),
        "{}",
        &p.body[..p.body.len().min(2000)]
    );
    let started = app
        .post(
            &format!("/setups/{id}/s4-users/apply"),
            &[("fingerprint", &fingerprint(&p.body))],
        )
        .await;
    // 200 writes, each PATCH, PUT and a read back at 20 ms, 8 at a time,
    // take well over the second the request waits: the progress page.
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let progress = app.get(&format!("/setups/{id}/s4-users")).await.body;
    assert!(
        progress.contains("data-refresh")
            && (progress.contains("of 200 written and read back so far")
                || progress.contains("Reading what the system has now")),
        "{}",
        &progress[..progress.len().min(3000)]
    );
    // A second confirmation while it runs starts nothing new.
    let again = app
        .post(
            &format!("/setups/{id}/s4-users/apply"),
            &[("fingerprint", &fingerprint(&p.body))],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let mut done = String::new();
    for _ in 0..300 {
        done = app.get(&format!("/setups/{id}/s4-users")).await.body;
        if !done.contains("data-refresh") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        done.contains("200 Global User IDs written and read back"),
        "PUT after PATCH's 501: {}",
        &done[..done.len().min(3000)]
    );
    let seen: Value = get_json(app.sandbox_url("/_sandbox/seen")).await;
    let max = seen["scim-s4-max-in-flight"].as_u64().unwrap_or(0);
    assert!(
        (2..=8).contains(&max),
        "at most 8 SCIM calls at once, and more than one: {max}"
    );
}

async fn sm_writes(app: &TestApp) -> u64 {
    let seen: Value = get_json(app.sandbox_url("/_sandbox/seen")).await;
    seen["service-manager-write"].as_u64().unwrap_or(0)
}

/// Issue 11: the push channel's instance and key created through SAP Service
/// Manager — read first, created only after confirmation, reused, never deleted.
#[tokio::test]
async fn the_push_key_is_created_through_service_manager_after_confirmation() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = app.create_setup("ACME Push").await;
    for page in ["facts", "step-1", "step-3-1"] {
        let r = complete_demo_page(&app, &demo, &id, page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
    }
    let step31 = app.get(&format!("/setups/{id}/pages/step-3-1")).await.body;
    assert!(step31.contains(&format!("href=\"/setups/{id}/push-key\"")));
    let page = app.get(&format!("/setups/{id}/push-key")).await.body;
    assert!(
        page.contains("First, a Service Manager key") && !page.contains("Read Service Manager")
    );

    // A read-only (audit) key: the plan reads, the creation is refused in words.
    app.use_service_manager(&id, &demo, true).await;
    let plan = app.post(&format!("/setups/{id}/push-key/plan"), &[]).await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.body);
    let fp = fingerprint(&plan.body);
    let refused = app
        .post(
            &format!("/setups/{id}/push-key/apply"),
            &[("fingerprint", &fp)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("needs a Service Manager key of plan subaccount-admin"),
        "{}",
        refused.body
    );

    // The admin key: the plan names what it would create, and writes nothing.
    app.use_service_manager(&id, &demo, false).await;
    let plan = app.post(&format!("/setups/{id}/push-key/plan"), &[]).await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.body);
    assert!(plan.body.contains("Create the service instance tc-push of SAP Task Center (one-inbox-service), plan all-tasks."), "{}", plan.body);
    assert!(
        plan.body.contains("Create the service key tc-push-key")
            && plan.body.contains("The plan: 2 to write")
    );
    assert_eq!(sm_writes(&app).await, 0, "reading the plan writes nothing");
    for secret in ["sm_clientsecret", "sm_audit_clientsecret"] {
        assert!(
            !plan.body.contains(demo[secret].as_str().unwrap_or("-")),
            "{secret} shown"
        );
    }
    let fp = fingerprint(&plan.body);

    // A stale confirmation is not carried out: the new plan is shown.
    let stale = app
        .post(
            &format!("/setups/{id}/push-key/apply"),
            &[("fingerprint", "0000")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert_eq!(sm_writes(&app).await, 0);

    // The creation fails at SAP: said so, and the failed instance blocks until
    // someone removes it in the cockpit (the wizard never deletes).
    app.fault("service-manager-operation", "500").await;
    let failed = app
        .post(
            &format!("/setups/{id}/push-key/apply"),
            &[("fingerprint", &fp)],
        )
        .await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY, "{}", failed.body);
    assert!(
        failed.body.contains("the operation failed") && failed.body.contains("try again"),
        "{}",
        failed.body
    );
    app.fault("service-manager-operation", "none").await;
    app.allow_task_center_through_service_manager().await;
    let blocked = app
        .post(&format!("/setups/{id}/push-key/plan"), &[])
        .await
        .body;
    assert!(
        blocked.contains("Delete it in the cockpit") && !blocked.contains("push-key/apply"),
        "{blocked}"
    );
    sandbox_post(&app, "/_sandbox/reset", &[]).await;
    let before = sm_writes(&app).await;

    // Confirmed: created, waited for, read, and saved on step 3.1.
    app.allow_task_center_through_service_manager().await;
    let plan = app
        .post(&format!("/setups/{id}/push-key/plan"), &[])
        .await
        .body;
    let fp = fingerprint(&plan);
    let done = app
        .post(
            &format!("/setups/{id}/push-key/apply"),
            &[("fingerprint", &fp)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body
            .contains("is saved on step 3.1 as the push channel"),
        "{}",
        done.body
    );
    assert_eq!(sm_writes(&app).await, before + 2, "one instance, one key");
    let new_client = between(&done.body, "(client ", ")")
        .unwrap_or("")
        .to_string();
    assert!(
        new_client.starts_with("sb-") && new_client.contains("one-inbox-service"),
        "{new_client}"
    );
    let step31 = app.get(&format!("/setups/{id}/pages/step-3-1")).await.body;
    assert!(
        step31.contains(&format!("saved for client {new_client}")),
        "{step31}"
    );
    // Again: everything is reused, nothing created, the same key saved.
    app.allow_task_center_through_service_manager().await;
    let again = app
        .post(&format!("/setups/{id}/push-key/plan"), &[])
        .await
        .body;
    assert!(
        again.contains("Use the existing instance tc-push")
            && again.contains("Read the existing key tc-push-key"),
        "{again}"
    );
    assert!(again.contains("Confirm: save the existing key on step 3.1"));
    let fp = fingerprint(&again);
    let r = app
        .post(
            &format!("/setups/{id}/push-key/apply"),
            &[("fingerprint", &fp)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(&format!("(client {new_client})")));
    assert_eq!(sm_writes(&app).await, before + 2, "nothing created twice");
    let calls = app.get(&format!("/setups/{id}/calls")).await.body;
    assert!(calls.contains("/v1/service_instances") && calls.contains("/v1/service_bindings"));
}

/// The SHA-256 of the active or passive certificate as the trust page shows it.
fn sha(body: &str, which: &str) -> String {
    between(body, &format!("id=\"sha-{which}\">"), "<")
        .unwrap_or("")
        .to_string()
}

/// The fingerprint the trust page's form for one change carries.
fn confirmation(body: &str, change: &str) -> String {
    let form = body
        .split(&format!("/trust/{change}\">"))
        .nth(1)
        .unwrap_or_else(|| panic!("no {change} form: {body}"));
    between(form, "name=\"fingerprint\" value=\"", "\"")
        .unwrap_or("")
        .to_string()
}

/// Issue 11: the trust certificate's lifecycle through the Destination
/// service — passive, rotation, renewal, each after a confirmation — and
/// S/4HANA judging the SAML assertions until it has the new one again.
#[tokio::test]
async fn the_trust_certificate_is_rotated_and_renewed_and_s4_follows() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = ready(&app, &demo).await;
    let p = plan(&app, &id).await;
    assert_eq!(apply(&app, &id, &p).await.status, StatusCode::OK);
    let r = complete_demo_page(&app, &demo, &id, "step-4").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = app.apply_destination(&id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    sign_in_customer(&app, &id, &demo, "ada.admin@acme.example").await;
    let works = "obtained an S/4HANA token for this user";
    let verify = || async { app.post(&format!("/setups/{id}/verify"), &[]).await.body };
    assert!(verify().await.contains(works));

    let step32 = app.get(&format!("/setups/{id}/pages/step-3-2")).await.body;
    assert!(step32.contains(&format!("href=\"/setups/{id}/trust\"")));
    let page = app.get(&format!("/setups/{id}/trust")).await.body;
    assert!(page.contains("Common name (SAML issuer)") && page.contains("Read the certificates"));
    let read = app.post(&format!("/setups/{id}/trust/read"), &[]).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert!(
        read.body.contains("Active (signs now); step 3.2 holds it"),
        "{}",
        read.body
    );
    let first = sha(&read.body, "active");

    // A confirmation for another plan than the one shown does nothing.
    let stale = app
        .post(
            &format!("/setups/{id}/trust/passive"),
            &[("fingerprint", "AA:BB")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    let again = app
        .post(&format!("/setups/{id}/trust/read"), &[])
        .await
        .body;
    assert!(
        again.contains("<td>Passive</td><td colspan=\"2\">none</td>"),
        "{again}"
    );
    assert_eq!(sha(&again, "active"), first, "nothing was changed");

    // A passive certificate: the active one still signs.
    let r = app
        .post(
            &format!("/setups/{id}/trust/passive"),
            &[("fingerprint", &confirmation(&again, "passive"))],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("A passive certificate was created"));
    let passive = sha(&r.body, "passive");
    assert!(!passive.is_empty() && passive != first);
    assert_eq!(
        sha(&r.body, "active"),
        first,
        "read back: the same active one"
    );
    assert!(
        verify().await.contains(works),
        "nothing changed for S/4HANA"
    );
    let pem = app
        .client
        .get(format!("{}/setups/{id}/trust/passive.pem", app.base))
        .send()
        .await
        .expect("pem")
        .text()
        .await
        .unwrap_or_default();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");

    // Rotated: the passive one signs; S/4HANA refuses until it has it.
    let r = app
        .post(
            &format!("/setups/{id}/trust/rotate"),
            &[("fingerprint", &confirmation(&r.body, "rotate"))],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("Rotated") && r.body.contains("S/4HANA needs the new certificate"),
        "{}",
        r.body
    );
    let step32 = app.get(&format!("/setups/{id}/pages/step-3-2")).await.body;
    assert!(
        step32.contains(&passive),
        "step 3.2 holds the rotated certificate"
    );
    assert!(
        !verify().await.contains(works),
        "S/4HANA still has the former one"
    );
    let p = plan(&app, &id).await;
    assert_eq!(p.body.matches("will be changed").count(), 1, "{}", p.body);
    let r = apply(&app, &id, &p).await;
    assert!(
        r.body
            .contains("OAuth2IdentityProviderCertificatePublicKeyBase64"),
        "{}",
        r.body
    );
    assert!(
        verify().await.contains(works),
        "S/4HANA trusts the rotated certificate"
    );

    // Renewed: a new active certificate at once, step 3.2 holds it too.
    let read = app
        .post(&format!("/setups/{id}/trust/read"), &[])
        .await
        .body;
    let (active, former) = (sha(&read, "active"), sha(&read, "passive"));
    assert_eq!(
        (active.as_str(), former.as_str()),
        (passive.as_str(), first.as_str()),
        "swapped"
    );
    let r = app
        .post(
            &format!("/setups/{id}/trust/renew"),
            &[("fingerprint", &confirmation(&read, "renew"))],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Renewed"));
    let read = app
        .post(&format!("/setups/{id}/trust/read"), &[])
        .await
        .body;
    let renewed = sha(&read, "active");
    assert!(renewed != active && renewed != first);
    assert!(read.contains("Active (signs now); step 3.2 holds it"));
    let history = app.get(&format!("/setups/{id}/history")).await.body;
    for done in [
        "Created a passive trust certificate",
        "Rotated the trust certificates",
        "Renewed the active trust certificate",
    ] {
        assert!(history.contains(done), "{done}: {history}");
    }
    let calls = app.get(&format!("/setups/{id}/calls")).await.body;
    assert!(
        calls.contains("saml2Metadata/rotateCertificate")
            && calls.contains("saml2Metadata/certificate/passive")
    );
}

/// Issue 21: Task Center objects that exist under other names (SAP's
/// formation, or a setup by hand) are repaired, never duplicated, and the
/// formation is named; a name the read shows taken is never proposed.
#[tokio::test]
async fn task_center_objects_under_other_names_are_repaired_not_duplicated() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = ready(&app, &demo).await;
    sandbox_post(&app, "/_sandbox/s4", &[("formation", "true")]).await;
    let p = plan(&app, &id).await;
    assert!(
        p.body
            .contains("SAP_TASKCENTER_1 has type provider_managed")
            && p.body
                .contains("Integration with Customer-Managed SAP Task Center"),
        "{}",
        p.body
    );
    // The formation's system and arrangement are kept; only this setup's
    // user and its inbound user are new, and the arrangement takes it.
    assert_eq!(p.body.matches("will be created").count(), 2, "{}", p.body);
    assert_eq!(p.body.matches("will be changed").count(), 1, "{}", p.body);
    let done = apply(&app, &id, &p).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body.contains(
            "The arrangement SAP_COM_0501_TASKCENTER now takes the inbound user TASKCENTERCOM"
        ),
        "{}",
        done.body
    );
    let tenant = s4(&app).await;
    assert_eq!(
        (count(&tenant, "systems"), count(&tenant, "arrangements")),
        (1, 1),
        "nothing duplicated"
    );
    let step34 = app.get(&format!("/setups/{id}/pages/step-3-4")).await.body;
    assert_eq!(
        input_value(&step34, "f-comm_system_id").as_deref(),
        Some("SAP_TASKCENTER_1"),
        "3.4 takes the name S/4HANA has"
    );
    let again = plan(&app, &id).await;
    assert_eq!(
        again.body.matches("already right").count(),
        4,
        "{}",
        again.body
    );
    // And it carries a real user's SAML bearer exchange.
    let r = complete_demo_page(&app, &demo, &id, "step-4").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = app.apply_destination(&id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    sign_in_customer(&app, &id, &demo, "ada.admin@acme.example").await;
    let v = app.post(&format!("/setups/{id}/verify"), &[]).await.body;
    assert!(v.contains("obtained an S/4HANA token for this user"), "{v}");
}

#[tokio::test]
async fn an_arrangement_name_the_tenant_already_uses_is_never_proposed() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = ready(&app, &demo).await;
    sandbox_post(
        &app,
        "/_sandbox/s4",
        &[("arrangement_named", "SAP_COM_0501_TASKCENTER")],
    )
    .await;
    let p = plan(&app, &id).await;
    assert!(
        p.body
            .contains("already used by the arrangement of scenario SAP_COM_0008")
            && p.body
                .contains("Choose another arrangement name in step 3.5"),
        "{}",
        p.body
    );
    assert!(
        !p.body.contains("name=\"fingerprint\""),
        "no confirmation offered"
    );
    let r = app
        .post(
            &format!("/setups/{id}/s4-setup/apply"),
            &[("fingerprint", "any")],
        )
        .await;
    assert_ne!(
        r.status,
        StatusCode::OK,
        "a plan that cannot succeed is not run"
    );
    assert_eq!(
        count(&s4(&app).await, "systems"),
        0,
        "nothing was written half-way"
    );
}

/// Issue 21: the SCIM plan looks the UUIDs up in IAS itself (step 2.1's
/// administrator), and what it verified through the API is confirmed by it.
#[tokio::test]
async fn the_scim_plan_looks_the_uuids_up_itself_and_confirms_what_it_verified() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    sandbox_post(
        &app,
        "/_sandbox/s4",
        &[("clear_global_id", "chris.lee@acme.example")],
    )
    .await;
    let list = "anna.berg@acme.example\nchris.lee@acme.example";
    let id = with_approvers(&app, &demo, list).await;
    // No look-up on step 6 first: the plan does it.
    let p = app.post(&format!("/setups/{id}/s4-users/plan"), &[]).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(!p.body.contains("look it up in step 6 first"), "{}", p.body);
    assert!(
        row(&p.body, "anna.berg@acme.example").contains("already right"),
        "{}",
        p.body
    );
    assert!(
        row(&p.body, "chris.lee@acme.example").contains("to set"),
        "{}",
        p.body
    );
    let done = app
        .post(
            &format!("/setups/{id}/s4-users/apply"),
            &[("fingerprint", &fingerprint(&p.body))],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let step6 = app.get(&format!("/setups/{id}/pages/step-6")).await.body;
    let chris = person(&demo, "chris.lee@acme.example");
    assert!(
        step6.contains(&format!(
            "chris.lee@acme.example, {}",
            chris["user_uuid"].as_str().unwrap_or("-")
        )),
        "the UUIDs IAS gave are on step 6"
    );
    assert!(
        step6.contains("value=\"global_ids\" checked")
            && !step6.contains("value=\"catalog\" checked"),
        "confirmed by the wizard, the catalog left to the consultant"
    );
    let report = app.get(&format!("/setups/{id}/report")).await.body;
    assert!(report.contains("through the S/4HANA API"), "{report}");
}
