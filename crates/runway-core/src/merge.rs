//! The merge engine: one layer (a patch) applied onto the value built so far.
//!
//! # Semantics
//!
//! Kubernetes strategic merge patch, which kubectl users already know, plus BKPR's jsonnet
//! spelling so that BKPR override files port by syntax alone:
//!
//! - mappings merge key by key, recursively; `key: null` removes `key`;
//! - `$patch: replace` inside a mapping replaces the mapping below instead of merging it;
//!   `$patch: delete` removes it (also as a list item, matched by its merge key);
//! - a list whose items all carry a merge key merges item by item: `name` by default,
//!   `mountPath` for `volumeMounts`, `devicePath` for `volumeDevices`, and for `ports`
//!   `name`, else `containerPort`, else `port` (the first that every item has). Items
//!   that match merge, new items are appended, the base order is kept. A list item
//!   `{$patch: replace}` replaces the whole list with the other items. Any other list is
//!   replaced;
//! - `key+:` (jsonnet) merges a mapping, same as `key:`, and *appends* to a list;
//! - `containers_`, `initContainers_`, `env_`, `ports_`, `volumes_`, `volumeMounts_` (and any
//!   `x_` where the base has a list `x`) address the items of list `x` by name, as
//!   kube.libsonnet's `mapToNamedList` does: `containers_+: {fluentd_es+: {...}}` merges
//!   into the container named `fluentd-es` (a key written with `_` matches a name written
//!   with `-`); an `env_` entry whose value is a scalar sets that variable's `value`.
//!
//! Every node the patch sets gets the patch's span appended to its trail, so `explain`
//! can print the chain of layers behind a value.

use crate::error::Error;
use crate::node::{Entry, Node, Value};

/// The BKPR list shorthands that may be used even where the base has no such list yet.
const NAMED_LISTS: &[&str] = &["containers", "initContainers", "env", "ports", "volumes", "volumeMounts"];

/// Applies `patch` onto `base`. `field` is the key `base` sits under (it picks the list
/// merge key); pass `""` at the root.
pub fn merge(base: &mut Node, patch: &Node, field: &str) -> Result<(), Error> {
    merge_into(base, patch, field, false)
}

/// Applies `patch` to nothing: the value the patch means on its own, directives resolved.
pub fn resolve(patch: &Node, field: &str) -> Result<Node, Error> {
    match &patch.value {
        Value::Map(_) => {
            let mut fresh = Node::new(Value::Map(Vec::new()), patch.span());
            merge_into(&mut fresh, patch, field, false)?;
            Ok(fresh)
        }
        Value::Seq(items) => {
            let items = items.iter().map(|i| resolve(i, field)).collect::<Result<_, _>>()?;
            Ok(Node { value: Value::Seq(items), trail: patch.trail.clone() })
        }
        _ => Ok(patch.clone()),
    }
}

/// Splits a key into its name and whether it was written `name+`.
pub fn split_plus(key: &str) -> (&str, bool) {
    match key.strip_suffix('+') {
        Some(name) if !name.is_empty() => (name, true),
        _ => (key, false),
    }
}

/// The value of a `$patch` directive in a mapping, if any.
fn directive(entries: &[Entry]) -> Result<Option<(&str, &Entry)>, Error> {
    let Some(e) = entries.iter().find(|e| e.key == "$patch") else {
        return Ok(None);
    };
    match e.node.as_str() {
        Some(v @ ("replace" | "delete" | "merge")) => Ok(Some((v, e))),
        _ => Err(Error::invalid("`$patch` must be `replace`, `delete` or `merge`").at(e.node.span())),
    }
}

fn is_delete(n: &Node) -> bool {
    n.as_map().is_some_and(|m| m.iter().any(|e| e.key == "$patch" && e.node.as_str() == Some("delete")))
}

/// Replaces `base` with what `patch` means alone, keeping base's trail before the patch's.
fn replace(base: &mut Node, patch: &Node, field: &str) -> Result<(), Error> {
    let mut fresh = resolve(patch, field)?;
    let mut trail = std::mem::take(&mut base.trail);
    trail.append(&mut fresh.trail);
    fresh.trail = trail;
    *base = fresh;
    Ok(())
}

fn merge_into(base: &mut Node, patch: &Node, field: &str, additive: bool) -> Result<(), Error> {
    match &patch.value {
        Value::Map(pentries) => {
            if let Some((d, _)) = directive(pentries)? {
                if d == "replace" {
                    let rest = Node {
                        value: Value::Map(pentries.iter().filter(|e| e.key != "$patch").cloned().collect()),
                        trail: patch.trail.clone(),
                    };
                    let mut trail = std::mem::take(&mut base.trail);
                    let mut fresh = Node::new(Value::Map(Vec::new()), patch.span());
                    merge_entries(&mut fresh, &rest_entries(&rest))?;
                    trail.push(patch.span());
                    fresh.trail = trail;
                    *base = fresh;
                    return Ok(());
                }
                // `delete` is handled by the parent; `merge` is the default.
            }
            if !matches!(base.value, Value::Map(_)) {
                base.value = Value::Map(Vec::new());
                base.trail.push(patch.span());
            }
            merge_entries(base, pentries)
        }
        Value::Seq(pitems) => {
            if let Value::Seq(bitems) = &mut base.value {
                if additive {
                    for item in pitems {
                        bitems.push(resolve(item, field)?);
                    }
                    base.trail.push(patch.span());
                    return Ok(());
                }
                if pitems.iter().any(|i| i.as_map().is_some_and(|m| m.len() == 1 && is_replace_item(m))) {
                    let rest: Vec<Node> = pitems
                        .iter()
                        .filter(|i| !i.as_map().is_some_and(|m| m.len() == 1 && is_replace_item(m)))
                        .map(|i| resolve(i, field))
                        .collect::<Result<_, _>>()?;
                    base.value = Value::Seq(rest);
                    base.trail.push(patch.span());
                    return Ok(());
                }
                if let Some(key) = list_merge_key(field, bitems, pitems) {
                    for item in pitems {
                        let id = item.get(key).map(Node::to_json);
                        let pos = bitems.iter().position(|b| b.get(key).map(Node::to_json) == id);
                        match pos {
                            Some(i) if is_delete(item) => {
                                bitems.remove(i);
                            }
                            Some(i) => merge_into(&mut bitems[i], item, field, false)?,
                            None if is_delete(item) => {}
                            None => bitems.push(resolve(item, field)?),
                        }
                    }
                    base.trail.push(patch.span());
                    return Ok(());
                }
            }
            replace(base, patch, field)
        }
        _ => replace(base, patch, field),
    }
}

fn is_replace_item(m: &[Entry]) -> bool {
    m.iter().any(|e| e.key == "$patch" && e.node.as_str() == Some("replace"))
}

fn rest_entries(n: &Node) -> Vec<Entry> {
    n.as_map().map(<[Entry]>::to_vec).unwrap_or_default()
}

/// Merges patch entries into `base`, which must be a mapping.
fn merge_entries(base: &mut Node, pentries: &[Entry]) -> Result<(), Error> {
    for pe in pentries {
        if pe.key == "$patch" {
            continue;
        }
        let (name, additive) = split_plus(&pe.key);
        let Value::Map(bentries) = &mut base.value else { unreachable!("merge_entries is called on mappings") };
        if let Some(list) = named_list_target(name, bentries, &pe.node) {
            merge_named_list(base, list, pe)?;
            continue;
        }
        let pos = bentries.iter().position(|e| e.key == name);
        let deletes = (matches!(pe.node.value, Value::Null) && !additive) || is_delete(&pe.node);
        match pos {
            Some(i) if deletes => {
                bentries.remove(i);
            }
            None if deletes => {}
            Some(i) => {
                bentries[i].key_span = pe.key_span;
                merge_into(&mut bentries[i].node, &pe.node, name, additive)?;
            }
            None => {
                let node = resolve(&pe.node, name)?;
                bentries.push(Entry { key: name.to_string(), key_span: pe.key_span, node });
            }
        }
    }
    Ok(())
}

/// If `key` is a BKPR named-list shorthand (`containers_`) aimed at a list, the list's key.
fn named_list_target<'k>(key: &'k str, bentries: &[Entry], pnode: &Node) -> Option<&'k str> {
    let list = key.strip_suffix('_').filter(|l| !l.is_empty())?;
    if !matches!(pnode.value, Value::Map(_)) {
        return None;
    }
    if bentries.iter().any(|e| e.key == key) {
        return None; // a real key that happens to end with `_`
    }
    let base_is_list = bentries.iter().any(|e| e.key == list && matches!(e.node.value, Value::Seq(_)));
    (base_is_list || NAMED_LISTS.contains(&list)).then_some(list)
}

fn normalize(name: &str) -> String {
    name.replace('_', "-")
}

fn merge_named_list(base: &mut Node, list: &str, pe: &Entry) -> Result<(), Error> {
    let Value::Map(bentries) = &mut base.value else { unreachable!("merge_named_list is called on mappings") };
    let idx = match bentries.iter().position(|e| e.key == list) {
        Some(i) => i,
        None => {
            bentries.push(Entry {
                key: list.to_string(),
                key_span: pe.key_span,
                node: Node::new(Value::Seq(Vec::new()), pe.node.span()),
            });
            bentries.len() - 1
        }
    };
    let target = &mut bentries[idx].node;
    if !matches!(target.value, Value::Seq(_)) {
        target.value = Value::Seq(Vec::new());
    }
    target.trail.push(pe.node.span());
    let Value::Seq(items) = &mut target.value else { unreachable!("set to a list above") };
    let Some(pitems) = pe.node.as_map() else { unreachable!("named_list_target checked for a mapping") };
    for pi in pitems {
        let (item_key, _) = split_plus(&pi.key);
        let pos = items.iter().position(|it| {
            it.get("name").and_then(Node::as_str).is_some_and(|n| n == item_key || normalize(n) == normalize(item_key))
        });
        let deletes = matches!(pi.node.value, Value::Null) || is_delete(&pi.node);
        // `env_: {FOO: bar}` is `{name: FOO, value: "bar"}`.
        let item_patch = match &pi.node.value {
            Value::Map(_) | Value::Null => pi.node.clone(),
            scalar => {
                let text = match scalar {
                    Value::Str(s) => s.clone(),
                    Value::Num(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => String::new(),
                };
                Node::new(
                    Value::Map(vec![Entry {
                        key: "value".into(),
                        key_span: pi.key_span,
                        node: Node::new(Value::Str(text), pi.node.span()),
                    }]),
                    pi.node.span(),
                )
            }
        };
        match pos {
            Some(i) if deletes => {
                items.remove(i);
            }
            None if deletes => {}
            Some(i) => merge_into(&mut items[i], &item_patch, list, false)?,
            None => {
                // A new item: its name as written, with `_` turned into `-` except for
                // environment variables, whose names may hold underscores.
                let name = if list == "env" { item_key.to_string() } else { normalize(item_key) };
                let mut item = Node::new(
                    Value::Map(vec![Entry {
                        key: "name".into(),
                        key_span: pi.key_span,
                        node: Node::new(Value::Str(name), pi.key_span),
                    }]),
                    pi.key_span,
                );
                merge_into(&mut item, &item_patch, list, false)?;
                items.push(item);
            }
        }
    }
    Ok(())
}

/// The merge key of a list at `field`, if every item on both sides carries it.
fn list_merge_key(field: &str, base: &[Node], patch: &[Node]) -> Option<&'static str> {
    let candidates: &[&'static str] = match field {
        "volumeMounts" => &["mountPath"],
        "volumeDevices" => &["devicePath"],
        "ports" => &["name", "containerPort", "port"],
        _ => &["name"],
    };
    let has = |n: &Node, k: &str| n.get(k).is_some_and(|v| matches!(v.value, Value::Str(_) | Value::Num(_)));
    candidates
        .iter()
        .copied()
        .find(|k| !patch.is_empty() && base.iter().all(|n| has(n, k)) && patch.iter().all(|n| has(n, k)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::parse_layer;
    use crate::source::SourceId;
    use serde_json::json;

    /// Merges `patch` onto `base` (both YAML) and returns the result as JSON.
    fn apply(base: &str, patch: &str) -> serde_json::Value {
        let mut b = parse_layer(SourceId(0), base).unwrap();
        let p = parse_layer(SourceId(1), patch).unwrap();
        merge(&mut b, &p, "").unwrap();
        b.to_json()
    }

    #[test]
    fn mappings_merge_deeply() {
        assert_eq!(apply("a: {b: 1, c: 2}", "a: {c: 3, d: 4}"), json!({"a": {"b": 1, "c": 3, "d": 4}}));
    }

    #[test]
    fn last_layer_wins_for_scalars() {
        assert_eq!(apply("replicas: 3", "replicas: 5"), json!({"replicas": 5}));
    }

    #[test]
    fn null_deletes_a_key() {
        assert_eq!(apply("a: {b: 1, c: 2}", "a: {b: null}"), json!({"a": {"c": 2}}));
    }

    #[test]
    fn patch_replace_replaces_a_mapping() {
        assert_eq!(apply("a: {b: 1, c: 2}", "a: {$patch: replace, d: 4}"), json!({"a": {"d": 4}}));
    }

    #[test]
    fn patch_delete_removes_a_mapping() {
        assert_eq!(apply("a: {b: 1}\nz: 1", "a: {$patch: delete}"), json!({"z": 1}));
    }

    #[test]
    fn unknown_patch_directive_is_an_error() {
        let mut b = parse_layer(SourceId(0), "a: {b: 1}").unwrap();
        let p = parse_layer(SourceId(1), "a: {$patch: remove}").unwrap();
        assert!(merge(&mut b, &p, "").is_err());
    }

    #[test]
    fn lists_without_merge_key_are_replaced() {
        assert_eq!(apply("args: [a, b]", "args: [c]"), json!({"args": ["c"]}));
    }

    #[test]
    fn list_items_merge_by_name() {
        let out = apply(
            "containers: [{name: a, image: x}, {name: b, image: y}]",
            "containers: [{name: b, image: z}, {name: c, image: w}]",
        );
        assert_eq!(
            out,
            json!({"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "z"}, {"name": "c", "image": "w"}]})
        );
    }

    #[test]
    fn ports_without_names_merge_by_container_port() {
        let out = apply("ports: [{containerPort: 80, protocol: TCP}]", "ports: [{containerPort: 80, hostPort: 8080}]");
        assert_eq!(out, json!({"ports": [{"containerPort": 80, "protocol": "TCP", "hostPort": 8080}]}));
    }

    #[test]
    fn volume_mounts_merge_by_mount_path() {
        let out = apply(
            "volumeMounts: [{name: data, mountPath: /a}, {name: data, mountPath: /b}]",
            "volumeMounts: [{name: data, mountPath: /b, readOnly: true}]",
        );
        assert_eq!(
            out,
            json!({"volumeMounts": [{"name": "data", "mountPath": "/a"}, {"name": "data", "mountPath": "/b", "readOnly": true}]})
        );
    }

    #[test]
    fn list_item_patch_delete_removes_the_item() {
        let out = apply("env: [{name: A, value: '1'}, {name: B, value: '2'}]", "env: [{name: A, $patch: delete}]");
        assert_eq!(out, json!({"env": [{"name": "B", "value": "2"}]}));
    }

    #[test]
    fn list_item_patch_replace_replaces_the_list() {
        let out = apply("env: [{name: A, value: '1'}]", "env: [{$patch: replace}, {name: B, value: '2'}]");
        assert_eq!(out, json!({"env": [{"name": "B", "value": "2"}]}));
    }

    #[test]
    fn plus_key_appends_to_a_list() {
        assert_eq!(apply("args: [a]", "args+: [b]"), json!({"args": ["a", "b"]}));
    }

    #[test]
    fn plus_key_merges_a_mapping() {
        assert_eq!(apply("a: {b: 1}", "a+: {c: 2}"), json!({"a": {"b": 1, "c": 2}}));
    }

    #[test]
    fn plus_key_on_a_missing_key_sets_it() {
        assert_eq!(apply("a: 1", "b+: {c: 2}"), json!({"a": 1, "b": {"c": 2}}));
    }

    #[test]
    fn named_list_shorthand_reaches_dashed_name() {
        let out = apply(
            "containers: [{name: fluentd-es, image: x}]",
            "containers_+: {fluentd_es+: {resources: {limits: {memory: 600Mi}}}}",
        );
        assert_eq!(
            out,
            json!({"containers": [{"name": "fluentd-es", "image": "x", "resources": {"limits": {"memory": "600Mi"}}}]})
        );
    }

    #[test]
    fn named_list_shorthand_adds_new_items() {
        let out = apply("containers: [{name: a}]", "containers_: {side_car: {image: y}}");
        assert_eq!(out, json!({"containers": [{"name": "a"}, {"name": "side-car", "image": "y"}]}));
    }

    #[test]
    fn named_list_null_removes_item() {
        let out = apply("volumes: [{name: a}, {name: b}]", "volumes_: {a: null}");
        assert_eq!(out, json!({"volumes": [{"name": "b"}]}));
    }

    #[test]
    fn env_shorthand_scalar_sets_value() {
        let out = apply("env: [{name: JAVA_OPTS, value: x}]", "env_+: {JAVA_OPTS: '-Xmx1g', NEW_VAR: 3}");
        assert_eq!(out, json!({"env": [{"name": "JAVA_OPTS", "value": "-Xmx1g"}, {"name": "NEW_VAR", "value": "3"}]}));
    }

    #[test]
    fn trail_records_each_layer() {
        let mut b = parse_layer(SourceId(0), "a: 1").unwrap();
        merge(&mut b, &parse_layer(SourceId(1), "a: 2").unwrap(), "").unwrap();
        merge(&mut b, &parse_layer(SourceId(2), "a: 3").unwrap(), "").unwrap();
        let sources: Vec<u32> = b.get("a").unwrap().trail.iter().map(|s| s.source.0).collect();
        assert_eq!(sources, [0, 1, 2]);
    }

    #[test]
    fn nulls_inside_new_mappings_are_dropped() {
        assert_eq!(apply("a: 1", "b: {c: null, d: 1}"), json!({"a": 1, "b": {"d": 1}}));
    }
}
