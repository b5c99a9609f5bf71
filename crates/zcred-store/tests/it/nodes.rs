//! Two journals over one store, as two nodes over one database: each sees what the other
//! wrote at once, writes built on a stale head are rebuilt on the fresh one (never refused as
//! a race the caller did not cause), a rotation on one is in force on the other, and the log
//! they write together audits clean. An altered row or a stray event fails the audit, named.

use zcred_crypto::zetrix::SigningKey;
use zcred_ledger::flows::{self, Controller};
use zcred_ledger::verify::{Options, Status};
use zcred_ledger::{Ledger, Message, Said};
use zcred_store::{
    audit, verify_tail, Append, AuditError, Journal, JournalError, LedgerStore, MemoryStore,
    NewEvent, StateUpdate, Write,
};

fn key(n: u8) -> SigningKey {
    SigningKey::from_seed(&[n; 32])
}

/// The agent of `flows::onboard((key(1), key(2)), (key(3), key(4)), …)` at its state in
/// `ledger`.
fn agent_at(ledger: &Ledger, agent: &str) -> Controller {
    let state = ledger.key_state(agent).expect("the agent's KEL is loaded");
    Controller::resume(state, key(3), key(4)).expect("the agent's keys are in force")
}

/// Issues `cred` through `journal`, the anchor built on the agent's head as the store holds it.
async fn issue(journal: &Journal<MemoryStore>, agent: &str, registry: &Said, cred: &Said) {
    let dt = time::macros::datetime!(2026-03-01 12:00 UTC);
    journal
        .write_with(&[agent.to_owned()], None, |ledger| {
            let (ixn, tel) = agent_at(ledger, agent)
                .anchor(flows::issuance(cred, registry, dt).unwrap())
                .unwrap();
            Ok::<_, ()>((
                Write {
                    messages: vec![ixn, tel],
                    ..Write::default()
                },
                (),
            ))
        })
        .await
        .unwrap()
        .unwrap();
}

fn quiet() -> impl FnMut(u64, u64, u64) + Send {
    |_, _, _| {}
}

#[tokio::test]
async fn two_journals_on_one_store_give_the_same_answers() {
    let store = MemoryStore::new();
    let a = Journal::new(store.clone(), Options::default());
    let b = Journal::new(store.clone(), Options::default());
    let mut o = flows::onboard((key(1), key(2)), (key(3), key(4)), &[7; 16]).unwrap();
    a.submit(&o.messages).await.unwrap();
    let agent = o.agent.prefix().to_string();
    let issuer = o.issuer.prefix().to_string();

    // Onboarded on A, known on B at once.
    assert_eq!(
        b.delegates(&issuer).await.unwrap(),
        std::slice::from_ref(&agent)
    );
    assert_eq!(
        b.registries_of(&agent).await.unwrap(),
        [o.registry.to_string()]
    );

    // Issued on A, then on B: B builds on the head A left, so neither is refused.
    let x = Said::digest(b"credential x");
    let y = Said::digest(b"credential y");
    issue(&a, &agent, &o.registry, &x).await;
    issue(&b, &agent, &o.registry, &y).await;
    let head = a.key_state(&agent).await.unwrap().unwrap();
    assert_eq!(head.sn, 3, "ixn of the registry, then one per issuance");

    // Revoked on A: B reports it revoked at once.
    let iss = a
        .credential(o.registry.as_str(), x.as_str())
        .await
        .unwrap()
        .unwrap()
        .issued
        .said;
    let rev = flows::revocation(&x, &o.registry, &iss, time::OffsetDateTime::now_utc()).unwrap();
    let (sn, said) = o.issuer.establishment();
    let said = said.clone();
    let signature = o.issuer.sign(rev.raw());
    let endorsement = flows::endorsement(o.issuer.prefix(), sn, &said, signature);
    a.write_with(&[agent.clone(), issuer.clone()], None, |ledger| {
        let (ixn, mut tel) = agent_at(ledger, &agent).anchor(rev.clone()).unwrap();
        tel.attachments.endorsements.push(endorsement.clone());
        Ok::<_, ()>((
            Write {
                messages: vec![ixn, tel],
                ..Write::default()
            },
            (),
        ))
    })
    .await
    .unwrap()
    .unwrap();
    let seen = b
        .credential(o.registry.as_str(), x.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.status, Status::Revoked);

    // The issuer rotates on A; a revocation endorsed with its rotated-out key is refused on B.
    let rot = o.issuer.rotate(key(9)).unwrap();
    a.submit(&[rot]).await.unwrap();
    assert_eq!(
        b.key_state(&issuer).await.unwrap().unwrap().last_est_sn,
        o.issuer.establishment().0
    );
    let iss_y = b
        .credential(o.registry.as_str(), y.as_str())
        .await
        .unwrap()
        .unwrap()
        .issued
        .said;
    let rev_y =
        flows::revocation(&y, &o.registry, &iss_y, time::OffsetDateTime::now_utc()).unwrap();
    let stale_endorsement =
        flows::endorsement(o.issuer.prefix(), sn, &said, key(1).sign(rev_y.raw()));
    let refused = b
        .write_with(&[agent.clone(), issuer.clone()], None, |ledger| {
            let (ixn, mut tel) = agent_at(ledger, &agent).anchor(rev_y.clone()).unwrap();
            tel.attachments.endorsements.push(stale_endorsement.clone());
            Ok::<_, ()>((
                Write {
                    messages: vec![ixn, tel],
                    ..Write::default()
                },
                (),
            ))
        })
        .await
        .unwrap_err();
    assert!(
        matches!(refused, JournalError::Invalid { index: 1, .. }),
        "{refused}"
    );
    assert_eq!(
        b.credential(o.registry.as_str(), y.as_str())
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Issued
    );

    // Together they wrote a log that audits clean, and the tail check agrees.
    let report = audit(&store, Options::default(), &mut quiet())
        .await
        .unwrap();
    assert_eq!(report.events, store.last_ordinal().await.unwrap());
    verify_tail(&store, Options::default(), &mut quiet())
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_anchors_through_two_journals_all_land() {
    let store = MemoryStore::new();
    let journals = [
        std::sync::Arc::new(Journal::new(store.clone(), Options::default())),
        std::sync::Arc::new(Journal::new(store.clone(), Options::default())),
    ];
    let o = flows::onboard((key(1), key(2)), (key(3), key(4)), &[8; 16]).unwrap();
    journals[0].submit(&o.messages).await.unwrap();
    let agent = o.agent.prefix().to_string();
    let mut tasks = Vec::new();
    for client in 0..8u8 {
        let journal = journals[usize::from(client % 2)].clone();
        let (agent, registry) = (agent.clone(), o.registry.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..10u8 {
                let cred = Said::digest(&[client, n]);
                issue(&journal, &agent, &registry, &cred).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let head = journals[1].key_state(&agent).await.unwrap().unwrap();
    assert_eq!(head.sn, 1 + 80, "every anchor landed, each on its own sn");
    let report = audit(&store, Options::default(), &mut quiet())
        .await
        .unwrap();
    assert_eq!(report.credential_events, 80);
}

#[tokio::test]
async fn the_audit_names_an_altered_row_and_a_stray_event() {
    let store = MemoryStore::new();
    let journal = Journal::new(store.clone(), Options::default());
    let o = flows::onboard((key(1), key(2)), (key(3), key(4)), &[9; 16]).unwrap();
    journal.submit(&o.messages).await.unwrap();
    let agent = o.agent.prefix().to_string();
    let cred = Said::digest(b"z");
    issue(&journal, &agent, &o.registry, &cred).await;
    audit(&store, Options::default(), &mut quiet())
        .await
        .unwrap();

    // A credential row flipped to revoked without a revocation event.
    let row_key = format!("credential/{}/{cred}", o.registry);
    let row = store.state(&row_key).await.unwrap().unwrap();
    let altered = row.replace("\"issued\",", "\"revoked\",");
    assert_ne!(row, altered);
    store
        .append(Append {
            states: vec![StateUpdate {
                key: row_key.clone(),
                value: altered,
            }],
            ..Append::default()
        })
        .await
        .unwrap();
    match audit(&store, Options::default(), &mut quiet()).await {
        Err(AuditError::Row { key: named, .. }) => assert_eq!(named, row_key),
        other => panic!("the altered row passed: {other:?}"),
    }
    store
        .append(Append {
            states: vec![StateUpdate {
                key: row_key,
                value: row,
            }],
            ..Append::default()
        })
        .await
        .unwrap();

    // An event put into the store past the journal: an agent ixn signed by another key.
    let state = journal.key_state(&agent).await.unwrap().unwrap();
    let mut forger = Controller::resume(&state, key(3), key(4)).unwrap();
    let forged: Message = forger.interact(&[]).unwrap();
    let mut forged = forged;
    forged.attachments.sigs[0].signature = key(5).sign(forged.raw());
    store
        .append(Append {
            events: vec![NewEvent::from_message(&forged).unwrap()],
            ..Append::default()
        })
        .await
        .unwrap();
    let last = store.last_ordinal().await.unwrap();
    match audit(&store, Options::default(), &mut quiet()).await {
        Err(AuditError::Invalid { ordinal, .. }) => assert_eq!(ordinal, last),
        other => panic!("the forged event passed: {other:?}"),
    }
    // The tail check from the verified point finds it too.
    match verify_tail(&store, Options::default(), &mut quiet()).await {
        Err(AuditError::Invalid { ordinal, .. }) => assert_eq!(ordinal, last),
        other => panic!("the forged event passed the tail check: {other:?}"),
    }
}
