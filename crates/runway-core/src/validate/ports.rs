//! Container ports, as the API server validates them: a port's name is an IANA service
//! name (at most 15 lowercase letters, digits and `-`, at least one letter, no `-` at
//! either end or twice in a row), names are unique in the pod, and no two containers of a
//! pod declare the same port and protocol.

use std::collections::BTreeMap;

use serde_json::Value as J;

use super::{containers, finding, items, pod_spec};
use crate::error::Error;
use crate::object::Object;

/// True for an IANA service name (`IANA_SVC_NAME`): what a container port's name must be.
pub fn is_port_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// Checks the container ports of `o`'s pod template (nothing for other kinds).
pub fn check_ports(o: &Object) -> Result<(), Error> {
    let Some((spec, base)) = pod_spec(&o.value) else { return Ok(()) };
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    let mut numbers: BTreeMap<(i64, &str), &str> = BTreeMap::new();
    for (c, cpath) in containers(spec, &base) {
        let cname = c.get("name").and_then(J::as_str).unwrap_or("");
        for (i, p) in items(c.get("ports")).iter().enumerate() {
            let at = cpath.key("ports").index(i);
            if let Some(name) = p.get("name").and_then(J::as_str) {
                if !is_port_name(name) {
                    return Err(finding(
                        o,
                        &at.key("name"),
                        format!(
                            "port name `{name}` is not an IANA service name: at most 15 lowercase letters, digits and `-`, with a letter, and no `-` at either end or twice in a row"
                        ),
                    ));
                }
                if let Some(other) = names.insert(name, cname) {
                    return Err(finding(
                        o,
                        &at.key("name"),
                        format!("port name `{name}` is declared twice in the pod (containers `{other}` and `{cname}`)"),
                    ));
                }
            }
            let Some(num) = p.get("containerPort").and_then(J::as_i64) else { continue };
            let proto = p.get("protocol").and_then(J::as_str).unwrap_or("TCP");
            if let Some(other) = numbers.insert((num, proto), cname) {
                return Err(finding(
                    o,
                    &at.key("containerPort"),
                    format!("port {num}/{proto} is declared twice in the pod (containers `{other}` and `{cname}`)"),
                ));
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
    fn port_names_follow_iana_service_names() {
        for ok in ["http", "metrics", "http-2", "a1234567890bcde"] {
            assert!(is_port_name(ok), "{ok}");
        }
        for bad in ["", "1234", "Http", "-http", "http-", "a--b", "prometheus-metrics", "a_b"] {
            assert!(!is_port_name(bad), "{bad}");
        }
    }

    #[test]
    fn distinct_ports_pass() {
        let d = deploy_with(json!({"name": "a", "ports": [
            {"name": "http", "containerPort": 80}, {"name": "dns", "containerPort": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "containerPort": 53}]}));
        assert!(check_ports(&d).is_ok());
    }

    #[test]
    fn a_long_port_name_is_found() {
        let d = deploy_with(json!({"name": "a", "ports": [{"name": "prometheus-metrics", "containerPort": 9090}]}));
        let e = check_ports(&d).unwrap_err();
        assert_eq!(e.path().unwrap().to_string(), "c.k.spec.template.spec.containers[0].ports[0].name");
    }

    #[test]
    fn a_port_declared_twice_is_found() {
        let d = deploy_with(json!({"name": "a", "ports": [
            {"name": "http", "containerPort": 80}, {"name": "web", "containerPort": 80}]}));
        let e = check_ports(&d).unwrap_err();
        assert!(e.to_string().contains("port 80/TCP is declared twice"), "{e}");
    }

    #[test]
    fn a_port_name_declared_twice_is_found() {
        let d = deploy_with(json!({"name": "a", "ports": [
            {"name": "http", "containerPort": 80}, {"name": "http", "containerPort": 81}]}));
        assert!(check_ports(&d).unwrap_err().to_string().contains("port name `http` is declared twice"));
    }
}
