//! The server: everything `witness-drop` needs and `witness-review` must never build.
//!
//! This module is the one place gated by the `server` feature. It receives what sources send,
//! encrypts it while it streams in, stores only ciphertext, and serves the operator's commands.
//!
//! Invariant: no plaintext from a source reaches disk, a log line or an error message here;
//! nothing here holds a key that decrypts a submission; no stored field, log line or file name
//! places a submission finer than its day.
//!
//! - [`config`]: the TOML configuration and its `WITNESS_DROP_*` overrides.
//! - [`secrets`]: the instance secret (form tokens, codename derivation salt).
//! - [`store`]: the sled index, the ledger and the ciphertext files (with [`store::blobfile`]).
//! - `upload`: one submission's encryption pipeline, from first byte to durable commit.
//! - [`codename`]: codenames, designations and what the server derives from a codename.
//! - [`consent_note`]: a source's current consent, sealed to their own key for the inbox.
//! - [`operator`]: `export`, `import-replies`, `purge`, `check`, `demo`, over the admin socket
//!   or directly.
//! - `web`: the source interface (axum).
//! - [`failpoint`]: fault injection for the durability tests (debug builds only).
//! - [`serve`]: `witness-drop serve`, which opens all of the above in order.

pub mod codename;
pub mod config;
pub mod consent_note;
pub mod failpoint;
pub mod operator;
pub mod secrets;
pub mod serve;
pub mod store;
pub(crate) mod upload;
pub(crate) mod web;
