//! Measured tables as data. A benchmark builds a [`Figure`] of [`Table`]s and calls
//! [`Figure::emit`]: the tables go to stdout as Markdown and, when [`FIGURE_JSON_VAR`] names a
//! file, to that file as JSON. `cargo xtask figures record` runs a benchmark that way, stamps
//! the JSON with the machine, the command and the commit, and `cargo xtask figures` renders
//! every recorded figure into `docs/figures/` ([`Figure::markdown`]); prose never carries a
//! measured number, it links the generated file.
//!
//! ```
//! use ironforge_gate::figure::{Cell, Figure, Table};
//! let mut t = Table::new("Sessions per second", ["pipeline", "sessions/s"]);
//! t.row([Cell::text("optimized"), Cell::number(10_412.0, 0)]);
//! let fig = Figure::new("pipeline", vec![t]);
//! assert!(fig.markdown().contains("| optimized | 10412 |"));
//! assert_eq!(fig.bmf()["sessions-per-second/optimized"]["sessions/s"].value, 10_412.0);
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Environment variable naming the file [`Figure::emit`] writes its JSON to.
pub const FIGURE_JSON_VAR: &str = "IRONFORGE_FIGURE_JSON";

/// One cell: text (a row's key: mask, L, kernel …) or a measured number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    /// A measured value, shown with `digits` decimals; `lower`/`upper` bound it when the
    /// benchmark has an interval.
    Number {
        /// The value.
        value: f64,
        /// Decimals shown in Markdown.
        digits: u8,
        /// Lower end of its interval, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lower: Option<f64>,
        /// Upper end of its interval, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upper: Option<f64>,
    },
    /// A label.
    Text(String),
    /// A number that was not measured or is not finite (JSON has no NaN): `n/a`.
    Missing,
}

impl Cell {
    /// A label cell.
    pub fn text(s: impl ToString) -> Cell {
        Cell::Text(s.to_string())
    }

    /// A number shown with `digits` decimals; a non-finite value is [`Cell::Missing`].
    pub fn number(value: f64, digits: u8) -> Cell {
        Cell::interval(value, digits, f64::NAN, f64::NAN)
    }

    /// A number with its interval `[lower, upper]` (a non-finite bound is left out).
    pub fn interval(value: f64, digits: u8, lower: f64, upper: f64) -> Cell {
        if !value.is_finite() {
            return Cell::Missing;
        }
        let finite = |x: f64| x.is_finite().then_some(x);
        Cell::Number { value, digits, lower: finite(lower), upper: finite(upper) }
    }

    fn markdown(&self) -> String {
        match self {
            Cell::Text(s) => s.replace('|', "\\|"),
            Cell::Number { value, digits, .. } => format!("{value:.*}", *digits as usize),
            Cell::Missing => "n/a".into(),
        }
    }
}

/// A table: a title, a note saying how to read it, column headers and rows of cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Heading of the table.
    pub title: String,
    /// How the numbers were taken and how to read them (may be empty).
    #[serde(default)]
    pub note: String,
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table.
    pub fn new<S: ToString>(title: impl ToString, columns: impl IntoIterator<Item = S>) -> Table {
        Table {
            title: title.to_string(),
            note: String::new(),
            columns: columns.into_iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// The table with its note.
    pub fn with_note(mut self, note: impl ToString) -> Table {
        self.note = note.to_string();
        self
    }

    /// Appends a row.
    ///
    /// # Panics
    /// If the row's length differs from the columns' (a bug in the benchmark).
    pub fn row(&mut self, cells: impl IntoIterator<Item = Cell>) {
        let cells: Vec<Cell> = cells.into_iter().collect();
        assert_eq!(cells.len(), self.columns.len(), "table {:?}: a row of {} cells", self.title, cells.len());
        self.rows.push(cells);
    }

    /// The table as Markdown: `### title`, the note, the header and the rows.
    pub fn markdown(&self) -> String {
        let mut s = format!("### {}\n\n", self.title);
        if !self.note.is_empty() {
            s.push_str(&format!("{}\n\n", self.note));
        }
        s.push_str(&format!("| {} |\n", self.columns.join(" | ")));
        s.push_str(&format!("|{}\n", "---|".repeat(self.columns.len())));
        for row in &self.rows {
            s.push_str(&format!("| {} |\n", row.iter().map(Cell::markdown).collect::<Vec<_>>().join(" | ")));
        }
        s
    }
}

/// One benchmark's tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The benchmark's name (`torch`, `pipeline`, …): the recorded file's name starts with it.
    pub name: String,
    /// Its tables, in order.
    pub tables: Vec<Table>,
}

/// One measure of a Bencher Metric Format benchmark: value with optional bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BmfMeasure {
    /// The value.
    pub value: f64,
    /// Lower bound, if measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_value: Option<f64>,
    /// Upper bound, if measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_value: Option<f64>,
}

/// Bencher Metric Format: benchmark name → measure name → measure.
pub type Bmf = BTreeMap<String, BTreeMap<String, BmfMeasure>>;

impl Figure {
    /// A figure named `name`.
    pub fn new(name: impl ToString, tables: Vec<Table>) -> Figure {
        Figure { name: name.to_string(), tables }
    }

    /// Every table as Markdown, in order.
    pub fn markdown(&self) -> String {
        self.tables.iter().map(Table::markdown).collect::<Vec<_>>().join("\n")
    }

    /// The figure in Bencher Metric Format: one benchmark per table row, named by the table's
    /// slug and the row's text cells (`torch-vs-ours/dense/1024/1/flash`), one measure per
    /// number column (named by its header). Rows whose names collide keep the first.
    pub fn bmf(&self) -> Bmf {
        let mut out = Bmf::new();
        for t in &self.tables {
            for row in &t.rows {
                let mut name = slug(&t.title);
                for c in row {
                    if let Cell::Text(s) = c {
                        name.push('/');
                        name.push_str(s);
                    }
                }
                let measures = out.entry(name).or_default();
                for (c, header) in row.iter().zip(&t.columns) {
                    if let Cell::Number { value, lower, upper, .. } = c {
                        measures.entry(header.clone()).or_insert(BmfMeasure {
                            value: *value,
                            lower_value: *lower,
                            upper_value: *upper,
                        });
                    }
                }
            }
        }
        out
    }

    /// Prints the Markdown and, when [`FIGURE_JSON_VAR`] names a file, writes the figure there
    /// as JSON (through a temporary file and a rename: never a partial file).
    ///
    /// # Errors
    /// When the file cannot be written; the message names it.
    pub fn emit(&self) -> Result<(), String> {
        println!("{}", self.markdown());
        match std::env::var_os(FIGURE_JSON_VAR) {
            Some(path) if !path.is_empty() => self.write_json(Path::new(&path)),
            _ => Ok(()),
        }
    }

    /// Writes the figure to `path` as pretty JSON, atomically.
    ///
    /// # Errors
    /// When the file cannot be written; the message names it.
    pub fn write_json(&self, path: &Path) -> Result<(), String> {
        let json = serde_json::to_string_pretty(self).map_err(|e| format!("figure {}: {e}", self.name))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json + "\n")
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("cannot write the figure to {}: {e}", path.display()))
    }
}

/// Lower-case words joined by `-` (`"Ours vs torch, 1 thread"` → `ours-vs-torch-1-thread`).
fn slug(title: &str) -> String {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Figure {
        let mut t = Table::new("Ours vs torch", ["mask", "L", "torch ms", "× torch"]).with_note("Median of pairs.");
        t.row([Cell::text("dense"), Cell::text(64), Cell::number(0.12345, 4), Cell::interval(2.5, 2, 2.4, 2.6)]);
        t.row([Cell::text("a|b"), Cell::text(128), Cell::number(f64::NAN, 4), Cell::number(1.0, 2)]);
        Figure::new("torch", vec![t])
    }

    #[test]
    fn markdown_rounds_numbers_escapes_pipes_and_keeps_the_note() {
        let md = sample().markdown();
        assert!(md.starts_with(
            "### Ours vs torch\n\nMedian of pairs.\n\n| mask | L | torch ms | × torch |\n|---|---|---|---|\n"
        ));
        assert!(md.contains("| dense | 64 | 0.1235 | 2.50 |"), "{md}");
        assert!(md.contains("| a\\|b | 128 | n/a | 1.00 |"), "{md}");
    }

    #[test]
    fn bmf_names_rows_by_their_text_cells_and_keeps_intervals() {
        let bmf = sample().bmf();
        let m = &bmf["ours-vs-torch/dense/64"]["× torch"];
        assert_eq!((m.value, m.lower_value, m.upper_value), (2.5, Some(2.4), Some(2.6)));
        assert_eq!(bmf["ours-vs-torch/dense/64"]["torch ms"].lower_value, None);
        assert_eq!(bmf.len(), 2);
        assert_eq!(bmf["ours-vs-torch/a|b/128"].len(), 1, "a value that is not a number is no measure");
    }

    #[test]
    fn json_round_trips_and_is_written_whole() {
        let dir = std::env::temp_dir().join(format!("ironforge-figure-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("torch.json");
        let fig = sample();
        fig.write_json(&path).unwrap();
        let back: Figure = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back, fig);
        assert!(!path.with_extension("json.tmp").exists());
        let err = fig.write_json(&dir.join("missing").join("x.json")).unwrap_err();
        assert!(err.contains("missing"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    #[should_panic(expected = "a row of 1 cells")]
    fn a_short_row_is_a_bug() {
        Table::new("t", ["a", "b"]).row([Cell::text("x")]);
    }
}
