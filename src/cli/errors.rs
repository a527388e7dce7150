//! How the command line prints an error: its chain of causes, outermost first, each once.

/// `outer: cause: inner cause`, like anyhow's `{:#}`, except that a cause whose text the
/// message so far already ends with is skipped. ironforge's own errors never repeat their
/// cause, but some dependencies' errors do (`External: {cause}` whose `source()` is that same
/// cause), and a user should read each cause once.
///
/// ```
/// use anyhow::Context;
/// let inner = std::io::Error::new(std::io::ErrorKind::Other, "disk on fire");
/// let e = Err::<(), _>(inner).context("x.parquet: cannot access").unwrap_err();
/// assert_eq!(ironforge::cli::errors::render(&e), "x.parquet: cannot access: disk on fire");
/// let twice = anyhow::anyhow!("disk on fire").context("External: disk on fire");
/// assert_eq!(ironforge::cli::errors::render(&twice), "External: disk on fire");
/// ```
pub fn render(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
