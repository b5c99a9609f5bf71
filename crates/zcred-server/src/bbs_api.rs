//! `POST /cred/bbs/vc/sign` (api.md §10.0b): BBS+-sign a message list. Stateless: the secret
//! key is taken out of the parsed body into zeroizing memory and dropped after signing; it is
//! never stored or logged.

use serde_json::{json, Value};
use zcred_crypto::{bbs, multibase, OsRng};
use zeroize::Zeroizing;

use crate::body::{array, optional_string, string, Body};
use crate::error::{ApiError, Envelope};

/// The secret key from `privateKeyMultibase`, or derived from `seed` (exactly one of them).
fn secret_key(body: &mut serde_json::Map<String, Value>) -> Result<bbs::SecretKey, ApiError> {
    let take = |body: &mut serde_json::Map<String, Value>, name: &str| match body.remove(name) {
        Some(Value::String(s)) => Some(Zeroizing::new(s)),
        Some(Value::Null) | None => None,
        Some(other) => {
            // Not a string: put it back so the field check below names it.
            body.insert(name.to_owned(), other);
            None
        }
    };
    let key = take(body, "privateKeyMultibase");
    let seed = take(body, "seed");
    optional_string(body, "privateKeyMultibase")?;
    optional_string(body, "seed")?;
    let key = key.filter(|k| !k.is_empty());
    let seed = seed.filter(|s| !s.is_empty());
    let (has_key, has_seed) = (key.is_some(), seed.is_some());
    match (has_key, has_seed) {
        (true, false) => {
            let text = key.unwrap_or_default();
            bbs::SecretKey::from_multibase(&text).map_err(|e| {
                ApiError::invalid_format(format!("/privateKeyMultibase: {e}"))
                    .at("/privateKeyMultibase")
            })
        }
        (false, true) => seed_key(&seed.unwrap_or_default()),
        (true, true) => Err(ApiError::invalid_request(
            "send either privateKeyMultibase or seed, not both",
        )),
        (false, false) => Err(ApiError::missing("/privateKeyMultibase")),
    }
}

/// api.md OP-2: a hex or base64 seed of at least 32 bytes. BIP-39 mnemonics come with
/// `/cred/bbs/create`.
fn seed_key(text: &str) -> Result<bbs::SecretKey, ApiError> {
    if text.len() > 1024 {
        return Err(ApiError::invalid_format("/seed is longer than 1024 characters").at("/seed"));
    }
    if text.contains(' ') {
        return Err(ApiError::unsupported(
            "BIP-39 mnemonic seeds are not supported yet; send the seed as hex or base64",
        )
        .at("/seed"));
    }
    let bytes = Zeroizing::new(
        hex::decode(text)
            .ok()
            .or_else(|| multibase::from_base64(text).ok())
            .ok_or_else(|| {
                ApiError::invalid_format("/seed is neither hex nor base64").at("/seed")
            })?,
    );
    if bytes.len() < 32 {
        return Err(ApiError::invalid_format(format!(
            "/seed must be at least 32 bytes, found {}",
            bytes.len()
        ))
        .at("/seed"));
    }
    bbs::SecretKey::from_seed(&bytes)
        .map_err(|e| ApiError::invalid_format(format!("/seed: {e}")).at("/seed"))
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

/// The handler.
pub async fn sign(Body(mut body): Body) -> Result<Envelope, ApiError> {
    // The secret leaves the parsed body first, into zeroizing memory, whatever comes next.
    let secret = secret_key(&mut body)?;
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
    if secret.public_key() != public {
        return Err(ApiError::invalid_request(
            "publicKeyMultibase is not the public key of the given secret key",
        )
        .at("/publicKeyMultibase"));
    }
    let pair = bbs::KeyPair::new(secret);
    let signature = tokio::task::spawn_blocking(move || pair.sign_messages(&messages, &mut OsRng))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(Envelope(json!({ "signData": signature.to_multibase() })))
}
