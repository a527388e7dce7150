//! Minimum-cost assignment (Hungarian method, O(n³) potentials form) with a brute-force twin.

/// Column assigned to each row of a square cost matrix so that the total cost is minimal.
///
/// ```
/// use ironforge::motif::hungarian::assign_min_cost;
/// let cost = vec![vec![4.0, 1.0, 3.0], vec![2.0, 0.0, 5.0], vec![3.0, 2.0, 2.0]];
/// assert_eq!(assign_min_cost(&cost), vec![1, 0, 2]);
/// ```
#[allow(clippy::needless_range_loop)] // the textbook 1-based index form, kept for checkability
pub fn assign_min_cost(cost: &[Vec<f64>]) -> Vec<usize> {
    let n = cost.len();
    if n == 0 {
        return Vec::new();
    }
    // 1-based arrays; p[j] = row matched to column j, way[j] = previous column on the path.
    let (mut u, mut v) = (vec![0.0f64; n + 1], vec![0.0f64; n + 1]);
    let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let (mut delta, mut j1) = (f64::INFINITY, 0usize);
            for j in 1..=n {
                if !used[j] {
                    let cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut row_to_col = vec![0usize; n];
    for j in 1..=n {
        row_to_col[p[j] - 1] = j - 1;
    }
    row_to_col
}

/// Total cost of an assignment.
pub fn assignment_cost(cost: &[Vec<f64>], row_to_col: &[usize]) -> f64 {
    row_to_col.iter().enumerate().map(|(i, &j)| cost[i][j]).sum()
}

/// Brute-force twin: the smallest total cost over all n! assignments (small n only).
pub fn min_cost_brute(cost: &[Vec<f64>]) -> f64 {
    super::canon::permutations(cost.len())
        .iter()
        .map(|perm| assignment_cost(cost, perm))
        .fold(f64::INFINITY, f64::min)
        .min(if cost.is_empty() { 0.0 } else { f64::INFINITY })
}
