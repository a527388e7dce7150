//! The JSON summary printed by `ironforge motifs --json`.

use serde_json::{json, Value};

use super::analysis::MotifAnalysis;

/// `{"sessions": n, "counts_by_size": {"3": …, "4": …, "5": …}, "motifs": [{"id", "size",
/// "count", "lift", "class"}, …]}`: instance counts of connected induced subgraphs per size,
/// and every observed motif, by descending lift (ties by id).
pub fn motifs_json(analysis: &MotifAnalysis) -> Value {
    let mut rows: Vec<_> = analysis.stats.iter().filter(|s| s.count > 0).collect();
    rows.sort_by(|a, b| b.lift.total_cmp(&a.lift).then(a.id.cmp(&b.id)));
    let by_size: serde_json::Map<String, Value> =
        (3..=5).map(|k| (k.to_string(), json!(analysis.total.instances_of_size(k)))).collect();
    json!({
        "sessions": analysis.observed.len(),
        "counts_by_size": by_size,
        "motifs": rows
            .iter()
            .map(|s| json!({"id": s.id.to_string(), "size": s.id.size, "count": s.count, "lift": s.lift, "class": s.class.name()}))
            .collect::<Vec<_>>(),
    })
}
