//! The checker: name resolution, types and aggregate rules, turning a parsed [`Statement`]
//! into the normalized [`Checked`] form the planner and executor work on.
//!
//! [`check`] reports every problem it finds (unknown columns and functions, each with a
//! did-you-mean when one is close, type mismatches, misplaced aggregates, ...), not just the
//! first. The normalization is documented on [`Checked`]; in short: canonical column
//! names, `SELECT *` expanded, `GROUP BY`/`ORDER BY`/`HAVING` references to select items
//! (by position or alias) replaced by the item's expression, `count_distinct(x)` as
//! `count(DISTINCT x)`, `p50/p90/p95/p99(x)` as `percentile(x, 0.5/0.9/0.95/0.99)` and the
//! second argument of `percentile` always a [`Literal::Float`].
//!
//! # Functions
//!
//! | function | arguments | result |
//! | --- | --- | --- |
//! | `count(*)`, `count(x)`, `count(DISTINCT x)`, `count_distinct(x)` | any | int |
//! | `sum(x)` | number or duration | type of `x` |
//! | `avg(x)` | number, duration or timestamp | float (duration/timestamp for those) |
//! | `min(x)`, `max(x)` | anything but a map | type of `x` |
//! | `percentile(x, q)`, `p50 p90 p95 p99 (x)` | number, duration or timestamp; `q` a number literal in [0, 1] | float (duration/timestamp for those) |
//! | `rate(x)`, `increase(x)` (metrics only) | number | float |
//! | `now()` | | timestamp |
//! | `bucket(t, d)` | timestamp, duration literal > 0 | timestamp |
//! | `lower(s)`, `upper(s)` | string | string |
//! | `length(s)` | string | int |
//! | `abs(x)` | number or duration | type of `x` |
//! | `round(x[, digits])`, `floor(x)`, `ceil(x)` | number (digits: int) | type of `x` |
//! | `coalesce(a, b, ...)` | values of one type | that type |
//!
//! Values of [`Type::Any`] (attributes) are accepted everywhere; a function whose result
//! follows its argument's type returns [`Type::Any`] for them (`avg`, `percentile`, `rate`
//! and `increase` return float).
//!
//! ```
//! use heimsight_query::{check::check, parser::parse, schema::Type};
//!
//! let text = "SELECT count_distinct(trace_id) AS traces FROM logs WHERE level = 'error'";
//! let checked = check(parse(text)?, text)?;
//! assert_eq!(checked.columns[0].name, "traces");
//! assert_eq!(checked.columns[0].ty, Type::Int);
//! # Ok::<(), heimsight_query::Diagnostics>(())
//! ```

use crate::ast::{
    BinaryOp, Checked, ColumnRef, Expr, ExprKind, Ident, Literal, OrderItem, OutputColumn, Pos,
    Select, SelectItem, Source, Statement, UnaryOp,
};
use std::collections::HashSet;

use crate::diagnostic::{Diagnostic, Diagnostics, MAX_DIAGNOSTICS};
use crate::parser::{MAX_DEPTH, max_typo_distance};
use crate::schema::{self, Type};

/// Aggregate functions, as written (before normalization `count_distinct` and `p50`..`p99`
/// exist too; after it only `count`, `sum`, `avg`, `min`, `max`, `percentile`, `rate` and
/// `increase` remain).
pub const AGGREGATES: &[&str] = &[
    "count",
    "count_distinct",
    "sum",
    "avg",
    "min",
    "max",
    "percentile",
    "p50",
    "p90",
    "p95",
    "p99",
    "rate",
    "increase",
];

/// Scalar (per-row) functions.
pub const SCALARS: &[&str] = &[
    "now", "bucket", "lower", "upper", "length", "abs", "round", "floor", "ceil", "coalesce",
];

/// True when `name` (lower case) is an aggregate function.
pub fn is_aggregate(name: &str) -> bool {
    AGGREGATES.contains(&name)
}

/// True when `expr` calls an aggregate function outside of a subquery.
pub fn contains_aggregate(expr: &Expr) -> bool {
    if let ExprKind::Function { name, .. } = &expr.kind
        && is_aggregate(&name.name)
    {
        return true;
    }
    expr.children().into_iter().any(contains_aggregate)
}

/// Checks and normalizes `statement`, parsed from `text` (used for positions and for output
/// column names). Every problem found is reported.
pub fn check(statement: Statement, text: &str) -> Result<Checked, Diagnostics> {
    let mut checker = Checker {
        text,
        diags: Vec::new(),
        seen: HashSet::new(),
        suppressed: 0,
        depth: 0,
    };
    let Statement { explain, select } = statement;
    let (select, columns, aggregate) = checker.select(select);
    if checker.diags.is_empty() {
        return Ok(Checked {
            statement: Statement { explain, select },
            columns,
            aggregate,
        });
    }
    let mut diags = Diagnostics::from(checker.diags);
    diags.sort();
    if checker.suppressed > 0 {
        let end = text.len();
        diags.push(Diagnostic::new(
            text,
            Pos::new(end, end),
            format!("{} more problems not shown", checker.suppressed),
        ));
    }
    Err(diags)
}

/// Optimal string alignment distance (edits, with adjacent transpositions counting one) of
/// two strings, by characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 3 || a.len() > 64 || b.len() > 64 {
        return a.len().max(b.len());
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate closest to `name` (a typo: few edits; or one is a prefix of the other).
fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let max = max_typo_distance(&lower);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let d = edit_distance(&lower, c);
        let long_enough = lower.len() >= 3 && c.len() >= 3;
        // Lower is better: one edit, then a completion of what was typed (`serv` ->
        // `service`), then two edits, then a shortening (`messages` -> `message`).
        let score = if d <= max.min(1) {
            d
        } else if long_enough && c.starts_with(&lower) {
            2
        } else if d <= max {
            3
        } else if long_enough && lower.starts_with(c) {
            4
        } else {
            continue;
        };
        if best.is_none_or(|(s, _)| score < s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Where an expression is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clause {
    Select,
    Where,
    GroupBy,
    Having,
    OrderBy,
}

impl Clause {
    fn as_str(self) -> &'static str {
        match self {
            Clause::Select => "the select list",
            Clause::Where => "WHERE",
            Clause::GroupBy => "GROUP BY",
            Clause::Having => "HAVING",
            Clause::OrderBy => "ORDER BY",
        }
    }
}

/// A select item that later clauses may name.
#[derive(Debug)]
struct Alias {
    name: String,
    expr: Expr,
    ty: Type,
    aggregate: bool,
}

#[derive(Debug, Clone, Copy)]
struct Scope<'a> {
    source: Source,
    clause: Clause,
    /// Aliases that may be used here (empty in the select list and WHERE).
    aliases: &'a [Alias],
    /// Every alias of the select list, for hints.
    alias_names: &'a [String],
    /// The enclosing aggregate function, if any.
    in_aggregate: Option<&'a str>,
}

#[derive(Debug)]
struct Checker<'t> {
    text: &'t str,
    diags: Vec<Diagnostic>,
    /// Position and message of each reported problem: a problem in a select item that is
    /// also referenced from ORDER BY is reported once.
    seen: HashSet<(Pos, String)>,
    /// Problems past [`MAX_DIAGNOSTICS`].
    suppressed: usize,
    /// Current recursion depth of [`Checker::expr`].
    depth: usize,
}

/// The result of checking a select: the normalized select, its columns and whether it
/// aggregates.
type CheckedSelect = (Select, Vec<OutputColumn>, bool);

impl<'t> Checker<'t> {
    fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.error_hint(pos, message, None);
    }

    fn error_hint(&mut self, pos: Pos, message: impl Into<String>, hint: Option<String>) {
        let message = message.into();
        if !self.seen.insert((pos, message.clone())) {
            return;
        }
        if self.diags.len() >= MAX_DIAGNOSTICS {
            self.suppressed += 1;
            return;
        }
        let d = Diagnostic::new(self.text, pos, message).with_hint_opt(hint);
        self.diags.push(d);
    }

    fn source_text(&self, pos: Pos) -> Option<&'t str> {
        self.text
            .get(pos.start..pos.end)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    fn select(&mut self, sel: Select) -> CheckedSelect {
        let source = sel.from;
        let alias_names: Vec<String> = sel
            .items
            .iter()
            .filter_map(|i| match i {
                SelectItem::Expr { alias: Some(a), .. } => Some(a.name.clone()),
                _ => None,
            })
            .collect();
        let scope = |clause, aliases| Scope {
            source,
            clause,
            aliases,
            alias_names: &alias_names,
            in_aggregate: None,
        };

        // The select list.
        let mut items = Vec::with_capacity(sel.items.len());
        let mut columns = Vec::with_capacity(sel.items.len());
        let mut aliases: Vec<Alias> = Vec::new();
        let mut wildcards: Vec<Pos> = Vec::new();
        // Per output item: its expression and type (for positional references), and
        // whether it came from `*`.
        let mut expanded: Vec<bool> = Vec::new();
        for item in sel.items {
            match item {
                SelectItem::Wildcard(pos) => {
                    wildcards.push(pos);
                    for c in schema::columns(source).iter().filter(|c| c.in_wildcard) {
                        items.push(SelectItem::Expr {
                            expr: Expr::new(ExprKind::Column(ColumnRef::Named(c.name.into())), pos),
                            alias: None,
                        });
                        columns.push(OutputColumn {
                            name: c.name.to_string(),
                            ty: c.ty,
                        });
                        expanded.push(true);
                    }
                }
                SelectItem::Expr { expr, alias } => {
                    let name = match &alias {
                        Some(a) => a.name.clone(),
                        None => self.source_text(expr.pos).map_or_else(
                            || format!("column {}", columns.len() + 1),
                            str::to_string,
                        ),
                    };
                    let (expr, ty) = self.expr(expr, &scope(Clause::Select, &[]));
                    if let Some(a) = &alias {
                        aliases.push(Alias {
                            name: a.name.clone(),
                            expr: expr.clone(),
                            ty,
                            aggregate: contains_aggregate(&expr),
                        });
                    }
                    columns.push(OutputColumn { name, ty });
                    items.push(SelectItem::Expr { expr, alias });
                    expanded.push(false);
                }
            }
        }
        let item_exprs: Vec<(Expr, Type)> = items
            .iter()
            .zip(&columns)
            .filter_map(|(i, c)| match i {
                SelectItem::Expr { expr, .. } => Some((expr.clone(), c.ty)),
                SelectItem::Wildcard(_) => None,
            })
            .collect();

        // WHERE.
        let filter = sel.filter.map(|f| {
            let (e, t) = self.expr(f, &scope(Clause::Where, &[]));
            self.condition(Clause::Where, &e, t);
            e
        });

        // GROUP BY.
        let mut group_by = Vec::with_capacity(sel.group_by.len());
        for g in sel.group_by {
            let g_pos = g.pos;
            let via_alias = matches!(&g.kind, ExprKind::Column(ColumnRef::Named(n)) if aliases.iter().any(|a| &a.name == n));
            let (e, t, reference) = match self.positional(&g, &item_exprs, Clause::GroupBy) {
                Some(Some((e, t))) => (e, t, true),
                Some(None) => continue,
                None => {
                    let (e, t) = self.expr(g, &scope(Clause::GroupBy, &aliases));
                    (e, t, via_alias)
                }
            };
            if reference && contains_aggregate(&e) {
                let shown = self
                    .source_text(e.pos)
                    .unwrap_or("an aggregate")
                    .to_string();
                self.error(g_pos, format!("cannot group by an aggregate (`{shown}`)"));
            }
            if t == Type::Map {
                self.error_hint(
                    g_pos,
                    "cannot group by a whole map",
                    Some("group by one key, e.g. `attributes.http.method`".into()),
                );
            }
            group_by.push(e);
        }

        // HAVING.
        let having_scope = scope(Clause::Having, &aliases);
        let having = sel.having.map(|h| {
            let (e, t) = self.expr(h, &having_scope);
            self.condition(Clause::Having, &e, t);
            e
        });

        // ORDER BY.
        let mut order_by = Vec::with_capacity(sel.order_by.len());
        for OrderItem { expr, descending } in sel.order_by {
            let o_pos = expr.pos;
            let (e, t) = match self.positional(&expr, &item_exprs, Clause::OrderBy) {
                Some(Some(found)) => found,
                Some(None) => continue,
                None => self.expr(expr, &scope(Clause::OrderBy, &aliases)),
            };
            if t == Type::Map {
                self.error_hint(
                    o_pos,
                    "cannot sort by a whole map",
                    Some("sort by one key, e.g. `attributes.http.method`".into()),
                );
            }
            order_by.push(OrderItem {
                expr: e,
                descending,
            });
        }

        // Aggregation rules.
        let aggregate = !group_by.is_empty()
            || item_exprs.iter().any(|(e, _)| contains_aggregate(e))
            || having.as_ref().is_some_and(contains_aggregate)
            || order_by.iter().any(|o| contains_aggregate(&o.expr));
        if let Some(h) = &having
            && !aggregate
        {
            self.error_hint(
                h.pos,
                "HAVING needs GROUP BY or an aggregate function",
                Some("filter records with WHERE".into()),
            );
        }
        if aggregate {
            if let Some(&w) = wildcards.first() {
                self.error_hint(
                    w,
                    "`*` cannot be used in a query that aggregates",
                    Some(
                        "list the columns, and put those that are not aggregated in GROUP BY"
                            .into(),
                    ),
                );
            }
            for (i, (e, _)) in item_exprs.iter().enumerate() {
                if !expanded.get(i).copied().unwrap_or(false) {
                    self.grouped(e, &group_by, Clause::Select);
                }
            }
            if let Some(h) = &having {
                self.grouped(h, &group_by, Clause::Having);
            }
            for o in &order_by {
                self.grouped(&o.expr, &group_by, Clause::OrderBy);
            }
        }

        let select = Select {
            items,
            from: sel.from,
            from_pos: sel.from_pos,
            filter,
            group_by,
            having,
            order_by,
            limit: sel.limit,
            offset: sel.offset,
            pos: sel.pos,
        };
        (select, columns, aggregate)
    }

    /// `GROUP BY 2` / `ORDER BY 2`: `None` when `e` is not a position, `Some(None)` when it
    /// is out of range (reported), else the select item's expression and type.
    fn positional(
        &mut self,
        e: &Expr,
        items: &[(Expr, Type)],
        clause: Clause,
    ) -> Option<Option<(Expr, Type)>> {
        let ExprKind::Literal(Literal::Int(n)) = e.kind else {
            return None;
        };
        match usize::try_from(n)
            .ok()
            .filter(|&n| n >= 1 && n <= items.len())
        {
            Some(n) => Some(Some(items[n - 1].clone())),
            None => {
                let len = items.len();
                self.error_hint(
                    e.pos,
                    format!(
                        "{} position {n} is out of range: the select list has {len} item{}",
                        clause.as_str(),
                        if len == 1 { "" } else { "s" }
                    ),
                    Some(format!("positions count select items from 1 to {len}")),
                );
                Some(None)
            }
        }
    }

    /// WHERE / HAVING must be boolean.
    fn condition(&mut self, clause: Clause, e: &Expr, t: Type) {
        if !matches!(t, Type::Bool | Type::Any | Type::Null) {
            self.error(
                e.pos,
                format!(
                    "{} needs a condition (a boolean expression), found {t}",
                    clause.as_str()
                ),
            );
        }
    }

    /// In an aggregating query, reports column references of `e` that are neither inside an
    /// aggregate nor (part of) a GROUP BY expression.
    fn grouped(&mut self, e: &Expr, group_by: &[Expr], clause: Clause) {
        if group_by.iter().any(|g| same(g, e)) {
            return;
        }
        match &e.kind {
            ExprKind::Function { name, .. } if is_aggregate(&name.name) => {}
            ExprKind::Column(c) => {
                let shown = match c {
                    ColumnRef::Named(n) => n.clone(),
                    ColumnRef::Attribute(k) => format!("attributes.{k}"),
                    ColumnRef::Resource(k) => format!("resource.{k}"),
                };
                let place = match clause {
                    Clause::Having => " in HAVING",
                    Clause::OrderBy => " in ORDER BY",
                    _ => "",
                };
                self.error_hint(
                    e.pos,
                    format!(
                        "column `{shown}`{place} must appear in GROUP BY or be used in an aggregate function"
                    ),
                    Some(format!("add `{shown}` to GROUP BY, or aggregate it, e.g. `max({shown})`")),
                );
            }
            _ => {
                for c in e.children() {
                    self.grouped(c, group_by, clause);
                }
            }
        }
    }

    fn expr(&mut self, e: Expr, s: &Scope<'_>) -> (Expr, Type) {
        if self.depth > 2 * MAX_DEPTH {
            return self.too_deep(e);
        }
        self.depth += 1;
        let out = self.expr_inner(e, s);
        self.depth -= 1;
        out
    }

    fn too_deep(&mut self, e: Expr) -> (Expr, Type) {
        self.error(
            e.pos,
            format!("expression too deeply nested (more than {MAX_DEPTH} levels)"),
        );
        (e, Type::Any)
    }

    /// Dispatches on the kind of expression. Each kind has its own small method taking the
    /// whole expression: in debug builds a frame holds the locals of every branch, and these
    /// frames are what deep expressions stack up.
    fn expr_inner(&mut self, e: Expr, s: &Scope<'_>) -> (Expr, Type) {
        match e.kind {
            ExprKind::Literal(_) | ExprKind::Column(_) | ExprKind::Match { .. } => self.leaf(e, s),
            ExprKind::Unary { .. } => self.unary(e, s),
            ExprKind::Binary { .. } => self.binary(e, s),
            ExprKind::Function { .. } => self.function(e, s),
            ExprKind::InList { .. } => self.in_list(e, s),
            ExprKind::InSubquery { .. } => self.in_subquery(e, s),
            ExprKind::Between { .. } => self.between(e, s),
            ExprKind::Like { .. } | ExprKind::Contains { .. } | ExprKind::IsNull { .. } => {
                self.test(e, s)
            }
        }
    }

    /// Literals, columns, MATCH.
    fn leaf(&mut self, e: Expr, s: &Scope<'_>) -> (Expr, Type) {
        let pos = e.pos;
        match e.kind {
            ExprKind::Literal(l) => {
                let ty = literal_type(&l);
                (Expr::new(ExprKind::Literal(l), pos), ty)
            }
            ExprKind::Column(ColumnRef::Named(name)) => self.named_column(name, pos, s),
            ExprKind::Match { query } => {
                self.match_placement(&query, pos, s);
                (Expr::new(ExprKind::Match { query }, pos), Type::Bool)
            }
            kind => (Expr::new(kind, pos), Type::Any),
        }
    }

    /// LIKE, ILIKE, CONTAINS (both sides text) and IS NULL.
    fn test(&mut self, e: Expr, s: &Scope<'_>) -> (Expr, Type) {
        let pos = e.pos;
        let kind = match e.kind {
            ExprKind::Like {
                expr,
                pattern,
                case_insensitive,
                negated,
            } => {
                let what = if case_insensitive { "ILIKE" } else { "LIKE" };
                let (expr, pattern) = self.text_operands(what, *expr, *pattern, s);
                ExprKind::Like {
                    expr,
                    pattern,
                    case_insensitive,
                    negated,
                }
            }
            ExprKind::Contains {
                expr,
                pattern,
                negated,
            } => {
                let (expr, pattern) = self.text_operands("CONTAINS", *expr, *pattern, s);
                ExprKind::Contains {
                    expr,
                    pattern,
                    negated,
                }
            }
            ExprKind::IsNull { expr, negated } => {
                let (e, _) = self.expr(*expr, s);
                ExprKind::IsNull {
                    expr: Box::new(e),
                    negated,
                }
            }
            kind => kind,
        };
        (Expr::new(kind, pos), Type::Bool)
    }

    fn text_operands(
        &mut self,
        what: &str,
        expr: Expr,
        pattern: Expr,
        s: &Scope<'_>,
    ) -> (Box<Expr>, Box<Expr>) {
        let (e, t) = self.expr(expr, s);
        let (p, pt) = self.expr(pattern, s);
        self.text_operand(what, &e, t);
        self.text_operand(what, &p, pt);
        (Box::new(e), Box::new(p))
    }

    fn unary(&mut self, e: Expr, s: &Scope<'_>) -> (Expr, Type) {
        let ExprKind::Unary { op, expr } = e.kind else {
            return (e, Type::Any);
        };
        let (inner, t) = self.expr(*expr, s);
        let ty = self.unary_type(op, &inner, t);
        let kind = ExprKind::Unary {
            op,
            expr: Box::new(inner),
        };
        (Expr::new(kind, e.pos), ty)
    }

    fn unary_type(&mut self, op: UnaryOp, inner: &Expr, t: Type) -> Type {
        match op {
            UnaryOp::Neg => {
                if t.is_numeric() || matches!(t, Type::Duration | Type::Any | Type::Null) {
                    t
                } else {
                    self.error(inner.pos, format!("cannot negate {t}"));
                    Type::Any
                }
            }
            UnaryOp::Not => {
                self.logical_operand("NOT", inner, t);
                Type::Bool
            }
        }
    }

    fn binary(&mut self, e: Expr, s: &Scope<'_>) -> (Expr, Type) {
        let ExprKind::Binary { op, left, right } = e.kind else {
            return (e, Type::Any);
        };
        let (l, lt) = self.expr(*left, s);
        let (r, rt) = self.expr(*right, s);
        let ty = self.binary_type(op, &l, lt, &r, rt, e.pos);
        let kind = ExprKind::Binary {
            op,
            left: Box::new(l),
            right: Box::new(r),
        };
        (Expr::new(kind, e.pos), ty)
    }

    fn binary_type(
        &mut self,
        op: BinaryOp,
        l: &Expr,
        lt: Type,
        r: &Expr,
        rt: Type,
        pos: Pos,
    ) -> Type {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                self.logical_operand(op.as_str(), l, lt);
                self.logical_operand(op.as_str(), r, rt);
                Type::Bool
            }
            BinaryOp::Eq
            | BinaryOp::NotEq
            | BinaryOp::Lt
            | BinaryOp::LtEq
            | BinaryOp::Gt
            | BinaryOp::GtEq => {
                self.comparison(op, l, lt, r, rt, pos);
                Type::Bool
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                self.arithmetic(op, lt, r, rt, pos)
            }
        }
    }

    fn in_list(&mut self, e: Expr, s: &Scope<'_>) -> (Expr, Type) {
        let ExprKind::InList {
            expr,
            list,
            negated,
        } = e.kind
        else {
            return (e, Type::Any);
        };
        let (x, t) = self.expr(*expr, s);
        let mut checked = Vec::with_capacity(list.len());
        for item in list {
            let (i, it) = self.expr(item, s);
            self.compatible(&x, t, &i, it, i.pos, "IN");
            checked.push(i);
        }
        let kind = ExprKind::InList {
            expr: Box::new(x),
            list: checked,
            negated,
        };
        (Expr::new(kind, e.pos), Type::Bool)
    }

    fn in_subquery(&mut self, e: Expr, s: &Scope<'_>) -> (Expr, Type) {
        let ExprKind::InSubquery {
            expr,
            query,
            negated,
        } = e.kind
        else {
            return (e, Type::Any);
        };
        let (x, t) = self.expr(*expr, s);
        let query_pos = query.pos;
        let (query, columns, _) = self.select(*query);
        self.subquery_column(t, &columns, query_pos);
        let kind = ExprKind::InSubquery {
            expr: Box::new(x),
            query: Box::new(query),
            negated,
        };
        (Expr::new(kind, e.pos), Type::Bool)
    }

    fn subquery_column(&mut self, t: Type, columns: &[OutputColumn], query_pos: Pos) {
        match columns {
            [one] => {
                if !self.types_compatible(t, one.ty) {
                    self.error(
                        query_pos,
                        format!(
                            "cannot compare {t} with the subquery's column `{}` of type {}",
                            one.name, one.ty
                        ),
                    );
                }
            }
            _ => {
                let n = columns.len();
                self.error_hint(
                    query_pos,
                    format!("a subquery in IN must select exactly one column; this one selects {n}"),
                    Some("select only the column to compare with, e.g. `IN (SELECT trace_id FROM spans WHERE ...)`".into()),
                );
            }
        }
    }

    fn between(&mut self, e: Expr, s: &Scope<'_>) -> (Expr, Type) {
        let ExprKind::Between {
            expr,
            low,
            high,
            negated,
        } = e.kind
        else {
            return (e, Type::Any);
        };
        let (x, t) = self.expr(*expr, s);
        let (lo, lt) = self.expr(*low, s);
        let (hi, ht) = self.expr(*high, s);
        self.compatible(&x, t, &lo, lt, lo.pos, "BETWEEN");
        self.compatible(&x, t, &hi, ht, hi.pos, "BETWEEN");
        let kind = ExprKind::Between {
            expr: Box::new(x),
            low: Box::new(lo),
            high: Box::new(hi),
            negated,
        };
        (Expr::new(kind, e.pos), Type::Bool)
    }

    fn match_placement(&mut self, query: &str, pos: Pos, s: &Scope<'_>) {
        if s.clause != Clause::Where {
            self.error_hint(
                pos,
                format!(
                    "MATCH is only allowed in WHERE, not in {}",
                    s.clause.as_str()
                ),
                None,
            );
        } else if s.source == Source::Metrics {
            self.error_hint(
                pos,
                "MATCH searches logs and spans, not metrics",
                Some("filter metrics on `name` or labels instead".into()),
            );
        }
        if query
            .split_whitespace()
            .all(|w| w.chars().all(|c| c == '"'))
        {
            self.error_hint(
                pos,
                "MATCH needs at least one search term",
                Some("e.g. MATCH('timeout \"connection reset\"')".into()),
            );
        }
    }

    fn named_column(&mut self, name: String, pos: Pos, s: &Scope<'_>) -> (Expr, Type) {
        if let Some(a) = s.aliases.iter().find(|a| a.name == name) {
            if let Some(outer) = s.in_aggregate
                && a.aggregate
            {
                self.error(
                    pos,
                    format!(
                        "aggregate functions cannot be nested: `{name}` is an aggregate, used inside `{outer}`"
                    ),
                );
            }
            return (a.expr.clone(), a.ty);
        }
        if let Some(c) = schema::column(s.source, &name) {
            return (
                Expr::new(ExprKind::Column(ColumnRef::Named(c.name.to_string())), pos),
                c.ty,
            );
        }
        let hint = self.unknown_column_hint(&name, pos, s);
        self.error_hint(pos, format!("unknown column `{name}`"), hint);
        (
            Expr::new(ExprKind::Column(ColumnRef::Named(name)), pos),
            Type::Any,
        )
    }

    fn unknown_column_hint(&self, name: &str, pos: Pos, s: &Scope<'_>) -> Option<String> {
        let written = self.text.get(pos.start..pos.end).unwrap_or("");
        if written.starts_with('"') && matches!(s.clause, Clause::Where | Clause::Having) {
            return Some(format!(
                "double quotes name a column; write text in single quotes: '{name}'"
            ));
        }
        if name.contains('.') {
            return Some(format!(
                "did you mean `attributes.{name}` or `resource.{name}`?"
            ));
        }
        let columns = schema::columns(s.source);
        let candidates = columns
            .iter()
            .flat_map(|c| std::iter::once(c.name).chain(c.aliases.iter().copied()))
            .chain(s.aliases.iter().map(|a| a.name.as_str()));
        if let Some(best) = suggest(name, candidates) {
            return Some(format!("did you mean `{best}`?"));
        }
        if s.alias_names.iter().any(|a| a == name) {
            return Some(format!(
                "select aliases cannot be used in {}; repeat the expression",
                s.clause.as_str()
            ));
        }
        let elsewhere: Vec<&str> = Source::ALL
            .iter()
            .filter(|&&o| o != s.source && schema::column(o, name).is_some())
            .map(|o| o.as_str())
            .collect();
        if !elsewhere.is_empty() {
            return Some(format!(
                "`{name}` is a column of {}, not of {}",
                elsewhere.join(" and "),
                s.source
            ));
        }
        None
    }

    fn logical_operand(&mut self, op: &str, e: &Expr, t: Type) {
        if !matches!(t, Type::Bool | Type::Any | Type::Null) {
            self.error(e.pos, format!("{op} needs boolean operands, found {t}"));
        }
    }

    fn text_operand(&mut self, op: &str, e: &Expr, t: Type) {
        if !matches!(t, Type::String | Type::Any | Type::Null) {
            self.error(e.pos, format!("{op} needs text, found {t}"));
        }
    }

    /// Whether values of the two types can be compared (without looking at literals).
    fn types_compatible(&self, a: Type, b: Type) -> bool {
        use Type::*;
        match (a, b) {
            (Map, _) | (_, Map) => false,
            (Any, _) | (_, Any) | (Null, _) | (_, Null) => true,
            (x, y) if x == y => true,
            (x, y) if x.is_numeric() && y.is_numeric() => true,
            (Timestamp, Int) | (Int, Timestamp) | (Duration, Int) | (Int, Duration) => true,
            _ => false,
        }
    }

    /// Checks that `r` can be compared with `l` (used by comparisons, IN and BETWEEN);
    /// string literals compared with timestamps must be valid times.
    fn compatible(&mut self, l: &Expr, lt: Type, r: &Expr, rt: Type, at: Pos, op: &str) -> bool {
        use Type::*;
        for (t, other, other_t) in [(lt, r, rt), (rt, l, lt)] {
            if t == Timestamp
                && other_t == String
                && let ExprKind::Literal(Literal::String(s)) = &other.kind
            {
                return self.timestamp_literal(s, other.pos);
            }
        }
        if self.types_compatible(lt, rt) {
            return true;
        }
        let hint = if lt == Map || rt == Map {
            Some("compare one key, e.g. `attributes.http.method = 'GET'`".to_string())
        } else if matches!((lt, rt), (String, Int | Float)) && is_literal(r) {
            self.source_text(r.pos)
                .map(|t| format!("quote the value: '{t}'"))
        } else if matches!((lt, rt), (Int | Float, String)) && is_literal(l) {
            self.source_text(l.pos)
                .map(|t| format!("quote the value: '{t}'"))
        } else if (lt == Duration && rt == String) || (lt == String && rt == Duration) {
            Some("write durations without quotes, e.g. `250ms`".to_string())
        } else {
            None
        };
        let message = if op == "=" || op.is_empty() {
            format!("cannot compare {lt} and {rt}")
        } else {
            format!("cannot compare {lt} and {rt} ({op})")
        };
        self.error_hint(at, message, hint);
        false
    }

    fn timestamp_literal(&mut self, s: &str, pos: Pos) -> bool {
        match heimsight_core::Timestamp::parse_relative(s, heimsight_core::Timestamp(0)) {
            Ok(_) => true,
            Err(_) => {
                self.error_hint(
                    pos,
                    format!("invalid timestamp '{s}'"),
                    Some(
                        "write times as RFC 3339, e.g. '2026-01-02T03:04:05Z', or as now()-1h"
                            .into(),
                    ),
                );
                false
            }
        }
    }

    fn comparison(&mut self, op: BinaryOp, l: &Expr, lt: Type, r: &Expr, rt: Type, at: Pos) {
        if is_null_literal(l) || is_null_literal(r) {
            let hint = match op {
                BinaryOp::Eq => "use `IS NULL`",
                BinaryOp::NotEq => "use `IS NOT NULL`",
                _ => "use `IS NULL` or `IS NOT NULL` to test for missing values",
            };
            self.error_hint(
                at,
                format!("comparison with NULL (`{op} NULL`) is never true"),
                Some(hint.into()),
            );
            return;
        }
        let op_str = if op == BinaryOp::Eq || op == BinaryOp::NotEq {
            ""
        } else {
            op.as_str()
        };
        self.compatible(l, lt, r, rt, at, op_str);
    }

    fn arithmetic(&mut self, op: BinaryOp, lt: Type, r: &Expr, rt: Type, at: Pos) -> Type {
        use Type::*;
        if matches!(op, BinaryOp::Div | BinaryOp::Rem) && is_zero_literal(r) {
            self.error(r.pos, "division by zero");
            return Any;
        }
        let fail = |this: &mut Self| {
            let message = match op {
                BinaryOp::Add => format!("cannot add {lt} and {rt}"),
                BinaryOp::Sub => format!("cannot subtract {rt} from {lt}"),
                BinaryOp::Mul => format!("cannot multiply {lt} by {rt}"),
                BinaryOp::Div => format!("cannot divide {lt} by {rt}"),
                _ => format!("cannot take the remainder of {lt} divided by {rt}"),
            };
            let hint = (op == BinaryOp::Rem && lt.is_numeric() && rt.is_numeric())
                .then(|| "`%` needs integers".to_string());
            this.error_hint(at, message, hint);
            Any
        };
        if matches!(lt, String | Bool | Map) || matches!(rt, String | Bool | Map) {
            return fail(self);
        }
        if lt == Null || rt == Null {
            return if lt == Null { rt } else { lt };
        }
        if lt == Any || rt == Any {
            return Any;
        }
        match (op, lt, rt) {
            (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Rem, Int, Int) => Int,
            (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div, a, b)
                if a.is_numeric() && b.is_numeric() =>
            {
                Float
            }
            (BinaryOp::Add, Timestamp, Duration)
            | (BinaryOp::Add, Duration, Timestamp)
            | (BinaryOp::Sub, Timestamp, Duration) => Timestamp,
            (BinaryOp::Sub, Timestamp, Timestamp) => Duration,
            (BinaryOp::Add | BinaryOp::Sub, Duration, Duration) => Duration,
            (BinaryOp::Mul, Duration, n) | (BinaryOp::Mul, n, Duration) if n.is_numeric() => {
                Duration
            }
            (BinaryOp::Div, Duration, n) if n.is_numeric() => Duration,
            _ => fail(self),
        }
    }

    fn function(&mut self, e: Expr, s: &Scope<'_>) -> (Expr, Type) {
        let ExprKind::Function {
            name,
            args,
            star,
            distinct,
        } = e.kind
        else {
            return (e, Type::Any);
        };
        let pos = e.pos;
        let fname = name.name.to_lowercase();
        let aggregate = is_aggregate(&fname);
        if aggregate {
            self.aggregate_placement(&fname, pos, s);
        }
        let inner_scope = Scope {
            in_aggregate: if aggregate {
                Some(fname.as_str())
            } else {
                s.in_aggregate
            },
            ..*s
        };
        let mut checked = Vec::with_capacity(args.len());
        let mut types = Vec::with_capacity(args.len());
        for a in args {
            let (e, t) = self.expr(a, &inner_scope);
            checked.push(e);
            types.push(t);
        }
        self.finish_function(fname, name, checked, types, star, distinct, pos)
    }

    fn aggregate_placement(&mut self, fname: &str, pos: Pos, s: &Scope<'_>) {
        if let Some(outer) = s.in_aggregate {
            self.error(
                pos,
                format!("aggregate functions cannot be nested: `{fname}` inside `{outer}`"),
            );
        } else if s.clause == Clause::Where {
            self.error_hint(
                pos,
                format!("aggregate function `{fname}` is not allowed in WHERE"),
                Some("filter on aggregates with HAVING".into()),
            );
        } else if s.clause == Clause::GroupBy {
            self.error(
                pos,
                format!("aggregate function `{fname}` is not allowed in GROUP BY"),
            );
        }
        if matches!(fname, "rate" | "increase") && s.source != Source::Metrics {
            self.error(
                pos,
                format!("`{fname}` works on metric counters, not on {}", s.source),
            );
        }
    }

    /// The checks of a function call once its arguments are checked (a separate method so
    /// that its large frame is not part of the recursion).
    #[allow(clippy::too_many_arguments)]
    fn finish_function(
        &mut self,
        fname: String,
        name: Ident,
        checked: Vec<Expr>,
        types: Vec<Type>,
        star: bool,
        distinct: bool,
        pos: Pos,
    ) -> (Expr, Type) {
        let aggregate = is_aggregate(&fname);
        let rebuild = |name: Ident, args: Vec<Expr>, star, distinct| {
            Expr::new(
                ExprKind::Function {
                    name,
                    args,
                    star,
                    distinct,
                },
                pos,
            )
        };

        if fname == "match" {
            self.error_hint(
                pos,
                "MATCH needs a string literal",
                Some("e.g. MATCH('timeout \"connection reset\"')".into()),
            );
            return (rebuild(name, checked, star, distinct), Type::Bool);
        }
        if !aggregate && !SCALARS.contains(&fname.as_str()) {
            let hint = suggest(&fname, AGGREGATES.iter().chain(SCALARS).copied())
                .map(|f| format!("did you mean `{f}`?"));
            self.error_hint(name.pos, format!("unknown function `{fname}`"), hint);
            return (rebuild(name, checked, star, distinct), Type::Any);
        }
        if star && fname != "count" {
            self.error_hint(
                pos,
                format!("`*` is only allowed in `count(*)`, not in `{fname}`"),
                None,
            );
            return (rebuild(name, checked, star, distinct), Type::Any);
        }
        if distinct && fname != "count" {
            self.error(
                pos,
                format!("DISTINCT is only allowed in `count(DISTINCT x)`, not in `{fname}`"),
            );
        }
        let (min, max) = match fname.as_str() {
            "count" if star => (0, 0),
            "now" => (0, 0),
            "percentile" | "bucket" => (2, 2),
            "round" => (1, 2),
            "coalesce" => (1, usize::MAX),
            _ => (1, 1),
        };
        if checked.len() < min || checked.len() > max {
            let wanted = match (min, max) {
                (0, 0) => "no arguments".to_string(),
                (1, 1) => "1 argument".to_string(),
                (a, b) if a == b => format!("{a} arguments"),
                (a, usize::MAX) => {
                    format!("at least {a} argument{}", if a == 1 { "" } else { "s" })
                }
                (a, b) => format!("{a} or {b} arguments"),
            };
            let hint = (fname == "count" && checked.is_empty())
                .then(|| "count rows with `count(*)`".to_string());
            self.error_hint(
                pos,
                format!("`{fname}` takes {wanted}, found {}", checked.len()),
                hint,
            );
            return (rebuild(name, checked, star, distinct), Type::Any);
        }

        use Type::*;
        let t0 = types.first().copied().unwrap_or(Null);
        let numeric = |t: Type| t.is_numeric() || matches!(t, Any | Null);
        match fname.as_str() {
            "count" => (rebuild(name, checked, star, distinct), Int),
            "count_distinct" => {
                let name = Ident {
                    name: "count".into(),
                    pos: name.pos,
                };
                (rebuild(name, checked, false, true), Int)
            }
            "sum" | "abs" => {
                if !(numeric(t0) || t0 == Duration) {
                    self.arg_error(&fname, &checked[0], t0, "a number or a duration");
                    return (rebuild(name, checked, star, distinct), Any);
                }
                (rebuild(name, checked, star, distinct), t0)
            }
            "avg" => {
                let ty = match t0 {
                    Duration | Timestamp => t0,
                    t if numeric(t) => Float,
                    _ => {
                        self.arg_error(&fname, &checked[0], t0, "a number, duration or timestamp");
                        Any
                    }
                };
                (rebuild(name, checked, star, distinct), ty)
            }
            "min" | "max" => {
                if t0 == Map {
                    self.arg_error(&fname, &checked[0], t0, "a value that can be ordered");
                    return (rebuild(name, checked, star, distinct), Any);
                }
                (rebuild(name, checked, star, distinct), t0)
            }
            "percentile" | "p50" | "p90" | "p95" | "p99" => {
                let ty = match t0 {
                    Duration | Timestamp => t0,
                    t if numeric(t) => Float,
                    _ => {
                        self.arg_error(&fname, &checked[0], t0, "a number, duration or timestamp");
                        Any
                    }
                };
                let mut args = checked;
                let q = match fname.as_str() {
                    "p50" => Some(0.5),
                    "p90" => Some(0.9),
                    "p95" => Some(0.95),
                    "p99" => Some(0.99),
                    _ => None,
                };
                let q_expr = match q {
                    Some(q) => Expr::new(ExprKind::Literal(Literal::Float(q)), name.pos),
                    None => {
                        let q = args
                            .pop()
                            .unwrap_or_else(|| Expr::new(ExprKind::Literal(Literal::Null), pos));
                        let value = match q.kind {
                            ExprKind::Literal(Literal::Int(i)) => Some(i as f64),
                            ExprKind::Literal(Literal::Float(f)) => Some(f),
                            _ => None,
                        };
                        match value {
                            Some(v) if (0.0..=1.0).contains(&v) => {
                                Expr::new(ExprKind::Literal(Literal::Float(v)), q.pos)
                            }
                            Some(v) => {
                                self.error_hint(
                                    q.pos,
                                    format!("percentile {v} is out of range"),
                                    Some("write it as a fraction from 0 to 1, e.g. 0.99".into()),
                                );
                                q
                            }
                            None => {
                                self.error_hint(
                                    q.pos,
                                    "the percentile must be a number literal from 0 to 1",
                                    Some("e.g. `percentile(duration, 0.99)`".into()),
                                );
                                q
                            }
                        }
                    }
                };
                args.push(q_expr);
                let name = Ident {
                    name: "percentile".into(),
                    pos: name.pos,
                };
                (rebuild(name, args, false, false), ty)
            }
            "rate" | "increase" => {
                if !numeric(t0) {
                    self.arg_error(&fname, &checked[0], t0, "a number");
                }
                (rebuild(name, checked, star, distinct), Float)
            }
            "now" => (rebuild(name, checked, star, distinct), Timestamp),
            "bucket" => {
                if !matches!(t0, Timestamp | Any | Null) {
                    self.arg_error(&fname, &checked[0], t0, "a timestamp");
                }
                match &checked[1].kind {
                    ExprKind::Literal(Literal::Duration(d)) if *d > 0 => {}
                    _ => self.error_hint(
                        checked[1].pos,
                        "the bucket width must be a positive duration literal",
                        Some("e.g. `bucket(timestamp, 5m)`".into()),
                    ),
                }
                (rebuild(name, checked, star, distinct), Timestamp)
            }
            "lower" | "upper" | "length" => {
                if !matches!(t0, String | Any | Null) {
                    self.arg_error(&fname, &checked[0], t0, "text");
                }
                let ty = if fname == "length" { Int } else { String };
                (rebuild(name, checked, star, distinct), ty)
            }
            "round" | "floor" | "ceil" => {
                if !numeric(t0) {
                    self.arg_error(&fname, &checked[0], t0, "a number");
                    return (rebuild(name, checked, star, distinct), Any);
                }
                if let (Some(d), Some(&dt)) = (checked.get(1), types.get(1))
                    && !matches!(dt, Int | Any | Null)
                {
                    let d = d.clone();
                    self.arg_error(&fname, &d, dt, "an integer number of digits");
                }
                (rebuild(name, checked, star, distinct), t0)
            }
            _ => {
                // coalesce
                let mut ty = Null;
                for (i, &t) in types.iter().enumerate() {
                    ty = match (ty, t) {
                        (a, Null) => a,
                        (Null, b) => b,
                        (Any, _) | (_, Any) => Any,
                        (a, b) if a == b => a,
                        (a, b) if a.is_numeric() && b.is_numeric() => Float,
                        (a, b) => {
                            self.error(
                                checked[i].pos,
                                format!("coalesce arguments must have one type, found {a} and {b}"),
                            );
                            Any
                        }
                    };
                }
                (rebuild(name, checked, star, distinct), ty)
            }
        }
    }

    fn arg_error(&mut self, fname: &str, arg: &Expr, t: Type, wanted: &str) {
        self.error(arg.pos, format!("`{fname}` needs {wanted}, found {t}"));
    }
}

fn literal_type(l: &Literal) -> Type {
    match l {
        Literal::String(_) => Type::String,
        Literal::Int(_) => Type::Int,
        Literal::Float(_) => Type::Float,
        Literal::Bool(_) => Type::Bool,
        Literal::Null => Type::Null,
        Literal::Duration(_) => Type::Duration,
    }
}

fn is_literal(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Literal(_))
}

fn is_null_literal(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Literal(Literal::Null))
}

fn is_zero_literal(e: &Expr) -> bool {
    match e.kind {
        ExprKind::Literal(Literal::Int(0)) => true,
        ExprKind::Literal(Literal::Float(f)) => f == 0.0,
        _ => false,
    }
}

/// Structural equality ignoring positions (subqueries are never equal).
pub fn same(a: &Expr, b: &Expr) -> bool {
    use ExprKind as K;
    match (&a.kind, &b.kind) {
        (K::Literal(x), K::Literal(y)) => x == y,
        (K::Column(x), K::Column(y)) => x == y,
        (K::Unary { op: o1, expr: e1 }, K::Unary { op: o2, expr: e2 }) => o1 == o2 && same(e1, e2),
        (
            K::Binary {
                op: o1,
                left: l1,
                right: r1,
            },
            K::Binary {
                op: o2,
                left: l2,
                right: r2,
            },
        ) => o1 == o2 && same(l1, l2) && same(r1, r2),
        (
            K::Function {
                name: n1,
                args: a1,
                star: s1,
                distinct: d1,
            },
            K::Function {
                name: n2,
                args: a2,
                star: s2,
                distinct: d2,
            },
        ) => {
            n1.name == n2.name
                && s1 == s2
                && d1 == d2
                && a1.len() == a2.len()
                && a1.iter().zip(a2).all(|(x, y)| same(x, y))
        }
        (
            K::InList {
                expr: e1,
                list: l1,
                negated: n1,
            },
            K::InList {
                expr: e2,
                list: l2,
                negated: n2,
            },
        ) => {
            n1 == n2
                && same(e1, e2)
                && l1.len() == l2.len()
                && l1.iter().zip(l2).all(|(x, y)| same(x, y))
        }
        (
            K::Between {
                expr: e1,
                low: lo1,
                high: hi1,
                negated: n1,
            },
            K::Between {
                expr: e2,
                low: lo2,
                high: hi2,
                negated: n2,
            },
        ) => n1 == n2 && same(e1, e2) && same(lo1, lo2) && same(hi1, hi2),
        (
            K::Like {
                expr: e1,
                pattern: p1,
                case_insensitive: c1,
                negated: n1,
            },
            K::Like {
                expr: e2,
                pattern: p2,
                case_insensitive: c2,
                negated: n2,
            },
        ) => c1 == c2 && n1 == n2 && same(e1, e2) && same(p1, p2),
        (
            K::IsNull {
                expr: e1,
                negated: n1,
            },
            K::IsNull {
                expr: e2,
                negated: n2,
            },
        ) => n1 == n2 && same(e1, e2),
        (
            K::Contains {
                expr: e1,
                pattern: p1,
                negated: n1,
            },
            K::Contains {
                expr: e2,
                pattern: p2,
                negated: n2,
            },
        ) => n1 == n2 && same(e1, e2) && same(p1, p2),
        (K::Match { query: q1 }, K::Match { query: q2 }) => q1 == q2,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("levle", "level"), 1);
        assert_eq!(edit_distance("form", "from"), 1);
        assert_eq!(edit_distance("servce", "service"), 1);
        assert_eq!(edit_distance("abc", "xyz"), 3);
        assert_eq!(suggest("levle", ["message", "level"]), Some("level"));
        assert_eq!(suggest("serv", ["service", "scope"]), Some("service"));
        assert_eq!(suggest("zzzz", ["service"]), None);
    }
}
