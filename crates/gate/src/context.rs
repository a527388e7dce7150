//! The context a metric function receives: tier, seed, session sets, active fault, details.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::error::GateError;
use super::record::Tier;
use super::spec::Fault;

/// Passed to every metric function and scenario function.
///
/// ```
/// use ironforge_gate::GateContext;
/// let mut ctx = GateContext::for_test("demo");
/// ctx.detail("sessions", 3).unwrap();
/// assert_eq!(ctx.details()["sessions"], 3);
/// assert!(ctx.fault().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct GateContext {
    name: String,
    tier: Tier,
    seed: u64,
    session_sets: Vec<String>,
    fault: Option<&'static Fault>,
    slowdown: f64,
    details: BTreeMap<String, serde_json::Value>,
}

impl GateContext {
    /// A context for gate `name` at `tier`, seeded with `seed`, with the session sets asked for
    /// by `IRONFORGE_SESSIONS` (empty: the metric's own default).
    pub fn new(name: &str, tier: Tier, seed: u64, session_sets: Vec<String>) -> Self {
        GateContext {
            name: name.to_string(),
            tier,
            seed,
            session_sets,
            fault: None,
            slowdown: 0.0,
            details: BTreeMap::new(),
        }
    }

    /// A quick-tier context with seed 0 and no session sets, for tests and examples.
    pub fn for_test(name: &str) -> Self {
        GateContext::new(name, Tier::Quick, 0, Vec::new())
    }

    /// The same context with `fault` injected.
    pub fn with_fault(mut self, fault: Option<&'static Fault>) -> Self {
        self.fault = fault;
        self
    }

    /// The same context with every [`time`](GateContext::time) call slowed down by `fraction`
    /// of its own time (`IRONFORGE_SLOWDOWN`, the calibrated slowdowns of `--prove`).
    pub fn with_slowdown(mut self, fraction: f64) -> Self {
        self.slowdown = fraction;
        self
    }

    /// The slowdown added to every timed call, as a fraction (0 unless asked for).
    pub fn slowdown(&self) -> f64 {
        self.slowdown
    }

    /// Runs `f` and returns its result and its time in seconds: how a probe times its subject
    /// ([`probe`](super::probe)). Under a slowdown, busy work lasting that share of the call's
    /// own time runs before the clock stops.
    ///
    /// ```
    /// use ironforge_gate::GateContext;
    /// let ctx = GateContext::for_test("demo").with_slowdown(0.1);
    /// let (sum, seconds) = ctx.time(|| (0..1000u64).sum::<u64>());
    /// assert_eq!(sum, 499_500);
    /// assert!(seconds >= 0.0);
    /// ```
    pub fn time<R>(&self, f: impl FnOnce() -> R) -> (R, f64) {
        super::probe::timed(self.slowdown, f)
    }

    /// Gate or scenario name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Tier this run measures at (quick: fewer samples and sessions).
    pub fn tier(&self) -> Tier {
        self.tier
    }

    /// `IRONFORGE_SEED` (default 0).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A ChaCha stream for `label`, derived from the seed and the gate name: the same inputs
    /// give the same stream on every machine and thread count.
    pub fn stream(&self, label: &str) -> ChaCha8Rng {
        let mut h = fnv1a(0xcbf2_9ce4_8422_2325, self.name.as_bytes());
        h = fnv1a(h, &[0xff]);
        h = fnv1a(h, label.as_bytes());
        ChaCha8Rng::seed_from_u64(self.seed ^ h)
    }

    /// Session set names from `IRONFORGE_SESSIONS` (comma separated), possibly empty.
    pub fn session_sets(&self) -> &[String] {
        &self.session_sets
    }

    /// The session sets asked for, or `default` when none were.
    pub fn session_sets_or(&self, default: &[&str]) -> Vec<String> {
        if self.session_sets.is_empty() {
            default.iter().map(|s| s.to_string()).collect()
        } else {
            self.session_sets.clone()
        }
    }

    /// The fault injected in this run, if any.
    pub fn fault(&self) -> Option<&'static Fault> {
        self.fault
    }

    /// Whether `fault` is the one injected in this run.
    pub fn injected(&self, fault: &Fault) -> bool {
        self.fault.is_some_and(|f| f.name == fault.name)
    }

    /// Records a detail (any serialisable value) under `key` in the gate's record.
    pub fn detail(&mut self, key: &str, value: impl serde::Serialize) -> Result<(), GateError> {
        let v = serde_json::to_value(value)
            .map_err(|e| GateError::Detail { key: key.to_string(), problem: e.to_string() })?;
        self.details.insert(key.to_string(), v);
        Ok(())
    }

    /// Appends `rows` to the record's table `name` ([`crate::table`]): data behind the gate's
    /// one number (a timing per input size, counts per kind) that the audit carries and
    /// reports render. Every row must serialise to a JSON object.
    pub fn table<R: serde::Serialize>(
        &mut self,
        name: &str,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<(), GateError> {
        crate::table::attach(&mut self.details, name, rows).map_err(|e| GateError::Detail {
            key: format!("{}/{name}", crate::record::DETAIL_TABLES),
            problem: e.to_string(),
        })
    }

    /// Details recorded so far.
    pub fn details(&self) -> &BTreeMap<String, serde_json::Value> {
        &self.details
    }

    /// Takes the details out (the runner moves them into the record).
    pub fn take_details(&mut self) -> BTreeMap<String, serde_json::Value> {
        std::mem::take(&mut self.details)
    }
}

/// FNV-1a over `bytes`, continuing from `h`.
pub(crate) fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
