use ironforge_gate::{GateContext, GateError};
use ironforge_gate::gate;

fn metric(_: &mut GateContext) -> Result<f64, GateError> {
    Ok(1.0)
}

gate!(g: metric() <= 1.0, unit = abs, doc = "d");

fn main() {}
