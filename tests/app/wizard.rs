//! The wizard end to end (issue 2): walk, validation, resume, conflicts,
//! derived values, check-your-answers, error pages, CLI.

use reqwest::StatusCode;

use crate::support::*;

#[tokio::test]
async fn full_walk_through_every_page_completes_the_setup() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("ACME Germany").await;
    let list = app.get(&format!("/setups/{id}")).await;
    assert!(
        list.body.contains("Cannot start yet"),
        "later steps wait for the facts"
    );

    for (i, page) in PAGES.iter().enumerate() {
        let r = complete_page(&app, &id, page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
        let to = r.location.unwrap_or_default();
        // Continue goes to the next page (or shows the page again when there are notes).
        let next = PAGES.get(i + 1).copied().unwrap_or("check");
        assert!(
            to.ends_with(&format!("/pages/{next}"))
                || to.contains(&format!("/pages/{page}?saved=1")),
            "{page} -> {to}"
        );
    }
    let tasks = app.get(&format!("/setups/{id}")).await;
    for page in PAGES {
        let marker = format!("id=\"status-{page}\">Completed<");
        assert!(
            tasks.body.contains(&marker),
            "{page} not completed:\n{}",
            tasks.body
        );
    }
    let check = app.get(&format!("/setups/{id}/pages/check")).await;
    assert_eq!(check.status, StatusCode::OK);
    assert!(title_of(&check.body).starts_with("Step 13 of 13 — Check your answers — ACME Germany"));
    // Derived values are shown: API host, destination URL, masked password, certificate CN.
    assert!(check.body.contains("my404687-api.s4hana.ondemand.com"));
    assert!(check.body.contains(&sap_cn(SUBACCOUNT)));
    assert!(
        check.body.contains("••••••••s8Nd"),
        "password masked to its last 4"
    );
    assert!(!check.body.contains(PASSWORD) && !check.body.contains(CLIENT_SECRET));
    // The destination once: what step 4 asks is not repeated as a property.
    for prop in [
        "Name",
        "authnContextClassRef",
        "tc.ui.label",
        "tc.inbox.pull.days",
        "tc.notifications.enabled",
    ] {
        assert!(
            !check.body.contains(&format!("<dt>{prop}</dt>")),
            "{prop} twice"
        );
    }
    assert!(
        check.body.contains("<dt>tokenServiceURL</dt>"),
        "derived properties stay"
    );

    let done = app.post(&format!("/setups/{id}/pages/check"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    // What next: where it stands, nothing open, the dates to keep.
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/setups/{id}/next").as_str())
    );
    let next = app.get(&format!("/setups/{id}/next")).await.body;
    for fragment in [
        "What next",
        ">Completed</strong> (13 of 13 steps).",
        "No step is open",
        "The trust certificate expires on",
        "Verify the setup</a>",
    ] {
        assert!(next.contains(fragment), "{fragment}: {next}");
    }
    let report = app.get(&format!("/setups/{id}/report")).await.body;
    let (summary_at, detail_at) = (
        report.find("id=\"summary\"").expect("a summary"),
        report.find("<h2>Confirmations</h2>").expect("details"),
    );
    assert!(summary_at < detail_at, "the summary comes first");
    let md = app.get(&format!("/setups/{id}/report.md")).await.body;
    assert!(
        md.contains("## Summary") && md.contains("Dates and rotation"),
        "{md}"
    );
    let tasks = app.get(&format!("/setups/{id}")).await;
    assert!(
        tasks.body.contains("id=\"status-check\">Completed<"),
        "{}",
        tasks.body
    );
    assert!(tasks.body.contains("completed 13 of 13"));
    let home = app.get("/").await;
    assert!(
        home.body.contains("ACME Germany") && home.body.contains("my404687.s4hana.ondemand.com")
    );
    assert!(home.body.contains("13 of 13 done"));
}

#[tokio::test]
async fn check_answers_cannot_be_confirmed_while_pages_are_open() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Early").await;
    walk_to(&app, &id, "facts").await;
    let r = app.post(&format!("/setups/{id}/pages/check"), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Complete these sections first"));
    // A page whose prerequisites are missing is not offered.
    let blocked = app.get(&format!("/setups/{id}/pages/step-3-5")).await;
    assert_eq!(blocked.status, StatusCode::SEE_OTHER);
}

/// Submit `page` with its valid answers, one field replaced by `bad`.
async fn submit_with(app: &TestApp, id: &str, page: &str, field: &str, bad: &str) -> Page {
    let mut answers = valid_answers(page);
    answers.retain(|(k, _)| *k != field);
    answers.push((leak(field), bad.to_string()));
    let form: Vec<(&str, &str)> = answers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.save(id, page, &form).await
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn assert_rejected(p: &Page, field: &str, fragment: &str) {
    assert_eq!(
        p.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{field}: {}",
        p.body
    );
    assert!(
        title_of(&p.body).starts_with("Error: "),
        "{field}: title {}",
        title_of(&p.body)
    );
    assert!(
        p.body.contains("There is a problem"),
        "{field}: no error summary"
    );
    assert!(
        p.body.contains(&format!("href=\"#f-{field}\"")),
        "{field}: summary does not link to the field"
    );
    assert!(
        p.body.contains(&format!("id=\"f-{field}-error\"")),
        "{field}: no inline message"
    );
    assert!(
        p.body.contains(fragment),
        "{field}: expected {fragment:?} in\n{}",
        p.body
    );
}

#[tokio::test]
async fn every_text_rule_is_rejected_with_its_message_and_keeps_typing() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Rules").await;
    walk_to(&app, &id, "step-6").await;
    let mtls = r#"{"endpoints":{"inbox_rest_url":"https://x.hana.ondemand.com/task-center-service"},"uaa":{"clientid":"a","certificate":"-----BEGIN CERTIFICATE-----","key":"k","url":"https://acme-tc.authentication.eu10.hana.ondemand.com"}}"#;
    let cases: Vec<(&str, &str, String, &str)> = vec![
        ("facts", "s4_host", "https://sample_url.com".into(), "is not an S/4HANA Cloud host"),
        ("facts", "s4_host", "xy12.s4hana.ondemand.com".into(), "the first part must be"),
        ("facts", "s4_client", "1000".into(), "Enter the client as 3 digits"),
        ("facts", "region", "europe".into(), "Enter the region as it appears"),
        ("step-1", "subdomain", "acme_tc".into(), "lowercase letters, digits and hyphens"),
        ("step-1", "subaccount_id", "7739e1a2".into(), "as a UUID"),
        ("step-2", "ias_host", "acme.example.com".into(), "is not an Identity Authentication tenant"),
        ("booster", "plan", "premium".into(), "Select one of the listed answers"),
        ("step-3-1", "service_key", "client secret: abc".into(), "there is no { in it"),
        ("step-3-1", "service_key", "{\"uaa\": {".into(), "ends too early: it looks cut off"),
        ("step-3-1", "service_key", service_key("acme-tc", "eu10", SUBACCOUNT).replace("\"clientsecret\"", "\"secret\""), "missing uaa.clientsecret"),
        ("step-3-1", "service_key", service_key("other-sub", "eu10", SUBACCOUNT), "belongs to subaccount subdomain"),
        ("step-3-1", "service_key", service_key("acme-tc", "us10", SUBACCOUNT), "issued in region us10"),
        ("step-3-1", "service_key", mtls.into(), "missing uaa.certurl"),
        ("step-3-3", "comm_user", "TASK CENTER".into(), "can only use letters, digits"),
        ("step-3-3", "comm_password", "short".into(), "at least 8 characters"),
        ("step-3-5", "token_service_url", "https://my404687.s4hana.ondemand.com/sap/bc/sec/oauth2/token".into(), "needs the API host with -api"),
        ("step-3-5", "token_service_url", "https://my111111-api.s4hana.ondemand.com/sap/bc/sec/oauth2/token".into(), "points to tenant 111111"),
        ("step-3-5", "token_service_url", "https://my404687-api.s4hana.ondemand.com/oauth/token".into(), "must end in /sap/bc/sec/oauth2/token"),
        ("step-3-5", "token_service_url", "my404687-api.s4hana.ondemand.com/sap/bc/sec/oauth2/token".into(), "must start with https://"),
        ("step-3-5", "saml2_audience", "https://my404687-api.s4hana.ondemand.com".into(), "needs the host without -api"),
        ("step-3-5", "saml2_audience", "https://my404687.s4hana.ondemand.com/sap".into(), "without a path"),
        ("step-3-5", "replication_url", "https://my404687-api.s4hana.ondemand.com/sap/opu/odata4/sap/api_task_spi_replication/default/sap/api_task_spi_replication/0001/?sap-client=200".into(), "names sap-client=200"),
        ("step-4", "destination_name", "S4 HANA".into(), "can only use letters, digits, _ and -"),
        ("step-4", "destination_name", "A".repeat(65), "at most 64"),
        ("step-4", "pull_days", "365".into(), "from 0 to 180"),
        ("step-5", "site_url", "ftp://acme.example/site".into(), "must start with https://"),
        ("step-5", "site_url", "https://acme-site".into(), "Site Directory &#62; your site &#62; Go to Site, then the browser&#39;s address (usually https://acme-tc.launchpad.cfapps.eu10.hana.ondemand.com/site/"),
        ("step-6", "approvers", "anna.berg@acme.example, {d1a6b3c2-0000-4000-8000-000000000001}".into(), "in braces"),
        ("step-6", "approvers", "anna.berg@acme.example\nnobody".into(), "Line 2: \u{22}nobody\u{22}"),
    ];
    for (page, field, bad, fragment) in &cases {
        let p = submit_with(&app, &id, page, field, bad).await;
        let fragment = fragment.replace('"', "&#34;");
        assert_rejected(&p, field, &fragment);
        // What the consultant typed is still in the form (secrets excepted).
        if [
            "s4_host",
            "s4_client",
            "region",
            "subdomain",
            "destination_name",
            "token_service_url",
        ]
        .contains(field)
        {
            assert_eq!(
                input_value(&p.body, &format!("f-{field}")).as_deref(),
                Some(bad.as_str()),
                "{field} not kept"
            );
        }
        if *field == "comm_password" || *field == "service_key" {
            assert!(
                !p.body.contains(bad.as_str()) || bad.len() < 8,
                "a secret was echoed back"
            );
        }
    }
    // Nothing already saved was lost by the failed submits.
    let facts = app.get(&format!("/setups/{id}/pages/facts")).await;
    assert_eq!(
        input_value(&facts.body, "f-s4_host").as_deref(),
        Some("my404687.s4hana.ondemand.com")
    );
    let key = app.get(&format!("/setups/{id}/pages/step-3-1")).await;
    assert!(
        key.body
            .contains("sb-clone-5c1f!b1234|one-inbox-service!b456")
    );
    let tasks = app.get(&format!("/setups/{id}")).await;
    for page in PAGES {
        assert!(
            tasks
                .body
                .contains(&format!("id=\"status-{page}\">Completed<")),
            "{page} lost its answers"
        );
    }
}

async fn post_certificate(app: &TestApp, id: &str, bytes: Vec<u8>, file_name: &str) -> Page {
    let path = format!("/setups/{id}/pages/step-3-2");
    let shown = app.get(&path).await;
    let form = reqwest::multipart::Form::new()
        .text("_version", version_of(&shown.body))
        .part(
            "certificate",
            reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()),
        );
    app.post_multipart(&path, form).await
}

#[tokio::test]
async fn certificate_uploads_are_checked() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Certificates").await;
    walk_to(&app, &id, "step-1").await;
    let other = "0a0b0c0d-0000-4000-8000-00000000abcd";
    let (expired, _) = trust_certificate(&sap_cn(SUBACCOUNT), -1);
    let (wrong_sub, _) = trust_certificate(&sap_cn(other), 700);
    let (wrong_cn, _) = trust_certificate("acme.example.com", 700);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"<?xml version=\"1.0\"?><md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>".to_vec(), "SAML metadata (XML)"),
        (b"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n".to_vec(), "holds a private key"),
        (b"just some notes".to_vec(), "not a certificate"),
        (vec![0x00, 0x01, 0xff, 0xfe], "not a readable X.509 certificate"),
        (expired.into_bytes(), "The certificate expired on"),
        (wrong_sub.into_bytes(), "belongs to subaccount 0a0b0c0d"),
        (wrong_cn.into_bytes(), "not the cfapps.&#60;region&#62;/&#60;subaccount ID&#62; form"),
        (b"".to_vec(), "Upload the trust certificate, or paste a Destination service key"),
        (format!("{}{}", trust_certificate(&sap_cn(SUBACCOUNT), 700).0, trust_certificate(&sap_cn(SUBACCOUNT), 700).0).into_bytes(), "holds 2 certificates (a chain)"),
    ];
    for (bytes, fragment) in cases {
        let p = post_certificate(&app, &id, bytes, "upload.pem").await;
        assert_rejected(&p, "certificate", fragment);
    }
    // DER is accepted, and the page shows what S/4HANA needs.
    let (_, der) = trust_certificate(&sap_cn(SUBACCOUNT), 45);
    let ok = post_certificate(&app, &id, der, "trust.cer").await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert!(
        ok.location.as_deref().unwrap_or("").contains("?saved=1"),
        "expiry warning shown"
    );
    let page = app.get(ok.location.as_deref().unwrap_or("")).await;
    assert!(
        page.body.contains("expires in 44 days") || page.body.contains("expires in 45 days"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&sap_cn(SUBACCOUNT)));
    assert!(page.body.contains("SHA-256 fingerprint"));
}

#[tokio::test]
async fn pasted_secrets_are_never_echoed_and_pasted_hosts_are_explained() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Pasted").await;
    let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-secret-marker\n-----END PRIVATE KEY-----\n";
    let mut facts = valid_answers("facts");
    facts.retain(|(k, _)| *k != "s4_host");
    facts.push(("s4_host", key.to_string()));
    let r = save_ticking_all(&app, &id, "facts", &facts).await;
    assert_rejected(&r, "s4_host", "looks like a private key or a client secret");
    assert!(!r.body.contains("secret-marker"), "not echoed: {}", r.body);
    // Pasted as the certificate's text: refused, and not shown again.
    walk_to(&app, &id, "facts").await;
    let shown = app.get(&format!("/setups/{id}/pages/step-3-2")).await;
    let r = app
        .post(
            &format!("/setups/{id}/pages/step-3-2"),
            &[
                ("_version", &version_of(&shown.body)),
                ("_action", "continue"),
                ("certificate_text", key),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(!r.body.contains("secret-marker"), "not echoed: {}", r.body);
    // A host with a port: :443 is dropped with a word, another port explained.
    let mut facts = valid_answers("facts");
    facts.retain(|(k, _)| *k != "s4_host");
    facts.push(("s4_host", "my404687.s4hana.ondemand.com:8443".into()));
    let r = save_ticking_all(&app, &id, "facts", &facts).await;
    assert_rejected(&r, "s4_host", "has the port :8443");
    let mut facts = valid_answers("facts");
    facts.retain(|(k, _)| *k != "s4_host");
    facts.push((
        "s4_host",
        "https://my404687.s4hana.ondemand.com:443/ui".into(),
    ));
    let r = save_ticking_all(&app, &id, "facts", &facts).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app.get(r.location.as_deref().unwrap_or("")).await.body;
    assert!(
        page.contains("the standard https port; it is left out"),
        "{page}"
    );
}

#[tokio::test]
async fn resume_after_restart_on_the_same_file() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Resume Ltd").await;
    walk_to(&app, &id, "step-3-3").await;
    // Step 3.4 only half done: one confirmation ticked, saved for later.
    let shown = app.get(&format!("/setups/{id}/pages/step-3-4")).await;
    let first = checkbox_values(&shown.body, "step34_confirm").remove(0);
    let later = app
        .post(
            &format!("/setups/{id}/pages/step-3-4"),
            &[
                ("_version", "0"),
                ("_action", "later"),
                ("comm_system_id", "BTP_TASK_CENTER"),
                ("step34_confirm", &first),
            ],
        )
        .await;
    assert_eq!(later.status, StatusCode::SEE_OTHER);
    assert_eq!(
        later.location.as_deref(),
        Some(format!("/setups/{id}").as_str())
    );
    let before = app.get(&format!("/setups/{id}")).await.body;

    let app = app.restart().await;
    let after = app.get(&format!("/setups/{id}")).await.body;
    assert_eq!(before, after, "the task list is the same after a restart");
    assert!(after.contains("id=\"status-step-3-4\">In progress<"));
    let page = app.get(&format!("/setups/{id}/pages/step-3-4")).await.body;
    assert_eq!(
        input_value(&page, "f-comm_system_id").as_deref(),
        Some("BTP_TASK_CENTER")
    );
    assert!(
        page.contains(&format!("value=\"{first}\" checked")),
        "the ticked confirmation is kept"
    );
    let user = app.get(&format!("/setups/{id}/pages/step-3-3")).await.body;
    assert!(
        user.contains("••••••••s8Nd") && !user.contains(PASSWORD),
        "password masked after restart"
    );

    // Secrets are encrypted at rest: the raw database bytes never hold them.
    let mut raw = std::fs::read(app.db_path()).expect("db");
    raw.extend(std::fs::read(app.db_path().with_extension("db-wal")).unwrap_or_default());
    for secret in [PASSWORD, CLIENT_SECRET] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} found in the database file"
        );
    }
}

#[tokio::test]
async fn two_tabs_saving_the_same_page_never_overwrite_silently() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Two tabs").await;
    walk_to(&app, &id, "facts").await;
    let path = format!("/setups/{id}/pages/facts");
    let tab_a = version_of(&app.get(&path).await.body);
    let tab_b = version_of(&app.get(&path).await.body);
    assert_eq!(tab_a, tab_b);
    let mut answers = valid_answers("facts");
    let with = |answers: &mut Vec<(&'static str, String)>, client: &str| {
        answers.retain(|(k, _)| *k != "s4_client");
        answers.push(("s4_client", client.to_string()));
        answers
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect::<Vec<_>>()
    };
    let b_form = with(&mut answers, "200");
    let mut b: Vec<(&str, &str)> = vec![("_version", &tab_b)];
    b.extend(b_form.iter().map(|(k, v)| (*k, v.as_str())));
    assert_eq!(app.post(&path, &b).await.status, StatusCode::SEE_OTHER);

    let a_form = with(&mut answers, "300");
    let mut a: Vec<(&str, &str)> = vec![("_version", &tab_a)];
    a.extend(a_form.iter().map(|(k, v)| (*k, v.as_str())));
    let conflict = app.post(&path, &a).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT, "{}", conflict.body);
    assert!(conflict.body.contains("Someone else saved this page"));
    assert!(
        conflict
            .body
            .contains("<td class=\"pre\">200</td><td class=\"pre\">300</td>"),
        "{}",
        conflict.body
    );
    assert_eq!(
        input_value(&conflict.body, "f-s4_client").as_deref(),
        Some("300"),
        "tab A's typing is kept"
    );
    // Nothing was overwritten.
    assert_eq!(
        input_value(&app.get(&path).await.body, "f-s4_client").as_deref(),
        Some("200")
    );
    // Tab A decides to save its answer: the form now carries the current version.
    let newer = version_of(&conflict.body);
    let mut again: Vec<(&str, &str)> = vec![("_version", &newer)];
    again.extend(a_form.iter().map(|(k, v)| (*k, v.as_str())));
    assert_eq!(app.post(&path, &again).await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        input_value(&app.get(&path).await.body, "f-s4_client").as_deref(),
        Some("300")
    );
}

#[tokio::test]
async fn derived_values_follow_their_source_and_mark_pages_for_review() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Derived").await;
    walk_to(&app, &id, "step-3-4").await;
    let p = app.get(&format!("/setups/{id}/pages/step-3-5")).await.body;
    assert_eq!(
        input_value(&p, "f-token_service_url").as_deref(),
        Some("https://my404687-api.s4hana.ondemand.com/sap/bc/sec/oauth2/token")
    );
    assert_eq!(
        input_value(&p, "f-saml2_audience").as_deref(),
        Some("https://my404687.s4hana.ondemand.com")
    );
    assert_eq!(
        input_value(&p, "f-client_id").as_deref(),
        Some("TASKCENTERCOM"),
        "client ID pre-filled from the communication user"
    );
    assert!(p.contains("Pre-filled from your earlier answers"));

    // Change the S/4HANA host: pre-filled values follow it.
    let mut facts = valid_answers("facts");
    facts.retain(|(k, _)| *k != "s4_host");
    facts.push(("s4_host", "my555555.s4hana.cloud.sap".into()));
    let form: Vec<(&str, &str)> = facts.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        app.save(&id, "facts", &form).await.status,
        StatusCode::SEE_OTHER
    );
    let p = app.get(&format!("/setups/{id}/pages/step-3-5")).await.body;
    assert_eq!(
        input_value(&p, "f-token_service_url").as_deref(),
        Some("https://my555555-api.s4hana.cloud.sap/sap/bc/sec/oauth2/token")
    );
    let guide = app.get(&format!("/setups/{id}/pages/step-3-4")).await.body;
    assert!(
        guide.contains("<code>my555555.s4hana.cloud.sap</code>"),
        "guide shows the new host"
    );
    let tasks = app.get(&format!("/setups/{id}")).await.body;
    assert!(
        tasks.contains("id=\"status-step-3-4\">Needs review<"),
        "{tasks}"
    );

    // Save 3.5 and 4 for the new host, then change the client: both need review.
    let mut s35 = vec![
        ("arrangement_name", "TASK_CENTER_0501".to_string()),
        ("client_id", "TASKCENTERCOM".into()),
        (
            "token_service_url",
            "https://my555555-api.s4hana.cloud.sap/sap/bc/sec/oauth2/token".into(),
        ),
        ("saml2_audience", "https://my555555.s4hana.cloud.sap".into()),
    ];
    let shown = app.get(&format!("/setups/{id}/pages/step-3-5")).await.body;
    for v in checkbox_values(&shown, "step35_confirm") {
        s35.push(("step35_confirm", v));
    }
    let form: Vec<(&str, &str)> = s35.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.save(&id, "step-3-5", &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        complete_page(&app, &id, "step-3-1").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        complete_page(&app, &id, "step-4").await.status,
        StatusCode::SEE_OTHER
    );
    let dest = app.get(&format!("/setups/{id}/pages/step-4")).await.body;
    assert!(
        dest.contains("https://my555555-api.s4hana.cloud.sap"),
        "destination URL derived from the host"
    );
    assert!(
        dest.contains("<dd class=\"pre\">100</dd>"),
        "sap-client derived"
    );

    facts.retain(|(k, _)| *k != "s4_client");
    facts.push(("s4_client", "200".into()));
    let form: Vec<(&str, &str)> = facts.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        app.save(&id, "facts", &form).await.status,
        StatusCode::SEE_OTHER
    );
    let tasks = app.get(&format!("/setups/{id}")).await.body;
    assert!(
        tasks.contains("id=\"status-step-3-5\">Needs review<"),
        "{tasks}"
    );
    assert!(
        tasks.contains("id=\"status-step-4\">Needs review<"),
        "{tasks}"
    );
    assert!(
        tasks.contains("id=\"status-step-3-3\">Completed<"),
        "pages that do not depend on it stay completed"
    );
    let dest = app.get(&format!("/setups/{id}/pages/step-4")).await.body;
    assert!(
        dest.contains("<dd class=\"pre\">200</dd>"),
        "sap-client follows the fact"
    );
}

#[tokio::test]
async fn check_your_answers_change_links_return_to_it() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Check").await;
    walk_to(&app, &id, "step-6").await;
    let check = app.get(&format!("/setups/{id}/pages/check")).await.body;
    // Relative to the check page, the link opens facts in the same setup.
    assert!(
        check.contains("href=\"facts?return=check#f-s4_client\""),
        "{check}"
    );
    let here = url::Url::parse(&format!("{}/setups/{id}/pages/check", app.base)).expect("url");
    let link = here.join("facts?return=check#f-s4_client").expect("join");
    assert_eq!(link.path(), format!("/setups/{id}/pages/facts"));
    let page = app
        .get(&format!("/setups/{id}/pages/facts?return=check"))
        .await
        .body;
    assert!(
        page.contains(&format!(
            "class=\"back-link\" href=\"/setups/{id}/pages/check\""
        )),
        "back goes to check"
    );
    let v = version_of(&page);
    let mut form: Vec<(&str, &str)> = vec![("_version", &v)];
    let answers = valid_answers("facts");
    form.extend(answers.iter().map(|(k, v)| (*k, v.as_str())));
    let r = app
        .post(&format!("/setups/{id}/pages/facts?return=check"), &form)
        .await;
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/setups/{id}/pages/check").as_str())
    );
    // The list of answers holds each page's values.
    assert!(
        check.contains("TASKCENTERCOM")
            && check.contains("6 of 6 confirmed")
            && check.contains("anna.berg@acme.example")
    );
}

#[tokio::test]
async fn question_pages_follow_the_page_rules() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Rules of pages").await;
    walk_to(&app, &id, "step-3-3").await;
    let p = app.get(&format!("/setups/{id}/pages/step-3-1")).await;
    assert_eq!(
        p.headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let header = |name: &str| {
        p.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let csp = header("content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "same-origin");
    assert!(!p.body.contains("<script>"), "no inline script");
    let css = app.get("/static/app.css").await;
    assert_eq!(
        css.headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("public, max-age=3600"),
        "static files keep their own caching"
    );
    assert!(
        title_of(&p.body).starts_with("Step 5 of 13 — Task Center service key — Rules of pages")
    );
    assert_eq!(p.body.matches("<h1").count(), 1);
    assert!(p.body.contains(&format!(
        "class=\"back-link\" href=\"/setups/{id}/pages/booster\""
    )));
    assert!(p.body.contains("Save and continue"));
    assert!(p.body.len() < 30 * 1024, "page is {} bytes", p.body.len());
    let step33 = app.get(&format!("/setups/{id}/pages/step-3-3")).await.body;
    assert!(step33.contains("Description (optional)"));
    assert!(step33.contains("type=\"password\""));
    // Secrets never come back in the form.
    assert!(!step33.contains(PASSWORD));
    // Leaving the password blank keeps the saved one.
    let r = app
        .save(
            &id,
            "step-3-3",
            &[("comm_user", "TASKCENTERCOM"), ("comm_password", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        app.get(&format!("/setups/{id}/pages/step-3-3"))
            .await
            .body
            .contains("••••••••s8Nd")
    );
    // A destination name of 22 characters is fine since 2025-06-19 (64 at
    // most): saved without a note, and the hint says 64.
    walk_to(&app, &id, "step-3-5").await;
    let mut d = valid_answers("step-4");
    d.retain(|(k, _)| *k != "destination_name");
    d.push(("destination_name", "S4HANACloud_Production".into()));
    let form: Vec<(&str, &str)> = d.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.save(&id, "step-4", &form).await;
    assert!(
        !r.location
            .as_deref()
            .unwrap_or("")
            .ends_with("/pages/step-4?saved=1"),
        "{:?}",
        r.location
    );
    let shown = app.get(&format!("/setups/{id}/pages/step-4")).await.body;
    assert!(shown.contains("Up to 64 letters") && !shown.contains("over 16 characters"));
}

#[tokio::test]
async fn errors_get_pages_not_blanks() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    for path in ["/setups/nope", "/setups/nope/pages/facts", "/no/such/page"] {
        let p = app.get(path).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}");
        assert!(p.body.contains("<h1>Page not found</h1>"), "{path}");
    }
    let id = app.create_setup("Errors").await;
    assert_eq!(
        app.get(&format!("/setups/{id}/pages/step-9")).await.status,
        StatusCode::NOT_FOUND
    );
    // A 3 MB paste is answered at its field, with the other values kept.
    let huge = "x".repeat(3 * 1024 * 1024);
    let p = app
        .post(
            &format!("/setups/{id}/pages/facts"),
            &[
                ("_version", "0"),
                ("s4_host", &huge),
                ("s4_client", "100"),
                ("region", "eu10"),
            ],
        )
        .await;
    assert_eq!(
        p.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        title_of(&p.body)
    );
    assert!(
        p.body.contains("it is 3.0 MB") || p.body.contains("is 3.0 MB"),
        "{}",
        &p.body[..p.body.len().min(3000)]
    );
    assert!(p.body.contains("the other values on this page were kept"));
    assert!(
        p.body.contains("value=\"eu10\"") && p.body.contains("value=\"100\""),
        "typed values kept"
    );
    assert!(p.body.len() < 200 * 1024, "the paste is not sent back");
    // Beyond what the server reads at all: the 413 page.
    let past = "x".repeat(33 * 1024 * 1024);
    let p = app
        .post(
            &format!("/setups/{id}/pages/facts"),
            &[("_version", "0"), ("s4_host", &past)],
        )
        .await;
    assert_eq!(p.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(p.body.contains("What you sent is too large"));
    let big_file = reqwest::multipart::Form::new().text("_version", "0").part(
        "certificate",
        reqwest::multipart::Part::bytes(vec![b'A'; 3 * 1024 * 1024]).file_name("big.pem"),
    );
    walk_to(&app, &id, "facts").await;
    let p = app
        .post_multipart(&format!("/setups/{id}/pages/step-3-2"), big_file)
        .await;
    assert_eq!(
        p.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        title_of(&p.body)
    );
    assert!(
        p.body
            .contains("This is not the Trust certificate: what was sent here is 3.0 MB"),
        "{}",
        &p.body[..p.body.len().min(3000)]
    );
    // The failed submits lost nothing.
    assert!(
        app.get(&format!("/setups/{id}"))
            .await
            .body
            .contains("id=\"status-facts\">Completed<")
    );
    let p = app.post("/setups", &[("name", "   ")]).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        p.body.contains("Enter the customer or setup name")
            && title_of(&p.body).starts_with("Error: ")
    );
}

#[tokio::test]
async fn setups_are_listed_renamed_archived_and_restored() {
    let app = TestApp::spawn().await;
    let a = app.create_setup("Alpha AG").await;
    let b = app.create_setup("Beta GmbH").await;
    walk_to(&app, &b, "facts").await;
    let home = app.get("/").await.body;
    assert!(home.contains("Alpha AG") && home.contains("Beta GmbH"));
    assert!(home.contains("1 of 13 done") && home.contains("0 of 13 done"));
    let r = app
        .post(
            &format!("/setups/{a}/rename"),
            &[("name", "Alpha Holding AG")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = app
        .post(&format!("/setups/{a}/rename"), &[("name", "")])
        .await;
    assert!(r.body.contains("Enter the customer or setup name"));
    assert_eq!(
        app.post(&format!("/setups/{a}/archive"), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let home = app.get("/").await.body;
    assert!(!home.contains("Alpha Holding AG") && home.contains("Archived setups (1)"));
    let archived = app.get("/?view=archived").await.body;
    assert!(archived.contains("Alpha Holding AG"));
    assert_eq!(
        app.post(&format!("/setups/{a}/restore"), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(app.get("/").await.body.contains("Alpha Holding AG"));
}

#[tokio::test]
async fn the_binary_reads_its_flags_from_the_environment() {
    let bin = env!("CARGO_BIN_EXE_taskcenter-wizard");
    let help = std::process::Command::new(bin)
        .arg("--help")
        .output()
        .expect("run --help");
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--listen",
        "--database",
        "--key-file",
        "--secret-key",
        "WIZARD_LISTEN",
        "WIZARD_DATABASE",
        "serve",
    ] {
        assert!(
            text.contains(flag),
            "--help does not explain {flag}:\n{text}"
        );
    }
    let dir = temp_dir();
    let db = dir.path().join("env.db");
    let mut child = tokio::process::Command::new(bin)
        .env("WIZARD_LISTEN", "127.0.0.1:0")
        .env("WIZARD_DATABASE", &db)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("ready at http://").nth(1) {
                return rest.split_whitespace().next().map(str::to_string);
            }
        }
        None
    })
    .await
    .expect("server start in time")
    .expect("address in the log");
    let health = client()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    assert!(db.exists(), "database created on start");
    let key = dir.path().join("env.db.key");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key).expect("key file").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "key file is private");
    child.kill().await.expect("kill");
}

#[tokio::test]
async fn the_sandbox_page_is_styled_copyable_and_opens_in_a_new_tab() {
    let app = TestApp::spawn().await;
    let list = app.get("/").await.body;
    assert!(
        list.contains("target=\"_blank\" rel=\"noopener\">Sandbox"),
        "{list}"
    );
    let page = client()
        .get(app.sandbox_url("/"))
        .send()
        .await
        .expect("demo page");
    let body = page.text().await.expect("text");
    let css = client()
        .get(app.sandbox_url("/static/app.css"))
        .send()
        .await
        .expect("css");
    assert_eq!(css.status(), StatusCode::OK, "the wizard's stylesheet");
    assert!(body.contains("href=\"/static/app.css\""));
    let demo = app.demo().await;
    for k in ["s4_host", "subaccount_id", "comm_password"] {
        let v = demo[k].as_str().unwrap_or("-");
        assert!(
            body.contains(&format!("class=\"copy\" data-copy=\"{v}\"")),
            "copy button for {k}"
        );
    }
    assert!(body.matches("class=\"copy\"").count() >= 10);
}

/// SAP makes the trust with IAS a prerequisite of the booster, and retired
/// the standard plan; each fact is asked where the consultant has it: the
/// subaccount's subdomain and ID once it exists (step 1), the IAS tenant at
/// the trust (2.1), the plan at the booster (2.2), which waits for the trust
/// (issue 11).
#[tokio::test]
async fn trust_comes_before_the_booster_and_each_fact_is_asked_where_it_is_known() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Order").await;
    let field = |body: &str, key: &str| body.contains(&format!("name=\"{key}\""));
    let facts = app.get(&format!("/setups/{id}/pages/facts")).await.body;
    for key in ["s4_host", "s4_client", "region"] {
        assert!(
            field(&facts, key),
            "{key} is known before anything is set up"
        );
    }
    for key in ["subdomain", "subaccount_id", "ias_host", "plan"] {
        assert!(!field(&facts, key), "{key} is not asked before step 1");
    }
    let tasks = app.get(&format!("/setups/{id}")).await.body;
    let at = |what: &str| {
        tasks
            .find(what)
            .unwrap_or_else(|| panic!("{what} in the task list"))
    };
    assert!(at("BTP subaccount") < at("Trust with Identity Authentication"));
    assert!(at("Trust with Identity Authentication") < at("Task Center booster"));
    assert!(tasks.contains("id=\"status-booster\">Cannot start yet<"));
    // The booster waits for the trust: opening it goes back to the list.
    let early = app.get(&format!("/setups/{id}/pages/booster")).await;
    assert_eq!(early.status, StatusCode::SEE_OTHER);

    complete_page(&app, &id, "facts").await;
    let step1 = app.get(&format!("/setups/{id}/pages/step-1")).await.body;
    assert!(field(&step1, "subdomain") && field(&step1, "subaccount_id"));
    assert!(!field(&step1, "plan"), "the plan belongs to the booster");
    assert!(step1.contains("Do not run the Task Center booster yet"));
    complete_page(&app, &id, "step-1").await;
    let step2 = app.get(&format!("/setups/{id}/pages/step-2")).await.body;
    assert!(field(&step2, "ias_host"));
    assert!(title_of(&step2).starts_with("Step 3 of 13 — Trust with Identity Authentication"));
    assert!(step2.contains("prerequisite of the Task Center booster"));
    assert!(
        checkbox_values(&step2, "step2_confirm").contains(&"subject_uuid".to_string()),
        "failure mode 19 is confirmed at the trust"
    );
    complete_page(&app, &id, "step-2").await;
    let booster = app.get(&format!("/setups/{id}/pages/booster")).await.body;
    assert!(field(&booster, "plan"));
    assert!(booster.contains("standard was retired on 2025-11-15"));
    assert!(
        booster.contains("https://acme.accounts.ondemand.com/scim"),
        "the IDS destination's URL from the tenant of step 2.1"
    );
}

/// Issue 21, where the walk stumbled: the small texts, and the automated
/// paths shown on the task list and at the top of their pages.
#[tokio::test]
async fn the_task_list_says_how_each_step_is_done_and_the_texts_read_right() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Walk").await;
    let tasks = app.get(&format!("/setups/{id}")).await.body;
    assert_eq!(
        tasks.matches(">Hand over<").count(),
        1,
        "one heading of that name"
    );
    let how = |page: &str| {
        let at = tasks.find(&format!("id=\"status-{page}\"")).unwrap_or(0);
        let item = &tasks[tasks[..at].rfind("<li").unwrap_or(0)..at];
        between(item, "<span class=\"task-list__how\">", "</span>")
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        how("step-3-3"),
        "The wizard can do this through SAP&#39;s API"
    );
    assert_eq!(
        how("step-6"),
        "The wizard can do this through SAP&#39;s API"
    );
    assert_eq!(how("step-5"), "Done by hand (the page guides you)");
    assert_eq!(how("facts"), "");
    walk_to(&app, &id, "step-5").await;
    let step1 = app.get(&format!("/setups/{id}/pages/step-1")).await.body;
    assert!(step1.contains("into the fields below") && !step1.contains("fields above"));
    // The automated path first, and step 6's look-up above "Save and continue".
    let mut step2: Vec<(&str, String)> = valid_answers("step-2");
    step2.push(("ias_client_secret", "ias-secret-for-the-look-up".into()));
    save_ticking_all(&app, &id, "step-2", &step2).await;
    app.save(&id, "step-6", &[("approvers", "anna@acme.com")])
        .await;
    let step6 = app.get(&format!("/setups/{id}/pages/step-6")).await.body;
    let panel = step6.find("The wizard can do this for you").expect("panel");
    let look_up = step6
        .find("Look up Global User IDs in Identity Authentication")
        .expect("look-up");
    let save = step6.find("Save and continue").expect("save");
    assert!(
        panel < step6.find("name=\"approvers\"").unwrap_or(0) && look_up < save,
        "{step6}"
    );
    assert!(step6.contains("form=\"sap-action\"") && step6.contains("id=\"sap-action\""));
}
