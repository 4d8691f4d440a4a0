//! The spanned value tree that layers are read into and merged on.
//!
//! A [`Node`] is a YAML/JSON value plus its *trail*: every place that set it, oldest first.
//! The last entry is where the current value came from; `explain` prints the whole trail.
//! Mappings keep the order they were written in (so errors come in file order); output
//! order is decided later, by the emitter.

use crate::path::{KeyPath, Segment};
use crate::source::Span;

/// A value with provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the value was set, oldest first; never empty.
    pub trail: Vec<Span>,
}

/// The shape of a [`Node`]'s value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer or float, kept exactly as serde_json holds it.
    Num(serde_json::Number),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in written order.
    Map(Vec<Entry>),
}

/// One key of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key as written (a layer may end it with `+`, see the merge module).
    pub key: String,
    /// Where the key was written.
    pub key_span: Span,
    /// The value.
    pub node: Node,
}

impl Node {
    /// A node set at one place.
    pub fn new(value: Value, span: Span) -> Self {
        Node { value, trail: vec![span] }
    }

    /// Where the current value came from.
    pub fn span(&self) -> Span {
        // Invariant: a trail is created non-empty by `new` and only ever grows.
        *self.trail.last().expect("a node's trail is never empty")
    }

    /// A short name of the value's type, for messages (`mapping`, `string`, ...).
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Num(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }

    /// The mapping entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entry with key `key` (exact match), if this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|e| e.key == key).map(|e| &e.node)
    }

    /// The entry (with its key span) with key `key`.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.as_map()?.iter().find(|e| e.key == key)
    }

    /// Follows a path; `None` when a step is missing.
    pub fn get_path(&self, path: &KeyPath) -> Option<&Node> {
        let mut cur = self;
        for seg in path.segments() {
            cur = match (seg, &cur.value) {
                (Segment::Key(k), Value::Map(_)) => cur.get(k)?,
                (Segment::Index(i), Value::Seq(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Converts a JSON value, every node set at `span`.
    pub fn from_json(v: &serde_json::Value, span: Span) -> Node {
        let value = match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Num(n.clone()),
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => Value::Seq(items.iter().map(|i| Node::from_json(i, span)).collect()),
            serde_json::Value::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| Entry { key: k.clone(), key_span: span, node: Node::from_json(v, span) })
                    .collect(),
            ),
        };
        Node::new(value, span)
    }

    /// Converts to a JSON value, dropping provenance.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Num(n) => serde_json::Value::Number(n.clone()),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Seq(items) => serde_json::Value::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                serde_json::Value::Object(entries.iter().map(|e| (e.key.clone(), e.node.to_json())).collect())
            }
        }
    }

    /// The span that best locates `path` below this node: the deepest existing node on it
    /// (its value's position, or its key's when the value has none).
    pub fn span_of(&self, path: &KeyPath) -> Span {
        let mut cur = self;
        let mut best = self.span();
        for seg in path.segments() {
            let (next, key_span) = match (seg, &cur.value) {
                (Segment::Key(k), Value::Map(_)) => match cur.entry(k) {
                    Some(e) => (Some(&e.node), Some(e.key_span)),
                    None => (None, None),
                },
                (Segment::Index(i), Value::Seq(items)) => (items.get(*i), None),
                _ => (None, None),
            };
            let Some(n) = next else { break };
            cur = n;
            best = match key_span {
                // A value without a position (built, or a whole source) is located by its
                // key; otherwise the value's own span says which layer wrote it last.
                Some(k) if n.span().line == 0 => k,
                _ => n.span(),
            };
        }
        best
    }
}
