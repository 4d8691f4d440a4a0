//! Alertmanager: its configuration as typed data (BKPR's `am_config`, receivers as a map
//! `receivers_` that becomes the `receivers` list, as BKPR's alertmanager-config.jsonnet
//! did) and its objects (BKPR's keys under `alertmanager`: `config`, `svc`, `deploy`).
//!
//! Secrets never go into the ConfigMap: the receiver types only take the `*_file` form of
//! a password, API URL or key (`auth_password_file`, `api_url_file`, `routing_key_file`),
//! pointing into `/etc/alertmanager/secrets/`, where a Secret is mounted: one the user
//! provides (`alertmanager.secret_name`) or one runway renders from the values that
//! `--secrets-file` gives for `prometheus`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, PodSpec, PodTemplateSpec, Secret, SecretVolumeSource, Service, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::config::to_yaml;
use super::params::{check_duration, is_label_name, PrometheusParams};
use super::{
    claim_template, config_map_volume, config_reload_container, http_probe, metadata, port, scrape_annotations,
    service_port, template_labels, ALERTMANAGER, ALERTMANAGER_PATH, ALERTMANAGER_PORT, ALERTMANAGER_PORT_NAME, RUN_AS,
};
use crate::common::meta;
use crate::common::pod::{container_security, pod_security};
use crate::common::pod::{mount, read_only_mount};
use crate::common::service::{PodService, ServiceKind};
use crate::context::Context;

/// Where the Secret of `*_file` fields is mounted.
pub const SECRETS_DIR: &str = "/etc/alertmanager/secrets";
/// The Secret runway renders from `--secrets-file` values when `secret_name` is not set.
pub const DEFAULT_SECRET_NAME: &str = "alertmanager-secrets";
/// The config file's key in the ConfigMap (BKPR's).
pub const CONFIG_KEY: &str = "config.yml";
const CONFIG_DIR: &str = "/etc/alertmanager/config";
const DATA_DIR: &str = "/alertmanager";

/// The Alertmanager configuration (BKPR's `am_config`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AmConfig {
    /// Settings shared by every receiver.
    pub global: AmGlobal,
    /// The routing tree; its root names the default receiver.
    pub route: AmRoute,
    /// Alerts that mute others while they fire. Default: BKPR's (a `critical` alert mutes
    /// the `warning` alert of the same alertname, cluster and service).
    pub inhibit_rules: Vec<InhibitRule>,
    /// The receivers by name (BKPR's `receivers_`, written out as the `receivers` list).
    /// Default: `email` without recipients (BKPR's: add yours as its seed example does).
    pub receivers_: BTreeMap<String, Receiver>,
}

impl Default for AmConfig {
    fn default() -> Self {
        let by = || vec!["alertname".to_string(), "cluster".to_string(), "service".to_string()];
        AmConfig {
            global: AmGlobal::default(),
            route: AmRoute {
                receiver: Some("email".into()),
                group_by: by(),
                group_wait: Some("30s".into()),
                group_interval: Some("5m".into()),
                repeat_interval: Some("7d".into()),
                ..AmRoute::default()
            },
            inhibit_rules: vec![InhibitRule {
                source_matchers: vec![r#"severity="critical""#.into()],
                target_matchers: vec![r#"severity="warning""#.into()],
                equal: by(),
            }],
            receivers_: BTreeMap::from([("email".to_string(), Receiver::default())]),
        }
    }
}

/// `global:` of the Alertmanager configuration.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AmGlobal {
    /// How long after its last update an alert without an end time is resolved.
    /// Default: `5m`.
    pub resolve_timeout: String,
    /// The SMTP server (`host:port`) email receivers send through. Default: `null`; email
    /// receivers need it here or in each of their configs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_smarthost: Option<String>,
    /// The sender address. Default: `null`, which is `alertmanager@<dns_zone>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_from: Option<String>,
    /// The name given in SMTP HELO. Default: `null` (`localhost`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_hello: Option<String>,
    /// SMTP user. Default: `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_auth_username: Option<String>,
    /// File (under `/etc/alertmanager/secrets/`) holding the SMTP password. Default: `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_auth_password_file: Option<String>,
    /// Require STARTTLS. Default: `null` (true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_require_tls: Option<bool>,
    /// File holding the Slack webhook URL used by Slack receivers. Default: `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack_api_url_file: Option<String>,
}

impl Default for AmGlobal {
    fn default() -> Self {
        AmGlobal {
            resolve_timeout: "5m".into(),
            smtp_smarthost: None,
            smtp_from: None,
            smtp_hello: None,
            smtp_auth_username: None,
            smtp_auth_password_file: None,
            smtp_require_tls: None,
            slack_api_url_file: None,
        }
    }
}

/// A node of the routing tree.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AmRoute {
    /// The receiver of alerts that end here. Required at the root. Default: `email`
    /// at the root, `null` (the parent's) below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// Labels alerts are grouped by (`...` groups by all). Default: `alertname`, `cluster`,
    /// `service` at the root.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// Matchers an alert must satisfy to enter this route (`severity="critical"`).
    /// Default: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<String>,
    /// Keep matching the following sibling routes after this one. Default: `false`.
    #[serde(rename = "continue", skip_serializing_if = "std::ops::Not::not")]
    pub continue_: bool,
    /// Wait before the first notification of a group. Default: `30s` at the root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<String>,
    /// Wait before notifying about new alerts of a group. Default: `5m` at the root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<String>,
    /// Wait before repeating a notification. Default: `7d` at the root (BKPR's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<String>,
    /// Child routes, tried in order. Default: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<AmRoute>,
}

/// An inhibition: while an alert matching `source_matchers` fires, alerts matching
/// `target_matchers` with the same `equal` labels are muted.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct InhibitRule {
    /// Matchers of the muting alert.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_matchers: Vec<String>,
    /// Matchers of the muted alerts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target_matchers: Vec<String>,
    /// Labels both must share.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub equal: Vec<String>,
}

/// A receiver: where notifications go. A receiver with no configs drops them.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Receiver {
    /// Email notifications. Default: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_configs: Vec<EmailConfig>,
    /// HTTP webhooks. Default: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub webhook_configs: Vec<WebhookConfig>,
    /// Slack messages. Default: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slack_configs: Vec<SlackConfig>,
    /// PagerDuty incidents. Default: none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pagerduty_configs: Vec<PagerdutyConfig>,
}

/// An email notification.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The recipient address(es), comma-separated.
    pub to: String,
    /// The sender. Default: `null` (`global.smtp_from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The SMTP server. Default: `null` (`global.smtp_smarthost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smarthost: Option<String>,
    /// SMTP user. Default: `null` (`global.smtp_auth_username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_username: Option<String>,
    /// File holding the SMTP password. Default: `null` (`global.smtp_auth_password_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_password_file: Option<String>,
    /// Require STARTTLS. Default: `null` (`global.smtp_require_tls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_tls: Option<bool>,
    /// Also notify when alerts resolve. Default: `null` (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
    /// Extra mail headers (`Subject`). Default: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// An HTTP webhook notification.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The URL to POST to (one of `url`, `url_file`). Default: `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// File holding the URL, when it carries a token. Default: `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_file: Option<String>,
    /// Also notify when alerts resolve. Default: `null` (true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
    /// Most alerts in one message, `0` for all. Default: `null` (0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_alerts: Option<u32>,
}

/// A Slack notification.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// File holding the incoming-webhook URL. Default: `null` (`global.slack_api_url_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url_file: Option<String>,
    /// The channel or user (`#alerts`). Default: `null` (the webhook's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Message title (a template). Default: `null` (Alertmanager's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Message text (a template). Default: `null` (Alertmanager's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Also notify when alerts resolve. Default: `null` (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
}

/// A PagerDuty notification.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyConfig {
    /// File holding the Events API v2 integration key (one of this and
    /// `service_key_file`). Default: `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key_file: Option<String>,
    /// File holding the Events API v1 service key. Default: `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_key_file: Option<String>,
    /// Incident severity (a template). Default: `null` (`error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Also notify when alerts resolve. Default: `null` (true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
}

fn bad(msg: String, help: &str, path: KeyPath) -> Error {
    Error::invalid(msg).help(help.to_string()).with_path(path)
}

fn check_matchers(matchers: &[String], path: &KeyPath) -> Result<(), Error> {
    for (i, m) in matchers.iter().enumerate() {
        let op = ["=~", "!~", "!=", "="].iter().find_map(|op| m.find(op).map(|at| (at, *op)));
        let ok = match op {
            Some((at, _)) => {
                let name = m[..at].trim();
                is_label_name(name) || (name.starts_with('"') && name.ends_with('"') && name.len() > 2)
            }
            None => false,
        };
        if !ok {
            return Err(bad(
                format!("`{m}` is not a matcher"),
                "write `label=\"value\"` (or `!=`, `=~`, `!~`), e.g. `severity=\"critical\"`",
                path.index(i),
            ));
        }
    }
    Ok(())
}

fn check_smarthost(host: &str, path: KeyPath) -> Result<(), Error> {
    let ok = host.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
    if !ok {
        return Err(bad(format!("`{host}` is not `host:port`"), "e.g. `smtp.example.com:587`", path));
    }
    Ok(())
}

impl AmRoute {
    fn validate(&self, receivers: &BTreeMap<String, Receiver>, path: &KeyPath, root: bool) -> Result<(), Error> {
        match &self.receiver {
            None if root => {
                return Err(bad(
                    "the root route names no receiver".into(),
                    "set `route.receiver` to one of `receivers_` (BKPR's was `email`)",
                    path.key("receiver"),
                ))
            }
            Some(r) if !receivers.contains_key(r) => {
                let known: Vec<&str> = receivers.keys().map(String::as_str).collect();
                return Err(bad(
                    format!("receiver `{r}` is not in `receivers_`"),
                    &format!("define it under `am_config.receivers_`, or use one of: {}", known.join(", ")),
                    path.key("receiver"),
                ));
            }
            _ => {}
        }
        for l in &self.group_by {
            if l != "..." && !is_label_name(l) {
                return Err(bad(format!("`{l}` is not a label name"), "e.g. `alertname`", path.key("group_by")));
            }
        }
        for (key, d) in [
            ("group_wait", &self.group_wait),
            ("group_interval", &self.group_interval),
            ("repeat_interval", &self.repeat_interval),
        ] {
            if let Some(d) = d {
                check_duration(d, path.key(key))?;
            }
        }
        check_matchers(&self.matchers, &path.key("matchers"))?;
        for (i, r) in self.routes.iter().enumerate() {
            r.validate(receivers, &path.key("routes").index(i), false)?;
        }
        Ok(())
    }
}

impl AmConfig {
    /// Checks the configuration as Alertmanager would when loading it, apart from what
    /// depends on the cluster (the sender address, the secrets' files): see [`render`].
    pub fn validate(&self, path: &KeyPath) -> Result<(), Error> {
        check_duration(&self.global.resolve_timeout, path.key("global").key("resolve_timeout"))?;
        if let Some(h) = &self.global.smtp_smarthost {
            check_smarthost(h, path.key("global").key("smtp_smarthost"))?;
        }
        self.route.validate(&self.receivers_, &path.key("route"), true)?;
        for (i, r) in self.inhibit_rules.iter().enumerate() {
            let at = path.key("inhibit_rules").index(i);
            check_matchers(&r.source_matchers, &at.key("source_matchers"))?;
            check_matchers(&r.target_matchers, &at.key("target_matchers"))?;
        }
        let receivers = path.key("receivers_");
        for (name, r) in &self.receivers_ {
            let at = receivers.key(name);
            if name.is_empty() {
                return Err(bad("a receiver has an empty name".into(), "name it, e.g. `email`", at));
            }
            for (i, e) in r.email_configs.iter().enumerate() {
                let at = at.key("email_configs").index(i);
                if e.to.trim().is_empty() {
                    return Err(bad(
                        "an email config has no recipient".into(),
                        "set `to: you@example.com`",
                        at.key("to"),
                    ));
                }
                match (&e.smarthost, &self.global.smtp_smarthost) {
                    (Some(h), _) => check_smarthost(h, at.key("smarthost"))?,
                    (None, Some(_)) => {}
                    (None, None) => return Err(bad(
                        format!("receiver `{name}` sends email but no SMTP server is set"),
                        "set `am_config.global.smtp_smarthost` (e.g. `smtp.example.com:587`), or `smarthost` here; \
                             Alertmanager refuses the configuration without one",
                        at,
                    )),
                }
            }
            for (i, w) in r.webhook_configs.iter().enumerate() {
                let at = at.key("webhook_configs").index(i);
                match (&w.url, &w.url_file) {
                    (Some(u), None) => {
                        if !(u.starts_with("http://") || u.starts_with("https://")) {
                            return Err(bad(
                                format!("`{u}` is not an http(s) URL"),
                                "e.g. `https://hooks.example.com/alerts`",
                                at.key("url"),
                            ));
                        }
                    }
                    (None, Some(_)) => {}
                    _ => {
                        return Err(bad(
                            "a webhook needs exactly one of `url` and `url_file`".into(),
                            "give the URL, or the file holding it when it carries a token",
                            at,
                        ))
                    }
                }
            }
            for (i, s) in r.slack_configs.iter().enumerate() {
                if s.api_url_file.is_none() && self.global.slack_api_url_file.is_none() {
                    return Err(bad(
                        format!("receiver `{name}` posts to Slack but no webhook URL file is set"),
                        "set `api_url_file` here or `am_config.global.slack_api_url_file`, naming a key of the Secret",
                        at.key("slack_configs").index(i),
                    ));
                }
            }
            for (i, p) in r.pagerduty_configs.iter().enumerate() {
                if p.routing_key_file.is_some() == p.service_key_file.is_some() {
                    return Err(bad(
                        "a PagerDuty config needs exactly one of `routing_key_file` and `service_key_file`".into(),
                        "give the file (a key of the Secret) holding the integration key",
                        at.key("pagerduty_configs").index(i),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every `*_file` field that is set, with its path.
    pub fn secret_files(&self, path: &KeyPath) -> Vec<(KeyPath, &str)> {
        fn push<'a>(out: &mut Vec<(KeyPath, &'a str)>, p: KeyPath, v: &'a Option<String>) {
            if let Some(v) = v {
                out.push((p, v.as_str()));
            }
        }
        let g = path.key("global");
        let mut out = Vec::new();
        push(&mut out, g.key("smtp_auth_password_file"), &self.global.smtp_auth_password_file);
        push(&mut out, g.key("slack_api_url_file"), &self.global.slack_api_url_file);
        for (name, r) in &self.receivers_ {
            let at = path.key("receivers_").key(name);
            for (i, e) in r.email_configs.iter().enumerate() {
                push(&mut out, at.key("email_configs").index(i).key("auth_password_file"), &e.auth_password_file);
            }
            for (i, w) in r.webhook_configs.iter().enumerate() {
                push(&mut out, at.key("webhook_configs").index(i).key("url_file"), &w.url_file);
            }
            for (i, s) in r.slack_configs.iter().enumerate() {
                push(&mut out, at.key("slack_configs").index(i).key("api_url_file"), &s.api_url_file);
            }
            for (i, p) in r.pagerduty_configs.iter().enumerate() {
                let pp = at.key("pagerduty_configs").index(i);
                push(&mut out, pp.key("routing_key_file"), &p.routing_key_file);
                push(&mut out, pp.key("service_key_file"), &p.service_key_file);
            }
        }
        out
    }

    fn needs_sender(&self) -> bool {
        self.receivers_.values().flat_map(|r| &r.email_configs).any(|e| e.from.is_none())
    }
}

/// `config.yml` as written: BKPR's shape, with `receivers_` turned into the list.
#[derive(Serialize)]
struct AmFile<'a> {
    global: AmGlobal,
    route: &'a AmRoute,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    inhibit_rules: &'a [InhibitRule],
    receivers: Vec<NamedReceiver<'a>>,
}

#[derive(Serialize)]
struct NamedReceiver<'a> {
    name: &'a str,
    #[serde(flatten)]
    receiver: &'a Receiver,
}

/// The Secret the `*_file` fields read from: its name, and its keys when runway renders it
/// (`None` when the user provides it).
pub struct SecretSource<'a> {
    /// The Secret's name.
    pub name: String,
    /// The values from `--secrets-file`, when runway renders the Secret.
    pub values: Option<&'a BTreeMap<String, String>>,
}

/// Where `*_file` fields read from, if anywhere.
pub fn secret_source<'a>(p: &PrometheusParams, cx: &'a Context) -> Option<SecretSource<'a>> {
    let values = cx.secrets_of(super::COMPONENT).filter(|v| !v.is_empty());
    match (&p.alertmanager.secret_name, values) {
        (name, Some(values)) => Some(SecretSource {
            name: name.clone().unwrap_or_else(|| DEFAULT_SECRET_NAME.into()),
            values: Some(values),
        }),
        (Some(name), None) => Some(SecretSource { name: name.clone(), values: None }),
        (None, None) => None,
    }
}

/// Renders `config.yml`, with the checks that depend on the cluster: the default sender
/// `alertmanager@<dns_zone>`, and that every `*_file` is a key of the mounted Secret.
pub fn render(p: &PrometheusParams, cx: &Context, secret: Option<&SecretSource>) -> Result<String, Error> {
    let am = &p.am_config;
    let path = super::params::at("am_config");
    for (at, file) in am.secret_files(&path) {
        let Some(key) = file.strip_prefix(&format!("{SECRETS_DIR}/")) else {
            return Err(bad(
                format!("`{file}` is not in the Alertmanager Secret's folder"),
                &format!("write `{SECRETS_DIR}/KEY`, KEY being a key of the Secret"),
                at,
            ));
        };
        match secret {
            None => {
                return Err(bad(
                    format!("`{file}` reads a Secret, but Alertmanager has none"),
                    "give the values with `--secrets-file` (`prometheus: {KEY: value}`), or name your Secret with \
                     `prometheus.alertmanager.secret_name`",
                    at,
                ))
            }
            Some(SecretSource { values: Some(values), name }) if !values.contains_key(key) => {
                let known: Vec<&str> = values.keys().map(String::as_str).collect();
                return Err(bad(
                    format!("Secret `{name}` has no key `{key}`"),
                    &format!("add `{key}` under `prometheus:` in the secrets file (it has: {})", known.join(", ")),
                    at,
                ));
            }
            Some(_) => {}
        }
    }
    let mut global = am.global.clone();
    if global.smtp_from.is_none() && am.needs_sender() {
        let Some(zone) = &cx.config.dns_zone else {
            return Err(bad(
                "email receivers need a sender address, and `config.dns_zone` is not set to derive one".into(),
                "set `prometheus.am_config.global.smtp_from` (e.g. `alertmanager@example.com`), or `config.dns_zone`",
                path.key("global").key("smtp_from"),
            ));
        };
        global.smtp_from = Some(format!("alertmanager@{zone}"));
    }
    let file = AmFile {
        global,
        route: &am.route,
        inhibit_rules: &am.inhibit_rules,
        receivers: am.receivers_.iter().map(|(name, receiver)| NamedReceiver { name, receiver }).collect(),
    };
    to_yaml(&file, "the Alertmanager configuration")
}

/// `alertmanager.config`: the ConfigMap with `config.yml`.
pub fn config_map(ns: &str, config: String) -> ConfigMap {
    ConfigMap {
        metadata: metadata(ALERTMANAGER, ns),
        data: Some(BTreeMap::from([(CONFIG_KEY.to_string(), config)])),
        ..Default::default()
    }
}

/// `alertmanager.secret`: rendered from `--secrets-file` values.
pub fn secret(ns: &str, name: &str, values: &BTreeMap<String, String>) -> Secret {
    Secret {
        metadata: metadata(name, ns),
        type_: Some("Opaque".into()),
        data: Some(values.iter().map(|(k, v)| (k.clone(), ByteString(v.as_bytes().to_vec()))).collect()),
        ..Default::default()
    }
}

/// `alertmanager.svc`: headless, because it is the StatefulSet's `serviceName` (BKPR's
/// Service of that name was the StatefulSet's too).
pub fn service(ns: &str) -> Service {
    PodService {
        kind: ServiceKind::Headless,
        selector: meta::selector_labels(ALERTMANAGER),
        ports: vec![service_port(ALERTMANAGER_PORT_NAME, ALERTMANAGER_PORT)],
    }
    .build(metadata(ALERTMANAGER, ns))
}

/// `alertmanager.deploy`: BKPR's StatefulSet (key `deploy`), one replica with HA gossip
/// off, its silences and notification log on the `storage` claim.
pub fn stateful_set(
    p: &PrometheusParams,
    cx: &Context,
    external_host: Option<&str>,
    secret: Option<&SecretSource>,
) -> StatefulSet {
    let ns = cx.namespace();
    let mut mounts = vec![read_only_mount("config", CONFIG_DIR), mount("storage", DATA_DIR)];
    let mut volumes = vec![config_map_volume("config", ALERTMANAGER)];
    if let Some(s) = secret {
        mounts.push(read_only_mount("secrets", SECRETS_DIR));
        volumes.push(Volume {
            name: "secrets".into(),
            secret: Some(SecretVolumeSource { secret_name: Some(s.name.clone()), ..Default::default() }),
            ..Default::default()
        });
    }
    let mut args = vec![
        format!("--config.file={CONFIG_DIR}/{CONFIG_KEY}"),
        format!("--storage.path={DATA_DIR}"),
        format!("--web.listen-address=:{ALERTMANAGER_PORT}"),
        // BKPR's path, behind the `prometheus` Ingress; Prometheus sends alerts there too.
        format!("--web.route-prefix={ALERTMANAGER_PATH}"),
    ];
    if let Some(host) = external_host {
        // The URL notifications link to.
        args.push(format!("--web.external-url=https://{host}{ALERTMANAGER_PATH}"));
    }
    // One replica: no gossip port, no peers to find.
    args.push("--cluster.listen-address=".into());
    let alertmanager = Container {
        name: ALERTMANAGER.into(),
        image: Some(p.alertmanager.image.clone()),
        args: Some(args),
        ports: Some(vec![port(ALERTMANAGER_PORT_NAME, ALERTMANAGER_PORT)]),
        resources: Some(p.alertmanager.resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(mounts),
        liveness_probe: Some(http_probe(&format!("{ALERTMANAGER_PATH}/-/healthy"), ALERTMANAGER_PORT_NAME, 10, 10)),
        readiness_probe: Some(http_probe(&format!("{ALERTMANAGER_PATH}/-/ready"), ALERTMANAGER_PORT_NAME, 5, 3)),
        ..Default::default()
    };
    let reload_url = format!("http://127.0.0.1:{ALERTMANAGER_PORT}{ALERTMANAGER_PATH}/-/reload");
    let pod = PodSpec {
        // Alertmanager never talks to the Kubernetes API.
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(RUN_AS, RUN_AS, RUN_AS)),
        containers: vec![alertmanager, config_reload_container(p, &reload_url, CONFIG_DIR)],
        volumes: Some(volumes),
        ..Default::default()
    };
    let mut annotations = scrape_annotations(ALERTMANAGER, cx);
    annotations.insert("kubectl.kubernetes.io/default-container".into(), ALERTMANAGER.into());
    StatefulSet {
        metadata: metadata(ALERTMANAGER, ns),
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(ALERTMANAGER.into()),
            selector: meta::selector(meta::selector_labels(ALERTMANAGER)),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                ..Default::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(template_labels(ALERTMANAGER)),
                    annotations: Some(annotations),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            volume_claim_templates: Some(vec![claim_template("storage", p.alertmanager.storage.quantity(), cx)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}
