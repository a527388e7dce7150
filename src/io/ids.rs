//! Session ids must be unique wherever sessions are gathered: a repeated id is refused, naming
//! both places it came from (the sessions would otherwise overwrite one another in a folder
//! output, or be counted twice).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::IoError;

/// The session ids seen so far, each with where it was read.
///
/// ```
/// use std::path::Path;
/// let mut ids = ironforge::io::UniqueIds::default();
/// ids.insert("s1", Path::new("a/s1"))?;
/// let err = ids.insert("s1", Path::new("a/s1_copy")).unwrap_err();
/// assert!(err.to_string().contains("a/s1_copy") && err.to_string().contains("also in a/s1"));
/// # Ok::<(), ironforge::io::IoError>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct UniqueIds {
    seen: HashMap<String, PathBuf>,
}

impl UniqueIds {
    /// Records session `id`, read from `source`; an id seen before is an
    /// [`IoError::DuplicateSessionSources`] naming both sources.
    ///
    /// ```
    /// let mut ids = ironforge::io::UniqueIds::default();
    /// assert!(ids.insert("s1", std::path::Path::new("a")).is_ok());
    /// assert!(ids.insert("s2", std::path::Path::new("a")).is_ok());
    /// ```
    pub fn insert(&mut self, id: &str, source: &Path) -> Result<(), IoError> {
        if let Some(first) = self.seen.get(id) {
            return Err(IoError::DuplicateSessionSources {
                session_id: id.to_string(),
                first: first.clone(),
                second: source.to_path_buf(),
            });
        }
        self.seen.insert(id.to_string(), source.to_path_buf());
        Ok(())
    }

    /// How many ids were recorded.
    ///
    /// ```
    /// let mut ids = ironforge::io::UniqueIds::default();
    /// ids.insert("s1", std::path::Path::new("a"))?;
    /// assert_eq!(ids.len(), 1);
    /// # Ok::<(), ironforge::io::IoError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no id was recorded.
    ///
    /// ```
    /// assert!(ironforge::io::UniqueIds::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}
