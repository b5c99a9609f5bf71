//! Verifiable Presentations (zcred-model `presentation::verify_presentation`: the holder's JWS,
//! the challenge, each credential's issuer signature or derived BBS+ proof with range proofs,
//! dates), against the issuers the targets know (`FixedResolver`), bound to the fixture's
//! challenge, at 2030-01-01. Input: the JSON, read by the request bodies' strict parser.
//!
//! Properties: no panic; a presentation that verifies is by a holder whose key signed one of
//! the seeds (no forgery).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zcred_fuzz::fixtures::{did_of, holder_key, verify_at, FixedResolver, CHALLENGE};
use zcred_model::json::parse_strict;
use zcred_model::presentation::verify_presentation;

/// Holders of the presentations in `crates/zcred-crypto/tests/vectors/zetrix`.
const VECTOR_HOLDERS: &[&str] =
    &["did:zid:2c8c214c958e0f28e8e3aac60a38abd161e3135efa33bb1c4233e0c6a4518a17"];

fuzz_target!(|data: &[u8]| {
    let Ok(vp) = parse_strict(data) else {
        return;
    };
    let Ok(outcome) = verify_presentation(&vp, Some(CHALLENGE), verify_at(), &FixedResolver) else {
        return;
    };
    let _ = outcome.to_json();
    if outcome.verified() {
        let holder = vp["holder"].as_str().unwrap_or_default();
        assert!(
            holder == did_of(&holder_key()).as_str() || VECTOR_HOLDERS.contains(&holder),
            "a presentation by an unknown holder verified"
        );
    }
});
