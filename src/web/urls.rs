//! The wizard's own addresses as the web layer builds and checks them: where
//! to go after sign-in, and a path put into a query.

/// Where to go after sign-in: only a path on this site. It is parsed as a URL
/// against a placeholder origin and must stay on it; tabs, backslashes and
/// line breaks (which browsers strip or turn into `/`) fall back to `/`.
pub fn safe_next(next: Option<&str>) -> String {
    const HERE: &str = "http://wizard.invalid/";
    let Some(n) = next else {
        return "/".into();
    };
    if !n.starts_with('/') || n.starts_with("//") || n.chars().any(|c| c.is_control() || c == '\\')
    {
        return "/".into();
    }
    let Ok(base) = url::Url::parse(HERE) else {
        return "/".into();
    };
    match base.join(n) {
        Ok(u) if u.origin() == base.origin() => u.as_str()[HERE.len() - 1..].to_string(),
        _ => "/".into(),
    }
}

/// Percent-encodes a path for a query value (keeps `/` readable).
pub fn encode(s: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    utf8_percent_encode(s, KEEP).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        for (n, want) in [
            ("/setups/a?b=1", "/setups/a?b=1"),
            ("/\t/evil.example", "/"),
            ("/\\evil", "/"),
            ("//evil", "/"),
            ("/a\r\nb", "/"),
            ("http://evil/", "/"),
        ] {
            assert_eq!(safe_next(Some(n)), want, "{n:?}");
        }
    }
}
