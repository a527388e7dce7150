use ironforge_gate::{parity::Case, GateContext, GateError};
use ironforge_gate::scenario;

fn cases(_: &GateContext) -> Result<Vec<Case<f64>>, GateError> {
    Ok(vec![Case::new("c", vec![1.0])])
}
fn out(_: &GateContext, c: &Case<f64>) -> Result<Vec<f64>, GateError> {
    Ok(c.data.clone())
}

scenario!(s: sessions = cases, reference = out, candidate = out, compare = rel(1e-4), doc = "d");

fn main() {}
