//! The compact JWS of Zetrix's `Ed25519Signature2020` proofs (api.md §2.9, zetrix.md §3.3).
//!
//! - Header: exactly the bytes `{"alg":"EdDSA"}` (`eyJhbGciOiJFZERTQSJ9`).
//! - Signing input: ASCII `header_b64 "." payload_b64`; the signature is Ed25519 over it.
//! - **Quirk of the seed**: the third segment is base64url of the ASCII *UPPERCASE hex string* of
//!   the signature (128 bytes, 171 characters), not of the 64 raw bytes. [`encode`] emits the
//!   quirk; [`parse`] accepts both the quirk (hex in either case) and the standard raw form.
//!
//! The payload bytes are the caller's (canonical JSON, built in `zcred-model`); this module never
//! parses JSON.

use crate::multibase::{base64url, from_base64url};
use crate::zetrix::{Signature, SignatureMismatch, SigningKey, VerifyingKey};

/// base64url of the only accepted header, `{"alg":"EdDSA"}`.
pub const HEADER_B64: &str = "eyJhbGciOiJFZERTQSJ9";
/// The only accepted header.
pub const HEADER: &[u8] = br#"{"alg":"EdDSA"}"#;

/// Why a JWS was refused before any signature check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    /// Not three dot-separated segments.
    #[error("JWS must have three dot-separated segments")]
    Segments,
    /// A segment is not base64url.
    #[error("JWS {0} segment is not base64url")]
    Encoding(&'static str),
    /// The header is not exactly `{"alg":"EdDSA"}`.
    #[error("JWS header must be exactly {{\"alg\":\"EdDSA\"}}")]
    Header,
    /// The signature segment decodes to neither 64 raw bytes nor 128 hex characters.
    #[error(
        "JWS signature segment must decode to 64 bytes or 128 hex characters, found {0} bytes"
    )]
    SignatureLength(usize),
}

/// The signing input for `payload`: `eyJhbGciOiJFZERTQSJ9.` + base64url(payload).
pub fn signing_input(payload: &[u8]) -> String {
    let mut out = String::with_capacity(HEADER_B64.len() + 1 + payload.len().div_ceil(3) * 4);
    out.push_str(HEADER_B64);
    out.push('.');
    out.push_str(&base64url(payload));
    out
}

/// The compact JWS with the seed's quirk: `signing_input "." base64url(UPPERCASE hex(sig))`.
pub fn encode(signing_input: &str, signature: &Signature) -> String {
    format!(
        "{signing_input}.{}",
        base64url(signature.to_hex().as_bytes())
    )
}

/// Signs `payload` and returns the quirk-form JWS.
pub fn sign(key: &SigningKey, payload: &[u8]) -> String {
    let input = signing_input(payload);
    let sig = key.sign(input.as_bytes());
    encode(&input, &sig)
}

/// A JWS split into its parts. The header has been checked; the signature has not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jws<'a> {
    /// The first two segments as received (what was signed).
    pub signing_input: &'a str,
    /// The decoded payload bytes.
    pub payload: Vec<u8>,
    /// The signature, from either encoding.
    pub signature: Signature,
    /// Whether the signature segment used the seed's hex quirk.
    pub hex_quirk: bool,
}

impl Jws<'_> {
    /// Verifies the signature over the received signing input.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), SignatureMismatch> {
        key.verify(self.signing_input.as_bytes(), &self.signature)
    }
}

/// Splits and decodes a compact JWS, checking the header and the signature encoding.
pub fn parse(jws: &str) -> Result<Jws<'_>, JwsError> {
    let mut parts = jws.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Segments);
    };
    let header = from_base64url(h).map_err(|_| JwsError::Encoding("header"))?;
    if header != HEADER {
        return Err(JwsError::Header);
    }
    let payload = from_base64url(p).map_err(|_| JwsError::Encoding("payload"))?;
    let sig = from_base64url(s).map_err(|_| JwsError::Encoding("signature"))?;
    let (signature, hex_quirk) = match sig.len() {
        64 => {
            let mut raw = [0u8; 64];
            raw.copy_from_slice(&sig);
            (Signature::from_bytes(raw), false)
        }
        128 => {
            let text = std::str::from_utf8(&sig).map_err(|_| JwsError::SignatureLength(128))?;
            let parsed = Signature::from_hex(text).map_err(|_| JwsError::SignatureLength(128))?;
            (parsed, true)
        }
        n => return Err(JwsError::SignatureLength(n)),
    };
    Ok(Jws {
        signing_input: &jws[..h.len() + 1 + p.len()],
        payload,
        signature,
        hex_quirk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_signature_encodings_verify() {
        let key = SigningKey::from_seed(&[7u8; 32]);
        let jws = sign(&key, br#"{"a":"b"}"#);
        let parsed = parse(&jws).unwrap();
        assert!(parsed.hex_quirk);
        assert_eq!(parsed.payload, br#"{"a":"b"}"#);
        parsed.verify(&key.verifying_key()).unwrap();
        assert_eq!(jws.rsplit('.').next().unwrap().len(), 171);

        let raw = format!(
            "{}.{}",
            parsed.signing_input,
            base64url(&parsed.signature.to_bytes())
        );
        let parsed_raw = parse(&raw).unwrap();
        assert!(!parsed_raw.hex_quirk);
        parsed_raw.verify(&key.verifying_key()).unwrap();

        let lower = format!(
            "{}.{}",
            parsed.signing_input,
            base64url(parsed.signature.to_hex().to_lowercase().as_bytes())
        );
        parse(&lower).unwrap().verify(&key.verifying_key()).unwrap();
    }

    #[test]
    fn refuses_malformed() {
        assert_eq!(parse("a.b"), Err(JwsError::Segments));
        assert_eq!(parse("a.b.c.d"), Err(JwsError::Segments));
        let other_header = format!("{}.e30.{}", base64url(br#"{"alg":"none"}"#), "AA");
        assert_eq!(parse(&other_header), Err(JwsError::Header));
        let short = format!("{HEADER_B64}.e30.{}", base64url(&[0u8; 63]));
        assert_eq!(parse(&short), Err(JwsError::SignatureLength(63)));
        let not_hex = format!("{HEADER_B64}.e30.{}", base64url(&[b'x'; 128]));
        assert_eq!(parse(&not_hex), Err(JwsError::SignatureLength(128)));
    }
}
