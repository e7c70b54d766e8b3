//! The sandbox: a simulated SAP landscape over real HTTP (XSUAA, Task Center,
//! Destination service, IAS SCIM, S/4HANA token and OData root), answering
//! as sap-apis.md describes, with faults that can be switched per endpoint.
//! In `serve --sandbox` the wizard reaches it as an HTTP proxy for SAP hosts.

/// Answer with the fault switched on for this endpoint, if any (a macro:
/// it returns from the handler; defined before the modules that use it).
macro_rules! fault {
    ($sb:expr, $ep:expr) => {
        if let Some(r) = $sb.fault($ep).await {
            return r;
        }
    };
}

mod btp;
mod destination;
mod exchanges;
mod ias;
mod jwt;
mod mtls;
mod s4;
mod service_manager;
mod task_center;
mod wire;
mod xsuaa;

use s4::{comm, scim};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde_json::{Value, json};

/// A person at the demo customer, as IAS, XSUAA and S/4HANA know them.
#[derive(Clone, serde::Serialize)]
pub struct Person {
    pub email: String,
    pub password: String,
    pub given_name: String,
    pub family_name: String,
    /// IAS `userUuid`: the Global User ID.
    pub user_uuid: String,
    pub role_collections: Vec<String>,
    /// The S/4HANA business user's name.
    pub s4_user: String,
    /// Whether S/4HANA has this person's Global User ID at the start.
    pub s4_global_id: bool,
    pub note: String,
}

/// The demo customer: every value a consultant needs to finish a setup.
#[derive(Clone, serde::Serialize)]
pub struct Demo {
    pub customer: String,
    pub s4_host: String,
    pub s4_client: String,
    pub region: String,
    pub subdomain: String,
    pub subaccount_id: String,
    pub ias_host: String,
    pub uaa_url: String,
    pub inbox_rest_url: String,
    pub tc_clientid: String,
    pub tc_clientsecret: String,
    /// The dedicated Task Center instance's key for S/4HANA's push channel.
    pub push_clientid: String,
    pub push_clientsecret: String,
    /// The client of the Task Center key with credential type x509 (O.1).
    pub tc_x509_clientid: String,
    /// The global account's Cloud Management key, plan `central` (G.2).
    pub cis_clientid: String,
    pub cis_clientsecret: String,
    pub dest_uri: String,
    pub dest_clientid: String,
    pub dest_clientsecret: String,
    /// SAP Service Manager: a subaccount-admin key and a read-only audit key.
    pub sm_url: String,
    pub sm_clientid: String,
    pub sm_clientsecret: String,
    pub sm_audit_clientid: String,
    pub sm_audit_clientsecret: String,
    pub ias_clientid: String,
    pub ias_clientsecret: String,
    pub comm_user: String,
    pub comm_password: String,
    /// The approvers: (e-mail, Global User ID).
    pub users: Vec<(String, String)>,
    /// Everyone who can sign in at the demo IAS, with their passwords.
    pub people: Vec<Person>,
    /// S/4HANA's bootstrap communication users: (user, password, scenario) —
    /// SAP_COM_0A48 (communication management), SAP_COM_0465 (SCIM).
    pub s4_api_users: Vec<(String, String, String)>,
}

/// Demo values derived from a fixed seed: the same on every start, so a
/// demo setup that verified yesterday verifies today.
pub(crate) fn seeded(label: &str, bytes: usize) -> String {
    use sha2::Digest;
    let mut out = String::new();
    let mut i = 0u32;
    while out.len() < bytes * 2 {
        let d = sha2::Sha256::digest(format!("taskcenter-wizard sandbox/{label}/{i}").as_bytes());
        out.push_str(&hex::encode(d));
        i += 1;
    }
    out.truncate(bytes * 2);
    out
}

fn uuid(label: &str) -> String {
    let h = seeded(label, 16);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

impl Demo {
    fn new() -> anyhow::Result<Demo> {
        let subaccount_id = uuid("subaccount");
        let person = |email: &str, roles: &[&str], s4_global_id: bool, note: &str| {
            let local = email.split('@').next().unwrap_or("");
            let (given, family) = local.split_once('.').unwrap_or((local, ""));
            let cap = |s: &str| {
                let mut c = s.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            };
            Person {
                email: email.into(),
                password: format!("Demo-{}", seeded(&format!("pw/{email}"), 6)),
                given_name: cap(given),
                family_name: cap(family),
                user_uuid: uuid(&format!("user/{email}")),
                role_collections: roles.iter().map(|r| r.to_string()).collect(),
                s4_user: local.replace('.', "_").to_ascii_uppercase(),
                s4_global_id,
                note: note.into(),
            }
        };
        let people = vec![
            person(
                "ada.admin@acme.example",
                &["TaskCenterAdmin"],
                true,
                "Task Center administrator: sign in as her for Verify",
            ),
            person("anna.berg@acme.example", &[], true, "approver"),
            person("bob.stone@acme.example", &[], true, "approver"),
            person("chris.lee@acme.example", &[], true, "approver"),
            person(
                "dana.gray@acme.example",
                &[],
                false,
                "approver whose Global User ID is missing in S/4HANA (failure mode 5)",
            ),
        ];
        let users = people
            .iter()
            .filter(|p| p.note == "approver")
            .map(|p| (p.email.clone(), p.user_uuid.clone()))
            .collect();
        Ok(Demo {
            customer: "ACME Demo GmbH".into(),
            s4_host: "my404687.s4hana.ondemand.com".into(),
            s4_client: "100".into(),
            region: "eu10".into(),
            subdomain: "acme-demo".into(),
            ias_host: "acme-demo.accounts.ondemand.com".into(),
            uaa_url: "https://acme-demo.authentication.eu10.hana.ondemand.com".into(),
            inbox_rest_url:
                "https://api.workflow-sap.cfapps.eu10.hana.ondemand.com/task-center-service".into(),
            tc_clientid: format!(
                "sb-clone-{}!b1234|one-inbox-service!b456",
                seeded("tc-client", 6)
            ),
            tc_clientsecret: format!(
                "{}$sandbox-{}",
                seeded("tc-secret-a", 4),
                seeded("tc-secret-b", 12)
            ),
            push_clientid: format!(
                "sb-clone-{}!b1234|one-inbox-service!b456",
                seeded("push-client", 6)
            ),
            push_clientsecret: format!(
                "{}$sandbox-{}",
                seeded("push-secret-a", 4),
                seeded("push-secret-b", 12)
            ),
            tc_x509_clientid: format!(
                "sb-clone-{}!b1234|one-inbox-service!b456",
                seeded("x509-client", 6)
            ),
            cis_clientid: format!("sb-{}!b14|cis-central!b14", uuid("cis-central-client")),
            cis_clientsecret: format!(
                "{}$sandbox-{}",
                seeded("cis-secret-a", 4),
                seeded("cis-secret-b", 16)
            ),
            dest_uri: "https://destination-configuration.cfapps.eu10.hana.ondemand.com".into(),
            dest_clientid: format!(
                "sb-clone-{}!b5678|destination-xsappname!b62",
                seeded("dest-client", 6)
            ),
            dest_clientsecret: format!(
                "{}$sandbox-{}",
                seeded("dest-secret-a", 4),
                seeded("dest-secret-b", 12)
            ),
            sm_url: "https://service-manager.cfapps.eu10.hana.ondemand.com".into(),
            sm_clientid: format!("sb-{}!b9012|service-manager!b1476", seeded("sm-client", 6)),
            sm_clientsecret: format!(
                "{}$sandbox-{}",
                seeded("sm-secret-a", 4),
                seeded("sm-secret-b", 12)
            ),
            sm_audit_clientid: format!(
                "sb-{}!b9013|service-manager!b1476",
                seeded("sm-audit-client", 6)
            ),
            sm_audit_clientsecret: format!(
                "{}$sandbox-{}",
                seeded("sm-audit-a", 4),
                seeded("sm-audit-b", 12)
            ),
            ias_clientid: uuid("ias-client"),
            ias_clientsecret: format!("ias-{}", seeded("ias-secret", 14)),
            comm_user: "TASKCENTERCOM".into(),
            comm_password: seeded("comm-a", 12).to_ascii_uppercase() + &seeded("comm-b", 6),
            users,
            people,
            s4_api_users: vec![
                (
                    "TC_COMM_API".into(),
                    format!("Comm-{}", seeded("comm-api", 12)),
                    "SAP_COM_0A48".into(),
                ),
                (
                    "TC_SCIM_API".into(),
                    format!("Scim-{}", seeded("scim-api", 12)),
                    "SAP_COM_0465".into(),
                ),
            ],
            subaccount_id,
        })
    }

    pub fn task_center_key(&self) -> String {
        self.tc_key(&self.tc_clientid, &self.tc_clientsecret)
    }

    /// The Task Center key with credential type x509 (O.1): a client
    /// certificate chain and its key instead of a secret, and `certurl`.
    pub fn task_center_x509_key(&self) -> String {
        let Ok(pki) = mtls::pki(&self.subdomain) else {
            return String::new();
        };
        serde_json::to_string_pretty(&self.x509_key(
            &self.tc_x509_clientid,
            &pki.client_chain_pem,
            &pki.client_key_pem,
        ))
        .unwrap_or_default()
    }

    /// A Task Center key with credential type x509 for `clientid`.
    pub(crate) fn x509_key(&self, clientid: &str, chain: &str, key: &str) -> Value {
        json!({
            "endpoints": {"inbox_rest_url": self.inbox_rest_url, "inbox_odata_url": format!("{}/odata/v2", self.inbox_rest_url)},
            "sap.cloud.service": "com.sap.bpm.inbox-service",
            "uaa": {
                "clientid": clientid, "credential-type": "x509",
                "certificate": chain, "key": key,
                "certurl": self.cert_url(), "url": self.uaa_url, "certificate-pinning": true,
                "uaadomain": "authentication.eu10.hana.ondemand.com", "identityzone": self.subdomain,
                "tenantid": self.subaccount_id, "xsappname": "clone!b1234|one-inbox-service!b456"
            }
        })
    }

    /// `uaa.certurl`: the token service that takes client certificates.
    pub fn cert_url(&self) -> String {
        format!(
            "https://{}.authentication.cert.eu10.hana.ondemand.com",
            self.subdomain
        )
    }

    /// The key of the dedicated Task Center instance for the push channel.
    pub fn task_center_push_key(&self) -> String {
        self.tc_key(&self.push_clientid, &self.push_clientsecret)
    }

    fn tc_key(&self, clientid: &str, clientsecret: &str) -> String {
        serde_json::to_string_pretty(&json!({
            "endpoints": {"inbox_rest_url": self.inbox_rest_url, "inbox_odata_url": format!("{}/odata/v2", self.inbox_rest_url)},
            "html5-apps-repo": {"app_host_id": uuid("app-host")},
            "sap.cloud.service": "com.sap.bpm.inbox-service",
            "uaa": {
                "clientid": clientid, "clientsecret": clientsecret, "url": self.uaa_url,
                "uaadomain": "authentication.eu10.hana.ondemand.com", "identityzone": self.subdomain,
                "tenantid": self.subaccount_id, "xsappname": "clone!b1234|one-inbox-service!b456"
            }
        }))
        .unwrap_or_default()
    }

    /// A Service Manager key (plan subaccount-admin; `audit`: subaccount-audit).
    pub fn service_manager_key(&self, audit: bool) -> String {
        let (id, secret) = if audit {
            (&self.sm_audit_clientid, &self.sm_audit_clientsecret)
        } else {
            (&self.sm_clientid, &self.sm_clientsecret)
        };
        serde_json::to_string_pretty(&json!({
            "clientid": id, "clientsecret": secret, "sm_url": self.sm_url, "url": self.uaa_url,
            "xsappname": "b9012|service-manager!b1476"
        }))
        .unwrap_or_default()
    }

    pub fn destination_key(&self) -> String {
        serde_json::to_string_pretty(&json!({
            "uri": self.dest_uri, "url": self.uaa_url, "clientid": self.dest_clientid,
            "clientsecret": self.dest_clientsecret, "uaadomain": "authentication.eu10.hana.ondemand.com",
            "identityzone": self.subdomain, "tenantid": self.subaccount_id, "xsappname": "clone!b5678|destination-xsappname!b62"
        }))
        .unwrap_or_default()
    }

    fn api_host(&self) -> String {
        self.s4_host.replacen(".s4hana", "-api.s4hana", 1)
    }
}

impl Sandbox {
    /// A Task Center key a broker just made (Service Manager or Cloud
    /// Foundry): its client works at the sandbox's XSUAA at once (F.4 5).
    pub(crate) fn issue_secret_key(&self, clientid: &str, secret: &str) -> Value {
        if let Ok(mut c) = self.extra_clients.lock() {
            c.push((clientid.to_string(), secret.to_string()));
        }
        serde_json::from_str(&self.demo.tc_key(clientid, secret)).unwrap_or(Value::Null)
    }

    /// A key deleted: its secret (or certificate) no longer gets a token.
    pub(crate) fn revoke_key(&self, clientid: &str, secret: &str) {
        if let Ok(mut c) = self.extra_clients.lock() {
            c.retain(|(i, s)| !(i == clientid && s == secret));
        }
        if secret.is_empty()
            && let Ok(mut x) = self.x509.lock()
        {
            x.retain(|(i, _, _)| i != clientid);
        }
    }

    /// The same with credential type x509 (O.3 1): a certificate of its
    /// own, signed by the sandbox CA and valid `days`, that `certurl` takes.
    pub(crate) fn issue_x509_key(
        &self,
        clientid: &str,
        cn: &str,
        serial: u64,
        days: i64,
    ) -> anyhow::Result<Value> {
        let issued = mtls::pki(&self.demo.subdomain)?.issue(cn, serial, days)?;
        if let Ok(mut c) = self.extra_clients.lock() {
            c.push((clientid.to_string(), String::new()));
        }
        if let Ok(mut x) = self.x509.lock() {
            x.push((clientid.to_string(), issued.der.clone(), issued.not_after));
        }
        Ok(self
            .demo
            .x509_key(clientid, &issued.chain_pem, &issued.key_pem))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    Latency(u64),
    Timeout,
    Status(u16),
    Garbage,
}

impl Fault {
    pub fn parse(s: &str) -> Option<Fault> {
        match s {
            "timeout" => Some(Fault::Timeout),
            "garbage" => Some(Fault::Garbage),
            _ => {
                if let Some(ms) = s.strip_prefix("latency:") {
                    return ms.parse().ok().map(Fault::Latency);
                }
                s.parse::<u16>()
                    .ok()
                    .filter(|c| (400..600).contains(c))
                    .map(Fault::Status)
            }
        }
    }
}

/// The endpoints faults can be switched on.
pub const ENDPOINTS: &[&str] = &[
    "xsuaa-token",
    "token-keys",
    "connectors",
    "destinations",
    "find-destination",
    "certificate",
    "certificate-write",
    "ias-token",
    "scim",
    "applications",
    "s4-token",
    "s4-odata",
    "s4-comm",
    "s4-comm-user-write",
    "s4-comm-system-write",
    "s4-comm-inbound-write",
    "s4-comm-outbound-write",
    "s4-comm-arrangement-write",
    "s4-scim",
    "s4-scim-write",
    "service-manager",
    "service-manager-write",
    "service-manager-operation",
    "cis-accounts",
    "cis-accounts-write",
    "cis-entitlements",
    "cis-entitlements-write",
    "cis-provisioning",
    "cis-provisioning-write",
    "cis-saas",
    "cis-saas-write",
    "xsuaa-api",
    "xsuaa-api-write",
    "cf",
    "cf-write",
];

/// Switches for what sap-apis.md leaves open ([U]) or tests need.
pub struct Settings {
    /// Seconds an XSUAA access token lives (SAP: 43199).
    pub token_validity: i64,
    /// Whether client-credentials tokens may read `/v1/connectors` (C.1, [U]).
    pub cc_connectors: bool,
    /// The destination name length Task Center accepts (C.4: 64, or 16).
    pub name_limit: usize,
    /// The IAS application's subject name identifier: `user_uuid` or `email`.
    pub subject: String,
    /// S/4HANA refuses every CSRF token (to show how the wizard explains it).
    pub s4_csrf_broken: bool,
    /// Whether S/4HANA's SCIM accepts PATCH of the userUuid (E: [U]); when
    /// not, it answers 501 and the wizard falls back to PUT.
    pub scim_patch: bool,
    /// Task Center answers 429 beyond this many requests a second.
    pub tc_rate_limit: Option<u32>,
    /// How long Service Manager's create operations stay "in progress".
    pub sm_delay_ms: u64,
    /// Task Center instances made before May 2022: without the x509
    /// credential type in their parameters they refuse x509 bindings (O.3 3).
    pub sm_old_instances: bool,
    /// Task Center lists a connector no destination backs, as SAP's
    /// formation may leave one (N, [U]).
    pub formation_connector: bool,
    /// Task Center refuses instances made by Service Manager outside Cloud
    /// Foundry (J.4 5: the default; [U], so `false` is the alternative).
    pub sm_tc_other_env_refused: bool,
    /// A renewed trust certificate runs out in this many days (to show the
    /// dates ahead: failure mode 13 before it happens).
    pub trust_days_left: Option<i64>,
    /// Every SAP request answers this much later (a slow landscape, for the
    /// benchmark); 0: at once.
    pub latency_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            token_validity: 43_199,
            cc_connectors: false,
            name_limit: 64,
            subject: "user_uuid".into(),
            s4_csrf_broken: false,
            scim_patch: true,
            tc_rate_limit: None,
            sm_delay_ms: 200,
            sm_old_instances: false,
            formation_connector: false,
            sm_tc_other_env_refused: true,
            trust_days_left: None,
            latency_ms: 0,
        }
    }
}

pub struct Sandbox {
    pub demo: Demo,
    keys: Arc<jwt::Keys>,
    /// Live access tokens and their claims (pruned as they expire).
    tokens: Mutex<HashMap<String, Value>>,
    codes: Mutex<HashMap<String, xsuaa::Code>>,
    /// Refresh token -> (client, user e-mail).
    refresh: Mutex<HashMap<String, (String, String)>>,
    destinations: Mutex<BTreeMap<String, serde_json::Map<String, Value>>>,
    faults: Mutex<HashMap<String, Fault>>,
    /// The first trust certificate (the one `reset` brings back).
    certificate: String,
    cert_cn: String,
    /// The Destination service's active and passive trust certificates
    /// (renewal and rotation change them).
    trust: Mutex<Trust>,
    s4: Mutex<s4::Tenant>,
    /// CSRF tokens handed out by S/4HANA's services: (token, session cookie).
    csrf: Mutex<HashSet<(String, String)>>,
    scim_in_flight: std::sync::atomic::AtomicU64,
    /// Task Center's job runs per (connector, job type), at SAP's depths.
    job_history: Mutex<HashMap<(String, String), std::collections::VecDeque<Value>>>,
    /// (second, requests in it) for Task Center's rate limit.
    tc_window: Mutex<(i64, u32)>,
    scim_max_in_flight: std::sync::atomic::AtomicU64,
    settings: Mutex<Settings>,
    s4_tokens: Mutex<HashSet<String>>,
    /// Clients registered through /_sandbox/clients, accepted like the demo's.
    extra_clients: Mutex<Vec<(String, String)>>,
    /// Service Manager's instances and bindings.
    sm: Mutex<service_manager::Registry>,
    /// Requests received per endpoint (`GET /_sandbox/seen`): lets a test or
    /// a demo see what reached "SAP" and when, without waiting blindly.
    seen: Mutex<HashMap<String, u64>>,
    /// What was asked and answered, for the judges (`GET /_sandbox/exchanges`).
    exchanges: exchanges::Exchanges,
    /// The global account: subaccounts, entitlements, CF, trust, roles.
    btp: Mutex<btp::Global>,
    /// X.509 bindings made through Service Manager: (client, certificate
    /// DER, not after), what `certurl` accepts besides the demo's.
    x509: Mutex<Vec<(String, Vec<u8>, time::OffsetDateTime)>>,
    /// What reached the stand-in for Teams' incoming webhooks (the watch's
    /// notifications), for tests and demos: `GET /_sandbox/webhooks`.
    webhooks: Mutex<Vec<Value>>,
}

pub type Shared = Arc<Sandbox>;

fn booster_destinations(demo: &Demo) -> BTreeMap<String, serde_json::Map<String, Value>> {
    let mut m = BTreeMap::new();
    for v in [
        json!({"Name": "Task_Center", "Type": "HTTP", "URL": demo.inbox_rest_url, "ProxyType": "Internet", "Authentication": "NoAuthentication"}),
        json!({"Name": "Identity_Authentication_Connectivity_IDS", "Type": "HTTP", "URL": format!("https://{}/scim", demo.ias_host), "ProxyType": "Internet", "Authentication": "BasicAuthentication", "User": demo.ias_clientid, "Password": demo.ias_clientsecret}),
        json!({"Name": "Task_Center_global_settings", "Type": "HTTP", "URL": "https://sample_url.com", "ProxyType": "Internet", "Authentication": "NoAuthentication"}),
        json!({"Name": "S4HANACloud", "Type": "HTTP", "URL": "https://sample_url.com", "ProxyType": "Internet", "Authentication": "OAuth2SAMLBearerAssertion"}),
    ] {
        if let Value::Object(o) = v
            && let Some(name) = o.get("Name").and_then(Value::as_str)
        {
            m.insert(name.to_string(), o.clone());
        }
    }
    m
}

impl Sandbox {
    pub fn new() -> anyhow::Result<Sandbox> {
        let demo = Demo::new()?;
        let first = TrustCert::new(&demo.subaccount_id, 0)?;
        let certificate = first.pem.clone();
        let cert_cn = format!("cfapps.eu10.hana.ondemand.com/{}", demo.subaccount_id);
        let mut global = btp::Global::booster_ran(&demo);
        let registry = service_manager::Registry::booster(&demo, &mut global);
        Ok(Sandbox {
            destinations: Mutex::new(booster_destinations(&demo)),
            keys: jwt::keys()?,
            tokens: Mutex::new(HashMap::new()),
            codes: Mutex::new(HashMap::new()),
            refresh: Mutex::new(HashMap::new()),
            faults: Mutex::new(HashMap::new()),
            s4: Mutex::new(s4::Tenant::demo(&demo, &cert_cn, &certificate)),
            csrf: Mutex::new(HashSet::new()),
            scim_in_flight: std::sync::atomic::AtomicU64::new(0),
            job_history: Mutex::new(HashMap::new()),
            tc_window: Mutex::new((0, 0)),
            scim_max_in_flight: std::sync::atomic::AtomicU64::new(0),
            settings: Mutex::new(Settings::default()),
            certificate,
            cert_cn,
            trust: Mutex::new(Trust {
                active: first,
                passive: None,
                made: 0,
            }),
            s4_tokens: Mutex::new(HashSet::new()),
            extra_clients: Mutex::new(Vec::new()),
            sm: Mutex::new(registry),
            seen: Mutex::new(HashMap::new()),
            exchanges: exchanges::Exchanges::default(),
            btp: Mutex::new(global),
            x509: Mutex::new(Vec::new()),
            webhooks: Mutex::new(Vec::new()),
            demo,
        })
    }

    /// Apply the fault switched on for `endpoint`, if any.
    async fn fault(&self, endpoint: &str) -> Option<Response> {
        let f = self.take_fault(endpoint).await?;
        Some(self.fault_response(f))
    }

    /// Count the request; the fault switched on for `endpoint`, after its
    /// latency (a latency alone answers nothing).
    async fn take_fault(&self, endpoint: &str) -> Option<Fault> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen.entry(endpoint.to_string()).or_default() += 1;
        }
        let f = self.faults.lock().ok()?.get(endpoint).cloned()?;
        match f {
            Fault::Latency(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                None
            }
            Fault::Timeout => {
                tokio::time::sleep(Duration::from_secs(120)).await;
                Some(Fault::Timeout)
            }
            other => Some(other),
        }
    }

    fn fault_response(&self, f: Fault) -> Response {
        match f {
            Fault::Latency(_) | Fault::Timeout => StatusCode::GATEWAY_TIMEOUT.into_response(),
            Fault::Status(code) => {
                let status =
                    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let body = json!({"error": "injected_fault", "error_description": format!("Sandbox fault {code}"), "ErrorMessage": format!("Sandbox fault {code}")});
                (status, axum::Json(body)).into_response()
            }
            Fault::Garbage => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body><h1>Service temporarily unavailable</h1></body></html>",
            )
                .into_response(),
        }
    }

    pub fn set_fault(&self, endpoint: &str, fault: Option<Fault>) {
        if let Ok(mut f) = self.faults.lock() {
            match fault {
                Some(x) => f.insert(endpoint.to_string(), x),
                None => f.remove(endpoint),
            };
        }
    }

    pub fn destination(&self, name: &str) -> Option<serde_json::Map<String, Value>> {
        self.destinations.lock().ok()?.get(name).cloned()
    }
}

/// The subaccount's signing key: RSA as SAP's (section 3), derived from the
/// demo seed (the same on every start, so a demo S/4HANA that holds the
/// certificate keeps holding the right one) and made once per process
/// because RSA key generation is slow.
fn trust_key_pem() -> anyhow::Result<String> {
    use rand_chacha::rand_core::SeedableRng;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    static PEM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(p) = PEM.get() {
        return Ok(p.clone());
    }
    let mut seed = [0u8; 32];
    hex::decode_to_slice(seeded("trust-key", 32), &mut seed)?;
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048)?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("encoding the trust key: {e}"))?
        .to_string();
    Ok(PEM.get_or_init(|| pem).clone())
}

/// SAP's trust certificates live two years. The sandbox's first one is that
/// of the two-year period the day falls in (periods counted from
/// 2026-01-01), so it is the same on every start within a period and, like
/// SAP's, comes close to its end once in two years.
const TRUST_PERIOD_DAYS: i64 = 730;

fn trust_period(now: time::OffsetDateTime) -> (time::OffsetDateTime, u64) {
    let anchor = time::macros::datetime!(2026-01-01 0:00 UTC);
    let k = ((now - anchor).whole_days().max(0) / TRUST_PERIOD_DAYS) as u64;
    (
        anchor + time::Duration::days(k as i64 * TRUST_PERIOD_DAYS),
        k,
    )
}

/// One trust certificate of the Destination service.
#[derive(Clone)]
pub struct TrustCert {
    pub pem: String,
    pub sha256: String,
    pub not_after_ms: i64,
    pub generated_on: String,
}

impl TrustCert {
    /// The `n`th certificate of the subaccount: each has its own serial, so
    /// its fingerprint differs from every earlier one.
    fn new(subaccount: &str, n: u64) -> anyhow::Result<TrustCert> {
        let now = time::OffsetDateTime::now_utc();
        // The first is the period's (fixed); a renewal starts on its day.
        let (from, serial) = match n {
            0 => trust_period(now),
            n => (now, 1000 + n),
        };
        let (pem, not_after_ms) = trust_certificate(subaccount, serial, from)?;
        Ok(TrustCert {
            sha256: s4::fingerprint(&pem).unwrap_or_default(),
            pem,
            not_after_ms,
            generated_on: from
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        })
    }
}

pub struct Trust {
    pub active: TrustCert,
    pub passive: Option<TrustCert>,
    /// How many certificates were made (serial numbers).
    made: u64,
}

impl Sandbox {
    /// The certificate the Destination service signs SAML assertions with.
    pub(crate) fn active_trust(&self) -> Option<TrustCert> {
        self.trust.lock().ok().map(|t| t.active.clone())
    }

    /// A new certificate, as renewing (active or passive) makes it.
    fn next_trust(&self) -> anyhow::Result<TrustCert> {
        let n = {
            let mut t = self
                .trust
                .lock()
                .map_err(|_| anyhow::anyhow!("trust poisoned"))?;
            t.made += 1;
            t.made
        };
        let days_left = self.settings.lock().ok().and_then(|s| s.trust_days_left);
        let mut made = TrustCert::new(&self.demo.subaccount_id, n)?;
        // A renewal that SAP dated earlier: it runs out in `days_left` days.
        if let Some(d) = days_left {
            let from = time::OffsetDateTime::now_utc()
                - time::Duration::days(TRUST_PERIOD_DAYS - d.clamp(1, TRUST_PERIOD_DAYS));
            let (pem, not_after_ms) = trust_certificate(&self.demo.subaccount_id, 1000 + n, from)?;
            made = TrustCert {
                sha256: s4::fingerprint(&pem).unwrap_or_default(),
                pem,
                not_after_ms,
                generated_on: made.generated_on,
            };
        }
        Ok(made)
    }
}

/// A self-signed RSA certificate with SAP's subject (CN, O, OU, in that
/// order) and a CN over 64 characters.
fn trust_certificate(
    subaccount: &str,
    serial: u64,
    from: time::OffsetDateTime,
) -> anyhow::Result<(String, i64)> {
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        format!("cfapps.eu10.hana.ondemand.com/{subaccount}"),
    );
    dn.push(DnType::OrganizationName, "SAP");
    dn.push(
        DnType::OrganizationalUnitName,
        "CP Destination Configuration",
    );
    params.distinguished_name = dn;
    params.serial_number = Some(rcgen::SerialNumber::from(serial + 1));
    params.not_before = from;
    params.not_after = from + time::Duration::days(TRUST_PERIOD_DAYS);
    let key = KeyPair::from_pem_and_sign_algo(&trust_key_pem()?, &rcgen::PKCS_RSA_SHA256)?;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), params.not_after.unix_timestamp() * 1000))
}

#[derive(Template, WebTemplate)]
#[template(path = "sandbox.html")]
struct DemoPage {
    title: String,
    demo: Demo,
    task_center_key: String,
    task_center_push_key: String,
    task_center_x509_key: String,
    service_manager_key: String,
    destination_key: String,
    cis_central_key: String,
    approvers: String,
    endpoints: &'static [&'static str],
}

async fn demo_page(State(sb): State<Shared>) -> DemoPage {
    DemoPage {
        title: "Sandbox: demo customer".into(),
        task_center_key: sb.demo.task_center_key(),
        task_center_push_key: sb.demo.task_center_push_key(),
        task_center_x509_key: sb.demo.task_center_x509_key(),
        service_manager_key: sb.demo.service_manager_key(false),
        destination_key: sb.demo.destination_key(),
        cis_central_key: sb.demo.cis_central_key(),
        approvers: sb
            .demo
            .users
            .iter()
            .map(|(e, _)| e.clone())
            .collect::<Vec<_>>()
            .join("\n"),
        demo: sb.demo.clone(),
        endpoints: ENDPOINTS,
    }
}

async fn demo_json(State(sb): State<Shared>) -> impl IntoResponse {
    let mut v = serde_json::to_value(&sb.demo).unwrap_or_default();
    v["task_center_x509_key"] = Value::String(sb.demo.task_center_x509_key());
    v["cis_central_key"] = Value::String(sb.demo.cis_central_key());
    axum::Json(v)
}

async fn trust_pem(State(sb): State<Shared>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/x-pem-file"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"destination-trust.pem\"",
            ),
        ],
        sb.active_trust().map(|t| t.pem).unwrap_or_default(),
    )
}

#[derive(serde::Deserialize)]
struct ClientForm {
    client_id: String,
    client_secret: String,
}

/// Accept another XSUAA client (a service key of your own shape) as a Task Center client.
async fn add_client(State(sb): State<Shared>, axum::Form(f): axum::Form<ClientForm>) -> Response {
    if f.client_id.is_empty() || f.client_secret.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            "client_id and client_secret are required",
        )
            .into_response();
    }
    if let Ok(mut c) = sb.extra_clients.lock() {
        c.push((f.client_id, f.client_secret));
    }
    (StatusCode::OK, "ok").into_response()
}

#[derive(serde::Deserialize)]
struct FaultForm {
    endpoint: String,
    fault: String,
}

async fn set_fault(State(sb): State<Shared>, axum::Form(f): axum::Form<FaultForm>) -> Response {
    if !ENDPOINTS.contains(&f.endpoint.as_str()) {
        return (
            StatusCode::BAD_REQUEST,
            format!("unknown endpoint; one of {}", ENDPOINTS.join(", ")),
        )
            .into_response();
    }
    let fault = match f.fault.as_str() {
        "none" | "" => None,
        other => match Fault::parse(other) {
            Some(x) => Some(x),
            None => {
                return (
                    StatusCode::BAD_REQUEST,
                    "fault: none, latency:MS, timeout, 400-599 or garbage",
                )
                    .into_response();
            }
        },
    };
    sb.set_fault(&f.endpoint, fault);
    (StatusCode::OK, "ok").into_response()
}

async fn seen(State(sb): State<Shared>) -> axum::Json<Value> {
    let seen = sb.seen.lock().map(|s| s.clone()).unwrap_or_default();
    let mut v = json!(seen);
    v["scim-s4-max-in-flight"] = json!(
        sb.scim_max_in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
    );
    axum::Json(v)
}

async fn reset(State(sb): State<Shared>) -> &'static str {
    if let Ok(mut f) = sb.faults.lock() {
        f.clear();
    }
    if let Ok(mut d) = sb.destinations.lock() {
        *d = booster_destinations(&sb.demo);
    }
    if let Ok(mut t) = sb.s4.lock() {
        *t = s4::Tenant::demo(&sb.demo, &sb.cert_cn, &sb.certificate);
    }
    if let Ok(mut s) = sb.settings.lock() {
        *s = Settings::default();
    }
    if let Ok(mut h) = sb.job_history.lock() {
        h.clear();
    }
    let mut global = btp::Global::booster_ran(&sb.demo);
    if let Ok(mut r) = sb.sm.lock() {
        *r = service_manager::Registry::booster(&sb.demo, &mut global);
    }
    if let Ok(mut g) = sb.btp.lock() {
        *g = global;
    }
    if let Ok(mut t) = sb.trust.lock()
        && let Some(first) = TrustCert::new(&sb.demo.subaccount_id, 0).ok()
    {
        *t = Trust {
            active: first,
            passive: None,
            made: 0,
        };
    }
    "ok"
}

#[derive(serde::Deserialize)]
struct SettingsForm {
    token_validity: Option<i64>,
    cc_connectors: Option<bool>,
    name_limit: Option<usize>,
    subject: Option<String>,
    s4_csrf_broken: Option<bool>,
    scim_patch: Option<bool>,
    tc_rate_limit: Option<u32>,
    sm_delay_ms: Option<u64>,
    sm_old_instances: Option<bool>,
    formation_connector: Option<bool>,
    sm_tc_other_env_refused: Option<bool>,
    trust_days_left: Option<i64>,
    latency_ms: Option<u64>,
    /// `empty`: a global account without the demo subaccount; `booster`:
    /// the subaccount as the booster leaves it (the start).
    global_account: Option<String>,
    /// Every long BTP step takes this long (fast mode); 0: SAP's own times.
    btp_delay_ms: Option<u64>,
    /// The BTP step that fails (`btp::FAILS`), or `none`.
    btp_fail: Option<String>,
    /// `true`: remove what SAP failed to create, as an administrator does
    /// in the cockpit.
    btp_remove_failed: Option<bool>,
}

/// `POST /_sandbox/settings`: the switches of `Settings`.
async fn settings(State(sb): State<Shared>, axum::Form(f): axum::Form<SettingsForm>) -> Response {
    let Ok(mut s) = sb.settings.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Some(v) = f.token_validity {
        s.token_validity = v.max(1);
    }
    if let Some(v) = f.cc_connectors {
        s.cc_connectors = v;
    }
    if let Some(v) = f.name_limit {
        s.name_limit = v;
    }
    if let Some(v) = f.s4_csrf_broken {
        s.s4_csrf_broken = v;
    }
    if let Some(v) = f.scim_patch {
        s.scim_patch = v;
    }
    if let Some(v) = f.sm_delay_ms {
        s.sm_delay_ms = v;
    }
    if let Some(v) = f.sm_old_instances {
        s.sm_old_instances = v;
    }
    if let Some(v) = f.formation_connector {
        s.formation_connector = v;
    }
    if let Some(v) = f.sm_tc_other_env_refused {
        s.sm_tc_other_env_refused = v;
    }
    if let Some(v) = f.trust_days_left {
        s.trust_days_left = (v > 0).then_some(v);
    }
    if let Some(v) = f.latency_ms {
        s.latency_ms = v.min(60_000);
    }
    if let Some(v) = f.tc_rate_limit {
        s.tc_rate_limit = (v > 0).then_some(v);
    }
    match f.subject.as_deref() {
        Some("user_uuid" | "email") => s.subject = f.subject.clone().unwrap_or_default(),
        Some(_) => return (StatusCode::BAD_REQUEST, "subject: user_uuid or email").into_response(),
        None => {}
    }
    drop(s);
    global_settings(&sb, &f)
}

/// The global account's switches (`SettingsForm`).
fn global_settings(sb: &Shared, f: &SettingsForm) -> Response {
    if let Some(fail) = f.btp_fail.as_deref()
        && fail != "none"
        && !btp::FAILS.contains(&fail)
    {
        return (
            StatusCode::BAD_REQUEST,
            format!("btp_fail: none or one of {}", btp::FAILS.join(", ")),
        )
            .into_response();
    }
    let fresh = match f.global_account.as_deref() {
        None => None,
        Some("empty") => Some((
            btp::Global::empty(&sb.demo),
            service_manager::Registry::default(),
        )),
        Some("booster") => {
            let mut g = btp::Global::booster_ran(&sb.demo);
            let r = service_manager::Registry::booster(&sb.demo, &mut g);
            Some((g, r))
        }
        Some(_) => {
            return (StatusCode::BAD_REQUEST, "global_account: empty or booster").into_response();
        }
    };
    if let Some((g, registry)) = fresh {
        let empty = g.managed_roles;
        if let Ok(mut old) = sb.btp.lock() {
            let (fast, fail) = (old.fast, old.fail.take());
            *old = g;
            old.fast = fast;
            old.fail = fail;
        }
        if let Ok(mut r) = sb.sm.lock() {
            *r = registry;
        }
        // Nothing of the booster's is left in an empty global account.
        if let Ok(mut d) = sb.destinations.lock() {
            *d = if empty {
                BTreeMap::new()
            } else {
                booster_destinations(&sb.demo)
            };
        }
    }
    if let Ok(mut g) = sb.btp.lock() {
        if let Some(ms) = f.btp_delay_ms {
            g.fast = (ms > 0).then_some(ms);
        }
        match f.btp_fail.as_deref() {
            Some("none") => g.fail = None,
            Some(x) => g.fail = Some(x.to_string()),
            None => {}
        }
        if f.btp_remove_failed == Some(true) {
            g.remove_failed();
        }
    }
    (StatusCode::OK, "ok").into_response()
}

/// `GET /`: the demo page, or the Cloud Foundry API's root for its host.
async fn root(State(sb): State<Shared>, headers: axum::http::HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if host.starts_with("api.cf.") {
        return btp::cf::root(host);
    }
    demo_page(State(sb)).await.into_response()
}

pub fn router(sb: Shared) -> Router {
    let dc = "/destination-configuration/v1";
    Router::new()
        .route("/", get(root))
        .route("/static/app.css", get(crate::assets::css))
        .route("/static/app.js", get(crate::assets::js))
        .route("/_sandbox/demo.json", get(demo_json))
        .route("/_sandbox/exchanges", get(exchanges::list))
        .route("/_sandbox/trust.pem", get(trust_pem))
        .route("/_sandbox/faults", post(set_fault))
        .route("/_sandbox/reset", post(reset))
        .route("/_sandbox/seen", get(seen))
        .route("/_sandbox/webhooks", get(webhooks))
        .route("/webhookb2/{*rest}", post(teams_webhook))
        .route("/_sandbox/clients", post(add_client))
        .route("/_sandbox/settings", post(settings))
        .route("/_sandbox/s4", get(s4::show).post(s4::change))
        .route("/oauth/token", post(xsuaa::token))
        .route("/oauth/authorize", get(xsuaa::authorize_form).post(xsuaa::authorize))
        .route("/token_keys", get(xsuaa::token_keys))
        .route("/.well-known/openid-configuration", get(xsuaa::openid_configuration))
        .route("/task-center-service/v1/connectors", get(task_center::connectors))
        .route("/task-center-service/v1/connectors/{id}", get(task_center::connector_by_id))
        .route("/task-center-service/v1/connectors/{id}/jobTypes/{job_type}", get(task_center::job_log))
        .route("/task-center-service/v1/service-status", get(task_center::service_status))
        .route("/task-center-service/v1/tasks", get(task_center::tasks))
        .route(&format!("{dc}/subaccountDestinations"), get(destination::list_subaccount).post(destination::write).put(destination::write))
        .route(&format!("{dc}/subaccountDestinations/{{name}}"), get(destination::read).delete(destination::delete))
        .route(&format!("{dc}/instanceDestinations"), get(destination::list_instance))
        .route(&format!("{dc}/destinations/{{name}}"), get(destination::find))
        .route(&format!("{dc}/saml2Metadata/certificate"), get(destination::certificate).post(destination::renew_certificate))
        .route(&format!("{dc}/saml2Metadata/certificate/passive"), get(destination::passive_certificate).post(destination::renew_passive))
        .route(&format!("{dc}/saml2Metadata/rotateCertificate"), post(destination::rotate_certificate))
        .route("/oauth2/token", post(ias::ias_token))
        .route("/scim/Users", get(ias::scim_users))
        .route("/Applications/v1/", get(ias::ias_applications))
        .route("/sap/bc/sec/oauth2/token", post(s4::token))
        .route("/v1/service_offerings", get(service_manager::offerings))
        .route("/v1/service_plans", get(service_manager::plans))
        .route("/v1/{resource}", get(service_manager::list).post(service_manager::create))
        .route("/v1/{resource}/{id}", get(service_manager::read).delete(service_manager::delete))
        .route("/v1/{resource}/{id}/operations/{op}", get(service_manager::operation))
        .route(&format!("{}/", comm::CU), get(comm::users))
        .route(&format!("{}/CommunicationUsers", comm::CU), get(comm::users).post(comm::users))
        .route(&format!("{}/{{set}}", comm::CU), patch(comm::user_patch))
        .route(&format!("{}/", comm::CS), get(comm::systems_root))
        .route(&format!("{}/{{set}}", comm::CS), get(comm::systems).post(comm::systems).patch(comm::systems))
        .route(&format!("{}/Users", scim::BASE), get(scim::users))
        .route(&format!("{}/Users/{{id}}", scim::BASE), get(scim::user).put(scim::user).patch(scim::user))
        .route(&format!("{}/", comm::CA), get(comm::arrangements))
        .route(&format!("{}/CommunicationArrangements", comm::CA), get(comm::arrangements).post(comm::arrangements))
        .route(&format!("{}/{{set}}/{{nav}}", comm::CA), patch(comm::repoint))
        .merge(btp_routes())
        .route("/sap/opu/odata4/sap/api_task_spi_replication/default/sap/api_task_spi_replication/0001/", get(s4::odata))
        .route("/sap/opu/odata4/sap/api_task_spi_replication/default/sap/api_task_spi_replication/0001", get(s4::odata))
        .layer(axum::middleware::from_fn_with_state(sb.clone(), exchanges::record))
        .with_state(sb)
}

/// Teams' incoming webhook, standing in (`https://<tenant>.webhook.office.com/webhookb2/...`):
/// it answers `1`, as Teams does, and keeps what was posted.
async fn teams_webhook(
    State(sb): State<Shared>,
    Path(rest): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // Which webhook it reached, for the tests: the path after /webhookb2/.
    if let Some(o) = v.as_object_mut() {
        o.insert("_webhook".into(), Value::String(rest));
    }
    if let Ok(mut w) = sb.webhooks.lock() {
        w.push(v);
    }
    (StatusCode::OK, "1").into_response()
}

async fn webhooks(State(sb): State<Shared>) -> axum::Json<Value> {
    axum::Json(Value::Array(
        sb.webhooks.lock().map(|w| w.clone()).unwrap_or_default(),
    ))
}

/// The global account's services (sap-apis-btp.md H-L, J.3).
fn btp_routes() -> Router<Shared> {
    use btp::{accounts, authz, cf, entitlements, provisioning, saas};
    let sub = "/accounts/v1/subaccounts";
    let xs = "/sap/rest/authorization/v2";
    Router::new()
        .route("/accounts/v1/globalAccount", get(accounts::global_account))
        .route(sub, get(accounts::list).post(accounts::create))
        .route(&format!("{sub}/{{guid}}"), get(accounts::read))
        .route(
            &format!("{sub}/{{guid}}/serviceManagementBinding"),
            get(accounts::sm_binding).post(accounts::sm_binding),
        )
        .route(
            "/entitlements/v1/assignments",
            get(entitlements::assignments),
        )
        .route(
            "/entitlements/v1/subaccountServicePlans",
            axum::routing::put(entitlements::assign),
        )
        .route(
            "/provisioning/v1/availableEnvironments",
            get(provisioning::available),
        )
        .route(
            "/provisioning/v1/environments",
            get(provisioning::list).post(provisioning::create),
        )
        .route(
            "/provisioning/v1/environments/{id}",
            get(provisioning::read),
        )
        .route("/saas-manager/v1/applications", get(saas::applications))
        .route(
            "/saas-manager/v1/applications/{app}",
            get(saas::application),
        )
        .route(
            "/saas-manager/v1/applications/{app}/subscription",
            post(saas::subscribe),
        )
        .route(
            "/sap/rest/identity-providers",
            get(authz::identity_providers).post(authz::create_identity_provider),
        )
        .route("/sap/rest/identity-providers/ias", get(authz::ias_tenants))
        .route(&format!("{xs}/apps"), get(authz::apps))
        .route(
            &format!("{xs}/rolecollections"),
            post(authz::create_collection),
        )
        .route(
            &format!("{xs}/rolecollections/{{name}}"),
            get(authz::collection),
        )
        .route(
            "/sap/rest/user/origin/{origin}/name/{user}",
            get(authz::user),
        )
        .route(
            "/sap/rest/user/origin/{origin}/name/{user}/rolecollections/{name}",
            axum::routing::put(authz::assign),
        )
        .route("/v3/spaces", get(cf::spaces).post(cf::create_space))
        .route("/v3/roles", get(cf::roles).post(cf::create_role))
        .route("/v3/service_plans", get(cf::service_plans))
        .route(
            "/v3/service_instances",
            get(cf::instances).post(cf::create_instance),
        )
        .route("/v3/jobs/{guid}", get(cf::job))
        .route(
            "/v3/service_credential_bindings",
            get(cf::bindings).post(cf::create_binding),
        )
        .route(
            "/v3/service_credential_bindings/{guid}/details",
            get(cf::binding_details),
        )
}

/// A sandbox served in the background; the handle keeps its state for tests.
pub struct RunningSandbox {
    pub addr: SocketAddr,
    /// `certurl`'s TLS listener (client certificates required) and the CA
    /// that signed its certificate.
    pub tls_addr: SocketAddr,
    pub ca_pem: String,
    pub sandbox: Shared,
    pub task: tokio::task::JoinHandle<()>,
}

pub async fn start(listen: SocketAddr) -> anyhow::Result<RunningSandbox> {
    let sandbox = Arc::new(Sandbox::new()?);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        anyhow::bail!("the sandbox only listens on loopback addresses, not {addr}");
    }
    let app = router(sandbox.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "sandbox stopped");
        }
    });
    let tls_addr = mtls::start(sandbox.clone(), SocketAddr::new(addr.ip(), 0)).await?;
    let ca_pem = mtls::pki(&sandbox.demo.subdomain)?.ca_pem.clone();
    Ok(RunningSandbox {
        addr,
        tls_addr,
        ca_pem,
        sandbox,
        task,
    })
}
