//! `zcred bench`: measurements against a server this command starts itself (its own binary,
//! `serve` on loopback, SQLite in a fresh directory, or PostgreSQL with `--database-url`).
//! Each scenario is bounded by `--count` and `--seconds` and prints one JSON object as its
//! last line.
//!
//! - `enc`: the cost of the `/enc/` envelope (api.md §6). One credential is issued, then the
//!   holder downloads it (8.4) again and again, alternating the plain endpoint and its `/enc/`
//!   twin over the same kind of connection (one TCP connection per call, as the CLI client
//!   makes them), so both see the same conditions. Beside it, the envelope's cryptography
//!   alone, in this process: the client's seal and open and the server's unwrap, open and seal
//!   for the same bodies.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::client::{self, Connection};
use crate::{bad, runtime, Failure, Output};

/// `zcred bench …`.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// The `/enc/` envelope's overhead per request against the plain endpoint (download).
    Enc(Bounds),
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
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
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
        if let Some(url) = database_url {
            store.extend([
                "--database-url".to_owned(),
                url.to_owned(),
                "--database-schema".to_owned(),
                format!("zcred_bench_{nanos}"),
            ]);
        }
        let exe = std::env::current_exe().map_err(|e| bad(format!("finding zcred: {e}")))?;
        let mut child = Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(&store)
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
        Ok(Served {
            url: format!("http://{address}"),
            child,
            dir,
            store,
        })
    }

    fn admin(&self, args: &[&str]) -> Result<Value, Failure> {
        let store: Vec<&str> = self.store.iter().map(String::as_str).collect();
        zcred(&[args, &store].concat())
    }

    fn connection(&self, api_key: &str, encrypted: bool) -> Connection {
        Connection::new(&self.url, api_key, &self.dir.join("keys.json"), encrypted)
    }
}

/// An issuer onboarded and approved, a template, and one credential issued to a holder: the
/// connections (plain and encrypted) of the holder's integrator and the credential's id.
async fn one_credential(served: &Served) -> Result<(Connection, Connection, String), Failure> {
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

/// Runs a bench command.
pub fn command(cmd: BenchCommand) -> Result<Output, Failure> {
    match cmd {
        BenchCommand::Enc(bounds) => enc(&bounds).map(Output::from),
    }
}
