//! Test helpers: a real server on a free port in a temporary folder, the CLIs, raw HTTP.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use age::secrecy::ExposeSecret;

pub const DROP: &str = env!("CARGO_BIN_EXE_witness-drop");
pub const REVIEW: &str = env!("CARGO_BIN_EXE_witness-review");

/// True when `tool` is on PATH. When it is missing, prints a SKIPPED line and returns false,
/// or panics when WITNESS_DROP_REQUIRE_TOOLS=1 (CI).
pub fn require_tool(tool: &str, test: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if found {
        return true;
    }
    if std::env::var("WITNESS_DROP_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{test}: required tool `{tool}` is not installed (WITNESS_DROP_REQUIRE_TOOLS=1)");
    }
    eprintln!("SKIPPED: {test}: `{tool}` is not installed");
    false
}

/// Random text unique to a test, to look for later.
pub fn canary(tag: &str) -> String {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).unwrap();
    format!("CANARY-{tag}-{}", hex::encode(b))
}

/// Bytes that do not compress and differ per call.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    getrandom::fill(&mut v).unwrap();
    v
}

/// Options for [`Server::start`].
pub struct Opts {
    pub max_upload_bytes: u64,
    pub max_concurrent_uploads: usize,
    pub onion_address: Option<String>,
    /// `min_free_bytes`: small by default, so the tests run on a nearly full disk too.
    pub min_free_bytes: u64,
    /// Put the data folder on a tmpfs of this many MiB (see [`Server::start_on_tmpfs`]).
    pub tmpfs_mib: Option<u64>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            max_upload_bytes: 64 << 20,
            max_concurrent_uploads: 8,
            onion_address: None,
            min_free_bytes: 4 << 20,
            tmpfs_mib: None,
        }
    }
}

/// A running `witness-drop serve` in its own temporary folder.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub child: Option<Child>,
    pub addr: SocketAddr,
    pub identity: age::x25519::Identity,
    /// The tmpfs mounted on the data folder, unmounted on drop.
    pub tmpfs: Option<PathBuf>,
}

impl Server {
    pub fn start(opts: Opts) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let identity = age::x25519::Identity::generate();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        std::fs::write(
            dir.path().join("keys/recipients.txt"),
            format!("# test reviewer\n{}\n", identity.to_public()),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("reviewer.key"),
            format!("{}\n", identity.to_string().expose_secret()),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("witness-drop.toml"),
            format!(
                "listen = \"127.0.0.1:0\"\ndata_dir = \"data\"\nrecipients = \"keys/recipients.txt\"\nmax_upload_bytes = {}\nmax_concurrent_uploads = {}\nmin_free_bytes = {}\n",
                opts.max_upload_bytes, opts.max_concurrent_uploads, opts.min_free_bytes
            ) + &opts
                .onion_address
                .map(|o| format!("onion_address = \"{o}\"\n"))
                .unwrap_or_default(),
        )
        .unwrap();
        let mounted = opts.tmpfs_mib.map(|mib| {
            let data = dir.path().join("data");
            std::fs::create_dir_all(&data).unwrap();
            let ok = Command::new("mount")
                .args([
                    "-t",
                    "tmpfs",
                    "-o",
                    &format!("size={mib}m,mode=0700"),
                    "tmpfs",
                ])
                .arg(&data)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            ok.then_some(data)
        });
        let mut s = Server {
            dir,
            child: None,
            addr: "127.0.0.1:0".parse().unwrap(),
            identity,
            tmpfs: mounted.clone().flatten(),
        };
        if mounted.is_some_and(|m| m.is_none()) {
            return s;
        }
        s.spawn();
        s
    }

    /// A server whose data folder is a small tmpfs of `mib` MiB, or `None` (with a SKIPPED
    /// line, or a panic when WITNESS_DROP_REQUIRE_TOOLS=1) where mounting is refused.
    pub fn start_on_tmpfs(mut opts: Opts, mib: u64, test: &str) -> Option<Server> {
        opts.tmpfs_mib = Some(mib);
        let s = Server::start(opts);
        if s.tmpfs.is_some() {
            return Some(s);
        }
        if std::env::var("WITNESS_DROP_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("{test}: cannot mount a tmpfs (run as root; WITNESS_DROP_REQUIRE_TOOLS=1)");
        }
        eprintln!("SKIPPED: {test}: cannot mount a tmpfs here (needs root)");
        None
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn config(&self) -> PathBuf {
        self.path().join("witness-drop.toml")
    }
    pub fn data(&self) -> PathBuf {
        self.path().join("data")
    }
    pub fn log(&self) -> PathBuf {
        self.path().join("server.log")
    }
    pub fn key(&self) -> PathBuf {
        self.path().join("reviewer.key")
    }
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Starts (or restarts) the server process; waits for its "listening" line.
    pub fn spawn(&mut self) {
        self.spawn_serve(None, &[]);
    }

    /// Like [`Server::spawn`], with failpoints armed (`WITNESS_DROP_FAILPOINT`, debug builds).
    pub fn spawn_with_failpoint(&mut self, spec: &str) {
        self.spawn_serve(None, &[("WITNESS_DROP_FAILPOINT", spec)]);
    }

    /// Starts `serve` (under `ulimit -n LIMIT` when given) and waits for its listening line.
    fn spawn_serve(&mut self, open_file_limit: Option<u64>, env: &[(&str, &str)]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .unwrap();
        let mut cmd = match open_file_limit {
            None => Command::new(DROP),
            Some(limit) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(DROP);
                c
            }
        };
        let mut child = cmd
            .args(["serve", "--config"])
            .arg(self.config())
            .env("RUST_LOG", "debug")
            .env("TMPDIR", self.path().join("tmp"))
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = lines
            .next()
            .expect("server printed nothing")
            .expect("read server stdout");
        let addr = witness_drop::server::serve::parse_listening_line(&line)
            .unwrap_or_else(|| panic!("unexpected first line: {line}"));
        self.addr = addr.parse().unwrap();
        self.child = Some(child);
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn drop_cmd(&self, args: &[&str]) -> Output {
        Command::new(DROP)
            .args(args)
            .arg("--config")
            .arg(self.config())
            .output()
            .unwrap()
    }

    /// `witness-drop export --out DIR`; returns DIR.
    pub fn export(&self, name: &str) -> PathBuf {
        let out = self.path().join(name);
        let o = Command::new(DROP)
            .args(["export", "--config"])
            .arg(self.config())
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "export failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    }

    /// `witness-review decrypt`; returns OUT_DIR.
    pub fn decrypt(&self, export: &Path, name: &str) -> PathBuf {
        let out = self.path().join(name);
        let o = Command::new(REVIEW)
            .args(["decrypt", "--identity"])
            .arg(self.key())
            .arg("--in")
            .arg(export)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "decrypt failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        out
    }

    pub fn health(&self) -> bool {
        client()
            .get(self.url("/health"))
            .send()
            .map(|r| r.status() == 200)
            .unwrap_or(false)
    }

    /// Number of submission folders under data/blobs (committed or not).
    pub fn blob_folders(&self) -> usize {
        std::fs::read_dir(self.data().join("blobs"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if let Some(m) = self.tmpfs.take() {
            let _ = Command::new("umount").arg("-l").arg(&m).status();
        }
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A multipart body built by hand, so tests control every byte of file names.
pub struct Multipart {
    pub boundary: String,
    pub body: Vec<u8>,
}

impl Multipart {
    pub fn new() -> Self {
        Multipart {
            boundary: "----witnessdroptestboundary7MA4YWxkTrZu0gW".into(),
            body: Vec::new(),
        }
    }
    /// A body for the form at `path`, starting with the form's token (read from the page).
    pub fn for_form(server: &Server, path: &str) -> Self {
        Multipart::new().text("token", form_token(server, path).as_bytes())
    }
    pub fn text(mut self, name: &str, value: &[u8]) -> Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self.body.extend_from_slice(value);
        self.body.extend_from_slice(b"\r\n");
        self
    }
    /// `filename` is put between quotes with `"` and `\` escaped.
    pub fn file(mut self, filename: &str, content: &[u8]) -> Self {
        let escaped = filename.replace('\\', "\\\\").replace('"', "\\\"");
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{escaped}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self.body.extend_from_slice(content);
        self.body.extend_from_slice(b"\r\n");
        self
    }
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (
            format!("multipart/form-data; boundary={}", self.boundary),
            self.body,
        )
    }
}

/// The token of the form on the page at `path` (GET).
pub fn form_token(server: &Server, path: &str) -> String {
    let page = client()
        .get(server.url(path))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let at = page
        .find("name=\"token\" value=\"")
        .expect("form has a token")
        + 20;
    page[at..].split('"').next().unwrap().to_owned()
}

/// POSTs a hand-built multipart body; returns (status, body).
/// Percent-encodes `s` for a form body (everything but the unreserved characters).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Logs in on the `lang` pages; returns the session cookie (name=value) or None, and the
/// page on failure.
pub fn login_in(server: &Server, lang: &str, codename: &str) -> (Option<String>, String) {
    let path = format!("/{lang}/login");
    let token = form_token(server, &path);
    let r = client()
        .post(server.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "token={}&codename={}",
            urlencode(&token),
            urlencode(codename)
        ))
        .send()
        .unwrap();
    if r.status() == 303 {
        let cookie = r
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict")
                && cookie.contains("Path=/"),
            "{cookie}"
        );
        assert_eq!(
            r.headers().get("location").unwrap().to_str().unwrap(),
            format!("/{lang}/inbox")
        );
        return (
            Some(cookie.split(';').next().unwrap().to_owned()),
            String::new(),
        );
    }
    let status = r.status();
    let body = r.text().unwrap();
    assert_eq!(status, 200, "{body}");
    (None, body)
}

/// The id of the first reply shown on an inbox page.
pub fn first_reply_id(inbox: &str) -> String {
    inbox
        .split("id=\"reply-")
        .nth(1)
        .expect("the inbox shows a reply")
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// Posts a follow-up from the inbox of the session with `cookie`; returns status and page.
pub fn post_followup(server: &Server, lang: &str, cookie: &str, mp: Multipart) -> (u16, String) {
    let (ct, body) = mp.finish();
    let r = client()
        .post(server.url(&format!("/{lang}/inbox/submit")))
        .header("cookie", cookie)
        .header("content-type", ct)
        .body(body)
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

pub fn post_multipart(server: &Server, path: &str, mp: Multipart) -> (u16, String) {
    let (ct, body) = mp.finish();
    let r = client()
        .post(server.url(path))
        .header("content-type", ct)
        .body(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.text().unwrap())
}

/// Opens a raw connection and sends the request head and the first part of a multipart body
/// that announces `total` bytes. Returns the stream (still open).
pub fn start_raw_upload(server: &Server, total: usize, first: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(server.addr).unwrap();
    let head = format!(
        "POST /en/submit HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; boundary=----witnessdroptestboundary7MA4YWxkTrZu0gW\r\nContent-Length: {total}\r\n\r\n",
        server.addr
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(first).unwrap();
    s.flush().unwrap();
    s
}

/// Reads a raw HTTP response's status code.
pub fn read_status(s: &mut TcpStream) -> u16 {
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Waits until `cond` holds, at most `secs` seconds.
pub fn wait_until(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// Every file under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                if let Ok(bytes) = std::fs::read(&p) {
                    if bytes.windows(needle.len()).any(|w| w == needle) {
                        hits.push(p);
                    }
                }
            }
        }
    }
    hits
}

/// All paths under `dir`, relative, sorted.
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The single submission folder of a decrypted output.
pub fn only_submission(out: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "expected one submission in {}",
        out.display()
    );
    dirs[0].clone()
}

impl Server {
    /// Like [`Server::spawn`], with the server's soft open-file limit (`ulimit -n`) set to
    /// `limit`: the real limit the connection cap is derived from.
    pub fn spawn_with_open_file_limit(&mut self, limit: u64) {
        self.spawn_serve(Some(limit), &[]);
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    /// Descriptors the server process has open now.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// True while the server process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Sends SIGTERM (`kill -TERM`), as systemd does to stop the service.
    pub fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM failed");
    }

    /// Waits at most `secs` seconds for the process to exit; its status if it did. The server
    /// counts as stopped afterwards either way (a process still running is killed).
    pub fn wait_exit(&mut self, secs: f64) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + Duration::from_secs_f64(secs);
        let mut child = self.child.take()?;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= end {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A raw connection that has sent `bytes` (for example half a request head) and stays open.
pub fn send_raw(server: &Server, bytes: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.write_all(bytes).unwrap();
    s.flush().unwrap();
    s
}

/// True if the peer closed `s` (end of stream or reset) within `within`; any bytes it sent
/// before are read and dropped. False if it was still open then.
pub fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let end = Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        // At least one read, even past the end: a connection already closed says so at once.
        let left = end
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Reads one HTTP/1.1 response (head and a `Content-Length` body) from `s`, waiting at most
/// `within`; the head and body as text, or `None` if it did not come in time.
pub fn read_response(s: &mut TcpStream, within: Duration) -> Option<String> {
    let end = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(head_end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..head_end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if got.len() >= head_end + 4 + length {
                return Some(String::from_utf8_lossy(&got[..head_end + 4 + length]).into_owned());
            }
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// A small submission through the form succeeds: the server keeps serving.
pub fn small_submission_works(server: &Server) {
    let (status, body) = post_multipart(
        server,
        "/en/submit",
        Multipart::for_form(server, "/en/submit").text("message", b"still here"),
    );
    assert_eq!(status, 200, "{body}");
}
