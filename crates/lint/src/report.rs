//! Printers for findings: human (compiler-like), JSON, SARIF 2.1.0 and GitHub Actions
//! annotations. All are pure: they write to any `impl Write` and never touch files.
//!
//! JSON and SARIF come as streaming writers ([`JsonWriter`], [`SarifWriter`]) so the CLI can print
//! one file's findings at a time and keep memory flat on large corpora; [`sarif_log`] builds the
//! same document in memory for callers that want a value. Findings come from engine.rs.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::engine::Finding;
use crate::rules::{Category, Severity, rule_book};

/// Writes findings like a compiler: `file:line:col: severity[rule-id] message`, the source line,
/// a caret line under the span and `= reframe: …`.
pub fn write_human(
    out: &mut impl Write,
    path: &str,
    source: &str,
    findings: &[Finding],
    color: bool,
) -> io::Result<()> {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    for finding in findings {
        let severity_code = match finding.severity {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Info => "1;36",
        };
        writeln!(
            out,
            "{}: {} {}",
            paint(
                "1",
                &format!("{path}:{}:{}", finding.start.line, finding.start.column)
            ),
            paint(
                severity_code,
                &format!("{}[{}]", finding.severity, finding.rule_id)
            ),
            finding.message
        )?;
        let line_start = source[..finding.span.start.min(source.len())]
            .rfind('\n')
            .map_or(0, |index| index + 1);
        let line_end = source[line_start..]
            .find('\n')
            .map_or(source.len(), |length| line_start + length);
        let line_text = source[line_start..line_end].trim_end_matches('\r');
        let gutter = finding.start.line.to_string();
        let pad = " ".repeat(gutter.len());
        writeln!(out, "{pad} |")?;
        writeln!(out, "{gutter} | {}", line_text.replace('\t', " "))?;
        let caret_start = source[line_start..finding.span.start].chars().count();
        let caret_end = finding
            .span
            .end
            .min(line_start + line_text.len())
            .max(finding.span.start);
        let caret_width = source[finding.span.start..caret_end].chars().count().max(1);
        writeln!(
            out,
            "{pad} | {}{}",
            " ".repeat(caret_start),
            paint(severity_code, &"^".repeat(caret_width))
        )?;
        writeln!(out, "{pad} = reframe: {}", finding.reframe)?;
        if let Some(fix) = &finding.fix {
            if fix.replacement.is_empty() {
                writeln!(out, "{pad} = suggestion: delete \"{}\"", finding.matched)?;
            } else {
                writeln!(out, "{pad} = suggestion: \"{}\"", fix.replacement)?;
            }
        }
        if finding.quoted {
            writeln!(
                out,
                "{pad} = note: inside a quotation, so reported one step lower"
            )?;
        }
        writeln!(out, "{pad} = see: {}", finding.doc_url)?;
        writeln!(out)?;
    }
    Ok(())
}

/// One element of the JSON output: a finding with the file it came from.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct JsonFinding {
    pub file: String,
    #[serde(flatten)]
    pub finding: Finding,
}

/// Streams a JSON array of [`JsonFinding`]s, one file at a time.
#[derive(Debug)]
pub struct JsonWriter<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonWriter<W> {
    /// Starts the array.
    pub fn new(mut out: W) -> io::Result<JsonWriter<W>> {
        out.write_all(b"[")?;
        Ok(JsonWriter { out, first: true })
    }

    /// Appends one file's findings.
    pub fn write_findings(&mut self, path: &str, findings: &[Finding]) -> io::Result<()> {
        for finding in findings {
            self.out
                .write_all(if self.first { b"\n  " } else { b",\n  " })?;
            self.first = false;
            let element = JsonFinding {
                file: path.to_owned(),
                finding: finding.clone(),
            };
            serde_json::to_writer(&mut self.out, &element)?;
        }
        Ok(())
    }

    /// Closes the array and hands the writer back.
    pub fn finish(mut self) -> io::Result<W> {
        self.out
            .write_all(if self.first { b"]\n" } else { b"\n]\n" })?;
        Ok(self.out)
    }
}

/// Escapes GitHub workflow-command data (`%`, CR, LF).
fn escape_github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes GitHub workflow-command properties (data escapes plus `:` and `,`).
fn escape_github_property(text: &str) -> String {
    escape_github_data(text)
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// Writes GitHub Actions annotations:
/// `::warning file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`.
pub fn write_github(out: &mut impl Write, path: &str, findings: &[Finding]) -> io::Result<()> {
    for finding in findings {
        let command = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        writeln!(
            out,
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_github_property(path),
            finding.start.line,
            finding.start.column_utf16,
            finding.end.line,
            finding.end.column_utf16,
            escape_github_property(&format!("{} ({})", finding.rule_id, finding.category)),
            escape_github_data(&format!("{} Reframe: {}", finding.message, finding.reframe)),
        )?;
    }
    Ok(())
}

/// A relative path as a URI reference (RFC 3986): `/`-separated, with spaces, `%`, `#`, `?` and
/// non-ASCII bytes percent-encoded, as SARIF's `artifactLocation.uri` requires.
pub fn uri_reference(path: &str) -> String {
    let mut uri = String::with_capacity(path.len());
    for byte in path.replace('\\', "/").bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

/// SARIF requires `informationUri` and `helpUri` to be absolute URIs: the rule documentation in the
/// project repository (`repository` in Cargo.toml).
fn absolute_doc_uri(relative: &str) -> String {
    format!(
        "{}/blob/main/{relative}",
        env!("CARGO_PKG_REPOSITORY").trim_end_matches('/')
    )
}

/// SARIF schema location written into every log.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// A SARIF 2.1.0 log (the subset this tool writes).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SarifLog {
    #[serde(rename = "$schema")]
    pub schema: String,
    pub version: String,
    pub runs: Vec<SarifRun>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SarifRun {
    pub tool: SarifTool,
    pub results: Vec<SarifResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SarifTool {
    pub driver: SarifDriver,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SarifDriver {
    pub name: String,
    pub information_uri: String,
    pub rules: Vec<SarifRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SarifText {
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SarifCategory {
    pub category: Category,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SarifRule {
    pub id: String,
    pub short_description: SarifText,
    pub full_description: SarifText,
    pub help_uri: String,
    pub default_configuration: SarifConfiguration,
    pub properties: SarifCategory,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SarifConfiguration {
    pub level: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    pub rule_id: String,
    pub level: String,
    pub message: SarifText,
    pub locations: Vec<SarifLocation>,
    pub properties: SarifCategory,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SarifLocation {
    pub physical_location: SarifPhysicalLocation,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SarifPhysicalLocation {
    pub artifact_location: SarifArtifactLocation,
    pub region: SarifRegion,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SarifArtifactLocation {
    pub uri: String,
}

/// Lines and columns are 1-based; columns are UTF-16 code units (SARIF's default column kind),
/// and `endColumn` points just past the last character.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SarifRegion {
    pub start_line: usize,
    pub start_column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub byte_offset: usize,
    pub byte_length: usize,
}

fn sarif_level(severity: Severity) -> String {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
    .to_owned()
}

/// The tool description with every rule (and the custom-term rules).
pub fn sarif_tool() -> SarifTool {
    let book = rule_book();
    let mut rules: Vec<SarifRule> = book
        .rules
        .iter()
        .map(|rule| SarifRule {
            id: rule.id.clone(),
            short_description: SarifText {
                text: rule.summary.clone(),
            },
            full_description: SarifText {
                text: format!("{} {}", rule.message, rule.rationale),
            },
            help_uri: absolute_doc_uri(&rule.doc_url()),
            default_configuration: SarifConfiguration {
                level: sarif_level(rule.severity),
            },
            properties: SarifCategory {
                category: rule.category,
            },
        })
        .collect();
    rules.extend(book.categories.iter().map(|info| SarifRule {
        id: info.id.custom_rule_id(),
        short_description: SarifText {
            text: format!("Custom term: {}", info.title),
        },
        full_description: SarifText {
            text: info.message.clone(),
        },
        help_uri: absolute_doc_uri("docs/RULES.md#custom-terms"),
        default_configuration: SarifConfiguration {
            level: sarif_level(Severity::Warning),
        },
        properties: SarifCategory { category: info.id },
    }));
    SarifTool {
        driver: SarifDriver {
            name: "secondstory".to_owned(),
            information_uri: absolute_doc_uri("docs/RULES.md"),
            rules,
        },
    }
}

/// One SARIF result per finding; `uri` is the artifact location as given.
pub fn sarif_results(uri: &str, findings: &[Finding]) -> Vec<SarifResult> {
    findings
        .iter()
        .map(|finding| SarifResult {
            rule_id: finding.rule_id.clone(),
            level: sarif_level(finding.severity),
            message: SarifText {
                text: format!("{} Reframe: {}", finding.message, finding.reframe),
            },
            locations: vec![SarifLocation {
                physical_location: SarifPhysicalLocation {
                    artifact_location: SarifArtifactLocation {
                        uri: uri_reference(uri),
                    },
                    region: SarifRegion {
                        start_line: finding.start.line,
                        start_column: finding.start.column_utf16,
                        end_line: finding.end.line,
                        end_column: finding.end.column_utf16,
                        byte_offset: finding.span.start,
                        byte_length: finding.span.end - finding.span.start,
                    },
                },
            }],
            properties: SarifCategory {
                category: finding.category,
            },
        })
        .collect()
}

/// A complete SARIF log for several files, in memory.
pub fn sarif_log(files: &[(&str, &[Finding])]) -> SarifLog {
    SarifLog {
        schema: SARIF_SCHEMA.to_owned(),
        version: "2.1.0".to_owned(),
        runs: vec![SarifRun {
            tool: sarif_tool(),
            results: files
                .iter()
                .flat_map(|(uri, findings)| sarif_results(uri, findings))
                .collect(),
        }],
    }
}

/// Streams a SARIF log: the envelope and tool first, then results file by file.
#[derive(Debug)]
pub struct SarifWriter<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> SarifWriter<W> {
    /// Writes the log's envelope and tool description.
    pub fn new(mut out: W) -> io::Result<SarifWriter<W>> {
        write!(
            out,
            "{{\"$schema\":{},\"version\":\"2.1.0\",\"runs\":[{{\"tool\":",
            serde_json::to_string(SARIF_SCHEMA)?
        )?;
        serde_json::to_writer(&mut out, &sarif_tool())?;
        out.write_all(b",\"results\":[")?;
        Ok(SarifWriter { out, first: true })
    }

    /// Appends one file's findings as results.
    pub fn write_findings(&mut self, uri: &str, findings: &[Finding]) -> io::Result<()> {
        for result in sarif_results(uri, findings) {
            if !self.first {
                self.out.write_all(b",")?;
            }
            self.first = false;
            self.out.write_all(b"\n")?;
            serde_json::to_writer(&mut self.out, &result)?;
        }
        Ok(())
    }

    /// Closes the log and hands the writer back.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(b"]}]}\n")?;
        Ok(self.out)
    }
}
