//! The conformance story on a SQLite file, durability across reopening, and the append-only
//! triggers.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use zcred_store::{Append, LedgerStore, NewEvent};
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
    store.close().await;
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
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", store.path().display()))
        .await
        .unwrap();
    let err = sqlx::query("UPDATE events SET said = 'Eother'")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = sqlx::query("DELETE FROM events")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    pool.close().await;
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
