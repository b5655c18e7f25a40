//! The experiment behind keeping ciphertext out of sled (`src/server/store/mod.rs`, and the
//! README's "Storage design"): 1 GiB stored as sled values of `CHUNK` bytes (default 64 KiB),
//! flushed every `FLUSH` inserts (default 0: only at the end), with sled's cache set as the
//! store sets it; prints the speed, the disk use (`du -sh`) and the process's peak memory
//! (`VmHWM`). The database is a temporary folder in the current folder (the package root
//! under cargo).
//!
//! Run it with:
//!
//! ```text
//! cargo bench --bench sled_bulk
//! CHUNK=16384 FLUSH=64 cargo bench --bench sled_bulk
//! SLED_SIZE=64MiB cargo bench --bench sled_bulk           # another size (default 1GiB)
//! ```
//!
//! Linux only: the peak memory is read from `/proc/self/status`.

use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use witness_drop::server::store::CACHE_CAPACITY;
use witness_drop::util::size::{human_size, parse_size};

/// Default bytes stored.
const DEFAULT_SIZE: u64 = 1 << 30;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A number from the environment, or `default`.
fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run() -> Result<()> {
    let chunk = env_number("CHUNK", 65536);
    let flush_every = env_number("FLUSH", 0);
    let size = match std::env::var("SLED_SIZE") {
        Ok(text) => parse_size(&text).ok_or_else(|| {
            anyhow!("invalid SLED_SIZE {text:?} (a whole number, with B, KiB, MiB or GiB)")
        })?,
        Err(_) => DEFAULT_SIZE,
    };
    if chunk == 0 {
        bail!("CHUNK must be greater than zero");
    }
    let dir = tempfile::tempdir_in(".").context("creating a temporary folder in .")?;
    let db = sled::Config::new()
        .path(dir.path())
        .cache_capacity(CACHE_CAPACITY)
        .open()
        .context("opening sled")?;
    let tree = db.open_tree("chunks").context("opening the tree")?;
    let data = vec![0x5au8; chunk];
    let n = usize::try_from(size).context("SLED_SIZE too large")? / chunk;
    let t = Instant::now();
    for i in 0..n {
        tree.insert((i as u64).to_be_bytes(), data.as_slice())
            .context("inserting")?;
        if flush_every > 0 && i % flush_every == flush_every - 1 {
            db.flush().context("flushing")?;
        }
    }
    db.flush().context("flushing")?;
    let el = t.elapsed().as_secs_f64();
    println!(
        "chunk {chunk} flush {flush_every}: {} in {el:.2}s = {:.0} MiB/s",
        human_size(size).replace('\u{a0}', " "),
        size as f64 / 1048576.0 / el
    );
    let du = Command::new("du")
        .arg("-sh")
        .arg(dir.path())
        .output()
        .context("running du")?;
    println!("disk: {}", String::from_utf8_lossy(&du.stdout));
    let st = std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    println!(
        "{}",
        st.lines()
            .filter(|l| l.starts_with("VmHWM"))
            .collect::<String>()
    );
    Ok(())
}
