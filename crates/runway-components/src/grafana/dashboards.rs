//! Dashboards as grafana.com exports them, fixed up for file provisioning.
//!
//! An exported dashboard is a template for Grafana's import dialog: `__inputs` lists what
//! the dialog asks for (a datasource, constants) and the JSON refers to the answers as
//! `${DS_PROMETHEUS}`, `${VAR_X}`. Provisioning reads the file as it is, with no dialog,
//! so those references must be filled in first. The rules, applied to every dashboard of
//! the `dashboards` parameter:
//!
//! - the value is a JSON string (the exported file) or the dashboard written as a YAML
//!   mapping; an API export's `{"dashboard": {...}, "meta": ...}` wrapper is unwrapped;
//! - every datasource input whose plugin is `prometheus` (and `DS_PROMETHEUS` always) is
//!   replaced by the provisioned datasource: its uid where the JSON says `"uid"`, its name
//!   elsewhere (the older `"datasource": "${DS_PROMETHEUS}"` form, which Grafana looks up
//!   by name); a datasource input of another plugin is an error, as runway provisions only
//!   Prometheus; constant inputs are replaced by their value;
//! - `__inputs`, `__requires` and an empty `__elements` are dropped (library panels in
//!   `__elements` cannot be provisioned from a file and are an error), `id` is set to
//!   `null` (Grafana assigns it), and a missing `uid` becomes the dashboard's name, so its
//!   URL stays the same across reinstalls;
//! - a `${DS_...}` left anywhere afterwards is an error naming where it is.

use std::collections::BTreeMap;

use runway_core::{Error, KeyPath};
use serde_json::{Map, Value};

/// A dashboard written for runway (`grafana/dashboards/NAME.json`, a Grafana export with
/// `${DS_PROMETHEUS}` inputs, fixed up like a user's), which a component publishes when it
/// is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltinDashboard {
    /// Its name: the ConfigMap is `grafana-dashboard-NAME`.
    pub name: &'static str,
    /// The exported JSON.
    pub json: &'static str,
}

/// Elasticsearch: cluster health, indexing and search rates, heap and disk (published by
/// `elasticsearch`).
pub const ELASTICSEARCH: BuiltinDashboard =
    BuiltinDashboard { name: "elasticsearch", json: include_str!("dashboards/elasticsearch.json") };
/// fluentd: emitted records, output errors, buffers and retries (`fluentd_es`).
pub const FLUENTD: BuiltinDashboard =
    BuiltinDashboard { name: "fluentd", json: include_str!("dashboards/fluentd.json") };
/// NGINX ingress: request rate, success rate, latency, reloads, certificate expiry
/// (`nginx_ingress`).
pub const NGINX_INGRESS: BuiltinDashboard =
    BuiltinDashboard { name: "nginx-ingress", json: include_str!("dashboards/nginx-ingress.json") };
/// cert-manager: readiness and expiry of certificates, ACME requests (`cert_manager`).
pub const CERT_MANAGER: BuiltinDashboard =
    BuiltinDashboard { name: "cert-manager", json: include_str!("dashboards/cert-manager.json") };
/// Prometheus and Alertmanager: targets, series, ingestion, rules, alerts, notifications
/// (`prometheus`).
pub const PROMETHEUS: BuiltinDashboard =
    BuiltinDashboard { name: "prometheus", json: include_str!("dashboards/prometheus.json") };
/// Nodes (node-exporter) and workloads (kube-state-metrics): CPU, memory, disk, readiness,
/// requests against limits, restarts (`prometheus`, which renders both exporters).
pub const KUBERNETES_RESOURCES: BuiltinDashboard =
    BuiltinDashboard { name: "kubernetes-resources", json: include_str!("dashboards/kubernetes-resources.json") };
/// Traefik: requests, success rate and latency by entrypoint, requests and errors by
/// backend service, open connections, configuration reloads (`traefik`).
pub const TRAEFIK: BuiltinDashboard =
    BuiltinDashboard { name: "traefik", json: include_str!("dashboards/traefik.json") };
/// kured: nodes whose reboot sentinel is set, by node and over time (`kured`).
pub const KURED: BuiltinDashboard = BuiltinDashboard { name: "kured", json: include_str!("dashboards/kured.json") };
/// node-problem-detector: active node conditions and problem events by reason and node
/// (`node_problem_detector`).
pub const NODE_PROBLEM_DETECTOR: BuiltinDashboard =
    BuiltinDashboard { name: "node-problem-detector", json: include_str!("dashboards/node-problem-detector.json") };
/// MetalLB: pool usage, configuration state, addresses announced by node and service
/// (`metallb`).
pub const METALLB: BuiltinDashboard =
    BuiltinDashboard { name: "metallb", json: include_str!("dashboards/metallb.json") };

/// Every dashboard runway ships.
pub const BUILTIN: &[BuiltinDashboard] = &[
    ELASTICSEARCH,
    FLUENTD,
    NGINX_INGRESS,
    CERT_MANAGER,
    PROMETHEUS,
    KUBERNETES_RESOURCES,
    TRAEFIK,
    KURED,
    NODE_PROBLEM_DETECTOR,
    METALLB,
];

/// The largest dashboard file shipped in one ConfigMap. The API server refuses objects
/// over 1 MiB, and the ConfigMap has metadata besides the file.
pub const MAX_DASHBOARD_BYTES: usize = 1_000_000;

/// Grafana's limit on a dashboard uid.
const MAX_UID_LEN: usize = 40;

/// The datasource that dashboards are pointed at.
#[derive(Clone, Copy, Debug)]
pub struct Datasource<'a> {
    /// Its name (what `"datasource": "NAME"` refers to).
    pub name: &'a str,
    /// Its uid (what `"datasource": {"uid": "UID"}` refers to).
    pub uid: &'a str,
}

/// What a `${NAME}` input is replaced by.
#[derive(Clone, Debug)]
enum Replacement {
    Datasource,
    Constant(String),
}

/// `grafana.dashboards.<name>`.
pub fn path_of(name: &str) -> KeyPath {
    KeyPath::root().key("grafana").key("dashboards").key(name)
}

/// Reads a dashboard given as a JSON string or a mapping, and fixes it up for
/// provisioning; returns the file's text (pretty JSON, or compact when that is too big).
pub fn provisioned_file(name: &str, value: &Value, ds: Datasource) -> Result<String, Error> {
    let dashboard = fix_up(name, value, ds)?;
    let pretty = serde_json::to_string_pretty(&dashboard).map_err(|e| Error::invalid(e.to_string()))?;
    if pretty.len() <= MAX_DASHBOARD_BYTES {
        return Ok(format!("{pretty}\n"));
    }
    let compact = serde_json::to_string(&dashboard).map_err(|e| Error::invalid(e.to_string()))?;
    if compact.len() <= MAX_DASHBOARD_BYTES {
        return Ok(compact);
    }
    Err(Error::invalid(format!(
        "dashboard `{name}` is {} bytes of JSON, more than a ConfigMap holds ({MAX_DASHBOARD_BYTES})",
        compact.len()
    ))
    .help("split it into smaller dashboards, or drop the panels' embedded data")
    .with_path(path_of(name)))
}

/// [`provisioned_file`] for a dashboard runway ships, fixed up once per process.
///
/// A built-in dashboard is static text and the datasource a constant of the grafana
/// component, so its file is the same in every render; a fleet renders it for every
/// cluster, and parsing, fixing up and printing it again each time was a tenth of a
/// cluster's render. Keyed by the dashboard's name, the address of its static text and the
/// datasource, so a different text or datasource is never served a stale file; only
/// successes are kept (an error is reported again, the same, on the next render).
pub fn builtin_file(d: &BuiltinDashboard, ds: Datasource) -> Result<String, Error> {
    type Key = (&'static str, usize, usize, String, String);
    static MEMO: std::sync::Mutex<BTreeMap<Key, String>> = std::sync::Mutex::new(BTreeMap::new());
    let key: Key = (d.name, d.json.as_ptr() as usize, d.json.len(), ds.name.to_string(), ds.uid.to_string());
    // The map is only ever inserted into whole, so a poisoned lock still holds good entries.
    if let Some(text) = MEMO.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(text.clone());
    }
    let text = provisioned_file(d.name, &Value::String(d.json.into()), ds)?;
    MEMO.lock().unwrap_or_else(|e| e.into_inner()).insert(key, text.clone());
    Ok(text)
}

/// The fixed-up dashboard object.
pub fn fix_up(name: &str, value: &Value, ds: Datasource) -> Result<Value, Error> {
    let path = path_of(name);
    let parsed = match value {
        Value::String(text) => serde_json::from_str::<Value>(text).map_err(|e| {
            Error::invalid(format!(
                "dashboard `{name}` is not valid JSON: {} at line {}, column {}",
                strip_position(&e.to_string()),
                e.line(),
                e.column()
            ))
            .help(
                "give the file as exported from Grafana or grafana.com (`--set-file`), \
                 or write the dashboard as a YAML mapping",
            )
            .with_path(path.clone())
        })?,
        Value::Object(_) => value.clone(),
        other => {
            return Err(Error::invalid(format!(
                "dashboard `{name}` must be a JSON string or a mapping, found {}",
                type_name(other)
            ))
            .help("give the exported JSON file as a string, or the dashboard itself as a mapping")
            .with_path(path))
        }
    };
    let Value::Object(mut obj) = parsed else {
        return Err(Error::invalid(format!("dashboard `{name}` must be a JSON object, found {}", type_name(&parsed)))
            .help("a dashboard file is one JSON object with `title` and `panels`")
            .with_path(path));
    };
    // `GET /api/dashboards/uid/<uid>` wraps the dashboard with its metadata.
    if !obj.contains_key("title") {
        if let Some(Value::Object(inner)) = obj.get("dashboard") {
            obj = inner.clone();
        }
    }
    if obj.get("title").and_then(Value::as_str).is_none_or(|t| t.trim().is_empty()) {
        return Err(Error::invalid(format!("dashboard `{name}` has no `title`"))
            .help("Grafana refuses to provision a dashboard without a title: add `\"title\": \"...\"`")
            .with_path(path));
    }

    let replacements = replacements(name, &obj)?;
    obj.remove("__inputs");
    obj.remove("__requires");
    match obj.get("__elements") {
        Some(Value::Object(m)) if !m.is_empty() => {
            return Err(Error::invalid(format!(
                "dashboard `{name}` uses library panels ({}), which provisioning cannot create",
                m.values().filter_map(|e| e.get("name").and_then(Value::as_str)).collect::<Vec<_>>().join(", ")
            ))
            .help("unlink the library panels in Grafana (panel menu > Unlink) and export the dashboard again")
            .with_path(path));
        }
        _ => {
            obj.remove("__elements");
        }
    }
    obj.insert("id".into(), Value::Null);
    let has_uid = obj.get("uid").and_then(Value::as_str).is_some_and(|u| !u.is_empty());
    if !has_uid && name.len() <= MAX_UID_LEN {
        obj.insert("uid".into(), Value::String(name.to_string()));
    }

    let mut out = Value::Object(obj);
    substitute(&mut out, None, &replacements, ds);
    if let Some((pointer, var)) = leftover(&out, "") {
        return Err(Error::invalid(format!(
            "dashboard `{name}` still refers to `{var}` at `{}`, which no datasource input defines",
            if pointer.is_empty() { "/" } else { &pointer }
        ))
        .help(format!(
            "replace `{var}` with the uid of an existing datasource, \
             or add it to `__inputs` with `\"pluginId\": \"prometheus\"`"
        ))
        .with_path(path));
    }
    Ok(out)
}

/// serde_json appends " at line L column C"; the message says it its own way.
fn strip_position(msg: &str) -> &str {
    msg.find(" at line ").map_or(msg, |i| &msg[..i])
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// `${NAME}` → what replaces it, from `__inputs`.
fn replacements(name: &str, obj: &Map<String, Value>) -> Result<BTreeMap<String, Replacement>, Error> {
    let mut out = BTreeMap::from([("DS_PROMETHEUS".to_string(), Replacement::Datasource)]);
    let inputs = obj.get("__inputs").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    for input in inputs {
        let Some(var) = input.get("name").and_then(Value::as_str) else { continue };
        match input.get("type").and_then(Value::as_str) {
            Some("datasource") => {
                let plugin = input.get("pluginId").and_then(Value::as_str).unwrap_or("prometheus");
                if plugin != "prometheus" {
                    return Err(Error::invalid(format!(
                        "dashboard `{name}` asks for a `{plugin}` datasource (input `{var}`), \
                         and runway provisions only Prometheus"
                    ))
                    .help(format!(
                        "replace every `${{{var}}}` in the JSON with the uid of a `{plugin}` datasource \
                         your Grafana has, or remove the panels that use it"
                    ))
                    .with_path(path_of(name)));
                }
                out.insert(var.to_string(), Replacement::Datasource);
            }
            Some("constant") => {
                let value = match input.get("value") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(v) => v.to_string(),
                };
                out.insert(var.to_string(), Replacement::Constant(value));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Replaces `${NAME}` references in every string of `v`; `key` is the key `v` sits under.
fn substitute(v: &mut Value, key: Option<&str>, map: &BTreeMap<String, Replacement>, ds: Datasource) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                substitute(child, Some(k), map, ds);
            }
        }
        Value::Array(items) => {
            for child in items {
                substitute(child, key, map, ds);
            }
        }
        Value::String(s) if s.contains("${") => {
            // A whole-string reference under `uid` is the datasource's uid.
            if let Some(Replacement::Datasource) =
                s.strip_prefix("${").and_then(|r| r.strip_suffix('}')).and_then(|n| map.get(n))
            {
                *s = if key == Some("uid") { ds.uid.to_string() } else { ds.name.to_string() };
                return;
            }
            for (var, replacement) in map {
                let pattern = format!("${{{var}}}");
                if s.contains(&pattern) {
                    let with = match replacement {
                        Replacement::Datasource => ds.name,
                        Replacement::Constant(c) => c.as_str(),
                    };
                    *s = s.replace(&pattern, with);
                }
            }
        }
        _ => {}
    }
}

/// The first string still holding `${DS_...}`: its JSON pointer and the reference.
fn leftover(v: &Value, at: &str) -> Option<(String, String)> {
    match v {
        Value::Object(m) => {
            m.iter().find_map(|(k, c)| leftover(c, &format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"))))
        }
        Value::Array(items) => items.iter().enumerate().find_map(|(i, c)| leftover(c, &format!("{at}/{i}"))),
        Value::String(s) => {
            let start = s.find("${DS_")?;
            let end = s[start..].find('}').map_or(s.len(), |e| start + e + 1);
            Some((at.to_string(), s[start..end].to_string()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DS: Datasource = Datasource { name: "BKPR Prometheus", uid: "prometheus" };

    /// The beginning of grafana.com dashboard 13032 (Longhorn), as seed 003 shows it.
    const LONGHORN: &str = r#"{
      "__inputs": [
        {"name": "DS_PROMETHEUS", "label": "prometheus", "description": "", "type": "datasource",
         "pluginId": "prometheus", "pluginName": "Prometheus"}
      ],
      "__requires": [{"type": "grafana", "id": "grafana", "name": "Grafana", "version": "7.1.0"}],
      "id": 12,
      "title": "Longhorn",
      "panels": [
        {"datasource": "${DS_PROMETHEUS}", "title": "Number Of Healthy Volumes", "type": "stat"},
        {"datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, "title": "New style", "type": "timeseries"}
      ],
      "templating": {"list": [{"name": "node", "datasource": "${DS_PROMETHEUS}", "query": "label_values(node)"}]}
    }"#;

    #[test]
    fn seed_longhorn_export_is_fixed_up() {
        let out = fix_up("longhorn", &Value::String(LONGHORN.into()), DS).expect("fixes up");
        assert!(out.get("__inputs").is_none());
        assert!(out.get("__requires").is_none());
        assert_eq!(out["id"], Value::Null);
        assert_eq!(out["uid"], "longhorn");
        assert_eq!(out["panels"][0]["datasource"], "BKPR Prometheus");
        assert_eq!(out["panels"][1]["datasource"], json!({"type": "prometheus", "uid": "prometheus"}));
        assert_eq!(out["templating"]["list"][0]["datasource"], "BKPR Prometheus");
        assert!(!out.to_string().contains("${"));
    }

    #[test]
    fn yaml_mapping_and_renamed_inputs_are_fixed_up() {
        let v = json!({
            "__inputs": [
                {"name": "DS_PROM", "type": "datasource", "pluginId": "prometheus"},
                {"name": "VAR_JOB", "type": "constant", "value": "node"}
            ],
            "title": "Nodes",
            "uid": "nodes-v1",
            "panels": [{"datasource": {"uid": "${DS_PROM}"}, "targets": [{"expr": "up{job=\"${VAR_JOB}\"}"}]}]
        });
        let out = fix_up("nodes", &v, DS).expect("fixes up");
        assert_eq!(out["uid"], "nodes-v1", "an existing uid is kept");
        assert_eq!(out["panels"][0]["datasource"]["uid"], "prometheus");
        assert_eq!(out["panels"][0]["targets"][0]["expr"], "up{job=\"node\"}");
    }

    #[test]
    fn api_export_wrapper_is_unwrapped() {
        let v = json!({"dashboard": {"title": "Wrapped", "id": 3, "panels": []}, "meta": {"slug": "wrapped"}});
        let out = fix_up("wrapped", &v, DS).expect("fixes up");
        assert_eq!(out["title"], "Wrapped");
        assert!(out.get("meta").is_none());
    }

    #[test]
    fn invalid_json_names_the_dashboard_and_position() {
        let e = fix_up("broken", &Value::String("{\"title\": \"x\",\n  oops}".into()), DS).expect_err("rejected");
        assert_eq!(e.path().map(ToString::to_string).unwrap_or_default(), "grafana.dashboards.broken");
        assert!(e.to_string().contains("not valid JSON") && e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn other_datasource_plugins_and_leftovers_are_errors() {
        let loki =
            json!({"__inputs": [{"name": "DS_LOKI", "type": "datasource", "pluginId": "loki"}], "title": "Logs"});
        let e = fix_up("logs", &loki, DS).expect_err("rejected");
        assert!(e.to_string().contains("`loki` datasource"), "{e}");

        let stray = json!({"title": "Stray", "panels": [{"datasource": "${DS_OTHER}"}]});
        let e = fix_up("stray", &stray, DS).expect_err("rejected");
        assert!(e.to_string().contains("`${DS_OTHER}` at `/panels/0/datasource`"), "{e}");
    }

    #[test]
    fn shape_errors() {
        for (v, want) in [
            (json!(3), "must be a JSON string or a mapping"),
            (Value::String("[1]".into()), "must be a JSON object"),
            (json!({"panels": []}), "has no `title`"),
            (json!({"title": "L", "__elements": {"a": {"name": "Shared CPU"}}}), "library panels (Shared CPU)"),
        ] {
            let e = fix_up("d", &v, DS).expect_err("rejected");
            assert!(e.to_string().contains(want), "{e}");
        }
    }

    #[test]
    fn big_dashboards_fall_back_to_compact_json_then_fail() {
        // Many small fields: indentation doubles the size of the pretty form.
        let panel = |i: usize| Value::Object((0..20).map(|k| (format!("k{k}"), json!(i))).collect());
        let v = json!({"title": "Big", "panels": (0..4000).map(panel).collect::<Vec<_>>()});
        assert!(serde_json::to_string_pretty(&v).expect("json").len() > MAX_DASHBOARD_BYTES);
        let text = provisioned_file("big", &v, DS).expect("fits compact");
        assert!(!text.contains('\n'));
        let v = json!({"title": "Huge", "panels": (0..8000).map(panel).collect::<Vec<_>>()});
        let e = provisioned_file("huge", &v, DS).expect_err("too big");
        assert!(e.to_string().contains("more than a ConfigMap holds"), "{e}");
    }
}
