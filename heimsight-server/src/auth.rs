//! API keys with scopes: [`ApiKeys`] keeps them (in the store's metadata, namespace
//! [`NS_KEYS`], each as a SHA-256 hash of its secret, never the secret), and [`KeyAuth`] is the
//! [`AccessControl`] that asks for one on every request when `auth.enabled` is on.
//!
//! A key reads `hsk_<id>_<secret>`: 12 hex digits that name the key, and 32 random bytes from
//! the operating system (64 hex digits). It is shown once, when made. A request presents it as
//! `Authorization: Bearer <key>`, `X-Api-Key: <key>`, HTTP basic auth with the key as the
//! password (any user name: Grafana's data sources and many shippers only do basic auth), or
//! the web UI's session cookie; OTLP/gRPC clients send the same headers as metadata.
//!
//! Scopes per route group: `ingest` for the ingest group (REST ingest, OTLP/HTTP, OTLP/gRPC),
//! `read` for the read group and for `GET` of the admin group and the UI, `admin` for every
//! change (and for `/api/v1/keys`). `admin` implies the others.
//!
//! ```
//! use std::sync::Arc;
//!
//! use heimsight_core::api::{KeySpec, Scope};
//! use heimsight_core::Timestamp;
//! use heimsight_server::auth::ApiKeys;
//! use heimsight_store::MemoryStore;
//!
//! let keys = ApiKeys::open(Arc::new(MemoryStore::new()))?;
//! let made = keys.create(&KeySpec { name: "collector".into(), scopes: vec![Scope::Ingest],
//!                                   ..KeySpec::default() })?;
//! let who = keys.authenticate(&made.key, Timestamp::now()).expect("a key just made");
//! assert_eq!(who.scopes, [Scope::Ingest]);
//! keys.revoke(&made.view.id)?;
//! assert!(keys.authenticate(&made.key, Timestamp::now()).is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use base64::Engine as _;
use heimsight_core::Timestamp;
use heimsight_core::api::{CreatedKey, KeySpec, KeyView, Scope};
use heimsight_core::ids::{hex_decode, hex_encode};
use heimsight_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tracing::warn;

use crate::api_error::ApiError;
use crate::layers::{AccessControl, RouteGroup};

/// Metadata namespace of the keys (key: the key's id).
pub const NS_KEYS: &str = "auth.keys";

/// The web UI's session cookie: it holds the key the user signed in with.
pub const SESSION_COOKIE: &str = "heimsight_session";

/// Every key begins with this.
const PREFIX: &str = "hsk_";

/// Every web UI session token begins with this.
const SESSION_PREFIX: &str = "hss_";

/// How long a web UI session lasts after signing in.
pub const SESSION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// Most web UI sessions kept at once; past it the oldest is dropped.
const MAX_SESSIONS: usize = 10_000;

/// Seconds between two writes of a key's `last_used_at`.
const LAST_USED_EVERY_S: i64 = 60;

const NS_PER_S: i64 = 1_000_000_000;

/// A key as stored: its settings and the hash of its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredKey {
    #[serde(flatten)]
    view: KeyView,
    /// Hex SHA-256 of the whole key.
    sha256: String,
}

/// A key in memory.
#[derive(Debug)]
struct Entry {
    view: KeyView,
    hash: [u8; 32],
    /// Unix seconds of the last use, to the minute (0: never).
    last_used: AtomicI64,
    /// What was last written to the store.
    last_written: AtomicI64,
}

/// Who sent a request: the key's id, name and scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The key's id (`bootstrap` for the administrator key of the environment).
    pub key_id: String,
    /// The key's name.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

impl Principal {
    /// Whether it may do what `needed` allows.
    pub fn allows(&self, needed: Scope) -> bool {
        self.scopes.iter().any(|s| s.allows(needed))
    }
}

/// The API keys: made, listed and revoked through the store, checked from memory (a
/// revocation takes effect at once, on every listener).
pub struct ApiKeys {
    store: Arc<dyn Store>,
    keys: Arc<RwLock<BTreeMap<String, Arc<Entry>>>>,
    /// SHA-256 of the administrator key given by the environment (`HEIMSIGHT_ADMIN_KEY`).
    bootstrap: Option<[u8; 32]>,
    /// Web UI sessions, by SHA-256 of their token: the key they were opened with (as its
    /// hash: a revoked key ends its sessions) and when they end. In memory only: a restart
    /// signs everybody out.
    sessions: std::sync::Mutex<HashMap<[u8; 32], Session>>,
}

/// A web UI session.
#[derive(Debug, Clone)]
struct Session {
    /// SHA-256 of the key signed in with.
    key_hash: [u8; 32],
    /// The key's id (`None`: the administrator key of the environment).
    key_id: Option<String>,
    /// When it ends (Unix nanoseconds).
    ends: i64,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("keys", &read_lock(&self.keys).len())
            .field("bootstrap", &self.bootstrap.is_some())
            .finish_non_exhaustive()
    }
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn random_hex(n: usize) -> Result<String, ApiError> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf)
        .map_err(|e| ApiError::Internal(format!("no randomness from the system: {e}")))?;
    Ok(hex_encode(&buf))
}

fn read_lock<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write_lock<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ApiKeys {
    /// Loads the keys kept in `store`.
    pub fn open(store: Arc<dyn Store>) -> Result<ApiKeys, crate::Error> {
        let mut keys = BTreeMap::new();
        for (id, bytes) in store.meta_list(NS_KEYS)? {
            let corrupt = |source| crate::Error::KeyRecord {
                id: id.clone(),
                source,
            };
            let stored: StoredKey = serde_json::from_slice(&bytes).map_err(corrupt)?;
            let hash = hex_decode::<32>(&stored.sha256)
                .map_err(|e| corrupt(serde::de::Error::custom(format!("sha256: {e}"))))?;
            let used = stored.view.last_used_at.map_or(0, |t| t.0 / NS_PER_S);
            keys.insert(
                id,
                Arc::new(Entry {
                    view: stored.view,
                    hash,
                    last_used: AtomicI64::new(used),
                    last_written: AtomicI64::new(used),
                }),
            );
        }
        Ok(ApiKeys {
            store,
            keys: Arc::new(RwLock::new(keys)),
            bootstrap: None,
            sessions: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Also accepts `key` as an administrator key (`HEIMSIGHT_ADMIN_KEY`): the way in before
    /// any key exists. It is never stored; empty text is ignored.
    pub fn with_bootstrap_admin(mut self, key: &str) -> ApiKeys {
        let key = key.trim();
        if !key.is_empty() {
            self.bootstrap = Some(sha256(key));
        }
        self
    }

    /// Makes a key; its secret is in the answer, and nowhere else from then on.
    pub fn create(&self, spec: &KeySpec) -> Result<CreatedKey, ApiError> {
        if spec.name.trim().is_empty() || spec.scopes.is_empty() {
            return Err(ApiError::invalid(
                "invalid key",
                vec![heimsight_core::FieldError::new(
                    if spec.name.trim().is_empty() {
                        "name"
                    } else {
                        "scopes"
                    },
                    "is required",
                )],
            ));
        }
        let now = Timestamp::now();
        if spec.expires_at.is_some_and(|t| t <= now) {
            return Err(ApiError::invalid(
                "invalid key",
                vec![heimsight_core::FieldError::new(
                    "expires_at",
                    "is in the past; a key that expires must expire later than now",
                )],
            ));
        }
        let id = random_hex(6)?;
        let key = format!("{PREFIX}{id}_{}", random_hex(32)?);
        let mut scopes = spec.scopes.clone();
        scopes.sort();
        scopes.dedup();
        let view = KeyView {
            id: id.clone(),
            name: spec.name.trim().to_string(),
            scopes,
            created_at: now,
            last_used_at: None,
            expires_at: spec.expires_at,
            limits: spec.limits,
        };
        let hash = sha256(&key);
        let stored = StoredKey {
            view: view.clone(),
            sha256: hex_encode(&hash),
        };
        let bytes = serde_json::to_vec(&stored)
            .map_err(|e| ApiError::Internal(format!("could not encode a key: {e}")))?;
        self.store.meta_put(NS_KEYS, &id, &bytes)?;
        write_lock(&self.keys).insert(
            id,
            Arc::new(Entry {
                view: view.clone(),
                hash,
                last_used: AtomicI64::new(0),
                last_written: AtomicI64::new(0),
            }),
        );
        tracing::info!(id = %view.id, name = %view.name, scopes = ?view.scopes, "API key created");
        Ok(CreatedKey { view, key })
    }

    /// How many keys there are.
    pub fn count(&self) -> usize {
        read_lock(&self.keys).len()
    }

    /// Every key, oldest first.
    pub fn list(&self) -> Vec<KeyView> {
        let mut out: Vec<KeyView> = read_lock(&self.keys)
            .values()
            .map(|e| {
                let mut v = e.view.clone();
                let used = e.last_used.load(Ordering::Relaxed);
                v.last_used_at = (used > 0).then(|| Timestamp(used * NS_PER_S));
                v
            })
            .collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        out
    }

    /// The own limits of the key `id`, if it has any.
    pub fn limits(&self, id: &str) -> Option<heimsight_core::api::KeyLimits> {
        read_lock(&self.keys).get(id).and_then(|e| e.view.limits)
    }

    /// Revokes a key at once; `Ok(false)` when there is none with that id.
    pub fn revoke(&self, id: &str) -> Result<bool, ApiError> {
        // Deleted from the store first, under the write lock: a failed delete leaves the key
        // working (and the error says so) rather than gone until the next start.
        let mut keys = write_lock(&self.keys);
        if !keys.contains_key(id) {
            return Ok(false);
        }
        self.store.meta_delete(NS_KEYS, id)?;
        keys.remove(id);
        tracing::info!(id, "API key revoked");
        Ok(true)
    }

    /// Who `key` is, if it is a known, unexpired key (compared in constant time), or a web UI
    /// session token (see [`open_session`](Self::open_session)) of one. Marks the key used (to
    /// the minute; the store is written at most once a minute per key).
    pub fn authenticate(&self, key: &str, now: Timestamp) -> Option<Principal> {
        let key = key.trim();
        if key.starts_with(SESSION_PREFIX) {
            let session = {
                let mut sessions = self.sessions();
                let token = sha256(key);
                match sessions.get(&token) {
                    Some(s) if s.ends > now.0 => s.clone(),
                    Some(_) => {
                        sessions.remove(&token);
                        return None;
                    }
                    None => return None,
                }
            };
            return self.check_hash(session.key_id.as_deref(), &session.key_hash, now);
        }
        self.check_hash(key_id(key), &sha256(key), now)
    }

    /// The id of the key behind an accepted `presented` key or UI session token
    /// (`bootstrap` for the administrator key of the environment), e.g. to tell clients apart.
    pub fn client_id(&self, presented: &str) -> String {
        let presented = presented.trim();
        if presented.starts_with(SESSION_PREFIX) {
            return self
                .sessions()
                .get(&sha256(presented))
                .and_then(|s| s.key_id.clone())
                .unwrap_or_else(|| "bootstrap".into());
        }
        key_id(presented).unwrap_or("bootstrap").to_string()
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Signs in to the web UI with `key`: who it is and a session token for the UI's cookie,
    /// valid for [`SESSION_LIFETIME`] and only while the key is (revoking it ends the
    /// session). The cookie never holds the key itself. `None` when the key is not accepted.
    pub fn open_session(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<(Principal, String)>, ApiError> {
        let key = key.trim();
        if key.starts_with(SESSION_PREFIX) {
            return Ok(None);
        }
        let Some(who) = self.authenticate(key, now) else {
            return Ok(None);
        };
        let token = format!("{SESSION_PREFIX}{}", random_hex(32)?);
        let ends = now.0.saturating_add(SESSION_LIFETIME.as_nanos() as i64);
        let mut sessions = self.sessions();
        sessions.retain(|_, s| s.ends > now.0);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.ends).map(|(k, _)| *k)
        {
            sessions.remove(&oldest);
        }
        sessions.insert(
            sha256(&token),
            Session {
                key_hash: sha256(key),
                key_id: key_id(key).map(str::to_string),
                ends,
            },
        );
        Ok(Some((who, token)))
    }

    /// Ends a web UI session (signing out); anything else is ignored.
    pub fn close_session(&self, token: &str) {
        let token = token.trim();
        if token.starts_with(SESSION_PREFIX) {
            self.sessions().remove(&sha256(token));
        }
    }

    /// The key of `id` (`None`: the administrator key of the environment) if its hash is
    /// `hash` and it has not expired.
    fn check_hash(&self, id: Option<&str>, hash: &[u8; 32], now: Timestamp) -> Option<Principal> {
        if let Some(admin) = &self.bootstrap
            && bool::from(admin.ct_eq(hash))
        {
            return Some(Principal {
                key_id: "bootstrap".into(),
                name: "HEIMSIGHT_ADMIN_KEY".into(),
                scopes: vec![Scope::Admin],
            });
        }
        let entry = read_lock(&self.keys).get(id?).cloned()?;
        if !bool::from(entry.hash.ct_eq(hash)) {
            return None;
        }
        if entry.view.expires_at.is_some_and(|t| t <= now) {
            return None;
        }
        let minute = now.0 / NS_PER_S / 60 * 60;
        if entry.last_used.swap(minute, Ordering::Relaxed) != minute
            && minute - entry.last_written.load(Ordering::Relaxed) >= LAST_USED_EVERY_S
        {
            entry.last_written.store(minute, Ordering::Relaxed);
            self.write_last_used(&entry, minute);
        }
        Some(Principal {
            key_id: entry.view.id.clone(),
            name: entry.view.name.clone(),
            scopes: entry.view.scopes.clone(),
        })
    }

    /// Writes a key's last use, off the request's path when there is a runtime.
    fn write_last_used(&self, entry: &Entry, minute: i64) {
        let mut view = entry.view.clone();
        view.last_used_at = Some(Timestamp(minute * NS_PER_S));
        let stored = StoredKey {
            view,
            sha256: hex_encode(&entry.hash),
        };
        let Ok(bytes) = serde_json::to_vec(&stored) else {
            return;
        };
        let store = Arc::clone(&self.store);
        let keys = Arc::clone(&self.keys);
        let id = entry.view.id.clone();
        let write = move || {
            // Under the read lock, and only while the key is known: a revocation (which
            // removes it under the write lock before deleting it) is never undone by a late
            // write of its last use.
            let known = read_lock(&keys);
            if known.contains_key(&id)
                && let Err(e) = store.meta_put(NS_KEYS, &id, &bytes)
            {
                warn!(id, error = %e, "could not record when an API key was last used");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn_blocking(write);
            }
            Err(_) => write(),
        }
    }
}

/// The key a request presents: `Authorization: Bearer`, `X-Api-Key`, basic auth's password,
/// or the UI's session cookie.
pub fn presented_key(headers: &HeaderMap) -> Option<String> {
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let auth = auth.trim();
        let (scheme, rest) = auth.split_once(' ').unwrap_or((auth, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(rest.trim().to_string());
        }
        if scheme.eq_ignore_ascii_case("basic")
            && let Some(pass) = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .and_then(|t| t.split_once(':').map(|(_, pass)| pass.to_string()))
        {
            return Some(pass);
        }
    }
    if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(k.trim().to_string());
    }
    session_cookie(headers)
}

/// The value of the web UI's session cookie, if the request has a non-empty one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == SESSION_COOKIE).then(|| value.to_string())
        })
        .filter(|k| !k.is_empty())
}

/// The id of a made key (`hsk_<id>_<secret>`); `None` for any other text.
fn key_id(key: &str) -> Option<&str> {
    key.strip_prefix(PREFIX)?.split('_').next()
}

/// The scope a request to `group` needs (see the [module](self)), or `None` for the few
/// pages anyone may open: the UI's sign-in and sign-out and its static files (`path` as the
/// UI's router sees it).
pub fn needed_scope(group: RouteGroup, method: &Method, path: &str) -> Option<Scope> {
    let reading = method == Method::GET || method == Method::HEAD;
    Some(match group {
        RouteGroup::Ui if path == "/login" || path == "/logout" || path.starts_with("/static/") => {
            return None;
        }
        RouteGroup::Ingest => Scope::Ingest,
        RouteGroup::Read => Scope::Read,
        RouteGroup::Admin if path.contains("/api/v1/keys") => Scope::Admin,
        RouteGroup::Admin | RouteGroup::Ui if reading => Scope::Read,
        RouteGroup::Admin | RouteGroup::Ui => Scope::Admin,
    })
}

/// The [`AccessControl`] of API keys: 401 (with `WWW-Authenticate`) without a known key, 403
/// naming the missing scope. Failed attempts are logged, never the key, at most one line a
/// second per kind of failure (with the number left out since), so that a client retrying
/// without a key or guessing keys cannot flood the log; `/metrics` counts every one.
#[derive(Debug, Clone)]
pub struct KeyAuth {
    keys: Arc<ApiKeys>,
    logged: Arc<FailureLog>,
}

impl KeyAuth {
    /// Checks requests against `keys`.
    pub fn new(keys: Arc<ApiKeys>) -> KeyAuth {
        KeyAuth {
            keys,
            logged: Arc::new(FailureLog::new()),
        }
    }
}

/// When each kind of failure was last logged (Unix seconds) and how many were not logged
/// since.
#[derive(Debug, Default)]
pub(crate) struct FailureLog {
    last: [AtomicI64; 3],
    skipped: [std::sync::atomic::AtomicU64; 3],
}

impl FailureLog {
    /// Nothing logged yet.
    pub(crate) const fn new() -> FailureLog {
        FailureLog {
            last: [AtomicI64::new(0), AtomicI64::new(0), AtomicI64::new(0)],
            skipped: [
                std::sync::atomic::AtomicU64::new(0),
                std::sync::atomic::AtomicU64::new(0),
                std::sync::atomic::AtomicU64::new(0),
            ],
        }
    }

    /// Whether to log a failure of `kind` (0, 1 or 2) now; `Some(n)`: log it, `n` were left
    /// out before.
    pub(crate) fn admit(&self, kind: usize) -> Option<u64> {
        self.admit_at(kind, Timestamp::now().0 / NS_PER_S)
    }

    /// [`admit`](Self::admit) at `now` (Unix seconds).
    fn admit_at(&self, kind: usize, now: i64) -> Option<u64> {
        let last = self.last[kind].load(Ordering::Relaxed);
        if now > last
            && self.last[kind]
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            Some(self.skipped[kind].swap(0, Ordering::Relaxed))
        } else {
            self.skipped[kind].fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

impl AccessControl for KeyAuth {
    fn check(&self, group: RouteGroup, request: &Parts) -> Result<(), ApiError> {
        let path = request.uri.path();
        let Some(needed) = needed_scope(group, &request.method, path) else {
            return Ok(());
        };
        let Some(key) = presented_key(&request.headers) else {
            if let Some(skipped) = self.logged.admit(0) {
                warn!(%group, method = %request.method, path, skipped, "request without an API key refused");
            }
            return Err(ApiError::Unauthorized(
                "an API key is required: send `Authorization: Bearer <key>` (or X-Api-Key, or basic auth with the key as password)".into(),
            ));
        };
        let Some(who) = self.keys.authenticate(&key, Timestamp::now()) else {
            if let Some(skipped) = self.logged.admit(1) {
                warn!(%group, method = %request.method, path, skipped, "request with an unknown, revoked or expired API key refused");
            }
            return Err(ApiError::Unauthorized(
                "the API key is unknown, revoked or expired".into(),
            ));
        };
        if who.allows(needed) {
            Ok(())
        } else {
            if let Some(skipped) = self.logged.admit(2) {
                warn!(%group, key = %who.key_id, %needed, path, skipped, "request refused: scope missing");
            }
            Err(ApiError::Forbidden(format!(
                "the key {:?} lacks the `{needed}` scope that {} {path} needs (it has: {})",
                who.name,
                request.method,
                who.scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::FailureLog;

    #[test]
    fn failures_are_logged_once_a_second_per_kind_with_the_count_left_out() {
        let log = FailureLog::default();
        assert_eq!(log.admit_at(1, 100), Some(0));
        assert_eq!(log.admit_at(1, 100), None);
        assert_eq!(log.admit_at(1, 100), None);
        // Another kind has its own second.
        assert_eq!(log.admit_at(0, 100), Some(0));
        assert_eq!(log.admit_at(1, 101), Some(2));
        assert_eq!(log.admit_at(1, 101), None);
        assert_eq!(log.admit_at(1, 105), Some(1));
    }
}
