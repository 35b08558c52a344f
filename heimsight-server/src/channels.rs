//! Notification channels: kept in the store's metadata (namespace [`NS_CHANNELS`]), sent to
//! with `heimsight-notify`, and handed to the alert manager as its [`Notifier`].

use std::sync::Arc;

use heimsight_alert::{DeliveryError, DeliveryFuture, Notifier};
use heimsight_core::api::{ChannelSpec, ChannelTestResult, ChannelView};
use heimsight_core::{FieldError, Notification, Timestamp};
use heimsight_notify::{Channel, ChannelSettings};
use heimsight_store::Store;
use serde_json::{Map, Value};

use crate::api_error::ApiError;

/// Metadata namespace of the channels (key: channel id).
pub(crate) const NS_CHANNELS: &str = "notify.channels";

/// The channels and the sender.
#[derive(Clone)]
pub(crate) struct Channels {
    store: Arc<dyn Store>,
    sender: heimsight_notify::Notifier,
    /// Deliveries are counted by channel type and outcome.
    metrics: Arc<crate::telemetry::ServerMetrics>,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels").finish_non_exhaustive()
    }
}

fn invalid(message: &str, errors: Vec<FieldError>) -> ApiError {
    ApiError::invalid(message, errors)
}

/// A channel's settings read for its type; `previous` (on an update) keeps the secrets the
/// settings leave out or send back masked.
fn settings_of(
    kind: &str,
    settings: &Map<String, Value>,
    previous: Option<&ChannelSettings>,
) -> Result<ChannelSettings, Vec<FieldError>> {
    let v = Value::Object(settings.clone());
    match previous {
        Some(old) => ChannelSettings::from_json_update(kind, &v, old),
        None => ChannelSettings::from_json(kind, &v),
    }
}

impl Channels {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        sender: heimsight_notify::Notifier,
        metrics: Arc<crate::telemetry::ServerMetrics>,
    ) -> Self {
        Channels {
            store,
            sender,
            metrics,
        }
    }

    /// Every channel, by id.
    pub(crate) fn list(&self) -> Result<Vec<Channel>, ApiError> {
        let mut out = Vec::new();
        for (_, v) in self.store.meta_list(NS_CHANNELS)? {
            let ch: Channel = serde_json::from_slice(&v)
                .map_err(|e| ApiError::Internal(format!("corrupt notification channel: {e}")))?;
            out.push(ch);
        }
        Ok(out)
    }

    /// A channel by id, or else by name.
    pub(crate) fn get(&self, id_or_name: &str) -> Result<Option<Channel>, ApiError> {
        if let Some(v) = self.store.meta_get(NS_CHANNELS, id_or_name)? {
            let ch: Channel = serde_json::from_slice(&v)
                .map_err(|e| ApiError::Internal(format!("corrupt notification channel: {e}")))?;
            return Ok(Some(ch));
        }
        Ok(self.list()?.into_iter().find(|c| c.name == id_or_name))
    }

    /// Reads a channel body with every problem named by its field: its shape, then its
    /// settings' for its type. `previous` is the channel's current settings on an update,
    /// whose secrets are kept when the body leaves them out or sends them back masked.
    pub(crate) fn read_spec(
        body: &Value,
        previous: Option<&ChannelSettings>,
    ) -> Result<ChannelSpec, ApiError> {
        ChannelSpec::from_json_with(body, |kind, settings| {
            settings_of(kind, settings, previous)
                .err()
                .unwrap_or_default()
        })
        .map_err(|e| invalid("invalid channel", e))
    }

    fn check_name_free(&self, name: &str, except: Option<&str>) -> Result<(), ApiError> {
        if self
            .list()?
            .iter()
            .any(|c| c.name == name && Some(c.id.as_str()) != except)
        {
            return Err(invalid(
                "invalid channel",
                vec![FieldError::new(
                    "name",
                    format!("a channel named {name:?} exists already"),
                )],
            ));
        }
        Ok(())
    }

    fn put(&self, ch: &Channel) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(ch)
            .map_err(|e| ApiError::Internal(format!("could not encode a channel: {e}")))?;
        Ok(self.store.meta_put(NS_CHANNELS, &ch.id, &bytes)?)
    }

    /// Creates a channel (its settings read by `heimsight-notify` for its type).
    pub(crate) fn create(&self, spec: &ChannelSpec) -> Result<Channel, ApiError> {
        let settings = settings_of(&spec.kind, &spec.settings, None)
            .map_err(|e| invalid("invalid channel", e))?;
        let name = spec.name.clone();
        self.check_name_free(&name, None)?;
        let now = Timestamp::now();
        // Creation time plus a process-wide sequence: two channels created in the same
        // microsecond still get different ids.
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ch = Channel {
            id: format!("ch{:x}{:04x}", now.0 as u64 / 1000, seq & 0xffff),
            name,
            settings,
            created_at: now,
            updated_at: now,
        };
        self.put(&ch)?;
        tracing::info!(id = %ch.id, name = %ch.name, kind = ch.settings.kind(), "notification channel created");
        Ok(ch)
    }

    /// Replaces a channel's name and settings; secrets sent back masked are kept.
    pub(crate) fn update(&self, id: &str, spec: &ChannelSpec) -> Result<Channel, ApiError> {
        let Some(old) = self.get(id)? else {
            return Err(ApiError::NotFound(format!(
                "notification channel {id:?} not found"
            )));
        };
        let settings = settings_of(&spec.kind, &spec.settings, Some(&old.settings))
            .map_err(|e| invalid("invalid channel", e))?;
        let name = spec.name.clone();
        self.check_name_free(&name, Some(&old.id))?;
        let ch = Channel {
            id: old.id,
            name,
            settings,
            created_at: old.created_at,
            updated_at: Timestamp::now(),
        };
        self.put(&ch)?;
        Ok(ch)
    }

    /// Deletes a channel.
    pub(crate) fn delete(&self, id: &str) -> Result<(), ApiError> {
        let Some(ch) = self.get(id)? else {
            return Err(ApiError::NotFound(format!(
                "notification channel {id:?} not found"
            )));
        };
        self.store.meta_delete(NS_CHANNELS, &ch.id)?;
        Ok(())
    }

    /// Sends a test notification straight away (not through the outbox).
    pub(crate) async fn test(&self, id: &str) -> Result<ChannelTestResult, ApiError> {
        let me = self.clone();
        let key = id.to_string();
        let ch = crate::blocking::run(move || me.get(&key)).await??;
        let Some(ch) = ch else {
            return Err(ApiError::NotFound(format!(
                "notification channel {id:?} not found"
            )));
        };
        let n = Notification::test(Timestamp::now());
        match self.sender.send(&ch.settings, &n).await {
            Ok(d) => Ok(ChannelTestResult {
                ok: true,
                status: d.status,
                detail: d.detail,
            }),
            Err(e) => Err(ApiError::BadGateway(format!(
                "the test notification to {:?} failed: {e}",
                ch.name
            ))),
        }
    }

    /// A channel as the API shows it: secrets masked.
    pub(crate) fn view(ch: &Channel) -> ChannelView {
        ChannelView {
            id: ch.id.clone(),
            name: ch.name.clone(),
            kind: ch.settings.kind().to_string(),
            settings: match ch.settings.redacted() {
                Value::Object(m) => m,
                _ => serde_json::Map::new(),
            },
            secure_fields: ch
                .settings
                .secret_fields()
                .into_iter()
                .map(str::to_string)
                .collect(),
            created_at: ch.created_at,
            updated_at: ch.updated_at,
        }
    }
}

impl Notifier for Channels {
    fn channel_exists(&self, id: &str) -> bool {
        matches!(self.get(id), Ok(Some(_)))
    }

    fn deliver<'a>(&'a self, channel_id: &'a str, n: &'a Notification) -> DeliveryFuture<'a> {
        Box::pin(async move {
            let me = self.clone();
            let key = channel_id.to_string();
            let ch = crate::blocking::run(move || me.get(&key))
                .await
                .map_err(|e| DeliveryError {
                    retryable: true,
                    message: format!("could not read the channel: {e}"),
                })?
                .map_err(|e| DeliveryError {
                    retryable: true,
                    message: format!("could not read the channel: {e}"),
                })?;
            let Some(ch) = ch else {
                return Err(DeliveryError {
                    retryable: false,
                    message: format!("notification channel {channel_id:?} no longer exists"),
                });
            };
            let kind = ch.settings.kind();
            match self.sender.send(&ch.settings, n).await {
                Ok(d) => {
                    self.metrics.notification(kind, "sent");
                    Ok(match d.status {
                        Some(s) => format!("{kind} answered {s}"),
                        None => format!("{kind}: {}", d.detail),
                    })
                }
                Err(e) => {
                    self.metrics
                        .notification(kind, if e.retryable { "retried" } else { "failed" });
                    Err(DeliveryError {
                        retryable: e.retryable,
                        message: e.to_string(),
                    })
                }
            }
        })
    }
}
