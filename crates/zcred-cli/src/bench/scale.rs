//! `zcred bench status-scale`: does a credential's status cost the same with 10³, 10⁵ and 10⁶
//! credentials in the store (ledger.md principle 4)?
//!
//! One credential is issued through the API (the one a holder presents). Then, with the server
//! stopped, the store is filled up to each size with other issued credentials: a second issuer,
//! its delegated agent and registry, made here with the ledger's own flows, one agent `ixn` per
//! `iss` (keripy's one seal per anchor, as the server writes them), each credential with its
//! record (a copy of the real one under a fresh vcId, pointing at its own TEL). They go in
//! through [`Journal::write`], which verifies every event as the server's writes do, and the
//! seeder then checks the tail it wrote and moves the verified point on, as a node does in the
//! background. The server is then started again (it checks the tail since that point, which
//! is empty, and never replays) and measured:
//!
//! - status lookup: the holder's download (8.4) of 1,000 credentials picked at random across
//!   the whole store (its record read, its state checked, `signVcId` verified), each read once
//!   untimed first, so that every size has the same working set;
//! - VP verify (10.3) of the real credential's presentation (the verifier's status lookup in
//!   the ledger, with every signature check).
//!
//! Each step starts measuring once the machine is quiet (its CPUs 90 % idle over a second, at
//! most a minute after the start; on PostgreSQL after a `VACUUM (ANALYZE)` of the seeded
//! tables). The ratios largest/smallest of both p50 latencies are printed, with the seeding
//! time, the server's start time and its resident memory at each size (after the
//! measurements), and the ratios of the largest to the smallest of those too. The VM's speed
//! drifts between steps, so each step also times the presentation's verification in this
//! process, single-threaded (`vpVerifyFloorMs`), and the VP verify ratio is given over that
//! floor as well (`vpVerifyOverFloorLargestOverSmallest`).

use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{json, Value};
use zcred_crypto::zetrix::SigningKey;
use zcred_crypto::OsRng;
use zcred_ledger::flows::{self, Controller};
use zcred_ledger::{Message, Said};
use zcred_store::{Journal, StateUpdate, Write};

use super::{one_credential, presentation, summary, Bounds, KnownIssuer, Served};
use crate::client;
use crate::{bad, runtime, Failure};

/// `zcred bench status-scale`.
#[derive(Args)]
pub struct ScaleArgs {
    /// Credentials in the store at each step (ascending, comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1000,100000,1000000")]
    sizes: Vec<usize>,
    #[command(flatten)]
    bounds: Bounds,
}

/// Credentials per journal write while seeding.
const BATCH: usize = 1000;

/// Credentials the status lookups cycle through at each size.
const PICKS: usize = 1000;

/// The second issuer whose credentials fill the store: its agent (which signs the anchors)
/// and registry, kept here between the steps.
struct Filler {
    agent: Controller,
    registry: Said,
    /// The onboarding events, written with the first batch.
    onboarding: Vec<Message>,
    /// The real credential's record, copied for each filler credential.
    record: Value,
    /// The vcIds written so far (lookups pick among them).
    ids: Vec<String>,
}

impl Filler {
    fn new(record: Value) -> Result<Filler, Failure> {
        let keys = || {
            (
                SigningKey::generate(&mut OsRng),
                SigningKey::generate(&mut OsRng),
            )
        };
        let nonce: [u8; 16] = rand_bytes();
        let onboarded = flows::onboard(keys(), keys(), &nonce)
            .map_err(|e| bad(format!("the filler issuer: {e}")))?;
        Ok(Filler {
            agent: onboarded.agent,
            registry: onboarded.registry,
            onboarding: onboarded.messages,
            record,
            ids: Vec::new(),
        })
    }

    /// The next `n` credentials: their events and records, as one write.
    fn batch(&mut self, n: usize) -> Result<Write, Failure> {
        let mut write = Write {
            messages: std::mem::take(&mut self.onboarding),
            ..Write::default()
        };
        let now = time::OffsetDateTime::now_utc();
        for _ in 0..n {
            let vc_id = zcred_model::Did::from_bytes(&rand_bytes::<32>()).to_string();
            let said = Said::digest(vc_id.as_bytes());
            let iss = flows::issuance(&said, &self.registry, now)
                .map_err(|e| bad(format!("a filler issuance: {e}")))?;
            let iss_said = iss.said().to_string();
            let (ixn, tel) = self
                .agent
                .anchor(iss)
                .map_err(|e| bad(format!("a filler anchor: {e}")))?;
            let tx = ixn
                .as_event()
                .map(|e| e.said().to_string())
                .unwrap_or_default();
            let mut record = self.record.clone();
            record["vcId"] = json!(vc_id);
            record["vc"]["id"] = json!(vc_id);
            record["registry"] = json!(self.registry.to_string());
            record["said"] = json!(said.to_string());
            record["issued"] = json!(iss_said);
            record["issuedTx"] = json!(tx);
            write.messages.extend([ixn, tel]);
            write.states.push(StateUpdate {
                key: format!("{}{vc_id}", zcred_server::vc::RECORD_PREFIX),
                value: record.to_string(),
            });
            self.ids.push(vc_id);
        }
        Ok(write)
    }
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    use zcred_crypto::RngCore as _;
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Writes `n` more filler credentials through a journal over `store`.
async fn seed<S>(store: S, filler: &mut Filler, n: usize) -> Result<(), Failure>
where
    S: zcred_store::LedgerStore + zcred_store::BlobStore,
{
    let journal = Journal::new(store, zcred_ledger::Options::default());
    let mut left = n;
    while left > 0 {
        let take = left.min(BATCH);
        journal
            .write(filler.batch(take)?)
            .await
            .map_err(|e| bad(format!("seeding: {e}")))?;
        left -= take;
    }
    // The seeder checks the tail it wrote, as a node does in the background, so that the
    // server's start finds the verified point at the end of the log.
    zcred_store::verify_tail(journal.store(), journal.options(), &mut |_, _, _| {})
        .await
        .map_err(|e| bad(format!("verifying the seeded log: {e}")))?;
    Ok(())
}

/// Seeds `n` more credentials into the bench server's store (the server is stopped).
fn seed_store(served: &Served, filler: &mut Filler, n: usize) -> Result<(), Failure> {
    let args = served.store_args();
    runtime()?.block_on(async {
        with_store!(args, |store, _kind| seed(store.clone(), filler, n).await)?;
        // After a bulk load PostgreSQL's statistics are stale and autovacuum is due on the
        // tables: done now, as an operator would, rather than under the measurement.
        if let (Some(url), schema) = (&args.database_url, args.database_schema.as_deref()) {
            let store = zcred_store_postgres::PostgresStore::connect_in_schema(url, schema)
                .await
                .map_err(|e| bad(format!("--database-url: {e}")))?;
            store
                .vacuum_analyze()
                .await
                .map_err(|e| bad(format!("after seeding: {e}")))?;
            store.close().await;
        }
        Ok(())
    })
}

/// Waits (at most `limit`) until the machine's CPUs were 90 % idle over one second: after a
/// seeding and a replay, the memory they freed is still being handed back and the log's pages
/// written, and a measurement taken meanwhile would time that too.
fn quiet(limit: Duration) {
    fn idle_and_total() -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
        let fields: Vec<u64> = cpu
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
        Some((idle, fields.iter().sum()))
    }
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let Some((idle0, total0)) = idle_and_total() else {
            return;
        };
        std::thread::sleep(Duration::from_secs(1));
        let Some((idle1, total1)) = idle_and_total() else {
            return;
        };
        let (idle, total) = (idle1.saturating_sub(idle0), total1.saturating_sub(total0));
        if total == 0 || idle * 10 >= total * 9 {
            return;
        }
    }
}

/// The server's resident memory, MiB.
fn resident_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some((kib / 1024.0 * 10.0).round() / 10.0)
}

/// Latencies of `call` run again and again within `bounds`, after `warm` untimed calls.
async fn measure<F, Fut>(bounds: &Bounds, warm: usize, mut call: F) -> Result<Value, Failure>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), Failure>>,
{
    for i in 0..warm.max(5) {
        call(i).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(bounds.seconds);
    let mut times = Vec::new();
    while times.len() < bounds.count && Instant::now() < deadline {
        let started = Instant::now();
        call(times.len()).await?;
        times.push(started.elapsed());
    }
    Ok(summary(&mut times))
}

/// One step: the lookups and verifies at the current size.
fn step(
    served: &Served,
    holder_key: &str,
    filler: &Filler,
    vp: &Value,
    bounds: &Bounds,
) -> Result<(Value, Value), Failure> {
    let rt = runtime()?;
    let holder = served.connection(holder_key, false);
    // Lookups cycle through the same number of ids at every size, picked at random over the
    // whole store, each read once before the timed calls: every step has the same working
    // set, so what changes between steps is only how much else the store holds.
    let picks: Vec<String> = (0..PICKS)
        .map(|_| {
            let i = usize::from_le_bytes(rand_bytes()) % filler.ids.len().max(1);
            filler.ids.get(i).cloned().unwrap_or_default()
        })
        .collect();
    let verifier = served.admin(&["admin", "key", "create", "--plan", "unlimited"])?;
    let verifier = served.connection(verifier["apiKey"].as_str().unwrap_or_default(), false);
    let body = json!({ "vpObject": vp });
    rt.block_on(async {
        let lookup = measure(bounds, picks.len(), |i| {
            let (holder, id) = (&holder, &picks[i % picks.len()]);
            async move { client::download(holder, id).await.map(|_| ()) }
        })
        .await?;
        let verify = measure(bounds, 5, |_| {
            let (verifier, body) = (&verifier, &body);
            async move {
                let outcome = client::call(verifier, "/cred/v1/vp/verify", Some(body)).await?;
                if outcome["verified"] != true {
                    return Err(bad(format!("the presentation does not verify: {outcome}")));
                }
                Ok(())
            }
        })
        .await?;
        Ok((lookup, verify))
    })
}

pub(super) fn status_scale(args: &ScaleArgs) -> Result<Value, Failure> {
    let mut sizes = args.sizes.clone();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.first().is_none_or(|&s| s < 2) {
        return Err(bad("--sizes: give sizes of at least 2 credentials"));
    }
    let mut served = Served::start(args.bounds.database_url.as_deref())?;
    let rt = runtime()?;
    let (holder, vc_id, vp, keys) = rt.block_on(async {
        let (holder, _, vc_id) = one_credential(&served).await?;
        let vc = client::download(&holder, &vc_id).await?;
        let vp = presentation(&holder, &vc, &["benchLicence.name"], json!([])).await?;
        // The bench's one key file holds the issuer's keys too.
        let keys = KnownIssuer::of(&holder, &vc)?;
        Ok::<_, Failure>((holder, vc_id, vp, keys))
    })?;
    let holder_key = holder.api_key().to_owned();
    let record = rt.block_on(read_record(&served, &vc_id))?;
    drop(rt);
    let mut filler = Filler::new(record)?;
    let mut steps = Vec::new();
    let mut held = 1;
    for &size in &sizes {
        served.stop();
        let seeding = Instant::now();
        seed_store(&served, &mut filler, size - held)?;
        let seeded = seeding.elapsed();
        held = size;
        let start = served.restart()?;
        quiet(Duration::from_secs(60));
        // The machine's speed drifts between steps; the verification's own cryptography, timed
        // here in the same minute, shows by how much.
        let floor = keys.floor(&vp)?;
        let (lookup, verify) = step(&served, &holder_key, &filler, &vp, &args.bounds)?;
        let one = json!({
            "scenario": "status-scale",
            "credentials": size,
            "seedSeconds": (seeded.as_secs_f64() * 10.0).round() / 10.0,
            "serverStartSeconds": (start.as_secs_f64() * 100.0).round() / 100.0,
            "serverResidentMiB": resident_mib(served.child.id()),
            "statusLookup": lookup,
            "vpVerify": verify,
            "vpVerifyFloorMs": (floor.as_secs_f64() * 1e6).round() / 1e3,
        });
        println!("{one}");
        steps.push(one);
    }
    let p50 = |v: &Value, what: &str| v[what]["p50Ms"].as_f64().unwrap_or_default();
    let ratio = |what: &str| {
        let (first, last) = (steps.first(), steps.last());
        match (first, last) {
            (Some(a), Some(b)) if p50(a, what) > 0.0 => {
                json!(((p50(b, what) / p50(a, what)) * 1e3).round() / 1e3)
            }
            _ => Value::Null,
        }
    };
    let (lookup_ratio, verify_ratio) = (ratio("statusLookup"), ratio("vpVerify"));
    let over_floor =
        |v: &Value| p50(v, "vpVerify") / v["vpVerifyFloorMs"].as_f64().unwrap_or(f64::NAN);
    let verify_over_floor_ratio = match (steps.first(), steps.last()) {
        (Some(a), Some(b)) if over_floor(a) > 0.0 => {
            json!(((over_floor(b) / over_floor(a)) * 1e3).round() / 1e3)
        }
        _ => Value::Null,
    };
    let resident = |v: &Value| v["serverResidentMiB"].as_f64().unwrap_or_default();
    let resident_ratio = match (steps.first(), steps.last()) {
        (Some(a), Some(b)) if resident(a) > 0.0 => {
            json!(((resident(b) / resident(a)) * 1e3).round() / 1e3)
        }
        _ => Value::Null,
    };
    let slowest_start = steps
        .iter()
        .filter_map(|s| s["serverStartSeconds"].as_f64())
        .fold(0.0, f64::max);
    drop(served);
    Ok(json!({
        "scenario": "status-scale",
        "store": if args.bounds.database_url.is_some() { "postgres" } else { "sqlite" },
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "sizes": sizes,
        "statusLookupP50LargestOverSmallest": lookup_ratio,
        "vpVerifyP50LargestOverSmallest": verify_ratio,
        "vpVerifyOverFloorLargestOverSmallest": verify_over_floor_ratio,
        "serverResidentLargestOverSmallest": resident_ratio,
        "serverStartSlowestSeconds": slowest_start,
        "steps": steps,
    }))
}

/// The stored record of `vc_id`, as JSON.
async fn read_record(served: &Served, vc_id: &str) -> Result<Value, Failure> {
    use zcred_store::LedgerStore as _;
    let args = served.store_args();
    let key = format!("{}{vc_id}", zcred_server::vc::RECORD_PREFIX);
    let text = with_store!(args, |store, _kind| store
        .state(&key)
        .await
        .map_err(|e| bad(format!("reading {key}: {e}"))))?;
    let text = text.ok_or_else(|| bad(format!("no record {key}")))?;
    serde_json::from_str(&text).map_err(|e| bad(format!("the record {key}: {e}")))
}
