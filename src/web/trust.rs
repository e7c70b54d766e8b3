//! The trust certificate's lifecycle (step 3.2): what renewal and rotation
//! do, both through the Destination service once confirmed, and what S/4HANA
//! must then receive again. The new active certificate lands on step 3.2.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::auth::{Editor, SetupHead, setup_page};
use super::error::{AppError, Result};
use super::form::Submitted;
use super::setups::with_ctx;
use crate::domain::{DestinationKey, TrustCertificate};
use crate::fmt;
use crate::playbook;
use crate::sap::destinations::{self, Trust};
use crate::sap::{Calls, SapClient};
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
    /// The fingerprints read, which the confirmations carry back.
    pub seen_active: String,
    pub seen_passive: String,
    pub error: Option<String>,
    pub notice: Option<String>,
    /// Step 3.2 received a new certificate: S/4HANA needs it next.
    pub upload_next: bool,
}

fn view(pem: &str, held_sha: Option<&str>, now: i64) -> Option<CertView> {
    let c = TrustCertificate::parse(pem.as_bytes(), now).ok()?.value;
    Some(CertView {
        days: (c.not_after - now).div_euclid(86_400),
        not_after: fmt::date(c.not_after),
        held: held_sha == Some(c.sha256.as_str()),
        cn: c.cn,
        sha256: c.sha256,
    })
}

struct Inputs {
    key: Option<DestinationKey>,
    held_pem: Option<String>,
    held_sha: Option<String>,
}

fn inputs(state: &super::AppState, setup: &Setup) -> std::result::Result<Inputs, String> {
    with_ctx(state, setup, |ctx| {
        Ok(Inputs {
            key: playbook::destination_key(ctx)?,
            held_pem: ctx
                .get("certificate")
                .filter(|c| c.contains("BEGIN CERTIFICATE"))
                .map(str::to_string),
            held_sha: ctx.get("cert_sha256").map(str::to_string),
        })
    })
}

fn page(state: &super::AppState, setup: &Setup, me: &User) -> TrustPage {
    let now = fmt::now();
    let i = inputs(state, setup);
    let (held, has_key, error) = match &i {
        Ok(i) => (
            i.held_pem
                .as_deref()
                .and_then(|p| view(p, i.held_sha.as_deref(), now)),
            i.key.is_some(),
            None,
        ),
        Err(e) => (None, false, Some(e.clone())),
    };
    TrustPage {
        title: format!("Renew the trust certificate — {}", setup.name),
        head: SetupHead::of(setup, me),
        held,
        has_key,
        active: None,
        passive: None,
        read: false,
        seen_active: String::new(),
        seen_passive: String::new(),
        error,
        notice: None,
        upload_next: false,
    }
}

pub async fn show(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<TrustPage> {
    Ok(page(&state, &setup, &me))
}

/// Both certificates as the Destination service has them now.
async fn connect<'a>(
    sap: &'a SapClient,
    calls: &Calls,
    key: &DestinationKey,
) -> std::result::Result<destinations::Session<'a>, String> {
    destinations::connect(sap, calls, key)
        .await
        .map_err(|e| e.explain())
}

/// Both certificates read with one token, the calls logged on step 3.2.
async fn read_logged(
    state: &super::AppState,
    setup: &Setup,
    who: &str,
    key: &DestinationKey,
) -> Result<std::result::Result<(String, Option<String>), String>> {
    let calls = Calls::default();
    let result = match connect(&state.sap, &calls, key).await {
        Ok(session) => read_both(&session, &calls).await,
        Err(e) => Err(e),
    };
    state
        .store
        .record_calls(&setup.id, "step-3-2", who, &calls.take())
        .await?;
    Ok(result)
}

async fn read_both(
    s: &destinations::Session<'_>,
    calls: &Calls,
) -> std::result::Result<(String, Option<String>), String> {
    let (a, p) = tokio::join!(s.certificate(calls), s.passive_certificate(calls));
    Ok((a.map_err(|e| e.explain())?, p.map_err(|e| e.explain())?))
}

fn show_read(p: &mut TrustPage, active: &str, passive: Option<&str>, held_sha: Option<&str>) {
    let now = fmt::now();
    p.read = true;
    p.active = view(active, held_sha, now);
    p.passive = passive.and_then(|x| view(x, held_sha, now));
    p.seen_active = p
        .active
        .as_ref()
        .map(|a| a.sha256.clone())
        .unwrap_or_default();
    p.seen_passive = p
        .passive
        .as_ref()
        .map(|a| a.sha256.clone())
        .unwrap_or_default();
}

pub async fn read(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<Response> {
    let mut p = page(&state, &setup, &me);
    let Ok(Inputs {
        key: Some(key),
        held_sha,
        ..
    }) = inputs(&state, &setup)
    else {
        p.error = Some(
            p.error
                .take()
                .unwrap_or_else(|| "First save a Destination service key on step 3.2.".into()),
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    };
    let result = read_logged(&state, &setup, &me.name, &key).await?;
    match result {
        Ok((a, passive)) => {
            show_read(&mut p, &a, passive.as_deref(), held_sha.as_deref());
            Ok(p.into_response())
        }
        Err(e) => {
            p.error = Some(e);
            Ok((StatusCode::BAD_GATEWAY, p).into_response())
        }
    }
}

/// What a confirmed change does (each button names the certificate it saw).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Passive,
    Rotate,
    Renew,
}

async fn change(
    state: &super::AppState,
    setup: &Setup,
    me: &User,
    input: &playbook::FormInput,
    what: Change,
) -> Result<Response> {
    let mut p = page(state, setup, me);
    let Ok(Inputs {
        key: Some(key),
        held_sha,
        ..
    }) = inputs(state, setup)
    else {
        p.error = Some("First save a Destination service key on step 3.2.".into());
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    };
    let calls = Calls::default();
    let outcome = async {
        let s = connect(&state.sap, &calls, &key).await?;
        let (active, passive) = read_both(&s, &calls).await?;
        // Confirmed for the certificates the consultant saw, not others.
        let now = fmt::now();
        let seen = |pem: Option<&str>| pem.and_then(|x| view(x, None, now)).map(|v| v.sha256);
        if input.first("active") != seen(Some(&active)).as_deref()
            || input.first("passive").filter(|s| !s.is_empty())
                != seen(passive.as_deref()).as_deref()
        {
            return Ok(Err((active, passive)));
        }
        let result = match what {
            Change::Passive => s.renew_certificate(&calls, Trust::Passive).await,
            Change::Renew => s.renew_certificate(&calls, Trust::Active).await,
            Change::Rotate => s.rotate_certificate(&calls).await,
        };
        result.map(|pem| Ok((active, pem))).map_err(|e| e.explain())
    }
    .await;
    state
        .store
        .record_calls(&setup.id, "step-3-2", &me.name, &calls.take())
        .await?;
    let (active, pem) = match outcome {
        Err(e) => {
            p.error = Some(format!("{e} Nothing was changed; try again."));
            return Ok((StatusCode::BAD_GATEWAY, p).into_response());
        }
        Ok(Err((active, passive))) => {
            p.error = Some(
                "The certificates changed since you read them. Check them again and confirm."
                    .into(),
            );
            show_read(&mut p, &active, passive.as_deref(), held_sha.as_deref());
            return Ok((StatusCode::CONFLICT, p).into_response());
        }
        Ok(Ok(done)) => done,
    };
    if what == Change::Passive {
        p.notice = Some("A passive certificate was created. The active one still signs; nothing changed for S/4HANA yet.".into());
        // The active one is as read; the passive one is what SAP just made.
        show_read(&mut p, &active, Some(&pem), held_sha.as_deref());
        return Ok(p.into_response());
    }
    // The new active certificate becomes step 3.2's, as if uploaded there.
    let fill = crate::playbook::change::Fill {
        page: "step-3-2",
        values: vec![("certificate_text", pem)],
        ticked_by: None,
    };
    match crate::service::answers::fill(&state.store, setup, &fill, &me.name)
        .await?
        .ok_or(AppError::NotFound)?
    {
        Ok(saved) => {
            let mut p = page(state, &saved, me);
            p.upload_next = true;
            p.notice = Some(match what {
                Change::Rotate => {
                    "Rotated: the former passive certificate signs now. Step 3.2 holds it.".into()
                }
                _ => "Renewed: the new certificate signs now. Step 3.2 holds it.".into(),
            });
            Ok(p.into_response())
        }
        Err(r) => {
            p.error = Some(format!(
                "The Destination service changed its certificate, but step 3.2 did not accept it: {}",
                r.message()
            ));
            Ok((super::change::refused_status(&r), p).into_response())
        }
    }
}

/// `POST /setups/{id}/trust/{passive|rotate|renew}`: one confirmed change.
pub async fn confirm(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
    Path((_, what)): Path<(String, String)>,
    Submitted(input): Submitted,
) -> Result<Response> {
    let what = match what.as_str() {
        "passive" => Change::Passive,
        "rotate" => Change::Rotate,
        "renew" => Change::Renew,
        _ => return Err(AppError::NotFound),
    };
    change(&state, &setup, &me, &input, what).await
}

/// The passive certificate, read from the Destination service, for S/4HANA.
pub async fn passive_pem(
    State(state): State<super::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<Response> {
    let Ok(Inputs { key: Some(key), .. }) = inputs(&state, &setup) else {
        return Err(AppError::NotFound);
    };
    let result = read_logged(&state, &setup, &me.name, &key).await?;
    match result {
        Ok((_, Some(pem))) => Ok((
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
        Ok((_, None)) => Err(AppError::NotFound),
        Err(e) => {
            let mut p = page(&state, &setup, &me);
            p.error = Some(e);
            Ok((StatusCode::BAD_GATEWAY, p).into_response())
        }
    }
}

setup_page!(TrustPage);
