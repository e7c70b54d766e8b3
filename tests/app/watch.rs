//! The watch after handover (issue 22): a watched setup, changed behind the
//! wizard's back in the cockpit, turns failing with the change named, is
//! reported once to the webhook, and turns healthy again after the fix; its
//! schedule outlives a restart.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

const WEBHOOK: &str = "https://acme.webhook.office.com/webhookb2/3f1c-watch-test";
/// The consultancy's channel (`--watch-webhook`), told of every setup.
const CONSULTANCY: &str = "https://consultancy.webhook.office.com/webhookb2/all-customers";

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

/// A watched setup and what it has told so far: each change of state is
/// told exactly once, to the webhook and to each of its two addresses.
struct Watched<'a> {
    app: &'a TestApp,
    id: String,
    runs: usize,
    told: usize,
    /// Webhooks told of each change: the setup's, and `--watch-webhook`'s.
    hooks: usize,
    mails: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Watched<'_> {
    /// "Check now", and the page once the run is recorded.
    async fn check(&mut self) -> String {
        check_now(self.app, &self.id).await;
        let p = after_run(self.app, &self.id, self.runs).await;
        self.runs += 1;
        p
    }

    /// The state the last run came to, as the page shows it.
    fn state(page: &str) -> &str {
        between(page, "State: <strong class=\"tag", "</strong>")
            .and_then(|t| t.split_once('>'))
            .map_or("", |(_, state)| state)
    }

    /// Exactly one more webhook and one more e-mail to each address, for
    /// the change to `state`; the messages, webhook first.
    async fn told_once(&mut self, state: &str) -> (Value, Vec<String>) {
        self.told += 1;
        // The run is on the page before its messages are out: wait a little.
        let started = Instant::now();
        let mut sent = webhooks(self.app).await;
        while sent.len() < self.told * self.hooks && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            sent = webhooks(self.app).await;
        }
        assert_eq!(
            sent.len(),
            self.told * self.hooks,
            "one message to each webhook a change: {sent:?}"
        );
        let news = &sent[sent.len() - self.hooks..];
        assert!(news.iter().all(|n| n["state"] == state), "{news:?}");
        let mut reached: Vec<&str> = news.iter().filter_map(|n| n["_webhook"].as_str()).collect();
        reached.sort();
        reached.dedup();
        assert_eq!(reached.len(), self.hooks, "each webhook once: {news:?}");
        let last = news[0].clone();
        // The e-mails follow the webhook: wait for them a little.
        let started = Instant::now();
        while self.mails.lock().expect("lock").len() < 2 * self.told
            && started.elapsed() < Duration::from_secs(20)
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let got = self.mails.lock().expect("lock").clone();
        assert_eq!(
            got.len(),
            2 * self.told,
            "one e-mail to each address: {got:?}"
        );
        let new = got[got.len() - 2..].to_vec();
        assert!(
            new.iter().all(|m| m.contains(&format!(
                "Subject: Task Center integration ACME Demo: {state}"
            ))),
            "{new:?}"
        );
        (last, new)
    }

    /// A run that came to `state` again told no one (the digest waits a day).
    async fn quiet(&mut self, state: &str) {
        let p = self.check().await;
        assert_eq!(Self::state(&p), state, "{p}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(webhooks(self.app).await.len(), self.told * self.hooks);
        assert_eq!(self.mails.lock().expect("lock").len(), 2 * self.told);
    }
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
            "step-3-5", "step-4", "step-5",
        ],
    )
    .await;
    // Step 6 with the approvers' Global User IDs and the SCIM API user,
    // and S/4HANA holding them: the watch reads them back each run.
    let users = demo["users"].as_array().cloned().unwrap_or_default();
    let approvers: Vec<String> = users
        .iter()
        .map(|u| {
            format!(
                "{}, {}",
                u[0].as_str().unwrap_or(""),
                u[1].as_str().unwrap_or("")
            )
        })
        .collect();
    let scim = &demo["s4_api_users"][1];
    let shown = app.get(&format!("/setups/{id}/pages/step-6")).await.body;
    let ticks = checkbox_values(&shown, "step6_confirm");
    let joined = approvers.join("\n");
    let mut form: Vec<(&str, &str)> = vec![
        ("approvers", joined.as_str()),
        ("scim_api_user", scim[0].as_str().unwrap_or("")),
        ("scim_api_password", scim[1].as_str().unwrap_or("")),
    ];
    form.extend(ticks.iter().map(|v| ("step6_confirm", v.as_str())));
    let r = app.save(&id, "step-6", &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let s4 = |what: &'static str, email: String| {
        let url = app.sandbox_url("/_sandbox/s4");
        async move {
            let r = client()
                .post(url)
                .form(&[(what, email)])
                .send()
                .await
                .expect("s4");
            assert_eq!(r.status(), StatusCode::OK);
        }
    };
    for u in &users {
        s4("set_global_id", u[0].as_str().unwrap_or("").to_string()).await;
    }
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
    let mut w = Watched {
        app: &app,
        id: id.clone(),
        runs: 1,
        told: 0,
        hooks: 1,
        mails: mails.clone(),
    };
    assert_eq!(Watched::state(&first), "healthy", "{first}");
    assert!(
        first.contains("S/4HANA holds the Global User IDs"),
        "the watch reads S/4HANA's Global User IDs: {first}"
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
    let failing = w.check().await;
    assert_eq!(Watched::state(&failing), "failing", "{failing}");
    assert!(
        failing.contains("Pass → Fail, first seen between") && failing.contains("tc.enabled"),
        "the drift is named: {failing}"
    );
    let (sent, mailed) = w.told_once("failing").await;
    assert!(
        mailed.iter().all(|m| m.contains("tc.enabled")),
        "{mailed:?}"
    );
    assert_eq!(sent["previous"], "healthy");
    assert!(
        sent["text"].as_str().unwrap_or("").contains("tc.enabled"),
        "{sent}"
    );
    let text = sent.to_string();
    let mailed = mailed.join("\n");
    for secret in ["dest_clientsecret", "tc_clientsecret", "comm_password"] {
        let s = demo[secret].as_str().unwrap_or("-");
        assert!(
            !text.contains(s) && !mailed.contains(s),
            "no secret in a notification ({secret})"
        );
    }
    // Failing again on the next run: nobody is told again that day.
    w.quiet("failing").await;

    // Put right: healthy again, told once more.
    let status = edit_destination(&app, &demo, "S4HANACloud", |d| {
        d["tc.enabled"] = "true".into();
    })
    .await;
    assert!(status.is_success());
    let healthy = w.check().await;
    assert_eq!(Watched::state(&healthy), "healthy", "{healthy}");
    w.told_once("healthy").await;

    // Identity Provisioning cleared an approver's Global User ID in S/4HANA
    // (failure mode 30): failing, named, told once; set again: healthy.
    let anna = users[0][0].as_str().unwrap_or("").to_string();
    s4("clear_global_id", anna.clone()).await;
    let cleared = w.check().await;
    assert_eq!(Watched::state(&cleared), "failing", "{cleared}");
    assert!(
        cleared.contains("S/4HANA holds the Global User IDs: Pass → Fail, first seen between")
            && cleared.contains(&format!("{anna}: none instead of"))
            && cleared.contains("failure mode 30"),
        "{cleared}"
    );
    let (sent, _) = w.told_once("failing").await;
    assert!(
        sent["text"]
            .as_str()
            .unwrap_or("")
            .contains("Global User IDs"),
        "{sent}"
    );
    s4("set_global_id", anna.clone()).await;
    let healthy = w.check().await;
    assert_eq!(Watched::state(&healthy), "healthy", "{healthy}");
    w.told_once("healthy").await;

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
    let ias = w.check().await;
    assert_eq!(Watched::state(&ias), "failing", "{ias}");
    assert!(
        ias.contains("User UUID") && ias.contains("first seen between"),
        "{ias}"
    );
    w.told_once("failing").await;
    subject("user_uuid").await;
    let healthy = w.check().await;
    assert_eq!(Watched::state(&healthy), "healthy", "{healthy}");
    w.told_once("healthy").await;

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
        text.contains(&format!("taskcenter_wizard_watch_runs_total {}", w.runs)),
        "{text}"
    );
    let calls: u64 = text
        .lines()
        .find(|l| l.starts_with("taskcenter_wizard_sap_calls_total{service=\"destination\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(calls > 0, "{text}");
    let peak: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("taskcenter_wizard_watch_sap_calls_in_flight_peak "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        (1..=8).contains(&peak),
        "the watch's calls in flight: {text}"
    );

    // The trust certificate renewed in BTP, not given to S/4HANA (failure
    // mode 13): failing, named; fetched on step 3.2 again: healthy.
    let token = dest_token(&app, &demo).await;
    renew_trust(&app, &token).await;
    let cert = w.check().await;
    assert_eq!(Watched::state(&cert), "failing", "{cert}");
    assert!(
        cert.contains("The trust certificate given to S/4HANA is the subaccount&#39;s current one: Pass → Fail")
            && cert.contains("Failure mode 13"),
        "{cert}"
    );
    w.told_once("failing").await;
    fetch_trust(&app, &id).await;
    let healthy = w.check().await;
    assert_eq!(Watched::state(&healthy), "healthy", "{healthy}");
    w.told_once("healthy").await;

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
    let soon = w.check().await;
    assert_eq!(Watched::state(&soon), "warning", "{soon}");
    assert!(
        soon.contains("It expires in 28 days") || soon.contains("It expires in 29 days"),
        "{soon}"
    );
    w.told_once("warning").await;

    // The overview lists it; a restart keeps the schedule.
    let all = app.get("/watch").await.body;
    assert!(
        all.contains(&format!("/setups/{id}/watch")) && all.contains("warning"),
        "{all}"
    );
    // Filtered by customer (name or host), owner and state.
    let listed = |q: String| {
        let app = &app;
        let row = format!("/setups/{id}/watch");
        async move {
            let p = app.get(&format!("/watch?{q}")).await;
            assert_eq!(p.status, StatusCode::OK, "{q}");
            p.body.contains(&row)
        }
    };
    let host = demo["s4_host"].as_str().unwrap_or("").to_string();
    assert!(listed("q=acme&owner=admin&state=warning".into()).await);
    assert!(listed(format!("q={host}")).await);
    assert!(!listed("state=healthy".into()).await, "another state");
    assert!(!listed("owner=ada".into()).await, "another owner");
    assert!(!listed("q=globex".into()).await, "another customer");
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

/// The watch's own records stay bounded: the newest runs of a setup, and
/// its watch calls of the last weeks (Verify's calls are not the watch's).
#[tokio::test]
async fn the_watch_keeps_its_newest_runs_and_recent_calls_only() {
    use taskcenter_wizard::store::watch::{CALLS_KEPT_SECS, RUNS_KEPT, WatchRun};
    use taskcenter_wizard::store::{CacheLimits, Cipher, Store};
    let dir = temp_dir();
    let store = Store::open(
        &dir.path().join("watch.db"),
        Cipher::from_hex(PG_KEY).expect("key"),
        taskcenter_wizard::playbook::STORE,
        CacheLimits {
            setups: 10,
            idle_secs: 60,
        },
    )
    .await
    .expect("open");
    let invite = store
        .create_invite(Some("ada"), false, "test", 60, 0)
        .await
        .expect("invite");
    let ada = store
        .redeem_invite(&invite, "ada", "a long passphrase".into(), 0)
        .await
        .expect("redeem")
        .expect("user");
    let setup = store.create_setup("Kept", ada.id, 0).await.expect("setup");
    store
        .set_watch(&setup.id, 900, None, None, 0)
        .await
        .expect("watch");
    let call = |at: i64| taskcenter_wizard::sap::CallRecord {
        at,
        method: "GET".into(),
        url: "https://example.invalid/".into(),
        status: Some(200),
        duration_ms: 1,
        outcome: "ok".into(),
    };
    let first = 1_800_000_000;
    store
        .record_calls(&setup.id, "verify", "ada", &[call(first)])
        .await
        .expect("verify call");
    let runs = RUNS_KEPT + 5;
    for n in 0..runs {
        let at = first + n * 86_400;
        store
            .record_calls(&setup.id, "watch", "watch", &[call(at)])
            .await
            .expect("calls");
        let run = WatchRun {
            at,
            state: "healthy".into(),
            checks: "[]".into(),
            drift: "[]".into(),
        };
        store
            .finish_watch_run(&setup.id, &run, false, false, at + 900)
            .await
            .expect("run");
    }
    let kept = store.watch_runs(&setup.id, 1_000).await.expect("runs");
    assert_eq!(kept.len() as i64, RUNS_KEPT, "the newest runs only");
    assert_eq!(kept[0].at, first + (runs - 1) * 86_400, "the newest first");
    let calls = store.calls(&setup.id).await.expect("calls");
    let watch: Vec<_> = calls.iter().filter(|(p, _, _)| p == "watch").collect();
    assert_eq!(
        watch.len() as i64,
        CALLS_KEPT_SECS / 86_400 + 1,
        "the watch's calls of the last 30 days"
    );
    assert!(
        calls.iter().any(|(p, _, _)| p == "verify"),
        "Verify's call stays"
    );
}

/// Failure mode 27 after the handover: the push key S/4HANA's outbound user
/// holds is deleted in the cockpit. The watch names it, tells it once; the
/// guided rotation (a new key through Service Manager, S/4HANA's outbound
/// user given it, a token got with it, the old key left to the cockpit)
/// puts it right, and the watch tells that once too.
#[tokio::test]
async fn a_push_key_deleted_in_the_cockpit_is_told_once_and_rotated_in_sap_order() {
    let (smtp, mails) = smtp_sink().await;
    let app = TestApp::spawn_with(|a| {
        a.smtp_url = Some(format!("smtp://{smtp}"));
        a.sandbox = true;
        a.watch_tick = 1;
        a.watch_webhook = Some(CONSULTANCY.into());
    })
    .await;
    let demo = app.demo().await;
    let id = demo_setup(
        &app,
        &demo,
        &[
            "facts", "step-1", "step-2", "booster", "step-3-1", "step-3-2", "step-3-3",
        ],
    )
    .await;
    // The push key through Service Manager, S/4HANA's half through its API
    // (with the outbound user), the destination with tc.clientId.
    app.use_service_manager(&id, &demo, false).await;
    let confirmed = |slug: &'static str| {
        let (app, id) = (&app, &id);
        async move {
            let (plan, done) = app.confirm_plan(id, slug).await;
            assert_eq!(done.status, StatusCode::OK, "{slug}: {}", done.body);
            (plan.body, done.body)
        }
    };
    confirmed("push-key").await;
    assert_eq!(
        save_s4_api_user(&app, &demo, &id).await.status,
        StatusCode::OK
    );
    let (plan, _) = confirmed("s4-setup").await;
    assert!(plan.contains("Outbound user (push)"), "{plan}");
    let mut step4 = demo_answers(&demo, "step-4");
    step4.retain(|(k, _)| *k != "push");
    step4.push(("push", "yes".into()));
    let r = save_ticking_all(&app, &id, "step-4", &step4).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = app.apply_destination(&id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let r = app
        .post(
            &format!("/setups/{id}/watch"),
            &[
                ("minutes", "60"),
                ("emails", "ops@consultancy.example\nada.admin@acme.example"),
                ("webhook", WEBHOOK),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let first = after_run(&app, &id, 0).await;
    let before = Watched::state(&first).to_string();
    assert_ne!(before, "failing", "{first}");
    assert!(
        first.contains("The push key S/4HANA pushes with gets a token: Pass"),
        "{first}"
    );
    let mut w = Watched {
        app: &app,
        id: id.clone(),
        runs: 1,
        told: 0,
        hooks: 2,
        mails: mails.clone(),
    };
    if before != "healthy" {
        // From unchecked to a warning is news too.
        w.told_once(&before).await;
    }

    // Housekeeping in the cockpit: someone deletes the key tc-push-key.
    let sm_token = client_token(&app, &demo, "sm").await;
    let keys = service_manager_list(
        &app,
        &demo,
        "/v1/service_bindings?fieldQuery=name%20eq%20%27tc-push-key%27",
    )
    .await;
    let old = keys["items"][0]["id"].as_str().unwrap_or("").to_string();
    assert!(!old.is_empty(), "{keys}");
    let gone = client()
        .delete(app.sandbox_url(&format!("/v1/service_bindings/{old}")))
        .bearer_auth(&sm_token)
        .send()
        .await
        .expect("delete");
    assert_eq!(gone.status(), StatusCode::OK);

    let failing = w.check().await;
    assert_eq!(Watched::state(&failing), "failing", "{failing}");
    assert!(
        failing.contains(
            "The push key S/4HANA pushes with gets a token: Pass → Fail, first seen between"
        ) && failing.contains("Failure mode 27"),
        "{failing}"
    );
    let (sent, mailed) = w.told_once("failing").await;
    assert!(
        sent["text"].as_str().unwrap_or("").contains("push key"),
        "{sent}"
    );
    assert!(
        mailed.iter().all(|m| m.contains("Failure mode 27")),
        "{mailed:?}"
    );

    // The guided rotation: one plan, confirmed; nothing deleted.
    let page = app.get(&format!("/setups/{id}/rotate-push-key")).await;
    assert_eq!(page.status, StatusCode::OK);
    let (plan, done) = confirmed("rotate-push-key").await;
    assert!(
        plan.contains("Outbound user (push)") && plan.contains("will be created"),
        "{plan}"
    );
    assert!(
        done.contains("S/4HANA&#39;s outbound user now holds the key tc-push-key-")
            && done.contains("S/4HANA&#39;s pushes go through"),
        "{done}"
    );
    let tenant = get_json(app.sandbox_url("/_sandbox/s4")).await;
    let outbound = &tenant["comm"]["outbound"][0];
    let key = app.get(&format!("/setups/{id}/pages/step-3-1")).await.body;
    let new_client = outbound["OAuth2ClientID"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        key.contains(&new_client),
        "step 3.1 holds the new key: {new_client}"
    );
    assert_eq!(
        tenant["comm"]["outbound"].as_array().map_or(0, Vec::len),
        1,
        "the outbound user is edited, not duplicated"
    );
    let all = service_manager_list(&app, &demo, "/v1/service_bindings").await;
    let new_key = all["items"]
        .as_array()
        .and_then(|k| {
            k.iter().find(|b| {
                b["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("tc-push-key-"))
            })
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        outbound["Password"], new_key["credentials"]["uaa"]["clientsecret"],
        "S/4HANA's outbound user holds the new key's secret: {new_key}"
    );
    // With a client ID of its own, tc.clientId follows: the destination again.
    let r = app.apply_destination(&id).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let fixed = w.check().await;
    assert_eq!(Watched::state(&fixed), before, "{fixed}");
    w.told_once(&before).await;

    // The communication user's password, rotated on both sides in one
    // plan; S/4HANA refusing first loses nothing, the second try finishes.
    let secret_of = |tenant: &Value| {
        tenant["comm"]["users"]
            .as_array()
            .and_then(|u| u.iter().find(|u| u["Name"] == demo["comm_user"]))
            .map(|u| u["Password"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    let old_password = secret_of(&get_json(app.sandbox_url("/_sandbox/s4")).await);
    assert!(!old_password.is_empty());
    let plan = app
        .post(&format!("/setups/{id}/rotate-comm-password/plan"), &[])
        .await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.body);
    assert_eq!(
        plan.body.matches("will be changed").count(),
        2,
        "{}",
        plan.body
    );
    app.fault("s4-comm-user-write", "500").await;
    let refused = app
        .post(
            &format!("/setups/{id}/rotate-comm-password/apply"),
            &[("fingerprint", &fingerprint(&plan.body))],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("S/4HANA did not take the new password"),
        "{}",
        refused.body
    );
    assert_eq!(
        secret_of(&get_json(app.sandbox_url("/_sandbox/s4")).await),
        old_password,
        "nothing changed in S/4HANA"
    );
    app.fault("s4-comm-user-write", "none").await;
    confirmed("rotate-comm-password").await;
    let new_password = secret_of(&get_json(app.sandbox_url("/_sandbox/s4")).await);
    assert!(new_password.len() >= 20 && new_password != old_password);
    let token = dest_token(&app, &demo).await;
    let d = get_with(
        app.sandbox_url("/destination-configuration/v1/subaccountDestinations/S4HANACloud"),
        &token,
    )
    .await;
    assert_eq!(
        d["tokenServicePassword"].as_str(),
        Some(new_password.as_str()),
        "the destination signs in with S/4HANA's new password"
    );
    let page = app
        .get(&format!("/setups/{id}/rotate-comm-password"))
        .await
        .body;
    assert!(!page.contains(&new_password), "never shown");
    w.quiet(&before).await;

    // The IDS destination's credentials: a secret IAS refuses never reaches
    // the destination; one it accepts does.
    const IDS: &str = "Identity_Authentication_Connectivity_IDS";
    let ids_password = || {
        let app = &app;
        let demo = &demo;
        async move {
            let token = dest_token(app, demo).await;
            let d = get_with(
                app.sandbox_url(&format!(
                    "/destination-configuration/v1/subaccountDestinations/{IDS}"
                )),
                &token,
            )
            .await;
            d["Password"].as_str().unwrap_or("").to_string()
        }
    };
    let right = demo["ias_clientsecret"].as_str().unwrap_or("").to_string();
    let save_secret = |secret: String| {
        let (app, id, demo) = (&app, &id, &demo);
        async move {
            let mut form = demo_answers(demo, "step-2");
            form.retain(|(k, _)| *k != "ias_client_secret");
            form.push(("ias_client_secret", secret));
            let r = save_ticking_all(app, id, "step-2", &form).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        }
    };
    save_secret("not-what-ias-has-0123456789".into()).await;
    let plan = app
        .post(&format!("/setups/{id}/rotate-ids/plan"), &[])
        .await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.body);
    assert!(plan.body.contains("(another value)"), "{}", plan.body);
    let refused = app
        .post(
            &format!("/setups/{id}/rotate-ids/apply"),
            &[("fingerprint", &fingerprint(&plan.body))],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY, "{}", refused.body);
    assert!(
        refused.body.contains("Identity Authentication refuses"),
        "{}",
        refused.body
    );
    assert_eq!(
        ids_password().await,
        right,
        "the destination left as it was"
    );
    save_secret(right.clone()).await;
    let status = edit_destination(&app, &demo, IDS, |d| {
        d["Password"] = "changed-in-the-cockpit".into();
    })
    .await;
    assert!(status.is_success());
    let (_, done) = confirmed("rotate-ids").await;
    assert!(done.contains("Delete the old secret"), "{done}");
    assert_eq!(ids_password().await, right);
}
