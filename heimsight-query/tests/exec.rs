//! Executor tests: hand-built checked queries over a small fixed data set.

use std::time::{Duration, Instant};

use heimsight_core::{
    AttributeValue, Attributes, Labels, Level, LogRecord, MetricPoint, SpanId, SpanKind, Status,
    StatusCode, Timestamp, TraceId,
};
use heimsight_query::ast::{
    BinaryOp, Checked, ColumnRef, Expr, ExprKind, Ident, Literal, OrderItem, OutputColumn, Pos,
    Select, SelectItem, Source, Statement, UnaryOp,
};
use heimsight_query::schema::Type;
use heimsight_query::{ExecContext, ExecError, MetricRow, ResultSet, Value, execute};
use heimsight_store::{Point, Series};

// ---------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------

/// 2026-11-26T00:00:00Z.
const T0: i64 = 1_795_651_200_000_000_000;
const SEC: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;

fn attrs(pairs: &[(&str, AttributeValue)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

const TRACE_A: TraceId = TraceId([0xaa; 16]);
const TRACE_B: TraceId = TraceId([0xbb; 16]);

fn hex_a() -> String {
    "aa".repeat(16)
}

/// Twelve logs, ten seconds apart.
fn logs() -> Vec<LogRecord> {
    use AttributeValue as A;
    let rows: Vec<(&str, Level, &str, Attributes, Option<TraceId>)> = vec![
        (
            "api",
            Level::Info,
            "GET /users 200",
            attrs(&[
                ("http.method", A::from("GET")),
                ("http.status_code", A::Int(200)),
                ("user", A::from("alice")),
            ]),
            Some(TRACE_A),
        ),
        (
            "api",
            Level::Error,
            "connection refused by db",
            attrs(&[
                ("http.method", A::from("POST")),
                ("http.status_code", A::Int(500)),
            ]),
            Some(TRACE_A),
        ),
        (
            "db",
            Level::Warn,
            "slow query took 2.5s",
            attrs(&[("rows", A::Int(1500))]),
            None,
        ),
        (
            "web",
            Level::Info,
            "page rendered",
            attrs(&[("duration_ms", A::Double(12.5))]),
            None,
        ),
        (
            "api",
            Level::Debug,
            "cache miss for key user:42",
            attrs(&[]),
            None,
        ),
        (
            "db",
            Level::Error,
            "Connection refused: too many clients",
            attrs(&[("rows", A::from("12"))]),
            Some(TRACE_B),
        ),
        ("web", Level::Warn, "100% cpu on worker_1", attrs(&[]), None),
        (
            "api",
            Level::Info,
            "GET /orders 200",
            attrs(&[
                ("http.method", A::from("GET")),
                ("http.status_code", A::Int(200)),
            ]),
            Some(TRACE_B),
        ),
        (
            "auth",
            Level::Fatal,
            "token store unavailable",
            attrs(&[]),
            None,
        ),
        (
            "auth",
            Level::Info,
            "login ok for alice",
            attrs(&[("user", A::from("alice"))]),
            None,
        ),
        (
            "web",
            Level::Error,
            "upstream timeout after 30s",
            attrs(&[("http.status_code", A::Int(504))]),
            Some(TRACE_A),
        ),
        (
            "db",
            Level::Info,
            "vacuum done",
            attrs(&[("rows", A::Int(0))]),
            None,
        ),
    ];
    rows.into_iter()
        .enumerate()
        .map(|(i, (service, level, msg, attributes, trace))| {
            let host = match service {
                "api" | "web" => "h1",
                "db" => "h2",
                _ => "h3",
            };
            LogRecord {
                service: service.into(),
                attributes,
                resource: attrs(&[("host.name", AttributeValue::from(host))]).into(),
                trace_id: trace,
                span_id: trace.map(|_| SpanId([i as u8 + 1; 8])),
                ..LogRecord::new(Timestamp(T0 + i as i64 * 10 * SEC), level, msg)
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn span(
    trace: TraceId,
    id: u8,
    parent: Option<u8>,
    service: &str,
    name: &str,
    start_ms: i64,
    dur_ms: i64,
    kind: SpanKind,
    status: (StatusCode, &str),
) -> heimsight_core::Span {
    heimsight_core::Span {
        trace_id: trace,
        span_id: SpanId([id; 8]),
        parent_span_id: parent.map(|p| SpanId([p; 8])),
        name: name.into(),
        kind,
        service: service.into(),
        start_time: Timestamp(T0 + start_ms * MS),
        end_time: Timestamp(T0 + (start_ms + dur_ms) * MS),
        status: Status {
            code: status.0,
            message: status.1.into(),
        },
        attributes: Attributes::new(),
        resource: Attributes::new().into(),
        scope: Default::default(),
        events: Vec::new(),
        links: Vec::new(),
        trace_state: String::new(),
        flags: 0,
        dropped_attributes_count: 0,
        dropped_events_count: 0,
        dropped_links_count: 0,
    }
}

/// Two traces, six spans; durations 120, 80, 70, 300, 200 and 5 ms.
fn spans() -> Vec<heimsight_core::Span> {
    use SpanKind::*;
    vec![
        span(
            TRACE_A,
            1,
            None,
            "api",
            "GET /users",
            0,
            120,
            Server,
            (StatusCode::Ok, ""),
        ),
        span(
            TRACE_A,
            2,
            Some(1),
            "api",
            "SELECT users",
            10,
            80,
            Client,
            (StatusCode::Ok, ""),
        ),
        span(
            TRACE_A,
            3,
            Some(2),
            "db",
            "query",
            15,
            70,
            Server,
            (StatusCode::Error, "deadlock detected"),
        ),
        span(
            TRACE_B,
            4,
            None,
            "web",
            "GET /orders",
            1000,
            300,
            Server,
            (StatusCode::Unset, ""),
        ),
        span(
            TRACE_B,
            5,
            Some(4),
            "api",
            "list orders",
            1050,
            200,
            Internal,
            (StatusCode::Ok, ""),
        ),
        span(
            TRACE_B,
            6,
            Some(5),
            "api",
            "cache lookup",
            1060,
            5,
            Client,
            (StatusCode::Error, "miss"),
        ),
    ]
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Two counter series (one with a reset) and a gauge, as (series, points).
fn metrics() -> Vec<(Series, Vec<Point>)> {
    let mk = |name: &str, l: Labels, counter: bool, pts: &[(i64, f64)]| {
        let points: Vec<MetricPoint> = pts
            .iter()
            .map(|(s, v)| {
                let ts = Timestamp(T0 + s * SEC);
                if counter {
                    MetricPoint::counter(name, l.clone(), ts, *v)
                } else {
                    MetricPoint::gauge(name, l.clone(), ts, *v)
                }
            })
            .collect();
        (
            Series::of(&points[0]),
            points.iter().map(Point::of).collect::<Vec<_>>(),
        )
    };
    vec![
        mk(
            "http_requests_total",
            labels(&[("service.name", "api"), ("code", "200")]),
            true,
            // 10 → 20 → 35 → 5 (reset) → 15: increase 10 + 15 + 5 + 10 = 40.
            &[(0, 10.0), (15, 20.0), (30, 35.0), (45, 5.0), (60, 15.0)],
        ),
        mk(
            "http_requests_total",
            labels(&[("service.name", "api"), ("code", "500")]),
            true,
            &[(0, 1.0), (30, 3.0), (60, 4.0)],
        ),
        mk(
            "cpu",
            labels(&[("service.name", "db")]),
            false,
            &[(0, 0.5), (20, 0.7), (40, 0.6)],
        ),
    ]
}

fn metric_rows(m: &[(Series, Vec<Point>)]) -> Vec<MetricRow<'_>> {
    m.iter()
        .flat_map(|(s, pts)| pts.iter().map(move |p| MetricRow::new(s, p)))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Expression and query builders
// ---------------------------------------------------------------------------------------

fn p() -> Pos {
    Pos::default()
}
fn e(kind: ExprKind) -> Expr {
    Expr::new(kind, p())
}
fn col(name: &str) -> Expr {
    e(ExprKind::Column(ColumnRef::Named(name.into())))
}
fn attr(key: &str) -> Expr {
    e(ExprKind::Column(ColumnRef::Attribute(key.into())))
}
fn res(key: &str) -> Expr {
    e(ExprKind::Column(ColumnRef::Resource(key.into())))
}
fn s(v: &str) -> Expr {
    e(ExprKind::Literal(Literal::String(v.into())))
}
fn i(v: i64) -> Expr {
    e(ExprKind::Literal(Literal::Int(v)))
}
fn f(v: f64) -> Expr {
    e(ExprKind::Literal(Literal::Float(v)))
}
fn null() -> Expr {
    e(ExprKind::Literal(Literal::Null))
}
fn dur(ns: i64) -> Expr {
    e(ExprKind::Literal(Literal::Duration(ns)))
}
fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
    e(ExprKind::Binary {
        op,
        left: Box::new(l),
        right: Box::new(r),
    })
}
fn eq(l: Expr, r: Expr) -> Expr {
    bin(BinaryOp::Eq, l, r)
}
fn and(l: Expr, r: Expr) -> Expr {
    bin(BinaryOp::And, l, r)
}
fn or(l: Expr, r: Expr) -> Expr {
    bin(BinaryOp::Or, l, r)
}
fn not(x: Expr) -> Expr {
    e(ExprKind::Unary {
        op: UnaryOp::Not,
        expr: Box::new(x),
    })
}
fn call(name: &str, args: Vec<Expr>) -> Expr {
    e(ExprKind::Function {
        name: Ident {
            name: name.into(),
            pos: p(),
        },
        args,
        star: false,
        distinct: false,
    })
}
fn count_star() -> Expr {
    e(ExprKind::Function {
        name: Ident {
            name: "count".into(),
            pos: p(),
        },
        args: vec![],
        star: true,
        distinct: false,
    })
}
fn count_distinct(x: Expr) -> Expr {
    e(ExprKind::Function {
        name: Ident {
            name: "count".into(),
            pos: p(),
        },
        args: vec![x],
        star: false,
        distinct: true,
    })
}
fn in_list(x: Expr, list: Vec<Expr>, negated: bool) -> Expr {
    e(ExprKind::InList {
        expr: Box::new(x),
        list,
        negated,
    })
}
fn between(x: Expr, lo: Expr, hi: Expr, negated: bool) -> Expr {
    e(ExprKind::Between {
        expr: Box::new(x),
        low: Box::new(lo),
        high: Box::new(hi),
        negated,
    })
}
fn like(x: Expr, pattern: &str, case_insensitive: bool, negated: bool) -> Expr {
    e(ExprKind::Like {
        expr: Box::new(x),
        pattern: Box::new(s(pattern)),
        case_insensitive,
        negated,
    })
}
fn is_null(x: Expr, negated: bool) -> Expr {
    e(ExprKind::IsNull {
        expr: Box::new(x),
        negated,
    })
}
fn contains(x: Expr, text: &str, negated: bool) -> Expr {
    e(ExprKind::Contains {
        expr: Box::new(x),
        pattern: Box::new(s(text)),
        negated,
    })
}
fn matches(q: &str) -> Expr {
    e(ExprKind::Match { query: q.into() })
}

/// A `Checked` under construction.
struct Q {
    select: Select,
    aggregate: bool,
}

fn from(source: Source) -> Q {
    Q {
        select: Select {
            items: Vec::new(),
            from: source,
            from_pos: p(),
            filter: None,
            group_by: Vec::new(),
            having: None,
            order_by: Vec::new(),
            limit: None,
            offset: None,
            pos: p(),
        },
        aggregate: false,
    }
}

impl Q {
    fn select(mut self, items: Vec<Expr>) -> Q {
        self.select.items = items
            .into_iter()
            .map(|expr| SelectItem::Expr { expr, alias: None })
            .collect();
        self
    }
    fn wildcard(mut self) -> Q {
        self.select.items = vec![SelectItem::Wildcard(p())];
        self
    }
    fn filter(mut self, x: Expr) -> Q {
        self.select.filter = Some(x);
        self
    }
    fn group_by(mut self, g: Vec<Expr>) -> Q {
        self.select.group_by = g;
        self.aggregate = true;
        self
    }
    fn aggregate(mut self) -> Q {
        self.aggregate = true;
        self
    }
    fn having(mut self, h: Expr) -> Q {
        self.select.having = Some(h);
        self
    }
    fn order_by(mut self, keys: Vec<(Expr, bool)>) -> Q {
        self.select.order_by = keys
            .into_iter()
            .map(|(expr, descending)| OrderItem { expr, descending })
            .collect();
        self
    }
    fn limit(mut self, n: u64) -> Q {
        self.select.limit = Some(n);
        self
    }
    fn offset(mut self, n: u64) -> Q {
        self.select.offset = Some(n);
        self
    }
    fn build(self) -> Checked {
        let columns = self
            .select
            .items
            .iter()
            .enumerate()
            .map(|(n, _)| OutputColumn {
                name: format!("c{n}"),
                ty: Type::Any,
            })
            .collect();
        Checked {
            statement: Statement {
                explain: false,
                select: self.select,
            },
            columns,
            aggregate: self.aggregate,
        }
    }
}

fn ctx() -> ExecContext {
    ExecContext::new(
        Timestamp(T0 + 3600 * SEC),
        Timestamp(T0),
        Timestamp(T0 + 60 * SEC),
    )
}

fn run_logs(q: Q) -> Result<ResultSet, ExecError> {
    execute(&q.build(), logs().iter(), &ctx())
}

fn run_spans(q: Q) -> Result<ResultSet, ExecError> {
    execute(&q.build(), spans().iter(), &ctx())
}

fn run_metrics(q: Q) -> Result<ResultSet, ExecError> {
    let m = metrics();
    execute(&q.build(), metric_rows(&m).into_iter(), &ctx())
}

/// Indices (by message) of the logs a filter keeps, in input order.
fn log_filter(x: Expr) -> Vec<usize> {
    let all = logs();
    let r = run_logs(from(Source::Logs).select(vec![col("message")]).filter(x)).expect("runs");
    r.rows
        .iter()
        .map(|row| {
            all.iter()
                .position(|l| Value::String(l.body.clone()) == row[0])
                .expect("known message")
        })
        .collect()
}

fn span_names(x: Expr) -> Vec<String> {
    let r = run_spans(from(Source::Spans).select(vec![col("name")]).filter(x)).expect("runs");
    r.rows
        .iter()
        .map(|row| row[0].as_str().expect("text").to_string())
        .collect()
}

fn ts(offset_secs: i64) -> Value {
    Value::Timestamp(T0 + offset_secs * SEC)
}
fn vs(x: &str) -> Value {
    Value::String(x.into())
}

// ---------------------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------------------

#[test]
fn equality_and_comparison_filters() {
    assert_eq!(log_filter(eq(col("service"), s("api"))), [0, 1, 4, 7]);
    assert_eq!(log_filter(eq(col("level"), s("error"))), [1, 5, 10]);
    assert_eq!(
        log_filter(bin(BinaryOp::NotEq, col("service"), s("api"))),
        [2, 3, 5, 6, 8, 9, 10, 11]
    );
    assert_eq!(
        log_filter(bin(BinaryOp::GtEq, attr("http.status_code"), i(500))),
        [1, 10]
    );
    assert_eq!(log_filter(bin(BinaryOp::Gt, col("severity"), i(17))), [8]);
    // A float attribute against an integer.
    assert_eq!(
        log_filter(bin(BinaryOp::Gt, attr("duration_ms"), i(10))),
        [3]
    );
    // Text that reads as a number compares as a number ("12" < 100).
    assert_eq!(log_filter(bin(BinaryOp::Lt, attr("rows"), i(100))), [5, 11]);
    assert_eq!(log_filter(bin(BinaryOp::Gt, attr("rows"), f(100.5))), [2]);
    // Resource attributes.
    assert_eq!(log_filter(eq(res("host.name"), s("h3"))), [8, 9]);
    // Timestamps against RFC 3339 text, relative text and integers (nanoseconds).
    assert_eq!(
        log_filter(bin(
            BinaryOp::Gt,
            col("timestamp"),
            s("2026-11-26T00:01:30Z")
        )),
        [10, 11]
    );
    assert_eq!(
        log_filter(bin(BinaryOp::Lt, col("ts"), s("now-59m50s"))),
        [0],
        "aliases resolve; now is T0 + 1h"
    );
    assert_eq!(
        log_filter(bin(BinaryOp::LtEq, col("timestamp"), i(T0 + 10 * SEC))),
        [0, 1]
    );
    assert_eq!(log_filter(eq(col("trace_id"), s(&hex_a()))), [0, 1, 10]);
}

#[test]
fn null_semantics() {
    // Comparisons with NULL are unknown: never true.
    assert!(log_filter(eq(col("trace_id"), null())).is_empty());
    assert!(log_filter(bin(BinaryOp::NotEq, col("trace_id"), null())).is_empty());
    assert_eq!(
        log_filter(is_null(col("trace_id"), false)),
        [2, 3, 4, 6, 8, 9, 11]
    );
    assert_eq!(log_filter(is_null(col("trace_id"), true)), [0, 1, 5, 7, 10]);
    // A missing attribute is NULL: neither = nor != holds, and NOT keeps it unknown.
    assert_eq!(log_filter(eq(attr("user"), s("alice"))), [0, 9]);
    assert!(log_filter(bin(BinaryOp::NotEq, attr("user"), s("alice"))).is_empty());
    assert!(log_filter(not(eq(attr("user"), s("alice")))).is_empty());
    // NULL OR true is true; NULL AND false is false; NULL AND true is unknown.
    assert_eq!(
        log_filter(or(
            eq(attr("user"), s("alice")),
            eq(col("level"), s("fatal"))
        )),
        [0, 8, 9]
    );
    assert_eq!(
        log_filter(not(and(
            eq(attr("user"), s("bob")),
            eq(col("service"), s("nope"))
        ))),
        (0..12).collect::<Vec<_>>()
    );
    assert!(log_filter(and(eq(attr("user"), s("alice")), eq(attr("nope"), i(1)))).is_empty());
    // Arithmetic with NULL is NULL.
    assert!(log_filter(is_null(bin(BinaryOp::Add, attr("rows"), i(1)), true)) == [2, 5, 11]);
}

#[test]
fn in_between_like_contains() {
    assert_eq!(
        log_filter(in_list(col("level"), vec![s("error"), s("fatal")], false)),
        [1, 5, 8, 10]
    );
    assert_eq!(
        log_filter(in_list(
            col("service"),
            vec![s("api"), s("db"), s("web")],
            true
        )),
        [8, 9]
    );
    // x NOT IN (.., NULL) is never true; x IN (NULL, match) is true for the match.
    assert!(log_filter(in_list(col("service"), vec![s("api"), null()], true)).is_empty());
    assert_eq!(
        log_filter(in_list(col("service"), vec![null(), s("auth")], false)),
        [8, 9]
    );
    assert_eq!(
        log_filter(in_list(
            attr("http.status_code"),
            vec![i(500), i(504)],
            false
        )),
        [1, 10]
    );
    // BETWEEN is inclusive at both ends.
    assert_eq!(
        log_filter(between(
            col("timestamp"),
            s("2026-11-26T00:00:10Z"),
            s("2026-11-26T00:00:30Z"),
            false
        )),
        [1, 2, 3]
    );
    assert_eq!(
        log_filter(between(col("severity"), i(10), i(20), true)),
        [0, 3, 4, 7, 8, 9, 11]
    );
    // LIKE.
    assert_eq!(
        log_filter(like(col("message"), "GET %", false, false)),
        [0, 7]
    );
    assert_eq!(
        log_filter(like(col("message"), "%refused%", false, false)),
        [1, 5]
    );
    assert_eq!(
        log_filter(like(col("message"), "connection%", false, false)),
        [1]
    );
    assert_eq!(
        log_filter(like(col("message"), "connection%", true, false)),
        [1, 5]
    );
    assert_eq!(
        log_filter(like(col("message"), "100\\% cpu%", false, false)),
        [6]
    );
    assert_eq!(log_filter(like(col("message"), "%\\_1", false, false)), [6]);
    assert_eq!(
        log_filter(like(col("message"), "page _endered", false, false)),
        [3]
    );
    assert_eq!(
        log_filter(like(col("message"), "page _ndered", false, false)),
        [0usize; 0]
    );
    assert_eq!(
        log_filter(like(col("message"), "%", false, false)).len(),
        12
    );
    assert_eq!(log_filter(like(col("message"), "%o%", false, true)), [0, 3]);
    // LIKE on a missing attribute is unknown, so NOT LIKE does not keep it either.
    assert_eq!(
        log_filter(like(attr("user"), "al%", false, true)),
        [0usize; 0]
    );
    // LIKE on a number compares its text.
    assert_eq!(
        log_filter(like(attr("http.status_code"), "50_", false, false)),
        [1, 10]
    );
    // CONTAINS is case-insensitive.
    assert_eq!(
        log_filter(contains(col("message"), "REFUSED", false)),
        [1, 5]
    );
    assert_eq!(log_filter(contains(col("message"), "O", true)), [0, 3]);
}

#[test]
fn full_text_match() {
    assert_eq!(log_filter(matches("connection refused")), [1, 5]);
    assert_eq!(log_filter(matches("refused connection")), [1, 5]);
    assert_eq!(log_filter(matches("\"refused connection\"")), [0usize; 0]);
    assert_eq!(log_filter(matches("\"connection refused\" db")), [1]);
    // Case-insensitive, and attribute values count: record 0 has `user = alice`, record 9
    // says "alice" in its message.
    assert_eq!(log_filter(matches("ALICE")), [0, 9]);
    // Tokens are whole words: "user" does not match "users".
    assert_eq!(log_filter(matches("user")), [4]);
    assert_eq!(span_names(matches("deadlock")), ["query"]);
    assert_eq!(
        span_names(matches("orders")),
        ["GET /orders", "list orders"]
    );
}

#[test]
fn span_filters_and_time_arithmetic() {
    assert_eq!(
        span_names(bin(BinaryOp::Gt, col("duration"), dur(100 * MS))),
        ["GET /users", "GET /orders", "list orders"]
    );
    assert_eq!(
        span_names(eq(
            col("is_root"),
            e(ExprKind::Literal(Literal::Bool(true)))
        )),
        ["GET /users", "GET /orders"]
    );
    assert_eq!(
        span_names(is_null(col("parent_id"), false)),
        ["GET /users", "GET /orders"]
    );
    assert_eq!(
        span_names(and(
            eq(col("status"), s("error")),
            eq(col("kind"), s("client"))
        )),
        ["cache lookup"]
    );
    // end - start = duration for every span.
    assert_eq!(
        span_names(eq(
            bin(BinaryOp::Sub, col("end_time"), col("timestamp")),
            col("duration")
        ))
        .len(),
        6
    );
    // Durations compare with integers as nanoseconds.
    assert_eq!(
        span_names(bin(BinaryOp::Lt, col("duration"), i(10 * MS))),
        ["cache lookup"]
    );
    let r = run_spans(
        from(Source::Spans)
            .select(vec![
                bin(BinaryOp::Add, col("timestamp"), dur(SEC)),
                bin(BinaryOp::Sub, col("end_time"), col("timestamp")),
                bin(BinaryOp::Mul, col("duration"), i(2)),
                bin(BinaryOp::Div, col("duration"), f(4.0)),
                bin(BinaryOp::Div, col("duration"), dur(10 * MS)),
                call("bucket", vec![col("timestamp"), dur(SEC)]),
                bin(BinaryOp::Sub, call("now", vec![]), col("timestamp")),
                bin(BinaryOp::Sub, col("timestamp"), dur(3)),
            ])
            .filter(eq(col("name"), s("GET /orders"))),
    )
    .expect("runs");
    assert_eq!(
        r.rows,
        [vec![
            Value::Timestamp(T0 + 2 * SEC),
            Value::Duration(300 * MS),
            Value::Duration(600 * MS),
            Value::Duration(75 * MS),
            Value::Float(30.0),
            Value::Timestamp(T0 + SEC),
            Value::Duration(3600 * SEC - SEC),
            Value::Timestamp(T0 + SEC - 3),
        ]]
    );
}

#[test]
fn scalar_functions_and_arithmetic() {
    let r = run_logs(
        from(Source::Logs)
            .select(vec![
                call("upper", vec![col("service")]),
                call("lower", vec![s("ÄB")]),
                call("length", vec![s("größe")]),
                call("abs", vec![bin(BinaryOp::Sub, i(3), col("severity"))]),
                call("round", vec![f(2.5)]),
                call("round", vec![f(1.23456), i(2)]),
                call("round", vec![i(1251), i(-2)]),
                call("floor", vec![f(-1.5)]),
                call("ceil", vec![f(-1.5)]),
                call("coalesce", vec![attr("user"), attr("http.method"), s("-")]),
                bin(BinaryOp::Div, col("severity"), i(2)),
                bin(BinaryOp::Rem, col("severity"), i(4)),
                bin(BinaryOp::Add, col("severity"), f(0.5)),
                e(ExprKind::Unary {
                    op: UnaryOp::Neg,
                    expr: Box::new(col("severity")),
                }),
                call("bucket", vec![i(-7), i(5)]),
            ])
            .filter(eq(col("level"), s("error")))
            .limit(2),
    )
    .expect("runs");
    assert_eq!(
        r.rows[0],
        vec![
            vs("API"),
            vs("äb"),
            Value::Int(5),
            Value::Int(14),
            Value::Float(3.0),
            Value::Float(1.23),
            Value::Int(1300),
            Value::Float(-2.0),
            Value::Float(-1.0),
            vs("POST"),
            Value::Float(8.5),
            Value::Int(1),
            Value::Float(17.5),
            Value::Int(-17),
            Value::Int(-10),
        ]
    );
    assert_eq!(r.rows[1][9], vs("-"));
    // bucket() floors negative timestamps downwards.
    let r = run_logs(
        from(Source::Logs)
            .select(vec![call(
                "bucket",
                vec![
                    bin(BinaryOp::Sub, col("timestamp"), dur(T0 + 5 * SEC)),
                    dur(60 * SEC),
                ],
            )])
            .limit(1),
    )
    .expect("runs");
    assert_eq!(r.rows, [vec![Value::Timestamp(-60 * SEC)]]);
}

#[test]
fn division_by_zero_names_the_position() {
    let div = Expr::new(
        ExprKind::Binary {
            op: BinaryOp::Div,
            left: Box::new(col("severity")),
            right: Box::new(bin(BinaryOp::Sub, col("severity"), col("severity"))),
        },
        Pos::new(23, 54),
    );
    let err = run_logs(from(Source::Logs).select(vec![div])).expect_err("fails");
    assert_eq!(
        err,
        ExecError::DivisionByZero {
            pos: Pos::new(23, 54)
        }
    );
    assert_eq!(err.to_string(), "division by zero at byte 23");
    let rem = Expr::new(
        ExprKind::Binary {
            op: BinaryOp::Rem,
            left: Box::new(col("severity")),
            right: Box::new(i(0)),
        },
        Pos::new(7, 19),
    );
    let err = run_logs(
        from(Source::Logs)
            .filter(eq(rem, i(1)))
            .select(vec![col("level")]),
    )
    .expect_err("fails");
    assert_eq!(err.to_string(), "division by zero at byte 7");
    let err = run_logs(from(Source::Logs).select(vec![bin(BinaryOp::Div, f(1.0), f(0.0))]))
        .expect_err("float division by zero is an error too");
    assert!(matches!(err, ExecError::DivisionByZero { .. }));
}

#[test]
fn overflow_and_type_errors() {
    let err =
        run_logs(from(Source::Logs).select(vec![bin(BinaryOp::Mul, col("severity"), i(i64::MAX))]))
            .expect_err("overflows");
    assert!(matches!(err, ExecError::Overflow { .. }), "{err}");
    assert!(err.to_string().contains("overflow"), "{err}");
    let err =
        run_logs(from(Source::Logs).select(vec![bin(BinaryOp::Rem, f(1.5), col("severity"))]))
            .expect_err("% needs integers");
    assert!(err.to_string().contains("% needs integers"), "{err}");
    let err = run_logs(from(Source::Logs).select(vec![bin(
        BinaryOp::Add,
        col("timestamp"),
        col("timestamp"),
    )]))
    .expect_err("timestamps do not add");
    assert!(
        err.to_string()
            .contains("cannot apply + to timestamp and timestamp"),
        "{err}"
    );
    let err = run_logs(from(Source::Logs).select(vec![col("message")]).filter(bin(
        BinaryOp::Gt,
        col("timestamp"),
        s("yesterday"),
    )))
    .expect_err("bad time");
    assert!(matches!(err, ExecError::InvalidTimestamp { .. }), "{err}");
    let err = run_logs(from(Source::Logs).select(vec![col("no_such")])).expect_err("unknown");
    assert!(matches!(err, ExecError::UnknownColumn { .. }), "{err}");
    let err = run_logs(from(Source::Logs).select(vec![call("frobnicate", vec![])]))
        .expect_err("unknown function");
    assert!(matches!(err, ExecError::UnknownFunction { .. }), "{err}");
}

#[test]
fn unresolved_subquery_is_an_error() {
    let sub = from(Source::Spans).select(vec![col("trace_id")]).select;
    let x = e(ExprKind::InSubquery {
        expr: Box::new(col("trace_id")),
        query: Box::new(sub),
        negated: false,
    });
    let err =
        run_logs(from(Source::Logs).select(vec![col("message")]).filter(x)).expect_err("fails");
    assert!(matches!(err, ExecError::UnresolvedSubquery { .. }), "{err}");
}

// ---------------------------------------------------------------------------------------
// Projection, ordering, paging
// ---------------------------------------------------------------------------------------

#[test]
fn wildcard_and_json() {
    let r = run_logs(from(Source::Logs).wildcard().limit(1)).expect("runs");
    assert_eq!(
        r.rows[0],
        vec![
            ts(0),
            vs("info"),
            vs("api"),
            vs("GET /users 200"),
            vs(&hex_a()),
            vs("0101010101010101"),
            Value::Map(vec![
                ("http.method".into(), vs("GET")),
                ("http.status_code".into(), Value::Int(200)),
                ("user".into(), vs("alice")),
            ]),
            Value::Map(vec![("host.name".into(), vs("h1"))]),
        ]
    );
    let json = r.to_json();
    assert_eq!(json["rows"][0][0], "2026-11-26T00:00:00.000000000Z");
    assert_eq!(json["rows"][0][6]["http.status_code"], 200);
    assert_eq!(json["truncated"], false);
    assert_eq!(json["rows_scanned"], 1);
}

#[test]
fn order_by_several_keys_with_nulls() {
    let q = |desc: bool| {
        run_logs(
            from(Source::Logs)
                .select(vec![col("message")])
                .order_by(vec![(col("trace_id"), desc), (col("timestamp"), true)]),
        )
        .expect("runs")
        .rows
        .iter()
        .map(|r| {
            logs()
                .iter()
                .position(|l| vs(&l.body) == r[0])
                .expect("known")
        })
        .collect::<Vec<_>>()
    };
    // ASC: NULLs last; trace aa… before bb…; newest first within a trace.
    assert_eq!(q(false), [10, 1, 0, 7, 5, 11, 9, 8, 6, 4, 3, 2]);
    // DESC: NULLs first.
    assert_eq!(q(true), [11, 9, 8, 6, 4, 3, 2, 7, 5, 10, 1, 0]);
}

#[test]
fn limit_and_offset() {
    let r = run_logs(
        from(Source::Logs)
            .select(vec![col("timestamp")])
            .order_by(vec![(col("timestamp"), false)])
            .limit(3)
            .offset(2),
    )
    .expect("runs");
    assert_eq!(r.rows, [vec![ts(20)], vec![ts(30)], vec![ts(40)]]);
    assert_eq!(r.rows_scanned, 12);
    assert!(!r.truncated);

    // Without ORDER BY the scan stops as soon as offset + limit rows passed.
    let r = run_logs(
        from(Source::Logs)
            .select(vec![col("message")])
            .filter(eq(col("service"), s("api")))
            .limit(2)
            .offset(1),
    )
    .expect("runs");
    assert_eq!(
        r.rows,
        [
            vec![vs("connection refused by db")],
            vec![vs("cache miss for key user:42")]
        ]
    );
    assert_eq!(r.rows_scanned, 5);

    // Offset past the end; LIMIT 0.
    let r = run_logs(from(Source::Logs).select(vec![col("level")]).offset(50)).expect("runs");
    assert!(r.rows.is_empty() && !r.truncated);
    let r = run_logs(from(Source::Logs).select(vec![col("level")]).limit(0)).expect("runs");
    assert!(r.rows.is_empty());
    assert_eq!(r.rows_scanned, 0);
}

#[test]
fn max_rows_truncates() {
    let mut c = ctx();
    c.max_rows = 5;
    let plain = from(Source::Logs).select(vec![col("severity")]).build();
    let r = execute(&plain, logs().iter(), &c).expect("runs");
    assert_eq!(r.rows.len(), 5);
    assert!(r.truncated);
    assert_eq!(
        r.rows_scanned, 6,
        "one row past the cap tells it was truncated"
    );

    let sorted = from(Source::Logs)
        .select(vec![col("severity")])
        .order_by(vec![(col("severity"), true)])
        .build();
    let r = execute(&sorted, logs().iter(), &c).expect("runs");
    assert_eq!(
        r.rows,
        [[21], [17], [17], [17], [13]].map(|[x]| vec![Value::Int(x)])
    );
    assert!(r.truncated);

    // A LIMIT within max_rows is not truncation; one beyond it is.
    let limited = from(Source::Logs)
        .select(vec![col("severity")])
        .limit(3)
        .build();
    let r = execute(&limited, logs().iter(), &c).expect("runs");
    assert_eq!((r.rows.len(), r.truncated), (3, false));
    let too_much = from(Source::Logs)
        .select(vec![col("severity")])
        .limit(10)
        .build();
    let r = execute(&too_much, logs().iter(), &c).expect("runs");
    assert_eq!((r.rows.len(), r.truncated), (5, true));
    // Exactly max_rows rows: not truncated.
    let five = from(Source::Logs)
        .select(vec![col("severity")])
        .filter(bin(BinaryOp::Lt, col("timestamp"), i(T0 + 50 * SEC)))
        .build();
    let r = execute(&five, logs().iter(), &c).expect("runs");
    assert_eq!((r.rows.len(), r.truncated), (5, false));

    // Aggregates too.
    let groups = from(Source::Logs)
        .select(vec![col("timestamp")])
        .group_by(vec![col("timestamp")])
        .build();
    let r = execute(&groups, logs().iter(), &c).expect("runs");
    assert_eq!((r.rows.len(), r.truncated), (5, true));
}

/// splitmix64: a tiny seeded generator, enough for property-style loops.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn top_k_equals_full_sort() {
    let mut rng = Rng(42);
    // A bigger data set with many ties and NULLs.
    let base = logs();
    let many: Vec<LogRecord> = (0..300)
        .map(|n| {
            let mut l = base[rng.below(12) as usize].clone();
            l.timestamp = Timestamp(T0 + rng.below(40) as i64 * SEC);
            l.body = format!("row {n}");
            l
        })
        .collect();
    let keys: Vec<Vec<(Expr, bool)>> = vec![
        vec![(col("timestamp"), false)],
        vec![(col("service"), false), (col("timestamp"), true)],
        vec![(col("trace_id"), true), (col("level"), false)],
        vec![(attr("http.status_code"), false)],
        vec![
            (col("severity"), true),
            (attr("user"), false),
            (col("service"), true),
        ],
    ];
    let mut big = ctx();
    big.max_rows = 1_000_000;
    for order in &keys {
        // The reference: unsorted rows with their keys, stably sorted here (ASC: NULLs
        // last; DESC: NULLs first).
        let mut items = vec![col("message")];
        items.extend(order.iter().map(|(x, _)| x.clone()));
        let mut full = execute(&from(Source::Logs).select(items).build(), many.iter(), &big)
            .expect("runs")
            .rows;
        full.sort_by(|a, b| {
            order
                .iter()
                .enumerate()
                .map(|(k, (_, desc))| {
                    let o = a[k + 1].total_cmp(&b[k + 1]);
                    if *desc { o.reverse() } else { o }
                })
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let full: Vec<Vec<Value>> = full.into_iter().map(|r| vec![r[0].clone()]).collect();
        assert_eq!(full.len(), 300);
        let sorted = execute(
            &from(Source::Logs)
                .select(vec![col("message")])
                .order_by(order.clone())
                .build(),
            many.iter(),
            &big,
        )
        .expect("runs");
        assert_eq!(sorted.rows, full);
        for _ in 0..60 {
            let limit = rng.below(40);
            let offset = rng.below(320);
            let r = execute(
                &from(Source::Logs)
                    .select(vec![col("message")])
                    .order_by(order.clone())
                    .limit(limit)
                    .offset(offset)
                    .build(),
                many.iter(),
                &big,
            )
            .expect("runs");
            let want: Vec<_> = full
                .iter()
                .skip(offset as usize)
                .take(limit as usize)
                .cloned()
                .collect();
            assert_eq!(r.rows, want, "limit {limit} offset {offset}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Aggregation
// ---------------------------------------------------------------------------------------

#[test]
fn group_by_with_every_aggregate() {
    let r = run_logs(
        from(Source::Logs)
            .select(vec![
                col("service"),
                count_star(),
                call("count", vec![attr("user")]),
                count_distinct(col("level")),
                call("min", vec![col("timestamp")]),
                call("max", vec![col("message")]),
                call("sum", vec![attr("http.status_code")]),
                call("avg", vec![col("severity")]),
                call("min", vec![attr("http.status_code")]),
            ])
            .group_by(vec![col("service")])
            .order_by(vec![(col("service"), false)]),
    )
    .expect("runs");
    let n = Value::Int;
    assert_eq!(
        r.rows,
        [
            vec![
                vs("api"),
                n(4),
                n(1),
                n(3),
                ts(0),
                vs("connection refused by db"),
                n(900),
                Value::Float(10.0),
                n(200),
            ],
            vec![
                vs("auth"),
                n(2),
                n(1),
                n(2),
                ts(80),
                vs("token store unavailable"),
                Value::Null,
                Value::Float(15.0),
                Value::Null,
            ],
            vec![
                vs("db"),
                n(3),
                n(0),
                n(3),
                ts(20),
                vs("vacuum done"),
                Value::Null,
                Value::Float(13.0),
                Value::Null,
            ],
            vec![
                vs("web"),
                n(3),
                n(0),
                n(3),
                ts(30),
                vs("upstream timeout after 30s"),
                n(504),
                Value::Float(13.0),
                n(504),
            ],
        ]
    );
    assert_eq!(r.rows_scanned, 12);
}

#[test]
fn groups_come_in_order_of_first_appearance() {
    let r = run_logs(
        from(Source::Logs)
            .select(vec![col("level"), count_star()])
            .group_by(vec![col("level")]),
    )
    .expect("runs");
    let levels: Vec<_> = r.rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(levels, ["info", "error", "warn", "debug", "fatal"].map(vs));
}

#[test]
fn aggregate_expressions_having_and_order() {
    // sum(severity) / count(*), a GROUP BY expression in a function, ORDER BY an aggregate.
    let r = run_logs(
        from(Source::Logs)
            .select(vec![
                call("upper", vec![col("service")]),
                bin(
                    BinaryOp::Div,
                    call("sum", vec![col("severity")]),
                    count_star(),
                ),
                bin(BinaryOp::Add, count_star(), i(100)),
            ])
            .group_by(vec![col("service")])
            .having(bin(BinaryOp::Gt, count_star(), i(2)))
            .order_by(vec![(count_star(), true), (col("service"), true)]),
    )
    .expect("runs");
    assert_eq!(
        r.rows,
        [
            vec![vs("API"), Value::Float(10.0), Value::Int(104)],
            vec![vs("WEB"), Value::Float(13.0), Value::Int(103)],
            vec![vs("DB"), Value::Float(13.0), Value::Int(103)],
        ]
    );
    // HAVING on an aggregate not in the select list, with LIMIT/OFFSET after it.
    let r = run_logs(
        from(Source::Logs)
            .select(vec![col("service")])
            .group_by(vec![col("service")])
            .having(eq(call("max", vec![col("level")]), s("warn")))
            .order_by(vec![(col("service"), false)]),
    )
    .expect("runs");
    assert_eq!(r.rows, [vec![vs("db")], vec![vs("web")]]);
    let r = run_logs(
        from(Source::Logs)
            .select(vec![col("service"), count_star()])
            .group_by(vec![col("service")])
            .order_by(vec![(col("service"), false)])
            .limit(2)
            .offset(1),
    )
    .expect("runs");
    assert_eq!(
        r.rows,
        [
            vec![vs("auth"), Value::Int(2)],
            vec![vs("db"), Value::Int(3)]
        ]
    );
    // A column outside GROUP BY and aggregates is an error.
    let err = run_logs(
        from(Source::Logs)
            .select(vec![col("message"), count_star()])
            .group_by(vec![col("service")]),
    )
    .expect_err("not grouped");
    assert!(matches!(err, ExecError::NotGrouped { .. }), "{err}");
    // Aggregates in WHERE are errors.
    let err = run_logs(
        from(Source::Logs)
            .select(vec![count_star()])
            .aggregate()
            .filter(bin(BinaryOp::Gt, count_star(), i(1))),
    )
    .expect_err("misplaced");
    assert!(matches!(err, ExecError::MisplacedAggregate { .. }), "{err}");
}

#[test]
fn group_by_several_keys_and_expressions() {
    let r = run_logs(
        from(Source::Logs)
            .select(vec![
                res("host.name"),
                bin(BinaryOp::GtEq, col("severity"), i(13)),
                count_star(),
            ])
            .group_by(vec![
                res("host.name"),
                bin(BinaryOp::GtEq, col("severity"), i(13)),
            ])
            .order_by(vec![(res("host.name"), false), (count_star(), false)]),
    )
    .expect("runs");
    let b = Value::Bool;
    assert_eq!(
        r.rows,
        [
            vec![vs("h1"), b(true), Value::Int(3)],
            vec![vs("h1"), b(false), Value::Int(4)],
            vec![vs("h2"), b(false), Value::Int(1)],
            vec![vs("h2"), b(true), Value::Int(2)],
            vec![vs("h3"), b(true), Value::Int(1)],
            vec![vs("h3"), b(false), Value::Int(1)],
        ]
    );
}

#[test]
fn percentiles() {
    let pct = |x: Expr, q: f64| call("percentile", vec![x, f(q)]);
    let r = run_spans(
        from(Source::Spans)
            .select(vec![
                pct(col("duration"), 0.5),
                pct(col("duration"), 0.9),
                pct(col("duration"), 0.99),
                pct(col("duration"), 0.0),
                pct(col("duration"), 1.0),
                call("avg", vec![col("duration")]),
                call("sum", vec![col("duration")]),
                call("max", vec![col("duration")]),
            ])
            .aggregate(),
    )
    .expect("runs");
    // Sorted durations: 5, 70, 80, 120, 200, 300 ms.
    assert_eq!(
        r.rows,
        [vec![
            Value::Duration(100 * MS),
            Value::Duration(250 * MS),
            Value::Duration(295 * MS),
            Value::Duration(5 * MS),
            Value::Duration(300 * MS),
            Value::Duration(775 * MS / 6),
            Value::Duration(775 * MS),
            Value::Duration(300 * MS),
        ]]
    );
    let r = run_spans(
        from(Source::Spans)
            .select(vec![col("service"), pct(col("duration"), 0.5)])
            .group_by(vec![col("service")])
            .order_by(vec![(col("service"), false)]),
    )
    .expect("runs");
    assert_eq!(
        r.rows,
        [
            vec![vs("api"), Value::Duration(100 * MS)],
            vec![vs("db"), Value::Duration(70 * MS)],
            vec![vs("web"), Value::Duration(300 * MS)],
        ]
    );
    // On numbers: status codes 200, 500, 200, 504 → 200, 200, 500, 504.
    let r = run_logs(
        from(Source::Logs)
            .select(vec![
                pct(attr("http.status_code"), 0.5),
                pct(attr("http.status_code"), 0.25),
                pct(attr("http.status_code"), 0.95),
                pct(attr("no.such"), 0.5),
            ])
            .aggregate(),
    )
    .expect("runs");
    assert_eq!(r.rows[0][..2], [Value::Float(350.0), Value::Float(200.0)]);
    let Value::Float(p95) = r.rows[0][2] else {
        panic!("a float")
    };
    assert!((p95 - 503.4).abs() < 1e-9, "{p95}");
    assert_eq!(r.rows[0][3], Value::Null);
    // The quantile must be a constant from 0 to 1.
    let err = run_logs(
        from(Source::Logs)
            .select(vec![pct(col("severity"), 1.5)])
            .aggregate(),
    )
    .expect_err("bad quantile");
    assert!(matches!(err, ExecError::InvalidArgument { .. }), "{err}");
}

#[test]
fn bucket_grouping() {
    let r = run_logs(
        from(Source::Logs)
            .select(vec![
                call("bucket", vec![col("timestamp"), dur(45 * SEC)]),
                count_star(),
                call("max", vec![col("severity")]),
            ])
            .group_by(vec![call("bucket", vec![col("timestamp"), dur(45 * SEC)])])
            .order_by(vec![(
                call("bucket", vec![col("timestamp"), dur(45 * SEC)]),
                true,
            )]),
    )
    .expect("runs");
    assert_eq!(
        r.rows,
        [
            vec![ts(90), Value::Int(3), Value::Int(17)],
            vec![ts(45), Value::Int(4), Value::Int(21)],
            vec![ts(0), Value::Int(5), Value::Int(17)],
        ]
    );
}

#[test]
fn rate_and_increase_with_counter_reset() {
    let requests = eq(col("name"), s("http_requests_total"));
    // Per code over the whole range (60 s).
    let r = run_metrics(
        from(Source::Metrics)
            .select(vec![
                attr("code"),
                call("increase", vec![col("value")]),
                call("rate", vec![col("value")]),
            ])
            .filter(requests.clone())
            .group_by(vec![attr("code")])
            .order_by(vec![(attr("code"), false)]),
    )
    .expect("runs");
    assert_eq!(
        r.rows,
        [
            vec![vs("200"), Value::Float(40.0), Value::Float(40.0 / 60.0)],
            vec![vs("500"), Value::Float(3.0), Value::Float(3.0 / 60.0)],
        ]
    );
    // All series together: increases add up per series, never across series.
    let r = run_metrics(
        from(Source::Metrics)
            .select(vec![call("increase", vec![col("value")])])
            .filter(requests.clone())
            .aggregate(),
    )
    .expect("runs");
    assert_eq!(r.rows, [vec![Value::Float(43.0)]]);
    // Per 30 s bucket: the window is the bucket width.
    let bucket = || call("bucket", vec![col("timestamp"), dur(30 * SEC)]);
    let r = run_metrics(
        from(Source::Metrics)
            .select(vec![
                bucket(),
                call("increase", vec![col("value")]),
                call("rate", vec![col("value")]),
            ])
            .filter(requests.clone())
            .group_by(vec![bucket()])
            .order_by(vec![(bucket(), false)]),
    )
    .expect("runs");
    assert_eq!(
        r.rows,
        [
            vec![ts(0), Value::Float(10.0), Value::Float(10.0 / 30.0)],
            vec![ts(30), Value::Float(5.0), Value::Float(5.0 / 30.0)],
            vec![ts(60), Value::Float(0.0), Value::Float(0.0)],
        ]
    );
    // Points out of order are put in timestamp order per series first.
    let m = metrics();
    let mut rows = metric_rows(&m);
    rows.reverse();
    let q = from(Source::Metrics)
        .select(vec![call("increase", vec![col("value")])])
        .filter(requests)
        .aggregate()
        .build();
    let r = execute(&q, rows.into_iter(), &ctx()).expect("runs");
    assert_eq!(r.rows, [vec![Value::Float(43.0)]]);
}

#[test]
fn metric_rows_and_gauges() {
    let r = run_metrics(
        from(Source::Metrics)
            .select(vec![
                col("service"),
                call("avg", vec![col("value")]),
                call("min", vec![col("value")]),
                call("max", vec![col("timestamp")]),
                call("count", vec![col("count")]),
            ])
            .filter(eq(col("kind"), s("gauge")))
            .group_by(vec![col("service")]),
    )
    .expect("runs");
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0][0], vs("db"));
    let Value::Float(avg) = r.rows[0][1] else {
        panic!("avg is a float")
    };
    assert!((avg - 0.6).abs() < 1e-12);
    assert_eq!(r.rows[0][2..], [Value::Float(0.5), ts(40), Value::Int(0)]);
    let r = run_metrics(
        from(Source::Metrics)
            .wildcard()
            .filter(eq(attr("code"), s("500")))
            .limit(1),
    )
    .expect("runs");
    assert_eq!(
        r.rows,
        [vec![
            ts(0),
            vs("http_requests_total"),
            Value::Float(1.0),
            vs("api")
        ]]
    );
}

#[test]
fn float_columns_show_integers_as_floats() {
    let mut q = from(Source::Logs)
        .select(vec![
            call("coalesce", vec![attr("http.status_code"), f(0.5)]),
            attr("http.status_code"),
        ])
        .limit(4)
        .build();
    q.columns[0].ty = Type::Float;
    let r = execute(&q, logs().iter(), &ctx()).expect("runs");
    assert_eq!(
        r.rows,
        [
            vec![Value::Float(200.0), Value::Int(200)],
            vec![Value::Float(500.0), Value::Int(500)],
            vec![Value::Float(0.5), Value::Null],
            vec![Value::Float(0.5), Value::Null],
        ]
    );
}

#[test]
fn empty_input() {
    let none: Vec<LogRecord> = Vec::new();
    let q = from(Source::Logs)
        .select(vec![
            count_star(),
            call("sum", vec![col("severity")]),
            call("max", vec![col("message")]),
            call("rate", vec![col("severity")]),
        ])
        .aggregate()
        .build();
    let r = execute(&q, none.iter(), &ctx()).expect("runs");
    assert_eq!(
        r.rows,
        [vec![Value::Int(0), Value::Null, Value::Null, Value::Null]]
    );
    assert_eq!(r.rows_scanned, 0);
    // Everything filtered out: still one row.
    let r = run_logs(
        from(Source::Logs)
            .select(vec![count_star()])
            .filter(eq(col("service"), s("nope")))
            .aggregate(),
    )
    .expect("runs");
    assert_eq!(r.rows, [vec![Value::Int(0)]]);
    // With GROUP BY, no groups.
    let q = from(Source::Logs)
        .select(vec![col("service"), count_star()])
        .group_by(vec![col("service")])
        .build();
    let r = execute(&q, none.iter(), &ctx()).expect("runs");
    assert!(r.rows.is_empty());
}

#[test]
fn too_many_groups() {
    let mut c = ctx();
    c.max_groups = 5;
    let q = from(Source::Logs)
        .select(vec![col("timestamp"), count_star()])
        .group_by(vec![col("timestamp")])
        .build();
    let err = execute(&q, logs().iter(), &c).expect_err("too many");
    assert_eq!(err, ExecError::TooManyGroups { limit: 5 });
    assert!(err.to_string().contains("more than 5 groups"), "{err}");
    c.max_groups = 12;
    assert!(execute(&q, logs().iter(), &c).is_ok());
}

#[test]
fn deadline() {
    let mut c = ctx();
    c.deadline = Some(Instant::now() - Duration::from_millis(1));
    let q = from(Source::Logs).select(vec![col("message")]).build();
    let err = execute(&q, logs().iter(), &c).expect_err("too late");
    assert!(matches!(err, ExecError::Deadline { .. }), "{err}");
    assert!(err.to_string().contains("time budget"), "{err}");
    let q = from(Source::Logs)
        .select(vec![count_star()])
        .aggregate()
        .build();
    assert!(execute(&q, logs().iter(), &c).is_err());
    c.deadline = Some(Instant::now() + Duration::from_secs(60));
    assert!(execute(&q, logs().iter(), &c).is_ok());
}

#[test]
fn distinct_identity_and_counts_over_a_large_stream() {
    // A long synthetic stream: the executor neither stores nor clones the rows.
    let base = logs();
    let n = 50_000usize;
    let stream = (0..n).map(|k| &base[k % 12]);
    let q = from(Source::Logs)
        .select(vec![
            count_star(),
            count_distinct(col("service")),
            count_distinct(col("message")),
        ])
        .aggregate()
        .build();
    let r = execute(&q, stream, &ctx()).expect("runs");
    assert_eq!(
        r.rows,
        [vec![Value::Int(n as i64), Value::Int(4), Value::Int(12)]]
    );
    assert_eq!(r.rows_scanned, n as u64);
}
