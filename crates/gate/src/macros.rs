//! The `gate!` and `scenario!` declaration macros. They only parse, check the syntax and
//! forward to plain items (`GateDecl`, `ScenarioDecl`, functions in [`parity`](super::parity),
//! the unit checks in [`units`](super::units)); every malformed form has its own
//! `compile_error!` or trait-bound message (pinned by `tests/ui`).

/// Declares a gate: a metric function, a comparator and a threshold with unit, in one line.
///
/// Grammar (see `docs/gates.md`):
///
/// ```text
/// gate!( NAME : METRIC_PATH ( INPUTS ) OP THRESHOLD [, OPTION = VALUE]* )
/// INPUTS    := (KEY = EXPR),*  |  EXPR,*        passed in written order after `&mut GateContext`
/// OP        := >= | > | <= | <
/// THRESHOLD := VALUE [ x | % | % of ram | bytes | KiB | MiB | GiB
///                    | sessions/s | events/s | subgraphs/s | ms | us ]
/// VALUE     := NUMBER_LITERAL | CONST_PATH       (a constant: anything `as f64` accepts)
/// OPTION    := doc = "text" (required) | tier = quick|release|both | family = "tag"
///            | fault = FAULT_CONST_PATH
///            | unit = abs|x|%|fraction|bytes|sessions/s|events/s|subgraphs/s|ms|us
///            | regress <= PERCENT_LITERAL % on PROBE_PATH
/// ```
///
/// `regress <= 5% on probe` declares how much slower than a base build the gate's timed
/// subjects may be (`release-check --against REV`); the probe is a
/// [`ProbeFn`](crate::probe::ProbeFn) timing them ([`probe`](crate::probe)).
///
/// The metric is any function `fn(&mut GateContext, inputs...) -> Result<O, GateError>`:
///
/// - `O = Measured<U>` ([`units`](crate::units)): a *static* metric. A threshold whose
///   unit does not fit `U` is a compile error; `unit =` is not needed (if given, it must agree).
/// - `O = Measurement`: a *dynamic* metric (unit known at run time). The declaration must state
///   the unit with `unit = ...`; the harness refuses, before measuring anything, a dynamic gate
///   without one or whose unit does not fit its threshold, and after measuring, a measurement
///   in another unit.
///
/// ```
/// use ironforge_gate::gate;
/// use ironforge_gate::units::{Abs, Measured, Ratio};
/// use ironforge_gate::{GateContext, GateError, Measurement, Unit};
///
/// fn rounding_error(_ctx: &mut GateContext, digits: i32) -> Result<Measured<Abs>, GateError> {
///     let x = 2f64.sqrt();
///     let p = 10f64.powi(digits);
///     Ok(Measured::new(((x * p).round() / p - x).abs()))
/// }
/// gate!(sqrt2_rounding: rounding_error(digits = 6) <= 1e-6, family = "demo", doc = "6 digits suffice");
///
/// const MIN_SPEEDUP: f64 = 1.4;
/// fn speedup(_ctx: &mut GateContext) -> Result<Measured<Ratio>, GateError> {
///     Ok(Measured::new(2.0).with_interval(1.8, 2.2))
/// }
/// gate!(fast_enough: speedup() >= MIN_SPEEDUP x, family = "demo", doc = "a named threshold");
///
/// fn dynamic(_ctx: &mut GateContext, v: f64) -> Result<Measurement, GateError> {
///     Ok(Measurement::new(v, Unit::Fraction))
/// }
/// gate!(small_share: dynamic(v = 0.02) < 10%, unit = fraction, family = "demo", doc = "a dynamic metric");
/// ```
#[macro_export]
macro_rules! gate {
    ($name:ident : $($metric:ident)::+ ( $($args:tt)* ) $op:tt $($rest:tt)*) => {
        $crate::__gate_split!(@split [$name [$($metric)::+] [$($args)*] $op] [] $($rest)*);
    };
    ($name:ident : $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "gate `", ::core::stringify!($name),
            "`: expected `metric_fn(inputs) <op> <threshold>` after the colon, e.g. `speedup(baseline = a, candidate = b) >= 1.4 x`"
        ));
    };
    ($name:ident $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!("gate `", ::core::stringify!($name), "`: expected `:` after the gate name"));
    };
    ($($rest:tt)*) => {
        ::core::compile_error!("gate! expects `name: metric_fn(inputs) <op> <threshold>, options...`");
    };
}

/// Splits the threshold tokens from the options (at the first top-level comma).
#[doc(hidden)]
#[macro_export]
macro_rules! __gate_split {
    (@split $head:tt [$($thr:tt)*] , $($opts:tt)*) => {
        $crate::__gate_unit_opt!(@scan $head [$($thr)*] [] [undeclared] , $($opts)*);
    };
    (@split $head:tt [$($thr:tt)*]) => {
        $crate::__gate_unit_opt!(@scan $head [$($thr)*] [] [undeclared]);
    };
    (@split $head:tt [$($thr:tt)*] $next:tt $($rest:tt)*) => {
        $crate::__gate_split!(@split $head [$($thr)* $next] $($rest)*);
    };
}

/// Takes the `unit = ...` option out of a gate's options (the others go to `__decl_opts`),
/// as the name of its spelling type in `units::check` (`undeclared` without one).
#[doc(hidden)]
#[macro_export]
macro_rules! __gate_unit_opt {
    (@scan $head:tt $thr:tt [$($kept:tt)*] [undeclared] , unit = abs $(, $($rest:tt)*)?) => {
        $crate::__gate_unit_opt!(@scan $head $thr [$($kept)*] [abs] $(, $($rest)*)?);
    };
    (@scan $head:tt $thr:tt [$($kept:tt)*] [undeclared] , unit = x $(, $($rest:tt)*)?) => {
        $crate::__gate_unit_opt!(@scan $head $thr [$($kept)*] [x] $(, $($rest)*)?);
    };
    (@scan $head:tt $thr:tt [$($kept:tt)*] [undeclared] , unit = % $(, $($rest:tt)*)?) => {
        $crate::__gate_unit_opt!(@scan $head $thr [$($kept)*] [percent] $(, $($rest)*)?);
    };
    (@scan $head:tt $thr:tt [$($kept:tt)*] [undeclared] , unit = fraction $(, $($rest:tt)*)?) => {
        $crate::__gate_unit_opt!(@scan $head $thr [$($kept)*] [fraction] $(, $($rest)*)?);
    };
    (@scan $head:tt $thr:tt [$($kept:tt)*] [undeclared] , unit = bytes $(, $($rest:tt)*)?) => {
        $crate::__gate_unit_opt!(@scan $head $thr [$($kept)*] [bytes] $(, $($rest)*)?);
    };
    (@scan $head:tt $thr:tt [$($kept:tt)*] [undeclared] , unit = sessions / s $(, $($rest:tt)*)?) => {
        $crate::__gate_unit_opt!(@scan $head $thr [$($kept)*] [sessions_per_s] $(, $($rest)*)?);
    };
    (@scan $head:tt $thr:tt [$($kept:tt)*] [undeclared] , unit = events / s $(, $($rest:tt)*)?) => {
        $crate::__gate_unit_opt!(@scan $head $thr [$($kept)*] [events_per_s] $(, $($rest)*)?);
    };
    (@scan $head:tt $thr:tt [$($kept:tt)*] [undeclared] , unit = subgraphs / s $(, $($rest:tt)*)?) => {
        $crate::__gate_unit_opt!(@scan $head $thr [$($kept)*] [subgraphs_per_s] $(, $($rest)*)?);
    };
    (@scan $head:tt $thr:tt [$($kept:tt)*] [undeclared] , unit = ms $(, $($rest:tt)*)?) => {
        $crate::__gate_unit_opt!(@scan $head $thr [$($kept)*] [ms] $(, $($rest)*)?);
    };
    (@scan $head:tt $thr:tt [$($kept:tt)*] [undeclared] , unit = us $(, $($rest:tt)*)?) => {
        $crate::__gate_unit_opt!(@scan $head $thr [$($kept)*] [us] $(, $($rest)*)?);
    };
    (@scan $head:tt $thr:tt [$($kept:tt)*] [undeclared] , unit = $other:tt $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "unknown unit `", ::core::stringify!($other),
            "`: expected `abs`, `x`, `%`, `fraction`, `bytes`, `sessions/s`, `events/s`, `subgraphs/s`, `ms` or `us`"
        ));
    };
    (@scan $head:tt $thr:tt [$($kept:tt)*] [undeclared] , unit = $($rest:tt)*) => {
        ::core::compile_error!("`unit =` needs a unit: `abs`, `x`, `%`, `fraction`, `bytes`, `sessions/s`, `events/s`, `subgraphs/s`, `ms` or `us`");
    };
    (@scan $head:tt $thr:tt [$($kept:tt)*] [$unit:ident] , unit = $($rest:tt)*) => {
        ::core::compile_error!("`unit` is given twice");
    };
    (@scan $head:tt $thr:tt [$($kept:tt)*] [$unit:ident] $next:tt $($rest:tt)*) => {
        $crate::__gate_unit_opt!(@scan $head $thr [$($kept)* $next] [$unit] $($rest)*);
    };
    (@scan $head:tt [$($thr:tt)*] [$(, $($kept:tt)*)?] [$unit:ident]) => {
        $crate::__gate_threshold!(@parse [$head [$($($kept)*)?] $unit] $($thr)*);
    };
}

/// Parses the threshold (a number literal or a constant path, then the unit) and hands the
/// `Threshold` expression and the name of its compile-time unit check to `__gate_emit`.
#[doc(hidden)]
#[macro_export]
macro_rules! __gate_threshold {
    (@parse $ctx:tt) => {
        ::core::compile_error!("missing threshold after the comparator");
    };
    (@parse $ctx:tt $v:literal $($unit:tt)*) => {
        $crate::__gate_threshold!(@unit $ctx [$v as f64] $($unit)*);
    };
    (@parse $ctx:tt $c:ident $($rest:tt)*) => {
        $crate::__gate_threshold!(@path $ctx [$c] $($rest)*);
    };
    (@parse $ctx:tt $($other:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "a threshold is a number literal or a constant (`1.4 x`, `MIN_SPEEDUP x`), found `", ::core::stringify!($($other)+), "`"
        ));
    };
    (@path $ctx:tt [$($p:tt)*] :: $c:ident $($rest:tt)*) => {
        $crate::__gate_threshold!(@path $ctx [$($p)* :: $c] $($rest)*);
    };
    (@path $ctx:tt [$($p:tt)*] $($rest:tt)*) => {
        $crate::__gate_threshold!(@unit $ctx [$($p)* as f64] $($rest)*);
    };
    (@unit $ctx:tt [$($v:tt)*]) => {
        $crate::__gate_emit!($ctx [$crate::Threshold::Absolute($($v)*)] fits_bare);
    };
    (@unit $ctx:tt [$($v:tt)*] x) => {
        $crate::__gate_emit!($ctx [$crate::Threshold::Ratio($($v)*)] fits_x);
    };
    (@unit $ctx:tt [$($v:tt)*] % of ram) => {
        $crate::__gate_emit!($ctx [$crate::Threshold::PercentOfRam($($v)*)] fits_percent_of_ram);
    };
    (@unit $ctx:tt [$($v:tt)*] % of $($other:tt)*) => {
        ::core::compile_error!(::core::concat!("`% of` takes `ram`, found `", ::core::stringify!($($other)*), "`"));
    };
    (@unit $ctx:tt [$($v:tt)*] %) => {
        $crate::__gate_emit!($ctx [$crate::Threshold::Percent($($v)*)] fits_percent);
    };
    (@unit $ctx:tt [$($v:tt)*] bytes) => {
        $crate::__gate_emit!($ctx [$crate::Threshold::Bytes($($v)*)] fits_bytes);
    };
    (@unit $ctx:tt [$($v:tt)*] KiB) => {
        $crate::__gate_emit!($ctx [$crate::Threshold::Bytes(($($v)*) * 1024.0)] fits_bytes);
    };
    (@unit $ctx:tt [$($v:tt)*] MiB) => {
        $crate::__gate_emit!($ctx [$crate::Threshold::Bytes(($($v)*) * 1048576.0)] fits_bytes);
    };
    (@unit $ctx:tt [$($v:tt)*] GiB) => {
        $crate::__gate_emit!($ctx [$crate::Threshold::Bytes(($($v)*) * 1073741824.0)] fits_bytes);
    };
    (@unit $ctx:tt [$($v:tt)*] sessions / s) => {
        $crate::__gate_emit!($ctx [$crate::Threshold::SessionsPerSec($($v)*)] fits_sessions_per_s);
    };
    (@unit $ctx:tt [$($v:tt)*] events / s) => {
        $crate::__gate_emit!($ctx [$crate::Threshold::EventsPerSec($($v)*)] fits_events_per_s);
    };
    (@unit $ctx:tt [$($v:tt)*] subgraphs / s) => {
        $crate::__gate_emit!($ctx [$crate::Threshold::SubgraphsPerSec($($v)*)] fits_subgraphs_per_s);
    };
    (@unit $ctx:tt [$($v:tt)*] ms) => {
        $crate::__gate_emit!($ctx [$crate::Threshold::Millis($($v)*)] fits_ms);
    };
    (@unit $ctx:tt [$($v:tt)*] us) => {
        $crate::__gate_emit!($ctx [$crate::Threshold::Micros($($v)*)] fits_us);
    };
    (@unit $ctx:tt [$($v:tt)*] $($other:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "unknown threshold unit `", ::core::stringify!($($other)+),
            "`: expected nothing, `x`, `%`, `% of ram`, `bytes`, `KiB`, `MiB`, `GiB`, `sessions/s`, `events/s`, `subgraphs/s`, `ms` or `us`"
        ));
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __gate_emit {
    ([[$name:ident [$($metric:ident)::+] [$($args:tt)*] $op:tt] [$($opts:tt)*] $unit:ident] [$($threshold:tt)*] $check:ident) => {
        const _: () = {
            fn __ironforge_metric(
                ctx: &mut $crate::GateContext,
            ) -> ::core::result::Result<impl $crate::units::MetricOutput, $crate::GateError> {
                $crate::units::check::$check::<$crate::units::check::$unit, _>(
                    $crate::__gate_call!(ctx; $($metric)::+; $($args)*)
                )
            }
            fn __ironforge_measure(
                ctx: &mut $crate::GateContext,
            ) -> ::core::result::Result<$crate::Measurement, $crate::GateError> {
                __ironforge_metric(ctx).map($crate::units::MetricOutput::into_measurement)
            }
            const __IRONFORGE_GATE: $crate::GateDecl = $crate::GateDecl {
                name: ::core::stringify!($name),
                metric: ::core::stringify!($($metric)::+),
                inputs: ::core::stringify!($($args)*),
                comparator: $crate::__gate_cmp!($op),
                threshold: $($threshold)*,
                static_unit: $crate::units::check::unit_of(&__ironforge_metric),
                declared_unit: $crate::units::check::declared::<$crate::units::check::$unit>(),
                meta: $crate::__decl_opts!(@opts $crate::DeclMeta::new($crate::Location {
                    file: ::core::file!(),
                    line: ::core::line!(),
                }); $($opts)*),
                measure: __ironforge_measure,
            };
            $crate::__macro_support::inventory::submit! { __IRONFORGE_GATE }
            if __IRONFORGE_GATE.meta.drift.is_some() {
                ::core::panic!(::core::concat!(
                    "gate `", ::core::stringify!($name), "`: `drift <= TOL` is an option of `scenario!`; a gate compares its timed subjects with `regress <= N% on probe`"
                ));
            }
            if __IRONFORGE_GATE.meta.doc.is_empty() {
                ::core::panic!(::core::concat!(
                    "gate `", ::core::stringify!($name), "` has no doc string: add `doc = \"what it guards\"`"
                ));
            }
        };
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __gate_call {
    ($ctx:ident; $($metric:ident)::+; $($key:ident = $value:expr),* $(,)?) => {
        $($metric)::+($ctx $(, $value)*)
    };
    ($ctx:ident; $($metric:ident)::+; $($value:expr),* $(,)?) => {
        $($metric)::+($ctx $(, $value)*)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __gate_cmp {
    (>=) => {
        $crate::Comparator::Ge
    };
    (>) => {
        $crate::Comparator::Gt
    };
    (<=) => {
        $crate::Comparator::Le
    };
    (<) => {
        $crate::Comparator::Lt
    };
    (==) => {
        ::core::compile_error!("`==` is not a gate comparator: a measured number never equals a threshold exactly; use `<=`, `<`, `>=` or `>`")
    };
    ($other:tt) => {
        ::core::compile_error!(::core::concat!(
            "expected a comparator `>=`, `>`, `<=` or `<` after the metric, found `", ::core::stringify!($other), "`"
        ))
    };
}

/// Folds `key = value` options into a `DeclMeta`, one compile error per malformed option.
#[doc(hidden)]
#[macro_export]
macro_rules! __decl_opts {
    (@opts $m:expr ; $(,)?) => {
        $m
    };
    (@opts $m:expr ; tier = quick $(, $($rest:tt)*)?) => {
        $crate::__decl_opts!(@opts $crate::DeclMeta::with_tiers($m, $crate::Tiers::Quick); $($($rest)*)?)
    };
    (@opts $m:expr ; tier = release $(, $($rest:tt)*)?) => {
        $crate::__decl_opts!(@opts $crate::DeclMeta::with_tiers($m, $crate::Tiers::Release); $($($rest)*)?)
    };
    (@opts $m:expr ; tier = both $(, $($rest:tt)*)?) => {
        $crate::__decl_opts!(@opts $crate::DeclMeta::with_tiers($m, $crate::Tiers::Both); $($($rest)*)?)
    };
    (@opts $m:expr ; tier = $other:tt $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "unknown tier `", ::core::stringify!($other), "`: expected `quick`, `release` or `both`"
        ))
    };
    (@opts $m:expr ; family = $family:literal $(, $($rest:tt)*)?) => {
        $crate::__decl_opts!(@opts $crate::DeclMeta::with_family($m, $family); $($($rest)*)?)
    };
    (@opts $m:expr ; doc = $doc:literal $(, $($rest:tt)*)?) => {
        $crate::__decl_opts!(@opts $crate::DeclMeta::with_doc($m, $doc); $($($rest)*)?)
    };
    (@opts $m:expr ; fault = $fault:path $(, $($rest:tt)*)?) => {
        $crate::__decl_opts!(@opts $crate::DeclMeta::with_fault($m, &$fault); $($($rest)*)?)
    };
    (@opts $m:expr ; regress <= $tol:literal % on $probe:path $(, $($rest:tt)*)?) => {
        $crate::__decl_opts!(@opts $crate::DeclMeta::with_regression($m, &$crate::probe::Regression {
            tolerance_pct: $tol as f64,
            probe: $probe,
            probe_name: ::core::stringify!($probe),
        }); $($($rest)*)?)
    };
    (@opts $m:expr ; regress $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "expected `regress <= N% on probe_fn` (a percentage literal, then the probe timing the gate's subject), found `regress ",
            ::core::stringify!($($rest)*), "`"
        ))
    };
    (@opts $m:expr ; drift <= $tol:literal $(, $($rest:tt)*)?) => {
        $crate::__decl_opts!(@opts $crate::DeclMeta::with_drift($m, $tol as f64); $($($rest)*)?)
    };
    (@opts $m:expr ; drift $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "expected `drift <= TOLERANCE` (a number literal; 0: any change of the outputs fails), found `drift ",
            ::core::stringify!($($rest)*), "`"
        ))
    };
    (@opts $m:expr ; unit = $($rest:tt)*) => {
        ::core::compile_error!("`unit` is an option of `gate!` only: a scenario's unit follows from its comparison")
    };
    (@opts $m:expr ; $key:ident = $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "unknown option `", ::core::stringify!($key),
            "`: expected `tier`, `family`, `doc`, `fault`, (gates) `unit` and `regress <= N% on probe`, (scenarios) `drift <= TOL`"
        ))
    };
    (@opts $m:expr ; $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "options are `key = value` pairs separated by commas, found `", ::core::stringify!($($rest)*), "`"
        ))
    };
}

/// Declares a parity scenario: which cases, which reference and candidate functions, how
/// their outputs are compared.
///
/// Grammar (keys in this order; see `docs/gates.md`):
///
/// ```text
/// scenario!( NAME : sessions = CASES_FN, reference = OUTPUT_FN, candidate = OUTPUT_FN,
///            compare = max_abs(TOL) | flash(SAME_PRECISION_FN [, floor = NUMBER]) | exact
///            [, OPTION]* )
/// CASES_FN  : fn(&GateContext) -> Result<Vec<C>, GateError>, C: ParityCase
/// OUTPUT_FN : fn(&GateContext, &C) -> Result<O, GateError>
///             (O: NumericOutput for max_abs/flash, O: PartialEq + DriftOutput for exact)
/// OPTION    := doc = "text" (required) | tier = ... | family = "tag" | fault = FAULT_CONST_PATH
///            | drift <= NUMBER_LITERAL
/// ```
///
/// `drift <= TOL` declares how far the candidate's outputs may move against a base build
/// (`release-check --against REV`; [`drift`](crate::drift)); `drift <= 0`: not at all.
///
/// ```
/// use ironforge_gate::scenario;
/// use ironforge_gate::{parity::Case, GateContext, GateError};
///
/// fn ramps(_: &GateContext) -> Result<Vec<Case<f64>>, GateError> {
///     Ok(vec![Case::new("ramp", (0..100).map(f64::from).collect())])
/// }
/// fn forward(_: &GateContext, c: &Case<f64>) -> Result<f64, GateError> { Ok(c.data.iter().sum()) }
/// fn backward(_: &GateContext, c: &Case<f64>) -> Result<f64, GateError> { Ok(c.data.iter().rev().sum()) }
///
/// scenario!(sum_directions: sessions = ramps, reference = forward, candidate = backward,
///           compare = max_abs(1e-9), family = "demo", doc = "summation order barely matters");
/// ```
#[macro_export]
macro_rules! scenario {
    ($name:ident : sessions = $cases:path, reference = $reference:path, candidate = $candidate:path, compare = $($rest:tt)+) => {
        $crate::__scenario_compare!(@cmp $name [$cases] [$reference] [$candidate] $($rest)+);
    };
    ($name:ident : $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "scenario `", ::core::stringify!($name),
            "`: expected `sessions = fn, reference = fn, candidate = fn, compare = max_abs(tol) | flash(same_precision_fn[, floor = x]) | exact` in this order, then options"
        ));
    };
    ($($rest:tt)*) => {
        ::core::compile_error!("scenario! expects `name: sessions = fn, reference = fn, candidate = fn, compare = ..., options...`");
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __scenario_compare {
    (@cmp $name:ident [$cases:path] [$reference:path] [$candidate:path] max_abs ( $tol:literal ) $(, $($opts:tt)*)?) => {
        $crate::__scenario_emit!(@numeric $name [$cases] [$reference] [$candidate]
            [$crate::parity::NumericRule::MaxAbs { tolerance: $tol as f64 }]
            [::core::concat!("max_abs(", ::core::stringify!($tol), ")")] [$($($opts)*)?]);
    };
    (@cmp $name:ident [$cases:path] [$reference:path] [$candidate:path] flash ( $same:path , floor = $floor:literal ) $(, $($opts:tt)*)?) => {
        $crate::__scenario_emit!(@numeric $name [$cases] [$reference] [$candidate]
            [$crate::parity::NumericRule::Flash { same_precision: $same, floor: $floor as f64 }]
            [::core::concat!("flash(", ::core::stringify!($same), ", floor = ", ::core::stringify!($floor), ")")]
            [$($($opts)*)?]);
    };
    (@cmp $name:ident [$cases:path] [$reference:path] [$candidate:path] flash ( $same:path ) $(, $($opts:tt)*)?) => {
        $crate::__scenario_emit!(@numeric $name [$cases] [$reference] [$candidate]
            [$crate::parity::NumericRule::Flash { same_precision: $same, floor: 0.0 }]
            [::core::concat!("flash(", ::core::stringify!($same), ")")] [$($($opts)*)?]);
    };
    (@cmp $name:ident [$cases:path] [$reference:path] [$candidate:path] exact $(, $($opts:tt)*)?) => {
        $crate::__scenario_emit!(@exact $name [$cases] [$reference] [$candidate] ["exact"] [$($($opts)*)?]);
    };
    (@cmp $name:ident [$cases:path] [$reference:path] [$candidate:path] $other:tt $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "unknown comparison `", ::core::stringify!($other $($rest)*),
            "`: expected `max_abs(tolerance)`, `flash(same_precision_fn)`, `flash(same_precision_fn, floor = x)` or `exact`"
        ));
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __scenario_emit {
    (@numeric $name:ident [$cases:path] [$reference:path] [$candidate:path] [$($rule:tt)*] [$desc:expr] [$($opts:tt)*]) => {
        $crate::__scenario_emit!(@decl $name [$cases] [$reference] [$candidate] [$desc] [$($opts)*] ctx {
            $crate::parity::run_numeric(ctx, $cases, $reference, $candidate, ::core::stringify!($candidate), $($rule)*)
        } out tolerance {
            $crate::drift::dump_numeric(ctx, ::core::stringify!($name), tolerance, $cases, $candidate, out)
        });
    };
    (@exact $name:ident [$cases:path] [$reference:path] [$candidate:path] [$desc:expr] [$($opts:tt)*]) => {
        $crate::__scenario_emit!(@decl $name [$cases] [$reference] [$candidate] [$desc] [$($opts)*] ctx {
            $crate::parity::run_exact(ctx, $cases, $reference, $candidate, ::core::stringify!($candidate))
        } out tolerance {
            $crate::drift::dump_exact(ctx, ::core::stringify!($name), tolerance, $cases, $candidate, out)
        });
    };
    (@decl $name:ident [$cases:path] [$reference:path] [$candidate:path] [$desc:expr] [$($opts:tt)*] $ctx:ident $body:block
        $out:ident $tolerance:ident $dump:block) => {
        const _: () = {
            fn __ironforge_run(
                $ctx: &$crate::GateContext,
            ) -> ::core::result::Result<$crate::parity::ParityOutcome, $crate::GateError> $body
            fn __ironforge_dump(
                $ctx: &$crate::GateContext,
                $tolerance: f64,
                $out: &mut $crate::drift::DriftWriter,
            ) -> ::core::result::Result<usize, $crate::GateError> $dump
            const __IRONFORGE_SCENARIO: $crate::ScenarioDecl = $crate::ScenarioDecl {
                name: ::core::stringify!($name),
                sessions: ::core::stringify!($cases),
                reference: ::core::stringify!($reference),
                candidate: ::core::stringify!($candidate),
                compare: $desc,
                meta: $crate::__decl_opts!(@opts $crate::DeclMeta::new($crate::Location {
                    file: ::core::file!(),
                    line: ::core::line!(),
                }); $($opts)*),
                run: __ironforge_run,
                dump: __ironforge_dump,
            };
            $crate::__macro_support::inventory::submit! { __IRONFORGE_SCENARIO }
            if __IRONFORGE_SCENARIO.meta.regression.is_some() {
                ::core::panic!(::core::concat!(
                    "scenario `", ::core::stringify!($name), "`: `regress <= N% on probe` is an option of `gate!`; a scenario gates its outputs' change with `drift <= TOL`"
                ));
            }
            if __IRONFORGE_SCENARIO.meta.doc.is_empty() {
                ::core::panic!(::core::concat!(
                    "scenario `", ::core::stringify!($name), "` has no doc string: add `doc = \"what it shows\"`"
                ));
            }
        };
    };
}
