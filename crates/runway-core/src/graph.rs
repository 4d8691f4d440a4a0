//! A picture of a render: its components, their objects, and the references between them,
//! as Mermaid (for pull-request comments), DOT (for Graphviz) or a self-contained SVG laid
//! out here (no Graphviz needed).
//!
//! Rules:
//! - edges are the references of [`crate::refs::extract_references`] (the same extractor the
//!   reference checks rely on): Ingress → Service (`backend`), Service and
//!   PodDisruptionBudget → workload (`selects`), HorizontalPodAutoscaler → workload
//!   (`scales`), workload → ConfigMap, Secret, PersistentVolumeClaim, ServiceAccount, a
//!   workload → another's Service by DNS name (`talks to`: fluentd → Elasticsearch),
//!   Prometheus → its annotated targets (`scrapes`); RBAC bindings, PriorityClasses and
//!   a StatefulSet's `serviceName` are left out (they would double the picture, not explain it);
//! - nodes are the workloads and Ingresses, and every object one of those edges touches;
//!   references to objects outside the render are not drawn;
//! - everything is ordered (components by name; inside one, Ingresses, autoscalers and
//!   budgets, Services, workloads, then what workloads use; then kind, namespace, name),
//!   so the same render gives the same bytes.

use crate::pointer::JsonPointer as _;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;

use crate::diff::{ChangeKind, ObjectId};
use crate::refs::{extract_references, RefKind};

/// An object in the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphNode {
    /// The object.
    pub id: ObjectId,
    /// The component that rendered it (empty when unknown).
    pub component: String,
    /// How a diff changed it, when the graph pictures a diff.
    pub mark: Option<ChangeKind>,
}

/// A reference between two nodes (indices into [`Graph::nodes`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GraphEdge {
    /// The referring node.
    pub from: usize,
    /// The node referred to.
    pub to: usize,
    /// What the reference is.
    pub kind: RefKind,
}

/// Components, objects and references, in a deterministic order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    /// The objects, ordered by component, tier, kind, namespace, name.
    pub nodes: Vec<GraphNode>,
    /// The references, ordered by source then target.
    pub edges: Vec<GraphEdge>,
}

/// Kinds that run pods.
const WORKLOADS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet", "Pod"];

/// The row of a kind inside its component: what is reached from outside at the top, what
/// pods use at the bottom.
fn tier(kind: &str) -> usize {
    match kind {
        "Ingress" => 0,
        "HorizontalPodAutoscaler" | "PodDisruptionBudget" => 1,
        "Service" => 2,
        k if WORKLOADS.contains(&k) => 3,
        _ => 4,
    }
}

/// The references the graph draws.
fn drawn(kind: RefKind) -> bool {
    !matches!(kind, RefKind::Role | RefKind::Subject | RefKind::PriorityClass | RefKind::ServiceName)
}

impl Graph {
    /// The graph of a render: `(component, object)` pairs.
    pub fn build(objects: &[(&str, &Value)]) -> Graph {
        let values: Vec<&Value> = objects.iter().map(|(_, v)| *v).collect();
        let ids: Vec<ObjectId> = values.iter().map(|v| ObjectId::of(v)).collect();
        let by_ref: BTreeMap<(&str, &str, &str), usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| ((id.kind.as_str(), id.namespace.as_str(), id.name.as_str()), i))
            .rev() // the first of duplicates wins
            .collect();
        let mut raw: BTreeSet<(usize, usize, RefKind)> = BTreeSet::new();
        for r in extract_references(&values) {
            if !drawn(r.kind) {
                continue;
            }
            if let Some(&to) = by_ref.get(&(r.target.0.as_str(), r.target.1.as_str(), r.target.2.as_str())) {
                if to != r.from {
                    raw.insert((r.from, to, r.kind));
                }
            }
        }
        let mut keep: BTreeSet<usize> = ids
            .iter()
            .enumerate()
            .filter(|(_, id)| id.kind == "Ingress" || WORKLOADS.contains(&id.kind.as_str()))
            .map(|(i, _)| i)
            .collect();
        for (a, b, _) in &raw {
            keep.insert(*a);
            keep.insert(*b);
        }
        let mut order: Vec<usize> = keep.into_iter().collect();
        order.sort_by(|&a, &b| {
            let key = |i: usize| (objects[i].0, tier(&ids[i].kind), &ids[i].kind, &ids[i].namespace, &ids[i].name);
            key(a).cmp(&key(b))
        });
        let index: BTreeMap<usize, usize> = order.iter().enumerate().map(|(n, &i)| (i, n)).collect();
        let nodes = order
            .iter()
            .map(|&i| GraphNode { id: ids[i].clone(), component: objects[i].0.to_string(), mark: None })
            .collect();
        let mut edges: Vec<GraphEdge> =
            raw.into_iter().map(|(a, b, kind)| GraphEdge { from: index[&a], to: index[&b], kind }).collect();
        edges.sort();
        Graph { nodes, edges }
    }

    /// The graph of plain objects (read from files), each grouped under the component its
    /// `app.kubernetes.io/component` label names.
    pub fn of_values(objects: &[&Value]) -> Graph {
        let components: Vec<&str> = objects
            .iter()
            .map(|v| v.ptr("/metadata/labels/app.kubernetes.io~1component").and_then(Value::as_str).unwrap_or(""))
            .collect();
        let pairs: Vec<(&str, &Value)> = components.into_iter().zip(objects.iter().copied()).collect();
        Graph::build(&pairs)
    }

    /// The graph of a diff: the new render plus the removed objects, each changed object
    /// marked, cut down to the changed objects and their direct neighbours.
    pub fn of_diff(diff: &crate::diff::Diff, old: &[Value], new: &[Value]) -> Graph {
        let removed: BTreeSet<&ObjectId> =
            diff.objects.iter().filter(|o| o.change == ChangeKind::Removed).map(|o| &o.id).collect();
        let mut objects: Vec<&Value> = new.iter().collect();
        objects.extend(old.iter().filter(|v| removed.contains(&ObjectId::of(v))));
        let mut g = Graph::of_values(&objects);
        for o in &diff.objects {
            g.mark(&o.id, o.change);
        }
        g.neighbourhood(|n| n.mark.is_some())
    }

    /// The nodes for which `keep` holds, their direct neighbours, and the edges among them.
    pub fn neighbourhood(&self, keep: impl Fn(&GraphNode) -> bool) -> Graph {
        let core: BTreeSet<usize> = (0..self.nodes.len()).filter(|&i| keep(&self.nodes[i])).collect();
        let mut wanted = core.clone();
        for e in &self.edges {
            if core.contains(&e.from) || core.contains(&e.to) {
                wanted.insert(e.from);
                wanted.insert(e.to);
            }
        }
        let index: BTreeMap<usize, usize> = wanted.iter().enumerate().map(|(n, &i)| (i, n)).collect();
        Graph {
            nodes: wanted.iter().map(|&i| self.nodes[i].clone()).collect(),
            edges: self
                .edges
                .iter()
                .filter(|e| index.contains_key(&e.from) && index.contains_key(&e.to))
                .map(|e| GraphEdge { from: index[&e.from], to: index[&e.to], kind: e.kind })
                .collect(),
        }
    }

    /// Marks the node of `id` with how a diff changed it (no effect if it is not drawn).
    pub fn mark(&mut self, id: &ObjectId, change: ChangeKind) {
        for n in self.nodes.iter_mut().filter(|n| &n.id == id) {
            n.mark = Some(change);
        }
    }

    /// The components in order, each with its nodes' indices.
    fn clusters(&self) -> Vec<(&str, Vec<usize>)> {
        let mut out: Vec<(&str, Vec<usize>)> = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            match out.last_mut() {
                Some((c, v)) if *c == n.component => v.push(i),
                _ => out.push((&n.component, vec![i])),
            }
        }
        out
    }

    /// A Mermaid flowchart: one subgraph per component, edges labelled by reference kind,
    /// nodes a diff changed styled by class (`added`, `changed`, `renamed`, `removed`).
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for (c, nodes) in self.clusters() {
            let _ = writeln!(out, "  subgraph {}[\"{}\"]", cluster_id(c), mermaid_text(component_title(c)));
            for i in nodes {
                let n = &self.nodes[i];
                let _ = writeln!(out, "    n{i}[\"{}<br/>{}\"]", n.id.kind, mermaid_text(&node_name(&n.id)));
            }
            out.push_str("  end\n");
        }
        for e in &self.edges {
            let _ = writeln!(out, "  n{} -->|{}| n{}", e.from, e.kind.label(), e.to);
        }
        let marks = self.marks();
        if !marks.is_empty() {
            for (word, fill, stroke) in MARK_STYLES {
                if marks.contains_key(word) {
                    let _ = writeln!(out, "  classDef {word} fill:{fill},stroke:{stroke},stroke-width:2px");
                }
            }
            for (word, nodes) in &marks {
                let list: Vec<String> = nodes.iter().map(|i| format!("n{i}")).collect();
                let _ = writeln!(out, "  class {} {word}", list.join(","));
            }
        }
        out
    }

    /// A Graphviz digraph: one `cluster_` subgraph per component.
    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph runway {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
        );
        for (c, nodes) in self.clusters() {
            let _ = writeln!(out, "  subgraph \"{}\" {{", dot_text(&format!("cluster_{}", cluster_id(c))));
            let _ = writeln!(out, "    label=\"{}\";", dot_text(component_title(c)));
            for i in nodes {
                let n = &self.nodes[i];
                let fill = match n.mark {
                    Some(m) => format!(", fillcolor=\"{}\"", mark_style(m).1),
                    None => String::new(),
                };
                let _ = writeln!(out, "    n{i} [label=\"{}\\n{}\"{fill}];", n.id.kind, dot_text(&node_name(&n.id)));
            }
            out.push_str("  }\n");
        }
        for e in &self.edges {
            let _ = writeln!(out, "  n{} -> n{} [label=\"{}\"];", e.from, e.to, e.kind.label());
        }
        out.push_str("}\n");
        out
    }

    /// A self-contained SVG: components as columns (six to a band), inside each the nodes
    /// top to bottom by tier, edges as curves with arrowheads. Integer coordinates only.
    pub fn to_svg(&self) -> String {
        const PER_BAND: usize = 6;
        const NODE_H: i64 = 38;
        const GAP: i64 = 14;
        const HEADER: i64 = 30;
        const PAD: i64 = 20;
        const COL_GAP: i64 = 70;
        let clusters = self.clusters();
        let width_of = |i: usize| {
            let n = &self.nodes[i];
            let chars = n.id.kind.chars().count().max(node_name(&n.id).chars().count()) as i64;
            chars * 7 + 24
        };
        // (x, y, w) of every node; (x, y, w, h, title) of every cluster.
        let mut pos: Vec<(i64, i64, i64)> = vec![(0, 0, 0); self.nodes.len()];
        let mut boxes: Vec<(i64, i64, i64, i64, &str)> = Vec::new();
        let (mut y0, mut total_w) = (PAD, PAD);
        for band in clusters.chunks(PER_BAND) {
            let mut x = PAD;
            let mut band_h = 0;
            for (c, nodes) in band {
                let w = nodes
                    .iter()
                    .map(|&i| width_of(i))
                    .max()
                    .unwrap_or(0)
                    .max(component_title(c).len() as i64 * 8 + 24)
                    .max(150);
                let mut y = y0 + HEADER;
                for &i in nodes {
                    pos[i] = (x + 12, y, w - 24);
                    y += NODE_H + GAP;
                }
                let h = y - y0;
                boxes.push((x, y0, w, h, c));
                band_h = band_h.max(h);
                x += w + COL_GAP;
            }
            total_w = total_w.max(x - COL_GAP + PAD);
            y0 += band_h + COL_GAP;
        }
        let total_h = y0 - COL_GAP + PAD;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total_w}\" height=\"{total_h}\" viewBox=\"0 0 {total_w} {total_h}\" font-family=\"Helvetica, Arial, sans-serif\">"
        );
        out.push_str("<title>runway graph</title>\n");
        out.push_str(
            "<style>.cluster{fill:#f6f8fa;stroke:#d0d7de}.cluster-title{font-size:13px;font-weight:bold;fill:#24292f}\
             .node{fill:#ffffff;stroke:#57606a}.kind{font-size:9px;fill:#57606a}.name{font-size:11px;fill:#24292f}\
             .edge{fill:none;stroke:#8c959f;stroke-width:1.2}</style>\n",
        );
        out.push_str(
            "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#8c959f\"/></marker></defs>\n",
        );
        for (x, y, w, h, c) in &boxes {
            let _ = writeln!(
                out,
                "<g class=\"component\"><rect class=\"cluster\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"8\"/><text class=\"cluster-title\" x=\"{}\" y=\"{}\">{}</text></g>",
                x + 12,
                y + 20,
                xml_text(component_title(c))
            );
        }
        for e in &self.edges {
            let (ax, ay, aw) = pos[e.from];
            let (bx, by, bw) = pos[e.to];
            let (ay, by) = (ay + NODE_H / 2, by + NODE_H / 2);
            let (sx, tx, c1, c2) = if ax == bx {
                // Same column: out of the right side and back in.
                (ax + aw, bx + bw, ax + aw + 40, bx + bw + 40)
            } else if ax < bx {
                let mid = (ax + aw + bx) / 2;
                (ax + aw, bx, mid, mid)
            } else {
                let mid = (ax + bx + bw) / 2;
                (ax, bx + bw, mid, mid)
            };
            let _ = writeln!(
                out,
                "<path class=\"edge\" d=\"M {sx} {ay} C {c1} {ay}, {c2} {by}, {tx} {by}\" marker-end=\"url(#arrow)\"><title>{}</title></path>",
                xml_text(&format!("{} {} {}", self.nodes[e.from].id, e.kind.label(), self.nodes[e.to].id))
            );
        }
        for (i, n) in self.nodes.iter().enumerate() {
            let (x, y, w) = pos[i];
            let style = match n.mark {
                Some(m) => {
                    let (_, fill, stroke) = mark_style(m);
                    format!(" style=\"fill:{fill};stroke:{stroke};stroke-width:2\"")
                }
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "<g class=\"object\"><rect class=\"node\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{NODE_H}\" rx=\"4\"{style}/><text class=\"kind\" x=\"{}\" y=\"{}\">{}</text><text class=\"name\" x=\"{}\" y=\"{}\">{}</text></g>",
                x + 8,
                y + 14,
                xml_text(&n.id.kind),
                x + 8,
                y + 29,
                xml_text(&node_name(&n.id))
            );
        }
        out.push_str("</svg>\n");
        out
    }

    /// Node indices by mark word, in mark order.
    fn marks(&self) -> BTreeMap<&'static str, Vec<usize>> {
        let mut m: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(c) = n.mark {
                m.entry(c.word()).or_default().push(i);
            }
        }
        m
    }
}

/// `(class, fill, stroke)` per change.
const MARK_STYLES: [(&str, &str, &str); 4] = [
    ("added", "#dafbe1", "#2da44e"),
    ("changed", "#fff8c5", "#bf8700"),
    ("renamed", "#ddf4ff", "#0969da"),
    ("removed", "#ffebe9", "#cf222e"),
];

fn mark_style(c: ChangeKind) -> (&'static str, &'static str, &'static str) {
    MARK_STYLES.iter().copied().find(|(w, _, _)| *w == c.word()).unwrap_or(MARK_STYLES[1])
}

/// A component's title; objects of no known component are grouped as `other`.
fn component_title(c: &str) -> &str {
    if c.is_empty() {
        "other"
    } else {
        c
    }
}

/// A node's name line: `namespace/name` (`name` when cluster-scoped), so objects of two
/// namespaces never look alike.
fn node_name(id: &ObjectId) -> String {
    if id.namespace.is_empty() {
        id.name.clone()
    } else {
        format!("{}/{}", id.namespace, id.name)
    }
}

/// An identifier for a component's subgraph: letters, digits and `_`.
fn cluster_id(c: &str) -> String {
    let s: String = component_title(c).chars().map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' }).collect();
    format!("c_{s}")
}

/// Text inside a Mermaid `"..."` label.
fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;")
}

/// Text inside a DOT `"..."` string.
fn dot_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Text inside XML.
fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stack() -> Vec<(&'static str, Value)> {
        let labels = json!({"app": "es"});
        vec![
            (
                "es",
                json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "es", "namespace": "ns"},
                "spec": {"serviceName": "es", "template": {"metadata": {"labels": labels}, "spec": {
                    "serviceAccountName": "es",
                    "containers": [{"name": "es"}],
                    "volumes": [{"name": "c", "configMap": {"name": "es-config"}}]}}}}),
            ),
            (
                "es",
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "es", "namespace": "ns"},
                "spec": {"selector": {"app": "es"}}}),
            ),
            (
                "es",
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "es-config", "namespace": "ns"},
                "data": {"x": "discovery: es.ns.svc"}}),
            ),
            (
                "es",
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "es", "namespace": "ns"}}),
            ),
            (
                "logs",
                json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "shipper", "namespace": "ns"},
                "spec": {"template": {"metadata": {"labels": {"app": "shipper"}}, "spec": {
                    "containers": [{"name": "s", "env": [{"name": "ES", "value": "http://es.ns.svc:9200"}]}]}}}}),
            ),
            (
                "web",
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "ui", "namespace": "ns"},
                "spec": {"rules": [{"http": {"paths": [{"backend": {"service": {"name": "es"}}}]}}]}}),
            ),
            (
                "web",
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lonely", "namespace": "ns"}}),
            ),
        ]
    }

    fn graph() -> Graph {
        let s = stack();
        let objs: Vec<(&str, &Value)> = s.iter().map(|(c, v)| (*c, v)).collect();
        Graph::build(&objs)
    }

    fn edges(g: &Graph) -> Vec<String> {
        g.edges
            .iter()
            .map(|e| format!("{} -{}-> {}", g.nodes[e.from].id.name, e.kind.label(), g.nodes[e.to].id.name))
            .collect()
    }

    #[test]
    fn edges_follow_references_and_wiring() {
        let g = graph();
        let names: Vec<String> = g.nodes.iter().map(|n| format!("{}:{}", n.component, n.id)).collect();
        assert_eq!(
            names,
            [
                "es:Service ns/es",
                "es:StatefulSet ns/es",
                "es:ConfigMap ns/es-config",
                "es:ServiceAccount ns/es",
                "logs:DaemonSet ns/shipper",
                "web:Ingress ns/ui",
            ]
        );
        assert_eq!(
            edges(&g),
            [
                "es -selects-> es",
                "es -uses-> es-config",
                "es -runs as-> es",
                "shipper -talks to-> es",
                "ui -backend-> es",
            ]
        );
    }

    #[test]
    fn a_neighbourhood_keeps_direct_neighbours_only() {
        let g = graph().neighbourhood(|n| n.component == "logs");
        let names: Vec<&str> = g.nodes.iter().map(|n| n.id.name.as_str()).collect();
        assert_eq!(names, ["es", "shipper"]);
        assert_eq!(g.nodes[0].id.kind, "Service");
        assert_eq!(edges(&g), ["shipper -talks to-> es"]);
    }

    #[test]
    fn mermaid_has_subgraphs_edges_and_marks() {
        let mut g = graph();
        g.mark(&g.nodes[1].id.clone(), ChangeKind::Changed);
        let m = g.to_mermaid();
        assert!(m.starts_with("flowchart LR\n  subgraph c_es[\"es\"]\n    n0[\"Service<br/>ns/es\"]\n"), "{m}");
        assert!(m.contains("  n5 -->|backend| n0\n"), "{m}");
        assert!(m.contains("  class n1 changed\n"), "{m}");
    }

    #[test]
    fn dot_has_clusters() {
        let d = graph().to_dot();
        assert!(d.contains("  subgraph \"cluster_c_logs\" {\n    label=\"logs\";\n    n4 [label=\"DaemonSet\\nns/shipper\"];\n  }\n"), "{d}");
        assert!(d.contains("  n4 -> n0 [label=\"talks to\"];\n"), "{d}");
    }

    #[test]
    fn svg_is_well_formed_and_deterministic() {
        let svg = graph().to_svg();
        assert_eq!(svg, graph().to_svg());
        let doc = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
        let count = |class: &str| doc.descendants().filter(|n| n.attribute("class") == Some(class)).count();
        assert_eq!(count("object"), 6);
        assert_eq!(count("edge"), 5);
        assert_eq!(count("component"), 3);
    }
}
