//! The journal records only verified events, with their state rows, and its export verifies.

use zcred_crypto::zetrix::SigningKey;
use zcred_ledger::flows::{self, Controller};
use zcred_ledger::verify::{verify_stream, Options, Status};
use zcred_ledger::{Message, Said};
use zcred_store::{export, replay, Journal, JournalError, LedgerStore, MemoryStore};

fn key(n: u8) -> SigningKey {
    SigningKey::from_seed(&[n; 32])
}

/// Issuer icp, agent dip approved, registry; returns the messages, the controllers and the
/// registry id.
fn onboard() -> (Vec<Message>, Controller, Controller, Said) {
    let o = flows::onboard((key(1), key(2)), (key(3), key(4)), &[9; 16]).unwrap();
    (o.messages, o.issuer, o.agent, o.registry)
}

#[tokio::test]
async fn journal_records_verifies_exports_and_replays() {
    let journal = Journal::new(MemoryStore::new(), Options::default());
    let (messages, issuer, mut agent, registry) = onboard();
    let ordinals = journal.submit(&messages).await.unwrap();
    assert_eq!(ordinals, [1, 2, 3, 4, 5]);

    let dt = time::macros::datetime!(2026-03-01 12:00 UTC);
    let a = Said::digest(b"credential a");
    let b = Said::digest(b"credential b");
    let iss_a = flows::issuance(&a, &registry, dt).unwrap();
    let iss_a_said = iss_a.said().clone();
    let (ixn1, tel1) = agent.anchor(iss_a).unwrap();
    let (ixn2, tel2) = agent
        .anchor(flows::issuance(&b, &registry, dt).unwrap())
        .unwrap();
    journal.submit(&[ixn1, tel1, ixn2, tel2]).await.unwrap();
    let rev = flows::revocation(&a, &registry, &iss_a_said, dt).unwrap();
    let (sn, said) = issuer.establishment();
    let group = flows::endorsement(issuer.prefix(), sn, said, issuer.sign(rev.raw()));
    let (ixn3, mut tel3) = agent.anchor(rev).unwrap();
    tel3.attachments.endorsements.push(group);
    journal.submit(&[ixn3.clone(), tel3.clone()]).await.unwrap();

    // The state rows were written with the events.
    let row = journal
        .store()
        .state(&format!("credential/{registry}/{a}"))
        .await
        .unwrap()
        .unwrap();
    let row: serde_json::Value = serde_json::from_str(&row).unwrap();
    assert_eq!(row["status"], "revoked");
    assert_eq!(row["revoked"]["endorsers"][0], issuer.prefix().as_str());
    let kel = journal
        .store()
        .state(&format!("kel/{}", agent.prefix()))
        .await
        .unwrap()
        .unwrap();
    assert!(kel.contains(&format!("\"sn\":{}", agent.sn())), "{kel}");

    // Submitting the same events again records nothing new.
    assert_eq!(
        journal.submit(&[ixn3, tel3]).await.unwrap(),
        Vec::<u64>::new()
    );

    // The export is a stream any verifier can check offline, with every state right.
    let mut stream = Vec::new();
    assert_eq!(export(journal.store(), &mut stream).await.unwrap(), 11);
    let ledger = verify_stream(&stream, Options::default()).unwrap();
    assert_eq!(
        ledger
            .credential(registry.as_str(), a.as_str())
            .unwrap()
            .status,
        Status::Revoked
    );
    assert_eq!(
        ledger
            .credential(registry.as_str(), b.as_str())
            .unwrap()
            .status,
        Status::Issued
    );
    assert_eq!(
        ledger.key_state(agent.prefix().as_str()).unwrap().sn,
        agent.sn()
    );

    // And the store replays into the same state.
    let replayed = replay(journal.store(), Options::default()).await.unwrap();
    assert_eq!(
        replayed.credential(registry.as_str(), b.as_str()),
        ledger.credential(registry.as_str(), b.as_str())
    );
}

#[tokio::test]
async fn journal_refuses_invalid_events_and_records_nothing_of_their_write() {
    let journal = Journal::new(MemoryStore::new(), Options::default());
    let (messages, _issuer, mut agent, registry) = onboard();
    journal.submit(&messages).await.unwrap();

    let dt = time::macros::datetime!(2026-03-01 12:00 UTC);
    let c = Said::digest(b"credential c");
    let (ixn, mut tel) = agent
        .anchor(flows::issuance(&c, &registry, dt).unwrap())
        .unwrap();
    // The TEL event names the wrong anchoring event.
    tel.attachments.source_seals[0].0 = 0;
    let err = journal.submit(&[ixn, tel]).await.unwrap_err();
    assert!(
        matches!(err, JournalError::Invalid { index: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("anchor"), "{err}");
    // A write is all or nothing: neither the valid ixn before it nor the iss was recorded.
    assert!(journal
        .store()
        .event(agent.prefix().as_str(), agent.sn())
        .await
        .unwrap()
        .is_none());
    assert!(journal
        .store()
        .event(&format!("{registry}/{c}"), 0)
        .await
        .unwrap()
        .is_none());
    assert!(journal
        .credential(registry.as_str(), c.as_str())
        .await
        .unwrap()
        .is_none());

    // A TEL event whose anchor was never recorded is pending, not stored.
    let d = Said::digest(b"credential d");
    let (_, tel) = agent
        .anchor(flows::issuance(&d, &registry, dt).unwrap())
        .unwrap();
    let err = journal.submit(&[tel]).await.unwrap_err();
    assert!(
        matches!(err, JournalError::Pending { index: 0, .. }),
        "{err}"
    );
}
