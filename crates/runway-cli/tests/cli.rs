//! The command line as users drive it: each output form, explain, the catalogue, the
//! schema, standard input, and the guarantee that nothing is half-written.

mod common;

use common::*;

#[test]
fn json_format_is_a_v1_list_of_the_same_objects() {
    let yaml = render_ok(&["render", "--stack", "examples/gke/stack.yaml"]);
    let json: serde_json::Value =
        serde_json::from_str(&render_ok(&["render", "--stack", "examples/gke/stack.yaml", "--format", "json"]))
            .expect("json output parses");
    assert_eq!(json["apiVersion"], "v1");
    assert_eq!(json["kind"], "List");
    let items = json["items"].as_array().expect("items");
    let docs: Vec<serde_json::Value> =
        serde_yaml::Deserializer::from_str(&yaml).map(|d| serde::Deserialize::deserialize(d).expect("doc")).collect();
    assert_eq!(items, &docs);
}

#[test]
fn output_dir_writes_one_file_per_object_and_replaces_the_tree() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("deploy");
    std::fs::create_dir_all(out.join("stale")).expect("old tree");
    std::fs::write(out.join("stale/old.yaml"), "x: 1\n").expect("old file");
    let o = runway(&["render", "--stack", "examples/gke/stack.yaml", "--output-dir", out.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "nothing on stdout with --output-dir");
    assert!(!out.join("stale").exists(), "the previous tree is replaced, not merged");
    let sts =
        std::fs::read_to_string(out.join("elasticsearch/statefulset-elasticsearch-logging.yaml")).expect("sts file");
    assert!(sts.starts_with("apiVersion: apps/v1\n"));
    assert!(out.join("namespaces/namespace-kubeprod.yaml").exists());
    // Same objects as the stream.
    let stream = render_ok(&["render", "--stack", "examples/gke/stack.yaml"]);
    let mut files: Vec<_> = walk(&out);
    files.sort();
    assert_eq!(files.len(), stream.matches("\n---\n").count() + 1, "one file per object");
    for f in &files {
        assert!(!std::fs::read_to_string(f).expect("readable").contains("\n---\n"), "{f:?} holds one object");
    }
    // No temporary folders left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("listing")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("runway-tmp") || n.contains("runway-old"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn failed_render_leaves_the_output_dir_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("deploy");
    std::fs::create_dir_all(&out).expect("dir");
    std::fs::write(out.join("keep.yaml"), "x: 1\n").expect("file");
    let o = runway(&[
        "render",
        "--platform",
        "gke",
        "--set",
        "elasticsearch.replicas=oops",
        "--output-dir",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.join("keep.yaml").exists());
    assert_eq!(std::fs::read_dir(dir.path()).expect("listing").count(), 1, "no temporary folder left");
}

#[test]
fn stdin_layer_is_read_with_dash() {
    let o = runway_in(
        &root(),
        &["render", "--platform", "aks", "-f", "crates/runway-cli/tests/fixtures/elasticsearch-only.yaml", "-f", "-"],
        Some("elasticsearch:\n  replicas: 4\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("  replicas: 4\n"));
}

#[test]
fn set_overrides_files_and_files_apply_in_order() {
    let out = render_ok(&[
        "render",
        "--platform",
        "eks",
        "-f",
        "crates/runway-cli/tests/fixtures/elasticsearch-only.yaml",
        "-f",
        "overrides/elasticsearch-replicas.yaml",
        "--set",
        "elasticsearch.replicas=7",
        "--set",
        "elasticsearch.min_master_nodes=4",
    ]);
    assert!(out.contains("  replicas: 7\n"));
    assert!(out.contains("  minAvailable: 4\n"));
}

#[test]
fn explain_shows_the_chain_of_layers() {
    let out = render_ok(&[
        "explain",
        "elasticsearch.replicas",
        "--stack",
        "examples/gke/stack.yaml",
        "--set",
        "elasticsearch.replicas=7",
        "--set",
        "elasticsearch.min_master_nodes=4",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "elasticsearch.replicas = 7");
    assert!(lines[1].contains("default") && lines[1].contains("defaults of elasticsearch"), "{out}");
    assert!(
        lines[2].contains("stack override") && lines[2].contains("overrides/elasticsearch-replicas.yaml:6:13"),
        "{out}"
    );
    assert!(lines[3].contains("=> flag") && lines[3].contains("--set elasticsearch.replicas=7"), "{out}");
}

#[test]
fn explain_reaches_object_fields_and_their_patches() {
    let out = render_ok(&[
        "explain",
        "elasticsearch.sts.spec.template.spec.tolerations",
        "--platform",
        "gke",
        "-f",
        "crates/runway-cli/tests/fixtures/elasticsearch-only.yaml",
        "-f",
        "examples/gke/prod.yaml",
    ]);
    assert!(out.starts_with("elasticsearch.sts.spec.template.spec.tolerations =\n"), "{out}");
    assert!(out.contains("key: dedicated"), "{out}");
    assert!(out.contains("examples/gke/prod.yaml:16:"), "{out}");
    let built = render_ok(&[
        "explain",
        "elasticsearch.sts.spec.replicas",
        "--platform",
        "gke",
        "-f",
        "crates/runway-cli/tests/fixtures/elasticsearch-only.yaml",
    ]);
    assert!(built.contains("built") && built.contains("component `elasticsearch`"), "{built}");
}

#[test]
fn explain_of_a_missing_path_is_an_error() {
    let o = runway(&[
        "explain",
        "elasticsearch.sts.spec.nothing",
        "--platform",
        "gke",
        "-f",
        "crates/runway-cli/tests/fixtures/elasticsearch-only.yaml",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("elasticsearch.sts.spec.nothing: no value at this path"), "{}", stderr(&o));
}

#[test]
fn components_lists_each_with_a_summary_and_describes_one() {
    let all = render_ok(&["components"]);
    assert!(all.lines().any(|l| l.starts_with("elasticsearch ")), "{all}");
    let es = render_ok(&["components", "elasticsearch"]);
    assert!(es.contains("  replicas: integer = 3"), "{es}");
    assert!(es.contains("  sts: StatefulSet"), "{es}");
    let o = runway(&["components", "elasticsaerch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("did you mean `elasticsearch`?"));
}

#[test]
fn schema_is_json_describing_every_component() {
    let schema: serde_json::Value = serde_json::from_str(&render_ok(&["schema"])).expect("schema is JSON");
    let props = schema["properties"].as_object().expect("properties");
    for key in ["platform", "config", "elasticsearch"] {
        assert!(props.contains_key(key), "{key}");
    }
    assert!(props["elasticsearch"]["properties"].get("sts").is_some());
}

#[test]
fn validate_summarises_without_printing_objects() {
    let out = render_ok(&["validate", "--stack", "examples/onprem/stack.yaml"]);
    assert!(out.starts_with("ok: "), "{out}");
    assert!(!out.contains("apiVersion"));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_runway"))
        .args(["render", "--stack", "examples/gke/stack.yaml"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("finishes");
    assert!(out.status.success(), "exit {:?}: {}", out.status, stderr(&out));
}

#[test]
fn explain_redacts_secret_values_at_every_depth() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = dir.path().join("secrets.yaml");
    std::fs::write(&secrets, "grafana:\n  admin_password: s3cr3t-value\n").expect("written");
    let secrets = secrets.to_str().expect("utf-8");
    // base64 of the value, as a Secret's `data` holds it.
    let encoded = "czNjcjN0LXZhbHVl";
    for path in ["grafana.secret", "grafana.secret.data", "grafana.secret.data.admin-password"] {
        let o = runway(&["explain", path, "--stack", "examples/gke/stack.yaml", "--secrets-file", secrets]);
        assert!(o.status.success(), "{path}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(!out.contains("s3cr3t-value") && !out.contains(encoded), "{path}:\n{out}");
        assert!(out.contains("<redacted>"), "{path}:\n{out}");
    }
    // Other objects are shown as they are.
    let o = runway(&["explain", "grafana.grafana.spec.replicas", "--stack", "examples/gke/stack.yaml"]);
    assert!(stdout(&o).starts_with("grafana.grafana.spec.replicas = 1"), "{}", stdout(&o));
}

#[test]
fn secrets_never_reach_stdout_layers_or_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = dir.path().join("secrets.yaml");
    std::fs::write(&secrets, "elasticsearch:\n  unused: s3cr3t-value\n").expect("written");
    let o = runway(&[
        "render",
        "--platform",
        "gke",
        "-f",
        "crates/runway-cli/tests/fixtures/elasticsearch-only.yaml",
        "--secrets-file",
        secrets.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("s3cr3t-value"));
    std::fs::write(&secrets, "elasticsearch:\n  bad: [s3cr3t-value\n").expect("written");
    let o = runway(&[
        "render",
        "--platform",
        "gke",
        "-f",
        "crates/runway-cli/tests/fixtures/elasticsearch-only.yaml",
        "--secrets-file",
        secrets.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("s3cr3t-value"), "{}", stderr(&o));
}

#[test]
fn registry_mirror_rewrites_every_image() {
    let out = render_ok(&[
        "render",
        "--stack",
        "examples/onprem/stack.yaml",
        "--set",
        "config.registry_mirror=mirror.internal:5000",
    ]);
    let images: Vec<&str> = out.lines().filter_map(|l| l.trim().strip_prefix("image: ")).collect();
    assert!(!images.is_empty());
    for i in images {
        assert!(i.starts_with("mirror.internal:5000/"), "{i}");
    }
}

#[test]
fn release_config_map_records_version_and_inputs() {
    let a = render_ok(&["render", "--stack", "examples/gke/stack.yaml"]);
    let b = render_ok(&["render", "--stack", "examples/gke/stack.yaml", "--set", "elasticsearch.retention_days=7"]);
    let digest = |s: &str| s.lines().find_map(|l| l.trim().strip_prefix("inputs-sha256: ")).map(str::to_string);
    assert!(a.contains(&format!("runway-version: {}", env!("CARGO_PKG_VERSION"))));
    assert!(digest(&a).is_some());
    assert_ne!(digest(&a), digest(&b), "a different input gives a different digest");
}

#[test]
fn platform_file_replaces_the_embedded_base() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = dir.path().join("rke2.yaml");
    std::fs::write(&f, "platform:\n  name: rke2\n  storage_class: longhorn\n  storage_classes: [longhorn]\n")
        .expect("written");
    let out = render_ok(&[
        "render",
        "--platform-file",
        f.to_str().expect("utf-8"),
        "-f",
        "crates/runway-cli/tests/fixtures/elasticsearch-only.yaml",
    ]);
    assert!(out.contains("storageClassName: longhorn"));
    assert!(out.contains("platform: rke2"));
}

#[test]
fn bkpr_spelling_reaches_containers_by_name() {
    // BKPR's jsonnet, transcribed: `containers_+: {elasticsearch_logging+: ...}` reaches the
    // container named `elasticsearch-logging`; `env_+` sets a variable by name.
    let layer = "elasticsearch+:\n  sts+:\n    spec+:\n      template+:\n        spec+:\n          containers_+:\n            \
                 elasticsearch_logging+:\n              env_+:\n                ES_EXTRA: 'on'\n              resources+:\n                \
                 limits+:\n                  cpu: '4'\n";
    let o = runway_in(
        &root(),
        &[
            "render",
            "--platform",
            "gke",
            "-f",
            "crates/runway-cli/tests/fixtures/elasticsearch-only.yaml",
            "-f",
            "-",
            "--format",
            "json",
        ],
        Some(layer),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let list: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let sts = list["items"].as_array().expect("items").iter().find(|i| i["kind"] == "StatefulSet").expect("sts");
    let c = &sts["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["name"], "elasticsearch-logging");
    assert_eq!(c["resources"]["limits"]["cpu"], "4");
    assert_eq!(c["resources"]["limits"]["memory"], "2Gi", "merged, not replaced");
    let env = c["env"].as_array().expect("env");
    assert!(env.iter().any(|e| e["name"] == "ES_EXTRA" && e["value"] == "on"));
    assert!(env.iter().any(|e| e["name"] == "ES_JAVA_OPTS"), "existing variables kept");
}

#[test]
fn null_leaves_an_object_out() {
    let out = render_ok(&[
        "render",
        "--platform",
        "gke",
        "-f",
        "crates/runway-cli/tests/fixtures/elasticsearch-only.yaml",
        "--set",
        "elasticsearch.disruptionBudget=null",
    ]);
    assert!(!out.contains("kind: PodDisruptionBudget"));
}

#[test]
fn platform_components_switch_a_component_off_and_typos_are_caught() {
    let out = render_ok(&[
        "render",
        "--platform",
        "gke",
        "-f",
        "crates/runway-cli/tests/fixtures/elasticsearch-only.yaml",
        "--set",
        "platform.components.elasticsearch=false",
    ]);
    assert!(!out.contains("kind: StatefulSet"));
    assert!(out.contains("name: runway-release"));
    let o = runway(&["render", "--platform", "gke", "--set", "platform.components.elasticsaerch=false"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("did you mean `elasticsearch`?"), "{}", stderr(&o));
}

#[test]
fn explain_builds_only_the_component_it_is_asked_about() {
    // The whole runtime needs cluster facts (zone, project) that explaining Elasticsearch
    // does not: only the component named by the path is built.
    let out =
        render_ok(&["explain", "elasticsearch.sts.spec.replicas", "--platform", "gke", "-f", "examples/gke/prod.yaml"]);
    assert!(out.starts_with("elasticsearch.sts.spec.replicas = 3\n"), "{out}");
    // A component's other name explains as its own.
    let out = render_ok(&["explain", "edns.deploy.spec.replicas", "--stack", "examples/gke/stack.yaml"]);
    assert!(out.starts_with("edns.deploy.spec.replicas = 1\n"), "{out}");
}
