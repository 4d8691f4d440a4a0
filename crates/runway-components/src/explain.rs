//! `explain`: the value at a path and the trail of layers that set it, for parameters
//! (`elasticsearch.replicas`) and object fields (`elasticsearch.sts.spec.replicas`,
//! `prometheus.alertmanager.deploy.spec.replicas`).

use runway_core::suggest::best_match;
use runway_core::{emit, Error, ErrorKind, KeyPath, Segment};

use crate::render::Rendered;

impl Rendered {
    /// Explains the value at `path` (`elasticsearch.replicas`,
    /// `elasticsearch.sts.spec.replicas`): the value and the trail of layers that set it.
    /// Needs a render with `keep_trails`.
    pub fn explain(&self, path: &KeyPath) -> Result<Explanation, Error> {
        let segs = path.segments();
        let Some(Segment::Key(top)) = segs.first() else {
            return Err(Error::new(ErrorKind::NoSuchPath).with_path(path.clone()));
        };
        // A component's other name (`edns`) explains as its own (`external_dns`).
        let canonical = crate::ALL.iter().find(|c| c.aliases().contains(&top.as_str())).map(|c| c.name().to_string());
        let top = canonical.as_ref().unwrap_or(top);
        let nested = match (segs.get(1), segs.get(2)) {
            (Some(Segment::Key(a)), Some(Segment::Key(b))) => Some(format!("{a}.{b}")),
            _ => None,
        };
        // For an object field: the object's tree and the path below it, to redact Secrets.
        let (node, object) = match (segs.get(1), nested) {
            (_, Some(k)) if self.object_trees.contains_key(&(top.clone(), k.clone())) => {
                let tree = &self.object_trees[&(top.clone(), k)];
                (tree.get_path(&KeyPath(segs[3..].to_vec())), Some((tree, &segs[3..])))
            }
            (Some(Segment::Key(k)), _) if self.object_trees.contains_key(&(top.clone(), k.clone())) => {
                let tree = &self.object_trees[&(top.clone(), k.clone())];
                (tree.get_path(&KeyPath(segs[2..].to_vec())), Some((tree, &segs[2..])))
            }
            _ => (self.params.get(top).and_then(|n| n.get_path(&KeyPath(segs[1..].to_vec()))), None),
        };
        let Some(node) = node else {
            let mut e = Error::new(ErrorKind::NoSuchPath).with_path(path.clone());
            if !self.params.contains_key(top) {
                let names: Vec<&str> = self.params.keys().map(String::as_str).collect();
                if let Some(m) = best_match(top, names) {
                    e = e.help(format!("did you mean `{m}`?"));
                }
            }
            return Err(e);
        };
        let trail = node
            .trail
            .iter()
            .map(|s| {
                let kind = self.sources.get(s.source).map_or("?", |src| src.kind.label());
                (kind.to_string(), s.display(&self.sources).to_string())
            })
            .collect();
        let mut value = node.to_json();
        if let Some((tree, below)) = object {
            if tree.get("kind").and_then(|k| k.as_str()) == Some("Secret") {
                redact_secret(&mut value, below);
            }
        }
        Ok(Explanation { path: path.clone(), value, trail })
    }
}

/// Replaces the values of a Secret's `data` and `stringData` in `value` (the part of the
/// Secret at `below`) with `<redacted>`: explain shows where a value came from,
/// never the value (base64 is an encoding, not a protection).
fn redact_secret(value: &mut serde_json::Value, below: &[Segment]) {
    let hide = |v: &mut serde_json::Value| {
        if let serde_json::Value::String(s) = v {
            *v = serde_json::Value::String(if s.is_empty() { String::new() } else { "<redacted>".into() });
        }
    };
    let in_data = |k: &str| k == "data" || k == "stringData";
    match below {
        [] => {
            for key in ["data", "stringData"] {
                if let Some(serde_json::Value::Object(m)) = value.get_mut(key) {
                    m.values_mut().for_each(hide);
                }
            }
        }
        [Segment::Key(k)] if in_data(k) => {
            if let serde_json::Value::Object(m) = value {
                m.values_mut().for_each(hide);
            }
        }
        [Segment::Key(k), ..] if in_data(k) => hide(value),
        _ => {}
    }
}

/// What `explain` prints.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// The path asked for.
    pub path: KeyPath,
    /// The final value.
    pub value: serde_json::Value,
    /// The layers that set it, oldest first: (layer kind, `file:line:col`).
    pub trail: Vec<(String, String)>,
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = match &self.value {
            serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                format!("\n{}", emit::to_yaml_stream(std::iter::once(&self.value)).trim_end())
            }
            v => format!(" {v}"),
        };
        writeln!(f, "{} ={value}", self.path)?;
        for (i, (kind, at)) in self.trail.iter().enumerate() {
            let arrow = if i + 1 == self.trail.len() { "=>" } else { "  " };
            writeln!(f, "  {arrow} {kind:<15} {at}")?;
        }
        Ok(())
    }
}
