//! Zetrix key forms (zcred-crypto `zetrix`): public keys `b001…`, private keys `priv…`,
//! addresses `ZTX3…`, DIDs `did:zid:…` (also through zcred-model's `Did` and the CESR key form),
//! and Ed25519 signature hex. Input: the text.
//!
//! Properties: no panic; whatever parses prints back as the input (hex case aside) and parses
//! again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zcred_crypto::zetrix::{self, Address, Signature, SigningKey, VerifyingKey};
use zcred_ledger::cesr;
use zcred_model::Did;

fuzz_target!(|data: &[u8]| {
    let Some(text) = zcred_fuzz::text(data) else {
        return;
    };
    if let Ok(key) = VerifyingKey::from_zetrix(text) {
        let printed = key.to_zetrix();
        assert!(printed.eq_ignore_ascii_case(text), "{printed} vs {text}");
        assert_eq!(VerifyingKey::from_zetrix(&printed), Ok(key));
        assert_eq!(VerifyingKey::from_did(&key.did()), Ok(key));
        let address = key.address();
        assert_eq!(Address::parse(&address.to_string()), Ok(address));
        assert_eq!(cesr::decode_key(&cesr::encode_key(&key, true)), Ok(key));
    }
    if let Ok(key) = SigningKey::from_zetrix(text) {
        assert_eq!(key.to_zetrix().as_str(), text);
    }
    if let Ok(address) = Address::parse(text) {
        assert_eq!(address.to_string(), text);
    }
    if let Ok(raw) = zetrix::parse_did(text) {
        assert!(zetrix::format_did(&raw).eq_ignore_ascii_case(text));
    }
    if let Ok(key) = VerifyingKey::from_did(text) {
        assert!(key.did().eq_ignore_ascii_case(text));
    }
    if let Ok(did) = Did::parse(text) {
        assert!(did.as_str().eq_ignore_ascii_case(text));
        assert!(Did::parse(did.as_str()) == Ok(did.clone()));
        if let Ok(key) = did.key() {
            assert!(Did::of_key(&key) == did);
        }
    }
    if let Ok(key) = cesr::decode_key(text) {
        assert_eq!(cesr::encode_key(&key, text.starts_with('D')), text);
    }
    if let Ok(signature) = Signature::from_hex(text) {
        assert!(signature.to_hex().eq_ignore_ascii_case(text));
        assert_eq!(Signature::from_hex(&signature.to_hex()), Ok(signature));
    }
});
