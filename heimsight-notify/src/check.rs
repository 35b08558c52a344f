//! Validation helpers shared by the channels' settings.

use heimsight_core::FieldError;

use crate::secret;

/// Problems found in one value, with their field paths.
pub(crate) type Problems = Vec<FieldError>;

pub(crate) fn push(problems: &mut Problems, path: &str, reason: impl Into<String>) {
    problems.push(FieldError::new(path, reason));
}

/// An `http://` or `https://` URL with a host. `example` is shown in the message when the
/// field is empty.
pub(crate) fn http_url(problems: &mut Problems, path: &str, url: &str, example: &str) {
    if url.trim().is_empty() {
        push(
            problems,
            path,
            format!("required; expected a URL such as {example}"),
        );
        return;
    }
    if secret::contains_mask(url) {
        push(problems, path, still_masked());
        return;
    }
    match reqwest::Url::parse(url) {
        Err(e) => push(
            problems,
            path,
            format!("not a valid URL ({e}); expected a URL such as {example}"),
        ),
        Ok(u) if u.scheme() != "http" && u.scheme() != "https" => push(
            problems,
            path,
            format!("the URL scheme must be http or https, not {:?}", u.scheme()),
        ),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => {
            push(problems, path, "the URL has no host")
        }
        Ok(_) => {}
    }
}

/// A required secret (API key, routing key, password): non-empty, no control characters,
/// not a masked value.
pub(crate) fn secret(problems: &mut Problems, path: &str, value: &str, what: &str) {
    if value.is_empty() {
        push(problems, path, format!("required; the {what}"));
    } else {
        secret_value(problems, path, value);
    }
}

/// A secret that is present: no control characters, not a masked value.
pub(crate) fn secret_value(problems: &mut Problems, path: &str, value: &str) {
    if secret::contains_mask(value) {
        push(problems, path, still_masked());
    } else if value.chars().any(char::is_control) {
        push(
            problems,
            path,
            "must not contain control characters or line breaks",
        );
    }
}

/// Optional free text that ends up in a header or a single line: no control characters.
pub(crate) fn single_line(problems: &mut Problems, path: &str, value: &str) {
    if value.chars().any(char::is_control) {
        push(
            problems,
            path,
            "must not contain control characters or line breaks",
        );
    }
}

/// Optional text with a maximum length in characters.
pub(crate) fn max_chars(problems: &mut Problems, path: &str, value: &str, max: usize) {
    let n = value.chars().count();
    if n > max {
        push(
            problems,
            path,
            format!("too long: {n} characters, at most {max}"),
        );
    }
}

fn still_masked() -> String {
    format!(
        "contains the mask {}: send the full secret, or leave the field out (or send the \
         masked value unchanged) to keep the current one",
        secret::MASK
    )
}
