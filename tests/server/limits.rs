//! Limits and bad input: each gets its answer, nothing is stored, and the server keeps serving.

use std::io::Write;
use std::process::Command;

use crate::util::*;

#[test]
fn over_size_upload_gets_413_and_leaves_nothing() {
    let server = Server::start(Opts {
        max_upload_bytes: 1 << 20,
        ..Opts::default()
    });
    // Two files that together exceed the limit; the body itself fits the transport limit.
    let mp = Multipart::for_form(&server, "/en/submit")
        .text("message", b"too big")
        .file("a.bin", &random_bytes(700_000))
        .file("b.bin", &random_bytes(700_000));
    let (status, body) = post_multipart(&server, "/en/submit", mp);
    assert_eq!(status, 413);
    assert!(
        body.contains("1\u{a0}MiB"),
        "the page states the limit: {body}"
    );
    assert!(
        wait_until(5, || server.blob_folders() == 0),
        "nothing stored"
    );
    // Far over the limit, announced by Content-Length: refused at once.
    let mut s = start_raw_upload(&server, 50 << 20, b"");
    assert_eq!(read_status(&mut s), 413);
    assert!(server.health());
    small_submission_works(&server);
    let export = server.export("export");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(export.join("export.json")).unwrap()).unwrap();
    assert_eq!(m["submissions"].as_array().unwrap().len(), 1);
}

#[test]
fn too_long_message_is_refused() {
    let server = Server::start(Opts::default());
    let long = vec![b'x'; 600 * 1024];
    let (status, _) = post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit").text("message", &long),
    );
    assert_eq!(status, 413);
    assert!(wait_until(5, || server.blob_folders() == 0));
    small_submission_works(&server);
}

#[test]
fn beyond_concurrent_uploads_is_busy_then_recovers() {
    let server = Server::start(Opts {
        max_concurrent_uploads: 1,
        ..Opts::default()
    });
    // One upload in progress: head and the first bytes of a file, then nothing.
    let first = Multipart::for_form(&server, "/en/submit")
        .text("message", b"slow")
        .finish()
        .1;
    let start = String::from_utf8_lossy(&first[..first.len() - 50]).into_owned();
    let mut slow = start_raw_upload(&server, 10 << 20, start.as_bytes());
    // Four more wait in line for the slot (four a slot may wait)...
    let waiting: Vec<_> = (0..4)
        .map(|_| {
            let first = Multipart::for_form(&server, "/en/submit")
                .text("message", b"waiting")
                .finish()
                .1;
            start_raw_upload(&server, 10 << 20, &first[..first.len() - 50])
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // ...and the next one is told the drop is busy, at once.
    let (status, body) = post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit").text("message", b"second"),
    );
    assert_eq!(status, 503);
    assert!(body.to_lowercase().contains("try again"), "{body}");
    // The slow source gives up, and so do those in line; the permit comes back and nothing of
    // them stays.
    slow.flush().unwrap();
    drop(slow);
    drop(waiting);
    assert!(wait_until(10, || post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit").text("message", b"third")
    )
    .0 == 200));
    assert!(wait_until(5, || server.blob_folders() == 1));
}

#[test]
fn malformed_multipart_gets_400() {
    let server = Server::start(Opts::default());
    let token = form_token(&server, "/en/submit");
    let unterminated = format!(
        "--XYZ\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n{token}\r\n--XYZ\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nunterminated"
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "multipart/form-data; boundary=XYZ",
            b"this is not multipart at all".to_vec(),
        ),
        (
            "multipart/form-data; boundary=XYZ",
            unterminated.into_bytes(),
        ),
        ("multipart/form-data", b"--\r\n".to_vec()),
        ("text/plain", b"message=hello".to_vec()),
    ];
    for (ct, body) in cases {
        let r = client()
            .post(server.url("/en/submit"))
            .header("content-type", ct)
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 400, "{ct}");
        assert!(r.text().unwrap().contains("Nothing was stored"));
    }
    // Empty submission: no message, no file.
    let (status, _) = post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit").text("message", b"  "),
    );
    assert_eq!(status, 400);
    assert!(wait_until(5, || server.blob_folders() == 0));
    assert!(server.health());
    small_submission_works(&server);
}

#[test]
fn recipients_file_with_a_secret_key_is_refused() {
    let server = Server::start(Opts::default());
    // A syntactically plausible (not real) secret key line, kept with the other must-fail inputs.
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/fail_secret_key.txt"
    );
    let secret = std::fs::read_to_string(fixture).unwrap();
    let secret = secret
        .lines()
        .find(|l| !l.starts_with('#'))
        .unwrap()
        .to_owned();
    let path = server.path().join("keys/recipients.txt");
    let good = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{good}{secret}\n")).unwrap();
    for cmd in ["serve", "check"] {
        let o = Command::new(DROP)
            .args([cmd, "--config"])
            .arg(server.config())
            .env("WITNESS_DROP_LISTEN", "127.0.0.1:0")
            .output()
            .unwrap();
        assert!(!o.status.success(), "{cmd} must refuse");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("SECRET") && err.contains("line 3"),
            "{cmd}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one-line reason: {err}");
    }
    // The running server is unaffected.
    assert!(server.health());
}

#[test]
fn check_reports_ready_and_refuses_bad_config() {
    let server = Server::start(Opts::default());
    let o = server.drop_cmd(&["check"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("through the running server"));
    let bad = server.path().join("bad.toml");
    std::fs::write(&bad, "listen = \"nowhere\"\n").unwrap();
    let o = Command::new(DROP)
        .args(["check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("listen"));
}

#[test]
fn demo_makes_a_marked_key_that_serve_and_check_refuse() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let mut child = Command::new(DROP)
        .args(["demo", "--dir"])
        .arg(&demo)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut printed = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let done = line.starts_with(witness_drop::server::serve::LISTENING_LINE);
        printed.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = printed.join("\n");
    assert!(
        text.contains("export --config") && text.contains("witness-review -- decrypt"),
        "{text}"
    );
    // With port 0 the instructions point at the real address, never at port 0.
    assert!(!text.contains(":0/"), "{text}");
    assert!(
        text.contains("`witness-drop listening on` line below"),
        "{text}"
    );
    let recipients = std::fs::read_to_string(demo.join("keys/recipients.txt")).unwrap();
    assert!(recipients.contains(witness_drop::keys::DEMO_MARKER));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(demo.join("reviewer-identity.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    for cmd in ["serve", "check"] {
        let o = Command::new(DROP)
            .args([cmd, "--config"])
            .arg(demo.join("witness-drop.toml"))
            .env("WITNESS_DROP_LISTEN", "127.0.0.1:0")
            .output()
            .unwrap();
        assert!(!o.status.success(), "{cmd} must refuse the demo key");
        assert!(String::from_utf8_lossy(&o.stderr).contains("demo"), "{cmd}");
    }
}
