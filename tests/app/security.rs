//! The side doors of the hardening review: secrets leaving by export or by a
//! changed host, an SAP action overwriting a save, sign-in under a burst,
//! anonymous memory, old links, redirects, shutdown, locks and file modes.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

/// Poll `f` until it is true (bounded), instead of sleeping for a guess.
async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sandbox_seen(app: &TestApp, endpoint: &str) -> u64 {
    let v: Value = get_json(app.sandbox_url("/_sandbox/seen")).await;
    v[endpoint].as_u64().unwrap_or(0)
}

async fn share(app: &TestApp, owner: &reqwest::Client, id: &str, name: &str, role: &str) {
    let r = app
        .post_as(
            owner,
            &format!("/setups/{id}/members"),
            &[("name", name), ("role", role)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "share: {}", r.body);
}

#[tokio::test]
async fn only_the_owner_exports_secrets_and_only_with_their_password() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let id = demo_setup_as(&app, &alice, &demo, &["facts", "step-1", "step-2"]).await;
    share(&app, &alice, &id, "bob", "editor").await;
    share(&app, &alice, &id, "carol", "viewer").await;
    let secret = demo["ias_clientsecret"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let pass = "a long export passphrase";
    let with_secrets = |password: &'static str| {
        vec![
            ("include_secrets", "yes"),
            ("passphrase", pass),
            ("confirm", pass),
            ("password", password),
        ]
    };
    for (who, c, password) in [
        ("editor", &bob, "bob-password-long"),
        ("viewer", &carol, "carol-password-long"),
    ] {
        let form = app.get_as(c, &format!("/setups/{id}/export")).await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(
            !form.body.contains("name=\"include_secrets\""),
            "the {who} is not offered the secrets"
        );
        let r = app
            .post_as(c, &format!("/setups/{id}/export"), &with_secrets(password))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}: {}", r.body);
        assert!(
            r.body
                .contains("Only the setup&#39;s owner or an administrator")
                || r.body
                    .contains("Only the setup&#x27;s owner or an administrator"),
            "{}",
            r.body
        );
        assert!(r.headers.get("content-disposition").is_none() && !r.body.contains(&secret));
        // Without secrets they may still export.
        let plain = app.post_as(c, &format!("/setups/{id}/export"), &[]).await;
        assert_eq!(plain.status, StatusCode::OK);
        assert!(!plain.body.contains(&secret) && !plain.body.contains("\"ciphertext\""));
    }
    let wrong = app
        .post_as(
            &alice,
            &format!("/setups/{id}/export"),
            &with_secrets("not-alices"),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("Your password is not right"));
    let ok = app
        .post_as(
            &alice,
            &format!("/setups/{id}/export"),
            &with_secrets("alice-password-long"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(ok.body.contains("\"ciphertext\"") && !ok.body.contains(&secret));
    let history = app
        .get_as(&alice, &format!("/setups/{id}/history"))
        .await
        .body;
    let row = history
        .split("<tr>")
        .find(|r| r.contains("with secrets"))
        .unwrap_or_else(|| panic!("export recorded:\n{history}"));
    assert!(row.contains("alice") && row.contains("Export"), "{row}");
    assert_eq!(
        history.matches("without secrets").count(),
        2,
        "bob and carol's exports"
    );
}

#[tokio::test]
async fn a_repasted_destination_key_sends_no_secret_until_it_is_entered_again() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = demo_setup_as(
        &app,
        &app.client,
        &demo,
        &[
            "facts", "step-1", "step-2", "booster", "step-3-1", "step-3-2", "step-3-3", "step-3-4",
            "step-3-5", "step-4",
        ],
    )
    .await;
    let bob = app.user("bob").await;
    app.post(
        &format!("/setups/{id}/members"),
        &[("name", "bob"), ("role", "editor")],
    )
    .await;
    // Bob re-pastes the key with another Destination service host: still one
    // of SAP's, so the allow-list alone would let the password go there.
    let other = "https://destination-configuration.cfapps.us10.hana.ondemand.com";
    let mut key: Value = serde_json::from_str(&demo_destination_key(&demo)).expect("key");
    key["uri"] = Value::String(other.into());
    let r = app
        .save_as(&bob, &id, "step-3-2", &[("dest_key", &key.to_string())])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let before = sandbox_seen(&app, "destinations").await;
    // The plan page says why it cannot read BTP, and offers nothing to confirm.
    let r = app.apply_destination_as(&bob, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("name=\"fingerprint\""), "{}", r.body);
    assert!(
        r.body
            .contains("(Communication user) was entered for the Destination service")
            && r.body.contains("entered again in step 3.3"),
        "{}",
        r.body
    );
    assert_eq!(
        sandbox_seen(&app, "destinations").await,
        before,
        "nothing was sent"
    );
    let calls = app.get(&format!("/setups/{id}/calls")).await.body;
    assert!(!calls.contains("us10"), "no call to the new host:\n{calls}");

    // Entered again by the editor, it goes to the host it was entered for.
    let password = demo["comm_password"].as_str().unwrap_or_default();
    let user = demo["comm_user"].as_str().unwrap_or_default();
    let r = app
        .save_as(
            &bob,
            &id,
            "step-3-3",
            &[("comm_user", user), ("comm_password", password)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = app.apply_destination_as(&bob, &id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let calls = app.get(&format!("/setups/{id}/calls")).await.body;
    assert!(
        calls.contains("destination-configuration.cfapps.us10"),
        "{calls}"
    );
}

#[tokio::test]
async fn an_sap_look_up_never_overwrites_a_colleagues_newer_save() {
    let app = TestApp::spawn().await;
    let demo = app.demo().await;
    let id = demo_setup_as(&app, &app.client, &demo, &["facts", "step-1", "step-2"]).await;
    let bob = app.user("bob").await;
    app.post(
        &format!("/setups/{id}/members"),
        &[("name", "bob"), ("role", "editor")],
    )
    .await;
    let emails: Vec<String> = demo["users"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|u| u[0].as_str().unwrap_or_default().to_string())
        .collect();
    let r = app
        .save(&id, "step-6", &[("approvers", &emails.join("\n"))])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    app.fault("scim", "latency:1500").await;
    let seen = sandbox_seen(&app, "scim").await;
    let (c, url) = (
        app.client.clone(),
        format!("{}/setups/{id}/pages/step-6/run", app.base),
    );
    let lookup = tokio::spawn(async move { c.post(url).send().await.map(|r| r.status()) });
    until("the look-up to reach SAP", || async {
        sandbox_seen(&app, "scim").await > seen
    })
    .await;
    // While SAP answers, Bob saves other approvers.
    let newer = "new.approver@acme.example";
    let r = app
        .save_as(&bob, &id, "step-6", &[("approvers", newer)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let status = lookup.await.expect("task").expect("look-up answered");
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.fault("scim", "none").await;
    let page = app.get(&format!("/setups/{id}/pages/step-6")).await.body;
    let shown = between(&page, "name=\"approvers\"", "</textarea>").unwrap_or_default();
    assert!(shown.contains(newer), "bob's approvers are kept:\n{shown}");
    assert!(
        !shown.contains(&emails[0]),
        "the look-up was not merged over them"
    );
    assert!(
        page.contains("While SAP answered, bob saved this page"),
        "the conflict is shown:\n{page}"
    );
}

/// Sign-in requests in flight at once from one client, counted by status.
async fn burst(base: &str, names: impl Fn(usize) -> String, n: usize) -> (usize, usize, usize) {
    let c = client();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (c, url, name) = (c.clone(), format!("{base}/login"), names(i));
            tokio::spawn(async move {
                c.post(url)
                    .form(&[
                        ("name", name.as_str()),
                        ("password", "a wrong password guess"),
                    ])
                    .send()
                    .await
                    .map(|r| r.status())
            })
        })
        .collect();
    let (mut checked, mut refused, mut other) = (0, 0, 0);
    for t in tasks {
        match t.await.expect("task") {
            Ok(StatusCode::UNAUTHORIZED) => checked += 1,
            Ok(StatusCode::TOO_MANY_REQUESTS) => refused += 1,
            _ => other += 1,
        }
    }
    (checked, refused, other)
}

#[tokio::test]
async fn a_burst_of_sign_ins_is_bounded_in_memory_and_in_guesses() {
    let dir = temp_dir();
    let db = dir.path().join("burst.db");
    let envs: Vec<(&str, &std::ffi::OsStr)> = vec![
        ("WIZARD_LISTEN", "127.0.0.1:0".as_ref()),
        ("WIZARD_DATABASE", db.as_os_str()),
    ];
    let bin = start_binary(&[], &envs).await;
    let pid = bin.child.id().expect("pid");
    let base = format!("http://{}", bin.addr);
    let (start_peak, _) = memory_mb(pid);
    // One name from one address: only the throttle's five guesses are checked.
    let (checked, refused, other) = burst(&base, |_| "admin".into(), 100).await;
    assert_eq!((checked, refused, other), (5, 95, 0), "guesses let through");
    // A hundred names: every attempt would hash (19 MB each); the pool bounds it.
    let (checked2, refused2, other2) = burst(&base, |i| format!("user{i}"), 100).await;
    assert_eq!(other2, 0);
    assert!(
        checked2 <= 50,
        "the address rule allows 50 failures: {checked2}"
    );
    let (peak, rss) = memory_mb(pid);
    eprintln!(
        "sign-in burst: start peak {start_peak:.1} MB, after 2x100 sign-ins peak {peak:.1} MB, now {rss:.1} MB; checked {checked}+{checked2}, refused {refused}+{refused2}"
    );
    assert!(peak < 100.0, "peak {peak:.1} MB");
    let log = bin.log.lock().expect("log").join("\n");
    assert!(
        log.contains("security")
            && log.contains("sign-in throttled")
            && log.contains("sign-in failed"),
        "security events are logged under their own target:\n{log}"
    );
    assert!(
        !log.contains("a wrong password guess"),
        "no password in the log"
    );
}

fn from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .expect("client")
}

async fn sign_in(app: &TestApp, c: &reqwest::Client, name: &str, password: &str) -> Page {
    app.post_as(c, "/login", &[("name", name), ("password", password)])
        .await
}

#[tokio::test]
async fn guessing_does_not_lock_out_the_real_user_or_others_at_the_same_address() {
    let app = TestApp::spawn().await;
    let _bob = app.user("bob").await;
    let home = from([127, 0, 0, 1]);
    assert_eq!(
        sign_in(&app, &home, "admin", ADMIN_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // Someone at 127.0.0.2 guesses admin's password until paused ...
    let office = from([127, 0, 0, 2]);
    for _ in 0..5 {
        assert_eq!(
            sign_in(&app, &office, "admin", "guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sign_in(&app, &office, "admin", "guess").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ... while bob, at the same address, signs in as usual.
    assert_eq!(
        sign_in(&app, &office, "bob", "bob-password-long")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    // Guesses for admin from many addresses pause admin for new addresses,
    // briefly, and not at all from the address admin signed in from before.
    for i in 10..35u8 {
        let _ = sign_in(&app, &from([127, 0, 0, i]), "admin", "guess").await;
    }
    assert_eq!(
        sign_in(&app, &home, "admin", ADMIN_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let elsewhere = sign_in(&app, &from([127, 0, 0, 99]), "admin", ADMIN_PASSWORD).await;
    assert_eq!(elsewhere.status, StatusCode::TOO_MANY_REQUESTS);
    let secs: i64 = between(&elsewhere.body, "Wait ", " seconds")
        .and_then(|s| s.parse().ok())
        .unwrap_or(i64::MAX);
    assert!((1..=30).contains(&secs), "paused for {secs} s");
}

#[tokio::test]
async fn anonymous_posts_make_the_server_keep_nothing() {
    let dir = temp_dir();
    let db = dir.path().join("anon.db");
    let envs: Vec<(&str, &std::ffi::OsStr)> = vec![
        ("WIZARD_LISTEN", "127.0.0.1:0".as_ref()),
        ("WIZARD_DATABASE", db.as_os_str()),
    ];
    let bin = start_binary(&[], &envs).await;
    let pid = bin.child.id().expect("pid");
    let base = format!("http://{}", bin.addr);
    let big = "x".repeat(500 * 1024);
    let c = client();
    let post = |cookie: Option<String>| {
        let mut rb = c
            .post(format!("{base}/setups/0123456789abcdef/pages/facts"))
            .form(&[("s4_host", big.as_str()), ("_version", "0")]);
        if let Some(v) = cookie {
            rb = rb.header("cookie", format!("tcw_session={v}"));
        }
        rb.send()
    };
    // Warm up, then measure.
    for _ in 0..10 {
        let _ = post(None).await;
    }
    let (_, before) = memory_mb(pid);
    for i in 0..150 {
        // Half without a cookie, half with one that never existed.
        let cookie = (i % 2 == 1).then(|| format!("{i:064x}"));
        let r = post(cookie).await.expect("answered");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let to = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            to.starts_with("/login?next=") && !to.contains("kept="),
            "{to}"
        );
    }
    let (peak, after) = memory_mb(pid);
    eprintln!("150 anonymous 500 KB posts: RSS {before:.1} -> {after:.1} MB (peak {peak:.1})");
    assert!(
        after - before < 15.0,
        "memory grew {:.1} MB",
        after - before
    );
}

#[tokio::test]
async fn an_older_password_link_stops_working_when_a_newer_one_is_issued() {
    let app = TestApp::spawn().await;
    let _bob = app.user("bob").await;
    let link =
        |body: &str| path_of(between(body, "<code id=\"invite-link\">", "</code>").expect("link"));
    let first = link(&app.post("/admin/users/bob/reset", &[]).await.body);
    let second = link(&app.post("/admin/users/bob/reset", &[]).await.body);
    assert_eq!(
        app.get(&first).await.status,
        StatusCode::GONE,
        "the older link is dead"
    );
    assert_eq!(app.get(&second).await.status, StatusCode::OK);
    let pw = "bob-new-password-long";
    let r = client()
        .post(format!("{}{second}", app.base))
        .form(&[("password", pw), ("confirm", pw)])
        .send()
        .await
        .expect("set");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get(&second).await.status, StatusCode::GONE, "used once");
}

#[tokio::test]
async fn sessions_end_after_their_absolute_lifetime_however_active() {
    let app = TestApp::spawn_with(|a| {
        a.sandbox = true;
        a.session_max = 6;
    })
    .await;
    assert_eq!(app.get("/").await.status, StatusCode::OK);
    // Active all along: the idle timer never runs out, the lifetime does.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let ended = loop {
        let r = app.get("/").await;
        if r.status == StatusCode::SEE_OTHER {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session never ended"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(ended.location.unwrap_or_default().starts_with("/login"));
}

#[tokio::test]
async fn after_sign_in_the_wizard_only_goes_to_its_own_pages() {
    let app = TestApp::spawn().await;
    for (next, expected) in [
        ("/setups?view=archived", "/setups?view=archived"),
        ("/\t/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("//evil.example", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
        ("https://evil.example/", "/"),
        ("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"),
        ("/../../etc/passwd", "/etc/passwd"),
    ] {
        let c = client();
        let r = app
            .post_as(
                &c,
                "/login",
                &[
                    ("name", "admin"),
                    ("password", ADMIN_PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.body);
        assert_eq!(r.location.as_deref(), Some(expected), "{next:?}");
        let form = app
            .get_as(
                &c,
                &format!("/login?next={}", taskcenter_wizard::web::encode(next)),
            )
            .await;
        assert_eq!(form.status, StatusCode::OK, "{next:?}");
    }
}

#[tokio::test]
async fn links_are_built_from_the_public_url_not_the_host_header() {
    let app = TestApp::spawn_with(|a| {
        a.sandbox = true;
        a.public_url = Some("https://wizard.example.com".into());
    })
    .await;
    assert!(
        app.bootstrap_link
            .starts_with("https://wizard.example.com/invite/")
    );
    let r = app
        .client
        .post(format!("{}/admin/users", app.base))
        .header("host", "evil.example")
        .form(&[("name", "bob")])
        .send()
        .await
        .expect("add");
    let body = r.text().await.expect("body");
    let link = between(&body, "<code id=\"invite-link\">", "</code>").expect("link");
    assert!(
        link.starts_with("https://wizard.example.com/invite/"),
        "{link}"
    );
}

#[tokio::test]
async fn database_wal_key_and_lock_files_are_private_and_one_server_per_file() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn().await;
    app.create_setup("Files").await;
    let db = app.db_path();
    for suffix in ["", "-wal", "-shm", ".key", ".lock"] {
        let p = format!("{}{suffix}", db.display());
        let mode = std::fs::metadata(&p).expect(&p).permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{p}");
    }
    let second = taskcenter_wizard::start(&taskcenter_wizard::config::ServeArgs::for_database(
        db.clone(),
    ))
    .await;
    let e = second.err().map(|e| format!("{e:#}")).unwrap_or_default();
    assert!(
        e.contains("another taskcenter-wizard is already using"),
        "{e}"
    );
}

/// A raw HTTP/1.1 exchange, for what clients do not send on purpose.
async fn raw(addr: &str, request: &[u8], body: &[&[u8]]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("head");
    for part in body {
        if s.write_all(part).await.is_err() {
            break;
        }
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn oversized_chunked_bodies_bad_text_and_wrong_methods_get_pages() {
    let app = TestApp::spawn().await;
    let addr = app.base.trim_start_matches("http://").to_string();
    // 33 MB in chunks, no Content-Length: past what the server reads.
    let chunk = format!("{:x}\r\n{}\r\n", 1024 * 1024, "a".repeat(1024 * 1024));
    let mut parts: Vec<Vec<u8>> = vec![b"5\r\nname=\r\n".to_vec()];
    for _ in 0..33 {
        parts.push(chunk.clone().into_bytes());
    }
    parts.push(b"0\r\n\r\n".to_vec());
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let resp = raw(&addr, head.as_bytes(), &refs).await;
    assert!(
        resp.starts_with("HTTP/1.1 413"),
        "{}",
        &resp[..resp.len().min(300)]
    );
    assert!(resp.contains("What you sent is too large"));

    let bad = b"name=%FF%FEadmin&password=x";
    let r = app
        .client
        .post(format!("{}/login", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(bad.to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = r.text().await.expect("body");
    assert!(
        body.contains("not text (UTF-8)") && body.contains("<h1"),
        "{body}"
    );

    let r = app.get("/logout").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers.get("allow").is_some());
    assert!(
        r.body.contains("This address does not work that way"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn sigterm_lets_requests_in_flight_finish() {
    let dir = temp_dir();
    let db = dir.path().join("term.db");
    let envs: Vec<(&str, &std::ffi::OsStr)> = vec![
        ("WIZARD_LISTEN", "127.0.0.1:0".as_ref()),
        ("WIZARD_DATABASE", db.as_os_str()),
    ];
    let mut bin = start_binary(&[], &envs).await;
    let pid = bin.child.id().expect("pid");
    let addr = bin.addr.clone();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = "name=admin&password=not-the-password";
    let mut s = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("head");
    s.write_all(&body.as_bytes()[..10]).await.expect("part");
    // The shell's own kill: no procps needed on a fresh machine.
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("kill -TERM {pid}")])
        .status()
        .expect("kill");
    assert!(status.success());
    let log = bin.log.clone();
    until("the server to take the signal", || {
        let log = log.clone();
        async move {
            log.lock()
                .expect("log")
                .iter()
                .any(|l| l.contains("SIGTERM received"))
        }
    })
    .await;
    s.write_all(&body.as_bytes()[10..]).await.expect("rest");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let resp = String::from_utf8_lossy(&out);
    assert!(
        resp.starts_with("HTTP/1.1 401"),
        "the request in flight was answered: {resp}"
    );
    let exit = tokio::time::timeout(Duration::from_secs(10), bin.child.wait())
        .await
        .expect("exits")
        .expect("status");
    assert!(exit.success(), "{exit:?}");
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn expired_sessions_are_pruned_from_memory_and_the_database() {
    use taskcenter_wizard::store::{Cipher, SessionLimits, Store};
    let dir = temp_dir();
    let store = Store::open(
        &dir.path().join("prune.db"),
        Cipher::from_hex(&"ab".repeat(32)).expect("key"),
        taskcenter_wizard::playbook::STORE,
        Default::default(),
    )
    .await
    .expect("open");
    let link = store
        .create_invite(Some("bob"), false, "test", 3600, 0)
        .await
        .expect("invite");
    let bob = store
        .redeem_invite(&link, "bob", "bob-password-long".into(), 0)
        .await
        .expect("redeem")
        .expect("bob");
    let (old, fresh) = (
        store.create_session(&bob, 0).await.expect("old"),
        store.create_session(&bob, 990).await.expect("fresh"),
    );
    let limits = SessionLimits {
        idle: 60,
        max: 3600,
    };
    assert_eq!(store.session_count(), 2);
    let pruned = store.prune_sessions(limits, 1000).await.expect("prune");
    assert_eq!(pruned, 1);
    assert_eq!(store.session_count(), 1, "the idle one is gone from memory");
    assert!(store.session(&fresh, limits, 1000).await.is_some());
    assert!(
        store.ended_recently(&old, 1000),
        "its cookie may still carry a kept form"
    );
    drop(store);
    // Gone from the database too: a restart does not bring it back.
    let again = Store::open(
        &dir.path().join("prune.db"),
        Cipher::from_hex(&"ab".repeat(32)).expect("key"),
        taskcenter_wizard::playbook::STORE,
        Default::default(),
    )
    .await
    .expect("reopen");
    assert_eq!(again.session_count(), 0, "sessions load when used");
    assert!(again.session(&old, limits, 1000).await.is_none());
    assert!(again.session(&fresh, limits, 1000).await.is_some());
    assert_eq!(again.session_count(), 1);
    // Unused for a quarter of an hour, a live session leaves memory only.
    let long = SessionLimits {
        idle: 8 * 3600,
        max: 7 * 86_400,
    };
    let later = 1000 + 16 * 60;
    assert_eq!(again.prune_sessions(long, later).await.expect("prune"), 0);
    assert_eq!(again.session_count(), 0, "not kept in memory");
    assert!(
        again.session(&fresh, long, later).await.is_some(),
        "still signed in"
    );
    assert_eq!(again.session_count(), 1);
}
