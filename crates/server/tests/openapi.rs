//! The OpenAPI document is a contract: it is locked by a snapshot, so an API change is a visible,
//! reviewed change of `tests/snapshots/openapi.json`. After changing the API on purpose, run
//! `UPDATE_SNAPSHOTS=1 cargo test -p secondstory-server --test openapi` and commit the result.

use std::path::Path;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/openapi.json");
const UPDATE: &str = "UPDATE_SNAPSHOTS=1 cargo test -p secondstory-server --test openapi";

fn live_document() -> serde_json::Value {
    serde_json::to_value(secondstory_server::api().1).expect("the OpenAPI document serialises")
}

fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON");
    text.push('\n');
    text
}

/// The first line where two texts differ, with a little context, for the failure message.
fn first_difference(expected: &str, actual: &str) -> String {
    let (old, new): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let at = old
        .iter()
        .zip(&new)
        .position(|(a, b)| a != b)
        .unwrap_or(old.len().min(new.len()));
    let show = |lines: &[&str]| {
        lines
            .iter()
            .skip(at.saturating_sub(2))
            .take(5)
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "first difference at line {}:\n  snapshot:\n{}\n  live:\n{}",
        at + 1,
        show(&old),
        show(&new)
    )
}

#[test]
fn the_openapi_document_matches_its_snapshot() {
    let live = pretty(&live_document());
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(Path::new(SNAPSHOT).parent().expect("parent")).expect("mkdir");
        std::fs::write(SNAPSHOT, &live).expect("write the snapshot");
        eprintln!("updated {SNAPSHOT}");
        return;
    }
    let Ok(snapshot) = std::fs::read_to_string(SNAPSHOT) else {
        panic!("no snapshot at {SNAPSHOT}; create it with `{UPDATE}`");
    };
    if snapshot != live {
        panic!(
            "the API changed but its OpenAPI snapshot did not.\n{}\n\nIf the change is intended, \
             update the snapshot with\n  {UPDATE}\nand review the diff of \
             crates/server/tests/snapshots/openapi.json before committing.",
            first_difference(&snapshot, &live)
        );
    }
}

#[test]
fn the_document_is_openapi_3_1_and_served_as_json() {
    let doc = live_document();
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(
        version.starts_with("3.1."),
        "OpenAPI {version}, expected 3.1.x"
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[test]
fn every_operation_documents_a_client_error_and_a_tag() {
    let doc = live_document();
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let responses = operation["responses"].as_object().expect("responses");
            if !responses.keys().any(|status| status.starts_with('4')) {
                missing.push(format!("{} {path}: no 4xx response", method.to_uppercase()));
            }
            if operation["tags"].as_array().is_none_or(Vec::is_empty) {
                missing.push(format!("{} {path}: no tag", method.to_uppercase()));
            }
            for (status, response) in responses {
                let problem = response["content"]["application/problem+json"].is_object()
                    || response["content"]["application/json"]["schema"]["$ref"]
                        .as_str()
                        .is_some_and(|r| r.ends_with("/Problem"));
                if status.starts_with('4') && !problem && status != "404" {
                    missing.push(format!(
                        "{} {path}: {status} is not documented as a problem document",
                        method.to_uppercase()
                    ));
                }
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
