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
//! # Layout
//!
//! - The shared contract, the SPEC's formats that both binaries read and write: [`day`] (days,
//!   never times), [`envelope`] (the encrypted submission), [`export`] (the export folder),
//!   [`ledger`] (the hash chain), [`reply`] (reply files), [`keys`] (the recipients file),
//!   [`safename`] (file names made safe), [`pad`] (age files padded to a size bucket), and
//!   [`util`] (private files, capped reads, sizes).
//! - [`review`]: the reviewer's offline tool, `witness-review`. It builds without the `server`
//!   feature, so without axum, tokio or sled.
//! - `server`: the server and the operator's commands, `witness-drop`; the one module behind
//!   the `server` feature.
//! - `src/bin/`: the two binaries, which parse arguments, call the library and print.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod day;
pub mod envelope;
pub mod export;
pub mod keys;
pub mod ledger;
pub mod pad;
pub mod reply;
pub mod safename;
pub mod util;

pub mod review;

#[cfg(feature = "server")]
pub mod server;
