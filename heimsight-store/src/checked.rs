//! The rules of [`MetricStore::append_point_groups_checked`](crate::MetricStore::append_point_groups_checked),
//! shared by the backends.

use heimsight_core::{Duration, Timestamp};

/// What to do with one point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Append it.
    Take,
    /// Leave it out silently (an exact duplicate).
    Drop,
    /// Refuse it, for this reason.
    Refuse(String),
}

/// The verdict on a point at `t`: `newest` is the series' newest point (its timestamp, and
/// whether the point is the same as it), `at_t` tells whether a stored point at `t` is the
/// same as the point (`None`: no point there, or none known).
pub(crate) fn verdict(
    t: i64,
    newest: Option<(i64, bool)>,
    at_t: impl FnOnce() -> Option<bool>,
    window_ns: i64,
) -> Verdict {
    let duplicate = || {
        Verdict::Refuse(format!(
            "duplicate sample for timestamp {}: the series has another value there",
            Timestamp(t)
        ))
    };
    match newest {
        None => Verdict::Take,
        Some((newest, _)) if t > newest => Verdict::Take,
        Some((newest, same)) if t == newest => {
            if same {
                Verdict::Drop
            } else {
                duplicate()
            }
        }
        // Older: the same point again (a batch sent again) is dropped however old.
        Some((newest, _)) => match at_t() {
            Some(true) => Verdict::Drop,
            Some(false) => duplicate(),
            None if newest.saturating_sub(t) > window_ns => Verdict::Refuse(format!(
                "sample at {} is too old: {} before the series' newest ({}), more than the \
                 out-of-order window of {}",
                Timestamp(t),
                Duration::from_nanos(newest.saturating_sub(t)),
                Timestamp(newest),
                Duration::from_nanos(window_ns)
            )),
            None => Verdict::Take,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_taken_duplicates_dropped_or_refused_old_refused() {
        const W: i64 = 600_000_000_000;
        let none = || None;
        assert_eq!(verdict(5, None, none, W), Verdict::Take);
        assert_eq!(verdict(6, Some((5, false)), none, W), Verdict::Take);
        assert_eq!(verdict(5, Some((5, true)), none, W), Verdict::Drop);
        assert!(
            matches!(verdict(5, Some((5, false)), none, W), Verdict::Refuse(m) if m.contains("duplicate"))
        );
        // Within the window: taken, unless a different point is at its timestamp.
        assert_eq!(verdict(W, Some((2 * W, false)), none, W), Verdict::Take);
        assert_eq!(
            verdict(W, Some((2 * W, false)), || Some(true), W),
            Verdict::Drop
        );
        assert!(matches!(
            verdict(W, Some((2 * W, false)), || Some(false), W),
            Verdict::Refuse(_)
        ));
        // Older than the window: refused, unless it is a point stored already.
        match verdict(W - 1, Some((2 * W, false)), none, W) {
            Verdict::Refuse(m) => assert!(m.contains("too old") && m.contains("10m"), "{m}"),
            v => panic!("{v:?}"),
        }
        assert_eq!(
            verdict(W - 1, Some((2 * W, false)), || Some(true), W),
            Verdict::Drop
        );
    }
}
