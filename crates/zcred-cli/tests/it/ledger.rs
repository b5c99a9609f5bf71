//! `zcred ledger said | verify | export`, run as a process.

use std::path::{Path, PathBuf};

use serde_json::Value;
use zcred_crypto::zetrix::SigningKey;
use zcred_ledger::flows;
use zcred_ledger::verify::Options;
use zcred_ledger::Said;
use zcred_store::Journal;
use zcred_store_sqlite::SqliteStore;

use crate::commands::{json_out, ok, refused, zcred};

fn ledger_vectors(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../zcred-ledger/tests/vectors")
        .join(file);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn vector<'a>(file: &'a Value, name: &str) -> &'a Value {
    file["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("zcred-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn said_of_events_acdcs_and_schemas() {
    let dir = TempDir::new("said");
    let spec = ledger_vectors("spec/keri_md.json");
    for name in ["iss", "rot", "icp-self-addressing", "vcp-no-backers"] {
        let v = vector(&spec, name);
        // Pretty-printed as a person would save it: the SAID is over the canonical form.
        let value: Value = serde_json::from_str(v["raw"].as_str().unwrap()).unwrap();
        let path = dir.file(
            &format!("{name}.json"),
            &serde_json::to_string_pretty(&value).unwrap(),
        );
        let out = ok(&["ledger", "said", &path]);
        assert_eq!(out["said"], v["said"], "{name}");
        assert_eq!(out["matches"], true, "{name}");
    }

    // A changed member: the SAID no longer matches, exit 1.
    let raw = vector(&spec, "iss")["raw"]
        .as_str()
        .unwrap()
        .replace("2021-01-01", "2021-01-02");
    let path = dir.file("changed.json", &raw);
    let out = zcred(&["ledger", "said", &path]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_out(&out);
    assert_eq!(report["matches"], false);
    assert_ne!(report["said"], report["declared"]);

    // A schema with an empty $id: its SAID is computed, and it does not match.
    let schema = vector(&spec, "schema");
    let path = dir.file("schema.json", schema["raw"].as_str().unwrap());
    let out = zcred(&["ledger", "said", &path]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_out(&out)["said"], schema["said"]);

    // An ACDC from keripy's tests.
    let acdc = ledger_vectors("keripy/acdc.json");
    let v = vector(&acdc, "acdc-proving-endorsed");
    let path = dir.file("acdc.json", v["raw"].as_str().unwrap());
    let out = ok(&["ledger", "said", &path]);
    assert_eq!(
        (out["kind"].as_str(), &out["said"]),
        (Some("acdc"), &v["said"])
    );

    // What cannot be checked is refused with a reason.
    let err = refused(&["ledger", "said", &dir.file("x.json", "[1]")]);
    assert!(err.contains("not a JSON object"), "{err}");
    let err = refused(&["ledger", "said", &dir.file("y.json", "{\"a\":1}")]);
    assert!(err.contains("no version string"), "{err}");
    let err = refused(&[
        "ledger",
        "said",
        &dir.file("z.json", "{\"v\":\"KERI10JSON000000_\",\"t\":\"iss\"}"),
    ]);
    assert!(err.contains("must have the fields"), "{err}");
    let rct = ledger_vectors("keripy/kel.json");
    let path = dir.file("rct.json", vector(&rct, "rct-sn0")["raw"].as_str().unwrap());
    let err = refused(&["ledger", "said", &path]);
    assert!(err.contains("no SAID of its own"), "{err}");
    let err = refused(&["ledger", "said", "/no/such/file.json"]);
    assert!(err.contains("reading"), "{err}");
}

#[test]
fn verify_a_keripy_stream_and_name_the_bad_event() {
    let dir = TempDir::new("verify");
    let file = ledger_vectors("keripy/delegation.json");
    let stream: String = [
        "bob-icp",
        "bob-ixn-delegating-dip",
        "del-dip",
        "bob-ixn-delegating-drt",
        "del-drt",
    ]
    .iter()
    .map(|n| vector(&file, n)["stream"].as_str().unwrap())
    .collect();
    let path = dir.file("stream.cesr", &stream);
    let out = ok(&["ledger", "verify", "--file", &path]);
    assert_eq!(out["verified"], true);
    assert_eq!(out["events"], 5);
    let states = out["keyStates"].as_array().unwrap();
    assert_eq!(states.len(), 2);
    assert!(states
        .iter()
        .any(|s| s["delegator"].is_string() && s["sn"] == 1));

    // One byte changed in the third event's body.
    let third = stream.find("\"t\":\"dip\"").unwrap();
    let mut bad = stream.clone().into_bytes();
    bad[third + 20] ^= 0x01;
    let path = dir.file("bad.cesr", &String::from_utf8(bad).unwrap());
    let out = zcred(&["ledger", "verify", "--file", &path]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_out(&out);
    assert_eq!(report["verified"], false);
    assert_eq!(report["event"]["index"], 2);
    assert!(
        report["error"].as_str().unwrap().contains("SAID"),
        "{report}"
    );
}

/// Records an issuer, its agent, a registry, two credentials and one revocation in a SQLite
/// data directory, as the service does. Returns the credential SAIDs (issued, revoked).
async fn populate(data_dir: &Path) -> (String, String) {
    let key = |n: u8| SigningKey::from_seed(&[n; 32]);
    let journal = Journal::new(
        SqliteStore::open_dir(data_dir).await.unwrap(),
        Options::default(),
    );
    let flows::Onboarded {
        messages,
        mut agent,
        registry,
        ..
    } = flows::onboard((key(1), key(2)), (key(3), key(4)), &[7; 16]).unwrap();
    journal.submit(&messages).await.unwrap();
    let dt = time::OffsetDateTime::UNIX_EPOCH;
    let (a, b) = (Said::digest(b"a"), Said::digest(b"b"));
    let iss_a = flows::issuance(&a, &registry, dt).unwrap();
    let iss_a_said = iss_a.said().clone();
    let (x1, t1) = agent.anchor(iss_a).unwrap();
    let (x2, t2) = agent
        .anchor(flows::issuance(&b, &registry, dt).unwrap())
        .unwrap();
    let (x3, t3) = agent
        .anchor(flows::revocation(&a, &registry, &iss_a_said, dt).unwrap())
        .unwrap();
    journal.submit(&[x1, t1, x2, t2, x3, t3]).await.unwrap();
    journal.store().close().await;
    (b.to_string(), a.to_string())
}

#[test]
fn export_the_service_logs_and_verify_them_offline() {
    let dir = TempDir::new("export");
    let data = dir.0.join("data");
    let (issued, revoked) = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(populate(&data));
    let data_arg = data.display().to_string();
    let out_file = dir.0.join("export.cesr").display().to_string();
    let out = ok(&[
        "ledger",
        "export",
        "--data-dir",
        &data_arg,
        "--out",
        &out_file,
    ]);
    assert_eq!(out["events"], 11);

    // The same stream on standard output.
    let stdout = zcred(&["ledger", "export", "--data-dir", &data_arg]);
    assert!(stdout.status.success());
    assert_eq!(stdout.stdout, std::fs::read(&out_file).unwrap());

    let report = ok(&["ledger", "verify", "--file", &out_file]);
    assert_eq!(
        (report["issued"].as_u64(), report["revoked"].as_u64()),
        (Some(1), Some(1))
    );
    let status = |said: &str| {
        report["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["said"] == said)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status(&issued), "issued");
    assert_eq!(status(&revoked), "revoked");

    let err = refused(&[
        "ledger",
        "export",
        "--data-dir",
        &dir.0.join("empty").display().to_string(),
    ]);
    assert!(err.contains("no zcred database"), "{err}");
}
