//! The conformance story on a SQLite file, durability across reopening, the append-only
//! triggers, and the writer thread: group commit, isolation of the writes of one group, close.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use zcred_store::{
    Append, Expectation, LedgerStore, NewEvent, SealedKeyStore, StateUpdate, StoreError,
};
use zcred_store_sqlite::SqliteStore;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zcred-sqlite-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn sqlite_store_passes_the_conformance_story() {
    let dir = temp_dir("story");
    let store = SqliteStore::open_dir(&dir).await.unwrap();
    zcred_store::conformance::run(&store, "sqlite").await;
    zcred_store::conformance::run_access(&store, "sqlite").await;
    zcred_store::conformance::run_blobs(&store, "sqlite").await;
    zcred_store::conformance::run_sealed(&store, "sqlite").await;
    zcred_store::conformance::run_rates(&store, "sqlite").await;
    zcred_store::conformance::run_blob_steps(&store, "sqlite").await;
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn two_handles_on_one_file_pass_the_nodes_story() {
    let dir = temp_dir("nodes");
    let a = SqliteStore::open_dir(&dir).await.unwrap();
    let b = SqliteStore::open_dir(&dir).await.unwrap();
    zcred_store::conformance::run_nodes(a.clone(), b.clone(), "sqlite").await;
    a.close().await;
    b.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn events_survive_reopening_and_cannot_be_rewritten() {
    let dir = temp_dir("reopen");
    let store = SqliteStore::open_dir(&dir).await.unwrap();
    let event = NewEvent {
        prefix: "Eprefix".into(),
        sn: 0,
        ilk: "icp".into(),
        said: "Esaid".into(),
        message: "{}".into(),
    };
    store
        .append(Append {
            events: vec![event.clone()],
            states: vec![],
            consume_blob: None,
            expect: vec![],
        })
        .await
        .unwrap();
    store.close().await;

    // Reopening applies no migration twice and finds the event.
    let store = SqliteStore::open_dir(&dir).await.unwrap();
    assert_eq!(
        store.event("Eprefix", 0).await.unwrap().unwrap().event,
        event
    );

    // The log is append-only, even to SQL run past the store.
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let err = conn
        .execute("UPDATE events SET said = 'Eother'", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = conn.execute("DELETE FROM events", []).unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    drop(conn);
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn opening_a_missing_file_without_create_is_an_error() {
    let dir = temp_dir("missing");
    let err = SqliteStore::open(&dir.join("nope.db"), false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot open"), "{err}");
}

fn event(prefix: &str, sn: u64) -> NewEvent {
    NewEvent {
        prefix: prefix.to_owned(),
        sn,
        ilk: "icp".into(),
        said: format!("E{prefix}-{sn}"),
        message: format!("{{\"i\":\"{prefix}\",\"s\":\"{sn:x}\"}}"),
    }
}

fn state(key: &str, value: &str) -> StateUpdate {
    StateUpdate {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

fn expect(key: &str, value: Option<&str>) -> Expectation {
    Expectation {
        key: key.to_owned(),
        value: value.map(str::to_owned),
    }
}

fn wal(store: &SqliteStore) -> PathBuf {
    let mut name = store.path().as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Frames in the write-ahead log (nothing here checkpoints it while it is measured).
fn wal_frames(path: &Path, page_size: u64) -> u64 {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    len.saturating_sub(32) / (page_size + 24)
}

/// Holds SQLite's write lock from a connection of its own, so that the store's writer waits
/// (its busy timeout is 10 s) and the writes sent meanwhile queue up behind it.
fn hold_write_lock(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

fn release_write_lock(conn: rusqlite::Connection) {
    conn.execute_batch("COMMIT").unwrap();
    drop(conn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_all_commit_with_unique_ordinals() {
    let dir = temp_dir("concurrent");
    let store = SqliteStore::open_dir(&dir).await.unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append(Append {
                        events: vec![event(&format!("Econc{i}"), 0)],
                        states: vec![state(&format!("conc/{i}"), &i.to_string())],
                        ..Append::default()
                    })
                    .await
            })
        })
        .collect();
    let mut ordinals = HashSet::new();
    for task in tasks {
        let got = task.await.unwrap().unwrap();
        assert_eq!(got.len(), 1);
        assert!(ordinals.insert(got[0]), "ordinal {} given twice", got[0]);
    }
    assert_eq!(ordinals.len(), 64);
    let stored = store.events_after(0, 1000).await.unwrap();
    assert_eq!(stored.len(), 64, "every acknowledged append is stored");
    let stored_ordinals: HashSet<u64> = stored.iter().map(|e| e.ordinal).collect();
    assert_eq!(stored_ordinals, ordinals);
    let prefixes: HashSet<String> = stored.iter().map(|e| e.event.prefix.clone()).collect();
    assert_eq!(prefixes, (0..64).map(|i| format!("Econc{i}")).collect());
    for i in 0..64 {
        assert_eq!(
            store.state(&format!("conc/{i}")).await.unwrap(),
            Some(i.to_string())
        );
    }
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn writes_queued_together_are_committed_together() {
    let dir = temp_dir("group");
    let store = SqliteStore::open_dir(&dir).await.unwrap();
    let page_size: u64 = rusqlite::Connection::open(store.path())
        .unwrap()
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .unwrap();
    let lock = hold_write_lock(store.path());
    let before = wal_frames(&wal(&store), page_size);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append(Append {
                        events: vec![event(&format!("Egroup{i}"), 0)],
                        states: vec![state(&format!("group/{i}"), "x")],
                        ..Append::default()
                    })
                    .await
            })
        })
        .collect();
    // Every task sends its write while the writer waits for the lock.
    tokio::time::sleep(Duration::from_millis(300)).await;
    release_write_lock(lock);
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.events_after(0, 1000).await.unwrap().len(), 64);
    // A commit per append writes at least three pages (the table and its two indexes) each;
    // a group writes each page it touched once.
    let written = wal_frames(&wal(&store), page_size) - before;
    assert!(
        written < 64,
        "64 queued appends wrote {written} pages to the log: not committed together"
    );
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_refused_write_leaves_the_rest_of_its_group_untouched() {
    let dir = temp_dir("isolation");
    let store = SqliteStore::open_dir(&dir).await.unwrap();
    store
        .append(Append {
            events: vec![event("Etaken", 0)],
            states: vec![state("iso/held", "yes")],
            ..Append::default()
        })
        .await
        .unwrap();
    store.put_sealed("iso/sealed", b"one").await.unwrap();

    let lock = hold_write_lock(store.path());
    let mut tasks = Vec::new();
    for round in 0..4 {
        let cases = [
            // (name, append, should succeed)
            (
                format!("good-{round}"),
                Append {
                    events: vec![event(&format!("Egood{round}"), 0)],
                    states: vec![state(&format!("iso/good-{round}"), "1")],
                    ..Append::default()
                },
                true,
            ),
            (
                format!("stale-{round}"),
                Append {
                    events: vec![event(&format!("Estale{round}"), 0)],
                    states: vec![state(&format!("iso/stale-{round}"), "1")],
                    expect: vec![expect("iso/held", Some("no"))],
                    ..Append::default()
                },
                false,
            ),
            (
                format!("taken-{round}"),
                Append {
                    // Its first event is inserted before the second one conflicts.
                    events: vec![event(&format!("Etaken{round}"), 0), event("Etaken", 0)],
                    states: vec![state(&format!("iso/taken-{round}"), "1")],
                    ..Append::default()
                },
                false,
            ),
            (
                format!("expected-{round}"),
                Append {
                    events: vec![event(&format!("Eexpected{round}"), 0)],
                    states: vec![state(&format!("iso/expected-{round}"), "1")],
                    expect: vec![
                        expect("iso/held", Some("yes")),
                        expect(&format!("iso/expected-{round}"), None),
                    ],
                    ..Append::default()
                },
                true,
            ),
            (
                format!("blob-{round}"),
                Append {
                    events: vec![event(&format!("Eblob{round}"), 0)],
                    states: vec![state(&format!("iso/blob-{round}"), "1")],
                    consume_blob: Some("no such blob".into()),
                    ..Append::default()
                },
                false,
            ),
        ];
        for (name, append, good) in cases {
            let store = store.clone();
            tasks.push((
                name,
                good,
                tokio::spawn(async move { store.append(append).await.map(|_| ()) }),
            ));
        }
        let store = store.clone();
        tasks.push((
            format!("sealed-{round}"),
            false,
            tokio::spawn(async move { store.put_sealed("iso/sealed", b"two").await }),
        ));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    release_write_lock(lock);

    for (name, good, task) in tasks {
        let result = task.await.unwrap();
        let kind = name.split('-').next().unwrap();
        let round = name.rsplit('-').next().unwrap();
        if good {
            assert_eq!(result, Ok(()), "{name}");
            assert_eq!(
                store
                    .state(&format!("iso/{name}"))
                    .await
                    .unwrap()
                    .as_deref(),
                Some("1"),
                "{name}"
            );
        } else {
            assert!(
                matches!(result, Err(StoreError::Conflict(_))),
                "{name}: {result:?}"
            );
            assert_eq!(store.state(&format!("iso/{name}")).await.unwrap(), None);
            if kind != "sealed" {
                assert_eq!(
                    store.log(&format!("E{kind}{round}")).await.unwrap(),
                    vec![],
                    "{name} wrote no event"
                );
            }
        }
    }
    assert_eq!(
        store.sealed("iso/sealed").await.unwrap().as_deref(),
        Some(&b"one"[..])
    );
    let stored: Vec<String> = store
        .events_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.prefix)
        .collect();
    assert_eq!(stored.len(), 1 + 4 * 2, "{stored:?}");
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn close_finishes_queued_writes_and_refuses_new_ones() {
    let dir = temp_dir("close");
    let store = SqliteStore::open_dir(&dir).await.unwrap();
    let wal = wal(&store);
    let lock = hold_write_lock(store.path());
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append(Append {
                        events: vec![event(&format!("Equeued{i}"), 0)],
                        ..Append::default()
                    })
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let closing = {
        let store = store.clone();
        tokio::spawn(async move { store.close().await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!closing.is_finished(), "close waits for the queued writes");
    let late = Append {
        events: vec![event("Elate", 0)],
        ..Append::default()
    };
    let refused = tokio::time::timeout(Duration::from_secs(5), store.append(late.clone()))
        .await
        .expect("a write while closing is answered at once");
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    release_write_lock(lock);
    tokio::time::timeout(Duration::from_secs(30), closing)
        .await
        .expect("close returns once the queued writes are done")
        .unwrap();
    for task in tasks {
        task.await.unwrap().unwrap();
    }

    // Closed: writes and reads fail, at once and without panicking.
    let err = tokio::time::timeout(Duration::from_secs(5), store.append(late.clone()))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(store.state("anything").await.is_err());
    store.close().await; // twice is harmless
    assert!(!wal.exists(), "the last connection checkpointed the WAL");

    let store = SqliteStore::open_dir(&dir).await.unwrap();
    let stored: Vec<String> = store
        .events_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.prefix)
        .collect();
    let mut expected: Vec<String> = (0..8).map(|i| format!("Equeued{i}")).collect();
    let mut sorted = stored.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(
        sorted, expected,
        "the queued writes were committed, the late one was not"
    );
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn dropping_every_clone_stops_the_writer() {
    let dir = temp_dir("drop");
    let store = SqliteStore::open_dir(&dir).await.unwrap();
    let wal = wal(&store);
    let clone = store.clone();
    store
        .append(Append {
            events: vec![event("Edropped", 0)],
            ..Append::default()
        })
        .await
        .unwrap();
    assert!(clone.event("Edropped", 0).await.unwrap().is_some());
    assert!(wal.exists());
    drop(store);
    drop(clone);
    // The writer thread ends and closes the last connection, which removes the WAL.
    let mut waited = Duration::ZERO;
    while wal.exists() {
        assert!(
            waited < Duration::from_secs(10),
            "the writer kept its connection open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    let store = SqliteStore::open_dir(&dir).await.unwrap();
    assert!(store.event("Edropped", 0).await.unwrap().is_some());
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
