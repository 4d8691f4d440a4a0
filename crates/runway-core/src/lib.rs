//! runway-core: the data model and machinery of runway, with no filesystem, environment
//! or clock. Inputs are `(SourceId, &str)`; outputs are values and text.
//!
//! - [`source`]: sources and spans (file:line:col);
//! - [`layer`]: YAML text to a spanned [`Node`] tree;
//! - [`merge`]: strategic merge with BKPR's `key+:` and `containers_` spellings;
//! - [`set`]: `--set` flags;
//! - [`path`]: key paths (`a.b\.c[0]`);
//! - [`object`]: rendered objects, typed round-trip, canonical order;
//! - [`params`]: typed parameters read from a spanned tree with did-you-mean errors;
//! - [`names`]: the API server's rules for names and labels;
//! - [`refs`]: cross-object references of a whole render;
//! - [`validate`]: the rest of the API server's rules over a whole render (ports, probes,
//!   storage classes, sizes, quantities, selectors, CRD schemas);
//! - [`emit`]: the YAML and JSON writer;
//! - [`diff`]: object-level semantic diff of two renders, and immutable-field changes;
//! - [`graph`]: components, objects and references as Mermaid, DOT or SVG;
//! - [`error`]: errors as data, rendered at the edge.
#![deny(missing_docs)]

pub mod diff;
pub mod emit;
pub mod error;
pub mod graph;
pub mod layer;
pub mod merge;
pub mod names;
pub mod node;
pub mod object;
pub mod params;
pub mod path;
pub mod pointer;
pub mod refs;
pub mod set;
pub mod shared;
pub mod source;
pub mod suggest;
pub mod validate;

pub use error::{Error, ErrorKind};
pub use node::{Entry, Node, Value};
pub use object::Object;
pub use path::{KeyPath, Segment};
pub use pointer::JsonPointer;
pub use shared::SharedValue;
pub use source::{SourceId, SourceKind, SourceMap, Span};
