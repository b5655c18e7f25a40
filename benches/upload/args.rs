//! The benchmark's command line: `--size`, `--runs`, `--keep`, `--help`.

use anyhow::{anyhow, bail, Result};
use witness_drop::util::size::parse_size;

use crate::GIB;

/// Default upload size: the target is stated for 1 GiB.
const DEFAULT_SIZE: u64 = GIB;
/// Default number of runs (uploads as a new source, each followed by `age -r`).
const DEFAULT_RUNS: usize = 3;

/// What the command line asked for.
pub struct Options {
    /// Bytes of the test file.
    pub size: u64,
    /// Uploads as a new source.
    pub runs: usize,
    /// Keep the temporary directory.
    pub keep: bool,
}

/// Reads the options from the command line; ignores what cargo passes (`--bench`).
pub fn parse_args() -> Result<Options> {
    let mut opts = Options {
        size: DEFAULT_SIZE,
        runs: DEFAULT_RUNS,
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--size" {
            let value = args
                .next()
                .ok_or_else(|| anyhow!("--size needs a value, for example --size 1GiB"))?;
            opts.size = parse_size_arg(&value)?;
        } else if let Some(value) = arg.strip_prefix("--size=") {
            opts.size = parse_size_arg(value)?;
        } else if arg == "--runs" {
            let value = args
                .next()
                .ok_or_else(|| anyhow!("--runs needs a value, for example --runs 3"))?;
            opts.runs = parse_runs(&value)?;
        } else if let Some(value) = arg.strip_prefix("--runs=") {
            opts.runs = parse_runs(value)?;
        } else if arg == "--keep" {
            opts.keep = true;
        } else if arg == "--help" || arg == "-h" {
            println!("usage: cargo bench --bench upload -- [--size 1GiB] [--runs 3] [--keep]");
            std::process::exit(0);
        } else {
            // `--bench` and whatever else cargo or libtest-style runners pass: not ours.
        }
    }
    if opts.size == 0 {
        bail!("--size must be greater than zero");
    }
    Ok(opts)
}

fn parse_runs(text: &str) -> Result<usize> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => bail!("--runs must be a number from 1 to 100, not {text:?}"),
    }
}

/// `1073741824`, `256MiB`, `1GiB`, `512KiB`, `1G`, `100MB`: the library's sizes (K/M/G alone
/// are binary, KB/MB/GB decimal; whole numbers only).
fn parse_size_arg(text: &str) -> Result<u64> {
    parse_size(text).ok_or_else(|| {
        anyhow!(
            "invalid size {:?} (a whole number, with B, KiB, MiB or GiB; for example 256MiB)",
            text.trim()
        )
    })
}
