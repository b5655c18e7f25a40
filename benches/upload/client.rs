//! The benchmark's own HTTP/1.1 client, over plain `TcpStream`s: GET, the form token, login,
//! the multipart upload sent from the file with `sendfile`, and reading the responses.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

/// Most bytes per `sendfile` call.
const SEND_CHUNK: usize = 4 * 1024 * 1024;

/// How long we wait for the response once the body is sent (the server flushes to disk).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(600);

/// Where an upload goes: the form's path, its token, and the session cookie of a returning
/// source.
pub struct Target {
    pub path: &'static str,
    pub token: String,
    pub cookie: Option<String>,
}

/// A GET request with an optional cookie; returns status, headers and body.
fn get(addr: &str, path: &str, cookie: Option<&str>) -> Result<Response> {
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream
        .set_read_timeout(Some(RESPONSE_TIMEOUT))
        .context("setting the read timeout")?;
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
pub fn form_token(addr: &str, page: &str, action: &str, cookie: Option<&str>) -> Result<String> {
    let res = get(addr, page, cookie)?;
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
pub fn login(addr: &str, codename: &str) -> Result<String> {
    let token = form_token(addr, "/en/login", "/en/login", None)?;
    let form = format!(
        "token={}&codename={}",
        form_encode(&token),
        form_encode(codename)
    );
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream
        .set_read_timeout(Some(RESPONSE_TIMEOUT))
        .context("setting the read timeout")?;
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
    let res = read_response(&mut stream).context("reading the login answer")?;
    res.headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .and_then(|(_, value)| value.split(';').next())
        .map(|c| c.trim().to_owned())
        .ok_or_else(|| {
            anyhow!(
                "logging in with the receipt's codename failed ({}): {}",
                res.status,
                snippet(&res.body)
            )
        })
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

/// Wall times of one upload.
pub struct UploadTiming {
    /// First byte sent to full response received.
    pub total: Duration,
    /// Last byte sent to full response received.
    pub after_body: Duration,
    /// When the last byte was sent.
    pub body_sent: Instant,
    /// The response body.
    pub body: Vec<u8>,
}

/// Sends the file to the target's form and returns the wall times and the answer. Fails
/// unless the answer is 200.
pub fn upload(addr: &str, target: &Target, file_path: &Path, size: u64) -> Result<UploadTiming> {
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).map_err(|e| anyhow!("reading OS randomness: {e}"))?;
    let boundary = format!("----witness-drop-bench-{}", hex::encode(random));
    let token = &target.token;

    let preamble = format!(
        "--{boundary}\r\n\
         Content-Disposition: form-data; name=\"token\"\r\n\
         \r\n\
         {token}\r\n\
         --{boundary}\r\n\
         Content-Disposition: form-data; name=\"message\"\r\n\
         \r\n\
         Upload benchmark: one large attachment.\r\n\
         --{boundary}\r\n\
         Content-Disposition: form-data; name=\"files\"; filename=\"bench.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\
         \r\n"
    );
    let epilogue = format!("\r\n--{boundary}--\r\n");
    let content_length = preamble.len() as u64 + size + epilogue.len() as u64;
    let cookie = target
        .cookie
        .as_ref()
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST {} HTTP/1.1\r\n\
         Host: {addr}\r\n\
         {cookie}\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {content_length}\r\n\
         Connection: close\r\n\
         \r\n",
        target.path
    );

    let mut file =
        File::open(file_path).with_context(|| format!("opening {}", file_path.display()))?;
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true).context("setting TCP_NODELAY")?;
    stream
        .set_read_timeout(Some(RESPONSE_TIMEOUT))
        .context("setting the read timeout")?;

    let started = Instant::now();
    let sent = send_body(&mut stream, &mut file, &head, &preamble, &epilogue, size);
    if let Err(e) = sent {
        // The server may have answered early (413, 503, 400) and closed: show its answer.
        if let Ok(res) = read_response(&mut stream) {
            bail!(
                "the server answered {} before the upload finished: {}",
                res.status,
                snippet(&res.body)
            );
        }
        return Err(e);
    }
    let body_sent = Instant::now();
    let res = read_response(&mut stream).context("reading the response")?;
    let total = started.elapsed();
    let after_body = body_sent.elapsed();
    if res.status != 200 {
        bail!(
            "the server answered {}, expected 200: {}",
            res.status,
            snippet(&res.body)
        );
    }
    Ok(UploadTiming {
        total,
        after_body,
        body_sent,
        body: res.body,
    })
}

fn send_body(
    stream: &mut TcpStream,
    file: &mut File,
    head: &str,
    preamble: &str,
    epilogue: &str,
    size: u64,
) -> Result<()> {
    stream
        .write_all(head.as_bytes())
        .context("sending the request head")?;
    stream
        .write_all(preamble.as_bytes())
        .context("sending the multipart preamble")?;
    // `sendfile(2)`: the kernel moves the file to the socket without a copy through this
    // process, so the client spends as little CPU as it can and leaves the cores to the server
    // being measured.
    let mut offset = 0u64;
    while offset < size {
        let want = usize::try_from(size - offset)
            .unwrap_or(usize::MAX)
            .min(SEND_CHUNK);
        let n = rustix::fs::sendfile(&*stream, &*file, Some(&mut offset), want)
            .map_err(std::io::Error::from)
            .with_context(|| format!("sending the file ({} bytes left)", size - offset))?;
        if n == 0 {
            break;
        }
    }
    let sent = offset;
    if sent != size {
        bail!("the test file is shorter than expected ({sent} of {size} bytes)");
    }
    stream
        .write_all(epilogue.as_bytes())
        .context("sending the multipart epilogue")?;
    stream.flush().context("flushing the request")?;
    Ok(())
}

/// An HTTP response.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Reads one HTTP/1.1 response: status code and body (Content-Length, chunked, or until close).
fn read_response(stream: &mut TcpStream) -> Result<Response> {
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
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(200).collect()
}
