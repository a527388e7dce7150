use ironforge_gate::gate;
use ironforge_gate::units::{Measured, Millis};
use ironforge_gate::{GateContext, GateError};

const MAX_LATENCY: f64 = 2.0;

fn latency(_: &mut GateContext) -> Result<Measured<Millis>, GateError> {
    Ok(Measured::new(1.0))
}

gate!(g: latency() <= MAX_LATENCY, doc = "d");

fn main() {}
