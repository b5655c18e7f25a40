//! witness-drop: a secure drop for witness testimony.
//!
//! Threat model in brief (the whole one is in the README):
//! - The server encrypts everything a source sends with age, to the reviewers' public keys,
//!   while it streams in. It stores only ciphertext and never holds a key that decrypts it.
//! - A seized disk shows ciphertext, random ids, and days: no times, IP addresses, user agents,
//!   file names or codenames, because none are ever written or logged.
//! - A receipt means the submission is flushed to disk; anything not committed is removed.
//! - Reviewers decrypt offline with `witness-review`, which treats every byte of an export as
//!   hostile: it verifies hashes and the ledger, writes only inside its output folder, never
//!   overwrites, and never opens or runs what it decrypts.
//!
//! The reviewer side (everything not behind the `server` feature) builds without axum, tokio
//! or sled.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod day;
pub mod envelope;
pub mod export;
pub mod keys;
pub mod ledger;
#[cfg(feature = "server")]
pub mod operator;
pub mod reply;
pub mod review;
pub mod safename;

#[cfg(feature = "server")]
pub mod admin;
#[cfg(feature = "server")]
pub mod blobfile;
#[cfg(feature = "server")]
pub mod codename;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod hardening;
#[cfg(feature = "server")]
pub mod secrets;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod upload;
#[cfg(feature = "server")]
pub mod web;
