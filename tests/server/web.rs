//! The source interface as a browser sees it: headers, page content, forms, Tor.

use crate::util::*;

const ONION: &str = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion";

fn check_headers(what: &str, r: &reqwest::blocking::Response) {
    let h = r.headers();
    let get = |k: &str| {
        h.get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let csp = get("content-security-policy");
    for part in [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{what}: CSP lacks {part}: {csp}");
    }
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("cache-control"), "no-store", "{what}");
    assert_eq!(get("cross-origin-opener-policy"), "same-origin", "{what}");
    assert_eq!(get("cross-origin-resource-policy"), "same-origin", "{what}");
    assert!(get("permissions-policy").contains("camera=()"), "{what}");
    assert_eq!(get("x-robots-tag"), "noindex, nofollow", "{what}");
    assert!(h.get("server").is_none(), "{what}: Server header");
    assert!(
        h.get("set-cookie").is_none(),
        "{what}: no cookie before login"
    );
}

#[test]
fn every_route_answers_with_the_security_headers() {
    let server = Server::start(Opts::default());
    let c = client();
    let mut cases: Vec<(&str, String, u16)> = Vec::new();
    for path in [
        "/",
        "/health",
        "/robots.txt",
        "/static/style.css",
        "/en/nowhere",
        "/xx/",
        "/static/x.js",
    ] {
        cases.push((
            "GET",
            path.to_owned(),
            if path.contains("nowhere") || path == "/xx/" || path.ends_with(".js") {
                404
            } else {
                200
            },
        ));
    }
    for lang in ["en", "az", "ru"] {
        cases.push(("GET", format!("/{lang}/"), 200));
        cases.push(("GET", format!("/{lang}/submit"), 200));
        cases.push(("POST", format!("/{lang}/submit"), 403));
    }
    for (method, path, status) in &cases {
        let r = match *method {
            "GET" => c.get(server.url(path)).send().unwrap(),
            _ => c
                .post(server.url(path))
                .header("content-type", "multipart/form-data; boundary=B")
                .body("--B--\r\n")
                .send()
                .unwrap(),
        };
        assert_eq!(r.status().as_u16(), *status, "{method} {path}");
        check_headers(&format!("{method} {path}"), &r);
    }
    // Error pages of every kind carry them too.
    let r = c
        .get(server.url("/en/"))
        .header("x-tor2web", "1")
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    check_headers("tor2web", &r);
    let robots = c
        .get(server.url("/robots.txt"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(robots.contains("Disallow: /"));
    assert_eq!(
        c.get(server.url("/health")).send().unwrap().text().unwrap(),
        "ok"
    );
}

#[test]
fn pages_load_nothing_foreign_and_run_no_script() {
    let server = Server::start(Opts {
        onion_address: Some(ONION.into()),
        ..Opts::default()
    });
    let c = client();
    let mut pages = vec!["/".to_owned(), "/en/nowhere".to_owned()];
    for lang in ["en", "az", "ru"] {
        pages.push(format!("/{lang}/"));
        pages.push(format!("/{lang}/submit"));
    }
    let mut bodies: Vec<(String, String)> = pages
        .iter()
        .map(|p| {
            (
                p.clone(),
                c.get(server.url(p)).send().unwrap().text().unwrap(),
            )
        })
        .collect();
    // A receipt and an error page from a POST.
    let (_, receipt) = post_multipart(
        &server,
        "/ru/submit",
        Multipart::for_form(&server, "/ru/submit").text("message", b"x"),
    );
    bodies.push(("receipt".into(), receipt));
    let (_, err) = post_multipart(
        &server,
        "/az/submit",
        Multipart::for_form(&server, "/az/submit").text("message", b" "),
    );
    bodies.push(("error".into(), err));
    bodies.push((
        "css".into(),
        c.get(server.url("/static/style.css"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
    ));
    for (page, body) in &bodies {
        let lower = body.to_lowercase();
        for bad in [
            "<script",
            "<svg",
            "@font-face",
            " style=",
            "http://",
            "https://",
            "javascript:",
            "<iframe",
            "<img",
            "url(",
        ] {
            assert!(!lower.contains(bad), "{page} contains {bad}");
        }
    }
    for (page, body) in &bodies[..bodies.len() - 1] {
        assert!(body.contains("<html lang=\""), "{page}");
        assert!(body.contains("href=\"/static/style.css\""), "{page}");
        assert!(
            body.contains("hreflang=\"az\"") && body.contains("hreflang=\"ru\""),
            "{page}: language switch"
        );
    }
}

#[test]
fn language_comes_from_the_url() {
    let server = Server::start(Opts::default());
    let c = client();
    let az = c
        .get(server.url("/az/submit"))
        .header("accept-language", "ru")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(az.contains("<html lang=\"az\""));
    let ru = c.get(server.url("/ru/")).send().unwrap().text().unwrap();
    assert!(ru.contains("<html lang=\"ru\""));
    assert!(ru.contains("Tor Browser"));
    let en = c
        .get(server.url("/en/submit"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        en.contains("64\u{a0}MiB"),
        "the size limit is shown next to the file field"
    );
    assert!(en.contains("name=\"files\"") && en.contains("multiple"));
    assert!(en.contains("name=\"message\""));
}

#[test]
fn cross_site_tokenless_and_bot_posts_are_refused_and_store_nothing() {
    let server = Server::start(Opts::default());
    let send = |mp: Multipart, extra: &[(&str, &str)]| {
        let (ct, body) = mp.finish();
        let mut r = client()
            .post(server.url("/en/submit"))
            .header("content-type", ct);
        for (k, v) in extra {
            r = r.header(*k, *v);
        }
        r.body(body).send().unwrap().status().as_u16()
    };
    let good = || Multipart::for_form(&server, "/en/submit").text("message", b"hello");
    assert_eq!(
        send(good(), &[("origin", "http://evil.example")]),
        403,
        "cross-site Origin"
    );
    assert_eq!(
        send(good(), &[("sec-fetch-site", "cross-site")]),
        403,
        "Sec-Fetch-Site"
    );
    assert_eq!(
        send(Multipart::new().text("message", b"hello"), &[]),
        403,
        "no token"
    );
    assert_eq!(
        send(
            Multipart::new()
                .text("token", b"00ff")
                .text("message", b"hello"),
            &[]
        ),
        403,
        "bad token"
    );
    let login_token = form_token(&server, "/en/submit");
    let other_form = Multipart::new().text("token", login_token.as_bytes());
    assert_eq!(
        client()
            .post(server.url("/ru/submit"))
            .header("content-type", other_form.finish().0)
            .send()
            .unwrap()
            .status(),
        400,
        "an empty body is malformed"
    );
    assert_eq!(
        send(
            Multipart::for_form(&server, "/en/submit")
                .text("website", b"http://spam")
                .text("message", b"buy"),
            &[]
        ),
        400,
        "honeypot"
    );
    assert!(wait_until(3, || server.blob_folders() == 0));
    // Same-origin requests as browsers send them pass.
    assert_eq!(
        send(
            good(),
            &[("origin", "null"), ("sec-fetch-site", "same-origin")]
        ),
        200
    );
    let o = server.drop_cmd(&["export", "--out", server.path().join("e").to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("exported 1 "));
}

#[test]
fn off_tor_requests_get_onion_location_and_a_warning() {
    let server = Server::start(Opts {
        onion_address: Some(ONION.into()),
        ..Opts::default()
    });
    let r = client().get(server.url("/ru/submit")).send().unwrap();
    assert_eq!(
        r.headers().get("onion-location").unwrap(),
        &format!("http://{ONION}/ru/submit")
    );
    let body = r.text().unwrap();
    assert!(body.contains(ONION) && body.contains("role=\"alert\""));
    let r = client()
        .get(server.url("/ru/"))
        .header("host", ONION)
        .send()
        .unwrap();
    assert!(r.headers().get("onion-location").is_none());
    assert!(!r.text().unwrap().contains("role=\"alert\""));
    // Tor2web: an explanation, and no submission.
    let r = client()
        .get(server.url("/en/submit"))
        .header("x-tor2web", "true")
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().unwrap().contains("Tor2web"));
    let (ct, body) = Multipart::for_form(&server, "/en/submit")
        .text("message", b"via proxy")
        .finish();
    let r = client()
        .post(server.url("/en/submit"))
        .header("content-type", ct)
        .header("x-tor2web", "true")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(server.blob_folders(), 0);
}
