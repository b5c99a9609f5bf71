//! Verifiable Credentials (zcred-model `Credential::from_json`, `verify::verify_credential`,
//! the BBS+ message list). Input: the JSON text.
//!
//! Properties: no panic; a credential that parses, written again as JSON, parses to the same
//! credential (floats exactly); its checks run (against the issuer's keys when the issuer is
//! one the targets know, else against the fixture's keys), one day after its start; a
//! credential whose every check passes is by a known issuer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use zcred_fuzz::fixtures::{issuer_bbs, issuer_key, issuer_keys};
use zcred_model::{verify, Credential};

fuzz_target!(|data: &[u8]| {
    let Some(text) = zcred_fuzz::text(data) else {
        return;
    };
    let Ok(credential) = Credential::from_json(text) else {
        return;
    };
    let written = serde_json::to_string(credential.as_json()).expect("a JSON map writes");
    let again = Credential::from_json(&written).expect("a written credential parses");
    assert!(again == credential, "{written}");
    let again = Credential::from_value(Value::Object(credential.as_json().clone()))
        .expect("a credential's JSON parses");
    assert!(again == credential);
    let _ = (credential.bbs_messages(), credential.integer_paths());
    let _ = (credential.signed_messages(), credential.unsigned());
    let fixture = issuer_key().verifying_key();
    let known = issuer_keys(credential.issuer());
    let (ed25519, bbs) = match known {
        Some(keys) => (&keys.ed25519[0], &keys.bbs[0].1),
        None => (&fixture, issuer_bbs().public()),
    };
    let keys = verify::IssuerKeys {
        ed25519,
        bbs,
        did: Some(credential.issuer()),
    };
    let at = credential.valid_from() + time::Duration::days(1);
    let report = verify::verify_credential(&credential, keys, at);
    if report.check("Ed25519Signature2020").is_some_and(|c| c.ok) {
        assert!(
            known.is_some(),
            "a JWS by an unknown issuer verified: {text}"
        );
    }
});
