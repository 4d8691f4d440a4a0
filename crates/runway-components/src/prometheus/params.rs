//! Parameters of the monitoring stack and their validation.
//!
//! The keys are BKPR's (`retention_days`, `storage`, `monitoring_rules`, `am_config`,
//! `alertmanager.storage`), so its documented overrides port by syntax alone. Sub-components
//! (`prometheus`, `alertmanager`, `nodeExporter`, `ksm`, `blackboxExporter`) are parameter
//! structs whose block also holds patches of their objects (`alertmanager: {deploy: ...}`).
//! Validation runs at the start of `build`; every error names its key path and a fix.

use std::collections::BTreeMap;
use std::fmt;

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use super::alertmanager::{
    AmConfig, AmGlobal, AmRoute, EmailConfig, InhibitRule, PagerdutyConfig, Receiver, SlackConfig, WebhookConfig,
};
pub use super::config::{
    Authorization, KubernetesSdConfig, NamespaceSelector, RelabelConfig, ScrapeConfig, StaticConfig, TlsConfig,
};
use crate::common::pod::Resources;
use crate::quantity::Quantity;

/// The Prometheus image: 3.5 is Prometheus' first long-term-support release.
pub const DEFAULT_PROMETHEUS_IMAGE: &str = "quay.io/prometheus/prometheus:v3.5.0";
/// The Alertmanager image.
pub const DEFAULT_ALERTMANAGER_IMAGE: &str = "quay.io/prometheus/alertmanager:v0.28.1";
/// The config-reload sidecar (prometheus-operator's config reloader, which the Prometheus
/// community charts use in place of the unmaintained `configmap-reload` that BKPR ran).
pub const DEFAULT_CONFIG_RELOADER_IMAGE: &str = "quay.io/prometheus-operator/prometheus-config-reloader:v0.81.0";
/// The node exporter image.
pub const DEFAULT_NODE_EXPORTER_IMAGE: &str = "quay.io/prometheus/node-exporter:v1.9.1";
/// The kube-state-metrics image.
pub const DEFAULT_KSM_IMAGE: &str = "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.15.0";
/// The blackbox exporter image.
pub const DEFAULT_BLACKBOX_IMAGE: &str = "quay.io/prometheus/blackbox-exporter:v0.26.0";

/// BKPR's sizing model for the volume when `storage` is not given (prometheus.jsonnet):
/// 10000 time series, 2 bytes per sample, 1.5 times the estimate.
const SIZING_TIME_SERIES: u64 = 10_000;

/// The monitoring stack: Prometheus with its rules, Alertmanager, node-exporter,
/// kube-state-metrics and the blackbox exporter (BKPR's `prometheus` component).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PrometheusParams {
    /// Days of samples Prometheus keeps (`--storage.tsdb.retention.time`).
    /// Default: `183` (BKPR's `366 / 2`, six months).
    pub retention_days: u32,
    /// Size of each `data-prometheus-N` volume: a number of mebibytes, as BKPR took it
    /// (`storage: 16384` is `16384Mi`), or a quantity (`16Gi`). Prometheus also deletes the
    /// oldest blocks when the data reaches 85% of it (`--storage.tsdb.retention.size`), so a
    /// full disk never stops it. Default: `null`, sized as BKPR did from `retention_days`
    /// and `scrape_interval_secs` (1.5 × 10000 series × 2 bytes per sample): `7905Mi` for
    /// the defaults.
    pub storage: Option<StorageSize>,
    /// Seconds between scrapes and between rule evaluations. Default: `60` (BKPR's).
    pub scrape_interval_secs: u32,
    /// Alerts of the `basic.rules` group (file `basic.yaml`), by alert name. `null` for an
    /// alert removes it. Default: BKPR's `K8sApiUnavailable` and `CrashLooping`.
    pub basic_rules: BTreeMap<String, AlertRule>,
    /// Alerts of the `monitoring.rules` group (file `monitoring.yaml`), by alert name; add
    /// your own here as BKPR documented (`monitoring_rules+: {ElasticsearchDown: {...}}`).
    /// Default: BKPR's `PrometheusBadConfig` and `AlertmanagerBadConfig`.
    pub monitoring_rules: BTreeMap<String, AlertRule>,
    /// More rule groups: group name (`elasticsearch.rules`) to alerts by name, each group
    /// in its own file `<group>.yaml`. Default: none.
    pub rule_groups: BTreeMap<String, BTreeMap<String, AlertRule>>,
    /// More scrape jobs, by job name, next to the built-in ones (API servers, kubelets,
    /// cAdvisor, annotated services and pods, blackbox probes). Default: none.
    pub extra_scrape_configs: BTreeMap<String, ScrapeConfig>,
    /// Labels added to every series and alert leaving this Prometheus (`cluster: prod`).
    /// Default: none.
    pub external_labels: BTreeMap<String, String>,
    /// The Alertmanager configuration (BKPR's `am_config`), with receivers as a map
    /// `receivers_` of name to receiver. Default: BKPR's (an `email` receiver without
    /// recipients, grouping by alertname, cluster and service).
    pub am_config: AmConfig,
    /// The config-reload sidecar's image (in the Prometheus and Alertmanager pods).
    /// Default: `quay.io/prometheus-operator/prometheus-config-reloader:v0.81.0`.
    pub config_reloader_image: String,
    /// Requests and limits of each config-reload sidecar.
    /// Default: requests `cpu: 10m, memory: 32Mi`, limits `memory: 64Mi`.
    pub config_reloader_resources: Resources,
    /// The Prometheus server (BKPR's sub-component `prometheus`, whose objects sit beside:
    /// `prometheus: {deploy: ...}`). Default: see [`ServerParams`].
    pub prometheus: ServerParams,
    /// Alertmanager (BKPR's sub-component; `alertmanager: {storage: 9Gi}` as documented).
    /// Default: see [`AlertmanagerParams`].
    pub alertmanager: AlertmanagerParams,
    /// The node exporter DaemonSet (BKPR's key `nodeExporter`). Default: image
    /// `quay.io/prometheus/node-exporter:v1.9.1`, requests `cpu: 50m, memory: 64Mi`, limits
    /// `memory: 128Mi`.
    #[serde(rename = "nodeExporter")]
    pub node_exporter: ExporterParams,
    /// kube-state-metrics (BKPR's key `ksm`). Its memory grows with the cluster (about 2Mi
    /// per node). Default: image
    /// `registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.15.0`, requests
    /// `cpu: 100m, memory: 128Mi`, limits `memory: 256Mi`.
    pub ksm: ExporterParams,
    /// The blackbox exporter that probes annotated Services and Ingresses (key
    /// `blackboxExporter`). Default: image `quay.io/prometheus/blackbox-exporter:v0.26.0`,
    /// requests `cpu: 10m, memory: 32Mi`, limits `memory: 64Mi`.
    #[serde(rename = "blackboxExporter")]
    pub blackbox_exporter: ExporterParams,
}

impl Default for PrometheusParams {
    fn default() -> Self {
        PrometheusParams {
            retention_days: 183,
            storage: None,
            scrape_interval_secs: 60,
            basic_rules: default_basic_rules(),
            monitoring_rules: default_monitoring_rules(),
            rule_groups: BTreeMap::new(),
            extra_scrape_configs: BTreeMap::new(),
            external_labels: BTreeMap::new(),
            am_config: AmConfig::default(),
            config_reloader_image: DEFAULT_CONFIG_RELOADER_IMAGE.into(),
            config_reloader_resources: Resources::new("10m", "32Mi", None, "64Mi"),
            prometheus: ServerParams::default(),
            alertmanager: AlertmanagerParams::default(),
            node_exporter: ExporterParams {
                image: DEFAULT_NODE_EXPORTER_IMAGE.into(),
                resources: Resources::new("50m", "64Mi", None, "128Mi"),
            },
            ksm: ExporterParams {
                image: DEFAULT_KSM_IMAGE.into(),
                resources: Resources::new("100m", "128Mi", None, "256Mi"),
            },
            blackbox_exporter: ExporterParams {
                image: DEFAULT_BLACKBOX_IMAGE.into(),
                resources: Resources::new("10m", "32Mi", None, "64Mi"),
            },
        }
    }
}

/// The Prometheus server's own settings.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerParams {
    /// The image. Default: `quay.io/prometheus/prometheus:v3.5.0`.
    pub image: String,
    /// Requests and limits of the Prometheus container. No CPU limit: rule evaluation and
    /// compaction are bursty. Default: requests `cpu: 500m, memory: 1Gi` (BKPR asked for
    /// 500m and 500Mi), limits `memory: 2Gi`.
    pub resources: Resources,
}

impl Default for ServerParams {
    fn default() -> Self {
        ServerParams { image: DEFAULT_PROMETHEUS_IMAGE.into(), resources: Resources::new("500m", "1Gi", None, "2Gi") }
    }
}

/// Alertmanager's settings.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AlertmanagerParams {
    /// Size of each `storage-alertmanager-N` volume (silences and notification log): a
    /// quantity, or a number of mebibytes. Default: `5Gi` (BKPR's).
    pub storage: StorageSize,
    /// The image. Default: `quay.io/prometheus/alertmanager:v0.28.1`.
    pub image: String,
    /// Requests and limits of the Alertmanager container.
    /// Default: requests `cpu: 50m, memory: 64Mi`, limits `memory: 256Mi`.
    pub resources: Resources,
    /// A Secret, provided by you in the namespace, whose keys are mounted as files under
    /// `/etc/alertmanager/secrets/` for the `*_file` fields of `am_config` (SMTP password,
    /// Slack URL, PagerDuty key). When `--secrets-file` gives values for `prometheus`,
    /// runway renders this Secret from them instead. Default: `null` (none), or
    /// `alertmanager-secrets` when the secrets file has values.
    pub secret_name: Option<String>,
}

impl Default for AlertmanagerParams {
    fn default() -> Self {
        AlertmanagerParams {
            storage: StorageSize(Quantity::from("5Gi")),
            image: DEFAULT_ALERTMANAGER_IMAGE.into(),
            resources: Resources::new("50m", "64Mi", None, "256Mi"),
            secret_name: None,
        }
    }
}

/// An exporter's image and resources.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExporterParams {
    /// The image.
    pub image: String,
    /// Requests and limits of its container.
    pub resources: Resources,
}

/// One alerting rule (the alert's name is its key in the map that holds it).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// The PromQL expression; the alert fires for every series it returns.
    pub expr: String,
    /// How long the expression must hold before the alert fires (`10m`). Default: `null`
    /// (at once).
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    /// How long the alert keeps firing after the expression stops holding.
    /// Default: `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_firing_for: Option<String>,
    /// Labels added to the alert (`severity: critical`). Default: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations of the alert (`summary`, `description`). Default: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl AlertRule {
    fn new(expr: &str, for_: &str, severity: &str, annotations: &[(&str, &str)]) -> Self {
        AlertRule {
            expr: expr.into(),
            for_: Some(for_.into()),
            keep_firing_for: None,
            labels: BTreeMap::from([("severity".to_string(), severity.to_string())]),
            annotations: annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }
}

/// BKPR's `basic_rules`.
fn default_basic_rules() -> BTreeMap<String, AlertRule> {
    BTreeMap::from([
        (
            "K8sApiUnavailable".to_string(),
            AlertRule::new(
                r#"absent(up{job="kubernetes-apiservers"} == 1)"#,
                "15m",
                "critical",
                &[("message", "Kubernetes API has disappeared from Prometheus target discovery")],
            ),
        ),
        (
            "CrashLooping".to_string(),
            AlertRule::new(
                "rate(kube_pod_container_status_restarts_total[15m]) * 60 * 5 > 0",
                "1h",
                "critical",
                &[(
                    "message",
                    "Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is restarting \
                     {{ $value }} times / 5 minutes.",
                )],
            ),
        ),
    ])
}

/// BKPR's `monitoring_rules`. BKPR matched `kubernetes_namespace="kubeprod"`; these match
/// every Prometheus and Alertmanager scraped, whatever the namespace (a broken config is
/// worth knowing about anywhere), and name the pod with the synthetic labels the pod
/// scrape job sets (BKPR's annotations named `namespace`/`pod`, which these series lack).
fn default_monitoring_rules() -> BTreeMap<String, AlertRule> {
    BTreeMap::from([
        (
            "PrometheusBadConfig".to_string(),
            AlertRule::new(
                "max_over_time(prometheus_config_last_reload_successful[5m]) == 0",
                "10m",
                "critical",
                &[(
                    "message",
                    "Prometheus {{ $labels.kubernetes_namespace }}/{{ $labels.kubernetes_pod_name }} has failed to \
                     reload its configuration.",
                )],
            ),
        ),
        (
            "AlertmanagerBadConfig".to_string(),
            AlertRule::new(
                "max_over_time(alertmanager_config_last_reload_successful[5m]) == 0",
                "10m",
                "warning",
                &[(
                    "message",
                    "Reloading Alertmanager's configuration has failed for {{ $labels.kubernetes_namespace }}/\
                     {{ $labels.kubernetes_pod_name }}.",
                )],
            ),
        ),
    ])
}

/// A volume size: a Kubernetes quantity, or a bare number of mebibytes (BKPR's unit for
/// `prometheus.storage`, where `16384` meant `16384Mi`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageSize(pub Quantity);

impl StorageSize {
    /// `MIB` mebibytes.
    pub fn mebibytes(mib: u64) -> Self {
        // Invariant: `<digits>Mi` is always a valid quantity.
        StorageSize(Quantity::parse(&format!("{mib}Mi")).expect("digits followed by Mi parse"))
    }

    /// The quantity.
    pub fn quantity(&self) -> &Quantity {
        &self.0
    }
}

impl fmt::Display for StorageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for StorageSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for StorageSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            N(serde_json::Number),
        }
        match Raw::deserialize(d)? {
            Raw::S(s) => Quantity::parse(&s).map(StorageSize).map_err(serde::de::Error::custom),
            Raw::N(n) => match n.as_u64() {
                Some(mib) => Ok(StorageSize::mebibytes(mib)),
                None => Err(serde::de::Error::custom(format!(
                    "`{n}` is not a whole number of mebibytes (write e.g. `16384`, or a quantity such as `16Gi`)"
                ))),
            },
        }
    }
}

impl JsonSchema for StorageSize {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "StorageSize".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A volume size: a Kubernetes quantity (`16Gi`), or a whole number of mebibytes (`16384`)",
            "anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]
        })
    }
}

/// `prometheus.<key>`.
pub(super) fn at(key: &str) -> KeyPath {
    KeyPath::root().key("prometheus").key(key)
}

/// Whether `s` is a Prometheus duration (`30s`, `1h30m`, `7d`): units from the largest
/// down, each at most once, as Prometheus' and Alertmanager's parsers take them.
pub fn is_duration(s: &str) -> bool {
    const UNITS: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    if s == "0" {
        return true;
    }
    let mut rest = s;
    let mut next_unit = 0;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        // `ms` before `m`, so `5ms` is not read as `5m` followed by `s`.
        let Some(unit) =
            (next_unit..UNITS.len()).filter(|&i| rest.starts_with(UNITS[i])).max_by_key(|&i| UNITS[i].len())
        else {
            return false;
        };
        rest = &rest[UNITS[unit].len()..];
        next_unit = unit + 1;
    }
    true
}

/// Whether `s` is a Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `s` is a metric-style name (`[a-zA-Z_:][a-zA-Z0-9_:]*`), as alert names are.
fn is_alert_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Whether `s` may be a ConfigMap key (`[-._a-zA-Z0-9]+`).
pub(super) fn is_file_name(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub(super) fn check_image(image: &str, path: KeyPath) -> Result<(), Error> {
    crate::images::check_image(image, DEFAULT_PROMETHEUS_IMAGE, path)
}

pub(super) fn check_duration(value: &str, path: KeyPath) -> Result<(), Error> {
    if !is_duration(value) {
        return Err(Error::invalid(format!("`{value}` is not a duration"))
            .help("write a number and a unit, largest first: `30s`, `10m`, `1h30m`, `7d`")
            .with_path(path));
    }
    Ok(())
}

fn check_resources(r: &Resources, path: KeyPath) -> Result<(), Error> {
    r.check().map_err(|msg| Error::invalid(msg).help("raise the limit or lower the request").with_path(path))
}

impl PrometheusParams {
    /// The size of each Prometheus volume: `storage`, or BKPR's estimate from the retention.
    pub fn storage_size(&self) -> StorageSize {
        match &self.storage {
            Some(s) => s.clone(),
            None => StorageSize::mebibytes(self.estimated_storage_mib()),
        }
    }

    /// BKPR's estimate in whole mebibytes (it printed `%dMi`):
    /// 1.5 × retention seconds × (10000 series / scrape interval) × 2 bytes / 10⁶.
    pub fn estimated_storage_mib(&self) -> u64 {
        let seconds = u64::from(self.retention_days) * 86_400;
        // 1.5 × 2 bytes = 3; integer arithmetic rounds down as `%d` did.
        seconds * SIZING_TIME_SERIES * 3 / (u64::from(self.scrape_interval_secs.max(1)) * 1_000_000)
    }

    /// `--storage.tsdb.retention.size`: 85% of the volume, in Prometheus' (binary) MB, so
    /// that compaction and the WAL always find room.
    pub fn retention_size_mb(&self) -> u64 {
        (self.storage_size().quantity().to_f64() * 0.85 / 1_048_576.0) as u64
    }

    /// The rule files: file name, group name and alerts, in file-name order.
    pub fn rule_files(&self) -> Vec<(String, String, &BTreeMap<String, AlertRule>)> {
        let mut files = vec![
            ("basic.yaml".to_string(), "basic.rules".to_string(), &self.basic_rules),
            ("monitoring.yaml".to_string(), "monitoring.rules".to_string(), &self.monitoring_rules),
        ];
        for (group, rules) in &self.rule_groups {
            files.push((format!("{group}.yaml"), group.clone(), rules));
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files
    }

    /// Checks every parameter; the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        if self.retention_days == 0 {
            return Err(Error::invalid("retention_days must be at least 1")
                .help("BKPR kept `183` days (six months); the seed's example keeps `366`")
                .with_path(at("retention_days")));
        }
        if self.scrape_interval_secs == 0 {
            return Err(Error::invalid("scrape_interval_secs must be at least 1")
                .help("BKPR scraped every `60` seconds")
                .with_path(at("scrape_interval_secs")));
        }
        let storage = self.storage_size();
        if storage.quantity().to_f64() < 1_048_576.0 * 64.0 {
            return Err(Error::invalid(format!("storage `{storage}` is too small for Prometheus"))
                .help("give it at least `64Mi`; BKPR's example used `16384` (16Gi) for 366 days")
                .with_path(at("storage")));
        }
        let am_storage = self.alertmanager.storage.quantity();
        if am_storage.to_f64() < 1_048_576.0 {
            return Err(Error::invalid(format!("storage `{am_storage}` is too small for Alertmanager"))
                .help("BKPR gave it `5Gi`")
                .with_path(at("alertmanager").key("storage")));
        }
        for (path, image) in [
            (at("config_reloader_image"), &self.config_reloader_image),
            (at("prometheus").key("image"), &self.prometheus.image),
            (at("alertmanager").key("image"), &self.alertmanager.image),
            (at("nodeExporter").key("image"), &self.node_exporter.image),
            (at("ksm").key("image"), &self.ksm.image),
            (at("blackboxExporter").key("image"), &self.blackbox_exporter.image),
        ] {
            check_image(image, path)?;
        }
        for (path, r) in [
            (at("config_reloader_resources"), &self.config_reloader_resources),
            (at("prometheus").key("resources"), &self.prometheus.resources),
            (at("alertmanager").key("resources"), &self.alertmanager.resources),
            (at("nodeExporter").key("resources"), &self.node_exporter.resources),
            (at("ksm").key("resources"), &self.ksm.resources),
            (at("blackboxExporter").key("resources"), &self.blackbox_exporter.resources),
        ] {
            check_resources(r, path)?;
        }
        if let Some(name) = &self.alertmanager.secret_name {
            if !runway_core::names::is_dns_subdomain(name) {
                return Err(Error::invalid(format!("`{name}` is not a Secret name"))
                    .help("use lowercase letters, digits, `-` and `.`, e.g. `alertmanager-secrets`")
                    .with_path(at("alertmanager").key("secret_name")));
            }
        }
        for (name, value) in &self.external_labels {
            if !is_label_name(name) {
                return Err(Error::invalid(format!("`{name}` is not a label name"))
                    .help("use letters, digits and `_`, not starting with a digit, e.g. `cluster`")
                    .with_path(at("external_labels").key(name)));
            }
            if value.is_empty() {
                return Err(Error::invalid(format!("external label `{name}` is empty"))
                    .help("give it a value, or remove it with `null`")
                    .with_path(at("external_labels").key(name)));
            }
        }
        self.validate_rules()?;
        for (job, sc) in &self.extra_scrape_configs {
            sc.validate(job, &at("extra_scrape_configs").key(job))?;
        }
        self.am_config.validate(&at("am_config"))?;
        Ok(())
    }

    fn validate_rules(&self) -> Result<(), Error> {
        let builtin = [("basic_rules", &self.basic_rules), ("monitoring_rules", &self.monitoring_rules)];
        for (key, rules) in builtin {
            validate_group(rules, &at(key))?;
        }
        for (group, rules) in &self.rule_groups {
            let path = at("rule_groups").key(group);
            if !is_file_name(group) {
                return Err(Error::invalid(format!("rule group `{group}` cannot name a file"))
                    .help("use letters, digits, `-`, `_` and `.`, e.g. `elasticsearch.rules`")
                    .with_path(path));
            }
            if ["basic.rules", "monitoring.rules", "basic", "monitoring", "prometheus.yml", "prometheus"]
                .contains(&group.as_str())
            {
                return Err(Error::invalid(format!("rule group `{group}` is built in"))
                    .help("add alerts to `basic_rules` or `monitoring_rules`, or name the group otherwise")
                    .with_path(path));
            }
            validate_group(rules, &path)?;
        }
        Ok(())
    }
}

fn validate_group(rules: &BTreeMap<String, AlertRule>, path: &KeyPath) -> Result<(), Error> {
    for (name, rule) in rules {
        let p = path.key(name);
        if !is_alert_name(name) {
            return Err(Error::invalid(format!("`{name}` is not an alert name"))
                .help("use letters, digits and `_`, not starting with a digit, e.g. `ElasticsearchDown`")
                .with_path(p));
        }
        if rule.expr.trim().is_empty() {
            return Err(Error::invalid(format!("alert `{name}` has an empty `expr`"))
                .help("give the PromQL expression that selects the failing series")
                .with_path(p.key("expr")));
        }
        if let Some(d) = &rule.for_ {
            check_duration(d, p.key("for"))?;
        }
        if let Some(d) = &rule.keep_firing_for {
            check_duration(d, p.key("keep_firing_for"))?;
        }
        for label in rule.labels.keys() {
            if !is_label_name(label) {
                return Err(Error::invalid(format!("`{label}` is not a label name"))
                    .help("use letters, digits and `_`, e.g. `severity`")
                    .with_path(p.key("labels").key(label)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_prometheus_does() {
        for ok in ["30s", "10m", "1h30m", "7d", "1y2w", "500ms", "1m500ms", "0"] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in ["", "10", "m", "1.5h", "30m1h", "10M", "1h1h", " 5m", "5 m"] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn storage_takes_mebibytes_or_a_quantity() {
        let n: StorageSize = serde_json::from_value(serde_json::json!(16384)).expect("a number");
        assert_eq!(n.to_string(), "16384Mi");
        let q: StorageSize = serde_json::from_value(serde_json::json!("9Gi")).expect("a quantity");
        assert_eq!(q.to_string(), "9Gi");
        assert!(serde_json::from_value::<StorageSize>(serde_json::json!(1.5)).is_err());
        assert!(serde_json::from_value::<StorageSize>(serde_json::json!(-1)).is_err());
        assert!(serde_json::from_value::<StorageSize>(serde_json::json!("9GB")).is_err());
        assert_eq!(serde_json::to_value(&n).expect("serializes"), serde_json::json!("16384Mi"));
    }

    #[test]
    fn default_storage_is_bkprs_estimate() {
        let p = PrometheusParams::default();
        assert_eq!(p.estimated_storage_mib(), 7905);
        assert_eq!(p.storage_size().to_string(), "7905Mi");
        let long = PrometheusParams { retention_days: 366, ..PrometheusParams::default() };
        assert_eq!(long.storage_size().to_string(), "15811Mi");
    }
}
