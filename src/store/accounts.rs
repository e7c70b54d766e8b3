//! Accounts: users with argon2id hashes, single-use links, sessions (hashed in
//! SQLite, cached in memory), setup members and the audit trail.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

use super::{Member, Role, Store, secrets};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub is_admin: bool,
}

pub struct Session {
    pub user: User,
    last_seen: AtomicI64,
    persisted: AtomicI64,
}

pub struct Invite {
    pub user_name: Option<String>,
    pub is_admin: bool,
}

pub struct UserRow {
    pub user: User,
    pub has_password: bool,
    pub created_at: i64,
}

pub struct AuditRow {
    pub user_name: String,
    pub page: String,
    pub field: String,
    pub at: i64,
}

/// Hex SHA-256 of a token; runs on every signed-in request.
pub fn token_hash(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0x0f)] as char);
    }
    out
}

pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("{e}"))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

/// Checks the password; without a stored hash it still spends the same time,
/// so the answer does not tell whether the user exists.
async fn verify_password(hash: Option<String>, password: String) -> bool {
    // A real argon2id hash of a random string, used when the user is unknown.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2pHDyBoNxTN+vVJMf5V4zZxbyNIiWPMo0E4xYtIl6cE";
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let h = hash.unwrap_or_else(|| DUMMY.to_string());
        let ok = PasswordHash::new(&h)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && known
    })
    .await
    .unwrap_or(false)
}

type UserTuple = (i64, String, i64);

impl Store {
    pub async fn user_count(&self) -> anyhow::Result<i64> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM users WHERE password_hash IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        Ok(n)
    }

    pub async fn user_by_name(&self, name: &str) -> anyhow::Result<Option<User>> {
        let row: Option<UserTuple> =
            sqlx::query_as("SELECT id, name, is_admin FROM users WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, name, a)| User {
            id,
            name,
            is_admin: a != 0,
        }))
    }

    pub async fn users(&self) -> anyhow::Result<Vec<UserRow>> {
        let rows: Vec<(i64, String, i64, Option<String>, i64)> = sqlx::query_as(
            "SELECT id, name, is_admin, password_hash, created_at FROM users ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, a, h, created_at)| UserRow {
                user: User {
                    id,
                    name,
                    is_admin: a != 0,
                },
                has_password: h.is_some(),
                created_at,
            })
            .collect())
    }

    /// A single-use link token for setting a password. With no user name, the
    /// person chooses one (the first administrator).
    pub async fn create_invite(
        &self,
        user_name: Option<&str>,
        is_admin: bool,
        created_by: &str,
        valid_secs: i64,
        now: i64,
    ) -> anyhow::Result<String> {
        let token = secrets::random_hex(24)?;
        if user_name.is_none() {
            // Only the newest bootstrap link works.
            sqlx::query("DELETE FROM invites WHERE user_name IS NULL AND used_at IS NULL")
                .execute(&self.pool)
                .await?;
        }
        sqlx::query("INSERT INTO invites (token_hash, user_name, is_admin, created_by, expires_at) VALUES (?, ?, ?, ?, ?)")
            .bind(token_hash(&token))
            .bind(user_name)
            .bind(is_admin as i64)
            .bind(created_by)
            .bind(now + valid_secs)
            .execute(&self.pool)
            .await?;
        Ok(token)
    }

    pub async fn invite(&self, token: &str, now: i64) -> anyhow::Result<Option<Invite>> {
        let row: Option<(Option<String>, i64)> = sqlx::query_as(
            "SELECT user_name, is_admin FROM invites WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        )
        .bind(token_hash(token))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(user_name, a)| Invite {
            user_name,
            is_admin: a != 0,
        }))
    }

    /// Use a link: set the password of `name` (creating the user), once.
    pub async fn redeem_invite(
        &self,
        token: &str,
        name: &str,
        password: String,
        now: i64,
    ) -> anyhow::Result<Option<User>> {
        let hash = hash_password(password).await?;
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let invite: Option<(Option<String>, i64)> = sqlx::query_as(
            "UPDATE invites SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_name, is_admin",
        )
        .bind(now)
        .bind(token_hash(token))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((invited_name, is_admin)) = invite else {
            return Ok(None);
        };
        if invited_name.as_deref().is_some_and(|n| n != name) {
            return Ok(None);
        }
        let (id, is_admin): (i64, i64) = sqlx::query_as(
            "INSERT INTO users (name, password_hash, is_admin, created_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash,
               is_admin = MAX(users.is_admin, excluded.is_admin)
             RETURNING id, is_admin",
        )
        .bind(name)
        .bind(&hash)
        .bind(is_admin)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        // A new password ends every earlier session of that user.
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if let Ok(mut s) = self.sessions.write() {
            s.retain(|_, v| v.user.id != id);
        }
        Ok(Some(User {
            id,
            name: name.to_string(),
            is_admin: is_admin != 0,
        }))
    }

    pub async fn verify_login(&self, name: &str, password: &str) -> anyhow::Result<Option<User>> {
        let row: Option<(i64, String, i64, Option<String>)> =
            sqlx::query_as("SELECT id, name, is_admin, password_hash FROM users WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        let hash = row.as_ref().and_then(|r| r.3.clone());
        if verify_password(hash, password.to_string()).await {
            Ok(row.map(|(id, name, a, _)| User {
                id,
                name,
                is_admin: a != 0,
            }))
        } else {
            Ok(None)
        }
    }

    pub async fn create_session(&self, user: &User, now: i64) -> anyhow::Result<String> {
        let token = secrets::random_hex(32)?;
        let hash = token_hash(&token);
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen) VALUES (?, ?, ?, ?)",
        )
        .bind(&hash)
        .bind(user.id)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let session = Arc::new(Session {
            user: user.clone(),
            last_seen: AtomicI64::new(now),
            persisted: AtomicI64::new(now),
        });
        if let Ok(mut s) = self.sessions.write() {
            s.insert(hash, session);
        }
        Ok(token)
    }

    pub(super) async fn load_sessions(&self) -> anyhow::Result<()> {
        let rows: Vec<(String, i64, String, i64, i64)> = sqlx::query_as(
            "SELECT s.token_hash, u.id, u.name, u.is_admin, s.last_seen FROM sessions s JOIN users u ON u.id = s.user_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut map = self
            .sessions
            .write()
            .map_err(|_| anyhow::anyhow!("sessions poisoned"))?;
        for (hash, id, name, a, last_seen) in rows {
            map.insert(
                hash,
                Arc::new(Session {
                    user: User {
                        id,
                        name,
                        is_admin: a != 0,
                    },
                    last_seen: AtomicI64::new(last_seen),
                    persisted: AtomicI64::new(last_seen),
                }),
            );
        }
        Ok(())
    }

    /// The user of a live session, refreshing its idle timer; expired sessions end.
    pub async fn session(&self, token: &str, idle_secs: i64, now: i64) -> Option<User> {
        let hash = token_hash(token);
        let session = self.sessions.read().ok()?.get(&hash).cloned()?;
        if now - session.last_seen.load(Ordering::Relaxed) > idle_secs {
            let _ = self.end_session(token).await;
            return None;
        }
        session.last_seen.store(now, Ordering::Relaxed);
        // Persist the idle timer at most once a minute, off the request path.
        if now - session.persisted.swap(now, Ordering::Relaxed) >= 60 {
            let pool = self.pool.clone();
            tokio::spawn(async move {
                let _ = sqlx::query("UPDATE sessions SET last_seen = ? WHERE token_hash = ?")
                    .bind(now)
                    .bind(hash)
                    .execute(&pool)
                    .await;
            });
        }
        Some(session.user.clone())
    }

    pub async fn end_session(&self, token: &str) -> anyhow::Result<()> {
        let hash = token_hash(token);
        if let Ok(mut s) = self.sessions.write() {
            s.remove(&hash);
        }
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(&hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Share a setup with a user (or change their role); `None` removes them.
    pub async fn set_member(
        &self,
        setup_id: &str,
        user: &User,
        role: Option<Role>,
    ) -> anyhow::Result<()> {
        let _w = self.write.lock().await;
        let Some(current) = self.setup(setup_id) else {
            return Ok(());
        };
        match role {
            Some(r) => {
                sqlx::query(
                    "INSERT INTO setup_members (setup_id, user_id, role) VALUES (?, ?, ?)
                     ON CONFLICT (setup_id, user_id) DO UPDATE SET role = excluded.role",
                )
                .bind(setup_id)
                .bind(user.id)
                .bind(r.as_str())
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM setup_members WHERE setup_id = ? AND user_id = ?")
                    .bind(setup_id)
                    .bind(user.id)
                    .execute(&self.pool)
                    .await?;
            }
        }
        let mut next = (*current).clone();
        next.members.retain(|m| m.user_id != user.id);
        if let Some(role) = role {
            next.members.push(Member {
                user_id: user.id,
                name: user.name.clone(),
                role,
            });
            next.members.sort_by(|a, b| a.name.cmp(&b.name));
        }
        self.put(next)?;
        Ok(())
    }

    pub async fn audit(&self, setup_id: &str) -> anyhow::Result<Vec<AuditRow>> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT user_name, page, field, at FROM audit WHERE setup_id = ? ORDER BY at DESC, id DESC LIMIT 500",
        )
        .bind(setup_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(user_name, page, field, at)| AuditRow {
                user_name,
                page,
                field,
                at,
            })
            .collect())
    }

    /// Name of a user by id (owners in pages).
    pub async fn user_name(&self, id: i64) -> anyhow::Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT name FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.0))
    }
}
