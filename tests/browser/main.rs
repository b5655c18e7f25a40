//! Real-browser test (issue 3): Debian's headless Chromium, with JavaScript disabled, driven by
//! `chromedriver` over the W3C WebDriver protocol (plain HTTP + JSON, no WebDriver crate).
//!
//! For each language it opens the landing page, follows the link to the form, types a message,
//! attaches a file, submits and reaches the receipt page; it also opens an error page. Every
//! page is screenshotted into `target/tmp/browser-screenshots/` (kept after the test, for humans
//! to look at). The three submissions are then exported and decrypted with the CLIs and must
//! match what was typed and attached, byte for byte.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../util/mod.rs"]
mod util;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use util::{canary, random_bytes, require_tool, Opts, Server};

mod reading_view; // the reviewer's reading view, opened from disk with JavaScript on

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Decodes standard base64 (with or without padding; whitespace ignored).
fn base64_decode(text: &str) -> Vec<u8> {
    fn value(c: u8) -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", char::from(c)),
        }
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        acc = (acc << 6) | value(c);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn base64_decoder_works() {
    assert_eq!(base64_decode(""), b"");
    assert_eq!(base64_decode("Zg=="), b"f");
    assert_eq!(base64_decode("Zm8="), b"fo");
    assert_eq!(base64_decode("Zm9v"), b"foo");
    assert_eq!(base64_decode("Zm9vYmFy"), b"foobar");
    assert_eq!(base64_decode("+/+/\n"), [0xfb, 0xff, 0xbf]);
}

/// Percent-encodes everything but unreserved characters (for a `data:` URL).
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How the browser of a session is set up.
#[derive(Clone, Copy)]
struct Browser {
    /// JavaScript on (the reading-view test proves nothing runs even so).
    javascript: bool,
    /// A 412 px phone screen; otherwise a 1280 px wide window.
    phone: bool,
}

/// A `chromedriver` child process and (once created) one browser session. Dropping it (also
/// while unwinding from a failed assertion) ends the session, which closes Chromium, then kills
/// the whole process group that chromedriver leads, so no browser is left behind.
struct Driver {
    child: Child,
    http: reqwest::blocking::Client,
    base: String,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

impl Driver {
    /// A phone's browser with JavaScript off, as a source at Tor Browser's "Safest" has it.
    fn start(log: &Path) -> Driver {
        Driver::launch(
            log,
            Browser {
                javascript: false,
                phone: true,
            },
        )
    }

    fn launch(log: &Path, browser: Browser) -> Driver {
        let port = free_port();
        let log_file = std::fs::File::create(log).unwrap();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().unwrap())
                .stderr(log_file)
                // Its own process group, so Drop can end chromedriver and every browser
                // process it started with one signal to that group.
                .process_group(0)
                .spawn()
                .expect("start chromedriver")
        };
        let mut d = Driver {
            child,
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base: format!("http://127.0.0.1:{port}"),
            session: None,
            _profile: tempfile::tempdir().unwrap(),
        };
        let ready = util::wait_until(20, || {
            d.http
                .get(format!("{}/status", d.base))
                .send()
                .ok()
                .and_then(|r| r.json_value().ok())
                .and_then(|v| v["value"]["ready"].as_bool())
                .unwrap_or(false)
        });
        assert!(ready, "chromedriver did not become ready on port {port}");
        d.new_session(browser);
        d
    }

    fn new_session(&mut self, browser: Browser) {
        let profile = self._profile.path().display().to_string();
        let window = if browser.phone {
            "--window-size=412,915"
        } else {
            "--window-size=1280,900"
        };
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                window,
                format!("--user-data-dir={profile}"),
            ],
        });
        if browser.phone {
            // A phone's viewport (and its handling of `<meta name=viewport>`).
            // `--window-size` alone cannot give it: a headless window is at least
            // 500 px wide. Without touch emulation: with it, chromedriver 156's
            // element click never returns.
            options["mobileEmulation"] = json!({
                "deviceMetrics": {
                    "width": 412,
                    "height": 915,
                    "pixelRatio": 1.0,
                    "mobile": true,
                    "touch": false
                }
            });
        }
        if !browser.javascript {
            // JavaScript off for every site, as Tor Browser at "Safest" does.
            // (Checked below with a page whose script would change its title.)
            options["prefs"] = json!({
                "profile.managed_default_content_settings.javascript": 2
            });
        }
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": options
                }
            }
        });
        let v = self.call("POST", "/session", Some(caps));
        let id = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {v}"))
            .to_owned();
        self.session = Some(id);
    }

    /// One WebDriver command; returns its `value`, panics with the driver's error otherwise.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{}", self.base, path);
        let req = match method {
            "GET" => self.http.get(&url),
            "POST" => self.http.post(&url),
            "DELETE" => self.http.delete(&url),
            _ => unreachable!(),
        };
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json; charset=utf-8")
                .body(b.to_string()),
            None => req,
        };
        let resp = req
            .send()
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status();
        let v = resp
            .json_value()
            .unwrap_or_else(|e| panic!("{method} {path}: bad JSON: {e}"));
        assert!(
            status.is_success(),
            "{method} {path}: HTTP {status}: {}",
            v["value"]
        );
        v["value"].clone()
    }

    fn sid(&self) -> String {
        format!("/session/{}", self.session.as_deref().unwrap())
    }

    fn goto(&self, url: &str) {
        self.call(
            "POST",
            &format!("{}/url", self.sid()),
            Some(json!({ "url": url })),
        );
    }

    fn title(&self) -> String {
        self.call("GET", &format!("{}/title", self.sid()), None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn current_url(&self) -> String {
        self.call("GET", &format!("{}/url", self.sid()), None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Finds an element by CSS selector; None when there is none.
    fn try_find(&self, css: &str) -> Option<String> {
        let url = format!("{}{}/element", self.base, self.sid());
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json; charset=utf-8")
            .body(json!({ "using": "css selector", "value": css }).to_string())
            .send()
            .unwrap();
        let ok = resp.status().is_success();
        let v = resp.json_value().unwrap();
        if !ok {
            assert_eq!(
                v["value"]["error"], "no such element",
                "find {css}: {}",
                v["value"]
            );
            return None;
        }
        Some(v["value"][ELEMENT_KEY].as_str().unwrap().to_owned())
    }

    fn find(&self, css: &str) -> String {
        self.try_find(css).unwrap_or_else(|| {
            panic!(
                "no element {css} on {} ({})",
                self.current_url(),
                self.title()
            )
        })
    }

    /// Polls for an element for at most `secs` seconds.
    fn wait_for(&self, css: &str, secs: u64) -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(e) = self.try_find(css) {
                return e;
            }
            assert!(
                Instant::now() < end,
                "{css} did not appear within {secs} s on {} ({})",
                self.current_url(),
                self.title()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn click(&self, el: &str) {
        self.call(
            "POST",
            &format!("{}/element/{el}/click", self.sid()),
            Some(json!({})),
        );
    }

    fn send_keys(&self, el: &str, text: &str) {
        self.call(
            "POST",
            &format!("{}/element/{el}/value", self.sid()),
            Some(json!({ "text": text })),
        );
    }

    fn attribute(&self, el: &str, name: &str) -> Option<String> {
        self.call(
            "GET",
            &format!("{}/element/{el}/attribute/{name}", self.sid()),
            None,
        )
        .as_str()
        .map(str::to_owned)
    }

    fn text(&self, el: &str) -> String {
        self.call("GET", &format!("{}/element/{el}/text", self.sid()), None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn displayed(&self, el: &str) -> bool {
        self.call(
            "GET",
            &format!("{}/element/{el}/displayed", self.sid()),
            None,
        )
        .as_bool()
        .unwrap()
    }

    /// Saves a screenshot of the viewport (a 412×915 phone screen) as `NAME.png`, and one of
    /// the whole page on that phone as `NAME-full.png`.
    fn screenshot(&self, dir: &Path, name: &str) {
        let save = |b64: Value, file: PathBuf| -> (u32, u32) {
            let png = base64_decode(b64.as_str().unwrap());
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
            let be = |i: usize| u32::from_be_bytes(png[i..i + 4].try_into().unwrap());
            let size = (be(16), be(20)); // IHDR width, height
            std::fs::write(file, &png).unwrap();
            size
        };
        let shot = || self.call("GET", &format!("{}/screenshot", self.sid()), None);
        let viewport = save(shot(), dir.join(format!("{name}.png")));
        assert_eq!(viewport, (412, 915), "{name}: viewport size");

        // The whole page: make the phone's screen as tall as the page for one screenshot
        // (chromedriver's CDP pass-through; screenshots are clipped to the viewport).
        let html = self.find("html");
        let rect = self.call("GET", &format!("{}/element/{html}/rect", self.sid()), None);
        let height = rect["height"].as_f64().unwrap().ceil().max(100.0);
        let metrics = |height: f64| {
            self.call(
                "POST",
                &format!("{}/goog/cdp/execute", self.sid()),
                Some(json!({
                    "cmd": "Emulation.setDeviceMetricsOverride",
                    "params": {
                        "width": 412, "height": height, "deviceScaleFactor": 1, "mobile": true
                    }
                })),
            )
        };
        metrics(height);
        let (width, _) = save(shot(), dir.join(format!("{name}-full.png")));
        metrics(915.0);
        // Nothing wider than the phone's screen (no sideways scrolling).
        assert_eq!(width, 412, "{name}: full page width");
        assert!(
            rect["width"].as_f64().unwrap() <= 412.0,
            "{name}: the page is wider than the screen: {rect}"
        );
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            let _ = self
                .http
                .delete(format!("{}/session/{id}", self.base))
                .timeout(Duration::from_secs(10))
                .send();
        }
        // SIGKILL to chromedriver's process group (its own, see `start`): the driver and any
        // browser process still alive.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `Response::json` needs reqwest's `json` feature; this needs only serde_json.
trait JsonValue {
    fn json_value(self) -> Result<Value, String>;
}

impl JsonValue for reqwest::blocking::Response {
    fn json_value(self) -> Result<Value, String> {
        let bytes = self.bytes().map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    }
}

struct Sent {
    lang: &'static str,
    word: &'static str,
    marker: String,
    file_name: String,
    file: Vec<u8>,
}

#[test]
fn submit_in_every_language_with_javascript_off() {
    const TEST: &str = "browser::submit_in_every_language_with_javascript_off";
    if !require_tool("chromium", TEST) || !require_tool("chromedriver", TEST) {
        return;
    }
    let started = Instant::now();
    let shots: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let server = Server::start(Opts::default());
    let uploads = tempfile::tempdir().unwrap();
    // Next to the screenshots, so it survives a failure.
    let driver = Driver::start(&shots.join("chromedriver.log"));

    // JavaScript is off: this page's script would change its title.
    let probe = "<title>js-off</title><script>document.title='js-on'</script><p>probe</p>";
    driver.goto(&format!(
        "data:text/html;charset=utf-8,{}",
        percent_encode(probe)
    ));
    driver.find("p");
    let title = driver.title();
    assert_ne!(title, "js-on", "JavaScript is enabled in the browser");
    assert_eq!(title, "js-off");

    // `/` is the English landing page.
    driver.goto(&server.url("/"));
    let html = driver.find("html");
    assert_eq!(driver.attribute(&html, "lang").as_deref(), Some("en"));
    driver.find("a[href$='/en/submit']");
    driver.screenshot(&shots, "root-landing");

    let mut sent = Vec::new();
    for (lang, word) in [("en", "testimony"), ("az", "ifadə"), ("ru", "показания")] {
        // Landing page.
        driver.goto(&server.url(&format!("/{lang}/")));
        let html = driver.find("html");
        assert_eq!(driver.attribute(&html, "lang").as_deref(), Some(lang));
        for other in ["en", "az", "ru"] {
            driver.find(&format!("nav a[hreflang='{other}']"));
        }
        driver.screenshot(&shots, &format!("{lang}-landing"));

        // Follow the link to the form.
        let link = driver.find(&format!("a[href$='/{lang}/submit']"));
        driver.click(&link);
        let message = driver.wait_for("textarea#message", 30);
        assert!(
            driver.current_url().ends_with(&format!("/{lang}/submit")),
            "the link led to {}",
            driver.current_url()
        );
        let html = driver.find("html");
        assert_eq!(driver.attribute(&html, "lang").as_deref(), Some(lang));
        // The honeypot must not be visible to a person; only bots fill it in.
        let hp = driver
            .try_find("#website")
            .expect("the form has a honeypot field");
        assert!(
            !driver.displayed(&hp),
            "/{lang}/submit: the honeypot field #website is displayed"
        );
        driver.screenshot(&shots, &format!("{lang}-submit"));

        // Fill in and submit.
        let marker = canary(&format!("browser-{lang}"));
        let text = format!("[{lang}] {word}: {marker}\nSecond line, {lang}.");
        driver.send_keys(&message, &text);
        let file_name = format!("evidence-{lang}.bin");
        let file = random_bytes(100_000);
        let path = uploads.path().join(&file_name);
        std::fs::write(&path, &file).unwrap();
        let input = driver.find("input#files[type='file']");
        driver.send_keys(&input, path.to_str().unwrap());
        let button = driver.find("form button[type='submit']");
        driver.click(&button);

        // Receipt page.
        let receipt = driver.wait_for("#receipt", 60);
        assert!(!driver.text(&receipt).trim().is_empty());
        // A first submission's receipt shows the new codename: 7 words.
        let codename = driver.find("#codename");
        let words = driver.text(&codename).split_whitespace().count();
        assert_eq!(words, 7, "{lang}: codename {:?}", driver.text(&codename));
        let html = driver.find("html");
        assert_eq!(driver.attribute(&html, "lang").as_deref(), Some(lang));
        driver.screenshot(&shots, &format!("{lang}-receipt"));

        // An error page (404) in this language.
        driver.goto(&server.url(&format!("/{lang}/nowhere")));
        driver.find("#error");
        let html = driver.find("html");
        assert_eq!(driver.attribute(&html, "lang").as_deref(), Some(lang));
        driver.screenshot(&shots, &format!("{lang}-error"));

        sent.push(Sent {
            lang,
            word,
            marker,
            file_name,
            file,
        });
    }
    drop(driver);
    println!("browser screenshots: {}", shots.display());

    // Export, decrypt, compare.
    let export = server.export("export");
    let out = server.decrypt(&export, "out");
    let subs: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(subs.len(), 3, "submissions: {:?}", util::tree(&out));
    for s in &sent {
        let matching: Vec<&PathBuf> = subs
            .iter()
            .filter(|d| {
                std::fs::read_to_string(d.join("message.txt"))
                    .unwrap()
                    .contains(&s.marker)
            })
            .collect();
        assert_eq!(matching.len(), 1, "{}: submissions with its marker", s.lang);
        let dir = matching[0];
        let msg = std::fs::read_to_string(dir.join("message.txt")).unwrap();
        assert!(
            msg.contains(&format!("[{}] {}: ", s.lang, s.word)),
            "{}: message is {msg:?}",
            s.lang
        );
        let files: Vec<PathBuf> = std::fs::read_dir(dir.join("files"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(files.len(), 1, "{}: files {files:?}", s.lang);
        assert_eq!(
            files[0].file_name().unwrap().to_str().unwrap(),
            format!("1-{}", s.file_name)
        );
        assert!(
            std::fs::read(&files[0]).unwrap() == s.file,
            "{}: the decrypted file differs from the uploaded one",
            s.lang
        );
    }
    println!(
        "browser test: 3 languages submitted, exported, decrypted in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

impl Driver {
    /// Saves the whole page as it looks on a 360-pixel-wide phone, `NAME-360.png`, and
    /// asserts nothing is wider than that screen; then returns to the 412-pixel phone.
    fn screenshot_narrow(&self, dir: &Path, name: &str) {
        let metrics = |width: f64, height: f64| {
            self.call(
                "POST",
                &format!("{}/goog/cdp/execute", self.sid()),
                Some(json!({
                    "cmd": "Emulation.setDeviceMetricsOverride",
                    "params": {
                        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": true
                    }
                })),
            )
        };
        metrics(360.0, 800.0);
        let html = self.find("html");
        let rect = self.call("GET", &format!("{}/element/{html}/rect", self.sid()), None);
        let height = rect["height"].as_f64().unwrap().ceil().max(100.0);
        // The widest element, laid out at 360 px.
        let scroll_width = self
            .call(
                "GET",
                &format!("{}/element/{html}/property/scrollWidth", self.sid()),
                None,
            )
            .as_f64()
            .unwrap();
        metrics(360.0, height);
        let shot = self.call("GET", &format!("{}/screenshot", self.sid()), None);
        let png = base64_decode(shot.as_str().unwrap());
        std::fs::write(dir.join(format!("{name}-360.png")), &png).unwrap();
        metrics(412.0, 915.0);
        assert!(
            scroll_width <= 360.0,
            "{name}: the page is wider than a 360-pixel screen ({scroll_width} px)"
        );
    }

    /// Opens a `<details>` by clicking its summary, as a person would; JavaScript is off.
    fn open_section(&self, details_id: &str) {
        let summary = self.find(&format!("details#{details_id} > summary"));
        self.click(&summary);
        let details = self.find(&format!("details#{details_id}"));
        assert!(
            self.attribute(&details, "open").is_some(),
            "{details_id} did not open"
        );
    }
}

/// Sends a form's head and the start of its body, then nothing: after the token deadline the
/// server answers with the 408 page.
fn stalled_upload(server: &Server, lang: &str) -> std::net::TcpStream {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    let head = format!(
        "POST /{lang}/submit HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: 100000\r\n\r\n--b0undary\r\nContent-Disposition: form-data; name=\"tok",
        server.addr
    );
    s.write_all(head.as_bytes()).unwrap();
    s
}

/// Shows a page the server answered outside the browser (the 408 page): its HTML as a `data:`
/// URL, with the server's stylesheet inlined (a `data:` page does not load it from the server).
fn show_html(driver: &Driver, server: &Server, response: &str) {
    let body = &response[response.find("\r\n\r\n").unwrap() + 4..];
    let css = util::client()
        .get(server.url("/static/style.css"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let link = "<link rel=\"stylesheet\" href=\"/static/style.css\">";
    assert!(body.contains(link), "the page links its stylesheet");
    let html = body.replacen(link, &format!("<style>{css}</style>"), 1);
    driver.goto(&format!(
        "data:text/html;charset=utf-8,{}",
        percent_encode(&html)
    ));
    driver.find("#error");
}

#[test]
fn guided_testimony_and_consent_with_javascript_off_in_every_language() {
    const TEST: &str =
        "browser::guided_testimony_and_consent_with_javascript_off_in_every_language";
    if !require_tool("chromium", TEST) || !require_tool("chromedriver", TEST) {
        return;
    }
    let shots: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let server = Server::start(Opts {
        max_upload_bytes: 64 * 1024,
        ..Opts::default()
    });
    // Three uploads that stall, one per language: their 408 pages come after the token
    // deadline (a minute), while the rest of the test runs.
    let mut stalled: Vec<_> = ["en", "az", "ru"]
        .into_iter()
        .map(|l| (l, stalled_upload(&server, l)))
        .collect();
    let uploads = tempfile::tempdir().unwrap();
    let driver = Driver::start(&shots.join("chromedriver-guided.log"));

    let mut az_marker = String::new();
    for lang in ["en", "az", "ru"] {
        // The form with both sections closed: the questions are out of sight.
        driver.goto(&server.url(&format!("/{lang}/submit")));
        let message = driver.wait_for("textarea#message", 30);
        let who = driver.find("textarea#who");
        assert!(
            !driver.displayed(&who),
            "{lang}: the questions start closed"
        );
        driver.screenshot(&shots, &format!("{lang}-submit-closed"));
        driver.screenshot_narrow(&shots, &format!("{lang}-submit-closed"));
        driver.open_section("guided");
        driver.open_section("consent-section");
        assert!(
            driver.displayed(&who),
            "{lang}: the questions open without JavaScript"
        );
        let records = driver.find("input#consent-records");
        assert!(
            driver.attribute(&records, "checked").is_some(),
            "{lang}: the most restrictive consent is preselected"
        );
        driver.screenshot(&shots, &format!("{lang}-submit-open"));
        driver.screenshot_narrow(&shots, &format!("{lang}-submit-open"));

        let marker = canary(&format!("guided-{lang}"));
        driver.send_keys(&message, &format!("[{lang}] {marker}"));
        if lang == "az" {
            // Fill and submit in Azerbaijani, the way a source would: labels clicked, not
            // inputs, so the labels are wired to their fields.
            driver.send_keys(&driver.find("input#when"), "2023-cü ilin yazı");
            driver.send_keys(&driver.find("input#where"), "Bakı");
            driver.send_keys(&who, "forma geyinmiş iki nəfər");
            driver.click(&driver.find("label[for='role-witness']"));
            driver.click(&driver.find("label[for='danger-unsure']"));
            driver.click(&driver.find("label[for='consent-legal']"));
            driver.click(&driver.find("label[for='consent_name']"));
            az_marker = marker;
        }
        driver.click(&driver.find("form button[type='submit']"));
        driver.wait_for("#receipt", 60);
        let codename = driver.text(&driver.find("#codename"));
        driver.find("#large-files");
        driver.find("#consent-choice");
        driver.screenshot(&shots, &format!("{lang}-receipt-guided"));
        driver.screenshot_narrow(&shots, &format!("{lang}-receipt-guided"));

        // The login page, then the inbox with its follow-up form.
        driver.goto(&server.url(&format!("/{lang}/login")));
        let field = driver.wait_for("textarea#codename", 30);
        driver.screenshot(&shots, &format!("{lang}-login"));
        driver.screenshot_narrow(&shots, &format!("{lang}-login"));
        driver.send_keys(&field, &codename);
        driver.click(&driver.find("form button[type='submit']"));
        driver.wait_for("#no-replies", 60);
        // The source's current choice is shown, and the form starts at it.
        driver.find("#consent-current");
        assert!(driver.try_find("input#consent-keep").is_none(), "{lang}");
        let (current, named) = if lang == "az" {
            ("legal", true)
        } else {
            ("records", false)
        };
        let radio = driver.find(&format!("input#consent-{current}"));
        assert!(
            driver.attribute(&radio, "checked").is_some(),
            "{lang}: the current choice is preselected"
        );
        let name_box = driver.find("input#consent_name");
        assert_eq!(
            driver.attribute(&name_box, "checked").is_some(),
            named,
            "{lang}: the name box shows the current choice"
        );
        driver.screenshot(&shots, &format!("{lang}-inbox"));
        driver.screenshot_narrow(&shots, &format!("{lang}-inbox"));
        driver.open_section("guided");
        driver.open_section("consent-section");
        driver.screenshot(&shots, &format!("{lang}-inbox-open"));
        driver.screenshot_narrow(&shots, &format!("{lang}-inbox-open"));
        if lang == "az" {
            // A follow-up that only changes consent, and takes back the name.
            driver.click(&driver.find("label[for='consent-publish']"));
            driver.click(&driver.find("label[for='consent_name']"));
            driver.click(&driver.find("form[action='/az/inbox/submit'] button[type='submit']"));
            driver.wait_for("#receipt", 60);
            driver.screenshot(&shots, "az-receipt-followup");
            driver.screenshot_narrow(&shots, "az-receipt-followup");
            // Back in the inbox, the new choice stands.
            driver.goto(&server.url("/az/inbox"));
            driver.wait_for("#consent-current", 60);
            let publish = driver.find("input#consent-publish");
            assert!(driver.attribute(&publish, "checked").is_some());
            let name_box = driver.find("input#consent_name");
            assert!(driver.attribute(&name_box, "checked").is_none());
            driver.screenshot(&shots, "az-inbox-changed");
            driver.screenshot_narrow(&shots, "az-inbox-changed");
        }

        // The 413 page: a file over this server's small limit.
        driver.goto(&server.url(&format!("/{lang}/submit")));
        let path = uploads.path().join(format!("large-{lang}.bin"));
        std::fs::write(&path, random_bytes(100 * 1024)).unwrap();
        let input = driver.wait_for("input#files[type='file']", 30);
        driver.send_keys(&input, path.to_str().unwrap());
        driver.click(&driver.find("form button[type='submit']"));
        driver.wait_for("#error", 60);
        driver.find("#large-files");
        driver.screenshot(&shots, &format!("{lang}-413"));
        driver.screenshot_narrow(&shots, &format!("{lang}-413"));
    }

    // The 408 pages.
    for (lang, s) in stalled.iter_mut() {
        let response = util::read_response(s, Duration::from_secs(120))
            .unwrap_or_else(|| panic!("{lang}: no 408 page"));
        assert!(response.starts_with("HTTP/1.1 408"), "{lang}: {response}");
        assert!(
            response.contains("id=\"large-files\""),
            "{lang}: advice on the 408 page"
        );
        show_html(&driver, &server, &response);
        driver.screenshot(&shots, &format!("{lang}-408"));
        driver.screenshot_narrow(&shots, &format!("{lang}-408"));
    }
    drop(driver);
    println!("browser screenshots: {}", shots.display());

    // What was filled in Azerbaijani reached the reviewers, and the consent-only follow-up.
    let export = server.export("export");
    let out = server.decrypt(&export, "out");
    let subs: Vec<Value> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("submission.json").is_file())
        .map(|p| {
            serde_json::from_slice(&std::fs::read(p.join("submission.json")).unwrap()).unwrap()
        })
        .collect();
    assert_eq!(subs.len(), 4, "three first submissions and one follow-up");
    let az = subs
        .iter()
        .find(|s| s["message"].as_str().unwrap().contains(&az_marker))
        .expect("the Azerbaijani submission");
    assert_eq!(
        az["testimony"],
        json!({
            "format": "witness-drop-testimony/1",
            "lang": "az",
            "role": "witness",
            "when": "2023-cü ilin yazı",
            "where": "Bakı",
            "who": "forma geyinmiş iki nəfər",
            "danger": "unsure",
            "consent": "legal",
            "consent_name": true,
        })
    );
    let followup = subs
        .iter()
        .find(|s| s["message"] == "")
        .expect("the consent-only follow-up");
    assert_eq!(followup["testimony"]["consent"], "publish");
    assert_eq!(followup["testimony"]["consent_name"], false);
    assert_eq!(followup["testimony"]["lang"], "az");
    for s in &subs {
        if s["testimony"]["lang"] != "az" {
            assert_eq!(s["testimony"]["consent"], "records");
            assert_eq!(s["testimony"]["consent_name"], false);
        }
    }
}
