//! Multibase and base64 forms (zcred-crypto `multibase`): `z` base58btc with a required length,
//! `u` base64url (padding optional), bare base64url and standard base64. Input: a byte that
//! picks the length base58btc must decode to, then the text.
//!
//! Properties: no panic; decoded bytes encode to text that decodes to the same bytes
//! (base58btc and standard base64 print back exactly).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zcred_crypto::multibase as mb;

const LENGTHS: [usize; 6] = [32, 34, 48, 96, 112, 1];

fuzz_target!(|data: &[u8]| {
    let mut input = zcred_fuzz::Reader::new(data);
    let expected = LENGTHS[usize::from(input.u8()) % LENGTHS.len()];
    let Some(text) = zcred_fuzz::text(input.rest()) else {
        return;
    };
    if let Ok(bytes) = mb::decode_base58btc(text, expected) {
        assert_eq!(bytes.len(), expected);
        assert_eq!(mb::encode_base58btc(&bytes), text);
    }
    if let Ok(bytes) = mb::decode_base64url(text, None) {
        let written = mb::encode_base64url(&bytes);
        assert_eq!(mb::decode_base64url(&written, Some(bytes.len())), Ok(bytes));
    }
    if let Ok(bytes) = mb::decode_base64url(text, Some(expected)) {
        assert_eq!(bytes.len(), expected);
    }
    if let Ok(bytes) = mb::from_base64url(text) {
        assert_eq!(
            mb::from_base64url(&mb::base64url(&bytes)).as_ref(),
            Ok(&bytes)
        );
        assert_eq!(mb::from_base64url(&mb::base64url_padded(&bytes)), Ok(bytes));
    }
    if let Ok(bytes) = mb::from_base64(text) {
        assert_eq!(mb::base64(&bytes), text);
    }
});
