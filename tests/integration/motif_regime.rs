//! Hungarian matching vs brute force, seeded k-means, regime variance.

use ironforge::motif::hungarian::{assign_min_cost, assignment_cost, min_cost_brute};
use ironforge::motif::kmeans::{kmeans, KMeansParams};
use ironforge::motif::regime::{compare_labelings, regime_variance};
use ironforge::motif::MotifError;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn hungarian_finds_the_brute_force_optimum(n in 1usize..=6, seed in proptest::collection::vec(-50i32..50, 36)) {
        let cost: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| seed[i * 6 + j] as f64).collect()).collect();
        let assignment = assign_min_cost(&cost);
        let mut cols = assignment.clone();
        cols.sort();
        prop_assert_eq!(cols, (0..n).collect::<Vec<_>>());
        prop_assert_eq!(assignment_cost(&cost, &assignment), min_cost_brute(&cost));
    }

    #[test]
    fn renaming_regimes_changes_nothing(labels in proptest::collection::vec(0usize..4, 1..40), shift in 0usize..4) {
        let renamed: Vec<usize> = labels.iter().map(|l| (l + shift) % 4).collect();
        let c = compare_labelings(&labels, &renamed, 4).unwrap();
        prop_assert_eq!(c.variance, 0.0);
        prop_assert_eq!(c.occupancy_tv, 0.0);
    }
}

#[test]
fn variance_counts_sessions_that_move() {
    // 10 sessions, two regimes; sessions 0 and 9 move, and regime names are swapped.
    let a = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
    let b = [0, 1, 1, 1, 1, 0, 0, 0, 0, 1];
    let c = compare_labelings(&a, &b, 2).unwrap();
    assert_eq!(c.changed, 2);
    assert!((c.variance - 0.2).abs() < 1e-15);
    assert_eq!(c.mapping, vec![1, 0]);
    assert_eq!(c.occupancy_tv, 0.0); // one moved each way
    let d = compare_labelings(&[0, 0, 0, 1], &[0, 0, 1, 1], 2).unwrap();
    assert!((d.variance - 0.25).abs() < 1e-15);
    assert!((d.occupancy_max_change - 0.25).abs() < 1e-15);
}

#[test]
fn kmeans_is_seeded_and_separates_clear_clusters() {
    let rows: Vec<Vec<f32>> =
        (0..30).map(|i| vec![(i % 3) as f32 * 10.0 + (i as f32 * 0.37).sin() * 0.5, (i % 3) as f32]).collect();
    let p = KMeansParams { k: 3, ..KMeansParams::default() };
    let a = kmeans(&rows, &p).unwrap();
    assert_eq!(a, kmeans(&rows, &p).unwrap());
    for i in 0..30 {
        assert_eq!(a.labels[i], a.labels[i % 3], "row {i}");
    }
    let distinct: std::collections::BTreeSet<_> = a.labels.iter().collect();
    assert_eq!(distinct.len(), 3);
}

#[test]
fn regime_variance_of_identical_embeddings_is_zero_and_noise_moves_it() {
    let rows: Vec<Vec<f32>> = (0..40).map(|i| vec![(i as f32 * 0.61).sin(), (i as f32 * 0.23).cos()]).collect();
    let p = KMeansParams { k: 4, ..KMeansParams::default() };
    assert_eq!(regime_variance(&rows, &rows, &p).unwrap().variance, 0.0);
    let scrambled: Vec<Vec<f32>> = rows.iter().rev().cloned().collect();
    let v = regime_variance(&rows, &scrambled, &p).unwrap();
    assert!(v.variance > 0.0 && v.variance <= 1.0);
}

#[test]
fn bad_regime_inputs_are_typed_errors() {
    assert!(matches!(compare_labelings(&[0, 1], &[0], 2), Err(MotifError::LabelingLength { left: 2, right: 1 })));
    assert!(matches!(compare_labelings(&[0, 2], &[0, 1], 2), Err(MotifError::Parameter { name: "label", .. })));
    let ragged = vec![vec![0.0f32, 1.0], vec![0.0]];
    assert!(matches!(
        kmeans(&ragged, &KMeansParams { k: 1, ..Default::default() }),
        Err(MotifError::RaggedEmbeddings { row: 1, got: 1, expected: 2 })
    ));
    let nan = vec![vec![0.0f32], vec![f32::NAN]];
    assert!(matches!(
        kmeans(&nan, &KMeansParams { k: 1, ..Default::default() }),
        Err(MotifError::NonFinite { index: 1, .. })
    ));
    assert!(matches!(
        kmeans(&nan[..1], &KMeansParams { k: 2, ..Default::default() }),
        Err(MotifError::Parameter { name: "k", .. })
    ));
}
