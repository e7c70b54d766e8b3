//! A customer's landscape (issue 23): three systems on one subaccount, the
//! second and third connected with only their host and role typed; the
//! checks that only show across them; existing setups upgraded into
//! customers of their own.

use reqwest::StatusCode;

use crate::support::*;

/// A customer with two systems on a new app with the sandbox: (app, demo,
/// first, customer, quality).
async fn two_systems() -> (TestApp, serde_json::Value, String, String, String) {
    let app = TestApp::spawn().await;
    let (demo, first, customer, quality) = two_systems_on(&app).await;
    (app, demo, first, customer, quality)
}

#[tokio::test]
async fn three_systems_on_one_subaccount_are_connected_once_and_checked_together() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let first = demo_setup(
        &app,
        &demo,
        &[
            "facts", "step-1", "step-2", "booster", "step-3-1", "step-3-2",
        ],
    )
    .await;
    let customer = customer_of(&app, &first).await;
    assert!(!customer.is_empty(), "the task list links its customer");
    let page = app.get(&format!("/customers/{customer}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Connect the next system"),
        "{}",
        page.body
    );

    // The role is asked: it names the system's destination.
    let r = app
        .post(
            &format!("/customers/{customer}/next-system"),
            &[
                ("from", first.as_str()),
                ("s4_host", "my404688.s4hana.ondemand.com"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("Choose which system of the landscape it is"),
        "{}",
        r.body
    );
    let r = app
        .post(
            &format!("/customers/{customer}/next-system"),
            &[
                ("from", first.as_str()),
                ("s4_host", "not a host"),
                ("system_role", "quality"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("value=\"not a host\""),
        "what was typed stays"
    );

    let quality = connect_next_system(
        &app,
        &customer,
        &first,
        "my404688.s4hana.ondemand.com",
        "quality",
    )
    .await;
    let production = connect_next_system(
        &app,
        &customer,
        &quality,
        "https://my404689.s4hana.ondemand.com/ui#Shell-home",
        "production",
    )
    .await;
    // The BTP and IAS facts and keys came along: those steps are done.
    let tasks = app.get(&format!("/setups/{production}")).await.body;
    for page in [
        "facts", "step-1", "step-2", "booster", "step-3-1", "step-3-2",
    ] {
        assert!(
            tasks.contains(&format!("id=\"status-{page}\">Completed")),
            "{page} came along, nothing to review: {tasks}"
        );
    }
    assert!(
        tasks.contains("id=\"status-step-3-3\">Not started"),
        "the S/4HANA half is its own"
    );
    let facts = app
        .get(&format!("/setups/{production}/pages/facts"))
        .await
        .body;
    assert!(facts.contains("my404689.s4hana.ondemand.com"), "{facts}");
    let step31 = app
        .get(&format!("/setups/{production}/pages/step-3-1"))
        .await
        .body;
    assert!(
        step31.contains(demo["tc_clientid"].as_str().unwrap_or("-")),
        "the Task Center key is the subaccount's"
    );
    // Its role is on its first page: step 4 names its destination after it
    // (S4HANACloud_PRD, "SAP S/4HANA Cloud Task (production)").
    assert!(facts.contains("value=\"production\" checked"), "{facts}");
    for page in ["step-3-3", "step-3-4", "step-3-5"] {
        // The production system's own host, not the demo's.
        let answers: Vec<(&'static str, String)> = demo_answers(&demo, page)
            .into_iter()
            .map(|(k, v)| (k, v.replace("404687", "404689")))
            .collect();
        let r = save_ticking_all(&app, &production, page, &answers).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
    }
    let step4 = app
        .get(&format!("/setups/{production}/pages/step-4"))
        .await
        .body;
    assert_eq!(
        input_value(&step4, "f-destination_name").as_deref(),
        Some("S4HANACloud_PRD"),
        "{step4}"
    );
    assert!(
        step4.contains("SAP S/4HANA Cloud Task (production)"),
        "{step4}"
    );
    let page = app.get(&format!("/customers/{customer}")).await.body;
    assert_eq!(page.matches("<td><a href=\"/setups/").count(), 3, "{page}");
    assert!(!page.contains("Failure mode 9"), "{page}");
    // The picture: one subaccount, one IAS tenant, three systems.
    let svg = between(&page, "<svg role=\"img\"", "</svg>").unwrap_or("");
    assert_eq!(svg.matches("landscape__node--system").count(), 3, "{svg}");
    assert_eq!(
        svg.matches("landscape__node--subaccount").count(),
        1,
        "{svg}"
    );
    assert_eq!(svg.matches("landscape__node--ias").count(), 1, "{svg}");
    assert_eq!(
        svg.matches("<line ").count(),
        4,
        "three destinations, one trust: {svg}"
    );
    assert!(
        page.contains("to S/4HANA system my404689.s4hana.ondemand.com (ACME Demo — Production)"),
        "the picture in words"
    );
    let report = app.get(&format!("/setups/{first}/report")).await.body;
    assert!(
        report.contains("The customer's landscape") && report.contains("landscape__node--system"),
        "{report}"
    );
    let md = app.get(&format!("/setups/{first}/report.md")).await.body;
    assert!(
        md.contains("## The customer's landscape") && md.contains("my404688.s4hana.ondemand.com"),
        "{md}"
    );

    // A fourth setup for the quality system's host: named for both.
    let twice = connect_next_system(
        &app,
        &customer,
        &production,
        "my404688.s4hana.ondemand.com",
        "development",
    )
    .await;
    let page = app.get(&format!("/customers/{customer}")).await.body;
    assert!(
        page.contains("Failure mode 9")
            && page
                .matches("for the same S/4HANA system my404688.s4hana.ondemand.com")
                .count()
                == 2,
        "{page}"
    );
    let r = app.post(&format!("/setups/{twice}/archive"), &[]).await;
    assert!(r.status.is_redirection(), "{}", r.body);
    let page = app.get(&format!("/customers/{customer}")).await.body;
    assert!(
        !page.contains("Failure mode 9"),
        "archived, it is no system of the landscape"
    );

    // The trust certificate renewed and fetched for the first system only:
    // the other two are named.
    let token = dest_token(&app, &demo).await;
    let renewed = client()
        .post(app.sandbox_url("/destination-configuration/v1/saml2Metadata/certificate"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("renew");
    assert!(renewed.status().is_success());
    let r = app
        .post(&format!("/setups/{first}/pages/step-3-2/run"), &[])
        .await;
    assert!(r.status.is_redirection(), "{}", r.body);
    let page = app.get(&format!("/customers/{customer}")).await.body;
    assert!(
        page.contains("reached ACME Demo, but ACME Demo — Quality, ACME Demo — Production still hold an older one"),
        "{page}"
    );
    assert!(
        page.contains("landscape__link landscape__link--fail"),
        "the stale systems' links turn red"
    );
    // Verify says it too, for the system concerned.
    let v = app
        .post(&format!("/setups/{quality}/verify"), &[])
        .await
        .body;
    assert!(
        v.contains("Every system of the subaccount holds its current trust certificate"),
        "{v}"
    );
    assert!(v.contains("still hold an older one"), "{v}");

    // Production with another IAS tenant in the same subaccount: flagged.
    change_ias_later(&app, &demo, &production, "acme-prod.accounts.ondemand.com").await;
    let page = app.get(&format!("/customers/{customer}")).await.body;
    assert!(
        page.contains("uses the same Task Center subaccount with another IAS tenant (acme-prod.accounts.ondemand.com)"),
        "{page}"
    );
    // The test tenant's UUIDs typed into production: named for production.
    let approvers = demo_answers(&demo, "step-6");
    for id in [&first, &production] {
        let r = save_ticking_all(&app, id, "step-6", &approvers).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let v = app
        .post(&format!("/setups/{production}/verify"), &[])
        .await
        .body;
    assert!(
        v.contains("Global User IDs come from the IAS tenant the subaccount trusts")
            && v.contains("The same UUID on systems that trust different IAS tenants: anna.berg@acme.example (d1a6b3c2-0000-4000-8000-000000000001, also on ACME Demo, which trusts"),
        "{v}"
    );
}

/// Setups stored before customers existed each become a customer of their
/// own on upgrade, their answers untouched.
#[tokio::test]
async fn existing_setups_become_customers_of_their_own_on_upgrade() {
    let mut app = TestApp::spawn().await;
    let a = app.create_setup("Globex").await;
    let b = app.create_setup("Initech").await;
    let r = app
        .save(
            &a,
            "facts",
            &valid_answers("facts")
                .iter()
                .map(|(k, v)| (*k, v.as_str()))
                .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let before = app.get(&format!("/setups/{a}/pages/facts")).await.body;
    let host = input_value(&before, "f-s4_host").unwrap_or_default();
    assert!(!host.is_empty());
    let db = app.db_path();
    app.stop().await;
    as_before_customers(&format!("sqlite://{}", db.display()), false).await;
    let app = app.restart().await;
    for (id, name) in [(&a, "Globex"), (&b, "Initech")] {
        let customer = customer_of(&app, id).await;
        let page = app.get(&format!("/customers/{customer}")).await;
        assert_eq!(page.status, StatusCode::OK, "{name}");
        assert!(
            page.body.contains(&format!("<h1>{name}</h1>")),
            "{}",
            page.body
        );
        assert_eq!(page.body.matches("<td><a href=\"/setups/").count(), 1);
    }
    let facts = app.get(&format!("/setups/{a}/pages/facts")).await.body;
    assert_eq!(
        input_value(&facts, "f-s4_host"),
        Some(host),
        "no answer lost"
    );
}

/// Sharing the customer shares each of its systems; a system connected
/// later is shared with the same people; a stranger sees nothing of it.
#[tokio::test]
async fn sharing_the_customer_shares_all_its_systems() {
    let (app, _, first, customer, second) = two_systems().await;
    let bea = app.user("bea").await;
    let stranger = app.user("carl").await;
    let r = app
        .post(
            &format!("/customers/{customer}/share"),
            &[("name", "nobody"), ("role", "viewer")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("There is no user called"), "{}", r.body);
    let r = app
        .post(
            &format!("/customers/{customer}/share"),
            &[("name", "bea"), ("role", "editor")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for id in [&first, &second] {
        assert_eq!(
            app.get_as(&bea, &format!("/setups/{id}")).await.status,
            StatusCode::OK
        );
        assert_eq!(
            app.get_as(&stranger, &format!("/setups/{id}")).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let list = app.get_as(&bea, "/").await.body;
    assert!(
        list.contains(&format!("/setups/{first}")) && list.contains(&format!("/setups/{second}"))
    );
    assert_eq!(
        app.get_as(&stranger, &format!("/customers/{customer}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Bea connects the production system: the owner keeps seeing it.
    let page = app
        .get_as(&bea, &format!("/customers/{customer}"))
        .await
        .body;
    assert!(page.contains("Connect the next system"), "{page}");
    let r = app
        .post_as(
            &bea,
            &format!("/customers/{customer}/next-system"),
            &[
                ("from", second.as_str()),
                ("s4_host", "my404689.s4hana.ondemand.com"),
                ("system_role", "production"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let third = r.location.unwrap_or_default();
    assert_eq!(app.get_as(&bea, &third).await.status, StatusCode::OK);
    let page = app.get(&format!("/customers/{customer}")).await.body;
    assert_eq!(page.matches("<td><a href=\"/setups/").count(), 3);
    assert!(page.contains("bea (editor)"), "{page}");
    assert!(
        page.contains("admin (editor)"),
        "the first system's owner is a member of the one Bea connected: {page}"
    );
}

/// A whole customer exported as one file and imported again: its systems
/// come back as one customer; an older single-setup export still imports.
#[tokio::test]
async fn a_whole_customer_is_exported_and_imported_as_one() {
    let (app, demo, first, customer, _) = two_systems().await;
    let file = app
        .post(&format!("/customers/{customer}/export"), &[])
        .await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.body);
    let json: serde_json::Value = serde_json::from_str(&file.body).expect("json");
    assert_eq!(json["format"], "taskcenter-wizard/customer/1");
    assert_eq!(json["setups"].as_array().map_or(0, Vec::len), 2);
    assert!(
        !file
            .body
            .contains(demo["ias_clientsecret"].as_str().unwrap_or("-")),
        "no secret in the file"
    );
    let import = |bytes: Vec<u8>| {
        let app = &app;
        async move {
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("acme-customer.json"),
            );
            app.post_multipart("/import", form).await
        }
    };
    let r = import(file.body.clone().into_bytes()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let at = r.location.unwrap_or_default();
    assert!(
        at.starts_with("/customers/") && at != format!("/customers/{customer}"),
        "{at}"
    );
    let page = app.get(&at).await.body;
    assert!(page.contains("<h1>ACME Demo (imported)</h1>"), "{page}");
    assert_eq!(page.matches("<td><a href=\"/setups/").count(), 2, "{page}");
    assert!(page.contains("my404688.s4hana.ondemand.com"));
    // One broken system: nothing of the customer is imported.
    let mut broken = json.clone();
    broken["setups"][1]["pages"]["nonsense"] = serde_json::json!({"data": {}, "basis": ""});
    let before = app.get("/").await.body;
    let r = import(broken.to_string().into_bytes()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("this wizard does not know"), "{}", r.body);
    let listed = |page: &str| page.matches("href=\"/setups/").count();
    assert!(listed(&before) >= 3, "{before}");
    assert_eq!(
        listed(&app.get("/").await.body),
        listed(&before),
        "all or nothing"
    );
    // A single setup's export still imports as a customer of its own.
    let one = app.post(&format!("/setups/{first}/export"), &[]).await;
    assert_eq!(one.status, StatusCode::OK);
    let r = import(one.body.into_bytes()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location.unwrap_or_default().starts_with("/setups/"));
}

/// A shared fact changed on one system shows as "Needs review" on the
/// others of its subaccount, and is taken over with one confirmation.
#[tokio::test]
async fn a_shared_page_changed_on_one_system_needs_review_on_the_others() {
    let (app, demo, first, customer, quality) = two_systems().await;
    let page = app.get(&format!("/customers/{customer}")).await.body;
    assert!(!page.contains("Needs review"), "fresh copies agree: {page}");
    // Seen (and kept) before the other system changes.
    let tasks = app.get(&format!("/setups/{first}")).await.body;
    assert!(tasks.contains("id=\"status-step-2\">Completed"), "{tasks}");
    change_ias_later(&app, &demo, &quality, "acme-new.accounts.ondemand.com").await;
    let page = app.get(&format!("/customers/{customer}")).await.body;
    assert!(
        page.contains("Needs review: Trust with Identity Authentication was changed on ACME Demo — Quality by admin"),
        "{page}"
    );
    assert_eq!(
        page.matches(&format!("action=\"/customers/{customer}/take-over\""))
            .count(),
        1,
        "one take-over, for the first system: {page}"
    );
    // The first system's own task list says it too, though none of its
    // answers changed.
    let tasks = app.get(&format!("/setups/{first}")).await.body;
    assert!(
        tasks.contains("id=\"status-step-2\">Needs review")
            && tasks.contains("Its answers were changed on ACME Demo — Quality by admin"),
        "{tasks}"
    );
    let tasks = app.get(&format!("/setups/{quality}")).await.body;
    assert!(
        tasks.contains("id=\"status-step-2\">Completed"),
        "the newer copy is not itself to review: {tasks}"
    );
    let v = app.post(&format!("/setups/{first}/verify"), &[]).await.body;
    assert!(
        v.contains("The subaccount&#39;s pages agree across its systems"),
        "{v}"
    );
    let r = app
        .post(
            &format!("/customers/{customer}/take-over"),
            &[
                ("to", first.as_str()),
                ("from", quality.as_str()),
                ("page", "step-2"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let step2 = app.get(&format!("/setups/{first}/pages/step-2")).await.body;
    assert_eq!(
        input_value(&step2, "f-ias_host").as_deref(),
        Some("acme-new.accounts.ondemand.com")
    );
    let page = app.get(&format!("/customers/{customer}")).await.body;
    assert!(!page.contains("Needs review"), "{page}");
    assert!(!page.contains("another IAS tenant"), "{page}");
    let tasks = app.get(&format!("/setups/{first}")).await.body;
    assert!(tasks.contains("id=\"status-step-2\">Completed"), "{tasks}");
}
