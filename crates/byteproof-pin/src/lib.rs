//! Finding container image references in GitHub/Gitea workflow files and act_runner
//! `config.yaml`, and rewriting them byte-exactly.
//!
//! The YAML is never parsed into values and re-serialised: [`find_images`] scans the text line by
//! line, tracking block-mapping keys by indentation, and reports each image reference with its
//! byte span. [`apply_edits`] replaces only those spans, so comments, quotes, blank lines and
//! indentation survive untouched. [`write_atomic`] writes a temporary file next to the target and
//! renames it into place.
//!
//! Recognised locations:
//! - workflows: `jobs.<id>.container` (a string, or a mapping's `image:`),
//!   `jobs.<id>.services.<name>.image`, and `jobs.<id>.steps[*].uses: docker://<image>`;
//! - act_runner `config.yaml`: entries of `runner.labels` of the form `<label>:docker://<image>`.
//!
//! Values containing `${{` are reported as expressions and never rewritten. A line whose comment
//! contains `byteproof: ignore` is reported as ignored. The placeholder
//! [`PLACEHOLDER`] written where the digest belongs (`node:20@sha256:PIN_THIS_DIGEST_FOR_DETERMINISM`,
//! or `node:20@PIN_THIS_DIGEST_FOR_DETERMINISM`) or in the line's comment marks a reference as
//! "pin me"; the rewrite replaces an in-reference placeholder with the digest.
//!
//! [`plan`] ties it together with a [`byteproof_oci::Resolver`]: each distinct tag is resolved
//! once and each pinned digest checked once, concurrently, and every reference gets a [`Status`]
//! (`pinned`, `unpinned`, `stale`, `dangling`, …) and, when fixable, its pinned replacement.
//!
//! Limits: flow collections (`container: {image: x}`, `labels: [a, b]`) and multi-line scalars
//! are not scanned.

mod plan;

pub use plan::{FilePlan, Finding, SourceFile, Status, error_chain, plan};

use std::io::Write as _;
use std::ops::Range;
use std::path::Path;

/// The placeholder that marks where a digest must go.
pub const PLACEHOLDER: &str = "PIN_THIS_DIGEST_FOR_DETERMINISM";

/// The per-line opt-out marker, matched inside a comment (`# byteproof: ignore`).
pub const IGNORE_MARKER: &str = "byteproof: ignore";

/// Which grammar of image locations applies to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A GitHub/Gitea Actions workflow.
    Workflow,
    /// An act_runner `config.yaml`.
    RunnerConfig,
}

impl FileKind {
    /// Guesses the kind from the text: a top-level `runner:` key means an act_runner config,
    /// anything else is treated as a workflow.
    pub fn detect(text: &str) -> Self {
        let runner = text.lines().any(|line| {
            let line = line.trim_end();
            line == "runner:" || line.starts_with("runner: ") || line.starts_with("runner:#")
        });
        let jobs = text
            .lines()
            .any(|line| line.trim_end() == "jobs:" || line.starts_with("jobs: "));
        if runner && !jobs {
            Self::RunnerConfig
        } else {
            Self::Workflow
        }
    }
}

/// Where in the YAML an image reference was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `jobs.<job>.container` or `jobs.<job>.container.image`.
    Container {
        /// The job id.
        job: String,
    },
    /// `jobs.<job>.services.<service>.image`.
    Service {
        /// The job id.
        job: String,
        /// The service name.
        service: String,
    },
    /// `jobs.<job>.steps[<index>].uses: docker://…`.
    StepUses {
        /// The job id.
        job: String,
        /// Zero-based step index.
        step: usize,
    },
    /// An act_runner `runner.labels` entry `<label>:docker://…`.
    RunnerLabel {
        /// The label name (before the first colon).
        label: String,
    },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Container { job } => write!(f, "jobs.{job}.container"),
            Self::Service { job, service } => write!(f, "jobs.{job}.services.{service}.image"),
            Self::StepUses { job, step } => write!(f, "jobs.{job}.steps[{step}].uses"),
            Self::RunnerLabel { label } => write!(f, "runner.labels[{label}]"),
        }
    }
}

/// What follows the `@` in an image reference, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestPart {
    /// No `@`: the reference is unpinned.
    None,
    /// `@<something other than the placeholder>`: a digest to validate.
    Digest(String),
    /// `@PIN_THIS_DIGEST_FOR_DETERMINISM` or `@sha256:PIN_THIS_DIGEST_FOR_DETERMINISM`.
    Placeholder,
}

/// One image reference in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundImage {
    /// Where it is in the YAML structure.
    pub location: Location,
    /// One-based line number.
    pub line: usize,
    /// Byte range of the image reference in the file (without quotes and without `docker://`).
    pub span: Range<usize>,
    /// The reference text exactly as written (`text[span]`).
    pub image: String,
    /// The line carries the opt-out marker.
    pub ignored: bool,
    /// The value contains `${{ … }}` and cannot be resolved statically.
    pub expression: bool,
    /// The placeholder appears in the reference or in the line's comment.
    pub placeholder: bool,
}

impl FoundImage {
    /// The reference without any `@…` suffix.
    pub fn name_and_tag(&self) -> &str {
        split_digest(&self.image).0
    }

    /// What follows the `@`.
    pub fn digest_part(&self) -> DigestPart {
        split_digest(&self.image).1
    }
}

/// Splits `name:tag@digest` into `name:tag` and the digest part.
pub fn split_digest(image: &str) -> (&str, DigestPart) {
    match image.split_once('@') {
        None => (image, DigestPart::None),
        Some((base, rest))
            if rest == PLACEHOLDER || rest.strip_prefix("sha256:") == Some(PLACEHOLDER) =>
        {
            (base, DigestPart::Placeholder)
        }
        Some((base, rest)) => (base, DigestPart::Digest(rest.to_owned())),
    }
}

/// The pinned form of `image`: `name:tag@<digest>`, keeping the name and tag as written. A
/// reference without a tag gets `:latest` made explicit (`tag_when_missing`), so a later check
/// can tell whether the tag moved.
pub fn pinned_text(image: &str, digest: &str, tag_when_missing: &str) -> String {
    let base = split_digest(image).0;
    let last_slash = base.rfind('/').map_or(0, |i| i + 1);
    if base[last_slash..].contains(':') {
        format!("{base}@{digest}")
    } else {
        format!("{base}:{tag_when_missing}@{digest}")
    }
}

/// Why edits could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// Two edits overlap.
    #[error("edits overlap at bytes {first:?} and {second:?}")]
    Overlap {
        /// The earlier span.
        first: Range<usize>,
        /// The overlapping span.
        second: Range<usize>,
    },
    /// An edit's span is outside the text or not on a character boundary.
    #[error("edit span {span:?} is not a valid range of the text")]
    OutOfBounds {
        /// The span.
        span: Range<usize>,
    },
}

/// One replacement of a byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The bytes to replace.
    pub span: Range<usize>,
    /// The new text.
    pub replacement: String,
}

/// Replaces each edit's span; every other byte is copied unchanged.
pub fn apply_edits(text: &str, edits: &[Edit]) -> Result<String, EditError> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.span.start, e.span.end));
    for pair in sorted.windows(2) {
        if pair[1].span.start < pair[0].span.end {
            return Err(EditError::Overlap {
                first: pair[0].span.clone(),
                second: pair[1].span.clone(),
            });
        }
    }
    let mut out = String::with_capacity(text.len() + edits.len() * 72);
    let mut pos = 0;
    for edit in sorted {
        let span = edit.span.clone();
        if span.start > span.end || text.get(span.clone()).is_none() {
            return Err(EditError::OutOfBounds { span });
        }
        out.push_str(&text[pos..span.start]);
        out.push_str(&edit.replacement);
        pos = span.end;
    }
    out.push_str(&text[pos..]);
    Ok(out)
}

/// Writes `contents` to `path` atomically: a temporary file in the same folder, flushed and
/// synced, then renamed over the target. The target's permissions are kept.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".byteproof-pin-")
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    if let Ok(meta) = std::fs::metadata(path) {
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Path segment in the scanner's stack.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Item(usize),
}

/// A scalar value on one line: its byte range (inside quotes) and the comment after it.
struct Scalar {
    span: Range<usize>,
    comment: Option<Range<usize>>,
}

/// Finds the image references in `text`.
pub fn find_images(text: &str, kind: FileKind) -> Vec<FoundImage> {
    let mut found = Vec::new();
    // (column, segment)
    let mut stack: Vec<(usize, Seg)> = Vec::new();
    // Lines more indented than this belong to a block scalar (`run: |`) and are skipped.
    let mut block_scalar_parent: Option<usize> = None;
    let mut offset = 0;
    for (line_no, raw_line) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw_line.len();
        let line = raw_line.trim_end_matches(['\n', '\r']);
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = &line[indent..];
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if let Some(parent) = block_scalar_parent {
            if indent > parent {
                continue;
            }
            block_scalar_parent = None;
        }
        if content == "---" || content == "..." || content.starts_with("--- ") {
            stack.clear();
            continue;
        }

        let mut col = indent;
        let mut rest = content;
        let mut last_popped_item: Option<(usize, usize)> = None;
        // A dash at the same column as its parent key (`steps:` / `- uses: …` aligned) belongs to
        // that key; any other line at column `c` closes everything at `c` or deeper.
        let is_dash = content == "-" || content.starts_with("- ");
        while let Some((c, seg)) = stack.last() {
            let close = *c > indent || (*c == indent && (!is_dash || matches!(seg, Seg::Item(_))));
            if !close {
                break;
            }
            if let Some((c, Seg::Item(i))) = stack.pop() {
                last_popped_item = Some((c, i));
            }
        }

        // Sequence items: `- value` or `- key: value`, possibly nested (`- - x`).
        while rest == "-" || rest.starts_with("- ") {
            let index = match last_popped_item {
                Some((c, i)) if c == col => i + 1,
                _ => 0,
            };
            last_popped_item = None;
            stack.push((col, Seg::Item(index)));
            let after = &rest[1..];
            let spaces = after.len() - after.trim_start_matches(' ').len();
            col += 1 + spaces;
            rest = &after[spaces..];
        }
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        let rest_start = line_start + col;

        // The scalar on this line and its key path, when the line holds one.
        let key_seg;
        let scalar = match split_key(rest) {
            Some((key, value_offset)) => {
                let value_abs = rest_start + value_offset;
                let value_text = &text[value_abs..line_start + line.len()];
                let value_trim = value_text.trim_start_matches([' ', '\t']);
                let value_abs = value_abs + (value_text.len() - value_trim.len());
                if value_trim.is_empty() || value_trim.starts_with('#') {
                    stack.push((col, Seg::Key(key)));
                    continue;
                }
                if value_trim.starts_with('|') || value_trim.starts_with('>') {
                    block_scalar_parent = Some(col);
                    continue;
                }
                let Some(scalar) = scalar_at(text, value_abs, line_start + line.len()) else {
                    continue;
                };
                key_seg = Some(Seg::Key(key));
                scalar
            }
            None => {
                // A bare scalar sequence item (`- ubuntu-latest:docker://node:20`).
                if !matches!(stack.last(), Some((_, Seg::Item(_)))) {
                    continue;
                }
                let Some(scalar) = scalar_at(text, rest_start, line_start + line.len()) else {
                    continue;
                };
                key_seg = None;
                scalar
            }
        };
        let mut path: Vec<&Seg> = stack.iter().map(|(_, s)| s).collect();
        path.extend(key_seg.as_ref());
        if let Some((location, image_span)) = match_location(kind, &path, text, &scalar.span) {
            found.push(make_found(
                text,
                location,
                line_no + 1,
                image_span,
                scalar.comment,
            ));
        }
    }
    found
}

fn make_found(
    text: &str,
    location: Location,
    line: usize,
    span: Range<usize>,
    comment: Option<Range<usize>>,
) -> FoundImage {
    let image = text[span.clone()].to_owned();
    let comment = comment.map(|c| &text[c]).unwrap_or_default();
    let ignored = comment.contains(IGNORE_MARKER) || comment.contains("byteproof:ignore");
    let expression = image.contains("${{");
    let placeholder = image.contains(PLACEHOLDER) || comment.contains(PLACEHOLDER);
    FoundImage {
        location,
        line,
        span,
        image,
        ignored,
        expression,
        placeholder,
    }
}

/// Matches a key path against the known image locations; returns the image's span within the
/// scalar's span.
fn match_location(
    kind: FileKind,
    path: &[&Seg],
    text: &str,
    span: &Range<usize>,
) -> Option<(Location, Range<usize>)> {
    fn key(s: &Seg) -> Option<&str> {
        match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Item(_) => None,
        }
    }
    let value = &text[span.clone()];
    match kind {
        FileKind::Workflow => {
            if path.len() < 3 || key(path[0]) != Some("jobs") {
                return None;
            }
            let job = key(path[1])?.to_owned();
            let rest: Vec<Option<&str>> = path[2..].iter().map(|s| key(s)).collect();
            match rest.as_slice() {
                [Some("container")] | [Some("container"), Some("image")] => {
                    Some((Location::Container { job }, span.clone()))
                }
                [Some("services"), Some(service), Some("image")] => Some((
                    Location::Service {
                        job,
                        service: (*service).to_owned(),
                    },
                    span.clone(),
                )),
                [Some("steps"), None, Some("uses")] => {
                    let Seg::Item(step) = path[3] else {
                        return None;
                    };
                    let image = value.strip_prefix("docker://")?;
                    let start = span.end - image.len();
                    Some((Location::StepUses { job, step: *step }, start..span.end))
                }
                _ => None,
            }
        }
        FileKind::RunnerConfig => {
            if path.len() != 3 || key(path[0]) != Some("runner") || key(path[1]) != Some("labels") {
                return None;
            }
            if !matches!(path[2], Seg::Item(_)) {
                return None;
            }
            // `name:docker://image`: split on the first colon; the schema must be `docker`.
            let (label, rest) = value.split_once(':')?;
            let arg = rest.strip_prefix("docker:")?;
            let image = arg.strip_prefix("//").unwrap_or(arg);
            if image.is_empty() {
                return None;
            }
            let start = span.end - image.len();
            Some((
                Location::RunnerLabel {
                    label: label.to_owned(),
                },
                start..span.end,
            ))
        }
    }
}

/// Splits `key: value` (or `key:` at end of line); returns the unquoted key and the byte offset
/// of the value within `rest`.
fn split_key(rest: &str) -> Option<(String, usize)> {
    let bytes = rest.as_bytes();
    let (key, after) = match bytes.first()? {
        b'"' | b'\'' => {
            let quote = bytes[0];
            let close = rest[1..].find(quote as char)? + 1;
            (rest[1..close].to_owned(), close + 1)
        }
        _ => {
            // A plain key ends at the first ": " or a final ':'; flow indicators mean "not a key".
            let mut i = 0;
            loop {
                let j = rest[i..].find(':')? + i;
                let next = bytes.get(j + 1).copied();
                if next.is_none() || next == Some(b' ') || next == Some(b'\t') {
                    break (rest[..j].trim_end().to_owned(), j);
                }
                i = j + 1;
            }
        }
    };
    if key.is_empty() || key.starts_with(['{', '[', '#']) || key.contains(" #") {
        return None;
    }
    let bytes_after = &rest[after..];
    let colon = bytes_after.strip_prefix(':')?;
    if !(colon.is_empty() || colon.starts_with([' ', '\t'])) {
        return None;
    }
    Some((key, after + 1))
}

/// Reads a scalar starting at `start` and ending before `end` (the end of the line): quoted or
/// plain, followed by an optional comment.
fn scalar_at(text: &str, start: usize, end: usize) -> Option<Scalar> {
    let s = &text[start..end];
    let bytes = s.as_bytes();
    let (span, after) = match bytes.first()? {
        b'"' => {
            let mut i = 1;
            loop {
                match bytes.get(i)? {
                    b'\\' => i += 2,
                    b'"' => break,
                    _ => i += 1,
                }
            }
            (start + 1..start + i, i + 1)
        }
        b'\'' => {
            let mut i = 1;
            loop {
                match bytes.get(i)? {
                    b'\'' if bytes.get(i + 1) == Some(&b'\'') => i += 2,
                    b'\'' => break,
                    _ => i += 1,
                }
            }
            (start + 1..start + i, i + 1)
        }
        b'{' | b'[' | b'&' | b'*' | b'!' | b'|' | b'>' => return None,
        _ => {
            let value_end = s.find(" #").or_else(|| s.find("\t#")).unwrap_or(s.len());
            let value = s[..value_end].trim_end();
            (start..start + value.len(), value_end)
        }
    };
    let tail = &s[after.min(s.len())..];
    let comment = tail.find('#').map(|i| start + after + i..end);
    if span.is_empty() {
        return None;
    }
    Some(Scalar { span, comment })
}

#[cfg(test)]
mod tests;
