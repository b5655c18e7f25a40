//! The reading view (`review::view::write_views`): the pages made over a case folder written
//! the way decrypt and reply write it, read as text. The browser test
//! (`tests/browser/reading_view.rs`) opens the same pages in Chromium.

mod case_fixture;

use std::fs;
use std::path::{Path, PathBuf};

use case_fixture::{reference, sample_case, submission, write_reply, write_submission, Sample};
use witness_drop::review::view::{write_views, ViewProblem, CSP};

fn read(p: impl AsRef<Path>) -> String {
    fs::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

fn sample() -> (tempfile::TempDir, Sample) {
    let tmp = tempfile::tempdir().unwrap();
    let s = sample_case(tmp.path());
    write_views(tmp.path()).unwrap();
    (tmp, s)
}

/// Every page the view wrote.
fn pages(case: &Path) -> Vec<PathBuf> {
    let mut out = vec![case.join("index.html")];
    for e in fs::read_dir(case).unwrap().flatten() {
        let p = e.path().join("index.html");
        if p.exists() {
            out.push(p);
        }
    }
    out
}

/// Every tag of a page (`<` to `>`): since the text from sources is escaped, these are all the
/// markup there is.
fn tags(page: &str) -> Vec<&str> {
    page.split('<')
        .skip(1)
        .map(|rest| &rest[..rest.find('>').unwrap_or(rest.len())])
        .collect()
}

fn attr<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(&tag[start..start + tag[start..].find('"')?])
}

/// Byte offset of `needle` in `page`, failing the test when absent.
fn at(page: &str, needle: &str) -> usize {
    page.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not on the page"))
}

#[test]
fn every_page_has_the_csp_and_the_referrer_policy_and_no_script() {
    let (tmp, _) = sample();
    let pages = pages(tmp.path());
    assert_eq!(pages.len(), 6, "index + 5 submission pages: {pages:?}");
    let csp = format!("<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">");
    assert!(CSP.starts_with("default-src 'none';"), "{CSP}");
    for p in &pages {
        let page = read(p);
        assert!(
            page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
            "{}",
            p.display()
        );
        // The CSP comes before anything that loads.
        assert!(at(&page, &csp) < at(&page, "<link"), "{}", p.display());
        assert!(page.contains("<meta name=\"referrer\" content=\"no-referrer\">"));
        assert!(!page.to_lowercase().contains("<script"), "{}", p.display());
    }
    assert!(read(tmp.path().join("style.css")).contains("@media print"));
}

#[test]
fn a_hostile_message_is_shown_escaped_and_opens_no_tag() {
    let (tmp, s) = sample();
    let page = read(tmp.path().join(&s.amber[1]).join("index.html"));
    for escaped in [
        "&lt;b&gt;markup&lt;/b&gt;",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&lt;img src=x onerror=alert(1)&gt;",
        "&quot; onmouseover=&quot;alert(2)&quot; &#39; end.",
        // The attachment's name, with its right-to-left override shown, not obeyed.
        "room<span class=\"mark\" title=\"A hidden character\">[U+202E]</span>gpj.exe",
        "notes &lt;i&gt;v2&lt;/i&gt;.pdf",
    ] {
        assert!(page.contains(escaped), "{escaped:?} is not on the page");
    }
    assert!(!page.contains('\u{202E}'));
    for raw in [
        "<b>markup",
        "<img",
        "<iframe",
        "<style>",
        "onerror=\"",
        "onmouseover=\"a",
    ] {
        assert!(!page.contains(raw), "{raw:?} reached the page unescaped");
    }
    // The message keeps its lines and tabs, in an element that preserves them.
    assert!(page.contains("<div class=\"message\" dir=\"auto\">"));
    assert!(page.contains("I am sending the photo of the room.\n\tIndented line."));
}

#[test]
fn pages_link_only_to_each_other_and_name_attachments_as_text() {
    let (tmp, s) = sample();
    let is_page_link = |href: &str| {
        let rest = href.strip_prefix("../").unwrap_or(href);
        rest == "index.html"
            || rest == "style.css"
            || href.starts_with('#')
            || rest
                .strip_suffix("/index.html")
                .is_some_and(witness_drop::export::is_valid_id)
    };
    for p in pages(tmp.path()) {
        let page = read(&p);
        for tag in tags(&page) {
            let name = tag.split([' ', '\n']).next().unwrap().to_lowercase();
            for banned in [
                "img", "iframe", "object", "embed", "video", "audio", "script", "source", "base",
                "form",
            ] {
                assert_ne!(name, banned, "{}: <{tag}>", p.display());
            }
            assert!(!tag.contains("src="), "{}: <{tag}>", p.display());
            assert!(
                !tag.contains(" on"),
                "{}: an event handler in <{tag}>",
                p.display()
            );
            if let Some(href) = attr(tag, "href") {
                assert!(is_page_link(href), "{}: <{tag}>", p.display());
            }
            if name == "link" {
                assert_eq!(attr(tag, "rel"), Some("stylesheet"), "<{tag}>");
            }
        }
    }
    let page = read(tmp.path().join(&s.amber[1]).join("index.html"));
    assert!(page.contains("<code class=\"path\"><bdi>files/1-roomgpj.exe</bdi></code>"));
    assert!(page.contains("<code class=\"path\"><bdi>working/1-roomgpj.exe</bdi></code>"));
}

#[test]
fn sources_not_answered_yet_come_first_and_are_marked() {
    let (tmp, s) = sample();
    let index = read(tmp.path().join("index.html"));
    let waiting = at(&index, "<h2 id=\"waiting\">Not answered yet");
    let answered = at(&index, "<h2 id=\"answered\">Answered");
    let amber = at(
        &index,
        "<bdi>amber heron</bdi> <span class=\"badge waiting\">Not answered yet</span>",
    );
    let birch = at(&index, "<bdi>birch finch</bdi></h3>");
    assert!(
        waiting < amber && amber < answered && answered < birch,
        "{index}"
    );
    assert!(index.contains("1 source is waiting for an answer."));
    // Without a source, there is nobody to answer: not counted as waiting.
    let alone = at(&index, "<h2 id=\"no-reply\">Sent without a way to reply");
    assert!(birch < alone && index[alone..].contains(&s.alone[..8]));
    let page = read(tmp.path().join(&s.amber[1]).join("index.html"));
    assert!(
        page.contains("<dt>Answer</dt><dd><span class=\"badge waiting\">Not answered yet</span>")
    );
    let page = read(tmp.path().join(&s.amber[0]).join("index.html"));
    assert!(page.contains("A reply was sent to this submission."));
}

#[test]
fn a_reply_answers_the_newest_submission_or_any_written_on_a_later_day() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path();
    let r = reference(7);
    let older = submission(10, "2026-11-20T09:00:00Z", Some((&r, "cedar owl")), "one");
    let newer = submission(11, "2026-11-23T09:00:00Z", Some((&r, "cedar owl")), "two");
    write_submission(case, &older);
    write_submission(case, &newer);
    let waiting = |case: &Path| {
        write_views(case).unwrap();
        read(case.join("index.html")).contains("cedar owl</bdi> <span class=\"badge waiting\">")
    };
    assert!(waiting(case), "no reply yet");
    // Kept with the older one, written the day the newer one arrived: it may predate it.
    write_reply(case, &older.envelope.id, &r, "2026-11-23", "same day");
    assert!(waiting(case), "a same-day reply to an older submission");
    write_reply(case, &older.envelope.id, &r, "2026-11-24", "a later day");
    assert!(!waiting(case), "a reply written after the newest arrived");

    let tmp = tempfile::tempdir().unwrap();
    write_submission(tmp.path(), &older);
    write_submission(tmp.path(), &newer);
    write_reply(
        tmp.path(),
        &newer.envelope.id,
        &r,
        "2026-11-23",
        "to the newest",
    );
    assert!(
        !waiting(tmp.path()),
        "a reply kept with the newest submission"
    );
}

#[test]
fn submissions_and_replies_are_listed_newest_first_with_the_day_only() {
    let (tmp, s) = sample();
    let index = read(tmp.path().join("index.html"));
    let newer = at(&index, &format!("href=\"{}/index.html\"", s.amber[1]));
    let reply = at(
        &index,
        "<time>22&nbsp;Nov&nbsp;2026</time></td><td>Reply sent",
    );
    let older = at(&index, &format!("href=\"{}/index.html\"", s.amber[0]));
    assert!(newer < reply && reply < older, "{index}");
    assert!(index.contains("<time>28&nbsp;Nov&nbsp;2026</time>"));
    assert!(
        !index.contains("17:42"),
        "the exact time is only on the submission page"
    );
    let page = read(tmp.path().join(&s.amber[1]).join("index.html"));
    assert!(page.contains("<time>28&nbsp;November&nbsp;2026</time> at 17:42:09 UTC"));
    // The source's replies are on its submission pages, escaped, with their recipients.
    assert!(page.contains("Thank you for writing to us. You are not alone.\nWe will read"));
    assert!(page.contains("Encrypted to 2 keys"));
}

#[test]
fn what_the_metadata_reveals_is_said_first_and_plainly() {
    let (tmp, s) = sample();
    let page = read(tmp.path().join(&s.amber[1]).join("index.html"));
    let sentence = "<strong>This photo records where it was taken.</strong> <strong>It names the camera or phone that made it.</strong> <strong>It records when it was made or changed.</strong> <strong>Do not share the original: use the working copy.</strong>";
    // Near the top, before the message, and again at the attachment.
    assert!(at(&page, sentence) < at(&page, "<h2>Message</h2>"));
    assert_eq!(page.matches(sentence).count(), 2);
    assert!(page.contains("41.7151 N, 44.8271 E"));
    assert!(page.contains("<li><bdi>GPS position</bdi></li>"));
    assert!(page.contains("1.2 MB (1,234,567 bytes)"));
    assert!(page.contains("This tool cannot look inside this kind of file."));
    assert!(page.contains("The name the source's browser sent."));
    let index = read(tmp.path().join("index.html"));
    assert!(index.contains("Metadata reveals a location, a device, times"));
}

#[test]
fn problems_with_a_submission_are_flagged() {
    let (tmp, s) = sample();
    let index = read(tmp.path().join("index.html"));
    let row = &index[at(&index, &format!("href=\"{}/index.html\"", s.alone))..];
    assert!(row[..row.find("</tr>").unwrap()].contains("Needs checking"));
    assert!(index.contains("1 submission needs checking."));
    let page = read(tmp.path().join(&s.alone).join("index.html"));
    for text in [
        "Check before relying on this submission",
        "does not agree with the ledger this case folder already knew",
        "Ledger entries 6 to 8 were in no export",
        "4: attachment 1 does not match its sha256",
        "Does not agree</span> with the 5 entries",
    ] {
        assert!(page.contains(text), "{text:?}");
    }
    let fine = read(tmp.path().join(&s.birch).join("index.html"));
    assert!(!fine.contains("Check before relying"));
}

#[test]
fn a_damaged_or_missing_record_is_listed_and_the_rest_is_still_made() {
    let tmp = tempfile::tempdir().unwrap();
    let s = sample_case(tmp.path());
    let case = tmp.path();
    // A folder without its record, a link named like an id, and things that are no id.
    let missing = case_fixture::id(6);
    fs::create_dir(case.join(&missing)).unwrap();
    std::os::unix::fs::symlink(case.join(&s.birch), case.join(case_fixture::id(7))).unwrap();
    fs::create_dir(case.join("not-an-id")).unwrap();
    fs::create_dir(case.join(format!(".partial-{}", case_fixture::id(8)))).unwrap();
    // A broken reply next to a good one.
    fs::write(case.join(&s.birch).join("replies").join("zz.json"), b"[").unwrap();

    let report = write_views(case).unwrap();
    assert_eq!(report.submissions, 4);
    assert_eq!(report.sources, 3);
    let unreadable: Vec<&str> = report
        .problems
        .iter()
        .filter_map(|p| match p {
            ViewProblem::Submission { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(unreadable, [s.damaged.as_str(), missing.as_str()]);
    assert!(report
        .problems
        .iter()
        .any(|p| matches!(p, ViewProblem::Reply { file, .. } if file == "zz.json")));
    let index = read(case.join("index.html"));
    let part = &index[at(&index, "<h2 id=\"unreadable\">Could not be read")..];
    assert!(part.contains(&s.damaged) && part.contains("it is damaged or incomplete (Eof error"));
    assert!(part.contains(&missing) && part.contains("it is missing"));
    assert!(
        !index.contains(&case_fixture::id(7)),
        "the link was followed"
    );
    assert!(!case.join("not-an-id/index.html").exists());
    assert!(read(case.join(&s.damaged).join("index.html"))
        .contains("This submission could not be read"));
    assert!(read(case.join(&s.birch).join("index.html")).contains("My brother has not come home"));
}

#[test]
fn regenerating_replaces_changed_pages_and_leaves_the_rest() {
    let (tmp, s) = sample();
    let case = tmp.path();
    let page = case.join(&s.amber[1]).join("index.html");
    // Unchanged: nothing is written again.
    let again = write_views(case).unwrap();
    assert_eq!((again.written, again.unchanged), (0, 7), "{again:?}");
    // A page altered by hand (or replaced by a link) is put back.
    fs::write(&page, "altered").unwrap();
    let index = case.join("index.html");
    fs::remove_file(&index).unwrap();
    std::os::unix::fs::symlink(case.join("style.css"), &index).unwrap();
    let fixed = write_views(case).unwrap();
    assert_eq!(fixed.written, 2, "{fixed:?}");
    assert!(read(&page).contains("<!DOCTYPE html>"));
    assert!(!fs::symlink_metadata(&index)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(
        read(case.join("style.css")).starts_with("/*"),
        "the link's target was written"
    );
    // A reply to the newest submission: amber heron is answered now.
    write_reply(
        case,
        &s.amber[1],
        &reference(1),
        "2026-11-29",
        "We have your photo.",
    );
    let after = write_views(case).unwrap();
    assert!(after.written >= 3, "{after:?}");
    let index = read(case.join("index.html"));
    assert!(!index.contains("Not answered yet"), "{index}");
    assert!(read(&page).contains("We have your photo."));
    // No temporary file is left behind.
    let leftovers: Vec<_> = fs::read_dir(case)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn hundreds_of_submissions_are_quick_and_an_unchanged_case_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path();
    for n in 0..300u32 {
        let r = reference(n % 120);
        let at = format!(
            "2026-{:02}-{:02}T10:{:02}:00Z",
            1 + n % 12,
            1 + n % 28,
            n % 60
        );
        let mut s = submission(
            n + 100,
            &at,
            Some((&r, "a source")),
            &"Testimony. ".repeat(200),
        );
        case_fixture::attach(&mut s, "p.jpg", "p.jpg", "image/jpeg", None, &[], &[]);
        write_submission(case, &s);
        if n % 3 == 0 {
            write_reply(case, &s.envelope.id, &r, "2026-12-30", "Received.");
        }
    }
    let started = std::time::Instant::now();
    let first = write_views(case).unwrap();
    let first_took = started.elapsed();
    let started = std::time::Instant::now();
    let second = write_views(case).unwrap();
    let second_took = started.elapsed();
    assert_eq!((first.submissions, first.sources), (300, 120));
    assert_eq!((second.written, second.unchanged), (0, 302));
    println!("300 submissions: first view {first_took:?}, unchanged view {second_took:?}");
    assert!(second_took.as_secs() < 10, "{second_took:?}");
}
