//! `secondstory lint` end to end: exit codes, formats, stdin, directories, configuration discovery
//! and baselines.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BLAMING: &str = "# Review\n\nThe engineer forgot to drain the node.\n";
const CLEAN: &str = "# Review\n\nThe database failed over to the replica.\n";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "secondstory-lint-cli-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("dir");
    }
    std::fs::write(path, text).expect("write");
}

fn lint(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secondstory"))
        .arg("lint")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run secondstory")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_clean_file_exits_0_and_a_file_with_findings_exits_1_with_compiler_like_output() {
    let dir = scratch("exit-codes");
    write(&dir.join("clean.md"), CLEAN);
    write(&dir.join("blaming.md"), BLAMING);
    assert_eq!(lint(&dir, &["clean.md"]).status.code(), Some(0));
    let output = lint(&dir, &["blaming.md", "--no-color"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.starts_with("blaming.md:3:1: warning[blame-person-omission] "),
        "{text}"
    );
    assert!(text.contains("= reframe: "));
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn a_missing_file_exits_2_and_the_error_names_it() {
    let dir = scratch("missing");
    let output = lint(&dir, &["nope.md"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nope.md"));
}

#[test]
fn directories_are_searched_recursively_for_markdown_and_no_path_means_the_current_directory() {
    let dir = scratch("recursive");
    write(&dir.join("a/b/deep.md"), BLAMING);
    write(&dir.join("a/notes.txt"), BLAMING);
    write(&dir.join(".hidden/skip.md"), BLAMING);
    let output = lint(&dir, &["--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let findings: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let files: Vec<&str> = findings
        .as_array()
        .expect("array")
        .iter()
        .map(|f| f["file"].as_str().expect("file"))
        .collect();
    assert_eq!(files, vec!["a/b/deep.md"]);
}

#[test]
fn json_output_lists_findings_with_their_category() {
    let dir = scratch("json");
    write(&dir.join("r.md"), BLAMING);
    let output = lint(&dir, &["r.md", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(value[0]["rule_id"], "blame-person-omission");
    assert_eq!(value[0]["category"], "blame");
    assert_eq!(value[0]["start"]["line"], 3);
}

#[test]
fn sarif_output_is_a_2_1_0_log_with_rules_and_results() {
    let dir = scratch("sarif");
    write(&dir.join("r.md"), BLAMING);
    let output = lint(&dir, &["r.md", "--format", "sarif"]);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(value["version"], "2.1.0");
    assert_eq!(value["runs"][0]["tool"]["driver"]["name"], "secondstory");
    let result = &value["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "blame-person-omission");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "r.md"
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        3
    );
}

#[test]
fn github_output_is_workflow_annotations() {
    let dir = scratch("github");
    write(&dir.join("r.md"), BLAMING);
    let text = stdout(&lint(&dir, &["r.md", "--format", "github"]));
    assert!(
        text.starts_with("::warning file=r.md,line=3,col=1,"),
        "{text}"
    );
}

#[test]
fn a_dash_reads_the_document_from_stdin() {
    let dir = scratch("stdin");
    let mut child = Command::new(env!("CARGO_BIN_EXE_secondstory"))
        .args(["lint", "-", "--format", "json"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(BLAMING.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(value[0]["file"], "<stdin>");
}

#[test]
fn the_severity_threshold_hides_lower_findings() {
    let dir = scratch("threshold");
    write(&dir.join("r.md"), BLAMING);
    assert_eq!(
        lint(&dir, &["r.md", "--severity", "error"]).status.code(),
        Some(0)
    );
    assert_eq!(
        lint(&dir, &["r.md", "--severity", "warning"]).status.code(),
        Some(1)
    );
}

#[test]
fn a_secondstory_toml_found_upward_from_the_file_configures_the_rules() {
    let dir = scratch("config-upward");
    write(
        &dir.join(".secondstory.toml"),
        "[lint]\ndisabled = [\"blame\"]\n",
    );
    write(&dir.join("docs/reviews/r.md"), BLAMING);
    assert_eq!(lint(&dir, &["docs"]).status.code(), Some(0));
    write(&dir.join("other.toml"), "[lint]\ndisabled = []\n");
    assert_eq!(
        lint(&dir, &["docs", "--config", "other.toml"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn an_invalid_configuration_exits_2_and_names_the_file() {
    let dir = scratch("bad-config");
    write(
        &dir.join("bad.toml"),
        "[lint]\ndisabled = [\"no-such-rule\"]\n",
    );
    write(&dir.join("r.md"), BLAMING);
    let output = lint(&dir, &["r.md", "--config", "bad.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("bad.toml"));
}

#[test]
fn a_baseline_hides_known_findings_even_after_lines_move() {
    let dir = scratch("baseline");
    write(&dir.join("r.md"), BLAMING);
    let written = lint(&dir, &["r.md", "--write-baseline", "baseline.json"]);
    assert_eq!(written.status.code(), Some(0));
    assert_eq!(
        lint(&dir, &["r.md", "--baseline", "baseline.json"])
            .status
            .code(),
        Some(0)
    );
    // New text above the old finding moves it down; only the new finding is reported.
    write(
        &dir.join("r.md"),
        &format!("Obviously this moved things.\n\n{BLAMING}"),
    );
    let output = lint(
        &dir,
        &["r.md", "--baseline", "baseline.json", "--format", "json"],
    );
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let rules: Vec<&str> = value
        .as_array()
        .expect("array")
        .iter()
        .map(|f| f["rule_id"].as_str().expect("id"))
        .collect();
    assert_eq!(rules, vec!["judgmental-obviously"]);
}

#[test]
fn rules_doc_prints_the_rule_reference() {
    let dir = scratch("rules-doc");
    let output = lint(&dir, &["--rules-doc"]);
    assert_eq!(output.status.code(), Some(0));
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/RULES.md"))
            .expect("docs/RULES.md");
    assert_eq!(stdout(&output), checked_in);
}
