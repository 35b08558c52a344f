//! Problems found in a query, with their position, for people and for programs.
//!
//! Both the parser ([`crate::parser`]) and the checker ([`check`](mod@crate::check)) report problems
//! as [`Diagnostic`]s, gathered in [`Diagnostics`] (the error type of both). Each one names
//! the place (byte range, 1-based line and column), what was found there, what was expected
//! and, when there is an obvious fix, a hint:
//!
//! ```
//! let err = heimsight_query::parse_and_check("SELECT levle FROM logs").unwrap_err();
//! assert_eq!(err.to_string(), "line 1, column 8: unknown column `levle` — did you mean `level`?");
//! let d = &err.items[0];
//! assert_eq!((d.line, d.column, d.found.as_str()), (1, 8, "levle"));
//! ```

use std::fmt;

use crate::ast::{Pos, line_col};

/// Most problems reported for one query; the checker counts the rest and ends the list
/// with one "N more problems not shown".
pub const MAX_DIAGNOSTICS: usize = 100;

/// Longest `found` text kept (in characters); longer text is cut and ends with `…`.
const MAX_FOUND_CHARS: usize = 40;

/// One problem in a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong, in one sentence without position (e.g. "unknown column `levle`").
    pub message: String,
    /// The byte range of the text at fault.
    pub pos: Pos,
    /// 1-based line of `pos.start`.
    pub line: usize,
    /// 1-based column (in characters) of `pos.start`.
    pub column: usize,
    /// The text that was there (cut to 40 characters), or `end of input`.
    pub found: String,
    /// What would have been accepted there, in user terms (`` `FROM` ``, `an expression`);
    /// empty when that is not a useful question (most checker errors).
    pub expected: Vec<String>,
    /// A suggestion such as "did you mean `level`?".
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic for the text at `pos` of `text`; `found` is that text (trimmed, cut to
    /// 40 characters, or `end of input` when empty).
    pub fn new(text: &str, pos: Pos, message: impl Into<String>) -> Diagnostic {
        let (line, column) = line_col(text, pos.start);
        let found = text.get(pos.start..pos.end).unwrap_or("").trim();
        Diagnostic {
            message: message.into(),
            pos,
            line,
            column,
            found: if found.is_empty() && pos.start >= text.len() {
                "end of input".to_string()
            } else {
                shorten(found)
            },
            expected: Vec::new(),
            hint: None,
        }
    }

    /// Replaces `found`.
    pub fn with_found(mut self, found: impl Into<String>) -> Diagnostic {
        self.found = shorten(&found.into());
        self
    }

    /// Replaces `expected`.
    pub fn with_expected(mut self, expected: Vec<String>) -> Diagnostic {
        self.expected = expected;
        self
    }

    /// Sets the hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the hint when there is one.
    pub fn with_hint_opt(mut self, hint: Option<String>) -> Diagnostic {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, " — {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Every problem found in a query, in the order of their position (the error type of
/// [`crate::parser::parse`], [`crate::check::check`] and [`crate::parse_and_check`]).
///
/// `Display` writes one line per problem.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics {
    /// The problems.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// No problems yet.
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Adds one.
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The problems, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// Sorts by position (stable: problems at the same place keep their order).
    pub fn sort(&mut self) {
        self.items.sort_by_key(|d| (d.pos.start, d.pos.end));
    }

    /// A multi-line report for a terminal: each problem, then its line of `text` with the
    /// faulty range underlined.
    ///
    /// ```text
    /// line 1, column 8: unknown column `levle` — did you mean `level`?
    ///   SELECT levle FROM logs
    ///          ^^^^^
    /// ```
    pub fn render(&self, text: &str) -> String {
        let mut out = String::new();
        for d in &self.items {
            out.push_str(&d.to_string());
            out.push('\n');
            let start = floor_boundary(text, d.pos.start);
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
            let line = &text[line_start..line_end];
            let lead = text[line_start..start].chars().count();
            let end = floor_boundary(text, d.pos.end.clamp(start, line_end));
            let width = text[start..end].chars().count().max(1);
            out.push_str("  ");
            out.extend(line.chars().map(|c| if c == '\t' { ' ' } else { c }));
            out.push_str("\n  ");
            out.push_str(&" ".repeat(lead));
            out.push_str(&"^".repeat(width));
            out.push('\n');
        }
        out
    }
}

fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Cuts `s` to [`MAX_FOUND_CHARS`] characters and escapes control characters.
fn shorten(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == MAX_FOUND_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Diagnostics {
        Diagnostics { items: vec![d] }
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(items: Vec<Diagnostic>) -> Diagnostics {
        Diagnostics { items }
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}
