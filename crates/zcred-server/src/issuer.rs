//! Issuer onboarding, step 1 (ledger.md "Identities"; a zcred extension: the seed registers
//! issuers outside its API). The issuer's KEL starts with an inception the issuer signs on its
//! side: `create` builds the `icp` (basic transferable prefix of the issuer's Ed25519 key,
//! committed to its next key, or to the digest of the current key when none is given) and hands
//! its raw bytes out as the blob; `submit` checks the issuer's signature and records the event.
//!
//! `POST /zcred/v1/issuer/inception/create` `{publicKey, nextPublicKey?}` →
//! `{blobId, blob, did, prefix}`; `POST /zcred/v1/issuer/inception/submit`
//! `{blobId, signerList}` → `{did, prefix, txHash}` (`txHash` = the SAID of the `icp`).
//!
//! Step 2 delegates the service's anchoring agent: `…/delegation/create` `{did}` makes the
//! agent's keys (sealed under the master key), its `dip`, and the issuer `ixn` that approves it,
//! whose raw bytes are the blob; `…/delegation/submit` `{blobId, signerList}` checks the
//! issuer's signature (its current key) and records the approval, the `dip`, and the agent's
//! backerless registry with its anchoring `ixn`, in one transaction →
//! `{did, agent, registry, txHash}`. A blob made before the issuer's KEL moved on is stale: 409.

use axum::extract::State;
use axum::Extension;
use serde_json::{json, Map, Value};
use zcred_crypto::zetrix::SigningKey;
use zcred_crypto::zetrix::VerifyingKey;
use zcred_crypto::OsRng;
use zcred_ledger::flows;
use zcred_ledger::verify::KeyState;
use zcred_ledger::{Key, Message};
use zcred_model::Did;
use zcred_store::JournalError;

use crate::access::Caller;
use crate::blobs;
use crate::body::{optional_string, string, Body};
use crate::error::{ApiError, Envelope};
use crate::{AppState, Store};

const KIND: &str = "issuer-inception";

pub(crate) fn zetrix_key(
    body: &Map<String, Value>,
    name: &str,
) -> Result<Option<VerifyingKey>, ApiError> {
    optional_string(body, name)?
        .map(|text| {
            VerifyingKey::from_zetrix(text).map_err(|e| {
                ApiError::invalid_format(format!("/{name}: {e}")).at(format!("/{name}"))
            })
        })
        .transpose()
}

/// A key bound to an issuer may act only for that issuer (403).
pub fn check_issuer(caller: &Caller, did: &Did) -> Result<(), ApiError> {
    match &caller.issuer {
        Some(bound) if bound != did.as_str() => Err(ApiError::forbidden(format!(
            "this API key is bound to issuer {bound}, not {did}"
        ))),
        _ => Ok(()),
    }
}

/// `…/inception/create`.
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    string(&body, "publicKey")?;
    let key = zetrix_key(&body, "publicKey")?.ok_or_else(|| ApiError::missing("/publicKey"))?;
    let next = zetrix_key(&body, "nextPublicKey")?;
    if next == Some(key) {
        return Err(ApiError::invalid_request(
            "nextPublicKey must differ from publicKey (omit it to commit to the current key)",
        )
        .at("/nextPublicKey"));
    }
    let did = Did::of_key(&key);
    check_issuer(&caller, &did)?;
    let prefix = Key::new(&key, true).to_string();
    if state.key_state(&prefix).await?.is_some() {
        return Err(ApiError::duplicate(format!(
            "issuer {did} is registered already"
        )));
    }
    let request = blobs::fingerprint(&body);
    if let Some(again) =
        blobs::waiting(&state, &caller, KIND, &prefix, Some(did.as_str()), &request).await?
    {
        return Ok(again);
    }
    let icp = flows::issuer_inception(&key, next.as_ref()).map_err(ApiError::internal)?;
    let mut payload = Map::new();
    payload.insert("publicKey".into(), json!(key.to_zetrix()));
    let mut extra = Map::new();
    extra.insert("did".into(), json!(did.as_str()));
    extra.insert("prefix".into(), json!(prefix));
    blobs::hand_out(
        state.journal().store(),
        &caller,
        KIND,
        &prefix,
        icp.raw(),
        payload,
        extra,
        Some(&request),
    )
    .await
}

/// `…/inception/submit`.
pub async fn submit<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let (signers, pending) =
        blobs::submitted(state.journal().store(), &caller, KIND, &body).await?;
    let key = VerifyingKey::from_zetrix(pending.text("publicKey")?).map_err(ApiError::internal)?;
    let did = Did::of_key(&key);
    check_issuer(&caller, &did)?;
    let icp = zcred_ledger::Event::parse(&pending.bytes).map_err(ApiError::internal)?;
    let said = icp.said().to_string();
    let prefix = icp.prefix().to_owned();
    // State before signatures (api.md §1.4).
    let registered = state
        .journal()
        .said_at(&prefix, 0)
        .await
        .map_err(ApiError::unavailable)?;
    if registered.as_ref().is_some_and(|s| *s != said) {
        return Err(ApiError::duplicate(format!(
            "issuer {did} is registered already with another inception"
        )));
    }
    let signature = blobs::check_signers(&signers, &pending.bytes, &key)?;
    let message = Message::event(icp, flows::controller_signature(signature));
    recorded(state.record(vec![message], pending.id).await, |e| {
        ApiError::duplicate(format!(
            "issuer {did} is registered already with another inception: {e}"
        ))
    })?;
    Ok(Envelope(
        json!({ "did": did.as_str(), "prefix": prefix, "txHash": said }),
    ))
}

/// Maps the journal's answer: a used blob is 404 (api.md §1.5), a refused event goes through
/// `refused`, a store failure is 500.
pub(crate) fn recorded(
    result: Result<Vec<u64>, JournalError>,
    refused: impl FnOnce(&JournalError) -> ApiError,
) -> Result<(), ApiError> {
    match result {
        Ok(_) => Ok(()),
        Err(JournalError::BlobGone) => Err(ApiError::not_found(
            "the blob is unknown, expired or already submitted",
        )),
        Err(
            e @ (JournalError::Taken { .. }
            | JournalError::Invalid { .. }
            | JournalError::Pending { .. }),
        ) => Err(refused(&e)),
        Err(e @ (JournalError::Store(_) | JournalError::Busy { .. })) => {
            Err(ApiError::unavailable(e))
        }
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// The refusal of an issuer-KEL event whose blob no longer extends the KEL.
pub(crate) fn moved_on(e: &JournalError) -> ApiError {
    ApiError::invalid_state(format!(
        "the issuer's KEL moved on since this blob was made ({e}); create a fresh blob"
    ))
}

/// The issuer DID a blob's create stored, with the caller's right to act for it (403).
pub(crate) fn pending_issuer(pending: &blobs::Pending, caller: &Caller) -> Result<Did, ApiError> {
    let did = Did::parse(pending.text("did")?).map_err(ApiError::internal)?;
    check_issuer(caller, &did)?;
    Ok(did)
}

const DELEGATION: &str = "issuer-delegation";

/// The issuer named by the body's `did` (its key state, and the agent it delegated if any),
/// with the caller's right to act for it.
pub(crate) async fn issuer_of<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    body: &Map<String, Value>,
) -> Result<(Did, KeyState, Option<String>), ApiError> {
    let did = Did::parse(string(body, "did")?)
        .map_err(|e| ApiError::invalid_format(format!("/did: {e}")).at("/did"))?;
    let key = did
        .key()
        .map_err(|e| ApiError::invalid_format(format!("/did: {e}")).at("/did"))?;
    let prefix = Key::new(&key, true).to_string();
    let issuer = state.key_state(&prefix).await?;
    let agent = state
        .journal()
        .delegates(&prefix)
        .await
        .map_err(ApiError::unavailable)?
        .into_iter()
        .next();
    let issuer = issuer.ok_or_else(|| {
        ApiError::not_found(format!(
            "issuer {did} has no KEL here; submit its inception first"
        ))
    })?;
    check_issuer(caller, &did)?;
    Ok((did, issuer, agent))
}

/// The key in force of the issuer whose KEL `event` (made from the blob `blob`) extends: 409
/// when the KEL moved on since the blob was made (two events at one sn would be duplicity);
/// such a blob can never succeed, so it is used up.
pub(crate) async fn key_for_next<S: Store>(
    state: &AppState<S>,
    event: &zcred_ledger::Event,
    blob: &str,
) -> Result<VerifyingKey, ApiError> {
    let (sn, keys) = state
        .key_state(event.prefix())
        .await?
        .map(|k| (k.sn, k.keys))
        .ok_or_else(|| ApiError::internal("the issuer has no KEL"))?;
    if sn + 1 != event.sn() {
        return Err(blobs::discard(
            state,
            blob,
            ApiError::invalid_state(
                "the issuer's KEL moved on since this blob was made; create a fresh blob",
            ),
        )
        .await);
    }
    keys.first()
        .and_then(|k| k.verifying_key().ok())
        .ok_or_else(|| ApiError::internal("the issuer has no usable key"))
}

/// `…/delegation/create`.
pub async fn delegation_create<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let (did, issuer, existing) = issuer_of(&state, &caller, &body).await?;
    if let Some(agent) = existing {
        return Err(ApiError::duplicate(format!(
            "issuer {did} has delegated its agent {agent} already"
        )));
    }
    let prefix = issuer.prefix.to_string();
    let request = blobs::fingerprint(&body);
    if let Some(again) = blobs::waiting(
        &state,
        &caller,
        DELEGATION,
        &prefix,
        Some(did.as_str()),
        &request,
    )
    .await?
    {
        return Ok(again);
    }
    let current = SigningKey::generate(&mut OsRng);
    let next = SigningKey::generate(&mut OsRng);
    let (agent, dip) = flows::Controller::incept_delegated(
        &issuer.prefix,
        SigningKey::from_zetrix(&current.to_zetrix()).map_err(ApiError::internal)?,
        SigningKey::from_zetrix(&next.to_zetrix()).map_err(ApiError::internal)?,
    )
    .map_err(ApiError::internal)?;
    let record = crate::agent::record_name(agent.prefix().as_str(), 0);
    crate::agent::seal(&state, &record, &current, &next).await?;
    let approval = flows::approve_delegation(&issuer.prefix, issuer.sn + 1, &issuer.said, &dip)
        .map_err(ApiError::internal)?;
    let mut payload = Map::new();
    payload.insert("did".into(), json!(did.as_str()));
    payload.insert("agent".into(), json!(agent.prefix().as_str()));
    let mut extra = Map::new();
    extra.insert("did".into(), json!(did.as_str()));
    extra.insert("agent".into(), json!(agent.prefix().as_str()));
    blobs::hand_out(
        state.journal().store(),
        &caller,
        DELEGATION,
        &prefix,
        approval.raw(),
        payload,
        extra,
        Some(&request),
    )
    .await
}

/// `…/delegation/submit`.
pub async fn delegation_submit<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let (signers, pending) =
        blobs::submitted(state.journal().store(), &caller, DELEGATION, &body).await?;
    let did = pending_issuer(&pending, &caller)?;
    let agent_prefix = pending.text("agent")?.to_owned();
    let approval = zcred_ledger::Event::parse(&pending.bytes).map_err(ApiError::internal)?;
    // The approval must extend the issuer's KEL as it is now (else the blob is stale: two
    // approvals at one sn would be duplicity), signed by the keys in force now.
    let issuer_key = key_for_next(&state, &approval, &pending.id).await?;
    let signature = blobs::check_signers(&signers, &pending.bytes, &issuer_key)?;

    // The agent, rebuilt from its sealed keys: the same keys give the same dip.
    let (current, next) = crate::agent::keys(&state, &crate::agent::record_name(&agent_prefix, 0))
        .await?
        .into_pair();
    let issuer_prefix =
        zcred_ledger::Prefix::parse(approval.prefix()).map_err(ApiError::internal)?;
    let (mut agent, dip) = flows::Controller::incept_delegated(&issuer_prefix, current, next)
        .map_err(ApiError::internal)?;
    if agent.prefix().as_str() != agent_prefix {
        return Err(ApiError::internal(
            "the sealed agent keys do not give the agent's prefix",
        ));
    }
    let dip = agent.approved(dip, &approval);
    // The registry's nonce comes from the blob id, so one blob always gives the same registry.
    let mut nonce = [0u8; 16];
    let id_bytes = hex::decode(&pending.id).unwrap_or_default();
    let n = id_bytes.len().min(16);
    nonce[..n].copy_from_slice(&id_bytes[..n]);
    let vcp = flows::registry(agent.prefix(), &nonce).map_err(ApiError::internal)?;
    let registry = vcp.said().to_string();
    let (anchor, vcp) = agent.anchor(vcp).map_err(ApiError::internal)?;
    let txhash = approval.said().to_string();
    let approval = Message::event(approval, flows::controller_signature(signature));
    recorded(
        state
            .record(vec![approval, dip, anchor, vcp], pending.id)
            .await,
        moved_on,
    )?;
    let status = crate::admin::issuer_status(state.journal(), &did).await?;
    Ok(Envelope(json!({
        "did": did.as_str(),
        "agent": agent_prefix,
        "registry": registry,
        "txHash": txhash,
        "status": status.as_str(),
    })))
}
