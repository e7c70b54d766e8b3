//! X.509 bindings (sap-apis-btp.md O.3): a sandbox CA signs the Task Center
//! key's client certificate, and `certurl` is a TLS listener of its own that
//! requires a client certificate and issues tokens for the binding whose
//! certificate was presented — a real mutual TLS handshake, on loopback.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::{IncomingStream, Listener};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::Shared;

/// The CA, the server's certificate and the binding's client certificate,
/// all from the demo seed (the same on every start, like every demo value).
pub struct Pki {
    pub ca_pem: String,
    server_der: Vec<u8>,
    server_key_der: Vec<u8>,
    /// The binding's certificate (leaf, then the CA) and its private key,
    /// as SAP puts them in `uaa.certificate` and `uaa.key` (PKCS#1 RSA).
    pub client_chain_pem: String,
    pub client_key_pem: String,
    client_der: Vec<u8>,
    /// The CA, to sign the certificates of bindings made later (O.3 1).
    ca_params: rcgen::CertificateParams,
    ca_key: rcgen::KeyPair,
}

/// A client certificate issued for a binding: what its key holds, and
/// what `certurl` accepts.
pub struct Issued {
    pub chain_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
    pub not_after: time::OffsetDateTime,
}

impl Pki {
    /// Sign a new binding's certificate, valid `days` from today (O.1: SAP
    /// issues them for at most a year). The key is RSA as SAP's (PKCS#1).
    pub fn issue(&self, cn: &str, serial: u64, days: i64) -> anyhow::Result<Issued> {
        use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
        let rsa = seeded_rsa(&format!("mtls-binding/{cn}/{serial}"))?;
        let key = key_pair(&rsa)?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "SAP SE");
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::minutes(5);
        params.not_after = now + time::Duration::days(days);
        params.serial_number = Some(rcgen::SerialNumber::from(100 + serial));
        let issuer = rcgen::Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(Issued {
            chain_pem: format!("{}{}", cert.pem(), self.ca_pem),
            key_pem: rsa
                .to_pkcs1_pem(LineEnding::LF)
                .map_err(|e| anyhow::anyhow!("encoding a binding's key: {e}"))?
                .to_string(),
            der: cert.der().to_vec(),
            not_after: params.not_after,
        })
    }
}

/// x509 bindings are valid one year at most (O.1): the sandbox's is that of
/// the year the day falls in, counted from 2026-01-01.
fn binding_year(now: time::OffsetDateTime) -> time::OffsetDateTime {
    let anchor = time::macros::datetime!(2026-01-01 0:00 UTC);
    let k = (now - anchor).whole_days().max(0) / 365;
    anchor + time::Duration::days(k * 365)
}

fn seeded_rsa(label: &str) -> anyhow::Result<rsa::RsaPrivateKey> {
    use rand_chacha::rand_core::SeedableRng;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(super::seeded(label, 32), &mut seed)?;
    Ok(rsa::RsaPrivateKey::new(
        &mut rand_chacha::ChaCha20Rng::from_seed(seed),
        2048,
    )?)
}

fn key_pair(key: &rsa::RsaPrivateKey) -> anyhow::Result<rcgen::KeyPair> {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("encoding a sandbox key: {e}"))?;
    Ok(rcgen::KeyPair::from_pem_and_sign_algo(
        &pem,
        &rcgen::PKCS_RSA_SHA256,
    )?)
}

/// Made once per process: RSA key generation is slow.
pub fn pki(subdomain: &str) -> anyhow::Result<&'static Pki> {
    static PKI: OnceLock<Pki> = OnceLock::new();
    if let Some(p) = PKI.get() {
        return Ok(p);
    }
    let made = make(subdomain)?;
    Ok(PKI.get_or_init(|| made))
}

fn make(subdomain: &str) -> anyhow::Result<Pki> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyUsagePurpose};
    use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
    let from = binding_year(time::OffsetDateTime::now_utc());
    let until = from + time::Duration::days(365);

    let ca_key = key_pair(&seeded_rsa("mtls-ca")?)?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "SAP Cloud Root CA (sandbox)");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = from;
    ca.not_after = until + time::Duration::days(365);
    ca.serial_number = Some(rcgen::SerialNumber::from(1u64));
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::from_params(&ca, &ca_key);

    // The server's own certificate for every `certurl` host of the region.
    let server_key = key_pair(&seeded_rsa("mtls-server")?)?;
    let mut server = CertificateParams::new(vec![
        "*.authentication.cert.eu10.hana.ondemand.com".to_string(),
    ])?;
    server.distinguished_name.push(
        DnType::CommonName,
        "*.authentication.cert.eu10.hana.ondemand.com",
    );
    server.not_before = from;
    server.not_after = until;
    server.serial_number = Some(rcgen::SerialNumber::from(2u64));
    let server_cert = server.signed_by(&server_key, &issuer)?;

    let client_rsa = seeded_rsa("mtls-client")?;
    let client_key = key_pair(&client_rsa)?;
    let mut client = CertificateParams::new(Vec::<String>::new())?;
    client.distinguished_name.push(
        DnType::CommonName,
        format!("{subdomain} Task Center binding (x509)"),
    );
    client
        .distinguished_name
        .push(DnType::OrganizationName, "SAP SE");
    client.not_before = from;
    client.not_after = until;
    client.serial_number = Some(rcgen::SerialNumber::from(3u64));
    let client_cert = client.signed_by(&client_key, &issuer)?;

    Ok(Pki {
        ca_pem: ca_cert.pem(),
        server_der: server_cert.der().to_vec(),
        server_key_der: server_key.serialize_der(),
        client_chain_pem: format!("{}{}", client_cert.pem(), ca_cert.pem()),
        client_key_pem: client_rsa
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|e| anyhow::anyhow!("encoding the binding's key: {e}"))?
            .to_string(),
        client_der: client_cert.der().to_vec(),
        ca_params: ca,
        ca_key,
    })
}

/// The leaf certificate a client presented in its TLS handshake.
#[derive(Clone)]
pub struct Peer(Option<Vec<u8>>);

struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            // A client without the right certificate fails here, as at SAP.
            match self.acceptor.accept(tcp).await {
                Ok(tls) => return (tls, addr),
                Err(e) => tracing::debug!(error = %e, "sandbox mTLS handshake refused"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

impl axum::extract::connect_info::Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Peer {
        let (_, session) = stream.io().get_ref();
        Peer(
            session
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec()),
        )
    }
}

/// Serve `certurl` on loopback; returns its address.
pub async fn start(sb: Shared, listen: SocketAddr) -> anyhow::Result<SocketAddr> {
    let pki = pki(&sb.demo.subdomain)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let ca_der = rustls::pki_types::pem::PemObject::from_pem_slice(pki.ca_pem.as_bytes())
        .map_err(|e| anyhow::anyhow!("the sandbox CA: {e}"))?;
    roots.add(ca_der)?;
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(pki.server_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key_der.clone())),
        )?;
    let tcp = tokio::net::TcpListener::bind(listen).await?;
    let addr = tcp.local_addr()?;
    let listener = TlsListener {
        tcp,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    };
    let app = Router::new()
        .route("/oauth/token", post(token))
        .with_state(sb);
    tokio::spawn(async move {
        let svc = app.into_make_service_with_connect_info::<Peer>();
        if let Err(e) = axum::serve(listener, svc).await {
            tracing::error!(error = %e, "sandbox mTLS listener stopped");
        }
    });
    Ok(addr)
}

/// `POST {certurl}/oauth/token` (O.3 item 2): the binding is the one whose
/// certificate was presented; `client_id` must be its client; a secret is
/// ignored. Then the same grants and claims as with a secret.
async fn token(
    State(sb): State<Shared>,
    ConnectInfo(Peer(presented)): ConnectInfo<Peer>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Response {
    let Ok(pki) = pki(&sb.demo.subdomain) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let client = form
        .iter()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.as_str());
    let demo = presented.as_deref() == Some(pki.client_der.as_slice())
        && client == Some(sb.demo.tc_x509_clientid.as_str());
    // A binding made through Service Manager: its own certificate, unexpired.
    let bound = sb.x509.lock().ok().and_then(|b| {
        b.iter()
            .find(|(id, der, until)| {
                Some(id.as_str()) == client
                    && presented.as_deref() == Some(der.as_slice())
                    && *until > time::OffsetDateTime::now_utc()
            })
            .map(|(id, _, _)| id.clone())
    });
    let Some(id) = bound.or(demo.then(|| sb.demo.tc_x509_clientid.clone())) else {
        return super::wire::oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad credentials",
        );
    };
    super::xsuaa::grant(&sb, &id, &headers, &query, &form).await
}
