//! The two kinds of page: the case folder's `index.html` and each submission's `ID/index.html`.
//!
//! Invariant: every value read from a record goes through [`Html::text`], [`Html::name`] or
//! [`Html::block`]; the only `href`s are `index.html` pages of folders named by a valid id
//! (and `#` anchors within a page); no element refers to an attachment.

use super::case::{
    classify, has_problems, problems, reveals, Case, Entry, Group, Received, Reveal, State, Sub,
};
use super::html::Html;
use super::load::Folder;
use super::Page;
use crate::envelope::Attachment;
use crate::review::clean::Kind;
use crate::review::decrypt::{AttachmentReview, DecryptedSubmission, WrittenFile};

const TOOL: &str = concat!("witness-review ", env!("CARGO_PKG_VERSION"));

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The case folder's `index.html`.
pub(super) fn index_page(case: &Case<'_>) -> Page {
    let mut h = Html::start("Case folder: all sources", "");
    h.raw("<header class=\"top\">\n<p class=\"kicker\">Reading view</p>\n<h1>Case folder</h1>\n");
    summary(&mut h, case);
    h.raw("</header>\n<main>\n");

    let parts = [
        (
            State::Waiting,
            "waiting",
            "Not answered yet",
            "Each of these sources sent something after the last reply they were sent, or has had no reply yet.",
        ),
        (
            State::Answered,
            "answered",
            "Answered",
            "A reply was sent after each source's newest submission.",
        ),
        (
            State::NoWayToReply,
            "no-reply",
            "Sent without a way to reply",
            "These submissions came without a source reference, so they cannot be answered.",
        ),
    ];
    for (state, id, title, hint) in parts {
        let groups: Vec<&Group<'_>> = case.groups.iter().filter(|g| g.state == state).collect();
        if groups.is_empty() {
            continue;
        }
        h.raw("<section class=\"part\" aria-labelledby=\"");
        h.raw(id);
        h.raw("\">\n<h2 id=\"");
        h.raw(id);
        h.raw("\">");
        h.raw(title);
        h.raw(" <span class=\"count\">(");
        h.num(groups.len());
        h.raw(")</span></h2>\n<p class=\"hint\">");
        h.raw(hint);
        h.raw("</p>\n");
        for g in groups {
            source_card(&mut h, g);
        }
        h.raw("</section>\n");
    }

    if !case.unreadable.is_empty() {
        h.raw("<section class=\"part\" aria-labelledby=\"unreadable\">\n<h2 id=\"unreadable\">Could not be read <span class=\"count\">(");
        h.num(case.unreadable.len());
        h.raw(")</span></h2>\n<p class=\"hint\">The record of these submissions (<code>submission.json</code>) could not be read. Their files were left as they are.</p>\n<ul class=\"unreadable\">\n");
        for f in &case.unreadable {
            h.raw("<li><a href=\"");
            h.raw(&f.id);
            h.raw("/index.html\">Submission <code>");
            h.raw(&f.id);
            h.raw("</code></a>: ");
            if let Err(reason) = &f.submission {
                h.text(&reason.to_string());
            }
            h.raw("</li>\n");
        }
        h.raw("</ul>\n</section>\n");
    }
    if case.groups.is_empty() && case.unreadable.is_empty() {
        h.raw("<p class=\"hint\">There is nothing in this case folder yet. Decrypt an export into it with <code>witness-review decrypt</code>.</p>\n");
    }
    h.raw("</main>\n");
    footer(&mut h);
    h.finish()
}

fn summary(h: &mut Html, case: &Case<'_>) {
    let subs: Vec<&Sub<'_>> = case.groups.iter().flat_map(|g| &g.subs).collect();
    let waiting = case
        .groups
        .iter()
        .filter(|g| g.state == State::Waiting)
        .count();
    let checks = subs.iter().filter(|s| has_problems(s.s)).count();
    let meta = subs.iter().filter(|s| !reveals(s.s).is_empty()).count();
    h.raw("<p class=\"summary\">");
    plural(h, case.groups.len(), "source", "sources");
    h.raw(", ");
    plural(h, subs.len(), "submission", "submissions");
    h.raw(".");
    if waiting > 0 {
        h.raw(" <strong class=\"flag waiting\">");
        plural(h, waiting, "source is", "sources are");
        h.raw(" waiting for an answer.</strong>");
    }
    if checks > 0 {
        h.raw(" <span class=\"flag problem\">");
        plural(h, checks, "submission needs", "submissions need");
        h.raw(" checking.</span>");
    }
    if meta > 0 {
        h.raw(" <span class=\"flag meta\">");
        plural(h, meta, "submission has", "submissions have");
        h.raw(" attachments whose metadata reveals something.</span>");
    }
    if !case.unreadable.is_empty() {
        h.raw(" <span class=\"flag problem\">");
        plural(h, case.unreadable.len(), "submission", "submissions");
        h.raw(" could not be read.</span>");
    }
    h.raw("</p>\n");
}

fn plural(h: &mut Html, n: usize, one: &str, many: &str) {
    h.num(n);
    h.raw(" ");
    h.raw(if n == 1 { one } else { many });
}

fn source_card(h: &mut Html, g: &Group<'_>) {
    let class = match g.state {
        State::Waiting => "source waiting",
        State::Answered => "source answered",
        State::NoWayToReply => "source alone",
    };
    h.raw("<article class=\"");
    h.raw(class);
    h.raw("\">\n<h3>");
    designation(h, g);
    if g.state == State::Waiting {
        h.raw(" <span class=\"badge waiting\">Not answered yet</span>");
    }
    h.raw("</h3>\n<p class=\"ref\">");
    if let Some(reference) = g.reference {
        h.raw("Reference <code>");
        h.text(reference);
        h.raw("</code> · ");
    }
    plural(h, g.subs.len(), "submission", "submissions");
    if g.state != State::NoWayToReply {
        h.raw(" · ");
        plural(h, g.replies.len(), "reply sent", "replies sent");
    }
    h.raw("</p>\n");
    if g.reference.is_some() {
        consent_line(h, newest_consent(g.subs.iter().map(|s| s.s)));
    }
    h.raw("<table class=\"history\">\n<caption>Newest first</caption>\n<thead><tr><th scope=\"col\">Day</th><th scope=\"col\">What</th><th scope=\"col\">Files</th><th scope=\"col\">Notes</th></tr></thead>\n<tbody>\n");
    for entry in g.timeline() {
        match entry {
            Entry::Sub(s) => {
                h.raw("<tr class=\"sub\"><td class=\"day\">");
                short_day(h, s);
                h.raw("</td><td><a href=\"");
                h.raw(s.id);
                h.raw("/index.html\">Submission <code>");
                h.raw(&s.id[..8]);
                h.raw("</code></a></td><td class=\"n\">");
                h.num(s.s.envelope.attachments.len());
                h.raw("</td><td class=\"notes\">");
                notes(h, s.s);
                h.raw("</td></tr>\n");
            }
            Entry::Reply(r) => {
                h.raw("<tr class=\"reply\"><td class=\"day\">");
                day(h, &r.r.day, true);
                h.raw("</td><td>Reply sent</td><td class=\"n\"></td><td class=\"notes\">");
                h.raw("to submission <code>");
                h.raw(&r.folder[..8]);
                h.raw("</code></td></tr>\n");
            }
        }
    }
    h.raw("</tbody>\n</table>\n</article>\n");
}

fn designation(h: &mut Html, g: &Group<'_>) {
    match (g.designation, g.reference) {
        (Some(d), _) => h.text(d),
        (None, Some(_)) => h.raw("A source whose submissions could not be read"),
        (None, None) => h.raw("Without a source"),
    }
}

fn notes(h: &mut Html, s: &DecryptedSubmission) {
    if has_problems(s) {
        h.raw("<span class=\"flag problem\">Needs checking</span> ");
    }
    let r = reveals(s);
    if !r.is_empty() {
        h.raw("<span class=\"flag meta\">Metadata reveals ");
        let words: Vec<&str> = r.iter().map(|x| reveal_word(*x)).collect();
        h.raw(&words.join(", "));
        h.raw("</span>");
    }
}

fn reveal_word(r: Reveal) -> &'static str {
    match r {
        Reveal::Location => "a location",
        Reveal::Device => "a device",
        Reveal::Person => "a name",
        Reveal::Time => "times",
        Reveal::Other => "other details",
    }
}

fn short_day(h: &mut Html, s: &Sub<'_>) {
    match s.received {
        Some(t) => day(h, t.date(), true),
        None => {
            h.text(&s.s.envelope.received_at);
        }
    }
}

/// A validated `YYYY-MM-DD` as "29 Nov 2026" (`short`) or "29 November 2026"; anything else
/// as escaped text.
fn day(h: &mut Html, date: &str, short: bool) {
    let parsed = crate::day::Day::parse(date).and_then(|_| {
        let m: usize = date.get(5..7)?.parse().ok()?;
        let d: u32 = date.get(8..10)?.parse().ok()?;
        Some((date.get(..4)?, MONTHS.get(m.checked_sub(1)?)?, d))
    });
    match parsed {
        Some((y, month, d)) => {
            h.raw("<time>");
            h.num(d);
            h.raw("&nbsp;");
            h.raw(if short { &month[..3] } else { month });
            h.raw("&nbsp;");
            h.raw(y);
            h.raw("</time>");
        }
        None => h.text(date),
    }
}

fn footer(h: &mut Html) {
    h.raw("<footer>\n<p>Made by ");
    h.raw(TOOL);
    h.raw(" from the case folder. These pages run no script and load nothing. Attachments are named here, never opened: see the README on how to look at one safely.</p>\n</footer>\n");
}

/// One submission's `ID/index.html`.
pub(super) fn submission_page(case: &Case<'_>, folder: &Folder) -> Page {
    let Ok(s) = &folder.submission else {
        return unreadable_page(folder);
    };
    let group = case.group_of(&folder.id);
    let designation = s
        .envelope
        .source
        .as_ref()
        .map(|src| src.designation.as_str());
    let title = match designation {
        Some(d) => format!("Submission from {d}"),
        None => "Submission without a source".to_owned(),
    };
    let mut h = Html::start(&title, "../");
    nav(&mut h);
    h.raw("<main>\n<header class=\"top\">\n<p class=\"kicker\">Submission</p>\n<h1>");
    match designation {
        Some(d) => {
            h.raw("From ");
            h.text(d);
        }
        None => h.raw("Sent without a source reference"),
    }
    h.raw("</h1>\n");
    facts(&mut h, folder, s, group);
    h.raw("</header>\n");

    attention(&mut h, s);

    h.raw("<section id=\"message\" class=\"part\">\n<h2>Message</h2>\n");
    if s.envelope.message.trim().is_empty() {
        h.raw("<p class=\"hint\">The source wrote no message.</p>\n");
    } else {
        h.raw("<div class=\"message\" dir=\"auto\">");
        h.block(&s.envelope.message);
        h.raw("</div>\n");
    }
    h.raw("</section>\n");

    testimony(&mut h, s);

    attachments(&mut h, s);
    verification(&mut h, s);
    if let Some(g) = group {
        replies(&mut h, g);
        others(&mut h, g, &folder.id);
    }
    h.raw("</main>\n");
    footer(&mut h);
    h.finish()
}

fn nav(h: &mut Html) {
    h.raw("<nav class=\"crumbs\" aria-label=\"Case folder\"><a href=\"../index.html\">← All sources</a></nav>\n");
}

fn facts(h: &mut Html, folder: &Folder, s: &DecryptedSubmission, group: Option<&Group<'_>>) {
    h.raw("<dl class=\"facts\">\n");
    if let Some(src) = &s.envelope.source {
        h.raw("<dt>Source</dt><dd>");
        h.text(&src.designation);
        h.raw("</dd>\n<dt>Reference</dt><dd><code>");
        h.text(&src.reference);
        h.raw("</code></dd>\n");
    }
    h.raw("<dt>Received</dt><dd>");
    match Received::parse(&s.envelope.received_at) {
        Some(t) => {
            day(h, t.date(), false);
            h.raw(" at ");
            h.raw(t.time());
            h.raw(" UTC <span class=\"raw\">(");
            h.raw(t.raw);
            h.raw(")</span>");
        }
        None => {
            h.text(&s.envelope.received_at);
            h.raw(" <span class=\"raw\">(not a time this tool recognises)</span>");
        }
    }
    h.raw("</dd>\n<dt>Submission</dt><dd><code>");
    h.raw(&folder.id);
    h.raw("</code></dd>\n<dt>Attachments</dt><dd>");
    h.num(s.envelope.attachments.len());
    h.raw("</dd>\n<dt>Answer</dt><dd>");
    match group.map(|g| (g.state, g.replies.iter().any(|r| r.folder == folder.id))) {
        Some((_, true)) => h.raw("A reply was sent to this submission."),
        Some((State::Waiting, false)) => {
            h.raw("<span class=\"badge waiting\">Not answered yet</span>")
        }
        Some((State::Answered, false)) => h.raw("This source was answered after it."),
        _ => h.raw("There is no way to reply: it came without a source reference."),
    }
    h.raw("</dd>\n</dl>\n");
}

/// What needs attention first: problems, and what the attachments' metadata reveals.
fn attention(h: &mut Html, s: &DecryptedSubmission) {
    let found = problems(s);
    if !found.is_empty() || !s.verified.problems.is_empty() {
        h.raw("<section class=\"notice problem\" aria-labelledby=\"check\">\n<h2 id=\"check\">Check before relying on this submission</h2>\n<ul>\n");
        for p in &found {
            h.raw("<li>");
            h.raw(p);
            h.raw("</li>\n");
        }
        for p in &s.verified.problems {
            h.raw("<li>");
            h.text(p);
            h.raw("</li>\n");
        }
        h.raw("</ul>\n<p>See <a href=\"#verification\">Verification</a> below.</p>\n</section>\n");
    }
    let revealing: Vec<&Attachment> = s
        .envelope
        .attachments
        .iter()
        .filter(|a| review_of(s, a.n).is_some_and(|r| !r.found.is_empty()))
        .collect();
    if !revealing.is_empty() {
        h.raw("<section class=\"notice meta\" aria-labelledby=\"reveals\">\n<h2 id=\"reveals\">What the attachments reveal about the source</h2>\n");
        for a in revealing {
            h.raw("<p><a href=\"#attachment-");
            h.num(a.n);
            h.raw("\">Attachment ");
            h.num(a.n);
            h.raw("</a>: ");
            if let Some(r) = review_of(s, a.n) {
                reveal_sentences(h, r);
            }
            h.raw("</p>\n");
        }
        h.raw("</section>\n");
    }
}

fn review_of(s: &DecryptedSubmission, n: u32) -> Option<&AttachmentReview> {
    s.verified.attachments.iter().find(|r| r.n == n)
}

fn written_of(s: &DecryptedSubmission, n: u32) -> Option<&WrittenFile> {
    s.verified.files.iter().find(|f| f.n == n)
}

/// "This photo records where it was taken. Do not share the original: use the working copy."
fn reveal_sentences(h: &mut Html, r: &AttachmentReview) {
    let photo = matches!(r.kind, Some(Kind::Jpeg | Kind::Png));
    let noun = match r.kind {
        Some(Kind::Jpeg | Kind::Png) => "photo",
        Some(_) => "document",
        None => "file",
    };
    let kinds: std::collections::BTreeSet<Reveal> = r.found.iter().map(classify).collect();
    let mut first = true;
    for k in kinds {
        let sentence = match (k, photo) {
            (Reveal::Location, true) => "records where it was taken.",
            (Reveal::Location, false) => "records a place.",
            (Reveal::Device, true) => "names the camera or phone that made it.",
            (Reveal::Device, false) => "names the computer or program that made it.",
            (Reveal::Person, _) => "names a person (for example its author).",
            (Reveal::Time, _) => "records when it was made or changed.",
            (Reveal::Other, _) => "holds other details about where it comes from.",
        };
        h.raw("<strong>");
        if first {
            h.raw("This ");
            h.raw(noun);
            first = false;
        } else {
            h.raw("It");
        }
        h.raw(" ");
        h.raw(sentence);
        h.raw("</strong> ");
    }
    if r.working.is_some() {
        h.raw("<strong>Do not share the original: use the working copy.</strong>");
    } else {
        h.raw("<strong>There is no working copy: do not share this file as it is.</strong>");
    }
}

fn attachments(h: &mut Html, s: &DecryptedSubmission) {
    h.raw("<section id=\"attachments\" class=\"part\">\n<h2>Attachments <span class=\"count\">(");
    h.num(s.envelope.attachments.len());
    h.raw(")</span></h2>\n");
    if s.envelope.attachments.is_empty() {
        h.raw("<p class=\"hint\">The source attached no files.</p>\n");
    } else {
        h.raw("<p class=\"hint\">The paths are inside this submission's folder. Open an attachment only as the README says: a copy of the working copy, on a separate computer.</p>\n");
    }
    for a in &s.envelope.attachments {
        attachment(h, s, a);
    }
    h.raw("</section>\n");
}

fn attachment(h: &mut Html, s: &DecryptedSubmission, a: &Attachment) {
    let review = review_of(s, a.n);
    let kind = review.and_then(|r| r.kind);
    h.raw("<article class=\"attachment\" id=\"attachment-");
    h.num(a.n);
    h.raw("\">\n<h3>Attachment ");
    h.num(a.n);
    h.raw("</h3>\n");
    if let Some(r) = review.filter(|r| !r.found.is_empty()) {
        h.raw("<p class=\"notice meta\">");
        reveal_sentences(h, r);
        h.raw("</p>\n");
    }
    h.raw("<table class=\"facts\">\n<tr><th scope=\"row\">Name</th><td>");
    h.text(&a.name);
    h.raw("<br><span class=\"note\">The name the source's browser sent.</span></td></tr>\n");
    h.raw("<tr><th scope=\"row\">Type</th><td><code>");
    h.text(&a.content_type);
    h.raw(
        "</code><br><span class=\"note\">As the source's browser described it.</span></td></tr>\n",
    );
    h.raw("<tr><th scope=\"row\">Detected kind</th><td>");
    match kind {
        Some(k) => {
            h.raw(kind_name(k));
            if !a.content_type.eq_ignore_ascii_case(kind_mime(k)) {
                h.raw("<br><span class=\"note\">Its content is a ");
                h.raw(kind_name(k));
                h.raw(", although the browser described it otherwise.</span>");
            }
        }
        None => h.raw("Not recognised by this tool"),
    }
    h.raw("</td></tr>\n<tr><th scope=\"row\">Size</th><td>");
    h.raw(&human_size(a.size));
    h.raw("</td></tr>\n<tr><th scope=\"row\">SHA-256</th><td><code class=\"hash\">");
    h.text(&a.sha256);
    h.raw("</code></td></tr>\n<tr><th scope=\"row\">Original</th><td>");
    match written_of(s, a.n) {
        Some(w) => {
            h.raw("<code class=\"path\">");
            h.text(&w.path);
            h.raw("</code><br><span class=\"note\">The evidence: byte for byte what the source sent. Keep it unchanged and do not share it.</span>");
        }
        None => h.raw("Not written: this file could not be decrypted or did not match its checksum (see Verification)."),
    }
    h.raw("</td></tr>\n<tr><th scope=\"row\">Working copy</th><td>");
    match (
        review.and_then(|r| r.working.as_ref()),
        review.and_then(|r| r.not_cleaned.as_deref()),
    ) {
        (Some(w), _) => {
            h.raw("<code class=\"path\">");
            h.text(&w.path);
            h.raw("</code><br><span class=\"note\">Made without the metadata listed below. Share this one, not the original.</span>");
        }
        (None, Some(why)) => {
            h.raw("None was made: ");
            h.text(why);
        }
        (None, None) if kind.is_none() => {
            h.raw("None: this tool cannot make a working copy of this kind of file.")
        }
        (None, None) => h.raw("None was made."),
    }
    h.raw("</td></tr>\n</table>\n");

    h.raw("<h4>What its metadata reveals</h4>\n");
    match review {
        Some(r) if !r.found.is_empty() => {
            h.raw("<ul class=\"found\">\n");
            for f in &r.found {
                h.raw("<li>");
                h.text(&f.what);
                if let Some(d) = &f.detail {
                    h.raw(": <span class=\"detail\">");
                    h.text(d);
                    h.raw("</span>");
                }
                h.raw("</li>\n");
            }
            h.raw("</ul>\n");
        }
        _ if kind.is_some() => h.raw("<p>Nothing that identifies the source was found.</p>\n"),
        _ => h.raw("<p>This tool cannot look inside this kind of file. It may still hold details that identify the source: treat it with care.</p>\n"),
    }
    if let Some(r) = review.filter(|r| !r.removed.is_empty()) {
        h.raw("<h4>What the working copy no longer has</h4>\n<ul class=\"removed\">\n");
        for item in &r.removed {
            h.raw("<li>");
            h.text(item);
            h.raw("</li>\n");
        }
        h.raw("</ul>\n");
    }
    if let Some(r) = review.filter(|r| !r.kept.is_empty()) {
        h.raw("<h4>What the working copy still holds (not removed: check it before sharing)</h4>\n<ul class=\"kept\">\n");
        for item in &r.kept {
            h.raw("<li>");
            h.text(item);
            h.raw("</li>\n");
        }
        h.raw("</ul>\n");
    }
    h.raw("</article>\n");
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Jpeg => "JPEG image",
        Kind::Png => "PNG image",
        Kind::Pdf => "PDF document",
        Kind::Docx => "Word document",
        Kind::Xlsx => "Excel workbook",
        Kind::Pptx => "PowerPoint presentation",
    }
}

fn kind_mime(k: Kind) -> &'static str {
    match k {
        Kind::Jpeg => "image/jpeg",
        Kind::Png => "image/png",
        Kind::Pdf => "application/pdf",
        Kind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Kind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Kind::Pptx => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
}

/// "1.2 MB (1,234,567 bytes)"; sizes in powers of 1000, as file managers show them.
fn human_size(n: u64) -> String {
    let exact = format!("{} {}", grouped(n), if n == 1 { "byte" } else { "bytes" });
    if n < 1000 {
        return exact;
    }
    let units = ["kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = n as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {} ({exact})", units[unit])
}

fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn yes_no(h: &mut Html, ok: bool, yes: &str, no: &str) {
    if ok {
        h.raw("<span class=\"ok\">Yes</span>: ");
        h.raw(yes);
    } else {
        h.raw("<span class=\"flag problem\">No</span>: ");
        h.raw(no);
    }
}

fn verification(h: &mut Html, s: &DecryptedSubmission) {
    let v = &s.verified;
    h.raw("<section id=\"verification\" class=\"part\">\n<h2>Verification</h2>\n<table class=\"facts\">\n");
    h.raw("<tr><th scope=\"row\">Encrypted files</th><td>");
    yes_no(
        h,
        v.ciphertext_sha256_ok,
        "every encrypted file matched the size and SHA-256 in the export and its ledger, when verified and while decrypted.",
        "an encrypted file did not match the export's record.",
    );
    h.raw("</td></tr>\n<tr><th scope=\"row\">Decrypted files</th><td>");
    yes_no(
        h,
        v.plaintext_sha256_ok,
        "every attachment decrypted to the size and SHA-256 the server recorded when it arrived.",
        "an attachment did not decrypt to what the server recorded.",
    );
    h.raw("</td></tr>\n<tr><th scope=\"row\">Ledger entry</th><td>number ");
    h.num(v.ledger_entry.seq);
    h.raw(", hash <code class=\"hash\">");
    h.text(&v.ledger_entry.hash);
    h.raw("</code></td></tr>\n<tr><th scope=\"row\">Export's ledger head</th><td>");
    match &v.ledger_head {
        Some(head) => {
            h.raw("number ");
            h.num(head.seq);
            h.raw(", hash <code class=\"hash\">");
            h.text(&head.hash);
            h.raw("</code><br><span class=\"note\">Compare it across exports.</span>");
        }
        None => h.raw("not given"),
    }
    h.raw("</td></tr>\n<tr><th scope=\"row\">Case folder's ledger</th><td>");
    match &v.case_ledger {
        None => h.raw("Not checked: decrypted before this case folder kept a ledger."),
        Some(c) => {
            if c.agrees {
                h.raw("<span class=\"ok\">Agrees</span> with the ");
            } else {
                h.raw("<span class=\"flag problem\">Does not agree</span> with the ");
            }
            h.num(c.known_before);
            h.raw(if c.known_before == 1 {
                " entry"
            } else {
                " entries"
            });
            h.raw(" this case folder knew before.");
            if let Some((first, last)) = c.gap {
                h.raw(" <span class=\"flag problem\">Entries ");
                h.num(first);
                h.raw(" to ");
                h.num(last);
                h.raw(" were in no export it has seen.</span>");
            }
        }
    }
    h.raw("</td></tr>\n<tr><th scope=\"row\">Export day</th><td>");
    h.text(&v.export_day);
    h.raw("</td></tr>\n<tr><th scope=\"row\">Problems</th><td>");
    if v.problems.is_empty() {
        h.raw("None");
    } else {
        h.raw("<ul>");
        for p in &v.problems {
            h.raw("<li>");
            h.text(p);
            h.raw("</li>");
        }
        h.raw("</ul>");
    }
    h.raw("</td></tr>\n<tr><th scope=\"row\">Decrypted with</th><td>");
    h.text(&v.tool);
    h.raw("</td></tr>\n</table>\n</section>\n");
}

fn replies(h: &mut Html, g: &Group<'_>) {
    h.raw("<section id=\"replies\" class=\"part\">\n<h2>Replies sent to this source <span class=\"count\">(");
    h.num(g.replies.len());
    h.raw(")</span></h2>\n");
    if g.replies.is_empty() {
        h.raw("<p class=\"hint\">No reply has been sent yet.</p>\n");
    }
    for r in &g.replies {
        h.raw("<article class=\"reply\">\n<h3>");
        day(h, &r.r.day, false);
        h.raw("</h3>\n<p class=\"note\">Encrypted to ");
        plural(h, r.r.recipients.len(), "key", "keys");
        h.raw(" (the source's first, then the reviewers'). Written in reply to submission <a href=\"../");
        h.raw(r.folder);
        h.raw("/index.html\"><code>");
        h.raw(&r.folder[..8]);
        h.raw("</code></a>; reply file <code class=\"path\">");
        h.text(&r.r.file);
        h.raw("</code>.</p>\n<div class=\"message\" dir=\"auto\">");
        h.block(&r.r.text);
        h.raw("</div>\n</article>\n");
    }
    h.raw("</section>\n");
}

fn others(h: &mut Html, g: &Group<'_>, this: &str) {
    if g.subs.len() < 2 {
        return;
    }
    h.raw("<section id=\"others\" class=\"part\">\n<h2>All submissions from this source</h2>\n<ul class=\"others\">\n");
    for s in &g.subs {
        h.raw("<li>");
        if s.id == this {
            h.raw("<strong>");
            short_day(h, s);
            h.raw(": this submission</strong>");
        } else {
            h.raw("<a href=\"../");
            h.raw(s.id);
            h.raw("/index.html\">");
            short_day(h, s);
            h.raw(": submission <code>");
            h.raw(&s.id[..8]);
            h.raw("</code></a>");
        }
        h.raw("</li>\n");
    }
    h.raw("</ul>\n</section>\n");
}

fn unreadable_page(folder: &Folder) -> Page {
    let mut h = Html::start("Submission that could not be read", "../");
    nav(&mut h);
    h.raw("<main>\n<header class=\"top\">\n<p class=\"kicker\">Submission</p>\n<h1>This submission could not be read</h1>\n</header>\n<section class=\"notice problem\">\n<p>Its record, <code>submission.json</code>, could not be read: ");
    if let Err(reason) = &folder.submission {
        h.text(&reason.to_string());
    }
    h.raw(".</p>\n<p>The files in this folder were left as they are. Decrypting the same export again into a new, empty case folder makes a fresh record.</p>\n</section>\n<dl class=\"facts\"><dt>Submission</dt><dd><code>");
    h.raw(&folder.id);
    h.raw("</code></dd></dl>\n</main>\n");
    footer(&mut h);
    h.finish()
}

/// What a consent choice allows, in plain words for reviewers.
fn consent_words(c: crate::envelope::Consent) -> &'static str {
    use crate::envelope::Consent;
    match c {
        Consent::Records => "for the organisation's records only",
        Consent::Legal => {
            "may also go, without the source's name, to lawyers and international bodies (ECHR, UN)"
        }
        Consent::Publish => "may also be published, without the source's name",
    }
}

/// The guided answers and consent of a submission, under English labels, with the language
/// the source answered in.
fn testimony(h: &mut Html, s: &DecryptedSubmission) {
    let Some(t) = s.envelope.testimony.as_ref() else {
        return;
    };
    h.raw("<section id=\"testimony\" class=\"part\">\n<h2>Guided answers and consent</h2>\n");
    h.raw("<p class=\"hint\">Answered in the page's language: <span lang=\"en\">");
    h.text(&t.lang);
    h.raw("</span>. Questions the source left unanswered are not shown.</p>\n<dl class=\"testimony\">\n");
    let texts: [(&str, &Option<String>); 7] = [
        ("When it happened", &t.when),
        ("Where", &t.where_),
        ("Who was responsible", &t.who),
        ("What was done", &t.acts),
        (
            "Injuries and health since, care given or refused",
            &t.injuries,
        ),
        ("Who else saw it or knows", &t.witnesses),
        ("Complaints made, and what came of them", &t.complaints),
    ];
    let mut any = false;
    if let Some(role) = t.role {
        any = true;
        h.raw("<dt>How the source knows</dt><dd>");
        h.text(match role.as_str() {
            "self" => "it happened to them",
            "witness" => "they saw it",
            "relative" => "a relative of the person",
            "lawyer" => "a lawyer of the person",
            _ => "other",
        });
        h.raw("</dd>\n");
    }
    for (label, value) in texts {
        if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
            any = true;
            h.raw("<dt>");
            h.text(label);
            h.raw("</dt><dd><div class=\"message\" dir=\"auto\">");
            h.block(v);
            h.raw("</div></dd>\n");
        }
    }
    if let Some(d) = t.danger {
        any = true;
        h.raw("<dt>In danger now</dt><dd>");
        h.text(d.as_str());
        h.raw("</dd>\n");
    }
    if !any {
        h.raw("<dt>Questions</dt><dd>None answered.</dd>\n");
    }
    h.raw("<dt>Consent</dt><dd>");
    match t.consent {
        Some(c) => h.text(consent_words(c)),
        None => h.raw(
            "not given in this submission (an earlier choice stands; with none, records only)",
        ),
    }
    h.raw("</dd>\n<dt>The source's name</dt><dd>");
    h.raw(match t.consent_name {
        Some(true) => "may be used",
        Some(false) => "must not be used",
        None => "not said in this submission (an earlier choice stands; with none, not to be used)",
    });
    h.raw("</dd>\n</dl>\n</section>\n");
}

/// The newest consent choice of a source: for each of `consent` and `consent_name`, the
/// newest of their submissions that carries it (by receipt time); with none, the most
/// restrictive.
pub(super) fn newest_consent<'a>(
    subs: impl Iterator<Item = &'a DecryptedSubmission>,
) -> (crate::envelope::Consent, bool) {
    let mut all: Vec<&DecryptedSubmission> = subs.collect();
    all.sort_by(|a, b| b.envelope.received_at.cmp(&a.envelope.received_at));
    let consent = all
        .iter()
        .find_map(|s| s.envelope.testimony.as_ref().and_then(|t| t.consent))
        .unwrap_or(crate::envelope::Consent::Records);
    let name = all
        .iter()
        .find_map(|s| s.envelope.testimony.as_ref().and_then(|t| t.consent_name))
        .unwrap_or(false);
    (consent, name)
}

/// One line for the top of a source's thread: their newest consent.
pub(super) fn consent_line(h: &mut Html, consent: (crate::envelope::Consent, bool)) {
    h.raw("<p class=\"consent\"><strong>Consent (newest choice):</strong> ");
    h.text(consent_words(consent.0));
    h.raw(if consent.1 {
        "; their name may be used."
    } else {
        "; their name must not be used."
    });
    h.raw("</p>\n");
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(1234), "1.2 kB (1,234 bytes)");
        assert_eq!(human_size(1_234_567), "1.2 MB (1,234,567 bytes)");
        assert_eq!(human_size(999_999), "1.0 MB (999,999 bytes)");
        assert!(human_size(u64::MAX).contains("EB"));
    }
}
