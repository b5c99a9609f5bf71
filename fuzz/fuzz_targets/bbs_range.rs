//! Range proofs over hidden BBS+ messages (zcred-crypto `bbs::range::verify`, Bulletproofs++),
//! against the fixture's BBS+ key. Input: the statement (message index byte, path with a one-byte
//! length, min and max as big-endian i64), the disclosure's nonce (one-byte length), the revealed
//! messages (a count byte, each with a one-byte length), the BBS+ proof (two-byte length), then
//! the range proof.
//!
//! Properties: no panic; a disclosure that verifies has the range proof's header and revealed
//! count. Every header is verified, whatever message count it claims (see `bbs_proof`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zcred_crypto::bbs::{range, Message};
use zcred_fuzz::fixtures::issuer_bbs;

fn i64_of(bytes: &[u8]) -> i64 {
    let mut b = [0u8; 8];
    b[..bytes.len()].copy_from_slice(bytes);
    i64::from_be_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    let mut input = zcred_fuzz::Reader::new(data);
    let message_index = usize::from(input.u8());
    let Some(path) = zcred_fuzz::text(input.short()) else {
        return;
    };
    let min = i64_of(input.take(8));
    let max = i64_of(input.take(8));
    let nonce = input.short();
    let count = input.u8();
    let revealed: Vec<Message> = (0..count).map(|_| Message::hashed(input.short())).collect();
    let proof = input.long();
    let range_proof = input.rest();
    let statement = range::RangeStatement {
        message_index,
        path,
        min,
        max,
    };
    if let Ok(header) = range::verify(
        issuer_bbs().public(),
        proof,
        &revealed,
        nonce,
        &[(statement, range_proof)],
    ) {
        assert_eq!(header.revealed.len(), revealed.len());
        assert!(!header.revealed.contains(&message_index));
    }
});
