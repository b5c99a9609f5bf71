//! Key rotation, end to end (ledger.md "Identities"; a zcred extension like onboarding), over
//! the blob pattern.
//!
//! - The issuer's own key: `POST /zcred/v1/issuer/rotation/create`
//!   `{did, publicKey, nextPublicKey?}` builds the `rot` that makes `publicKey` (the key the
//!   KEL's last establishment event committed to) the signing key and commits to
//!   `nextPublicKey` (or, when none is given, to `publicKey` itself, the weaker form of
//!   inception). The blob is the `rot`'s raw bytes, signed with the **new** key (KERI: a
//!   rotation is signed by the keys it makes current). `POST …/rotation/submit`
//!   `{blobId, signerList}` records it → `{did, publicKey, sn, txHash}`. The DID stays; every
//!   later issuer signature (templates, VCs, revocations, attributes) is checked against the new
//!   key, and `#controllerKey` of the DID document shows it.
//! - The service's anchoring agent: `POST /zcred/v1/issuer/agent/rotation/create` `{did}`
//!   rotates the agent to its pre-committed next key and commits to a fresh one (sealed under
//!   the master key before anything is handed out); the agent's `drt` must be approved by the
//!   issuer, so the blob is the issuer `ixn` carrying the `drt`'s seal. `…/agent/rotation/submit`
//!   `{blobId, signerList}` records the approval and the `drt` in one transaction →
//!   `{did, agent, sn, txHash}`. The `drt` extends the agent's KEL as it was at create: when
//!   the agent anchored anything since (an issuance, a template), the blob is stale (409) and a
//!   fresh one must be made, because the issuer signed a seal of that exact `drt`.
//!
//! Both are refused with 409 when the issuer's KEL moved on since the blob was made.

use axum::extract::State;
use axum::Extension;
use serde_json::{json, Map};
use zcred_crypto::zetrix::{SigningKey, VerifyingKey};
use zcred_crypto::OsRng;
use zcred_ledger::flows;
use zcred_ledger::{Event, Key, Message, Prefix};
use zcred_model::Did;
use zcred_store::Write;

use crate::access::Caller;
use crate::agent;
use crate::blobs;
use crate::body::{string, Body};
use crate::error::{ApiError, Envelope};
use crate::issuer::{issuer_of, moved_on, pending_issuer, recorded, zetrix_key};
use crate::{AppState, Store};

const ISSUER: &str = "issuer-rotation";
const AGENT: &str = "agent-rotation";

/// `…/issuer/rotation/create`.
pub async fn issuer_create<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let (did, kel, _) = issuer_of(&state, &caller, &body).await?;
    string(&body, "publicKey")?;
    let key = zetrix_key(&body, "publicKey")?.ok_or_else(|| ApiError::missing("/publicKey"))?;
    let next = zetrix_key(&body, "nextPublicKey")?;
    if next == Some(key) {
        return Err(ApiError::invalid_request(
            "nextPublicKey must differ from publicKey (omit it to commit to the new key itself)",
        )
        .at("/nextPublicKey"));
    }
    let digest = Key::new(&key, true).next_digest();
    if kel.next.is_empty() {
        return Err(ApiError::invalid_state(format!(
            "issuer {did} abandoned its KEL (no next key); it cannot rotate"
        )));
    }
    if !kel.next.contains(&digest) {
        return Err(ApiError::invalid_request(format!(
            "/publicKey is not the next key issuer {did} committed to at its last establishment event (sn {})",
            kel.last_est_sn
        ))
        .at("/publicKey"));
    }
    let prefix = kel.prefix.to_string();
    let request = blobs::fingerprint(&body);
    if let Some(again) = blobs::waiting(
        &state,
        &caller,
        ISSUER,
        &prefix,
        Some(did.as_str()),
        &request,
    )
    .await?
    {
        return Ok(again);
    }
    let rot = flows::issuer_rotation(&kel.prefix, kel.sn + 1, &kel.said, &key, next.as_ref())
        .map_err(ApiError::internal)?;
    let mut payload = Map::new();
    payload.insert("did".into(), json!(did.as_str()));
    payload.insert("publicKey".into(), json!(key.to_zetrix()));
    let mut extra = Map::new();
    extra.insert("did".into(), json!(did.as_str()));
    extra.insert("sn".into(), json!(rot.sn()));
    blobs::hand_out(
        state.journal().store(),
        &caller,
        ISSUER,
        &prefix,
        rot.raw(),
        payload,
        extra,
        Some(&request),
    )
    .await
}

/// `…/issuer/rotation/submit`.
pub async fn issuer_submit<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let (signers, pending) =
        blobs::submitted(state.journal().store(), &caller, ISSUER, &body).await?;
    let did = pending_issuer(&pending, &caller)?;
    let key = VerifyingKey::from_zetrix(pending.text("publicKey")?).map_err(ApiError::internal)?;
    let rot = Event::parse(&pending.bytes).map_err(ApiError::internal)?;
    crate::issuer::key_for_next(&state, &rot, &pending.id).await?;
    let signature = blobs::check_signers(&signers, &pending.bytes, &key)?;
    let (sn, said) = (rot.sn(), rot.said().to_string());
    let message = Message::event(rot, flows::controller_signature(signature));
    recorded(state.record(vec![message], pending.id).await, moved_on)?;
    Ok(Envelope(json!({
        "did": did.as_str(),
        "publicKey": key.to_zetrix(),
        "sn": sn,
        "txHash": said,
    })))
}

/// `…/issuer/agent/rotation/create`.
pub async fn agent_create<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let did = Did::parse(string(&body, "did")?)
        .map_err(|e| ApiError::invalid_format(format!("/did: {e}")).at("/did"))?;
    let issuer = agent::issuer(&state, &caller, &did).await?;
    let request = blobs::fingerprint(&body);
    if let Some(again) = blobs::waiting(
        &state,
        &caller,
        AGENT,
        &issuer.prefix,
        Some(did.as_str()),
        &request,
    )
    .await?
    {
        return Ok(again);
    }
    let issuer_kel = state.key_state(&issuer.prefix).await?;
    let agent_kel = state.key_state(&issuer.agent).await?;
    let (Some(issuer_kel), Some(agent_kel)) = (issuer_kel, agent_kel) else {
        return Err(ApiError::internal("the issuer or its agent has no KEL"));
    };
    let keys = agent::keys(&state, &agent::record_in_force(&agent_kel)).await?;
    // The fresh next key and the pre-committed one (the new current key) are sealed before
    // the blob is handed out: once the drt is recorded, the service must be able to sign.
    let fresh = SigningKey::generate(&mut OsRng);
    let digest = Key::new(&fresh.verifying_key(), true).next_digest();
    let record = agent::rotated_record_name(&issuer.agent, agent_kel.sn + 1, digest.as_str());
    agent::seal(&state, &record, keys.next(), &fresh).await?;
    let mut controller = keys.resume(&agent_kel)?.ok_or_else(|| {
        ApiError::invalid_state("the agent rotated while this call ran; call again")
    })?;
    let drt = controller.rotate(fresh).map_err(ApiError::internal)?;
    let drt = drt
        .as_event()
        .ok_or_else(|| ApiError::internal("a rotation is not an event"))?;
    let approval =
        flows::approve_delegation(&issuer_kel.prefix, issuer_kel.sn + 1, &issuer_kel.said, drt)
            .map_err(ApiError::internal)?;
    let mut payload = Map::new();
    payload.insert("did".into(), json!(did.as_str()));
    payload.insert("record".into(), json!(record));
    payload.insert("drt".into(), json!(drt.said().to_string()));
    let mut extra = Map::new();
    extra.insert("did".into(), json!(did.as_str()));
    extra.insert("agent".into(), json!(issuer.agent));
    extra.insert("sn".into(), json!(drt.sn()));
    blobs::hand_out(
        state.journal().store(),
        &caller,
        AGENT,
        &issuer.prefix,
        approval.raw(),
        payload,
        extra,
        Some(&request),
    )
    .await
}

/// `…/issuer/agent/rotation/submit`.
pub async fn agent_submit<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let (signers, pending) =
        blobs::submitted(state.journal().store(), &caller, AGENT, &body).await?;
    let did = pending_issuer(&pending, &caller)?;
    let issuer = agent::issuer(&state, &caller, &did).await?;
    let approval = Event::parse(&pending.bytes).map_err(ApiError::internal)?;
    let issuer_key = crate::issuer::key_for_next(&state, &approval, &pending.id).await?;
    let signature = blobs::check_signers(&signers, &pending.bytes, &issuer_key)?;
    let sealed = agent::keys(&state, pending.text("record")?).await?;
    let expected = pending.text("drt")?.to_owned();
    let txhash = approval.said().to_string();
    let approval_message = Message::event(approval.clone(), flows::controller_signature(signature));
    let stale = || {
        ApiError::invalid_state(
            "the agent anchored events since this blob was made; create a fresh blob",
        )
    };
    let rotated = agent::anchored(
        &state,
        &issuer,
        Some(pending.id.clone()),
        move |_, controller| {
            let (_, fresh) = sealed.pair()?;
            let mut drt = controller.rotate(fresh).map_err(ApiError::internal)?;
            let (said, sn) = drt
                .as_event()
                .map(|e| (e.said().to_string(), e.sn()))
                .ok_or_else(|| ApiError::internal("a rotation is not an event"))?;
            if said != expected {
                // Stale: the write only uses the blob up, so a fresh one can be made at once.
                return Ok((Vec::new(), Write::default(), None));
            }
            drt.attachments.source_seals = vec![(approval.sn(), approval.said().to_string())];
            let prefix: &Prefix = controller.prefix();
            Ok((
                vec![approval_message.clone(), drt],
                Write::default(),
                Some((prefix.to_string(), sn)),
            ))
        },
    )
    .await?;
    let Some((agent_prefix, sn)) = rotated else {
        return Err(stale());
    };
    Ok(Envelope(json!({
        "did": did.as_str(),
        "agent": agent_prefix,
        "sn": sn,
        "txHash": txhash,
    })))
}
