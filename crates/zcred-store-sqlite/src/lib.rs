//! zcred-store-sqlite: the embedded default store, one SQLite file in the data directory.
//!
//! The file runs in WAL mode with `synchronous = FULL`, so a committed append survives a crash
//! or power loss; appends are serialized in-process (SQLite has one writer) and wait up to the
//! busy timeout for writers in other processes. Migrations (`migrations/*.sql`, embedded in the
//! binary) are applied at open, each in its own transaction, and recorded in `zcred_migrations`.
//! Triggers refuse any `UPDATE` or `DELETE` of the event log.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use tokio::sync::Mutex;
use zcred_store::{
    AccessStore, ApiKey, Append, Blob, BlobStore, LedgerStore, LoggedEvent, NewEvent,
    SealedKeyStore, StoreError,
};

/// The database file's name inside the data directory.
pub const FILE_NAME: &str = "zcred.db";

/// The migrations, in order: (version, SQL).
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_event_log.sql")),
    (2, include_str!("../migrations/0002_api_keys.sql")),
    (3, include_str!("../migrations/0003_blobs.sql")),
    (4, include_str!("../migrations/0004_sealed_keys.sql")),
    (5, include_str!("../migrations/0005_blob_subjects.sql")),
];

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
    writer: std::sync::Arc<Mutex<()>>,
}

fn unavailable(what: &str, err: sqlx::Error) -> StoreError {
    StoreError::Unavailable(format!("{what}: {err}"))
}

fn to_i64(n: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Conflict(format!("{what} {n} is too large to store")))
}

fn logged(row: &sqlx::sqlite::SqliteRow) -> Result<LoggedEvent, StoreError> {
    let get_u64 = |name: &str| -> Result<u64, StoreError> {
        let v: i64 = row
            .try_get(name)
            .map_err(|e| unavailable("reading an event", e))?;
        u64::try_from(v)
            .map_err(|_| StoreError::Unavailable(format!("stored {name} {v} is negative")))
    };
    let get_str = |name: &str| -> Result<String, StoreError> {
        row.try_get(name)
            .map_err(|e| unavailable("reading an event", e))
    };
    Ok(LoggedEvent {
        ordinal: get_u64("ordinal")?,
        event: NewEvent {
            prefix: get_str("prefix")?,
            sn: get_u64("sn")?,
            ilk: get_str("ilk")?,
            said: get_str("said")?,
            message: get_str("message")?,
        },
    })
}

impl SqliteStore {
    /// Opens (creating it if needed) `zcred.db` in `data_dir`, which is created too.
    pub async fn open_dir(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        let made = !data_dir.exists();
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        // A directory made here is the owner's only: it holds the database and, by default,
        // the master key.
        #[cfg(unix)]
        if made {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700)).map_err(
                |e| {
                    StoreError::Unavailable(format!(
                        "cannot restrict data directory {}: {e}",
                        data_dir.display()
                    ))
                },
            )?;
        }
        SqliteStore::open(&data_dir.join(FILE_NAME), true).await
    }

    /// Opens the database file `path`; with `create`, makes it when missing.
    pub async fn open(path: &Path, create: bool) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|e| unavailable("sqlite options", e))?
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| unavailable(&format!("cannot open {}", path.display()), e))?;
        let store = SqliteStore {
            pool,
            path: path.to_owned(),
            writer: std::sync::Arc::new(Mutex::new(())),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let _write = self.writer.lock().await;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS zcred_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
        )
        .execute(&self.pool)
        .await
        .map_err(|e| unavailable("creating the migrations table", e))?;
        for (version, sql) in MIGRATIONS {
            let mut tx = self
                .pool
                .begin()
                .await
                .map_err(|e| unavailable("migration", e))?;
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM zcred_migrations WHERE version = ?")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| unavailable("migration", e))?;
            if done.is_some() {
                continue;
            }
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| unavailable(&format!("migration {version}"), e))?;
            sqlx::query(
                "INSERT INTO zcred_migrations (version, applied_at) VALUES (?, datetime('now'))",
            )
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(|e| unavailable("migration", e))?;
            tx.commit().await.map_err(|e| unavailable("migration", e))?;
        }
        Ok(())
    }

    /// Closes the pool (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl LedgerStore for SqliteStore {
    async fn append(&self, append: Append) -> Result<Vec<u64>, StoreError> {
        let _write = self.writer.lock().await;
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| unavailable("append", e))?;
        for e in &append.expect {
            let held: Option<String> = sqlx::query_scalar("SELECT value FROM states WHERE key = ?")
                .bind(&e.key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|err| unavailable("reading a state", err))?;
            if held != e.value {
                return Err(e.conflict());
            }
        }
        if let Some(id) = &append.consume_blob {
            let used = sqlx::query("DELETE FROM blobs WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| unavailable("using a blob", e))?;
            if used.rows_affected() == 0 {
                return Err(StoreError::Conflict(format!("blob {id} was used already")));
            }
        }
        let mut ordinals = Vec::with_capacity(append.events.len());
        for e in &append.events {
            let result = sqlx::query(
                "INSERT INTO events (prefix, sn, ilk, said, message) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&e.prefix)
            .bind(to_i64(e.sn, "sequence number")?)
            .bind(&e.ilk)
            .bind(&e.said)
            .bind(&e.message)
            .execute(&mut *tx)
            .await;
            match result {
                Ok(done) => ordinals.push(done.last_insert_rowid() as u64),
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    return Err(StoreError::Conflict(format!(
                        "{} already has an event at sn {}",
                        e.prefix, e.sn
                    )));
                }
                Err(err) => return Err(unavailable("append", err)),
            }
        }
        for s in &append.states {
            sqlx::query(
                "INSERT INTO states (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(&s.key)
            .bind(&s.value)
            .execute(&mut *tx)
            .await
            .map_err(|e| unavailable("append state", e))?;
        }
        tx.commit().await.map_err(|e| unavailable("commit", e))?;
        Ok(ordinals)
    }

    async fn event(&self, prefix: &str, sn: u64) -> Result<Option<LoggedEvent>, StoreError> {
        let row = sqlx::query(
            "SELECT ordinal, prefix, sn, ilk, said, message FROM events WHERE prefix = ? AND sn = ? AND ilk <> 'rct'",
        )
        .bind(prefix)
        .bind(to_i64(sn, "sequence number")?)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| unavailable("event", e))?;
        row.as_ref().map(logged).transpose()
    }

    async fn log(&self, prefix: &str) -> Result<Vec<LoggedEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT ordinal, prefix, sn, ilk, said, message FROM events WHERE prefix = ? AND ilk <> 'rct' ORDER BY sn",
        )
        .bind(prefix)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| unavailable("log", e))?;
        rows.iter().map(logged).collect()
    }

    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<LoggedEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT ordinal, prefix, sn, ilk, said, message FROM events WHERE ordinal > ? ORDER BY ordinal LIMIT ?",
        )
        .bind(to_i64(after, "ordinal")?)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| unavailable("events", e))?;
        rows.iter().map(logged).collect()
    }

    async fn state(&self, key: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT value FROM states WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| unavailable("state", e))
    }

    async fn states_after(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let end = zcred_store::prefix_end(prefix).unwrap_or_else(|| "\u{7f}".repeat(64));
        sqlx::query_as::<_, (String, String)>(
            r#"SELECT key, value FROM states WHERE key > ? AND key < ? AND substr(key, 1, length(?)) = ? ORDER BY key LIMIT ?"#,
        )
            .bind(after.max(prefix))
            .bind(end.as_str())
            .bind(prefix)
            .bind(prefix)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| unavailable("states", e))
    }
}

impl AccessStore for SqliteStore {
    async fn put_api_key(&self, key: ApiKey) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO api_keys (hash, id, plan, issuer, created, disabled) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.hash)
        .bind(&key.id)
        .bind(&key.plan)
        .bind(&key.issuer)
        .bind(key.created)
        .bind(i64::from(key.disabled))
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                Err(StoreError::Conflict("that API key exists already".into()))
            }
            Err(err) => Err(unavailable("storing an API key", err)),
        }
    }

    async fn api_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let row = sqlx::query(
            "SELECT hash, id, plan, issuer, created, disabled FROM api_keys WHERE hash = ?",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| unavailable("reading an API key", e))?;
        row.map(|row| {
            let get = |name: &str| -> Result<String, StoreError> {
                row.try_get(name)
                    .map_err(|e| unavailable("reading an API key", e))
            };
            Ok(ApiKey {
                hash: get("hash")?,
                id: get("id")?,
                plan: get("plan")?,
                issuer: row
                    .try_get("issuer")
                    .map_err(|e| unavailable("reading an API key", e))?,
                created: row
                    .try_get("created")
                    .map_err(|e| unavailable("reading an API key", e))?,
                disabled: {
                    let disabled: i64 = row
                        .try_get("disabled")
                        .map_err(|e| unavailable("reading an API key", e))?;
                    disabled != 0
                },
            })
        })
        .transpose()
    }
}

impl BlobStore for SqliteStore {
    async fn put_blob(&self, blob: Blob) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO blobs (id, kind, owner, subject, payload, expires) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&blob.id)
        .bind(&blob.kind)
        .bind(&blob.owner)
        .bind(&blob.subject)
        .bind(&blob.payload)
        .bind(blob.expires)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Err(
                StoreError::Conflict(format!("blob {} exists already", blob.id)),
            ),
            Err(err) => Err(unavailable("storing a blob", err)),
        }
    }

    async fn blob(&self, id: &str) -> Result<Option<Blob>, StoreError> {
        let row = sqlx::query(
            "SELECT id, kind, owner, subject, payload, expires FROM blobs WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| unavailable("reading a blob", e))?;
        row.map(|row| {
            let get = |name: &str| -> Result<String, StoreError> {
                row.try_get(name)
                    .map_err(|e| unavailable("reading a blob", e))
            };
            Ok(Blob {
                id: get("id")?,
                kind: get("kind")?,
                owner: get("owner")?,
                subject: get("subject")?,
                payload: get("payload")?,
                expires: row
                    .try_get("expires")
                    .map_err(|e| unavailable("reading a blob", e))?,
            })
        })
        .transpose()
    }

    async fn pending_blob(
        &self,
        kind: &str,
        subject: &str,
        now: i64,
    ) -> Result<Option<Blob>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM blobs WHERE kind = ? AND subject = ? AND expires > ? LIMIT 1",
        )
        .bind(kind)
        .bind(subject)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| unavailable("reading blobs", e))?;
        match id {
            Some(id) => self.blob(&id).await,
            None => Ok(None),
        }
    }

    async fn purge_blobs(&self, now: i64) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM blobs WHERE expires < ?")
            .bind(now)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(|e| unavailable("purging blobs", e))
    }
}

impl SealedKeyStore for SqliteStore {
    async fn put_sealed(&self, name: &str, sealed: &[u8]) -> Result<(), StoreError> {
        let result = sqlx::query("INSERT INTO sealed_keys (name, sealed) VALUES (?, ?)")
            .bind(name)
            .bind(hex::encode(sealed))
            .execute(&self.pool)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Err(
                StoreError::Conflict(format!("sealed key {name} exists already")),
            ),
            Err(err) => Err(unavailable("storing a sealed key", err)),
        }
    }

    async fn sealed(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT sealed FROM sealed_keys WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| unavailable("reading a sealed key", e))?;
        text.map(|t| {
            hex::decode(&t).map_err(|_| {
                StoreError::Unavailable(format!("sealed key {name} is not hex in the store"))
            })
        })
        .transpose()
    }
}
