//! web. Placeholder.
