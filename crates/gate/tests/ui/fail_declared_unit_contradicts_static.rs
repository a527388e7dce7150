use ironforge_gate::gate;
use ironforge_gate::units::{Measured, Ratio};
use ironforge_gate::{GateContext, GateError};

fn speedup(_: &mut GateContext) -> Result<Measured<Ratio>, GateError> {
    Ok(Measured::new(2.0))
}

gate!(g: speedup() >= 1.4 x, unit = ms, doc = "d");

fn main() {}
