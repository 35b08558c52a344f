//! The canonical printer (`unparse`): every query of this crate's tests, test kit and docs
//! prints to text that parses back to the same syntax tree, with the positions the parser
//! would give; targeted cases for precedence, quoting and names; random syntax trees.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use heimsight_query::ast::{
    BinaryOp, ColumnRef, Expr, ExprKind, Ident, Literal, OrderItem, Pos, Select, SelectItem,
    Source, Statement, UnaryOp,
};
use heimsight_query::parser::BALANCE_LOGICAL_CHAINS;
use heimsight_query::unparse::{
    render, render_expr, render_expr_with_positions, render_with_positions,
};
use heimsight_query::{check, parse, parse_expr, testkit};

// ---------------------------------------------------------------------------------------
// Positions erased, for comparisons that ignore them
// ---------------------------------------------------------------------------------------

fn strip_expr(e: &mut Expr) {
    e.pos = Pos::default();
    match &mut e.kind {
        ExprKind::Literal(_) | ExprKind::Column(_) | ExprKind::Match { .. } => {}
        ExprKind::Unary { expr, .. } | ExprKind::IsNull { expr, .. } => strip_expr(expr),
        ExprKind::Binary { left, right, .. } => {
            strip_expr(left);
            strip_expr(right);
        }
        ExprKind::Function { name, args, .. } => {
            name.pos = Pos::default();
            args.iter_mut().for_each(strip_expr);
        }
        ExprKind::InList { expr, list, .. } => {
            strip_expr(expr);
            list.iter_mut().for_each(strip_expr);
        }
        ExprKind::InSubquery { expr, query, .. } => {
            strip_expr(expr);
            strip_select(query);
        }
        ExprKind::Between {
            expr, low, high, ..
        } => {
            strip_expr(expr);
            strip_expr(low);
            strip_expr(high);
        }
        ExprKind::Like { expr, pattern, .. } | ExprKind::Contains { expr, pattern, .. } => {
            strip_expr(expr);
            strip_expr(pattern);
        }
    }
}

fn strip_select(s: &mut Select) {
    s.pos = Pos::default();
    s.from_pos = Pos::default();
    for item in &mut s.items {
        match item {
            SelectItem::Wildcard(pos) => *pos = Pos::default(),
            SelectItem::Expr { expr, alias } => {
                strip_expr(expr);
                if let Some(a) = alias {
                    a.pos = Pos::default();
                }
            }
        }
    }
    s.filter.iter_mut().for_each(strip_expr);
    s.group_by.iter_mut().for_each(strip_expr);
    s.having.iter_mut().for_each(strip_expr);
    for o in &mut s.order_by {
        strip_expr(&mut o.expr);
    }
}

fn stripped(s: &Statement) -> Statement {
    let mut s = s.clone();
    strip_select(&mut s.select);
    s
}

fn stripped_expr(e: &Expr) -> Expr {
    let mut e = e.clone();
    strip_expr(&mut e);
    e
}

// ---------------------------------------------------------------------------------------
// The corpus: string literals of the tests, test kit and sources, and the golden queries
// ---------------------------------------------------------------------------------------

const SOURCES: &[&str] = &[
    include_str!("parser.rs"),
    include_str!("check.rs"),
    include_str!("exec.rs"),
    include_str!("golden.rs"),
    include_str!("pushdown.rs"),
    include_str!("embed.rs"),
    include_str!("../src/testkit/mod.rs"),
    include_str!("../src/testkit/pushdown.rs"),
    include_str!("../src/lib.rs"),
    include_str!("../src/parser.rs"),
    include_str!("../src/check.rs"),
    include_str!("../src/engine.rs"),
    include_str!("../src/exec.rs"),
    include_str!("../src/eval.rs"),
    include_str!("../src/diagnostic.rs"),
    include_str!("../src/schema.rs"),
    include_str!("../src/ast.rs"),
];

/// The string literals (`"…"`, `r"…"`, `r#"…"#`, escapes resolved) of Rust source `src`,
/// also those in comments (doc tests), a comment's only within its line.
fn string_literals(src: &str, out: &mut Vec<String>) {
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |n| i + n);
            let line: String = chars[i + 2..end].iter().collect();
            string_literals(&line, out);
            i = end;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{7f}', b'"') or a lifetime.
            if chars.get(i + 1) == Some(&'\\') {
                let close = chars[i + 3..].iter().position(|&c| c == '\'');
                i = close.map_or(i + 1, |n| i + 3 + n + 1);
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c == 'r'
            && (!prev_ident
                || (i > 0 && chars[i - 1] == 'b' && !(i > 1 && chars[i - 2].is_alphanumeric())))
            && matches!(chars.get(i + 1), Some('"' | '#'))
        {
            let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                i += 1;
                continue;
            }
            let start = i + 2 + hashes;
            let mut j = start;
            let mut found = None;
            while j < chars.len() {
                if chars[j] == '"'
                    && chars[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&c| c == '#')
                        .count()
                        == hashes
                {
                    found = Some(j);
                    break;
                }
                j += 1;
            }
            match found {
                Some(end) => {
                    out.push(chars[start..end].iter().collect());
                    i = end + 1 + hashes;
                }
                None => i = chars.len(),
            }
        } else if c == '"' {
            let mut s = String::new();
            let mut j = i + 1;
            let mut closed = false;
            while j < chars.len() {
                match chars[j] {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => {
                        j += 1;
                        match chars.get(j) {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some('0') => s.push('\0'),
                            Some('u') => {
                                let close = chars[j..].iter().position(|&c| c == '}').unwrap_or(0);
                                let hex: String = chars[j + 2..j + close].iter().collect();
                                if let Some(c) =
                                    u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                                {
                                    s.push(c);
                                }
                                j += close;
                            }
                            Some('x') => {
                                let hex: String =
                                    chars[j + 1..(j + 3).min(chars.len())].iter().collect();
                                if let Some(c) =
                                    u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                                {
                                    s.push(c);
                                }
                                j += 2;
                            }
                            Some('\n') => {
                                while chars.get(j + 1).is_some_and(|c| c.is_whitespace()) {
                                    j += 1;
                                }
                            }
                            Some(&other) => s.push(other),
                            None => {}
                        }
                    }
                    other => s.push(other),
                }
                j += 1;
            }
            if closed {
                out.push(s);
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
}

/// Every text of the corpus that parses: whole queries, and fragments as a `WHERE`
/// condition or a select item.
fn corpus() -> Vec<String> {
    let mut texts = Vec::new();
    for src in SOURCES {
        string_literals(src, &mut texts);
    }
    texts.extend(testkit::cases().into_iter().map(|c| c.query));
    let mut queries = BTreeSet::new();
    for t in &texts {
        for q in [
            t.clone(),
            format!("SELECT * FROM logs WHERE {t}"),
            format!("SELECT {t} FROM logs"),
        ] {
            if parse(&q).is_ok() {
                queries.insert(q);
            }
        }
    }
    queries.into_iter().collect()
}

// ---------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------

/// `render` of `stmt` parses back to `stmt` (positions aside), `render_with_positions`
/// gives exactly the tree the parser gives for the printed text, and printing is
/// idempotent.
fn assert_round_trip(original: &str, stmt: &Statement) {
    let text = render(stmt);
    let back = parse(&text)
        .unwrap_or_else(|e| panic!("{original:?}\nprinted as {text:?}\ndoes not parse: {e}"));
    assert_eq!(
        stripped(&back),
        stripped(stmt),
        "{original:?}\nprinted as {text:?}\nparses to another tree"
    );
    let mut positioned = stmt.clone();
    let text2 = render_with_positions(&mut positioned);
    assert_eq!(text2, text, "render and render_with_positions differ");
    assert_eq!(
        positioned, back,
        "{original:?}\nprinted as {text:?}\npositions differ from the parser's"
    );
    assert_eq!(
        render(&back),
        text,
        "{original:?}: printing is not idempotent"
    );
}

#[test]
fn every_query_of_the_corpus_round_trips() {
    let corpus = corpus();
    // The tests, sources and golden file hold several hundred queries; a broken extractor
    // would find few.
    assert!(
        corpus.len() > 500,
        "only {} queries in the corpus",
        corpus.len()
    );
    for q in &corpus {
        let stmt = parse(q).unwrap();
        assert_round_trip(q, &stmt);
    }
}

#[test]
fn every_golden_query_round_trips() {
    let cases = testkit::cases();
    let mut parsed = 0;
    for case in &cases {
        if let Ok(stmt) = parse(&case.query) {
            assert_round_trip(&case.query, &stmt);
            parsed += 1;
        }
    }
    assert!(parsed > 50, "only {parsed} golden queries parse");
}

#[test]
fn checked_statements_print_and_check_the_same() {
    // A checked statement prints too; its text checks to the same normalized statement.
    for case in testkit::cases() {
        let Ok(checked) = heimsight_query::parse_and_check(&case.query) else {
            continue;
        };
        let text = render(&checked.statement);
        let again = heimsight_query::parse_and_check(&text)
            .unwrap_or_else(|e| panic!("{}: {text:?}: {e}", case.query));
        assert_eq!(
            stripped(&again.statement),
            stripped(&checked.statement),
            "{}: {text}",
            case.query
        );
        assert_eq!(again.aggregate, checked.aggregate);
    }
}

// ---------------------------------------------------------------------------------------
// Targeted cases
// ---------------------------------------------------------------------------------------

/// The canonical text of the condition `cond`.
fn canon(cond: &str) -> String {
    let e = parse_expr(cond).unwrap_or_else(|err| panic!("{cond}: {err}"));
    let text = render_expr(&e);
    let back = parse_expr(&text).unwrap_or_else(|err| panic!("{cond} -> {text}: {err}"));
    assert_eq!(stripped_expr(&back), stripped_expr(&e), "{cond} -> {text}");
    text
}

#[test]
fn parentheses_only_where_precedence_needs_them() {
    for (input, want) in [
        ("(a OR b) AND c", "(a OR b) AND c"),
        ("a OR b AND c", "a OR b AND c"),
        ("(a OR b) OR c", "a OR b OR c"),
        ("a OR (b OR c)", "a OR (b OR c)"),
        ("(a AND b) AND c", "a AND b AND c"),
        ("a AND (b AND c)", "a AND (b AND c)"),
        ("a - (b - c)", "a - (b - c)"),
        ("(a - b) - c", "a - b - c"),
        ("a - (b + c)", "a - (b + c)"),
        ("a + (b * c)", "a + b * c"),
        ("(a + b) * c", "(a + b) * c"),
        ("a / (b * c)", "a / (b * c)"),
        ("a * (b % c)", "a * (b % c)"),
        ("NOT (a AND b)", "NOT (a AND b)"),
        ("NOT (a = b)", "NOT a = b"),
        ("NOT NOT a", "NOT NOT a"),
        ("(NOT a) = b", "(NOT a) = b"),
        ("NOT a AND b", "NOT a AND b"),
        ("-(x)", "-x"),
        ("-(x + y)", "-(x + y)"),
        ("-x * y", "-x * y"),
        ("-(x * y)", "-(x * y)"),
        ("- -x", "- -x"),
        ("-(-x)", "- -x"),
        ("-(5)", "-(5)"),
        ("-5", "-5"),
        ("- 5", "-5"),
        ("-(-5)", "-(-5)"),
        ("- -5", "5"),
        ("a - -5", "a - -5"),
        ("a - (-5)", "a - -5"),
        ("a * -b", "a * -b"),
        ("-(5m)", "-(5m)"),
        ("-1.5", "-1.5"),
        ("-(1.5)", "-(1.5)"),
        ("-NULL", "-NULL"),
        ("(a = b) = c", "(a = b) = c"),
        ("a = (b = c)", "a = (b = c)"),
        ("(a < b) IS NULL", "(a < b) IS NULL"),
        ("a + b IS NOT NULL", "a + b IS NOT NULL"),
        ("x BETWEEN a AND b AND c", "x BETWEEN a AND b AND c"),
        ("x BETWEEN (a AND b) AND c", "x BETWEEN (a AND b) AND c"),
        (
            "x NOT BETWEEN 1 + 1 AND 5 * 2",
            "x NOT BETWEEN 1 + 1 AND 5 * 2",
        ),
        ("x IN (1, a OR b, -2)", "x IN (1, a OR b, -2)"),
        ("(x = 1) IN (true)", "(x = 1) IN (true)"),
        ("x + 1 NOT IN ('a')", "x + 1 NOT IN ('a')"),
        ("message NOT LIKE '%a%'", "message NOT LIKE '%a%'"),
        ("message ILIKE 'A' -- b", "message ILIKE 'A'"),
        ("message NOT ILIKE ('a')", "message NOT ILIKE 'a'"),
        (
            "message CONTAINS 'x' OR message NOT CONTAINS 'y'",
            "message CONTAINS 'x' OR message NOT CONTAINS 'y'",
        ),
        (
            "match('refused') AND NOT MATCH('a \"b c\"')",
            "MATCH('refused') AND NOT MATCH('a \"b c\"')",
        ),
        ("COUNT(*) > 5", "count(*) > 5"),
        (
            "count(distinct trace_id) = 1",
            "count(DISTINCT trace_id) = 1",
        ),
        ("now() - timestamp < 5m", "now() - timestamp < 5m"),
        ("round(x, 2) <> 1", "round(x, 2) != 1"),
        ("x == 1", "x = 1"),
        ("duration > 1h30m", "duration > 1h30m"),
        ("duration > 90m", "duration > 1h30m"),
        ("duration >= 2w", "duration >= 14d"),
        ("duration >= 0ms", "duration >= 0s"),
        ("duration < 250ms", "duration < 250ms"),
        ("f > 1e3", "f > 1000.0"),
        ("f > 1e300", "f > 1e300"),
        ("f > .5", "f > 0.5"),
        (
            "b = TRUE OR c = False OR d IS NULL",
            "b = true OR c = false OR d IS NULL",
        ),
        ("x = null", "x = NULL"),
    ] {
        assert_eq!(canon(input), want, "{input}");
    }
}

#[test]
fn strings_are_quoted_with_doubled_quotes() {
    assert_eq!(canon("message = 'it''s'"), "message = 'it''s'");
    assert_eq!(canon("message = ''''"), "message = ''''");
    assert_eq!(canon("message = ''"), "message = ''");
    assert_eq!(
        canon("message = 'a -- not a comment\nsecond line'"),
        "message = 'a -- not a comment\nsecond line'"
    );
    assert_eq!(
        canon("MATCH('don''t \"stop\"')"),
        "MATCH('don''t \"stop\"')"
    );
    let e = Expr::new(
        ExprKind::Literal(Literal::String("it's (not) \"x\" `y` -- z".into())),
        Pos::default(),
    );
    let text = render_expr(&e);
    assert_eq!(text, "'it''s (not) \"x\" `y` -- z'");
    assert_eq!(
        stripped_expr(&parse_expr(&text).unwrap()),
        stripped_expr(&e)
    );
}

#[test]
fn names_are_quoted_when_they_need_it() {
    for (input, want) in [
        ("level = 'x'", "level = 'x'"),
        ("LEVEL = 'x'", "level = 'x'"),
        ("\"Level\" = 'x'", "\"Level\" = 'x'"),
        ("`Level` = 'x'", "\"Level\" = 'x'"),
        ("\"order\" = 5", "\"order\" = 5"),
        ("\"select\" = 5", "\"select\" = 5"),
        ("\"null\" IS NULL", "\"null\" IS NULL"),
        ("match = 1", "match = 1"),
        ("\"two words\" = 1", "\"two words\" = 1"),
        ("\"say \"\"hi\"\"\" = 1", "\"say \"\"hi\"\"\" = 1"),
        ("`a``b` = 1", "\"a`b\" = 1"),
        ("\"1st\" = 1", "\"1st\" = 1"),
        ("\"\" = 1", "\"\" = 1"),
        ("\"größe\" = 1", "\"größe\" = 1"),
        ("_x9 = 1", "_x9 = 1"),
        ("http.method = 1", "http.method = 1"),
        ("http.Method = 1", "http.Method = 1"),
        ("\"http.method\" = 1", "http.method = 1"),
        ("\"attributes.x\" = 1", "\"attributes.x\" = 1"),
        ("\"Http.method\" = 1", "\"Http.method\" = 1"),
        ("\"a..b\" = 1", "\"a..b\" = 1"),
        (
            "attributes.http.method = 'GET'",
            "attributes.http.method = 'GET'",
        ),
        ("attrs.x = 1", "attributes.x = 1"),
        (
            "attributes['http.method'] = 'GET'",
            "attributes.http.method = 'GET'",
        ),
        ("attributes['k y'] = 1", "attributes['k y'] = 1"),
        ("attributes['it''s'] = 1", "attributes['it''s'] = 1"),
        ("attributes[''] = 1", "attributes[''] = 1"),
        ("attributes['a.'] = 1", "attributes['a.'] = 1"),
        (
            "attributes.\"Weird Key\" = 1",
            "attributes['Weird Key'] = 1",
        ),
        ("resource.host.name = 'a'", "resource.host.name = 'a'"),
        ("resource['host name'] = 'a'", "resource['host name'] = 'a'"),
        ("attributes.User_ID = 1", "attributes.User_ID = 1"),
        ("attributes.2xx = 1", "attributes.2xx = 1"),
    ] {
        assert_eq!(canon(input), want, "{input}");
    }
}

#[test]
fn statements_print_every_clause() {
    for (input, want) in [
        ("select * from LOGS", "SELECT * FROM logs"),
        (
            "explain select service as svc, count(*) n, p99(duration)\n from SPANS\n where status = 'error' and duration > 250ms\n group by service having count(*) > 5\n order by n desc, svc asc, 3 limit 20 offset 40;",
            "EXPLAIN SELECT service AS svc, count(*) AS n, p99(duration) FROM spans WHERE status = 'error' AND duration > 250ms GROUP BY service HAVING count(*) > 5 ORDER BY n DESC, svc, 3 LIMIT 20 OFFSET 40",
        ),
        (
            "SELECT \"Count\" AS \"Total Count\", level lvl FROM logs OFFSET 5",
            "SELECT \"Count\" AS \"Total Count\", level AS lvl FROM logs OFFSET 5",
        ),
        (
            "SELECT labels.host, labels['a b'], attributes.x FROM metrics -- c",
            "SELECT labels.host, labels['a b'], labels.x FROM metrics",
        ),
        (
            "SELECT message FROM logs WHERE trace_id IN (SELECT trace_id FROM spans WHERE status = 'error' AND attributes.x = 1 LIMIT 5) AND x NOT IN (select a from metrics where labels.y = 2)",
            "SELECT message FROM logs WHERE trace_id IN (SELECT trace_id FROM spans WHERE status = 'error' AND attributes.x = 1 LIMIT 5) AND x NOT IN (SELECT a FROM metrics WHERE labels.y = 2)",
        ),
        (
            "SELECT * FROM logs LIMIT 18446744073709551615",
            "SELECT * FROM logs LIMIT 18446744073709551615",
        ),
    ] {
        let stmt = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(render(&stmt), want, "{input}");
        assert_round_trip(input, &stmt);
    }
}

#[test]
fn extreme_literals_round_trip() {
    for cond in [
        "x = -9223372036854775808",
        "x = 9223372036854775807",
        "x = -9223372036854775808ns",
        "x = 9223372036854775807ns",
        "x = 5e-324",
        "x = 1.7976931348623157e308",
        "x = -0.0",
        "x = 0.1",
        "x = 123456789012345680000.0",
        "x = 1µs",
        "x = 3us",
    ] {
        canon(cond);
    }
}

#[test]
fn long_and_or_chains_stay_the_same_tree() {
    // Chains longer than BALANCE_LOGICAL_CHAINS are built balanced; one built left-leaning
    // (through parentheses, or in code) must not print as such a chain.
    let n = BALANCE_LOGICAL_CHAINS * 3 + 2;
    for op in [BinaryOp::And, BinaryOp::Or] {
        let mut left = col("c0");
        for i in 1..n {
            left = bin(op, left, col(&format!("c{i}")));
        }
        let text = render_expr(&left);
        let back = parse_expr(&text).unwrap();
        assert_eq!(stripped_expr(&back), stripped_expr(&left), "{text}");
        // And a balanced one, as the parser builds it.
        let chain: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        let q = chain.join(if op == BinaryOp::And { " AND " } else { " OR " });
        let parsed = parse_expr(&q).unwrap();
        let text = render_expr(&parsed);
        assert_eq!(
            stripped_expr(&parse_expr(&text).unwrap()),
            stripped_expr(&parsed)
        );
    }
}

#[test]
fn and_or_trees_of_any_shape_stay_the_same_tree() {
    // Random shapes around the balancing threshold: split anywhere, as the parser splits
    // (balanced), left- or right-leaning; mostly one operator, so chains get long.
    fn tree(r: &mut Rng, leaves: usize, next: &mut usize, op: BinaryOp) -> Expr {
        if leaves == 1 {
            *next += 1;
            return col(&format!("c{next}"));
        }
        let left = match r.below(4) {
            0 => 1 + r.below(leaves - 1),
            1 => leaves / 2,
            2 => leaves - 1,
            _ => 1,
        };
        let op = if r.below(8) == 0 {
            if op == BinaryOp::And {
                BinaryOp::Or
            } else {
                BinaryOp::And
            }
        } else {
            op
        };
        let l = tree(r, left, next, op);
        let rt = tree(r, leaves - left, next, op);
        bin(op, l, rt)
    }
    let mut r = Rng(0x2545_F491_4F6C_DD1D);
    for _ in 0..2000 {
        let leaves = 1 + r.below(BALANCE_LOGICAL_CHAINS * 4);
        let op = *r.pick(&[BinaryOp::And, BinaryOp::Or]);
        let expr = tree(&mut r, leaves, &mut 0, op);
        let text = render_expr(&expr);
        let back = parse_expr(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(stripped_expr(&back), stripped_expr(&expr), "{text}");
        let mut positioned = expr.clone();
        assert_eq!(render_expr_with_positions(&mut positioned), text);
        assert_eq!(positioned, back, "{text}");
    }
}

#[test]
fn parse_expr_reads_one_expression() {
    // Only whitespace and comments may follow the expression.
    let e = parse_expr(" level = 'error' -- errors only\n").unwrap();
    assert_eq!((e.pos.start, e.pos.end), (1, 16));
    assert_eq!(render_expr(&e), "level = 'error'");
    for (text, column, found) in [
        ("level = 'error' LIMIT 5", 17, "LIMIT"),
        ("level = 'error' ORDER BY x", 17, "ORDER"),
        ("level = 'error';", 16, ";"),
        ("level = 'error')", 16, ")"),
        ("a b", 3, "b"),
        ("", 1, "end of input"),
        ("SELECT * FROM logs", 1, "SELECT"),
    ] {
        let err = parse_expr(text).unwrap_err();
        let d = &err.items[0];
        assert_eq!(
            (d.line, d.column, d.found.as_str()),
            (1, column, found),
            "{text}"
        );
    }
    // Literal problems are reported as by `parse`, with the same positions.
    let err = parse_expr("x = 99999999999999999999 OR y = 1e999").unwrap_err();
    assert_eq!(err.len(), 2);
    let whole =
        parse("SELECT * FROM logs WHERE x = 99999999999999999999 OR y = 1e999").unwrap_err();
    let messages = |d: &heimsight_query::Diagnostics| -> Vec<String> {
        d.items.iter().map(|i| i.message.clone()).collect()
    };
    assert_eq!(messages(&err), messages(&whole));
}

#[test]
fn positions_point_into_the_printed_text() {
    // A statement assembled from pieces parsed separately has positions into those pieces;
    // render_with_positions moves them into its text, so the checker's carets and output
    // names are right.
    let filter = parse_expr("levle = 'error'").unwrap();
    let group = parse_expr("service").unwrap();
    let mut stmt = Statement {
        explain: false,
        select: Select {
            items: vec![
                SelectItem::Expr {
                    expr: group.clone(),
                    alias: None,
                },
                SelectItem::Expr {
                    expr: parse_expr("count(*)").unwrap(),
                    alias: None,
                },
            ],
            from: Source::Logs,
            from_pos: Pos::default(),
            filter: Some(filter),
            group_by: vec![group],
            having: None,
            order_by: vec![],
            limit: None,
            offset: None,
            pos: Pos::default(),
        },
    };
    let text = render_with_positions(&mut stmt);
    assert_eq!(
        text,
        "SELECT service, count(*) FROM logs WHERE levle = 'error' GROUP BY service"
    );
    let err = check(stmt.clone(), &text).unwrap_err();
    let d = &err.items[0];
    assert_eq!((d.line, d.column, d.found.as_str()), (1, 42, "levle"));
    assert_eq!(err, heimsight_query::parse_and_check(&text).unwrap_err());

    let mut ok = stmt;
    ok.select.filter = Some(parse_expr("level = 'error'").unwrap());
    let text = render_with_positions(&mut ok);
    let checked = check(ok, &text).unwrap();
    let names: Vec<&str> = checked.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["service", "count(*)"]);
    assert_eq!(checked, heimsight_query::parse_and_check(&text).unwrap());

    // The expression printer sets positions too.
    let mut e = parse_expr("  (a +  b) *c").unwrap();
    let text = render_expr_with_positions(&mut e);
    assert_eq!(text, "(a + b) * c");
    assert_eq!(e, parse_expr(&text).unwrap());
}

// ---------------------------------------------------------------------------------------
// Random syntax trees
// ---------------------------------------------------------------------------------------

fn e(kind: ExprKind) -> Expr {
    Expr::new(kind, Pos::default())
}
fn col(n: &str) -> Expr {
    e(ExprKind::Column(ColumnRef::Named(n.into())))
}
fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
    e(ExprKind::Binary {
        op,
        left: Box::new(l),
        right: Box::new(r),
    })
}

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const NAMES: &[&str] = &[
    "level",
    "service",
    "x",
    "Mixed",
    "order",
    "two words",
    "say \"hi\"",
    "a`b",
    "",
    "1st",
    "größe",
    "match",
    "http.method",
    "a.B",
    "attributes.x",
    "a..b",
    "null",
    "_",
];
const KEYS: &[&str] = &[
    "k",
    "http.method",
    "a b",
    "it's",
    "",
    "a.",
    ".a",
    "X_1",
    "2xx",
    "ö",
];
const STRINGS: &[&str] = &["", "error", "it's", "''", "-- x", "a\nb", "\"q\"", "%_"];
const FUNCTIONS: &[&str] = &[
    "count",
    "sum",
    "lower",
    "coalesce",
    "now",
    "percentile",
    "bucket",
];

fn literal(r: &mut Rng) -> Literal {
    match r.below(7) {
        0 => Literal::String((*r.pick(STRINGS)).into()),
        1 => Literal::Int(*r.pick(&[0, 1, -1, 42, i64::MAX, i64::MIN, -7])),
        2 => {
            let f = f64::from_bits(r.next());
            Literal::Float(if f.is_finite() {
                f
            } else {
                *r.pick(&[0.5, -2.25, 1e20, 3.0])
            })
        }
        3 => Literal::Bool(r.below(2) == 0),
        4 => Literal::Null,
        5 => Literal::Duration(*r.pick(&[
            0,
            1,
            -1,
            250_000_000,
            5_400_000_000_000,
            i64::MAX,
            i64::MIN,
            -60_000_000_000,
        ])),
        _ => Literal::Int(r.next() as i64),
    }
}

fn leaf(r: &mut Rng) -> Expr {
    match r.below(6) {
        0 | 1 => e(ExprKind::Literal(literal(r))),
        2 => e(ExprKind::Column(ColumnRef::Named((*r.pick(NAMES)).into()))),
        3 => e(ExprKind::Column(ColumnRef::Attribute(
            (*r.pick(KEYS)).into(),
        ))),
        4 => e(ExprKind::Column(ColumnRef::Resource(
            (*r.pick(KEYS)).into(),
        ))),
        _ => e(ExprKind::Match {
            query: (*r.pick(STRINGS)).into(),
        }),
    }
}

fn gen_expr(r: &mut Rng, depth: usize) -> Expr {
    if depth == 0 || r.below(5) == 0 {
        return leaf(r);
    }
    let d = depth - 1;
    let sub = |r: &mut Rng| Box::new(gen_expr(r, d));
    let negated = r.below(2) == 0;
    match r.below(11) {
        0 => e(ExprKind::Unary {
            op: *r.pick(&[UnaryOp::Neg, UnaryOp::Not]),
            expr: sub(r),
        }),
        1..=3 => {
            use BinaryOp::*;
            let op = *r.pick(&[
                Or, And, Eq, NotEq, Lt, LtEq, Gt, GtEq, Add, Sub, Mul, Div, Rem,
            ]);
            e(ExprKind::Binary {
                op,
                left: sub(r),
                right: sub(r),
            })
        }
        4 => {
            let star = r.below(4) == 0;
            let n = if star { 0 } else { r.below(4) };
            let args = (0..n).map(|_| *sub(r)).collect();
            e(ExprKind::Function {
                name: Ident {
                    name: (*r.pick(FUNCTIONS)).into(),
                    pos: Pos::default(),
                },
                args,
                star,
                distinct: n > 0 && r.below(3) == 0,
            })
        }
        5 => {
            let n = 1 + r.below(4);
            e(ExprKind::InList {
                expr: sub(r),
                list: (0..n).map(|_| *sub(r)).collect(),
                negated,
            })
        }
        6 => e(ExprKind::Between {
            expr: sub(r),
            low: sub(r),
            high: sub(r),
            negated,
        }),
        7 => e(ExprKind::Like {
            expr: sub(r),
            pattern: sub(r),
            case_insensitive: r.below(2) == 0,
            negated,
        }),
        8 => e(ExprKind::IsNull {
            expr: sub(r),
            negated,
        }),
        9 => e(ExprKind::Contains {
            expr: sub(r),
            pattern: sub(r),
            negated,
        }),
        _ => {
            if d < 2 {
                return leaf(r);
            }
            e(ExprKind::InSubquery {
                expr: sub(r),
                query: Box::new(gen_select(r, d / 2)),
                negated,
            })
        }
    }
}

fn gen_select(r: &mut Rng, depth: usize) -> Select {
    let n = 1 + r.below(3);
    let items = (0..n)
        .map(|_| {
            if r.below(6) == 0 {
                SelectItem::Wildcard(Pos::default())
            } else {
                SelectItem::Expr {
                    expr: gen_expr(r, depth),
                    alias: (r.below(2) == 0).then(|| Ident {
                        name: (*r.pick(NAMES)).into(),
                        pos: Pos::default(),
                    }),
                }
            }
        })
        .collect();
    Select {
        items,
        from: *r.pick(&Source::ALL),
        from_pos: Pos::default(),
        filter: (r.below(3) != 0).then(|| gen_expr(r, depth)),
        group_by: (0..r.below(3)).map(|_| gen_expr(r, depth)).collect(),
        having: (r.below(4) == 0).then(|| gen_expr(r, depth)),
        order_by: (0..r.below(3))
            .map(|_| OrderItem {
                expr: gen_expr(r, depth),
                descending: r.below(2) == 0,
            })
            .collect(),
        limit: (r.below(2) == 0).then(|| r.next() >> r.below(64)),
        offset: (r.below(3) == 0).then(|| r.next() % 1000),
        pos: Pos::default(),
    }
}

#[test]
fn random_syntax_trees_round_trip() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let stmt = Statement {
            explain: r.below(5) == 0,
            select: gen_select(&mut r, 5),
        };
        let text = render(&stmt);
        assert_round_trip(&text, &stmt);
    }
    for _ in 0..3000 {
        let expr = gen_expr(&mut r, 7);
        let text = render_expr(&expr);
        let back = parse_expr(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(stripped_expr(&back), stripped_expr(&expr), "{text}");
        let mut positioned = expr.clone();
        assert_eq!(render_expr_with_positions(&mut positioned), text);
        assert_eq!(positioned, back, "{text}");
    }
}
