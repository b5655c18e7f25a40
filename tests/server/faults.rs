//! Fault injection in the commit: each step made to fail, and the process ended between steps
//! (see `src/server/failpoint.rs`). After a restart every acknowledged submission is there and
//! exports, nothing unacknowledged is visible, and `check` passes.
//!
//! The failpoints exist only in debug builds; under `cargo test --release` these tests say
//! SKIPPED.

use std::collections::BTreeSet;
use std::process::Command;

use crate::util::*;

/// Submits `message` (and a small file) as a new source; the status, or `None` when the
/// connection ended without an answer.
fn submit(server: &Server, message: &str) -> Option<(u16, String)> {
    let form = Multipart::for_form(server, "/en/submit")
        .text("message", message.as_bytes())
        .file("note.txt", message.as_bytes());
    let (ct, body) = form.finish();
    let r = client()
        .post(server.url("/en/submit"))
        .header("content-type", ct)
        .body(body)
        .send()
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.text().ok()?))
}

/// The messages of every committed submission, through export --all, verify and decrypt.
fn messages(server: &Server, name: &str) -> BTreeSet<String> {
    let export = server.path().join(name);
    let o = Command::new(DROP)
        .args(["export", "--all", "--config"])
        .arg(server.config())
        .arg("--out")
        .arg(&export)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(REVIEW)
        .args(["verify", "--in"])
        .arg(&export)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "verify: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = server.decrypt(&export, &format!("{name}-decrypted"));
    std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| std::fs::read(e.unwrap().path().join("submission.json")).ok())
        .map(|j| {
            let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
            v["message"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn check_passes(server: &Server) {
    let o = server.drop_cmd(&["check"]);
    assert!(
        o.status.success(),
        "check: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // Every source has exactly one consent note, and nothing is left pending.
    let names = |dir: &str| -> Vec<String> {
        std::fs::read_dir(server.data().join("journal").join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let (sources, notes) = (names("sources"), names("consent"));
    assert!(
        sources.iter().chain(&notes).all(|n| n.ends_with(".json")),
        "{sources:?} {notes:?}"
    );
    assert_eq!(sources.len(), notes.len(), "{sources:?} {notes:?}");
}

#[derive(Clone, Copy, PartialEq)]
enum Action {
    /// The step fails; the server answers and keeps running.
    Error,
    /// The process ends at the step, as if killed.
    Exit,
}

/// Where the commit point is: a process ended at or after `commit.done` has committed.
fn committed_when_ended_at(point: &str) -> bool {
    point == "commit.done"
}

fn run(point: &str, action: Action) {
    if !cfg!(debug_assertions) {
        eprintln!("SKIPPED: failpoint {point}: failpoints exist only in debug builds");
        return;
    }
    let mut server = Server::start(Opts::default());
    let (status, page) = submit(&server, "acknowledged before").unwrap();
    assert_eq!(status, 200, "{page}");
    server.kill();

    let armed = match action {
        Action::Error => format!("{point}=error@1"),
        Action::Exit => format!("{point}=exit@1"),
    };
    server.spawn_with_failpoint(&armed);
    let answer = submit(&server, "hit by the fault");
    let mut expected: BTreeSet<String> = ["acknowledged before".to_owned()].into();
    match action {
        Action::Error => {
            let (status, page) = answer.expect("the server answers a failed step");
            assert!(
                status == 500 || status == 503,
                "{point}: a failed step must not give a receipt: {status}"
            );
            assert!(!page.contains("id=\"receipt\""), "{point}: {page}");
            // The server keeps running, and the next submission is stored.
            let (status, page) = submit(&server, "after the fault").unwrap();
            assert_eq!(status, 200, "{point}: the next submission: {page}");
            expected.insert("after the fault".to_owned());
            assert!(server.health());
            server.kill();
        }
        Action::Exit => {
            if let Some((status, page)) = &answer {
                assert_ne!(
                    *status, 200,
                    "{point}: no receipt from a process that ended: {page}"
                );
            }
            let status = server.wait_exit(20.0).expect("the process ended");
            assert_eq!(status.code(), Some(86), "{point}: ended at the failpoint");
            if committed_when_ended_at(point) {
                expected.insert("hit by the fault".to_owned());
            }
        }
    }

    server.spawn();
    check_passes(&server);
    assert_eq!(
        messages(&server, "after-restart"),
        expected,
        "{point} ({}): acknowledged submissions all there, nothing else",
        if action == Action::Error {
            "error"
        } else {
            "exit"
        }
    );
    let (status, _) = submit(&server, "after the restart").unwrap();
    assert_eq!(status, 200);
    check_passes(&server);
}

macro_rules! matrix {
    ($($name:ident: $point:literal, $action:ident;)*) => {
        $(
            #[test]
            fn $name() {
                run($point, Action::$action);
            }
        )*
    };
}

matrix! {
    a_failed_ciphertext_write_leaves_nothing: "blob.write", Error;
    a_failed_ciphertext_fsync_leaves_nothing: "blob.fsync", Error;
    a_failed_source_record_leaves_nothing: "commit.source", Error;
    a_failed_consent_note_leaves_nothing: "commit.consent", Error;
    a_failed_journal_entry_leaves_nothing: "commit.pending", Error;
    a_failed_transaction_is_undone: "commit.transaction", Error;
    a_failed_flush_is_undone: "commit.flush", Error;
    a_failed_commit_point_is_undone: "commit.finalize", Error;
    ended_while_writing_ciphertext: "blob.write", Exit;
    ended_before_the_ciphertext_fsync: "blob.fsync", Exit;
    ended_before_the_source_record: "commit.source", Exit;
    ended_before_the_consent_note: "commit.consent", Exit;
    ended_before_the_journal_entry: "commit.pending", Exit;
    ended_after_the_transaction: "commit.transaction", Exit;
    ended_before_the_flush: "commit.flush", Exit;
    ended_before_the_commit_point: "commit.finalize", Exit;
    ended_after_the_commit_point_keeps_the_submission: "commit.done", Exit;
}
