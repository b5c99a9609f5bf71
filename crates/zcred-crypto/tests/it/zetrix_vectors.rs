//! The public Zetrix vectors: keys, addresses and DIDs (zetrix.md §1), Ed25519 signatures, and
//! BBS+ keys, signatures and a derived proof made by Zetrix's service and SDKs. Sources are named
//! in each file and in `tests/vectors/zetrix/SOURCES.md`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use zcred_crypto::bbs;
use zcred_crypto::multibase;
use zcred_crypto::zetrix::{Address, KeyError, Signature, SigningKey, VerifyingKey};

fn json(path: &str) -> Value {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    serde_json::from_str(&text).unwrap()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("missing {k} in {v}"))
}

#[test]
fn key_pairs_addresses_and_dids() {
    let v = json("spec/zetrix_keys.json");
    for pair in v["keyPairs"].as_array().unwrap() {
        let sk = SigningKey::from_zetrix(s(pair, "privateKey")).unwrap();
        assert_eq!(sk.to_zetrix().as_str(), s(pair, "privateKey"));
        let vk = sk.verifying_key();
        assert_eq!(vk.to_zetrix(), s(pair, "publicKey"));
        assert_eq!(vk.address().to_string(), s(pair, "address"));
        assert_eq!(
            vk.did(),
            format!("did:zid:{}", &s(pair, "publicKey")[4..68])
        );
        if let Some(did) = pair.get("did") {
            assert_eq!(vk.did(), did.as_str().unwrap());
        }
    }
    for pk in v["publicKeys"].as_array().unwrap() {
        let vk = VerifyingKey::from_zetrix(s(pk, "publicKey")).unwrap();
        assert_eq!(vk.address().to_string(), s(pk, "address"));
        assert_eq!(Address::parse(s(pk, "address")).unwrap(), vk.address());
    }
}

#[test]
fn ed25519_signatures() {
    let v = json("spec/zetrix_keys.json");
    for case in v["signatures"].as_array().unwrap() {
        let sk = SigningKey::from_zetrix(s(case, "privateKey")).unwrap();
        let msg = hex::decode(s(case, "messageHex")).unwrap();
        let sig = sk.sign(&msg);
        assert_eq!(sig.to_hex(), s(case, "signature"));
        sk.verifying_key().verify(&msg, &sig).unwrap();
    }
    for case in v["verifications"].as_array().unwrap() {
        let vk = VerifyingKey::from_zetrix(s(case, "publicKey")).unwrap();
        let sig = Signature::from_hex(s(case, "signature")).unwrap();
        vk.verify(s(case, "messageAscii").as_bytes(), &sig).unwrap();
        assert!(vk.verify(b"43556C35", &sig).is_err());
    }
}

#[test]
fn every_form_is_parsed_strictly() {
    let v = json("spec/zetrix_keys.json");
    let pair = &v["keyPairs"][1];
    let (private, public, address) = (
        s(pair, "privateKey"),
        s(pair, "publicKey"),
        s(pair, "address"),
    );

    // Private key: Base58, length, prefix, type, compression flag, checksum.
    assert_eq!(
        SigningKey::from_zetrix("priv0OIl").unwrap_err(),
        KeyError::Base58 {
            what: "private key"
        }
    );
    assert!(matches!(
        SigningKey::from_zetrix(&private[..50]),
        Err(KeyError::Length { expected: 41, .. })
    ));
    let mut raw = bs58::decode(private).into_vec().unwrap();
    let reencode = |bytes: &[u8]| bs58::encode(bytes).into_string();
    raw[40] ^= 1;
    assert!(matches!(
        SigningKey::from_zetrix(&reencode(&raw)),
        Err(KeyError::Checksum { .. })
    ));
    raw[40] ^= 1;
    raw[0] = 0xDB;
    assert!(matches!(
        SigningKey::from_zetrix(&reencode(&raw)),
        Err(KeyError::Prefix { .. })
    ));
    raw[0] = 0xDA;
    raw[3] = 0x02;
    assert!(matches!(
        SigningKey::from_zetrix(&reencode(&raw)),
        Err(KeyError::KeyType { found: 2, .. })
    ));
    raw[3] = 0x01;
    raw[36] = 0x01;
    assert!(matches!(
        SigningKey::from_zetrix(&reencode(&raw)),
        Err(KeyError::CompressionFlag { found: 1 })
    ));

    // Public key: length, hex, prefix, type, checksum; either case accepted.
    assert!(VerifyingKey::from_zetrix(&public.to_uppercase()).is_ok());
    assert!(matches!(
        VerifyingKey::from_zetrix(&public[..74]),
        Err(KeyError::Length { expected: 76, .. })
    ));
    assert!(matches!(
        VerifyingKey::from_zetrix(&public.replacen('0', "g", 1)),
        Err(KeyError::Hex { .. })
    ));
    assert!(matches!(
        VerifyingKey::from_zetrix(&format!("c0{}", &public[2..])),
        Err(KeyError::Prefix { .. })
    ));
    assert!(matches!(
        VerifyingKey::from_zetrix(&format!("b002{}", &public[4..])),
        Err(KeyError::KeyType { found: 2, .. })
    ));
    let last = &public[75..];
    let flipped = if last == "0" { "1" } else { "0" };
    assert!(matches!(
        VerifyingKey::from_zetrix(&format!("{}{flipped}", &public[..75])),
        Err(KeyError::Checksum { .. })
    ));

    // Address: length, prefix, checksum.
    assert!(matches!(
        Address::parse(&address[..30]),
        Err(KeyError::Length { expected: 27, .. })
    ));
    let mut raw = bs58::decode(address).into_vec().unwrap();
    raw[26] ^= 1;
    assert!(matches!(
        Address::parse(&reencode(&raw)),
        Err(KeyError::Checksum { .. })
    ));
    raw[26] ^= 1;
    raw[1] = 0x56;
    assert!(matches!(
        Address::parse(&reencode(&raw)),
        Err(KeyError::Prefix { .. })
    ));

    // DID: method prefix is case-sensitive, hex is not.
    let did = s(pair, "did");
    assert!(VerifyingKey::from_did(&did.to_uppercase().replace("DID:ZID:", "did:zid:")).is_ok());
    assert!(matches!(
        VerifyingKey::from_did(&did.to_uppercase()),
        Err(KeyError::Prefix { .. })
    ));
    assert!(matches!(
        VerifyingKey::from_did(&did[..70]),
        Err(KeyError::Length { .. })
    ));

    // Signature: 128 hex characters.
    assert!(matches!(
        Signature::from_hex("AB"),
        Err(KeyError::Length { expected: 128, .. })
    ));
    assert!(matches!(
        Signature::from_hex(&"G".repeat(128)),
        Err(KeyError::Hex { .. })
    ));
}

#[test]
fn bbs_key_from_the_api_reference() {
    let v = json("zetrix/apiref_bbs_sign_request.json");
    let sk = bbs::SecretKey::from_multibase(s(&v, "privateKeyMultibase")).unwrap();
    assert_eq!(sk.public_key().to_multibase(), s(&v, "publicKeyMultibase"));
    assert_eq!(sk.to_multibase().as_str(), s(&v, "privateKeyMultibase"));
}

#[test]
fn bbs_signature_made_by_zetrix_verifies() {
    let req = json("zetrix/apiref_bbs_sign_request.json");
    let resp = json("zetrix/apiref_bbs_sign_response.json");
    let pk = bbs::PublicKey::from_multibase(s(&req, "publicKeyMultibase")).unwrap();
    let messages: Vec<Vec<u8>> = req["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| multibase::from_base64(m.as_str().unwrap()).unwrap())
        .collect();
    let sig = bbs::Signature::from_multibase(s(&resp["object"], "signData")).unwrap();
    pk.verify(&messages, &sig).unwrap();
    // Signing the base64 text instead of the decoded bytes does not verify (zetrix.md §3.4).
    let as_text: Vec<&str> = req["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(
        pk.verify(&as_text, &sig),
        Err(bbs::BbsError::InvalidSignature)
    );
    // Nor does another order.
    let mut swapped = messages.clone();
    swapped.swap(1, 2);
    assert_eq!(
        pk.verify(&swapped, &sig),
        Err(bbs::BbsError::InvalidSignature)
    );
}

#[test]
fn bbs_signature_of_the_flutter_sdk_verifies() {
    let v = json("zetrix/flutter_bbs_proof_test_vector.json");
    let bytes = |k: &str| -> Vec<u8> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap() as u8)
            .collect()
    };
    let pk = bbs::PublicKey::from_bytes(&bytes("publicKeyBytes").try_into().unwrap()).unwrap();
    let sig = bbs::Signature::from_bytes(&bytes("signatureBytes").try_into().unwrap()).unwrap();
    assert_eq!(pk.to_multibase(), s(&v, "derived_publicKeyMultibase"));
    assert_eq!(sig.to_multibase(), s(&v, "derived_signatureMultibase"));
    pk.verify(&["message1", "message2"], &sig).unwrap();
    assert!(pk.verify(&["message1", "message3"], &sig).is_err());
}

#[test]
fn bbs_derived_proof_made_by_a_zetrix_wallet_verifies() {
    let keys = json("zetrix/keys.json");
    let k = &keys["didcomm_present_proof_vp.json"];
    let pk = bbs::PublicKey::from_multibase(s(k, "issuerBbsPublicKey")).unwrap();
    let vp = json("zetrix/didcomm_present_proof_vp.json");
    let proof = &vp["verifiableCredential"][0]["proof"][0];
    let proof_bytes = multibase::decode_base64url(s(proof, "proofValue"), None).unwrap();
    let nonce = multibase::decode_base64url(s(proof, "nonce"), None).unwrap();
    let revealed = &k["bbsDerivedProof"]["revealedMessages"];
    let messages: Vec<&str> = ["0", "1", "4", "6"]
        .iter()
        .map(|i| s(revealed, i))
        .collect();

    let header = bbs::verify_proof(&pk, &proof_bytes, &messages, &nonce).unwrap();
    assert_eq!(header.message_count, 9);
    assert_eq!(header.revealed, BTreeSet::from([0, 1, 4, 6]));

    let mut tampered = messages.clone();
    tampered[1] = "drivingLicense.name: Ali bin Abd";
    assert_eq!(
        bbs::verify_proof(&pk, &proof_bytes, &tampered, &nonce),
        Err(bbs::BbsError::InvalidProof)
    );
    assert_eq!(
        bbs::verify_proof(&pk, &proof_bytes, &messages, s(proof, "nonce").as_bytes()),
        Err(bbs::BbsError::InvalidProof),
        "the nonce is the decoded bytes, not the multibase text"
    );
}
