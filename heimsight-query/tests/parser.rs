//! The parser: every construct of the query language to its syntax tree, syntax errors with
//! line, column, found and expected, and hostile input (deep nesting, huge queries,
//! garbage) that must end in a clean result or error.
#![allow(clippy::unwrap_used)]

use heimsight_query::ast::{
    BinaryOp, ColumnRef, Expr, ExprKind, Ident, Literal, OrderItem, Pos, Select, SelectItem,
    Source, Statement, UnaryOp,
};
use heimsight_query::check::same;
use heimsight_query::parser::{MAX_DEPTH, MAX_NESTING, parse};
use heimsight_query::{Diagnostic, Diagnostics};

// ---- helpers: expressions without positions, compared with `same` ----

fn e(kind: ExprKind) -> Expr {
    Expr::new(kind, Pos::default())
}
fn col(n: &str) -> Expr {
    e(ExprKind::Column(ColumnRef::Named(n.into())))
}
fn attr(k: &str) -> Expr {
    e(ExprKind::Column(ColumnRef::Attribute(k.into())))
}
fn res(k: &str) -> Expr {
    e(ExprKind::Column(ColumnRef::Resource(k.into())))
}
fn lit(l: Literal) -> Expr {
    e(ExprKind::Literal(l))
}
fn int(i: i64) -> Expr {
    lit(Literal::Int(i))
}
fn s(t: &str) -> Expr {
    lit(Literal::String(t.into()))
}
fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
    e(ExprKind::Binary {
        op,
        left: Box::new(l),
        right: Box::new(r),
    })
}
fn not(x: Expr) -> Expr {
    e(ExprKind::Unary {
        op: UnaryOp::Not,
        expr: Box::new(x),
    })
}
fn neg(x: Expr) -> Expr {
    e(ExprKind::Unary {
        op: UnaryOp::Neg,
        expr: Box::new(x),
    })
}
fn func(name: &str, args: Vec<Expr>) -> Expr {
    e(ExprKind::Function {
        name: Ident {
            name: name.into(),
            pos: Pos::default(),
        },
        args,
        star: false,
        distinct: false,
    })
}

/// The WHERE expression of `SELECT * FROM logs WHERE {cond}`.
fn cond(cond: &str) -> Expr {
    let q = format!("SELECT * FROM logs WHERE {cond}");
    parse(&q)
        .unwrap_or_else(|err| panic!("{q}: {err}"))
        .select
        .filter
        .unwrap()
}

/// The first select item's expression of `SELECT {item} FROM logs`.
fn item(item: &str) -> Expr {
    let q = format!("SELECT {item} FROM logs");
    match parse(&q)
        .unwrap_or_else(|err| panic!("{q}: {err}"))
        .select
        .items
        .remove(0)
    {
        SelectItem::Expr { expr, .. } => expr,
        SelectItem::Wildcard(_) => panic!("wildcard"),
    }
}

fn assert_same(got: &Expr, want: &Expr) {
    assert!(same(got, want), "got  {got:#?}\nwant {want:#?}");
}

fn err(q: &str) -> Diagnostics {
    match parse(q) {
        Ok(s) => panic!("{q:?} parsed: {s:?}"),
        Err(d) => d,
    }
}

fn first(q: &str) -> Diagnostic {
    err(q).items.remove(0)
}

/// Runs `f` on a thread with the default 2 MiB test-thread stack, whatever RUST_MIN_STACK
/// says: deep input must not need more.
fn on_2mib_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

// ---- whole statements ----

#[test]
fn a_simple_query_with_exact_positions() {
    let q = "SELECT level FROM logs WHERE level = 'error' LIMIT 10";
    let got = parse(q).unwrap();
    let want = Statement {
        explain: false,
        select: Select {
            items: vec![SelectItem::Expr {
                expr: Expr::new(
                    ExprKind::Column(ColumnRef::Named("level".into())),
                    Pos::new(7, 12),
                ),
                alias: None,
            }],
            from: Source::Logs,
            from_pos: Pos::new(18, 22),
            filter: Some(Expr::new(
                ExprKind::Binary {
                    op: BinaryOp::Eq,
                    left: Box::new(Expr::new(
                        ExprKind::Column(ColumnRef::Named("level".into())),
                        Pos::new(29, 34),
                    )),
                    right: Box::new(Expr::new(
                        ExprKind::Literal(Literal::String("error".into())),
                        Pos::new(37, 44),
                    )),
                },
                Pos::new(29, 44),
            )),
            group_by: vec![],
            having: None,
            order_by: vec![],
            limit: Some(10),
            offset: None,
            pos: Pos::new(0, q.len()),
        },
    };
    assert_eq!(got, want);
    // Trailing whitespace and comments are not part of any range.
    let q2 = format!("{q}  -- done\n ");
    assert_eq!(parse(&q2).unwrap(), want);
    let x = cond("level = 'error'   -- c\n  ");
    assert_eq!(x.pos, Pos::new(25, 40));
}

#[test]
fn every_clause_in_one_query() {
    let q = "explain select service as svc, count(*) n, p99(duration)
             from SPANS
             where status = 'error' and duration > 250ms
             group by service
             having count(*) > 5
             order by n desc, svc asc, 3
             limit 20 offset 40;";
    let st = parse(q).unwrap();
    assert!(st.explain);
    let sel = &st.select;
    assert_eq!(sel.from, Source::Spans);
    assert_eq!(&q[sel.from_pos.start..sel.from_pos.end], "SPANS");
    assert_eq!(sel.items.len(), 3);
    let SelectItem::Expr { expr, alias } = &sel.items[0] else {
        panic!()
    };
    assert_same(expr, &col("service"));
    assert_eq!(alias.as_ref().unwrap().name, "svc");
    let alias_pos = alias.as_ref().unwrap().pos;
    assert_eq!(&q[alias_pos.start..alias_pos.end], "svc");
    let SelectItem::Expr { expr, alias } = &sel.items[1] else {
        panic!()
    };
    assert!(
        matches!(&expr.kind, ExprKind::Function { name, star: true, args, .. } if name.name == "count" && args.is_empty())
    );
    assert_eq!(alias.as_ref().unwrap().name, "n");
    assert_same(
        sel.filter.as_ref().unwrap(),
        &bin(
            BinaryOp::And,
            bin(BinaryOp::Eq, col("status"), s("error")),
            bin(
                BinaryOp::Gt,
                col("duration"),
                lit(Literal::Duration(250_000_000)),
            ),
        ),
    );
    assert_eq!(sel.group_by.len(), 1);
    assert_same(&sel.group_by[0], &col("service"));
    assert!(sel.having.is_some());
    let order: Vec<(bool, &Expr)> = sel
        .order_by
        .iter()
        .map(|OrderItem { expr, descending }| (*descending, expr))
        .collect();
    assert_eq!(order.len(), 3);
    assert!(order[0].0 && same(order[0].1, &col("n")));
    assert!(!order[1].0 && same(order[1].1, &col("svc")));
    assert!(!order[2].0 && same(order[2].1, &int(3)));
    assert_eq!((sel.limit, sel.offset), (Some(20), Some(40)));
}

#[test]
fn sources_and_keywords_are_case_insensitive() {
    for (q, src) in [
        ("select * from logs", Source::Logs),
        ("SELECT * FROM Spans", Source::Spans),
        ("SeLeCt * FrOm METRICS;", Source::Metrics),
    ] {
        let st = parse(q).unwrap();
        assert_eq!(st.select.from, src);
        assert!(!st.explain);
        assert!(matches!(st.select.items[..], [SelectItem::Wildcard(_)]));
    }
}

#[test]
fn comments_are_skipped() {
    let q = "-- errors per service\nSELECT level -- the level\nFROM logs -- done\n";
    let st = parse(q).unwrap();
    assert_eq!(st.select.items.len(), 1);
}

#[test]
fn star_with_other_items_and_aliases() {
    let st = parse("SELECT *, level AS lvl, message msg, \"Count\" AS \"Total Count\" FROM logs")
        .unwrap();
    let items = &st.select.items;
    assert!(matches!(items[0], SelectItem::Wildcard(_)));
    let aliases: Vec<Option<String>> = items[1..]
        .iter()
        .map(|i| match i {
            SelectItem::Expr { alias, .. } => alias.as_ref().map(|a| a.name.clone()),
            SelectItem::Wildcard(_) => None,
        })
        .collect();
    assert_eq!(
        aliases,
        [
            Some("lvl".to_string()),
            Some("msg".to_string()),
            Some("Total Count".to_string())
        ]
    );
}

#[test]
fn limit_and_offset() {
    let st = parse("SELECT * FROM logs OFFSET 5").unwrap();
    assert_eq!((st.select.limit, st.select.offset), (None, Some(5)));
    let st = parse("SELECT * FROM logs LIMIT 18446744073709551615").unwrap();
    assert_eq!(st.select.limit, Some(u64::MAX));
    let d = first("SELECT * FROM logs LIMIT 18446744073709551616");
    assert!(d.message.contains("LIMIT value is too large"), "{d}");
    assert_eq!(d.column, 26);
}

// ---- names ----

#[test]
fn bare_names_are_lower_cased_quoted_ones_are_not() {
    assert_same(&item("LEVEL"), &col("level"));
    assert_same(&item("\"Level\""), &col("Level"));
    assert_same(&item("`Level`"), &col("Level"));
    assert_same(&item("\"a \"\"b\"\"\""), &col("a \"b\""));
    assert_same(&item("service_name"), &col("service_name"));
}

#[test]
fn attribute_and_resource_paths() {
    for (text, want) in [
        ("attributes.http.method", attr("http.method")),
        ("attributes['http.method']", attr("http.method")),
        ("attributes.http.status_code", attr("http.status_code")),
        ("ATTRIBUTES.Http.Method", attr("Http.Method")),
        ("attrs.user_id", attr("user_id")),
        ("attr.k8s.pod", attr("k8s.pod")),
        ("labels.le", attr("le")),
        ("labels['service.name']", attr("service.name")),
        ("attributes.\"odd key\"", attr("odd key")),
        ("attributes['it''s']", attr("it's")),
        ("resource.host.name", res("host.name")),
        ("resource['host.name']", res("host.name")),
        ("resource.service.name", res("service.name")),
        ("service.name", col("service.name")),
    ] {
        assert_same(&item(text), &want);
    }
    let d = first("SELECT attributes. FROM logs");
    assert!(d.expected.contains(&"an attribute key".to_string()), "{d}");
}

// ---- operators ----

#[test]
fn precedence_or_and_not_comparison_arithmetic() {
    use BinaryOp::*;
    assert_same(
        &cond("a OR b AND c"),
        &bin(Or, col("a"), bin(And, col("b"), col("c"))),
    );
    assert_same(
        &cond("a AND b OR c"),
        &bin(Or, bin(And, col("a"), col("b")), col("c")),
    );
    assert_same(
        &cond("NOT a = 1 AND b"),
        &bin(And, not(bin(Eq, col("a"), int(1))), col("b")),
    );
    assert_same(&cond("NOT NOT a"), &not(not(col("a"))));
    assert_same(
        &cond("x + 2 * 3 > 4 - y"),
        &bin(
            Gt,
            bin(Add, col("x"), bin(Mul, int(2), int(3))),
            bin(Sub, int(4), col("y")),
        ),
    );
    assert_same(
        &item("(1 + 2) * 3"),
        &bin(Mul, bin(Add, int(1), int(2)), int(3)),
    );
    assert_same(
        &item("a - b - c"),
        &bin(Sub, bin(Sub, col("a"), col("b")), col("c")),
    );
    assert_same(
        &item("a / b % c"),
        &bin(Rem, bin(Div, col("a"), col("b")), col("c")),
    );
    assert_same(&item("-x * 2"), &bin(Mul, neg(col("x")), int(2)));
    assert_same(&item("- -x"), &neg(neg(col("x"))));
}

#[test]
fn a_group_keeps_the_position_of_its_parentheses() {
    let q = "SELECT (a + b) * c FROM logs";
    let x = item("(a + b) * c");
    assert_eq!(&q[x.pos.start..x.pos.end], "(a + b) * c");
    let ExprKind::Binary { left, .. } = &x.kind else {
        panic!()
    };
    assert_eq!(&q[left.pos.start..left.pos.end], "(a + b)");
}

#[test]
fn comparison_operators() {
    use BinaryOp::*;
    for (text, op) in [
        ("=", Eq),
        ("==", Eq),
        ("!=", NotEq),
        ("<>", NotEq),
        ("<", Lt),
        ("<=", LtEq),
        (">", Gt),
        (">=", GtEq),
    ] {
        assert_same(
            &cond(&format!("severity {text} 9")),
            &bin(op, col("severity"), int(9)),
        );
    }
}

#[test]
fn predicates() {
    let level = || Box::new(col("level"));
    assert_same(
        &cond("level IN ('warn', 'error')"),
        &e(ExprKind::InList {
            expr: level(),
            list: vec![s("warn"), s("error")],
            negated: false,
        }),
    );
    assert_same(
        &cond("level NOT IN (1 + 1, lower('X'))"),
        &e(ExprKind::InList {
            expr: level(),
            list: vec![
                bin(BinaryOp::Add, int(1), int(1)),
                func("lower", vec![s("X")]),
            ],
            negated: true,
        }),
    );
    assert_same(
        &cond("severity BETWEEN 1 AND 9 AND level = 'x'"),
        &bin(
            BinaryOp::And,
            e(ExprKind::Between {
                expr: Box::new(col("severity")),
                low: Box::new(int(1)),
                high: Box::new(int(9)),
                negated: false,
            }),
            bin(BinaryOp::Eq, col("level"), s("x")),
        ),
    );
    assert!(matches!(
        cond("severity NOT BETWEEN 1 + 1 AND 9").kind,
        ExprKind::Between { negated: true, .. }
    ));
    for (text, ci, negated) in [
        ("LIKE", false, false),
        ("NOT LIKE", false, true),
        ("ILIKE", true, false),
        ("not ilike", true, true),
    ] {
        assert_same(
            &cond(&format!("message {text} '%timeout%'")),
            &e(ExprKind::Like {
                expr: Box::new(col("message")),
                pattern: Box::new(s("%timeout%")),
                case_insensitive: ci,
                negated,
            }),
        );
    }
    assert_same(
        &cond("trace_id IS NULL"),
        &e(ExprKind::IsNull {
            expr: Box::new(col("trace_id")),
            negated: false,
        }),
    );
    assert_same(
        &cond("trace_id IS NOT NULL"),
        &e(ExprKind::IsNull {
            expr: Box::new(col("trace_id")),
            negated: true,
        }),
    );
    assert_same(
        &cond("message CONTAINS 'disk'"),
        &e(ExprKind::Contains {
            expr: Box::new(col("message")),
            pattern: Box::new(s("disk")),
            negated: false,
        }),
    );
    assert!(matches!(
        cond("message NOT CONTAINS 'disk'").kind,
        ExprKind::Contains { negated: true, .. }
    ));
}

#[test]
fn in_subqueries() {
    let x = cond("trace_id IN (SELECT trace_id FROM spans WHERE status = 'error' LIMIT 5)");
    let ExprKind::InSubquery {
        expr,
        query,
        negated,
    } = x.kind
    else {
        panic!("{x:?}")
    };
    assert!(!negated);
    assert_same(&expr, &col("trace_id"));
    assert_eq!(query.from, Source::Spans);
    assert_eq!(query.limit, Some(5));
    assert!(query.filter.is_some());
    assert!(matches!(
        cond("trace_id NOT IN (SELECT trace_id FROM spans)").kind,
        ExprKind::InSubquery { negated: true, .. }
    ));
}

// ---- literals ----

#[test]
fn literals() {
    for (text, want) in [
        ("'it''s'", Literal::String("it's".into())),
        ("''", Literal::String(String::new())),
        ("'multi\nline'", Literal::String("multi\nline".into())),
        ("42", Literal::Int(42)),
        ("-42", Literal::Int(-42)),
        ("9223372036854775807", Literal::Int(i64::MAX)),
        ("-9223372036854775808", Literal::Int(i64::MIN)),
        ("1.5", Literal::Float(1.5)),
        ("1e3", Literal::Float(1000.0)),
        ("2.5E-3", Literal::Float(0.0025)),
        (".5", Literal::Float(0.5)),
        ("-0.25", Literal::Float(-0.25)),
        ("true", Literal::Bool(true)),
        ("FALSE", Literal::Bool(false)),
        ("NULL", Literal::Null),
        ("null", Literal::Null),
    ] {
        assert_same(&item(text), &lit(want));
    }
}

#[test]
fn durations() {
    const S: i64 = 1_000_000_000;
    for (text, nanos) in [
        ("10ns", 10),
        ("3us", 3_000),
        ("3µs", 3_000),
        ("250ms", 250_000_000),
        ("2s", 2 * S),
        ("5m", 300 * S),
        ("1h30m", 5_400 * S),
        ("1h", 3_600 * S),
        ("1d", 86_400 * S),
        ("2w", 2 * 604_800 * S),
        ("1m30s500ms", 90 * S + 500_000_000),
        ("-5m", -300 * S),
    ] {
        assert_same(&item(text), &lit(Literal::Duration(nanos)));
    }
}

#[test]
fn literal_overflow_is_an_error_not_a_panic() {
    let d = first("SELECT 9223372036854775808 FROM logs");
    assert!(d.message.contains("does not fit in 64 bits"), "{d}");
    assert_eq!((d.line, d.column), (1, 8));
    assert!(
        first("SELECT 1e999 FROM logs")
            .message
            .contains("too large")
    );
    let d = first("SELECT 99999999999999999999999w FROM logs");
    assert!(d.message.contains("too long"), "{d}");
    let d = first("SELECT 15251w FROM logs");
    assert!(d.message.contains("too long"), "{d}");
    // Every bad literal is reported, not just the first.
    let all = err("SELECT 99999999999999999999, 1e999 FROM logs WHERE x = 999999999999w");
    assert_eq!(all.len(), 3, "{all}");
}

// ---- functions ----

#[test]
fn functions() {
    let x = item("COUNT(*)");
    assert!(
        matches!(&x.kind, ExprKind::Function { name, args, star: true, distinct: false } if name.name == "count" && args.is_empty())
    );
    let x = item("count(DISTINCT trace_id)");
    let ExprKind::Function {
        args,
        distinct: true,
        star: false,
        ..
    } = &x.kind
    else {
        panic!("{x:?}")
    };
    assert_same(&args[0], &col("trace_id"));
    assert_same(&item("NOW()"), &func("now", vec![]));
    assert_same(
        &item("bucket(timestamp, 5m)"),
        &func(
            "bucket",
            vec![col("timestamp"), lit(Literal::Duration(300_000_000_000))],
        ),
    );
    assert_same(
        &item("round(avg(value), 2)"),
        &func("round", vec![func("avg", vec![col("value")]), int(2)]),
    );
    let q = "SELECT Percentile(duration, 0.99) FROM spans";
    let SelectItem::Expr { expr, .. } = &parse(q).unwrap().select.items[0] else {
        panic!()
    };
    let ExprKind::Function { name, .. } = &expr.kind else {
        panic!()
    };
    assert_eq!(name.name, "percentile");
    assert_eq!(&q[name.pos.start..name.pos.end], "Percentile");
}

#[test]
fn match_is_full_text_search() {
    assert_same(
        &cond("MATCH('timeout \"connection reset\"')"),
        &e(ExprKind::Match {
            query: "timeout \"connection reset\"".into(),
        }),
    );
    assert_same(
        &cond("match('it''s') AND level = 'error'"),
        &bin(
            BinaryOp::And,
            e(ExprKind::Match {
                query: "it's".into(),
            }),
            bin(BinaryOp::Eq, col("level"), s("error")),
        ),
    );
    // Not a string literal: a function call the checker rejects.
    assert_same(&cond("match(level)"), &func("match", vec![col("level")]));
    // `match` is not reserved.
    assert_same(&item("match"), &col("match"));
}

// ---- syntax errors ----

#[test]
fn misspelled_from() {
    let d = first("SELECT * FORM logs");
    assert_eq!((d.line, d.column), (1, 10));
    assert_eq!(d.found, "FORM");
    assert!(
        d.expected.contains(&"`FROM`".to_string()),
        "{:?}",
        d.expected
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `FROM`?"));
    assert_eq!(d.pos, Pos::new(9, 13));
    let text = d.to_string();
    assert!(text.starts_with("line 1, column 10: expected "), "{text}");
    assert!(text.contains("found `FORM`"), "{text}");
}

#[test]
fn a_misspelled_keyword_read_as_an_alias_is_pointed_out() {
    let d = first("SELECT level FORM logs");
    assert_eq!(d.found, "logs");
    assert!(d.expected.contains(&"`FROM`".to_string()));
    assert_eq!(
        d.hint.as_deref(),
        Some("`FORM` was read as a name; did you mean `FROM`?")
    );
}

#[test]
fn errors_on_later_lines() {
    let q = "SELECT level,\n       count(*)\nFROM logs\nWHERE level = 'error'\n  AND AND";
    let d = first(q);
    assert_eq!((d.line, d.column), (5, 7), "{d}");
    assert_eq!(d.found, "AND");
    assert_eq!(d.expected, ["an expression"]);
    assert!(d.to_string().starts_with("line 5, column 7: "));
}

#[test]
fn syntax_error_messages_name_found_and_expected() {
    /// Query, (line, column), found, expected.
    type Case<'a> = (&'a str, (usize, usize), &'a str, &'a [&'a str]);
    let cases: &[Case<'_>] = &[
        ("", (1, 1), "end of input", &["`SELECT`"]),
        ("garbage", (1, 1), "garbage", &["`SELECT`"]),
        (
            "SELECT FROM logs",
            (1, 8),
            "FROM",
            &["an expression", "`*`"],
        ),
        (
            "SELECT * FROM logz",
            (1, 15),
            "logz",
            &["`logs`", "`spans`", "`metrics`"],
        ),
        (
            "SELECT * FROM logs WHERE",
            (1, 25),
            "end of input",
            &["an expression"],
        ),
        ("SELECT count(* FROM logs", (1, 16), "FROM", &["`)`"]),
        ("SELECT * FROM logs WHERE x IN 5", (1, 31), "5", &["`(`"]),
        (
            "SELECT * FROM logs WHERE x IS foo",
            (1, 31),
            "foo",
            &["`NOT`", "`NULL`"],
        ),
        (
            "SELECT * FROM logs ORDER level",
            (1, 26),
            "level",
            &["`BY`"],
        ),
        (
            "SELECT * FROM logs LIMIT x",
            (1, 26),
            "x",
            &["a whole number"],
        ),
        (
            "SELECT * FROM logs WHERE x IN ()",
            (1, 32),
            ")",
            &["an expression", "`SELECT`"],
        ),
        (
            "SELECT * FROM logs WHERE x NOT FOO",
            (1, 32),
            "FOO",
            &["`IN`", "`BETWEEN`", "`LIKE`", "`ILIKE`", "`CONTAINS`"],
        ),
        (
            "SELECT * FROM logs WHERE x BETWEEN 1 5",
            (1, 38),
            "5",
            &["an operator", "`AND`"],
        ),
        ("SELECT * FROM logs;;", (1, 20), ";", &["end of input"]),
    ];
    for &(q, (line, column), found, expected) in cases {
        let d = first(q);
        assert_eq!((d.line, d.column), (line, column), "{q}: {d}");
        assert_eq!(d.found, found, "{q}: {d}");
        assert_eq!(d.expected, expected, "{q}: {d}");
        assert!(!d.message.contains("Rule"), "{q}: {d}");
    }
}

#[test]
fn after_an_expression_operators_and_clauses_are_expected() {
    let d = first("SELECT * FROM logs WHERE level = 'x' LIMT 5");
    assert_eq!(d.found, "LIMT");
    assert_eq!(d.hint.as_deref(), Some("did you mean `LIMIT`?"));
    for want in [
        "an operator",
        "`AND`",
        "`OR`",
        "`GROUP BY`",
        "`LIMIT`",
        "end of input",
    ] {
        assert!(d.expected.contains(&want.to_string()), "{want}: {d}");
    }
}

#[test]
fn helpful_hints() {
    let d = first("SELECT * FROM traces");
    assert_eq!(d.hint.as_deref(), Some("traces are queried as `spans`"));
    let d = first("SELECT * FROM log");
    assert_eq!(d.hint.as_deref(), Some("did you mean `logs`?"));
    let d = first("SELECT * FROM logs WHERE duration > 5m30");
    assert_eq!(d.found, "5m30");
    assert!(d.hint.unwrap().contains("250ms"));
    let d = first("SELECT * FROM logs WHERE order = 5");
    assert!(d.hint.unwrap().contains("quote it"), "keyword as a name");
}

#[test]
fn unterminated_strings_and_names() {
    let d = first("SELECT * FROM logs WHERE message = 'abc");
    assert_eq!(d.message, "unterminated string");
    assert_eq!((d.line, d.column), (1, 36));
    assert_eq!(d.found, "'abc");
    let d = first("SELECT * FROM logs WHERE message = 'it''s");
    assert_eq!(d.message, "unterminated string");
    let d = first("SELECT \"level FROM logs");
    assert_eq!(d.message, "unterminated quoted name");
}

#[test]
fn garbage_bytes_give_clean_errors() {
    for q in [
        "\u{0}",
        "SELECT \u{1}",
        "SELECT * FROM logs WHERE level = \u{7f}",
        "SELECT ☃ FROM logs",
        "SÉLECT * FROM logs",
        "SELECT * FROM logs WHERE 'a' = 'b' \u{feff}",
        "'",
        "\"",
        "`",
        "--",
        "SELECT * FROM logs WHERE attributes[",
        "SELECT * FROM logs WHERE attributes['x'",
        ")))",
        "SELECT (((1 FROM logs",
    ] {
        let all = err(q);
        let d = &all.items[0];
        assert!(d.line >= 1 && d.column >= 1, "{q:?}: {d}");
        assert!(!d.message.is_empty());
    }
    let d = first("SELECT \u{1} FROM logs");
    assert_eq!(d.found, "\\u{1}");
}

#[test]
fn diagnostics_display_and_render() {
    let all = err("SELECT *\nFORM logs");
    let text = all.to_string();
    assert!(text.starts_with("line 2, column 1: expected"), "{text}");
    let rendered = all.render("SELECT *\nFORM logs");
    assert!(rendered.contains("\n  FORM logs\n  ^^^^\n"), "{rendered}");
    let as_error: &dyn std::error::Error = &all;
    assert_eq!(as_error.to_string(), text);
}

// ---- hostile input ----

#[test]
fn deep_parentheses_are_refused_before_parsing() {
    let ok = format!(
        "SELECT {}1{} FROM logs",
        "(".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    );
    on_2mib_stack(move || parse(&ok).map(|_| ()).unwrap());
    for n in [MAX_NESTING + 1, 1_000, 100_000] {
        let q = format!("SELECT {}1{} FROM logs", "(".repeat(n), ")".repeat(n));
        let d = on_2mib_stack(move || first(&q));
        assert!(d.message.contains("too deeply nested"), "{d}");
        assert_eq!(d.column, 8 + MAX_NESTING);
    }
    // Parentheses inside strings, quoted names and comments do not count.
    let q = format!(
        "SELECT '{0}', \"{0}\" FROM logs -- {0}\n",
        "(".repeat(1_000)
    );
    parse(&q).unwrap();
}

#[test]
fn deep_function_calls_and_subqueries() {
    let ok = format!(
        "SELECT {}1{} FROM logs",
        "abs(".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    );
    on_2mib_stack(move || heimsight_query::parse_and_check(&ok).map(|_| ()).unwrap());
    let q = format!(
        "SELECT {}1{} FROM logs",
        "abs(".repeat(1_000),
        ")".repeat(1_000)
    );
    assert!(
        on_2mib_stack(move || err(&q))
            .to_string()
            .contains("too deeply nested")
    );
    let q = format!(
        "SELECT * FROM logs WHERE {}1{}",
        "level IN (SELECT level FROM logs WHERE ".repeat(100),
        ")".repeat(100)
    );
    let d = on_2mib_stack(move || first(&q));
    assert!(d.message.contains("nested subqueries"), "{d}");
}

#[test]
fn long_operator_chains() {
    // Arithmetic chains are left-leaning and bounded.
    let ok = format!("SELECT 1{} FROM logs", " + 1".repeat(MAX_DEPTH - 1));
    on_2mib_stack(move || heimsight_query::parse_and_check(&ok).map(|_| ()).unwrap());
    let q = format!("SELECT 1{} FROM logs", " + 1".repeat(100_000));
    let d = on_2mib_stack(move || first(&q));
    assert!(d.message.contains("too deeply nested"), "{d}");
    // Prefix operators too.
    let q = format!("SELECT * FROM logs WHERE {} true", "NOT ".repeat(100_000));
    assert!(
        on_2mib_stack(move || first(&q))
            .message
            .contains("too deeply nested")
    );
    let q = format!("SELECT {} severity FROM logs", "- ".repeat(100_000));
    assert!(
        on_2mib_stack(move || first(&q))
            .message
            .contains("too deeply nested")
    );
    // A negated literal is folded, however many signs.
    assert_same(&item(&format!("{}5", "- ".repeat(1_001))), &int(-5));
}

#[test]
fn long_or_chains_are_balanced() {
    // Short chains are left-leaning.
    assert_same(
        &cond("a OR b OR c"),
        &bin(
            BinaryOp::Or,
            bin(BinaryOp::Or, col("a"), col("b")),
            col("c"),
        ),
    );
    // Long ones (generated filters) are balanced, so they stay shallow.
    let q = format!(
        "SELECT * FROM logs WHERE {}",
        (0..20_000)
            .map(|i| format!("service = 's{i}'"))
            .collect::<Vec<_>>()
            .join(" OR ")
    );
    let checked = on_2mib_stack(move || heimsight_query::parse_and_check(&q).map(|_| ()));
    checked.unwrap();
}

#[test]
fn an_in_list_of_100_000_items() {
    let list = (0..100_000)
        .map(|i| format!("'v{i}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let q = format!("SELECT * FROM logs WHERE level IN ({list})");
    let st = on_2mib_stack(move || parse(&q).unwrap());
    let ExprKind::InList { list, .. } = st.select.filter.unwrap().kind else {
        panic!()
    };
    assert_eq!(list.len(), 100_000);
    assert_same(&list[99_999], &s("v99999"));
}

#[test]
fn a_one_megabyte_query() {
    let big = "x".repeat(1 << 20);
    let q = format!("SELECT * FROM logs WHERE message = '{big}'");
    let st = parse(&q).unwrap();
    assert!(st.select.filter.is_some());
    // Unterminated, the string runs to the end: still one clean error.
    let q = format!("SELECT * FROM logs WHERE message = '{big}");
    let d = first(&q);
    assert_eq!(d.message, "unterminated string");
    assert!(d.found.chars().count() <= 41);
    // Whitespace and comments.
    parse(&format!(
        "SELECT * FROM logs {}",
        " \n-- c\n".repeat(1 << 17)
    ))
    .unwrap();
    // Many select items.
    let q = format!("SELECT {} FROM logs", vec!["level"; 20_000].join(", "));
    assert_eq!(parse(&q).unwrap().select.items.len(), 20_000);
}
