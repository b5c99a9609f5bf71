//! The official BIP-39 English test vectors (trezor/python-mnemonic `vectors.json`, passphrase
//! `"TREZOR"`; source and commit in `tests/vectors/bip39/README.md`): entropy → mnemonic and
//! mnemonic → 64-byte seed through [`bbs::mnemonic_seed`], the function behind the mnemonic
//! branch of `SecretKey::from_seed_text` (api.md OP-2).

use std::path::PathBuf;

use serde_json::Value;
use zcred_crypto::bbs::{self, SecretKey, SeedError};

fn english() -> Vec<[String; 3]> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/bip39/vectors.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["english"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| {
            let field = |i: usize| case[i].as_str().unwrap().to_owned();
            [field(0), field(1), field(2)]
        })
        .collect()
}

#[test]
fn mnemonic_to_seed_matches_the_trezor_vectors() {
    let cases = english();
    assert_eq!(cases.len(), 24, "all English vectors of the source file");
    for [entropy, mnemonic, seed] in &cases {
        let got = bbs::mnemonic_seed(mnemonic, "TREZOR").unwrap();
        assert_eq!(hex::encode(got.as_ref()), *seed, "{mnemonic}");
        // The mnemonic really encodes the vector's entropy (words and checksum).
        let parsed =
            bip39::Mnemonic::parse_in_normalized(bip39::Language::English, mnemonic).unwrap();
        assert_eq!(hex::encode(parsed.to_entropy()), *entropy, "{mnemonic}");
        // Another passphrase gives another seed.
        assert_ne!(
            bbs::mnemonic_seed(mnemonic, "").unwrap().as_ref(),
            got.as_ref()
        );
    }
    // Every word count BIP-39 defines is covered.
    let mut counts: Vec<usize> = cases.iter().map(|[_, m, _]| m.split(' ').count()).collect();
    counts.sort_unstable();
    counts.dedup();
    assert_eq!(counts, [12, 18, 24]);
}

#[test]
fn a_vector_mnemonic_keys_as_its_empty_passphrase_seed() {
    // from_seed_text(mnemonic) = gen_sk(BIP-39 seed with ""), for every vector mnemonic.
    for [_, mnemonic, _] in english() {
        let seed = bbs::mnemonic_seed(&mnemonic, "").unwrap();
        let by_text = SecretKey::from_seed_text(&mnemonic).unwrap();
        let by_seed = SecretKey::from_seed(seed.as_ref()).unwrap();
        assert_eq!(*by_text.to_bytes(), *by_seed.to_bytes(), "{mnemonic}");
    }
}

#[test]
fn a_vector_with_one_word_changed_fails_its_checksum() {
    let [_, mnemonic, _] = english().swap_remove(1);
    // "legal winner … thank yellow": the last word carries the checksum.
    let changed = mnemonic.replace("yellow", "year");
    assert_eq!(
        bbs::mnemonic_seed(&changed, "TREZOR").map(|_| ()),
        Err(SeedError::Checksum)
    );
}

#[test]
fn the_api_reference_example_mnemonic_fails_the_bip39_checksum() {
    // The seed's own `/cred/bbs/create` example (tests/vectors/zetrix/apiref_bbs_create_request.json):
    // twelve English BIP-39 words whose checksum bits are 0000 where SHA-256 of the entropy
    // gives 0111. Under api.md OP-2 (a text with a space must be a valid mnemonic) it is
    // refused, with a message that does not quote it.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/zetrix/apiref_bbs_create_request.json");
    let request: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mnemonic = request["seed"].as_str().unwrap();
    assert_eq!(mnemonic.split(' ').count(), 12);
    let refused = SecretKey::from_seed_text(mnemonic).map(|_| ());
    assert_eq!(refused, Err(SeedError::Checksum));
    assert_eq!(
        bbs::mnemonic_seed(mnemonic, "").map(|_| ()),
        Err(SeedError::Checksum)
    );
}
