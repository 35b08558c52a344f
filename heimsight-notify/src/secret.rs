//! Masking secrets for display, and recognising a masked secret sent back in an update.

/// What a secret is replaced with when shown.
pub const MASK: &str = "••••";

/// Secrets at least this long (in characters) show their last 4 characters after the mask.
const SHOW_TAIL_FROM: usize = 12;

/// A secret as it may be shown: `""` when unset, `••••` followed by its last 4 characters when
/// it has at least 12, else `••••` alone. Never the whole secret.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n == 0 {
        String::new()
    } else if n >= SHOW_TAIL_FROM {
        let tail: String = secret.chars().skip(n - 4).collect();
        format!("{MASK}{tail}")
    } else {
        MASK.to_string()
    }
}

/// A URL that may carry credentials (in its user info, path or query), as it may be shown:
/// scheme and host (and port) in clear, user info replaced by `••••@`, and everything after
/// the host masked: `••••`, followed by the last 4 characters when the URL ends in a token of
/// at least 12 characters. `https://hooks.slack.com/services/T0/B0/abcd…wxyz` shows as
/// `https://hooks.slack.com/••••wxyz`, `https://example.com/hook?key=abc` as
/// `https://example.com/••••`. Text that is not a URL is masked like any secret.
pub fn mask_url(url: &str) -> String {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return mask(url);
    };
    let Some(host) = parsed.host_str() else {
        return mask(url);
    };
    let mut out = format!("{}://", parsed.scheme());
    if !parsed.username().is_empty() || parsed.password().is_some() {
        out.push_str(MASK);
        out.push('@');
    }
    out.push_str(host);
    if let Some(port) = parsed.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    out.push('/');
    // Everything after the authority: path (minus its leading slash), query, fragment.
    let mut rest = parsed.path().trim_start_matches('/').to_string();
    if let Some(q) = parsed.query() {
        rest.push('?');
        rest.push_str(q);
    }
    if let Some(f) = parsed.fragment() {
        rest.push('#');
        rest.push_str(f);
    }
    // Show the tail only when it belongs to a long token (the last run of characters after a
    // separator), so a short query value such as `?key=abc` never shows.
    let last_run = rest
        .rsplit(['/', '?', '&', '=', '#', ':', ';', ','])
        .next()
        .unwrap_or("");
    if last_run.chars().count() >= SHOW_TAIL_FROM {
        out.push_str(&mask(&rest));
    } else if !rest.is_empty() {
        out.push_str(MASK);
    }
    out
}

/// True when `value` contains the mask, i.e. is (or was edited from) a masked secret.
pub(crate) fn contains_mask(value: &str) -> bool {
    value.contains(MASK)
}

/// The value to keep for a secret in an update: the previous one when the new one is empty
/// or exactly what the previous one shows as (`shown`), else the new one.
pub(crate) fn keep(new: &mut String, previous: &str, shown: fn(&str) -> String) {
    if new.is_empty() || (!previous.is_empty() && *new == shown(previous)) {
        *new = previous.to_string();
    }
}

/// [`keep`] for an optional secret: `None` keeps the previous value too.
pub(crate) fn keep_opt(new: &mut Option<String>, previous: &Option<String>) {
    let Some(prev) = previous else { return };
    match new {
        None => *new = Some(prev.clone()),
        Some(v) => keep(v, prev, mask),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_show_nothing_long_ones_their_last_four_characters() {
        assert_eq!(mask(""), "");
        assert_eq!(mask("abc"), "••••");
        assert_eq!(mask("abcdefghijk"), "••••");
        assert_eq!(mask("abcdefghijkl"), "••••ijkl");
        assert_eq!(mask("ключ-ключ-ключ"), "••••ключ");
    }

    #[test]
    fn urls_keep_scheme_and_host_only() {
        assert_eq!(
            mask_url("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"),
            "https://hooks.slack.com/••••XXXX"
        );
        assert_eq!(
            mask_url("http://user:pw@example.com:8080/hook?token=abc"),
            "http://••••@example.com:8080/••••"
        );
        assert_eq!(mask_url("https://example.com"), "https://example.com/");
        assert_eq!(
            mask_url("https://example.com/hooks/heimsight-abcdefgh"),
            "https://example.com/••••efgh"
        );
        assert_eq!(
            mask_url("https://example.com/hook/0123456789abcdefg?key=abc"),
            "https://example.com/••••"
        );
        assert_eq!(mask_url("not a url at all, long"), "••••long");
        for url in [
            "https://user:sup3rs3cret@example.com/x",
            "https://example.com/api?key=sup3rs3cret",
        ] {
            assert!(!mask_url(url).contains("sup3rs3cret"), "{url}");
        }
    }

    #[test]
    fn masked_or_empty_values_keep_the_previous_secret() {
        let prev = "abcdefghijklmnop";
        for sent in ["", "••••mnop"] {
            let mut v = sent.to_string();
            keep(&mut v, prev, mask);
            assert_eq!(v, prev, "{sent:?}");
        }
        let mut v = "a-new-secret".to_string();
        keep(&mut v, prev, mask);
        assert_eq!(v, "a-new-secret");
        let mut o = None;
        keep_opt(&mut o, &Some(prev.to_string()));
        assert_eq!(o.as_deref(), Some(prev));
    }
}
