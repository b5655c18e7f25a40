//! The reading view in a real browser: a case folder built like decrypt and reply build it,
//! `write_views` run over it, and the pages opened from disk (`file://`) in headless
//! Chromium **with JavaScript on**, to prove that nothing in them runs (the hostile message's
//! payloads would change the title or add an element), that the CSP is in force (a script and
//! a style injected through WebDriver are refused), and that `style.css` is applied. Every
//! page is screenshotted at desktop width, at 360 px and print-emulated into
//! `target/tmp/reading-view-screenshots/`, for people to look at.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{percent_encode, Browser, Driver};
use crate::util::require_tool;

#[path = "../review/view/case_fixture.rs"]
mod case_fixture;

impl Driver {
    /// Runs `script` in the page through WebDriver (which is not subject to the page's CSP)
    /// and returns its value.
    fn execute(&self, script: &str) -> Value {
        self.call(
            "POST",
            &format!("{}/execute/sync", self.sid()),
            Some(json!({ "script": script, "args": [] })),
        )
    }

    fn css(&self, el: &str, property: &str) -> String {
        self.call(
            "GET",
            &format!("{}/element/{el}/css/{property}", self.sid()),
            None,
        )
        .as_str()
        .unwrap()
        .to_owned()
    }

    fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.call(
            "POST",
            &format!("{}/goog/cdp/execute", self.sid()),
            Some(json!({ "cmd": cmd, "params": params })),
        )
    }

    /// Prints the page to `dir/NAME.pdf` (A4, as a lawyer would print it) and returns how many
    /// pages it has.
    fn print_pdf(&self, dir: &Path, name: &str) -> usize {
        let v = self.cdp(
            "Page.printToPDF",
            json!({ "paperWidth": 8.27, "paperHeight": 11.69, "printBackground": false }),
        );
        let pdf = super::base64_decode(v["data"].as_str().unwrap());
        assert!(pdf.starts_with(b"%PDF"), "not a PDF");
        std::fs::write(dir.join(format!("{name}.pdf")), &pdf).unwrap();
        // Each page is an object `/Type /Page` (the tree of them is `/Type /Pages`).
        let text = String::from_utf8_lossy(&pdf);
        text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
    }

    /// A screenshot of the whole page at `width` CSS pixels (`mobile` for a phone's viewport),
    /// on screen or as printed, saved as `dir/NAME.png`. Fails when the page is wider than the
    /// window (sideways scrolling).
    fn page_shot(&self, dir: &Path, name: &str, width: u32, mobile: bool, print: bool) {
        let media = if print { "print" } else { "" };
        self.cdp("Emulation.setEmulatedMedia", json!({ "media": media }));
        let metrics = |height: u64| {
            self.cdp(
                "Emulation.setDeviceMetricsOverride",
                json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
            );
        };
        metrics(900);
        let scroll_width = self.execute("return document.documentElement.scrollWidth");
        assert!(
            scroll_width.as_u64().unwrap() <= u64::from(width),
            "{name}: the page is {scroll_width} px wide in a {width} px window"
        );
        let height = self
            .execute("return document.documentElement.scrollHeight")
            .as_u64()
            .unwrap()
            .clamp(100, 16_000);
        metrics(height);
        let b64 = self.call("GET", &format!("{}/screenshot", self.sid()), None);
        let png = super::base64_decode(b64.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}));
        self.cdp("Emulation.setEmulatedMedia", json!({ "media": "" }));
    }
}

fn file_url(p: &Path) -> String {
    // The temporary folder's path is plain ASCII; percent-encode each component anyway.
    let parts: Vec<String> = p.to_str().unwrap().split('/').map(percent_encode).collect();
    format!("file://{}", parts.join("/"))
}

/// What a page must show to prove nothing in it ran and the CSP holds.
fn assert_inert(d: &Driver, page: &str, title: &str) {
    assert_eq!(d.title(), title, "{page}: the title changed: a script ran");
    let facts = d.execute(
        "return { injected: document.getElementById('injected') !== null, \
                  scripts: document.scripts.length, images: document.images.length, \
                  embeds: document.querySelectorAll('iframe,object,embed,video,audio,source').length, \
                  sheets: document.styleSheets.length, \
                  linked: document.querySelector('link[rel=stylesheet]').sheet !== null, \
                  hidden: getComputedStyle(document.body).display === 'none' }",
    );
    assert_eq!(facts["injected"], false, "{page}: the payload ran: {facts}");
    assert_eq!(facts["scripts"], 0, "{page}: {facts}");
    assert_eq!(facts["images"], 0, "{page}: {facts}");
    assert_eq!(facts["embeds"], 0, "{page}: {facts}");
    assert_eq!(
        facts["hidden"], false,
        "{page}: a style from the message applied"
    );
    // Exactly one stylesheet, style.css, loaded and allowed by `style-src 'self'`.
    assert_eq!(facts["sheets"], 1, "{page}: {facts}");
    assert_eq!(
        facts["linked"], true,
        "{page}: style.css was blocked: {facts}"
    );
    let body = d.find("body");
    assert_eq!(
        d.css(&body, "background-color"),
        "rgba(251, 249, 246, 1)",
        "{page}: style.css is not applied"
    );

    // The CSP is in force: an inline script and an inline style added to the page are
    // refused (a script that ran would change the title at once).
    let after = d.execute(
        "var s = document.createElement('script'); \
         s.textContent = \"document.title = 'inline script ran'\"; \
         document.head.appendChild(s); \
         var st = document.createElement('style'); \
         st.textContent = 'body { background-color: rgb(255, 0, 0) !important }'; \
         document.head.appendChild(st); \
         return [document.title, getComputedStyle(document.body).backgroundColor];",
    );
    assert_eq!(after[0], title, "{page}: the CSP let an inline script run");
    assert_eq!(
        after[1], "rgb(251, 249, 246)",
        "{page}: the CSP let an inline style apply"
    );
}

#[test]
fn reading_view_runs_nothing_and_applies_its_stylesheet_with_javascript_on() {
    const TEST: &str = "browser::reading_view::reading_view_runs_nothing_and_applies_its_stylesheet_with_javascript_on";
    if !require_tool("chromium", TEST) || !require_tool("chromedriver", TEST) {
        return;
    }
    let shots: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reading-view-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let case = tempfile::tempdir().unwrap();
    let sample = case_fixture::sample_case(case.path());
    witness_drop::review::view::write_views(case.path()).unwrap();

    let d = Driver::launch(
        &shots.join("chromedriver.log"),
        Browser {
            javascript: true,
            phone: false,
        },
    );

    // JavaScript is on in this browser: the same kind of script does run on a page without a
    // CSP, so the checks below prove the reading view's pages, not a disabled browser.
    let probe = "<title>js-off</title><script>document.title='js-on'</script><p>probe</p>";
    d.goto(&format!(
        "data:text/html;charset=utf-8,{}",
        percent_encode(probe)
    ));
    d.find("p");
    assert_eq!(d.title(), "js-on", "JavaScript is off in the browser");

    let index = case.path().join("index.html");
    d.goto(&file_url(&index));
    d.find("h2#waiting");
    assert_inert(&d, "index.html", "Case folder: all sources");
    let html = d.find("html");
    assert_eq!(d.attribute(&html, "lang").as_deref(), Some("en"));
    d.page_shot(&shots, "index-desktop", 1280, false, false);
    d.page_shot(&shots, "index-phone-360", 360, true, false);
    d.page_shot(&shots, "index-print", 800, false, true);

    // Follow the link to the submission with the hostile message, as a reviewer would.
    let link = d.find(&format!("a[href='{}/index.html']", sample.amber[1]));
    d.click(&link);
    let message = d.wait_for("div.message", 20);
    assert!(d
        .current_url()
        .ends_with(&format!("{}/index.html", sample.amber[1])));
    assert_inert(&d, "submission page", "Submission from amber heron");
    assert_eq!(d.css(&message, "white-space"), "pre-wrap");
    let text = d.text(&message);
    assert!(
        text.contains("<script>document.title='pwned'</script>") && text.contains("<b>markup</b>"),
        "the message is not shown as the source typed it: {text:?}"
    );
    // The attachment's name is shown with its override as a mark, in reading order.
    let attachment = d.find("#attachment-1");
    assert!(d.text(&attachment).contains("room[U+202E]gpj.exe"));
    d.page_shot(&shots, "submission-desktop", 1280, false, false);
    d.page_shot(&shots, "submission-phone-360", 360, true, false);
    d.page_shot(&shots, "submission-print", 800, false, true);

    // Printed, each section starts a page: header and message, attachments, verification,
    // replies, the other submissions.
    let pages = d.print_pdf(&shots, "submission");
    assert!(pages >= 5, "the printed submission has {pages} pages");

    // In print, the navigation is gone.
    d.cdp("Emulation.setEmulatedMedia", json!({ "media": "print" }));
    let nav = d.find("nav.crumbs");
    assert!(!d.displayed(&nav), "the navigation is printed");
    d.cdp("Emulation.setEmulatedMedia", json!({ "media": "" }));

    for (id, title) in [
        (&sample.alone, "Submission without a source"),
        (&sample.damaged, "Submission that could not be read"),
    ] {
        d.goto(&file_url(&case.path().join(id).join("index.html")));
        d.find("main");
        assert_inert(&d, id, title);
    }
    d.goto(&file_url(
        &case.path().join(&sample.alone).join("index.html"),
    ));
    d.page_shot(&shots, "problems-desktop", 1280, false, false);
    drop(d);
    println!("reading view screenshots: {}", shots.display());
}
