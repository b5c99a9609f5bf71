//! Verifiable Presentations (api.md §10.1–§10.3, OP-11, OP-15): deriving a credential that
//! reveals only some attributes, proving ranges of hidden integers, the holder's signed
//! presentation, and the verifier's complete check. No I/O: issuer keys and credential status
//! come from a [`Resolve`] the caller implements (the server over its ledger, the CLI over given
//! keys or a ledger export).
//!
//! **Derived credential** (with `revealedAttributes` or `rangeProof`): the VC's members minus
//! the Ed25519 proof; `credentialSubject` keeps `id` and the revealed attributes (a template
//! object with none revealed is left out); `proof` is the `BbsBlsSignatureProof2020` entry in
//! Zetrix's form, then one `BulletproofRangeProof2021` entry per range:
//! `{"type","attribute":<path>,"min","max","messageIndex","proofValue":"u…","verificationMethod"}`
//! (`messageIndex`: the position of the attribute's integer message in the signed list).
//! With ranges, the disclosure's `nonce` is derived from the range proofs (see
//! `zcred_crypto::bbs::range`); without, it is 32 random bytes. A `rangeProof` without
//! `revealedAttributes` reveals every attribute but the ranged ones.
//!
//! **Verification outcome**: every failure is listed in `errors`; the first sets `status`
//! (`revoked`, `expired`, or `invalid`). Checks run in api.md §10.3's order: holder proof,
//! challenge, then per credential: subject is the holder, issuer JWS (full VC), BBS+ signature
//! or derived proof (and its ranges), status, expiry, not-yet-valid.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use zcred_crypto::bbs::{self, Message};
use zcred_crypto::zetrix::VerifyingKey;
use zcred_crypto::{jws, multibase, CryptoRng, RngCore};

use crate::canonical;
use crate::credential::{
    hashed_messages, integer_value, signed_messages_of, subject_entries, Credential, BASE_CONTEXTS,
};
use crate::did::Did;
use crate::verify::{check_bbs, check_jws, check_valid_from, check_valid_until, string_member};

/// The presentation's `type`.
pub const PRESENTATION_TYPE: &str = "VerifiablePresentation";
/// The derived (selective-disclosure) proof of a credential.
pub const DISCLOSURE_PROOF: &str = "BbsBlsSignatureProof2020";
/// A range proof entry (zcred's wire form of the type Zetrix's SDK names).
pub const RANGE_PROOF: &str = "BulletproofRangeProof2021";

/// "Prove that `attribute` lies in `[min, max]`" (api.md §10.1 `rangeProof`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeRequest {
    /// `<subjectKey>.<key>`.
    pub attribute: String,
    /// Inclusive lower bound.
    pub min: i64,
    /// Inclusive upper bound.
    pub max: i64,
}

/// Why a presentation could not be made from this request. `field` is the request member at
/// fault (a JSON pointer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresentError {
    /// The request asks for something the credential cannot give.
    #[error("{message}")]
    Request {
        /// The member at fault.
        field: &'static str,
        /// What is wrong, naming the attribute.
        message: String,
    },
    /// This build has no range proofs (the `range-proofs` feature is off).
    #[error("range proofs are not available in this build")]
    Unsupported,
}

fn request(field: &'static str, message: impl Into<String>) -> PresentError {
    PresentError::Request {
        field,
        message: message.into(),
    }
}

/// Builds the credential to embed: `vc` unchanged when nothing is hidden, else the derived
/// credential. The caller has verified `vc` (api.md §10.1 step 1); `bbs_key` is the key its
/// BBS+ proof verifies under.
pub fn derive_credential<R: RngCore + CryptoRng>(
    vc: &Credential,
    bbs_key: &bbs::PublicKey,
    revealed: Option<&[String]>,
    ranges: &[RangeRequest],
    created: &str,
    rng: &mut R,
) -> Result<Value, PresentError> {
    if revealed.is_none() && ranges.is_empty() {
        return Ok(Value::Object(vc.as_json().clone()));
    }
    let entries = subject_entries(vc.subject()).map_err(|e| request("/vc", e.to_string()))?;
    let integer_paths = vc
        .integer_paths()
        .map_err(|e| request("/vc", e.to_string()))?;
    let index_of = |path: &str| entries.iter().position(|(p, _)| p == path);

    // What is revealed: `id` always, then the requested paths (or everything but the ranges).
    let mut shown: BTreeSet<usize> = BTreeSet::from([0]);
    match revealed {
        Some(paths) => {
            for path in paths {
                let i = index_of(path).ok_or_else(|| {
                    request(
                        "/revealedAttributes",
                        format!(
                            "revealedAttributes: '{path}' is not an attribute of the credential"
                        ),
                    )
                })?;
                shown.insert(i);
            }
        }
        None => {
            for (i, (path, _)) in entries.iter().enumerate() {
                if !ranges.iter().any(|r| &r.attribute == path) {
                    shown.insert(i);
                }
            }
        }
    }

    let mut statements = Vec::with_capacity(ranges.len());
    for r in ranges {
        let path = r.attribute.as_str();
        let Some(i) = index_of(path) else {
            return Err(request(
                "/rangeProof",
                format!("rangeProof: '{path}' is not an attribute of the credential"),
            ));
        };
        if shown.contains(&i) {
            return Err(request(
                "/rangeProof",
                format!(
                    "rangeProof: '{path}' is revealed; a range is proved over a hidden attribute"
                ),
            ));
        }
        let Some(k) = integer_paths.iter().position(|p| p == path) else {
            return Err(request(
                "/rangeProof",
                format!("rangeProof: '{path}' is not range-provable (a NUMBER attribute marked rangeProvable in its template, signed as an integer)"),
            ));
        };
        if r.min > r.max {
            return Err(request(
                "/rangeProof",
                format!(
                    "rangeProof: min {} is greater than max {} for '{path}'",
                    r.min, r.max
                ),
            ));
        }
        let value = integer_value(&entries[i].1).ok_or_else(|| {
            request(
                "/rangeProof",
                format!("rangeProof: '{path}' does not hold an integer"),
            )
        })?;
        if value < r.min || value > r.max {
            return Err(request(
                "/rangeProof",
                format!(
                    "rangeProof: the value of '{path}' is not in the range {}-{}; a false statement cannot be proved",
                    r.min, r.max
                ),
            ));
        }
        statements.push((entries.len() + k, r, value));
    }

    let messages =
        signed_messages_of(&entries, &integer_paths).map_err(|e| request("/vc", e.to_string()))?;
    let signature = bbs_signature(vc).map_err(|e| request("/vc", e))?;
    let method = vc
        .proof_of_type(&["BbsBlsSignature2020"])
        .and_then(|p| p.get("verificationMethod"))
        .cloned()
        .unwrap_or(Value::Null);

    let (proof, nonce, range_entries) = if statements.is_empty() {
        let mut nonce = [0u8; 32];
        rng.fill_bytes(&mut nonce);
        let proof = bbs::create_proof_over(bbs_key, &signature, &messages, &shown, &nonce, rng)
            .map_err(|e| request("/vc", e.to_string()))?;
        (proof, nonce, Vec::new())
    } else {
        prove_ranges(
            bbs_key,
            &signature,
            &messages,
            &shown,
            &statements,
            &method,
            rng,
        )?
    };

    let mut proofs = vec![json!({
        "type": DISCLOSURE_PROOF,
        "created": created,
        "nonce": multibase::encode_base64url(&nonce),
        "proofPurpose": "assertionMethod",
        "proofValue": multibase::encode_base64url(&proof),
        "verificationMethod": method,
    })];
    proofs.extend(range_entries);

    let mut derived = Map::new();
    for (name, value) in vc.as_json() {
        match name.as_str() {
            "credentialSubject" => {
                let kept: Vec<&str> = shown.iter().map(|&i| entries[i].0.as_str()).collect();
                derived.insert(
                    name.clone(),
                    Value::Object(keep_paths(vc.subject(), "", &kept)),
                );
            }
            "proof" => {
                derived.insert(name.clone(), Value::Array(proofs.clone()));
            }
            _ => {
                derived.insert(name.clone(), value.clone());
            }
        }
    }
    Ok(Value::Object(derived))
}

#[cfg(feature = "range-proofs")]
#[allow(clippy::type_complexity)]
fn prove_ranges<R: RngCore + CryptoRng>(
    key: &bbs::PublicKey,
    signature: &bbs::Signature,
    messages: &[Message],
    shown: &BTreeSet<usize>,
    statements: &[(usize, &RangeRequest, i64)],
    method: &Value,
    rng: &mut R,
) -> Result<(Vec<u8>, [u8; 32], Vec<Value>), PresentError> {
    use zcred_crypto::bbs::range;
    let with_values: Vec<_> = statements
        .iter()
        .map(|(index, r, value)| {
            (
                range::RangeStatement {
                    message_index: *index,
                    path: &r.attribute,
                    min: r.min,
                    max: r.max,
                },
                *value,
            )
        })
        .collect();
    let d = range::prove(key, signature, messages, shown, &with_values, rng)
        .map_err(|e| request("/rangeProof", format!("rangeProof: {e}")))?;
    let entries = statements
        .iter()
        .zip(&d.ranges)
        .map(|((index, r, _), bytes)| {
            json!({
                "type": RANGE_PROOF,
                "attribute": r.attribute,
                "min": r.min,
                "max": r.max,
                "messageIndex": index,
                "proofValue": multibase::encode_base64url(bytes),
                "verificationMethod": method,
            })
        })
        .collect();
    Ok((d.proof, d.nonce, entries))
}

#[cfg(not(feature = "range-proofs"))]
#[allow(clippy::type_complexity)]
fn prove_ranges<R: RngCore + CryptoRng>(
    _: &bbs::PublicKey,
    _: &bbs::Signature,
    _: &[Message],
    _: &BTreeSet<usize>,
    _: &[(usize, &RangeRequest, i64)],
    _: &Value,
    _: &mut R,
) -> Result<(Vec<u8>, [u8; 32], Vec<Value>), PresentError> {
    Err(PresentError::Unsupported)
}

fn bbs_signature(vc: &Credential) -> Result<bbs::Signature, String> {
    let proof = vc
        .proof_of_type(&["BbsBlsSignature2020"])
        .ok_or("the credential has no BbsBlsSignature2020 proof")?;
    let text = string_member(proof, "proofValue", "BbsBlsSignature2020")?;
    bbs::Signature::from_multibase(text).map_err(|e| e.to_string())
}

/// `object` with only the leaf paths in `kept` (and the objects holding them), member order kept.
fn keep_paths(object: &Map<String, Value>, prefix: &str, kept: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in object {
        let path = crate::credential::child_path(prefix, key);
        match value {
            Value::Object(inner) => {
                let inner = keep_paths(inner, &path, kept);
                if !inner.is_empty() {
                    out.insert(key.clone(), Value::Object(inner));
                }
            }
            _ if kept.contains(&path.as_str()) => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    out
}

/// The unsigned presentation `P` of api.md §10.1 step 2.
pub fn unsigned_presentation(
    holder: &Did,
    credentials: Vec<Value>,
    challenge: Option<&str>,
) -> Value {
    let mut p = Map::new();
    p.insert("@context".into(), json!(BASE_CONTEXTS));
    p.insert("holder".into(), json!(holder.as_str()));
    p.insert("type".into(), json!([PRESENTATION_TYPE]));
    if let Some(c) = challenge {
        p.insert("challenge".into(), json!(c));
    }
    p.insert("verifiableCredential".into(), Value::Array(credentials));
    Value::Object(p)
}

/// The holder's signing input: `eyJhbGciOiJFZERTQSJ9.` + base64url(canonical JSON of `P`).
pub fn signing_input(presentation: &Value) -> String {
    jws::signing_input(canonical::to_string(presentation).as_bytes())
}

/// `P` with the holder's proof (api.md §10.2): the signature is over [`signing_input`].
pub fn finish(
    mut presentation: Value,
    signature: &zcred_crypto::zetrix::Signature,
    created: &str,
) -> Value {
    let input = signing_input(&presentation);
    let holder = presentation
        .get("holder")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut proof = Map::new();
    proof.insert("type".into(), json!("Ed25519Signature2020"));
    proof.insert("created".into(), json!(created));
    proof.insert("proofPurpose".into(), json!("authentication"));
    proof.insert(
        "verificationMethod".into(),
        json!(format!("{holder}#controllerKey")),
    );
    if let Some(c) = presentation.get("challenge").cloned() {
        proof.insert("challenge".into(), c);
    }
    proof.insert("jws".into(), json!(jws::encode(&input, signature)));
    if let Value::Object(p) = &mut presentation {
        p.insert("proof".into(), Value::Object(proof));
    }
    presentation
}

/// An issuer's keys, as the verifier trusts them.
#[derive(Debug, Clone)]
pub struct IssuerKeySet {
    /// The Ed25519 keys the issuer's DID has held, current first. A JWS by any of them
    /// verifies: a rotation does not invalidate credentials already issued (revoke those).
    pub ed25519: Vec<VerifyingKey>,
    /// The BBS+ keys valid now, by verification method (`<did>#delegateKey-N`).
    pub bbs: Vec<(String, bbs::PublicKey)>,
}

/// A credential's status, as the verifier's source knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Issued and not revoked.
    Active,
    /// Revoked; the date of the revocation (`YYYY-MM-DD`).
    Revoked(String),
    /// The source has no record of this credential.
    NotRecorded,
    /// The source cannot tell (offline, without the ledger); said in `notes`, not a failure.
    Unchecked(String),
}

/// Where a verifier gets issuer keys and credential status. `Err` means the lookup could not
/// run (the server answers 500; never `verified: true`).
pub trait Resolve {
    /// The issuer's keys; `None` when the issuer is unknown.
    fn issuer(&self, did: &Did) -> Result<Option<IssuerKeySet>, String>;
    /// The status of credential `vc_id` (`credential` as presented: full or derived).
    fn status(&self, vc_id: &str, credential: &Credential) -> Result<Status, String>;
}

/// Why a presentation could not be checked at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Check 1 of api.md §10.3 (the shape) failed: a 400.
    #[error("{0}")]
    Shape(String),
    /// A lookup could not run: a 500.
    #[error("{0}")]
    Unavailable(String),
}

/// The outcome (api.md §10.3 response `object`, without the envelope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Failures, each with its status kind, in check order.
    pub failures: Vec<(&'static str, String)>,
    /// One entry per credential (cleared when a check failed).
    pub vc_detail: Vec<Value>,
    /// What could not be checked offline (never set by the server's resolver).
    pub notes: Vec<String>,
}

impl Outcome {
    /// Whether every check passed.
    pub fn verified(&self) -> bool {
        self.failures.is_empty()
    }

    /// Adds a failure (e.g. the server's "Challenge already used").
    pub fn fail(&mut self, kind: &'static str, message: impl Into<String>) {
        self.failures.push((kind, message.into()));
    }

    /// The response object of api.md §10.3.
    pub fn to_json(&self) -> Value {
        let verified = self.verified();
        let errors: Vec<&str> = self.failures.iter().map(|(_, m)| m.as_str()).collect();
        json!({
            "verified": verified,
            "status": self.failures.first().map_or("valid", |(k, _)| *k),
            "errMsg": errors.first(),
            "errors": errors,
            "vcDetail": if verified { self.vc_detail.clone() } else { Vec::new() },
        })
    }
}

const INVALID: &str = "invalid";

/// Checks a presentation completely (api.md §10.3) at time `at`.
pub fn verify_presentation(
    vp: &Value,
    expected_challenge: Option<&str>,
    at: OffsetDateTime,
    resolver: &dyn Resolve,
) -> Result<Outcome, VerifyError> {
    let shape = |m: &str| VerifyError::Shape(m.to_owned());
    let Value::Object(p) = vp else {
        return Err(shape("vpObject must be a JSON object"));
    };
    let is_vp = match p.get("type") {
        Some(Value::Array(t)) => t.iter().any(|t| t == PRESENTATION_TYPE),
        Some(Value::String(t)) => t == PRESENTATION_TYPE,
        _ => false,
    };
    if !is_vp {
        return Err(shape("vpObject.type must contain VerifiablePresentation"));
    }
    let holder = p
        .get("holder")
        .and_then(Value::as_str)
        .ok_or_else(|| shape("vpObject.holder must be a DID string"))?;
    let holder =
        Did::parse(holder).map_err(|e| VerifyError::Shape(format!("vpObject.holder: {e}")))?;
    let credentials = match p.get("verifiableCredential") {
        Some(Value::Array(c)) if !c.is_empty() => c,
        _ => {
            return Err(shape(
                "vpObject.verifiableCredential must be a non-empty array",
            ))
        }
    };
    let proof = match p.get("proof") {
        Some(Value::Object(o)) => o,
        Some(Value::Array(a)) if a.len() == 1 && a[0].is_object() => {
            a[0].as_object().expect("checked to be an object")
        }
        _ => {
            return Err(shape(
                "vpObject.proof must be an object, or an array of exactly one",
            ))
        }
    };

    let mut out = Outcome {
        failures: Vec::new(),
        vc_detail: Vec::new(),
        notes: Vec::new(),
    };
    // 2. The holder's proof.
    if let Err(e) = check_holder_proof(p, proof, &holder) {
        out.fail(INVALID, format!("Holder signature invalid: {e}"));
    }
    // 3. The challenge.
    let vp_challenge = p.get("challenge").and_then(Value::as_str);
    if let Some(expected) = expected_challenge {
        if vp_challenge != Some(expected) {
            out.fail(
                INVALID,
                "Challenge mismatch: the presentation is not bound to the expected challenge",
            );
        }
    }
    // 4. Each credential.
    for (n, item) in credentials.iter().enumerate() {
        let what = format!("Credential {}", n + 1);
        let credential = match Credential::from_value(item.clone()) {
            Ok(c) => c,
            Err(e) => {
                out.fail(INVALID, format!("{what}: {e}"));
                continue;
            }
        };
        let id = credential.id().unwrap_or_default().to_owned();
        let what = if id.is_empty() {
            what
        } else {
            format!("Credential {id}")
        };
        check_credential(&credential, &holder, &what, at, resolver, &mut out)?;
    }
    if !out.verified() {
        out.vc_detail.clear();
    }
    Ok(out)
}

fn check_holder_proof(
    p: &Map<String, Value>,
    proof: &Map<String, Value>,
    holder: &Did,
) -> Result<(), String> {
    let kind = proof
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind != "Ed25519Signature2020" && kind != "Ed25519Signature2018" {
        return Err(format!("proof type '{kind}' is not Ed25519Signature2020"));
    }
    let expected = format!("{holder}#controllerKey");
    if proof.get("verificationMethod").and_then(Value::as_str) != Some(expected.as_str()) {
        return Err(format!("verificationMethod is not {expected}"));
    }
    let key = holder.key().map_err(|e| e.to_string())?;
    let text = string_member(proof, "jws", kind)?;
    let parsed = jws::parse(text).map_err(|e| e.to_string())?;
    parsed
        .verify(&key)
        .map_err(|_| "the JWS does not verify under the holder's key".to_owned())?;
    let payload: Value = serde_json::from_slice(&parsed.payload)
        .map_err(|_| "the JWS payload is not JSON".to_owned())?;
    let mut unsigned = p.clone();
    unsigned.shift_remove("proof");
    if payload != Value::Object(unsigned) {
        return Err("the JWS payload differs from the presentation (without proof)".into());
    }
    if let Some(c) = proof.get("challenge") {
        if Some(c) != p.get("challenge") {
            return Err("proof.challenge differs from the presentation's challenge".into());
        }
    }
    Ok(())
}

fn check_credential(
    credential: &Credential,
    holder: &Did,
    what: &str,
    at: OffsetDateTime,
    resolver: &dyn Resolve,
    out: &mut Outcome,
) -> Result<(), VerifyError> {
    let before = out.failures.len();
    if credential.holder() != holder {
        out.fail(
            INVALID,
            format!(
                "{what}: its subject {} is not the presentation's holder {holder}",
                credential.holder()
            ),
        );
    }
    let keys = resolver
        .issuer(credential.issuer())
        .map_err(VerifyError::Unavailable)?;
    let Some(keys) = keys else {
        out.fail(
            INVALID,
            format!("{what}: issuer {} is unknown", credential.issuer()),
        );
        return Ok(());
    };
    let mut ranges = Vec::new();
    let full = credential.proof_of_type(&["BbsBlsSignature2020"]).is_some();
    if full {
        if let Err(e) = check_jws_any(credential, &keys) {
            out.fail(INVALID, format!("{what}: issuer signature invalid: {e}"));
        }
        if let Err(e) = bbs_key_for(credential, &["BbsBlsSignature2020"], &keys)
            .and_then(|key| check_bbs(credential, &key))
        {
            out.fail(INVALID, format!("{what}: {e}"));
        }
    } else {
        match bbs_key_for(credential, &[DISCLOSURE_PROOF], &keys)
            .and_then(|key| check_disclosure(credential, &key))
        {
            Ok(r) => ranges = r,
            Err(e) => out.fail(INVALID, format!("{what}: {e}")),
        }
    }
    match credential.id() {
        None => out.fail(
            INVALID,
            format!("{what}: it has no id, so its status cannot be checked"),
        ),
        Some(id) => match resolver
            .status(id, credential)
            .map_err(VerifyError::Unavailable)?
        {
            Status::Active => {}
            Status::Revoked(date) => out.fail(
                "revoked",
                format!("Credential status is revoked as of {date}"),
            ),
            Status::NotRecorded => out.fail(
                INVALID,
                format!("{what} is not recorded in its issuer's ledger"),
            ),
            Status::Unchecked(why) => out.notes.push(format!("{what}: status not checked: {why}")),
        },
    }
    if let Err(e) = check_valid_until(credential, at) {
        out.fail("expired", format!("{what} {e}"));
    }
    if let Err(e) = check_valid_from(credential, at) {
        out.fail(INVALID, format!("{what} is {e}"));
    }
    if out.failures.len() == before {
        out.vc_detail.push(detail(credential, &ranges));
    }
    Ok(())
}

/// Checks an issued (full) credential's proofs, api.md §10.1 step 1: the JWS under one of the
/// issuer's Ed25519 keys and the BBS+ signature under the key its `verificationMethod` names.
/// Returns that BBS+ key.
pub fn check_issued(
    credential: &Credential,
    keys: &IssuerKeySet,
) -> Result<bbs::PublicKey, String> {
    check_jws_any(credential, keys).map_err(|e| format!("issuer signature invalid: {e}"))?;
    let key = bbs_key_for(credential, &["BbsBlsSignature2020"], keys)?;
    check_bbs(credential, &key)?;
    Ok(key)
}

fn check_jws_any(credential: &Credential, keys: &IssuerKeySet) -> Result<String, String> {
    let mut first = Err("the issuer has no Ed25519 key".to_owned());
    for (i, key) in keys.ed25519.iter().enumerate() {
        match check_jws(credential, key) {
            Ok(done) => return Ok(done),
            Err(e) if i == 0 => first = Err(e),
            Err(_) => {}
        }
    }
    first
}

fn bbs_key_for(
    credential: &Credential,
    types: &[&str],
    keys: &IssuerKeySet,
) -> Result<bbs::PublicKey, String> {
    let proof = credential
        .proof_of_type(types)
        .ok_or_else(|| format!("it has no {} proof", types[0]))?;
    let method = string_member(proof, "verificationMethod", types[0])?;
    keys.bbs
        .iter()
        .find(|(m, _)| m == method)
        .map(|(_, k)| k.clone())
        .ok_or_else(|| {
            format!(
                "{method} is not a valid BBS+ key of issuer {}",
                credential.issuer()
            )
        })
}

/// A verified range: path, min, max.
type Verified = (String, i64, i64);

fn check_disclosure(
    credential: &Credential,
    key: &bbs::PublicKey,
) -> Result<Vec<Verified>, String> {
    let proof = credential
        .proof_of_type(&[DISCLOSURE_PROOF])
        .ok_or("it has no BbsBlsSignatureProof2020 proof")?;
    let bytes = |name: &str| -> Result<Vec<u8>, String> {
        let text = string_member(proof, name, DISCLOSURE_PROOF)?;
        multibase::decode_base64url(text, None)
            .map_err(|e| format!("{DISCLOSURE_PROOF} {name}: {e}"))
    };
    let (value, nonce) = (bytes("proofValue")?, bytes("nonce")?);
    let entries = subject_entries(credential.subject()).map_err(|e| e.to_string())?;
    let revealed = hashed_messages(&entries);
    let range_entries: Vec<&Map<String, Value>> = credential
        .proofs()
        .into_iter()
        .filter(|p| p.get("type").and_then(Value::as_str) == Some(RANGE_PROOF))
        .collect();
    if range_entries.is_empty() {
        bbs::verify_proof_over(key, &value, &revealed, &nonce)
            .map_err(|e| format!("derived proof invalid: {e}"))?;
        return Ok(Vec::new());
    }
    verify_ranges(key, &value, &revealed, &nonce, &range_entries)
}

#[cfg(feature = "range-proofs")]
fn verify_ranges(
    key: &bbs::PublicKey,
    value: &[u8],
    revealed: &[Message],
    nonce: &[u8],
    entries: &[&Map<String, Value>],
) -> Result<Vec<Verified>, String> {
    use zcred_crypto::bbs::range;
    let mut parsed = Vec::with_capacity(entries.len());
    for e in entries {
        let attribute = string_member(e, "attribute", RANGE_PROOF)?.to_owned();
        let int = |name: &str| {
            e.get(name)
                .and_then(Value::as_i64)
                .ok_or_else(|| format!("{RANGE_PROOF} has no integer '{name}'"))
        };
        let (min, max) = (int("min")?, int("max")?);
        let index = e
            .get("messageIndex")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("{RANGE_PROOF} has no 'messageIndex'"))?
            as usize;
        let bytes = multibase::decode_base64url(string_member(e, "proofValue", RANGE_PROOF)?, None)
            .map_err(|e| format!("{RANGE_PROOF} proofValue: {e}"))?;
        parsed.push((attribute, min, max, index, bytes));
    }
    let statements: Vec<_> = parsed
        .iter()
        .map(|(a, min, max, index, bytes)| {
            (
                range::RangeStatement {
                    message_index: *index,
                    path: a,
                    min: *min,
                    max: *max,
                },
                bytes.as_slice(),
            )
        })
        .collect();
    range::verify(key, value, revealed, nonce, &statements)
        .map_err(|e| format!("derived proof with ranges invalid: {e}"))?;
    Ok(parsed
        .into_iter()
        .map(|(a, min, max, _, _)| (a, min, max))
        .collect())
}

#[cfg(not(feature = "range-proofs"))]
fn verify_ranges(
    _: &bbs::PublicKey,
    _: &[u8],
    _: &[Message],
    _: &[u8],
    _: &[&Map<String, Value>],
) -> Result<Vec<Verified>, String> {
    Err("it carries range proofs, which this build cannot check".into())
}

/// `vcDetail[]`: id, issuer, dates, and the disclosed subject with each proved range as
/// `"Verified in range <min>-<max>"` at its path.
fn detail(credential: &Credential, ranges: &[Verified]) -> Value {
    let mut subject = credential.subject().clone();
    for (path, min, max) in ranges {
        let mut parts: Vec<&str> = path.split('.').collect();
        let Some(last) = parts.pop() else { continue };
        let mut node = &mut subject;
        for part in parts {
            let entry = node
                .entry(part.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            node = entry.as_object_mut().expect("made an object above");
        }
        node.insert(
            last.to_owned(),
            json!(format!("Verified in range {min}-{max}")),
        );
    }
    let mut d = Map::new();
    d.insert("id".into(), json!(credential.id()));
    d.insert("issuer".into(), json!(credential.issuer().as_str()));
    d.insert(
        "validFrom".into(),
        json!(crate::time::format_seconds(credential.valid_from())),
    );
    if let Some(until) = credential.valid_until() {
        d.insert(
            "validUntil".into(),
            json!(crate::time::format_seconds(until)),
        );
    }
    d.insert("credentialSubject".into(), Value::Object(subject));
    Value::Object(d)
}
