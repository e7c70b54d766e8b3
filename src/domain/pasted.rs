//! Characters that come along when a value is copied from a web page, a chat
//! or a mail: removed before any rule sees the value, and named in a notice.

use std::borrow::Cow;

/// Each invisible character the wizard removes or replaces, with its name.
const INVISIBLE: &[(char, &str, Option<char>)] = &[
    ('\u{200B}', "zero-width space", None),
    ('\u{200C}', "zero-width non-joiner", None),
    ('\u{200D}', "zero-width joiner", None),
    ('\u{2060}', "word joiner", None),
    ('\u{FEFF}', "byte-order mark", None),
    ('\u{00AD}', "soft hyphen", None),
    ('\u{200E}', "left-to-right mark", None),
    ('\u{200F}', "right-to-left mark", None),
    ('\u{00A0}', "no-break space", Some(' ')),
    ('\u{202F}', "narrow no-break space", Some(' ')),
    ('\u{2007}', "figure space", Some(' ')),
];

/// The value without invisible characters (no-break spaces become spaces)
/// and, when anything was changed, a sentence saying what, never the
/// characters themselves. `single_line` also names line breaks and tabs,
/// which a one-line field cannot hold (the trim that follows removes them at
/// the ends).
pub fn clean(raw: &str, single_line: bool) -> (Cow<'_, str>, Option<String>) {
    let visible_break = |c: char| single_line && matches!(c, '\n' | '\r' | '\t');
    if !raw
        .chars()
        .any(|c| visible_break(c) || INVISIBLE.iter().any(|(i, _, _)| *i == c))
    {
        return (Cow::Borrowed(raw), None);
    }
    let mut out = String::with_capacity(raw.len());
    let mut seen: Vec<(&str, usize)> = Vec::new();
    let mut count = |name: &'static str| match seen.iter_mut().find(|(n, _)| *n == name) {
        Some((_, k)) => *k += 1,
        None => seen.push((name, 1)),
    };
    for c in raw.chars() {
        if let Some((_, name, with)) = INVISIBLE.iter().find(|(i, _, _)| *i == c) {
            count(name);
            if let Some(w) = with {
                out.push(*w);
            }
        } else if visible_break(c) {
            count(if c == '\t' { "tab" } else { "line break" });
            if out.trim_end().len() == out.len() && !out.is_empty() {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    let names: Vec<String> = seen
        .iter()
        .map(|(n, k)| {
            if *k == 1 {
                format!("a {n}")
            } else {
                format!("{k} × {n}")
            }
        })
        .collect();
    let note = format!(
        "removed {} that came with the copied text (invisible on the page; the value is kept without {}).",
        names.join(", "),
        if seen.len() == 1 && seen[0].1 == 1 {
            "it"
        } else {
            "them"
        }
    );
    (Cow::Owned(out), Some(note))
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn invisible_characters_are_removed_and_named_never_shown() {
        let (v, note) = clean("\u{200B}my410000-api.s4hana.cloud.sap\u{00A0}\n", true);
        assert_eq!(v.trim(), "my410000-api.s4hana.cloud.sap");
        let note = note.unwrap_or_default();
        assert!(
            note.contains("zero-width space")
                && note.contains("no-break space")
                && note.contains("line break"),
            "{note}"
        );
        assert!(!note.contains('\u{200B}') && !note.contains('\u{00A0}'));
        let (v, note) = clean("SAP\u{00A0}S/4HANA Cloud", true);
        assert_eq!(v, "SAP S/4HANA Cloud");
        assert!(note.is_some());
        let (v, note) = clean("plain value", true);
        assert!(matches!(v, std::borrow::Cow::Borrowed(_)) && note.is_none());
        // Several lines are what a Lines field holds: only invisible ones go.
        let (v, note) = clean("a@x.com\nb@x.com\u{200B}", false);
        assert_eq!(v, "a@x.com\nb@x.com");
        assert!(note.is_some_and(|n| !n.contains("line break")));
    }
}
