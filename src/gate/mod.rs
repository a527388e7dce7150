//! Placeholder: this engine is being written on its own branch.
