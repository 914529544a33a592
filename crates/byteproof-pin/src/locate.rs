//! Where image references are in a workflow or act_runner config: a walk over the parsed YAML
//! (every style, anchors, aliases and merge keys), yielding one [`FoundImage`] per use.
//!
//! Locations: `jobs.<id>.container` (a string or a mapping's `image`),
//! `jobs.<id>.services.<name>.image`, `jobs.<id>.steps[*].uses: docker://…`, and act_runner's
//! `runner.labels` entries `<label>:docker://<image>`, in every document of the stream. When a
//! job's container or service image is `${{ matrix.KEY }}`, the values of `KEY` in the job's
//! `strategy.matrix` (its list, `include` and `exclude` entries) are references too.

use std::fmt;
use std::ops::Range;

use byteproof_yaml::{Kind, Node, ParseError, ScalarStyle, Yaml};

use crate::{DigestPart, IGNORE_MARKER, PLACEHOLDER, split_digest};

/// Where in the YAML an image reference was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `jobs.<job>.container` or `jobs.<job>.container.image`.
    Container {
        /// The job id.
        job: String,
    },
    /// `jobs.<job>.services` as a whole (when it is not a mapping of services).
    Services {
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
    /// `jobs.<job>.steps` as a whole (when it is not a sequence of steps).
    Steps {
        /// The job id.
        job: String,
    },
    /// A value of `jobs.<job>.strategy.matrix` that the job's container or a service image is
    /// written as (`${{ matrix.KEY }}`).
    Matrix {
        /// The job id.
        job: String,
        /// The path inside the matrix: `KEY[i]`, `include[i].KEY` or `exclude[i].KEY`.
        path: String,
    },
    /// `jobs.<job>.steps[<index>].uses: docker://…`.
    StepUses {
        /// The job id.
        job: String,
        /// Zero-based step index.
        step: usize,
    },
    /// act_runner's `runner.labels` as a whole (when it is not a sequence of labels).
    RunnerLabels,
    /// An act_runner `runner.labels` entry `<label>:docker://…`.
    RunnerLabel {
        /// Zero-based position in the list.
        index: usize,
        /// The label name (before the first colon), when the entry is a string.
        label: Option<String>,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Container { job } => write!(f, "jobs.{job}.container"),
            Self::Services { job } => write!(f, "jobs.{job}.services"),
            Self::Service { job, service } => write!(f, "jobs.{job}.services.{service}.image"),
            Self::Steps { job } => write!(f, "jobs.{job}.steps"),
            Self::Matrix { job, path } => write!(f, "jobs.{job}.strategy.matrix.{path}"),
            Self::StepUses { job, step } => write!(f, "jobs.{job}.steps[{step}].uses"),
            Self::RunnerLabels => write!(f, "runner.labels"),
            Self::RunnerLabel {
                label: Some(label), ..
            } => write!(f, "runner.labels[{label}]"),
            Self::RunnerLabel { index, label: None } => write!(f, "runner.labels[{index}]"),
        }
    }
}

/// How a reference is written, and so whether and where it can be rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    /// Written here, on one line, exactly as its value: `span` is the reference's bytes (inside
    /// the quotes, after `docker://` or `<label>:docker://`), and replacing them keeps the style.
    Written {
        /// The reference's bytes.
        span: Range<usize>,
        /// The scalar's quoting.
        style: ScalarStyle,
    },
    /// Reached through an alias (`*name`, or a `<<: *name` merge): the reference is the
    /// anchored scalar's, so it is rewritten once, there, for every use.
    Alias {
        /// The anchor's name.
        anchor: String,
        /// The 1-based line of the anchored reference.
        anchor_line: usize,
        /// The anchored reference's bytes.
        span: Range<usize>,
    },
    /// Something stands where an image reference belongs that cannot be read or rewritten
    /// safely in place (a block scalar, a scalar over several lines or with escapes, a mapping
    /// or a sequence).
    Unscannable {
        /// Why, for people.
        reason: String,
    },
}

/// One use of an image reference in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundImage {
    /// Where it is in the YAML structure.
    pub location: Location,
    /// 1-based line of the use (of the alias, for a use through an alias).
    pub line: usize,
    /// The reference (for an unscannable value, its value or first line as written).
    pub image: String,
    /// How it is written.
    pub site: Site,
    /// The line of the use, of its key or of the anchored scalar carries `byteproof: ignore`.
    pub ignored: bool,
    /// The value contains `${{ … }}` and cannot be resolved statically.
    pub expression: bool,
    /// The placeholder appears in the reference or in the comment of one of those lines.
    pub placeholder: bool,
}

impl FoundImage {
    /// The bytes a rewrite replaces: the reference itself, or the anchored one for an alias.
    pub fn span(&self) -> Option<Range<usize>> {
        match &self.site {
            Site::Written { span, .. } | Site::Alias { span, .. } => Some(span.clone()),
            Site::Unscannable { .. } => None,
        }
    }

    /// Why the reference cannot be rewritten, when it cannot.
    pub fn unscannable(&self) -> Option<&str> {
        match &self.site {
            Site::Unscannable { reason } => Some(reason),
            _ => None,
        }
    }

    /// The reference without any `@…` suffix.
    pub fn name_and_tag(&self) -> &str {
        split_digest(&self.image).0
    }

    /// What follows the `@`.
    pub fn digest_part(&self) -> DigestPart {
        split_digest(&self.image).1
    }
}

/// Finds every image reference in `text`, in line order. A text that is not YAML is an error,
/// never an empty list. Pure: the same text always gives the same answer.
pub fn locate(text: &str) -> Result<Vec<FoundImage>, ParseError> {
    let yaml = Yaml::parse(text)?;
    Ok(locate_in(&yaml))
}

/// [`locate`] over an already parsed stream.
pub fn locate_in(yaml: &Yaml) -> Vec<FoundImage> {
    let mut walker = Walker {
        yaml,
        found: Vec::new(),
        matrix_keys: Vec::new(),
    };
    for root in yaml.documents() {
        walker.document(Reached::root(root));
    }
    let mut found = walker.found;
    found.sort_by_key(|f| f.line);
    found
}

/// A node reached from a document root: resolved, with what led to it.
#[derive(Clone, Copy)]
struct Reached<'y> {
    /// The node, aliases resolved.
    node: Node<'y>,
    /// The first alias crossed on the way (`*name`, or the alias of a `<<` merge).
    via_alias: Option<Node<'y>>,
    /// The key whose value this is, when it is a mapping value.
    key: Option<Node<'y>>,
}

impl<'y> Reached<'y> {
    fn root(node: Node<'y>) -> Self {
        Self::step(node, None, None)
    }

    fn step(node: Node<'y>, via_alias: Option<Node<'y>>, key: Option<Node<'y>>) -> Self {
        let via_alias = via_alias.or(node.alias_target().map(|_| node));
        Self {
            node: node.resolve(),
            via_alias,
            key,
        }
    }

    /// The value of `key` in this mapping, merge keys applied.
    fn get(&self, key: &str) -> Option<Self> {
        self.node
            .merged_entries()
            .into_iter()
            .find(|entry| entry.key.resolve().as_str() == Some(key))
            .map(|entry| {
                Self::step(
                    entry.value,
                    self.via_alias.or(entry.via_alias),
                    Some(entry.key),
                )
            })
    }

    /// The entries of this mapping, merge keys applied: `(key text, value)`.
    fn entries(&self) -> Vec<(String, Self)> {
        self.node
            .merged_entries()
            .into_iter()
            .map(|entry| {
                let name = entry.key.resolve();
                let name = name.as_str().unwrap_or(name.text()).to_owned();
                let value = Self::step(
                    entry.value,
                    self.via_alias.or(entry.via_alias),
                    Some(entry.key),
                );
                (name, value)
            })
            .collect()
    }

    fn items(&self) -> Vec<Self> {
        self.node
            .items()
            .map(|item| Self::step(item, self.via_alias, None))
            .collect()
    }

    /// Nothing is written: null, or an empty string.
    fn is_empty(&self) -> bool {
        self.node.is_null() || self.node.as_str() == Some("")
    }

    fn is_expression(&self) -> bool {
        self.node.as_str().is_some_and(|v| v.contains("${{"))
    }

    /// The line of the use: the alias's, else the node's own.
    fn line(&self) -> usize {
        self.via_alias.unwrap_or(self.node).line()
    }
}

/// How the reference sits inside a scalar's value.
#[derive(Clone, Copy)]
enum Form {
    /// The whole value (`container`, `image`).
    Whole,
    /// `docker://<image>` (`uses`); other values are actions, not images.
    DockerUses,
    /// act_runner's `<label>:docker://<image>`; other schemas (`host`) have no image.
    RunnerLabel,
}

impl Form {
    /// The byte offset of the reference in `value`, or `None` when the value holds none.
    fn offset(self, value: &str) -> Option<usize> {
        let offset = match self {
            Self::Whole => 0,
            Self::DockerUses => value.strip_prefix("docker://").map(|_| "docker://".len())?,
            Self::RunnerLabel => {
                // Split on the first two colons into name, schema and argument; `//` is trimmed.
                let (_, rest) = value.split_once(':')?;
                let argument = rest.strip_prefix("docker:")?;
                let image = argument.strip_prefix("//").unwrap_or(argument);
                value.len() - image.len()
            }
        };
        (offset < value.len()).then_some(offset)
    }
}

struct Walker<'y> {
    yaml: &'y Yaml,
    found: Vec<FoundImage>,
    /// The matrix keys the current job's images are written as (`${{ matrix.KEY }}`).
    matrix_keys: Vec<String>,
}

impl<'y> Walker<'y> {
    fn document(&mut self, root: Reached<'y>) {
        if let Some(jobs) = root.get("jobs") {
            for (job, body) in jobs.entries() {
                self.job(&job, body);
            }
        }
        if let Some(labels) = root.get("runner").and_then(|runner| runner.get("labels")) {
            self.runner_labels(labels);
        }
    }

    fn job(&mut self, job: &str, body: Reached<'y>) {
        if body.node.kind() != Kind::Mapping {
            return;
        }
        if let Some(container) = body.get("container") {
            let location = Location::Container {
                job: job.to_owned(),
            };
            match container.node.kind() {
                Kind::Mapping => match container.get("image") {
                    Some(image) => self.reference(image, location, Form::Whole),
                    None => {
                        let reason = "a container mapping without `image`";
                        self.unscannable(container, location, reason);
                    }
                },
                _ => self.reference(container, location, Form::Whole),
            }
        }
        if let Some(services) = body.get("services") {
            self.services(job, services);
        }
        if let Some(steps) = body.get("steps") {
            self.steps(job, steps);
        }
        let mut keys = std::mem::take(&mut self.matrix_keys);
        keys.sort();
        keys.dedup();
        if let Some(matrix) = body.get("strategy").and_then(|s| s.get("matrix")) {
            for key in keys {
                self.matrix(job, matrix, &key);
            }
        }
    }

    /// The values of `strategy.matrix.KEY` for a job whose image is `${{ matrix.KEY }}`: the
    /// list itself, and `KEY` in every `include` and `exclude` entry (an `exclude` entry only
    /// matches while it is written like the value, so it is pinned alike).
    fn matrix(&mut self, job: &str, matrix: Reached<'y>, key: &str) {
        let location = |path: String| Location::Matrix {
            job: job.to_owned(),
            path,
        };
        if let Some(values) = matrix.get(key) {
            if values.node.kind() == Kind::Sequence {
                for (i, value) in values.items().into_iter().enumerate() {
                    self.reference(value, location(format!("{key}[{i}]")), Form::Whole);
                }
            } else {
                self.reference(values, location(key.to_owned()), Form::Whole);
            }
        }
        for list in ["include", "exclude"] {
            let Some(entries) = matrix.get(list) else {
                continue;
            };
            for (i, entry) in entries.items().into_iter().enumerate() {
                if let Some(value) = entry.get(key) {
                    self.reference(value, location(format!("{list}[{i}].{key}")), Form::Whole);
                }
            }
        }
    }

    fn services(&mut self, job: &str, services: Reached<'y>) {
        if services.node.kind() != Kind::Mapping {
            let location = Location::Services {
                job: job.to_owned(),
            };
            self.not_a_collection(services, location, "a mapping of services");
            return;
        }
        for (name, service) in services.entries() {
            let location = Location::Service {
                job: job.to_owned(),
                service: name,
            };
            match (service.node.kind(), service.get("image")) {
                (Kind::Mapping, Some(image)) => self.reference(image, location, Form::Whole),
                (Kind::Mapping, None) => {
                    self.unscannable(service, location, "a service without `image`");
                }
                _ => self.not_a_collection(service, location, "a service mapping with `image`"),
            }
        }
    }

    fn steps(&mut self, job: &str, steps: Reached<'y>) {
        if steps.node.kind() != Kind::Sequence {
            let location = Location::Steps {
                job: job.to_owned(),
            };
            self.not_a_collection(steps, location, "a sequence of steps");
            return;
        }
        for (index, step) in steps.items().into_iter().enumerate() {
            if let Some(uses) = step.get("uses") {
                let location = Location::StepUses {
                    job: job.to_owned(),
                    step: index,
                };
                self.reference(uses, location, Form::DockerUses);
            }
        }
    }

    fn runner_labels(&mut self, labels: Reached<'y>) {
        if labels.node.kind() != Kind::Sequence {
            self.not_a_collection(labels, Location::RunnerLabels, "a sequence of labels");
            return;
        }
        for (index, label) in labels.items().into_iter().enumerate() {
            let name = label
                .node
                .as_str()
                .map(|value| value.split(':').next().unwrap_or(value).to_owned());
            let location = Location::RunnerLabel { index, label: name };
            self.reference(label, location, Form::RunnerLabel);
        }
    }

    /// A value that should be a collection and is not: an expression, nothing, or unscannable.
    fn not_a_collection(&mut self, at: Reached<'y>, location: Location, expected: &str) {
        if at.is_empty() {
            return;
        }
        if at.is_expression() {
            self.reference(at, location, Form::Whole);
            return;
        }
        let reason = format!("expected {expected}, found {}", describe(at.node));
        self.unscannable(at, location, &reason);
    }

    /// The reference in a value where one belongs.
    fn reference(&mut self, at: Reached<'y>, location: Location, form: Form) {
        let node = at.node;
        let Some(scalar) = node.scalar() else {
            let reason = format!("expected an image reference, found {}", describe(node));
            self.unscannable(at, location, &reason);
            return;
        };
        if at.is_empty() {
            return;
        }
        let Some(offset) = form.offset(&scalar.value) else {
            return;
        };
        let image = &scalar.value[offset..];
        let expression = image.contains("${{");
        if let Some(key) = matrix_key(image).filter(|_| matches!(form, Form::Whole)) {
            self.matrix_keys.push(key.to_owned());
        }
        let site = match node.verbatim() {
            Some(_) => {
                let span = scalar.content.start + offset..scalar.content.end;
                match (at.via_alias, anchor_of(self.yaml, node)) {
                    (Some(_), Some((anchor, anchor_line))) => Site::Alias {
                        anchor,
                        anchor_line,
                        span,
                    },
                    _ => Site::Written {
                        span,
                        style: scalar.style,
                    },
                }
            }
            None => Site::Unscannable {
                reason: not_verbatim_reason(self.yaml, node),
            },
        };
        let image = match site {
            Site::Unscannable { .. } => image.trim(),
            _ => image,
        };
        self.push(at, location, image.to_owned(), site, expression);
    }

    fn unscannable(&mut self, at: Reached<'y>, location: Location, reason: &str) {
        let text = at.node.as_str().unwrap_or(at.node.text());
        let image = text.lines().next().unwrap_or_default().trim().to_owned();
        let reason = match at.via_alias.and_then(|alias| alias.alias_name()) {
            Some(name) => format!("{reason} (through `*{name}`)"),
            None => reason.to_owned(),
        };
        let site = Site::Unscannable { reason };
        self.push(at, location, image, site, false);
    }

    fn push(
        &mut self,
        at: Reached<'y>,
        location: Location,
        image: String,
        site: Site,
        expression: bool,
    ) {
        let lines = [
            Some(at.line()),
            Some(at.node.line()),
            at.key.map(|key| key.line()),
        ];
        let comments: Vec<&str> = lines
            .into_iter()
            .flatten()
            .filter_map(|line| self.yaml.comment(line))
            .collect();
        let ignored = comments
            .iter()
            .any(|c| c.contains(IGNORE_MARKER) || c.contains("byteproof:ignore"));
        let placeholder =
            image.contains(PLACEHOLDER) || comments.iter().any(|c| c.contains(PLACEHOLDER));
        self.found.push(FoundImage {
            location,
            line: at.line(),
            image,
            site,
            ignored,
            expression,
            placeholder,
        });
    }
}

/// `KEY` when `value` is exactly `${{ matrix.KEY }}`.
fn matrix_key(value: &str) -> Option<&str> {
    let inner = value.trim().strip_prefix("${{")?.strip_suffix("}}")?.trim();
    let key = inner.strip_prefix("matrix.")?;
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    simple.then_some(key)
}

/// The anchor that a rewrite of `node` affects everywhere: the node's own, or that of the
/// nearest anchored collection holding it (a merge or an alias of a whole job).
fn anchor_of(yaml: &Yaml, node: Node<'_>) -> Option<(String, usize)> {
    std::iter::successors(Some(node), |n| n.parent()).find_map(|n| {
        n.anchor()
            .map(|anchor| (anchor.name.clone(), yaml.line(anchor.span.start)))
    })
}

fn not_verbatim_reason(yaml: &Yaml, node: Node<'_>) -> String {
    let Some(scalar) = node.scalar() else {
        return describe(node);
    };
    if scalar.style.is_block() {
        let indicator = if scalar.style == ScalarStyle::Literal {
            '|'
        } else {
            '>'
        };
        return format!(
            "a {} block scalar (`{indicator}`) cannot be rewritten in place; write the image on one line",
            scalar.style.name()
        );
    }
    let written = &yaml.source()[scalar.content.clone()];
    if written.contains(['\n', '\r']) {
        return format!(
            "a {} scalar written over several lines cannot be rewritten in place",
            scalar.style.name()
        );
    }
    format!(
        "a {} scalar with escapes cannot be rewritten in place",
        scalar.style.name()
    )
}

/// `a mapping`, `a flow sequence`, `a literal scalar`, … for messages.
fn describe(node: Node<'_>) -> String {
    let style = match node.style() {
        byteproof_yaml::Style::Block => "block",
        byteproof_yaml::Style::Flow => "flow",
    };
    match node.kind() {
        Kind::Mapping => format!("a {style} mapping"),
        Kind::Sequence => format!("a {style} sequence"),
        Kind::Alias => "an alias".to_owned(),
        Kind::Scalar => match node.scalar() {
            Some(s) => format!("a {} scalar", s.style.name()),
            None => "a scalar".to_owned(),
        },
    }
}
