//! store. Placeholder.
