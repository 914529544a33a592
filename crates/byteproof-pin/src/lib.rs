//! Finding container image references in GitHub/Gitea workflow files and act_runner
//! `config.yaml`, and rewriting them byte-exactly.
//!
//! [`locate`] parses the text with a real YAML parser ([`byteproof_yaml`]) and walks every
//! document: block and flow collections, all quoting styles, anchors, aliases and merge keys.
//! Each use of a reference is a [`FoundImage`] whose [`Site`] says how it is written: in place
//! (its byte span, inside the quotes), through an alias (the anchored scalar's span: it is
//! pinned once, there, and each use is reported), or unscannable (a block scalar, a scalar over
//! several lines or with escapes, a mapping where a string belongs), with the reason. A text
//! that is not YAML is an error, never an empty list. The YAML is never re-serialised:
//! [`rewrite`] replaces only the references' bytes, keeps their quoting, and reads the result
//! back to prove it says exactly what was intended; [`check_round_trip`] is that property as one
//! function, for tests and fuzzing. Writing the result is the caller's
//! (`byteproof_fs::write_atomic`).
//!
//! Recognised locations:
//! - workflows: `jobs.<id>.container` (a string, or a mapping's `image:`),
//!   `jobs.<id>.services.<name>.image`, and `jobs.<id>.steps[*].uses: docker://<image>`;
//! - act_runner `config.yaml`: entries of `runner.labels` of the form `<label>:docker://<image>`.
//!
//! Values containing `${{` are reported as expressions and never rewritten. A use whose line
//! (or its key's line, or the anchored scalar's line) has a comment containing
//! `byteproof: ignore` is reported as ignored. The placeholder [`PLACEHOLDER`] written where the
//! digest belongs (`node:20@sha256:PIN_THIS_DIGEST_FOR_DETERMINISM`, or
//! `node:20@PIN_THIS_DIGEST_FOR_DETERMINISM`) or in such a comment marks a reference as
//! "pin me"; the rewrite replaces an in-reference placeholder with the digest.
//!
//! [`plan`] ties it together with a [`byteproof_oci::Resolver`]: each distinct tag is resolved
//! once and each pinned digest checked once, concurrently, and every reference gets a [`Status`]
//! (`pinned`, `unpinned`, `stale`, `dangling`, `unscannable`, …) and, when fixable, its pinned
//! replacement. [`outcome`] turns a run's plans into its [`Outcome`] (pass, fail, invalid input,
//! unverified), which the command line maps to an exit status.

mod edit;
mod locate;
mod outcome;
mod plan;
mod round_trip;

pub use byteproof_yaml::{ParseError, ScalarStyle};
pub use edit::{Edit, EditError, apply_edits, rewrite};
pub use locate::{FoundImage, Location, Site, locate, locate_in};
pub use outcome::{Mode, Outcome, outcome};
pub use plan::{FilePlan, FileProblem, Finding, SourceFile, Status, error_chain, plan};
pub use round_trip::{RoundTripError, check_round_trip};

/// The placeholder that marks where a digest must go.
pub const PLACEHOLDER: &str = "PIN_THIS_DIGEST_FOR_DETERMINISM";

/// The per-line opt-out marker, matched inside a comment (`# byteproof: ignore`).
pub const IGNORE_MARKER: &str = "byteproof: ignore";

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

#[cfg(test)]
mod tests;
