//! The server under test: its config file, the release `witness-drop serve` process, and the
//! address read from its `listening on http://ADDR` line.
//!
//! Used by `cargo bench --bench upload` and `cargo bench --bench flood` (see their `main.rs`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use witness_drop::server::serve::parse_listening_line;

/// How long the server may take to print its `listening on` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Writes the server's config with TOML-escaped paths: `listen` on a free port of 127.0.0.1,
/// `data_dir` (`DIR/data`), `recipients`, and the `extra` keys; every other key keeps its
/// default.
pub fn write_config(path: &Path, dir: &Path, recipients: &Path, extra: toml::Table) -> Result<()> {
    let mut table = toml::Table::new();
    table.insert("listen".into(), "127.0.0.1:0".into());
    table.insert("data_dir".into(), path_str(&dir.join("data"))?.into());
    table.insert("recipients".into(), path_str(recipients)?.into());
    table.extend(extra);
    let text = toml::to_string(&table).context("serialising the config")?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn path_str(path: &Path) -> Result<String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("temporary path {} is not UTF-8", path.display()))
}

/// The running server; killed on drop so no error path leaves it behind.
pub struct Server {
    /// The `witness-drop serve` process.
    pub child: Child,
    /// `127.0.0.1:PORT`, from its listening line.
    pub addr: String,
}

impl Server {
    /// Kills the server and waits for it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts `BIN serve --config CONFIG` in `dir` and waits for its listening line.
pub fn start_server(bin: &Path, config: &Path, dir: &Path) -> Result<Server> {
    let mut cmd = Command::new(bin);
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
            if let Some(addr) = parse_listening_line(&line) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr.to_owned());
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
