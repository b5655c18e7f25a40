//! Helpers the HTTP benchmarks share (`cargo bench --bench upload`, `cargo bench --bench
//! flood`); not a benchmark itself, each one includes it with `#[path = "../common/mod.rs"]`.
//!
//! Modules: [`server`] (a config for the server and the release `witness-drop serve` process,
//! with the address read from its listening line), [`client`] (a raw HTTP/1.1 client for the
//! small requests: pages, form tokens, logins, responses), [`procfs`] (the server's memory and
//! CPU time from `/proc`, and medians). Linux only.

pub mod client;
pub mod procfs;
pub mod server;
