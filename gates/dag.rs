//! DAG gates: the fast edge builder gives exactly the reference's edges, and is a measured
//! multiple faster than it at 4,096 events (`docs/dag.md`).

use ironforge::dag::{causal_pairs, BuildParams, Builder};
use ironforge::gate::probe::{seconds_per_call, Timing};
use ironforge::gate::record::Tier;
use ironforge::gate::speedup::{measure_speedup, SpeedupPlan};
use ironforge::gate::{Fault, GateContext, GateError, Measurement, Unit};
use ironforge::session::Session;

use crate::sessions;

/// The fast builder drops its last edge.
pub const DROPPED_EDGE: Fault = Fault::new("dropped_edge", "the fast builder's last edge is dropped");

/// The gate's sessions (owned: a scenario's cases are values).
pub fn dag_sessions(ctx: &GateContext) -> Result<Vec<Session>, GateError> {
    Ok(sessions::for_gate(ctx)?.into_iter().cloned().collect())
}

/// Edges of the O(n²) reference builder.
pub fn reference_edges(_: &GateContext, s: &Session) -> Result<Vec<(u32, u32)>, GateError> {
    Ok(causal_pairs(&s.times_ms(), &BuildParams::default(), Builder::Reference))
}

/// Edges of the sweep builder.
pub fn fast_edges(ctx: &GateContext, s: &Session) -> Result<Vec<(u32, u32)>, GateError> {
    let mut e = causal_pairs(&s.times_ms(), &BuildParams::default(), Builder::Fast);
    if ctx.injected(&DROPPED_EDGE) {
        e.pop();
    }
    Ok(e)
}

ironforge::scenario!(dag_edges_fast_vs_reference: sessions = dag_sessions, reference = reference_edges, candidate = fast_edges,
    compare = exact, family = "dag", fault = DROPPED_EDGE, drift <= 0,
    doc = "the sweep edge builder gives exactly the reference builder's edge list, in order, on every session");

/// The fast builder also does the reference builder's work on every call.
pub const FAST_DOES_REFERENCE_WORK: Fault =
    Fault::new("fast_does_reference_work", "the fast builder also runs the O(n^2) reference builder on every call");

/// Interleaved pairs per tier for the builder speed-up (one reference call at 4,096 events takes
/// milliseconds, so both tiers can afford them; the quick tier keeps the dev profile fast).
fn builder_plan(tier: Tier) -> SpeedupPlan {
    match tier {
        Tier::Quick => SpeedupPlan { warmup: 1, pairs: 21, ..SpeedupPlan::for_tier(tier) },
        Tier::Release => SpeedupPlan { warmup: 2, pairs: 31, ..SpeedupPlan::for_tier(tier) },
    }
}

/// Speed-up of the sweep edge builder over the O(n²) reference on the `xl` session of
/// `events` events (same tier in both tiers: the target is the engine's, at that size):
/// interleaved pairs of calibrated repetitions ([`measure_speedup`]), value = median ratio,
/// 95% bootstrap interval, judged on its lower end. Both builders' edge lists are checked
/// equal before timing.
fn builder_speedup(ctx: &mut GateContext, events: usize) -> Result<Measurement, GateError> {
    let session = sessions::xl_session(events)?;
    let times = session.times_ms();
    let params = BuildParams::default();
    let reference = causal_pairs(&times, &params, Builder::Reference);
    let fast = causal_pairs(&times, &params, Builder::Fast);
    if reference != fast {
        return Err(GateError::msg(format!(
            "session {}: the fast builder's {} edges differ from the reference's {}",
            session.id(),
            fast.len(),
            reference.len()
        )));
    }
    let slow = ctx.injected(&FAST_DOES_REFERENCE_WORK);
    let plan = builder_plan(ctx.tier());
    let m = measure_speedup(
        ctx,
        &plan,
        || causal_pairs(&times, &params, Builder::Reference),
        || {
            if slow {
                std::hint::black_box(causal_pairs(&times, &params, Builder::Reference));
            }
            causal_pairs(&times, &params, Builder::Fast)
        },
    )?;
    ctx.detail("session", session.id())?;
    ctx.detail("events", session.len())?;
    ctx.detail("edges", fast.len())?;
    let seconds = |key: &str| ctx.details().get(key).and_then(|v| v.as_f64());
    if let (Some(r), Some(f)) = (seconds("baseline_median_s"), seconds("candidate_median_s")) {
        ctx.detail("reference_ms", r * 1e3)?;
        ctx.detail("fast_us", f * 1e6)?;
    }
    Ok(m)
}

/// Probe of `dag_builder_speedup` for `release-check --against`: the sweep builder's
/// throughput (events/s) on the gate's 4,096-event xl session ([`seconds_per_call`]).
fn builder_probe(ctx: &mut GateContext) -> Result<Vec<Timing>, GateError> {
    let session = sessions::xl_session(4096)?;
    let times = session.times_ms();
    let params = BuildParams::default();
    let s = seconds_per_call(ctx, || drop(std::hint::black_box(causal_pairs(&times, &params, Builder::Fast))));
    Ok(vec![Timing::new("fast/4096", Unit::EventsPerSec, session.len() as f64 / s)?])
}

ironforge::gate!(dag_builder_speedup: builder_speedup(events = 4096) >= 120.0 x, unit = x, family = "dag", fault = FAST_DOES_REFERENCE_WORK,
    regress <= 5% on builder_probe,
    doc = "the sweep edge builder is at least 120x the O(n^2) reference builder on the 4,096-event xl session, on the lower end of the 95% interval (interleaved pairs)");
