//! The subaccount's destination trust certificate ("Download Trust").

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{Checked, Invalid};

/// A parsed trust certificate; `pem` is what S/4HANA gets as signing certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustCertificate {
    pub pem: String,
    pub subject: String,
    pub issuer: String,
    /// The common name, which S/4HANA needs as "OAuth 2.0 SAML Issuer".
    pub cn: String,
    pub not_before: i64,
    pub not_after: i64,
    /// SHA-256 over the DER bytes, upper-case hex pairs joined by `:`.
    pub sha256: String,
}

const DAY: i64 = 86_400;

impl TrustCertificate {
    /// Parse an upload or a paste (PEM or DER). `now` is a Unix time.
    pub fn parse(bytes: &[u8], now: i64) -> Result<Checked<TrustCertificate>, Invalid> {
        let der = to_der(bytes)?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|_| {
            "The file is not a readable X.509 certificate. Export the certificate again in the BTP cockpit (Connectivity > Destination Trust > Export)".to_string()
        })?;
        let cn = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or("")
            .to_string();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::engine::general_purpose::STANDARD
                .encode(&der)
                .as_bytes()
                .chunks(64)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("\n")
        );
        let value = TrustCertificate {
            pem,
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            cn,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            sha256: fingerprint(&der),
        };
        let mut out = Checked::ok(value);
        if out.value.cn.is_empty() {
            return Err("The certificate has no common name (CN). The BTP trust certificate's CN looks like cfapps.eu10.hana.ondemand.com/<subaccount ID>: export that one".into());
        }
        if out.value.not_after < now {
            return Err(format!(
                "The certificate expired on {}. Renew the trust in the BTP cockpit (Connectivity > Destination Trust), export the new certificate and upload it here and in S/4HANA",
                crate::fmt::date(out.value.not_after)
            ));
        }
        let days = (out.value.not_after - now) / DAY;
        if days < 60 {
            let until = crate::fmt::date(out.value.not_after);
            out = out.warn(format!(
                "The certificate expires in {days} days ({until}). Plan its renewal now: after renewal it must be uploaded to S/4HANA again."
            ));
        }
        if out.value.subject != out.value.issuer {
            out = out.warn("The certificate is not self-signed; the BTP destination trust certificate normally is. Check that you exported the right file.");
        }
        Ok(out)
    }

    /// The subaccount GUID at the end of the CN, when the CN has SAP's format.
    pub fn cn_subaccount(&self) -> Option<&str> {
        cn_subaccount(&self.cn)
    }

    /// Check the CN against the subaccount the setup names.
    pub fn check_subaccount(&self, subaccount_id: Option<&str>) -> Result<(), Invalid> {
        check_cn(&self.cn, subaccount_id)
    }
}

/// The GUID at the end of a CN of SAP's format `cfapps.<region domain>/<GUID>`.
/// SAP's CN often exceeds the 64 characters X.520 allows, so no length bound.
pub fn cn_subaccount(cn: &str) -> Option<&str> {
    let (domain, guid) = cn.split_once('/')?;
    let domain_ok = domain.starts_with("cfapps.")
        && domain.len() > "cfapps.".len()
        && domain
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let guid_ok = guid.len() == 36
        && guid
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c) || c == '-');
    (domain_ok && guid_ok).then_some(guid)
}

/// A trust certificate's CN against the setup's subaccount ID.
pub fn check_cn(cn: &str, subaccount_id: Option<&str>) -> Result<(), Invalid> {
    let Some(guid) = cn_subaccount(cn) else {
        return Err(format!(
            "The certificate's CN is \"{cn}\", not the cfapps.<region>/<subaccount ID> form of a BTP destination trust certificate. Export it from Connectivity > Destination Trust in the right subaccount"
        ));
    };
    match subaccount_id {
        Some(id) if id != guid => Err(format!(
            "This certificate belongs to subaccount {guid}, but the setup's subaccount ID is {id}. Export the certificate from the right subaccount, or correct the subaccount ID"
        )),
        _ => Ok(()),
    }
}

/// The first certificate of a PEM text (a chain's leaf) or of a bare
/// base64 DER, as read: subject, validity, SHA-256.
pub(crate) struct Leaf {
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    pub sha256: String,
}

pub(crate) fn leaf(text: &str) -> Option<Leaf> {
    let t = text.trim();
    let body: String = if t.contains("-----BEGIN CERTIFICATE-----") {
        t.lines()
            .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .flat_map(|l| l.trim().chars())
            .collect()
    } else {
        t.chars().filter(|c| !c.is_whitespace()).collect()
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .ok()?;
    let (_, c) = x509_parser::parse_x509_certificate(&der).ok()?;
    Some(Leaf {
        subject: c.subject().to_string(),
        not_before: c.validity().not_before.timestamp(),
        not_after: c.validity().not_after.timestamp(),
        sha256: fingerprint(&der),
    })
}

/// A certificate as a person reads it in a plan: subject, validity and
/// SHA-256, never its base64. Text that is no certificate is shown by its
/// length only (it may be long and means nothing to read).
pub fn certificate_in_words(text: &str) -> String {
    let t = text.trim();
    if t.is_empty() {
        return String::new();
    }
    match leaf(t) {
        Some(c) => format!(
            "{}, valid {} to {}, SHA-256 {}",
            c.subject,
            crate::fmt::date(c.not_before),
            crate::fmt::date(c.not_after),
            c.sha256
        ),
        None => format!(
            "{} characters that are not a readable certificate",
            t.chars().count()
        ),
    }
}

fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Turn an upload into DER, naming what was uploaded when it is the wrong thing.
fn to_der(bytes: &[u8]) -> Result<Vec<u8>, Invalid> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("Choose the certificate file, or paste its text starting with -----BEGIN CERTIFICATE-----".into());
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(bytes.to_vec()); // binary: DER, or it fails to parse below
    };
    let t = text.trim_start_matches('\u{feff}').trim();
    if t.starts_with('<') || t.contains("EntityDescriptor") {
        return Err("This is SAML metadata (XML), not the trust certificate. Uploading metadata to S/4HANA causes \"Error in ST program SAML2_ASSERTION\". In the BTP cockpit use Connectivity > Destination Trust > Export (older cockpits: Destinations > Download Trust)".into());
    }
    if t.contains("PRIVATE KEY-----") {
        return Err("This file holds a private key. Never share it: S/4HANA needs only the certificate, exported from Connectivity > Destination Trust".into());
    }
    if t.starts_with('{') {
        // The Destination service answers with JSON that carries the PEM.
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(t)
            && let Some(pem) = v.get("x509PublicKeyBase64").and_then(|p| p.as_str())
        {
            return to_der(pem.as_bytes());
        }
        return Err("This is a JSON file, not a certificate. Upload the .pem or .crt file exported from Connectivity > Destination Trust".into());
    }
    let blocks = t.matches("-----BEGIN CERTIFICATE-----").count();
    if blocks > 1 {
        return Err(format!(
            "This file holds {blocks} certificates (a chain). The trust certificate is one self-signed certificate: export it alone from Connectivity > Destination Trust"
        ));
    }
    if blocks == 1 {
        let body = t
            .split("-----BEGIN CERTIFICATE-----")
            .nth(1)
            .and_then(|r| r.split("-----END CERTIFICATE-----").next())
            .unwrap_or("");
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        return base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| "The certificate text is damaged (its base64 does not decode). Export it again, and paste it whole".to_string());
    }
    if t.contains("-----BEGIN") {
        return Err("This PEM file holds something other than a certificate (for example a key or a request). Upload the certificate exported from Connectivity > Destination Trust".into());
    }
    // Bare base64 without armour, as some tools copy it.
    let b64: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&b64)
        && der.first() == Some(&0x30)
    {
        return Ok(der);
    }
    Err("This is a text file, but not a certificate. Upload the .pem or .crt file exported from Connectivity > Destination Trust".into())
}
