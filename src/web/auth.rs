//! Sign-in, sign-out, single-use password links, the session extractor and
//! the one access rule for setups (`SetupAccess`, used by every setup route).

use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, RawPathParams, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::error::{AppError, Result};
use super::form::Submitted;
use crate::domain;
use crate::fmt;
use crate::store::{Role, Setup, User};
use axum::extract::FromRequest;

pub const COOKIE: &str = "tcw_session";

/// What every page of a setup shows in its header: who is signed in and
/// which setup. Page views embed it; templates read its fields through Deref.
pub struct SetupHead {
    pub nav: Nav,
    pub setup_id: String,
    pub setup_name: String,
}

impl SetupHead {
    pub fn of(setup: &crate::store::Setup, me: &User) -> SetupHead {
        SetupHead {
            nav: Nav::of(me),
            setup_id: setup.id.clone(),
            setup_name: setup.name.clone(),
        }
    }
}

/// A setup page view reads its header fields (`setup_id`, `nav`, ...) as
/// its own, in templates and code alike.
macro_rules! setup_page {
    ($($page:ty),+ $(,)?) => {$(
        impl std::ops::Deref for $page {
            type Target = $crate::web::auth::SetupHead;
            fn deref(&self) -> &Self::Target {
                &self.head
            }
        }
    )+};
}
pub(crate) use setup_page;

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

pub(super) fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(name)?.strip_prefix('='))
}

impl FromRequestParts<super::State> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &super::State) -> Result<Self> {
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
            .session(token, state.session_limits, fmt::now())
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

/// What a route needs, as a type, so that `SetupAccess<N>` can check it.
pub trait Needs: Send + Sync {
    const NEED: Need;
}
pub mod need {
    pub struct View;
    pub struct Edit;
    pub struct Manage;
}
impl Needs for need::View {
    const NEED: Need = Need::View;
}
impl Needs for need::Edit {
    const NEED: Need = Need::Edit;
}
impl Needs for need::Manage {
    const NEED: Need = Need::Manage;
}

/// The setup named by the route's `{id}` and the signed-in user, checked by
/// the one access rule before the handler runs: a setup route cannot forget it.
pub struct SetupAccess<N> {
    pub setup: Arc<Setup>,
    pub me: User,
    _need: PhantomData<N>,
}

pub type Viewer = SetupAccess<need::View>;
pub type Editor = SetupAccess<need::Edit>;
pub type Manager = SetupAccess<need::Manage>;

impl<N: Needs> FromRequestParts<super::State> for SetupAccess<N> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &super::State) -> Result<Self> {
        let CurrentUser(me) = CurrentUser::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        let id = params
            .iter()
            .find(|(k, _)| *k == "id")
            .map(|(_, v)| v)
            .ok_or(AppError::NotFound)?;
        let setup = state.store.setup(id).await?.ok_or(AppError::NotFound)?;
        authorize(&setup, &me, N::NEED)?;
        Ok(SetupAccess {
            setup,
            me,
            _need: PhantomData,
        })
    }
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

/// Where to go after sign-in: only a path on this site. It is parsed as a URL
/// against a placeholder origin and must stay on it; tabs, backslashes and
/// line breaks (which browsers strip or turn into `/`) fall back to `/`.
pub fn safe_next(next: Option<&str>) -> String {
    const HERE: &str = "http://wizard.invalid/";
    let Some(n) = next else {
        return "/".into();
    };
    if !n.starts_with('/') || n.starts_with("//") || n.chars().any(|c| c.is_control() || c == '\\')
    {
        return "/".into();
    }
    let Ok(base) = url::Url::parse(HERE) else {
        return "/".into();
    };
    match base.join(n) {
        Ok(u) if u.origin() == base.origin() => u.as_str()[HERE.len() - 1..].to_string(),
        _ => "/".into(),
    }
}

/// Percent-encodes a path for a query value (keeps `/` readable).
pub fn encode(s: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    utf8_percent_encode(s, KEEP).to_string()
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

/// Check a user's password the one way: the throttle is consulted and the
/// attempt counted before anything is hashed, and hashing runs on the
/// bounded pool. `Ok(None)`: wrong name or password (counted).
pub async fn check_password(
    state: &super::AppState,
    name: &str,
    password: &str,
    peer: &SocketAddr,
) -> Result<Option<User>> {
    let addr = peer.ip().to_string();
    let attempt = match state.throttle.begin(name, &addr, fmt::now()) {
        Ok(a) => a,
        Err(wait) => {
            tracing::warn!(target: "security", user = %name, addr = %addr, wait, "sign-in throttled");
            return Err(AppError::TooManyAttempts(wait));
        }
    };
    let user = if name.is_empty() || password.is_empty() {
        None
    } else {
        state.store.verify_login(name, password).await?
    };
    match user {
        Some(u) => {
            state.throttle.succeeded(attempt);
            Ok(Some(u))
        }
        None => {
            tracing::warn!(target: "security", user = %name, addr = %addr, "sign-in failed: wrong user name or password");
            Ok(None)
        }
    }
}

pub async fn login(
    State(state): State<super::State>,
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
    let Some(user) = check_password(&state, &name, password, &peer).await? else {
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
    let token = state.store.create_session(&user, fmt::now()).await?;
    tracing::info!(target: "security", user = %user.name, addr = %peer.ip(), "signed in");
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

pub async fn logout(State(state): State<super::State>, headers: HeaderMap) -> Result<Response> {
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
    State(state): State<super::State>,
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
    State(state): State<super::State>,
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
    tracing::info!(target: "security", user = %user.name, "password set through a single-use link");
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

/// Forms kept across an expired session: one per session, bounded in count
/// and bytes; only for a request whose cookie belonged to a session that
/// timed out, so anonymous requests cannot make the server keep anything.
#[derive(Default)]
pub struct KeptForms(std::sync::Mutex<Vec<KeptForm>>);

struct KeptForm {
    token: String,
    session: String,
    path: String,
    values: Vec<(String, String)>,
    bytes: usize,
    expires: i64,
}

const MAX_KEPT_FORMS: usize = 200;
const MAX_KEPT_BYTES: usize = 8 * 1024 * 1024;

impl KeptForms {
    fn keep(
        &self,
        session: &str,
        path: String,
        values: Vec<(String, String)>,
        now: i64,
    ) -> Option<String> {
        let token = crate::store::secrets::random_hex(12).ok()?;
        let session = crate::store::accounts::token_hash(session);
        let bytes = values.iter().map(|(k, v)| k.len() + v.len()).sum();
        let mut kept = self.0.lock().ok()?;
        kept.retain(|k| k.expires > now && k.session != session);
        kept.push(KeptForm {
            token: token.clone(),
            session,
            path,
            values,
            bytes,
            expires: now + KEPT_SECS,
        });
        // Oldest first out, until within both bounds.
        while kept.len() > MAX_KEPT_FORMS
            || kept.iter().map(|k| k.bytes).sum::<usize>() > MAX_KEPT_BYTES
        {
            kept.remove(0);
        }
        kept.iter().any(|k| k.token == token).then_some(token)
    }

    /// Take a kept form back, once, for the page it came from.
    pub fn take(&self, token: &str, path: &str, now: i64) -> Option<Vec<(String, String)>> {
        let mut kept = self.0.lock().ok()?;
        let i = kept
            .iter()
            .position(|k| k.token == token && k.path == path && k.expires >= now)?;
        Some(kept.remove(i).values)
    }

    /// (forms, bytes) held, for tests of the bound.
    pub fn usage(&self) -> (usize, usize) {
        self.0
            .lock()
            .map_or((0, 0), |k| (k.len(), k.iter().map(|f| f.bytes).sum()))
    }
}

/// Read and drop a request body (up to the body limit), keeping nothing, so
/// that the browser gets the sign-in page rather than a reset connection.
async fn discard_body(req: axum::extract::Request) {
    use futures_util::StreamExt;
    let mut stream = req.into_body().into_data_stream();
    let mut seen = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len();
        if seen > super::BODY_LIMIT {
            break;
        }
    }
}

/// A question page submitted after its session ended: keep what was typed
/// (never secrets) in memory, single use, and send the user to sign in.
pub async fn keep_form_on_expiry(
    State(state): State<super::State>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
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
    let cookie = cookie_value(req.headers(), COOKIE).map(str::to_string);
    if let Some(t) = &cookie
        && state
            .store
            .session(t, state.session_limits, now)
            .await
            .is_some()
    {
        return next.run(req).await;
    }
    let sign_in = |kept: Option<String>| {
        let mut to = format!("/login?next={}&expired=1", encode(&path));
        if let Some(k) = kept {
            to.push_str("&kept=");
            to.push_str(&k);
        }
        Redirect::to(&to).into_response()
    };
    // Only the owner of a session that timed out gets a form kept.
    let Some(cookie) = cookie.filter(|t| state.store.ended_recently(t, now)) else {
        discard_body(req).await;
        return AppError::SignIn {
            next: path,
            expired: false,
        }
        .into_response();
    };
    let Ok(Submitted(input)) = Submitted::from_request(req, &state).await else {
        return sign_in(None);
    };
    let values: Vec<(String, String)> = input
        .values
        .into_iter()
        .filter(|(k, _)| keepable(&page, k))
        .collect();
    sign_in(state.kept_forms.keep(&cookie, path.clone(), values, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        for (n, want) in [
            ("/setups/a?b=1", "/setups/a?b=1"),
            ("/\t/evil.example", "/"),
            ("/\\evil", "/"),
            ("//evil", "/"),
            ("/a\r\nb", "/"),
            ("http://evil/", "/"),
        ] {
            assert_eq!(safe_next(Some(n)), want, "{n:?}");
        }
    }

    #[test]
    fn kept_forms_are_one_per_session_and_bounded() {
        let k = KeptForms::default();
        let big = "x".repeat(100 * 1024);
        let first = k.keep("s1", "/p".into(), vec![("a".into(), "1".into())], 0);
        let second = k.keep("s1", "/p".into(), vec![("a".into(), "2".into())], 0);
        assert!(first.is_some() && second.is_some());
        assert_eq!(
            k.usage().0,
            1,
            "one per session: the newer replaces the older"
        );
        assert!(k.take(&first.unwrap_or_default(), "/p", 0).is_none());
        for i in 0..500 {
            k.keep(
                &format!("s{i}"),
                "/p".into(),
                vec![("v".into(), big.clone())],
                0,
            );
        }
        let (n, bytes) = k.usage();
        assert!(
            n <= MAX_KEPT_FORMS && bytes <= MAX_KEPT_BYTES,
            "{n} forms, {bytes} bytes"
        );
        assert!(
            k.take(&second.unwrap_or_default(), "/p", 0).is_none(),
            "evicted oldest first"
        );
    }
}
