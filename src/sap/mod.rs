//! Outbound calls to SAP: one HTTP client with timeouts, retries for reads,
//! https only and a host allow-list; every call is recorded. Nothing here
//! knows the database: callers store the records.

pub mod btp;
pub mod cf;
pub mod destinations;
pub mod ias;
pub mod s4;
pub mod service_manager;
pub mod task_center;
pub mod xsuaa;

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{Method, Url};
use serde_json::Value;

/// The SAP service a call goes to. Each may only reach SAP's published host
/// patterns for it (sap-apis.md: sections 1-4, A.1, D.1), so a secret cannot
/// be sent to another service's host; `--allow-host` adds exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Xsuaa,
    Destination,
    TaskCenter,
    Ias,
    S4,
    ServiceManager,
    /// The Cloud Management services of a global account (sap-apis-btp.md H-K).
    Cis,
    /// XSUAA's REST APIs of a subaccount (L.2, L.3).
    XsuaaApi,
    /// Cloud Foundry's API and its UAA (J.3).
    CloudFoundry,
    /// The watch's notifications: Teams' and Slack's incoming webhooks (or
    /// a host given with --allow-host).
    Webhook,
}

impl Service {
    /// Host patterns: `*` stands for one label; a leading `*` for one or more.
    /// The only place these are written down ([O] for the regional labels).
    pub fn hosts(self) -> &'static [&'static str] {
        match self {
            Service::Xsuaa => &[
                "*.authentication.*.hana.ondemand.com",
                // `certurl` of keys with credential type x509 (O.1).
                "*.authentication.cert.*.hana.ondemand.com",
            ],
            Service::Destination => &["destination-configuration.cfapps.*.hana.ondemand.com"],
            Service::TaskCenter => &["*.cfapps.*.hana.ondemand.com"],
            Service::Ias => &["*.accounts.ondemand.com", "*.accounts.cloud.sap"],
            Service::S4 => &["*.s4hana.ondemand.com", "*.s4hana.cloud.sap"],
            Service::ServiceManager => &["service-manager.cfapps.*.hana.ondemand.com"],
            Service::Cis => &[
                "accounts-service.cfapps.*.hana.ondemand.com",
                "entitlements-service.cfapps.*.hana.ondemand.com",
                "provisioning-service.cfapps.*.hana.ondemand.com",
                "saas-manager.cfapps.*.hana.ondemand.com",
            ],
            Service::XsuaaApi => &["api.authentication.*.hana.ondemand.com"],
            Service::CloudFoundry => &["api.cf.*.hana.ondemand.com", "uaa.cf.*.hana.ondemand.com"],
            Service::Webhook => &["*.webhook.office.com", "hooks.slack.com"],
        }
    }

    /// A metric label for the service.
    pub fn label(self) -> &'static str {
        match self {
            Service::Xsuaa => "xsuaa",
            Service::Destination => "destination",
            Service::TaskCenter => "task_center",
            Service::Ias => "ias",
            Service::S4 => "s4hana",
            Service::ServiceManager => "service_manager",
            Service::Cis => "cloud_management",
            Service::XsuaaApi => "xsuaa_api",
            Service::CloudFoundry => "cloud_foundry",
            Service::Webhook => "webhook",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Service::Xsuaa => "the BTP token service (XSUAA)",
            Service::Destination => "the Destination service",
            Service::TaskCenter => "SAP Task Center",
            Service::Ias => "Identity Authentication",
            Service::S4 => "SAP S/4HANA Cloud",
            Service::ServiceManager => "SAP Service Manager",
            Service::Cis => "the SAP Cloud Management service",
            Service::XsuaaApi => "the subaccount's XSUAA API",
            Service::CloudFoundry => "Cloud Foundry",
            Service::Webhook => "the watch's webhook",
        }
    }
}

/// Whether `host` matches `pattern` label by label (see `Service::hosts`).
fn host_matches(pattern: &str, host: &str) -> bool {
    let (many, rest) = match pattern.strip_prefix("*.") {
        Some(r) => (true, r),
        None => (false, pattern),
    };
    let want: Vec<&str> = rest.split('.').collect();
    let got: Vec<&str> = host.split('.').collect();
    let extra = match got.len().checked_sub(want.len()) {
        Some(0) if !many => 0,
        Some(n) if many && n >= 1 => n,
        _ => return false,
    };
    got[extra..]
        .iter()
        .zip(&want)
        .all(|(g, w)| !g.is_empty() && (*w == "*" || g == w))
        && got[..extra].iter().all(|g| !g.is_empty())
}

#[derive(Debug, Clone)]
pub struct SapConfig {
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// `--allow-host` exceptions, for any service: `host.example.com`
    /// exactly, or `*.example.com` for its subdomains.
    pub allowed: Vec<String>,
    /// Sandbox mode: SAP hosts are answered by the sandbox at this address.
    pub sandbox: Option<SocketAddr>,
    /// Sandbox mode: calls with a client certificate go over real TLS to the
    /// sandbox's `certurl` listener, trusting only the sandbox's CA (PEM).
    pub sandbox_tls: Option<(SocketAddr, String)>,
}

impl SapConfig {
    pub fn new(
        connect_timeout: Duration,
        timeout: Duration,
        extra: &[String],
        sandbox: Option<SocketAddr>,
    ) -> Self {
        let allowed: Vec<String> = extra
            .iter()
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        SapConfig {
            connect_timeout,
            timeout,
            allowed,
            sandbox,
            sandbox_tls: None,
        }
    }

    fn allows(&self, service: Service, host: &str) -> bool {
        service.hosts().iter().any(|p| host_matches(p, host))
            || self.allowed.iter().any(|p| host_matches(p, host))
    }
}

/// Ask `step` until it says done (`Ok(true)`): at once, then after 100 ms,
/// the pause doubling up to `most`; `Ok(false)` when the next pause would
/// pass `wait`. How SAP's long operations are followed (Service Manager's
/// operations, Cloud Foundry's jobs, the BTP run's states).
pub async fn poll_until<E, F, Fut>(wait: Duration, most: Duration, mut step: F) -> Result<bool, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, E>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        if step().await? {
            return Ok(true);
        }
        if started.elapsed() + pause > wait {
            return Ok(false);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(most);
    }
}

/// One outbound call as the call log keeps it: no secrets, ever.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub at: i64,
    pub method: String,
    pub url: String,
    pub status: Option<u16>,
    pub duration_ms: i64,
    pub outcome: String,
}

/// The records of one action's calls (filled concurrently by parallel
/// calls), and the bound its calls share with other actions, if any.
#[derive(Default)]
pub struct Calls {
    records: Mutex<Vec<CallRecord>>,
    bound: Option<std::sync::Arc<Bound>>,
}

impl Calls {
    /// Calls that wait for a place under `bound` (shared with other runs).
    pub fn bounded(bound: std::sync::Arc<Bound>) -> Calls {
        Calls {
            records: Mutex::default(),
            bound: Some(bound),
        }
    }
    fn push(&self, r: CallRecord) {
        if let Ok(mut v) = self.records.lock() {
            v.push(r);
        }
    }
    pub fn take(&self) -> Vec<CallRecord> {
        self.records
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// At most so many calls to SAP in flight across the runs that share it
/// (the watch's), and the most that ever were.
pub struct Bound {
    places: tokio::sync::Semaphore,
    now: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
}

/// A call's place under a `Bound`, given back when dropped.
struct Place<'a> {
    bound: &'a Bound,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.bound
            .now
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Bound {
    pub fn new(places: usize) -> Bound {
        Bound {
            places: tokio::sync::Semaphore::new(places),
            now: Default::default(),
            peak: Default::default(),
        }
    }
    /// The most calls that were in flight at once.
    pub fn peak(&self) -> usize {
        self.peak.load(std::sync::atomic::Ordering::Relaxed)
    }
    async fn enter(&self) -> Option<Place<'_>> {
        use std::sync::atomic::Ordering::Relaxed;
        // Never closed: a closed semaphore would only lift the bound.
        let permit = self.places.acquire().await.ok()?;
        let now = self.now.fetch_add(1, Relaxed) + 1;
        self.peak.fetch_max(now, Relaxed);
        Some(Place {
            bound: self,
            _permit: permit,
        })
    }
}

/// Why a call did not give what was needed, in terms a consultant can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SapError {
    NotAllowed {
        host: String,
        service: Service,
    },
    NotHttps {
        url: String,
    },
    BadUrl {
        url: String,
    },
    Timeout {
        secs: u64,
    },
    Unreachable {
        host: String,
    },
    /// No connection with a client certificate: unreachable, or the
    /// certificate refused in the TLS handshake.
    CertificateRefused {
        host: String,
    },
    Status {
        status: u16,
        message: Option<String>,
    },
    Garbage {
        what: String,
    },
}

impl SapError {
    pub fn explain(&self) -> String {
        match self {
            SapError::NotAllowed { host, service } => format!(
                "The wizard does not call {host}: it is not a host of {} ({}). If this host is right, start the wizard with --allow-host {host}.",
                service.name(),
                service.hosts().join(", ")
            ),
            SapError::NotHttps { url } => {
                format!("{url} does not use https; the wizard only calls SAP over https.")
            }
            SapError::BadUrl { url } => format!("\"{url}\" is not a usable address."),
            SapError::Timeout { secs } => format!(
                "SAP did not answer within {secs} s. The service may be slow or down; try again in a few minutes."
            ),
            SapError::Unreachable { host } => format!(
                "Could not connect to {host}. Check the address, and that this machine can reach SAP's cloud; then try again."
            ),
            SapError::CertificateRefused { host } => format!(
                "Could not connect to {host} with the key's client certificate: the host refused the certificate in the TLS handshake (a deleted or replaced key, or a certificate from another key), or it cannot be reached. Copy the whole key again; if it persists, create a new key (credential type x509)."
            ),
            SapError::Status { status, message } => {
                let what = match status {
                    401 => "SAP refused the credentials (401)".to_string(),
                    403 => "SAP accepted the credentials but refused access (403)".to_string(),
                    404 => "SAP says this does not exist (404)".to_string(),
                    409 => "SAP reports a conflict (409)".to_string(),
                    429 => {
                        "SAP is limiting requests (429); wait a minute and try again".to_string()
                    }
                    s if *s >= 500 => {
                        format!("SAP had an internal problem ({s}); try again in a few minutes")
                    }
                    s => format!("SAP answered with status {s}"),
                };
                match message {
                    Some(m) => format!("{what}: \"{m}\"."),
                    None => format!("{what}."),
                }
            }
            SapError::Garbage { what } => format!(
                "SAP answered, but not with what the wizard expected ({what}). This is often a proxy or maintenance page; try again later."
            ),
        }
    }
}

pub struct Resp {
    pub status: u16,
    pub body: String,
    /// `x-csrf-token` of the answer (S/4HANA's services, D.1).
    pub csrf: Option<String>,
    /// `name=value` of each `Set-Cookie`.
    pub cookies: Vec<String>,
    /// `Location` (Service Manager's asynchronous operations, F.2).
    pub location: Option<String>,
}

impl Resp {
    pub fn json(&self) -> Result<Value, SapError> {
        serde_json::from_str(&self.body).map_err(|_| SapError::Garbage {
            what: format!("status {}, a body that is not JSON", self.status),
        })
    }
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
    /// The error as SAP words it, from any of its error body shapes.
    pub fn sap_message(&self) -> Option<String> {
        let v: Value = serde_json::from_str(&self.body).ok()?;
        // OData V4 (S/4HANA): {"error":{"code":"CM_APS_CS/026","message":...}};
        // the CIS services (G.7): a numeric code, details and correlationID.
        if let Some(e) = v.get("error").filter(|e| e.is_object()) {
            let m = e.get("message").and_then(Value::as_str).unwrap_or("");
            let code = match e.get("code") {
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::String(c)) => c.clone(),
                _ => String::new(),
            };
            let details: Vec<&str> = e
                .get("details")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|d| d.get("message").and_then(Value::as_str))
                .collect();
            let mut out = format!("{m} ({code})");
            if !details.is_empty() {
                out = format!("{m}: {} ({code})", details.join("; "));
            }
            if let Some(c) = e.get("correlationID").and_then(Value::as_str) {
                out.push_str(&format!(", correlation ID {c}"));
            }
            return Some(out.chars().take(400).collect());
        }
        // Cloud Foundry v3: {"errors":[{"code","title","detail"}]}.
        if let Some(e) = v.pointer("/errors/0").filter(|e| e.is_object()) {
            let detail = e.get("detail").and_then(Value::as_str).unwrap_or("");
            let title = e.get("title").and_then(Value::as_str).unwrap_or("");
            return Some(format!("{detail} ({title})").chars().take(300).collect());
        }
        // Service Manager (F.2): {"error": "BadRequest", "description": ...}.
        [
            "error_description",
            "ErrorMessage",
            "detail",
            "description",
            "error",
            "message",
        ]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .map(|s| s.chars().take(300).collect())
    }
    pub fn into_error(self) -> SapError {
        SapError::Status {
            status: self.status,
            message: self.sap_message(),
        }
    }
}

pub enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    Bearer(&'a str),
}

pub struct Req<'a> {
    pub service: Service,
    pub method: Method,
    pub url: String,
    pub auth: Auth<'a>,
    /// More headers, e.g. `X-user-token`, `x-csrf-token` (never logged: only URLs are).
    pub headers: Vec<(&'static str, &'a str)>,
    pub form: Option<Vec<(&'a str, &'a str)>>,
    pub json: Option<&'a Value>,
    pub accept: &'static str,
}

impl<'a> Req<'a> {
    pub fn get(service: Service, url: impl Into<String>, auth: Auth<'a>) -> Self {
        Req {
            service,
            method: Method::GET,
            url: url.into(),
            auth,
            headers: Vec::new(),
            form: None,
            json: None,
            accept: "application/json",
        }
    }
}

/// A service called with one client-credentials token (the Destination
/// service, Service Manager): its base URL, and requests that carry the token.
pub struct TokenSession<'a> {
    pub c: &'a SapClient,
    service: Service,
    base: String,
    token: String,
}

/// One service's `TokenSession`, typed by the service (`K`, an empty enum in
/// its module), so that each module adds its own calls (`impl Api<'_, K>`)
/// and one service's session is never passed where another's is meant.
pub struct Api<'a, K>(TokenSession<'a>, std::marker::PhantomData<K>);

impl<'a, K> Api<'a, K> {
    pub fn new(t: TokenSession<'a>) -> Self {
        Api(t, std::marker::PhantomData)
    }
}

impl<'a, K> std::ops::Deref for Api<'a, K> {
    type Target = TokenSession<'a>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<'a> TokenSession<'a> {
    pub async fn connect(
        c: &'a SapClient,
        calls: &Calls,
        service: Service,
        base: String,
        (uaa_url, clientid, secret): (&str, &str, &str),
    ) -> Result<Self, SapError> {
        let token = xsuaa::client_credentials(c, calls, uaa_url, clientid, secret).await?;
        Ok(TokenSession {
            c,
            service,
            base: base.trim_end_matches('/').to_string(),
            token: token.access_token,
        })
    }

    /// A session on another base with the same token (one token serves
    /// every CIS service of its key, G.4).
    pub fn on(&self, service: Service, base: &str) -> TokenSession<'a> {
        TokenSession {
            c: self.c,
            service,
            base: base.trim_end_matches('/').to_string(),
            token: self.token.clone(),
        }
    }

    /// A session with a token got otherwise (Cloud Foundry's password grant).
    pub fn with_token(c: &'a SapClient, service: Service, base: &str, token: String) -> Self {
        TokenSession {
            c,
            service,
            base: base.trim_end_matches('/').to_string(),
            token,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// A request to `base + path` with the token and an optional JSON body.
    pub fn req<'s>(&'s self, method: Method, path: &str, json: Option<&'s Value>) -> Req<'s> {
        Req {
            service: self.service,
            method,
            url: format!("{}{path}", self.base),
            auth: Auth::Bearer(&self.token),
            headers: Vec::new(),
            form: None,
            json,
            accept: "application/json",
        }
    }
}

pub struct SapClient {
    http: reqwest::Client,
    cfg: SapConfig,
    /// Per service: (calls, errors, milliseconds), for `/metrics`.
    stats: Mutex<std::collections::BTreeMap<&'static str, (u64, u64, u64)>>,
}

const READ_RETRIES: u32 = 2;

impl SapClient {
    pub fn new(cfg: SapConfig) -> anyhow::Result<Self> {
        let mut b = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("taskcenter-wizard/", env!("CARGO_PKG_VERSION")));
        if let Some(addr) = cfg.sandbox {
            // SAP hosts are fetched over plain http through the sandbox, which
            // answers as every SAP service (loopback only).
            b = b.proxy(reqwest::Proxy::http(format!("http://{addr}"))?);
        }
        Ok(SapClient {
            http: b.build()?,
            cfg,
            stats: Mutex::new(std::collections::BTreeMap::new()),
        })
    }

    pub fn config(&self) -> &SapConfig {
        &self.cfg
    }

    /// Per service since start: (label, calls, errors, milliseconds).
    pub fn stats(&self) -> Vec<(&'static str, u64, u64, u64)> {
        self.stats
            .lock()
            .map(|s| s.iter().map(|(k, (c, e, ms))| (*k, *c, *e, *ms)).collect())
            .unwrap_or_default()
    }

    /// Check the target before anything is sent: https and the service's hosts.
    fn target(&self, service: Service, raw: &str) -> Result<Url, SapError> {
        let mut url = Url::parse(raw.trim()).map_err(|_| SapError::BadUrl {
            url: raw.to_string(),
        })?;
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        let sandbox_itself = self.cfg.sandbox.is_some_and(|a| {
            url.scheme() == "http" && host == a.ip().to_string() && url.port() == Some(a.port())
        });
        if sandbox_itself {
            return Ok(url);
        }
        if url.scheme() != "https" {
            return Err(SapError::NotHttps {
                url: public_url(&url),
            });
        }
        if !self.cfg.allows(service, &host) {
            return Err(SapError::NotAllowed { host, service });
        }
        if self.cfg.sandbox.is_some() {
            let _ = url.set_scheme("http");
        }
        Ok(url)
    }

    /// Send one request; reads are retried on connection failures and 502/503/504.
    pub async fn send(&self, calls: &Calls, req: Req<'_>) -> Result<Resp, SapError> {
        let url = self.target(req.service, &req.url)?;
        self.send_on(&self.http, url, calls, req).await
    }

    /// Send one request with a client certificate (mutual TLS): `identity`
    /// is the PEM chain followed by its private key (PKCS#1 or PKCS#8), as
    /// an x509 service key holds them. A client of its own for the call, so
    /// the certificate is presented to this host only; never logged.
    pub async fn send_with_certificate(
        &self,
        calls: &Calls,
        req: Req<'_>,
        identity: &str,
    ) -> Result<Resp, SapError> {
        let mut url = self.target(req.service, &req.url)?;
        let host = url.host_str().unwrap_or("").to_string();
        let id = reqwest::Identity::from_pem(identity.as_bytes()).map_err(|_| SapError::Garbage {
            what: "a client certificate and key that do not form a usable pair (check uaa.certificate and uaa.key)".into(),
        })?;
        let mut b = reqwest::Client::builder()
            .connect_timeout(self.cfg.connect_timeout)
            .timeout(self.cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("taskcenter-wizard/", env!("CARGO_PKG_VERSION")))
            .identity(id);
        if let Some((addr, ca)) = &self.cfg.sandbox_tls {
            // Real TLS to the sandbox's listener for this host name.
            let _ = url.set_scheme("https");
            let ca =
                reqwest::Certificate::from_pem(ca.as_bytes()).map_err(|_| SapError::Garbage {
                    what: "the sandbox CA".into(),
                })?;
            b = b.no_proxy().resolve(&host, *addr).tls_certs_only([ca]);
        }
        let http = b.build().map_err(|_| SapError::Garbage {
            what: "a client certificate the TLS library refused".into(),
        })?;
        match self.send_on(&http, url, calls, req).await {
            // A refused certificate ends the handshake: say that it may be it.
            Err(SapError::Unreachable { host }) => Err(SapError::CertificateRefused { host }),
            other => other,
        }
    }

    async fn send_on(
        &self,
        http: &reqwest::Client,
        url: Url,
        calls: &Calls,
        req: Req<'_>,
    ) -> Result<Resp, SapError> {
        let shown = {
            let mut u = Url::parse(req.url.trim()).unwrap_or_else(|_| url.clone());
            strip_secrets(&mut u);
            public_url(&u)
        };
        let idempotent = req.method == Method::GET;
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let at = crate::fmt::now();
            let mut rb = http
                .request(req.method.clone(), url.clone())
                .header(reqwest::header::ACCEPT, req.accept);
            rb = match req.auth {
                Auth::None => rb,
                Auth::Basic(u, p) => rb.basic_auth(u, Some(p)),
                Auth::Bearer(t) => rb.bearer_auth(t),
            };
            for (k, v) in &req.headers {
                rb = rb.header(*k, *v);
            }
            if let Some(f) = &req.form {
                rb = rb.form(f);
            }
            if let Some(j) = req.json {
                rb = rb.json(j);
            }
            let place = match &calls.bound {
                Some(b) => b.enter().await,
                None => None,
            };
            let result = match rb.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let csrf = r
                        .headers()
                        .get("x-csrf-token")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let cookies = r
                        .headers()
                        .get_all(reqwest::header::SET_COOKIE)
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .filter_map(|v| v.split(';').next())
                        .map(str::to_string)
                        .collect();
                    let location = r
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    match r.text().await {
                        Ok(body) => Ok(Resp {
                            status,
                            body,
                            csrf,
                            cookies,
                            location,
                        }),
                        Err(e) if e.is_timeout() => Err(self.timeout()),
                        Err(_) => Err(SapError::Garbage {
                            what: format!("status {status}, a body that could not be read"),
                        }),
                    }
                }
                Err(e) if e.is_timeout() => Err(self.timeout()),
                Err(_) => Err(SapError::Unreachable {
                    host: url.host_str().unwrap_or("").to_string(),
                }),
            };
            drop(place);
            let duration_ms = started.elapsed().as_millis() as i64;
            let (status, outcome) = match &result {
                Ok(r) if r.ok() => (Some(r.status), "ok".to_string()),
                Ok(r) => (Some(r.status), format!("HTTP {}", r.status)),
                Err(SapError::Timeout { secs }) => (None, format!("no answer within {secs} s")),
                Err(_) => (None, "could not connect".to_string()),
            };
            tracing::info!(method = %req.method, url = %shown, status = ?status, ms = duration_ms, "SAP call");
            if let Ok(mut st) = self.stats.lock() {
                let e = st.entry(req.service.label()).or_default();
                e.0 += 1;
                e.1 += u64::from(status.is_none_or(|s| s >= 400));
                e.2 += duration_ms.max(0) as u64;
            }
            calls.push(CallRecord {
                at,
                method: req.method.to_string(),
                url: shown.clone(),
                status,
                duration_ms,
                outcome,
            });
            let retry = idempotent
                && attempt < READ_RETRIES
                && match &result {
                    Ok(r) => matches!(r.status, 502..=504),
                    Err(SapError::Unreachable { .. }) => true,
                    Err(_) => false,
                };
            if !retry {
                return result;
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
        }
    }

    fn timeout(&self) -> SapError {
        SapError::Timeout {
            secs: self.cfg.timeout.as_secs().max(1),
        }
    }
}

/// The URL without credentials, as the call log shows it.
fn public_url(u: &Url) -> String {
    let mut u = u.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// Query values that could carry secrets are masked in the call log.
fn strip_secrets(u: &mut Url) {
    const SECRET: &[&str] = &[
        "client_secret",
        "password",
        "assertion",
        "access_token",
        "token",
        "code",
    ];
    if u.query().is_none() {
        return;
    }
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if SECRET.contains(&k.as_ref()) {
                "***".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
}

/// `https://host[:port]` of a URL (token endpoints live at the origin).
pub fn origin(raw: &str) -> Result<String, SapError> {
    let u = Url::parse(raw.trim()).map_err(|_| SapError::BadUrl {
        url: raw.to_string(),
    })?;
    let host = u.host_str().ok_or(SapError::BadUrl {
        url: raw.to_string(),
    })?;
    Ok(match u.port() {
        Some(p) => format!("{}://{host}:{p}", u.scheme()),
        None => format!("{}://{host}", u.scheme()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bound_keeps_calls_in_flight_at_its_number() {
        let bound = std::sync::Arc::new(Bound::new(3));
        let calls: Vec<_> = (0..12)
            .map(|_| {
                let b = bound.clone();
                tokio::spawn(async move {
                    let place = b.enter().await;
                    assert!(place.is_some());
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                })
            })
            .collect();
        for c in calls {
            assert!(c.await.is_ok());
        }
        assert_eq!(bound.peak(), 3, "three at once, never more");
        assert_eq!(
            bound.now.load(std::sync::atomic::Ordering::Relaxed),
            0,
            "every place given back"
        );
    }

    #[test]
    fn allow_list_and_https() {
        let c = SapClient::new(SapConfig::new(
            Duration::from_secs(1),
            Duration::from_secs(1),
            &["proxy.example.org".into()],
            None,
        ))
        .unwrap();
        use Service::*;
        let ok = |s, u: &str| c.target(s, u).is_ok();
        assert!(ok(
            Xsuaa,
            "https://acme.authentication.eu10.hana.ondemand.com/oauth/token"
        ));
        assert!(ok(
            Xsuaa,
            "https://acme.authentication.us10-001.hana.ondemand.com/"
        ));
        assert!(ok(S4, "https://my404687-api.s4hana.cloud.sap/x"));
        assert!(ok(
            Destination,
            "https://destination-configuration.cfapps.eu10.hana.ondemand.com/x"
        ));
        assert!(ok(
            TaskCenter,
            "https://api.workflow-sap.cfapps.eu10.hana.ondemand.com/t"
        ));
        assert!(ok(Ias, "https://acme.accounts.ondemand.com/scim/Users"));
        assert!(ok(Ias, "https://proxy.example.org/x"), "--allow-host");
        // Each service only reaches its own hosts.
        assert!(!ok(
            Destination,
            "https://evil.cfapps.eu10.hana.ondemand.com/x"
        ));
        assert!(!ok(
            Destination,
            "https://acme.authentication.eu10.hana.ondemand.com/x"
        ));
        assert!(!ok(
            Xsuaa,
            "https://authentication.eu10.hana.ondemand.com/x"
        ));
        assert!(!ok(
            Xsuaa,
            "https://a.b.authentication.eu10.x.hana.ondemand.com/"
        ));
        assert!(!ok(S4, "https://s4hana.ondemand.com/"));
        assert!(!ok(Ias, "https://my404687.s4hana.ondemand.com/"));
        assert_eq!(
            c.target(Ias, "https://evil.example.com/x").unwrap_err(),
            SapError::NotAllowed {
                host: "evil.example.com".into(),
                service: Ias,
            }
        );
        assert!(matches!(
            c.target(Xsuaa, "http://acme.authentication.eu10.hana.ondemand.com/"),
            Err(SapError::NotHttps { .. })
        ));
        assert!(matches!(
            c.target(TaskCenter, "https://hana.ondemand.com.evil.io/"),
            Err(SapError::NotAllowed { .. })
        ));
        assert!(
            c.target(S4, "http://127.0.0.1:9/").is_err(),
            "loopback only in sandbox mode"
        );
        let mut u = Url::parse("https://x.cloud.sap/t?client_secret=abc&filter=a").unwrap();
        strip_secrets(&mut u);
        assert!(!u.as_str().contains("abc") && u.as_str().contains("filter=a"));
    }
}
