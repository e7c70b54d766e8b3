//! Sign-in, sign-out, single-use password links, the session extractor and
//! the one access rule for setups.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::form::Submitted;
use crate::domain;
use crate::error::{AppError, Result};
use crate::fmt;
use crate::store::{Role, Setup, User};

pub const COOKIE: &str = "tcw_session";

/// The signed-in user, for the page header.
pub struct Nav {
    pub user: String,
    pub is_admin: bool,
}

impl Nav {
    pub fn of(user: &User) -> Nav {
        Nav {
            user: user.name.clone(),
            is_admin: user.is_admin,
        }
    }
}

/// The user of the request's session; without one, the request is sent to sign in.
pub struct CurrentUser(pub User);

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(name)?.strip_prefix('='))
}

impl FromRequestParts<crate::State> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &crate::State) -> Result<Self> {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let Some(token) = cookie_value(&parts.headers, COOKIE) else {
            return Err(AppError::SignIn {
                next,
                expired: false,
            });
        };
        match state
            .store
            .session(token, state.session_idle_secs, fmt::now())
            .await
        {
            Some(user) => Ok(CurrentUser(user)),
            None => Err(AppError::SignIn {
                next,
                expired: true,
            }),
        }
    }
}

/// What a request wants to do with a setup.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Need {
    View,
    Edit,
    /// Share, rename, archive: the owner's (and administrators') business.
    Manage,
}

/// The one access rule. Someone without access learns nothing: 404.
pub fn authorize(setup: &Setup, user: &User, need: Need) -> Result<()> {
    if user.is_admin || setup.owner_id == Some(user.id) {
        return Ok(());
    }
    let role = setup
        .members
        .iter()
        .find(|m| m.user_id == user.id)
        .map(|m| m.role);
    match (role, need) {
        (None, _) => Err(AppError::NotFound),
        (Some(_), Need::View) | (Some(Role::Editor), Need::Edit) => Ok(()),
        (Some(Role::Viewer), _) => Err(AppError::Forbidden(
            "You can view this setup but not change it. Ask its owner to make you an editor."
                .into(),
        )),
        (Some(Role::Editor), Need::Manage) => Err(AppError::Forbidden(
            "Only the setup's owner or an administrator can do this.".into(),
        )),
    }
}

pub fn can(setup: &Setup, user: &User, need: Need) -> bool {
    authorize(setup, user, need).is_ok()
}

/// The one place a session cookie is built; `None` clears it.
pub fn session_cookie(token: Option<&str>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let v = match token {
        Some(t) => format!("{COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax{secure}"),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Only local paths, so the sign-in page cannot send people elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub title: String,
    pub next: String,
    /// A form kept from an expired session, returned to after sign-in.
    pub kept: String,
    pub name: String,
    pub error: Option<String>,
    pub notice: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    kept: Option<String>,
}

pub async fn login_form(Query(q): Query<LoginQuery>) -> LoginPage {
    LoginPage {
        title: "Sign in".into(),
        next: safe_next(q.next.as_deref()),
        kept: q.kept.clone().filter(|k| is_token(k)).unwrap_or_default(),
        name: String::new(),
        error: None,
        notice: match (q.expired, q.kept) {
            (Some(_), Some(_)) => Some("Your session ended before the page was saved. Sign in: you return to the page with what you typed (passwords and keys excepted), ready to check and save.".to_string()),
            (Some(_), None) => Some("Your session ended. Sign in to go back to where you were.".to_string()),
            _ => None,
        },
    }
}

const FREE_ATTEMPTS: u32 = 5;
const FAILURE_WINDOW: i64 = 15 * 60;

/// Seconds to wait before another attempt for this key is allowed.
fn wait_for(state: &crate::AppState, key: &str, now: i64) -> i64 {
    let Ok(map) = state.failures.lock() else {
        return 0;
    };
    match map.get(key) {
        Some((n, last)) if *n >= FREE_ATTEMPTS && now - last < FAILURE_WINDOW => {
            let delay = 1i64 << (n - FREE_ATTEMPTS).min(8);
            (last + delay - now).max(0)
        }
        _ => 0,
    }
}

fn record_failure(state: &crate::AppState, keys: &[String], now: i64) {
    if let Ok(mut map) = state.failures.lock() {
        map.retain(|_, (_, last)| now - *last < FAILURE_WINDOW);
        for k in keys {
            let e = map.entry(k.clone()).or_insert((0, now));
            e.0 += 1;
            e.1 = now;
        }
    }
}

pub async fn login(
    State(state): State<crate::State>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Submitted(input): Submitted,
) -> Result<Response> {
    let name = input
        .first("name")
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let password = input.first("password").unwrap_or("");
    let kept = input
        .first("kept")
        .filter(|k| is_token(k))
        .unwrap_or("")
        .to_string();
    let next = safe_next(input.first("next"));
    let now = fmt::now();
    let keys = [format!("user:{name}"), format!("addr:{}", peer.ip())];
    let wait = keys
        .iter()
        .map(|k| wait_for(&state, k, now))
        .max()
        .unwrap_or(0);
    if wait > 0 {
        return Err(AppError::TooManyAttempts(wait));
    }
    let user = if name.is_empty() || password.is_empty() {
        None
    } else {
        state.store.verify_login(&name, password).await?
    };
    let Some(user) = user else {
        record_failure(&state, &keys, now);
        let page = LoginPage {
            title: "Error: Sign in".into(),
            next,
            kept,
            name,
            error: Some("The user name or password is not right. Check both and try again.".into()),
            notice: None,
        };
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };
    if let Ok(mut map) = state.failures.lock() {
        map.remove(&keys[0]);
    }
    let token = state.store.create_session(&user, now).await?;
    tracing::info!(user = %user.name, "signed in");
    let target = if kept.is_empty() {
        next
    } else {
        format!(
            "{next}{}kept={kept}",
            if next.contains('?') { '&' } else { '?' }
        )
    };
    let mut resp = Redirect::to(&target).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(Some(&token), state.secure_cookies),
    );
    Ok(resp)
}

pub async fn logout(State(state): State<crate::State>, headers: HeaderMap) -> Result<Response> {
    if let Some(token) = cookie_value(&headers, COOKIE) {
        state.store.end_session(token).await?;
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(None, state.secure_cookies),
    );
    Ok(resp)
}

#[derive(Template, WebTemplate)]
#[template(path = "invite.html")]
pub struct InvitePage {
    pub title: String,
    pub fixed_name: Option<String>,
    pub name: String,
    pub errors: Vec<(&'static str, String)>,
    pub error_name: Option<String>,
    pub error_password: Option<String>,
    pub error_confirm: Option<String>,
}

impl InvitePage {
    fn new(
        title: &str,
        fixed_name: Option<String>,
        name: String,
        errors: Vec<(&'static str, String)>,
    ) -> Self {
        let find = |k: &str| errors.iter().find(|e| e.0 == k).map(|e| e.1.clone());
        InvitePage {
            title: title.into(),
            error_name: find("name"),
            error_password: find("password"),
            error_confirm: find("confirm"),
            fixed_name,
            name,
            errors,
        }
    }
}

fn invalid_link() -> AppError {
    AppError::Gone(
        "This link has already been used or has expired. Ask an administrator for a new one."
            .into(),
    )
}

pub async fn invite_form(
    State(state): State<crate::State>,
    Path(token): Path<String>,
) -> Result<InvitePage> {
    let invite = state
        .store
        .invite(&token, fmt::now())
        .await?
        .ok_or_else(invalid_link)?;
    Ok(InvitePage::new(
        "Set your password",
        invite.user_name.clone(),
        invite.user_name.unwrap_or_default(),
        Vec::new(),
    ))
}

pub async fn invite(
    State(state): State<crate::State>,
    Path(token): Path<String>,
    Submitted(input): Submitted,
) -> Result<Response> {
    let now = fmt::now();
    let invite = state
        .store
        .invite(&token, now)
        .await?
        .ok_or_else(invalid_link)?;
    let typed_name = input.first("name").unwrap_or("");
    let name = match &invite.user_name {
        Some(n) => Ok(n.clone()),
        None => domain::user_name(typed_name).map(|c| c.value),
    };
    let password = input.first("password").unwrap_or("");
    let mut errors = Vec::new();
    if let Err(e) = &name {
        errors.push(("name", e.clone()));
    }
    if let Err(e) = domain::account_password(password) {
        errors.push(("password", e));
    } else if input.first("confirm") != Some(password) {
        errors.push((
            "confirm",
            "The two passwords do not match. Type the same password twice.".to_string(),
        ));
    }
    let name = match (name, errors.is_empty()) {
        (Ok(n), true) => n,
        _ => {
            let page = InvitePage::new(
                "Error: Set your password",
                invite.user_name.clone(),
                invite.user_name.unwrap_or_else(|| typed_name.to_string()),
                errors,
            );
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let user = state
        .store
        .redeem_invite(&token, &name, password.to_string(), now)
        .await?
        .ok_or_else(invalid_link)?;
    tracing::info!(user = %user.name, "password set through a single-use link");
    let session = state.store.create_session(&user, now).await?;
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(Some(&session), state.secure_cookies),
    );
    Ok(resp)
}

/// How long a form kept from an expired session waits for its sign-in.
const KEPT_SECS: i64 = 15 * 60;

fn is_token(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Which submitted fields may be kept: never secrets or pasted keys.
fn keepable(page: &str, key: &str) -> bool {
    if key == "_version" {
        return true;
    }
    let Some(p) = crate::playbook::page(page) else {
        return false;
    };
    p.fields.iter().any(|f| match f.kind {
        crate::playbook::Kind::Secret | crate::playbook::Kind::Json => false,
        crate::playbook::Kind::File => key == format!("{}_text", f.key),
        _ => f.key == key,
    })
}

/// A question page submitted after its session ended: keep what was typed
/// (never secrets) in memory, single use, and send the user to sign in.
pub async fn keep_form_on_expiry(
    State(state): State<crate::State>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::extract::FromRequest;
    let path = req.uri().path().to_string();
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let page = path
        .strip_prefix("/setups/")
        .and_then(|r| r.split_once("/pages/"))
        .map(|(_, p)| p.to_string());
    let Some(page) =
        page.filter(|p| form && req.method() == axum::http::Method::POST && !p.contains('/'))
    else {
        return next.run(req).await;
    };
    let now = fmt::now();
    let live = match cookie_value(req.headers(), COOKIE) {
        Some(t) => state
            .store
            .session(t, state.session_idle_secs, now)
            .await
            .is_some(),
        None => false,
    };
    if live {
        return next.run(req).await;
    }
    let Ok(axum::Form(values)) = axum::Form::<Vec<(String, String)>>::from_request(req, &()).await
    else {
        return AppError::SignIn {
            next: path,
            expired: true,
        }
        .into_response();
    };
    let values: Vec<(String, String)> = values
        .into_iter()
        .filter(|(k, _)| keepable(&page, k))
        .collect();
    let Ok(token) = crate::store::secrets::random_hex(12) else {
        return AppError::SignIn {
            next: path,
            expired: true,
        }
        .into_response();
    };
    if let Ok(mut kept) = state.kept_forms.lock() {
        kept.retain(|_, (_, _, expires)| *expires > now);
        kept.insert(token.clone(), (path.clone(), values, now + KEPT_SECS));
    }
    Redirect::to(&format!(
        "/login?next={}&expired=1&kept={token}",
        encode(&path)
    ))
    .into_response()
}

/// Take a kept form back, once, for the page it came from.
pub fn take_kept(
    state: &crate::AppState,
    token: &str,
    path: &str,
) -> Option<Vec<(String, String)>> {
    let mut kept = state.kept_forms.lock().ok()?;
    let (p, _, expires) = kept.get(token)?;
    if p != path || *expires < fmt::now() {
        return None;
    }
    kept.remove(token).map(|(_, v, _)| v)
}
