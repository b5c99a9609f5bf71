//! The conformance story, a journal round trip and the append-only triggers on PostgreSQL
//! (`ZCRED_TEST_DATABASE_URL`). Each test works in a schema of its own, dropped at the end.
//! Without the variable the tests say they skipped; with it, an unreachable database fails them.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use zcred_crypto::zetrix::SigningKey;
use zcred_ledger::flows;
use zcred_ledger::verify::{verify_stream, Options, Status};
use zcred_ledger::Said;
use zcred_store::{Append, Journal, LedgerStore, NewEvent};
use zcred_store_postgres::PostgresStore;

/// A store in a fresh schema, or `None` (printed) when no test database is configured.
async fn store(test: &str) -> Option<(PostgresStore, String)> {
    let Ok(url) = std::env::var("ZCRED_TEST_DATABASE_URL") else {
        println!("skipped {test}: ZCRED_TEST_DATABASE_URL is not set");
        return None;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("zcred_test_{nanos}_{}", std::process::id());
    let store = PostgresStore::connect_in_schema(&url, Some(&schema))
        .await
        .unwrap_or_else(|e| {
            panic!("ZCRED_TEST_DATABASE_URL is set but the database cannot be used: {e}")
        });
    Some((store, schema))
}

async fn drop_schema(store: PostgresStore, schema: &str) {
    sqlx::raw_sql(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .execute(store.pool())
        .await
        .unwrap();
    store.close().await;
}

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs PostgreSQL: set ZCRED_TEST_DATABASE_URL"
)]
async fn postgres_store_passes_the_conformance_story() {
    let Some((store, schema)) = store("postgres_store_passes_the_conformance_story").await else {
        return;
    };
    zcred_store::conformance::run(&store, "pg").await;
    zcred_store::conformance::run_access(&store, "pg").await;
    zcred_store::conformance::run_blobs(&store, "pg").await;
    zcred_store::conformance::run_sealed(&store, "pg").await;
    zcred_store::conformance::run_rates(&store, "pg").await;
    zcred_store::conformance::run_blob_steps(&store, "pg").await;
    drop_schema(store, &schema).await;
}

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs PostgreSQL: set ZCRED_TEST_DATABASE_URL"
)]
async fn two_pools_on_one_schema_pass_the_nodes_story() {
    let Some((a, schema)) = store("two_pools_on_one_schema_pass_the_nodes_story").await else {
        return;
    };
    let url = std::env::var("ZCRED_TEST_DATABASE_URL").unwrap();
    let b = PostgresStore::connect_in_schema(&url, Some(&schema))
        .await
        .unwrap();
    zcred_store::conformance::run_nodes(a.clone(), b.clone(), "pg").await;
    b.close().await;
    drop_schema(a, &schema).await;
}

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs PostgreSQL: set ZCRED_TEST_DATABASE_URL"
)]
async fn postgres_event_log_is_append_only() {
    let Some((store, schema)) = store("postgres_event_log_is_append_only").await else {
        return;
    };
    store
        .append(Append {
            events: vec![NewEvent {
                prefix: "Eprefix".into(),
                sn: 0,
                ilk: "icp".into(),
                said: "Esaid".into(),
                message: "{}".into(),
            }],
            states: vec![],
            consume_blob: None,
            expect: vec![],
        })
        .await
        .unwrap();
    for sql in [
        "UPDATE events SET said = said",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let err = sqlx::query(sql).execute(store.pool()).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    // Connecting again applies no migration twice.
    let url = std::env::var("ZCRED_TEST_DATABASE_URL").unwrap();
    PostgresStore::connect_in_schema(&url, Some(&schema))
        .await
        .unwrap()
        .close()
        .await;
    drop_schema(store, &schema).await;
}

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs PostgreSQL: set ZCRED_TEST_DATABASE_URL"
)]
async fn postgres_journal_exports_a_verifiable_stream() {
    let Some((store, schema)) = store("postgres_journal_exports_a_verifiable_stream").await else {
        return;
    };
    let key = |n: u8| SigningKey::from_seed(&[n; 32]);
    let journal = Journal::new(store.clone(), Options::default());
    let flows::Onboarded {
        messages,
        mut agent,
        registry,
        ..
    } = flows::onboard((key(1), key(2)), (key(3), key(4)), &[1; 16]).unwrap();
    journal.submit(&messages).await.unwrap();
    let cred = Said::digest(b"pg credential");
    let iss = flows::issuance(&cred, &registry, time::OffsetDateTime::UNIX_EPOCH).unwrap();
    let (ixn, tel) = agent.anchor(iss).unwrap();
    journal.submit(&[ixn, tel]).await.unwrap();

    let mut stream = Vec::new();
    assert_eq!(zcred_store::export(&store, &mut stream).await.unwrap(), 7);
    let ledger = verify_stream(&stream, Options::default()).unwrap();
    assert_eq!(
        ledger
            .credential(registry.as_str(), cred.as_str())
            .unwrap()
            .status,
        Status::Issued
    );
    // A second instance opening the same database replays the same state.
    let url = std::env::var("ZCRED_TEST_DATABASE_URL").unwrap();
    let other = PostgresStore::connect_in_schema(&url, Some(&schema))
        .await
        .unwrap();
    let replayed = zcred_store::replay(&other, Options::default())
        .await
        .unwrap();
    assert_eq!(
        replayed.credential(registry.as_str(), cred.as_str()),
        ledger.credential(registry.as_str(), cred.as_str())
    );
    other.close().await;
    drop_schema(store, &schema).await;
}
