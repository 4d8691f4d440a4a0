//! Parameters of the ingress controller and their validation.
//!
//! Validation runs at the start of `build`, so a bad value never renders half a stack.
//! Every error names its key path (`nginx_ingress.max_replicas`) and says how to fix it.

use std::collections::BTreeMap;

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;

/// The controller image. ingress-nginx was retired upstream in March 2026 and v1.15.1 is
/// its final release: no further fixes will come (see the module documentation).
pub const DEFAULT_IMAGE: &str = "registry.k8s.io/ingress-nginx/controller:v1.15.1";
/// The default backend image: answers 404 on `/` and 200 on `/healthz`, on port 8080.
/// Built for amd64 only, hence the default node selector of [`DefaultBackendParams`].
pub const DEFAULT_BACKEND_IMAGE: &str = "registry.k8s.io/defaultbackend-amd64:1.5";

/// Ports the controller uses itself, which TCP and UDP services may not take.
pub const RESERVED_PORTS: &[u16] = &[80, 443, 8181, 8443, 10245, 10246, 10247, 10254];

/// The NGINX ingress controller (BKPR's `nginx_ingress`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NginxIngressParams {
    /// Controller replicas the autoscaler never goes below (its `minReplicas`; BKPR's
    /// "n+1"). The Deployment leaves `spec.replicas` to the autoscaler. Default: `2`.
    pub replicas: u32,
    /// The autoscaler's ceiling, a cap on growth under a flood of requests. The seed's
    /// `hpa: {spec: {maxReplicas: N}}` patch sets the same field. Default: `10`.
    pub max_replicas: u32,
    /// Average CPU use, in percent of the request, that the autoscaler keeps the
    /// controllers at. Default: `80` (what BKPR's `autoscaling/v1` object defaulted to).
    pub target_cpu_utilization: u32,
    /// The controller image. Default: `registry.k8s.io/ingress-nginx/controller:v1.15.1`.
    pub image: String,
    /// Requests and limits of the controller. No CPU limit: throttling NGINX adds latency
    /// to every request, and the autoscaler works from the CPU request.
    /// Default: requests `cpu: 100m, memory: 128Mi`, limits `memory: 512Mi`.
    pub resources: Resources,
    /// Makes the IngressClass the cluster's default (Ingresses without a class get it)
    /// and lets the controller serve Ingresses that name no class, as BKPR's controller
    /// did. Turn it off when another controller is the cluster's default. Default: `true`.
    pub default_class: bool,
    /// TCP services exposed through the controller: port on the load balancer to
    /// `NAMESPACE/SERVICE:PORT` (optionally followed by `:PROXY` and `:PROXY` for the
    /// PROXY protocol on decode and encode). Each becomes an entry of `tcp-services`, a
    /// container port and a port of the `nginx-ingress` Service. Default: none.
    pub tcp_services: BTreeMap<u16, String>,
    /// UDP services exposed through the controller, as `tcp_services`, in `udp-services`.
    /// Some clouds refuse a LoadBalancer mixing TCP and UDP. Default: none.
    pub udp_services: BTreeMap<u16, String>,
    /// The default backend (BKPR's `default`): answers 404 for hosts and paths no Ingress
    /// routes. Its objects are patched under it: `default: {deploy: ..., svc: ...}`.
    #[serde(rename = "default")]
    pub default_backend: DefaultBackendParams,
}

/// The default backend, `default-http-backend`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DefaultBackendParams {
    /// Its replicas. Default: `1` (BKPR's).
    pub replicas: u32,
    /// Its image. Default: `registry.k8s.io/defaultbackend-amd64:1.5`.
    pub image: String,
    /// Requests and limits. Default: requests `cpu: 10m, memory: 20Mi`, limits
    /// `memory: 32Mi`.
    pub resources: Resources,
    /// Nodes it may run on. The default image is built for amd64 only; with a
    /// multi-architecture image, set `{kubernetes.io/os: linux}`.
    /// Default: `{kubernetes.io/arch: amd64, kubernetes.io/os: linux}`.
    pub node_selector: BTreeMap<String, String>,
}

impl Default for NginxIngressParams {
    fn default() -> Self {
        NginxIngressParams {
            replicas: 2,
            max_replicas: 10,
            target_cpu_utilization: 80,
            image: DEFAULT_IMAGE.into(),
            resources: Resources::new("100m", "128Mi", None, "512Mi"),
            default_class: true,
            tcp_services: BTreeMap::new(),
            udp_services: BTreeMap::new(),
            default_backend: DefaultBackendParams::default(),
        }
    }
}

impl Default for DefaultBackendParams {
    fn default() -> Self {
        DefaultBackendParams {
            replicas: 1,
            image: DEFAULT_BACKEND_IMAGE.into(),
            resources: Resources::new("10m", "20Mi", None, "32Mi"),
            node_selector: BTreeMap::from([
                ("kubernetes.io/arch".to_string(), "amd64".to_string()),
                ("kubernetes.io/os".to_string(), "linux".to_string()),
            ]),
        }
    }
}

/// `nginx_ingress.<key>`.
fn at(key: &str) -> KeyPath {
    KeyPath::root().key("nginx_ingress").key(key)
}

/// Checks an image reference: not empty, no whitespace.
fn check_image(image: &str, path: KeyPath) -> Result<(), Error> {
    crate::images::check_image(image, DEFAULT_IMAGE, path)
}

/// A Kubernetes DNS-1123 label (namespace and Service names).
fn is_dns_label(s: &str) -> bool {
    runway_core::names::is_dns_label(s)
}

/// Checks `NAMESPACE/SERVICE:PORT[:PROXY[:PROXY]]`, the controller's format for TCP and
/// UDP service entries; the port may be a number or a named Service port.
fn check_service_entry(value: &str) -> Result<(), String> {
    let Some((ns, rest)) = value.split_once('/') else {
        return Err("it has no `NAMESPACE/`".into());
    };
    let mut parts = rest.split(':');
    let svc = parts.next().unwrap_or("");
    let port = parts.next().unwrap_or("");
    if !is_dns_label(ns) {
        return Err(format!("`{ns}` is not a namespace name"));
    }
    if !is_dns_label(svc) {
        return Err(format!("`{svc}` is not a Service name"));
    }
    let port_ok = match port.parse::<u32>() {
        Ok(n) => (1..=65535).contains(&n),
        Err(_) => is_dns_label(port),
    };
    if !port_ok {
        return Err(if port.is_empty() { "it has no `:PORT`".into() } else { format!("`{port}` is not a port") });
    }
    for extra in parts.by_ref().take(2) {
        if !matches!(extra, "PROXY" | "") {
            return Err(format!("`{extra}` is not `PROXY`"));
        }
    }
    if parts.next().is_some() {
        return Err("it has more than two `:PROXY` fields".into());
    }
    Ok(())
}

impl NginxIngressParams {
    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        if self.replicas == 0 || i32::try_from(self.replicas).is_err() {
            return Err(Error::invalid(format!("replicas `{}` is out of range", self.replicas))
                .help("run at least 2 controllers, so that one can restart while the other serves")
                .with_path(at("replicas")));
        }
        if self.max_replicas < self.replicas || i32::try_from(self.max_replicas).is_err() {
            return Err(Error::invalid(format!(
                "max_replicas `{}` is below replicas `{}`: the autoscaler could never scale",
                self.max_replicas, self.replicas
            ))
            .help(format!("use at least `{}`, or lower `replicas`", self.replicas))
            .with_path(at("max_replicas")));
        }
        if !(1..=1000).contains(&self.target_cpu_utilization) {
            return Err(Error::invalid(format!(
                "target_cpu_utilization `{}` is not a percentage of the CPU request",
                self.target_cpu_utilization
            ))
            .help("use a value such as `80`: the autoscaler adds controllers above 80% of their CPU request")
            .with_path(at("target_cpu_utilization")));
        }
        check_image(&self.image, at("image"))?;
        self.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(at("resources"))
        })?;
        for (key, services, proto) in
            [("tcp_services", &self.tcp_services, "TCP"), ("udp_services", &self.udp_services, "UDP")]
        {
            for (port, target) in services {
                let path = at(key).key(&port.to_string());
                if *port == 0 || RESERVED_PORTS.contains(port) {
                    return Err(Error::invalid(format!("port `{port}` cannot carry a {proto} service"))
                        .help(format!(
                            "ports {} are the controller's own; choose another port",
                            RESERVED_PORTS.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
                        ))
                        .with_path(path));
                }
                check_service_entry(target).map_err(|why| {
                    Error::invalid(format!("`{target}` is not a {proto} service entry: {why}"))
                        .help("write `NAMESPACE/SERVICE:PORT`, e.g. `default/mqtt:1883`")
                        .with_path(path.clone())
                })?;
            }
        }
        let d = &self.default_backend;
        let dpath = |k: &str| at("default").key(k);
        if d.replicas == 0 || i32::try_from(d.replicas).is_err() {
            return Err(Error::invalid(format!("replicas `{}` is out of range", d.replicas))
                .help("the controller sends unknown hosts to it: run at least 1")
                .with_path(dpath("replicas")));
        }
        check_image(&d.image, dpath("image"))?;
        d.resources.check().map_err(|msg| {
            Error::invalid(msg).help("raise the limit or lower the request").with_path(dpath("resources"))
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_entries_follow_the_controller_format() {
        for ok in ["default/mqtt:1883", "apps/db:postgres", "a/b:1:PROXY", "a/b:1::PROXY", "a/b:1:PROXY:PROXY"] {
            assert!(check_service_entry(ok).is_ok(), "{ok}");
        }
        for bad in ["mqtt:1883", "default/mqtt", "default/mqtt:0", "Default/mqtt:1", "a/b:1:TLS", "a/b:1:PROXY:PROXY:x"]
        {
            assert!(check_service_entry(bad).is_err(), "{bad}");
        }
    }
}
