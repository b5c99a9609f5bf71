//! The story every backend must pass (atuin's `db_story` pattern): run it against a fresh or a
//! shared database; `tag` keeps the identifiers of one run apart from earlier runs'.

use crate::{
    AccessStore, ApiKey, Append, Blob, BlobStore, Expectation, LedgerStore, NewEvent,
    SealedKeyStore, StateUpdate, StoreError,
};

fn event(prefix: &str, sn: u64, ilk: &str) -> NewEvent {
    NewEvent {
        prefix: prefix.to_owned(),
        sn,
        ilk: ilk.to_owned(),
        said: format!("E{prefix}-{sn}"),
        message: format!("{{\"v\":\"…\",\"t\":\"{ilk}\",\"i\":\"{prefix}\",\"s\":\"{sn:x}\"}}-AAB"),
    }
}

fn state(key: &str, value: &str) -> StateUpdate {
    StateUpdate {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

/// Runs the whole story; panics with a message naming the broken promise.
#[allow(clippy::unwrap_used, clippy::panic)]
pub async fn run<S: LedgerStore>(store: &S, tag: &str) {
    let a = format!("Ea{tag}");
    let b = format!("Eb{tag}");
    let key = format!("kel/{a}");

    // Appends give increasing ordinals and write state in the same step.
    let before = last_ordinal(store).await;
    let ords = store
        .append(Append {
            events: vec![
                event(&a, 0, "icp"),
                event(&b, 0, "icp"),
                event(&a, 1, "ixn"),
            ],
            states: vec![state(&key, "{\"sn\":1}")],
            consume_blob: None,
            expect: vec![],
        })
        .await
        .unwrap();
    assert_eq!(ords.len(), 3, "one ordinal per event");
    assert!(
        ords[0] > before && ords[0] < ords[1] && ords[1] < ords[2],
        "ordinals increase: {ords:?}"
    );
    assert_eq!(
        store.state(&key).await.unwrap().as_deref(),
        Some("{\"sn\":1}")
    );

    // Events are found by (prefix, sn), logs come in sn order, and the stream in ordinal order.
    let found = store.event(&a, 1).await.unwrap().expect("event a/1");
    assert_eq!(found.ordinal, ords[2]);
    assert_eq!(found.event, event(&a, 1, "ixn"));
    assert_eq!(store.event(&a, 2).await.unwrap(), None);
    let log: Vec<u64> = store
        .log(&a)
        .await
        .unwrap()
        .iter()
        .map(|e| e.event.sn)
        .collect();
    assert_eq!(log, [0, 1]);
    let page = store.events_after(ords[0], 1).await.unwrap();
    assert_eq!(page.len(), 1, "limit is respected");
    assert_eq!(page[0].ordinal, ords[1]);
    let tail = store.events_after(before, 100_000).await.unwrap();
    let mine: Vec<u64> = tail
        .iter()
        .filter(|e| e.event.prefix == a || e.event.prefix == b)
        .map(|e| e.ordinal)
        .collect();
    assert_eq!(mine, ords, "first-seen order");

    // A taken (prefix, sn) refuses the whole append: no event, no state.
    let err = store
        .append(Append {
            events: vec![event(&b, 1, "ixn"), event(&a, 1, "ixn")],
            states: vec![state(&key, "{\"sn\":99}")],
            consume_blob: None,
            expect: vec![],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.event(&b, 1).await.unwrap(),
        None,
        "nothing of a refused append is written"
    );
    assert_eq!(
        store.state(&key).await.unwrap().as_deref(),
        Some("{\"sn\":1}")
    );

    // Two events at one place in a single append conflict too.
    let err = store
        .append(Append {
            events: vec![event(&b, 1, "ixn"), event(&b, 1, "rot")],
            states: vec![],
            consume_blob: None,
            expect: vec![],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    // Receipts share the place of the event they receipt.
    store
        .append(Append {
            events: vec![event(&a, 1, "rct"), event(&a, 1, "rct")],
            states: vec![state(&key, "{\"sn\":1,\"receipts\":2}")],
            consume_blob: None,
            expect: vec![],
        })
        .await
        .unwrap();
    assert_eq!(store.event(&a, 1).await.unwrap().unwrap().event.ilk, "ixn");
    assert_eq!(
        store.log(&a).await.unwrap().len(),
        2,
        "receipts are not log entries"
    );
    assert_eq!(
        store.state(&key).await.unwrap().as_deref(),
        Some("{\"sn\":1,\"receipts\":2}"),
        "a state write replaces the row"
    );

    // Of two concurrent appends at one place, exactly one wins.
    let (x, y) = tokio::join!(
        store.append(Append {
            events: vec![event(&b, 1, "ixn")],
            states: vec![],
            consume_blob: None,
            expect: vec![],
        }),
        store.append(Append {
            events: vec![event(&b, 1, "rot")],
            states: vec![],
            consume_blob: None,
            expect: vec![],
        }),
    );
    assert!(
        x.is_ok() != y.is_ok(),
        "exactly one of two racing appends wins: {x:?} {y:?}"
    );
    assert!(matches!(x.err().or(y.err()), Some(StoreError::Conflict(_))));
    assert_eq!(store.state("no such key").await.unwrap(), None);

    // Compare-and-set on state rows: a row that must not exist, then one that must hold a
    // value; of two racing transitions from one value, exactly one wins; a failed
    // expectation writes neither events nor states.
    let record = format!("vc/{tag}");
    let cas = |from: Option<&str>, to: &str, sn: u64| Append {
        events: vec![event(&format!("Ecas{tag}"), sn, "icp")],
        states: vec![state(&record, to)],
        consume_blob: None,
        expect: vec![Expectation {
            key: record.clone(),
            value: from.map(str::to_owned),
        }],
    };
    store.append(cas(None, "APPLIED", 0)).await.unwrap();
    assert!(
        matches!(
            store.append(cas(None, "APPLIED", 1)).await,
            Err(StoreError::Conflict(_))
        ),
        "a row expected absent exists"
    );
    let (x, y) = tokio::join!(
        store.append(cas(Some("APPLIED"), "CREATED", 1)),
        store.append(cas(Some("APPLIED"), "CREATED", 2)),
    );
    assert!(
        x.is_ok() != y.is_ok(),
        "exactly one of two racing transitions wins: {x:?} {y:?}"
    );
    assert!(matches!(x.err().or(y.err()), Some(StoreError::Conflict(_))));
    assert_eq!(
        store.state(&record).await.unwrap().as_deref(),
        Some("CREATED")
    );
    assert_eq!(
        store.log(&format!("Ecas{tag}")).await.unwrap().len(),
        2,
        "the losing transitions wrote no events"
    );

    scan(store, tag).await;
}

/// Paging through state rows by prefix, in byte order, not past the prefix.
#[allow(clippy::unwrap_used)]
async fn scan<S: LedgerStore>(store: &S, tag: &str) {
    let prefix = format!("scan{tag}/");
    let keys = [
        format!("{prefix}b"),
        format!("{prefix}a"),
        format!("{prefix}B"),
        format!("{prefix}a/2"),
        format!("scan{tag}0"),
        format!("scan{tag}"),
    ];
    store
        .append(Append {
            events: vec![],
            states: keys.iter().map(|k| state(k, k)).collect(),
            consume_blob: None,
            expect: vec![],
        })
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let page = store.states_after(&prefix, &after, 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = last.0.clone();
        for (k, v) in page {
            assert_eq!(k, v);
            seen.push(k);
        }
    }
    let expected: Vec<String> = ["B", "a", "a/2", "b"]
        .iter()
        .map(|s| format!("{prefix}{s}"))
        .collect();
    assert_eq!(seen, expected, "byte order, only the prefix's rows");
}

async fn last_ordinal<S: LedgerStore>(store: &S) -> u64 {
    let mut after = 0;
    loop {
        let page = store.events_after(after, 10_000).await.unwrap_or_default();
        match page.last() {
            Some(e) => after = e.ordinal,
            None => return after,
        }
    }
}

/// The API-key story: keys are found by hash, a hash is stored once, and unknown hashes are
/// not found.
#[allow(clippy::unwrap_used, clippy::panic)]
pub async fn run_access<S: AccessStore>(store: &S, tag: &str) {
    let key = ApiKey {
        id: format!("id{tag}"),
        hash: format!("{tag:0>64}"),
        plan: "standard".into(),
        issuer: Some(format!("did:zid:{tag}")),
        created: 1_700_000_000,
        disabled: false,
    };
    store.put_api_key(key.clone()).await.unwrap();
    assert_eq!(store.api_key(&key.hash).await.unwrap(), Some(key.clone()));
    let err = store.put_api_key(key.clone()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let unbound = ApiKey {
        hash: format!("{tag:1>64}"),
        issuer: None,
        disabled: true,
        ..key
    };
    store.put_api_key(unbound.clone()).await.unwrap();
    assert_eq!(store.api_key(&unbound.hash).await.unwrap(), Some(unbound));
    assert_eq!(store.api_key(&format!("{tag:2>64}")).await.unwrap(), None);
}

/// The blob story: a blob is found until the append that consumes it commits; a second
/// consumer (even racing) gets a conflict and writes nothing.
#[allow(clippy::unwrap_used, clippy::panic)]
pub async fn run_blobs<S: BlobStore + LedgerStore>(store: &S, tag: &str) {
    let blob = Blob {
        id: format!("B{tag}"),
        kind: "test".into(),
        owner: "key1".into(),
        subject: format!("S{tag}"),
        payload: "{\"raw\":\"00\"}".into(),
        expires: 1_700_000_000_000,
    };
    store.put_blob(blob.clone()).await.unwrap();
    assert_eq!(store.blob(&blob.id).await.unwrap(), Some(blob.clone()));
    assert!(matches!(
        store.put_blob(blob.clone()).await,
        Err(StoreError::Conflict(_))
    ));
    let using = |sn: u64| Append {
        events: vec![event(&format!("Eblob{tag}"), sn, "icp")],
        states: vec![],
        consume_blob: Some(blob.id.clone()),
        expect: vec![],
    };
    let (x, y) = tokio::join!(store.append(using(0)), store.append(using(1)));
    assert!(
        x.is_ok() != y.is_ok(),
        "exactly one use of a blob: {x:?} {y:?}"
    );
    assert_eq!(store.blob(&blob.id).await.unwrap(), None);
    let written = store.log(&format!("Eblob{tag}")).await.unwrap();
    assert_eq!(written.len(), 1, "the losing append wrote nothing");
    assert_eq!(store.blob("no such blob").await.unwrap(), None);

    // One pending blob per kind and subject can be found; expired ones are purged.
    let live = Blob {
        id: format!("L{tag}"),
        expires: 2_000,
        ..blob.clone()
    };
    let old = Blob {
        id: format!("O{tag}"),
        subject: format!("T{tag}"),
        expires: 1_000,
        ..blob
    };
    store.put_blob(live.clone()).await.unwrap();
    store.put_blob(old.clone()).await.unwrap();
    assert_eq!(
        store
            .pending_blob("test", &live.subject, 1_500)
            .await
            .unwrap(),
        Some(live.clone())
    );
    assert_eq!(
        store
            .pending_blob("test", &live.subject, 2_500)
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store
            .pending_blob("other", &live.subject, 1_500)
            .await
            .unwrap(),
        None
    );
    assert!(store.purge_blobs(1_500).await.unwrap() >= 1);
    assert_eq!(
        store.blob(&old.id).await.unwrap(),
        None,
        "expired blobs are purged"
    );
    assert_eq!(store.blob(&live.id).await.unwrap(), Some(live));
}

/// The sealed-key story: bytes come back as stored, a name is written once.
#[allow(clippy::unwrap_used, clippy::panic)]
pub async fn run_sealed<S: SealedKeyStore>(store: &S, tag: &str) {
    let name = format!("agent/{tag}/0");
    let bytes: Vec<u8> = (0..=255).collect();
    store.put_sealed(&name, &bytes).await.unwrap();
    assert_eq!(store.sealed(&name).await.unwrap(), Some(bytes));
    assert!(matches!(
        store.put_sealed(&name, b"other").await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.sealed(&format!("{name}x")).await.unwrap(), None);
}

/// Two nodes on one database: `a` and `b` are two handles on the same (empty) store, as two
/// processes open it. Eight writers, half through each, anchor issuances for one agent at
/// once; every one lands on a sequence number of its own (the loser of each race is rebuilt
/// on the fresh head, never refused), both handles read the same head, and the log audits
/// clean.
#[allow(clippy::unwrap_used, clippy::panic)]
pub async fn run_nodes<S: LedgerStore + crate::BlobStore + 'static>(a: S, b: S, tag: &str) {
    use std::sync::Arc;
    use zcred_crypto::zetrix::SigningKey;
    use zcred_ledger::flows::{self, Controller};
    use zcred_ledger::Said;

    let key = |n: u8| {
        let mut seed = [n; 32];
        seed[..tag.len().min(16)].copy_from_slice(&tag.as_bytes()[..tag.len().min(16)]);
        SigningKey::from_seed(&seed)
    };
    let (agent_current, agent_next) = (key(3).to_zetrix(), key(4).to_zetrix());
    let o = flows::onboard((key(1), key(2)), (key(3), key(4)), &[5; 16]).unwrap();
    let journals = [
        Arc::new(crate::Journal::new(a, zcred_ledger::Options::default())),
        Arc::new(crate::Journal::new(b, zcred_ledger::Options::default())),
    ];
    journals[0].submit(&o.messages).await.unwrap();
    let agent = o.agent.prefix().to_string();
    let mut tasks = Vec::new();
    for writer in 0..8u8 {
        let journal = journals[usize::from(writer % 2)].clone();
        let (agent, registry) = (agent.clone(), o.registry.clone());
        let (current, next) = (agent_current.clone(), agent_next.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..5u8 {
                let cred = Said::digest(&[writer, n]);
                let dt = time::OffsetDateTime::UNIX_EPOCH;
                journal
                    .write_with(std::slice::from_ref(&agent), None, |ledger| {
                        let state = ledger.key_state(&agent).unwrap();
                        let mut controller = Controller::resume(
                            state,
                            SigningKey::from_zetrix(&current).unwrap(),
                            SigningKey::from_zetrix(&next).unwrap(),
                        )
                        .unwrap();
                        let (ixn, tel) = controller
                            .anchor(flows::issuance(&cred, &registry, dt).unwrap())
                            .unwrap();
                        Ok::<_, ()>((
                            crate::Write {
                                messages: vec![ixn, tel],
                                ..crate::Write::default()
                            },
                            (),
                        ))
                    })
                    .await
                    .unwrap_or_else(|e| panic!("an anchor was refused: {e}"))
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let heads = [
        journals[0].key_state(&agent).await.unwrap().unwrap(),
        journals[1].key_state(&agent).await.unwrap().unwrap(),
    ];
    assert_eq!(heads[0], heads[1], "both handles read the same head");
    assert_eq!(
        heads[0].sn,
        1 + 40,
        "every anchor landed on a place of its own"
    );
    let report = crate::audit(
        journals[0].store(),
        zcred_ledger::Options::default(),
        &mut |_, _, _| {},
    )
    .await
    .unwrap_or_else(|e| panic!("the log two nodes wrote does not audit: {e}"));
    assert_eq!(report.credential_events, 40);
}

/// Request rates: a key gets a second's worth of requests at once and then its plan's rate,
/// refused requests are not counted, keys are apart, and full buckets are forgotten.
#[allow(clippy::unwrap_used)]
pub async fn run_rates<S: crate::RateStore>(store: &S, tag: &str) {
    let (key, other) = (format!("rate-{tag}"), format!("rate-other-{tag}"));
    let t0 = 1_700_000_000_000_000; // µs
    for i in 0..5 {
        assert!(
            store.admit(&key, t0 + i, 5).await.unwrap(),
            "request {i} of a burst of 5"
        );
    }
    assert!(
        !store.admit(&key, t0 + 10, 5).await.unwrap(),
        "the 6th at once"
    );
    assert!(
        store.admit(&other, t0 + 10, 5).await.unwrap(),
        "another key is apart"
    );
    // 5 a second: one more every 200 ms, and a refusal takes nothing.
    assert!(!store.admit(&key, t0 + 150_000, 5).await.unwrap());
    assert!(store.admit(&key, t0 + 200_000, 5).await.unwrap());
    assert!(!store.admit(&key, t0 + 200_000, 5).await.unwrap());
    assert!(store.admit(&key, t0 + 400_010, 5).await.unwrap());
    // A second after the last, the bucket is full again.
    for i in 0..5 {
        assert!(store.admit(&key, t0 + 1_500_000 + i, 5).await.unwrap());
    }
    assert!(store.purge_rates(t0 + 10_000_000).await.unwrap() >= 2);
}

/// One blob per step: `put_blob_alone` stores a blob only while no unexpired blob of its kind
/// and subject waits, and gives back the one that waits; eight racing creates get one blob.
#[allow(clippy::unwrap_used)]
pub async fn run_blob_steps<S: BlobStore + Clone + 'static>(store: &S, tag: &str) {
    let now = 1_700_000_000_000;
    let blob = |n: usize, subject: &str, expires: i64| Blob {
        id: format!("STEP{tag}{n}"),
        kind: "step".into(),
        owner: format!("key{n}"),
        subject: subject.to_owned(),
        payload: "{}".into(),
        expires,
    };
    let subject = format!("S{tag}");
    assert_eq!(
        store
            .put_blob_alone(blob(0, &subject, now + 10), now)
            .await
            .unwrap(),
        None
    );
    let waiting = store
        .put_blob_alone(blob(1, &subject, now + 10), now)
        .await
        .unwrap();
    assert_eq!(
        waiting.map(|b| b.id),
        Some(format!("STEP{tag}0")),
        "the waiting one is given back"
    );
    assert_eq!(
        store.blob(&format!("STEP{tag}1")).await.unwrap(),
        None,
        "nothing written"
    );
    // Another subject is apart; an expired blob does not count.
    assert_eq!(
        store
            .put_blob_alone(blob(2, &format!("T{tag}"), now + 10), now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .put_blob_alone(blob(3, &subject, now + 30), now + 20)
            .await
            .unwrap(),
        None
    );
    // Racing creates of one step: exactly one blob.
    let raced = format!("R{tag}");
    let tasks: Vec<_> = (10..18)
        .map(|n| {
            let (store, b) = (store.clone(), blob(n, &raced, now + 10));
            tokio::spawn(async move { store.put_blob_alone(b, now).await.unwrap() })
        })
        .collect();
    let mut stored = 0;
    for t in tasks {
        if t.await.unwrap().is_none() {
            stored += 1;
        }
    }
    assert_eq!(stored, 1, "one of eight racing creates stores its blob");
}
