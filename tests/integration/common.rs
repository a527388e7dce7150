//! Helpers the test files share.

/// An error with its sources, `: `-separated (as the command line prints it).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        text += &format!(": {s}");
        next = s.source();
    }
    text
}
