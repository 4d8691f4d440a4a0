//! Reading YAML text into a spanned [`Node`] tree.
//!
//! Override files are plain data: anchors, aliases and tags are rejected, duplicate keys
//! are an error, and the top level must be a mapping. Plain scalars are typed by the
//! YAML 1.2 core schema (`true`, `null`, `42`, `1.5`); quoted scalars are always strings,
//! so `"on"` stays a string and `on` is the string `on` too (YAML 1.2, not 1.1).

use marked_yaml::{LoadError, LoaderOptions};

use crate::error::{Error, ErrorKind};
use crate::node::{Entry, Node, Value};
use crate::source::{SourceId, Span};

/// Parses the text of `source` into a mapping node.
pub fn parse_layer(source: SourceId, text: &str) -> Result<Node, Error> {
    // First the shape, iteratively: the YAML parser below recurses once per nesting level
    // (a few thousand levels overflow the stack), and it ignores all but one document.
    check_shape(source, text)?;
    let opts = LoaderOptions::default().error_on_duplicate_keys(true).prevent_coercion(true).toplevel_mapping();
    let root =
        marked_yaml::parse_yaml_with_options(source.0 as usize, text, opts).map_err(|e| load_error(source, text, e))?;
    Ok(convert(&root, source))
}

/// The deepest nesting a layer may have. Kubernetes objects patched through a layer are
/// about 15 levels deep; a dashboard is given as a file (`--set-file`), not nested YAML.
pub const MAX_DEPTH: usize = 100;

/// Walks the parser's events without recursion: refuses a nesting deeper than
/// [`MAX_DEPTH`] and a second document. Scan errors are left to the loader, which words
/// them the same way whichever pass meets them first.
fn check_shape(source: SourceId, text: &str) -> Result<(), Error> {
    use yaml_rust2::parser::{Event, Parser};

    let at = |m: &yaml_rust2::scanner::Marker| {
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Span { source, line: n(m.line()), col: n(m.col()) + 1 }
    };
    let mut parser = Parser::new(text.chars());
    let (mut depth, mut documents) = (0usize, 0u32);
    loop {
        let Ok((event, mark)) = parser.next_token() else { return Ok(()) };
        match event {
            Event::StreamEnd => return Ok(()),
            Event::DocumentStart => {
                documents += 1;
                if documents == 2 {
                    return Err(Error::new(ErrorKind::Yaml("a second YAML document: a layer is one document".into()))
                        .at(at(&mark))
                        .help("remove the `---` line, or split the file and give each part with its own `-f`"));
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Error::new(ErrorKind::Yaml(format!("nested more than {MAX_DEPTH} levels deep")))
                        .at(at(&mark))
                        .help("a layer this deep is not a configuration; was a generated file given by mistake?"));
                }
            }
            Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
}

/// Types a plain YAML scalar by the 1.2 core schema (shared with `--set`).
pub fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(n) = core_int(text) {
        return Value::Num(n.into());
    }
    if let Some(f) = core_float(text) {
        if let Some(n) = serde_json::Number::from_f64(f) {
            return Value::Num(n);
        }
    }
    Value::Str(text.to_string())
}

fn core_int(t: &str) -> Option<i64> {
    let (neg, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if body.is_empty() {
        return None;
    }
    let v = if let Some(h) = body.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(o) = body.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()?
    } else if body.bytes().all(|b| b.is_ascii_digit()) {
        body.parse::<i64>().ok()?
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

fn core_float(t: &str) -> Option<f64> {
    match t {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN"
        | ".NAN" => return None, // not representable in JSON: kept as a string
        _ => {}
    }
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let ok = !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && body.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().any(|b| b.is_ascii_digit());
    if ok {
        t.parse::<f64>().ok()
    } else {
        None
    }
}

fn span_of(source: SourceId, m: Option<&marked_yaml::Marker>) -> Span {
    match m {
        Some(m) => Span {
            source,
            line: u32::try_from(m.line()).unwrap_or(u32::MAX),
            col: u32::try_from(m.column()).unwrap_or(u32::MAX),
        },
        None => Span::whole(source),
    }
}

fn convert(n: &marked_yaml::Node, source: SourceId) -> Node {
    let span = span_of(source, n.span().start());
    match n {
        marked_yaml::Node::Scalar(s) => {
            let value = if s.may_coerce() { plain_scalar(s.as_str()) } else { Value::Str(s.as_str().to_string()) };
            Node::new(value, span)
        }
        marked_yaml::Node::Sequence(items) => {
            Node::new(Value::Seq(items.iter().map(|i| convert(i, source)).collect()), span)
        }
        marked_yaml::Node::Mapping(map) => {
            let entries = map
                .iter()
                .map(|(k, v)| Entry {
                    key: k.as_str().to_string(),
                    key_span: span_of(source, k.span().start()),
                    node: convert(v, source),
                })
                .collect::<Vec<_>>();
            // A mapping's own position is that of its first key (marked-yaml reports the
            // character after the opening of a block mapping).
            let span = entries.first().map_or(span, |e| e.key_span);
            Node::new(Value::Map(entries), span)
        }
    }
}

fn load_error(source: SourceId, text: &str, e: LoadError) -> Error {
    let at = |m: &marked_yaml::Marker| span_of(source, Some(m));
    match e {
        LoadError::TopLevelMustBeMapping(m) => Error::new(ErrorKind::NotMapping { found: "a list or a scalar" })
            .at(at(&m))
            .help("a layer maps component names to their settings, e.g. `elasticsearch: {replicas: 5}`"),
        LoadError::TopLevelMustBeSequence(m) => Error::new(ErrorKind::Yaml("expected a list".into())).at(at(&m)),
        LoadError::UnexpectedAnchor(m) => {
            Error::new(ErrorKind::Yaml("YAML anchors and aliases are not supported".into()))
                .at(at(&m))
                .help("write the value out, or put the shared part in its own override file")
        }
        LoadError::MappingKeyMustBeScalar(m) => {
            Error::new(ErrorKind::Yaml("mapping keys must be plain strings".into())).at(at(&m))
        }
        LoadError::UnexpectedTag(m) => {
            Error::new(ErrorKind::Yaml("YAML tags (`!!str`, `!foo`) are not supported".into()))
                .at(at(&m))
                .help("quote the value to make it a string")
        }
        LoadError::ScanError(m, se) => {
            // The scanner's text carries its own "line:col:" prefix; keep only the reason.
            let msg = se.to_string();
            let reason = msg.split_once(": ").map_or(msg.as_str(), |(_, r)| r);
            // ... and its own position again at the end: ours is in front already.
            let reason = reason.split(" at byte ").next().unwrap_or(reason).to_string();
            let _ = text;
            Error::new(ErrorKind::Yaml(format!("malformed YAML: {reason}"))).at(at(&m))
        }
        LoadError::DuplicateKey(d) => {
            let first = span_of(source, d.prev_key.span().start());
            Error::new(ErrorKind::Yaml(format!("duplicate key `{}`", d.key.as_str())))
                .at(span_of(source, d.key.span().start()))
                .note(format!("first written at line {}", first.line))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Node, Error> {
        parse_layer(SourceId(0), text)
    }

    #[test]
    fn keys_carry_line_and_column() {
        let n = parse("a:\n  bb: 1\n").unwrap();
        let e = n.get("a").unwrap().entry("bb").unwrap();
        assert_eq!((e.key_span.line, e.key_span.col), (2, 3));
    }

    #[test]
    fn plain_scalars_are_typed_by_yaml_1_2() {
        let n = parse("a: 1\nb: true\nc: null\nd: 1.5\ne: on\nf: \"1\"\ng: 0x1f\nh: 12:30\n").unwrap();
        assert_eq!(
            n.to_json(),
            serde_json::json!({"a":1,"b":true,"c":null,"d":1.5,"e":"on","f":"1","g":31,"h":"12:30"})
        );
    }

    #[test]
    fn duplicate_keys_are_an_error() {
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.span().map(|s| s.line), Some(2));
    }

    #[test]
    fn anchors_are_rejected() {
        assert!(parse("a: &x 1\nb: *x\n").is_err());
    }

    #[test]
    fn malformed_yaml_has_a_position() {
        let e = parse("a: b: c\n").unwrap_err();
        assert_eq!(e.span().map(|s| (s.line, s.col)), Some((1, 5)));
    }

    #[test]
    fn top_level_list_is_rejected() {
        assert!(matches!(parse("- 1\n").unwrap_err().kind(), ErrorKind::NotMapping { .. }));
    }

    #[test]
    fn a_second_document_is_an_error_at_its_marker() {
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e.span().map(|s| (s.line, s.col)), Some((2, 1)));
        assert!(e.to_string().contains("second YAML document"), "{e}");
    }

    #[test]
    fn document_markers_around_one_document_are_fine() {
        assert_eq!(parse("---\na: 1\n...\n").unwrap().to_json(), serde_json::json!({"a": 1}));
        assert_eq!(parse("a: \"---\"\nb: x...y\n").unwrap().to_json(), serde_json::json!({"a": "---", "b": "x...y"}));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        // Block nesting: the YAML parser would recurse once per level.
        let text: String = (0..5000).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        let e = parse(&text).unwrap_err();
        assert!(e.to_string().contains("nested more than 100 levels"), "{e}");
        assert_eq!(e.span().map(|s| s.line), Some(101));
        // Block sequences nest on one line.
        let e = parse(&format!("a: {}x\n", "- ".repeat(100_000))).unwrap_err();
        assert!(e.span().is_some(), "{e}");
    }

    #[test]
    fn nesting_up_to_the_limit_is_read() {
        let text: String = (0..MAX_DEPTH).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert!(parse(&text).is_ok());
    }

    #[test]
    fn empty_file_is_an_empty_mapping() {
        assert_eq!(parse("# nothing\n").unwrap().to_json(), serde_json::json!({}));
    }
}
