//! Rendered output of every platform: snapshots (reviewed like code), determinism, and
//! read-back by a YAML 1.1 parser (kubectl's go-yaml reads YAML 1.1; so does PyYAML).

mod common;

use common::*;

const PLATFORMS: &[&str] = &["aks", "eks", "gke", "kind", "onprem"];

/// The stacks snapshotted on every platform: (name, extra arguments).
fn stacks() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("default", vec!["--set", "config.dns_zone=example.com"]),
        ("elasticsearch-replicas", vec!["-f", "overrides/elasticsearch-replicas.yaml"]),
    ]
}

fn args<'a>(platform: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["render", "--platform", platform];
    a.extend_from_slice(extra);
    a
}

#[test]
fn every_platform_renders_deterministically_and_matches_its_snapshot() {
    let settings = snapshot_settings("render");
    settings.bind(|| {
        for p in PLATFORMS {
            for (name, extra) in stacks() {
                let a = args(p, &extra);
                let first = render_ok(&a);
                let second = render_ok(&a);
                assert_eq!(first, second, "render is not deterministic for {a:?}");
                insta::assert_snapshot!(format!("{p}__{name}"), first);
            }
        }
    });
}

#[test]
fn example_stack_renders_and_matches_its_snapshot() {
    let settings = snapshot_settings("render");
    settings.bind(|| {
        let out = render_ok(&["render", "--stack", "examples/gke/stack.yaml"]);
        insta::assert_snapshot!("stack__examples_gke", out);
    });
}

#[test]
fn yaml_reads_back_in_yaml_1_1_as_the_json_output() {
    for p in PLATFORMS {
        let yaml = render_ok(&["render", "--platform", p]);
        let json: serde_json::Value =
            serde_json::from_str(&render_ok(&["render", "--platform", p, "--format", "json"]))
                .expect("json output parses");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("out.yaml");
        std::fs::write(&file, &yaml).expect("written");
        let script = "import sys, json, yaml\n\
                      docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]\n\
                      print(json.dumps(docs))";
        let o = std::process::Command::new("python3").arg("-c").arg(script).arg(&file).output().expect("python3 runs");
        assert!(o.status.success(), "PyYAML could not read the output (pip install pyyaml): {}", stderr(&o));
        let back: serde_json::Value = serde_json::from_slice(&o.stdout).expect("python printed JSON");
        assert_eq!(&back, &json["items"], "YAML 1.1 reads {p}'s output differently from what was meant");
    }
}
