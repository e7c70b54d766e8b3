//! SAP calls on submit against the sandbox over real sockets (issue 3).

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn the_service_key_is_checked_with_a_token_request_on_submit() {
    let app = TestApp::spawn_sandbox().await;
    let demo = app.demo().await;
    let id = demo_setup(&app, &demo, &["facts", "step-3-1"]).await;
    let page = app.get(&format!("/setups/{id}/pages/step-3-1")).await.body;
    assert!(page.contains("Checked with SAP"), "{page}");
    assert!(page.contains("The key works: SAP issued a token"));
    assert!(
        page.contains("Task Center is reachable; it answered 403"),
        "403 on connectors is not a failure"
    );
    assert!(
        app.get(&format!("/setups/{id}"))
            .await
            .body
            .contains("id=\"status-step-3-1\">Completed<")
    );
    let calls = app.get(&format!("/setups/{id}/calls")).await.body;
    assert!(
        calls.contains("POST https://acme-demo.authentication.eu10.hana.ondemand.com/oauth/token"),
        "{calls}"
    );
    assert!(calls.contains("GET https://api.workflow-sap.cfapps.eu10.hana.ondemand.com/task-center-service/v1/connectors"));
    assert!(!calls.contains(demo["tc_clientsecret"].as_str().unwrap_or("?")));
}

#[tokio::test]
async fn a_wrong_client_secret_is_reported_at_the_field_and_the_answers_stay_saved() {
    let app = TestApp::spawn_sandbox().await;
    let demo = app.demo().await;
    let id = demo_setup(&app, &demo, &["facts"]).await;
    let key = demo_task_center_key(&demo, "not-the-secret-at-all");
    let r = app.save(&id, "step-3-1", &[("service_key", &key)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("id=\"f-service_key-error\""));
    assert!(
        r.body
            .contains("SAP refused this key&#39;s client ID and secret (401 Bad credentials)"),
        "{}",
        r.body
    );
    assert!(r.body.contains("Test the key with SAP again"));
    // Saved all the same, and marked as a problem until it passes.
    let tasks = app.get(&format!("/setups/{id}")).await.body;
    assert!(
        tasks.contains("id=\"status-step-3-1\">There is a problem<"),
        "{tasks}"
    );
    let calls = app.get(&format!("/setups/{id}/calls")).await.body;
    assert_eq!(
        calls.matches("/oauth/token").count(),
        2,
        "body authentication, then Basic as fallback"
    );
    // The right key fixes it.
    let good = demo_task_center_key(&demo, demo["tc_clientsecret"].as_str().unwrap_or_default());
    let r = app.save(&id, "step-3-1", &[("service_key", &good)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        app.get(&format!("/setups/{id}"))
            .await
            .body
            .contains("id=\"status-step-3-1\">Completed<")
    );
}

#[tokio::test]
async fn every_fault_gets_an_explanation_and_a_retry() {
    let app = TestApp::spawn_sandbox_fast_timeout().await;
    let demo = app.demo().await;
    let id = demo_setup(&app, &demo, &["facts", "step-3-1"]).await;
    let cases = [
        ("xsuaa-token", "timeout", "SAP did not answer within 1 s"),
        ("xsuaa-token", "500", "SAP had an internal problem (500)"),
        (
            "xsuaa-token",
            "garbage",
            "not with what the wizard expected",
        ),
        ("xsuaa-token", "403", "refused access (403)"),
        ("connectors", "503", "Task Center could not be reached"),
        ("connectors", "404", "does not exist (404)"),
        ("connectors", "latency:200", "The key works"),
    ];
    for (endpoint, fault, message) in cases {
        app.fault(endpoint, fault).await;
        let r = app
            .post(&format!("/setups/{id}/pages/step-3-1/run"), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let page = app.get(&format!("/setups/{id}/pages/step-3-1")).await.body;
        assert!(
            page.contains(message),
            "{endpoint} {fault}: expected {message:?}"
        );
        assert!(
            page.contains("Test the key with SAP again"),
            "a retry is offered"
        );
        assert!(
            page.contains("sb-clone-"),
            "{endpoint} {fault}: the saved key is still there"
        );
        app.fault(endpoint, "none").await;
    }
    // Reads are retried (bounded), writes and token requests are not.
    let before = app
        .get(&format!("/setups/{id}/calls"))
        .await
        .body
        .matches("v1/connectors")
        .count();
    app.fault("connectors", "503").await;
    app.post(&format!("/setups/{id}/pages/step-3-1/run"), &[])
        .await;
    let after = app
        .get(&format!("/setups/{id}/calls"))
        .await
        .body
        .matches("v1/connectors")
        .count();
    assert_eq!(after - before, 3, "one try and two retries");
    let tokens_before = app
        .get(&format!("/setups/{id}/calls"))
        .await
        .body
        .matches("oauth/token")
        .count();
    app.fault("xsuaa-token", "503").await;
    app.post(&format!("/setups/{id}/pages/step-3-1/run"), &[])
        .await;
    let tokens_after = app
        .get(&format!("/setups/{id}/calls"))
        .await
        .body
        .matches("oauth/token")
        .count();
    assert_eq!(
        tokens_after - tokens_before,
        1,
        "token requests are not repeated"
    );
    app.fault("xsuaa-token", "none").await;
    app.fault("connectors", "none").await;
    app.post(&format!("/setups/{id}/pages/step-3-1/run"), &[])
        .await;
    assert!(
        app.get(&format!("/setups/{id}"))
            .await
            .body
            .contains("id=\"status-step-3-1\">Completed<")
    );
}

#[tokio::test]
async fn a_host_outside_sap_is_not_called_and_the_message_names_the_flag() {
    let app = TestApp::spawn_sandbox().await;
    let demo = app.demo().await;
    let id = demo_setup(&app, &demo, &["facts"]).await;
    let key = serde_json::json!({
        "endpoints": {"inbox_rest_url": "https://tasks.example.org/task-center-service"},
        "uaa": {"clientid": "x", "clientsecret": "y-secret-value", "url": "https://login.example.org"}
    })
    .to_string();
    let r = app.save(&id, "step-3-1", &[("service_key", &key)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("does not call login.example.org")
            && r.body.contains("--allow-host login.example.org"),
        "{}",
        r.body
    );
    assert!(
        !app.get(&format!("/setups/{id}/calls"))
            .await
            .body
            .contains("login.example.org"),
        "nothing was sent"
    );
}

#[tokio::test]
async fn the_certificate_is_fetched_with_a_destination_service_key() {
    let app = TestApp::spawn_sandbox().await;
    let demo = app.demo().await;
    let id = demo_setup(&app, &demo, &["facts", "step-3-2"]).await;
    let page = app.get(&format!("/setups/{id}/pages/step-3-2")).await.body;
    let cn = format!(
        "cfapps.eu10.hana.ondemand.com/{}",
        demo["subaccount_id"].as_str().unwrap_or_default()
    );
    assert!(page.contains(&cn), "{page}");
    assert!(page.contains("Fetched the subaccount&#39;s active trust certificate"));
    assert!(
        app.get(&format!("/setups/{id}"))
            .await
            .body
            .contains("id=\"status-step-3-2\">Completed<")
    );
    let calls = app.get(&format!("/setups/{id}/calls")).await.body;
    assert!(calls.contains("GET https://destination-configuration.cfapps.eu10.hana.ondemand.com/destination-configuration/v1/saml2Metadata/certificate"));
}

async fn sandbox_destinations(app: &TestApp, token: &str) -> Vec<Value> {
    client()
        .get(app.sandbox_url("/destination-configuration/v1/subaccountDestinations"))
        .bearer_auth(token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn the_destination_is_created_then_updated_and_stays_one() {
    let app = TestApp::spawn_sandbox().await;
    let demo = app.demo().await;
    let id = demo_setup(
        &app,
        &demo,
        &[
            "facts", "step-1", "step-2", "booster", "step-3-1", "step-3-2", "step-3-3", "step-3-4",
            "step-3-5",
        ],
    )
    .await;
    let mut d = valid_answers("step-4");
    d.retain(|(k, _)| *k != "destination_name");
    // A name with a note (a copied invisible character): the note is shown
    // before anything is sent.
    d.push(("destination_name", "S4HANACloud_Production\u{200B}".into()));
    let form: Vec<(&str, &str)> = d.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.save(&id, "step-4", &form).await;
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/setups/{id}/pages/step-4?saved=1").as_str()),
        "the warning first, not straight to Create"
    );
    let warned = app
        .get(&format!("/setups/{id}/pages/step-4?saved=1"))
        .await
        .body;
    assert!(warned.contains("zero-width space"), "{warned}");
    let before = app
        .get(&format!("/setups/{id}/apply-destination"))
        .await
        .body;
    assert!(
        before.contains("Check before you create it") && before.contains("zero-width space"),
        "{before}"
    );
    d.retain(|(k, _)| *k != "destination_name");
    d.push(("destination_name", "TC_S4".into()));
    let form: Vec<(&str, &str)> = d.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.save(&id, "step-4", &form).await;
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/setups/{id}/apply-destination").as_str()),
        "check before changing BTP"
    );
    let confirm = app
        .get(&format!("/setups/{id}/apply-destination"))
        .await
        .body;
    assert!(
        confirm.contains("Confirm: create the destination in BTP")
            && confirm.contains("will be created")
            && confirm.contains("https://my404687-api.s4hana.ondemand.com")
    );
    let password = demo["comm_password"].as_str().unwrap_or_default();
    assert!(
        !confirm.contains(password),
        "the password is masked on the confirmation page"
    );

    let first = app.apply_destination(&id).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(
        first.body.contains(
            "Created the destination TC_S4 in BTP and read it back: every property is as intended."
        ),
        "{}",
        first.body
    );
    // Again: BTP has it as wanted, so nothing is written.
    let second = app.apply_destination(&id).await;
    assert!(
        second
            .body
            .contains("BTP already has the destination with exactly these properties")
            && !second.body.contains("name=\"fingerprint\""),
        "{}",
        second.body
    );

    let token = dest_token(&app, &demo).await;
    let all = sandbox_destinations(&app, &token).await;
    assert_eq!(
        all.iter().filter(|d| d["Name"] == "TC_S4").count(),
        1,
        "idempotent: one destination"
    );
    let ours = all.iter().find(|d| d["Name"] == "TC_S4").expect("created");
    assert_eq!(ours["URL"], "https://my404687-api.s4hana.ondemand.com");
    assert_eq!(ours["tc.enabled"], "true");
    assert_eq!(
        ours["tokenServicePassword"], password,
        "the real password went to BTP"
    );
    // SAP's own connection signal: with a technical token alone SAP refuses
    // (B.2); as a real user (X-user-token) it gets an S/4HANA token.
    let find = |user: Option<String>| {
        let mut rb = client()
            .get(app.sandbox_url("/destination-configuration/v1/destinations/TC_S4"))
            .bearer_auth(&token);
        if let Some(u) = user {
            rb = rb.header("X-user-token", u);
        }
        async move {
            rb.send()
                .await
                .expect("find")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let technical = find(None).await;
    assert!(
        technical["authTokens"][0]["error"]
            .as_str()
            .is_some_and(|e| e.starts_with(
                "Retrieval of OAuthToken failed due to: Cannot determine user to propagate"
            )),
        "{technical}"
    );
    let ada = user_token(&app, &demo, "ada.admin@acme.example").await;
    let as_user = find(Some(ada)).await;
    assert!(as_user["authTokens"][0]["error"].is_null(), "{as_user}");
    assert_eq!(as_user["authTokens"][0]["type"], "Bearer");
    assert!(
        app.get(&format!("/setups/{id}"))
            .await
            .body
            .contains("id=\"status-step-4\">Completed<")
    );

    // Another destination to the same S/4HANA system is flagged: duplicate tasks.
    let r = client()
        .post(app.sandbox_url("/destination-configuration/v1/subaccountDestinations"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"Name": "S4_OLD", "Type": "HTTP", "URL": "https://my404687-api.s4hana.ondemand.com", "ProxyType": "Internet", "Authentication": "BasicAuthentication", "User": "OLDUSER", "Password": "old-password"}))
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), StatusCode::CREATED);
    let third = app.apply_destination(&id).await;
    assert!(
        third
            .body
            .contains("the destination S4_OLD also points to my404687.s4hana.ondemand.com"),
        "{}",
        third.body
    );

    // A failing Destination service is explained, and nothing is lost.
    app.fault("destinations", "500").await;
    let failed = app.apply_destination(&id).await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY);
    assert!(
        failed.body.contains("SAP had an internal problem (500)")
            && failed.body.contains("Try again")
    );
    assert!(
        app.get(&format!("/setups/{id}"))
            .await
            .body
            .contains("id=\"status-step-4\">There is a problem<")
    );
}

#[tokio::test]
async fn approvers_are_looked_up_in_identity_authentication() {
    let app = TestApp::spawn_sandbox().await;
    let demo = app.demo().await;
    let id = demo_setup(&app, &demo, &["facts", "step-1", "step-2"]).await;
    let users = demo["users"].as_array().cloned().unwrap_or_default();
    let emails: Vec<String> = users
        .iter()
        .map(|u| u[0].as_str().unwrap_or_default().to_string())
        .collect();
    let list = format!("{}\nnobody@acme.example", emails.join("\n"));
    let r = app.save(&id, "step-6", &[("approvers", &list)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app.get(&format!("/setups/{id}/pages/step-6")).await.body;
    assert!(page.contains("Look up Global User IDs in Identity Authentication"));
    assert!(
        page.contains("4 approver(s) have no Global User ID yet"),
        "{page}"
    );
    let r = app
        .post(&format!("/setups/{id}/pages/step-6/run"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = app.get(&format!("/setups/{id}/pages/step-6")).await.body;
    for u in &users {
        let line = format!(
            "{}, {}",
            u[0].as_str().unwrap_or_default(),
            u[1].as_str().unwrap_or_default()
        );
        assert!(page.contains(&line), "{line} not filled in:\n{page}");
    }
    assert!(
        page.contains(
            "Found 3 of 4 approvers. Not in Identity Authentication: nobody@acme.example"
        )
    );
    // One consistent message: the warning now counts only the one left.
    assert!(
        !page.contains("4 approver(s) have no Global User ID yet")
            && page.contains("1 approver(s) have no Global User ID yet"),
        "{page}"
    );
    let calls = app.get(&format!("/setups/{id}/calls")).await.body;
    assert_eq!(
        calls.matches("/scim/Users").count(),
        4,
        "one look-up per approver"
    );
}

#[tokio::test]
async fn the_sandbox_honours_the_documented_contracts() {
    let app = TestApp::spawn_sandbox().await;
    let demo = app.demo().await;
    let c = client();
    let d = |k: &str| demo[k].as_str().unwrap_or_default().to_string();
    // Token by body and by Basic; a bad client gets 401 invalid_client.
    let body: Value = c
        .post(app.sandbox_url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &d("tc_clientid")),
            ("client_secret", &d("tc_clientsecret")),
        ])
        .send()
        .await
        .expect("t")
        .json()
        .await
        .expect("j");
    assert!(
        body["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
    );
    let basic = c
        .post(app.sandbox_url("/oauth/token"))
        .basic_auth(d("tc_clientid"), Some(d("tc_clientsecret")))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("t");
    assert_eq!(basic.status(), StatusCode::OK);
    let bad = c
        .post(app.sandbox_url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "x"),
            ("client_secret", "y"),
        ])
        .send()
        .await
        .expect("t");
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(bad.headers().get("www-authenticate").is_some());
    assert_eq!(
        bad.json::<Value>().await.expect("j")["error"],
        "invalid_client"
    );

    // The JWT verifies against /token_keys and carries the claims SAP's libraries need.
    let jwt = body["access_token"].as_str().expect("token").to_string();
    let keys: Value = c
        .get(app.sandbox_url("/token_keys"))
        .send()
        .await
        .expect("k")
        .json()
        .await
        .expect("j");
    let key = &keys["keys"][0];
    for f in ["kty", "kid", "alg", "n", "e", "use", "value"] {
        assert!(key.get(f).is_some(), "JWK lacks {f}");
    }
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: Value = serde_json::from_slice(&b64.decode(parts[0]).expect("h")).expect("h");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], key["kid"]);
    let claims: Value = serde_json::from_slice(&b64.decode(parts[1]).expect("c")).expect("c");
    assert_eq!(claims["zid"], d("subaccount_id"));
    assert_eq!(claims["cid"], d("tc_clientid"));
    assert!(claims["exp"].is_number() && claims["ext_attr"]["zdn"] == "acme-demo");
    {
        use rsa::pkcs1v15::{Signature, VerifyingKey};
        use rsa::signature::Verifier;
        let n = rsa::BigUint::from_bytes_be(&b64.decode(key["n"].as_str().expect("n")).expect("n"));
        let e = rsa::BigUint::from_bytes_be(&b64.decode(key["e"].as_str().expect("e")).expect("e"));
        let public = rsa::RsaPublicKey::new(n, e).expect("key");
        let verifier = VerifyingKey::<sha2::Sha256>::new(public);
        let sig = Signature::try_from(b64.decode(parts[2]).expect("sig").as_slice()).expect("sig");
        assert!(
            verifier
                .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
                .is_ok(),
            "signature verifies"
        );
    }

    // Destination service CRUD with SAP's status codes and error bodies.
    let dest = {
        let t: Value = c
            .post(app.sandbox_url("/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &d("dest_clientid")),
                ("client_secret", &d("dest_clientsecret")),
            ])
            .send()
            .await
            .expect("t")
            .json()
            .await
            .expect("j");
        t["access_token"].as_str().expect("t").to_string()
    };
    let base = app.sandbox_url("/destination-configuration/v1");
    let missing = c
        .get(format!("{base}/subaccountDestinations/NOPE"))
        .bearer_auth(&dest)
        .send()
        .await
        .expect("g");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json::<Value>().await.expect("j")["ErrorMessage"],
        "Configuration with the specified name was not found"
    );
    let new = serde_json::json!({"Name": "X1", "Type": "HTTP", "URL": "https://x.example", "ProxyType": "Internet", "Authentication": "NoAuthentication"});
    let created = c
        .post(format!("{base}/subaccountDestinations"))
        .bearer_auth(&dest)
        .json(&new)
        .send()
        .await
        .expect("p");
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(created.text().await.expect("t").is_empty());
    assert_eq!(
        c.post(format!("{base}/subaccountDestinations"))
            .bearer_auth(&dest)
            .json(&new)
            .send()
            .await
            .expect("p")
            .status(),
        StatusCode::CONFLICT
    );
    let put = c
        .put(format!("{base}/subaccountDestinations"))
        .bearer_auth(&dest)
        .json(&new)
        .send()
        .await
        .expect("u");
    assert_eq!(put.json::<Value>().await.expect("j")["Count"], 1);
    let absent = serde_json::json!({"Name": "X2", "Type": "HTTP", "URL": "https://x.example", "ProxyType": "Internet", "Authentication": "NoAuthentication"});
    assert_eq!(
        c.put(format!("{base}/subaccountDestinations"))
            .bearer_auth(&dest)
            .json(&absent)
            .send()
            .await
            .expect("u")
            .status(),
        StatusCode::NOT_FOUND
    );
    let inst: Value = c
        .get(format!("{base}/instanceDestinations"))
        .bearer_auth(&dest)
        .send()
        .await
        .expect("i")
        .json()
        .await
        .expect("j");
    assert_eq!(inst, serde_json::json!([]));
    let skip: Value = c
        .get(format!("{base}/destinations/X1?$skipTokenRetrieval=true"))
        .bearer_auth(&dest)
        .send()
        .await
        .expect("f")
        .json()
        .await
        .expect("j");
    assert_eq!(skip["destinationConfiguration"]["Name"], "X1");
    assert_eq!(skip["owner"]["SubaccountId"], d("subaccount_id"));
    assert!(skip.get("authTokens").is_none());
    let sample: Value = c
        .get(format!("{base}/destinations/S4HANACloud"))
        .bearer_auth(&dest)
        .send()
        .await
        .expect("f")
        .json()
        .await
        .expect("j");
    assert!(
        sample["authTokens"][0]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "the booster's sample cannot get a token: {sample}"
    );
    assert_eq!(
        c.delete(format!("{base}/subaccountDestinations/X1"))
            .bearer_auth(&dest)
            .send()
            .await
            .expect("d")
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        c.get(format!("{base}/subaccountDestinations"))
            .send()
            .await
            .expect("g")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let cert: Value = c
        .get(format!("{base}/saml2Metadata/certificate"))
        .bearer_auth(&dest)
        .send()
        .await
        .expect("c")
        .json()
        .await
        .expect("j");
    assert!(
        cert["x509PublicKeyBase64"]
            .as_str()
            .is_some_and(|p| p.starts_with("-----BEGIN CERTIFICATE-----"))
    );

    // SCIM with filter and paging; S/4HANA OData root needs a token.
    let scim = c
        .get(app.sandbox_url("/scim/Users?count=2&startIndex=2"))
        .basic_auth(d("ias_clientid"), Some(d("ias_clientsecret")))
        .send()
        .await
        .expect("s");
    assert_eq!(
        scim.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/scim+json")
    );
    let page: Value = scim.json().await.expect("j");
    let people = demo["people"].as_array().map_or(0, Vec::len);
    assert_eq!(
        page["totalResults"], people,
        "every demo person is an IAS user"
    );
    assert_eq!(page["itemsPerPage"], 2);
    assert_eq!(page["startIndex"], 2);
    let denied = c
        .get(app.sandbox_url("/scim/Users"))
        .send()
        .await
        .expect("s");
    assert_eq!(denied.json::<Value>().await.expect("j")["status"], "401");
    let odata = app.sandbox_url(
        "/sap/opu/odata4/sap/api_task_spi_replication/default/sap/api_task_spi_replication/0001/",
    );
    assert_eq!(
        c.get(&odata).send().await.expect("o").status(),
        StatusCode::UNAUTHORIZED
    );
    let s4: Value = c
        .post(app.sandbox_url("/sap/bc/sec/oauth2/token"))
        .basic_auth(d("comm_user"), Some(d("comm_password")))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("s4")
        .json()
        .await
        .expect("j");
    let t = s4["access_token"].as_str().expect("s4 token");
    assert_eq!(
        c.get(&odata)
            .bearer_auth(t)
            .send()
            .await
            .expect("o")
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn no_secret_used_with_sap_reaches_the_database_file_or_the_log() {
    let dir = temp_dir();
    let db = dir.path().join("sap.db");
    let envs: Vec<(&str, &std::ffi::OsStr)> = vec![
        ("WIZARD_LISTEN", "127.0.0.1:0".as_ref()),
        ("WIZARD_DATABASE", db.as_os_str()),
        ("WIZARD_SANDBOX_LISTEN", "127.0.0.1:0".as_ref()),
        ("RUST_LOG", "debug".as_ref()),
    ];
    let mut bin = start_binary(&["serve", "--sandbox"], &envs).await;
    let mut app = TestApp::attach(format!("http://{}", bin.addr), temp_dir());
    let link = bin.bootstrap_link.clone().expect("bootstrap");
    let r = app
        .post(
            link.trim_start_matches(&app.base),
            &[
                ("name", "admin"),
                ("password", ADMIN_PASSWORD),
                ("confirm", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    app.sandbox = Some(sandbox_of(&bin));
    let demo = app.demo().await;
    let id = demo_setup(
        &app,
        &demo,
        &[
            "facts", "step-1", "step-2", "booster", "step-3-1", "step-3-2", "step-3-3", "step-3-4",
            "step-3-5", "step-4",
        ],
    )
    .await;
    let applied = app.apply_destination(&id).await;
    assert!(
        applied.body.contains("the destination S4HANACloud"),
        "{}",
        applied.body
    );
    // A customer user's token, used by Verify, must not leak either.
    sign_in_customer(&app, &id, &demo, "ada.admin@acme.example").await;
    let verified = app.post(&format!("/setups/{id}/verify"), &[]).await;
    assert!(
        verified
            .body
            .contains("obtained an S/4HANA token for this user"),
        "{}",
        verified.body
    );
    // A wrong key too: the rejected secret must not leak either.
    let wrong = demo_task_center_key(&demo, "rejected-secret-7c1d9e");
    app.save(&id, "step-3-1", &[("service_key", &wrong)]).await;
    let r = app
        .save(&id, "step-6", &[("approvers", "anna.berg@acme.example")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    app.post(&format!("/setups/{id}/pages/step-6/run"), &[])
        .await;
    bin.child.kill().await.expect("stop");

    let d = |k: &str| demo[k].as_str().unwrap_or_default().to_string();
    let secrets = [
        d("tc_clientsecret"),
        d("dest_clientsecret"),
        d("ias_clientsecret"),
        d("comm_password"),
        "rejected-secret-7c1d9e".into(),
        ADMIN_PASSWORD.into(),
    ];
    let mut raw = std::fs::read(&db).expect("db");
    raw.extend(std::fs::read(db.with_extension("db-wal")).unwrap_or_default());
    let log = bin.log.lock().expect("log").join("\n");
    assert!(log.contains("SAP call"), "the calls were logged");
    // No JWT at all (the customer user's token, the technical tokens).
    const JWT_HEADER: &str = "eyJhbGciOiJSUzI1NiIs";
    assert!(
        !contains_bytes(&raw, JWT_HEADER),
        "a token is in the database file"
    );
    assert!(!log.contains(JWT_HEADER), "a token is in the log");
    for s in &secrets {
        assert!(!s.is_empty());
        assert!(!contains_bytes(&raw, s), "a secret is in the database file");
        assert!(!log.contains(s.as_str()), "a secret is in the log");
    }
}

/// Issue 21: the demo landscape is the same after a restart — the trust
/// certificate (and its key) come from the fixed seed like every demo value,
/// so the demo S/4HANA still holds the subaccount's certificate.
#[tokio::test]
async fn the_demo_trust_certificate_is_the_same_after_a_restart() {
    let mut pems = Vec::new();
    for _ in 0..2 {
        let dir = temp_dir();
        let db = dir.path().join("restart.db");
        let envs: Vec<(&str, &std::ffi::OsStr)> = vec![
            ("WIZARD_LISTEN", "127.0.0.1:0".as_ref()),
            ("WIZARD_DATABASE", db.as_os_str()),
            ("WIZARD_SANDBOX_LISTEN", "127.0.0.1:0".as_ref()),
        ];
        let mut bin = start_binary(&["serve", "--sandbox"], &envs).await;
        let sandbox = sandbox_of(&bin);
        let pem = client()
            .get(format!("{sandbox}/_sandbox/trust.pem"))
            .send()
            .await
            .expect("trust.pem")
            .text()
            .await
            .expect("text");
        assert!(pem.contains("BEGIN CERTIFICATE"), "{pem}");
        let demo = get_json(format!("{sandbox}/_sandbox/demo.json")).await;
        pems.push((pem, demo["subaccount_id"].clone()));
        bin.child.kill().await.expect("stop");
    }
    assert_eq!(pems[0].1, pems[1].1);
    assert_eq!(pems[0].0, pems[1].0, "the same certificate after a restart");
}

/// Issue 21: a Task Center key with credential type x509 is accepted; its
/// token comes from `certurl` over a real mutual-TLS handshake with the
/// sandbox, the certificate and key are kept encrypted and never shown, and
/// a customer user signs in through it. A foreign certificate is refused.
#[tokio::test]
async fn an_x509_service_key_signs_in_with_its_client_certificate() {
    let app = TestApp::spawn_sandbox().await;
    let demo = app.demo().await;
    let id = demo_setup(&app, &demo, &["facts", "step-1", "step-2", "booster"]).await;
    let key = demo["task_center_x509_key"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(key.contains("\"credential-type\": \"x509\""), "{key}");
    let r = app.save(&id, "step-3-1", &[("service_key", &key)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", title_of(&r.body));
    let page = app.get(&format!("/setups/{id}/pages/step-3-1")).await.body;
    assert!(page.contains("The key works: SAP issued a token"), "{page}");
    assert!(
        page.contains("signs in with a client certificate (X.509"),
        "{page}"
    );
    let private_key: serde_json::Value = serde_json::from_str(&key).expect("json");
    let pem = private_key["uaa"]["key"].as_str().unwrap_or("-");
    let body_line = pem.lines().nth(1).unwrap_or("-");
    assert!(!page.contains(body_line), "the private key is never shown");
    let calls = app.get(&format!("/setups/{id}/calls")).await.body;
    assert!(
        calls.contains("acme-demo.authentication.cert.eu10.hana.ondemand.com/oauth/token"),
        "{calls}"
    );
    // Encrypted at rest: neither the private key nor the certificate is in
    // the database file in clear.
    let cert_line = private_key["uaa"]["certificate"]
        .as_str()
        .unwrap_or("-")
        .lines()
        .nth(1)
        .unwrap_or("-")
        .to_string();
    for f in ["wizard.db", "wizard.db-wal"] {
        let bytes = std::fs::read(app.dir.path().join(f)).unwrap_or_default();
        assert!(
            !contains_bytes(&bytes, body_line) && !contains_bytes(&bytes, &cert_line),
            "{f}"
        );
    }

    // The rest of the setup, then Verify: the token check and a customer
    // user's sign-in (authorization code redeemed at certurl) both work.
    for page in ["step-3-2", "step-3-3", "step-3-4", "step-3-5", "step-4"] {
        let r = complete_demo_page(&app, &demo, &id, page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
    }
    let r = app.apply_destination(&id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    sign_in_customer(&app, &id, &demo, "ada.admin@acme.example").await;
    let v = app.post(&format!("/setups/{id}/verify"), &[]).await.body;
    assert!(
        v.contains("SAP issued a token for the service key&#39;s client certificate (mutual TLS"),
        "{v}"
    );
    assert!(v.contains("obtained an S/4HANA token for this user"), "{v}");

    // Another certificate (not the binding's, not signed by SAP's CA): the
    // handshake refuses it and the page says what it means.
    let other = rcgen::generate_simple_self_signed(vec!["x".to_string()]).expect("cert");
    let mut forged = private_key.clone();
    forged["uaa"]["certificate"] = other.cert.pem().into();
    forged["uaa"]["key"] = other.signing_key.serialize_pem().into();
    let r = app
        .save(&id, "step-3-1", &[("service_key", &forged.to_string())])
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "refused at the field, nothing saved"
    );
    assert!(
        r.body
            .contains("refused the certificate in the TLS handshake"),
        "{}",
        r.body
    );
    let page = app.get(&format!("/setups/{id}/pages/step-3-1")).await.body;
    assert!(
        page.contains("Signs in with a client certificate (X.509) at"),
        "the saved key stays"
    );
}

/// Issue 20, section N rule 2: a Task Center destination for this S/4HANA
/// system that exists under another name (a formation, an earlier setup) is
/// never joined by a second one; the plan says to adopt its name instead.
#[tokio::test]
async fn a_second_task_center_destination_for_one_system_is_never_created() {
    let app = TestApp::spawn_sandbox().await;
    let demo = app.demo().await;
    let id = demo_setup(
        &app,
        &demo,
        &[
            "facts", "step-1", "step-2", "booster", "step-3-1", "step-3-2", "step-3-3", "step-3-4",
            "step-3-5",
        ],
    )
    .await;
    let token = dest_token(&app, &demo).await;
    let base = app.sandbox_url("/destination-configuration/v1/subaccountDestinations");
    let r = client()
        .post(&base)
        .bearer_auth(&token)
        .json(&serde_json::json!({"Name": "S4_FORMATION", "Type": "HTTP", "URL": "https://my404687-api.s4hana.ondemand.com",
            "ProxyType": "Internet", "Authentication": "NoAuthentication", "tc.enabled": "true", "tc.provider_type": "S/4HANACloud"}))
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = complete_demo_page(&app, &demo, &id, "step-4").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let plan = app
        .get(&format!("/setups/{id}/apply-destination"))
        .await
        .body;
    assert!(
        plan.contains(
            "a Task Center destination for this S/4HANA system exists already: S4_FORMATION"
        ) && !plan.contains("name=\"fingerprint\""),
        "{plan}"
    );
    let r = app
        .post(
            &format!("/setups/{id}/apply-destination/apply"),
            &[("fingerprint", "any")],
        )
        .await;
    assert_ne!(r.status, StatusCode::OK);
    let d = client()
        .get(format!("{base}/S4HANACloud"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    let body: serde_json::Value = d.json().await.unwrap_or_default();
    assert_ne!(
        body["URL"], "https://my404687-api.s4hana.ondemand.com",
        "nothing written"
    );
}

/// Issue 20, O.3: the push channel's key with credential type x509 made
/// through Service Manager — refused on an instance from before May 2022,
/// then made with a certificate `certurl` accepts; S/4HANA's mTLS outbound
/// user is left to the consultant with SAP's steps.
#[tokio::test]
async fn an_x509_push_key_is_made_through_service_manager_and_its_outbound_user_left_to_s4_by_hand()
{
    let app = TestApp::spawn_sandbox().await;
    let demo = app.demo().await;
    let id = demo_setup(&app, &demo, &["facts", "step-1", "step-2", "booster"]).await;
    let tc_key = demo_task_center_key(&demo, demo["tc_clientsecret"].as_str().unwrap_or(""));
    let r = app
        .save(
            &id,
            "step-3-1",
            &[
                ("service_key", &tc_key),
                ("sm_key", &service_manager_key(&demo, false)),
                ("push_credential", "x509"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", title_of(&r.body));
    let settings = |form: &'static [(&'static str, &'static str)]| {
        let url = app.sandbox_url("/_sandbox/settings");
        async move {
            let r = client()
                .post(url)
                .form(form)
                .send()
                .await
                .expect("settings");
            assert!(r.status().is_success());
        }
    };
    // An instance as SAP made them before May 2022: x509 is refused.
    settings(&[("sm_old_instances", "true"), ("sm_delay_ms", "20")]).await;
    app.allow_task_center_through_service_manager().await;
    let p = app.post(&format!("/setups/{id}/push-key/plan"), &[]).await;
    assert!(
        p.body.contains("tc-push-key-x509") && p.body.contains("credential type x509"),
        "{}",
        p.body
    );
    let refused = app
        .post(
            &format!("/setups/{id}/push-key/apply"),
            &[("fingerprint", &fingerprint(&p.body))],
        )
        .await;
    assert!(
        refused
            .body
            .contains("credential type x509 is not enabled for this instance"),
        "{}",
        refused.body
    );
    settings(&[("sm_old_instances", "false")]).await;
    app.allow_task_center_through_service_manager().await;
    let p = app.post(&format!("/setups/{id}/push-key/plan"), &[]).await;
    assert!(
        p.body.contains("Service instance tc-push: already right"),
        "adopted: {}",
        p.body
    );
    let done = app
        .post(
            &format!("/setups/{id}/push-key/apply"),
            &[("fingerprint", &fingerprint(&p.body))],
        )
        .await;
    assert!(
        done.body
            .contains("is saved on step 3.1 as the push channel")
            && done.body.contains("set up by hand"),
        "{}",
        done.body
    );
    // The key SAP made: a client certificate, no secret; certurl takes it.
    let list = service_manager_list(
        &app,
        &demo,
        "/v1/service_bindings?fieldQuery=name%20eq%20%27tc-push-key-x509%27",
    )
    .await;
    let key = &list["items"][0]["credentials"];
    assert_eq!(key["uaa"]["credential-type"], "x509", "{list}");
    assert!(key["uaa"]["clientsecret"].is_null());
    let r = app
        .save(&id, "step-3-1", &[("service_key", &key.to_string())])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", title_of(&r.body));
    let page = app.get(&format!("/setups/{id}/pages/step-3-1")).await.body;
    assert!(page.contains("The key works: SAP issued a token"), "{page}");
    // S/4HANA's plan names the mTLS outbound user as left for the consultant.
    let r = client()
        .post(app.sandbox_url("/_sandbox/s4"))
        .form(&[("empty", "true")])
        .send()
        .await
        .expect("s4");
    assert!(r.status().is_success());
    let r = complete_demo_page(&app, &demo, &id, "step-3-2").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let ok = save_s4_api_user(&app, &demo, &id).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let plan = app
        .post(&format!("/setups/{id}/s4-setup/plan"), &[])
        .await
        .body;
    assert!(
        plan.contains("Outbound user (push, mTLS)")
            && plan.contains("left for you: SAP has confirmed no API mapping")
            && plan.contains("outbound.p12"),
        "{plan}"
    );
    // outbound.p12: the chain, then the key, for the owner after their password.
    let form = app.get(&format!("/setups/{id}/outbound.p12")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let wrong = app
        .post(
            &format!("/setups/{id}/outbound.p12"),
            &[("password", "not mine")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.body.contains("Your password is not right"),
        "{}",
        wrong.body
    );
    let got = app
        .post(
            &format!("/setups/{id}/outbound.p12"),
            &[("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    let chain = key["uaa"]["certificate"].as_str().unwrap_or("-");
    let private = key["uaa"]["key"].as_str().unwrap_or("-");
    assert!(
        got.body.starts_with(chain.trim_end()) && got.body.contains(private.trim_end()),
        "{}",
        &got.body[..got.body.len().min(200)]
    );
    let history = app.get(&format!("/setups/{id}/history")).await.body;
    assert!(history.contains("outbound.p12"), "{history}");
}

/// Issue 20, J.4 5 [U]: where Task Center takes its instances only in a
/// Cloud Foundry space, Service Manager's refusal is explained with the way
/// that works, and nothing is half made.
#[tokio::test]
async fn a_task_center_that_refuses_service_manager_instances_is_explained() {
    let app = TestApp::spawn_sandbox().await;
    let demo = app.demo().await;
    let id = demo_setup(&app, &demo, &["facts", "step-1", "step-2", "booster"]).await;
    let tc_key = demo_task_center_key(&demo, demo["tc_clientsecret"].as_str().unwrap_or(""));
    let r = app
        .save(
            &id,
            "step-3-1",
            &[
                ("service_key", &tc_key),
                ("sm_key", &service_manager_key(&demo, false)),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", title_of(&r.body));
    let r = client()
        .post(app.sandbox_url("/_sandbox/settings"))
        .form(&[("sm_tc_other_env_refused", "true")])
        .send()
        .await
        .expect("settings");
    assert!(r.status().is_success());
    let p = app.post(&format!("/setups/{id}/push-key/plan"), &[]).await;
    let r = app
        .post(
            &format!("/setups/{id}/push-key/apply"),
            &[("fingerprint", &fingerprint(&p.body))],
        )
        .await;
    assert!(
        r.body.contains("not supported on platform service-manager")
            && r.body.contains("only in a Cloud Foundry space"),
        "{}",
        r.body
    );
    let page = app.get(&format!("/setups/{id}/pages/step-3-1")).await.body;
    assert!(!page.contains("tc-push-key"), "no key was filled in");
}
