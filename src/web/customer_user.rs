//! "Sign in as a customer user" for Verify: the authorization-code flow of
//! the Task Center key's client (sap-apis.md A.2). The user's token lives
//! only in memory, bound to this consultant's session and this setup, until
//! SAP's expiry; it is never stored, logged, exported or put in a URL.

use std::collections::HashMap;
use std::sync::Mutex;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::error::{AppError, Result};
use super::form::Submitted;
use super::setups::with_ctx;
use super::{COOKIE, Editor, SetupHead, cookie_value, setup_page};
use crate::playbook::verify::CustomerUser;
use crate::sap::{Calls, xsuaa};
use crate::store::accounts::token_hash;
use crate::{fmt, store::Setup};

/// SAP's documented redirect for this client (A.2): always allowed.
const SAP_REDIRECT: &str = "http://localhost";
/// How long a started sign-in waits for its code.
const PENDING_SECS: i64 = 10 * 60;
const MAX_ENTRIES: usize = 1_000;

struct Held {
    user: CustomerUser,
    expires: i64,
}

struct Pending {
    session: String,
    setup: String,
    redirect_uri: String,
    expires: i64,
}

#[derive(Default)]
struct Inner {
    /// (session hash, setup id) -> the user's token.
    held: HashMap<(String, String), Held>,
    /// `state` of a sign-in under way -> where its code belongs.
    pending: HashMap<String, Pending>,
}

/// The customer users' tokens, bounded and pruned as they expire.
#[derive(Default)]
pub struct CustomerTokens(Mutex<Inner>);

impl CustomerTokens {
    pub fn get(&self, session: &str, setup: &str, now: i64) -> Option<CustomerUser> {
        let inner = self.0.lock().ok()?;
        let h = inner.held.get(&(session.to_string(), setup.to_string()))?;
        (h.expires > now).then(|| h.user.clone())
    }

    fn hold(&self, session: String, setup: String, user: CustomerUser, expires: i64, now: i64) {
        if let Ok(mut inner) = self.0.lock() {
            inner.held.retain(|_, h| h.expires > now);
            if inner.held.len() >= MAX_ENTRIES {
                return;
            }
            inner.held.insert((session, setup), Held { user, expires });
        }
    }

    fn forget(&self, session: &str, setup: &str) {
        if let Ok(mut inner) = self.0.lock() {
            inner.held.remove(&(session.to_string(), setup.to_string()));
        }
    }

    fn start(&self, p: Pending, now: i64) -> Option<String> {
        let state = crate::store::secrets::random_hex(16).ok()?;
        let mut inner = self.0.lock().ok()?;
        inner.pending.retain(|_, p| p.expires > now);
        if inner.pending.len() >= MAX_ENTRIES {
            return None;
        }
        inner.pending.insert(state.clone(), p);
        Some(state)
    }

    fn take_pending(&self, state: &str, now: i64) -> Option<Pending> {
        let p = self.0.lock().ok()?.pending.remove(state)?;
        (p.expires > now).then_some(p)
    }

    /// Tokens held (for tests of the bound).
    pub fn len(&self) -> usize {
        self.0.lock().map_or(0, |i| i.held.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn session_of(headers: &HeaderMap) -> Result<String> {
    cookie_value(headers, COOKIE)
        .map(token_hash)
        .ok_or(AppError::SignIn {
            next: "/".into(),
            expired: false,
        })
}

/// Who a token is for and whether it holds TaskCenterAdmin, for display only
/// (SAP decides what the token may do).
fn describe(token: &str) -> (String, bool) {
    let claims = crate::sap::xsuaa::unverified_claims(token);
    let who = ["email", "user_name"]
        .iter()
        .find_map(|k| claims[k].as_str())
        .unwrap_or("a customer user")
        .to_string();
    // TaskCenterAdmin is a role (sap-apis-btp.md L.4): a scope of Task
    // Center's application, whatever the collection that carries it is named.
    let scoped = claims["scope"].as_array().is_some_and(|r| {
        r.iter()
            .filter_map(|x| x.as_str())
            .any(|x| x.starts_with("one-inbox-service!b") && x.ends_with(".TaskCenterAdmin"))
    });
    let named = claims["xs.system.attributes"]["xs.rolecollections"]
        .as_array()
        .is_some_and(|r| r.iter().any(|x| x == "TaskCenterAdmin"));
    let admin = scoped || named;
    (who, admin)
}

/// Where XSUAA may send the browser back with the code: straight to this
/// wizard when it runs on this machine (only `localhost` is always allowed,
/// A.2), else SAP's documented `http://localhost` and the paste fallback.
fn callback_uri(public_url: &str) -> Option<String> {
    let u = url::Url::parse(public_url).ok()?;
    let local = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    local.then(|| {
        format!(
            "http://localhost:{}/customer-user/callback",
            u.port_or_known_default().unwrap_or(80)
        )
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "customer_user.html")]
pub struct CustomerUserPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub sign_in_href: Option<String>,
    pub direct: bool,
    pub signed_in: Option<(String, String)>,
    pub missing: Option<String>,
    pub error: Option<String>,
    pub sandbox: bool,
}

fn page(
    state: &super::AppState,
    setup: &Setup,
    me: &crate::store::User,
    session: &str,
    error: Option<String>,
) -> CustomerUserPage {
    let now = fmt::now();
    let (uaa, client) = with_ctx(state, setup, |ctx| {
        (
            ctx.get("sk_uaa_url").map(str::to_string),
            ctx.get("sk_clientid").map(str::to_string),
        )
    });
    let direct = callback_uri(&state.public_url);
    let href = match (&uaa, &client) {
        (Some(uaa), Some(client)) => {
            let redirect_uri = direct.clone().unwrap_or_else(|| SAP_REDIRECT.to_string());
            let pending = Pending {
                session: session.to_string(),
                setup: setup.id.clone(),
                redirect_uri: redirect_uri.clone(),
                expires: now + PENDING_SECS,
            };
            state.customer_tokens.start(pending, now).and_then(|st| {
                xsuaa::authorize_url(
                    uaa,
                    state.sandbox_url.as_deref(),
                    client,
                    &redirect_uri,
                    &st,
                )
                .ok()
            })
        }
        _ => None,
    };
    CustomerUserPage {
        title: format!(
            "{}Sign in as a customer user — {}",
            if error.is_some() { "Error: " } else { "" },
            setup.name
        ),
        head: SetupHead::of(setup, me),
        sign_in_href: href,
        direct: direct.is_some(),
        signed_in: state.customer_tokens.get(session, &setup.id, now).map(|u| {
            (
                u.who,
                if u.admin {
                    "TaskCenterAdmin".into()
                } else {
                    "no TaskCenterAdmin role".into()
                },
            )
        }),
        missing: (uaa.is_none() || client.is_none()).then(|| {
            "First save the Task Center service key (step 3.1): its client signs the user in."
                .to_string()
        }),
        error,
        sandbox: state.sandbox_url.is_some(),
    }
}

pub async fn show(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    headers: HeaderMap,
) -> Result<CustomerUserPage> {
    let session = session_of(&headers)?;
    Ok(page(&state, &setup, &me, &session, None))
}

/// Exchange a code for the user's token and hold it for (session, setup).
async fn redeem(
    state: &super::AppState,
    setup: &Setup,
    user: &str,
    session: String,
    code: &str,
    redirect_uri: &str,
) -> std::result::Result<(), String> {
    let client = with_ctx(state, setup, |ctx| crate::playbook::task_center_client(ctx))?
        .ok_or("First save the Task Center service key (step 3.1).")?;
    let calls = Calls::default();
    let result = xsuaa::authorization_code(&state.sap, &calls, &client, code, redirect_uri).await;
    let _ = state
        .store
        .record_calls(&setup.id, "verify", user, &calls.take())
        .await;
    let token = result.map_err(|e| match e {
        crate::sap::SapError::Status { status: 400, .. } => "SAP did not accept the code: it is used, expired, or was issued for another redirect address. Sign in again.".to_string(),
        other => other.explain(),
    })?;
    let (who, admin) = describe(&token.access_token);
    let now = fmt::now();
    let expires = now + token.expires_in.max(60);
    state.customer_tokens.hold(
        session,
        setup.id.clone(),
        CustomerUser {
            token: token.access_token,
            who,
            admin,
        },
        expires,
        now,
    );
    Ok(())
}

/// The pasted address the browser ended on (`http://localhost/?code=...`).
pub async fn paste(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    headers: HeaderMap,
    Submitted(input): Submitted,
) -> Result<Response> {
    let session = session_of(&headers)?;
    let raw = input.first("address").unwrap_or("").trim().to_string();
    let parsed = url::Url::parse(&raw).ok();
    let code = parsed.as_ref().and_then(|u| {
        u.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
    });
    let fail = |msg: String| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&state, &setup, &me, &session, Some(msg)),
        )
            .into_response()
    };
    let Some(code) = code else {
        return Ok(fail("Paste the whole address the browser ended on after signing in; it starts with http://localhost and holds ?code=".into()));
    };
    let now = fmt::now();
    // The code is bound to the redirect address of its sign-in.
    let redirect_uri = parsed
        .as_ref()
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
        })
        .and_then(|st| state.customer_tokens.take_pending(&st, now))
        .map_or_else(|| SAP_REDIRECT.to_string(), |p| p.redirect_uri);
    match redeem(
        &state,
        &setup,
        &me.name,
        session.clone(),
        &code,
        &redirect_uri,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/setups/{}/verify", setup.id)).into_response()),
        Err(e) => Ok(fail(e)),
    }
}

pub async fn forget(
    State(state): State<super::State>,
    Editor { setup, .. }: Editor,
    headers: HeaderMap,
) -> Result<Redirect> {
    let session = session_of(&headers)?;
    state.customer_tokens.forget(&session, &setup.id);
    Ok(Redirect::to(&format!("/setups/{}/verify", setup.id)))
}

#[derive(serde::Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// XSUAA's redirect back (when the wizard runs on this machine). The `state`
/// finds the sign-in, so this works on `localhost` although the session
/// cookie belongs to the address the consultant opened.
pub async fn callback(
    State(state): State<super::State>,
    Query(q): Query<Callback>,
) -> Result<Response> {
    let now = fmt::now();
    let pending = q
        .state
        .as_deref()
        .and_then(|s| state.customer_tokens.take_pending(s, now))
        .ok_or_else(|| {
            AppError::Gone(
                "This sign-in is unknown or older than 10 minutes. Start it again from Verify."
                    .into(),
            )
        })?;
    let setup = state
        .store
        .setup(&pending.setup)
        .await?
        .ok_or(AppError::NotFound)?;
    let back = format!("{}/setups/{}/customer-user", state.public_url, setup.id);
    if let Some(e) = q.error {
        return Err(AppError::BadRequest(format!(
            "SAP refused the sign-in ({e}{}). Start it again from {back}",
            q.error_description
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        )));
    }
    let code = q
        .code
        .ok_or_else(|| AppError::BadRequest("SAP sent no code back".into()))?;
    match redeem(
        &state,
        &setup,
        "customer user sign-in",
        pending.session,
        &code,
        &pending.redirect_uri,
    )
    .await
    {
        Ok(()) => Ok(
            Redirect::to(&format!("{}/setups/{}/verify", state.public_url, setup.id))
                .into_response(),
        ),
        Err(e) => Err(AppError::BadRequest(format!("{e} Start again from {back}"))),
    }
}

/// The token of this consultant's session for this setup, for Verify.
pub fn for_verify(
    state: &super::AppState,
    headers: &HeaderMap,
    setup: &str,
) -> Option<CustomerUser> {
    let session = cookie_value(headers, COOKIE).map(token_hash)?;
    state.customer_tokens.get(&session, setup, fmt::now())
}

setup_page!(CustomerUserPage);
