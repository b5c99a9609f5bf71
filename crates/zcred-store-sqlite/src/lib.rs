//! zcred-store-sqlite: the embedded default store, one SQLite file in the data directory.
//!
//! **Durability.** The file runs in WAL mode with `synchronous = FULL`: every commit syncs the
//! write-ahead log to disk, so an acknowledged write survives a crash or power loss.
//!
//! **Writes: one writer thread, group commit.** SQLite has one writer at a time, so every write
//! (appends, API keys, blobs, sealed keys) is a job handed to one thread,
//! `zcred-sqlite-writer`, which owns the only connection that writes. The thread waits for a
//! job, takes every job queued behind it too (up to 256), and runs them all in one
//! `BEGIN IMMEDIATE … COMMIT`: one sync of the log for the whole group, however many writes
//! it holds. Each job runs inside its own `SAVEPOINT`: a job that fails (a taken (prefix, sn),
//! a failed expectation, a used blob, an error, even a panic) is rolled back to its savepoint,
//! so it writes nothing and the other jobs of its group are untouched. A write is acknowledged
//! only after the `COMMIT` that contains it returned; if `BEGIN` or `COMMIT` fails, nothing of
//! the group is written and each of its writes is answered [`StoreError::Unavailable`]. Jobs
//! run, commit and are answered in the order they were sent, so ordinals become visible in
//! increasing order. The writer waits up to the busy timeout (10 s) for writers in other
//! processes.
//!
//! **Reads.** Readers are a small pool of connections (opened when needed, at most 8 kept
//! idle), each statement reading the last committed state. Point reads (one row by its key:
//! [`LedgerStore::event`], [`LedgerStore::state`], [`AccessStore::api_key`],
//! [`BlobStore::blob`], [`BlobStore::pending_blob`], [`SealedKeyStore::sealed`]) run inline on
//! the calling task: a B-tree lookup in SQLite's page cache takes microseconds, less than
//! handing it to another thread and waking the task again would cost (a page not cached yet
//! costs one read of the file). Reads that return many rows ([`LedgerStore::log`],
//! [`LedgerStore::events_after`], [`LedgerStore::states_after`]) run on tokio's blocking pool.
//! Statements are prepared once per connection and cached.
//!
//! **Schema.** Migrations (`migrations/*.sql`, embedded in the binary) are applied at open on
//! the writer's connection before its thread starts, each in its own transaction, and recorded
//! in `zcred_migrations`. Triggers refuse any `UPDATE` or `DELETE` of the event log.
//!
//! [`SqliteStore::close`] refuses new writes, lets the queued ones commit, and closes every
//! connection (the last one checkpoints the WAL into the database file). Dropping the last
//! clone of a store without closing it ends the writer thread too, once the queued writes are
//! done.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{
    ffi, params, Connection, ErrorCode, OpenFlags, OptionalExtension, Params, Row,
    TransactionBehavior,
};
use tokio::sync::oneshot;
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

/// The most writes committed together.
const MAX_GROUP: usize = 256;
/// The most idle read connections kept.
const MAX_IDLE_READERS: usize = 8;
/// How long a connection waits for a lock held by another one.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Prepared statements cached per connection (the writer uses about 15).
const STATEMENT_CACHE: usize = 32;
/// The writer thread's name.
const WRITER_THREAD: &str = "zcred-sqlite-writer";

const CLOSED: &str = "the SQLite store is closed";
const STOPPED: &str = "the SQLite writer has stopped";

/// The SQLite store. Clones share one writer thread and one reader pool.
#[derive(Clone)]
pub struct SqliteStore {
    shared: Arc<Shared>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.shared.path)
            .field("closed", &self.shared.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// What the clones of a store share.
struct Shared {
    path: PathBuf,
    /// Set by [`SqliteStore::close`]: no new writes, no new reads.
    closed: AtomicBool,
    /// The writer thread's queue. Dropping it (with the last clone) ends the thread.
    writes: mpsc::Sender<Message>,
    /// The writer thread, until [`SqliteStore::close`] joins it.
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Idle read connections.
    readers: Mutex<Vec<Connection>>,
    /// Request rates: in memory, since one serving process opens the file.
    rates: zcred_store::LocalRates,
}

/// What the writer thread is sent.
enum Message {
    /// A write to run in the next group.
    Write(Box<dyn Job>),
    /// Finish the writes queued before this, then stop.
    Stop,
}

/// A write queued for the writer thread, type-erased.
trait Job: Send {
    /// Runs the write on the writer's connection (inside its savepoint) and keeps its result;
    /// true when it succeeded and its changes should stay.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Replaces the kept result: the group this write belongs to failed.
    fn fail(&mut self, err: StoreError);
    /// Sends the kept result to the waiting caller.
    fn answer(self: Box<Self>);
}

/// A write returning `T`.
struct Task<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Task<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = match catch_unwind(AssertUnwindSafe(|| work(conn))) {
            Ok(result) => result,
            Err(panic) => {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(StoreError::Unavailable(format!(
                    "the write panicked and was rolled back: {why}"
                )))
            }
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn fail(&mut self, err: StoreError) {
        self.result = Some(Err(err));
    }

    fn answer(self: Box<Self>) {
        let result = self
            .result
            .unwrap_or_else(|| Err(StoreError::Unavailable("the write was not run".into())));
        // The caller may have given up waiting; the write stands all the same.
        let _ = self.reply.send(result);
    }
}

fn unavailable(what: &str, err: impl fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("{what}: {err}"))
}

fn to_i64(n: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Conflict(format!("{what} {n} is too large to store")))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A UNIQUE or PRIMARY KEY constraint refused the row.
fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.code == ErrorCode::ConstraintViolation
                && matches!(
                    e.extended_code,
                    ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                )
    )
}

/// Opens a connection to `path` with the settings every connection has: `synchronous = FULL`,
/// foreign keys on, the busy timeout.
fn connect(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let cannot = || format!("cannot open {}", path.display());
    let conn = Connection::open_with_flags(path, flags).map_err(|e| unavailable(&cannot(), e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .and_then(|()| conn.pragma_update(None, "synchronous", 2)) // FULL
        .and_then(|()| conn.pragma_update(None, "foreign_keys", 1))
        .map_err(|e| unavailable(&cannot(), e))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// The first row `sql` returns, through `read`.
fn one<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    what: &str,
    read: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(|e| unavailable(what, e))?;
    let mut rows = stmt.query(params).map_err(|e| unavailable(what, e))?;
    match rows.next().map_err(|e| unavailable(what, e))? {
        Some(row) => read(row).map(Some),
        None => Ok(None),
    }
}

/// Every row `sql` returns, through `read`.
fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    what: &str,
    read: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(|e| unavailable(what, e))?;
    let mut rows = stmt.query(params).map_err(|e| unavailable(what, e))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| unavailable(what, e))? {
        out.push(read(row)?);
    }
    Ok(out)
}

/// Runs a statement that returns no rows; how many rows it changed.
fn execute(conn: &Connection, sql: &str, params: impl Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

fn logged(row: &Row<'_>) -> Result<LoggedEvent, StoreError> {
    let get_u64 = |index: usize, name: &str| -> Result<u64, StoreError> {
        let v: i64 = row
            .get(index)
            .map_err(|e| unavailable("reading an event", e))?;
        u64::try_from(v)
            .map_err(|_| StoreError::Unavailable(format!("stored {name} {v} is negative")))
    };
    let get_str = |index: usize| -> Result<String, StoreError> {
        row.get(index)
            .map_err(|e| unavailable("reading an event", e))
    };
    Ok(LoggedEvent {
        ordinal: get_u64(0, "ordinal")?,
        event: NewEvent {
            prefix: get_str(1)?,
            sn: get_u64(2, "sn")?,
            ilk: get_str(3)?,
            said: get_str(4)?,
            message: get_str(5)?,
        },
    })
}

fn blob_row(row: &Row<'_>) -> Result<Blob, StoreError> {
    let err = |e| unavailable("reading a blob", e);
    Ok(Blob {
        id: row.get(0).map_err(err)?,
        kind: row.get(1).map_err(err)?,
        owner: row.get(2).map_err(err)?,
        subject: row.get(3).map_err(err)?,
        payload: row.get(4).map_err(err)?,
        expires: row.get(5).map_err(err)?,
    })
}

/// Creates the migrations table and applies the migrations not applied yet, each in its own
/// transaction.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS zcred_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .map_err(|e| unavailable("creating the migrations table", e))?;
    for (version, sql) in MIGRATIONS {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| unavailable("migration", e))?;
        let done: Option<i64> = tx
            .query_row(
                "SELECT version FROM zcred_migrations WHERE version = ?1",
                [version],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| unavailable("migration", e))?;
        if done.is_some() {
            continue; // dropping `tx` rolls the empty transaction back
        }
        tx.execute_batch(sql)
            .map_err(|e| unavailable(&format!("migration {version}"), e))?;
        tx.execute(
            "INSERT INTO zcred_migrations (version, applied_at) VALUES (?1, datetime('now'))",
            [version],
        )
        .map_err(|e| unavailable("migration", e))?;
        tx.commit().map_err(|e| unavailable("migration", e))?;
    }
    Ok(())
}

/// The writer thread: groups of queued writes, one transaction each, until told to stop or
/// every sender is gone.
fn write_loop(conn: Connection, queue: mpsc::Receiver<Message>) {
    let mut group: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_GROUP);
    loop {
        match queue.recv() {
            Ok(Message::Write(job)) => group.push(job),
            Ok(Message::Stop) | Err(_) => break,
        }
        let mut stop = false;
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(Message::Write(job)) => group.push(job),
                Ok(Message::Stop) => {
                    stop = true;
                    break;
                }
                Err(_) => break,
            }
        }
        commit_group(&conn, &mut group);
        if stop {
            break;
        }
    }
    // Writes sent after a stop are dropped with the queue: their callers are told the writer
    // stopped. Dropping `conn` closes it (checkpointing the WAL when it is the last one).
}

/// Runs `group` in one transaction, each write in its own savepoint, then answers every write
/// in order (after the commit).
fn commit_group(conn: &Connection, group: &mut Vec<Box<dyn Job>>) {
    if let Err(reason) = write_group(conn, group) {
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for job in group.iter_mut() {
            job.fail(StoreError::Unavailable(reason.clone()));
        }
    }
    for job in group.drain(..) {
        job.answer();
    }
}

/// The group's transaction; `Err` says why nothing of it can be committed.
fn write_group(conn: &Connection, group: &mut [Box<dyn Job>]) -> Result<(), String> {
    let step = |sql: &str| {
        execute(conn, sql, [])
            .map(|_| ())
            .map_err(|e| format!("{} failed: {e}", sql.to_lowercase()))
    };
    step("BEGIN IMMEDIATE")?;
    for job in group.iter_mut() {
        step("SAVEPOINT zcred_write")?;
        let ok = job.run(conn);
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (e.g. the disk is full).
            return Err("SQLite rolled back the write transaction".into());
        }
        if !ok {
            step("ROLLBACK TO zcred_write")?;
        }
        step("RELEASE zcred_write")?;
    }
    step("COMMIT")
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
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || SqliteStore::open_now(path, create))
            .await
            .map_err(|e| unavailable("opening the store", e))?
    }

    /// [`SqliteStore::open`], on the calling thread.
    fn open_now(path: PathBuf, create: bool) -> Result<SqliteStore, StoreError> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let mut conn = connect(&path, flags)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| unavailable(&format!("cannot open {}", path.display()), e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unavailable(format!(
                "cannot open {}: SQLite kept journal_mode {mode} instead of WAL",
                path.display()
            )));
        }
        migrate(&mut conn)?;
        let (writes, queue) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name(WRITER_THREAD.into())
            .spawn(move || write_loop(conn, queue))
            .map_err(|e| unavailable("cannot start the SQLite writer thread", e))?;
        Ok(SqliteStore {
            shared: Arc::new(Shared {
                path,
                closed: AtomicBool::new(false),
                writes,
                writer: Mutex::new(Some(writer)),
                readers: Mutex::new(Vec::new()),
                rates: zcred_store::LocalRates::default(),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Closes the store: writes and reads from now on fail with [`StoreError::Unavailable`],
    /// the writes queued already are committed and answered, and every connection is closed
    /// (the last one checkpoints the WAL). Every clone is closed.
    pub async fn close(&self) {
        let shared = &self.shared;
        shared.closed.store(true, Ordering::SeqCst);
        let idle = std::mem::take(&mut *lock(&shared.readers));
        // Fails only when the writer is gone already.
        let _ = shared.writes.send(Message::Stop);
        let writer = lock(&shared.writer).take();
        // Closing connections and waiting for the queued writes block: off the async workers.
        let _ = tokio::task::spawn_blocking(move || {
            drop(idle);
            if let Some(writer) = writer {
                let _ = writer.join();
            }
        })
        .await;
    }

    /// Queues `work` for the writer thread and waits until the transaction that holds it is
    /// committed (or rolled back).
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        if self.shared.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable(CLOSED.into()));
        }
        let (reply, answer) = oneshot::channel();
        let task = Task {
            work: Some(work),
            result: None,
            reply,
        };
        self.shared
            .writes
            .send(Message::Write(Box::new(task)))
            .map_err(|_| StoreError::Unavailable(STOPPED.into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable(STOPPED.into()))?
    }

    /// Runs `read` on a pooled read connection, on the calling thread (point reads).
    fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.shared.read(read)
    }

    /// Runs `read` on a pooled read connection on tokio's blocking pool (reads of many rows).
    async fn read_blocking<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || shared.read(read))
            .await
            .map_err(|e| unavailable("reading", e))?
    }
}

impl Shared {
    fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable(CLOSED.into()));
        }
        let idle = lock(&self.readers).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open_reader()?,
        };
        let result = read(&conn);
        let mut idle = lock(&self.readers);
        if !self.closed.load(Ordering::SeqCst) && idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        } else {
            drop(idle);
            drop(conn);
        }
        result
    }

    fn open_reader(&self) -> Result<Connection, StoreError> {
        let conn = connect(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Only the writer thread writes.
        conn.pragma_update(None, "query_only", 1)
            .map_err(|e| unavailable(&format!("cannot open {}", self.path.display()), e))?;
        Ok(conn)
    }
}

/// The append's transaction body (inside its savepoint on the writer).
fn append_now(conn: &Connection, append: &Append) -> Result<Vec<u64>, StoreError> {
    for e in &append.expect {
        let held: Option<String> = one(
            conn,
            "SELECT value FROM states WHERE key = ?1",
            [&e.key],
            "reading a state",
            |row| {
                row.get(0)
                    .map_err(|err| unavailable("reading a state", err))
            },
        )?;
        if held != e.value {
            return Err(e.conflict());
        }
    }
    if let Some(id) = &append.consume_blob {
        let used = execute(conn, "DELETE FROM blobs WHERE id = ?1", [id])
            .map_err(|e| unavailable("using a blob", e))?;
        if used == 0 {
            return Err(StoreError::Conflict(format!("blob {id} was used already")));
        }
    }
    let mut ordinals = Vec::with_capacity(append.events.len());
    for e in &append.events {
        let result = execute(
            conn,
            "INSERT INTO events (prefix, sn, ilk, said, message) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                e.prefix,
                to_i64(e.sn, "sequence number")?,
                e.ilk,
                e.said,
                e.message
            ],
        );
        match result {
            Ok(_) => {
                let rowid = conn.last_insert_rowid();
                ordinals.push(u64::try_from(rowid).map_err(|_| {
                    StoreError::Unavailable(format!("SQLite gave a negative ordinal {rowid}"))
                })?);
            }
            Err(err) if is_unique_violation(&err) => {
                return Err(StoreError::Conflict(format!(
                    "{} already has an event at sn {}",
                    e.prefix, e.sn
                )));
            }
            Err(err) => return Err(unavailable("append", err)),
        }
    }
    for s in &append.states {
        execute(
            conn,
            "INSERT INTO states (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [&s.key, &s.value],
        )
        .map_err(|e| unavailable("append state", e))?;
    }
    Ok(ordinals)
}

impl LedgerStore for SqliteStore {
    async fn append(&self, append: Append) -> Result<Vec<u64>, StoreError> {
        self.write(move |conn| append_now(conn, &append)).await
    }

    async fn event(&self, prefix: &str, sn: u64) -> Result<Option<LoggedEvent>, StoreError> {
        let sn = to_i64(sn, "sequence number")?;
        self.read(|conn| {
            one(
                conn,
                "SELECT ordinal, prefix, sn, ilk, said, message FROM events WHERE prefix = ?1 AND sn = ?2 AND ilk <> 'rct'",
                params![prefix, sn],
                "event",
                logged,
            )
        })
    }

    async fn log(&self, prefix: &str) -> Result<Vec<LoggedEvent>, StoreError> {
        let prefix = prefix.to_owned();
        self.read_blocking(move |conn| {
            all(
                conn,
                "SELECT ordinal, prefix, sn, ilk, said, message FROM events WHERE prefix = ?1 AND ilk <> 'rct' ORDER BY sn",
                [&prefix],
                "log",
                logged,
            )
        })
        .await
    }

    async fn events_after(&self, after: u64, limit: usize) -> Result<Vec<LoggedEvent>, StoreError> {
        let after = to_i64(after, "ordinal")?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read_blocking(move |conn| {
            all(
                conn,
                "SELECT ordinal, prefix, sn, ilk, said, message FROM events WHERE ordinal > ?1 ORDER BY ordinal LIMIT ?2",
                [after, limit],
                "events",
                logged,
            )
        })
        .await
    }

    async fn last_ordinal(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            one(
                conn,
                "SELECT max(ordinal) FROM events",
                [],
                "the last ordinal",
                |row| {
                    row.get::<_, Option<i64>>(0)
                        .map_err(|e| unavailable("the last ordinal", e))
                },
            )
        })
        .map(|last| last.flatten().map_or(0, |o| o as u64))
    }

    async fn state(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read(|conn| {
            one(
                conn,
                "SELECT value FROM states WHERE key = ?1",
                [key],
                "state",
                |row| row.get(0).map_err(|e| unavailable("state", e)),
            )
        })
    }

    async fn states_after(
        &self,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let end = zcred_store::prefix_end(prefix).unwrap_or_else(|| "\u{7f}".repeat(64));
        let from = after.max(prefix).to_owned();
        let prefix = prefix.to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read_blocking(move |conn| {
            all(
                conn,
                "SELECT key, value FROM states WHERE key > ?1 AND key < ?2 AND substr(key, 1, length(?3)) = ?3 ORDER BY key LIMIT ?4",
                params![from, end, prefix, limit],
                "states",
                |row| {
                    let err = |e| unavailable("states", e);
                    Ok((row.get(0).map_err(err)?, row.get(1).map_err(err)?))
                },
            )
        })
        .await
    }
}

impl AccessStore for SqliteStore {
    async fn put_api_key(&self, key: ApiKey) -> Result<(), StoreError> {
        self.write(move |conn| {
            let result = execute(
                conn,
                "INSERT INTO api_keys (hash, id, plan, issuer, created, disabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    key.hash,
                    key.id,
                    key.plan,
                    key.issuer,
                    key.created,
                    i64::from(key.disabled)
                ],
            );
            match result {
                Ok(_) => Ok(()),
                Err(err) if is_unique_violation(&err) => {
                    Err(StoreError::Conflict("that API key exists already".into()))
                }
                Err(err) => Err(unavailable("storing an API key", err)),
            }
        })
        .await
    }

    async fn api_key(&self, hash: &str) -> Result<Option<ApiKey>, StoreError> {
        self.read(|conn| {
            one(
                conn,
                "SELECT hash, id, plan, issuer, created, disabled FROM api_keys WHERE hash = ?1",
                [hash],
                "reading an API key",
                |row| {
                    let err = |e| unavailable("reading an API key", e);
                    Ok(ApiKey {
                        hash: row.get(0).map_err(err)?,
                        id: row.get(1).map_err(err)?,
                        plan: row.get(2).map_err(err)?,
                        issuer: row.get(3).map_err(err)?,
                        created: row.get(4).map_err(err)?,
                        disabled: row.get::<_, i64>(5).map_err(err)? != 0,
                    })
                },
            )
        })
    }
}

/// An unexpired blob (at `now`) of `kind` about `subject`.
fn waiting_blob(
    conn: &Connection,
    kind: &str,
    subject: &str,
    now: i64,
) -> Result<Option<Blob>, StoreError> {
    one(
        conn,
        "SELECT id, kind, owner, subject, payload, expires FROM blobs WHERE kind = ?1 AND subject = ?2 AND expires > ?3 LIMIT 1",
        params![kind, subject, now],
        "reading blobs",
        blob_row,
    )
}

/// Inserts `blob`; an id already stored is a conflict.
fn insert_blob(conn: &Connection, blob: &Blob) -> Result<(), StoreError> {
    let result = execute(
        conn,
        "INSERT INTO blobs (id, kind, owner, subject, payload, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            blob.id,
            blob.kind,
            blob.owner,
            blob.subject,
            blob.payload,
            blob.expires
        ],
    );
    match result {
        Ok(_) => Ok(()),
        Err(err) if is_unique_violation(&err) => Err(StoreError::Conflict(format!(
            "blob {} exists already",
            blob.id
        ))),
        Err(err) => Err(unavailable("storing a blob", err)),
    }
}

impl BlobStore for SqliteStore {
    async fn put_blob(&self, blob: Blob) -> Result<(), StoreError> {
        self.write(move |conn| insert_blob(conn, &blob)).await
    }

    async fn put_blob_alone(&self, blob: Blob, now: i64) -> Result<Option<Blob>, StoreError> {
        // One write job: the writer thread runs it whole, so no other write comes between the
        // check and the insert (and SQLite's write lock keeps other processes out too).
        self.write(move |conn| {
            let pending = waiting_blob(conn, &blob.kind, &blob.subject, now)?;
            if pending.is_some() {
                return Ok(pending);
            }
            insert_blob(conn, &blob).map(|()| None)
        })
        .await
    }

    async fn blob(&self, id: &str) -> Result<Option<Blob>, StoreError> {
        self.read(|conn| {
            one(
                conn,
                "SELECT id, kind, owner, subject, payload, expires FROM blobs WHERE id = ?1",
                [id],
                "reading a blob",
                blob_row,
            )
        })
    }

    async fn pending_blob(
        &self,
        kind: &str,
        subject: &str,
        now: i64,
    ) -> Result<Option<Blob>, StoreError> {
        self.read(|conn| waiting_blob(conn, kind, subject, now))
    }

    async fn purge_blobs(&self, now: i64) -> Result<u64, StoreError> {
        self.write(move |conn| {
            let purged = execute(conn, "DELETE FROM blobs WHERE expires < ?1", [now])
                .map_err(|e| unavailable("purging blobs", e))?;
            u64::try_from(purged).map_err(|e| unavailable("purging blobs", e))
        })
        .await
    }
}

impl zcred_store::RateStore for SqliteStore {
    async fn admit(&self, key: &str, now_us: i64, per_second: u32) -> Result<bool, StoreError> {
        Ok(self.shared.rates.admit(key, now_us, per_second))
    }

    async fn purge_rates(&self, now_us: i64) -> Result<u64, StoreError> {
        Ok(self.shared.rates.purge(now_us))
    }
}

impl SealedKeyStore for SqliteStore {
    async fn put_sealed(&self, name: &str, sealed: &[u8]) -> Result<(), StoreError> {
        let name = name.to_owned();
        let text = hex::encode(sealed);
        self.write(move |conn| {
            let result = execute(
                conn,
                "INSERT INTO sealed_keys (name, sealed) VALUES (?1, ?2)",
                [&name, &text],
            );
            match result {
                Ok(_) => Ok(()),
                Err(err) if is_unique_violation(&err) => Err(StoreError::Conflict(format!(
                    "sealed key {name} exists already"
                ))),
                Err(err) => Err(unavailable("storing a sealed key", err)),
            }
        })
        .await
    }

    async fn sealed(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let text: Option<String> = self.read(|conn| {
            one(
                conn,
                "SELECT sealed FROM sealed_keys WHERE name = ?1",
                [name],
                "reading a sealed key",
                |row| {
                    row.get(0)
                        .map_err(|e| unavailable("reading a sealed key", e))
                },
            )
        })?;
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
    #![allow(clippy::unwrap_used)] // tests fail loudly on purpose

    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("zcred-sqlite-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn a_panicking_write_is_answered_and_the_writer_goes_on() {
        let dir = temp_dir("panic");
        let store = SqliteStore::open_dir(&dir).await.unwrap();
        let err = store
            .write(|conn| -> Result<(), StoreError> {
                conn.execute(
                    "INSERT INTO states (key, value) VALUES ('half', 'done')",
                    [],
                )
                .unwrap();
                panic!("boom")
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Unavailable(m) if m.contains("panicked") && m.contains("boom")),
            "{err:?}"
        );
        assert_eq!(
            store.state("half").await.unwrap(),
            None,
            "the panicking write was rolled back"
        );
        store
            .write(|conn| {
                execute(
                    conn,
                    "INSERT INTO states (key, value) VALUES ('after', 'yes')",
                    [],
                )
                .map_err(|e| unavailable("test", e))
            })
            .await
            .unwrap();
        assert_eq!(store.state("after").await.unwrap().as_deref(), Some("yes"));
        store.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn every_connection_is_wal_full_sync_with_foreign_keys() {
        let dir = temp_dir("pragmas");
        let store = SqliteStore::open_dir(&dir).await.unwrap();
        fn pragma(conn: &Connection, name: &str) -> String {
            conn.query_row(&format!("PRAGMA {name}"), [], |row| {
                row.get::<_, rusqlite::types::Value>(0)
            })
            .map(|v| match v {
                rusqlite::types::Value::Integer(n) => n.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
            .unwrap()
        }
        fn settings(conn: &Connection) -> Result<[String; 4], StoreError> {
            Ok([
                pragma(conn, "journal_mode"),
                pragma(conn, "synchronous"),
                pragma(conn, "foreign_keys"),
                pragma(conn, "busy_timeout"),
            ])
        }
        let writer = store.write(settings).await.unwrap();
        assert_eq!(writer, ["wal", "2", "1", "10000"]);
        let reader = store.read(settings).unwrap();
        assert_eq!(reader, ["wal", "2", "1", "10000"]);
        let refused = store.read(|conn| {
            Ok(conn
                .execute("INSERT INTO states (key, value) VALUES ('r', 'w')", [])
                .is_err())
        });
        assert!(refused.unwrap(), "readers do not write");
        store.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
