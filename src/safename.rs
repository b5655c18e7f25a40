//! Safe file names. Placeholder.
