//! The `/enc/` twins (api.md §6, encryption.md "zcred-enc-v1"): a layer in front of the plain
//! handlers, not copies of them. The layer opens the request with
//! [`zcred_crypto::enc::ServerKey`], hands the plain JSON to the plain handler, and seals a 2xx
//! answer; errors go out in the clear.
//!
//! Checks, in the spec's order (api.md §1.4: after the API key, before the JSON shape):
//! 1. `keyId` and `secretKey` headers present, `keyId` a key this service holds (400);
//! 2. RSA-OAEP opens and the timestamp is within 5 minutes (400, one generic message for every
//!    cryptographic failure); `(E, ts)` not seen before (409 `DUPLICATE`);
//! 3. the HMAC (constant time), then AES-GCM (400). The plain request is parsed only after.
//!
//! Replay: `(E, ts)` is remembered as a blob row of kind [`REPLAY_KIND`] (insert-if-absent,
//! shared by every instance on one database, surviving restarts) until `ts` + 5 minutes, after
//! which the timestamp check refuses it anyway and the sweep deletes the row.
//!
//! Keys: the state row [`KEYS_ROW`] names the current key and the previous ones still accepted
//! (`{"current": id, "previous": [{"keyId", "acceptedUntil"}]}`); each key pair is sealed under
//! the master key as `enc/<keyId>`. The first key is made on first use (3072-bit RSA by
//! default), so a service that never sees an `/enc/` call never pays for it.
//! `POST /zcred/v1/admin/enc/rotate` makes a new current key; the old one stays accepted for
//! `graceSeconds` (default 3600). Each instance keeps the ring's keys open, but reads the row on
//! every use (one point read beside an RSA decryption) and reopens the ring when the row
//! changed: a rotation on any instance is in force on all of them at once, and a rotated-out
//! key stops being accepted everywhere when its `acceptedUntil` passes (instances' clocks are
//! assumed to agree, as the 5-minute window already assumes).

use std::sync::Arc;

use axum::body::Body as HttpBody;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};
use zcred_crypto::enc::{self, Channel, EncError, ServerKey};
use zcred_store::{Blob, Expectation, StateUpdate, StoreError, Write};

use crate::blobs::now_ms;
use crate::body::{optional_seconds, read_limited, Body, BODY_LIMIT};
use crate::error::{ApiError, Envelope};
use crate::{AppState, Store};

/// The state row that names the keys.
pub const KEYS_ROW: &str = "enc/keys";
/// The blob kind of remembered `(E, ts)` pairs.
pub const REPLAY_KIND: &str = "enc-seen";
/// How long a rotated-out key stays accepted unless the rotation says otherwise, seconds.
pub const DEFAULT_GRACE_SECONDS: i64 = 3600;
const MAX_GRACE_SECONDS: i64 = 7 * 24 * 3600;
/// The largest encrypted body: base64url of a plain body of [`BODY_LIMIT`] plus the envelope.
const ENC_BODY_LIMIT: usize = BODY_LIMIT / 3 * 4 + 1024;

fn sealed_name(key_id: &str) -> String {
    format!("enc/{key_id}")
}

/// The keys in use.
#[derive(Debug)]
pub struct Keyring {
    current: Arc<ServerKey>,
    /// Rotated-out keys and when they stop being accepted (Unix ms).
    previous: Vec<(Arc<ServerKey>, i64)>,
    /// The row they were read from (for the rotation's compare-and-set).
    row: String,
}

impl Keyring {
    fn find(&self, key_id: &str, now: i64) -> Option<Arc<ServerKey>> {
        if self.current.key_id() == key_id {
            return Some(Arc::clone(&self.current));
        }
        self.previous
            .iter()
            .find(|(k, until)| k.key_id() == key_id && now <= *until)
            .map(|(k, _)| Arc::clone(k))
    }
}

/// Each instance's open keys: the ring as last read, validated against the row on every use.
#[derive(Debug, Default)]
pub struct EncKeys {
    ring: tokio::sync::RwLock<Option<Arc<Keyring>>>,
    /// Serialises loading, first-use creation and rotation within an instance.
    load: tokio::sync::Mutex<()>,
}

/// A refused envelope is the client's 400 with the error's (non-revealing) message; a key that
/// cannot be made or read is the server's 500.
fn key_error(e: EncError) -> ApiError {
    match e {
        EncError::Key(m) => ApiError::internal(m),
        other => ApiError::invalid_request(other.to_string()),
    }
}

/// A fresh key id: `ek-` and 16 hex characters.
fn new_key_id() -> String {
    let mut bytes = [0u8; 8];
    OsRng.fill_bytes(&mut bytes);
    format!("ek-{}", hex::encode(bytes))
}

/// Makes a key pair (off the async workers: RSA key generation takes a while) and seals it.
async fn make_key<S: Store>(state: &AppState<S>) -> Result<ServerKey, ApiError> {
    let key_id = new_key_id();
    let bits = state.settings().enc_rsa_bits;
    let key = tokio::task::spawn_blocking(move || ServerKey::generate(&key_id, bits))
        .await
        .map_err(ApiError::internal)?
        .map_err(key_error)?;
    let name = sealed_name(key.key_id());
    let secret = key.to_bytes().map_err(key_error)?;
    let sealed = state
        .master()
        .seal(&name, &secret)
        .map_err(ApiError::internal)?;
    state
        .journal()
        .store()
        .put_sealed(&name, &sealed)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(key)
}

async fn open_key<S: Store>(state: &AppState<S>, key_id: &str) -> Result<ServerKey, ApiError> {
    let name = sealed_name(key_id);
    let sealed = state
        .journal()
        .store()
        .sealed(&name)
        .await
        .map_err(ApiError::unavailable)?
        .ok_or_else(|| ApiError::internal(format!("the sealed key {name} is missing")))?;
    let secret = state
        .master()
        .open(&name, &sealed)
        .map_err(ApiError::internal)?;
    ServerKey::from_bytes(key_id, &secret).map_err(key_error)
}

/// Reads the ring from `row`, reusing keys already open in `old`.
async fn read_ring<S: Store>(
    state: &AppState<S>,
    row: String,
    old: Option<&Keyring>,
) -> Result<Keyring, ApiError> {
    let parsed: Value = serde_json::from_str(&row).map_err(ApiError::internal)?;
    let known = |id: &str| {
        old.and_then(|r| {
            std::iter::once(&r.current)
                .chain(r.previous.iter().map(|(k, _)| k))
                .find(|k| k.key_id() == id)
                .cloned()
        })
    };
    let get = |id: String| {
        let cached = known(&id);
        async move {
            match cached {
                Some(k) => Ok(k),
                None => open_key(state, &id).await.map(Arc::new),
            }
        }
    };
    let current = parsed["current"]
        .as_str()
        .ok_or_else(|| ApiError::internal("the enc/keys row has no current key"))?;
    let current = get(current.to_owned()).await?;
    let mut previous = Vec::new();
    for entry in parsed["previous"].as_array().into_iter().flatten() {
        let (Some(id), Some(until)) = (entry["keyId"].as_str(), entry["acceptedUntil"].as_i64())
        else {
            return Err(ApiError::internal("the enc/keys row is malformed"));
        };
        previous.push((get(id.to_owned()).await?, until));
    }
    Ok(Keyring {
        current,
        previous,
        row,
    })
}

/// The ring as the store holds it now: the row is read on every call, and the keys already
/// open are reused while it has not changed; made on first use.
async fn ring<S: Store>(state: &AppState<S>) -> Result<Arc<Keyring>, ApiError> {
    let keys = state.enc_keys();
    let store = state.journal().store();
    loop {
        let Some(row) = store.state(KEYS_ROW).await.map_err(ApiError::unavailable)? else {
            let _making = keys.load.lock().await;
            if store
                .state(KEYS_ROW)
                .await
                .map_err(ApiError::unavailable)?
                .is_some()
            {
                continue;
            }
            let key = make_key(state).await?;
            let row = json!({ "current": key.key_id(), "previous": [] }).to_string();
            match write_row(state, row, None).await {
                // Another instance made the first key meanwhile: use that one.
                Err(ApiError { status, .. }) if status == axum::http::StatusCode::CONFLICT => {}
                other => other?,
            }
            continue;
        };
        let old = keys.ring.read().await.clone();
        if let Some(old) = old.as_ref().filter(|o| o.row == row) {
            return Ok(Arc::clone(old));
        }
        let _loading = keys.load.lock().await;
        let ring = Arc::new(read_ring(state, row, old.as_deref()).await?);
        *keys.ring.write().await = Some(Arc::clone(&ring));
        return Ok(ring);
    }
}

/// Writes the keys row if it still holds `expected`.
async fn write_row<S: Store>(
    state: &AppState<S>,
    row: String,
    expected: Option<String>,
) -> Result<(), ApiError> {
    state
        .journal()
        .write(Write {
            states: vec![StateUpdate {
                key: KEYS_ROW.to_owned(),
                value: row,
            }],
            expect: vec![Expectation {
                key: KEYS_ROW.to_owned(),
                value: expected,
            }],
            ..Write::default()
        })
        .await
        .map(|_| ())
        .map_err(crate::agent::journal_error)
}

/// `GET /cred/v1/enc/keys`: the current public keys.
pub async fn keys<S: Store>(State(state): State<AppState<S>>) -> Result<Envelope, ApiError> {
    let ring = ring(&state).await?;
    let public = ring.current.public();
    Ok(Envelope(json!({
        "rsaPublicKey": public.rsa_spki_base64().map_err(key_error)?,
        "x25519PublicKey": public.x25519_base64url(),
        "keyId": public.key_id(),
    })))
}

/// `POST /zcred/v1/admin/enc/rotate` `{graceSeconds?}`: a new current key; the old one stays
/// accepted for `graceSeconds` (0 to 7 days, default 3600).
pub async fn rotate<S: Store>(
    State(state): State<AppState<S>>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let grace = optional_seconds(
        &body,
        "graceSeconds",
        0..=MAX_GRACE_SECONDS,
        DEFAULT_GRACE_SECONDS,
    )?;
    let old = ring(&state).await?;
    let keys = state.enc_keys();
    let _rotating = keys.load.lock().await;
    let key_id = make_key(&state).await?.key_id().to_owned();
    let now = now_ms();
    let until = now + grace * 1000;
    let mut previous = vec![json!({ "keyId": old.current.key_id(), "acceptedUntil": until })];
    previous.extend(
        old.previous
            .iter()
            .filter(|(_, u)| *u >= now)
            .map(|(k, u)| json!({ "keyId": k.key_id(), "acceptedUntil": u })),
    );
    let row = json!({ "current": key_id, "previous": previous }).to_string();
    write_row(&state, row.clone(), Some(old.row.clone())).await?;
    let ring = read_ring(&state, row, Some(&old)).await?;
    *keys.ring.write().await = Some(Arc::new(ring));
    let at = time::OffsetDateTime::from_unix_timestamp(until / 1000).map_err(ApiError::internal)?;
    Ok(Envelope(json!({
        "keyId": key_id,
        "previousKeyId": old.current.key_id(),
        "previousAcceptedUntil": zcred_model::time::format_seconds(at),
    })))
}

fn header_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::invalid_request(format!(
                "the {name} header is missing (an /enc/ endpoint takes a zcred-enc-v1 envelope)"
            ))
        })
}

/// Opens an encrypted request: the plain request for the plain handler, and the channel that
/// seals its answer.
async fn open<S: Store>(
    state: &AppState<S>,
    request: Request,
) -> Result<(Request, Channel), ApiError> {
    let (mut parts, body) = request.into_parts();
    let key_id = header_value(&parts.headers, enc::KEY_ID_HEADER)?.to_owned();
    let secret_key = header_value(&parts.headers, enc::SECRET_KEY_HEADER)?.to_owned();
    let within = crate::body::deadline_of(&parts.extensions);
    let bytes = read_limited(body, ENC_BODY_LIMIT, within).await?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::invalid_request("the body is not base64url text"))?
        .trim();
    // A body sent as a JSON string literal is accepted too (api.md §6).
    let text = match text.strip_prefix('"') {
        Some(_) => serde_json::from_str::<String>(text)
            .map_err(|_| ApiError::invalid_request("the body is not base64url text"))?,
        None => text.to_owned(),
    };
    let now = now_ms();
    let keys = ring(state).await?;
    let key = keys
        .find(&key_id, now)
        .ok_or_else(|| key_error(EncError::UnknownKey))?;
    let unwrap_key = Arc::clone(&key);
    let wrapped = tokio::task::spawn_blocking(move || {
        unwrap_key.unwrap(&secret_key, u64::try_from(now).unwrap_or_default())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(key_error)?;
    let store = state.journal().store();
    let replay = wrapped.replay_id();
    let seen = || ApiError::duplicate("this encrypted request was received before (replay)");
    if store
        .blob(&replay)
        .await
        .map_err(ApiError::unavailable)?
        .is_some()
    {
        return Err(seen());
    }
    let path = parts.uri.path().to_owned();
    let (plaintext, channel) = key.open(&wrapped, &path, &text).map_err(key_error)?;
    let expires = i64::try_from(wrapped.timestamp_ms).unwrap_or(i64::MAX)
        + i64::try_from(enc::WINDOW_MS).unwrap_or_default();
    match store
        .put_blob(Blob {
            id: replay.clone(),
            kind: REPLAY_KIND.to_owned(),
            owner: String::new(),
            subject: replay,
            payload: String::new(),
            expires,
        })
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(seen()),
        Err(e) => return Err(ApiError::unavailable(e)),
    }
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(enc::SECRET_KEY_HEADER);
    Ok((
        Request::from_parts(parts, HttpBody::from(plaintext.to_vec())),
        channel,
    ))
}

/// Seals a 2xx answer; other statuses go out in the clear (encryption.md "Response").
async fn seal(response: Response, channel: Channel) -> Response {
    if !response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let sealed = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => channel.seal(&bytes),
        Err(e) => return ApiError::internal(e).into_response(),
    };
    match sealed {
        Ok(text) => {
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, HttpBody::from(text))
        }
        Err(e) => key_error(e).into_response(),
    }
}

/// The layer of every `/enc/` twin.
pub async fn envelope<S: Store>(
    State(state): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    match open(&state, request).await {
        Ok((request, channel)) => seal(next.run(request).await, channel).await,
        Err(e) => e.into_response(),
    }
}
