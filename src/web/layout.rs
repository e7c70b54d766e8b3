//! The one page chrome: what every setup page's header shows, embedded by
//! each page view and read by the templates through Deref.

use crate::store::User;

/// What every page of a setup shows in its header: who is signed in and
/// which setup. Page views embed it; templates read its fields through Deref.
pub struct SetupHead {
    pub nav: Nav,
    pub setup_id: String,
    pub setup_name: String,
}

impl SetupHead {
    pub fn of(setup: &crate::store::Setup, me: &User) -> SetupHead {
        SetupHead {
            nav: Nav::of(me),
            setup_id: setup.id.clone(),
            setup_name: setup.name.clone(),
        }
    }
}

/// A setup page view reads its header fields (`setup_id`, `nav`, ...) as
/// its own, in templates and code alike.
macro_rules! setup_page {
    ($($page:ty),+ $(,)?) => {$(
        impl std::ops::Deref for $page {
            type Target = $crate::web::layout::SetupHead;
            fn deref(&self) -> &Self::Target {
                &self.head
            }
        }
    )+};
}
pub(crate) use setup_page;

/// The signed-in user, for the page header.
pub struct Nav {
    pub user: String,
    pub is_admin: bool,
}

impl Nav {
    pub fn of(user: &User) -> Nav {
        Nav {
            user: user.name.clone(),
            is_admin: user.is_admin,
        }
    }
}
