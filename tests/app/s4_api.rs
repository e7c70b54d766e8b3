//! The S/4HANA half through SAP_COM_0A48: plan, confirm, create; again
//! nothing; a change one update; faults half-way; errors in words; and the
//! result judged by the SAML bearer exchange as a real user.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

async fn s4(app: &TestApp) -> Value {
    client()
        .get(app.sandbox_url("/_sandbox/s4"))
        .send()
        .await
        .expect("s4")
        .json()
        .await
        .expect("j")
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
    for page in ["facts", "step-1", "step-2", "step-3-1", "step-3-2"] {
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
    let ok = app
        .post(
            &format!("/setups/{id}/s4-setup/credentials"),
            &[
                ("s4_api_user", api[0].as_str().unwrap_or("")),
                ("s4_api_password", api[1].as_str().unwrap_or("")),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(ok.body.contains("Connected as TC_COMM_API"), "{}", ok.body);
    id
}

fn fingerprint(body: &str) -> String {
    between(body, "name=\"fingerprint\" value=\"", "\"")
        .expect("fingerprint")
        .to_string()
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

fn count(tenant: &Value, set: &str) -> usize {
    tenant["comm"][set].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn the_s4_half_is_planned_confirmed_created_and_then_left_alone() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = ready(&app, &demo).await;
    let p = plan(&app, &id).await;
    assert_eq!(p.body.matches("will be created").count(), 4, "{}", p.body);
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
    let system = &tenant["comm"]["systems"][0];
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
        tenant["comm"]["inbound"][0]["AuthenticationMethod"],
        "oauth2"
    );
    assert_eq!(
        tenant["comm"]["arrangements"][0]["CommunicationScenarioID"],
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
    let r = app
        .post(&format!("/setups/{id}/pages/step-4/run"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    sign_in_customer(&app, &id, &demo, "ada.admin@acme.example").await;
    let v = app.post(&format!("/setups/{id}/verify"), &[]).await.body;
    assert!(v.contains("obtained an S/4HANA token for this user"), "{v}");
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
