//! SVG plots of an audit (plotters, SVG backend, no fonts needed): deterministic for the
//! same audit.

use ironforge::attention::kernels::bench::BenchRow;
use ironforge::gate::audit::ParityEntry;
use ironforge::gate::table::TableEntry;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;

const SIZE: (u32, u32) = (900, 520);
/// Errors below this are drawn at this floor on the log axis (exact zeros included).
pub const ERROR_FLOOR: f64 = 1e-12;

fn color(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    PALETTE[i % PALETTE.len()]
}

/// Turns a plotting error into an anyhow error.
pub fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e:?}")
}

/// The SVG text of a `size` (width, height) plot that `draw` makes on a white background.
pub fn svg_of(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        draw(&root)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// Draws a chart's legend as every plot here does: upper left, on a translucent white box.
pub fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> anyhow::Result<()> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(plot_err)
}

/// Speed-up (reference time / candidate time) against L bucket, one line per kernel, mask and
/// thread count, with the 95% interval as a bar at every point.
pub fn speedup_by_l(cells: &[TableEntry<BenchRow>]) -> anyhow::Result<String> {
    let mut series: BTreeMap<String, Vec<(f64, f64, f64, f64)>> = BTreeMap::new();
    for c in cells {
        let r = &c.row;
        let key = format!("{} vs {} ({}, {} thr)", r.candidate, r.reference, r.mask, r.threads);
        series.entry(key).or_default().push(((r.l_bucket.max(1) as f64).log2(), r.interval[0], r.ratio, r.interval[1]));
    }
    let xs = series.values().flatten().map(|p| p.0);
    let (xmin, xmax) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    let (xmin, xmax) = if xmin.is_finite() { (xmin - 0.5, xmax + 0.5) } else { (6.5, 10.5) };
    let ymax = series.values().flatten().map(|p| p.3).fold(1.0f64, f64::max) * 1.1;
    svg_of(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Speed-up by L bucket (95% interval bars)", ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(xmin..xmax, 0.0..ymax)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("L bucket (events, upper end)")
            .y_desc("speed-up (x)")
            .x_labels(((xmax - xmin).round() as usize).max(2))
            .x_label_formatter(&|x| format!("{}", 2f64.powf(*x).round()))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new([(xmin, 1.0), (xmax, 1.0)], BLACK.mix(0.4)))
            .map_err(plot_err)?
            .label("1x (no speed-up)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.4)));
        for (i, (name, points)) in series.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(points.iter().map(|p| (p.0, p.2)), c.stroke_width(2)))
                .map_err(plot_err)?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
            chart
                .draw_series(points.iter().map(|p| ErrorBar::new_vertical(p.0, p.1, p.2, p.3, c.filled(), 8)))
                .map_err(plot_err)?;
        }
        legend(&mut chart)
    })
}

/// Parity error against session size (events), one colour per candidate, log error axis.
pub fn parity_vs_size(entries: &[ParityEntry]) -> anyhow::Result<String> {
    let mut series: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for e in entries {
        series.entry(e.row.candidate.as_str()).or_default().push((e.row.size as f64, e.row.error.max(ERROR_FLOOR)));
    }
    let xs = series.values().flatten().map(|p| p.0);
    let (xmin, xmax) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    let (xmin, xmax) = if xmin.is_finite() { (xmin - 10.0, xmax + 10.0) } else { (0.0, 100.0) };
    let tol = entries.iter().map(|e| e.row.tolerance).fold(ERROR_FLOOR, f64::max);
    let ymax = series.values().flatten().map(|p| p.1).fold(tol, f64::max) * 10.0;
    svg_of(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Parity error against session size", ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(xmin..xmax, (ERROR_FLOOR..ymax).log_scale())
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("session size L (events)")
            .y_desc("error (max abs)")
            .y_label_formatter(&|y| format!("{y:.0e}"))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new([(xmin, tol), (xmax, tol)], RED.mix(0.5)))
            .map_err(plot_err)?
            .label("largest tolerance")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.mix(0.5)));
        for (i, (name, points)) in series.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 4, c.filled())))
                .map_err(plot_err)?
                .label(*name)
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
        }
        legend(&mut chart)
    })
}
