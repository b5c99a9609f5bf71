//! The blob/sign/submit pattern (api.md §1.5, §7.3): blobs handed out as UPPERCASE hex, kept
//! for 30 minutes, used up by the ledger write of their submit; `signerList` read with its
//! top-level alias, and every signature checked.

use rand_core::{OsRng, RngCore};
use serde_json::{json, Map, Value};
use zcred_crypto::zetrix::{Signature, VerifyingKey};
use zcred_store::{Blob, BlobStore};

use crate::access::Caller;
use crate::body::{array, optional_string, string};
use crate::error::{ApiError, Envelope};

/// How long a blob may wait for its submit (api.md OP-16).
pub const BLOB_TTL_MS: i64 = 30 * 60 * 1000;

/// Now, Unix milliseconds.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// A stored blob's payload, without the bytes to sign, and those bytes.
fn opened(blob: &Blob) -> Result<(Map<String, Value>, Vec<u8>), ApiError> {
    let Ok(Value::Object(mut payload)) = serde_json::from_str::<Value>(&blob.payload) else {
        return Err(ApiError::internal(
            "a stored blob's payload is not a JSON object",
        ));
    };
    let bytes = payload
        .remove("bytes")
        .and_then(|v| v.as_str().and_then(|h| hex::decode(h).ok()))
        .ok_or_else(|| ApiError::internal("a stored blob has no bytes"))?;
    Ok((payload, bytes))
}

/// The answer that hands a blob out: `{blobId, blob}` and the members its create added.
fn envelope_of(blob: &Blob) -> Result<Envelope, ApiError> {
    let (mut payload, bytes) = opened(blob)?;
    let mut object = Map::new();
    object.insert("blobId".into(), json!(blob.id));
    object.insert("blob".into(), json!(hex::encode_upper(bytes)));
    if let Some(Value::Object(extra)) = payload.remove(EXTRA) {
        object.extend(extra);
    }
    Ok(Envelope(Value::Object(object)))
}

/// Where a blob's payload keeps the members its create's answer added (to answer again).
const EXTRA: &str = "answered";
/// Where a blob's payload keeps the digest of the request that made it.
const REQUEST: &str = "request";

/// What identifies a create's request: SHA-256 of its canonical JSON.
pub fn fingerprint(body: &Map<String, Value>) -> String {
    use sha2::Digest as _;
    let text = zcred_model::canonical::to_string(&Value::Object(body.clone()));
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// The caller's own blob for the step, waiting: handed out again when it was made for the
/// same request; otherwise refused, naming it (the caller submits it or lets it expire).
fn own(blob: &Blob, request: &str, now: i64) -> Result<Envelope, ApiError> {
    let made_for = serde_json::from_str::<Value>(&blob.payload)
        .ok()
        .and_then(|p| p[REQUEST].as_str().map(str::to_owned));
    if made_for.as_deref() == Some(request) {
        return envelope_of(blob);
    }
    let minutes = (blob.expires - now + 59_999) / 60_000;
    Err(ApiError::invalid_state(format!(
        "your blob {} for this step, made for another request, is pending (it expires in {minutes} min): submit it, or create again after it expires",
        blob.id
    )))
}

fn pending_refusal(blob: &Blob, now: i64) -> ApiError {
    let minutes = (blob.expires - now + 59_999) / 60_000;
    ApiError::invalid_state(format!(
        "another key's blob for this step is pending (it expires in {minutes} min): it must be submitted, or expire, first"
    ))
}

/// One blob per step (api.md §4, §1.5): what waits for the step of `kind` about `subject`
/// before a create builds its blob. Expired blobs are purged here.
///
/// - The caller's own unexpired blob, made for the same `request` ([`fingerprint`]):
///   `Some(answer)`, the same blob handed out again, so that a client that lost the answer, or
///   whose submit was refused (a stale key, say), goes on with it instead of waiting for it to
///   expire, and no second, conflicting event is handed out. Made for another request: 409
///   naming it.
/// - Another key's: 409, unless the caller's key is bound to `issuer` (the issuer the step is
///   about) and that key is not; a key not bound to an issuer cannot block the issuer's own
///   onboarding, so its blob is used up and the caller goes on.
/// - None: `None`.
pub async fn waiting<S: crate::Store>(
    state: &crate::AppState<S>,
    caller: &Caller,
    kind: &str,
    subject: &str,
    issuer: Option<&str>,
    request: &str,
) -> Result<Option<Envelope>, ApiError> {
    let store = state.journal().store();
    let now = now_ms();
    store
        .purge_blobs(now)
        .await
        .map_err(ApiError::unavailable)?;
    let Some(blob) = store
        .pending_blob(kind, subject, now)
        .await
        .map_err(ApiError::unavailable)?
    else {
        return Ok(None);
    };
    if blob.owner == caller.key_hash {
        return own(&blob, request, now).map(Some);
    }
    let bound = |key: Option<&str>| issuer.is_some() && key == issuer;
    if bound(caller.issuer.as_deref()) {
        let owner = zcred_store::AccessStore::api_key(store, &blob.owner)
            .await
            .map_err(ApiError::unavailable)?;
        if !bound(owner.as_ref().and_then(|k| k.issuer.as_deref())) {
            tracing::info!(
                kind,
                "a blob of a key not bound to the issuer is taken over"
            );
            discard(state, &blob.id, ApiError::internal("unused")).await;
            return Ok(None);
        }
    }
    Err(pending_refusal(&blob, now))
}

/// Stores a blob of `kind` about `subject` for `caller` and answers `{blobId, blob}` plus
/// `extra` members. `alone`: the step allows one unexpired blob at a time, and `Some` holds
/// the request's [`fingerprint`] (see [`waiting`]); when another create of the step got there
/// first, its blob is handed out (the caller's, for the same request) or the create is
/// refused.
#[allow(clippy::too_many_arguments)]
pub async fn hand_out<S: BlobStore>(
    store: &S,
    caller: &Caller,
    kind: &str,
    subject: &str,
    bytes: &[u8],
    mut payload: Map<String, Value>,
    extra: Map<String, Value>,
    alone: Option<&str>,
) -> Result<Envelope, ApiError> {
    let mut id = [0u8; 16];
    OsRng.fill_bytes(&mut id);
    let id = hex::encode_upper(id);
    payload.insert("bytes".into(), Value::String(hex::encode(bytes)));
    payload.insert(EXTRA.into(), Value::Object(extra));
    if let Some(request) = alone {
        payload.insert(REQUEST.into(), json!(request));
    }
    let now = now_ms();
    let blob = Blob {
        id: id.clone(),
        kind: kind.to_owned(),
        owner: caller.key_hash.clone(),
        subject: subject.to_owned(),
        payload: Value::Object(payload).to_string(),
        expires: now + BLOB_TTL_MS,
    };
    let Some(request) = alone else {
        store
            .put_blob(blob.clone())
            .await
            .map_err(ApiError::unavailable)?;
        return envelope_of(&blob);
    };
    match store
        .put_blob_alone(blob.clone(), now)
        .await
        .map_err(ApiError::unavailable)?
    {
        None => envelope_of(&blob),
        Some(first) if first.owner == caller.key_hash => own(&first, request, now),
        Some(first) => Err(pending_refusal(&first, now)),
    }
}

/// A blob being submitted: its id, the bytes that were signed, and what its create stored.
#[derive(Debug)]
pub struct Pending {
    /// The blobId.
    pub id: String,
    /// The bytes handed out to be signed.
    pub bytes: Vec<u8>,
    /// The create's payload.
    pub payload: Map<String, Value>,
}

impl Pending {
    /// A text member its create stored (500 when missing: the service wrote it).
    pub fn text(&self, name: &str) -> Result<&str, ApiError> {
        self.payload
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::internal(format!("a stored blob has no {name}")))
    }
}

/// The blob named by the body's `blobId`: 404 when it is unknown, expired, used up, of another
/// kind, or another key's.
pub async fn take<S: BlobStore>(
    store: &S,
    caller: &Caller,
    kind: &str,
    body: &Map<String, Value>,
) -> Result<Pending, ApiError> {
    let id = string(body, "blobId")?;
    if id.len() > 64 {
        return Err(ApiError::invalid_format("/blobId is longer than 64 characters").at("/blobId"));
    }
    let gone = || {
        ApiError::not_found(format!(
            "blob {id} is unknown, expired or already submitted"
        ))
    };
    let blob = store
        .blob(id)
        .await
        .map_err(ApiError::unavailable)?
        .filter(|b| b.kind == kind && b.owner == caller.key_hash && b.expires > now_ms())
        .ok_or_else(gone)?;
    let (mut payload, bytes) = opened(&blob)?;
    payload.remove(EXTRA);
    payload.remove(REQUEST);
    Ok(Pending {
        id: blob.id,
        bytes,
        payload,
    })
}

/// Uses up a blob that can never succeed (its event no longer extends the KEL), so that a
/// fresh one can be made at once; `refusal` is returned either way.
pub async fn discard<S: crate::Store>(
    state: &crate::AppState<S>,
    id: &str,
    refusal: ApiError,
) -> ApiError {
    let write = zcred_store::Write {
        consume_blob: Some(id.to_owned()),
        ..zcred_store::Write::default()
    };
    match state.journal().write(write).await {
        Ok(_) | Err(zcred_store::JournalError::BlobGone) => refusal,
        Err(e) => crate::agent::journal_error(e),
    }
}

/// A submit's signers and the blob it names (signers read first: a malformed body is 400
/// before the blob is looked up).
pub async fn submitted<S: BlobStore>(
    store: &S,
    caller: &Caller,
    kind: &str,
    body: &Map<String, Value>,
) -> Result<(Vec<Signer>, Pending), ApiError> {
    let signers = signers(body)?;
    Ok((signers, take(store, caller, kind, body).await?))
}

/// One signer of a blob.
#[derive(Debug)]
pub struct Signer {
    /// The key.
    pub key: VerifyingKey,
    /// Its signature.
    pub signature: Signature,
}

fn signer_at(entry: &Map<String, Value>, at: &str) -> Result<Signer, ApiError> {
    let field = |name: &str| format!("{at}/{name}");
    let signature = crate::body::signature(entry, "signBlob", at)?;
    let key_text = match entry.get("publicKey") {
        Some(Value::String(s)) if !s.is_empty() => s,
        _ => return Err(ApiError::missing(&field("publicKey"))),
    };
    let key = VerifyingKey::from_zetrix(key_text).map_err(|e| {
        ApiError::invalid_format(format!("{}: {e}", field("publicKey"))).at(field("publicKey"))
    })?;
    Ok(Signer { key, signature })
}

/// The signers of a submit: `signerList` (1–8), or the top-level `signBlob` + `publicKey`
/// alias; both at once is 400.
pub fn signers(body: &Map<String, Value>) -> Result<Vec<Signer>, ApiError> {
    let alias = body.contains_key("signBlob") || body.contains_key("publicKey");
    match (body.contains_key("signerList"), alias) {
        (true, true) => Err(ApiError::invalid_request(
            "send signerList or the top-level signBlob and publicKey, not both",
        )),
        (false, true) => {
            optional_string(body, "signBlob")?;
            Ok(vec![signer_at(body, "")?])
        }
        _ => array(body, "signerList", 1, 8)?
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let at = format!("/signerList/{i}");
                match entry {
                    Value::Object(entry) => signer_at(entry, &at),
                    _ => Err(ApiError::invalid_format(format!("{at} must be an object")).at(at)),
                }
            })
            .collect(),
    }
}

/// Every signature must verify over `bytes`, and `required` must be among the signers
/// (401 `SIGNATURE_MISMATCH` otherwise). Returns the required key's signature.
pub fn check_signers(
    signers: &[Signer],
    bytes: &[u8],
    required: &VerifyingKey,
) -> Result<Signature, ApiError> {
    for (i, s) in signers.iter().enumerate() {
        s.key.verify(bytes, &s.signature).map_err(|_| {
            ApiError::signature_mismatch(format!(
                "the signature of signer {i} does not verify over the blob"
            ))
            .at(format!("/signerList/{i}/signBlob"))
        })?;
    }
    signers
        .iter()
        .find(|s| s.key == *required)
        .map(|s| s.signature)
        .ok_or_else(|| {
            ApiError::signature_mismatch(format!(
                "no signer is the required key {}",
                required.to_zetrix()
            ))
        })
}
