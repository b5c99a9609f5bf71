//! BBS+ selective-disclosure proofs (zcred-crypto `bbs::parse_proof_header`, `verify_proof`),
//! in MATTR's framing. Input: the issuer's public key (96 bytes), the nonce (one-byte length),
//! the revealed messages (a count byte, each with a one-byte length), then the proof.
//!
//! Properties: no panic; a proof that verifies has the header `parse_proof_header` reads, and
//! its revealed count is that of the messages given. Every header is verified, whatever message
//! count it claims: the verifier checks the length the header implies before deriving the
//! generators (README.md, finding 3).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zcred_crypto::bbs::{self, PublicKey, PUBLIC_KEY_LEN};

fuzz_target!(|data: &[u8]| {
    let mut input = zcred_fuzz::Reader::new(data);
    let key = input.take(PUBLIC_KEY_LEN);
    let nonce = input.short();
    let count = input.u8();
    let revealed: Vec<&[u8]> = (0..count).map(|_| input.short()).collect();
    let proof = input.rest();
    let header = bbs::parse_proof_header(proof);
    let Ok(key) = <[u8; PUBLIC_KEY_LEN]>::try_from(key) else {
        return;
    };
    let Ok(key) = PublicKey::from_bytes(&key) else {
        return;
    };
    let Ok((header, offset)) = header else {
        assert!(bbs::verify_proof(&key, proof, &revealed, nonce).is_err());
        return;
    };
    assert!(offset <= proof.len());
    if let Ok(verified) = bbs::verify_proof(&key, proof, &revealed, nonce) {
        assert_eq!(verified, header);
        assert_eq!(verified.revealed.len(), revealed.len());
    }
});
