//! Crash safety: an issuance load against `zcred serve`, killed with SIGKILL at random moments
//! (20 times) and started again on the same store each time. Afterwards every issuance that
//! was answered 200 is issued and downloadable; an issuance whose answer was lost is either
//! issued whole or not at all (its record and its TEL event go together); the store's log
//! replays at every start and verifies offline from its export, with exactly the credentials
//! the records say are issued. On SQLite, and on PostgreSQL when `ZCRED_TEST_DATABASE_URL` is
//! set.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use zcred_crypto::zetrix::SigningKey;
use zcred_crypto::{OsRng, RngCore as _};

use crate::commands::{ok, scratch};
use crate::lifecycle::{application, submit_body, Issuer, Issuing};
use crate::serve::Server;

/// `zcred serve` started again with `args`.
fn restart(args: &[String]) -> Server {
    Server::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Kills per run.
const KILLS: usize = 20;
/// Clients issuing at once.
const CLIENTS: usize = 3;

/// One POST that may meet a dead server: `None` when the connection fails or the answer is cut.
fn try_post(address: &str, path: &str, key: &str, body: &Value) -> Option<(u16, Value)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let body = body.to_string();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nAuthorization: Bearer {key}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8(response).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, serde_json::from_str(body).ok()?))
}

/// An issuance whose apply was answered: the holder's key and the vcId, and whether the
/// submit was answered 200.
struct Attempt {
    holder: SigningKey,
    vc_id: String,
    acked: bool,
}

/// Apply → create → sign → submit; `None` when the apply got no answer.
fn attempt(address: &str, si: &str, issuer: &Issuer, template: &str, n: u64) -> Option<Attempt> {
    let holder = SigningKey::generate(&mut OsRng);
    let values = json!({ "name": format!("Holder {n}"), "age": "30" });
    let (status, applied) = try_post(
        address,
        "/cred/v1/vc/apply",
        si,
        &application(
            &holder,
            json!([{ "templateId": template, "metadata": values }]),
        ),
    )?;
    if status != 200 {
        return None;
    }
    let vc_id = applied["object"]["vcId"].as_str()?.to_owned();
    let mut out = Attempt {
        holder,
        vc_id,
        acked: false,
    };
    let create = json!({
        "vcId": out.vc_id, "issuanceDate": "2025-01-01", "expirationDate": "2030-01-01",
        "data": [{ "templateId": template, "metadata": { "idNo": format!("id-{n}") } }]
    });
    let Some((200, created)) = try_post(address, "/cred/v1/vc/create", &issuer.api_key, &create)
    else {
        return Some(out);
    };
    let submit = submit_body(issuer, &out.vc_id, &created["object"]);
    if let Some((status, answer)) =
        try_post(address, "/cred/v1/vc/submit", &issuer.api_key, &submit)
    {
        assert!(status != 500, "a 500 under load: {answer}");
        out.acked = status == 200;
    }
    Some(out)
}

/// `database`: the PostgreSQL arguments, or none for SQLite (in `data_dir`).
fn crash_story(database: &[&str], data_dir: &str) {
    let store = [database, &["--data-dir", data_dir]].concat();
    let store = store.as_slice();
    let fixture = Issuing::start(store, "crash", true);
    let (si, issuer, template) = (fixture.si, fixture.issuer, fixture.template);
    let mut server = fixture.server;
    let issuer = Arc::new(issuer);
    let attempts: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    for round in 0..KILLS {
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (address, si, issuer, template, stop, attempts) = (
                    server.address.clone(),
                    si.clone(),
                    Arc::clone(&issuer),
                    template.clone(),
                    Arc::clone(&stop),
                    Arc::clone(&attempts),
                );
                std::thread::spawn(move || {
                    let mut n = (round * CLIENTS + c) as u64 * 1_000_000;
                    while !stop.load(Ordering::SeqCst) {
                        n += 1;
                        if let Some(a) = attempt(&address, &si, &issuer, &template, n) {
                            attempts.lock().unwrap().push(a);
                        }
                    }
                })
            })
            .collect();
        // A random moment: 100–600 ms into the load.
        std::thread::sleep(Duration::from_millis(100 + OsRng.next_u64() % 500));
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        stop.store(true, Ordering::SeqCst);
        for w in workers {
            w.join().unwrap();
        }
        // The restart replays and verifies the whole log; a half-written one would not start.
        server = restart(&fixture.args);
    }

    let attempts = attempts.lock().unwrap();
    let acked = attempts.iter().filter(|a| a.acked).count();
    assert!(
        acked >= KILLS,
        "too few issuances answered to test anything: {acked}"
    );
    let mut issued = 0;
    for a in attempts.iter() {
        let body =
            json!({ "vcId": a.vc_id, "signVcId": a.holder.sign(a.vc_id.as_bytes()).to_hex() });
        let (status, answer) = server.post("/cred/v1/vc/download", Some(&si), &body);
        if a.acked {
            assert_eq!(status, 200, "an acknowledged issuance is gone: {answer}");
        } else {
            // Its answer was lost: issued whole, or still APPLIED/CREATED.
            assert!(
                matches!(status, 200 | 409),
                "{}: {status} {answer}",
                a.vc_id
            );
        }
        if status == 200 {
            assert_eq!(answer["object"]["id"], json!(a.vc_id));
            issued += 1;
        }
    }
    drop(server);
    // The log, exported and verified offline, holds exactly the issued credentials.
    let stream = format!("{data_dir}/crash-export.cesr");
    ok(&[&["ledger", "export", "--out", stream.as_str()], store].concat());
    let report = ok(&["ledger", "verify", "--file", &stream]);
    assert_eq!(report["verified"], true, "{report}");
    let credentials = report["credentials"].as_array().unwrap();
    assert_eq!(
        credentials.len(),
        issued,
        "every issued record has its TEL event and no TEL event lacks its record"
    );
    assert!(credentials.iter().all(|c| c["status"] == "issued"));
    println!(
        "crash test: {KILLS} kills, {} attempts, {acked} acknowledged, {issued} issued",
        attempts.len()
    );
}

#[test]
fn kill_9_loses_nothing_acknowledged_on_sqlite() {
    let dir = scratch("crash");
    let data = dir.display().to_string();
    crash_story(&[], &data);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs PostgreSQL: set ZCRED_TEST_DATABASE_URL"
)]
fn kill_9_loses_nothing_acknowledged_on_postgres() {
    let Ok(url) = std::env::var("ZCRED_TEST_DATABASE_URL") else {
        println!("skipped kill_9_loses_nothing_acknowledged_on_postgres: ZCRED_TEST_DATABASE_URL is not set");
        return;
    };
    let dir = scratch("crash-pg");
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.display().to_string();
    let schema = crate::serve::pg_schema("zcred_crash");
    crash_story(
        &["--database-url", &url, "--database-schema", &schema],
        &data,
    );
    crate::serve::drop_schema(&url, &schema);
    let _ = std::fs::remove_dir_all(&dir);
}
