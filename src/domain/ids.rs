//! Identifiers, names and small values: clients, regions, UUIDs, user IDs.

use super::{Checked, Invalid, is_dns_label};

/// The S/4HANA client, exactly three digits (`100`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S4Client(pub String);
impl S4Client {
    pub fn parse(raw: &str) -> Result<Checked<S4Client>, Invalid> {
        let s = raw.trim();
        if s.len() == 3 && s.chars().all(|c| c.is_ascii_digit()) {
            Ok(Checked::ok(S4Client(s.into())))
        } else {
            Err("Enter the client as 3 digits, for example 100".into())
        }
    }
}

/// A BTP region such as `eu10`, `us10` or `eu10-004`.
pub fn region(raw: &str) -> Result<Checked<String>, Invalid> {
    let s = raw.trim().to_ascii_lowercase();
    let (base, ext) = s.split_once('-').unwrap_or((&s, ""));
    let letters = base.chars().take_while(|c| c.is_ascii_lowercase()).count();
    let digits = &base[letters..];
    let ok = (2..=3).contains(&letters)
        && (2..=3).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && (ext.is_empty() || (ext.len() == 3 && ext.chars().all(|c| c.is_ascii_digit())));
    if ok {
        Ok(Checked::ok(s))
    } else {
        Err("Enter the region as it appears in the BTP cockpit, for example eu10 or us10".into())
    }
}

/// The subaccount subdomain: lowercase letters, digits and hyphens.
pub fn subdomain(raw: &str) -> Result<Checked<String>, Invalid> {
    let s = raw.trim().to_ascii_lowercase();
    if is_dns_label(&s) {
        Ok(Checked::ok(s))
    } else {
        Err("Enter the subdomain from the subaccount overview: lowercase letters, digits and hyphens, not starting or ending with a hyphen".into())
    }
}

/// A UUID, stored lowercase (`7739e1a2-...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guid(pub String);
impl Guid {
    pub fn parse(raw: &str, what: &str) -> Result<Checked<Guid>, Invalid> {
        let s = raw.trim().to_ascii_lowercase();
        if is_uuid(&s) {
            Ok(Checked::ok(Guid(s)))
        } else {
            Err(format!(
                "Enter the {what} as a UUID: 36 characters like 7739e1a2-0c4b-4f4e-9a51-2a8b3c4d5e6f"
            ))
        }
    }
}

pub(crate) fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| {
            g.len() == n
                && g.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        })
}

/// The BTP destination name. Up to 16 safe characters works everywhere; SAP
/// raised the limit to 64 but longer names are known to put the connector in Error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationName(pub String);
impl DestinationName {
    pub fn parse(raw: &str) -> Result<Checked<DestinationName>, Invalid> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("Enter a destination name, for example S4HANACloud".into());
        }
        if let Some(bad) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            return Err(format!(
                "The destination name can only use letters, digits, _ and -; remove \"{bad}\""
            ));
        }
        if s.len() > 64 {
            return Err(format!(
                "The destination name has {} characters; use at most 16",
                s.len()
            ));
        }
        let mut out = Checked::ok(DestinationName(s.into()));
        if s.len() > 16 {
            out = out.warn(format!(
                "The name has {} characters. Task Center connectors are known to fail with names over 16 characters; shorten it unless you are sure.",
                s.len()
            ));
        }
        Ok(out)
    }
}

/// Free text with length bounds (`what` names the field in messages).
pub fn bounded_text(raw: &str, what: &str, max: usize) -> Result<Checked<String>, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(format!("Enter the {what}"));
    }
    if s.chars().count() > max {
        return Err(format!("The {what} must be {max} characters or fewer"));
    }
    if s.chars().any(char::is_control) {
        return Err(format!("The {what} cannot contain line breaks or tabs"));
    }
    Ok(Checked::ok(s.into()))
}

/// A label shown in Task Center (tc.ui.label): any text up to 100 characters.
pub fn destination_label(raw: &str) -> Result<Checked<String>, Invalid> {
    bounded_text(raw, "label", 100)
}

/// IDs typed into S/4HANA (system ID, arrangement name): letters, digits, `_`.
pub fn technical_id(raw: &str, what: &str) -> Result<Checked<String>, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(format!("Enter the {what}"));
    }
    if s.len() > 40 {
        return Err(format!("The {what} must be 40 characters or fewer"));
    }
    if let Some(bad) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "The {what} can only use letters, digits, _ and -; remove \"{bad}\""
        ));
    }
    let mut out = Checked::ok(s.to_string());
    if s.chars().any(|c| c.is_ascii_lowercase()) {
        out = out.warn(format!(
            "S/4HANA shows the {what} in capitals; type it exactly as S/4HANA displays it."
        ));
    }
    Ok(out)
}

/// The communication user's name, e.g. `TASKCENTERCOM`.
pub fn comm_user_name(raw: &str) -> Result<Checked<String>, Invalid> {
    technical_id(raw, "communication user name")
}

/// A password for the communication user. S/4HANA's own rules are not
/// published consistently, so only the basics are errors.
pub fn password(raw: &str) -> Result<Checked<String>, Invalid> {
    if raw.is_empty() {
        return Err("Enter the communication user's password".into());
    }
    if raw.trim() != raw {
        return Err("The password starts or ends with a space; remove it".into());
    }
    if raw.chars().count() < 8 {
        return Err("The password must be at least 8 characters".into());
    }
    let mut out = Checked::ok(raw.to_string());
    if raw.chars().count() < 20 {
        out =
            out.warn("Passwords of 20 or more characters are recommended for communication users.");
    }
    if raw.chars().any(|c| !c.is_ascii_alphanumeric()) {
        out = out.warn("Special characters are a known source of trouble when the password is copied into destinations; consider letters and digits only.");
    }
    Ok(out)
}

/// `tc.inbox.pull.days`: 0 to 180.
pub fn pull_days(raw: &str) -> Result<Checked<String>, Invalid> {
    match raw.trim().parse::<u16>() {
        Ok(n) if n <= 180 => Ok(Checked::ok(n.to_string())),
        _ => Err("Enter the number of days as a whole number from 0 to 180".into()),
    }
}

/// A Global User ID: an SAP-generated lowercase UUID, or a customer ID of at
/// most 36 characters of `[0-9A-Za-z+-_/:.]`.
pub fn global_user_id(raw: &str) -> Result<Checked<String>, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("Enter the Global User ID".into());
    }
    if s.contains('@') {
        return Err(format!(
            "\"{s}\" looks like an e-mail address; the Global User ID is the user's UUID from Identity Authentication"
        ));
    }
    if s.len() > 36 {
        return Err(format!(
            "The Global User ID \"{s}\" is longer than 36 characters"
        ));
    }
    if let Some(bad) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+-_/:.".contains(*c)))
    {
        return Err(format!(
            "The Global User ID \"{s}\" contains \"{bad}\", which is not allowed"
        ));
    }
    let mut out = Checked::ok(s.to_string());
    if s.len() == 36 && !is_uuid(s) && is_uuid(&s.to_ascii_lowercase()) {
        out = out.warn(format!(
            "\"{s}\" is a UUID in capitals; SAP-generated IDs are lowercase, and the comparison is exact."
        ));
    }
    Ok(out)
}

/// A wizard user name: 2 to 40 of `a-z 0-9 . _ -`, stored lowercase.
pub fn user_name(raw: &str) -> Result<Checked<String>, Invalid> {
    let s = raw.trim().to_ascii_lowercase();
    let ok = (2..=40).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c));
    if ok {
        Ok(Checked::ok(s))
    } else {
        Err("Enter a user name of 2 to 40 letters, digits, dots, hyphens or underscores".into())
    }
}

/// A new password for a wizard account.
pub fn account_password(raw: &str) -> Result<Checked<String>, Invalid> {
    if raw.chars().count() < 12 {
        return Err("Enter a password of at least 12 characters".into());
    }
    if raw.len() > 512 {
        return Err("Enter a password of at most 512 characters".into());
    }
    Ok(Checked::ok(raw.to_string()))
}

/// One approver: an e-mail address and, once known, the Global User ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    pub email: String,
    pub global_user_id: Option<String>,
}

fn email(s: &str) -> Result<String, Invalid> {
    let (local, domain) = s.split_once('@').unwrap_or(("", ""));
    if local.is_empty()
        || !domain.contains('.')
        || s.contains(char::is_whitespace)
        || domain.contains('@')
    {
        return Err(format!("\"{s}\" is not an e-mail address"));
    }
    Ok(s.to_ascii_lowercase())
}

/// Lines of `e-mail[, Global User ID]`. Errors name the line.
pub fn parse_approvers(raw: &str) -> Result<Checked<Vec<Approver>>, Invalid> {
    let mut out = Checked::ok(Vec::new());
    for (i, line) in raw.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.splitn(2, [',', ';', '\t']);
        let mail = parts.next().unwrap_or("").trim();
        let email = email(mail).map_err(|e| format!("Line {}: {e}", i + 1))?;
        if out.value.iter().any(|a: &Approver| a.email == email) {
            return Err(format!("Line {}: {email} is listed twice", i + 1));
        }
        let global_user_id = match parts.next().map(str::trim).filter(|s| !s.is_empty()) {
            Some(id) => {
                let c = global_user_id(id).map_err(|e| format!("Line {}: {e}", i + 1))?;
                out.warnings.extend(c.warnings);
                Some(c.value)
            }
            None => None,
        };
        out.value.push(Approver {
            email,
            global_user_id,
        });
    }
    if out.value.is_empty() {
        return Err("Enter at least one approver's e-mail address".into());
    }
    if out.value.len() > 500 {
        return Err("Enter at most 500 approvers; upload larger lists in S/4HANA directly".into());
    }
    let missing = out
        .value
        .iter()
        .filter(|a| a.global_user_id.is_none())
        .count();
    if missing > 0 {
        out = out.warn(format!(
            "{missing} approver(s) have no Global User ID yet; their tasks will not reach them until it is maintained."
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_values() {
        assert!(S4Client::parse("100").is_ok());
        assert!(S4Client::parse("10").is_err());
        assert!(S4Client::parse("1a0").is_err());
        assert_eq!(region(" EU10 ").unwrap().value, "eu10");
        assert!(region("eu10-004").is_ok());
        assert!(region("europe").is_err());
        assert!(subdomain("acme-dev").is_ok());
        assert!(subdomain("-acme").is_err());
        assert!(subdomain("acme_dev").is_err());
        assert_eq!(
            Guid::parse("7739E1A2-0C4B-4F4E-9A51-2A8B3C4D5E6F", "ID")
                .unwrap()
                .value
                .0,
            "7739e1a2-0c4b-4f4e-9a51-2a8b3c4d5e6f"
        );
        assert!(Guid::parse("7739e1a2", "ID").is_err());
        assert!(pull_days("180").is_ok());
        assert!(pull_days("181").is_err());
    }

    #[test]
    fn destination_name_rules() {
        assert!(
            DestinationName::parse("S4HANACloud")
                .unwrap()
                .warnings
                .is_empty()
        );
        assert_eq!(
            DestinationName::parse("S4HANACloud_Production")
                .unwrap()
                .warnings
                .len(),
            1
        );
        assert!(DestinationName::parse("S4 HANA").is_err());
        assert!(DestinationName::parse(&"a".repeat(65)).is_err());
        assert!(DestinationName::parse("").is_err());
    }

    #[test]
    fn global_ids_and_approvers() {
        assert!(global_user_id("d1a6b3c2-0000-4000-8000-000000000001").is_ok());
        assert!(global_user_id("P000011").is_ok());
        assert!(global_user_id("a@b.com").is_err());
        assert!(global_user_id(&"x".repeat(37)).is_err());
        let a =
            parse_approvers("anna@acme.com, d1a6b3c2-0000-4000-8000-000000000001\n\nbob@acme.com")
                .unwrap();
        assert_eq!(a.value.len(), 2);
        assert_eq!(a.warnings.len(), 1);
        let e = parse_approvers("anna@acme.com\nnot-an-address").unwrap_err();
        assert!(e.starts_with("Line 2"), "{e}");
    }
}
