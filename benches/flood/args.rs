//! The flood benchmark's command line: `--seconds N`, `--only LIST`, `--help`.
//!
//! Part of the flood benchmark, `cargo bench --bench flood [-- --seconds N]` (see `main.rs`).

use anyhow::{anyhow, bail, Result};

use crate::attacks::Attack;

/// Default length of each attack, in seconds.
const DEFAULT_SECONDS: u64 = 30;
/// Longest attack accepted, in seconds.
const MAX_SECONDS: u64 = 600;

const USAGE: &str = "usage: cargo bench --bench flood -- [--seconds 30] [--only 1,5]
  --seconds N   how long each attack lasts (1 to 600, default 30)
  --only LIST   run only these attacks, by number: 1 preamble flood, 2 header flood,
                3 half-open connections, 4 slot trickle, 5 login burst, 6 concurrent uploads";

/// What the command line asked for.
pub struct Options {
    /// Length of each attack, in seconds.
    pub seconds: u64,
    /// The attacks to run, in order.
    pub attacks: Vec<Attack>,
}

/// Reads the options; `--bench`, which cargo passes, is ignored, anything else unknown refused.
pub fn parse_args() -> Result<Options> {
    let mut opts = Options {
        seconds: DEFAULT_SECONDS,
        attacks: Attack::ALL.to_vec(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = |example: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| anyhow!("{name} needs a value, for example {name} {example}"))
        };
        match name.as_str() {
            "--seconds" => opts.seconds = parse_seconds(&value("30")?)?,
            "--only" => opts.attacks = parse_only(&value("1,5")?)?,
            "--bench" => {}
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => bail!("unknown argument {arg:?} (see --help)"),
        }
    }
    Ok(opts)
}

fn parse_seconds(text: &str) -> Result<u64> {
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=MAX_SECONDS).contains(&n) => Ok(n),
        _ => bail!("--seconds must be a number from 1 to {MAX_SECONDS}, not {text:?}"),
    }
}

fn parse_only(text: &str) -> Result<Vec<Attack>> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let attack = item
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| Attack::ALL.get(i).copied())
            .ok_or_else(|| anyhow!("--only takes attack numbers from 1 to 6, not {item:?}"))?;
        if !out.contains(&attack) {
            out.push(attack);
        }
    }
    if out.is_empty() {
        bail!("--only needs at least one attack number, for example --only 1,5");
    }
    Ok(out)
}
