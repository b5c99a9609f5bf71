//! zcred's BBS+ against the `bbs` 0.4.1 crate (the implementation Zetrix and MATTR ship):
//! keys, signatures and framed proofs made by either side verify on the other.

use std::collections::{BTreeMap, BTreeSet};

use bbs::prelude::{
    DeterministicPublicKey, HashElem, HiddenMessage, KeyGenOption, PoKOfSignature,
    PoKOfSignatureProof, ProofChallenge, ProofMessage, ProofNonce, ProofRequest,
    SecretKey as OracleSecretKey, Signature as OracleSignature, SignatureMessage, SignatureProof,
    ToVariableLengthBytes, Verifier,
};
use proptest::prelude::*;
use zcred_crypto::bbs::{create_proof, verify_proof, KeyPair, PublicKey, SecretKey, Signature};
use zcred_crypto::OsRng;

struct Pair {
    ours: KeyPair,
    oracle_sk: OracleSecretKey,
    oracle_pk: DeterministicPublicKey,
}

fn pair(seed: &[u8]) -> Pair {
    let ours = KeyPair::new(SecretKey::from_seed(seed).unwrap());
    let oracle_sk = OracleSecretKey::from(*ours.secret().to_bytes());
    let (oracle_pk, _) =
        DeterministicPublicKey::new(Some(KeyGenOption::FromSecretKey(oracle_sk.clone())));
    assert_eq!(
        oracle_pk.to_bytes_compressed_form(),
        ours.public().to_bytes(),
        "public key sk·G2 agrees"
    );
    Pair {
        ours,
        oracle_sk,
        oracle_pk,
    }
}

fn hashed(messages: &[Vec<u8>]) -> Vec<SignatureMessage> {
    messages.iter().map(SignatureMessage::hash).collect()
}

fn oracle_bitvector(total: usize, revealed: &BTreeSet<usize>) -> Vec<u8> {
    // MATTR bbs-signatures `revealed_to_bitvector`: little-endian bits, then bytes reversed.
    let mut bytes = vec![0u8; total / 8 + 1];
    for r in revealed {
        bytes[r / 8] |= 1u8 << (r % 8);
    }
    bytes.reverse();
    bytes
}

fn oracle_proof(
    p: &Pair,
    sig: &OracleSignature,
    messages: &[Vec<u8>],
    revealed: &BTreeSet<usize>,
    nonce: &[u8],
) -> Vec<u8> {
    let pk = p.oracle_pk.to_public_key(messages.len()).unwrap();
    let proof_messages: Vec<ProofMessage> = hashed(messages)
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            if revealed.contains(&i) {
                ProofMessage::Revealed(m)
            } else {
                ProofMessage::Hidden(HiddenMessage::ProofSpecificBlinding(m))
            }
        })
        .collect();
    let pok = PoKOfSignature::init(sig, &pk, &proof_messages).unwrap();
    let mut challenge_bytes = pok.to_bytes();
    challenge_bytes.extend_from_slice(&ProofNonce::hash(nonce).to_bytes_compressed_form());
    let challenge = ProofChallenge::hash(&challenge_bytes);
    let proof = pok.gen_proof(&challenge).unwrap();
    let mut out = (messages.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&oracle_bitvector(messages.len(), revealed));
    out.extend_from_slice(&proof.to_bytes_compressed_form());
    out
}

fn oracle_verify_proof(
    p: &Pair,
    framed: &[u8],
    messages: &[Vec<u8>],
    revealed: &BTreeSet<usize>,
    nonce: &[u8],
) -> bool {
    let n = messages.len();
    let offset = 2 + n / 8 + 1;
    assert_eq!(&framed[..2], &(n as u16).to_be_bytes());
    assert_eq!(&framed[2..offset], &oracle_bitvector(n, revealed)[..]);
    let proof = PoKOfSignatureProof::from_bytes_compressed_form(&framed[offset..]).unwrap();
    let request = ProofRequest {
        revealed_messages: revealed.clone(),
        verification_key: p.oracle_pk.to_public_key(n).unwrap(),
    };
    let revealed_messages: BTreeMap<usize, SignatureMessage> = revealed
        .iter()
        .map(|&i| (i, SignatureMessage::hash(&messages[i])))
        .collect();
    let sp = SignatureProof {
        revealed_messages,
        proof,
    };
    Verifier::verify_signature_pok(&request, &sp, &ProofNonce::hash(nonce)).is_ok()
}

fn subset(n: usize, mask: u64) -> BTreeSet<usize> {
    (0..n).filter(|i| mask & (1 << (i % 64)) != 0).collect()
}

fn revealed_of(messages: &[Vec<u8>], revealed: &BTreeSet<usize>) -> Vec<Vec<u8>> {
    revealed.iter().map(|&i| messages[i].clone()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn signatures_cross_verify(
        seed in proptest::collection::vec(any::<u8>(), 1..48),
        messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..12),
    ) {
        let p = pair(&seed);
        let pk = p.oracle_pk.to_public_key(messages.len()).unwrap();

        let theirs = OracleSignature::new(&hashed(&messages), &p.oracle_sk, &pk).unwrap();
        let theirs_as_ours = Signature::from_bytes(&theirs.to_bytes_compressed_form()).unwrap();
        prop_assert!(p.ours.public().verify(&messages, &theirs_as_ours).is_ok());

        let ours = p.ours.sign(&messages, &mut OsRng).unwrap();
        let ours_as_theirs = OracleSignature::from(ours.to_bytes());
        prop_assert!(ours_as_theirs.verify(&hashed(&messages), &pk).unwrap());

        // A changed message fails on both sides.
        let mut changed = messages.clone();
        changed[0].push(b'!');
        prop_assert!(p.ours.public().verify(&changed, &theirs_as_ours).is_err());
        prop_assert!(!ours_as_theirs.verify(&hashed(&changed), &pk).unwrap());
    }

    #[test]
    fn proofs_cross_verify(
        seed in proptest::collection::vec(any::<u8>(), 1..48),
        messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..20),
        mask in any::<u64>(),
        nonce in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let p = pair(&seed);
        let revealed = subset(messages.len(), mask);
        let disclosed = revealed_of(&messages, &revealed);
        let pk = p.oracle_pk.to_public_key(messages.len()).unwrap();
        let sig = OracleSignature::new(&hashed(&messages), &p.oracle_sk, &pk).unwrap();

        let theirs = oracle_proof(&p, &sig, &messages, &revealed, &nonce);
        let header = verify_proof(p.ours.public(), &theirs, &disclosed, &nonce).unwrap();
        prop_assert_eq!(&header.revealed, &revealed);

        let ours_sig = Signature::from_bytes(&sig.to_bytes_compressed_form()).unwrap();
        let ours = create_proof(p.ours.public(), &ours_sig, &messages, &revealed, &nonce, &mut OsRng).unwrap();
        prop_assert_eq!(ours.len(), theirs.len());
        prop_assert!(oracle_verify_proof(&p, &ours, &messages, &revealed, &nonce));

        let mut other_nonce = nonce.clone();
        other_nonce.push(1);
        prop_assert!(verify_proof(p.ours.public(), &theirs, &disclosed, &other_nonce).is_err());
        prop_assert!(!oracle_verify_proof(&p, &ours, &messages, &revealed, &other_nonce));
    }
}

#[test]
fn public_key_text_round_trips() {
    let p = pair(b"round trip");
    let text = p.ours.public().to_multibase();
    assert_eq!(&PublicKey::from_multibase(&text).unwrap(), p.ours.public());
}
