//! The "candidate vs REV" section of the gate report and its plot, rendered from the audit's
//! [`Comparison`] alone.

use crate::format::{header, interval, num, row};
use crate::plots::{plot_err, svg_of};
use ironforge::gate::comparison::Comparison;
use ironforge::gate::paired::{smallest_caught, RegressionVerdict};
use plotters::prelude::*;

/// The plot of the candidate's ratios to the base.
pub const AGAINST_SVG: &str = "against_base.svg";

/// A regression row's verdict in words (`allowed`: underpowered rows may pass).
pub fn verdict(v: RegressionVerdict, allowed: bool) -> &'static str {
    match v {
        RegressionVerdict::Pass => "PASS",
        RegressionVerdict::Faster => "PASS (faster)",
        RegressionVerdict::Regressed => "REGRESSED",
        RegressionVerdict::Underpowered if allowed => "underpowered (allowed)",
        RegressionVerdict::Underpowered => "UNDERPOWERED",
    }
}

fn pct(x: f64) -> String {
    format!("{}%", num(x * 100.0))
}

/// The Markdown section: regression table, drift table, calibrated slowdowns, notes.
pub fn markdown(c: &Comparison) -> String {
    let short = &c.base_commit[..c.base_commit.len().min(12)];
    let mut s = format!(
        "\n## Candidate vs {} (`{short}`)\n\nBase and candidate harnesses run on this machine, interleaved \
         (arms {} per round, reversed every other round): {} rounds in {} s (budget {} s; {} to {} rounds), \
         stopped because {}. Ratio = candidate speed / base speed per round (> 1: faster), median with a \
         bootstrap 95% interval; control = the base against itself. A row regresses when its interval's \
         upper end is below 1 − tolerance; it is underpowered when its MDE (from the control) exceeds the \
         tolerance.\n\n",
        c.against,
        c.plan.arms.join(", "),
        c.plan.rounds,
        num(c.plan.duration_s),
        num(c.plan.budget_s),
        c.plan.min_rounds,
        c.plan.max_rounds,
        c.plan.stop.describe()
    );
    s.push_str(&regression_table(c));
    for n in &c.new_in_candidate {
        s.push_str(&format!("\n- new in the candidate (not judged): `{n}`"));
    }
    for n in &c.gone_from_candidate {
        s.push_str(&format!("\n- measured by the base only: `{n}`"));
    }
    if !c.new_in_candidate.is_empty() || !c.gone_from_candidate.is_empty() {
        s.push('\n');
    }
    if !c.slowdowns.is_empty() {
        s.push_str(
            "\n### Calibrated slowdowns (`--prove`)\n\nThe base against itself slowed down by busy work \
                    proportional to each timed call: the smallest slowdown each row catches.\n\n",
        );
        s.push_str(&header(&["metric", "slowdown", "ratio", "95% interval", "caught"]));
        for r in &c.slowdowns {
            s.push_str(&row(&[
                format!("`{}/{}`", r.gate, r.metric),
                pct(r.slowdown),
                format!("{}x", num(r.ratio)),
                interval(Some(r.interval)),
                if r.caught { "yes" } else { "no" }.to_string(),
            ]));
        }
        s.push('\n');
        for r in &c.rows {
            let caught = smallest_caught(&c.slowdowns, &r.gate, &r.metric);
            s.push_str(&format!(
                "- `{}/{}`: smallest slowdown caught {}\n",
                r.gate,
                r.metric,
                caught.map_or("none of those tried".to_string(), pct)
            ));
        }
    }
    s.push_str(&format!("\n### Output drift against {}\n\n", c.against));
    if c.drift.is_empty() {
        s.push_str("No scenario's outputs were compared.\n");
    } else {
        s.push_str(&header(&[
            "scenario",
            "kind",
            "cases",
            "changed",
            "largest difference",
            "where",
            "tolerance",
            "status",
        ]));
        for d in &c.drift {
            let place = match (&d.worst_case, d.worst_index) {
                (Some(case), Some(i)) => format!("{case} [{i}]"),
                (Some(case), None) => case.clone(),
                _ => "—".into(),
            };
            s.push_str(&row(&[
                format!("`{}`", d.scenario),
                d.kind.clone(),
                d.cases.to_string(),
                d.cases_changed.to_string(),
                num(d.largest_difference),
                place,
                num(d.tolerance),
                format!("{:?}", d.status).to_lowercase(),
            ]));
        }
    }
    for n in &c.notes {
        s.push_str(&format!("\n> {n}\n"));
    }
    s
}

/// The regression table alone: one row per timed subject (what the README shows of a real run).
pub fn regression_table(c: &Comparison) -> String {
    let mut s = String::new();
    if c.rows.is_empty() {
        s.push_str("No timed subject is measured by both builds.\n");
    } else {
        s.push_str(&header(&[
            "metric",
            "base",
            "candidate",
            "ratio",
            "95% interval",
            "tolerance",
            "noise floor",
            "MDE",
            "verdict",
        ]));
        for r in &c.rows {
            s.push_str(&row(&[
                format!("`{}/{}`", r.gate, r.metric),
                format!("{} {}", num(r.base_median), r.unit),
                format!("{} {}", num(r.candidate_median), r.unit),
                format!("{}x", num(r.ratio)),
                interval(Some(r.interval)),
                pct(r.tolerance),
                pct(r.noise_floor),
                pct(r.mde),
                verdict(r.verdict, c.allow_underpowered).to_string(),
            ]));
        }
    }
    s
}

/// Each row's ratio with its interval (blue) beside the control's (grey), with lines at 1 and
/// at each row's tolerance.
pub fn svg(c: &Comparison) -> anyhow::Result<String> {
    let n = c.rows.len().max(1);
    let lo =
        c.rows.iter().flat_map(|r| [r.interval[0], r.control_interval[0], 1.0 - r.tolerance]).fold(0.9f64, f64::min)
            - 0.02;
    let hi = c.rows.iter().flat_map(|r| [r.interval[1], r.control_interval[1]]).fold(1.1f64, f64::max) + 0.02;
    svg_of((900, 160 + 40 * n as u32), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("Candidate vs {}: speed ratio, 95% interval", c.against), ("sans-serif", 18))
            .margin(15)
            .x_label_area_size(35)
            .y_label_area_size(260)
            .build_cartesian_2d(lo..hi, -0.5..(n as f64 - 0.5))
            .map_err(plot_err)?;
        let names: Vec<String> = c.rows.iter().map(|r| format!("{}/{}", r.gate, r.metric)).collect();
        chart
            .configure_mesh()
            .x_desc("candidate speed / base speed")
            .y_labels(n)
            .y_label_formatter(&|y| names.get(y.round() as usize).cloned().unwrap_or_default())
            .draw()
            .map_err(plot_err)?;
        chart.draw_series(LineSeries::new([(1.0, -0.5), (1.0, n as f64 - 0.5)], BLACK.mix(0.5))).map_err(plot_err)?;
        for (i, r) in c.rows.iter().enumerate() {
            let y = i as f64;
            let t = 1.0 - r.tolerance;
            chart.draw_series(LineSeries::new([(t, y - 0.4), (t, y + 0.4)], RED.stroke_width(2))).map_err(plot_err)?;
            chart
                .draw_series([ErrorBar::new_horizontal(
                    y + 0.15,
                    r.control_interval[0],
                    r.control_ratio,
                    r.control_interval[1],
                    BLACK.mix(0.4).filled(),
                    8,
                )])
                .map_err(plot_err)?;
            let color = if r.verdict == RegressionVerdict::Regressed { RED } else { BLUE };
            chart
                .draw_series([ErrorBar::new_horizontal(
                    y - 0.15,
                    r.interval[0],
                    r.ratio,
                    r.interval[1],
                    color.filled(),
                    8,
                )])
                .map_err(plot_err)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's table of a real run is the rendering of the comparison committed beside
    /// it, and that comparison re-judges from its own samples.
    #[test]
    fn the_readme_table_is_rendered_from_the_committed_comparison() {
        let root = crate::release_check::workspace_root();
        let bytes = std::fs::read(root.join("docs/examples/against-run.json")).unwrap();
        let c: Comparison = serde_json::from_slice(&bytes).unwrap();
        c.validate().unwrap();
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let begin = "<!-- against-table: rendered from docs/examples/against-run.json -->\n";
        let start = readme.find(begin).expect("README has the against-table block") + begin.len();
        let end = readme[start..].find("<!-- end against-table -->").expect("block end") + start;
        let expected = regression_table(&c);
        assert_eq!(&readme[start..end], expected, "replace the README block with:\n{expected}");
        assert!(markdown(&c).contains(&expected));
        assert!(svg(&c).unwrap().starts_with("<svg"));
    }
}
