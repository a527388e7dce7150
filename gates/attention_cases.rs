//! The attention case families the attention gates and scenarios run: the sessions' own DAG
//! masks and, so that every kernel path computes rows, dense, causal, sliding-window and random
//! masks at head dimensions 11, 16, 32 and 64, with and without a time bias, at L on both sides
//! of the 16-column tile and 64-column chunk boundaries.
//!
//! | family | mask | rows it sends where |
//! |---|---|---|
//! | `dag` | each session's causal DAG, D = 11, bucket bias | short rows (≤ 16 entries), sparse rows |
//! | `dense` | everything allowed, L ∈ {15, 16, 17, 63, 64, 65, 128, 129, 512}, D ∈ {11, 16, 32, 64} | lane rows (D ≤ 16), tile rows (D > 16), tile maps, bf16 dense paths |
//! | `causal` | j ≤ i | the first 32 rows sparse, the rest dense |
//! | `window8`, `window64`, `window512` | i − w < j ≤ i | short rows; sparse then dense; dense |
//! | `random5`, `random30`, `random80` | each entry with probability 5%, 30%, 80% | sparse and dense rows mixed within tiles |
//!
//! The quick tier runs a few small members of each family.

use ndarray::{Array2, Array3};
use rand::Rng;

use ironforge::attention::bias::TimeBias;
use ironforge::attention::{AttnInputs, Mask};
use ironforge::dag::{causal_pairs, BuildParams, Builder};
use ironforge::gate::parity::ParityCase;
use ironforge::gate::record::Tier;
use ironforge::gate::{GateContext, GateError};
use ironforge::session::Session;

use crate::sessions;

/// Heads and head dimension of the model (4 × 11 = 44): the `dag` family's shape.
pub const HEADS: usize = 4;
pub const HEAD_DIM: usize = 11;

/// Heads of the synthetic families (two heads already compute every row of a head twice).
const SYNTHETIC_HEADS: usize = 2;

/// One attention problem: q, k, v from the case's own ChaCha stream, a mask, an optional bias.
pub struct AttnCase {
    /// `family/L/D[/bias]` or the session id.
    pub id: String,
    /// Family name (`dag`, `dense`, ...).
    pub family: &'static str,
    pub q: Array3<f32>,
    pub k: Array3<f32>,
    pub v: Array3<f32>,
    pub mask: Mask,
    pub bias: Option<Array2<f32>>,
}

impl AttnCase {
    pub fn inputs(&self) -> AttnInputs<'_> {
        AttnInputs {
            q: self.q.view(),
            k: self.k.view(),
            v: self.v.view(),
            mask: &self.mask,
            bias: self.bias.as_ref().map(|b| b.view().into()),
        }
    }

    /// Head dimension D.
    pub fn head_dim(&self) -> usize {
        self.q.dim().2
    }
}

impl ParityCase for AttnCase {
    fn case_id(&self) -> String {
        self.id.clone()
    }
    fn case_size(&self) -> usize {
        self.mask.n()
    }
}

fn operands(ctx: &GateContext, id: &str, heads: usize, l: usize, d: usize) -> [Array3<f32>; 3] {
    let mut rng = ctx.stream(&format!("attention/{id}"));
    let mut draw = || Array3::from_shape_simple_fn((heads, l, d), || rng.random_range(-1.0f32..1.0));
    [draw(), draw(), draw()]
}

/// The `dag` case of one session: its causal DAG (fast builder) as the mask, its bucket bias.
pub fn session_case(ctx: &GateContext, s: &Session) -> AttnCase {
    let l = s.len();
    let [q, k, v] = operands(ctx, s.id(), HEADS, l, HEAD_DIM);
    let times = s.times_ms();
    let edges = causal_pairs(&times, &BuildParams::default(), Builder::Fast);
    let bias = TimeBias::Bucket.matrix(&times).expect("the bucket bias always has a matrix");
    AttnCase { id: s.id().to_string(), family: "dag", q, k, v, mask: Mask::from_edges(l, &edges), bias: Some(bias) }
}

/// A synthetic mask of `family` over `l` rows (`random*` draws from `ctx`).
fn mask_of(ctx: &GateContext, family: &str, l: usize) -> Mask {
    let mut m = Mask::empty(l);
    let mut allow_where = |keep: &mut dyn FnMut(usize, usize) -> bool| {
        for i in 0..l {
            for j in 0..l {
                if keep(i, j) {
                    m.allow(i, j);
                }
            }
        }
    };
    match family {
        "dense" => allow_where(&mut |_, _| true),
        "causal" => allow_where(&mut |i, j| j <= i),
        "window8" => allow_where(&mut |i, j| j <= i && i - j < 8),
        "window64" => allow_where(&mut |i, j| j <= i && i - j < 64),
        "window512" => allow_where(&mut |i, j| j <= i && i - j < 512),
        random => {
            let density: f64 = match random {
                "random5" => 0.05,
                "random30" => 0.3,
                "random80" => 0.8,
                other => unreachable!("unknown mask family {other}"),
            };
            let mut rng = ctx.stream(&format!("mask/{family}/{l}"));
            allow_where(&mut |i, j| i == j || rng.random_bool(density))
        }
    }
    m
}

/// A synthetic case: `family`'s mask over `l` rows, head dimension `d`, with the bucket bias
/// of event times one to ten minutes apart when `bias`.
pub fn synthetic_case(ctx: &GateContext, family: &'static str, l: usize, d: usize, bias: bool) -> AttnCase {
    let id = format!("{family}/L{l}/D{d}{}", if bias { "/bias" } else { "" });
    let [q, k, v] = operands(ctx, &id, SYNTHETIC_HEADS, l, d);
    let bias = bias.then(|| {
        let mut rng = ctx.stream(&format!("times/{id}"));
        let mut t = 0i64;
        let times: Vec<i64> = (0..l)
            .map(|_| {
                t += rng.random_range(60_000..600_000);
                t
            })
            .collect();
        TimeBias::Bucket.matrix(&times).expect("the bucket bias always has a matrix")
    });
    AttnCase { mask: mask_of(ctx, family, l), id, family, q, k, v, bias }
}

/// `(family, L, D, bias)` of every synthetic case of `tier`.
pub fn synthetic_specs(tier: Tier) -> Vec<(&'static str, usize, usize, bool)> {
    let mut specs = Vec::new();
    match tier {
        Tier::Quick => {
            for (n, (l, d)) in [(17, 11), (64, 16), (17, 32), (65, 64)].into_iter().enumerate() {
                specs.push(("dense", l, d, n % 2 == 0));
            }
            // L = 65, D = 11 with a bias: the lane rows' score loop on a whole chunk and on a
            // masked one, each with a bias (17 rows are all sparse; no other quick case has both).
            specs.push(("dense", 65, 11, true));
            specs.extend([("window8", 40, 11, true), ("window64", 100, 16, false), ("random30", 50, 64, true)]);
        }
        Tier::Release => {
            let mut n = 0;
            for l in [15, 16, 17, 63, 64, 65, 128, 129, 512] {
                for d in [11, 16, 32, 64] {
                    specs.push(("dense", l, d, n % 2 == 0));
                    n += 1;
                }
            }
            for (l, d) in [(100, 11), (100, 64), (300, 16), (300, 32)] {
                specs.push(("causal", l, d, true));
            }
            for w in ["window8", "window64", "window512"] {
                specs.extend([(w, 600, 11, true), (w, 600, 32, false)]);
            }
            for r in ["random5", "random30", "random80"] {
                specs.extend([(r, 200, 16, true), (r, 200, 64, false)]);
            }
        }
    }
    specs
}

/// The `dag` family: one case per session of the gate's sets.
pub fn dag_cases(ctx: &GateContext) -> Result<Vec<AttnCase>, GateError> {
    Ok(sessions::for_gate(ctx)?.into_iter().map(|s| session_case(ctx, s)).collect())
}

/// Every family of the tier: the `dag` cases, then the synthetic ones.
pub fn all_cases(ctx: &GateContext) -> Result<Vec<AttnCase>, GateError> {
    let mut cases = dag_cases(ctx)?;
    cases.extend(synthetic_specs(ctx.tier()).into_iter().map(|(f, l, d, b)| synthetic_case(ctx, f, l, d, b)));
    Ok(cases)
}
