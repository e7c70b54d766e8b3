//! The same store on PostgreSQL (the server `.ci/run` starts), and two
//! instances on one database serving the same users.

use reqwest::StatusCode;

use crate::support::*;

#[tokio::test]
async fn the_store_works_on_postgresql_as_on_sqlite() {
    let url = postgres_database().await;
    crate::scale::cache_and_list(std::path::Path::new(&url)).await;
}

#[tokio::test]
async fn the_wizard_serves_its_list_from_postgresql() {
    let url = postgres_database().await;
    let app = TestApp::spawn_postgres(&url).await;
    crate::scale::list_over_http(&app).await;
}

#[tokio::test]
async fn two_instances_on_one_postgresql_serve_the_same_users() {
    let url = postgres_database().await;
    let a = TestApp::spawn_postgres(&url).await;
    let (b, bootstrap) = a.another_instance(&url).await;
    assert!(
        bootstrap.is_none(),
        "exactly one instance offers the bootstrap link"
    );
    // The admin's session from A is good on B.
    let list = b.get("/").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);

    // A save on one is seen by the other on the next request.
    let id = a.create_setup("ACME Two").await;
    let facts = |host: &'static str| {
        vec![
            ("s4_host", host),
            ("s4_client", "100"),
            ("region", "eu10"),
            ("subdomain", "acme"),
            ("subaccount_id", "3b9d7c1e-0b5c-4f7a-9a51-0c1d2e3f4a5b"),
            ("ias_host", "acme.accounts.ondemand.com"),
        ]
    };
    let page = format!("/setups/{id}/pages/facts");
    assert!(b.get(&page).await.body.contains("value=\"\""), "B loads it");
    let r = a
        .save(&id, "facts", &facts("my111111.s4hana.ondemand.com"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        b.get(&page)
            .await
            .body
            .contains("my111111.s4hana.ondemand.com")
    );
    let r = b
        .save(&id, "facts", &facts("my222222.s4hana.ondemand.com"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        a.get(&page)
            .await
            .body
            .contains("my222222.s4hana.ondemand.com")
    );

    // The conflict check holds across instances: a form loaded on A, saved
    // on B meanwhile, is not written over on A.
    let shown = a.get(&page).await;
    let version = version_of(&shown.body);
    let r = b
        .save(&id, "facts", &facts("my333333.s4hana.ondemand.com"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let mut form = vec![("_version", version.as_str()), ("_action", "continue")];
    form.extend(facts("my444444.s4hana.ondemand.com"));
    let stale = a.post(&page, &form).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert!(
        b.get(&page)
            .await
            .body
            .contains("my333333.s4hana.ondemand.com")
    );

    // A removed member loses access at once on both.
    let bob = a.user("bob").await;
    let r = a
        .post(
            &format!("/setups/{id}/members"),
            &[("name", "bob"), ("role", "editor")],
        )
        .await;
    assert!(
        r.status.is_success() || r.status == StatusCode::SEE_OTHER,
        "{}",
        r.body
    );
    assert_eq!(b.get_as(&bob, &page).await.status, StatusCode::OK);
    let r = a
        .post(&format!("/setups/{id}/members/bob/remove"), &[])
        .await;
    assert!(
        r.status.is_success() || r.status == StatusCode::SEE_OTHER,
        "{}",
        r.body
    );
    assert_eq!(a.get_as(&bob, &page).await.status, StatusCode::NOT_FOUND);
    assert_eq!(b.get_as(&bob, &page).await.status, StatusCode::NOT_FOUND);

    // Signed out on A is signed out on B.
    assert_eq!(b.get_as(&bob, "/").await.status, StatusCode::OK);
    let r = a.post_as(&bob, "/logout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let after = b.get_as(&bob, "/").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "back to sign-in on B");
}

#[tokio::test]
async fn postgresql_without_a_shared_key_is_refused_clearly() {
    let url = postgres_database().await;
    let mut args = taskcenter_wizard::config::ServeArgs::for_database(url.into());
    args.store.secret_key = None;
    let err = match taskcenter_wizard::start(&args).await {
        Ok(_) => panic!("started without a key"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("give every instance the same master key"),
        "{err}"
    );
    assert!(!err.contains("tcw_"), "the URL is not echoed: {err}");
}

#[tokio::test]
async fn on_cloud_foundry_the_bound_postgresql_and_route_are_used() {
    use sqlx::Connection;
    let url = postgres_database().await;
    let u = url::Url::parse(&url).expect("url");
    // A binding as SAP BTP's PostgreSQL, hyperscaler option, gives it (the
    // test server needs no TLS, so no sslrootcert), among other services.
    let services = serde_json::json!({
        "xsuaa": [{"label": "xsuaa", "name": "tcw-uaa", "tags": ["xsuaa"], "credentials": {"clientid": "sb-x", "clientsecret": "s"}}],
        "postgresql-db": [{
            "label": "postgresql-db", "plan": "development", "name": "taskcenter-wizard-db",
            "tags": ["relational", "postgresql"],
            "credentials": {
                "hostname": u.host_str().unwrap_or(""), "port": u.port().unwrap_or(5432).to_string(),
                "dbname": u.path().trim_start_matches('/'), "username": u.username(), "password": "",
                "uri": url.clone()
            }
        }]
    })
    .to_string();
    let application = serde_json::json!({
        "application_name": "taskcenter-wizard",
        "application_uris": ["taskcenter-wizard.cfapps.eu10.hana.ondemand.com"],
        "space_name": "dev", "organization_name": "acme"
    })
    .to_string();
    let bin = start_binary(
        &["--listen", "127.0.0.1:0"],
        &[
            ("VCAP_SERVICES", services.as_ref()),
            ("VCAP_APPLICATION", application.as_ref()),
            ("WIZARD_SECRET_KEY", PG_KEY.as_ref()),
            ("RUST_LOG", "info".as_ref()),
        ],
    )
    .await;
    let link = bin
        .bootstrap_link
        .clone()
        .expect("a new database offers the link");
    assert!(
        link.starts_with("https://taskcenter-wizard.cfapps.eu10.hana.ondemand.com/invite/"),
        "links use the route: {link}"
    );
    let health = client()
        .get(format!("http://{}/healthz", bin.addr))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    // The wizard migrated and uses the database the binding names.
    let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
    let (invites,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM invites")
        .fetch_one(&mut c)
        .await
        .expect("the wizard's tables are in the bound database");
    assert_eq!(invites, 1);
    let log = bin.log.lock().expect("log").join("\n");
    assert!(
        log.contains("the bound PostgreSQL service taskcenter-wizard-db"),
        "{log}"
    );
    assert!(
        !log.contains("postgres://"),
        "no URL (with credentials) in the log"
    );
}

/// A setup stored by the previous build in a shared PostgreSQL is moved to
/// the current pages by the next instance that starts; the one already
/// running sees the change on its next request (issue 11).
#[tokio::test]
async fn an_instance_starting_on_postgresql_moves_old_answers_to_their_pages() {
    use sqlx::Connection;
    let url = postgres_database().await;
    let a = TestApp::spawn_postgres(&url).await;
    let id = a.create_setup("Old on PostgreSQL").await;
    for page in ["facts", "step-1", "step-2", "booster"] {
        let r = complete_page(&a, &id, page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}: {}", r.body);
    }
    rewrite_to_layout_1(&url, &id).await;
    let before = a.get(&format!("/setups/{id}")).await.body;
    assert!(
        before.contains("id=\"status-booster\">Not started<"),
        "the old layout as the running instance reads it:\n{before}"
    );

    let (b, _) = a.another_instance(&url).await;
    for app in [&b, &a] {
        let tasks = app.get(&format!("/setups/{id}")).await.body;
        for (page, want) in [
            ("facts", "Completed"),
            ("step-1", "Completed"),
            ("step-2", "In progress"),
            ("booster", "Completed"),
        ] {
            assert!(
                tasks.contains(&format!("id=\"status-{page}\">{want}<")),
                "{page} should be {want}:\n{tasks}"
            );
        }
    }
    let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
    let (layout,): (i64,) = sqlx::query_as("SELECT layout::bigint FROM setups WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut c)
        .await
        .expect("layout");
    assert_eq!(layout, 2);
}

/// Issue 22: two instances on one PostgreSQL claim each due watch run once
/// (`FOR UPDATE SKIP LOCKED`): every claim races the other instance's, and
/// no setup is claimed twice.
#[tokio::test]
async fn two_instances_on_one_postgresql_claim_each_due_watch_once() {
    use taskcenter_wizard::store::{CacheLimits, Cipher, Store};
    let url = postgres_database().await;
    let open = || async {
        Store::open(
            std::path::Path::new(&url),
            Cipher::from_hex(PG_KEY).expect("key"),
            taskcenter_wizard::playbook::STORE,
            CacheLimits {
                setups: 100,
                idle_secs: 60,
            },
        )
        .await
        .expect("open")
    };
    let (a, b) = (open().await, open().await);
    let now = taskcenter_wizard::fmt::now();
    let invite = a
        .create_invite(Some("ada"), false, "test", 60, now)
        .await
        .expect("invite");
    let ada = a
        .redeem_invite(&invite, "ada", "a long passphrase".into(), now)
        .await
        .expect("redeem")
        .expect("user");
    for round in 0..5 {
        let mut ids = Vec::new();
        for n in 0..24 {
            let s = a
                .create_setup(&format!("Watched {round}-{n}"), ada.id, now)
                .await
                .expect("setup");
            a.set_watch(&s.id, 900, None, None, now)
                .await
                .expect("watch");
            ids.push(s.id.clone());
        }
        let mut claimed = Vec::new();
        loop {
            let (x, y) = tokio::join!(a.claim_due(now, 4), b.claim_due(now, 4));
            let (x, y) = (x.expect("claim a"), y.expect("claim b"));
            if x.is_empty() && y.is_empty() {
                break;
            }
            claimed.extend(x.into_iter().chain(y).map(|w| w.setup_id));
        }
        claimed.sort();
        let mut once = claimed.clone();
        once.dedup();
        assert_eq!(claimed, once, "round {round}: a watch was claimed twice");
        ids.sort();
        assert_eq!(claimed, ids, "round {round}: every due watch was claimed");
        // Nobody finished these runs (their instance crashed): the claim
        // lapses and the other instance takes them over, once.
        let later = now + taskcenter_wizard::store::watch::TAKE_OVER_SECS;
        assert!(b.claim_due(later - 1, 100).await.expect("early").is_empty());
        let mut taken: Vec<String> = b
            .claim_due(later, 100)
            .await
            .expect("take over")
            .into_iter()
            .map(|w| w.setup_id)
            .collect();
        taken.sort();
        assert_eq!(taken, ids, "round {round}: a lapsed claim is taken over");
        for id in &ids {
            a.unwatch(id).await.expect("unwatch");
        }
    }
}

/// Issue 23 on PostgreSQL: setups stored before customers each become a
/// customer of their own when an instance of this version starts.
#[tokio::test]
async fn setups_become_customers_of_their_own_on_postgresql() {
    let url = postgres_database().await;
    let a = TestApp::spawn_postgres(&url).await;
    let id = a.create_setup("Umbrella on PostgreSQL").await;
    let r = complete_page(&a, &id, "facts").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let host = input_value(
        &a.get(&format!("/setups/{id}/pages/facts")).await.body,
        "f-s4_host",
    );
    assert!(host.is_some());
    as_before_customers(&url, true).await;
    let (b, _) = a.another_instance(&url).await;
    let customer = customer_of(&b, &id).await;
    let page = b.get(&format!("/customers/{customer}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<h1>Umbrella on PostgreSQL</h1>"),
        "{}",
        page.body
    );
    assert_eq!(
        input_value(
            &b.get(&format!("/setups/{id}/pages/facts")).await.body,
            "f-s4_host"
        ),
        host,
        "no answer lost"
    );
}

/// Issue 23 with two instances: a shared page changed through one shows as
/// Needs review on the other system's task list served by the other, which
/// had shown (and kept) it before.
#[tokio::test]
async fn a_sibling_changed_on_one_instance_shows_on_the_others_task_list() {
    let url = postgres_database().await;
    let a = {
        let url = url.clone();
        TestApp::spawn_with(move |a| {
            a.store.database = url.into();
            a.store.secret_key = Some(PG_KEY.into());
            a.sandbox = true;
        })
        .await
    };
    let (b, _) = a.another_instance(&url).await;
    let (demo, first, _, quality) = two_systems_on(&a).await;
    let tasks = b.get(&format!("/setups/{first}")).await.body;
    assert!(tasks.contains("id=\"status-step-2\">Completed"), "{tasks}");
    change_ias_later(&a, &demo, &quality, "acme-new.accounts.ondemand.com").await;
    let tasks = b.get(&format!("/setups/{first}")).await.body;
    assert!(
        tasks.contains("id=\"status-step-2\">Needs review"),
        "{tasks}"
    );
}
