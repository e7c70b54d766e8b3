//! Parse-don't-validate types for every fact the wizard captures.
//!
//! Each `parse` returns either the canonical value or a message written for a
//! consultant ("what is wrong and how to fix it"). Nothing here knows HTTP.

mod approvers;
mod certificate;
mod hosts;
mod ids;
pub mod pasted;
mod service_key;

pub use approvers::{Approver, MAX_APPROVERS, parse_approvers};
pub use certificate::{TrustCertificate, certificate_in_words, check_cn};
pub use hosts::{IasHost, ReplicationUrl, S4Host, Saml2Audience, TokenServiceUrl, https_url};
pub use ids::{
    DestinationName, Guid, S4Client, account_password, bounded_text, comm_user_name,
    destination_label, global_user_id, password, pull_days, region, subdomain, technical_id,
    user_name,
};
pub use service_key::{
    CisKey, Credential, DestinationKey, ServiceKey, ServiceManagerKey,
    cross_check as check_key_subaccount,
};

/// A value that parsed, with notes the consultant should read but that do not
/// block saving (SAP facts marked "unconfirmed" become warnings, never errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked<T> {
    pub value: T,
    pub warnings: Vec<String>,
}

impl<T> Checked<T> {
    pub fn ok(value: T) -> Self {
        Self {
            value,
            warnings: Vec::new(),
        }
    }
    /// A value with what was noticed while reading it.
    pub fn noted(value: T, warnings: Vec<String>) -> Self {
        Self { value, warnings }
    }
    pub fn warn(mut self, w: impl Into<String>) -> Self {
        self.warnings.push(w.into());
        self
    }
}

/// The consultant-facing reason a value was rejected.
pub type Invalid = String;

/// Strip scheme, path, query and port from a pasted URL or host and lowercase it.
pub(crate) fn host_of(raw: &str) -> String {
    let host = authority(raw);
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// `host[:port]` of a pasted address: no scheme, user, path, query or fragment.
fn authority(raw: &str) -> &str {
    let s = raw.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let end = s.find(['/', '?', '#']).unwrap_or(s.len());
    let host = &s[..end];
    host.rsplit_once('@').map_or(host, |(_, h)| h)
}

/// The port written after the host, if any (`:443` in `https://h:443/x`).
pub(crate) fn port_of(raw: &str) -> Option<String> {
    authority(raw)
        .rsplit_once(':')
        .map(|(_, p)| p.to_string())
        .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// SAP's cloud hosts answer on the https port only: `:443` is dropped with a
/// word, any other port is refused with the reason.
pub(crate) fn check_port(raw: &str, what: &str) -> Result<Vec<String>, Invalid> {
    match port_of(raw).as_deref() {
        None => Ok(Vec::new()),
        Some("443") => Ok(vec![format!(
            "The {what} had :443, the standard https port; it is left out."
        )]),
        Some(p) => Err(format!(
            "The {what} has the port :{p}. SAP's cloud systems answer on the standard https port only; remove :{p} (copy the address from the browser's address bar)."
        )),
    }
}

/// Text that holds a private key or a client secret: never shown again on a
/// page, whatever field it was pasted into.
pub fn looks_secret(s: &str) -> bool {
    s.contains("PRIVATE KEY-----") || s.contains("\"clientsecret\"") || s.contains("\"password\"")
}

pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
