//! The one access rule for setups (`SetupAccess`, used by every setup route).

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;

use super::error::{AppError, Result};
use super::session::CurrentUser;
use crate::store::{Role, Setup, User};

/// What a request wants to do with a setup.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Need {
    View,
    Edit,
    /// Share, rename, archive: the owner's (and administrators') business.
    Manage,
}

/// The one access rule. Someone without access learns nothing: 404.
pub fn authorize(setup: &Setup, user: &User, need: Need) -> Result<()> {
    if user.is_admin || setup.owner_id == Some(user.id) {
        return Ok(());
    }
    let role = setup
        .members
        .iter()
        .find(|m| m.user_id == user.id)
        .map(|m| m.role);
    match (role, need) {
        (None, _) => Err(AppError::NotFound),
        (Some(_), Need::View) | (Some(Role::Editor), Need::Edit) => Ok(()),
        (Some(Role::Viewer), _) => Err(AppError::Forbidden(
            "You can view this setup but not change it. Ask its owner to make you an editor."
                .into(),
        )),
        (Some(Role::Editor), Need::Manage) => Err(AppError::Forbidden(
            "Only the setup's owner or an administrator can do this.".into(),
        )),
    }
}

pub fn can(setup: &Setup, user: &User, need: Need) -> bool {
    authorize(setup, user, need).is_ok()
}

/// What a route needs, as a type, so that `SetupAccess<N>` can check it.
pub trait Needs: Send + Sync {
    const NEED: Need;
}
pub mod need {
    pub struct View;
    pub struct Edit;
    pub struct Manage;
}
impl Needs for need::View {
    const NEED: Need = Need::View;
}
impl Needs for need::Edit {
    const NEED: Need = Need::Edit;
}
impl Needs for need::Manage {
    const NEED: Need = Need::Manage;
}

/// The setup named by the route's `{id}` and the signed-in user, checked by
/// the one access rule before the handler runs: a setup route cannot forget it.
pub struct SetupAccess<N> {
    pub setup: Arc<Setup>,
    pub me: User,
    _need: PhantomData<N>,
}

pub type Viewer = SetupAccess<need::View>;
pub type Editor = SetupAccess<need::Edit>;
pub type Manager = SetupAccess<need::Manage>;

impl<N: Needs> FromRequestParts<super::State> for SetupAccess<N> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &super::State) -> Result<Self> {
        let CurrentUser(me) = CurrentUser::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        let id = params
            .iter()
            .find(|(k, _)| *k == "id")
            .map(|(_, v)| v)
            .ok_or(AppError::NotFound)?;
        let setup = state.store.setup(id).await?.ok_or(AppError::NotFound)?;
        authorize(&setup, &me, N::NEED)?;
        Ok(SetupAccess {
            setup,
            me,
            _need: PhantomData,
        })
    }
}
