//! Probes of a named container port: an HTTP GET or a TCP connect, with the timings each
//! component chooses (and documents at its call site). Named ports only, so a probe
//! follows a port that a layer renumbers.

use k8s_openapi::api::core::v1::{HTTPGetAction, Probe, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// A plain-HTTP GET of `path` on the port named `port`.
pub fn http_get(path: &str, port: &str) -> HTTPGetAction {
    HTTPGetAction {
        path: Some(path.into()),
        port: IntOrString::String(port.into()),
        scheme: Some("HTTP".into()),
        ..Default::default()
    }
}

/// [`http_get`] every `period` seconds, failing a try after `timeout` seconds and the
/// probe after `failures` failed tries in a row.
pub fn http(path: &str, port: &str, period: i32, timeout: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(http_get(path, port)),
        period_seconds: Some(period),
        timeout_seconds: Some(timeout),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

/// A TCP connect to the port named `port`, with [`http`]'s timings.
pub fn tcp(port: &str, period: i32, timeout: i32, failures: i32) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction { port: IntOrString::String(port.into()), ..Default::default() }),
        period_seconds: Some(period),
        timeout_seconds: Some(timeout),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_name_their_port_and_carry_their_timings() {
        let p = http("/ready", "http", 10, 2, 3);
        let get = p.http_get.as_ref().expect("an HTTP probe");
        assert_eq!((get.path.as_deref(), &get.port), (Some("/ready"), &IntOrString::String("http".into())));
        assert_eq!((p.period_seconds, p.timeout_seconds, p.failure_threshold), (Some(10), Some(2), Some(3)));
        let t = tcp("transport", 20, 5, 6);
        assert_eq!(t.tcp_socket.map(|s| s.port), Some(IntOrString::String("transport".into())));
        assert_eq!((t.period_seconds, t.timeout_seconds, t.failure_threshold), (Some(20), Some(5), Some(6)));
    }
}
