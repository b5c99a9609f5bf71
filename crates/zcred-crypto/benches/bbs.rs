//! BBS+ and Ed25519 hot paths, with the `bbs` 0.4.1 crate (the implementation Zetrix ships)
//! measured beside zcred's own in the same run. `cargo bench -p zcred-crypto --bench bbs`.

use std::collections::BTreeSet;

use bbs::prelude::{
    DeterministicPublicKey, HashElem, KeyGenOption, SecretKey as OracleSecretKey,
    Signature as OracleSignature, SignatureMessage,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use zcred_crypto::bbs::{
    create_proof, verify_batch, verify_proof, BatchItem, KeyPair, Message, SecretKey, Signature,
};
use zcred_crypto::zetrix::SigningKey;
use zcred_crypto::OsRng;

fn messages(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("credential.attribute{i}: value {i}"))
        .collect()
}

fn bbs_benches(c: &mut Criterion) {
    let pair = KeyPair::new(SecretKey::from_seed(b"bench").expect("seed"));
    let oracle_sk = OracleSecretKey::from(*pair.secret().to_bytes());
    let (oracle_dpk, _) =
        DeterministicPublicKey::new(Some(KeyGenOption::FromSecretKey(oracle_sk.clone())));
    for n in [10usize, 50] {
        let msgs = messages(n);
        let sig = pair.sign(&msgs, &mut OsRng).expect("sign");
        let revealed: BTreeSet<usize> = (0..n).step_by(2).collect();
        let disclosed: Vec<&String> = revealed.iter().map(|&i| &msgs[i]).collect();
        let proof = create_proof(pair.public(), &sig, &msgs, &revealed, b"nonce", &mut OsRng)
            .expect("proof");

        let mut g = c.benchmark_group("zcred-bbs");
        g.bench_with_input(BenchmarkId::new("sign", n), &n, |b, _| {
            b.iter(|| pair.sign(&msgs, &mut OsRng).expect("sign"))
        });
        g.bench_with_input(BenchmarkId::new("verify", n), &n, |b, _| {
            b.iter(|| pair.public().verify(&msgs, &sig).expect("verify"))
        });
        g.bench_with_input(BenchmarkId::new("prove-half", n), &n, |b, _| {
            b.iter(|| {
                create_proof(pair.public(), &sig, &msgs, &revealed, b"nonce", &mut OsRng)
                    .expect("proof")
            })
        });
        g.bench_with_input(BenchmarkId::new("verify-proof-half", n), &n, |b, _| {
            b.iter(|| {
                verify_proof(pair.public(), &proof, &disclosed, b"nonce").expect("verify proof")
            })
        });
        g.finish();

        let oracle_pk = oracle_dpk.to_public_key(n).expect("pk");
        let hashed: Vec<SignatureMessage> = msgs.iter().map(SignatureMessage::hash).collect();
        let oracle_sig = OracleSignature::new(&hashed, &oracle_sk, &oracle_pk).expect("sign");
        let mut g = c.benchmark_group("bbs-0.4.1");
        g.bench_with_input(BenchmarkId::new("sign", n), &n, |b, _| {
            b.iter(|| OracleSignature::new(&hashed, &oracle_sk, &oracle_pk).expect("sign"))
        });
        g.bench_with_input(BenchmarkId::new("verify", n), &n, |b, _| {
            b.iter(|| oracle_sig.verify(&hashed, &oracle_pk).expect("verify"))
        });
        g.finish();
    }
}

/// Batch verification: 16 signatures (3 messages, one key), per batch, against 16 single checks.
fn batch_benches(c: &mut Criterion) {
    let pair = KeyPair::new(SecretKey::from_seed(b"bench").expect("seed"));
    let signed: Vec<(Vec<Message>, Signature)> = (0..16)
        .map(|i| {
            let msgs = Message::hash_all(
                &messages(3)
                    .iter()
                    .map(|m| format!("{m} {i}"))
                    .collect::<Vec<_>>(),
            );
            let sig = pair.sign_messages(&msgs, &mut OsRng).expect("sign");
            (msgs, sig)
        })
        .collect();
    let items: Vec<BatchItem<'_>> = signed
        .iter()
        .map(|(m, s)| (pair.public(), m.as_slice(), s))
        .collect();
    let mut g = c.benchmark_group("zcred-bbs-batch");
    g.bench_function("verify-16-one-by-one", |b| {
        b.iter(|| {
            for (m, s) in &signed {
                pair.public().verify_messages(m, s).expect("verify");
            }
        })
    });
    g.bench_function("verify-16-batched", |b| {
        b.iter(|| verify_batch(&items, &mut OsRng).expect("verify"))
    });
    g.finish();
}

fn ed25519_benches(c: &mut Criterion) {
    let key = SigningKey::from_seed(&[7; 32]);
    let vk = key.verifying_key();
    let msg = vec![0x5au8; 512];
    let sig = key.sign(&msg);
    c.bench_function("ed25519/sign-512B", |b| b.iter(|| key.sign(&msg)));
    c.bench_function("ed25519/verify-512B", |b| {
        b.iter(|| vk.verify(&msg, &sig).expect("verify"))
    });
}

criterion_group!(benches, bbs_benches, batch_benches, ed25519_benches);
criterion_main!(benches);
