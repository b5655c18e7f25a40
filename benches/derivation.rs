//! The cost of one codename derivation: Argon2id with the server's parameters
//! (`witness_drop::server::codename::derive`), 20 times one after another (median, min, max),
//! then two at once, as the server allows (README, "What the server derives, and keeps").
//!
//! Run it with:
//!
//! ```text
//! cargo bench --bench derivation
//! ```

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use witness_drop::server::codename::{derive, ARGON2_M_KIB, ARGON2_P, ARGON2_T};
use witness_drop::server::secrets::InstanceSecret;

/// Derivations timed one after another.
const RUNS: usize = 20;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    // A fresh instance secret, as a new server makes at its first start; the secret's value
    // does not change the cost.
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let secret =
        InstanceSecret::load_or_create(dir.path(), 0).context("creating the instance secret")?;

    let mut times = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let started = Instant::now();
        derive(&format!("timing{i}"), &secret)?;
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "Argon2id m={ARGON2_M_KIB} KiB t={ARGON2_T} p={ARGON2_P}: median {:.3} s, min {:.3} s, max {:.3} s over {} runs",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        times.len()
    );

    let started = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let pair: Vec<_> = (0..2)
            .map(|i| {
                let secret = &secret;
                s.spawn(move || derive(&format!("pair{i}"), secret))
            })
            .collect();
        for handle in pair {
            handle
                .join()
                .map_err(|_| anyhow!("a derivation thread panicked"))??;
        }
        Ok(())
    })?;
    println!(
        "two derivations at once: {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
