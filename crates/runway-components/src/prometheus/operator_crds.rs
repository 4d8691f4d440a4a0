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

/// Every vendored Prometheus Operator CRD (all three of release v0.87.1), sorted by file name.
pub const VENDORED: &[OperatorCrd] = &[
    OperatorCrd {
        file: "monitoring.coreos.com_podmonitors.yaml",
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/monitoring.coreos.com_podmonitors.json")),
    },
    OperatorCrd {
        file: "monitoring.coreos.com_prometheusrules.yaml",
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/monitoring.coreos.com_prometheusrules.json")),
    },
    OperatorCrd {
        file: "monitoring.coreos.com_servicemonitors.yaml",
        json: include_str!(concat!(env!("OUT_DIR"), "/crds/monitoring.coreos.com_servicemonitors.json")),
    },
];

/// The vendored CRDs as JSON documents, for [`crate::component::Component::known_crds`]-style
/// validation. A file that does not parse is left out; `vendored_crds_parse_as_crds` below
/// makes that a test failure, so it cannot ship. The JSON (about 160 KB) is parsed once per
/// process and cloned per render, as cert-manager's is: a fleet renders once per cluster.
/// The data is constant, so the cache cannot change output.
pub fn known() -> Vec<serde_json::Value> {
    static PARSED: std::sync::OnceLock<Vec<serde_json::Value>> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| VENDORED.iter().filter_map(|c| serde_json::from_str(c.json).ok()).collect()).clone()
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

    /// What each platform needs set before it renders (a cloud's DNS and login settings).
    fn platform_settings(platform: &str) -> &'static [&'static str] {
        match platform {
            "gke" => &["config.cloud.gcp_project=example"],
            "eks" => {
                &["config.cloud.aws_region=eu-west-1", "oauth2_proxy.oidc_issuer_url=https://id.example.com/realms/x"]
            }
            _ => &[],
        }
    }

    #[test]
    fn every_monitor_of_every_platform_validates_against_its_crd() {
        // Every component that declares metrics, under either ingress controller: a render
        // succeeds only if each ServiceMonitor and PodMonitor matches its CRD's schema.
        for platform in crate::platforms::names() {
            for ingress in ["nginx", "traefik"] {
                let mut s = crate::Stack::new();
                s.platform(platform, "test").expect("an embedded platform");
                let sets = [
                    "config.dns_zone=example.com",
                    "platform.monitoring=operator",
                    "platform.components.kured=true",
                    "platform.components.node_problem_detector=true",
                    "platform.components.keycloak=true",
                ];
                for set in sets.iter().chain(platform_settings(platform)) {
                    s.set(set, false).expect("a set flag");
                }
                s.set(&format!("platform.ingress_controller={ingress}"), false).expect("a set flag");
                let r = s.render(crate::ALL).unwrap_or_else(|e| panic!("{platform}/{ingress}: {}", e.render()));
                let kinds: Vec<&str> = r.objects.iter().map(|o| o.kind()).collect();
                for kind in ["ServiceMonitor", "PodMonitor", "PrometheusRule"] {
                    assert!(kinds.contains(&kind), "{platform}/{ingress}: no {kind}");
                }
            }
        }
    }

    #[test]
    fn a_misspelt_monitor_field_is_refused_with_the_crd_message() {
        let cases = [
            (
                "prometheus.prometheus.serviceMonitor.spec.endpoints[0].intervall=30s",
                "prometheus.prometheus\\.serviceMonitor.spec.endpoints[0].intervall: unknown field `intervall`",
                "servicemonitors.monitoring.coreos.com",
                "ServiceMonitor kubeprod/prometheus",
                72,
            ),
            (
                "prometheus.nodeExporter.podMonitor.spec.podMetricsEndpoints[0].intervall=30s",
                "prometheus.nodeExporter\\.podMonitor.spec.podMetricsEndpoints[0].intervall: unknown field `intervall`",
                "podmonitors.monitoring.coreos.com",
                "PodMonitor kubeprod/node-exporter",
                80,
            ),
        ];
        for mode in ["operator", "both"] {
            for (set, want, crd, object, col) in cases {
                let mut s = operator_stack(mode);
                s.set(set, false).expect("a set flag");
                let msg = s.render(crate::ALL).expect_err("the CRD has no `intervall`").render();
                assert!(msg.starts_with(&format!("error: --set {set}:1:{col}: {want}")), "{mode}: {msg}");
                assert!(msg.contains("did you mean `interval`?"), "{msg}");
                assert!(msg.contains(&format!("note: in {object}")), "{msg}");
                assert!(msg.contains(&format!("CRD `{crd}` (v1) has no such field")), "{msg}");
            }
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
