//! API keys (`/api/v1/keys`): what a key is made of ([`KeySpec`]), how the API shows one
//! ([`KeyView`], never the secret, except once in [`CreatedKey`]) and what it may do
//! ([`Scope`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{FieldError, FieldReader, Timestamp, ValidationErrors};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Write telemetry (REST ingest, OTLP over HTTP and gRPC) and nothing else.
    Ingest,
    /// Read: queries, the UI's pages, tails, alerts and settings as shown.
    Read,
    /// Change settings and state: rules, channels, silences, retention, dashboards, keys.
    /// Implies `read` and `ingest`.
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 3] = [Scope::Ingest, Scope::Read, Scope::Admin];

    /// `ingest`, `read` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    /// Parses `ingest`, `read` or `admin`.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }

    /// Whether a key with this scope may do what `needed` allows (`admin` implies the others).
    pub fn allows(self, needed: Scope) -> bool {
        self == needed || self == Scope::Admin
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits of one key, over the server's defaults (`[rate_limit]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyLimits {
    /// Requests per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<f64>,
    /// Ingested bytes per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingest_bytes_per_second: Option<u64>,
}

/// `POST /api/v1/keys`: `{"name", "scopes": ["ingest" | "read" | "admin", …], "expires_at"?,
/// "limits"?: {"requests_per_second", "ingest_bytes_per_second"}}`.
///
/// ```
/// use heimsight_core::api::{KeySpec, Scope};
///
/// let spec = KeySpec::from_json(&serde_json::json!(
///     {"name": "collector", "scopes": ["ingest"], "expires_at": "2030-01-01T00:00:00Z"}))?;
/// assert_eq!(spec.scopes, [Scope::Ingest]);
///
/// let errors = KeySpec::from_json(&serde_json::json!({"scopes": ["write"], "limits": 5}))
///     .unwrap_err();
/// let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
/// assert_eq!(fields, ["name", "scopes[0]", "limits"]);
/// # Ok::<(), Vec<heimsight_core::FieldError>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeySpec {
    /// What the key is for (`otel-collector`, `grafana`).
    pub name: String,
    /// What it may do (at least one).
    pub scopes: Vec<Scope>,
    /// When it stops working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Its own limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<KeyLimits>,
}

impl KeySpec {
    /// Reads a key's JSON with every problem named by its field.
    pub fn from_json(v: &Value) -> Result<KeySpec, Vec<FieldError>> {
        let mut problems = ValidationErrors::new();
        let Some(mut r) = FieldReader::new(v, "", &mut problems, "a key") else {
            return Err(problems.0);
        };
        let name = r
            .opt_str(&["name"])
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        if name.is_empty() && !r.has_problem("name") {
            r.err(
                "name",
                "is required (what the key is for, e.g. \"otel-collector\")",
            );
        }
        let mut scopes = Vec::new();
        match r.get(&["scopes"]).map(|(v, _)| v) {
            Some(Value::Array(a)) if !a.is_empty() => {
                for (i, s) in a.iter().enumerate() {
                    match s.as_str().and_then(Scope::parse) {
                        Some(s) if !scopes.contains(&s) => scopes.push(s),
                        Some(_) => {}
                        None => r.err(
                            &format!("scopes[{i}]"),
                            format!("expected ingest, read or admin, found {s}"),
                        ),
                    }
                }
            }
            Some(Value::Array(_)) | None => r.err(
                "scopes",
                "at least one scope is required: ingest, read or admin",
            ),
            Some(other) => r.wrong_type("scopes", "a list of scopes", other),
        }
        let expires_at = match r.get(&["expires_at"]) {
            None => None,
            Some((v, _)) => Timestamp::from_json(v)
                .map_err(|e| r.err("expires_at", e))
                .ok(),
        };
        let limits = match r.get(&["limits"]) {
            None => None,
            Some((Value::Object(m), _)) => {
                let mut limits = KeyLimits::default();
                for (k, x) in m {
                    match k.as_str() {
                        _ if x.is_null() => {}
                        "requests_per_second" => match x.as_f64() {
                            Some(n) if n > 0.0 => limits.requests_per_second = Some(n),
                            _ => r.err(
                                "limits.requests_per_second",
                                format!("expected a positive number, found {x}"),
                            ),
                        },
                        "ingest_bytes_per_second" => match x.as_u64() {
                            Some(n) if n > 0 => limits.ingest_bytes_per_second = Some(n),
                            _ => r.err(
                                "limits.ingest_bytes_per_second",
                                format!("expected a positive whole number, found {x}"),
                            ),
                        },
                        _ => r.err(
                            &format!("limits.{k}"),
                            "unknown field; expected one of: requests_per_second, ingest_bytes_per_second",
                        ),
                    }
                }
                Some(limits)
            }
            Some((other, _)) => {
                r.wrong_type("limits", "an object", other);
                None
            }
        };
        r.finish();
        if !problems.is_empty() {
            return Err(problems.0);
        }
        Ok(KeySpec {
            name,
            scopes,
            expires_at,
            limits,
        })
    }
}

/// A key as the API shows it (`GET /api/v1/keys`): never the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyView {
    /// Its identifier (also the part of the key before its secret).
    pub id: String,
    /// What it is for.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was last used (to the minute).
    #[serde(default)]
    pub last_used_at: Option<Timestamp>,
    /// When it stops working.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// Its own limits.
    #[serde(default)]
    pub limits: Option<KeyLimits>,
}

/// `POST /api/v1/keys`'s answer: the key, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedKey {
    /// The key as listed from now on.
    #[serde(flatten)]
    pub view: KeyView,
    /// The secret to send (`Authorization: Bearer <key>`); it cannot be shown again.
    pub key: String,
}

/// `GET /api/v1/keys`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeysPage {
    /// Every key, oldest first.
    pub keys: Vec<KeyView>,
}
