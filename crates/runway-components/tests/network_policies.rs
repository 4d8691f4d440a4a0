//! The rendered NetworkPolicies let every example stack work, and nothing more: a small
//! evaluator of NetworkPolicy semantics (written here, independently of the generator in
//! `runway_components::network`) checks each flow a component declares, every Ingress
//! backend and scrape target, DNS for every pod, and that every other pod-to-pod
//! connection and every undeclared connection from outside is denied.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use runway_components::network::Egress;
use runway_components::{files, Rendered, Stack, ALL};
use serde_json::Value as Json;

type Labels = BTreeMap<String, String>;

/// Every example stack: each platform's, and the Sysdig stack on two platforms.
fn examples() -> Vec<(String, Rendered)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    let cases: &[(&str, Option<&str>)] = &[
        ("aks", None),
        ("eks", None),
        ("gke", None),
        ("kind", None),
        ("onprem", None),
        ("sdc", Some("gke")),
        ("sdc", Some("onprem")),
    ];
    for (dir, platform) in cases {
        let mut stack = Stack::new();
        if let Some(p) = platform {
            stack.platform(p, "test").expect("platform");
        }
        files::load_stack_file(&mut stack, &root.join("examples").join(dir).join("stack.yaml")).expect("stack file");
        let r = stack.render(ALL).unwrap_or_else(|e| panic!("{dir}: {}", e.render()));
        out.push((format!("{dir}/{}", platform.unwrap_or("")), r));
    }
    out
}

fn strings(v: Option<&Json>) -> Labels {
    v.and_then(Json::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

/// A pod (by its template) or something outside the cluster's pods.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum End {
    Pod { ns: String, labels: Labels },
    External,
}

#[derive(Clone, Debug)]
struct Pod {
    workload: String,
    ns: String,
    labels: Labels,
    host_network: bool,
    /// (protocol, port, name)
    ports: Vec<(String, i64, String)>,
    annotations: Labels,
}

fn pods(objects: &[runway_core::Object]) -> Vec<Pod> {
    objects
        .iter()
        .filter_map(|o| {
            let t = o.value.pointer("/spec/template").or_else(|| o.value.pointer("/spec/jobTemplate/spec/template"))?;
            let spec = &t["spec"];
            let ports = ["containers", "initContainers"]
                .iter()
                .flat_map(|k| spec.get(*k).and_then(Json::as_array).into_iter().flatten())
                .flat_map(|c| c.get("ports").and_then(Json::as_array).into_iter().flatten())
                .map(|p| {
                    (
                        p.get("protocol").and_then(Json::as_str).unwrap_or("TCP").to_string(),
                        p["containerPort"].as_i64().unwrap_or(0),
                        p.get("name").and_then(Json::as_str).unwrap_or("").to_string(),
                    )
                })
                .collect();
            Some(Pod {
                workload: format!("{}/{}", o.component, o.key),
                ns: o.namespace().to_string(),
                labels: strings(t.pointer("/metadata/labels")),
                host_network: spec.get("hostNetwork").and_then(Json::as_bool) == Some(true),
                ports,
                annotations: strings(t.pointer("/metadata/annotations")),
            })
        })
        .collect()
}

fn selects(sel: Option<&Json>, labels: &Labels) -> bool {
    // An absent or empty selector selects everything; only matchLabels is used by runway.
    let Some(sel) = sel else { return true };
    assert!(sel.get("matchExpressions").is_none(), "the evaluator reads matchLabels only");
    strings(sel.get("matchLabels")).iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn peer_matches(peer: &Json, policy_ns: &str, other: &End) -> bool {
    if peer.get("ipBlock").is_some() {
        // Counted as outside the cluster's pods; `pod_reachable_via_ip_block` is separate.
        return *other == End::External;
    }
    let End::Pod { ns, labels } = other else { return false };
    let ns_ok = match peer.get("namespaceSelector") {
        Some(s) => selects(Some(s), &Labels::from([("kubernetes.io/metadata.name".to_string(), ns.clone())])),
        None => ns == policy_ns,
    };
    ns_ok && selects(peer.get("podSelector"), labels)
}

fn port_matches(ports: Option<&Json>, proto: &str, port: i64) -> bool {
    let Some(ps) = ports.and_then(Json::as_array) else { return true };
    ps.is_empty()
        || ps.iter().any(|p| {
            p.get("protocol").and_then(Json::as_str).unwrap_or("TCP") == proto
                && p.get("port").is_none_or(|n| n.as_i64() == Some(port))
        })
}

struct Policies<'a>(Vec<&'a Json>);

impl Policies<'_> {
    fn of(objects: &[runway_core::Object]) -> Policies<'_> {
        Policies(objects.iter().filter(|o| o.kind() == "NetworkPolicy").map(|o| &*o.value).collect())
    }

    /// One direction: `Ingress` at `at` from `other`, or `Egress` from `at` to `other`.
    fn admits(&self, dir: &str, at: &End, other: &End, proto: &str, port: i64) -> bool {
        let End::Pod { ns, labels } = at else { return true };
        let selecting: Vec<&&Json> = self
            .0
            .iter()
            .filter(|p| {
                p["metadata"]["namespace"].as_str() == Some(ns)
                    && selects(p.pointer("/spec/podSelector"), labels)
                    && p.pointer("/spec/policyTypes")
                        .and_then(Json::as_array)
                        .is_some_and(|t| t.iter().any(|x| x == dir))
            })
            .collect();
        if selecting.is_empty() {
            return true;
        }
        let (rules_key, peers_key) = if dir == "Ingress" { ("ingress", "from") } else { ("egress", "to") };
        selecting.iter().any(|p| {
            p.pointer(&format!("/spec/{rules_key}")).and_then(Json::as_array).into_iter().flatten().any(|r| {
                let peer_ok = match r.get(peers_key).and_then(Json::as_array) {
                    None => true,
                    Some(peers) => peers.iter().any(|x| peer_matches(x, ns, other)),
                };
                peer_ok && port_matches(r.get("ports"), proto, port)
            })
        })
    }

    fn allowed(&self, src: &End, dst: &End, proto: &str, port: i64) -> bool {
        self.admits("Egress", src, dst, proto, port) && self.admits("Ingress", dst, src, proto, port)
    }
}

fn end(p: &Pod) -> End {
    End::Pod { ns: p.ns.clone(), labels: p.labels.clone() }
}

/// The pods and ports behind a Service port (by number or name), resolved from the
/// rendered Service and the pods' container ports.
fn behind_service<'a>(
    objects: &[runway_core::Object],
    all: &'a [Pod],
    ns: &str,
    name: &str,
    port: &Json,
) -> Vec<(&'a Pod, String, i64)> {
    let svc = objects
        .iter()
        .find(|o| o.kind() == "Service" && o.namespace() == ns && o.name() == name)
        .unwrap_or_else(|| panic!("no Service {ns}/{name}"));
    let sel = svc.value.pointer("/spec/selector").cloned().unwrap_or(Json::Null);
    let sp = svc.value["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| if port.is_string() { p.get("name") == Some(port) } else { p.get("port") == Some(port) })
        .unwrap_or_else(|| panic!("Service {ns}/{name} has no port {port}"));
    let target = sp.get("targetPort").unwrap_or(&sp["port"]);
    let proto = sp.get("protocol").and_then(Json::as_str).unwrap_or("TCP").to_string();
    all.iter()
        .filter(|p| p.ns == ns && !sel.is_null() && selects(Some(&serde_json::json!({"matchLabels": sel})), &p.labels))
        .filter_map(|p| {
            let n = match target {
                Json::String(s) => p.ports.iter().find(|(_, _, n)| n == s).map(|(_, n, _)| *n)?,
                n => n.as_i64()?,
            };
            Some((p, proto.clone(), n))
        })
        .collect()
}

#[test]
fn every_declared_flow_backend_scrape_and_dns_lookup_is_allowed_and_nothing_else() {
    for (name, r) in examples() {
        let objects = &r.objects;
        let all = pods(objects);
        let pol = Policies::of(objects);
        // (source workload, destination workload, protocol, port) the stack needs.
        let mut expected: BTreeSet<(String, String, String, i64)> = BTreeSet::new();
        let mut open_ports: BTreeSet<(String, String, i64)> = BTreeSet::new();
        let mut need = |src: &Pod, dst: &Pod, proto: &str, port: i64, why: &str| {
            assert!(
                pol.allowed(&end(src), &end(dst), proto, port),
                "{name}: {} → {} {proto} {port} ({why}) is denied",
                src.workload,
                dst.workload
            );
            expected.insert((src.workload.clone(), dst.workload.clone(), proto.to_string(), port));
        };
        let dns = End::Pod {
            ns: "kube-system".into(),
            labels: Labels::from([("k8s-app".to_string(), "kube-dns".to_string())]),
        };
        for p in all.iter().filter(|p| !p.host_network) {
            for proto in ["UDP", "TCP"] {
                assert!(pol.allowed(&end(p), &dns, proto, 53), "{name}: {} cannot resolve names ({proto})", p.workload);
            }
        }
        for (component, f) in &r.flows {
            let Some(src) = all.iter().find(|p| p.workload == format!("{component}/{}", f.workload)) else { continue };
            for e in &f.egress {
                match e {
                    Egress::Service { namespace, name: svc, port } => {
                        let ns = namespace.as_deref().unwrap_or(&src.ns);
                        if !objects.iter().any(|o| o.kind() == "Service" && o.namespace() == ns && o.name() == svc) {
                            continue; // optional Service (Sentinel in standalone mode)
                        }
                        let behind = behind_service(objects, &all, ns, svc, &Json::from(*port));
                        assert!(!behind.is_empty(), "{name}: Service {ns}/{svc} port {port} has no pods");
                        for (dst, proto, n) in behind {
                            if !src.host_network {
                                need(src, dst, &proto, n, &format!("declared: Service {svc}:{port}"));
                            } else {
                                assert!(pol.admits("Ingress", &end(dst), &end(src), &proto, n));
                            }
                        }
                    }
                    // A pod on the host network is subject to no policy: it reaches the API
                    // server as its node does.
                    Egress::ApiServer if src.host_network => {}
                    Egress::ApiServer => {
                        for port in [443, 6443] {
                            assert!(
                                pol.allowed(&end(src), &End::External, "TCP", port),
                                "{name}: {} API",
                                src.workload
                            );
                        }
                    }
                    Egress::Internet { ports, .. } | Egress::Nodes { ports, .. } => {
                        for p in ports {
                            let proto = format!("{:?}", p.0).to_uppercase();
                            assert!(pol.allowed(&end(src), &End::External, &proto, i64::from(p.1)));
                        }
                    }
                    Egress::ScrapeTargets => {
                        for dst in all.iter().filter(|d| {
                            !d.host_network
                                && d.annotations.get("prometheus.io/scrape").map(String::as_str) == Some("true")
                        }) {
                            let port: i64 = dst.annotations["prometheus.io/port"].parse().expect("port annotation");
                            need(src, dst, "TCP", port, "scrape");
                        }
                    }
                    Egress::IngressBackends => {
                        for ing in objects.iter().filter(|o| o.kind() == "Ingress") {
                            for path in ing.value["spec"]["rules"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .flat_map(|r| r["http"]["paths"].as_array().into_iter().flatten())
                            {
                                let b = &path["backend"]["service"];
                                let port = b["port"].get("name").or_else(|| b["port"].get("number")).expect("port");
                                let svc = b["name"].as_str().expect("name");
                                for (dst, proto, n) in behind_service(objects, &all, ing.namespace(), svc, port) {
                                    need(src, dst, &proto, n, &format!("Ingress {}", ing.name()));
                                }
                            }
                        }
                    }
                    Egress::Peers(ports) => {
                        for p in ports {
                            let proto = format!("{:?}", p.0).to_uppercase();
                            need(src, src, &proto, i64::from(p.1), "peers");
                        }
                    }
                }
            }
            for i in &f.ingress {
                let runway_components::network::Ingress::Anywhere { ports, .. } = i;
                for p in ports {
                    let proto = format!("{:?}", p.0).to_uppercase();
                    assert!(pol.allowed(&End::External, &end(src), &proto, i64::from(p.1)));
                    open_ports.insert((src.workload.clone(), proto, i64::from(p.1)));
                }
            }
        }
        // Everything else is denied: every pod to every container port of every other
        // pod, and from outside the cluster's pods.
        let mut checked = 0;
        for dst in all.iter().filter(|p| !p.host_network) {
            for (proto, port, _) in &dst.ports {
                let from_outside = open_ports.contains(&(dst.workload.clone(), proto.clone(), *port));
                assert_eq!(
                    pol.allowed(&End::External, &end(dst), proto, *port),
                    from_outside,
                    "{name}: outside → {} {proto} {port}",
                    dst.workload
                );
                for src in all.iter().filter(|p| !p.host_network) {
                    let want = expected.contains(&(src.workload.clone(), dst.workload.clone(), proto.clone(), *port));
                    assert_eq!(
                        pol.allowed(&end(src), &end(dst), proto, *port),
                        want,
                        "{name}: {} → {} {proto} {port}",
                        src.workload,
                        dst.workload
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 50, "{name}: only {checked} pairs checked");
    }
}

#[test]
fn every_pod_has_exactly_one_policy_and_every_namespace_but_the_systems_a_default_deny() {
    for (name, r) in examples() {
        let all = pods(&r.objects);
        let pol: Vec<&runway_core::Object> = r.objects.iter().filter(|o| o.kind() == "NetworkPolicy").collect();
        for p in all.iter().filter(|p| !p.host_network) {
            let mine: Vec<&str> = pol
                .iter()
                .filter(|o| {
                    o.namespace() == p.ns
                        && o.name() != "default-deny"
                        && selects(o.value.pointer("/spec/podSelector"), &p.labels)
                })
                .map(|o| o.name())
                .collect();
            assert_eq!(mine.len(), 1, "{name}: {} is selected by {mine:?}", p.workload);
            // runway never denies all of a system namespace (kube-dns and the cluster's own
            // add-ons live there): its pods there (kured, node-problem-detector) are
            // isolated by their own policy, which names both directions.
            if runway_components::namespaces::SYSTEM_NAMESPACES.contains(&p.ns.as_str()) {
                let own = pol.iter().find(|o| o.name() == mine[0] && o.namespace() == p.ns).expect("its policy");
                assert_eq!(own.value["spec"]["policyTypes"], serde_json::json!(["Ingress", "Egress"]), "{name}");
                assert!(
                    pol.iter().all(|o| o.namespace() != p.ns || o.name() != "default-deny"),
                    "{name}: a default-deny in {}",
                    p.ns
                );
                continue;
            }
            assert!(
                pol.iter().any(|o| o.namespace() == p.ns
                    && o.name() == "default-deny"
                    && o.value["spec"]["podSelector"] == serde_json::json!({})),
                "{name}: no default-deny in {}",
                p.ns
            );
        }
    }
}

#[test]
fn network_policies_switch_off_with_config() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut stack = Stack::new();
    files::load_stack_file(&mut stack, &root.join("examples/gke/stack.yaml")).expect("stack");
    stack.set("config.network_policies=false", false).expect("set");
    let r = stack.render(ALL).expect("renders");
    assert!(r.objects.iter().all(|o| o.kind() != "NetworkPolicy"));
}

#[test]
fn a_policy_is_patched_under_its_object_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut stack = Stack::new();
    files::load_stack_file(&mut stack, &root.join("examples/gke/stack.yaml")).expect("stack");
    stack.set("kibana.networkPolicy.metadata.labels.team=logs", false).expect("set");
    let r = stack.render(ALL).expect("renders");
    let np = r.objects.iter().find(|o| o.kind() == "NetworkPolicy" && o.name() == "kibana").expect("kibana policy");
    assert_eq!(np.value["metadata"]["labels"]["team"], "logs");
    assert_eq!(np.component, "kibana");
}
