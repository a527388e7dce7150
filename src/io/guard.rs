//! arrow-rs can panic on a corrupt file instead of returning an error (a mutated page header
//! can make a definition-level decoder index past its buffer). Every Parquet decode of the
//! readers runs through [`guarded`], which turns such a panic into an error naming the file,
//! so that bad input never takes the process down. The decoder's state is not reused after
//! a caught panic: the read fails as a whole.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use super::IoError;

thread_local! {
    /// How many guarded decodes this thread is inside (the panic hook stays quiet then).
    static DECODING: Cell<u32> = const { Cell::new(0) };
}

/// Runs `decode` (arrow-rs calls on the file at `path`); a panic becomes
/// [`IoError::Parquet`] ("the Parquet decoder failed on corrupt data: …").
pub(crate) fn guarded<T>(path: &Path, decode: impl FnOnce() -> Result<T, IoError>) -> Result<T, IoError> {
    DECODING.with(|d| d.set(d.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(decode));
    DECODING.with(|d| d.set(d.get() - 1));
    result.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(IoError::parquet(
            path,
            parquet::errors::ParquetError::General(format!("the Parquet decoder failed on corrupt data: {what}")),
        ))
    })
}

/// Installs (once) a panic hook that stays silent for panics caught by `guarded` and hands
/// every other panic to the hook installed before. The `ironforge` binary calls it first
/// thing, so a corrupt file gives one error line, not a panic message and a backtrace.
///
/// ```
/// ironforge::io::quiet_decoder_panics();
/// ironforge::io::quiet_decoder_panics(); // idempotent
/// ```
pub fn quiet_decoder_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if DECODING.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_becomes_an_error_naming_the_file() {
        let err =
            guarded(Path::new("x.parquet"), || -> Result<(), IoError> { panic!("offset out of bounds") }).unwrap_err();
        let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(text.contains("x.parquet") && text.contains("offset out of bounds"), "{text}");
        assert_eq!(guarded(Path::new("x"), || Ok(3)).unwrap(), 3);
        assert_eq!(DECODING.with(Cell::get), 0);
    }
}
