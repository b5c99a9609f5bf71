//! BBS+ keys, signatures and scalar messages (zcred-crypto `bbs`): public keys from 96 bytes
//! and from `z…`, signatures from 112 bytes and from `u…`, secret keys from `z…`, seed texts
//! (BIP-39, hex, base64) and scalar messages from hex. Input: a byte that picks the form, then
//! the bytes or text.
//!
//! Properties: no panic; what parses writes back to the same bytes (text forms: to text that
//! parses to the same value); a parsed signature is checked against the fixed key and messages
//! without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zcred_crypto::bbs::{Message, PublicKey, SecretKey, Signature, PUBLIC_KEY_LEN, SIGNATURE_LEN};
use zcred_fuzz::fixtures::{issuer_bbs, BBS_MESSAGES};

fn check_signature(signature: &Signature) {
    let _ = issuer_bbs().public().verify(&BBS_MESSAGES, signature);
}

fuzz_target!(|data: &[u8]| {
    let mut input = zcred_fuzz::Reader::new(data);
    let form = input.u8() % 7;
    let rest = input.rest();
    let text = zcred_fuzz::text(rest);
    match (form, text) {
        (0, _) => {
            if let Ok(raw) = <[u8; PUBLIC_KEY_LEN]>::try_from(rest) {
                if let Ok(key) = PublicKey::from_bytes(&raw) {
                    assert_eq!(key.to_bytes(), raw);
                    assert_eq!(PublicKey::from_multibase(&key.to_multibase()), Ok(key));
                }
            }
        }
        (1, Some(text)) => {
            if let Ok(key) = PublicKey::from_multibase(text) {
                assert_eq!(key.to_multibase(), text);
                assert_eq!(PublicKey::from_bytes(&key.to_bytes()), Ok(key));
            }
        }
        (2, _) => {
            if let Ok(raw) = <[u8; SIGNATURE_LEN]>::try_from(rest) {
                if let Ok(signature) = Signature::from_bytes(&raw) {
                    assert_eq!(signature.to_bytes(), raw);
                    check_signature(&signature);
                }
            }
        }
        (3, Some(text)) => {
            if let Ok(signature) = Signature::from_multibase(text) {
                let written = signature.to_multibase();
                assert!(text.starts_with(written.trim_end_matches('=')));
                assert_eq!(Signature::from_multibase(&written), Ok(signature.clone()));
                check_signature(&signature);
            }
        }
        (4, Some(text)) => {
            if let Ok(key) = SecretKey::from_multibase(text) {
                assert_eq!(key.to_multibase().as_str(), text);
                let _ = key.public_key();
            }
        }
        (5, Some(text)) => {
            if let Ok(key) = SecretKey::from_seed_text(text) {
                let again = SecretKey::from_bytes(&key.to_bytes()).expect("a key's bytes parse");
                assert_eq!(again.public_key(), key.public_key());
            }
        }
        (6, Some(text)) => {
            if let Ok(message) = Message::from_scalar_hex(text) {
                assert!(message.to_scalar_hex().eq_ignore_ascii_case(text));
                assert_eq!(
                    Message::from_scalar_bytes(&message.to_scalar_bytes()),
                    Ok(message)
                );
            }
        }
        _ => {}
    }
});
