//! Cost that follows the work: a bounded cache of setups loaded on demand,
//! and a setups list that pages and searches in the database.

use reqwest::StatusCode;

use crate::support::*;

#[tokio::test]
async fn the_cache_holds_the_setups_in_use_and_loads_the_rest_on_demand() {
    let dir = temp_dir();
    cache_and_list(&dir.path().join("cache.db")).await;
}

/// The store's cache and list, against the database at `database` (a
/// SQLite file here, a PostgreSQL URL in the PostgreSQL tests).
pub async fn cache_and_list(database: &std::path::Path) {
    use taskcenter_wizard::store::{CacheLimits, Cipher, ListQuery, PageWrite, Store, Stored};
    let open = || async {
        Store::open(
            database,
            Cipher::from_hex(&"cd".repeat(32)).expect("key"),
            taskcenter_wizard::playbook::STORE,
            CacheLimits {
                setups: 3,
                idle_secs: 0,
            },
        )
        .await
        .expect("open")
    };
    let store = open().await;
    let link = store
        .create_invite(Some("owner"), false, "test", 3600, 0)
        .await
        .expect("invite");
    let owner = store
        .redeem_invite(&link, "owner", "owner-password-long".into(), 0)
        .await
        .expect("redeem")
        .expect("owner");
    let mut ids = Vec::new();
    for i in 0..10 {
        let s = store
            .create_setup(&format!("Customer {i}"), owner.id, 100 + i)
            .await
            .expect("create");
        let mut data = std::collections::BTreeMap::new();
        data.insert(
            "s4_host".to_string(),
            Stored::Plain(format!("my{i:06}.s4hana.ondemand.com")),
        );
        data.insert("secret".to_string(), Stored::Secret(format!("secret {i}")));
        let w = PageWrite {
            page: "facts",
            data,
            basis: "",
            expected_version: 0,
            user: "owner",
            now: 200 + i,
        };
        store.save_page(&s.id, w).await.expect("save");
        ids.push(s.id.clone());
        assert!(store.cached_setups() <= 3, "bounded while writing");
    }
    // Every setup reads back whole, evicted or not, and the cache stays bounded.
    for (i, id) in ids.iter().enumerate() {
        let s = store.setup(id).await.expect("read").expect("exists");
        let facts = &s.pages["facts"];
        assert_eq!(
            facts.data["s4_host"],
            format!("my{i:06}.s4hana.ondemand.com")
        );
        assert_eq!(
            store.reveal(&facts.data["secret"]).as_deref(),
            Some(format!("secret {i}").as_str())
        );
        assert!(store.cached_setups() <= 3);
    }
    // An evicted setup is saved against its stored version, not a stale copy.
    let first = &ids[0];
    let mut data = std::collections::BTreeMap::new();
    data.insert(
        "s4_host".to_string(),
        Stored::Plain("changed.s4hana.ondemand.com".into()),
    );
    let stale = PageWrite {
        page: "facts",
        data: data.clone(),
        basis: "",
        expected_version: 0,
        user: "owner",
        now: 300,
    };
    assert!(matches!(
        store.save_page(first, stale).await.expect("save"),
        Some(taskcenter_wizard::store::SaveOutcome::Conflict(_))
    ));
    // Idle ones are dropped by the prune task (idle time 0 here).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(store.evict_idle() > 0);
    assert_eq!(store.cached_setups(), 0);

    // The list pages and searches in SQLite, with the summaries kept there.
    let q = |text: &'static str, offset: i64| ListQuery {
        user_id: owner.id,
        is_admin: false,
        archived: false,
        text,
        status: "",
        offset,
        limit: 4,
    };
    let page3 = store.list(&q("", 8)).await.expect("list");
    assert_eq!((page3.rows.len(), page3.total), (2, 10));
    assert_eq!(page3.rows[1].name, "Customer 0", "oldest change last");
    let found = store.list(&q("my000007", 0)).await.expect("search");
    assert_eq!(found.rows.len(), 1);
    assert_eq!(
        found.rows[0].summary.s4_host,
        "my000007.s4hana.ondemand.com"
    );
    assert_eq!(found.rows[0].summary.status, "In progress");
    let owner_match = store.list(&q("own", 0)).await.expect("by owner");
    assert_eq!(owner_match.total, 10);
    let literal = store.list(&q("%", 0)).await.expect("escaped");
    assert_eq!(literal.total, 0, "% is a character, not a wildcard");
    let stranger = ListQuery {
        user_id: owner.id + 1,
        ..q("", 0)
    };
    assert_eq!(store.list(&stranger).await.expect("list").total, 0);
    assert_eq!(store.cached_setups(), 0, "listing loads nothing");
    drop(store);
    // After a restart nothing is loaded until asked for.
    let again = open().await;
    assert_eq!(again.cached_setups(), 0);
    assert!(again.setup(&ids[5]).await.expect("read").is_some());
    assert_eq!(again.cached_setups(), 1);
}

#[tokio::test]
async fn the_setups_list_pages_searches_and_filters_over_http() {
    list_over_http(&TestApp::spawn().await).await;
}

pub async fn list_over_http(app: &TestApp) {
    for i in 0..55 {
        app.create_setup(&format!("Customer {i:02}")).await;
    }
    let id = app.create_setup("ACME Germany").await;
    let r = app
        .save(
            &id,
            "facts",
            &[
                ("s4_host", "my404687.s4hana.ondemand.com"),
                ("s4_client", "100"),
                ("region", "eu10"),
                ("subdomain", "acme"),
                ("subaccount_id", "3b9d7c1e-0b5c-4f7a-9a51-0c1d2e3f4a5b"),
                ("ias_host", "acme.accounts.ondemand.com"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let first = app.get("/").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body.matches("<tr>").count() - 1, 50, "50 a page");
    assert!(
        first.body.contains("Showing 1 to 50 of 56"),
        "{}",
        first.body
    );
    assert!(
        first.body.contains("ACME Germany"),
        "the newest change first"
    );
    assert!(first.body.contains("href=\"/?page=2\""));
    let second = app.get("/?page=2").await;
    assert_eq!(second.body.matches("<tr>").count() - 1, 6);
    assert!(second.body.contains("Showing 51 to 56 of 56"));
    assert!(second.body.contains("rel=\"prev\" href=\"/\""));

    let by_host = app.get("/?q=my404687").await.body;
    assert_eq!(by_host.matches("<tr>").count() - 1, 1);
    assert!(by_host.contains("ACME Germany") && by_host.contains("1 setup<"));
    let by_status = app.get("/?status=In+progress").await.body;
    assert_eq!(by_status.matches("<tr>").count() - 1, 1, "{by_status}");
    let none = app.get("/?q=nothing-like-this").await.body;
    assert!(none.contains("No setups match"));
    // Odd parameters are ignored rather than failing.
    let odd = app.get("/?page=-3&status=bogus").await;
    assert_eq!(odd.status, StatusCode::OK);
    assert!(odd.body.contains("Showing 1 to 50 of 56"));
    // Someone else sees none of them.
    let bob = app.user("bob").await;
    let theirs = app.get_as(&bob, "/").await.body;
    assert!(theirs.contains("No setups yet"), "{theirs}");
    // The counts follow every change at once: an archive, a new setup, a share.
    app.post(&format!("/setups/{id}/archive"), &[]).await;
    assert!(app.get("/").await.body.contains("Showing 1 to 50 of 55"));
    assert_eq!(
        app.get("/?status=In+progress")
            .await
            .body
            .matches("<tr>")
            .count(),
        0
    );
    app.create_setup("Newest GmbH").await;
    assert!(app.get("/").await.body.contains("Showing 1 to 50 of 56"));
    app.post(&format!("/setups/{id}/restore"), &[]).await;
    assert!(app.get("/").await.body.contains("Showing 1 to 50 of 57"));
    app.post(
        &format!("/setups/{id}/members"),
        &[("name", "bob"), ("role", "viewer")],
    )
    .await;
    let shared = app.get_as(&bob, "/").await.body;
    assert!(
        shared.contains("ACME Germany") && shared.contains("1 setup<"),
        "{shared}"
    );
}

/// Rendered pages are reused (issue 13's throughput): never across viewers,
/// never after any change of the setup — answers, sharing, name.
#[tokio::test]
async fn a_rendered_page_is_never_shown_to_another_viewer_or_after_a_change() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let id = create_with_facts_as(&app, &alice, "Cached GmbH").await;
    let facts = format!("/setups/{id}/pages/facts");
    let answers = valid_answers("facts");
    app.post_as(
        &alice,
        &format!("/setups/{id}/members"),
        &[("name", "bob"), ("role", "viewer")],
    )
    .await;
    let views = [
        format!("/setups/{id}"),
        facts.clone(),
        format!("/setups/{id}/pages/check"),
    ];
    // Each viewer twice (the second a reused page): their own header, their rights.
    for _ in 0..2 {
        for v in &views {
            let a = app.get_as(&alice, v).await.body;
            assert!(a.contains("Signed in as <strong>alice</strong>"), "{v}");
            let b = app.get_as(&bob, v).await.body;
            assert!(
                b.contains("Signed in as <strong>bob</strong>")
                    && !b.contains("<strong>alice</strong>"),
                "{v}"
            );
        }
        assert!(
            app.get_as(&alice, &facts)
                .await
                .body
                .contains("Save and continue")
        );
        let b = app.get_as(&bob, &facts).await.body;
        assert!(
            b.contains("You can view this setup but not change it")
                && !b.contains("Save and continue")
        );
    }
    // Sharing changes: Bob, now an editor, gets the form at once.
    app.post_as(
        &alice,
        &format!("/setups/{id}/members"),
        &[("name", "bob"), ("role", "editor")],
    )
    .await;
    assert!(
        app.get_as(&bob, &facts)
            .await
            .body
            .contains("Save and continue")
    );
    // An answer changes: every view shows it at once, to both.
    let shown = app.get_as(&bob, &facts).await.body;
    let mut changed: Vec<(&str, &str)> = vec![("s4_client", "321")];
    let version = version_of(&shown);
    changed.push(("_version", &version));
    changed.extend(
        answers
            .iter()
            .filter(|(k, _)| *k != "s4_client")
            .map(|(k, v)| (*k, v.as_str())),
    );
    assert_eq!(
        app.post_as(&bob, &facts, &changed).await.status,
        StatusCode::SEE_OTHER
    );
    for who in [&alice, &bob] {
        assert_eq!(
            input_value(&app.get_as(who, &facts).await.body, "f-s4_client").as_deref(),
            Some("321")
        );
        assert!(
            app.get_as(who, &format!("/setups/{id}/pages/check"))
                .await
                .body
                .contains("<dd class=\"pre\">321</dd>")
        );
    }
    // A rename shows in the task list's title.
    app.post_as(
        &alice,
        &format!("/setups/{id}/rename"),
        &[("name", "Renamed AG")],
    )
    .await;
    assert!(
        title_of(&app.get_as(&bob, &format!("/setups/{id}")).await.body).contains("Renamed AG")
    );
    // Removed: nothing is served from memory to Bob any more.
    app.post_as(&alice, &format!("/setups/{id}/members/bob/remove"), &[])
        .await;
    for v in &views {
        assert_eq!(
            app.get_as(&bob, v).await.status,
            StatusCode::NOT_FOUND,
            "{v}"
        );
    }
}
