//! From files to findings and rewrites: find the references, resolve every distinct tag once
//! (concurrently), check pinned digests, classify each reference and compute the new text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use byteproof_oci::{
    Digest, DigestStatus, IndexChild, MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_INDEX,
    MEDIA_OCI_MANIFEST, Reference, ResolveError, Resolved, Resolver,
};

use byteproof_yaml::ParseError;

use crate::edit::{Edit, EditError, rewrite};
use crate::locate::{FoundImage, Location, locate};
use crate::{DigestPart, pinned_text};

/// One input file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Where it came from (used in reports and for writing back).
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
}

impl SourceFile {
    /// A source file.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }
}

/// Why a whole file could not be handled; the file is never written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    /// The text is not YAML, so its references cannot be known.
    #[error("not valid YAML: {0}")]
    Unparsable(#[from] ParseError),
    /// The pinned text could not be made, or did not read back as intended.
    #[error("not rewritten: {0}")]
    RewriteFailed(#[from] EditError),
    /// Writing the file failed.
    #[error("not written: {0}")]
    WriteFailed(String),
}

/// The verdict for one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Pinned, and the tag still points at the pinned digest (or there is no tag to compare).
    Pinned,
    /// No digest (or the placeholder); `resolved` is what the tag points at now.
    Unpinned,
    /// Pinned, the digest still exists, but the tag now points elsewhere.
    Stale,
    /// The pinned digest no longer resolves (404).
    Dangling,
    /// The line carries the opt-out comment.
    Ignored,
    /// The value is a `${{ … }}` expression.
    Expression,
    /// The text is not a valid image reference.
    Invalid(String),
    /// The registry could not be asked (network, auth, rate limit…).
    Unresolved(String),
    /// Something stands where a reference belongs that cannot be read or rewritten safely.
    Unscannable(String),
}

impl Status {
    /// A short lowercase name for tables and JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pinned => "pinned",
            Self::Unpinned => "unpinned",
            Self::Stale => "stale",
            Self::Dangling => "dangling",
            Self::Ignored => "ignored",
            Self::Expression => "expression",
            Self::Invalid(_) => "invalid",
            Self::Unresolved(_) => "unresolved",
            Self::Unscannable(_) => "unscannable",
        }
    }
}

/// One reference with its verdict.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The file.
    pub path: PathBuf,
    /// Where in the file.
    pub found: FoundImage,
    /// The parsed reference (tag part, without digest), when valid.
    pub reference: Option<Reference>,
    /// The digest written in the file, if any.
    pub pinned: Option<Digest>,
    /// What the tag points at now, if it was resolved.
    pub current: Option<Digest>,
    /// The verdict.
    pub status: Status,
    /// The replacement text for the reference, when `byteproof pin` would change it.
    pub replacement: Option<String>,
    /// Why the tag could not be resolved, for an unpinned reference (it stays unpinned).
    pub error: Option<String>,
    /// Extra information for people (e.g. a platform-specific pin).
    pub note: Option<String>,
}

/// Everything the registries answered, for [`classify`].
struct Lookups<'a> {
    tags: &'a BTreeMap<Reference, Result<Resolved, ResolveError>>,
    digests: &'a BTreeMap<(Reference, Digest), Result<DigestStatus, ResolveError>>,
    children: &'a BTreeMap<Reference, Result<Vec<IndexChild>, ResolveError>>,
}

impl Finding {
    /// The location in YAML terms.
    pub fn location(&self) -> &Location {
        &self.found.location
    }
}

/// A file's findings and its rewritten text.
#[derive(Debug, Clone)]
pub struct FilePlan {
    /// The file.
    pub path: PathBuf,
    /// The text as read.
    pub original: String,
    /// The text with every fixable reference pinned (equal to `original` when nothing changes).
    pub updated: String,
    /// Findings in file order.
    pub findings: Vec<Finding>,
    /// Why the file could not be read or rewritten; it then stays as it is.
    pub problem: Option<FileProblem>,
}

impl FilePlan {
    /// Whether writing the plan would change the file.
    pub fn changed(&self) -> bool {
        self.original != self.updated
    }

    /// Records that the file cannot be rewritten: it keeps its text, and every finding that
    /// would have changed it says why it did not.
    pub fn fail_rewrite(&mut self, problem: FileProblem) {
        self.updated.clone_from(&self.original);
        for finding in &mut self.findings {
            if finding.replacement.take().is_some() {
                finding.error = Some(problem.to_string());
            }
        }
        self.problem = Some(problem);
    }
}

/// Classifies every reference in `files` and computes the pinned text. Each distinct tag is
/// resolved once and each distinct pinned digest checked once, all concurrently.
pub async fn plan(resolver: &Resolver, files: &[SourceFile]) -> Vec<FilePlan> {
    struct Pending {
        found: FoundImage,
        parsed: Result<(Reference, Option<Digest>, bool), String>,
    }
    let mut per_file: Vec<(&SourceFile, Result<Vec<Pending>, ParseError>)> = Vec::new();
    let mut tags: BTreeSet<Reference> = BTreeSet::new();
    let mut digests: BTreeSet<(Reference, Digest)> = BTreeSet::new();
    for file in files {
        let located = match locate(&file.text) {
            Ok(located) => located,
            Err(err) => {
                per_file.push((file, Err(err)));
                continue;
            }
        };
        let mut pending = Vec::new();
        for found in located {
            let parsed = parse_found(&found);
            if let Ok((reference, digest, _)) = &parsed {
                if !found.ignored && !found.expression && found.unscannable().is_none() {
                    if reference.tag().is_some() || digest.is_none() {
                        tags.insert(reference.clone());
                    }
                    if let Some(digest) = digest {
                        digests.insert((reference.clone(), digest.clone()));
                    }
                }
            }
            pending.push(Pending { found, parsed });
        }
        per_file.push((file, Ok(pending)));
    }

    let tag_results: BTreeMap<Reference, Result<Resolved, ResolveError>> =
        resolver.resolve_many(tags.iter()).await;
    let digest_results: BTreeMap<(Reference, Digest), Result<DigestStatus, ResolveError>> =
        futures_util::future::join_all(digests.into_iter().map(|(reference, digest)| async move {
            let result = resolver.check_digest(&reference, &digest).await;
            ((reference, digest), result)
        }))
        .await
        .into_iter()
        .collect();

    // A pin of one platform's manifest while the tag names an index: is it still one of the
    // index's children? One GET per such reference.
    let platform_pinned: BTreeSet<Reference> = digest_results
        .iter()
        .filter_map(|((reference, digest), status)| {
            let Ok(DigestStatus::Exists { media_type }) = status else {
                return None;
            };
            let Some(Ok(resolved)) = tag_results.get(reference) else {
                return None;
            };
            let single = media_type == MEDIA_OCI_MANIFEST || media_type == MEDIA_DOCKER_MANIFEST;
            let index =
                resolved.media_type == MEDIA_OCI_INDEX || resolved.media_type == MEDIA_DOCKER_LIST;
            (single && index && resolved.digest != *digest).then(|| reference.clone())
        })
        .collect();
    let children: BTreeMap<Reference, Result<Vec<IndexChild>, ResolveError>> =
        futures_util::future::join_all(platform_pinned.into_iter().map(|reference| async move {
            let result = resolver.index_children(&reference).await;
            (reference, result)
        }))
        .await
        .into_iter()
        .collect();
    let lookups = Lookups {
        tags: &tag_results,
        digests: &digest_results,
        children: &children,
    };

    per_file
        .into_iter()
        .map(|(file, pending)| {
            let mut file_plan = FilePlan {
                path: file.path.clone(),
                original: file.text.clone(),
                updated: file.text.clone(),
                findings: Vec::new(),
                problem: None,
            };
            let pending = match pending {
                Ok(pending) => pending,
                Err(err) => {
                    file_plan.problem = Some(FileProblem::Unparsable(err));
                    return file_plan;
                }
            };
            let (found, findings): (Vec<FoundImage>, Vec<Finding>) = pending
                .into_iter()
                .map(|p| (p.found.clone(), classify(file, p.found, p.parsed, &lookups)))
                .unzip();
            let edits: Vec<Edit> = findings
                .iter()
                .filter_map(|f| {
                    Some(Edit {
                        span: f.found.span()?,
                        replacement: f.replacement.clone()?,
                    })
                })
                .collect();
            file_plan.findings = findings;
            match rewrite(&file.text, &found, &edits) {
                Ok(updated) => file_plan.updated = updated,
                Err(err) => file_plan.fail_rewrite(FileProblem::RewriteFailed(err)),
            }
            file_plan
        })
        .collect()
}

/// `(reference without digest, digest, placeholder)`.
fn parse_found(found: &FoundImage) -> Result<(Reference, Option<Digest>, bool), String> {
    if found.expression {
        return Err("expression".to_owned());
    }
    if let Some(reason) = found.unscannable() {
        return Err(reason.to_owned());
    }
    let reference = Reference::parse(found.name_and_tag()).map_err(|e| e.to_string())?;
    match found.digest_part() {
        DigestPart::None => Ok((reference, None, found.placeholder)),
        DigestPart::Placeholder => Ok((reference, None, true)),
        DigestPart::Digest(d) => {
            let digest = Digest::parse(&d).map_err(|e| e.to_string())?;
            Ok((reference, Some(digest), false))
        }
    }
}

fn classify(
    file: &SourceFile,
    found: FoundImage,
    parsed: Result<(Reference, Option<Digest>, bool), String>,
    lookups: &Lookups<'_>,
) -> Finding {
    let (tags, digests) = (lookups.tags, lookups.digests);
    let mut finding = Finding {
        path: file.path.clone(),
        found,
        reference: None,
        pinned: None,
        current: None,
        status: Status::Pinned,
        replacement: None,
        error: None,
        note: None,
    };
    if finding.found.ignored {
        finding.status = Status::Ignored;
        return finding;
    }
    if finding.found.expression {
        finding.status = Status::Expression;
        return finding;
    }
    if let Some(reason) = finding.found.unscannable() {
        finding.status = Status::Unscannable(reason.to_owned());
        return finding;
    }
    let (reference, pinned, _placeholder) = match parsed {
        Ok(p) => p,
        Err(e) => {
            finding.status = Status::Invalid(e);
            return finding;
        }
    };
    finding.reference = Some(reference.clone());
    finding.pinned = pinned.clone();
    let tag_result = tags.get(&reference);
    if let Some(Ok(resolved)) = tag_result {
        finding.current = Some(resolved.digest.clone());
    }
    let pin_to_current = |finding: &mut Finding| {
        if let Some(current) = &finding.current {
            finding.replacement = Some(pinned_text(
                &finding.found.image,
                &current.to_string(),
                "latest",
            ));
        }
    };
    match pinned {
        None => {
            // Unpinned is a fact of the text; resolution only supplies the fix.
            finding.status = Status::Unpinned;
            match tag_result {
                Some(Ok(_)) => pin_to_current(&mut finding),
                Some(Err(e)) => finding.error = Some(error_chain(e)),
                None => finding.error = Some("not resolved".to_owned()),
            }
        }
        Some(pinned) => {
            match digests.get(&(reference.clone(), pinned.clone())) {
                Some(Ok(DigestStatus::Missing)) => {
                    finding.status = Status::Dangling;
                    pin_to_current(&mut finding);
                    return finding;
                }
                Some(Ok(DigestStatus::Exists { .. })) => {}
                Some(Err(e)) => {
                    finding.status = Status::Unresolved(error_chain(e));
                    return finding;
                }
                None => {
                    finding.status = Status::Unresolved("not checked".to_owned());
                    return finding;
                }
            }
            if reference.tag().is_none() {
                finding.status = Status::Pinned;
                return finding;
            }
            match tag_result {
                Some(Ok(resolved)) if resolved.digest == pinned => finding.status = Status::Pinned,
                Some(Ok(_)) => match lookups.children.get(&reference) {
                    Some(Ok(children)) => match children.iter().find(|c| c.digest == pinned) {
                        Some(child) => {
                            finding.status = Status::Pinned;
                            finding.note = Some(format!(
                                "platform-specific pin ({}) of the current index",
                                child.platform.as_ref().map_or_else(
                                    || "unknown platform".to_owned(),
                                    ToString::to_string
                                )
                            ));
                        }
                        None => {
                            // Re-pinning to the index would change what the pin means; leave it.
                            finding.status = Status::Stale;
                            finding.note = Some(
                                "platform-specific pin and the tag has moved: re-pin with --platform OS/ARCH, or remove the digest to pin the multi-arch index".to_owned(),
                            );
                        }
                    },
                    _ => {
                        finding.status = Status::Stale;
                        pin_to_current(&mut finding);
                    }
                },
                Some(Err(e)) => finding.status = Status::Unresolved(error_chain(e)),
                None => finding.status = Status::Unresolved("not resolved".to_owned()),
            }
        }
    }
    finding
}

pub use byteproof_http::error_chain;
