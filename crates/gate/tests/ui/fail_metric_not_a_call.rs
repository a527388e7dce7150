use ironforge_gate::{GateContext, GateError, Measurement, Unit};
use ironforge_gate::gate;

fn metric(_: &mut GateContext, v: f64) -> Result<Measurement, GateError> {
    Ok(Measurement::new(v, Unit::Abs))
}

gate!(g: 3 <= 1.0, doc = "d");

fn main() {}
