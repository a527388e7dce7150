use ironforge_gate::units::{
    Abs, Bytes, EventsPerSec, Fraction, Measured, Micros, Millis, Percent, Ratio, SessionsPerSec, SubgraphsPerSec,
};
use ironforge_gate::{parity::Case, Fault, GateContext, GateError, Measurement, Threshold, Unit};
use ironforge_gate::{gate, scenario};

const BROKEN: Fault = Fault::new("broken", "breaks it");

const MIN_SPEEDUP: f64 = 1.4;
const PARITY_MAX: f64 = 1e-4;
const MAX_KEYS: u32 = 3;
mod targets {
    pub const MIN: f64 = 2e6;
    pub mod latency {
        pub const P99_MS: f32 = 2.0;
    }
}

// ---- dynamic metrics: `Measurement`, unit stated with `unit = ...` -------------------------------

fn ratio(_: &mut GateContext) -> Result<Measurement, GateError> {
    Ok(Measurement::new(2.0, Unit::Ratio))
}
fn bytes(_: &mut GateContext, n: usize) -> Result<Measurement, GateError> {
    Ok(Measurement::new(n as f64, Unit::Bytes))
}
fn frac(_: &mut GateContext, a: f64, b: f64) -> Result<Measurement, GateError> {
    Ok(Measurement::new(a / b, Unit::Fraction))
}

gate!(g_ratio: ratio() >= 1.4 x, unit = x, doc = "ratio");
gate!(g_gt: ratio() > 1 x, tier = quick, doc = "unit after the options", unit = x);
gate!(g_ram: bytes(n = 10) <= 70% of ram, tier = release, unit = bytes, family = "memory", doc = "ram");
gate!(g_mib: bytes(10) < 1 MiB, fault = BROKEN, doc = "mib", unit = bytes,);
gate!(g_pct: frac(a = 1.0, b = 20.0) < 10%, tier = both, unit = fraction, doc = "pct");
gate!(g_path: ironforge_gate::value(0.01, Unit::Abs) < 0.05, unit = abs, doc = "value metric by path");
gate!(g_undeclared: ratio() >= 1.4 x, doc = "compiles; refused by the harness's preflight");
gate!(g_dyn_sessions: ironforge_gate::value(4000.0, Unit::SessionsPerSec) >= 3000 sessions/s, unit = sessions/s, doc = "d");
gate!(g_dyn_events: ironforge_gate::value(2e5, Unit::EventsPerSec) >= 1e5 events/s, unit = events/s, doc = "d");
gate!(g_dyn_subgraphs: ironforge_gate::value(3e6, Unit::SubgraphsPerSec) >= 2e6 subgraphs/s, unit = subgraphs/s, doc = "d");
gate!(g_dyn_ms: ironforge_gate::value(1.0, Unit::Millis) <= 2 ms, unit = ms, doc = "d");
gate!(g_dyn_us: ironforge_gate::value(400.0, Unit::Micros) <= 500 us, unit = us, doc = "d");
gate!(g_dyn_pct: ironforge_gate::value(4.0, Unit::Percent) < 10%, unit = %, doc = "d");

// ---- static metrics: `Measured<U>`, checked at compile time --------------------------------------

fn speedup(_: &mut GateContext) -> Result<Measured<Ratio>, GateError> {
    Ok(Measured::new(2.0).with_interval(1.8, 2.2).with_samples(vec![1.9, 2.1]))
}
fn error(_: &mut GateContext) -> Result<Measured<Abs>, GateError> {
    Ok(Measured::new(1e-6))
}
fn share(_: &mut GateContext) -> Result<Measured<Fraction>, GateError> {
    Ok(Measured::new(0.02))
}
fn percent(_: &mut GateContext) -> Result<Measured<Percent>, GateError> {
    Ok(Measured::new(4.0))
}
fn heap(_: &mut GateContext) -> Result<Measured<Bytes>, GateError> {
    Ok(Measured::new(1024.0))
}
fn sessions(_: &mut GateContext) -> Result<Measured<SessionsPerSec>, GateError> {
    Ok(Measured::new(4000.0))
}
fn events(_: &mut GateContext) -> Result<Measured<EventsPerSec>, GateError> {
    Ok(Measured::new(2e5))
}
fn subgraphs(_: &mut GateContext) -> Result<Measured<SubgraphsPerSec>, GateError> {
    Ok(Measured::new(3e6))
}
fn latency_ms(_: &mut GateContext) -> Result<Measured<Millis>, GateError> {
    Ok(Measured::new(1.5))
}
fn latency_us(_: &mut GateContext) -> Result<Measured<Micros>, GateError> {
    Ok(Measured::new(400.0))
}
fn keys(_: &mut GateContext) -> Result<Measured<Abs>, GateError> {
    Ok(Measured::new(3.0))
}
fn timed(_: &mut GateContext) -> Result<Measured<Ratio>, GateError> {
    ironforge_gate::value(&GateContext::for_test("t"), 2.0, Unit::Ratio).and_then(Measured::try_from)
}

gate!(s_const: speedup() >= MIN_SPEEDUP x, doc = "named constant");
gate!(s_const_bare: error() <= PARITY_MAX, doc = "named constant, bare");
gate!(s_const_int: keys() <= MAX_KEYS, doc = "an integer constant");
gate!(s_path: subgraphs() >= targets::MIN subgraphs/s, doc = "path constant");
gate!(s_path_deep: latency_ms() <= targets::latency::P99_MS ms, doc = "deeper path, f32 constant");
gate!(s_bare_abs: error() <= 1e-4, doc = "bare on Abs");
gate!(s_bare_fraction: share() < 0.05, doc = "bare on Fraction");
gate!(s_pct_fraction: share() < 10%, doc = "% on Fraction");
gate!(s_pct: percent() < 10%, doc = "% on Percent");
gate!(s_ram: heap() <= 70% of ram, doc = "% of ram on Bytes");
gate!(s_kib: heap() <= 4 KiB, doc = "KiB");
gate!(s_gib: heap() <= 1 GiB, doc = "GiB");
gate!(s_bytes: heap() <= 4096 bytes, doc = "bytes");
gate!(s_sessions: sessions() >= 3000 sessions/s, doc = "sessions/s");
gate!(s_events: events() >= 1e5 events/s, doc = "events/s");
gate!(s_ms: latency_ms() <= 2 ms, doc = "ms on Millis");
gate!(s_us_on_ms: latency_ms() <= 2000 us, doc = "us on Millis");
gate!(s_us: latency_us() <= 500 us, doc = "us on Micros");
gate!(s_ms_on_us: latency_us() <= 1 ms, doc = "ms on Micros");
gate!(s_agreeing_unit: speedup() >= 1.4 x, unit = x, doc = "a `unit =` that agrees");
gate!(s_try_from: timed() >= 1 x, doc = "a dynamic helper taken as static");
gate!(s_negative: error() > -1.0, doc = "negative literal");

fn cases(_: &GateContext) -> Result<Vec<Case<f32>>, GateError> {
    Ok(vec![Case::new("c", vec![1.0])])
}
fn out(_: &GateContext, c: &Case<f32>) -> Result<Vec<f32>, GateError> {
    Ok(c.data.clone())
}

scenario!(sc_abs: sessions = cases, reference = out, candidate = out, compare = max_abs(1e-4), doc = "abs");
scenario!(sc_flash: sessions = cases, reference = out, candidate = out, compare = flash(out), doc = "flash");
scenario!(sc_floor: sessions = cases, reference = out, candidate = out, compare = flash(out, floor = 1e-6),
          family = "attention", tier = release, fault = BROKEN, doc = "floor");
scenario!(sc_exact: sessions = cases, reference = out, candidate = out, compare = exact, doc = "exact");
scenario!(sc_drift: sessions = cases, reference = out, candidate = out, compare = exact, drift <= 0, doc = "drift");
scenario!(sc_drift_float: sessions = cases, reference = out, candidate = out, compare = max_abs(1e-4), doc = "drift",
          drift <= 1e-6);

fn probe(ctx: &mut GateContext) -> Result<Vec<ironforge_gate::probe::Timing>, GateError> {
    let ((), s) = ctx.time(|| ());
    Ok(vec![ironforge_gate::probe::Timing::new("noop", Unit::Micros, s * 1e6 + 1.0)?])
}
gate!(s_regress: sessions() >= 3000 sessions/s, regress <= 5% on probe, doc = "regression tolerance");
gate!(s_regress_first: speedup() >= 1.4 x, regress <= 2.5% on probe, family = "demo", doc = "options after");

fn main() {
    use ironforge_gate::registry::{gates, scenarios};
    let all = gates();
    let get = |name: &str| *all.iter().find(|g| g.name == name).unwrap();
    assert_eq!(all.len(), 37);
    assert_eq!(scenarios().len(), 6);
    // Dynamic: the declared unit; static: the type's unit.
    assert_eq!((get("g_ratio").static_unit, get("g_ratio").declared_unit), (None, Some(Unit::Ratio)));
    assert_eq!((get("g_undeclared").static_unit, get("g_undeclared").declared_unit), (None, None));
    assert_eq!((get("s_ms").static_unit, get("s_ms").declared_unit), (Some(Unit::Millis), None));
    assert_eq!(get("g_dyn_sessions").declared_unit, Some(Unit::SessionsPerSec));
    assert_eq!(get("g_dyn_pct").declared_unit, Some(Unit::Percent));
    assert_eq!(get("s_agreeing_unit").declared_unit, Some(Unit::Ratio));
    // Thresholds, constants included.
    assert_eq!(get("s_const").threshold, Threshold::Ratio(1.4));
    assert_eq!(get("s_const_bare").threshold, Threshold::Absolute(1e-4));
    assert_eq!(get("s_const_int").threshold, Threshold::Absolute(3.0));
    assert_eq!(get("s_path").threshold, Threshold::SubgraphsPerSec(2e6));
    assert_eq!(get("s_path_deep").threshold, Threshold::Millis(2.0));
    assert_eq!(get("s_kib").threshold, Threshold::Bytes(4096.0));
    assert_eq!(get("s_sessions").threshold, Threshold::SessionsPerSec(3000.0));
    assert_eq!(get("s_us").threshold, Threshold::Micros(500.0));
    assert_eq!(get("s_negative").threshold, Threshold::Absolute(-1.0));
    // The preflight accepts every declaration but the one without a unit.
    for g in &all {
        assert_eq!(g.check_units().is_err(), g.name == "g_undeclared", "{}", g.name);
    }
    let r = get("s_regress").meta.regression.unwrap();
    assert_eq!((r.tolerance_pct, r.probe_name), (5.0, "probe"));
    assert_eq!(get("s_regress_first").meta.regression.unwrap().tolerance_pct, 2.5);
    assert!(get("s_const").meta.regression.is_none());
    let sc = |n: &str| scenarios().into_iter().find(|s| s.name == n).unwrap();
    assert_eq!((sc("sc_drift").meta.drift, sc("sc_drift_float").meta.drift, sc("sc_exact").meta.drift), (Some(0.0), Some(1e-6), None));
    // Static metrics measure in their type's unit.
    let m = (get("s_us_on_ms").measure)(&mut GateContext::for_test("s_us_on_ms")).unwrap();
    assert_eq!(m.unit, Unit::Millis);
    assert_eq!(get("s_us_on_ms").threshold.resolve("s_us_on_ms", m.unit, || Ok(0)).unwrap(), 2.0);
}
