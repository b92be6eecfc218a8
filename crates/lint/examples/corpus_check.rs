//! Measures library throughput on a generated corpus and checks the corpus labels:
//! recall on injected prose phrases and silence on decoys (code blocks, inline code).
//!
//! ```sh
//! python3 ../shared/bench/gen_corpus.py --out /tmp/c5 --total-mb 5
//! cargo run --release -p secondstory-lint --example corpus_check -- /tmp/c5
//! ```
//! Single-threaded on purpose: it reports per-core throughput of `Linter::lint`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use secondstory_lint::{Finding, Linter};

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            markdown_files(&entry, out)?;
        } else if entry.extension().is_some_and(|ext| ext == "md") {
            out.push(entry);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: corpus_check <corpus dir>")?,
    );
    let mut files = Vec::new();
    markdown_files(&root, &mut files)?;
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|path| {
            let relative = path
                .strip_prefix(&root)
                .unwrap_or(path)
                .to_string_lossy()
                .into_owned();
            std::fs::read_to_string(path).map(|text| (relative, text))
        })
        .collect::<Result<_, _>>()?;
    let bytes: usize = sources.iter().map(|(_, text)| text.len()).sum();
    let linter = Linter::default();
    let _ = linter.lint("warm up the rule book");

    let started = Instant::now();
    let mut results: BTreeMap<&str, Vec<Finding>> = BTreeMap::new();
    for (path, text) in &sources {
        results.insert(path.as_str(), linter.lint(text));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total_findings: usize = results.values().map(Vec::len).sum();
    println!(
        "{} files, {:.2} MB in {:.3} s: {:.1} MB/s on one core, {} findings",
        sources.len(),
        bytes as f64 / 1e6,
        elapsed,
        bytes as f64 / 1e6 / elapsed,
        total_findings
    );

    if std::env::var_os("PROFILE_SPLIT").is_some() {
        let categories = [
            "blame",
            "counterfactual",
            "judgmental",
            "minimising",
            "root-cause",
            "punitive",
        ];
        let scan_only = Linter::new(secondstory_lint::LintOptions {
            disabled: categories.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        })?;
        let started = Instant::now();
        let mut events = 0usize;
        for (_, text) in &sources {
            let options = pulldown_cmark::Options::ENABLE_TABLES
                | pulldown_cmark::Options::ENABLE_FOOTNOTES
                | pulldown_cmark::Options::ENABLE_STRIKETHROUGH
                | pulldown_cmark::Options::ENABLE_TASKLISTS
                | pulldown_cmark::Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
                | pulldown_cmark::Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS;
            events += pulldown_cmark::Parser::new_ext(text, options)
                .into_offset_iter()
                .count();
        }
        println!(
            "  pulldown-cmark events only: {:.1} MB/s ({events} events)",
            bytes as f64 / 1e6 / started.elapsed().as_secs_f64()
        );
        let started = Instant::now();
        for (_, text) in &sources {
            let _ = scan_only.lint(text);
        }
        println!(
            "  markdown scan only: {:.1} MB/s",
            bytes as f64 / 1e6 / started.elapsed().as_secs_f64()
        );
        for keep in categories {
            let linter = Linter::new(secondstory_lint::LintOptions {
                disabled: categories
                    .iter()
                    .filter(|c| **c != keep)
                    .map(|c| c.to_string())
                    .collect(),
                ..Default::default()
            })?;
            let started = Instant::now();
            for (_, text) in &sources {
                let _ = linter.lint(text);
            }
            println!("  scan + {keep}: {:.3} s", started.elapsed().as_secs_f64());
        }
    }
    if std::env::var_os("PROFILE_RULES").is_some() {
        let book = secondstory_lint::rule_book();
        let all: Vec<String> = book.rules.iter().map(|r| r.id.clone()).collect();
        let mut base = 0.0;
        for keep in std::iter::once("").chain(all.iter().map(String::as_str)) {
            let linter = Linter::new(secondstory_lint::LintOptions {
                disabled: all.iter().filter(|id| *id != keep).cloned().collect(),
                ..Default::default()
            })?;
            let started = Instant::now();
            for (_, text) in &sources {
                let _ = linter.lint(text);
            }
            let t = started.elapsed().as_secs_f64();
            if keep.is_empty() {
                base = t;
                println!("  no rules: {t:.3} s");
            } else {
                println!("  + {keep:<40} {:+.4} s", t - base);
            }
        }
    }
    let labels_path = root.join("labels.jsonl");
    let Ok(labels) = std::fs::read_to_string(&labels_path) else {
        return Ok(());
    };
    let texts: BTreeMap<&str, &str> = sources
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let mut per_category: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for line in labels.lines() {
        let label: serde_json::Value = serde_json::from_str(line)?;
        let file = label["file"].as_str().unwrap_or_default();
        let line_no = label["line"].as_u64().unwrap_or(0) as usize;
        let phrase = label["phrase"].as_str().unwrap_or_default();
        let category = label["category"].as_str().unwrap_or_default().to_owned();
        let (Some(text), Some(findings)) = (texts.get(file), results.get(file)) else {
            continue;
        };
        let Some(line_start) = text
            .split_inclusive('\n')
            .take(line_no.saturating_sub(1))
            .map(str::len)
            .reduce(|a, b| a + b)
            .or(Some(0))
        else {
            continue;
        };
        let line_text = text[line_start..].lines().next().unwrap_or_default();
        let Some(offset) = line_text.find(phrase) else {
            continue;
        };
        let (start, end) = (line_start + offset, line_start + offset + phrase.len());
        let hit = findings
            .iter()
            .any(|f| !f.quoted && f.span.start < end && start < f.span.end);
        let entry = per_category.entry(category).or_default();
        entry.1 += 1;
        if hit {
            entry.0 += 1;
        }
    }
    for (category, (hit, total)) in &per_category {
        let verb = if category.starts_with("decoy") {
            "flagged (should be 0)"
        } else {
            "found"
        };
        println!(
            "  {category:<24} {verb}: {hit}/{total} ({:.1}%)",
            100.0 * *hit as f64 / *total as f64
        );
    }
    Ok(())
}
