//! The sandbox's global account (sap-apis-btp.md G-M): the Cloud Management
//! keys and their tokens, subaccounts, entitlements, Cloud Foundry, the Work
//! Zone subscription, trust and role collections, each with SAP's states,
//! delays, errors and a fault switch. Its seed is a subaccount the booster
//! set up; `global_account=empty` starts from nothing.
//!
//! One data plane: the Destination service, Task Center and user sign-in of
//! the sandbox serve the demo subaccount (the demo's subdomain and region).
//! Other subaccounts exist at the Cloud Management level only.

pub mod accounts;
pub mod authz;
pub mod cf;
pub mod entitlements;
pub mod provisioning;
pub mod saas;

use std::time::{Duration, Instant};

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Demo, Fault, Sandbox, uuid};

/// What a key issued in this global account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `cis` plan `central` (G.1).
    Central,
    /// `cis` plan `local` of one subaccount.
    Local,
    /// `xsuaa` plan `apiaccess` (L.1).
    ApiAccess,
    /// Service Manager access of a subaccount (G.5).
    ServiceManager,
    /// `destination` plan `lite`.
    Destination,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub secret: String,
    pub kind: Kind,
    /// The subaccount whose zone issued it (the token's `zid`).
    pub subaccount: String,
    /// Issued with `{"grantType":"clientCredentials"}` (G.1): else the
    /// password grant only.
    pub client_credentials: bool,
}

impl Kind {
    fn xsappname(self) -> &'static str {
        match self {
            Kind::Central => "cis-central!b14",
            Kind::Local => "cis-local!b4",
            Kind::ApiAccess => "xsuaa!t1",
            Kind::ServiceManager => "service-manager!b1476",
            Kind::Destination => "destination-xsappname!b62",
        }
    }

    /// The scopes of its tokens (G.1, L.1), without the xsappname prefix.
    fn scopes(self) -> &'static [&'static str] {
        match self {
            Kind::Central => &[
                "global-account.read",
                "global-account.subaccount.read",
                "global-account.subaccount.create",
                "global-account.subaccount.update",
                "global-account.entitlement",
                "global-account.entitlement.read",
                "global-account.entitlement.subaccount.update",
                "global-account.region.read",
                "job.read",
            ],
            Kind::Local => &[
                "subaccount.entitlement.read",
                "subaccount.environment.read",
                "subaccount.environment.create",
                "subaccount.application.subscription.read",
                "subaccount.application.subscription.update",
                "job.read",
            ],
            Kind::ApiAccess => &[
                "xs_user.write",
                "xs_user.read",
                "xs_authorization.read",
                "xs_authorization.write",
                "xs_idp.read",
                "xs_idp.write",
            ],
            Kind::ServiceManager | Kind::Destination => &["uaa.resource"],
        }
    }
}

/// How long SAP takes, from the recordings of part 3 (H.2, J.2, K.3), or
/// `fast` milliseconds for each when tests switch it.
pub fn delay(fast: Option<u64>, realistic_secs: u64) -> Duration {
    match fast {
        Some(ms) => Duration::from_millis(ms),
        None => Duration::from_secs(realistic_secs),
    }
}

/// A long-running creation: how far it is.
#[derive(Debug, Clone, Copy)]
pub struct Timeline {
    pub started: Instant,
    pub takes: Duration,
}

impl Timeline {
    pub fn new(takes: Duration) -> Timeline {
        Timeline {
            started: Instant::now(),
            takes,
        }
    }
    pub fn done() -> Timeline {
        Timeline {
            started: Instant::now() - Duration::from_secs(3600),
            takes: Duration::ZERO,
        }
    }
    /// 0.0 at the start, 1.0 when done.
    pub fn fraction(&self) -> f64 {
        if self.takes.is_zero() {
            return 1.0;
        }
        (self.started.elapsed().as_secs_f64() / self.takes.as_secs_f64()).min(1.0)
    }
    pub fn finished(&self) -> bool {
        self.fraction() >= 1.0
    }
}

/// Epoch milliseconds, as the CIS services send dates (G.8).
pub fn now_ms() -> i64 {
    crate::fmt::now() * 1000
}

/// The state of the whole global account.
pub struct Global {
    pub guid: String,
    pub subaccounts: Vec<accounts::Subaccount>,
    pub assignments: Vec<entitlements::Assignment>,
    /// (subaccount, the v1 Service Manager binding's credentials).
    pub sm_bindings: Vec<(String, Value)>,
    pub environments: Vec<provisioning::Environment>,
    pub subscriptions: Vec<saas::Subscription>,
    pub authz: authz::Authz,
    pub cf: cf::Cf,
    pub clients: Vec<Client>,
    /// Whether user tokens' role collections come from assignments made
    /// here (an empty start) rather than from the demo people's defaults.
    pub managed_roles: bool,
    /// How long each step takes: `None` realistic, `Some(ms)` fast.
    pub fast: Option<u64>,
    /// Which step fails with SAP's failed state (`btp_fail`).
    pub fail: Option<String>,
    /// Requests per (caller, path) in the rate limit's window (G.7, G.9 5).
    pub calls: std::collections::HashMap<(String, String), std::collections::VecDeque<Instant>>,
    n: u64,
}

/// SAP's documented example limit: 5 requests in 3 s per caller and path
/// on `/accounts/v1/globalAccount*` (G.7).
pub const RATE: (usize, Duration) = (5, Duration::from_secs(3));

/// The names a `btp_fail` switch takes: the step whose object ends in its
/// failed state, `lock` (the entitlement lock 30004, once) or `new-tenant`
/// (an IAS tenant too new to be trusted yet, 404).
pub const FAILS: &[&str] = &[
    "subaccount",
    "entitlement",
    "environment",
    "subscription",
    "cf-instance",
    "lock",
    "new-tenant",
];

impl Global {
    /// A subaccount the Task Center booster set up (M.3), with the keys the
    /// demo page lists: every object of the wizard's BTP plan exists.
    pub fn booster_ran(demo: &Demo) -> Global {
        let mut g = Global::empty(demo);
        g.managed_roles = false;
        let sub = accounts::Subaccount::demo(demo, &g.guid);
        let id = sub.guid.clone();
        g.subaccounts.push(sub);
        g.settle();
        for (service, plan) in [
            ("one-inbox-service", "all-tasks"),
            ("SAPLaunchpad", "standard"),
            ("cis", "local"),
        ] {
            g.assignments
                .push(entitlements::Assignment::done(&id, service, plan));
        }
        g.sm_bindings.push((
            id.clone(),
            json!({"clientid": demo.sm_clientid, "clientsecret": demo.sm_clientsecret,
                   "sm_url": demo.sm_url, "url": demo.uaa_url, "xsappname": "b9012|service-manager!b1476"}),
        ));
        g.authz.seed_trust(demo);
        g.environments
            .push(provisioning::Environment::demo(demo, &g.guid));
        g.cf.seed(demo);
        g.subscriptions
            .push(saas::Subscription::demo(demo, &g.guid));
        g.settle();
        g.authz.seed_booster_collections(&id);
        g
    }

    /// A global account without the demo subaccount: one other subaccount
    /// (to adopt nothing from by mistake) and subdomains other customers hold.
    pub fn empty(demo: &Demo) -> Global {
        let guid = uuid("global-account");
        let mut g = Global {
            subaccounts: vec![accounts::Subaccount::other(&guid)],
            guid,
            assignments: Vec::new(),
            sm_bindings: Vec::new(),
            environments: Vec::new(),
            subscriptions: Vec::new(),
            authz: authz::Authz::default(),
            cf: cf::Cf::default(),
            clients: vec![Client {
                id: demo.cis_clientid.clone(),
                secret: demo.cis_clientsecret.clone(),
                kind: Kind::Central,
                subaccount: uuid("cis-admin-subaccount"),
                client_credentials: true,
            }],
            managed_roles: true,
            fast: None,
            fail: None,
            calls: std::collections::HashMap::new(),
            n: 0,
        };
        g.settle();
        g
    }

    /// Whether `caller` may call `path` now (and count it), per `RATE`.
    pub fn admit(&mut self, caller: &str, path: &str) -> bool {
        let now = Instant::now();
        let q = self
            .calls
            .entry((caller.to_string(), path.to_string()))
            .or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) > RATE.1) {
            q.pop_front();
        }
        if q.len() >= RATE.0 {
            return false;
        }
        q.push_back(now);
        true
    }

    pub fn next(&mut self, what: &str) -> String {
        self.n += 1;
        uuid(&format!("btp/{what}/{}", self.n))
    }

    pub fn failing(&self, step: &str) -> bool {
        self.fail.as_deref() == Some(step)
    }

    pub fn subaccount(&self, guid: &str) -> Option<&accounts::Subaccount> {
        self.subaccounts.iter().find(|s| s.guid == guid)
    }

    /// What SAP does once a creation finished: a new subaccount's automatic
    /// entitlements, role collections and IdP (H.4 4), Work Zone's role
    /// collections after its subscription (K.5 4).
    pub fn settle(&mut self) {
        let ready: Vec<String> = self
            .subaccounts
            .iter_mut()
            .filter(|s| !s.settled && s.state().0 == "OK")
            .map(|s| {
                s.settled = true;
                s.guid.clone()
            })
            .collect();
        for id in ready {
            for (service, plan) in entitlements::AUTO_ASSIGNED {
                let mut a = entitlements::Assignment::done(&id, service, plan);
                a.auto = true;
                self.assignments.push(a);
            }
            self.authz.defaults(&id);
        }
        let subscribed: Vec<String> = self
            .subscriptions
            .iter_mut()
            .filter(|s| !s.settled && s.state() == "SUBSCRIBED")
            .map(|s| {
                s.settled = true;
                s.subaccount.clone()
            })
            .collect();
        for id in subscribed {
            self.authz.work_zone(&id);
        }
        self.settle_cf();
    }

    /// What an administrator deletes in the cockpit after SAP failed to
    /// create it (the wizard never deletes): failed subaccounts, Cloud
    /// Foundry environments and service instances.
    pub fn remove_failed(&mut self) {
        self.subaccounts
            .retain(|s| !s.state().0.ends_with("FAILED"));
        let gone: Vec<String> = self
            .environments
            .iter()
            .filter(|e| e.state().0.ends_with("FAILED"))
            .map(|e| e.org_guid.clone())
            .collect();
        self.environments
            .retain(|e| !e.state().0.ends_with("FAILED"));
        self.cf.orgs.retain(|o| !gone.contains(&o.guid));
        let failed: Vec<String> = self
            .cf
            .jobs
            .iter()
            .filter(|j| j.line.finished() && j.failed.is_some())
            .map(|j| j.guid.clone())
            .collect();
        self.cf.instances.retain(|i| !failed.contains(&i.job));
    }

    pub fn client(&self, id: &str, secret: &str) -> Option<&Client> {
        self.clients
            .iter()
            .find(|c| c.id == id && !secret.is_empty() && c.secret == secret)
    }

    pub fn has_client(&self, id: &str, kind: Kind) -> bool {
        self.clients.iter().any(|c| c.id == id && c.kind == kind)
    }

    /// A new client of `kind` for `subaccount`: (id, secret).
    pub fn add_client(&mut self, kind: Kind, subaccount: &str, cc: bool) -> (String, String) {
        let n = self.next("client");
        let id = format!("sb-{}!b{}|{}", &n[..13], 100 + self.n, kind.xsappname());
        let secret = format!("{}$sandbox-{}", &n[14..22], &n[24..]);
        self.clients.push(Client {
            id: id.clone(),
            secret: secret.clone(),
            kind,
            subaccount: subaccount.to_string(),
            client_credentials: cc,
        });
        (id, secret)
    }
}

/// The subdomain of a subaccount's zone, for its token URL.
pub fn zone_host(subdomain: &str, region: &str) -> String {
    format!("https://{subdomain}.authentication.{region}.hana.ondemand.com")
}

impl Demo {
    /// The customer's Cloud Management key, plan `central`, client
    /// credentials (G.2): what the global account administrator creates.
    pub fn cis_central_key(&self) -> String {
        let host = |s: &str| format!("https://{s}.cfapps.{}.hana.ondemand.com", self.region);
        serde_json::to_string_pretty(&json!({
            "endpoints": {
                "accounts_service_url": host("accounts-service"),
                "cloud_automation_url": host("cp-formation"),
                "entitlements_service_url": host("entitlements-service"),
                "events_service_url": host("events-service"),
                "external_provider_registry_url": host("external-provider-registry"),
                "metadata_service_url": host("metadata-service"),
                "order_processing_url": host("order-processing"),
                "provisioning_service_url": host("provisioning-service"),
                "saas_registry_service_url": host("saas-manager"),
            },
            "grant_type": "client_credentials",
            "sap.cloud.service": "com.sap.core.commercial.service.central",
            "uaa": {
                "apiurl": format!("https://api.authentication.{}.hana.ondemand.com", self.region),
                "clientid": self.cis_clientid, "clientsecret": self.cis_clientsecret,
                "credential-type": "binding-secret", "identityzone": "acme-admin",
                "identityzoneid": uuid("cis-admin-subaccount"), "subaccountid": uuid("cis-admin-subaccount"),
                "tenantid": uuid("cis-admin-subaccount"), "tenantmode": "shared",
                "uaadomain": format!("authentication.{}.hana.ondemand.com", self.region),
                "url": zone_host("acme-admin", &self.region), "xsappname": Kind::Central.xsappname(),
                "zoneid": uuid("cis-admin-subaccount"),
            }
        }))
        .unwrap_or_default()
    }

    /// A `local` key of the demo subaccount (what Service Manager's
    /// binding of a `cis`/`local` instance holds).
    pub fn cis_local_key(&self, clientid: &str, secret: &str, cc: bool) -> Value {
        let host = |s: &str| format!("https://{s}.cfapps.{}.hana.ondemand.com", self.region);
        json!({
            "endpoints": {
                "accounts_service_url": host("accounts-service"),
                "entitlements_service_url": host("entitlements-service"),
                "provisioning_service_url": host("provisioning-service"),
                "saas_registry_service_url": host("saas-manager"),
            },
            "grant_type": if cc { "client_credentials" } else { "user_token" },
            "sap.cloud.service": "com.sap.core.commercial.service.local",
            "uaa": {
                "clientid": clientid, "clientsecret": secret, "credential-type": "binding-secret",
                "identityzone": self.subdomain, "identityzoneid": self.subaccount_id,
                "subaccountid": self.subaccount_id, "tenantid": self.subaccount_id,
                "uaadomain": format!("authentication.{}.hana.ondemand.com", self.region),
                "url": self.uaa_url, "xsappname": Kind::Local.xsappname(),
            }
        })
    }

    /// An `apiaccess` key of the demo subaccount (L.1).
    pub fn apiaccess_key(&self, clientid: &str, secret: &str) -> Value {
        json!({
            "apiurl": format!("https://api.authentication.{}.hana.ondemand.com", self.region),
            "clientid": clientid, "clientsecret": secret, "credential-type": "binding-secret",
            "identityzone": self.subdomain, "tenantid": self.subaccount_id,
            "uaadomain": format!("authentication.{}.hana.ondemand.com", self.region),
            "url": self.uaa_url, "xsappname": Kind::ApiAccess.xsappname(),
        })
    }
}

impl Sandbox {
    /// The token of a client of the global account's keys: its zone, its
    /// plan's scopes (G.9 1-2). `None`: not one of these clients.
    pub(super) fn btp_token(
        &self,
        id: &str,
        secret: &str,
        grant: Option<&str>,
        form: &[(String, String)],
    ) -> Option<Response> {
        let client = self.btp.lock().ok()?.client(id, secret).cloned()?;
        let user = match grant {
            Some("client_credentials") if client.client_credentials => None,
            Some("client_credentials") => {
                return Some(super::wire::oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "This key was not created for the client credentials grant",
                ));
            }
            Some("password") => {
                let v = |k: &str| super::wire::form_value(form, k);
                match v("username").and_then(|u| self.person(u)) {
                    Some(p) if v("password") == Some(p.password.as_str()) => Some(p.email),
                    _ => {
                        return Some(super::wire::oauth_error(
                            StatusCode::UNAUTHORIZED,
                            "unauthorized",
                            "Bad credentials",
                        ));
                    }
                }
            }
            _ => {
                return Some(super::wire::oauth_error(
                    StatusCode::BAD_REQUEST,
                    "unsupported_grant_type",
                    "Unsupported grant type",
                ));
            }
        };
        let now = crate::fmt::now();
        let validity = self.settings.lock().map_or(43_199, |s| s.token_validity);
        let x = client.kind.xsappname();
        let scope: Vec<String> = client
            .kind
            .scopes()
            .iter()
            .map(|s| format!("{x}.{s}"))
            .collect();
        let jti = crate::store::secrets::random_hex(16).unwrap_or_default();
        let mut claims = json!({
            "jti": jti, "iat": now, "exp": now + validity, "zid": client.subaccount,
            "cid": client.id, "client_id": client.id, "azp": client.id, "sub": client.id,
            "grant_type": grant, "aud": [x, "uaa"], "scope": scope,
            "iss": format!("{}/oauth/token", self.demo.uaa_url),
        });
        if let Some(email) = &user {
            claims["user_name"] = json!(email);
            claims["origin"] = json!("sap.default");
        }
        let token = self.sign_and_keep(&claims, &self.demo.uaa_url);
        Some(
            Json(json!({
                "access_token": token, "token_type": "bearer", "expires_in": validity,
                "scope": scope.join(" "), "jti": jti,
            }))
            .into_response(),
        )
    }

    /// The caller of a CIS or XSUAA API: its kind and zone, when its token
    /// carries `scope` (G.9 3).
    pub(super) fn btp_caller(
        &self,
        headers: &HeaderMap,
        scope: &str,
    ) -> Result<(Kind, String), Box<Response>> {
        let claims = super::wire::bearer(headers).and_then(|t| self.claims(t));
        let Some(claims) = claims else {
            return Err(Box::new(
                (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"error": "unauthorized", "error_description": "Full authentication is required to access this resource"})),
                )
                    .into_response(),
            ));
        };
        let cid = claims["cid"].as_str().unwrap_or("");
        let kind = self
            .btp
            .lock()
            .ok()
            .and_then(|g| g.clients.iter().find(|c| c.id == cid).map(|c| c.kind));
        let has = claims["scope"].as_array().is_some_and(|s| {
            s.iter()
                .filter_map(Value::as_str)
                .any(|s| s.ends_with(&format!(".{scope}")))
        });
        match kind {
            Some(k) if has => Ok((k, claims["zid"].as_str().unwrap_or("").to_string())),
            _ => Err(Box::new(cis_error(
                StatusCode::FORBIDDEN,
                11004,
                &format!("Access forbidden: the token lacks the scope {scope}"),
                "",
            ))),
        }
    }

    /// A switched-on fault of a CIS endpoint, in the CIS error shape (G.7).
    pub(super) async fn cis_fault(&self, endpoint: &str, target: &str) -> Option<Response> {
        match self.take_fault(endpoint).await? {
            Fault::Status(429) => {
                let mut r = cis_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    11006,
                    "Request rate limit exceeded.",
                    target,
                );
                r.headers_mut()
                    .insert("x-ratelimit-reset", HeaderValue::from_static("3"));
                Some(r)
            }
            Fault::Status(code) => Some(cis_error(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                10000 + u32::from(code),
                &format!("Sandbox fault {code}"),
                target,
            )),
            other => Some(self.fault_response(other)),
        }
    }
}

/// The CIS error body, wrapped in `error` with a correlation ID (G.7).
pub fn cis_error(status: StatusCode, code: u32, message: &str, target: &str) -> Response {
    let details: &[(u32, &str)] = if code == 11006 {
        &[(
            11007,
            "Maximum request rate limit is 5 requests in 3 seconds",
        )]
    } else {
        &[]
    };
    cis_error_with(status, code, message, target, details)
}

/// The CIS error body with `details` (11001: which field, G.7).
pub fn cis_error_with(
    status: StatusCode,
    code: u32,
    message: &str,
    target: &str,
    details: &[(u32, &str)],
) -> Response {
    let correlation = crate::store::secrets::random_hex(16).unwrap_or_default();
    let mut error =
        json!({"code": code, "message": message, "target": target, "correlationID": correlation});
    if !details.is_empty() {
        error["details"] = details
            .iter()
            .map(|(c, m)| json!({"code": c, "message": m}))
            .collect();
    }
    let mut r = (status, Json(json!({ "error": error }))).into_response();
    if let Ok(v) = HeaderValue::from_str(&correlation) {
        r.headers_mut().insert("x-correlationid", v);
    }
    r
}

/// Answer with the fault switched on for a CIS endpoint (returns).
macro_rules! cis_fault {
    ($sb:expr, $ep:expr, $target:expr) => {
        if let Some(r) = $sb.cis_fault($ep, $target).await {
            return r;
        }
    };
}
pub(crate) use cis_fault;

/// The caller with `scope`, or the refusal (returns).
macro_rules! btp_caller {
    ($sb:expr, $h:expr, $scope:expr) => {
        match $sb.btp_caller(&$h, $scope) {
            Ok(c) => c,
            Err(r) => return *r,
        }
    };
}
pub(crate) use btp_caller;
