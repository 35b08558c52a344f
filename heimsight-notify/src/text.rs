//! Text helpers shared by the channels: length limits, escaping, number formatting.
//!
//! Lengths are counted in UTF-16 code units, the way JavaScript and Java count a string's
//! length. That is never less than the count of characters (code points), so text cut to a
//! limit in UTF-16 units fits whichever of the two a service counts.

/// Length of `s` in UTF-16 code units.
pub(crate) fn len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// `s` cut to at most `max` UTF-16 code units, ending in `…` when something was cut off.
pub fn truncate(s: &str, max: usize) -> String {
    if len(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        // Keep one unit for the ellipsis.
        if used + c.len_utf16() > max - 1 {
            break;
        }
        used += c.len_utf16();
        out.push(c);
    }
    out.push('…');
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` escaped with `escape` and cut so that the escaped text has at most `max` UTF-16 units,
/// never in the middle of an escape sequence.
pub(crate) fn escape_truncate(s: &str, max: usize, escape: fn(&str) -> String) -> String {
    let escaped = escape(s);
    if len(&escaped) <= max {
        return escaped;
    }
    // Cut the source, leaving room for the ellipsis, until its escaped form fits.
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let mut buf = [0u8; 4];
        let e = escape(c.encode_utf8(&mut buf));
        let n = len(&e);
        if used + n > max.saturating_sub(1) {
            break;
        }
        used += n;
        out.push_str(&e);
    }
    out.push('…');
    out
}

/// One line of text: control characters (line breaks included) become spaces, so user data
/// cannot start a new header line.
pub(crate) fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A sample value for people: integers without a fraction, other numbers as Rust prints them
/// (the shortest text that reads back to the same number), `NaN`, `+Inf`, `-Inf`.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// An error and its causes, each once: `error sending request: connection refused` (the
/// messages of reqwest without URLs and of lettre carry no credentials).
pub(crate) fn describe(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_utf16_units_and_marks_the_cut() {
        assert_eq!(truncate("hello", 5), "hello");
        assert_eq!(truncate("hello!", 5), "hell…");
        assert_eq!(len(&truncate(&"é".repeat(300), 150)), 150);
        // An emoji is two UTF-16 units; never split one.
        let t = truncate(&"😀".repeat(10), 6);
        assert_eq!(t, "😀😀…");
        assert!(len(&t) <= 6);
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn escaping_never_leaves_half_an_entity() {
        let s = escape_truncate("a<b>&c".repeat(100).as_str(), 20, escape_html);
        assert!(len(&s) <= 20, "{s}");
        assert!(s.ends_with('…'));
        let before_ellipsis = s.trim_end_matches('…');
        assert!(!before_ellipsis.ends_with("&l") && !before_ellipsis.ends_with("&amp"));
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn values_print_for_people() {
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(-0.25), "-0.25");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(1e20), "100000000000000000000");
        assert_eq!(one_line("a\r\nb\tc"), "a  b c");
    }
}
