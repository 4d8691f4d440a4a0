//! Parameters of Grafana and their validation.
//!
//! Validation runs at the start of `build`, so a bad value never renders half a stack.
//! Every error names its key path (`grafana.plugins[0]`) and says how to fix it.

use std::collections::BTreeMap;

use runway_core::{Error, KeyPath};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::common::pod::Resources;
use crate::quantity::Quantity;

/// The Grafana image (the official one; `grafana/grafana`, not `grafana/grafana-oss`,
/// whose tags have lagged behind).
pub const DEFAULT_IMAGE: &str = "docker.io/grafana/grafana:13.2.3";
/// The sidecar that copies labelled dashboard ConfigMaps into Grafana's dashboard folder.
pub const DEFAULT_SIDECAR_IMAGE: &str = "quay.io/kiwigrid/k8s-sidecar:2.11.2";

/// The Grafana organization role every user who logs in through oauth2-proxy gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum OrgRole {
    /// Read dashboards.
    Viewer,
    /// Edit dashboards.
    Editor,
    /// Everything, including users and datasources (BKPR's default).
    #[default]
    Admin,
}

impl OrgRole {
    /// The name Grafana takes.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Viewer => "Viewer",
            OrgRole::Editor => "Editor",
            OrgRole::Admin => "Admin",
        }
    }
}

/// Grafana for the runtime's metrics (BKPR's `grafana`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GrafanaParams {
    /// Size of the data volume `datadir-grafana-0` (the SQLite database with users,
    /// preferences and dashboards saved in the UI, and plugins). Default: `1Gi` (BKPR's).
    pub storage: Quantity,
    /// The role every user gets on first login through oauth2-proxy (`Viewer`, `Editor`
    /// or `Admin`). BKPR's `Admin` lets everyone the OAuth provider admits manage
    /// Grafana; choose `Viewer` or `Editor` when that is too much. Default: `Admin`.
    pub auto_role: OrgRole,
    /// Plugins installed at startup from grafana.com (`id` or `id@version`); they land on
    /// the data volume, so the cluster must reach grafana.com. Default: none.
    pub plugins: Vec<String>,
    /// Dashboards to provision: name to dashboard, where the dashboard is the JSON file
    /// as exported from Grafana or grafana.com (a string) or the dashboard written as a
    /// YAML mapping (where `null` removes a key, as in every layer: use the JSON form to
    /// keep nulls). Each is fixed up for provisioning (see `dashboards.rs`: `__inputs`
    /// dropped, `${DS_PROMETHEUS}` pointed at the Prometheus datasource, `id` cleared) and
    /// shipped as ConfigMap `grafana-dashboard-NAME` labelled `grafana_dashboard: "1"`.
    /// Names are lowercase letters, digits and `-`. Default: none.
    pub dashboards: BTreeMap<String, serde_json::Value>,
    /// Provisions the dashboards runway ships for the rendered components with metrics
    /// (elasticsearch, fluentd, nginx-ingress, cert-manager, prometheus and
    /// kubernetes-resources), as ConfigMaps `grafana-dashboard-NAME`; a `dashboards` entry of
    /// the same name replaces one. Default: `true`.
    pub builtin_dashboards: bool,
    /// Also load dashboards from ConfigMaps labelled `grafana_dashboard: "1"` in every
    /// namespace (a ClusterRole to read ConfigMaps everywhere), not only in the runtime's
    /// namespace. Default: `false`.
    pub dashboards_from_all_namespaces: bool,
    /// The Grafana image. Default: `docker.io/grafana/grafana:13.2.3`.
    pub image: String,
    /// The dashboard sidecar's image. Default: `quay.io/kiwigrid/k8s-sidecar:2.11.2`.
    pub sidecar_image: String,
    /// Requests and limits of Grafana. Default: requests `cpu: 100m, memory: 256Mi`,
    /// limits `memory: 512Mi`.
    pub resources: Resources,
    /// Requests and limits of the dashboard sidecar. Default: requests `cpu: 10m,
    /// memory: 64Mi`, limits `memory: 256Mi`.
    pub sidecar_resources: Resources,
}

impl Default for GrafanaParams {
    fn default() -> Self {
        GrafanaParams {
            storage: "1Gi".into(),
            auto_role: OrgRole::Admin,
            plugins: Vec::new(),
            dashboards: BTreeMap::new(),
            builtin_dashboards: true,
            dashboards_from_all_namespaces: false,
            image: DEFAULT_IMAGE.into(),
            sidecar_image: DEFAULT_SIDECAR_IMAGE.into(),
            resources: Resources::new("100m", "256Mi", None, "512Mi"),
            sidecar_resources: Resources::new("10m", "64Mi", None, "256Mi"),
        }
    }
}

/// `grafana.<key>`.
pub(crate) fn at(key: &str) -> KeyPath {
    KeyPath::root().key("grafana").key(key)
}

/// The longest dashboard name: `grafana-dashboard-NAME` must be a DNS label, as the
/// sidecar also names files after it.
pub const MAX_DASHBOARD_NAME: usize = 63 - "grafana-dashboard-".len();

impl GrafanaParams {
    /// Checks every parameter but the dashboards' content (see [`super::dashboards`]);
    /// the first problem is returned with its key path.
    pub fn validate(&self) -> Result<(), Error> {
        if self.storage.to_f64() <= 0.0 {
            return Err(Error::invalid(format!("storage `{}` must be more than zero", self.storage))
                .help("give Grafana room for its database and plugins, e.g. `1Gi`")
                .with_path(at("storage")));
        }
        for (key, image) in [("image", &self.image), ("sidecar_image", &self.sidecar_image)] {
            crate::images::check_image(image, DEFAULT_IMAGE, at(key))?;
        }
        for (key, res) in [("resources", &self.resources), ("sidecar_resources", &self.sidecar_resources)] {
            res.check()
                .map_err(|msg| Error::invalid(msg).help("raise the limit or lower the request").with_path(at(key)))?;
        }
        for (i, plugin) in self.plugins.iter().enumerate() {
            let id = plugin.split('@').next().unwrap_or("");
            let ok = !id.is_empty()
                && plugin.split('@').count() <= 2
                && plugin.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
            if !ok {
                return Err(Error::invalid(format!("`{plugin}` is not a plugin id"))
                    .help("write the grafana.com plugin id, optionally with a version: `grafana-piechart-panel@1.6.4`")
                    .with_path(at("plugins").index(i)));
            }
        }
        for name in self.dashboards.keys() {
            if !runway_core::names::is_dns_label(name) || name.len() > MAX_DASHBOARD_NAME {
                return Err(Error::invalid(format!("dashboard name `{name}` is not allowed"))
                    .help(format!(
                        "use lowercase letters, digits and `-`, at most {MAX_DASHBOARD_NAME} characters: \
                         it names the ConfigMap `grafana-dashboard-NAME`"
                    ))
                    .with_path(at("dashboards").key(name)));
            }
        }
        Ok(())
    }
}
