//! The syntax tree of the Heimsight query language.
//!
//! The parser ([`crate::parser`]) turns text into a [`Statement`]; every node keeps the byte
//! range ([`Pos`]) of the text it came from, so that later stages (name resolution, type
//! checks, the planner) can point at the exact place of a problem.

use std::fmt;

/// A byte range `[start, end)` in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pos {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Pos {
    /// The range `[start, end)`.
    pub fn new(start: usize, end: usize) -> Pos {
        Pos { start, end }
    }

    /// The smallest range covering both.
    pub fn to(self, other: Pos) -> Pos {
        Pos {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// 1-based line and column (in characters) of `start` in `text`.
    pub fn line_col(self, text: &str) -> (usize, usize) {
        line_col(text, self.start)
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`. Offsets past the end
/// (or inside a character) are clamped.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// A whole query: a `SELECT`, optionally prefixed by `EXPLAIN`.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `EXPLAIN SELECT ...`: show the plan instead of running it.
    pub explain: bool,
    /// The query.
    pub select: Select,
}

/// A statement that passed the checker ([`check`](mod@crate::check)), normalized for the planner and
/// executor:
/// - column names are canonical ([`crate::schema`] aliases replaced), `labels.x` is
///   [`ColumnRef::Attribute`];
/// - `SELECT *` is expanded into the source's wildcard columns (plain
///   [`ExprKind::Column`] items without alias);
/// - `GROUP BY` / `ORDER BY` / `HAVING` references to a select item (by 1-based position or
///   by alias) are replaced by a copy of that item's expression;
/// - `count_distinct(x)` is `count` with `distinct: true`; `p50/p90/p95/p99(x)` are
///   `percentile(x, 0.5/0.9/0.95/0.99)`;
/// - subqueries (`IN (SELECT ...)`) are checked and normalized the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The normalized statement.
    pub statement: Statement,
    /// The result columns, in order: name (the alias, else the expression as written) and
    /// type.
    pub columns: Vec<OutputColumn>,
    /// True when the query aggregates (aggregate functions or `GROUP BY`): it yields one row
    /// per group instead of one per record.
    pub aggregate: bool,
}

/// One column of a query's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    /// Name shown to the user.
    pub name: String,
    /// Type of its values ([`crate::schema::Type::Any`] when it depends on the data).
    pub ty: crate::schema::Type,
}

/// The data a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Log records.
    Logs,
    /// Spans.
    Spans,
    /// Metric points.
    Metrics,
}

impl Source {
    /// Every source.
    pub const ALL: [Source; 3] = [Source::Logs, Source::Spans, Source::Metrics];

    /// The name used in `FROM`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Logs => "logs",
            Source::Spans => "spans",
            Source::Metrics => "metrics",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `SELECT items FROM source [WHERE] [GROUP BY] [HAVING] [ORDER BY] [LIMIT] [OFFSET]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// The select list, in order.
    pub items: Vec<SelectItem>,
    /// `FROM`.
    pub from: Source,
    /// Where `FROM`'s source name is.
    pub from_pos: Pos,
    /// `WHERE`.
    pub filter: Option<Expr>,
    /// `GROUP BY` expressions (an integer literal `n` refers to the n-th select item, an
    /// identifier may name a select item's alias).
    pub group_by: Vec<Expr>,
    /// `HAVING`.
    pub having: Option<Expr>,
    /// `ORDER BY` (same reference rules as `GROUP BY`).
    pub order_by: Vec<OrderItem>,
    /// `LIMIT n`.
    pub limit: Option<u64>,
    /// `OFFSET m`.
    pub offset: Option<u64>,
    /// The whole `SELECT`.
    pub pos: Pos,
}

/// One item of the select list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`: every column of the source.
    Wildcard(Pos),
    /// An expression with an optional `AS alias` (the `AS` keyword is optional).
    Expr {
        /// The expression.
        expr: Expr,
        /// The alias.
        alias: Option<Ident>,
    },
}

/// An identifier with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The name (unquoted; quoted identifiers `"..."` and `` `...` `` keep their case).
    pub name: String,
    /// Where it is.
    pub pos: Pos,
}

/// One `ORDER BY` item.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    /// What to sort by.
    pub expr: Expr,
    /// `DESC` (default `ASC`).
    pub descending: bool,
}

/// An expression with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is.
    pub pos: Pos,
}

impl Expr {
    /// An expression of `kind` at `pos`.
    pub fn new(kind: ExprKind, pos: Pos) -> Expr {
        Expr { kind, pos }
    }

    /// The direct sub-expressions (not those inside a subquery).
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Literal(_) | ExprKind::Column(_) | ExprKind::Match { .. } => Vec::new(),
            ExprKind::Unary { expr, .. }
            | ExprKind::IsNull { expr, .. }
            | ExprKind::InSubquery { expr, .. } => vec![expr],
            ExprKind::Binary { left, right, .. } => vec![left, right],
            ExprKind::Function { args, .. } => args.iter().collect(),
            ExprKind::InList { expr, list, .. } => std::iter::once(&**expr).chain(list).collect(),
            ExprKind::Between {
                expr, low, high, ..
            } => vec![expr, low, high],
            ExprKind::Like { expr, pattern, .. } | ExprKind::Contains { expr, pattern, .. } => {
                vec![expr, pattern]
            }
        }
    }

    /// Calls `f` on this expression and every sub-expression, parents first (not descending
    /// into subqueries).
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        for c in self.children() {
            c.walk(f);
        }
    }
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A literal value.
    Literal(Literal),
    /// A column or attribute.
    Column(ColumnRef),
    /// `-x`, `NOT x`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<Expr>,
    },
    /// `a op b` for arithmetic, comparison and logical operators.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `name(args)`, including aggregates and `now()`. Names are lower-cased by the parser.
    Function {
        /// The function name, lower case.
        name: Ident,
        /// The arguments.
        args: Vec<Expr>,
        /// `count(*)`: the single argument was `*`.
        star: bool,
        /// `count(DISTINCT x)`.
        distinct: bool,
    },
    /// `x [NOT] IN (a, b, ...)`.
    InList {
        /// The tested value.
        expr: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `x [NOT] IN (SELECT ...)`.
    InSubquery {
        /// The tested value.
        expr: Box<Expr>,
        /// The subquery; it must select one column.
        query: Box<Select>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `x [NOT] BETWEEN low AND high` (inclusive).
    Between {
        /// The tested value.
        expr: Box<Expr>,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
        /// `NOT BETWEEN`.
        negated: bool,
    },
    /// `x [NOT] LIKE pattern` / `ILIKE` (`%` any run, `_` one character).
    Like {
        /// The tested value.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// `ILIKE`.
        case_insensitive: bool,
        /// `NOT LIKE`.
        negated: bool,
    },
    /// `x IS [NOT] NULL`.
    IsNull {
        /// The tested value.
        expr: Box<Expr>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `x [NOT] CONTAINS 'text'`: case-insensitive substring test.
    Contains {
        /// The tested value.
        expr: Box<Expr>,
        /// The text looked for.
        pattern: Box<Expr>,
        /// `NOT CONTAINS`.
        negated: bool,
    },
    /// `MATCH('terms "a phrase"')`: whole-record full-text search. Bare words are tokens that
    /// must all occur; double-quoted parts are phrases; case-insensitive.
    Match {
        /// The search text as written (unparsed).
        query: String,
    },
}

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `'text'` (single quotes; `''` escapes a quote).
    String(String),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `NULL`.
    Null,
    /// A duration such as `5m`, `250ms`, `1h30m`, in nanoseconds. Units: `ns`, `us`/`µs`,
    /// `ms`, `s`, `m`, `h`, `d`, `w`.
    Duration(i64),
}

/// A reference to data of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnRef {
    /// A column by name (`level`, `service`, or a select-item alias), lower-cased unless it
    /// was quoted.
    Named(String),
    /// `attributes.http.method` or `attributes['http.method']` (for metrics: a label;
    /// `labels.x` / `labels['x']` are the same).
    Attribute(String),
    /// `resource.host.name` or `resource['host.name']`.
    Resource(String),
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// Arithmetic negation.
    Neg,
    /// Logical negation.
    Not,
}

/// Binary operators, by increasing precedence: `OR`; `AND`; comparisons; `+ -`; `* / %`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `OR`.
    Or,
    /// `AND`.
    And,
    /// `=`.
    Eq,
    /// `!=` or `<>`.
    NotEq,
    /// `<`.
    Lt,
    /// `<=`.
    LtEq,
    /// `>`.
    Gt,
    /// `>=`.
    GtEq,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Rem,
}

impl BinaryOp {
    /// The operator as written in queries.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Or => "OR",
            BinaryOp::And => "AND",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }
}

impl fmt::Display for BinaryOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let text = "SELECT *\nFROM lögs\nWHERE x";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 9), (2, 1));
        // "FROM lö" is 8 bytes but 7 characters: the column after it is 8.
        assert_eq!(line_col(text, 9 + 8), (2, 8));
        assert_eq!(line_col(text, 10_000), (3, 8));
    }
}
