//! `witness-review reply`: the reply file it writes (its name, that the source, every reviewer
//! and the replying reviewer can read it, with this crate and with the reference `age`, and that
//! the server's check accepts it), and that bad input is refused with one line and no file, and
//! nothing is ever overwritten.
//!
//! A decrypted submission folder is built here as `witness-review decrypt` writes it (a
//! `submission.json` holding an envelope with a `source` and `reviewers`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use age::secrecy::ExposeSecret;
use witness_drop::envelope::{Envelope, SourceInfo, ENVELOPE_FORMAT};
use witness_drop::export::{new_id, LedgerHead};
use witness_drop::reply::{
    check_reply_ciphertext, decrypt_reply, parse_reply_file_name, MAX_REPLY_TEXT,
};
use witness_drop::review::case::KeptReply;
use witness_drop::review::decrypt::{DecryptedSubmission, Verification};
use witness_drop::review::reply::write_reply_file;

use crate::util::{reference_age_missing, review, stderr, stdout, TestCommand};

const TEXT: &str = "Thank you. Which day did you see the convoy, and from where?\n— «amber» ✓\n";

/// Writes an identity file as age-keygen does.
fn write_identity(path: &Path, id: &age::x25519::Identity) {
    let text = format!(
        "# created: 2026-01-01T00:00:00Z\n# public key: {}\n{}\n",
        id.to_public(),
        id.to_string().expose_secret()
    );
    fs::write(path, text).unwrap();
}

/// Everything a test needs: the three parties' keys, the submission folder, the reviewer's
/// identity file and message file.
struct Setup {
    tmp: tempfile::TempDir,
    source: age::x25519::Identity,
    source_key: PathBuf,
    other_reviewer: age::x25519::Identity,
    me: age::x25519::Identity,
    my_key: PathBuf,
    reference: String,
    submission: PathBuf,
    message: PathBuf,
    out: PathBuf,
}

fn envelope(source: Option<SourceInfo>, reviewers: Vec<String>) -> Envelope {
    Envelope {
        format: ENVELOPE_FORMAT.to_owned(),
        id: new_id().unwrap(),
        received_at: "2026-11-29T10:00:00Z".to_owned(),
        message: "I saw it.".to_owned(),
        attachments: vec![],
        source,
        reviewers,
        testimony: None,
    }
}

/// Writes OUT_DIR/ID/submission.json (plus message.txt and files/) as `decrypt` does.
fn write_submission(out_dir: &Path, envelope: Envelope) -> PathBuf {
    let folder = out_dir.join(&envelope.id);
    fs::create_dir_all(folder.join("files")).unwrap();
    fs::write(folder.join("message.txt"), &envelope.message).unwrap();
    let record = DecryptedSubmission {
        envelope,
        verified: Verification {
            ciphertext_sha256_ok: true,
            plaintext_sha256_ok: true,
            ledger_entry: LedgerHead {
                seq: 1,
                hash: "0".repeat(64),
            },
            ledger_head: None,
            export_day: "2026-11-29".to_owned(),
            files: vec![],
            problems: vec![],
            tool: "witness-review test".to_owned(),
            case_ledger: None,
            attachments: vec![],
        },
    };
    fs::write(
        folder.join("submission.json"),
        serde_json::to_vec_pretty(&record).unwrap(),
    )
    .unwrap();
    folder
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let source = age::x25519::Identity::generate();
    let other_reviewer = age::x25519::Identity::generate();
    let me = age::x25519::Identity::generate();
    let source_key = tmp.path().join("source-key.txt");
    write_identity(&source_key, &source);
    let my_key = tmp.path().join("my-key.txt");
    write_identity(&my_key, &me);
    let reference = new_id().unwrap();
    let submission = write_submission(
        &tmp.path().join("decrypted"),
        envelope(
            Some(SourceInfo {
                reference: reference.clone(),
                designation: "amber heron".to_owned(),
                reply_recipient: source.to_public().to_string(),
            }),
            vec![other_reviewer.to_public().to_string()],
        ),
    );
    // The reviewers' key ceremony: the case folder trusts the other reviewer.
    fs::write(
        tmp.path().join("decrypted/trusted-reviewers.txt"),
        format!("# ceremony\n{}\n", other_reviewer.to_public()),
    )
    .unwrap();
    let message = tmp.path().join("reply.txt");
    fs::write(&message, TEXT).unwrap();
    let out = tmp.path().join("replies");
    Setup {
        tmp,
        source,
        source_key,
        other_reviewer,
        me,
        my_key,
        reference,
        submission,
        message,
        out,
    }
}

fn reply(s: &Setup, submission: &Path, message: &Path) -> TestCommand {
    let mut cmd = review();
    cmd.arg("reply")
        .arg("--identity")
        .arg(&s.my_key)
        .arg("--submission")
        .arg(submission)
        .arg("--message")
        .arg(message)
        .arg("--out")
        .arg(&s.out)
        .show_folder(s.tmp.path());
    cmd
}

/// The files in `dir`, sorted; none if it does not exist.
fn listing(dir: &Path) -> Vec<String> {
    let Ok(rd) = fs::read_dir(dir) else {
        return vec![];
    };
    let mut names: Vec<String> = rd
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Checks the single new reply file named on stdout of a successful run (`.ok()`) and returns
/// its path.
fn written(s: &Setup, o: &Output) -> PathBuf {
    let out = stdout(o);
    let name = out.lines().next().unwrap().to_owned();
    let parsed = parse_reply_file_name(&name).unwrap_or_else(|| panic!("bad name {name:?}"));
    assert_eq!(parsed.reference, s.reference);
    assert_ne!(parsed.reply_id, s.reference);
    assert!(
        out.contains("witness-drop import-replies"),
        "no import hint: {out}"
    );
    let path = s.out.join(&name);
    assert!(path.is_file());
    path
}

// ---------------------------------------------------------------------------------------------
// What it writes

#[test]
fn reply_is_readable_by_the_source_and_every_reviewer_and_passes_the_server_check() {
    let s = setup();
    let o = reply(&s, &s.submission, &s.message).ok();
    let path = written(&s, &o);
    assert!(stderr(&o).contains("amber heron"), "{}", stderr(&o));

    let bytes = fs::read(&path).unwrap();
    check_reply_ciphertext(&bytes).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    assert!(!bytes.windows(20).any(|w| w == &TEXT.as_bytes()[..20]));
    for who in [&s.source, &s.other_reviewer, &s.me] {
        assert_eq!(decrypt_reply(&bytes, who).unwrap().as_str(), TEXT);
    }
    let stranger = age::x25519::Identity::generate();
    assert!(decrypt_reply(&bytes, &stranger).is_err());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mode = fs::metadata(&s.out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
    // Nothing but the reply file in DIR; the reply kept in the case folder, logged, and in
    // the regenerated reading view.
    assert_eq!(listing(&s.out).len(), 1);
    assert_eq!(
        listing(&s.submission),
        [
            "files",
            "index.html",
            "message.txt",
            "replies",
            "submission.json"
        ]
    );
    let page = fs::read_to_string(s.submission.join("index.html")).unwrap();
    assert!(
        page.contains("Thank you"),
        "the reply is in the submission's page"
    );
    let kept = listing(&s.submission.join("replies"));
    assert_eq!(kept.len(), 1);
    let kept: KeptReply =
        serde_json::from_slice(&fs::read(s.submission.join("replies").join(&kept[0])).unwrap())
            .unwrap();
    assert_eq!(kept.text, TEXT);
    assert_eq!(kept.recipients.len(), 3);
    let log = fs::read_to_string(s.tmp.path().join("decrypted/custody.log")).unwrap();
    assert!(log.contains("\"event\":\"reply_written\""), "{log}");
    assert!(log.contains(&kept.id));
}

#[test]
fn a_key_the_envelope_lists_but_the_case_folder_does_not_trust_cannot_open_the_reply() {
    let s = setup();
    // A server that added its own key to the envelope's reviewer list.
    let server = age::x25519::Identity::generate();
    let folder = write_submission(
        &s.tmp.path().join("decrypted"),
        envelope(
            Some(SourceInfo {
                reference: s.reference.clone(),
                designation: "amber heron".to_owned(),
                reply_recipient: s.source.to_public().to_string(),
            }),
            vec![
                s.other_reviewer.to_public().to_string(),
                server.to_public().to_string(),
            ],
        ),
    );
    let o = reply(&s, &folder, &s.message).ok();
    let bytes = fs::read(written(&s, &o)).unwrap();
    assert!(
        decrypt_reply(&bytes, &server).is_err(),
        "the untrusted key must not open the reply"
    );
    for who in [&s.source, &s.other_reviewer, &s.me] {
        assert_eq!(decrypt_reply(&bytes, who).unwrap().as_str(), TEXT);
    }
    let err = stderr(&o);
    assert!(
        err.contains("NOT used") && err.contains(&server.to_public().to_string()),
        "{err}"
    );
}

#[test]
fn a_second_reply_is_a_second_file_and_the_first_is_untouched() {
    let s = setup();
    let first = written(&s, &reply(&s, &s.submission, &s.message).ok());
    let first_bytes = fs::read(&first).unwrap();
    let second_text = "One more question: were you alone?";
    let m2 = s.tmp.path().join("reply2.txt");
    fs::write(&m2, second_text).unwrap();
    let second = written(
        &s,
        &reply(&s, &s.submission.join("submission.json"), &m2).ok(),
    );
    assert_ne!(first, second);
    assert_eq!(fs::read(&first).unwrap(), first_bytes);
    assert_eq!(listing(&s.out).len(), 2);
    let bytes = fs::read(&second).unwrap();
    assert_eq!(
        decrypt_reply(&bytes, &s.source).unwrap().as_str(),
        second_text
    );
}

#[test]
fn a_passphrase_protected_identity_works_through_the_environment() {
    let s = setup();
    // Protect the reviewer's identity with a passphrase (low work factor: fast test).
    let plain = fs::read(&s.my_key).unwrap();
    let mut r =
        age::scrypt::Recipient::new(age::secrecy::SecretString::from("correct horse".to_owned()));
    r.set_work_factor(10);
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
    let mut protected = Vec::new();
    let mut w = enc.wrap_output(&mut protected).unwrap();
    std::io::Write::write_all(&mut w, &plain).unwrap();
    w.finish().unwrap();
    fs::write(&s.my_key, &protected).unwrap();

    let mut cmd = reply(&s, &s.submission, &s.message);
    cmd.env("WITNESS_REVIEW_PASSPHRASE", "wrong")
        .fails_with_one_line("wrong passphrase");
    assert!(listing(&s.out).is_empty());
    let ok = cmd.env("WITNESS_REVIEW_PASSPHRASE", "correct horse").ok();
    let path = written(&s, &ok);
    let bytes = fs::read(path).unwrap();
    assert_eq!(decrypt_reply(&bytes, &s.me).unwrap().as_str(), TEXT);
}

#[test]
fn reference_age_decrypts_the_reply_with_the_source_identity() {
    if reference_age_missing("reference_age_decrypts_the_reply_with_the_source_identity") {
        return;
    }
    let s = setup();
    let path = written(&s, &reply(&s, &s.submission, &s.message).ok());
    for key in [&s.source_key, &s.my_key] {
        let o = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(key)
            .arg(&path)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8(o.stdout).unwrap(), TEXT);
    }
}

// ---------------------------------------------------------------------------------------------
// Refusals: one line, non-zero exit, no file

#[test]
fn refuses_a_submission_without_a_reply_channel() {
    let s = setup();
    let old = write_submission(&s.tmp.path().join("decrypted"), envelope(None, vec![]));
    reply(&s, &old, &s.message).fails_with_one_line(
        "this submission has no reply channel (sent before codenames existed)",
    );
    assert!(listing(&s.out).is_empty());
}

#[test]
fn refuses_a_bad_reference_or_recipient_in_submission_json() {
    let s = setup();
    let good = s.source.to_public().to_string();
    let cases: Vec<(SourceInfo, Vec<String>, &str)> = vec![
        (
            SourceInfo {
                reference: "../../etc".to_owned(),
                designation: "amber heron".to_owned(),
                reply_recipient: good.clone(),
            },
            vec![],
            "source reference",
        ),
        (
            SourceInfo {
                reference: s.reference.to_uppercase(),
                designation: "amber heron".to_owned(),
                reply_recipient: good.clone(),
            },
            vec![],
            "source reference",
        ),
        (
            SourceInfo {
                reference: s.reference.clone(),
                designation: "amber heron".to_owned(),
                reply_recipient: "age1notakey\u{202e}".to_owned(),
            },
            vec![],
            "source's reply recipient",
        ),
        (
            SourceInfo {
                reference: s.reference.clone(),
                designation: "amber heron".to_owned(),
                reply_recipient: good.clone(),
            },
            vec!["AGE-SECRET-KEY-XYZ".to_owned()],
            "reviewer recipient",
        ),
    ];
    for (source, reviewers, needle) in cases {
        let sub = write_submission(
            &s.tmp.path().join("decrypted"),
            envelope(Some(source), reviewers),
        );
        let o = reply(&s, &sub, &s.message).fails_with_one_line(needle);
        assert!(!stderr(&o).contains('\u{202e}'));
        assert!(listing(&s.out).is_empty());
    }
    // Not a submission.json at all.
    let junk = s.tmp.path().join("junk");
    fs::create_dir_all(&junk).unwrap();
    fs::write(junk.join("submission.json"), "{\"source\": 3").unwrap();
    reply(&s, &junk, &s.message).fails_with_one_line("not a submission.json");
    let missing = s.tmp.path().join("nowhere");
    reply(&s, &missing, &s.message).fails_with_one_line("cannot read");
    assert!(listing(&s.out).is_empty());
}

#[test]
fn refuses_a_missing_empty_long_or_binary_message() {
    let s = setup();
    let m = s.tmp.path().join("m.txt");
    reply(&s, &s.submission, &m).fails_with_one_line("cannot read the message file");

    for empty in ["", " \n\t\n"] {
        fs::write(&m, empty).unwrap();
        reply(&s, &s.submission, &m).fails_with_one_line("is empty");
    }
    let long = "q".repeat(MAX_REPLY_TEXT + 1);
    fs::write(&m, &long).unwrap();
    let o = reply(&s, &s.submission, &m).fails_with_one_line("longer than");
    assert!(!stderr(&o).contains("qqqq"));

    fs::write(&m, [0xffu8, 0xfe, b'a']).unwrap();
    reply(&s, &s.submission, &m).fails_with_one_line("not UTF-8");

    // Exactly the limit is fine.
    fs::write(&m, "q".repeat(MAX_REPLY_TEXT)).unwrap();
    let path = written(&s, &reply(&s, &s.submission, &m).ok());
    let bytes = fs::read(path).unwrap();
    assert_eq!(
        decrypt_reply(&bytes, &s.source).unwrap().len(),
        MAX_REPLY_TEXT
    );
    assert_eq!(listing(&s.out).len(), 1);
}

#[test]
fn refuses_a_recipients_file_as_identity_and_an_output_that_is_a_file() {
    let s = setup();
    let recipients = s.tmp.path().join("recipients.txt");
    fs::write(&recipients, format!("{}\n", s.me.to_public())).unwrap();
    review()
        .arg("reply")
        .arg("--identity")
        .arg(&recipients)
        .arg("--submission")
        .arg(&s.submission)
        .arg("--message")
        .arg(&s.message)
        .arg("--out")
        .arg(&s.out)
        .show_folder(s.tmp.path())
        .fails_with_one_line("cannot load your identity");
    assert!(!s.out.exists());

    fs::write(&s.out, b"not a folder").unwrap();
    reply(&s, &s.submission, &s.message).fails_with_one_line("output folder");
    assert_eq!(fs::read(&s.out).unwrap(), b"not a folder");
}

#[test]
fn an_existing_output_file_is_never_overwritten() {
    let s = setup();
    // Files already in the output folder stay as they are.
    fs::create_dir_all(&s.out).unwrap();
    let name = format!("reply-{}-{}.age", s.reference, new_id().unwrap());
    fs::write(s.out.join(&name), b"earlier").unwrap();
    let path = written(&s, &reply(&s, &s.submission, &s.message).ok());
    assert_ne!(path, s.out.join(&name));
    assert_eq!(fs::read(s.out.join(&name)).unwrap(), b"earlier");

    // The name is random, so a collision is forced through the library: the file that is
    // there, or a symbolic link, is left as it was and the write fails.
    let parsed = parse_reply_file_name(&name).unwrap();
    let err = write_reply_file(&s.out, &parsed, b"new").unwrap_err();
    assert!(err.to_string().contains("cannot write"), "{err}");
    assert_eq!(fs::read(s.out.join(&name)).unwrap(), b"earlier");
    #[cfg(unix)]
    {
        let target = s.tmp.path().join("target");
        fs::write(&target, b"target").unwrap();
        let link_name = format!("reply-{}-{}.age", s.reference, new_id().unwrap());
        std::os::unix::fs::symlink(&target, s.out.join(&link_name)).unwrap();
        let parsed = parse_reply_file_name(&link_name).unwrap();
        assert!(write_reply_file(&s.out, &parsed, b"new").is_err());
        assert_eq!(fs::read(&target).unwrap(), b"target");
    }
}
