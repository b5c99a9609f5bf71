//! The in-memory backend: the [`LedgerStore`] contract with no durability, for tests and
//! benchmarks.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{
    AccessStore, ApiKey, Append, Blob, BlobStore, LedgerStore, LoggedEvent, SealedKeyStore,
    StoreError,
};

/// Events and state in memory. Appends are atomic (one lock). Clones share the same data, as
/// two nodes share one database.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    rates: Arc<crate::LocalRates>,
}

#[derive(Debug, Default)]
struct Inner {
    events: Vec<LoggedEvent>,
    /// Non-receipt events of each log: sn → position in `events`.
    logs: HashMap<String, BTreeMap<u64, usize>>,
    states: HashMap<String, String>,
    api_keys: HashMap<String, ApiKey>,
    blobs: HashMap<String, Blob>,
    sealed: HashMap<String, Vec<u8>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Unavailable("the in-memory store's lock is poisoned".into()))
    }
}

impl LedgerStore for MemoryStore {
    async fn append(&self, append: Append) -> Result<Vec<u64>, StoreError> {
        let mut inner = self.lock()?;
        let mut claimed: Vec<(&str, u64)> = Vec::new();
        for e in append.events.iter().filter(|e| !e.is_receipt()) {
            let taken = inner
                .logs
                .get(&e.prefix)
                .is_some_and(|log| log.contains_key(&e.sn));
            if taken || claimed.contains(&(e.prefix.as_str(), e.sn)) {
                return Err(StoreError::Conflict(format!(
                    "{} already has an event at sn {}",
                    e.prefix, e.sn
                )));
            }
            claimed.push((&e.prefix, e.sn));
        }
        for e in &append.expect {
            if inner.states.get(&e.key) != e.value.as_ref() {
                return Err(e.conflict());
            }
        }
        if let Some(id) = &append.consume_blob {
            if !inner.blobs.contains_key(id) {
                return Err(StoreError::Conflict(format!("blob {id} was used already")));
            }
        }
        if let Some(id) = &append.consume_blob {
            inner.blobs.remove(id);
        }
        let mut ordinals = Vec::with_capacity(append.events.len());
        for event in append.events {
            let ordinal = inner.events.len() as u64 + 1;
            if !event.is_receipt() {
                let at = inner.events.len();
                inner
                    .logs
                    .entry(event.prefix.clone())
                    .or_default()
                    .insert(event.sn, at);
            }
            inner.events.push(LoggedEvent { ordinal, event });
            ordinals.push(ordinal);
        }
        for s in append.states {
            inner.states.insert(s.key, s.value);
        }
        Ok(ordinals)
    }

    async fn event(&self, prefix: &str, sn: u64) -> Result<Option<LoggedEvent>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .logs
            .get(prefix)
            .and_then(|log| log.get(&sn))
            .map(|&at| inner.events[at].clone()))
    }

    async fn log(&self, prefix: &str) -> Result<Vec<LoggedEvent>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .logs
            .get(prefix)
            .map(|log| log.values().map(|&at| inner.events[at].clone()).collect())
            .unwrap_or_default())
    }

    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<LoggedEvent>, StoreError> {
        let inner = self.lock()?;
        let start = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(inner.events.len());
        Ok(inner.events[start..].iter().take(limit).cloned().collect())
    }

    async fn last_ordinal(&self) -> Result<u64, StoreError> {
        Ok(self.lock()?.events.len() as u64)
    }

    async fn state(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock()?.states.get(key).cloned())
    }

    async fn states_after(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let inner = self.lock()?;
        let mut rows: Vec<(String, String)> = inner
            .states
            .iter()
            .filter(|(k, _)| k.starts_with(prefix) && k.as_str() > after)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        rows.sort_unstable();
        rows.truncate(limit);
        Ok(rows)
    }
}

impl AccessStore for MemoryStore {
    async fn put_api_key(&self, key: ApiKey) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if inner.api_keys.contains_key(&key.hash) {
            return Err(StoreError::Conflict("that API key exists already".into()));
        }
        inner.api_keys.insert(key.hash.clone(), key);
        Ok(())
    }

    async fn api_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        Ok(self.lock()?.api_keys.get(hash).cloned())
    }
}

impl BlobStore for MemoryStore {
    async fn put_blob(&self, blob: Blob) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if inner.blobs.contains_key(&blob.id) {
            return Err(StoreError::Conflict(format!(
                "blob {} exists already",
                blob.id
            )));
        }
        inner.blobs.insert(blob.id.clone(), blob);
        Ok(())
    }

    async fn put_blob_alone(&self, blob: Blob, now: i64) -> Result<Option<Blob>, StoreError> {
        let mut inner = self.lock()?;
        if let Some(pending) = inner
            .blobs
            .values()
            .find(|b| b.kind == blob.kind && b.subject == blob.subject && b.expires > now)
        {
            return Ok(Some(pending.clone()));
        }
        if inner.blobs.contains_key(&blob.id) {
            return Err(StoreError::Conflict(format!(
                "blob {} exists already",
                blob.id
            )));
        }
        inner.blobs.insert(blob.id.clone(), blob);
        Ok(None)
    }

    async fn blob(&self, id: &str) -> Result<Option<Blob>, StoreError> {
        Ok(self.lock()?.blobs.get(id).cloned())
    }

    async fn pending_blob(
        &self,
        kind: &str,
        subject: &str,
        now: i64,
    ) -> Result<Option<Blob>, StoreError> {
        Ok(self
            .lock()?
            .blobs
            .values()
            .find(|b| b.kind == kind && b.subject == subject && b.expires > now)
            .cloned())
    }

    async fn purge_blobs(&self, now: i64) -> Result<u64, StoreError> {
        let mut inner = self.lock()?;
        let before = inner.blobs.len();
        inner.blobs.retain(|_, b| b.expires >= now);
        Ok((before - inner.blobs.len()) as u64)
    }
}

impl crate::RateStore for MemoryStore {
    async fn admit(&self, key: &str, now_us: i64, per_second: u32) -> Result<bool, StoreError> {
        Ok(self.rates.admit(key, now_us, per_second))
    }

    async fn purge_rates(&self, now_us: i64) -> Result<u64, StoreError> {
        Ok(self.rates.purge(now_us))
    }
}

impl SealedKeyStore for MemoryStore {
    async fn put_sealed(&self, name: &str, sealed: &[u8]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if inner.sealed.contains_key(name) {
            return Err(StoreError::Conflict(format!(
                "sealed key {name} exists already"
            )));
        }
        inner.sealed.insert(name.to_owned(), sealed.to_vec());
        Ok(())
    }

    async fn sealed(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock()?.sealed.get(name).cloned())
    }
}
