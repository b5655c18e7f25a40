//! Reviewer tool logic (keygen, decrypt, verify). Placeholder.
