//! The BBS+ utilities against `zcred serve` on a loopback port (SQLite): `POST /cred/bbs/create`
//! (api.md §10.0a, key derivation OP-2) and `POST /cred/bbs/vc/sign` (§10.0b) with a mnemonic,
//! hex and base64 seeds; every 400 row of both sections with its status and `field`; and proof
//! that no seed, mnemonic or secret key ever reaches the server's output (stdout and stderr,
//! captured to a file, at the most verbose level the binary has).

use std::path::PathBuf;

use serde_json::{json, Value};
use zcred_crypto::{bbs, multibase};

use crate::commands::{api_key, scratch};
use crate::serve::{error_of, Server};

const CREATE: &str = "/cred/bbs/create";
const SIGN: &str = "/cred/bbs/vc/sign";

/// A valid 12-word English mnemonic (made for these tests from random entropy).
const MNEMONIC_12: &str =
    "travel rapid luggage nut junior dolphin jelly green whisper capital defy local";
/// A valid 24-word English mnemonic, used only by the log test.
const MNEMONIC_24: &str = "episode disagree antique brick between village begin then camp repair bench about rifle deputy gaze tragic hero method stone lion rack aware check brass";

/// A data directory, an API key and a server whose stdout and stderr go to `log`.
struct Fixture {
    server: Server,
    key: String,
    dir: PathBuf,
    log: PathBuf,
}

impl Fixture {
    fn start(tag: &str) -> Fixture {
        let dir = scratch(&format!("bbs-utils-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("data").display().to_string();
        let key = api_key(&["--data-dir", &data]);
        let log = dir.join("server.log");
        let server = Server::start_logged(&["--data-dir", &data], &log);
        Fixture {
            server,
            key,
            dir,
            log,
        }
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.server.post(path, Some(&self.key), body)
    }

    /// `object` of a 200 answer.
    #[track_caller]
    fn accepted(&self, path: &str, body: &Value) -> Value {
        let (status, answer) = self.post(path, body);
        assert_eq!(status, 200, "{path}: {answer}");
        assert_eq!(answer["messages"], json!([]), "{answer}");
        answer["object"].clone()
    }

    /// Asserts a 400 with `code` at `field`; returns the whole answer.
    #[track_caller]
    fn refused(&self, path: &str, body: &Value, code: &str, field: &str) -> Value {
        let (status, answer) = self.post(path, body);
        assert_eq!(status, 400, "{path}: {answer}");
        assert_eq!(
            error_of(&answer),
            (code.to_owned(), Some(field.to_owned())),
            "{path}: {answer}"
        );
        answer
    }

    /// Stops the server (SIGTERM, clean exit) and returns everything it wrote.
    fn stop(self) -> String {
        assert!(self.server.stop().success());
        let output = std::fs::read_to_string(&self.log).unwrap();
        let _ = std::fs::remove_dir_all(&self.dir);
        output
    }
}

/// The messages as `data` (standard base64 with padding, api.md §2.6).
fn data_of(messages: &[&str]) -> Vec<String> {
    messages
        .iter()
        .map(|m| multibase::base64(m.as_bytes()))
        .collect()
}

/// Verifies a `/cred/bbs/vc/sign` answer over the base64-decoded `data` with `public`.
#[track_caller]
fn assert_verifies(answer: &Value, public: &str, data: &[String]) {
    let signature = answer["signData"].as_str().unwrap();
    assert!(signature.starts_with('u'), "{signature}");
    let signature = bbs::Signature::from_multibase(signature).unwrap();
    let decoded: Vec<Vec<u8>> = data
        .iter()
        .map(|d| multibase::from_base64(d).unwrap())
        .collect();
    bbs::PublicKey::from_multibase(public)
        .unwrap()
        .verify_messages(&bbs::Message::hash_all(&decoded), &signature)
        .unwrap();
}

/// `{publicKeyMultibase, privateKeyMultibase}` of a `/cred/bbs/create` answer, checked for
/// shape and consistency (the public key is the secret key's).
#[track_caller]
fn pair_of(object: &Value) -> (String, String) {
    let public = object["publicKeyMultibase"].as_str().unwrap().to_owned();
    let private = object["privateKeyMultibase"].as_str().unwrap().to_owned();
    assert_eq!(object.as_object().unwrap().len(), 2, "{object}");
    assert!(public.starts_with('z') && private.starts_with('z'));
    let secret = bbs::SecretKey::from_multibase(&private).unwrap();
    assert_eq!(secret.public_key().to_multibase(), public);
    (public, private)
}

#[test]
fn create_and_sign_with_mnemonic_hex_and_base64_seeds() {
    let fx = Fixture::start("keys");

    // A 12-word mnemonic: the key is from_seed_text's (OP-2).
    let (public, private) = pair_of(&fx.accepted(CREATE, &json!({ "seed": MNEMONIC_12 })));
    let expected = bbs::SecretKey::from_seed_text(MNEMONIC_12).unwrap();
    assert_eq!(private, expected.to_multibase().as_str());
    assert_eq!(public, expected.public_key().to_multibase());
    // Deterministic.
    assert_eq!(
        pair_of(&fx.accepted(CREATE, &json!({ "seed": MNEMONIC_12 }))),
        (public.clone(), private.clone())
    );

    // The same 40 seed bytes as hex (either case) and as base64: one key, MATTR gen_sk of them.
    let raw: Vec<u8> = (0u8..40)
        .map(|i| i.wrapping_mul(29).wrapping_add(3))
        .collect();
    let by_hex = pair_of(&fx.accepted(CREATE, &json!({ "seed": hex::encode(&raw) })));
    let by_hex_upper = pair_of(&fx.accepted(CREATE, &json!({ "seed": hex::encode_upper(&raw) })));
    let by_base64 = pair_of(&fx.accepted(CREATE, &json!({ "seed": multibase::base64(&raw) })));
    assert_eq!(by_hex, by_base64);
    assert_eq!(by_hex, by_hex_upper);
    let raw_key = bbs::SecretKey::from_seed(&raw).unwrap();
    assert_eq!(by_hex.1, raw_key.to_multibase().as_str());
    assert_ne!(by_hex.0, public, "another seed, another key");

    // Sign with the returned privateKeyMultibase, and with the mnemonic as `seed` instead;
    // both verify under the returned public key.
    let data = data_of(&[
        "id: did:zid:00aa",
        "passportMalaysia.name: Ali bin Abu",
        "passportMalaysia.age: 21",
    ]);
    let by_key = fx.accepted(
        SIGN,
        &json!({ "publicKeyMultibase": public, "privateKeyMultibase": private, "data": data }),
    );
    assert_verifies(&by_key, &public, &data);
    let by_seed = fx.accepted(
        SIGN,
        &json!({ "publicKeyMultibase": public, "seed": MNEMONIC_12, "data": data }),
    );
    assert_verifies(&by_seed, &public, &data);
    // A hex seed signs too, under its own key.
    let by_hex_seed = fx.accepted(
        SIGN,
        &json!({ "publicKeyMultibase": by_hex.0, "seed": hex::encode(&raw), "data": data }),
    );
    assert_verifies(&by_hex_seed, &by_hex.0, &data);
    // With scalars (OP-11), the signature covers them after the data messages.
    let scalar = bbs::integer_message("passportMalaysia.age", 21);
    let with_scalar = fx.accepted(
        SIGN,
        &json!({ "publicKeyMultibase": public, "seed": MNEMONIC_12, "data": data,
                 "scalars": [scalar.to_scalar_hex()] }),
    );
    let decoded: Vec<Vec<u8>> = data
        .iter()
        .map(|d| multibase::from_base64(d).unwrap())
        .collect();
    let mut messages = bbs::Message::hash_all(&decoded);
    messages.push(scalar);
    bbs::PublicKey::from_multibase(&public)
        .unwrap()
        .verify_messages(
            &messages,
            &bbs::Signature::from_multibase(with_scalar["signData"].as_str().unwrap()).unwrap(),
        )
        .unwrap();

    // §10.0a: every 400, at /seed.
    let words: Vec<&str> = MNEMONIC_12.split(' ').collect();
    let eleven = words[..11].join(" ");
    let mut unknown = words.clone();
    unknown[2] = "zcredish";
    let unknown = unknown.join(" ");
    let mut checksum = words.clone();
    checksum[11] = "logic";
    let checksum = checksum.join(" ");
    // Preconditions: each bad seed is refused for the intended reason.
    for (text, error) in [
        (eleven.as_str(), bbs::SeedError::WordCount(11)),
        (unknown.as_str(), bbs::SeedError::UnknownWord(3)),
        (checksum.as_str(), bbs::SeedError::Checksum),
    ] {
        assert_eq!(
            bbs::SecretKey::from_seed_text(text).map(|_| ()),
            Err(error),
            "{text}"
        );
    }
    let too_long = "ab".repeat(513);
    let create_refusals = [
        (json!({}), "MISSING_FIELD", "/seed is required"),
        (json!({ "seed": "" }), "MISSING_FIELD", "/seed is required"),
        (
            json!({ "seed": null }),
            "MISSING_FIELD",
            "/seed is required",
        ),
        (json!({ "seed": 42 }), "INVALID_FORMAT", "must be a string"),
        (json!({ "seed": eleven }), "INVALID_FORMAT", "has 11 words"),
        (
            json!({ "seed": unknown }),
            "INVALID_FORMAT",
            "word 3 of the mnemonic is not in the English BIP-39 list",
        ),
        (
            json!({ "seed": checksum }),
            "INVALID_FORMAT",
            "checksum does not match",
        ),
        (
            json!({ "seed": format!("{MNEMONIC_12} ") }),
            "INVALID_FORMAT",
            "single spaces",
        ),
        (
            json!({ "seed": MNEMONIC_12.replacen(' ', "  ", 1) }),
            "INVALID_FORMAT",
            "single spaces",
        ),
        (
            json!({ "seed": hex::encode(&raw[..31]) }),
            "INVALID_FORMAT",
            "at least 32 bytes, found 31",
        ),
        (
            json!({ "seed": multibase::base64(&raw[..16]) }),
            "INVALID_FORMAT",
            "at least 32 bytes, found 16",
        ),
        (
            json!({ "seed": "this-is-neither-hex-nor-base64!" }),
            "INVALID_FORMAT",
            "neither hex nor base64",
        ),
        (
            json!({ "seed": too_long }),
            "INVALID_FORMAT",
            "longer than 1024 characters",
        ),
    ];
    for (body, code, mention) in &create_refusals {
        let answer = fx.refused(CREATE, body, code, "/seed");
        let message = answer["messages"][0]["message"].as_str().unwrap();
        assert!(message.contains(mention), "{body}: {message}");
        // The message never quotes the seed or a word of it.
        if let Some(seed) = body["seed"].as_str().filter(|s| s.len() > 2) {
            assert!(!message.contains(seed), "{message}");
            for word in seed.split_whitespace().filter(|w| w.len() > 3) {
                assert!(!message.contains(word), "{message} quotes {word}");
            }
        }
    }

    // §10.0b: every 400 with its member.
    let other = by_hex.0.clone();
    let sign_refusals = [
        (
            json!({ "publicKeyMultibase": public, "privateKeyMultibase": private,
                    "seed": MNEMONIC_12, "data": data }),
            "INVALID_REQUEST",
            "/seed",
        ),
        (
            json!({ "publicKeyMultibase": public, "data": data }),
            "MISSING_FIELD",
            "/privateKeyMultibase",
        ),
        (
            json!({ "privateKeyMultibase": private, "data": data }),
            "MISSING_FIELD",
            "/publicKeyMultibase",
        ),
        (
            json!({ "publicKeyMultibase": other, "privateKeyMultibase": private, "data": data }),
            "INVALID_REQUEST",
            "/publicKeyMultibase",
        ),
        (
            json!({ "publicKeyMultibase": other, "seed": MNEMONIC_12, "data": data }),
            "INVALID_REQUEST",
            "/publicKeyMultibase",
        ),
        (
            json!({ "publicKeyMultibase": public, "privateKeyMultibase": private }),
            "MISSING_FIELD",
            "/data",
        ),
        (
            json!({ "publicKeyMultibase": public, "privateKeyMultibase": private, "data": [] }),
            "INVALID_REQUEST",
            "/data",
        ),
        (
            json!({ "publicKeyMultibase": public, "privateKeyMultibase": private,
                    "data": [data[0], "not base64!"] }),
            "INVALID_FORMAT",
            "/data/1",
        ),
        (
            json!({ "publicKeyMultibase": public, "privateKeyMultibase": private,
                    "data": [data[0], 7] }),
            "INVALID_FORMAT",
            "/data/1",
        ),
        (
            json!({ "publicKeyMultibase": public, "privateKeyMultibase": private,
                    "data": data, "scalars": ["zz"] }),
            "INVALID_FORMAT",
            "/scalars/0",
        ),
        (
            json!({ "publicKeyMultibase": public, "privateKeyMultibase": "zNotAKey",
                    "data": data }),
            "INVALID_FORMAT",
            "/privateKeyMultibase",
        ),
        (
            json!({ "publicKeyMultibase": public, "seed": checksum, "data": data }),
            "INVALID_FORMAT",
            "/seed",
        ),
        (
            json!({ "publicKeyMultibase": public, "seed": eleven, "data": data }),
            "INVALID_FORMAT",
            "/seed",
        ),
        (
            json!({ "publicKeyMultibase": public, "seed": hex::encode(&raw[..8]), "data": data }),
            "INVALID_FORMAT",
            "/seed",
        ),
    ];
    for (body, code, field) in &sign_refusals {
        let answer = fx.refused(SIGN, body, code, field);
        let text = answer.to_string();
        assert!(!text.contains(&private), "the secret key is never echoed");
        assert!(!text.contains(MNEMONIC_12), "the mnemonic is never echoed");
    }

    let log = fx.stop();
    assert!(log.contains(CREATE) && log.contains(SIGN), "{log}");
}

#[test]
fn seeds_and_secret_keys_never_reach_the_logs() {
    let fx = Fixture::start("logs");
    let seed_bytes: Vec<u8> = (0u8..48).map(|i| 0xc3 ^ i.wrapping_mul(71)).collect();
    let hex_seed = hex::encode(&seed_bytes);
    let base64_seed = multibase::base64(&seed_bytes);
    let data = data_of(&["id: did:zid:log-test", "profile.name: Siti"]);
    let mut private_keys = Vec::new();

    // Successful calls of both endpoints with each kind of seed.
    let mut publics = Vec::new();
    for seed in [MNEMONIC_24, hex_seed.as_str(), base64_seed.as_str()] {
        let (public, private) = pair_of(&fx.accepted(CREATE, &json!({ "seed": seed })));
        let by_key = fx.accepted(
            SIGN,
            &json!({ "publicKeyMultibase": public, "privateKeyMultibase": private,
                     "data": data }),
        );
        assert_verifies(&by_key, &public, &data);
        let by_seed = fx.accepted(
            SIGN,
            &json!({ "publicKeyMultibase": public, "seed": seed, "data": data }),
        );
        assert_verifies(&by_seed, &public, &data);
        publics.push(public);
        private_keys.push(private);
    }
    // Failing calls that carry the same secrets.
    let last = MNEMONIC_24.rsplit_once(' ').unwrap().0;
    let bad_checksum = format!("{last} about");
    let bad_count = format!("{MNEMONIC_24} brass");
    for seed in [bad_checksum.as_str(), bad_count.as_str(), &hex_seed[..40]] {
        fx.refused(CREATE, &json!({ "seed": seed }), "INVALID_FORMAT", "/seed");
        fx.refused(
            SIGN,
            &json!({ "publicKeyMultibase": publics[0], "seed": seed, "data": data }),
            "INVALID_FORMAT",
            "/seed",
        );
    }
    // Key and seed mismatching the public key, both at once, bad data: the secret is in the
    // body of each.
    fx.refused(
        SIGN,
        &json!({ "publicKeyMultibase": publics[1], "seed": MNEMONIC_24, "data": data }),
        "INVALID_REQUEST",
        "/publicKeyMultibase",
    );
    fx.refused(
        SIGN,
        &json!({ "publicKeyMultibase": publics[0], "privateKeyMultibase": private_keys[0],
                 "seed": hex_seed, "data": data }),
        "INVALID_REQUEST",
        "/seed",
    );
    fx.refused(
        SIGN,
        &json!({ "publicKeyMultibase": publics[0], "privateKeyMultibase": private_keys[0],
                 "data": ["%%%"] }),
        "INVALID_FORMAT",
        "/data/0",
    );

    let log = fx.stop();
    // The grep is meaningful: the output holds the request lines of these very calls.
    assert!(!log.trim().is_empty(), "the server wrote nothing");
    // One line per request: `INFO request method=POST path="…" status=… micros=…`.
    let requests = |path: &str, status: u16| {
        let path = format!("path=\"{path}\"");
        let status = format!("status={status} ");
        log.lines()
            .filter(|l| l.contains(" request ") && l.contains(&path) && l.contains(&status))
            .count()
    };
    assert_eq!(requests(CREATE, 200), 3, "{log}");
    assert_eq!(requests(SIGN, 200), 6, "{log}");
    assert_eq!(requests(CREATE, 400), 3, "{log}");
    assert_eq!(requests(SIGN, 400), 6, "{log}");
    assert!(log.contains("shutting down"), "{log}");

    let mut secrets: Vec<String> = vec![
        MNEMONIC_24.to_owned(),
        hex_seed.clone(),
        hex_seed.to_uppercase(),
        hex_seed[..40].to_owned(),
        base64_seed.clone(),
        bad_checksum.clone(),
    ];
    // Any two consecutive words of the mnemonic.
    let words: Vec<&str> = MNEMONIC_24.split(' ').collect();
    secrets.extend(words.windows(2).map(|w| w.join(" ")));
    // Every secret key, as text and as hex of its bytes.
    for private in &private_keys {
        secrets.push(private.clone());
        secrets.push(private[1..].to_owned());
        let key = bbs::SecretKey::from_multibase(private).unwrap();
        secrets.push(hex::encode(key.to_bytes().as_ref()));
    }
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret reached the server's output"
        );
    }
}
