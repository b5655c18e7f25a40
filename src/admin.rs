//! admin. Placeholder.
