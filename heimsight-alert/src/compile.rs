//! A rule's query, built once when the rule is read. Rules written as a whole query are
//! parsed and checked from their text; log-pattern and trace rules are assembled as a syntax
//! tree from their parts (the filter parsed as one expression, the pattern a `MATCH`, each
//! group-by item an expression) — never by pasting text into SQL — and printed only to show
//! the query and to name its columns.

use heimsight_query::ast::{
    Checked, Expr, ExprKind, Ident, Literal, Pos, Select, SelectItem, Source, Statement,
};
use heimsight_query::{Diagnostics, parse_and_check, parse_expr, unparse};

/// The query a rule runs at each evaluation: its text (as the API shows it) and the checked
/// statement the engine runs, or why it does not check (a stored rule that a newer checker
/// refuses still loads; its evaluations fail with this message).
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledQuery {
    text: String,
    checked: Result<Checked, String>,
}

impl CompiledQuery {
    /// A whole query written by the user, parsed and checked once.
    pub(crate) fn from_text(text: &str) -> CompiledQuery {
        CompiledQuery {
            text: text.to_string(),
            checked: parse_and_check(text).map_err(|d| messages(&d)),
        }
    }

    /// A statement built from a rule's parts; the text is the canonical printing.
    pub(crate) fn from_statement(statement: Statement) -> CompiledQuery {
        let (text, checked) = checked(statement);
        CompiledQuery { text, checked }
    }

    /// A query that could not be built (a part did not parse).
    pub(crate) fn failed(text: String, why: String) -> CompiledQuery {
        CompiledQuery {
            text,
            checked: Err(why),
        }
    }

    /// The query as text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The checked statement, or why the query does not check.
    pub fn checked(&self) -> Result<&Checked, &str> {
        self.checked.as_ref().map_err(String::as_str)
    }
}

/// Every problem of a query as one line without positions (they may refer to a query the
/// user did not write).
pub(crate) fn messages(d: &Diagnostics) -> String {
    d.iter()
        .map(|d| match &d.hint {
            Some(h) => format!("{} — {h}", d.message),
            None => d.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Prints `statement` (positions rewritten into the printed text, which names its columns)
/// and checks it.
pub(crate) fn checked(mut statement: Statement) -> (String, Result<Checked, String>) {
    let text = unparse::render_with_positions(&mut statement);
    let checked = heimsight_query::check(statement, &text).map_err(|d| messages(&d));
    (text, checked)
}

/// Checks a statement built from parts, for the problems only.
pub(crate) fn check(statement: Statement) -> Result<(), String> {
    checked(statement).1.map(|_| ())
}

/// A condition written by the user (a filter), parsed as one expression: anything after it
/// (`LIMIT 5`, `ORDER BY …`, a `;`) is a problem.
pub(crate) fn condition(text: &str) -> Result<Expr, String> {
    parse_expr(text).map_err(|d| messages(&d))
}

fn expr(kind: ExprKind) -> Expr {
    Expr::new(kind, Pos::default())
}

fn ident(name: &str) -> Ident {
    Ident {
        name: name.to_string(),
        pos: Pos::default(),
    }
}

/// `MATCH('<pattern>')`: full-text search over the whole record.
pub(crate) fn full_text(pattern: &str) -> Expr {
    expr(ExprKind::Match {
        query: pattern.to_string(),
    })
}

/// `count(*)`.
pub(crate) fn count_star() -> Expr {
    expr(ExprKind::Function {
        name: ident("count"),
        args: Vec::new(),
        star: true,
        distinct: false,
    })
}

/// `name(args…)`.
pub(crate) fn call(name: &str, args: Vec<Expr>) -> Expr {
    expr(ExprKind::Function {
        name: ident(name),
        args,
        star: false,
        distinct: false,
    })
}

/// A column by name.
pub(crate) fn column(name: &str) -> Expr {
    expr(ExprKind::Column(heimsight_query::ast::ColumnRef::Named(
        name.to_string(),
    )))
}

/// A float literal.
pub(crate) fn float(f: f64) -> Expr {
    expr(ExprKind::Literal(Literal::Float(f)))
}

/// `<expr> AS value`: the column a rule compares.
pub(crate) fn value(e: Expr) -> SelectItem {
    SelectItem::Expr {
        expr: e,
        alias: Some(ident("value")),
    }
}

/// A group-by item as a selected column named as the user wrote the expression (`service`,
/// `attributes.http.route`; without surrounding blanks or a trailing comment), so that label
/// names — and the fingerprints made of them — are the user's text however the printer
/// spells it. `e` is `written` parsed ([`condition`]): its position is in `written`.
pub(crate) fn group_item(written: &str, e: &Expr) -> SelectItem {
    let written = written
        .get(e.pos.start..e.pos.end)
        .unwrap_or_else(|| written.trim());
    let alias = (unparse::render_expr(e) != written).then(|| ident(written));
    SelectItem::Expr {
        expr: e.clone(),
        alias,
    }
}

/// `SELECT items FROM from [WHERE conds AND …] [GROUP BY group_by]`.
pub(crate) fn select(
    from: Source,
    items: Vec<SelectItem>,
    conds: Vec<Expr>,
    group_by: Vec<Expr>,
) -> Statement {
    let filter = conds.into_iter().reduce(|l, r| {
        expr(ExprKind::Binary {
            op: heimsight_query::ast::BinaryOp::And,
            left: Box::new(l),
            right: Box::new(r),
        })
    });
    Statement {
        explain: false,
        select: Select {
            items,
            from,
            from_pos: Pos::default(),
            filter,
            group_by,
            having: None,
            order_by: Vec::new(),
            limit: None,
            offset: None,
            pos: Pos::default(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_become_one_checked_statement() {
        let filter = condition("level = 'error' OR level = 'fatal'").unwrap();
        let group = condition("service").unwrap();
        let q = CompiledQuery::from_statement(select(
            Source::Logs,
            vec![group_item("service", &group), value(count_star())],
            vec![full_text("connection 'refused'"), filter],
            vec![group],
        ));
        assert_eq!(
            q.text(),
            "SELECT service, count(*) AS value FROM logs \
             WHERE MATCH('connection ''refused''') AND (level = 'error' OR level = 'fatal') \
             GROUP BY service"
        );
        let checked = q.checked().unwrap();
        let names: Vec<&str> = checked.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["service", "value"]);
    }

    #[test]
    fn a_group_keeps_the_name_the_user_wrote() {
        let group = condition(" lower( service ) ").unwrap();
        let q = CompiledQuery::from_statement(select(
            Source::Logs,
            vec![
                group_item(" lower( service ) ", &group),
                value(count_star()),
            ],
            Vec::new(),
            vec![group],
        ));
        let names: Vec<&str> = q
            .checked()
            .unwrap()
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["lower( service )", "value"], "{}", q.text());
        // A comment after the expression is not part of its name.
        let written = "service -- one alert per service";
        let group = condition(written).unwrap();
        let q = CompiledQuery::from_statement(select(
            Source::Logs,
            vec![group_item(written, &group), value(count_star())],
            Vec::new(),
            vec![group],
        ));
        assert_eq!(
            q.checked().unwrap().columns[0].name,
            "service",
            "{}",
            q.text()
        );
    }

    #[test]
    fn a_filter_is_one_condition() {
        for bad in [
            "level = 'error' LIMIT 5",
            "name = 'GET /' ORDER BY duration",
            "a = 1; b",
        ] {
            assert!(condition(bad).is_err(), "{bad}");
        }
        // A comment after the condition is only a comment.
        assert_eq!(
            unparse::render_expr(&condition("level = 'error' -- errors only").unwrap()),
            "level = 'error'"
        );
    }
}
