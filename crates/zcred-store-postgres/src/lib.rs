//! zcred-store-postgres: the scale-out store, for several zcred instances sharing one database.
//!
//! Appends of events take a transaction-scoped advisory lock from their insert to the commit,
//! so that events get their ordinals in commit order across every instance (a reader paging by
//! ordinal never skips an event that commits later with a smaller one). Compare-and-set rows are
//! locked one by one (an advisory lock per key), so writers of different rows run in parallel. Migrations (`migrations/*.sql`, embedded) are applied at connect
//! under another advisory lock and recorded in `zcred_migrations`. Triggers refuse `UPDATE`,
//! `DELETE` and `TRUNCATE` of the event log.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::ConnectOptions as _;
use sqlx::Row;
use zcred_store::{
    AccessStore, ApiKey, Append, Blob, BlobStore, LedgerStore, LoggedEvent, NewEvent,
    SealedKeyStore, StoreError,
};

/// The migrations, in order: (version, SQL).
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_event_log.sql")),
    (2, include_str!("../migrations/0002_api_keys.sql")),
    (3, include_str!("../migrations/0003_blobs.sql")),
    (4, include_str!("../migrations/0004_sealed_keys.sql")),
    (5, include_str!("../migrations/0005_blob_subjects.sql")),
    (6, include_str!("../migrations/0006_state_scan.sql")),
    (7, include_str!("../migrations/0007_rates.sql")),
];

/// Advisory lock keys ("zcred" in ASCII, then a purpose).
const APPEND_LOCK: i64 = 0x7a63_7265_6400_0001;
const MIGRATE_LOCK: i64 = 0x7a63_7265_6400_0002;

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

fn unavailable(what: &str, err: sqlx::Error) -> StoreError {
    StoreError::Unavailable(format!("{what}: {err}"))
}

fn to_i64(n: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Conflict(format!("{what} {n} is too large to store")))
}

fn logged(row: &PgRow) -> Result<LoggedEvent, StoreError> {
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

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// A schema name: 1 to 63 lowercase letters, digits or `_` (so it needs no quoting rules).
fn check_schema(schema: &str) -> Result<(), StoreError> {
    let valid = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "schema name {schema:?} must be 1 to 63 lowercase letters, digits or _"
        )))
    }
}

/// Drops `schema` of the database at `url` with everything in it: a scratch schema of a
/// benchmark or a test run, once it is done.
pub async fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
    check_schema(schema)?;
    let connect = PgConnectOptions::from_str(url).map_err(|e| {
        StoreError::Unavailable(format!("{} is not a PostgreSQL URL: {e}", redacted(url)))
    })?;
    let mut conn = connect
        .connect()
        .await
        .map_err(|e| unavailable(&format!("cannot connect to {}", redacted(url)), e))?;
    sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .execute(&mut conn)
        .await
        .map_err(|e| unavailable("dropping a schema", e))?;
    sqlx::Connection::close(conn)
        .await
        .map_err(|e| unavailable("closing the connection", e))
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and applies the migrations.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect_in_schema(url, None).await
    }

    /// Connects with every table in `schema` (created when missing; lowercase letters, digits
    /// and `_` only), which keeps deployments or test runs sharing one database apart.
    pub async fn connect_in_schema(
        url: &str,
        schema: Option<&str>,
    ) -> Result<PostgresStore, StoreError> {
        let mut connect = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::Unavailable(format!("{} is not a PostgreSQL URL: {e}", redacted(url)))
        })?;
        if let Some(schema) = schema {
            check_schema(schema)?;
            connect = connect.options([("search_path", schema)]);
        }
        // One direct attempt first, so that a wrong URL or a stopped server fails at once
        // instead of after the pool's acquire timeout.
        sqlx::Connection::close(
            connect
                .connect()
                .await
                .map_err(|e| unavailable(&format!("cannot connect to {}", redacted(url)), e))?,
        )
        .await
        .map_err(|e| unavailable("closing the first connection", e))?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect)
            .await
            .map_err(|e| unavailable(&format!("cannot connect to {}", redacted(url)), e))?;
        if let Some(schema) = schema {
            sqlx::raw_sql(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .execute(&pool)
                .await
                .map_err(|e| unavailable("creating the schema", e))?;
        }
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| unavailable("migration", e))?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATE_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(|e| unavailable("migration lock", e))?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS zcred_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| unavailable("creating the migrations table", e))?;
        for (version, sql) in MIGRATIONS {
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM zcred_migrations WHERE version = $1")
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
            sqlx::query("INSERT INTO zcred_migrations (version) VALUES ($1)")
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(|e| unavailable("migration", e))?;
        }
        tx.commit().await.map_err(|e| unavailable("migration", e))
    }

    /// The connection pool (for tests and tools that need SQL past the store).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// `VACUUM (ANALYZE)` of the event log and the state rows: what an operator runs after a
    /// bulk load, so that the planner's statistics fit the tables and autovacuum does not
    /// start on them under the load that follows (the status-scale bench runs it after
    /// seeding).
    pub async fn vacuum_analyze(&self) -> Result<(), StoreError> {
        // One statement at a time: VACUUM does not run inside the implicit transaction of a
        // multi-statement query.
        for table in ["events", "states"] {
            sqlx::raw_sql(&format!("VACUUM (ANALYZE) {table}"))
                .execute(&self.pool)
                .await
                .map_err(|e| unavailable("vacuum analyze", e))?;
        }
        Ok(())
    }
}

/// The conflict message for a taken (prefix, sn): the event's place, from PostgreSQL's detail
/// (`Key (prefix, sn)=(…, …) already exists.`) when it names one of `events`.
fn taken(events: &[NewEvent], db: &dyn sqlx::error::DatabaseError) -> String {
    let detail = db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .and_then(|e| e.detail())
        .unwrap_or_default();
    let event = events
        .iter()
        .find(|e| detail.contains(&format!("({}, {})", e.prefix, e.sn)))
        .or(events.first());
    match event {
        Some(e) => format!("{} already has an event at sn {}", e.prefix, e.sn),
        None => "an event's place is taken".to_owned(),
    }
}

impl LedgerStore for PostgresStore {
    async fn append(&self, append: Append) -> Result<Vec<u64>, StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| unavailable("append", e))?;
        // Compare-and-set: each expected row is locked (a transaction-scoped advisory lock on
        // its key, which also covers a row that does not exist yet) before it is read, so two
        // writers expecting the same row take turns and the second sees what the first wrote.
        // Locks are taken in one global order (by hash), then the append lock: no cycle.
        if !append.expect.is_empty() {
            let keys: Vec<&str> = append.expect.iter().map(|e| e.key.as_str()).collect();
            sqlx::query(
                "SELECT pg_advisory_xact_lock(h) FROM \
                 (SELECT DISTINCT hashtextextended(k, 0) AS h FROM UNNEST($1::text[]) AS k) AS t \
                 ORDER BY h",
            )
            .bind(&keys)
            .execute(&mut *tx)
            .await
            .map_err(|e| unavailable("row locks", e))?;
            let held: Vec<(String, String)> =
                sqlx::query_as("SELECT key, value FROM states WHERE key = ANY($1)")
                    .bind(&keys)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(|err| unavailable("reading states", err))?;
            for e in &append.expect {
                let value = held.iter().find(|(k, _)| *k == e.key).map(|(_, v)| v);
                if value != e.value.as_ref() {
                    return Err(e.conflict());
                }
            }
        }
        if let Some(id) = &append.consume_blob {
            let used = sqlx::query("DELETE FROM blobs WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| unavailable("using a blob", e))?;
            if used.rows_affected() == 0 {
                return Err(StoreError::Conflict(format!("blob {id} was used already")));
            }
        }
        // Events get their ordinals in commit order across every instance: the append lock is
        // held from their insert to the commit. Writes of rows alone do not take it.
        if !append.events.is_empty() {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(APPEND_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(|e| unavailable("append lock", e))?;
        }
        let mut ordinals = Vec::with_capacity(append.events.len());
        if !append.events.is_empty() {
            let sns = append
                .events
                .iter()
                .map(|e| to_i64(e.sn, "sequence number"))
                .collect::<Result<Vec<i64>, StoreError>>()?;
            let column =
                |f: fn(&NewEvent) -> &str| -> Vec<&str> { append.events.iter().map(f).collect() };
            // Rows go in in the batch's order, so their ordinals rise in that order.
            let result: Result<Vec<i64>, sqlx::Error> = sqlx::query_scalar(
                "INSERT INTO events (prefix, sn, ilk, said, message) \
                 SELECT prefix, sn, ilk, said, message \
                 FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[]) \
                 WITH ORDINALITY AS t(prefix, sn, ilk, said, message, i) ORDER BY i \
                 RETURNING ordinal",
            )
            .bind(column(|e| e.prefix.as_str()))
            .bind(&sns)
            .bind(column(|e| e.ilk.as_str()))
            .bind(column(|e| e.said.as_str()))
            .bind(column(|e| e.message.as_str()))
            .fetch_all(&mut *tx)
            .await;
            match result {
                Ok(mut rows) => {
                    rows.sort_unstable();
                    ordinals.extend(rows.into_iter().map(|o| o as u64));
                }
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    return Err(StoreError::Conflict(taken(&append.events, db.as_ref())));
                }
                Err(err) => return Err(unavailable("append", err)),
            }
        }
        if !append.states.is_empty() {
            // One row per key, the last value given (an upsert may touch a row once).
            let mut keys: Vec<&str> = Vec::with_capacity(append.states.len());
            let mut values: Vec<&str> = Vec::with_capacity(append.states.len());
            for s in &append.states {
                match keys.iter().position(|k| *k == s.key) {
                    Some(i) => values[i] = s.value.as_str(),
                    None => {
                        keys.push(s.key.as_str());
                        values.push(s.value.as_str());
                    }
                }
            }
            sqlx::query(
                "INSERT INTO states (key, value) SELECT * FROM UNNEST($1::text[], $2::text[]) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(&keys)
            .bind(&values)
            .execute(&mut *tx)
            .await
            .map_err(|e| unavailable("append state", e))?;
        }
        tx.commit().await.map_err(|e| unavailable("commit", e))?;
        Ok(ordinals)
    }

    async fn event(&self, prefix: &str, sn: u64) -> Result<Option<LoggedEvent>, StoreError> {
        let row = sqlx::query(
            "SELECT ordinal, prefix, sn, ilk, said, message FROM events WHERE prefix = $1 AND sn = $2 AND ilk <> 'rct'",
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
            "SELECT ordinal, prefix, sn, ilk, said, message FROM events WHERE prefix = $1 AND ilk <> 'rct' ORDER BY sn",
        )
        .bind(prefix)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| unavailable("log", e))?;
        rows.iter().map(logged).collect()
    }

    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<LoggedEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT ordinal, prefix, sn, ilk, said, message FROM events WHERE ordinal > $1 ORDER BY ordinal LIMIT $2",
        )
        .bind(to_i64(after, "ordinal")?)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| unavailable("events", e))?;
        rows.iter().map(logged).collect()
    }

    async fn last_ordinal(&self) -> Result<u64, StoreError> {
        let last: Option<i64> = sqlx::query_scalar("SELECT max(ordinal) FROM events")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| unavailable("the last ordinal", e))?;
        Ok(last.map_or(0, |o| o as u64))
    }

    async fn state(&self, key: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT value FROM states WHERE key = $1")
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
            r#"SELECT key, value FROM states WHERE key COLLATE "C" > $1 AND key COLLATE "C" < $2 AND starts_with(key, $3) ORDER BY key COLLATE "C" LIMIT $4"#,
        )
            .bind(after.max(prefix))
            .bind(end.as_str())
            .bind(prefix)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| unavailable("states", e))
    }
}

impl AccessStore for PostgresStore {
    async fn put_api_key(&self, key: ApiKey) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO api_keys (hash, id, plan, issuer, created, disabled) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.hash)
        .bind(&key.id)
        .bind(&key.plan)
        .bind(&key.issuer)
        .bind(key.created)
        .bind(key.disabled)
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
            "SELECT hash, id, plan, issuer, created, disabled FROM api_keys WHERE hash = $1",
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
                    row.try_get("disabled")
                        .map_err(|e| unavailable("reading an API key", e))?
                },
            })
        })
        .transpose()
    }
}

fn blob_row(row: &PgRow) -> Result<Blob, StoreError> {
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
}

impl BlobStore for PostgresStore {
    async fn put_blob(&self, blob: Blob) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO blobs (id, kind, owner, subject, payload, expires) VALUES ($1, $2, $3, $4, $5, $6)",
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

    async fn put_blob_alone(&self, blob: Blob, now: i64) -> Result<Option<Blob>, StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| unavailable("storing a blob", e))?;
        // One step per (kind, subject) at a time, across instances.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 1))")
            .bind(&blob.kind)
            .bind(&blob.subject)
            .execute(&mut *tx)
            .await
            .map_err(|e| unavailable("a blob lock", e))?;
        let pending = sqlx::query(
            "SELECT id, kind, owner, subject, payload, expires FROM blobs WHERE kind = $1 AND subject = $2 AND expires > $3 LIMIT 1",
        )
        .bind(&blob.kind)
        .bind(&blob.subject)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| unavailable("reading blobs", e))?;
        if let Some(row) = pending {
            return blob_row(&row).map(Some);
        }
        let result = sqlx::query(
            "INSERT INTO blobs (id, kind, owner, subject, payload, expires) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&blob.id)
        .bind(&blob.kind)
        .bind(&blob.owner)
        .bind(&blob.subject)
        .bind(&blob.payload)
        .bind(blob.expires)
        .execute(&mut *tx)
        .await;
        match result {
            Ok(_) => {}
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                return Err(StoreError::Conflict(format!(
                    "blob {} exists already",
                    blob.id
                )))
            }
            Err(err) => return Err(unavailable("storing a blob", err)),
        }
        tx.commit()
            .await
            .map_err(|e| unavailable("storing a blob", e))?;
        Ok(None)
    }

    async fn blob(&self, id: &str) -> Result<Option<Blob>, StoreError> {
        let row = sqlx::query(
            "SELECT id, kind, owner, subject, payload, expires FROM blobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| unavailable("reading a blob", e))?;
        row.as_ref().map(blob_row).transpose()
    }

    async fn pending_blob(
        &self,
        kind: &str,
        subject: &str,
        now: i64,
    ) -> Result<Option<Blob>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM blobs WHERE kind = $1 AND subject = $2 AND expires > $3 LIMIT 1",
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
        sqlx::query("DELETE FROM blobs WHERE expires < $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(|e| unavailable("purging blobs", e))
    }
}

impl zcred_store::RateStore for PostgresStore {
    async fn admit(&self, key: &str, now_us: i64, per_second: u32) -> Result<bool, StoreError> {
        // One statement, atomic per key: the bucket's new arrival time, written only when the
        // request fits.
        let admitted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO rate_cells AS r (key, tat) VALUES ($1, $2 + $3) \
             ON CONFLICT (key) DO UPDATE SET tat = GREATEST(r.tat, $2) + $3 \
             WHERE GREATEST(r.tat, $2) + $3 - $2 <= $4 \
             RETURNING tat",
        )
        .bind(key)
        .bind(now_us)
        .bind(zcred_store::rate_interval(per_second))
        .bind(zcred_store::RATE_BURST_US)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| unavailable("counting a request", e))?;
        Ok(admitted.is_some())
    }

    async fn purge_rates(&self, now_us: i64) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM rate_cells WHERE tat <= $1")
            .bind(now_us)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(|e| unavailable("purging request rates", e))
    }
}

impl SealedKeyStore for PostgresStore {
    async fn put_sealed(&self, name: &str, sealed: &[u8]) -> Result<(), StoreError> {
        let result = sqlx::query("INSERT INTO sealed_keys (name, sealed) VALUES ($1, $2)")
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
            sqlx::query_scalar("SELECT sealed FROM sealed_keys WHERE name = $1")
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

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redacted("postgres://alice:s3cret@db:5432/x"),
            "postgres://alice@db:5432/x"
        );
        assert_eq!(super::redacted("postgres://db/x"), "postgres://db/x");
    }
}
