//! The `/enc/` envelope, zcred-enc-v1 (zcred-crypto `enc`), server side, with the fixed server
//! key of the worked example (`crates/zcred-crypto/tests/vectors/enc/example.json`). Input: a
//! byte that picks the step, then:
//! - 0: a body, opened under the example's agreement and path (`ServerKey::open`: HMAC, GCM);
//! - 1: a path (one-byte length) and a body, opened likewise;
//! - 2: a `secretKey` header (`ServerKey::unwrap`: RSA-OAEP, time window) at the example's time;
//! - 3: a published public key (`ServerPublicKey::from_parts`): key id and RSA SPKI (one-byte
//!   and two-byte lengths), then the X25519 key.
//!
//! Properties: no panic; garbage is refused: a body that opens is the example's body (the same
//! bytes), sent to the example's path; a public key that parses writes back to one that parses
//! to the same key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zcred_crypto::enc::ServerPublicKey;
use zcred_crypto::multibase;
use zcred_fuzz::fixtures::enc_example;

fn check_opened(path: &str, body: &str) {
    let example = enc_example();
    if example.server.open(&example.wrapped, path, body).is_ok() {
        assert_eq!(path, example.path, "a body opened under another path");
        assert_eq!(
            multibase::from_base64url(body.trim()).ok(),
            multibase::from_base64url(&example.body).ok(),
            "a body other than the example's opened"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let example = enc_example();
    let mut input = zcred_fuzz::Reader::new(data);
    match input.u8() % 4 {
        0 => {
            if let Some(body) = zcred_fuzz::text(input.rest()) {
                check_opened(&example.path, body);
            }
        }
        1 => {
            let path = zcred_fuzz::text(input.short());
            let body = zcred_fuzz::text(input.rest());
            if let (Some(path), Some(body)) = (path, body) {
                check_opened(path, body);
            }
        }
        2 => {
            if let Some(header) = zcred_fuzz::text(input.rest()) {
                if let Ok(wrapped) = example.server.unwrap(header, example.now_ms) {
                    assert!(wrapped.timestamp_ms.abs_diff(example.now_ms) <= 5 * 60 * 1000);
                }
            }
        }
        _ => {
            let key_id = zcred_fuzz::text(input.short());
            let spki = zcred_fuzz::text(input.long());
            let x25519 = zcred_fuzz::text(input.rest());
            if let (Some(key_id), Some(spki), Some(x25519)) = (key_id, spki, x25519) {
                if let Ok(key) = ServerPublicKey::from_parts(key_id, spki, x25519) {
                    let spki = key.rsa_spki_base64().expect("a parsed key writes");
                    let again = ServerPublicKey::from_parts(key_id, &spki, &key.x25519_base64url())
                        .expect("a written key parses");
                    assert_eq!(again, key);
                }
            }
        }
    }
});
