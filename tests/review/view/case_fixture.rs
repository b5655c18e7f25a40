//! Case folders for the reading-view tests, written the way `witness-review decrypt` and
//! `reply` write them (`ID/submission.json`, `ID/replies/REPLY_ID.json`), from
//! `DecryptedSubmission` and `KeptReply` values. Shared with the browser test
//! (`tests/browser/reading_view.rs` includes this file by path).
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use witness_drop::envelope::{Attachment, Envelope, SourceInfo, ENVELOPE_FORMAT};
use witness_drop::export::LedgerHead;
use witness_drop::review::case::KeptReply;
use witness_drop::review::clean::{Finding, Kind};
use witness_drop::review::decrypt::{
    AttachmentReview, CaseLedgerCheck, DecryptedSubmission, Verification, WrittenFile,
};

/// Markup a hostile source may type; none of it may become markup on a page. The
/// `document.title` and `injected` parts show in a browser whether anything ran.
pub const HOSTILE: &str = "Before <b>markup</b> and <script>alert(1)</script> then \
<img src=x onerror=alert(1)> and <script>document.title='pwned'</script>\
<img src=x onerror=\"document.body.insertAdjacentHTML('beforeend','<p id=injected>ran</p>')\">\
<iframe src=\"files/1-photo.jpg\"></iframe><a href=\"files/1-photo.jpg\">open</a>\
<style>body{display:none}</style>\" onmouseover=\"alert(2)\" ' end.";

/// A submission id: 32 lower-case hex digits, distinct for each `n`.
pub fn id(n: u32) -> String {
    format!("{n:08x}{}", "a1b2c3d4e5f60718293a4b5c")
}

/// A reference for source `n`.
pub fn reference(n: u32) -> String {
    format!("{n:04x}{}", "feedfacecafe0123456789abcdef")
}

/// A plain, fully verified submission.
pub fn submission(
    n: u32,
    received_at: &str,
    source: Option<(&str, &str)>,
    message: &str,
) -> DecryptedSubmission {
    DecryptedSubmission {
        envelope: Envelope {
            format: ENVELOPE_FORMAT.to_owned(),
            id: id(n),
            received_at: received_at.to_owned(),
            message: message.to_owned(),
            attachments: vec![],
            source: source.map(|(reference, designation)| SourceInfo {
                reference: reference.to_owned(),
                designation: designation.to_owned(),
                reply_recipient: "age1source".to_owned(),
            }),
            reviewers: vec![],
            testimony: None,
        },
        verified: Verification {
            ciphertext_sha256_ok: true,
            plaintext_sha256_ok: true,
            ledger_entry: LedgerHead {
                seq: u64::from(n),
                hash: "ab".repeat(32),
            },
            ledger_head: Some(LedgerHead {
                seq: 99,
                hash: "cd".repeat(32),
            }),
            export_day: "2026-11-29".to_owned(),
            files: vec![],
            problems: vec![],
            tool: "witness-review 0.1.0".to_owned(),
            case_ledger: Some(CaseLedgerCheck {
                known_before: 3,
                agrees: true,
                gap: None,
            }),
            attachments: vec![],
        },
    }
}

/// Adds attachment `n` as decrypt and the cleaner record it.
pub fn attach(
    s: &mut DecryptedSubmission,
    name: &str,
    safe: &str,
    content_type: &str,
    kind: Option<Kind>,
    found: &[(&str, Option<&str>)],
    removed: &[&str],
) {
    let n = u32::try_from(s.envelope.attachments.len() + 1).unwrap();
    let sha256 = format!("{:064x}", n);
    let size = 1_234_567 * u64::from(n);
    s.envelope.attachments.push(Attachment {
        n,
        name: name.to_owned(),
        content_type: content_type.to_owned(),
        size,
        sha256: sha256.clone(),
    });
    s.verified.files.push(WrittenFile {
        n,
        path: format!("files/{n}-{safe}"),
        size,
        sha256: sha256.clone(),
    });
    let cleaned = kind.is_some();
    s.verified.attachments.push(AttachmentReview {
        n,
        kind,
        found: found
            .iter()
            .map(|(what, detail)| Finding {
                what: (*what).to_owned(),
                detail: detail.map(str::to_owned),
                about: witness_drop::review::clean::About::Other,
            })
            .collect(),
        working: cleaned.then(|| WrittenFile {
            n,
            path: format!("working/{n}-{safe}"),
            size: size / 2,
            sha256: format!("{:064x}", n + 1000),
        }),
        removed: removed.iter().map(|r| (*r).to_owned()).collect(),
        kept: Vec::new(),
        not_cleaned: None,
    });
}

/// Writes `CASE/ID/submission.json` (and an empty `files/`).
pub fn write_submission(case: &Path, s: &DecryptedSubmission) -> PathBuf {
    let folder = case.join(&s.envelope.id);
    fs::create_dir_all(folder.join("files")).unwrap();
    let mut json = serde_json::to_vec_pretty(s).unwrap();
    json.push(b'\n');
    fs::write(folder.join("submission.json"), json).unwrap();
    folder
}

/// Writes a kept reply into `CASE/FOLDER_ID/replies/`.
pub fn write_reply(case: &Path, folder_id: &str, reference: &str, day: &str, text: &str) {
    let dir = case.join(folder_id).join("replies");
    fs::create_dir_all(&dir).unwrap();
    let n = fs::read_dir(&dir).unwrap().count();
    let reply_id = format!("{n:02}{}", &folder_id[2..]);
    let reply = KeptReply {
        id: reply_id.clone(),
        reference: reference.to_owned(),
        day: day.to_owned(),
        text: text.to_owned(),
        text_sha256: "0".repeat(64),
        recipients: vec!["age1source".to_owned(), "age1reviewer".to_owned()],
        file: format!("reply-{reply_id}.age"),
    };
    fs::write(
        dir.join(format!("{reply_id}.json")),
        serde_json::to_vec_pretty(&reply).unwrap(),
    )
    .unwrap();
}

/// The ids a sample case holds.
pub struct Sample {
    /// amber heron's two submissions, older first (answered, then newer and unanswered).
    pub amber: [String; 2],
    /// birch finch's submission (answered).
    pub birch: String,
    /// The submission sent without a source.
    pub alone: String,
    /// The damaged one.
    pub damaged: String,
}

/// A small case as a reviewer would have it: a source waiting for an answer whose newest
/// submission has a hostile message and a photo with GPS metadata, an answered source, a
/// submission without a source with problems, and a damaged `submission.json`.
pub fn sample_case(case: &Path) -> Sample {
    let amber_ref = reference(1);
    let amber = Some((amber_ref.as_str(), "amber heron"));
    let older = submission(
        1,
        "2026-11-20T09:15:00Z",
        amber,
        "They took us to the old school at night.\nThere were six of us.",
    );
    write_submission(case, &older);
    write_reply(
        case,
        &older.envelope.id,
        &amber_ref,
        "2026-11-22",
        "Thank you for writing to us. You are not alone.\nWe will read everything carefully.",
    );
    let mut newer = submission(
        2,
        "2026-11-28T17:42:09Z",
        amber,
        &format!(
            "{HOSTILE}\n\nI am sending the photo of the room.\n\tIndented line.\n{}",
            "A-very-long-word-without-spaces-".repeat(12)
        ),
    );
    attach(
        &mut newer,
        "room\u{202E}gpj.exe",
        "roomgpj.exe",
        "image/jpeg",
        Some(Kind::Jpeg),
        &[
            (
                "where the photo was taken (GPS)",
                Some("41.7151 N, 44.8271 E"),
            ),
            (
                "the camera or phone: make and model",
                Some("Samsung SM-A515F"),
            ),
            ("when the photo was taken", Some("2026:11:27 22:10:04")),
        ],
        &["GPS position", "camera make and model", "dates and times"],
    );
    attach(
        &mut newer,
        "notes <i>v2</i>.pdf",
        "notes _i_v2__i_.pdf",
        "application/pdf",
        Some(Kind::Pdf),
        &[],
        &[],
    );
    attach(
        &mut newer,
        "recording.ogg",
        "recording.ogg",
        "audio/ogg",
        None,
        &[],
        &[],
    );
    write_submission(case, &newer);

    let birch_ref = reference(2);
    let birch = submission(
        3,
        "2026-11-25T08:00:00Z",
        Some((&birch_ref, "birch finch")),
        "My brother has not come home since the 3rd.",
    );
    write_submission(case, &birch);
    write_reply(
        case,
        &birch.envelope.id,
        &birch_ref,
        "2026-11-26",
        "We received your message about your brother.",
    );

    let mut alone = submission(4, "2026-11-27T12:00:00Z", None, "No codename, just this.");
    alone.verified.problems = vec!["4: attachment 1 does not match its sha256".to_owned()];
    alone.verified.plaintext_sha256_ok = false;
    alone.verified.case_ledger = Some(CaseLedgerCheck {
        known_before: 5,
        agrees: false,
        gap: Some((6, 8)),
    });
    write_submission(case, &alone);

    let damaged = id(5);
    fs::create_dir_all(case.join(&damaged)).unwrap();
    fs::write(
        case.join(&damaged).join("submission.json"),
        b"{\"format\": \"witn",
    )
    .unwrap();

    Sample {
        amber: [older.envelope.id, newer.envelope.id],
        birch: birch.envelope.id,
        alone: alone.envelope.id,
        damaged,
    }
}
