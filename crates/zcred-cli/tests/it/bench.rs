//! `zcred bench` runs, stops by itself within its bounds, and ends with its JSON object on one
//! line. Only the shape and the counts are checked here; speed is what the command measures,
//! never what a test asserts.

use serde_json::Value;

use crate::commands::zcred;

/// The last line of the output, as JSON, and the lines before it.
fn last_object(args: &[&str]) -> (Value, Vec<Value>) {
    let out = zcred(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let last = lines.pop().expect("one line at least");
    (last, lines)
}

#[test]
fn bench_scenarios_stop_within_their_bounds() {
    let (issue, steps) = last_object(&[
        "bench",
        "issue",
        "--clients",
        "1,2",
        "--count",
        "4",
        "--seconds",
        "60",
    ]);
    assert_eq!(issue["scenario"], "issue");
    assert_eq!(issue["store"], "sqlite");
    assert_eq!(steps.len(), 2, "one line per client count");
    for (step, clients) in issue["steps"].as_array().unwrap().iter().zip([1, 2]) {
        assert_eq!(step["clients"], clients);
        assert_eq!(step["issuances"], 4, "{step}");
        assert!(step["efficiency"].as_f64().unwrap() > 0.0, "{step}");
        assert!(step["latency"]["p50Ms"].as_f64().unwrap() > 0.0, "{step}");
    }
    assert!(issue["floor"]["bbsSignUs"].as_f64().unwrap() > 0.0);
    assert!(issue["best"]["issuancesPerSecond"].as_f64().unwrap() > 0.0);

    let (verify, variants) = last_object(&["bench", "verify", "--count", "3", "--seconds", "60"]);
    assert_eq!(verify["scenario"], "verify");
    assert_eq!(variants.len(), 2, "one line per variant");
    for (variant, ranges) in verify["variants"].as_array().unwrap().iter().zip([0, 1]) {
        assert_eq!(variant["rangeProofs"], ranges);
        assert_eq!(variant["latency"]["count"], 3, "{variant}");
        assert!(variant["floorMs"].as_f64().unwrap() > 0.0, "{variant}");
    }

    let (crypto, _) = last_object(&["bench", "crypto", "--rounds", "1"]);
    for n in ["bbs10", "bbs50"] {
        for op in ["signUs", "verifyUs", "proveUs", "verifyProofUs"] {
            assert!(
                crypto["primitives"][n][op].as_f64().unwrap() > 0.0,
                "{crypto}"
            );
        }
    }
    assert!(
        crypto["primitives"]["ed25519"]["verifyUs"]
            .as_f64()
            .unwrap()
            > 0.0
    );

    let (enc, _) = last_object(&["bench", "enc", "--count", "5", "--seconds", "60"]);
    assert_eq!(enc["scenario"], "enc");
    assert_eq!(enc["plain"]["count"], 5);
    assert_eq!(enc["encrypted"]["count"], 5);
    assert!(enc["envelopeCrypto"]["server"]["p50Ms"].as_f64().unwrap() > 0.0);

    let scale = status_scale(&[]);
    assert_eq!(scale["store"], "sqlite");
}

/// `bench status-scale` at two small sizes: one line per size, then the ratios.
fn status_scale(store: &[&str]) -> Value {
    let args = [
        &[
            "bench",
            "status-scale",
            "--sizes",
            "40,10",
            "--count",
            "3",
            "--seconds",
            "60",
        ],
        store,
    ]
    .concat();
    let (scale, steps) = last_object(&args);
    assert_eq!(scale["scenario"], "status-scale");
    assert_eq!(steps.len(), 2, "one line per size");
    for (step, size) in scale["steps"].as_array().unwrap().iter().zip([10, 40]) {
        assert_eq!(
            step["credentials"], size,
            "sizes in ascending order: {step}"
        );
        assert_eq!(step["statusLookup"]["count"], 3, "{step}");
        assert_eq!(step["vpVerify"]["count"], 3, "{step}");
    }
    for ratio in [
        "statusLookupP50LargestOverSmallest",
        "vpVerifyP50LargestOverSmallest",
        "serverResidentLargestOverSmallest",
    ] {
        assert!(scale[ratio].as_f64().unwrap() > 0.0, "{scale}");
    }
    assert!(
        scale["serverStartSlowestSeconds"].as_f64().is_some(),
        "{scale}"
    );
    scale
}

/// On PostgreSQL the bench works in a scratch schema and drops it at the end.
#[test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs PostgreSQL: set ZCRED_TEST_DATABASE_URL"
)]
fn bench_on_postgres_leaves_no_schema() {
    let Ok(url) = std::env::var("ZCRED_TEST_DATABASE_URL") else {
        println!("skipped bench_on_postgres_leaves_no_schema: ZCRED_TEST_DATABASE_URL is not set");
        return;
    };
    let schemas = || {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            let names: Vec<(String,)> = sqlx::query_as(
                "SELECT schema_name::text FROM information_schema.schemata WHERE schema_name LIKE 'zcred_bench_%'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            pool.close().await;
            names.into_iter().map(|(n,)| n).collect::<Vec<_>>()
        })
    };
    let before = schemas();
    // The status-scale bench also seeds the store itself, between server runs.
    let scale = status_scale(&["--database-url", &url]);
    assert_eq!(scale["store"], "postgres");
    // Issuance through two nodes on the one schema: every issuance counted, no 409.
    let (issue, _) = last_object(&[
        "bench",
        "issue",
        "--clients",
        "4",
        "--count",
        "8",
        "--seconds",
        "60",
        "--nodes",
        "2",
        "--database-url",
        &url,
    ]);
    assert_eq!(issue["nodes"], 2, "{issue}");
    assert_eq!(issue["steps"][0]["issuances"], 8, "{issue}");
    assert_eq!(issue["conflicts409"], 0, "{issue}");
    assert_eq!(schemas(), before, "the runs' schemas are dropped");
}
