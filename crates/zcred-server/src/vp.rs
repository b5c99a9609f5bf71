//! Presentations (api.md §10.1–§10.3): challenge, create, submit, verify. The logic is
//! `zcred_model::presentation`; this module reads bodies, resolves issuer keys and status from
//! the ledger, keeps blobs and challenges, and answers.
//!
//! Challenges (zcred extension): `POST /cred/v1/vp/challenge` `{ttlSeconds?}` → `{challenge,
//! expiresAt}`, a random UUID kept as state row `challenge/<uuid>` `{expires, used}` for
//! `ttlSeconds` (default 300, 1–3600). A verify that names it and passes uses it up
//! (compare-and-set, so two concurrent verifies cannot both pass); a later verify with it fails
//! with "Challenge already used", one after its expiry with "Challenge expired". A challenge the
//! service did not issue is compared, not tracked.

use std::collections::HashMap;

use axum::extract::State;
use axum::Extension;
use rand_core::{OsRng, RngCore};
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use zcred_crypto::bbs;
use zcred_crypto::zetrix::{Signature, VerifyingKey};
use zcred_ledger::{Event, Key};
use zcred_model::presentation::{self, IssuerKeySet, RangeRequest, Resolve, Status};
use zcred_model::{Credential, Did};
use zcred_store::{Expectation, StateUpdate, Write};

use crate::access::Caller;
use crate::blobs;
use crate::body::{optional_seconds, optional_string, string, Body};
use crate::error::{ApiError, Envelope};
use crate::{attributes, vc, AppState, Store};

const KIND: &str = "vp";
const CHALLENGE_PREFIX: &str = "challenge/";
const CHALLENGE_TTL_DEFAULT: i64 = 300;
/// Range proofs one presentation may ask for (each is a Bulletproofs++ proof to make and to
/// check); an attribute at most once.
pub const MAX_RANGE_PROOFS: usize = 8;
/// Credentials one presentation may carry to `verify` (each is a BBS+ proof to check).
pub const MAX_PRESENTED: usize = 10;

/// The keys of issuer `did` from its KEL's `events` (by sequence number) at `now`: every
/// Ed25519 key its KEL has held (current first) and its BBS+ keys valid now. `None` when there
/// are no events.
pub fn issuer_keys(events: &[Event], did: &Did, now: OffsetDateTime) -> Option<IssuerKeySet> {
    let held = attributes::establishment_keys(events);
    held.last()?;
    let mut ed25519: Vec<VerifyingKey> = Vec::new();
    for keys in held.iter().rev() {
        for k in keys.iter().filter_map(|k| k.verifying_key().ok()) {
            if !ed25519.contains(&k) {
                ed25519.push(k);
            }
        }
    }
    let bbs = attributes::list(events)
        .into_iter()
        .filter(|a| a.kind == attributes::BBS_TYPE && a.valid_at(now))
        .filter_map(|a| {
            bbs::PublicKey::from_multibase(&a.public_key)
                .ok()
                .map(|k| (format!("{did}#{}", a.fragment), k))
        })
        .collect();
    Some(IssuerKeySet { ed25519, bbs })
}

/// The keys of issuer `did` at `now`, from its KEL as the store holds it now.
async fn issuer_keys_of<S: Store>(
    state: &AppState<S>,
    did: &Did,
    now: OffsetDateTime,
) -> Result<Option<IssuerKeySet>, ApiError> {
    let Ok(original) = did.key() else {
        return Ok(None);
    };
    let prefix = Key::new(&original, true).to_string();
    let events = state
        .journal()
        .kel_events(&prefix)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(issuer_keys(&events, did, now))
}

/// Issuer keys and statuses looked up before a check runs (the check itself is synchronous).
#[derive(Debug, Default)]
struct Snapshot {
    issuers: HashMap<Did, Option<IssuerKeySet>>,
    statuses: HashMap<String, Status>,
}

impl Resolve for Snapshot {
    fn issuer(&self, did: &Did) -> Result<Option<IssuerKeySet>, String> {
        Ok(self.issuers.get(did).cloned().flatten())
    }

    fn status(&self, vc_id: &str, _: &Credential) -> Result<Status, String> {
        self.statuses
            .get(vc_id)
            .cloned()
            .ok_or_else(|| format!("the status of {vc_id} was not looked up"))
    }
}

async fn snapshot<S: Store>(
    state: &AppState<S>,
    credentials: &[&Value],
    now: OffsetDateTime,
) -> Result<Snapshot, ApiError> {
    let mut snap = Snapshot::default();
    for c in credentials {
        let issuer = match c.get("issuer") {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(Value::Object(o)) => o.get("id").and_then(Value::as_str),
            _ => None,
        };
        if let Some(did) = issuer.and_then(|s| Did::parse(s).ok()) {
            if let std::collections::hash_map::Entry::Vacant(slot) = snap.issuers.entry(did) {
                let d = slot.key().clone();
                let keys = issuer_keys_of(state, &d, now).await?;
                slot.insert(keys);
            }
        }
        if let Some(id) = c.get("id").and_then(Value::as_str) {
            if !snap.statuses.contains_key(id) {
                let status = vc::status_of(state, id).await?;
                snap.statuses.insert(id.to_owned(), status);
            }
        }
    }
    Ok(snap)
}

fn member<'a>(
    body: &'a Map<String, Value>,
    name: &str,
    alias: &str,
) -> Result<&'a Value, ApiError> {
    let name = vc::aliased(body, name, alias)?;
    body.get(name)
        .ok_or_else(|| ApiError::missing(&format!("/{name}")))
}

/// `POST /cred/v1/vp/challenge`.
pub async fn challenge<S: Store>(
    State(state): State<AppState<S>>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let ttl = optional_seconds(&body, "ttlSeconds", 1..=3600, CHALLENGE_TTL_DEFAULT)?;
    let mut raw = [0u8; 16];
    OsRng.fill_bytes(&mut raw);
    raw[6] = (raw[6] & 0x0f) | 0x40;
    raw[8] = (raw[8] & 0x3f) | 0x80;
    let h = hex::encode(raw);
    let id = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    );
    let expires = blobs::now_ms() + ttl * 1000;
    let key = format!("{CHALLENGE_PREFIX}{id}");
    state
        .journal()
        .write(Write {
            states: vec![StateUpdate {
                key: key.clone(),
                value: json!({ "expires": expires, "used": false }).to_string(),
            }],
            expect: vec![Expectation { key, value: None }],
            ..Write::default()
        })
        .await
        .map_err(crate::agent::journal_error)?;
    let at = OffsetDateTime::from_unix_timestamp(expires / 1000).map_err(ApiError::internal)?;
    Ok(Envelope(json!({
        "challenge": id,
        "expiresAt": zcred_model::time::format_seconds(at),
    })))
}

fn ranges(body: &Map<String, Value>) -> Result<Vec<RangeRequest>, ApiError> {
    let Some(value) = body.get("rangeProof").filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let items = value.as_array().ok_or_else(|| {
        ApiError::invalid_format("/rangeProof must be an array of {attribute, min, max}")
            .at("/rangeProof")
    })?;
    if items.len() > MAX_RANGE_PROOFS {
        return Err(ApiError::invalid_request(format!(
            "/rangeProof asks for {} range proofs; a presentation may hold at most {MAX_RANGE_PROOFS}",
            items.len()
        ))
        .at("/rangeProof"));
    }
    let ranges = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("/rangeProof/{i}");
            let Value::Object(o) = item else {
                return Err(ApiError::invalid_format(format!("{at} must be an object")).at(at));
            };
            let attribute = string(o, "attribute").map_err(|e| e.at(format!("{at}/attribute")))?;
            let bound = |name: &str| {
                let v = o
                    .get(name)
                    .ok_or_else(|| ApiError::missing(&format!("{at}/{name}")))?;
                v.as_i64()
                    .or_else(|| v.as_str().and_then(zcred_model::credential::integer_value))
                    .ok_or_else(|| {
                        ApiError::invalid_format(format!(
                            "{at}/{name} must be an integer of 64 bits"
                        ))
                        .at(format!("{at}/{name}"))
                    })
            };
            Ok(RangeRequest {
                attribute: attribute.to_owned(),
                min: bound("min")?,
                max: bound("max")?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    for (i, range) in ranges.iter().enumerate() {
        if ranges[..i].iter().any(|r| r.attribute == range.attribute) {
            return Err(ApiError::invalid_request(format!(
                "/rangeProof/{i}/attribute: {} already has a range proof; give one range per attribute",
                range.attribute
            ))
            .at(format!("/rangeProof/{i}/attribute")));
        }
    }
    Ok(ranges)
}

fn revealed(body: &Map<String, Value>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(value) = body.get("revealedAttributes").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::invalid_format("/revealedAttributes must be an array of attribute paths")
            .at("/revealedAttributes")
    };
    let items = value.as_array().ok_or_else(bad)?;
    items
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `POST /cred/v1/vp/create` (10.1).
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let vc_json = member(&body, "vc", "vcObject")?.clone();
    let credential = Credential::from_value(vc_json)
        .map_err(|e| ApiError::invalid_format(format!("/vc: {e}")).at("/vc"))?;
    let revealed = revealed(&body)?;
    let ranges = ranges(&body)?;
    let challenge = optional_string(&body, "challenge")?;
    if challenge.is_some_and(|c| c.chars().count() > 256) {
        return Err(
            ApiError::invalid_format("/challenge must have 1 to 256 characters").at("/challenge"),
        );
    }
    let now = OffsetDateTime::now_utc();
    let issuer = credential.issuer().clone();
    let keys = issuer_keys_of(&state, &issuer, now).await?.ok_or_else(|| {
        ApiError::invalid_credential(format!(
            "the credential's issuer {} is not registered here, so its proofs cannot be checked",
            credential.issuer()
        ))
        .at("/vc")
    })?;
    let created = zcred_model::time::format_micros(now);
    let holder = credential.holder().clone();
    let derived = tokio::task::spawn_blocking(move || {
        let bbs_key = presentation::check_issued(&credential, &keys)
            .map_err(|e| ApiError::invalid_credential(format!("/vc: {e}")).at("/vc"))?;
        presentation::derive_credential(
            &credential,
            &bbs_key,
            revealed.as_deref(),
            &ranges,
            &created,
            &mut OsRng,
        )
        .map_err(|e| match e {
            presentation::PresentError::Request { field, message } => {
                ApiError::invalid_request(message).at(field)
            }
            other => ApiError::invalid_request(other.to_string()),
        })
    })
    .await
    .map_err(ApiError::internal)??;
    let p = presentation::unsigned_presentation(&holder, vec![derived], challenge);
    let input = presentation::signing_input(&p);
    let mut payload = Map::new();
    payload.insert("presentation".into(), p);
    let mut envelope = blobs::hand_out(
        state.journal().store(),
        &caller,
        KIND,
        holder.as_str(),
        input.as_bytes(),
        payload,
        Map::new(),
        None,
    )
    .await?;
    // api.md §10.1: the VP blob is lowercase hex.
    envelope.0["blob"] = json!(hex::encode(input.as_bytes()));
    Ok(envelope)
}

/// `POST /cred/v1/vp/submit` (10.2).
pub async fn submit<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let sig_text = string(&body, "ed25519SignData")?;
    let signature = Signature::from_hex(sig_text).map_err(|e| {
        ApiError::invalid_signature_format(format!("/ed25519SignData: {e}")).at("/ed25519SignData")
    })?;
    let key = VerifyingKey::from_zetrix(string(&body, "ed25519PubKey")?).map_err(|e| {
        ApiError::invalid_format(format!("/ed25519PubKey: {e}")).at("/ed25519PubKey")
    })?;
    let pending = blobs::take(state.journal().store(), &caller, KIND, &body).await?;
    let p = pending
        .payload
        .get("presentation")
        .cloned()
        .ok_or_else(|| ApiError::internal("a stored VP blob has no presentation"))?;
    let holder = p.get("holder").and_then(Value::as_str).unwrap_or_default();
    let signer = Did::of_key(&key);
    if signer.as_str() != holder {
        return Err(ApiError::signature_mismatch(format!(
            "ed25519PubKey is the key of {signer}, not of the presentation's holder {holder}"
        ))
        .at("/ed25519PubKey"));
    }
    key.verify(&pending.bytes, &signature).map_err(|_| {
        ApiError::signature_mismatch(
            "ed25519SignData does not verify over the blob under ed25519PubKey",
        )
        .at("/ed25519SignData")
    })?;
    let used = state
        .journal()
        .write(Write {
            consume_blob: Some(pending.id.clone()),
            ..Write::default()
        })
        .await;
    match used {
        Ok(_) => {}
        Err(zcred_store::JournalError::BlobGone) => {
            return Err(ApiError::not_found(format!(
                "blob {} is unknown, expired or already submitted",
                pending.id
            )))
        }
        Err(e) => return Err(crate::agent::journal_error(e)),
    }
    let created = zcred_model::time::format_micros(OffsetDateTime::now_utc());
    Ok(Envelope(json!({
        "vpObject": presentation::finish(p, &signature, &created),
    })))
}

/// `POST /cred/v1/vp/verify` (10.3).
pub async fn verify<S: Store>(
    State(state): State<AppState<S>>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let vp = member(&body, "vpObject", "vp")?.clone();
    let expected = optional_string(&body, "challenge")?.map(str::to_owned);
    let now = OffsetDateTime::now_utc();
    let credentials: Vec<&Value> = vp
        .get("verifiableCredential")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if credentials.len() > MAX_PRESENTED {
        return Err(ApiError::invalid_request(format!(
            "the presentation carries {} credentials; at most {MAX_PRESENTED} are verified in one call",
            credentials.len()
        ))
        .at("/vpObject/verifiableCredential"));
    }
    let snap = snapshot(&state, &credentials, now).await?;
    let tracked = match &expected {
        Some(c) => {
            let key = format!("{CHALLENGE_PREFIX}{c}");
            let row = state
                .journal()
                .store()
                .state(&key)
                .await
                .map_err(ApiError::unavailable)?;
            row.map(|r| (key, r))
        }
        None => None,
    };
    let checked_expected = expected.clone();
    let mut outcome = tokio::task::spawn_blocking(move || {
        presentation::verify_presentation(&vp, checked_expected.as_deref(), now, &snap)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| match e {
        presentation::VerifyError::Shape(m) => ApiError::invalid_request(m).at("/vpObject"),
        presentation::VerifyError::Unavailable(m) => ApiError::unavailable(m),
        other => ApiError::internal(other),
    })?;
    if let Some((key, row)) = tracked {
        let parsed: Value = serde_json::from_str(&row).unwrap_or_default();
        if parsed["used"].as_bool() == Some(true) {
            outcome.fail("invalid", "Challenge already used");
        } else if parsed["expires"]
            .as_i64()
            .is_none_or(|e| e <= blobs::now_ms())
        {
            outcome.fail("invalid", "Challenge expired");
        } else if outcome.verified() {
            let mut used = parsed.clone();
            used["used"] = json!(true);
            let write = state
                .journal()
                .write(Write {
                    states: vec![StateUpdate {
                        key: key.clone(),
                        value: used.to_string(),
                    }],
                    expect: vec![Expectation {
                        key,
                        value: Some(row),
                    }],
                    ..Write::default()
                })
                .await;
            match write {
                Ok(_) => {}
                // Another verify used it up meanwhile: this one comes second (api.md §10.3: a
                // 200 that says so, not a 409).
                Err(zcred_store::JournalError::Changed(_)) => {
                    outcome.fail("invalid", "Challenge already used")
                }
                Err(e) => return Err(crate::agent::journal_error(e)),
            }
        }
    }
    Ok(Envelope(outcome.to_json()))
}
