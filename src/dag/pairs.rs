//! The original's causal pair rule, twice: an obvious O(n²) reference and a linear sweep.

use super::BuildParams;
use crate::session::Session;

/// Which implementation of the pair rule to run. Both give identical pair lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Builder {
    /// [`causal_pairs_reference`]: the obvious O(n²) double loop.
    Reference,
    /// [`causal_pairs_fast`]: a monotone sweep, O(n + edges).
    #[default]
    Fast,
}

/// Causal pairs `(i, j)` of local indices over times sorted by (time, sequence index): for
/// each `i`, the first `k` later events `j > i` with `dt_min <= t[j] - t[i] <= dt_max`
/// (the original's rule: skip `j` while the gap is below `dt_min`, stop once it exceeds
/// `dt_max`; gaps saturate at the ends of `i64`). Obvious O(n²) reference that scans every
/// later event; `times_ms` must be non-decreasing (a session's local order is).
///
/// ```
/// use ironforge::dag::{causal_pairs_reference, BuildParams};
/// let p = BuildParams { k: 2, dt_min_ms: 10, dt_max_ms: 100 };
/// // 0 and 5 are too close, 200 is too far from 0.
/// assert_eq!(causal_pairs_reference(&[0, 5, 20, 30, 40, 200], &p), vec![(0, 2), (0, 3), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]);
/// ```
pub fn causal_pairs_reference(times_ms: &[i64], params: &BuildParams) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for i in 0..times_ms.len() {
        // The definition, read literally: every later event whose gap lies in the window, in
        // order, of which the first `k` are kept. No early exit, so it relies on nothing but
        // the order of the events (the fast builder relies on sorted times as well).
        let in_window: Vec<usize> = (i + 1..times_ms.len())
            .filter(|&j| (params.dt_min_ms..=params.dt_max_ms).contains(&times_ms[j].saturating_sub(times_ms[i])))
            .collect();
        out.extend(in_window.into_iter().take(params.k).map(|j| (i as u32, j as u32)));
    }
    out
}

/// The same pairs as [`causal_pairs_reference`], in the same order, by a sweep: the first `j`
/// with `t[j] - t[i] >= dt_min` never moves left as `i` grows (times are non-decreasing), so
/// one pointer walks the events once and each `i` then reads at most `k` events.
/// O(n + k·n) time, no allocation besides the output.
///
/// ```
/// use ironforge::dag::{causal_pairs_fast, causal_pairs_reference, BuildParams};
/// let t = [0, 0, 0, 60_000, 60_000, 120_000, 9_000_000];
/// let p = BuildParams::default();
/// assert_eq!(causal_pairs_fast(&t, &p), causal_pairs_reference(&t, &p));
/// ```
pub fn causal_pairs_fast(times_ms: &[i64], params: &BuildParams) -> Vec<(u32, u32)> {
    debug_assert!(times_ms.windows(2).all(|w| w[0] <= w[1]), "times must be non-decreasing");
    // Sorted times put every gap t[j] − t[i] (j > i) in [0, span]: when the span fits in an
    // i64 no gap can overflow and the sweep subtracts plainly (a check per pair costs the sweep
    // a fifth of its speed); only sessions spanning more than i64 saturate their gaps.
    let span_fits = match (times_ms.first(), times_ms.last()) {
        (Some(first), Some(last)) => last.checked_sub(*first).is_some(),
        _ => true,
    };
    if span_fits {
        sweep(times_ms, params, |tj, ti| tj - ti)
    } else {
        sweep(times_ms, params, i64::saturating_sub)
    }
}

/// The sweep of [`causal_pairs_fast`] with `gap(t[j], t[i])` as the gap.
#[inline(always)]
fn sweep(times_ms: &[i64], params: &BuildParams, gap: impl Fn(i64, i64) -> i64) -> Vec<(u32, u32)> {
    let n = times_ms.len();
    let mut out = Vec::with_capacity(n.saturating_mul(params.k.min(8)));
    if params.k == 0 {
        return out;
    }
    // `first` = first j > i whose gap reaches dt_min (or n).
    let mut first = 0usize;
    for (i, &ti) in times_ms.iter().enumerate() {
        first = first.max(i + 1);
        while first < n && gap(times_ms[first], ti) < params.dt_min_ms {
            first += 1;
        }
        let end = first.saturating_add(params.k).min(n);
        for (j, &tj) in times_ms.iter().enumerate().take(end).skip(first) {
            if gap(tj, ti) > params.dt_max_ms {
                break;
            }
            out.push((i as u32, j as u32));
        }
    }
    out
}

/// Causal pairs with the chosen [`Builder`].
///
/// ```
/// use ironforge::dag::{causal_pairs, BuildParams, Builder};
/// let t = [0, 60_000, 120_000];
/// let p = BuildParams::default();
/// assert_eq!(causal_pairs(&t, &p, Builder::Fast), causal_pairs(&t, &p, Builder::Reference));
/// ```
pub fn causal_pairs(times_ms: &[i64], params: &BuildParams, builder: Builder) -> Vec<(u32, u32)> {
    match builder {
        Builder::Reference => causal_pairs_reference(times_ms, params),
        Builder::Fast => causal_pairs_fast(times_ms, params),
    }
}

/// Causal pairs of a session's events (local indices), with the fast builder.
///
/// ```
/// use ironforge::dag::{session_causal_pairs, BuildParams};
/// let s = ironforge::synth::generate(&ironforge::synth::SessionSpec::new("d", 3, 40));
/// let pairs = session_causal_pairs(&s, &BuildParams::default());
/// assert!(pairs.iter().all(|&(i, j)| i < j));
/// ```
pub fn session_causal_pairs(session: &Session, params: &BuildParams) -> Vec<(u32, u32)> {
    causal_pairs_fast(&session.times_ms(), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sessions whose span overflows an i64 take the saturating sweep; both sweeps agree with
    /// the reference.
    #[test]
    fn the_fast_builder_matches_the_reference_whatever_the_span() {
        let p = BuildParams::default();
        let wide = [i64::MIN, i64::MIN + 60_000, -1, 0, 60_000, i64::MAX - 60_000, i64::MAX];
        assert_eq!(causal_pairs_fast(&wide, &p), causal_pairs_reference(&wide, &p));
        assert!(!causal_pairs_fast(&wide, &p).is_empty());
        let narrow = [0, 0, 60_000, 120_000, 9_000_000];
        assert_eq!(causal_pairs_fast(&narrow, &p), causal_pairs_reference(&narrow, &p));
        assert_eq!(causal_pairs_fast(&[], &p), Vec::<(u32, u32)>::new());
    }
}
