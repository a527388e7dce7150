//! Progress reports and cancellation of long loops.
//!
//! A long loop (null-model iterations, bootstrap replicates, sessions embedded or converted)
//! takes a `&dyn` [`Progress`]: it announces each [`stage`](Progress::stage), reports steps done
//! with [`advance`](Progress::advance), and stops with an "interrupted" error as soon as it sees
//! [`cancelled`](Progress::cancelled). Reporting never changes what the loop computes. The
//! library's default is [`Silent`]; the command line passes a progress bar that is cancelled by
//! Ctrl-C ([`crate::cli::progress`]).
//!
//! Engine-free: the engines depend on this module, not the other way round.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use ironforge::progress::{Interrupted, Progress};
//!
//! /// Counts steps and cancels after five.
//! struct StopAtFive(AtomicU64);
//! impl Progress for StopAtFive {
//!     fn advance(&self, n: u64) {
//!         self.0.fetch_add(n, Ordering::Relaxed);
//!     }
//!     fn cancelled(&self) -> bool {
//!         self.0.load(Ordering::Relaxed) >= 5
//!     }
//! }
//!
//! fn long_loop(progress: &dyn Progress) -> Result<u64, Interrupted> {
//!     progress.stage("counting", 100);
//!     let mut sum = 0;
//!     for i in 0..100 {
//!         ironforge::progress::check(progress)?;
//!         sum += i;
//!         progress.advance(1);
//!     }
//!     Ok(sum)
//! }
//! assert_eq!(long_loop(&ironforge::progress::Silent), Ok(4950));
//! assert_eq!(long_loop(&StopAtFive(AtomicU64::new(0))), Err(Interrupted));
//! ```

/// Receives progress reports from a long loop and tells it whether to stop.
///
/// Called from worker threads (hence `Sync`); every method has a do-nothing default.
pub trait Progress: Sync {
    /// A stage of `total` steps begins (`total` = 0: not known in advance).
    ///
    /// ```
    /// use ironforge::progress::{Progress, Silent};
    /// Silent.stage("null model", 1_000);
    /// ```
    fn stage(&self, _name: &str, _total: u64) {}

    /// `n` more steps of the current stage are done.
    ///
    /// ```
    /// use ironforge::progress::{Progress, Silent};
    /// Silent.advance(1);
    /// ```
    fn advance(&self, _n: u64) {}

    /// Whether the loop should stop now (e.g. the user pressed Ctrl-C).
    ///
    /// ```
    /// use ironforge::progress::{Progress, Silent};
    /// assert!(!Silent.cancelled());
    /// ```
    fn cancelled(&self) -> bool {
        false
    }
}

/// Reports nothing and never cancels.
///
/// ```
/// use ironforge::progress::{Progress, Silent};
/// assert!(!Silent.cancelled());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}

/// A loop stopped because its [`Progress`] was cancelled.
///
/// ```
/// assert_eq!(ironforge::progress::Interrupted.to_string(), "interrupted");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// `Err(Interrupted)` once `progress` is cancelled.
///
/// ```
/// use ironforge::progress::{check, Silent};
/// assert!(check(&Silent).is_ok());
/// ```
pub fn check(progress: &dyn Progress) -> Result<(), Interrupted> {
    if progress.cancelled() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}
