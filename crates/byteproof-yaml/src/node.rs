//! The node model: what each node is, how it was written, and a cursor ([`Node`]) to walk it.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use crate::Yaml;

/// A node's index in its [`Yaml`]. Only meaningful for the `Yaml` that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) usize);

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A scalar: plain, quoted, literal or folded text.
    Scalar,
    /// A mapping of keys to values.
    Mapping,
    /// A sequence of items.
    Sequence,
    /// An alias (`*name`) to a node anchored earlier in the same document.
    Alias,
}

/// Whether a node was written in block style (indentation, `- `, `key:` lines, `|`, `>`) or in
/// flow style (`{…}`, `[…]`, plain and quoted scalars, aliases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Indentation-based collections and literal/folded scalars.
    Block,
    /// Bracketed collections (and everything inside them), plain and quoted scalars, aliases.
    Flow,
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    /// `value`
    Plain,
    /// `'value'`
    SingleQuoted,
    /// `"value"`
    DoubleQuoted,
    /// `|` followed by indented lines.
    Literal,
    /// `>` followed by indented lines.
    Folded,
}

impl ScalarStyle {
    /// Literal and folded scalars: their text spans several lines after a header.
    pub fn is_block(self) -> bool {
        matches!(self, Self::Literal | Self::Folded)
    }

    /// A short lowercase name (`plain`, `single-quoted`, `double-quoted`, `literal`, `folded`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::SingleQuoted => "single-quoted",
            Self::DoubleQuoted => "double-quoted",
            Self::Literal => "literal",
            Self::Folded => "folded",
        }
    }
}

/// A scalar's value and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    /// The value after YAML's unquoting, unescaping and line folding.
    pub value: String,
    /// How it was written.
    pub style: ScalarStyle,
    /// The whole token as written: with its quotes, or from a block scalar's `|`/`>` header to
    /// the end of its last non-blank line. Empty (at the node's position) for an empty scalar.
    pub token: Range<usize>,
    /// The text between the quotes for quoted scalars; the token for plain ones; the lines after
    /// the header for block scalars.
    pub content: Range<usize>,
}

/// An anchor (`&name`) on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The name, without `&`.
    pub name: String,
    /// Where `&name` is written.
    pub span: Range<usize>,
}

/// A tag (`!!str`, `!custom`, `!<tag:…>`) on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The handle after `%TAG` resolution (`tag:yaml.org,2002:` for `!!`, `!` for local tags).
    pub handle: String,
    /// The suffix (`str` in `!!str`).
    pub suffix: String,
    /// Where the tag is written.
    pub span: Range<usize>,
}

/// One node as stored.
#[derive(Debug, Clone)]
pub(crate) struct NodeData {
    pub(crate) content: Content,
    pub(crate) style: Style,
    pub(crate) anchor: Option<Anchor>,
    pub(crate) tag: Option<Tag>,
    /// The node as written, without its anchor and tag.
    pub(crate) span: Range<usize>,
    pub(crate) parent: Option<NodeId>,
}

#[derive(Debug, Clone)]
pub(crate) enum Content {
    Scalar(Scalar),
    Mapping(Vec<(NodeId, NodeId)>),
    Sequence(Vec<NodeId>),
    Alias { name: String, target: NodeId },
}

/// A mapping entry from [`Node::merged_entries`].
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The key as written.
    pub key: Node<'a>,
    /// The value as written (an alias is not resolved).
    pub value: Node<'a>,
    /// For an entry merged in through an alias (`<<: *base`), that alias (the outermost one);
    /// `None` for the mapping's own entries and those merged from a mapping written in place.
    pub via_alias: Option<Node<'a>>,
}

/// A node of a parsed [`Yaml`]: a cheap, copyable cursor with read-only accessors.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    pub(crate) yaml: &'a Yaml,
    pub(crate) id: NodeId,
}

/// Merge chains deeper than this are not followed (they only arise from hostile input).
const MAX_MERGE_DEPTH: usize = 64;

impl<'a> Node<'a> {
    fn data(&self) -> &'a NodeData {
        &self.yaml.nodes[self.id.0]
    }

    fn at_id(&self, id: NodeId) -> Node<'a> {
        Node {
            yaml: self.yaml,
            id,
        }
    }

    /// This node's index.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// What the node is.
    pub fn kind(&self) -> Kind {
        match self.data().content {
            Content::Scalar(_) => Kind::Scalar,
            Content::Mapping(_) => Kind::Mapping,
            Content::Sequence(_) => Kind::Sequence,
            Content::Alias { .. } => Kind::Alias,
        }
    }

    /// Block or flow style.
    pub fn style(&self) -> Style {
        self.data().style
    }

    /// The node's anchor (`&name`), if it has one.
    pub fn anchor(&self) -> Option<&'a Anchor> {
        self.data().anchor.as_ref()
    }

    /// The node's tag, if it has one.
    pub fn tag(&self) -> Option<&'a Tag> {
        self.data().tag.as_ref()
    }

    /// The node's bytes as written, without its anchor and tag. For a block collection, from
    /// its first key or `-` to the end of its last value.
    pub fn span(&self) -> Range<usize> {
        self.data().span.clone()
    }

    /// The source text of [`Node::span`].
    pub fn text(&self) -> &'a str {
        &self.yaml.source()[self.span()]
    }

    /// The 1-based line where the node starts (a block scalar's header line).
    pub fn line(&self) -> usize {
        self.yaml.line(self.data().span.start)
    }

    /// The collection holding this node, or `None` for a document root.
    pub fn parent(&self) -> Option<Node<'a>> {
        self.data().parent.map(|id| self.at_id(id))
    }

    /// When this node is a mapping value, the key it belongs to.
    pub fn key(&self) -> Option<Node<'a>> {
        let parent = self.parent()?;
        let Content::Mapping(entries) = &parent.data().content else {
            return None;
        };
        entries
            .iter()
            .find(|(_, value)| *value == self.id)
            .map(|(key, _)| self.at_id(*key))
    }

    /// The scalar, when this node is one.
    pub fn scalar(&self) -> Option<&'a Scalar> {
        match &self.data().content {
            Content::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    /// The scalar's value, when this node is a scalar.
    pub fn as_str(&self) -> Option<&'a str> {
        self.scalar().map(|s| s.value.as_str())
    }

    /// A plain scalar YAML reads as null: empty, `~`, `null`, `Null` or `NULL` (and untagged).
    pub fn is_null(&self) -> bool {
        self.scalar().is_some_and(|s| {
            s.style == ScalarStyle::Plain
                && self.tag().is_none()
                && matches!(s.value.as_str(), "" | "~" | "null" | "Null" | "NULL")
        })
    }

    /// The scalar's text exactly as written between its quotes, when that text *is* its value:
    /// a plain or quoted scalar on one line without escapes (`''`, `\`) or folding. Replacing
    /// [`Scalar::content`] by other such text changes the value to exactly that text.
    pub fn verbatim(&self) -> Option<&'a str> {
        let scalar = self.scalar()?;
        if scalar.style.is_block() {
            return None;
        }
        let written = &self.yaml.source()[scalar.content.clone()];
        (written == scalar.value).then_some(written)
    }

    /// The entries of a mapping, in written order (nothing for other nodes; aliases are not
    /// followed, see [`Node::resolve`]).
    pub fn entries(&self) -> impl Iterator<Item = (Node<'a>, Node<'a>)> + 'a {
        let node = *self;
        let entries: &'a [(NodeId, NodeId)] = match &self.data().content {
            Content::Mapping(entries) => entries,
            _ => &[],
        };
        entries
            .iter()
            .map(move |&(key, value)| (node.at_id(key), node.at_id(value)))
    }

    /// The items of a sequence, in written order (nothing for other nodes).
    pub fn items(&self) -> impl Iterator<Item = Node<'a>> + 'a {
        let node = *self;
        let items: &'a [NodeId] = match &self.data().content {
            Content::Sequence(items) => items,
            _ => &[],
        };
        items.iter().map(move |&id| node.at_id(id))
    }

    /// The value of the first entry of this mapping whose key is a scalar equal to `key` (keys
    /// written as aliases are resolved). `None` for other nodes.
    pub fn get(&self, key: &str) -> Option<Node<'a>> {
        self.entries()
            .find(|(k, _)| k.resolve().as_str() == Some(key))
            .map(|(_, value)| value)
    }

    /// Follows a path of mapping keys from this node, resolving aliases on the way (the node
    /// found is resolved too).
    pub fn at(&self, path: &[&str]) -> Option<Node<'a>> {
        path.iter()
            .try_fold(self.resolve(), |node, key| Some(node.get(key)?.resolve()))
    }

    /// The alias's name (without `*`), when this node is an alias.
    pub fn alias_name(&self) -> Option<&'a str> {
        match &self.data().content {
            Content::Alias { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The anchored node an alias refers to; `None` when this node is not an alias.
    pub fn alias_target(&self) -> Option<Node<'a>> {
        match &self.data().content {
            Content::Alias { target, .. } => Some(self.at_id(*target)),
            _ => None,
        }
    }

    /// The node itself, or the anchored node when this is an alias.
    pub fn resolve(&self) -> Node<'a> {
        self.alias_target().unwrap_or(*self)
    }

    /// The entries of a mapping with YAML merge keys applied (`<<: *base` or `<<: [*a, *b]`,
    /// as go-yaml and therefore act/Gitea read them): the mapping's own entries first, then the
    /// merged mappings' entries whose keys are not already present, earlier merges first. The
    /// `<<` entries themselves are left out. Cyclic or very deep merges are cut off.
    pub fn merged_entries(&self) -> Vec<Entry<'a>> {
        let mut out: Vec<Entry<'a>> = Vec::new();
        let mut seen_keys: HashSet<&'a str> = HashSet::new();
        let mut visited: HashSet<NodeId> = HashSet::new();
        // Depth-first in written order: mappings still to read (reversed), each with the first
        // alias crossed to reach it and its depth.
        let mut stack: Vec<(Node<'a>, Option<Node<'a>>, usize)> = vec![(self.resolve(), None, 0)];
        while let Some((mapping, via_alias, depth)) = stack.pop() {
            if depth > MAX_MERGE_DEPTH || !visited.insert(mapping.id) {
                continue;
            }
            let mut sources = Vec::new();
            for (key, value) in mapping.entries() {
                if key.is_merge_key() {
                    let items: Vec<Node<'a>> = match value.resolve().kind() {
                        Kind::Sequence => value.resolve().items().collect(),
                        _ => vec![value],
                    };
                    for item in items {
                        let via = via_alias.or(item.alias_target().map(|_| item));
                        let item = item.resolve();
                        if item.kind() == Kind::Mapping {
                            sources.push((item, via, depth + 1));
                        }
                    }
                    continue;
                }
                let name = key.resolve().as_str();
                if name.is_none_or(|name| seen_keys.insert(name)) {
                    out.push(Entry {
                        key,
                        value,
                        via_alias,
                    });
                }
            }
            stack.extend(sources.into_iter().rev());
        }
        out
    }

    /// Like [`Node::get`], with merge keys applied (see [`Node::merged_entries`]).
    pub fn get_merged(&self, key: &str) -> Option<Node<'a>> {
        self.merged_entries()
            .into_iter()
            .find(|entry| entry.key.resolve().as_str() == Some(key))
            .map(|entry| entry.value)
    }

    /// A plain `<<` key (or one tagged `!!merge`).
    fn is_merge_key(&self) -> bool {
        let merge_tag = self
            .tag()
            .is_some_and(|t| t.handle == "tag:yaml.org,2002:" && t.suffix == "merge");
        self.scalar()
            .is_some_and(|s| s.value == "<<" && (s.style == ScalarStyle::Plain || merge_tag))
    }
}

impl fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("kind", &self.kind())
            .field("line", &self.line())
            .field("span", &self.span())
            .field("text", &self.text())
            .finish()
    }
}
