//! Files the consultant takes to SAP's consoles: the destination (.properties,
//! JSON), the trust certificate (PEM, .cer), step 6's Global User IDs (CSV),
//! the X.509 push key's outbound.p12 (owner's password, recorded).

use crate::playbook::ids;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::Viewer;
use super::error::{AppError, Result};
use super::setups::with_ctx;
use crate::handover;
use crate::playbook;
use crate::store::Setup;
use crate::{domain, fmt};

#[derive(askama::Template, askama_web::WebTemplate)]
#[template(path = "outbound.html")]
pub struct OutboundPage {
    pub title: String,
    pub head: super::SetupHead,
    pub errors: Vec<(&'static str, String)>,
    pub client: Option<String>,
    pub until: Option<String>,
}
super::setup_page!(OutboundPage);

fn outbound_page(
    state: &super::AppState,
    setup: &Setup,
    me: &crate::store::User,
    errors: Vec<(&'static str, String)>,
) -> Result<OutboundPage> {
    let (client, until) = with_ctx(state, setup, |ctx| {
        (
            ctx.get("push_certurl")
                .and(ctx.get("push_clientid"))
                .map(str::to_string),
            ctx.get("push_cert_not_after").map(str::to_string),
        )
    });
    if client.is_none() {
        return Err(AppError::NotFound);
    }
    Ok(OutboundPage {
        title: format!(
            "{}outbound.p12 — {}",
            if errors.is_empty() { "" } else { "Error: " },
            setup.name
        ),
        head: super::SetupHead::of(setup, me),
        errors,
        client,
        until,
    })
}

/// The page that offers outbound.p12 (an X.509 push key only).
pub async fn outbound_form(
    State(state): State<super::State>,
    super::Manager { setup, me, .. }: super::Manager,
) -> Result<OutboundPage> {
    outbound_page(&state, &setup, &me, Vec::new())
}

/// SAP's outbound.p12 (O.2): the push key's certificate chain, then its
/// private key, as PEM text, for S/4HANA's mTLS outbound user. A private
/// key leaves the wizard only to its owner, after their password.
pub async fn outbound_p12(
    State(state): State<super::State>,
    super::Manager { setup, me, .. }: super::Manager,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    super::form::Submitted(input): super::form::Submitted,
) -> Result<Response> {
    let password = input.first("password").unwrap_or("");
    let refuse = |why: &str| -> Result<Response> {
        let page = outbound_page(&state, &setup, &me, vec![("password", why.to_string())])?;
        Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    if password.is_empty() {
        return refuse("Enter your own password to take the private key out");
    }
    if super::login::check_password(&state, &me.name, password, &peer)
        .await?
        .is_none_or(|u| u.id != me.id)
    {
        return refuse("Your password is not right. Enter the password you sign in with");
    }
    let pem = with_ctx(&state, &setup, |ctx| {
        match (
            ctx.secret("push_certificate"),
            ctx.secret("push_private_key"),
        ) {
            (Some(c), Some(k)) => Some(format!("{}\n{}\n", c.trim_end(), k.trim_end())),
            _ => None,
        }
    })
    .ok_or(AppError::NotFound)?;
    state
        .store
        .record_event(
            &setup.id,
            &me.name,
            "Download",
            "outbound.p12 (the push key's certificate and private key)",
            fmt::now(),
        )
        .await?;
    tracing::info!(target: "security", setup = %setup.id, user = %me.name, "outbound.p12 downloaded");
    Ok(attachment(
        pem.into_bytes(),
        "application/x-pem-file",
        &format!("{}-outbound.p12", file_stem(&setup)),
    ))
}

pub(super) fn attachment(body: Vec<u8>, content_type: &'static str, file: &str) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// Step 6's Global User IDs as S/4HANA's business user upload takes them.
pub async fn global_user_ids(
    State(state): State<super::State>,
    Viewer { setup, .. }: Viewer,
) -> Result<Response> {
    let rows: Vec<(String, String)> = with_ctx(&state, &setup, |ctx| {
        ctx.get("approvers")
            .and_then(|a| domain::parse_approvers(a).ok())
            .map(|a| {
                a.value
                    .into_iter()
                    .filter_map(|x| x.global_user_id.map(|id| (x.email, id)))
                    .collect()
            })
            .unwrap_or_default()
    });
    if rows.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(attachment(
        handover::global_user_ids_csv(&rows),
        "text/csv; charset=utf-8",
        "global-user-ids.csv",
    ))
}

/// The trust certificate the setup holds (fetched or uploaded), as S/4HANA's
/// "Upload Signing Certificate" takes it: PEM, or DER as `.cer`.
pub async fn trust_certificate(
    State(state): State<super::State>,
    Viewer { setup, .. }: Viewer,
    Path((_, file)): Path<(String, String)>,
) -> Result<Response> {
    let pem = with_ctx(&state, &setup, |ctx| {
        ctx.get("certificate").map(str::to_string)
    })
    .filter(|p| p.contains("BEGIN CERTIFICATE"))
    .ok_or(AppError::NotFound)?;
    let stem = format!("{}-trust", file_stem(&setup));
    match file.as_str() {
        "trust.pem" => Ok(attachment(
            pem.into_bytes(),
            "application/x-pem-file",
            &format!("{stem}.pem"),
        )),
        "trust.cer" => {
            use base64::Engine;
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(body.trim())
                .map_err(|_| AppError::NotFound)?;
            Ok(attachment(
                der,
                "application/pkix-cert",
                &format!("{stem}.cer"),
            ))
        }
        _ => Err(AppError::NotFound),
    }
}

pub(super) fn file_stem(setup: &Setup) -> String {
    file_stem_of(&setup.name)
}

/// A name as a file name's stem: lower-case letters and digits, dashes.
pub(super) fn file_stem_of(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() { "setup".into() } else { s }
}

fn destination_of(state: &super::AppState, setup: &Setup) -> Result<Vec<(&'static str, String)>> {
    if !setup.pages.contains_key(ids::DESTINATION) {
        return Err(AppError::NotFound);
    }
    Ok(with_ctx(state, setup, |ctx| {
        playbook::destination(ctx, false)
    }))
}

pub async fn properties(
    State(state): State<super::State>,
    Viewer { setup, .. }: Viewer,
) -> Result<Response> {
    let props = destination_of(&state, &setup)?;
    let heading = format!(
        "Destination for SAP Task Center: {}\nImport in the BTP cockpit: Connectivity > Destinations > Create > From File.\nGenerated by taskcenter-wizard on {}",
        setup.name,
        fmt::date_time(fmt::now())
    );
    let name = props.first().map(|(_, v)| v.clone()).unwrap_or_default();
    Ok(attachment(
        handover::properties(&props, &heading),
        "text/plain; charset=ISO-8859-1",
        &name,
    ))
}

pub async fn destination_json(
    State(state): State<super::State>,
    Viewer { setup, .. }: Viewer,
) -> Result<Response> {
    let props = destination_of(&state, &setup)?;
    let name = props.first().map(|(_, v)| v.clone()).unwrap_or_default();
    Ok(attachment(
        handover::destination_json(&props).into_bytes(),
        "application/json",
        &format!("{name}.json"),
    ))
}

/// The setup's dates ahead (`handover::dates_ahead`).
fn dates_of(state: &super::AppState, setup: &Setup) -> Vec<handover::DateAhead> {
    with_ctx(state, setup, |ctx| {
        handover::dates_ahead(&setup.id, &setup.name, |k| {
            ctx.get(k).and_then(|v| v.parse::<i64>().ok())
        })
    })
}

/// The dates the customer must act on, as an iCalendar file (RFC 5545) for
/// their calendar and the consultant's, each reminded 60, 30 and 7 days
/// before.
pub async fn calendar(
    State(state): State<super::State>,
    Viewer { setup, .. }: Viewer,
) -> Result<Response> {
    let dates = dates_of(&state, &setup);
    if dates.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(attachment(
        handover::calendar(&setup.name, &dates, fmt::now()),
        "text/calendar; charset=utf-8",
        &format!("{}-dates.ics", file_stem(&setup)),
    ))
}

/// The dates ahead of every active setup the signed-in person can see, in
/// one calendar (empty is a valid calendar: nothing to do yet). Downloaded
/// with the session, never a token in the URL: import it, or download it
/// again after a rotation.
pub async fn calendar_all(
    State(state): State<super::State>,
    super::CurrentUser(me): super::CurrentUser,
) -> Result<Response> {
    const PAGE: i64 = 500;
    let mut dates = Vec::new();
    let mut offset = 0;
    loop {
        let page = state
            .store
            .list(&crate::store::ListQuery {
                user_id: me.id,
                is_admin: me.is_admin,
                archived: false,
                text: "",
                status: "",
                offset,
                limit: PAGE,
            })
            .await?;
        for row in &page.rows {
            if let Some(setup) = state.store.setup_passing(&row.id).await? {
                dates.extend(dates_of(&state, &setup));
            }
        }
        offset += PAGE;
        if page.rows.len() < PAGE as usize {
            break;
        }
    }
    Ok(attachment(
        handover::calendar("every integration you can see", &dates, fmt::now()),
        "text/calendar; charset=utf-8",
        "task-center-dates.ics",
    ))
}
