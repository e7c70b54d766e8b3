//! Sign-in, sign-out, single-use password links, and where to go after.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::error::{AppError, Result};
use super::form::Submitted;
use super::kept_forms::is_token;
use super::session::{COOKIE, cookie_value, session_cookie};
use super::urls::safe_next;
use crate::domain;
use crate::fmt;
use crate::store::User;

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
