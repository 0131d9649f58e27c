//! The docs stay true to the code: every environment variable the code declares is in
//! `docs/configuration.md` (with its declared default, values and meaning) and in
//! `.env.example`, and neither names one the code does not read; every file under `src/` is on
//! the map in `docs/architecture.md`; and no doc links to a file that does not exist.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gazette::config::variables::ALL;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative))
        .unwrap_or_else(|e| panic!("reading {relative}: {e}"))
}

/// The environment variables (`SOME_NAME`) that open the rows of the tables in `text`.
fn names_in_table(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|name| is_variable_name(name))
        .map(str::to_string)
        .collect()
}

fn is_variable_name(word: &str) -> bool {
    word.len() > 2
        && word.starts_with(|c: char| c.is_ascii_uppercase())
        && word
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn declared() -> BTreeSet<String> {
    ALL.iter().map(|v| v.name.to_string()).collect()
}

#[test]
fn the_configuration_doc_holds_each_declared_variable_as_declared() {
    let doc = read("docs/configuration.md");
    let missing: Vec<String> = ALL
        .iter()
        .map(|v| v.doc_row())
        .filter(|row| !doc.lines().any(|line| line == row))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md lacks (or differs from) these rows:\n{}",
        missing.join("\n")
    );
    let undeclared: Vec<String> = names_in_table(&doc)
        .difference(&declared())
        .cloned()
        .collect();
    assert!(
        undeclared.is_empty(),
        "docs/configuration.md lists variables the code does not read: {undeclared:?}"
    );
}

#[test]
fn the_example_environment_names_each_declared_variable_once_and_no_other() {
    let example = read(".env.example");
    let assigned: Vec<String> = example
        .lines()
        .map(|line| line.trim_start_matches('#').trim())
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.trim()))
        .filter(|name| is_variable_name(name))
        .map(str::to_string)
        .collect();
    let unique: BTreeSet<String> = assigned.iter().cloned().collect();
    assert_eq!(
        assigned.len(),
        unique.len(),
        ".env.example assigns a variable twice: {assigned:?}"
    );
    assert_eq!(
        unique,
        declared(),
        ".env.example must name exactly the declared variables"
    );
}

#[test]
fn nothing_but_the_configuration_reads_the_environment() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let readers: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with(root().join("src/config")))
        .filter(|f| {
            let code = std::fs::read_to_string(f).expect("reading a source file");
            code.contains("env::var") || code.contains(".from_env()")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        readers.is_empty(),
        "only src/config reads environment variables (declare them there): {readers:?}"
    );
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading a source folder") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn every_source_file_is_on_the_map() {
    let map = read("docs/architecture.md");
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let missing: Vec<String> = files
        .iter()
        .map(|f| {
            f.strip_prefix(root())
                .expect("under the project")
                .display()
                .to_string()
        })
        .filter(|relative| !map.contains(&format!("`{relative}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md's map lacks: {missing:?}"
    );
    // And the map names no file that is gone.
    let named_gone: Vec<&str> = map
        .split('`')
        .filter(|word| word.starts_with("src/") && word.ends_with(".rs"))
        .filter(|word| !root().join(word).exists())
        .collect();
    assert!(
        named_gone.is_empty(),
        "docs/architecture.md names files that do not exist: {named_gone:?}"
    );
}

/// The targets of the Markdown links in `text` (`[words](target)`).
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        targets.push(after[..end].to_string());
        rest = &after[end..];
    }
    targets
}

#[test]
fn every_link_in_the_docs_leads_to_a_file_that_exists() {
    let mut docs = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).expect("reading docs/") {
        docs.push(entry.expect("a directory entry").path());
    }
    let mut broken = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(doc).expect("reading a doc");
        let folder = doc.parent().expect("a doc's folder");
        for target in link_targets(&text) {
            // `media:ID` is how an article's Markdown places a library picture, not a file.
            if target.contains("://")
                || target.starts_with('#')
                || target.starts_with("mailto:")
                || target.starts_with("media:")
            {
                continue;
            }
            let path = target.split('#').next().unwrap_or_default();
            if !folder.join(path).exists() {
                broken.push(format!("{}: {target}", doc.display()));
            }
        }
    }
    assert!(broken.is_empty(), "links to nothing: {broken:?}");
}

#[test]
fn the_readme_stays_a_short_front_door() {
    let lines = read("README.md").lines().count();
    assert!(
        lines <= 150,
        "README.md has {lines} lines: keep it short; details go under docs/"
    );
}
