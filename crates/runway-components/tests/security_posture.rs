//! The security defaults of every pod of every example stack (issue 5, part 5): non-root,
//! RuntimeDefault seccomp, all capabilities dropped (what is added back is explained),
//! no privilege escalation, requests and limits for CPU and memory on every container
//! (init containers too), images pinned by tag, an API token only where the pod's
//! declared flows reach the API server, and Namespaces labelled for the strictest Pod
//! Security level their pods meet.

use std::path::Path;

use runway_components::common::pod::SECURITY_EXCEPTION_ANNOTATION;
use runway_components::{files, Rendered, Stack, ALL};
use serde_json::Value as Json;

fn render(dir: &str, platform: Option<&str>) -> Rendered {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut stack = Stack::new();
    if let Some(p) = platform {
        stack.platform(p, "test").expect("platform");
    }
    files::load_stack_file(&mut stack, &root.join("examples").join(dir).join("stack.yaml")).expect("stack file");
    stack.render(ALL).unwrap_or_else(|e| panic!("{dir}: {}", e.render()))
}

fn examples() -> Vec<(String, Rendered)> {
    let mut out: Vec<(String, Rendered)> =
        ["aks", "eks", "gke", "kind", "onprem"].iter().map(|p| (p.to_string(), render(p, None))).collect();
    for p in ["eks", "gke", "onprem"] {
        out.push((format!("sdc/{p}"), render("sdc", Some(p))));
    }
    out
}

#[test]
fn every_container_is_locked_down_or_its_pod_says_why() {
    for (name, r) in examples() {
        for o in &r.objects {
            let Some(t) =
                o.value.pointer("/spec/template").or_else(|| o.value.pointer("/spec/jobTemplate/spec/template"))
            else {
                continue;
            };
            let what = format!("{name}: {} {}", o.kind(), o.name());
            let spec = &t["spec"];
            let exception =
                t.pointer("/metadata/annotations").and_then(|a| a.get(SECURITY_EXCEPTION_ANNOTATION)).is_some();
            let pod_sc = &spec["securityContext"];
            for c in ["containers", "initContainers"]
                .iter()
                .flat_map(|k| spec.get(*k).and_then(Json::as_array).into_iter().flatten())
            {
                let cname = c["name"].as_str().unwrap_or("");
                let sc = &c["securityContext"];
                let get = |k: &str| sc.get(k).or_else(|| pod_sc.get(k));
                // Requests and limits for CPU and memory, everywhere.
                for kind in ["requests", "limits"] {
                    for res in ["cpu", "memory"] {
                        assert!(c["resources"][kind].get(res).is_some(), "{what}/{cname}: no {kind}.{res}");
                    }
                }
                // Pinned by a tag (a digest may follow), never `latest`.
                let image = c["image"].as_str().expect("image");
                let name_tag = image.split('@').next().unwrap_or(image);
                let tag = name_tag.rsplit_once(':').filter(|(n, _)| !n.ends_with('/') && !n.is_empty());
                assert!(
                    tag.is_some_and(|(_, t)| t != "latest" && !t.contains('/')),
                    "{what}/{cname}: image `{image}` is not pinned by a release tag"
                );
                let pull = c["imagePullPolicy"].as_str();
                assert_eq!(pull, Some(runway_components::images::pull_policy(image)), "{what}/{cname}");
                if exception {
                    continue;
                }
                assert_eq!(get("runAsNonRoot"), Some(&Json::Bool(true)), "{what}/{cname}: may run as root");
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}/{cname}: privilege escalation");
                assert_eq!(
                    get("seccompProfile").and_then(|s| s.get("type")).and_then(Json::as_str),
                    Some("RuntimeDefault"),
                    "{what}/{cname}: seccomp"
                );
                assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]), "{what}/{cname}: capabilities");
                for add in sc["capabilities"]["add"].as_array().into_iter().flatten() {
                    assert_eq!(add, "NET_BIND_SERVICE", "{what}/{cname}: adds {add} without a security exception");
                }
            }
        }
    }
}

#[test]
fn only_pods_that_declare_the_api_server_mount_a_token() {
    for (name, r) in examples() {
        let api: Vec<String> =
            r.flows.iter().filter(|(_, f)| f.talks_to_api()).map(|(c, f)| format!("{c}/{}", f.workload)).collect();
        for o in &r.objects {
            let Some(spec) = o
                .value
                .pointer("/spec/template/spec")
                .or_else(|| o.value.pointer("/spec/jobTemplate/spec/template/spec"))
            else {
                continue;
            };
            let automount = spec.get("automountServiceAccountToken").and_then(Json::as_bool);
            // The ServiceAccount may switch it off too.
            let sa = spec.get("serviceAccountName").and_then(Json::as_str).unwrap_or("default");
            let sa_off = r.objects.iter().any(|s| {
                s.kind() == "ServiceAccount"
                    && s.namespace() == o.namespace()
                    && s.name() == sa
                    && s.value.get("automountServiceAccountToken") == Some(&Json::Bool(false))
            });
            let mounted = automount.unwrap_or(!sa_off);
            let projected = spec["volumes"].as_array().into_iter().flatten().any(|v| {
                v.pointer("/projected/sources")
                    .and_then(Json::as_array)
                    .is_some_and(|s| s.iter().any(|x| x.get("serviceAccountToken").is_some()))
            });
            let key = format!("{}/{}", o.component, o.key);
            if mounted || projected {
                assert!(api.contains(&key), "{name}: {key} gets an API token but declares no API flow");
            }
        }
    }
}

#[test]
fn namespaces_get_the_strictest_pod_security_level_their_pods_meet() {
    // kubeprod: fluentd reads host paths and node-exporter uses the host's network and
    // PIDs (privileged); sysdigcloud: the backend image runs as root (baseline);
    // custom-metrics: the adapter meets `restricted`; metallb-system: the speaker uses the
    // host's network (privileged).
    let want = [
        ("kubeprod", "privileged"),
        ("sysdigcloud", "baseline"),
        ("custom-metrics", "restricted"),
        ("metallb-system", "privileged"),
    ];
    let mut seen = 0;
    for (name, r) in examples() {
        for ns in r.objects.iter().filter(|o| o.kind() == "Namespace") {
            let level = ns.value.pointer("/metadata/labels/pod-security.kubernetes.io~1enforce").and_then(Json::as_str);
            let expected = want.iter().find(|(n, _)| *n == ns.name()).map(|(_, l)| *l);
            assert_eq!(level, expected, "{name}: namespace {}", ns.name());
            for mode in ["audit", "warn"] {
                let l = ns.value["metadata"]["labels"][format!("pod-security.kubernetes.io/{mode}")].as_str();
                assert_eq!(l, level, "{name}: {mode} of {}", ns.name());
            }
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} namespaces seen");
}
