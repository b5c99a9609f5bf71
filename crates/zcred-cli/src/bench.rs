//! `zcred bench`: measurements against a server this command starts itself (its own binary,
//! `serve` on loopback, SQLite in a fresh directory, or PostgreSQL with `--database-url`).
//! Each scenario is bounded by `--count` and `--seconds` and prints one JSON object as its
//! last line.
//!
//! - `issue`: the whole issuance (apply → create → the issuer signs with Ed25519 and BBS+ →
//!   submit) by `--clients` concurrent clients, each its own holder per credential, against the
//!   floor: the same flow's cryptography alone (two Ed25519 signatures made and checked, one
//!   BBS+ signature made and checked), single-threaded in this process right before.
//!   `efficiency = issuances/s ÷ (cores ÷ floor seconds per issuance)`. The server's CPU
//!   seconds per issuance come from `/proc`.
//! - `verify`: VP verify (10.3) of a presentation of a 10-attribute credential revealing half of
//!   them, with one range proof over a hidden age (18–65), made by the server's VP create and
//!   submit from a credential it issued. The floor is the model's verification of the same
//!   presentation in this process, single-threaded, with the issuer's keys at hand
//!   (`zcred_model::presentation::verify_presentation`: every cryptographic check, and the
//!   document handling they need); no HTTP, no store.
//! - `crypto`: the primitives alone, single-threaded, in this process: BBS+ sign, verify, prove
//!   (half revealed) and verify-proof at 10 and 50 messages, Ed25519 sign and verify, and the
//!   SAID of an event-sized document. No server.
//! - `enc`: the cost of the `/enc/` envelope (api.md §6). One credential is issued, then the
//!   holder downloads it (8.4) again and again, alternating the plain endpoint and its `/enc/`
//!   twin over the same kind of connection (kept alive between calls, as the CLI client
//!   keeps them), so both see the same conditions. Beside it, the envelope's cryptography
//!   alone, in this process: the client's seal and open and the server's unwrap, open and seal
//!   for the same bodies.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::client::{self, Connection};

mod curves;
mod scale;
use crate::{bad, runtime, Failure, Output};

/// `zcred bench …`.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// The whole issuance flow with concurrent clients, against its cryptographic floor.
    Issue(IssueArgs),
    /// VP verify of a 10-attribute presentation (5 revealed, one range proof) against its floor.
    Verify(Bounds),
    /// The `/enc/` envelope's overhead per request against the plain endpoint (download).
    Enc(Bounds),
    /// Status lookup and VP verify with 10³, 10⁵ and 10⁶ credentials in the store.
    StatusScale(scale::ScaleArgs),
    /// The cryptographic primitives alone (the floors), single-threaded.
    Crypto {
        /// Runs per primitive; the median is reported.
        #[arg(long, default_value_t = 51)]
        rounds: usize,
    },
}

/// `zcred bench issue`.
#[derive(Args)]
pub struct IssueArgs {
    /// Client counts to measure, one step each (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    clients: Vec<usize>,
    /// Also draw issuances/s against client count, with the floor's ceiling, as SVG here.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Serve through this many `zcred serve` nodes on the one store (more than one needs
    /// `--database-url`); client `i` talks to node `i mod nodes`, as behind a load balancer.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
    nodes: u8,
    #[command(flatten)]
    bounds: Bounds,
}

/// How long a scenario runs: it stops at whichever bound comes first.
#[derive(Args)]
pub struct Bounds {
    /// The most measured requests per variant.
    #[arg(long, default_value_t = 500)]
    count: usize,
    /// The most seconds of measuring.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Run the server on this PostgreSQL database instead of SQLite.
    #[arg(long)]
    database_url: Option<String>,
}

/// A `zcred serve` child on loopback, killed when dropped.
struct Served {
    child: Child,
    url: String,
    dir: PathBuf,
    store: Vec<String>,
    /// The PostgreSQL database and the scratch schema of this run, dropped at the end.
    schema: Option<(String, String)>,
    /// More nodes on the same store (`bench issue --nodes`), with their URLs.
    more: Vec<(Child, String)>,
}

impl Drop for Served {
    fn drop(&mut self) {
        for (child, _) in &mut self.more {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((url, schema)) = &self.schema {
            let dropped = runtime().map_err(|f| f.message).and_then(|rt| {
                rt.block_on(zcred_store_postgres::drop_schema(url, schema))
                    .map_err(|e| e.to_string())
            });
            if let Err(e) = dropped {
                eprintln!("zcred bench: could not drop the schema {schema}: {e}");
            }
        }
    }
}

fn zcred(args: &[&str]) -> Result<Value, Failure> {
    let exe = std::env::current_exe().map_err(|e| bad(format!("finding zcred: {e}")))?;
    let out = Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| bad(format!("running zcred {}: {e}", args.join(" "))))?;
    if !out.status.success() {
        return Err(bad(format!(
            "zcred {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stdout)
        )));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| bad(format!("zcred output: {e}")))
}

impl Served {
    fn start(database_url: Option<&str>) -> Result<Served, Failure> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!("zcred-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| bad(format!("{}: {e}", dir.display())))?;
        let mut store = vec!["--data-dir".to_owned(), dir.display().to_string()];
        let schema = database_url.map(|url| (url.to_owned(), format!("zcred_bench_{nanos}")));
        if let Some((url, schema)) = &schema {
            store.extend([
                "--database-url".to_owned(),
                url.clone(),
                "--database-schema".to_owned(),
                schema.clone(),
            ]);
        }
        let (child, url) = Served::spawn(&store)?;
        Ok(Served {
            url,
            child,
            dir,
            store,
            schema,
            more: Vec::new(),
        })
    }

    /// Starts another node on the same store (its master key is the first node's, in the
    /// data directory).
    fn add_node(&mut self) -> Result<(), Failure> {
        let node = Served::spawn(&self.store)?;
        self.more.push(node);
        Ok(())
    }

    /// Every node's URL, the first node's first.
    fn urls(&self) -> Vec<String> {
        std::iter::once(self.url.clone())
            .chain(self.more.iter().map(|(_, url)| url.clone()))
            .collect()
    }

    /// Every node's process id.
    fn pids(&self) -> Vec<u32> {
        std::iter::once(self.child.id())
            .chain(self.more.iter().map(|(c, _)| c.id()))
            .collect()
    }

    /// Starts `zcred serve` on `store` and waits for its ready line (its store opened and
    /// replayed).
    fn spawn(store: &[String]) -> Result<(Child, String), Failure> {
        let exe = std::env::current_exe().map_err(|e| bad(format!("finding zcred: {e}")))?;
        let mut child = Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(store)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| bad(format!("starting zcred serve: {e}")))?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out)
                .read_line(&mut line)
                .map_err(|e| bad(format!("reading the ready line: {e}")))?;
        }
        let ready: Value = serde_json::from_str(&line)
            .map_err(|_| bad(format!("zcred serve did not start: {line:?}")))?;
        let address = ready["listening"].as_str().unwrap_or_default();
        Ok((child, format!("http://{address}")))
    }

    /// Stops the server (SIGKILL: a committed write survives it, which is the store's promise).
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same store; returns how long it took to be ready.
    fn restart(&mut self) -> Result<Duration, Failure> {
        self.stop();
        let started = Instant::now();
        let (child, url) = Served::spawn(&self.store)?;
        self.child = child;
        self.url = url;
        Ok(started.elapsed())
    }

    /// The server's store, as the commands that open one take it.
    fn store_args(&self) -> crate::StoreArgs {
        crate::StoreArgs {
            data_dir: self.dir.clone(),
            database_url: self.schema.as_ref().map(|(url, _)| url.clone()),
            database_schema: self.schema.as_ref().map(|(_, schema)| schema.clone()),
        }
    }

    fn admin(&self, args: &[&str]) -> Result<Value, Failure> {
        let store: Vec<&str> = self.store.iter().map(String::as_str).collect();
        zcred(&[args, &store].concat())
    }

    fn connection(&self, api_key: &str, encrypted: bool) -> Connection {
        Connection::new(&self.url, api_key, &self.dir.join("keys.json"), encrypted)
    }

    /// A connection with `like`'s key to node `n` (of [`Served::urls`]).
    fn connection_to(&self, n: usize, like: &Connection) -> Connection {
        let urls = self.urls();
        Connection::new(
            &urls[n % urls.len()],
            like.api_key(),
            &self.dir.join("keys.json"),
            false,
        )
    }
}

/// An issuer onboarded and approved with a template: the integrator's API key (holders' calls),
/// the issuer's connection, and the template id.
async fn issuer_with_template(served: &Served) -> Result<(String, Connection, String), Failure> {
    let si = served.admin(&["admin", "key", "create", "--plan", "unlimited"])?;
    let si = si["apiKey"].as_str().unwrap_or_default().to_owned();
    let holder = served.connection(&si, false);
    let did = client::onboard(&holder).await?;
    let did = did["did"].as_str().unwrap_or_default().to_owned();
    served.admin(&["admin", "issuer", "approve", &did])?;
    let ik = served.admin(&[
        "admin",
        "key",
        "create",
        "--plan",
        "unlimited",
        "--issuer",
        &did,
    ])?;
    let issuer = served.connection(ik["apiKey"].as_str().unwrap_or_default(), false);
    let template_file = served.dir.join("template.json");
    std::fs::write(
        &template_file,
        json!({"templateName": "Bench Licence", "version": "1.0.0", "credentialFormat": [
            {"attribute": "Name", "format": "STRING", "key": "name", "mandatory": true, "type": "USER"},
            {"attribute": "Class", "format": "STRING", "key": "class", "mandatory": true, "type": "FIXED"}]})
        .to_string(),
    )
    .map_err(|e| bad(format!("{}: {e}", template_file.display())))?;
    let template = client::template_create(&issuer, &template_file).await?;
    let template = template["templateId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((si, issuer, template))
}

/// [`issuer_with_template`] and one credential issued to a holder: the connections (plain and
/// encrypted) of the holder's integrator and the credential's id.
async fn one_credential(served: &Served) -> Result<(Connection, Connection, String), Failure> {
    let (si, issuer, template) = issuer_with_template(served).await?;
    let holder = served.connection(&si, false);
    let applied = client::apply(&holder, &template, r#"{"name": "Ali bin Abu"}"#).await?;
    let vc_id = applied["vcId"].as_str().unwrap_or_default().to_owned();
    let data = format!(r#"[{{"templateId": "{template}", "metadata": {{"class": "B2"}}}}]"#);
    client::issue(&issuer, &vc_id, None, None, Some(&data)).await?;
    let encrypted = served.connection(&si, true);
    Ok((holder, encrypted, vc_id))
}

/// p50, p95, p99 and mean of `samples`, in milliseconds.
fn summary(samples: &mut [Duration]) -> Value {
    samples.sort_unstable();
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(i).copied().map_or(0.0, ms)
    };
    let mean = samples.iter().sum::<Duration>() / u32::try_from(samples.len().max(1)).unwrap_or(1);
    json!({ "count": samples.len(), "p50Ms": at(0.5), "p95Ms": at(0.95), "p99Ms": at(0.99), "meanMs": ms(mean) })
}

/// The envelope's cryptography alone for bodies of `request` and `response` bytes: client
/// seal, server unwrap + open, server seal, client open; per request.
fn envelope_floor(request: usize, response: usize, rounds: usize) -> Result<Value, Failure> {
    use zcred_crypto::enc::ServerKey;
    let key = ServerKey::generate("bench", zcred_crypto::enc::DEFAULT_RSA_BITS)
        .map_err(|e| bad(e.to_string()))?;
    let public = key.public().clone();
    let (plain, answer) = (vec![b'x'; request], vec![b'y'; response]);
    let mut client_side = Vec::with_capacity(rounds);
    let mut server_side = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let now = 1_800_000_000_000 + i as u64;
        let started = Instant::now();
        let (sealed, opener) = public
            .seal_request("/p", &plain, now)
            .map_err(|e| bad(e.to_string()))?;
        let sealed_at = started.elapsed();
        let served = Instant::now();
        let wrapped = key
            .unwrap(&sealed.secret_key, now)
            .map_err(|e| bad(e.to_string()))?;
        let (_, channel) = key
            .open(&wrapped, "/p", &sealed.body)
            .map_err(|e| bad(e.to_string()))?;
        let reply = channel.seal(&answer).map_err(|e| bad(e.to_string()))?;
        server_side.push(served.elapsed());
        let opened = Instant::now();
        opener.open(&reply).map_err(|e| bad(e.to_string()))?;
        client_side.push(sealed_at + opened.elapsed());
    }
    Ok(json!({ "client": summary(&mut client_side), "server": summary(&mut server_side) }))
}

fn enc(bounds: &Bounds) -> Result<Value, Failure> {
    let served = Served::start(bounds.database_url.as_deref())?;
    let rt = runtime()?;
    let (plain, encrypted, vc_id) = rt.block_on(one_credential(&served))?;
    let mut sizes = (0, 0);
    let (mut plain_times, mut enc_times) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(bounds.seconds);
    rt.block_on(async {
        // Warm-up (and the encrypted client's one key fetch).
        let vc = client::download(&plain, &vc_id).await?;
        sizes = (
            json!({ "vcId": vc_id, "signVcId": "0".repeat(128), "isIssuer": false })
                .to_string()
                .len(),
            vc.to_string().len() + 30,
        );
        client::download(&encrypted, &vc_id).await?;
        while plain_times.len() < bounds.count && Instant::now() < deadline {
            for (conn, times) in [(&plain, &mut plain_times), (&encrypted, &mut enc_times)] {
                let started = Instant::now();
                client::download(conn, &vc_id).await?;
                times.push(started.elapsed());
            }
        }
        Ok::<(), Failure>(())
    })?;
    let plain_summary = summary(&mut plain_times);
    let enc_summary = summary(&mut enc_times);
    let p50 = |v: &Value| v["p50Ms"].as_f64().unwrap_or_default();
    let overhead = p50(&enc_summary) - p50(&plain_summary);
    let floor = envelope_floor(sizes.0, sizes.1, plain_times.len().clamp(20, 200))?;
    drop(served);
    Ok(json!({
        "scenario": "enc",
        "endpoint": "/cred/v1/vc/download",
        "store": if bounds.database_url.is_some() { "postgres" } else { "sqlite" },
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "plain": plain_summary,
        "encrypted": enc_summary,
        "overheadP50Ms": (overhead * 1e3).round() / 1e3,
        "overheadP50Ratio": if p50(&plain_summary) > 0.0 {
            ((p50(&enc_summary) / p50(&plain_summary)) * 1e3).round() / 1e3
        } else { 0.0 },
        "envelopeCrypto": floor,
        "bodyBytes": { "request": sizes.0, "response": sizes.1 },
    }))
}

/// The median of `rounds` runs of `f`, on this thread (arkworks is built without its rayon
/// parallelism, so every operation runs on its calling thread, here as in the server).
fn median_of(rounds: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[times.len() / 2]
}

fn micros(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e7).round() / 10.0
}

/// The cryptography of one issuance alone, single-threaded: the holder's `signData` made and
/// checked, the issuer's JWS made and checked, the BBS+ signature over `messages` messages made
/// and checked.
fn issuance_floor(messages: usize) -> Result<(Duration, Value), Failure> {
    use zcred_crypto::bbs;
    use zcred_crypto::zetrix::SigningKey;
    let holder = SigningKey::generate(&mut zcred_crypto::OsRng);
    let issuer = SigningKey::generate(&mut zcred_crypto::OsRng);
    let pair = bbs::KeyPair::new(bbs::SecretKey::generate(&mut zcred_crypto::OsRng));
    let texts: Vec<Vec<u8>> = (0..messages)
        .map(|i| format!("licence.attribute{i}: value {i}").into_bytes())
        .collect();
    let msgs = bbs::Message::hash_all(&texts);
    let payload = vec![b'j'; 700];
    let sig = pair
        .sign_messages(&msgs, &mut zcred_crypto::OsRng)
        .map_err(|e| bad(e.to_string()))?;
    let ed = issuer.sign(&payload);
    let rounds = 51;
    let ed_sign = median_of(rounds, || {
        let _ = holder.sign(&payload);
    });
    let ed_verify = median_of(rounds, || {
        let _ = issuer.verifying_key().verify(&payload, &ed);
    });
    let bbs_sign = median_of(rounds, || {
        let _ = pair.sign_messages(&msgs, &mut zcred_crypto::OsRng);
    });
    let bbs_verify = median_of(rounds, || {
        let _ = pair.public().verify_messages(&msgs, &sig);
    });
    let total = 2 * (ed_sign + ed_verify) + bbs_sign + bbs_verify;
    Ok((
        total,
        json!({
            "perIssuanceMs": (total.as_secs_f64() * 1e6).round() / 1e3,
            "ed25519SignUs": micros(ed_sign),
            "ed25519VerifyUs": micros(ed_verify),
            "bbsSignUs": micros(bbs_sign),
            "bbsVerifyUs": micros(bbs_verify),
            "bbsMessages": messages,
        }),
    ))
}

/// User + system CPU seconds of process `pid` so far (Linux `/proc`; `None` elsewhere).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| t.trim().parse::<f64>().ok())
        .unwrap_or(100.0);
    Some(ticks / hz)
}

/// One issuance by a fresh holder: apply, create, sign, submit. `Ok(false)` when the server
/// answered 409 (counted: with the store as the truth, a race the client did not cause never
/// gets one).
async fn one_issuance(
    holders: &Connection,
    issuer: &Connection,
    keys: &(zcred_crypto::zetrix::SigningKey, zcred_crypto::bbs::KeyPair),
    template: &str,
) -> Result<bool, Failure> {
    match issuance(holders, issuer, keys, template).await {
        Ok(()) => Ok(true),
        Err(f) if f.message.contains(": HTTP 409 ") => Ok(false),
        Err(f) => Err(f),
    }
}

async fn issuance(
    holders: &Connection,
    issuer: &Connection,
    keys: &(zcred_crypto::zetrix::SigningKey, zcred_crypto::bbs::KeyPair),
    template: &str,
) -> Result<(), Failure> {
    let holder = zcred_crypto::zetrix::SigningKey::generate(&mut zcred_crypto::OsRng);
    let data = json!([{ "templateId": template, "metadata": { "name": "Ali bin Abu" } }]);
    let applied = client::apply_as(holders, &holder, data).await?;
    let today = zcred_model::time::format_seconds(time::OffsetDateTime::now_utc());
    let request = json!({
        "vcId": applied["vcId"],
        "issuanceDate": today,
        "data": [{ "templateId": template, "metadata": { "class": "B2" } }],
    });
    client::issue_with(issuer, &keys.0, &keys.1, &request).await?;
    Ok(())
}

fn issue(args: &IssueArgs) -> Result<Value, Failure> {
    if args.nodes > 1 && args.bounds.database_url.is_none() {
        return Err(bad(
            "--nodes: more than one node needs --database-url (nodes share a PostgreSQL store)",
        ));
    }
    let mut served = Served::start(args.bounds.database_url.as_deref())?;
    for _ in 1..args.nodes {
        served.add_node()?;
    }
    let nodes = usize::from(args.nodes);
    let rt = runtime()?;
    let (si, issuer, template) = rt.block_on(issuer_with_template(&served))?;
    let holders = served.connection(&si, false);
    let keys = std::sync::Arc::new(client::issuer_keys(&issuer)?);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The template's credential has three BBS+ messages: id, name, class.
    let (floor, floor_detail) = issuance_floor(3)?;
    let ceiling = cores as f64 / floor.as_secs_f64();
    let mut steps = Vec::new();
    for &clients in &args.clients {
        let clients = clients.max(1);
        let per_client = args.bounds.count.div_ceil(clients);
        let deadline = Instant::now() + Duration::from_secs(args.bounds.seconds);
        let cpu = || -> Option<f64> { served.pids().into_iter().map(cpu_seconds).sum() };
        let cpu_before = cpu();
        let started = Instant::now();
        let (latencies, conflicts) = rt.block_on(async {
            let mut tasks = Vec::new();
            for c in 0..clients {
                let (holders, issuer, keys, template) = (
                    served.connection_to(c, &holders),
                    served.connection_to(c, &issuer),
                    std::sync::Arc::clone(&keys),
                    template.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let (mut times, mut conflicts) = (Vec::new(), 0usize);
                    while times.len() < per_client && Instant::now() < deadline {
                        let t = Instant::now();
                        if one_issuance(&holders, &issuer, &keys, &template).await? {
                            times.push(t.elapsed());
                        } else {
                            conflicts += 1;
                        }
                    }
                    Ok::<_, Failure>((times, conflicts))
                }));
            }
            let (mut all, mut conflicts) = (Vec::new(), 0);
            for task in tasks {
                let (times, refused) = task
                    .await
                    .map_err(|e| bad(format!("a client failed: {e}")))??;
                all.extend(times);
                conflicts += refused;
            }
            Ok::<_, Failure>((all, conflicts))
        })?;
        let elapsed = started.elapsed().as_secs_f64();
        let mut latencies = latencies;
        let done = latencies.len();
        let per_second = done as f64 / elapsed;
        let server_cpu = match (cpu_before, cpu()) {
            (Some(a), Some(b)) if done > 0 => json!(((b - a) / done as f64 * 1e6).round() / 1e3),
            _ => Value::Null,
        };
        let step = json!({
            "scenario": "issue",
            "clients": clients,
            "nodes": nodes,
            "issuances": done,
            "conflicts409": conflicts,
            "seconds": (elapsed * 1e3).round() / 1e3,
            "issuancesPerSecond": (per_second * 10.0).round() / 10.0,
            "latency": summary(&mut latencies),
            "serverCpuMsPerIssuance": server_cpu,
            "floorIssuancesPerSecond": (ceiling * 10.0).round() / 10.0,
            "efficiency": ((per_second / ceiling) * 1e3).round() / 1e3,
        });
        println!("{step}");
        steps.push(step);
    }
    let best = steps
        .iter()
        .max_by(|a, b| {
            let rate = |v: &Value| v["issuancesPerSecond"].as_f64().unwrap_or_default();
            rate(a).total_cmp(&rate(b))
        })
        .cloned()
        .unwrap_or(Value::Null);
    drop(served);
    let store = if args.bounds.database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    if let Some(path) = &args.plot {
        std::fs::write(path, plot(&steps, ceiling, store, cores))
            .map_err(|e| bad(format!("{}: {e}", path.display())))?;
    }
    Ok(json!({
        "scenario": "issue",
        "store": if args.bounds.database_url.is_some() { "postgres" } else { "sqlite" },
        "nodes": nodes,
        "conflicts409": steps.iter().filter_map(|s| s["conflicts409"].as_u64()).sum::<u64>(),
        "cores": cores,
        "floor": floor_detail,
        "best": { "clients": best["clients"], "issuancesPerSecond": best["issuancesPerSecond"], "efficiency": best["efficiency"] },
        "steps": steps,
    }))
}

/// The 10-attribute template of `verify`: five the holder gives, five the issuer does; the age is
/// range-provable.
fn profile_template() -> Value {
    json!({"templateName": "Bench Profile", "version": "1.0.0", "credentialFormat": [
        {"attribute": "Name", "format": "STRING", "key": "name", "mandatory": true, "type": "USER"},
        {"attribute": "Age", "format": "NUMBER", "key": "age", "mandatory": true, "type": "USER", "rangeProvable": true},
        {"attribute": "Gender", "format": "STRING", "key": "gender", "mandatory": true, "type": "USER"},
        {"attribute": "Nationality", "format": "STRING", "key": "nationality", "mandatory": true, "type": "USER"},
        {"attribute": "City", "format": "STRING", "key": "city", "mandatory": true, "type": "USER"},
        {"attribute": "Class", "format": "STRING", "key": "class", "mandatory": true, "type": "FIXED"},
        {"attribute": "Id no.", "format": "STRING", "key": "idNo", "mandatory": true, "type": "FIXED"},
        {"attribute": "Issuer office", "format": "STRING", "key": "office", "mandatory": true, "type": "FIXED"},
        {"attribute": "Level", "format": "NUMBER", "key": "level", "mandatory": true, "type": "FIXED"},
        {"attribute": "Remarks", "format": "STRING", "key": "remarks", "mandatory": true, "type": "FIXED"}]})
}

/// The holder's presentation of `vc` (its `vpObject`), revealing `revealed` and proving
/// `ranges`, made with the server's VP create and submit (10.1, 10.2).
async fn presentation(
    holder: &Connection,
    vc: &Value,
    revealed: &[&str],
    ranges: Value,
) -> Result<Value, Failure> {
    let key = client::holder_key(holder)?;
    let created = client::call(
        holder,
        "/cred/v1/vp/create",
        Some(&json!({ "vc": vc, "revealedAttributes": revealed, "rangeProof": ranges })),
    )
    .await?;
    let blob = hex::decode(created["blob"].as_str().unwrap_or_default())
        .map_err(|_| bad("the server sent a blob that is not hex"))?;
    let submitted = client::call(
        holder,
        "/cred/v1/vp/submit",
        Some(&json!({
            "blobId": created["blobId"],
            "ed25519SignData": key.sign(&blob).to_hex(),
            "ed25519PubKey": key.verifying_key().to_zetrix(),
        })),
    )
    .await?;
    Ok(submitted["vpObject"].clone())
}

/// The issuer's keys as the ledger would give them, for the floor.
struct KnownIssuer(zcred_model::presentation::IssuerKeySet);

impl KnownIssuer {
    /// The keys of `vc`'s issuer, from the bench's key file (which `conn` names).
    fn of(conn: &Connection, vc: &Value) -> Result<KnownIssuer, Failure> {
        let (ed, bbs) = client::issuer_keys(conn)?;
        let method = vc["proof"]
            .as_array()
            .and_then(|p| p.iter().find(|e| e["type"] == "BbsBlsSignature2020"))
            .and_then(|e| e["verificationMethod"].as_str())
            .unwrap_or_default()
            .to_owned();
        Ok(KnownIssuer(zcred_model::presentation::IssuerKeySet {
            ed25519: vec![ed.verifying_key()],
            bbs: vec![(method, bbs.public().clone())],
        }))
    }

    /// The model's verification of `vp` with these keys, single-threaded: the median of 31.
    fn floor(&self, vp: &Value) -> Result<Duration, Failure> {
        let now = time::OffsetDateTime::now_utc();
        let check = zcred_model::presentation::verify_presentation(vp, None, now, self)
            .map_err(|e| bad(format!("the floor's verification could not run: {e}")))?;
        if !check.verified() {
            return Err(bad(format!(
                "the presentation does not verify here: {}",
                check.to_json()
            )));
        }
        Ok(median_of(31, || {
            let _ = zcred_model::presentation::verify_presentation(vp, None, now, self);
        }))
    }
}

impl zcred_model::presentation::Resolve for KnownIssuer {
    fn issuer(
        &self,
        _: &zcred_model::Did,
    ) -> Result<Option<zcred_model::presentation::IssuerKeySet>, String> {
        Ok(Some(zcred_model::presentation::IssuerKeySet {
            ed25519: self.0.ed25519.clone(),
            bbs: self.0.bbs.clone(),
        }))
    }

    fn status(
        &self,
        _: &str,
        _: &zcred_model::Credential,
    ) -> Result<zcred_model::presentation::Status, String> {
        Ok(zcred_model::presentation::Status::Active)
    }
}

fn verify(bounds: &Bounds) -> Result<Value, Failure> {
    let served = Served::start(bounds.database_url.as_deref())?;
    let rt = runtime()?;
    let (vps, issuer_keys) = rt.block_on(async {
        let (si, issuer, _) = issuer_with_template(&served).await?;
        let file = served.dir.join("profile.json");
        std::fs::write(&file, profile_template().to_string())
            .map_err(|e| bad(format!("{}: {e}", file.display())))?;
        let template = client::template_create(&issuer, &file).await?;
        let template = template["templateId"].as_str().unwrap_or_default().to_owned();
        let holder = served.connection(&si, false);
        let applied = client::apply(
            &holder,
            &template,
            r#"{"name": "Ali bin Abu", "age": 34, "gender": "Male", "nationality": "Malaysian", "city": "Kuala Lumpur"}"#,
        )
        .await?;
        let vc_id = applied["vcId"].as_str().unwrap_or_default().to_owned();
        let data = json!([{ "templateId": template, "metadata": {
            "class": "B2", "idNo": "900101-14-5678", "office": "Putrajaya", "level": 3, "remarks": "none" } }]);
        client::issue(&issuer, &vc_id, None, None, Some(&data.to_string())).await?;
        let vc = client::download(&holder, &vc_id).await?;
        let mut vps = Vec::new();
        for ranges in [json!([]), json!([{ "attribute": "benchProfile.age", "min": 18, "max": 65 }])] {
            let revealed = ["benchProfile.name", "benchProfile.gender",
                "benchProfile.nationality", "benchProfile.class", "benchProfile.level"];
            vps.push(presentation(&holder, &vc, &revealed, ranges).await?);
        }
        Ok::<_, Failure>((vps, KnownIssuer::of(&issuer, &vc)?))
    })?;

    let resolver = issuer_keys;
    let verifier = served.admin(&["admin", "key", "create", "--plan", "unlimited"])?;
    let verifier = served.connection(verifier["apiKey"].as_str().unwrap_or_default(), false);
    let mut variants = Vec::new();
    for (ranges, vp) in vps.iter().enumerate() {
        let mut variant = verify_one(&rt, &served, &verifier, &resolver, vp, bounds)?;
        variant["rangeProofs"] = json!(ranges);
        println!("{}", json!({ "scenario": "verify", "variant": variant }));
        variants.push(variant);
    }
    drop(served);
    Ok(json!({
        "scenario": "verify",
        "store": if bounds.database_url.is_some() { "postgres" } else { "sqlite" },
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "attributes": 10,
        "revealed": 5,
        "variants": variants,
    }))
}

/// The floor (the model's verification here, single-threaded) and then `POST
/// /cred/v1/vp/verify` of `vp` again and again.
fn verify_one(
    rt: &tokio::runtime::Runtime,
    served: &Served,
    verifier: &Connection,
    resolver: &KnownIssuer,
    vp: &Value,
    bounds: &Bounds,
) -> Result<Value, Failure> {
    let floor = resolver.floor(vp)?;
    let body = json!({ "vpObject": vp });
    let mut times = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(bounds.seconds);
    let cpu_before = cpu_seconds(served.child.id());
    rt.block_on(async {
        let outcome = client::call(verifier, "/cred/v1/vp/verify", Some(&body)).await?;
        if outcome["verified"] != true {
            return Err(bad(format!(
                "the server does not verify the presentation: {outcome}"
            )));
        }
        while times.len() < bounds.count && Instant::now() < deadline {
            let started = Instant::now();
            client::call(verifier, "/cred/v1/vp/verify", Some(&body)).await?;
            times.push(started.elapsed());
        }
        Ok(())
    })?;
    let done = times.len();
    let server_cpu = match (cpu_before, cpu_seconds(served.child.id())) {
        (Some(a), Some(b)) => json!(((b - a) / (done + 1) as f64 * 1e6).round() / 1e3),
        _ => Value::Null,
    };
    let latency = summary(&mut times);
    let p50 = latency["p50Ms"].as_f64().unwrap_or_default();
    let floor_ms = floor.as_secs_f64() * 1e3;
    Ok(json!({
        "latency": latency,
        "serverCpuMsPerVerify": server_cpu,
        "floorMs": (floor_ms * 1e3).round() / 1e3,
        "p50OverFloor": if floor_ms > 0.0 { ((p50 / floor_ms) * 1e3).round() / 1e3 } else { 0.0 },
    }))
}

/// An SVG line chart of issuances/s against client count (log₂ axis), with the ceiling the
/// floor allows.
fn plot(steps: &[Value], ceiling: f64, store: &str, cores: usize) -> String {
    let points: Vec<(f64, f64)> = steps
        .iter()
        .map(|s| {
            (
                s["clients"].as_f64().unwrap_or(1.0),
                s["issuancesPerSecond"].as_f64().unwrap_or_default(),
            )
        })
        .collect();
    let (w, h, left, right, top, bottom) = (640.0, 400.0, 70.0, 20.0, 40.0, 50.0);
    let max_x = points
        .iter()
        .map(|p| p.0)
        .fold(1.0, f64::max)
        .log2()
        .max(1.0);
    let max_y = (ceiling.max(points.iter().map(|p| p.1).fold(0.0, f64::max)) * 1.1).max(1.0);
    let x = |c: f64| left + c.log2() / max_x * (w - left - right);
    let y = |v: f64| h - bottom - v / max_y * (h - top - bottom);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{left}\" y=\"22\" font-size=\"14\">zcred bench issue: issuances/s by client count ({store}, {cores} cores)</text>\n\
         <line x1=\"{left}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"black\"/>\n\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{b}\" stroke=\"black\"/>\n",
        b = h - bottom,
        r = w - right,
    );
    for tick in 0..=5 {
        let v = max_y * f64::from(tick) / 5.0;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.0}</text>\n",
            left - 6.0,
            y(v) + 4.0,
            v
        ));
    }
    for (c, _) in &points {
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{c}</text>\n",
            x(*c),
            h - bottom + 18.0
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">concurrent clients</text>\n",
        (left + w - right) / 2.0,
        h - 10.0
    ));
    svg.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{c}\" x2=\"{r}\" y2=\"{c}\" stroke=\"gray\" stroke-dasharray=\"6 4\"/>\n\
         <text x=\"{r}\" y=\"{t}\" text-anchor=\"end\" fill=\"gray\">crypto floor: {ceiling:.0}/s</text>\n",
        c = y(ceiling),
        r = w - right,
        t = y(ceiling) - 6.0,
    ));
    let line: Vec<String> = points
        .iter()
        .map(|(c, v)| format!("{:.1},{:.1}", x(*c), y(*v)))
        .collect();
    svg.push_str(&format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"steelblue\" stroke-width=\"2\"/>\n",
        line.join(" ")
    ));
    for (c, v) in &points {
        svg.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"steelblue\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{v:.0}</text>\n",
            x(*c),
            y(*v),
            x(*c),
            y(*v) - 10.0
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

/// The primitives alone, each the median of `rounds` runs on one thread.
fn crypto(rounds: usize) -> Result<Value, Failure> {
    let rounds = rounds.max(1);
    use std::collections::BTreeSet;
    use zcred_crypto::{bbs, zetrix::SigningKey, OsRng};
    let mut out = serde_json::Map::new();
    let us = |d: Duration| json!(micros(d));
    let pair = bbs::KeyPair::new(bbs::SecretKey::generate(&mut OsRng));
    for n in [10usize, 50] {
        let texts: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("profile.attribute{i}: value number {i}").into_bytes())
            .collect();
        let msgs = bbs::Message::hash_all(&texts);
        let sig = pair
            .sign_messages(&msgs, &mut OsRng)
            .map_err(|e| bad(e.to_string()))?;
        let revealed: BTreeSet<usize> = (0..n).step_by(2).collect();
        let disclosed: Vec<&Vec<u8>> = revealed.iter().map(|&i| &texts[i]).collect();
        let proof = bbs::create_proof(pair.public(), &sig, &texts, &revealed, b"nonce", &mut OsRng)
            .map_err(|e| bad(e.to_string()))?;
        bbs::verify_proof(pair.public(), &proof, &disclosed, b"nonce")
            .map_err(|e| bad(e.to_string()))?;
        out.insert(
            format!("bbs{n}"),
            json!({
                "signUs": us(median_of(rounds, || { let _ = pair.sign_messages(&msgs, &mut OsRng); })),
                "verifyUs": us(median_of(rounds, || { let _ = pair.public().verify_messages(&msgs, &sig); })),
                "proveUs": us(median_of(rounds, || {
                    let _ = bbs::create_proof(pair.public(), &sig, &texts, &revealed, b"nonce", &mut OsRng);
                })),
                "verifyProofUs": us(median_of(rounds, || {
                    let _ = bbs::verify_proof(pair.public(), &proof, &disclosed, b"nonce");
                })),
            }),
        );
    }
    let key = SigningKey::generate(&mut OsRng);
    let payload = vec![b'p'; 700];
    let signature = key.sign(&payload);
    out.insert(
        "ed25519".into(),
        json!({
            "signUs": us(median_of(rounds, || { let _ = key.sign(&payload); })),
            "verifyUs": us(median_of(rounds, || { let _ = key.verifying_key().verify(&payload, &signature); })),
        }),
    );
    let event = json!({
        "v": "ACDC10JSON000000_", "d": "", "i": "did:zid:0000000000000000000000000000000000000000000000000000000000000000",
        "ri": "EGMy7M9jkGyAIXZ9C0GDUsTBg5zB8LdNIpuAwBBUSQKm", "s": "EBdXt3gIXOf2BBWNHdSXCJnFJL5OuQPyM5K0neuniccM",
        "a": { "d": "", "dt": "2026-11-24T00:00:00Z", "credential": "did:zid:1111111111111111111111111111111111111111111111111111111111111111" }
    });
    let Value::Object(map) = event else {
        return Err(bad("the sample event is not an object"));
    };
    out.insert(
        "said".into(),
        json!({
            "eventUs": us(median_of(rounds, || {
                let mut m = map.clone();
                let _ = zcred_ledger::said::saidify(&mut m, &["d"], None);
            })),
        }),
    );
    Ok(json!({
        "scenario": "crypto",
        "threads": 1,
        "curves": "arkworks 0.4 (BLS12-381), ed25519-dalek 2",
        "primitives": out,
        "curveFloors": curves::floors(rounds),
    }))
}

/// Runs a bench command. Its JSON object is printed on one line, the last one.
pub fn command(cmd: BenchCommand) -> Result<Output, Failure> {
    let result = match cmd {
        BenchCommand::Issue(args) => issue(&args)?,
        BenchCommand::Verify(bounds) => verify(&bounds)?,
        BenchCommand::Enc(bounds) => enc(&bounds)?,
        BenchCommand::Crypto { rounds } => crypto(rounds)?,
        BenchCommand::StatusScale(args) => scale::status_scale(&args)?,
    };
    println!("{result}");
    Ok(Output {
        json: Value::Null,
        ok: true,
    })
}
