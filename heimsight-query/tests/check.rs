//! The checker: name resolution with did-you-mean, types, aggregate rules, subqueries, the
//! normalized form of `Checked` (what the executor relies on) and output columns.
#![allow(clippy::unwrap_used)]

use heimsight_query::ast::{
    BinaryOp, Checked, ColumnRef, Expr, ExprKind, Ident, Literal, OutputColumn, Pos, SelectItem,
};
use heimsight_query::check::same;
use heimsight_query::schema::{self, Type};
use heimsight_query::{Diagnostic, Diagnostics, parse_and_check};

fn ok(q: &str) -> Checked {
    parse_and_check(q).unwrap_or_else(|e| panic!("{q}\n{e}"))
}

fn errs(q: &str) -> Diagnostics {
    match parse_and_check(q) {
        Ok(c) => panic!("{q} was accepted: {:?}", c.statement),
        Err(d) => d,
    }
}

/// The only problem of `q`.
fn one(q: &str) -> Diagnostic {
    let d = errs(q);
    assert_eq!(d.len(), 1, "{q}\n{d}");
    d.items.into_iter().next().unwrap()
}

/// The only problem of `q` has a message containing `part`.
fn fails(q: &str, part: &str) -> Diagnostic {
    let d = one(q);
    assert!(d.message.contains(part), "{q}: {d}");
    d
}

fn columns(c: &Checked) -> Vec<(String, Type)> {
    c.columns.iter().map(|c| (c.name.clone(), c.ty)).collect()
}

fn item(c: &Checked, i: usize) -> &Expr {
    match &c.statement.select.items[i] {
        SelectItem::Expr { expr, .. } => expr,
        SelectItem::Wildcard(_) => panic!("wildcard left"),
    }
}

fn e(kind: ExprKind) -> Expr {
    Expr::new(kind, Pos::default())
}
fn col(n: &str) -> Expr {
    e(ExprKind::Column(ColumnRef::Named(n.into())))
}
fn func(name: &str, args: Vec<Expr>, star: bool, distinct: bool) -> Expr {
    e(ExprKind::Function {
        name: Ident {
            name: name.into(),
            pos: Pos::default(),
        },
        args,
        star,
        distinct,
    })
}
fn count_star() -> Expr {
    func("count", vec![], true, false)
}
fn float(f: f64) -> Expr {
    e(ExprKind::Literal(Literal::Float(f)))
}

fn assert_same(got: &Expr, want: &Expr) {
    assert!(same(got, want), "got  {got:#?}\nwant {want:#?}");
}

// ---- names ----

#[test]
fn unknown_column_with_did_you_mean() {
    let d = one("SELECT levle FROM logs");
    assert_eq!(d.message, "unknown column `levle`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `level`?"));
    assert_eq!((d.line, d.column, d.found.as_str()), (1, 8, "levle"));
    assert_eq!(
        d.to_string(),
        "line 1, column 8: unknown column `levle` — did you mean `level`?"
    );
    assert_eq!(
        one("SELECT servce FROM spans").hint.as_deref(),
        Some("did you mean `service`?")
    );
    assert_eq!(
        one("SELECT mesage FROM logs").hint.as_deref(),
        Some("did you mean `message`?")
    );
    // Schema aliases are candidates too, and a prefix counts.
    assert_eq!(
        one("SELECT bod FROM logs").hint.as_deref(),
        Some("did you mean `body`?")
    );
    assert_eq!(
        one("SELECT severity_t FROM logs").hint.as_deref(),
        Some("did you mean `severity_text`?")
    );
    assert_eq!(one("SELECT zzzzzz FROM logs").hint, None);
}

#[test]
fn unknown_column_hints() {
    let d = one("SELECT * FROM logs WHERE duration > 5m");
    assert_eq!(
        d.hint.as_deref(),
        Some("`duration` is a column of spans, not of logs")
    );
    let d = one("SELECT * FROM logs WHERE service.name = 'api'");
    assert!(d.hint.unwrap().contains("`resource.service.name`"));
    let d = one("SELECT lower(level) AS lvl FROM logs WHERE lvl = 'x'");
    assert!(d.hint.unwrap().contains("aliases cannot be used in WHERE"));
    let d = one("SELECT * FROM logs WHERE level = \"error\"");
    assert!(d.hint.unwrap().contains("single quotes"));
}

#[test]
fn column_names_are_canonical_after_checking() {
    let c = ok("SELECT body, ts, \"Level\", SERVICE_NAME FROM logs");
    for (i, name) in ["message", "timestamp", "level", "service"]
        .into_iter()
        .enumerate()
    {
        assert_same(item(&c, i), &col(name));
    }
    // Output names are as written.
    assert_eq!(columns(&c)[0], ("body".to_string(), Type::String));
    assert_eq!(columns(&c)[1], ("ts".to_string(), Type::Timestamp));
    let c = ok("SELECT labels.le, labels['k'], attrs.x, resource.host.name FROM metrics");
    assert_same(
        item(&c, 0),
        &e(ExprKind::Column(ColumnRef::Attribute("le".into()))),
    );
    assert_same(
        item(&c, 1),
        &e(ExprKind::Column(ColumnRef::Attribute("k".into()))),
    );
    assert_same(
        item(&c, 3),
        &e(ExprKind::Column(ColumnRef::Resource("host.name".into()))),
    );
    assert!(c.columns.iter().all(|c| c.ty == Type::Any));
}

#[test]
fn star_expands_to_the_wildcard_columns() {
    for source in heimsight_query::ast::Source::ALL {
        let c = ok(&format!("SELECT * FROM {source}"));
        let want: Vec<(String, Type)> = schema::columns(source)
            .iter()
            .filter(|c| c.in_wildcard)
            .map(|c| (c.name.to_string(), c.ty))
            .collect();
        assert_eq!(columns(&c), want);
        for (i, (name, _)) in want.iter().enumerate() {
            let SelectItem::Expr { expr, alias } = &c.statement.select.items[i] else {
                panic!()
            };
            assert!(alias.is_none());
            assert_same(expr, &col(name));
        }
    }
    let c = ok("SELECT level, *, 1 AS one FROM logs");
    assert_eq!(c.columns.first().unwrap().name, "level");
    assert_eq!(
        c.columns.last().unwrap(),
        &OutputColumn {
            name: "one".into(),
            ty: Type::Int
        }
    );
    assert!(!c.aggregate);
}

// ---- all problems at once ----

#[test]
fn every_problem_is_reported() {
    let d = errs("SELECT levle, foo(1) FROM logs WHERE service = 3");
    assert_eq!(d.len(), 3, "{d}");
    assert_eq!(d.items[0].message, "unknown column `levle`");
    assert_eq!(d.items[1].message, "unknown function `foo`");
    assert_eq!(d.items[1].column, 15);
    assert_eq!(d.items[2].message, "cannot compare string and int");
    assert_eq!(d.items[2].column, 38);
    let lines: Vec<String> = d.to_string().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("line 1, column 8: unknown column `levle`"));
    // Multi-line positions.
    let d = errs("SELECT level\nFROM logs\nWHERE severity = 'x'\n  AND levle = 'y'");
    assert_eq!(d.len(), 2);
    assert_eq!((d.items[0].line, d.items[0].column), (3, 7));
    assert_eq!((d.items[1].line, d.items[1].column), (4, 7));
}

#[test]
fn problems_are_capped() {
    let q = format!("SELECT {} FROM logs", vec!["levle"; 150].join(", "));
    let d = errs(&q);
    assert_eq!(d.len(), 101);
    assert_eq!(d.items[100].message, "50 more problems not shown");
}

// ---- types ----

#[test]
fn comparison_types() {
    fails(
        "SELECT * FROM logs WHERE level = 5",
        "cannot compare string and int",
    );
    assert_eq!(
        one("SELECT * FROM logs WHERE level = 5").hint.as_deref(),
        Some("quote the value: '5'")
    );
    fails(
        "SELECT * FROM logs WHERE severity = 'x'",
        "cannot compare int and string",
    );
    fails(
        "SELECT * FROM spans WHERE is_root = 1",
        "cannot compare bool and int",
    );
    fails(
        "SELECT * FROM spans WHERE duration > 1.5",
        "cannot compare duration and float",
    );
    let d = fails(
        "SELECT * FROM spans WHERE duration > '5m'",
        "cannot compare duration and string",
    );
    assert!(d.hint.unwrap().contains("without quotes"));
    fails(
        "SELECT * FROM logs WHERE attributes = 'x'",
        "cannot compare map and string",
    );
    for q in [
        "SELECT * FROM logs WHERE severity >= 9 AND severity < 13.5",
        "SELECT * FROM spans WHERE duration > 250ms OR duration <= 1000000",
        "SELECT * FROM spans WHERE is_root = true",
        "SELECT * FROM logs WHERE timestamp > '2026-01-02T03:04:05Z'",
        "SELECT * FROM logs WHERE timestamp > '2026-01-02T03:04:05.123+02:00'",
        "SELECT * FROM logs WHERE timestamp > 1700000000000000000",
        "SELECT * FROM logs WHERE timestamp > now() - 1h",
        "SELECT * FROM logs WHERE '2026-01-02T00:00:00Z' < timestamp",
        "SELECT * FROM logs WHERE attributes.http.status_code >= 500",
        "SELECT * FROM logs WHERE attributes['x'] = 'y' OR resource.host = 1",
        "SELECT * FROM logs WHERE observed_timestamp = timestamp",
    ] {
        ok(q);
    }
}

#[test]
fn timestamp_strings_are_checked() {
    let d = fails(
        "SELECT * FROM logs WHERE timestamp > 'yesterday'",
        "invalid timestamp 'yesterday'",
    );
    assert_eq!(d.column, 38);
    assert!(d.hint.unwrap().contains("RFC 3339"));
    fails(
        "SELECT * FROM logs WHERE timestamp BETWEEN '2026-01-01T00:00:00Z' AND '2026-13-01'",
        "invalid timestamp",
    );
    fails(
        "SELECT * FROM logs WHERE timestamp IN ('2026-01-01T00:00:00Z', 'nope')",
        "invalid timestamp 'nope'",
    );
}

#[test]
fn null_comparisons_suggest_is_null() {
    let d = fails("SELECT * FROM logs WHERE trace_id = NULL", "never true");
    assert_eq!(d.hint.as_deref(), Some("use `IS NULL`"));
    let d = fails("SELECT * FROM logs WHERE trace_id != NULL", "never true");
    assert_eq!(d.hint.as_deref(), Some("use `IS NOT NULL`"));
    ok("SELECT * FROM logs WHERE trace_id IS NULL OR trace_id IN ('a', NULL)");
    ok("SELECT coalesce(trace_id, NULL, 'none') FROM logs");
}

#[test]
fn arithmetic_types() {
    let c = ok(
        "SELECT severity + 1, severity / 2, severity % 2, severity * 2.5, timestamp - 1h, \
                timestamp - observed_timestamp, 5m + 30s, 5m * 2, 1h / 4, -severity, -5m FROM logs",
    );
    let types: Vec<Type> = c.columns.iter().map(|c| c.ty).collect();
    use Type::*;
    assert_eq!(
        types,
        [
            Int, Float, Int, Float, Timestamp, Duration, Duration, Duration, Duration, Int,
            Duration
        ]
    );
    let c =
        ok("SELECT end_time - timestamp AS took, duration * 0.5, timestamp + duration FROM spans");
    assert_eq!(
        columns(&c),
        [
            ("took".to_string(), Duration),
            ("duration * 0.5".to_string(), Duration),
            ("timestamp + duration".to_string(), Timestamp)
        ]
    );
    fails("SELECT message + 1 FROM logs", "cannot add string and int");
    fails("SELECT 'a' + 'b' FROM logs", "cannot add string and string");
    fails(
        "SELECT timestamp + 1 FROM logs",
        "cannot add timestamp and int",
    );
    fails(
        "SELECT timestamp + timestamp FROM logs",
        "cannot add timestamp and timestamp",
    );
    fails(
        "SELECT 1h - timestamp FROM logs",
        "cannot subtract timestamp from duration",
    );
    fails("SELECT 2 / 1h FROM logs", "cannot divide int by duration");
    let d = fails("SELECT 1.5 % 2 FROM logs", "remainder");
    assert_eq!(d.hint.as_deref(), Some("`%` needs integers"));
    fails("SELECT -message FROM logs", "cannot negate string");
    fails("SELECT severity / 0 FROM logs", "division by zero");
    fails("SELECT severity % 0 FROM logs", "division by zero");
    fails("SELECT severity / 0.0 FROM logs", "division by zero");
    // Attributes are Any: fine with everything, and so is the result.
    let c = ok("SELECT attributes.n + 1, attributes.a * attributes.b FROM logs");
    assert!(c.columns.iter().all(|c| c.ty == Type::Any));
}

#[test]
fn logical_and_text_operators() {
    fails(
        "SELECT * FROM logs WHERE level AND true",
        "AND needs boolean operands, found string",
    );
    fails(
        "SELECT * FROM logs WHERE NOT severity",
        "NOT needs boolean operands, found int",
    );
    fails(
        "SELECT * FROM logs WHERE severity LIKE '1%'",
        "LIKE needs text, found int",
    );
    fails(
        "SELECT * FROM logs WHERE message ILIKE 5",
        "ILIKE needs text, found int",
    );
    fails(
        "SELECT * FROM logs WHERE message CONTAINS 5",
        "CONTAINS needs text, found int",
    );
    fails(
        "SELECT * FROM logs WHERE severity",
        "WHERE needs a condition",
    );
    ok("SELECT * FROM logs WHERE attributes.ok AND NOT attributes.bad");
    ok(
        "SELECT * FROM logs WHERE message ILIKE '%disk%' AND attributes.path LIKE '/api/%' \
        AND message NOT CONTAINS 'health'",
    );
    fails(
        "SELECT * FROM logs WHERE level IN ('a', 2)",
        "cannot compare string and int",
    );
    fails(
        "SELECT * FROM logs WHERE severity BETWEEN 1 AND 'x'",
        "cannot compare int and string",
    );
}

// ---- functions ----

#[test]
fn unknown_functions_and_arguments() {
    let d = one("SELECT cout(*) FROM logs");
    assert_eq!(d.message, "unknown function `cout`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `count`?"));
    fails(
        "SELECT lower() FROM logs",
        "`lower` takes 1 argument, found 0",
    );
    fails(
        "SELECT lower(level, message) FROM logs",
        "`lower` takes 1 argument, found 2",
    );
    fails(
        "SELECT now(1) FROM logs",
        "`now` takes no arguments, found 1",
    );
    fails(
        "SELECT round(1, 2, 3) FROM logs",
        "`round` takes 1 or 2 arguments, found 3",
    );
    fails("SELECT coalesce() FROM logs", "at least 1 argument");
    let d = fails(
        "SELECT count() FROM logs",
        "`count` takes 1 argument, found 0",
    );
    assert!(d.hint.unwrap().contains("count(*)"));
    fails(
        "SELECT sum(*) FROM logs",
        "`*` is only allowed in `count(*)`",
    );
    fails(
        "SELECT sum(DISTINCT severity) FROM logs",
        "DISTINCT is only allowed in `count",
    );
    fails(
        "SELECT sum(message) FROM logs",
        "`sum` needs a number or a duration, found string",
    );
    fails(
        "SELECT lower(severity) FROM logs",
        "`lower` needs text, found int",
    );
    fails(
        "SELECT abs(level) FROM logs",
        "`abs` needs a number or a duration, found string",
    );
    fails(
        "SELECT round(value, 1.5) FROM metrics",
        "an integer number of digits",
    );
    fails(
        "SELECT coalesce(level, severity) FROM logs",
        "one type, found string and int",
    );
    fails(
        "SELECT min(attributes) FROM logs",
        "`min` needs a value that can be ordered",
    );
    // The arguments of an unknown function are still checked.
    assert_eq!(errs("SELECT foo(levle) FROM logs").len(), 2);
}

#[test]
fn function_result_types() {
    let c = ok(
        "SELECT now(), lower(message), upper('x'), length(message), abs(severity), \
                round(2.5), round(severity), floor(1.5), ceil(2), coalesce(severity, 1.5), \
                bucket(timestamp, 5m), coalesce(trace_id, 'none') FROM logs",
    );
    use Type::*;
    let types: Vec<Type> = c.columns.iter().map(|c| c.ty).collect();
    assert_eq!(
        types,
        [
            Timestamp, String, String, Int, Int, Float, Int, Float, Int, Float, Timestamp, String
        ]
    );
}

#[test]
fn bucket_needs_a_positive_duration_literal() {
    fails(
        "SELECT bucket(timestamp, 0s) FROM logs",
        "positive duration literal",
    );
    fails(
        "SELECT bucket(timestamp, -5m) FROM logs",
        "positive duration literal",
    );
    fails(
        "SELECT bucket(timestamp, 300) FROM logs",
        "positive duration literal",
    );
    fails(
        "SELECT bucket(level, 5m) FROM logs",
        "`bucket` needs a timestamp, found string",
    );
    ok("SELECT bucket(timestamp, 1h30m) AS hour, count(*) FROM logs GROUP BY hour");
}

#[test]
fn aggregates_are_normalized_and_typed() {
    let c = ok(
        "SELECT count(*), count(trace_id), count(DISTINCT trace_id), \
                count_distinct(trace_id), sum(severity), avg(severity), min(message), \
                max(timestamp), p99(severity), percentile(severity, 0.5), p50(timestamp) \
                FROM logs",
    );
    use Type::*;
    let types: Vec<Type> = c.columns.iter().map(|c| c.ty).collect();
    assert_eq!(
        types,
        [
            Int, Int, Int, Int, Int, Float, String, Timestamp, Float, Float, Timestamp
        ]
    );
    assert!(c.aggregate);
    assert_same(item(&c, 0), &count_star());
    let distinct = func("count", vec![col("trace_id")], false, true);
    assert_same(item(&c, 2), &distinct);
    assert_same(item(&c, 3), &distinct);
    assert_eq!(c.columns[3].name, "count_distinct(trace_id)");
    assert_same(
        item(&c, 8),
        &func(
            "percentile",
            vec![col("severity"), float(0.99)],
            false,
            false,
        ),
    );
    assert_same(
        item(&c, 9),
        &func(
            "percentile",
            vec![col("severity"), float(0.5)],
            false,
            false,
        ),
    );
    let c = ok(
        "SELECT p50(duration), p90(duration), p95(duration), avg(duration), \
                sum(duration), percentile(duration, 1) FROM spans",
    );
    for (i, q) in [0.5, 0.9, 0.95].into_iter().enumerate() {
        assert_same(
            item(&c, i),
            &func("percentile", vec![col("duration"), float(q)], false, false),
        );
    }
    assert!(
        c.columns.iter().all(|c| c.ty == Duration),
        "{:?}",
        c.columns
    );
    assert_same(
        item(&c, 5),
        &func(
            "percentile",
            vec![col("duration"), float(1.0)],
            false,
            false,
        ),
    );
    assert_eq!(
        ok("SELECT avg(timestamp) FROM logs").columns[0].ty,
        Timestamp
    );
    fails(
        "SELECT avg(level) FROM logs",
        "`avg` needs a number, duration or timestamp",
    );
    fails(
        "SELECT sum(timestamp) FROM logs",
        "`sum` needs a number or a duration",
    );
    let c =
        ok("SELECT sum(value), avg(value), rate(value), increase(value), sum(count) FROM metrics");
    let types: Vec<Type> = c.columns.iter().map(|c| c.ty).collect();
    assert_eq!(types, [Float, Float, Float, Float, Int]);
}

#[test]
fn percentile_needs_a_fraction_literal() {
    fails(
        "SELECT percentile(duration, 99) FROM spans",
        "percentile 99 is out of range",
    );
    fails(
        "SELECT percentile(duration, -0.5) FROM spans",
        "out of range",
    );
    fails(
        "SELECT percentile(duration, 0.5 + 0.1) FROM spans",
        "number literal",
    );
    fails(
        "SELECT percentile(name, 0.5) FROM spans",
        "`percentile` needs a number",
    );
}

#[test]
fn aggregate_placement() {
    let d = fails(
        "SELECT * FROM logs WHERE count(*) > 1",
        "not allowed in WHERE",
    );
    assert!(d.hint.unwrap().contains("HAVING"));
    fails(
        "SELECT count(*) FROM logs GROUP BY count(*)",
        "not allowed in GROUP BY",
    );
    fails(
        "SELECT count(*) AS n FROM logs GROUP BY n",
        "cannot group by an aggregate",
    );
    fails(
        "SELECT level, count(*) FROM logs GROUP BY level, 2",
        "cannot group by an aggregate",
    );
    fails("SELECT sum(count(*)) FROM logs", "cannot be nested");
    fails(
        "SELECT count(*) AS n, max(n) FROM logs",
        "unknown column `n`",
    );
    fails(
        "SELECT count(*) AS n FROM logs HAVING max(n) > 1",
        "cannot be nested",
    );
    fails(
        "SELECT rate(severity) FROM logs",
        "`rate` works on metric counters, not on logs",
    );
    fails("SELECT increase(attributes.n) FROM spans", "not on spans");
    ok("SELECT name, rate(value) FROM metrics GROUP BY name");
}

#[test]
fn ungrouped_columns() {
    let d = fails(
        "SELECT level, count(*) FROM logs",
        "column `level` must appear in GROUP BY",
    );
    assert_eq!(d.column, 8);
    fails(
        "SELECT service, count(*) FROM logs GROUP BY level",
        "`service`",
    );
    fails(
        "SELECT level, count(*) FROM logs GROUP BY level ORDER BY service",
        "column `service` in ORDER BY must appear in GROUP BY",
    );
    fails(
        "SELECT level FROM logs GROUP BY level HAVING severity > 3",
        "column `severity` in HAVING",
    );
    fails(
        "SELECT * FROM logs GROUP BY level",
        "`*` cannot be used in a query that aggregates",
    );
    // Expressions of grouped columns, grouped expressions and aggregates are fine.
    ok("SELECT level, upper(level), count(*) + 1 FROM logs GROUP BY level");
    ok(
        "SELECT lower(service) AS s, count(*) FROM logs GROUP BY lower(service) ORDER BY lower(service)",
    );
    ok(
        "SELECT service AS s, max(severity) FROM logs GROUP BY s HAVING max(severity) > 3 ORDER BY s",
    );
    ok("SELECT bucket(timestamp, 1m), level, count(*) FROM logs GROUP BY 1, 2 ORDER BY 1");
    fails(
        "SELECT lower(service), count(*) FROM logs GROUP BY upper(service)",
        "`service`",
    );
}

#[test]
fn having_needs_aggregation() {
    let d = fails(
        "SELECT level FROM logs HAVING level = 'x'",
        "HAVING needs GROUP BY or an aggregate",
    );
    assert!(d.hint.unwrap().contains("WHERE"));
    let c = ok("SELECT level FROM logs GROUP BY level HAVING level != 'debug'");
    assert!(c.aggregate);
    let c = ok("SELECT count(*) FROM logs HAVING count(*) > 0");
    assert!(c.aggregate && c.statement.select.group_by.is_empty());
}

// ---- GROUP BY / ORDER BY references ----

#[test]
fn positions_and_aliases_are_replaced_by_the_items() {
    let c = ok(
        "SELECT service AS svc, count(*) AS n FROM logs GROUP BY 1 HAVING n > 10 ORDER BY n DESC, svc",
    );
    let sel = &c.statement.select;
    assert_same(&sel.group_by[0], &col("service"));
    assert_same(
        sel.having.as_ref().unwrap(),
        &e(ExprKind::Binary {
            op: BinaryOp::Gt,
            left: Box::new(count_star()),
            right: Box::new(e(ExprKind::Literal(Literal::Int(10)))),
        }),
    );
    assert_same(&sel.order_by[0].expr, &count_star());
    assert!(sel.order_by[0].descending);
    assert_same(&sel.order_by[1].expr, &col("service"));
    assert_eq!(
        columns(&c),
        [
            ("svc".to_string(), Type::String),
            ("n".to_string(), Type::Int)
        ]
    );
    // Positions in ORDER BY, aliases inside expressions.
    let c = ok("SELECT severity AS s, message FROM logs ORDER BY 2, s * 2 DESC");
    let sel = &c.statement.select;
    assert_same(&sel.order_by[0].expr, &col("message"));
    assert!(
        matches!(&sel.order_by[1].expr.kind, ExprKind::Binary { left, .. } if same(left, &col("severity")))
    );
    // An alias wins over a column of the same name in GROUP BY.
    let c = ok("SELECT bucket(timestamp, 1m) AS timestamp, count(*) FROM logs GROUP BY timestamp");
    assert!(
        matches!(&c.statement.select.group_by[0].kind, ExprKind::Function { name, .. } if name.name == "bucket")
    );
}

#[test]
fn positions_out_of_range() {
    fails(
        "SELECT level, count(*) FROM logs GROUP BY level, 3",
        "GROUP BY position 3 is out of range: the select list has 2 items",
    );
    fails(
        "SELECT level FROM logs ORDER BY 0",
        "ORDER BY position 0 is out of range",
    );
    fails(
        "SELECT level FROM logs ORDER BY -1",
        "ORDER BY position -1 is out of range",
    );
    // `*` counts as its columns.
    let c = ok("SELECT * FROM logs ORDER BY 2");
    assert_same(&c.statement.select.order_by[0].expr, &col("level"));
}

// ---- MATCH ----

#[test]
fn match_placement() {
    ok("SELECT * FROM logs WHERE MATCH('timeout') AND level = 'error'");
    ok("SELECT * FROM spans WHERE NOT MATCH('\"connection reset\"')");
    fails(
        "SELECT MATCH('x') FROM logs",
        "MATCH is only allowed in WHERE",
    );
    fails(
        "SELECT count(*) FROM logs GROUP BY level HAVING MATCH('x')",
        "only allowed in WHERE",
    );
    fails("SELECT * FROM metrics WHERE MATCH('cpu')", "not metrics");
    fails(
        "SELECT * FROM logs WHERE MATCH('  ')",
        "at least one search term",
    );
    fails(
        "SELECT * FROM logs WHERE MATCH(message)",
        "MATCH needs a string literal",
    );
}

// ---- subqueries ----

#[test]
fn subqueries() {
    let c = ok(
        "SELECT * FROM logs WHERE trace_id IN (SELECT trace_id FROM spans WHERE status = 'error' AND duration > 1s)",
    );
    let ExprKind::InSubquery { query, .. } = &c.statement.select.filter.as_ref().unwrap().kind
    else {
        panic!()
    };
    // The subquery is normalized against its own source.
    assert!(query.filter.is_some());
    ok(
        "SELECT * FROM logs WHERE service NOT IN (SELECT service FROM spans GROUP BY service HAVING p99(duration) > 1s)",
    );
    fails(
        "SELECT * FROM logs WHERE trace_id IN (SELECT * FROM spans)",
        "must select exactly one column; this one selects",
    );
    fails(
        "SELECT * FROM logs WHERE trace_id IN (SELECT trace_id, span_id FROM spans)",
        "this one selects 2",
    );
    fails(
        "SELECT * FROM logs WHERE severity IN (SELECT name FROM spans)",
        "cannot compare int with the subquery's column `name` of type string",
    );
    // Names resolve against the subquery's source: `duration` is a span column.
    let d = one(
        "SELECT * FROM spans WHERE trace_id IN (SELECT trace_id FROM logs WHERE duration > 1s)",
    );
    assert!(d.hint.unwrap().contains("column of spans"));
    // Problems inside and outside are all reported.
    assert_eq!(
        errs("SELECT levle FROM logs WHERE trace_id IN (SELECT trace_idd FROM spans)").len(),
        2
    );
}

// ---- output names and types ----

#[test]
fn output_column_names() {
    let c = ok(
        "SELECT   level ,count( * ),  max(severity)+1 AS next, attributes['http.method'], \
                avg(severity)\n FROM logs GROUP BY level, attributes['http.method']",
    );
    let names: Vec<&str> = c.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "level",
            "count( * )",
            "next",
            "attributes['http.method']",
            "avg(severity)"
        ]
    );
    assert!(c.aggregate);
}

#[test]
fn the_checked_form_keeps_explain_limit_and_offset() {
    let c = ok("EXPLAIN SELECT level FROM logs LIMIT 5 OFFSET 10");
    assert!(c.statement.explain);
    assert_eq!(
        (c.statement.select.limit, c.statement.select.offset),
        (Some(5), Some(10))
    );
    assert!(!c.aggregate);
    let c = ok("SELECT level FROM logs GROUP BY level");
    assert!(c.aggregate);
}

#[test]
fn deep_but_allowed_input_checks_on_a_2mib_stack() {
    let q = format!(
        "SELECT * FROM logs WHERE {}severity{} > 1",
        "abs(".repeat(100),
        ")".repeat(100)
    );
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || parse_and_check(&q).map(|_| ()))
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
}
