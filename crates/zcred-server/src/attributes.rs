//! DID attributes (ledger.md "Identities"; the seed's Identity Platform step): the issuer's
//! BBS+ public keys and X25519 key-agreement keys, each with a validity window, anchored in the
//! issuer's own KEL by an `ixn` the issuer signs (blob pattern). The DID document lists them as
//! `#delegateKey-N`, numbered from 1 in the order each key first appears in the KEL.
//!
//! An anchor is one JSON object in the `ixn`'s `a` list, members in this order:
//! `{"t":"zcred.didAttr","type":<Bls12381G2Key2020 | X25519KeyAgreementKey2020>,
//! "publicKeyMultibase":"z…","validFrom":<RFC 3339 UTC>[,"validUntil":<RFC 3339 UTC>]}`.
//! A later anchor for the same key replaces its window (anchor `validUntil` = now to retire a
//! key early). The BBS+ key is `z` + Base58 of the 96-byte G2 point (api.md §2.5); the X25519
//! key is `z` + Base58 of the multicodec `x25519-pub` (0xec 0x01) and the 32 bytes.
//!
//! `POST /zcred/v1/issuer/attributes/create` `{did, bbsPublicKey?, x25519PublicKey?,
//! validFrom?, validUntil?}` → `{blobId, blob}`; `…/attributes/submit` `{blobId, signerList}` →
//! `{did, txHash, attributes}`. A blob made before the issuer's KEL moved on is stale: 409.

use axum::extract::State;
use axum::Extension;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use zcred_crypto::{bbs, multibase};
use zcred_ledger::{flows, Event, Message};

use crate::access::Caller;
use crate::blobs;
use crate::body::{optional_string, Body};
use crate::error::{ApiError, Envelope};
use crate::issuer::{issuer_of, key_for_next, moved_on, pending_issuer, recorded};
use crate::{AppState, Store};

const KIND: &str = "issuer-attributes";
const TAG: &str = "zcred.didAttr";
/// The verification-method type of a BBS+ key.
pub const BBS_TYPE: &str = "Bls12381G2Key2020";
/// The verification-method type of an X25519 key.
pub const X25519_TYPE: &str = "X25519KeyAgreementKey2020";
const X25519_PUB: [u8; 2] = [0xec, 0x01];

/// One key of an issuer's DID document, with its window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidAttribute {
    /// The fragment, `delegateKey-N`.
    pub fragment: String,
    /// [`BBS_TYPE`] or [`X25519_TYPE`].
    pub kind: String,
    /// `z…`.
    pub public_key: String,
    /// Valid from (RFC 3339).
    pub valid_from: OffsetDateTime,
    /// Valid until (RFC 3339), if limited.
    pub valid_until: Option<OffsetDateTime>,
}

impl DidAttribute {
    /// Whether the key is valid at `at`.
    pub fn valid_at(&self, at: OffsetDateTime) -> bool {
        self.valid_from <= at && self.valid_until.is_none_or(|u| at < u)
    }

    /// The DID document's verification method.
    pub fn method(&self, did: &str) -> Value {
        let mut m = json!({
            "id": format!("{did}#{}", self.fragment),
            "type": self.kind,
            "controller": did,
            "publicKeyMultibase": self.public_key,
            "validFrom": zcred_model::time::format_seconds(self.valid_from),
        });
        if let Some(until) = self.valid_until {
            m["validUntil"] = json!(zcred_model::time::format_seconds(until));
        }
        m
    }
}

/// The DID attributes of the issuer whose KEL `prefix` is, as the store holds it now.
pub async fn of<S: Store>(
    state: &AppState<S>,
    prefix: &str,
) -> Result<Vec<DidAttribute>, ApiError> {
    let events = state
        .journal()
        .kel_events(prefix)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(list(&events))
}

/// The keys of every establishment event of a KEL's `events` (by sequence number), in order.
pub fn establishment_keys(events: &[Event]) -> Vec<&[zcred_ledger::Key]> {
    events
        .iter()
        .filter_map(|e| match e.body() {
            zcred_ledger::Body::Inception(i) => Some(i.k.as_slice()),
            zcred_ledger::Body::Rotation(r) => Some(r.k.as_slice()),
            _ => None,
        })
        .collect()
}

/// The signing keys in force after a KEL's `events`; `None` for no events.
pub fn keys_in_force(events: &[Event]) -> Option<&[zcred_ledger::Key]> {
    establishment_keys(events).last().copied()
}

/// The DID attributes anchored in a KEL's `events` (by sequence number), in order of first
/// appearance.
pub fn list(events: &[Event]) -> Vec<DidAttribute> {
    let mut out: Vec<DidAttribute> = Vec::new();
    for event in events {
        for anchor in event.anchors() {
            if anchor.get("t").and_then(Value::as_str) != Some(TAG) {
                continue;
            }
            let text = |name: &str| anchor.get(name).and_then(Value::as_str);
            let (Some(kind), Some(key), Some(from)) =
                (text("type"), text("publicKeyMultibase"), text("validFrom"))
            else {
                continue;
            };
            let Ok(valid_from) = zcred_model::time::parse(from) else {
                continue;
            };
            let valid_until = text("validUntil").and_then(|u| zcred_model::time::parse(u).ok());
            match out
                .iter_mut()
                .find(|a| a.public_key == key && a.kind == kind)
            {
                Some(known) => {
                    known.valid_from = valid_from;
                    known.valid_until = valid_until;
                }
                None => out.push(DidAttribute {
                    fragment: format!("delegateKey-{}", out.len() + 1),
                    kind: kind.to_owned(),
                    public_key: key.to_owned(),
                    valid_from,
                    valid_until,
                }),
            }
        }
    }
    out
}

fn date(body: &Map<String, Value>, name: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    optional_string(body, name)?
        .map(|text| {
            zcred_model::time::parse(text).map_err(|e| {
                ApiError::invalid_format(format!("/{name}: {e}")).at(format!("/{name}"))
            })
        })
        .transpose()
}

/// `…/attributes/create`.
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let mut keys = Vec::new();
    if let Some(text) = optional_string(&body, "bbsPublicKey")? {
        let key = bbs::PublicKey::from_multibase(text).map_err(|e| {
            ApiError::invalid_format(format!("/bbsPublicKey: {e}")).at("/bbsPublicKey")
        })?;
        keys.push((BBS_TYPE, key.to_multibase()));
    }
    if let Some(text) = optional_string(&body, "x25519PublicKey")? {
        let raw = multibase::from_base64url(text)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                ApiError::invalid_format("/x25519PublicKey must be base64url of 32 bytes")
                    .at("/x25519PublicKey")
            })?;
        let mut bytes = X25519_PUB.to_vec();
        bytes.extend_from_slice(&raw);
        keys.push((X25519_TYPE, multibase::encode_base58btc(&bytes)));
    }
    if keys.is_empty() {
        return Err(ApiError::missing("/bbsPublicKey"));
    }
    let now = OffsetDateTime::now_utc();
    let from = date(&body, "validFrom")?.unwrap_or(now);
    let until = date(&body, "validUntil")?;
    if until.is_some_and(|u| u <= from) {
        return Err(
            ApiError::invalid_request("validUntil must be after validFrom").at("/validUntil"),
        );
    }
    let (did, kel, _) = issuer_of(&state, &caller, &body).await?;
    let prefix = kel.prefix.to_string();
    let request = blobs::fingerprint(&body);
    if let Some(again) =
        blobs::waiting(&state, &caller, KIND, &prefix, Some(did.as_str()), &request).await?
    {
        return Ok(again);
    }
    // A key listed already keeps its window unless the call gives one: anchoring it again
    // with the defaults would move its validFrom to now (an `issuer onboard` run twice).
    let explicit = body.contains_key("validFrom") || body.contains_key("validUntil");
    if !explicit {
        let listed = of(&state, &prefix).await?;
        if keys.iter().all(|(kind, key)| {
            listed
                .iter()
                .any(|a| a.kind == *kind && a.public_key == *key)
        }) {
            return Err(ApiError::duplicate(format!(
                "issuer {did}'s DID document lists these keys already; give validFrom or validUntil to change their window"
            )));
        }
    }
    let anchors: Vec<Map<String, Value>> = keys
        .iter()
        .map(|(kind, key)| {
            let mut a = Map::new();
            a.insert("t".into(), json!(TAG));
            a.insert("type".into(), json!(kind));
            a.insert("publicKeyMultibase".into(), json!(key));
            a.insert(
                "validFrom".into(),
                json!(zcred_model::time::format_seconds(from)),
            );
            if let Some(u) = until {
                a.insert(
                    "validUntil".into(),
                    json!(zcred_model::time::format_seconds(u)),
                );
            }
            a
        })
        .collect();
    let ixn = zcred_ledger::build::interact(&kel.prefix, kel.sn + 1, &kel.said, &anchors)
        .map_err(ApiError::internal)?;
    let mut payload = Map::new();
    payload.insert("did".into(), json!(did.as_str()));
    blobs::hand_out(
        state.journal().store(),
        &caller,
        KIND,
        &prefix,
        ixn.raw(),
        payload,
        Map::new(),
        Some(&request),
    )
    .await
}

/// `…/attributes/submit`.
pub async fn submit<S: Store>(
    State(state): State<AppState<S>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body,
) -> Result<Envelope, ApiError> {
    let (signers, pending) =
        blobs::submitted(state.journal().store(), &caller, KIND, &body).await?;
    let did = pending_issuer(&pending, &caller)?;
    let ixn = zcred_ledger::Event::parse(&pending.bytes).map_err(ApiError::internal)?;
    let key = key_for_next(&state, &ixn, &pending.id).await?;
    let signature = blobs::check_signers(&signers, &pending.bytes, &key)?;
    let said = ixn.said().to_string();
    let prefix = ixn.prefix().to_owned();
    let message = Message::event(ixn, flows::controller_signature(signature));
    recorded(state.record(vec![message], pending.id).await, moved_on)?;
    let listed = of(&state, &prefix).await?;
    let attributes: Vec<Value> = listed.iter().map(|a| a.method(did.as_str())).collect();
    Ok(Envelope(json!({
        "did": did.as_str(),
        "txHash": said,
        "attributes": attributes,
    })))
}
