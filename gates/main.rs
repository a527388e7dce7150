//! The gate harness (placeholder).
fn main() {}
