//! The source interface: routes, limits and security headers.
//!
//! - [`routes`]: every path, once. [`extract`]: the language prefix and the source's session
//!   as extractors. [`receive`]: the multipart-to-upload pipeline both source forms use, and
//!   [`guided`]: its guided questions and consent.
//!   `meter`: the metered upload body. [`derive`]: codename derivations behind their limit.
//! - Route files, leaves that only render and route: `misc` (landing, health, robots, style),
//!   `submit` (the first submission), `source` (login, inbox, follow-ups, logout).
//! - [`pages`] (frames and templates), [`i18n`] (languages and texts), [`csrf`] (origin checks
//!   and form tokens), [`session`] (sessions in memory), [`WebError`] (the one error type).
//! - [`listener`]: the accept loop and the connection limits; [`form_body`]: the small forms'
//!   bodies, read under a cap and a deadline; [`wiped`]: bodies whose memory is wiped.
//!
//! Invariants:
//! - No access log: nothing here logs an address, a user agent, a path with an id, a file name
//!   or message text, and no log line marks when a submission arrived.
//! - Every response, error pages included, carries the security headers of [`security_headers`].
//! - Request bodies are read only by the submission handlers, which encrypt as they read, and
//!   by [`form_body`], which reads the small forms' bodies whole under a cap and a deadline.
//! - The limits on connections (count, header and idle timeouts, shutdown deadline) are kept
//!   by [`listener`]; no response carries a `Date` header.
//! - Every page is rendered into a buffer that is wiped, and sent as a body wiped once hyper
//!   has written it ([`pages::render`], [`wiped`]); the small forms' bodies are held only in
//!   wiped memory ([`form_body`]). What this cannot reach (hyper's and the multipart parser's
//!   buffers, the allocator, swap) is listed in the README's "What a seized disk shows".

pub mod csrf;
pub mod derive;
mod error;
pub mod extract;
pub mod form_body;
pub mod guided;
pub mod i18n;
pub mod listener;
mod meter;
mod misc;
pub mod pages;
pub mod receive;
pub mod routes;
pub mod session;
mod source;
mod submit;
pub mod wiped;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tokio::sync::Semaphore;

use crate::server::config::Config;
use crate::server::secrets::InstanceSecret;
use crate::server::serve::LISTENING_LINE;
use crate::server::store::Store;

pub use error::WebError;

/// Longest message text, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 512 * 1024;

/// An upload that sends nothing for this long is dropped (Tor circuits stall, but not for
/// minutes).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Slowest sustained upload speed we wait for: 1 Mbit/s, under Tor's usual 2-3 Mbit/s.
pub const SLOWEST_BYTES_PER_SEC: u64 = 125_000;

/// Shared state of the web server.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Reviewer recipients, re-read when the file changes.
    pub recipients: Arc<crate::keys::LiveRecipients>,
    /// The configuration.
    pub config: Arc<Config>,
    /// One permit per upload in progress.
    pub uploads: Arc<Semaphore>,
    /// One permit per upload waiting for a slot (see `receive`).
    pub upload_waiters: Arc<Semaphore>,
    /// The instance secret (form tokens, codename derivation).
    pub secret: Arc<InstanceSecret>,
    /// Logged-in sources (memory only).
    pub sessions: Arc<session::Sessions>,
    /// The queue of logins and first submissions in front of the Argon2id derivations.
    pub derivations: Arc<derive::DerivationQueue>,
    /// Bytes announced by uploads in progress and not yet received (see `receive`).
    pub reserved: Arc<std::sync::atomic::AtomicU64>,
}

impl AppState {
    /// Builds the state.
    pub fn new(
        config: Config,
        recipients: crate::keys::LiveRecipients,
        store: Store,
        secret: InstanceSecret,
    ) -> Self {
        AppState {
            secret: Arc::new(secret),
            sessions: Arc::new(session::Sessions::new(
                upload_deadline(config.max_upload_bytes) + Duration::from_secs(1800),
            )),
            derivations: Arc::new(derive::DerivationQueue::default()),
            reserved: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            uploads: Arc::new(Semaphore::new(config.max_concurrent_uploads)),
            upload_waiters: Arc::new(Semaphore::new(
                config.max_concurrent_uploads * receive::WAITING_PER_SLOT,
            )),
            store,
            recipients: Arc::new(recipients),
            config: Arc::new(config),
        }
    }

    /// The whole-upload deadline: the largest upload at the slowest speed, at least an hour.
    pub fn upload_deadline(&self) -> Duration {
        upload_deadline(self.config.max_upload_bytes)
    }

    /// The body limit of the upload route: files plus message plus multipart overhead.
    pub fn body_limit(&self) -> usize {
        let limit = self
            .config
            .max_upload_bytes
            .saturating_add(MAX_MESSAGE_BYTES as u64)
            .saturating_add(4 << 20);
        usize::try_from(limit).unwrap_or(usize::MAX)
    }
}

/// The largest upload at the slowest speed we wait for, at least an hour.
fn upload_deadline(max_upload_bytes: u64) -> Duration {
    Duration::from_secs((max_upload_bytes / SLOWEST_BYTES_PER_SEC).max(3600))
}

/// Runs `f` on the blocking pool (store lookups, derivations); a failure is a 500 whose detail
/// (never plaintext) goes to the log.
pub(crate) async fn blocking<T, E>(
    what: &'static str,
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, WebError>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(WebError::Internal(format!("{what}: {e}"))),
        Err(_) => Err(WebError::Internal(format!("{what} task failed"))),
    }
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    let limit = state.body_limit();
    Router::new()
        .merge(misc::router())
        .merge(submit::router().layer(DefaultBodyLimit::max(limit)))
        .merge(source::upload_router().layer(DefaultBodyLimit::max(limit)))
        // Login, inbox, delete reply, logout: no upload among them, so every body is small.
        .merge(source::router().layer(middleware::from_fn(form_body::bounded)))
        .fallback(|| async { WebError::NotFound })
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            error::render_errors,
        ))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every response.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::CACHE_CONTROL, "no-store");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), interest-cohort=(), browsing-topics=(), payment=(), usb=()",
    );
    set(
        h,
        HeaderName::from_static("x-robots-tag"),
        "noindex, nofollow",
    );
    h.remove(header::SERVER);
    res
}

/// Refuses Tor2web proxies and cross-site POSTs; points browsers that did not come through the
/// onion address to it (`Onion-Location`).
async fn guard(
    axum::extract::State(st): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    use axum::response::IntoResponse;
    if req.headers().contains_key("x-tor2web") {
        return WebError::Tor2web.into_response();
    }
    if req.method() == axum::http::Method::POST && !csrf::same_origin(req.headers()) {
        return WebError::Forbidden.into_response();
    }
    let onion_location = st
        .config
        .onion_address
        .as_ref()
        .filter(|_| extract::off_onion(&st, req.headers(), req.uri()))
        .map(|onion| {
            let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
            format!("http://{onion}{path}")
        });
    let mut res = next.run(req).await;
    if let Some(loc) = onion_location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        res.headers_mut()
            .insert(HeaderName::from_static("onion-location"), loc);
    }
    res
}

/// Serves until `shutdown` completes, then for at most [`listener::SHUTDOWN_GRACE`] while
/// requests in flight finish. Prints [`LISTENING_LINE`] and the address on stdout once the
/// socket is bound (scripts and tests wait for that line). Fails before binding when the
/// open-file limit leaves no room for connections ([`listener::connection_cap`]).
pub async fn serve(
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max_connections = listener::connection_cap(
        listener::open_file_limit(),
        state.config.max_concurrent_uploads,
    )
    .map_err(std::io::Error::other)?;
    let tcp = tokio::net::TcpListener::bind(state.config.listen).await?;
    let addr = tcp.local_addr()?;
    println!("{LISTENING_LINE}{addr}");
    tracing::info!("serving the source interface, at most {max_connections} connections at once");
    listener::run(tcp, router(state), max_connections, shutdown).await;
    Ok(())
}

/// A state on a fresh data folder, for the handlers' unit tests.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) fn test_state(dir: &std::path::Path) -> AppState {
    let keys = dir.join("recipients.txt");
    let reviewer = age::x25519::Identity::generate();
    std::fs::write(&keys, format!("{}\n", reviewer.to_public())).unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.join("data"),
        recipients: keys.clone(),
        max_upload_bytes: 1 << 20,
        max_concurrent_uploads: 2,
        min_free_bytes: 0,
        onion_address: None,
        org_name: "Test".into(),
        org_name_az: "Test".into(),
        org_name_ru: "Test".into(),
        source_file: None,
    };
    let store = Store::open(&config.data_dir).unwrap();
    let recipients = crate::keys::LiveRecipients::load(&keys, false).unwrap();
    AppState::new(config, recipients, store, InstanceSecret::for_tests(7))
}

/// The [`pages::Ctx`] of a request for `path`, for the handlers' unit tests.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) fn test_ctx(st: &AppState, path: &str) -> pages::Ctx {
    let (parts, ()) = axum::http::Request::builder()
        .uri(path)
        .body(())
        .unwrap()
        .into_parts();
    pages::Ctx::from_parts(&parts, st)
}
