//! A raw HTTP/1.1 client over plain `TcpStream`s for the benchmarks' small requests: GET, the
//! form token, login, and reading a response. Every call takes the longest wait for one
//! network operation (connect, write, read); the upload benchmark passes ten minutes, the
//! flood benchmark what is left of its deadline.
//!
//! Used by `cargo bench --bench upload` and `cargo bench --bench flood` (see their `main.rs`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

/// The shortest wait accepted by the socket calls (zero means "no timeout" to them).
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// Connects to `addr` (`IP:PORT`) with `timeout` for the connection and for each read and
/// write on it.
pub fn connect(addr: &str, timeout: Duration) -> Result<TcpStream> {
    let timeout = timeout.max(MIN_TIMEOUT);
    let sock: SocketAddr = addr
        .parse()
        .with_context(|| format!("{addr:?} is not an address and port"))?;
    let stream = TcpStream::connect_timeout(&sock, timeout)
        .with_context(|| format!("connecting to {addr}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .context("setting the read timeout")?;
    stream
        .set_write_timeout(Some(timeout))
        .context("setting the write timeout")?;
    Ok(stream)
}

/// A GET request with an optional cookie; returns status, headers and body.
pub fn get(addr: &str, path: &str, cookie: Option<&str>, timeout: Duration) -> Result<Response> {
    let mut stream = connect(addr, timeout)?;
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{cookie}Connection: close\r\n\r\n");
    stream
        .write_all(req.as_bytes())
        .with_context(|| format!("asking for {path}"))?;
    read_response(&mut stream).with_context(|| format!("reading {path}"))
}

/// The token of the form that posts to `action` on the page `page` (the server refuses
/// uploads without it).
pub fn form_token(
    addr: &str,
    page: &str,
    action: &str,
    cookie: Option<&str>,
    timeout: Duration,
) -> Result<String> {
    let res = get(addr, page, cookie, timeout)?;
    if res.status != 200 {
        bail!("GET {page} answered {}", res.status);
    }
    let body = String::from_utf8_lossy(&res.body);
    let form = body
        .find(&format!("action=\"{action}\""))
        .ok_or_else(|| anyhow!("{page} has no form for {action}"))?;
    let marker = "name=\"token\" value=\"";
    let at = body[form..]
        .find(marker)
        .ok_or_else(|| anyhow!("the form for {action} has no token field"))?
        + form
        + marker.len();
    Ok(body[at..].split('"').next().unwrap_or_default().to_owned())
}

/// The codename shown on a first submission's receipt (`id="codename"`).
pub fn receipt_codename(body: &[u8]) -> Result<String> {
    let body = String::from_utf8_lossy(body);
    let at = body
        .find("id=\"codename\"")
        .ok_or_else(|| anyhow!("the receipt shows no codename"))?;
    let text = body[at..]
        .split_once('>')
        .and_then(|(_, rest)| rest.split_once('<'))
        .map(|(text, _)| text.trim().to_owned())
        .unwrap_or_default();
    if text.is_empty() {
        bail!("the receipt's codename element is empty");
    }
    Ok(text)
}

/// Logs in with a codename; returns the session cookie (`name=value`).
pub fn login(addr: &str, codename: &str, timeout: Duration) -> Result<String> {
    let token = form_token(addr, "/en/login", "/en/login", None, timeout)?;
    let res = post_login(addr, &token, codename, timeout)?;
    session_cookie(&res).ok_or_else(|| {
        anyhow!(
            "logging in with the receipt's codename failed ({}): {}",
            res.status,
            snippet(&res.body)
        )
    })
}

/// Posts the login form with its token and a codename; returns the answer (a redirect to the
/// inbox with the session cookie when the codename is right).
pub fn post_login(addr: &str, token: &str, codename: &str, timeout: Duration) -> Result<Response> {
    let form = format!(
        "token={}&codename={}",
        form_encode(token),
        form_encode(codename)
    );
    let mut stream = connect(addr, timeout)?;
    let req = format!(
        "POST /en/login HTTP/1.1\r\n\
         Host: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\
         \r\n\
         {form}",
        form.len()
    );
    stream
        .write_all(req.as_bytes())
        .context("sending the login")?;
    read_response(&mut stream).context("reading the login answer")
}

/// The session cookie (`name=value`) an answer sets, if any.
pub fn session_cookie(res: &Response) -> Option<String> {
    res.headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .and_then(|(_, value)| value.split(';').next())
        .map(|c| c.trim().to_owned())
}

/// `application/x-www-form-urlencoded` for a value.
fn form_encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An HTTP response.
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Reads one HTTP/1.1 response: status code and body (Content-Length, chunked, or until close).
pub fn read_response(stream: &mut TcpStream) -> Result<Response> {
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader
        .read_line(&mut status_line)
        .context("reading the status line")?;
    if status_line.is_empty() {
        bail!("the server closed the connection without an answer");
    }
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("malformed status line {:?}", status_line.trim_end()))?;

    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).context("reading headers")?;
        let line = line.trim_end();
        if n == 0 || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            headers.push((name.to_owned(), value.to_owned()));
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
            {
                chunked = true;
            }
        }
    }

    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size_line = String::new();
            reader
                .read_line(&mut size_line)
                .context("reading a chunk size")?;
            let size_hex = size_line.trim().split(';').next().unwrap_or("");
            let size = u64::from_str_radix(size_hex, 16)
                .with_context(|| format!("malformed chunk size {:?}", size_line.trim()))?;
            if size == 0 {
                break;
            }
            (&mut reader)
                .take(size)
                .read_to_end(&mut body)
                .context("reading a chunk")?;
            let mut crlf = String::new();
            reader.read_line(&mut crlf).context("reading a chunk end")?;
        }
    } else if let Some(len) = content_length {
        (&mut reader)
            .take(len)
            .read_to_end(&mut body)
            .context("reading the body")?;
        if (body.len() as u64) < len {
            bail!("the response body ended early");
        }
    } else {
        reader.read_to_end(&mut body).context("reading the body")?;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// A short, one-line excerpt of a response body for error messages.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(200).collect()
}

/// The start of a form's multipart body up to the first file's content: the token (first, as
/// the server requires), the message, and the header of one `files` part named `file_name`.
pub fn form_preamble(boundary: &str, token: &str, message: &str, file_name: &str) -> String {
    format!(
        "--{boundary}\r\n\
         Content-Disposition: form-data; name=\"token\"\r\n\
         \r\n\
         {token}\r\n\
         --{boundary}\r\n\
         Content-Disposition: form-data; name=\"message\"\r\n\
         \r\n\
         {message}\r\n\
         --{boundary}\r\n\
         Content-Disposition: form-data; name=\"files\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\
         \r\n"
    )
}
