//! Running statements that are not text: `run_checked` over a checked statement (parsed and
//! checked, or built in code and printed with `unparse::render_with_positions`) gives what
//! `run` gives for the text.
#![allow(clippy::unwrap_used)]

use heimsight_core::Timestamp;
use heimsight_query::ast::{Pos, Select, SelectItem, Source, Statement};
use heimsight_query::unparse::{render, render_with_positions};
use heimsight_query::{
    Output, QueryError, Request, Value, check, parse_and_check, parse_expr, run, run_checked,
    testkit,
};
use heimsight_store::MemoryStore;

/// The golden data's clock: every relative condition (`now() - 1h`) sees the same data.
const NOW: Timestamp = Timestamp(1_795_651_200_000_000_000);

fn store() -> MemoryStore {
    let store = MemoryStore::new();
    testkit::load(&store);
    store
}

/// What an answer shows: columns, rows, whether rows were cut, the plan.
fn shown(out: &Output) -> (Vec<String>, Vec<Vec<Value>>, bool, Vec<String>) {
    (
        out.result.columns.iter().map(|c| c.name.clone()).collect(),
        out.result.rows.clone(),
        out.result.truncated,
        out.plan.lines(),
    )
}

#[test]
fn a_checked_statement_runs_like_its_text() {
    let store = store();
    let mut ran = 0;
    for case in testkit::cases() {
        let Ok(checked) = parse_and_check(&case.query) else {
            continue;
        };
        let req = Request::new(&case.query).with_now(NOW);
        match (run(&store, &req), run_checked(&store, &req, checked)) {
            (Ok(a), Ok(b)) => {
                assert_eq!(shown(&a), shown(&b), "{}", case.query);
                assert_eq!(a.explain, b.explain);
                ran += 1;
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{}", case.query),
            (a, b) => panic!("{}: run gave {a:?}, run_checked {b:?}", case.query),
        }
    }
    assert!(ran > 40, "only {ran} golden queries ran");
}

#[test]
fn a_printed_checked_statement_runs_the_same() {
    // The normalized statement (aliases resolved, `*` expanded, `p99` as `percentile`)
    // printed is a query that gives the same rows.
    let store = store();
    for case in testkit::cases() {
        let Ok(checked) = parse_and_check(&case.query) else {
            continue;
        };
        let text = render(&checked.statement);
        let (Ok(a), Ok(b)) = (
            run(&store, &Request::new(&case.query).with_now(NOW)),
            run(&store, &Request::new(&text).with_now(NOW)),
        ) else {
            continue;
        };
        assert_eq!(
            a.result.rows, b.result.rows,
            "{}\nprinted as {text}",
            case.query
        );
    }
}

fn statement(filter: &str, items: &[&str], from: Source) -> Statement {
    Statement {
        explain: false,
        select: Select {
            items: items
                .iter()
                .map(|i| SelectItem::Expr {
                    expr: parse_expr(i).unwrap(),
                    alias: None,
                })
                .collect(),
            from,
            from_pos: Pos::default(),
            filter: Some(parse_expr(filter).unwrap()),
            group_by: vec![],
            having: None,
            order_by: vec![],
            limit: None,
            offset: None,
            pos: Pos::default(),
        },
    }
}

#[test]
fn a_statement_built_in_code_runs_without_its_text() {
    let store = store();
    let mut stmt = statement(
        "service IN (SELECT service FROM spans WHERE status = 'error')",
        &["service", "count(*)"],
        Source::Logs,
    );
    stmt.select.group_by = vec![parse_expr("service").unwrap()];
    stmt.select.order_by = vec![heimsight_query::ast::OrderItem {
        expr: parse_expr("service").unwrap(),
        descending: false,
    }];
    let text = render_with_positions(&mut stmt);
    assert_eq!(
        text,
        "SELECT service, count(*) FROM logs WHERE service IN (SELECT service FROM spans WHERE status = 'error') GROUP BY service ORDER BY service"
    );
    let checked = check(stmt.clone(), &text).unwrap();
    let by_text = run(&store, &Request::new(&text).with_now(NOW)).unwrap();
    // Without the text the answer is the same; the plan prints the conditions it cannot
    // quote (the subquery already replaced by its values).
    let without = run_checked(&store, &Request::new("").with_now(NOW), checked.clone()).unwrap();
    let (a, b) = (shown(&by_text), shown(&without));
    assert_eq!((&a.0, &a.1, a.2), (&b.0, &b.1, b.2));
    assert!(!without.result.rows.is_empty());
    assert_eq!(a.3.len(), b.3.len());
    assert!(
        b.3.iter()
            .any(|l| l.starts_with("  pushed down: service IN ('")),
        "{:?}",
        b.3
    );
    assert!(b.3.contains(&"      filtered after reading: status = 'error'".to_string()));
    let with = run_checked(&store, &Request::new(&text).with_now(NOW), checked).unwrap();
    assert_eq!(shown(&by_text), shown(&with));

    // EXPLAIN is the statement's.
    stmt.explain = true;
    let text = render_with_positions(&mut stmt);
    let checked = check(stmt, &text).unwrap();
    let out = run_checked(&store, &Request::new(&text).with_now(NOW), checked).unwrap();
    assert!(out.explain);
    assert_eq!(out.result.columns[0].name, "plan");
}

#[test]
fn run_checked_admits_requests_like_run() {
    let store = store();
    let text = "SELECT count(*) FROM logs";
    let checked = parse_and_check(text).unwrap();
    let empty = Request::new(text).with_range(Some(Timestamp(5)), Some(Timestamp(5)));
    assert!(matches!(
        run_checked(&store, &empty, checked.clone()),
        Err(QueryError::EmptyRange { .. })
    ));
    let limits = heimsight_query::Limits::default().with_max_query_bytes(4);
    let long = Request::new(text).with_limits(limits);
    assert!(matches!(
        run_checked(&store, &long, checked),
        Err(QueryError::TooLong { .. })
    ));
}
