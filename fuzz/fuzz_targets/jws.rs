//! The issuer's compact JWS (zcred-crypto `jws::parse`), both signature encodings. Input: the
//! text.
//!
//! Properties: no panic; a parsed JWS written again (the quirk form) parses to the same payload
//! and signature; its payload signed again under the same header parses back; verification
//! under a fixed key does not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zcred_crypto::jws;
use zcred_fuzz::fixtures::issuer_key;

fuzz_target!(|data: &[u8]| {
    let Some(text) = zcred_fuzz::text(data) else {
        return;
    };
    let Ok(parsed) = jws::parse(text) else {
        return;
    };
    assert!(text.starts_with(parsed.signing_input));
    let written = jws::encode(parsed.signing_input, &parsed.signature);
    let again = jws::parse(&written).expect("a written JWS parses");
    assert_eq!(again.payload, parsed.payload);
    assert_eq!(again.signature, parsed.signature);
    assert!(again.hex_quirk);
    let input = jws::signing_input(&parsed.payload);
    let resigned = jws::encode(&input, &parsed.signature);
    assert_eq!(
        jws::parse(&resigned).expect("parses").payload,
        parsed.payload
    );
    let _ = parsed.verify(&issuer_key().verifying_key());
});
