//! `runway graph` end to end on the GKE example stack, and `runway diff --graph`.

mod common;

use common::{render_ok, runway, snapshot_settings, stderr, stdout};

const GKE: &[&str] = &["graph", "--stack", "examples/gke/stack.yaml"];

fn graph(extra: &[&str]) -> String {
    let args: Vec<&str> = GKE.iter().chain(extra).copied().collect();
    render_ok(&args)
}

#[test]
fn gke_graph_as_mermaid_and_dot() {
    let mermaid = graph(&[]);
    assert_eq!(mermaid, graph(&["--format", "mermaid"]), "mermaid is the default");
    // The wiring an operator looks for: fluentd and Kibana talk to Elasticsearch, an
    // Ingress reaches Kibana's Service, Prometheus scrapes node-exporter.
    for line in [
        "n19[\"DaemonSet<br/>kubeprod/fluentd-es\"]",
        "n11[\"Service<br/>kubeprod/elasticsearch-logging-client\"]",
        "n19 -->|talks to| n11",
        "n31 -->|talks to| n11",
        "n29 -->|backend| n30",
        "n54 -->|scrapes| n50",
    ] {
        assert!(mermaid.contains(line), "{line} in\n{mermaid}");
    }
    let dot = graph(&["--format", "dot"]);
    assert!(dot.contains("subgraph \"cluster_c_fluentd_es\""), "{dot}");
    snapshot_settings("graph").bind(|| {
        insta::assert_snapshot!("gke__mermaid", mermaid);
        insta::assert_snapshot!("gke__dot", dot);
    });
}

#[test]
fn gke_graph_as_svg_is_well_formed_and_deterministic() {
    let svg = graph(&["--format", "svg"]);
    assert_eq!(svg, graph(&["--format", "svg"]));
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let names: Vec<&str> =
        doc.descendants().filter(|n| n.attribute("class") == Some("name")).filter_map(|n| n.text()).collect();
    assert!(names.contains(&"kubeprod/elasticsearch-logging"), "{names:?}");
    let mermaid = graph(&[]);
    assert_eq!(names.len(), mermaid.matches("<br/>").count(), "the SVG draws the same nodes as the Mermaid graph");
}

#[test]
fn one_component_and_its_neighbours() {
    let m = graph(&["--component", "fluentd_es"]);
    assert!(m.contains("subgraph c_fluentd_es"), "{m}");
    assert!(m.contains("Service<br/>kubeprod/elasticsearch-logging-client"), "{m}");
    assert!(m.contains("StatefulSet<br/>kubeprod/prometheus"), "Prometheus scrapes fluentd: {m}");
    assert!(!m.contains("kibana"), "{m}");
    let o = runway(&["graph", "--stack", "examples/gke/stack.yaml", "--component", "kibanna"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("`--component kibanna`: no such component"), "{}", stderr(&o));
}

#[test]
fn diff_markdown_graph_shows_the_changed_objects_and_their_neighbours() {
    let t = tempfile::tempdir().expect("temporary folder");
    let old = t.path().join("old.yaml");
    let new = t.path().join("new.yaml");
    std::fs::write(&old, render_ok(&["render", "--stack", "examples/gke/stack.yaml"])).unwrap();
    std::fs::write(&new, render_ok(&["render", "--stack", "examples/gke/stack.yaml", "--set", "kibana.replicas=2"]))
        .unwrap();
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let o = runway(&["diff", "--format", "markdown", "--graph", old, new]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let graph = out.split("```mermaid\n").nth(1).expect("a mermaid block").split("```").next().unwrap();
    assert!(graph.contains("subgraph c_kibana[\"kibana\"]"), "{graph}");
    assert!(graph.contains("Deployment<br/>kubeprod/kibana"), "{graph}");
    assert!(graph.contains("Service<br/>kubeprod/kibana-logging"), "the Service selecting it: {graph}");
    assert!(graph.contains("classDef changed"), "{graph}");
    assert!(!graph.contains("fluentd-es"), "objects far from the change stay out: {graph}");
    let o = runway(&["diff", "--graph", old, new]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`--graph` goes with `--format markdown`"), "{}", stderr(&o));
}

#[test]
fn the_readme_sample_is_what_runway_draws() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).expect("README.md");
    let after = readme
        .split("    runway graph --stack examples/gke/stack.yaml --component kibana\n\n```mermaid\n")
        .nth(1)
        .expect("the README shows the kibana graph");
    let sample = after.split("```").next().expect("the block ends");
    assert_eq!(sample, graph(&["--component", "kibana"]));
}

#[test]
fn sysdig_backend_wiring_by_short_service_names() {
    let m = render_ok(&["graph", "--platform", "eks", "--stack", "examples/sdc/stack.yaml"]);
    let id = |label: &str| -> String {
        let line =
            m.lines().find(|l| l.contains(&format!("[\"{label}\"]"))).unwrap_or_else(|| panic!("{label} in\n{m}"));
        line.trim().split('[').next().unwrap().to_string()
    };
    let api = id("Deployment<br/>sysdigcloud/sdc-api");
    for target in ["sdc-cassandra", "sdc-elasticsearch", "sdc-mysql", "sdc-redis"] {
        let edge = format!("  {api} -->|talks to| {}\n", id(&format!("Service<br/>sysdigcloud/{target}")));
        assert!(m.contains(&edge), "{edge} in\n{m}");
    }
}
