use ironforge_gate::{parity::Case, GateContext, GateError};
use ironforge_gate::scenario;

fn cases(_: &GateContext) -> Result<Vec<Case<u64>>, GateError> {
    Ok(vec![])
}
fn out(_: &GateContext, c: &Case<u64>) -> Result<Vec<u64>, GateError> {
    Ok(c.data.clone())
}

scenario!(s: sessions = cases, reference = out, candidate = out, compare = exact, drift = exact, doc = "d");

fn main() {}
