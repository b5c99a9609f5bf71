//! Property test: random logs recorded through the journal, exported from the store, and
//! verified offline give back every state; so does replaying the store.

use std::collections::BTreeMap;

use proptest::prelude::*;
use zcred_crypto::zetrix::SigningKey;
use zcred_ledger::flows;
use zcred_ledger::verify::{verify_stream, Options, Status};
use zcred_ledger::Said;
use zcred_store::{export, replay, Journal, MemoryStore};

#[derive(Debug, Clone)]
enum Op {
    Issue,
    Revoke(usize),
    RotateIssuer,
    RotateAgent,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => Just(Op::Issue),
        3 => any::<usize>().prop_map(Op::Revoke),
        1 => Just(Op::RotateIssuer),
        1 => Just(Op::RotateAgent),
    ]
}

async fn run(seed: u8, ops: Vec<Op>) {
    let key = |n: u8| SigningKey::from_seed(&[seed, n].repeat(16).try_into().unwrap());
    let journal = Journal::new(MemoryStore::new(), Options::default());
    let mut o = flows::onboard((key(1), key(2)), (key(3), key(4)), &[seed; 16]).unwrap();
    journal.submit(&o.messages).await.unwrap();
    let mut next_key = 10u8;
    let mut fresh = || {
        next_key += 1;
        key(next_key)
    };
    let dt = time::OffsetDateTime::UNIX_EPOCH;
    let mut issued: Vec<(Said, Said)> = Vec::new();
    let mut expected = BTreeMap::new();
    for (n, op) in ops.into_iter().enumerate() {
        match op {
            Op::Issue => {
                let cred = Said::digest(format!("{seed} {n}").as_bytes());
                let iss = flows::issuance(&cred, &o.registry, dt).unwrap();
                issued.push((cred.clone(), iss.said().clone()));
                let (ixn, tel) = o.agent.anchor(iss).unwrap();
                journal.submit(&[ixn, tel]).await.unwrap();
                expected.insert(cred.to_string(), Status::Issued);
            }
            Op::Revoke(k) if !issued.is_empty() => {
                let (cred, iss) = issued.remove(k % issued.len());
                let rev = flows::revocation(&cred, &o.registry, &iss, dt).unwrap();
                let (sn, said) = o.issuer.establishment();
                let group =
                    flows::endorsement(o.issuer.prefix(), sn, said, o.issuer.sign(rev.raw()));
                let (ixn, mut tel) = o.agent.anchor(rev).unwrap();
                tel.attachments.endorsements.push(group);
                journal.submit(&[ixn, tel]).await.unwrap();
                expected.insert(cred.to_string(), Status::Revoked);
            }
            Op::Revoke(_) => {}
            Op::RotateIssuer => {
                let rot = o.issuer.rotate(fresh()).unwrap();
                journal.submit(&[rot]).await.unwrap();
            }
            Op::RotateAgent => {
                let drt = o.agent.rotate(fresh()).unwrap();
                let drt = drt.as_event().unwrap().clone();
                let approval = o.issuer.interact(&[drt.seal().to_map()]).unwrap();
                let drt = o.agent.approved(drt, approval.as_event().unwrap());
                journal.submit(&[approval, drt]).await.unwrap();
            }
        }
    }
    let mut stream = Vec::new();
    export(journal.store(), &mut stream).await.unwrap();
    let exported = verify_stream(&stream, Options::default()).unwrap();
    let replayed = replay(journal.store(), Options::default()).await.unwrap();
    let registry = o.registry.as_str();
    assert_eq!(exported.credentials().count(), expected.len());
    for (cred, status) in &expected {
        assert_eq!(exported.credential(registry, cred).unwrap().status, *status);
        assert_eq!(
            replayed.credential(registry, cred),
            exported.credential(registry, cred)
        );
    }
    for prefix in [o.issuer.prefix(), o.agent.prefix()] {
        let state = exported.key_state(prefix.as_str()).unwrap();
        assert_eq!(Some(state), replayed.key_state(prefix.as_str()));
        assert_eq!(
            state.sn,
            if prefix == o.issuer.prefix() {
                o.issuer.sn()
            } else {
                o.agent.sn()
            }
        );
        // The rows the journal wrote are the fold of the events.
        let kel = journal.kel(prefix.as_str()).await.unwrap().unwrap();
        assert_eq!(kel, replayed.kel_row(prefix.as_str()).unwrap());
    }

    // The audit re-verifies every event and finds every row equal to its fold; the tail check
    // from nothing does the same and records the verified point, after which the tail is empty.
    let events = zcred_store::export(journal.store(), &mut Vec::new())
        .await
        .unwrap();
    let report = zcred_store::audit(journal.store(), Options::default(), &mut |_, _, _| {})
        .await
        .unwrap();
    assert_eq!(report.events, events);
    assert_eq!(report.moved, 0);
    let tail = zcred_store::verify_tail(journal.store(), Options::default(), &mut |_, _, _| {})
        .await
        .unwrap();
    assert_eq!(tail.events, events);
    let again = zcred_store::verify_tail(journal.store(), Options::default(), &mut |_, _, _| {})
        .await
        .unwrap();
    assert_eq!(again.events, 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn journal_export_verifies_to_the_same_states(
        seed in any::<u8>(),
        ops in proptest::collection::vec(op(), 0..24),
    ) {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(run(seed, ops));
    }
}
