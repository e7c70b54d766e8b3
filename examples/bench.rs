//! Benchmark: the wizard's authenticated pages against a bare axum handler and
//! a one-query sqlx + askama page, all measured by wrk in the same run; plus
//! resident memory, page sizes and a Verify run with slow SAP endpoints.
//! Run with `bench/run` (release build, loopback only, bounded in time).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Instant;

use askama::Template;
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use tokio::io::AsyncBufReadExt;

const CONNECTIONS: &str = "64";
const SECONDS: &str = "5";
const ROUNDS: usize = 3;

#[derive(Template)]
#[template(
    source = "<!DOCTYPE html><html><head><title>{{ name }}</title></head><body><h1>{{ name }}</h1><p>Created {{ created }}</p></body></html>",
    ext = "html"
)]
struct Baseline {
    name: String,
    created: i64,
}

/// Start the wizard on `db`; its address and the time from start until
/// `/healthz` answers (migrations, upgrades, loading included).
async fn start_timed(
    bin: &std::path::Path,
    db: &std::path::Path,
    http: &reqwest::Client,
) -> (tokio::process::Child, String, std::time::Duration) {
    let started = Instant::now();
    let mut child = tokio::process::Command::new(bin)
        .env("WIZARD_LISTEN", "127.0.0.1:0")
        .env("WIZARD_DATABASE", db)
        .env("RUST_LOG", "warn,taskcenter_wizard=info")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("restart");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut addr = String::new();
    while addr.is_empty() {
        let line = lines.next_line().await.expect("log").expect("log line");
        if let Some(r) = line.split("ready at http://").nth(1) {
            addr = r.split_whitespace().next().unwrap_or("").into();
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let base = format!("http://{addr}");
    loop {
        if http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let to_health = started.elapsed();
    (child, base, to_health)
}

/// Start the wizard in sandbox mode on `db`: the process, its pid, its
/// address, the first administrator's link (when `first`) and the sandbox's.
async fn start_sandboxed(
    bin: &std::path::Path,
    db: &std::path::Path,
    first: bool,
) -> (tokio::process::Child, u32, String, String, String) {
    let mut child = tokio::process::Command::new(bin)
        .env("WIZARD_LISTEN", "127.0.0.1:0")
        .env("WIZARD_DATABASE", db)
        .env("WIZARD_SANDBOX", "true")
        .env("WIZARD_SANDBOX_LISTEN", "127.0.0.1:0")
        .env("WIZARD_WATCH_TICK", "1")
        .env("WIZARD_METRICS_TOKEN", "bench-metrics-token")
        .env("RUST_LOG", "warn,taskcenter_wizard=info")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start target/release/taskcenter-wizard (cargo build --release first)");
    let pid = child.id().expect("pid");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut addr, mut link, mut sandbox) = (String::new(), String::new(), String::new());
    while addr.is_empty() || (first && link.is_empty()) || sandbox.is_empty() {
        let line = lines.next_line().await.expect("log").expect("log line");
        if let Some(r) = line.split("ready at http://").nth(1) {
            addr = r.split_whitespace().next().unwrap_or("").into();
        }
        if let Some(r) = line.split("valid 24 hours): ").nth(1) {
            link = r.trim().into();
        }
        if let Some(r) = line.split("the sandbox at ").nth(1) {
            sandbox = r.split(';').next().unwrap_or("").trim().into();
        }
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, pid, addr, link, sandbox)
}

async fn serve(app: Router) -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(l, app).await.expect("serve") });
    addr
}

struct Load {
    rps: f64,
    p50: String,
    p99: String,
}

/// Changes made for the "first view after a change" measurement.
const CHANGES: usize = 300;

fn wrk(url: &str, cookie: Option<&str>) -> Load {
    let mut cmd = std::process::Command::new("wrk");
    cmd.args([
        "-t2",
        "-c",
        CONNECTIONS,
        "-d",
        &format!("{SECONDS}s"),
        "--latency",
    ]);
    if let Some(c) = cookie {
        cmd.args(["-H", &format!("Cookie: {c}")]);
    }
    let out = cmd.arg(url).output().expect("wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!text.contains("Non-2xx"), "{url} answered errors:\n{text}");
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().to_string()))
            .unwrap_or_else(|| panic!("no {prefix} in wrk output:\n{text}"))
    };
    Load {
        rps: field("Requests/sec:").parse().unwrap_or(0.0),
        p50: field("50%"),
        p99: field("99%"),
    }
}

/// The item whose key is the median (the middle one of an odd count).
fn median_by<T: Copy>(items: impl Iterator<Item = T>, key: impl Fn(&T) -> f64) -> T {
    let mut v: Vec<T> = items.collect();
    v.sort_by(|a, b| key(a).total_cmp(&key(b)));
    v[v.len() / 2]
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)
                .map(|v| v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(format!("tcw-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");

    // 1. Bare handler and the one-query baseline, in this process.
    let bare = serve(Router::new().route("/", get(|| async { "ok" }))).await;
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join("baseline.db"))
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(opts)
        .await
        .expect("pool");
    sqlx::query(
        "CREATE TABLE setups (id TEXT PRIMARY KEY, name TEXT NOT NULL, created INTEGER NOT NULL)",
    )
    .execute(&pool)
    .await
    .expect("create");
    sqlx::query("INSERT INTO setups VALUES ('a', 'ACME Germany', 1763886000)")
        .execute(&pool)
        .await
        .expect("insert");
    let baseline = serve(Router::new().route(
        "/",
        get(move || {
            let pool = pool.clone();
            async move {
                let (name, created): (String, i64) =
                    sqlx::query_as("SELECT name, created FROM setups WHERE id = ?")
                        .bind("a")
                        .fetch_one(&pool)
                        .await
                        .expect("row");
                Html(Baseline { name, created }.render().expect("render"))
            }
        }),
    ))
    .await;

    // 2. The wizard: the release binary in its own process, in sandbox mode.
    let bin =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/taskcenter-wizard");
    let (mut child, pid, addr, link, sandbox) =
        start_sandboxed(&bin, &dir.join("wizard.db"), true).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let base = format!("http://{addr}");
    let r = http
        .post(&link)
        .form(&[
            ("name", "bench"),
            ("password", "bench-password-123"),
            ("confirm", "bench-password-123"),
        ])
        .send()
        .await
        .expect("bootstrap");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("cookie")
        .to_string();
    let demo: serde_json::Value = http
        .get(format!("{sandbox}/_sandbox/demo.json"))
        .send()
        .await
        .expect("demo")
        .json()
        .await
        .expect("json");
    let d = |k: &str| demo[k].as_str().unwrap_or_default().to_string();
    let r = http
        .post(format!("{base}/setups"))
        .header("cookie", &cookie)
        .form(&[("name", "ACME Demo GmbH")])
        .send()
        .await
        .expect("create");
    let setup = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_string();
    let save = |page: &'static str, fields: Vec<(&'static str, String)>| {
        let (http, cookie, url) = (
            http.clone(),
            cookie.clone(),
            format!("{base}{setup}/pages/{page}"),
        );
        async move {
            let mut form = vec![
                ("_version", "0".to_string()),
                ("_action", "continue".to_string()),
            ];
            form.extend(fields);
            let r = http
                .post(&url)
                .header("cookie", &cookie)
                .form(&form)
                .send()
                .await
                .expect("save");
            assert_eq!(r.status(), 303, "{page}");
        }
    };
    save(
        "facts",
        vec![
            ("s4_host", d("s4_host")),
            ("s4_client", d("s4_client")),
            ("region", d("region")),
        ],
    )
    .await;
    save(
        "step-1",
        vec![
            ("subdomain", d("subdomain")),
            ("subaccount_id", d("subaccount_id")),
        ],
    )
    .await;
    save(
        "step-2",
        vec![
            ("ias_host", d("ias_host")),
            ("ias_client_id", d("ias_clientid")),
            ("ias_client_secret", d("ias_clientsecret")),
        ],
    )
    .await;
    let tc_key = serde_json::json!({"endpoints": {"inbox_rest_url": d("inbox_rest_url")}, "uaa": {"clientid": d("tc_clientid"), "clientsecret": d("tc_clientsecret"), "url": d("uaa_url"), "tenantid": d("subaccount_id")}}).to_string();
    save("step-3-1", vec![("service_key", tc_key)]).await;
    let dest_key = serde_json::json!({"uri": d("dest_uri"), "url": d("uaa_url"), "clientid": d("dest_clientid"), "clientsecret": d("dest_clientsecret")}).to_string();
    save("step-3-2", vec![("dest_key", dest_key)]).await;
    save(
        "step-3-3",
        vec![
            ("comm_user", d("comm_user")),
            ("comm_password", d("comm_password")),
        ],
    )
    .await;
    save(
        "step-3-4",
        vec![
            ("comm_system_id", "BTP_TASK_CENTER".into()),
            ("comm_system_name", "BTP Task Center".into()),
        ],
    )
    .await;
    save(
        "step-3-5",
        vec![
            ("arrangement_name", "TASK_CENTER_0501".into()),
            ("client_id", d("comm_user")),
            (
                "token_service_url",
                format!(
                    "https://{}/sap/bc/sec/oauth2/token",
                    d("s4_host").replacen(".s4hana", "-api.s4hana", 1)
                ),
            ),
            ("saml2_audience", format!("https://{}", d("s4_host"))),
        ],
    )
    .await;
    save(
        "step-4",
        vec![
            ("destination_name", "S4HANACloud".into()),
            (
                "authn_context",
                "urn:oasis:names:tc:SAML:2.0:ac:classes:X509".into(),
            ),
            ("push", "no".into()),
        ],
    )
    .await;
    let emails: Vec<String> = demo["users"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|u| u[0].as_str().unwrap_or("").to_string())
        .collect();
    save("step-6", vec![("approvers", emails.join("\n"))]).await;

    println!(
        "taskcenter-wizard benchmark: wrk -t2 -c{CONNECTIONS} -d{SECONDS}s on loopback, one target at a time;\n\
         {ROUNDS} rounds, each measuring the bare handler and then every target, so a ratio compares\n\
         runs seconds apart (this machine's throughput drifts by half between minutes);\n\
         shown: the round with the median ratio\n"
    );
    println!(
        "{:<60} {:>10} {:>9} {:>9} {:>8}",
        "target", "req/s", "p50", "p99", "x bare"
    );
    let targets = [
        (
            "baseline: 1 sqlx query + askama",
            format!("http://{baseline}/"),
            None,
        ),
        (
            "wizard: question page (step 3.5, signed in)",
            format!("{base}{setup}/pages/step-3-5"),
            Some(cookie.as_str()),
        ),
        (
            "wizard: task list (signed in)",
            format!("{base}{setup}"),
            Some(cookie.as_str()),
        ),
        (
            "wizard: check your answers (signed in)",
            format!("{base}{setup}/pages/check"),
            Some(cookie.as_str()),
        ),
        // A query string bypasses the page cache: every request renders the
        // page (check your answers from its kept sections: what a change
        // costs is measured below, "the first view after a change").
        (
            "  the same, rendered every time: question",
            format!("{base}{setup}/pages/step-3-5?fresh"),
            Some(cookie.as_str()),
        ),
        (
            "  the same, rendered every time: task list",
            format!("{base}{setup}?fresh"),
            Some(cookie.as_str()),
        ),
        (
            "  the same, rendered every time: check (its sections kept)",
            format!("{base}{setup}/pages/check?fresh"),
            Some(cookie.as_str()),
        ),
    ];
    // While working on one page: BENCH_ONLY=check bench/run measures only the
    // targets whose name has that word (and then stops).
    let only = std::env::var("BENCH_ONLY").ok();
    let targets: Vec<_> = targets
        .into_iter()
        .filter(|(name, _, _)| only.as_deref().is_none_or(|o| name.contains(o)))
        .collect();
    // rounds[r] = (bare, [targets...])
    let mut rounds: Vec<(Load, Vec<Load>)> = Vec::new();
    for _ in 0..ROUNDS {
        let bare_round = wrk(&format!("http://{bare}/"), None);
        let loads = targets.iter().map(|(_, url, c)| wrk(url, *c)).collect();
        rounds.push((bare_round, loads));
    }
    let row = |name: &str, l: &Load, bare: &Load| {
        println!(
            "{name:<60} {:>10.0} {:>9} {:>9} {:>8.2}",
            l.rps,
            l.p50,
            l.p99,
            l.rps / bare.rps
        )
    };
    let bare_load = median_by(rounds.iter().map(|(b, _)| b), |b| b.rps);
    row("bare axum handler (median round)", bare_load, bare_load);
    for (i, (name, _, _)) in targets.iter().enumerate() {
        let (b, l) = median_by(rounds.iter().map(|(b, ls)| (b, &ls[i])), |(b, l)| {
            l.rps / b.rps
        });
        row(name, l, b);
    }
    let ratios: Vec<String> = rounds
        .iter()
        .map(|(b, ls)| {
            let r: Vec<String> = ls.iter().map(|l| format!("{:.2}", l.rps / b.rps)).collect();
            format!("bare {:.0}: {}", b.rps, r.join(" / "))
        })
        .collect();
    println!(
        "  every round (x bare, in the order above): {}",
        ratios.join("; ")
    );
    println!(
        "\nwizard process memory: VmRSS {} kB, peak VmHWM {} kB",
        status_kb(pid, "VmRSS:"),
        status_kb(pid, "VmHWM:")
    );
    // The first view after a change, as a consultant makes it: step 6 saved
    // (one approver more or less), then check your answers, whose cached
    // page is gone; its sections of the unchanged pages are kept. One
    // client, one request at a time: the latency of that view beside the
    // cached one and the bare handler, measured in the same loop.
    if only.as_deref().is_none_or(|o| "after a change".contains(o)) {
        let check = format!("{base}{setup}/pages/check");
        let timed = |url: String, cookie: Option<String>| {
            let http = http.clone();
            async move {
                let mut req = http.get(&url);
                if let Some(c) = cookie {
                    req = req.header("cookie", c);
                }
                let t = Instant::now();
                let r = req.send().await.expect("get");
                assert_eq!(r.status(), 200, "{url}");
                r.bytes().await.expect("body");
                t.elapsed()
            }
        };
        let (mut after, mut cached, mut bare_t) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..CHANGES {
            let list = if i % 2 == 0 {
                &emails[..emails.len() - 1]
            } else {
                &emails[..]
            };
            let r = http
                .post(format!("{base}{setup}/pages/step-6"))
                .header("cookie", &cookie)
                .form(&[
                    ("_version", (i + 1).to_string()),
                    ("_action", "continue".to_string()),
                    ("approvers", list.join("\n")),
                ])
                .send()
                .await
                .expect("change");
            assert_eq!(r.status(), 303, "change {i}");
            after.push(timed(check.clone(), Some(cookie.clone())).await);
            cached.push(timed(check.clone(), Some(cookie.clone())).await);
            bare_t.push(timed(format!("http://{bare}/"), None).await);
        }
        let pct = |v: &mut Vec<std::time::Duration>, p: usize| {
            v.sort();
            v[(v.len() * p / 100).min(v.len() - 1)].as_micros()
        };
        println!(
            "\ncheck your answers, the first view after a change ({CHANGES} changes to step 6, one request at a time):\n\
             {:<44} {:>9} {:>9}\n{:<44} {:>7}us {:>7}us\n{:<44} {:>7}us {:>7}us\n{:<44} {:>7}us {:>7}us",
            "",
            "p50",
            "p99",
            "  after a change (unchanged sections kept)",
            pct(&mut after, 50),
            pct(&mut after, 99),
            "  the same page, cached",
            pct(&mut cached, 50),
            pct(&mut cached, 99),
            "  bare axum handler",
            pct(&mut bare_t, 50),
            pct(&mut bare_t, 99),
        );
    }
    if only.is_some() {
        return;
    }

    println!("\npage sizes (bytes):");
    for p in [
        "/",
        &setup,
        &format!("{setup}/pages/facts"),
        &format!("{setup}/pages/step-3-5"),
        &format!("{setup}/pages/step-4"),
        &format!("{setup}/pages/check"),
        &format!("{setup}/verify"),
        &format!("{setup}/report"),
    ] {
        let body = http
            .get(format!("{base}{p}"))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("text");
        let name = p.replace(&setup, "/setups/{id}");
        println!("  {name:<48} {:>7}", body.len());
        // To see what makes a page large: BENCH_PAGES_DIR=/tmp/pages bench/run
        if let Some(d) = std::env::var_os("BENCH_PAGES_DIR") {
            let file = format!(
                "{}.html",
                name.trim_matches('/').replace(['/', '{', '}'], "_")
            );
            let _ = std::fs::create_dir_all(&d);
            let _ = std::fs::write(std::path::Path::new(&d).join(file), &body);
        }
    }

    // Verify: with every SAP endpoint it calls slowed to 300 ms, the online
    // checks take about as long as their longest chain, not the sum of calls.
    for ep in ["xsuaa-token", "destinations", "find-destination", "scim"] {
        http.post(format!("{sandbox}/_sandbox/faults"))
            .form(&[("endpoint", ep), ("fault", "latency:300")])
            .send()
            .await
            .expect("fault");
    }
    let started = Instant::now();
    let r = http
        .post(format!("{base}{setup}/verify"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("verify");
    let wall = started.elapsed();
    assert_eq!(r.status(), 200);
    let calls = http
        .get(format!("{base}{setup}/calls"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("calls")
        .text()
        .await
        .expect("text");
    let verify_rows: Vec<u64> = calls
        .split("<tr>")
        .filter(|row| row.contains("<td>verify</td>"))
        .filter_map(|row| {
            row.split("<td>")
                .find_map(|c| c.strip_suffix(" ms</td>").and_then(|n| n.parse().ok()))
        })
        .collect();
    let (verify_calls, sum) = (verify_rows.len(), verify_rows.iter().sum::<u64>());
    println!(
        "\nVerify with every SAP endpoint slowed to 300 ms: {} ms wall clock for {verify_calls} calls adding up to {sum} ms",
        wall.as_millis()
    );
    println!(
        "(its longest dependent chain is two calls: a Destination service token, then the destination reads: about 600 ms)"
    );

    // The watch: 1,000 watched copies of this setup, every SAP request
    // answered 100 ms late; one full round, with the watch's calls in
    // flight bounded, and the process's memory meanwhile.
    for ep in ["xsuaa-token", "destinations", "find-destination", "scim"] {
        http.post(format!("{sandbox}/_sandbox/faults"))
            .form(&[("endpoint", ep), ("fault", "none")])
            .send()
            .await
            .expect("fault");
    }
    let watched: i64 = 1_000;
    let setup_id = setup.trim_start_matches("/setups/").to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let db = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}", dir.join("wizard.db").display()))
        .await
        .expect("open wizard.db");
    let mut tx = db.begin().await.expect("tx");
    for i in 1..watched {
        let id = format!("watch{i:011x}");
        sqlx::query("INSERT INTO setups (id, name, archived, created_at, updated_at, owner_id, s4_host, status, done_pages, total_pages, rev, layout)
             SELECT ?, name || ' ' || ?, archived, created_at, updated_at, owner_id, s4_host, status, done_pages, total_pages, rev, layout FROM setups WHERE id = ?")
            .bind(&id)
            .bind(i)
            .bind(&setup_id)
            .execute(&mut *tx)
            .await
            .expect("copy setup");
        sqlx::query("INSERT INTO answers (setup_id, page, data, version, basis, problem, updated_at, updated_by, checked_note, checked_at)
             SELECT ?, page, data, version, basis, problem, updated_at, updated_by, checked_note, checked_at FROM answers WHERE setup_id = ?")
            .bind(&id)
            .bind(&setup_id)
            .execute(&mut *tx)
            .await
            .expect("copy answers");
    }
    sqlx::query("INSERT INTO watches (setup_id, interval_secs, next_due, state) SELECT id, 86400, ?, 'unchecked' FROM setups")
        .bind(now)
        .execute(&mut *tx)
        .await
        .expect("watch them");
    tx.commit().await.expect("commit");
    // The round in a process of its own: what a watching instance holds,
    // not what the page loads above left behind.
    let _ = child.kill().await;
    let _ = child.wait().await;
    let (mut child, pid, addr, _, sandbox) =
        start_sandboxed(&bin, &dir.join("wizard.db"), false).await;
    let base = format!("http://{addr}");
    let rss_before = status_kb(pid, "VmRSS:");
    http.post(format!("{sandbox}/_sandbox/settings"))
        .form(&[("latency_ms", "100")])
        .send()
        .await
        .expect("slow SAP");
    let started = Instant::now();
    let mut peak_rss = 0;
    let ran = loop {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM watches WHERE last_run IS NOT NULL")
                .fetch_one(&db)
                .await
                .expect("count");
        peak_rss = peak_rss.max(status_kb(pid, "VmRSS:"));
        if n >= watched || started.elapsed() > std::time::Duration::from_secs(900) {
            break n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let round = started.elapsed();
    let (calls,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM calls WHERE page = 'watch'")
        .fetch_one(&db)
        .await
        .unwrap_or((0,));
    db.close().await;
    let metrics = http
        .get(format!("{base}/metrics"))
        .bearer_auth("bench-metrics-token")
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let in_flight = metrics
        .lines()
        .find_map(|l| l.strip_prefix("taskcenter_wizard_watch_sap_calls_in_flight_peak "))
        .unwrap_or("?")
        .to_string();
    let bare_now = wrk(&format!("http://{bare}/"), None);
    println!(
        "\nwatch: {ran} of {watched} watched setups checked in one round in {:.1} s ({calls} SAP calls, each answered 100 ms late; at most {in_flight} in flight, bound {}); a fresh process: VmRSS {rss_before} kB at start, at most {peak_rss} kB during the round",
        round.as_secs_f64(),
        taskcenter_wizard::service::watch::CALLS_AT_ONCE
    );
    println!(
        "(baseline from the same run: the bare axum handler {:.0} req/s; the floor for one round is {calls} x 100 ms / {} = {:.1} s)",
        bare_now.rps,
        taskcenter_wizard::service::watch::CALLS_AT_ONCE,
        calls as f64 * 0.1 / taskcenter_wizard::service::watch::CALLS_AT_ONCE as f64
    );
    http.post(format!("{sandbox}/_sandbox/settings"))
        .form(&[("latency_ms", "0")])
        .send()
        .await
        .expect("fast SAP");
    let _ = child.kill().await;
    let _ = child.wait().await;

    // 3. The same database with 50,000 setups: start-up, memory and the
    // setups list must follow active work, not what is stored.
    let many: usize = 50_000;
    let db = dir.join("wizard.db");
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&db)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
    let big = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .expect("open wizard.db");
    let mut tx = big.begin().await.expect("tx");
    for i in 0..many {
        let id = format!("{i:016x}");
        let host = format!("my{:06}.s4hana.ondemand.com", i % 1_000_000);
        sqlx::query("INSERT INTO setups (id, name, archived, created_at, updated_at, owner_id, s4_host, status, done_pages, total_pages, layout) VALUES (?, ?, 0, ?, ?, 1, ?, 'In progress', 1, 13, 2)")
            .bind(&id)
            .bind(format!("Customer {i}"))
            .bind(1_700_000_000 + i as i64)
            .bind(1_700_000_000 + i as i64)
            .bind(&host)
            .execute(&mut *tx)
            .await
            .expect("insert setup");
        sqlx::query("INSERT INTO answers (setup_id, page, data, version, basis, updated_at, updated_by) VALUES (?, 'facts', ?, 1, '', ?, 'bench')")
            .bind(&id)
            .bind(serde_json::json!({"s4_host": host, "s4_client": "100", "region": "eu10"}).to_string())
            .bind(1_700_000_000 + i as i64)
            .execute(&mut *tx)
            .await
            .expect("insert answers");
    }
    tx.commit().await.expect("commit");
    big.close().await;
    let (mut child, base, to_health) = start_timed(&bin, &db, &http).await;
    let pid = child.id().expect("pid");
    let list = http
        .get(format!("{base}/"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("text");
    assert!(
        list.contains(&format!("of {}", many as i64 + watched)),
        "the bench user sees every setup"
    );
    println!(
        "\nwith {many} more setups stored: start to /healthz {} ms, VmRSS {} kB",
        to_health.as_millis(),
        status_kb(pid, "VmRSS:")
    );
    println!("setups list page: {} bytes", list.len());
    // One request at a time: what a consultant waits for, without queueing.
    for (what, path) in [
        ("setups list, page 1", "/"),
        ("setups list, page 500", "/?page=500"),
        ("setups list, search by host", "/?q=my004242"),
        ("setups list, status filter", "/?status=Completed"),
    ] {
        let mut times: Vec<f64> = Vec::new();
        for i in 0..60 {
            // A query never asked before: rendered from the database each
            // time, not served from the page cache.
            let sep = if path.contains('?') { '&' } else { '?' };
            let t = Instant::now();
            let r = http
                .get(format!("{base}{path}{sep}n={i}"))
                .header("cookie", &cookie)
                .send()
                .await
                .expect("list");
            assert_eq!(r.status(), 200);
            let _ = r.bytes().await;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  {what:<32} one at a time, rendered each time: median {:.2} ms, slowest of 60 {:.2} ms",
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
    println!(
        "\n{:<44} {:>10} {:>9} {:>9} {:>8}",
        format!("target ({} setups stored)", many as i64 + watched),
        "req/s",
        "p50",
        "p99",
        "x bare"
    );
    let bare_late = wrk(&format!("http://{bare}/"), None);
    row("bare axum handler (measured again)", &bare_late, &bare_late);
    for (name, path) in [
        ("wizard: setups list, page 1 (signed in)", "/".to_string()),
        (
            "wizard: setups list, search by host",
            "/?q=my004242".to_string(),
        ),
        (
            "wizard: question page (step 3.5, signed in)",
            format!("{setup}/pages/step-3-5"),
        ),
    ] {
        row(
            name,
            &wrk(&format!("{base}{path}"), Some(&cookie)),
            &bare_late,
        );
    }
    println!(
        "wizard process memory after these: VmRSS {} kB, peak VmHWM {} kB",
        status_kb(pid, "VmRSS:"),
        status_kb(pid, "VmHWM:")
    );
    let _ = child.kill().await;
    let _ = child.wait().await;

    // 4. An upgrade: 5,000 of these setups as the previous build stored them
    // (layout 1: subdomain and IAS tenant on the first page) are moved to
    // their pages at start, each in its own transaction.
    let moved = 5_000;
    let old = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open wizard.db");
    sqlx::query(
        "UPDATE answers SET data = json_set(data, '$.subdomain', 'c' || rowid, '$.ias_host', 'acme.accounts.ondemand.com')
         WHERE page = 'facts' AND setup_id IN (SELECT id FROM setups WHERE owner_id = 1 ORDER BY id LIMIT ?)",
    )
    .bind(moved)
    .execute(&old)
    .await
    .expect("old answers");
    sqlx::query("UPDATE setups SET layout = 1 WHERE id IN (SELECT id FROM setups WHERE owner_id = 1 ORDER BY id LIMIT ?)")
        .bind(moved)
        .execute(&old)
        .await
        .expect("layout 1");
    old.close().await;
    let (mut child, _, upgraded) = start_timed(&bin, &db, &http).await;
    println!(
        "\nstart to /healthz with {moved} of them to move to the current pages first: {} ms (none to move: {} ms, above)",
        upgraded.as_millis(),
        to_health.as_millis()
    );
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}
