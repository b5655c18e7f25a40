//! Small helpers both binaries share, each defined once.
//!
//! - [`files`]: how every file and folder is created (owner only, never over anything that
//!   exists) and how untrusted files are read (capped, regular files only).
//! - [`size`]: sizes for people and for configuration.
//! - [`json`]: what may be said about JSON that failed to parse.
//! - [`report`]: how a binary says why it failed, in one line.
//! - [`wipe`]: a byte buffer wiped when dropped and whenever it grows.
//!
//! Invariant: these are plain functions of their arguments and the file system; they log
//! nothing, and their errors never quote the bytes they read.

pub mod files;
pub mod json;
pub mod report;
pub mod size;
pub mod wipe;
