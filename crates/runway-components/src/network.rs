//! NetworkPolicies derived from the flows components declare.
//!
//! Every component says, per workload, what its pods talk to ([`Component::network`]):
//! a Service of the render (`fluentd-es` → `elasticsearch-logging-client:9200`), the API
//! server, the internet (with the reason), the nodes, Prometheus's scrape targets, the
//! Ingress backends. The render then writes, with `config.network_policies` on (the
//! default):
//!
//! - per namespace, `default-deny`: no ingress and no egress for any pod;
//! - per declared workload, one NetworkPolicy named after the workload, under the object
//!   key the declaration gives (patched like any other object), allowing DNS to kube-dns,
//!   what the workload declares, and, on the receiving side, exactly the flows that other
//!   workloads declare towards it: a flow is written once, by its consumer, and both ends
//!   follow from it.
//!
//! A flow to a Service is resolved through the rendered Service: its selector picks the
//! receiving pods and its `targetPort` (a name is looked up in their containers) the port,
//! so a patched Service or container port moves the policy along. Flows across namespaces
//! select the namespace by `kubernetes.io/metadata.name`. The API server, the nodes
//! (kubelet, host-network exporters) and the internet have no labels: they are reached
//! through `ipBlock 0.0.0.0/0` on the declared ports only, and every such rule says why in
//! the policy's annotation `runway.dev/network-exceptions`. Pods on the host network are
//! not subject to NetworkPolicies: their workloads declare nothing and get no policy.
//!
//! [`Component::network`]: crate::Component::network

use runway_core::JsonPointer as _;
use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use runway_core::{Error, Object};
use serde_json::Value as Json;

use crate::common::meta;
use crate::context::ServiceRef;

/// The pseudo-component that owns each namespace's `default-deny` policy.
pub const COMPONENT: &str = "network";
/// Name of the per-namespace policy that denies everything not allowed by another one.
pub const DEFAULT_DENY: &str = "default-deny";
/// Annotation listing why a policy opens ports to peers without labels.
pub const EXCEPTIONS_ANNOTATION: &str = "runway.dev/network-exceptions";
/// The object key of a component's only (or main) workload policy, by convention.
pub const POLICY_KEY: &str = "networkPolicy";
/// The ports of the API server: 443 behind the `kubernetes` Service, 6443 on the
/// control-plane nodes that Service forwards to.
pub const API_SERVER_PORTS: [i32; 2] = [443, 6443];

/// A transport protocol of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }

    fn parse(s: Option<&str>) -> Protocol {
        if s == Some("UDP") {
            Protocol::Udp
        } else {
            Protocol::Tcp
        }
    }
}

/// A port and its protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Port(pub Protocol, pub i32);

/// A TCP port.
pub fn tcp(port: i32) -> Port {
    Port(Protocol::Tcp, port)
}

/// A UDP port.
pub fn udp(port: i32) -> Port {
    Port(Protocol::Udp, port)
}

/// Something a workload's pods connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Egress {
    /// A Service of the render, by its (Service) port.
    Service {
        /// The Service's namespace; `None`: the workload's own.
        namespace: Option<String>,
        /// Its name.
        name: String,
        /// The Service port (not the target port).
        port: i32,
    },
    /// The Kubernetes API server ([`API_SERVER_PORTS`]).
    ApiServer,
    /// Hosts outside the cluster.
    Internet {
        /// The ports.
        ports: Vec<Port>,
        /// Why (written into the policy's annotation).
        reason: String,
    },
    /// The nodes themselves (kubelet, host-network pods).
    Nodes {
        /// The ports.
        ports: Vec<Port>,
        /// Why.
        reason: String,
    },
    /// Every pod and Service of the render annotated `prometheus.io/scrape: "true"`, on
    /// its `prometheus.io/port` (host-network pods excepted: see [`Egress::Nodes`]).
    ScrapeTargets,
    /// Every Service port an Ingress of the render routes to (the ingress controller).
    IngressBackends,
    /// The workload's own pods, on these ports (cluster membership without a Service).
    Peers(Vec<Port>),
}

/// Something that connects to a workload's pods from outside the render's workloads
/// (flows between workloads are declared by their consumer, as [`Egress`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ingress {
    /// Any source, inside the cluster or out: a LoadBalancer's clients, or the API server
    /// calling a webhook or an aggregated API (its address is not known at render time).
    Anywhere {
        /// The pod's ports.
        ports: Vec<Port>,
        /// Why.
        reason: String,
    },
}

/// The network flows of one workload of a component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flows {
    /// The object key of the workload (Deployment, StatefulSet, DaemonSet, CronJob).
    pub workload: &'static str,
    /// The object key of its NetworkPolicy (listed in the component's `OBJECTS`).
    pub key: &'static str,
    /// What its pods connect to.
    pub egress: Vec<Egress>,
    /// What connects to them from outside the render's workloads.
    pub ingress: Vec<Ingress>,
}

impl Flows {
    /// No flows yet for workload `workload`, whose policy has object key `key`.
    pub fn new(workload: &'static str, key: &'static str) -> Self {
        Flows { workload, key, egress: Vec::new(), ingress: Vec::new() }
    }

    /// Connects to Service `name` in `namespace` on its port `port`.
    pub fn to(mut self, namespace: &str, name: &str, port: i32) -> Self {
        self.egress.push(Egress::Service { namespace: Some(namespace.into()), name: name.into(), port });
        self
    }

    /// Connects to `address` (a URL or a host, with `default_port` when it names none):
    /// a Service of the cluster when it is `NAME.NAMESPACE.svc[...]`, else the internet,
    /// because `reason`.
    pub fn to_address(self, address: &str, default_port: u16, reason: &str) -> Self {
        let rest = address.split_once("://").map_or(address, |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or(rest);
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => (h, p.parse::<u16>().unwrap_or(default_port)),
            _ => (authority, default_port),
        };
        let parts: Vec<&str> = host.split('.').collect();
        match parts.as_slice() {
            [name, ns, "svc", ..] => self.to(ns, name, i32::from(port)),
            _ => self.to_internet(&[tcp(i32::from(port))], reason),
        }
    }

    /// Connects to Service `name` in the workload's own namespace on its port `port`.
    pub fn to_local(mut self, name: &str, port: i32) -> Self {
        self.egress.push(Egress::Service { namespace: None, name: name.into(), port });
        self
    }

    /// Connects to a Service another component published.
    pub fn to_service(self, s: &ServiceRef) -> Self {
        let port = i32::from(s.port);
        self.to(&s.namespace, &s.name, port)
    }

    /// Talks to the other pods of the same workload on `ports`.
    pub fn to_peers(mut self, ports: &[Port]) -> Self {
        self.egress.push(Egress::Peers(ports.to_vec()));
        self
    }

    /// Talks to the API server.
    pub fn to_api_server(mut self) -> Self {
        self.egress.push(Egress::ApiServer);
        self
    }

    /// Connects to the internet on `ports`, because `reason`.
    pub fn to_internet(mut self, ports: &[Port], reason: &str) -> Self {
        self.egress.push(Egress::Internet { ports: ports.to_vec(), reason: reason.into() });
        self
    }

    /// Connects to the nodes on `ports`, because `reason`.
    pub fn to_nodes(mut self, ports: &[Port], reason: &str) -> Self {
        self.egress.push(Egress::Nodes { ports: ports.to_vec(), reason: reason.into() });
        self
    }

    /// Scrapes every annotated target of the render.
    pub fn to_scrape_targets(mut self) -> Self {
        self.egress.push(Egress::ScrapeTargets);
        self
    }

    /// Forwards to every Ingress backend of the render.
    pub fn to_ingress_backends(mut self) -> Self {
        self.egress.push(Egress::IngressBackends);
        self
    }

    /// Accepts connections from anywhere on `ports`, because `reason`.
    pub fn from_anywhere(mut self, ports: &[Port], reason: &str) -> Self {
        self.ingress.push(Ingress::Anywhere { ports: ports.to_vec(), reason: reason.into() });
        self
    }

    /// True when the workload declares API server access (its pods need a token).
    pub fn talks_to_api(&self) -> bool {
        self.egress.contains(&Egress::ApiServer)
    }
}

/// A workload of the render and its pods.
#[derive(Clone, Debug)]
pub struct Workload<'a> {
    /// The object.
    pub object: &'a Object,
    /// Its pod template's labels.
    pub labels: BTreeMap<String, String>,
    /// The labels its policy selects pods by (the workload's selector).
    pub selector: BTreeMap<String, String>,
    /// Its pod spec.
    pub pod: &'a Json,
    /// Its pod template's annotations.
    pub annotations: BTreeMap<String, String>,
}

impl Workload<'_> {
    /// True when its pods run on the host network (no policy applies to them).
    pub fn host_network(&self) -> bool {
        self.pod.get("hostNetwork").and_then(Json::as_bool) == Some(true)
    }

    /// The number of the container port called `name`.
    pub fn port_named(&self, name: &str) -> Option<(Protocol, i32)> {
        containers(self.pod).flat_map(|c| c.get("ports").and_then(Json::as_array).into_iter().flatten()).find_map(|p| {
            (p.get("name").and_then(Json::as_str) == Some(name)).then(|| {
                let n = p.get("containerPort").and_then(Json::as_i64).unwrap_or(0);
                (Protocol::parse(p.get("protocol").and_then(Json::as_str)), i32::try_from(n).unwrap_or(0))
            })
        })
    }
}

fn containers(pod: &Json) -> impl Iterator<Item = &Json> {
    ["containers", "initContainers"]
        .into_iter()
        .flat_map(move |k| pod.get(k).and_then(Json::as_array).into_iter().flatten())
}

fn string_map(v: Option<&Json>) -> BTreeMap<String, String> {
    v.and_then(Json::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

/// The workloads (objects with a pod template) of `objects`.
pub fn workloads(objects: &[Object]) -> Vec<Workload<'_>> {
    objects.iter().filter_map(workload).collect()
}

/// `o` as a workload, when it has a pod template.
pub fn workload(o: &Object) -> Option<Workload<'_>> {
    let template = o.value.ptr("/spec/template").or_else(|| o.value.ptr("/spec/jobTemplate/spec/template"))?;
    let pod = template.get("spec")?;
    let labels = string_map(template.ptr("/metadata/labels"));
    let mut selector = string_map(o.value.ptr("/spec/selector/matchLabels"));
    if selector.is_empty() {
        // A CronJob has no selector: its pods' stable `name` label, else all labels.
        selector = match labels.get("name") {
            Some(n) => BTreeMap::from([("name".to_string(), n.clone())]),
            None => labels.clone(),
        };
    }
    let annotations = string_map(template.ptr("/metadata/annotations"));
    Some(Workload { object: o, labels, selector, pod, annotations })
}

/// True when `selector` selects `labels`.
pub fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Where a resolved flow goes: the receiving pods and the port on them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The receiving pods' namespace.
    pub namespace: String,
    /// The receiving pods' selector.
    pub selector: BTreeMap<String, String>,
    /// The port on the pods.
    pub port: Port,
}

/// The pods and port behind Service `namespace/name` port `port` (a number or a port
/// name), or `None` when the render has no such Service or port. `all` is
/// [`workloads`]`(objects)`, found once by the caller: the policies resolve many Services
/// over one render, and finding the workloads is most of the work.
pub fn resolve_service(
    objects: &[Object],
    all: &[Workload],
    namespace: &str,
    name: &str,
    port: &IntOrString,
) -> Option<Vec<Resolved>> {
    let svc = objects.iter().find(|o| o.kind() == "Service" && o.namespace() == namespace && o.name() == name)?;
    let selector = string_map(svc.value.ptr("/spec/selector"));
    if selector.is_empty() {
        return None;
    }
    let sp = svc.value.ptr("/spec/ports").and_then(Json::as_array)?.iter().find(|p| match port {
        IntOrString::Int(n) => p.get("port").and_then(Json::as_i64) == Some(i64::from(*n)),
        IntOrString::String(s) => p.get("name").and_then(Json::as_str) == Some(s),
    })?;
    let protocol = Protocol::parse(sp.get("protocol").and_then(Json::as_str));
    let backing: Vec<&Workload> =
        all.iter().filter(|w| w.object.namespace() == namespace && selects(&selector, &w.labels)).collect();
    let target = sp.get("targetPort").or_else(|| sp.get("port"))?;
    let numbers: BTreeSet<Port> = match target {
        Json::Number(n) => BTreeSet::from([Port(protocol, i32::try_from(n.as_i64()?).ok()?)]),
        Json::String(s) => backing.iter().filter_map(|w| w.port_named(s)).map(|(p, n)| Port(p, n)).collect(),
        _ => return None,
    };
    Some(
        numbers
            .into_iter()
            .map(|port| Resolved { namespace: namespace.to_string(), selector: selector.clone(), port })
            .collect(),
    )
}

/// The pods Prometheus scrapes: annotated pod templates and Services (host-network pods
/// excepted), each with the scraped port.
/// `all` is [`workloads`]`(objects)`.
pub fn scrape_targets(objects: &[Object], all: &[Workload]) -> Vec<Resolved> {
    let mut out = Vec::new();
    for w in all {
        if w.host_network() || w.annotations.get("prometheus.io/scrape").map(String::as_str) != Some("true") {
            continue;
        }
        if let Some(port) = w.annotations.get("prometheus.io/port").and_then(|p| p.parse::<i32>().ok()) {
            out.push(Resolved {
                namespace: w.object.namespace().to_string(),
                selector: w.selector.clone(),
                port: tcp(port),
            });
        }
    }
    for svc in objects.iter().filter(|o| o.kind() == "Service") {
        let ann = string_map(svc.value.ptr("/metadata/annotations"));
        if ann.get("prometheus.io/scrape").map(String::as_str) != Some("true") {
            continue;
        }
        let selector = string_map(svc.value.ptr("/spec/selector"));
        if let (Some(port), false) =
            (ann.get("prometheus.io/port").and_then(|p| p.parse::<i32>().ok()), selector.is_empty())
        {
            out.push(Resolved { namespace: svc.namespace().to_string(), selector, port: tcp(port) });
        }
    }
    out
}

/// The Service ports the render's Ingresses route to: `(namespace, service, port)`.
pub fn ingress_backends(objects: &[Object]) -> Vec<(String, String, IntOrString)> {
    let mut out = Vec::new();
    for ing in objects.iter().filter(|o| o.kind() == "Ingress") {
        let mut backends: Vec<&Json> = ing.value.ptr("/spec/defaultBackend/service").into_iter().collect();
        for rule in ing.value.ptr("/spec/rules").and_then(Json::as_array).into_iter().flatten() {
            for path in rule.ptr("/http/paths").and_then(Json::as_array).into_iter().flatten() {
                backends.extend(path.ptr("/backend/service"));
            }
        }
        for b in backends {
            let Some(name) = b.get("name").and_then(Json::as_str) else { continue };
            let port = match (b.ptr("/port/number").and_then(Json::as_i64), b.ptr("/port/name").and_then(Json::as_str))
            {
                (Some(n), _) => IntOrString::Int(i32::try_from(n).unwrap_or(0)),
                (None, Some(s)) => IntOrString::String(s.to_string()),
                _ => continue,
            };
            out.push((ing.namespace().to_string(), name.to_string(), port));
        }
    }
    out
}

/// A peer of a rule, comparable so rules with the same peer merge.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Peer {
    /// Pods by selector, in a namespace (`None`: the policy's own).
    Pods(Option<String>, BTreeMap<String, String>),
    /// Pods of every namespace.
    AllNamespaces,
    /// Everything (`ipBlock 0.0.0.0/0`).
    World,
    /// No `from`/`to` at all: any source (ingress only).
    Any,
}

#[derive(Default)]
struct PolicyDraft {
    ingress: BTreeMap<Peer, BTreeSet<Port>>,
    egress: BTreeMap<Peer, BTreeSet<Port>>,
    reasons: BTreeSet<String>,
}

fn peer_for(own_ns: &str, ns: &str, selector: &BTreeMap<String, String>) -> Peer {
    Peer::Pods((own_ns != ns).then(|| ns.to_string()), selector.clone())
}

/// The policies of the render: `declared` holds, per component, the flows of its
/// workloads. Returns the `default-deny` policies (component [`COMPONENT`]) and one
/// policy per declared workload (the declaring component, the declared key).
pub fn policies(objects: &[Object], declared: &[(&str, Vec<Flows>)]) -> Result<Vec<Object>, Error> {
    let all = workloads(objects);
    // The declared workloads present in the render (a layer may have removed one).
    let mut mine: Vec<(&str, &Flows, &Workload)> = Vec::new();
    for (component, flows) in declared {
        for f in flows {
            if let Some(w) = all.iter().find(|w| w.object.component == *component && w.object.key == f.workload) {
                if !w.host_network() {
                    mine.push((component, f, w));
                }
            }
        }
    }
    let mut drafts: Vec<PolicyDraft> = mine.iter().map(|_| PolicyDraft::default()).collect();
    let receivers = |r: &Resolved| -> Vec<usize> {
        mine.iter()
            .enumerate()
            .filter(|(_, (_, _, w))| w.object.namespace() == r.namespace && selects(&r.selector, &w.labels))
            .map(|(i, _)| i)
            .collect()
    };
    let connect = |drafts: &mut Vec<PolicyDraft>, from: usize, r: &Resolved| {
        let src = mine[from].2;
        let src_ns = src.object.namespace();
        drafts[from].egress.entry(peer_for(src_ns, &r.namespace, &r.selector)).or_default().insert(r.port);
        for to in receivers(r) {
            drafts[to].ingress.entry(peer_for(&r.namespace, src_ns, &src.selector)).or_default().insert(r.port);
        }
    };
    let mut backends_served = false;
    for (i, (component, f, w)) in mine.iter().enumerate() {
        for e in &f.egress {
            match e {
                Egress::Service { namespace, name, port } => {
                    let ns = namespace.as_deref().unwrap_or(w.object.namespace());
                    // A Service the render does not hold (an optional one, like Redis Sentinel
                    // in standalone mode, or one a layer removed) opens nothing.
                    for r in resolve_service(objects, &all, ns, name, &IntOrString::Int(*port)).unwrap_or_default() {
                        connect(&mut drafts, i, &r);
                    }
                }
                Egress::ApiServer => {
                    drafts[i].egress.entry(Peer::World).or_default().extend(API_SERVER_PORTS.map(tcp));
                    drafts[i].reasons.insert(format!(
                        "egress to 0.0.0.0/0 on TCP 443 and 6443: the API server (`{component}` talks to it; its address is not known at render time)"
                    ));
                }
                Egress::Internet { ports, reason } | Egress::Nodes { ports, reason } => {
                    drafts[i].egress.entry(Peer::World).or_default().extend(ports.iter().copied());
                    let what = if matches!(e, Egress::Internet { .. }) { "the internet" } else { "the nodes" };
                    drafts[i].reasons.insert(format!("egress to {what} on {}: {reason}", port_list(ports)));
                }
                Egress::Peers(ports) => {
                    for port in ports {
                        let r = Resolved {
                            namespace: w.object.namespace().to_string(),
                            selector: w.selector.clone(),
                            port: *port,
                        };
                        connect(&mut drafts, i, &r);
                    }
                }
                Egress::ScrapeTargets => {
                    for r in scrape_targets(objects, &all) {
                        connect(&mut drafts, i, &r);
                    }
                }
                Egress::IngressBackends => {
                    backends_served = true;
                    for (ns, name, port) in ingress_backends(objects) {
                        for r in resolve_service(objects, &all, &ns, &name, &port).unwrap_or_default() {
                            connect(&mut drafts, i, &r);
                        }
                    }
                }
            }
        }
        for ing in &f.ingress {
            let Ingress::Anywhere { ports, reason } = ing;
            drafts[i].ingress.entry(Peer::Any).or_default().extend(ports.iter().copied());
            drafts[i].reasons.insert(format!("ingress from anywhere on {}: {reason}", port_list(ports)));
        }
    }
    if !backends_served {
        // No ingress controller in the render: the cluster's own (in a namespace runway
        // does not know) reaches the backends.
        for (ns, name, port) in ingress_backends(objects) {
            for r in resolve_service(objects, &all, &ns, &name, &port).unwrap_or_default() {
                for to in receivers(&r) {
                    drafts[to].ingress.entry(Peer::AllNamespaces).or_default().insert(r.port);
                    drafts[to].reasons.insert(format!(
                        "ingress from every namespace on {}: an Ingress routes here and the ingress controller is not part of the render",
                        port_list(&[r.port])
                    ));
                }
            }
        }
    }

    let mut out = Vec::new();
    let namespaces: BTreeSet<&str> = all
        .iter()
        .map(|w| w.object.namespace())
        .filter(|ns| !ns.is_empty() && !crate::namespaces::SYSTEM_NAMESPACES.contains(ns))
        .collect();
    for ns in namespaces {
        let np = NetworkPolicy {
            metadata: meta::namespaced(
                DEFAULT_DENY,
                ns,
                BTreeMap::from([("app.kubernetes.io/managed-by".to_string(), meta::MANAGED_BY.to_string())]),
            ),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(LabelSelector::default()),
                policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
                ..Default::default()
            }),
        };
        out.push(Object::new(COMPONENT, &format!("{DEFAULT_DENY}.{ns}"), &np));
    }
    for ((component, f, w), d) in mine.iter().zip(drafts) {
        out.push(Object::new(component, f.key, &policy_object(w, d)));
    }
    Ok(out)
}

fn port_list(ports: &[Port]) -> String {
    ports.iter().map(|Port(p, n)| format!("{} {n}", p.as_str())).collect::<Vec<_>>().join(", ")
}

fn policy_object(w: &Workload, d: PolicyDraft) -> NetworkPolicy {
    let own_ns = w.object.namespace();
    let mut egress: BTreeMap<Peer, BTreeSet<Port>> = d.egress;
    egress.insert(
        Peer::Pods(Some("kube-system".into()), BTreeMap::from([("k8s-app".to_string(), "kube-dns".to_string())])),
        BTreeSet::from([udp(53), tcp(53)]),
    );
    let ports = |set: BTreeSet<Port>| -> Option<Vec<NetworkPolicyPort>> {
        Some(
            set.into_iter()
                .map(|Port(p, n)| NetworkPolicyPort {
                    port: Some(IntOrString::Int(n)),
                    protocol: Some(p.as_str().into()),
                    ..Default::default()
                })
                .collect(),
        )
    };
    let peer = |p: &Peer| -> Option<Vec<NetworkPolicyPeer>> {
        match p {
            Peer::Any => None,
            Peer::World => Some(vec![NetworkPolicyPeer {
                ip_block: Some(IPBlock { cidr: "0.0.0.0/0".into(), except: None }),
                ..Default::default()
            }]),
            Peer::AllNamespaces => Some(vec![NetworkPolicyPeer {
                namespace_selector: Some(LabelSelector::default()),
                ..Default::default()
            }]),
            Peer::Pods(ns, sel) => Some(vec![NetworkPolicyPeer {
                namespace_selector: ns
                    .as_ref()
                    .map(|n| meta::selector(BTreeMap::from([("kubernetes.io/metadata.name".to_string(), n.clone())]))),
                pod_selector: Some(meta::selector(sel.clone())),
                ..Default::default()
            }]),
        }
    };
    let ingress: Vec<NetworkPolicyIngressRule> =
        d.ingress.into_iter().map(|(p, set)| NetworkPolicyIngressRule { from: peer(&p), ports: ports(set) }).collect();
    let egress: Vec<NetworkPolicyEgressRule> =
        egress.into_iter().map(|(p, set)| NetworkPolicyEgressRule { to: peer(&p), ports: ports(set) }).collect();
    let mut metadata = meta::namespaced(w.object.name(), own_ns, string_map(w.object.value.ptr("/metadata/labels")));
    if !d.reasons.is_empty() {
        metadata.annotations = Some(BTreeMap::from([(
            EXCEPTIONS_ANNOTATION.to_string(),
            d.reasons.into_iter().collect::<Vec<_>>().join("\n"),
        )]));
    }
    NetworkPolicy {
        metadata,
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(meta::selector(w.selector.clone())),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress),
            egress: Some(egress),
        }),
    }
}
