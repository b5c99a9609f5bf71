//! MATTR's published BBS+ fixtures (mattrglobal/bbs-signatures, mattrglobal/node-bbs-signatures,
//! mattrglobal/bls12381-key-pair; exact repositories, paths and commits per vector in
//! `tests/vectors/mattr/SOURCES.md`): seeded keys, signatures, and proofs in MATTR's framing.

use std::path::PathBuf;

use serde_json::Value;
use zcred_crypto::bbs::{self, BbsError, PublicKey, SecretKey, Signature};
use zcred_crypto::multibase;

fn vectors(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/mattr")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn b64(v: &Value) -> Vec<u8> {
    let text = v.as_str().unwrap();
    multibase::from_base64(text)
        .or_else(|_| multibase::from_base64url(text))
        .unwrap_or_else(|_| panic!("not base64: {text}"))
}

fn decimal(v: &Value) -> Vec<u8> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap() as u8)
        .collect()
}

/// MATTR public keys are either a 96-byte BLS G2 key or a BBS key `w ‖ h0 ‖ n ‖ h_i…`; the
/// generators zcred derives from `w` are the ones a BBS key made by `bls12381toBbs` carries.
fn public_key(case: &Value) -> PublicKey {
    let bytes = b64(case
        .get("public_key_b64")
        .or_else(|| case.get("public_key_b64url"))
        .unwrap());
    PublicKey::from_bytes(&bytes[..96].try_into().unwrap()).unwrap()
}

fn utf8_list(v: &Value) -> Vec<Vec<u8>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().as_bytes().to_vec())
        .collect()
}

#[test]
fn keys_from_seeds_with_mattrs_hkdf_sha256() {
    let v = vectors("keys.json");
    let mut checked = 0;
    for case in v["keygen_from_seed"].as_array().unwrap() {
        let algorithm = case["algorithm"].as_str().unwrap_or_default();
        if !algorithm.starts_with("mattr gen_sk: HKDF-SHA256") {
            continue; // older MATTR releases used the bbs crate's HKDF-Blake2b; zcred does not.
        }
        let seed = match case.get("seed_b64") {
            Some(s) => b64(s),
            None => hex::decode(case["seed_hex"].as_str().unwrap()).unwrap(),
        };
        let sk = SecretKey::from_seed(&seed).unwrap();
        let (secret, public) = match case.get("secret_key_b64") {
            Some(s) => (b64(s), b64(&case["public_key_b64"])),
            None => (
                decimal(&case["secret_key_dec"]),
                decimal(&case["public_key_dec"]),
            ),
        };
        assert_eq!(sk.to_bytes().to_vec(), secret, "{}", case["id"]);
        assert_eq!(
            sk.public_key().to_bytes().to_vec(),
            public,
            "{}",
            case["id"]
        );
        checked += 1;
    }
    assert!(checked >= 1, "no HKDF-SHA256 seed vector was checked");
}

#[test]
fn signatures() {
    let v = vectors("signatures.json");
    for case in v.as_array().unwrap() {
        let pk = public_key(case);
        let sig = Signature::from_bytes(&b64(&case["signature_b64"]).try_into().unwrap()).unwrap();
        let messages = utf8_list(&case["messages"]);
        let result = pk.verify(&messages, &sig);
        if case["valid"] == true {
            assert_eq!(result, Ok(()), "{}", case["id"]);
        } else {
            assert_eq!(result, Err(BbsError::InvalidSignature), "{}", case["id"]);
        }
    }
}

#[test]
fn proofs_in_mattrs_framing() {
    let v = vectors("proofs.json");
    for case in v.as_array().unwrap() {
        let pk = public_key(case);
        let proof = b64(&case["proof_b64"]);
        let nonce = match case["nonce_encoding"].as_str().unwrap() {
            "base64" => b64(&case["nonce"]),
            _ => case["nonce"].as_str().unwrap().as_bytes().to_vec(),
        };
        let revealed = utf8_list(&case["revealed_messages"]);
        let result = bbs::verify_proof(&pk, &proof, &revealed, &nonce);
        if case["valid"] == true {
            let header = result.unwrap_or_else(|e| panic!("{}: {e}", case["id"]));
            let indices: Vec<usize> = case["revealed_indices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(
                header.revealed.into_iter().collect::<Vec<_>>(),
                indices,
                "{}",
                case["id"]
            );
            assert_eq!(
                header.message_count,
                case["all_messages"].as_array().unwrap().len()
            );
        } else {
            // Refused either as unframed/malformed or as not verifying.
            assert!(
                matches!(result, Err(BbsError::InvalidProof | BbsError::Malformed(_))),
                "{}: {result:?}",
                case["id"]
            );
        }
    }
}
