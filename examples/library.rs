//! runway as a library: render a stack in a few lines, and add a component of your own
//! that joins the same pipeline (parameters, overrides, validation, canonical order).
//!
//!     cargo run -p runway-examples --example library

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use runway_components::common::meta;
use runway_components::{Component, Context, ErasedComponent, ObjectDoc, Stack, ALL};
use runway_core::{Error, Object};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A component of our own: a ConfigMap announcing the cluster's maintenance window.
struct MaintenanceWindow;

/// Its parameters.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
struct MaintenanceParams {
    /// Cron expression of the window. Default: `0 3 * * SUN`.
    schedule: String,
}

impl Default for MaintenanceParams {
    fn default() -> Self {
        MaintenanceParams { schedule: "0 3 * * SUN".into() }
    }
}

impl Component for MaintenanceWindow {
    const NAME: &'static str = "maintenance_window";
    const SUMMARY: &'static str = "ConfigMap `maintenance-window` that announces when nodes may reboot";
    const OBJECTS: &'static [ObjectDoc] =
        &[ObjectDoc { key: "config", kind: "ConfigMap", doc: "the window, for tools that read it" }];
    type Params = MaintenanceParams;

    fn build(p: &MaintenanceParams, cx: &Context) -> Result<Vec<Object>, Error> {
        let cm = ConfigMap {
            metadata: meta::namespaced("maintenance-window", cx.namespace(), meta::labels("maintenance-window", "ops")),
            data: Some(BTreeMap::from([("schedule".to_string(), p.schedule.clone())])),
            ..Default::default()
        };
        Ok(vec![Object::new(Self::NAME, "config", &cm)])
    }
}

fn main() {
    // 1. A stack in a few lines: platform, an override layer, a --set equivalent, render.
    let mut stack = Stack::new();
    let built = stack
        .platform("gke", "example")
        .and_then(|s| {
            s.layer(
                "inline.yaml",
                runway_core::SourceKind::File,
                "config:\n  dns_zone: example.com\n  cloud:\n    gcp_project: example\n",
            )
        })
        .and_then(|s| s.set("elasticsearch.replicas=5", false))
        .and_then(|s| s.set("maintenance_window.schedule=0 4 * * SAT", true));
    if let Err(e) = built {
        eprint!("{}", e.render(&stack.sources));
        std::process::exit(1);
    }

    // 2. Our component joins the built-in ones.
    let mut components: Vec<&dyn ErasedComponent> = ALL.to_vec();
    components.push(&MaintenanceWindow);

    match stack.render(&components) {
        Ok(out) => {
            let yaml = out.to_yaml();
            assert!(yaml.contains("name: maintenance-window"));
            assert!(yaml.contains("schedule: 0 4 * * SAT"));
            print!("{yaml}");
            eprintln!("rendered {} objects", out.objects.len());
        }
        Err(e) => {
            eprint!("{}", e.render());
            std::process::exit(1);
        }
    }
}
