//! The history as text (each metric's trend and step changes) and as one SVG per timed metric.

use plotters::prelude::*;

use super::analysis::{HistoryReport, MetricHistory};
use crate::changepoint::Params;
use crate::format::{interval as show_interval, num};
use crate::plots::{legend, plot_err, svg_of};

/// The first 10 characters of a commit.
pub(super) fn short(commit: &str) -> &str {
    &commit[..commit.len().min(10)]
}

/// `1 entry`, `n entries`.
pub(super) fn entries(n: usize) -> String {
    format!("{n} {}", if n == 1 { "entry" } else { "entries" })
}

/// A relative change as a signed percentage.
pub(super) fn percent(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".to_string(), |r| format!("{:+.1}%", 100.0 * r))
}

/// The method in words.
pub(super) fn method_line(p: &Params) -> String {
    format!(
        "e-divisive means, α = {}, {} seeded permutations, p < {}, levels of at least {} commits",
        p.alpha, p.permutations, p.significance, p.min_segment
    )
}

/// The printed report: what was used, each metric's trend table, then the step changes.
pub fn render_text(r: &HistoryReport) -> String {
    let mut s = format!("history of {} first-parent commits of HEAD from the {}\n", r.commits.len(), r.store);
    s.push_str(&format!(
        "{} of {} entries used (tier {}); skipped: {} dirty{}, {} of other machines{}, {} of another tier, \
         {} unreadable\n",
        r.entries_used,
        r.entries_found,
        r.tier,
        r.skipped_dirty,
        if r.skipped_dirty > 0 { " (--include-dirty uses them)" } else { "" },
        r.skipped_other_machines,
        if r.skipped_other_machines > 0 { " (--cross-machine mixes them)" } else { "" },
        r.skipped_other_tier,
        r.malformed.len()
    ));
    let machines = r.machines.iter().map(|m| {
        let fp = if m.fingerprint.is_empty() { "no fingerprint recorded" } else { &m.fingerprint };
        format!("{fp} ({}, {})", m.cpu_model, entries(m.entries))
    });
    if r.machines.len() > 1 {
        s.push_str(&format!(
            "entries from several machines are mixed (--cross-machine): {}\n",
            machines.collect::<Vec<_>>().join(", ")
        ));
    } else {
        s.push_str(&format!("machine: {}\n", machines.collect::<Vec<_>>().join(", ")));
    }
    if !r.combined.is_empty() {
        let list: Vec<String> = r.combined.iter().map(|(c, n)| format!("{} ({})", short(c), entries(*n))).collect();
        s.push_str(&format!("commits measured more than once use the median of their values: {}\n", list.join(", ")));
    }
    for m in &r.metrics {
        let better = m.better.as_deref().map(|b| format!(", {b} is better")).unwrap_or_default();
        s.push_str(&format!("\n{} ({}{better}{})\n", m.name, m.unit, if m.timed { ", timed" } else { "" }));
        if m.other_unit_points > 0 {
            s.push_str(&format!("  ({} commits measured it in another unit; left out)\n", m.other_unit_points));
        }
        s.push_str(&format!("  {:<12} {:>12}  {:<26} step\n", "commit", "value", "interval"));
        for (i, p) in m.series.iter().enumerate() {
            let marker = match m.steps.iter().find(|st| st.index == i) {
                Some(st) => format!("<- {} {} (p = {:.3})", percent(st.relative_change), st.direction, st.p_value),
                None => String::new(),
            };
            let commit = format!("{}{}", short(&p.commit), if p.dirty { "+" } else { "" });
            let value = if p.entries > 1 { format!("{} ×{}", num(p.value), p.entries) } else { num(p.value) };
            let line = format!("  {commit:<12} {value:>12}  {:<26} {marker}", show_interval(p.interval));
            s.push_str(line.trim_end());
            s.push('\n');
        }
    }
    s.push_str(&format!("\nstep changes ({}):\n", method_line(&r.method)));
    let steps: Vec<String> = r
        .metrics
        .iter()
        .flat_map(|m| {
            m.steps.iter().map(move |st| {
                format!(
                    "  {}: from {}, {} -> {} {} ({}, {}), p = {:.3}\n",
                    m.name,
                    short(&st.commit),
                    num(st.mean_before),
                    num(st.mean_after),
                    m.unit,
                    percent(st.relative_change),
                    st.direction,
                    st.p_value
                )
            })
        })
        .collect();
    if steps.is_empty() {
        s.push_str("  none\n");
    } else {
        s.extend(steps);
    }
    s
}

/// The plot of one metric: value with interval bars over commits, each level's mean in grey,
/// each step as a red vertical line before its first commit.
pub fn plot(m: &MetricHistory) -> anyhow::Result<String> {
    let n = m.series.len();
    let lows = m.series.iter().map(|p| p.interval.map_or(p.value, |i| i[0]));
    let highs = m.series.iter().map(|p| p.interval.map_or(p.value, |i| i[1]));
    let (ymin, ymax) = (lows.fold(f64::INFINITY, f64::min), highs.fold(f64::NEG_INFINITY, f64::max));
    let pad = if ymax > ymin { (ymax - ymin) * 0.1 } else { ymax.abs().max(1.0) * 0.1 };
    let (ymin, ymax) = (ymin - pad, ymax + pad);
    let (xmin, xmax) = (-0.5, n as f64 - 0.5);
    let labels: Vec<String> = m.series.iter().map(|p| p.commit[..p.commit.len().min(7)].to_string()).collect();
    let line = RGBColor(31, 119, 180);
    svg_of((900, 520), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{} ({}) over commits", m.name, m.unit), ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(xmin..xmax, ymin..ymax)
            .map_err(plot_err)?;
        let label_of = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                labels[i as usize].clone()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_desc("commit (oldest first)")
            .y_desc(m.unit.as_str())
            .x_labels(n.clamp(2, 12))
            .x_label_formatter(&label_of)
            .draw()
            .map_err(plot_err)?;
        let mut bounds: Vec<usize> = m.steps.iter().map(|s| s.index).collect();
        bounds.insert(0, 0);
        bounds.push(n);
        for w in bounds.windows(2).filter(|w| w[1] > w[0]) {
            let mean = m.series[w[0]..w[1]].iter().map(|p| p.value).sum::<f64>() / (w[1] - w[0]) as f64;
            chart
                .draw_series(LineSeries::new([(w[0] as f64 - 0.4, mean), (w[1] as f64 - 0.6, mean)], BLACK.mix(0.35)))
                .map_err(plot_err)?;
        }
        let red = RGBColor(214, 39, 40);
        for (k, st) in m.steps.iter().enumerate() {
            let x = st.index as f64 - 0.5;
            let series =
                chart.draw_series(LineSeries::new([(x, ymin), (x, ymax)], red.stroke_width(2))).map_err(plot_err)?;
            if k == 0 {
                series
                    .label("step change")
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], red.stroke_width(2)));
            }
        }
        chart
            .draw_series(LineSeries::new(
                m.series.iter().enumerate().map(|(i, p)| (i as f64, p.value)),
                line.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label(format!("{} (95% interval bars)", m.name))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], line.stroke_width(2)));
        chart
            .draw_series(m.series.iter().enumerate().filter_map(|(i, p)| {
                p.interval.map(|[lo, hi]| ErrorBar::new_vertical(i as f64, lo, p.value, hi, line.filled(), 8))
            }))
            .map_err(plot_err)?;
        // Points without an interval get a dot (an error bar marks its own value).
        let bare = m.series.iter().enumerate().filter(|(_, p)| p.interval.is_none());
        chart.draw_series(bare.map(|(i, p)| Circle::new((i as f64, p.value), 3, line.filled()))).map_err(plot_err)?;
        legend(&mut chart)
    })
}
