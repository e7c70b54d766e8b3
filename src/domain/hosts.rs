//! Host names and URLs of the S/4HANA Cloud system and the IAS tenant.

use super::{Checked, Invalid, check_port, host_of, is_dns_label};

const S4_DOMAINS: [&str; 2] = [".s4hana.ondemand.com", ".s4hana.cloud.sap"];

/// The S/4HANA Cloud UI host, e.g. `my404687.s4hana.ondemand.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S4Host {
    tenant: String,
    domain: &'static str,
}

impl S4Host {
    pub fn parse(raw: &str) -> Result<Checked<S4Host>, Invalid> {
        if raw.trim().is_empty() {
            return Err(
                "Enter the S/4HANA Cloud host, for example my404687.s4hana.ondemand.com".into(),
            );
        }
        let mut warnings = check_port(raw, "S/4HANA host")?;
        let host = host_of(raw);
        let Some(domain) = S4_DOMAINS.iter().find(|d| host.ends_with(*d)) else {
            return Err(format!(
                "\"{host}\" is not an S/4HANA Cloud host: it must end in .s4hana.ondemand.com or .s4hana.cloud.sap"
            ));
        };
        let mut label = &host[..host.len() - domain.len()];
        if let Some(ui) = label.strip_suffix("-api") {
            label = ui;
            warnings.push(format!(
                "You entered the API host; we keep the UI host {label}{domain} and derive {label}-api{domain} from it."
            ));
        }
        let digits = label.strip_prefix("my").unwrap_or("");
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || label.contains('.') {
            return Err(format!(
                "\"{host}\" does not look like an S/4HANA Cloud tenant: the first part must be \"my\" followed by digits, like my404687"
            ));
        }
        if digits.len() != 6 {
            warnings.push(format!(
                "Tenant numbers usually have 6 digits; \"{digits}\" has {}. Check it against the address bar of the S/4HANA Fiori launchpad.",
                digits.len()
            ));
        }
        Ok(Checked {
            value: S4Host {
                tenant: label.to_string(),
                domain,
            },
            warnings,
        })
    }

    /// `my404687.s4hana.ondemand.com`
    pub fn host(&self) -> String {
        format!("{}{}", self.tenant, self.domain)
    }
    /// `my404687-api.s4hana.ondemand.com`: where OData and the token endpoint live.
    pub fn api_host(&self) -> String {
        format!("{}-api{}", self.tenant, self.domain)
    }
    /// `404687`
    pub fn tenant_number(&self) -> &str {
        self.tenant.trim_start_matches("my")
    }
    pub fn token_service_url(&self) -> String {
        format!("https://{}/sap/bc/sec/oauth2/token", self.api_host())
    }
    pub fn audience(&self) -> String {
        format!("https://{}", self.host())
    }
    pub fn replication_url(&self, client: &str) -> String {
        format!(
            "https://{}{}?sap-client={client}",
            self.api_host(),
            REPLICATION_PATH
        )
    }

    /// Explain how `other` (a host someone typed) differs from this system.
    fn mismatch(&self, other: &str, want_api: bool) -> Option<String> {
        let expected = if want_api {
            self.api_host()
        } else {
            self.host()
        };
        if other == expected {
            return None;
        }
        if other == self.api_host() {
            return Some(format!(
                "uses the API host {other}; this value needs the host without -api: {}",
                self.host()
            ));
        }
        if other == self.host() {
            return Some(format!(
                "uses {other}; this value needs the API host with -api: {}",
                self.api_host()
            ));
        }
        if let Ok(c) = S4Host::parse(other)
            && c.value.tenant != self.tenant
        {
            return Some(format!(
                "points to tenant {} but the setup's S/4HANA system is {}",
                c.value.tenant_number(),
                self.tenant_number()
            ));
        }
        Some(format!("uses host {other}; expected {expected}"))
    }
}

pub const REPLICATION_PATH: &str =
    "/sap/opu/odata4/sap/api_task_spi_replication/default/sap/api_task_spi_replication/0001/";

fn https_parts(raw: &str, what: &str) -> Result<(String, String), Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(format!("Enter the {what}"));
    }
    let Some(rest) = s.strip_prefix("https://") else {
        return Err(format!(
            "The {what} must start with https:// — copy it whole from the S/4HANA app"
        ));
    };
    check_port(raw, what)?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = rest[..end].to_ascii_lowercase();
    let host = host.strip_suffix(":443").unwrap_or(&host).to_string();
    Ok((host, rest[end..].to_string()))
}

/// Token Service URL from the SAP_COM_0501 arrangement's OAuth 2.0 details.
pub struct TokenServiceUrl;
impl TokenServiceUrl {
    pub fn parse(raw: &str, s4: &S4Host) -> Result<Checked<String>, Invalid> {
        let what = "Token Service URL";
        let (host, path) = https_parts(raw, what)?;
        if let Some(m) = s4.mismatch(&host, true) {
            return Err(format!("The {what} {m}"));
        }
        // OAuth 2.0 Details may show it with ?sap-client=...: the client is
        // a property of its own in the destination, not part of this URL.
        let (path, query) = path.split_once('?').unwrap_or((&path, ""));
        if path.trim_end_matches('/') != "/sap/bc/sec/oauth2/token" {
            return Err(format!(
                "The {what} must end in /sap/bc/sec/oauth2/token, like {}",
                s4.token_service_url()
            ));
        }
        let mut warnings = Vec::new();
        if !query.is_empty() {
            warnings.push(format!(
                "The {what} is kept without \"?{query}\": the client goes into the destination as URL.queries.sap-client."
            ));
        }
        Ok(Checked {
            value: s4.token_service_url(),
            warnings,
        })
    }
}

/// SAML2 Audience: the UI host, never the -api one.
pub struct Saml2Audience;
impl Saml2Audience {
    pub fn parse(raw: &str, s4: &S4Host) -> Result<Checked<String>, Invalid> {
        let what = "SAML2 Audience";
        let (host, path) = https_parts(raw, what)?;
        if let Some(m) = s4.mismatch(&host, false) {
            return Err(format!("The {what} {m}"));
        }
        if !path.trim_end_matches('/').is_empty() {
            return Err(format!(
                "The {what} is the host alone, without a path: {}",
                s4.audience()
            ));
        }
        Ok(Checked::ok(s4.audience()))
    }
}

/// The Task Replication service URL shown in the arrangement.
pub struct ReplicationUrl;
impl ReplicationUrl {
    pub fn parse(raw: &str, s4: &S4Host, client: &str) -> Result<Checked<String>, Invalid> {
        let what = "Task Replication service URL";
        let (host, path) = https_parts(raw, what)?;
        if let Some(m) = s4.mismatch(&host, true) {
            return Err(format!("The {what} {m}"));
        }
        let (p, query) = path.split_once('?').unwrap_or((&path, ""));
        if !p
            .to_ascii_lowercase()
            .starts_with(REPLICATION_PATH.trim_end_matches('/'))
        {
            return Err(format!(
                "The {what} must point to the api_task_spi_replication service, like {}",
                s4.replication_url(client)
            ));
        }
        let mut out = Checked::ok(s4.replication_url(client));
        match query
            .split('&')
            .find_map(|kv| kv.strip_prefix("sap-client="))
        {
            Some(c) if c == client => {}
            Some(c) => {
                return Err(format!(
                    "The {what} names sap-client={c} but the setup's client is {client}"
                ));
            }
            None => {
                out = out.warn(format!(
                    "No sap-client in the URL; we add sap-client={client}."
                ))
            }
        }
        Ok(out)
    }
}

/// The IAS tenant host, e.g. `acme.accounts.ondemand.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IasHost(pub String);
impl IasHost {
    pub fn parse(raw: &str) -> Result<Checked<IasHost>, Invalid> {
        if raw.trim().is_empty() {
            return Err(
                "Enter the Identity Authentication tenant host, for example acme.accounts.ondemand.com"
                    .into(),
            );
        }
        let warnings = check_port(raw, "Identity Authentication tenant")?;
        let host = host_of(raw);
        let tenant = host
            .strip_suffix(".accounts.ondemand.com")
            .or_else(|| host.strip_suffix(".accounts.cloud.sap"));
        match tenant {
            Some(t) if is_dns_label(t) => Ok(Checked {
                value: IasHost(host),
                warnings,
            }),
            _ => Err(format!(
                "\"{host}\" is not an Identity Authentication tenant: it looks like <tenant>.accounts.ondemand.com or <tenant>.accounts.cloud.sap"
            )),
        }
    }
}

/// Any https URL (a Work Zone site, for example); returned trimmed.
pub fn https_url(raw: &str, what: &str) -> Result<Checked<String>, Invalid> {
    let (host, _) = https_parts(raw, what)?;
    if host.is_empty() || !host.contains('.') || host.contains(char::is_whitespace) {
        return Err(format!(
            "The {what} must be a full address, like https://example.com/site"
        ));
    }
    Ok(Checked::ok(raw.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s4() -> S4Host {
        S4Host::parse("my404687.s4hana.ondemand.com").unwrap().value
    }

    #[test]
    fn ports_are_explained_not_silently_dropped() {
        let ok = S4Host::parse("https://my404687.s4hana.ondemand.com:443/ui").unwrap();
        assert_eq!(ok.value.host(), "my404687.s4hana.ondemand.com");
        assert!(
            ok.warnings.iter().any(|w| w.contains(":443")),
            "{:?}",
            ok.warnings
        );
        let e = S4Host::parse("my404687.s4hana.ondemand.com:8443").unwrap_err();
        assert!(
            e.contains(":8443") && e.contains("standard https port"),
            "{e}"
        );
        let e = IasHost::parse("acme.accounts.ondemand.com:8080").unwrap_err();
        assert!(e.contains(":8080"), "{e}");
        let e = TokenServiceUrl::parse(
            "https://my404687-api.s4hana.ondemand.com:8443/sap/bc/sec/oauth2/token",
            &s4(),
        )
        .unwrap_err();
        assert!(e.contains(":8443"), "{e}");
    }

    #[test]
    fn a_token_service_url_with_sap_client_is_kept_without_it_and_says_so() {
        let c = TokenServiceUrl::parse(
            "https://my404687-api.s4hana.ondemand.com/sap/bc/sec/oauth2/token?sap-client=100",
            &s4(),
        )
        .unwrap();
        assert_eq!(
            c.value,
            "https://my404687-api.s4hana.ondemand.com/sap/bc/sec/oauth2/token"
        );
        assert!(
            c.warnings[0].contains("URL.queries.sap-client"),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn s4_host_accepts_pasted_url_and_derives_api_host() {
        let c = S4Host::parse(" https://my404687.s4hana.ondemand.com/ui#Shell-home ").unwrap();
        assert_eq!(c.value.host(), "my404687.s4hana.ondemand.com");
        assert_eq!(c.value.api_host(), "my404687-api.s4hana.ondemand.com");
        assert!(c.warnings.is_empty());
        let api = S4Host::parse("my404687-api.s4hana.cloud.sap").unwrap();
        assert_eq!(api.value.host(), "my404687.s4hana.cloud.sap");
        assert_eq!(api.warnings.len(), 1);
        assert!(S4Host::parse("sample_url.com").is_err());
        assert!(S4Host::parse("xy404687.s4hana.ondemand.com").is_err());
        assert_eq!(
            S4Host::parse("my4046.s4hana.ondemand.com")
                .unwrap()
                .warnings
                .len(),
            1
        );
    }

    #[test]
    fn token_url_and_audience_must_match_the_host() {
        let s4 = s4();
        assert!(TokenServiceUrl::parse(&s4.token_service_url(), &s4).is_ok());
        let e = TokenServiceUrl::parse(
            "https://my404687.s4hana.ondemand.com/sap/bc/sec/oauth2/token",
            &s4,
        )
        .unwrap_err();
        assert!(e.contains("-api"), "{e}");
        let e = TokenServiceUrl::parse(
            "https://my111111-api.s4hana.ondemand.com/sap/bc/sec/oauth2/token",
            &s4,
        )
        .unwrap_err();
        assert!(e.contains("tenant 111111"), "{e}");
        assert!(Saml2Audience::parse("https://my404687.s4hana.ondemand.com", &s4).is_ok());
        assert!(Saml2Audience::parse("https://my404687-api.s4hana.ondemand.com", &s4).is_err());
        assert!(ReplicationUrl::parse(&s4.replication_url("100"), &s4, "100").is_ok());
        assert!(ReplicationUrl::parse(&s4.replication_url("200"), &s4, "100").is_err());
    }

    #[test]
    fn ias_host() {
        assert_eq!(
            IasHost::parse("https://acme.accounts.ondemand.com/admin")
                .unwrap()
                .value
                .0,
            "acme.accounts.ondemand.com"
        );
        assert!(IasHost::parse("acme.accounts.cloud.sap").is_ok());
        assert!(IasHost::parse("acme.example.com").is_err());
    }
}
