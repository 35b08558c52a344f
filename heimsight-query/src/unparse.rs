//! The canonical printer: a syntax tree ([`Statement`], [`Expr`]) back to query text.
//!
//! What [`render`] prints parses ([`crate::parse`]) back to the same tree, positions aside;
//! [`render_with_positions`] also rewrites the tree's positions to those the parser gives
//! for the printed text, so that a statement assembled in code (or from pieces parsed
//! separately) can be checked ([`crate::check()`]) against its text, with diagnostics and
//! output column names that point into it. The text is canonical, so printing is
//! idempotent:
//!
//! - keywords in upper case, function names in lower case, one space around operators,
//!   every clause that is set in the grammar's order, `AS` before every alias, `DESC` but
//!   never `ASC`, no `;` and no comments;
//! - parentheses only where precedence needs them (`a OR b AND c`, `(a OR b) AND c`,
//!   `a - (b - c)`, `NOT a = b`, `-(5)`, which is not the literal `-5`);
//! - strings in single quotes, a quote doubled (`'it''s'`);
//! - names bare when they can be (lower case ASCII letters, digits and `_`, not a keyword;
//!   `http.method`), else in double quotes (`"Level"`, `"order"`, `"two words"`); attribute
//!   keys as a path (`attributes.http.method`) or, when a key is not a path of plain words,
//!   indexed (`attributes['k y']`); `labels` instead of `attributes` in a query of `metrics`;
//! - durations in the form of [`heimsight_core::Duration`] (`1h30m`, `14d`, `0s`), floats as
//!   the shortest text that reads back the same (`1000.0`, `1e300`), so extreme values such as
//!   `i64::MIN` or `5e-324` round-trip;
//! - `AND` / `OR` chains longer than [`BALANCE_LOGICAL_CHAINS`], which the parser builds as
//!   balanced trees, are printed flat when the tree is that balanced one, and grouped with
//!   parentheses otherwise, so that the parser builds the same tree back.
//!
//! ```
//! use heimsight_query::unparse::{render, render_expr};
//! use heimsight_query::{parse, parse_expr};
//!
//! let stmt = parse("select service, COUNT(*) n from LOGS where (level = 'error') group by 1")?;
//! assert_eq!(
//!     render(&stmt),
//!     "SELECT service, count(*) AS n FROM logs WHERE level = 'error' GROUP BY 1"
//! );
//! assert_eq!(render_expr(&parse_expr("-(x) * (a + b) <> 'it''s'")?), "-x * (a + b) != 'it''s'");
//! # Ok::<(), heimsight_query::Diagnostics>(())
//! ```
//!
//! Some trees have no text: an empty select list or `IN` list, a function name that is not a
//! lower-case bare name (the parser lower-cases them) or is a keyword, a function `match`
//! called with one string (the parser reads `MATCH('…')`), a non-finite float (printed as
//! `1e999` or `-1e999`, which the parser rejects as too large), and trees deeper than the
//! parser's limits ([`crate::parser::MAX_DEPTH`]). The parser never builds such trees.

use crate::ast::{
    BinaryOp, ColumnRef, Expr, ExprKind, Ident, Literal, Pos, Select, SelectItem, Source,
    Statement, UnaryOp,
};
use crate::parser::{BALANCE_LOGICAL_CHAINS, KEYWORDS};

/// Prints `statement` as query text.
///
/// ```
/// use heimsight_query::{parse, unparse::render};
///
/// let stmt = parse("explain select * from spans order by duration desc, name asc limit 5;")?;
/// let text = render(&stmt);
/// assert_eq!(text, "EXPLAIN SELECT * FROM spans ORDER BY duration DESC, name LIMIT 5");
/// assert_eq!(render(&parse(&text)?), text);
/// # Ok::<(), heimsight_query::Diagnostics>(())
/// ```
pub fn render(statement: &Statement) -> String {
    render_with_positions(&mut statement.clone())
}

/// Prints `statement` as query text, like [`render`], and rewrites every position in it to
/// point into that text: afterwards `statement` equals what [`crate::parse`] gives for the
/// text.
///
/// ```
/// use heimsight_query::ast::{Pos, Select, SelectItem, Source, Statement};
/// use heimsight_query::{check, parse, parse_expr, unparse::render_with_positions};
///
/// let mut stmt = Statement {
///     explain: false,
///     select: Select {
///         items: vec![SelectItem::Wildcard(Pos::default())],
///         from: Source::Logs,
///         from_pos: Pos::default(),
///         filter: Some(parse_expr("levle = 'error'")?),
///         group_by: vec![],
///         having: None,
///         order_by: vec![],
///         limit: Some(10),
///         offset: None,
///         pos: Pos::default(),
///     },
/// };
/// let text = render_with_positions(&mut stmt);
/// assert_eq!(text, "SELECT * FROM logs WHERE levle = 'error' LIMIT 10");
/// assert_eq!(stmt, parse(&text)?);
/// // The checker's carets point into the printed text.
/// let err = check(stmt, &text).unwrap_err();
/// assert_eq!((err.items[0].column, err.items[0].found.as_str()), (26, "levle"));
/// # Ok::<(), heimsight_query::Diagnostics>(())
/// ```
pub fn render_with_positions(statement: &mut Statement) -> String {
    let mut p = Printer::default();
    if statement.explain {
        p.push("EXPLAIN ");
    }
    p.select(&mut statement.select);
    p.out
}

/// Prints `expr` as the text of an expression (a condition of `WHERE`, a select item, ...).
///
/// ```
/// use heimsight_query::{parse_expr, unparse::render_expr};
///
/// let e = parse_expr("NOT (a = b) AND x between 1 and 2 OR \"Level\" like 'E%'")?;
/// assert_eq!(render_expr(&e), "NOT a = b AND x BETWEEN 1 AND 2 OR \"Level\" LIKE 'E%'");
/// # Ok::<(), heimsight_query::Diagnostics>(())
/// ```
pub fn render_expr(expr: &Expr) -> String {
    render_expr_with_positions(&mut expr.clone())
}

/// Prints `expr` like [`render_expr`] and rewrites every position in it to point into that
/// text: afterwards `expr` equals what [`crate::parse_expr`] gives for the text.
///
/// ```
/// use heimsight_query::{parse_expr, unparse::render_expr_with_positions};
///
/// let mut e = parse_expr("  (a +  b) *c")?;
/// let text = render_expr_with_positions(&mut e);
/// assert_eq!(text, "(a + b) * c");
/// assert_eq!(e, parse_expr(&text)?);
/// # Ok::<(), heimsight_query::Diagnostics>(())
/// ```
pub fn render_expr_with_positions(expr: &mut Expr) -> String {
    let mut p = Printer::default();
    p.expr(expr, TOP);
    p.out
}

/// Prints `expr` like [`render_expr`], as part of a query of `source` (attributes are
/// `labels` for metrics).
pub(crate) fn render_expr_in(expr: &Expr, source: Source) -> String {
    let mut p = Printer {
        out: String::new(),
        source: Some(source),
    };
    p.expr(&mut expr.clone(), TOP);
    p.out
}

// ---------------------------------------------------------------------------------------
// Precedence levels, from the grammar (`expr` ... `primary`)
// ---------------------------------------------------------------------------------------

/// Where any expression may stand (`WHERE`, a select item, a function argument, an `IN`
/// list item, inside parentheses).
const TOP: u8 = OR;
/// `a OR b`: an `expr`.
const OR: u8 = 1;
/// `a AND b`: an `and_expr`.
const AND: u8 = 2;
/// `NOT a`: a `not_expr`.
const NOT: u8 = 3;
/// Comparisons, `IN`, `BETWEEN`, `LIKE`, `IS NULL`, `CONTAINS`: a `predicate`.
const PREDICATE: u8 = 4;
/// `a + b`, `a - b`: a `sum_expr`.
const SUM: u8 = 5;
/// `a * b`, `a / b`, `a % b`: a `product`.
const PRODUCT: u8 = 6;
/// `-a`, and negative number literals (`-5` is a minus sign and a number): a `unary`.
const UNARY: u8 = 7;
/// Literals, names, function calls, `MATCH(...)`, parenthesized expressions.
const PRIMARY: u8 = 8;

/// The grammar level whose rule `e` is printed at, without parentheses.
fn level(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary { op, .. } => binary_level(*op),
        ExprKind::Unary {
            op: UnaryOp::Not, ..
        } => NOT,
        ExprKind::Unary {
            op: UnaryOp::Neg, ..
        } => UNARY,
        ExprKind::InList { .. }
        | ExprKind::InSubquery { .. }
        | ExprKind::Between { .. }
        | ExprKind::Like { .. }
        | ExprKind::IsNull { .. }
        | ExprKind::Contains { .. } => PREDICATE,
        ExprKind::Literal(l) if negative(l) => UNARY,
        ExprKind::Literal(_)
        | ExprKind::Column(_)
        | ExprKind::Function { .. }
        | ExprKind::Match { .. } => PRIMARY,
    }
}

fn binary_level(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => OR,
        BinaryOp::And => AND,
        BinaryOp::Eq
        | BinaryOp::NotEq
        | BinaryOp::Lt
        | BinaryOp::LtEq
        | BinaryOp::Gt
        | BinaryOp::GtEq => PREDICATE,
        BinaryOp::Add | BinaryOp::Sub => SUM,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => PRODUCT,
    }
}

/// The least levels of the left and right operands of `op` (not `AND` / `OR`). Comparisons
/// do not chain (`a = b = c` is no expression); arithmetic is left-associative.
fn operand_levels(op: BinaryOp) -> (u8, u8) {
    match binary_level(op) {
        PREDICATE => (SUM, SUM),
        SUM => (SUM, PRODUCT),
        _ => (PRODUCT, UNARY),
    }
}

/// Whether the literal is printed with a leading minus sign.
fn negative(l: &Literal) -> bool {
    match l {
        Literal::Int(n) | Literal::Duration(n) => *n < 0,
        Literal::Float(f) => f.is_sign_negative() && !f.is_nan(),
        Literal::String(_) | Literal::Bool(_) | Literal::Null => false,
    }
}

// ---------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------

/// Column names whose path is an attribute key (`attributes.x`, ...) rather than part of
/// the name.
const PATH_HEADS: &[&str] = &["attributes", "attrs", "attr", "labels", "resource"];

/// Whether `name` reads back as itself when written bare: what the parser makes of a bare
/// name (lower case ASCII letters, digits, `_`; not starting with a digit) and no keyword.
fn bare(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !KEYWORDS.contains(&name)
}

/// Whether `key` can be written as a path after `attributes.`: words of ASCII letters,
/// digits and `_` (any case), separated by single dots.
fn path(key: &str) -> bool {
    key.split('.')
        .all(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

// ---------------------------------------------------------------------------------------
// The printer
// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct Printer {
    out: String,
    /// The source of the select being printed (attributes are `labels` for metrics).
    source: Option<Source>,
}

impl Printer {
    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn len(&self) -> usize {
        self.out.len()
    }

    /// The position of what was printed since `start`.
    fn since(&self, start: usize) -> Pos {
        Pos::new(start, self.out.len())
    }

    fn select(&mut self, s: &mut Select) {
        let outer = self.source.replace(s.from);
        let start = self.len();
        self.push("SELECT ");
        for (i, item) in s.items.iter_mut().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            match item {
                SelectItem::Wildcard(pos) => {
                    let at = self.len();
                    self.push("*");
                    *pos = self.since(at);
                }
                SelectItem::Expr { expr, alias } => {
                    self.expr(expr, TOP);
                    if let Some(alias) = alias {
                        self.push(" AS ");
                        self.ident(alias);
                    }
                }
            }
        }
        self.push(" FROM ");
        let at = self.len();
        self.push(s.from.as_str());
        s.from_pos = self.since(at);
        if let Some(filter) = &mut s.filter {
            self.push(" WHERE ");
            self.expr(filter, TOP);
        }
        if !s.group_by.is_empty() {
            self.push(" GROUP BY ");
            self.list(&mut s.group_by);
        }
        if let Some(having) = &mut s.having {
            self.push(" HAVING ");
            self.expr(having, TOP);
        }
        if !s.order_by.is_empty() {
            self.push(" ORDER BY ");
            for (i, item) in s.order_by.iter_mut().enumerate() {
                if i > 0 {
                    self.push(", ");
                }
                self.expr(&mut item.expr, TOP);
                if item.descending {
                    self.push(" DESC");
                }
            }
        }
        if let Some(limit) = s.limit {
            self.push(&format!(" LIMIT {limit}"));
        }
        if let Some(offset) = s.offset {
            self.push(&format!(" OFFSET {offset}"));
        }
        s.pos = self.since(start);
        self.source = outer;
    }

    /// `a, b, c`, each any expression.
    fn list(&mut self, exprs: &mut [Expr]) {
        for (i, e) in exprs.iter_mut().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.expr(e, TOP);
        }
    }

    /// `e` where an expression of level `min` or higher is expected: in parentheses when its
    /// own level is lower.
    fn expr(&mut self, e: &mut Expr, min: u8) {
        let parens = level(e) < min;
        self.expr_in(e, parens);
    }

    /// `e`, in parentheses when `parens`; its position is what was printed (with the
    /// parentheses, as the parser's positions of a parenthesized expression are).
    fn expr_in(&mut self, e: &mut Expr, parens: bool) {
        let start = self.len();
        if parens {
            self.push("(");
        }
        match &e.kind {
            ExprKind::Binary {
                op: op @ (BinaryOp::And | BinaryOp::Or),
                ..
            } => {
                let op = *op;
                self.logical(e, op);
            }
            _ => self.kind(&mut e.kind),
        }
        if parens {
            self.push(")");
        }
        e.pos = self.since(start);
    }

    fn kind(&mut self, kind: &mut ExprKind) {
        match kind {
            ExprKind::Literal(l) => self.literal(l),
            ExprKind::Column(c) => self.column(c),
            ExprKind::Unary {
                op: UnaryOp::Not,
                expr,
            } => {
                self.push("NOT ");
                // `NOT NOT a` is a run of prefixes, not a group.
                if matches!(
                    expr.kind,
                    ExprKind::Unary {
                        op: UnaryOp::Not,
                        ..
                    }
                ) {
                    self.expr_in(expr, false);
                } else {
                    self.expr(expr, PREDICATE);
                }
            }
            ExprKind::Unary {
                op: UnaryOp::Neg,
                expr,
            } => {
                self.push("-");
                if matches!(
                    expr.kind,
                    ExprKind::Unary {
                        op: UnaryOp::Neg,
                        ..
                    }
                ) {
                    // `- -x`: the space keeps the two signs from starting a `--` comment.
                    self.push(" ");
                    self.expr_in(expr, false);
                } else if let ExprKind::Literal(
                    Literal::Int(_) | Literal::Float(_) | Literal::Duration(_),
                ) = expr.kind
                {
                    // A number right after the sign is read as a negative literal: `-(5)` is
                    // the negation of 5, `-5` the literal.
                    self.expr_in(expr, true);
                } else {
                    self.expr(expr, PRIMARY);
                }
            }
            ExprKind::Binary { op, left, right } => {
                let (l, r) = operand_levels(*op);
                self.expr(left, l);
                self.push(" ");
                self.push(op.as_str());
                self.push(" ");
                self.expr(right, r);
            }
            ExprKind::Function {
                name,
                args,
                star,
                distinct,
            } => {
                let at = self.len();
                self.push(&name.name);
                name.pos = self.since(at);
                self.push("(");
                if *star {
                    self.push("*");
                } else {
                    if *distinct {
                        self.push("DISTINCT ");
                    }
                    self.list(args);
                }
                self.push(")");
            }
            ExprKind::InList {
                expr,
                list,
                negated,
            } => {
                self.expr(expr, SUM);
                self.push(if *negated { " NOT IN (" } else { " IN (" });
                self.list(list);
                self.push(")");
            }
            ExprKind::InSubquery {
                expr,
                query,
                negated,
            } => {
                self.expr(expr, SUM);
                self.push(if *negated { " NOT IN (" } else { " IN (" });
                self.select(query);
                self.push(")");
            }
            ExprKind::Between {
                expr,
                low,
                high,
                negated,
            } => {
                self.expr(expr, SUM);
                self.push(if *negated {
                    " NOT BETWEEN "
                } else {
                    " BETWEEN "
                });
                self.expr(low, SUM);
                self.push(" AND ");
                self.expr(high, SUM);
            }
            ExprKind::Like {
                expr,
                pattern,
                case_insensitive,
                negated,
            } => {
                self.expr(expr, SUM);
                self.push(match (*negated, *case_insensitive) {
                    (false, false) => " LIKE ",
                    (false, true) => " ILIKE ",
                    (true, false) => " NOT LIKE ",
                    (true, true) => " NOT ILIKE ",
                });
                self.expr(pattern, SUM);
            }
            ExprKind::IsNull { expr, negated } => {
                self.expr(expr, SUM);
                self.push(if *negated { " IS NOT NULL" } else { " IS NULL" });
            }
            ExprKind::Contains {
                expr,
                pattern,
                negated,
            } => {
                self.expr(expr, SUM);
                self.push(if *negated {
                    " NOT CONTAINS "
                } else {
                    " CONTAINS "
                });
                self.expr(pattern, SUM);
            }
            ExprKind::Match { query } => {
                self.push("MATCH(");
                self.string(query);
                self.push(")");
            }
        }
    }

    /// An `AND` / `OR` node `e`. The parser builds a chain `a op b op c ...` of up to
    /// [`BALANCE_LOGICAL_CHAINS`] operands left-leaning (`(a op b) op c`) and a longer one
    /// balanced; so `e` is printed as the balanced chain when it is one, else as a
    /// left-leaning chain of at most that many operands, the first one the rest of the
    /// left spine in parentheses when the spine is longer.
    fn logical(&mut self, e: &mut Expr, op: BinaryOp) {
        let operand = if op == BinaryOp::Or { AND } else { NOT };
        let leaves = chain_leaves(e, op);
        if leaves > BALANCE_LOGICAL_CHAINS && balanced(e, op, leaves) {
            self.balanced_chain(e, op, leaves, operand);
        } else {
            let spine = spine_len(e, op);
            self.spine_chain(e, op, spine.min(BALANCE_LOGICAL_CHAINS), operand);
        }
    }

    /// `e` as a flat chain of `n` operands that the parser builds back balanced.
    fn balanced_chain(&mut self, e: &mut Expr, op: BinaryOp, n: usize, operand: u8) {
        if n > 1
            && let ExprKind::Binary { left, right, .. } = &mut e.kind
        {
            self.balanced_chain(left, op, n / 2, operand);
            self.op(op);
            self.balanced_chain(right, op, n - n / 2, operand);
            e.pos = left.pos.to(right.pos);
        } else {
            self.expr(e, operand);
        }
    }

    /// `e` as a flat chain of `n` operands (at most [`BALANCE_LOGICAL_CHAINS`]): the node
    /// `n - 1` steps down the left spine, then the right operands on the way back up.
    fn spine_chain(&mut self, e: &mut Expr, op: BinaryOp, n: usize, operand: u8) {
        if n > 1
            && let ExprKind::Binary { left, right, .. } = &mut e.kind
        {
            self.spine_chain(left, op, n - 1, operand);
            self.op(op);
            self.expr(right, operand);
            e.pos = left.pos.to(right.pos);
        } else {
            // When the spine is longer, this is an `op` node: in parentheses.
            self.expr(e, operand);
        }
    }

    fn op(&mut self, op: BinaryOp) {
        self.push(" ");
        self.push(op.as_str());
        self.push(" ");
    }

    fn literal(&mut self, l: &Literal) {
        match l {
            Literal::String(s) => self.string(s),
            Literal::Int(n) => self.push(&n.to_string()),
            // `{:?}` is the shortest text that parses back to the same float, with a `.0` or
            // an exponent (`1000.0`, `1e300`, `5e-324`): never read as an integer.
            Literal::Float(f) if f.is_finite() => self.push(&format!("{f:?}")),
            // No literal has these values; the parser rejects this as too large.
            Literal::Float(f) if *f < 0.0 => self.push("-1e999"),
            Literal::Float(_) => self.push("1e999"),
            Literal::Bool(b) => self.push(if *b { "true" } else { "false" }),
            Literal::Null => self.push("NULL"),
            Literal::Duration(n) => {
                self.push(&heimsight_core::Duration::from_nanos(*n).to_string());
            }
        }
    }

    /// `'text'`, a quote doubled.
    fn string(&mut self, s: &str) {
        self.push("'");
        self.push(&s.replace('\'', "''"));
        self.push("'");
    }

    /// `"name"`, a double quote doubled.
    fn quoted(&mut self, name: &str) {
        self.push("\"");
        self.push(&name.replace('"', "\"\""));
        self.push("\"");
    }

    fn ident(&mut self, ident: &mut Ident) {
        let at = self.len();
        if bare(&ident.name) {
            self.push(&ident.name);
        } else {
            self.quoted(&ident.name);
        }
        ident.pos = self.since(at);
    }

    fn column(&mut self, c: &ColumnRef) {
        match c {
            ColumnRef::Named(name) => {
                // `http.method` is the column `http.method`, unless it starts like an
                // attribute path.
                let dotted = name.split_once('.').is_some_and(|(head, rest)| {
                    bare(head) && !PATH_HEADS.contains(&head) && path(rest)
                });
                if bare(name) || dotted {
                    self.push(name);
                } else {
                    self.quoted(name);
                }
            }
            ColumnRef::Attribute(key) => {
                self.push(if self.source == Some(Source::Metrics) {
                    "labels"
                } else {
                    "attributes"
                });
                self.key(key);
            }
            ColumnRef::Resource(key) => {
                self.push("resource");
                self.key(key);
            }
        }
    }

    /// `.http.method` or `['k y']`.
    fn key(&mut self, key: &str) {
        if path(key) {
            self.push(".");
            self.push(key);
        } else {
            self.push("[");
            self.string(key);
            self.push("]");
        }
    }
}

/// How many operands the chain of `op` at `e` has: the expressions reached through `op`
/// nodes only.
fn chain_leaves(e: &Expr, op: BinaryOp) -> usize {
    let mut n = 0;
    let mut todo = vec![e];
    while let Some(e) = todo.pop() {
        match &e.kind {
            ExprKind::Binary {
                op: o, left, right, ..
            } if *o == op => {
                todo.push(left);
                todo.push(right);
            }
            _ => n += 1,
        }
    }
    n
}

/// Whether `e` is the tree the parser builds for a chain of `n` operands of `op` longer
/// than [`BALANCE_LOGICAL_CHAINS`]: the first `n / 2` on the left, the rest on the right,
/// down to single operands. (The recursion halves `n`: it is shallow.)
fn balanced(e: &Expr, op: BinaryOp, n: usize) -> bool {
    if n == 1 {
        return true;
    }
    match &e.kind {
        ExprKind::Binary {
            op: o, left, right, ..
        } if *o == op => balanced(left, op, n / 2) && balanced(right, op, n - n / 2),
        _ => false,
    }
}

/// How many operands the left-leaning chain of `op` at `e` has: the nodes of its left
/// spine plus one.
fn spine_len(e: &Expr, op: BinaryOp) -> usize {
    let mut n = 1;
    let mut at = e;
    while let ExprKind::Binary { op: o, left, .. } = &at.kind
        && *o == op
    {
        n += 1;
        at = left;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names() {
        assert!(bare("level"));
        assert!(bare("_x9"));
        assert!(bare("match"));
        assert!(!bare("order"));
        assert!(!bare("Level"));
        assert!(!bare("1st"));
        assert!(!bare(""));
        assert!(!bare("größe"));
        assert!(path("http.Method"));
        assert!(path("2xx"));
        assert!(!path("a..b"));
        assert!(!path("a."));
        assert!(!path(""));
    }
}
