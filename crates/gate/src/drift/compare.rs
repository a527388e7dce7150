//! Comparing two dumps: [`compare_dumps`] matches cases by (scenario, case id) and gives one
//! [`DriftRow`] per scenario, with its [`DriftStatus`].

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::writer::check_case;
use super::{kind_name, DriftError, DriftReader, DriftValues};

/// How a scenario's outputs moved between the base's dump and the candidate's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftStatus {
    /// Every case in both dumps, every value equal.
    Unchanged,
    /// Some values changed, all by at most the tolerance.
    Within,
    /// A change beyond the tolerance (a length or kind change included), or cases present in
    /// one dump only: fails the release check.
    Drifted,
    /// Scenario only in the candidate's dump (not a failure).
    New,
    /// Scenario only in the base's dump (reported, not a failure).
    Gone,
}

/// One scenario's comparison of two dumps.
///
/// JSON: `largest_difference` is a number when finite and the string `"inf"` when infinite (a
/// length or kind change, or NaN against a number); serde_json cannot write infinity as a
/// number. Reading accepts both forms (and `"-inf"`, `"nan"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftRow {
    /// Scenario name.
    pub scenario: String,
    /// `"ints"` or `"floats"`: the candidate's kind (the base's for a [`DriftStatus::Gone`] row).
    pub kind: String,
    /// Allowed largest difference, from the candidate's dump (the base's for a `Gone` row).
    pub tolerance: f64,
    /// Cases present in both dumps.
    pub cases: usize,
    /// Cases whose values differ at all (any nonzero difference, a length or kind change).
    pub cases_changed: usize,
    /// Largest absolute difference over all cases present in both (ints: `|a − b|`); infinite
    /// for a length or kind change or NaN against a number; 0 when nothing changed.
    #[serde(with = "float_or_inf")]
    pub largest_difference: f64,
    /// Case of the largest difference (the first in the candidate's order on ties); `None`
    /// when nothing changed.
    pub worst_case: Option<String>,
    /// Flat index of the largest difference in [`worst_case`](Self::worst_case)'s values;
    /// `None` when nothing changed or the worst case changed length or kind.
    pub worst_index: Option<usize>,
    /// Case ids only the base's dump holds, in its order.
    pub only_in_base: Vec<String>,
    /// Case ids only the candidate's dump holds, in its order.
    pub only_in_candidate: Vec<String>,
    /// The verdict.
    pub status: DriftStatus,
}

impl DriftRow {
    /// Whether the row fails the release check (status [`DriftStatus::Drifted`]).
    ///
    /// ```
    /// use ironforge_gate::drift::{DriftRow, DriftStatus};
    /// let row = DriftRow {
    ///     scenario: "dag_edges".into(), kind: "ints".into(), tolerance: 0.0, cases: 3, cases_changed: 1,
    ///     largest_difference: 1.0, worst_case: Some("s2".into()), worst_index: Some(4),
    ///     only_in_base: vec![], only_in_candidate: vec![], status: DriftStatus::Drifted,
    /// };
    /// assert!(row.fails());
    /// assert!(!DriftRow { status: DriftStatus::New, ..row }.fails());
    /// ```
    pub fn fails(&self) -> bool {
        self.status == DriftStatus::Drifted
    }
}

/// (De)serializes an `f64` that may be infinite: a number when finite, otherwise the string
/// `"inf"`, `"-inf"` or `"nan"`.
mod float_or_inf {
    use std::fmt;

    use serde::de::{self, Visitor};

    use super::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("nan")
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    struct FloatOrInf;

    impl Visitor<'_> for FloatOrInf {
        type Value = f64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number, \"inf\", \"-inf\" or \"nan\"")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            match v {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "nan" => Ok(f64::NAN),
                other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
            }
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        d.deserialize_any(FloatOrInf)
    }
}

/// One scenario in one dump: its cases in file order, without their values.
#[derive(Debug)]
struct ScenarioIndex {
    name: String,
    tolerance: f64,
    kind: u8,
    cases: Vec<String>,
    /// Ordinals (0-based, file order) of its first and last record.
    first: u64,
    last: u64,
}

/// What a dump holds, without values: scenarios in order of first appearance.
#[derive(Debug)]
struct DumpIndex {
    scenarios: Vec<ScenarioIndex>,
    by_name: HashMap<String, usize>,
}

impl DumpIndex {
    /// Reads the whole dump once (values skipped), checking it end to end.
    fn build(path: &Path) -> Result<Self, DriftError> {
        let mut reader = DriftReader::open(path)?;
        let mut index = DumpIndex { scenarios: Vec::new(), by_name: HashMap::new() };
        let mut first_seen: HashMap<String, (f64, u8)> = HashMap::new();
        let mut seen_cases: HashMap<String, HashSet<String>> = HashMap::new();
        let mut ordinal = 0u64;
        while let Some(head) = reader.next_head()? {
            reader.skip_values(&head)?;
            check_case(path, &mut first_seen, &head.scenario, head.tolerance, &head.case_id, head.kind)?;
            if !seen_cases.entry(head.scenario.clone()).or_default().insert(head.case_id.clone()) {
                return Err(DriftError::DuplicateCase {
                    path: path.to_path_buf(),
                    scenario: head.scenario,
                    case: head.case_id,
                });
            }
            let at = *index.by_name.entry(head.scenario.clone()).or_insert_with(|| {
                index.scenarios.push(ScenarioIndex {
                    name: head.scenario.clone(),
                    tolerance: head.tolerance,
                    kind: head.kind,
                    cases: Vec::new(),
                    first: ordinal,
                    last: ordinal,
                });
                index.scenarios.len() - 1
            });
            let s = &mut index.scenarios[at];
            s.cases.push(head.case_id);
            s.last = ordinal;
            ordinal += 1;
        }
        Ok(index)
    }

    fn get(&self, name: &str) -> Option<&ScenarioIndex> {
        self.by_name.get(name).map(|&i| &self.scenarios[i])
    }
}

/// A reader that can be positioned at a record ordinal: forward by skipping values, backward
/// by reopening the file. When both dumps list scenarios in the same order, each file is read
/// once more after indexing.
struct Cursor<'a> {
    path: &'a Path,
    reader: Option<DriftReader>,
    /// Ordinal of the next record the reader returns.
    next: u64,
}

impl<'a> Cursor<'a> {
    fn new(path: &'a Path) -> Self {
        Cursor { path, reader: None, next: 0 }
    }

    /// Calls `f` on every record of `scenario` within its ordinal range, in file order.
    fn for_each_in(
        &mut self,
        s: &ScenarioIndex,
        mut f: impl FnMut(String, DriftValues) -> Result<(), DriftError>,
    ) -> Result<(), DriftError> {
        let reader = match self.reader.take() {
            Some(r) if self.next <= s.first => self.reader.insert(r),
            _ => {
                self.next = 0;
                self.reader.insert(DriftReader::open(self.path)?)
            }
        };
        while self.next <= s.last {
            let head = reader.next_head()?.ok_or_else(|| DriftError::Corrupt {
                path: self.path.to_path_buf(),
                problem: "the file changed while it was compared".to_string(),
            })?;
            self.next += 1;
            if self.next > s.first && head.scenario == s.name {
                let values = reader.read_values(&head)?;
                f(head.case_id, values)?;
            } else {
                reader.skip_values(&head)?;
            }
        }
        Ok(())
    }
}

/// Difference of one case: changed at all, largest difference, where.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CaseDiff {
    changed: bool,
    largest: f64,
    index: Option<usize>,
}

fn case_diff(base: &DriftValues, candidate: &DriftValues) -> CaseDiff {
    let shape_change = CaseDiff { changed: true, largest: f64::INFINITY, index: None };
    match (base, candidate) {
        (DriftValues::Ints(a), DriftValues::Ints(b)) if a.len() == b.len() => {
            fold_diffs(a.iter().zip(b).map(|(&x, &y)| (i128::from(x) - i128::from(y)).unsigned_abs() as f64))
        }
        (DriftValues::Floats(a), DriftValues::Floats(b)) if a.len() == b.len() => {
            fold_diffs(a.iter().zip(b).map(|(&x, &y)| {
                if x == y || (x.is_nan() && y.is_nan()) {
                    0.0
                } else {
                    let d = (x - y).abs();
                    // NaN against a number (a NaN difference) is an infinite one.
                    if d.is_nan() {
                        f64::INFINITY
                    } else {
                        d
                    }
                }
            }))
        }
        _ => shape_change,
    }
}

fn fold_diffs(diffs: impl Iterator<Item = f64>) -> CaseDiff {
    let mut out = CaseDiff { changed: false, largest: 0.0, index: None };
    for (i, d) in diffs.enumerate() {
        if d != 0.0 && (out.index.is_none() || d > out.largest) {
            out = CaseDiff { changed: true, largest: d, index: Some(i) };
        }
    }
    out
}

/// Compares a base revision's dump with a candidate's: one row per scenario present in either,
/// sorted by scenario name, matching cases by (scenario, case id) in any order.
///
/// Both files are read through once to check them end to end (a truncated or corrupt dump, a
/// case id twice in a scenario: an error naming the file); then scenario by scenario, the
/// base's values of that scenario are held in memory while the candidate's cases stream past.
///
/// ```
/// use ironforge_gate::drift::{compare_dumps, DriftStatus, DriftValues, DriftWriter};
/// let dir = tempfile::tempdir().unwrap();
/// let dump = |name: &str, x: f64| {
///     let path = dir.path().join(name);
///     let mut w = DriftWriter::create(&path).unwrap();
///     w.write_case("kernel", 1e-6, "s1", &DriftValues::Floats(vec![1.0, x])).unwrap();
///     w.finish().unwrap();
///     path
/// };
/// let rows = compare_dumps(&dump("base.bin", 2.0), &dump("cand.bin", 2.0 + 1e-7)).unwrap();
/// assert_eq!(rows[0].status, DriftStatus::Within);
/// assert_eq!((rows[0].worst_case.as_deref(), rows[0].worst_index), (Some("s1"), Some(1)));
/// ```
pub fn compare_dumps(base: &Path, candidate: &Path) -> Result<Vec<DriftRow>, DriftError> {
    let base_index = DumpIndex::build(base)?;
    let cand_index = DumpIndex::build(candidate)?;
    let mut base_cursor = Cursor::new(base);
    let mut cand_cursor = Cursor::new(candidate);
    let mut rows = Vec::with_capacity(base_index.scenarios.len().max(cand_index.scenarios.len()));
    for c in &cand_index.scenarios {
        let row = match base_index.get(&c.name) {
            None => one_sided(c, DriftStatus::New),
            Some(b) => compare_scenario(b, c, &mut base_cursor, &mut cand_cursor)?,
        };
        rows.push(row);
    }
    for b in &base_index.scenarios {
        if cand_index.get(&b.name).is_none() {
            rows.push(one_sided(b, DriftStatus::Gone));
        }
    }
    rows.sort_by(|a, b| a.scenario.cmp(&b.scenario));
    Ok(rows)
}

fn one_sided(s: &ScenarioIndex, status: DriftStatus) -> DriftRow {
    let (only_in_base, only_in_candidate) =
        if status == DriftStatus::Gone { (s.cases.clone(), Vec::new()) } else { (Vec::new(), s.cases.clone()) };
    DriftRow {
        scenario: s.name.clone(),
        kind: kind_name(s.kind).to_string(),
        tolerance: s.tolerance,
        cases: 0,
        cases_changed: 0,
        largest_difference: 0.0,
        worst_case: None,
        worst_index: None,
        only_in_base,
        only_in_candidate,
        status,
    }
}

fn compare_scenario(
    b: &ScenarioIndex,
    c: &ScenarioIndex,
    base_cursor: &mut Cursor<'_>,
    cand_cursor: &mut Cursor<'_>,
) -> Result<DriftRow, DriftError> {
    let mut base_values: HashMap<String, DriftValues> = HashMap::with_capacity(b.cases.len());
    base_cursor.for_each_in(b, |case, values| {
        base_values.insert(case, values);
        Ok(())
    })?;
    let mut row = DriftRow {
        scenario: c.name.clone(),
        kind: kind_name(c.kind).to_string(),
        tolerance: c.tolerance,
        cases: 0,
        cases_changed: 0,
        largest_difference: 0.0,
        worst_case: None,
        worst_index: None,
        only_in_base: Vec::new(),
        only_in_candidate: Vec::new(),
        status: DriftStatus::Unchanged,
    };
    cand_cursor.for_each_in(c, |case, values| {
        // Removing frees the base's values of the case as soon as it is compared.
        let Some(base) = base_values.remove(&case) else {
            row.only_in_candidate.push(case);
            return Ok(());
        };
        row.cases += 1;
        let d = case_diff(&base, &values);
        if d.changed {
            row.cases_changed += 1;
            if row.worst_case.is_none() || d.largest > row.largest_difference {
                row.largest_difference = d.largest;
                row.worst_case = Some(case);
                row.worst_index = d.index;
            }
        }
        Ok(())
    })?;
    row.only_in_base = b.cases.iter().filter(|case| base_values.contains_key(*case)).cloned().collect();
    row.status = if !row.only_in_base.is_empty() || !row.only_in_candidate.is_empty() {
        DriftStatus::Drifted
    } else if row.cases_changed == 0 {
        DriftStatus::Unchanged
    } else if row.largest_difference <= row.tolerance {
        DriftStatus::Within
    } else {
        DriftStatus::Drifted
    };
    Ok(row)
}
