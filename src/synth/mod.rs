//! Deterministic generator of realistic sessions (fixtures), seeded with `rand_chacha`.
//!
//! Every session is a pure function of its [`SessionSpec`]: the same spec gives the same
//! session, bit for bit, on every machine. The named sets ([`golden_specs`], [`canary_specs`],
//! [`xl_specs`]) pin the seeds of the project's fixtures.
//!
//! The generator is calibrated on the 40 real NQ M5 shards (`../shared/data/nq-m5`, measured
//! figures in `docs/io.md`):
//! - **kinds**: 58 % price movements, 42 % liquidity events, no anchors or others (the real
//!   shards have none); the first event is always a price movement.
//! - **gaps**: 54 % of consecutive events share a timestamp; the other gaps are whole minutes,
//!   log-normal with median 5 and mean about 23 minutes, capped at 12 hours.
//! - **price**: 47 % of steps are zero, the rest ±ticks of 0.25 with median size 12 points.
//! - **node features**: flags `f0..f6` as in the real shards (price movements carry 0, 1 or 2
//!   flags with the real per-flag frequencies; 2.3 % of liquidity events carry `f5`
//!   liq_sweep), `f7 = 0`, `f8 = price`, `f9 ∈ {1,2,3,4}` on 30 % of price movements,
//!   `f10 = f11 = 0.5`, `f12..f44 = 0`.
//! - **edges** (imported, as in the shards; ordered temporal, then movement, then liq):
//!   `temporal_next` between every pair of consecutive events; `movement_transition` on 64 % of
//!   consecutive price-movement pairs; one `liq_link` into every liquidity event from a
//!   preceding price movement at most 7 positions back (the nearest in 56 % of cases; after 7
//!   liquidity events in a row the next event is a movement, so there always is one).
//!   `dt = min(Δt, 3,600,000)`; `e0 = [etype ≠ 0]`, `e1 = 0.8` if `e5` else `0.3`,
//!   `e2 = etype code` for non-temporal edges, `e3 = |Δprice|`, `e4 = +1` if the price rose else
//!   `-1`, `e5 ~ Bernoulli(0.383)`, `e6..e19 = 0`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::session::{Edge, EdgeType, Event, EventKind, Session, SessionMeta};

/// What to generate: a name, a seed and a number of events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSpec {
    /// Session id of the generated session.
    pub session_id: String,
    /// Seed of the session's own ChaCha stream.
    pub seed: u64,
    /// Number of events.
    pub events: usize,
}

impl SessionSpec {
    /// A spec from its parts.
    pub fn new(session_id: impl Into<String>, seed: u64, events: usize) -> Self {
        Self { session_id: session_id.into(), seed, events }
    }
}

/// Fraction of consecutive events sharing a timestamp in the real shards (717 / 1327).
const TIE_FRACTION: f64 = 0.54;
/// Fraction of zero price steps in the real shards.
const ZERO_STEP_FRACTION: f64 = 0.47;
/// Fraction of liquidity events among events.
const LIQUIDITY_FRACTION: f64 = 0.417;
/// Per-flag weights of `f0..f6` on price movements (real counts 47, 156, 44, 89, 135, 0, 15).
const MOVEMENT_FLAG_WEIGHTS: [u32; 7] = [47, 156, 44, 89, 135, 0, 15];
/// Longest gap generated, in minutes.
const MAX_GAP_MINUTES: f64 = 720.0;
/// `dt` cap of the shards, in milliseconds.
const DT_CAP_MS: i64 = 3_600_000;

/// A standard normal draw (Box–Muller on two uniform draws of the stream).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Gap to the previous event in milliseconds: a tie, or whole minutes (log-normal, median 5).
fn gap_ms(rng: &mut ChaCha8Rng) -> i64 {
    if rng.random_bool(TIE_FRACTION) {
        return 0;
    }
    let minutes = (5f64.ln() + 1.76 * standard_normal(rng)).exp().round().clamp(1.0, MAX_GAP_MINUTES);
    minutes as i64 * 60_000
}

/// Price step in points: zero, or a multiple of 0.25 with median size about 12.
fn price_step(rng: &mut ChaCha8Rng) -> f64 {
    if rng.random_bool(ZERO_STEP_FRACTION) {
        return 0.0;
    }
    let size = (-(1.0 - rng.random::<f64>()).ln() * 12.0 / std::f64::consts::LN_2 * 4.0).round().max(1.0) / 4.0;
    if rng.random_bool(0.5) {
        size
    } else {
        -size
    }
}

/// Picks a flag index of `f0..f6` with the real per-flag weights.
fn movement_flag(rng: &mut ChaCha8Rng) -> usize {
    let total: u32 = MOVEMENT_FLAG_WEIGHTS.iter().sum();
    let mut x = rng.random_range(0..total);
    for (j, &w) in MOVEMENT_FLAG_WEIGHTS.iter().enumerate() {
        if x < w {
            return j;
        }
        x -= w;
    }
    unreachable!("x < total = sum of weights")
}

fn event_features(rng: &mut ChaCha8Rng, ev: &mut Event) {
    match ev.kind {
        EventKind::PriceMovement => {
            let flags = match rng.random_range(0..100u32) {
                0..=44 => 0,
                45..=94 => 1,
                _ => 2,
            };
            for _ in 0..flags {
                ev.features[movement_flag(rng)] = 1.0;
            }
            if rng.random_bool(0.30) {
                ev.features[9] = rng.random_range(1..=4u32) as f32;
            }
        }
        _ => {
            if rng.random_bool(0.023) {
                ev.features[5] = 1.0;
            }
        }
    }
    ev.features[8] = ev.price as f32;
    ev.features[10] = 0.5;
    ev.features[11] = 0.5;
}

fn imported_edge(rng: &mut ChaCha8Rng, events: &[Event], i: usize, j: usize, etype: EdgeType) -> Edge {
    let (a, b) = (&events[i], &events[j]);
    let mut edge = Edge::new(a.node_id, b.node_id, etype, (b.t_ms - a.t_ms).min(DT_CAP_MS) as i32);
    let e5 = rng.random_bool(0.383);
    edge.features[0] = if etype == EdgeType::TemporalNext { 0.0 } else { 1.0 };
    edge.features[1] = if e5 { 0.8 } else { 0.3 };
    edge.features[2] = if etype == EdgeType::TemporalNext { 0.0 } else { etype.code() as f32 };
    edge.features[3] = (b.price - a.price).abs() as f32;
    edge.features[4] = if b.price > a.price { 1.0 } else { -1.0 };
    edge.features[5] = if e5 { 1.0 } else { 0.0 };
    edge
}

/// Generates one session from its spec.
///
/// ```
/// use ironforge::synth::{generate, SessionSpec};
/// let a = generate(&SessionSpec::new("g", 7, 117));
/// assert_eq!(a.len(), 117);
/// assert_eq!(a, generate(&SessionSpec::new("g", 7, 117)));
/// ```
pub fn generate(spec: &SessionSpec) -> Session {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let day_ms: i64 = 1_753_315_200_000; // 2025-07-24T00:00:00Z
    let mut t = day_ms + rng.random_range(0..24i64) * 3_600_000;
    let mut price = 23_000.0 + (rng.random_range(-2_000..2_000i32) as f64) * 0.25;
    let first_id = rng.random_range(1..10_000u32);
    let mut events = Vec::with_capacity(spec.events);
    for i in 0..spec.events {
        if i > 0 {
            t += gap_ms(&mut rng);
            price = (price + price_step(&mut rng)).max(0.25);
        }
        // A liquidity event needs a price movement at most 7 positions back (its liq_link source),
        // as in every real shard: after 7 liquidity events in a row the next is a movement.
        let liquidity_run =
            events.iter().rev().take(7).take_while(|e: &&Event| e.kind == EventKind::LiquidityEvent).count();
        let kind = if i > 0 && liquidity_run < 7 && rng.random_bool(LIQUIDITY_FRACTION) {
            EventKind::LiquidityEvent
        } else {
            EventKind::PriceMovement
        };
        let mut ev = Event::new(first_id + i as u32, t, kind, price);
        event_features(&mut rng, &mut ev);
        events.push(ev);
    }

    let mut edges: Vec<Edge> =
        (1..events.len()).map(|j| imported_edge(&mut rng, &events, j - 1, j, EdgeType::TemporalNext)).collect();
    for j in 1..events.len() {
        let both_moves = events[j - 1].kind == EventKind::PriceMovement && events[j].kind == EventKind::PriceMovement;
        if both_moves && rng.random_bool(0.64) {
            edges.push(imported_edge(&mut rng, &events, j - 1, j, EdgeType::MovementTransition));
        }
    }
    for j in 1..events.len() {
        if events[j].kind != EventKind::LiquidityEvent {
            continue;
        }
        // Never empty: generation puts a price movement within 7 positions before every liquidity event.
        let window: Vec<usize> =
            (j.saturating_sub(7)..j).rev().filter(|&i| events[i].kind == EventKind::PriceMovement).collect();
        let src = if window.len() == 1 || rng.random_bool(0.56) {
            window[0]
        } else {
            window[rng.random_range(1..window.len())]
        };
        edges.push(imported_edge(&mut rng, &events, src, j, EdgeType::LiqLink));
    }
    let meta = SessionMeta::new(spec.session_id.clone(), "SYNTH", "NQ", "M5");
    Session::new(meta, events, edges).expect("generated sessions are valid by construction")
}

/// The 20 golden sessions, including the original parity matrix (117, 203, 223, 225, 268).
pub fn golden_specs() -> Vec<SessionSpec> {
    const SIZES: [usize; 20] =
        [117, 203, 223, 225, 268, 16, 24, 30, 33, 41, 48, 57, 64, 68, 80, 96, 128, 150, 180, 256];
    SIZES
        .iter()
        .enumerate()
        .map(|(i, &n)| SessionSpec::new(format!("golden_{i:02}_{n}"), 0x601D_0000 + i as u64, n))
        .collect()
}

/// The 120 canary sessions: 40 of 64–127 events, 50 of 128–255, 25 of 256–511, 5 of 512–1024.
pub fn canary_specs() -> Vec<SessionSpec> {
    let mut rng = ChaCha8Rng::seed_from_u64(0xCA7A_7100);
    let buckets: [(usize, usize, usize); 4] = [(40, 64, 127), (50, 128, 255), (25, 256, 511), (5, 512, 1024)];
    let mut out = Vec::new();
    for (count, lo, hi) in buckets {
        for _ in 0..count {
            let i = out.len();
            let n = rng.random_range(lo..=hi);
            out.push(SessionSpec::new(format!("canary_{i:03}_{n}"), 0xCA7A_0000 + i as u64, n));
        }
    }
    out
}

/// The XL set: sessions of 2048 and 4096 events.
pub fn xl_specs() -> Vec<SessionSpec> {
    [2048usize, 4096].iter().map(|&n| SessionSpec::new(format!("xl_{n}"), 0x0000_0E11 + n as u64, n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Session> {
        canary_specs().iter().take(40).map(generate).collect()
    }

    #[test]
    fn golden_set_has_the_parity_sizes() {
        let sizes: Vec<usize> = golden_specs().iter().map(|s| s.events).collect();
        assert_eq!(sizes.len(), 20);
        for n in [117, 203, 223, 225, 268] {
            assert!(sizes.contains(&n), "golden set lacks {n}");
        }
    }

    #[test]
    fn mix_of_kinds_and_ties_is_close_to_the_real_shards() {
        let (mut liq, mut n, mut ties, mut pairs) = (0usize, 0usize, 0usize, 0usize);
        for s in sample() {
            n += s.len();
            liq += s.events().iter().filter(|e| e.kind == EventKind::LiquidityEvent).count();
            ties += s.events().windows(2).filter(|w| w[0].t_ms == w[1].t_ms).count();
            pairs += s.len() - 1;
        }
        let liq_frac = liq as f64 / n as f64;
        let tie_frac = ties as f64 / pairs as f64;
        assert!((liq_frac - 0.417).abs() < 0.03, "liquidity fraction {liq_frac}");
        assert!((tie_frac - 0.54).abs() < 0.03, "tie fraction {tie_frac}");
    }

    #[test]
    fn edges_follow_the_real_rules() {
        for s in sample() {
            let liq = s.events().iter().filter(|e| e.kind == EventKind::LiquidityEvent).count();
            let links: Vec<_> = s.edges().iter().filter(|e| e.etype == EdgeType::LiqLink).collect();
            assert_eq!(links.len(), liq, "one liq_link per liquidity event");
            let temporal = s.edges().iter().filter(|e| e.etype == EdgeType::TemporalNext).count();
            assert_eq!(temporal, s.len() - 1);
            for e in s.edges() {
                let (a, b) = (s.node_index(e.src).unwrap(), s.node_index(e.dst).unwrap());
                assert!(a < b && b - a <= 7, "edge spans {a}..{b}");
                let dt = s.events()[b].t_ms - s.events()[a].t_ms;
                assert_eq!(e.dt_ms as i64, dt.min(DT_CAP_MS));
                assert_eq!(e.features[3], (s.events()[b].price - s.events()[a].price).abs() as f32);
            }
            for ev in s.events() {
                assert_eq!(ev.features[8], ev.price as f32);
                assert!(ev.features[12..].iter().all(|&f| f == 0.0));
                assert_eq!((ev.price * 4.0).fract(), 0.0, "price on the 0.25 tick");
            }
        }
    }
}
