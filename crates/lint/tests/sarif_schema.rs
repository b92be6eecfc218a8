//! SARIF output validates against the official SARIF 2.1.0 JSON schema (OASIS), and meets what
//! GitHub code scanning requires of an upload.
//!
//! The schema is not copied into this repository: the `serde-sarif` crate (MIT) ships it as
//! `src/schema.json`, and it is a dev-dependency, so Cargo has fetched it into its registry cache
//! before this test runs. `SARIF_SCHEMA=/path/to/sarif-schema-2.1.0.json` overrides the lookup.

use std::path::{Path, PathBuf};

use secondstory_lint::report::{SarifWriter, sarif_log};
use secondstory_lint::{Finding, lint, rule_book};
use serde_json::Value;

const SCHEMA_ID: &str = "sarif-schema-2.1.0.json";

/// The schema file inside the fetched `serde-sarif` package.
fn schema_path() -> PathBuf {
    if let Some(path) = std::env::var_os("SARIF_SCHEMA") {
        return PathBuf::from(path);
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let registry = cargo_home.join("registry").join("src");
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(&registry)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|index| {
            std::fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|package| package.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("serde-sarif-"))
        })
        .map(|package| package.join("src").join("schema.json"))
        .filter(|schema| schema.is_file())
        .collect();
    candidates.sort();
    candidates.pop().unwrap_or_else(|| {
        panic!(
            "no serde-sarif package under {} (run `cargo fetch`, or set SARIF_SCHEMA)",
            registry.display()
        )
    })
}

fn validator() -> jsonschema::Validator {
    let path = schema_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    // The `language` patterns (run, toolComponent), "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
    // have a stray `]` that ECMA-262 reads as a literal but the validator's meta-schema `regex`
    // format check rejects. Escape it (we never write `language`); the rest is used as shipped.
    escape_stray_brackets(&mut schema);
    assert!(
        schema["$id"]
            .as_str()
            .is_some_and(|id| id.ends_with(SCHEMA_ID)),
        "{} is not the SARIF 2.1.0 schema",
        path.display()
    );
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

fn escape_stray_brackets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match child {
                    Value::String(text) if key == "pattern" && text.contains("{2}]?") => {
                        *text = text.replace("{2}]?", r"{2}\]?");
                    }
                    _ => escape_stray_brackets(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(escape_stray_brackets),
        _ => {}
    }
}

fn assert_valid(validator: &jsonschema::Validator, log: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema violations:\n{}",
        errors.join("\n")
    );
}

/// Every rule's firing examples, a quoted one, an action item and non-ASCII text, in two files.
fn documents() -> Vec<(String, String)> {
    let book = rule_book();
    let mut review = String::from("---\nparticipants: [Łukasz Nowak]\n---\n\n# Review\n\n");
    for rule in &book.rules {
        for example in &rule.fires {
            review.push_str(example);
            review.push_str("\n\n");
        }
    }
    review
        .push_str("> \"Who pushed this?\" asked the lead. 🚨 Łukasz forgot to drain the node.\n\n");
    review.push_str("## Action items\n\n- Engineers need to be more careful with `rm -rf`.\n");
    vec![
        ("docs/reviews/2024-03-01.md".to_owned(), review),
        (
            "notes with spaces/ünïcode.md".to_owned(),
            "Clearly the on-call failed to escalate.\n".to_owned(),
        ),
    ]
}

#[test]
fn sarif_output_validates_against_the_official_2_1_0_schema() {
    let validator = validator();
    let documents = documents();
    let linted: Vec<(String, Vec<Finding>)> = documents
        .iter()
        .map(|(path, text)| (path.clone(), lint(text)))
        .collect();
    assert!(
        linted[0].1.len() > rule_book().rules.len(),
        "every rule fires"
    );

    // The streaming writer (what the CLI prints) and the in-memory log.
    let mut writer = SarifWriter::new(Vec::new()).expect("start");
    for (path, findings) in &linted {
        writer.write_findings(path, findings).expect("write");
    }
    let streamed: Value = serde_json::from_slice(&writer.finish().expect("finish")).expect("json");
    assert_valid(&validator, &streamed);
    let borrowed: Vec<(&str, &[Finding])> = linted
        .iter()
        .map(|(path, findings)| (path.as_str(), findings.as_slice()))
        .collect();
    let built = serde_json::to_value(sarif_log(&borrowed)).expect("value");
    assert_valid(&validator, &built);

    // An empty run is valid too.
    let empty = SarifWriter::new(Vec::new())
        .expect("start")
        .finish()
        .expect("finish");
    assert_valid(&validator, &serde_json::from_slice(&empty).expect("json"));

    // And serde-sarif's typed model, generated from the same schema, reads it back.
    let typed: serde_sarif::sarif::Sarif = serde_json::from_value(streamed).expect("typed SARIF");
    assert_eq!(typed.runs.len(), 1);
}

#[test]
fn the_validator_rejects_a_broken_log() {
    let validator = validator();
    let findings = lint("The engineer forgot to drain the node.\n");
    let mut log = serde_json::to_value(sarif_log(&[("a.md", &findings)])).expect("value");
    assert_valid(&validator, &log);
    log["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(
        !validator.is_valid(&log),
        "level must be one of none|note|warning|error"
    );
}

/// What GitHub code scanning needs beyond the schema: a driver name, results whose rule ids are
/// declared, messages, relative artifact URIs and 1-based regions.
#[test]
fn sarif_output_meets_github_code_scanning_requirements() {
    let documents = documents();
    let linted: Vec<(String, Vec<Finding>)> = documents
        .iter()
        .map(|(path, text)| (path.clone(), lint(text)))
        .collect();
    let mut writer = SarifWriter::new(Vec::new()).expect("start");
    for (path, findings) in &linted {
        writer.write_findings(path, findings).expect("write");
    }
    let log: Value = serde_json::from_slice(&writer.finish().expect("finish")).expect("json");
    assert_eq!(log["version"], "2.1.0");
    assert!(
        log["$schema"]
            .as_str()
            .is_some_and(|s| s.contains("sarif-2.1.0"))
    );
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert!(driver["name"].as_str().is_some_and(|name| !name.is_empty()));
    let rule_ids: Vec<&str> = driver["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|rule| rule["id"].as_str().expect("rule id"))
        .collect();
    let results = runs[0]["results"].as_array().expect("results");
    assert_eq!(
        results.len(),
        linted.iter().map(|(_, f)| f.len()).sum::<usize>()
    );
    for result in results {
        let rule_id = result["ruleId"].as_str().expect("ruleId");
        assert!(rule_ids.contains(&rule_id), "undeclared rule {rule_id}");
        assert!(matches!(
            result["level"].as_str(),
            Some("error" | "warning" | "note" | "none")
        ));
        assert!(
            result["message"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(
            !uri.starts_with('/') && !uri.contains("://"),
            "relative uri: {uri}"
        );
        let region = &location["region"];
        for key in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(region[key].as_u64().is_some_and(|n| n >= 1), "{key} >= 1");
        }
        assert!(region["endLine"].as_u64() >= region["startLine"].as_u64());
    }
}
