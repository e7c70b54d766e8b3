//! The BTP half through SAP's APIs (issue 20): from an empty global account
//! to a subaccount the booster would have made, then the S/4HANA half and
//! Verify as a real user; the booster seed as pure adoption; a fault at each
//! step and a clean continuation; a restart of the wizard mid-run.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

async fn sandbox_post(app: &TestApp, path: &str, form: &[(&str, &str)]) {
    let r = client()
        .post(app.sandbox_url(path))
        .form(form)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::OK, "{path}");
}

/// An empty global account whose long steps take `ms` each.
async fn empty_global_account(app: &TestApp, ms: &str) {
    sandbox_post(
        app,
        "/_sandbox/settings",
        &[("global_account", "empty"), ("btp_delay_ms", ms)],
    )
    .await;
}

fn password(demo: &Value, email: &str) -> String {
    person(demo, email)["password"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A setup with the facts and the BTP page's key and choices saved.
async fn with_choices(app: &TestApp, demo: &Value) -> String {
    let id = demo_setup(app, demo, &["facts"]).await;
    let d = |k: &str| demo[k].as_str().unwrap_or_default().to_string();
    let r = app
        .post(
            &format!("/setups/{id}/btp/choices"),
            &[
                ("cis_key", &d("cis_central_key")),
                ("subdomain", &d("subdomain")),
                ("subaccount_name", "Task Center"),
                ("ias_host", &d("ias_host")),
                ("ias_client_id", &d("ias_clientid")),
                ("ias_client_secret", &d("ias_clientsecret")),
                ("plan", "all-tasks"),
                ("workzone_plan", "standard"),
                ("cf_org", ""),
                ("cf_space", ""),
                ("btp_admins", "Ada Admin <ada.admin@acme.example>"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("Read the global account and show the plan"),
        "{}",
        r.body
    );
    id
}

async fn plan(app: &TestApp, id: &str, cf_password: &str) -> Page {
    let r = app
        .post(
            &format!("/setups/{id}/btp/plan"),
            &[("cf_password", cf_password)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r
}

/// Confirm the plan shown and wait for the run's end (the page shows
/// progress meanwhile); the page with the result.
async fn confirm(app: &TestApp, id: &str, shown: &Page, cf_password: &str) -> Page {
    let r = app
        .post(
            &format!("/setups/{id}/btp/apply"),
            &[
                ("fingerprint", &fingerprint(&shown.body)),
                ("cf_password", cf_password),
            ],
        )
        .await;
    if r.status != StatusCode::SEE_OTHER {
        return r;
    }
    finished(app, id).await
}

async fn finished(app: &TestApp, id: &str) -> Page {
    let started = Instant::now();
    loop {
        let p = app.get(&format!("/setups/{id}/btp")).await;
        if !p.body.contains("This status follows the run") {
            return p;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the run never ended: {}",
            p.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn exchanges(app: &TestApp, host: &str) -> Vec<Value> {
    get_json(app.sandbox_url(&format!("/_sandbox/exchanges?host={host}")))
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// How many requests with `method` reached `path` (at any host).
async fn writes(app: &TestApp, method: &str, path: &str) -> usize {
    get_json(app.sandbox_url("/_sandbox/exchanges"))
        .await
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["method"] == method && e["path"] == path)
        .count()
}

#[tokio::test]
async fn from_an_empty_global_account_to_verify_as_a_real_user() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    empty_global_account(&app, "60").await;
    let ada = password(&demo, "ada.admin@acme.example");
    let id = with_choices(&app, &demo).await;

    let shown = plan(&app, &id, "").await;
    for object in [
        "Subaccount acme-demo: will be created",
        "Entitlement one-inbox-service / all-tasks: will be created",
        "Entitlement SAPLaunchpad / standard: will be created",
        "Service Manager access serviceManagementBinding: will be created",
        "Trust acme-demo.accounts.ondemand.com: will be created",
        "Cloud Foundry org acme-demo_taskcenter: will be created",
        "Task Center instance default_taskcenter: will be created",
        "Task Center instance tc-push: will be created",
        "Destination Identity_Authentication_Connectivity_IDS: will be created",
        "Role collection Task_Center_Administrator: will be created",
    ] {
        assert!(shown.body.contains(object), "{object}: {}", shown.body);
    }
    assert!(
        shown.body.contains("set it to User UUID there yourself"),
        "the one step without an API is named"
    );
    assert_eq!(
        writes(&app, "POST", "/accounts/v1/subaccounts").await,
        0,
        "a plan writes nothing"
    );

    let done = confirm(&app, &id, &shown, &ada).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body
            .contains("Steps 1, 2.1 and 2.2 are filled in from SAP"),
        "{}",
        done.body
    );
    assert!(
        done.body.contains("Created the subaccount acme-demo"),
        "{}",
        done.body
    );
    assert!(done.body.contains("Assigned Task_Center_Administrator, Task_Center_Tenant_Operator, Launchpad_Admin, Destination Administrator to ada.admin@acme.example"), "{}", done.body);

    // What SAP returned is in the answers, not asked again.
    let step1 = app.get(&format!("/setups/{id}/pages/step-1")).await.body;
    assert_eq!(
        input_value(&step1, "f-subaccount_id").as_deref(),
        demo["subaccount_id"].as_str()
    );
    let tasks = app.get(&format!("/setups/{id}")).await.body;
    let btp = between(&tasks, "Prepare SAP BTP", "Configure S/4HANA Cloud").unwrap_or("");
    assert_eq!(
        btp.matches("Done by the wizard through SAP&#39;s API")
            .count(),
        3,
        "{tasks}"
    );

    // Again: everything is there, nothing is written twice.
    let again = plan(&app, &id, &ada).await;
    assert!(
        again.body.contains("The plan: 0 to write"),
        "{}",
        again.body
    );
    for (method, path) in [
        ("POST", "/accounts/v1/subaccounts"),
        ("POST", "/provisioning/v1/environments"),
        (
            "POST",
            "/saas-manager/v1/applications/SAPLaunchpadSMS/subscription",
        ),
        ("POST", "/sap/rest/identity-providers"),
    ] {
        assert_eq!(writes(&app, method, path).await, 1, "{method} {path}");
    }
    // default_taskcenter and the push channel's dedicated tc-push.
    assert_eq!(writes(&app, "POST", "/v3/service_instances").await, 2);
    let step31 = app.get(&format!("/setups/{id}/pages/step-3-1")).await.body;
    assert!(
        step31.matches("saved for client").count() >= 2,
        "the Task Center key and the push key: {step31}"
    );

    // The S/4HANA half, then Verify as the administrator the wizard made one.
    let r = save_ticking_all(&app, &id, "step-2", &demo_answers(&demo, "step-2")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Step 3.2 fetches the certificate with the Destination key SAP made.
    let r = app
        .post(&format!("/setups/{id}/pages/step-3-2/run"), &[])
        .await;
    assert!(
        r.status.is_success() || r.status.is_redirection(),
        "{}",
        r.body
    );
    let cert = app.get(&format!("/setups/{id}/pages/step-3-2")).await.body;
    assert!(cert.contains("CP Destination Configuration"), "{cert}");
    sandbox_post(&app, "/_sandbox/s4", &[("empty", "true")]).await;
    let ok = save_s4_api_user(&app, &demo, &id).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let (_, s4) = app.confirm_plan(&id, "s4-setup").await;
    assert_eq!(s4.status, StatusCode::OK, "{}", s4.body);
    let r = complete_demo_page(&app, &demo, &id, "step-4").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = app.apply_destination(&id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("S4HANACloud"), "{}", r.body);
    assert!(
        r.body.contains("Created the destination S4HANACloud") || r.body.contains("created"),
        "the destination was written: {}",
        r.body
    );
    // The trust left the IAS application sending the e-mail (L.5 2); the
    // consultant sets User UUID there by hand, as the plan said.
    sandbox_post(&app, "/_sandbox/settings", &[("subject", "user_uuid")]).await;
    sign_in_customer(&app, &id, &demo, "ada.admin@acme.example").await;
    let v = app.post(&format!("/setups/{id}/verify"), &[]).await.body;
    assert!(v.contains("obtained an S/4HANA token for this user"), "{v}");
    assert!(
        !v.contains("is not a TaskCenterAdmin"),
        "the wizard's role assignment carries: {v}"
    );
    // A connector SAP's formation left, that no destination backs (N rule 3).
    sandbox_post(
        &app,
        "/_sandbox/settings",
        &[("formation_connector", "true")],
    )
    .await;
    let v = app.post(&format!("/setups/{id}/verify"), &[]).await.body;
    let row = v
        .split("<tr><td>Task Center&#39;s connector for the destination</td>")
        .nth(1)
        .unwrap_or_default();
    assert!(
        row.starts_with("<td><strong class=\"tag tag--amber\">") || row.contains("Warning"),
        "{row}"
    );
    assert!(
        row.contains("SAP_S4HC_FORMATION") && row.contains("formation"),
        "{row}"
    );
}

#[tokio::test]
async fn on_a_subaccount_the_booster_set_up_everything_is_adopted() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let ada = password(&demo, "ada.admin@acme.example");
    let id = with_choices(&app, &demo).await;
    let shown = plan(&app, &id, &ada).await;
    assert!(
        shown.body.contains("The plan: 0 to write"),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains("Fill in steps 1 to 2.2 from SAP"),
        "{}",
        shown.body
    );
    let done = confirm(&app, &id, &shown, &ada).await;
    assert!(
        done.body
            .contains("The global account already had everything: nothing was written."),
        "{}",
        done.body
    );
    let all = get_json(app.sandbox_url("/_sandbox/exchanges")).await;
    let written: Vec<String> = all
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["method"] != "GET" && e["path"] != "/oauth/token")
        .map(|e| format!("{} {}{}", e["method"], e["host"], e["path"]))
        .collect();
    assert!(written.is_empty(), "nothing written: {written:?}");
    let step1 = app.get(&format!("/setups/{id}/pages/step-1")).await.body;
    assert_eq!(
        input_value(&step1, "f-subaccount_id").as_deref(),
        demo["subaccount_id"].as_str()
    );
    let key = app.get(&format!("/setups/{id}/pages/step-3-1")).await.body;
    assert!(
        key.contains(demo["tc_clientid"].as_str().unwrap_or("?")),
        "the booster's key: {key}"
    );
}

#[tokio::test]
async fn a_fault_at_each_step_is_recorded_and_the_next_run_goes_on() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    empty_global_account(&app, "40").await;
    let ada = password(&demo, "ada.admin@acme.example");
    let id = with_choices(&app, &demo).await;
    // Each step fails once, in SAP's order; every run continues from there.
    let faults: [(&str, &str, &str); 8] = [
        (
            "fault",
            "cis-accounts-write",
            "Creating the subaccount failed",
        ),
        ("fail", "subaccount", "SAP could not create the subaccount"),
        (
            "fault",
            "cis-entitlements-write",
            "Assigning the entitlements failed",
        ),
        ("fail", "new-tenant", "wait and retry after 2 hours"),
        ("fail", "environment", "SAP could not enable Cloud Foundry"),
        (
            "fail",
            "subscription",
            "SAP could not subscribe to SAP Build Work Zone",
        ),
        ("fail", "cf-instance", "Creating default_taskcenter failed"),
        ("fault", "xsuaa-api-write", "Creating the role collection"),
    ];
    for (kind, what, says) in faults {
        match kind {
            "fault" => app.fault(what, "500").await,
            _ => sandbox_post(&app, "/_sandbox/settings", &[("btp_fail", what)]).await,
        }
        let shown = plan(&app, &id, &ada).await;
        assert!(
            shown.body.contains("name=\"fingerprint\""),
            "{what}: {}",
            shown.body
        );
        let failed = confirm(&app, &id, &shown, &ada).await;
        assert!(failed.body.contains(says), "{what}: {}", failed.body);
        assert!(
            failed.body.contains("Run it again to continue"),
            "{what}: {}",
            failed.body
        );
        match kind {
            "fault" => app.fault(what, "none").await,
            _ => sandbox_post(&app, "/_sandbox/settings", &[("btp_fail", "none")]).await,
        }
        // What SAP could not make stays in its failed state: the plan says
        // so and offers nothing to confirm; a person removes it in the
        // cockpit (the wizard never deletes), then the run goes on.
        if ["subaccount", "environment", "cf-instance"].contains(&what) {
            let p = plan(&app, &id, &ada).await;
            assert!(
                p.body.contains("in the cockpit (") && !p.body.contains("name=\"fingerprint\""),
                "{what}: {}",
                p.body
            );
            sandbox_post(&app, "/_sandbox/settings", &[("btp_remove_failed", "true")]).await;
        }
    }
    let shown = plan(&app, &id, &ada).await;
    let done = confirm(&app, &id, &shown, &ada).await;
    assert!(
        done.body
            .contains("Steps 1, 2.1 and 2.2 are filled in from SAP"),
        "{}",
        done.body
    );
    let history = app.get(&format!("/setups/{id}/history")).await.body;
    assert!(
        history.contains("Created the subaccount acme-demo"),
        "{history}"
    );
}

#[tokio::test]
async fn a_restart_of_the_wizard_mid_run_is_reported_and_continued_without_doing_anything_twice() {
    // "SAP" outlives the wizard: a sandbox of its own.
    let sb = taskcenter_wizard::sandbox::start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox");
    let at = sb.addr;
    let app = TestApp::spawn_with(|a| {
        a.sandbox_at = Some(at);
        a.timeout = 10;
    })
    .await;
    let demo = app.demo().await;
    // The subaccount takes 6 s: the run is still waiting for it at the restart.
    empty_global_account(&app, "6000").await;
    let ada = password(&demo, "ada.admin@acme.example");
    let id = with_choices(&app, &demo).await;
    let shown = plan(&app, &id, "").await;
    let r = app
        .post(
            &format!("/setups/{id}/btp/apply"),
            &[
                ("fingerprint", &fingerprint(&shown.body)),
                ("cf_password", &ada),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "still running: {}", r.body);
    let going = app.get(&format!("/setups/{id}/btp")).await.body;
    assert!(going.contains("<p>Now: "), "{going}");
    let app = app
        .restart_with(|a| {
            a.sandbox_at = Some(at);
            a.timeout = 10;
        })
        .await;
    let after = app.get(&format!("/setups/{id}/btp")).await.body;
    assert!(
        after.contains("The wizard stopped while a run was going"),
        "{after}"
    );
    sandbox_post(&app, "/_sandbox/settings", &[("btp_delay_ms", "40")]).await;
    let again = plan(&app, &id, "").await;
    assert!(
        again.body.contains("Use the existing subaccount"),
        "{}",
        again.body
    );
    let done = confirm(&app, &id, &again, &ada).await;
    assert!(
        done.body
            .contains("Steps 1, 2.1 and 2.2 are filled in from SAP"),
        "{}",
        done.body
    );
    assert_eq!(
        writes(&app, "POST", "/accounts/v1/subaccounts").await,
        1,
        "one subaccount"
    );
    assert_eq!(
        writes(&app, "POST", "/provisioning/v1/environments").await,
        1,
        "one org"
    );
    let back = app.get(&format!("/setups/{id}/btp")).await.body;
    assert!(
        !back.contains("The wizard stopped while a run was going"),
        "{back}"
    );
    drop(sb);
}

#[tokio::test]
async fn the_cloud_management_services_answer_as_sap_s_openapi_files_say() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    empty_global_account(&app, "40").await;
    let ada = password(&demo, "ada.admin@acme.example");
    let id = with_choices(&app, &demo).await;
    let shown = plan(&app, &id, "").await;
    let done = confirm(&app, &id, &shown, &ada).await;
    assert!(
        done.body
            .contains("Steps 1, 2.1 and 2.2 are filled in from SAP"),
        "{}",
        done.body
    );
    for (host, spec) in [
        (
            "accounts-service.cfapps.eu10.hana.ondemand.com",
            "accounts-service.json",
        ),
        (
            "entitlements-service.cfapps.eu10.hana.ondemand.com",
            "entitlements-service.json",
        ),
        (
            "provisioning-service.cfapps.eu10.hana.ondemand.com",
            "provisioning-service.json",
        ),
        (
            "saas-manager.cfapps.eu10.hana.ondemand.com",
            "saas-provisioning.json",
        ),
        // Unpatched by SAP: read with its three defects mended, objects open.
        ("api.authentication.eu10.hana.ondemand.com", "xsuaa.json"),
    ] {
        let all = exchanges(&app, host).await;
        assert!(!all.is_empty(), "{host} was called");
        let (ok, said) = crate::conformance::judge(
            &["openapi", &crate::conformance::spec(spec)],
            &Value::Array(all.clone()),
        );
        assert!(ok, "{host}: {said}");
        if host.starts_with("accounts") {
            let (ok, said) = crate::conformance::judge(
                &["openapi", &crate::conformance::spec(spec)],
                &crate::conformance::renamed(&Value::Array(all), "subdomain"),
            );
            assert!(
                !ok && said.contains("subdomain_renamed"),
                "a renamed field is a finding: {said}"
            );
        }
    }
}

#[tokio::test]
async fn with_only_the_subaccount_s_own_keys_the_wizard_does_what_they_allow_and_names_the_rest() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let ada = password(&demo, "ada.admin@acme.example");
    // No global account key: step 1's subaccount, step 3.1's Service Manager key.
    let id = demo_setup(&app, &demo, &["facts", "step-1", "step-2"]).await;
    let r = app
        .save(
            &id,
            "step-3-1",
            &[
                (
                    "service_key",
                    &demo_task_center_key(&demo, demo["tc_clientsecret"].as_str().unwrap_or("")),
                ),
                ("sm_key", &service_manager_key(&demo, false)),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = app
        .post(
            &format!("/setups/{id}/btp/choices"),
            &[
                ("btp_admins", "ada.admin@acme.example"),
                ("subdomain", demo["subdomain"].as_str().unwrap_or("")),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Someone removed the global settings destination in the cockpit.
    let token = dest_token(&app, &demo).await;
    let gone = client()
        .delete(app.sandbox_url(
            "/destination-configuration/v1/subaccountDestinations/Task_Center_global_settings",
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert!(gone.status().is_success());
    let shown = plan(&app, &id, &ada).await;
    for left in [
        "Subaccount acme-demo: left for you: creating or changing it needs the global account",
        "Entitlement one-inbox-service / all-tasks: left for you",
    ] {
        assert!(shown.body.contains(left), "{left}: {}", shown.body);
    }
    assert!(
        shown.body.contains("The plan: 1 to write")
            && shown
                .body
                .contains("Destination Task_Center_global_settings: will be created"),
        "{}",
        shown.body
    );
    let done = confirm(&app, &id, &shown, &ada).await;
    assert!(
        done.body
            .contains("Created the destination Task_Center_global_settings"),
        "{}",
        done.body
    );
    assert!(
        done.body
            .contains("Left for you: the subaccount&#39;s entitlements"),
        "{}",
        done.body
    );
    let written: Vec<String> = get_json(app.sandbox_url("/_sandbox/exchanges"))
        .await
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            e["host"].as_str().unwrap_or("").contains("-service.cfapps")
                || e["host"].as_str().unwrap_or("").starts_with("saas-manager")
        })
        .map(|e| format!("{} {}", e["method"], e["path"]))
        .filter(|e| !e.contains("/provisioning/") && !e.contains("/saas-manager/"))
        .collect();
    assert!(
        written.is_empty(),
        "no global account API was called: {written:?}"
    );
}

#[tokio::test]
async fn the_global_account_is_rate_limited_as_sap_documents() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let key: Value =
        serde_json::from_str(demo["cis_central_key"].as_str().unwrap_or("{}")).expect("key");
    let token: Value = client()
        .post(app.sandbox_url("/oauth/token"))
        .basic_auth(
            key["uaa"]["clientid"].as_str().unwrap_or(""),
            key["uaa"]["clientsecret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let bearer = token["access_token"].as_str().unwrap_or("").to_string();
    assert!(
        token["scope"]
            .as_str()
            .unwrap_or("")
            .contains("global-account.subaccount.create"),
        "{token}"
    );
    let mut statuses = Vec::new();
    let mut last = Value::Null;
    for _ in 0..6 {
        let r = client()
            .get(app.sandbox_url("/accounts/v1/globalAccount"))
            .bearer_auth(&bearer)
            .send()
            .await
            .expect("get");
        statuses.push(r.status().as_u16());
        last = r.json().await.unwrap_or(Value::Null);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    assert_eq!(last["error"]["code"], 11006, "{last}");
    assert_eq!(last["error"]["details"][0]["code"], 11007, "{last}");
    // A central token on a subaccount's Provisioning service: refused (G.4).
    let r = client()
        .get(app.sandbox_url("/provisioning/v1/environments"))
        .bearer_auth(&bearer)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_btp_run_makes_the_push_channel_s_x509_key_when_asked() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    empty_global_account(&app, "40").await;
    let ada = password(&demo, "ada.admin@acme.example");
    let id = with_choices(&app, &demo).await;
    let r = app
        .post(
            &format!("/setups/{id}/btp/choices"),
            &[("push_instance", "x509")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let shown = plan(&app, &id, "").await;
    assert!(
        shown
            .body
            .contains("Service key tc-push-key-x509: will be created")
            && shown.body.contains("With credential type x509"),
        "{}",
        shown.body
    );
    let done = confirm(&app, &id, &shown, &ada).await;
    assert!(
        done.body
            .contains("Created the service key tc-push-key-x509 of tc-push"),
        "{}",
        done.body
    );
    // Step 3.1 holds it as an X.509 push key: S/4HANA's mTLS user is by hand.
    let s4 = app.get(&format!("/setups/{id}/s4-setup")).await.body;
    assert!(s4.contains("outbound.p12"), "{s4}");
}

/// The sandbox's Cloud Foundry refuses as the Cloud Controller's V3 does
/// (its request specs): a taken instance name and a key for an instance
/// still being created are 422 `CF-UnprocessableEntity` (10008), with the
/// Cloud Controller's words.
#[tokio::test]
async fn the_sandbox_s_cloud_foundry_refuses_as_the_cloud_controller_does() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let token: Value = client()
        .post(app.sandbox_url("/oauth/token"))
        .basic_auth("cf", Some(""))
        .form(&[
            ("grant_type", "password"),
            ("username", "ada.admin@acme.example"),
            ("password", &password(&demo, "ada.admin@acme.example")),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let bearer = token["access_token"].as_str().unwrap_or("").to_string();
    let get = |path: &'static str| {
        let (url, bearer) = (app.sandbox_url(path), bearer.clone());
        async move {
            client()
                .get(url)
                .bearer_auth(bearer)
                .send()
                .await
                .expect("get")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let post = |path: &'static str, body: Value| {
        let (url, bearer) = (app.sandbox_url(path), bearer.clone());
        async move {
            let r = client()
                .post(url)
                .bearer_auth(bearer)
                .json(&body)
                .send()
                .await
                .expect("post");
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let space = get("/v3/spaces?names=dev").await["resources"][0]["guid"].clone();
    let plan = get("/v3/service_plans?service_offering_names=one-inbox-service&names=all-tasks")
        .await["resources"][0]["guid"]
        .clone();
    assert!(space.is_string() && plan.is_string(), "{space} {plan}");
    let instance = |name: &str| {
        serde_json::json!({"type": "managed", "name": name, "relationships": {
            "space": {"data": {"guid": space}}, "service_plan": {"data": {"guid": plan}}}})
    };
    let unprocessable = |(status, body): (StatusCode, Value), detail: &str| {
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let e = &body["errors"][0];
        assert_eq!(e["code"], 10008, "{body}");
        assert_eq!(e["title"], "CF-UnprocessableEntity", "{body}");
        assert_eq!(e["detail"], detail, "{body}");
    };
    // The booster's instance is there already.
    unprocessable(
        post("/v3/service_instances", instance("default_taskcenter")).await,
        "The service instance name is taken: default_taskcenter",
    );
    // A new one is being created (seconds, as in SAP): no key yet.
    let (status, _) = post("/v3/service_instances", instance("tc-second")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let created = get("/v3/service_instances?names=tc-second").await;
    let guid = created["resources"][0]["guid"].clone();
    assert!(guid.is_string(), "{created}");
    let key = serde_json::json!({"type": "key", "name": "tc-second-key",
        "relationships": {"service_instance": {"data": {"guid": guid}}}});
    unprocessable(
        post("/v3/service_credential_bindings", key).await,
        "There is an operation in progress for the service instance.",
    );
}
