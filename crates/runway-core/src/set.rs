//! `--set path=value` and `--set-string path=value` flags.
//!
//! The path uses [`KeyPath`] syntax (`\.` for a literal dot, `[N]` for a list index). The
//! value is a YAML scalar typed like a plain scalar in a file (`7` is a number, `true` a
//! boolean, `null` deletes the key), or a flow collection (`[a, b]`, `{k: v}`); with
//! `--set-string` it is always a string. A set flag replaces the value at its path; a list
//! index must name an existing item or the end of the list (to append).

use crate::error::{Error, ErrorKind};
use crate::layer::{parse_layer, plain_scalar};
use crate::node::{Entry, Node, Value};
use crate::path::{KeyPath, Segment};
use crate::source::{SourceId, Span};

/// A parsed `--set` flag.
#[derive(Clone, Debug)]
pub struct SetFlag {
    /// Where the value goes.
    pub path: KeyPath,
    /// The value, spanned in the flag's own source.
    pub value: Node,
    /// Where the path starts in the flag's source (for errors about the path).
    pub path_span: Span,
}

/// Parses the text after `--set` (or `--set-string` when `string` is true). `source`'s text
/// must be `flag_text` as shown to the user, starting with `--set ` or `--set-string `.
pub fn parse_set(source: SourceId, flag_text: &str, string: bool) -> Result<SetFlag, Error> {
    let prefix = if string { "--set-string " } else { "--set " };
    let body = flag_text.strip_prefix(prefix).unwrap_or(flag_text);
    let offset = u32::try_from(flag_text.len() - body.len()).unwrap_or(0);
    let path_span = Span { source, line: 1, col: offset + 1 };
    let Some((path_text, value_text)) = split_unescaped_eq(body) else {
        return Err(Error::new(ErrorKind::BadSet("expected `path=value`".into()))
            .at(path_span)
            .help("write e.g. `--set elasticsearch.replicas=5`"));
    };
    let path = KeyPath::parse(path_text).map_err(|e| Error::new(ErrorKind::BadSet(e.to_string())).at(path_span))?;
    let value_span = Span { source, line: 1, col: offset + 1 + u32::try_from(path_text.len()).unwrap_or(0) + 1 };
    let value = if string {
        Node::new(Value::Str(value_text.to_string()), value_span)
    } else if value_text.starts_with(['[', '{']) {
        let wrapped = parse_layer(source, &format!("v: {value_text}")).map_err(|_| {
            Error::new(ErrorKind::BadSet(format!("`{value_text}` is not a YAML flow value"))).at(value_span)
        })?;
        let mut v = wrapped.get("v").cloned().unwrap_or_else(|| Node::new(Value::Null, value_span));
        respan(&mut v, value_span);
        v
    } else {
        Node::new(plain_scalar(value_text), value_span)
    };
    Ok(SetFlag { path, value, path_span })
}

fn respan(n: &mut Node, span: Span) {
    n.trail = vec![span];
    match &mut n.value {
        Value::Seq(items) => items.iter_mut().for_each(|i| respan(i, span)),
        Value::Map(entries) => entries.iter_mut().for_each(|e| {
            e.key_span = span;
            respan(&mut e.node, span);
        }),
        _ => {}
    }
}

/// Splits at the first `=` that is not preceded by a backslash.
fn split_unescaped_eq(s: &str) -> Option<(&str, &str)> {
    let bytes = s.as_bytes();
    (0..bytes.len()).find(|&i| bytes[i] == b'=' && (i == 0 || bytes[i - 1] != b'\\')).map(|i| (&s[..i], &s[i + 1..]))
}

/// Applies a set flag's value at `path` below `base`, creating mappings on the way.
/// A `null` value removes the key.
pub fn apply_set(base: &mut Node, path: &[Segment], value: &Node, path_span: Span) -> Result<(), Error> {
    let Some((first, rest)) = path.split_first() else {
        let mut trail = std::mem::take(&mut base.trail);
        trail.extend(value.trail.iter().copied());
        *base = Node { value: value.value.clone(), trail };
        return Ok(());
    };
    match first {
        Segment::Key(k) => {
            if !matches!(base.value, Value::Map(_)) {
                if !matches!(base.value, Value::Null) {
                    return Err(Error::new(ErrorKind::BadSet(format!(
                        "`{k}` is below a {}, not a mapping",
                        base.type_name()
                    )))
                    .at(path_span));
                }
                base.value = Value::Map(Vec::new());
            }
            let Value::Map(entries) = &mut base.value else { unreachable!("made a mapping above") };
            let pos = entries.iter().position(|e| e.key == *k);
            if rest.is_empty() && matches!(value.value, Value::Null) {
                if let Some(i) = pos {
                    entries.remove(i);
                }
                return Ok(());
            }
            let i = match pos {
                Some(i) => i,
                None => {
                    entries.push(Entry {
                        key: k.clone(),
                        key_span: value.span(),
                        node: Node::new(Value::Null, value.span()),
                    });
                    entries.len() - 1
                }
            };
            apply_set(&mut entries[i].node, rest, value, path_span)
        }
        Segment::Index(idx) => {
            let Value::Seq(items) = &mut base.value else {
                return Err(Error::new(ErrorKind::BadSet(format!("index [{idx}] used on a {}", base.type_name())))
                    .at(path_span));
            };
            if *idx == items.len() {
                items.push(Node::new(Value::Null, value.span()));
            }
            let len = items.len();
            let item = items.get_mut(*idx).ok_or_else(|| {
                Error::new(ErrorKind::BadSet(format!("index [{idx}] is past the end of a list of {len}")))
                    .at(path_span)
                    .help(format!("use an index from 0 to {len} (the end appends)"))
            })?;
            apply_set(item, rest, value, path_span)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(base: serde_json::Value, flag: &str) -> Result<serde_json::Value, Error> {
        let string = flag.starts_with("--set-string ");
        let f = parse_set(SourceId(9), flag, string)?;
        let mut b = Node::from_json(&base, Span::whole(SourceId(0)));
        apply_set(&mut b, f.path.segments(), &f.value, f.path_span)?;
        Ok(b.to_json())
    }

    #[test]
    fn set_types_scalars_like_yaml() {
        assert_eq!(set(json!({}), "--set a.b=7").unwrap(), json!({"a": {"b": 7}}));
        assert_eq!(set(json!({}), "--set a=true").unwrap(), json!({"a": true}));
        assert_eq!(set(json!({}), "--set a=600Mi").unwrap(), json!({"a": "600Mi"}));
    }

    #[test]
    fn set_string_keeps_a_string() {
        assert_eq!(set(json!({}), "--set-string a=7").unwrap(), json!({"a": "7"}));
    }

    #[test]
    fn set_escaped_dot_is_a_literal_dot() {
        assert_eq!(
            set(json!({}), r"--set metadata.annotations.prometheus\.io/scrape=true").unwrap(),
            json!({"metadata": {"annotations": {"prometheus.io/scrape": true}}})
        );
    }

    #[test]
    fn set_index_addresses_list_items() {
        let base = json!({"c": [{"name": "a", "image": "x"}]});
        assert_eq!(set(base.clone(), "--set c[0].image=y").unwrap(), json!({"c": [{"name": "a", "image": "y"}]}));
        assert_eq!(set(base.clone(), "--set c[1].name=b").unwrap()["c"][1], json!({"name": "b"}));
        assert!(set(base, "--set c[5].name=b").is_err());
    }

    #[test]
    fn set_null_removes_a_key() {
        assert_eq!(set(json!({"a": {"b": 1, "c": 2}}), "--set a.b=null").unwrap(), json!({"a": {"c": 2}}));
    }

    #[test]
    fn set_flow_values_parse_as_yaml() {
        assert_eq!(set(json!({}), "--set a=[x, y]").unwrap(), json!({"a": ["x", "y"]}));
    }

    #[test]
    fn set_without_equals_is_an_error() {
        let e = set(json!({}), "--set a.b").unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::BadSet(_)));
        assert_eq!(e.span().map(|s| s.col), Some(7));
    }

    #[test]
    fn set_through_a_scalar_is_an_error() {
        assert!(set(json!({"a": 1}), "--set a.b=2").is_err());
    }
}
