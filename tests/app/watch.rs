//! The watch after handover (issue 22): a watched setup, changed behind the
//! wizard's back in the cockpit, turns failing with the change named, is
//! reported once to the webhook, and turns healthy again after the fix; its
//! schedule outlives a restart.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

const WEBHOOK: &str = "https://acme.webhook.office.com/webhookb2/3f1c-watch-test";

/// A local SMTP server that keeps every message it is given (RFC 5321's
/// happy path: greeting, EHLO, MAIL, RCPT, DATA, QUIT).
async fn smtp_sink() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = got.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                let (mut data, mut message) = (false, String::new());
                while let Ok(Some(line)) = lines.next_line().await {
                    if data {
                        if line == "." {
                            data = false;
                            keep.lock()
                                .expect("lock")
                                .push(std::mem::take(&mut message));
                            let _ = w.write_all(b"250 kept\r\n").await;
                        } else {
                            message.push_str(&line);
                            message.push('\n');
                        }
                        continue;
                    }
                    let reply: &[u8] =
                        match line.get(..4).unwrap_or("").to_ascii_uppercase().as_str() {
                            "EHLO" | "HELO" => b"250 sink\r\n",
                            "DATA" => {
                                data = true;
                                b"354 end with .\r\n"
                            }
                            "QUIT" => b"221 bye\r\n",
                            _ => b"250 ok\r\n",
                        };
                    let _ = w.write_all(reply).await;
                }
            });
        }
    });
    (addr, got)
}

/// The watch page once a run after `runs` earlier ones was recorded.
async fn after_run(app: &TestApp, id: &str, runs: usize) -> String {
    let started = Instant::now();
    loop {
        let p = app.get(&format!("/setups/{id}/watch")).await.body;
        if p.matches("<h3>").count() > runs {
            return p;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no run: {p}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// "Check now" on the watch page: due at the next tick.
async fn check_now(app: &TestApp, id: &str) {
    let r = app
        .post(&format!("/setups/{id}/watch"), &[("action", "run")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

/// Renew the subaccount's trust certificate in BTP (the Destination service).
async fn renew_trust(app: &TestApp, token: &str) {
    let renewed = client()
        .post(app.sandbox_url("/destination-configuration/v1/saml2Metadata/certificate"))
        .bearer_auth(token)
        .send()
        .await
        .expect("renew");
    assert!(renewed.status().is_success(), "{}", renewed.status());
}

/// Step 3.2 fetches the certificate the subaccount signs with now.
async fn fetch_trust(app: &TestApp, id: &str) {
    let r = app
        .post(&format!("/setups/{id}/pages/step-3-2/run"), &[])
        .await;
    assert!(r.status.is_redirection(), "{}", r.body);
}

async fn webhooks(app: &TestApp) -> Vec<Value> {
    get_json(app.sandbox_url("/_sandbox/webhooks"))
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_watched_setup_names_a_change_in_the_cockpit_tells_the_webhook_once_and_recovers() {
    let (smtp, mails) = smtp_sink().await;
    let app = TestApp::spawn_with(|a| {
        a.smtp_url = Some(format!("smtp://{smtp}"));
        a.sandbox = true;
        a.timeout = 10;
        a.connect_timeout = 5;
        a.watch_tick = 1;
        a.metrics_token = Some("metrics-token-for-the-test".into());
    })
    .await;
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
    let r = app.apply_destination(&id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Watching needs at least 15 minutes between runs.
    let r = app
        .post(
            &format!("/setups/{id}/watch"),
            &[("minutes", "5"), ("action", "save")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("at least 15"), "{}", r.body);
    let r = app
        .post(
            &format!("/setups/{id}/watch"),
            &[
                ("minutes", "1440"),
                ("webhook", WEBHOOK),
                (
                    "emails",
                    "Ops <ops@consultancy.example>\nada.admin@acme.example",
                ),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let first = after_run(&app, &id, 0).await;
    assert!(
        first.contains("State: <strong class=\"tag\">healthy</strong>"),
        "{first}"
    );
    assert!(!first.contains(WEBHOOK), "the webhook is shown masked");
    assert!(
        webhooks(&app).await.is_empty(),
        "a first healthy run is not news"
    );

    // Someone removes tc.enabled from the destination in the cockpit.
    let status = edit_destination(&app, &demo, "S4HANACloud", |d| {
        if let Some(o) = d.as_object_mut() {
            o.remove("tc.enabled");
        }
    })
    .await;
    assert!(status.is_success());
    let r = app
        .post(&format!("/setups/{id}/watch"), &[("action", "run")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let failing = after_run(&app, &id, 1).await;
    assert!(
        failing.contains("State: <strong class=\"tag\">failing</strong>"),
        "{failing}"
    );
    assert!(
        failing.contains("Pass → Fail, first seen between") && failing.contains("tc.enabled"),
        "the drift is named: {failing}"
    );
    let sent = webhooks(&app).await;
    assert_eq!(sent.len(), 1, "one notification for the change: {sent:?}");
    // The e-mails follow the webhook: wait for them a little.
    let started = Instant::now();
    while mails.lock().expect("lock").len() < 2 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = mails.lock().expect("lock").clone();
    assert_eq!(
        got.len(),
        2,
        "one e-mail to each of the two addresses: {got:?}"
    );
    assert!(
        got.iter().all(
            |m| m.contains("Subject: Task Center integration ACME Demo: failing")
                && m.contains("tc.enabled")
        ),
        "{got:?}"
    );
    assert_eq!(sent[0]["state"], "failing");
    assert_eq!(sent[0]["previous"], "healthy");
    let text = sent[0].to_string();
    let mailed = got.join("\n");
    for secret in ["dest_clientsecret", "tc_clientsecret", "comm_password"] {
        let s = demo[secret].as_str().unwrap_or("-");
        assert!(
            !text.contains(s) && !mailed.contains(s),
            "no secret in a notification ({secret})"
        );
    }

    // Put right: healthy again, told once more.
    let status = edit_destination(&app, &demo, "S4HANACloud", |d| {
        d["tc.enabled"] = "true".into();
    })
    .await;
    assert!(status.is_success());
    check_now(&app, &id).await;
    let healthy = after_run(&app, &id, 2).await;
    assert!(
        healthy.contains("State: <strong class=\"tag\">healthy</strong>"),
        "{healthy}"
    );
    assert_eq!(webhooks(&app).await.len(), 2);

    // The IAS application's subject name identifier changed to the e-mail
    // (failure mode 19): failing, named, told; then back.
    let subject = |v: &'static str| {
        let url = app.sandbox_url("/_sandbox/settings");
        async move {
            let r = client()
                .post(url)
                .form(&[("subject", v)])
                .send()
                .await
                .expect("subject");
            assert!(r.status().is_success());
        }
    };
    subject("email").await;
    check_now(&app, &id).await;
    let ias = after_run(&app, &id, 3).await;
    assert!(
        ias.contains("State: <strong class=\"tag\">failing</strong>"),
        "{ias}"
    );
    assert!(
        ias.contains("User UUID") && ias.contains("first seen between"),
        "{ias}"
    );
    assert_eq!(webhooks(&app).await.len(), 3);
    subject("user_uuid").await;
    check_now(&app, &id).await;
    let healthy = after_run(&app, &id, 4).await;
    assert!(
        healthy.contains("State: <strong class=\"tag\">healthy</strong>"),
        "{healthy}"
    );

    // /metrics, for the bearer of the token only.
    let metrics = |token: Option<&'static str>| {
        let url = format!("{}/metrics", app.base);
        async move {
            let mut r = client().get(url);
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            let r = r.send().await.expect("metrics");
            (r.status(), r.text().await.unwrap_or_default())
        }
    };
    assert_eq!(metrics(None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(metrics(Some("wrong")).await.0, StatusCode::UNAUTHORIZED);
    let (status, text) = metrics(Some("metrics-token-for-the-test")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("taskcenter_wizard_watched_setups{state=\"healthy\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("taskcenter_wizard_watch_runs_total 5"),
        "{text}"
    );
    let calls: u64 = text
        .lines()
        .find(|l| l.starts_with("taskcenter_wizard_sap_calls_total{service=\"destination\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(calls > 0, "{text}");

    // The trust certificate renewed in BTP, not given to S/4HANA (failure
    // mode 13): failing, named; fetched on step 3.2 again: healthy.
    let token = dest_token(&app, &demo).await;
    renew_trust(&app, &token).await;
    check_now(&app, &id).await;
    let cert = after_run(&app, &id, 5).await;
    assert!(
        cert.contains("State: <strong class=\"tag\">failing</strong>"),
        "{cert}"
    );
    assert!(
        cert.contains("The trust certificate given to S/4HANA is the subaccount&#39;s current one: Pass → Fail")
            && cert.contains("Failure mode 13"),
        "{cert}"
    );
    fetch_trust(&app, &id).await;
    check_now(&app, &id).await;
    let healthy = after_run(&app, &id, 6).await;
    assert!(
        healthy.contains("State: <strong class=\"tag\">healthy</strong>"),
        "{healthy}"
    );
    assert_eq!(webhooks(&app).await.len(), 6);

    // A renewal that runs out in 29 days, given to S/4HANA: the dates
    // ahead turn the watch to warning (60 days ahead), told once.
    let r = client()
        .post(app.sandbox_url("/_sandbox/settings"))
        .form(&[("trust_days_left", "29")])
        .send()
        .await
        .expect("settings");
    assert!(r.status().is_success());
    renew_trust(&app, &token).await;
    fetch_trust(&app, &id).await;
    check_now(&app, &id).await;
    let soon = after_run(&app, &id, 7).await;
    assert!(
        soon.contains("State: <strong class=\"tag\">warning</strong>"),
        "{soon}"
    );
    assert!(
        soon.contains("It expires in 28 days") || soon.contains("It expires in 29 days"),
        "{soon}"
    );
    assert_eq!(webhooks(&app).await.len(), 7);
    assert_eq!(webhooks(&app).await[6]["state"], "warning");

    // The overview lists it; a restart keeps the schedule.
    let all = app.get("/watch").await.body;
    assert!(
        all.contains(&format!("/setups/{id}/watch")) && all.contains("warning"),
        "{all}"
    );
    let due = between(&soon, "next run ", ",").unwrap_or("").to_string();
    assert!(!due.is_empty(), "{soon}");
    let app = app.restart().await;
    let after = app.get(&format!("/setups/{id}/watch")).await.body;
    assert!(after.contains(&format!("next run {due},")), "{after}");
    let off = client()
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("metrics");
    assert_eq!(
        off.status(),
        StatusCode::NOT_FOUND,
        "off without --metrics-token"
    );
}
