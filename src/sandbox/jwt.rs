//! RS256 JSON Web Tokens for the sandbox's XSUAA, with its JWKS.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::Sha256;

pub struct Keys {
    signing: SigningKey<Sha256>,
    pub kid: String,
    pub jwk: Value,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// One key pair per process: generating RSA keys is slow, and the sandbox's
/// tokens only need to be verifiable, not unique per instance.
pub fn keys() -> anyhow::Result<Arc<Keys>> {
    static KEYS: OnceLock<Arc<Keys>> = OnceLock::new();
    if let Some(k) = KEYS.get() {
        return Ok(k.clone());
    }
    let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)?;
    let public = private.to_public_key();
    let kid = "sandbox-key-1".to_string();
    let pem = public
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("encoding the public key: {e}"))?;
    let jwk = json!({
        "kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
        "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be()),
        "value": pem,
    });
    let k = Arc::new(Keys {
        signing: SigningKey::<Sha256>::new(private),
        kid,
        jwk,
    });
    Ok(KEYS.get_or_init(|| k).clone())
}

/// A JWT as XSUAA signs it: `kid` and an absolute `jku` on the subdomain host (A.7).
pub fn sign(keys: &Keys, claims: &Value, uaa_url: &str) -> String {
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": keys.kid, "jku": format!("{uaa_url}/token_keys")});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = keys.signing.sign(input.as_bytes()).to_bytes();
    format!("{input}.{}", b64(&sig))
}
