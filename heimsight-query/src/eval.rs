//! Evaluation of scalar expressions against one [`Record`].
//!
//! An [`Expr`] is first compiled ([`CompiledExpr::compile`]): column names are resolved to
//! their canonical form, constant subexpressions are folded (`now() - 1h` becomes one
//! timestamp, a string compared with a timestamp column is parsed once), `LIKE` patterns and
//! `MATCH` texts are parsed once. The compiled form is then evaluated per row without
//! re-parsing anything.
//!
//! # Semantics
//!
//! - SQL three-valued logic: `NULL` propagates through operators and functions (except
//!   `coalesce`, `IS NULL`, and `AND`/`OR` where the other side decides); a filter keeps a row
//!   only when it evaluates to `true`.
//! - Comparisons: numbers across `int` and `float`; a timestamp against a string reads the
//!   string as RFC 3339 (or `now-15m`); timestamps and durations against integers as
//!   nanoseconds; a string against a number compares numerically when the string reads as a
//!   number, else as text; other mixes of kinds (attributes are typed per value) compare as
//!   text.
//! - Arithmetic: `int op int` is `int` with overflow reported as an error; `/` always gives a
//!   float (or a duration for `duration / number`); `%` needs integers; `timestamp ±
//!   duration` is a timestamp; `timestamp - timestamp` a duration; durations scale by numbers;
//!   division or remainder by zero is an error. Text that reads as a number takes part as
//!   that number; other text gives `NULL`.
//! - `LIKE`: `%` any run, `_` one character, `\` escapes the next character; `ILIKE`
//!   compares case-insensitively. `CONTAINS` is a case-insensitive substring test.
//!   `MATCH('a "b c"')`: every bare word and every double-quoted phrase must match the
//!   record ([`Record::text_matches`]).

use std::borrow::Cow;
use std::cmp::Ordering;

use heimsight_core::Timestamp;

use crate::ast::{BinaryOp, ColumnRef, Expr, ExprKind, Literal, Pos, Source, UnaryOp};
use crate::check::is_aggregate;
use crate::record::Record;
use crate::schema::{self, Type};
use crate::value::Value;

/// What evaluation needs besides the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalContext {
    /// The value of `now()` (and of `now` in relative time strings).
    pub now: Timestamp,
}

/// Errors of evaluation and execution. Messages say what went wrong and, for problems of
/// one expression, where (`at byte N` of the query text, from the expression's [`Pos`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// `x / 0` or `x % 0`.
    #[error("division by zero at byte {}", pos.start)]
    DivisionByZero {
        /// The division.
        pos: Pos,
    },
    /// An integer, timestamp or duration result out of the 64-bit range.
    #[error("integer overflow in {op} at byte {}", pos.start)]
    Overflow {
        /// The operation (`+`, `abs()`, `sum()`, …).
        op: String,
        /// Where.
        pos: Pos,
    },
    /// An operator or function applied to values of the wrong type.
    #[error("{message} at byte {}", pos.start)]
    Type {
        /// What is wrong, e.g. `cannot apply + to string and int`.
        message: String,
        /// Where.
        pos: Pos,
    },
    /// A function called with unusable arguments.
    #[error("{function}(): {message} at byte {}", pos.start)]
    InvalidArgument {
        /// The function.
        function: String,
        /// What is wrong.
        message: String,
        /// Where.
        pos: Pos,
    },
    /// A function the executor does not know.
    #[error("unknown function {name}() at byte {}", pos.start)]
    UnknownFunction {
        /// Its name.
        name: String,
        /// Where.
        pos: Pos,
    },
    /// A column the source does not have.
    #[error("unknown column {name} at byte {}", pos.start)]
    UnknownColumn {
        /// Its name.
        name: String,
        /// Where.
        pos: Pos,
    },
    /// In an aggregating query, a reference to the rows outside of any aggregate that is not
    /// a `GROUP BY` expression.
    #[error(
        "{name} at byte {} must appear in GROUP BY or be used inside an aggregate function",
        pos.start
    )]
    NotGrouped {
        /// The column (or `MATCH`).
        name: String,
        /// Where.
        pos: Pos,
    },
    /// An aggregate function where only per-row values are allowed (`WHERE`, `GROUP BY`,
    /// inside another aggregate, or a query that does not aggregate).
    #[error("aggregate function {name}() is not allowed {context} (at byte {})", pos.start)]
    MisplacedAggregate {
        /// The function.
        name: String,
        /// Where it may not be, e.g. `in WHERE`.
        context: &'static str,
        /// Where.
        pos: Pos,
    },
    /// `IN (SELECT ...)` reached the executor; the planner must replace it by a list.
    #[error(
        "IN (SELECT ...) at byte {} was not resolved before execution (the planner must run the subquery first)",
        pos.start
    )]
    UnresolvedSubquery {
        /// Where.
        pos: Pos,
    },
    /// A string compared with a timestamp that is not a time.
    #[error("invalid timestamp {text:?} at byte {}: {reason}", pos.start)]
    InvalidTimestamp {
        /// The text.
        text: String,
        /// Why it was rejected.
        reason: String,
        /// Where.
        pos: Pos,
    },
    /// The query ran past its deadline.
    #[error(
        "query exceeded its time budget after scanning {rows_scanned} rows; narrow the time range or add filters"
    )]
    Deadline {
        /// Rows pulled before giving up.
        rows_scanned: u64,
    },
    /// An aggregating query produced more groups than allowed.
    #[error(
        "query produced more than {limit} groups, the limit; group by fewer or coarser expressions or narrow the time range"
    )]
    TooManyGroups {
        /// The limit.
        limit: usize,
    },
}

/// An expression compiled for repeated evaluation.
#[derive(Debug, Clone)]
pub struct CompiledExpr {
    root: Node,
    now: i64,
}

impl CompiledExpr {
    /// Compiles `expr`. With a `source`, column names (aliases too) are resolved against its
    /// schema and unknown ones rejected; without, names are used as given. Aggregate
    /// functions are rejected.
    pub fn compile(
        expr: &Expr,
        source: Option<Source>,
        ctx: &EvalContext,
    ) -> Result<CompiledExpr, ExecError> {
        let mut c = Compiler::new(source, ctx.now, "in a per-row expression");
        Ok(CompiledExpr {
            root: c.compile(expr)?,
            now: ctx.now.0,
        })
    }

    /// Evaluates against `record`.
    pub fn eval<R: Record + ?Sized>(&self, record: &R) -> Result<Value, ExecError> {
        Evaluator {
            rec: record,
            slots: &[],
            now: self.now,
        }
        .eval(&self.root)
    }

    /// Evaluates as a condition: true only when the value is `true` (`NULL` and `false` are
    /// false); a non-boolean value is an error.
    pub fn test<R: Record + ?Sized>(&self, record: &R) -> Result<bool, ExecError> {
        let v = self.eval(record)?;
        Ok(truth(&v, self.root.pos)? == Some(true))
    }

    pub(crate) fn from_node(root: Node, now: i64) -> CompiledExpr {
        CompiledExpr { root, now }
    }

    /// Evaluates with precomputed slot values (group keys and aggregate results).
    pub(crate) fn eval_with<R: Record + ?Sized>(
        &self,
        record: &R,
        slots: &[Value],
    ) -> Result<Value, ExecError> {
        Evaluator {
            rec: record,
            slots,
            now: self.now,
        }
        .eval(&self.root)
    }

    /// Evaluates into `out`; when the result is text the record lends, `out`'s text buffer
    /// is reused instead of allocating a new string.
    pub(crate) fn eval_into<R: Record + ?Sized>(
        &self,
        record: &R,
        out: &mut Value,
    ) -> Result<(), ExecError> {
        let ev = Evaluator {
            rec: record,
            slots: &[],
            now: self.now,
        };
        match (ev.borrowed(&self.root), out) {
            (Some(s), Value::String(buf)) => {
                buf.clear();
                buf.push_str(s);
            }
            (Some(s), out) => *out = Value::String(s.to_string()),
            (None, out) => *out = ev.eval(&self.root)?,
        }
        Ok(())
    }

    /// The position of the whole expression.
    pub(crate) fn pos(&self) -> Pos {
        self.root.pos
    }

    /// The value, when the expression is a constant.
    pub(crate) fn as_const(&self) -> Option<&Value> {
        match &self.root.kind {
            Kind::Const(v) => Some(v),
            _ => None,
        }
    }

    /// The width in nanoseconds, when the expression is `bucket(x, width)` with a constant
    /// width.
    pub(crate) fn bucket_width(&self) -> Option<i64> {
        match &self.root.kind {
            Kind::Call(ScalarFn::Bucket, args) => match args.get(1).map(|a| &a.kind) {
                Some(Kind::Const(Value::Duration(d) | Value::Int(d))) if *d > 0 => Some(*d),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Evaluates one expression against one record (compiling it first; to evaluate the same
/// expression against many records, use [`CompiledExpr`]).
pub fn eval<R: Record + ?Sized>(
    expr: &Expr,
    record: &R,
    ctx: &EvalContext,
) -> Result<Value, ExecError> {
    CompiledExpr::compile(expr, None, ctx)?.eval(record)
}

/// SQL truth of a condition value: `Some(b)` for booleans, `None` for `NULL`.
pub(crate) fn truth(v: &Value, pos: Pos) -> Result<Option<bool>, ExecError> {
    match v {
        Value::Bool(b) => Ok(Some(*b)),
        Value::Null => Ok(None),
        other => Err(ExecError::Type {
            message: format!("expected a boolean condition, found {}", other.type_of()),
            pos,
        }),
    }
}

// ---------------------------------------------------------------------------------------
// Compiled form
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub(crate) struct Node {
    kind: Kind,
    pos: Pos,
}

#[derive(Debug, Clone)]
enum Kind {
    Const(Value),
    Column(Cow<'static, str>),
    Attribute(String),
    Resource(String),
    /// A precomputed value: a group key or an aggregate's result.
    Slot(usize),
    Neg(Box<Node>),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Cmp(BinaryOp, Box<Node>, Box<Node>),
    Arith(BinaryOp, Box<Node>, Box<Node>),
    InList {
        expr: Box<Node>,
        list: Vec<Node>,
        negated: bool,
    },
    Between {
        expr: Box<Node>,
        low: Box<Node>,
        high: Box<Node>,
        negated: bool,
    },
    Like {
        expr: Box<Node>,
        pattern: LikePattern,
        case_insensitive: bool,
        negated: bool,
    },
    IsNull {
        expr: Box<Node>,
        negated: bool,
    },
    Contains {
        expr: Box<Node>,
        pattern: Box<Node>,
        negated: bool,
    },
    Match(Vec<String>),
    Call(ScalarFn, Vec<Node>),
}

#[derive(Debug, Clone)]
enum LikePattern {
    Static(Vec<LikeTok>),
    Dynamic(Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LikeTok {
    /// `%`.
    Any,
    /// `_`.
    One,
    /// A literal character.
    Char(char),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScalarFn {
    Now,
    Bucket,
    Lower,
    Upper,
    Length,
    Abs,
    Round,
    Floor,
    Ceil,
    Coalesce,
}

impl ScalarFn {
    fn parse(name: &str) -> Option<ScalarFn> {
        Some(match name {
            "now" => ScalarFn::Now,
            "bucket" => ScalarFn::Bucket,
            "lower" => ScalarFn::Lower,
            "upper" => ScalarFn::Upper,
            "length" => ScalarFn::Length,
            "abs" => ScalarFn::Abs,
            "round" => ScalarFn::Round,
            "floor" => ScalarFn::Floor,
            "ceil" => ScalarFn::Ceil,
            "coalesce" => ScalarFn::Coalesce,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            ScalarFn::Now => "now",
            ScalarFn::Bucket => "bucket",
            ScalarFn::Lower => "lower",
            ScalarFn::Upper => "upper",
            ScalarFn::Length => "length",
            ScalarFn::Abs => "abs",
            ScalarFn::Round => "round",
            ScalarFn::Floor => "floor",
            ScalarFn::Ceil => "ceil",
            ScalarFn::Coalesce => "coalesce",
        }
    }

    /// Allowed argument counts.
    fn arity(self) -> (usize, usize) {
        match self {
            ScalarFn::Now => (0, 0),
            ScalarFn::Bucket => (2, 2),
            ScalarFn::Round => (1, 2),
            ScalarFn::Coalesce => (1, usize::MAX),
            _ => (1, 1),
        }
    }
}

/// The hook of aggregating queries: maps a group expression or an aggregate call to its slot.
pub(crate) type SlotHook<'h> = dyn FnMut(&Expr) -> Result<Option<usize>, ExecError> + 'h;

/// Turns [`Expr`]s into [`Node`]s.
pub(crate) struct Compiler<'h> {
    source: Option<Source>,
    now: i64,
    hook: Option<&'h mut SlotHook<'h>>,
    context: &'static str,
}

impl<'h> Compiler<'h> {
    /// A compiler of per-row expressions; `context` names the place for error messages about
    /// aggregates (`in WHERE`).
    pub(crate) fn new(source: Option<Source>, now: Timestamp, context: &'static str) -> Self {
        Compiler {
            source,
            now: now.0,
            hook: None,
            context,
        }
    }

    /// A compiler of per-group expressions: `hook` is asked first about every subexpression;
    /// references to the rows it does not take are errors.
    pub(crate) fn grouped(
        source: Option<Source>,
        now: Timestamp,
        hook: &'h mut SlotHook<'h>,
    ) -> Self {
        Compiler {
            source,
            now: now.0,
            hook: Some(hook),
            context: "here",
        }
    }

    pub(crate) fn compile(&mut self, e: &Expr) -> Result<Node, ExecError> {
        if let Some(hook) = self.hook.as_mut()
            && let Some(slot) = hook(e)?
        {
            return Ok(Node {
                kind: Kind::Slot(slot),
                pos: e.pos,
            });
        }
        let grouped = self.hook.is_some();
        let pos = e.pos;
        let not_grouped = |name: String| Err(ExecError::NotGrouped { name, pos });
        let kind = match &e.kind {
            ExprKind::Literal(l) => Kind::Const(literal(l)),
            ExprKind::Column(c) => {
                if grouped {
                    return not_grouped(column_text(c));
                }
                match c {
                    ColumnRef::Named(n) => Kind::Column(self.column_name(n, pos)?),
                    ColumnRef::Attribute(k) => Kind::Attribute(k.clone()),
                    ColumnRef::Resource(k) => Kind::Resource(k.clone()),
                }
            }
            ExprKind::Unary { op, expr } => {
                let x = Box::new(self.compile(expr)?);
                match op {
                    UnaryOp::Neg => Kind::Neg(x),
                    UnaryOp::Not => Kind::Not(x),
                }
            }
            ExprKind::Binary { op, left, right } => {
                let mut l = self.compile(left)?;
                let mut r = self.compile(right)?;
                match op {
                    BinaryOp::And => Kind::And(Box::new(l), Box::new(r)),
                    BinaryOp::Or => Kind::Or(Box::new(l), Box::new(r)),
                    BinaryOp::Eq
                    | BinaryOp::NotEq
                    | BinaryOp::Lt
                    | BinaryOp::LtEq
                    | BinaryOp::Gt
                    | BinaryOp::GtEq => {
                        self.coerce_pair(&mut l, &mut r)?;
                        Kind::Cmp(*op, Box::new(l), Box::new(r))
                    }
                    _ => Kind::Arith(*op, Box::new(l), Box::new(r)),
                }
            }
            ExprKind::Function {
                name,
                args,
                star,
                distinct: _,
            } => {
                if is_aggregate(&name.name) {
                    return Err(ExecError::MisplacedAggregate {
                        name: name.name.clone(),
                        context: self.context,
                        pos,
                    });
                }
                let f = ScalarFn::parse(&name.name).ok_or_else(|| ExecError::UnknownFunction {
                    name: name.name.clone(),
                    pos,
                })?;
                let (min, max) = f.arity();
                if *star || args.len() < min || args.len() > max {
                    let expected = if min == max {
                        format!("{min}")
                    } else if max == usize::MAX {
                        format!("at least {min}")
                    } else {
                        format!("{min} to {max}")
                    };
                    return Err(ExecError::InvalidArgument {
                        function: f.name().into(),
                        message: format!(
                            "expects {expected} argument(s), got {}",
                            if *star {
                                "*".to_string()
                            } else {
                                args.len().to_string()
                            }
                        ),
                        pos,
                    });
                }
                if f == ScalarFn::Now {
                    Kind::Const(Value::Timestamp(self.now))
                } else {
                    let args = args
                        .iter()
                        .map(|a| self.compile(a))
                        .collect::<Result<Vec<_>, _>>()?;
                    Kind::Call(f, args)
                }
            }
            ExprKind::InList {
                expr,
                list,
                negated,
            } => {
                let mut x = self.compile(expr)?;
                let mut items = Vec::with_capacity(list.len());
                for item in list {
                    let mut n = self.compile(item)?;
                    self.coerce_pair(&mut x, &mut n)?;
                    items.push(n);
                }
                Kind::InList {
                    expr: Box::new(x),
                    list: items,
                    negated: *negated,
                }
            }
            ExprKind::InSubquery { .. } => return Err(ExecError::UnresolvedSubquery { pos }),
            ExprKind::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let mut x = self.compile(expr)?;
                let mut lo = self.compile(low)?;
                let mut hi = self.compile(high)?;
                self.coerce_pair(&mut x, &mut lo)?;
                self.coerce_pair(&mut x, &mut hi)?;
                Kind::Between {
                    expr: Box::new(x),
                    low: Box::new(lo),
                    high: Box::new(hi),
                    negated: *negated,
                }
            }
            ExprKind::Like {
                expr,
                pattern,
                case_insensitive,
                negated,
            } => {
                let x = self.compile(expr)?;
                let p = self.compile(pattern)?;
                let pattern = match &p.kind {
                    Kind::Const(Value::Null) => LikePattern::Dynamic(Box::new(p)),
                    Kind::Const(v) => LikePattern::Static(compile_like(&v.to_text())),
                    _ => LikePattern::Dynamic(Box::new(p)),
                };
                Kind::Like {
                    expr: Box::new(x),
                    pattern,
                    case_insensitive: *case_insensitive,
                    negated: *negated,
                }
            }
            ExprKind::IsNull { expr, negated } => Kind::IsNull {
                expr: Box::new(self.compile(expr)?),
                negated: *negated,
            },
            ExprKind::Contains {
                expr,
                pattern,
                negated,
            } => Kind::Contains {
                expr: Box::new(self.compile(expr)?),
                pattern: Box::new(self.compile(pattern)?),
                negated: *negated,
            },
            ExprKind::Match { query } => {
                if grouped {
                    return not_grouped(format!("MATCH({query:?})"));
                }
                Kind::Match(match_terms(query))
            }
        };
        Ok(fold(Node { kind, pos }, self.now))
    }

    fn column_name(&self, name: &str, pos: Pos) -> Result<Cow<'static, str>, ExecError> {
        let Some(source) = self.source else {
            return Ok(Cow::Owned(name.to_string()));
        };
        if let Some(c) = schema::column(source, name) {
            return Ok(Cow::Borrowed(c.name));
        }
        for m in ["attributes", "resource", "labels"] {
            if name.eq_ignore_ascii_case(m) {
                return Ok(Cow::Borrowed(m));
            }
        }
        Err(ExecError::UnknownColumn {
            name: name.to_string(),
            pos,
        })
    }

    /// The type of a node when it is known before evaluation.
    fn static_type(&self, n: &Node) -> Option<Type> {
        match &n.kind {
            Kind::Const(v) => Some(v.type_of()),
            Kind::Column(name) => self
                .source
                .and_then(|s| schema::column(s, name))
                .map(|c| c.ty),
            Kind::Call(ScalarFn::Bucket, args) => args.first().and_then(|a| self.static_type(a)),
            _ => None,
        }
    }

    /// A string constant compared with a timestamp is parsed once, here.
    fn coerce_pair(&self, a: &mut Node, b: &mut Node) -> Result<(), ExecError> {
        if self.static_type(a) == Some(Type::Timestamp) {
            coerce_time_const(b, self.now)?;
        }
        if self.static_type(b) == Some(Type::Timestamp) {
            coerce_time_const(a, self.now)?;
        }
        Ok(())
    }
}

fn coerce_time_const(n: &mut Node, now: i64) -> Result<(), ExecError> {
    if let Kind::Const(Value::String(s)) = &n.kind {
        let t = parse_time(s, now, n.pos)?;
        n.kind = Kind::Const(Value::Timestamp(t));
    }
    Ok(())
}

fn parse_time(s: &str, now: i64, pos: Pos) -> Result<i64, ExecError> {
    match Timestamp::parse_relative(s, Timestamp(now)) {
        Ok(t) => Ok(t.0),
        Err(e) => Err(ExecError::InvalidTimestamp {
            text: s.to_string(),
            reason: e.to_string(),
            pos,
        }),
    }
}

fn column_text(c: &ColumnRef) -> String {
    match c {
        ColumnRef::Named(n) => n.clone(),
        ColumnRef::Attribute(k) => format!("attributes.{k}"),
        ColumnRef::Resource(k) => format!("resource.{k}"),
    }
}

fn literal(l: &Literal) -> Value {
    match l {
        Literal::String(s) => Value::String(s.clone()),
        Literal::Int(i) => Value::Int(*i),
        Literal::Float(f) => Value::Float(*f),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
        Literal::Duration(d) => Value::Duration(*d),
    }
}

/// Replaces a node whose operands are all constants by its value (when evaluating it
/// succeeds; an error is left for evaluation time).
fn fold(n: Node, now: i64) -> Node {
    let foldable = match &n.kind {
        Kind::Const(_)
        | Kind::Column(_)
        | Kind::Attribute(_)
        | Kind::Resource(_)
        | Kind::Slot(_)
        | Kind::Match(_) => false,
        Kind::Neg(x) | Kind::Not(x) | Kind::IsNull { expr: x, .. } => is_const(x),
        Kind::And(a, b)
        | Kind::Or(a, b)
        | Kind::Cmp(_, a, b)
        | Kind::Arith(_, a, b)
        | Kind::Contains {
            expr: a,
            pattern: b,
            ..
        } => is_const(a) && is_const(b),
        Kind::InList { expr, list, .. } => is_const(expr) && list.iter().all(is_const),
        Kind::Between {
            expr, low, high, ..
        } => is_const(expr) && is_const(low) && is_const(high),
        Kind::Like { expr, pattern, .. } => {
            is_const(expr)
                && match pattern {
                    LikePattern::Static(_) => true,
                    LikePattern::Dynamic(p) => is_const(p),
                }
        }
        Kind::Call(_, args) => args.iter().all(is_const),
    };
    if !foldable {
        return n;
    }
    let ev = Evaluator {
        rec: &NoRecord,
        slots: &[],
        now,
    };
    match ev.eval(&n) {
        Ok(v) => Node {
            kind: Kind::Const(v),
            pos: n.pos,
        },
        Err(_) => n,
    }
}

fn is_const(n: &Node) -> bool {
    matches!(n.kind, Kind::Const(_))
}

/// A record without data: every column and attribute is `NULL`. Evaluates constant
/// expressions.
#[derive(Debug, Clone, Copy)]
pub struct NoRecord;

impl Record for NoRecord {
    fn column(&self, _: &str) -> Value {
        Value::Null
    }
    fn attribute(&self, _: &str) -> Value {
        Value::Null
    }
    fn resource(&self, _: &str) -> Value {
        Value::Null
    }
    fn text_matches(&self, _: &str) -> bool {
        false
    }
}

/// Splits a `MATCH` text into terms: double-quoted phrases and bare words.
/// The terms of a `MATCH` text: double-quoted phrases and bare words, in order.
pub fn match_terms(q: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut rest = q;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        if let Some(after) = rest.strip_prefix('"') {
            let end = after.find('"').unwrap_or(after.len());
            let phrase = after[..end].trim();
            if !phrase.is_empty() {
                terms.push(phrase.to_string());
            }
            rest = after.get(end + 1..).unwrap_or("");
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            terms.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    terms
}

fn compile_like(p: &str) -> Vec<LikeTok> {
    let mut out = Vec::with_capacity(p.len());
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => {
                if out.last() != Some(&LikeTok::Any) {
                    out.push(LikeTok::Any);
                }
            }
            '_' => out.push(LikeTok::One),
            '\\' => out.push(LikeTok::Char(chars.next().unwrap_or('\\'))),
            c => out.push(LikeTok::Char(c)),
        }
    }
    out
}

fn chars_eq(a: char, b: char, ci: bool) -> bool {
    a == b
        || (ci
            && if a.is_ascii() && b.is_ascii() {
                a.eq_ignore_ascii_case(&b)
            } else {
                a.to_lowercase().eq(b.to_lowercase())
            })
}

/// Wildcard matching with backtracking to the last `%` (linear in practice, no allocation).
fn like_match(toks: &[LikeTok], s: &str, ci: bool) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(t) = toks.get(p) {
            let next = s[i..].chars().next();
            match (t, next) {
                (LikeTok::Any, _) => {
                    p += 1;
                    star = Some((p, i));
                    continue;
                }
                (LikeTok::One, Some(c)) => {
                    p += 1;
                    i += c.len_utf8();
                    continue;
                }
                (LikeTok::Char(want), Some(c)) if chars_eq(*want, c, ci) => {
                    p += 1;
                    i += c.len_utf8();
                    continue;
                }
                _ => {}
            }
        } else if i == s.len() {
            return true;
        }
        // Mismatch: let the last `%` swallow one more character.
        let Some((sp, si)) = star else {
            return false;
        };
        let Some(c) = s[si..].chars().next() else {
            return false;
        };
        let ni = si + c.len_utf8();
        star = Some((sp, ni));
        p = sp;
        i = ni;
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------

struct Evaluator<'r, R: ?Sized> {
    rec: &'r R,
    slots: &'r [Value],
    now: i64,
}

impl<'r, R: Record + ?Sized> Evaluator<'r, R> {
    fn eval(&self, n: &Node) -> Result<Value, ExecError> {
        Ok(match &n.kind {
            Kind::Const(v) => v.clone(),
            Kind::Column(c) => self.rec.column(c),
            Kind::Attribute(k) => self.rec.attribute(k),
            Kind::Resource(k) => self.rec.resource(k),
            Kind::Slot(i) => self.slots.get(*i).cloned().unwrap_or(Value::Null),
            Kind::Neg(x) => negate(self.eval(x)?, n.pos)?,
            Kind::Not(x) => match truth(&self.eval(x)?, x.pos)? {
                Some(b) => Value::Bool(!b),
                None => Value::Null,
            },
            Kind::And(a, b) => {
                let l = truth(&self.eval(a)?, a.pos)?;
                if l == Some(false) {
                    return Ok(Value::Bool(false));
                }
                match (l, truth(&self.eval(b)?, b.pos)?) {
                    (_, Some(false)) => Value::Bool(false),
                    (Some(true), Some(true)) => Value::Bool(true),
                    _ => Value::Null,
                }
            }
            Kind::Or(a, b) => {
                let l = truth(&self.eval(a)?, a.pos)?;
                if l == Some(true) {
                    return Ok(Value::Bool(true));
                }
                match (l, truth(&self.eval(b)?, b.pos)?) {
                    (_, Some(true)) => Value::Bool(true),
                    (Some(false), Some(false)) => Value::Bool(false),
                    _ => Value::Null,
                }
            }
            Kind::Cmp(op, a, b) => {
                let o = self.compare_nodes(a, b, n.pos)?;
                o.map_or(Value::Null, |o| Value::Bool(cmp_holds(*op, o)))
            }
            Kind::Arith(op, a, b) => arith(*op, self.eval(a)?, self.eval(b)?, n.pos)?,
            Kind::InList {
                expr,
                list,
                negated,
            } => {
                let mut saw_null = false;
                let mut found = false;
                // Fast path: borrowed text against constant strings.
                if let Some(s) = self.borrowed(expr) {
                    for item in list {
                        if let Kind::Const(Value::String(c)) = &item.kind {
                            if s == c {
                                found = true;
                                break;
                            }
                        } else {
                            let v = self.eval(item)?;
                            match compare(&Value::String(s.to_string()), &v, self.now, n.pos)? {
                                Some(Ordering::Equal) => {
                                    found = true;
                                    break;
                                }
                                Some(_) => {}
                                None => saw_null = true,
                            }
                        }
                    }
                } else {
                    let x = self.eval(expr)?;
                    if x.is_null() {
                        return Ok(Value::Null);
                    }
                    for item in list {
                        let v = self.eval(item)?;
                        match compare(&x, &v, self.now, item.pos)? {
                            Some(Ordering::Equal) => {
                                found = true;
                                break;
                            }
                            Some(_) => {}
                            None => saw_null = true,
                        }
                    }
                }
                if found {
                    Value::Bool(!negated)
                } else if saw_null {
                    Value::Null
                } else {
                    Value::Bool(*negated)
                }
            }
            Kind::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let x = self.eval(expr)?;
                let lo = compare(&x, &self.eval(low)?, self.now, n.pos)?.map(Ordering::is_ge);
                let hi = compare(&x, &self.eval(high)?, self.now, n.pos)?.map(Ordering::is_le);
                let within = match (lo, hi) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                };
                within.map_or(Value::Null, |w| Value::Bool(w != *negated))
            }
            Kind::Like {
                expr,
                pattern,
                case_insensitive,
                negated,
            } => {
                let dynamic;
                let toks: &[LikeTok] = match pattern {
                    LikePattern::Static(t) => t,
                    LikePattern::Dynamic(p) => {
                        let pv = self.eval(p)?;
                        if pv.is_null() {
                            return Ok(Value::Null);
                        }
                        dynamic = compile_like(&pv.to_text());
                        &dynamic
                    }
                };
                let matched = match self.text_of(expr)? {
                    Some(s) => like_match(toks, &s, *case_insensitive),
                    None => return Ok(Value::Null),
                };
                Value::Bool(matched != *negated)
            }
            Kind::IsNull { expr, negated } => Value::Bool(self.eval(expr)?.is_null() != *negated),
            Kind::Contains {
                expr,
                pattern,
                negated,
            } => {
                let Some(needle) = self.text_of(pattern)? else {
                    return Ok(Value::Null);
                };
                let Some(hay) = self.text_of(expr)? else {
                    return Ok(Value::Null);
                };
                Value::Bool(heimsight_store::contains_ci(&hay, &needle) != *negated)
            }
            Kind::Match(terms) => Value::Bool(terms.iter().all(|t| self.rec.text_matches(t))),
            Kind::Call(f, args) => self.call(*f, args, n.pos)?,
        })
    }

    /// The text of a column, attribute or resource node without copying, when the record can
    /// lend it.
    fn borrowed(&self, n: &Node) -> Option<&'r str> {
        match &n.kind {
            Kind::Column(c) => self.rec.column_str(c),
            Kind::Attribute(k) => self.rec.attribute_str(k),
            Kind::Resource(k) => self.rec.resource_str(k),
            _ => None,
        }
    }

    /// A value as text (`None` for `NULL`), borrowed when possible.
    fn text_of<'s>(&'s self, n: &'s Node) -> Result<Option<Cow<'s, str>>, ExecError> {
        if let Some(s) = self.borrowed(n) {
            return Ok(Some(Cow::Borrowed(s)));
        }
        if let Kind::Const(Value::String(s)) = &n.kind {
            return Ok(Some(Cow::Borrowed(s)));
        }
        Ok(match self.eval(n)? {
            Value::Null => None,
            Value::String(s) => Some(Cow::Owned(s)),
            other => Some(Cow::Owned(other.to_string())),
        })
    }

    fn compare_nodes(&self, a: &Node, b: &Node, pos: Pos) -> Result<Option<Ordering>, ExecError> {
        // Fast path: borrowed text against a constant string.
        if let Kind::Const(Value::String(c)) = &b.kind
            && let Some(s) = self.borrowed(a)
        {
            return Ok(Some(s.cmp(c.as_str())));
        }
        if let Kind::Const(Value::String(c)) = &a.kind
            && let Some(s) = self.borrowed(b)
        {
            return Ok(Some(c.as_str().cmp(s)));
        }
        compare(&self.eval(a)?, &self.eval(b)?, self.now, pos)
    }

    fn call(&self, f: ScalarFn, args: &[Node], pos: Pos) -> Result<Value, ExecError> {
        if f == ScalarFn::Coalesce {
            for a in args {
                let v = self.eval(a)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            return Ok(Value::Null);
        }
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            let v = self.eval(a)?;
            if v.is_null() {
                return Ok(Value::Null);
            }
            vals.push(v);
        }
        let bad = |what: &str| ExecError::InvalidArgument {
            function: f.name().into(),
            message: what.to_string(),
            pos,
        };
        let type_err = |v: &Value| ExecError::Type {
            message: format!("{}() does not accept {}", f.name(), v.type_of()),
            pos,
        };
        let overflow = || ExecError::Overflow {
            op: format!("{}()", f.name()),
            pos,
        };
        if vals.is_empty() {
            // Only now() has no arguments.
            return Ok(Value::Timestamp(self.now));
        }
        let first = vals.remove(0);
        Ok(match f {
            ScalarFn::Now | ScalarFn::Coalesce => Value::Null,
            ScalarFn::Bucket => {
                let width = match vals.first() {
                    Some(Value::Duration(d) | Value::Int(d)) => *d,
                    Some(other) => return Err(type_err(other)),
                    None => return Err(bad("expects a width")),
                };
                if width <= 0 {
                    return Err(bad("the bucket width must be positive"));
                }
                let floor = |t: i64| t.div_euclid(width).checked_mul(width).ok_or_else(overflow);
                match first {
                    Value::Timestamp(t) => Value::Timestamp(floor(t)?),
                    Value::Int(t) => Value::Int(floor(t)?),
                    Value::Duration(t) => Value::Duration(floor(t)?),
                    other => return Err(type_err(&other)),
                }
            }
            ScalarFn::Lower => Value::String(first.to_text().to_lowercase()),
            ScalarFn::Upper => Value::String(first.to_text().to_uppercase()),
            ScalarFn::Length => {
                Value::Int(i64::try_from(first.to_text().chars().count()).unwrap_or(i64::MAX))
            }
            ScalarFn::Abs => match numeric(first) {
                Value::Int(i) => Value::Int(i.checked_abs().ok_or_else(overflow)?),
                Value::Float(x) => Value::Float(x.abs()),
                Value::Duration(d) => Value::Duration(d.checked_abs().ok_or_else(overflow)?),
                Value::Null => Value::Null,
                other => return Err(type_err(&other)),
            },
            ScalarFn::Floor | ScalarFn::Ceil => match numeric(first) {
                Value::Int(i) => Value::Int(i),
                Value::Float(x) => Value::Float(if f == ScalarFn::Floor {
                    x.floor()
                } else {
                    x.ceil()
                }),
                Value::Null => Value::Null,
                other => return Err(type_err(&other)),
            },
            ScalarFn::Round => {
                let digits = match vals.first().map(|v| numeric(v.clone())) {
                    None => 0,
                    Some(Value::Int(d)) => d,
                    Some(Value::Null) => return Ok(Value::Null),
                    Some(other) => return Err(type_err(&other)),
                };
                match numeric(first) {
                    Value::Int(i) if digits >= 0 => Value::Int(i),
                    Value::Int(i) => {
                        let p = u32::try_from(digits.unsigned_abs())
                            .ok()
                            .and_then(|e| 10i64.checked_pow(e));
                        match p {
                            // Rounding to more digits than an i64 has gives 0.
                            None => Value::Int(0),
                            Some(p) => {
                                let half = p / 2;
                                let r = if i >= 0 {
                                    i.checked_add(half).map(|x| x / p * p)
                                } else {
                                    i.checked_sub(half).map(|x| x / p * p)
                                };
                                Value::Int(r.ok_or_else(overflow)?)
                            }
                        }
                    }
                    Value::Float(x) => Value::Float(round_to(x, digits)),
                    Value::Null => Value::Null,
                    other => return Err(type_err(&other)),
                }
            }
        })
    }
}

/// `x` rounded to `digits` decimal places (negative: to tens, hundreds, …), half away from
/// zero.
fn round_to(x: f64, digits: i64) -> f64 {
    if digits == 0 {
        return x.round();
    }
    let d = digits.clamp(-400, 400) as i32;
    if d > 0 {
        let p = 10f64.powi(d);
        let r = (x * p).round() / p;
        if r.is_finite() { r } else { x }
    } else {
        let p = 10f64.powi(-d);
        (x / p).round() * p
    }
}

fn cmp_holds(op: BinaryOp, o: Ordering) -> bool {
    match op {
        BinaryOp::Eq => o.is_eq(),
        BinaryOp::NotEq => o.is_ne(),
        BinaryOp::Lt => o.is_lt(),
        BinaryOp::LtEq => o.is_le(),
        BinaryOp::Gt => o.is_gt(),
        _ => o.is_ge(),
    }
}

/// Reads text as a number: an integer if it is one, else a float; `None` when it is not a
/// number (names such as `inf` or `NaN` do not count).
pub(crate) fn parse_number(s: &str) -> Option<Value> {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(Value::Int(i));
    }
    if !t.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<f64>().ok().map(Value::Float)
}

/// Strings that read as numbers become numbers; other strings `NULL`; the rest is unchanged.
pub(crate) fn numeric(v: Value) -> Value {
    match v {
        Value::String(s) => parse_number(&s).unwrap_or(Value::Null),
        other => other,
    }
}

/// SQL comparison with the query language's coercions; `None` when either side is `NULL`.
pub(crate) fn compare(
    a: &Value,
    b: &Value,
    now: i64,
    pos: Pos,
) -> Result<Option<Ordering>, ExecError> {
    Ok(Some(match (a, b) {
        (Value::Null, _) | (_, Value::Null) => return Ok(None),
        (Value::Bool(_), Value::Bool(_))
        | (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_))
        | (Value::String(_), Value::String(_))
        | (Value::Timestamp(_), Value::Timestamp(_))
        | (Value::Duration(_), Value::Duration(_))
        | (Value::Map(_), Value::Map(_)) => a.total_cmp(b),
        (Value::Timestamp(t), Value::String(s)) => t.cmp(&parse_time(s, now, pos)?),
        (Value::String(s), Value::Timestamp(t)) => parse_time(s, now, pos)?.cmp(t),
        (Value::Timestamp(t) | Value::Duration(t), n @ (Value::Int(_) | Value::Float(_))) => {
            Value::Int(*t).total_cmp(n)
        }
        (n @ (Value::Int(_) | Value::Float(_)), Value::Timestamp(t) | Value::Duration(t)) => {
            n.total_cmp(&Value::Int(*t))
        }
        (Value::String(s), n @ (Value::Int(_) | Value::Float(_))) => match parse_number(s) {
            Some(x) => x.total_cmp(n),
            None => s.as_str().cmp(n.to_text().as_ref()),
        },
        (n @ (Value::Int(_) | Value::Float(_)), Value::String(s)) => match parse_number(s) {
            Some(x) => n.total_cmp(&x),
            None => n.to_text().as_ref().cmp(s.as_str()),
        },
        _ => a.to_text().cmp(&b.to_text()),
    }))
}

fn negate(v: Value, pos: Pos) -> Result<Value, ExecError> {
    Ok(match numeric(v) {
        Value::Null => Value::Null,
        Value::Int(i) => Value::Int(i.checked_neg().ok_or_else(|| ExecError::Overflow {
            op: "-".into(),
            pos,
        })?),
        Value::Float(x) => Value::Float(-x),
        Value::Duration(d) => {
            Value::Duration(d.checked_neg().ok_or_else(|| ExecError::Overflow {
                op: "-".into(),
                pos,
            })?)
        }
        other => {
            return Err(ExecError::Type {
                message: format!("cannot negate {}", other.type_of()),
                pos,
            });
        }
    })
}

/// `a op b` for `+ - * / %`.
pub(crate) fn arith(op: BinaryOp, a: Value, b: Value, pos: Pos) -> Result<Value, ExecError> {
    use BinaryOp::{Add, Div, Mul, Rem, Sub};
    let (a, b) = (numeric(a), numeric(b));
    let overflow = || ExecError::Overflow {
        op: op.as_str().into(),
        pos,
    };
    let int = |r: Option<i64>| r.ok_or_else(overflow);
    let zero = || ExecError::DivisionByZero { pos };
    let type_err = |a: &Value, b: &Value| ExecError::Type {
        message: if op == Rem {
            format!(
                "% needs integers, found {} and {}",
                a.type_of(),
                b.type_of()
            )
        } else {
            format!(
                "cannot apply {} to {} and {}",
                op.as_str(),
                a.type_of(),
                b.type_of()
            )
        },
        pos,
    };
    Ok(match (&a, &b) {
        (Value::Null, _) | (_, Value::Null) => Value::Null,
        (Value::Int(x), Value::Int(y)) => match op {
            Add => Value::Int(int(x.checked_add(*y))?),
            Sub => Value::Int(int(x.checked_sub(*y))?),
            Mul => Value::Int(int(x.checked_mul(*y))?),
            Div => {
                if *y == 0 {
                    return Err(zero());
                }
                Value::Float(*x as f64 / *y as f64)
            }
            Rem => {
                if *y == 0 {
                    return Err(zero());
                }
                Value::Int(int(x.checked_rem(*y))?)
            }
            _ => return Err(type_err(&a, &b)),
        },
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            match op {
                Add => Value::Float(x + y),
                Sub => Value::Float(x - y),
                Mul => Value::Float(x * y),
                Div => {
                    if y == 0.0 {
                        return Err(zero());
                    }
                    Value::Float(x / y)
                }
                _ => return Err(type_err(&a, &b)),
            }
        }
        (Value::Timestamp(t), Value::Duration(d)) => match op {
            Add => Value::Timestamp(int(t.checked_add(*d))?),
            Sub => Value::Timestamp(int(t.checked_sub(*d))?),
            _ => return Err(type_err(&a, &b)),
        },
        (Value::Duration(d), Value::Timestamp(t)) if op == Add => {
            Value::Timestamp(int(t.checked_add(*d))?)
        }
        (Value::Timestamp(x), Value::Timestamp(y)) if op == Sub => {
            Value::Duration(int(x.checked_sub(*y))?)
        }
        (Value::Duration(x), Value::Duration(y)) => match op {
            Add => Value::Duration(int(x.checked_add(*y))?),
            Sub => Value::Duration(int(x.checked_sub(*y))?),
            Div => {
                if *y == 0 {
                    return Err(zero());
                }
                Value::Float(*x as f64 / *y as f64)
            }
            _ => return Err(type_err(&a, &b)),
        },
        (Value::Duration(d), Value::Int(n)) | (Value::Int(n), Value::Duration(d)) if op == Mul => {
            Value::Duration(int(d.checked_mul(*n))?)
        }
        (Value::Duration(d), Value::Float(x)) | (Value::Float(x), Value::Duration(d))
            if op == Mul =>
        {
            Value::Duration(float_nanos(*d as f64 * x).ok_or_else(overflow)?)
        }
        (Value::Duration(d), Value::Int(n)) if op == Div => {
            if *n == 0 {
                return Err(zero());
            }
            Value::Duration(int(d.checked_div(*n))?)
        }
        (Value::Duration(d), Value::Float(x)) if op == Div => {
            if *x == 0.0 {
                return Err(zero());
            }
            Value::Duration(float_nanos(*d as f64 / x).ok_or_else(overflow)?)
        }
        _ => return Err(type_err(&a, &b)),
    })
}

/// A float number of nanoseconds rounded to an i64, `None` when out of range or not finite.
fn float_nanos(x: f64) -> Option<i64> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let r = x.round();
    (r.is_finite() && (-TWO_63..TWO_63).contains(&r)).then_some(r as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        let m = |p: &str, s: &str| like_match(&compile_like(p), s, false);
        assert!(m("%", ""));
        assert!(m("a%", "abc"));
        assert!(!m("a%", "bac"));
        assert!(m("%b%", "abc"));
        assert!(m("a_c", "abc"));
        assert!(!m("a_c", "ac"));
        assert!(m("_ö_", "xöy"));
        assert!(m("%a%a%a%", "banana and a"));
        assert!(!m("%a%a%a%a%", "banana"));
        assert!(m("100\\%", "100%"));
        assert!(!m("100\\%", "1000"));
        assert!(m("a\\_b", "a_b"));
        assert!(!m("a\\_b", "axb"));
        assert!(m("x\\", "x\\"));
        assert!(m("%%x", "x"));
        assert!(!m("", "x"));
        assert!(like_match(&compile_like("ERR%"), "error", true));
        assert!(like_match(&compile_like("%ÄRGER"), "großer ärger", true));
    }

    #[test]
    fn match_terms_split_phrases_and_words() {
        assert_eq!(
            match_terms(r#" timeout "connection refused"  db "#),
            ["timeout", "connection refused", "db"]
        );
        assert_eq!(
            match_terms(r#""unterminated phrase"#),
            ["unterminated phrase"]
        );
        assert!(match_terms("   ").is_empty());
    }

    #[test]
    fn arithmetic_rules() {
        let p = Pos::new(3, 9);
        assert_eq!(
            arith(BinaryOp::Div, Value::Int(7), Value::Int(2), p),
            Ok(Value::Float(3.5))
        );
        assert_eq!(
            arith(BinaryOp::Rem, Value::Int(7), Value::Int(0), p),
            Err(ExecError::DivisionByZero { pos: p })
        );
        assert!(matches!(
            arith(BinaryOp::Add, Value::Int(i64::MAX), Value::Int(1), p),
            Err(ExecError::Overflow { .. })
        ));
        assert!(matches!(
            arith(BinaryOp::Rem, Value::Float(7.0), Value::Int(2), p),
            Err(ExecError::Type { .. })
        ));
        assert_eq!(
            arith(BinaryOp::Mul, Value::Float(1.5), Value::Duration(10), p),
            Ok(Value::Duration(15))
        );
        assert_eq!(
            arith(BinaryOp::Add, Value::String("2".into()), Value::Int(1), p),
            Ok(Value::Int(3))
        );
        assert_eq!(
            arith(BinaryOp::Add, Value::String("x".into()), Value::Int(1), p),
            Ok(Value::Null)
        );
        assert_eq!(
            ExecError::DivisionByZero { pos: p }.to_string(),
            "division by zero at byte 3"
        );
    }

    #[test]
    fn mixed_comparisons() {
        let p = Pos::default();
        let c = |a: Value, b: Value| compare(&a, &b, 0, p);
        assert_eq!(
            c(Value::String("10".into()), Value::Int(9)),
            Ok(Some(Ordering::Greater))
        );
        assert_eq!(
            c(Value::String("abc".into()), Value::Int(9)),
            Ok(Some(Ordering::Greater))
        );
        assert_eq!(
            c(
                Value::Timestamp(1_000_000_000),
                Value::String("1970-01-01T00:00:01Z".into())
            ),
            Ok(Some(Ordering::Equal))
        );
        assert!(c(Value::Timestamp(0), Value::String("soon".into())).is_err());
        assert_eq!(
            c(Value::Duration(5), Value::Int(5)),
            Ok(Some(Ordering::Equal))
        );
        assert_eq!(
            c(Value::Bool(true), Value::String("true".into())),
            Ok(Some(Ordering::Equal))
        );
        assert_eq!(c(Value::Null, Value::Int(1)), Ok(None));
    }
}
