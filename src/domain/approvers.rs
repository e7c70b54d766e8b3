//! The approvers list as consultants paste it: one per line, a mail client's
//! `Name <e-mail>; ...`, or a spreadsheet's CSV with a header row.

use super::{Checked, Invalid, global_user_id};

/// One approver: an e-mail address and, once known, the Global User ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    pub email: String,
    pub global_user_id: Option<String>,
}

/// More than any customer's approvers; look-ups and SCIM writes for them run
/// bounded in the background, and the stored list is about 70 bytes each.
pub const MAX_APPROVERS: usize = 25_000;

/// How many warnings about single IDs are listed before "and N more".
const LISTED: usize = 5;

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

/// A line's cells: split at `,` `;` or tab outside double quotes and `<...>`.
fn cells(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut angled, mut start) = (false, false, 0);
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angled = true,
            '>' if !quoted => angled = false,
            ',' | ';' | '\t' if !quoted && !angled => {
                out.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&line[start..]);
    out
}

/// The address in `Name <e-mail>`, `"Smith, Ann" <e-mail>` or a bare one,
/// and whether a display name came with it.
fn address(cell: &str) -> (&str, bool) {
    let cell = cell.trim().trim_matches('"').trim();
    if let (Some(a), Some(b)) = (cell.rfind('<'), cell.rfind('>'))
        && a < b
    {
        return (cell[a + 1..b].trim(), !cell[..a].trim().is_empty());
    }
    match cell.split_whitespace().find(|w| w.contains('@')) {
        Some(w) if w != cell => (w.trim_matches(|c| c == '(' || c == ')'), true),
        _ => (cell, false),
    }
}

/// Which columns of a CSV header hold the address and the Global User ID.
fn header(line: &str) -> Option<(usize, Option<usize>, usize)> {
    if line.contains('@') {
        return None;
    }
    let names: Vec<String> = cells(line)
        .iter()
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let mail = names.iter().position(|n| n.contains("mail"))?;
    let id = names.iter().position(|n| {
        n.contains("global") || n.contains("uuid") || n == "user id" || n == "userid"
    });
    Some((mail, id, names.len()))
}

#[derive(Default)]
struct Dropped {
    header: bool,
    names: usize,
    columns: usize,
    duplicates: Vec<String>,
}

/// The approvers, one per e-mail address (compared without regard to case).
/// What was left out (a header row, display names, other columns, the same
/// person twice) is said in a warning; errors name the line.
pub fn parse_approvers(raw: &str) -> Result<Checked<Vec<Approver>>, Invalid> {
    let mut out: Checked<Vec<Approver>> = Checked::ok(Vec::new());
    let mut seen = std::collections::HashMap::new();
    let mut dropped = Dropped::default();
    let mut id_notes: Vec<String> = Vec::new();
    let mut lines = raw
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .peekable();
    let columns = match lines.peek() {
        Some((_, first)) => header(first),
        None => None,
    };
    if columns.is_some() {
        lines.next();
        dropped.header = true;
    }
    for (i, line) in lines {
        let at = |e: String| format!("Line {}: {e}", i + 1);
        // (address, Global User ID) pairs of this line.
        let mut people: Vec<(String, Option<String>)> = Vec::new();
        let row = cells(line);
        if let Some((mail, id, width)) = columns {
            let cell = row.get(mail).copied().unwrap_or("");
            let (a, named) = address(cell);
            if a.is_empty() {
                continue;
            }
            dropped.names += usize::from(named);
            dropped.columns = dropped
                .columns
                .max(width.saturating_sub(1 + usize::from(id.is_some())));
            let id = id
                .and_then(|c| row.get(c))
                .map(|c| c.trim().trim_matches('"').trim())
                .filter(|c| !c.is_empty());
            people.push((email(a).map_err(at)?, id.map(str::to_string)));
        } else {
            for cell in row.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
                let (a, named) = address(cell);
                if a.contains('@') {
                    dropped.names += usize::from(named);
                    people.push((email(a).map_err(at)?, None));
                } else if let Some(last) = people.last_mut().filter(|p| p.1.is_none()) {
                    last.1 = Some(cell.trim_matches('"').to_string());
                } else if people.is_empty() && cell.contains(char::is_whitespace) {
                    // "Smith, Ann <ann@...>" unquoted: the name before the address.
                    dropped.names += 1;
                } else {
                    return Err(at(format!(
                        "\"{cell}\" is neither an e-mail address nor the Global User ID of the address before it"
                    )));
                }
            }
        }
        for (mail, id) in people {
            let id = match id {
                Some(id) => {
                    let c = global_user_id(&id).map_err(at)?;
                    id_notes.extend(
                        c.warnings
                            .into_iter()
                            .map(|w| format!("line {}: {w}", i + 1)),
                    );
                    Some(c.value)
                }
                None => None,
            };
            match seen.get(&mail).copied() {
                Some(k) => {
                    let first: &mut Approver = &mut out.value[k];
                    match (&first.global_user_id, id) {
                        (Some(a), Some(b)) if *a != b => {
                            return Err(at(format!(
                                "{mail} is listed twice with different Global User IDs ({a} and {b}); keep the right one"
                            )));
                        }
                        (None, Some(b)) => first.global_user_id = Some(b),
                        _ => {}
                    }
                    dropped.duplicates.push(mail);
                }
                None => {
                    if out.value.len() == MAX_APPROVERS {
                        return Err(format!(
                            "Enter at most {MAX_APPROVERS} approvers; for more, maintain the Global User IDs through Identity Provisioning"
                        ));
                    }
                    seen.insert(mail.clone(), out.value.len());
                    out.value.push(Approver {
                        email: mail,
                        global_user_id: id,
                    });
                }
            }
        }
    }
    if out.value.is_empty() {
        return Err("Enter at least one approver's e-mail address".into());
    }
    let mut left = Vec::new();
    if dropped.header {
        left.push("the header row".to_string());
    }
    if dropped.names > 0 {
        left.push(format!(
            "{} display name(s) (their e-mail addresses were kept)",
            dropped.names
        ));
    }
    if dropped.columns > 0 {
        left.push(format!("{} other column(s)", dropped.columns));
    }
    if !dropped.duplicates.is_empty() {
        let n = dropped.duplicates.len();
        dropped.duplicates.truncate(LISTED);
        left.push(format!(
            "{n} duplicate(s), the same person again ({}{})",
            dropped.duplicates.join(", "),
            if n > LISTED { ", ..." } else { "" }
        ));
    }
    if !left.is_empty() {
        out.warnings.push(format!(
            "Kept {} approver(s), one per e-mail address; left out {}.",
            out.value.len(),
            left.join(", ")
        ));
    }
    let n = id_notes.len();
    if n > 0 {
        id_notes.truncate(LISTED);
        let more = if n > LISTED {
            format!(" (and {} more)", n - LISTED)
        } else {
            String::new()
        };
        out.warnings
            .push(format!("Global User IDs: {}{more}", id_notes.join(" ")));
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

    const ID: &str = "d1a6b3c2-0000-4000-8000-000000000001";

    fn mails(c: &Checked<Vec<Approver>>) -> Vec<&str> {
        c.value.iter().map(|a| a.email.as_str()).collect()
    }

    #[test]
    fn one_per_line_with_ids() {
        let a = parse_approvers(&format!("anna@acme.com, {ID}\n\nbob@acme.com")).unwrap();
        assert_eq!(mails(&a), ["anna@acme.com", "bob@acme.com"]);
        assert_eq!(a.value[0].global_user_id.as_deref(), Some(ID));
        assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
        let e = parse_approvers("anna@acme.com\nnot-an-address").unwrap_err();
        assert!(e.starts_with("Line 2"), "{e}");
    }

    #[test]
    fn a_mail_clients_list_keeps_the_addresses() {
        let a = parse_approvers(
            "Anna Berg <anna@acme.com>; \"Smith, Bob\" <bob@acme.com>, carol@acme.com;Dan (IT) <dan@acme.com>",
        )
        .unwrap();
        assert_eq!(
            mails(&a),
            [
                "anna@acme.com",
                "bob@acme.com",
                "carol@acme.com",
                "dan@acme.com"
            ]
        );
        assert!(
            a.warnings[0].contains("3 display name(s)"),
            "{:?}",
            a.warnings
        );
    }

    #[test]
    fn a_spreadsheets_csv_by_its_header() {
        let a = parse_approvers(&format!(
            "Name,E-Mail,Department,Global User ID\nAnna Berg,anna@acme.com,Sales,{ID}\nBob,bob@acme.com,IT,\n"
        ))
        .unwrap();
        assert_eq!(mails(&a), ["anna@acme.com", "bob@acme.com"]);
        assert_eq!(a.value[0].global_user_id.as_deref(), Some(ID));
        assert!(
            a.warnings[0].contains("the header row") && a.warnings[0].contains("2 other column(s)"),
            "{:?}",
            a.warnings
        );
    }

    #[test]
    fn the_same_person_twice_is_kept_once_and_said() {
        let a =
            parse_approvers(&format!("anna@acme.com\nAnna@Acme.COM, {ID}\nbob@acme.com")).unwrap();
        assert_eq!(mails(&a), ["anna@acme.com", "bob@acme.com"]);
        assert_eq!(
            a.value[0].global_user_id.as_deref(),
            Some(ID),
            "the ID the second line had"
        );
        assert!(
            a.warnings[0].contains("1 duplicate(s)") && a.warnings[0].contains("anna@acme.com"),
            "{:?}",
            a.warnings
        );
        let e = parse_approvers(&format!(
            "anna@acme.com, {ID}\nanna@acme.com, d1a6b3c2-0000-4000-8000-000000000002"
        ))
        .unwrap_err();
        assert!(
            e.starts_with("Line 2") && e.contains("different Global User IDs"),
            "{e}"
        );
    }

    #[test]
    fn large_customers_fit() {
        let list: String = (0..10_000).map(|i| format!("user{i}@acme.com\n")).collect();
        let a = parse_approvers(&list).unwrap();
        assert_eq!(a.value.len(), 10_000);
        let too_many: String = (0..=MAX_APPROVERS)
            .map(|i| format!("u{i}@acme.com\n"))
            .collect();
        assert!(parse_approvers(&too_many).unwrap_err().contains("at most"));
    }
}
