//! A read-only YAML document model that remembers exactly where and how everything is written.
//!
//! [`Yaml::parse`] runs a real YAML 1.2 parser (saphyr-parser) over the text and keeps, for every
//! node, its [`Kind`] (scalar, mapping, sequence, alias), its [`Style`] (block or flow), its anchor
//! and tag, its byte span and its line; for a scalar also its value, its [`ScalarStyle`] (plain,
//! single- or double-quoted, literal, folded) and both the whole token and the content between its
//! quotes ([`Scalar`]). Offsets are bytes into the text as given: UTF-8 before a node, a byte-order
//! mark, CRLF line ends, tabs and multi-document streams all keep them exact, so a caller can
//! replace a scalar's bytes and leave every other byte alone. Nothing here ever re-serialises.
//!
//! Rule checkers walk the tree through [`Node`]: [`Node::get`] / [`Node::at`] for key paths,
//! [`Node::entries`] and [`Node::items`], [`Node::resolve`] for aliases, [`Node::get_merged`] for
//! go-yaml's merge keys, [`Node::verbatim`] to know whether a scalar's text *is* its value, and
//! [`Yaml::comment`] for a line's comment (e.g. an opt-out marker). A text that is not YAML is a
//! [`ParseError`] with a line and column, never an empty document; so is a mapping with the same
//! key twice (YAML requires unique keys; GitHub and go-yaml refuse them).
//!
//! ```
//! let yaml = byteproof_yaml::Yaml::parse("jobs:\n  a: {container: 'node:20'}  # base\n").unwrap();
//! let image = yaml.documents().next().unwrap().at(&["jobs", "a", "container"]).unwrap();
//! assert_eq!(image.as_str(), Some("node:20"));
//! assert_eq!(&yaml.source()[image.scalar().unwrap().content.clone()], "node:20");
//! assert_eq!(image.line(), 2);
//! assert_eq!(yaml.comment(2), Some(" base"));
//! ```

mod build;
mod node;
mod source_map;

use std::ops::Range;

pub use node::{Anchor, Entry, Kind, Node, NodeId, Scalar, ScalarStyle, Style, Tag};

use node::{Content, NodeData};
use source_map::SourceMap;

/// The text is not YAML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset of the problem.
    pub offset: usize,
    /// The parser's description.
    pub message: String,
}

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// A parsed YAML stream: its source text, every document's nodes, and its comments.
#[derive(Debug, Clone)]
pub struct Yaml {
    source: String,
    map: SourceMap,
    nodes: Vec<NodeData>,
    documents: Vec<NodeId>,
    /// Each comment's text after its `#`, in source order (at most one per line).
    comments: Vec<Range<usize>>,
}

impl Yaml {
    /// Parses every document of `source`.
    pub fn parse(source: &str) -> Result<Self, ParseError> {
        let map = SourceMap::new(source);
        let built = build::build(source, &map).map_err(|err| ParseError {
            line: map.line(err.offset),
            column: map.column(source, err.offset),
            offset: err.offset,
            message: err.message,
        })?;
        let comments = find_comments(source, &built.nodes);
        Ok(Self {
            source: source.to_owned(),
            map,
            nodes: built.nodes,
            documents: built.documents,
            comments,
        })
    }

    /// The text as given.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Each document's root node, in order (a stream of only comments has none).
    pub fn documents(&self) -> impl ExactSizeIterator<Item = Node<'_>> {
        self.documents.iter().map(|&id| self.node(id))
    }

    /// The node with `id`.
    ///
    /// # Panics
    /// When `id` does not come from this `Yaml`.
    pub fn node(&self, id: NodeId) -> Node<'_> {
        assert!(id.0 < self.nodes.len(), "{id:?} is not a node of this Yaml");
        Node { yaml: self, id }
    }

    /// The 1-based line holding byte `offset`.
    pub fn line(&self, offset: usize) -> usize {
        self.map.line(offset)
    }

    /// The line and column of byte `offset`.
    pub fn position(&self, offset: usize) -> Position {
        Position {
            line: self.map.line(offset),
            column: self.map.column(&self.source, offset),
        }
    }

    /// The text of 1-based `line`, without its line break.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        self.map.line_range(line).map(|range| &self.source[range])
    }

    /// The comment on 1-based `line`: the text after its `#` (without the line break), or `None`
    /// when the line has no comment. A `#` inside a scalar (quoted, block, or not preceded by
    /// white space) is not a comment.
    pub fn comment(&self, line: usize) -> Option<&str> {
        let range = self.map.line_range(line)?;
        let i = self.comments.partition_point(|c| c.start < range.start);
        self.comments
            .get(i)
            .filter(|c| c.end <= range.end)
            .map(|c| &self.source[c.clone()])
    }
}

/// Finds comments: a `#` at the start of a line or after white space, outside every scalar.
fn find_comments(text: &str, nodes: &[NodeData]) -> Vec<Range<usize>> {
    let mut scalars: Vec<Range<usize>> = nodes
        .iter()
        .filter_map(|node| match &node.content {
            // A block scalar's header line may carry a comment; only its lines after are text.
            Content::Scalar(s) if s.style.is_block() => Some(s.content.clone()),
            Content::Scalar(s) => Some(s.token.clone()),
            _ => None,
        })
        .filter(|range| !range.is_empty())
        .collect();
    scalars.sort_by_key(|range| range.start);
    let bytes = text.as_bytes();
    let mut comments = Vec::new();
    let mut next_scalar = scalars.iter().peekable();
    let mut pos = text
        .strip_prefix('\u{feff}')
        .map_or(0, |_| '\u{feff}'.len_utf8());
    let mut line_start = pos;
    while pos < bytes.len() {
        while next_scalar.next_if(|s| s.end <= pos).is_some() {}
        if let Some(scalar) = next_scalar.peek().filter(|s| s.start <= pos) {
            pos = scalar.end;
            continue;
        }
        match bytes[pos] {
            b'\n' | b'\r' => line_start = pos + 1,
            b'#' if pos == line_start || matches!(bytes[pos - 1], b' ' | b'\t') => {
                let end = text[pos..]
                    .find(['\r', '\n'])
                    .map_or(text.len(), |i| pos + i);
                comments.push(pos + 1..end);
                pos = end;
                continue;
            }
            _ => {}
        }
        pos += 1;
    }
    comments
}

#[cfg(test)]
mod tests;
