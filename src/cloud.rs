//! SAP BTP Cloud Foundry: the bound PostgreSQL (`VCAP_SERVICES`), the public
//! route (`VCAP_APPLICATION`) and the port (`PORT`) become serve options,
//! unless they were given explicitly.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use crate::config::{DEFAULT_DATABASE, DEFAULT_LISTEN, ServeArgs};

/// What Cloud Foundry tells the app, as read from its environment.
#[derive(Debug, Default, Clone)]
pub struct Env {
    pub vcap_services: Option<String>,
    pub vcap_application: Option<String>,
    pub port: Option<String>,
}

impl Env {
    pub fn from_process() -> Env {
        Env {
            vcap_services: std::env::var("VCAP_SERVICES").ok(),
            vcap_application: std::env::var("VCAP_APPLICATION").ok(),
            port: std::env::var("PORT").ok(),
        }
    }
}

/// Apply Cloud Foundry's environment to `args` where they still hold their
/// defaults. `dir` receives the database's CA certificate (0600). Returns
/// what was taken from where, for the log (never a password).
pub fn apply(args: &mut ServeArgs, env: &Env, dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut notes = Vec::new();
    if let Some(services) = &env.vcap_services
        && args.store.database == Path::new(DEFAULT_DATABASE)
    {
        let services: Value =
            serde_json::from_str(services).context("VCAP_SERVICES is not JSON")?;
        if let Some((name, url)) = postgres_url(&services, dir)? {
            args.store.database = PathBuf::from(url);
            notes.push(format!("database: the bound PostgreSQL service {name}"));
        }
    }
    if let Some(app) = &env.vcap_application
        && args.public_url.is_none()
    {
        let app: Value = serde_json::from_str(app).context("VCAP_APPLICATION is not JSON")?;
        if let Some(uri) = app["application_uris"]
            .as_array()
            .and_then(|u| u.first())
            .and_then(Value::as_str)
        {
            args.public_url = Some(format!("https://{uri}"));
            // The router speaks https to browsers: the cookie must say so.
            args.secure_cookies = true;
            notes.push(format!("public URL: https://{uri} (its first route)"));
        }
    }
    if let Some(port) = &env.port
        && args.listen.to_string() == DEFAULT_LISTEN
    {
        let port: u16 = port.trim().parse().context("PORT is not a port number")?;
        args.listen = SocketAddr::from(([0, 0, 0, 0], port));
        notes.push(format!("listening on port {port} (PORT)"));
    }
    Ok(notes)
}

/// The first PostgreSQL service in `VCAP_SERVICES` (SAP BTP's
/// `postgresql-db`, or any service tagged or labelled postgres) as a URL.
fn postgres_url(services: &Value, dir: &Path) -> anyhow::Result<Option<(String, String)>> {
    let Some(all) = services.as_object() else {
        return Ok(None);
    };
    let is_pg = |label: &str, s: &Value| {
        label.contains("postgres")
            || s["tags"].as_array().is_some_and(|t| {
                t.iter()
                    .any(|t| t.as_str().is_some_and(|t| t.contains("postgres")))
            })
    };
    let Some((label, binding)) = all
        .iter()
        .flat_map(|(label, list)| {
            list.as_array()
                .into_iter()
                .flatten()
                .map(move |s| (label.as_str(), s))
        })
        .find(|(label, s)| is_pg(label, s))
    else {
        return Ok(None);
    };
    let c = &binding["credentials"];
    let text = |k: &str| match &c[k] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let name = binding["name"].as_str().unwrap_or(label).to_string();
    let (Some(host), Some(db), Some(user)) = (
        text("hostname").or_else(|| text("host")),
        text("dbname").or_else(|| text("database")),
        text("username").or_else(|| text("user")),
    ) else {
        anyhow::bail!(
            "the PostgreSQL service {name} has no hostname, dbname or username in its credentials"
        );
    };
    let mut url = url::Url::parse("postgres://localhost").context("building the database URL")?;
    url.set_host(Some(&host))
        .with_context(|| format!("the PostgreSQL service {name} names an odd host"))?;
    let port = text("port")
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(5432);
    url.set_port(Some(port)).ok();
    url.set_username(&user).ok();
    if let Some(pw) = text("password") {
        url.set_password(Some(&pw)).ok();
    }
    url.set_path(&db);
    match text("sslrootcert") {
        Some(pem) if pem.contains("BEGIN CERTIFICATE") => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let path = dir.join("postgresql-ca.pem");
            crate::store::secrets::write_private(&path, &pem)
                .with_context(|| format!("writing {}", path.display()))?;
            url.query_pairs_mut()
                .append_pair("sslmode", "verify-ca")
                .append_pair("sslrootcert", &path.to_string_lossy());
        }
        _ => {
            url.query_pairs_mut().append_pair("sslmode", "prefer");
        }
    }
    Ok(Some((name, url.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_database_with_a_ca_certificate_is_verified_and_explicit_options_win() {
        let dir = std::env::temp_dir().join(format!("tcw-cloud-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let env = Env {
            vcap_services: Some(r#"{"postgresql-db":[{"name":"db","credentials":{"hostname":"pg.example","port":"2345","dbname":"x","username":"u","password":"p@ss","sslrootcert":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}}]}"#.into()),
            vcap_application: Some(r#"{"application_uris":["w.cfapps.eu10.hana.ondemand.com"]}"#.into()),
            port: Some("9090".into()),
        };
        let mut args = ServeArgs::for_database(PathBuf::from("taskcenter-wizard.db"));
        args.listen = SocketAddr::from(([127, 0, 0, 1], 8080));
        let notes = apply(&mut args, &env, &dir).expect("apply");
        let url = args.store.database.to_string_lossy().to_string();
        assert!(
            url.starts_with("postgres://u:p%40ss@pg.example:2345/x?sslmode=verify-ca&sslrootcert="),
            "{url}"
        );
        assert_eq!(
            args.public_url.as_deref(),
            Some("https://w.cfapps.eu10.hana.ondemand.com")
        );
        assert!(args.secure_cookies);
        assert_eq!(args.listen, SocketAddr::from(([0, 0, 0, 0], 9090)));
        assert_eq!(notes.len(), 3);
        assert!(
            notes
                .iter()
                .all(|n| !n.contains("p@ss") && !n.contains("p%40ss"))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("postgresql-ca.pem"))
                .expect("ca")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Given explicitly, the command line wins over the binding.
        let mut explicit = ServeArgs::for_database(PathBuf::from("/data/mine.db"));
        explicit.public_url = Some("https://mine.example".into());
        let _ = std::fs::remove_dir_all(&dir);
        apply(&mut explicit, &env, &dir).expect("apply");
        assert_eq!(explicit.store.database, PathBuf::from("/data/mine.db"));
        assert_eq!(explicit.public_url.as_deref(), Some("https://mine.example"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
