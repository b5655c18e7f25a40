//! Bounded before checked: what one cheap client can make the server hold, and for how long.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::util::*;

/// Sends `chunk` repeatedly, up to `limit` bytes, until the server answers or closes; returns
/// how many bytes were written and the status answered (0: none within the read timeout).
fn flood(mut s: TcpStream, chunk: &[u8], limit: usize) -> (usize, u16) {
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut sent = 0;
    while sent < limit {
        match s.write_all(chunk) {
            Ok(()) => sent += chunk.len(),
            Err(_) => break,
        }
    }
    (sent, read_status(&mut s))
}

#[test]
fn a_preamble_without_a_boundary_is_refused_after_kilobytes() {
    let server = Server::start(Opts::default());
    // 32 MiB announced, never a boundary: the parser would buffer and rescan all of it.
    let s = start_raw_upload(&server, 32 << 20, b"");
    let (sent, status) = flood(s, &[b'-'; 64 * 1024], 24 << 20);
    assert_eq!(status, 400, "answered with the 400 page");
    assert!(
        sent < 24 << 20,
        "refused before the client finished sending ({sent} bytes sent)"
    );
    assert!(server.health());
    small_submission_works(&server);
}

#[test]
fn a_part_header_that_never_ends_is_refused_after_kilobytes() {
    let server = Server::start(Opts::default());
    let first = b"------witnessdroptestboundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"files\"; filename=\"";
    let s = start_raw_upload(&server, 32 << 20, first);
    let (sent, status) = flood(s, &[b'a'; 64 * 1024], 24 << 20);
    assert_eq!(status, 400);
    assert!(sent < 24 << 20, "{sent} bytes sent");
    assert!(server.health());
    small_submission_works(&server);
}

#[test]
fn a_body_that_does_not_start_with_the_token_is_refused_and_holds_no_slot() {
    let server = Server::start(Opts {
        max_concurrent_uploads: 1,
        ..Opts::default()
    });
    // The message before the token: refused with the 403 page, whatever comes after.
    let (status, _) = post_multipart(
        &server,
        "/en/submit",
        Multipart::new()
            .text("message", b"no token first")
            .text("token", form_token(&server, "/en/submit").as_bytes()),
    );
    assert_eq!(status, 403);
    // A connection that sent its headers and nothing of its body holds no upload slot: a real
    // source still gets through while it waits.
    let idle = start_raw_upload(&server, 1 << 20, b"");
    std::thread::sleep(Duration::from_millis(300));
    small_submission_works(&server);
    drop(idle);
}

#[test]
fn too_many_parts_are_refused() {
    let server = Server::start(Opts::default());
    let mut mp = Multipart::for_form(&server, "/en/submit").text("message", b"many parts");
    for _ in 0..600 {
        mp = mp.text("x", b"");
    }
    let (status, body) = post_multipart(&server, "/en/submit", mp);
    assert_eq!(status, 413, "{body}");
    assert!(
        wait_until(5, || server.blob_folders() == 0),
        "nothing stored"
    );
}

#[test]
fn an_overlong_file_name_is_refused() {
    let server = Server::start(Opts::default());
    let name = "n".repeat(2000);
    let (status, _) = post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit")
            .text("message", b"long name")
            .file(&name, b"content"),
    );
    assert_eq!(status, 400);
    assert!(
        wait_until(5, || server.blob_folders() == 0),
        "nothing stored"
    );
    // A long but ordinary name is fine.
    let (status, _) = post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit")
            .text("message", b"ordinary name")
            .file(&"n".repeat(200), b"content"),
    );
    assert_eq!(status, 200);
}

#[test]
fn a_trickle_loses_its_upload_slot_to_a_real_source() {
    let server = Server::start(Opts {
        max_concurrent_uploads: 1,
        ..Opts::default()
    });
    // A valid token, then one byte every few seconds of a file.
    let token = form_token(&server, "/en/submit");
    let first = format!(
        "------witnessdroptestboundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n{token}\r\n------witnessdroptestboundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"files\"; filename=\"slow.bin\"\r\n\r\n"
    );
    let mut trickle = start_raw_upload(&server, 1 << 20, first.as_bytes());
    std::thread::sleep(Duration::from_millis(500));
    // The trickle holds the only slot for now; a real source waits in line for it.
    let started = Instant::now();
    let real = {
        let mp = Multipart::for_form(&server, "/en/submit").text("message", b"waiting in line");
        let (ct, body) = mp.finish();
        let url = server.url("/en/submit");
        std::thread::spawn(move || {
            let r = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(150))
                .build()
                .unwrap()
                .post(url)
                .header("content-type", ct)
                .body(body)
                .send()
                .unwrap();
            (r.status().as_u16(), started.elapsed())
        })
    };
    let feeder = {
        let mut s = trickle.try_clone().unwrap();
        std::thread::spawn(move || {
            while started.elapsed() < Duration::from_secs(100) {
                if s.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_secs(3));
            }
        })
    };
    trickle
        .set_read_timeout(Some(Duration::from_secs(100)))
        .unwrap();
    let mut buf = [0u8; 64];
    let n = std::io::Read::read(&mut trickle, &mut buf).unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(
        text.starts_with("HTTP/1.1 408"),
        "the trickle is cut off with the 408 page: {text:?}"
    );
    let cut_after = started.elapsed();
    assert!(
        cut_after < Duration::from_secs(90),
        "cut off after the grace period, not the idle timeout ({cut_after:?})"
    );
    let (status, waited) = real.join().unwrap();
    assert_eq!(
        status, 200,
        "the source in line got the slot the trickle lost"
    );
    assert!(
        waited < Duration::from_secs(120),
        "within two minutes ({waited:?})"
    );
    assert!(
        wait_until(5, || server.blob_folders() == 1),
        "nothing of the trickle stays"
    );
    drop(trickle);
    let _ = feeder.join();
}

#[test]
fn a_full_disk_gets_the_full_page_and_loses_nothing_acknowledged() {
    let test = "a_full_disk_gets_the_full_page_and_loses_nothing_acknowledged";
    let Some(server) = Server::start_on_tmpfs(
        Opts {
            min_free_bytes: 8 << 20,
            ..Opts::default()
        },
        48,
        test,
    ) else {
        return;
    };
    // Something else takes part of the disk, to be freed at the end.
    let filler = server.data().join("filler");
    std::fs::write(&filler, vec![0u8; 16 << 20]).unwrap();
    // Room for a few 6 MiB submissions, then none: four at a time until the disk is full.
    let mut acknowledged = Vec::new();
    let mut full = 0;
    for round in 0..4 {
        let answers: Vec<(u16, String, Vec<u8>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|i| {
                    let server = &server;
                    scope.spawn(move || {
                        let content = random_bytes(6 << 20);
                        let (status, body) = post_multipart(
                            server,
                            "/en/submit",
                            Multipart::for_form(server, "/en/submit")
                                .text("message", format!("round {round} upload {i}").as_bytes())
                                .file("f.bin", &content),
                        );
                        (status, body, content)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (status, body, content) in answers {
            match status {
                200 => acknowledged.push(content),
                503 => {
                    assert!(body.contains("The drop is full for now"), "{body}");
                    full += 1;
                }
                other => panic!(
                    "every answer is a receipt or the full page, not {other}; server log:\n{}",
                    std::fs::read_to_string(server.log()).unwrap_or_default()
                ),
            }
        }
    }
    assert!(full > 0, "the disk filled up");
    assert!(!acknowledged.is_empty());
    assert!(server.health());
    let o = server.drop_cmd(&["check"]);
    assert!(
        o.status.success(),
        "check passes: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // Every acknowledged submission exports (to a folder off the small disk) and decrypts.
    let export = server.export("export");
    let out = server.decrypt(&export, "out");
    let mut decrypted = Vec::new();
    for sub in std::fs::read_dir(&out).unwrap() {
        let sub = sub.unwrap().path();
        if sub.is_dir() {
            decrypted.push(std::fs::read(sub.join("files/1-f.bin")).unwrap());
        }
    }
    assert_eq!(decrypted.len(), acknowledged.len());
    for content in &acknowledged {
        assert!(
            decrypted.contains(content),
            "an acknowledged file is missing"
        );
    }
}
