//! Repository hygiene, checked as ordinary tests so `cargo test` enforces it.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    crate::workspace_root()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target"
                    && name != "node_modules"
                    && !name.to_string_lossy().starts_with('.')
                {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn crates() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn no_ignored_or_skipped_tests() {
    let needle = ["#[", "ignore"].concat();
    let offenders: Vec<_> = ["crates", "tests", "xtask"]
        .iter()
        .flat_map(|d| rust_files(&root().join(d)))
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .contains(&needle)
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "tests must not be ignored: {offenders:?}"
    );
}

#[test]
fn every_crate_root_has_a_module_doc() {
    for name in crates() {
        let src = root().join("crates").join(&name).join("src");
        for file in ["lib.rs", "main.rs"] {
            let path = src.join(file);
            if let Ok(text) = std::fs::read_to_string(&path) {
                let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                assert!(
                    first.starts_with("//!"),
                    "{} must start with a //! module doc",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn every_crate_is_listed_in_crates_readme_and_architecture() {
    let readme = std::fs::read_to_string(root().join("crates/README.md")).unwrap();
    let arch = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    for name in crates() {
        assert!(
            readme.contains(&format!("`{name}`")),
            "crates/README.md must describe {name}"
        );
        assert!(
            arch.contains(&format!("`{name}`")),
            "docs/ARCHITECTURE.md must describe {name}"
        );
    }
}

#[test]
fn every_workspace_dependency_says_why() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let section = manifest
        .split("[workspace.dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap();
    for line in section.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.contains("path = \"") {
            continue;
        }
        assert!(
            line.contains('#'),
            "give this dependency a one-line reason: {line}"
        );
    }
}

#[test]
fn testdata_is_documented() {
    assert!(
        root().join("testdata/README.md").is_file(),
        "testdata/README.md must say how each case was made"
    );
}

#[test]
fn readme_has_exactly_the_two_setup_commands() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains("cargo xtask demo") && readme.contains("cargo xtask test"));
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(
        ci.contains("cargo xtask test"),
        ".ci/run must call cargo xtask test"
    );
}
