//! The BBS+ utilities (api.md §10.0a, §10.0b): `POST /cred/bbs/create` derives a key pair from a
//! seed (OP-2), `POST /cred/bbs/vc/sign` BBS+-signs a message list. Stateless: the seed and the
//! secret key are taken out of the parsed body into zeroizing memory and dropped after use; they
//! are never stored or logged, and no error message quotes them.

use serde_json::{json, Value};
use zcred_crypto::{bbs, multibase, OsRng};
use zeroize::Zeroizing;

use crate::body::{array, optional_string, string, Body};
use crate::error::{ApiError, Envelope};

/// Takes the string member `name` out of the body into zeroizing memory. A member that is not a
/// string is left in place, so that the field check that follows names it.
fn take_secret(body: &mut serde_json::Map<String, Value>, name: &str) -> Option<Zeroizing<String>> {
    match body.remove(name) {
        Some(Value::String(s)) => Some(Zeroizing::new(s)),
        Some(Value::Null) | None => None,
        Some(other) => {
            body.insert(name.to_owned(), other);
            None
        }
    }
}

/// The secret key from `privateKeyMultibase`, or derived from `seed` (exactly one of them; the
/// derivation, PBKDF2 for a mnemonic, runs off the async workers).
async fn secret_key(body: &mut serde_json::Map<String, Value>) -> Result<bbs::SecretKey, ApiError> {
    let key = take_secret(body, "privateKeyMultibase");
    let seed = take_secret(body, "seed");
    optional_string(body, "privateKeyMultibase")?;
    optional_string(body, "seed")?;
    let key = key.filter(|k| !k.is_empty());
    let seed = seed.filter(|s| !s.is_empty());
    match (key, seed) {
        (Some(key), None) => bbs::SecretKey::from_multibase(&key).map_err(|e| {
            ApiError::invalid_format(format!("/privateKeyMultibase: {e}"))
                .at("/privateKeyMultibase")
        }),
        (None, Some(seed)) => tokio::task::spawn_blocking(move || seed_key(&seed))
            .await
            .map_err(ApiError::internal)?,
        (Some(_), Some(_)) => Err(ApiError::invalid_request(
            "send either privateKeyMultibase or seed, not both",
        )
        .at("/seed")),
        (None, None) => Err(ApiError::missing("/privateKeyMultibase")),
    }
}

/// api.md OP-2: a BIP-39 mnemonic, or hex or base64 of at least 32 bytes
/// ([`bbs::SecretKey::from_seed_text`]).
fn seed_key(text: &str) -> Result<bbs::SecretKey, ApiError> {
    bbs::SecretKey::from_seed_text(text).map_err(seed_error)
}

/// A refused seed is 400 `INVALID_FORMAT` at `/seed`; the message names the rule, never the
/// seed. A derivation that yields no key (negligible probability) is the server's 500.
fn seed_error(e: bbs::SeedError) -> ApiError {
    match e {
        bbs::SeedError::KeyGen => ApiError::internal(e),
        _ => ApiError::invalid_format(format!("/seed: {e}")).at("/seed"),
    }
}

/// `scalars` (zcred extension, api.md OP-11): the `bbsBlsScalars` of 8.2, each 64 hex
/// characters of a big-endian scalar, signed as is after the `data` messages.
fn scalars(
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<bbs::Message>, ApiError> {
    let Some(value) = body.get("scalars") else {
        return Ok(Vec::new());
    };
    let items = value.as_array().ok_or_else(|| {
        ApiError::invalid_format("/scalars must be an array of hex scalars").at("/scalars")
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let pointer = format!("/scalars/{i}");
            let bad = || {
                ApiError::invalid_format(format!(
                    "{pointer} must be 64 hex characters of a scalar below the group order"
                ))
                .at(&pointer)
            };
            let text = m.as_str().ok_or_else(bad)?;
            bbs::Message::from_scalar_hex(text).map_err(|_| bad())
        })
        .collect()
}

/// `POST /cred/bbs/vc/sign` (api.md §10.0b).
pub async fn sign(Body(mut body): Body) -> Result<Envelope, ApiError> {
    // The secret leaves the parsed body first, into zeroizing memory, whatever comes next.
    let secret = secret_key(&mut body).await?;
    let public = string(&body, "publicKeyMultibase")?;
    let public = bbs::PublicKey::from_multibase(public).map_err(|e| {
        ApiError::invalid_format(format!("/publicKeyMultibase: {e}")).at("/publicKeyMultibase")
    })?;
    let data = array(&body, "data", 1, 256)?;
    let messages = data
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let pointer = format!("/data/{i}");
            let text = m.as_str().ok_or_else(|| {
                ApiError::invalid_format(format!("{pointer} must be a base64 string")).at(&pointer)
            })?;
            multibase::from_base64(text).map_err(|_| {
                ApiError::invalid_format(format!("{pointer} is not standard base64 with padding"))
                    .at(&pointer)
            })
        })
        .collect::<Result<Vec<Vec<u8>>, ApiError>>()?;
    let mut messages = bbs::Message::hash_all(&messages);
    messages.extend(scalars(&body)?);
    // The public key (a G2 multiplication) and the signature: off the async workers.
    let signature = tokio::task::spawn_blocking(move || {
        let pair = bbs::KeyPair::new(secret);
        if *pair.public() != public {
            return Err(ApiError::invalid_request(
                "publicKeyMultibase is not the public key of the given secret key",
            )
            .at("/publicKeyMultibase"));
        }
        pair.sign_messages(&messages, &mut OsRng)
            .map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Envelope(json!({ "signData": signature.to_multibase() })))
}

/// `POST /cred/bbs/create` (api.md §10.0a): `{seed}` → `{publicKeyMultibase,
/// privateKeyMultibase}`, derived as in OP-2.
pub async fn create(Body(mut body): Body) -> Result<Envelope, ApiError> {
    // The seed leaves the parsed body first, into zeroizing memory, whatever comes next.
    let seed = match take_secret(&mut body, "seed") {
        Some(seed) if !seed.is_empty() => seed,
        // Absent, empty or not a string: the field check names it.
        _ => {
            return Err(string(&body, "seed")
                .err()
                .unwrap_or_else(|| ApiError::missing("/seed")))
        }
    };
    // PBKDF2 (2048 rounds) and a G2 multiplication: off the async workers.
    let secret = tokio::task::spawn_blocking(move || bbs::SecretKey::from_seed_text(&seed))
        .await
        .map_err(ApiError::internal)?
        .map_err(seed_error)?;
    let private = secret.to_multibase();
    Ok(Envelope(json!({
        "publicKeyMultibase": secret.public_key().to_multibase(),
        "privateKeyMultibase": private.as_str(),
    })))
}
