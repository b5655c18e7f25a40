//! Integration tests of the server: each starts the real `witness-drop serve` on a free port in
//! its own temporary folder and talks to it over HTTP, then exports and decrypts with the CLIs.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../util/mod.rs"]
mod util;

mod bounds;
mod connections;
mod disk;
mod durability;
mod faults;
mod limits;
mod privacy;
mod source;
mod submit;
mod testimony;
mod web;
