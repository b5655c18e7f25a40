//! Throughput of the ciphertext file writer alone
//! (`witness_drop::server::store::blobfile::BlobWriter`): 1 GiB written in 65,552-byte pieces
//! and fsynced, three times, in a temporary folder of the current folder's filesystem (the
//! package root under cargo).
//!
//! Run it with:
//!
//! ```text
//! cargo bench --bench blob_writer
//! BLOB_DIR=/mnt/other cargo bench --bench blob_writer    # another filesystem
//! BLOB_SIZE=256MiB cargo bench --bench blob_writer       # another size (default 1GiB)
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use witness_drop::server::store::blobfile::BlobWriter;
use witness_drop::util::size::{human_size, parse_size};

/// Bytes per `write_all`: not a multiple of the writer's buffer, as age's chunks are not.
const PIECE: usize = 65_552;
/// Runs, each to a new file.
const RUNS: usize = 3;
/// Default bytes per run.
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

fn run() -> Result<()> {
    let total = match std::env::var("BLOB_SIZE") {
        Ok(text) => parse_size(&text).ok_or_else(|| {
            anyhow!("invalid BLOB_SIZE {text:?} (a whole number, with B, KiB, MiB or GiB)")
        })?,
        Err(_) => DEFAULT_SIZE,
    };
    if total == 0 {
        bail!("BLOB_SIZE must be greater than zero");
    }
    let parent = std::env::var_os("BLOB_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from);
    let dir = tempfile::tempdir_in(&parent)
        .with_context(|| format!("creating a temporary folder in {}", parent.display()))?;
    let piece: Vec<u8> = (0..PIECE).map(|i| (i % 251) as u8).collect();
    let label = human_size(total).replace('\u{a0}', " ");
    for run in 0..RUNS {
        let path = dir.path().join(format!("t-{run}"));
        let started = Instant::now();
        let mut w =
            BlobWriter::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut n = 0u64;
        while n < total {
            w.write_all(&piece).context("writing")?;
            n += PIECE as u64;
        }
        w.finish().context("finishing")?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{label} written and fsynced: {secs:.2} s, {:.0} MiB/s",
            n as f64 / secs / 1048576.0
        );
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    }
    Ok(())
}
