//! The Prometheus Operator's CRDs that runway's custom resources are instances of, vendored
//! in `crds/` (upstream text; `crds/README.md` names the release and commit of each file).
//!
//! The operator owns them (kube-prometheus-stack installs them), so runway never renders
//! them; in `platform.monitoring: operator|both` the render adds them to the CRDs the cluster
//! already holds, so every ServiceMonitor, PodMonitor and PrometheusRule of a render, whichever
//! component renders it and whether or not `prometheus` is enabled, is validated against its
//! schema ([`runway_core::validate::crd`]).

/// One vendored CRD: its file name in `crds/` and its JSON (converted by build.rs).
#[derive(Debug, Clone, Copy)]
pub struct OperatorCrd {
    /// The file name in `src/prometheus/crds/`.
    pub file: &'static str,
    /// The CRD as compact JSON.
    pub json: &'static str,
}

/// Every vendored Prometheus Operator CRD.
pub const VENDORED: &[OperatorCrd] = &[OperatorCrd {
    file: "monitoring.coreos.com_prometheusrules.yaml",
    json: include_str!(concat!(env!("OUT_DIR"), "/crds/monitoring.coreos.com_prometheusrules.json")),
}];

/// The vendored CRDs as JSON documents, for [`crate::component::Component::known_crds`]-style
/// validation. A file that does not parse is left out; `vendored_crds_parse_as_crds` below
/// makes that a test failure, so it cannot ship.
pub fn known() -> Vec<serde_json::Value> {
    VENDORED.iter().filter_map(|c| serde_json::from_str(c.json).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_crds_parse_as_crds_of_the_monitoring_group() {
        assert_eq!(known().len(), VENDORED.len(), "every vendored file parses");
        for doc in known() {
            assert_eq!(doc["kind"], "CustomResourceDefinition");
            assert_eq!(doc["spec"]["group"], "monitoring.coreos.com");
        }
    }

    fn operator_stack(mode: &str) -> crate::Stack {
        let mut s = crate::Stack::new();
        s.platform("onprem", "test").expect("onprem exists");
        s.set("config.dns_zone=example.com", false).expect("a set flag");
        s.set(&format!("platform.monitoring={mode}"), false).expect("a set flag");
        s
    }

    #[test]
    fn an_operator_render_validates_its_prometheus_rule_against_the_crd() {
        for mode in ["operator", "both"] {
            let r = operator_stack(mode).render(crate::ALL).unwrap_or_else(|e| panic!("{mode}: {}", e.render()));
            assert!(r.objects.iter().any(|o| o.kind() == "PrometheusRule"), "{mode}: a rule renders");
        }
    }

    #[test]
    fn a_broken_prometheus_rule_patch_fails_with_the_crd_message() {
        // A number where the CRD requires a duration string.
        let broken = "prometheus.prometheus.rules.spec.groups[0].interval=5";
        for mode in ["operator", "both"] {
            let mut s = operator_stack(mode);
            s.set(broken, false).expect("a set flag");
            let e = s.render(crate::ALL).expect_err("the CRD wants a string");
            let msg = e.render();
            assert!(
                msg.contains("prometheus.prometheus\\.rules.spec.groups[0].interval: does not match the schema of CRD `prometheusrules.monitoring.coreos.com` (v1): 5 is not of type \"string\""),
                "{mode}: {msg}"
            );
            assert!(
                msg.starts_with("error: --set prometheus.prometheus.rules.spec.groups[0].interval=5:1:59: "),
                "the error points at the flag: {msg}"
            );
            assert!(msg.contains("note: in PrometheusRule kubeprod/prometheus"), "{msg}");
        }
    }

    #[test]
    fn every_yaml_in_the_crds_directory_is_listed() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/prometheus/crds");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("crds/ exists")
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        on_disk.sort();
        let listed: Vec<&str> = VENDORED.iter().map(|c| c.file).collect();
        assert_eq!(on_disk, listed);
    }
}
