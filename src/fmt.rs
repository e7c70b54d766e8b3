//! Small display helpers shared by pages, reports and messages.

/// `2026-11-23` for a Unix time (UTC).
pub fn date(ts: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ts) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        Err(_) => ts.to_string(),
    }
}

/// `2026-11-23 08:41 UTC` for a Unix time.
pub fn date_time(ts: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ts) {
        Ok(t) => format!("{} {:02}:{:02} UTC", date(ts), t.hour(), t.minute()),
        Err(_) => ts.to_string(),
    }
}

/// `2026-11-23T08:41:05Z` for a Unix time.
pub fn iso(ts: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ts) {
        Ok(t) => format!(
            "{}T{:02}:{:02}:{:02}Z",
            date(ts),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => ts.to_string(),
    }
}

/// Current Unix time in seconds.
/// A size as people say it: 800 bytes, 12 KB, 3.1 MB.
pub fn bytes(n: usize) -> String {
    match n {
        n if n < 1024 => format!("{n} bytes"),
        n if n < 1024 * 1024 => format!("{} KB", n / 1024),
        n => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Show at most the last 4 characters of a secret, and only for long ones.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n >= 12 {
        let tail: String = secret.chars().skip(n - 4).collect();
        format!("••••••••{tail}")
    } else {
        "••••••••".to_string()
    }
}
