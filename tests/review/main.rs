//! Integration tests of `witness-review`, the offline reviewer tool, run as a reviewer would
//! run it: on synthetic exports and decrypted submissions, each test in its own temporary
//! folder, checking the exit status, the one-line reason of a refusal, the files written, their
//! bytes and modes, and that nothing escapes the output folder or is overwritten.
//!
//! The exports are built without the server, from the crate's own building blocks, so these
//! tests run with `--no-default-features` and use only library modules that are not
//! server-gated (envelope, export, ledger, reply, review, keys).
//!
//! Where new tests go: a test of one subcommand goes in the module named after it; a test that
//! runs several (keygen, then decrypt) goes in the module of the subcommand it is about. Run
//! the binary with `util::review()` (a `TestCommand`: `.ok()`, `.fails_with(...)`), and put a
//! helper in `util.rs` or `fixtures.rs` only once a second module needs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod case; // the case folder over several exports: ledger memory, whole folders, custody
mod clean; // working copies: the cleaners through the clean-worker process, with exiftool
mod decrypt; // witness-review decrypt
mod fixtures; // reviewer keys and synthetic exports to start from
mod keygen; // witness-review keygen
mod reply; // witness-review reply
mod util; // TestCommand, output and folder helpers, the reference age check
mod verify; // witness-review verify
mod view; // the reading view over a case folder (review::view)
