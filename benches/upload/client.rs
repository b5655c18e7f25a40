//! The upload benchmark's multipart upload over a plain `TcpStream`, sent from the file with
//! `sendfile`; the small requests (pages, form tokens, login, responses) are in
//! [`crate::common::client`].

use std::fs::File;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::common::client::{form_preamble, read_response, snippet};

/// Most bytes per `sendfile` call.
const SEND_CHUNK: usize = 4 * 1024 * 1024;

/// How long we wait for the response once the body is sent (the server flushes to disk).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(600);

/// Where an upload goes: the form's path, its token, and the session cookie of a returning
/// source.
pub struct Target {
    pub path: &'static str,
    pub token: String,
    pub cookie: Option<String>,
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

    let preamble = form_preamble(
        &boundary,
        token,
        "Upload benchmark: one large attachment.",
        "bench.bin",
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
