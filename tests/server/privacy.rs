//! What the server keeps and logs: ciphertext, ids and days only.

use std::io::Write;

use crate::util::*;

#[test]
fn canary_is_never_stored_logged_or_left_in_temp() {
    let server = Server::start(Opts::default());
    let canary = canary("privacy");
    let file_content = format!("start {canary} end").repeat(1000);
    let file_name = format!("{canary}.txt");
    let (status, _) = post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit")
            .text("message", format!("my message {canary}").as_bytes())
            .file(&file_name, file_content.as_bytes()),
    );
    assert_eq!(status, 200);
    // An aborted upload that carries the canary too.
    let (_, body) = Multipart::for_form(&server, "/en/submit")
        .text("message", format!("aborted {canary}").as_bytes())
        .file(&file_name, file_content.as_bytes())
        .finish();
    // Everything but the closing boundary: the upload never completes.
    let mut s = start_raw_upload(&server, body.len(), &body[..body.len() - 60]);
    s.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(s);
    assert!(wait_until(10, || server.blob_folders() == 1));
    // And a bad request that carries it.
    let _ = client()
        .post(server.url("/en/submit"))
        .header("content-type", "multipart/form-data; boundary=Q")
        .body(format!("--Q\r\nbroken {canary}"))
        .send();
    let export = server.export("export");
    let needle = canary.as_bytes();
    assert_eq!(
        files_containing(&server.data(), needle),
        Vec::<std::path::PathBuf>::new()
    );
    assert_eq!(
        files_containing(&server.path().join("tmp"), needle),
        Vec::<std::path::PathBuf>::new()
    );
    assert_eq!(
        files_containing(&export, needle),
        Vec::<std::path::PathBuf>::new()
    );
    let log = std::fs::read_to_string(server.log()).unwrap();
    assert!(!log.contains(&canary), "{log}");
}

#[test]
fn logs_and_stored_metadata_carry_no_time_or_address() {
    let server = Server::start(Opts::default());
    let r = client()
        .post(server.url("/en/submit"))
        .header("user-agent", "UA-CANARY-7f3a")
        .multipart(
            reqwest::blocking::multipart::Form::new()
                .text("token", form_token(&server, "/en/submit"))
                .text("message", "hello"),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = client().get(server.url("/en/nowhere")).send();
    let export = server.export("export");
    let log = std::fs::read_to_string(server.log()).unwrap();
    assert!(!log.contains("127.0.0.1:"), "no address in the log: {log}");
    assert!(!log.contains("UA-CANARY"), "no user agent in the log");
    let time = regex_like_time(&log);
    assert!(time.is_none(), "no time of day in the log: {time:?}");
    let manifest = std::fs::read_to_string(export.join("export.json")).unwrap();
    assert!(regex_like_time(&manifest).is_none(), "{manifest}");
    // Submission ids are random, not sequential.
    let m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let id = m["submissions"][0]["id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
}

/// Finds an `HH:MM` time of day.
fn regex_like_time(text: &str) -> Option<String> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(4)).find_map(|i| {
        let w = &b[i..i + 5];
        let d = |c: u8| c.is_ascii_digit();
        (d(w[0]) && d(w[1]) && w[2] == b':' && d(w[3]) && d(w[4])).then(|| {
            String::from_utf8_lossy(&b[i.saturating_sub(20)..(i + 20).min(b.len())]).into_owned()
        })
    })
}
