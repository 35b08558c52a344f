//! Deterministic, realistic telemetry for benchmarks, load drivers and tests.
//!
//! A [`Generator`] produces log records, traces (as spans) and metric points that look like the
//! output of a small production system: eight services behind an API gateway with Kubernetes
//! pods, skewed levels (about 70% info, 15% debug, 10% warn, 4% error, 1% fatal), some 200
//! message templates in the style of nginx, application, PostgreSQL, Redis and Kafka logs whose
//! variable parts (ids, durations, paths, hosts, user names…) agree with the record's
//! attributes, and trace ids on half the logs. The same seed always gives the same data, and
//! the data does not depend on how calls are split into batches.
//!
//! For search benchmarks, one record in every [`Config::rare_every`] carries [`RARE_TERM`],
//! a token that occurs nowhere else, so a rare-term search has a known, small number of
//! matches ([`Generator::rare_logs`]); [`COMMON_TERM`] occurs in a good share of messages.
//!
//! The crate needs no dependency beyond `heimsight-core`; its random numbers come from a
//! small [`SplitMix64`] generator.
//!
//! ```
//! use heimsight_datagen::{Generator, RARE_TERM};
//!
//! let mut generator = Generator::new(42);
//! let logs = generator.logs(1_000);
//! assert_eq!(logs.len(), 1_000);
//! assert!(logs.iter().all(|r| r.validate().is_ok()));
//! let spans = generator.traces(10); // 10 traces of 3 to 15 spans each
//! assert!(spans.len() >= 30);
//! let points = generator.points(500);
//! assert!(points.iter().all(|p| p.validate().is_ok()));
//! assert!(!RARE_TERM.is_empty());
//! ```

use std::fmt::Write as _;

use heimsight_core::{
    AttributeValue, Attributes, HistogramValue, Labels, Level, LogRecord, MetricKind, MetricPoint,
    MetricValue, Scope, Span, SpanEvent, SpanId, SpanKind, SpanLink, Status, StatusCode,
    Temporality, Timestamp, TraceId,
};

/// The services of the simulated system, busiest (by log volume) first.
pub const SERVICES: [&str; 8] = [
    "api-gateway",
    "order-service",
    "user-service",
    "search-service",
    "auth-service",
    "inventory-service",
    "payment-service",
    "notification-worker",
];

/// A token that occurs only in the rare records injected once every [`Config::rare_every`]
/// logs (see [`Generator::rare_logs`]); no template or variable part produces it otherwise.
pub const RARE_TERM: &str = "ecc_uncorrectable";

/// A token that occurs in a good share (roughly a quarter) of all generated messages.
pub const COMMON_TERM: &str = "request";

/// The default start of generated time: 2026-01-01T00:00:00Z.
pub const DEFAULT_START: Timestamp = Timestamp(1_767_225_600_000_000_000);

const SEC: i64 = 1_000_000_000;

// ---------------------------------------------------------------------------------------------
// Random numbers
// ---------------------------------------------------------------------------------------------

/// SplitMix64, a tiny, fast, deterministic pseudo-random number generator (not for security).
///
/// ```
/// use heimsight_datagen::SplitMix64;
///
/// let mut a = SplitMix64::new(7);
/// let mut b = SplitMix64::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.below(10) < 10);
/// ```
#[derive(Debug, Clone, Default)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform number in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    /// A uniform float in `[0, 1)`.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// A standard normal deviate (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64();
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A log-normal deviate with the given median and shape `sigma`.
    pub fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Fills `buf` with random bytes.
    pub fn fill_bytes(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let r = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }

    /// A random trace id (never all zeros).
    pub fn trace_id(&mut self) -> TraceId {
        let mut b = [0u8; 16];
        self.fill_bytes(&mut b);
        b[15] |= 1;
        TraceId(b)
    }

    /// A random span id (never all zeros).
    pub fn span_id(&mut self) -> SpanId {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        b[7] |= 1;
        SpanId(b)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// Index of a weighted choice; weights must not all be zero.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut r = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if r < w {
                return i;
            }
            r -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// A Zipf-like index in `0..n`: small indexes are much more likely.
    fn skewed(&mut self, n: usize, power: i32) -> usize {
        let x = self.f64().powi(power);
        ((x * n as f64) as usize).min(n.saturating_sub(1))
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// How a [`Generator`] spaces and shapes its data.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Time of the first record of each signal.
    pub start: Timestamp,
    /// Log records per second of simulated time (timestamps advance by `1 / logs_per_sec`).
    pub logs_per_sec: f64,
    /// Traces started per second of simulated time.
    pub traces_per_sec: f64,
    /// Interval between two metric scrapes of the same series.
    pub scrape_interval_ns: i64,
    /// Log timestamps are late by up to this much, so records arrive nearly, but not quite, in
    /// time order.
    pub jitter_ns: i64,
    /// One log record in this many carries [`RARE_TERM`] (0: never).
    pub rare_every: u64,
    /// Share of log records emitted inside a request, with a trace and span id.
    pub traced_fraction: f64,
    /// Pods (replicas) per service; each has its own host, resource and metric series.
    pub pods_per_service: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            start: DEFAULT_START,
            logs_per_sec: 2_000.0,
            traces_per_sec: 200.0,
            scrape_interval_ns: 10 * SEC,
            jitter_ns: 5_000_000,
            rare_every: 1_000_000,
            traced_fraction: 0.5,
            pods_per_service: 3,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

/// Kinds of log sources; each service logs from a few of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cat {
    Http,
    App,
    Db,
    Cache,
    Queue,
    Auth,
    Payment,
    Search,
    Sched,
    Sys,
}

/// Which categories each service (by index in [`SERVICES`]) logs from.
const SERVICE_CATS: [&[Cat]; 8] = [
    &[Cat::Http, Cat::App, Cat::Auth, Cat::Sys],
    &[Cat::App, Cat::Db, Cat::Queue, Cat::Cache, Cat::Sys],
    &[Cat::App, Cat::Db, Cat::Cache, Cat::Sys],
    &[Cat::Search, Cat::App, Cat::Cache, Cat::Sys],
    &[Cat::Auth, Cat::App, Cat::Db, Cat::Cache, Cat::Sys],
    &[Cat::App, Cat::Db, Cat::Cache, Cat::Queue, Cat::Sys],
    &[Cat::Payment, Cat::App, Cat::Db, Cat::Queue, Cat::Sys],
    &[Cat::Queue, Cat::Sched, Cat::App, Cat::Db, Cat::Sys],
];

/// Relative log volume of each service.
const SERVICE_WEIGHTS: [u32; 8] = [30, 14, 12, 12, 10, 10, 6, 6];

const SERVICE_VERSIONS: [&str; 8] = [
    "2.14.1", "1.32.0", "3.2.7", "0.19.4", "1.8.12", "2.0.3", "4.1.0", "1.5.9",
];

const SERVICE_DBS: [&str; 8] = [
    "gateway",
    "orders",
    "users",
    "search",
    "auth",
    "inventory",
    "payments",
    "notifications",
];

const SERVICE_TABLES: [&[&str]; 8] = [
    &["api_keys", "rate_limits", "routes"],
    &[
        "orders",
        "order_items",
        "shipments",
        "carts",
        "order_events",
    ],
    &["users", "addresses", "preferences", "user_devices"],
    &["search_synonyms", "saved_searches", "index_jobs"],
    &["sessions", "credentials", "refresh_tokens", "audit_log"],
    &["stock_levels", "reservations", "warehouses", "products"],
    &["payments", "refunds", "payment_methods", "ledger_entries"],
    &["notifications", "email_queue", "templates", "subscriptions"],
];

const REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "eu-central-1"];

/// HTTP routes (method, route template); `:id` is replaced by a number in paths.
const ROUTES: [(&str, &str); 20] = [
    ("GET", "/api/v1/products"),
    ("GET", "/api/v1/products/:id"),
    ("GET", "/api/v1/search"),
    ("GET", "/api/v1/users/:id"),
    ("GET", "/api/v1/orders"),
    ("POST", "/api/v1/cart/items"),
    ("GET", "/api/v1/orders/:id"),
    ("POST", "/api/v1/auth/refresh"),
    ("GET", "/healthz"),
    ("POST", "/api/v1/orders"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/inventory/:id"),
    ("POST", "/api/v1/checkout"),
    ("DELETE", "/api/v1/cart/items/:id"),
    ("PUT", "/api/v1/users/:id"),
    ("GET", "/api/v1/notifications"),
    ("POST", "/api/v1/payments"),
    ("PATCH", "/api/v1/orders/:id"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/users/:id/addresses"),
];

const FIRST_NAMES: [&str; 40] = [
    "anna", "ben", "carla", "david", "elena", "felix", "greta", "hugo", "ines", "jonas", "karin",
    "leon", "maria", "nils", "olga", "paul", "quinn", "rosa", "sven", "tina", "ulf", "vera",
    "walter", "xenia", "yusuf", "zoe", "amir", "bianca", "chen", "dmitri", "emma", "farah",
    "gustav", "hana", "ivan", "julia", "kofi", "lena", "mateo", "nora",
];

const LAST_NAMES: [&str; 40] = [
    "berg",
    "costa",
    "dahl",
    "eriksen",
    "fischer",
    "garcia",
    "hansen",
    "ito",
    "jensen",
    "kowalski",
    "larsen",
    "meyer",
    "novak",
    "olsen",
    "petrov",
    "quist",
    "rossi",
    "schmidt",
    "tanaka",
    "ullman",
    "vogel",
    "wagner",
    "xu",
    "yilmaz",
    "zimmer",
    "andersson",
    "bauer",
    "chowdhury",
    "dubois",
    "engel",
    "fontaine",
    "gruber",
    "huber",
    "iqbal",
    "jovanovic",
    "kim",
    "lindqvist",
    "moreau",
    "nguyen",
    "okafor",
];

const MAIL_DOMAINS: [&str; 6] = [
    "gmail.com",
    "outlook.com",
    "example.org",
    "proton.me",
    "yahoo.com",
    "acme.io",
];

const USER_AGENTS: [&str; 6] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "acme-ios/5.12.1 CFNetwork/1494.0.7 Darwin/23.4.0",
    "acme-android/5.11.0 okhttp/4.12.0",
    "curl/8.5.0",
];

const ERRORS: [&str; 14] = [
    "connection reset by peer",
    "context deadline exceeded",
    "i/o timeout",
    "connection refused",
    "broken pipe",
    "EOF while reading response headers",
    "tls: handshake failure",
    "dns lookup failed: no such host",
    "too many open files",
    "upstream request timeout",
    "invalid JSON: expected value at line 1 column 1",
    "resource temporarily unavailable",
    "stream closed with error code REFUSED_STREAM",
    "permission denied",
];

const DB_ERRORS: [&str; 8] = [
    "canceling statement due to statement timeout",
    "could not serialize access due to concurrent update",
    "deadlock detected",
    "remaining connection slots are reserved for non-replication superuser connections",
    "terminating connection due to administrator command",
    "relation does not exist",
    "value too long for type character varying(255)",
    "null value in column \"created_at\" violates not-null constraint",
];

const KAFKA_ERRORS: [&str; 5] = [
    "Local: Message timed out",
    "Broker: Not enough in-sync replicas",
    "Broker: Leader not available",
    "Local: Queue full",
    "Broker: Request timed out",
];

const TOPICS: [&str; 8] = [
    "orders.created",
    "orders.updated",
    "payments.completed",
    "inventory.reserved",
    "notifications.email",
    "users.signup",
    "search.reindex",
    "audit.events",
];

const EVENTS: [&str; 6] = [
    "OrderCreated",
    "OrderShipped",
    "PaymentCaptured",
    "StockReserved",
    "UserRegistered",
    "CartAbandoned",
];

const AUTH_METHODS: [&str; 5] = ["password", "oauth2-google", "saml", "api-key", "webauthn"];
const ROLES: [&str; 5] = ["admin", "viewer", "editor", "support", "billing"];
const COUNTRIES: [&str; 10] = ["SE", "DE", "US", "BR", "IN", "NG", "JP", "FR", "PL", "VN"];
const PROVIDERS: [&str; 4] = ["stripe", "adyen", "paypal", "klarna"];
const CURRENCIES: [&str; 5] = ["EUR", "USD", "GBP", "SEK", "JPY"];
const SEARCH_INDEXES: [&str; 4] = ["products-v3", "orders-2026.01", "users-v2", "help-articles"];
const QUERIES: [&str; 12] = [
    "red running shoes",
    "wireless headphones",
    "usb c cable",
    "winter jacket men",
    "coffee grinder",
    "kids lego",
    "standing desk",
    "yoga mat",
    "iphone case",
    "garden hose 25m",
    "office chair",
    "rain boots",
];
const JOBS: [&str; 8] = [
    "cleanup-expired-sessions",
    "send-digest-emails",
    "reindex-products",
    "compute-recommendations",
    "sync-inventory",
    "rotate-signing-keys",
    "generate-invoices",
    "purge-soft-deleted",
];
const CHANNELS: [&str; 4] = ["email", "sms", "push", "webhook"];
const EMAIL_TEMPLATES: [&str; 5] = [
    "order_confirmation",
    "password_reset",
    "shipping_update",
    "weekly_digest",
    "welcome",
];
const FLAGS: [&str; 6] = [
    "new-checkout-flow",
    "search-v2-ranking",
    "dark-mode",
    "one-click-reorder",
    "async-inventory",
    "grpc-upstreams",
];
const FIELDS: [&str; 6] = [
    "email",
    "phone",
    "address.zip",
    "birthdate",
    "display_name",
    "quantity",
];
const REASONS: [&str; 4] = [
    "must not be empty",
    "is too long",
    "has an invalid format",
    "must be positive",
];
const HANDLERS: [&str; 8] = [
    "get_user",
    "list_orders",
    "create_order",
    "update_cart",
    "checkout",
    "search_products",
    "reserve_stock",
    "send_notification",
];
const CLIENTS: [&str; 4] = [
    "acme-ios/5.2.1",
    "web-frontend",
    "partner-api/2024-10",
    "acme-android/5.11.0",
];
const THINGS: [&str; 6] = [
    "recommendations",
    "pricing rules",
    "exchange rates",
    "feature flags",
    "product catalog",
    "shipping zones",
];
const MIGRATIONS: [&str; 4] = [
    "20260105_add_index_on_orders_user_id",
    "20260112_create_refunds",
    "20251201_add_column_users_locale",
    "20251120_drop_legacy_sessions",
];
const DEPS: [&str; 6] = [
    "postgres",
    "redis",
    "kafka",
    "user-service",
    "inventory-service",
    "smtp",
];
const KIDS: [&str; 3] = ["2026-01-a", "2025-12-b", "2025-11-a"];
const SPAN_INTERNAL: [&str; 8] = [
    "validate_request",
    "compute_price",
    "serialize_response",
    "load_feature_flags",
    "apply_discounts",
    "render_template",
    "check_permissions",
    "rank_results",
];

// ---------------------------------------------------------------------------------------------
// Message templates
// ---------------------------------------------------------------------------------------------

struct Template {
    level: Level,
    cat: Cat,
    text: &'static str,
}

const fn t(level: Level, cat: Cat, text: &'static str) -> Template {
    Template { level, cat, text }
}

use Cat::*;
use Level::{Debug as D, Error as E, Fatal as F, Info as I, Warn as W};

/// About 200 message templates; `{name}` parts are filled in per record (see `Ctx::put`).
/// Within a (service, level) pool, earlier templates are more frequent.
static TEMPLATES: &[Template] = &[
    // --- HTTP (gateway, nginx style) ---
    t(
        I,
        Http,
        "{ip} - - \"{method} {path} HTTP/1.1\" {status} {bytes} \"-\" \"{ua}\" {secs}",
    ),
    t(I, Http, "{method} {path} -> {status} in {ms}ms"),
    t(
        I,
        Http,
        "request completed method={method} path={path} status={status} duration={ms}ms bytes={bytes}",
    ),
    t(I, Http, "proxying {method} {path} to upstream {upstream}"),
    t(I, Http, "upstream {upstream} responded {status} in {ms}ms"),
    t(I, Http, "accepted connection from {ip}:{port}"),
    t(I, Http, "request {rid} matched route {route}"),
    t(I, Http, "served {path} from edge cache (age {n}s)"),
    t(
        I,
        Http,
        "TLS handshake with {ip} completed: TLSv1.3 TLS_AES_128_GCM_SHA256",
    ),
    t(I, Http, "rate limit bucket for {uid} at {n}/100 tokens"),
    t(
        D,
        Http,
        "parsed {n} headers for request {rid}, content-length={bytes}",
    ),
    t(D, Http, "route lookup for {path} took {us}us"),
    t(D, Http, "keepalive connection {conn} reused ({n} requests)"),
    t(D, Http, "upstream pool {upstream} has {n} idle connections"),
    t(
        D,
        Http,
        "CORS preflight for {path} from origin https://shop.acme.io",
    ),
    t(W, Http, "{method} {path} -> {status} in {ms}ms"),
    t(
        W,
        Http,
        "slow request {rid}: {method} {path} took {ms}ms (threshold 500ms)",
    ),
    t(
        W,
        Http,
        "rate limit exceeded for client {ip} on {route}, rejecting with 429",
    ),
    t(
        W,
        Http,
        "upstream {upstream} p99 latency {ms}ms over the last 60s",
    ),
    t(
        W,
        Http,
        "client {ip} closed connection before the response was sent",
    ),
    t(
        W,
        Http,
        "request body from {ip} too large: {bytes} bytes exceeds limit",
    ),
    t(
        W,
        Http,
        "retrying {method} {path} on upstream {upstream} (attempt {attempt} of 3)",
    ),
    t(E, Http, "{method} {path} -> {status} in {ms}ms"),
    t(E, Http, "upstream {upstream} connect failed: {err}"),
    t(
        E,
        Http,
        "request {rid} failed: upstream returned {status} after {ms}ms",
    ),
    t(E, Http, "no healthy upstream for route {route}"),
    t(
        E,
        Http,
        "circuit breaker opened for {upstream} after {n} consecutive failures",
    ),
    t(
        F,
        Http,
        "failed to bind listener on 0.0.0.0:8080: address already in use",
    ),
    t(
        F,
        Http,
        "TLS certificate /etc/tls/tls.crt expired, refusing to serve",
    ),
    t(I, Http, "HTTP/2 stream {n} opened by {ip}:{port}"),
    // --- Application ---
    t(I, App, "request {rid} handled in {ms}ms"),
    t(I, App, "user {user} viewed {path}"),
    t(I, App, "started processing request {rid} for user {uid}"),
    t(I, App, "processed batch of {n} items in {ms}ms"),
    t(
        I,
        App,
        "feature flag {flag} evaluated to {bool} for user {uid}",
    ),
    t(I, App, "sending response {status} for request {rid}"),
    t(I, App, "user {user} updated profile field {field}"),
    t(I, App, "health check passed ({n} dependencies ok)"),
    t(I, App, "cache warmup finished: {n} entries in {ms}ms"),
    t(
        I,
        App,
        "background refresh of {thing} completed, {n} records updated",
    ),
    t(
        I,
        App,
        "configuration reloaded from /etc/{service}/config.yaml ({n} keys)",
    ),
    t(I, App, "connected to upstream {upstream}"),
    t(I, App, "listening on 0.0.0.0:8080"),
    t(
        I,
        App,
        "order {order} created for user {uid} with {qty} items",
    ),
    t(
        I,
        App,
        "order {order} status changed from pending to confirmed",
    ),
    t(
        I,
        App,
        "stock reserved for {sku}: {qty} units (order {order})",
    ),
    t(I, App, "user {user} signed up with email {email}"),
    t(
        I,
        App,
        "exported {n} rows to s3://acme-exports/{service}/{date}.csv.gz",
    ),
    t(D, App, "entering handler {handler} with {n} params"),
    t(D, App, "deserialized payload of {bytes} bytes in {us}us"),
    t(D, App, "validated request {rid}: {n} fields ok"),
    t(D, App, "computed {thing} for user {uid} in {us}us"),
    t(D, App, "dependency {dep} latency {ms}ms"),
    t(D, App, "loaded {n} rows of {thing}"),
    t(D, App, "price for {sku} resolved to {amount} {currency}"),
    t(D, App, "cart of user {uid} has {qty} items"),
    t(W, App, "deprecated API {route} called by client {client}"),
    t(
        W,
        App,
        "retrying {dep} call after {err} (attempt {attempt})",
    ),
    t(
        W,
        App,
        "request {rid} took {ms}ms, exceeding its 250ms budget",
    ),
    t(
        W,
        App,
        "validation failed for request {rid}: field {field} {reason}",
    ),
    t(W, App, "thread pool saturated: {n} tasks queued"),
    t(W, App, "falling back to default for flag {flag}: {err}"),
    t(W, App, "order {order} has been pending for {n} minutes"),
    t(W, App, "low stock for {sku}: {qty} units left"),
    t(E, App, "unhandled error in request {rid}: {err}"),
    t(E, App, "failed to call {dep} at {upstream}: {err}"),
    t(
        E,
        App,
        "panic in handler {handler}: index out of bounds: the len is {n} but the index is {n2}",
    ),
    t(
        E,
        App,
        "could not serialize response for request {rid}: {err}",
    ),
    t(
        E,
        App,
        "request {rid} failed after {attempt} attempts: {err}",
    ),
    t(E, App, "order {order} could not be confirmed: {err}"),
    t(F, App, "out of memory: failed to allocate {bytes} bytes"),
    t(F, App, "unrecoverable error, shutting down: {err}"),
    t(
        F,
        App,
        "failed to load configuration /etc/{service}/config.yaml: missing key {field}",
    ),
    t(
        I,
        App,
        "cart of user {uid} checked out: {qty} items, {amount} {currency}",
    ),
    t(D, App, "retry policy for {dep}: 3 attempts, backoff {ms}ms"),
    // --- PostgreSQL client ---
    t(I, Db, "executed query on {table} in {ms}ms ({rows} rows)"),
    t(I, Db, "transaction {txid} committed ({rows} rows affected)"),
    t(
        I,
        Db,
        "connection pool: {n} active, {n2} idle, {n3} waiting",
    ),
    t(
        I,
        Db,
        "INSERT INTO {table} completed: {rows} rows in {ms}ms",
    ),
    t(I, Db, "prepared statement cache hit rate {pct}%"),
    t(I, Db, "migration {migration} applied in {ms}ms"),
    t(D, Db, "acquired connection from pool in {us}us"),
    t(
        D,
        Db,
        "SQL: SELECT * FROM {table} WHERE id = $1 LIMIT 1 [id={id}]",
    ),
    t(
        D,
        Db,
        "SQL: UPDATE {table} SET updated_at = now() WHERE id = $1 [id={id}]",
    ),
    t(D, Db, "transaction {txid} begin isolation=read_committed"),
    t(
        D,
        Db,
        "fetched {rows} rows from {table} using index {table}_pkey",
    ),
    t(
        W,
        Db,
        "slow query ({ms}ms) on {table}: SELECT * FROM {table} WHERE user_id = $1 ORDER BY created_at DESC LIMIT 50",
    ),
    t(
        W,
        Db,
        "connection pool exhausted, waited {ms}ms for a connection",
    ),
    t(
        W,
        Db,
        "deadlock detected on {table}, retrying transaction {txid}",
    ),
    t(W, Db, "replication lag on {dbhost} is {n}s"),
    t(
        W,
        Db,
        "query on {table} returned {rows} rows, consider pagination",
    ),
    t(E, Db, "query on {table} failed: {dberr}"),
    t(E, Db, "transaction {txid} rolled back: {dberr}"),
    t(E, Db, "could not connect to {dbhost}:5432: {err}"),
    t(
        E,
        Db,
        "duplicate key value violates unique constraint \"{table}_pkey\" (id={id})",
    ),
    t(
        F,
        Db,
        "database {db} unreachable after {n} retries, giving up",
    ),
    t(F, Db, "schema version mismatch: expected {n}, found {n2}"),
    t(I, Db, "autovacuum of {table} finished in {ms}ms"),
    // --- Redis ---
    t(I, Cache, "cache hit for key {key}"),
    t(I, Cache, "cache miss for key {key}, loading from database"),
    t(I, Cache, "evicted {n} keys from local cache"),
    t(I, Cache, "redis connection established to {redis}"),
    t(D, Cache, "GET {key} -> {bytes} bytes in {us}us"),
    t(D, Cache, "SET {key} ttl={n}s"),
    t(D, Cache, "DEL {key}"),
    t(D, Cache, "pipeline of {n} commands executed in {us}us"),
    t(W, Cache, "redis command GET {key} took {ms}ms"),
    t(
        W,
        Cache,
        "cache stampede on key {key}: {n} concurrent loaders",
    ),
    t(W, Cache, "redis {redis} reconnecting after {err}"),
    t(E, Cache, "redis command failed for key {key}: {err}"),
    t(
        E,
        Cache,
        "cache deserialization error for key {key}: invalid type: map, expected a string",
    ),
    t(
        F,
        Cache,
        "redis cluster {redis} is down, no replicas available",
    ),
    t(D, Cache, "local cache holds {n} entries ({mb}MB)"),
    // --- Kafka ---
    t(
        I,
        Queue,
        "consumed message from {topic}[{partition}] at offset {offset}",
    ),
    t(I, Queue, "published {event} to {topic} (key {order})"),
    t(
        I,
        Queue,
        "committed offset {offset} for {topic}[{partition}]",
    ),
    t(
        I,
        Queue,
        "consumer group {service}-consumers rebalanced: assigned partitions [{partition}]",
    ),
    t(D, Queue, "polled {n} records from {topic} in {ms}ms"),
    t(
        D,
        Queue,
        "message headers: content-type=application/json, schema-version={n}",
    ),
    t(
        D,
        Queue,
        "producer batch flushed: {n} messages, {bytes} bytes",
    ),
    t(
        W,
        Queue,
        "consumer lag for group {service}-consumers on {topic} is {lag} messages",
    ),
    t(
        W,
        Queue,
        "message {topic}[{partition}]@{offset} redelivered (attempt {attempt})",
    ),
    t(W, Queue, "producer queue {pct}% full, throttling"),
    t(E, Queue, "failed to publish to {topic}: {kafkaerr}"),
    t(
        E,
        Queue,
        "message {topic}[{partition}]@{offset} moved to dead letter queue: {err}",
    ),
    t(
        E,
        Queue,
        "failed to deserialize message from {topic}: missing field `order_id`",
    ),
    t(
        F,
        Queue,
        "kafka broker {broker} unreachable, consumer stopped",
    ),
    t(
        I,
        Queue,
        "group {service}-consumers caught up on {topic}, lag 0",
    ),
    // --- Authentication ---
    t(I, Auth, "user {user} logged in from {ip} via {authmethod}"),
    t(
        I,
        Auth,
        "issued access token for user {uid} (expires in 3600s)",
    ),
    t(I, Auth, "refreshed session {sess} for user {uid}"),
    t(I, Auth, "user {user} logged out"),
    t(I, Auth, "MFA challenge passed for user {user}"),
    t(I, Auth, "password changed for user {user}"),
    t(D, Auth, "validating JWT for request {rid}: kid={kid}"),
    t(D, Auth, "loaded {n} permissions for role {role}"),
    t(D, Auth, "session {sess} lookup took {us}us"),
    t(
        W,
        Auth,
        "failed login for user {user} from {ip} ({n2} of 5)",
    ),
    t(W, Auth, "token for user {uid} expired {n}s ago"),
    t(W, Auth, "login for user {user} from new country {country}"),
    t(W, Auth, "account {user} locked after 5 failed attempts"),
    t(
        E,
        Auth,
        "JWT validation failed for request {rid}: signature mismatch",
    ),
    t(E, Auth, "LDAP bind failed for {user}: {err}"),
    t(E, Auth, "failed to persist session {sess}: {err}"),
    t(
        F,
        Auth,
        "signing key /etc/auth/jwt.key could not be loaded: permission denied",
    ),
    // --- Payments ---
    t(
        I,
        Payment,
        "payment {txid} authorized for order {order}: {amount} {currency} via {provider}",
    ),
    t(I, Payment, "payment {txid} captured ({amount} {currency})"),
    t(
        I,
        Payment,
        "webhook from {provider}: payment_intent.succeeded for order {order}",
    ),
    t(
        I,
        Payment,
        "refund {txid} issued for order {order}: {amount} {currency}",
    ),
    t(
        D,
        Payment,
        "calling {provider} API /v1/charges for order {order}",
    ),
    t(D, Payment, "card ending in {card4} tokenized"),
    t(
        W,
        Payment,
        "payment {txid} declined by {provider}: insufficient_funds",
    ),
    t(W, Payment, "{provider} API slow ({ms}ms) for order {order}"),
    t(
        W,
        Payment,
        "duplicate payment attempt for order {order} ignored",
    ),
    t(
        E,
        Payment,
        "payment {txid} failed for order {order}: {provider} returned 502 Bad Gateway",
    ),
    t(
        E,
        Payment,
        "could not verify webhook signature from {provider}",
    ),
    t(
        E,
        Payment,
        "currency conversion failed for order {order}: unsupported currency {currency}",
    ),
    t(
        F,
        Payment,
        "{provider} credentials rejected, payments disabled",
    ),
    // --- Search ---
    t(
        I,
        Search,
        "search \"{query}\" returned {hits} hits in {ms}ms",
    ),
    t(I, Search, "indexed {n} documents into {index} in {ms}ms"),
    t(I, Search, "index {index} refreshed"),
    t(
        D,
        Search,
        "query plan for \"{query}\": {n} shards, {n2} segments",
    ),
    t(D, Search, "tokenized \"{query}\" into {n} terms"),
    t(W, Search, "search \"{query}\" took {ms}ms (slow log)"),
    t(W, Search, "index {index} shard {n} is relocating"),
    t(W, Search, "zero results for \"{query}\""),
    t(E, Search, "search on {index} failed: {err}"),
    t(
        E,
        Search,
        "bulk indexing into {index} rejected {n} documents: mapper_parsing_exception",
    ),
    t(
        F,
        Search,
        "index {index} is corrupted: checksum failed on segment _{n}",
    ),
    t(I, Search, "suggestions for \"{query}\": {n} candidates"),
    // --- Scheduled jobs and notifications ---
    t(I, Sched, "job {job} started (run {jobid})"),
    t(
        I,
        Sched,
        "job {job} finished in {ms}ms, {n} items processed",
    ),
    t(I, Sched, "scheduled {job} to run again in {n}s"),
    t(I, Sched, "sent {n} {channel} notifications"),
    t(
        I,
        Sched,
        "email to {email} delivered (message id <{hex}@mail.acme.io>)",
    ),
    t(D, Sched, "job {job} acquired lock for run {jobid}"),
    t(D, Sched, "rendering template {tpl} for user {uid}"),
    t(
        W,
        Sched,
        "job {job} run {jobid} exceeded expected duration ({ms}ms)",
    ),
    t(W, Sched, "job {job} retrying (attempt {attempt}): {err}"),
    t(W, Sched, "email to {email} bounced: mailbox full"),
    t(E, Sched, "job {job} run {jobid} failed: {err}"),
    t(
        E,
        Sched,
        "failed to send {channel} notification to user {uid}: {err}",
    ),
    t(F, Sched, "scheduler lost its leadership lease, exiting"),
    // --- Runtime and system ---
    t(I, Sys, "GC completed: freed {mb}MB in {ms}ms"),
    t(I, Sys, "heap usage {mb}MB of 2048MB"),
    t(I, Sys, "readiness probe ok"),
    t(I, Sys, "{service} v{version} starting (pid {pid})"),
    t(I, Sys, "received SIGTERM, draining {n} connections"),
    t(I, Sys, "reloaded TLS certificate, expires in {n} days"),
    t(D, Sys, "worker thread {thread} idle for {ms}ms"),
    t(D, Sys, "runtime stats: {n} tasks, {n2} workers busy"),
    t(D, Sys, "file descriptors in use: {n}/65536"),
    t(W, Sys, "heap usage at {pct}% of limit"),
    t(W, Sys, "event loop blocked for {ms}ms"),
    t(W, Sys, "disk usage on /var/lib/{service} at {pct}%"),
    t(W, Sys, "clock skew of {ms}ms against NTP server"),
    t(E, Sys, "liveness probe failed: {err}"),
    t(
        E,
        Sys,
        "failed to write /var/log/{service}/app.log: No space left on device",
    ),
    t(
        F,
        Sys,
        "thread {thread} panicked: called `Option::unwrap()` on a `None` value",
    ),
    t(
        F,
        Sys,
        "OOMKilled: container exceeded memory limit of 2048Mi",
    ),
];

/// The message of the rare records that carry [`RARE_TERM`].
const RARE_TEMPLATE: &str =
    "kernel: EDAC MC0: {n} {rare} error(s) on DIMM_A{n2} (memory controller reset scheduled)";

/// Level weights per mille: debug, info, warn, error, fatal.
const LEVELS: [Level; 5] = [
    Level::Debug,
    Level::Info,
    Level::Warn,
    Level::Error,
    Level::Fatal,
];
const LEVEL_WEIGHTS: [u32; 5] = [150, 700, 100, 40, 10];

/// Templates of one (service, level), with cumulative Zipf-like weights.
#[derive(Debug, Clone, Default)]
struct Pool {
    items: Vec<u16>,
    cumulative: Vec<u64>,
}

impl Pool {
    fn pick(&self, rng: &mut SplitMix64) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        let r = rng.below(total);
        let i = self.cumulative.partition_point(|c| *c <= r);
        self.items.get(i).map_or(0, |x| usize::from(*x))
    }
}

// ---------------------------------------------------------------------------------------------
// Topology
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Pod {
    service: usize,
    name: String,
    host: String,
    region: &'static str,
    pid: u32,
    resource: heimsight_core::SharedAttributes,
    /// Metric timestamps of this pod are late by this much.
    scrape_offset_ns: i64,
}

fn topology(rng: &mut SplitMix64, pods_per_service: usize) -> Vec<Pod> {
    const ALNUM: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut pods = Vec::new();
    let pods_per_service = pods_per_service.max(1);
    for (s, service) in SERVICES.iter().enumerate() {
        let rs: String = (0..10)
            .map(|_| char::from(ALNUM[rng.below(ALNUM.len() as u64) as usize]))
            .collect();
        for _ in 0..pods_per_service {
            let suffix: String = (0..5)
                .map(|_| char::from(ALNUM[rng.below(ALNUM.len() as u64) as usize]))
                .collect();
            let name = format!("{service}-{rs}-{suffix}");
            let region = rng.pick(&REGIONS);
            let host = format!(
                "ip-10-{}-{}-{}.{region}.compute.internal",
                rng.below(4),
                rng.below(256),
                rng.range(1, 254)
            );
            let mut resource = Attributes::new();
            resource.insert("service.name".into(), (*service).into());
            resource.insert("service.version".into(), SERVICE_VERSIONS[s].into());
            resource.insert("host.name".into(), host.clone().into());
            resource.insert("deployment.environment".into(), "production".into());
            pods.push(Pod {
                service: s,
                name,
                host,
                region,
                pid: rng.range(1, 64) as u32,
                resource: resource.into(),
                scrape_offset_ns: rng.below(2_000) as i64 * 1_000_000,
            });
        }
    }
    pods
}

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

/// Generates realistic logs, traces and metric points, deterministically from a seed.
///
/// Logs, traces and metrics come from independent streams: the logs of a seed are the same
/// whether or not traces are generated in between, and `logs(10)` twice gives the same
/// records as `logs(20)` once.
#[derive(Debug, Clone)]
pub struct Generator {
    config: Config,
    pods: Vec<Pod>,
    /// Pod indexes per service.
    service_pods: Vec<Vec<usize>>,
    /// Template pools per service and level (index in [`LEVELS`]).
    pools: Vec<[Pool; 5]>,
    logs: LogState,
    traces: TraceState,
    metrics: MetricState,
}

#[derive(Debug, Clone, Default)]
struct LogState {
    rng: SplitMix64,
    count: u64,
    rare: u64,
    requests: Vec<Request>,
}

#[derive(Debug, Clone)]
struct Request {
    pod: usize,
    trace_id: TraceId,
    span_id: SpanId,
    user: u64,
    remaining: u32,
}

#[derive(Debug, Clone, Default)]
struct TraceState {
    rng: SplitMix64,
    count: u64,
}

#[derive(Debug, Clone)]
struct MetricState {
    rng: SplitMix64,
    series: Vec<SeriesState>,
    cursor: usize,
    scrape: i64,
}

#[derive(Debug, Clone)]
struct SeriesState {
    name: &'static str,
    kind: MetricKind,
    unit: &'static str,
    labels: Labels,
    pod: usize,
    /// Gauge value, or cumulative counter value.
    value: f64,
    /// Cumulative histogram counts and sum.
    counts: Vec<u64>,
    sum: f64,
    /// Typical per-scrape rate (counters, histograms) or level (gauges).
    scale: f64,
}

const HISTOGRAM_BOUNDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

const ACTIVE_REQUESTS: usize = 24;

impl Generator {
    /// A generator with the default [`Config`].
    pub fn new(seed: u64) -> Self {
        Self::with_config(seed, Config::default())
    }

    /// A generator with the given configuration.
    pub fn with_config(seed: u64, config: Config) -> Self {
        let mut root = SplitMix64::new(seed);
        let mut topo_rng = SplitMix64::new(root.next_u64());
        let pods = topology(&mut topo_rng, config.pods_per_service);
        let mut service_pods = vec![Vec::new(); SERVICES.len()];
        for (i, p) in pods.iter().enumerate() {
            service_pods[p.service].push(i);
        }
        let pools = (0..SERVICES.len())
            .map(|s| {
                let mut pools: [Pool; 5] = Default::default();
                for (l, level) in LEVELS.iter().enumerate() {
                    let mut total = 0u64;
                    for (i, tpl) in TEMPLATES.iter().enumerate() {
                        if tpl.level == *level && SERVICE_CATS[s].contains(&tpl.cat) {
                            let rank = pools[l].items.len() as f64;
                            // Zipf-like: the n-th template of a pool is ~1/n^0.9 as frequent.
                            total += (10_000.0 / (rank + 1.0).powf(0.9)) as u64;
                            pools[l].items.push(i as u16);
                            pools[l].cumulative.push(total);
                        }
                    }
                }
                pools
            })
            .collect();
        let mut log_rng = SplitMix64::new(root.next_u64());
        let requests = (0..ACTIVE_REQUESTS)
            .map(|_| new_request(&service_pods, &mut log_rng))
            .collect();
        let logs = LogState {
            rng: log_rng,
            count: 0,
            rare: 0,
            requests,
        };
        let traces = TraceState {
            rng: SplitMix64::new(root.next_u64()),
            count: 0,
        };
        let mut metric_rng = SplitMix64::new(root.next_u64());
        let series = metric_series(&pods, &mut metric_rng);
        Generator {
            config,
            pods,
            service_pods,
            pools,
            logs,
            traces,
            metrics: MetricState {
                rng: metric_rng,
                series,
                cursor: 0,
                scrape: 0,
            },
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Log records generated so far.
    pub fn logs_generated(&self) -> u64 {
        self.logs.count
    }

    /// Traces generated so far.
    pub fn traces_generated(&self) -> u64 {
        self.traces.count
    }

    /// Records carrying [`RARE_TERM`] generated so far.
    pub fn rare_logs(&self) -> u64 {
        self.logs.rare
    }

    /// Number of distinct metric series [`Generator::points`] cycles through.
    pub fn series_count(&self) -> usize {
        self.metrics.series.len()
    }

    /// How many of the first `n` log records carry [`RARE_TERM`] with `rare_every`.
    pub fn rare_logs_in(n: u64, rare_every: u64) -> u64 {
        if rare_every == 0 {
            return 0;
        }
        let offset = rare_every / 2;
        if n <= offset {
            0
        } else {
            (n - offset - 1) / rare_every + 1
        }
    }

    // ----- logs -----

    /// The next `n` log records.
    pub fn logs(&mut self, n: usize) -> Vec<LogRecord> {
        let mut out = Vec::with_capacity(n);
        let mut state = std::mem::take(&mut self.logs);
        for _ in 0..n {
            out.push(self.one_log(&mut state));
        }
        self.logs = state;
        out
    }

    fn one_log(&self, st: &mut LogState) -> LogRecord {
        let i = st.count;
        st.count += 1;
        let rng = &mut st.rng;
        let period = SEC as f64 / self.config.logs_per_sec.max(1e-9);
        let jitter = rng.below(self.config.jitter_ns.max(0) as u64) as i64;
        let ts = self
            .config
            .start
            .saturating_add((i as f64 * period) as i64 + jitter);

        let rare =
            self.config.rare_every > 0 && i % self.config.rare_every == self.config.rare_every / 2;
        let (pod, trace) = if !rare && rng.chance(self.config.traced_fraction) {
            let k = rng.below(st.requests.len() as u64) as usize;
            let req = &mut st.requests[k];
            let found = (req.pod, Some((req.trace_id, req.span_id, req.user)));
            req.remaining = req.remaining.saturating_sub(1);
            if req.remaining == 0 {
                st.requests[k] = new_request(&self.service_pods, rng);
            } else if rng.chance(0.3) {
                // The request moved on to another span of the same trace.
                st.requests[k].span_id = rng.span_id();
            }
            found
        } else {
            let service = rng.weighted(&SERVICE_WEIGHTS);
            (pick_pod(&self.service_pods, rng, service), None)
        };
        let pod_ref = &self.pods[pod];
        let (level, text, cat) = if rare {
            st.rare += 1;
            (Level::Error, RARE_TEMPLATE, Cat::Sys)
        } else {
            let l = rng.weighted(&LEVEL_WEIGHTS);
            let tpl = &TEMPLATES[self.pools[pod_ref.service][l].pick(rng)];
            (tpl.level, tpl.text, tpl.cat)
        };
        let mut ctx = Ctx::new(pod_ref, level, trace.map(|t| t.2));
        let mut body = String::with_capacity(text.len() + 48);
        ctx.render(text, rng, &mut body);
        let attributes = ctx.attributes(cat, rng);
        LogRecord {
            service: SERVICES[pod_ref.service].to_string(),
            attributes,
            resource: pod_ref.resource.clone(),
            trace_id: trace.map(|t| t.0),
            span_id: trace.map(|t| t.1),
            flags: if trace.is_some() { 1 } else { 0 },
            ..LogRecord::new(Timestamp(ts.0), level, body)
        }
    }

    // ----- traces -----

    /// The spans of the next `n` traces (3 to 15 spans each, across services), children before
    /// their parents as SDK exporters send them.
    pub fn traces(&mut self, n: usize) -> Vec<Span> {
        let mut state = std::mem::take(&mut self.traces);
        let mut out = Vec::with_capacity(n * 8);
        for _ in 0..n {
            self.one_trace(&mut state, &mut out);
        }
        self.traces = state;
        out
    }

    fn one_trace(&self, st: &mut TraceState, out: &mut Vec<Span>) {
        let i = st.count;
        st.count += 1;
        let rng = &mut st.rng;
        let period = SEC as f64 / self.config.traces_per_sec.max(1e-9);
        let start = self.config.start.0
            + (i as f64 * period) as i64
            + rng.below(self.config.jitter_ns.max(0) as u64) as i64;
        let budget = 3 + rng.skewed(13, 2);
        let trace_id = rng.trace_id();
        let user = user_number(rng);
        let mut nodes: Vec<Node> = Vec::with_capacity(budget);

        // The root: a request through the gateway, or a message a worker consumes.
        if rng.chance(0.85) {
            let route = rng.skewed(ROUTES.len(), 2);
            nodes.push(Node::new(
                None,
                pick_pod(&self.service_pods, rng, 0),
                SpanKind::Server,
                NodeOp::Http(route),
            ));
        } else {
            let topic = rng.below(TOPICS.len() as u64) as usize;
            nodes.push(Node::new(
                None,
                pick_pod(&self.service_pods, rng, 7),
                SpanKind::Consumer,
                NodeOp::Consume(topic),
            ));
        }
        while nodes.len() < budget {
            let expandable: Vec<usize> = (0..nodes.len())
                .filter(|&k| {
                    matches!(
                        nodes[k].kind,
                        SpanKind::Server | SpanKind::Consumer | SpanKind::Internal
                    ) && nodes[k].depth < 6
                })
                .collect();
            let parent = expandable[rng.skewed(expandable.len(), 1)];
            let p_pod = nodes[parent].pod;
            let service = self.pods[p_pod].service;
            let callees = CALLEES[service];
            let room = budget - nodes.len();
            let choice = rng.weighted(&[
                if room >= 2 && !callees.is_empty() {
                    40
                } else {
                    0
                },
                if service != 0 { 25 } else { 0 },
                if service != 0 { 15 } else { 0 },
                12,
                if matches!(service, 1 | 5 | 6) { 8 } else { 0 },
            ]);
            let depth = nodes[parent].depth + 1;
            match choice {
                0 => {
                    let callee = callees[rng.below(callees.len() as u64) as usize];
                    let route = rng.skewed(ROUTES.len(), 2);
                    let mut client = Node::new(
                        Some(parent),
                        p_pod,
                        SpanKind::Client,
                        NodeOp::Call(route, callee),
                    );
                    client.depth = depth;
                    nodes.push(client);
                    let mut server = Node::new(
                        Some(nodes.len() - 1),
                        pick_pod(&self.service_pods, rng, callee),
                        SpanKind::Server,
                        NodeOp::Http(route),
                    );
                    server.depth = depth + 1;
                    nodes.push(server);
                }
                1 => {
                    let tables = SERVICE_TABLES[service];
                    let table = rng.below(tables.len() as u64) as usize;
                    let op = rng.weighted(&[60, 15, 20, 5]);
                    let mut node = Node::new(
                        Some(parent),
                        p_pod,
                        SpanKind::Client,
                        NodeOp::Sql(table, op),
                    );
                    node.depth = depth;
                    nodes.push(node);
                }
                2 => {
                    let op = rng.weighted(&[70, 20, 10]);
                    let mut node =
                        Node::new(Some(parent), p_pod, SpanKind::Client, NodeOp::Redis(op));
                    node.depth = depth;
                    nodes.push(node);
                }
                3 => {
                    let op = rng.below(SPAN_INTERNAL.len() as u64) as usize;
                    let mut node = Node::new(
                        Some(parent),
                        p_pod,
                        SpanKind::Internal,
                        NodeOp::Internal(op),
                    );
                    node.depth = depth;
                    nodes.push(node);
                }
                _ => {
                    let topic = rng.below(4) as usize;
                    let mut node = Node::new(
                        Some(parent),
                        p_pod,
                        SpanKind::Producer,
                        NodeOp::Publish(topic),
                    );
                    node.depth = depth;
                    nodes.push(node);
                }
            }
        }

        // Times, top-down: children lie inside their parents.
        let root_ms = rng.log_normal(45.0, 0.9).clamp(1.0, 30_000.0);
        nodes[0].start = start;
        nodes[0].end = start + (root_ms * 1e6) as i64;
        for k in 1..nodes.len() {
            let Some(p) = nodes[k].parent else { continue };
            let (ps, pe) = (nodes[p].start, nodes[p].end);
            let pd = (pe - ps).max(0);
            let (s, e) = if nodes[p].kind == SpanKind::Client && nodes[k].kind == SpanKind::Server {
                // The callee's server span: the client span minus network time.
                let net = (pd as f64 * (0.02 + 0.08 * rng.f64())) as i64;
                (ps + net, pe - net)
            } else {
                let d = ((pd as f64 * (0.05 + 0.55 * rng.f64())) as i64).max(pd.min(1_000));
                let s = ps + rng.below((pd - d + 1) as u64) as i64;
                (s, s + d)
            };
            nodes[k].start = s;
            nodes[k].end = e;
        }

        // Errors: ~2% of spans, starting at a leaf-ish span and often propagating upwards.
        if rng.chance(0.08) && nodes.len() > 1 {
            let mut k = 1 + rng.below(nodes.len() as u64 - 1) as usize;
            nodes[k].error = true;
            while let Some(p) = nodes[k].parent {
                if !rng.chance(0.6) {
                    break;
                }
                nodes[p].error = true;
                k = p;
            }
        }

        let ids: Vec<SpanId> = nodes.iter().map(|_| rng.span_id()).collect();
        let first = out.len();
        for (k, node) in nodes.iter().enumerate().rev() {
            out.push(self.node_span(node, k, &ids, trace_id, user, rng));
        }
        // Worker traces are linked to the producer span that published their message.
        if let Some(root) = out.last_mut().filter(|r| r.kind == SpanKind::Consumer) {
            root.links.push(SpanLink {
                trace_id: rng.trace_id(),
                span_id: rng.span_id(),
                trace_state: String::new(),
                attributes: Attributes::new(),
                dropped_attributes_count: 0,
                flags: 1,
            });
        }
        debug_assert!(out.len() - first == nodes.len());
    }

    fn node_span(
        &self,
        node: &Node,
        k: usize,
        ids: &[SpanId],
        trace_id: TraceId,
        user: u64,
        rng: &mut SplitMix64,
    ) -> Span {
        let pod = &self.pods[node.pod];
        let service = pod.service;
        let mut a = Attributes::new();
        let (name, scope) = match node.op {
            NodeOp::Http(route) => {
                let (method, template) = ROUTES[route];
                let status: i64 = if node.error {
                    rng.pick(&[500, 502, 503, 504])
                } else if rng.chance(0.04) {
                    404
                } else {
                    200
                };
                a.insert("http.request.method".into(), method.into());
                a.insert("http.route".into(), template.into());
                a.insert(
                    "url.path".into(),
                    render_path(template, rng.below(5_000_000)).into(),
                );
                a.insert(
                    "http.response.status_code".into(),
                    AttributeValue::Int(status),
                );
                if service == 0 {
                    a.insert("client.address".into(), ip_text(user_ip(user)).into());
                    a.insert("user_agent.original".into(), rng.pick(&USER_AGENTS).into());
                }
                a.insert("user.id".into(), format!("u_{user}").into());
                (format!("{method} {template}"), "tower-http")
            }
            NodeOp::Call(route, callee) => {
                let (method, template) = ROUTES[route];
                a.insert("http.request.method".into(), method.into());
                a.insert(
                    "server.address".into(),
                    format!("{}.prod.svc.cluster.local", SERVICES[callee]).into(),
                );
                a.insert("server.port".into(), AttributeValue::Int(8080));
                a.insert("peer.service".into(), SERVICES[callee].into());
                a.insert(
                    "http.response.status_code".into(),
                    AttributeValue::Int(if node.error { 503 } else { 200 }),
                );
                (format!("{method} {template}"), "reqwest")
            }
            NodeOp::Sql(table, op) => {
                let table = SERVICE_TABLES[service][table];
                let (verb, sql) = match op {
                    0 => ("SELECT", format!("SELECT * FROM {table} WHERE id = $1")),
                    1 => (
                        "INSERT",
                        format!(
                            "INSERT INTO {table} (id, data, created_at) VALUES ($1, $2, now())"
                        ),
                    ),
                    2 => (
                        "UPDATE",
                        format!("UPDATE {table} SET data = $2, updated_at = now() WHERE id = $1"),
                    ),
                    _ => ("DELETE", format!("DELETE FROM {table} WHERE id = $1")),
                };
                a.insert("db.system".into(), "postgresql".into());
                a.insert("db.namespace".into(), SERVICE_DBS[service].into());
                a.insert("db.operation.name".into(), verb.into());
                a.insert("db.collection.name".into(), table.into());
                a.insert("db.query.text".into(), sql.into());
                a.insert(
                    "server.address".into(),
                    format!("{}-db-0.postgres.svc.cluster.local", SERVICE_DBS[service]).into(),
                );
                (format!("{verb} {}.{table}", SERVICE_DBS[service]), "sqlx")
            }
            NodeOp::Redis(op) => {
                let verb = ["GET", "SET", "MGET"][op.min(2)];
                a.insert("db.system".into(), "redis".into());
                a.insert("db.operation.name".into(), verb.into());
                a.insert(
                    "server.address".into(),
                    format!("redis-{}.cache.svc.cluster.local", rng.below(3)).into(),
                );
                a.insert("db.redis.database_index".into(), AttributeValue::Int(0));
                (verb.to_string(), "redis")
            }
            NodeOp::Internal(op) => {
                a.insert("code.function".into(), SPAN_INTERNAL[op].into());
                a.insert(
                    "code.namespace".into(),
                    format!("{}::handlers", SERVICES[service].replace('-', "_")).into(),
                );
                (SPAN_INTERNAL[op].to_string(), "app")
            }
            NodeOp::Publish(topic) | NodeOp::Consume(topic) => {
                let consume = matches!(node.op, NodeOp::Consume(_));
                a.insert("messaging.system".into(), "kafka".into());
                a.insert("messaging.destination.name".into(), TOPICS[topic].into());
                a.insert(
                    "messaging.operation.type".into(),
                    if consume { "process" } else { "publish" }.into(),
                );
                a.insert(
                    "messaging.kafka.destination.partition".into(),
                    AttributeValue::Int(rng.below(12) as i64),
                );
                if consume {
                    a.insert(
                        "messaging.consumer.group.name".into(),
                        format!("{}-consumers", SERVICES[service]).into(),
                    );
                }
                (
                    format!(
                        "{} {}",
                        TOPICS[topic],
                        if consume { "process" } else { "publish" }
                    ),
                    "rdkafka",
                )
            }
        };
        let mut events = Vec::new();
        let status = if node.error {
            let err = rng.pick(&ERRORS);
            let mut ea = Attributes::new();
            ea.insert("exception.type".into(), "ServiceError".into());
            ea.insert("exception.message".into(), err.into());
            events.push(SpanEvent {
                timestamp: Timestamp(node.start + (node.end - node.start) / 2),
                name: "exception".into(),
                attributes: ea,
                dropped_attributes_count: 0,
            });
            Status {
                code: StatusCode::Error,
                message: err.to_string(),
            }
        } else {
            if rng.chance(0.04) {
                let mut ea = Attributes::new();
                ea.insert(
                    "attempt".into(),
                    AttributeValue::Int(rng.range(1, 3) as i64),
                );
                events.push(SpanEvent {
                    timestamp: Timestamp(node.start + (node.end - node.start) / 3),
                    name: rng
                        .pick(&["retry", "cache_miss", "connection_acquired"])
                        .into(),
                    attributes: ea,
                    dropped_attributes_count: 0,
                });
            }
            Status::default()
        };
        Span {
            trace_id,
            span_id: ids[k],
            parent_span_id: node.parent.map(|p| ids[p]),
            name,
            kind: node.kind,
            service: SERVICES[service].to_string(),
            start_time: Timestamp(node.start),
            end_time: Timestamp(node.end),
            status,
            attributes: a,
            resource: pod.resource.clone(),
            scope: Scope {
                name: scope.to_string(),
                version: String::new(),
                attributes: Attributes::new(),
            }
            .into(),
            events,
            links: Vec::new(),
            trace_state: String::new(),
            flags: 1,
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
        }
    }

    // ----- metrics -----

    /// The next `n` metric points: every series is scraped once per
    /// [`Config::scrape_interval_ns`], in a fixed order. Counters and histograms are
    /// cumulative and monotonic.
    pub fn points(&mut self, n: usize) -> Vec<MetricPoint> {
        let mut out = Vec::with_capacity(n);
        let st = &mut self.metrics;
        if st.series.is_empty() {
            return out;
        }
        for _ in 0..n {
            let ts = self.config.start.0 + st.scrape * self.config.scrape_interval_ns;
            let rng = &mut st.rng;
            let s = &mut st.series[st.cursor];
            let pod = &self.pods[s.pod];
            let value = match s.kind {
                MetricKind::Gauge => {
                    // A random walk around the series' typical level.
                    s.value = (s.value + s.scale * 0.05 * rng.normal()).clamp(0.0, s.scale * 3.0);
                    if s.unit == "1" {
                        s.value = s.value.min(1.0);
                    } else {
                        s.value = s.value.round();
                    }
                    MetricValue::Number(s.value)
                }
                MetricKind::Counter => {
                    s.value += rng.log_normal(s.scale, 0.3).round();
                    MetricValue::Number(s.value)
                }
                _ => {
                    let m = rng.log_normal(s.scale, 0.3).round() as u64;
                    for _ in 0..m.min(500) {
                        let v = rng.log_normal(0.03, 1.0);
                        let b = HISTOGRAM_BOUNDS.partition_point(|x| *x < v);
                        if let Some(c) = s.counts.get_mut(b) {
                            *c += 1;
                        }
                        s.sum += v;
                    }
                    MetricValue::Histogram(HistogramValue {
                        bounds: HISTOGRAM_BOUNDS.to_vec(),
                        counts: s.counts.clone(),
                        sum: Some(s.sum),
                        count: s.counts.iter().sum(),
                        min: None,
                        max: None,
                    })
                }
            };
            let cumulative = s.kind != MetricKind::Gauge;
            out.push(MetricPoint {
                name: s.name.to_string(),
                kind: s.kind,
                temporality: if cumulative {
                    Temporality::Cumulative
                } else {
                    Temporality::Unspecified
                },
                monotonic: s.kind == MetricKind::Counter,
                labels: s.labels.clone(),
                timestamp: Timestamp(ts + pod.scrape_offset_ns),
                start_timestamp: if cumulative {
                    self.config.start
                } else {
                    Timestamp(0)
                },
                value,
                unit: s.unit.to_string(),
                description: String::new(),
                exemplars: Vec::new(),
                flags: 0,
            });
            st.cursor += 1;
            if st.cursor == st.series.len() {
                st.cursor = 0;
                st.scrape += 1;
            }
        }
        out
    }
}

fn pick_pod(service_pods: &[Vec<usize>], rng: &mut SplitMix64, service: usize) -> usize {
    let pods = &service_pods[service];
    pods[rng.below(pods.len() as u64) as usize]
}

fn new_request(service_pods: &[Vec<usize>], rng: &mut SplitMix64) -> Request {
    let service = rng.weighted(&SERVICE_WEIGHTS);
    Request {
        pod: pick_pod(service_pods, rng, service),
        trace_id: rng.trace_id(),
        span_id: rng.span_id(),
        user: user_number(rng),
        remaining: rng.range(1, 8) as u32,
    }
}

/// Which services each service calls over HTTP in traces.
const CALLEES: [&[usize]; 8] = [
    &[4, 2, 1, 3, 5, 6],
    &[5, 6, 2],
    &[4],
    &[5],
    &[2],
    &[],
    &[1],
    &[2, 1],
];

#[derive(Debug, Clone, Copy)]
enum NodeOp {
    /// Server side of an HTTP request (route index).
    Http(usize),
    /// Client side of an HTTP call (route index, callee service).
    Call(usize, usize),
    /// A SQL statement (table index in the service's tables, operation).
    Sql(usize, usize),
    /// A Redis command.
    Redis(usize),
    /// An internal step.
    Internal(usize),
    /// Publishing to a topic.
    Publish(usize),
    /// Consuming from a topic.
    Consume(usize),
}

#[derive(Debug, Clone)]
struct Node {
    parent: Option<usize>,
    pod: usize,
    kind: SpanKind,
    op: NodeOp,
    depth: u32,
    start: i64,
    end: i64,
    error: bool,
}

impl Node {
    fn new(parent: Option<usize>, pod: usize, kind: SpanKind, op: NodeOp) -> Self {
        Node {
            parent,
            pod,
            kind,
            op,
            depth: 0,
            start: 0,
            end: 0,
            error: false,
        }
    }
}

fn metric_series(pods: &[Pod], rng: &mut SplitMix64) -> Vec<SeriesState> {
    let mut out = Vec::new();
    for (p, pod) in pods.iter().enumerate() {
        let mut base = Labels::new();
        base.insert("service.name".into(), SERVICES[pod.service].into());
        base.insert(
            "service.version".into(),
            SERVICE_VERSIONS[pod.service].into(),
        );
        base.insert("host.name".into(), pod.host.clone());
        base.insert("k8s.pod.name".into(), pod.name.clone());
        base.insert("cloud.region".into(), pod.region.into());
        let mut push = |name, kind, unit, labels: Labels, scale: f64, value: f64| {
            out.push(SeriesState {
                name,
                kind,
                unit,
                labels,
                pod: p,
                value,
                counts: if kind == MetricKind::Histogram {
                    vec![0; HISTOGRAM_BOUNDS.len() + 1]
                } else {
                    Vec::new()
                },
                sum: 0.0,
                scale,
            });
        };
        let mem = 200e6 + rng.f64() * 400e6;
        push(
            "process.memory.usage",
            MetricKind::Gauge,
            "By",
            base.clone(),
            mem,
            mem,
        );
        let cpu = 0.1 + rng.f64() * 0.5;
        push(
            "process.cpu.utilization",
            MetricKind::Gauge,
            "1",
            base.clone(),
            cpu,
            cpu,
        );
        let conns = 4.0 + rng.below(12) as f64;
        push(
            "db.client.connection.count",
            MetricKind::Gauge,
            "{connection}",
            base.clone(),
            conns,
            conns,
        );
        // Four routes per service, each with a success and an error counter and a histogram.
        let first = (pod.service * 3) % ROUTES.len();
        for r in 0..4 {
            let (method, route) = ROUTES[(first + r) % ROUTES.len()];
            let mut labels = base.clone();
            labels.insert("http.request.method".into(), method.into());
            labels.insert("http.route".into(), route.into());
            let rate = 50.0 + rng.f64() * 500.0;
            for (status, share) in [("200", 1.0), ("500", 0.01)] {
                let mut l = labels.clone();
                l.insert("http.response.status_code".into(), status.into());
                push(
                    "http.server.request.count",
                    MetricKind::Counter,
                    "{request}",
                    l,
                    rate * share + 0.5,
                    0.0,
                );
            }
            push(
                "http.server.request.duration",
                MetricKind::Histogram,
                "s",
                labels,
                rate.min(200.0),
                0.0,
            );
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Variable parts
// ---------------------------------------------------------------------------------------------

/// A user number, heavily skewed: a few users are very active.
fn user_number(rng: &mut SplitMix64) -> u64 {
    1_000 + (rng.f64().powi(3) * 250_000.0) as u64
}

fn mix(x: u64) -> u64 {
    SplitMix64::new(x).next_u64()
}

fn user_name(user: u64) -> String {
    let h = mix(user);
    let first = FIRST_NAMES[(h % 40) as usize];
    let last = LAST_NAMES[((h >> 8) % 40) as usize];
    match (h >> 16) % 4 {
        0 => format!("{first}.{last}"),
        1 => format!("{first}{last}{}", (h >> 20) % 100),
        2 => format!("{first}_{last}"),
        _ => format!("{}{last}", &first[..1]),
    }
}

fn user_ip(user: u64) -> u32 {
    let h = mix(user ^ 0xA5A5);
    // Public-looking addresses: avoid 0, 10, 127 and multicast first octets.
    let first = [
        31u32, 46, 62, 78, 81, 85, 91, 104, 151, 176, 185, 188, 193, 212, 213, 217,
    ];
    (first[(h % 16) as usize] << 24) | ((h >> 8) as u32 & 0x00FF_FFFF)
}

fn ip_text(ip: u32) -> String {
    let b = ip.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

fn render_path(route: &str, id: u64) -> String {
    match route.find(":id") {
        Some(p) => format!("{}{}{}", &route[..p], id, &route[p + 3..]),
        None => route.to_string(),
    }
}

fn push_hex(out: &mut String, v: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((v >> (i * 4)) & 15) as usize]));
    }
}

/// The variable parts of one log record. Parts that also appear as attributes are drawn once
/// and remembered, so the message and the attributes agree.
struct Ctx<'a> {
    pod: &'a Pod,
    level: Level,
    user: Option<u64>,
    route: Option<usize>,
    path_id: Option<u64>,
    status: Option<i64>,
    ms: Option<u64>,
    ip: Option<u32>,
    order: Option<u64>,
    amount: Option<u64>,
    currency: Option<usize>,
    table: Option<usize>,
    topic: Option<usize>,
    partition: Option<u64>,
    job: Option<usize>,
    attempt: Option<u64>,
    index: Option<usize>,
    hits: Option<u64>,
    provider: Option<usize>,
    redis: Option<u64>,
    thread: Option<u64>,
    rid: Option<u64>,
}

impl<'a> Ctx<'a> {
    fn new(pod: &'a Pod, level: Level, user: Option<u64>) -> Self {
        Ctx {
            pod,
            level,
            user,
            route: None,
            path_id: None,
            status: None,
            ms: None,
            ip: None,
            order: None,
            amount: None,
            currency: None,
            table: None,
            topic: None,
            partition: None,
            job: None,
            attempt: None,
            index: None,
            hits: None,
            provider: None,
            redis: None,
            thread: None,
            rid: None,
        }
    }

    fn user(&mut self, rng: &mut SplitMix64) -> u64 {
        *self.user.get_or_insert_with(|| user_number(rng))
    }

    fn route(&mut self, rng: &mut SplitMix64) -> usize {
        *self.route.get_or_insert_with(|| {
            if self.pod.service == 0 {
                rng.skewed(ROUTES.len(), 2)
            } else {
                // Each backend service mostly serves "its" routes.
                (self.pod.service * 3 + rng.skewed(5, 2)) % ROUTES.len()
            }
        })
    }

    fn path(&mut self, rng: &mut SplitMix64) -> String {
        let (_, route) = ROUTES[self.route(rng)];
        let id = *self.path_id.get_or_insert_with(|| 1 + rng.below(5_000_000));
        render_path(route, id)
    }

    fn status(&mut self, rng: &mut SplitMix64) -> i64 {
        let level = self.level;
        *self.status.get_or_insert_with(|| match level {
            Level::Warn => rng.pick(&[400, 401, 403, 404, 404, 404, 409, 422, 429]),
            Level::Error | Level::Fatal => rng.pick(&[500, 502, 503, 503, 504]),
            _ => rng.pick(&[200, 200, 200, 200, 200, 200, 201, 204, 304, 302]),
        })
    }

    fn ms(&mut self, rng: &mut SplitMix64) -> u64 {
        let slow = matches!(self.level, Level::Warn | Level::Error);
        *self.ms.get_or_insert_with(|| {
            let median = if slow { 900.0 } else { 18.0 };
            rng.log_normal(median, 1.0).clamp(1.0, 120_000.0) as u64
        })
    }

    fn ip(&mut self, rng: &mut SplitMix64) -> u32 {
        if let Some(ip) = self.ip {
            return ip;
        }
        let ip = if self.user.is_some() || rng.chance(0.7) {
            user_ip(self.user(rng))
        } else {
            user_ip(rng.next_u64())
        };
        self.ip = Some(ip);
        ip
    }

    fn order(&mut self, rng: &mut SplitMix64) -> u64 {
        *self
            .order
            .get_or_insert_with(|| 40_000_000 + rng.below(2_000_000))
    }

    fn amount(&mut self, rng: &mut SplitMix64) -> u64 {
        *self
            .amount
            .get_or_insert_with(|| (rng.log_normal(42.0, 0.9).clamp(0.5, 20_000.0) * 100.0) as u64)
    }

    fn currency(&mut self, rng: &mut SplitMix64) -> usize {
        *self
            .currency
            .get_or_insert_with(|| rng.weighted(&[50, 30, 10, 8, 2]))
    }

    fn table(&mut self, rng: &mut SplitMix64) -> &'static str {
        let tables = SERVICE_TABLES[self.pod.service];
        let i = *self
            .table
            .get_or_insert_with(|| rng.skewed(tables.len(), 2));
        tables[i]
    }

    fn topic(&mut self, rng: &mut SplitMix64) -> &'static str {
        TOPICS[*self
            .topic
            .get_or_insert_with(|| rng.below(TOPICS.len() as u64) as usize)]
    }

    fn partition(&mut self, rng: &mut SplitMix64) -> u64 {
        *self.partition.get_or_insert_with(|| rng.below(12))
    }

    fn job(&mut self, rng: &mut SplitMix64) -> &'static str {
        JOBS[*self
            .job
            .get_or_insert_with(|| rng.below(JOBS.len() as u64) as usize)]
    }

    fn attempt(&mut self, rng: &mut SplitMix64) -> u64 {
        *self.attempt.get_or_insert_with(|| rng.range(2, 4))
    }

    fn index(&mut self, rng: &mut SplitMix64) -> &'static str {
        SEARCH_INDEXES[*self
            .index
            .get_or_insert_with(|| rng.skewed(SEARCH_INDEXES.len(), 2))]
    }

    fn hits(&mut self, rng: &mut SplitMix64) -> u64 {
        *self
            .hits
            .get_or_insert_with(|| rng.log_normal(120.0, 1.5) as u64)
    }

    fn provider(&mut self, rng: &mut SplitMix64) -> &'static str {
        PROVIDERS[*self
            .provider
            .get_or_insert_with(|| rng.weighted(&[60, 20, 15, 5]))]
    }

    fn redis(&mut self, rng: &mut SplitMix64) -> u64 {
        *self.redis.get_or_insert_with(|| rng.below(3))
    }

    fn thread(&mut self, rng: &mut SplitMix64) -> u64 {
        *self.thread.get_or_insert_with(|| rng.below(8))
    }

    fn rid(&mut self, rng: &mut SplitMix64) -> u64 {
        *self.rid.get_or_insert_with(|| rng.next_u64())
    }

    /// Appends `text` with every `{name}` replaced by a value.
    fn render(&mut self, text: &str, rng: &mut SplitMix64, out: &mut String) {
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    self.put(&after[..close], rng, out);
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
    }

    /// Appends the value of placeholder `name`.
    fn put(&mut self, name: &str, rng: &mut SplitMix64, out: &mut String) {
        let small = |rng: &mut SplitMix64| rng.log_normal(12.0, 1.2).clamp(1.0, 100_000.0) as u64;
        match name {
            "ip" => out.push_str(&ip_text(self.ip(rng))),
            "method" => out.push_str(ROUTES[self.route(rng)].0),
            "route" => out.push_str(ROUTES[self.route(rng)].1),
            "path" => out.push_str(&self.path(rng)),
            "status" => {
                let _ = write!(out, "{}", self.status(rng));
            }
            "ms" => {
                let _ = write!(out, "{}", self.ms(rng));
            }
            "secs" => {
                let ms = self.ms(rng);
                let _ = write!(out, "{}.{:03}", ms / 1000, ms % 1000);
            }
            "us" => {
                let _ = write!(
                    out,
                    "{}",
                    rng.log_normal(80.0, 1.0).clamp(1.0, 50_000.0) as u64
                );
            }
            "bytes" => {
                let _ = write!(
                    out,
                    "{}",
                    rng.log_normal(2_400.0, 1.3).clamp(0.0, 1e9) as u64
                );
            }
            "ua" => out.push_str(rng.pick(&USER_AGENTS)),
            "port" => {
                let _ = write!(out, "{}", rng.range(32_768, 60_999));
            }
            "rid" => {
                let r = self.rid(rng);
                push_hex(out, r, 16);
            }
            "hex" => push_hex(out, rng.next_u64(), 16),
            "upstream" => {
                let callees = CALLEES[self.pod.service];
                let s = if callees.is_empty() {
                    2
                } else {
                    rng.pick(callees)
                };
                let _ = write!(out, "{}.prod.svc.cluster.local:8080", SERVICES[s]);
            }
            "uid" => {
                let _ = write!(out, "u_{}", self.user(rng));
            }
            "user" => out.push_str(&user_name(self.user(rng))),
            "email" => {
                let u = self.user(rng);
                let _ = write!(
                    out,
                    "{}@{}",
                    user_name(u),
                    MAIL_DOMAINS[(mix(u) >> 32) as usize % MAIL_DOMAINS.len()]
                );
            }
            "n" | "n2" | "n3" => {
                let _ = write!(out, "{}", small(rng));
            }
            "conn" => {
                let _ = write!(out, "{}", rng.range(100_000, 999_999));
            }
            "err" => out.push_str(rng.pick(&ERRORS)),
            "dberr" => out.push_str(rng.pick(&DB_ERRORS)),
            "kafkaerr" => out.push_str(rng.pick(&KAFKA_ERRORS)),
            "attempt" => {
                let _ = write!(out, "{}", self.attempt(rng));
            }
            "flag" => out.push_str(rng.pick(&FLAGS)),
            "bool" => out.push_str(if rng.chance(0.5) { "true" } else { "false" }),
            "field" => out.push_str(rng.pick(&FIELDS)),
            "reason" => out.push_str(rng.pick(&REASONS)),
            "handler" => out.push_str(rng.pick(&HANDLERS)),
            "client" => out.push_str(rng.pick(&CLIENTS)),
            "thing" => out.push_str(rng.pick(&THINGS)),
            "dep" => out.push_str(rng.pick(&DEPS)),
            "service" => out.push_str(SERVICES[self.pod.service]),
            "version" => out.push_str(SERVICE_VERSIONS[self.pod.service]),
            "pid" => {
                let _ = write!(out, "{}", self.pod.pid);
            }
            "date" => {
                let _ = write!(out, "2026-01-{:02}", rng.range(1, 28));
            }
            "order" => {
                let _ = write!(out, "ORD-{}", self.order(rng));
            }
            "sku" => {
                let _ = write!(out, "SKU-{:06}", 1 + rng.skewed(90_000, 3));
            }
            "qty" => {
                let _ = write!(out, "{}", 1 + rng.skewed(12, 3));
            }
            "amount" => {
                let a = self.amount(rng);
                let _ = write!(out, "{}.{:02}", a / 100, a % 100);
            }
            "currency" => out.push_str(CURRENCIES[self.currency(rng)]),
            "table" => out.push_str(self.table(rng)),
            "rows" => {
                let _ = write!(out, "{}", rng.log_normal(3.0, 1.5).clamp(0.0, 1e6) as u64);
            }
            "txid" => {
                out.push_str("tx_");
                push_hex(out, rng.next_u64(), 12);
            }
            "id" => {
                let _ = write!(out, "{}", 1 + rng.below(9_999_999));
            }
            "pct" => {
                let _ = write!(out, "{}", rng.range(70, 99));
            }
            "migration" => out.push_str(rng.pick(&MIGRATIONS)),
            "db" => out.push_str(SERVICE_DBS[self.pod.service]),
            "dbhost" => {
                let _ = write!(
                    out,
                    "{}-db-{}.postgres.svc.cluster.local",
                    SERVICE_DBS[self.pod.service],
                    rng.below(3)
                );
            }
            "key" => {
                let u = self.user(rng);
                match rng.below(5) {
                    0 => {
                        let _ = write!(out, "user:{u}:profile");
                    }
                    1 => {
                        let _ = write!(out, "cart:{u}");
                    }
                    2 => {
                        out.push_str("session:");
                        push_hex(out, rng.next_u64(), 16);
                    }
                    3 => {
                        let _ = write!(out, "product:SKU-{:06}", 1 + rng.skewed(90_000, 3));
                    }
                    _ => {
                        let _ = write!(out, "ratelimit:{}", ip_text(user_ip(u)));
                    }
                }
            }
            "redis" => {
                let _ = write!(
                    out,
                    "redis-{}.cache.svc.cluster.local:6379",
                    self.redis(rng)
                );
            }
            "topic" => out.push_str(self.topic(rng)),
            "partition" => {
                let _ = write!(out, "{}", self.partition(rng));
            }
            "offset" => {
                let _ = write!(out, "{}", 18_000_000 + rng.below(4_000_000));
            }
            "lag" => {
                let _ = write!(out, "{}", rng.log_normal(4_000.0, 1.2) as u64);
            }
            "event" => out.push_str(rng.pick(&EVENTS)),
            "broker" => {
                let _ = write!(out, "kafka-{}.kafka.svc.cluster.local:9092", rng.below(3));
            }
            "authmethod" => out.push_str(rng.pick(&AUTH_METHODS)),
            "sess" => {
                out.push_str("sess_");
                push_hex(out, rng.next_u64(), 12);
            }
            "kid" => out.push_str(rng.pick(&KIDS)),
            "role" => out.push_str(rng.pick(&ROLES)),
            "country" => out.push_str(rng.pick(&COUNTRIES)),
            "provider" => out.push_str(self.provider(rng)),
            "card4" => {
                let _ = write!(out, "{:04}", rng.below(10_000));
            }
            "query" => out.push_str(rng.pick(&QUERIES)),
            "index" => out.push_str(self.index(rng)),
            "hits" => {
                let _ = write!(out, "{}", self.hits(rng));
            }
            "job" => out.push_str(self.job(rng)),
            "jobid" => {
                let _ = write!(out, "{}", 700_000 + rng.below(100_000));
            }
            "channel" => out.push_str(rng.pick(&CHANNELS)),
            "tpl" => out.push_str(rng.pick(&EMAIL_TEMPLATES)),
            "thread" => {
                let _ = write!(out, "tokio-runtime-worker-{}", self.thread(rng));
            }
            "mb" => {
                let _ = write!(out, "{}", rng.range(120, 1_900));
            }
            "rare" => out.push_str(RARE_TERM),
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
    }

    /// The record's attributes (5 to 10): where it runs, plus what its category is about.
    fn attributes(&mut self, cat: Cat, rng: &mut SplitMix64) -> Attributes {
        let mut a = Attributes::new();
        a.insert("region".into(), self.pod.region.into());
        a.insert("k8s.pod.name".into(), self.pod.name.clone().into());
        let module = match cat {
            Http => "http",
            App => "handlers",
            Db => "db",
            Cache => "cache",
            Queue => "events",
            Auth => "auth",
            Payment => "payments",
            Search => "search",
            Sched => "jobs",
            Sys => "runtime",
        };
        a.insert(
            "code.namespace".into(),
            format!("{}::{module}", SERVICES[self.pod.service].replace('-', "_")).into(),
        );
        let int = |v: u64| AttributeValue::Int(i64::try_from(v).unwrap_or(i64::MAX));
        match cat {
            Http => {
                a.insert("http.method".into(), ROUTES[self.route(rng)].0.into());
                a.insert("http.route".into(), ROUTES[self.route(rng)].1.into());
                a.insert(
                    "http.status_code".into(),
                    AttributeValue::Int(self.status(rng)),
                );
                a.insert("duration_ms".into(), int(self.ms(rng)));
                a.insert("client.address".into(), ip_text(self.ip(rng)).into());
                a.insert("user.id".into(), format!("u_{}", self.user(rng)).into());
            }
            App => {
                a.insert("user.id".into(), format!("u_{}", self.user(rng)).into());
                a.insert(
                    "thread.name".into(),
                    format!("tokio-runtime-worker-{}", self.thread(rng)).into(),
                );
                if self.ms.is_some() || rng.chance(0.5) {
                    a.insert("duration_ms".into(), int(self.ms(rng)));
                }
                if self.order.is_some() {
                    a.insert("order.id".into(), format!("ORD-{}", self.order(rng)).into());
                }
            }
            Db => {
                a.insert("db.system".into(), "postgresql".into());
                a.insert("db.name".into(), SERVICE_DBS[self.pod.service].into());
                a.insert("db.sql.table".into(), self.table(rng).into());
                a.insert("duration_ms".into(), int(self.ms(rng)));
                a.insert("db.pool.name".into(), "primary".into());
            }
            Cache => {
                a.insert("db.system".into(), "redis".into());
                a.insert(
                    "server.address".into(),
                    format!("redis-{}.cache.svc.cluster.local", self.redis(rng)).into(),
                );
                a.insert("duration_ms".into(), int(self.ms(rng)));
                a.insert("db.redis.database_index".into(), AttributeValue::Int(0));
            }
            Queue => {
                a.insert("messaging.system".into(), "kafka".into());
                a.insert("messaging.destination.name".into(), self.topic(rng).into());
                a.insert("messaging.kafka.partition".into(), int(self.partition(rng)));
                a.insert(
                    "messaging.consumer.group.name".into(),
                    format!("{}-consumers", SERVICES[self.pod.service]).into(),
                );
            }
            Auth => {
                a.insert("user.id".into(), format!("u_{}", self.user(rng)).into());
                a.insert("client.address".into(), ip_text(self.ip(rng)).into());
                a.insert("auth.method".into(), rng.pick(&AUTH_METHODS).into());
                a.insert("http.route".into(), "/api/v1/auth/login".into());
            }
            Payment => {
                a.insert("payment.provider".into(), self.provider(rng).into());
                a.insert("order.id".into(), format!("ORD-{}", self.order(rng)).into());
                a.insert(
                    "payment.amount".into(),
                    AttributeValue::Double(self.amount(rng) as f64 / 100.0),
                );
                a.insert(
                    "payment.currency".into(),
                    CURRENCIES[self.currency(rng)].into(),
                );
                a.insert("user.id".into(), format!("u_{}", self.user(rng)).into());
            }
            Search => {
                a.insert("search.index".into(), self.index(rng).into());
                a.insert("search.hits".into(), int(self.hits(rng)));
                a.insert("duration_ms".into(), int(self.ms(rng)));
                a.insert("user.id".into(), format!("u_{}", self.user(rng)).into());
            }
            Sched => {
                a.insert("job.name".into(), self.job(rng).into());
                a.insert("job.attempt".into(), int(self.attempt(rng)));
                a.insert(
                    "thread.name".into(),
                    format!("tokio-runtime-worker-{}", self.thread(rng)).into(),
                );
            }
            Sys => {
                a.insert(
                    "process.pid".into(),
                    AttributeValue::Int(i64::from(self.pod.pid)),
                );
                a.insert(
                    "thread.name".into(),
                    format!("tokio-runtime-worker-{}", self.thread(rng)).into(),
                );
            }
        }
        if self.level >= Level::Error && !a.contains_key("error.type") {
            a.insert(
                "error.type".into(),
                if self.level == Level::Fatal {
                    "fatal"
                } else {
                    "error"
                }
                .into(),
            );
        }
        a
    }
}

/// The data set of the query planner's pushdown property test
/// (`heimsight_query::testkit::pushdown`), run over the memory store and RocksDB: 5,000 logs
/// over about three hours (several time partitions of a store), one in 500 with
/// [`RARE_TERM`], and 200 traces.
pub fn pushdown_data() -> (Vec<LogRecord>, Vec<Span>) {
    let mut g = Generator::with_config(
        11,
        Config {
            logs_per_sec: 0.5,
            traces_per_sec: 0.02,
            rare_every: 500,
            ..Config::default()
        },
    );
    (g.logs(5_000), g.traces(200))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn same_seed_same_data_regardless_of_batching() {
        let mut a = Generator::new(7);
        let mut b = Generator::new(7);
        let mut one = a.logs(300);
        let _ = b.traces(5); // other streams don't disturb the logs
        let mut two = b.logs(100);
        two.extend(b.logs(200));
        assert_eq!(one, two);
        one.clear();
        assert_eq!(a.traces(20), {
            let mut c = Generator::new(7);
            let mut s = c.traces(12);
            s.extend(c.traces(8));
            s
        });
        assert_eq!(a.points(1000), Generator::new(7).points(1000));
        assert_ne!(Generator::new(8).logs(10), Generator::new(7).logs(10));
    }

    #[test]
    fn templates_are_many_and_fully_rendered() {
        assert!(TEMPLATES.len() >= 190, "{} templates", TEMPLATES.len());
        let pod = topology(&mut SplitMix64::new(1), 1).remove(0);
        let mut rng = SplitMix64::new(3);
        for tpl in TEMPLATES.iter().map(|t| t.text).chain([RARE_TEMPLATE]) {
            let mut ctx = Ctx::new(&pod, Level::Info, None);
            let mut out = String::new();
            ctx.render(tpl, &mut rng, &mut out);
            assert!(
                !out.contains('{') && !out.contains('}'),
                "unfilled placeholder in {out:?}"
            );
        }
        // Every service has templates at every level.
        let g = Generator::new(1);
        for pools in &g.pools {
            assert!(pools.iter().all(|p| !p.items.is_empty()));
        }
    }

    #[test]
    fn logs_have_realistic_shape() {
        let mut g = Generator::new(11);
        let logs = g.logs(50_000);
        let n = logs.len() as f64;
        let mut levels: HashMap<Level, usize> = HashMap::new();
        let mut services: HashMap<&str, usize> = HashMap::new();
        let mut bodies = HashSet::new();
        let mut traced = 0;
        let mut common = 0;
        let mut prev = 0i64;
        let mut late = 0;
        let mut max_late = 0i64;
        for r in &logs {
            r.validate().unwrap();
            *levels.entry(r.level()).or_default() += 1;
            *services.entry(r.service.as_str()).or_default() += 1;
            bodies.insert(r.body.clone());
            assert!((5..=10).contains(&r.attributes.len()), "{:?}", r.attributes);
            for k in ["service.name", "host.name", "service.version"] {
                assert!(r.resource.contains_key(k));
            }
            assert_eq!(
                r.resource["service.name"].as_str(),
                Some(r.service.as_str())
            );
            assert_eq!(r.trace_id.is_some(), r.span_id.is_some());
            traced += usize::from(r.trace_id.is_some());
            common += usize::from(heimsight_store::has_phrase(&r.body, COMMON_TERM));
            assert!(!heimsight_store::has_phrase(&r.body, RARE_TERM));
            late += usize::from(r.timestamp.0 < prev);
            max_late = max_late.max(prev - r.timestamp.0);
            prev = prev.max(r.timestamp.0);
        }
        let share = |l: Level| levels.get(&l).copied().unwrap_or(0) as f64 / n;
        assert!((0.67..0.73).contains(&share(Level::Info)), "{levels:?}");
        assert!((0.13..0.17).contains(&share(Level::Debug)), "{levels:?}");
        assert!((0.085..0.115).contains(&share(Level::Warn)), "{levels:?}");
        assert!((0.03..0.05).contains(&share(Level::Error)), "{levels:?}");
        assert!((0.005..0.015).contains(&share(Level::Fatal)), "{levels:?}");
        assert_eq!(services.len(), 8);
        assert!(services["api-gateway"] > services["payment-service"] * 3);
        assert!(
            (0.47..0.53).contains(&(traced as f64 / n)),
            "traced {traced}"
        );
        let common = common as f64 / n;
        assert!((0.08..0.4).contains(&common), "common term in {common}");
        assert!(
            bodies.len() as f64 > n * 0.5,
            "messages vary: {} distinct",
            bodies.len()
        );
        // Near order: some records are late, none by more than the jitter.
        assert!(
            late > 0 && max_late < g.config().jitter_ns,
            "{late} late, by up to {max_late}ns"
        );
        let first = logs[0].timestamp.0;
        let last = logs[logs.len() - 1].timestamp.0;
        let expected = (n / g.config().logs_per_sec * 1e9) as i64;
        assert!((last - first - expected).abs() < 10_000_000);
        // Templates are skewed but many are used.
        let templates: HashSet<String> = logs
            .iter()
            .map(|r| {
                r.body
                    .split(|c: char| c.is_ascii_digit())
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        assert!(templates.len() > 120, "{} message shapes", templates.len());
    }

    #[test]
    fn rare_term_occurs_exactly_where_announced() {
        let config = Config {
            rare_every: 1_000,
            ..Config::default()
        };
        let mut g = Generator::with_config(5, config);
        let mut found = 0u64;
        for _ in 0..5 {
            found += g
                .logs(1_001)
                .iter()
                .filter(|r| heimsight_store::has_phrase(&r.body, RARE_TERM))
                .count() as u64;
        }
        assert_eq!(found, g.rare_logs());
        assert_eq!(found, Generator::rare_logs_in(5_005, 1_000));
        assert_eq!(found, 5);
        assert_eq!(Generator::rare_logs_in(500, 1_000), 0);
        assert_eq!(Generator::rare_logs_in(501, 1_000), 1);
        assert_eq!(Generator::rare_logs_in(10_000_000, 1_000_000), 10);
    }

    #[test]
    fn traces_are_well_formed_trees() {
        let mut g = Generator::new(3);
        let spans = g.traces(2_000);
        let mut by_trace: HashMap<TraceId, Vec<&Span>> = HashMap::new();
        for s in &spans {
            s.validate().unwrap();
            by_trace.entry(s.trace_id).or_default().push(s);
        }
        assert_eq!(by_trace.len(), 2_000);
        let mut errors = 0;
        let mut multi_service = 0;
        let mut events = 0;
        for spans in by_trace.values() {
            assert!((3..=15).contains(&spans.len()), "{} spans", spans.len());
            let ids: HashMap<SpanId, &Span> = spans.iter().map(|s| (s.span_id, *s)).collect();
            assert_eq!(ids.len(), spans.len());
            let roots: Vec<_> = spans
                .iter()
                .filter(|s| s.parent_span_id.is_none())
                .collect();
            assert_eq!(roots.len(), 1);
            for s in spans {
                if let Some(p) = s.parent_span_id {
                    let parent = ids[&p];
                    assert!(s.start_time >= parent.start_time && s.end_time <= parent.end_time);
                }
                errors += usize::from(s.status.code == StatusCode::Error);
                events += s.events.len();
            }
            let services: HashSet<_> = spans.iter().map(|s| &s.service).collect();
            multi_service += usize::from(services.len() > 1);
        }
        let share = errors as f64 / spans.len() as f64;
        assert!((0.005..0.04).contains(&share), "error share {share}");
        assert!(multi_service > 1_000);
        assert!(events > 0);
        let kinds: HashSet<_> = spans.iter().map(|s| s.kind).collect();
        assert!(kinds.len() >= 5, "{kinds:?}");
    }

    #[test]
    fn points_cycle_through_fixed_series() {
        let mut g = Generator::new(9);
        let n = g.series_count();
        assert!(n >= 300);
        let pts = g.points(n * 3);
        let mut series: HashMap<(String, Labels), Vec<&MetricPoint>> = HashMap::new();
        for p in &pts {
            p.validate().unwrap();
            series
                .entry((p.name.clone(), p.labels.clone()))
                .or_default()
                .push(p);
        }
        assert_eq!(series.len(), n);
        let kinds: HashSet<_> = pts.iter().map(|p| p.kind).collect();
        assert_eq!(kinds.len(), 3);
        for pts in series.values() {
            assert_eq!(pts.len(), 3);
            assert!(pts.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
            if pts[0].kind != MetricKind::Gauge {
                assert!(
                    pts.windows(2)
                        .all(|w| w[0].value.scalar() <= w[1].value.scalar())
                );
            }
        }
    }

    #[test]
    fn prng_is_uniform_enough() {
        let mut r = SplitMix64::new(1);
        let mut buckets = [0u32; 10];
        for _ in 0..100_000 {
            buckets[r.below(10) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|b| (9_500..10_500).contains(b)),
            "{buckets:?}"
        );
        let mean: f64 = (0..100_000).map(|_| r.normal()).sum::<f64>() / 100_000.0;
        assert!(mean.abs() < 0.02);
    }
}
