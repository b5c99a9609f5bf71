//! The ledger verifier (zcred-ledger `verify::verify_stream`: key state, registries,
//! credentials, duplicity, escrow) over a CESR stream. Input: a flags byte (bit 0: zcred's batch
//! anchors), then the stream.
//!
//! Properties: no panic; for a stream that verifies, every credential's status can be asked and
//! agrees with the ledger's state, and every key state is found by its prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zcred_ledger::{verify, Options};

fuzz_target!(|data: &[u8]| {
    let mut input = zcred_fuzz::Reader::new(data);
    let options = Options {
        batch_anchors: input.u8() & 1 == 1,
    };
    let Ok(ledger) = verify::verify_stream(input.rest(), options) else {
        return;
    };
    for credential in ledger.credentials() {
        let status = ledger
            .verify_status(
                &credential.registry.to_string(),
                &credential.said.to_string(),
            )
            .unwrap_or_else(|e| panic!("a verified credential's status: {e}"));
        assert_eq!(status, credential.status);
    }
    for state in ledger.key_states() {
        assert!(ledger.key_state(&state.prefix.to_string()).is_some());
    }
    let _ = (ledger.duplicity(), ledger.accepted());
});
