//! zcred-server: the HTTP service (api.md). Only this crate knows HTTP.
//!
//! - [`app`] builds the router for a store; [`serve`] runs it on a listener until a shutdown
//!   signal, finishing the requests in flight.
//! - [`error`]: the `{object, messages}` envelope and the status-code mapping, in one place.
//! - [`body`]: body size limit, strict JSON and field readers that name the member at fault.
//! - [`access`]: API keys (stored hashed), plans, and the middleware that checks the key first.
//!
//! - [`routes`]: the endpoints, each once: the table that mounts them, sets who may call them,
//!   and renders `/openapi.json` and `/docs`.
//!
//! Unknown paths are 404 and wrong methods 405, both in the envelope, after the key check.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;
use tokio::net::TcpListener;
use zcred_store::{AccessStore, BlobStore, Journal, LedgerStore, RateStore, SealedKeyStore};

pub mod access;
pub mod admin;
pub mod agent;
pub mod attributes;
pub mod batch;
mod bbs_api;
pub mod blobs;
pub mod body;
mod did;
pub mod enc;
pub mod error;
mod issuer;
pub mod keys;
pub mod metrics;
mod rotation;
pub mod routes;
pub mod sweep;
pub mod templates;
pub mod vc;
pub mod vp;

use error::{ApiError, Envelope};

/// Everything the service needs of a store.
pub trait Store:
    LedgerStore + AccessStore + BlobStore + SealedKeyStore + RateStore + 'static
{
}

impl<T: LedgerStore + AccessStore + BlobStore + SealedKeyStore + RateStore + 'static> Store for T {}

/// Deployment settings (api.md §2.10, OP-9, OP-10, OP-16).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL of the template-context documents (`<ledger_base>/getAccountMetaData?…`);
    /// normally the service's public URL.
    pub ledger_base: String,
    /// The `address` of template contexts.
    pub template_registry: String,
    /// Whether `POST /cred/tds/template/create` (the issuer's private key sent to the server)
    /// is enabled. Off by default.
    pub allow_server_side_signing: bool,
    /// How old an APPLIED or CREATED record gets before the sweep purges it (OP-12), ms.
    pub abandoned_after_ms: i64,
    /// The RSA modulus of new `/enc/` keys, bits (encryption.md: 3072 by default).
    pub enc_rsa_bits: usize,
    /// How long a connection may take to send a request's headers, and may sit idle between
    /// requests, before it is closed.
    pub header_timeout: std::time::Duration,
    /// How long a request's body may take to arrive (400 after).
    pub body_timeout: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            ledger_base: "http://127.0.0.1:8080".into(),
            template_registry: "zcred-templates".into(),
            allow_server_side_signing: false,
            abandoned_after_ms: 30 * 24 * 3600 * 1000,
            enc_rsa_bits: zcred_crypto::enc::DEFAULT_RSA_BITS,
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// What every handler shares: the journal (and through it the store) and the master key.
#[derive(Debug)]
pub struct AppState<S> {
    inner: Arc<Inner<S>>,
}

#[derive(Debug)]
struct Inner<S> {
    journal: Journal<S>,
    master: keys::MasterKey,
    admin_token: Option<[u8; 32]>,
    settings: Settings,
    metrics: metrics::Metrics,
    enc: enc::EncKeys,
    bbs: batch::BbsVerifier,
    tail: TailCheck,
}

/// The outcome of the last check of the log's tail (`/readyz`).
#[derive(Debug, Default)]
struct TailCheck {
    /// Whether the last check passed.
    verified: std::sync::atomic::AtomicBool,
    /// Why the last check failed, when it did.
    problem: std::sync::Mutex<Option<String>>,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> AppState<S> {
    /// State over an opened journal, sealing service keys under `master`, with default
    /// settings and no admin API.
    pub fn new(journal: Journal<S>, master: keys::MasterKey) -> AppState<S> {
        AppState::configured(journal, master, None, Settings::default())
    }

    /// State with the admin API enabled for the token whose SHA-256 is `admin_token` (when
    /// given) and `settings`.
    pub fn configured(
        journal: Journal<S>,
        master: keys::MasterKey,
        admin_token: Option<[u8; 32]>,
        settings: Settings,
    ) -> AppState<S> {
        AppState {
            inner: Arc::new(Inner {
                journal,
                master,
                admin_token,
                settings,
                metrics: metrics::Metrics::default(),
                enc: enc::EncKeys::default(),
                bbs: batch::BbsVerifier::default(),
                tail: TailCheck::default(),
            }),
        }
    }

    /// The deployment settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The BBS+ signature checks of submits (batched under load).
    pub fn bbs_verifier(&self) -> &batch::BbsVerifier {
        &self.inner.bbs
    }

    /// The request counters.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// The `/enc/` keys this instance has open.
    pub fn enc_keys(&self) -> &enc::EncKeys {
        &self.inner.enc
    }

    /// The admin token's digest, when the admin API is enabled.
    pub fn admin_token(&self) -> Option<&[u8; 32]> {
        self.inner.admin_token.as_ref()
    }

    /// The journal.
    pub fn journal(&self) -> &Journal<S> {
        &self.inner.journal
    }

    /// The master key.
    pub fn master(&self) -> &keys::MasterKey {
        &self.inner.master
    }

    /// Whether the last check of the log's tail passed, or why it did not.
    pub fn tail_verified(&self) -> Result<(), String> {
        if self
            .inner
            .tail
            .verified
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Ok(());
        }
        let problem = self.inner.tail.problem.lock().ok().and_then(|p| p.clone());
        Err(problem.unwrap_or_else(|| "the tail of the log has not been verified yet".into()))
    }
}

/// How often a node checks the tail of the log written since the last verified point (each
/// node does; the one that gets there first moves the point on).
const TAIL_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Verifies the events written since the last verified point (ledger.md "Durability") and
/// moves the point on, recording the outcome for `/readyz`.
pub async fn check_tail<S: Store>(
    state: &AppState<S>,
) -> Result<zcred_store::Report, zcred_store::AuditError> {
    let journal = state.journal();
    let result =
        zcred_store::verify_tail(journal.store(), journal.options(), &mut |_, _, _| {}).await;
    let tail = &state.inner.tail;
    if let Ok(mut problem) = tail.problem.lock() {
        *problem = result.as_ref().err().map(ToString::to_string);
    }
    tail.verified
        .store(result.is_ok(), std::sync::atomic::Ordering::SeqCst);
    result
}

/// The row naming until when a node checks the tail in the background (Unix ms).
const TAIL_LEASE: &str = "zcred/tail-lease";

/// Takes the background tail check's lease for a little longer than one check takes, when no
/// node holds it: `false` when another node does.
async fn take_tail_lease<S: Store>(state: &AppState<S>) -> Result<bool, zcred_store::StoreError> {
    let store = state.journal().store();
    let held = store.state(TAIL_LEASE).await?;
    let now = blobs::now_ms();
    let until = held
        .as_deref()
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(0);
    if until > now {
        return Ok(false);
    }
    let lease = now + i64::try_from(TAIL_EVERY.as_millis()).unwrap_or(10_000);
    let taken = store
        .append(zcred_store::Append {
            states: vec![zcred_store::StateUpdate {
                key: TAIL_LEASE.to_owned(),
                value: lease.to_string(),
            }],
            expect: vec![zcred_store::Expectation {
                key: TAIL_LEASE.to_owned(),
                value: held,
            }],
            ..zcred_store::Append::default()
        })
        .await;
    match taken {
        Ok(_) => Ok(true),
        Err(zcred_store::StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Checks the tail every [`TAIL_EVERY`] (with a jitter, so that nodes do not step together).
async fn check_tail_forever<S: Store>(state: AppState<S>) {
    loop {
        let jitter = u64::from(rand_core::RngCore::next_u32(&mut rand_core::OsRng) % 2000);
        tokio::time::sleep(TAIL_EVERY + std::time::Duration::from_millis(jitter)).await;
        // One node at a time does the background check (the others would verify the same
        // events for nothing): a lease row, taken with compare-and-set when it expired.
        match take_tail_lease(&state).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "the tail check's lease could not be read");
                continue;
            }
        }
        match check_tail(&state).await {
            Ok(report) if report.events > 0 => {
                tracing::info!(
                    events = report.events,
                    to = report.to,
                    "verified the log's tail"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "the log's tail does not verify"),
        }
    }
}

impl<S: Store> AppState<S> {
    /// The key state of `prefix`, as the store holds it now.
    pub async fn key_state(
        &self,
        prefix: &str,
    ) -> Result<Option<zcred_ledger::verify::KeyState>, ApiError> {
        self.journal()
            .key_state(prefix)
            .await
            .map_err(ApiError::unavailable)
    }

    /// Records `messages` and uses up `blob`, in a task of its own: a client that hangs up
    /// cannot cut the write short.
    pub async fn record(
        &self,
        messages: Vec<zcred_ledger::Message>,
        blob: String,
    ) -> Result<Vec<u64>, zcred_store::JournalError> {
        let state = self.clone();
        tokio::spawn(async move { state.journal().submit_consuming(&messages, &blob).await })
            .await
            .unwrap_or_else(|e| {
                Err(zcred_store::JournalError::Store(
                    zcred_store::StoreError::Unavailable(format!("the write task failed: {e}")),
                ))
            })
    }
}

/// `GET /health`: 200 when the store answers, 503 when it does not.
pub(crate) async fn health<S: Store>(
    State(state): State<AppState<S>>,
) -> Result<Envelope, ApiError> {
    state
        .journal()
        .store()
        .state("zcred/health")
        .await
        .map_err(ApiError::unavailable)?;
    Ok(Envelope(json!({ "status": "ok" })))
}

/// `GET /livez`: 200 while the process runs (a load balancer's liveness probe).
pub(crate) async fn livez() -> Envelope {
    Envelope(json!({ "status": "live" }))
}

/// `GET /readyz`: 200 when the store answers and the log's tail verified (at start and in
/// the background since); 503 saying which is not so.
pub(crate) async fn readyz<S: Store>(State(state): State<AppState<S>>) -> Response {
    let not_ready = |message: String| ApiError::not_ready(message).into_response();
    if let Err(e) = state.journal().store().state("zcred/health").await {
        tracing::error!(detail = %e, "readiness: the store does not answer");
        return not_ready("the store does not answer".into());
    }
    match state.tail_verified() {
        Ok(()) => Envelope(json!({ "status": "ready" })).into_response(),
        Err(why) => not_ready(format!("the log's tail is not verified: {why}")),
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// Logs method, path, status and latency of every request (never headers or bodies), and
/// counts it by route template for `/metrics`.
async fn log_request<S: Store>(
    State(state): State<AppState<S>>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let started = std::time::Instant::now();
    let mut req = req;
    req.extensions_mut()
        .insert(body::BodyDeadline(state.settings().body_timeout));
    let response = next.run(req).await;
    let took = started.elapsed();
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        micros = took.as_micros() as u64,
        "request"
    );
    state
        .metrics()
        .observe(method.as_str(), &route, response.status().as_u16(), took);
    response
}

/// `GET /metrics` (behind the admin token).
pub(crate) async fn metrics_endpoint<S: Store>(State(state): State<AppState<S>>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics().render(),
    )
        .into_response()
}

/// The router: exactly the routes of [`routes::ROUTES`].
pub fn app<S: Store>(state: AppState<S>) -> Router {
    let mut router = Router::new();
    for route in routes::ROUTES {
        if let Some(mut handler) = routes::handler::<S>(route) {
            if route.twin.is_some() {
                // The plain handler behind the zcred-enc-v1 layer (api.md §6).
                handler = handler.layer(middleware::from_fn_with_state(
                    state.clone(),
                    enc::envelope::<S>,
                ));
            }
            router = router.route(route.path, handler);
        }
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            access::require_key::<S>,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            admin::require_admin::<S>,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            log_request::<S>,
        ))
        .with_state(state)
}

/// How long a stop waits for the requests in flight.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Serves `app(state)` on `listener` until `shutdown` completes; requests in flight are
/// finished first (for at most 30 s). Each connection gets [`Settings::header_timeout`] to send
/// a request's headers, which also bounds how long it may sit idle between requests; bodies
/// get [`Settings::body_timeout`].
pub async fn serve<S: Store>(
    listener: TcpListener,
    state: AppState<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(sweep::sweep_forever(state.clone()));
    let tail = tokio::spawn(check_tail_forever(state.clone()));
    let header_timeout = state.settings().header_timeout;
    let router = app(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers are small and written at once: send them without Nagle's delay, which would
        // otherwise meet a client's delayed ACK on a kept-alive connection.
        let _ = tcp.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(hyper_util::rt::TokioIo::new(tcp), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after 30 s; stopping anyway");
    }
    sweeper.abort();
    tail.abort();
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
pub(crate) mod testing {
    //! The real router on a loopback port over a memory store, for tests that need HTTP as a
    //! client sends it (raw bytes, so that what a client library would refuse can be sent).

    use std::io::{Read, Write};

    use zcred_store::{Journal, MemoryStore};

    /// An answer: status, `Content-Type`, body.
    #[derive(Debug)]
    pub(crate) struct Answer {
        pub(crate) status: u16,
        pub(crate) content_type: String,
        pub(crate) body: String,
    }

    /// A service over an empty memory store.
    pub(crate) async fn service() -> crate::AppState<MemoryStore> {
        let journal = Journal::new(MemoryStore::new(), Default::default());
        crate::AppState::new(journal, crate::keys::MasterKey::generate())
    }

    /// A new API key of `state`'s store on the `unlimited` plan.
    pub(crate) async fn api_key(state: &crate::AppState<MemoryStore>) -> String {
        use zcred_store::AccessStore as _;
        let store = state.journal().store();
        let plan = crate::access::plan_for_key(store, "unlimited")
            .await
            .unwrap();
        let (text, record) = crate::access::new_key(&plan, None, 0);
        store.put_api_key(record).await.unwrap();
        text.to_string()
    }

    /// Sends `head` (the request line and headers, `\r\n`-separated, without the blank line)
    /// and `body` to `state`'s service, and reads the answer.
    pub(crate) async fn exchange(
        state: crate::AppState<MemoryStore>,
        head: &str,
        body: &str,
    ) -> Answer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(crate::serve(listener, state, std::future::pending()));
        let request = format!(
            "{head}\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let raw = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            let mut raw = String::new();
            stream.read_to_string(&mut raw).unwrap();
            raw
        })
        .await
        .unwrap();
        server.abort();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        let content_type = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-type")
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default();
        Answer {
            status,
            content_type,
            body: body.to_owned(),
        }
    }
}

#[cfg(test)]
mod health_tests {
    use crate::testing::{exchange, service};

    #[tokio::test]
    async fn readiness_waits_for_the_tail_check_and_liveness_does_not() {
        let state = service().await;
        let live = exchange(state.clone(), "GET /livez HTTP/1.1", "").await;
        assert_eq!(live.status, 200, "{}", live.body);
        let early = exchange(state.clone(), "GET /readyz HTTP/1.1", "").await;
        assert_eq!(early.status, 503, "{}", early.body);
        assert!(early.body.contains("not verified"), "{}", early.body);
        crate::check_tail(&state).await.unwrap();
        let ready = exchange(state.clone(), "GET /readyz HTTP/1.1", "").await;
        assert_eq!(ready.status, 200, "{}", ready.body);
        assert!(ready.body.contains("\"ready\""), "{}", ready.body);
    }
}
