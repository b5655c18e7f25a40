//! config. Placeholder.
