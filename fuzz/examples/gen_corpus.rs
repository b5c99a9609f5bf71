//! Writes the seed corpus, `fuzz/corpus/<target>/`, from zcred's test vectors
//! (`crates/*/tests/vectors`) and from documents made here with zcred's own API and the fixed
//! test keys of `src/fixtures.rs` (signatures are randomised, so a new run changes the bytes of
//! signed seeds, not what they are). Every target directory is emptied first, except for the
//! `regression-*` files: inputs that once failed (README.md, "Findings (fixed)"), committed by
//! hand and kept as they are.
//!
//! `cargo run --example gen_corpus` (from `fuzz/`). See README.md for each seed's
//! source.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use zcred_crypto::bbs::{self, range, Message};
use zcred_crypto::{jws, multibase, OsRng};
use zcred_fuzz::api::{fuzzed_routes, Api, APPLIED_VC_ID, ISSUED_VC_ID, TEMPLATE_ID};
use zcred_fuzz::fixtures::{
    did_of, enc_example, holder_key, issuer_bbs, issuer_key, sample_credential,
    sample_presentations, BBS_MESSAGES, BBS_NONCE,
};
use zcred_fuzz::Writer;
use zcred_server::routes::{Kind, Route};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn vector(path: &str) -> Vec<u8> {
    let full = root().join("../crates").join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn vector_json(path: &str) -> Value {
    serde_json::from_slice(&vector(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Corpus {
    dir: PathBuf,
    count: usize,
    bytes: usize,
}

impl Corpus {
    fn new(target: &str) -> Corpus {
        let dir = root().join("corpus").join(target);
        std::fs::create_dir_all(&dir).expect("making the corpus directory");
        let (mut count, mut bytes) = (0, 0);
        for entry in std::fs::read_dir(&dir).expect("reading the corpus directory") {
            let path = entry.expect("a corpus entry").path();
            let keep = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("regression-"));
            if keep {
                count += 1;
                bytes += std::fs::metadata(&path).map_or(0, |m| m.len() as usize);
            } else {
                std::fs::remove_file(&path).expect("emptying the corpus directory");
            }
        }
        Corpus { dir, count, bytes }
    }

    fn add(&mut self, name: &str, data: impl AsRef<[u8]>) {
        let data = data.as_ref();
        std::fs::write(self.dir.join(name), data).expect("writing a seed");
        self.count += 1;
        self.bytes += data.len();
    }
}

impl Drop for Corpus {
    fn drop(&mut self) {
        println!(
            "corpus/{:<20} {:>3} seeds {:>7} bytes",
            self.dir.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
            self.count,
            self.bytes
        );
    }
}

fn main() {
    let vc = sample_credential(&mut OsRng);
    let vps = sample_presentations(&vc, &mut OsRng);
    let api = Api::start();
    let export = api.export();

    zetrix_keys();
    jws_seeds(&vc);
    multibase_seeds();
    bbs_keys();
    bbs_proof();
    bbs_range();
    enc_envelope();
    ledger(&export);
    documents(&vc, &vps, &api);
    http_api(&api, &vps);
}

fn zetrix_keys() {
    let mut c = Corpus::new("zetrix_keys");
    let spec = vector_json("zcred-crypto/tests/vectors/spec/zetrix_keys.json");
    for (i, pair) in spec["keyPairs"]
        .as_array()
        .expect("keyPairs")
        .iter()
        .enumerate()
    {
        for field in ["privateKey", "publicKey", "address", "did"] {
            if let Some(text) = pair[field].as_str() {
                c.add(&format!("spec-{i}-{field}"), text);
            }
        }
    }
    let issuer = issuer_key();
    let key = issuer.verifying_key();
    c.add("fixture-public-key", key.to_zetrix());
    c.add("fixture-public-key-upper", key.to_zetrix().to_uppercase());
    c.add("fixture-private-key", issuer.to_zetrix().as_str());
    c.add("fixture-address", key.address().to_string());
    c.add("fixture-did", key.did());
    c.add(
        "fixture-cesr-key",
        zcred_ledger::cesr::encode_key(&key, true),
    );
    c.add("fixture-signature", issuer.sign(b"zcred").to_hex());
    c.add(
        "fixture-signature-lower",
        issuer.sign(b"zcred").to_hex().to_lowercase(),
    );
}

fn jws_seeds(vc: &zcred_model::Credential) {
    let mut c = Corpus::new("jws");
    let issuer = issuer_key();
    let quirk = jws::sign(&issuer, br#"{"a":"b"}"#);
    c.add("fixture-quirk", &quirk);
    let parsed = jws::parse(&quirk).expect("parses");
    c.add(
        "fixture-raw-signature",
        format!(
            "{}.{}",
            parsed.signing_input,
            multibase::base64url(&parsed.signature.to_bytes())
        ),
    );
    if let Some(text) = vc
        .proof_of_type(&["Ed25519Signature2020"])
        .and_then(|p| p.get("jws"))
        .and_then(Value::as_str)
    {
        c.add("fixture-credential", text);
    }
    let zetrix = vector_json("zcred-crypto/tests/vectors/zetrix/apiref_submit_vc.json");
    for proof in zetrix["proof"].as_array().into_iter().flatten() {
        if let Some(text) = proof["jws"].as_str() {
            c.add("zetrix-apiref-submit-vc", text);
        }
    }
}

fn multibase_seeds() {
    let mut c = Corpus::new("multibase");
    // The selector byte picks the length base58btc must decode to: 32 34 48 96 112 1.
    let pair = issuer_bbs();
    let signature = pair.sign(&BBS_MESSAGES, &mut OsRng).expect("BBS+ signing");
    c.add(
        "bbs-public-key-96",
        Writer::default()
            .u8(3)
            .rest(pair.public().to_multibase().as_bytes())
            .0,
    );
    c.add(
        "bbs-signature-112",
        Writer::default()
            .u8(4)
            .rest(signature.to_multibase().as_bytes())
            .0,
    );
    c.add(
        "ed25519-multibase-34",
        Writer::default()
            .u8(1)
            .rest(issuer_key().verifying_key().to_multibase().as_bytes())
            .0,
    );
    c.add(
        "base64-message",
        Writer::default()
            .u8(0)
            .rest(multibase::base64(b"personProfile.name: Ali").as_bytes())
            .0,
    );
    c.add(
        "base64url-padded",
        Writer::default()
            .u8(0)
            .rest(multibase::base64url_padded(&[0xfb, 0xff, 0x01, 0x02]).as_bytes())
            .0,
    );
}

fn bbs_keys() {
    let mut c = Corpus::new("bbs_keys");
    let pair = issuer_bbs();
    let signature = pair.sign(&BBS_MESSAGES, &mut OsRng).expect("BBS+ signing");
    let seed = |form: u8, bytes: &[u8]| Writer::default().u8(form).rest(bytes).0;
    c.add("0-public-key-bytes", seed(0, &pair.public().to_bytes()));
    c.add(
        "1-public-key-multibase",
        seed(1, pair.public().to_multibase().as_bytes()),
    );
    c.add("2-signature-bytes", seed(2, &signature.to_bytes()));
    c.add(
        "3-signature-multibase",
        seed(3, signature.to_multibase().as_bytes()),
    );
    c.add(
        "4-secret-key-multibase",
        seed(4, pair.secret().to_multibase().as_bytes()),
    );
    let bip39 = vector_json("zcred-crypto/tests/vectors/bip39/vectors.json");
    if let Some(mnemonic) = bip39["english"][0][1].as_str() {
        c.add("5-seed-bip39", seed(5, mnemonic.as_bytes()));
    }
    c.add("5-seed-hex", seed(5, hex::encode([0x42u8; 32]).as_bytes()));
    c.add(
        "5-seed-base64",
        seed(5, multibase::base64(&[0x42u8; 33]).as_bytes()),
    );
    c.add(
        "6-scalar-message",
        seed(
            6,
            bbs::integer_message("personProfile.age", 30)
                .to_scalar_hex()
                .as_bytes(),
        ),
    );
}

/// `proof` with its header rewritten to claim `count` messages (same revealed indices, same
/// body): a proof the verifier must refuse by its length, before deriving `count` generators.
fn claiming(proof: &[u8], count: u16) -> Vec<u8> {
    let (header, offset) = bbs::parse_proof_header(proof).expect("a proof header");
    let mut bits = vec![0u8; usize::from(count) / 8 + 1]; // as MATTR frames it
    let last = bits.len() - 1;
    for i in header.revealed {
        bits[last - i / 8] |= 1 << (i % 8);
    }
    let mut out = count.to_be_bytes().to_vec();
    out.extend(bits);
    out.extend_from_slice(&proof[offset..]);
    out
}

/// `bbs_proof` input: key ‖ nonce ‖ revealed messages ‖ proof.
fn proof_input(key: &[u8], nonce: &[u8], revealed: &[&[u8]], proof: &[u8]) -> Vec<u8> {
    let mut w = Writer::default().rest(key).short(nonce);
    w = w.u8(u8::try_from(revealed.len()).expect("few messages"));
    for m in revealed {
        w = w.short(m);
    }
    w.rest(proof).0
}

fn bbs_proof() {
    let mut c = Corpus::new("bbs_proof");
    let pair = issuer_bbs();
    let signature = pair.sign(&BBS_MESSAGES, &mut OsRng).expect("BBS+ signing");
    let key = pair.public().to_bytes();
    for (name, revealed) in [("reveal-0-2", vec![0usize, 2]), ("reveal-none", vec![])] {
        let set: BTreeSet<usize> = revealed.iter().copied().collect();
        let proof = bbs::create_proof(
            pair.public(),
            &signature,
            &BBS_MESSAGES,
            &set,
            BBS_NONCE,
            &mut OsRng,
        )
        .expect("a proof");
        let messages: Vec<&[u8]> = revealed
            .iter()
            .map(|&i| BBS_MESSAGES[i].as_bytes())
            .collect();
        c.add(
            &format!("fixture-{name}"),
            proof_input(&key, BBS_NONCE, &messages, &proof),
        );
        if name == "reveal-0-2" {
            c.add(
                "fixture-reveal-0-2-claiming-65535",
                proof_input(&key, BBS_NONCE, &messages, &claiming(&proof, u16::MAX)),
            );
        }
    }
    let mattr = vector_json("zcred-crypto/tests/vectors/mattr/proofs.json");
    for case in mattr.as_array().expect("cases") {
        if case["public_key_kind"] != "bbs" {
            continue;
        }
        let b64 = |v: &Value| {
            let t = v.as_str().expect("text");
            multibase::from_base64(t)
                .or_else(|_| multibase::from_base64url(t))
                .expect("base64")
        };
        let key = b64(&case["public_key_b64"]);
        let nonce = match case["nonce_encoding"].as_str() {
            Some("base64") => b64(&case["nonce"]),
            _ => case["nonce"].as_str().expect("nonce").as_bytes().to_vec(),
        };
        let revealed: Vec<&[u8]> = case["revealed_messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m.as_str().expect("text").as_bytes())
            .collect();
        let proof = b64(&case["proof_b64"]);
        c.add(
            &format!("mattr-{}", case["id"].as_str().expect("id")),
            proof_input(&key[..96], &nonce, &revealed, &proof),
        );
    }
}

fn bbs_range() {
    let mut c = Corpus::new("bbs_range");
    let pair = issuer_bbs();
    let path = "personProfile.age";
    let mut messages = Message::hash_all(&BBS_MESSAGES[..2]);
    messages.push(bbs::integer_message(path, 30));
    let signature = pair
        .sign_messages(&messages, &mut OsRng)
        .expect("BBS+ signing");
    let revealed: BTreeSet<usize> = [0, 1].into_iter().collect();
    for (name, min, max) in [
        ("18-65", 18i64, 65i64),
        ("30-30", 30, 30),
        ("wide", -1 << 40, 1 << 40),
    ] {
        let statement = range::RangeStatement {
            message_index: 2,
            path,
            min,
            max,
        };
        let disclosure = range::prove(
            pair.public(),
            &signature,
            &messages,
            &revealed,
            &[(statement, 30)],
            &mut OsRng,
        )
        .expect("a range proof");
        let mut w = Writer::default()
            .u8(2)
            .short(path.as_bytes())
            .rest(&min.to_be_bytes())
            .rest(&max.to_be_bytes())
            .short(&disclosure.nonce)
            .u8(2);
        for m in &BBS_MESSAGES[..2] {
            w = w.short(m.as_bytes());
        }
        let claimed = w.clone().long(&claiming(&disclosure.proof, u16::MAX));
        w = w.long(&disclosure.proof).rest(&disclosure.ranges[0]);
        c.add(&format!("fixture-{name}"), w.0);
        if name == "18-65" {
            c.add(
                "fixture-18-65-claiming-65535",
                claimed.rest(&disclosure.ranges[0]).0,
            );
        }
    }
}

fn enc_envelope() {
    let mut c = Corpus::new("enc_envelope");
    let ex = enc_example();
    c.add(
        "0-example-body",
        Writer::default().u8(0).rest(ex.body.as_bytes()).0,
    );
    c.add(
        "1-example-path-body",
        Writer::default()
            .u8(1)
            .short(ex.path.as_bytes())
            .rest(ex.body.as_bytes())
            .0,
    );
    c.add(
        "2-example-secret-key",
        Writer::default().u8(2).rest(ex.secret_key.as_bytes()).0,
    );
    let (key_id, rsa, x25519) = &ex.public;
    c.add(
        "3-example-public-key",
        Writer::default()
            .u8(3)
            .short(key_id.as_bytes())
            .long(rsa.as_bytes())
            .rest(x25519.as_bytes())
            .0,
    );
}

fn ledger(export: &[u8]) {
    let delegation = vector("zcred-ledger/tests/vectors/keripy/delegation.cesr");
    for (name, stream) in [
        ("keripy delegation", &delegation[..]),
        ("fixture export", export),
    ] {
        if let Err(e) = zcred_ledger::verify::verify_stream(stream, Default::default()) {
            panic!("the {name} stream does not verify: {e}");
        }
    }
    {
        let mut c = Corpus::new("cesr_stream");
        c.add("keripy-delegation", &delegation);
        if !export.is_empty() {
            c.add("fixture-export", export);
        }
    }
    {
        let mut c = Corpus::new("ledger_verify");
        c.add(
            "keripy-delegation",
            Writer::default().u8(0).rest(&delegation).0,
        );
        if !export.is_empty() {
            c.add("fixture-export", Writer::default().u8(0).rest(export).0);
        }
    }
    let mut events = Corpus::new("keri_event");
    for (file, take) in [
        ("zcred-ledger/tests/vectors/keripy/kel.json", 4),
        ("zcred-ledger/tests/vectors/keripy/tel.json", 6),
        ("zcred-ledger/tests/vectors/keripy/acdc.json", 2),
        ("zcred-ledger/tests/vectors/keripy/delegation.json", 3),
    ] {
        let v = vector_json(file);
        let stem = Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("vectors");
        for case in v["vectors"].as_array().expect("vectors").iter().take(take) {
            if let (Some(name), Some(raw)) = (case["name"].as_str(), case["raw"].as_str()) {
                let parses = zcred_ledger::Event::parse(raw.as_bytes()).is_ok()
                    || zcred_ledger::acdc::Acdc::parse(raw.as_bytes()).is_ok();
                if !parses {
                    continue;
                }
                events.add(&format!("keripy-{stem}-{name}"), raw);
            }
        }
    }
    events.add("version-string", "KERI10JSON00012b_");
    let mut prims = Corpus::new("cesr_primitives");
    let messages = zcred_ledger::stream::parse_stream(&delegation).expect("the vector reads");
    for (i, m) in messages.iter().enumerate().take(3) {
        prims.add(
            &format!("keripy-delegation-attachments-{i}"),
            m.attachments.to_text(),
        );
    }
    let key = issuer_key().verifying_key();
    prims.add("key-D", zcred_ledger::cesr::encode_key(&key, true));
    prims.add("seqner-0A", zcred_ledger::cesr::encode_seqner(5));
    prims.add("digest-E", zcred_ledger::cesr::digest(b"zcred"));
    prims.add(
        "signature-0B",
        zcred_ledger::cesr::encode_signature(&issuer_key().sign(b"zcred")),
    );
}

fn documents(vc: &zcred_model::Credential, vps: &[(&str, Value)], api: &Api) {
    {
        let mut c = Corpus::new("vc_document");
        c.add(
            "fixture-credential",
            serde_json::to_string_pretty(vc.as_json()).expect("JSON"),
        );
        c.add(
            "fixture-service-issued",
            serde_json::to_string(&api.issued_vc).expect("JSON"),
        );
        for file in [
            "apiref_submit_vc.json",
            "flutter_vp_test_passport_vc.json",
            "flutter_dcql_sample_driving_license_vc.json",
        ] {
            c.add(
                &format!("zetrix-{}", file.trim_end_matches(".json")),
                vector(&format!("zcred-crypto/tests/vectors/zetrix/{file}")),
            );
        }
    }
    {
        let mut c = Corpus::new("vp_document");
        for (name, vp) in vps {
            let outcome = zcred_model::presentation::verify_presentation(
                vp,
                Some(zcred_fuzz::fixtures::CHALLENGE),
                zcred_fuzz::fixtures::verify_at(),
                &zcred_fuzz::fixtures::FixedResolver,
            )
            .expect("the sample presentation can be checked");
            assert!(outcome.verified(), "{name}: {:?}", outcome.failures);
            c.add(
                &format!("fixture-{name}"),
                serde_json::to_string(vp).expect("JSON"),
            );
        }
        c.add(
            "zetrix-didcomm_present_proof_vp",
            vector("zcred-crypto/tests/vectors/zetrix/didcomm_present_proof_vp.json"),
        );
    }
    let mut c = Corpus::new("canonical_json");
    for file in [
        "apiref_apply_vc_request.json",
        "apiref_template_blob_create_request.json",
        "apiref_bbs_sign_request.json",
    ] {
        c.add(
            &format!("zetrix-{}", file.trim_end_matches(".json")),
            vector(&format!("zcred-crypto/tests/vectors/zetrix/{file}")),
        );
    }
    c.add(
        "scalars",
        r#"{"b":[1,-0,2.5e-7,1e300,12345678901234567890,-9223372036854775808,true,null],"a":"\u00e9\ud83d\ude00\u0001\"\\"}"#,
    );
    c.add("nested", r#"[[[[{"x":[[[{}]]]}]]]]"#);
}

/// A plausible value for a body member of the route table, by its name and kind.
fn member_value(name: &str, kind: Kind, vps: &[(&str, Value)], api: &Api) -> Value {
    let issuer = issuer_key();
    let holder = holder_key();
    let did = did_of(&issuer).to_string();
    // Verbatim: its issuer's signature covers its id (that of the generating run's service).
    let vc = api.issued_vc.clone();
    match (name, kind) {
        (_, Kind::Int) => json!(3600),
        (_, Kind::Bool) => json!(false),
        ("vc" | "vcObject", _) => vc,
        ("vpObject" | "vp", _) => vps.first().map(|(_, v)| v.clone()).unwrap_or_default(),
        ("credentialFormat", _) => json!([
            {"attribute": "Name", "format": "STRING", "key": "name", "mandatory": true, "type": "USER"},
            {"attribute": "Age", "format": "NUMBER", "key": "age", "mandatory": true, "type": "USER", "rangeProvable": true}
        ]),
        ("signerList", _) => json!([{
            "signBlob": issuer.sign(b"blob").to_hex(),
            "publicKey": issuer.verifying_key().to_zetrix(),
        }]),
        ("data", Kind::Strings) => json!([multibase::base64(b"personProfile.name: Ali")]),
        ("data", _) => {
            json!([{ "templateId": TEMPLATE_ID, "metadata": { "name": "Ali", "age": "30" } }])
        }
        ("metadata", _) => json!({ "name": "Ali", "age": "30" }),
        ("items", _) => json!([{ "vcId": APPLIED_VC_ID }]),
        ("rangeProof", _) => json!([{ "attribute": "personProfile.age", "min": 18, "max": 65 }]),
        ("revealedAttributes", _) => json!(["personProfile.name"]),
        (_, Kind::Obj) => json!({}),
        (_, Kind::Objects) => json!([{}]),
        (_, Kind::Strings) => json!(["x"]),
        (_, Kind::Values) => json!(["x", 1]),
        ("did" | "issuerZid" | "issuer", _) => json!(did),
        ("publicKey" | "holderPublicKey" | "ed25519PubKey", _) => {
            json!(holder.verifying_key().to_zetrix())
        }
        ("nextPublicKey", _) => json!(issuer.verifying_key().to_zetrix()),
        ("bbsPublicKey" | "publicKeyMultibase" | "bbsBlsPubKey", _) => {
            json!(issuer_bbs().public().to_multibase())
        }
        ("privateKeyMultibase", _) => json!(issuer_bbs().secret().to_multibase().as_str()),
        ("bbsBlsSignData", _) => json!(issuer_bbs()
            .sign(&BBS_MESSAGES, &mut OsRng)
            .expect("BBS+ signing")
            .to_multibase()),
        ("x25519PublicKey", _) => json!(multibase::base64url(&[9u8; 32])),
        ("vcId", _) => json!(ISSUED_VC_ID),
        ("templateId", _) => json!(TEMPLATE_ID),
        ("issuerAddress", _) => json!(issuer.verifying_key().address().to_string()),
        ("seed", _) => json!(hex::encode([0x42u8; 32])),
        ("issuerPrivateKey", _) => json!(issuer.to_zetrix().as_str()),
        ("templateName", _) => json!("Fuzz Template"),
        ("version", _) => json!("1.0.0"),
        ("plan", _) => json!("free"),
        ("name", _) => json!("gold"),
        ("expirationDate" | "validUntil", _) => json!("2035-01-01T00:00:00Z"),
        (n, _) if n.ends_with("Date") || n.starts_with("valid") => json!("2025-01-01T00:00:00Z"),
        (n, _) if n.starts_with("sign") || n.ends_with("SignData") => {
            json!(holder.sign(b"zcred").to_hex())
        }
        _ => json!("x"),
    }
}

fn slug(path: &str) -> String {
    path.trim_start_matches('/').replace('/', "_")
}

fn http_api(api: &Api, vps: &[(&str, Value)]) {
    let mut c = Corpus::new("http_api");
    let routes = fuzzed_routes();
    let index = |path: &str| {
        routes
            .iter()
            .position(|r| r.path == path)
            .and_then(|i| u8::try_from(i).ok())
            .filter(|i| *i < 128)
            .unwrap_or_else(|| panic!("{path}: no selector below 128"))
    };
    let twin = |path: &str| -> Option<&&Route> { routes.iter().find(|r| r.twin == Some(path)) };
    let add = |c: &mut Corpus, name: String, path: &str, body: &str, twins: bool| {
        c.add(
            &name,
            Writer::default().u8(index(path)).rest(body.as_bytes()).0,
        );
        if let Some(t) = twin(path).filter(|_| twins) {
            c.add(
                &format!("{name}-enc"),
                Writer::default().u8(index(t.path)).rest(body.as_bytes()).0,
            );
        }
    };
    for (i, (path, body)) in api.transcript.iter().enumerate() {
        add(
            &mut c,
            format!("setup-{i:02}-{}", slug(path)),
            path,
            body,
            true,
        );
    }
    for route in &routes {
        if route.twin.is_some() {
            continue;
        }
        // Every member but aliases (and `seed` beside `privateKeyMultibase`): one of each pair.
        let body: serde_json::Map<String, Value> = route
            .body
            .iter()
            .filter(|f| !f.about.starts_with("Alias") && (f.name != "seed" || f.required))
            .map(|f| {
                let value = match (route.path, f.name) {
                    ("/cred/v1/vc/create", "vcId") => json!(APPLIED_VC_ID),
                    ("/cred/v1/vc/create", "data") => json!([{
                        "templateId": TEMPLATE_ID,
                        "metadata": { "class": "B2", "height": "170" },
                    }]),
                    _ => member_value(f.name, f.kind, vps, api),
                };
                (f.name.to_owned(), value)
            })
            .collect();
        let body = Value::Object(body).to_string();
        add(
            &mut c,
            format!("table-{}", slug(route.path)),
            route.path,
            &body,
            true,
        );
    }
    for (name, vp) in vps.iter().skip(1) {
        let body = json!({ "vpObject": vp, "challenge": zcred_fuzz::fixtures::CHALLENGE });
        add(
            &mut c,
            format!("vp-verify-{name}"),
            "/cred/v1/vp/verify",
            &body.to_string(),
            false,
        );
    }
}
