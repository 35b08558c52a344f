//! Rate limits and quotas (`[rate_limit]`): token buckets (the `governor` crate) per client —
//! per API key when keys are in use, else per client IP — on requests per second and on
//! ingested bytes per second, and a cap on the queries one client runs at once. A key's own
//! `limits` override the defaults. Over a limit: HTTP 429 with `Retry-After`, gRPC
//! `UNAVAILABLE` with `RetryInfo` (what OTLP exporters retry on); nothing accepted before is
//! affected.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use heimsight_core::api::KeyLimits;
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::{ApiKeys, presented_key};

/// Clients tracked at most; past this the buckets start over (every client gets a full
/// bucket again), so that many client addresses cannot grow memory without bound.
const MAX_CLIENTS: usize = 100_000;

/// How long a query waits for a free slot of its client before it is refused.
const QUERY_QUEUE_WAIT: Duration = Duration::from_secs(2);

/// The defaults of the limits (`[rate_limit]`); unset is unlimited.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// Requests per second per client.
    pub requests_per_second: Option<f64>,
    /// Ingested request bytes per second per client.
    pub ingest_bytes_per_second: Option<u64>,
    /// Queries (`/api/v1/query`) one client runs at once; more wait up to 2 s, then 429.
    pub query_concurrency: Option<usize>,
}

impl Eq for RateLimitConfig {}

/// A refusal: what was over its limit and when to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    /// What ran out: `requests`, `ingest bytes` or `queries`.
    pub what: &'static str,
    /// Seconds until a retry may pass (at least 1).
    pub retry_after_secs: u64,
}

impl Limited {
    /// The message of the refusal.
    pub fn message(&self, client: &str) -> String {
        format!(
            "rate limit: {client} is over its {} limit; retry after {} s",
            self.what, self.retry_after_secs
        )
    }
}

/// Whole seconds (at least 1) until a refused request may pass.
fn retry_after(not_until: &governor::NotUntil<<DefaultClock as Clock>::Instant>) -> u64 {
    not_until
        .wait_time_from(DefaultClock::default().now())
        .as_secs_f64()
        .ceil()
        .max(1.0) as u64
}

/// One client's buckets.
struct Buckets {
    requests: Option<DefaultDirectRateLimiter>,
    bytes: Option<DefaultDirectRateLimiter>,
    queries: Option<Arc<Semaphore>>,
}

/// The limits of every client.
pub struct RateLimits {
    config: RateLimitConfig,
    keys: Option<Arc<ApiKeys>>,
    largest_body: usize,
    clients: Mutex<HashMap<String, Arc<Buckets>>>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn per_second(rate: f64, burst: f64) -> Option<Quota> {
    if !(rate > 0.0 && rate.is_finite()) {
        return None;
    }
    let burst = NonZeroU32::new(burst.ceil().clamp(1.0, f64::from(u32::MAX)) as u32)?;
    Some(Quota::with_period(Duration::from_secs_f64(1.0 / rate))?.allow_burst(burst))
}

impl RateLimits {
    /// Limits with `config`'s defaults; `keys` (when clients are told apart by key) give the
    /// per-key overrides. `largest_body` is the largest request body (a bucket of bytes holds
    /// at least that much, so that any request can pass once it is full).
    pub fn new(config: RateLimitConfig, keys: Option<Arc<ApiKeys>>, largest_body: usize) -> Self {
        RateLimits {
            config,
            keys,
            largest_body,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Whether requests go through the buckets at all: when a default is set, or when
    /// clients are keys (any key, made now or later, may have limits of its own).
    pub fn active(&self) -> bool {
        self.config.requests_per_second.is_some()
            || self.config.ingest_bytes_per_second.is_some()
            || self.config.query_concurrency.is_some()
            || self.keys.is_some()
    }

    /// Who a request is, for its limits: `key:<id>` when keys tell clients apart, else
    /// `ip:<address>` (or `anonymous` when the address is unknown).
    pub fn client(&self, parts: &Parts) -> String {
        if let Some(keys) = &self.keys
            && let Some(k) = presented_key(&parts.headers)
        {
            return format!("key:{}", keys.client_id(&k));
        }
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .or_else(|| {
                parts
                    .extensions
                    .get::<tonic::transport::server::TcpConnectInfo>()
                    .and_then(|c| c.remote_addr())
                    .map(|a| a.ip())
            });
        ip.map_or_else(|| "anonymous".to_string(), |ip| format!("ip:{ip}"))
    }

    fn buckets(&self, client: &str) -> Arc<Buckets> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(b) = clients.get(client) {
            return Arc::clone(b);
        }
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        let own: KeyLimits = client
            .strip_prefix("key:")
            .and_then(|id| self.keys.as_ref()?.limits(id))
            .unwrap_or_default();
        let rps = own.requests_per_second.or(self.config.requests_per_second);
        let bps = own
            .ingest_bytes_per_second
            .or(self.config.ingest_bytes_per_second);
        let b = Arc::new(Buckets {
            requests: rps.and_then(|r| per_second(r, r)).map(RateLimiter::direct),
            bytes: bps
                .and_then(|r| per_second(r as f64, (r as f64).max(self.largest_body as f64)))
                .map(RateLimiter::direct),
            queries: self
                .config
                .query_concurrency
                .map(|n| Arc::new(Semaphore::new(n.max(1)))),
        });
        clients.insert(client.to_string(), Arc::clone(&b));
        b
    }

    /// Takes one request (and `bytes` ingested, when given) from `client`'s buckets.
    pub fn check(&self, client: &str, bytes: Option<u64>) -> Result<(), Limited> {
        let b = self.buckets(client);
        if let Some(r) = &b.requests
            && let Err(n) = r.check()
        {
            return Err(Limited {
                what: "requests",
                retry_after_secs: retry_after(&n),
            });
        }
        match bytes {
            Some(n) => Self::take_bytes(&b, n),
            None => Ok(()),
        }
    }

    /// Takes `bytes` ingested from `client`'s bucket of bytes (for bodies whose size is known
    /// only once read).
    pub fn check_bytes(&self, client: &str, bytes: u64) -> Result<(), Limited> {
        Self::take_bytes(&self.buckets(client), bytes)
    }

    fn take_bytes(b: &Buckets, bytes: u64) -> Result<(), Limited> {
        if let Some(r) = &b.bytes {
            let cells = NonZeroU32::new(u32::try_from(bytes.max(1)).unwrap_or(u32::MAX))
                .unwrap_or(NonZeroU32::MIN);
            match r.check_n(cells) {
                Ok(Ok(())) => {}
                Ok(Err(n)) => {
                    return Err(Limited {
                        what: "ingest bytes",
                        retry_after_secs: retry_after(&n),
                    });
                }
                // Larger than the bucket: it can never pass whole; the body limit answers it.
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// A slot for one query of `client`, waiting up to 2 s for one; `None` when there is no
    /// limit.
    pub async fn query_slot(&self, client: &str) -> Result<Option<OwnedSemaphorePermit>, Limited> {
        let Some(sem) = self.buckets(client).queries.clone() else {
            return Ok(None);
        };
        match tokio::time::timeout(QUERY_QUEUE_WAIT, sem.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            _ => Err(Limited {
                what: "concurrent queries",
                retry_after_secs: 1,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_runs_as_many_queries_at_once_as_allowed_then_waits_then_is_refused() {
        let limits = RateLimits::new(
            RateLimitConfig {
                query_concurrency: Some(1),
                ..RateLimitConfig::default()
            },
            None,
            1024,
        );
        let held = limits.query_slot("ip:1.2.3.4").await.unwrap();
        assert!(held.is_some());
        // Another client has its own slots.
        assert!(limits.query_slot("ip:5.6.7.8").await.unwrap().is_some());
        let refused = limits.query_slot("ip:1.2.3.4").await.unwrap_err();
        assert_eq!(refused.what, "concurrent queries");
        drop(held);
        assert!(limits.query_slot("ip:1.2.3.4").await.unwrap().is_some());
    }
}
