//! Malformed `gate!` / `scenario!` declarations are compile errors with clear messages; the
//! messages are pinned in `tests/ui/*.stderr` (regenerate with `TRYBUILD=overwrite`, review).

#[test]
fn declaration_errors_are_pinned() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
