//! `prometheus.yml` and the rule files as typed data, serialized to YAML by runway's writer.
//!
//! The scrape jobs are BKPR's (prometheus-config.jsonnet, itself Prometheus'
//! `prometheus-kubernetes.yml` example), brought to Prometheus 3 and current Kubernetes:
//!
//! - `kubernetes-apiservers`: the `default/kubernetes` endpoints, over TLS with the pod's
//!   service account token;
//! - `kubernetes-nodes` and `kubernetes-cadvisor`: each kubelet's `/metrics` and
//!   `/metrics/cadvisor`, scraped directly on its port (10250) with the token. BKPR went
//!   through the API server's `nodes/proxy`, a permission that also reaches the kubelet's
//!   exec endpoints; `nodes/metrics` is all this needs;
//! - `kubernetes-service-endpoints` and `kubernetes-pods`: Services and pods annotated
//!   `prometheus.io/scrape: "true"`, with `prometheus.io/path`, `prometheus.io/port` (and
//!   `prometheus.io/scheme` for Services) choosing the endpoint; pod addresses are IPv4 or
//!   IPv6;
//! - `kubernetes-services` and `kubernetes-ingresses`: Services and Ingresses annotated
//!   `prometheus.io/probe: "true"`, probed over HTTP through the blackbox exporter.
//!
//! Every job that finds pods adds BKPR's synthetic labels `kubernetes_namespace` and
//! `kubernetes_pod_name` (and `kubernetes_name` for the Service or Ingress). Endpoints are
//! discovered through EndpointSlices (`role: endpointslice`): v1 Endpoints are deprecated
//! since Kubernetes 1.33.

use std::collections::BTreeMap;

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::params::{check_duration, is_label_name, AlertRule, PrometheusParams};

/// Where the pod's service account credentials are mounted.
const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The whole `prometheus.yml`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrometheusConfig {
    /// Defaults for every job.
    pub global: GlobalConfig,
    /// Where alerts go.
    pub alerting: AlertingConfig,
    /// Rule files, relative to this file's folder.
    pub rule_files: Vec<String>,
    /// The scrape jobs.
    pub scrape_configs: Vec<NamedScrapeConfig>,
}

/// `global:`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GlobalConfig {
    /// How often targets are scraped.
    pub scrape_interval: String,
    /// How long a scrape may take.
    pub scrape_timeout: String,
    /// How often rules are evaluated.
    pub evaluation_interval: String,
    /// Labels added to series and alerts leaving this Prometheus.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub external_labels: BTreeMap<String, String>,
}

/// `alerting:`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertingConfig {
    /// The Alertmanagers to send alerts to.
    pub alertmanagers: Vec<AlertmanagerTarget>,
}

/// One entry of `alerting.alertmanagers`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertmanagerTarget {
    /// The Alertmanager API version.
    pub api_version: String,
    /// The path Alertmanager serves under (`/alertmanager`, behind the shared Ingress).
    pub path_prefix: String,
    /// `http`.
    pub scheme: String,
    /// How the Alertmanager pods are found.
    pub kubernetes_sd_configs: Vec<KubernetesSdConfig>,
    /// Which discovered endpoints are kept.
    pub relabel_configs: Vec<RelabelConfig>,
}

/// A scrape job with its name (`scrape_configs` items).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NamedScrapeConfig {
    /// The job name, the `job` label of its series.
    pub job_name: String,
    /// The job.
    #[serde(flatten)]
    pub config: ScrapeConfig,
}

/// A scrape job (Prometheus' `scrape_config`, the fields runway's jobs and most users need).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    /// How often to scrape this job. Default: `null` (the global interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_interval: Option<String>,
    /// Scrape timeout. Default: `null` (the global timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrape_timeout: Option<String>,
    /// The HTTP path of the metrics. Default: `null` (`/metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_path: Option<String>,
    /// `http` or `https`. Default: `null` (`http`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Keep the target's own labels when they clash with the job's. Default: `null` (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honor_labels: Option<bool>,
    /// URL query parameters (`module: [http_2xx]` for the blackbox exporter). Default: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Vec<String>>,
    /// The `Authorization` header. Default: `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// TLS settings for `https`. Default: `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
    /// Kubernetes service discovery. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kubernetes_sd_configs: Vec<KubernetesSdConfig>,
    /// Fixed targets. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_configs: Vec<StaticConfig>,
    /// Relabelling of targets before the scrape. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relabel_configs: Vec<RelabelConfig>,
    /// Relabelling of scraped series. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metric_relabel_configs: Vec<RelabelConfig>,
}

/// The `Authorization` header of a scrape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme. Default: `null` (`Bearer`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// A file holding the credentials (never the credentials themselves in a ConfigMap).
    pub credentials_file: String,
}

/// TLS settings of a scrape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The CA bundle that signs the target's certificate. Default: `null` (system roots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The name the certificate must carry. Default: `null` (the target's host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Skip certificate verification. Default: `null` (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_verify: Option<bool>,
}

/// Kubernetes service discovery.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSdConfig {
    /// `node`, `service`, `pod`, `endpoints`, `endpointslice` or `ingress`.
    pub role: String,
    /// Namespaces to look in. Default: `null` (all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<NamespaceSelector>,
}

/// `namespaces:` of a Kubernetes discovery.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamespaceSelector {
    /// Namespace names. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Also Prometheus' own namespace. Default: `null` (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_namespace: Option<bool>,
}

/// Fixed targets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` of each target.
    pub targets: Vec<String>,
    /// Labels added to their series. Default: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// One relabelling step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelabelConfig {
    /// Labels whose values are joined (with `separator`) and matched. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_labels: Vec<String>,
    /// Separator of the joined values. Default: `null` (`;`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    /// The regular expression (anchored). Default: `null` (`(.*)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Modulus for `hashmod`. Default: `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modulus: Option<u64>,
    /// The label written. Default: `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_label: Option<String>,
    /// The value written (`$1` refers to the regex's groups). Default: `null` (`$1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    /// `replace`, `keep`, `drop`, `labelmap`, `labeldrop`, `labelkeep`, `hashmod`,
    /// `keepequal`, `dropequal`, `lowercase`, `uppercase`. Default: `null` (`replace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

const ROLES: &[&str] = &["node", "service", "pod", "endpoints", "endpointslice", "ingress"];
const ACTIONS: &[&str] = &[
    "replace",
    "keep",
    "drop",
    "labelmap",
    "labeldrop",
    "labelkeep",
    "hashmod",
    "keepequal",
    "dropequal",
    "lowercase",
    "uppercase",
];

impl ScrapeConfig {
    /// Checks a user's job; `path` is where it sits in the parameters.
    pub fn validate(&self, job: &str, path: &KeyPath) -> Result<(), Error> {
        if job.is_empty() || job.chars().any(char::is_control) {
            return Err(Error::invalid(format!("`{job}` is not a job name"))
                .help("name the job by its key, e.g. `extra_scrape_configs: {my-app: {...}}`")
                .with_path(path.clone()));
        }
        if BUILTIN_JOBS.contains(&job) {
            return Err(Error::invalid(format!("job `{job}` is built in"))
                .help("give your job another name")
                .with_path(path.clone()));
        }
        for (key, d) in [("scrape_interval", &self.scrape_interval), ("scrape_timeout", &self.scrape_timeout)] {
            if let Some(d) = d {
                check_duration(d, path.key(key))?;
            }
        }
        if let Some(s) = &self.scheme {
            if s != "http" && s != "https" {
                return Err(Error::invalid(format!("scheme `{s}` is neither `http` nor `https`"))
                    .help("write `http` or `https`")
                    .with_path(path.key("scheme")));
            }
        }
        if self.kubernetes_sd_configs.is_empty() && self.static_configs.is_empty() {
            return Err(Error::invalid(format!("job `{job}` has no targets"))
                .help("give `static_configs: [{targets: [host:port]}]` or `kubernetes_sd_configs: [{role: pod}]`")
                .with_path(path.clone()));
        }
        for (i, sd) in self.kubernetes_sd_configs.iter().enumerate() {
            if !ROLES.contains(&sd.role.as_str()) {
                return Err(Error::invalid(format!("`{}` is not a Kubernetes discovery role", sd.role))
                    .help(format!("use one of {}", ROLES.join(", ")))
                    .with_path(path.key("kubernetes_sd_configs").index(i).key("role")));
            }
        }
        for (list, steps) in
            [("relabel_configs", &self.relabel_configs), ("metric_relabel_configs", &self.metric_relabel_configs)]
        {
            for (i, r) in steps.iter().enumerate() {
                let at = path.key(list).index(i);
                if let Some(a) = &r.action {
                    if !ACTIONS.contains(&a.as_str()) {
                        return Err(Error::invalid(format!("`{a}` is not a relabel action"))
                            .help(format!("use one of {}", ACTIONS.join(", ")))
                            .with_path(at.key("action")));
                    }
                }
                if let Some(t) = &r.target_label {
                    // `$1`-style references are allowed in target labels.
                    if !t.contains('$') && !is_label_name(t) {
                        return Err(Error::invalid(format!("`{t}` is not a label name"))
                            .help("use letters, digits and `_`, not starting with a digit")
                            .with_path(at.key("target_label")));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The names of runway's jobs.
pub const BUILTIN_JOBS: &[&str] = &[
    "kubernetes-apiservers",
    "kubernetes-nodes",
    "kubernetes-cadvisor",
    "kubernetes-service-endpoints",
    "kubernetes-services",
    "kubernetes-ingresses",
    "kubernetes-pods",
];

/// A rule file (`basic.yaml`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleFile<'a> {
    /// Its groups (one per file here).
    pub groups: Vec<RuleGroup<'a>>,
}

/// A rule group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleGroup<'a> {
    /// The group's name (`basic.rules`).
    pub name: &'a str,
    /// Its alerting rules, by alert name.
    pub rules: Vec<NamedRule<'a>>,
}

/// An alerting rule with its name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NamedRule<'a> {
    /// The alert's name.
    pub alert: &'a str,
    /// The rule.
    #[serde(flatten)]
    pub rule: &'a AlertRule,
}

/// What the jobs need to know about the cluster.
pub struct Wiring<'a> {
    /// The namespace of the runtime.
    pub namespace: &'a str,
    /// The Alertmanager Service and its port's name.
    pub alertmanager_service: &'a str,
    /// Its port's name.
    pub alertmanager_port_name: &'a str,
    /// The path Alertmanager serves under.
    pub alertmanager_path: &'a str,
    /// `host:port` of the blackbox exporter, `None` without one (no probe jobs then).
    pub blackbox_address: Option<String>,
}

fn relabel() -> RelabelConfig {
    RelabelConfig::default()
}

fn keep(source: &[&str], regex: &str) -> RelabelConfig {
    RelabelConfig {
        source_labels: source.iter().map(|s| s.to_string()).collect(),
        action: Some("keep".into()),
        regex: Some(regex.into()),
        ..relabel()
    }
}

fn copy(source: &str, target: &str) -> RelabelConfig {
    RelabelConfig {
        source_labels: vec![source.into()],
        action: Some("replace".into()),
        target_label: Some(target.into()),
        ..relabel()
    }
}

fn set(target: &str, value: &str) -> RelabelConfig {
    RelabelConfig { target_label: Some(target.into()), replacement: Some(value.into()), ..relabel() }
}

fn labelmap(regex: &str) -> RelabelConfig {
    RelabelConfig { action: Some("labelmap".into()), regex: Some(regex.into()), ..relabel() }
}

fn sd(role: &str) -> Vec<KubernetesSdConfig> {
    vec![KubernetesSdConfig { role: role.into(), namespaces: None }]
}

fn token() -> Option<Authorization> {
    Some(Authorization { type_: None, credentials_file: format!("{SA_DIR}/token") })
}

/// The annotation of a discovered object, as its meta label (`prometheus.io/scrape` on a
/// pod is `__meta_kubernetes_pod_annotation_prometheus_io_scrape`).
fn annotation(kind: &str, key: &str) -> String {
    format!("__meta_kubernetes_{kind}_annotation_prometheus_io_{key}")
}

/// The pods' `prometheus.io/port` rewrite, for IPv4 and IPv6 pod addresses (Prometheus'
/// example config): a pod without declared ports is discovered without a port, so the
/// address is rebuilt from the pod IP.
fn pod_port_rewrites() -> [RelabelConfig; 2] {
    let (kind, ip_label) = ("pod", "__meta_kubernetes_pod_ip");
    [
        RelabelConfig {
            source_labels: vec![annotation(kind, "port"), ip_label.into()],
            action: Some("replace".into()),
            regex: Some(r"(\d+);(([A-Fa-f0-9]{1,4}::?){1,7}[A-Fa-f0-9]{1,4})".into()),
            replacement: Some("[$2]:$1".into()),
            target_label: Some("__address__".into()),
            ..relabel()
        },
        RelabelConfig {
            source_labels: vec![annotation(kind, "port"), ip_label.into()],
            action: Some("replace".into()),
            regex: Some(r"(\d+);((([0-9]+?)(\.|$)){4})".into()),
            replacement: Some("$2:$1".into()),
            target_label: Some("__address__".into()),
            ..relabel()
        },
    ]
}

/// A kubelet job: every node's kubelet on its own port, with the service account token.
/// Kubelet serving certificates are self-signed on most clusters (kubelet TLS bootstrap of
/// serving certificates is off by default), hence no verification, as BKPR and
/// metrics-server's `--kubelet-insecure-tls` do.
fn kubelet_job(path: &str) -> ScrapeConfig {
    ScrapeConfig {
        scheme: Some("https".into()),
        metrics_path: Some(path.into()),
        authorization: token(),
        tls_config: Some(TlsConfig {
            ca_file: Some(format!("{SA_DIR}/ca.crt")),
            insecure_skip_verify: Some(true),
            ..Default::default()
        }),
        kubernetes_sd_configs: sd("node"),
        relabel_configs: vec![labelmap("__meta_kubernetes_node_label_(.+)")],
        ..Default::default()
    }
}

fn probe_job(role: &str, target: RelabelConfig, blackbox: &str) -> ScrapeConfig {
    ScrapeConfig {
        metrics_path: Some("/probe".into()),
        params: BTreeMap::from([("module".to_string(), vec!["http_2xx".to_string()])]),
        kubernetes_sd_configs: sd(role),
        relabel_configs: vec![
            keep(&[&annotation(role, "probe")], "true"),
            target,
            set("__address__", blackbox),
            copy("__param_target", "instance"),
            labelmap(&format!("__meta_kubernetes_{role}_label_(.+)")),
            copy("__meta_kubernetes_namespace", "kubernetes_namespace"),
            copy(&format!("__meta_kubernetes_{role}_name"), "kubernetes_name"),
        ],
        ..Default::default()
    }
}

/// runway's scrape jobs, in a fixed order (the order of [`BUILTIN_JOBS`]).
pub fn builtin_jobs(w: &Wiring) -> Vec<NamedScrapeConfig> {
    let named = |name: &str, config: ScrapeConfig| NamedScrapeConfig { job_name: name.into(), config };
    let probes = |blackbox: &str| {
        vec![
            named("kubernetes-services", probe_job("service", copy("__address__", "__param_target"), blackbox)),
            named(
                "kubernetes-ingresses",
                probe_job(
                    "ingress",
                    RelabelConfig {
                        source_labels: vec![
                            "__meta_kubernetes_ingress_scheme".into(),
                            "__address__".into(),
                            "__meta_kubernetes_ingress_path".into(),
                        ],
                        regex: Some("(.+);(.+);(.+)".into()),
                        replacement: Some("${1}://${2}${3}".into()),
                        target_label: Some("__param_target".into()),
                        ..relabel()
                    },
                    blackbox,
                ),
            ),
        ]
    };
    let mut jobs = vec![
        named(
            "kubernetes-apiservers",
            ScrapeConfig {
                scheme: Some("https".into()),
                authorization: token(),
                tls_config: Some(TlsConfig { ca_file: Some(format!("{SA_DIR}/ca.crt")), ..Default::default() }),
                kubernetes_sd_configs: vec![KubernetesSdConfig {
                    role: "endpointslice".into(),
                    namespaces: Some(NamespaceSelector { names: vec!["default".into()], own_namespace: None }),
                }],
                relabel_configs: vec![keep(
                    &[
                        "__meta_kubernetes_namespace",
                        "__meta_kubernetes_service_name",
                        "__meta_kubernetes_endpointslice_port_name",
                    ],
                    "default;kubernetes;https",
                )],
                ..Default::default()
            },
        ),
        named("kubernetes-nodes", kubelet_job("/metrics")),
        named("kubernetes-cadvisor", kubelet_job("/metrics/cadvisor")),
        named("kubernetes-service-endpoints", {
            ScrapeConfig {
                kubernetes_sd_configs: sd("endpointslice"),
                relabel_configs: vec![
                    keep(&[&annotation("service", "scrape")], "true"),
                    RelabelConfig {
                        source_labels: vec![annotation("service", "scheme")],
                        action: Some("replace".into()),
                        regex: Some("(https?)".into()),
                        target_label: Some("__scheme__".into()),
                        ..relabel()
                    },
                    RelabelConfig {
                        source_labels: vec![annotation("service", "path")],
                        action: Some("replace".into()),
                        regex: Some("(.+)".into()),
                        target_label: Some("__metrics_path__".into()),
                        ..relabel()
                    },
                    // Endpoints are always `host:port` (`[v6]:port`): swap the port.
                    RelabelConfig {
                        source_labels: vec!["__address__".into(), annotation("service", "port")],
                        action: Some("replace".into()),
                        regex: Some(r"(.+?)(?::\d+)?;(\d+)".into()),
                        replacement: Some("$1:$2".into()),
                        target_label: Some("__address__".into()),
                        ..relabel()
                    },
                    labelmap("__meta_kubernetes_service_label_(.+)"),
                    copy("__meta_kubernetes_namespace", "kubernetes_namespace"),
                    copy("__meta_kubernetes_service_name", "kubernetes_name"),
                    copy("__meta_kubernetes_pod_name", "kubernetes_pod_name"),
                ],
                ..Default::default()
            }
        }),
        named("kubernetes-pods", {
            let [v6, v4] = pod_port_rewrites();
            ScrapeConfig {
                kubernetes_sd_configs: sd("pod"),
                relabel_configs: vec![
                    keep(&[&annotation("pod", "scrape")], "true"),
                    RelabelConfig {
                        source_labels: vec!["__meta_kubernetes_pod_phase".into()],
                        action: Some("drop".into()),
                        regex: Some("Pending|Succeeded|Failed|Completed".into()),
                        ..relabel()
                    },
                    RelabelConfig {
                        source_labels: vec![annotation("pod", "path")],
                        action: Some("replace".into()),
                        regex: Some("(.+)".into()),
                        target_label: Some("__metrics_path__".into()),
                        ..relabel()
                    },
                    v6,
                    v4,
                    labelmap("__meta_kubernetes_pod_label_(.+)"),
                    copy("__meta_kubernetes_namespace", "kubernetes_namespace"),
                    copy("__meta_kubernetes_pod_name", "kubernetes_pod_name"),
                ],
                ..Default::default()
            }
        }),
    ];
    if let Some(blackbox) = &w.blackbox_address {
        // After the service endpoints job, as BUILTIN_JOBS lists them.
        let at = jobs.len() - 1;
        jobs.splice(at..at, probes(blackbox));
    }
    jobs
}

/// Builds `prometheus.yml`.
pub fn prometheus_config(p: &PrometheusParams, w: &Wiring) -> PrometheusConfig {
    let interval = format!("{}s", p.scrape_interval_secs);
    // A scrape may not outlast its interval; BKPR's 60s interval had a 30s timeout.
    let timeout = format!("{}s", (p.scrape_interval_secs / 2).clamp(1, 30));
    let mut scrape_configs = builtin_jobs(w);
    scrape_configs.extend(
        p.extra_scrape_configs.iter().map(|(job, c)| NamedScrapeConfig { job_name: job.clone(), config: c.clone() }),
    );
    PrometheusConfig {
        global: GlobalConfig {
            scrape_interval: interval.clone(),
            scrape_timeout: timeout,
            evaluation_interval: interval,
            external_labels: p.external_labels.clone(),
        },
        alerting: AlertingConfig {
            alertmanagers: vec![AlertmanagerTarget {
                api_version: "v2".into(),
                path_prefix: w.alertmanager_path.into(),
                scheme: "http".into(),
                kubernetes_sd_configs: vec![KubernetesSdConfig {
                    role: "endpointslice".into(),
                    namespaces: Some(NamespaceSelector { names: vec![w.namespace.into()], own_namespace: None }),
                }],
                relabel_configs: vec![keep(
                    &["__meta_kubernetes_service_name", "__meta_kubernetes_endpointslice_port_name"],
                    &format!("{};{}", w.alertmanager_service, w.alertmanager_port_name),
                )],
            }],
        },
        rule_files: p.rule_files().into_iter().map(|(file, _, _)| file).collect(),
        scrape_configs,
    }
}

/// Builds one rule file's content.
pub fn rule_file<'a>(group: &'a str, rules: &'a BTreeMap<String, AlertRule>) -> RuleFile<'a> {
    RuleFile {
        groups: vec![RuleGroup {
            name: group,
            rules: rules.iter().map(|(alert, rule)| NamedRule { alert, rule }).collect(),
        }],
    }
}

/// Serializes typed config data to YAML with runway's writer (block style, sorted keys,
/// strings quoted wherever a YAML 1.1 reader such as Prometheus' go-yaml could misread them).
pub fn to_yaml<T: Serialize>(value: &T, what: &str) -> Result<String, Error> {
    let json = serde_json::to_value(value).map_err(|e| Error::invalid(format!("{what} cannot be written: {e}")))?;
    let mut out = String::new();
    runway_core::emit::write_yaml_document(&mut out, &json);
    Ok(out)
}
