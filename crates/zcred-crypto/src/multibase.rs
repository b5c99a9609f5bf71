//! Multibase text forms used by BbsBlsSignature2020: `z` = base58btc (Bitcoin alphabet) and
//! `u` = base64url without padding. Encoding and decoding come from `bs58` and `base64`; this
//! module only adds the one-character prefix and strict length checks.

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

/// Why a multibase or base64 string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MultibaseError {
    /// The string does not start with the expected multibase prefix.
    #[error("expected multibase prefix '{expected}' ({name})")]
    Prefix {
        /// The prefix character that was required.
        expected: char,
        /// The base's name.
        name: &'static str,
    },
    /// The body is not valid in the base.
    #[error("not valid {0}")]
    Encoding(&'static str),
    /// The decoded bytes have the wrong length.
    #[error("decodes to {found} bytes, expected {expected}")]
    Length {
        /// Required length in bytes.
        expected: usize,
        /// Decoded length in bytes.
        found: usize,
    },
}

/// base64url that accepts input with or without `=` padding (Dart's encoder keeps it).
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `z` + base58btc of `bytes`.
pub fn encode_base58btc(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(1 + bytes.len() * 138 / 100 + 1);
    out.push('z');
    out.push_str(&bs58::encode(bytes).into_string());
    out
}

/// Decodes `z` + base58btc, requiring exactly `expected` bytes.
pub fn decode_base58btc(text: &str, expected: usize) -> Result<Vec<u8>, MultibaseError> {
    let body = text.strip_prefix('z').ok_or(MultibaseError::Prefix {
        expected: 'z',
        name: "base58btc",
    })?;
    let bytes = bs58::decode(body)
        .into_vec()
        .map_err(|_| MultibaseError::Encoding("base58btc"))?;
    check_len(bytes, expected)
}

/// `u` + base64url without padding of `bytes`.
pub fn encode_base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(1 + bytes.len().div_ceil(3) * 4);
    out.push('u');
    URL_SAFE_NO_PAD.encode_string(bytes, &mut out);
    out
}

/// Decodes `u` + base64url (padding optional). `expected` of `None` accepts any length.
pub fn decode_base64url(text: &str, expected: Option<usize>) -> Result<Vec<u8>, MultibaseError> {
    let body = text.strip_prefix('u').ok_or(MultibaseError::Prefix {
        expected: 'u',
        name: "base64url",
    })?;
    let bytes = URL_SAFE_LENIENT
        .decode(body)
        .map_err(|_| MultibaseError::Encoding("base64url"))?;
    match expected {
        Some(n) => check_len(bytes, n),
        None => Ok(bytes),
    }
}

/// base64url without padding and without a multibase prefix (JWS segments).
pub fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// base64url with padding and without a multibase prefix (the `/enc/` envelope's header and
/// body, encryption.md).
pub fn base64url_padded(bytes: &[u8]) -> String {
    URL_SAFE.encode(bytes)
}

/// Decodes base64url without a prefix, padding optional.
pub fn from_base64url(text: &str) -> Result<Vec<u8>, MultibaseError> {
    URL_SAFE_LENIENT
        .decode(text)
        .map_err(|_| MultibaseError::Encoding("base64url"))
}

/// Standard base64 with padding (the API's `bbsBlsBase64` and `data` message lists).
pub fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64 with padding.
pub fn from_base64(text: &str) -> Result<Vec<u8>, MultibaseError> {
    STANDARD
        .decode(text)
        .map_err(|_| MultibaseError::Encoding("base64"))
}

fn check_len(bytes: Vec<u8>, expected: usize) -> Result<Vec<u8>, MultibaseError> {
    if bytes.len() == expected {
        Ok(bytes)
    } else {
        Err(MultibaseError::Length {
            expected,
            found: bytes.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_prefixes() {
        let data = [0u8, 1, 2, 250, 255];
        let z = encode_base58btc(&data);
        assert!(
            z.starts_with("z1"),
            "leading zero byte is '1' in base58: {z}"
        );
        assert_eq!(decode_base58btc(&z, 5).unwrap(), data);
        assert_eq!(
            decode_base58btc(&z, 4),
            Err(MultibaseError::Length {
                expected: 4,
                found: 5
            })
        );
        assert!(matches!(
            decode_base58btc(&z[1..], 5),
            Err(MultibaseError::Prefix { expected: 'z', .. })
        ));
        let u = encode_base64url(&data);
        assert_eq!(u, "uAAEC-v8");
        assert_eq!(decode_base64url(&u, Some(5)).unwrap(), data);
        assert_eq!(decode_base64url("uAAEC-v8=", Some(5)).unwrap(), data);
        assert!(
            decode_base64url("uAAEC+v8", Some(5)).is_err(),
            "'+' is not base64url"
        );
        assert_eq!(from_base64(&base64(b"id: x")).unwrap(), b"id: x");
        assert!(
            from_base64("aWQ6IHg").is_err(),
            "standard base64 requires padding"
        );
    }
}
