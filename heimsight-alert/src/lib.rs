//! Heimsight's alerting: rules written once that fire exactly when they should, resolve when
//! the condition clears, never page twice for the same thing and never lose a notification
//! across a restart.
//!
//! - [`rule`]: the five kinds — **threshold** on any query, **log pattern** (count of matching
//!   logs in a window), **trace** (p99 / error rate / count of matching spans), **anomaly**
//!   (z-score or EWMA baseline per series, [`anomaly`]) and **absence** (a series stops
//!   reporting) — validated with every problem named by its field, compiled to one query of
//!   the query language.
//! - [`state`]: each alert instance (rule + label set, identified by a fingerprint) moves
//!   inactive → pending (`for`) → firing → resolved (after `keep_firing_for`).
//! - [`silence`]: label matchers and a time window that mute notifications.
//! - [`manager`]: keeps rules, instances, silences, history and the notification outbox in
//!   the store's metadata and runs the evaluation and delivery loop; notifications go out
//!   through a [`Notifier`] (the server's is built on `heimsight-notify`), retried with
//!   exponential backoff and jitter.
//!
//! # Quick start
//!
//! ```
//! use std::sync::Arc;
//! use heimsight_alert::{
//!     AlertManager, CmpOp, Condition, DeliveryFuture, ManagerConfig, Notifier, RuleKind, RuleSpec,
//!     State,
//! };
//! use heimsight_core::{Level, LogRecord, Notification, Timestamp};
//! use heimsight_store::{LogStore, MemoryStore};
//!
//! /// A notifier that prints nothing and accepts everything.
//! struct Accept;
//! impl Notifier for Accept {
//!     fn channel_exists(&self, _id: &str) -> bool { true }
//!     fn deliver<'a>(&'a self, _ch: &'a str, _n: &'a Notification) -> DeliveryFuture<'a> {
//!         Box::pin(async { Ok("accepted".to_string()) })
//!     }
//! }
//!
//! let store = Arc::new(MemoryStore::new());
//! let manager = AlertManager::open(store.clone(), Arc::new(Accept), ManagerConfig::default())?;
//! // A rule made in code (the REST API reads the same from JSON with
//! // `RuleSpec::from_json_with(&body, &QueryChecks)`).
//! let mut spec = RuleSpec::new("Errors in api", RuleKind::LogPattern {
//!     pattern: None,
//!     filter: Some("level = 'error' AND service = 'api'".into()),
//!     group_by: Vec::new(),
//! });
//! spec.condition = Some(Condition { op: CmpOp::Gt, threshold: 2.0 });
//! spec.annotations.insert("summary".into(), "{{ $value }} errors in 5 minutes".into());
//! spec.channels.push("ops".into());
//! let rule = manager.create_rule(&spec)?;
//!
//! let now = Timestamp::now();
//! store.append_logs((0..3).map(|i| {
//!     let mut r = LogRecord::new(Timestamp(now.0 - i), Level::Error, "boom");
//!     r.service = "api".into();
//!     r
//! }).collect())?;
//! manager.evaluate_rule(&rule, now)?;
//!
//! let alerts = manager.alerts(false);
//! assert_eq!(alerts[0].state, State::Firing);
//! assert_eq!(alerts[0].value, Some(3.0));
//! // The notification waits in the durable outbox until the delivery loop sends it.
//! let queued = manager.outbox()?;
//! assert_eq!(queued[0].notification.alerts[0].annotations["summary"], "3 errors in 5 minutes");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod anomaly;
pub mod compile;
pub mod error;
pub mod eval;
pub mod manager;
pub mod rule;
pub mod silence;
pub mod state;
pub mod template;

pub use compile::CompiledQuery;
pub use error::{Error, Result};
pub use manager::{
    AlertManager, DeliveryError, DeliveryFuture, Evaluation, EvaluationObserver, ManagerConfig,
    Notifier, OutboxEntry, RuleHealth,
};
pub use rule::{CmpOp, Condition, QueryChecks, Rule, RuleKind, RuleSpec};
pub use silence::Silence;
pub use state::{Instance, State, Transition};
