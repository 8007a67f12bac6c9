//! The parse tree lowering reads: nodes with their names, type annotations,
//! entries and children, each with its span, and strings borrowed from the source
//! text when they hold no escapes.
//!
//! The fast parser (`fast.rs`) builds it directly from the text; a document of the
//! `kdl` crate (the fall-back parser, the language server's files) converts to it
//! with [`Doc::from_kdl`], borrowing its strings. It holds what `kdl::KdlDocument`
//! holds that trellis reads, and no layout: a `kdl::KdlNode` is 448 bytes and an
//! entry 384, each name an owned string with its formatting; here a node is about a
//! third of that, and a name or value written without escapes allocates nothing.
//! At 10,000 services the chunks of a project are most of what parsing allocates
//! (`docs/performance.md`).

use std::borrow::Cow;

use kdl::{KdlDocument, KdlEntry, KdlIdentifier, KdlNode, KdlValue};

/// `(offset, length)` of a part in its file.
pub type At = (usize, usize);

/// A node name, property key or type annotation.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident<'t> {
    pub value: Cow<'t, str>,
    pub at: At,
}

/// An entry's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw<'t> {
    String(Cow<'t, str>),
    Integer(i128),
    Float(f64),
    Bool(bool),
    Null,
}

/// An argument (`name` is `None`) or a property.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<'t> {
    pub name: Option<Ident<'t>>,
    pub ty: Option<Ident<'t>>,
    pub value: Raw<'t>,
    pub at: At,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node<'t> {
    pub name: Ident<'t>,
    pub ty: Option<Ident<'t>>,
    pub entries: Vec<Entry<'t>>,
    /// The children block, when the node has one (it may be empty).
    pub children: Option<Doc<'t>>,
    pub at: At,
}

/// Nodes, and the span from the first one's start to the last one's end (for no
/// nodes, the empty span where they would start).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Doc<'t> {
    pub nodes: Vec<Node<'t>>,
    pub at: At,
}

impl<'t> Node<'t> {
    /// The nodes of the children block; none without one.
    pub fn children(&self) -> &[Node<'t>] {
        self.children.as_ref().map_or(&[], |d| d.nodes.as_slice())
    }

    /// The node of a `kdl` crate document, borrowing its strings.
    pub fn from_kdl(node: &'t KdlNode) -> Node<'t> {
        Node {
            name: ident(node.name()),
            ty: node.ty().map(ident),
            entries: node
                .entries()
                .iter()
                .map(|e| Entry {
                    name: e.name().map(ident),
                    ty: e.ty().map(ident),
                    value: match e.value() {
                        KdlValue::String(s) => Raw::String(Cow::Borrowed(s)),
                        KdlValue::Integer(i) => Raw::Integer(*i),
                        KdlValue::Float(f) => Raw::Float(*f),
                        KdlValue::Bool(b) => Raw::Bool(*b),
                        KdlValue::Null => Raw::Null,
                    },
                    at: at(e.span()),
                })
                .collect(),
            children: node.children().map(Doc::from_kdl),
            at: at(node.span()),
        }
    }

    fn to_kdl(&self) -> KdlNode {
        let mut node = KdlNode::new(kdl_ident(&self.name));
        if let Some(ty) = &self.ty {
            node.set_ty(kdl_ident(ty));
        }
        for e in &self.entries {
            let value = match &e.value {
                Raw::String(s) => KdlValue::String(s.to_string()),
                Raw::Integer(i) => KdlValue::Integer(*i),
                Raw::Float(f) => KdlValue::Float(*f),
                Raw::Bool(b) => KdlValue::Bool(*b),
                Raw::Null => KdlValue::Null,
            };
            let mut entry = match &e.name {
                Some(name) => KdlEntry::new_prop(kdl_ident(name), value),
                None => KdlEntry::new(value),
            };
            if let Some(ty) = &e.ty {
                entry.set_ty(kdl_ident(ty));
            }
            entry.set_span(e.at);
            node.entries_mut().push(entry);
        }
        if let Some(children) = &self.children {
            node.set_children(children.to_kdl());
        }
        node.set_span(self.at);
        node
    }
}

impl<'t> Doc<'t> {
    /// The tree of a `kdl` crate document, borrowing its strings.
    pub fn from_kdl(doc: &'t KdlDocument) -> Doc<'t> {
        Doc {
            nodes: doc.nodes().iter().map(Node::from_kdl).collect(),
            at: at(doc.span()),
        }
    }

    /// The same document as the `kdl` crate's type: the names, type annotations,
    /// entries, children and spans, without layout. For what reads that type (the
    /// language server, `trellis.lock` written by hand).
    pub fn to_kdl(&self) -> KdlDocument {
        let mut doc = KdlDocument::new();
        *doc.nodes_mut() = self.nodes.iter().map(Node::to_kdl).collect();
        doc.set_span(self.at);
        doc
    }
}

fn at(span: miette::SourceSpan) -> At {
    (span.offset(), span.len())
}

fn ident(id: &KdlIdentifier) -> Ident<'_> {
    Ident {
        value: Cow::Borrowed(id.value()),
        at: at(id.span()),
    }
}

fn kdl_ident(id: &Ident) -> KdlIdentifier {
    let mut out = KdlIdentifier::from(id.value.to_string());
    out.set_span(id.at);
    out
}
