//! The generic executor: runs a [`Checked`] query over an iterator of [`Record`]s.
//!
//! The executor knows nothing about storage: the planner picks the rows (time range, index
//! lookups) and hands them over as an iterator; [`execute`] filters, groups, aggregates,
//! sorts and pages them.
//!
//! # Semantics
//!
//! - `WHERE` keeps rows for which the condition is `true` (not `NULL`).
//! - Queries without aggregates: one result row per kept record. `ORDER BY` sorts on several
//!   keys, `NULL`s last for `ASC` and first for `DESC` (as PostgreSQL); ties keep the input
//!   order. `OFFSET` then `LIMIT`. With a `LIMIT` only `offset + limit` rows are kept while
//!   scanning (a bounded heap); without `ORDER BY` the scan stops as soon as enough rows
//!   passed. Without `LIMIT`, at most [`ExecContext::max_rows`] rows are returned and
//!   [`ResultSet::truncated`] tells when there were more (likewise when the `LIMIT` is larger
//!   than `max_rows`).
//! - Aggregating queries: one row per distinct `GROUP BY` key (groups in order of first
//!   appearance unless sorted), or exactly one row without `GROUP BY` (even for no input).
//!   Aggregates ignore `NULL`s: `count(*)` counts rows, `count(x)` non-`NULL` values,
//!   `count(DISTINCT x)` distinct ones; `sum`, `avg`, `min`, `max` and `percentile` of no
//!   values are `NULL`, `count` is 0. `sum` of integers is an integer (overflow is an error),
//!   `avg` of numbers a float; `sum`/`avg`/`percentile` of durations are durations, `avg` and
//!   `percentile` of timestamps timestamps. `percentile(x, q)` is exact, interpolating
//!   linearly between the closest ranks (numpy's default); NaN values are ignored.
//!   `increase(x)` follows every series of the group (metric name and labels) through its
//!   points in timestamp order and adds the positive steps; a drop is a counter reset, which
//!   adds the new value. `rate(x)` is `increase(x)` per second of the window: the width of
//!   the query's `GROUP BY bucket(timestamp, width)` when there is one, else
//!   [`ExecContext::end`] minus [`ExecContext::start`]. Only the points inside a group are
//!   used: the step between the last point of one bucket and the first of the next is not
//!   counted.
//! - The deadline is checked every 1,024 rows; more than [`ExecContext::max_groups`] groups
//!   is an error.

use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::time::Instant;

use heimsight_core::{Labels, Timestamp};

use crate::ast::{
    Checked, ColumnRef, Expr, ExprKind, Ident, OrderItem, OutputColumn, Pos, Select, SelectItem,
    Source,
};
use crate::check::{contains_aggregate, is_aggregate, same};
pub use crate::eval::ExecError;
use crate::eval::{CompiledExpr, Compiler, NoRecord, numeric, truth};
use crate::record::Record;
use crate::schema;
use crate::value::Value;

/// Everything a query execution needs besides the query and the rows.
#[derive(Debug, Clone)]
pub struct ExecContext {
    /// The value of `now()`.
    pub now: Timestamp,
    /// Start of the query's time range (inclusive); used by `rate()`.
    pub start: Timestamp,
    /// End of the query's time range (exclusive); used by `rate()`.
    pub end: Timestamp,
    /// At most this many result rows ([`ResultSet::truncated`] tells when rows were cut).
    pub max_rows: usize,
    /// At most this many groups in an aggregating query (more is an error).
    pub max_groups: usize,
    /// Give up (with [`ExecError::Deadline`]) after this instant.
    pub deadline: Option<Instant>,
}

impl ExecContext {
    /// Default of [`ExecContext::max_rows`].
    pub const DEFAULT_MAX_ROWS: usize = 10_000;
    /// Default of [`ExecContext::max_groups`].
    pub const DEFAULT_MAX_GROUPS: usize = 100_000;

    /// A context for the time range `[start, end)` evaluated at `now`, with the default limits
    /// and no deadline.
    pub fn new(now: Timestamp, start: Timestamp, end: Timestamp) -> Self {
        ExecContext {
            now,
            start,
            end,
            max_rows: Self::DEFAULT_MAX_ROWS,
            max_groups: Self::DEFAULT_MAX_GROUPS,
            deadline: None,
        }
    }
}

/// The result of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultSet {
    /// The result columns (from [`Checked::columns`]).
    pub columns: Vec<OutputColumn>,
    /// The rows, each with one value per column.
    pub rows: Vec<Vec<Value>>,
    /// How many rows were pulled from the input iterator.
    pub rows_scanned: u64,
    /// True when more rows matched than [`ExecContext::max_rows`] allowed to return.
    pub truncated: bool,
}

impl ResultSet {
    /// JSON form: `{"columns": [{"name", "type"}], "rows": [[...]], "rows_scanned",
    /// "truncated"}`, values as [`Value::to_json`] writes them.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "columns": self.columns.iter().map(|c| serde_json::json!({
                "name": c.name,
                "type": c.ty.as_str(),
            })).collect::<Vec<_>>(),
            "rows": self.rows.iter().map(|r| {
                serde_json::Value::Array(r.iter().map(Value::to_json).collect())
            }).collect::<Vec<_>>(),
            "rows_scanned": self.rows_scanned,
            "truncated": self.truncated,
        })
    }
}

/// Runs `checked` over `rows` (records of the query's source, in the store's order).
pub fn execute<R: Record>(
    checked: &Checked,
    rows: impl Iterator<Item = R>,
    ctx: &ExecContext,
) -> Result<ResultSet, ExecError> {
    let select = &checked.statement.select;
    let items = select_exprs(select);
    let aggregate = checked.aggregate
        || !select.group_by.is_empty()
        || select.having.is_some()
        || items.iter().any(contains_aggregate)
        || select.order_by.iter().any(|o| contains_aggregate(&o.expr));
    let mut scan = Scan {
        ctx,
        scanned: 0,
        rows: 0,
    };
    scan.check_deadline()?;
    let (mut rows_out, truncated) = if aggregate {
        run_aggregate(select, &items, rows, ctx, &mut scan)?
    } else {
        run_plain(select, &items, rows, ctx, &mut scan)?
    };
    // Integers in a column the checker typed `float` (e.g. `coalesce(int, float)`) are shown
    // as floats, so every value of a column has its type.
    for (i, c) in checked.columns.iter().enumerate() {
        if c.ty == schema::Type::Float {
            for row in &mut rows_out {
                if let Some(v @ Value::Int(_)) = row.get_mut(i) {
                    *v = Value::Float(v.as_f64().unwrap_or(0.0));
                }
            }
        }
    }
    Ok(ResultSet {
        columns: checked.columns.clone(),
        rows: rows_out,
        rows_scanned: scan.scanned,
        truncated,
    })
}

/// Counts pulled rows and watches the deadline.
struct Scan<'c> {
    ctx: &'c ExecContext,
    /// Records the rows stood for (see [`Record::weight`]).
    scanned: u64,
    /// Rows pulled.
    rows: u64,
}

impl Scan<'_> {
    fn check_deadline(&self) -> Result<(), ExecError> {
        if let Some(d) = self.ctx.deadline
            && Instant::now() >= d
        {
            return Err(ExecError::Deadline {
                rows_scanned: self.scanned,
            });
        }
        Ok(())
    }

    /// Call before handling each pulled row; `weight` is how many records it stands for.
    fn pulled(&mut self, weight: u64) -> Result<(), ExecError> {
        self.rows += 1;
        if self.rows.is_multiple_of(1024) {
            self.check_deadline()?;
        }
        self.scanned += weight;
        Ok(())
    }
}

/// The select list with `*` expanded into the source's wildcard columns.
fn select_exprs(select: &Select) -> Vec<Expr> {
    let mut out = Vec::with_capacity(select.items.len());
    for item in &select.items {
        match item {
            SelectItem::Expr { expr, .. } => out.push(expr.clone()),
            SelectItem::Wildcard(pos) => {
                for c in schema::columns(select.from) {
                    if c.in_wildcard {
                        out.push(Expr::new(
                            ExprKind::Column(ColumnRef::Named(c.name.to_string())),
                            *pos,
                        ));
                    }
                }
            }
        }
    }
    out
}

fn compile_row(
    e: &Expr,
    source: Source,
    now: Timestamp,
    context: &'static str,
) -> Result<CompiledExpr, ExecError> {
    let mut c = Compiler::new(Some(source), now, context);
    let node = c.compile(e)?;
    Ok(CompiledExpr::from_node(node, now.0))
}

fn compile_filter(select: &Select, ctx: &ExecContext) -> Result<Option<CompiledExpr>, ExecError> {
    select
        .filter
        .as_ref()
        .map(|f| compile_row(f, select.from, ctx.now, "in WHERE"))
        .transpose()
}

fn passes<R: Record>(filter: &Option<CompiledExpr>, rec: &R) -> Result<bool, ExecError> {
    match filter {
        None => Ok(true),
        Some(f) => Ok(truth(&f.eval(rec)?, f.pos())? == Some(true)),
    }
}

/// How many rows to produce: `(offset, limit, capped)`; `capped` when `max_rows` (not the
/// query's `LIMIT`) bounds the result.
fn paging(select: &Select, ctx: &ExecContext) -> (usize, usize, bool) {
    let offset = usize::try_from(select.offset.unwrap_or(0)).unwrap_or(usize::MAX);
    match select.limit {
        Some(l) if usize::try_from(l).is_ok_and(|l| l <= ctx.max_rows) => {
            (offset, usize::try_from(l).unwrap_or(usize::MAX), false)
        }
        _ => (offset, ctx.max_rows, true),
    }
}

/// Compares sort keys: ascending with `NULL`s last, or descending with `NULL`s first.
fn cmp_keys(a: &[Value], b: &[Value], desc: &[bool]) -> Ordering {
    for ((x, y), d) in a.iter().zip(b).zip(desc) {
        let o = x.total_cmp(y);
        let o = if *d { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// A row waiting in the top-k heap; the heap's top is the worst row kept.
struct Entry<'d> {
    keys: Vec<Value>,
    seq: u64,
    row: Vec<Value>,
    desc: &'d [bool],
}

impl Entry<'_> {
    fn cmp_to(&self, other: &Self) -> Ordering {
        cmp_keys(&self.keys, &other.keys, self.desc).then(self.seq.cmp(&other.seq))
    }
}

impl PartialEq for Entry<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp_to(other) == Ordering::Equal
    }
}
impl Eq for Entry<'_> {}
impl PartialOrd for Entry<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_to(other)
    }
}

fn project<R: Record>(exprs: &[CompiledExpr], rec: &R) -> Result<Vec<Value>, ExecError> {
    exprs.iter().map(|e| e.eval(rec)).collect()
}

fn run_plain<R: Record>(
    select: &Select,
    items: &[Expr],
    rows: impl Iterator<Item = R>,
    ctx: &ExecContext,
    scan: &mut Scan<'_>,
) -> Result<(Vec<Vec<Value>>, bool), ExecError> {
    let filter = compile_filter(select, ctx)?;
    let projections = items
        .iter()
        .map(|e| compile_row(e, select.from, ctx.now, "in a query without GROUP BY"))
        .collect::<Result<Vec<_>, _>>()?;
    let order = select
        .order_by
        .iter()
        .map(|o| compile_row(&o.expr, select.from, ctx.now, "in ORDER BY"))
        .collect::<Result<Vec<_>, _>>()?;
    let desc: Vec<bool> = select.order_by.iter().map(|o| o.descending).collect();
    let (offset, limit, capped) = paging(select, ctx);
    let keep = offset.saturating_add(limit);
    // With `capped`, one row past `keep` tells that the result was truncated.
    let enough = if capped { keep.saturating_add(1) } else { keep };
    let mut matched: usize = 0;

    if order.is_empty() {
        let mut out = Vec::new();
        if enough > 0 {
            for rec in rows {
                scan.pulled(rec.weight())?;
                if !passes(&filter, &rec)? {
                    continue;
                }
                matched += 1;
                if matched > offset && out.len() < limit {
                    out.push(project(&projections, &rec)?);
                }
                if matched >= enough {
                    break;
                }
            }
        }
        return Ok((out, capped && matched > keep));
    }

    let mut heap: BinaryHeap<Entry<'_>> = BinaryHeap::with_capacity(keep.min(1 << 16));
    let mut key_buf: Vec<Value> = vec![Value::Null; order.len()];
    let mut seq: u64 = 0;
    for rec in rows {
        scan.pulled(rec.weight())?;
        if !passes(&filter, &rec)? {
            continue;
        }
        matched += 1;
        if keep == 0 {
            continue;
        }
        for (o, k) in order.iter().zip(key_buf.iter_mut()) {
            o.eval_into(&rec, k)?;
        }
        seq += 1;
        if heap.len() >= keep {
            let Some(mut top) = heap.peek_mut() else {
                continue;
            };
            // A later row with equal keys sorts after the kept one: it is not better.
            if cmp_keys(&key_buf, &top.keys, &desc) != Ordering::Less {
                continue;
            }
            top.row = project(&projections, &rec)?;
            std::mem::swap(&mut top.keys, &mut key_buf);
            top.seq = seq;
            // Dropping `top` restores the heap order.
        } else {
            heap.push(Entry {
                keys: std::mem::replace(&mut key_buf, vec![Value::Null; order.len()]),
                seq,
                row: project(&projections, &rec)?,
                desc: &desc,
            });
        }
    }
    let out = heap
        .into_sorted_vec()
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|e| e.row)
        .collect();
    Ok((out, capped && matched > keep))
}

// ---------------------------------------------------------------------------------------
// Aggregation
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AggFn {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    Percentile,
    Rate,
    Increase,
}

impl AggFn {
    fn parse(name: &str) -> Option<AggFn> {
        Some(match name {
            "count" => AggFn::Count,
            "sum" => AggFn::Sum,
            "avg" => AggFn::Avg,
            "min" => AggFn::Min,
            "max" => AggFn::Max,
            "percentile" => AggFn::Percentile,
            "rate" => AggFn::Rate,
            "increase" => AggFn::Increase,
            _ => return None,
        })
    }
}

/// One aggregate call of the query.
struct AggSpec {
    func: AggFn,
    name: String,
    /// The argument; `None` for `count(*)`.
    arg: Option<CompiledExpr>,
    distinct: bool,
    /// The quantile of `percentile`.
    q: f64,
    pos: Pos,
}

impl AggSpec {
    fn compile(
        name: &Ident,
        args: &[Expr],
        star: bool,
        distinct: bool,
        pos: Pos,
        source: Source,
        now: Timestamp,
    ) -> Result<AggSpec, ExecError> {
        let func = AggFn::parse(&name.name).ok_or_else(|| ExecError::UnknownFunction {
            name: name.name.clone(),
            pos,
        })?;
        let bad = |message: String| ExecError::InvalidArgument {
            function: name.name.clone(),
            message,
            pos,
        };
        let want = if func == AggFn::Percentile { 2 } else { 1 };
        if star {
            if func != AggFn::Count {
                return Err(bad("only count accepts *".into()));
            }
        } else if args.len() != want {
            return Err(bad(format!(
                "expects {want} argument(s), got {}",
                args.len()
            )));
        }
        let compile_arg = |e: &Expr| compile_row(e, source, now, "inside another aggregate");
        let arg = args.first().map(compile_arg).transpose()?;
        let mut q = 0.0;
        if func == AggFn::Percentile {
            let qe = args.get(1).map(compile_arg).transpose()?;
            let qv = qe
                .as_ref()
                .and_then(|c| c.as_const())
                .and_then(Value::as_f64);
            match qv {
                Some(x) if (0.0..=1.0).contains(&x) => q = x,
                _ => {
                    return Err(bad(
                        "the quantile must be a constant number from 0 to 1".into()
                    ));
                }
            }
        }
        Ok(AggSpec {
            func,
            name: name.name.clone(),
            arg: if star { None } else { arg },
            distinct,
            q,
            pos,
        })
    }
}

/// Running state of one aggregate in one group.
#[derive(Debug)]
enum Acc {
    Count(u64),
    Sum(SumAcc),
    Avg(AvgAcc),
    /// Min or max so far (`NULL` before any value).
    Extreme(Value),
    Percentile(PctAcc),
    Counter(CounterAcc),
}

#[derive(Debug)]
enum SumAcc {
    Empty,
    Int(i64),
    Float(f64),
    Duration(i64),
}

/// Kinds of values that average and percentile accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumKind {
    Number,
    Duration,
    Timestamp,
}

#[derive(Debug, Default)]
struct AvgAcc {
    kind: Option<NumKind>,
    n: u64,
    ints: i128,
    floats: f64,
}

#[derive(Debug, Default)]
struct PctAcc {
    kind: Option<NumKind>,
    floats: Vec<f64>,
    ints: Vec<i64>,
}

/// The points of every series of one group, for `rate`/`increase`.
#[derive(Debug, Default)]
struct CounterAcc {
    series: Vec<CounterSeries>,
    /// Series by hash of name and labels.
    index: HashMap<u64, Vec<usize>>,
    /// The series of the previous row (rows usually come series by series).
    last: Option<usize>,
}

#[derive(Debug)]
struct CounterSeries {
    name: String,
    labels: Labels,
    points: Vec<(i64, f64)>,
}

/// Per-aggregate scratch values that live across rows.
struct Slot {
    acc: Acc,
    seen: Option<HashSet<Value>>,
}

impl Slot {
    fn new(spec: &AggSpec) -> Slot {
        let acc = match spec.func {
            AggFn::Count => Acc::Count(0),
            AggFn::Sum => Acc::Sum(SumAcc::Empty),
            AggFn::Avg => Acc::Avg(AvgAcc::default()),
            AggFn::Min | AggFn::Max => Acc::Extreme(Value::Null),
            AggFn::Percentile => Acc::Percentile(PctAcc::default()),
            AggFn::Rate | AggFn::Increase => Acc::Counter(CounterAcc::default()),
        };
        Slot {
            acc,
            seen: spec.distinct.then(HashSet::new),
        }
    }
}

fn type_error(spec: &AggSpec, v: &Value) -> ExecError {
    ExecError::Type {
        message: format!("{}() does not accept {} values", spec.name, v.type_of()),
        pos: spec.pos,
    }
}

fn num_kind(spec: &AggSpec, v: &Value) -> Result<NumKind, ExecError> {
    match v {
        Value::Int(_) | Value::Float(_) => Ok(NumKind::Number),
        Value::Duration(_) => Ok(NumKind::Duration),
        Value::Timestamp(_) => Ok(NumKind::Timestamp),
        other => Err(type_error(spec, other)),
    }
}

/// `v` as a number for `avg`/`percentile` with its kind, which must be the kind of the values
/// seen so far (`seen`, updated); `None` for NULL.
fn numeric_of_kind(
    spec: &AggSpec,
    v: Value,
    seen: &mut Option<NumKind>,
) -> Result<Option<(Value, NumKind)>, ExecError> {
    let v = numeric(v);
    if v.is_null() {
        return Ok(None);
    }
    let k = num_kind(spec, &v)?;
    if seen.is_some_and(|x| x != k) {
        return Err(mixed_error(spec));
    }
    *seen = Some(k);
    Ok(Some((v, k)))
}

fn mixed_error(spec: &AggSpec) -> ExecError {
    ExecError::Type {
        message: format!(
            "{}() got values of different kinds (numbers, durations, timestamps)",
            spec.name
        ),
        pos: spec.pos,
    }
}

impl Slot {
    fn update<R: Record>(&mut self, spec: &AggSpec, rec: &R) -> Result<(), ExecError> {
        let v = match &spec.arg {
            None => Value::Bool(true), // count(*): every row counts.
            Some(a) => a.eval(rec)?,
        };
        if v.is_null() {
            return Ok(());
        }
        if let Some(seen) = &mut self.seen {
            if seen.contains(&v) {
                return Ok(());
            }
            seen.insert(v.clone());
        }
        match &mut self.acc {
            Acc::Count(n) => *n += rec.weight(),
            Acc::Extreme(cur) => {
                let better = cur.is_null()
                    || match spec.func {
                        AggFn::Min => v.total_cmp(cur) == Ordering::Less,
                        _ => v.total_cmp(cur) == Ordering::Greater,
                    };
                if better {
                    *cur = v;
                }
            }
            Acc::Sum(s) => {
                let overflow = || ExecError::Overflow {
                    op: format!("{}()", spec.name),
                    pos: spec.pos,
                };
                let v = numeric(v);
                *s = match (&*s, &v) {
                    (_, Value::Null) => return Ok(()),
                    (SumAcc::Empty, Value::Int(i)) => SumAcc::Int(*i),
                    (SumAcc::Empty, Value::Float(f)) => SumAcc::Float(*f),
                    (SumAcc::Empty, Value::Duration(d)) => SumAcc::Duration(*d),
                    (SumAcc::Int(a), Value::Int(i)) => {
                        SumAcc::Int(a.checked_add(*i).ok_or_else(overflow)?)
                    }
                    (SumAcc::Int(a), Value::Float(f)) => SumAcc::Float(*a as f64 + f),
                    (SumAcc::Float(a), Value::Int(i)) => SumAcc::Float(a + *i as f64),
                    (SumAcc::Float(a), Value::Float(f)) => SumAcc::Float(a + f),
                    (SumAcc::Duration(a), Value::Duration(d)) => {
                        SumAcc::Duration(a.checked_add(*d).ok_or_else(overflow)?)
                    }
                    (SumAcc::Empty, other) => return Err(type_error(spec, other)),
                    (_, Value::Int(_) | Value::Float(_) | Value::Duration(_)) => {
                        return Err(mixed_error(spec));
                    }
                    (_, other) => return Err(type_error(spec, other)),
                };
            }
            Acc::Avg(a) => {
                let Some((v, _)) = numeric_of_kind(spec, v, &mut a.kind)? else {
                    return Ok(());
                };
                a.n += 1;
                match v {
                    Value::Float(f) => a.floats += f,
                    Value::Int(i) | Value::Duration(i) | Value::Timestamp(i) => {
                        a.ints += i128::from(i);
                    }
                    _ => {}
                }
            }
            Acc::Percentile(p) => {
                let Some((v, k)) = numeric_of_kind(spec, v, &mut p.kind)? else {
                    return Ok(());
                };
                match v {
                    Value::Float(f) if f.is_nan() => {}
                    Value::Float(f) => p.floats.push(f),
                    Value::Int(i) if k == NumKind::Number => p.floats.push(i as f64),
                    Value::Int(i) | Value::Duration(i) | Value::Timestamp(i) => p.ints.push(i),
                    _ => {}
                }
            }
            Acc::Counter(c) => {
                let Some(x) = numeric(v).as_f64() else {
                    return Ok(());
                };
                let t = match rec.column("timestamp") {
                    Value::Timestamp(t) | Value::Int(t) => t,
                    _ => return Ok(()),
                };
                let i = c.series_of(rec);
                c.series[i].points.push((t, x));
            }
        }
        Ok(())
    }

    fn finish(&mut self, spec: &AggSpec, window_secs: f64) -> Result<Value, ExecError> {
        Ok(match &mut self.acc {
            Acc::Count(n) => Value::Int(i64::try_from(*n).unwrap_or(i64::MAX)),
            Acc::Extreme(v) => std::mem::replace(v, Value::Null),
            Acc::Sum(s) => match s {
                SumAcc::Empty => Value::Null,
                SumAcc::Int(i) => Value::Int(*i),
                SumAcc::Float(f) => Value::Float(*f),
                SumAcc::Duration(d) => Value::Duration(*d),
            },
            Acc::Avg(a) => {
                if a.n == 0 {
                    return Ok(Value::Null);
                }
                let n = i128::from(a.n);
                match a.kind {
                    Some(NumKind::Number) => Value::Float((a.ints as f64 + a.floats) / a.n as f64),
                    Some(NumKind::Duration) => {
                        Value::Duration(i64::try_from(a.ints / n).unwrap_or(i64::MAX))
                    }
                    Some(NumKind::Timestamp) => {
                        Value::Timestamp(i64::try_from(a.ints / n).unwrap_or(i64::MAX))
                    }
                    None => Value::Null,
                }
            }
            Acc::Percentile(p) => percentile(p, spec.q),
            Acc::Counter(c) => {
                let Some(inc) = c.increase() else {
                    return Ok(Value::Null);
                };
                match spec.func {
                    AggFn::Rate if window_secs > 0.0 => Value::Float(inc / window_secs),
                    AggFn::Rate => Value::Null,
                    _ => Value::Float(inc),
                }
            }
        })
    }
}

/// Exact percentile with linear interpolation between the closest ranks.
fn percentile(p: &mut PctAcc, q: f64) -> Value {
    let rank = |n: usize| {
        let r = q * (n - 1) as f64;
        let lo = r.floor() as usize;
        (lo, (lo + 1).min(n - 1), r - lo as f64)
    };
    match p.kind {
        None => Value::Null,
        Some(NumKind::Number) => {
            if p.floats.is_empty() {
                return Value::Null;
            }
            p.floats.sort_by(f64::total_cmp);
            let (lo, hi, frac) = rank(p.floats.len());
            let (a, b) = (p.floats[lo], p.floats[hi]);
            Value::Float(if frac == 0.0 { a } else { a + (b - a) * frac })
        }
        Some(k) => {
            if p.ints.is_empty() {
                return Value::Null;
            }
            p.ints.sort_unstable();
            let (lo, hi, frac) = rank(p.ints.len());
            let (a, b) = (p.ints[lo], p.ints[hi]);
            let step = ((i128::from(b) - i128::from(a)) as f64 * frac).round() as i128;
            let v = i64::try_from(i128::from(a) + step).unwrap_or(b);
            if k == NumKind::Duration {
                Value::Duration(v)
            } else {
                Value::Timestamp(v)
            }
        }
    }
}

impl CounterAcc {
    /// The index of the row's series, adding it when new.
    fn series_of<R: Record>(&mut self, rec: &R) -> usize {
        static NO_LABELS: Labels = Labels::new();
        let (name, labels) = rec.series_identity().unwrap_or(("", &NO_LABELS));
        if let Some(i) = self.last {
            let s = &self.series[i];
            if s.name == name && &s.labels == labels {
                return i;
            }
        }
        let mut h = DefaultHasher::new();
        name.hash(&mut h);
        labels.hash(&mut h);
        let bucket = self.index.entry(h.finish()).or_default();
        let i = match bucket
            .iter()
            .find(|&&i| self.series[i].name == name && &self.series[i].labels == labels)
        {
            Some(&i) => i,
            None => {
                self.series.push(CounterSeries {
                    name: name.to_string(),
                    labels: labels.clone(),
                    points: Vec::new(),
                });
                bucket.push(self.series.len() - 1);
                self.series.len() - 1
            }
        };
        self.last = Some(i);
        i
    }

    /// Sum over the series of their increase; `None` without points.
    fn increase(&mut self) -> Option<f64> {
        if self.series.iter().all(|s| s.points.is_empty()) {
            return None;
        }
        let mut total = 0.0;
        for s in &mut self.series {
            if !s.points.is_sorted_by_key(|p| p.0) {
                s.points.sort_by_key(|p| p.0);
            }
            for w in s.points.windows(2) {
                let (prev, cur) = (w[0].1, w[1].1);
                total += if cur >= prev { cur - prev } else { cur };
            }
        }
        Some(total)
    }
}

fn run_aggregate<R: Record>(
    select: &Select,
    items: &[Expr],
    rows: impl Iterator<Item = R>,
    ctx: &ExecContext,
    scan: &mut Scan<'_>,
) -> Result<(Vec<Vec<Value>>, bool), ExecError> {
    let source = select.from;
    let filter = compile_filter(select, ctx)?;
    let group_exprs = select
        .group_by
        .iter()
        .map(|g| compile_row(g, source, ctx.now, "in GROUP BY"))
        .collect::<Result<Vec<_>, _>>()?;
    let n_keys = group_exprs.len();
    let window_secs = group_exprs
        .iter()
        .find_map(CompiledExpr::bucket_width)
        .unwrap_or_else(|| ctx.end.0.saturating_sub(ctx.start.0)) as f64
        / 1e9;

    // Compile the per-group expressions, collecting the aggregate calls.
    let group_shapes = &select.group_by;
    let mut specs: Vec<AggSpec> = Vec::new();
    let mut spec_shapes: Vec<Expr> = Vec::new();
    let (outputs, having, order) = {
        let mut hook = |e: &Expr| -> Result<Option<usize>, ExecError> {
            let is_agg =
                matches!(&e.kind, ExprKind::Function { name, .. } if is_aggregate(&name.name));
            let is_leaf = matches!(&e.kind, ExprKind::Literal(_));
            if !is_agg && (is_leaf || group_shapes.is_empty()) {
                return Ok(None);
            }
            if let Some(i) = group_shapes.iter().position(|g| same(g, e)) {
                return Ok(Some(i));
            }
            let ExprKind::Function {
                name,
                args,
                star,
                distinct,
            } = &e.kind
            else {
                return Ok(None);
            };
            if !is_agg {
                return Ok(None);
            }
            if let Some(j) = spec_shapes.iter().position(|s| same(s, e)) {
                return Ok(Some(n_keys + j));
            }
            specs.push(AggSpec::compile(
                name, args, *star, *distinct, e.pos, source, ctx.now,
            )?);
            spec_shapes.push(e.clone());
            Ok(Some(n_keys + specs.len() - 1))
        };
        let mut c = Compiler::grouped(Some(source), ctx.now, &mut hook);
        let mut compile = |e: &Expr| -> Result<CompiledExpr, ExecError> {
            Ok(CompiledExpr::from_node(c.compile(e)?, ctx.now.0))
        };
        let outputs = items
            .iter()
            .map(&mut compile)
            .collect::<Result<Vec<_>, _>>()?;
        let having = select.having.as_ref().map(&mut compile).transpose()?;
        let order = select
            .order_by
            .iter()
            .map(|o: &OrderItem| compile(&o.expr))
            .collect::<Result<Vec<_>, _>>()?;
        (outputs, having, order)
    };
    let n_aggs = specs.len();

    // Scan: group rows and feed the aggregates.
    let mut index: HashMap<Vec<Value>, usize> = HashMap::new();
    let mut keys: Vec<Vec<Value>> = Vec::new();
    let mut slots: Vec<Slot> = Vec::new();
    // Group keys are evaluated into this buffer, reusing its strings: looking up an existing
    // group allocates nothing.
    let mut key_buf: Vec<Value> = vec![Value::Null; n_keys];
    let mut last_group: Option<usize> = None;
    if n_keys == 0 {
        keys.push(Vec::new());
        slots.extend(specs.iter().map(Slot::new));
        last_group = Some(0);
    }
    for rec in rows {
        scan.pulled(rec.weight())?;
        if !passes(&filter, &rec)? {
            continue;
        }
        for (g, k) in group_exprs.iter().zip(key_buf.iter_mut()) {
            g.eval_into(&rec, k)?;
        }
        let g = match last_group {
            Some(g) if keys[g] == key_buf => g,
            _ => match index.get(key_buf.as_slice()) {
                Some(&g) => g,
                None => {
                    if keys.len() >= ctx.max_groups {
                        return Err(ExecError::TooManyGroups {
                            limit: ctx.max_groups,
                        });
                    }
                    let g = keys.len();
                    index.insert(key_buf.clone(), g);
                    keys.push(key_buf.clone());
                    slots.extend(specs.iter().map(Slot::new));
                    g
                }
            },
        };
        last_group = Some(g);
        for (slot, spec) in slots[g * n_aggs..(g + 1) * n_aggs].iter_mut().zip(&specs) {
            slot.update(spec, &rec)?;
        }
    }
    drop(index);

    // Finish: one row per group, filtered by HAVING, sorted, paged.
    let desc: Vec<bool> = select.order_by.iter().map(|o| o.descending).collect();
    let mut results: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
    let mut values: Vec<Value> = Vec::with_capacity(n_keys + n_aggs);
    for (g, key) in keys.into_iter().enumerate() {
        if g % 1024 == 1023 {
            scan.check_deadline()?;
        }
        values.clear();
        values.extend(key);
        for (slot, spec) in slots[g * n_aggs..(g + 1) * n_aggs].iter_mut().zip(&specs) {
            values.push(slot.finish(spec, window_secs)?);
        }
        if let Some(h) = &having
            && truth(&h.eval_with(&NoRecord, &values)?, h.pos())? != Some(true)
        {
            continue;
        }
        let row = outputs
            .iter()
            .map(|o| o.eval_with(&NoRecord, &values))
            .collect::<Result<Vec<_>, _>>()?;
        let sort_keys = order
            .iter()
            .map(|o| o.eval_with(&NoRecord, &values))
            .collect::<Result<Vec<_>, _>>()?;
        results.push((sort_keys, row));
    }
    if !order.is_empty() {
        results.sort_by(|a, b| cmp_keys(&a.0, &b.0, &desc));
    }
    let (offset, limit, capped) = paging(select, ctx);
    let truncated = capped && results.len() > offset.saturating_add(limit);
    let out = results
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(_, row)| row)
        .collect();
    Ok((out, truncated))
}
