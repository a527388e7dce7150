use ironforge::gate::{parity::Case, Fault, GateContext, GateError, Measurement, Unit};
use ironforge::{gate, scenario};

const BROKEN: Fault = Fault::new("broken", "breaks it");

fn ratio(_: &mut GateContext) -> Result<Measurement, GateError> {
    Ok(Measurement::new(2.0, Unit::Ratio))
}
fn bytes(_: &mut GateContext, n: usize) -> Result<Measurement, GateError> {
    Ok(Measurement::new(n as f64, Unit::Bytes))
}
fn frac(_: &mut GateContext, a: f64, b: f64) -> Result<Measurement, GateError> {
    Ok(Measurement::new(a / b, Unit::Fraction))
}

gate!(g_ratio: ratio() >= 1.4 x, doc = "ratio");
gate!(g_gt: ratio() > 1, tier = quick, doc = "bare");
gate!(g_ram: bytes(n = 10) <= 70% of ram, tier = release, family = "memory", doc = "ram");
gate!(g_mib: bytes(10) < 1 MiB, fault = BROKEN, doc = "mib",);
gate!(g_pct: frac(a = 1.0, b = 20.0) < 10%, tier = both, doc = "pct");
gate!(g_path: ironforge::gate::value(0.01, Unit::Abs) < 0.05, doc = "value metric by path");

fn cases(_: &GateContext) -> Result<Vec<Case<f32>>, GateError> {
    Ok(vec![Case::new("c", vec![1.0])])
}
fn out(_: &GateContext, c: &Case<f32>) -> Result<Vec<f32>, GateError> {
    Ok(c.data.clone())
}

scenario!(s_abs: sessions = cases, reference = out, candidate = out, compare = max_abs(1e-4), doc = "abs");
scenario!(s_flash: sessions = cases, reference = out, candidate = out, compare = flash(out), doc = "flash");
scenario!(s_floor: sessions = cases, reference = out, candidate = out, compare = flash(out, floor = 1e-6),
          family = "attention", tier = release, fault = BROKEN, doc = "floor");
scenario!(s_exact: sessions = cases, reference = out, candidate = out, compare = exact, doc = "exact");

fn main() {
    let names: Vec<_> = ironforge::gate::registry::gates().iter().map(|g| g.name).collect();
    assert_eq!(names, ["g_gt", "g_mib", "g_path", "g_pct", "g_ram", "g_ratio"]);
    assert_eq!(ironforge::gate::registry::scenarios().len(), 4);
}
