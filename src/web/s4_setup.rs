//! "Set up S/4HANA through its API" (steps 3.3-3.5, SAP_COM_0A48): the
//! bootstrap credentials, the plan read from S/4HANA, and — only after the
//! consultant confirmed that plan — the writes, then the answers they give.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::auth::{Editor, SetupHead, setup_page};
use super::form::Submitted;
use super::setups::with_ctx;
use crate::error::{AppError, Result};
use crate::fmt;
use crate::playbook::s4_setup::{self, Plan, Todo, Wanted};
use crate::playbook::{self, FormInput, Kind};
use crate::sap::Calls;
use crate::sap::s4::Session;
use crate::store::{PageWrite, SaveOutcome, Setup, Stored, User};

#[derive(Template, WebTemplate)]
#[template(path = "s4_setup.html")]
pub struct S4SetupPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub api_user: Option<String>,
    pub missing: Option<String>,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub plan: Option<Plan>,
    pub fingerprint: String,
    pub unconfirmed: &'static [&'static str],
    pub done: Vec<String>,
}

fn page(setup: &Setup, me: &User, api_user: Option<String>) -> S4SetupPage {
    S4SetupPage {
        title: format!("Set up S/4HANA through its API — {}", setup.name),
        head: SetupHead::of(setup, me),
        api_user,
        missing: None,
        error: None,
        notice: None,
        plan: None,
        fingerprint: String::new(),
        unconfirmed: s4_setup::UNCONFIRMED,
        done: Vec::new(),
    }
}

/// The wanted state, the API user, and its password (if it may be sent).
type Inputs = (
    std::result::Result<Wanted, String>,
    Option<String>,
    std::result::Result<Option<String>, String>,
);

/// The answers this needs: the wanted state and the API credentials.
fn inputs(state: &crate::AppState, setup: &Setup) -> Inputs {
    with_ctx(state, setup, |ctx| {
        (
            s4_setup::wanted(ctx),
            ctx.get("s4_api_user").map(str::to_string),
            ctx.secret_to_send("s4_api_password"),
        )
    })
}

pub async fn show(
    State(state): State<crate::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<S4SetupPage> {
    let (wanted, user, _) = inputs(&state, &setup);
    let mut p = page(&setup, &me, user);
    p.missing = wanted.err();
    Ok(p)
}

/// Save the bootstrap credentials on step 3.3 (as if typed there, keeping
/// its other answers), then check the connection.
pub async fn credentials(
    State(state): State<crate::State>,
    Editor { setup, me, .. }: Editor,
    Submitted(input): Submitted,
) -> Result<Response> {
    let mut p = page(&setup, &me, input.first("s4_api_user").map(str::to_string));
    let typed = input.first("s4_api_user").unwrap_or("").trim();
    if typed.is_empty() {
        p.error = Some(
            "Enter the API user: the communication user of the SAP_COM_0A48 arrangement".into(),
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    }
    let creds = [
        ("s4_api_user", typed.to_string()),
        (
            "s4_api_password",
            input.first("s4_api_password").unwrap_or("").to_string(),
        ),
    ];
    let saved = match save_answers(&state, &setup, "step-3-3", &creds, &me, None).await? {
        Ok(s) => s,
        Err((status, e)) => {
            p.error = Some(e);
            return Ok((status, p).into_response());
        }
    };
    let (wanted, user, password) = inputs(&state, &saved);
    p.missing = wanted.as_ref().err().cloned();
    let (Some(user), Ok(Some(password))) = (user, password) else {
        p.error = Some("Enter the API user's password".into());
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    };
    let api = match &wanted {
        Ok(w) => w.api.clone(),
        Err(_) => return Ok(p.into_response()),
    };
    let calls = Calls::default();
    let checked = match Session::connect(&state.sap, &calls, &api, &user, &password).await {
        Ok(s) => s.check(&calls).await,
        Err(e) => Err(e),
    };
    state
        .store
        .record_calls(&setup.id, "step-3-3", &me.name, &calls.take())
        .await?;
    match checked {
        Ok((u, s, a)) => {
            p.notice = Some(format!(
                "Connected as {user}: S/4HANA lists {u} communication users, {s} systems and {a} arrangements."
            ));
            Ok(p.into_response())
        }
        Err(e) => {
            p.error = Some(crate::sap::s4::explain(&e));
            Ok((StatusCode::BAD_GATEWAY, p).into_response())
        }
    }
}

async fn session_and_wanted<'a>(
    state: &'a crate::AppState,
    setup: &Setup,
    calls: &Calls,
) -> std::result::Result<(Session<'a>, Wanted), String> {
    let (wanted, user, password) = inputs(state, setup);
    let w = wanted?;
    let (Some(user), Some(password)) = (user, password?) else {
        return Err("First enter the API user and its password.".into());
    };
    let api = Session::connect(&state.sap, calls, &w.api, &user, &password)
        .await
        .map_err(|e| crate::sap::s4::explain(&e))?;
    Ok((api, w))
}

/// Read S/4HANA and show what would be done. Writes nothing.
pub async fn plan(
    State(state): State<crate::State>,
    Editor { setup, me, .. }: Editor,
) -> Result<Response> {
    let calls = Calls::default();
    let mut p = page(&setup, &me, None);
    let result = match session_and_wanted(&state, &setup, &calls).await {
        Ok((api, w)) => s4_setup::plan(&api, &calls, &w)
            .await
            .map_err(|e| crate::sap::s4::explain(&e)),
        Err(e) => Err(e),
    };
    state
        .store
        .record_calls(&setup.id, "step-3-3", &me.name, &calls.take())
        .await?;
    p.api_user = with_ctx(&state, &setup, |ctx| {
        ctx.get("s4_api_user").map(str::to_string)
    });
    match result {
        Ok(plan) => {
            p.fingerprint = plan.fingerprint();
            p.plan = Some(plan);
            Ok(p.into_response())
        }
        Err(e) => {
            p.error = Some(e);
            Ok((StatusCode::BAD_GATEWAY, p).into_response())
        }
    }
}

/// Save some answers of a page through its own parser, as if typed there,
/// keeping its other answers (secrets left blank keep their saved value).
/// With `ticked_by`, every confirmation is ticked and marked as done that way.
pub(super) async fn save_answers(
    state: &crate::AppState,
    setup: &Setup,
    page_id: &str,
    values: &[(&str, String)],
    me: &User,
    ticked_by: Option<&str>,
) -> Result<std::result::Result<std::sync::Arc<Setup>, (StatusCode, String)>> {
    let page = playbook::page(page_id).ok_or(AppError::NotFound)?;
    let rec = setup.pages.get(page.id);
    let mut form = FormInput::default();
    for f in page.fields {
        if let Kind::Confirm(items) = f.kind {
            let prefix = format!("{}.", f.key);
            for (id, _) in items.iter() {
                let saved = rec.is_some_and(|r| r.data.contains_key(&format!("{prefix}{id}")));
                if saved || ticked_by.is_some() {
                    form.values.push((f.key.to_string(), id.to_string()));
                }
            }
        } else if matches!(f.kind, Kind::Text | Kind::Lines | Kind::Choice(_))
            && let Some(v) = rec.and_then(|r| r.data.get(f.key))
        {
            form.values.push((f.key.to_string(), v.clone()));
        }
    }
    for (k, v) in values {
        form.values.retain(|(x, _)| x != k);
        form.values.push((k.to_string(), v.clone()));
    }
    let now = fmt::now();
    let sub = {
        let reveal = |c: &str| state.store.reveal(c);
        let mut ctx = playbook::Ctx::new(setup, &reveal, now);
        playbook::submit(page, &form, &mut ctx, &me.name, true)
    };
    let sub = match sub {
        Ok(s) => s,
        Err(e) => {
            let msg = e
                .errors
                .into_iter()
                .map(|(_, m)| m)
                .collect::<Vec<_>>()
                .join("; ");
            return Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, msg)));
        }
    };
    let fresh = format!("{now}|{}", me.name);
    let data: BTreeMap<String, Stored> = sub
        .data
        .into_iter()
        .map(|(k, v)| match (v, ticked_by) {
            (Stored::Plain(p), Some(how)) if k.contains('.') && p == fresh => {
                (k, Stored::Plain(format!("{p}|{how}")))
            }
            (other, _) => (k, other),
        })
        .collect();
    let write = PageWrite {
        page: page.id,
        data,
        basis: &sub.basis,
        expected_version: rec.map_or(0, |r| r.version),
        user: &me.name,
        now,
    };
    Ok(
        match state
            .store
            .save_page(&setup.id, write)
            .await?
            .ok_or(AppError::NotFound)?
        {
            SaveOutcome::Saved(s) => Ok(s),
            SaveOutcome::Conflict(_) => Err((
                StatusCode::CONFLICT,
                format!(
                    "Someone saved step {} meanwhile. Enter it again.",
                    page.step
                ),
            )),
        },
    )
}

fn strong_password() -> Result<String> {
    // 32 characters of letters and digits (S/4HANA asks for 20 or more).
    let hex = crate::store::secrets::random_hex(24)?;
    Ok(hex
        .char_indices()
        .map(|(i, c)| {
            if i % 3 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .take(32)
        .collect())
}

/// Fill in a page from what S/4HANA now has: `Some(why)` when it could not.
async fn fill(
    state: &crate::AppState,
    setup_id: &str,
    page_id: &str,
    values: &[(&str, String)],
    me: &User,
) -> Result<Option<String>> {
    let Some(setup) = state.store.setup(setup_id).await? else {
        return Ok(None);
    };
    let step = playbook::page(page_id).map_or("", |p| p.step);
    Ok(
        match save_answers(
            state,
            &setup,
            page_id,
            values,
            me,
            Some("through the S/4HANA API"),
        )
        .await?
        {
            Ok(_) => None,
            Err((_, why)) => Some(format!("Step {step} could not be filled in: {why}")),
        },
    )
}

/// Apply the plan the consultant saw (its fingerprint), never another one.
pub async fn apply(
    State(state): State<crate::State>,
    Editor { setup, me, .. }: Editor,
    Submitted(input): Submitted,
) -> Result<Response> {
    let calls = Calls::default();
    let outcome = apply_confirmed(&state, &setup, &me, &input, &calls).await;
    // Every exit keeps its call log, the failed ones too.
    state
        .store
        .record_calls(&setup.id, "step-3-3", &me.name, &calls.take())
        .await?;
    let (status, page) = outcome?;
    Ok((status, page).into_response())
}

async fn apply_confirmed(
    state: &crate::AppState,
    setup: &Setup,
    me: &User,
    input: &FormInput,
    calls: &Calls,
) -> Result<(StatusCode, S4SetupPage)> {
    let mut p = page(setup, me, None);
    let (api, w) = match session_and_wanted(state, setup, calls).await {
        Ok(x) => x,
        Err(e) => {
            p.error = Some(e);
            return Ok((StatusCode::BAD_GATEWAY, p));
        }
    };
    let plan = match s4_setup::plan(&api, calls, &w).await {
        Ok(plan) => plan,
        Err(e) => {
            p.error = Some(crate::sap::s4::explain(&e));
            return Ok((StatusCode::BAD_GATEWAY, p));
        }
    };
    if input.first("fingerprint") != Some(plan.fingerprint().as_str()) {
        p.error = Some("S/4HANA or the answers changed since the plan was shown. Check the new plan, then confirm it.".into());
        p.fingerprint = plan.fingerprint();
        p.plan = Some(plan);
        return Ok((StatusCode::CONFLICT, p));
    }
    // The password the user gets is saved (encrypted) before S/4HANA sees it,
    // so a failure half-way never loses it.
    let creates_user = plan.items.first().is_some_and(|i| i.todo == Todo::Create);
    let mut password = with_ctx(state, setup, |ctx| ctx.secret("comm_password"));
    if creates_user && password.is_none() {
        let generated = strong_password()?;
        let current = state
            .store
            .setup(&setup.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let rec = current.pages.get("step-3-3");
        let mut data: BTreeMap<String, Stored> = rec
            .map(|r| {
                r.data
                    .iter()
                    .map(|(k, v)| (k.clone(), Stored::Plain(v.clone())))
                    .collect()
            })
            .unwrap_or_default();
        data.insert("comm_user".into(), Stored::Plain(w.user.clone()));
        data.insert("comm_password".into(), Stored::Secret(generated.clone()));
        let bound = with_ctx(state, &current, |ctx| {
            playbook::secret_hosts("comm_password", ctx)
        });
        if let Some(b) = bound {
            data.insert(
                format!("{}comm_password", playbook::BOUND_PREFIX),
                Stored::Plain(b),
            );
        }
        let basis = rec.map(|r| r.basis.clone()).unwrap_or_default();
        let write = PageWrite {
            page: "step-3-3",
            data,
            basis: &basis,
            expected_version: rec.map_or(0, |r| r.version),
            user: &me.name,
            now: fmt::now(),
        };
        if let Some(SaveOutcome::Conflict(_)) = state.store.save_page(&setup.id, write).await? {
            p.error = Some("Someone saved step 3.3 meanwhile; nothing was written to S/4HANA. Show the plan again.".into());
            return Ok((StatusCode::CONFLICT, p));
        }
        password = Some(generated);
    }
    let applied = s4_setup::apply(&api, calls, &w, password.as_deref().unwrap_or("")).await;
    for d in &applied.done {
        state
            .store
            .record_event(&setup.id, &me.name, "S/4HANA API", d, fmt::now())
            .await?;
    }
    p.done = applied.done.clone();
    if let Some(e) = applied.failed {
        p.error = Some(format!(
            "{e} What was done before is listed below; run it again to continue from there."
        ));
        return Ok((StatusCode::BAD_GATEWAY, p));
    }
    // The answers of steps 3.3-3.5 as S/4HANA now has them.
    let s4 = with_ctx(state, setup, |ctx| ctx.s4());
    let client = with_ctx(state, setup, |ctx| {
        ctx.get("s4_client").unwrap_or("100").to_string()
    });
    let mut not_filled = Vec::new();
    not_filled.extend(
        fill(
            state,
            &setup.id,
            "step-3-3",
            &[("comm_user", w.user.clone())],
            me,
        )
        .await?,
    );
    not_filled.extend(
        fill(
            state,
            &setup.id,
            "step-3-4",
            &[
                ("comm_system_id", w.system_id.clone()),
                ("comm_system_name", w.system_name.clone()),
            ],
            me,
        )
        .await?,
    );
    if let Some(s4) = s4 {
        let mut v = vec![
            ("arrangement_name", w.arrangement.clone()),
            ("token_service_url", s4.token_service_url()),
            ("saml2_audience", s4.audience()),
            ("replication_url", s4.replication_url(&client)),
        ];
        if let Some(c) = &applied.client_id {
            v.push(("client_id", c.clone()));
        }
        not_filled.extend(fill(state, &setup.id, "step-3-5", &v, me).await?);
    }
    let filled = if not_filled.is_empty() {
        "Steps 3.3 to 3.5 are filled in with what S/4HANA now has.".to_string()
    } else {
        format!("{} Complete it on its page.", not_filled.join(" "))
    };
    p.notice = Some(if applied.done.is_empty() {
        format!("S/4HANA already had everything: nothing was written. {filled}")
    } else {
        format!("Done. {filled}")
    });
    Ok((StatusCode::OK, p))
}

setup_page!(S4SetupPage);
