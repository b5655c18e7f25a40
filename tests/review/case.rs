//! The case folder over several exports: the remembered ledger (continuation, a gap, a forged
//! history refused by `decrypt` and by `verify --case`), whole-or-nothing submission folders
//! after a SIGKILL, and the custody log.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::fixtures::{build_export, forge_envelope, keygen_plain, part_of, Sub};
use crate::util::{decrypt, decrypted_entries, review, stderr, stdout};

/// Five submissions of one server, as one `Built`.
fn five(
    root: &Path,
) -> (
    std::path::PathBuf,
    age::x25519::Recipient,
    crate::fixtures::Built,
) {
    let key = root.join("key.txt");
    let r = keygen_plain(&key);
    let subs: Vec<Sub> = (0..5)
        .map(|i| {
            Sub::new(
                &format!("testimony {i}"),
                vec![("a.txt", vec![b'a' + i; 100])],
            )
        })
        .collect();
    let built = build_export(&root.join("all"), std::slice::from_ref(&r), &subs);
    (key, r, built)
}

fn verify_case(export: &Path, case: &Path) -> crate::util::TestCommand {
    let mut cmd = review();
    cmd.arg("verify")
        .arg("--in")
        .arg(export)
        .arg("--case")
        .arg(case)
        .show_folder(case);
    cmd
}

fn custody(case: &Path) -> crate::util::TestCommand {
    let mut cmd = review();
    cmd.arg("custody").arg("--in").arg(case).show_folder(case);
    cmd
}

#[test]
fn one_case_folder_takes_exports_in_turn_and_refuses_a_forged_history() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, r, built) = five(tmp.path());
    let case = tmp.path().join("case");
    let first = part_of(&built, 0..2, &tmp.path().join("e1"));
    let second = part_of(&built, 2..4, &tmp.path().join("e2"));
    decrypt(&key, &first, &case).ok();
    verify_case(&second, &case).ok();
    let o = decrypt(&key, &second, &case).ok();
    assert!(
        stdout(&o).contains("decrypted 2 submission(s)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(decrypted_entries(&case).len(), 4);
    let ledger = fs::read_to_string(case.join("ledger.jsonl")).unwrap();
    assert_eq!(ledger.lines().count(), 4, "every verified entry remembered");
    // The reading view is regenerated after each decrypt and lists all four.
    let index = fs::read_to_string(case.join("index.html")).unwrap();
    for id in &built.ids[..4] {
        assert!(
            index.contains(&format!("{id}/index.html")),
            "{id} not in the view"
        );
        assert!(case.join(id).join("index.html").is_file());
    }

    // The server (or someone on the way) replaces submission 1's envelope with one sealed to
    // the reviewers' public keys and recomputes the chain: the export alone verifies...
    let forged = part_of(&built, 0..5, &tmp.path().join("forged"));
    forge_envelope(&forged, 1, &[r], "a different story");
    review().arg("verify").arg("--in").arg(&forged).ok();
    // ...but contradicts what the case folder verified: refused, nothing decrypted.
    let before = crate::util::tree(&case);
    let o = decrypt(&key, &forged, &case).fails_with("ledger entry 1 of this export contradicts");
    assert_eq!(
        stderr(&o)
            .lines()
            .last()
            .map(|l| l.contains("ledger entry 1")),
        Some(true)
    );
    let after = crate::util::tree(&case);
    assert_eq!(
        after.difference(&before).count(),
        0,
        "nothing new in the case folder"
    );
    assert!(
        !case.join(&built.ids[4]).exists(),
        "submission 4 not decrypted"
    );
    let log = fs::read_to_string(case.join("custody.log")).unwrap();
    assert!(log.contains("\"event\":\"export_refused\"") && log.contains("ledger entry 1"));
    verify_case(&forged, &case).fails_with("ledger entry 1 of this export contradicts");
    custody(&case).ok();
}

#[test]
fn an_export_missing_in_between_is_reported_loudly_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, _r, built) = five(tmp.path());
    let case = tmp.path().join("case");
    decrypt(&key, &part_of(&built, 0..2, &tmp.path().join("e1")), &case).ok();
    let o = decrypt(&key, &part_of(&built, 3..5, &tmp.path().join("e3")), &case).ok();
    assert!(
        stderr(&o).contains("WARNING: ledger entries 2 to 2 were never seen"),
        "{}",
        stderr(&o)
    );
    let json: serde_json::Value = serde_json::from_slice(
        &fs::read(case.join(&built.ids[3]).join("submission.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        json["verified"]["case_ledger"]["gap"],
        serde_json::json!([2, 2])
    );
    assert_eq!(json["verified"]["case_ledger"]["known_before"], 2);
    let log = fs::read_to_string(case.join("custody.log")).unwrap();
    assert!(log.contains("\"gap\":[2,2]"), "{log}");
}

#[test]
fn a_decrypt_killed_midway_leaves_nothing_taken_for_finished_and_the_rerun_finishes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key.txt");
    let r = keygen_plain(&key);
    let big: Vec<u8> = (0..(96u32 << 20)).map(|i| (i % 251) as u8).collect();
    let built = build_export(
        &tmp.path().join("export"),
        &[r],
        &[Sub::new("large", vec![("video.bin", big.clone())])],
    );
    let case = tmp.path().join("case");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_witness-review"))
        .args(["decrypt", "--identity"])
        .arg(&key)
        .arg("--in")
        .arg(&built.dir)
        .arg("--out")
        .arg(&case)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once plaintext is being written inside the unfinished folder.
    let deadline = Instant::now() + Duration::from_secs(60);
    let writing = || {
        fs::read_dir(&case).ok()?.find_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let files = e.path().join("files");
            (name.starts_with(".partial-")
                && fs::read_dir(&files).ok()?.any(|f| {
                    f.ok()
                        .and_then(|f| f.metadata().ok())
                        .is_some_and(|m| m.len() > 1 << 20)
                }))
            .then_some(())
        })
    };
    while writing().is_none() {
        assert!(
            Instant::now() < deadline,
            "the decrypt never started writing"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !case.join(&built.ids[0]).exists(),
        "no submission folder appears before it is complete"
    );
    let o = decrypt(&key, &built.dir, &case).ok();
    assert!(
        stderr(&o).contains("left unfinished by an interrupted decrypt"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("decrypted 1 submission(s)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(decrypted_entries(&case), vec![built.ids[0].clone()]);
    assert_eq!(
        fs::read(case.join(&built.ids[0]).join("files/1-video.bin")).unwrap(),
        big
    );
    let log = fs::read_to_string(case.join("custody.log")).unwrap();
    assert!(log.contains("\"event\":\"partial_removed\""), "{log}");
}

#[test]
fn custody_detects_an_edited_line_and_an_edited_message() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, _r, built) = five(tmp.path());
    let case = tmp.path().join("case");
    decrypt(&key, &part_of(&built, 0..2, &tmp.path().join("e1")), &case).ok();
    let o = custody(&case).ok();
    assert!(stdout(&o).contains("export of"), "{}", stdout(&o));
    assert!(stdout(&o).contains("decrypted"), "{}", stdout(&o));

    let message = case.join(&built.ids[0]).join("message.txt");
    let original = fs::read(&message).unwrap();
    fs::write(&message, b"testimony 0, edited").unwrap();
    let o = custody(&case).fails_with("problem(s)");
    assert!(
        stderr(&o).contains("message.txt was altered"),
        "{}",
        stderr(&o)
    );
    fs::write(&message, original).unwrap();
    custody(&case).ok();

    let log = case.join("custody.log");
    let text = fs::read_to_string(&log).unwrap();
    let edited = text.replacen("\"submissions\":2", "\"submissions\":1", 1);
    assert_ne!(edited, text);
    fs::write(&log, edited).unwrap();
    let o = custody(&case).fails_with("problem(s)");
    assert!(stderr(&o).contains("chain is broken"), "{}", stderr(&o));
    fs::remove_file(case.join(&built.ids[1]).join("message.txt")).unwrap();
    let o = custody(&case).fails_with("problem(s)");
    assert!(
        stderr(&o).contains("message.txt was removed"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_photo_with_its_location_gets_a_working_copy_a_warning_and_a_custody_record() {
    let test = "a_photo_with_its_location_gets_a_working_copy_a_warning_and_a_custody_record";
    for tool in ["convert", "exiftool"] {
        let found = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            if std::env::var("WITNESS_DROP_REQUIRE_TOOLS").as_deref() == Ok("1") {
                panic!("{test}: {tool} not installed and WITNESS_DROP_REQUIRE_TOOLS=1");
            }
            println!("SKIPPED: {test}: {tool} not installed");
            return;
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let photo = tmp.path().join("photo.jpg");
    let ok = |c: &mut std::process::Command| assert!(c.status().unwrap().success());
    ok(std::process::Command::new("convert")
        .args(["-size", "64x48", "gradient:red-blue"])
        .arg(&photo));
    ok(std::process::Command::new("exiftool")
        .args([
            "-q",
            "-overwrite_original",
            "-GPSLatitude=40.4093",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=49.8671",
            "-GPSLongitudeRef=E",
            "-Model=CanaryPhone 7",
        ])
        .arg(&photo));
    let bytes = fs::read(&photo).unwrap();
    let key = tmp.path().join("key.txt");
    let r = keygen_plain(&key);
    let built = build_export(
        &tmp.path().join("export"),
        &[r],
        &[Sub::new(
            "see the photo",
            vec![("photo.jpg", bytes.clone())],
        )],
    );
    let case = tmp.path().join("case");
    decrypt(&key, &built.dir, &case).ok();
    let sub = case.join(&built.ids[0]);
    assert_eq!(
        fs::read(sub.join("files/1-photo.jpg")).unwrap(),
        bytes,
        "evidence untouched"
    );
    let copy = fs::read(sub.join("working/1-photo.jpg")).unwrap();
    assert!(
        !copy.windows(10).any(|w| w == b"CanaryPhon"),
        "device gone from the copy"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(sub.join("submission.json")).unwrap()).unwrap();
    let review = &json["verified"]["attachments"][0];
    assert_eq!(review["kind"], "jpeg");
    assert_eq!(review["working"]["path"], "working/1-photo.jpg");
    assert!(
        review["found"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["about"] == "location"),
        "{review}"
    );
    let page = fs::read_to_string(sub.join("index.html")).unwrap();
    assert!(
        page.contains("records where it was taken"),
        "the warning is on the page"
    );
    let log = fs::read_to_string(case.join("custody.log")).unwrap();
    assert!(log.contains("\"event\":\"working_copy_made\""), "{log}");
    custody(&case).ok();
}

#[test]
fn guided_answers_and_the_newest_consent_are_in_the_reading_view() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key.txt");
    let r = keygen_plain(&key);
    let mut sub = Sub::new("what happened", vec![]);
    sub.tamper_envelope = Some(|e: &mut witness_drop::envelope::Envelope| {
        let mut t = witness_drop::envelope::Testimony::new("ru");
        t.when = Some("весной, <b>в марте</b>".into());
        t.consent = Some(witness_drop::envelope::Consent::Legal);
        t.consent_name = Some(false);
        e.testimony = Some(t);
    });
    let built = build_export(&tmp.path().join("export"), &[r], &[sub]);
    let case = tmp.path().join("case");
    decrypt(&key, &built.dir, &case).ok();
    let page = fs::read_to_string(case.join(&built.ids[0]).join("index.html")).unwrap();
    assert!(page.contains("Guided answers and consent"), "{page}");
    assert!(page.contains("When it happened"));
    assert!(
        page.contains("весной, &lt;b&gt;в марте&lt;/b&gt;"),
        "escaped"
    );
    assert!(page.contains("lawyers and international bodies"));
    assert!(page.contains("must not be used"));
    let index = fs::read_to_string(case.join("index.html")).unwrap();
    assert!(index.contains("Consent (newest choice):"), "{index}");
    assert!(index.contains("lawyers and international bodies"));
}
