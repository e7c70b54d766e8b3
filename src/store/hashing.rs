//! Argon2id for passwords and export passphrases: a bounded pool of threads,
//! each hashing into memory it allocates once and reuses.

use std::cell::RefCell;
use std::sync::{Arc, LazyLock};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The pool was full: the caller should answer "busy, try again".
#[derive(Debug, thiserror::Error)]
#[error("too many password checks at once")]
pub struct Busy;

/// Argon2 needs about 19 MB and a core for a moment. It runs on a few
/// long-lived threads (one per core), each hashing into one buffer it keeps
/// and reuses, so hashing costs at most threads x 19 MB however many come.
/// A short queue waits; beyond it, `Busy`. (Allocating 19 MB per hash made
/// glibc keep a copy per malloc arena: 330 MB after 30 sign-ins.)
struct HashPool {
    jobs: std::sync::mpsc::SyncSender<Box<dyn FnOnce() + Send>>,
}

const MAX_HASH_WAITING: usize = 16;

static HASH_POOL: LazyLock<Option<HashPool>> = LazyLock::new(|| {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Box<dyn FnOnce() + Send>>(MAX_HASH_WAITING);
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    for i in 0..threads {
        let rx = rx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("hash-{i}"))
            .spawn(move || {
                loop {
                    let job = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        if spawned.is_err() {
            return None;
        }
    }
    Some(HashPool { jobs: tx })
});

/// Run CPU-heavy work (argon2: passwords, passphrases) on the bounded pool.
pub async fn hash_pool<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let pool = HASH_POOL
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the password hashing threads could not start"))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Box<dyn FnOnce() + Send> = Box::new(move || {
        let _ = tx.send(f());
    });
    match pool.jobs.try_send(job) {
        Ok(()) => {}
        Err(std::sync::mpsc::TrySendError::Full(_)) => return Err(Busy.into()),
        Err(std::sync::mpsc::TrySendError::Disconnected(_)) => {
            anyhow::bail!("the password hashing threads stopped")
        }
    }
    Ok(rx.await?)
}

/// The most memory a stored hash may ask for (ours use 19 MiB).
const MAX_KIB: u32 = 64 * 1024;

thread_local! {
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2 into `out` with this thread's reusable memory.
fn argon2_into(
    a: &Argon2,
    blocks: usize,
    pwd: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> anyhow::Result<()> {
    BLOCKS.with(|b| {
        let mut b = b
            .try_borrow_mut()
            .map_err(|_| anyhow::anyhow!("hashing memory in use"))?;
        if b.len() < blocks {
            b.resize(blocks, Block::default());
        }
        a.hash_password_into_with_memory(pwd, salt, out, &mut b[..blocks])
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
}

/// A new PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) for a password.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let params = Params::default();
    let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; 32];
    argon2_into(
        &a,
        params.block_count(),
        password.as_bytes(),
        &salt,
        &mut out,
    )?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("{e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("{e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("{e}"))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string (compared in constant time).
pub fn verify_password(phc: &str, password: &str) -> bool {
    let check = || -> Option<bool> {
        let parsed = PasswordHash::new(phc).ok()?;
        let params = Params::try_from(&parsed).ok()?;
        if params.m_cost() > MAX_KIB {
            return None;
        }
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let expected = parsed.hash?;
        let mut salt = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
        let mut out = vec![0u8; expected.len()];
        let a = Argon2::new(algorithm, version, params.clone());
        argon2_into(
            &a,
            params.block_count(),
            password.as_bytes(),
            salt,
            &mut out,
        )
        .ok()?;
        Some(Output::new(&out).ok()? == expected)
    };
    check().unwrap_or(false)
}

/// A 32-byte key from a passphrase (exports), with the default parameters.
pub fn derive_key(passphrase: &str, salt: &[u8]) -> anyhow::Result<[u8; 32]> {
    let params = Params::default();
    let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut key = [0u8; 32];
    argon2_into(
        &a,
        params.block_count(),
        passphrase.as_bytes(),
        salt,
        &mut key,
    )?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_match_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_password("correct horse").unwrap();
        assert!(verify_password(&ours, "correct horse"));
        assert!(!verify_password(&ours, "wrong horse"));
        // The crate's own verifier accepts ours, and ours accepts the crate's.
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"pw", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password(&theirs, "pw") && !verify_password(&theirs, "px"));
        assert!(!verify_password("not a hash", "pw"));
        let mut k = [0u8; 32];
        Argon2::default()
            .hash_password_into(b"pass", b"saltsaltsaltsalt", &mut k)
            .unwrap();
        assert_eq!(derive_key("pass", b"saltsaltsaltsalt").unwrap(), k);
    }
}
