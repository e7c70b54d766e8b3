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

/// The BTP destination name: up to 64 characters since 2025-06-19 (16
/// before); over 64 puts the connector in Error (failure mode 8).
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
                "The destination name has {} characters; Task Center accepts at most 64 (over 64 the connector goes to Error)",
                s.len()
            ));
        }
        Ok(Checked::ok(DestinationName(s.into())))
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
    let ias_form = ias_uuid(s);
    // Braces and `urn:uuid:` S/4HANA would refuse (characters, 36 at most).
    if (s.starts_with('{') || s.len() > 36)
        && let Some(ias) = &ias_form
    {
        return Err(format!(
            "The Global User ID is a UUID written another way ({}), which S/4HANA does not accept; enter it as Identity Authentication gives it: {ias}",
            if s.starts_with('{') {
                "in braces"
            } else {
                "with urn:uuid:"
            }
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
    if is_uuid(s) {
        return Ok(out);
    }
    out = out.warn(match &ias_form {
        Some(ias) => format!(
            "\"{s}\" is an IAS user UUID written another way. Task Center compares the Global User ID with the IAS user UUID exactly: enter it as IAS gives it, {ias}."
        ),
        None => format!(
            "\"{s}\" is not an IAS user UUID. Task Center compares the Global User ID with the IAS user UUID exactly, so this approver gets no tasks unless it is the UUID (failure mode 6)."
        ),
    });
    Ok(out)
}

/// The IAS form (lowercase, hyphenated) of a UUID written another way: 32
/// hex digits, in braces, with `urn:uuid:`, or in capitals.
fn ias_uuid(s: &str) -> Option<String> {
    let t = s
        .trim_start_matches("urn:uuid:")
        .trim_start_matches("URN:UUID:");
    let t = t
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(t);
    let hex: String = t
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    let hyphens_fit = !t.contains('-') || t.len() == 36;
    if hex.len() != 32 || !hyphens_fit || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let form = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    (form != s).then_some(form)
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
        // 64 since 2025-06-19: a longer name than the old 16 is no warning.
        assert_eq!(
            DestinationName::parse("S4HANACloud_Production")
                .unwrap()
                .warnings
                .len(),
            0
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
        // The forms a UUID takes outside IAS: warned, or refused with the IAS form.
        let ias = "d1a6b3c2-0000-4000-8000-000000000001";
        for other in [
            "d1a6b3c2000040008000000000000001",
            "D1A6B3C2-0000-4000-8000-000000000001",
        ] {
            let c = global_user_id(other).unwrap();
            assert!(
                c.warnings
                    .iter()
                    .any(|w| w.contains(ias) && w.contains("exactly")),
                "{other}: {:?}",
                c.warnings
            );
        }
        let e = global_user_id("{d1a6b3c2-0000-4000-8000-000000000001}").unwrap_err();
        assert!(e.contains(ias) && e.contains("braces"), "{e}");
        let e = global_user_id("urn:uuid:d1a6b3c2-0000-4000-8000-000000000001").unwrap_err();
        assert!(e.contains(ias) && e.contains("urn:uuid:"), "{e}");
        assert!(global_user_id(ias).unwrap().warnings.is_empty());
        assert!(
            global_user_id("P000011")
                .unwrap()
                .warnings
                .iter()
                .any(|w| w.contains("not an IAS user UUID"))
        );
    }
}
