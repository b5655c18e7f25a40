//! Fault injection for the durability tests: named points in the commit path that can be made
//! to fail or to end the process.
//!
//! Invariant: compiled to nothing in release builds (`debug_assertions` off), so a deployed
//! server has no switch that makes it lose or corrupt anything. In a debug build, a point does
//! something only when `WITNESS_DROP_FAILPOINT` names it: `NAME=error` (this hit returns an
//! I/O error), `NAME=exit` (the process ends at once, as if killed: no destructor, no flush),
//! each optionally `@N` to act on the N-th hit only (the default is every hit). Several points
//! are separated by commas.
//!
//! The points, in the order a submission meets them: `blob.write`, `blob.fsync` (each ciphertext
//! file), `commit.source` (a new source's journal file), `commit.consent` (the pending consent
//! note), `commit.pending` (the pending ledger entry), `commit.transaction` (sled),
//! `commit.flush` (sled), `commit.finalize` (the entry made final: the commit point),
//! `commit.done` (after it, before the receipt).

use std::io;

/// The environment variable that arms failpoints in debug builds.
pub const ENV: &str = "WITNESS_DROP_FAILPOINT";

/// The process's exit code at an `exit` failpoint.
pub const EXIT_CODE: i32 = 86;

/// Passes point `name`: `Ok` unless a debug build was told to fail here.
#[inline]
pub fn hit(name: &str) -> io::Result<()> {
    #[cfg(debug_assertions)]
    armed::hit(name)?;
    let _ = name;
    Ok(())
}

#[cfg(debug_assertions)]
mod armed {
    use std::collections::HashMap;
    use std::io;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    #[derive(Clone, Copy)]
    enum Action {
        Error,
        Exit,
    }

    struct Point {
        action: Action,
        only: Option<u64>,
        hits: AtomicU64,
    }

    fn points() -> &'static HashMap<String, Point> {
        static POINTS: OnceLock<HashMap<String, Point>> = OnceLock::new();
        POINTS.get_or_init(|| {
            let spec = std::env::var(super::ENV).unwrap_or_default();
            let mut out = HashMap::new();
            for item in spec.split(',').filter(|s| !s.is_empty()) {
                let Some((name, rest)) = item.split_once('=') else {
                    continue;
                };
                let (action, only) = match rest.split_once('@') {
                    Some((a, n)) => (a, n.parse().ok()),
                    None => (rest, None),
                };
                let action = match action {
                    "error" => Action::Error,
                    "exit" => Action::Exit,
                    _ => continue,
                };
                out.insert(
                    name.to_owned(),
                    Point {
                        action,
                        only,
                        hits: AtomicU64::new(0),
                    },
                );
            }
            out
        })
    }

    pub fn hit(name: &str) -> io::Result<()> {
        let Some(point) = points().get(name) else {
            return Ok(());
        };
        let n = point.hits.fetch_add(1, Ordering::SeqCst) + 1;
        if point.only.is_some_and(|only| only != n) {
            return Ok(());
        }
        match point.action {
            Action::Error => Err(io::Error::other(format!("failpoint {name}"))),
            Action::Exit => std::process::exit(super::EXIT_CODE),
        }
    }
}
