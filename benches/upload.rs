//! Upload benchmark for the source interface (issue 2, section "Benchmark").
//!
//! It measures what a source's large upload costs the server, end to end, through the real
//! HTTP endpoint: a throw-away reviewer identity and config are written to a temporary
//! directory, a test file of the requested size is generated (xorshift bytes, so nothing
//! compresses), the real `witness-drop serve` binary is started on a free port, and the file is
//! sent as `multipart/form-data` to `POST /en/submit` over a hand-written HTTP/1.1 request
//! that streams the file in 256 KiB writes (the benchmark never holds the file in memory).
//!
//! Figures printed:
//! - upload wall time (first byte sent to receipt page received) and throughput, with the part
//!   spent after the last byte was sent (the server finishing, flushing and committing), and
//!   the server's CPU time during the upload (to tell CPU-bound from disk-bound);
//! - the server's peak resident memory while the upload streams (the maximum of `VmRSS`
//!   sampled every 100 ms until the last byte is sent; target: at most 64 MiB for 1 GiB, and
//!   it must not grow with the file size), and over the whole run (the larger of `VmHWM` and
//!   the samples), which also holds the fixed 64 MiB of the Argon2id derivation that makes a
//!   first submission's codename at commit (issue 4);
//! - in the same run, the time of the reference Go `age -r` (Debian's `age`) encrypting the
//!   same file to disk, and the ratio upload / age (target: at most 2.0).
//!
//! The last line is `targets: met` or `targets: NOT met (...)`. The exit status is 0 either
//! way, and non-zero (with a one-line reason) only when the benchmark itself failed.
//!
//! Run it with:
//!
//! ```text
//! cargo bench --bench upload                      # 1 GiB
//! cargo bench --bench upload -- --size 256MiB     # sizes: 1073741824, 512KiB, 256MiB, 1GiB
//! cargo bench --bench upload -- --keep            # keep the temporary directory
//! ```
//!
//! Linux only: memory is read from `/proc/<pid>/status`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// Default upload size: the issue's target is stated for 1 GiB.
const DEFAULT_SIZE: u64 = GIB;
/// Target from issue 2: peak server memory for a 1 GiB upload.
const TARGET_RSS_BYTES: u64 = 64 * MIB;
/// Target from issue 2: end-to-end time at most 2x `age -r`.
const TARGET_RATIO: f64 = 2.0;
/// Size of each write to the socket while streaming the file.
const WRITE_CHUNK: usize = 256 * 1024;
/// Size of each block written while generating the test file.
const GEN_BLOCK: usize = 1024 * 1024;
/// How long the server may take to print its `listening on` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long we wait for the response once the body is sent (the server flushes to disk).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(600);
/// USER_HZ: the unit of /proc/PID/stat times, 100 on every Linux architecture's user ABI.
const CLOCK_TICKS_PER_SEC: f64 = 100.0;
/// Interval of the VmRSS sampler.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the whole context chain, separated by ": ".
            eprintln!("benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

struct Options {
    size: u64,
    keep: bool,
}

fn parse_args() -> Result<Options> {
    let mut opts = Options {
        size: DEFAULT_SIZE,
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--size" {
            let value = args
                .next()
                .ok_or_else(|| anyhow!("--size needs a value, for example --size 1GiB"))?;
            opts.size = parse_size(&value)?;
        } else if let Some(value) = arg.strip_prefix("--size=") {
            opts.size = parse_size(value)?;
        } else if arg == "--keep" {
            opts.keep = true;
        } else if arg == "--help" || arg == "-h" {
            println!("usage: cargo bench --bench upload -- [--size 1GiB] [--keep]");
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

/// Parses `1073741824`, `256MiB`, `1GiB`, `512KiB`, `1G`, `100MB` (K/M/G alone are binary,
/// KB/MB/GB are decimal).
fn parse_size(text: &str) -> Result<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => KIB,
        "m" | "mib" => MIB,
        "g" | "gib" => GIB,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => bail!("unknown size unit {other:?} in {text:?} (use B, KiB, MiB or GiB)"),
    };
    let bytes = if number.contains('.') {
        let value: f64 = number
            .parse()
            .with_context(|| format!("invalid size {text:?}"))?;
        (value * multiplier as f64).round() as u64
    } else {
        let value: u64 = number
            .parse()
            .with_context(|| format!("invalid size {text:?}"))?;
        value
            .checked_mul(multiplier)
            .ok_or_else(|| anyhow!("size {text:?} is too large"))?
    };
    Ok(bytes)
}

fn run() -> Result<()> {
    let opts = parse_args()?;

    let tmp = tempfile::Builder::new()
        .prefix("witness-drop-bench-")
        .tempdir()
        .context("creating the temporary directory")?;
    let dir = tmp.path().to_path_buf();
    // Keep the directory from the start with --keep, so it also survives a failure.
    let _tmp_guard = if opts.keep {
        let kept = tmp.keep();
        println!("keeping temporary directory {}", kept.display());
        None
    } else {
        Some(tmp)
    };

    // `_tmp_guard` removes the directory when this function returns, unless --keep.
    bench(&opts, &dir)
}

fn bench(opts: &Options, dir: &Path) -> Result<()> {
    // 1. Reviewer identity, recipients file, config.
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let keys_dir = dir.join("keys");
    std::fs::create_dir(&keys_dir).context("creating keys/")?;
    let recipients_path = keys_dir.join("recipients.txt");
    std::fs::write(
        &recipients_path,
        format!("# throw-away reviewer key of the upload benchmark\n{recipient}\n"),
    )
    .context("writing keys/recipients.txt")?;
    let config_path = dir.join("witness-drop.toml");
    write_config(&config_path, dir, &recipients_path, opts.size)?;

    // 2. Test file.
    let file_path = dir.join("bench.bin");
    let started = Instant::now();
    generate_file(&file_path, opts.size)?;
    eprintln!(
        "generated {} test file in {:.2} s",
        human_size(opts.size),
        started.elapsed().as_secs_f64()
    );

    // 3. Server.
    let mut server = start_server(&config_path, dir)?;
    let pid = server.child.id();
    eprintln!("server pid {pid} listening on {}", server.addr);

    // 4 + 5. Upload while sampling memory.
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || sample_rss(pid, &stop))
    };
    let cpu_before = read_cpu_ticks(pid);
    let upload = upload(&server.addr, &file_path, opts.size);
    let cpu_after = read_cpu_ticks(pid);
    let hwm = read_status_kib(pid, "VmHWM:").map(|kib| kib * KIB);
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap_or_default();
    let sampled_max = samples.iter().map(|(_, b)| *b).max();
    let server_exit = server.child.try_wait().ok().flatten();
    server.stop();
    let upload_time = match upload {
        Ok(timing) => timing,
        Err(e) => {
            if let Some(status) = server_exit {
                return Err(e.context(format!("the server exited during the upload ({status})")));
            }
            return Err(e);
        }
    };
    // While the body streams in (before the commit, where a first submission's codename is
    // derived with Argon2id's fixed 64 MiB, issue 4).
    let streaming_peak = samples
        .iter()
        .filter(|(at, _)| *at <= upload_time.body_sent)
        .map(|(_, b)| *b)
        .max()
        .unwrap_or(0);
    let peak_rss = match (hwm, sampled_max) {
        (Some(a), Some(b)) => a.max(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => bail!("could not read the server's memory from /proc/{pid}/status"),
    };

    // 6. Reference: Go age encrypting the same file to disk.
    let age_time = time_reference_age(&recipient, &file_path, &dir.join("ref.age"), opts.keep)?;

    // 7. Figures.
    let size = opts.size as f64;
    let upload_secs = upload_time.total.as_secs_f64();
    println!("size: {}", human_size(opts.size));
    println!(
        "upload wall time: {upload_secs:.2} s  throughput: {:.1} MiB/s",
        size / MIB as f64 / upload_secs
    );
    println!(
        "  after the last byte sent: {:.2} s (server finishing, flushing, committing)",
        upload_time.after_body.as_secs_f64()
    );
    if let (Some(before), Some(after)) = (cpu_before, cpu_after) {
        let cpu_secs = after.saturating_sub(before) as f64 / CLOCK_TICKS_PER_SEC;
        println!(
            "  server CPU during upload: {cpu_secs:.2} s user+sys ({:.0}% of wall time)",
            100.0 * cpu_secs / upload_secs
        );
    }
    println!(
        "server peak RSS while the upload streams: {:.1} MiB (target <= {} MiB)",
        streaming_peak as f64 / MIB as f64,
        TARGET_RSS_BYTES / MIB
    );
    println!(
        "server peak RSS over the whole run: {:.1} MiB (includes the one-off 64 MiB Argon2id derivation of the new source's codename at commit)",
        peak_rss as f64 / MIB as f64
    );
    let mut missed = Vec::new();
    if streaming_peak > TARGET_RSS_BYTES {
        missed.push(format!(
            "peak RSS while streaming {:.1} MiB > {} MiB",
            streaming_peak as f64 / MIB as f64,
            TARGET_RSS_BYTES / MIB
        ));
    }
    match age_time {
        Some(age_time) => {
            let age_secs = age_time.as_secs_f64();
            let ratio = upload_secs / age_secs;
            println!(
                "age -r to disk: {age_secs:.2} s ({:.1} MiB/s)",
                size / MIB as f64 / age_secs
            );
            println!("ratio upload/age: {ratio:.2} (target <= {TARGET_RATIO:.1})");
            if ratio > TARGET_RATIO {
                missed.push(format!("ratio {ratio:.2} > {TARGET_RATIO:.1}"));
            }
        }
        None => {
            println!("SKIPPED: age reference timing: age not installed");
            missed.push("ratio not measured: age not installed".to_string());
        }
    }
    if missed.is_empty() {
        println!("targets: met");
    } else {
        println!("targets: NOT met ({})", missed.join("; "));
    }
    Ok(())
}

/// Writes the server's config with TOML-escaped paths.
fn write_config(path: &Path, dir: &Path, recipients: &Path, size: u64) -> Result<()> {
    let max_upload = size
        .checked_add(16 * MIB)
        .and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| anyhow!("size too large for max_upload_bytes"))?;
    let mut table = toml::Table::new();
    table.insert("listen".into(), "127.0.0.1:0".into());
    table.insert("data_dir".into(), path_str(&dir.join("data"))?.into());
    table.insert("recipients".into(), path_str(recipients)?.into());
    table.insert("max_upload_bytes".into(), max_upload.into());
    table.insert("max_concurrent_uploads".into(), 8i64.into());
    let text = toml::to_string(&table).context("serialising the config")?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn path_str(path: &Path) -> Result<String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("temporary path {} is not UTF-8", path.display()))
}

/// Fills the file with xorshift64* output in 1 MiB blocks: fast and incompressible.
fn generate_file(path: &Path, size: u64) -> Result<()> {
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(|e| anyhow!("reading OS randomness: {e}"))?;
    let mut state = u64::from_le_bytes(seed) | 1;
    let mut file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut block = vec![0u8; GEN_BLOCK];
    let mut remaining = size;
    while remaining > 0 {
        for word in block.chunks_exact_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        let n = remaining.min(GEN_BLOCK as u64) as usize;
        file.write_all(&block[..n])
            .with_context(|| format!("writing {}", path.display()))?;
        remaining -= n as u64;
    }
    file.sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(())
}

/// The running server; killed on drop so no error path leaves it behind.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn start_server(config: &Path, dir: &Path) -> Result<Server> {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_witness-drop"));
    let mut cmd = Command::new(&bin);
    cmd.arg("serve")
        .arg("--config")
        .arg(config)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // The config file is the whole truth for this run: drop any operator overrides.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WITNESS_DROP_") {
            cmd.env_remove(key);
        }
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut server = Server {
        child,
        addr: String::new(),
    };
    let stdout = server
        .child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("server stdout not captured"))?;

    // Read stdout in a thread for the whole run, so the server never blocks on a full pipe.
    let (tx, rx) = mpsc::channel::<String>();
    thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = parse_listen_line(&line) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr);
                }
            }
        }
    });

    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(addr) => {
                server.addr = addr;
                return Ok(server);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = server.child.wait().ok();
                bail!(
                    "the server closed its stdout without printing `listening on http://ADDR` \
                     (exit: {})",
                    status.map_or_else(|| "unknown".to_string(), |s| s.to_string())
                );
            }
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            bail!("the server exited before it was ready ({status}); see its messages above");
        }
        if Instant::now() >= deadline {
            bail!(
                "the server did not print `listening on http://ADDR` within {} s",
                STARTUP_TIMEOUT.as_secs()
            );
        }
    }
}

/// `witness-drop listening on http://127.0.0.1:43125` -> `127.0.0.1:43125`.
fn parse_listen_line(line: &str) -> Option<String> {
    let rest = line.split("listening on http://").nth(1)?;
    let addr = rest
        .split(|c: char| c.is_whitespace())
        .next()?
        .trim_end_matches('/');
    if addr.is_empty() {
        None
    } else {
        Some(addr.to_string())
    }
}

/// The form token of `GET /en/submit` (the server refuses uploads without it).
fn form_token(addr: &str) -> Result<String> {
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream
        .set_read_timeout(Some(RESPONSE_TIMEOUT))
        .context("setting the read timeout")?;
    let req = format!("GET /en/submit HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(req.as_bytes())
        .context("asking for the form")?;
    let (status, body) = read_response(&mut stream).context("reading the form")?;
    let body = String::from_utf8_lossy(&body);
    if status != 200 {
        bail!("GET /en/submit answered {status}");
    }
    let marker = "name=\"token\" value=\"";
    let at = body
        .find(marker)
        .ok_or_else(|| anyhow!("the form has no token field"))?
        + marker.len();
    Ok(body[at..].split('"').next().unwrap_or_default().to_owned())
}

/// Sends the file to `POST /en/submit` and returns the wall time from the first byte sent to
/// the full response received. Fails unless the answer is 200.
/// Wall times of one upload.
struct UploadTiming {
    /// First byte sent to full response received.
    total: Duration,
    /// Last byte sent to full response received.
    after_body: Duration,
    /// When the last byte was sent.
    body_sent: Instant,
}

fn upload(addr: &str, file_path: &Path, size: u64) -> Result<UploadTiming> {
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).map_err(|e| anyhow!("reading OS randomness: {e}"))?;
    let boundary = format!("----witness-drop-bench-{}", hex::encode(random));
    let token = form_token(addr)?;

    let preamble = format!(
        "--{boundary}\r\n\
         Content-Disposition: form-data; name=\"token\"\r\n\
         \r\n\
         {token}\r\n\
         --{boundary}\r\n\
         Content-Disposition: form-data; name=\"message\"\r\n\
         \r\n\
         Upload benchmark: one large attachment.\r\n\
         --{boundary}\r\n\
         Content-Disposition: form-data; name=\"files\"; filename=\"bench.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\
         \r\n"
    );
    let epilogue = format!("\r\n--{boundary}--\r\n");
    let content_length = preamble.len() as u64 + size + epilogue.len() as u64;
    let head = format!(
        "POST /en/submit HTTP/1.1\r\n\
         Host: {addr}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {content_length}\r\n\
         Connection: close\r\n\
         \r\n"
    );

    let mut file =
        File::open(file_path).with_context(|| format!("opening {}", file_path.display()))?;
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true).context("setting TCP_NODELAY")?;
    stream
        .set_read_timeout(Some(RESPONSE_TIMEOUT))
        .context("setting the read timeout")?;
    let mut buf = vec![0u8; WRITE_CHUNK];

    let started = Instant::now();
    let sent = send_body(
        &mut stream,
        &mut file,
        &mut buf,
        &head,
        &preamble,
        &epilogue,
        size,
    );
    if let Err(e) = sent {
        // The server may have answered early (413, 503, 400) and closed: show its answer.
        if let Ok((status, body)) = read_response(&mut stream) {
            bail!(
                "the server answered {status} before the upload finished: {}",
                snippet(&body)
            );
        }
        return Err(e);
    }
    let body_sent = Instant::now();
    let (status, body) = read_response(&mut stream).context("reading the response")?;
    let total = started.elapsed();
    let after_body = body_sent.elapsed();
    if status != 200 {
        bail!(
            "the server answered {status}, expected 200: {}",
            snippet(&body)
        );
    }
    Ok(UploadTiming {
        total,
        after_body,
        body_sent,
    })
}

fn send_body(
    stream: &mut TcpStream,
    file: &mut File,
    buf: &mut [u8],
    head: &str,
    preamble: &str,
    epilogue: &str,
    size: u64,
) -> Result<()> {
    stream
        .write_all(head.as_bytes())
        .context("sending the request head")?;
    stream
        .write_all(preamble.as_bytes())
        .context("sending the multipart preamble")?;
    let mut remaining = size;
    while remaining > 0 {
        let want = remaining.min(buf.len() as u64) as usize;
        let n = file
            .read(&mut buf[..want])
            .context("reading the test file")?;
        if n == 0 {
            bail!("the test file is shorter than expected");
        }
        stream
            .write_all(&buf[..n])
            .with_context(|| format!("sending the file ({} bytes left)", remaining))?;
        remaining -= n as u64;
    }
    stream
        .write_all(epilogue.as_bytes())
        .context("sending the multipart epilogue")?;
    stream.flush().context("flushing the request")?;
    Ok(())
}

/// Reads one HTTP/1.1 response: status code and body (Content-Length, chunked, or until close).
fn read_response(stream: &mut TcpStream) -> Result<(u16, Vec<u8>)> {
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader
        .read_line(&mut status_line)
        .context("reading the status line")?;
    if status_line.is_empty() {
        bail!("the server closed the connection without an answer");
    }
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("malformed status line {:?}", status_line.trim_end()))?;

    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).context("reading headers")?;
        let line = line.trim_end();
        if n == 0 || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
            {
                chunked = true;
            }
        }
    }

    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size_line = String::new();
            reader
                .read_line(&mut size_line)
                .context("reading a chunk size")?;
            let size_hex = size_line.trim().split(';').next().unwrap_or("");
            let size = u64::from_str_radix(size_hex, 16)
                .with_context(|| format!("malformed chunk size {:?}", size_line.trim()))?;
            if size == 0 {
                break;
            }
            (&mut reader)
                .take(size)
                .read_to_end(&mut body)
                .context("reading a chunk")?;
            let mut crlf = String::new();
            reader.read_line(&mut crlf).context("reading a chunk end")?;
        }
    } else if let Some(len) = content_length {
        (&mut reader)
            .take(len)
            .read_to_end(&mut body)
            .context("reading the body")?;
        if (body.len() as u64) < len {
            bail!("the response body ended early");
        }
    } else {
        reader.read_to_end(&mut body).context("reading the body")?;
    }
    Ok((status, body))
}

/// A short, one-line excerpt of a response body for error messages.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(200).collect()
}

/// Reads a `kB` field (`VmRSS:`, `VmHWM:`) of /proc/PID/status.
fn read_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// utime + stime of /proc/PID/stat, in clock ticks.
fn read_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields restart after its closing ')'.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Samples VmRSS every 100 ms until `stop`; returns (when, bytes) pairs.
fn sample_rss(pid: u32, stop: &AtomicBool) -> Vec<(Instant, u64)> {
    let mut samples = Vec::new();
    loop {
        if let Some(kib) = read_status_kib(pid, "VmRSS:") {
            samples.push((Instant::now(), kib * KIB));
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        thread::sleep(SAMPLE_INTERVAL);
    }
    samples
}

/// Times `age -r RECIPIENT -o OUT FILE`; `None` when `age` is not installed.
fn time_reference_age(
    recipient: &str,
    input: &Path,
    output: &Path,
    keep: bool,
) -> Result<Option<Duration>> {
    let started = Instant::now();
    let status = Command::new("age")
        .arg("-r")
        .arg(recipient)
        .arg("-o")
        .arg(output)
        .arg(input)
        .stdin(Stdio::null())
        .status();
    let elapsed = started.elapsed();
    match status {
        Ok(status) if status.success() => {
            // Free the disk space at once (only the time matters), unless asked to keep.
            if !keep {
                let _ = std::fs::remove_file(output);
            }
            Ok(Some(elapsed))
        }
        Ok(status) => bail!("the reference `age -r` failed ({status})"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).context("running the reference `age`"),
    }
}

fn human_size(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes >= GIB {
        format!("{:.2} GiB", b / GIB as f64)
    } else if bytes >= MIB {
        format!("{:.2} MiB", b / MIB as f64)
    } else if bytes >= KIB {
        format!("{:.2} KiB", b / KIB as f64)
    } else {
        format!("{bytes} B")
    }
}
