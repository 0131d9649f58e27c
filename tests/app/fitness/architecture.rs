//! The shape of the code: the module graph follows the layer table in `docs/architecture.md`, so arrows
//! point one way and there is no circle. A module may use modules of lower layers only; a new
//! module must be given a layer here (and in the README) before it can be used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Lowest first. Modules in one layer do not use each other.
const LAYERS: &[&[&str]] = &[
    &[
        "allocator",
        "clock",
        "domain",
        "lifecycle",
        "mail",
        "markdown",
        "payments",
        "random",
        "schema",
    ],
    &["config", "imaging", "models"],
    &["db", "telemetry"],
    &["cache", "views"],
    &["error", "state"],
    &["auth", "billing", "desk", "media", "newsletter"],
    &[
        "accounts",
        "demo",
        "housekeeping",
        "moving",
        "outbox",
        "paywall",
    ],
    &["routes"],
    &["startup"],
    &["cli"],
];

/// Words a module of the given top-level module must never contain (outside comments): what
/// would tie a layer to something it must not know.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("domain", &["actix", "diesel", "crate::config"]),
    ("db", &["HttpResponse", "StatusCode", "actix_web::http"]),
    ("views", &["ReaderSession", "actix_session", "diesel"]),
    ("mail", &["actix", "diesel"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn source_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading src/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            source_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The code of a file without its comments (line comments and doc comments).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Top-level module of each file (`src/db/users.rs` is `db`), and the crate modules it names.
fn module_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src/");
        let first = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .expect("a file name");
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&file).expect("reading a source file"));
        let uses = graph.entry(module.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let name: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != module {
                uses.entry(name)
                    .or_insert_with(|| relative.display().to_string());
            }
        }
    }
    graph
}

#[test]
fn every_module_uses_only_modules_of_lower_layers() {
    let mut problems = Vec::new();
    for (module, uses) in module_graph() {
        let Some(own) = layer_of(&module) else {
            problems.push(format!(
                "`{module}` has no layer: add it to LAYERS and docs/architecture.md"
            ));
            continue;
        };
        for (used, file) in uses {
            match layer_of(&used) {
                Some(layer) if layer < own => {}
                Some(layer) => problems.push(format!(
                    "{file}: `{module}` (layer {own}) uses `{used}` (layer {layer}): arrows must point down"
                )),
                None => problems.push(format!("{file}: `{used}` has no layer")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn layers_know_nothing_they_must_not() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let mut problems = Vec::new();
    for file in files {
        let relative = file
            .strip_prefix(&src)
            .expect("under src/")
            .display()
            .to_string();
        let code = code_of(&std::fs::read_to_string(&file).expect("reading a source file"));
        for (module, words) in FORBIDDEN {
            let inside =
                relative == format!("{module}.rs") || relative.starts_with(&format!("{module}/"));
            for word in words.iter().filter(|w| inside && code.contains(**w)) {
                problems.push(format!("{relative}: `{module}` must not use `{word}`"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_architecture_doc_shows_the_same_layers() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"))
            .expect("reading docs/architecture.md");
    for (number, layer) in LAYERS.iter().enumerate() {
        let row = format!("| {number} | {} |", layer.join(", "));
        assert!(
            readme.contains(&row),
            "docs/architecture.md's layer table lacks the row `{row}`"
        );
    }
}
