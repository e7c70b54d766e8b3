//! Accounts, access and secrets (issue 4): sign-in, single-use links, per-setup
//! access, cross-site refusal, sessions, encryption at rest, key rotation.

use reqwest::StatusCode;

use crate::support::*;

#[tokio::test]
async fn unauthenticated_requests_are_sent_to_sign_in() {
    let app = TestApp::spawn().await;
    let id = app.create_setup("Private").await;
    let anon = client();
    for (path, next) in [
        ("/", "/"),
        (
            &format!("/setups/{id}/pages/facts?return=check") as &str,
            "",
        ),
    ] {
        let p = app.get_as(&anon, path).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{path}");
        let to = p.location.unwrap_or_default();
        assert!(to.starts_with("/login?next="), "{path} -> {to}");
        if !next.is_empty() {
            assert_eq!(to, format!("/login?next={next}"));
        }
    }
    let p = app
        .get_as(&anon, &format!("/setups/{id}/pages/facts?return=check"))
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some(format!("/login?next=/setups/{id}/pages/facts%3Freturn%3Dcheck").as_str())
    );
    let p = app.post_as(&anon, "/setups", &[("name", "Sneaky")]).await;
    assert!(p.location.unwrap_or_default().starts_with("/login"));
    assert!(
        !app.get("/").await.body.contains("Sneaky"),
        "nothing created without a session"
    );
    assert_eq!(app.get_as(&anon, "/healthz").await.status, StatusCode::OK);
    assert_eq!(
        app.get_as(&anon, "/static/app.css").await.status,
        StatusCode::OK
    );
    let login = app.get_as(&anon, "/login?next=/setups").await;
    assert_eq!(login.status, StatusCode::OK);
    // Signing in returns to where the user was going.
    let r = app
        .post_as(
            &anon,
            "/login",
            &[
                ("name", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", &format!("/setups/{id}")),
            ],
        )
        .await;
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/setups/{id}").as_str())
    );
    let cookie = r
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    // Only local paths are followed after sign-in.
    let r = app
        .post_as(
            &client(),
            "/login",
            &[
                ("name", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/"));
}

#[tokio::test]
async fn the_bootstrap_link_works_once() {
    let app = TestApp::spawn().await; // spawn used it to create "admin"
    let link = app.bootstrap_link.trim_start_matches(&app.base).to_string();
    let again = app.get_as(&client(), &link).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.body.contains("already been used or has expired"));
    let r = app
        .post_as(
            &client(),
            &link,
            &[
                ("name", "mallory"),
                ("password", "mallory-password-1"),
                ("confirm", "mallory-password-1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::GONE);
    assert!(
        app.get("/")
            .await
            .body
            .contains("Signed in as <strong>admin</strong>")
    );
    // A restart with an account prints no new link.
    let app = app.restart().await;
    let users = app.get("/admin/users").await.body;
    assert!(!users.contains("mallory"));
}

#[tokio::test]
async fn single_use_links_check_their_input() {
    let app = TestApp::spawn().await;
    let r = app.post("/admin/users", &[("name", "Jo Smith")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Enter a user name of 2 to 40"));
    let r = app.post("/admin/users", &[("name", "jo.smith")]).await;
    let link = between(&r.body, "<code id=\"invite-link\">", "</code>")
        .expect("link")
        .to_string();
    let path = format!(
        "/{}",
        link.trim_start_matches("http://")
            .split_once('/')
            .expect("path")
            .1
    );
    let c = client();
    let short = app
        .post_as(&c, &path, &[("password", "short"), ("confirm", "short")])
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        short.body.contains("at least 12 characters")
            && short.body.contains("href=\"#f-password\"")
    );
    let differ = app
        .post_as(
            &c,
            &path,
            &[
                ("password", "a-long-password-1"),
                ("confirm", "a-long-password-2"),
            ],
        )
        .await;
    assert!(differ.body.contains("do not match"));
    let ok = app
        .post_as(
            &c,
            &path,
            &[
                ("password", "a-long-password-1"),
                ("confirm", "a-long-password-1"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert!(
        app.get_as(&c, "/")
            .await
            .body
            .contains("Signed in as <strong>jo.smith</strong>")
    );
    // Consultants do not see the people page.
    assert_eq!(
        app.get_as(&c, "/admin/users").await.status,
        StatusCode::NOT_FOUND
    );
    // An administrator's reset link replaces the password and ends old sessions.
    let r = app.post("/admin/users/jo.smith/reset", &[]).await;
    let link = between(&r.body, "<code id=\"invite-link\">", "</code>")
        .expect("reset link")
        .to_string();
    let path = format!(
        "/{}",
        link.trim_start_matches("http://")
            .split_once('/')
            .expect("path")
            .1
    );
    let r = app
        .post_as(
            &client(),
            &path,
            &[
                ("password", "another-long-one"),
                ("confirm", "another-long-one"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get_as(&c, "/").await.status,
        StatusCode::SEE_OTHER,
        "the old session ended"
    );
    let old = app
        .post_as(
            &client(),
            "/login",
            &[("name", "jo.smith"), ("password", "a-long-password-1")],
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
}

fn error_summary(body: &str) -> String {
    between(body, "<div class=\"error-summary\"", "</div>")
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn wrong_passwords_get_one_generic_message_and_are_slowed_down() {
    let app = TestApp::spawn().await;
    let c = client();
    let known = app
        .post_as(
            &c,
            "/login",
            &[("name", "admin"), ("password", "not-the-password")],
        )
        .await;
    let unknown = app
        .post_as(
            &c,
            "/login",
            &[("name", "nobody-here"), ("password", "not-the-password")],
        )
        .await;
    assert_eq!(known.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        error_summary(&known.body),
        error_summary(&unknown.body),
        "no hint whether the user exists"
    );
    assert!(
        known
            .body
            .contains("The user name or password is not right")
    );
    for _ in 0..4 {
        app.post_as(
            &c,
            "/login",
            &[("name", "admin"), ("password", "still-wrong")],
        )
        .await;
    }
    // Five failures for admin from this address: even the right password waits now.
    let paused = app
        .post_as(
            &c,
            "/login",
            &[("name", "admin"), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(
        paused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        paused.body
    );
    assert!(paused.body.contains("sign-in is paused"));
}

#[tokio::test]
async fn setups_are_private_to_owner_members_and_administrators() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let id = create_with_facts_as(&app, &alice, "Alice Customer").await;
    let facts = format!("/setups/{id}/pages/facts");
    let answers = valid_answers("facts");

    // Bob does not even learn that it exists.
    assert!(!app.get_as(&bob, "/").await.body.contains("Alice Customer"));
    for path in [
        format!("/setups/{id}"),
        facts.clone(),
        format!("/setups/{id}/pages/check"),
        format!("/setups/{id}/history"),
        format!("/setups/{id}/members"),
        format!("/setups/{id}/rename"),
    ] {
        assert_eq!(
            app.get_as(&bob, &path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let mut bob_form: Vec<(&str, &str)> = vec![("_version", "1"), ("s4_client", "200")];
    bob_form.extend(
        answers
            .iter()
            .filter(|(k, _)| *k != "s4_client")
            .map(|(k, v)| (*k, v.as_str())),
    );
    assert_eq!(
        app.post_as(&bob, &facts, &bob_form).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post_as(&bob, &format!("/setups/{id}/archive"), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Shared as viewer: Bob reads, but every change is refused.
    let r = app
        .post_as(
            &alice,
            &format!("/setups/{id}/members"),
            &[("name", "bob"), ("role", "viewer")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = app.get_as(&bob, &facts).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("You can view this setup but not change it")
            && !page.body.contains("Save and continue")
    );
    assert!(app.get_as(&bob, "/").await.body.contains("Alice Customer"));
    let refused = app.post_as(&bob, &facts, &bob_form).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("not change it"));
    assert_eq!(
        app.post_as(&bob, &format!("/setups/{id}/rename"), &[("name", "Bob's")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post_as(
            &bob,
            &format!("/setups/{id}/members"),
            &[("name", "bob"), ("role", "editor")]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // As editor Bob can change answers, not sharing.
    app.post_as(
        &alice,
        &format!("/setups/{id}/members"),
        &[("name", "bob"), ("role", "editor")],
    )
    .await;
    assert_eq!(
        app.post_as(&bob, &facts, &bob_form).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.get_as(&bob, &format!("/setups/{id}/members"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let unknown = app
        .post_as(
            &alice,
            &format!("/setups/{id}/members"),
            &[("name", "carol"), ("role", "viewer")],
        )
        .await;
    assert!(unknown.body.contains("There is no user called"));
    // Removing him closes it again; administrators see everything.
    app.post_as(&alice, &format!("/setups/{id}/members/bob/remove"), &[])
        .await;
    assert_eq!(app.get_as(&bob, &facts).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&facts).await.status, StatusCode::OK);

    // The history says who changed what, never values.
    let history = app
        .get_as(&alice, &format!("/setups/{id}/history"))
        .await
        .body;
    assert!(history.contains("<td>alice</td>") && history.contains("<td>bob</td>"));
    assert!(history.contains("S/4HANA Cloud host") && history.contains("S/4HANA client"));
    assert!(!history.contains("my404687"));
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = TestApp::spawn().await;
    let post = |headers: Vec<(&'static str, String)>| {
        let mut req = app
            .client
            .post(format!("{}/setups", app.base))
            .form(&[("name", "Forged")]);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move { req.send().await.expect("POST").status() }
    };
    assert_eq!(
        post(vec![("sec-fetch-site", "cross-site".into())]).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(vec![("origin", "http://evil.example".into())]).await,
        StatusCode::FORBIDDEN
    );
    assert!(
        !app.get("/").await.body.contains("Forged"),
        "nothing was created"
    );
    let host = app.base.trim_start_matches("http://").to_string();
    assert_eq!(
        post(vec![
            ("sec-fetch-site", "same-origin".into()),
            ("origin", format!("http://{host}"))
        ])
        .await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn sessions_expire_when_idle_and_end_on_sign_out() {
    let app = TestApp::spawn_with(|a| a.session_idle = 2).await;
    let id = app.create_setup("Idle").await;
    assert_eq!(
        app.get(&format!("/setups/{id}")).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(3200)).await;
    let p = app.get(&format!("/setups/{id}/pages/facts")).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let to = p.location.unwrap_or_default();
    assert_eq!(
        to,
        format!("/login?next=/setups/{id}/pages/facts&expired=1")
    );
    let login = app.get(&to).await.body;
    assert!(login.contains("Your session ended"));
    let back = app
        .post(
            "/login",
            &[
                ("name", "admin"),
                ("password", ADMIN_PASSWORD),
                ("next", &format!("/setups/{id}/pages/facts")),
            ],
        )
        .await;
    assert_eq!(
        back.location.as_deref(),
        Some(format!("/setups/{id}/pages/facts").as_str())
    );

    // Sign out ends the session on the server, not just in the browser.
    let cookie = back
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let value = cookie.split(';').next().unwrap_or_default().to_string();
    let out = app.post("/logout", &[]).await;
    assert_eq!(out.location.as_deref(), Some("/login"));
    let replay = app
        .client
        .get(format!("{}/setups/{id}", app.base))
        .header("cookie", value)
        .send()
        .await
        .expect("GET");
    assert_eq!(
        replay.status(),
        StatusCode::SEE_OTHER,
        "the old cookie no longer works"
    );
}

#[tokio::test]
async fn secrets_never_reach_the_database_file_or_the_log_and_survive_key_rotation() {
    let dir = temp_dir();
    let db = dir.path().join("secrets.db");
    let envs: Vec<(&str, &std::ffi::OsStr)> = vec![
        ("WIZARD_LISTEN", "127.0.0.1:0".as_ref()),
        ("WIZARD_DATABASE", db.as_os_str()),
        ("RUST_LOG", "debug".as_ref()),
        ("WIZARD_SANDBOX", "true".as_ref()),
        ("WIZARD_SANDBOX_LISTEN", "127.0.0.1:0".as_ref()),
    ];
    let mut bin = start_binary(&[], &envs).await;
    let link = bin.bootstrap_link.clone().expect("bootstrap link printed");
    let mut app = TestApp::attach(format!("http://{}", bin.addr), temp_dir());
    app.sandbox = Some(sandbox_of(&bin));
    app.register_test_key().await;
    let path = link.trim_start_matches(&app.base).to_string();
    let r = app
        .post(
            &path,
            &[
                ("name", "admin"),
                ("password", ADMIN_PASSWORD),
                ("confirm", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let wrong = app
        .post_as(
            &client(),
            "/login",
            &[("name", "admin"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let id = app.create_setup("Secretive").await;
    let ias_secret = "ias-secret-9f8e7d6c5b4a";
    for page in ["facts", "step-1", "step-3-1", "step-3-3"] {
        assert_eq!(
            complete_page(&app, &id, page).await.status,
            StatusCode::SEE_OTHER,
            "{page}"
        );
    }
    let r = app
        .save(
            &id,
            "step-2",
            &[
                ("ias_host", "acme.accounts.ondemand.com"),
                ("ias_client_id", "ias-client"),
                ("ias_client_secret", ias_secret),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    bin.child.kill().await.expect("stop");

    let secrets = [PASSWORD, CLIENT_SECRET, ias_secret, ADMIN_PASSWORD];
    let mut raw = std::fs::read(&db).expect("db");
    raw.extend(std::fs::read(db.with_extension("db-wal")).unwrap_or_default());
    let log = bin.log.lock().expect("log").join("\n");
    assert!(log.contains("ready at"), "the log was captured");
    for s in secrets {
        assert!(!contains_bytes(&raw, s), "{s} is in the database file");
        assert!(!log.contains(s), "{s} is in the log");
    }

    // Rotate the key: a new key file, every secret still readable.
    let key_file = dir.path().join("secrets.db.key");
    let old_key = std::fs::read_to_string(&key_file).expect("key");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_taskcenter-wizard"))
        .args(["rotate-key", "--database"])
        .arg(&db)
        .output()
        .expect("rotate-key");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Re-encrypted 3 secrets"));
    let new_key = std::fs::read_to_string(&key_file).expect("key");
    assert_ne!(old_key, new_key);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).expect("key").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    let bin = start_binary(&[], &envs).await;
    assert!(
        bin.bootstrap_link.is_none(),
        "accounts exist: no bootstrap link"
    );
    let app = TestApp::attach(format!("http://{}", bin.addr), temp_dir());
    let r = app
        .post("/login", &[("name", "admin"), ("password", ADMIN_PASSWORD)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let user = app.get(&format!("/setups/{id}/pages/step-3-3")).await.body;
    assert!(
        user.contains("••••••••s8Nd"),
        "password readable under the new key"
    );
    let key = app.get(&format!("/setups/{id}/pages/step-3-1")).await.body;
    assert!(
        key.contains("••••••••alue"),
        "client secret readable under the new key"
    );
    let ias = app.get(&format!("/setups/{id}/pages/step-2")).await.body;
    assert!(ias.contains("••••••••5b4a"));
    // With the old key the secrets would not decrypt: rotation really replaced them.
    let stale = taskcenter_wizard::store::Cipher::from_hex(&old_key).expect("old key");
    let next = taskcenter_wizard::store::Cipher::from_hex(&new_key).expect("new key");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .expect("open db");
    let rows: Vec<(String,)> = sqlx::query_as("SELECT data FROM answers")
        .fetch_all(&pool)
        .await
        .expect("answers");
    let blobs: Vec<String> = rows
        .iter()
        .flat_map(|(d,)| {
            serde_json::from_str::<std::collections::BTreeMap<String, String>>(d)
                .expect("json")
                .into_values()
        })
        .filter(|v| v.starts_with("enc:v1:"))
        .collect();
    assert_eq!(blobs.len(), 3);
    assert!(blobs.iter().all(|b| next.decrypt(b).is_some()));
    assert!(!blobs.is_empty());
    assert!(
        blobs.iter().all(|b| stale.decrypt(b).is_none()),
        "a secret still decrypts with the old key"
    );
}

#[tokio::test]
async fn a_page_submitted_after_the_session_ended_keeps_what_was_typed() {
    let app = TestApp::spawn_with(|a| {
        a.sandbox = true;
        a.session_idle = 2;
    })
    .await;
    let id = app.create_setup("Kept").await;
    let facts = format!("/setups/{id}/pages/facts");
    let expire = || tokio::time::sleep(std::time::Duration::from_millis(3200));
    let sign_in_again = |to: String| {
        let app = &app;
        async move {
            let kept = to.split("kept=").nth(1).expect("kept token").to_string();
            let login = app.get(&to).await.body;
            assert!(
                login.contains("you return to the page with what you typed"),
                "{login}"
            );
            assert!(login.contains(&format!("name=\"kept\" value=\"{kept}\"")));
            let next = to
                .split("next=")
                .nth(1)
                .and_then(|r| r.split('&').next())
                .unwrap_or_default()
                .replace("%2F", "/");
            let r = app
                .post(
                    "/login",
                    &[
                        ("name", "admin"),
                        ("password", ADMIN_PASSWORD),
                        ("next", &next),
                        ("kept", &kept),
                    ],
                )
                .await;
            r.location.expect("back to the page")
        }
    };

    expire().await;
    let mut answers = valid_answers("facts");
    answers.retain(|(k, _)| *k != "s4_client");
    answers.push(("s4_client", "200".into()));
    let mut form: Vec<(&str, &str)> = vec![("_version", "0"), ("_action", "continue")];
    form.extend(answers.iter().map(|(k, v)| (*k, v.as_str())));
    let r = app.post(&facts, &form).await;
    let to = r.location.expect("to sign in");
    assert!(
        to.starts_with(&format!(
            "/login?next=/setups/{id}/pages/facts&expired=1&kept="
        )),
        "{to}"
    );
    let back = sign_in_again(to).await;
    assert!(back.starts_with(&format!("{facts}?kept=")), "{back}");
    let page = app.get(&back).await.body;
    assert!(page.contains("Not saved yet"));
    assert_eq!(
        input_value(&page, "f-s4_client").as_deref(),
        Some("200"),
        "typed value back"
    );
    assert_eq!(
        input_value(&page, "f-s4_host").as_deref(),
        Some("https://my404687.s4hana.ondemand.com/ui#Shell-home")
    );
    assert!(
        app.get(&format!("/setups/{id}"))
            .await
            .body
            .contains("id=\"status-facts\">Not started<"),
        "nothing saved silently"
    );
    assert!(
        !app.get(&back).await.body.contains("Not saved yet"),
        "a kept form is used once"
    );
    let v = version_of(&page);
    let mut again: Vec<(&str, &str)> = vec![("_version", &v)];
    again.extend(answers.iter().map(|(k, v)| (*k, v.as_str())));
    assert_eq!(app.post(&facts, &again).await.status, StatusCode::SEE_OTHER);

    // Secrets are never kept: the password must be typed again.
    expire().await;
    let user = format!("/setups/{id}/pages/step-3-3");
    let r = app
        .post(
            &user,
            &[
                ("_version", "0"),
                ("comm_user", "TASKCENTERCOM"),
                ("comm_password", PASSWORD),
            ],
        )
        .await;
    let back = sign_in_again(r.location.expect("to sign in")).await;
    let page = app.get(&back).await.body;
    assert_eq!(
        input_value(&page, "f-comm_user").as_deref(),
        Some("TASKCENTERCOM")
    );
    assert!(!page.contains(PASSWORD), "the password is not kept");
}
