//! Running a query against a store: plan what the store can answer natively, resolve
//! subqueries, stream the store's records through the executor.
//!
//! The planner splits `WHERE` into its top-level `AND` terms and hands the store the ones it
//! understands (pushdown): the time range (`timestamp` compared with constants, `BETWEEN`),
//! equality and `IN` on service, level, trace id, span name, metric name and string
//! attributes/labels, `message CONTAINS` and `MATCH` terms for logs. The store uses them to skip
//! data (block summaries, Bloom filters, the span and series indexes). The executor then
//! applies the whole `WHERE` again, unless the store applied all of it exactly (every term
//! pushed; for logs no attribute equality, which the store matches more loosely; never for
//! metrics), so pushdown only ever makes a query faster, never different; property tests check
//! that. A non-aggregating log query whose `WHERE` is pushed down entirely and that is ordered
//! by time asks the store for just the page it needs; `count(*)` grouped by service, level and
//! one time bucket is counted by the store ([`Access::CountLogs`]); span queries reading only
//! indexed fields read the span index alone.
//!
//! Queries without `ORDER BY` that do not aggregate return the newest records first (as if
//! `ORDER BY timestamp DESC`), except metric queries, which return series by series.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use heimsight_core::{Level, LogRecord, Span, Timestamp, TraceId};
use heimsight_store::{
    LabelMatcher, LogCount, LogCountRow, LogFields, LogFilter, LogScan, LogStore, MetricStore,
    Order, SeriesQuery, SpanRow, SpanScan, SpanStore, TimeRange,
};

use crate::ast::{
    BinaryOp, Checked, ColumnRef, Expr, ExprKind, Literal, OrderItem, OutputColumn, Pos, Select,
    SelectItem, Source, Statement,
};
use crate::diagnostic::Diagnostics;
use crate::eval::{EvalContext, ExecError, NoRecord, eval, match_terms};
use crate::exec::{ExecContext, ResultSet, execute};
use crate::record::MetricRow;
use crate::schema::Type;
use crate::value::Value;

/// Bounds on what one query may use. More may come: build them from [`Limits::default`] and
/// the `with_*` methods (or set the public fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest accepted query text, bytes (default 1 MiB).
    pub max_query_bytes: usize,
    /// Most result rows returned (default 10,000); more are cut and flagged `truncated`.
    pub max_rows: usize,
    /// Most groups of an aggregating query (default 100,000); more is an error.
    pub max_groups: usize,
    /// Most distinct values a subquery may yield (default 10,000).
    pub max_subquery_values: usize,
    /// Time budget of the whole query (default 30 s).
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_query_bytes: 1 << 20,
            max_rows: ExecContext::DEFAULT_MAX_ROWS,
            max_groups: ExecContext::DEFAULT_MAX_GROUPS,
            max_subquery_values: 10_000,
            timeout: Duration::from_secs(30),
        }
    }
}

impl Limits {
    /// With [`max_query_bytes`](Self::max_query_bytes).
    pub fn with_max_query_bytes(mut self, bytes: usize) -> Self {
        self.max_query_bytes = bytes;
        self
    }

    /// With [`max_rows`](Self::max_rows).
    pub fn with_max_rows(mut self, n: usize) -> Self {
        self.max_rows = n;
        self
    }

    /// With [`max_groups`](Self::max_groups).
    pub fn with_max_groups(mut self, n: usize) -> Self {
        self.max_groups = n;
        self
    }

    /// With [`max_subquery_values`](Self::max_subquery_values).
    pub fn with_max_subquery_values(mut self, n: usize) -> Self {
        self.max_subquery_values = n;
        self
    }

    /// With [`timeout`](Self::timeout).
    pub fn with_timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
}

/// A query to run: [`Request::new`] and the `with_*` methods (more fields may come).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Request<'a> {
    /// The query text.
    pub query: &'a str,
    /// Only records at or after this time (in addition to the query's own conditions).
    pub start: Option<Timestamp>,
    /// Only records before this time.
    pub end: Option<Timestamp>,
    /// The value of `now()`.
    pub now: Timestamp,
    /// Bounds.
    pub limits: Limits,
}

impl<'a> Request<'a> {
    /// A request for `query` over all data, evaluated now, with default limits.
    pub fn new(query: &'a str) -> Self {
        Request {
            query,
            start: None,
            end: None,
            now: Timestamp::now(),
            limits: Limits::default(),
        }
    }

    /// Only records in `[start, end)` (either bound may be open), in addition to the query's
    /// own conditions.
    pub fn with_range(mut self, start: Option<Timestamp>, end: Option<Timestamp>) -> Self {
        self.start = start;
        self.end = end;
        self
    }

    /// Evaluated as if it were `now`.
    pub fn with_now(mut self, now: Timestamp) -> Self {
        self.now = now;
        self
    }

    /// With these bounds.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// Syntax or semantic errors, with positions.
    #[error("{0}")]
    Invalid(Diagnostics),
    /// The query text is longer than [`Limits::max_query_bytes`].
    #[error("the query is {len} bytes long; at most {max} bytes are accepted")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `start` is not before `end`.
    #[error("empty time range: start {start} is not before end {end}")]
    EmptyRange {
        /// The start given.
        start: Timestamp,
        /// The end given.
        end: Timestamp,
    },
    /// A subquery yields more values than [`Limits::max_subquery_values`].
    #[error("the subquery at byte {at} yields more than {max} distinct values; narrow it down")]
    SubqueryTooLarge {
        /// Where the subquery starts.
        at: usize,
        /// The limit.
        max: usize,
    },
    /// Running the query failed (division by zero, time budget, too many groups, …).
    #[error("{0}")]
    Exec(#[from] ExecError),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] heimsight_store::Error),
}

/// Who is at fault for a [`QueryError`], which decides how a server answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The query or its parameters (HTTP 400).
    Client,
    /// The query ran out of time or room on a busy server; the same query may succeed later
    /// (HTTP 503).
    Unavailable,
    /// The engine or the store failed (HTTP 500): a bug, or a broken disk.
    Internal,
}

impl QueryError {
    /// Who is at fault: the query ([`ErrorClass::Client`]), the time budget
    /// ([`ErrorClass::Unavailable`]), or the engine or store ([`ErrorClass::Internal`], e.g. a
    /// subquery the planner failed to resolve).
    pub fn class(&self) -> ErrorClass {
        match self {
            QueryError::Store(e) if e.is_client_error() => ErrorClass::Client,
            QueryError::Store(_) => ErrorClass::Internal,
            QueryError::Exec(ExecError::Deadline { .. }) => ErrorClass::Unavailable,
            QueryError::Exec(ExecError::UnresolvedSubquery { .. }) => ErrorClass::Internal,
            _ => ErrorClass::Client,
        }
    }

    /// True when the query itself is at fault (a client error).
    pub fn is_client_error(&self) -> bool {
        self.class() == ErrorClass::Client
    }
}

/// How the store is read.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// A scan of log records (possibly just the first page, when `limit` is set).
    Logs(LogScan),
    /// A scan of spans.
    Spans(SpanScan),
    /// The points of matching series.
    Metrics(SeriesQuery),
    /// Log record counts per group, counted by the store (from block summaries where it
    /// can): for `count(*)` grouped by service, level and time bucket, with the whole
    /// `WHERE` pushed down.
    CountLogs(LogCount),
}

/// What the planner decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The source read.
    pub source: Source,
    /// How the store is read, with everything pushed down.
    pub access: Access,
    /// The `WHERE` terms the store applies (as written).
    pub pushed: Vec<String>,
    /// The `WHERE` terms only the executor applies.
    pub residual: Vec<String>,
    /// What the executor does after reading: filter, group, order, page.
    pub steps: Vec<String>,
    /// Plans of the subqueries, run first.
    pub subqueries: Vec<Plan>,
    /// How the store serves the pushed conditions, as it says
    /// ([`LogStore::explain_log_filter`]).
    pub store: Vec<String>,
}

impl Plan {
    /// The plan as indented lines of text (what `EXPLAIN` shows).
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.write_lines(0, &mut out);
        out
    }

    fn write_lines(&self, depth: usize, out: &mut Vec<String>) {
        let pad = "  ".repeat(depth);
        for step in self.steps.iter().rev() {
            out.push(format!("{pad}{step}"));
        }
        out.push(format!("{pad}{}", describe_access(&self.access)));
        for s in &self.store {
            out.push(format!("{pad}  store: {s}"));
        }
        for p in &self.pushed {
            out.push(format!("{pad}  pushed down: {p}"));
        }
        for r in &self.residual {
            out.push(format!("{pad}  filtered after reading: {r}"));
        }
        for sub in &self.subqueries {
            out.push(format!("{pad}  subquery, run first:"));
            sub.write_lines(depth + 2, out);
        }
    }

    /// The API's shape of the plan: `{source, access, pushed, residual, steps, subqueries}`.
    pub fn to_api(&self) -> heimsight_core::api::PlanView {
        heimsight_core::api::PlanView {
            source: self.source.as_str().into(),
            access: std::iter::once(describe_access(&self.access))
                .chain(self.store.iter().cloned())
                .collect::<Vec<_>>()
                .join("; "),
            pushed: self.pushed.clone(),
            residual: self.residual.clone(),
            steps: self.steps.clone(),
            subqueries: self.subqueries.iter().map(Plan::to_api).collect(),
        }
    }

    /// JSON form: `{source, access, pushed, residual, steps, subqueries}` ([`Plan::to_api`]).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.to_api()).unwrap_or_default()
    }
}

fn describe_range(r: &TimeRange) -> String {
    match (r.start, r.end) {
        (None, None) => "all time".into(),
        (Some(s), None) => format!("from {}", s.to_rfc3339()),
        (None, Some(e)) => format!("before {}", e.to_rfc3339()),
        (Some(s), Some(e)) => format!("{} to {}", s.to_rfc3339(), e.to_rfc3339()),
    }
}

fn describe_access(a: &Access) -> String {
    match a {
        Access::Logs(s) => {
            let mut d = format!("read logs, {}", describe_range(&s.range));
            if s.limit > 0 {
                let order = match s.order {
                    Order::NewestFirst => "newest",
                    Order::OldestFirst => "oldest",
                };
                let _ = write!(d, ", only the {order} {} records", s.limit);
            }
            d
        }
        Access::Spans(s) => {
            let how = if s.index_only {
                " (indexed fields only)"
            } else {
                ""
            };
            format!("read spans{how}, {}", describe_range(&s.range))
        }
        Access::CountLogs(c) => {
            let mut by: Vec<String> = Vec::new();
            if c.by_service {
                by.push("service".into());
            }
            if c.by_level {
                by.push("level".into());
            }
            if let Some(w) = c.bucket {
                by.push(format!("{} buckets", crate::value::format_duration(w)));
            }
            let by = if by.is_empty() {
                String::new()
            } else {
                format!(" by {}", by.join(", "))
            };
            format!(
                "count logs{by} in the store (from block summaries where possible), {}",
                describe_range(&c.range)
            )
        }
        Access::Metrics(q) => format!(
            "read metric series and points, {}",
            describe_range(&q.range)
        ),
    }
}

/// The result of a query.
#[derive(Debug, Clone)]
pub struct Output {
    /// The rows (for `EXPLAIN`: one `plan` column, one row per plan line).
    pub result: ResultSet,
    /// The plan that ran (or would run, for `EXPLAIN`).
    pub plan: Plan,
    /// Whether this was an `EXPLAIN`.
    pub explain: bool,
    /// Wall time spent.
    pub elapsed: Duration,
}

impl Output {
    /// The API's answer: `{"columns": [{"name", "type"}], "rows": [[...]], "stats":
    /// {"rows_scanned", "rows_returned", "elapsed_ms", "truncated"}, "plan": {...}}`.
    pub fn to_api(&self) -> heimsight_core::api::QueryAnswer {
        use heimsight_core::api::{ColumnView, QueryAnswer, QueryStats};
        let r = &self.result;
        QueryAnswer {
            columns: r
                .columns
                .iter()
                .map(|c| ColumnView {
                    name: c.name.clone(),
                    ty: c.ty.as_str().into(),
                })
                .collect(),
            rows: r
                .rows
                .iter()
                .map(|row| row.iter().map(Value::to_json).collect())
                .collect(),
            stats: QueryStats {
                rows_scanned: r.rows_scanned,
                rows_returned: r.rows.len(),
                elapsed_ms: self.elapsed.as_secs_f64() * 1000.0,
                truncated: r.truncated,
            },
            plan: self.plan.to_api(),
        }
    }

    /// The API's answer as JSON ([`Output::to_api`]).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.to_api()).unwrap_or_default()
    }
}

/// A source of data the engine can query: any store with the three signal traits.
pub trait Queryable: LogStore + SpanStore + MetricStore {}

impl<T: LogStore + SpanStore + MetricStore + ?Sized> Queryable for T {}

/// Parses, checks, plans and runs a query.
///
/// ```
/// use heimsight_core::{Level, LogRecord, Timestamp};
/// use heimsight_query::engine::{Request, run};
/// use heimsight_store::{LogStore, MemoryStore};
///
/// let store = MemoryStore::new();
/// let mut rec = LogRecord::new(Timestamp(1_000), Level::Error, "connection refused");
/// rec.service = "api".into();
/// store.append_logs(vec![rec])?;
/// let out = run(&store, &Request::new("SELECT service, count(*) FROM logs WHERE level = 'error' GROUP BY service"))?;
/// assert_eq!(out.result.rows[0][1], heimsight_query::Value::Int(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run<S: Queryable + ?Sized>(store: &S, req: &Request<'_>) -> Result<Output, QueryError> {
    let started = Instant::now();
    admit(req)?;
    let checked = crate::parser::parse_and_check(req.query).map_err(QueryError::Invalid)?;
    run_timed(store, req, checked, started)
}

/// Plans and runs a statement that already passed the checker, as [`run`] does after
/// parsing and checking `req.query`.
///
/// For a caller that holds a [`Checked`] statement rather than text: one built in code, or
/// kept from [`crate::parse_and_check`]. Build it from a [`Statement`] with
/// [`crate::check()`]; [`crate::unparse::render_with_positions`] gives the text to check it
/// against when there is none. `req.query` is the text the statement's positions point
/// into: it places the diagnostics of subqueries (which are checked again when they run)
/// and quotes the conditions listed in the [`Plan`], and is bounded by
/// [`Limits::max_query_bytes`] as in [`run`]. It may be empty: then the plan lists the
/// conditions as [`crate::unparse`] prints them. The rest of `req` (time range, `now()`,
/// limits) applies as in [`run`], and so does the statement's `explain`.
///
/// ```
/// use heimsight_core::{Level, LogRecord, Timestamp};
/// use heimsight_query::ast::{Pos, Select, SelectItem, Source, Statement};
/// use heimsight_query::unparse::render_with_positions;
/// use heimsight_query::{Request, Value, check, parse_expr, run_checked};
/// use heimsight_store::{LogStore, MemoryStore};
///
/// let store = MemoryStore::new();
/// store.append_logs(vec![LogRecord::new(Timestamp(1_000), Level::Error, "disk full")])?;
///
/// let mut stmt = Statement {
///     explain: false,
///     select: Select {
///         items: vec![SelectItem::Expr { expr: parse_expr("count(*)")?, alias: None }],
///         from: Source::Logs,
///         from_pos: Pos::default(),
///         filter: Some(parse_expr("level = 'error' AND message CONTAINS 'disk'")?),
///         group_by: vec![],
///         having: None,
///         order_by: vec![],
///         limit: None,
///         offset: None,
///         pos: Pos::default(),
///     },
/// };
/// let text = render_with_positions(&mut stmt);
/// let checked = check(stmt, &text)?;
/// let out = run_checked(&store, &Request::new(&text), checked)?;
/// assert_eq!(out.result.columns[0].name, "count(*)");
/// assert_eq!(out.result.rows, [[Value::Int(1)]]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_checked<S: Queryable + ?Sized>(
    store: &S,
    req: &Request<'_>,
    checked: Checked,
) -> Result<Output, QueryError> {
    let started = Instant::now();
    admit(req)?;
    run_timed(store, req, checked, started)
}

/// The checks of a request that come before its query is read: the text's length, the time
/// range.
fn admit(req: &Request<'_>) -> Result<(), QueryError> {
    if req.query.len() > req.limits.max_query_bytes {
        return Err(QueryError::TooLong {
            len: req.query.len(),
            max: req.limits.max_query_bytes,
        });
    }
    if let (Some(start), Some(end)) = (req.start, req.end)
        && start >= end
    {
        return Err(QueryError::EmptyRange { start, end });
    }
    Ok(())
}

/// Runs `checked`, the query's time budget counted from `started`.
fn run_timed<S: Queryable + ?Sized>(
    store: &S,
    req: &Request<'_>,
    checked: Checked,
    started: Instant,
) -> Result<Output, QueryError> {
    let deadline = started + req.limits.timeout;
    let explain = checked.statement.explain;
    let (result, plan) = run_statement(store, req, checked, deadline, explain)?;
    Ok(Output {
        result,
        plan,
        explain,
        elapsed: started.elapsed(),
    })
}

/// Plans and runs `checked` (and its subqueries, for which `explain` holds too).
fn run_statement<S: Queryable + ?Sized>(
    store: &S,
    req: &Request<'_>,
    mut checked: Checked,
    deadline: Instant,
    explain: bool,
) -> Result<(ResultSet, Plan), QueryError> {
    let ectx = EvalContext { now: req.now };
    // Subqueries first: each becomes a list of literals.
    let mut subqueries = Vec::new();
    if let Some(filter) = checked.statement.select.filter.take() {
        let filter = resolve_subqueries(store, req, filter, deadline, explain, &mut subqueries)?;
        checked.statement.select.filter = Some(filter);
    }
    let select = &mut checked.statement.select;
    let source = select.from;
    let mut planned = plan_where(select, req, &ectx);
    planned.plan.subqueries = subqueries;
    if !checked.aggregate && select.order_by.is_empty() && source != Source::Metrics {
        select.order_by.push(OrderItem {
            expr: Expr::new(
                ExprKind::Column(ColumnRef::Named("timestamp".into())),
                Pos::default(),
            ),
            descending: true,
        });
    }
    let select = &checked.statement.select;
    let max_rows = req.limits.max_rows;
    // A page straight from the store: logs, everything pushed, ordered by time only.
    if source == Source::Logs
        && !checked.aggregate
        && planned.plan.residual.is_empty()
        && let Some(order) = time_order(select)
        && let Access::Logs(scan) = &mut planned.plan.access
    {
        let page = select.limit.map_or(max_rows, |l| l as usize).min(max_rows);
        let offset = select.offset.unwrap_or(0) as usize;
        scan.order = order;
        // One more than shown, so the executor can tell when rows were cut.
        scan.limit = offset.saturating_add(page).saturating_add(1);
    }
    // When the store applies the whole `WHERE` exactly, the executor need not test it again
    // (log attribute equality is not exact: the store also matches resource attributes and
    // compares values as text; metric pushdown is left to the executor to confirm too).
    let exact = planned.plan.residual.is_empty()
        && match &planned.plan.access {
            Access::Logs(scan) => scan.filter.attributes.is_empty(),
            Access::Spans(_) | Access::CountLogs(_) => true,
            Access::Metrics(_) => false,
        };
    // Counts grouped by service, level and time bucket: counted by the store, which needs
    // the whole `WHERE` applied exactly (its rows are groups, the executor cannot filter them).
    if exact
        && checked.aggregate
        && let Access::Logs(scan) = &planned.plan.access
        && let Some(count) = log_count(select, scan)
    {
        planned.plan.access = Access::CountLogs(count);
    }
    if exact {
        checked.statement.select.filter = None;
    }
    planned.plan.steps = executor_steps(&checked);
    let ctx = ExecContext {
        now: req.now,
        start: planned.range.start.unwrap_or(Timestamp(0)),
        end: planned.range.end.unwrap_or(req.now),
        max_rows,
        max_groups: req.limits.max_groups,
        deadline: Some(deadline),
    };
    if explain {
        planned.plan.store = match &planned.plan.access {
            Access::Logs(scan) => store.explain_log_filter(&scan.filter),
            Access::CountLogs(count) => store.explain_log_filter(&count.filter),
            Access::Spans(_) | Access::Metrics(_) => Vec::new(),
        };
        let rows = planned
            .plan
            .lines()
            .into_iter()
            .map(|l| vec![Value::String(l)])
            .collect();
        let result = ResultSet {
            columns: vec![OutputColumn {
                name: "plan".into(),
                ty: Type::String,
            }],
            rows,
            rows_scanned: 0,
            truncated: false,
        };
        return Ok((result, planned.plan));
    }
    let result = match &planned.plan.access {
        Access::Logs(scan) => {
            let scan = scan.clone();
            streamed(
                &checked,
                &ctx,
                deadline,
                |visit: &mut dyn FnMut(Vec<LogRecord>) -> bool| store.scan_logs(&scan, visit),
            )?
        }
        Access::Spans(scan) if scan.index_only => {
            let scan = scan.clone();
            streamed(
                &checked,
                &ctx,
                deadline,
                |visit: &mut dyn FnMut(Vec<SpanRow>) -> bool| store.scan_span_rows(&scan, visit),
            )?
        }
        Access::Spans(scan) => {
            let scan = scan.clone();
            streamed(
                &checked,
                &ctx,
                deadline,
                |visit: &mut dyn FnMut(Vec<Span>) -> bool| store.scan_spans(&scan, visit),
            )?
        }
        Access::CountLogs(count) => {
            let count = count.clone();
            streamed(
                &checked,
                &ctx,
                deadline,
                |visit: &mut dyn FnMut(Vec<LogCountRow>) -> bool| store.count_logs(&count, visit),
            )?
        }
        Access::Metrics(q) => {
            let series = store.query_points(q)?;
            let rows = series
                .iter()
                .flat_map(|s| s.points.iter().map(move |p| MetricRow::new(&s.series, p)));
            execute(&checked, rows, &ctx)?
        }
    };
    Ok((result, planned.plan))
}

/// Runs the executor over records a store produces on another thread, batch by batch; the
/// store stops when the executor has seen enough (or the deadline passed).
fn streamed<T, F>(
    checked: &Checked,
    ctx: &ExecContext,
    deadline: Instant,
    produce: F,
) -> Result<ResultSet, QueryError>
where
    T: crate::record::Record + Send,
    F: FnOnce(&mut dyn FnMut(Vec<T>) -> bool) -> heimsight_store::Result<()> + Send,
{
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<Vec<T>>(4);
        let producer = scope.spawn(move || {
            let mut out_of_time = false;
            let produced = produce(&mut |batch| {
                out_of_time = Instant::now() >= deadline;
                !out_of_time && tx.send(batch).is_ok()
            });
            (produced, out_of_time)
        });
        let result = execute(checked, rx.into_iter().flatten(), ctx);
        let (produced, out_of_time) = producer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let result = result?;
        produced?;
        if out_of_time {
            // The store stopped because of the deadline: the result is incomplete.
            return Err(QueryError::Exec(ExecError::Deadline {
                rows_scanned: result.rows_scanned,
            }));
        }
        Ok(result)
    })
}

/// `Some(order)` when the query is ordered by the timestamp alone.
fn time_order(select: &Select) -> Option<Order> {
    match select.order_by.as_slice() {
        [OrderItem { expr, descending }] if matches!(&expr.kind, ExprKind::Column(ColumnRef::Named(n)) if n == "timestamp") => {
            Some(if *descending {
                Order::NewestFirst
            } else {
                Order::OldestFirst
            })
        }
        _ => None,
    }
}

fn executor_steps(checked: &Checked) -> Vec<String> {
    let s = &checked.statement.select;
    let mut steps = Vec::new();
    if s.filter.is_some() {
        steps.push("filter: WHERE (re-checked on every record read)".to_string());
    }
    if checked.aggregate {
        steps.push(if s.group_by.is_empty() {
            "aggregate into one row".to_string()
        } else {
            format!("group by {} expression(s) and aggregate", s.group_by.len())
        });
    }
    if s.having.is_some() {
        steps.push("filter groups: HAVING".into());
    }
    if !s.order_by.is_empty() {
        steps.push(match s.limit {
            Some(l) => format!(
                "keep the top {} by {} sort key(s)",
                l + s.offset.unwrap_or(0),
                s.order_by.len()
            ),
            None => format!("sort by {} key(s)", s.order_by.len()),
        });
    }
    if s.offset.is_some() || s.limit.is_some() {
        steps.push(format!(
            "page: offset {}, limit {}",
            s.offset.unwrap_or(0),
            s.limit.map_or("none".to_string(), |l| l.to_string())
        ));
    }
    steps.push(format!("project {} column(s)", checked.columns.len()));
    steps
}

/// Replaces every `x IN (SELECT ...)` by `x IN (values...)`, running the subqueries.
fn resolve_subqueries<S: Queryable + ?Sized>(
    store: &S,
    req: &Request<'_>,
    expr: Expr,
    deadline: Instant,
    explain: bool,
    plans: &mut Vec<Plan>,
) -> Result<Expr, QueryError> {
    let pos = expr.pos;
    let recurse = |e: Box<Expr>, plans: &mut Vec<Plan>| -> Result<Box<Expr>, QueryError> {
        Ok(Box::new(resolve_subqueries(
            store, req, *e, deadline, explain, plans,
        )?))
    };
    let kind = match expr.kind {
        ExprKind::InSubquery {
            expr: tested,
            query,
            negated,
        } => {
            let at = query.pos.start;
            let sub = crate::check::check(
                Statement {
                    explain: false,
                    select: *query,
                },
                req.query,
            )
            .map_err(QueryError::Invalid)?;
            let (result, plan) = run_statement(store, req, sub, deadline, explain)?;
            plans.push(plan);
            let mut values: Vec<Value> = Vec::new();
            for row in result.rows {
                if let Some(v) = row.into_iter().next()
                    && !v.is_null()
                    && !values.contains(&v)
                {
                    if values.len() >= req.limits.max_subquery_values {
                        return Err(QueryError::SubqueryTooLarge {
                            at,
                            max: req.limits.max_subquery_values,
                        });
                    }
                    values.push(v);
                }
            }
            let list = values
                .into_iter()
                .filter_map(|v| value_literal(v).map(|l| Expr::new(ExprKind::Literal(l), pos)))
                .collect::<Vec<_>>();
            if list.is_empty() {
                // `x IN ()` is false, `x NOT IN ()` is true (for non-NULL x).
                ExprKind::Literal(Literal::Bool(negated))
            } else {
                ExprKind::InList {
                    expr: tested,
                    list,
                    negated,
                }
            }
        }
        ExprKind::Binary { op, left, right } => ExprKind::Binary {
            op,
            left: recurse(left, plans)?,
            right: recurse(right, plans)?,
        },
        ExprKind::Unary { op, expr } => ExprKind::Unary {
            op,
            expr: recurse(expr, plans)?,
        },
        other => other,
    };
    Ok(Expr::new(kind, pos))
}

fn value_literal(v: Value) -> Option<Literal> {
    Some(match v {
        Value::Bool(b) => Literal::Bool(b),
        Value::Int(i) => Literal::Int(i),
        Value::Float(f) => Literal::Float(f),
        Value::String(s) => Literal::String(s),
        Value::Timestamp(t) => Literal::Int(t),
        Value::Duration(d) => Literal::Duration(d),
        Value::Null | Value::Map(_) => return None,
    })
}

struct Planned {
    plan: Plan,
    range: TimeRange,
}

/// The top-level `AND` terms of a condition.
fn conjuncts(e: &Expr, out: &mut Vec<Expr>) {
    match &e.kind {
        ExprKind::Binary {
            op: BinaryOp::And,
            left,
            right,
        } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        _ => out.push(e.clone()),
    }
}

/// True when the expression reads no record data (so it can be evaluated once).
fn is_constant(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Literal(_) => true,
        ExprKind::Column(_) | ExprKind::Match { .. } | ExprKind::InSubquery { .. } => false,
        ExprKind::Unary { expr, .. } => is_constant(expr),
        ExprKind::Binary { left, right, .. } => is_constant(left) && is_constant(right),
        ExprKind::Function {
            name, args, star, ..
        } => !star && !crate::check::is_aggregate(&name.name) && args.iter().all(is_constant),
        _ => false,
    }
}

fn constant(e: &Expr, ctx: &EvalContext) -> Option<Value> {
    if !is_constant(e) {
        return None;
    }
    eval(e, &NoRecord, ctx).ok()
}

fn named(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Column(ColumnRef::Named(n)) => Some(n),
        _ => None,
    }
}

/// Nanoseconds of a constant compared with a timestamp.
fn time_of(v: &Value, now: Timestamp) -> Option<i64> {
    match v {
        Value::Timestamp(t) | Value::Int(t) => Some(*t),
        Value::String(s) => Timestamp::parse_relative(s, now).ok().map(|t| t.0),
        _ => None,
    }
}

/// `column = constant` or `column IN (constants)`: the column and the values.
fn equality<'e>(e: &'e Expr, ctx: &EvalContext) -> Option<(&'e ColumnRef, Vec<Value>)> {
    match &e.kind {
        ExprKind::Binary {
            op: BinaryOp::Eq,
            left,
            right,
        } => {
            let (col, val) = match (&left.kind, &right.kind) {
                (ExprKind::Column(c), _) => (c, right),
                (_, ExprKind::Column(c)) => (c, left),
                _ => return None,
            };
            Some((col, vec![constant(val, ctx)?]))
        }
        ExprKind::InList {
            expr,
            list,
            negated: false,
        } => match &expr.kind {
            ExprKind::Column(c) => Some((
                c,
                list.iter()
                    .map(|x| constant(x, ctx))
                    .collect::<Option<Vec<_>>>()?,
            )),
            _ => None,
        },
        _ => None,
    }
}

/// Text values safe to push down as equality: strings that do not read as numbers (the
/// executor compares those numerically with numeric attributes, the store as text).
fn plain_strings(values: &[Value]) -> Option<Vec<String>> {
    values
        .iter()
        .map(|v| match v {
            Value::String(s) if s.trim().parse::<f64>().is_err() => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Narrows `into` to the values also in `new` (both "any of" lists; empty means any).
fn intersect(into: &mut Vec<String>, new: Vec<String>) {
    if into.is_empty() {
        *into = new;
    } else {
        into.retain(|v| new.contains(v));
        if into.is_empty() {
            // Nothing can match; keep an impossible value so the store returns nothing.
            into.push("\u{0}no match".into());
        }
    }
}

fn plan_where(select: &Select, req: &Request<'_>, ctx: &EvalContext) -> Planned {
    let mut terms = Vec::new();
    if let Some(f) = &select.filter {
        conjuncts(f, &mut terms);
    }
    let mut start = req.start.map(|t| t.0);
    let mut end = req.end.map(|t| t.0);
    let mut pushed = Vec::new();
    let mut residual = Vec::new();
    let mut log_filter = LogFilter::default();
    let mut span_scan = SpanScan::default();
    let mut series = SeriesQuery::default().with_limit(0);
    // A term as written; printed when there is no text (a statement built in code).
    let text = |e: &Expr| {
        let written = req.query.get(e.pos.start..e.pos.end).unwrap_or("").trim();
        if written.is_empty() {
            crate::unparse::render_expr_in(e, select.from)
        } else {
            written.to_string()
        }
    };
    for term in &terms {
        let done = push_time(term, ctx, req.now, &mut start, &mut end)
            || match select.from {
                Source::Logs => push_log(term, ctx, &mut log_filter),
                Source::Spans => push_span(term, ctx, &mut span_scan),
                Source::Metrics => push_metric(term, ctx, &mut series),
            };
        if done {
            pushed.push(text(term));
        } else {
            residual.push(text(term));
        }
    }
    let range = TimeRange {
        start: start.map(Timestamp),
        end: end.map(Timestamp),
    };
    let access = match select.from {
        Source::Logs => Access::Logs(
            LogScan::default()
                .with_range(range)
                .with_filter(log_filter)
                .with_order(Order::NewestFirst)
                .with_fields(log_fields(select))
                .with_limit(0),
        ),
        Source::Spans => {
            span_scan.range = range;
            span_scan.index_only = span_index_only(select);
            Access::Spans(span_scan)
        }
        Source::Metrics => {
            series.range = range;
            Access::Metrics(series)
        }
    };
    Planned {
        plan: Plan {
            source: select.from,
            access,
            pushed,
            residual,
            steps: Vec::new(),
            subqueries: Vec::new(),
            store: Vec::new(),
        },
        range,
    }
}

/// A time condition: narrows `[start, end)`.
fn push_time(
    e: &Expr,
    ctx: &EvalContext,
    now: Timestamp,
    start: &mut Option<i64>,
    end: &mut Option<i64>,
) -> bool {
    let is_ts = |x: &Expr| named(x) == Some("timestamp");
    let mut lower = |t: i64| *start = Some(start.map_or(t, |s| s.max(t)));
    let mut upper = |t: i64| *end = Some(end.map_or(t, |s| s.min(t)));
    match &e.kind {
        ExprKind::Binary { op, left, right } => {
            let (op, other) = if is_ts(left) {
                (*op, right)
            } else if is_ts(right) {
                let flipped = match op {
                    BinaryOp::Lt => BinaryOp::Gt,
                    BinaryOp::LtEq => BinaryOp::GtEq,
                    BinaryOp::Gt => BinaryOp::Lt,
                    BinaryOp::GtEq => BinaryOp::LtEq,
                    o => *o,
                };
                (flipped, left)
            } else {
                return false;
            };
            let Some(t) = constant(other, ctx).and_then(|v| time_of(&v, now)) else {
                return false;
            };
            match op {
                BinaryOp::Gt => lower(t.saturating_add(1)),
                BinaryOp::GtEq => lower(t),
                BinaryOp::Lt => upper(t),
                BinaryOp::LtEq => upper(t.saturating_add(1)),
                BinaryOp::Eq => {
                    lower(t);
                    upper(t.saturating_add(1));
                }
                _ => return false,
            }
            true
        }
        ExprKind::Between {
            expr,
            low,
            high,
            negated: false,
        } if is_ts(expr) => {
            let (Some(lo), Some(hi)) = (
                constant(low, ctx).and_then(|v| time_of(&v, now)),
                constant(high, ctx).and_then(|v| time_of(&v, now)),
            ) else {
                return false;
            };
            lower(lo);
            upper(hi.saturating_add(1));
            true
        }
        _ => false,
    }
}

fn push_log(e: &Expr, ctx: &EvalContext, f: &mut LogFilter) -> bool {
    match &e.kind {
        ExprKind::Match { query } => {
            f.terms.extend(match_terms(query));
            return true;
        }
        ExprKind::Contains {
            expr,
            pattern,
            negated: false,
        } if named(expr) == Some("message") && f.contains.is_none() => {
            if let Some(Value::String(s)) = constant(pattern, ctx) {
                f.contains = Some(s);
                return true;
            }
            return false;
        }
        _ => {}
    }
    let Some((col, values)) = equality(e, ctx) else {
        return false;
    };
    match col {
        ColumnRef::Named(n) if n == "service" => {
            let Some(v) = plain_strings(&values) else {
                return false;
            };
            intersect(&mut f.services, v);
            true
        }
        ColumnRef::Named(n) if n == "level" => {
            let levels: Option<Vec<Level>> = values
                .iter()
                .map(|v| match v {
                    Value::String(s) => Level::ALL.iter().copied().find(|l| l.as_str() == s),
                    _ => None,
                })
                .collect();
            match levels {
                Some(levels) if f.levels.is_empty() => {
                    f.levels = levels;
                    true
                }
                _ => false,
            }
        }
        ColumnRef::Named(n) if n == "trace_id" && f.trace_ids.is_empty() => {
            // Stored ids are lower-case hex: other spellings match nothing, so only
            // lower-case ones can be pushed (any other leaves the term to the executor).
            let ids: Option<BTreeSet<TraceId>> = values
                .iter()
                .map(|v| match v {
                    Value::String(s) if *s == s.to_ascii_lowercase() => {
                        heimsight_core::ids::hex_decode::<16>(s).ok().map(TraceId)
                    }
                    _ => None,
                })
                .collect();
            match ids {
                Some(ids) if !ids.is_empty() => {
                    f.trace_ids = ids;
                    true
                }
                _ => false,
            }
        }
        ColumnRef::Attribute(k) if values.len() == 1 => match plain_strings(&values) {
            Some(mut v) => {
                f.attributes.push((k.clone(), v.remove(0)));
                true
            }
            None => false,
        },
        _ => false,
    }
}

fn push_span(e: &Expr, ctx: &EvalContext, s: &mut SpanScan) -> bool {
    let Some((col, values)) = equality(e, ctx) else {
        return false;
    };
    let ColumnRef::Named(n) = col else {
        return false;
    };
    let Some(strings) = plain_strings(&values) else {
        return false;
    };
    match n.as_str() {
        "service" => intersect(&mut s.services, strings),
        "name" => intersect(&mut s.names, strings),
        "trace_id" if s.trace_ids.is_empty() => {
            let ids: Option<Vec<TraceId>> = strings
                .iter()
                .map(|h| {
                    (*h == h.to_ascii_lowercase())
                        .then(|| heimsight_core::ids::hex_decode::<16>(h).ok().map(TraceId))
                        .flatten()
                })
                .collect();
            match ids {
                Some(ids) => s.trace_ids = ids,
                None => return false,
            }
        }
        _ => return false,
    }
    true
}

fn push_metric(e: &Expr, ctx: &EvalContext, q: &mut SeriesQuery) -> bool {
    let Some((col, values)) = equality(e, ctx) else {
        return false;
    };
    let Some(mut strings) = plain_strings(&values) else {
        return false;
    };
    if strings.len() != 1 {
        return false;
    }
    let v = strings.remove(0);
    match col {
        ColumnRef::Named(n) if n == "name" && q.name.is_none() => q.name = Some(v),
        ColumnRef::Named(n) if n == "service" => {
            q.matchers.push(LabelMatcher::equal("service.name", v));
        }
        ColumnRef::Attribute(k) | ColumnRef::Resource(k) => {
            q.matchers.push(LabelMatcher::equal(k.clone(), v));
        }
        _ => return false,
    }
    true
}

/// The store count that answers an aggregating log query whose `WHERE` the store applies
/// exactly, when one does: every aggregate is `count(*)`, and every column read outside it is
/// `service`, `level` or the `timestamp` of a `bucket(timestamp, width)` (one width).
fn log_count(select: &Select, scan: &LogScan) -> Option<LogCount> {
    fn visit(e: &Expr, c: &mut LogCount) -> bool {
        match &e.kind {
            ExprKind::Function {
                name,
                args,
                star,
                distinct,
            } => {
                if crate::check::is_aggregate(&name.name) {
                    return name.name == "count" && *star && !*distinct;
                }
                if name.name == "bucket"
                    && let [t, w] = args.as_slice()
                    && named(t) == Some("timestamp")
                    && let ExprKind::Literal(Literal::Duration(w)) = w.kind
                {
                    return w > 0 && *c.bucket.get_or_insert(w) == w;
                }
                args.iter().all(|a| visit(a, c))
            }
            ExprKind::Column(ColumnRef::Named(n)) => match n.as_str() {
                "service" => {
                    c.by_service = true;
                    true
                }
                "level" => {
                    c.by_level = true;
                    true
                }
                _ => false,
            },
            ExprKind::Column(_) | ExprKind::Match { .. } | ExprKind::InSubquery { .. } => false,
            _ => e.children().into_iter().all(|x| visit(x, c)),
        }
    }
    let mut c = LogCount::default()
        .with_range(scan.range)
        .with_filter(scan.filter.clone());
    for item in &select.items {
        let SelectItem::Expr { expr, .. } = item else {
            return None;
        };
        if !visit(expr, &mut c) {
            return None;
        }
    }
    let others = select
        .group_by
        .iter()
        .chain(&select.having)
        .chain(select.order_by.iter().map(|o| &o.expr));
    for e in others {
        if !visit(e, &mut c) {
            return None;
        }
    }
    Some(c)
}

/// True when the query reads only span fields a store's span index holds (see
/// [`SpanScan::index_only`]).
fn span_index_only(select: &Select) -> bool {
    let mut ok = true;
    let all_named = visit_exprs(select, &mut |e: &Expr| {
        e.walk(&mut |x| match &x.kind {
            ExprKind::Column(ColumnRef::Named(n)) => {
                ok &= matches!(
                    n.as_str(),
                    "timestamp"
                        | "end_time"
                        | "duration"
                        | "trace_id"
                        | "span_id"
                        | "parent_span_id"
                        | "service"
                        | "name"
                        | "kind"
                        | "status"
                        | "is_root"
                );
            }
            ExprKind::Column(_) | ExprKind::Match { .. } => ok = false,
            _ => {}
        });
    });
    all_named && ok
}

/// Calls `visit` on every expression of the select list, `WHERE`, `GROUP BY`, `HAVING` and
/// `ORDER BY`; returns false, visiting no more, at a `*` in the select list.
fn visit_exprs(select: &Select, visit: &mut dyn FnMut(&Expr)) -> bool {
    for item in &select.items {
        match item {
            SelectItem::Wildcard(_) => return false,
            SelectItem::Expr { expr, .. } => visit(expr),
        }
    }
    for e in select
        .filter
        .iter()
        .chain(&select.group_by)
        .chain(&select.having)
        .chain(select.order_by.iter().map(|o| &o.expr))
    {
        visit(e);
    }
    true
}

/// The log fields the query reads.
fn log_fields(select: &Select) -> LogFields {
    let mut f = LogFields::default();
    if visit_exprs(select, &mut |e: &Expr| fields_of(e, &mut f)) {
        f
    } else {
        LogFields::ALL
    }
}

fn fields_of(e: &Expr, f: &mut LogFields) {
    e.walk(&mut |x| match &x.kind {
        ExprKind::Column(ColumnRef::Named(n)) => match n.as_str() {
            "timestamp" | "level" | "severity" | "severity_text" | "service" => {}
            "message" => f.body = true,
            "trace_id" | "span_id" => f.trace = true,
            "attributes" | "resource" => f.attributes = true,
            _ => f.all = true,
        },
        ExprKind::Column(_) => f.attributes = true,
        ExprKind::Match { .. } => f.body = true,
        _ => {}
    });
}
