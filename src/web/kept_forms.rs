//! Forms submitted after their session ended, kept (never secrets) for the
//! sign-in that follows.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::AppError;
use super::form::Submitted;
use super::session::{COOKIE, cookie_value};
use super::urls::encode;
use crate::fmt;
use axum::extract::FromRequest;

/// How long a form kept from an expired session waits for its sign-in.
const KEPT_SECS: i64 = 15 * 60;

pub(super) fn is_token(s: &str) -> bool {
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
