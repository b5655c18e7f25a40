//! Flood benchmark (issue 10, item 8): what the attacks of issue 10 cost the server, and what
//! a real source gets meanwhile. A measurement, not a test: it prints figures and verdicts and
//! exits 0 whatever they are, non-zero (with one line) only when the benchmark itself failed.
//!
//! It writes a throw-away reviewer key (the age crate) and a config with only `listen`
//! (127.0.0.1, a free port), `data_dir` and `recipients` set, every limit at its default, and
//! starts the release `witness-drop serve`. It makes two sources first (their codenames are on
//! their receipts): one for the login burst, one for the returning source. Then, for each
//! attack in turn (see [`attacks`]; all against 127.0.0.1, each bounded in connections, bytes
//! and time), it runs the attack from threads of this process and, once the attack is in full
//! swing and for `--seconds` (default 30):
//!
//! - a real source submits a 1 MiB file through the normal form (GET the form for its token,
//!   POST the multipart body) again and again, a second apart, each allowed 120 s (the
//!   floods go on until its last one ends);
//! - a returning source logs in with its codename and opens its inbox every 5 s.
//!
//! Per attack it prints one line: the server's peak resident memory (`VmHWM`, reset with
//! `/proc/PID/clear_refs` when the attack starts, and `VmRSS` sampled every 100 ms), with its
//! resident memory at the start and once the attack was in full swing before the sources
//! started (what the attack itself holds); its peak open descriptors (/proc/PID/fd, sampled)
//! and CPU time; the real source's submissions (how many were stored, the longest and median
//! time, every answer, the longest time without a receipt when retrying after refusals); the
//! returning source's logins; and the attack's own figures. Then a summary against the
//! targets of issue 10, each `met` or `NOT met`: peak RSS at most 256 MiB throughout; the real
//! source's 1 MiB submission stored within 120 s under every attack (every one of them); 24
//! logins at once all reaching the inbox; 32 concurrent 32 MiB uploads from new sources all
//! stored within 256 MiB.
//!
//! Run it with:
//!
//! ```text
//! cargo bench --bench flood                    # six attacks, 30 s each: about 3.5 minutes
//! cargo bench --bench flood -- --seconds 10    # shorter attacks
//! cargo bench --bench flood -- --only 4,5      # only the slot trickle and the login burst
//! ```
//!
//! Each attack lasts its `--seconds` once in full swing (getting there takes at most 20 s:
//! opening 1,500 connections takes several), plus the end of the real source's last
//! submission and of the last login burst or upload round, each allowed 120 s. A whole run at
//! the defaults takes about 3.5 minutes (200 s on a 2-core VM); should the server stop
//! answering, each attack ends at most 140 s after its time, so never more than about 18
//! minutes in all.
//! `WITNESS_DROP_BENCH_BIN=/path/to/witness-drop` measures another build of the server.
//! Linux only (`/proc`); it needs about 1,600 descriptors for itself and 7 GiB of free disk
//! in the temporary folder, which it removes at the end.
//!
//! Modules: [`args`] (the command line), [`attacks`] (the six attacks), [`sources`] (the real
//! and the returning source), [`wire`] (multipart requests, waits, labels of answers),
//! [`sample`] (the server's memory, descriptors and CPU), [`report`] (the lines and the
//! summary); [`common`], shared with the upload benchmark: the `witness-drop serve` process,
//! the small HTTP requests, `/proc` and medians. This file sets up and runs the attacks.

mod args;
mod attacks;
#[path = "../common/mod.rs"]
mod common;
mod report;
mod sample;
mod sources;
mod wire;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use witness_drop::server::config::Config;
use witness_drop::util::size::human_size;

use crate::attacks::{Attack, Check, Ctx, Figures, UPLOAD_BYTES};
use crate::common::client::login;
use crate::common::server::{start_server, write_config, Server};
use crate::report::Phase;
use crate::sample::{descriptor_limits, Sampler};
use crate::sources::{real_source, returning_source, submit_once, SUBMIT_LIMIT};
use crate::wire::STORED;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// The real source's file.
const SOURCE_FILE: usize = MIB as usize;
/// How long an attack may take to be in full swing before the sources start anyway.
const READY_WAIT: Duration = Duration::from_secs(20);
/// Pause between attacks, for the server to close what the last one left.
const SETTLE: Duration = Duration::from_secs(2);
/// Deadline of each step of the setup.
const SETUP_LIMIT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the whole context chain, separated by ": ".
            eprintln!("flood benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let opts = args::parse_args()?;
    let begun = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix("witness-drop-flood-")
        .tempdir()
        .context("creating the temporary directory")?;
    let dir = tmp.path();

    // Reviewer key, recipients file, default config.
    let identity = age::x25519::Identity::generate();
    let keys_dir = dir.join("keys");
    std::fs::create_dir(&keys_dir).context("creating keys/")?;
    let recipients = keys_dir.join("recipients.txt");
    std::fs::write(
        &recipients,
        format!(
            "# throw-away reviewer key of the flood benchmark\n{}\n",
            identity.to_public()
        ),
    )
    .context("writing keys/recipients.txt")?;
    let config_path = dir.join("witness-drop.toml");
    write_config(&config_path, dir, &recipients, toml::Table::new())?;

    let bin = match std::env::var_os("WITNESS_DROP_BENCH_BIN") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_BIN_EXE_witness-drop")),
    };
    let mut server = start_server(&bin, &config_path, dir)?;

    let small = random_bytes(SOURCE_FILE)?;
    let big = if opts.attacks.contains(&Attack::Uploads) {
        random_bytes(UPLOAD_BYTES)?
    } else {
        Vec::new()
    };
    let burst_codename = make_source(&server.addr, &small).context("making the burst's source")?;
    let returning_codename =
        make_source(&server.addr, &small).context("making the returning source")?;

    print_header(&server, &config_path, &bin, opts.seconds)?;
    let mut phases = Vec::new();
    for (i, attack) in opts.attacks.iter().enumerate() {
        if i > 0 {
            thread::sleep(SETTLE);
        }
        let sources = Sources {
            small: &small,
            big: &big,
            burst: &burst_codename,
            returning: &returning_codename,
        };
        let phase = run_phase(&mut server, *attack, &sources, opts.seconds);
        println!("{}", report::line(&phase));
        let exited = phase.exited.is_some();
        phases.push(phase);
        if exited {
            server = start_server(&bin, &config_path, dir).context("restarting the server")?;
            eprintln!("server restarted, listening on {}", server.addr);
        }
    }
    server.stop();
    for line in report::summary(&phases) {
        println!("{line}");
    }
    println!("whole run: {:.0} s", begun.elapsed().as_secs_f64());
    Ok(())
}

/// The files and codenames the attacks and sources use.
struct Sources<'a> {
    small: &'a [u8],
    big: &'a [u8],
    burst: &'a str,
    returning: &'a str,
}

/// Submits a first submission as a new source and checks that its codename logs in.
fn make_source(addr: &str, file: &[u8]) -> Result<String> {
    let (label, codename) = submit_once(
        addr,
        file,
        "Flood benchmark: a source made before the attacks.",
        Instant::now() + SETUP_LIMIT,
    );
    let codename = match (label.as_str(), codename) {
        (STORED, Some(c)) => c,
        _ => bail!("the first submission was not stored: {label}"),
    };
    login(addr, &codename, SETUP_LIMIT)?;
    Ok(codename)
}

fn print_header(server: &Server, config_path: &Path, bin: &Path, seconds: u64) -> Result<()> {
    let pid = server.child.id();
    let size = |b: u64| human_size(b).replace('\u{a0}', " ");
    // The server runs without WITNESS_DROP_* variables; with any set here, loading the config
    // in this process would not show what the server uses.
    let overridden =
        std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with("WITNESS_DROP_"));
    let config = if overridden {
        "default config".to_owned()
    } else {
        let c = Config::load(Some(config_path)).map_err(|e| anyhow!("{e}"))?;
        format!(
            "default config: {} upload slots, uploads up to {}, min_free_bytes {}",
            c.max_concurrent_uploads,
            size(c.max_upload_bytes),
            size(c.min_free_bytes)
        )
    };
    let fds = descriptor_limits(pid).map_or_else(
        || "?".to_owned(),
        |(soft, hard)| format!("{soft} (hard {hard})"),
    );
    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "server: {} pid {pid} on {}, {config}; descriptor limit {fds}; {cores} cores",
        bin.display(),
        server.addr
    );
    println!(
        "each attack: {seconds} s once in full swing, while a real source submits 1 MiB again and again (each allowed {} s) and a returning source logs in every 5 s",
        SUBMIT_LIMIT.as_secs()
    );
    Ok(())
}

/// Runs one attack with the two sources beside it, sampling the server.
fn run_phase(server: &mut Server, attack: Attack, src: &Sources, seconds: u64) -> Phase {
    let pid = server.child.id();
    let addr = server.addr.as_str();
    let stop = AtomicBool::new(false);
    let sampler = Sampler::start(pid);
    let started = Instant::now();
    let ctx = Ctx {
        addr,
        stop: &stop,
        codename: src.burst,
        big: src.big,
        seconds: Duration::from_secs(seconds),
    };
    let (figures, source, returning, rss_ready) = thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        let ctx = &ctx;
        let attacker = s.spawn(move || attacks::run(attack, ctx, tx));
        // Disconnected (the attack ended early) is as good as ready.
        let _ = rx.recv_timeout(READY_WAIT);
        let rss_ready = sampler.rss_now();
        let until = Instant::now() + Duration::from_secs(seconds);
        let stop = &stop;
        let returner = s.spawn(move || returning_source(addr, src.returning, stop));
        let source = real_source(addr, src.small, until);
        stop.store(true, Ordering::Relaxed);
        let returning = returner.join().unwrap_or_default();
        let figures = attacker.join().unwrap_or_else(|_| Figures {
            text: "the attack's thread failed".to_owned(),
            check: Check::Nothing,
        });
        (figures, source, returning, rss_ready)
    });
    let took = started.elapsed();
    let peaks = sampler.finish();
    let exited = match server.child.try_wait() {
        Ok(Some(status)) => Some(status.to_string()),
        _ => None,
    };
    Phase {
        attack,
        peaks,
        rss_ready,
        source,
        returning,
        figures,
        took,
        exited,
    }
}

/// `n` random bytes (nothing compresses).
fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut v = vec![0u8; n];
    getrandom::fill(&mut v).map_err(|e| anyhow!("reading OS randomness: {e}"))?;
    Ok(v)
}
