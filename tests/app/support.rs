//! Test helpers: spawn the app on port 0 with a temporary database, drive it
//! over HTTP like a browser (cookies, no automatic redirects), and fixtures.

use std::path::PathBuf;

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use taskcenter_wizard::config::ServeArgs;

pub const SUBACCOUNT: &str = "7739e1a2-0c4b-4f4e-9a51-2a8b3c4d5e6f";
pub const PASSWORD: &str = "Xk2pQ9vLr7TmWz4Hs8Nd";
pub const TEST_CLIENT_ID: &str = "sb-clone-5c1f!b1234|one-inbox-service!b456";
pub const CLIENT_SECRET: &str = "cs-6f0b2e9a-41d7-4c55-b3e1-secret-value";

/// A directory removed when the test ends.
pub use tempfile::TempDir;

/// A directory removed when dropped (databases, key files, browser profiles).
pub fn temp_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("tcw-test-")
        .tempdir()
        .expect("temp dir")
}

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    /// Signed in as the first administrator, "admin".
    pub client: reqwest::Client,
    pub dir: TempDir,
    pub bootstrap_link: String,
    /// `http://addr` of the sandbox, when started with it.
    pub sandbox: Option<String>,
    running: Option<taskcenter_wizard::Running>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl TestApp {
    /// Start a server on a fresh database and sign in as its first administrator.
    /// Always in sandbox mode: tests never send anything beyond loopback.
    pub async fn spawn() -> TestApp {
        Self::spawn_sandbox().await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut ServeArgs)) -> TestApp {
        let dir = temp_dir();
        let mut args = Self::args(&dir);
        adjust(&mut args);
        let running = taskcenter_wizard::start(&args).await.expect("start app");
        let bootstrap_link = running
            .bootstrap_link
            .clone()
            .expect("a new database offers a bootstrap link");
        let app = TestApp {
            base: format!("http://{}", running.addr),
            client: client(),
            dir,
            bootstrap_link,
            sandbox: running
                .sandbox
                .as_ref()
                .map(|s| format!("http://{}", s.addr)),
            running: Some(running),
        };
        let link = path_of(&app.bootstrap_link);
        let r = app
            .post(
                &link,
                &[
                    ("name", "admin"),
                    ("password", ADMIN_PASSWORD),
                    ("confirm", ADMIN_PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "bootstrap: {}", r.body);
        if app.sandbox.is_some() {
            app.register_test_key().await;
        }
        app
    }

    /// Let the sandbox accept the fixed test service key (`service_key()`).
    pub async fn register_test_key(&self) {
        let r = client()
            .post(self.sandbox_url("/_sandbox/clients"))
            .form(&[
                ("client_id", TEST_CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ])
            .send()
            .await
            .expect("register client");
        assert_eq!(r.status(), StatusCode::OK);
    }

    /// Drive a server started elsewhere (the real binary), not signed in yet.
    pub fn attach(base: String, dir: TempDir) -> TestApp {
        TestApp {
            base,
            client: client(),
            dir,
            bootstrap_link: String::new(),
            sandbox: None,
            running: None,
        }
    }

    /// With the sandbox. Timeouts are generous: a loaded 2-core machine (the
    /// browser tests run alongside) must not turn a slow answer into a failure.
    pub async fn spawn_sandbox() -> TestApp {
        Self::spawn_with(|a| {
            a.sandbox = true;
            a.timeout = 10;
            a.connect_timeout = 5;
        })
        .await
    }

    /// On a database of the test PostgreSQL server, signed in as its first
    /// administrator (this instance claimed the bootstrap link).
    pub async fn spawn_postgres(url: &str) -> TestApp {
        let url = url.to_string();
        Self::spawn_with(move |a| {
            a.store.database = url.into();
            a.store.secret_key = Some(PG_KEY.into());
        })
        .await
    }

    /// A second server on the same PostgreSQL database, with this app's
    /// signed-in client (cookies do not depend on the port).
    pub async fn another_instance(&self, url: &str) -> (TestApp, Option<String>) {
        let mut args = Self::args(&self.dir);
        args.store.database = url.into();
        args.store.secret_key = Some(PG_KEY.into());
        let running = taskcenter_wizard::start(&args)
            .await
            .expect("second instance");
        let bootstrap = running.bootstrap_link.clone();
        (
            TestApp {
                base: format!("http://{}", running.addr),
                client: self.client.clone(),
                dir: temp_dir(),
                bootstrap_link: String::new(),
                sandbox: None,
                running: Some(running),
            },
            bootstrap,
        )
    }

    /// With the sandbox and a 1 s timeout, for the timeout faults.
    pub async fn spawn_sandbox_fast_timeout() -> TestApp {
        Self::spawn_with(|a| {
            a.sandbox = true;
            a.timeout = 1;
            a.connect_timeout = 1;
        })
        .await
    }

    pub fn sandbox_url(&self, path: &str) -> String {
        format!(
            "{}{path}",
            self.sandbox.as_deref().expect("started with the sandbox")
        )
    }

    /// The demo customer's values, from the sandbox over HTTP.
    pub async fn demo(&self) -> serde_json::Value {
        client()
            .get(self.sandbox_url("/_sandbox/demo.json"))
            .send()
            .await
            .expect("demo")
            .json()
            .await
            .expect("demo json")
    }

    /// Switch a fault on (or "none" to clear it).
    pub async fn fault(&self, endpoint: &str, fault: &str) {
        let r = client()
            .post(self.sandbox_url("/_sandbox/faults"))
            .form(&[("endpoint", endpoint), ("fault", fault)])
            .send()
            .await
            .expect("fault");
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "{}",
            r.text().await.unwrap_or_default()
        );
    }

    fn args(dir: &TempDir) -> ServeArgs {
        ServeArgs::for_database(dir.path().join("wizard.db"))
    }

    /// A new consultant account, created by the admin; returns its signed-in client.
    pub async fn user(&self, name: &str) -> reqwest::Client {
        let r = self.post("/admin/users", &[("name", name)]).await;
        assert_eq!(r.status, StatusCode::OK, "add user: {}", r.body);
        let link = between(&r.body, "<code id=\"invite-link\">", "</code>").expect("link shown");
        let path = link
            .trim_start_matches("http://")
            .split_once('/')
            .map(|(_, p)| format!("/{p}"))
            .expect("path");
        let c = client();
        let password = format!("{name}-password-long");
        let r = Self::read(
            c.post(format!("{}{path}", self.base))
                .form(&[
                    ("password", password.as_str()),
                    ("confirm", password.as_str()),
                ])
                .send()
                .await
                .expect("POST"),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "set password: {}", r.body);
        c
    }

    pub async fn get_as(&self, c: &reqwest::Client, path: &str) -> Page {
        Self::read(
            c.get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    pub async fn post_as(&self, c: &reqwest::Client, path: &str, form: &[(&str, &str)]) -> Page {
        Self::read(
            c.post(format!("{}{path}", self.base))
                .form(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("wizard.db")
    }

    /// Stop the server and start a new one on the same database file.
    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("stop");
        }
    }

    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let running = taskcenter_wizard::start(&Self::args(&self.dir))
            .await
            .expect("restart app");
        self.base = format!("http://{}", running.addr);
        self.running = Some(running);
        self
    }

    pub async fn read(resp: reqwest::Response) -> Page {
        let status = resp.status();
        let headers = resp.headers().clone();
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.text().await.expect("body");
        Page {
            status,
            location,
            body,
            headers,
        }
    }

    /// Step 4's destination the way a consultant writes it: the plan page
    /// (BTP read), then the confirmation of exactly that plan. Without a plan
    /// to confirm (BTP unreachable, nothing to write) the plan page itself.
    pub async fn apply_destination_as(&self, c: &reqwest::Client, id: &str) -> Page {
        let plan = self
            .get_as(c, &format!("/setups/{id}/apply-destination"))
            .await;
        match between(&plan.body, "name=\"fingerprint\" value=\"", "\"") {
            Some(fp) => {
                self.post_as(
                    c,
                    &format!("/setups/{id}/apply-destination/apply"),
                    &[("fingerprint", fp)],
                )
                .await
            }
            None => plan,
        }
    }

    pub async fn apply_destination(&self, id: &str) -> Page {
        self.apply_destination_as(&self.client, id).await
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::read(
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::read(
            self.client
                .post(format!("{}{path}", self.base))
                .form(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> Page {
        Self::read(
            self.client
                .post(format!("{}{path}", self.base))
                .multipart(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    pub async fn create_setup(&self, name: &str) -> String {
        let p = self.post("/setups", &[("name", name)]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        p.location
            .expect("location")
            .trim_start_matches("/setups/")
            .to_string()
    }

    /// Open a page like a browser, then submit `fields` with the version the
    /// page was rendered at.
    pub async fn save(&self, id: &str, page: &str, fields: &[(&str, &str)]) -> Page {
        self.save_as(&self.client, id, page, fields).await
    }

    /// Save a page as the user of client `c`, at the version it shows now.
    pub async fn save_as(
        &self,
        c: &reqwest::Client,
        id: &str,
        page: &str,
        fields: &[(&str, &str)],
    ) -> Page {
        let path = format!("/setups/{id}/pages/{page}");
        let shown = self.get_as(c, &path).await;
        assert_eq!(shown.status, StatusCode::OK, "GET {path}: {}", shown.body);
        let version = version_of(&shown.body);
        let mut form: Vec<(&str, &str)> = vec![("_version", &version), ("_action", "continue")];
        form.extend_from_slice(fields);
        self.post_as(c, &path, &form).await
    }
}

pub fn version_of(html: &str) -> String {
    attr_after(html, "name=\"_version\" value=\"").expect("version field")
}

pub fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let s = html.find(start)? + start.len();
    let e = html[s..].find(end)? + s;
    Some(&html[s..e])
}

fn attr_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

/// The values of every checkbox named `name` on a page (a user ticking all).
pub fn checkbox_values(html: &str, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" type=\"checkbox\" value=\"");
    html.match_indices(&marker)
        .filter_map(|(i, _)| attr_after(&html[i..], &marker))
        .collect()
}

/// The value attribute of the input with the given id.
pub fn input_value(html: &str, id: &str) -> Option<String> {
    let i = html.find(&format!("id=\"{id}\""))?;
    let tag_end = html[i..].find('>')? + i;
    attr_after(&html[i..tag_end], "value=\"")
}

/// The text of the `<title>` element.
pub fn title_of(html: &str) -> String {
    let s = html.find("<title>").map_or(0, |i| i + 7);
    let e = html.find("</title>").unwrap_or(s);
    html[s..e].to_string()
}

pub fn service_key(subdomain: &str, region: &str, tenant: &str) -> String {
    format!(
        r#"{{"endpoints":{{"inbox_rest_url":"https://api.workflow-sap.cfapps.{region}.hana.ondemand.com/task-center-service","inbox_odata_url":"https://api.workflow-sap.cfapps.{region}.hana.ondemand.com/task-center-service/odata/v2"}},
"sap.cloud.service":"com.sap.bpm.inbox-service",
"uaa":{{"clientid":"{TEST_CLIENT_ID}","clientsecret":"{CLIENT_SECRET}","url":"https://{subdomain}.authentication.{region}.hana.ondemand.com","uaadomain":"authentication.{region}.hana.ondemand.com","identityzone":"{subdomain}","tenantid":"{tenant}","xsappname":"clone-5c1f!b1234|one-inbox-service!b456"}}}}"#
    )
}

/// A self-signed certificate shaped like a BTP destination trust certificate.
pub fn trust_certificate(cn: &str, days_valid: i64) -> (String, Vec<u8>) {
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::OrganizationalUnitName,
        "CP Destination Configuration",
    );
    dn.push(DnType::OrganizationName, "SAP");
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(30);
    params.not_after = now + time::Duration::days(days_valid);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed");
    (cert.pem(), cert.der().to_vec())
}

pub fn sap_cn(subaccount: &str) -> String {
    format!("cfapps.eu10.hana.ondemand.com/{subaccount}")
}

/// The valid answers of every page, used by the full walk and as a base.
pub fn valid_answers(page: &str) -> Vec<(&'static str, String)> {
    let s = |v: &str| v.to_string();
    match page {
        "facts" => vec![
            (
                "s4_host",
                s("https://my404687.s4hana.ondemand.com/ui#Shell-home"),
            ),
            ("s4_client", s("100")),
            ("region", s("eu10")),
        ],
        "step-1" => vec![
            ("subdomain", s("acme-tc")),
            ("subaccount_id", s(SUBACCOUNT)),
            ("cf_org", s("acme-tc_org")),
            ("cf_space", s("dev")),
        ],
        "step-2" => vec![
            ("ias_host", s("acme.accounts.ondemand.com")),
            ("ias_client_id", s("3b9d7c1e-ias-client")),
        ],
        "booster" => vec![("plan", s("all-tasks"))],
        "step-3-1" => vec![("service_key", service_key("acme-tc", "eu10", SUBACCOUNT))],
        "step-3-3" => vec![
            ("comm_user", s("TASKCENTERCOM")),
            ("comm_user_description", s("Task Center inbound")),
            ("comm_password", s(PASSWORD)),
        ],
        "step-3-4" => vec![
            ("comm_system_id", s("BTP_TASK_CENTER")),
            ("comm_system_name", s("BTP Task Center")),
        ],
        "step-3-5" => vec![
            ("arrangement_name", s("TASK_CENTER_0501")),
            ("client_id", s("TASKCENTERCOM")),
            (
                "token_service_url",
                s("https://my404687-api.s4hana.ondemand.com/sap/bc/sec/oauth2/token"),
            ),
            ("saml2_audience", s("https://my404687.s4hana.ondemand.com")),
            (
                "replication_url",
                s(
                    "https://my404687-api.s4hana.ondemand.com/sap/opu/odata4/sap/api_task_spi_replication/default/sap/api_task_spi_replication/0001/?sap-client=100",
                ),
            ),
        ],
        "step-4" => vec![
            ("destination_name", s("S4HANACloud")),
            (
                "authn_context",
                s("urn:oasis:names:tc:SAML:2.0:ac:classes:X509"),
            ),
            ("push", s("no")),
            ("notifications", s("true")),
            ("pull_days", s("180")),
            ("ui_label", s("SAP S/4HANA Cloud Task")),
        ],
        "step-5" => vec![(
            "site_url",
            s("https://acme-tc.launchpad.cfapps.eu10.hana.ondemand.com/site"),
        )],
        "step-6" => vec![(
            "approvers",
            s(
                "anna.berg@acme.example, d1a6b3c2-0000-4000-8000-000000000001\nbob.stone@acme.example, d1a6b3c2-0000-4000-8000-000000000002",
            ),
        )],
        _ => vec![],
    }
}

/// Open `page`, tick every confirmation it shows, and save it with `answers`.
pub async fn save_ticking_all(
    app: &TestApp,
    id: &str,
    page: &str,
    answers: &[(&'static str, String)],
) -> Page {
    save_ticking_all_as(app, &app.client, id, page, answers).await
}

/// The same, as the user of client `c`.
pub async fn save_ticking_all_as(
    app: &TestApp,
    c: &reqwest::Client,
    id: &str,
    page: &str,
    answers: &[(&'static str, String)],
) -> Page {
    let shown = app.get_as(c, &format!("/setups/{id}/pages/{page}")).await;
    assert_eq!(shown.status, StatusCode::OK, "{page}: {}", shown.body);
    let confirm_keys = [
        "step1_confirm",
        "step2_confirm",
        "booster_confirm",
        "step34_confirm",
        "step35_confirm",
        "step5_confirm",
        "step6_confirm",
    ];
    let ticks: Vec<(String, String)> = confirm_keys
        .iter()
        .flat_map(|k| {
            checkbox_values(&shown.body, k)
                .into_iter()
                .map(move |v| (k.to_string(), v))
        })
        .collect();
    let mut form: Vec<(&str, &str)> = answers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.extend(ticks.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    app.save_as(c, id, page, &form).await
}

/// Save a page with its valid answers, ticking every confirmation shown.
pub async fn complete_page(app: &TestApp, id: &str, page: &str) -> Page {
    if page == "step-3-2" {
        let (pem, _) = trust_certificate(&sap_cn(SUBACCOUNT), 730);
        let shown = app.get(&format!("/setups/{id}/pages/{page}")).await;
        let form = reqwest::multipart::Form::new()
            .text("_version", version_of(&shown.body))
            .text("_action", "continue")
            .part(
                "certificate",
                reqwest::multipart::Part::bytes(pem.into_bytes()).file_name("trust.pem"),
            );
        return app
            .post_multipart(&format!("/setups/{id}/pages/{page}"), form)
            .await;
    }
    save_ticking_all(app, id, page, &valid_answers(page)).await
}

pub const PAGES: &[&str] = &[
    "facts", "step-1", "step-2", "booster", "step-3-1", "step-3-2", "step-3-3", "step-3-4",
    "step-3-5", "step-4", "step-5", "step-6",
];

/// The real binary, started with `envs`; its output is collected line by line.
pub struct Binary {
    pub child: tokio::process::Child,
    pub addr: String,
    pub bootstrap_link: Option<String>,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

pub async fn start_binary(args: &[&str], envs: &[(&str, &std::ffi::OsStr)]) -> Binary {
    use tokio::io::AsyncBufReadExt;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_taskcenter-wizard"));
    cmd.args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn the binary");
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    for stream in [
        Box::new(child.stdout.take().expect("stdout"))
            as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
        Box::new(child.stderr.take().expect("stderr")),
    ] {
        let (log, tx) = (log.clone(), tx.clone());
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tx.send(line.clone());
                log.lock().expect("log").push(line);
            }
        });
    }
    drop(tx);
    let (mut addr, mut link) = (None, None);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while addr.is_none()
        || (link.is_none() && addr.is_some() && tokio::time::Instant::now() < deadline)
    {
        let line = match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(l)) => l,
            _ => break,
        };
        if let Some(rest) = line.split("ready at http://").nth(1) {
            addr = rest.split_whitespace().next().map(str::to_string);
            // A database with accounts prints no link; stop waiting shortly after.
            if tokio::time::timeout(std::time::Duration::from_millis(300), async {
                while let Some(l) = rx.recv().await {
                    if let Some(link) = l.split("single-use link (valid 24 hours): ").nth(1) {
                        return Some(link.trim().to_string());
                    }
                }
                None
            })
            .await
            .ok()
            .flatten()
            .map(|l| link = Some(l))
            .is_none()
            {
                break;
            }
        }
    }
    Binary {
        child,
        addr: addr.expect("the binary printed its address"),
        bootstrap_link: link,
        log,
    }
}

/// A demo customer user's XSUAA token (password grant with the Task Center
/// key's client, origin sap.custom), as SAP's clients get one.
pub async fn user_token(app: &TestApp, demo: &serde_json::Value, email: &str) -> String {
    let person = demo["people"]
        .as_array()
        .and_then(|p| p.iter().find(|x| x["email"] == email))
        .cloned()
        .unwrap_or_else(|| panic!("no demo person {email}"));
    let r: serde_json::Value = client()
        .post(app.sandbox_url("/oauth/token"))
        .basic_auth(
            demo["tc_clientid"].as_str().unwrap_or(""),
            Some(demo["tc_clientsecret"].as_str().unwrap_or("")),
        )
        .form(&[
            ("grant_type", "password"),
            ("username", email),
            ("password", person["password"].as_str().unwrap_or("")),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    r["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("password grant: {r}"))
        .to_string()
}

/// The path of an absolute link (whatever its host), e.g. of an invite link.
pub fn path_of(link: &str) -> String {
    let rest = link.split_once("://").map_or(link, |(_, r)| r);
    rest.find('/').map_or("/".into(), |i| rest[i..].to_string())
}

/// Peak and current resident memory of a process, in MB (VmHWM, VmRSS).
pub fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmHWM:") / 1024.0, kb("VmRSS:") / 1024.0)
}

/// True when `needle` occurs anywhere in `hay`.
pub fn contains_bytes(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Demo values as the form answers of a page, in sandbox mode.
pub fn demo_answers(demo: &serde_json::Value, page: &str) -> Vec<(&'static str, String)> {
    let d = |k: &str| demo[k].as_str().unwrap_or_default().to_string();
    match page {
        "facts" => vec![
            ("s4_host", d("s4_host")),
            ("s4_client", d("s4_client")),
            ("region", d("region")),
        ],
        "step-1" => vec![
            ("subdomain", d("subdomain")),
            ("subaccount_id", d("subaccount_id")),
        ],
        "step-2" => vec![
            ("ias_host", d("ias_host")),
            ("ias_client_id", d("ias_clientid")),
            ("ias_client_secret", d("ias_clientsecret")),
        ],
        "step-3-1" => vec![(
            "service_key",
            demo_task_center_key(demo, &d("tc_clientsecret")),
        )],
        "step-3-2" => vec![("dest_key", demo_destination_key(demo))],
        "step-3-3" => vec![
            ("comm_user", d("comm_user")),
            ("comm_password", d("comm_password")),
        ],
        other => valid_answers(other),
    }
}

pub fn demo_task_center_key(demo: &serde_json::Value, secret: &str) -> String {
    tc_key_of(
        demo,
        demo["tc_clientid"].as_str().unwrap_or_default(),
        secret,
    )
}

/// The demo's dedicated Task Center key for the push channel.
pub fn demo_push_key(demo: &serde_json::Value) -> String {
    let d = |k: &str| demo[k].as_str().unwrap_or_default().to_string();
    tc_key_of(demo, &d("push_clientid"), &d("push_clientsecret"))
}

fn tc_key_of(demo: &serde_json::Value, client: &str, secret: &str) -> String {
    let d = |k: &str| demo[k].as_str().unwrap_or_default().to_string();
    serde_json::json!({
        "endpoints": {"inbox_rest_url": d("inbox_rest_url")},
        "uaa": {"clientid": client, "clientsecret": secret, "url": d("uaa_url"), "tenantid": d("subaccount_id"), "identityzone": d("subdomain")}
    })
    .to_string()
}

pub fn demo_destination_key(demo: &serde_json::Value) -> String {
    let d = |k: &str| demo[k].as_str().unwrap_or_default().to_string();
    serde_json::json!({"uri": d("dest_uri"), "url": d("uaa_url"), "clientid": d("dest_clientid"), "clientsecret": d("dest_clientsecret")}).to_string()
}

/// Save `page` with the demo values (ticking every confirmation shown).
pub async fn complete_demo_page(
    app: &TestApp,
    demo: &serde_json::Value,
    id: &str,
    page: &str,
) -> Page {
    save_ticking_all(app, id, page, &demo_answers(demo, page)).await
}

/// The sandbox address the binary logged in sandbox mode.
pub fn sandbox_of(bin: &Binary) -> String {
    let log = bin.log.lock().expect("log").join("\n");
    let rest = log
        .split("SAP calls go to the sandbox at ")
        .nth(1)
        .expect("sandbox address logged")
        .to_string();
    rest.split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A demo person (e-mail, password, Global User ID ...) from demo.json.
pub fn person(demo: &serde_json::Value, email: &str) -> serde_json::Value {
    demo["people"]
        .as_array()
        .and_then(|p| p.iter().find(|x| x["email"] == email))
        .cloned()
        .expect("person")
}

/// Sign in at the sandbox's IAS page and return where XSUAA sends the browser.
pub async fn sandbox_sign_in(authorize: &str, email: &str, password: &str) -> reqwest::Response {
    let page = client().get(authorize).send().await.expect("authorize");
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "{authorize}: {}",
        page.text().await.unwrap_or_default()
    );
    let u = url::Url::parse(authorize).expect("url");
    let mut form: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("email".into(), email.into()));
    form.push(("password".into(), password.into()));
    client()
        .post(format!(
            "{}/oauth/authorize",
            u.origin().ascii_serialization()
        ))
        .form(&form)
        .send()
        .await
        .expect("sign in")
}

/// "Sign in as a customer user" through the wizard, the sandbox's sign-in
/// page and the callback, as a browser would.
pub async fn sign_in_customer(app: &TestApp, id: &str, demo: &serde_json::Value, email: &str) {
    let page = app.get(&format!("/setups/{id}/customer-user")).await;
    assert_eq!(page.status, StatusCode::OK);
    let href = between(&page.body, "<a class=\"button\" href=\"", "\"")
        .expect("sign-in link")
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(
        href.starts_with(app.sandbox.as_deref().unwrap_or("")),
        "{href}"
    );
    let pw = person(demo, email)["password"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let r = sandbox_sign_in(&href, email, &pw).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let back = r.headers()["location"].to_str().expect("loc").to_string();
    assert!(back.starts_with("http://localhost:"), "{back}");
    let r = app.get(&path_of(&back)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        r.location
            .unwrap_or_default()
            .ends_with(&format!("/setups/{id}/verify"))
    );
}

/// A client-credentials token of the demo Destination service key.
pub async fn dest_token(app: &TestApp, demo: &serde_json::Value) -> String {
    let r: serde_json::Value = client()
        .post(app.sandbox_url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_id",
                demo["dest_clientid"].as_str().unwrap_or_default(),
            ),
            (
                "client_secret",
                demo["dest_clientsecret"].as_str().unwrap_or_default(),
            ),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    r["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// A setup created by `who` with its facts saved; its id.
pub async fn create_with_facts_as(app: &TestApp, who: &reqwest::Client, name: &str) -> String {
    let r = app.post_as(who, "/setups", &[("name", name)]).await;
    let id = r
        .location
        .expect("created")
        .trim_start_matches("/setups/")
        .to_string();
    let answers = valid_answers("facts");
    let mut form: Vec<(&str, &str)> = vec![("_version", "0")];
    form.extend(answers.iter().map(|(k, v)| (*k, v.as_str())));
    let saved = app
        .post_as(who, &format!("/setups/{id}/pages/facts"), &form)
        .await;
    assert_eq!(
        saved.status,
        reqwest::StatusCode::SEE_OTHER,
        "{}",
        saved.body
    );
    id
}

/// Change a subaccount destination behind the wizard's back, as someone in
/// the cockpit would: read it, change it, write it back; the write's status.
pub async fn edit_destination(
    app: &TestApp,
    demo: &serde_json::Value,
    name: &str,
    change: impl FnOnce(&mut serde_json::Value),
) -> reqwest::StatusCode {
    let token = dest_token(app, demo).await;
    let base = app.sandbox_url("/destination-configuration/v1/subaccountDestinations");
    let mut d: serde_json::Value = client()
        .get(format!("{base}/{name}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get destination")
        .json()
        .await
        .expect("destination json");
    change(&mut d);
    client()
        .put(&base)
        .bearer_auth(&token)
        .json(&d)
        .send()
        .await
        .expect("put destination")
        .status()
}

/// GET a JSON document (the sandbox's switches and views) without a session.
pub async fn get_json(url: impl reqwest::IntoUrl) -> serde_json::Value {
    client()
        .get(url)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

/// The master key every instance on the test PostgreSQL shares.
pub const PG_KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

/// A fresh database on the test PostgreSQL server that `.ci/run` starts
/// (`WIZARD_TEST_POSTGRES`), as a URL.
pub async fn postgres_database() -> String {
    use sqlx::Connection;
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let base = std::env::var("WIZARD_TEST_POSTGRES").expect(
        "WIZARD_TEST_POSTGRES is not set: run the tests with .ci/run, which starts a PostgreSQL server for them",
    );
    let mut c = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL at {base}: {e}"));
    let name = format!(
        "tcw_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut c)
        .await
        .expect("create database");
    let mut url = url::Url::parse(&base).expect("WIZARD_TEST_POSTGRES is a URL");
    url.set_path(&name);
    url.to_string()
}

/// Answers as the wizard arranged them before trust came before the booster
/// (layout 1): subaccount and IAS facts on the first page, the plan and the
/// booster's confirmations in step 1, the IDS destination's in step 2, and
/// no subject-name confirmation yet.
pub fn to_layout_1(
    pages: &mut serde_json::Map<String, serde_json::Value>,
    data_of: fn(&mut serde_json::Value) -> &mut serde_json::Value,
) {
    let mut take = |page: &str, key: &str| -> Option<serde_json::Value> {
        pages
            .get_mut(page)
            .and_then(|p| data_of(p).as_object_mut())
            .and_then(|d| d.remove(key))
    };
    let moves = [
        ("step-1", "subdomain", "facts", "subdomain"),
        ("step-1", "subaccount_id", "facts", "subaccount_id"),
        ("step-2", "ias_host", "facts", "ias_host"),
        ("booster", "plan", "step-1", "plan"),
        (
            "booster",
            "booster_confirm.booster",
            "step-1",
            "step1_confirm.booster",
        ),
        (
            "booster",
            "booster_confirm.roles",
            "step-1",
            "step1_confirm.roles",
        ),
        (
            "booster",
            "booster_confirm.ids_destination",
            "step-2",
            "step2_confirm.ids_destination",
        ),
    ];
    let mut taken = Vec::new();
    for (from, key, to, new_key) in moves {
        let v = take(from, key).unwrap_or_else(|| panic!("{from} has {key}"));
        taken.push((to, new_key, v));
    }
    take("step-2", "step2_confirm.subject_uuid").expect("subject confirmation");
    for (to, key, v) in taken {
        data_of(pages.get_mut(to).expect("page"))
            .as_object_mut()
            .expect("data")
            .insert(key.into(), v);
    }
    pages.remove("booster");
}

/// Rewrite a stored setup as the previous build stored it (layout 1, with
/// its bases and summary), in SQLite or PostgreSQL.
pub async fn rewrite_to_layout_1(url: &str, id: &str) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.expect("open db");
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT page, data FROM answers WHERE setup_id = $1")
            .bind(id)
            .fetch_all(&mut c)
            .await
            .expect("answers");
    let mut pages: serde_json::Map<String, serde_json::Value> = rows
        .into_iter()
        .map(|(p, d)| (p, serde_json::from_str(&d).expect("json")))
        .collect();
    to_layout_1(&mut pages, |p| p);
    sqlx::query("DELETE FROM answers WHERE setup_id = $1 AND page = 'booster'")
        .bind(id)
        .execute(&mut c)
        .await
        .expect("delete");
    for (page, data) in &pages {
        sqlx::query("UPDATE answers SET data = $1 WHERE setup_id = $2 AND page = $3")
            .bind(data.to_string())
            .bind(id)
            .bind(page)
            .execute(&mut c)
            .await
            .expect("rewrite");
        // What layout 1 recorded: step 1 depended on nothing, 2 on the tenant.
        let basis = match page.as_str() {
            "step-1" => Some(""),
            "step-2" => Some("ias_host=acme.accounts.ondemand.com"),
            _ => None,
        };
        if let Some(basis) = basis {
            sqlx::query("UPDATE answers SET basis = $1 WHERE setup_id = $2 AND page = $3")
                .bind(basis)
                .bind(id)
                .bind(page)
                .execute(&mut c)
                .await
                .expect("basis");
        }
    }
    sqlx::query("UPDATE setups SET layout = 1, total_pages = 12, rev = rev + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut c)
        .await
        .expect("layout 1");
    c.close().await.expect("close");
}
