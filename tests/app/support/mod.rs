//! Test helpers: spawn the app on port 0 with a temporary database, drive it
//! over HTTP like a browser (cookies, no automatic redirects), and fixtures.

use std::path::PathBuf;

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use taskcenter_wizard::config::ServeArgs;

mod answers;
mod demo;
mod html;
mod postgres;
mod process;

pub use answers::*;
pub use demo::*;
pub use html::*;
pub use postgres::*;
pub use process::*;

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
                .map(|s| s.addr)
                .or(args.sandbox_at)
                .map(|a| format!("http://{a}")),
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

    /// The [U] alternative of sap-apis-btp.md J.3/J.4 5: this subaccount's
    /// Task Center takes instances made by Service Manager (the sandbox,
    /// like the contract, refuses them by default).
    pub async fn allow_task_center_through_service_manager(&self) {
        let r = client()
            .post(self.sandbox_url("/_sandbox/settings"))
            .form(&[("sm_tc_other_env_refused", "false")])
            .send()
            .await
            .expect("settings");
        assert_eq!(r.status(), StatusCode::OK);
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

    pub async fn restart(self) -> TestApp {
        self.restart_with(|_| {}).await
    }

    /// Restart with other arguments (the same database file).
    pub async fn restart_with(mut self, adjust: impl FnOnce(&mut ServeArgs)) -> TestApp {
        self.stop().await;
        let mut args = Self::args(&self.dir);
        adjust(&mut args);
        let running = taskcenter_wizard::start(&args).await.expect("restart app");
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

    /// Step 3.1 holding the demo's Service Manager key (`audit`: the
    /// read-only one), and the subaccount entitled to Task Center through it.
    pub async fn use_service_manager(&self, id: &str, demo: &serde_json::Value, audit: bool) {
        let r = self
            .save(
                id,
                "step-3-1",
                &[("sm_key", &service_manager_key(demo, audit))],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        self.allow_task_center_through_service_manager().await;
    }

    /// A remote change the way a consultant runs it: the plan of the flow
    /// at `/setups/{id}/{slug}` (it must be shown), then the confirmation
    /// of exactly what it showed: (the plan, the confirmation's answer).
    pub async fn confirm_plan(&self, id: &str, slug: &str) -> (Page, Page) {
        let plan = self.post(&format!("/setups/{id}/{slug}/plan"), &[]).await;
        assert_eq!(plan.status, StatusCode::OK, "{slug}: {}", plan.body);
        let done = self
            .post(
                &format!("/setups/{id}/{slug}/apply"),
                &[("fingerprint", &html::fingerprint(&plan.body))],
            )
            .await;
        (plan, done)
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
