//! The state rows the journal derives from the log, each key spelled and parsed here once.
//!
//! | key | value | written when |
//! |---|---|---|
//! | `kel/<prefix>` | [`KelRow`] | every accepted KEL event of the log |
//! | `registry/<id>` | [`RegistryState`] | every accepted management event |
//! | `credential/<registry>/<said>` | [`CredentialState`] | every accepted TEL event |
//! | `receipts/<prefix>/<sn>` | the receipters, a JSON array | every accepted receipt |
//! | `delegate/<delegator>/<delegate>` | the delegate's prefix | its delegated inception |
//! | `registries/<controller>/<id>` | the registry id | its inception |
//! | `zcred/verified` | [`Verified`] | when a tail check or an audit moves it on |
//!
//! The last two families are indexes, so that "the agent of this issuer" and "the registry of
//! this agent" are prefix scans instead of walks over every log.

use serde::{Deserialize, Serialize};
use zcred_ledger::verify::{CredentialState, KelRow, RegistryState};
use zcred_ledger::{Body, Ledger, Message};

use crate::StoreError;

/// The row of the KEL `prefix`.
pub fn kel(prefix: &str) -> String {
    format!("kel/{prefix}")
}

/// The row of the registry `id`.
pub fn registry(id: &str) -> String {
    format!("registry/{id}")
}

/// The row of a credential's TEL, by its log id `<registry>/<said>`.
pub fn credential(log: &str) -> String {
    format!("credential/{log}")
}

/// The row of the receipters of the event of `prefix` at `sn`.
pub fn receipts(prefix: &str, sn: u64) -> String {
    format!("receipts/{prefix}/{sn}")
}

/// The prefix of the index rows of `delegator`'s delegates.
pub fn delegates_of(delegator: &str) -> String {
    format!("delegate/{delegator}/")
}

/// The prefix of the index rows of the registries `controller` anchors.
pub fn registries_of(controller: &str) -> String {
    format!("registries/{controller}/")
}

/// The row recording how far the stored log has been re-verified.
pub const VERIFIED: &str = "zcred/verified";

/// How far the stored log has been re-verified from its bytes (a tail check at start, a
/// background check, or an audit): every event up to `ordinal`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    /// The last ordinal verified.
    pub ordinal: u64,
    /// The version of the state rows' format the check wrote or found (see [`FORMAT`]).
    pub format: u32,
}

/// The version of the state rows' format. Stores written before verified points were recorded
/// (format 0) hold `kel/` rows without establishment events; the first start rebuilds them.
pub const FORMAT: u32 = 1;

/// The state rows an accepted `message` changes, in a fixed order.
pub fn touched(message: &Message) -> Vec<String> {
    let Some(event) = message.as_event() else {
        return Vec::new();
    };
    match event.body() {
        Body::Inception(e) => {
            let mut keys = vec![kel(event.prefix())];
            if let Some(di) = &e.di {
                keys.push(format!("{}{}", delegates_of(di.as_str()), e.i));
            }
            keys
        }
        Body::Rotation(_) | Body::Interaction(_) => vec![kel(event.prefix())],
        Body::RegistryInception(e) => vec![
            registry(event.prefix()),
            format!("{}{}", registries_of(e.ii.as_str()), e.i),
        ],
        Body::RegistryRotation(_) => vec![registry(event.prefix())],
        Body::Issuance(_)
        | Body::Revocation(_)
        | Body::BackerIssuance(_)
        | Body::BackerRevocation(_) => vec![credential(&event.log_id())],
        Body::Receipt(r) => vec![receipts(r.i.as_str(), event.sn())],
    }
}

fn json<T: Serialize>(value: &T) -> Option<String> {
    serde_json::to_string(value).ok()
}

/// The value of the derived row `key` in `ledger`, `None` when the ledger does not hold it.
pub fn value(ledger: &Ledger, key: &str) -> Option<String> {
    let (kind, id) = key.split_once('/')?;
    match kind {
        "kel" => json(&ledger.kel_row(id)?),
        "registry" => json(ledger.registry(id)?),
        "credential" => {
            let (registry, said) = id.split_once('/')?;
            json(ledger.credential(registry, said)?)
        }
        "receipts" => {
            let (prefix, sn) = id.rsplit_once('/')?;
            json(&ledger.receipters(prefix, sn.parse().ok()?))
        }
        "delegate" | "registries" => {
            let (_, child) = id.rsplit_once('/')?;
            json(&child)
        }
        _ => None,
    }
}

fn parse<T: for<'de> Deserialize<'de>>(key: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::Unavailable(format!(
            "the state row {key} is not in this version's format ({e}); run `zcred ledger audit`"
        ))
    })
}

/// A `kel/` row read back.
pub fn parse_kel(key: &str, text: &str) -> Result<KelRow, StoreError> {
    parse(key, text)
}

/// A `registry/` row read back.
pub fn parse_registry(key: &str, text: &str) -> Result<RegistryState, StoreError> {
    parse(key, text)
}

/// A `credential/` row read back.
pub fn parse_credential(key: &str, text: &str) -> Result<CredentialState, StoreError> {
    parse(key, text)
}

/// A `receipts/` row read back.
pub fn parse_receipts(key: &str, text: &str) -> Result<Vec<String>, StoreError> {
    parse(key, text)
}

/// The `zcred/verified` row read back.
pub fn parse_verified(text: &str) -> Result<Verified, StoreError> {
    parse(VERIFIED, text)
}

/// The JSON text of a row value (for writing one).
pub fn text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
