//! Saved metric dashboards (`/api/v1/dashboards`): what one is made of ([`DashboardSpec`],
//! its [`Panel`]s) and how the API shows it ([`Dashboard`], [`DashboardsPage`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::metric::Agg;
use crate::{Duration, FieldError, FieldReader, Timestamp, ValidationErrors};

/// Most panels on one dashboard.
pub const MAX_PANELS: usize = 24;

/// One chart of a dashboard: a metric, label equality filters, how its points are combined
/// and over which step. JSON: `{"metric": "cpu", "labels": {"host": "a"}, "agg": "avg",
/// "step": "1m", "title": "CPU"}`; `agg` is `avg` (when absent), `sum`, `min`, `max`,
/// `count` or `raw` (the stored points), `step` a duration or `auto` (when absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// The metric's name.
    pub metric: String,
    /// Label equality filters.
    pub labels: BTreeMap<String, String>,
    /// How the points of a step are combined; `None` shows the stored points (`raw`).
    pub agg: Option<Agg>,
    /// The step; `None` picks one for the time range (`auto`).
    pub step: Option<Duration>,
    /// The chart's title (empty: made from the metric, labels and aggregation).
    pub title: String,
}

impl Panel {
    /// A panel of `metric` averaged over an automatic step, without filters.
    pub fn new(metric: impl Into<String>) -> Panel {
        Panel {
            metric: metric.into(),
            labels: BTreeMap::new(),
            agg: Some(Agg::Avg),
            step: None,
            title: String::new(),
        }
    }

    /// `avg`, `sum`, `min`, `max`, `count` or `raw`.
    pub fn agg_name(&self) -> &'static str {
        self.agg.map_or("raw", Agg::as_str)
    }

    /// The step as written: a duration (`1m`) or `auto`.
    pub fn step_text(&self) -> String {
        self.step
            .map_or_else(|| "auto".to_string(), |d| d.to_string())
    }

    /// The JSON form: `labels` and `title` only when set.
    pub fn to_json(&self) -> Value {
        let mut p =
            json!({"metric": self.metric, "agg": self.agg_name(), "step": self.step_text()});
        if !self.labels.is_empty() {
            p["labels"] = json!(self.labels);
        }
        if !self.title.is_empty() {
            p["title"] = json!(self.title);
        }
        p
    }

    /// Reads a panel's JSON with every problem named by its field (below `prefix`, e.g.
    /// `panels[0]`); `strict`: unknown fields are problems.
    fn read(v: &Value, prefix: &str, errors: &mut ValidationErrors, strict: bool) -> Option<Panel> {
        let mut p = FieldReader::new(v, prefix, errors, "a panel")?;
        let metric = p.opt_str(&["metric"]).filter(|m| !m.trim().is_empty());
        if metric.is_none() && !p.has_problem("metric") {
            p.err("metric", "is required (a metric name)");
        }
        let labels = match p.get(&["labels"]) {
            None => Some(BTreeMap::new()),
            Some((Value::Object(m), _)) => m
                .iter()
                .map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect::<Option<BTreeMap<_, _>>>(),
            Some(_) => None,
        };
        if labels.is_none() {
            p.err("labels", "expected an object of strings");
        }
        let agg = match p.get(&["agg"]) {
            None => Some(Some(Agg::Avg)),
            Some((Value::String(a), _)) if a.trim().eq_ignore_ascii_case("raw") => Some(None),
            Some((Value::String(a), _)) if a.parse::<Agg>().is_ok() => {
                a.parse::<Agg>().ok().map(Some)
            }
            Some((other, _)) => {
                p.err(
                    "agg",
                    format!("expected avg, sum, min, max, count or raw, found {other}"),
                );
                None
            }
        };
        let step = match p.get(&["step"]) {
            None => Some(None),
            Some((Value::String(s), _)) if s.trim() == "auto" => Some(None),
            Some((Value::String(s), _)) => match Duration::parse(s) {
                Ok(d) if d.is_positive() => Some(Some(d)),
                _ => None,
            },
            Some(_) => None,
        };
        if step.is_none()
            && let Some((other, _)) = p.get(&["step"])
        {
            p.err(
                "step",
                format!("expected a positive duration such as 1m, or auto, found {other}"),
            );
        }
        let title = p.opt_str(&["title"]).unwrap_or_default();
        if strict {
            p.finish();
        }
        Some(Panel {
            metric: metric?,
            labels: labels?,
            agg: agg?,
            step: step?,
            title,
        })
    }
}

impl Serialize for Panel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// Reads a panel as a client does: unknown fields ignored.
impl<'de> Deserialize<'de> for Panel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let mut errors = ValidationErrors::new();
        match Panel::read(&v, "", &mut errors, false) {
            Some(p) if errors.is_empty() => Ok(p),
            _ => Err(serde::de::Error::custom(super::invalid_text(
                "dashboard panel",
                &errors.0,
            ))),
        }
    }
}

/// `POST /api/v1/dashboards`: a name and its panels (at most [`MAX_PANELS`]).
///
/// ```
/// use heimsight_core::api::DashboardSpec;
/// use heimsight_core::{Agg, Duration};
///
/// let spec = DashboardSpec::from_json(&serde_json::json!({"name": "hosts", "panels": [
///     {"metric": "cpu", "labels": {"host": "web-1"}, "step": "1m"},
///     {"metric": "requests", "agg": "raw"}]}))?;
/// assert_eq!(spec.panels[0].agg, Some(Agg::Avg));
/// assert_eq!(spec.panels[0].step, Some(Duration::from_secs(60)));
/// assert_eq!(spec.panels[1].agg, None);
///
/// let errors = DashboardSpec::from_json(&serde_json::json!({"name": "",
///     "panels": [{"metric": "cpu", "agg": "median"}, {"step": "soon"}]})).unwrap_err();
/// let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
/// assert_eq!(fields, ["name", "panels[0].agg", "panels[1].metric", "panels[1].step"]);
/// # Ok::<(), Vec<heimsight_core::FieldError>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardSpec {
    /// Its name.
    pub name: String,
    /// Its charts, in order.
    #[serde(default)]
    pub panels: Vec<Panel>,
}

impl DashboardSpec {
    /// Reads a dashboard's JSON with every problem named by its field (`panels[2].step`). A
    /// dashboard as the API shows it reads back (`id`, `created` and `updated` are accepted
    /// and ignored).
    pub fn from_json(v: &Value) -> Result<DashboardSpec, Vec<FieldError>> {
        let mut problems = ValidationErrors::new();
        let Some(mut r) = FieldReader::new(v, "", &mut problems, "a dashboard") else {
            return Err(problems.0);
        };
        let name = r.opt_str(&["name"]).map(|s| s.trim().to_string());
        if name.as_deref().is_none_or(str::is_empty) && !r.has_problem("name") {
            r.err("name", "is required");
        }
        let panels: &[Value] = match r.get(&["panels"]) {
            None => &[],
            Some((Value::Array(a), _)) => a,
            Some((other, _)) => {
                r.wrong_type("panels", "an array", other);
                &[]
            }
        };
        if panels.len() > MAX_PANELS {
            r.err(
                "panels",
                format!(
                    "{} panels; a dashboard holds at most {MAX_PANELS}",
                    panels.len()
                ),
            );
        }
        r.allow(&["id", "created", "updated"]);
        r.finish();
        let panels: Vec<Option<Panel>> = panels
            .iter()
            .enumerate()
            .map(|(i, p)| Panel::read(p, &format!("panels[{i}]"), &mut problems, true))
            .collect();
        if !problems.is_empty() {
            return Err(problems.0);
        }
        Ok(DashboardSpec {
            name: name.unwrap_or_default(),
            panels: panels.into_iter().flatten().collect(),
        })
    }
}

/// A saved dashboard as the API shows it: its id, times and settings.
///
/// ```
/// use heimsight_core::api::DashboardsPage;
///
/// let page: DashboardsPage = serde_json::from_str(
///     r#"{"dashboards": [{"id": "0001", "name": "hosts", "created": "2026-12-07T10:00:00Z",
///         "updated": "2026-12-07T10:05:00Z", "panels": [{"metric": "cpu", "agg": "max"}]}]}"#,
/// )?;
/// assert_eq!(page.dashboards[0].spec.panels[0].agg_name(), "max");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dashboard {
    /// Its identifier.
    pub id: String,
    /// Its name and panels.
    #[serde(flatten)]
    pub spec: DashboardSpec,
    /// When it was saved first.
    pub created: Timestamp,
    /// When it was saved last.
    pub updated: Timestamp,
}

/// `GET /api/v1/dashboards`: every dashboard, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardsPage {
    /// The dashboards.
    pub dashboards: Vec<Dashboard>,
}
