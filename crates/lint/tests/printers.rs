//! Printers render findings for people (human), machines (JSON, SARIF 2.1.0) and CI (GitHub).

use secondstory_lint::report::{
    JsonFinding, JsonWriter, SarifLog, SarifWriter, sarif_log, write_github, write_human,
};
use secondstory_lint::{Finding, lint};

const DOC: &str = "# Review\n\nThe engineer forgot to drain the node, obviously.\n";

fn findings() -> Vec<Finding> {
    lint(DOC)
}

#[test]
fn human_output_is_compiler_like_with_a_caret_under_the_span() {
    let mut out = Vec::new();
    write_human(&mut out, "review.md", DOC, &findings(), false).expect("write");
    let text = String::from_utf8(out).expect("utf8");
    assert!(
        text.starts_with("review.md:3:1: warning[blame-person-omission] "),
        "{text}"
    );
    assert!(text.contains("3 | The engineer forgot to drain the node, obviously.\n"));
    assert!(text.contains("  | ^^^^^^^^^^^^^^^^^^^^^^\n"), "{text}");
    assert!(text.contains("  = reframe: "));
    assert!(!text.contains('\x1b'));
    let mut colored = Vec::new();
    write_human(&mut colored, "review.md", DOC, &findings(), true).expect("write");
    assert!(
        String::from_utf8(colored)
            .expect("utf8")
            .contains("\x1b[1;33m")
    );
}

#[test]
fn json_output_is_an_array_of_findings_with_file_and_category() {
    let mut writer = JsonWriter::new(Vec::new()).expect("start");
    writer.write_findings("a.md", &findings()).expect("write");
    writer.write_findings("b.md", &[]).expect("write");
    let out = writer.finish().expect("finish");
    let parsed: Vec<JsonFinding> = serde_json::from_slice(&out).expect("valid JSON");
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0].file, "a.md");
    let value: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(value[0]["category"], "blame");
    assert_eq!(value[1]["category"], "judgmental");
    let empty = JsonWriter::new(Vec::new())
        .expect("start")
        .finish()
        .expect("finish");
    assert_eq!(
        serde_json::from_slice::<Vec<JsonFinding>>(&empty)
            .expect("json")
            .len(),
        0
    );
}

#[test]
fn sarif_output_follows_the_2_1_0_shape_with_utf16_columns() {
    let findings = findings();
    let mut writer = SarifWriter::new(Vec::new()).expect("start");
    writer
        .write_findings("docs/review.md", &findings)
        .expect("write");
    let streamed: SarifLog =
        serde_json::from_slice(&writer.finish().expect("finish")).expect("json");
    assert_eq!(streamed, sarif_log(&[("docs/review.md", &findings)]));
    let value = serde_json::to_value(&streamed).expect("value");
    assert_eq!(value["version"], "2.1.0");
    assert!(
        value["$schema"]
            .as_str()
            .expect("schema")
            .contains("sarif-2.1.0")
    );
    let driver = &value["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "secondstory");
    let rule = &driver["rules"][0];
    for key in ["id", "shortDescription", "fullDescription", "helpUri"] {
        assert!(!rule[key].is_null(), "rule.{key}");
    }
    assert!(!rule["properties"]["category"].is_null());
    let result = &value["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "blame-person-omission");
    assert_eq!(result["level"], "warning");
    assert_eq!(result["properties"]["category"], "blame");
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 3);
    assert_eq!(region["startColumn"], 1);
    assert_eq!(region["endColumn"], 23);
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "docs/review.md"
    );
}

#[test]
fn github_annotations_escape_properties_and_data() {
    let mut out = Vec::new();
    write_github(&mut out, "dir,1/a:b.md", &findings()).expect("write");
    let text = String::from_utf8(out).expect("utf8");
    let first = text.lines().next().expect("a line");
    assert!(first.starts_with("::warning file=dir%2C1/a%3Ab.md,line=3,col=1,endLine=3,endColumn=23,title=blame-person-omission (blame)::"), "{first}");
}
