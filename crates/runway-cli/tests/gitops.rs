//! Fleets and GitOps as their users run them: `runway fleet` on the example fleet, the
//! Argo CD plugin's commands run the way argo-cd's cmp-server runs them, and
//! `--kustomization` output read by the real `kubectl kustomize`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

fn docs(yaml: &str) -> Vec<serde_json::Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| serde::Deserialize::deserialize(d).expect("a YAML document"))
        .filter(|v: &serde_json::Value| !v.is_null())
        .collect()
}

/// Every file under `dir`, relative path and bytes, sorted.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("readable dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push((p.strip_prefix(dir).expect("below").to_path_buf(), std::fs::read(&p).expect("file")));
            }
        }
    }
    out.sort();
    out
}

fn fleet_with_threads(out: &Path, threads: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_runway"))
        .args(["fleet", "examples/fleet/fleet.yaml", "--output-dir"])
        .arg(out)
        .current_dir(root())
        .env("RAYON_NUM_THREADS", threads)
        .stdin(Stdio::null())
        .output()
        .expect("runway runs")
}

#[test]
fn example_fleet_renders_every_cluster_the_same_with_one_thread_or_four() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (one, four) = (tmp.path().join("one"), tmp.path().join("four"));
    let o = fleet_with_threads(&one, "1");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("rendered 5 clusters: "), "summary on stderr: {}", stderr(&o));
    let o = fleet_with_threads(&four, "4");
    assert!(o.status.success(), "{}", stderr(&o));
    let (a, b) = (tree(&one), tree(&four));
    assert!(a == b, "the thread count changed the output");
    let mut clusters: Vec<String> =
        std::fs::read_dir(&one).expect("dir").map(|e| e.expect("entry").file_name().to_string_lossy().into()).collect();
    clusters.sort();
    assert_eq!(clusters, ["lab-onprem", "prod-eu-gke", "prod-us-eks", "staging-eu-gke", "staging-us-eks"]);
    // The layout of `render --output-dir`, and the groups' layers applied.
    let sts =
        |c: &str| std::fs::read_to_string(one.join(c).join("prometheus/statefulset-prometheus.yaml")).expect("sts");
    assert!(sts("prod-eu-gke").contains("--storage.tsdb.retention.time=90d"), "prod's retention");
    assert!(sts("staging-us-eks").contains("--storage.tsdb.retention.time=7d"), "staging's retention");
    let single = render_ok(&["fleet", "examples/fleet/fleet.yaml", "--cluster", "prod-us-eks"]);
    let files: Vec<serde_json::Value> = a
        .iter()
        .filter(|(p, _)| p.starts_with("prod-us-eks"))
        .flat_map(|(_, t)| docs(std::str::from_utf8(t).expect("utf-8")))
        .collect();
    let mut streamed = docs(&single);
    let mut written = files;
    let key = |v: &serde_json::Value| v.to_string();
    streamed.sort_by_key(key);
    written.sort_by_key(key);
    assert_eq!(streamed, written, "`--cluster` prints what the fleet writes for it");
}

#[test]
fn a_failing_cluster_is_named_and_nothing_is_written() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(tmp.path().join("bad.yaml"), "prometheus:\n  retension_days: 3\n").expect("layer");
    std::fs::write(
        tmp.path().join("fleet.yaml"),
        "groups:\n  lab: {layers: [bad.yaml]}\nclusters:\n  - {name: good, platform: kind}\n  - {name: broken, platform: kind, groups: [lab]}\n",
    )
    .expect("fleet");
    let out = tmp.path().join("out");
    let o = runway_in(tmp.path(), &["fleet", "fleet.yaml", "--output-dir", "out"], None);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.starts_with("error: cluster `broken`: bad.yaml:2:3: prometheus.retension_days: unknown parameter"),
        "{err}"
    );
    assert!(err.contains("cluster `broken` is defined at fleet.yaml:5:6"), "{err}");
    assert!(err.contains("1 of 2 clusters failed; nothing was written"), "{err}");
    assert!(!out.exists(), "not even the cluster that rendered");
}

#[test]
fn kustomization_is_read_by_kubectl_kustomize_as_the_same_objects() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("deploy");
    let args = ["render", "--stack", "examples/gke/stack.yaml", "--flux-safe", "--applyset", "runway"];
    let stream = render_ok(&args);
    let mut with_dir = args.to_vec();
    with_dir.extend(["--kustomization", "--output-dir", dir.to_str().expect("utf-8")]);
    let o = runway(&with_dir);
    assert!(o.status.success(), "{}", stderr(&o));
    let k = Command::new("kubectl").arg("kustomize").arg(&dir).output().expect("kubectl is installed (CI needs it)");
    assert!(k.status.success(), "{}", String::from_utf8_lossy(&k.stderr));
    // kustomize writes the CRDs' `maximum: 65535.0` as `65535`: the same number.
    let built: Vec<_> = docs(&String::from_utf8(k.stdout).expect("utf-8")).into_iter().map(numbers_as_floats).collect();
    let rendered: Vec<_> = docs(&stream).into_iter().map(numbers_as_floats).collect();
    assert_eq!(built.len(), rendered.len(), "same number of objects");
    for (b, r) in built.iter().zip(&rendered) {
        assert_eq!(b, r, "same objects, in the same (apply) order");
    }
}

fn numbers_as_floats(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) => n.as_f64().map_or(Value::Number(n), |f| serde_json::json!(f)),
        Value::Array(a) => Value::Array(a.into_iter().map(numbers_as_floats).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, numbers_as_floats(v))).collect()),
        other => other,
    }
}

/// The plugin's `spec.generate` or `spec.discover.find` command from plugin.yaml.
fn plugin_command(which: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join("examples/argocd/plugin.yaml")).expect("plugin.yaml");
    let v: serde_json::Value = serde_yaml::from_str(&text).expect("plugin.yaml parses");
    let spec = &v["spec"][which];
    let spec = if which == "discover" { &spec["find"] } else { spec };
    let mut cmd: Vec<String> = serde_json::from_value(spec["command"].clone()).expect("command");
    if let Some(args) = spec.get("args") {
        cmd.extend(serde_json::from_value::<Vec<String>>(args.clone()).expect("args"));
    }
    cmd
}

/// Runs a plugin command as argo-cd's cmp-server does: in the app's path, with only the
/// environment it passes (ARGOCD_APP_* and the app's ARGOCD_ENV_* parameters), no stdin
/// and no terminal; `runway` on PATH.
fn run_as_cmp_server(cmd: &[String], app_path: &str, env: &[(&str, &str)]) -> std::process::Output {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_runway")).parent().expect("bin dir").to_path_buf();
    let mut c = Command::new(&cmd[0]);
    c.args(&cmd[1..])
        .current_dir(root().join(app_path))
        .env_clear()
        .env("PATH", format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()))
        .env("ARGOCD_APP_NAME", "runway-test")
        .env("ARGOCD_APP_NAMESPACE", "kubeprod")
        .env("ARGOCD_APP_SOURCE_PATH", app_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the plugin command runs")
}

fn assert_only_objects(o: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let objects = docs(std::str::from_utf8(&o.stdout).expect("utf-8"));
    assert!(objects.len() > 50);
    for v in &objects {
        assert!(v["apiVersion"].is_string() && v["kind"].is_string() && v["metadata"]["name"].is_string(), "{v}");
    }
    assert!(!o.stderr.is_empty(), "runway's notes go to stderr");
    objects
}

#[test]
fn argocd_plugin_generates_a_stack_with_overlays_as_the_cmp_server_runs_it() {
    let generate = plugin_command("generate");
    let o = run_as_cmp_server(
        &generate,
        "examples/gke",
        &[(
            "ARGOCD_ENV_RUNWAY_OVERLAYS",
            "../../overrides/nginx_ingress-hpa.yaml,../../overrides/cert_manager-staging.yaml",
        )],
    );
    let objects = assert_only_objects(&o);
    let hpa = objects
        .iter()
        .find(|v| v["kind"] == "HorizontalPodAutoscaler" && v["metadata"]["name"] == "nginx-ingress-controller")
        .expect("nginx HPA");
    assert_eq!(hpa["spec"]["maxReplicas"], 10, "the overlay applied");
    assert_eq!(hpa["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"], "1");
    let ns = objects.iter().find(|v| v["kind"] == "Namespace").expect("namespace");
    assert_eq!(ns["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"], "-2");
}

#[test]
fn argocd_plugin_generates_one_cluster_of_a_fleet() {
    let generate = plugin_command("generate");
    let o = run_as_cmp_server(
        &generate,
        "examples/fleet",
        &[("ARGOCD_ENV_RUNWAY_FLEET", "fleet.yaml"), ("ARGOCD_ENV_RUNWAY_CLUSTER", "staging-eu-gke")],
    );
    let objects = assert_only_objects(&o);
    assert!(objects.iter().any(|v| v["kind"] == "Ingress"));
    let failed = run_as_cmp_server(&generate, "examples/fleet", &[("ARGOCD_ENV_RUNWAY_CLUSTER", "staging-eu")]);
    assert!(!failed.status.success() && failed.stdout.is_empty());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("did you mean `staging-eu-gke`?"));
}

#[test]
fn argocd_plugin_discovers_stack_and_fleet_paths_only() {
    let find = plugin_command("discover");
    for (path, found) in [("examples/gke", true), ("examples/fleet", true), ("overrides", false)] {
        let o = run_as_cmp_server(&find, path, &[]);
        assert_eq!(!o.stdout.is_empty(), found, "{path}");
    }
}

#[test]
fn applicationset_has_one_application_per_cluster_of_the_fleet() {
    let read = |p: &str| -> serde_json::Value {
        serde_yaml::from_str(&std::fs::read_to_string(root().join(p)).expect("file")).expect("yaml")
    };
    let set = read("examples/argocd/applicationset.yaml");
    let fleet = read("examples/fleet/fleet.yaml");
    let listed: Vec<&serde_json::Value> = set["spec"]["generators"][0]["list"]["elements"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| &e["cluster"])
        .collect();
    let clusters: Vec<&serde_json::Value> =
        fleet["clusters"].as_array().expect("clusters").iter().map(|c| &c["name"]).collect();
    assert_eq!(listed, clusters);
    assert_eq!(set["spec"]["template"]["spec"]["source"]["path"], "examples/fleet");
    assert_eq!(set["spec"]["template"]["spec"]["source"]["plugin"]["name"], "runway-v1");
}
