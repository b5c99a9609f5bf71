//! Two `zcred serve` nodes on one PostgreSQL schema (and a third started mid-run), sharing the
//! master key and the admin token, with a client that talks to either, as behind a load
//! balancer: every cross-node pair of issue 18 (onboard on A → template on B; apply on A →
//! issue on B; issue on A → download and VP verify on B; revoke on A → revoked on B at once;
//! rotate on A → the new key works and the old one is refused on B at once; an `/enc/` key
//! retired on A → refused by B when its grace ends). Then eight clients issue through the
//! nodes while one of them is SIGKILLed and started again: no 5xx, no 409 the clients did not
//! cause, every acknowledged issuance downloads, and the stored log passes `zcred ledger audit`
//! and `ledger export | ledger verify`. Needs `ZCRED_TEST_DATABASE_URL`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use zcred_crypto::zetrix::SigningKey;
use zcred_crypto::OsRng;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;

use crate::commands::{api_key, ok, scratch};
use crate::lifecycle::{
    accepted, application, approve, issue_request, onboard, register, signers, submit_body, Issuer,
};
use crate::presentation::vp_signed;
use crate::serve::Server;

/// The nodes' shared arguments: the store, the data directory, the master key, the token.
struct Cluster {
    args: Vec<String>,
    store: Vec<String>,
    admin: String,
    url: String,
    schema: String,
    dir: std::path::PathBuf,
}

impl Cluster {
    /// A fresh schema and data directory; `None` (printed) without a test database.
    fn new(test: &str) -> Option<Cluster> {
        let Ok(url) = std::env::var("ZCRED_TEST_DATABASE_URL") else {
            println!("skipped {test}: ZCRED_TEST_DATABASE_URL is not set");
            return None;
        };
        let dir = scratch(test);
        std::fs::create_dir_all(&dir).unwrap();
        let schema = crate::serve::pg_schema("zcred_nodes");
        let admin = "the operator's token shared by the nodes".to_owned();
        let token = dir.join("admin-token");
        std::fs::write(&token, &admin).unwrap();
        let master = dir.join("master.key");
        let store: Vec<String> = ["--database-url", &url, "--database-schema", &schema]
            .map(str::to_owned)
            .to_vec();
        let mut args = store.clone();
        args.extend(
            [
                "--data-dir",
                &dir.display().to_string(),
                "--master-key-file",
                &master.display().to_string(),
                "--admin-token-file",
                &token.display().to_string(),
            ]
            .map(str::to_owned),
        );
        Some(Cluster {
            args,
            store,
            admin,
            url,
            schema,
            dir,
        })
    }

    /// Drops the schema and the directory.
    fn clean(self) {
        crate::serve::drop_schema(&self.url, &self.schema);
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    fn node(&self) -> Server {
        Server::start(&self.args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn store(&self) -> Vec<&str> {
        self.store.iter().map(String::as_str).collect()
    }
}

/// An issued credential: its holder and vcId, and the VC.
fn issue(
    apply_on: &Server,
    issue_on: &Server,
    si: &str,
    issuer: &Issuer,
    template: &str,
    n: usize,
) -> (SigningKey, String, Value) {
    let holder = SigningKey::generate(&mut OsRng);
    let applied = accepted(
        apply_on,
        si,
        "/cred/v1/vc/apply",
        &application(
            &holder,
            json!([{ "templateId": template, "metadata": { "name": format!("Holder {n}"), "age": "30" } }]),
        ),
    );
    let vc_id = applied["vcId"].as_str().unwrap().to_owned();
    let create = json!({
        "vcId": vc_id, "issuanceDate": "2025-01-01", "expirationDate": "2030-01-01",
        "data": [{ "templateId": template, "metadata": { "idNo": format!("id-{n}") } }]
    });
    let submit = issue_request(issue_on, issuer, &vc_id, create);
    let done = accepted(issue_on, &issuer.api_key, "/cred/v1/vc/submit", &submit);
    (holder, vc_id, done["vc"].clone())
}

fn download(server: &Server, si: &str, holder: &SigningKey, vc_id: &str) -> (u16, Value) {
    let body = json!({ "vcId": vc_id, "signVcId": holder.sign(vc_id.as_bytes()).to_hex() });
    server.post("/cred/v1/vc/download", Some(si), &body)
}

/// A presentation of `vc` made through `server` (create, then the holder's signed submit).
fn present(server: &Server, si: &str, holder: &SigningKey, vc: &Value) -> Value {
    let created = accepted(server, si, "/cred/v1/vp/create", &json!({ "vc": vc }));
    let submitted = accepted(
        server,
        si,
        "/cred/v1/vp/submit",
        &vp_signed(&created, holder, holder),
    );
    submitted["vpObject"].clone()
}

fn verify(server: &Server, si: &str, vp: &Value) -> Value {
    accepted(server, si, "/cred/v1/vp/verify", &json!({ "vpObject": vp }))
}

/// A template registration's blob signed with `key`, submitted (the status and answer).
fn template_signed_by(server: &Server, issuer: &Issuer, key: &SigningKey, name: &str) -> u16 {
    let blob = accepted(
        server,
        &issuer.api_key,
        "/cred/tds/template/blob/create",
        &crate::lifecycle::template(issuer, name),
    );
    let (status, _) = server.post(
        "/cred/tds/template/submit",
        Some(&issuer.api_key),
        &signers(&blob, key),
    );
    status
}

/// The cross-node pairs, each checked at once (no waiting for caches).
fn pairs(cluster: &Cluster, a: &Server, b: &Server, si: &str) -> (Issuer, String) {
    let admin = cluster.admin.as_str();
    // Onboarded through A, approved through B, its template registered through B; B's DID
    // document shows what A recorded.
    let issuer = onboard(a, si, admin);
    approve(b, admin, &issuer.did);
    let template = register(b, &issuer, "NodesLicence");
    let (status, doc) = b.call(
        "GET",
        &format!("/1.0/identifiers/{}", issuer.did),
        None,
        b"",
    );
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["didDocumentMetadata"]["zcredIssuerStatus"], "APPROVED");
    assert_eq!(
        doc["didDocument"]["verificationMethod"][1]["publicKeyMultibase"],
        issuer.bbs.public().to_multibase().as_str()
    );

    // Applied for through A, issued through B; downloaded through A.
    let (holder, vc_id, _) = issue(a, b, si, &issuer, &template, 1);
    assert_eq!(download(a, si, &holder, &vc_id).0, 200);

    // Issued through A; downloaded and its presentation verified through B.
    let (holder, vc_id, vc) = issue(a, a, si, &issuer, &template, 2);
    let (status, downloaded) = download(b, si, &holder, &vc_id);
    assert_eq!(status, 200, "{downloaded}");
    assert_eq!(downloaded["object"]["id"], json!(vc_id));
    let vp = present(a, si, &holder, &vc);
    let outcome = verify(b, si, &vp);
    assert_eq!(
        (&outcome["verified"], &outcome["status"]),
        (&json!(true), &json!("valid")),
        "{outcome}"
    );

    // Revoked through A: B's verify says revoked at once.
    let created = accepted(
        a,
        &issuer.api_key,
        "/cred/v1/vc/revoke/create",
        &json!({ "vcId": vc_id, "issuerAddress": issuer.key.verifying_key().address().to_string() }),
    );
    accepted(
        a,
        &issuer.api_key,
        "/cred/v1/vc/revoke/submit",
        &signers(&created, &issuer.key),
    );
    let outcome = verify(b, si, &vp);
    assert_eq!(
        (&outcome["verified"], &outcome["status"]),
        (&json!(false), &json!("revoked")),
        "{outcome}"
    );

    // The issuer's key rotated through A: through B at once the old key is refused (401) and
    // the new one works, and B's DID document shows the new key.
    let next_next = SigningKey::generate(&mut OsRng);
    let blob = accepted(
        a,
        &issuer.api_key,
        "/zcred/v1/issuer/rotation/create",
        &json!({
            "did": issuer.did,
            "publicKey": issuer.next.verifying_key().to_zetrix(),
            "nextPublicKey": next_next.verifying_key().to_zetrix(),
        }),
    );
    accepted(
        a,
        &issuer.api_key,
        "/zcred/v1/issuer/rotation/submit",
        &signers(&blob, &issuer.next),
    );
    assert_eq!(template_signed_by(b, &issuer, &issuer.key, "OldKey"), 401);
    let (status, doc) = b.call(
        "GET",
        &format!("/1.0/identifiers/{}", issuer.did),
        None,
        b"",
    );
    assert_eq!(status, 200);
    assert_eq!(
        doc["didDocument"]["verificationMethod"][0]["publicKeyMultibase"],
        issuer.next.verifying_key().to_multibase().as_str()
    );
    let mut rotated = Issuer {
        key: SigningKey::from_zetrix(&issuer.next.to_zetrix()).unwrap(),
        next: next_next,
        bbs: issuer.bbs,
        did: issuer.did,
        api_key: issuer.api_key,
    };
    assert_eq!(template_signed_by(b, &rotated, &rotated.key, "NewKey"), 200);
    // A credential issued through B with the new key verifies through A.
    let (holder, _, vc) = issue(b, b, si, &rotated, &template, 3);
    let vp = present(b, si, &holder, &vc);
    assert_eq!(verify(a, si, &vp)["verified"], true);

    // An /enc/ key retired through A with a 2 s grace: B publishes the new key at once, takes
    // the old one until the grace ends, and refuses it after.
    let old_enc = b.enc_key(si).key_id().to_owned();
    let rotation = accepted(
        a,
        admin,
        "/zcred/v1/admin/enc/rotate",
        &json!({ "graceSeconds": 2 }),
    );
    let (status, keys) = b.call("GET", "/cred/v1/enc/keys", Some(si), b"");
    assert_eq!(status, 200);
    assert_eq!(keys["object"]["keyId"], rotation["keyId"]);
    assert_ne!(keys["object"]["keyId"], json!(old_enc));
    let probe =
        json!({ "vcId": format!("did:zid:{}", "ab".repeat(32)), "signVcId": "00".repeat(64) });
    // Opened with the old key during the grace: the plain handler answers (no such vcId).
    let twin = zcred_server::routes::twin_of("/cred/v1/vc/download")
        .unwrap()
        .path;
    let (status, answer) = b.post_sealed(twin, si, &probe);
    assert_eq!(status, 404, "{answer}");
    assert!(
        answer["messages"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no credential"),
        "{answer}"
    );
    std::thread::sleep(Duration::from_millis(3100));
    let (status, answer) = b.post_sealed(twin, si, &probe);
    assert_eq!(
        status, 400,
        "the retired key is refused after its grace: {answer}"
    );
    rotated.api_key = unlimited_key(a, admin, &rotated.did);
    (rotated, template)
}

fn unlimited_key(server: &Server, admin: &str, did: &str) -> String {
    let made = accepted(
        server,
        admin,
        "/zcred/v1/admin/keys/create",
        &json!({ "plan": "unlimited", "issuer": did }),
    );
    made["apiKey"].as_str().unwrap().to_owned()
}

/// What the load saw.
#[derive(Default)]
struct Tally {
    /// (holder, vcId) of every acknowledged issuance.
    acked: Vec<(SigningKey, String)>,
    /// Issuances whose submit answer was lost (node killed): issued whole or not at all.
    lost: Vec<(SigningKey, String)>,
    /// Answers that should never happen: a 5xx, or a 409 the client did not cause.
    wrong: Vec<String>,
    calls: usize,
}

/// Why one POST got no answer.
enum Unanswered {
    /// The node took no connection: the call did not run.
    Refused,
    /// The connection broke after the request went out: the call may have run.
    Lost,
}

/// One POST to `address`.
fn post_once(
    address: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> Result<(u16, Value), Unanswered> {
    let mut stream = TcpStream::connect(address).map_err(|_| Unanswered::Refused)?;
    let lost = |_| Unanswered::Lost;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(lost)?;
    let body = body.to_string();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nAuthorization: Bearer {key}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).map_err(lost)?;
    stream.write_all(body.as_bytes()).map_err(lost)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(lost)?;
    let text = String::from_utf8(response).map_err(|_| Unanswered::Lost)?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or(Unanswered::Lost)?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(Unanswered::Lost)?;
    Ok((
        status,
        serde_json::from_str(body).map_err(|_| Unanswered::Lost)?,
    ))
}

/// One call through the "load balancer": the preferred node first, the next one when a node
/// takes no connection. A call whose answer was lost is sent again only when `retry_lost`;
/// the answer then says so (`true`: an earlier attempt may have run). `None` when an answer
/// was lost and not retried.
fn balanced(
    nodes: &Mutex<Vec<String>>,
    first: usize,
    path: &str,
    key: &str,
    body: &Value,
    retry_lost: bool,
) -> Option<((u16, Value), bool)> {
    let mut again = false;
    for i in 0..60 {
        let address = {
            let addresses = nodes.lock().unwrap();
            addresses[(first + i) % addresses.len()].clone()
        };
        match post_once(&address, path, key, body) {
            Ok(answer) => return Some((answer, again)),
            Err(Unanswered::Refused) => {}
            Err(Unanswered::Lost) if retry_lost => again = true,
            Err(Unanswered::Lost) => return None,
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Apply → create → sign → submit through the balancer, starting at node `first`.
fn one_issuance(
    nodes: &Mutex<Vec<String>>,
    first: usize,
    si: &str,
    issuer: &Issuer,
    template: &str,
    n: usize,
    tally: &Mutex<Tally>,
) {
    let wrong = |what: &str, status: u16, answer: &Value| {
        if status >= 500 || status == 409 {
            tally
                .lock()
                .unwrap()
                .wrong
                .push(format!("{what}: {status} {answer}"));
        }
    };
    let holder = SigningKey::generate(&mut OsRng);
    let apply = application(
        &holder,
        json!([{ "templateId": template, "metadata": { "name": format!("Load {n}"), "age": "30" } }]),
    );
    // An apply whose answer is lost cannot be told apart from one never made: not retried.
    let Some(((status, applied), _)) =
        balanced(nodes, first, "/cred/v1/vc/apply", si, &apply, false)
    else {
        return;
    };
    tally.lock().unwrap().calls += 1;
    if status != 200 {
        wrong("apply", status, &applied);
        return;
    }
    let vc_id = applied["object"]["vcId"].as_str().unwrap().to_owned();
    let create = json!({
        "vcId": vc_id, "issuanceDate": "2025-01-01", "expirationDate": "2030-01-01",
        "data": [{ "templateId": template, "metadata": { "idNo": format!("load-{n}") } }]
    });
    // Create is sent again when its answer was lost (it may have run: a 409 then is this
    // client's own doing, not counted).
    let Some(((status, created), again)) = balanced(
        nodes,
        first + 1,
        "/cred/v1/vc/create",
        &issuer.api_key,
        &create,
        true,
    ) else {
        return;
    };
    tally.lock().unwrap().calls += 1;
    if status != 200 {
        if !(again && status == 409) {
            wrong("create", status, &created);
        }
        return;
    }
    let submit = submit_body(issuer, &vc_id, &created["object"]);
    match balanced(
        nodes,
        first,
        "/cred/v1/vc/submit",
        &issuer.api_key,
        &submit,
        false,
    ) {
        Some(((200, _), _)) => {
            let mut t = tally.lock().unwrap();
            t.calls += 1;
            t.acked.push((holder, vc_id));
        }
        Some(((status, answer), _)) => {
            tally.lock().unwrap().calls += 1;
            wrong("submit", status, &answer);
        }
        None => tally.lock().unwrap().lost.push((holder, vc_id)),
    }
}

/// Eight clients (four starting at each of the first two nodes) issue for `seconds`; node
/// `victim` is SIGKILLed half-way and started again.
fn load(
    cluster: &Cluster,
    servers: &mut [Server],
    victim: usize,
    si: &str,
    issuer: &Arc<Issuer>,
    template: &str,
    seconds: u64,
) -> Tally {
    let nodes = Arc::new(Mutex::new(
        servers
            .iter()
            .map(|s| s.address.clone())
            .collect::<Vec<_>>(),
    ));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..8)
        .map(|c| {
            let (nodes, tally, stop, counter) = (
                Arc::clone(&nodes),
                Arc::clone(&tally),
                Arc::clone(&stop),
                Arc::clone(&counter),
            );
            let (si, issuer, template) = (si.to_owned(), Arc::clone(issuer), template.to_owned());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    one_issuance(&nodes, c % 2, &si, &issuer, &template, n, &tally);
                }
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds / 2));
    let killed = &mut servers[victim];
    killed.child.kill().unwrap();
    killed.child.wait().unwrap();
    servers[victim] = cluster.node();
    nodes.lock().unwrap()[victim] = servers[victim].address.clone();
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    Arc::try_unwrap(tally)
        .ok()
        .expect("the workers are done")
        .into_inner()
        .unwrap()
}

#[test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs PostgreSQL: set ZCRED_TEST_DATABASE_URL"
)]
fn two_nodes_on_one_postgres_schema() {
    let Some(cluster) = Cluster::new("two_nodes_on_one_postgres_schema") else {
        return;
    };
    let a = cluster.node();
    let b = cluster.node();
    let si = api_key(&cluster.store());
    let (issuer, template) = pairs(&cluster, &a, &b, &si);

    // A third node joins mid-run and answers for what the others wrote.
    let c = cluster.node();
    let (status, ready) = c.call("GET", "/readyz", None, b"");
    assert_eq!(status, 200, "{ready}");
    assert_eq!(
        template_signed_by(&c, &issuer, &issuer.key, "ThirdNode"),
        200
    );
    let (status, doc) = c.call(
        "GET",
        &format!("/1.0/identifiers/{}", issuer.did),
        None,
        b"",
    );
    assert_eq!(status, 200, "{doc}");

    // The load, with node B killed half-way and started again.
    let issuer = Arc::new(issuer);
    let mut servers = vec![a, b, c];
    let tally = load(&cluster, &mut servers, 1, &si, &issuer, &template, 8);
    assert!(tally.wrong.is_empty(), "{:#?}", tally.wrong);
    assert!(
        tally.acked.len() >= 8,
        "too few issuances answered to test anything: {}",
        tally.acked.len()
    );
    for (holder, vc_id) in &tally.acked {
        let (status, answer) = download(&servers[2], &si, holder, vc_id);
        assert_eq!(status, 200, "an acknowledged issuance is gone: {answer}");
    }
    for (holder, vc_id) in &tally.lost {
        let (status, answer) = download(&servers[0], &si, holder, vc_id);
        assert!(matches!(status, 200 | 409), "{vc_id}: {status} {answer}");
    }
    println!(
        "two nodes: {} calls, {} issuances acknowledged, {} answers lost to the kill",
        tally.calls,
        tally.acked.len(),
        tally.lost.len()
    );
    drop(servers);

    // The log the nodes wrote together audits clean and verifies offline.
    let audited = ok(&[&["ledger", "audit"], &cluster.store()[..]].concat());
    assert_eq!(audited["verified"], true, "{audited}");
    let stream = format!("{}/nodes-export.cesr", cluster.dir.display());
    ok(&[
        &["ledger", "export", "--out", stream.as_str()],
        &cluster.store()[..],
    ]
    .concat());
    let report = ok(&["ledger", "verify", "--file", &stream]);
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["events"], audited["events"]);
    cluster.clean();
}

/// A key's request rate holds across nodes: four clients on each of two nodes, all with one
/// key of a 20-requests-a-second plan, get 20 requests a second answered (within 20 %, over
/// the 3 s after the first, whose second's worth of burst any rate limit lets through), and
/// every other answer is a 429 with `Retry-After`.
#[test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs PostgreSQL: set ZCRED_TEST_DATABASE_URL"
)]
fn a_plan_rate_holds_across_two_nodes() {
    let Some(cluster) = Cluster::new("a_plan_rate_holds_across_two_nodes") else {
        return;
    };
    let nodes = [cluster.node(), cluster.node()];
    accepted(
        &nodes[0],
        &cluster.admin,
        "/zcred/v1/admin/plans/set",
        &json!({ "name": "twenty", "issuancesPerDay": 10, "requestsPerSecond": 20 }),
    );
    let made = accepted(
        &nodes[1],
        &cluster.admin,
        "/zcred/v1/admin/keys/create",
        &json!({ "plan": "twenty" }),
    );
    let key = made["apiKey"].as_str().unwrap().to_owned();
    let seconds = 3;
    let started = Instant::now();
    let steady = started + Duration::from_secs(1);
    let deadline = steady + Duration::from_secs(seconds);
    let answered = Arc::new(AtomicUsize::new(0));
    let limited = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..8)
        .map(|c| {
            let address = nodes[c % 2].address.clone();
            let (key, answered, limited) =
                (key.clone(), Arc::clone(&answered), Arc::clone(&limited));
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    let mut stream = TcpStream::connect(&address).unwrap();
                    let head = format!(
                        "GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nAuthorization: Bearer {key}\r\n\r\n"
                    );
                    stream.write_all(head.as_bytes()).unwrap();
                    let mut answer = String::new();
                    stream.read_to_string(&mut answer).unwrap();
                    match answer.split(' ').nth(1) {
                        Some("200") if Instant::now() > steady => {
                            answered.fetch_add(1, Ordering::SeqCst)
                        }
                        Some("200") => 0,
                        Some("429") => {
                            assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
                            limited.fetch_add(1, Ordering::SeqCst)
                        }
                        other => panic!("{other:?}: {answer}"),
                    };
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let (answered, limited) = (
        answered.load(Ordering::SeqCst),
        limited.load(Ordering::SeqCst),
    );
    println!("rate across two nodes: {answered} answered, {limited} limited in {seconds} s");
    assert!(
        limited > answered,
        "the clients asked for more than the plan allows"
    );
    let expected = 20 * seconds as usize;
    assert!(
        answered * 10 >= expected * 8 && answered * 10 <= expected * 12,
        "{answered} answered, {expected} ± 20 % allowed"
    );
    drop(nodes);
    cluster.clean();
}
