//! The trust certificate's lifecycle (step 3.2): what renewal and rotation
//! do, and each of them as the remote change `playbook::trust::Rotation`
//! once confirmed; what S/4HANA must then receive again.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::change::WAIT_ORDERED;
use super::error::{AppError, Result};
use super::form::Submitted;
use super::setups::with_ctx;
use super::{Editor, SetupHead, setup_page};
use crate::fmt;
use crate::playbook;
use crate::playbook::trust::{Certificates, Change, Rotation};
use crate::service::{self, change::Ended, change::Started};
use crate::store::{Setup, User};

/// One certificate as the page shows it.
pub struct CertView {
    pub cn: String,
    pub not_after: String,
    pub days: i64,
    pub sha256: String,
    /// The one step 3.2 holds (and S/4HANA was given).
    pub held: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "trust.html")]
pub struct TrustPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    /// Step 3.2's certificate.
    pub held: Option<CertView>,
    /// Whether a Destination service key is saved (step 3.2).
    pub has_key: bool,
    /// What the Destination service has, once read.
    pub active: Option<CertView>,
    pub passive: Option<CertView>,
    pub read: bool,
    /// Each change's plan fingerprint, which its confirmation carries back.
    pub passive_fp: String,
    pub rotate_fp: String,
    pub renew_fp: String,
    pub error: Option<String>,
    pub notice: Option<String>,
    /// Step 3.2 received a new certificate: S/4HANA needs it next.
    pub upload_next: bool,
}

fn view(pem: &str, held_sha: Option<&str>, now: i64) -> Option<CertView> {
    let c = playbook::trust::seen(pem)?;
    Some(CertView {
        days: (c.not_after - now).div_euclid(86_400),
        not_after: fmt::date(c.not_after),
        held: held_sha == Some(c.sha256.as_str()),
        cn: c.cn,
        sha256: c.sha256,
    })
}

fn page(state: &AppState, setup: &Setup, me: &User) -> TrustPage {
    let now = fmt::now();
    let (held, has_key, error) = with_ctx(state, setup, |ctx| {
        let held = ctx
            .get("certificate")
            .filter(|c| c.contains("BEGIN CERTIFICATE"))
            .and_then(|p| view(p, ctx.get("cert_sha256"), now));
        match playbook::destination_key(ctx) {
            Ok(key) => (held, key.is_some(), None),
            Err(e) => (held, false, Some(e)),
        }
    });
    TrustPage {
        title: format!("Renew the trust certificate — {}", setup.name),
        head: SetupHead::of(setup, me),
        held,
        has_key,
        active: None,
        passive: None,
        read: false,
        passive_fp: String::new(),
        rotate_fp: String::new(),
        renew_fp: String::new(),
        error,
        notice: None,
        upload_next: false,
    }
}

/// What the Destination service has, and what each change would do to it.
fn show_read(p: &mut TrustPage, state: &AppState, setup: &Setup, c: &Certificates) {
    let now = fmt::now();
    let held = with_ctx(state, setup, |ctx| {
        ctx.get("cert_sha256").map(str::to_string)
    });
    let fp = |change| playbook::trust::plan_of(change, c).fingerprint();
    p.read = true;
    p.active = view(&c.active, held.as_deref(), now);
    p.passive = c
        .passive
        .as_deref()
        .and_then(|x| view(x, held.as_deref(), now));
    p.passive_fp = fp(Change::Passive);
    p.rotate_fp = fp(Change::Rotate);
    p.renew_fp = fp(Change::Renew);
}

pub async fn show(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<TrustPage> {
    Ok(page(&state, &setup, &me))
}

/// Read both certificates (logged on step 3.2) into the page; `false`: it
/// could not, and the page says why.
async fn read_into(p: &mut TrustPage, state: &AppState, setup: &Setup, who: &str) -> Result<bool> {
    match service::change::read(state, &Rotation::default(), setup, who).await? {
        Ok((_, certs, _)) => {
            show_read(p, state, setup, &certs);
            Ok(true)
        }
        Err(e) => {
            p.error = Some(e);
            Ok(false)
        }
    }
}

pub async fn read(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<Response> {
    let mut p = page(&state, &setup, &me);
    if !p.has_key {
        p.error = Some(
            p.error
                .take()
                .unwrap_or_else(|| "First save a Destination service key on step 3.2.".into()),
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    }
    let status = if read_into(&mut p, &state, &setup, &me.name).await? {
        StatusCode::OK
    } else {
        StatusCode::BAD_GATEWAY
    };
    Ok((status, p).into_response())
}

/// `POST /setups/{id}/trust/{passive|rotate|renew}`: one confirmed change,
/// then the certificates read back.
pub async fn confirm(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    Path((_, what)): Path<(String, String)>,
    Submitted(input): Submitted,
) -> Result<Response> {
    let change = Change::parse(&what).ok_or(AppError::NotFound)?;
    let fingerprint = input.first("fingerprint").unwrap_or("").to_string();
    let started = service::change::apply(
        state.clone(),
        Rotation(change),
        setup.clone(),
        me.name.clone(),
        fingerprint,
        WAIT_ORDERED,
    )
    .await;
    let now = state.store.setup(&setup.id).await?.unwrap_or(setup);
    let mut p = page(&state, &now, &me);
    let Started::Ended(o) = started else {
        p.notice = Some("The change still runs; read the certificates again in a moment.".into());
        return Ok((StatusCode::ACCEPTED, p).into_response());
    };
    let status = match o.ended {
        Ended::Applied => {
            p.upload_next = change != Change::Passive;
            p.notice = o.notice.clone();
            StatusCode::OK
        }
        Ended::Stale => {
            p.error = Some(
                "The certificates changed since you read them. Check them again and confirm."
                    .into(),
            );
            StatusCode::CONFLICT
        }
        Ended::NotSaved => StatusCode::CONFLICT,
        Ended::Failed | Ended::StillRunning | Ended::Planned => StatusCode::BAD_GATEWAY,
    };
    if p.error.is_none() {
        p.error = o.error.clone();
    }
    // Read back: what the Destination service has now.
    let mut back = page(&state, &now, &me);
    if read_into(&mut back, &state, &now, &me.name).await? {
        back.notice = p.notice;
        back.error = p.error;
        back.upload_next = p.upload_next;
        p = back;
    }
    Ok((status, p).into_response())
}

/// The passive certificate, read from the Destination service, for S/4HANA.
pub async fn passive_pem(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<Response> {
    let read = service::change::read(&*state, &Rotation::default(), &setup, &me.name).await?;
    match read {
        Ok((
            _,
            Certificates {
                passive: Some(pem), ..
            },
            _,
        )) => Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-pem-file"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment; filename=\"passive-trust.pem\""),
                ),
            ],
            pem,
        )
            .into_response()),
        Ok(_) => Err(AppError::NotFound),
        Err(e) => {
            let mut p = page(&state, &setup, &me);
            p.error = Some(e);
            Ok((StatusCode::BAD_GATEWAY, p).into_response())
        }
    }
}

setup_page!(TrustPage);
