//! The one error type of request handlers, rendered as an error page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("page not found")]
    NotFound,
    #[error("request too large")]
    TooLarge,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("sign in needed")]
    SignIn { next: String, expired: bool },
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("link no longer valid")]
    Gone(String),
    #[error("too many failed sign-ins")]
    TooManyAttempts(i64),
    #[error("busy")]
    Busy,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        if e.downcast_ref::<crate::store::Busy>().is_some() {
            AppError::Busy
        } else {
            AppError::Internal(e)
        }
    }
}

pub type Result<T> = std::result::Result<T, AppError>;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    heading: &'a str,
    message: &'a str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match &self {
            AppError::SignIn { next, expired } => {
                let to = format!(
                    "/login?next={}{}",
                    super::encode(next),
                    if *expired { "&expired=1" } else { "" }
                );
                return Redirect::to(&to).into_response();
            }
            AppError::Forbidden(m) => (
                StatusCode::FORBIDDEN,
                "You cannot do that",
                m.clone(),
            ),
            AppError::Gone(m) => (StatusCode::GONE, "This link is no longer valid", m.clone()),
            AppError::TooManyAttempts(secs) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed sign-ins",
                format!("To protect the accounts, sign-in is paused. Wait {secs} seconds, then try again."),
            ),
            AppError::Busy => (
                StatusCode::TOO_MANY_REQUESTS,
                "The wizard is busy",
                "Many sign-ins are being checked at this moment. Wait a few seconds, then try again.".to_string(),
            ),
            AppError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "This address does not work that way",
                "This address only takes a form the wizard sends. Go back to the page you came from, or start again from your setups.".to_string(),
            ),
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "If you typed the address, check it is correct. If you followed a link, the setup may have been removed or you may not have access to it.".to_string(),
            ),
            AppError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "What you sent is too large",
                "The form or file is larger than the wizard reads (32 MB). A service key or certificate is a few kilobytes: check that you chose the right file, then go back and try again. Your saved answers are unchanged.".to_string(),
            ),
            AppError::BadRequest(m) => (
                StatusCode::BAD_REQUEST,
                "The request could not be read",
                format!("{m}. Go back and try again; your saved answers are unchanged."),
            ),
            AppError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sorry, there is a problem with the wizard",
                    "Your last change may not have been saved. Try again in a moment; your earlier answers are kept.".to_string(),
                )
            }
        };
        let page = ErrorPage {
            title: heading,
            heading,
            message: &message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}
