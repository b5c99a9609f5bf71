//! The cost of checking one credential's status does not grow with the log.
//!
//! `status/verify/N`: [`Ledger::verify_status`] of one credential in a ledger holding N issued
//! credentials (each anchored by its own agent `ixn`, so the agent KEL is N+1 events long):
//! it re-parses the TEL events and their anchoring events, recomputes their SAIDs, checks the
//! seals and verifies the anchoring signatures with the keys in force at their sequence number.
//! `stream/verify/1000`: a whole 2,000-event stream verified from its text (per-event cost).
//!
//! `cargo bench -p zcred-ledger --bench status -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use zcred_crypto::zetrix::SigningKey;
use zcred_ledger::flows;
use zcred_ledger::verify::{verify_stream, Ledger, Options, Outcome};
use zcred_ledger::{Message, Said};

fn key(n: u8) -> SigningKey {
    SigningKey::from_seed(&[n; 32])
}

/// The messages of an issuer, its agent, a registry and `n` issued credentials (every tenth
/// revoked), the registry id, and the SAID of a credential in the middle.
fn log(n: usize) -> (Vec<Message>, Said, Said) {
    let flows::Onboarded {
        mut messages,
        mut agent,
        registry,
        ..
    } = flows::onboard((key(1), key(2)), (key(3), key(4)), &[5; 16]).expect("onboarding");
    let dt = time::OffsetDateTime::UNIX_EPOCH;
    let mut middle = None;
    for i in 0..n {
        let cred = Said::digest(format!("credential {i}").as_bytes());
        let iss = flows::issuance(&cred, &registry, dt).expect("iss");
        let iss_said = iss.said().clone();
        let (ixn, tel) = agent.anchor(iss).expect("anchor");
        messages.push(ixn);
        messages.push(tel);
        if i % 10 == 9 {
            let rev = flows::revocation(&cred, &registry, &iss_said, dt).expect("rev");
            let (ixn, tel) = agent.anchor(rev).expect("anchor");
            messages.push(ixn);
            messages.push(tel);
        }
        if i == n / 2 {
            middle = Some(cred);
        }
    }
    (messages, registry, middle.expect("n > 0"))
}

fn ledger_of(messages: &[Message]) -> Ledger {
    let mut ledger = Ledger::new(Options::default());
    for m in messages {
        assert_eq!(ledger.process(m), Ok(Outcome::Accepted));
    }
    ledger
}

fn status(c: &mut Criterion) {
    let mut group = c.benchmark_group("status/verify");
    for n in [10usize, 1_000, 100_000] {
        let (messages, registry, cred) = log(n);
        let ledger = ledger_of(&messages);
        drop(messages);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                black_box(
                    ledger
                        .verify_status(registry.as_str(), cred.as_str())
                        .expect("status"),
                )
            })
        });
    }
    group.finish();
}

fn stream(c: &mut Criterion) {
    let (messages, _, _) = log(1_000);
    let text: String = messages.iter().map(Message::to_text).collect();
    let mut group = c.benchmark_group("stream/verify");
    group.sample_size(10);
    group.bench_function(BenchmarkId::from_parameter(messages.len()), |b| {
        b.iter(|| black_box(verify_stream(text.as_bytes(), Options::default()).expect("verifies")))
    });
    group.finish();
}

criterion_group!(benches, status, stream);
criterion_main!(benches);
