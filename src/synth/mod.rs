//! Deterministic generator of realistic sessions (fixtures), seeded with `rand_chacha`.
//!
//! Every session is a pure function of its [`SessionSpec`]: the same spec gives the same
//! session, bit for bit, on every machine. The named sets ([`golden_specs`], [`canary_specs`],
//! [`xl_specs`]) pin the seeds of the project's fixtures.

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
    let start_ms: i64 = 1_753_315_200_000; // 2025-07-24T00:00:00Z
    let mut t = start_ms + 13 * 3_600_000;
    let mut price = 23_000.0 + rng.random_range(-500.0..500.0f64);
    let mut events = Vec::with_capacity(spec.events);
    for i in 0..spec.events {
        // Gaps: ties are frequent (several events per 5-minute bar), otherwise whole bars.
        if i > 0 && rng.random_bool(0.55) {
            t += 300_000 * rng.random_range(1..=3i64);
        }
        price = (price + rng.random_range(-12.0..12.0f64) * 0.25).max(1.0);
        let price = (price * 4.0).round() / 4.0;
        let kind = match rng.random_range(0..100u32) {
            0..=59 => EventKind::PriceMovement,
            60..=84 => EventKind::LiquidityEvent,
            85..=94 => EventKind::Anchor,
            _ => EventKind::Other,
        };
        let mut ev = Event::new(1_000 + i as u32, t, kind, price);
        ev.features[8] = price as f32;
        ev.features[9] = rng.random_range(0.0..1.0f32);
        ev.features[10] = ((t - start_ms) % 86_400_000) as f32 / 86_400_000.0;
        ev.features[11] = kind.code() as f32;
        events.push(ev);
    }
    let edges = events
        .windows(2)
        .map(|w| {
            let dt = (w[1].t_ms - w[0].t_ms).min(3_600_000) as i32;
            Edge::new(w[0].node_id, w[1].node_id, EdgeType::TemporalNext, dt)
        })
        .collect();
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
