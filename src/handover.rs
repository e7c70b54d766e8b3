//! Handover formats: the destination as a Java properties file or JSON, the
//! Markdown report, and a setup's export / import (secrets only on request,
//! then encrypted with a passphrase). Pure functions: no HTTP, no SQL.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

/// Properties that are secrets: never written to files, only noted.
pub const SECRET_PROPERTIES: &[&str] = &["tokenServicePassword"];

fn escape(s: &str, key: bool, out: &mut String) {
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            ':' => out.push_str("\\:"),
            '=' => out.push_str("\\="),
            '#' => out.push_str("\\#"),
            '!' => out.push_str("\\!"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' ' if key || i == 0 => out.push_str("\\ "),
            c if (c as u32) < 0x20 || (c as u32) > 0xFF => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
}

/// The destination for "Create > From File": Java properties in ISO-8859-1.
/// Secrets become comment lines telling what to type in the cockpit.
pub fn properties(props: &[(&str, String)], heading: &str) -> Vec<u8> {
    let mut text = String::new();
    for line in heading.lines() {
        text.push_str("# ");
        escape(line, false, &mut text);
        text.push('\n');
    }
    for (k, v) in props {
        if SECRET_PROPERTIES.contains(k) {
            text.push_str(&format!("# {k}= (not exported: enter the communication user's password in the BTP cockpit)\n"));
            continue;
        }
        escape(k, true, &mut text);
        text.push('=');
        escape(v, false, &mut text);
        text.push('\n');
    }
    // Every char is now ASCII or Latin-1, so each maps to one byte.
    text.chars().map(|c| c as u32 as u8).collect()
}

/// The destination as JSON for newer cockpits; secrets left out.
pub fn destination_json(props: &[(&str, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = props
        .iter()
        .filter(|(k, _)| !SECRET_PROPERTIES.contains(k))
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::to_string_pretty(&map).unwrap_or_default()
}

/// The columns of the Global User ID upload file. "Global User ID" is the
/// column SAP's documentation names for "Maintain Business Users"; the
/// e-mail column and the file's other details are [U] (step 6 says to compare
/// with the template the app offers before uploading).
pub const UPLOAD_COLUMNS: [&str; 2] = ["E-Mail Address", "Global User ID"];

/// The approvers with a Global User ID as CSV (RFC 4180: CRLF, quoted when
/// needed) for S/4HANA's business user upload.
/// A date the customer must act on: an all-day event on the day it falls,
/// reminded 60, 30 and 7 days before.
pub struct DateAhead {
    /// Stable within the setup, so importing the file again updates it.
    pub uid: String,
    pub day: i64,
    pub summary: String,
    pub description: String,
}

/// Days before an expiry that the calendar and the watch remind of.
pub const REMINDERS: [i64; 3] = [60, 30, 7];

/// The dates a setup's customer must act on: the trust certificate's
/// expiry and, for X.509 keys (Task Center's, the push channel's), their
/// certificates'.
pub fn dates_ahead(id: &str, name: &str, at: impl Fn(&str) -> Option<i64>) -> Vec<DateAhead> {
    let mut out = Vec::new();
    if let Some(day) = at("cert_not_after") {
        out.push(DateAhead {
            uid: format!("{id}-trust-certificate@taskcenter-wizard"),
            day,
            summary: format!("{name}: the BTP trust certificate expires"),
            description: "Renew it in the BTP cockpit (Connectivity > Destination Trust) or on the wizard's trust page, then upload the new certificate to the S/4HANA communication system: the SAML issuer stays the same. Until S/4HANA has it, no task reaches Task Center.".into(),
        });
    }
    if let Some(day) = at("sk_cert_not_after") {
        out.push(DateAhead {
            uid: format!("{id}-task-center-key@taskcenter-wizard"),
            day,
            summary: format!("{name}: the Task Center key's client certificate expires"),
            description: "Create a new service key (credential type x509) for the Task Center instance and paste it on step 3.1; then delete the old key.".into(),
        });
    }
    if let Some(day) = at("push_cert_not_after") {
        out.push(DateAhead {
            uid: format!("{id}-push-key@taskcenter-wizard"),
            day,
            summary: format!("{name}: the push key's client certificate expires"),
            description: "Create a new key (credential type x509) for the push channel's instance and paste it on step 3.1, give S/4HANA's outbound user its certificate (outbound.p12), check that tasks are pushed, and only then delete the old key.".into(),
        });
    }
    out
}

/// The reminder due at `now` that was not due at the last run: the date
/// with the fewest days left whose 60-, 30- or 7-day mark fell between.
pub fn reminder_due(dates: &[DateAhead], last_run: Option<i64>, now: i64) -> Option<String> {
    let passed = |at: i64, day: i64| {
        REMINDERS
            .iter()
            .filter(|d| day - at <= **d * 86_400)
            .count()
    };
    dates
        .iter()
        .filter(|d| d.day > now)
        .filter(|d| last_run.is_some_and(|then| passed(now, d.day) > passed(then, d.day)))
        .min_by_key(|d| d.day)
        .map(|d| {
            format!(
                "Reminder: {} in {} days ({}).",
                d.summary,
                (d.day - now) / 86_400,
                crate::fmt::date(d.day)
            )
        })
}

/// RFC 5545 TEXT: backslash, semicolon, comma and line breaks escaped.
fn ics_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// RFC 5545 3.1: lines of at most 75 octets, folded with CRLF and a space,
/// never inside a UTF-8 character.
fn ics_line(line: &str, out: &mut String) {
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
}

/// An iCalendar file (RFC 5545) of the dates ahead, for the customer's and
/// the consultant's calendars.
pub fn calendar(name: &str, dates: &[DateAhead], now: i64) -> Vec<u8> {
    let day = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .map(|d| format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day()))
            .unwrap_or_default()
    };
    let stamp = time::OffsetDateTime::from_unix_timestamp(now)
        .map(|d| {
            format!(
                "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
                d.year(),
                u8::from(d.month()),
                d.day(),
                d.hour(),
                d.minute(),
                d.second()
            )
        })
        .unwrap_or_default();
    let mut out = String::new();
    let mut line = |l: String| ics_line(&l, &mut out);
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//taskcenter-wizard//SAP Task Center setup//EN".into());
    line("CALSCALE:GREGORIAN".into());
    // NAME is RFC 7986's; X-WR-CALNAME what most calendar programs read.
    let title = ics_text(&format!("SAP Task Center: {name}"));
    line(format!("NAME:{title}"));
    line(format!("X-WR-CALNAME:{title}"));
    for d in dates {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}", ics_text(&d.uid)));
        line(format!("DTSTAMP:{stamp}"));
        line(format!("DTSTART;VALUE=DATE:{}", day(d.day)));
        line(format!("DTEND;VALUE=DATE:{}", day(d.day + 86_400)));
        line(format!("SUMMARY:{}", ics_text(&d.summary)));
        line(format!("DESCRIPTION:{}", ics_text(&d.description)));
        line("TRANSP:TRANSPARENT".into());
        for before in REMINDERS {
            line("BEGIN:VALARM".into());
            line("ACTION:DISPLAY".into());
            line(format!("TRIGGER:-P{before}D"));
            line(format!(
                "DESCRIPTION:{}",
                ics_text(&format!("In {before} days: {}", d.summary))
            ));
            line("END:VALARM".into());
        }
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out.into_bytes()
}

pub fn global_user_ids_csv(rows: &[(String, String)]) -> Vec<u8> {
    let cell = |v: &str| {
        if v.contains([',', '"', '\r', '\n', ';']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.to_string()
        }
    };
    let mut out = UPLOAD_COLUMNS.map(cell).join(",");
    out.push_str("\r\n");
    for (email, id) in rows {
        out.push_str(&format!("{},{}\r\n", cell(email), cell(id)));
    }
    out.into_bytes()
}

pub const EXPORT_FORMAT: &str = "taskcenter-wizard/setup/2";
/// Format 1 kept some answers on other pages (`playbook::layout`); its
/// answers are moved on import.
const READS: &[&str] = &["taskcenter-wizard/setup/1", EXPORT_FORMAT];

#[derive(Debug, Serialize, Deserialize)]
pub struct ExportPage {
    pub data: BTreeMap<String, String>,
    pub basis: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SealedSecrets {
    pub kdf: String,
    pub salt: String,
    pub nonce: String,
    pub ciphertext: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Export {
    pub format: String,
    pub name: String,
    pub exported_at: i64,
    /// Answers without secrets.
    pub pages: BTreeMap<String, ExportPage>,
    /// page -> key -> secret, encrypted with a passphrase; absent unless asked for.
    pub secrets: Option<SealedSecrets>,
}

type SecretMap = BTreeMap<String, BTreeMap<String, String>>;

fn key_from(passphrase: &str, salt: &[u8]) -> anyhow::Result<XChaCha20Poly1305> {
    let key = crate::store::hashing::derive_key(passphrase, salt)?;
    XChaCha20Poly1305::new_from_slice(&key).map_err(|_| anyhow::anyhow!("bad key"))
}

pub fn seal(secrets: &SecretMap, passphrase: &str) -> anyhow::Result<SealedSecrets> {
    let (mut salt, mut nonce) = ([0u8; 16], [0u8; 24]);
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("{e}"))?;
    getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("{e}"))?;
    let plain = serde_json::to_vec(secrets)?;
    let ct = key_from(passphrase, &salt)?
        .encrypt(&XNonce::from(nonce), plain.as_slice())
        .map_err(|_| anyhow::anyhow!("encryption failed"))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(SealedSecrets {
        kdf: "argon2id".into(),
        salt: b64.encode(salt),
        nonce: b64.encode(nonce),
        ciphertext: b64.encode(ct),
    })
}

/// Why an import failed, for the person importing.
pub fn open(sealed: &SealedSecrets, passphrase: &str) -> Result<SecretMap, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let (Ok(salt), Ok(nonce), Ok(ct)) = (
        b64.decode(&sealed.salt),
        b64.decode(&sealed.nonce),
        b64.decode(&sealed.ciphertext),
    ) else {
        return Err("The file's secrets section is damaged.".into());
    };
    let nonce: [u8; 24] = nonce
        .try_into()
        .map_err(|_| "The file's secrets section is damaged.".to_string())?;
    let cipher = key_from(passphrase, &salt).map_err(|e| e.to_string())?;
    let plain = cipher
        .decrypt(&XNonce::from(nonce), ct.as_slice())
        .map_err(|_| {
            "The passphrase does not open this file's secrets. Check it, or import without secrets."
                .to_string()
        })?;
    serde_json::from_slice(&plain).map_err(|_| "The file's secrets section is damaged.".to_string())
}

/// A whole customer: its systems' setups, each as a setup's export (issue 23).
pub const CUSTOMER_FORMAT: &str = "taskcenter-wizard/customer/1";

#[derive(Debug, Serialize, Deserialize)]
pub struct CustomerExport {
    pub format: String,
    pub name: String,
    pub exported_at: i64,
    pub setups: Vec<Export>,
}

/// An exported file: one setup, or a customer with its setups.
pub enum Exported {
    Setup(Export),
    Customer(CustomerExport),
}

pub fn parse_exported(bytes: &[u8]) -> anyhow::Result<Exported> {
    #[derive(Deserialize)]
    struct Head {
        format: String,
    }
    let head: Head = serde_json::from_slice(bytes)
        .context("this is not a setup exported by the wizard (not its JSON format)")?;
    if head.format != CUSTOMER_FORMAT {
        return parse_export(bytes).map(Exported::Setup);
    }
    let c: CustomerExport = serde_json::from_slice(bytes)
        .context("this customer file is not complete (not its JSON format)")?;
    if let Some(bad) = c
        .setups
        .iter()
        .find(|e| !READS.contains(&e.format.as_str()))
    {
        bail!(
            "a system in this file has format {:?}; the wizard reads {}",
            bad.format,
            READS.join(" and ")
        );
    }
    Ok(Exported::Customer(c))
}

pub fn parse_export(bytes: &[u8]) -> anyhow::Result<Export> {
    let e: Export = serde_json::from_slice(bytes)
        .context("this is not a setup exported by the wizard (not its JSON format)")?;
    if !READS.contains(&e.format.as_str()) {
        bail!(
            "this file has format {:?}; the wizard reads {}",
            e.format,
            READS.join(" and ")
        );
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_file_is_rfc_4180() {
        let csv = global_user_ids_csv(&[
            (
                "anna@acme.example".into(),
                "8a1e0f1c-2b3d-4e5f-9a0b-1c2d3e4f5a6b".into(),
            ),
            ("odd,\"name\"@acme.example".into(), "X".into()),
        ]);
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "E-Mail Address,Global User ID\r\nanna@acme.example,8a1e0f1c-2b3d-4e5f-9a0b-1c2d3e4f5a6b\r\n\"odd,\"\"name\"\"@acme.example\",X\r\n"
        );
    }

    #[test]
    fn a_reminder_is_due_once_at_each_mark_before_an_expiry() {
        let day = 86_400;
        let expiry = 100 * day;
        let dates = dates_ahead("s", "ACME", |k| (k == "cert_not_after").then_some(expiry));
        assert_eq!(dates.len(), 1);
        let at = |days_left: i64| expiry - days_left * day;
        assert_eq!(reminder_due(&dates, Some(at(62)), at(61)), None);
        let r = reminder_due(&dates, Some(at(61)), at(60)).unwrap_or_default();
        assert!(r.contains("trust certificate expires in 60 days"), "{r}");
        assert_eq!(
            reminder_due(&dates, Some(at(60)), at(59)),
            None,
            "once a mark"
        );
        assert!(reminder_due(&dates, Some(at(31)), at(29)).is_some());
        assert!(reminder_due(&dates, Some(at(8)), at(7)).is_some());
        assert_eq!(reminder_due(&dates, Some(at(7)), at(3)), None);
        assert_eq!(
            reminder_due(&dates, None, at(7)),
            None,
            "a first run tells its state"
        );
        assert_eq!(
            reminder_due(&dates, Some(at(1)), expiry + day),
            None,
            "after it, Verify fails"
        );
    }

    #[test]
    fn the_calendar_escapes_and_folds_as_rfc_5545_says() {
        let long = "x".repeat(200);
        let ics = String::from_utf8(calendar(
            "ACME; Germany, prod",
            &[DateAhead {
                uid: "s1-trust@taskcenter-wizard".into(),
                day: 1_830_000_000,
                summary: "Trust certificate expires".into(),
                description: format!("Renew it, then upload it again.\n{long}ü"),
            }],
            0,
        ))
        .unwrap();
        assert!(ics.contains("X-WR-CALNAME:SAP Task Center: ACME\\; Germany\\, prod\r\n"));
        assert!(
            ics.lines().all(|l| l.len() <= 76),
            "every line folded at 75 octets"
        );
        assert!(ics.contains("DTSTART;VALUE=DATE:20271228") && ics.contains("TRIGGER:-P60D"));
        assert!(ics.split("\r\n").all(|l| !l.contains('\n')), "CRLF only");
    }

    #[test]
    fn properties_escape_and_latin1() {
        let p = properties(
            &[
                ("URL", "https://x:443/a=b".into()),
                ("tc.ui.label", "Aufgaben für Büro".into()),
                ("tokenServicePassword", "pw".into()),
            ],
            "Made for ACME",
        );
        let text: String = p.iter().map(|b| *b as char).collect();
        assert!(text.contains("URL=https\\://x\\:443/a\\=b"));
        assert!(p.contains(&0xFC), "ü is one Latin-1 byte");
        assert!(!text.contains("=pw"));
        assert!(text.contains("# tokenServicePassword="));
    }

    #[test]
    fn sealed_secrets_need_the_passphrase() {
        let mut m = SecretMap::new();
        m.entry("p".into())
            .or_default()
            .insert("k".into(), "v".into());
        let s = seal(&m, "correct horse").unwrap();
        assert_eq!(open(&s, "correct horse").unwrap(), m);
        assert!(open(&s, "wrong").is_err());
    }
}
