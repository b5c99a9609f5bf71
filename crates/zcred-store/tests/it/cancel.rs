//! A write whose future is dropped while the store is committing (a client that hangs up)
//! leaves nothing behind: the journal holds no state that could run ahead of the store.

use std::sync::atomic::{AtomicBool, Ordering};

use zcred_crypto::zetrix::SigningKey;
use zcred_ledger::flows;
use zcred_ledger::verify::Options;
use zcred_ledger::Said;
use zcred_store::{
    Append, Blob, BlobStore, Journal, JournalError, LedgerStore, LoggedEvent, MemoryStore,
    StoreError,
};

/// A memory store whose appends hang while `stalled` is set.
#[derive(Debug, Default)]
struct Stalling {
    inner: MemoryStore,
    stalled: AtomicBool,
}

impl LedgerStore for Stalling {
    async fn append(&self, append: Append) -> Result<Vec<u64>, StoreError> {
        if self.stalled.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.append(append).await
    }

    async fn event(&self, prefix: &str, sn: u64) -> Result<Option<LoggedEvent>, StoreError> {
        self.inner.event(prefix, sn).await
    }

    async fn log(&self, prefix: &str) -> Result<Vec<LoggedEvent>, StoreError> {
        self.inner.log(prefix).await
    }

    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<LoggedEvent>, StoreError> {
        self.inner.events_after(after, limit).await
    }

    async fn last_ordinal(&self) -> Result<u64, StoreError> {
        self.inner.last_ordinal().await
    }

    async fn state(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.state(key).await
    }

    async fn states_after(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.inner.states_after(prefix, after, limit).await
    }
}

impl BlobStore for Stalling {
    async fn put_blob(&self, blob: Blob) -> Result<(), StoreError> {
        self.inner.put_blob(blob).await
    }

    async fn put_blob_alone(&self, blob: Blob, now: i64) -> Result<Option<Blob>, StoreError> {
        self.inner.put_blob_alone(blob, now).await
    }

    async fn blob(&self, id: &str) -> Result<Option<Blob>, StoreError> {
        self.inner.blob(id).await
    }

    async fn pending_blob(
        &self,
        kind: &str,
        subject: &str,
        now: i64,
    ) -> Result<Option<Blob>, StoreError> {
        self.inner.pending_blob(kind, subject, now).await
    }

    async fn purge_blobs(&self, now: i64) -> Result<u64, StoreError> {
        self.inner.purge_blobs(now).await
    }
}

#[tokio::test]
async fn a_dropped_write_leaves_no_trace() {
    let key = |n: u8| SigningKey::from_seed(&[n; 32]);
    let journal = Journal::new(Stalling::default(), Options::default());
    let mut o = flows::onboard((key(1), key(2)), (key(3), key(4)), &[5; 16]).unwrap();
    journal.submit(&o.messages).await.unwrap();

    let cred = Said::digest(b"never committed");
    let iss = flows::issuance(&cred, &o.registry, time::OffsetDateTime::UNIX_EPOCH).unwrap();
    let (ixn, tel) = o.agent.anchor(iss).unwrap();
    journal.store().stalled.store(true, Ordering::SeqCst);
    let cut_short = tokio::time::timeout(
        std::time::Duration::from_millis(50),
        journal.submit(&[ixn.clone(), tel.clone()]),
    )
    .await;
    assert!(cut_short.is_err(), "the write was cut short");
    journal.store().stalled.store(false, Ordering::SeqCst);

    // Reads come from the store: the credential is not there.
    let registry = o.registry.to_string();
    let seen = journal.credential(&registry, cred.as_str()).await.unwrap();
    assert!(
        seen.is_none(),
        "a read showed an event the store never committed"
    );
    // And the same events can be recorded now.
    journal.submit(&[ixn, tel]).await.unwrap();
    assert!(journal
        .credential(&registry, cred.as_str())
        .await
        .unwrap()
        .is_some());

    // A blob that does not exist is refused before anything is processed.
    let (ixn, tel) = o
        .agent
        .anchor(
            flows::issuance(
                &Said::digest(b"x"),
                &o.registry,
                time::OffsetDateTime::UNIX_EPOCH,
            )
            .unwrap(),
        )
        .unwrap();
    let err = journal
        .submit_consuming(&[ixn, tel], "NOBLOB")
        .await
        .unwrap_err();
    assert!(matches!(err, JournalError::BlobGone), "{err}");
}
