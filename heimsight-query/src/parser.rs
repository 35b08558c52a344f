//! The parser of the Heimsight query language: text to [`Statement`].
//!
//! ```text
//! [EXPLAIN] SELECT items FROM logs|spans|metrics [WHERE e] [GROUP BY e, ...] [HAVING e]
//!     [ORDER BY e [ASC|DESC], ...] [LIMIT n] [OFFSET m] [;]
//! ```
//!
//! Keywords are case-insensitive, `--` starts a comment. Bare names are lower-cased; names
//! in `"..."` or `` `...` `` keep their case. `attributes.http.method`,
//! `attributes['http.method']` (also `attrs.`, `attr.`, `labels.`) are
//! [`ColumnRef::Attribute`]; `resource.host.name`, `resource['host.name']` are
//! [`ColumnRef::Resource`]. Operators by increasing precedence: `OR`; `AND`; `NOT`;
//! comparisons (`= != <> < <= > >=`, `[NOT] IN (...)`, `[NOT] BETWEEN a AND b`,
//! `[NOT] LIKE`, `[NOT] ILIKE`, `IS [NOT] NULL`, `[NOT] CONTAINS`); `+ -`; `* / %`; unary
//! `-`. Literals: `'text'` (`''` is a quote), integers, floats (`1.5`, `1e3`), `true`,
//! `false`, `NULL`, durations (`250ms`, `5m`, `1h30m`; units `ns us µs ms s m h d w`).
//! A minus sign directly before a number or duration is folded into the literal (`-5` is
//! `Literal::Int(-5)`).
//!
//! [`parse_expr`] reads a single expression (such as a `WHERE` condition) the same way.
//! [`crate::unparse`] prints a tree back as text.
//!
//! Problems come back as [`Diagnostics`] with line, column, what was found and what was
//! expected:
//!
//! ```
//! use heimsight_query::parser::parse;
//!
//! let stmt = parse("SELECT level, count(*) FROM logs GROUP BY level").unwrap();
//! assert_eq!(stmt.select.items.len(), 2);
//!
//! let err = parse("SELECT * FORM logs").unwrap_err();
//! let d = &err.items[0];
//! assert_eq!((d.line, d.column, d.found.as_str()), (1, 10, "FORM"));
//! assert!(d.expected.contains(&"`FROM`".to_string()));
//! assert_eq!(d.hint.as_deref(), Some("did you mean `FROM`?"));
//! ```
//!
//! Nesting is bounded so that no input can exhaust the stack: at most [`MAX_NESTING`]
//! levels of parentheses, [`MAX_SUBQUERIES`] levels of subqueries and expressions at most
//! [`MAX_DEPTH`] levels deep (a chain `a + b + c ...` counts one level per operator; `AND`
//! and `OR` chains longer than [`BALANCE_LOGICAL_CHAINS`] are built as balanced trees).
//! Within these limits parsing and checking fit in a 2 MiB thread stack even in debug
//! builds (and pest's own stack guard turns an exhausted stack into an error).

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use crate::ast::{
    BinaryOp, ColumnRef, Expr, ExprKind, Ident, Literal, OrderItem, Pos, Select, SelectItem,
    Source, Statement, UnaryOp,
};
use crate::diagnostic::{Diagnostic, Diagnostics};

#[allow(missing_docs, unreachable_pub, missing_debug_implementations)]
mod grammar {
    #[derive(pest_derive::Parser)]
    #[grammar = "grammar.pest"]
    pub(super) struct QueryParser;
}

use grammar::{QueryParser, Rule};

/// Most levels of parentheses (groups, function calls, `IN` lists, subqueries) a query may
/// nest.
pub const MAX_NESTING: usize = 128;

/// Most levels of subqueries (`x IN (SELECT ...)`) a query may nest.
pub const MAX_SUBQUERIES: usize = 16;

/// `AND` / `OR` chains with more operands than this are built as balanced trees
/// (`(a OR b) OR (c OR d)`) rather than left-leaning ones (`((a OR b) OR c) OR d`), so that
/// long generated conditions stay shallow. Both mean the same.
pub const BALANCE_LOGICAL_CHAINS: usize = 16;

/// Most levels an expression tree may have (each operator, function call or subquery adds
/// one to what it contains).
pub const MAX_DEPTH: usize = 256;

/// Parses a query.
///
/// On failure every problem found is returned: a syntax error stops the parse (there is one
/// then), problems in literals (an integer too large for 64 bits, a duration too long) are
/// all reported.
pub fn parse(text: &str) -> Result<Statement, Diagnostics> {
    parse_rule(text, Rule::query, |b, query| b.statement(query))
}

/// Parses `text` as `rule` and builds the tree with `build`: nesting bounded first, a syntax
/// error stops, then every problem `build` recorded is reported, sorted.
fn parse_rule<'t, T>(
    text: &'t str,
    rule: Rule,
    build: impl FnOnce(&mut Builder<'t>, Pair<'t, Rule>) -> Result<T, Box<Diagnostic>>,
) -> Result<T, Diagnostics> {
    check_nesting(text).map_err(|d| Diagnostics::from(*d))?;
    let mut pairs = QueryParser::parse(rule, text).map_err(|e| syntax_error(text, &e))?;
    let whole = pairs
        .next()
        .ok_or_else(|| Diagnostic::new(text, Pos::new(0, 0), "empty parse"))?;
    let mut b = Builder {
        text,
        diags: Vec::new(),
        subqueries: 0,
    };
    let built = build(&mut b, whole).map_err(|d| Diagnostics::from(*d))?;
    if b.diags.is_empty() {
        Ok(built)
    } else {
        let mut d = Diagnostics::from(b.diags);
        d.sort();
        Err(d)
    }
}

/// Parses a single expression, such as the condition of a `WHERE` clause, with the grammar,
/// precedence and positions (byte offsets into `text`) of [`parse`].
///
/// Nothing may follow the expression but whitespace and comments: `level = 'error' LIMIT 5`
/// or `x = 1;` is a syntax error pointing at what follows. Problems come back as for
/// [`parse`].
///
/// ```
/// use heimsight_query::ast::{BinaryOp, ExprKind};
/// use heimsight_query::parse_expr;
///
/// let e = parse_expr("level = 'error' AND duration > 250ms")?;
/// assert!(matches!(e.kind, ExprKind::Binary { op: BinaryOp::And, .. }));
/// assert_eq!((e.pos.start, e.pos.end), (0, 36));
///
/// let err = parse_expr("level = 'error' LIMIT 5").unwrap_err();
/// assert_eq!((err.items[0].column, err.items[0].found.as_str()), (17, "LIMIT"));
/// # Ok::<(), heimsight_query::Diagnostics>(())
/// ```
pub fn parse_expr(text: &str) -> Result<Expr, Diagnostics> {
    parse_rule(text, Rule::expr_only, |b, whole| {
        let pos = span(&whole);
        let expr = whole
            .into_inner()
            .find(|p| p.as_rule() == Rule::expr)
            .ok_or_else(|| b.internal(pos))?;
        Ok(b.expr(expr)?.0)
    })
}

/// Parses and checks a query: [`parse`] then [`crate::check::check`].
///
/// ```
/// use heimsight_query::{parse_and_check, schema::Type};
///
/// let checked = parse_and_check(
///     "SELECT service, p99(duration) AS slow FROM spans WHERE status = 'error' GROUP BY 1",
/// )?;
/// assert!(checked.aggregate);
/// assert_eq!(checked.columns[1].name, "slow");
/// assert_eq!(checked.columns[1].ty, Type::Duration);
///
/// let err = parse_and_check("SELECT levle FROM logs WHERE service = 3").unwrap_err();
/// assert_eq!(err.len(), 2);
/// # Ok::<(), heimsight_query::Diagnostics>(())
/// ```
pub fn parse_and_check(text: &str) -> Result<crate::ast::Checked, Diagnostics> {
    let statement = parse(text)?;
    crate::check::check(statement, text)
}

/// Rejects text whose parentheses nest deeper than [`MAX_NESTING`], before the (recursive)
/// grammar runs. Strings, quoted names and comments are skipped.
fn check_nesting(text: &str) -> Result<(), Box<Diagnostic>> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(Box::new(Diagnostic::new(
                        text,
                        Pos::new(i, i + 1),
                        format!("too deeply nested: more than {MAX_NESTING} levels of parentheses"),
                    )));
                }
            }
            b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Syntax errors
// ---------------------------------------------------------------------------------------

/// What a grammar rule means to a user, when the parser says it expected it.
enum Term {
    /// Shown as is.
    Plain(&'static str),
    /// Several terms.
    Many(&'static [&'static str]),
    /// An operator that could continue an expression (listed once as "an operator").
    Operator,
    /// Shown only when nothing else is expected.
    Minor(&'static str),
}

fn term(rule: Rule) -> Term {
    use Term::*;
    match rule {
        Rule::query | Rule::select | Rule::kw_select => Plain("`SELECT`"),
        Rule::kw_explain => Plain("`EXPLAIN`"),
        Rule::kw_from => Plain("`FROM`"),
        Rule::select_list | Rule::select_item => Many(&["an expression", "`*`"]),
        Rule::wildcard | Rule::star_arg => Plain("`*`"),
        Rule::alias | Rule::ident | Rule::bare_ident => Plain("a name"),
        // Only reported alone after `attributes.` (in `ident` it is folded into "a name").
        Rule::quoted_ident => Plain("an attribute key"),
        Rule::source => Many(&["`logs`", "`spans`", "`metrics`"]),
        Rule::where_clause | Rule::kw_where => Plain("`WHERE`"),
        Rule::group_by_clause | Rule::kw_group => Plain("`GROUP BY`"),
        Rule::kw_by => Plain("`BY`"),
        Rule::having_clause | Rule::kw_having => Plain("`HAVING`"),
        Rule::order_by_clause | Rule::kw_order => Plain("`ORDER BY`"),
        Rule::limit_clause | Rule::kw_limit => Plain("`LIMIT`"),
        Rule::offset_clause | Rule::kw_offset => Plain("`OFFSET`"),
        Rule::kw_asc => Plain("`ASC`"),
        Rule::kw_desc => Plain("`DESC`"),
        Rule::kw_as => Plain("`AS`"),
        Rule::kw_and => Plain("`AND`"),
        Rule::kw_or => Plain("`OR`"),
        Rule::kw_not => Plain("`NOT`"),
        Rule::kw_in => Plain("`IN`"),
        Rule::kw_is => Operator,
        Rule::kw_null => Plain("`NULL`"),
        Rule::kw_between => Plain("`BETWEEN`"),
        Rule::kw_like => Plain("`LIKE`"),
        Rule::kw_ilike => Plain("`ILIKE`"),
        Rule::kw_contains => Plain("`CONTAINS`"),
        Rule::kw_distinct => Plain("`DISTINCT`"),
        Rule::unsigned => Plain("a whole number"),
        Rule::is_null
        | Rule::in_subquery
        | Rule::in_list
        | Rule::between
        | Rule::like
        | Rule::contains
        | Rule::comparison
        | Rule::cmp_op
        | Rule::add_op
        | Rule::mul_op => Operator,
        Rule::string | Rule::string_inner => Plain("a string"),
        Rule::path_segment => Plain("an attribute key"),
        Rule::path_dot => Minor("`.`"),
        Rule::path_index => Minor("`[`"),
        Rule::comma => Plain("`,`"),
        Rule::semicolon => Plain("`;`"),
        Rule::lparen => Plain("`(`"),
        Rule::rparen => Plain("`)`"),
        Rule::EOI => Plain("end of input"),
        Rule::expr_only
        | Rule::expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::predicate
        | Rule::sum_expr
        | Rule::product
        | Rule::unary
        | Rule::neg
        | Rule::paren
        | Rule::match_expr
        | Rule::kw_match
        | Rule::function_call
        | Rule::function_name
        | Rule::function_args
        | Rule::column
        | Rule::order_item
        | Rule::duration
        | Rule::float
        | Rule::integer
        | Rule::boolean
        | Rule::null
        | Rule::dq_inner
        | Rule::bq_inner
        | Rule::reserved
        | Rule::list_literal => Plain("an expression"),
        // Silent rules: never reported.
        Rule::WHITESPACE
        | Rule::COMMENT
        | Rule::primary
        | Rule::literal
        | Rule::exponent
        | Rule::ident_char
        | Rule::in_item => Minor("an expression"),
    }
}

/// The user-facing list of what `positives` stand for, in a stable order.
fn expected_terms(positives: &[Rule]) -> Vec<String> {
    let mut plain: Vec<&'static str> = Vec::new();
    let mut minor: Vec<&'static str> = Vec::new();
    let mut operator = false;
    for &rule in positives {
        match term(rule) {
            Term::Plain(t) => plain.push(t),
            Term::Many(ts) => plain.extend_from_slice(ts),
            Term::Operator => operator = true,
            Term::Minor(t) => minor.push(t),
        }
    }
    const OPERATOR_WORDS: &[&str] = &[
        "`IN`",
        "`BETWEEN`",
        "`LIKE`",
        "`ILIKE`",
        "`CONTAINS`",
        "`NOT`",
    ];
    if operator {
        plain.retain(|t| !OPERATOR_WORDS.contains(t));
    }
    // Order: expressions and names first, then operators, keywords, punctuation, the end.
    let rank = |t: &str| -> u8 {
        if t.starts_with("an ") || t.starts_with("a ") {
            0
        } else if t == "`AND`" || t == "`OR`" {
            1
        } else if t == "end of input" {
            4
        } else if t.starts_with('`') && t[1..].starts_with(|c: char| c.is_ascii_alphabetic()) {
            2
        } else {
            3
        }
    };
    let mut out: Vec<String> = Vec::new();
    let push = |out: &mut Vec<String>, t: &str| {
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    };
    let mut sorted = plain.clone();
    sorted.sort_by_key(|t| rank(t));
    for t in sorted.iter().filter(|t| rank(t) == 0) {
        push(&mut out, t);
    }
    if operator {
        push(&mut out, "an operator");
    }
    for t in sorted.iter().filter(|t| rank(t) != 0) {
        push(&mut out, t);
    }
    if out.is_empty() {
        for t in minor {
            push(&mut out, t);
        }
    }
    out
}

/// "a", "a or b", "a, b or c".
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The token that starts at byte `pos` of `text`: its range and its text.
fn token_at(text: &str, pos: usize) -> (Pos, String) {
    let pos = pos.min(text.len());
    let rest = text.get(pos..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return (Pos::new(pos, pos), "end of input".to_string());
    };
    let len = match first {
        '\'' | '"' | '`' => {
            let mut end = None;
            let mut chars = rest.char_indices().skip(1).peekable();
            while let Some((i, c)) = chars.next() {
                if c == first {
                    if chars.peek().map(|&(_, n)| n) == Some(first) {
                        chars.next();
                    } else {
                        end = Some(i + 1);
                        break;
                    }
                }
            }
            end.unwrap_or(rest.len())
        }
        c if c.is_alphanumeric() || c == '_' => rest
            .char_indices()
            .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
            .map_or(rest.len(), |(i, _)| i),
        _ => {
            let two = rest.get(..2).unwrap_or("");
            if ["<=", ">=", "<>", "!=", "=="].contains(&two) {
                2
            } else {
                first.len_utf8()
            }
        }
    };
    (Pos::new(pos, pos + len), rest[..len].to_string())
}

/// The identifier-like word that ends just before `pos` (skipping whitespace), if any.
fn word_before(text: &str, pos: usize) -> Option<&str> {
    let before = text.get(..pos)?.trim_end();
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    (!word.is_empty() && !word.starts_with(|c: char| c.is_ascii_digit())).then_some(word)
}

/// The reserved words of the grammar (`reserved` in `grammar.pest`): never bare names.
pub(crate) const KEYWORDS: &[&str] = &[
    "select", "from", "where", "group", "by", "having", "order", "asc", "desc", "limit", "offset",
    "as", "and", "or", "not", "in", "is", "null", "between", "like", "ilike", "contains", "true",
    "false", "explain", "distinct",
];

/// The keyword (or source name) among `expected` that `word` looks like a misspelling of.
fn close_keyword(word: &str, expected: &[String]) -> Option<String> {
    let lower = word.to_lowercase();
    expected
        .iter()
        .filter_map(|t| {
            let inner = t.strip_prefix('`')?.strip_suffix('`')?;
            let first = inner.split(' ').next()?;
            if !first.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return None;
            }
            let d = crate::check::edit_distance(&lower, &first.to_lowercase());
            (d <= max_typo_distance(first) && d > 0).then_some((d, inner.to_string()))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// How many edits still count as a typo of `word`.
pub(crate) fn max_typo_distance(word: &str) -> usize {
    match word.chars().count() {
        0..=3 => 1,
        _ => 2,
    }
}

fn syntax_error(text: &str, err: &pest::error::Error<Rule>) -> Diagnostic {
    let at = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let positives = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { message } => {
            return Diagnostic::new(
                text,
                Pos::new(at, at),
                format!(
                    "the query could not be parsed ({message}); it is probably nested too deeply"
                ),
            );
        }
    };
    let (pos, found) = token_at(text, at);
    let expected = expected_terms(&positives);
    let found_shown = if found == "end of input" {
        found.clone()
    } else {
        format!("`{}`", shorten_inline(&found))
    };

    // An unterminated string or quoted name swallows the rest of the text.
    let first = found.chars().next().unwrap_or(' ');
    if matches!(first, '\'' | '"' | '`') && (found.len() < 2 || !closes(&found, first)) {
        let what = if first == '\'' {
            "string"
        } else {
            "quoted name"
        };
        return Diagnostic::new(text, pos, format!("unterminated {what}"))
            .with_found(found.clone())
            .with_expected(vec![format!("`{first}`")])
            .with_hint(format!(
                "close it with {first}; write {first}{first} for a {first} inside it"
            ));
    }

    let mut message = if expected.is_empty() {
        format!("unexpected {found_shown}")
    } else {
        format!("expected {}, found {found_shown}", or_list(&expected))
    };
    let mut hint = None;
    if first.is_alphabetic() || first == '_' {
        let lower = found.to_lowercase();
        let wants_source = expected.iter().any(|t| t == "`spans`");
        if wants_source && (lower == "trace" || lower == "traces") {
            hint = Some("traces are queried as `spans`".to_string());
        } else if let Some(k) = close_keyword(&found, &expected) {
            hint = Some(format!("did you mean `{k}`?"));
        } else if expected.iter().any(|t| t == "an expression")
            && KEYWORDS.contains(&lower.as_str())
            && ![
                "and", "or", "not", "select", "from", "where", "null", "true", "false",
            ]
            .contains(&lower.as_str())
            && used_as_value(text, pos.end)
        {
            hint = Some(format!(
                "`{found}` is a keyword; to use it as a name, quote it: \"{lower}\""
            ));
        }
    }
    if first.is_ascii_digit() && found.contains(|c: char| c.is_alphabetic()) {
        message = format!(
            "invalid number or duration {found_shown}; expected {}",
            or_list(&expected)
        );
        hint = Some("durations are written like `250ms`, `5m` or `1h30m`".to_string());
    }
    if hint.is_none()
        && let Some(prev) = word_before(text, at)
        && !KEYWORDS.contains(&prev.to_lowercase().as_str())
        && let Some(k) = close_keyword(prev, &expected)
    {
        hint = Some(format!("`{prev}` was read as a name; did you mean `{k}`?"));
    }
    if hint.is_none() && found == "\"" {
        hint = Some("strings are written in single quotes: 'text'".to_string());
    }
    Diagnostic::new(text, pos, message)
        .with_found(found)
        .with_expected(expected)
        .with_hint_opt(hint)
}

/// Whether the text after a word continues like the word was a value (an operator, `,`,
/// `)` or the end follow), e.g. the column name in `WHERE order = 5`.
fn used_as_value(text: &str, after: usize) -> bool {
    let rest = text.get(after..).unwrap_or("").trim_start();
    rest.is_empty() || rest.starts_with(|c: char| "=<>!+-*/%,);".contains(c))
}

fn closes(token: &str, quote: char) -> bool {
    token.len() >= 2 && token.ends_with(quote)
}

/// At most 40 characters of `s`, control characters escaped.
fn shorten_inline(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().take(40) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

// ---------------------------------------------------------------------------------------
// Building the syntax tree
// ---------------------------------------------------------------------------------------

struct Builder<'t> {
    text: &'t str,
    /// Problems that do not stop the parse (bad literals).
    diags: Vec<Diagnostic>,
    /// How many subqueries enclose the one being built.
    subqueries: usize,
}

/// A built expression and its depth; errors are boxed to keep the recursion's frames small.
type Built = Result<(Expr, usize), Box<Diagnostic>>;

fn span(pair: &Pair<'_, Rule>) -> Pos {
    let s = pair.as_span();
    Pos::new(s.start(), s.end())
}

/// Where the last token of `pair` ends. A rule's span can extend over the whitespace and
/// comments after it (when it ends with an optional part); a token's (a rule without inner
/// rules) cannot.
fn end_of_last_token(pair: &Pair<'_, Rule>) -> usize {
    let mut last = pair.clone();
    // Compound-atomic rules (strings, column paths) are tokens with inner parts.
    while !matches!(
        last.as_rule(),
        Rule::string | Rule::column | Rule::ident | Rule::quoted_ident | Rule::list_literal
    ) {
        match last.clone().into_inner().last() {
            Some(child) => last = child,
            None => break,
        }
    }
    last.as_span().end()
}

fn binary_op(pair: &Pair<'_, Rule>) -> BinaryOp {
    match pair.as_rule() {
        Rule::kw_or => BinaryOp::Or,
        Rule::kw_and => BinaryOp::And,
        _ => match pair.as_str() {
            "+" => BinaryOp::Add,
            "-" => BinaryOp::Sub,
            "*" => BinaryOp::Mul,
            "/" => BinaryOp::Div,
            "%" => BinaryOp::Rem,
            "=" | "==" => BinaryOp::Eq,
            "!=" | "<>" => BinaryOp::NotEq,
            "<" => BinaryOp::Lt,
            "<=" => BinaryOp::LtEq,
            ">" => BinaryOp::Gt,
            _ => BinaryOp::GtEq,
        },
    }
}

impl<'t> Builder<'t> {
    fn internal(&self, pos: Pos) -> Box<Diagnostic> {
        Box::new(Diagnostic::new(
            self.text,
            pos,
            "internal parser error: unexpected syntax tree",
        ))
    }

    fn too_deep(&self, pos: Pos) -> Box<Diagnostic> {
        Box::new(
            Diagnostic::new(
                self.text,
                pos,
                format!("expression too deeply nested (more than {MAX_DEPTH} levels)"),
            )
            .with_hint("for long lists of alternatives use `x IN (a, b, ...)`"),
        )
    }

    fn depth(&self, depth: usize, pos: Pos) -> Result<usize, Box<Diagnostic>> {
        if depth > MAX_DEPTH {
            Err(self.too_deep(pos))
        } else {
            Ok(depth)
        }
    }

    fn statement(&mut self, query: Pair<'t, Rule>) -> Result<Statement, Box<Diagnostic>> {
        let pos = span(&query);
        let mut explain = false;
        let mut select = None;
        for p in query.into_inner() {
            match p.as_rule() {
                Rule::kw_explain => explain = true,
                Rule::select => select = Some(self.select(p)?.0),
                _ => {}
            }
        }
        let select = select.ok_or_else(|| self.internal(pos))?;
        Ok(Statement { explain, select })
    }

    fn select(&mut self, pair: Pair<'t, Rule>) -> Result<(Select, usize), Box<Diagnostic>> {
        let pos = span(&pair);
        let mut depth = 0;
        let mut select = Select {
            items: Vec::new(),
            from: Source::Logs,
            from_pos: pos,
            filter: None,
            group_by: Vec::new(),
            having: None,
            order_by: Vec::new(),
            limit: None,
            offset: None,
            pos,
        };
        select.pos.end = end_of_last_token(&pair);
        for p in pair.into_inner() {
            let d = self.clause(p, &mut select)?;
            depth = depth.max(d);
        }
        Ok((select, depth))
    }

    /// One part of a `SELECT` into `select`; returns its expressions' depth.
    fn clause(&mut self, p: Pair<'t, Rule>, select: &mut Select) -> Result<usize, Box<Diagnostic>> {
        let mut depth = 0;
        match p.as_rule() {
            Rule::select_list => {
                for item in p.into_inner().filter(|i| i.as_rule() == Rule::select_item) {
                    let (item, d) = self.select_item(item)?;
                    depth = depth.max(d);
                    select.items.push(item);
                }
            }
            Rule::source => {
                select.from_pos = span(&p);
                select.from = match p.as_str().to_ascii_lowercase().as_str() {
                    "logs" => Source::Logs,
                    "spans" => Source::Spans,
                    _ => Source::Metrics,
                };
            }
            Rule::where_clause => {
                let (e, d) = self.clause_expr(p)?;
                depth = d;
                select.filter = Some(e);
            }
            Rule::having_clause => {
                let (e, d) = self.clause_expr(p)?;
                depth = d;
                select.having = Some(e);
            }
            Rule::group_by_clause => {
                for e in p.into_inner().filter(|e| e.as_rule() == Rule::expr) {
                    let (e, d) = self.expr(e)?;
                    depth = depth.max(d);
                    select.group_by.push(e);
                }
            }
            Rule::order_by_clause => {
                for item in p.into_inner().filter(|i| i.as_rule() == Rule::order_item) {
                    let (item, d) = self.order_item(item)?;
                    depth = depth.max(d);
                    select.order_by.push(item);
                }
            }
            Rule::limit_clause => select.limit = self.unsigned(p, "LIMIT"),
            Rule::offset_clause => select.offset = self.unsigned(p, "OFFSET"),
            _ => {}
        }
        Ok(depth)
    }

    fn select_item(
        &mut self,
        item: Pair<'t, Rule>,
    ) -> Result<(SelectItem, usize), Box<Diagnostic>> {
        let item_pos = span(&item);
        let mut inner = item.into_inner();
        let first = inner.next().ok_or_else(|| self.internal(item_pos))?;
        if first.as_rule() == Rule::wildcard {
            return Ok((SelectItem::Wildcard(span(&first)), 0));
        }
        let (expr, d) = self.expr(first)?;
        let alias = match inner.next() {
            Some(a) => Some(self.alias(a)?),
            None => None,
        };
        Ok((SelectItem::Expr { expr, alias }, d))
    }

    fn order_item(&mut self, item: Pair<'t, Rule>) -> Result<(OrderItem, usize), Box<Diagnostic>> {
        let item_pos = span(&item);
        let mut inner = item.into_inner();
        let e = inner.next().ok_or_else(|| self.internal(item_pos))?;
        let (expr, d) = self.expr(e)?;
        let descending = inner.next().is_some_and(|k| k.as_rule() == Rule::kw_desc);
        Ok((OrderItem { expr, descending }, d))
    }

    fn clause_expr(&mut self, clause: Pair<'t, Rule>) -> Built {
        let pos = span(&clause);
        let e = clause
            .into_inner()
            .find(|p| p.as_rule() == Rule::expr)
            .ok_or_else(|| self.internal(pos))?;
        self.expr(e)
    }

    fn unsigned(&mut self, clause: Pair<'t, Rule>, what: &str) -> Option<u64> {
        let n = clause
            .into_inner()
            .find(|p| p.as_rule() == Rule::unsigned)?;
        match n.as_str().parse::<u64>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.diags.push(Diagnostic::new(
                    self.text,
                    span(&n),
                    format!("{what} value is too large (the largest is {})", u64::MAX),
                ));
                None
            }
        }
    }

    fn alias(&mut self, alias: Pair<'t, Rule>) -> Result<Ident, Box<Diagnostic>> {
        let pos = span(&alias);
        let ident = alias
            .into_inner()
            .find(|p| p.as_rule() == Rule::ident)
            .ok_or_else(|| self.internal(pos))?;
        let pos = span(&ident);
        let (name, _) = self.ident(ident)?;
        Ok(Ident { name, pos })
    }

    /// An identifier's name (bare ones lower-cased) and whether it was quoted.
    fn ident(&self, ident: Pair<'t, Rule>) -> Result<(String, bool), Box<Diagnostic>> {
        let pos = span(&ident);
        let inner = ident
            .into_inner()
            .next()
            .ok_or_else(|| self.internal(pos))?;
        match inner.as_rule() {
            Rule::quoted_ident => Ok((self.quoted(inner)?, true)),
            _ => Ok((inner.as_str().to_lowercase(), false)),
        }
    }

    fn quoted(&self, q: Pair<'t, Rule>) -> Result<String, Box<Diagnostic>> {
        let pos = span(&q);
        let inner = q.into_inner().next().ok_or_else(|| self.internal(pos))?;
        Ok(match inner.as_rule() {
            Rule::bq_inner => inner.as_str().replace("``", "`"),
            _ => inner.as_str().replace("\"\"", "\""),
        })
    }

    /// Builds an expression. The single-child layers of the precedence ladder (`expr` ->
    /// `and_expr` -> ... -> `unary`) and parentheses are walked in a loop, so that each
    /// level of parentheses costs one frame of [`Builder::node`], not ten.
    fn expr(&mut self, pair: Pair<'t, Rule>) -> Built {
        let mut pair = pair;
        let mut paren = None;
        loop {
            match pair.as_rule() {
                Rule::expr
                | Rule::and_expr
                | Rule::not_expr
                | Rule::predicate
                | Rule::sum_expr
                | Rule::product
                | Rule::unary => {
                    let mut inner = pair.clone().into_inner();
                    match (inner.next(), inner.next()) {
                        (Some(only), None) => pair = only,
                        _ => break,
                    }
                }
                Rule::list_literal => {
                    let pos = span(&pair);
                    pair = pair.into_inner().next().ok_or_else(|| self.internal(pos))?;
                }
                Rule::paren => {
                    let pos = span(&pair);
                    paren.get_or_insert(pos);
                    pair = pair
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::expr)
                        .ok_or_else(|| self.internal(pos))?;
                }
                _ => break,
            }
        }
        let (mut e, depth) = self.node(pair)?;
        if let Some(pos) = paren {
            // `(a + b) * c`: the group's range includes its parentheses.
            e.pos = pos;
        }
        Ok((e, depth))
    }

    fn node(&mut self, pair: Pair<'t, Rule>) -> Built {
        let pos = span(&pair);
        match pair.as_rule() {
            Rule::expr | Rule::and_expr | Rule::sum_expr | Rule::product => self.chain(pair),
            Rule::not_expr => self.nots(pair),
            Rule::predicate => {
                let mut inner = pair.into_inner();
                let first = inner.next().ok_or_else(|| self.internal(pos))?;
                let (left, depth) = self.expr(first)?;
                match inner.next() {
                    None => Ok((left, depth)),
                    Some(tail) => self.predicate(left, depth, tail),
                }
            }
            Rule::unary => self.unary(pair),
            Rule::function_call => self.function(pair),
            Rule::match_expr => {
                let s = pair
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::string)
                    .ok_or_else(|| self.internal(pos))?;
                let query = self.string(s)?;
                Ok((Expr::new(ExprKind::Match { query }, pos), 1))
            }
            Rule::column => self.column(pair),
            Rule::duration
            | Rule::float
            | Rule::integer
            | Rule::string
            | Rule::boolean
            | Rule::null => {
                let lit = self.literal(pair, false)?;
                Ok((Expr::new(ExprKind::Literal(lit), pos), 1))
            }
            _ => Err(self.internal(pos)),
        }
    }

    /// `a op b op c ...`, left-associative; long `AND`/`OR` chains are built as balanced
    /// trees instead (see [`BALANCE_LOGICAL_CHAINS`]).
    fn chain(&mut self, pair: Pair<'t, Rule>) -> Built {
        let pos = span(&pair);
        let logical = matches!(pair.as_rule(), Rule::expr | Rule::and_expr);
        let mut inner = pair.into_inner();
        let first = inner.next().ok_or_else(|| self.internal(pos))?;
        let (first, first_depth) = self.expr(first)?;
        let mut operands = vec![(first, first_depth)];
        let mut ops = Vec::new();
        while let Some(op) = inner.next() {
            let rhs = inner.next().ok_or_else(|| self.internal(pos))?;
            ops.push(binary_op(&op));
            operands.push(self.expr(rhs)?);
        }
        if logical && operands.len() > BALANCE_LOGICAL_CHAINS {
            // Every operator of an `expr` is OR, of an `and_expr` AND.
            let op = ops.first().copied().unwrap_or(BinaryOp::Or);
            return self.balanced(op, operands);
        }
        let mut operands = operands.into_iter();
        let (mut acc, mut depth) = operands.next().ok_or_else(|| self.internal(pos))?;
        for (op, (right, d)) in ops.into_iter().zip(operands) {
            let at = acc.pos.to(right.pos);
            depth = self.depth(depth.max(d) + 1, at)?;
            acc = Expr::new(
                ExprKind::Binary {
                    op,
                    left: Box::new(acc),
                    right: Box::new(right),
                },
                at,
            );
        }
        Ok((acc, depth))
    }

    /// `a op b op c op d` as `(a op b) op (c op d)`: for associative operators, depth
    /// log2(n) instead of n.
    fn balanced(&mut self, op: BinaryOp, mut operands: Vec<(Expr, usize)>) -> Built {
        if operands.len() <= 1 {
            let pos = Pos::new(0, 0);
            return operands.pop().ok_or_else(|| self.internal(pos));
        }
        let right = operands.split_off(operands.len() / 2);
        let (left, ld) = self.balanced(op, operands)?;
        let (right, rd) = self.balanced(op, right)?;
        let at = left.pos.to(right.pos);
        let depth = self.depth(ld.max(rd) + 1, at)?;
        Ok((
            Expr::new(
                ExprKind::Binary {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                at,
            ),
            depth,
        ))
    }

    /// `NOT NOT x`.
    fn nots(&mut self, pair: Pair<'t, Rule>) -> Built {
        let (nots, operand) = self.prefixes(pair, Rule::kw_not)?;
        let built = self.expr(operand)?;
        self.prefixed(built, UnaryOp::Not, nots)
    }

    /// Splits a run of prefix operators (`rule`) from their operand: the byte offsets of the
    /// prefixes, left to right, and the operand.
    fn prefixes(
        &self,
        pair: Pair<'t, Rule>,
        rule: Rule,
    ) -> Result<(Vec<usize>, Pair<'t, Rule>), Box<Diagnostic>> {
        let pos = span(&pair);
        let mut starts = Vec::new();
        let mut operand = None;
        for p in pair.into_inner() {
            if p.as_rule() == rule {
                starts.push(span(&p).start);
            } else {
                operand = Some(p);
            }
        }
        Ok((starts, operand.ok_or_else(|| self.internal(pos))?))
    }

    /// Wraps `built` in one `op` per prefix, innermost last (`starts` are the byte offsets of
    /// the prefixes, left to right), counting each toward the depth limit.
    fn prefixed(&self, built: (Expr, usize), op: UnaryOp, starts: Vec<usize>) -> Built {
        let (mut e, mut depth) = built;
        for start in starts.into_iter().rev() {
            let at = Pos::new(start, e.pos.end);
            depth = self.depth(depth + 1, at)?;
            e = Expr::new(
                ExprKind::Unary {
                    op,
                    expr: Box::new(e),
                },
                at,
            );
        }
        Ok((e, depth))
    }

    fn predicate(&mut self, left: Expr, depth: usize, tail: Pair<'t, Rule>) -> Built {
        let tail_pos = span(&tail);
        // The tail's span can include trailing whitespace; its last token's cannot.
        let at = Pos::new(left.pos.start, end_of_last_token(&tail).max(left.pos.end));
        let rule = tail.as_rule();
        let mut negated = false;
        let mut case_insensitive = false;
        let mut op = None;
        let mut operands = Vec::new();
        let mut subquery = None;
        for p in tail.into_inner() {
            match p.as_rule() {
                Rule::kw_not => negated = true,
                Rule::kw_ilike => case_insensitive = true,
                Rule::cmp_op => op = Some(binary_op(&p)),
                Rule::select => subquery = Some(p),
                Rule::expr | Rule::sum_expr | Rule::list_literal => operands.push(p),
                _ => {}
            }
        }
        let mut depth = depth;
        let mut built = Vec::with_capacity(operands.len());
        for p in operands {
            let (e, d) = self.expr(p)?;
            depth = depth.max(d);
            built.push(e);
        }
        let mut built = built.into_iter();
        let mut next = |this: &Self| built.next().ok_or_else(|| this.internal(tail_pos));
        let left = Box::new(left);
        let kind = match rule {
            Rule::is_null => ExprKind::IsNull {
                expr: left,
                negated,
            },
            Rule::in_subquery => {
                let q = subquery.ok_or_else(|| self.internal(tail_pos))?;
                if self.subqueries >= MAX_SUBQUERIES {
                    return Err(Box::new(Diagnostic::new(
                        self.text,
                        span(&q),
                        format!("too many nested subqueries (more than {MAX_SUBQUERIES})"),
                    )));
                }
                self.subqueries += 1;
                let built = self.select(q);
                self.subqueries -= 1;
                let (query, d) = built?;
                depth = depth.max(d);
                ExprKind::InSubquery {
                    expr: left,
                    query: Box::new(query),
                    negated,
                }
            }
            Rule::in_list => ExprKind::InList {
                expr: left,
                list: built.by_ref().collect(),
                negated,
            },
            Rule::between => ExprKind::Between {
                expr: left,
                low: Box::new(next(self)?),
                high: Box::new(next(self)?),
                negated,
            },
            Rule::like => ExprKind::Like {
                expr: left,
                pattern: Box::new(next(self)?),
                case_insensitive,
                negated,
            },
            Rule::contains => ExprKind::Contains {
                expr: left,
                pattern: Box::new(next(self)?),
                negated,
            },
            Rule::comparison => ExprKind::Binary {
                op: op.ok_or_else(|| self.internal(tail_pos))?,
                left,
                right: Box::new(next(self)?),
            },
            _ => return Err(self.internal(tail_pos)),
        };
        let depth = self.depth(depth + 1, at)?;
        Ok((Expr::new(kind, at), depth))
    }

    fn unary(&mut self, pair: Pair<'t, Rule>) -> Built {
        let pos = span(&pair);
        let (negs, operand) = self.prefixes(pair, Rule::neg)?;
        if let (Some(&first), Rule::integer | Rule::float | Rule::duration) =
            (negs.first(), operand.as_rule())
        {
            // `-5` is the literal -5 (so that i64::MIN can be written).
            let lit = self.literal(operand, negs.len() % 2 == 1)?;
            return Ok((
                Expr::new(ExprKind::Literal(lit), Pos::new(first, pos.end)),
                1,
            ));
        }
        let built = self.expr(operand)?;
        self.prefixed(built, UnaryOp::Neg, negs)
    }

    fn string(&self, s: Pair<'t, Rule>) -> Result<String, Box<Diagnostic>> {
        let pos = span(&s);
        let inner = s.into_inner().next().ok_or_else(|| self.internal(pos))?;
        Ok(inner.as_str().replace("''", "'"))
    }

    fn literal(
        &mut self,
        pair: Pair<'t, Rule>,
        negative: bool,
    ) -> Result<Literal, Box<Diagnostic>> {
        let pos = span(&pair);
        let text = pair.as_str();
        Ok(match pair.as_rule() {
            Rule::integer => {
                let parsed = if negative {
                    format!("-{text}").parse::<i64>()
                } else {
                    text.parse::<i64>()
                };
                match parsed {
                    Ok(v) => Literal::Int(v),
                    Err(_) => {
                        self.diags.push(
                            Diagnostic::new(
                                self.text,
                                pos,
                                format!(
                                    "integer {}{text} does not fit in 64 bits",
                                    if negative { "-" } else { "" }
                                ),
                            )
                            .with_hint(format!(
                                "integers range from {} to {}; write a float (e.g. {text}.0) for larger numbers",
                                i64::MIN,
                                i64::MAX
                            )),
                        );
                        Literal::Null
                    }
                }
            }
            Rule::float => match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Literal::Float(if negative { -v } else { v }),
                _ => {
                    self.diags.push(Diagnostic::new(
                        self.text,
                        pos,
                        format!("number {text} is too large"),
                    ));
                    Literal::Null
                }
            },
            Rule::duration => match duration_nanos(text, negative) {
                Some(n) => Literal::Duration(n),
                None => {
                    self.diags.push(
                        Diagnostic::new(self.text, pos, format!("duration {text} is too long"))
                            .with_hint("durations are at most about 292 years (2^63 ns)"),
                    );
                    Literal::Null
                }
            },
            Rule::string => Literal::String(self.string(pair)?),
            Rule::boolean => Literal::Bool(text.eq_ignore_ascii_case("true")),
            Rule::null => Literal::Null,
            _ => return Err(self.internal(pos)),
        })
    }

    fn function(&mut self, pair: Pair<'t, Rule>) -> Built {
        let pos = span(&pair);
        let mut name = None;
        let mut args = Vec::new();
        let mut star = false;
        let mut distinct = false;
        let mut depth = 0;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::function_name => {
                    name = Some(Ident {
                        name: p.as_str().to_lowercase(),
                        pos: span(&p),
                    });
                }
                Rule::function_args => {
                    for a in p.into_inner() {
                        match a.as_rule() {
                            Rule::star_arg => star = true,
                            Rule::kw_distinct => distinct = true,
                            Rule::expr => {
                                let (e, d) = self.expr(a)?;
                                depth = depth.max(d);
                                args.push(e);
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        let name = name.ok_or_else(|| self.internal(pos))?;
        let depth = self.depth(depth + 1, pos)?;
        Ok((
            Expr::new(
                ExprKind::Function {
                    name,
                    args,
                    star,
                    distinct,
                },
                pos,
            ),
            depth,
        ))
    }

    fn column(&mut self, pair: Pair<'t, Rule>) -> Built {
        let pos = span(&pair);
        let mut head = None;
        let mut path: Vec<String> = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => head = Some(self.ident(p)?.0),
                Rule::path_dot => {
                    let seg_pos = span(&p);
                    let seg = p
                        .into_inner()
                        .next()
                        .ok_or_else(|| self.internal(seg_pos))?;
                    path.push(match seg.as_rule() {
                        Rule::quoted_ident => self.quoted(seg)?,
                        _ => seg.as_str().to_string(),
                    });
                }
                Rule::path_index => {
                    let seg_pos = span(&p);
                    let s = p
                        .into_inner()
                        .next()
                        .ok_or_else(|| self.internal(seg_pos))?;
                    path.push(self.string(s)?);
                }
                _ => {}
            }
        }
        let head = head.ok_or_else(|| self.internal(pos))?;
        let column = if path.is_empty() {
            ColumnRef::Named(head)
        } else {
            let key = path.join(".");
            match head.to_lowercase().as_str() {
                "attributes" | "attrs" | "attr" | "labels" => ColumnRef::Attribute(key),
                "resource" => ColumnRef::Resource(key),
                _ => ColumnRef::Named(format!("{head}.{key}")),
            }
        };
        Ok((Expr::new(ExprKind::Column(column), pos), 1))
    }
}

/// Nanoseconds of a duration literal such as `1h30m` (negated when `negative`), or `None`
/// when it does not fit in an `i64`: [`heimsight_core::Duration`]'s text form.
fn duration_nanos(text: &str, negative: bool) -> Option<i64> {
    let text = if negative {
        format!("-{text}")
    } else {
        text.to_string()
    };
    heimsight_core::Duration::parse(&text)
        .ok()
        .map(heimsight_core::Duration::as_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_nanos("1h30m", false), Some(5_400_000_000_000));
        assert_eq!(duration_nanos("250ms", false), Some(250_000_000));
        assert_eq!(duration_nanos("3µs", true), Some(-3_000));
        assert_eq!(duration_nanos("99999999999999999999999w", false), None);
        assert_eq!(
            duration_nanos("9223372036854775808ns", true),
            Some(i64::MIN)
        );
        assert_eq!(duration_nanos("9223372036854775808ns", false), None);
    }

    #[test]
    fn tokens() {
        assert_eq!(token_at("a FORM b", 2).1, "FORM");
        assert_eq!(token_at("x <= 1", 2).1, "<=");
        assert_eq!(token_at("x 'it''s' y", 2).1, "'it''s'");
        assert_eq!(token_at("x 'open", 2).1, "'open");
        assert_eq!(token_at("x", 1).1, "end of input");
        assert_eq!(word_before("SELECT level FORM logs", 18), Some("FORM"));
    }
}
