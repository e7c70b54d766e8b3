//! Export and import of a setup (secrets only if asked, under a passphrase).

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::downloads::{attachment, file_stem};
use super::error::{AppError, Result};
use super::form::Submitted;
use super::{CurrentUser, Nav, Need, SetupHead, Viewer, can, setup_page};
use crate::handover::{self, Export, ExportPage};
use crate::playbook::{self, PAGES};
use crate::store::{Setup, Stored, User};
use crate::{domain, fmt};

#[derive(Template, WebTemplate)]
#[template(path = "export.html")]
pub struct ExportForm {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub errors: Vec<(&'static str, String)>,
    pub include: bool,
    /// Only the owner and administrators may take the secrets out.
    pub can_secrets: bool,
}

impl ExportForm {
    fn new(setup: &Setup, me: &User, errors: Vec<(&'static str, String)>, include: bool) -> Self {
        ExportForm {
            title: format!(
                "{}Export — {}",
                if errors.is_empty() { "" } else { "Error: " },
                setup.name
            ),
            head: SetupHead::of(setup, me),
            errors,
            include,
            can_secrets: can(setup, me, Need::Manage),
        }
    }
}

pub async fn export_form(Viewer { setup, me, .. }: Viewer) -> ExportForm {
    ExportForm::new(&setup, &me, Vec::new(), false)
}

pub async fn export(
    State(state): State<super::State>,
    Viewer { setup, me, .. }: Viewer,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Submitted(input): Submitted,
) -> Result<Response> {
    let include = input.first("include_secrets") == Some("yes");
    let passphrase = input.first("passphrase").unwrap_or("").to_string();
    if include {
        if !can(&setup, &me, Need::Manage) {
            tracing::warn!(target: "security", setup = %setup.id, user = %me.name, "export with secrets refused: not owner or administrator");
            return Err(AppError::Forbidden(
                "Only the setup's owner or an administrator can export its secrets. Export it without secrets, or ask the owner.".into(),
            ));
        }
        let mut errors = Vec::new();
        if passphrase.chars().count() < 12 {
            errors.push((
                "passphrase",
                "Enter a passphrase of at least 12 characters to encrypt the secrets".to_string(),
            ));
        } else if input.first("confirm") != Some(passphrase.as_str()) {
            errors.push((
                "passphrase",
                "The two passphrases do not match. Type the same passphrase twice".to_string(),
            ));
        }
        let password = input.first("password").unwrap_or("");
        if password.is_empty() {
            errors.push((
                "password",
                "Enter your own password to export the secrets".to_string(),
            ));
        } else if errors.is_empty()
            && super::login::check_password(&state, &me.name, password, &peer)
                .await?
                .is_none_or(|u| u.id != me.id)
        {
            errors.push((
                "password",
                "Your password is not right. Enter the password you sign in with".to_string(),
            ));
        }
        if !errors.is_empty() {
            let page = ExportForm::new(&setup, &me, errors, include);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    }
    let export = export_of(&state, &setup, include.then_some(passphrase)).await?;
    let what = if include {
        "with secrets (encrypted with a passphrase)"
    } else {
        "without secrets"
    };
    state
        .store
        .record_event(&setup.id, &me.name, "Export", what, fmt::now())
        .await?;
    if include {
        tracing::warn!(target: "security", setup = %setup.id, user = %me.name, "setup exported with secrets");
    }
    let body = serde_json::to_vec_pretty(&export).map_err(anyhow::Error::from)?;
    Ok(attachment(
        body,
        "application/json",
        &format!("{}-setup.json", file_stem(&setup)),
    ))
}

/// A setup as its export file has it: the answers, and the secrets sealed
/// with `passphrase` when one is given (the caller checked who may).
pub(super) async fn export_of(
    state: &super::AppState,
    setup: &Setup,
    passphrase: Option<String>,
) -> Result<Export> {
    let include = passphrase.is_some();
    let mut pages = BTreeMap::new();
    let mut secrets: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (page, rec) in &setup.pages {
        let mut data = BTreeMap::new();
        for (k, v) in &rec.data {
            if playbook::is_secret_key(k) {
                if include && let Some(plain) = state.store.reveal(v) {
                    secrets
                        .entry(page.clone())
                        .or_default()
                        .insert(k.clone(), plain);
                }
            } else {
                data.insert(k.clone(), v.clone());
            }
        }
        pages.insert(
            page.clone(),
            ExportPage {
                data,
                basis: rec.basis.clone(),
            },
        );
    }
    let sealed = match passphrase {
        Some(p) => Some(crate::store::hash_pool(move || handover::seal(&secrets, &p)).await??),
        None => None,
    };
    Ok(Export {
        format: handover::EXPORT_FORMAT.into(),
        name: setup.name.clone(),
        exported_at: fmt::now(),
        pages,
        secrets: sealed,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "import.html")]
pub struct ImportForm {
    pub title: String,
    pub nav: Nav,
    pub errors: Vec<(&'static str, String)>,
}

pub async fn import_form(CurrentUser(me): CurrentUser) -> ImportForm {
    ImportForm {
        title: "Import a setup".into(),
        nav: Nav::of(&me),
        errors: Vec::new(),
    }
}

pub async fn import(
    State(state): State<super::State>,
    CurrentUser(me): CurrentUser,
    Submitted(input): Submitted,
) -> Result<Response> {
    let fail = |field: &'static str, e: String| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ImportForm {
                title: "Error: Import a setup".into(),
                nav: Nav::of(&me),
                errors: vec![(field, e)],
            },
        )
            .into_response()
    };
    let Some(bytes) = input.file("file") else {
        return Ok(fail(
            "file",
            "Choose the exported setup file (.json)".into(),
        ));
    };
    let exported = match handover::parse_exported(bytes) {
        Ok(e) => e,
        Err(e) => return Ok(fail("file", format!("The file cannot be imported: {e:#}"))),
    };
    let passphrase = input.first("passphrase").unwrap_or("").to_string();
    let source: String = input
        .file_name("file")
        .map(|f| f.chars().filter(|c| !c.is_control()).take(100).collect())
        .unwrap_or_else(|| "an export".to_string());
    let (customer, exports) = match exported {
        handover::Exported::Setup(e) => (None, vec![e]),
        handover::Exported::Customer(c) => (Some(c.name), c.setups),
    };
    // Every system is checked before any is saved: all or nothing.
    let mut checked = Vec::new();
    for export in exports {
        match pages_of(export, &passphrase, &source).await? {
            Ok(p) => checked.push(p),
            Err((field, e)) => return Ok(fail(field, e)),
        }
    }
    let mut customer_id: Option<String> = None;
    let mut first = None;
    for (name, pages) in checked {
        let setup = state
            .store
            .import_setup(
                &format!("{name} (imported)"),
                me.id,
                &me.name,
                pages,
                customer_id.as_deref(),
                fmt::now(),
            )
            .await?;
        if customer_id.is_none() {
            if let Some(c) = &customer {
                state
                    .store
                    .rename_customer(&setup.customer_id, &format!("{c} (imported)"))
                    .await?;
            }
            customer_id = Some(setup.customer_id.clone());
        }
        first.get_or_insert(setup.id.clone());
    }
    Ok(Redirect::to(&match (customer, customer_id, first) {
        (Some(_), Some(c), _) => format!("/customers/{c}"),
        (_, _, Some(id)) => format!("/setups/{id}"),
        _ => "/".to_string(),
    })
    .into_response())
}

type ImportedPages = BTreeMap<String, (BTreeMap<String, Stored>, String)>;

/// One exported setup's name and pages, every value through the same
/// parsers as typed answers (page by page in the procedure's order, so
/// derived checks see earlier pages; files from before the pages' current
/// layout moved to their pages). `Err`: the field and what is wrong.
async fn pages_of(
    export: Export,
    passphrase: &str,
    source: &str,
) -> Result<std::result::Result<(String, ImportedPages), (&'static str, String)>> {
    let mut secrets = match (export.secrets, passphrase.is_empty()) {
        (Some(sealed), false) => {
            let passphrase = passphrase.to_string();
            match crate::store::hash_pool(move || handover::open(&sealed, &passphrase)).await? {
                Ok(s) => s,
                Err(e) => return Ok(Err(("passphrase", e))),
            }
        }
        _ => BTreeMap::new(),
    };
    if let Some(unknown) = export.pages.keys().find(|p| playbook::page(p).is_none()) {
        return Ok(Err((
            "file",
            format!("The file has a page \"{unknown}\" this wizard does not know."),
        )));
    }
    let mut exported: BTreeMap<String, BTreeMap<String, String>> = export
        .pages
        .into_iter()
        .map(|(page, p)| (page, p.data))
        .collect();
    playbook::layout::relayout(&mut exported);
    playbook::layout::relayout(&mut secrets);
    let mut pages = BTreeMap::new();
    let checked: std::result::Result<(), String> = (|| {
        let reveal = |_: &str| None;
        let mut ctx = playbook::Ctx::empty(&reveal, fmt::now());
        for page in PAGES {
            let Some(p) = exported.remove(page.id) else {
                continue;
            };
            let plain: BTreeMap<String, String> = p
                .into_iter()
                .filter(|(k, _)| !playbook::is_secret_key(k))
                .collect();
            let mut data = playbook::import_page(page, plain, &mut ctx, source)?;
            for (k, v) in secrets.get(page.id).cloned().unwrap_or_default() {
                if playbook::is_secret_key(&k) {
                    ctx.set(&k, &v);
                    data.insert(k, Stored::Secret(v));
                }
            }
            pages.insert(page.id.to_string(), (data, playbook::basis(page, &ctx)));
        }
        Ok(())
    })();
    if let Err(e) = checked {
        return Ok(Err(("file", format!("The file cannot be imported: {e}"))));
    }
    let name = domain::bounded_text(&export.name, "setup name", 100)
        .map(|c| c.value)
        .unwrap_or_else(|_| "Imported setup".into());
    Ok(Ok((name, pages)))
}

setup_page!(ExportForm);
