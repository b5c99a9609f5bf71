//! Issuer onboarding, step 1 (ledger.md "Identities"; a zcred extension: the seed registers
//! issuers outside its API). The issuer's KEL starts with an inception the issuer signs on its
//! side: `create` builds the `icp` (basic transferable prefix of the issuer's Ed25519 key,
//! committed to its next key, or to the digest of the current key when none is given) and hands
//! its raw bytes out as the blob; `submit` checks the issuer's signature and records the event.
//!
//! `POST /zcred/v1/issuer/inception/create` `{publicKey, nextPublicKey?}` →
//! `{blobId, blob, did, prefix}`; `POST /zcred/v1/issuer/inception/submit`
//! `{blobId, signerList}` → `{did, prefix, txHash}` (`txHash` = the SAID of the `icp`).

use axum::extract::State;
use axum::Extension;
use serde_json::{json, Map, Value};
use zcred_crypto::zetrix::VerifyingKey;
use zcred_ledger::flows;
use zcred_ledger::{Key, Message};
use zcred_model::Did;
use zcred_store::{AccessStore, BlobStore, JournalError, LedgerStore, StoreError};

use crate::access::Caller;
use crate::blobs;
use crate::body::{optional_string, string, Body};
use crate::error::{ApiError, Envelope};
use crate::AppState;

const KIND: &str = "issuer-inception";

fn zetrix_key(body: &Map<String, Value>, name: &str) -> Result<Option<VerifyingKey>, ApiError> {
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
pub async fn create<S: LedgerStore + AccessStore + BlobStore + 'static>(
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
    if state
        .journal()
        .read(|l| l.key_state(&prefix).is_some())
        .await
    {
        return Err(ApiError::duplicate(format!(
            "issuer {did} is registered already"
        )));
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
        icp.raw(),
        payload,
        extra,
    )
    .await
}

/// `…/inception/submit`.
pub async fn submit<S: LedgerStore + AccessStore + BlobStore + 'static>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let signers = blobs::signers(&body)?;
    let pending = blobs::take(state.journal().store(), &caller, KIND, &body).await?;
    let key = pending
        .payload
        .get("publicKey")
        .and_then(Value::as_str)
        .and_then(|k| VerifyingKey::from_zetrix(k).ok())
        .ok_or_else(|| ApiError::internal("an inception blob has no key"))?;
    let did = Did::of_key(&key);
    check_issuer(&caller, &did)?;
    let signature = blobs::check_signers(&signers, &pending.bytes, &key)?;
    let icp = zcred_ledger::Event::parse(&pending.bytes).map_err(ApiError::internal)?;
    let said = icp.said().to_string();
    let prefix = icp.prefix().to_owned();
    let message = Message::event(icp, flows::controller_signature(signature));
    match state
        .journal()
        .submit_consuming(&[message], Some(&pending.id))
        .await
    {
        Ok(_) => Ok(Envelope(
            json!({ "did": did.as_str(), "prefix": prefix, "txHash": said }),
        )),
        Err(JournalError::Store(StoreError::Conflict(_))) => Err(ApiError::invalid_state(
            "this blob was submitted by another request",
        )),
        Err(JournalError::Invalid { problem, .. }) => Err(ApiError::duplicate(format!(
            "issuer {did} is registered already with another inception: {problem}"
        ))),
        Err(e @ (JournalError::Store(_) | JournalError::Replay(_))) => {
            Err(ApiError::unavailable(e))
        }
        Err(e) => Err(ApiError::internal(e)),
    }
}
