//! `secondstory lint`: the command-line face of the blameless-language coach (crate
//! `secondstory-lint`).
//!
//! This module owns everything the library leaves out on purpose: finding files (directories are
//! searched for `*.md`, `-` is stdin), finding `.secondstory.toml` upward from each file, reading
//! and writing baselines, linting files in parallel (rayon) and streaming one printer's output to
//! stdout in a stable order. Exit codes: 0 clean, 1 findings reported, 2 usage or I/O error.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use rayon::prelude::*;
use secondstory_lint::report::{JsonWriter, SarifWriter, write_github, write_human};
use secondstory_lint::{Finding, LintOptions, Linter, Severity, rules_markdown};
use serde::{Deserialize, Serialize};

/// Output formats of `secondstory lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// Compiler-like text with the source line and a caret under the words.
    Human,
    /// A JSON array of findings.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
}

/// Reporting threshold for `--severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityThreshold {
    Info,
    Warning,
    Error,
}

impl From<SeverityThreshold> for Severity {
    fn from(threshold: SeverityThreshold) -> Severity {
        match threshold {
            SeverityThreshold::Info => Severity::Info,
            SeverityThreshold::Warning => Severity::Warning,
            SeverityThreshold::Error => Severity::Error,
        }
    }
}

/// Check incident reviews for blame language.
#[derive(clap::Args, Debug)]
pub struct LintArgs {
    /// Markdown files or directories (searched recursively for *.md); `-` reads stdin.
    /// Without paths, the current directory is linted.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Human)]
    pub format: LintFormat,
    /// Report only findings at or above this severity.
    #[arg(long, value_enum, default_value_t = SeverityThreshold::Info)]
    pub severity: SeverityThreshold,
    /// Report only findings that are not in this baseline (written by --write-baseline).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Save every current finding as a baseline; the run then exits 0 unless an error occurred.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Never colour the output (colour is used only when stdout is a terminal).
    #[arg(long)]
    pub no_color: bool,
    /// Use this configuration file instead of `.secondstory.toml` found upward from each file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the rule reference (docs/RULES.md) and exit.
    #[arg(long)]
    pub rules_doc: bool,
}

/// Name of the configuration file searched for upward from each linted file.
const CONFIG_FILE_NAME: &str = ".secondstory.toml";
/// Files linted per parallel batch: bounds memory (sources and findings of one batch) while
/// keeping every core busy and the output in a stable order.
const BATCH_SIZE: usize = 256;

/// Runs `secondstory lint` and returns the process exit code (0, 1 or 2). Errors are printed to
/// stderr here, naming the file concerned, so the caller only has to exit with the code.
pub fn run_lint(args: &LintArgs) -> Result<u8> {
    match run(args) {
        Ok(code) => Ok(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            Ok(2)
        }
    }
}

/// Where a document comes from.
#[derive(Debug, Clone)]
enum Input {
    Stdin(String),
    File(PathBuf),
}

impl Input {
    fn display(&self) -> String {
        match self {
            Input::Stdin(_) => "<stdin>".to_owned(),
            Input::File(path) => display_path(path),
        }
    }
}

/// One linted document, ready to print.
struct Linted {
    display: String,
    source: String,
    findings: Vec<Finding>,
}

fn run(args: &LintArgs) -> Result<u8> {
    let mut stdout = BufWriter::new(io::stdout().lock());
    if args.rules_doc {
        stdout.write_all(rules_markdown().as_bytes())?;
        stdout.flush()?;
        return Ok(0);
    }
    let baseline = match &args.baseline {
        Some(path) => Some(Baseline::read(path)?),
        None => None,
    };
    let explicit_linter = match &args.config {
        Some(path) => Some(Arc::new(load_linter(path)?)),
        None => None,
    };

    let mut had_error = false;
    let mut inputs = Vec::new();
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    for path in &paths {
        if path.as_os_str() == "-" {
            let mut text = Vec::new();
            io::stdin()
                .read_to_end(&mut text)
                .context("reading stdin")?;
            inputs.push(Input::Stdin(String::from_utf8_lossy(&text).into_owned()));
        } else if let Err(error) = collect_markdown(path, &mut inputs) {
            eprintln!("error: {error:#}");
            had_error = true;
        }
    }

    // Resolve configurations sequentially (cheap, memoised per directory) before going parallel.
    let mut configs = ConfigResolver::default();
    let mut linters: Vec<Arc<Linter>> = Vec::with_capacity(inputs.len());
    for input in &inputs {
        let linter = match (&explicit_linter, input) {
            (Some(linter), _) => Arc::clone(linter),
            (None, Input::Stdin(_)) => configs.for_dir(&std::env::current_dir()?)?,
            (None, Input::File(path)) => {
                let dir = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                configs.for_dir(dir)?
            }
        };
        linters.push(linter);
    }

    let color =
        !args.no_color && io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let threshold = Severity::from(args.severity);
    let mut printer = Printer::new(args.format, &mut stdout, color)?;
    let mut reported = 0usize;
    let mut new_baseline = args.write_baseline.as_ref().map(|_| Baseline::default());
    let jobs: Vec<(&Input, &Arc<Linter>)> = inputs.iter().zip(&linters).collect();
    for batch in jobs.chunks(BATCH_SIZE) {
        let results: Vec<Result<Linted>> = batch
            .par_iter()
            .map(|(input, linter)| {
                let source = match input {
                    Input::Stdin(text) => text.clone(),
                    Input::File(path) => read_lossy(path)?,
                };
                let findings = linter.lint(&source);
                Ok(Linted {
                    display: input.display(),
                    source,
                    findings,
                })
            })
            .collect();
        for result in results {
            let mut linted = match result {
                Ok(linted) => linted,
                Err(error) => {
                    eprintln!("error: {error:#}");
                    had_error = true;
                    continue;
                }
            };
            linted
                .findings
                .retain(|finding| finding.severity >= threshold);
            if let Some(recording) = new_baseline.as_mut() {
                recording.record(&linted.display, &linted.findings);
            }
            if let Some(baseline) = &baseline {
                linted.findings = baseline.new_findings(&linted.display, linted.findings);
            }
            reported += linted.findings.len();
            printer.print(&linted)?;
        }
    }
    printer.finish()?;
    stdout.flush()?;

    if let (Some(path), Some(recording)) = (&args.write_baseline, &new_baseline) {
        recording.write(path)?;
        return Ok(if had_error { 2 } else { 0 });
    }
    Ok(if had_error {
        2
    } else if reported > 0 {
        1
    } else {
        0
    })
}

fn read_lossy(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    })
}

fn display_path(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_owned).unwrap_or(text)
}

/// Adds `path` (a file) or every `*.md` below it (a directory, sorted, hidden directories,
/// `target` and `node_modules` skipped) to `inputs`.
fn collect_markdown(path: &Path, inputs: &mut Vec<Input>) -> Result<()> {
    let metadata = std::fs::metadata(path)
        .with_context(|| format!("{}: no such file or directory", path.display()))?;
    if !metadata.is_dir() {
        inputs.push(Input::File(path.to_path_buf()));
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("{}: cannot list directory", path.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<_>>()
        .with_context(|| format!("{}: cannot list directory", path.display()))?;
    entries.sort();
    for entry in entries {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if entry.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                collect_markdown(&entry, inputs)?;
            }
        } else if name.ends_with(".md") || name.ends_with(".markdown") {
            inputs.push(Input::File(entry));
        }
    }
    Ok(())
}

fn load_linter(path: &Path) -> Result<Linter> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read configuration", path.display()))?;
    let options = LintOptions::from_toml_str(&text)
        .with_context(|| format!("{}: invalid configuration", path.display()))?;
    Linter::new(options).with_context(|| format!("{}: invalid configuration", path.display()))
}

/// Finds `.secondstory.toml` upward from a directory, compiling each configuration once.
#[derive(Default)]
struct ConfigResolver {
    by_dir: BTreeMap<PathBuf, Arc<Linter>>,
    by_config: BTreeMap<PathBuf, Arc<Linter>>,
    default: Option<Arc<Linter>>,
}

impl ConfigResolver {
    fn for_dir(&mut self, dir: &Path) -> Result<Arc<Linter>> {
        if let Some(linter) = self.by_dir.get(dir) {
            return Ok(Arc::clone(linter));
        }
        let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let found = absolute
            .ancestors()
            .map(|a| a.join(CONFIG_FILE_NAME))
            .find(|c| c.is_file());
        let linter = match found {
            Some(config) => match self.by_config.get(&config) {
                Some(linter) => Arc::clone(linter),
                None => {
                    let linter = Arc::new(load_linter(&config)?);
                    self.by_config.insert(config, Arc::clone(&linter));
                    linter
                }
            },
            None => Arc::clone(
                self.default
                    .get_or_insert_with(|| Arc::new(Linter::default())),
            ),
        };
        self.by_dir.insert(dir.to_path_buf(), Arc::clone(&linter));
        Ok(linter)
    }
}

/// The chosen output format, streaming.
enum Printer<'w, W: Write> {
    Human { out: &'w mut W, color: bool },
    Github { out: &'w mut W },
    Json(JsonWriter<&'w mut W>),
    Sarif(SarifWriter<&'w mut W>),
}

impl<'w, W: Write> Printer<'w, W> {
    fn new(format: LintFormat, out: &'w mut W, color: bool) -> io::Result<Printer<'w, W>> {
        Ok(match format {
            LintFormat::Human => Printer::Human { out, color },
            LintFormat::Github => Printer::Github { out },
            LintFormat::Json => Printer::Json(JsonWriter::new(out)?),
            LintFormat::Sarif => Printer::Sarif(SarifWriter::new(out)?),
        })
    }

    fn print(&mut self, linted: &Linted) -> io::Result<()> {
        match self {
            Printer::Human { out, color } => write_human(
                *out,
                &linted.display,
                &linted.source,
                &linted.findings,
                *color,
            ),
            Printer::Github { out } => write_github(*out, &linted.display, &linted.findings),
            Printer::Json(writer) => writer.write_findings(&linted.display, &linted.findings),
            Printer::Sarif(writer) => writer.write_findings(&linted.display, &linted.findings),
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Printer::Human { .. } | Printer::Github { .. } => Ok(()),
            Printer::Json(writer) => writer.finish().map(drop),
            Printer::Sarif(writer) => writer.finish().map(drop),
        }
    }
}

/// Findings accepted earlier. Keyed by file, rule and matched text with an occurrence index, not
/// by line, so edits elsewhere in a file do not turn old findings into new ones.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Baseline {
    version: u32,
    findings: Vec<BaselineEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct BaselineEntry {
    file: String,
    rule: String,
    text: String,
    occurrence: usize,
}

impl Baseline {
    const VERSION: u32 = 1;

    fn read(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read baseline", path.display()))?;
        let mut baseline: Baseline = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a secondstory baseline", path.display()))?;
        baseline.findings.sort(); // `new_findings` searches it
        if baseline.version != Baseline::VERSION {
            bail!(
                "{}: unsupported baseline version {}",
                path.display(),
                baseline.version
            );
        }
        Ok(baseline)
    }

    fn record(&mut self, file: &str, findings: &[Finding]) {
        self.version = Baseline::VERSION;
        self.findings.extend(baseline_entries(file, findings));
    }

    /// The findings of one file that the baseline does not already hold.
    fn new_findings(&self, file: &str, findings: Vec<Finding>) -> Vec<Finding> {
        let entries = baseline_entries(file, &findings);
        findings
            .into_iter()
            .zip(entries)
            .filter(|(_, entry)| self.findings.binary_search(entry).is_err())
            .map(|(finding, _)| finding)
            .collect()
    }

    fn write(&self, path: &Path) -> Result<()> {
        let mut sorted = Baseline {
            version: Baseline::VERSION,
            findings: self.findings.clone(),
        };
        sorted.findings.sort();
        let text = serde_json::to_string_pretty(&sorted)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("{}: cannot write baseline", path.display()))
    }
}

fn baseline_entries(file: &str, findings: &[Finding]) -> Vec<BaselineEntry> {
    let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    findings
        .iter()
        .map(|finding| {
            let count = seen
                .entry((finding.rule_id.as_str(), finding.matched.as_str()))
                .or_default();
            let entry = BaselineEntry {
                file: file.to_owned(),
                rule: finding.rule_id.clone(),
                text: finding.matched.clone(),
                occurrence: *count,
            };
            *count += 1;
            entry
        })
        .collect()
}
