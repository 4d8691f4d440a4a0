//! Rendered output of every platform: snapshots (reviewed like code), determinism, and
//! read-back by a YAML 1.1 parser (kubectl's go-yaml reads YAML 1.1; so does PyYAML).

mod common;

use common::*;

/// Every platform's example stack (examples/PLATFORM/stack.yaml): the whole runtime.
const PLATFORMS: &[&str] = &["aks", "eks", "gke", "kind", "onprem"];

fn stack_of(platform: &str) -> String {
    format!("examples/{platform}/stack.yaml")
}

#[test]
fn every_platform_renders_deterministically_and_matches_its_snapshot() {
    let settings = snapshot_settings("render");
    settings.bind(|| {
        for p in PLATFORMS {
            let stack = stack_of(p);
            let args = ["render", "--stack", stack.as_str()];
            let first = render_ok(&args);
            let second = render_ok(&args);
            assert_eq!(first, second, "render is not deterministic for {args:?}");
            insta::assert_snapshot!(format!("{p}__stack"), first);
        }
    });
}

#[test]
fn elasticsearch_alone_matches_its_snapshot_on_every_platform() {
    // The foundation's component on its own, with BKPR's replicas override: small enough
    // to read in a review, and it shows each platform's storage class and zone spread.
    let settings = snapshot_settings("render");
    settings.bind(|| {
        for p in PLATFORMS {
            let out = render_ok(&[
                "render",
                "--platform",
                p,
                "-f",
                "crates/runway-cli/tests/fixtures/elasticsearch-only.yaml",
                "-f",
                "overrides/elasticsearch-replicas.yaml",
            ]);
            insta::assert_snapshot!(format!("{p}__elasticsearch-replicas"), out);
        }
    });
}

/// Switching the ingress controller is one line of a stack file: onprem renders Traefik
/// (its platform default, `onprem__stack`), and `examples/onprem/nginx.yaml` is the same
/// stack with `ingress_controller: nginx`. Every Ingress follows the controller.
#[test]
fn onprem_with_nginx_instead_of_traefik_matches_its_snapshot() {
    let settings = snapshot_settings("render");
    settings.bind(|| {
        let args = ["render", "--stack", "examples/onprem/nginx.yaml"];
        let nginx = render_ok(&args);
        assert_eq!(nginx, render_ok(&args), "render is not deterministic for {args:?}");
        let traefik = render_ok(&["render", "--stack", "examples/onprem/stack.yaml"]);
        for (out, class, absent) in [
            (&nginx, "nginx", "traefik.ingress.kubernetes.io"),
            (&traefik, "traefik", "nginx.ingress.kubernetes.io/auth-url"),
        ] {
            assert!(out.contains(&format!("ingressClassName: {class}")), "Ingresses name `{class}`");
            assert!(!out.contains(absent), "`{absent}` in the {class} render");
        }
        assert!(!nginx.contains("name: traefik\n") && !traefik.contains("name: nginx-ingress-controller\n"));
        insta::assert_snapshot!("onprem__nginx", nginx);
    });
}

/// Monitoring by a Prometheus Operator (kube-prometheus-stack): ServiceMonitors and
/// PodMonitors instead of scrape annotations, BKPR's Prometheus and Grafana off; and (not
/// snapshotted) the gke runtime with both, BKPR's rules as a PrometheusRule too.
#[test]
fn operator_monitoring_matches_its_snapshot_with_and_without_bkprs_prometheus() {
    let settings = snapshot_settings("render");
    settings.bind(|| {
        let args = ["render", "--stack", "examples/operator/stack.yaml"];
        let first = render_ok(&args);
        assert_eq!(first, render_ok(&args), "render is not deterministic for {args:?}");
        assert!(first.contains("kind: ServiceMonitor") && first.contains("kind: PodMonitor"));
        assert!(!first.contains("prometheus.io/scrape"));
        insta::assert_snapshot!("operator__stack", first);
        let both = render_ok(&["render", "--stack", "examples/gke/stack.yaml", "--set", "platform.monitoring=both"]);
        assert!(both.contains("kind: PrometheusRule") && both.contains("prometheus.io/scrape"));
        assert!(both.contains("kind: ServiceMonitor") && both.contains("kind: PodMonitor"));
    });
}

/// Seed 001's observability stack: Prometheus, Alertmanager, the exporters and Grafana in
/// `monitoring`, a MySQL in `storage` (`config.namespaces`).
#[test]
fn observability_example_renders_in_its_two_namespaces_and_matches_its_snapshot() {
    let settings = snapshot_settings("render");
    settings.bind(|| {
        let args = ["render", "--stack", "examples/observability/stack.yaml"];
        let out = render_ok(&args);
        assert_eq!(out, render_ok(&args), "render is not deterministic for {args:?}");
        for ns in ["monitoring", "storage"] {
            assert!(out.contains(&format!("kubernetes.io/metadata.name: {ns}\n")), "no Namespace `{ns}`");
            assert!(out.contains(&format!("  namespace: {ns}\n")), "nothing in `{ns}`");
        }
        assert!(!out.contains("namespace: kubeprod") && !out.contains("namespace: sysdigcloud"));
        assert!(out.contains("cpu: 100m\n            memory: 256Mi"), "the seed's MySQL requests");
        insta::assert_snapshot!("observability__stack", out);
    });
}

/// The Sysdig backend stack on the platforms its issue names, with and without secrets.
#[test]
fn sysdig_backend_matches_its_snapshot_on_eks_gke_and_onprem() {
    let settings = snapshot_settings("render");
    settings.bind(|| {
        for p in ["eks", "gke", "onprem"] {
            let args = ["render", "--platform", p, "--stack", "examples/sdc/stack.yaml"];
            let first = render_ok(&args);
            assert_eq!(first, render_ok(&args), "render is not deterministic for {args:?}");
            insta::assert_snapshot!(format!("sdc__{p}"), first);
        }
    });
}

/// The Sysdig stack with its API behind Traefik (`exposure: Ingress`, the controller set on
/// the command line): the Ingress is Traefik's, and the API's Service tells Traefik to speak
/// HTTPS to the pods through the serversTransport that skips verifying their self-signed
/// certificate. The same stack on nginx carries `backend-protocol: HTTPS` on the Ingress
/// and nothing on the Service.
#[test]
fn sysdig_api_behind_traefik_matches_its_snapshot() {
    let settings = snapshot_settings("render");
    settings.bind(|| {
        let stack =
            ["--platform", "gke", "--stack", "examples/sdc/stack.yaml", "--set", "sdc_backend.exposure=Ingress"];
        let traefik = [&["render"][..], &stack, &["--set", "platform.ingress_controller=traefik"]].concat();
        let out = render_ok(&traefik);
        assert_eq!(out, render_ok(&traefik), "render is not deterministic for {traefik:?}");
        insta::assert_snapshot!("sdc__gke-traefik-ingress", out);

        let objects = |args: &[&str]| -> Vec<serde_json::Value> {
            let json = render_ok(&[args, &["--format", "json"]].concat());
            let list: serde_json::Value = serde_json::from_str(&json).expect("a JSON List");
            list["items"].as_array().expect("items").clone()
        };
        let find = |items: &[serde_json::Value], kind: &str| -> serde_json::Value {
            items
                .iter()
                .find(|o| o["kind"] == kind && o["metadata"]["name"] == "sdc-api")
                .unwrap_or_else(|| panic!("no {kind} sdc-api"))
                .clone()
        };
        let on_traefik = objects(&traefik);
        let svc = find(&on_traefik, "Service")["metadata"]["annotations"].clone();
        assert_eq!(svc["traefik.ingress.kubernetes.io/service.serversscheme"], "https");
        assert_eq!(svc["traefik.ingress.kubernetes.io/service.serverstransport"], "self-signed-backend@file");
        let ing = find(&on_traefik, "Ingress");
        assert_eq!(ing["spec"]["ingressClassName"], "traefik");
        assert_eq!(ing["metadata"]["annotations"]["traefik.ingress.kubernetes.io/router.tls"], "true");

        let on_nginx = objects(&[&["render"][..], &stack, &["--set", "platform.ingress_controller=nginx"]].concat());
        assert!(find(&on_nginx, "Service")["metadata"].get("annotations").is_none());
        let ann = find(&on_nginx, "Ingress")["metadata"]["annotations"].clone();
        assert_eq!(ann["nginx.ingress.kubernetes.io/backend-protocol"], "HTTPS");
        assert_eq!(ann["nginx.ingress.kubernetes.io/proxy-body-size"], "100m");
    });
}

/// Under Traefik no object of any render carries an nginx annotation: every Ingress (and
/// backend Service) follows the chosen controller, whichever component builds it.
#[test]
fn no_traefik_render_carries_an_nginx_annotation() {
    let sdc = ["--stack", "examples/sdc/stack.yaml", "--set", "sdc_backend.exposure=Ingress"];
    let renders: Vec<Vec<&str>> = vec![
        vec!["--stack", "examples/onprem/stack.yaml"],
        vec!["--stack", "examples/onprem/stack.yaml", "--set", "traefik.dashboard.enabled=true"],
        vec!["--stack", "examples/observability/stack.yaml"],
        [&["--platform", "onprem"][..], &sdc].concat(),
        [&["--platform", "gke"][..], &sdc, &["--set", "platform.ingress_controller=traefik"]].concat(),
        [&["--platform", "eks"][..], &sdc, &["--set", "platform.ingress_controller=traefik"]].concat(),
        vec!["--stack", "examples/gke/stack.yaml", "--set", "platform.ingress_controller=traefik"],
    ];
    for args in renders {
        let args = [&["render"][..], &args].concat();
        let out = render_ok(&args);
        assert!(out.contains("ingressClassName: traefik"), "{args:?}: no Traefik Ingress");
        assert!(!out.contains("ingressClassName: nginx"), "{args:?}: an nginx Ingress");
        if let Some(at) = out.find("nginx.ingress.kubernetes.io/") {
            panic!("{args:?}: an nginx annotation: {}", &out[at.saturating_sub(200)..(at + 100).min(out.len())]);
        }
    }
}

/// The runtime's secrets (Grafana, oauth2-proxy, external-dns): no value, plain or base64,
/// reaches an object other than a Secret or anything runway prints on standard error.
#[test]
fn no_runtime_secret_value_reaches_a_non_secret_object_or_stderr() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("secrets.yaml");
    let values = [
        ("grafana", "admin_password", "gr4fana-Adm1n-pw"),
        ("grafana", "secret_key", "gr4fana-s1gning-key"),
        ("oauth2_proxy", "client_id", "0auth-cl1ent-id"),
        ("oauth2_proxy", "client_secret", "0auth-cl1ent-secret"),
        ("oauth2_proxy", "cookie_secret", "c00kie-secret-0123456789abcdefgh"),
        ("external_dns", "credentials.json", "{\"private_key\": \"g00gle-k3y\"}"),
    ];
    let mut text = String::new();
    for component in ["grafana", "oauth2_proxy", "external_dns"] {
        text.push_str(&format!("{component}:\n"));
        for (_, k, v) in values.iter().filter(|(c, _, _)| *c == component) {
            text.push_str(&format!("  {k}: {}\n", serde_json::to_string(v).expect("json string")));
        }
    }
    std::fs::write(&file, text).expect("written");
    let file = file.to_str().expect("utf-8");
    for format in ["json", "yaml"] {
        let o = runway(&["render", "--stack", "examples/gke/stack.yaml", "--secrets-file", file, "--format", format]);
        assert!(o.status.success(), "{}", stderr(&o));
        let err = stderr(&o);
        let out = stdout(&o);
        let needles: Vec<String> = values
            .iter()
            .flat_map(|(_, _, v)| [v.to_string(), base64::engine::general_purpose::STANDARD.encode(v)])
            .collect();
        for n in &needles {
            assert!(!err.contains(n.as_str()), "a secret value on stderr");
        }
        if format == "json" {
            let list: serde_json::Value = serde_json::from_str(&out).expect("json");
            let items = list["items"].as_array().expect("items");
            let secrets = items.iter().filter(|i| i["kind"] == "Secret").count();
            assert!(secrets >= 3, "the Secrets were rendered from the values");
            for item in items.iter().filter(|i| i["kind"] != "Secret") {
                let text = item.to_string();
                for n in &needles {
                    assert!(
                        !text.contains(n.as_str()),
                        "a secret value is in {} `{}`",
                        item["kind"],
                        item["metadata"]["name"]
                    );
                }
            }
        }
    }
}

#[test]
fn no_secret_value_reaches_anything_but_a_secret() {
    // Every value of the example secrets file, rendered through every Sysdig component:
    // none may appear in a ConfigMap, an annotation, or any object other than a Secret.
    let secrets: serde_json::Value = serde_yaml::from_str(
        &std::fs::read_to_string(root().join("examples/sdc/secrets.example.yaml")).expect("secrets example"),
    )
    .expect("YAML");
    let values: Vec<String> = secrets
        .as_object()
        .expect("mapping")
        .values()
        .flat_map(|m| m.as_object().expect("mapping").values().map(|v| v.as_str().expect("string").to_string()))
        .collect();
    assert!(values.len() >= 10);
    let out = render_ok(&[
        "render",
        "--platform",
        "eks",
        "--stack",
        "examples/sdc/stack.yaml",
        "--secrets-file",
        "examples/sdc/secrets.example.yaml",
        "--format",
        "json",
    ]);
    let list: serde_json::Value = serde_json::from_str(&out).expect("json");
    let mut secrets_rendered = 0;
    for item in list["items"].as_array().expect("items") {
        if item["kind"] == "Secret" {
            secrets_rendered += 1;
            continue;
        }
        let text = item.to_string();
        for v in &values {
            assert!(!text.contains(v.as_str()), "a secret value is in {} `{}`", item["kind"], item["metadata"]["name"]);
        }
        if item["kind"] == "ConfigMap" {
            for key in item["data"].as_object().map(|m| m.keys().collect::<Vec<_>>()).unwrap_or_default() {
                let last = key.rsplit(['.', '-', '_']).next().unwrap_or(key).to_lowercase();
                assert!(
                    !["password", "token", "secret", "license", "apikey"].contains(&last.as_str()),
                    "ConfigMap `{}` has a key `{key}` that names a secret",
                    item["metadata"]["name"]
                );
            }
        }
    }
    assert!(secrets_rendered >= 5, "the secrets file renders the Secrets ({secrets_rendered})");
}

#[test]
fn every_override_in_overrides_renders_on_gke() {
    // Each file of overrides/ is a documented override (BKPR's seed examples among them);
    // its own component test checks its effect, this one that it renders in a full stack.
    let mut files: Vec<String> = std::fs::read_dir(root().join("overrides"))
        .expect("overrides/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    let base = render_ok(&["render", "--stack", "examples/gke/stack.yaml"]);
    for f in files {
        let path = format!("overrides/{f}");
        let out = render_ok(&["render", "--stack", "examples/gke/stack.yaml", "-f", &path]);
        assert_ne!(out, base, "{path} changes nothing");
    }
}

#[test]
fn yaml_reads_back_in_yaml_1_1_as_the_json_output() {
    for p in PLATFORMS {
        let stack = stack_of(p);
        let yaml = render_ok(&["render", "--stack", &stack]);
        let json: serde_json::Value =
            serde_json::from_str(&render_ok(&["render", "--stack", &stack, "--format", "json"]))
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
