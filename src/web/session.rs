//! The session behind a request: its cookie (built in one place) and the
//! signed-in user as an extractor.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};

use super::error::{AppError, Result};
use crate::fmt;
use crate::store::User;

pub const COOKIE: &str = "tcw_session";

/// The user of the request's session; without one, the request is sent to sign in.
pub struct CurrentUser(pub User);

// Not axum-extra's CookieJar: the wizard reads one cookie it set itself, a
// hex token that needs no decoding, so finding it by name is all the parsing
// there is; the jar would add axum-extra and `cookie` for that.
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

/// The one place a session cookie is built; `None` clears it.
pub fn session_cookie(token: Option<&str>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let v = match token {
        Some(t) => format!("{COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax{secure}"),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}
