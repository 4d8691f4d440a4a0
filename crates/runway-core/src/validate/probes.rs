//! Probes point at ports the container declares: a named port (`httpGet.port: http`) must
//! be a port of that container, and a numbered one must be declared there too, so that a
//! renamed or renumbered port cannot leave a probe failing every pod in the cluster.
//! An `httpGet` probe with its own `host` (a host-network agent probing `127.0.0.1`)
//! addresses something other than the pod's ports and is not checked.

use serde_json::Value as J;

use super::{containers, finding, items, pod_spec};
use crate::error::Error;
use crate::object::Object;

/// The probes a container may have.
const PROBES: &[&str] = &["livenessProbe", "readinessProbe", "startupProbe"];

/// Checks every probe of `o`'s pod template (nothing for other kinds).
pub fn check_probes(o: &Object) -> Result<(), Error> {
    let Some((spec, base)) = pod_spec(&o.value) else { return Ok(()) };
    for (c, cpath) in containers(spec, &base) {
        let cname = c.get("name").and_then(J::as_str).unwrap_or("");
        let ports = items(c.get("ports"));
        for probe in PROBES {
            let Some(p) = c.get(*probe) else { continue };
            for handler in ["httpGet", "tcpSocket", "grpc"] {
                let Some(h) = p.get(handler) else { continue };
                let Some(port) = h.get("port").filter(|_| h.get("host").is_none()) else { continue };
                let at = cpath.key(probe).key(handler).key("port");
                let declared = match port {
                    J::String(name) => {
                        if ports.iter().any(|d| d.get("name").and_then(J::as_str) == Some(name)) {
                            continue;
                        }
                        format!(
                            "{probe} of container `{cname}` uses port `{name}`, which the container does not declare"
                        )
                    }
                    J::Number(n) => {
                        if ports.iter().any(|d| d.get("containerPort") == Some(port)) {
                            continue;
                        }
                        format!("{probe} of container `{cname}` uses port {n}, which the container does not declare")
                    }
                    _ => continue,
                };
                let names: Vec<String> = ports
                    .iter()
                    .map(|d| {
                        let num = d.get("containerPort").map(J::to_string).unwrap_or_default();
                        match d.get("name").and_then(J::as_str) {
                            Some(n) => format!("`{n}` ({num})"),
                            None => num,
                        }
                    })
                    .collect();
                let help = if names.is_empty() {
                    "declare the port under the container's `ports`".to_string()
                } else {
                    format!("its ports: {}", names.join(", "))
                };
                return Err(finding(o, &at, declared).help(help));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn probes_on_declared_ports_pass() {
        let d = deploy_with(json!({"name": "a", "ports": [{"name": "http", "containerPort": 8080}],
            "livenessProbe": {"httpGet": {"path": "/", "port": "http"}},
            "readinessProbe": {"tcpSocket": {"port": 8080}}}));
        assert!(check_probes(&d).is_ok());
    }

    #[test]
    fn a_probe_with_its_own_host_is_not_checked() {
        let d = deploy_with(json!({"name": "a",
            "readinessProbe": {"httpGet": {"host": "127.0.0.1", "path": "/", "port": 24483}}}));
        assert!(check_probes(&d).is_ok());
    }

    #[test]
    fn a_probe_on_an_unknown_port_name_is_found() {
        let d = deploy_with(json!({"name": "a", "ports": [{"name": "http", "containerPort": 8080}],
            "readinessProbe": {"httpGet": {"path": "/", "port": "web"}}}));
        let e = check_probes(&d).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.k.spec.template.spec.containers[0].readinessProbe.httpGet.port");
        assert_eq!(e.helps(), ["its ports: `http` (8080)"]);
    }

    #[test]
    fn a_probe_on_an_undeclared_port_number_is_found() {
        let d = deploy_with(json!({"name": "a", "startupProbe": {"grpc": {"port": 9000}}}));
        assert!(check_probes(&d).unwrap_err().to_string().contains("uses port 9000"));
    }
}
