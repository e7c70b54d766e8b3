//! Administration: people, their single-use links, and a setup's sharing and history.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::{AppError, Result};
use super::form::Submitted;
use super::{CurrentUser, Manager, Nav, SetupHead, Viewer, setup_page};
use crate::store::{Role, User};
use crate::{INVITE_VALID_SECS, domain, fmt, playbook};

pub struct UserView {
    pub name: String,
    pub is_admin: bool,
    pub status: &'static str,
    pub created: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_users.html")]
pub struct UsersPage {
    pub title: String,
    pub nav: Nav,
    pub users: Vec<UserView>,
    pub link: Option<(String, String)>,
    pub name: String,
    pub error: Option<String>,
}

fn require_admin(user: &crate::store::User) -> Result<()> {
    if user.is_admin {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

async fn users_page(
    state: &super::AppState,
    me: &crate::store::User,
    link: Option<(String, String)>,
    name: String,
    error: Option<String>,
) -> Result<UsersPage> {
    let users = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| UserView {
            name: u.user.name,
            is_admin: u.user.is_admin,
            status: if u.has_password {
                "Active"
            } else {
                "Link sent, not used yet"
            },
            created: fmt::date(u.created_at),
        })
        .collect();
    Ok(UsersPage {
        title: format!("{}People", if error.is_some() { "Error: " } else { "" }),
        nav: Nav::of(me),
        users,
        link,
        name,
        error,
    })
}

pub async fn users(
    State(state): State<super::State>,
    CurrentUser(me): CurrentUser,
) -> Result<UsersPage> {
    require_admin(&me)?;
    users_page(&state, &me, None, String::new(), None).await
}

/// A link for `name`; the admin hands it over (it is shown once, never stored).
async fn link_for(state: &super::AppState, name: &str, admin: bool, me: &str) -> Result<String> {
    let token = state
        .store
        .create_invite(Some(name), admin, me, INVITE_VALID_SECS, fmt::now())
        .await?;
    Ok(format!("{}/invite/{token}", state.public_url))
}

pub async fn add_user(
    State(state): State<super::State>,
    CurrentUser(me): CurrentUser,
    Submitted(input): Submitted,
) -> Result<Response> {
    require_admin(&me)?;
    let typed = input.first("name").unwrap_or("").to_string();
    let name = match domain::user_name(&typed) {
        Ok(c) => c.value,
        Err(e) => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                users_page(&state, &me, None, typed, Some(e)).await?,
            )
                .into_response());
        }
    };
    if state.store.user_by_name(&name).await?.is_some() {
        let e = format!(
            "There is already a user called {name}. Use \"Reset password\" in the list instead."
        );
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            users_page(&state, &me, None, typed, Some(e)).await?,
        )
            .into_response());
    }
    let admin = input.first("admin") == Some("yes");
    let link = link_for(&state, &name, admin, &me.name).await?;
    tracing::info!(target: "security", by = %me.name, user = %name, admin, "user added");
    Ok(
        users_page(&state, &me, Some((name, link)), String::new(), None)
            .await?
            .into_response(),
    )
}

pub async fn reset_user(
    State(state): State<super::State>,
    CurrentUser(me): CurrentUser,
    Path(name): Path<String>,
) -> Result<UsersPage> {
    require_admin(&me)?;
    let user = state
        .store
        .user_by_name(&name)
        .await?
        .ok_or(AppError::NotFound)?;
    let link = link_for(&state, &user.name, false, &me.name).await?;
    tracing::info!(target: "security", by = %me.name, user = %user.name, "password reset link issued");
    users_page(&state, &me, Some((user.name, link)), String::new(), None).await
}

pub struct MemberView {
    pub name: String,
    pub role: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "members.html")]
pub struct MembersPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub owner: String,
    pub members: Vec<MemberView>,
    pub name: String,
    pub error: Option<String>,
}

async fn members_page(
    state: &super::AppState,
    me: &crate::store::User,
    id: &str,
    name: String,
    error: Option<String>,
) -> Result<MembersPage> {
    let setup = state.store.setup(id).await?.ok_or(AppError::NotFound)?;
    let owner = match setup.owner_id {
        Some(o) => state.store.user_name(o).await?.unwrap_or_default(),
        None => "(administrators)".into(),
    };
    Ok(MembersPage {
        title: format!(
            "{}Sharing — {}",
            if error.is_some() { "Error: " } else { "" },
            setup.name
        ),
        head: SetupHead::of(&setup, me),
        owner,
        members: setup
            .members
            .iter()
            .map(|m| MemberView {
                name: m.name.clone(),
                role: m.role.as_str(),
            })
            .collect(),
        name,
        error,
    })
}

pub async fn members(
    State(state): State<super::State>,
    Manager { setup, me, .. }: Manager,
) -> Result<MembersPage> {
    members_page(&state, &me, &setup.id, String::new(), None).await
}

pub async fn add_member(
    State(state): State<super::State>,
    Manager { setup, me, .. }: Manager,
    Submitted(input): Submitted,
) -> Result<Response> {
    let id = setup.id.as_str();
    let (typed, named) = sharee(
        &state,
        &input,
        "Select whether they can change the setup or only view it.",
    )
    .await?;
    let named = named.and_then(|(u, r)| {
        if Some(u.id) == setup.owner_id {
            Err(format!("{} owns this setup already.", u.name))
        } else {
            Ok((u, r))
        }
    });
    match named {
        Err(e) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            members_page(&state, &me, id, typed, Some(e)).await?,
        )
            .into_response()),
        Ok((u, r)) => {
            state.store.set_member(id, &u, Some(r)).await?;
            tracing::info!(target: "security", setup = %id, by = %me.name, user = %u.name, role = r.as_str(), "setup shared");
            Ok(Redirect::to(&format!("/setups/{id}/members")).into_response())
        }
    }
}

/// Whom a share form names and as what (`name`, `role`): the name as typed,
/// and the user and role or what is wrong (`no_role` when none is chosen).
pub(super) async fn sharee(
    state: &super::AppState,
    input: &crate::playbook::FormInput,
    no_role: &str,
) -> Result<(String, std::result::Result<(User, Role), String>)> {
    let typed = input
        .first("name")
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let role = input.first("role").and_then(Role::parse);
    let user = state.store.user_by_name(&typed).await?;
    let named = match (user, role) {
        (None, _) => Err(format!(
            "There is no user called \"{typed}\". Check the spelling, or ask an administrator to add them."
        )),
        (_, None) => Err(no_role.to_string()),
        (Some(u), Some(r)) => Ok((u, r)),
    };
    Ok((typed, named))
}

pub async fn remove_member(
    State(state): State<super::State>,
    Manager { setup, me, .. }: Manager,
    Path((_, name)): Path<(String, String)>,
) -> Result<Redirect> {
    let user = state
        .store
        .user_by_name(&name)
        .await?
        .ok_or(AppError::NotFound)?;
    state.store.set_member(&setup.id, &user, None).await?;
    tracing::info!(target: "security", setup = %setup.id, by = %me.name, user = %user.name, "removed from setup");
    Ok(Redirect::to(&format!("/setups/{}/members", setup.id)))
}

pub struct HistoryRow {
    pub when: String,
    pub who: String,
    pub page: String,
    pub field: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "history.html")]
pub struct HistoryPage {
    pub title: String,
    /// The header: who is signed in, which setup.
    pub head: SetupHead,
    pub rows: Vec<HistoryRow>,
}

pub async fn history(
    State(state): State<super::State>,
    Viewer { setup, me, .. }: Viewer,
) -> Result<HistoryPage> {
    let rows = state
        .store
        .audit(&setup.id)
        .await?
        .into_iter()
        .map(|r| {
            let base = r.field.split('.').next().unwrap_or(&r.field);
            let label = playbook::key_label(base);
            HistoryRow {
                when: fmt::date_time(r.at),
                who: r.user_name,
                page: playbook::page(&r.page).map_or(r.page.clone(), |p| p.title.to_string()),
                field: match r.field.split_once('.') {
                    _ if label.is_empty() => r.field.clone(),
                    Some((field, item)) => format!(
                        "{label}: {}",
                        playbook::item_label(field, item).unwrap_or(item)
                    ),
                    None => label.to_string(),
                },
            }
        })
        .collect();
    Ok(HistoryPage {
        title: format!("History — {}", setup.name),
        head: SetupHead::of(&setup, &me),
        rows,
    })
}

setup_page!(MembersPage, HistoryPage);
