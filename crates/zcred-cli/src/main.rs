//! `zcred`: the zcred server and the key, signing and verification tools around it.
//!
//! Every command prints JSON on stdout. Bad input exits non-zero with a one-line error on stderr
//! (`zcred: <what is wrong>`); a verification that ran and failed prints its report and exits 1.

/// Runs `job` with the store `args` name: PostgreSQL when a URL is given, else the SQLite file
/// in the data directory (created when missing).
macro_rules! with_store {
    ($args:expr, |$store:ident, $kind:ident| $job:expr) => {{
        match &$args.database_url {
            Some(url) => {
                let $store = zcred_store_postgres::PostgresStore::connect_in_schema(
                    url,
                    $args.database_schema.as_deref(),
                )
                .await
                .map_err(|e| bad(format!("--database-url: {e}")))?;
                let $kind = "postgresql";
                let result = $job;
                $store.close().await;
                result
            }
            None => {
                let $store = zcred_store_sqlite::SqliteStore::open_dir(&$args.data_dir)
                    .await
                    .map_err(|e| bad(format!("--data-dir: {e}")))?;
                let $kind = "sqlite";
                let result = $job;
                $store.close().await;
                result
            }
        }
    }};
}

mod bench;
mod client;
mod log;
mod vp;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};
use zcred_crypto::bbs;
use zcred_crypto::multibase;
use zcred_crypto::zetrix::{SigningKey, VerifyingKey};
use zcred_crypto::OsRng;
use zcred_model::verify::{verify_credential, IssuerKeys};
use zcred_model::Credential;

#[derive(Parser)]
#[command(
    name = "zcred",
    version,
    about = "Self-hosted verifiable credentials: Zetrix VC API, BBS+, KERI event logs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the credential service until SIGINT or SIGTERM. Prints one JSON line with the
    /// address it listens on; logs go to standard error.
    Serve(ServeArgs),
    /// Administration: API keys.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Zetrix Ed25519 keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Sign hex-encoded bytes with a Zetrix private key (Ed25519, no prehash).
    Sign {
        /// The private key (`priv…`).
        #[arg(long)]
        key: String,
        /// The bytes to sign, as hex (e.g. a blob from the API).
        hex: String,
    },
    /// BBS+ (BbsBlsSignature2020) keys, signatures and verification.
    #[command(subcommand)]
    Bbs(BbsCommand),
    /// Verifiable credentials.
    #[command(subcommand)]
    Vc(VcCommand),
    /// Verifiable presentations, made and verified locally (no server).
    #[command(subcommand)]
    Vp(VpCommand),
    /// Benchmarks against a server this command starts itself; one JSON object per scenario.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// The KERI event logs: SAIDs, offline verification, export.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Client: an issuer's calls to a running server (keys in a local key file).
    #[command(subcommand)]
    Issuer(client::IssuerCommand),
    /// Client: register templates on a running server.
    #[command(subcommand)]
    Template(client::TemplateCommand),
    /// Client: a holder's calls to a running server.
    #[command(subcommand)]
    Holder(client::HolderCommand),
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Compute the SAID of a KEL or TEL event, an ACDC or a JSON Schema, and say whether the
    /// document carries it. Exits 0 when it matches, 1 when not.
    Said {
        /// The JSON file (`-` for standard input).
        file: PathBuf,
    },
    /// Verify a CESR text stream of KEL and TEL events with their attachments. Exits 0 with a
    /// summary of key and credential states, or 1 naming the first bad event.
    Verify {
        /// The stream (`-` for standard input).
        #[arg(long)]
        file: PathBuf,
        /// Accept anchoring events with many seals (zcred's batch mode; not keripy-verifiable).
        #[arg(long)]
        batch_anchors: bool,
    },
    /// Re-verify the whole stored log from its bytes, in bounded memory (it streams the
    /// events), and check that every state row equals the fold of its events. Prints progress
    /// on a terminal (events/s, ETA) and a JSON summary; exits 1 naming the first bad event or
    /// row. Reads only: it can run beside live nodes.
    Audit {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write every event the service recorded, in first-seen order, as one CESR text stream:
    /// to --out (then a JSON summary is printed), or else to standard output.
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// Write the stream to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "ZCRED_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// The master key that seals the service's own keys (64 hex characters, mode 0600); made
    /// on first start when missing. Default: `master.key` in the data directory.
    #[arg(long, env = "ZCRED_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// Enables the admin API (`/zcred/v1/admin/…`) with the token in this file (mode 0600).
    #[arg(long, env = "ZCRED_ADMIN_TOKEN_FILE")]
    admin_token_file: Option<PathBuf>,
    /// The service's public base URL (template contexts point at it). Default: the listen
    /// address over http.
    #[arg(long, env = "ZCRED_PUBLIC_URL")]
    public_url: Option<String>,
    /// Enables `POST /cred/tds/template/create`, which takes the issuer's private key (api.md
    /// OP-10). Off by default; use it only behind TLS.
    #[arg(long, env = "ZCRED_ALLOW_SERVER_SIDE_SIGNING")]
    allow_server_side_signing: bool,
    /// Days after which an application that was never issued (APPLIED or CREATED) is purged
    /// by the sweep (api.md OP-12); the sweep runs every 10 minutes.
    #[arg(long, env = "ZCRED_ABANDONED_AFTER_DAYS", default_value_t = 30)]
    abandoned_after_days: u32,
    /// The RSA modulus of the `/enc/` keys this service makes (encryption.md): 3072 by
    /// default, 2048 to 4096 accepted. Keys already made keep their size.
    #[arg(long, env = "ZCRED_ENC_RSA_BITS", default_value_t = 3072,
          value_parser = clap::value_parser!(u16).range(2048..=4096))]
    enc_rsa_bits: u16,
    /// Seconds a connection may take to send a request's headers, and may sit idle between
    /// requests, before it is closed.
    #[arg(long, env = "ZCRED_HEADER_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u16).range(1..=3600))]
    header_timeout_seconds: u16,
    /// Seconds a request's body may take to arrive (400 after).
    #[arg(long, env = "ZCRED_BODY_TIMEOUT_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u16).range(1..=3600))]
    body_timeout_seconds: u16,
    #[command(flatten)]
    store: StoreArgs,
}

/// Where the service keeps its data: the embedded SQLite file in a directory, or PostgreSQL.
#[derive(Args)]
struct StoreArgs {
    /// Directory for the embedded database.
    #[arg(long, env = "ZCRED_DATA_DIR", default_value = "./zcred-data")]
    data_dir: PathBuf,
    /// PostgreSQL URL to use instead of the embedded database.
    #[arg(long, env = "ZCRED_DATABASE_URL")]
    database_url: Option<String>,
    /// With PostgreSQL: keep zcred's tables in this schema (created when missing).
    #[arg(long, env = "ZCRED_DATABASE_SCHEMA", requires = "database_url")]
    database_schema: Option<String>,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// API keys.
    #[command(subcommand)]
    Key(AdminKeyCommand),
    /// Issuers.
    #[command(subcommand)]
    Issuer(AdminIssuerCommand),
    /// Plans (quotas of the keys made for them).
    #[command(subcommand)]
    Plan(AdminPlanCommand),
}

#[derive(Subcommand)]
enum AdminPlanCommand {
    /// Define or redefine an operator plan; prints {"name","issuancesPerDay","requestsPerSecond"}.
    Set {
        /// The name (1–32 of a-z, 0-9, '-', '_'; not free, standard or unlimited).
        name: String,
        /// Issuances per key and UTC day, or `unlimited`.
        #[arg(long)]
        issuances_per_day: String,
        /// Requests per key and second, or `unlimited`.
        #[arg(long)]
        requests_per_second: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum AdminIssuerCommand {
    /// Approve an onboarded issuer (its KEL and agent recorded): prints {"did","status"}.
    Approve {
        /// The issuer's DID (`did:zid:…`).
        did: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum AdminKeyCommand {
    /// Create an API key; prints {"apiKey", "id", "plan", "issuer"}. The key is shown only now.
    Create {
        /// The plan: free, standard, unlimited, or one set with `zcred admin plan set`.
        #[arg(long)]
        plan: String,
        /// Bind the key to this issuer DID (`did:zid:…`).
        #[arg(long)]
        issuer: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create a new random key: prints privateKey, publicKey, address and did.
    New,
    /// Show what can be derived from a private key (`priv…`) or a public key (`b001…`).
    Show {
        /// A `priv…` private key or a `b001…` public key.
        key: String,
    },
}

#[derive(Subcommand)]
enum BbsCommand {
    /// Create a BBS+ key pair, random or from a seed (MATTR's HKDF-SHA256 derivation).
    New {
        /// Seed text; its UTF-8 bytes are the input keying material.
        #[arg(long, conflicts_with = "seed_hex")]
        seed: Option<String>,
        /// Seed bytes as hex.
        #[arg(long)]
        seed_hex: Option<String>,
    },
    /// Print the public key of a BBS+ secret key.
    Public {
        /// The secret key (`z…`, base58btc of 32 bytes).
        #[arg(long)]
        key: String,
    },
    /// Sign messages with a BBS+ secret key; prints {"signature"}.
    Sign {
        /// The secret key (`z…`).
        #[arg(long)]
        key: String,
        /// Messages are standard base64 (as in the API's `bbsBlsBase64`) instead of UTF-8 text.
        #[arg(long)]
        base64: bool,
        /// The messages, in order.
        #[arg(required = true)]
        messages: Vec<String>,
    },
    /// Verify a BBS+ signature; prints {"verified"} and exits 1 when it does not verify.
    Verify {
        /// The public key (`z…`, base58btc of 96 bytes).
        #[arg(long)]
        public_key: String,
        /// The signature (`u…`, base64url of 112 bytes).
        #[arg(long)]
        signature: String,
        /// Messages are standard base64 instead of UTF-8 text.
        #[arg(long)]
        base64: bool,
        /// The messages, in order.
        #[arg(required = true)]
        messages: Vec<String>,
    },
}

#[derive(Subcommand)]
enum VcCommand {
    /// Verify a credential offline: the issuer's Ed25519 JWS, the BBS+ signature over the
    /// credentialSubject messages, and the validity dates. Exits 0 only when every check passes.
    Verify {
        /// The issuer's Ed25519 public key (`b001…`).
        #[arg(long)]
        issuer_key: String,
        /// The issuer's BBS+ public key (`z…`).
        #[arg(long)]
        issuer_bbs_key: String,
        /// The issuer's DID, when `--issuer-key` is its key in force after a rotation (the
        /// DID stays; see its DID document's `#controllerKey`).
        #[arg(long)]
        issuer_did: Option<String>,
        /// Evaluate the validity dates at this RFC 3339 time (default: now).
        #[arg(long)]
        at: Option<String>,
        /// The credential JSON file (`-` for standard input).
        vc: PathBuf,
    },
}

/// Where the issuer's keys come from, offline: given keys, or a ledger export.
#[derive(Args)]
struct IssuerKeyArgs {
    /// The issuer's Ed25519 public key (`b001…`): checks a full credential's JWS.
    #[arg(long)]
    issuer_key: Option<String>,
    /// The issuer's BBS+ public key (`z…`).
    #[arg(long, requires = "issuer_key")]
    issuer_bbs_key: Option<String>,
    /// The issuer's DID, when `--issuer-key` is its key in force after a rotation.
    #[arg(long)]
    issuer_did: Option<String>,
    /// A ledger export (`zcred ledger export`): the issuer keys in force and, for full
    /// credentials, their status. Instead of the key options.
    #[arg(long, conflicts_with_all = ["issuer_key", "issuer_bbs_key"])]
    ledger: Option<PathBuf>,
}

#[derive(Subcommand)]
enum VpCommand {
    /// Make a finished presentation from a credential file, locally: the holder never sends the
    /// full credential anywhere. Prints the VP.
    Create {
        /// The credential JSON file (as downloaded).
        #[arg(long)]
        vc: PathBuf,
        /// A path `<subjectKey>.<key>` to disclose (repeat). None given: everything but the
        /// ranged attributes. `--reveal id` discloses only the subject DID.
        #[arg(long)]
        reveal: Vec<String>,
        /// `attribute:min:max`: prove the hidden integer lies in [min, max] (repeat).
        #[arg(long)]
        range: Vec<String>,
        /// The verifier's nonce.
        #[arg(long)]
        challenge: Option<String>,
        /// The holder's private key (`priv…`).
        #[arg(long)]
        key: String,
        #[command(flatten)]
        issuer: IssuerKeyArgs,
    },
    /// Verify a presentation offline, every check of api.md §10.3. Prints the outcome; exits 0
    /// only when verified.
    Verify {
        /// The presentation JSON file (`-` for standard input).
        vp: PathBuf,
        /// The nonce the verifier expects.
        #[arg(long)]
        challenge: Option<String>,
        /// Evaluate dates at this RFC 3339 time (default: now).
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        issuer: IssuerKeyArgs,
    },
}

/// An error to report on one line; the process exits with `code`.
struct Failure {
    message: String,
    code: u8,
}

fn bad(message: impl std::fmt::Display) -> Failure {
    Failure {
        message: message.to_string(),
        code: 2,
    }
}

/// The outcome of a command: JSON to print, and whether it is a success.
struct Output {
    json: Value,
    ok: bool,
}

impl From<Value> for Output {
    fn from(json: Value) -> Self {
        Self { json, ok: true }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        // The export to standard output printed the stream itself.
        Ok(Output {
            json: Value::Null,
            ok: true,
        }) => ExitCode::SUCCESS,
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            let printed = serde_json::to_writer_pretty(&mut stdout, &out.json).is_ok()
                && writeln!(stdout).is_ok();
            if printed && out.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(f) => {
            eprintln!("zcred: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn run(command: Command) -> Result<Output, Failure> {
    match command {
        Command::Serve(args) => serve(args),
        Command::Issuer(cmd) => client::issuer(cmd),
        Command::Template(cmd) => client::template(cmd),
        Command::Holder(cmd) => client::holder(cmd),
        Command::Admin(AdminCommand::Key(AdminKeyCommand::Create {
            plan,
            issuer,
            store,
        })) => admin_key_create(&plan, issuer.as_deref(), &store),
        Command::Admin(AdminCommand::Issuer(AdminIssuerCommand::Approve { did, store })) => {
            admin_issuer_approve(&did, &store)
        }
        Command::Admin(AdminCommand::Plan(AdminPlanCommand::Set {
            name,
            issuances_per_day,
            requests_per_second,
            store,
        })) => admin_plan_set(name, &issuances_per_day, &requests_per_second, &store),
        Command::Key(KeyCommand::New) => {
            let sk = SigningKey::generate(&mut OsRng);
            Ok(key_json(Some(&sk), &sk.verifying_key()).into())
        }
        Command::Key(KeyCommand::Show { key }) => key_show(&key),
        Command::Sign { key, hex } => sign(&key, &hex),
        Command::Bbs(cmd) => bbs_command(cmd),
        Command::Vc(VcCommand::Verify {
            issuer_key,
            issuer_bbs_key,
            issuer_did,
            at,
            vc,
        }) => vc_verify(
            &issuer_key,
            &issuer_bbs_key,
            issuer_did.as_deref(),
            at.as_deref(),
            &vc,
        ),
        Command::Ledger(cmd) => ledger_command(cmd),
        Command::Vp(cmd) => vp::command(cmd),
        Command::Bench(cmd) => bench::command(cmd),
    }
}

/// Reads a file, or standard input for `-`.
fn read_input(path: &PathBuf) -> Result<Vec<u8>, Failure> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .map_err(|e| bad(format!("reading standard input: {e}")))?;
        Ok(bytes)
    } else {
        std::fs::read(path).map_err(|e| bad(format!("reading {}: {e}", path.display())))
    }
}

fn ledger_command(cmd: LedgerCommand) -> Result<Output, Failure> {
    match cmd {
        LedgerCommand::Said { file } => {
            let bytes = read_input(&file)?;
            let value: Value = serde_json::from_slice(&bytes)
                .map_err(|e| bad(format!("{} is not JSON: {e}", file.display())))?;
            let Value::Object(map) = value else {
                return Err(bad(format!("{} is not a JSON object", file.display())));
            };
            let check = zcred_ledger::inspect::check_said(&map).map_err(|e| match e {
                zcred_ledger::EventError::NotObject => bad(
                    "not a KERI event, ACDC or JSON Schema: it has no version string \"v\" and no \"$id\"",
                ),
                other => bad(other),
            })?;
            let ok = check.matches;
            Ok(Output {
                json: serde_json::to_value(check).map_err(bad)?,
                ok,
            })
        }
        LedgerCommand::Verify {
            file,
            batch_anchors,
        } => {
            let bytes = read_input(&file)?;
            let options = zcred_ledger::Options { batch_anchors };
            match zcred_ledger::verify::verify_stream(&bytes, options) {
                Ok(ledger) => Ok(ledger_summary(&ledger).into()),
                Err(failure) => Ok(Output {
                    json: json!({
                        "verified": false,
                        "event": failure.at,
                        "error": failure.reason,
                    }),
                    ok: false,
                }),
            }
        }
        LedgerCommand::Export { store, out } => ledger_export(&store, out.as_deref()),
        LedgerCommand::Audit { store } => ledger_audit(&store),
    }
}

/// `zcred ledger audit`.
fn ledger_audit(args: &StoreArgs) -> Result<Output, Failure> {
    existing_store(args)?;
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let started = std::time::Instant::now();
    let mut last_shown = started;
    let mut progress = move |events: u64, at: u64, until: u64| {
        if !terminal || last_shown.elapsed() < std::time::Duration::from_millis(500) {
            return;
        }
        last_shown = std::time::Instant::now();
        let rate = events as f64 / started.elapsed().as_secs_f64().max(1e-3);
        let eta = until.saturating_sub(at) as f64 / rate.max(1.0);
        eprint!(
            "\raudit: {events} events checked (ordinal {at} of {until}), {rate:.0} events/s, ETA {eta:.0} s   "
        );
    };
    let outcome = runtime()?.block_on(async {
        with_store!(args, |store, _kind| {
            Ok::<_, Failure>(
                zcred_store::audit(&store, zcred_ledger::Options::default(), &mut progress).await,
            )
        })
    })?;
    if terminal {
        eprintln!();
    }
    let seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(report) => Ok(json!({
            "verified": true,
            "events": report.events,
            "lastOrdinal": report.to,
            "kels": report.kels,
            "registries": report.registries,
            "credentialEvents": report.credential_events,
            "rowsChecked": report.rows,
            "rowsMovedOnMeanwhile": report.moved,
            "seconds": (seconds * 100.0).round() / 100.0,
            "eventsPerSecond": (report.events as f64 / seconds.max(1e-3)).round(),
        })
        .into()),
        Err(e @ zcred_store::AuditError::Store(_)) => Err(bad(e)),
        Err(e) => {
            let (event, row) = match &e {
                zcred_store::AuditError::Invalid {
                    ordinal,
                    ilk,
                    prefix,
                    sn,
                    ..
                } => (
                    json!({ "ordinal": ordinal, "ilk": ilk, "prefix": prefix, "sn": sn }),
                    Value::Null,
                ),
                zcred_store::AuditError::Row { key, .. } => (Value::Null, json!(key)),
                _ => (Value::Null, Value::Null),
            };
            Ok(Output {
                json: json!({ "verified": false, "event": event, "row": row, "error": e.to_string() }),
                ok: false,
            })
        }
    }
}

/// The embedded database must exist already: reading commands never create one.
fn existing_store(args: &StoreArgs) -> Result<(), Failure> {
    if args.database_url.is_none() {
        let db = args.data_dir.join(zcred_store_sqlite::FILE_NAME);
        if !db.is_file() {
            return Err(bad(format!(
                "no zcred database at {} (run `zcred serve` with this --data-dir first)",
                db.display()
            )));
        }
    }
    Ok(())
}

/// Key states, registries and credentials of a verified stream, in a stable order.
fn ledger_summary(ledger: &zcred_ledger::Ledger) -> Value {
    let mut kels: Vec<_> = ledger.key_states().collect();
    kels.sort_by(|a, b| a.prefix.cmp(&b.prefix));
    let mut registries: Vec<_> = ledger.registries().collect();
    registries.sort_by(|a, b| a.id.cmp(&b.id));
    let mut credentials: Vec<_> = ledger.credentials().collect();
    credentials.sort_by(|a, b| a.said.cmp(&b.said));
    let revoked = credentials
        .iter()
        .filter(|c| c.status == zcred_ledger::verify::Status::Revoked)
        .count();
    json!({
        "verified": true,
        "events": ledger.accepted(),
        "keyStates": kels,
        "registries": registries,
        "credentials": credentials,
        "issued": credentials.len() - revoked,
        "revoked": revoked,
        "duplicity": ledger.duplicity(),
    })
}

/// Writes the store's stream to `out`, or to standard output.
async fn export_to<S: zcred_store::LedgerStore>(
    store: &S,
    out: Option<&std::path::Path>,
) -> Result<Output, Failure> {
    match out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| bad(format!("creating {}: {e}", path.display())))?;
            let mut writer = std::io::BufWriter::new(file);
            let events = zcred_store::export(store, &mut writer).await.map_err(bad)?;
            writer
                .flush()
                .map_err(|e| bad(format!("writing {}: {e}", path.display())))?;
            Ok(json!({ "events": events, "file": path }).into())
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            zcred_store::export(store, &mut stdout).await.map_err(bad)?;
            stdout.flush().map_err(|e| bad(format!("writing: {e}")))?;
            Ok(Output {
                json: Value::Null,
                ok: true,
            })
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| bad(format!("starting the runtime: {e}")))
}

/// The store's log as one stream. The embedded database must exist already: exporting never
/// creates one.
fn ledger_export(args: &StoreArgs, out: Option<&std::path::Path>) -> Result<Output, Failure> {
    existing_store(args)?;
    runtime()?.block_on(async { with_store!(args, |store, _kind| export_to(&store, out).await) })
}

fn serve(args: ServeArgs) -> Result<Output, Failure> {
    // Logging never blocks request handling: a sink that stops reading costs log lines
    // (counted and reported), not the service.
    tracing_subscriber::fmt()
        .with_writer(log::NonBlocking::new(std::io::stderr()))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    runtime()?.block_on(async {
        with_store!(args.store, |store, kind| {
            run_server(store.clone(), kind, &args).await
        })
    })
}

async fn run_server<S>(store: S, kind: &str, args: &ServeArgs) -> Result<Output, Failure>
where
    S: zcred_server::Store,
{
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| bad(format!("--listen {}: {e}", args.listen)))?;
    let journal = zcred_store::Journal::new(store, zcred_ledger::Options::default());
    let master_path = args
        .master_key_file
        .clone()
        .unwrap_or_else(|| args.store.data_dir.join("master.key"));
    if !master_path.exists() {
        let has_agents =
            !zcred_store::LedgerStore::states_after(journal.store(), "delegate/", "", 1)
                .await
                .map_err(|e| bad(format!("reading the store: {e}")))?
                .is_empty();
        if has_agents {
            return Err(bad(format!(
                "--master-key-file: {} is missing, but the event log holds anchoring agents whose keys are sealed under a master key; restore the file (a new one cannot open them)",
                master_path.display()
            )));
        }
    }
    let (master, made) = zcred_server::keys::MasterKey::load_or_create(&master_path)
        .map_err(|e| bad(format!("--master-key-file: {e}")))?;
    if made {
        tracing::warn!(
            path = %master_path.display(),
            "generated a new master key (mode 0600); keep it: the service's keys are sealed under it"
        );
    }
    zcred_server::agent::master_opens_agents(&journal, &master)
        .await
        .map_err(|e| bad(format!("--master-key-file {}: {e}", master_path.display())))?;
    let address = listener
        .local_addr()
        .map_err(|e| bad(format!("--listen: {e}")))?;
    let ready = json!({
        "listening": address.to_string(),
        "storage": kind,
        "dataDir": args.store.data_dir,
    });
    let admin_token = match &args.admin_token_file {
        Some(path) => {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(path)
                    .map_err(|e| bad(format!("--admin-token-file {}: {e}", path.display())))?,
            );
            if text.trim().len() < 16 {
                return Err(bad(
                    "--admin-token-file: the token must be at least 16 characters",
                ));
            }
            Some(zcred_server::admin::token_digest(&text))
        }
        None => None,
    };
    let settings = zcred_server::Settings {
        ledger_base: args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"))
            .trim_end_matches('/')
            .to_owned(),
        allow_server_side_signing: args.allow_server_side_signing,
        abandoned_after_ms: i64::from(args.abandoned_after_days) * 24 * 3600 * 1000,
        enc_rsa_bits: usize::from(args.enc_rsa_bits),
        header_timeout: std::time::Duration::from_secs(u64::from(args.header_timeout_seconds)),
        body_timeout: std::time::Duration::from_secs(u64::from(args.body_timeout_seconds)),
        ..zcred_server::Settings::default()
    };
    let state = zcred_server::AppState::configured(journal, master, admin_token, settings);
    // No replay: the tail written since the last verified point is checked, then the node
    // serves (ledger.md "Durability").
    let started = std::time::Instant::now();
    let report = zcred_server::check_tail(&state)
        .await
        .map_err(|e| bad(format!("the event log does not verify: {e}")))?;
    tracing::info!(
        events = report.events,
        from = report.from,
        to = report.to,
        millis = started.elapsed().as_millis() as u64,
        "verified the log's tail"
    );
    println!("{ready}");
    std::io::stdout()
        .flush()
        .map_err(|e| bad(format!("writing: {e}")))?;
    zcred_server::serve(listener, state, zcred_server::shutdown_signal())
        .await
        .map_err(|e| bad(format!("serving: {e}")))?;
    Ok(Output {
        json: Value::Null,
        ok: true,
    })
}

fn admin_issuer_approve(did: &str, args: &StoreArgs) -> Result<Output, Failure> {
    let did = zcred_model::Did::parse(did).map_err(|e| bad(format!("<did>: {e}")))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    runtime()?.block_on(async {
        with_store!(args, |store, _kind| {
            let journal =
                zcred_store::Journal::new(store.clone(), zcred_ledger::Options::default());
            zcred_server::admin::approve(&journal, &did, now)
                .await
                .map_err(|e| bad(e.message.message))
        })
    })?;
    Ok(json!({ "did": did.as_str(), "status": "APPROVED" }).into())
}

/// A limit: a number up to `max`, or `unlimited` (`none`).
fn limit(text: &str, flag: &str, max: u64, none: u64) -> Result<u64, Failure> {
    if text == "unlimited" {
        return Ok(none);
    }
    text.parse::<u64>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| bad(format!("{flag}: a whole number up to {max}, or unlimited")))
}

fn admin_plan_set(
    name: String,
    issuances: &str,
    requests: &str,
    args: &StoreArgs,
) -> Result<Output, Failure> {
    let plan = zcred_server::access::Plan {
        name,
        issuances_per_day: limit(issuances, "--issuances-per-day", u64::MAX - 1, u64::MAX)?,
        requests_per_second: limit(
            requests,
            "--requests-per-second",
            u64::from(u32::MAX - 1),
            u64::from(u32::MAX),
        )? as u32,
    };
    runtime()?.block_on(async {
        with_store!(args, |store, _kind| {
            zcred_server::access::set_plan(&store, &plan)
                .await
                .map_err(|e| bad(e.message.message))
        })
    })?;
    Ok(zcred_server::admin::plan_json(&plan).into())
}

fn admin_key_create(plan: &str, issuer: Option<&str>, args: &StoreArgs) -> Result<Output, Failure> {
    let issuer = issuer
        .map(|did| {
            zcred_model::Did::parse(did)
                .map(|d| d.to_string())
                .map_err(|e| bad(format!("--issuer: {e}")))
        })
        .transpose()?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (text, record) = runtime()?.block_on(async {
        with_store!(args, |store, _kind| {
            let plan = zcred_server::access::plan_for_key(&store, plan)
                .await
                .map_err(|e| bad(format!("--plan: {}", e.message.message)))?;
            let (text, record) = zcred_server::access::new_key(&plan, issuer.clone(), now);
            zcred_store::AccessStore::put_api_key(&store, record.clone())
                .await
                .map_err(bad)?;
            Ok::<_, Failure>((text, record))
        })
    })?;
    Ok(json!({
        "apiKey": text.as_str(),
        "id": record.id,
        "plan": record.plan,
        "issuer": record.issuer,
    })
    .into())
}

/// `{privateKey?, publicKey, address, did}` in that order.
fn key_json(private: Option<&SigningKey>, key: &VerifyingKey) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(sk) = private {
        out.insert(
            "privateKey".into(),
            Value::String(sk.to_zetrix().to_string()),
        );
    }
    out.insert("publicKey".into(), Value::String(key.to_zetrix()));
    out.insert("address".into(), Value::String(key.address().to_string()));
    out.insert("did".into(), Value::String(key.did()));
    Value::Object(out)
}

fn key_show(key: &str) -> Result<Output, Failure> {
    if key.starts_with("priv") {
        let sk = SigningKey::from_zetrix(key).map_err(bad)?;
        Ok(key_json(Some(&sk), &sk.verifying_key()).into())
    } else {
        let vk = VerifyingKey::from_zetrix(key).map_err(bad)?;
        Ok(key_json(None, &vk).into())
    }
}

fn sign(key: &str, hex_bytes: &str) -> Result<Output, Failure> {
    let sk = SigningKey::from_zetrix(key).map_err(bad)?;
    let bytes = hex::decode(hex_bytes).map_err(|_| bad("the bytes to sign must be hex"))?;
    Ok(json!({ "signature": sk.sign(&bytes).to_hex() }).into())
}

fn messages(texts: Vec<String>, base64: bool) -> Result<Vec<Vec<u8>>, Failure> {
    texts
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            if base64 {
                multibase::from_base64(&m).map_err(|_| {
                    bad(format!(
                        "message {} is not standard base64 with padding",
                        i + 1
                    ))
                })
            } else {
                Ok(m.into_bytes())
            }
        })
        .collect()
}

fn bbs_command(cmd: BbsCommand) -> Result<Output, Failure> {
    match cmd {
        BbsCommand::New { seed, seed_hex } => {
            let secret = match (seed, seed_hex) {
                (Some(text), _) => bbs::SecretKey::from_seed(text.as_bytes()).map_err(bad)?,
                (None, Some(h)) => {
                    let bytes = hex::decode(h).map_err(|_| bad("--seed-hex must be hex"))?;
                    bbs::SecretKey::from_seed(&bytes).map_err(bad)?
                }
                (None, None) => bbs::SecretKey::generate(&mut OsRng),
            };
            Ok(json!({
                "publicKeyMultibase": secret.public_key().to_multibase(),
                "privateKeyMultibase": secret.to_multibase().as_str(),
            })
            .into())
        }
        BbsCommand::Public { key } => {
            let secret = bbs::SecretKey::from_multibase(&key).map_err(bad)?;
            Ok(json!({ "publicKeyMultibase": secret.public_key().to_multibase() }).into())
        }
        BbsCommand::Sign {
            key,
            base64,
            messages: texts,
        } => {
            let pair = bbs::KeyPair::new(bbs::SecretKey::from_multibase(&key).map_err(bad)?);
            let msgs = messages(texts, base64)?;
            let sig = pair.sign(&msgs, &mut OsRng).map_err(bad)?;
            Ok(json!({ "signature": sig.to_multibase() }).into())
        }
        BbsCommand::Verify {
            public_key,
            signature,
            base64,
            messages: texts,
        } => {
            let pk = bbs::PublicKey::from_multibase(&public_key).map_err(bad)?;
            let sig = bbs::Signature::from_multibase(&signature).map_err(bad)?;
            let msgs = messages(texts, base64)?;
            let verified = pk.verify(&msgs, &sig).is_ok();
            Ok(Output {
                json: json!({ "verified": verified }),
                ok: verified,
            })
        }
    }
}

fn vc_verify(
    issuer_key: &str,
    issuer_bbs_key: &str,
    issuer_did: Option<&str>,
    at: Option<&str>,
    path: &PathBuf,
) -> Result<Output, Failure> {
    let ed25519 =
        VerifyingKey::from_zetrix(issuer_key).map_err(|e| bad(format!("--issuer-key: {e}")))?;
    let bbs_key = bbs::PublicKey::from_multibase(issuer_bbs_key)
        .map_err(|e| bad(format!("--issuer-bbs-key: {e}")))?;
    let did = issuer_did
        .map(|d| zcred_model::Did::parse(d).map_err(|e| bad(format!("--issuer-did: {e}"))))
        .transpose()?;
    let at = match at {
        Some(t) => zcred_model::time::parse(t).map_err(|e| bad(format!("--at: {e}")))?,
        None => time::OffsetDateTime::now_utc(),
    };
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| bad(format!("reading standard input: {e}")))?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| bad(format!("reading {}: {e}", path.display())))?
    };
    let vc = Credential::from_json(&text).map_err(bad)?;
    let report = verify_credential(
        &vc,
        IssuerKeys {
            ed25519: &ed25519,
            bbs: &bbs_key,
            did: did.as_ref(),
        },
        at,
    );
    let ok = report.verified;
    let json = serde_json::to_value(&report).map_err(bad)?;
    Ok(Output { json, ok })
}
