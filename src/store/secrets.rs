//! Encryption at rest for secret answers (XChaCha20-Poly1305 under a master key).

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const PREFIX: &str = "enc:v1:";

pub struct Cipher {
    aead: XChaCha20Poly1305,
}

impl Cipher {
    pub fn from_hex(hex: &str) -> anyhow::Result<Self> {
        let bytes = ::hex::decode(hex.trim())
            .ok()
            .context("the secret key must be 64 hexadecimal characters")?;
        if bytes.len() != 32 {
            bail!("the secret key must be 64 hexadecimal characters (32 bytes)");
        }
        Ok(Cipher {
            aead: XChaCha20Poly1305::new_from_slice(&bytes).context("bad key length")?,
        })
    }

    /// Read the key file, creating it (mode 0600) with a fresh key when absent.
    pub fn from_file_or_create(path: &Path) -> anyhow::Result<Self> {
        if path.exists() {
            let hex = std::fs::read_to_string(path)
                .with_context(|| format!("reading the key file {}", path.display()))?;
            return Self::from_hex(&hex).with_context(|| format!("key file {}", path.display()));
        }
        let hex = random_hex(32)?;
        write_private(path, &hex)
            .with_context(|| format!("creating the key file {}", path.display()))?;
        Self::from_hex(&hex)
    }

    /// A fresh random key, returned with its hex form for the key file.
    pub fn generate() -> anyhow::Result<(Self, String)> {
        let hex = random_hex(32)?;
        Ok((Self::from_hex(&hex)?, hex))
    }

    pub fn encrypt(&self, plain: &str) -> anyhow::Result<String> {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let ct = self
            .aead
            .encrypt(&XNonce::from(nonce), plain.as_bytes())
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut blob = nonce.to_vec();
        blob.extend(ct);
        Ok(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(blob)
        ))
    }

    /// `None` for anything that is not our ciphertext under this key.
    pub fn decrypt(&self, stored: &str) -> Option<String> {
        let b64 = stored.strip_prefix(PREFIX)?;
        let blob = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(b64)
            .ok()?;
        if blob.len() < 24 {
            return None;
        }
        let (nonce, ct) = blob.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().ok()?;
        let plain = self.aead.decrypt(&XNonce::from(nonce), ct).ok()?;
        String::from_utf8(plain).ok()
    }
}

pub fn is_ciphertext(s: &str) -> bool {
    s.starts_with(PREFIX)
}

pub fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(::hex::encode(buf))
}

/// Open (creating if absent) a file readable by its owner only.
pub fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

pub fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let a = Cipher::from_hex(&"11".repeat(32)).unwrap();
        let b = Cipher::from_hex(&"22".repeat(32)).unwrap();
        let c = a.encrypt("topsecret").unwrap();
        assert!(!c.contains("topsecret"));
        assert_eq!(a.decrypt(&c).as_deref(), Some("topsecret"));
        assert_eq!(b.decrypt(&c), None);
        assert_ne!(a.encrypt("topsecret").unwrap(), c, "nonces must differ");
        assert!(Cipher::from_hex("abc").is_err());
    }
}
