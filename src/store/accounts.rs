//! Accounts: users with argon2id hashes, single-use links, sessions (hashed in
//! SQLite, cached in memory), setup members and the audit trail.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use sha2::{Digest, Sha256};

use super::hashing::{self, hash_pool};
use super::{Member, Role, Store, secrets};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub is_admin: bool,
}

pub struct Session {
    pub user: User,
    created_at: i64,
    last_seen: AtomicI64,
    persisted: AtomicI64,
}

/// How long sessions live: without a request (`idle`) and at most (`max`).
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    pub idle: i64,
    pub max: i64,
}

impl SessionLimits {
    fn expired(&self, s: &Session, now: i64) -> bool {
        now - s.last_seen.load(Ordering::Relaxed) > self.idle || now - s.created_at > self.max
    }
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
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub async fn hash_password(password: String) -> anyhow::Result<String> {
    hash_pool(move || hashing::hash_password(&password)).await?
}

/// Checks the password; without a stored hash it still spends the same time,
/// so the answer does not tell whether the user exists.
async fn verify_password(hash: Option<String>, password: String) -> anyhow::Result<bool> {
    // A real argon2id hash of a random string, used when the user is unknown.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2pHDyBoNxTN+vVJMf5V4zZxbyNIiWPMo0E4xYtIl6cE";
    hash_pool(move || {
        let known = hash.is_some();
        let h = hash.unwrap_or_else(|| DUMMY.to_string());
        hashing::verify_password(&h, &password) && known
    })
    .await
}

type UserTuple = (i64, String, i64);

const ENDED_KEPT_SECS: i64 = 15 * 60;
const MAX_ENDED: usize = 10_000;
/// A session unused this long leaves memory (not the database).
pub const MEMORY_IDLE_SECS: i64 = 15 * 60;

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
            sqlx::query_as("SELECT id, name, is_admin FROM users WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(user_of))
    }

    pub async fn user_by_id(&self, id: i64) -> anyhow::Result<Option<User>> {
        let row: Option<UserTuple> =
            sqlx::query_as("SELECT id, name, is_admin FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(user_of))
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
        // Only the newest unused link of a person (or of the bootstrap) works.
        sqlx::query(
            "DELETE FROM invites WHERE user_name IS NOT DISTINCT FROM $1 AND used_at IS NULL",
        )
        .bind(user_name)
        .execute(&self.pool)
        .await?;
        sqlx::query("INSERT INTO invites (token_hash, user_name, is_admin, created_by, expires_at) VALUES ($1, $2, $3, $4, $5)")
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
            "SELECT user_name, is_admin FROM invites WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
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
    /// A user for a unit test, signed up through an invite as anyone is.
    #[cfg(test)]
    pub async fn test_user(&self, name: &str, now: i64) -> User {
        let invite = self
            .create_invite(Some(name), false, "test", 60, now)
            .await
            .unwrap();
        self.redeem_invite(&invite, name, "a long passphrase".into(), now)
            .await
            .unwrap()
            .unwrap()
    }

    pub async fn redeem_invite(
        &self,
        token: &str,
        name: &str,
        password: String,
        now: i64,
    ) -> anyhow::Result<Option<User>> {
        let hash = hash_password(password).await?;
        let _w = self.write.lock().await;
        let mut tx = self.begin_write().await?;
        let invite: Option<(Option<String>, i64)> = sqlx::query_as(
            "UPDATE invites SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_name, is_admin",
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
        // Any other open link of this person stops working too.
        sqlx::query("DELETE FROM invites WHERE user_name = $1 AND used_at IS NULL")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let (id, is_admin): (i64, i64) = sqlx::query_as(
            "INSERT INTO users (name, password_hash, is_admin, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash,
               is_admin = CASE WHEN excluded.is_admin > users.is_admin THEN excluded.is_admin ELSE users.is_admin END
             RETURNING id, is_admin",
        )
        .bind(name)
        .bind(&hash)
        .bind(is_admin)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        // A new password ends every earlier session of that user.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
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
            sqlx::query_as("SELECT id, name, is_admin, password_hash FROM users WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        let hash = row.as_ref().and_then(|r| r.3.clone());
        if verify_password(hash, password.to_string()).await? {
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
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen) VALUES ($1, $2, $3, $4)",
        )
        .bind(&hash)
        .bind(user.id)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let session = Arc::new(Session {
            user: user.clone(),
            created_at: now,
            last_seen: AtomicI64::new(now),
            persisted: AtomicI64::new(now),
        });
        if let Ok(mut s) = self.sessions.write() {
            s.insert(hash, session);
        }
        Ok(token)
    }

    /// The user of a live session, refreshing its idle timer; expired sessions end.
    pub async fn session(&self, token: &str, limits: SessionLimits, now: i64) -> Option<User> {
        let hash = token_hash(token);
        // Another instance may have ended it, or changed the user; here it
        // may simply not be loaded yet (sessions load when used).
        if self.shared || !self.sessions.read().ok()?.contains_key(&hash) {
            self.refresh_session(&hash).await?;
        }
        let session = self.sessions.read().ok()?.get(&hash).cloned()?;
        if limits.expired(&session, now) {
            let _ = self.end_session(token).await;
            self.remember_ended(hash, now);
            return None;
        }
        session.last_seen.store(now, Ordering::Relaxed);
        // Persist the idle timer at most once a minute, off the request path.
        if now - session.persisted.swap(now, Ordering::Relaxed) >= 60 {
            let pool = self.pool.clone();
            tokio::spawn(async move {
                let _ = sqlx::query("UPDATE sessions SET last_seen = $1 WHERE token_hash = $2")
                    .bind(now)
                    .bind(hash)
                    .execute(&pool)
                    .await;
            });
        }
        Some(session.user.clone())
    }

    /// The session as the shared database has it now, into memory (keeping
    /// the later idle timer); `None` and forgotten when it is gone there.
    async fn refresh_session(&self, hash: &str) -> Option<()> {
        let row: Option<(i64, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT u.id, u.name, u.is_admin, s.created_at, s.last_seen FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await
        .ok()?;
        let mut map = self.sessions.write().ok()?;
        let Some((id, name, a, created_at, last_seen)) = row else {
            map.remove(hash);
            return None;
        };
        let user = User {
            id,
            name,
            is_admin: a != 0,
        };
        let known = map
            .get(hash)
            .filter(|s| s.user == user)
            .map(|s| s.last_seen.load(Ordering::Relaxed));
        if known.is_none() {
            map.insert(
                hash.to_string(),
                Arc::new(Session {
                    user,
                    created_at,
                    last_seen: AtomicI64::new(last_seen),
                    persisted: AtomicI64::new(last_seen),
                }),
            );
        } else if let Some(s) = map.get(hash)
            && last_seen > s.last_seen.load(Ordering::Relaxed)
        {
            s.last_seen.store(last_seen, Ordering::Relaxed);
        }
        Some(())
    }

    /// Whether this instance offers the first administrator's link. Alone on
    /// a SQLite file it always does; on a shared database exactly one
    /// instance does until that link expires.
    pub async fn claim_bootstrap(&self, expires_at: i64, now: i64) -> anyhow::Result<bool> {
        if !self.shared {
            return Ok(true);
        }
        let r = sqlx::query(
            "INSERT INTO bootstrap (id, expires_at) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE bootstrap.expires_at < $2",
        )
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Sessions that ended by timeout, for a while: a form posted with one of
    /// their cookies may be kept for sign-in; anonymous posts never are.
    fn remember_ended(&self, hash: String, now: i64) {
        if let Ok(mut ended) = self.ended.lock() {
            ended.retain(|_, at| now - *at < ENDED_KEPT_SECS);
            if ended.len() < MAX_ENDED {
                ended.insert(hash, now);
            }
        }
    }

    /// Whether this cookie belonged to a session that timed out recently.
    pub fn ended_recently(&self, token: &str, now: i64) -> bool {
        self.ended.lock().is_ok_and(|e| {
            e.get(&token_hash(token))
                .is_some_and(|at| now - *at < ENDED_KEPT_SECS)
        })
    }

    /// End every session past its limits, in memory and in the database;
    /// forget from memory the ones unused for `MEMORY_IDLE_SECS` (they load
    /// again from the database when used).
    pub async fn prune_sessions(&self, limits: SessionLimits, now: i64) -> anyhow::Result<usize> {
        let expired: Vec<String> = match self.sessions.write() {
            Ok(mut s) => {
                let gone: Vec<String> = s
                    .iter()
                    .filter(|(_, v)| limits.expired(v, now))
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in &gone {
                    s.remove(k);
                }
                gone
            }
            Err(_) => Vec::new(),
        };
        for hash in &expired {
            self.remember_ended(hash.clone(), now);
        }
        // The idle timer of a session leaving memory is kept in the database
        // (requests write it at most once a minute).
        let resting: Vec<(String, i64)> = match self.sessions.write() {
            Ok(mut s) => {
                let idle: Vec<String> = s
                    .iter()
                    .filter(|(_, v)| now - v.last_seen.load(Ordering::Relaxed) > MEMORY_IDLE_SECS)
                    .map(|(k, _)| k.clone())
                    .collect();
                idle.into_iter()
                    .filter_map(|k| {
                        s.remove(&k)
                            .map(|v| (k, v.last_seen.load(Ordering::Relaxed)))
                    })
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        for (hash, seen) in &resting {
            sqlx::query(
                "UPDATE sessions SET last_seen = $1 WHERE token_hash = $2 AND last_seen < $1",
            )
            .bind(*seen)
            .bind(hash)
            .execute(&self.pool)
            .await?;
        }
        let r = sqlx::query("DELETE FROM sessions WHERE last_seen < $1 OR created_at < $2")
            .bind(now - limits.idle)
            .bind(now - limits.max)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM invites WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(expired.len().max(r.rows_affected() as usize))
    }

    /// Sessions held in memory (for tests of the bound).
    pub fn session_count(&self) -> usize {
        self.sessions.read().map_or(0, |s| s.len())
    }

    pub async fn end_session(&self, token: &str) -> anyhow::Result<()> {
        let hash = token_hash(token);
        if let Ok(mut s) = self.sessions.write() {
            s.remove(&hash);
        }
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
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
        let Some(current) = self.current_locked(setup_id).await? else {
            return Ok(());
        };
        match role {
            Some(r) => {
                sqlx::query(
                    "INSERT INTO setup_members (setup_id, user_id, role) VALUES ($1, $2, $3)
                     ON CONFLICT (setup_id, user_id) DO UPDATE SET role = excluded.role",
                )
                .bind(setup_id)
                .bind(user.id)
                .bind(r.as_str())
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM setup_members WHERE setup_id = $1 AND user_id = $2")
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
        let mut conn = self.pool.acquire().await?;
        next.rev = self.write_derived(&mut conn, &next).await?;
        self.put(next)?;
        Ok(())
    }

    /// An event in a setup's history besides answer changes (exports).
    pub async fn record_event(
        &self,
        setup_id: &str,
        user: &str,
        what: &str,
        detail: &str,
        at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO audit (setup_id, user_name, page, field, at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(setup_id)
        .bind(user)
        .bind(what)
        .bind(detail)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn audit(&self, setup_id: &str) -> anyhow::Result<Vec<AuditRow>> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT user_name, page, field, at FROM audit WHERE setup_id = $1 ORDER BY at DESC, id DESC LIMIT 500",
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
        let row: Option<(String,)> = sqlx::query_as("SELECT name FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.0))
    }
}

fn user_of((id, name, admin): UserTuple) -> User {
    User {
        id,
        name,
        is_admin: admin != 0,
    }
}
