//! The Task Center service key (JSON pasted from the BTP cockpit).

use serde_json::Value;

use super::{Checked, Invalid, host_of};

/// What the wizard needs from a Task Center (`one-inbox-service`) service key.
/// The raw JSON is never stored: it carries the client secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceKey {
    pub inbox_rest_url: String,
    pub uaa_url: String,
    pub clientid: String,
    pub credential: Credential,
    pub identityzone: Option<String>,
    pub tenantid: Option<String>,
    pub uaadomain: Option<String>,
    /// Subdomain and region read from `uaa.url`, when it has SAP's usual shape.
    pub subdomain: Option<String>,
    pub region: Option<String>,
}

/// How the key's client signs in (sap-apis-btp.md O.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `uaa.clientsecret` (credential types binding-secret, instance-secret).
    Secret(String),
    /// Credential type x509: `uaa.certificate` (a PEM chain), `uaa.key`
    /// (its private key) and `uaa.certurl`, the token service for them.
    Certificate {
        certificate: String,
        key: String,
        certurl: String,
        /// The leaf certificate's subject and end of validity, to show.
        subject: String,
        not_after: i64,
    },
}

impl Credential {
    pub fn secret(&self) -> Option<&str> {
        match self {
            Credential::Secret(s) => Some(s),
            Credential::Certificate { .. } => None,
        }
    }
}

/// The leaf of an x509 key's certificate chain: (subject, not after).
fn leaf_of(chain: &str) -> Result<(String, i64), Invalid> {
    super::certificate::leaf(chain)
        .map(|l| (l.subject, l.not_after))
        .ok_or_else(|| {
            "uaa.certificate in the key is not a readable certificate: copy the whole key again"
                .to_string()
        })
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A pasted key as consultants paste it: a byte-order mark and Windows line
/// ends are fine; text around the one JSON object (what the cf CLI prints
/// before it, a comment line) is left out and said so; a list, a
/// `credentials` wrapper or a cut-off text get a message that says what was
/// pasted (never the JSON parser's own words). `marker` is a field a key of
/// this kind has at the top level.
fn read_pasted(raw: &str, what: &str, marker: &str) -> Result<(Value, Vec<String>), Invalid> {
    let s = raw.trim_start_matches('\u{feff}').trim();
    if s.is_empty() {
        return Err(format!("Paste the whole {what}, starting with {{"));
    }
    if s.starts_with('[') {
        return Err(format!(
            "What you pasted is a list (it starts with [), not the {what} itself. Paste only the key: the text from {{ to }} inside the list"
        ));
    }
    let mut notes = Vec::new();
    let v: Value = match serde_json::from_str(s) {
        Ok(v) => v,
        Err(strict) => match objects_in(s, marker) {
            Found::One(v) => {
                notes.push(format!(
                    "What you pasted has text around the {what} (such as the line the cf CLI prints before it, or a comment); the wizard used the one JSON object in it."
                ));
                v
            }
            Found::Several(n) => {
                return Err(format!(
                    "What you pasted holds {n} JSON objects and none of them is clearly the {what}. Paste only the key: the text from {{ to }}"
                ));
            }
            Found::None if !s.contains('{') => {
                return Err(format!(
                    "This is not a {what}: there is no {{ in it. Paste the whole key, the text from {{ to }}"
                ));
            }
            Found::None if !s.starts_with('{') => {
                return Err(format!(
                    "Paste the whole {what}, starting with {{ and ending with }} — it looks like only part of it was copied"
                ));
            }
            Found::None => {
                let eof = serde_json::from_str::<Value>(&s[s.find('{').unwrap_or(0)..])
                    .err()
                    .map_or(strict.is_eof(), |e| e.is_eof());
                return Err(if eof {
                    format!(
                        "The {what} ends too early: it looks cut off. Copy it again from the BTP cockpit, the whole text from {{ to }}"
                    )
                } else {
                    format!(
                        "The {what} is not complete JSON: something is wrong on line {} of what you pasted. Copy it again from the BTP cockpit, the whole text from {{ to }}",
                        strict.line()
                    )
                });
            }
        },
    };
    // `cf service-key` and some exports wrap the key in "credentials".
    if v.get(marker).is_none()
        && let Some(inner) = v.get("credentials").filter(|c| c.is_object()).cloned()
    {
        notes.push(format!(
            "What you pasted wraps the {what} in \"credentials\" (as cf service-key prints it); the wizard used the key inside it."
        ));
        return Ok((inner, notes));
    }
    Ok((v, notes))
}

enum Found {
    None,
    One(Value),
    Several(usize),
}

/// The JSON objects in a text, each starting where a line starts with `{`
/// (lines that are comments, `//` or `#`, left out). One with `marker` (or
/// `credentials`) among several non-keys still counts as the one.
fn objects_in(s: &str, marker: &str) -> Found {
    let kept: String = s
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with("//") || t.starts_with('#'))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = Vec::new();
    let mut from = 0;
    // Bounded: a paste is a few kilobytes, and a wrong one must not cost
    // one parse per brace.
    for _ in 0..64 {
        let Some(at) = next_object_start(&kept, from) else {
            break;
        };
        let mut stream = serde_json::Deserializer::from_str(&kept[at..]).into_iter::<Value>();
        // An object after `:` or `,` is a value inside a key cut off before it.
        let inside = kept[..at].trim_end().ends_with([':', ',', '[']);
        match stream.next() {
            Some(Ok(v @ Value::Object(_))) if !inside => {
                from = at + stream.byte_offset();
                found.push(v);
            }
            _ => from = at + 1,
        }
    }
    let is_key = |v: &Value| v.get(marker).is_some() || v.get("credentials").is_some();
    match found.len() {
        0 => Found::None,
        1 => found.pop().map_or(Found::None, Found::One),
        n => match found.iter().filter(|v| is_key(v)).count() {
            1 => found
                .into_iter()
                .find(is_key)
                .map_or(Found::None, Found::One),
            _ => Found::Several(n),
        },
    }
}

/// Where the next line that starts with `{` begins (the rest of the line an
/// earlier object ended on counts as a line); else the first `{` at all.
fn next_object_start(s: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while at < s.len() {
        let line_end = s[at..].find('\n').map_or(s.len(), |i| at + i);
        let line = &s[at..line_end];
        let lead = line.len() - line.trim_start().len();
        if line[lead..].starts_with('{') {
            return Some(at + lead);
        }
        at = line_end + 1;
    }
    (from == 0).then(|| s.find('{')).flatten()
}

impl ServiceKey {
    pub fn parse(raw: &str) -> Result<Checked<ServiceKey>, Invalid> {
        let (v, wrapped) = read_pasted(raw, "service key", "uaa")?;
        if v.get("uri").is_some() && v.get("endpoints").is_none() {
            return Err("This is a Destination service key, not a Task Center key. Paste the key of the Task Center instance (default_taskcenter)".into());
        }
        let uaa = v.get("uaa").ok_or(
            "The service key has no \"uaa\" section. Paste the key of the Task Center instance (default_taskcenter), not another service's",
        )?;
        let x509 = text(uaa, &["clientsecret"]).is_none()
            && (uaa.get("certificate").is_some()
                || uaa.get("key").is_some()
                || uaa.get("certurl").is_some()
                || text(uaa, &["credential-type"]) == Some("x509"));
        let credential_fields: &[(&str, &[&str])] = if x509 {
            &[
                ("uaa.certificate", &["uaa", "certificate"]),
                ("uaa.key", &["uaa", "key"]),
                ("uaa.certurl", &["uaa", "certurl"]),
            ]
        } else {
            &[("uaa.clientsecret", &["uaa", "clientsecret"])]
        };
        let missing: Vec<&str> = [
            (
                "endpoints.inbox_rest_url",
                &["endpoints", "inbox_rest_url"][..],
            ),
            ("uaa.url", &["uaa", "url"]),
            ("uaa.clientid", &["uaa", "clientid"]),
        ]
        .iter()
        .chain(credential_fields.iter())
        .filter(|(_, p)| text(&v, p).is_none())
        .map(|(n, _)| *n)
        .collect();
        if !missing.is_empty() {
            return Err(format!(
                "The service key is missing {}. Copy the whole key of the Task Center instance again",
                missing.join(", ")
            ));
        }
        let get = |p: &[&str]| text(&v, p).unwrap_or_default().to_string();
        let inbox_rest_url = get(&["endpoints", "inbox_rest_url"]);
        let uaa_url = get(&["uaa", "url"]).trim_end_matches('/').to_string();
        for (name, url) in [
            ("endpoints.inbox_rest_url", &inbox_rest_url),
            ("uaa.url", &uaa_url),
        ] {
            if !url.starts_with("https://") {
                return Err(format!(
                    "{name} in the service key must start with https://; the key looks edited"
                ));
            }
        }
        let host = host_of(&uaa_url);
        let (subdomain, region) = match host.split_once(".authentication.") {
            Some((sub, rest)) => (
                Some(sub.to_string()),
                rest.split_once('.').map(|(r, _)| r.to_string()),
            ),
            None => (None, None),
        };
        let credential = if x509 {
            let certificate = get(&["uaa", "certificate"]).replace("\\n", "\n");
            let key = get(&["uaa", "key"]).replace("\\n", "\n");
            let certurl = get(&["uaa", "certurl"]).trim_end_matches('/').to_string();
            if !certurl.starts_with("https://") {
                return Err(
                    "uaa.certurl in the service key must start with https://; the key looks edited"
                        .into(),
                );
            }
            if !key.contains("PRIVATE KEY-----") {
                return Err(
                    "uaa.key in the service key is not a private key: copy the whole key again"
                        .into(),
                );
            }
            let (subject, not_after) = leaf_of(&certificate)?;
            Credential::Certificate {
                certificate,
                key,
                certurl,
                subject,
                not_after,
            }
        } else {
            Credential::Secret(get(&["uaa", "clientsecret"]))
        };
        let key = ServiceKey {
            inbox_rest_url: inbox_rest_url.trim_end_matches('/').to_string(),
            uaa_url,
            clientid: get(&["uaa", "clientid"]),
            credential,
            identityzone: text(&v, &["uaa", "identityzone"]).map(Into::into),
            tenantid: text(&v, &["uaa", "tenantid"]).map(Into::into),
            uaadomain: text(&v, &["uaa", "uaadomain"]).map(Into::into),
            subdomain,
            region,
        };
        let mut out = Checked::ok(key);
        out.warnings.extend(wrapped);
        if out.value.subdomain.is_none() {
            out = out.warn("uaa.url does not have the usual <subdomain>.authentication.<region> form, so we cannot cross-check it with the subaccount.");
        }
        if !out.value.inbox_rest_url.ends_with("/task-center-service") {
            out = out.warn("endpoints.inbox_rest_url usually ends in /task-center-service; check that this is a Task Center key.");
        }
        if let Credential::Certificate {
            subject, not_after, ..
        } = &out.value.credential
        {
            let (subject, not_after) = (subject.clone(), *not_after);
            let days = (not_after - crate::fmt::now()) / 86_400;
            let until = crate::fmt::date(not_after);
            if days < 0 {
                return Err(format!(
                    "The key's client certificate expired on {until}. Create a new key (credential type x509) and paste it"
                ));
            }
            out = out.warn(format!(
                "This key signs in with a client certificate (X.509: {subject}, valid until {until}); the wizard keeps the certificate and its private key encrypted and sends them only to uaa.certurl."
            ));
            if days < 60 {
                out = out.warn(format!(
                    "The key's client certificate expires in {days} days ({until}): create a new key before then and paste it here."
                ));
            }
        }
        Ok(out)
    }

    /// Compare the key's subaccount with the setup's facts.
    pub fn cross_check(
        &self,
        subdomain: Option<&str>,
        region: Option<&str>,
    ) -> Result<(), Invalid> {
        cross_check(
            self.subdomain.as_deref(),
            self.region.as_deref(),
            subdomain,
            region,
        )
    }
}

/// The key's subdomain and region (from `uaa.url`) against the setup's facts.
pub fn cross_check(
    key_subdomain: Option<&str>,
    key_region: Option<&str>,
    subdomain: Option<&str>,
    region: Option<&str>,
) -> Result<(), Invalid> {
    if let (Some(want), Some(got)) = (subdomain, key_subdomain)
        && want != got
    {
        return Err(format!(
            "This key belongs to subaccount subdomain \"{got}\", but the setup's subdomain is \"{want}\". Paste the key from the right subaccount, or correct the subdomain in step 1"
        ));
    }
    if let (Some(want), Some(got)) = (region, key_region)
        && want != got
    {
        return Err(format!(
            "This key was issued in region {got}, but the setup's region is {want}. Paste the key from the right subaccount, or correct the region on the first page"
        ));
    }
    Ok(())
}

/// The named text fields of a pasted key, trailing `/` removed; the first
/// `urls` of them must be https addresses. Errors name what is missing.
fn key_fields<const N: usize>(
    v: &Value,
    what: &str,
    names: [&str; N],
    urls: usize,
) -> Result<[String; N], Invalid> {
    let missing: Vec<&str> = names
        .into_iter()
        .filter(|k| text(v, &[k]).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "The {what} is missing {}. Copy the whole key again",
            missing.join(", ")
        ));
    }
    let values = names.map(|k| {
        text(v, &[k])
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string()
    });
    if let Some((k, _)) = names
        .iter()
        .zip(&values)
        .take(urls)
        .find(|(_, x)| !x.starts_with("https://"))
    {
        return Err(format!(
            "{k} in the {what} must start with https://; the key looks edited"
        ));
    }
    Ok(values)
}

/// A Destination service key: what the wizard needs to call that service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationKey {
    pub uri: String,
    pub url: String,
    pub clientid: String,
    pub clientsecret: String,
}

impl DestinationKey {
    pub fn parse(raw: &str) -> Result<Checked<DestinationKey>, Invalid> {
        let (v, wrapped) = read_pasted(raw, "Destination service key", "uri")?;
        if v.get("endpoints")
            .and_then(|e| e.get("inbox_rest_url"))
            .is_some()
        {
            return Err("This is the Task Center service key. Paste the key of a Destination service instance here".into());
        }
        let [uri, url, clientid, clientsecret] = key_fields(
            &v,
            "Destination service key",
            ["uri", "url", "clientid", "clientsecret"],
            2,
        )?;
        Ok(Checked::noted(
            DestinationKey {
                uri,
                url,
                clientid,
                clientsecret,
            },
            wrapped,
        ))
    }
}

/// A Service Manager key (sap-apis.md F.1): what the wizard needs to create
/// the dedicated Task Center instance and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceManagerKey {
    pub sm_url: String,
    pub url: String,
    pub clientid: String,
    pub clientsecret: String,
}

impl ServiceManagerKey {
    pub fn parse(raw: &str) -> Result<Checked<ServiceManagerKey>, Invalid> {
        let (v, wrapped) = read_pasted(raw, "Service Manager key", "sm_url")?;
        if text(&v, &["sm_url"]).is_none() {
            return Err("This is not a Service Manager key: it has no sm_url. Paste the key of a Service Manager instance (plan subaccount-admin)".into());
        }
        if text(&v, &["certificate"]).is_some() && text(&v, &["clientsecret"]).is_none() {
            return Err("This Service Manager key uses an X.509 certificate. Create a key with the default credential type (client ID and secret) and paste that one".into());
        }
        let [sm_url, url, clientid, clientsecret] = key_fields(
            &v,
            "Service Manager key",
            ["sm_url", "url", "clientid", "clientsecret"],
            2,
        )?;
        Ok(Checked::noted(
            ServiceManagerKey {
                sm_url,
                url,
                clientid,
                clientsecret,
            },
            wrapped,
        ))
    }
}

/// A Cloud Management key of plan `central` with client credentials
/// (sap-apis-btp.md G.1-G.2): what the wizard needs to set up the BTP half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CisKey {
    pub accounts_url: String,
    pub entitlements_url: String,
    pub provisioning_url: String,
    pub saas_url: String,
    pub url: String,
    pub clientid: String,
    pub clientsecret: String,
}

impl CisKey {
    pub fn parse(raw: &str) -> Result<Checked<CisKey>, Invalid> {
        let (v, wrapped) = read_pasted(raw, "Cloud Management key", "accounts_service_url")?;
        if text(&v, &["endpoints", "accounts_service_url"]).is_none() {
            let which = if text(&v, &["endpoints", "inbox_rest_url"]).is_some() {
                "the Task Center service key"
            } else if text(&v, &["sm_url"]).is_some() {
                "a Service Manager key"
            } else if text(&v, &["uri"]).is_some() {
                "a Destination service key"
            } else {
                "not a Cloud Management key"
            };
            return Err(format!(
                "This is {which}. Paste the key of a Cloud Management service instance (cis) of plan central: it has endpoints.accounts_service_url"
            ));
        }
        if text(&v, &["sap.cloud.service"]).is_some_and(|s| s.ends_with(".local")) {
            return Err("This key is of plan local: it administers only the subaccount it lives in. The global account administrator creates an instance of plan central (see the steps on this page) and a key of it".into());
        }
        if text(&v, &["grant_type"]) == Some("user_token") {
            return Err("This key only allows signing in as a user (grant type user_token). Create the key with the parameters {\"grantType\": \"clientCredentials\"}: SAP's own Terraform and Crossplane providers need the same (G.1)".into());
        }
        if text(&v, &["uaa", "certificate"]).is_some()
            && text(&v, &["uaa", "clientsecret"]).is_none()
        {
            return Err("This key uses an X.509 certificate. Create a key with the default credential type (client ID and secret) and paste that one".into());
        }
        let mut flat = serde_json::Map::new();
        for (name, path) in [
            ("uaa.url", ["uaa", "url"]),
            (
                "endpoints.accounts_service_url",
                ["endpoints", "accounts_service_url"],
            ),
            (
                "endpoints.entitlements_service_url",
                ["endpoints", "entitlements_service_url"],
            ),
            (
                "endpoints.provisioning_service_url",
                ["endpoints", "provisioning_service_url"],
            ),
            (
                "endpoints.saas_registry_service_url",
                ["endpoints", "saas_registry_service_url"],
            ),
            ("uaa.clientid", ["uaa", "clientid"]),
            ("uaa.clientsecret", ["uaa", "clientsecret"]),
        ] {
            if let Some(t) = text(&v, &path) {
                flat.insert(name.into(), Value::String(t.into()));
            }
        }
        let [
            url,
            accounts_url,
            entitlements_url,
            provisioning_url,
            saas_url,
            clientid,
            clientsecret,
        ] = key_fields(
            &Value::Object(flat),
            "Cloud Management key",
            [
                "uaa.url",
                "endpoints.accounts_service_url",
                "endpoints.entitlements_service_url",
                "endpoints.provisioning_service_url",
                "endpoints.saas_registry_service_url",
                "uaa.clientid",
                "uaa.clientsecret",
            ],
            5,
        )?;
        Ok(Checked::noted(
            CisKey {
                accounts_url,
                entitlements_url,
                provisioning_url,
                saas_url,
                url,
                clientid,
                clientsecret,
            },
            wrapped,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_management_keys_of_plan_central_with_client_credentials_only() {
        let key = r#"{"endpoints":{"accounts_service_url":"https://accounts-service.cfapps.eu10.hana.ondemand.com/","entitlements_service_url":"https://entitlements-service.cfapps.eu10.hana.ondemand.com","provisioning_service_url":"https://provisioning-service.cfapps.eu10.hana.ondemand.com","saas_registry_service_url":"https://saas-manager.cfapps.eu10.hana.ondemand.com"},"grant_type":"client_credentials","sap.cloud.service":"com.sap.core.commercial.service.central","uaa":{"clientid":"sb-x!b14|cis-central!b14","clientsecret":"s3cr3t","url":"https://acme.authentication.eu10.hana.ondemand.com"}}"#;
        let k = CisKey::parse(key).unwrap().value;
        assert_eq!(
            k.accounts_url,
            "https://accounts-service.cfapps.eu10.hana.ondemand.com"
        );
        assert_eq!(k.clientsecret, "s3cr3t");
        let user = key.replace("\"client_credentials\"", "\"user_token\"");
        assert!(
            CisKey::parse(&user)
                .unwrap_err()
                .contains("clientCredentials")
        );
        let local = key.replace("service.central", "service.local");
        assert!(CisKey::parse(&local).unwrap_err().contains("plan local"));
        assert!(
            CisKey::parse(KEY)
                .unwrap_err()
                .contains("Task Center service key")
        );
        let cut = CisKey::parse(&key.replace("\"provisioning_service_url\"", "\"x\"")).unwrap_err();
        assert!(cut.contains("endpoints.provisioning_service_url"), "{cut}");
    }

    #[test]
    fn service_manager_keys_are_read_and_others_named() {
        let key = r#"{"clientid":"sb-abc!b1|service-manager!b2","clientsecret":"s3cr3t","sm_url":"https://service-manager.cfapps.eu10.hana.ondemand.com/","url":"https://acme.authentication.eu10.hana.ondemand.com","xsappname":"abc!b1|service-manager!b2"}"#;
        let k = ServiceManagerKey::parse(&format!("\u{feff}{key}"))
            .unwrap()
            .value;
        assert_eq!(
            k.sm_url,
            "https://service-manager.cfapps.eu10.hana.ondemand.com"
        );
        assert_eq!(k.clientsecret, "s3cr3t");
        let x509 = key.replace(
            "\"clientsecret\":\"s3cr3t\"",
            "\"certificate\":\"-----BEGIN\",\"key\":\"k\"",
        );
        assert!(
            ServiceManagerKey::parse(&x509)
                .unwrap_err()
                .contains("X.509")
        );
        assert!(
            ServiceManagerKey::parse(KEY)
                .unwrap_err()
                .contains("not a Service Manager key")
        );
        let cut = ServiceManagerKey::parse(&key.replace("\"url\":", "\"uri\":")).unwrap_err();
        assert!(cut.contains("missing url"), "{cut}");
    }

    #[test]
    fn keys_are_read_as_consultants_paste_them() {
        // Byte-order mark and Windows line ends (Windows editors).
        let windows = format!("\u{feff}{}", KEY.replace('\n', "\r\n"));
        assert!(ServiceKey::parse(&windows).is_ok());
        // Wrapped in a list, or in "credentials": said what was pasted.
        let list = ServiceKey::parse(&format!("[{KEY}]")).unwrap_err();
        assert!(list.contains("is a list (it starts with [)"), "{list}");
        let wrapped = ServiceKey::parse(&format!("{{\"credentials\": {KEY}}}")).unwrap();
        assert!(
            wrapped
                .warnings
                .iter()
                .any(|w| w.contains("wraps the service key in \"credentials\""))
        );
        // Cut off: no parser internals.
        let cut = ServiceKey::parse(&KEY[..KEY.len() / 2]).unwrap_err();
        assert!(
            cut.contains("ends too early") && !cut.contains("EOF") && !cut.contains("column"),
            "{cut}"
        );
        let broken = ServiceKey::parse("{\"uaa\": {\"url\" \"x\"}}").unwrap_err();
        assert!(
            broken.contains("on line 1") && !broken.contains("expected"),
            "{broken}"
        );
        let dest = DestinationKey::parse("\u{feff}[{\"uri\": \"x\"}]").unwrap_err();
        assert!(dest.contains("Destination service key"), "{dest}");
    }

    const KEY: &str = r#"{"endpoints":{"inbox_rest_url":"https://api.workflow-sap.cfapps.eu10.hana.ondemand.com/task-center-service"},
      "uaa":{"clientid":"sb-clone-1!b1|one-inbox-service!b4","clientsecret":"s3cr3t-value",
      "url":"https://acme.authentication.eu10.hana.ondemand.com","identityzone":"acme"}}"#;

    #[test]
    fn extracts_fields_and_region() {
        let k = ServiceKey::parse(KEY).unwrap().value;
        assert_eq!(k.credential.secret(), Some("s3cr3t-value"));
        assert_eq!(k.subdomain.as_deref(), Some("acme"));
        assert_eq!(k.region.as_deref(), Some("eu10"));
        assert!(k.cross_check(Some("acme"), Some("eu10")).is_ok());
        assert!(
            k.cross_check(Some("other"), Some("eu10"))
                .unwrap_err()
                .contains("\"acme\"")
        );
        assert!(
            k.cross_check(Some("acme"), Some("us10"))
                .unwrap_err()
                .contains("us10")
        );
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(
            ServiceKey::parse("")
                .unwrap_err()
                .contains("starting with {")
        );
        assert!(
            ServiceKey::parse("\"uaa\": {}")
                .unwrap_err()
                .contains("starting with {")
        );
        assert!(
            ServiceKey::parse("{\"uaa\": ")
                .unwrap_err()
                .contains("ends too early")
        );
        let e = ServiceKey::parse(&KEY.replace("clientsecret", "x")).unwrap_err();
        assert!(e.contains("uaa.clientsecret"), "{e}");
        let mtls = r#"{"endpoints":{"inbox_rest_url":"https://x/task-center-service"},"uaa":{"clientid":"a","certificate":"-----BEGIN","key":"k","url":"https://a.authentication.eu10.hana.ondemand.com"}}"#;
        assert!(
            ServiceKey::parse(mtls)
                .unwrap_err()
                .contains("missing uaa.certurl")
        );
        let dest = r#"{"uri":"https://destination-configuration.cfapps.eu10.hana.ondemand.com","clientid":"a"}"#;
        assert!(
            ServiceKey::parse(dest)
                .unwrap_err()
                .contains("Destination service key")
        );
        let wrapped = format!("{{\"credentials\": {KEY}}}");
        assert!(ServiceKey::parse(&wrapped).is_ok());
    }

    #[test]
    fn the_one_json_object_is_taken_from_what_a_tool_printed() {
        let cf = format!(
            "Getting key tc-key for service instance default_taskcenter as admin...\n\n{{\"credentials\": {KEY}}}\n"
        );
        let k = ServiceKey::parse(&cf).unwrap();
        assert!(
            k.warnings.iter().any(|w| w.contains("text around")),
            "{:?}",
            k.warnings
        );
        let commented = format!("# production key, created 2026-11-30\n{KEY}\n// end");
        assert!(
            ServiceKey::parse(&commented)
                .unwrap()
                .warnings
                .iter()
                .any(|w| w.contains("the one JSON object"))
        );
        let inner_comment = KEY.replacen("{", "{\n  // from the cockpit\n", 1);
        assert!(ServiceKey::parse(&inner_comment).is_ok());
        let two = format!("{KEY}\n{KEY}");
        assert!(
            ServiceKey::parse(&two)
                .unwrap_err()
                .contains("2 JSON objects")
        );
        assert!(
            ServiceKey::parse("no key here")
                .unwrap_err()
                .contains("no {")
        );
    }
}
