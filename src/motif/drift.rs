//! A motif census as an output of the gate framework's drift dumps (exact scenarios such as
//! `motif_census_tables_vs_reference`).

use crate::gate::drift::{DriftOutput, DriftValues};

use super::census::Census;

/// `size, pattern, labels (−1 when unlabelled), count` per motif seen, ascending by motif id.
/// A count above `i64::MAX` is stored by its bit pattern, as the framework stores every `u64`.
impl DriftOutput for Census {
    fn drift_values(&self) -> DriftValues {
        let mut out = Vec::with_capacity(4 * self.distinct());
        for (id, count) in self.iter() {
            out.extend([i64::from(id.size), i64::from(id.pattern), id.labels.map_or(-1, i64::from), count as i64]);
        }
        DriftValues::Ints(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motif::MotifId;

    #[test]
    fn drift_values_of_a_census() {
        let census = Census::from_counts([
            (MotifId { size: 4, pattern: 0x3f, labels: None }, 2),
            (MotifId { size: 3, pattern: 0x0d, labels: Some(0b01_10_11) }, 5),
        ]);
        assert_eq!(census.drift_values(), DriftValues::Ints(vec![3, 0x0d, 0b01_10_11, 5, 4, 0x3f, -1, 2]));
    }
}
