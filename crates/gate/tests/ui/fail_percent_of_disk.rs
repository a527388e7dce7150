use ironforge_gate::{GateContext, GateError, Measurement, Unit};
use ironforge_gate::gate;

fn metric(_: &mut GateContext, v: f64) -> Result<Measurement, GateError> {
    Ok(Measurement::new(v, Unit::Abs))
}

gate!(g: metric(v = 1.0) <= 70% of disk, doc = "d");

fn main() {}
