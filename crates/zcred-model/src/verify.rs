//! Offline verification of an issued credential against issuer keys the caller trusts.
//!
//! Following spruceid/ssi's split: [`verify_credential`] always returns a [`Report`]; a check
//! that ran and failed is a failed [`Check`] with a reason, never an error. Checks:
//! - `issuer`: the credential's `issuer` is the DID of the given Ed25519 key.
//! - `Ed25519Signature2020`: the JWS header is `{"alg":"EdDSA"}`, its signature (hex quirk or
//!   raw) verifies under the issuer key over the JWS's own first two segments, its payload is
//!   JSON-equal to the credential without `proof`, and `verificationMethod` is
//!   `<issuer>#controllerKey`.
//! - `BbsBlsSignature2020`: the signature verifies under the given BBS+ key over the messages
//!   rebuilt from `credentialSubject` (api.md §2.6), and `verificationMethod` names the issuer.
//! - `validFrom` / `validUntil`: the dates, evaluated at the given time with the ±5 minutes of
//!   clock skew of api.md OP-18.

use serde::Serialize;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};
use zcred_crypto::bbs;
use zcred_crypto::jws;
use zcred_crypto::zetrix::VerifyingKey;

use crate::credential::Credential;
use crate::did::Did;

/// Allowed clock skew in the date checks (api.md OP-18).
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub check: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// Why it failed, or what passed.
    pub detail: String,
}

/// Every check, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// True when every check passed.
    pub verified: bool,
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    fn new(checks: Vec<Check>) -> Self {
        Self {
            verified: checks.iter().all(|c| c.ok),
            checks,
        }
    }

    /// The named check, if it ran.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.check == name)
    }
}

fn outcome(check: &'static str, result: Result<String, String>) -> Check {
    match result {
        Ok(detail) => Check {
            check,
            ok: true,
            detail,
        },
        Err(detail) => Check {
            check,
            ok: false,
            detail,
        },
    }
}

/// The issuer keys a verifier trusts for one credential.
#[derive(Debug, Clone, Copy)]
pub struct IssuerKeys<'a> {
    /// The issuer's account key (`#controllerKey`).
    pub ed25519: &'a VerifyingKey,
    /// The issuer's BBS+ key.
    pub bbs: &'a bbs::PublicKey,
    /// The issuer's DID when `ed25519` is not its first key (the issuer rotated; the DID
    /// stays). `None`: the DID of `ed25519`. The verifier vouches that the key was the DID's
    /// key in force, e.g. from the DID document or a verified ledger export.
    pub did: Option<&'a Did>,
}

/// Runs every check on `credential` at time `at`.
pub fn verify_credential(
    credential: &Credential,
    keys: IssuerKeys<'_>,
    at: OffsetDateTime,
) -> Report {
    let issuer_did = keys
        .did
        .cloned()
        .unwrap_or_else(|| Did::of_key(keys.ed25519));
    let checks = vec![
        outcome(
            "issuer",
            if credential.issuer() == &issuer_did {
                Ok(format!("issuer is {issuer_did}"))
            } else {
                Err(format!(
                    "issuer {} is not the DID of the given issuer key ({issuer_did})",
                    credential.issuer()
                ))
            },
        ),
        outcome("Ed25519Signature2020", check_jws(credential, keys.ed25519)),
        outcome("BbsBlsSignature2020", check_bbs(credential, keys.bbs)),
        outcome("validFrom", check_valid_from(credential, at)),
        outcome("validUntil", check_valid_until(credential, at)),
    ];
    Report::new(checks)
}

pub(crate) fn string_member<'a>(
    proof: &'a Map<String, Value>,
    name: &str,
    proof_type: &str,
) -> Result<&'a str, String> {
    proof
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{proof_type} proof has no '{name}' string"))
}

pub(crate) fn check_jws(credential: &Credential, key: &VerifyingKey) -> Result<String, String> {
    const TYPE: &str = "Ed25519Signature2020";
    let proof = credential
        .proof_of_type(&[TYPE, "Ed25519Signature2018"])
        .ok_or("credential has no Ed25519Signature2020 proof")?;
    let method = string_member(proof, "verificationMethod", TYPE)?;
    let expected = format!("{}#controllerKey", credential.issuer());
    if method != expected {
        return Err(format!(
            "verificationMethod is '{method}', expected '{expected}'"
        ));
    }
    let jws_text = string_member(proof, "jws", TYPE)?;
    let parsed = jws::parse(jws_text).map_err(|e| e.to_string())?;
    parsed
        .verify(key)
        .map_err(|_| "JWS signature does not verify under the issuer key".to_owned())?;
    let payload: Value = serde_json::from_slice(&parsed.payload)
        .map_err(|_| "JWS payload is not JSON".to_owned())?;
    if payload != credential.unsigned() {
        return Err("JWS payload differs from the credential (without proof)".to_owned());
    }
    Ok(if parsed.hex_quirk {
        "JWS verifies (signature segment in Zetrix's hex form)".to_owned()
    } else {
        "JWS verifies (raw signature segment)".to_owned()
    })
}

pub(crate) fn check_bbs(credential: &Credential, key: &bbs::PublicKey) -> Result<String, String> {
    const TYPE: &str = "BbsBlsSignature2020";
    let proof = credential
        .proof_of_type(&[TYPE])
        .ok_or("credential has no BbsBlsSignature2020 proof")?;
    let method = string_member(proof, "verificationMethod", TYPE)?;
    let issuer_prefix = format!("{}#", credential.issuer());
    if !method.starts_with(&issuer_prefix) {
        return Err(format!(
            "verificationMethod '{method}' is not a key of the issuer {}",
            credential.issuer()
        ));
    }
    let signature = bbs::Signature::from_multibase(string_member(proof, "proofValue", TYPE)?)
        .map_err(|e| format!("proofValue: {e}"))?;
    let messages = credential.signed_messages().map_err(|e| e.to_string())?;
    key.verify_messages(&messages, &signature).map_err(|_| {
        format!(
            "BBS+ signature does not verify over the {} messages of credentialSubject",
            messages.len()
        )
    })?;
    Ok(format!(
        "BBS+ signature verifies over {} messages",
        messages.len()
    ))
}

pub(crate) fn check_valid_from(
    credential: &Credential,
    at: OffsetDateTime,
) -> Result<String, String> {
    let from = crate::time::format_seconds(credential.valid_from());
    if at + CLOCK_SKEW >= credential.valid_from() {
        Ok(format!("valid from {from}"))
    } else {
        Err(format!("not valid before {from}"))
    }
}

pub(crate) fn check_valid_until(
    credential: &Credential,
    at: OffsetDateTime,
) -> Result<String, String> {
    match credential.valid_until() {
        None => Ok("no expiration date".to_owned()),
        Some(until) if at < until + CLOCK_SKEW => Ok(format!(
            "valid until {}",
            crate::time::format_seconds(until)
        )),
        Some(until) => Err(format!("expired at {}", crate::time::format_seconds(until))),
    }
}
