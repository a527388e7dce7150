//! Number and table formatting shared by the rendered reports (deterministic, locale-free).

/// A number for a report: fixed for ordinary magnitudes, scientific for tiny or huge ones.
pub fn num(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if (1e-3..1e6).contains(&a) {
        let s = format!("{x:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        format!("{x:.3e}")
    }
}

/// `[lo, hi]` with [`num`], or `—` when absent.
pub fn interval(i: Option<[f64; 2]>) -> String {
    i.map_or_else(|| "—".to_string(), |[lo, hi]| format!("[{}, {}]", num(lo), num(hi)))
}

/// A Markdown table row from cells (pipes inside cells escaped).
pub fn row<S: AsRef<str>>(cells: &[S]) -> String {
    let cells: Vec<String> = cells.iter().map(|c| c.as_ref().replace('|', "\\|")).collect();
    format!("| {} |\n", cells.join(" | "))
}

/// A Markdown table header with its separator line.
pub fn header(cells: &[&str]) -> String {
    let mut s = row(cells);
    s.push_str(&row(&cells.iter().map(|_| "---").collect::<Vec<_>>()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_exact_enough() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(2.0), "2");
        assert_eq!(num(-0.25), "-0.25");
        assert_eq!(num(3.1e-7), "3.100e-7");
        assert_eq!(num(1.2e7), "1.200e7");
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(interval(Some([1.0, 2.5])), "[1, 2.5]");
        assert_eq!(interval(None), "—");
        assert_eq!(row(&["a|b", "c"]), "| a\\|b | c |\n");
        assert_eq!(header(&["x", "y"]), "| x | y |\n| --- | --- |\n");
    }
}
